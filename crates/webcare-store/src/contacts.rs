//! The citizen's record: contacts with their identities on every channel, the desk's own notes
//! and flags, linking and unlinking identities, merging contacts, candidates for match
//! suggestions, and the read audit by contact ("who looked at my data").
//!
//! A change moves identities and the cases that are theirs in one transaction, with its audit
//! rows. A case belongs to an identity when every identified citizen message in it is that
//! identity's: a case in which two identities wrote (a merged case) stays where it is.
//!
//! The name search differs per backend (FTS5 or `tsvector`): [`crate::db::Dialect`].

use crate::agent::{AuditRecord, CaseScope};
use crate::db::{query, Exec, Query, SqlCore, Tx};
use crate::records::{CaseRecord, MessageRecord, Page};
use crate::sql::{into_page, rows_into, CaseRow, MessageRow, CASE_COLS, MESSAGE_COLS};
use crate::time::to_ms;
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use webcare_domain::ChannelKind;

// One identity of a contact, with its channel's kind. The API shows it as it is
// (`ContactIdentityDto`), among its contact's identities.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContactIdentityDto))]
#[serde(rename_all = "camelCase")]
pub struct ContactIdentity {
    pub id: Uuid,
    #[serde(skip)]
    pub contact_id: Uuid,
    pub channel_account_id: Uuid,
    pub channel: ChannelKind,
    pub platform_user_id: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A contact as lists show it.
// The API shows it as it is (`ContactSummary`), without the notes, which only the contact's
// detail and export show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContactSummary))]
#[serde(rename_all = "camelCase")]
pub struct ContactProfile {
    pub id: Uuid,
    pub display_name: Option<String>,
    #[serde(skip)]
    pub notes: Option<String>,
    /// Digits with the country code, as recorded by the desk.
    // Normalised.
    pub phone: Option<String>,
    /// The out-of-hours auto-reply leaves this citizen alone.
    #[serde(rename = "doNotAutoReply")]
    pub no_auto_reply: bool,
    /// The contact this one was merged into; it then has no identities or cases of its own.
    pub merged_into: Option<Uuid>,
    pub identities: Vec<ContactIdentity>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ContactProfile {
    /// The facts the match rules look at.
    pub fn facts(&self) -> webcare_domain::contacts::ContactFacts {
        webcare_domain::contacts::ContactFacts {
            id: self.id,
            phone: self.phone.clone(),
            identities: self
                .identities
                .iter()
                .map(|i| webcare_domain::contacts::IdentityFacts {
                    channel: i.channel,
                    platform_user_id: i.platform_user_id.clone(),
                    handle: i.handle.clone(),
                    display_name: i.display_name.clone(),
                })
                .collect(),
        }
    }
}

/// What the contact search looks for; every given key may match (OR).
#[derive(Debug, Clone, Default)]
pub struct ContactSearch {
    /// The text as typed: every word in an identity's name or handle, the contact's whole name,
    /// a platform user id, or a handle.
    pub text: Option<String>,
    /// A normalised phone number: the recorded number or a WhatsApp id.
    pub phone: Option<String>,
    /// What the caller may see: a department only the contacts of cases forwarded to it.
    pub scope: CaseScope,
}

/// A partial update; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub display_name: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    /// Normalised.
    pub phone: Option<Option<String>>,
    pub no_auto_reply: Option<bool>,
}

/// An audit row about a contact's data (a read or a change).
#[derive(Debug, Clone)]
pub struct ContactAudit {
    pub actor: String,
    pub action: String,
    pub contact_id: Uuid,
    pub case_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

// What a link, unlink or merge moved; the API shows it as it is (`ContactMoveResult`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContactMoveResult))]
#[serde(rename_all = "camelCase")]
pub struct ContactMove {
    /// Where the identities (and their cases) went: for an unlink, the new contact.
    #[serde(rename = "toContactId")]
    pub to_contact: Uuid,
    #[serde(rename = "fromContactId")]
    pub from_contact: Uuid,
    #[serde(rename = "identityIds")]
    pub identities: Vec<Uuid>,
    #[serde(rename = "caseIds")]
    pub cases: Vec<Uuid>,
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Contacts in id order that match `search` (all when it is empty); merged-away contacts
    /// never.
    async fn list_contacts(
        &self,
        search: ContactSearch,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<ContactProfile>>;
    async fn contact_profile(&self, id: Uuid) -> Result<Option<ContactProfile>>;
    /// Whether a caller with `scope` may see the contact (a department: one of its cases is
    /// forwarded to it).
    async fn contact_in_scope(&self, id: Uuid, scope: &CaseScope) -> Result<bool>;
    /// The contact's cases, latest activity first.
    async fn contact_cases(&self, id: Uuid, limit: u32) -> Result<Vec<CaseRecord>>;
    /// The contact's open cases (not resolved, closed or merged) other than `except`.
    async fn contact_open_cases(
        &self,
        id: Uuid,
        except: Uuid,
        limit: u32,
    ) -> Result<Vec<CaseRecord>>;
    /// The latest messages in the contact's cases, newest first.
    async fn contact_messages(&self, id: Uuid, limit: u32) -> Result<Vec<MessageRecord>>;
    /// Applies `patch` with its audit row; `None` when there is no such live contact.
    async fn update_contact(
        &self,
        id: Uuid,
        patch: ContactPatch,
        audit: ContactAudit,
    ) -> Result<Option<ContactProfile>>;
    /// Moves every identity and case of `from` to `into`; `from` is marked merged.
    async fn merge_contacts(&self, into: Uuid, from: Uuid, actor: &str) -> Result<ContactMove>;
    /// Moves `identity` (and its cases) from its contact to `into`.
    async fn link_identity(&self, into: Uuid, identity: Uuid, actor: &str) -> Result<ContactMove>;
    /// Moves `identity` (and its cases) from `contact` to a new contact of its own.
    async fn unlink_identity(
        &self,
        contact: Uuid,
        identity: Uuid,
        actor: &str,
    ) -> Result<ContactMove>;
    /// Live contacts that share a phone number (recorded, or a platform user id) or a handle
    /// (with or without `@`, any case) with the given keys, at most `limit`.
    async fn match_candidates(
        &self,
        phones: &[String],
        handles: &[String],
        limit: u32,
    ) -> Result<Vec<ContactProfile>>;
    /// Appends an audit row naming the contact.
    async fn record_contact_audit(&self, e: ContactAudit) -> Result<()>;
    /// The audit rows about the contact (and contacts merged into it), oldest first.
    async fn access_log(
        &self,
        contact: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<AuditRecord>>;
}

pub(crate) const CONTACT_COLS: &str =
    "id, display_name, notes, phone, no_auto_reply, merged_into, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    pub(crate) id: Uuid,
    display_name: Option<String>,
    notes: Option<String>,
    phone: Option<String>,
    no_auto_reply: bool,
    merged_into: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
}

pub(crate) const IDENTITY_COLS: &str = "ci.id, ci.contact_id, ci.channel_account_id, a.kind, \
    ci.platform_user_id, ci.handle, ci.display_name, ci.created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ContactIdentityRow {
    id: Uuid,
    contact_id: Uuid,
    channel_account_id: Uuid,
    kind: String,
    platform_user_id: String,
    handle: Option<String>,
    display_name: Option<String>,
    created_at: i64,
}

/// Joins contacts with their identities (identities in id order).
pub(crate) fn assemble(
    contacts: Vec<ContactRow>,
    identities: Vec<ContactIdentityRow>,
) -> Result<Vec<ContactProfile>> {
    use crate::time::from_ms;
    let mut by_contact: std::collections::HashMap<Uuid, Vec<ContactIdentity>> =
        std::collections::HashMap::new();
    for r in identities {
        by_contact
            .entry(r.contact_id)
            .or_default()
            .push(ContactIdentity {
                id: r.id,
                contact_id: r.contact_id,
                channel_account_id: r.channel_account_id,
                channel: crate::sql::parse(&r.kind, "channel kind")?,
                platform_user_id: r.platform_user_id,
                handle: r.handle,
                display_name: r.display_name,
                created_at: from_ms(r.created_at),
            });
    }
    Ok(contacts
        .into_iter()
        .map(|c| ContactProfile {
            identities: by_contact.remove(&c.id).unwrap_or_default(),
            id: c.id,
            display_name: c.display_name,
            notes: c.notes,
            phone: c.phone,
            no_auto_reply: c.no_auto_reply,
            merged_into: c.merged_into,
            created_at: from_ms(c.created_at),
            updated_at: from_ms(c.updated_at),
        })
        .collect())
}

/// The cases of `$1` (a contact) that belong to identity `$2`: every identified citizen message
/// in them is that identity's. Appended to an `UPDATE cases ... WHERE`.
pub(crate) const CASES_OF_IDENTITY: &str = "contact_id = $1 \
    AND EXISTS (SELECT 1 FROM messages m WHERE m.case_id = cases.id AND m.author_identity_id = $2) \
    AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.case_id = cases.id AND m.direction = 'inbound' \
    AND m.author_identity_id IS NOT NULL AND m.author_identity_id <> $2)";

/// Profiles of these contacts, in the order of `rows`.
async fn profiles_of<'e>(
    ex: impl Into<Exec<'e>>,
    rows: Vec<ContactRow>,
) -> Result<Vec<ContactProfile>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = query(format!(
        "SELECT {IDENTITY_COLS} FROM contact_identities ci \
         JOIN channel_accounts a ON a.id = ci.channel_account_id WHERE ci.contact_id IN "
    ));
    q.push_list(rows.iter().map(|r| r.id));
    q.push(" ORDER BY ci.id");
    let idents: Vec<ContactIdentityRow> = q.fetch_all(ex).await?;
    assemble(rows, idents)
}

