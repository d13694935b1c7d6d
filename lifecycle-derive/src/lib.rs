//! Procedural macros for `lifecycle-core`. Depend on `lifecycle-core`, which re-exports them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
