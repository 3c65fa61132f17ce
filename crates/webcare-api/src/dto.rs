//! The JSON shapes of the API (camelCase, RFC 3339 UTC times) and their conversions from store
//! records. Validation of inputs lives next to the input types.

use crate::error::{ApiError, InvalidParam};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use webcare_desk::DeskError;
use webcare_domain::inbound::{self, InboundMessage};
use webcare_domain::{ChannelKind, Direction, Visibility};
use webcare_store::records as rec;

pub use webcare_domain::inbound::{MAX_ID_CHARS, MAX_TEXT_CHARS};
const MAX_ATTACHMENTS: usize = 50;

/// `{"items": [...], "next": "<url or null>"}`, the one list shape of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub items: Vec<T>,
    /// Link to the next page, or null on the last page.
    pub next: Option<String>,
}

impl<T: ToSchema> List<T> {
    /// A store page as a list, with the link to the next page of the same query at `path`.
    pub fn page<R>(path: &str, uri: &axum::http::Uri, page: webcare_store::Page<R>) -> Self
    where
        T: From<R>,
    {
        List {
            next: crate::routes::next_link(path, &crate::routes::query_pairs(uri), page.next_after),
            items: page.items.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------------------------------------------------------------- messages

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorDto {
    /// Stable id of the author on the platform.
    pub platform_user_id: String,
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttachmentDto {
    /// `image`, `video`, `audio`, `document`, `location`, ...
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// One normalised inbound message (`POST /api/v1/messages`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMessage {
    pub channel_account_id: Uuid,
    /// Unique per channel account; sending it again answers the stored message.
    pub platform_message_id: String,
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Messages with the same key join the same case.
    #[serde(default)]
    pub conversation_key: Option<String>,
    #[serde(default = "default_visibility")]
    pub visibility: Visibility,
    pub author: AuthorDto,
    #[serde(default)]
    pub text: String,
    pub sent_at: DateTime<Utc>,
    #[serde(default)]
    pub attachments: Vec<AttachmentDto>,
}

fn default_visibility() -> Visibility {
    Visibility::Public
}

pub use webcare_desk::channel_accounts::{check_id, check_url};

fn invalid_param_of(a: &inbound::Anomaly) -> InvalidParam {
    use inbound::{Anomaly, Implausible};
    match a {
        Anomaly::ControlCharacters { field } => InvalidParam::new(
            *field,
            "control_characters",
            "must not contain control characters (tab, line feed and carriage return are allowed)",
        ),
        Anomaly::TextTooLong { chars } => InvalidParam::new(
            "text",
            "too_long",
            format!("{chars} characters; at most {MAX_TEXT_CHARS}"),
        ),
        Anomaly::FieldTooLong { field } => InvalidParam::new(
            *field,
            "too_long",
            format!("at most {MAX_ID_CHARS} characters"),
        ),
        Anomaly::SentAt(Implausible::InTheFuture) => InvalidParam::new(
            "sentAt",
            "in_future",
            format!(
                "more than {} minutes in the future",
                inbound::MAX_CLOCK_AHEAD.num_minutes()
            ),
        ),
        Anomaly::SentAt(Implausible::BeforePlatforms) => {
            InvalidParam::new("sentAt", "implausible", "before 2004")
        }
    }
}

impl NewMessage {
    /// Checks everything that can be checked without the database.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut errs = Vec::new();
        check_id(&mut errs, "platformMessageId", &self.platform_message_id);
        check_id(
            &mut errs,
            "author.platformUserId",
            &self.author.platform_user_id,
        );
        if let Some(v) = &self.in_reply_to {
            check_id(&mut errs, "inReplyTo", v);
        }
        if let Some(v) = &self.conversation_key {
            check_id(&mut errs, "conversationKey", v);
        }
        if self.text.is_empty() && self.attachments.is_empty() {
            errs.push(InvalidParam::new(
                "text",
                "required",
                "a message needs text or an attachment",
            ));
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            errs.push(InvalidParam::new(
                "attachments",
                "too_many",
                format!("at most {MAX_ATTACHMENTS}"),
            ));
        }
        for (i, a) in self.attachments.iter().enumerate() {
            if a.kind.trim().is_empty() {
                errs.push(InvalidParam::new(
                    format!("attachments[{i}].kind"),
                    "required",
                    "must not be empty",
                ));
            }
            if let Some(u) = &a.url {
                check_url(&mut errs, &format!("attachments[{i}].url"), u);
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Desk(DeskError::Invalid(errs)))
        }
    }

    /// The message in the shape every door shares, checked by the one input contract
    /// (`InboundMessage::check`): what a platform's message gets corrected and flagged for, an
    /// API client is told (400), since it can send it again.
    pub fn into_checked(self, now: DateTime<Utc>) -> Result<InboundMessage, ApiError> {
        self.validate()?;
        let m = self.into_inbound();
        let anomalies = m
            .check(now)
            .map_err(|r| ApiError::invalid("body", "refused", r.to_string()))?;
        if anomalies.is_empty() {
            return Ok(m);
        }
        Err(ApiError::Desk(DeskError::Invalid(
            anomalies.iter().map(invalid_param_of).collect(),
        )))
    }

    pub fn into_inbound(self) -> InboundMessage {
        InboundMessage {
            platform_message_id: self.platform_message_id,
            in_reply_to: self.in_reply_to,
            conversation_key: self.conversation_key,
            visibility: self.visibility,
            direction: Direction::Inbound,
            author: inbound::Author {
                platform_user_id: self.author.platform_user_id,
                handle: self.author.handle,
                display_name: self.author.display_name,
            },
            text: self.text,
            sent_at: self.sent_at,
            attachments: self.attachments.into_iter().map(Into::into).collect(),
            flags: Vec::new(),
        }
    }
}

impl From<AttachmentDto> for inbound::Attachment {
    fn from(a: AttachmentDto) -> Self {
        inbound::Attachment {
            kind: a.kind,
            url: a.url,
            mime_type: a.mime_type,
            platform_media_id: a.platform_media_id,
            caption: a.caption,
            filename: a.filename,
        }
    }
}

impl From<inbound::Attachment> for AttachmentDto {
    fn from(a: inbound::Attachment) -> Self {
        AttachmentDto {
            kind: a.kind,
            url: a.url,
            mime_type: a.mime_type,
            platform_media_id: a.platform_media_id,
            caption: a.caption,
            filename: a.filename,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditDto {
    pub text: String,
    pub replaced_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: Uuid,
    pub case_id: Uuid,
    pub channel_account_id: Uuid,
    pub platform_message_id: String,
    pub in_reply_to: Option<String>,
    pub conversation_key: Option<String>,
    pub direction: Direction,
    pub visibility: Visibility,
    pub text: String,
    pub sent_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub author: AuthorDto,
    pub attachments: Vec<AttachmentDto>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub edit_history: Vec<EditDto>,
    /// Warnings for the agent, e.g. `bsn` when the text holds a citizen service number.
    pub flags: Vec<String>,
}

impl From<rec::MessageRecord> for Message {
    fn from(m: rec::MessageRecord) -> Self {
        Message {
            id: m.id,
            case_id: m.case_id,
            channel_account_id: m.channel_account_id,
            platform_message_id: m.platform_message_id,
            in_reply_to: m.in_reply_to,
            conversation_key: m.conversation_key,
            direction: m.direction,
            visibility: m.visibility,
            text: m.text,
            sent_at: m.sent_at,
            received_at: m.received_at,
            author: AuthorDto {
                platform_user_id: m.author.platform_user_id,
                handle: m.author.handle,
                display_name: m.author.display_name,
            },
            attachments: m.attachments.into_iter().map(Into::into).collect(),
            deleted_at: m.deleted_at,
            edit_history: m
                .edit_history
                .into_iter()
                .map(|e| EditDto {
                    text: e.text,
                    replaced_at: e.replaced_at,
                })
                .collect(),
            flags: m.flags,
        }
    }
}

// ---------------------------------------------------------------- channel accounts

pub use webcare_desk::channel_accounts::credential_keys;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelAccount {
    pub id: Uuid,
    pub kind: ChannelKind,
    pub name: String,
    pub external_id: String,
    pub api_base_url: Option<String>,
    pub callback_url: Option<String>,
    pub calendar_id: Option<Uuid>,
    pub default_team: Option<String>,
    /// Names of the credentials that are set; the values are never returned.
    pub credential_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_interval_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_check_interval_seconds: Option<u64>,
    pub out_of_hours_reply: webcare_desk::auto_reply::OutOfHoursReply,
    /// The satisfaction survey after resolving (off by default).
    pub survey: webcare_domain::survey::SurveySettings,
    /// Off: not polled and replies through it are refused (409); deliveries its platform
    /// pushes are still acknowledged and become cases.
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<rec::ChannelAccount> for ChannelAccount {
    fn from(a: rec::ChannelAccount) -> Self {
        let setting = |k: &str| a.settings.get(k).and_then(|v| v.as_u64());
        ChannelAccount {
            id: a.id,
            kind: a.kind,
            name: a.name.clone(),
            external_id: a.external_id.clone(),
            api_base_url: a.api_base_url.clone(),
            callback_url: a.callback_url.clone(),
            calendar_id: a.calendar_id,
            default_team: a.default_team.clone(),
            credential_keys: a.credentials.keys(),
            poll_interval_seconds: setting("pollIntervalSeconds"),
            delete_check_interval_seconds: setting("deleteCheckIntervalSeconds"),
            out_of_hours_reply: webcare_desk::auto_reply::OutOfHoursReply::of(&a.settings),
            survey: webcare_desk::channel_accounts::survey_of(&a.settings),
            enabled: a.enabled,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

// ---------------------------------------------------------------- cases

/// A case as the store holds it, with its inbox row.
pub type Case = rec::CaseRecord;

/// A contact with its identities on the channels, as the store holds it.
pub type Contact = rec::ContactRecord;

/// A case with its messages (platform-time order) and contact.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    pub messages: Vec<Message>,
    pub contact: Option<Contact>,
    /// The case's SLA clocks (absent clocks do not apply).
    pub sla: crate::routes::sla::CaseSla,
    /// The same contact's other open cases on any channel (those the caller may see), latest
    /// activity first, at most 20.
    pub other_open_cases: Vec<Case>,
    /// The satisfaction survey after resolving (issue 16); absent when none was scheduled.
    pub survey: Option<CaseSurvey>,
}

/// A case's satisfaction survey and what became of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseSurvey {
    /// `scheduled` (waiting for its delay), `sent`, `answered`, `withdrawn` (the case reopened
    /// before it went out), `skipped` (it could not be sent; see `reason`) or `failed` (the
    /// platform refused it; see `reason`).
    pub state: webcare_domain::survey::SurveyState,
    /// `csat` (1-5) or `nps` (0-10).
    pub kind: webcare_domain::survey::SurveyKind,
    /// The citizen's score, once answered.
    pub score: Option<u8>,
    /// What the citizen wrote beside the score.
    pub comment: Option<String>,
    /// When it was scheduled (with the resolve).
    pub scheduled_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// When it was withdrawn or skipped.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it was skipped (e.g. "WhatsApp-venster gesloten en geen sjabloon") or failed.
    pub reason: Option<String>,
}

impl From<webcare_store::surveys::SurveyRecord> for CaseSurvey {
    fn from(s: webcare_store::surveys::SurveyRecord) -> Self {
        CaseSurvey {
            state: s.state,
            kind: s.kind,
            score: s.score,
            comment: s.comment,
            scheduled_at: s.created_at,
            sent_at: s.sent_at,
            answered_at: s.answered_at,
            ended_at: s.ended_at,
            reason: s.reason,
        }
    }
}
