//! `lwm2m-xdp run`: config -> maps, attach, serve until told to stop; SIGHUP reloads.

use std::{
    collections::HashMap,
    net::{Ipv6Addr, UdpSocket},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, Result};
use aya::programs::{xdp::XdpLinkId, XdpMode};
use log::{info, warn};
use tokio::signal::unix::{signal, SignalKind};
use xdp_common::{
    counters::{reason_index, Reason},
    maps::{Family, MAP_COUNTERS},
    wire::ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
};

use crate::{
    compile::{self, Compiled},
    config::{self, AttachMode, Config},
    datapath::{Datapath, Generation},
    ifaces::{self, SystemInterface},
    instance::{self, State},
    stats, vlans,
};

/// Validate and compile `path` completely before touching the kernel, so that a bad file
/// never replaces a running config.
pub fn prepare(path: &Path) -> Result<(Config, Compiled)> {
    let cfg = Config::load(path)?;
    config::check_interfaces(&cfg)?;
    let compiled = compile::compile(&cfg)?;
    Ok((cfg, compiled))
}

/// Write a prepared config into the maps: interfaces, then the new generation, flipped in
/// with one write. Returns the interfaces as the system reports them.
pub fn install(
    dp: &mut Datapath,
    cfg: &Config,
    compiled: &Compiled,
) -> Result<Vec<SystemInterface>> {
    let (mut entries, systems) = ifaces::entries(cfg, ifaces::system_interface)?;
    let stacked = vlans::discover()?;
    let duid = ifaces::server_duid(cfg, &systems)?;
    let extra = vlans::stacked_entries(
        &stacked,
        &systems,
        &entries,
        &duid,
        ifaces::system_interface,
    )?;
    for (key, _) in &extra {
        info!(
            "VLAN {}/{} on ifindex {}: answered from its stacked interface",
            key.outer_vlan, key.inner_vlan, key.ifindex
        );
    }
    entries.extend(extra);
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
    dp.set_interfaces(&entries)?;
    dp.install_generation(&Generation::from(compiled))?;
    Ok(systems)
}

struct Attached {
    link: XdpLinkId,
    mode: XdpMode,
    /// Joined to ff02::1:2 on this interface (a real NIC filters multicast it was not asked for).
    _group: Option<UdpSocket>,
}

fn attach(dp: &mut Datapath, name: &str, mode: AttachMode) -> Result<Attached> {
    let (link, mode) = match mode {
        AttachMode::Native => (dp.program().attach(name, XdpMode::Driver)?, XdpMode::Driver),
        AttachMode::Generic => (dp.program().attach(name, XdpMode::Skb)?, XdpMode::Skb),
        AttachMode::Auto => match dp.program().attach(name, XdpMode::Driver) {
            Ok(link) => (link, XdpMode::Driver),
            Err(e) => {
                warn!("{name}: native XDP failed ({e}); attaching in generic mode");
                (dp.program().attach(name, XdpMode::Skb)?, XdpMode::Skb)
            }
        },
    };
    let group = join_dhcpv6_group(name)
        .map_err(|e| warn!("{name}: could not join ff02::1:2 ({e:#}); DHCPv6 may not arrive"))
        .ok();
    Ok(Attached {
        link,
        mode,
        _group: group,
    })
}

