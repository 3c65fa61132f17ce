//! Asking a platform to hide a citizen's public comment (issue 15): when a citizen posts a BSN in
//! public, the agent hides the comment (Facebook, Instagram; X cannot) and moves the
//! conversation to a private channel with a canned answer. Queued in the outbox's
//! platform-action table and sent by the outbox worker.

use crate::error::{DeskError, DeskResult};
use crate::people::audit;
use crate::principal::Principal;
use crate::Desk;
use uuid::Uuid;
use webcare_connectors::outbound::{supported, PlatformAction};
use webcare_domain::{ChannelKind, Direction, Visibility};
use webcare_store::platform_actions::{
    NewPlatformAction, PlatformActionKind, PlatformActionRecord,
};

/// Whether a channel can hide a citizen's public message (the case page offers it only then).
pub fn can_hide(kind: ChannelKind) -> bool {
    supported(kind, PlatformAction::Hide).is_ok()
}

/// Queues hiding `message_id` of the case on its platform. The message must be a citizen's public
/// comment on a channel that can hide one; asking again answers the queued (or done) action.
pub async fn hide_message(
    desk: &Desk,
    p: &Principal,
    case_id: Uuid,
    message_id: Uuid,
) -> DeskResult<PlatformActionRecord> {
    let case = crate::case_work::visible_case(desk, p, case_id).await?;
    let messages = desk.store.case_messages(case_id).await?;
    let m = messages
        .iter()
        .find(|m| m.id == message_id)
        .ok_or_else(|| DeskError::NotFound("message".into()))?;
    if m.direction != Direction::Inbound || m.visibility != Visibility::Public {
        return Err(DeskError::invalid(
            "messageId",
            "not_public",
            "only a citizen's public message can be hidden",
        ));
    }
    let account = desk
        .store
        .get_channel_account(case.channel_account_id)
        .await?
        .ok_or_else(|| DeskError::Conflict("the case's channel account was removed".into()))?;
    supported(account.kind, PlatformAction::Hide).map_err(|e| DeskError::Conflict(e.0))?;
    let action = desk
        .store
        .queue_platform_action(NewPlatformAction {
            case_id,
            message_id: Some(message_id),
            channel_account_id: account.id,
            kind: PlatformActionKind::Hide,
            platform_id: m.platform_message_id.clone(),
            requested_by: p.actor(),
        })
        .await?;
    // Ids only: the audit keeps no personal data.
    audit(
        desk,
        p,
        "message.hide_requested",
        serde_json::json!({"caseId": case_id, "messageId": message_id, "actionId": action.id}),
    )
    .await?;
    Ok(action)
}
