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
    /// What [`InboundMessage::normalise`] corrected (`flags::TEXT_TRUNCATED`, ...): stored with
    /// the message's other flags, so an agent sees that the platform sent something odd.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
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

// ---------------------------------------------------------------- the one input contract

/// The longest message text kept, in characters (Unicode scalar values). Platforms' own limits
/// are far lower (WhatsApp 4,096, Messenger 2,000, X 25,000 for long posts), so more is junk or
/// an attack.
pub const MAX_TEXT_CHARS: usize = 100_000;
/// The longest platform id, thread key or author name kept, in characters.
pub const MAX_ID_CHARS: usize = 256;
/// How far a platform's time may run ahead of ours before it is implausible: clocks drift, but a
/// message cannot have been written after we received it by more than this.
pub const MAX_CLOCK_AHEAD: chrono::Duration = chrono::Duration::minutes(15);

/// The earliest plausible platform time: before 2004 none of the platforms existed, so an
/// earlier time is a parse default (year 0, the Unix epoch) rather than a real one.
pub fn earliest_plausible() -> DateTime<Utc> {
    DateTime::from_timestamp(1_072_915_200, 0).expect("2004-01-01 is representable")
}

/// Why the `sent_at` of a message is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implausible {
    BeforePlatforms,
    InTheFuture,
}

/// Something in a message that the platform doors correct (and flag) and the API refuses: a
/// platform cannot be asked again, an API client can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// NUL or another control character (C0 except tab, line feed and carriage return, DEL, C1)
    /// in the text or a free-text field (author name or handle, attachment fields). PostgreSQL
    /// cannot store NUL in `text` or `jsonb` at all, and none of them means anything in a
    /// message; they are removed.
    ControlCharacters { field: &'static str },
    /// The text is longer than [`MAX_TEXT_CHARS`]; it is cut there.
    TextTooLong { chars: usize },
    /// A free-text field other than the text is longer than [`MAX_ID_CHARS`]; it is cut there.
    FieldTooLong { field: &'static str },
    /// `sent_at` is before any platform existed or after we received it: it becomes the time
    /// we received the message (SLA clocks start from it).
    SentAt(Implausible),
}

impl Anomaly {
    /// The message flag a corrected anomaly leaves.
    pub fn flag(&self) -> &'static str {
        match self {
            Anomaly::ControlCharacters { .. } => crate::flags::CONTROL_CHARACTERS_REMOVED,
            Anomaly::TextTooLong { .. } | Anomaly::FieldTooLong { .. } => {
                crate::flags::TEXT_TRUNCATED
            }
            Anomaly::SentAt(_) => crate::flags::SENT_AT_CLAMPED,
        }
    }
}

/// A message that cannot be stored at all: it is refused (a platform's item is recorded as
/// rejected, the API answers 400), never stored half-right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the message has no platform message id")]
    MissingId,
    #[error("the message has no author (no platform user id)")]
    MissingAuthor,
    /// Ids are keys: removing characters from one could make it another message's.
    #[error("{field} holds control characters or is longer than {MAX_ID_CHARS} characters")]
    InvalidId { field: &'static str },
}

/// Whether `c` is removed from free text: C0 controls except tab, LF and CR, DEL, and C1.
/// Format characters (zero-width joiners in emoji, right-to-left marks) are kept.
pub fn is_removed_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

fn has_removed_control(s: &str) -> bool {
    s.chars().any(is_removed_control)
}

fn strip_controls(s: &mut String) {
    if has_removed_control(s) {
        s.retain(|c| !is_removed_control(c));
    }
}

/// Cuts `s` to at most `max` characters, on a character boundary.
fn truncate_chars(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
}

fn bad_id(s: &str) -> bool {
    has_removed_control(s) || s.chars().count() > MAX_ID_CHARS
}

/// The corrections [`InboundMessage::normalise`] makes to a free-text field: controls removed,
/// then cut to `max` characters.
fn check_free_text(out: &mut Vec<Anomaly>, field: &'static str, value: Option<&str>, max: usize) {
    let Some(v) = value else { return };
    if has_removed_control(v) {
        out.push(Anomaly::ControlCharacters { field });
    }
    // Counting is only needed when the byte length could exceed the limit.
    if v.len() > max {
        let chars = v.chars().filter(|c| !is_removed_control(*c)).count();
        if chars > max {
            out.push(if field == "text" {
                Anomaly::TextTooLong { chars }
            } else {
                Anomaly::FieldTooLong { field }
            });
        }
    }
}