fn join_dhcpv6_group(name: &str) -> Result<UdpSocket> {
    let socket = UdpSocket::bind("[::]:0").context("UDP socket")?;
    socket.join_multicast_v6(
        &Ipv6Addr::from(ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
        ifaces::ifindex(name)?,
    )?;
    Ok(socket)
}

/// Attach to interfaces newly in the config, detach from those no longer in it.
fn sync_attachments(
    dp: &mut Datapath,
    cfg: &Config,
    attached: &mut HashMap<String, Attached>,
) -> Result<()> {
    let wanted: Vec<&str> = cfg.interfaces.iter().map(|i| i.name.as_str()).collect();
    let gone: Vec<String> = attached
        .keys()
        .filter(|n| !wanted.contains(&n.as_str()))
        .cloned()
        .collect();
    for name in gone {
        if let Some(a) = attached.remove(&name) {
            dp.program().detach(a.link)?;
            info!("{name}: detached");
        }
    }
    for iface in &cfg.interfaces {
        if !attached.contains_key(&iface.name) {
            let a = attach(dp, &iface.name, iface.mode)?;
            info!("{}: attached ({})", iface.name, mode_name(a.mode));
            attached.insert(iface.name.clone(), a);
        }
    }
    Ok(())
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

pub async fn run(opts: RunOptions) -> Result<()> {
    if let Ok(state) = instance::read_state(&opts.instance) {
        anyhow::bail!(
            "instance {:?} is already running (pid {}); stop it or pick another --instance",
            opts.instance,
            state.pid
        );
    }
    let (cfg, compiled) = prepare(&opts.config)?;
    let mut dp = Datapath::load()?;
    install(&mut dp, &cfg, &compiled)?;
    let mut attached = HashMap::new();
    sync_attachments(&mut dp, &cfg, &mut attached)?;
    // The slow path's relay agent (relay.rs): idle unless slow_path.mode = "relay".
    let mut relay = crate::relay::Relay::new();
    relay.apply(&cfg);
    if let Some(dir) = &opts.pin_dir {
        pin_maps(&mut dp, dir)?;
    }
    let program_id = dp.program().info()?.id();
    let counters_map_id = counters_map_id(&mut dp)?;
    let state = |cfg: &Config| State {
        pid: std::process::id(),
        config: opts.config.clone(),
        program_id,
        counters_map_id,
        interfaces: cfg.interfaces.iter().map(|i| i.name.clone()).collect(),
        pin_dir: opts.pin_dir.clone(),
    };
    instance::write_state(&opts.instance, &state(&cfg))?;
    print!("{}", compiled.summary());
    println!(
        "lwm2m-xdp: serving on {} (instance {:?}, program id {program_id}); SIGHUP reloads, Ctrl-C stops",
        cfg.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
        opts.instance
    );
    if let Some(addr) = opts.metrics {
        tokio::spawn(serve_metrics(addr, counters_map_id));
    }

    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut warned_tailroom = false;
    let result = loop {
        tokio::select! {
            _ = hup.recv() => {
                match prepare(&opts.config).and_then(|(cfg, compiled)| {
                    install(&mut dp, &cfg, &compiled)?;
                    sync_attachments(&mut dp, &cfg, &mut attached)?;
                    relay.apply(&cfg);
                    instance::write_state(&opts.instance, &state(&cfg))?;
                    Ok(())
                }) {
                    Ok(()) => info!("reloaded {}", opts.config.display()),
                    Err(e) => warn!("reload of {} failed, the running config stays: {e:#}", opts.config.display()),
                }
            }
            _ = int.recv() => break Ok(()),
            _ = term.recv() => break Ok(()),
            _ = tick.tick() => {
                if !warned_tailroom {
                    if let Ok(c) = dp.counters() {
                        let n = c[reason_index(Family::V4, Reason::NoTailroom) as usize] + c[reason_index(Family::V6, Reason::NoTailroom) as usize];
                        if n > 0 {
                            let native: Vec<&String> = attached.iter().filter(|(_, a)| a.mode == XdpMode::Driver).map(|(n, _)| n).collect();
                            warn!("{n} requests passed for lack of tailroom: the driver of {native:?} gives XDP no room to grow a frame; use mode = \"generic\" there");
                            warned_tailroom = true;
                        }
                    }
                }
            }
        }
    };
    relay.shutdown().await;
    for (name, a) in attached.drain() {
        if let Err(e) = dp.program().detach(a.link) {
            warn!("{name}: detach failed: {e}");
        }
    }
    if let Some(dir) = &opts.pin_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    instance::remove_state(&opts.instance);
    println!("lwm2m-xdp: detached, bye");
    result
}

fn counters_map_id(dp: &mut Datapath) -> Result<u32> {
    let ids = dp.program().info()?.map_ids()?.unwrap_or_default();
    for id in ids {
        let info = aya::maps::MapInfo::from_id(id)?;
        if info.name_as_str() == Some(MAP_COUNTERS) {
            return Ok(id);
        }
    }
    anyhow::bail!("the loaded program has no {MAP_COUNTERS} map")
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

/// Prometheus text on every HTTP request to `addr`.
async fn serve_metrics(addr: std::net::SocketAddr, counters_map_id: u32) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => return warn!("metrics on {addr}: {e}"),
    };
    info!("metrics on http://{addr}/metrics");
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).await;
        let body = match stats::read_by_id(counters_map_id) {
            Ok(values) => stats::to_prometheus(&values),
            Err(e) => format!("# error: {e:#}\n"),
        };
        let response = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
    }
}
