//! Spike detection (issue 16, DESIGN 10): one pass over the themes' arrivals, opening an episode
//! (with its `theme.spike` live event and webhook deliveries) for each theme that spikes and
//! closing the ones that fell back. The rule is `webcare_domain::spikes`; the pass runs in the
//! SLA worker under a lease (`webcare-workers/src/spikes.rs`), and the store's one-open-episode
//! index keeps a second node from alerting the same episode.

use crate::error::DeskResult;
use crate::Desk;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use webcare_domain::spikes::{decide, message, usual, windows, Decision};
use webcare_store::agent_events::NewEvent;
use webcare_store::classification::SpikeRecord;

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pass {
    pub started: Vec<SpikeRecord>,
    pub ended: Vec<String>,
}

/// Looks at the hour before `now`.
pub async fn check(desk: &Desk, now: DateTime<Utc>) -> DeskResult<Pass> {
    let (_, c) = crate::classification::current(desk).await?;
    let rule = c.spike;
    let mut pass = Pass::default();
    let open = desk.store.open_spikes().await?;
    if !rule.enabled && open.is_empty() {
        return Ok(pass);
    }
    let ws = windows(now, rule.weeks);
    let counts = desk.store.theme_arrivals(&ws).await?;
    let level = |theme: &str| -> (u64, f64) {
        counts.get(theme).map_or((0, 0.0), |n| {
            (n.first().copied().unwrap_or(0), usual(&n[1..], rule.weeks))
        })
    };
    let open: BTreeMap<&str, &SpikeRecord> = open.iter().map(|s| (s.theme.as_str(), s)).collect();
    for (theme, s) in &open {
        let (n, u) = level(theme);
        // Switched off: every open episode ends.
        if !rule.enabled || decide(&rule, true, n, u) == Decision::End {
            desk.store.end_spike(s.id, now).await?;
            pass.ended.push((*theme).to_owned());
        }
    }
    if !rule.enabled {
        return Ok(pass);
    }
    for theme in counts.keys().filter(|t| !open.contains_key(t.as_str())) {
        let (n, u) = level(theme);
        if decide(&rule, false, n, u) != Decision::Start {
            continue;
        }
        let s = SpikeRecord {
            id: uuid::Uuid::now_v7(),
            theme: theme.clone(),
            started_at: now,
            ended_at: None,
            last_hour: i64::try_from(n).unwrap_or(i64::MAX),
            usual: u,
        };
        // No case and no team: every caller who sees the whole desk gets it (team leads,
        // admins, the communications team's webhook).
        let event = NewEvent {
            kind: "theme.spike".into(),
            case_id: None,
            team: None,
            assignee: None,
            department_id: None,
            payload: serde_json::json!({
                "spikeId": s.id,
                "theme": theme,
                "lastHour": n,
                "usual": (u * 10.0).round() / 10.0,
                "startedAt": now,
                "message": message(theme, n, u),
            }),
        };
        if let Some(s) = desk.store.start_spike(&s, event).await? {
            pass.started.push(s);
        }
    }
    Ok(pass)
}
