//! The one shape every platform's deliveries are normalised into before they reach the store.
//! Connectors produce these; `POST /api/v1/messages` accepts the [`InboundMessage`] part directly.

use crate::model::{Direction, Visibility};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who wrote a message, as the platform knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Author {
    /// Stable platform user id (X user id, PSID, IGSID, WhatsApp `wa_id`).
    pub platform_user_id: String,
    pub handle: Option<String>,
    pub display_name: Option<String>,
}

/// Metadata of an attachment; the desk keeps the reference, never the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Attachment {
    /// `image`, `video`, `audio`, `document`, `sticker`, `location`, `contacts`, `file`, ...
    pub kind: String,
    pub url: Option<String>,
    pub mime_type: Option<String>,
    /// Platform media id (WhatsApp media id, X media key) when there is no URL.
    pub platform_media_id: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

/// One message as a platform delivered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Unique per channel account: tweet id, comment id, `mid`, `wamid`, ...
    pub platform_message_id: String,
    /// Platform id of the message this one replies to.
    pub in_reply_to: Option<String>,
    /// Thread key: X conversation id, Facebook `post_id:author`, a WhatsApp or Messenger
    /// conversation; messages with the same key join the same case.
    pub conversation_key: Option<String>,
    pub visibility: Visibility,
    /// `Outbound` for echoes of our own messages: they never create a case.
    pub direction: Direction,
    pub author: Author,
    /// Exactly as delivered (UTF-8, emoji and right-to-left text untouched).
    pub text: String,
    pub sent_at: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
}

/// Delivery state of one of our outbound messages. Ordered: a state never goes back to a lower one
/// (`read` is not downgraded to `delivered` by a late status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
        }
    }

    /// The state after a status report: the higher of the two, so statuses that arrive out of
    /// order or twice commute. `failed` wins only over states before `delivered`.
    pub fn merge(self, reported: DeliveryState) -> DeliveryState {
        use DeliveryState::*;
        match (self, reported) {
            (Delivered | Read, Failed) => self,
            (Failed, Sent | Delivered | Read) => reported,
            _ => self.max(reported),
        }
    }
}

/// Everything a connector can learn from one platform delivery, item by item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundEvent {
    /// A new message (or an echo of ours, with `direction: outbound`).
    Message(InboundMessage),
    /// The author edited a message. On X an edit has a new id: `new_platform_message_id`.
    Edit {
        platform_message_id: String,
        new_platform_message_id: Option<String>,
        text: String,
        edited_at: DateTime<Utc>,
    },
    /// The author (or a moderator) removed a message.
    Delete {
        platform_message_id: String,
        deleted_at: DateTime<Utc>,
    },
    /// A platform reports the delivery state of one of our outbound messages.
    Status {
        platform_message_id: String,
        state: DeliveryState,
        at: DateTime<Utc>,
        /// A readable reason for `failed` (platform code and title).
        error: Option<String>,
    },
    /// Valid but not something the desk acts on (reactions, typing, likes): acknowledged, logged.
    Ignored { reason: String },
}

/// An event addressed to one of our channel accounts by its platform id (page id, Instagram
/// account id, WhatsApp `phone_number_id`, X user id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressedEvent {
    pub account_external_id: String,
    pub event: InboundEvent,
}

#[cfg(test)]
mod tests {
    use super::DeliveryState::{self, *};
    use proptest::prelude::*;

    #[test]
    fn statuses_never_go_backwards() {
        assert_eq!(Read.merge(Delivered), Read);
        assert_eq!(Delivered.merge(Sent), Delivered);
        assert_eq!(Sent.merge(Read), Read);
        assert_eq!(Read.merge(Failed), Read);
        assert_eq!(Sent.merge(Failed), Failed);
    }

    fn any_state() -> impl Strategy<Value = DeliveryState> {
        proptest::sample::select(vec![Pending, Sending, Sent, Delivered, Read, Failed])
    }

    proptest! {
        #[test]
        fn merge_is_idempotent_and_order_free_for_platform_reports(a in any_state(), reports in proptest::collection::vec(proptest::sample::select(vec![Sent, Delivered, Read]), 0..6)) {
            let forward = reports.iter().fold(a, |s, r| s.merge(*r));
            let backward = reports.iter().rev().fold(a, |s, r| s.merge(*r));
            prop_assert_eq!(forward, backward);
            prop_assert_eq!(forward.merge(forward), forward);
        }
    }
}
