//! Ingesting a batch set-wise: what the store found for the whole batch (a handful of queries,
//! see `ingest.rs`) goes in, the rows to write come out. Pure: no IO, so the whole threading
//! walk is tested without a database.
//!
//! Messages are taken in batch order, and each sees what the ones before it did (their cases,
//! thread keys, identities), exactly as if each had been ingested alone, one after the other.

use crate::records::{EditRecord, MessageRecord};
use crate::time::{from_ms, to_ms};
use crate::{IngestItem, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use uuid::Uuid;
use webcare_domain::model::CaseStatus;
use webcare_domain::threading::{decide, CandidateCase, ThreadDecision, ThreadingFacts};
use webcare_domain::{Direction, Visibility};

/// A case as the batch sees it: as stored, then as changed by earlier messages of the batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CaseState {
    pub id: Uuid,
    pub account: Uuid,
    pub contact_id: Uuid,
    pub status: CaseStatus,
    pub resolved_at: Option<i64>,
    pub first_message_at: i64,
    pub last_message_at: i64,
    pub theme: Option<String>,
    pub kind: Option<String>,
    pub priority: String,
    pub team: Option<String>,
    /// Created by this batch (inserted), else changed by it (updated) when `touched`.
    pub is_new: bool,
    pub touched: bool,
    /// A citizen message joined it (which reopens a resolved or waiting case).
    pub citizen_joined: bool,
    /// The inbox line of the batch's latest citizen message in this case, if any.
    pub inbox: Option<crate::inbox_row::InboxLine>,
}

impl CaseState {
    fn candidate(&self) -> CandidateCase {
        CandidateCase {
            id: self.id,
            status: self.status,
            resolved_at: self.resolved_at.map(from_ms),
        }
    }
}

/// A contact identity as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KnownIdentity {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub handle: Option<String>,
    pub display_name: Option<String>,
}

/// What the store holds that the batch may refer to, keyed by account.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Stored messages with the batch's platform ids.
    pub existing: HashMap<(Uuid, String), MessageRecord>,
    /// Identities of the batch's authors.
    pub identities: HashMap<(Uuid, String), KnownIdentity>,
    /// The case of each stored message a batch message replies to.
    pub parents: HashMap<(Uuid, String), Uuid>,
    /// The case of each stored thread key the batch names.
    pub threads: HashMap<(Uuid, String), Uuid>,
    /// For a batch message's platform id, the earliest stored reply to it: (sent at, its case).
    pub children: HashMap<(Uuid, String), (i64, Uuid)>,
    /// The cases (not closed) of the batch's known contacts, per account.
    pub contact_cases: HashMap<(Uuid, Uuid), Vec<Uuid>>,
    /// Every case named above.
    pub cases: HashMap<Uuid, CaseState>,
    /// The sent, unanswered surveys of resolved cases among them.
    pub surveys: HashMap<Uuid, webcare_domain::survey::PendingSurvey>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewContact {
    pub id: Uuid,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewIdentity {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub account: Uuid,
    pub platform_user_id: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
}

/// How one item of the batch ends.
#[derive(Debug)]
pub(crate) enum ItemResult {
    /// Its platform id was stored already (or earlier in this batch): nothing changed.
    Existing(Box<MessageRecord>),
    /// `Plan::messages[index]` is inserted.
    New { index: usize, new_case: bool },
    /// This item alone fails (an echo of ours with no case to join).
    Failed(StoreError),
}

/// A thread key that moves from a case that can no longer be joined to the batch's new case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ThreadMove {
    pub account: Uuid,
    pub key: String,
    pub from: Uuid,
    pub to: Uuid,
}

