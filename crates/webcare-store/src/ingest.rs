//! Ingesting one message inside a write transaction: dedupe, contact, threading facts, the
//! threading decision (pure, from the domain crate), then the writes. Written once for both
//! backends by [`ingest_fns!`].
//!
//! Race safety across nodes (PostgreSQL) comes from constraints, not locks: the unique key on
//! (account, platform message id) makes a duplicate insert fail, and the primary key of
//! `case_threads` makes two nodes agree on one case per thread key. A failed transaction is
//! retried, and the retry sees the winner's rows.

use crate::sql::FactRow;
use webcare_domain::threading::{CandidateCase, ThreadingFacts};

/// Which evidence a fact row is (the `which` column of the facts query).
pub(crate) const FACT_PARENT: i32 = 1;
pub(crate) const FACT_CONVERSATION: i32 = 2;
pub(crate) const FACT_CHILD: i32 = 3;
pub(crate) const FACT_PRIVATE: i32 = 4;

/// One round trip for all threading evidence. Each branch yields at most one row.
pub(crate) const FACTS_SQL: &str = "\
SELECT * FROM (SELECT 1 AS which, c.id, c.status, c.resolved_at FROM messages m JOIN cases c ON c.id = m.case_id \
    WHERE m.channel_account_id = $1 AND m.platform_message_id = $2 LIMIT 1) AS p \
UNION ALL SELECT * FROM (SELECT 2 AS which, c.id, c.status, c.resolved_at FROM case_threads t JOIN cases c ON c.id = t.case_id \
    WHERE t.channel_account_id = $1 AND t.thread_key = $3 LIMIT 1) AS k \
UNION ALL SELECT * FROM (SELECT 3 AS which, c.id, c.status, c.resolved_at FROM messages m JOIN cases c ON c.id = m.case_id \
    WHERE m.channel_account_id = $1 AND m.in_reply_to = $4 ORDER BY m.sent_at LIMIT 1) AS ch \
UNION ALL SELECT * FROM (SELECT 4 AS which, c.id, c.status, c.resolved_at FROM cases c \
    WHERE c.contact_id = $5 AND c.channel_account_id = $1 AND c.status <> 'closed' AND $6 \
    ORDER BY c.last_message_at DESC LIMIT 1) AS pr";

pub(crate) fn facts_from_rows(rows: Vec<FactRow>) -> ThreadingFacts {
    let mut facts = ThreadingFacts::default();
    for r in rows {
        let Ok(status) = r.status.parse() else {
            continue;
        };
        let c = Some(CandidateCase {
            id: r.id,
            status,
            resolved_at: crate::time::opt_from_ms(r.resolved_at),
        });
        match r.which {
            FACT_PARENT => facts.parent = c,
            FACT_CONVERSATION => facts.conversation = c,
            FACT_CHILD => facts.child = c,
            FACT_PRIVATE => facts.author_active_private = c,
            _ => {}
        }
    }
    facts
}

