//! The store contract: every test here runs against SQLite and against PostgreSQL.

use chrono::{DateTime, Duration, TimeZone, Utc};
use std::sync::Arc;
use uuid::Uuid;
use webcare_domain::inbound::{Author, DeliveryState, InboundMessage};
use webcare_domain::survey::SurveyState;
use webcare_domain::{CaseStatus, ChannelKind, Direction, Role, Visibility};
use webcare_store::testing::{fresh_database_url, Backend};
use webcare_store::versions::NewVersion;
use webcare_store::*;

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::run(webcare_store::testing::Backend::Sqlite, super::$name).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::run(webcare_store::testing::Backend::Postgres, super::$name).await } )*
        }
    };
}

contract!(
    channel_accounts_crud,
    channel_account_external_ids_are_unique_while_live,
    a_new_message_opens_a_case_with_a_contact,
    the_same_platform_id_is_stored_once,
    duplicates_inside_one_batch_are_stored_once,
    replies_join_their_parents_case,
    a_parent_that_arrives_after_its_child_joins_the_childs_case,
    conversation_keys_thread_messages,
    private_messages_join_the_authors_active_case,
    public_mentions_without_a_thread_open_new_cases,
    bsn_in_text_is_flagged,
    case_list_filters_and_paginates_stably,
    tokens_are_found_by_hash,
    user_tokens_are_listed_touched_and_revoked,
    text_is_kept_byte_exact,
    a_batch_threads_exactly_like_one_message_at_a_time,
    a_thread_continues_in_a_new_case_after_its_case_is_closed,
    an_echo_without_a_case_fails_alone_in_its_batch,
    one_auto_reply_per_case_under_concurrency,
    replies_keep_their_template_and_canned_answer,
    two_replies_may_share_a_platform_id_and_in_doubt_claims_are_attempts,
    appended_events_reach_subscribers,
    a_batch_of_events_is_numbered_in_order_and_queued_per_webhook,
    get_cases_answers_the_cases_that_exist,
    the_inbox_row_says_what_the_case_is,
    the_inbox_row_follows_edits_and_deletes,
    routing_rules_route_new_cases_in_the_ingest_transaction,
    one_zaak_create_per_case_and_its_jobs_in_order,
    one_job_at_a_time_makes_a_contacts_partij,
    zgw_settings_are_versioned_and_the_abonnement_is_one_row,
    a_survey_is_scheduled_once_and_its_answer_does_not_reopen,
    a_contact_gets_one_survey_per_period_and_a_reopen_withdraws_an_unsent_one,
    the_case_row_shows_its_clocks_by_one_rule,
    the_oldest_unanswered_message_is_found_past_a_page_of_answered_cases,
);

async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(url) = fresh_database_url(backend).await else {
        return;
    };
    let store = connect(
        &url,
        ConnectOptions {
            max_connections: 4,
            ..Default::default()
        },
    )
    .await
    .expect("connect and migrate");
    store.ready().await.expect("ready after migrations");
    test(store.clone()).await;
    store.close().await;
}

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, h, m, 0).unwrap()
}

async fn account(store: &Arc<dyn Store>, kind: ChannelKind, ext: &str) -> ChannelAccount {
    store
        .create_channel_account(NewChannelAccount {
            kind,
            name: format!("Gemeente {ext}"),
            external_id: ext.into(),
            api_base_url: None,
            credentials: Credentials([("appSecret".to_string(), "s3cret".to_string())].into()),
            callback_url: None,
            calendar_id: None,
            default_team: Some("kcc".into()),
            settings: Default::default(),
        })
        .await
        .expect("create account")
}

fn msg(id: &str, user: &str, vis: Visibility) -> InboundMessage {
    InboundMessage {
        platform_message_id: id.into(),
        in_reply_to: None,
        conversation_key: None,
        visibility: vis,
        direction: Direction::Inbound,
        author: Author {
            platform_user_id: user.into(),
            handle: Some(format!("@{user}")),
            display_name: Some(format!("Burger {user}")),
        },
        text: format!("bericht {id}"),
        sent_at: t(9, 15),
        attachments: vec![],
        flags: Vec::new(),
    }
}

/// The first 50 cases that match `filter`, newest first.
async fn first_cases(store: &Arc<dyn Store>, filter: CaseFilter) -> Vec<CaseRecord> {
    let first = PageRequest {
        limit: 50,
        ..Default::default()
    };
    store.list_cases(filter, first).await.unwrap().items
}

/// A token of agent `user_id` with this secret.
async fn agent_token(
    store: &Arc<dyn Store>,
    user_id: Uuid,
    name: &str,
    secret: &str,
) -> TokenRecord {
    let token_hash = webcare_store::token::hash(secret);
    let t = NewToken {
        user_id: Some(user_id),
        name,
        role: Role::Agent,
        token_hash: &token_hash,
    };
    store.add_token(t).await.unwrap()
}

async fn ingest(store: &Arc<dyn Store>, account: Uuid, m: InboundMessage) -> IngestOutcome {
    let mut out = store
        .ingest_batch(vec![IngestItem {
            channel_account_id: account,
            message: m,
            received_at: Utc::now(),
            default_team: Some("kcc".into()),
        }])
        .await;
    out.remove(0).expect("ingest")
}

