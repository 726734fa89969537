//! `lwm2m-xdp run`: config -> maps, attach, serve until told to stop; SIGHUP reloads; the
//! interfaces are followed as they are deleted, re-created and readdressed (`relink.rs`).

mod relink;

use std::{
    collections::HashMap,
    net::{Ipv6Addr, UdpSocket},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use aya::programs::{xdp::XdpLinkId, XdpMode};
use log::{info, warn};
use serde_json::{json, Value};
use tokio::{
    signal::unix::{signal, SignalKind},
    sync::mpsc,
};
use xdp_common::{
    counters::{reason_index, Reason},
    maps::{Family, IfaceConfig, IfaceKey},
    wire::ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
};

use crate::{
    compile::{self, Compiled},
    config::{self, AttachMode, Config},
    control::{self, Answer},
    datapath::{Datapath, Generation},
    ifaces,
    instance::{self, State},
    metrics, privilege, service, stats,
    system::{self, watch::Watch},
    vlans,
};

/// Validate and compile `path` completely before touching the kernel, so that a bad file
/// never replaces a running config.
pub fn prepare(path: &Path) -> Result<(Config, Compiled)> {
    prepare_without(path, &relink::Links::default())
}

/// [`prepare`] for a running instance: the interfaces whose link is gone (`absent`) are not
/// looked up; they are attached again when their link returns.
fn prepare_without(path: &Path, absent: &relink::Links) -> Result<(Config, Compiled)> {
    let cfg = Config::load(path)?;
    let served = absent.served(&cfg);
    let links: Vec<String> = system::netlink::links()
        .context("asking netlink for the links")?
        .into_iter()
        .map(|l| l.name)
        .collect();
    config::check_interfaces(&served, &links)?;
    // Every lookup `install` makes, before anything is attached (`check` makes them too).
    if !served.interfaces.is_empty() {
        interface_entries(&served)?;
    }
    let compiled = compile::compile(&cfg)?;
    Ok((cfg, compiled))
}

/// Write a prepared config into the maps: interfaces, then the new generation, flipped in
/// with one write. Returns the entries written and the interfaces as the system reports them.
pub fn install(dp: &mut Datapath, cfg: &Config, compiled: &Compiled) -> Result<ifaces::Entries> {
    let (entries, systems) = interface_entries(cfg)?;
    // What the untagged entry of each interface will answer with (its own server_id, the
    // [dhcpv4] one, or its address: ifaces::entries decided).
    for (key, entry) in entries
        .iter()
        .filter(|(k, _)| k.outer_vlan == 0 && k.inner_vlan == 0)
    {
        let Some(sys) = systems.iter().find(|s| s.ifindex == key.ifindex) else {
            continue;
        };
        if cfg.dhcpv4.enabled && entry.ipv4 == [0; 4] {
            warn!("{}: no IPv4 address and no server_id: DHCPv4 requests on it go to the normal server", sys.name);
        }
        if cfg.dhcpv6.enabled && entry.ipv6_link_local == [0; 16] {
            warn!(
                "{}: no IPv6 link-local address: DHCPv6 requests on it go to the normal server",
                sys.name
            );
        }
    }
    dp.install_generation(&Generation::new(compiled, entries.clone()))?;
    Ok((entries, systems))
}

/// Every interface lookup `run` makes: the configured interfaces and the VLAN interfaces
/// stacked on them, as IFACES entries. `check` makes them too, so the two agree.
pub fn interface_entries(cfg: &Config) -> Result<ifaces::Entries> {
    let (mut entries, systems) = ifaces::entries(cfg, system::system_interface)?;
    let stacked = vlans::discover()?;
    let duid = ifaces::server_duid(cfg, &systems)?;
    let extra = vlans::stacked_entries(
        &stacked,
        &systems,
        &entries,
        &duid,
        system::system_interface,
    )?;
    for (key, _) in &extra {
        info!(
            "VLAN {}/{} on ifindex {}: answered from its stacked interface",
            key.outer_vlan, key.inner_vlan, key.ifindex
        );
    }
    entries.extend(extra);
    Ok((entries, systems))
}

struct Attached {
    link: XdpLinkId,
    ifindex: u32,
    /// What the config asked for (a change takes effect at the next start).
    requested: AttachMode,
    mode: XdpMode,
    /// Joined to ff02::1:2 on this interface (a real NIC filters multicast it was not asked for).
    _group: Option<UdpSocket>,
}

fn attach(dp: &mut Datapath, name: &str, requested: AttachMode) -> Result<Attached> {
    let ifindex = system::ifindex(name)?;
    let (link, mode) = match requested {
        AttachMode::Native => (
            attach_in(dp, name, ifindex, XdpMode::Driver)?,
            XdpMode::Driver,
        ),
        AttachMode::Generic => (attach_in(dp, name, ifindex, XdpMode::Skb)?, XdpMode::Skb),
        AttachMode::Auto => match attach_in(dp, name, ifindex, XdpMode::Driver) {
            Ok(link) => (link, XdpMode::Driver),
            Err(e) => {
                warn!("{e:#}; attaching {name} in generic mode");
                (attach_in(dp, name, ifindex, XdpMode::Skb)?, XdpMode::Skb)
            }
        },
    };
    let group = join_dhcpv6_group(ifindex)
        .map_err(|e| warn!("{name}: could not join ff02::1:2 ({e:#}); DHCPv6 may not arrive"))
        .ok();
    Ok(Attached {
        link,
        ifindex,
        requested,
        mode,
        _group: group,
    })
}

/// One attach, its error naming the interface and the mode.
fn attach_in(dp: &mut Datapath, name: &str, ifindex: u32, mode: XdpMode) -> Result<XdpLinkId> {
    dp.program()
        .attach_to_if_index(ifindex, mode)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("{name}: cannot attach XDP in {} mode", mode_name(mode)))
}

