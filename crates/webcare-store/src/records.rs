//! Records as the store hands them out, and the inputs it takes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;
use webcare_domain::inbound::{Attachment, Author};
use webcare_domain::{
    CaseKind, CaseStatus, ChannelKind, Direction, Priority, Role, TargetGroup, Visibility,
};

/// Platform credentials of a channel account. Write-only: never serialised back out by the API
/// and redacted in `Debug`, so they cannot end up in a log line by accident.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credentials(pub BTreeMap<String, String>);

impl Credentials {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    pub fn keys(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// Per-kind settings of an account (poll intervals for X, ...), kept as JSON.
pub type AccountSettings = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelAccount {
    pub id: Uuid,
    pub kind: ChannelKind,
    pub name: String,
    pub external_id: String,
    pub api_base_url: Option<String>,
    pub credentials: Credentials,
    pub callback_url: Option<String>,
    pub calendar_id: Option<Uuid>,
    pub default_team: Option<String>,
    pub settings: AccountSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Off: not polled and nothing sent through it; pushed deliveries still become cases.
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct NewChannelAccount {
    pub kind: ChannelKind,
    pub name: String,
    pub external_id: String,
    pub api_base_url: Option<String>,
    pub credentials: Credentials,
    pub callback_url: Option<String>,
    pub calendar_id: Option<Uuid>,
    pub default_team: Option<String>,
    pub settings: AccountSettings,
}

impl NewChannelAccount {
    /// An account of `kind` known on its platform as `external_id`, with nothing else set.
    pub fn new(kind: ChannelKind, name: &str, external_id: &str) -> Self {
        NewChannelAccount {
            kind,
            name: name.into(),
            external_id: external_id.into(),
            api_base_url: None,
            credentials: Credentials::default(),
            callback_url: None,
            calendar_id: None,
            default_team: None,
            settings: AccountSettings::default(),
        }
    }
}

/// A partial update; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct ChannelAccountPatch {
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub api_base_url: Option<Option<String>>,
    /// Keys given replace those keys; other stored keys stay (so a client can rotate one secret
    /// without re-sending the others, which it cannot read back).
    pub credentials: Option<Credentials>,
    pub callback_url: Option<Option<String>>,
    pub calendar_id: Option<Option<Uuid>>,
    pub default_team: Option<Option<String>>,
    pub settings: Option<AccountSettings>,
    pub enabled: Option<bool>,
}

// The API shows it as it is (`IdentityDto`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IdentityDto))]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: Uuid,
    pub channel_account_id: Uuid,
    pub platform_user_id: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
}

// The API shows it as it is (`Contact`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Contact))]
#[serde(rename_all = "camelCase")]
pub struct ContactRecord {
    pub id: Uuid,
    pub display_name: Option<String>,
    pub identities: Vec<Identity>,
    pub created_at: DateTime<Utc>,
}

// The API shows it as it is (`Case`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Case))]
#[serde(rename_all = "camelCase")]
pub struct CaseRecord {
    pub id: Uuid,
    pub channel_account_id: Uuid,
    pub contact_id: Uuid,
    pub status: CaseStatus,
    pub priority: Priority,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub department_id: Option<Uuid>,
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    pub target_group: Option<TargetGroup>,
    pub labels: Vec<String>,
    pub zaak_url: Option<String>,
    pub first_message_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    // The inbox row (see `inbox_row.rs`): the channel, the worst SLA state of the running
    // clocks, and the first line and author of the latest citizen message (BSNs masked).
    /// The channel the case came in on.
    pub channel_kind: Option<ChannelKind>,
    /// The worst state of the case's running SLA clocks; absent when none runs.
    pub sla_status: Option<webcare_domain::sla::ClockStatus>,
    /// The first line of the citizen's latest message (at most 120 characters and an ellipsis,
    /// BSNs masked); empty when the citizen has written nothing yet.
    pub preview: Option<String>,
    /// The citizen as they appear on this channel (their latest message's author).
    pub author_name: Option<String>,
    pub author_handle: Option<String>,
    /// When the citizen's latest message was sent.
    pub last_inbound_at: Option<DateTime<Utc>>,
    // The routing rule set version and the rule of it (issue 14).
    /// The routing rule that routed the case, if one matched.
    #[serde(rename = "routedBy")]
    pub routing: Option<RoutedBy>,
    /// The theme the desk's suggestion model proposed for the first citizen message when the
    /// case was created (issue 16); the agent sets the theme itself.
    pub suggested_theme: Option<ThemeSuggestion>,
}

/// A suggested theme with its confidence (the model's probability, 0 to 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ThemeSuggestion {
    pub theme: String,
    pub confidence: f64,
}