async fn channel_accounts_crud(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::FacebookPage, "1001").await;
    assert_eq!(a.kind, ChannelKind::FacebookPage);
    assert_eq!(store.get_channel_account(a.id).await.unwrap().unwrap(), a);
    let patched = store
        .update_channel_account(
            a.id,
            ChannelAccountPatch {
                name: Some("Stadsbeheer".into()),
                credentials: Some(Credentials(
                    [("verifyToken".to_string(), "v".to_string())].into(),
                )),
                api_base_url: Some(Some("http://127.0.0.1:1".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(patched.name, "Stadsbeheer");
    assert_eq!(
        patched.credentials.get("appSecret"),
        Some("s3cret"),
        "other keys stay"
    );
    assert_eq!(patched.credentials.get("verifyToken"), Some("v"));
    assert!(
        !format!("{:?}", patched.credentials).contains("s3cret"),
        "Debug redacts secrets"
    );
    let list = store
        .list_channel_accounts(PageRequest {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(store.delete_channel_account(a.id).await.unwrap());
    assert!(
        !store.delete_channel_account(a.id).await.unwrap(),
        "second delete finds nothing"
    );
    assert!(store.get_channel_account(a.id).await.unwrap().is_none());
    assert!(store
        .update_channel_account(Uuid::now_v7(), Default::default())
        .await
        .unwrap()
        .is_none());
}

async fn channel_account_external_ids_are_unique_while_live(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::X, "42").await;
    let err = store
        .create_channel_account(NewChannelAccount::new(ChannelKind::X, "again", "42"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // Same id on another platform is fine; after a delete the id is free again.
    account(&store, ChannelKind::Instagram, "42").await;
    store.delete_channel_account(a.id).await.unwrap();
    account(&store, ChannelKind::X, "42").await;
}

async fn a_new_message_opens_a_case_with_a_contact(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let out = ingest(&store, a.id, msg("web-1", "u-1", Visibility::Public)).await;
    assert!(out.created && out.new_case);
    let case = store.get_case(out.message.case_id).await.unwrap().unwrap();
    assert_eq!(case.status, CaseStatus::New);
    assert_eq!(case.team.as_deref(), Some("kcc"));
    assert_eq!(case.first_message_at, t(9, 15));
    let contact = store.get_contact(case.contact_id).await.unwrap().unwrap();
    assert_eq!(contact.display_name.as_deref(), Some("Burger u-1"));
    assert_eq!(contact.identities.len(), 1);
    assert_eq!(contact.identities[0].handle.as_deref(), Some("@u-1"));
    let messages = store.case_messages(case.id).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0], out.message);
}

async fn the_same_platform_id_is_stored_once(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let first = ingest(&store, a.id, msg("web-1", "u-1", Visibility::Public)).await;
    let mut changed = msg("web-1", "u-1", Visibility::Public);
    changed.text = "another text with the same id".into();
    let again = ingest(&store, a.id, changed).await;
    assert!(!again.created && !again.new_case);
    assert_eq!(
        again.message, first.message,
        "the stored message is answered unchanged"
    );
    assert_eq!(store.count_messages().await.unwrap(), 1);
    assert_eq!(store.count_cases().await.unwrap(), 1);
    // The same platform id on another account is another message.
    let b = account(&store, ChannelKind::Api, "web2").await;
    assert!(
        ingest(&store, b.id, msg("web-1", "u-1", Visibility::Public))
            .await
            .created
    );
}

async fn duplicates_inside_one_batch_are_stored_once(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let item = |id: &str| IngestItem {
        channel_account_id: a.id,
        message: msg(id, "u-1", Visibility::Public),
        received_at: Utc::now(),
        default_team: None,
    };
    let out = store
        .ingest_batch(vec![item("m1"), item("m2"), item("m1")])
        .await;
    let out: Vec<_> = out.into_iter().map(|r| r.unwrap()).collect();
    assert!(out[0].created && out[1].created && !out[2].created);
    assert_eq!(out[0].message.id, out[2].message.id);
    assert_eq!(store.count_messages().await.unwrap(), 2);
}

async fn replies_join_their_parents_case(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let root = ingest(&store, a.id, msg("p", "u-1", Visibility::Public)).await;
    let mut reply = msg("c", "u-2", Visibility::Public);
    reply.in_reply_to = Some("p".into());
    let child = ingest(&store, a.id, reply).await;
    assert_eq!(child.message.case_id, root.message.case_id);
    assert!(!child.new_case);
}

async fn a_parent_that_arrives_after_its_child_joins_the_childs_case(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let mut reply = msg("c", "u-1", Visibility::Public);
    reply.in_reply_to = Some("p".into());
    reply.sent_at = t(9, 20);
    let child = ingest(&store, a.id, reply).await;
    let mut parent = msg("p", "u-1", Visibility::Public);
    parent.sent_at = t(9, 10);
    let parent = ingest(&store, a.id, parent).await;
    assert_eq!(parent.message.case_id, child.message.case_id);
    let case = store
        .get_case(child.message.case_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        case.first_message_at,
        t(9, 10),
        "out-of-order delivery moves the start back"
    );
    assert_eq!(case.last_message_at, t(9, 20));
    let ids: Vec<_> = store
        .case_messages(case.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.platform_message_id)
        .collect();
    assert_eq!(ids, ["p", "c"], "messages in platform-time order");
}

async fn conversation_keys_thread_messages(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::X, "our-id").await;
    let mut m1 = msg("t1", "u-1", Visibility::Public);
    m1.conversation_key = Some("x:conv:100".into());
    let mut m2 = msg("t2", "u-1", Visibility::Public);
    m2.conversation_key = Some("x:conv:100".into());
    let mut m3 = msg("t3", "u-1", Visibility::Public);
    m3.conversation_key = Some("x:conv:200".into());
    let o1 = ingest(&store, a.id, m1).await;
    let o2 = ingest(&store, a.id, m2).await;
    let o3 = ingest(&store, a.id, m3).await;
    assert_eq!(o1.message.case_id, o2.message.case_id);
    assert_ne!(o1.message.case_id, o3.message.case_id);
}

async fn private_messages_join_the_authors_active_case(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Whatsapp, "1099").await;
    let o1 = ingest(
        &store,
        a.id,
        msg("wamid.1", "31612345678", Visibility::Private),
    )
    .await;
    let o2 = ingest(
        &store,
        a.id,
        msg("wamid.2", "31612345678", Visibility::Private),
    )
    .await;
    let o3 = ingest(
        &store,
        a.id,
        msg("wamid.3", "31687654321", Visibility::Private),
    )
    .await;
    assert_eq!(o1.message.case_id, o2.message.case_id);
    assert_ne!(
        o1.message.case_id, o3.message.case_id,
        "another citizen, another case"
    );
    let case = store.get_case(o1.message.case_id).await.unwrap().unwrap();
    let contact = store.get_contact(case.contact_id).await.unwrap().unwrap();
    assert_eq!(
        contact.identities.len(),
        1,
        "one identity per platform user"
    );
}

async fn public_mentions_without_a_thread_open_new_cases(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::X, "our-id").await;
    let o1 = ingest(&store, a.id, msg("t1", "u-1", Visibility::Public)).await;
    let o2 = ingest(&store, a.id, msg("t2", "u-1", Visibility::Public)).await;
    assert_ne!(o1.message.case_id, o2.message.case_id);
}

async fn bsn_in_text_is_flagged(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let mut m = msg("b1", "u-1", Visibility::Public);
    m.text = "Mijn BSN is 123456782, waar blijft mijn paspoort?".into();
    let out = ingest(&store, a.id, m).await;
    assert_eq!(out.message.flags, ["bsn"]);
    let clean = ingest(&store, a.id, msg("b2", "u-1", Visibility::Public)).await;
    assert!(clean.message.flags.is_empty());
}

async fn case_list_filters_and_paginates_stably(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let b = account(&store, ChannelKind::X, "x1").await;
    for i in 0..7 {
        ingest(&store, a.id, msg(&format!("a{i}"), "u", Visibility::Public)).await;
    }
    ingest(&store, b.id, msg("b0", "u", Visibility::Public)).await;
    let filter = CaseFilter {
        channel_account_id: Some(a.id),
        ..Default::default()
    };
    let page = |after| {
        let (store, filter) = (store.clone(), filter.clone());
        async move {
            let req = PageRequest {
                limit: 3,
                after,
                ..Default::default()
            };
            store.list_cases(filter, req).await.unwrap()
        }
    };
    let p1 = page(None).await;
    assert_eq!(p1.items.len(), 3);
    // A case arriving between pages does not shift the next page (keyset, newest first).
    ingest(&store, a.id, msg("late", "u", Visibility::Public)).await;
    let p2 = page(p1.next_after).await;
    let p3 = page(p2.next_after).await;
    assert_eq!(p3.items.len(), 1);
    assert!(p3.next_after.is_none());
    let mut ids: Vec<Uuid> = [p1.items, p2.items, p3.items]
        .concat()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids.len(), 7);
    let sorted = {
        let mut s = ids.clone();
        s.sort();
        s.reverse();
        s
    };
    assert_eq!(ids, sorted, "newest first, by id");
    ids.dedup();
    assert_eq!(ids.len(), 7);
    let unassigned = CaseFilter {
        assignee: Some(None),
        status: Some(CaseStatus::New),
        ..Default::default()
    };
    assert_eq!(first_cases(&store, unassigned).await.len(), 9);
    let annas = CaseFilter {
        assignee: Some(Some("anna".into())),
        ..Default::default()
    };
    assert!(first_cases(&store, annas).await.is_empty());
    let oldest = store
        .list_cases(
            CaseFilter::default(),
            PageRequest {
                limit: 1,
                sort: CaseSort::Oldest,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.case_messages(oldest.items[0].id).await.unwrap()[0].platform_message_id,
        "a0"
    );
    let _ = Duration::zero();
}

async fn tokens_are_found_by_hash(store: Arc<dyn Store>) {
    let token = webcare_store::token::generate();
    let rec = store
        .create_token("ci", Role::Integration, &webcare_store::token::hash(&token))
        .await
        .unwrap();
    let found = store
        .find_token(&webcare_store::token::hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, rec);
    assert!(store
        .find_token(&webcare_store::token::hash("wc_other"))
        .await
        .unwrap()
        .is_none());
}

async fn user_tokens_are_listed_touched_and_revoked(store: Arc<dyn Store>) {
    let now = Utc::now();
    let user = |email: &str| webcare_store::agent::UserRecord {
        id: Uuid::nil(),
        name: email.into(),
        email: email.into(),
        subject: None,
        role: Role::Agent,
        teams: vec![],
        department_id: None,
        active: true,
        created_at: now,
        updated_at: now,
    };
    let anna = store.create_user(user("anna@gemeente.test")).await.unwrap();
    let bob = store.create_user(user("bob@gemeente.test")).await.unwrap();
    let hash = |s: &str| webcare_store::token::hash(s);
    let a1 = agent_token(&store, anna.id, "laptop", "wc_a1").await;
    let a2 = agent_token(&store, anna.id, "telefoon", "wc_a2").await;
    let b1 = agent_token(&store, bob.id, "laptop", "wc_b1").await;
    let ci = store
        .create_token("ci", Role::Integration, &hash("wc_ci"))
        .await
        .unwrap();
    assert_eq!(a1.user_id, Some(anna.id));
    assert_eq!(ci.user_id, None);
    assert_eq!(a1.last_used_at, None);
    let found = store.find_token(&hash("wc_a1")).await.unwrap().unwrap();
    assert_eq!(found, a1);

    // Anna's live tokens, paged in id order; everyone's for the admin.
    let p1 = store.list_tokens(Some(anna.id), None, 1).await.unwrap();
    assert_eq!(p1.items, vec![a1.clone()]);
    let p2 = store
        .list_tokens(Some(anna.id), p1.next_after, 1)
        .await
        .unwrap();
    assert_eq!(p2.items, vec![a2.clone()]);
    assert_eq!(p2.next_after, None);
    let all = store.list_tokens(None, None, 50).await.unwrap();
    let ids: Vec<Uuid> = all.items.iter().map(|t| t.id).collect();
    for t in [&a1, &a2, &b1, &ci] {
        assert!(ids.contains(&t.id));
    }

    // A use is recorded once per interval, not on every call.
    let t0 = Utc.timestamp_millis_opt(now.timestamp_millis()).unwrap();
    store
        .touch_token(a1.id, t0, Duration::seconds(60))
        .await
        .unwrap();
    store
        .touch_token(a1.id, t0 + Duration::seconds(10), Duration::seconds(60))
        .await
        .unwrap();
    let got = store.get_token(a1.id).await.unwrap().unwrap();
    assert_eq!(got.last_used_at, Some(t0));
    store
        .touch_token(a1.id, t0 + Duration::seconds(61), Duration::seconds(60))
        .await
        .unwrap();
    let got = store.get_token(a1.id).await.unwrap().unwrap();
    assert_eq!(got.last_used_at, Some(t0 + Duration::seconds(61)));

    // Revoked: not found by hash, not listed, revoked once.
    assert!(store.revoke_token(a1.id).await.unwrap());
    assert!(!store.revoke_token(a1.id).await.unwrap());
    assert!(store.find_token(&hash("wc_a1")).await.unwrap().is_none());
    assert!(store
        .get_token(a1.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    let left = store.list_tokens(Some(anna.id), None, 50).await.unwrap();
    assert_eq!(left.items, vec![a2]);
    assert!(!store.revoke_token(Uuid::now_v7()).await.unwrap());
}

async fn text_is_kept_byte_exact(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let text = "Gezin 👨‍👩‍👧‍👦 ❤️‍🔥 🇳🇱 👍🏽 مرحبا straat\u{200F} \"quotes\" \\ \n nieuwe regel";
    let mut m = msg("e1", "u", Visibility::Public);
    m.text = text.into();
    let out = ingest(&store, a.id, m).await;
    let back = store.case_messages(out.message.case_id).await.unwrap();
    assert_eq!(back[0].text.as_bytes(), text.as_bytes());
}

/// A delivery sequence with every kind of threading evidence, on account `a`.
fn threading_sequence() -> Vec<InboundMessage> {
    let mut v = Vec::new();
    let mut m = |id: &str,
                 user: &str,
                 vis: Visibility,
                 reply: Option<&str>,
                 key: Option<&str>,
                 min: u32| {
        let mut x = msg(id, user, vis);
        x.in_reply_to = reply.map(Into::into);
        x.conversation_key = key.map(Into::into);
        x.sent_at = t(9, min);
        v.push(x);
    };
    m(
        "post-1-c1",
        "u1",
        Visibility::Public,
        Some("post-1"),
        Some("fb:post-1:u1"),
        1,
    );
    m(
        "post-1-c2",
        "u2",
        Visibility::Public,
        Some("post-1-c1"),
        None,
        2,
    );
    m(
        "post-1-c3",
        "u1",
        Visibility::Public,
        Some("post-1"),
        Some("fb:post-1:u1"),
        3,
    );
    // A child before its parent, both in the sequence.
    m(
        "late-child",
        "u3",
        Visibility::Public,
        Some("late-parent"),
        None,
        5,
    );
    m("late-parent", "u3", Visibility::Public, None, None, 4);
    // Private follow-ups join the author's active case; a public one does not.
    m("dm-1", "u4", Visibility::Private, None, None, 6);
    m("dm-2", "u4", Visibility::Private, None, None, 7);
    m("pub-u4", "u4", Visibility::Public, None, None, 8);
    m("dm-3", "u4", Visibility::Private, Some("dm-1"), None, 9);
    // Duplicates.
    m("dm-2", "u4", Visibility::Private, None, None, 7);
    m(
        "post-1-c2",
        "u2",
        Visibility::Public,
        Some("post-1-c1"),
        None,
        2,
    );
    // A DM from the author of a public comment.
    m("dm-u1", "u1", Visibility::Private, None, None, 10);
    m("x-1", "u5", Visibility::Public, None, Some("x:conv:1"), 11);
    m(
        "x-2",
        "u6",
        Visibility::Public,
        Some("x-1"),
        Some("x:conv:1"),
        12,
    );
    m("x-3", "u7", Visibility::Public, None, Some("x:conv:1"), 13);
    v
}

/// pmid -> index of its case among the cases in first-seen order: a partition that can be
/// compared between accounts.
fn partition(outcomes: &[IngestOutcome]) -> Vec<(String, usize, bool)> {
    let mut cases: Vec<Uuid> = Vec::new();
    outcomes
        .iter()
        .map(|o| {
            let i = cases
                .iter()
                .position(|c| *c == o.message.case_id)
                .unwrap_or_else(|| {
                    cases.push(o.message.case_id);
                    cases.len() - 1
                });
            (o.message.platform_message_id.clone(), i, o.created)
        })
        .collect()
}

async fn a_batch_threads_exactly_like_one_message_at_a_time(store: Arc<dyn Store>) {
    let one = account(&store, ChannelKind::FacebookPage, "page-1").await;
    let all = account(&store, ChannelKind::FacebookPage, "page-2").await;
    let mut singles = Vec::new();
    for m in threading_sequence() {
        singles.push(ingest(&store, one.id, m).await);
    }
    let items = threading_sequence()
        .into_iter()
        .map(|m| IngestItem {
            channel_account_id: all.id,
            message: m,
            received_at: Utc::now(),
            default_team: Some("kcc".into()),
        })
        .collect();
    let batch: Vec<IngestOutcome> = store
        .ingest_batch(items)
        .await
        .into_iter()
        .map(|r| r.expect("batch item"))
        .collect();
    assert_eq!(partition(&batch), partition(&singles));
    // Spot checks of the partition itself.
    let p = partition(&batch);
    let case_of = |id: &str| p.iter().find(|x| x.0 == id).unwrap().1;
    assert_eq!(case_of("post-1-c1"), case_of("post-1-c3"));
    assert_eq!(case_of("post-1-c1"), case_of("post-1-c2"));
    assert_eq!(case_of("late-child"), case_of("late-parent"));
    assert_eq!(case_of("dm-1"), case_of("dm-2"));
    assert_eq!(case_of("dm-1"), case_of("dm-3"));
    assert_ne!(case_of("dm-1"), case_of("pub-u4"));
    // A private message joins the author's active case on the account, whatever its channel
    // visibility: the citizen who commented and then writes a DM is one conversation.
    assert_eq!(case_of("dm-u1"), case_of("post-1-c1"));
    assert_eq!(case_of("x-1"), case_of("x-3"));
    assert_eq!(
        batch.iter().filter(|o| !o.created).count(),
        2,
        "two duplicates"
    );
    // The same cases with the same times and clocks.
    for (a, b) in singles.iter().zip(&batch).filter(|(a, _)| a.created) {
        let (ca, cb) = (
            store.get_case(a.message.case_id).await.unwrap().unwrap(),
            store.get_case(b.message.case_id).await.unwrap().unwrap(),
        );
        assert_eq!(
            (
                ca.status,
                ca.first_message_at,
                ca.last_message_at,
                ca.due_at
            ),
            (
                cb.status,
                cb.first_message_at,
                cb.last_message_at,
                cb.due_at
            ),
            "{}",
            a.message.platform_message_id
        );
        let kinds = |v: Vec<webcare_store::sla::ClockRecord>| {
            let mut k: Vec<_> = v
                .into_iter()
                .map(|c| (c.kind, c.run, c.started_at, c.due_at))
                .collect();
            k.sort_by_key(|x| (x.0 as u8, x.1));
            k
        };
        assert_eq!(
            kinds(store.case_clocks(ca.id).await.unwrap()),
            kinds(store.case_clocks(cb.id).await.unwrap())
        );
    }
    let contacts_one = singles
        .iter()
        .map(|o| o.message.author.platform_user_id.clone());
    assert_eq!(
        store.count_messages().await.unwrap() as usize,
        2 * contacts_one.len() - 4,
        "every unique message stored once per account"
    );
}

async fn a_thread_continues_in_a_new_case_after_its_case_is_closed(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::FacebookPage, "page-1").await;
    let mut first = msg("c1", "u1", Visibility::Public);
    first.conversation_key = Some("fb:post-9:u1".into());
    let first = ingest(&store, a.id, first).await;
    let case = store
        .get_case(first.message.case_id)
        .await
        .unwrap()
        .unwrap();
    let mut w = webcare_store::agent::CaseWrite::new(case);
    w.after.status = CaseStatus::Closed;
    store.write_case(w).await.expect("close the case");

    let mut again = msg("c2", "u1", Visibility::Public);
    again.conversation_key = Some("fb:post-9:u1".into());
    again.sent_at = t(10, 0);
    let again = ingest(&store, a.id, again).await;
    assert!(again.new_case, "a closed case is never joined");
    let mut third = msg("c3", "u1", Visibility::Public);
    third.conversation_key = Some("fb:post-9:u1".into());
    third.sent_at = t(10, 5);
    let third = ingest(&store, a.id, third).await;
    assert_eq!(
        third.message.case_id, again.message.case_id,
        "the thread now lives in the new case"
    );
}

async fn an_echo_without_a_case_fails_alone_in_its_batch(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::FacebookPage, "page-1").await;
    let mut echo = msg("our-post", "page-1", Visibility::Public);
    echo.direction = Direction::Outbound;
    let item = |m: InboundMessage| IngestItem {
        channel_account_id: a.id,
        message: m,
        received_at: Utc::now(),
        default_team: None,
    };
    let out = store
        .ingest_batch(vec![
            item(msg("m1", "u1", Visibility::Public)),
            item(echo),
            item(msg("m2", "u2", Visibility::Public)),
        ])
        .await;
    assert!(out[0].as_ref().unwrap().created);
    assert!(
        matches!(out[1], Err(StoreError::NotFound(_))),
        "{:?}",
        out[1]
    );
    assert!(out[2].as_ref().unwrap().created);
    assert_eq!(store.count_messages().await.unwrap(), 2);
}

fn new_reply(case: &CaseRecord, auto: bool) -> connectors::NewReply {
    connectors::NewReply {
        id: Uuid::now_v7(),
        case_id: case.id,
        channel_account_id: case.channel_account_id,
        text: "Bedankt voor uw bericht. We zijn nu gesloten.".into(),
        visibility: Visibility::Private,
        in_reply_to: None,
        recipient: Some("u1".into()),
        process_answer: false,
        author: "system:auto-reply".into(),
        canned_answer_id: None,
        whatsapp_template: None,
        auto_reply: auto,
    }
}

async fn one_auto_reply_per_case_under_concurrency(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Whatsapp, "wa-1").await;
    let out = ingest(&store, a.id, msg("m1", "u1", Visibility::Private)).await;
    let case = store.get_case(out.message.case_id).await.unwrap().unwrap();
    // Eight writers race to queue the case's auto-reply, each with its own id.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, n) = (store.clone(), new_reply(&case, true));
            tokio::spawn(async move { store.enqueue_reply(n).await })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (r, c) = t
            .await
            .unwrap()
            .expect("no error: the loser gets the stored one");
        created += usize::from(c);
        ids.insert(r.id);
        assert!(r.auto_reply);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1, "every caller sees the one auto-reply");
    // Agent replies are not limited.
    for _ in 0..2 {
        let (_, c) = store.enqueue_reply(new_reply(&case, false)).await.unwrap();
        assert!(c);
    }
    let replies = store.case_replies(case.id).await.unwrap();
    assert_eq!(replies.len(), 3);
    assert_eq!(replies.iter().filter(|r| r.auto_reply).count(), 1);
    // Sending it records an outbound message flagged as the auto-reply.
    let auto = replies.iter().find(|r| r.auto_reply).unwrap();
    store
        .claim_replies(Utc::now(), Duration::seconds(30), 10)
        .await
        .unwrap();
    store
        .reply_sent(auto.id, "wamid.AUTO", "wa-1", Utc::now(), None)
        .await
        .unwrap();
    let msgs = store.case_messages(case.id).await.unwrap();
    let sent = msgs
        .iter()
        .find(|m| m.platform_message_id == "wamid.AUTO")
        .unwrap();
    assert_eq!(sent.direction, Direction::Outbound);
    assert_eq!(sent.flags, vec!["auto_reply".to_string()]);
}

