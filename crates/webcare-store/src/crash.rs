//! Crash points: named places between the steps of an action where the crash test
//! (`crates/webcare/tests/crash.rs`) makes the process die, to prove that a restart finds every
//! action done with all its effects or not at all.
//!
//! Compiled in only with the `failpoints` feature (the `fail` crate), which only the test build
//! of the binary turns on; a normal build has none and `crash_point` is an empty inline function.
//! The points are armed by the `FAILPOINTS` environment variable, read once at start by
//! [`arm_from_env`]: `FAILPOINTS=outbox.after_send=return` makes the process exit at that point.

/// Reads `FAILPOINTS` once (a no-op without the `failpoints` feature).
pub fn arm_from_env() {
    #[cfg(feature = "failpoints")]
    std::mem::forget(fail::FailScenario::setup());
}

/// Dies here (exit code 86, no destructors, no commit) when the point `name` is armed.
#[inline]
pub fn crash_point(name: &str) {
    #[cfg(feature = "failpoints")]
    if fail::eval(name, |_| ()).is_some() {
        eprintln!("crash point {name}: exiting");
        std::process::exit(86);
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}