impl CaseRecord {
    /// The fields a routing rule may set.
    pub fn routable(&self) -> webcare_domain::routing::Routable {
        webcare_domain::routing::Routable {
            team: self.team.clone(),
            priority: self.priority,
            theme: self.theme.clone(),
            kind: self.kind,
            target_group: self.target_group,
            labels: self.labels.clone(),
        }
    }

    /// Takes the fields a rule set (see [`Self::routable`]), and which rule it was.
    pub fn set_routable(&mut self, f: webcare_domain::routing::Routable, by: RoutedBy) {
        self.team = f.team;
        self.priority = f.priority;
        self.theme = f.theme;
        self.kind = f.kind;
        self.target_group = f.target_group;
        self.labels = f.labels;
        self.routing = Some(by);
    }
}

/// Which rule of which version of the routing rules routed a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoutedBy {
    pub version: i64,
    pub rule_id: Uuid,
}

/// One earlier version of an edited message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditRecord {
    pub text: String,
    pub replaced_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: Uuid,
    pub case_id: Uuid,
    pub channel_account_id: Uuid,
    pub platform_message_id: String,
    pub in_reply_to: Option<String>,
    pub conversation_key: Option<String>,
    pub direction: Direction,
    pub visibility: Visibility,
    pub author: Author,
    pub text: String,
    pub sent_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
    pub edit_history: Vec<EditRecord>,
    pub flags: Vec<String>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What ingesting one message did.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOutcome {
    pub message: MessageRecord,
    /// False when the platform message id was already stored: nothing changed.
    pub created: bool,
    /// True when the message started a new case.
    pub new_case: bool,
}

/// Filters of the case list; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    pub channel_account_id: Option<Uuid>,
    /// `Some(None)` selects unassigned cases.
    pub assignee: Option<Option<String>>,
    pub team: Option<String>,
    pub theme: Option<String>,
    pub kind: Option<CaseKind>,
    /// Cases with a running (or paused) clock whose fired status is this (`warning`: worst is
    /// warning; `breached`: any breached).
    pub sla_status: Option<webcare_domain::sla::ClockStatus>,
    // Inbox filters of the agent desk (applied by `agent::push_case_filters`).
    /// Every label must be on the case.
    pub labels: Vec<String>,
    pub priority: Option<webcare_domain::Priority>,
    pub department_id: Option<Uuid>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Full-text search over message text and contact names.
    pub q: Option<String>,
    /// The cases of this contact (on every channel).
    pub contact_id: Option<Uuid>,
    /// What the caller may see.
    pub scope: crate::agent::CaseScope,
}

/// Sort orders of the case list. Each is a total order (ties broken by id) so keyset pagination is
/// stable while new cases arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseSort {
    #[default]
    Newest,
    Oldest,
    /// Earliest due first (cases without a running clock last); keyset on (due_sort, id).
    DueAt,
}

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// The id of the last item of the previous page.
    pub after: Option<Uuid>,
    pub limit: u32,
    pub sort: CaseSort,
    /// With [`CaseSort::DueAt`]: the `due_sort` (due ms, `i64::MAX` without) of the last item.
    pub after_due: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Set when there may be more: the key to pass as `after`.
    pub next_after: Option<Uuid>,
}

/// An API token as listed: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Token))]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub id: Uuid,
    pub name: String,
    /// For a user's token, the user's role when it was made; the caller acts with the user's
    /// current role.
    pub role: Role,
    /// The user the token belongs to; null for integration and bootstrap tokens.
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// When the token was last used, to the minute.
    // Updated at most about once a minute (see [`crate::Tokens::touch_token`]).
    pub last_used_at: Option<DateTime<Utc>>,
    // Revoked tokens are not listed, so the API does not show it.
    #[serde(skip)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to store: never its secret, only its hash.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    /// The user it belongs to; `None` for the bootstrap admin and integration tokens.
    pub user_id: Option<Uuid>,
    pub name: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
}

#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub actor: String,
    pub action: String,
    pub case_id: Option<Uuid>,
    pub detail: serde_json::Value,
}