async fn replies_keep_their_template_and_canned_answer(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Whatsapp, "wa-2").await;
    let out = ingest(&store, a.id, msg("m1", "u1", Visibility::Private)).await;
    let case = store.get_case(out.message.case_id).await.unwrap().unwrap();
    let template = connectors::ReplyTemplate {
        name: "afspraak_herinnering".into(),
        language: "nl".into(),
        parameters: vec!["Sanne".into(), "dinsdag 10:00".into()],
    };
    let canned = Uuid::now_v7();
    let mut n = new_reply(&case, false);
    n.text = String::new();
    n.whatsapp_template = Some(template.clone());
    n.canned_answer_id = Some(canned);
    let (r, created) = store.enqueue_reply(n).await.unwrap();
    assert!(created);
    let r = store.get_reply(r.id).await.unwrap().unwrap();
    assert_eq!(r.whatsapp_template.as_ref(), Some(&template));
    assert_eq!(r.canned_answer_id, Some(canned));
    assert!(!r.auto_reply);
    // What went out (the template) is what the case's history shows.
    store
        .claim_replies(Utc::now(), Duration::seconds(30), 10)
        .await
        .unwrap();
    store
        .reply_sent(
            r.id,
            "wamid.T1",
            "wa-2",
            Utc::now(),
            Some(&template.describe()),
        )
        .await
        .unwrap();
    let msgs = store.case_messages(case.id).await.unwrap();
    let sent = msgs
        .iter()
        .find(|m| m.platform_message_id == "wamid.T1")
        .unwrap();
    assert_eq!(
        sent.text,
        "[WhatsApp-sjabloon afspraak_herinnering (nl): Sanne | dinsdag 10:00]"
    );
    assert!(sent.flags.is_empty());
    // Statuses: a change is reported as one, a repeat or an older status is not.
    use webcare_domain::inbound::DeliveryState;
    let s = store
        .apply_status(a.id, "wamid.T1", DeliveryState::Delivered, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.reply_id, s.case_id, s.state, s.changed),
        (r.id, case.id, DeliveryState::Delivered, true)
    );
    let s = store
        .apply_status(a.id, "wamid.T1", DeliveryState::Sent, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s.state, s.changed), (DeliveryState::Delivered, false));
    assert!(store
        .apply_status(a.id, "wamid.NOPE", DeliveryState::Read, None)
        .await
        .unwrap()
        .is_none());
}

