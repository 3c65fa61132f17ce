//! Live events across nodes. Every node appends its events to the one numbered log and hands them
//! to its own SSE streams; this loop reads the log's new entries and hands the other nodes' events
//! to this node's streams too, so an agent connected to node A sees the WhatsApp message that
//! node B ingested and the reply that the worker node sent, within a poll interval.
//!
//! The log is numbered by a sequence, but numbers are taken when a transaction inserts and become
//! visible when it commits, so a later number can appear before an earlier one. The relay keeps a
//! watermark (every number up to it is settled) and the numbers it saw above it; a gap waits for
//! its transaction for [`GAP_PATIENCE`] and is then given up (the transaction rolled back). A
//! stream that falls behind still catches up from the log by `Last-Event-ID` on reconnect.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use webcare_store::Store;

/// How often the log is read.
pub const POLL: Duration = Duration::from_millis(250);
/// How long a missing number may still be a transaction in flight.
pub const GAP_PATIENCE: Duration = Duration::from_secs(10);
/// Numbers read per poll at most.
const BATCH: u32 = 1000;

/// Which numbers of the log have been seen. Pure: the loop feeds it what it read and the time.
#[derive(Debug, Clone)]
pub struct Watermark {
    /// Every number at or below it is settled (seen, or given up).
    settled: i64,
    /// Seen numbers above `settled`.
    above: BTreeSet<i64>,
    /// Since when the number after `settled` has been missing while later ones were seen.
    gap_since: Option<Instant>,
}

impl Watermark {
    /// Starts after `last`: what was logged before the relay started is not relayed.
    pub fn after(last: i64) -> Self {
        Self {
            settled: last,
            above: BTreeSet::new(),
            gap_since: None,
        }
    }

    /// Read from here: the numbers after this may still be unseen.
    pub fn settled(&self) -> i64 {
        self.settled
    }

    /// Takes a number read from the log; `true` the first time it is seen.
    pub fn see(&mut self, seq: i64) -> bool {
        seq > self.settled && self.above.insert(seq)
    }

    /// Moves the watermark over what is settled at `now`: seen numbers, and a gap that waited
    /// longer than `patience`.
    pub fn advance(&mut self, now: Instant, patience: Duration) {
        loop {
            while self.above.remove(&(self.settled + 1)) {
                self.settled += 1;
                self.gap_since = None;
            }
            let Some(&next) = self.above.first() else {
                self.gap_since = None;
                return;
            };
            let since = *self.gap_since.get_or_insert(now);
            if now.duration_since(since) < patience {
                return;
            }
            // The missing numbers' transactions rolled back (or took far too long): go on.
            self.settled = next - 1;
            self.gap_since = None;
        }
    }
}

/// Relays the other nodes' events to this node's streams until `cancel` fires.
pub async fn run(store: Arc<dyn Store>, cancel: CancellationToken) {
    let mut mark = loop {
        match store.last_event_seq().await {
            Ok(last) => break Watermark::after(last),
            Err(e) => tracing::warn!(error = %e, "live relay: reading the event log failed"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        match store.events_of_all_nodes(mark.settled(), BATCH).await {
            Ok(read) => {
                let theirs: Vec<_> = read
                    .into_iter()
                    .filter(|(rec, _)| mark.see(rec.seq))
                    .filter(|(_, ours)| !ours)
                    .map(|(rec, _)| rec)
                    .collect();
                store.publish_to_streams(&theirs);
                mark.advance(Instant::now(), GAP_PATIENCE);
            }
            Err(e) => tracing::warn!(error = %e, "live relay: reading the event log failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_gap_waits_for_its_transaction_then_is_given_up() {
        let t0 = Instant::now();
        let p = Duration::from_secs(10);
        let mut m = Watermark::after(10);
        assert!(m.see(12));
        m.advance(t0, p);
        assert_eq!(m.settled(), 10, "11 may still commit");
        assert!(m.see(11), "the late number is relayed");
        m.advance(t0 + Duration::from_secs(1), p);
        assert_eq!(m.settled(), 12);
        assert!(!m.see(12) && !m.see(11), "never twice");
        assert!(m.see(14));
        m.advance(t0 + Duration::from_secs(2), p);
        assert_eq!(m.settled(), 12);
        m.advance(t0 + Duration::from_secs(13), p);
        assert_eq!(
            m.settled(),
            14,
            "13 rolled back: given up after the patience"
        );
    }

    proptest! {
        /// Numbers committed in any order are each relayed exactly once, and once all are in,
        /// the watermark stands at the last.
        #[test]
        fn each_number_is_relayed_once_in_any_commit_order(
            order in Just((1..=40i64).collect::<Vec<_>>()).prop_shuffle(),
            batches in proptest::collection::vec(1usize..6, 1..40),
        ) {
            let t0 = Instant::now();
            let mut m = Watermark::after(0);
            let mut relayed = Vec::new();
            let mut committed = Vec::new();
            let mut rest = order.as_slice();
            let mut batches = batches.into_iter().cycle();
            while !rest.is_empty() {
                let n = batches.next().unwrap().min(rest.len());
                committed.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                // Each poll reads everything committed above the watermark.
                let from = m.settled();
                for &s in committed.iter().filter(|&&s| s > from) {
                    if m.see(s) {
                        relayed.push(s);
                    }
                }
                m.advance(t0, Duration::from_secs(10));
            }
            relayed.sort_unstable();
            prop_assert_eq!(relayed, (1..=40).collect::<Vec<_>>());
            prop_assert_eq!(m.settled(), 40);
        }
    }
}
