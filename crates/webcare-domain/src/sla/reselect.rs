//! Re-selecting a clock's norms when a case is classified after its clocks started (theme, kind
//! or priority set or changed), so the clocks follow the policy that matches now. Pure: the store
//! loads the clock and the new policy's norms and calendar, and writes what this decides.
//!
//! The rule:
//! - Only unstopped clocks (running or paused) follow the new policy. A met or missed clock keeps
//!   the norms it was measured with: a classification never rewrites a closed figure.
//! - The clock keeps its segments (its start, pauses and reasons); `dueAt` and `warningAt` are
//!   evaluated again from its start under the new budget, minutes kind, warning fraction and
//!   calendar, as if the new policy had applied from the start.
//! - A warning or breach already fired stays recorded (alerts are case events and are never
//!   deleted). The clock's fired status becomes the lower of what has fired and what the new
//!   deadlines say at `now`:
//!   - new deadline later and not yet reached: the status goes back to within (or warning, when
//!     the new warning instant has passed too), and the warning or breach fires again at its new
//!     instant, as a new alert;
//!   - new deadline earlier and already past: nothing fired is taken back, and whatever the new
//!     deadlines make due is fired by the timer worker on its next pass (its `dueAt` is the new
//!     instant, its `firedAt` when it is seen);
//!   - a status that fired and is still due under the new deadlines is not fired twice.

use crate::sla::clock::{evaluate, Budget, ClockStatus, ClockView, Segment};
use crate::sla::error::SlaError;
use crate::sla::versions::CalendarVersions;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a clock is measured against.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockNorms {
    pub budget: Budget,
    /// Fraction of the budget at which the warning fires.
    pub warning_at: f64,
    /// `None`: the caller's default calendar.
    pub calendar_id: Option<Uuid>,
    /// The policy's name; `None` for the configured defaults.
    pub policy: Option<String>,
}

/// What re-selection decided for one clock.
#[derive(Debug, Clone, PartialEq)]
pub enum Reselection {
    /// Nothing changes: the clock is stopped, or the norms are the same.
    Keep,
    /// Measure the clock against the new norms from now on.
    Rewrite {
        /// The clock evaluated under the new norms at `now`.
        view: ClockView,
        /// The fired status to store: statuses above it fire (again) at their new instants.
        fired: ClockStatus,
    },
}

/// Decides how a clock with `segments`, measured against `old` and having fired up to `fired`,
/// follows `new` (whose calendar is `calendar`) at `now`. See the module notes for the rule.
pub fn reselect(
    segments: &[Segment],
    fired: ClockStatus,
    old: &ClockNorms,
    new: &ClockNorms,
    calendar: &CalendarVersions,
    now: DateTime<Utc>,
) -> Result<Reselection, SlaError> {
    let stopped = segments
        .iter()
        .max_by_key(|s| s.from)
        .is_some_and(|s| s.to.is_some());
    if stopped || old == new {
        return Ok(Reselection::Keep);
    }
    let view = evaluate(segments, new.budget, new.warning_at, calendar, now)?;
    let fired = fired.min(view.status);
    Ok(Reselection::Rewrite { view, fired })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::policy::MinutesKind;
    use crate::sla::CalendarSpec;
    use chrono::{Duration, TimeZone};

    fn always() -> CalendarVersions {
        let day = r#"[["00:00","24:00"]]"#;
        let json = format!(
            r#"{{"timeZone":"Europe/Amsterdam","weekly":{{"monday":{day},"tuesday":{day},"wednesday":{day},
               "thursday":{day},"friday":{day},"saturday":{day},"sunday":{day}}},"holidays":{{"set":"none"}}}}"#
        );
        let spec: CalendarSpec = serde_json::from_str(&json).unwrap();
        CalendarVersions::single(spec.validate().unwrap())
    }

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn norms(name: &str, minutes: u32) -> ClockNorms {
        ClockNorms {
            budget: Budget::minutes(minutes, MinutesKind::Calendar),
            warning_at: 0.5,
            calendar_id: None,
            policy: Some(name.into()),
        }
    }

    fn running_since(h: i64) -> Vec<Segment> {
        vec![Segment {
            from: t(h),
            to: None,
            running: true,
            reason: None,
        }]
    }

    fn rewrite(r: Reselection) -> (ClockView, ClockStatus) {
        match r {
            Reselection::Rewrite { view, fired } => (view, fired),
            Reselection::Keep => panic!("expected a rewrite"),
        }
    }

    #[test]
    fn a_shorter_norm_moves_due_earlier_and_keeps_what_fired() {
        let cal = always();
        // Started at 0 h under 24 h; at 3 h the case becomes a melding with a 2 h norm.
        let (view, fired) = rewrite(
            reselect(
                &running_since(0),
                ClockStatus::Within,
                &norms("24 uur", 24 * 60),
                &norms("2 uur", 120),
                &cal,
                t(3),
            )
            .unwrap(),
        );
        assert_eq!(view.due_at, Some(t(2)));
        assert_eq!(view.warning_at, Some(t(1)));
        assert_eq!(view.status, ClockStatus::Breached);
        assert_eq!(
            fired,
            ClockStatus::Within,
            "both now fire on the worker's next pass"
        );
    }

    #[test]
    fn a_longer_norm_re_arms_a_fired_breach() {
        let cal = always();
        // 2 h norm breached at 2 h; the case turns out to be a plain question (24 h) at `h`.
        let at = |h| {
            let (old, new) = (norms("2 uur", 120), norms("24 uur", 24 * 60));
            let r = reselect(
                &running_since(0),
                ClockStatus::Breached,
                &old,
                &new,
                &cal,
                t(h),
            );
            rewrite(r.unwrap())
        };
        let (view, fired) = at(3);
        assert_eq!(view.due_at, Some(t(24)));
        assert_eq!(fired, ClockStatus::Within);
        // At 13 h the new warning (12 h) has passed: the fired warning stands, the breach re-arms.
        assert_eq!(at(13).1, ClockStatus::Warning);
    }

    #[test]
    fn stopped_clocks_and_equal_norms_are_kept() {
        let cal = always();
        let mut stopped = running_since(0);
        stopped[0].to = Some(t(1));
        let r = reselect(
            &stopped,
            ClockStatus::Warning,
            &norms("a", 60),
            &norms("b", 600),
            &cal,
            t(3),
        );
        assert_eq!(r.unwrap(), Reselection::Keep);
        let r = reselect(
            &running_since(0),
            ClockStatus::Within,
            &norms("a", 60),
            &norms("a", 60),
            &cal,
            t(3),
        );
        assert_eq!(r.unwrap(), Reselection::Keep);
    }

    #[test]
    fn a_paused_clock_is_re_evaluated_from_its_segments() {
        let cal = always();
        // Ran 0-1 h, paused since 1 h. Under a 2 h norm, 1 h is left from whenever it resumes.
        let segments = vec![
            Segment {
                from: t(0),
                to: Some(t(1)),
                running: true,
                reason: None,
            },
            Segment {
                from: t(1),
                to: None,
                running: false,
                reason: Some("waiting on the citizen".into()),
            },
        ];
        let (view, fired) = rewrite(
            reselect(
                &segments,
                ClockStatus::Within,
                &norms("24 uur", 24 * 60),
                &norms("2 uur", 120),
                &cal,
                t(5),
            )
            .unwrap(),
        );
        assert_eq!(view.warning_at, Some(t(1)), "used up inside the run");
        assert_eq!(view.due_at, Some(t(6)), "1 h left, projected from now");
        assert_eq!(view.status, ClockStatus::Warning);
        assert_eq!(fired, ClockStatus::Within);
    }
}
