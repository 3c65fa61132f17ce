//! The case status machine as an explicit transition table.
//!
//! `new -> open -> (waiting_on_citizen | forwarded) -> resolved -> closed`, with the moves back that
//! the work needs: a citizen's answer takes a waiting case back to open, a department hands a case
//! back, a new citizen message reopens a resolved case within the reopen window.

use crate::model::CaseStatus::{self, *};
use chrono::Duration;

/// Why a status changes. The same target status may be allowed for one trigger and not another
/// (only a citizen message may reopen a resolved case, for instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A person (agent, team lead, department) sets the status through the API.
    Manual,
    /// A new inbound message from the citizen.
    CitizenMessage,
    /// A reply of ours went out.
    Reply,
    /// The retention or housekeeping worker closes stale resolved cases.
    System,
}

/// The table: `(from, to, triggers that may make the move)`.
const TABLE: &[(CaseStatus, CaseStatus, &[Trigger])] = {
    use Trigger::*;
    &[
        (New, Open, &[Manual, Reply]),
        (New, WaitingOnCitizen, &[Manual]),
        (New, Forwarded, &[Manual]),
        (New, Resolved, &[Manual]),
        (New, Closed, &[Manual]),
        (Open, WaitingOnCitizen, &[Manual]),
        (Open, Forwarded, &[Manual]),
        (Open, Resolved, &[Manual]),
        (Open, Closed, &[Manual]),
        (WaitingOnCitizen, Open, &[Manual, CitizenMessage]),
        (WaitingOnCitizen, Forwarded, &[Manual]),
        (WaitingOnCitizen, Resolved, &[Manual]),
        (WaitingOnCitizen, Closed, &[Manual, System]),
        (Forwarded, Open, &[Manual]),
        (Forwarded, Resolved, &[Manual]),
        (Forwarded, Closed, &[Manual]),
        (Resolved, Open, &[Manual, CitizenMessage]),
        (Resolved, Closed, &[Manual, System]),
    ]
};

/// A refused move, carrying what *is* allowed so the API can say so (409 with the allowed ones).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move a case from '{from}' to '{to}'")]
pub struct InvalidTransition {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub allowed: Vec<CaseStatus>,
}

/// The statuses reachable from `from` by `trigger`, in table order.
pub fn allowed_targets(from: CaseStatus, trigger: Trigger) -> Vec<CaseStatus> {
    TABLE
        .iter()
        .filter(|(f, _, ts)| *f == from && ts.contains(&trigger))
        .map(|(_, t, _)| *t)
        .collect()
}

/// Checks one move. Staying in the same status is not a transition and is refused, so callers
/// cannot record no-op changes as events.
pub fn transition(
    from: CaseStatus,
    to: CaseStatus,
    trigger: Trigger,
) -> Result<CaseStatus, InvalidTransition> {
    let ok = TABLE
        .iter()
        .any(|(f, t, ts)| *f == from && *t == to && ts.contains(&trigger));
    if ok {
        Ok(to)
    } else {
        Err(InvalidTransition {
            from,
            to,
            allowed: allowed_targets(from, trigger),
        })
    }
}

/// A case that is neither resolved nor closed: it still needs work, and new private messages of
/// the same citizen join it.
pub fn is_active(status: CaseStatus) -> bool {
    !matches!(status, Resolved | Closed)
}

/// What a new citizen message does to the status of the case it joins.
pub fn on_citizen_message(status: CaseStatus) -> CaseStatus {
    match status {
        WaitingOnCitizen | Resolved => Open,
        other => other,
    }
}

/// What a sent reply does to the status of its case: a reply by a person (a holding answer
/// too) takes a `new` case to `open`; an out-of-hours auto-reply is no answer by a person and
/// changes nothing. `None`: the status stays.
pub fn on_reply(status: CaseStatus, auto_reply: bool) -> Option<CaseStatus> {
    if auto_reply {
        return None;
    }
    transition(status, Open, Trigger::Reply).ok()
}

/// The default reopen window: a citizen message within 7 days of resolution reopens the case.
pub fn default_reopen_window() -> Duration {
    Duration::days(7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_persons_reply_opens_a_new_case_and_an_auto_reply_does_not() {
        assert_eq!(on_reply(New, false), Some(Open));
        assert_eq!(on_reply(New, true), None);
        for s in [Open, WaitingOnCitizen, Forwarded, Resolved, Closed] {
            assert_eq!(on_reply(s, false), None, "{s:?}");
        }
    }

    fn any_status() -> impl Strategy<Value = CaseStatus> {
        proptest::sample::select(CaseStatus::ALL.to_vec())
    }

    fn any_trigger() -> impl Strategy<Value = Trigger> {
        proptest::sample::select(vec![
            Trigger::Manual,
            Trigger::CitizenMessage,
            Trigger::Reply,
            Trigger::System,
        ])
    }

    #[test]
    fn the_main_path_is_allowed() {
        let path = [New, Open, Forwarded, Resolved, Closed];
        for w in path.windows(2) {
            assert_eq!(transition(w[0], w[1], Trigger::Manual), Ok(w[1]));
        }
    }

    #[test]
    fn closed_is_final_and_names_no_way_out() {
        for to in CaseStatus::ALL {
            let err = transition(Closed, *to, Trigger::Manual).unwrap_err();
            assert!(err.allowed.is_empty());
        }
    }

    #[test]
    fn only_a_citizen_or_a_person_reopens_a_resolved_case() {
        assert!(transition(Resolved, Open, Trigger::CitizenMessage).is_ok());
        assert!(transition(Resolved, Open, Trigger::Reply).is_err());
        assert!(transition(Resolved, Open, Trigger::System).is_err());
    }

    proptest! {
        #[test]
        fn transition_agrees_with_allowed_targets(from in any_status(), to in any_status(), t in any_trigger()) {
            let allowed = allowed_targets(from, t);
            match transition(from, to, t) {
                Ok(s) => { prop_assert_eq!(s, to); prop_assert!(allowed.contains(&to)); }
                Err(e) => { prop_assert!(!allowed.contains(&to)); prop_assert_eq!(e.allowed, allowed); }
            }
        }

        #[test]
        fn no_self_loops(s in any_status(), t in any_trigger()) {
            prop_assert!(transition(s, s, t).is_err());
        }

        #[test]
        fn every_status_but_closed_can_reach_closed(s in any_status()) {
            // Breadth-first over manual moves: nothing gets stuck outside `closed`.
            let mut seen = vec![s];
            let mut i = 0;
            while i < seen.len() {
                for n in allowed_targets(seen[i], Trigger::Manual) {
                    if !seen.contains(&n) { seen.push(n); }
                }
                i += 1;
            }
            prop_assert!(seen.contains(&Closed));
        }

        #[test]
        fn a_citizen_message_leaves_a_case_active_or_untouched(s in any_status()) {
            let next = on_citizen_message(s);
            if s == Closed { prop_assert_eq!(next, Closed); } else { prop_assert!(is_active(next)); }
            if next != s { prop_assert!(transition(s, next, Trigger::CitizenMessage).is_ok()); }
        }
    }
}
