//! One integration test binary: each test starts reelay on a random port with a fresh SQLite
//! file and object store and drives it over real HTTP.

mod assets;
mod auth;
mod billing;
mod cli;
mod console;
mod crash;
mod events;
mod fake_ark;
mod helpers;
mod lifecycle;
mod media_inputs;
mod realperson;
mod s3;
mod upstream;
mod validation;
mod webhooks;
