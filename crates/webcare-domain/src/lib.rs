//! Pure domain logic of the webcare desk. Nothing in this crate does IO, so every rule here can be
//! unit- and property-tested without a database or a network.
//! May use: no other crate of the workspace (std, chrono, chrono-tz, serde, uuid, and regex and
//! unicode-normalization for routing rules' text matching).
#![forbid(unsafe_code)]

pub mod access;
pub mod assign;
pub mod bsn;
pub mod canned;
pub mod classification;
pub mod contacts;
pub mod costs;
pub mod dutch;
pub mod inbound;
pub mod inbox;
pub mod model;
pub mod openklant;
pub mod out_of_hours;
pub mod personal_data;
pub mod replies;
pub mod reports;
pub mod retention;
pub mod routing;
pub mod sla;
pub mod spikes;
pub mod status;
pub mod survey;
pub mod survey_comments;
pub mod theme_report;
pub mod themes;
pub mod threading;
pub mod trend;
pub mod urgency;
pub mod zgw;

pub use model::*;
