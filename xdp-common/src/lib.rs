//! What the kernel program and the loader must agree on: wire constants, map layouts,
//! counter indices and limits. One source of truth for each; no logic only one side uses.
#![no_std]

pub mod bench;
pub mod counters;
pub mod maps;
pub mod wire;
