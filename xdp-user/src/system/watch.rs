//! Link and address events of this network namespace (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//! RTNLGRP_IPV6_IFADDR), as `ip monitor` sees them, on the tokio runtime (rtnetlink's
//! multicast connection). `run` looks the system up again after each batch (loader's
//! `relink.rs`): the events say *that* something changed, the lookups say what is.

use std::io;

use futures_util::StreamExt as _;
use log::{debug, warn};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::SocketAddr;
use rtnetlink::MulticastGroup;

use super::netlink::{address_of, link_of, Address, Link};

/// What one event said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// RTM_NEWLINK (`deleted` false: added or changed) or RTM_DELLINK.
    Link { link: Link, deleted: bool },
    /// RTM_NEWADDR or RTM_DELADDR.
    Address { address: Address, deleted: bool },
    /// Events were lost (the socket's buffer overran) or the watch was opened again: only a
    /// fresh look at the system tells what changed.
    Resync,
}

type Messages =
    futures_channel::mpsc::UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// One open multicast connection; its task ends with it.
struct Stream {
    messages: Messages,
    connection: tokio::task::JoinHandle<()>,
}

impl Stream {
    fn open() -> io::Result<Stream> {
        let (connection, _handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])?;
        Ok(Stream {
            messages,
            connection: tokio::spawn(connection),
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// The subscription `run` holds; needs a tokio runtime.
pub struct Watch {
    /// `None` once it could not be opened again: then [`Watch::next`] never returns.
    stream: Option<Stream>,
}

impl Watch {
    pub fn start() -> io::Result<Watch> {
        Ok(Watch {
            stream: Some(Stream::open()?),
        })
    }

    /// Waits for the next event and returns it with every event already queued behind it
    /// (a link made and addressed in one go is one batch). Should the connection end, it is
    /// opened again and the batch is [`Event::Resync`].
    pub async fn next(&mut self) -> Vec<Event> {
        let Some(stream) = &mut self.stream else {
            return std::future::pending().await;
        };
        let Some((first, _)) = stream.messages.next().await else {
            warn!("netlink link/address watch ended; opening it again");
            self.stream = Stream::open()
                .map_err(|e| {
                    warn!("netlink link/address watch: {e}; deleted interfaces are not followed")
                })
                .ok();
            return vec![Event::Resync];
        };
        let mut batch: Vec<Event> = event_of(first).into_iter().collect();
        while let Ok((message, _)) = stream.messages.try_recv() {
            batch.extend(event_of(message));
        }
        debug!("netlink events: {batch:?}");
        batch
    }
}

/// The event one message carries; `None` for messages of no interest.
pub fn event_of(message: NetlinkMessage<RouteNetlinkMessage>) -> Option<Event> {
    match message.payload {
        NetlinkPayload::InnerMessage(inner) => match inner {
            RouteNetlinkMessage::NewLink(l) => Some(Event::Link {
                link: link_of(&l)?,
                deleted: false,
            }),
            RouteNetlinkMessage::DelLink(l) => Some(Event::Link {
                link: link_of(&l)?,
                deleted: true,
            }),
            RouteNetlinkMessage::NewAddress(a) => Some(Event::Address {
                address: address_of(&a)?,
                deleted: false,
            }),
            RouteNetlinkMessage::DelAddress(a) => Some(Event::Address {
                address: address_of(&a)?,
                deleted: true,
            }),
            _ => None,
        },
        NetlinkPayload::Overrun(_) => Some(Event::Resync),
        _ => None,
    }
}
