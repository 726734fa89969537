//! Attaching the program to one interface: in the configured mode (auto: native, else
//! generic; generic on a veth), its link owned by the program or pinned in the pin dir, the TC
//! fallback on its ingress (its TCX link pinned too), and the DHCPv6 group joined; and
//! detaching it again.

use std::{
    net::{Ipv6Addr, UdpSocket},
    os::fd::{AsFd as _, OwnedFd},
};

use anyhow::{Context as _, Result};
use aya::programs::{
    links::FdLink,
    tc::{SchedClassifierLinkId, TcAttachOptions},
    xdp::XdpLinkId,
    LinkOrder, TcAttachType, XdpMode,
};
use log::{info, warn};
use xdp_common::wire::ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS;

use super::journal::Pinning;
use crate::{
    config::{AttachMode, Fallback},
    datapath::Datapath,
    pins::{self, PinDir},
    system,
};

/// A link pinned in the pin dir as `pin` (`link` is our descriptor of it, `id` its kernel
/// ID): an interface's XDP link, or its TC fallback's TCX link. It outlives the process.
pub(super) struct LinkPin {
    pub(super) link: OwnedFd,
    pub(super) pin: String,
    pub(super) id: u32,
}

impl LinkPin {
    /// Pins `link` as `pin`, named in the state file first (`journal.rs`), and holds it
    /// through the pin from then on (`link` is closed).
    fn pin(pinning: Pinning, pin: String, link: FdLink) -> Result<LinkPin> {
        let path = pinning.dir.join(&pin);
        let id = link.info()?.id();
        pinning.journal.record(pins::Pin {
            name: pin.clone(),
            kind: pins::Kind::Link,
            id,
        })?;
        drop(
            link.pin(&path)
                .with_context(|| format!("pinning the link at {}", path.display()))?,
        );
        Ok(LinkPin {
            link: pins::open_pin(&path)?,
            pin,
            id,
        })
    }

    /// The state file's record of it (what `detach` may remove).
    pub(super) fn record(&self) -> pins::Pin {
        pins::Pin {
            name: self.pin.clone(),
            kind: pins::Kind::Link,
            id: self.id,
        }
    }

    /// BPF_LINK_DETACH, then unpinned.
    fn detach(self, pins: Option<&PinDir>) -> Result<()> {
        match pins {
            Some(pins) => pins.remove_link(&self.pin, self.link.as_fd()),
            None => pins::detach_link(self.link.as_fd()),
        }
    }
}

/// How an interface's XDP link is held.
pub(super) enum Hook {
    /// Owned by the program (no --pin-dir): detached when the process exits, even by SIGKILL.
    Owned(XdpLinkId),
    /// Pinned in the pin dir: outlives the process.
    Pinned(LinkPin),
}

/// How an interface's TC fallback link is held.
pub(super) enum TcHook {
    /// Owned by the program: no --pin-dir, or attached through clsact (netlink, kernels before
    /// 6.6), whose filter is no bpf_link and cannot be pinned. It goes with the process.
    Owned(SchedClassifierLinkId),
    /// The TCX link, pinned: outlives the process, and the next run swaps its program in with
    /// bpf_link_update.
    Pinned(LinkPin),
}

impl TcHook {
    pub(super) fn is_pinned(&self) -> bool {
        matches!(self, TcHook::Pinned(_))
    }
}

pub(super) struct Attached {
    pub(super) hook: Hook,
    pub(super) ifindex: u32,
    /// What the config asked for (a change takes effect at the next start).
    pub(super) requested: AttachMode,
    pub(super) mode: XdpMode,
    /// The TC fallback's ingress link (`fallback = "tc"`), pinned as `tc_<ifname>` with a pin
    /// dir where the kernel has TCX.
    pub(super) fallback: Option<TcHook>,
    /// Joined to ff02::1:2 on this interface (a real NIC filters multicast it was not asked for).
    pub(super) _group: Option<UdpSocket>,
}

/// Why native mode on a veth loses answers (the kernel wakes a veth peer for XDP frames only
/// when the peer has an XDP program of its own; without one they wait in its ring).
const VETH_NATIVE: &str =
    "native XDP's answers (XDP_TX) reach its peer only while the peer runs an XDP program";

