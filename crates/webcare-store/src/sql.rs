//! Row types, and channel accounts, cases, tokens and audit over the dialect seam (`db.rs`).
//! SQLite and PostgreSQL accept the same `$n` placeholders, `ON CONFLICT` and `RETURNING`, so
//! each statement is written once; what differs in setup lives in `sqlite.rs` and `postgres.rs`.

use crate::db::{json, query, Exec, SqlCore};
use crate::records::*;
use crate::time::{from_ms, opt_from_ms, to_ms};
use crate::{Audit, Cases, ChannelAccounts, Result, StoreError, Tokens};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;
use webcare_domain::inbound::{Attachment, Author};

pub(crate) const ACCOUNT_COLS: &str = "id, kind, name, external_id, api_base_url, credentials, \
    callback_url, calendar_id, default_team, settings, created_at, updated_at, enabled";

pub(crate) const CASE_COLS: &str = "id, channel_account_id, contact_id, status, priority, team, \
    assignee, department_id, theme, kind, target_group, labels, zaak_url, first_message_at, \
    last_message_at, resolved_at, closed_at, due_at, created_at, updated_at, channel_kind, \
    sla_status, preview, author_name, author_handle, last_inbound_at, routing_version, \
    routing_rule_id, suggested_theme, suggested_theme_confidence";

pub(crate) const MESSAGE_COLS: &str = "id, case_id, channel_account_id, platform_message_id, \
    in_reply_to, conversation_key, direction, visibility, author, text, sent_at, received_at, \
    attachments, edit_history, flags, deleted_at";

pub(crate) fn parse<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad {what} '{s}' in database")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: Uuid,
    kind: String,
    name: String,
    external_id: String,
    api_base_url: Option<String>,
    credentials: Json<Credentials>,
    callback_url: Option<String>,
    calendar_id: Option<Uuid>,
    default_team: Option<String>,
    settings: Json<AccountSettings>,
    created_at: i64,
    updated_at: i64,
    enabled: bool,
}

