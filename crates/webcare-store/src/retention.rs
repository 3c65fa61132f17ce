//! Retention (issue 15): the versioned terms, the finished cases whose term is over, their
//! anonymisation in batches, the short term of the journal's raw deliveries, and legal holds.
//! Which case has expired is decided by `webcare_domain::retention` (pure); the SQL only
//! pre-selects, per kind, the finished cases closed before the kind's shortest term, by index.
//!
//! Anonymising a case blanks what erase blanks in a case (`erase::blank_cases`, one piece of
//! code for both) and keeps what the reports count: the case row with its status, kind, theme,
//! team, times and SLA clocks, its messages (direction, times, flags) and forwards. Thread and
//! conversation keys embed platform user ids: they are replaced by a keyed hash (HMAC-SHA256),
//! so the anonymised messages of one conversation still belong together but no one can tell
//! whose. A contact whose every case is anonymised loses its name, notes and phone, and its
//! identities' handles and names; their platform user ids become the keyed hash too.

use crate::db::{json, query, Dialect, SqlCore, Tx};
use crate::erase::{blank_cases, case_blanks, Keys};
use crate::time::{from_ms, to_ms};
use crate::versions::{self, NewVersion, Table};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use uuid::Uuid;
use webcare_domain::retention::{self as rules, Terms, TermsVersion};
use webcare_domain::{CaseKind, CaseStatus};

const TERMS: Table = Table {
    name: "retention_term_sets",
    column: "terms",
    stale: "the retention terms changed meanwhile",
};

/// What an anonymisation batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Anonymised {
    pub cases: u64,
    pub messages: u64,
    pub contacts: u64,
}

impl std::ops::AddAssign for Anonymised {
    fn add_assign(&mut self, o: Anonymised) {
        self.cases += o.cases;
        self.messages += o.messages;
        self.contacts += o.contacts;
    }
}

/// An expired case, as the pre-selection found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub id: Uuid,
    pub kind: Option<CaseKind>,
    pub closing: DateTime<Utc>,
}

/// Where a page of the pre-selection of one kind ends: (closing, id).
pub type After = Option<(i64, Uuid)>;

/// One page of a kind's expired cases: at `now` under `terms`, up to `limit` read past `after`.
#[derive(Debug, Clone, Copy)]
pub struct ExpiryQuery<'a> {
    pub kind: Option<CaseKind>,
    pub terms: &'a Terms,
    pub now: DateTime<Utc>,
    pub after: After,
    pub limit: u32,
}

impl<'a> ExpiryQuery<'a> {
    /// The first page of `kind`.
    pub fn first(kind: Option<CaseKind>, terms: &'a Terms, now: DateTime<Utc>, limit: u32) -> Self {
        ExpiryQuery {
            kind,
            terms,
            now,
            after: None,
            limit,
        }
    }
}

/// The kinds a run walks, each an index range of its own (`None`: unclassified cases).
pub fn kinds() -> impl Iterator<Item = Option<CaseKind>> {
    std::iter::once(None).chain(CaseKind::ALL.iter().copied().map(Some))
}

/// What a legal hold is put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldTarget {
    Case(Uuid),
    Contact(Uuid),
}

