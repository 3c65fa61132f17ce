//! Platform connectors, pure part: verify webhook signatures, parse Meta (Facebook Page,
//! Messenger, Instagram, WhatsApp) and X deliveries into [`webcare_domain::inbound`] events, and
//! build/classify outbound reply requests. Nothing here does IO: the HTTP handlers, pollers and the
//! outbox worker call these functions with bytes they already have.
//! May use: webcare-domain.
#![forbid(unsafe_code)]

pub mod error;
pub mod headers;
mod json;
pub mod meta;
pub mod outbound;
pub mod signature;
pub mod x;

pub use error::ParseError;
pub use headers::HeaderSource;

/// An item that is valid but not something the desk acts on.
pub(crate) fn ignored(reason: impl Into<String>) -> webcare_domain::inbound::InboundEvent {
    webcare_domain::inbound::InboundEvent::Ignored {
        reason: reason.into(),
    }
}
