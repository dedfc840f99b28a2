//! reelay-render (stub)
