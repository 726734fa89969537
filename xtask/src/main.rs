//! `cargo xtask setup | test | demo | bench`: what a person (and CI) runs.
//!
//! Every subcommand starts with `setup`, so a fresh machine needs nothing but this repository
//! and a Rust toolchain to get from clone to green tests.

mod bench;
mod cmd;
mod demo;
mod fuzz;
mod package;
mod setup;
mod soak;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project tasks for lwm2m-xdp")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what the BPF build and the tests need, when it is missing (idempotent).
    Setup,
    /// setup, then fmt, clippy, build, and `cargo test --workspace`.
    Test {
        /// Passed through to `cargo test` (after `--`), e.g. `-- --ignored`.
        #[arg(last = true)]
        cargo_test_args: Vec<String>,
    },
    /// setup, then a demonstration in network namespaces.
    Demo,
    /// setup, then benchmarks.
    Bench,
    /// setup, then the Debian package (release build, cargo-deb) under target/debian/.
    Package,
    /// setup, then generated and mutated frames through the program, checked against a
    /// model of protocol.md (needs root).
    Fuzz {
        #[arg(long, default_value_t = 1_000_000)]
        frames: u64,
        /// Generator seed (default: from the clock; printed either way).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// setup, then `lwm2m-xdp run` in namespaces reloaded N times under traffic, every reply
    /// checked wholly of one config (needs root).
    Soak {
        #[arg(long, default_value_t = 1000)]
        reloads: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Setup => setup::run(),
        Task::Test { cargo_test_args } => setup::run().and_then(|()| test::run(&cargo_test_args)),
        Task::Demo => setup::run().and_then(|()| demo::run()),
        Task::Bench => setup::run().and_then(|()| bench::run()),
        Task::Package => {
            setup::run().and_then(|()| package::build(package::Profile::Release).map(drop))
        }
        Task::Fuzz { frames, seed } => setup::run().and_then(|()| fuzz::run(frames, seed)),
        Task::Soak { reloads } => setup::run().and_then(|()| soak::run(reloads)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_passes_everything_after_the_double_dash_to_cargo_test() {
        let cli =
            Cli::try_parse_from(["xtask", "test", "--", "-p", "x", "--", "--ignored"]).unwrap();
        let Task::Test { cargo_test_args } = cli.task else {
            panic!("not the test task");
        };
        assert_eq!(cargo_test_args, ["-p", "x", "--", "--ignored"]);
    }
}
