//! Ingesting a batch of messages inside one write transaction, set-wise: a handful of queries
//! find everything the batch refers to (stored duplicates, author identities, threading
//! evidence, clocks), the pure planner (`ingest_plan.rs`, with the threading decision from the
//! domain crate) walks the messages in order, and multi-row statements write the result. The
//! cost is a few statements per batch instead of a dozen per message. Written once for both
//! backends by [`ingest_fns!`].
//!
//! Race safety across nodes (PostgreSQL) comes from constraints, not locks: the unique key on
//! (account, platform message id) makes a duplicate insert fail, the primary key of
//! `case_threads` makes two nodes agree on one case per thread key, and a thread key only moves
//! from the case it was seen on. A failed transaction is retried, and the retry sees the
//! winner's rows.

use crate::ingest_plan::{CaseState, Found, KnownIdentity};
use uuid::Uuid;
use webcare_domain::model::CaseStatus;

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
    pub theme: Option<String>,
    pub kind: Option<String>,
    pub priority: String,
    pub team: Option<String>,
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

macro_rules! ingest_fns {
    ($db:ty) => {
        pub(crate) async fn find_message(
            pool: &sqlx::Pool<$db>,
            account: uuid::Uuid,
            pmid: &str,
        ) -> $crate::Result<Option<$crate::records::MessageRecord>> {
            let sql = format!(
                "SELECT {} FROM messages WHERE channel_account_id = $1 AND platform_message_id = $2",
                $crate::sql::MESSAGE_COLS
            );
            let row: Option<$crate::sql::MessageRow> = sqlx::query_as(&sql)
                .bind(account)
                .bind(pmid)
                .fetch_optional(pool)
                .await?;
            row.map(TryInto::try_into).transpose()
        }

        /// `(VALUES (a1, b1), (a2, b2), ...) AS p`, to be joined on `p.column1` and `p.column2`
        /// (the default column names of VALUES in both databases). Joining the pairs makes each
        /// one a probe of the (a, b) index on both databases; two separate `IN` lists cross every
        /// account with every id (PostgreSQL then scans the table once it grows), and SQLite scans
        /// the table for a row-value `IN (VALUES ...)`.
        fn push_pairs<'q, A, B>(q: &mut sqlx::QueryBuilder<'q, $db>, pairs: &'q [(A, B)])
        where
            A: 'q + sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send + Sync,
            B: 'q + sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send + Sync,
        {
            q.push("(VALUES ");
            for (n, (a, b)) in pairs.iter().enumerate() {
                if n > 0 {
                    q.push(", ");
                }
                q.push("(").push_bind(a).push(", ").push_bind(b).push(")");
            }
            q.push(") AS p");
        }

        /// `SELECT <select> FROM <pairs> JOIN <rest>`, or nothing when there are no pairs.
        async fn select_pairs<'q, A, B, R>(
            tx: &mut sqlx::Transaction<'_, $db>,
            select: &str,
            pairs: &'q [(A, B)],
            rest: &str,
        ) -> $crate::Result<Vec<R>>
        where
            A: 'q + sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send + Sync,
            B: 'q + sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send + Sync,
            R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
        {
            if pairs.is_empty() {
                return Ok(Vec::new());
            }
            let mut q = sqlx::QueryBuilder::<$db>::new(format!("SELECT {select} FROM "));
            push_pairs(&mut q, pairs);
            // SQLite: CROSS JOIN keeps the pairs as the outer loop. Without statistics it may
            // instead scan a whole partial index (messages_reply_to) and probe the pairs, which
            // grows with the table (seen as 2,300 -> 343 msgs/s over 200,000 messages).
            // PostgreSQL plans this join well by cost and has no CROSS JOIN ... ON.
            let join = if <$db as sqlx::Database>::NAME == "SQLite" { " CROSS JOIN " } else { " JOIN " };
            q.push(join).push(rest);
            Ok(q.build_query_as().fetch_all(&mut **tx).await?)
        }

        /// Everything the batch refers to, in at most six queries.
        async fn find_for_batch(
            tx: &mut sqlx::Transaction<'_, $db>,
            items: &[$crate::IngestItem],
        ) -> $crate::Result<$crate::ingest_plan::Found> {
            use $crate::ingest::*;
            use $crate::ingest_plan::Found;
            use webcare_domain::Visibility;
            let mut found = Found::default();
            // (account, value) pairs the batch names.
            let pairs = |f: &dyn Fn(&$crate::IngestItem) -> Option<String>| -> Vec<(uuid::Uuid, String)> {
                distinct(items.iter().filter_map(|i| f(i).map(|v| (i.channel_account_id, v))))
            };
            let pmids = pairs(&|i| Some(i.message.platform_message_id.clone()));
            let parents = pairs(&|i| i.message.in_reply_to.clone());
            let keys = pairs(&|i| i.message.conversation_key.clone());
            let authors = pairs(&|i| Some(i.message.author.platform_user_id.clone()));

            let rows: Vec<$crate::sql::MessageRow> = select_pairs(tx, $crate::sql::MESSAGE_COLS, &pmids,
                "messages ON messages.channel_account_id = p.column1 AND messages.platform_message_id = p.column2").await?;
            for r in rows {
                let r: $crate::records::MessageRecord = r.try_into()?;
                found.existing.insert((r.channel_account_id, r.platform_message_id.clone()), r);
            }

            let rows: Vec<$crate::sql::IdentityRow> = select_pairs(tx,
                "i.id, i.contact_id, i.channel_account_id, i.platform_user_id, i.handle, i.display_name", &authors,
                "contact_identities i ON i.channel_account_id = p.column1 AND i.platform_user_id = p.column2").await?;
            found.identities.extend(rows.into_iter().map(known_identity));

            // The cases of stored parents and of stored thread keys: (acc, key) -> case.
            let by_key = [
                ("m.channel_account_id", "m.platform_message_id", "messages m ON m.channel_account_id = p.column1 AND m.platform_message_id = p.column2 JOIN cases c ON c.id = m.case_id", &parents),
                ("t.channel_account_id", "t.thread_key", "case_threads t ON t.channel_account_id = p.column1 AND t.thread_key = p.column2 JOIN cases c ON c.id = t.case_id", &keys),
            ];
            for (n, (acc_col, key_col, join, values)) in by_key.into_iter().enumerate() {
                let select = format!("{acc_col} AS acc, {key_col} AS k, CAST(0 AS BIGINT) AS s, {CASE_STATE_COLS}");
                let rows: Vec<EvidenceRow> = select_pairs(tx, &select, values, join).await?;
                for r in rows {
                    let (acc, k, _, case) = r.into_found(&mut found)?;
                    if n == 0 { &mut found.parents } else { &mut found.threads }.insert((acc, k), case);
                }
            }

            // Stored replies to the batch's messages (a parent that arrives after its child).
            let select = format!("m.channel_account_id AS acc, m.in_reply_to AS k, m.sent_at AS s, {CASE_STATE_COLS}");
            let rows: Vec<EvidenceRow> = select_pairs(tx, &select, &pmids,
                "messages m ON m.channel_account_id = p.column1 AND m.in_reply_to = p.column2 \
                 JOIN cases c ON c.id = m.case_id WHERE m.in_reply_to IS NOT NULL").await?;
            for r in rows {
                let (acc, k, s, case) = r.into_found(&mut found)?;
                let e = found.children.entry((acc, k)).or_insert((s, case));
                if s < e.0 {
                    *e = (s, case);
                }
            }

            // The cases of known authors who write privately.
            let contacts: Vec<(uuid::Uuid, uuid::Uuid)> = distinct(items.iter().filter(|i| i.message.visibility == Visibility::Private).filter_map(|i| {
                found.identities.get(&(i.channel_account_id, i.message.author.platform_user_id.clone())).map(|k| (k.contact_id, i.channel_account_id))
            }));
            let select = format!("c.channel_account_id AS acc, '' AS k, CAST(0 AS BIGINT) AS s, {CASE_STATE_COLS}");
            let rows: Vec<EvidenceRow> = select_pairs(tx, &select, &contacts,
                "cases c ON c.contact_id = p.column1 AND c.channel_account_id = p.column2 WHERE c.status <> 'closed'").await?;
            for r in rows {
                let contact = r.contact_id;
                let (acc, _, _, case) = r.into_found(&mut found)?;
                found.contact_cases.entry((acc, contact)).or_default().push(case);
            }
            Ok(found)
        }

        /// Writes a plan: contacts, identities, cases, thread keys, messages.
        async fn write_plan(
            tx: &mut sqlx::Transaction<'_, $db>,
            p: &$crate::ingest_plan::Plan,
            now: i64,
        ) -> $crate::Result<()> {
            use sqlx::types::Json;
            use $crate::time::to_ms;
            use $crate::StoreError;
            // Well under both databases' bind limits for any batch the ingestor builds.
            const ROWS: usize = 500;
            for chunk in p.contacts.chunks(ROWS) {
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO contacts (id, display_name, created_at, updated_at) ");
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(c.id).push_bind(&c.display_name).push_bind(now).push_bind(now);
                });
                q.build().execute(&mut **tx).await?;
            }
            for chunk in p.identities.chunks(ROWS) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO contact_identities (id, contact_id, channel_account_id, platform_user_id, handle, display_name, created_at) ",
                );
                q.push_values(chunk, |mut b, i| {
                    b.push_bind(i.id).push_bind(i.contact_id).push_bind(i.account).push_bind(&i.platform_user_id)
                        .push_bind(&i.handle).push_bind(&i.display_name).push_bind(now);
                });
                q.build().execute(&mut **tx).await?;
            }
            for (id, (handle, name)) in &p.identity_updates {
                sqlx::query("UPDATE contact_identities SET handle = $2, display_name = $3 WHERE id = $1")
                    .bind(id).bind(handle).bind(name)
                    .execute(&mut **tx).await?;
            }
            let new_cases: Vec<&$crate::ingest_plan::CaseState> = p.new_cases.iter().map(|id| &p.cases[id]).collect();
            for chunk in new_cases.chunks(ROWS) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO cases (id, channel_account_id, contact_id, status, priority, team, labels, \
                     theme, kind, target_group, routing_version, routing_rule_id, \
                     first_message_at, last_message_at, created_at, updated_at, \
                     preview, author_name, author_handle, last_inbound_at, channel_kind) ",
                );
                q.push_values(chunk, |mut b, c| {
                    let line = c.inbox.as_ref();
                    let routed = p.routed.get(&c.id);
                    b.push_bind(c.id).push_bind(c.account).push_bind(c.contact_id).push_bind(c.status.as_str())
                        .push_bind(&c.priority).push_bind(&c.team)
                        .push_bind(Json(routed.map_or_else(Vec::new, |r| r.labels.clone())))
                        .push_bind(&c.theme).push_bind(&c.kind)
                        .push_bind(routed.and_then(|r| r.target_group.clone()))
                        .push_bind(routed.map(|r| r.by.version)).push_bind(routed.map(|r| r.by.rule_id))
                        .push_bind(c.first_message_at).push_bind(c.last_message_at).push_bind(now).push_bind(now)
                        // A case opened by an echo of ours has no citizen line: empty, not NULL
                        // (NULL means "not computed yet" to the backfill).
                        .push_bind(line.map_or(String::new(), |l| l.preview.clone()))
                        .push_bind(line.and_then(|l| l.author_name.clone()))
                        .push_bind(line.and_then(|l| l.author_handle.clone()))
                        .push_bind(line.map(|l| l.at))
                        .push("(SELECT kind FROM channel_accounts WHERE id = ")
                        .push_bind_unseparated(c.account)
                        .push_unseparated(")");
                });
                q.build().execute(&mut **tx).await?;
            }
            // The batch's latest citizen line replaces the stored one unless that is of a later
            // message (out-of-order delivery).
            const NEWER: &str = "($6 IS NOT NULL AND (last_inbound_at IS NULL OR last_inbound_at <= $6))";
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
                // Relative to the row as it is now, not as the batch read it: on PostgreSQL an
                // agent may have changed the case since.
                sqlx::query(&touched_sql)
                .bind(c.id).bind(c.citizen_joined).bind(c.first_message_at).bind(c.last_message_at).bind(now)
                .bind(l.map(|l| l.at)).bind(l.map(|l| &l.preview)).bind(l.and_then(|l| l.author_name.as_ref()))
                .bind(l.and_then(|l| l.author_handle.as_ref()))
                .execute(&mut **tx).await?;
            }
            if !p.threads.is_empty() {
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO case_threads (channel_account_id, thread_key, case_id) ");
                q.push_values(&p.threads, |mut b, t| {
                    b.push_bind(t.0).push_bind(&t.1).push_bind(t.2);
                });
                q.push(" ON CONFLICT (channel_account_id, thread_key) DO NOTHING");
                let done = q.build().execute(&mut **tx).await?;
                if done.rows_affected() != p.threads.len() as u64 {
                    // Another node opened a thread's case between our read and our write: fail,
                    // and the retry joins its case.
                    return Err(StoreError::Conflict("a thread was claimed concurrently".into()));
                }
            }
            for m in &p.thread_moves {
                let done = sqlx::query(
                    "UPDATE case_threads SET case_id = $4 WHERE channel_account_id = $1 AND thread_key = $2 AND case_id = $3",
                )
                .bind(m.account).bind(&m.key).bind(m.from).bind(m.to)
                .execute(&mut **tx).await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict(format!("thread '{}' moved concurrently", m.key)));
                }
            }
            let rows: Vec<(&$crate::records::MessageRecord, &uuid::Uuid)> = p.messages.iter().zip(&p.message_identities).collect();
            for chunk in rows.chunks(ROWS) {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "INSERT INTO messages ({}, author_identity_id) ",
                    $crate::sql::MESSAGE_COLS
                ));
                q.push_values(chunk, |mut b, (m, identity)| {
                    b.push_bind(m.id).push_bind(m.case_id).push_bind(m.channel_account_id)
                        .push_bind(&m.platform_message_id).push_bind(&m.in_reply_to).push_bind(&m.conversation_key)
                        .push_bind(m.direction.as_str()).push_bind(m.visibility.as_str())
                        .push_bind(Json(&m.author)).push_bind(&m.text).push_bind(to_ms(m.sent_at))
                        .push_bind(to_ms(m.received_at)).push_bind(Json(&m.attachments))
                        .push_bind(Json(&m.edit_history)).push_bind(Json(&m.flags))
                        .push_bind(None::<i64>).push_bind(**identity);
                });
                // A unique violation here means another node stored one of these messages
                // between our read and our write: the batch fails and is retried.
                q.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// The event log's insert, in this backend's transaction (until this module uses the seam).
            async fn insert_events(
                tx: &mut sqlx::Transaction<'_, $db>,
                events: &[$crate::agent_events::NewEvent],
            ) -> $crate::Result<Vec<$crate::agent_events::EventRecord>> {
                $crate::agent_events::insert_events(&mut $crate::db::Conn::from(&mut **tx), events).await
            }

        /// The teams of `names` that hand out new cases, with their available agents' loads.
        async fn team_pools(
            tx: &mut sqlx::Transaction<'_, $db>,
            names: &[String],
        ) -> $crate::Result<std::collections::HashMap<String, webcare_domain::assign::TeamPool>> {
            use webcare_domain::assign::TeamPool;
            use sqlx::types::Json;
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "SELECT name, auto_assign, max_open_per_agent FROM teams WHERE auto_assign <> 'off' AND name IN ",
            );
            $crate::sql::push_list(&mut q, names);
            let teams: Vec<(String, String, Option<i64>)> = q.build_query_as().fetch_all(&mut **tx).await?;
            if teams.is_empty() {
                return Ok(Default::default());
            }
            let users: Vec<(uuid::Uuid, Json<Vec<String>>)> = sqlx::query_as(
                "SELECT id, teams FROM users WHERE active = $1 AND role IN ('agent', 'teamlead') ORDER BY id",
            )
            .bind(true)
            .fetch_all(&mut **tx)
            .await?;
            let members: Vec<(String, Vec<String>)> =
                users.into_iter().map(|(id, t)| (id.to_string(), t.0)).collect();
            let ids: Vec<&String> = members.iter().map(|(id, _)| id).collect();
            let mut open: std::collections::HashMap<String, i64> = Default::default();
            for chunk in ids.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT assignee, COUNT(*) FROM cases WHERE status NOT IN ('resolved', 'closed') AND assignee IN ",
                );
                $crate::sql::push_list(&mut q, chunk.iter().copied());
                q.push(" GROUP BY assignee");
                let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut **tx).await?;
                open.extend(rows);
            }
            let mut pools = std::collections::HashMap::new();
            for (name, mode, cap) in teams {
                let last: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT assignee FROM cases WHERE team = $1 AND assignee IS NOT NULL \
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .bind(&name)
                .fetch_optional(&mut **tx)
                .await?;
                let loads = members
                    .iter()
                    .filter(|(_, t)| t.contains(&name))
                    .map(|(id, _)| (id.clone(), open.get(id).copied().unwrap_or(0)))
                    .collect();
                pools.insert(name, TeamPool { mode, cap, loads, last: last.flatten() });
            }
            Ok(pools)
        }

        /// The effects of a written batch, in its transaction: auto-assignment of the new cases
        /// (audited), then the live events of every new message (see `ingest_effects`). Returns
        /// the events to broadcast after the commit.
        pub(crate) async fn write_effects(
            tx: &mut sqlx::Transaction<'_, $db>,
            plan: &$crate::ingest_plan::Plan,
            outcomes: &[$crate::Result<$crate::records::IngestOutcome>],
            now: i64,
        ) -> $crate::Result<Vec<$crate::agent_events::EventRecord>> {
            use $crate::ingest_effects::{events, CaseScopeRow, AUTO_ASSIGN_ACTOR};
            use webcare_domain::assign::assign_batch;
            use sqlx::types::Json;
            if !plan.routed.is_empty() {
                let routed: Vec<(&uuid::Uuid, &$crate::routing::Routed)> = plan.new_cases.iter()
                    .filter_map(|id| plan.routed.get(id).map(|r| (id, r))).collect();
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO audit_events (id, at, actor, action, case_id, detail) ",
                );
                q.push_values(&routed, |mut b, (id, r)| {
                    b.push_bind(uuid::Uuid::now_v7()).push_bind(now).push_bind($crate::routing::ROUTING_ACTOR)
                        .push_bind("case.routed").push_bind(**id)
                        .push_bind(Json($crate::routing::audit_detail(r)));
                });
                q.build().execute(&mut **tx).await?;
            }
            let new_cases: Vec<(uuid::Uuid, Option<String>)> =
                plan.new_cases.iter().map(|id| (*id, plan.cases[id].team.clone())).collect();
            let teams = $crate::ingest::distinct(new_cases.iter().filter_map(|(_, t)| t.clone()));
            if !teams.is_empty() {
                let mut pools = team_pools(tx, &teams).await?;
                let given = assign_batch(&new_cases, &mut pools);
                for a in &given {
                    sqlx::query("UPDATE cases SET assignee = $2, updated_at = $3 WHERE id = $1 AND assignee IS NULL")
                        .bind(a.case_id).bind(&a.agent).bind(now)
                        .execute(&mut **tx).await?;
                }
                if !given.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit_events (id, at, actor, action, case_id, detail) ",
                    );
                    q.push_values(&given, |mut b, a| {
                        b.push_bind(uuid::Uuid::now_v7()).push_bind(now).push_bind(AUTO_ASSIGN_ACTOR)
                            .push_bind("case.auto_assigned").push_bind(a.case_id)
                            .push_bind(Json(serde_json::json!({"assignee": a.agent, "mode": a.mode})));
                    });
                    q.build().execute(&mut **tx).await?;
                }
            }
            let ids = $crate::ingest::distinct(outcomes.iter().flatten().filter(|o| o.created).map(|o| o.message.case_id));
            let mut cases = std::collections::HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, status, team, assignee, department_id FROM cases WHERE id IN ",
                );
                $crate::sql::push_list(&mut q, chunk.iter().copied());
                let rows: Vec<CaseScopeRow> = q.build_query_as().fetch_all(&mut **tx).await?;
                cases.extend(rows.into_iter().map(|r| (r.id, r)));
            }
            insert_events(tx, &events(outcomes, &cases)).await
        }

        /// Ingests a batch's rows in the caller's transaction: threading, routing of the new
        /// cases, the rows, their clocks. One result per item, in order; the caller then forwards
        /// the routed cases and writes the effects ([`write_effects`]) in the same transaction. An
        /// item that cannot be stored alone (an echo with no case) fails alone; a store error
        /// fails the batch.
        pub(crate) async fn ingest_rows(
            tx: &mut sqlx::Transaction<'_, $db>,
            items: &[$crate::IngestItem],
            reopen_window: chrono::Duration,
            sla: &$crate::sla::SlaState,
            routing: &$crate::routing::RoutingCache,
        ) -> $crate::Result<($crate::ingest_plan::Plan, Vec<$crate::Result<$crate::records::IngestOutcome>>, i64)> {
            use $crate::ingest_plan::ItemResult;
            use $crate::records::IngestOutcome;
            let found = find_for_batch(tx, items).await?;
            let mut plan = $crate::ingest_plan::plan(items, found, reopen_window, $crate::ingest::flags_for);
            if !plan.new_cases.is_empty() {
                if let Some(rules) = $crate::routing::in_force(&mut **tx, routing).await? {
                    route(tx, sla, &rules, &mut plan).await?;
                }
            }
            let now = $crate::time::to_ms(chrono::Utc::now());
            write_plan(tx, &plan, now).await?;
            $crate::sla::on_inbound_many(&mut $crate::db::Conn::from(&mut **tx), sla, &plan).await?;
            let outcomes: Vec<_> = std::mem::take(&mut plan.results).into_iter().map(|r| match r {
                ItemResult::Existing(message) => Ok(IngestOutcome { message: *message, created: false, new_case: false }),
                ItemResult::New { index, new_case } => Ok(IngestOutcome { message: plan.messages[index].clone(), created: true, new_case }),
                ItemResult::Failed(e) => Err(e),
            }).collect();
            Ok((plan, outcomes, now))
        }

        /// Runs the rules in force on the plan's new cases, with their accounts' kinds and
        /// opening hours.
        async fn route(
            tx: &mut sqlx::Transaction<'_, $db>,
            sla: &$crate::sla::SlaState,
            rules: &$crate::routing::InForce,
            plan: &mut $crate::ingest_plan::Plan,
        ) -> $crate::Result<()> {
            let cfg = $crate::sla::config(&mut $crate::db::Conn::from(&mut **tx), sla).await?;
            let ids = $crate::ingest::distinct(plan.new_cases.iter().map(|id| plan.cases[id].account));
            let mut q = sqlx::QueryBuilder::<$db>::new("SELECT id, kind, calendar_id FROM channel_accounts WHERE id IN ");
            $crate::sql::push_list(&mut q, ids.iter().copied());
            let rows: Vec<(uuid::Uuid, String, Option<uuid::Uuid>)> = q.build_query_as().fetch_all(&mut **tx).await?;
            let mut accounts = std::collections::HashMap::new();
            for (id, kind, calendar) in rows {
                let kind: webcare_domain::ChannelKind = $crate::sql::parse(&kind, "channel kind")?;
                accounts.insert(id, (kind, calendar));
            }
            $crate::routing::route_new_cases(plan, rules, |id| {
                accounts.get(&id).map(|(kind, calendar)| $crate::routing::AccountFacts {
                    kind: *kind,
                    calendar: cfg.calendar(*calendar),
                })
            });
            Ok(())
        }
    };
}
pub(crate) use ingest_fns;