pub(super) fn attach(
    dp: &mut Datapath,
    pins: Option<Pinning>,
    name: &str,
    requested: AttachMode,
    fallback: Fallback,
) -> Result<Attached> {
    let system::Link {
        index: ifindex,
        veth,
        ..
    } = system::link(name)?;
    let (link, mode) = match requested {
        AttachMode::Native => {
            if veth {
                warn!("{name} is a veth: {VETH_NATIVE}; the TC fallback's answers do");
            }
            (
                attach_in(dp, name, ifindex, XdpMode::Driver)?,
                XdpMode::Driver,
            )
        }
        AttachMode::Generic => (attach_in(dp, name, ifindex, XdpMode::Skb)?, XdpMode::Skb),
        AttachMode::Auto if veth => {
            info!("{name} is a veth: {VETH_NATIVE}, so auto attaches it in generic mode");
            (attach_in(dp, name, ifindex, XdpMode::Skb)?, XdpMode::Skb)
        }
        AttachMode::Auto => match attach_in(dp, name, ifindex, XdpMode::Driver) {
            Ok(link) => (link, XdpMode::Driver),
            Err(e) => {
                warn!("{e:#}; attaching {name} in generic mode");
                (attach_in(dp, name, ifindex, XdpMode::Skb)?, XdpMode::Skb)
            }
        },
    };
    let hook = match pins {
        Some(pins) => pin_link(dp, pins, name, link)?,
        None => Hook::Owned(link),
    };
    Ok(Attached {
        hook,
        ifindex,
        requested,
        mode,
        fallback: attach_fallback(dp, pins, name, fallback),
        _group: join_group(name, ifindex),
    })
}

/// The TC fallback on `name`'s ingress (TCX on kernels >= 6.6, else clsact through netlink),
/// after XDP: a failure leaves XDP answering alone, with a warning. With a pin dir its TCX link
/// is pinned as `tc_<name>`.
pub(super) fn attach_fallback(
    dp: &mut Datapath,
    pins: Option<Pinning>,
    name: &str,
    fallback: Fallback,
) -> Option<TcHook> {
    if fallback == Fallback::None {
        return None;
    }
    if let Some(pins) = pins {
        // Asked for TCX explicitly: only a bpf_link can be pinned.
        let tcx = dp.tc_program().attach_with_options(
            name,
            TcAttachType::Ingress,
            TcAttachOptions::TcxOrder(LinkOrder::default()),
        );
        match tcx {
            Ok(id) => return pin_fallback(dp, pins, name, id),
            Err(e) => warn!(
                "{name}: no TCX link for the TC fallback ({e}); attaching it as on kernels before 6.6 (clsact, netlink): that filter is no bpf_link and cannot be pinned, so it goes with this process and a takeover has no TC answers until the new run attaches its own"
            ),
        }
    }
    attach_tc(dp, name)
        .map_err(|e| {
            warn!("{name}: TC fallback not attached ({e}); requests XDP has no room for are passed")
        })
        .ok()
        .map(TcHook::Owned)
}

/// Today's attach: TCX where the kernel has it, else a clsact qdisc's filter.
fn attach_tc(
    dp: &mut Datapath,
    name: &str,
) -> Result<SchedClassifierLinkId, aya::programs::ProgramError> {
    dp.tc_program()
        .attach(name, TcAttachType::Ingress)
        .or_else(|e| {
            // Before TCX: the classifier hangs off a clsact qdisc (EEXIST when there is one).
            let _ = aya::programs::tc::qdisc_add_clsact(name);
            dp.tc_program()
                .attach(name, TcAttachType::Ingress)
                .map_err(|_| e)
        })
}

