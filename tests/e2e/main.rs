//! End-to-end tests through the real router on a random port, on both databases.

mod agent;
mod api_conventions;
mod ingest;