/// Implements [`crate::Ingest`] for one backend (the last area still instantiated per backend).
macro_rules! impl_ingest_store {
    ($store:ty, $db:ty) => {
        $crate::ingest::ingest_fns!($db);
        use $crate::records::*;
        use $crate::sql::push_list;
        use $crate::{Ingest, IngestItem, Result, StoreError};
        use async_trait::async_trait;
        use chrono::Utc;
        use sqlx::QueryBuilder;
        use uuid::Uuid;

        #[async_trait]
        impl Ingest for $store {
            async fn ingest_batch(&self, batch: Vec<IngestItem>) -> Vec<Result<IngestOutcome>> {
                // Group commit: one transaction for the whole batch. If anything in it fails (a
                // race with another node, a transient error), fall back to one transaction per
                // message so one bad item cannot sink the others.
                match self.ingest_tx(&batch).await {
                    Ok(results) => results,
                    Err(e) => {
                        if batch.len() > 1 {
                            tracing::debug!(error = %e, size = batch.len(), "batch ingest failed; retrying per message");
                        }
                        let mut out = Vec::with_capacity(batch.len());
                        for item in batch {
                            out.push(self.ingest_one_with_retry(item).await);
                        }
                        out
                    }
                }
            }

            async fn get_message(&self, account: Uuid, pmid: &str) -> Result<Option<MessageRecord>> {
                find_message(&self.pool, account, pmid).await
            }
        }

        impl $store {
            async fn ingest_tx(&self, batch: &[IngestItem]) -> Result<Vec<Result<IngestOutcome>>> {
                if batch.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let (plan, out, now) = ingest_rows(&mut tx, batch, self.reopen_window, &self.sla, &self.routing).await?;
                self.forward_routed(&mut tx, &plan).await?;
                let events = write_effects(&mut tx, &plan, &out, now).await?;
                tx.commit().await?;
                self.sla.changed();
                $crate::agent_events::broadcast(&self.events, &events);
                Ok(out)
            }

            /// Forwards each new case a rule sends to a department, as an agent's forward would
            /// (the department clock starts), in the ingest transaction. A department that no
            /// longer exists is skipped: routing never fails an ingest.
            async fn forward_routed(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                plan: &crate::ingest_plan::Plan,
            ) -> Result<()> {
                let wanted: Vec<(Uuid, Uuid, String)> = plan.new_cases.iter()
                    .filter_map(|id| plan.routed.get(id).and_then(|r| r.department_id.map(|d| (*id, d, r.rule_name.clone()))))
                    .collect();
                if wanted.is_empty() {
                    return Ok(());
                }
                let mut q = QueryBuilder::<$db>::new("SELECT id FROM departments WHERE id IN ");
                push_list(&mut q, crate::ingest::distinct(wanted.iter().map(|w| w.1)));
                let known: Vec<Uuid> = q.build_query_scalar().fetch_all(&mut **tx).await?;
                let now = Utc::now();
                for (case_id, department_id, rule) in wanted {
                    if !known.contains(&department_id) {
                        tracing::warn!(%case_id, %department_id, "a routing rule names a department that does not exist; not forwarded");
                        continue;
                    }
                    let before = $crate::agent::case_in(&mut $crate::db::Conn::from(&mut **tx), case_id).await?;
                    let w = crate::routing::forward_write(before, department_id, &rule);
                    $crate::agent::apply_case_write(&mut $crate::db::Conn::from(&mut **tx), &w, now, None).await?;
                    $crate::sla::case_changed(&mut $crate::db::Conn::from(&mut **tx), &self.sla, &w.sla_effects(), now).await?;
                }
                Ok(())
            }

            async fn ingest_one_with_retry(&self, item: IngestItem) -> Result<IngestOutcome> {
                let mut attempt = 0;
                loop {
                    match self.ingest_tx(std::slice::from_ref(&item)).await {
                        Ok(mut v) => return v.remove(0),
                        Err(e) if attempt < 3 && (e.is_transient() || e.is_unique_violation() || matches!(e, StoreError::Conflict(_))) => {
                            attempt += 1;
                            tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }

    };
}
pub(crate) use impl_ingest_store;
