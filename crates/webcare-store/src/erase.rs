//! The citizen's right to erasure (AVG art. 17): everything the desk holds about a contact is
//! removed or blanked in one transaction, while what the statistics need stays (the cases with
//! their status, theme, timings and SLA clocks, message counts and directions), so earlier
//! reports keep their figures.
//!
//! Removed or blanked: the contact's name, notes and phone (and those of contacts merged into
//! it); its identities on every channel (platform user ids, handles, names); in its cases the
//! messages' texts, authors, attachments and edit histories, the conversation keys and thread
//! keys (they embed platform user ids), internal notes, department questions and answers, the
//! replies' texts and recipients, the inbox row's preview, the live events' payloads, and the
//! audit details; the raw webhook deliveries in the journal that name one of its identities.
//! The audit keeps that an erase happened, by whom and why, without personal data.

use crate::db::{query, Dialect, SqlCore, Tx};
use crate::time::to_ms;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::Utc;
use uuid::Uuid;

/// What an erase removed, for the audit and the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub contacts: u64,
    pub identities: u64,
    pub cases: u64,
    pub messages: u64,
    pub journal_entries: u64,
    /// The desk's own public replies queued for deletion on their platform.
    pub platform_deletions: u64,
}

#[async_trait]
pub trait Erasure: Send + Sync {
    /// Erases contact `id` (a live contact) and what was merged into it. Refused (conflict)
    /// while one of its cases is still open: close or resolve them first, so no clock or reply
    /// waits on a citizen who no longer exists; and while the contact or one of its cases is
    /// under a legal hold. `reason` and `actor` go to the audit.
    async fn erase_contact(&self, id: Uuid, actor: &str, reason: &str) -> Result<Erased>;
}

/// The blank a removed text becomes.
const GONE: &str = "[gewist]";