fn join_dhcpv6_group(ifindex: u32) -> Result<UdpSocket> {
    let socket = UdpSocket::bind("[::]:0").context("UDP socket")?;
    socket.join_multicast_v6(&Ipv6Addr::from(ALL_DHCP_RELAY_AGENTS_AND_SERVERS), ifindex)?;
    Ok(socket)
}

fn mode_name(mode: XdpMode) -> &'static str {
    match mode {
        XdpMode::Driver => "native",
        XdpMode::Skb => "generic",
        XdpMode::Hardware => "offload",
        XdpMode::Default => "default",
    }
}

pub struct RunOptions {
    pub config: PathBuf,
    pub instance: String,
    pub pin_dir: Option<PathBuf>,
    pub metrics: Option<std::net::SocketAddr>,
}

/// Everything a running instance owns; the run loop hands it signals and control commands.
struct Daemon {
    opts: RunOptions,
    dp: Datapath,
    cfg: Config,
    attached: HashMap<String, Attached>,
    relay: crate::relay::Relay,
    /// The counters, kernel and relay, as `statistics` and the metrics server read them.
    stats: Arc<stats::Source>,
    /// Config generations applied: 1 at start, +1 per successful reload.
    generation: u64,
    started: Instant,
    program_id: u32,
    counters_map_id: u32,
    /// What `cfg` compiled to: interface entries are rewritten with it (relink.rs).
    compiled: Compiled,
    /// The interface entries of the generation in force.
    installed: Vec<(IfaceKey, IfaceConfig)>,
    /// Interfaces whose link went away, and their gaps (relink.rs).
    links: relink::Links,
}

impl Daemon {
    /// Makes `cfg` the config in force, as one transaction: attach the interfaces it adds,
    /// write the new generation (flipped in with one write), then detach the interfaces it
    /// drops. On any failure what this call attached is detached again and the generation in
    /// force stays; the error names the interface and the cause.
    fn apply(&mut self, cfg: &Config, compiled: &Compiled) -> Result<()> {
        let mut added: Vec<(String, Attached)> = Vec::new();
        let served = self.links.served(cfg);
        for iface in &served.interfaces {
            if let Some(a) = self.attached.get(&iface.name) {
                if a.requested != iface.mode {
                    warn!(
                        "{}: mode {:?} takes effect at the next start; it stays attached in {} mode",
                        iface.name,
                        iface.mode,
                        mode_name(a.mode)
                    );
                }
                continue;
            }
            match attach(&mut self.dp, &iface.name, iface.mode) {
                Ok(a) => added.push((iface.name.clone(), a)),
                Err(e) => {
                    self.undo(added);
                    return Err(e);
                }
            }
        }
        match install_served(&mut self.dp, &served, compiled) {
            Ok(entries) => self.installed = entries,
            Err(e) => {
                self.undo(added);
                return Err(e.context("writing the new generation"));
            }
        }
        for (name, a) in added {
            info!("{name}: attached ({} mode)", mode_name(a.mode));
            self.attached.insert(name, a);
        }
        let gone: Vec<String> = self
            .attached
            .keys()
            .filter(|n| !cfg.interfaces.iter().any(|i| &i.name == *n))
            .cloned()
            .collect();
        for name in gone {
            if let Some(a) = self.attached.remove(&name) {
                match self.dp.program().detach(a.link) {
                    Ok(()) => info!("{name}: detached (no longer in the config)"),
                    Err(e) => warn!("{name}: detach failed: {e}"),
                }
            }
        }
        Ok(())
    }

