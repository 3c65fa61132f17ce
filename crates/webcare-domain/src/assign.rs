//! Auto-assignment of a new case within a team: round robin among available agents, or the least
//! loaded one (fewest open cases), never above a per-agent cap.

/// How a team hands out new cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    RoundRobin,
    LeastLoaded,
}

impl Mode {
    pub fn parse(s: &str) -> Mode {
        match s {
            "round_robin" => Mode::RoundRobin,
            "least_loaded" => Mode::LeastLoaded,
            _ => Mode::Off,
        }
    }
}

/// Picks the agent for a new case. `agents` are the team's available agents with their open
/// cases, `last` the agent who got the team's previous case (for round robin). Ties are broken
/// by agent id, so the choice is deterministic.
pub fn pick<'a>(
    mode: Mode,
    agents: &'a [(String, i64)],
    last: Option<&str>,
    cap: Option<i64>,
) -> Option<&'a str> {
    let mut open: Vec<&(String, i64)> = agents
        .iter()
        .filter(|(_, n)| cap.is_none_or(|c| *n < c))
        .collect();
    open.sort_by(|a, b| a.0.cmp(&b.0));
    match mode {
        Mode::Off => None,
        Mode::LeastLoaded => open
            .iter()
            .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|a| a.0.as_str()),
        Mode::RoundRobin => {
            let next = last.and_then(|l| open.iter().find(|a| a.0.as_str() > l));
            next.or(open.first()).map(|a| a.0.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn agents(v: &[(&str, i64)]) -> Vec<(String, i64)> {
        v.iter().map(|(a, n)| (a.to_string(), *n)).collect()
    }

    #[test]
    fn least_loaded_with_a_cap() {
        let a = agents(&[("b", 3), ("a", 5), ("c", 1)]);
        assert_eq!(pick(Mode::LeastLoaded, &a, None, None), Some("c"));
        assert_eq!(pick(Mode::LeastLoaded, &a, None, Some(1)), None);
        assert_eq!(
            pick(
                Mode::LeastLoaded,
                &agents(&[("b", 2), ("a", 2)]),
                None,
                None
            ),
            Some("a")
        );
        assert_eq!(pick(Mode::Off, &a, None, None), None);
    }

    #[test]
    fn round_robin_goes_around_and_skips_full_agents() {
        let a = agents(&[("a", 0), ("b", 9), ("c", 0)]);
        assert_eq!(pick(Mode::RoundRobin, &a, None, None), Some("a"));
        assert_eq!(pick(Mode::RoundRobin, &a, Some("a"), None), Some("b"));
        assert_eq!(pick(Mode::RoundRobin, &a, Some("a"), Some(5)), Some("c"));
        assert_eq!(pick(Mode::RoundRobin, &a, Some("c"), None), Some("a"));
        assert_eq!(pick(Mode::RoundRobin, &[], Some("c"), None), None);
    }

    proptest! {
        #[test]
        fn never_above_the_cap(loads in proptest::collection::vec(0i64..20, 0..8), cap in 1i64..20, rr in any::<bool>()) {
            let a: Vec<(String, i64)> = loads.iter().enumerate().map(|(i, n)| (format!("u{i}"), *n)).collect();
            let mode = if rr { Mode::RoundRobin } else { Mode::LeastLoaded };
            if let Some(p) = pick(mode, &a, Some("u3"), Some(cap)) {
                let n = a.iter().find(|x| x.0 == p).unwrap().1;
                prop_assert!(n < cap);
            } else {
                prop_assert!(a.iter().all(|x| x.1 >= cap));
            }
        }
    }
}
