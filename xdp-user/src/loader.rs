//! `lwm2m-xdp run`: config -> maps, attach, serve until told to stop; SIGHUP reloads; the
//! interfaces are followed as they are deleted, re-created and readdressed (`relink.rs`).

mod attach;
mod journal;
mod relink;

use attach::{
    attach, attach_fallback, detach_attached, detach_fallback, join_group, mode_name, xdp_mode,
    Attached, Hook, LinkPin, TcHook,
};
use journal::{Journal, Pinning};

use std::{
    collections::{BTreeMap, HashMap},
    os::fd::AsFd as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use aya::programs::{
    links::{FdLink, PinnedLink},
    tc::SchedClassifierLink,
    xdp::XdpLink,
    XdpMode,
};
use log::{info, warn};
use serde_json::{json, Value};
use tokio::{
    signal::unix::{signal, SignalKind},
    sync::mpsc,
};
use xdp_common::{
    counters::{reason_index, Reason},
    maps::{Family, IfaceConfig, IfaceKey},
};

use crate::{
    compile::{self, Compiled},
    config::{self, AttachMode, Config, Fallback},
    control::{self, Answer},
    datapath::{Datapath, Generation},
    ifaces,
    instance::{self, State},
    metrics,
    pins::{self, PinDir},
    privilege, service, stats,
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
    /// The instance's pin dir (`--pin-dir`), marker checked.
    pins: Option<PinDir>,
    /// The program and map pins made at start (links are in `attached`).
    object_pins: Vec<pins::Pin>,
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
                self.refit_fallback(&iface.name, iface.fallback);
                continue;
            }
            let journal = self.journal(&added);
            match attach(
                &mut self.dp,
                Pinning::of(self.pins.as_ref(), journal.as_ref()),
                &iface.name,
                iface.mode,
                iface.fallback,
            ) {
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
                match detach_attached(&mut self.dp, self.pins.as_ref(), a) {
                    Ok(()) => info!("{name}: detached (no longer in the config)"),
                    Err(e) => warn!("{name}: detach failed: {e}"),
                }
            }
        }
        Ok(())
    }

    /// A reload that changes `fallback` of an attached interface attaches or detaches the
    /// TC fallback at once (XDP's link stays as it is).
    fn refit_fallback(&mut self, name: &str, fallback: Fallback) {
        let journal = self.journal(&[]);
        let pinning = Pinning::of(self.pins.as_ref(), journal.as_ref());
        let Some(a) = self.attached.get_mut(name) else {
            return;
        };
        match (a.fallback.take(), fallback) {
            (None, Fallback::Tc) => {
                a.fallback = attach_fallback(&mut self.dp, pinning, name, fallback)
            }
            (Some(hook), Fallback::None) => {
                match detach_fallback(&mut self.dp, self.pins.as_ref(), hook) {
                    Ok(()) => info!("{name}: TC fallback detached"),
                    Err(e) => warn!("{name}: detaching the TC fallback failed: {e}"),
                }
            }
            (kept, _) => a.fallback = kept,
        }
    }

    /// Detaches what a failed [`Self::apply`] attached.
    fn undo(&mut self, added: Vec<(String, Attached)>) {
        for (name, a) in added {
            match detach_attached(&mut self.dp, self.pins.as_ref(), a) {
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
                // What a failed apply attached (and recorded) was detached again.
                if let Err(e) = self.write_state() {
                    warn!("{e:#}");
                }
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
        self.state_with(&[])
    }

    /// The state with `added` (attached by an `apply` under way) counted as attached.
    fn state_with(&self, added: &[(String, Attached)]) -> State {
        let attached = || {
            self.attached
                .iter()
                .chain(added.iter().map(|(n, a)| (n, a)))
        };
        let mut pins = self.object_pins.clone();
        for (_, a) in attached() {
            if let Hook::Pinned(link) = &a.hook {
                pins.push(link.record());
            }
            if let Some(TcHook::Pinned(link)) = &a.fallback {
                pins.push(link.record());
            }
        }
        State {
            pid: std::process::id(),
            config: self.opts.config.clone(),
            program_id: self.program_id,
            counters_map_id: self.counters_map_id,
            interfaces: self.cfg.interfaces.iter().map(|i| i.name.clone()).collect(),
            pin_dir: self.opts.pin_dir.clone(),
            pins,
            link_modes: attached()
                .filter(|(_, a)| matches!(a.hook, Hook::Pinned(_)))
                .map(|(n, a)| (n.clone(), mode_name(a.mode).to_string()))
                .collect(),
        }
    }

    fn write_state(&self) -> Result<()> {
        instance::write_state(&self.opts.instance, &self.state())
    }

    /// The journal an attach records its pins in (journal.rs), from the state with `added`
    /// (what the `apply` under way has attached so far); none without a pin dir.
    fn journal(&self, added: &[(String, Attached)]) -> Option<Journal> {
        self.pins.as_ref()?;
        Some(Journal::new(&self.opts.instance, self.state_with(added)))
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
                        "hooks": if a.fallback.is_some() { json!(["xdp", "tc"]) } else { json!(["xdp"]) },
                        // Every hook of it outlives the process.
                        "pinned": matches!(a.hook, Hook::Pinned(_))
                            && a.fallback.as_ref().is_none_or(TcHook::is_pinned),
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

    /// Once: requests nothing could answer for lack of room. Where the TC fallback is
    /// attached, XDP's no_tailroom are answered there: only what TC passed too counts then.
    fn warn_tailroom(&mut self) -> bool {
        let Ok(c) = self.dp.counters() else {
            return false;
        };
        let count = |r: Reason| {
            c[reason_index(Family::V4, r) as usize] + c[reason_index(Family::V6, r) as usize]
        };
        let without: Vec<&String> = self
            .attached
            .iter()
            .filter(|(_, a)| a.fallback.is_none())
            .map(|(n, _)| n)
            .collect();
        let passed_by_xdp = count(Reason::NoTailroom);
        let passed_by_tc = count(Reason::NoTailroomTc);
        if !without.is_empty() && passed_by_xdp > 0 {
            warn!("{passed_by_xdp} requests passed for lack of tailroom: a driver gives XDP no room to grow a frame; set fallback = \"tc\" on {without:?} (or mode = \"generic\")");
            return true;
        }
        if passed_by_tc > 0 {
            warn!("{passed_by_tc} requests passed for lack of room by XDP and by the TC fallback (bpf_skb_change_tail failed)");
            return true;
        }
        false
    }

    /// Detaches every interface (a failure is logged, the rest still detached).
    fn detach_all(&mut self) {
        for (name, a) in self.attached.drain() {
            if let Err(e) = detach_attached(&mut self.dp, self.pins.as_ref(), a) {
                warn!("{name}: detach failed: {e:#}");
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
    // Subscribed before attaching: a link deleted from here on is seen.
    let mut watch = Watch::start().context("subscribing to netlink link and address events")?;
    // Read before this run rewrites it: the modes of the links it may adopt.
    let earlier = instance::read_state(&opts.instance).ok();
    journal::refuse_left_pins(&opts, earlier.as_ref())?;
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
        pins: None,
        object_pins: Vec::new(),
    };
    daemon.claim_pin_dir()?;
    if let Err(e) = daemon.start(&cfg, &compiled, earlier) {
        daemon.abandon();
        return Err(e);
    }
    daemon.generation = 1;
    // The slow path's relay agent (relay.rs): idle unless slow_path.mode = "relay".
    daemon.relay.apply(&cfg);
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
    daemon.unpin_objects();
    instance::remove_state(&daemon.opts.instance);
    if let Some((reply, answer)) = shutdown_reply {
        let _ = reply.send(answer);
    }
    control.close().await;
    drop(lock);
    println!("lwm2m-xdp: detached, bye");
    Ok(())
}

/// Start-up with a pin dir: adopt what an earlier run of the instance pinned, pin what this
/// run loaded. Kept apart from the run loop.
impl Daemon {
    /// The first config in force: with a pin dir, the maps are written first and the pinned
    /// links of configured interfaces switched to this run's program ([`Self::adopt`]), then
    /// the program and maps pinned; then the rest is attached as usual and the state written.
    fn start(&mut self, cfg: &Config, compiled: &Compiled, earlier: Option<State>) -> Result<()> {
        if self.pins.is_some() {
            install(&mut self.dp, cfg, compiled)
                .context("writing the config before taking over pinned links")?;
            self.adopt(earlier.map(|s| s.link_modes).unwrap_or_default())?;
            self.adopt_fallbacks()?;
        }
        // Pinned before any new link exists, each recorded as it is made (journal.rs).
        let journal = self.journal(&[]);
        if let Some(pinning) = Pinning::of(self.pins.as_ref(), journal.as_ref()) {
            journal::pin_objects(&mut self.dp, pinning, &mut self.object_pins)?;
        }
        self.apply(cfg, compiled)?;
        self.write_state()
    }

    /// Swaps this run's XDP program into every pinned link of a configured interface with one
    /// bpf_link_update each: the interface is never without a program, and the first packet
    /// the new program sees finds the config already written. Links of interfaces no longer
    /// configured are unpinned, and so detached.
    fn adopt(&mut self, modes: BTreeMap<String, String>) -> Result<()> {
        let Some(pins) = &self.pins else {
            return Ok(());
        };
        for (ifname, pin) in pins.links()? {
            let path = pins.join(&pin);
            let link = FdLink::from(
                PinnedLink::from_pin(&path)
                    .with_context(|| format!("opening the pinned link {}", path.display()))?,
            );
            let Some(iface) = self.cfg.interfaces.iter().find(|i| i.name == ifname) else {
                pins.remove_link(&pin, pins::open_pin(&path)?.as_fd())?;
                drop(link);
                info!("{ifname}: detached (pinned by an earlier run, no longer in the config)");
                continue;
            };
            let program = self.dp.program();
            let updated = XdpLink::try_from(link)
                .map_err(anyhow::Error::new)
                .and_then(|link| Ok(program.attach_to_link(link)?))
                .and_then(|id| Ok(FdLink::try_from(program.take_link(id)?)?));
            let link = match updated {
                Ok(link) => link,
                Err(e) => {
                    // A link whose interface is gone (or not an XDP link): attached anew.
                    warn!(
                        "{ifname}: pinned link {} not taken over ({e:#}); attaching anew",
                        path.display()
                    );
                    pins.discard_link(&pin)?;
                    continue;
                }
            };
            let ifindex = system::ifindex(&ifname)?;
            let mode = modes
                .get(&ifname)
                .and_then(|m| xdp_mode(m))
                .unwrap_or(XdpMode::Default);
            let id = link.info()?.id();
            // The pin keeps the link; from here on it is held like one this run pinned.
            drop(link);
            let link = pins::open_pin(&path)?;
            info!(
                "{ifname}: took over pinned link {id} ({} mode)",
                mode_name(mode)
            );
            // A link update keeps the link's mode: another one needs a new link.
            if matches!(
                (iface.mode, mode),
                (AttachMode::Native, XdpMode::Skb) | (AttachMode::Generic, XdpMode::Driver)
            ) {
                warn!(
                    "{ifname}: mode {:?} not applied: the pinned link stays in {} mode until the instance is stopped (SIGTERM or `lwm2m-xdp detach`) and run again",
                    iface.mode,
                    mode_name(mode)
                );
            }
            self.attached.insert(
                ifname.clone(),
                Attached {
                    hook: Hook::Pinned(LinkPin { link, pin, id }),
                    ifindex,
                    requested: iface.mode,
                    mode,
                    // Its pinned TC link, if any, is taken over next (adopt_fallbacks).
                    fallback: None,
                    _group: join_group(&ifname, ifindex),
                },
            );
        }
        Ok(())
    }

    /// Swaps this run's TC program into the pinned TC fallback link of every interface whose
    /// XDP link [`Self::adopt`] took over and whose config still asks for `fallback = "tc"`
    /// (bpf_link_update: the hook is never empty). Every other TC pin is detached and
    /// unpinned. An interface left without a TC link gets a new one from `apply`
    /// (refit_fallback).
    fn adopt_fallbacks(&mut self) -> Result<()> {
        let Some(pins) = &self.pins else {
            return Ok(());
        };
        for (ifname, pin) in pins.tc_links()? {
            let path = pins.join(&pin);
            let wanted = self
                .cfg
                .interfaces
                .iter()
                .any(|i| i.name == ifname && i.fallback == Fallback::Tc);
            let why = match self.attached.get_mut(&ifname).filter(|_| wanted) {
                Some(a) => match adopt_fallback(&mut self.dp, &path) {
                    Ok(id) => {
                        info!("{ifname}: took over pinned TC fallback link {id}");
                        a.fallback = Some(TcHook::Pinned(LinkPin {
                            link: pins::open_pin(&path)?,
                            pin,
                            id,
                        }));
                        continue;
                    }
                    Err(e) => {
                        warn!(
                            "{ifname}: pinned TC fallback link {} not taken over ({e:#}); attaching anew",
                            path.display()
                        );
                        "not taken over".to_string()
                    }
                },
                None => "its interface is not configured with fallback = \"tc\" now, or its XDP link was not taken over".to_string(),
            };
            pins.discard_link(&pin)?;
            info!(
                "{ifname}: pinned TC fallback link {} detached and unpinned: {why}",
                path.display()
            );
        }
        Ok(())
    }

    /// After a failed start: a pin dir this run created is emptied and removed; one it took
    /// over keeps its pinned links (the fast path keeps answering) for the next run.
    fn abandon(&mut self) {
        if self.pins.as_ref().is_some_and(|p| p.created) {
            self.detach_all();
            self.unpin_objects();
            instance::remove_state(&self.opts.instance);
        } else {
            self.attached.clear();
        }
    }

    /// Removes the program and map pins this run made, then the marker and the directory
    /// (which stays, with a warning, if it holds anything else).
    fn unpin_objects(&mut self) {
        let Some(pins) = self.pins.take() else {
            return;
        };
        // The marker goes last, with the directory (PinDir::close).
        for pin in self
            .object_pins
            .drain(..)
            .filter(|p| p.kind != pins::Kind::Owner)
        {
            if let Err(e) = pins.remove(&pin.name) {
                warn!("{e:#}");
            }
        }
        if let Err(e) = pins.close() {
            warn!("{e:#}");
        }
    }
}

/// Swaps the TC program into the TCX link pinned at `path` (bpf_link_update); its link ID.
/// The pin keeps the link: the descriptors used here are closed again.
fn adopt_fallback(dp: &mut Datapath, path: &Path) -> Result<u32> {
    let link = FdLink::from(
        PinnedLink::from_pin(path)
            .with_context(|| format!("opening the pinned link {}", path.display()))?,
    );
    let link = SchedClassifierLink::try_from(link)
        .with_context(|| format!("{} is not a TCX link", path.display()))?;
    let program = dp.tc_program();
    let id = program.attach_to_link(link)?;
    let link = FdLink::try_from(program.take_link(id)?)?;
    Ok(link.info()?.id())
}