fn fix_free_text(value: &mut String, max: usize) {
    strip_controls(value);
    truncate_chars(value, max);
}

impl InboundMessage {
    /// The one input check every door applies (the platform webhooks and poller through the
    /// journal, the API, the demo): what cannot be stored at all, or else what is wrong with
    /// it. Pure; [`InboundMessage::normalise`] applies the corrections.
    pub fn check(&self, received_at: DateTime<Utc>) -> Result<Vec<Anomaly>, Refusal> {
        if self.platform_message_id.trim().is_empty() {
            return Err(Refusal::MissingId);
        }
        // Echoes of our own messages name the page or business as author; only a citizen's
        // message must say who wrote it.
        if self.direction == Direction::Inbound && self.author.platform_user_id.trim().is_empty() {
            return Err(Refusal::MissingAuthor);
        }
        let ids = [
            ("platformMessageId", Some(&self.platform_message_id)),
            ("inReplyTo", self.in_reply_to.as_ref()),
            ("conversationKey", self.conversation_key.as_ref()),
            ("author.platformUserId", Some(&self.author.platform_user_id)),
        ];
        for (field, v) in ids {
            if v.is_some_and(|v| bad_id(v)) {
                return Err(Refusal::InvalidId { field });
            }
        }
        let mut out = Vec::new();
        check_free_text(&mut out, "text", Some(&self.text), MAX_TEXT_CHARS);
        let name = MAX_ID_CHARS;
        check_free_text(
            &mut out,
            "author.handle",
            self.author.handle.as_deref(),
            name,
        );
        let display = self.author.display_name.as_deref();
        check_free_text(&mut out, "author.displayName", display, name);
        for a in &self.attachments {
            // Captions are message text; the other fields are short metadata.
            check_free_text(
                &mut out,
                "attachments.caption",
                a.caption.as_deref(),
                MAX_TEXT_CHARS,
            );
            for (field, v) in [
                ("attachments.kind", Some(&a.kind)),
                ("attachments.url", a.url.as_ref()),
                ("attachments.mimeType", a.mime_type.as_ref()),
                ("attachments.platformMediaId", a.platform_media_id.as_ref()),
                ("attachments.filename", a.filename.as_ref()),
            ] {
                check_free_text(&mut out, field, v.map(String::as_str), 2048);
            }
        }
        if let Some(why) = implausible(self.sent_at, received_at) {
            out.push(Anomaly::SentAt(why));
        }
        Ok(out)
    }

    /// Checks the message and corrects what a platform sent wrong (see [`Anomaly`]), adding one
    /// flag per kind of correction. Idempotent: a normalised message normalises to itself.
    pub fn normalise(&mut self, received_at: DateTime<Utc>) -> Result<(), Refusal> {
        let anomalies = self.check(received_at)?;
        if anomalies.is_empty() {
            return Ok(());
        }
        fix_free_text(&mut self.text, MAX_TEXT_CHARS);
        for v in [&mut self.author.handle, &mut self.author.display_name]
            .into_iter()
            .flatten()
        {
            fix_free_text(v, MAX_ID_CHARS);
        }
        for a in &mut self.attachments {
            if let Some(c) = &mut a.caption {
                fix_free_text(c, MAX_TEXT_CHARS);
            }
            fix_free_text(&mut a.kind, 2048);
            for v in [
                &mut a.url,
                &mut a.mime_type,
                &mut a.platform_media_id,
                &mut a.filename,
            ]
            .into_iter()
            .flatten()
            {
                fix_free_text(v, 2048);
            }
        }
        if implausible(self.sent_at, received_at).is_some() {
            self.sent_at = received_at;
        }
        for a in &anomalies {
            let f = a.flag();
            if !self.flags.iter().any(|x| x == f) {
                self.flags.push(f.to_owned());
            }
        }
        Ok(())
    }
}

/// Why `sent_at` is not believed, if it is not.
pub fn implausible(sent_at: DateTime<Utc>, received_at: DateTime<Utc>) -> Option<Implausible> {
    if sent_at < earliest_plausible() {
        Some(Implausible::BeforePlatforms)
    } else if sent_at > received_at + MAX_CLOCK_AHEAD {
        Some(Implausible::InTheFuture)
    } else {
        None
    }
}