/// The flags the desk raises on a new message.
pub(crate) fn flags_for(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    if webcare_domain::bsn::contains_bsn(text) {
        flags.push(webcare_domain::flags::BSN.to_owned());
    }
    flags
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

        /// Finds or creates the contact behind `author` on this account; returns (identity, contact).
        async fn upsert_identity(
            tx: &mut sqlx::Transaction<'_, $db>,
            account: uuid::Uuid,
            author: &webcare_domain::inbound::Author,
            now: i64,
        ) -> $crate::Result<(uuid::Uuid, uuid::Uuid)> {
            let found: Option<$crate::sql::IdentityRow> = sqlx::query_as(
                "SELECT id, contact_id, channel_account_id, platform_user_id, handle, display_name \
                 FROM contact_identities WHERE channel_account_id = $1 AND platform_user_id = $2",
            )
            .bind(account)
            .bind(&author.platform_user_id)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(i) = found {
                // Keep the newest handle and name the platform tells us.
                let handle = author.handle.clone().or(i.handle.clone());
                let name = author.display_name.clone().or(i.display_name.clone());
                if handle != i.handle || name != i.display_name {
                    sqlx::query("UPDATE contact_identities SET handle = $2, display_name = $3 WHERE id = $1")
                        .bind(i.id)
                        .bind(&handle)
                        .bind(&name)
                        .execute(&mut **tx)
                        .await?;
                }
                return Ok((i.id, i.contact_id));
            }
            let contact_id = uuid::Uuid::now_v7();
            let identity_id = uuid::Uuid::now_v7();
            sqlx::query("INSERT INTO contacts (id, display_name, created_at, updated_at) VALUES ($1, $2, $3, $3)")
                .bind(contact_id)
                .bind(author.display_name.as_ref().or(author.handle.as_ref()))
                .bind(now)
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "INSERT INTO contact_identities (id, contact_id, channel_account_id, platform_user_id, handle, display_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(identity_id)
            .bind(contact_id)
            .bind(account)
            .bind(&author.platform_user_id)
            .bind(&author.handle)
            .bind(&author.display_name)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok((identity_id, contact_id))
        }

        pub(crate) async fn ingest_one(
            tx: &mut sqlx::Transaction<'_, $db>,
            item: &$crate::IngestItem,
            reopen_window: chrono::Duration,
            sla: &$crate::sla::SlaState,
        ) -> $crate::Result<$crate::records::IngestOutcome> {
            use $crate::ingest::*;
            use $crate::time::to_ms;
            use webcare_domain::threading::{decide, ThreadDecision};
            use webcare_domain::{Direction, Visibility};

            let m = &item.message;
            let account = item.channel_account_id;
            let existing_sql = format!(
                "SELECT {} FROM messages WHERE channel_account_id = $1 AND platform_message_id = $2",
                $crate::sql::MESSAGE_COLS
            );
            let existing: Option<$crate::sql::MessageRow> = sqlx::query_as(&existing_sql)
                .bind(account)
                .bind(&m.platform_message_id)
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(row) = existing {
                return Ok($crate::records::IngestOutcome { message: row.try_into()?, created: false, new_case: false });
            }

            let now = to_ms(item.received_at);
            let (identity_id, contact_id) = upsert_identity(tx, account, &m.author, now).await?;
            let rows: Vec<$crate::sql::FactRow> = sqlx::query_as(FACTS_SQL)
                .bind(account)
                .bind(&m.in_reply_to)
                .bind(&m.conversation_key)
                .bind(&m.platform_message_id)
                .bind(contact_id)
                .bind(m.visibility == Visibility::Private)
                .fetch_all(&mut **tx)
                .await?;
            let facts = facts_from_rows(rows);
            let decision = decide(m.visibility, &facts, m.sent_at, reopen_window);
            let sent = to_ms(m.sent_at);

            if m.direction == Direction::Outbound && decision == ThreadDecision::NewCase {
                // Our own messages never open a case.
                return Err(StoreError::NotFound(format!(
                    "no case for outbound message '{}'",
                    m.platform_message_id
                )));
            }

            let (case_id, new_case) = match decision {
                ThreadDecision::NewCase => {
                    let id = uuid::Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO cases (id, channel_account_id, contact_id, status, priority, team, labels, \
                         first_message_at, last_message_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, 'new', 'normal', $4, $5, $6, $6, $7, $7)",
                    )
                    .bind(id)
                    .bind(account)
                    .bind(contact_id)
                    .bind(&item.default_team)
                    .bind(sqlx::types::Json(Vec::<String>::new()))
                    .bind(sent)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    (id, true)
                }
                ThreadDecision::Join(id) | ThreadDecision::Reopen(id) => {
                    // A citizen message reopens a resolved case and takes a waiting one back to
                    // open; an echo of ours changes no status. Times only move outward, so
                    // out-of-order delivery gives the same result as in-order.
                    let reopen = m.direction == Direction::Inbound;
                    sqlx::query(
                        "UPDATE cases SET \
                           status = CASE WHEN $2 AND status IN ('resolved', 'waiting_on_citizen') THEN 'open' ELSE status END, \
                           resolved_at = CASE WHEN $2 AND status = 'resolved' THEN NULL ELSE resolved_at END, \
                           first_message_at = CASE WHEN first_message_at > $3 THEN $3 ELSE first_message_at END, \
                           last_message_at = CASE WHEN last_message_at < $3 THEN $3 ELSE last_message_at END, \
                           updated_at = $4 \
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(reopen)
                    .bind(sent)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    (id, false)
                }
            };

            if let Some(key) = &m.conversation_key {
                let claimed = sqlx::query(
                    "INSERT INTO case_threads (channel_account_id, thread_key, case_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (channel_account_id, thread_key) DO NOTHING",
                )
                .bind(account)
                .bind(key)
                .bind(case_id)
                .execute(&mut **tx)
                .await?;
                if new_case && claimed.rows_affected() == 0 {
                    // Another node opened this thread's case between our read and our write:
                    // fail, and the retry joins its case.
                    return Err(StoreError::Conflict(format!("thread '{key}' was claimed concurrently")));
                }
            }

            let flags = if m.direction == Direction::Inbound { flags_for(&m.text) } else { Vec::new() };
            let sql = format!(
                "INSERT INTO messages ({}, author_identity_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULL, $16) \
                 ON CONFLICT (channel_account_id, platform_message_id) DO NOTHING RETURNING {}",
                $crate::sql::MESSAGE_COLS, $crate::sql::MESSAGE_COLS
            );
            let row: Option<$crate::sql::MessageRow> = sqlx::query_as(&sql)
                .bind(uuid::Uuid::now_v7())
                .bind(case_id)
                .bind(account)
                .bind(&m.platform_message_id)
                .bind(&m.in_reply_to)
                .bind(&m.conversation_key)
                .bind(m.direction.as_str())
                .bind(m.visibility.as_str())
                .bind(sqlx::types::Json(&m.author))
                .bind(&m.text)
                .bind(sent)
                .bind(now)
                .bind(sqlx::types::Json(&m.attachments))
                .bind(sqlx::types::Json(Vec::<$crate::records::EditRecord>::new()))
                .bind(sqlx::types::Json(&flags))
                .bind(identity_id)
                .fetch_optional(&mut **tx)
                .await?;
            let Some(row) = row else {
                return Err(StoreError::Conflict(format!(
                    "message '{}' was stored concurrently", m.platform_message_id
                )));
            };
            // SLA clocks start in the same transaction (clock start: min(sentAt, receivedAt)).
            sla_impl::on_inbound(&mut **tx, sla, case_id, new_case, m.direction, m.sent_at.min(item.received_at)).await?;
            Ok($crate::records::IngestOutcome { message: row.try_into()?, created: true, new_case })
        }
    };
}
pub(crate) use ingest_fns;