/// The live contact `id`: not found and merged away are errors that say which.
async fn live_contact(tx: &mut Tx, id: Uuid) -> Result<()> {
    let row: Option<Option<Uuid>> = query("SELECT merged_into FROM contacts WHERE id = $1")
        .bind(id)
        .scalar_optional(tx)
        .await?;
    match row {
        None => Err(StoreError::NotFound(format!("contact {id}"))),
        Some(Some(to)) => Err(StoreError::Conflict(format!(
            "contact {id} was merged into {to}; use that one"
        ))),
        Some(None) => Ok(()),
    }
}

/// Takes the live contact `id` for this transaction's change. On PostgreSQL the `UPDATE` holds
/// the row lock, and a concurrent change of the same contact (a merge from the other side)
/// makes it wait and re-check `merged_into` after that commits; on SQLite the write transaction
/// is the lock already. Callers taking two contacts take them in id order, so two changes never
/// wait on each other.
async fn lock_live(tx: &mut Tx, id: Uuid, now: i64) -> Result<()> {
    let locked: Option<Uuid> = query(
        "UPDATE contacts SET updated_at = $2 WHERE id = $1 AND merged_into IS NULL RETURNING id",
    )
    .bind(id)
    .bind(now)
    .scalar_optional(&mut *tx)
    .await?;
    if locked.is_some() {
        return Ok(());
    }
    // Not found, or merged away: say which.
    live_contact(tx, id).await?;
    Err(StoreError::Conflict(format!(
        "contact {id} changed meanwhile; try again"
    )))
}

