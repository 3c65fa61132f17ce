//! Shared helpers for the connector tests.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use webcare_domain::inbound::{AddressedEvent, InboundEvent, InboundMessage};

pub const FAMILY: &str = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
pub const NL_FLAG: &str = "🇳🇱";
pub const HEART_ON_FIRE: &str = "❤️\u{200D}🔥";
pub const THUMB_MEDIUM: &str = "👍🏽";
pub const ARABIC: &str = "مرحبا";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn received_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_773_200_000, 0).unwrap()
}

pub fn secs(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap()
}

pub fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

pub fn message(ev: &InboundEvent) -> &InboundMessage {
    match ev {
        InboundEvent::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

pub fn events(batch: &[AddressedEvent]) -> Vec<&InboundEvent> {
    batch.iter().map(|a| &a.event).collect()
}

pub fn is_ignored(ev: &InboundEvent) -> bool {
    matches!(ev, InboundEvent::Ignored { .. })
}

pub fn ignored_reason(ev: &InboundEvent) -> &str {
    match ev {
        InboundEvent::Ignored { reason } => reason,
        other => panic!("expected ignored, got {other:?}"),
    }
}
