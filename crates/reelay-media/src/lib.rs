//! reelay-media (stub)