#[async_trait]
pub trait Retention: Send + Sync {
    /// Every stored version of the terms, oldest first.
    async fn retention_terms(&self) -> Result<Vec<TermsVersion>>;
    /// Stores `terms` as the version after `after` (`None`: the first), in force from
    /// `effective_from`. [`StoreError::Conflict`] when another change took that version first.
    async fn save_retention_terms(&self, v: NewVersion<'_, Terms>) -> Result<TermsVersion>;
    /// One page (up to `limit` read) of the finished cases of `kind` past `after` that have
    /// expired at `now` under `terms`, not held and not anonymised; and where the page ended
    /// (`None`: nothing more of this kind).
    async fn expired_cases(&self, q: &ExpiryQuery<'_>) -> Result<(Vec<Expired>, After)>;
    /// Anonymises the cases `ids` (found expired) in one transaction, those still finished,
    /// not held and not anonymised; then their contacts that have nothing left to keep. `key`
    /// keys the hash that replaces the platform user ids.
    async fn anonymise_cases(
        &self,
        ids: &[Uuid],
        key: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Anonymised>;
    /// How many raw deliveries received before `before` still hold their body.
    async fn journal_bodies_before(&self, before: DateTime<Utc>) -> Result<u64>;
    /// Empties up to `limit` of them (processed or failed, never one still pending); how many.
    async fn scrub_journal_before(&self, before: DateTime<Utc>, limit: u32) -> Result<u64>;
    /// Audit rows older than `before`, except the records of an erase (kept for good).
    async fn audit_rows_before(&self, before: DateTime<Utc>) -> Result<u64>;
    /// Deletes up to `limit` of them; how many.
    async fn delete_audit_before(&self, before: DateTime<Utc>, limit: u32) -> Result<u64>;
    /// Puts a legal hold (with `reason`) on the case or contact, or lifts it (`None`), audited.
    /// [`StoreError::NotFound`] when there is no such case or contact.
    async fn set_legal_hold(
        &self,
        target: HoldTarget,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<()>;
}

/// The keyed hash that replaces a platform user id or a key that embeds one: `h:` and 32 hex
/// digits of HMAC-SHA256 (128 bits: no collisions in any desk's lifetime).
pub fn keyed_hash(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(value.as_bytes());
    let out = mac.finalize().into_bytes();
    format!("h:{}", hex::encode(&out[..16]))
}

/// The audit action of an erase: the one record the audit's own term never deletes.
const ERASED: &str = "contact.erased";

/// The closing of a case as the index holds it (the domain's `closing` is never earlier).
const CLOSING: &str = "COALESCE(closed_at, resolved_at)";

type CandidateRow = (
    Uuid,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    bool,
);

#[async_trait]
impl<S: SqlCore> Retention for S {
    async fn retention_terms(&self) -> Result<Vec<TermsVersion>> {
        let rows = versions::load(self.db(), &TERMS).await?;
        Ok(rows
            .into_iter()
            .map(|(version, effective_from, terms)| TermsVersion {
                version,
                effective_from,
                terms,
            })
            .collect())
    }

    async fn save_retention_terms(&self, v: NewVersion<'_, Terms>) -> Result<TermsVersion> {
        let (version, effective_from) = versions::save(self.db(), &TERMS, v).await?;
        Ok(TermsVersion {
            version,
            effective_from,
            terms: v.value.clone(),
        })
    }

    async fn expired_cases(&self, q: &ExpiryQuery<'_>) -> Result<(Vec<Expired>, After)> {
        let ExpiryQuery {
            kind,
            terms,
            now,
            after,
            limit,
        } = *q;
        let cut = to_ms(now - Duration::days(i64::from(terms.shortest_for(kind))));
        // The literal predicate of the partial index `cases_retention`, so both planners use it.
        let mut q = query(format!(
            "SELECT id, status, kind, theme, resolved_at, closed_at, {CLOSING} AS closing, \
             legal_hold_at IS NOT NULL OR EXISTS (SELECT 1 FROM contacts k \
             WHERE k.id = cases.contact_id AND k.legal_hold_at IS NOT NULL) AS held \
             FROM cases WHERE anonymised_at IS NULL AND status IN ('resolved', 'closed') AND "
        ));
        match kind {
            Some(k) => q.push("kind = ").push_bind(k.as_str()),
            None => q.push("kind IS NULL"),
        };
        q.push(&format!(" AND {CLOSING} <= ")).push_bind(cut);
        if let Some((at, id)) = after {
            q.push(&format!(" AND ({CLOSING} > "))
                .push_bind(at)
                .push(&format!(" OR ({CLOSING} = "))
                .push_bind(at)
                .push(" AND id > ")
                .push_bind(id)
                .push("))");
        }
        q.push(&format!(" ORDER BY {CLOSING}, id LIMIT {limit}"));
        let rows: Vec<CandidateRow> = q.fetch_all(self.db().read()).await?;
        let next = match rows.last() {
            Some(r) if rows.len() == limit as usize => Some((r.6, r.0)),
            _ => None,
        };
        let out = rows
            .into_iter()
            .filter_map(
                |(id, status, kind, theme, resolved, closed, closing, held)| {
                    let facts = rules::CaseFacts {
                        status: status.parse().unwrap_or(CaseStatus::Open),
                        kind: kind.as_deref().and_then(|k| k.parse().ok()),
                        theme: theme.as_deref(),
                        resolved_at: resolved.map(from_ms),
                        closed_at: closed.map(from_ms),
                        held,
                        anonymised: false,
                    };
                    rules::expired(&facts, terms, now).then(|| Expired {
                        id,
                        kind: facts.kind,
                        closing: rules::closing(facts.status, facts.resolved_at, facts.closed_at)
                            .unwrap_or_else(|| from_ms(closing)),
                    })
                },
            )
            .collect();
        Ok((out, next))
    }

    async fn anonymise_cases(
        &self,
        ids: &[Uuid],
        key: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Anonymised> {
        let mut out = Anonymised::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let d = self.db().dialect();
        let mut tx = self.db().begin().await?;
        if d == Dialect::Postgres {
            // No wait for the WAL flush at each batch's commit: a batch lost in a crash is
            // simply anonymised again by the next run (every step is idempotent: it selects
            // what is not yet anonymised, and the keyed hash of a key is the same each time),
            // and nothing outside this transaction learns of it before it is durable.
            query("SET LOCAL synchronous_commit = off")
                .execute(&mut tx)
                .await?;
        }
        // Checked again in the transaction: a case reopened or held since it was read stays.
        // The row is blanked in the same statement: one new version of it, not two.
        let mut mark = query(concat!(
            "UPDATE cases SET anonymised_at = $1, ",
            case_blanks!(),
            " WHERE anonymised_at IS NULL "
        ))
        .bind(to_ms(now));
        mark.push(
            "AND status IN ('resolved', 'closed') AND legal_hold_at IS NULL AND NOT EXISTS \
             (SELECT 1 FROM contacts k WHERE k.id = cases.contact_id \
             AND k.legal_hold_at IS NOT NULL) AND id",
        )
        .push_in_ids(d, ids)
        .push(" RETURNING id, contact_id");
        let marked: Vec<(Uuid, Uuid)> = mark.fetch_all(&mut tx).await?;
        if marked.is_empty() {
            tx.commit().await?;
            return Ok(out);
        }
        let cases: Vec<Uuid> = marked.iter().map(|m| m.0).collect();
        out.cases = cases.len() as u64;
        out.messages = blank_cases(&mut tx, &cases, Keys::Hash(key)).await?;
        let mut contacts: Vec<Uuid> = marked.iter().map(|m| m.1).collect();
        contacts.sort_unstable();
        contacts.dedup();
        out.contacts = anonymise_contacts(&mut tx, &contacts, key, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn journal_bodies_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let n: i64 = query(format!(
            "SELECT COUNT(*) FROM webhook_journal WHERE {} AND received_at < $1 \
             AND state <> 'pending'",
            self.db().dialect().body_not_empty()
        ))
        .bind(to_ms(before))
        .scalar(self.db().read())
        .await?;
        Ok(n as u64)
    }

    async fn scrub_journal_before(&self, before: DateTime<Utc>, limit: u32) -> Result<u64> {
        let not_empty = self.db().dialect().body_not_empty();
        query(format!(
            "UPDATE webhook_journal SET body = $1, summary = NULL WHERE id IN \
             (SELECT id FROM webhook_journal WHERE {not_empty} AND received_at < $2 \
             AND state <> 'pending' LIMIT {limit})"
        ))
        .bind(Vec::<u8>::new())
        .bind(to_ms(before))
        .execute(self.db().write())
        .await
    }

    async fn audit_rows_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let n: i64 = query(format!(
            "SELECT COUNT(*) FROM audit_events WHERE at < $1 AND action <> '{ERASED}'"
        ))
        .bind(to_ms(before))
        .scalar(self.db().read())
        .await?;
        Ok(n as u64)
    }

    async fn delete_audit_before(&self, before: DateTime<Utc>, limit: u32) -> Result<u64> {
        query(format!(
            "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 \
             AND action <> '{ERASED}' ORDER BY at LIMIT {limit})"
        ))
        .bind(to_ms(before))
        .execute(self.db().write())
        .await
    }

    async fn set_legal_hold(
        &self,
        target: HoldTarget,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let now = to_ms(Utc::now());
        let (table, id, case_id, contact_id, what) = match target {
            HoldTarget::Case(id) => ("cases", id, Some(id), None, "case"),
            HoldTarget::Contact(id) => ("contacts", id, None, Some(id), "contact"),
        };
        let mut tx = self.db().begin().await?;
        let n = query(format!(
            "UPDATE {table} SET legal_hold_at = $1, legal_hold_reason = $2 WHERE id = $3"
        ))
        .bind(reason.map(|_| now))
        .bind(reason)
        .bind(id)
        .execute(&mut tx)
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("{what} {id}")));
        }
        // The case's contact, so "who did what to my data" finds a hold on one of its cases.
        let contact_id = match contact_id {
            Some(c) => Some(c),
            None => {
                query("SELECT contact_id FROM cases WHERE id = $1")
                    .bind(id)
                    .scalar_optional(&mut tx)
                    .await?
            }
        };
        let (action, detail) = match reason {
            Some(r) => (
                format!("{what}.legal_hold_set"),
                serde_json::json!({ "reason": r }),
            ),
            None => (format!("{what}.legal_hold_released"), serde_json::json!({})),
        };
        query(
            "INSERT INTO audit_events (id, at, actor, action, case_id, detail, contact_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(now)
        .bind(actor)
        .bind(action)
        .bind(case_id)
        .bind(json(&detail))
        .bind(contact_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Anonymises the contacts among `ids` that have no case left to keep and no hold (and the
/// contacts merged into them); answers how many.
async fn anonymise_contacts(
    tx: &mut Tx,
    ids: &[Uuid],
    key: &[u8],
    now: DateTime<Utc>,
) -> Result<u64> {
    let d = tx.dialect();
    let mut q = query(
        "SELECT id FROM contacts WHERE legal_hold_at IS NULL AND NOT EXISTS \
         (SELECT 1 FROM cases c WHERE c.contact_id = contacts.id AND c.anonymised_at IS NULL) \
         AND id",
    );
    q.push_in_ids(d, ids);
    let done: Vec<Uuid> = q.scalars(&mut *tx).await?;
    if done.is_empty() {
        return Ok(0);
    }
    let mut q = query(
        "UPDATE contacts SET display_name = NULL, notes = NULL, phone = NULL, updated_at = $1 \
         WHERE id",
    )
    .bind(to_ms(now));
    q.push_in_ids(d, &done)
        .push(" OR merged_into")
        .push_in_ids(d, &done);
    let n = q.execute(&mut *tx).await?;
    let identities: Vec<(Uuid, String)> = {
        let mut q = query("SELECT id, platform_user_id FROM contact_identities WHERE contact_id");
        q.push_in_ids(d, &done);
        q.fetch_all(&mut *tx).await?
    };
    let hashed: BTreeMap<Uuid, String> = identities
        .into_iter()
        .filter(|(_, p)| !p.starts_with("h:"))
        .map(|(id, p)| (id, keyed_hash(key, &p)))
        .collect();
    for chunk in hashed.iter().collect::<Vec<_>>().chunks(500) {
        let mut q = query(
            "UPDATE contact_identities SET handle = NULL, display_name = NULL, platform_user_id = ",
        );
        q.push_case_by_id(chunk.iter().map(|(id, h)| (**id, (*h).clone())))
            .push(" WHERE id IN ")
            .push_list(chunk.iter().map(|(id, _)| **id));
        q.execute(&mut *tx).await?;
    }
    // What the audit said about these contacts (its reads stay, without their details).
    let gone = json(&serde_json::json!({"anonymised": true}));
    let mut q = query("UPDATE audit_events SET detail = $1 WHERE contact_id").bind(gone);
    q.push_in_ids(d, &done);
    q.execute(&mut *tx).await?;
    Ok(n)
}