/// The rows to write, in this order: contacts, identities (and their updates), cases, thread
/// keys, messages; then the SLA hook for `inbound` in order.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub results: Vec<ItemResult>,
    pub contacts: Vec<NewContact>,
    pub identities: Vec<NewIdentity>,
    /// Identity id -> (handle, display name) to store.
    pub identity_updates: HashMap<Uuid, (Option<String>, Option<String>)>,
    /// Every case the batch created or changed, final state.
    pub cases: HashMap<Uuid, CaseState>,
    /// Creation order of the new cases.
    pub new_cases: Vec<Uuid>,
    pub threads: Vec<(Uuid, String, Uuid)>,
    pub thread_moves: Vec<ThreadMove>,
    pub messages: Vec<MessageRecord>,
    /// The author identity of `messages[i]`.
    pub message_identities: Vec<Uuid>,
    /// Citizen messages in batch order: (case, case is new, clock start).
    pub inbound: Vec<(Uuid, bool, DateTime<Utc>)>,
    /// The new cases a routing rule matched (see `routing::route_new_cases`).
    pub routed: HashMap<Uuid, crate::routing::Routed>,
    /// Citizen messages that answered their resolved case's survey (which stays resolved).
    pub survey_answers: Vec<crate::surveys::PlannedAnswer>,
    /// Resolved cases a citizen message reopened: a survey not sent yet is withdrawn.
    pub reopened: Vec<Uuid>,
}

/// Truncates to what the store keeps (milliseconds), so a planned record equals a read one.
fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    from_ms(to_ms(t))
}