async fn lock_both(tx: &mut Tx, a: Uuid, b: Uuid, now: i64) -> Result<()> {
    let (first, second) = if a < b { (a, b) } else { (b, a) };
    lock_live(tx, first, now).await?;
    lock_live(tx, second, now).await
}

/// The audit row of a contact's data, written where `ex` says (a transaction or the pool).
async fn insert_audit<'e>(ex: impl Into<Exec<'e>>, e: &ContactAudit, at: i64) -> Result<()> {
    query(
        "INSERT INTO audit_events (id, at, actor, action, case_id, detail, contact_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(e.case_id)
    .bind(e.detail.clone())
    .bind(e.contact_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Moves `identity` and its cases from `from` to `to`, in `tx`.
async fn move_identity(tx: &mut Tx, from: Uuid, to: Uuid, identity: Uuid) -> Result<Vec<Uuid>> {
    let cases: Vec<Uuid> = query(format!(
        "UPDATE cases SET contact_id = $3 WHERE {CASES_OF_IDENTITY} RETURNING id"
    ))
    .bind(from)
    .bind(identity)
    .bind(to)
    .scalars(&mut *tx)
    .await?;
    query("UPDATE contact_identities SET contact_id = $2 WHERE id = $1")
        .bind(identity)
        .bind(to)
        .execute(tx)
        .await?;
    Ok(cases)
}

/// Marks `from` (and whatever was merged into it: one hop, never a chain) merged into `into`.
async fn mark_merged(tx: &mut Tx, from: Uuid, into: Uuid, now: i64) -> Result<()> {
    query(
        "UPDATE contacts SET merged_into = $2, merged_at = $3, updated_at = $3 \
         WHERE id = $1 OR merged_into = $1",
    )
    .bind(from)
    .bind(into)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

async fn touch(tx: &mut Tx, id: Uuid, now: i64) -> Result<()> {
    query("UPDATE contacts SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(tx)
        .await?;
    Ok(())
}

async fn count_where(tx: &mut Tx, sql: &str, id: Uuid) -> Result<i64> {
    query(sql).bind(id).scalar(tx).await
}

/// Audits a move on both contacts, in `tx`.
async fn audit_move(
    tx: &mut Tx,
    action: &str,
    actor: &str,
    m: &ContactMove,
    at: i64,
) -> Result<()> {
    let detail = serde_json::json!({
        "fromContactId": m.from_contact, "toContactId": m.to_contact,
        "identityIds": m.identities, "caseIds": m.cases,
    });
    for contact_id in [m.to_contact, m.from_contact] {
        let e = ContactAudit {
            actor: actor.to_owned(),
            action: action.to_owned(),
            contact_id,
            case_id: None,
            detail: detail.clone(),
        };
        insert_audit(&mut *tx, &e, at).await?;
    }
    Ok(())
}

#[async_trait]
impl<S: SqlCore> ContactStore for S {
    async fn list_contacts(
        &self,
        s: ContactSearch,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<ContactProfile>> {
        let mut q = query(format!(
            "SELECT {CONTACT_COLS} FROM contacts WHERE merged_into IS NULL"
        ));
        if s.text.is_some() || s.phone.is_some() {
            // One `IN` over a `UNION` of index look-ups: the database starts from the few
            // matching contacts instead of walking all of them testing each key.
            q.push(" AND id IN (");
            let mut first = true;
            let mut union = |q: &mut Query| {
                if !std::mem::take(&mut first) {
                    q.push(" UNION ");
                }
            };
            if let Some(text) = s.text.as_deref() {
                let words = crate::agent::search_words(text);
                if !words.is_empty() {
                    union(&mut q);
                    self.db().dialect().push_name_words(&mut q, &words);
                }
                union(&mut q);
                q.push(
                    "SELECT id FROM contacts WHERE display_name IS NOT NULL \
                     AND lower(display_name) = lower(",
                )
                .push_bind(text.trim())
                .push(")");
                union(&mut q);
                q.push("SELECT contact_id FROM contact_identities WHERE platform_user_id = ")
                    .push_bind(text.trim());
                if let Some(h) = webcare_domain::contacts::normalise_handle(text) {
                    union(&mut q);
                    q.push(
                        "SELECT contact_id FROM contact_identities \
                         WHERE handle IS NOT NULL AND lower(handle) IN ",
                    );
                    q.push_list([format!("@{h}"), h]);
                }
            }
            if let Some(p) = s.phone {
                union(&mut q);
                q.push("SELECT id FROM contacts WHERE phone IS NOT NULL AND phone = ")
                    .push_bind(&p);
                union(&mut q);
                q.push("SELECT contact_id FROM contact_identities WHERE platform_user_id = ")
                    .push_bind(p);
            }
            q.push(")");
        }
        if let CaseScope::Department(d) = s.scope {
            q.push(" AND id IN (SELECT contact_id FROM cases WHERE status = 'forwarded'");
            if let Some(d) = d {
                q.push(" AND department_id = ").push_bind(d);
            }
            q.push(")");
        }
        q.page_by_id(after, limit);
        let rows: Vec<ContactRow> = q.fetch_all(self.db().read()).await?;
        let profiles = profiles_of(self.db().read(), rows).await?;
        Ok(into_page(profiles, limit, |c: &ContactProfile| c.id))
    }

    async fn contact_profile(&self, id: Uuid) -> Result<Option<ContactProfile>> {
        let row: Option<ContactRow> =
            query(format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.db().read())
                .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(profiles_of(self.db().read(), vec![row]).await?.pop())
    }

    async fn contact_in_scope(&self, id: Uuid, scope: &CaseScope) -> Result<bool> {
        let CaseScope::Department(d) = scope else {
            return Ok(true);
        };
        let mut q = query("SELECT COUNT(*) FROM cases WHERE contact_id = ");
        q.push_bind(id).push(" AND status = 'forwarded'");
        if let Some(d) = d {
            q.push(" AND department_id = ").push_bind(*d);
        }
        let n: i64 = q.scalar(self.db().read()).await?;
        Ok(n > 0)
    }

    async fn contact_cases(&self, id: Uuid, limit: u32) -> Result<Vec<CaseRecord>> {
        let rows: Vec<CaseRow> = query(format!(
            "SELECT {CASE_COLS} FROM cases WHERE contact_id = $1 \
             ORDER BY last_message_at DESC, id DESC LIMIT $2"
        ))
        .bind(id)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        rows_into(rows)
    }

    async fn contact_open_cases(
        &self,
        id: Uuid,
        except: Uuid,
        limit: u32,
    ) -> Result<Vec<CaseRecord>> {
        let rows: Vec<CaseRow> = query(format!(
            "SELECT {CASE_COLS} FROM cases WHERE contact_id = $1 AND id <> $2 \
             AND status NOT IN ('resolved', 'closed') AND merged_into IS NULL \
             ORDER BY last_message_at DESC, id DESC LIMIT $3"
        ))
        .bind(id)
        .bind(except)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        rows_into(rows)
    }

    async fn contact_messages(&self, id: Uuid, limit: u32) -> Result<Vec<MessageRecord>> {
        let rows: Vec<MessageRow> = query(format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE case_id IN \
             (SELECT id FROM cases WHERE contact_id = $1) ORDER BY sent_at DESC, id DESC LIMIT $2"
        ))
        .bind(id)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?;
        rows_into(rows)
    }

    async fn update_contact(
        &self,
        id: Uuid,
        p: ContactPatch,
        audit: ContactAudit,
    ) -> Result<Option<ContactProfile>> {
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        // One statement: each field is set only when given, so two agents editing different
        // fields at once both keep their change.
        let row: Option<ContactRow> = query(format!(
            "UPDATE contacts SET \
             display_name = CASE WHEN $2 THEN $3 ELSE display_name END, \
             notes = CASE WHEN $4 THEN $5 ELSE notes END, \
             phone = CASE WHEN $6 THEN $7 ELSE phone END, \
             no_auto_reply = COALESCE($8, no_auto_reply), \
             updated_at = $9 \
             WHERE id = $1 AND merged_into IS NULL RETURNING {CONTACT_COLS}"
        ))
        .bind(id)
        .bind(p.display_name.is_some())
        .bind(p.display_name.flatten())
        .bind(p.notes.is_some())
        .bind(p.notes.flatten())
        .bind(p.phone.is_some())
        .bind(p.phone.flatten())
        .bind(p.no_auto_reply)
        .bind(now)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        insert_audit(&mut tx, &audit, now).await?;
        let profile = profiles_of(&mut tx, vec![row]).await?.pop();
        tx.commit().await?;
        Ok(profile)
    }

    async fn merge_contacts(&self, into: Uuid, from: Uuid, actor: &str) -> Result<ContactMove> {
        if into == from {
            return Err(StoreError::Conflict(
                "a contact cannot be merged into itself".into(),
            ));
        }
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        lock_both(&mut tx, into, from, now).await?;
        let mut identities: Vec<Uuid> = query(
            "UPDATE contact_identities SET contact_id = $2 WHERE contact_id = $1 RETURNING id",
        )
        .bind(from)
        .bind(into)
        .scalars(&mut tx)
        .await?;
        let mut cases: Vec<Uuid> =
            query("UPDATE cases SET contact_id = $2 WHERE contact_id = $1 RETURNING id")
                .bind(from)
                .bind(into)
                .scalars(&mut tx)
                .await?;
        // Earlier merges into `from` now lead to `into`.
        mark_merged(&mut tx, from, into, now).await?;
        touch(&mut tx, into, now).await?;
        identities.sort();
        cases.sort();
        let m = ContactMove {
            to_contact: into,
            from_contact: from,
            identities,
            cases,
        };
        audit_move(&mut tx, "contact.merged", actor, &m, now).await?;
        tx.commit().await?;
        Ok(m)
    }

    async fn link_identity(&self, into: Uuid, identity: Uuid, actor: &str) -> Result<ContactMove> {
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        live_contact(&mut tx, into).await?;
        let owner = "SELECT contact_id FROM contact_identities WHERE id = $1";
        let from: Option<Uuid> = query(owner).bind(identity).scalar_optional(&mut tx).await?;
        let from = from.ok_or_else(|| StoreError::NotFound(format!("identity {identity}")))?;
        if from == into {
            return Err(StoreError::Conflict(
                "the identity is already this contact's".into(),
            ));
        }
        lock_both(&mut tx, into, from, now).await?;
        // Read before the locks: it must not have moved in between.
        let still: Option<Uuid> = query(owner).bind(identity).scalar_optional(&mut tx).await?;
        if still != Some(from) {
            return Err(StoreError::Conflict(
                "the identity moved meanwhile; try again".into(),
            ));
        }
        let mut cases = move_identity(&mut tx, from, into, identity).await?;
        // A contact left without identities has become part of `into`.
        let left = count_where(
            &mut tx,
            "SELECT COUNT(*) FROM contact_identities WHERE contact_id = $1",
            from,
        )
        .await?;
        let remaining = count_where(
            &mut tx,
            "SELECT COUNT(*) FROM cases WHERE contact_id = $1",
            from,
        )
        .await?;
        if left == 0 && remaining == 0 {
            mark_merged(&mut tx, from, into, now).await?;
        }
        cases.sort();
        let m = ContactMove {
            to_contact: into,
            from_contact: from,
            identities: vec![identity],
            cases,
        };
        audit_move(&mut tx, "contact.identity_linked", actor, &m, now).await?;
        tx.commit().await?;
        Ok(m)
    }

    async fn unlink_identity(
        &self,
        contact: Uuid,
        identity: Uuid,
        actor: &str,
    ) -> Result<ContactMove> {
        let now = to_ms(Utc::now());
        let mut tx = self.db().begin().await?;
        lock_live(&mut tx, contact, now).await?;
        let ident: Option<(Uuid, Option<String>)> =
            query("SELECT contact_id, display_name FROM contact_identities WHERE id = $1")
                .bind(identity)
                .fetch_optional(&mut tx)
                .await?;
        let name = match ident {
            Some((c, name)) if c == contact => name,
            _ => {
                return Err(StoreError::NotFound(format!(
                    "identity {identity} of contact {contact}"
                )))
            }
        };
        let n = count_where(
            &mut tx,
            "SELECT COUNT(*) FROM contact_identities WHERE contact_id = $1",
            contact,
        )
        .await?;
        if n < 2 {
            return Err(StoreError::Conflict(
                "this is the contact's only identity".into(),
            ));
        }
        let new_id = Uuid::now_v7();
        query(
            "INSERT INTO contacts (id, display_name, created_at, updated_at) \
             VALUES ($1, $2, $3, $3)",
        )
        .bind(new_id)
        .bind(name)
        .bind(now)
        .execute(&mut tx)
        .await?;
        let mut cases = move_identity(&mut tx, contact, new_id, identity).await?;
        cases.sort();
        touch(&mut tx, contact, now).await?;
        let m = ContactMove {
            to_contact: new_id,
            from_contact: contact,
            identities: vec![identity],
            cases,
        };
        audit_move(&mut tx, "contact.identity_unlinked", actor, &m, now).await?;
        tx.commit().await?;
        Ok(m)
    }

    async fn match_candidates(
        &self,
        phones: &[String],
        handles: &[String],
        limit: u32,
    ) -> Result<Vec<ContactProfile>> {
        if phones.is_empty() && handles.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = query(format!(
            "SELECT {CONTACT_COLS} FROM contacts WHERE merged_into IS NULL AND id IN ("
        ));
        if !phones.is_empty() {
            q.push("SELECT id FROM contacts WHERE phone IS NOT NULL AND phone IN ");
            q.push_list(phones);
            q.push(" UNION SELECT contact_id FROM contact_identities WHERE platform_user_id IN ");
            q.push_list(phones);
        }
        if !handles.is_empty() {
            if !phones.is_empty() {
                q.push(" UNION ");
            }
            q.push(
                "SELECT contact_id FROM contact_identities \
                 WHERE handle IS NOT NULL AND lower(handle) IN ",
            );
            q.push_list(handles.iter().flat_map(|h| [h.clone(), format!("@{h}")]));
        }
        q.push(") ORDER BY id LIMIT ").push_bind(limit);
        let rows: Vec<ContactRow> = q.fetch_all(self.db().read()).await?;
        profiles_of(self.db().read(), rows).await
    }

    async fn record_contact_audit(&self, e: ContactAudit) -> Result<()> {
        insert_audit(self.db().write(), &e, to_ms(Utc::now())).await
    }

    async fn access_log(
        &self,
        contact: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<AuditRecord>> {
        // UUIDv7 ids are time-ordered: id order is time order, and a stable cursor.
        let mut q = query(
            "SELECT id, at, actor, action, case_id, detail FROM audit_events WHERE contact_id IN \
             (SELECT id FROM contacts WHERE id = ",
        );
        q.push_bind(contact)
            .push(" OR merged_into = ")
            .push_bind(contact)
            .push(")");
        q.fetch_page::<AuditRecord, AuditRecord>(after, limit, self.db().read(), |a| a.id)
            .await
    }
}
