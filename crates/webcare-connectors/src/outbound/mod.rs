//! Replies, pure part: build the platform request for an outbox reply (or refuse it with a reason
//! the agent can act on) and classify the platform's answer. The outbox worker does the IO.

mod actions;
mod delivery;
mod limits;
mod request;
mod response;

pub use actions::{build_action_request, supported, PlatformAction, Unsupported};
pub use delivery::{delivery_route, NoRoute, RetryPolicy, RetryStep};
pub use limits::{channel_limits, text_length, window_state, CharCounting, Limits, WindowState};
pub use request::{
    build_request, check_reply, Credentials, OutboundReply, PlatformRequest, RefusalKind,
    RefusedReply, WhatsAppTemplate, WindowInfo,
};
pub use response::{meta_regain_access, parse_send_response, transport_failure, SendOutcome};