/// Takes the TCX link from the program and pins it as `tc_<name>`. On failure the link is
/// dropped, and so detached: XDP answers alone, with a warning.
fn pin_fallback(
    dp: &mut Datapath,
    pins: Pinning,
    name: &str,
    id: SchedClassifierLinkId,
) -> Option<TcHook> {
    dp.tc_program()
        .take_link(id)
        .map_err(anyhow::Error::new)
        .and_then(|link| Ok(FdLink::try_from(link)?))
        .and_then(|link| LinkPin::pin(pins, PinDir::tc_link_name(name), link))
        .map(TcHook::Pinned)
        .map_err(|e| {
            warn!(
                "{name}: TC fallback not attached: {e:#}; requests XDP has no room for are passed"
            )
        })
        .ok()
}

/// Detaches one interface: its TC fallback, then its XDP link (also when the first failed;
/// the first error is returned).
pub(super) fn detach_attached(dp: &mut Datapath, pins: Option<&PinDir>, a: Attached) -> Result<()> {
    let tc = match a.fallback {
        Some(hook) => detach_fallback(dp, pins, hook).context("detaching the TC fallback"),
        None => Ok(()),
    };
    let xdp = detach_hook(dp, pins, a.hook);
    tc.and(xdp)
}

/// Detaches a TC fallback: an owned link through the program, a pinned one with
/// BPF_LINK_DETACH before it is unpinned.
pub(super) fn detach_fallback(
    dp: &mut Datapath,
    pins: Option<&PinDir>,
    hook: TcHook,
) -> Result<()> {
    match hook {
        TcHook::Owned(id) => dp.tc_program().detach(id)?,
        TcHook::Pinned(link) => link.detach(pins)?,
    }
    Ok(())
}

pub(super) fn join_group(name: &str, ifindex: u32) -> Option<UdpSocket> {
    join_dhcpv6_group(ifindex)
        .map_err(|e| warn!("{name}: could not join ff02::1:2 ({e:#}); DHCPv6 may not arrive"))
        .ok()
}

/// Takes the link from the program and pins it as `link_<name>`; on failure the link is
/// dropped, and so detached.
fn pin_link(dp: &mut Datapath, pins: Pinning, name: &str, link: XdpLinkId) -> Result<Hook> {
    let link = FdLink::try_from(dp.program().take_link(link)?).with_context(|| {
        format!("{name}: attached through netlink, not bpf_link: the link cannot be pinned")
    })?;
    let pinned = LinkPin::pin(pins, PinDir::link_name(name), link)
        .with_context(|| format!("{name}: its XDP link"))?;
    Ok(Hook::Pinned(pinned))
}

/// Detaches one interface: an owned link through the program, a pinned one with
/// BPF_LINK_DETACH before it is unpinned.
pub(super) fn detach_hook(dp: &mut Datapath, pins: Option<&PinDir>, hook: Hook) -> Result<()> {
    match hook {
        Hook::Owned(link) => dp.program().detach(link)?,
        Hook::Pinned(link) => link.detach(pins)?,
    }
    Ok(())
}

pub(super) fn xdp_mode(name: &str) -> Option<XdpMode> {
    [XdpMode::Driver, XdpMode::Skb]
        .into_iter()
        .find(|m| mode_name(*m) == name)
}

/// One attach, its error naming the interface and the mode.
fn attach_in(dp: &mut Datapath, name: &str, ifindex: u32, mode: XdpMode) -> Result<XdpLinkId> {
    dp.program()
        .attach_to_if_index(ifindex, mode)
        .map_err(|e| match system::xdp_holder(name) {
            Some(holder) => anyhow::Error::new(e).context(holder),
            None => anyhow::Error::new(e),
        })
        .with_context(|| format!("{name}: cannot attach XDP in {} mode", mode_name(mode)))
}

fn join_dhcpv6_group(ifindex: u32) -> Result<UdpSocket> {
    let socket = UdpSocket::bind("[::]:0").context("UDP socket")?;
    socket.join_multicast_v6(&Ipv6Addr::from(ALL_DHCP_RELAY_AGENTS_AND_SERVERS), ifindex)?;
    Ok(socket)
}

pub(super) fn mode_name(mode: XdpMode) -> &'static str {
    match mode {
        XdpMode::Driver => "native",
        XdpMode::Skb => "generic",
        XdpMode::Hardware => "offload",
        XdpMode::Default => "default",
    }
}