    /// Detaches what a failed [`Self::apply`] attached.
    fn undo(&mut self, added: Vec<(String, Attached)>) {
        for (name, a) in added {
            match self.dp.program().detach(a.link) {
                Ok(()) => info!("{name}: detached again: the new config was not applied"),
                Err(e) => warn!("{name}: detach after a failed reload failed: {e}"),
            }
        }
    }

    /// Re-reads the config file and applies it; the text says what happened.
    fn reload(&mut self) -> Result<String, String> {
        let file = self.opts.config.display().to_string();
        service::reloading();
        let result = prepare_without(&self.opts.config, &self.links).and_then(|(cfg, compiled)| {
            self.apply(&cfg, &compiled)?;
            self.relay.apply(&cfg);
            self.links.keep_configured(&cfg);
            self.compiled = compiled;
            self.cfg = cfg;
            self.generation += 1;
            Ok(())
        });
        service::ready(&format!("serving generation {}", self.generation));
        match result {
            Ok(()) => {
                if let Err(e) = self.write_state() {
                    warn!("{e:#}");
                }
                let text = format!("reloaded {file} (generation {})", self.generation);
                info!("{text}");
                Ok(text)
            }
            Err(e) => {
                let text = format!(
                    "reload of {file} failed, generation {} stays in force: {e:#}",
                    self.generation
                );
                warn!("{text}");
                Err(text)
            }
        }
    }

    fn state(&self) -> State {
        State {
            pid: std::process::id(),
            config: self.opts.config.clone(),
            program_id: self.program_id,
            counters_map_id: self.counters_map_id,
            interfaces: self.cfg.interfaces.iter().map(|i| i.name.clone()).collect(),
            pin_dir: self.opts.pin_dir.clone(),
        }
    }

    fn write_state(&self) -> Result<()> {
        instance::write_state(&self.opts.instance, &self.state())
    }

    fn status(&mut self) -> Value {
        let interfaces: Vec<Value> = self
            .cfg
            .interfaces
            .iter()
            .map(|i| {
                let mut entry = match self.attached.get(&i.name) {
                    Some(a) => json!({
                        "name": i.name,
                        "ifindex": a.ifindex,
                        "state": "attached",
                        "mode": mode_name(a.mode),
                        "requested_mode": attach_mode_name(i.mode),
                        "hooks": ["xdp"],
                    }),
                    None => json!({
                        "name": i.name,
                        "state": "not attached",
                        "requested_mode": attach_mode_name(i.mode),
                        "hooks": [],
                    }),
                };
                self.links.annotate(&i.name, &mut entry);
                entry
            })
            .collect();
        json!({
            "instance": self.opts.instance,
            "pid": std::process::id(),
            "uptime_seconds": self.started.elapsed().as_secs(),
            "config": self.opts.config,
            "generation": self.generation,
            "active_slot": self.dp.active_slot().ok(),
            "program_id": self.program_id,
            "pin_dir": self.opts.pin_dir,
            "interfaces": interfaces,
        })
    }

    /// Answers one control-socket command; `true` when it asks the daemon to stop.
    fn command(&mut self, command: &control::Command) -> (Answer, bool) {
        let answer = match command.command.as_str() {
            control::CONFIG_RELOAD => match self.reload() {
                Ok(text) => Answer::ok(text, None),
                Err(text) => Answer::error(text),
            },
            control::STATUS => Answer::ok(
                format!("instance {:?} running", self.opts.instance),
                Some(self.status()),
            ),
            control::STATISTICS => match self.stats.read() {
                Ok(stats) => Answer::ok("statistics", Some(stats.to_json())),
                Err(e) => Answer::error(format!("reading the counters: {e:#}")),
            },
            control::SHUTDOWN => return (Answer::ok("detached, exiting", None), true),
            other => Answer::error(format!(
                "unknown command {other:?}; this instance answers {:?}",
                control::COMMANDS
            )),
        };
        (answer, false)
    }

    fn warn_tailroom(&mut self) -> bool {
        let Ok(c) = self.dp.counters() else {
            return false;
        };
        let n = c[reason_index(Family::V4, Reason::NoTailroom) as usize]
            + c[reason_index(Family::V6, Reason::NoTailroom) as usize];
        if n == 0 {
            return false;
        }
        let native: Vec<&String> = self
            .attached
            .iter()
            .filter(|(_, a)| a.mode == XdpMode::Driver)
            .map(|(n, _)| n)
            .collect();
        warn!("{n} requests passed for lack of tailroom: the driver of {native:?} gives XDP no room to grow a frame; use mode = \"generic\" there");
        true
    }

