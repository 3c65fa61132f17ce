//! End-to-end tests through the real router on a random port, on both databases.

mod agent;
mod api_conventions;
mod connectors;
mod doors;
mod ingest;
mod input_contract;
mod notificaties;
mod openklant;
mod outbox;
mod replies;
mod routing_effective;
mod sla;
mod sla_reselect;
mod sla_truth;
mod survey;
mod web;
mod webhook_load;
mod x_poller;
mod zaak;
mod zgw_admin;
