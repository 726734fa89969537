//! `lwm2m-xdp`: the command line (design.md, "CLI: the contract").

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use lwm2m_xdp::{
    check::{self, Severity},
    compile,
    config::{Config, WireFormat},
    control, instance, kea, loader,
    probe::{self, ProbeOptions},
    stats, system,
};
use xdp_common::{
    maps::Family,
    wire::{dhcpv4, dhcpv6},
};

#[derive(Parser)]
#[command(
    name = "lwm2m-xdp",
    version,
    about = "XDP responder for the LwM2M bootstrap DHCP/DHCPv6 options"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which running instance a command talks to.
#[derive(clap::Args, Clone)]
struct InstanceArgs {
    /// Name of the instance (its control socket is /run/lwm2m-xdp/NAME.sock): A-Z a-z 0-9 . _ -
    #[arg(long, default_value = instance::DEFAULT_INSTANCE)]
    instance: String,
    /// Pin the XDP links, program and maps in this bpffs directory (created by `run`, with an
    /// owner marker; the next `run` takes the links over); its last component names the instance.
    #[arg(long)]
    pin_dir: Option<PathBuf>,
}

impl InstanceArgs {
    fn name(&self) -> Result<String> {
        instance::name(&self.instance, self.pin_dir.as_deref())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Validate, load, attach, fill the maps, and serve until SIGINT/SIGTERM (SIGHUP reloads).
    Run {
        #[arg(long)]
        config: PathBuf,
        #[command(flatten)]
        instance: InstanceArgs,
        /// Serve Prometheus text on this address (e.g. 127.0.0.1:9417).
        #[arg(long)]
        metrics: Option<SocketAddr>,
    },
    /// Validate the config and print what would be served.
    Check {
        #[arg(long)]
        config: PathBuf,
        /// Do not look the interfaces up (a build host); automatic, with a warning, when one
        /// is absent.
        #[arg(long)]
        offline: bool,
        /// Exit 1 on warnings too.
        #[arg(long)]
        strict: bool,
    },
    /// Print the pre-encoded options as annotated hex.
    Encode {
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the running instance's counters.
    Stats {
        #[arg(long)]
        json: bool,
        /// Prometheus exposition text.
        #[arg(long, conflicts_with = "json")]
        prometheus: bool,
        #[command(flatten)]
        instance: InstanceArgs,
    },
    /// Act as an LwM2M device: ask for the options, print the URI and the certificate.
    Probe {
        #[arg(long)]
        interface: String,
        /// DHCPv6 INFORMATION-REQUEST instead of DHCPINFORM.
        #[arg(long)]
        v6: bool,
        /// Take the option codes and wire format from this config.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
        /// DHCPv6: add a Vendor Class option with this many octets of data (veth tailroom;
        /// see ARCHITECTURE.md).
        #[arg(long, default_value_t = 0)]
        pad: u16,
    },
    /// Print one complete Kea config (Dhcp4 or Dhcp6) serving the same options on the slow
    /// path.
    KeaConfig {
        #[arg(long)]
        config: PathBuf,
        /// Which Kea server: kea-dhcp4 (v4) or kea-dhcp6 (v6).
        #[arg(long)]
        family: KeaFamily,
    },
    /// Ask the running instance to re-read its config; exit 1 with the reason if it refused.
    Reload {
        #[command(flatten)]
        instance: InstanceArgs,
    },
    /// The running instance: pid, uptime, config, generation, interfaces with mode and hooks.
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        instance: InstanceArgs,
    },
    /// Stop the instance and remove every program, link, map and pin it created.
    Detach {
        #[command(flatten)]
        instance: InstanceArgs,
    },
    /// Write the man pages and shell completions into DIR (for packaging).
    #[command(hide = true)]
    Assets {
        #[arg(long)]
        out: PathBuf,
    },
}

/// `kea-config --family`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum KeaFamily {
    V4,
    V6,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp(None)
        .init();
    // design.md: exit 1 for bad input, usage errors included (clap's own exit is 2).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lwm2m-xdp: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `check`: what would be served, the certificate, the interfaces; findings on stderr.
fn check_command(path: &Path, offline: bool, strict: bool) -> Result<()> {
    let cfg = Config::load(path)?;
    let compiled = compile::compile(&cfg)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let (interfaces, mut findings) = check::interfaces(&cfg, offline, system::link_exists, |c| {
        loader::interface_entries(c).map(|(_, systems)| systems)
    });
    findings.extend(check::findings(&cfg, &compiled, &interfaces, now));
    print!("{}", compiled.summary());
    print!("{}", check::describe(&cfg, &interfaces, now));
    for finding in &findings {
        eprintln!("lwm2m-xdp: {finding}");
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    if errors > 0 {
        bail!(
            "{}: {errors} error{} (what can never work, above)",
            path.display(),
            if errors == 1 { "" } else { "s" }
        );
    }
    if strict && warnings > 0 {
        bail!(
            "{}: {warnings} warning{} and --strict",
            path.display(),
            if warnings == 1 { "" } else { "s" }
        );
    }
    match warnings {
        0 => println!("{}: ok", path.display()),
        n => println!(
            "{}: ok, {n} warning{} (on stderr)",
            path.display(),
            if n == 1 { "" } else { "s" }
        ),
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            config,
            instance,
            metrics,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(loader::run(loader::RunOptions {
                config,
                instance: instance.name()?,
                pin_dir: instance.pin_dir,
                metrics,
            }))
        }
        Command::Check {
            config,
            offline,
            strict,
        } => check_command(&config, offline, strict),
        Command::Encode { config } => {
            let compiled = compile::compile(&Config::load(&config)?)?;
            print!("{}", compiled.annotated_hex());
            Ok(())
        }
        Command::Stats {
            json,
            prometheus,
            instance,
        } => {
            let answer = control::command(&instance.name()?, control::STATISTICS)?;
            let json_stats = answer.arguments.unwrap_or_default();
            let stats = stats::Statistics::from_json(&json_stats)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&json_stats)?);
            } else if prometheus {
                print!("{}", stats.to_prometheus()?);
            } else {
                print!("{}", stats.to_text());
            }
            Ok(())
        }
        Command::Probe {
            interface,
            v6,
            config,
            timeout,
            pad,
        } => {
            let (format, v4_codes, v6_codes) = match config {
                Some(path) => {
                    let cfg = Config::load(&path)?;
                    (
                        cfg.lwm2m.wire_format,
                        [cfg.dhcpv4.uri_option, cfg.dhcpv4.certificate_option],
                        [cfg.dhcpv6.uri_option, cfg.dhcpv6.certificate_option],
                    )
                }
                None => (
                    WireFormat::Draft00,
                    [
                        dhcpv4::DEFAULT_URI_OPTION,
                        dhcpv4::DEFAULT_CERTIFICATE_OPTION,
                    ],
                    [
                        dhcpv6::DEFAULT_URI_OPTION,
                        dhcpv6::DEFAULT_CERTIFICATE_OPTION,
                    ],
                ),
            };
            let opts = ProbeOptions {
                interface,
                v6,
                format,
                v4_codes,
                v6_codes,
                timeout: Duration::from_secs(timeout),
                v6_pad: pad,
            };
            let result = if v6 {
                probe::probe_v6(&opts)?
            } else {
                probe::probe_v4(&opts)?
            };
            print!("{}", probe::describe(&result, v6));
            Ok(())
        }
        Command::KeaConfig { config, family } => {
            let family = match family {
                KeaFamily::V4 => Family::V4,
                KeaFamily::V6 => Family::V6,
            };
            println!("{}", kea::kea_config(&Config::load(&config)?, family)?);
            Ok(())
        }
        Command::Reload { instance } => {
            let answer = control::command(&instance.name()?, control::CONFIG_RELOAD)?;
            println!("{}", answer.text);
            Ok(())
        }
        Command::Status { json, instance } => {
            let answer = control::command(&instance.name()?, control::STATUS)?;
            let status = answer.arguments.unwrap_or_default();
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", status_text(&status));
            }
            Ok(())
        }
        Command::Detach { instance } => lwm2m_xdp::detach::detach(&instance.name()?),
        Command::Assets { out } => {
            for file in lwm2m_xdp::assets::write(<Cli as clap::CommandFactory>::command(), &out)? {
                println!("{}", file.display());
            }
            Ok(())
        }
    }
}

