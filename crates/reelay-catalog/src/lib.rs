//! reelay-catalog (stub)
