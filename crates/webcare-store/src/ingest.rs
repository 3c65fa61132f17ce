//! Ingesting a batch of messages inside one write transaction, set-wise: a handful of queries
//! find everything the batch refers to (stored duplicates, author identities, threading
//! evidence, clocks), the pure planner (`ingest_plan.rs`, with the threading decision from the
//! domain crate) walks the messages in order, and multi-row statements write the result. The
//! cost is a few statements per batch instead of a dozen per message. Written once for both
//! backends over the dialect seam (`db.rs`).
//!
//! Race safety across nodes (PostgreSQL) comes from constraints, not locks: the unique key on
//! (account, platform message id) makes a duplicate insert fail, the primary key of
//! `case_threads` makes two nodes agree on one case per thread key, and a thread key only moves
//! from the case it was seen on. A failed transaction is retried, and the retry sees the
//! winner's rows.

use crate::agent_events::{insert_events, EventRecord};
use crate::db::{json, query, Arg, Conn, FromBoth, Query, SqlCore};
use crate::ingest_effects::{events, CaseScopeRow, AUTO_ASSIGN_ACTOR};
use crate::ingest_plan::{CaseState, Found, ItemResult, KnownIdentity, Plan};
use crate::records::{IngestOutcome, MessageRecord};
use crate::routing::{
    audit_detail, route_new_cases, AccountFacts, InForce, Routed, RoutingCache, ROUTING_ACTOR,
};
use crate::sla::SlaState;
use crate::sql::{IdentityRow, MessageRow, MESSAGE_COLS};
use crate::time::to_ms;
use crate::{Ingest, IngestItem, Result, StoreError};
use async_trait::async_trait;
use chrono::Utc;
use sqlx::types::Json;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;
use webcare_domain::assign::{assign_batch, TeamPool};
use webcare_domain::model::CaseStatus;
use webcare_domain::themes::Suggestion;
use webcare_domain::{ChannelKind, Direction, Visibility};

/// The case columns every evidence query returns (alias `c`).
pub(crate) const CASE_STATE_COLS: &str = "c.id, c.channel_account_id, c.contact_id, c.status, \
    c.resolved_at, c.first_message_at, c.last_message_at, c.theme, c.kind, c.priority, c.team";

/// One piece of threading evidence: a key (`k`: a platform id or thread key), an instant (`s`)
/// where it matters, and the case it points to.
#[derive(sqlx::FromRow)]
pub(crate) struct EvidenceRow {
    pub acc: Uuid,
    pub k: String,
    pub s: i64,
    pub id: Uuid,
    pub channel_account_id: Uuid,
    pub contact_id: Uuid,
    pub status: String,
    pub resolved_at: Option<i64>,
    pub first_message_at: i64,
    pub last_message_at: i64,
    // (In another order than `CaseState`'s: a row is read by column name.)
    pub priority: String,
    pub team: Option<String>,
    pub theme: Option<String>,
    pub kind: Option<String>,
}

impl EvidenceRow {
    /// Records the row's case in `found` and returns (account, key, instant, case id).
    pub(crate) fn into_found(self, found: &mut Found) -> crate::Result<(Uuid, String, i64, Uuid)> {
        let status: CaseStatus = crate::sql::parse(&self.status, "case status")?;
        found.cases.entry(self.id).or_insert(CaseState {
            id: self.id,
            account: self.channel_account_id,
            contact_id: self.contact_id,
            status,
            resolved_at: self.resolved_at,
            first_message_at: self.first_message_at,
            last_message_at: self.last_message_at,
            theme: self.theme,
            kind: self.kind,
            priority: self.priority,
            team: self.team,
            is_new: false,
            touched: false,
            citizen_joined: false,
            inbox: None,
        });
        Ok((self.acc, self.k, self.s, self.id))
    }
}

pub(crate) fn known_identity(r: crate::sql::IdentityRow) -> ((Uuid, String), KnownIdentity) {
    (
        (r.channel_account_id, r.platform_user_id),
        KnownIdentity {
            id: r.id,
            contact_id: r.contact_id,
            handle: r.handle,
            display_name: r.display_name,
        },
    )
}