    /// Detaches every interface (a failure is logged, the rest still detached).
    fn detach_all(&mut self) {
        for (name, a) in self.attached.drain() {
            if let Err(e) = self.dp.program().detach(a.link) {
                warn!("{name}: detach failed: {e}");
            }
        }
    }
}

/// [`install`] of a config whose interfaces are all present; with none (every link gone) the
/// entries in force stay: they name devices that are gone.
fn install_served(
    dp: &mut Datapath,
    served: &Config,
    compiled: &Compiled,
) -> Result<Vec<(IfaceKey, IfaceConfig)>> {
    if served.interfaces.is_empty() {
        return Ok(Vec::new());
    }
    Ok(install(dp, served, compiled)?.0)
}

fn attach_mode_name(mode: AttachMode) -> &'static str {
    match mode {
        AttachMode::Auto => "auto",
        AttachMode::Native => "native",
        AttachMode::Generic => "generic",
    }
}

pub async fn run(opts: RunOptions) -> Result<()> {
    let lock = instance::lock(&opts.instance)?;
    let metrics = opts.metrics.map(metrics::Listener::bind).transpose()?;
    let (cfg, compiled) = prepare(&opts.config)?;
    let mut dp = Datapath::load()?;
    let program_id = dp.program().info()?.id();
    let relay = crate::relay::Relay::new();
    let source = Arc::new(stats::Source::new(&mut dp, &relay)?);
    let counters_map_id = source.counters_map_id();
    let mut daemon = Daemon {
        cfg: cfg.clone(),
        opts,
        dp,
        attached: HashMap::new(),
        relay,
        stats: Arc::clone(&source),
        generation: 0,
        started: Instant::now(),
        program_id,
        counters_map_id,
        compiled: compiled.clone(),
        installed: Vec::new(),
        links: relink::Links::default(),
    };
    // Subscribed before attaching: a link deleted from here on is seen.
    let mut watch = Watch::start().context("subscribing to netlink link and address events")?;
    daemon.apply(&cfg, &compiled)?;
    daemon.generation = 1;
    // The slow path's relay agent (relay.rs): idle unless slow_path.mode = "relay".
    daemon.relay.apply(&cfg);
    if let Some(dir) = &daemon.opts.pin_dir {
        pin_maps(&mut daemon.dp, dir)?;
    }
    daemon.write_state()?;
    let (requests_tx, mut requests) = mpsc::channel(16);
    let socket = instance::socket_path(&daemon.opts.instance);
    let mut control = control::Server::bind(&socket, requests_tx)?;
    print!("{}", compiled.summary());
    println!(
        "lwm2m-xdp: serving on {} (instance {:?}, program id {program_id}, control socket {}); SIGHUP reloads, Ctrl-C stops",
        daemon.cfg.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
        daemon.opts.instance,
        socket.display()
    );
    if let Some(listener) = metrics {
        tokio::spawn(listener.serve(source));
    }
    // Start-up is over: keep only what reloads and the relay need (privilege.rs).
    privilege::drop_after_start()?;
    service::ready(&format!("serving generation {}", daemon.generation));

    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut warned_tailroom = false;
    // A `shutdown` command is answered once everything is detached.
    let mut shutdown_reply = None;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let _ = daemon.reload();
            }
            Some(request) = requests.recv() => {
                let (answer, stop) = daemon.command(&request.command);
                if stop {
                    shutdown_reply = Some((request.reply, answer));
                    break;
                }
                let _ = request.reply.send(answer);
            }
            events = watch.next() => daemon.follow_links(&events),
            _ = int.recv() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                if !warned_tailroom {
                    warned_tailroom = daemon.warn_tailroom();
                }
            }
        }
    }
    service::stopping();
    std::mem::replace(&mut daemon.relay, crate::relay::Relay::new())
        .shutdown()
        .await;
    daemon.detach_all();
    if let Some(dir) = &daemon.opts.pin_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    instance::remove_state(&daemon.opts.instance);
    if let Some((reply, answer)) = shutdown_reply {
        let _ = reply.send(answer);
    }
    control.close().await;
    drop(lock);
    println!("lwm2m-xdp: detached, bye");
    Ok(())
}

fn pin_maps(dp: &mut Datapath, dir: &Path) -> Result<()> {
    instance::ensure_bpffs()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, map) in dp.ebpf().maps() {
        // bpffs refuses names with a dot: skip the object's .rodata/.bss data maps.
        if name.starts_with('.') {
            continue;
        }
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        map.pin(&path)
            .with_context(|| format!("pinning {name} at {}", path.display()))?;
    }
    Ok(())
}