async fn appended_events_reach_subscribers(store: Arc<dyn Store>) {
    let mut rx = store.subscribe_events();
    let e = store
        .append_event(agent_events::NewEvent {
            kind: "reply.updated".into(),
            case_id: None,
            team: Some("kcc".into()),
            assignee: None,
            department_id: None,
            payload: serde_json::json!({"state": "sent"}),
        })
        .await
        .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv())
        .await
        .expect("in time")
        .unwrap();
    assert_eq!(got, e);
    assert_eq!(store.events_after(e.seq - 1, 10).await.unwrap(), vec![e]);
}

fn event(kind: &str, n: i64) -> agent_events::NewEvent {
    agent_events::NewEvent {
        kind: kind.into(),
        case_id: None,
        team: Some("kcc".into()),
        assignee: None,
        department_id: None,
        payload: serde_json::json!({"n": n}),
    }
}

async fn a_batch_of_events_is_numbered_in_order_and_queued_per_webhook(store: Arc<dyn Store>) {
    let hook = store
        .create_webhook(
            "https://example.test/hook",
            &["sla.breached".into()],
            "s3cret",
        )
        .await
        .unwrap();
    assert!(store.append_events(vec![]).await.unwrap().is_empty());
    let mut rx = store.subscribe_events();
    let batch: Vec<_> = (0..700)
        .map(|n| {
            event(
                if n % 3 == 0 {
                    "sla.breached"
                } else {
                    "sla.warning"
                },
                n,
            )
        })
        .collect();
    let recs = store.append_events(batch.clone()).await.unwrap();
    // Numbered in the order given, across the 500-row chunks.
    assert_eq!(
        recs.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        batch
    );
    assert!(recs.windows(2).all(|w| w[0].seq < w[1].seq));
    for r in &recs {
        assert_eq!(&rx.recv().await.unwrap(), r);
    }
    // Queued for the webhook exactly for the kind it subscribed to.
    let mut queued = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_deliveries(hook.id, after, 100).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.event_seq);
        queued.extend(page.iter().map(|d| d.event_seq));
    }
    let breached: Vec<i64> = recs
        .iter()
        .filter(|r| r.event.kind == "sla.breached")
        .map(|r| r.seq)
        .collect();
    assert_eq!(queued, breached);
    assert_eq!(breached.len(), 234);
}

async fn get_cases_answers_the_cases_that_exist(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "web").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let out = ingest(
            &store,
            a.id,
            msg(&format!("web-{n}"), &format!("u-{n}"), Visibility::Public),
        )
        .await;
        ids.push(out.message.case_id);
    }
    ids.push(Uuid::now_v7()); // no such case
    let mut got: Vec<Uuid> = store
        .get_cases(&ids)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    got.sort();
    let mut want = ids[..3].to_vec();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        store.get_case(ids[0]).await.unwrap(),
        store.get_cases(&ids[..1]).await.unwrap().pop()
    );
    assert!(store.get_cases(&[]).await.unwrap().is_empty());
}

/// Issue 12, defect 2: recording a send whose platform id another reply already holds succeeds
/// (both replies sent, both in the case's history), and an in-doubt claim counts as an attempt.
async fn two_replies_may_share_a_platform_id_and_in_doubt_claims_are_attempts(
    store: Arc<dyn Store>,
) {
    use webcare_domain::inbound::DeliveryState;
    let a = account(&store, ChannelKind::Api, "zaaksysteem").await;
    let out = ingest(&store, a.id, msg("m1", "u1", Visibility::Private)).await;
    let case = store.get_case(out.message.case_id).await.unwrap().unwrap();
    let (r1, _) = store.enqueue_reply(new_reply(&case, false)).await.unwrap();
    let (r2, _) = store.enqueue_reply(new_reply(&case, false)).await.unwrap();
    let claimed = store
        .claim_replies(Utc::now(), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|c| c.reply.attempts == 1));
    for r in [&r1, &r2] {
        let rec = store
            .reply_sent(r.id, "ack", "zaaksysteem", Utc::now(), None)
            .await
            .expect("a shared platform id is recorded, not an error");
        assert_eq!(rec.state, DeliveryState::Sent);
        assert_eq!(rec.platform_message_id.as_deref(), Some("ack"));
    }
    // Recording the same send again changes nothing.
    store
        .reply_sent(r2.id, "ack", "zaaksysteem", Utc::now(), None)
        .await
        .unwrap();
    let outbound: Vec<String> = store
        .case_messages(case.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Outbound)
        .map(|m| m.platform_message_id)
        .collect();
    assert_eq!(outbound, vec!["ack".to_owned(), format!("ack#{}", r2.id)]);
    // A reply whose worker died comes back in doubt, one attempt further each time.
    let (r3, _) = store.enqueue_reply(new_reply(&case, false)).await.unwrap();
    let first = store
        .claim_replies(Utc::now(), Duration::milliseconds(1), 10)
        .await
        .unwrap();
    assert_eq!((first.len(), first[0].reply.id), (1, r3.id));
    for attempts in 2..=3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let again = store
            .claim_replies(Utc::now(), Duration::milliseconds(1), 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert!(again[0].in_doubt);
        assert_eq!(again[0].reply.attempts, attempts);
    }
}