/// The free text of an edit, corrected like a message's text.
pub fn normalise_text(text: &mut String) {
    fix_free_text(text, MAX_TEXT_CHARS);
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

#[cfg(test)]
mod normalise_tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn msg(text: &str) -> InboundMessage {
        InboundMessage {
            platform_message_id: "m1".into(),
            in_reply_to: None,
            conversation_key: None,
            visibility: Visibility::Private,
            direction: Direction::Inbound,
            author: Author {
                platform_user_id: "u1".into(),
                handle: None,
                display_name: Some("Jan".into()),
            },
            text: text.into(),
            sent_at: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
            attachments: vec![],
            flags: vec![],
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 5).unwrap()
    }

    #[test]
    fn a_plain_message_is_untouched() {
        let mut m = msg("Hallo \u{200d}👍 مرحبا\r\n\tregel");
        let before = m.clone();
        m.normalise(now()).unwrap();
        assert_eq!(m, before);
    }

    #[test]
    fn nul_and_controls_are_removed_from_text_and_names_and_flagged() {
        let mut m = msg("a\u{0}b\u{7}c\u{7f}d\u{85}e\n");
        m.author.display_name = Some("J\u{0}an".into());
        m.normalise(now()).unwrap();
        assert_eq!(m.text, "abcde\n");
        assert_eq!(m.author.display_name.as_deref(), Some("Jan"));
        assert_eq!(m.flags, vec![crate::flags::CONTROL_CHARACTERS_REMOVED]);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let mut m = msg(&"é".repeat(MAX_TEXT_CHARS + 5));
        assert_eq!(
            m.check(now()).unwrap(),
            vec![Anomaly::TextTooLong {
                chars: MAX_TEXT_CHARS + 5
            }]
        );
        m.normalise(now()).unwrap();
        assert_eq!(m.text.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(m.flags, vec![crate::flags::TEXT_TRUNCATED]);
    }

    #[test]
    fn implausible_times_become_the_received_time() {
        for sent in [
            DateTime::<Utc>::MIN_UTC,
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            DateTime::UNIX_EPOCH,
            Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap(),
            now() + chrono::Duration::hours(2),
        ] {
            let mut m = msg("x");
            m.sent_at = sent;
            m.normalise(now()).unwrap();
            assert_eq!(m.sent_at, now(), "{sent}");
            assert_eq!(m.flags, vec![crate::flags::SENT_AT_CLAMPED]);
        }
        // A platform clock a few minutes ahead is believed.
        let mut m = msg("x");
        m.sent_at = now() + chrono::Duration::minutes(5);
        m.normalise(now()).unwrap();
        assert_eq!(m.sent_at, now() + chrono::Duration::minutes(5));
        assert!(m.flags.is_empty());
    }

    #[test]
    fn no_author_or_bad_ids_are_refused() {
        let mut m = msg("x");
        m.author.platform_user_id = String::new();
        assert_eq!(m.normalise(now()), Err(Refusal::MissingAuthor));
        // Our own echo names the page, which the parser may leave out.
        m.direction = Direction::Outbound;
        assert_eq!(m.normalise(now()), Ok(()));
        let mut m = msg("x");
        m.platform_message_id = "m\u{0}1".into();
        assert!(matches!(m.normalise(now()), Err(Refusal::InvalidId { .. })));
        let mut m = msg("x");
        m.platform_message_id = " ".into();
        assert_eq!(m.normalise(now()), Err(Refusal::MissingId));
    }

    proptest! {
        #[test]
        fn normalised_messages_are_clean_and_normalise_to_themselves(
            text in "(?s).{0,64}",
            name in proptest::option::of("(?s).{0,16}"),
            secs in -70_000_000_000i64..300_000_000_000i64,
        ) {
            let mut m = msg(&text);
            m.author.display_name = name;
            m.sent_at = DateTime::from_timestamp(secs, 0).unwrap();
            m.normalise(now()).unwrap();
            prop_assert!(m.check(now()).unwrap().is_empty());
            prop_assert!(!m.text.contains('\0'));
            prop_assert!(implausible(m.sent_at, now()).is_none());
            let once = m.clone();
            m.normalise(now()).unwrap();
            prop_assert_eq!(m, once);
        }

        #[test]
        fn only_removed_controls_are_removed(text in "(?s).{0,64}") {
            let mut m = msg(&text);
            m.normalise(now()).unwrap();
            let kept: String = text.chars().filter(|c| !is_removed_control(*c)).collect();
            prop_assert_eq!(m.text, kept);
        }
    }
}
