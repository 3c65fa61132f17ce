//! SLA engine: opening-hours calendars, Dutch public holidays, business-time deadline math,
//! policies and clocks. Everything here is pure (no IO, no clock reads): callers pass `now`.
//!
//! - [`calendar`]: [`CalendarSpec`] (admin JSON) validates into a fast [`Calendar`].
//! - [`versions`]: [`CalendarVersions`], calendars that change over time.
//! - [`holidays`]: Dutch public holidays for any year.
//! - [`policy`]: which norms apply to a case.
//! - [`clock`]: segment-list clocks evaluated to due/warning instants and a status.
//! - [`clocks`]: a case's clock runs as the desk keeps them: started, stopped, paused, resumed
//!   and re-evaluated, what a citizen message does to them, which alerts fall due.
//! - [`reselect`]: how a running clock follows a policy that matches after a classification.
//! - [`naive`]: slow minute-by-minute reference for tests and benchmarks.

pub mod calendar;
pub mod clock;
pub mod clocks;
pub mod error;
pub mod holidays;
pub mod naive;
pub mod policy;
pub mod reselect;
pub mod versions;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;

pub use calendar::walk::HORIZON_SECONDS;
pub use calendar::{BusinessHours, Calendar, CalendarSpec};
pub use clock::{
    ceil_second, evaluate, settle, Budget, ClockKind, ClockState, ClockStatus, ClockView, Segment,
    StopReason,
};
pub use error::{FieldError, SlaError};
pub use policy::{select_policy, CaseFacts, MinutesKind, PolicyMatch, SlaPolicy};
pub use reselect::{reselect, ClockNorms, Reselection};
pub use versions::{CalendarVersion, CalendarVersions};