async fn case_of(store: &Arc<dyn Store>, o: &IngestOutcome) -> CaseRecord {
    store.get_case(o.message.case_id).await.unwrap().unwrap()
}

async fn the_inbox_row_says_what_the_case_is(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Whatsapp, "31600000001").await;
    let mut first = msg("wa-1", "u1", Visibility::Private);
    first.text = "\n  Lantaarnpaal   kapot\nbij de school".into();
    let o = ingest(&store, a.id, first).await;
    let c = case_of(&store, &o).await;
    assert_eq!(c.channel_kind, Some(ChannelKind::Whatsapp));
    assert_eq!(c.preview.as_deref(), Some("Lantaarnpaal kapot"));
    assert_eq!(c.author_name.as_deref(), Some("Burger u1"));
    assert_eq!(c.author_handle.as_deref(), Some("@u1"));
    assert_eq!(c.last_inbound_at, Some(t(9, 15)));
    // The default policy's reaction clock runs.
    assert_eq!(c.sla_status, Some(webcare_domain::sla::ClockStatus::Within));
    assert!(c.due_at.is_some());

    // A later message of the citizen takes over the line, with a BSN masked.
    let mut later = msg("wa-2", "u1", Visibility::Private);
    later.text = "Mijn BSN is 111222333".into();
    later.sent_at = t(10, 0);
    let o2 = ingest(&store, a.id, later).await;
    assert_eq!(o2.message.case_id, o.message.case_id);
    let c = case_of(&store, &o).await;
    assert_eq!(c.preview.as_deref(), Some("Mijn BSN is *********"));
    assert_eq!(c.last_inbound_at, Some(t(10, 0)));

    // One sent earlier but delivered late does not; nor does our own echo.
    let mut late = msg("wa-3", "u1", Visibility::Private);
    late.text = "eerder verstuurd".into();
    late.sent_at = t(9, 30);
    ingest(&store, a.id, late).await;
    let mut echo = msg("wa-4", "u1", Visibility::Private);
    echo.direction = Direction::Outbound;
    echo.text = "Dank voor uw melding".into();
    echo.sent_at = t(11, 0);
    ingest(&store, a.id, echo).await;
    let c = case_of(&store, &o).await;
    assert_eq!(c.preview.as_deref(), Some("Mijn BSN is *********"));
    assert_eq!(c.last_inbound_at, Some(t(10, 0)));

    // The list answers the same row.
    assert_eq!(first_cases(&store, CaseFilter::default()).await, vec![c]);
}

async fn the_inbox_row_follows_edits_and_deletes(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::FacebookPage, "2002").await;
    let mut first = msg("c-1", "u2", Visibility::Private);
    first.text = "eerste".into();
    let o = ingest(&store, a.id, first).await;
    let mut second = msg("c-2", "u2", Visibility::Private);
    second.text = "tweede".into();
    second.sent_at = t(9, 20);
    ingest(&store, a.id, second).await;
    assert_eq!(case_of(&store, &o).await.preview.as_deref(), Some("tweede"));

    assert!(store
        .apply_edit(a.id, "c-2", "tweede, verbeterd", t(9, 25))
        .await
        .unwrap());
    assert_eq!(
        case_of(&store, &o).await.preview.as_deref(),
        Some("tweede, verbeterd")
    );
    // An edit of an older message leaves the line alone.
    assert!(store
        .apply_edit(a.id, "c-1", "eerste, verbeterd", t(9, 26))
        .await
        .unwrap());
    assert_eq!(
        case_of(&store, &o).await.preview.as_deref(),
        Some("tweede, verbeterd")
    );
    // Deleting the latest shows the one before it; deleting both leaves nothing to show.
    assert!(store.apply_delete(a.id, "c-2", t(9, 30)).await.unwrap());
    let c = case_of(&store, &o).await;
    assert_eq!(c.preview.as_deref(), Some("eerste, verbeterd"));
    assert_eq!(c.last_inbound_at, Some(t(9, 15)));
    assert!(store.apply_delete(a.id, "c-1", t(9, 31)).await.unwrap());
    let c = case_of(&store, &o).await;
    assert_eq!(c.preview.as_deref(), Some(""));
    assert_eq!(c.last_inbound_at, None);
}

/// Cases stored before migration 0016 get their inbox row from the start-up backfill.
async fn backfill_fills_what_the_migration_left_empty(backend: Backend) {
    let Some(url) = fresh_database_url(backend).await else {
        return;
    };
    let store = connect(&url, ConnectOptions::default()).await.unwrap();
    let a = account(&store, ChannelKind::X, "3003").await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut m = msg(&format!("x-{n}"), &format!("u{n}"), Visibility::Public);
        m.text = format!("melding {n}");
        ids.push(ingest(&store, a.id, m).await.message.case_id);
    }
    let before: Vec<CaseRecord> = store.get_cases(&ids).await.unwrap();
    let clear = "UPDATE cases SET preview = NULL, author_name = NULL, author_handle = NULL, \
                 last_inbound_at = NULL";
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(clear).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(clear).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    assert!(store
        .get_case(ids[0])
        .await
        .unwrap()
        .unwrap()
        .preview
        .is_none());
    assert_eq!(store.backfill_inbox_rows(3).await.unwrap(), 3);
    assert_eq!(store.backfill_inbox_rows(3).await.unwrap(), 3);
    assert_eq!(store.backfill_inbox_rows(3).await.unwrap(), 1);
    assert_eq!(store.backfill_inbox_rows(3).await.unwrap(), 0);
    let mut after: Vec<CaseRecord> = store.get_cases(&ids).await.unwrap();
    let mut before = before;
    before.sort_by_key(|c| c.id);
    after.sort_by_key(|c| c.id);
    assert_eq!(after, before);
    store.close().await;
}

#[tokio::test]
async fn backfill_fills_what_the_migration_left_empty_sqlite() {
    backfill_fills_what_the_migration_left_empty(Backend::Sqlite).await
}

#[tokio::test]
async fn backfill_fills_what_the_migration_left_empty_postgres() {
    backfill_fills_what_the_migration_left_empty(Backend::Postgres).await
}