/// The flags the desk raises on a new message.
pub(crate) fn flags_for(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    if webcare_domain::bsn::contains_bsn(text) {
        flags.push(webcare_domain::flags::BSN.to_owned());
    }
    flags
}

/// Distinct values, in first-seen order.
pub(crate) fn distinct<T: Clone + Eq + std::hash::Hash>(it: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    it.into_iter().filter(|v| seen.insert(v.clone())).collect()
}

/// `(VALUES (a1, b1), (a2, b2), ...) AS p`, to be joined on `p.column1` and `p.column2` (the
/// default column names of VALUES in both databases). Joining the pairs makes each one a probe
/// of the (a, b) index on both databases; two separate `IN` lists cross every account with every
/// id (PostgreSQL then scans the table once it grows), and SQLite scans the table for a
/// row-value `IN (VALUES ...)`.
fn push_pairs<A, B>(q: &mut Query, pairs: &[(A, B)])
where
    A: Clone + Into<Arg>,
    B: Clone + Into<Arg>,
{
    q.push("(VALUES ");
    for (n, (a, b)) in pairs.iter().enumerate() {
        if n > 0 {
            q.push(", ");
        }
        q.push("(")
            .push_bind(a.clone())
            .push(", ")
            .push_bind(b.clone())
            .push(")");
    }
    q.push(") AS p");
}

/// `SELECT <select> FROM <pairs> JOIN <rest>`, or nothing when there are no pairs.
async fn select_pairs<A, B, R>(
    conn: &mut Conn<'_>,
    select: &str,
    pairs: &[(A, B)],
    rest: &str,
) -> Result<Vec<R>>
where
    A: Clone + Into<Arg>,
    B: Clone + Into<Arg>,
    R: FromBoth,
{
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(format!("SELECT {select} FROM "));
    push_pairs(&mut q, pairs);
    q.push(conn.dialect().pairs_join()).push(rest);
    q.fetch_all(&mut *conn).await
}

