//! One integration test binary: each test starts reelay on a random port with a fresh SQLite
//! file and object store and drives it over real HTTP.

mod auth;
mod billing;
mod crash;
mod fake_ark;
mod helpers;
mod lifecycle;
mod media_inputs;
mod upstream;
mod validation;
