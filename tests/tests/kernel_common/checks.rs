//! Pieces both families' reply checkers (kernel_v4's `check_ack`, kernel_v6's
//! `check_reply`) take apart and check the same way: the frames at layer 2, a message's
//! option instances, the codes a request asks for, the bootstrap data a client decodes.

use std::fmt::Debug;

use lwm2m_xdp::client::Bootstrap;
use xdp_common::wire::eth;

use super::{parse_l2, Parsed, SERVER_MAC, URI};

/// A request frame to be checked against its answer: at layer 2 of `ethertype`, with no
/// more tags than the program looks through.
pub fn parse_request(request: &[u8], ethertype: u16) -> Result<Parsed<'_>, String> {
    let req = parse_l2(request).ok_or("request: short frame")?;
    ensure!(
        req.ethertype == ethertype,
        "answered a frame of ethertype {:#06x}",
        req.ethertype
    );
    ensure!(
        req.l2.tags.len() <= eth::MAX_VLAN_TAGS,
        "answered a frame with {} tags",
        req.l2.tags.len()
    );
    Ok(req)
}

/// A reply frame, taken apart at layer 2 and checked there: to the request's source, from
/// our MAC, the request's tags as they were, of the request's ethertype.
pub fn parse_reply<'a>(request: &Parsed, reply: &'a [u8]) -> Result<Parsed<'a>, String> {
    let rep = parse_l2(reply).ok_or("reply: short frame")?;
    ensure!(
        rep.l2.dst == request.l2.src,
        "reply to MAC {:02x?}, request came from {:02x?}",
        rep.l2.dst,
        request.l2.src
    );
    ensure!(
        rep.l2.src == SERVER_MAC,
        "reply from MAC {:02x?}",
        rep.l2.src
    );
    ensure!(
        rep.l2.tags == request.l2.tags,
        "tags {:04x?} became {:04x?}",
        request.l2.tags,
        rep.l2.tags
    );
    ensure!(
        rep.ethertype == request.ethertype,
        "reply ethertype {:#06x}",
        rep.ethertype
    );
    Ok(rep)
}

/// One option instance of a DHCP message: where it starts in the options, its code, its data.
pub struct DhcpOption<'a, C> {
    pub at: usize,
    pub code: C,
    pub data: &'a [u8],
}

/// The one instance of `code` in a request's `options`, if any; more than one is not a
/// request the fast path may answer.
pub fn single<'o, 'a, C: PartialEq + Copy + Debug>(
    options: &'o [DhcpOption<'a, C>],
    code: C,
) -> Result<Option<&'o DhcpOption<'a, C>>, String> {
    let all: Vec<&DhcpOption<C>> = options.iter().filter(|o| o.code == code).collect();
    ensure!(
        all.len() <= 1,
        "answered a request with {} instances of option {code:?}",
        all.len()
    );
    Ok(all.first().copied())
}

/// What a request asks for (its PRL or ORO, `list` names which) is answerable: an LwM2M
/// code among it, and under the `complete` policy nothing but `served` and `ignorable` codes.
pub fn check_asked<C: PartialEq + Copy + Debug>(
    list: &str,
    asked: &[C],
    lwm2m: [C; 2],
    policy: &str,
    served: &[C],
    ignorable: &[C],
) -> Result<(), String> {
    ensure!(
        lwm2m.iter().any(|c| asked.contains(c)),
        "answered a {list} without LwM2M codes: {asked:?}"
    );
    if policy == "complete" {
        let unservable: Vec<C> = asked
            .iter()
            .copied()
            .filter(|c| !served.contains(c) && !ignorable.contains(c))
            .collect();
        ensure!(
            unservable.is_empty(),
            "complete policy answered a {list} with unservable codes {unservable:?}"
        );
    }
    Ok(())
}

/// What a client decodes from the reply: the certificate, when asked for, is the DER file
/// (`cert`); the URI, when asked for, the configured one.
pub fn check_bootstrap(
    bootstrap: &Bootstrap,
    cert: &[u8],
    cert_asked: bool,
    uri_asked: bool,
) -> Result<(), String> {
    if cert_asked {
        ensure!(
            bootstrap.certificate.as_deref() == Some(cert),
            "reassembled certificate differs from the DER file"
        );
    }
    if uri_asked {
        ensure!(
            bootstrap.uri.as_deref() == Some(URI),
            "URI {:?}",
            bootstrap.uri
        );
    }
    Ok(())
}
