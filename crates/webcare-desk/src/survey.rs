//! The satisfaction survey sent after a case is resolved (issue 16): what to schedule with a
//! resolve, from the case's account setting (`survey` in its settings, off by default; see
//! `webcare_domain::survey::SurveySettings`). The store schedules it in the resolve's own
//! transaction as an outbox reply due after the delay (`webcare_store::surveys`), so the outbox
//! worker sends it like any reply; the answer is read at ingest.
//!
//! Skipped (nothing scheduled): the setting is off; the account cannot deliver replies; the case
//! has no citizen message to answer; its last citizen message was public and the setting keeps
//! surveys out of public threads; the contact asked for no automatic messages; the contact had a
//! survey within the period (checked by the store in the transaction); the case had one already.
//! On WhatsApp the account's approved template goes along, and the outbox sends it instead of the
//! text when the 24-hour window has closed by then; without one the outbox skips the survey
//! (`webcare_store::surveys::Surveys::skip_survey`), recorded on the case with the reason.

use crate::channel_accounts::survey_of;
use crate::Desk;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use webcare_domain::{ChannelKind, Visibility};
use webcare_store::connectors::{NewReply, ReplyTemplate};
use webcare_store::surveys::{NewSurvey, ACTOR};
use webcare_store::{CaseRecord, StoreError};

/// The survey to schedule when `case` is resolved at `now`, if any.
pub async fn to_schedule(
    desk: &Desk,
    case: &CaseRecord,
    now: DateTime<Utc>,
) -> Result<Option<NewSurvey>, StoreError> {
    let store = &desk.store;
    let Some(account) = store.get_channel_account(case.channel_account_id).await? else {
        return Ok(None);
    };
    let s = survey_of(&account.settings);
    if !s.enabled || crate::replies::deliverable(&account).is_err() {
        return Ok(None);
    }
    let Some(last) = store.last_citizen_message(case.id).await? else {
        return Ok(None);
    };
    if last.visibility == Visibility::Public && !s.public_threads {
        return Ok(None);
    }
    if store
        .contact_profile(case.contact_id)
        .await?
        .is_some_and(|c| c.no_auto_reply)
    {
        return Ok(None);
    }
    let (in_reply_to, recipient) = match last.visibility {
        Visibility::Public => (
            Some(last.platform_message_id.clone()),
            Some(last.author.platform_user_id.clone()),
        ),
        Visibility::Private => (None, Some(last.author.platform_user_id.clone())),
    };
    let whatsapp_template = (account.kind == ChannelKind::Whatsapp)
        .then(|| s.whatsapp_template.clone())
        .flatten()
        .map(|name| ReplyTemplate {
            name,
            language: "nl".into(),
            parameters: Vec::new(),
        });
    Ok(Some(NewSurvey {
        reply: NewReply {
            id: Uuid::now_v7(),
            case_id: case.id,
            channel_account_id: account.id,
            text: s.question().to_owned(),
            visibility: last.visibility,
            in_reply_to,
            recipient,
            process_answer: false,
            author: ACTOR.into(),
            canned_answer_id: None,
            whatsapp_template,
            auto_reply: false,
        },
        contact_id: case.contact_id,
        kind: s.kind,
        answer_days: s.answer_days,
        due_at: now + Duration::minutes(i64::from(s.delay_minutes)),
        not_since: now - Duration::days(i64::from(s.period_days)),
    }))
}
