//! One integration test binary: each test starts reelay on a random port with a fresh SQLite
//! file and object store and drives it over real HTTP. With `REELAY_TEST_PG_URL` (and
//! `REELAY_TEST_S3_ENDPOINT`) set, as `scripts/test` does for its backend suite, the same tests
//! run on a fresh PostgreSQL database (and S3 prefix) each.

mod account_keys;
mod admin_tasks;
mod ark_door;
mod assets;
mod at_rest;
mod auth;
mod billing;
mod cli;
mod clients;
mod companion;
mod connections;
mod console;
mod crash;
mod events;
mod fake_ark;
mod hardening;
mod helpers;
mod lifecycle;
mod limits;
mod local_channel;
mod media_inputs;
mod multinode;
mod openapi;
mod realperson;
mod s3;
mod secrets;
mod security;
mod tidy;
mod uploads;
mod upstream;
mod validation;
mod webhooks;
mod wire;