/// A running clock whose stored instants lie before the evaluated ones (as a desk stored them
/// before due times were rounded up to the whole second: the start at a fractional second, the
/// instants from the exact start) still gets its warning and its breach, each at its evaluated
/// instant. The timer used to wake at the stored instant, find nothing to fire, take its next
/// timer from the stored instants (in the past) and clear it: both were lost.
async fn a_timer_fires_by_the_evaluation_when_the_stored_instants_are_early(backend: Backend) {
    use webcare_domain::sla::{ClockKind, ClockStatus};
    let Some(url) = fresh_database_url(backend).await else {
        return;
    };
    let store = connect(&url, ConnectOptions::default()).await.unwrap();
    let a = account(&store, ChannelKind::X, "4004").await;
    let mut m = msg("x-early", "u-early", Visibility::Public);
    m.sent_at = t(9, 15) + Duration::milliseconds(400);
    let case_id = ingest(&store, a.id, m).await.message.case_id;
    let reaction = |clocks: Vec<webcare_store::sla::ClockRecord>| {
        clocks
            .into_iter()
            .find(|c| c.kind == ClockKind::Reaction)
            .expect("a reaction clock")
    };
    let c = reaction(store.case_clocks(case_id).await.unwrap());
    let (warning, due) = (c.warning_at.unwrap(), c.due_at.unwrap());
    assert_eq!(c.next_fire_at, Some(warning.timestamp_millis()));
    // The instants of the exact start: 600 ms earlier.
    let early = "UPDATE sla_clocks SET warning_at = warning_at - 600, due_at = due_at - 600, \
                 next_fire_at = warning_at - 600 WHERE kind = 'reaction'";
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(early).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(early).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    let woke = warning - Duration::milliseconds(600);
    assert!(store.fire_due_timers(woke, 100).await.unwrap().is_empty());
    let c = reaction(store.case_clocks(case_id).await.unwrap());
    assert_eq!(
        c.next_fire_at,
        Some(warning.timestamp_millis()),
        "the timer is kept"
    );
    assert_eq!((c.warning_at, c.due_at), (Some(warning), Some(due)));

    let fire = |at| {
        let store = store.clone();
        async move {
            let fired = store.fire_due_timers(at, 100).await.unwrap();
            fired
                .iter()
                .map(|f| (f.clock, f.status, f.due_at))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        fire(warning).await,
        vec![(ClockKind::Reaction, ClockStatus::Warning, warning)]
    );
    assert_eq!(
        fire(due + Duration::milliseconds(1)).await,
        vec![(ClockKind::Reaction, ClockStatus::Breached, due)]
    );
    let c = reaction(store.case_clocks(case_id).await.unwrap());
    assert_eq!((c.status, c.next_fire_at), (ClockStatus::Breached, None));
    store.close().await;
}

#[tokio::test]
async fn a_timer_fires_by_the_evaluation_when_the_stored_instants_are_early_sqlite() {
    a_timer_fires_by_the_evaluation_when_the_stored_instants_are_early(Backend::Sqlite).await
}

#[tokio::test]
async fn a_timer_fires_by_the_evaluation_when_the_stored_instants_are_early_postgres() {
    a_timer_fires_by_the_evaluation_when_the_stored_instants_are_early(Backend::Postgres).await
}

async fn routing_rules_route_new_cases_in_the_ingest_transaction(store: Arc<dyn Store>) {
    use webcare_domain::routing::{Actions, Conditions, RuleSpec};
    use webcare_domain::sla::ClockKind;
    use webcare_domain::{CaseKind, Priority};
    let a = account(&store, ChannelKind::FacebookPage, "3003").await;
    let now = Utc::now();
    let dept = store
        .create_department(agent::DepartmentRecord {
            id: Uuid::nil(),
            name: "Openbare ruimte".into(),
            contact_persons: serde_json::json!([]),
            answer_minutes: 960,
            calendar_id: None,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let rule = |name: &str, keywords: &[&str], actions: Actions| routing::StoredRule {
        id: Uuid::now_v7(),
        spec: RuleSpec {
            name: name.into(),
            enabled: true,
            conditions: Conditions {
                keywords: keywords.iter().map(|k| k.to_string()).collect(),
                ..Default::default()
            },
            actions,
        },
    };
    let lights = rule(
        "verlichting",
        &["lantaarn*"],
        Actions {
            team: Some("buitenruimte".into()),
            priority: Some(Priority::High),
            theme: Some("openbare verlichting".into()),
            kind: Some(CaseKind::Melding),
            labels: vec!["verlichting".into()],
            department_id: Some(dept.id),
            ..Default::default()
        },
    );
    let waste = rule(
        "afval",
        &["container"],
        Actions {
            team: Some("afval".into()),
            ..Default::default()
        },
    );
    let set = store
        .save_routing_rules(NewVersion {
            after: None,
            value: &[lights.clone(), waste],
            effective_from: Utc::now(),
            actor: "admin",
        })
        .await
        .unwrap();

    // A new case whose first message matches takes the first matching rule's actions.
    let mut m = msg("r-1", "u1", Visibility::Public);
    m.text = "De LANTAARNPAAL in onze straat is kapot".into();
    let o = ingest(&store, a.id, m).await;
    let c = case_of(&store, &o).await;
    assert_eq!(c.team.as_deref(), Some("buitenruimte"));
    assert_eq!(c.priority, Priority::High);
    assert_eq!(c.theme.as_deref(), Some("openbare verlichting"));
    assert_eq!(c.kind, Some(CaseKind::Melding));
    assert_eq!(c.labels, vec!["verlichting".to_string()]);
    assert_eq!(
        c.routing,
        Some(RoutedBy {
            version: set.version,
            rule_id: lights.id
        })
    );
    // Forwarded in the same transaction, with the department clock running.
    assert_eq!(c.status, CaseStatus::Forwarded);
    assert_eq!(c.department_id, Some(dept.id));
    let forwards = store.list_forwards(c.id).await.unwrap();
    assert_eq!(forwards.len(), 1);
    assert_eq!(forwards[0].department_id, dept.id);
    let clocks = store.case_clocks(c.id).await.unwrap();
    assert!(clocks.iter().any(|k| k.kind == ClockKind::Department));
    assert!(clocks.iter().any(|k| k.kind == ClockKind::Reaction));
    let audit = store
        .list_audit(
            agent::AuditFilter {
                case_id: Some(c.id),
                ..Default::default()
            },
            None,
            50,
        )
        .await
        .unwrap();
    let routed = audit
        .items
        .iter()
        .find(|e| e.action == "case.routed")
        .expect("the routing is audited");
    assert_eq!(routed.actor, "system:routing");
    assert_eq!(routed.detail["rule"], "verlichting");
    assert_eq!(routed.detail["version"], set.version);
    assert!(audit.items.iter().any(|e| e.action == "case.forwarded"));

    // A message joining the case is not routed again (its case keeps what it has).
    let mut reply = msg("r-2", "u1", Visibility::Public);
    reply.in_reply_to = Some("r-1".into());
    reply.text = "Er staat ook een container open".into();
    let o2 = ingest(&store, a.id, reply).await;
    assert_eq!(o2.message.case_id, c.id);
    assert_eq!(
        case_of(&store, &o2).await.team.as_deref(),
        Some("buitenruimte")
    );

    // Another new case takes the second rule; one that matches none keeps the account's team.
    let mut m = msg("r-3", "u2", Visibility::Public);
    m.text = "De container is niet geleegd".into();
    let c3 = case_of(&store, &ingest(&store, a.id, m).await).await;
    assert_eq!(c3.team.as_deref(), Some("afval"));
    assert_eq!(c3.status, CaseStatus::New);
    assert_eq!(c3.priority, Priority::Normal);
    let mut m = msg("r-4", "u3", Visibility::Public);
    m.text = "Wanneer is het gemeentehuis open?".into();
    let c4 = case_of(&store, &ingest(&store, a.id, m).await).await;
    assert_eq!(c4.team.as_deref(), Some("kcc"));
    assert_eq!(c4.routing, None);

    // A batch routes each of its new cases as one message at a time would.
    let items: Vec<IngestItem> = (0..4)
        .map(|i| {
            let mut m = msg(&format!("b-{i}"), &format!("b{i}"), Visibility::Public);
            m.text = if i % 2 == 0 {
                "lantaarn uit".into()
            } else {
                "vraag".into()
            };
            IngestItem {
                channel_account_id: a.id,
                message: m,
                received_at: Utc::now(),
                default_team: Some("kcc".into()),
            }
        })
        .collect();
    let out = store.ingest_batch(items).await;
    for (i, o) in out.iter().enumerate() {
        let c = case_of(&store, o.as_ref().unwrap()).await;
        let routed = i % 2 == 0;
        assert_eq!(c.routing.is_some(), routed, "item {i}");
        assert_eq!(c.status == CaseStatus::Forwarded, routed, "item {i}");
    }

    // Disabling every rule stops routing at once on this node (saving empties the cache).
    let mut off = lights.clone();
    off.spec.enabled = false;
    store
        .save_routing_rules(NewVersion {
            after: Some(set.version),
            value: &[off],
            effective_from: Utc::now(),
            actor: "admin",
        })
        .await
        .unwrap();
    let mut m = msg("r-5", "u5", Visibility::Public);
    m.text = "lantaarn".into();
    let c5 = case_of(&store, &ingest(&store, a.id, m).await).await;
    assert_eq!(c5.routing, None);
    assert_eq!(c5.team.as_deref(), Some("kcc"));
}

/// Issue 14: one job claims making a contact's partij; another waits until the claim runs out
/// or the partij is kept; the contact is found again by the partij's uuid.
async fn one_job_at_a_time_makes_a_contacts_partij(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Api, "partij").await;
    let case = ingest(&store, a.id, msg("p-1", "u-1", Visibility::Private))
        .await
        .message
        .case_id;
    let contact = store.get_case(case).await.unwrap().unwrap().contact_id;
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    let now = chrono::Utc::now();
    let lease = chrono::Duration::seconds(60);
    let (x, y) = tokio::join!(
        store.claim_contact_partij(contact, first, now, now + lease),
        store.claim_contact_partij(contact, second, now, now + lease),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(x ^ y, "exactly one claims it");
    let (holder, other) = if x { (first, second) } else { (second, first) };
    assert!(store
        .claim_contact_partij(contact, holder, now, now + lease)
        .await
        .unwrap());
    assert!(!store
        .claim_contact_partij(contact, other, now, now + lease)
        .await
        .unwrap());
    // A claim that ran out (its holder died) is taken over.
    let later = now + lease + chrono::Duration::seconds(1);
    assert!(store
        .claim_contact_partij(contact, other, later, later + lease)
        .await
        .unwrap());
    let partij = Uuid::now_v7();
    assert_eq!(store.contact_by_partij(partij).await.unwrap(), None);
    store
        .set_contact_partij(
            contact,
            &format!("https://ok.example/klantinteracties/api/v1/partijen/{partij}"),
        )
        .await
        .unwrap();
    // Kept: nobody claims it any more.
    assert!(!store
        .claim_contact_partij(contact, other, later, later + lease)
        .await
        .unwrap());
    assert_eq!(
        store.contact_by_partij(partij).await.unwrap(),
        Some(contact)
    );
    assert_eq!(store.contact_by_partij(Uuid::now_v7()).await.unwrap(), None);
}

/// Issue 14: two creates at once (two agents, two nodes) leave one; a case's jobs are claimed one
/// at a time in order, also while an earlier one is leased; a zaak recorded ends the create.
async fn one_zaak_create_per_case_and_its_jobs_in_order(store: Arc<dyn Store>) {
    use webcare_store::zaak::ZaakJobKind;
    let a = account(&store, ChannelKind::Api, "zaak").await;
    let case = ingest(&store, a.id, msg("z-1", "u-1", Visibility::Private))
        .await
        .message
        .case_id;
    let payload = serde_json::json!({"zaaktype": "https://oz/zt/1"});
    let (x, y) = tokio::join!(
        store.enqueue_zaak_create(case, payload.clone()),
        store.enqueue_zaak_create(case, payload.clone()),
    );
    assert!(
        matches!(
            (&x, &y),
            (Ok(_), Err(StoreError::Conflict(_))) | (Err(StoreError::Conflict(_)), Ok(_))
        ),
        "{x:?} {y:?}"
    );
    // A forward of a case with a live create enqueues its status and rol in the same write.
    let before = store.get_case(case).await.unwrap().unwrap();
    let mut w = agent::CaseWrite::new(before);
    w.zaak_jobs = vec![webcare_store::zaak::NewZaakJob {
        kind: ZaakJobKind::Status,
        payload: serde_json::json!({}),
    }];
    store.write_case(w).await.unwrap();
    let now = Utc::now();
    let lease = Duration::seconds(60);
    let first = store.claim_zaak_jobs(now, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1, "only the oldest job of the case");
    assert_eq!(first[0].kind, ZaakJobKind::Create);
    assert!(
        store
            .claim_zaak_jobs(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "the create is leased"
    );
    store
        .zaak_created(&first[0], "https://oz/zaken/api/v1/zaken/1", "WC-1")
        .await
        .unwrap();
    let next = store.claim_zaak_jobs(now, lease, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].kind, ZaakJobKind::Status);
    let z = store.case_zaak(case).await.unwrap();
    assert_eq!(z.identificatie.as_deref(), Some("WC-1"));
    assert!(matches!(
        store.enqueue_zaak_create(case, payload).await,
        Err(StoreError::Conflict(_))
    ));
    // A case without a zaak gets no follow-ups.
    let other = ingest(&store, a.id, msg("z-2", "u-2", Visibility::Private))
        .await
        .message
        .case_id;
    let mut w = agent::CaseWrite::new(store.get_case(other).await.unwrap().unwrap());
    w.zaak_jobs = vec![webcare_store::zaak::NewZaakJob {
        kind: ZaakJobKind::Status,
        payload: serde_json::json!({}),
    }];
    store.write_case(w).await.unwrap();
    assert!(store.case_zaak(other).await.unwrap().jobs.is_empty());
}

async fn zgw_settings_are_versioned_and_the_abonnement_is_one_row(store: Arc<dyn Store>) {
    use webcare_store::zgw_admin::ZgwAbonnement;
    assert_eq!(store.zgw_settings_version().await.unwrap(), 0);
    assert!(store.zgw_settings().await.unwrap().is_none());
    let v1 = serde_json::json!({"rsin": "002220647", "secret": "s1"});
    assert_eq!(
        store
            .put_zgw_settings(&v1, "admin-1", Some(0))
            .await
            .unwrap(),
        Some(1)
    );
    let v2 = serde_json::json!({"rsin": "001005650", "secret": "s2"});
    assert_eq!(
        store.put_zgw_settings(&v2, "admin-2", None).await.unwrap(),
        Some(2)
    );
    assert_eq!(store.zgw_settings_version().await.unwrap(), 2);
    // A write checking the version it read: refused once another came in between.
    let stale = serde_json::json!({"rsin": "stale"});
    for after in [0, 1, 3] {
        let r = store.put_zgw_settings(&stale, "admin-3", Some(after)).await;
        assert_eq!(r.unwrap(), None, "after {after}");
    }
    assert_eq!(store.zgw_settings_version().await.unwrap(), 2);
    let got = store.zgw_settings().await.unwrap().unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.settings, v2);
    assert_eq!(got.updated_by, "admin-2");
    let v3 = serde_json::json!({"rsin": "002220647", "secret": "s3"});
    assert_eq!(
        store
            .put_zgw_settings(&v3, "admin-3", Some(2))
            .await
            .unwrap(),
        Some(3)
    );

    assert!(store.zgw_abonnement().await.unwrap().is_none());
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
    let a = ZgwAbonnement {
        url: "http://on/api/v1/abonnement/1".into(),
        callback_url: "http://desk/api/v1/notificaties".into(),
        notificaties_url: "http://on/api/v1".into(),
        registered_at: at,
    };
    store.set_zgw_abonnement(&a).await.unwrap();
    let b = ZgwAbonnement {
        url: "http://on/api/v1/abonnement/2".into(),
        ..a.clone()
    };
    store.set_zgw_abonnement(&b).await.unwrap();
    assert_eq!(store.zgw_abonnement().await.unwrap(), Some(b));
}

// ------------------------------------------------------------------ satisfaction surveys

fn survey_for(case: &CaseRecord, due_in: Duration, period_days: i64) -> surveys::NewSurvey {
    let mut reply = new_reply(case, false);
    reply.author = surveys::ACTOR.into();
    reply.text = webcare_domain::survey::SurveyKind::Csat
        .default_text()
        .into();
    surveys::NewSurvey {
        reply,
        contact_id: case.contact_id,
        kind: webcare_domain::survey::SurveyKind::Csat,
        answer_days: 7,
        due_at: Utc::now() + due_in,
        not_since: Utc::now() - Duration::days(period_days),
    }
}

/// Resolves the case (as it is stored now) with `survey`.
async fn resolve_with(store: &Arc<dyn Store>, case: Uuid, survey: surveys::NewSurvey) {
    let case = store.get_case(case).await.unwrap().unwrap();
    let mut w = webcare_store::agent::CaseWrite::new(case);
    w.after.status = CaseStatus::Resolved;
    w.after.resolved_at = Some(Utc::now());
    w.survey = Some(survey);
    store.write_case(w).await.expect("resolve");
}

fn citizen(id: &str, text: &str) -> InboundMessage {
    let mut m = msg(id, "u1", Visibility::Private);
    m.text = text.into();
    m.sent_at = Utc::now();
    m
}

async fn a_survey_is_scheduled_once_and_its_answer_does_not_reopen(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::Whatsapp, "wa-survey").await;
    let out = ingest(
        &store,
        a.id,
        citizen("m1", "Wanneer wordt het grofvuil opgehaald?"),
    )
    .await;
    let case = store.get_case(out.message.case_id).await.unwrap().unwrap();
    resolve_with(
        &store,
        case.id,
        survey_for(&case, Duration::minutes(30), 30),
    )
    .await;

    // Scheduled with the resolve, as a pending reply due after the delay.
    let s = store
        .case_survey(case.id)
        .await
        .unwrap()
        .expect("scheduled");
    assert_eq!(s.sent_at, None);
    let reply = store.get_reply(s.reply_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(reply.state, DeliveryState::Pending);
    assert!(
        store
            .claim_replies(Utc::now(), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty(),
        "not before the delay"
    );
    let claimed = store
        .claim_replies(
            Utc::now() + Duration::minutes(31),
            Duration::seconds(30),
            10,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "due after the delay");
    store
        .reply_sent(
            s.reply_id.unwrap(),
            "wamid.SURVEY",
            "wa-survey",
            Utc::now(),
            None,
        )
        .await
        .unwrap();
    assert!(store
        .case_survey(case.id)
        .await
        .unwrap()
        .unwrap()
        .sent_at
        .is_some());

    // The answer is stored and the case stays resolved.
    let ans = ingest(&store, a.id, citizen("m2", "4, snel geholpen")).await;
    assert_eq!(ans.message.case_id, case.id);
    let after = store.get_case(case.id).await.unwrap().unwrap();
    assert_eq!(after.status, CaseStatus::Resolved);
    let s = store.case_survey(case.id).await.unwrap().unwrap();
    assert_eq!(s.score, Some(4));
    assert_eq!(s.comment.as_deref(), Some("snel geholpen"));
    assert_eq!(s.answer_message_id, Some(ans.message.id));
    assert!(s.answered_at.is_some());

    // The next message is a question again: it reopens the case, and the answer stays.
    ingest(
        &store,
        a.id,
        citizen("m3", "Nog een vraag over de afvalpas"),
    )
    .await;
    let after = store.get_case(case.id).await.unwrap().unwrap();
    assert_eq!(after.status, CaseStatus::Open);
    // Resolved again: the case had its survey, none is scheduled twice.
    resolve_with(&store, case.id, survey_for(&case, Duration::zero(), 0)).await;
    let again = store.case_survey(case.id).await.unwrap().unwrap();
    assert_eq!(again.reply_id, s.reply_id);
    assert_eq!(again.score, Some(4));
    let surveys = store
        .case_replies(case.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.author == surveys::ACTOR)
        .count();
    assert_eq!(surveys, 1);
}

async fn a_contact_gets_one_survey_per_period_and_a_reopen_withdraws_an_unsent_one(
    store: Arc<dyn Store>,
) {
    let a = account(&store, ChannelKind::Whatsapp, "wa-period").await;
    let first = ingest(&store, a.id, citizen("p1", "Vraag een")).await;
    let c1 = store
        .get_case(first.message.case_id)
        .await
        .unwrap()
        .unwrap();
    resolve_with(&store, c1.id, survey_for(&c1, Duration::hours(1), 30)).await;
    assert!(store.case_survey(c1.id).await.unwrap().is_some());

    // Before it is sent the citizen writes again: the case reopens and the survey is withdrawn.
    ingest(&store, a.id, citizen("p2", "5")).await;
    assert_eq!(
        store.get_case(c1.id).await.unwrap().unwrap().status,
        CaseStatus::Open,
        "a score before any survey went out is a message like any other"
    );
    let withdrawn = store.case_survey(c1.id).await.unwrap().unwrap();
    assert_eq!(withdrawn.state, SurveyState::Withdrawn, "kept on the case");
    assert_eq!((withdrawn.reply_id, withdrawn.sent_at), (None, None));
    assert!(withdrawn.ended_at.is_some());
    assert!(store
        .case_replies(c1.id)
        .await
        .unwrap()
        .iter()
        .all(|r| r.author != surveys::ACTOR));

    // Scheduled again with the next resolve; then the same contact's next case within the
    // period gets none, and one past the period does.
    resolve_with(&store, c1.id, survey_for(&c1, Duration::zero(), 30)).await;
    assert_eq!(
        store.case_survey(c1.id).await.unwrap().unwrap().state,
        SurveyState::Scheduled,
        "a withdrawn survey is replaced"
    );
    let mut close =
        webcare_store::agent::CaseWrite::new(store.get_case(c1.id).await.unwrap().unwrap());
    close.after.status = CaseStatus::Closed;
    store.write_case(close).await.unwrap();
    let second = ingest(&store, a.id, citizen("p3", "Vraag twee")).await;
    assert_ne!(second.message.case_id, c1.id);
    let c2 = store
        .get_case(second.message.case_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.contact_id, c1.contact_id);
    resolve_with(&store, c2.id, survey_for(&c2, Duration::zero(), 30)).await;
    assert!(
        store.case_survey(c2.id).await.unwrap().is_none(),
        "once per period"
    );
    let mut reopen =
        webcare_store::agent::CaseWrite::new(store.get_case(c2.id).await.unwrap().unwrap());
    reopen.after.status = CaseStatus::Open;
    store.write_case(reopen).await.unwrap();
    // A period that began after the first survey: it is scheduled.
    let mut later = survey_for(&c2, Duration::zero(), 30);
    later.not_since = Utc::now() + Duration::seconds(1);
    resolve_with(&store, c2.id, later).await;
    assert!(store.case_survey(c2.id).await.unwrap().is_some());
}

/// A case row's SLA columns (`due_at`, `sla_status`) say what its clocks say by the domain's rule
/// (`case_due_and_status`), whichever path wrote them: ingest computes them in Rust, a reply, a
/// status change and a firing timer refresh them in SQL. Two copies of one rule: this keeps them
/// one.
async fn the_case_row_shows_its_clocks_by_one_rule(store: Arc<dyn Store>) {
    let a = account(&store, ChannelKind::FacebookPage, "2001").await;
    let now = Utc::now();
    let mut cases = Vec::new();
    for (i, vis) in [
        (1, Visibility::Public),
        (2, Visibility::Private),
        (3, Visibility::Private),
        (4, Visibility::Public),
    ] {
        let mut m = msg(&format!("rule{i}"), &format!("rule-user{i}"), vis);
        m.sent_at = now - Duration::minutes(10 * i);
        cases.push(ingest(&store, a.id, m).await.message.case_id);
    }
    let agree = |when: &'static str| {
        let store = store.clone();
        let cases = cases.clone();
        async move {
            for id in &cases {
                let case = store.get_case(*id).await.unwrap().unwrap();
                let clocks = store.case_clocks(*id).await.unwrap();
                assert_eq!(
                    (case.due_at, case.sla_status),
                    webcare_domain::sla::clocks::case_due_and_status(&clocks),
                    "{when}: case {id} with clocks {clocks:#?}"
                );
            }
        }
    };
    agree("after ingest").await;
    // A reply stops the reaction clock; waiting on the citizen after a reply leaves only a
    // paused clock (which still shows); a resolved case stops everything.
    store.on_reply_sent(cases[0], now, false).await.unwrap();
    store.on_reply_sent(cases[1], now, false).await.unwrap();
    store
        .on_status_change(
            cases[1],
            CaseStatus::Open,
            CaseStatus::WaitingOnCitizen,
            now,
        )
        .await
        .unwrap();
    store
        .on_status_change(cases[2], CaseStatus::Open, CaseStatus::Resolved, now)
        .await
        .unwrap();
    agree("after a reply, a pause and a resolution").await;
    // The timers fire over the next weeks: warnings, then breaches, each refreshing its case.
    for days in [0, 1, 3, 10, 30] {
        let at = now + Duration::days(days) + Duration::hours(6);
        while !store.fire_due_timers(at, 500).await.unwrap().is_empty() {}
        agree("after the timers fired").await;
    }
    let statuses: Vec<_> = sla_statuses(&store, &cases).await;
    assert!(
        statuses.contains(&Some(webcare_domain::sla::ClockStatus::Breached)),
        "a breach was reached: {statuses:?}"
    );
}

async fn sla_statuses(
    store: &Arc<dyn Store>,
    cases: &[Uuid],
) -> Vec<Option<webcare_domain::sla::ClockStatus>> {
    let mut out = Vec::new();
    for id in cases {
        out.push(store.get_case(*id).await.unwrap().unwrap().sla_status);
    }
    out
}

/// The board's oldest unanswered message walks the active cases in arrival order, a page of 64
/// at a time, and stops early: here the answer lies on the second page, and an early case's late
/// question is found once every later case is answered.
async fn the_oldest_unanswered_message_is_found_past_a_page_of_answered_cases(
    store: Arc<dyn Store>,
) {
    let acc = account(&store, ChannelKind::FacebookPage, "3001").await;
    let base = t(8, 0);
    let item = |m: InboundMessage| IngestItem {
        channel_account_id: acc.id,
        message: m,
        received_at: Utc::now(),
        default_team: Some("kcc".into()),
    };
    let citizen = |i: usize, id: String, at: DateTime<Utc>| InboundMessage {
        conversation_key: Some(format!("conv-{i}")),
        sent_at: at,
        ..msg(&id, &format!("u{i}"), Visibility::Private)
    };
    let answer = |i: usize, at: DateTime<Utc>| InboundMessage {
        direction: Direction::Outbound,
        author: Author {
            platform_user_id: "3001".into(),
            handle: None,
            display_name: Some("Gemeente".into()),
        },
        ..citizen(i, format!("answer-{i}-{}", at.timestamp()), at)
    };
    let minutes = |m: i64| base + Duration::minutes(m);
    // 66 cases arriving a minute apart; every one but the last is answered.
    let questions = (0..66).map(|i| item(citizen(i, format!("q-{i}"), minutes(i as i64))));
    let cases: Vec<Uuid> = store
        .ingest_batch(questions.collect())
        .await
        .into_iter()
        .map(|o| o.expect("ingest").message.case_id)
        .collect();
    assert_eq!(
        cases.iter().collect::<std::collections::HashSet<_>>().len(),
        66
    );
    let answers = (0..65).map(|i| item(answer(i, minutes(i as i64) + Duration::seconds(30))));
    for (i, o) in store
        .ingest_batch(answers.collect())
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(
            o.expect("ingest").message.case_id,
            cases[i],
            "answer {i} joins its case"
        );
    }
    // The first case's citizen asks again, later than the last case's question.
    ingest(&store, acc.id, citizen(0, "q-0-again".into(), minutes(200))).await;
    let board = store.board(Utc::now()).await.unwrap();
    assert_eq!(board.oldest_unanswered_case_id, Some(cases[65]));
    assert_eq!(board.oldest_unanswered_at, Some(minutes(65)));
    // Once the last case is answered, the oldest waiting question is the first case's second.
    let o = ingest(&store, acc.id, answer(65, minutes(66))).await;
    assert_eq!(o.message.case_id, cases[65]);
    let board = store.board(Utc::now()).await.unwrap();
    assert_eq!(board.oldest_unanswered_case_id, Some(cases[0]));
    assert_eq!(board.oldest_unanswered_at, Some(minutes(200)));
    // And with it answered, nothing waits.
    ingest(&store, acc.id, answer(0, minutes(201))).await;
    let board = store.board(Utc::now()).await.unwrap();
    assert_eq!(board.oldest_unanswered_case_id, None);
}