#[async_trait]
impl<S: SqlCore> Erasure for S {
    async fn erase_contact(&self, id: Uuid, actor: &str, reason: &str) -> Result<Erased> {
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        let merged: Option<(Option<Uuid>, bool)> =
            query("SELECT merged_into, legal_hold_at IS NOT NULL FROM contacts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut tx)
                .await?;
        match merged {
            None => return Err(StoreError::NotFound(format!("contact {id}"))),
            Some((Some(to), _)) => {
                return Err(StoreError::Conflict(format!(
                    "contact {id} was merged into {to}; erase that one"
                )))
            }
            Some((None, true)) => {
                return Err(StoreError::Conflict(format!(
                    "contact {id} is under a legal hold; lift it before erasing"
                )))
            }
            Some((None, false)) => {}
        }
        let held: Option<Uuid> = query(
            "SELECT id FROM cases WHERE contact_id = $1 AND legal_hold_at IS NOT NULL LIMIT 1",
        )
        .bind(id)
        .scalar_optional(&mut tx)
        .await?;
        if let Some(case) = held {
            return Err(StoreError::Conflict(format!(
                "case {case} of the contact is under a legal hold; lift it before erasing"
            )));
        }
        let open: Vec<Uuid> = query(
            "SELECT id FROM cases WHERE contact_id = $1 AND status NOT IN ('resolved', 'closed') \
             ORDER BY id LIMIT 20",
        )
        .bind(id)
        .scalars(&mut tx)
        .await?;
        if !open.is_empty() {
            let ids: Vec<String> = open.iter().map(Uuid::to_string).collect();
            return Err(StoreError::Conflict(format!(
                "the contact has open cases ({}); resolve or close them before erasing",
                ids.join(", ")
            )));
        }
        let cases: Vec<Uuid> = query("SELECT id FROM cases WHERE contact_id = $1")
            .bind(id)
            .scalars(&mut tx)
            .await?;
        // The strings the raw deliveries would name the citizen by.
        let names: Vec<(String, Option<String>)> =
            query("SELECT platform_user_id, handle FROM contact_identities WHERE contact_id = $1")
                .bind(id)
                .fetch_all(&mut tx)
                .await?;
        let mut out = Erased {
            cases: cases.len() as u64,
            ..Erased::default()
        };
        out.journal_entries = scrub_journal(&mut tx, &names).await?;
        out.platform_deletions = queue_platform_deletions(&mut tx, id, actor, now).await?;
        for chunk in cases.chunks(500) {
            out.messages += blank_cases(&mut tx, chunk, Keys::Drop).await?;
        }
        out.identities = query("DELETE FROM contact_identities WHERE contact_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        out.contacts = query(
            "UPDATE contacts SET display_name = NULL, notes = NULL, phone = NULL, \
             updated_at = $2 WHERE id = $1 OR merged_into = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut tx)
        .await?;
        query(
            "UPDATE audit_events SET detail = $2 WHERE contact_id = $1 AND action <> 'contact.erased'",
        )
        .bind(id)
        .bind(crate::db::json(&serde_json::json!({"erased": true})))
        .execute(&mut tx)
        .await?;
        query(
            "INSERT INTO audit_events (id, at, actor, action, case_id, detail, contact_id) \
             VALUES ($1, $2, $3, 'contact.erased', NULL, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(now)
        .bind(actor)
        .bind(crate::db::json(&serde_json::json!({
            "reason": reason, "cases": out.cases, "messages": out.messages,
            "identities": out.identities, "journalEntries": out.journal_entries,
            "platformDeletions": out.platform_deletions,
        })))
        .bind(id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(out)
    }
}

/// Queues the deletion of the desk's own public replies in the contact's cases where the platform
/// allows it (Facebook and Instagram comments, X posts), for the outbox worker; and drops the
/// finished hide actions of those cases, which name the citizen's comments. Answers how many
/// deletions were queued.
async fn queue_platform_deletions(
    tx: &mut Tx,
    contact: Uuid,
    actor: &str,
    now: i64,
) -> Result<u64> {
    let replies: Vec<(Uuid, Uuid, Uuid, String)> = query(
        "SELECT m.case_id, m.id, m.channel_account_id, m.platform_message_id FROM messages m \
         JOIN cases c ON c.id = m.case_id JOIN channel_accounts a ON a.id = m.channel_account_id \
         WHERE c.contact_id = $1 AND m.direction = 'outbound' AND m.visibility = 'public' \
         AND a.kind IN ('facebook_page', 'instagram', 'x') AND m.platform_message_id <> '' \
         ORDER BY m.id",
    )
    .bind(contact)
    .fetch_all(&mut *tx)
    .await?;
    let mut n = 0;
    for (case_id, message_id, account, platform_id) in replies {
        n += query(
            "INSERT INTO platform_actions (id, case_id, message_id, channel_account_id, kind, \
             platform_id, next_attempt_at, requested_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'delete', $5, $6, $7, $6, $6) ON CONFLICT DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(case_id)
        .bind(message_id)
        .bind(account)
        .bind(platform_id)
        .bind(now)
        .bind(actor)
        .execute(&mut *tx)
        .await?;
    }
    query(
        "DELETE FROM platform_actions WHERE kind = 'hide' AND state <> 'pending' \
         AND case_id IN (SELECT id FROM cases WHERE contact_id = $1)",
    )
    .bind(contact)
    .execute(&mut *tx)
    .await?;
    Ok(n)
}

/// What becomes of the keys that embed a platform user id (thread keys, conversation keys).
#[derive(Clone, Copy)]
pub(crate) enum Keys<'a> {
    /// Removed: an erase leaves nothing to thread on.
    Drop,
    /// Replaced by the keyed hash (`retention::keyed_hash`): retention keeps the anonymised
    /// messages of one conversation together. Its caller has blanked the case rows already.
    Hash(&'a [u8]),
}

/// The case row's columns about the citizen, blanked (a macro so `concat!` can build the
/// statements of both an erase and a retention run's marking from it).
macro_rules! case_blanks {
    () => {
        "preview = NULL, author_name = NULL, author_handle = NULL, department_answer = NULL"
    };
}
pub(crate) use case_blanks;

/// Blanks what the cases `ids` hold about the citizen (an erase and a retention run alike);
/// answers how many messages it blanked.
pub(crate) async fn blank_cases(tx: &mut Tx, ids: &[Uuid], keys: Keys<'_>) -> Result<u64> {
    let mut n = 0;
    let d = tx.dialect();
    let author = crate::db::json(&webcare_domain::inbound::Author::default());
    let gone = crate::db::json(&match keys {
        Keys::Drop => serde_json::json!({"erased": true}),
        Keys::Hash(_) => serde_json::json!({"anonymised": true}),
    });
    let empty = crate::db::json(&serde_json::json!([]));
    if let Keys::Hash(key) = keys {
        hash_keys(tx, ids, key).await?;
    }
    let messages = match keys {
        Keys::Drop => {
            "UPDATE messages SET text = '', author = $1, attachments = $2, edit_history = $2, \
             conversation_key = NULL, author_identity_id = NULL WHERE case_id"
        }
        // The identity stays linked: the contact is anonymised with its last case.
        Keys::Hash(_) => {
            "UPDATE messages SET text = '', author = $1, attachments = $2, edit_history = $2 \
             WHERE case_id"
        }
    };
    let mut statements: Vec<(&str, Vec<crate::db::Arg>)> = vec![(messages, vec![author, empty])];
    if let Keys::Drop = keys {
        statements.push(("DELETE FROM case_threads WHERE case_id", vec![]));
    }
    // A retention run blanked the case rows as it marked them (`case_blanks!`), in the same
    // transaction: nothing is left to find there. An erase blanks only rows that still hold
    // something (every case row version costs an entry in each of the cases' ~20 indexes).
    if let Keys::Drop = keys {
        statements.push((
            concat!(
                "UPDATE cases SET ",
                case_blanks!(),
                " WHERE (preview IS NOT NULL OR author_name IS NOT NULL \
                 OR author_handle IS NOT NULL OR department_answer IS NOT NULL) AND id"
            ),
            vec![],
        ));
    }
    // The rows below are only rewritten when they still hold something: a row version written
    // for nothing costs its indexes' entries all the same.
    statements.extend([
        (
            "UPDATE case_notes SET text = $1 WHERE text <> $1 AND case_id",
            vec![GONE.into()],
        ),
        (
            "UPDATE case_forwards SET question = $1, \
             answer = CASE WHEN answer IS NULL THEN NULL ELSE $1 END, \
             return_reason = CASE WHEN return_reason IS NULL THEN NULL ELSE $1 END \
             WHERE (question <> $1 OR answer <> $1 OR return_reason <> $1) AND case_id",
            vec![GONE.into()],
        ),
        (
            "UPDATE outbox_replies SET text = '', recipient = NULL, whatsapp_template = NULL, \
             last_error = NULL, failure_reason = NULL WHERE (text <> '' OR recipient IS NOT NULL \
             OR whatsapp_template IS NOT NULL OR last_error IS NOT NULL \
             OR failure_reason IS NOT NULL) AND case_id",
            vec![],
        ),
        (
            "UPDATE case_surveys SET comment = $1 WHERE comment <> $1 AND case_id",
            vec![GONE.into()],
        ),
        (
            "UPDATE events SET payload = $1 WHERE case_id",
            vec![gone.clone()],
        ),
        (
            "UPDATE audit_events SET detail = $1 WHERE case_id",
            vec![gone],
        ),
        // The example a tag made of the case (hashed words); the model keeps its sums.
        ("DELETE FROM theme_examples WHERE case_id", vec![]),
    ]);
    for (i, (sql, args)) in statements.into_iter().enumerate() {
        let mut q = query(sql);
        for a in args {
            q = q.bind(a);
        }
        // Each statement's own arguments come first, then the case ids.
        q.push_in_ids(d, ids);
        let done = q.execute(&mut *tx).await?;
        if i == 0 {
            n = done;
        }
    }
    Ok(n)
}

/// Replaces the thread keys and conversation keys of the cases `ids` by their keyed hash.
async fn hash_keys(tx: &mut Tx, ids: &[Uuid], key: &[u8]) -> Result<()> {
    use crate::retention::keyed_hash;
    let d = tx.dialect();
    let mut q =
        query("SELECT channel_account_id, thread_key, case_id FROM case_threads WHERE case_id");
    q.push_in_ids(d, ids);
    let threads: Vec<(Uuid, String, Uuid)> = q.fetch_all(&mut *tx).await?;
    if !threads.is_empty() {
        let mut q = query("DELETE FROM case_threads WHERE case_id");
        q.push_in_ids(d, ids);
        q.execute(&mut *tx).await?;
        for chunk in threads.chunks(500) {
            let mut q =
                query("INSERT INTO case_threads (channel_account_id, thread_key, case_id) ");
            q.push_values(chunk.iter().map(|(account, k, case)| {
                let k = if k.starts_with("h:") {
                    k.clone()
                } else {
                    keyed_hash(key, k)
                };
                [(*account).into(), k.into(), (*case).into()]
            }))
            .push(" ON CONFLICT DO NOTHING");
            q.execute(&mut *tx).await?;
        }
    }
    let mut q = query(
        "SELECT DISTINCT conversation_key FROM messages WHERE conversation_key IS NOT NULL \
         AND case_id",
    );
    q.push_in_ids(d, ids);
    let conversations: Vec<String> = q.scalars(&mut *tx).await?;
    let conversations: Vec<String> = conversations
        .into_iter()
        .filter(|k| !k.starts_with("h:"))
        .collect();
    for chunk in conversations.chunks(500) {
        let mut q = query("UPDATE messages SET conversation_key = CASE conversation_key");
        for k in chunk {
            q.push(" WHEN ")
                .push_bind(k.as_str())
                .push(" THEN ")
                .push_bind(keyed_hash(key, k));
        }
        q.push(" END WHERE case_id")
            .push_in_ids(d, ids)
            .push(" AND conversation_key IN ")
            .push_list(chunk.iter().map(String::as_str));
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Empties the raw webhook deliveries that name one of `names` (platform user ids and handles):
/// the journal keeps that a delivery came, not what it said.
async fn scrub_journal(tx: &mut Tx, names: &[(String, Option<String>)]) -> Result<u64> {
    let needles: Vec<&str> = names
        .iter()
        .flat_map(|(id, handle)| std::iter::once(id.as_str()).chain(handle.as_deref()))
        .map(|s| s.trim_start_matches('@'))
        .filter(|s| s.len() >= 3)
        .collect();
    let contains = match tx.dialect() {
        Dialect::Sqlite => "instr(body, CAST($1 AS BLOB)) > 0",
        Dialect::Postgres => "position(convert_to($1, 'UTF8') in body) > 0",
    };
    let mut n = 0;
    for needle in needles {
        n += query(format!(
            "UPDATE webhook_journal SET body = $2, summary = NULL WHERE {contains}"
        ))
        .bind(needle)
        .bind(Vec::<u8>::new())
        .execute(&mut *tx)
        .await?;
    }
    Ok(n)
}