/// ", link down", ", absent for N ms", ", N gaps, last M ms": an interface's link state and
/// history (README, status).
fn gaps_text(iface: &serde_json::Value) -> String {
    let mut text = String::new();
    if iface["link"] == "down" {
        text += ", link down";
    }
    if let Some(ms) = iface["absent_for_ms"].as_u64() {
        text += &format!(", absent for {ms} ms");
    }
    if let Some(gaps) = iface["gaps"].as_u64() {
        text += &format!(", {gaps} gap{}", if gaps == 1 { "" } else { "s" });
    }
    if let Some(ms) = iface["last_gap_ms"].as_u64() {
        text += &format!(", last {ms} ms");
    }
    text
}

/// `status` for a person: one line for the instance, one per interface.
fn status_text(status: &serde_json::Value) -> String {
    let field = |v: &serde_json::Value, key: &str| match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut out = format!(
        "instance {} pid {} up {} s, config {}, generation {}, program id {}\n",
        field(status, "instance"),
        field(status, "pid"),
        field(status, "uptime_seconds"),
        field(status, "config"),
        field(status, "generation"),
        field(status, "program_id"),
    );
    for iface in status["interfaces"].as_array().into_iter().flatten() {
        let hooks: Vec<String> = iface["hooks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect();
        out += &format!(
            "  {:<16} {:<14} ifindex {:<5} mode {:<8} (asked {}) hooks {}{}\n",
            field(iface, "name"),
            field(iface, "state"),
            field(iface, "ifindex"),
            field(iface, "mode"),
            field(iface, "requested_mode"),
            if hooks.is_empty() {
                "-".into()
            } else {
                hooks.join(",")
            },
            gaps_text(iface),
        );
    }
    out
}