/// Everything the batch refers to, in at most six queries.
async fn find_for_batch(conn: &mut Conn<'_>, items: &[IngestItem]) -> Result<Found> {
    let mut found = Found::default();
    // (account, value) pairs the batch names.
    let pairs = |f: &dyn Fn(&IngestItem) -> Option<String>| -> Vec<(Uuid, String)> {
        distinct(
            items
                .iter()
                .filter_map(|i| f(i).map(|v| (i.channel_account_id, v))),
        )
    };
    let pmids = pairs(&|i| Some(i.message.platform_message_id.clone()));
    let parents = pairs(&|i| i.message.in_reply_to.clone());
    let keys = pairs(&|i| i.message.conversation_key.clone());
    let authors = pairs(&|i| Some(i.message.author.platform_user_id.clone()));

    let rows: Vec<MessageRow> = select_pairs(
        conn,
        MESSAGE_COLS,
        &pmids,
        "messages ON messages.channel_account_id = p.column1 \
         AND messages.platform_message_id = p.column2",
    )
    .await?;
    for r in rows {
        let r: MessageRecord = r.try_into()?;
        found
            .existing
            .insert((r.channel_account_id, r.platform_message_id.clone()), r);
    }

    let rows: Vec<IdentityRow> = select_pairs(
        conn,
        "i.id, i.contact_id, i.channel_account_id, i.platform_user_id, i.handle, i.display_name",
        &authors,
        "contact_identities i ON i.channel_account_id = p.column1 \
         AND i.platform_user_id = p.column2",
    )
    .await?;
    found
        .identities
        .extend(rows.into_iter().map(known_identity));

    // The cases of stored parents and of stored thread keys: (acc, key) -> case.
    let by_key = [
        (
            "m.channel_account_id",
            "m.platform_message_id",
            "messages m ON m.channel_account_id = p.column1 AND m.platform_message_id = p.column2 \
             JOIN cases c ON c.id = m.case_id",
            &parents,
        ),
        (
            "t.channel_account_id",
            "t.thread_key",
            "case_threads t ON t.channel_account_id = p.column1 AND t.thread_key = p.column2 \
             JOIN cases c ON c.id = t.case_id",
            &keys,
        ),
    ];
    for (n, (acc_col, key_col, join, values)) in by_key.into_iter().enumerate() {
        let select =
            format!("{acc_col} AS acc, {key_col} AS k, CAST(0 AS BIGINT) AS s, {CASE_STATE_COLS}");
        let rows: Vec<EvidenceRow> = select_pairs(conn, &select, values, join).await?;
        for r in rows {
            let (acc, k, _, case) = r.into_found(&mut found)?;
            if n == 0 {
                &mut found.parents
            } else {
                &mut found.threads
            }
            .insert((acc, k), case);
        }
    }

    // Stored replies to the batch's messages (a parent that arrives after its child).
    let select = format!(
        "m.channel_account_id AS acc, m.in_reply_to AS k, m.sent_at AS s, {CASE_STATE_COLS}"
    );
    let rows: Vec<EvidenceRow> = select_pairs(
        conn,
        &select,
        &pmids,
        "messages m ON m.channel_account_id = p.column1 AND m.in_reply_to = p.column2 \
         JOIN cases c ON c.id = m.case_id WHERE m.in_reply_to IS NOT NULL",
    )
    .await?;
    for r in rows {
        let (acc, k, s, case) = r.into_found(&mut found)?;
        let e = found.children.entry((acc, k)).or_insert((s, case));
        if s < e.0 {
            *e = (s, case);
        }
    }

    // The cases of known authors who write privately.
    let contacts: Vec<(Uuid, Uuid)> = distinct(
        items
            .iter()
            .filter(|i| i.message.visibility == Visibility::Private)
            .filter_map(|i| {
                found
                    .identities
                    .get(&(
                        i.channel_account_id,
                        i.message.author.platform_user_id.clone(),
                    ))
                    .map(|k| (k.contact_id, i.channel_account_id))
            }),
    );
    let select =
        format!("c.channel_account_id AS acc, '' AS k, CAST(0 AS BIGINT) AS s, {CASE_STATE_COLS}");
    let rows: Vec<EvidenceRow> = select_pairs(
        conn,
        &select,
        &contacts,
        "cases c ON c.contact_id = p.column1 AND c.channel_account_id = p.column2 \
         WHERE c.status <> 'closed'",
    )
    .await?;
    for r in rows {
        let contact = r.contact_id;
        let (acc, _, _, case) = r.into_found(&mut found)?;
        found
            .contact_cases
            .entry((acc, contact))
            .or_default()
            .push(case);
    }
    Ok(found)
}

/// Well under both databases' bind limits for any batch the ingestor builds.
const ROWS: usize = 500;

/// The batch's latest citizen line replaces the stored one unless that is of a later message
/// (out-of-order delivery).
const NEWER: &str = "($6 IS NOT NULL AND (last_inbound_at IS NULL OR last_inbound_at <= $6))";

/// The first citizen message of each new case of the batch: what its theme is suggested from.
fn first_citizen_texts(p: &Plan) -> Vec<(Uuid, &str)> {
    let mut new: HashSet<Uuid> = p.new_cases.iter().copied().collect();
    p.messages
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .filter(|m| new.remove(&m.case_id))
        .map(|m| (m.case_id, m.text.as_str()))
        .collect()
}

