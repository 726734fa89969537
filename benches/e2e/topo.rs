//! The bench's two hosts: a [`NetnsPair`] whose veth ends are `bench-srv` / `bench-cli`
//! (made inside the namespaces, so the names never touch the host), 198.18.100.0/24 and
//! fe80::/64. Everything is removed on drop (also when a step fails or panics), and
//! namespaces that a killed run left are removed at start (`NetnsPair`'s cleanup).

use std::{net::Ipv4Addr, time::Duration};

use anyhow::{bail, Context as _, Result};
pub use lwm2m_xdp_test_support::{InNetns, LinkEnd};
use lwm2m_xdp_test_support::{NetnsPair, Side};

pub const SERVER_IF: &str = "bench-srv";
pub const CLIENT_IF: &str = "bench-cli";
/// The /24 of 198.18.0.0/15 the bench uses: 198.18.100.1 (server) and .2 (client).
const SUBNET: u16 = 100;
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, SUBNET as u8, 1);
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, SUBNET as u8, 2);
/// `ip` and `ethtool` answer in milliseconds; the bound only catches a hang.
const CMD_LIMIT: Duration = Duration::from_secs(10);

pub struct Topology {
    pub server_ns: String,
    pub client_ns: String,
    pub server: LinkEnd,
    pub client: LinkEnd,
    /// Removes both namespaces when the topology is dropped.
    pair: NetnsPair,
}

impl Topology {
    pub fn create() -> Result<Topology> {
        let pair = NetnsPair::with_links("bench", CLIENT_IF, SERVER_IF, SUBNET)
            .context("making the bench namespaces")?;
        assert_eq!(
            (pair.ipv4(Side::Server), pair.ipv4(Side::Client)),
            (SERVER_V4, CLIENT_V4)
        );
        let topo = Topology {
            server_ns: pair.server_ns.clone(),
            client_ns: pair.client_ns.clone(),
            server: pair.end(Side::Server),
            client: pair.end(Side::Client),
            pair,
        };
        topo.tune().context("setting up the bench namespaces")?;
        Ok(topo)
    }

    /// What the bench adds to a pair: full UDP checksums from the client's sockets (the fast
    /// path verifies them), NAPI on the server end (frames the generator sends with XDP_TX,
    /// ndo_xdp_xmit, reach a veth peer only when it runs NAPI, and `run` attaches in generic
    /// mode), and static neighbours both ways: no ARP in the measured paths.
    fn tune(&self) -> Result<()> {
        self.run(Side::Client, &["ethtool", "-K", CLIENT_IF, "tx", "off"])?;
        self.run(Side::Server, &["ethtool", "-K", SERVER_IF, "gro", "on"])?;
        let mac = |m: [u8; 6]| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        for (side, peer, peer_mac, dev) in [
            (Side::Server, CLIENT_V4, self.client.mac, SERVER_IF),
            (Side::Client, SERVER_V4, self.server.mac, CLIENT_IF),
        ] {
            self.run(
                side,
                &[
                    "ip",
                    "neigh",
                    "replace",
                    &peer.to_string(),
                    "lladdr",
                    &mac(peer_mac),
                    "dev",
                    dev,
                    "nud",
                    "permanent",
                ],
            )?;
        }
        Ok(())
    }

    /// `cmd` inside one namespace, bounded, must exit 0.
    fn run(&self, side: Side, cmd: &[&str]) -> Result<()> {
        let out = self.pair.exec_within(side, CMD_LIMIT, cmd);
        if !out.status.success() {
            bail!(
                "`{}` in {} failed ({}): {}",
                cmd.join(" "),
                self.pair.ns(side),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        println!(
            "e2e: removing namespaces {} and {}",
            self.server_ns, self.client_ns
        );
    }
}

/// Pins the calling thread to one CPU (best effort: a 1-CPU machine has only CPU 0).
pub fn pin_thread(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET only writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
