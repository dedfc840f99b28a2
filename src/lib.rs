//! reelay: a self-hostable gateway for AI video generation that speaks the Seedance 2.0 task API.
//!
//! See ARCHITECTURE.md for the map of these modules and the path of one task.

pub mod accounts;
pub mod api;
pub mod app;
pub mod assets;
pub mod audit;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod ids;
pub mod keyring;
pub mod metrics;
pub mod providers;
pub mod secrets;
pub mod storage;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod webhooks;
pub mod wire;
