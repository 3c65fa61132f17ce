//! Which case an inbound message joins: a pure function of the message and of what the store found
//! for it. The store looks the facts up (in one transaction); this module decides.
//!
//! Order of evidence, strongest first:
//! 1. the message replies to a message we know (`inReplyTo`): its case;
//! 2. its conversation key (X conversation, a Facebook post per citizen) points to a case;
//! 3. a message we already have replies to *this* one (the parent arrived after its child);
//! 4. for private messages only: the author's active case on the same channel account.
//!
//! A candidate case that is resolved is reopened when the message falls inside the reopen window;
//! a closed case, or one resolved longer ago, is never joined: the message starts a new case.

use crate::model::CaseStatus;
use crate::model::Visibility;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// A case the store found for one kind of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateCase {
    pub id: Uuid,
    pub status: CaseStatus,
    /// When the case was last resolved, if it is resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What the store knows about an inbound message's neighbours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadingFacts {
    pub parent: Option<CandidateCase>,
    pub conversation: Option<CandidateCase>,
    pub child: Option<CandidateCase>,
    pub author_active_private: Option<CandidateCase>,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadDecision {
    /// Add the message to this active case.
    Join(Uuid),
    /// Add the message to this resolved case and reopen it.
    Reopen(Uuid),
    /// Start a new case.
    NewCase,
}

impl ThreadDecision {
    pub fn case_id(self) -> Option<Uuid> {
        match self {
            ThreadDecision::Join(id) | ThreadDecision::Reopen(id) => Some(id),
            ThreadDecision::NewCase => None,
        }
    }
}

