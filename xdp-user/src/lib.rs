//! lwm2m-xdp userspace: config, encoders, the loader of the kernel program, and the client.

pub mod assets;
pub mod check;
pub mod client;
pub mod compile;
pub mod config;
pub mod control;
pub mod csum;
pub mod datapath;
pub mod detach;
pub mod ifaces;
pub mod instance;
pub mod kea;
pub mod loader;
pub mod metrics;
pub mod options;
pub mod pins;
pub mod privilege;
pub mod probe;
pub mod relay;
pub mod render;
pub mod service;
pub mod stats;
pub mod system;
pub mod vlans;