/// Plans the batch. `flags` computes the flags of a citizen message's text.
pub(crate) fn plan(
    items: &[IngestItem],
    mut found: Found,
    reopen_window: Duration,
    flags: impl Fn(&str) -> Vec<String>,
) -> Plan {
    let mut p = Plan::default();
    // Batch-local knowledge, on top of `found`.
    let mut stored_here: HashMap<(Uuid, String), usize> = HashMap::new();
    let mut children_here: HashMap<(Uuid, String), (i64, Uuid)> = HashMap::new();
    for item in items {
        let m = &item.message;
        let account = item.channel_account_id;
        let key = (account, m.platform_message_id.clone());
        if let Some(r) = found.existing.get(&key) {
            p.results.push(ItemResult::Existing(Box::new(r.clone())));
            continue;
        }
        if let Some(&i) = stored_here.get(&key) {
            p.results
                .push(ItemResult::Existing(Box::new(p.messages[i].clone())));
            continue;
        }
        let now = to_ms(item.received_at);
        let sent = to_ms(m.sent_at);

        // The author's identity: stored, made earlier in this batch, or new (recorded below,
        // once the message is known to be stored).
        let ident_key = (account, m.author.platform_user_id.clone());
        let known = found
            .identities
            .get(&ident_key)
            .map(|i| (i.id, i.contact_id));
        let (identity_id, contact_id) = known.unwrap_or_else(|| (Uuid::now_v7(), Uuid::now_v7()));

        // Threading evidence, as the one-message facts query would find it.
        let case_of = |id: Uuid, found: &Found, p: &Plan| -> Option<CandidateCase> {
            p.cases
                .get(&id)
                .or_else(|| found.cases.get(&id))
                .map(CaseState::candidate)
        };
        let parent = m.in_reply_to.as_ref().and_then(|r| {
            let k = (account, r.clone());
            stored_here
                .get(&k)
                .map(|&i| p.messages[i].case_id)
                .or_else(|| found.parents.get(&k).copied())
        });
        let conversation = m.conversation_key.as_ref().and_then(|c| {
            let k = (account, c.clone());
            p.threads
                .iter()
                .rev()
                .find(|t| t.0 == account && &t.1 == c)
                .map(|t| t.2)
                .or_else(|| {
                    p.thread_moves
                        .iter()
                        .rev()
                        .find(|t| t.account == account && &t.key == c)
                        .map(|t| t.to)
                })
                .or_else(|| found.threads.get(&k).copied())
        });
        let child = [
            found.children.get(&key).copied(),
            children_here.get(&key).copied(),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|c| c.0)
        .map(|c| c.1);
        let private = (m.visibility == Visibility::Private)
            .then(|| {
                let stored = found
                    .contact_cases
                    .get(&(account, contact_id))
                    .into_iter()
                    .flatten()
                    .copied();
                let here = p
                    .cases
                    .values()
                    .filter(|c| c.account == account && c.contact_id == contact_id)
                    .map(|c| c.id);
                stored
                    .chain(here)
                    .filter_map(|id| p.cases.get(&id).or_else(|| found.cases.get(&id)))
                    .filter(|c| c.status != CaseStatus::Closed)
                    .max_by_key(|c| c.last_message_at)
                    .map(|c| c.id)
            })
            .flatten();
        let facts = ThreadingFacts {
            parent: parent.and_then(|id| case_of(id, &found, &p)),
            conversation: conversation.and_then(|id| case_of(id, &found, &p)),
            child: child.and_then(|id| case_of(id, &found, &p)),
            author_active_private: private.and_then(|id| case_of(id, &found, &p)),
        };
        let decision = decide(m.visibility, &facts, m.sent_at, reopen_window);

        if m.direction == Direction::Outbound && decision == ThreadDecision::NewCase {
            // Our own messages never open a case.
            p.results
                .push(ItemResult::Failed(StoreError::NotFound(format!(
                    "no case for outbound message '{}'",
                    m.platform_message_id
                ))));
            continue;
        }

        match found.identities.get_mut(&ident_key) {
            Some(i) => {
                // Keep the newest handle and name the platform tells us.
                let handle = m.author.handle.clone().or(i.handle.clone());
                let name = m.author.display_name.clone().or(i.display_name.clone());
                if handle != i.handle || name != i.display_name {
                    i.handle = handle.clone();
                    i.display_name = name.clone();
                    if let Some(n) = p.identities.iter_mut().find(|n| n.id == i.id) {
                        n.handle = handle;
                        n.display_name = name;
                    } else {
                        p.identity_updates.insert(i.id, (handle, name));
                    }
                }
            }
            None => {
                p.contacts.push(NewContact {
                    id: contact_id,
                    display_name: m.author.display_name.clone().or(m.author.handle.clone()),
                });
                p.identities.push(NewIdentity {
                    id: identity_id,
                    contact_id,
                    account,
                    platform_user_id: m.author.platform_user_id.clone(),
                    handle: m.author.handle.clone(),
                    display_name: m.author.display_name.clone(),
                });
                found.identities.insert(
                    ident_key,
                    KnownIdentity {
                        id: identity_id,
                        contact_id,
                        handle: m.author.handle.clone(),
                        display_name: m.author.display_name.clone(),
                    },
                );
            }
        }

        let mut answered: Option<webcare_domain::survey::Answer> = None;
        let (case_id, new_case) = match decision {
            ThreadDecision::NewCase => {
                let id = Uuid::now_v7();
                p.cases.insert(
                    id,
                    CaseState {
                        id,
                        account,
                        contact_id,
                        status: CaseStatus::New,
                        resolved_at: None,
                        first_message_at: sent,
                        last_message_at: sent,
                        theme: None,
                        kind: None,
                        priority: "normal".into(),
                        team: item.default_team.clone(),
                        is_new: true,
                        touched: true,
                        citizen_joined: true,
                        inbox: None,
                    },
                );
                p.new_cases.push(id);
                (id, true)
            }
            ThreadDecision::Join(id) | ThreadDecision::Reopen(id) => {
                let mut c = p
                    .cases
                    .get(&id)
                    .or_else(|| found.cases.get(&id))
                    .cloned()
                    .expect("a candidate case comes from the found or planned cases");
                // A citizen message reopens a resolved case and takes a waiting one back to
                // open; an echo of ours changes no status. Times only move outward, so
                // out-of-order delivery gives the same result as in-order.
                // A score answering the case's survey is kept with the case and does not
                // reopen it (`webcare_domain::survey::answer_to` decides).
                let answer = (m.direction == Direction::Inbound)
                    .then(|| {
                        webcare_domain::survey::answer_to(
                            c.status,
                            found.surveys.get(&id).copied(),
                            &m.text,
                            m.sent_at,
                        )
                    })
                    .flatten();
                if let Some(a) = answer {
                    found.surveys.remove(&id);
                    answered = Some(a);
                } else if m.direction == Direction::Inbound {
                    c.citizen_joined = true;
                    if c.status == CaseStatus::Resolved && !p.reopened.contains(&id) {
                        p.reopened.push(id);
                    }
                    if c.status == CaseStatus::Resolved {
                        c.resolved_at = None;
                    }
                    if matches!(
                        c.status,
                        CaseStatus::Resolved | CaseStatus::WaitingOnCitizen
                    ) {
                        c.status = CaseStatus::Open;
                    }
                }
                c.first_message_at = c.first_message_at.min(sent);
                c.last_message_at = c.last_message_at.max(sent);
                c.touched = true;
                p.cases.insert(id, c);
                (id, false)
            }
        };

        if let Some(k) = &m.conversation_key {
            match conversation {
                None => p.threads.push((account, k.clone(), case_id)),
                // The thread's case can no longer be joined (closed, or resolved too long ago):
                // the thread continues in the new case.
                Some(old) if new_case => p.thread_moves.push(ThreadMove {
                    account,
                    key: k.clone(),
                    from: old,
                    to: case_id,
                }),
                Some(_) => {}
            }
        }

        if m.direction == Direction::Inbound {
            let c = p
                .cases
                .get_mut(&case_id)
                .expect("the message's case is planned");
            if c.inbox.as_ref().is_none_or(|l| l.at <= sent) {
                c.inbox = Some(crate::inbox_row::InboxLine::new(
                    sent,
                    &m.text,
                    &m.author,
                    &m.attachments,
                ));
            }
        }

        let record = MessageRecord {
            id: Uuid::now_v7(),
            case_id,
            channel_account_id: account,
            platform_message_id: m.platform_message_id.clone(),
            in_reply_to: m.in_reply_to.clone(),
            conversation_key: m.conversation_key.clone(),
            direction: m.direction,
            visibility: m.visibility,
            author: m.author.clone(),
            text: m.text.clone(),
            sent_at: stored(m.sent_at),
            received_at: from_ms(now),
            attachments: m.attachments.clone(),
            edit_history: Vec::<EditRecord>::new(),
            // The text's own flags (BSN) for a citizen's message, then what normalising it
            // corrected (`InboundMessage::normalise`).
            flags: {
                let mut f = if m.direction == Direction::Inbound {
                    flags(&m.text)
                } else {
                    Vec::new()
                };
                f.extend(m.flags.iter().cloned());
                f
            },
            deleted_at: None,
        };
        if let Some(r) = &m.in_reply_to {
            let k = (account, r.clone());
            let e = children_here.entry(k).or_insert((sent, case_id));
            if sent < e.0 {
                *e = (sent, case_id);
            }
        }
        if let Some(a) = answered {
            p.survey_answers.push(crate::surveys::PlannedAnswer {
                case_id,
                message_id: record.id,
                score: a.score,
                comment: a.comment,
                at: sent,
            });
        }
        let is_answer = p
            .survey_answers
            .last()
            .is_some_and(|a| a.message_id == record.id);
        stored_here.insert(key, p.messages.len());
        p.results.push(ItemResult::New {
            index: p.messages.len(),
            new_case,
        });
        p.messages.push(record);
        p.message_identities.push(identity_id);
        if m.direction == Direction::Inbound && !is_answer {
            // SLA clocks start at min(sentAt, receivedAt); a survey answer asks nothing.
            p.inbound
                .push((case_id, new_case, m.sent_at.min(item.received_at)));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use webcare_domain::inbound::{Author, InboundMessage};

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 9, min, 0).unwrap()
    }

    fn item(account: Uuid, id: &str, reply: Option<&str>, key: Option<&str>) -> IngestItem {
        IngestItem {
            channel_account_id: account,
            message: InboundMessage {
                platform_message_id: id.into(),
                in_reply_to: reply.map(Into::into),
                conversation_key: key.map(Into::into),
                visibility: Visibility::Public,
                direction: Direction::Inbound,
                author: Author {
                    platform_user_id: format!("author-of-{id}"),
                    handle: None,
                    display_name: Some("Jan".into()),
                },
                text: format!("bericht {id}"),
                sent_at: at(10),
                attachments: vec![],
                flags: Vec::new(),
            },
            received_at: at(11),
            default_team: Some("kcc".into()),
        }
    }

    fn run(items: &[IngestItem], found: Found) -> Plan {
        plan(items, found, Duration::days(7), |_| Vec::new())
    }

    /// A stored case of contact 8 on `account`, untouched by the batch.
    fn stored(id: Uuid, account: Uuid, status: CaseStatus, resolved_at: Option<i64>) -> CaseState {
        CaseState {
            id,
            account,
            contact_id: Uuid::from_u128(8),
            status,
            resolved_at,
            first_message_at: 0,
            last_message_at: 0,
            theme: None,
            kind: None,
            priority: "normal".into(),
            team: None,
            is_new: false,
            touched: false,
            citizen_joined: false,
            inbox: None,
        }
    }

    #[test]
    fn replies_inside_one_batch_join_the_first_message_and_duplicates_are_stored_once() {
        let a = Uuid::from_u128(1);
        let items = [
            item(a, "p", None, None),
            item(a, "c1", Some("p"), None),
            item(a, "c2", Some("c1"), None),
            item(a, "c1", Some("p"), None),
        ];
        let p = run(&items, Found::default());
        assert_eq!(p.messages.len(), 3);
        assert_eq!(p.new_cases.len(), 1, "one case for the whole chain");
        assert!(p.messages.iter().all(|m| m.case_id == p.new_cases[0]));
        match &p.results[3] {
            ItemResult::Existing(m) => assert_eq!(m.id, p.messages[1].id),
            other => panic!("the duplicate answers the first: {other:?}"),
        }
        assert_eq!(p.contacts.len(), 3, "one contact per author");
        assert_eq!(p.inbound.len(), 3, "clocks for every new citizen message");
    }

    #[test]
    fn a_child_earlier_in_the_batch_pulls_its_parent_into_its_case() {
        let a = Uuid::from_u128(1);
        let p = run(
            &[
                item(a, "child", Some("parent"), None),
                item(a, "parent", None, None),
            ],
            Found::default(),
        );
        assert_eq!(p.new_cases.len(), 1);
        assert_eq!(p.messages[0].case_id, p.messages[1].case_id);
    }

    #[test]
    fn a_thread_of_a_closed_case_moves_to_the_new_case() {
        let a = Uuid::from_u128(1);
        let closed = Uuid::from_u128(7);
        let mut found = Found::default();
        found.threads.insert((a, "fb:post:u".into()), closed);
        found
            .cases
            .insert(closed, stored(closed, a, CaseStatus::Closed, None));
        let p = run(
            &[
                item(a, "m1", None, Some("fb:post:u")),
                item(a, "m2", None, Some("fb:post:u")),
            ],
            found,
        );
        assert_eq!(
            p.new_cases.len(),
            1,
            "the second message joins the new case"
        );
        assert_eq!(
            p.thread_moves,
            vec![ThreadMove {
                account: a,
                key: "fb:post:u".into(),
                from: closed,
                to: p.new_cases[0]
            }]
        );
        assert!(p.threads.is_empty());
    }

    #[test]
    fn an_echo_with_no_case_fails_alone() {
        let a = Uuid::from_u128(1);
        let mut echo = item(a, "ours", None, None);
        echo.message.direction = Direction::Outbound;
        let p = run(&[echo, item(a, "theirs", None, None)], Found::default());
        assert!(matches!(
            p.results[0],
            ItemResult::Failed(StoreError::NotFound(_))
        ));
        assert!(matches!(
            p.results[1],
            ItemResult::New { new_case: true, .. }
        ));
        assert_eq!(p.messages.len(), 1);
        assert_eq!(
            p.contacts.len(),
            1,
            "no contact for a message that is not stored"
        );
    }

    fn resolved_case_with_a_survey(a: Uuid, case: Uuid) -> Found {
        let mut found = Found::default();
        found.parents.insert((a, "q".into()), case);
        found.cases.insert(
            case,
            stored(case, a, CaseStatus::Resolved, Some(to_ms(at(0)))),
        );
        found.surveys.insert(
            case,
            webcare_domain::survey::PendingSurvey {
                kind: webcare_domain::survey::SurveyKind::Csat,
                sent_at: at(5),
                window: Duration::days(7),
            },
        );
        found
    }

    fn reply_to_survey(a: Uuid, id: &str, text: &str) -> IngestItem {
        let mut i = item(a, id, Some("q"), None);
        i.message.text = text.into();
        i
    }

    #[test]
    fn a_score_answers_the_survey_without_reopening_and_a_question_reopens() {
        let a = Uuid::from_u128(1);
        let case = Uuid::from_u128(7);
        let p = run(
            &[reply_to_survey(a, "s", "4, snel geholpen")],
            resolved_case_with_a_survey(a, case),
        );
        assert_eq!(p.cases[&case].status, CaseStatus::Resolved);
        assert!(
            !p.cases[&case].citizen_joined,
            "the write must not reopen it"
        );
        assert_eq!(p.survey_answers.len(), 1);
        let ans = &p.survey_answers[0];
        assert_eq!((ans.case_id, ans.score), (case, 4));
        assert_eq!(ans.comment.as_deref(), Some("snel geholpen"));
        assert_eq!(ans.message_id, p.messages[0].id);
        assert!(p.inbound.is_empty(), "an answer starts no reaction clock");
        assert!(p.reopened.is_empty());

        // A question instead reopens, as any citizen message does.
        let p = run(
            &[reply_to_survey(
                a,
                "s",
                "Wanneer wordt mijn container geleegd?",
            )],
            resolved_case_with_a_survey(a, case),
        );
        assert_eq!(p.cases[&case].status, CaseStatus::Open);
        assert!(p.survey_answers.is_empty());
        assert_eq!(p.reopened, vec![case]);
        assert_eq!(p.inbound.len(), 1);

        // Only the first score answers; a second message in the same batch reopens.
        let p = run(
            &[
                reply_to_survey(a, "s1", "5"),
                reply_to_survey(a, "s2", "en nog iets"),
            ],
            resolved_case_with_a_survey(a, case),
        );
        assert_eq!(p.survey_answers.len(), 1);
        assert_eq!(p.cases[&case].status, CaseStatus::Open);
    }

    proptest::proptest! {
        /// Whatever the text, a message on the resolved case either answers (and the case stays
        /// resolved, with no clock) or reopens it, never both and never neither; and it answers
        /// exactly when the domain reads a score.
        #[test]
        fn a_message_on_a_surveyed_case_answers_or_reopens(text in "[0-9a-z ,./!]{0,16}") {
            let a = Uuid::from_u128(1);
            let case = Uuid::from_u128(7);
            let p = run(&[reply_to_survey(a, "s", &text)], resolved_case_with_a_survey(a, case));
            let score = webcare_domain::survey::parse_answer(webcare_domain::survey::SurveyKind::Csat, &text);
            proptest::prop_assert_eq!(p.survey_answers.len() == 1, score.is_some());
            proptest::prop_assert_eq!(p.reopened.len() == 1, score.is_none());
            let status = p.cases[&case].status;
            proptest::prop_assert_eq!(status == CaseStatus::Resolved, score.is_some());
            proptest::prop_assert_eq!(p.inbound.is_empty(), score.is_some());
        }
    }
}
