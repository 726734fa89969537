//! The benchmarks live in their bench targets, `kernel.rs` and `e2e/` (`cargo xtask bench`
//! runs both); this library is empty: Cargo wants a library or binary in every package.
