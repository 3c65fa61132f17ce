//! How urgent a case looks in the inbox: the colour of its SLA state. Green while within the
//! norm, orange from the warning instant (the policy's warning threshold, default 80%), red once
//! the due time has passed; no colour without a running clock.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// No running clock (answered, paused, or no norm).
    None,
    Within,
    Warning,
    Breached,
}

impl Urgency {
    /// From the earliest running clock's due and warning instants. A due time always wins over
    /// a warning instant: a clock past its due time is breached even if its warning was later.
    pub fn at(
        now: DateTime<Utc>,
        due_at: Option<DateTime<Utc>>,
        warning_at: Option<DateTime<Utc>>,
    ) -> Urgency {
        match due_at {
            None => Urgency::None,
            Some(due) if now >= due => Urgency::Breached,
            Some(_) if warning_at.is_some_and(|w| now >= w) => Urgency::Warning,
            Some(_) => Urgency::Within,
        }
    }

    /// The CSS class of the state.
    pub fn css(self) -> &'static str {
        match self {
            Urgency::None => "sla-none",
            Urgency::Within => "sla-within",
            Urgency::Warning => "sla-warning",
            Urgency::Breached => "sla-breached",
        }
    }

    /// The state in Dutch, for the label beside the colour (colour alone is not enough).
    pub fn label(self) -> &'static str {
        match self {
            Urgency::None => "geen norm lopend",
            Urgency::Within => "op tijd",
            Urgency::Warning => "bijna te laat",
            Urgency::Breached => "te laat",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    proptest! {
        /// As time passes a running clock only gets more urgent, and it is breached exactly from
        /// its due time on.
        #[test]
        fn urgency_only_grows_and_breach_is_exact(
            start in 0i64..1_000_000, due_in in 1i64..100_000, warn_frac in 0u8..=100, a in 0i64..200_000, b in 0i64..200_000
        ) {
            let t0 = DateTime::from_timestamp(1_700_000_000 + start, 0).unwrap();
            let due = t0 + Duration::seconds(due_in);
            let warn = t0 + Duration::seconds(due_in * i64::from(warn_frac) / 100);
            let (x, y) = (a.min(b), a.max(b));
            let ux = Urgency::at(t0 + Duration::seconds(x), Some(due), Some(warn));
            let uy = Urgency::at(t0 + Duration::seconds(y), Some(due), Some(warn));
            prop_assert!(ux <= uy);
            prop_assert_eq!(uy == Urgency::Breached, t0 + Duration::seconds(y) >= due);
        }
    }

    #[test]
    fn no_clock_no_colour() {
        assert_eq!(Urgency::at(Utc::now(), None, None), Urgency::None);
    }
}