/// Writes a plan: contacts, identities, cases (with their theme suggestions), thread keys,
/// messages.
async fn write_plan(
    conn: &mut Conn<'_>,
    p: &Plan,
    suggested: &BTreeMap<Uuid, Suggestion>,
    clocks: &crate::sla::NewCaseClocks,
    now: i64,
) -> Result<()> {
    for chunk in p.contacts.chunks(ROWS) {
        let mut q = query("INSERT INTO contacts (id, display_name, created_at, updated_at) ");
        q.push_values(chunk.iter().map(|c| -> [Arg; 4] {
            [
                c.id.into(),
                (&c.display_name).into(),
                now.into(),
                now.into(),
            ]
        }));
        q.execute(&mut *conn).await?;
    }
    for chunk in p.identities.chunks(ROWS) {
        let mut q = query(
            "INSERT INTO contact_identities (id, contact_id, channel_account_id, \
             platform_user_id, handle, display_name, created_at) ",
        );
        q.push_values(chunk.iter().map(|i| -> [Arg; 7] {
            [
                i.id.into(),
                i.contact_id.into(),
                i.account.into(),
                (&i.platform_user_id).into(),
                (&i.handle).into(),
                (&i.display_name).into(),
                now.into(),
            ]
        }));
        q.execute(&mut *conn).await?;
    }
    for (id, (handle, name)) in &p.identity_updates {
        query("UPDATE contact_identities SET handle = $2, display_name = $3 WHERE id = $1")
            .bind(*id)
            .bind(handle)
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    let new_cases: Vec<&CaseState> = p.new_cases.iter().map(|id| &p.cases[id]).collect();
    for chunk in new_cases.chunks(ROWS) {
        let mut q = query(
            "INSERT INTO cases (id, channel_account_id, contact_id, status, priority, team, labels, \
             theme, kind, target_group, routing_version, routing_rule_id, \
             first_message_at, last_message_at, created_at, updated_at, \
             preview, author_name, author_handle, last_inbound_at, suggested_theme, \
             suggested_theme_confidence, due_at, due_sort, sla_status, channel_kind) VALUES ",
        );
        for (n, c) in chunk.iter().enumerate() {
            let line = c.inbox.as_ref();
            let routed = p.routed.get(&c.id);
            let suggestion = suggested.get(&c.id);
            let (due_at, due_sort, sla_status) = clocks.columns(c.id);
            let values: [Arg; 25] = [
                c.id.into(),
                c.account.into(),
                c.contact_id.into(),
                c.status.as_str().into(),
                (&c.priority).into(),
                (&c.team).into(),
                json(&routed.map_or_else(Vec::new, |r| r.labels.clone())),
                (&c.theme).into(),
                (&c.kind).into(),
                routed.and_then(|r| r.target_group.clone()).into(),
                routed.map(|r| r.by.version).into(),
                routed.map(|r| r.by.rule_id).into(),
                c.first_message_at.into(),
                c.last_message_at.into(),
                now.into(),
                now.into(),
                // A case opened by an echo of ours has no citizen line: empty, not NULL (NULL
                // means "not computed yet" to the backfill).
                line.map_or(String::new(), |l| l.preview.clone()).into(),
                line.and_then(|l| l.author_name.clone()).into(),
                line.and_then(|l| l.author_handle.clone()).into(),
                line.map(|l| l.at).into(),
                suggestion.map(|s| s.theme.clone()).into(),
                suggestion.map(|s| s.confidence).into(),
                due_at.into(),
                due_sort.into(),
                sla_status.into(),
            ];
            q.push(if n > 0 { ", (" } else { "(" })
                .push_separated(values)
                .push(", (SELECT kind FROM channel_accounts WHERE id = ")
                .push_bind(c.account)
                .push("))");
        }
        q.execute(&mut *conn).await?;
    }
    let touched_sql = format!(
        "UPDATE cases SET \
           status = CASE WHEN $2 AND status IN ('resolved', 'waiting_on_citizen') THEN 'open' ELSE status END, \
           resolved_at = CASE WHEN $2 AND status = 'resolved' THEN NULL ELSE resolved_at END, \
           first_message_at = CASE WHEN first_message_at > $3 THEN $3 ELSE first_message_at END, \
           last_message_at = CASE WHEN last_message_at < $4 THEN $4 ELSE last_message_at END, \
           preview = CASE WHEN {NEWER} THEN $7 ELSE preview END, \
           author_name = CASE WHEN {NEWER} THEN $8 ELSE author_name END, \
           author_handle = CASE WHEN {NEWER} THEN $9 ELSE author_handle END, \
           last_inbound_at = CASE WHEN {NEWER} THEN $6 ELSE last_inbound_at END, \
           updated_at = $5 \
         WHERE id = $1",
    );
    for c in p.cases.values().filter(|c| c.touched && !c.is_new) {
        let l = c.inbox.as_ref();
        // Relative to the row as it is now, not as the batch read it: on PostgreSQL an agent
        // may have changed the case since.
        query(touched_sql.as_str())
            .bind(c.id)
            .bind(c.citizen_joined)
            .bind(c.first_message_at)
            .bind(c.last_message_at)
            .bind(now)
            .bind(l.map(|l| l.at))
            .bind(l.map(|l| l.preview.as_str()))
            .bind(l.and_then(|l| l.author_name.as_deref()))
            .bind(l.and_then(|l| l.author_handle.as_deref()))
            .execute(&mut *conn)
            .await?;
    }
    if !p.threads.is_empty() {
        let mut q = query("INSERT INTO case_threads (channel_account_id, thread_key, case_id) ");
        q.push_values(
            p.threads
                .iter()
                .map(|t| -> [Arg; 3] { [t.0.into(), (&t.1).into(), t.2.into()] }),
        );
        q.push(" ON CONFLICT (channel_account_id, thread_key) DO NOTHING");
        let done = q.execute(&mut *conn).await?;
        if done != p.threads.len() as u64 {
            // Another node opened a thread's case between our read and our write: fail, and
            // the retry joins its case.
            return Err(StoreError::Conflict(
                "a thread was claimed concurrently".into(),
            ));
        }
    }
    for m in &p.thread_moves {
        let done = query(
            "UPDATE case_threads SET case_id = $4 \
             WHERE channel_account_id = $1 AND thread_key = $2 AND case_id = $3",
        )
        .bind(m.account)
        .bind(&m.key)
        .bind(m.from)
        .bind(m.to)
        .execute(&mut *conn)
        .await?;
        if done != 1 {
            return Err(StoreError::Conflict(format!(
                "thread '{}' moved concurrently",
                m.key
            )));
        }
    }
    let rows: Vec<(&MessageRecord, &Uuid)> = p.messages.iter().zip(&p.message_identities).collect();
    for chunk in rows.chunks(ROWS) {
        let mut q = query(format!(
            "INSERT INTO messages ({MESSAGE_COLS}, author_identity_id) "
        ));
        q.push_values(chunk.iter().map(|(m, identity)| -> [Arg; 17] {
            [
                m.id.into(),
                m.case_id.into(),
                m.channel_account_id.into(),
                (&m.platform_message_id).into(),
                (&m.in_reply_to).into(),
                (&m.conversation_key).into(),
                m.direction.as_str().into(),
                m.visibility.as_str().into(),
                json(&m.author),
                (&m.text).into(),
                to_ms(m.sent_at).into(),
                to_ms(m.received_at).into(),
                json(&m.attachments),
                json(&m.edit_history),
                json(&m.flags),
                None::<i64>.into(),
                (**identity).into(),
            ]
        }));
        // A unique violation here means another node stored one of these messages between our
        // read and our write: the batch fails and is retried.
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The teams of `names` that hand out new cases, with their available agents' loads.
async fn team_pools(conn: &mut Conn<'_>, names: &[String]) -> Result<HashMap<String, TeamPool>> {
    let mut q = query(
        "SELECT name, auto_assign, max_open_per_agent FROM teams \
         WHERE auto_assign <> 'off' AND name IN ",
    );
    q.push_list(names);
    let teams: Vec<(String, String, Option<i64>)> = q.fetch_all(&mut *conn).await?;
    if teams.is_empty() {
        return Ok(Default::default());
    }
    let users: Vec<(Uuid, Json<Vec<String>>)> = query(
        "SELECT id, teams FROM users WHERE active = $1 AND role IN ('agent', 'teamlead') ORDER BY id",
    )
    .bind(true)
    .fetch_all(&mut *conn)
    .await?;
    let members: Vec<(String, Vec<String>)> = users
        .into_iter()
        .map(|(id, t)| (id.to_string(), t.0))
        .collect();
    let ids: Vec<&String> = members.iter().map(|(id, _)| id).collect();
    let mut open: HashMap<String, i64> = Default::default();
    for chunk in ids.chunks(500) {
        let mut q = query(
            "SELECT assignee, COUNT(*) FROM cases \
             WHERE status NOT IN ('resolved', 'closed') AND assignee IN ",
        );
        q.push_list(chunk.iter().copied())
            .push(" GROUP BY assignee");
        let rows: Vec<(String, i64)> = q.fetch_all(&mut *conn).await?;
        open.extend(rows);
    }
    let mut pools = HashMap::new();
    for (name, mode, cap) in teams {
        let last: Option<Option<String>> = query(
            "SELECT assignee FROM cases WHERE team = $1 AND assignee IS NOT NULL \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(&name)
        .scalar_optional(&mut *conn)
        .await?;
        let loads = members
            .iter()
            .filter(|(_, t)| t.contains(&name))
            .map(|(id, _)| (id.clone(), open.get(id).copied().unwrap_or(0)))
            .collect();
        pools.insert(
            name,
            TeamPool {
                mode,
                cap,
                loads,
                last: last.flatten(),
            },
        );
    }
    Ok(pools)
}

/// The effects of a written batch, in its transaction: auto-assignment of the new cases
/// (audited), then the live events of every new message (see `ingest_effects`). Returns the
/// events to broadcast after the commit.
async fn write_effects(
    conn: &mut Conn<'_>,
    plan: &Plan,
    outcomes: &[Result<IngestOutcome>],
    now: i64,
) -> Result<Vec<EventRecord>> {
    if !plan.routed.is_empty() {
        let routed: Vec<(&Uuid, &Routed)> = plan
            .new_cases
            .iter()
            .filter_map(|id| plan.routed.get(id).map(|r| (id, r)))
            .collect();
        let mut q = query("INSERT INTO audit_events (id, at, actor, action, case_id, detail) ");
        q.push_values(routed.iter().map(|(id, r)| -> [Arg; 6] {
            [
                Uuid::now_v7().into(),
                now.into(),
                ROUTING_ACTOR.into(),
                "case.routed".into(),
                (**id).into(),
                audit_detail(r).into(),
            ]
        }));
        q.execute(&mut *conn).await?;
    }
    let new_cases: Vec<(Uuid, Option<String>)> = plan
        .new_cases
        .iter()
        .map(|id| (*id, plan.cases[id].team.clone()))
        .collect();
    let teams = distinct(new_cases.iter().filter_map(|(_, t)| t.clone()));
    if !teams.is_empty() {
        let mut pools = team_pools(conn, &teams).await?;
        let given = assign_batch(&new_cases, &mut pools);
        for a in &given {
            query(
                "UPDATE cases SET assignee = $2, updated_at = $3 \
                 WHERE id = $1 AND assignee IS NULL",
            )
            .bind(a.case_id)
            .bind(&a.agent)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        if !given.is_empty() {
            let mut q = query("INSERT INTO audit_events (id, at, actor, action, case_id, detail) ");
            q.push_values(given.iter().map(|a| -> [Arg; 6] {
                [
                    Uuid::now_v7().into(),
                    now.into(),
                    AUTO_ASSIGN_ACTOR.into(),
                    "case.auto_assigned".into(),
                    a.case_id.into(),
                    serde_json::json!({"assignee": a.agent, "mode": a.mode}).into(),
                ]
            }));
            q.execute(&mut *conn).await?;
        }
    }
    let ids = distinct(
        outcomes
            .iter()
            .flatten()
            .filter(|o| o.created)
            .map(|o| o.message.case_id),
    );
    let mut cases = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut q =
            query("SELECT id, status, team, assignee, department_id FROM cases WHERE id IN ");
        q.push_list(chunk.iter().copied());
        let rows: Vec<CaseScopeRow> = q.fetch_all(&mut *conn).await?;
        cases.extend(rows.into_iter().map(|r| (r.id, r)));
    }
    insert_events(conn, &events(outcomes, &cases)).await
}

/// A batch's plan, one result per item, and the instant it was written (ms).
type Ingested = (Plan, Vec<Result<IngestOutcome>>, i64);

/// Ingests a batch's rows in the caller's transaction: threading, routing of the new cases, the
/// rows, their clocks. One result per item, in order; the caller then forwards the routed cases
/// and writes the effects ([`write_effects`]) in the same transaction. An item that cannot be
/// stored alone (an echo with no case) fails alone; a store error fails the batch.
async fn ingest_rows(
    conn: &mut Conn<'_>,
    items: &[IngestItem],
    reopen_window: chrono::Duration,
    sla: &SlaState,
    routing: &RoutingCache,
    themes: &crate::themes::ThemeCache,
) -> Result<Ingested> {
    let mut found = find_for_batch(conn, items).await?;
    let resolved: Vec<Uuid> = found
        .cases
        .values()
        .filter(|c| c.status == CaseStatus::Resolved)
        .map(|c| c.id)
        .collect();
    for r in crate::surveys::pending(conn, &resolved).await? {
        found.surveys.insert(
            r.case_id,
            webcare_domain::survey::PendingSurvey {
                kind: webcare_domain::survey::SurveyKind::parse(&r.kind).unwrap_or_default(),
                sent_at: crate::time::from_ms(r.sent_at),
                window: chrono::Duration::days(r.answer_days),
            },
        );
    }
    let mut plan = crate::ingest_plan::plan(items, found, reopen_window, flags_for);
    if !plan.new_cases.is_empty() {
        if let Some(rules) = crate::routing::in_force(conn, routing).await? {
            route(conn, sla, &rules, &mut plan).await?;
        }
    }
    let now = to_ms(Utc::now());
    let suggested = if plan.new_cases.is_empty() {
        BTreeMap::new()
    } else {
        let model = crate::themes::model(conn, themes).await?;
        crate::themes::suggestions(&model, first_citizen_texts(&plan))
    };
    let clocks = crate::sla::plan_new_cases(conn, sla, &plan).await?;
    write_plan(conn, &plan, &suggested, &clocks, now).await?;
    crate::surveys::write_answers(conn, &plan.survey_answers).await?;
    crate::surveys::withdraw(conn, &plan.reopened, now).await?;
    crate::sla::on_inbound_many(conn, sla, &plan, clocks).await?;
    let outcomes: Vec<_> = std::mem::take(&mut plan.results)
        .into_iter()
        .map(|r| match r {
            ItemResult::Existing(message) => Ok(IngestOutcome {
                message: *message,
                created: false,
                new_case: false,
            }),
            ItemResult::New { index, new_case } => Ok(IngestOutcome {
                message: plan.messages[index].clone(),
                created: true,
                new_case,
            }),
            ItemResult::Failed(e) => Err(e),
        })
        .collect();
    Ok((plan, outcomes, now))
}

/// Runs the rules in force on the plan's new cases, with their accounts' kinds and opening
/// hours.
async fn route(
    conn: &mut Conn<'_>,
    sla: &SlaState,
    rules: &InForce,
    plan: &mut Plan,
) -> Result<()> {
    let cfg = crate::sla::config(conn, sla).await?;
    let ids = distinct(plan.new_cases.iter().map(|id| plan.cases[id].account));
    let mut q = query("SELECT id, kind, calendar_id FROM channel_accounts WHERE id IN ");
    q.push_list(ids.iter().copied());
    let rows: Vec<(Uuid, String, Option<Uuid>)> = q.fetch_all(&mut *conn).await?;
    let mut accounts = HashMap::new();
    for (id, kind, calendar) in rows {
        let kind: ChannelKind = crate::sql::parse(&kind, "channel kind")?;
        accounts.insert(id, (kind, calendar));
    }
    route_new_cases(plan, rules, |id| {
        accounts.get(&id).map(|(kind, calendar)| AccountFacts {
            kind: *kind,
            calendar: cfg.calendar(*calendar),
        })
    });
    Ok(())
}

/// Forwards each new case a rule sends to a department, as an agent's forward would (the
/// department clock starts), in the ingest transaction. A department that no longer exists is
/// skipped: routing never fails an ingest.
async fn forward_routed(
    conn: &mut Conn<'_>,
    sla: &SlaState,
    openklant: bool,
    plan: &Plan,
) -> Result<()> {
    let wanted: Vec<(Uuid, Uuid, String)> = plan
        .new_cases
        .iter()
        .filter_map(|id| {
            plan.routed
                .get(id)
                .and_then(|r| r.department_id.map(|d| (*id, d, r.rule_name.clone())))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut q = query("SELECT id, name FROM departments WHERE id IN ");
    q.push_list(distinct(wanted.iter().map(|w| w.1)));
    let known: HashMap<Uuid, String> = q
        .fetch_all::<(Uuid, String)>(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let now = Utc::now();
    for (case_id, department_id, rule) in wanted {
        let Some(name) = known.get(&department_id) else {
            tracing::warn!(%case_id, %department_id, "a routing rule names a department that does not exist; not forwarded");
            continue;
        };
        let before = crate::agent::case_in(conn, case_id).await?;
        let w = crate::routing::forward_write(before, department_id, &rule);
        crate::agent::apply_case_write(conn, &w, now, None).await?;
        crate::sla::case_changed(conn, sla, &w.sla_effects(), now).await?;
        // A zaak the same rule asked for gets its status and rol (after its create).
        let jobs = crate::zaak::follow_ups(&w, ROUTING_ACTOR, Some(name));
        crate::zaak::enqueue_follow_ups(conn, case_id, &jobs, now).await?;
        crate::klantcontact::enqueue_forward(conn, openklant, &w, now).await?;
    }
    Ok(())
}

/// The routing rules' "create zaak" of each new case, in the ingest transaction.
async fn zaak_routed(conn: &mut Conn<'_>, plan: &Plan) -> Result<()> {
    let now = Utc::now();
    for id in &plan.new_cases {
        if let Some((r, zaaktype)) = plan
            .routed
            .get(id)
            .and_then(|r| r.create_zaak.as_deref().map(|z| (r, z)))
        {
            crate::zaak::enqueue_routed_create(conn, *id, zaaktype, &r.rule_name, now).await?;
        }
    }
    Ok(())
}

/// Ingests a batch in one write transaction; broadcasts its events after the commit.
async fn ingest_tx<S: SqlCore + ?Sized>(
    s: &S,
    batch: &[IngestItem],
) -> Result<Vec<Result<IngestOutcome>>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = s.db().begin().await?;
    let mut conn = tx.conn();
    let (plan, out, now) = ingest_rows(
        &mut conn,
        batch,
        s.reopen_window(),
        s.sla(),
        s.routing(),
        s.themes(),
    )
    .await?;
    zaak_routed(&mut conn, &plan).await?;
    // Each new message's klantcontact before the forward's internetaak (which points at it).
    if s.openklant() {
        let stored: Vec<(Uuid, Uuid)> = out
            .iter()
            .flatten()
            .filter(|o| o.created)
            .map(|o| (o.message.case_id, o.message.id))
            .collect();
        crate::klantcontact::enqueue_messages(&mut conn, &stored, Utc::now()).await?;
    }
    forward_routed(&mut conn, s.sla(), s.openklant(), &plan).await?;
    let events = write_effects(&mut conn, &plan, &out, now).await?;
    tx.commit().await?;
    s.sla().changed();
    crate::agent_events::broadcast(s.events(), &events);
    Ok(out)
}

async fn ingest_one_with_retry<S: SqlCore + ?Sized>(
    s: &S,
    item: IngestItem,
) -> Result<IngestOutcome> {
    let mut attempt = 0;
    loop {
        match ingest_tx(s, std::slice::from_ref(&item)).await {
            Ok(mut v) => return v.remove(0),
            Err(e)
                if attempt < 3
                    && (e.is_transient()
                        || e.is_unique_violation()
                        || matches!(e, StoreError::Conflict(_))) =>
            {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[async_trait]
impl<S: SqlCore> Ingest for S {
    async fn ingest_batch(&self, batch: Vec<IngestItem>) -> Vec<Result<IngestOutcome>> {
        // Group commit: one transaction for the whole batch. If anything in it fails (a race
        // with another node, a transient error), fall back to one transaction per message so
        // one bad item cannot sink the others.
        match ingest_tx(self, &batch).await {
            Ok(results) => results,
            Err(e) => {
                if batch.len() > 1 {
                    tracing::debug!(error = %e, size = batch.len(), "batch ingest failed; retrying per message");
                }
                let mut out = Vec::with_capacity(batch.len());
                for item in batch {
                    out.push(ingest_one_with_retry(self, item).await);
                }
                out
            }
        }
    }

    async fn get_message(&self, account: Uuid, pmid: &str) -> Result<Option<MessageRecord>> {
        let row: Option<MessageRow> = query(format!(
            "SELECT {MESSAGE_COLS} FROM messages \
             WHERE channel_account_id = $1 AND platform_message_id = $2"
        ))
        .bind(account)
        .bind(pmid)
        .fetch_optional(self.db().read())
        .await?;
        row.map(TryInto::try_into).transpose()
    }
}