/// Decides where a message goes. `at` is when the citizen sent it (what the reopen window is
/// measured against, so a late delivery of an old message does not reopen a case).
pub fn decide(
    visibility: Visibility,
    facts: &ThreadingFacts,
    at: DateTime<Utc>,
    reopen_window: Duration,
) -> ThreadDecision {
    let private = (visibility == Visibility::Private)
        .then_some(facts.author_active_private)
        .flatten();
    let candidates = [facts.parent, facts.conversation, facts.child, private];
    for c in candidates.into_iter().flatten() {
        match c.status {
            CaseStatus::Closed => continue,
            CaseStatus::Resolved => {
                let within = c.resolved_at.is_none_or(|r| at - r <= reopen_window);
                if within {
                    return ThreadDecision::Reopen(c.id);
                }
            }
            _ => return ThreadDecision::Join(c.id),
        }
    }
    ThreadDecision::NewCase
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 9, 15, 0).unwrap()
    }

    fn case(n: u128, status: CaseStatus) -> CandidateCase {
        CandidateCase {
            id: Uuid::from_u128(n),
            status,
            resolved_at: (status == CaseStatus::Resolved).then(|| t0() - Duration::days(1)),
        }
    }

    #[test]
    fn a_reply_joins_its_parents_case_before_anything_else() {
        let facts = ThreadingFacts {
            parent: Some(case(1, CaseStatus::Open)),
            conversation: Some(case(2, CaseStatus::Open)),
            child: Some(case(3, CaseStatus::Open)),
            author_active_private: Some(case(4, CaseStatus::Open)),
        };
        let d = decide(Visibility::Private, &facts, t0(), Duration::days(7));
        assert_eq!(d, ThreadDecision::Join(Uuid::from_u128(1)));
    }

    #[test]
    fn a_public_message_never_joins_by_author_alone() {
        let facts = ThreadingFacts {
            author_active_private: Some(case(4, CaseStatus::Open)),
            ..Default::default()
        };
        assert_eq!(
            decide(Visibility::Public, &facts, t0(), Duration::days(7)),
            ThreadDecision::NewCase
        );
        assert_eq!(
            decide(Visibility::Private, &facts, t0(), Duration::days(7)),
            ThreadDecision::Join(Uuid::from_u128(4))
        );
    }

    #[test]
    fn a_resolved_case_reopens_inside_the_window_only() {
        let mut c = case(1, CaseStatus::Resolved);
        let facts = |c| ThreadingFacts {
            parent: Some(c),
            ..Default::default()
        };
        assert_eq!(
            decide(Visibility::Public, &facts(c), t0(), Duration::days(7)),
            ThreadDecision::Reopen(c.id)
        );
        c.resolved_at = Some(t0() - Duration::days(8));
        assert_eq!(
            decide(Visibility::Public, &facts(c), t0(), Duration::days(7)),
            ThreadDecision::NewCase
        );
    }

    #[test]
    fn a_closed_parent_falls_through_to_weaker_evidence() {
        let facts = ThreadingFacts {
            parent: Some(case(1, CaseStatus::Closed)),
            conversation: Some(case(2, CaseStatus::WaitingOnCitizen)),
            ..Default::default()
        };
        assert_eq!(
            decide(Visibility::Public, &facts, t0(), Duration::days(7)),
            ThreadDecision::Join(Uuid::from_u128(2))
        );
    }

    fn any_candidate(n: u128) -> impl Strategy<Value = Option<CandidateCase>> {
        proptest::option::of(
            (
                proptest::sample::select(CaseStatus::ALL.to_vec()),
                proptest::option::of(0i64..20),
            )
                .prop_map(move |(status, days)| CandidateCase {
                    id: Uuid::from_u128(n),
                    status,
                    resolved_at: days.map(|d| t0() - Duration::days(d)),
                }),
        )
    }

    proptest! {
        #[test]
        fn decisions_are_sound(
            parent in any_candidate(1), conversation in any_candidate(2), child in any_candidate(3),
            private in any_candidate(4), public in any::<bool>(), window in 0i64..15,
        ) {
            let facts = ThreadingFacts { parent, conversation, child, author_active_private: private };
            let vis = if public { Visibility::Public } else { Visibility::Private };
            let d = decide(vis, &facts, t0(), Duration::days(window));
            let all = [parent, conversation, child, if public { None } else { private }];
            match d {
                ThreadDecision::Join(id) => {
                    let c = all.iter().flatten().find(|c| c.id == id).unwrap();
                    prop_assert!(crate::status::is_active(c.status));
                }
                ThreadDecision::Reopen(id) => {
                    let c = all.iter().flatten().find(|c| c.id == id).unwrap();
                    prop_assert_eq!(c.status, CaseStatus::Resolved);
                }
                ThreadDecision::NewCase => {
                    // Nothing joinable was offered.
                    for c in all.iter().flatten() {
                        prop_assert!(c.status == CaseStatus::Closed
                            || (c.status == CaseStatus::Resolved
                                && c.resolved_at.is_some_and(|r| t0() - r > Duration::days(window))));
                    }
                }
            }
            // The chosen case is the first joinable one in evidence order.
            if let Some(id) = d.case_id() {
                let first = all.iter().flatten().find(|c| c.status != CaseStatus::Closed
                    && (c.status != CaseStatus::Resolved
                        || c.resolved_at.is_none_or(|r| t0() - r <= Duration::days(window))));
                prop_assert_eq!(first.map(|c| c.id), Some(id));
            }
        }

        #[test]
        fn evidence_order_does_not_depend_on_arrival(status in proptest::sample::select(vec![CaseStatus::New, CaseStatus::Open, CaseStatus::Forwarded])) {
            // Parent known (child came second) and child known (parent came second) give the same case.
            let c = CandidateCase { id: Uuid::from_u128(9), status, resolved_at: None };
            let a = decide(Visibility::Public, &ThreadingFacts { parent: Some(c), ..Default::default() }, t0(), Duration::days(7));
            let b = decide(Visibility::Public, &ThreadingFacts { child: Some(c), ..Default::default() }, t0(), Duration::days(7));
            prop_assert_eq!(a, b);
        }
    }
}
