//! SLA engine: opening-hours calendars, Dutch public holidays, business-time deadline math,
//! policies and clocks. (Being built.)