impl TryFrom<AccountRow> for ChannelAccount {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        Ok(ChannelAccount {
            id: r.id,
            kind: parse(&r.kind, "channel kind")?,
            name: r.name,
            external_id: r.external_id,
            api_base_url: r.api_base_url,
            credentials: r.credentials.0,
            callback_url: r.callback_url,
            calendar_id: r.calendar_id,
            default_team: r.default_team,
            settings: r.settings.0,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            enabled: r.enabled,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CaseRow {
    id: Uuid,
    channel_account_id: Uuid,
    contact_id: Uuid,
    status: String,
    priority: String,
    team: Option<String>,
    assignee: Option<String>,
    department_id: Option<Uuid>,
    theme: Option<String>,
    kind: Option<String>,
    target_group: Option<String>,
    labels: Json<Vec<String>>,
    zaak_url: Option<String>,
    first_message_at: i64,
    last_message_at: i64,
    resolved_at: Option<i64>,
    closed_at: Option<i64>,
    due_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    channel_kind: Option<String>,
    sla_status: Option<String>,
    preview: Option<String>,
    author_name: Option<String>,
    author_handle: Option<String>,
    last_inbound_at: Option<i64>,
    routing_version: Option<i64>,
    routing_rule_id: Option<Uuid>,
    suggested_theme: Option<String>,
    suggested_theme_confidence: Option<f64>,
}

impl TryFrom<CaseRow> for CaseRecord {
    type Error = StoreError;
    fn try_from(r: CaseRow) -> Result<Self, StoreError> {
        Ok(CaseRecord {
            id: r.id,
            channel_account_id: r.channel_account_id,
            contact_id: r.contact_id,
            status: parse(&r.status, "status")?,
            priority: parse(&r.priority, "priority")?,
            team: r.team,
            assignee: r.assignee,
            department_id: r.department_id,
            theme: r.theme,
            kind: r.kind.as_deref().map(|k| parse(k, "kind")).transpose()?,
            target_group: r
                .target_group
                .as_deref()
                .map(|k| parse(k, "target group"))
                .transpose()?,
            labels: r.labels.0,
            zaak_url: r.zaak_url,
            first_message_at: from_ms(r.first_message_at),
            last_message_at: from_ms(r.last_message_at),
            resolved_at: opt_from_ms(r.resolved_at),
            closed_at: opt_from_ms(r.closed_at),
            due_at: opt_from_ms(r.due_at),
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            channel_kind: r
                .channel_kind
                .map(|k| parse(&k, "channel kind"))
                .transpose()?,
            sla_status: r
                .sla_status
                .map(|k| crate::sla::parse_status(&k))
                .transpose()?,
            preview: r.preview,
            author_name: r.author_name,
            author_handle: r.author_handle,
            last_inbound_at: opt_from_ms(r.last_inbound_at),
            routing: r
                .routing_version
                .zip(r.routing_rule_id)
                .map(|(version, rule_id)| RoutedBy { version, rule_id }),
            suggested_theme: r.suggested_theme.map(|theme| ThemeSuggestion {
                theme,
                confidence: r.suggested_theme_confidence.unwrap_or(0.0),
            }),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: Uuid,
    case_id: Uuid,
    channel_account_id: Uuid,
    platform_message_id: String,
    in_reply_to: Option<String>,
    conversation_key: Option<String>,
    direction: String,
    visibility: String,
    author: Json<Author>,
    text: String,
    sent_at: i64,
    received_at: i64,
    attachments: Json<Vec<Attachment>>,
    edit_history: Json<Vec<EditRecord>>,
    flags: Json<Vec<String>>,
    deleted_at: Option<i64>,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        Ok(MessageRecord {
            id: r.id,
            case_id: r.case_id,
            channel_account_id: r.channel_account_id,
            platform_message_id: r.platform_message_id,
            in_reply_to: r.in_reply_to,
            conversation_key: r.conversation_key,
            direction: parse(&r.direction, "direction")?,
            visibility: parse(&r.visibility, "visibility")?,
            author: r.author.0,
            text: r.text,
            sent_at: from_ms(r.sent_at),
            received_at: from_ms(r.received_at),
            attachments: r.attachments.0,
            edit_history: r.edit_history.0,
            flags: r.flags.0,
            deleted_at: opt_from_ms(r.deleted_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub channel_account_id: Uuid,
    pub platform_user_id: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
}

impl From<IdentityRow> for Identity {
    fn from(r: IdentityRow) -> Self {
        Identity {
            id: r.id,
            channel_account_id: r.channel_account_id,
            platform_user_id: r.platform_user_id,
            handle: r.handle,
            display_name: r.display_name,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    name: String,
    role: String,
    user_id: Option<Uuid>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

pub(crate) const TOKEN_COLS: &str = "id, name, role, user_id, created_at, last_used_at, revoked_at";

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(TokenRecord {
            id: r.id,
            name: r.name,
            role: parse(&r.role, "role")?,
            user_id: r.user_id,
            created_at: from_ms(r.created_at),
            last_used_at: opt_from_ms(r.last_used_at),
            revoked_at: opt_from_ms(r.revoked_at),
        })
    }
}

/// A case found as threading evidence: `which` says for which kind (see `ingest.rs`).
pub(crate) fn rows_into<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// Cuts a `limit + 1` fetch into a page and its continuation key.
pub(crate) fn into_page<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> Uuid) -> Page<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_after = if more { items.last().map(key) } else { None };
    Page { items, next_after }
}

#[async_trait]
impl<S: SqlCore> ChannelAccounts for S {
    async fn create_channel_account(&self, new: NewChannelAccount) -> Result<ChannelAccount> {
        let now = to_ms(Utc::now());
        let sql = format!(
            "INSERT INTO channel_accounts ({ACCOUNT_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, TRUE) RETURNING {ACCOUNT_COLS}"
        );
        let row: AccountRow = query(&sql)
            .bind(Uuid::now_v7())
            .bind(new.kind.as_str())
            .bind(&new.name)
            .bind(&new.external_id)
            .bind(&new.api_base_url)
            .bind(json(&new.credentials))
            .bind(&new.callback_url)
            .bind(new.calendar_id)
            .bind(&new.default_team)
            .bind(json(&new.settings))
            .bind(now)
            .fetch_one(self.db().write())
            .await
            .map_err(|e| {
                e.conflict_if_unique("a channel account of this kind with this externalId exists")
            })?;
        row.try_into()
    }

    async fn get_channel_account(&self, id: Uuid) -> Result<Option<ChannelAccount>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM channel_accounts WHERE id = $1 AND deleted_at IS NULL"
        );
        let row: Option<AccountRow> = query(&sql)
            .bind(id)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_channel_accounts(&self, page: PageRequest) -> Result<Page<ChannelAccount>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM channel_accounts WHERE deleted_at IS NULL \
             AND ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
        );
        let rows: Vec<AccountRow> = query(&sql)
            .bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(self.db().read())
            .await?;
        Ok(into_page(
            rows_into(rows)?,
            page.limit,
            |a: &ChannelAccount| a.id,
        ))
    }

    async fn update_channel_account(
        &self,
        id: Uuid,
        patch: ChannelAccountPatch,
    ) -> Result<Option<ChannelAccount>> {
        let mut tx = self.db().begin().await?;
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM channel_accounts WHERE id = $1 AND deleted_at IS NULL"
        );
        let row: Option<AccountRow> = query(&sql).bind(id).fetch_optional(&mut tx).await?;
        let Some(row) = row else { return Ok(None) };
        let mut a: ChannelAccount = row.try_into()?;
        if let Some(v) = patch.name {
            a.name = v;
        }
        if let Some(v) = patch.external_id {
            a.external_id = v;
        }
        if let Some(v) = patch.api_base_url {
            a.api_base_url = v;
        }
        if let Some(v) = patch.callback_url {
            a.callback_url = v;
        }
        if let Some(v) = patch.calendar_id {
            a.calendar_id = v;
        }
        if let Some(v) = patch.default_team {
            a.default_team = v;
        }
        if let Some(v) = patch.settings {
            a.settings.extend(v);
        }
        if let Some(v) = patch.credentials {
            a.credentials.0.extend(v.0);
        }
        if let Some(v) = patch.enabled {
            a.enabled = v;
        }
        let sql = format!(
            "UPDATE channel_accounts SET name = $2, external_id = $3, api_base_url = $4, \
             credentials = $5, callback_url = $6, calendar_id = $7, default_team = $8, \
             settings = $9, updated_at = $10, enabled = $11 WHERE id = $1 RETURNING {ACCOUNT_COLS}"
        );
        let row: AccountRow = query(&sql)
            .bind(id)
            .bind(&a.name)
            .bind(&a.external_id)
            .bind(&a.api_base_url)
            .bind(json(&a.credentials))
            .bind(&a.callback_url)
            .bind(a.calendar_id)
            .bind(&a.default_team)
            .bind(json(&a.settings))
            .bind(to_ms(Utc::now()))
            .bind(a.enabled)
            .fetch_one(&mut tx)
            .await
            .map_err(|e| {
                e.conflict_if_unique("a channel account of this kind with this externalId exists")
            })?;
        tx.commit().await?;
        Ok(Some(row.try_into()?))
    }

    async fn delete_channel_account(&self, id: Uuid) -> Result<bool> {
        let done = query(
            "UPDATE channel_accounts SET deleted_at = $2, updated_at = $2 \
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(to_ms(Utc::now()))
        .execute(self.db().write())
        .await?;
        Ok(done == 1)
    }
}

#[async_trait]
impl<S: SqlCore> Cases for S {
    async fn list_cases(&self, f: CaseFilter, page: PageRequest) -> Result<Page<CaseRecord>> {
        let mut q = query(format!("SELECT {CASE_COLS} FROM cases WHERE 1 = 1"));
        crate::agent::push_case_filters(&mut q, self.db().dialect(), &f);
        if let Some(s) = f.status {
            q.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(a) = f.channel_account_id {
            q.push(" AND channel_account_id = ").push_bind(a);
        }
        match f.assignee {
            Some(Some(a)) => {
                q.push(" AND assignee = ").push_bind(a);
            }
            Some(None) => {
                q.push(" AND assignee IS NULL");
            }
            None => {}
        }
        if let Some(t) = f.team {
            q.push(" AND team = ").push_bind(t);
        }
        if let Some(t) = f.theme {
            q.push(" AND theme = ").push_bind(t);
        }
        if let Some(k) = f.kind {
            q.push(" AND kind = ").push_bind(k.as_str());
        }
        if let Some(s) = f.sla_status {
            q.push(" AND sla_status = ")
                .push_bind(crate::sla::status_str(s));
        }
        let (cmp, order) = match page.sort {
            CaseSort::Newest => (" < ", " ORDER BY id DESC"),
            CaseSort::Oldest => (" > ", " ORDER BY id ASC"),
            CaseSort::DueAt => (" > ", " ORDER BY due_sort ASC, id ASC"),
        };
        match (page.sort, page.after) {
            (CaseSort::DueAt, Some(after)) => {
                let due = page.after_due.unwrap_or(crate::sla::NO_DUE);
                q.push(" AND (due_sort > ")
                    .push_bind(due)
                    .push(" OR (due_sort = ")
                    .push_bind(due)
                    .push(" AND id > ")
                    .push_bind(after)
                    .push("))");
            }
            (_, Some(after)) => {
                q.push(" AND id").push(cmp).push_bind(after);
            }
            (_, None) => {}
        }
        q.push(order)
            .push(" LIMIT ")
            .push_bind(i64::from(page.limit) + 1);
        let rows: Vec<CaseRow> = q.fetch_all(self.db().read()).await?;
        Ok(into_page(rows_into(rows)?, page.limit, |c: &CaseRecord| {
            c.id
        }))
    }

    async fn get_case(&self, id: Uuid) -> Result<Option<CaseRecord>> {
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE id = $1");
        let row: Option<CaseRow> = query(&sql)
            .bind(id)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn get_cases(&self, ids: &[Uuid]) -> Result<Vec<CaseRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut q = query(format!("SELECT {CASE_COLS} FROM cases WHERE id IN "));
            q.push_list(chunk);
            let rows: Vec<CaseRow> = q.fetch_all(self.db().read()).await?;
            out.extend(rows_into(rows)?);
        }
        Ok(out)
    }

    async fn case_messages(&self, case_id: Uuid) -> Result<Vec<MessageRecord>> {
        // Platform time order; the id breaks ties deterministically.
        let sql =
            format!("SELECT {MESSAGE_COLS} FROM messages WHERE case_id = $1 ORDER BY sent_at, id");
        let rows: Vec<MessageRow> = query(&sql)
            .bind(case_id)
            .fetch_all(self.db().read())
            .await?;
        rows_into(rows)
    }

    async fn get_contact(&self, id: Uuid) -> Result<Option<ContactRecord>> {
        let row: Option<(Uuid, Option<String>, i64)> =
            query("SELECT id, display_name, created_at FROM contacts WHERE id = $1")
                .bind(id)
                .fetch_optional(self.db().read())
                .await?;
        let Some((id, display_name, created_at)) = row else {
            return Ok(None);
        };
        let identities: Vec<IdentityRow> = query(
            "SELECT id, contact_id, channel_account_id, platform_user_id, handle, display_name \
             FROM contact_identities WHERE contact_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.db().read())
        .await?;
        Ok(Some(ContactRecord {
            id,
            display_name,
            identities: identities.into_iter().map(Into::into).collect(),
            created_at: crate::time::from_ms(created_at),
        }))
    }

    async fn backfill_inbox_rows(&self, batch: i64) -> Result<usize> {
        let mut tx = self.db().begin().await?;
        let ids: Vec<Uuid> =
            query("SELECT id FROM cases WHERE preview IS NULL ORDER BY id LIMIT $1")
                .bind(batch)
                .scalars(&mut tx)
                .await?;
        crate::inbox_row::refresh(&mut tx.conn(), &ids).await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    async fn count_cases(&self) -> Result<i64> {
        query("SELECT COUNT(*) FROM cases")
            .scalar(self.db().read())
            .await
    }

    async fn count_messages(&self) -> Result<i64> {
        query("SELECT COUNT(*) FROM messages")
            .scalar(self.db().read())
            .await
    }
}

#[async_trait]
impl<S: SqlCore> Tokens for S {
    async fn add_token(&self, t: NewToken<'_>) -> Result<TokenRecord> {
        let sql = format!(
            "INSERT INTO api_tokens (id, name, role, token_hash, created_at, user_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLS}"
        );
        let row: TokenRow = query(&sql)
            .bind(Uuid::now_v7())
            .bind(t.name)
            .bind(t.role.as_str())
            .bind(t.token_hash)
            .bind(to_ms(Utc::now()))
            .bind(t.user_id)
            .fetch_one(self.db().write())
            .await
            .map_err(|e| e.conflict_if_unique("token exists"))?;
        row.try_into()
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        );
        let row: Option<TokenRow> = query(&sql)
            .bind(token_hash)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn get_token(&self, id: Uuid) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1");
        let row: Option<TokenRow> = query(&sql)
            .bind(id)
            .fetch_optional(self.db().read())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_tokens(
        &self,
        user_id: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<TokenRecord>> {
        let mut q = query(format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE revoked_at IS NULL"
        ));
        if let Some(u) = user_id {
            q.push(" AND user_id = ").push_bind(u);
        }
        q.page_by_id(after, limit);
        let rows: Vec<TokenRow> = q.fetch_all(self.db().read()).await?;
        let items = rows_into::<_, TokenRecord>(rows)?;
        Ok(into_page(items, limit, |t: &TokenRecord| t.id))
    }

    async fn revoke_token(&self, id: Uuid) -> Result<bool> {
        let done =
            query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(to_ms(Utc::now()))
                .execute(self.db().write())
                .await?;
        Ok(done == 1)
    }

    async fn touch_token(
        &self,
        id: Uuid,
        at: chrono::DateTime<Utc>,
        every: chrono::Duration,
    ) -> Result<()> {
        // The guard keeps concurrent first requests of a minute from writing twice.
        query(
            "UPDATE api_tokens SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(id)
        .bind(to_ms(at))
        .bind(to_ms(at - every))
        .execute(self.db().write())
        .await?;
        Ok(())
    }
}

#[async_trait]
impl<S: SqlCore> Audit for S {
    async fn record_audit(&self, e: NewAuditEvent) -> Result<()> {
        insert_audit(self.db().write(), &e, Utc::now()).await
    }
}

/// Writes one audit entry, alone or in the caller's transaction (with the change it records).
pub(crate) async fn insert_audit<'e>(
    ex: impl Into<Exec<'e>>,
    e: &NewAuditEvent,
    at: DateTime<Utc>,
) -> Result<()> {
    query(
        "INSERT INTO audit_events (id, at, actor, action, case_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(to_ms(at))
    .bind(&e.actor)
    .bind(&e.action)
    .bind(e.case_id)
    .bind(json(&e.detail))
    .execute(ex)
    .await?;
    Ok(())
}

/// Ready means: the database answers, and it has every migration this binary knows.
pub(crate) async fn check_migrations<DB>(
    pool: &sqlx::Pool<DB>,
    migrator: &sqlx::migrate::Migrator,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    i64: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = true")
            .fetch_one(pool)
            .await?;
    let known = migrator.iter().count() as i64;
    if applied < known {
        return Err(StoreError::Config(format!(
            "{applied} of {known} migrations applied"
        )));
    }
    Ok(())
}
