//! The Internet checksum (RFC 1071) in the pieces the loader precomputes for the kernel
//! (`OptionBlock::csum`, `IfaceConfig::server_id_csum`) and whole checksums that tests use to
//! verify the kernel's replies.

use xdp_common::wire::{ipv4, ipv6};

/// The 16-bit one's-complement sum of `data` read as big-endian words from an even offset, a
/// trailing odd byte being the high half of a word; folded, not inverted.
pub fn sum_be(data: &[u8]) -> u16 {
    let mut words = data.chunks_exact(2);
    // u64: no carry is lost however long `data` is.
    let mut sum: u64 = words
        .by_ref()
        .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    while sum >> 32 != 0 {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
    }
    fold(sum as u32)
}

/// Folds the carries of a 32-bit partial sum into 16 bits (end-around carry).
pub fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

/// One's-complement addition of two folded sums.
pub fn add(a: u16, b: u16) -> u16 {
    fold(u32::from(a) + u32::from(b))
}

/// The sum of data that starts at an odd offset of the packet, from its `sum_be`: byte order
/// commutes with one's-complement addition (RFC 1071 §2(B)), so swapping the sum is enough.
pub fn swap_for_odd_offset(sum: u16) -> u16 {
    sum.swap_bytes()
}

/// The value for a UDP checksum field (RFC 768) over IPv4: `udp_segment` is the UDP header and
/// payload with the checksum field zero. A computed 0 is sent as 0xFFFF (0 means "none").
///
/// Verifying: over a segment that holds a correct checksum, this returns 0xFFFF.
pub fn ipv4_udp_checksum(src: [u8; 4], dst: [u8; 4], udp_segment: &[u8]) -> u16 {
    let mut pseudo = [0u8; ipv4::pseudo::LEN];
    pseudo[ipv4::pseudo::SRC_ADDR].copy_from_slice(&src);
    pseudo[ipv4::pseudo::DST_ADDR].copy_from_slice(&dst);
    pseudo[ipv4::pseudo::PROTOCOL] = ipv4::PROTO_UDP;
    pseudo[ipv4::pseudo::UDP_LENGTH].copy_from_slice(&(udp_segment.len() as u16).to_be_bytes());
    udp_result(add(sum_be(&pseudo), sum_be(udp_segment)))
}

/// The value for a UDP checksum field over IPv6 (RFC 8200 §8.1); as [`ipv4_udp_checksum`].
pub fn ipv6_udp_checksum(src: [u8; 16], dst: [u8; 16], udp_segment: &[u8]) -> u16 {
    let mut pseudo = [0u8; ipv6::pseudo::LEN];
    pseudo[ipv6::pseudo::SRC_ADDR].copy_from_slice(&src);
    pseudo[ipv6::pseudo::DST_ADDR].copy_from_slice(&dst);
    pseudo[ipv6::pseudo::UDP_LENGTH].copy_from_slice(&(udp_segment.len() as u32).to_be_bytes());
    pseudo[ipv6::pseudo::NXT_HDR] = ipv6::NEXT_HDR_UDP;
    udp_result(add(sum_be(&pseudo), sum_be(udp_segment)))
}

fn udp_result(sum: u16) -> u16 {
    match !sum {
        0 => 0xFFFF,
        csum => csum,
    }
}

/// The value for the IPv4 header checksum field, over `hdr` with that field zero.
/// Verifying: over a header that holds a correct checksum, this returns 0.
pub fn ipv4_header_checksum(hdr: &[u8]) -> u16 {
    !sum_be(hdr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Word-by-word, the way RFC 1071 describes it, with no shortcuts.
    fn naive_sum(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for i in (0..data.len()).step_by(2) {
            let hi = u32::from(data[i]) << 8;
            let lo = data.get(i + 1).map_or(0, |&b| u32::from(b));
            sum += hi | lo;
            if sum > 0xFFFF {
                sum = (sum & 0xFFFF) + 1;
            }
        }
        sum as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum_be(&data), 0xddf2);
        assert_eq!(!sum_be(&data), 0x220d);
    }

    #[test]
    fn odd_length_pads_the_last_byte_low() {
        assert_eq!(sum_be(&[0x12]), 0x1200);
        assert_eq!(sum_be(&[0x00, 0x01, 0xf2]), 0xf201);
        assert_eq!(sum_be(&[]), 0);
    }

    #[test]
    fn fold_and_add_carry_around() {
        assert_eq!(fold(0x0001_FFFF), 0x0001);
        assert_eq!(fold(0xFFFF_FFFF), 0xFFFF);
        assert_eq!(add(0xFFFF, 0x0001), 0x0001);
        assert_eq!(add(0x8000, 0x8000), 0x0001);
        assert_eq!(swap_for_odd_offset(0x1234), 0x3412);
    }

    #[test]
    fn ipv4_header_checksum_of_a_known_header() {
        // A classic example header (Wikipedia "IPv4 header checksum"): checksum b861.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_header_checksum(&hdr), 0xb861);
        hdr[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(ipv4_header_checksum(&hdr), 0);
    }

    #[test]
    fn udp_checksums_of_known_datagrams() {
        // UDP 1234 -> 80, payload "hi", 198.18.0.1 -> 198.18.0.2; worked by hand:
        // pseudo c612+0001+c612+0002+0011+000a, header 04d2+0050+000a, payload 6869.
        let seg = [0x04, 0xd2, 0x00, 0x50, 0x00, 0x0a, 0x00, 0x00, b'h', b'i'];
        let src = [198, 18, 0, 1];
        let dst = [198, 18, 0, 2];
        let expected = !naive_sum(&[
            0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x00, 0x11, 0x00, 0x0a, 0x04, 0xd2,
            0x00, 0x50, 0x00, 0x0a, 0x68, 0x69,
        ]);
        assert_eq!(expected, 0x0627);
        let csum = ipv4_udp_checksum(src, dst, &seg);
        assert_eq!(csum, 0x0627);
        let mut with_csum = seg;
        with_csum[6..8].copy_from_slice(&csum.to_be_bytes());
        assert_eq!(ipv4_udp_checksum(src, dst, &with_csum), 0xFFFF);

        let src6: [u8; 16] = "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        let dst6: [u8; 16] = "fe80::2".parse::<std::net::Ipv6Addr>().unwrap().octets();
        let mut pseudo6 = Vec::new();
        pseudo6.extend(src6);
        pseudo6.extend(dst6);
        pseudo6.extend(10u32.to_be_bytes());
        pseudo6.extend([0, 0, 0, 17]);
        pseudo6.extend(seg);
        assert_eq!(ipv6_udp_checksum(src6, dst6, &seg), !naive_sum(&pseudo6));
    }

    #[test]
    fn a_zero_udp_checksum_is_sent_as_ffff() {
        // Choose the payload so the complemented sum is 0: the sum must be 0xFFFF.
        let src = [0, 0, 0, 0];
        let dst = [0, 0, 0, 0];
        let mut seg = [0u8; 10];
        seg[4..6].copy_from_slice(&10u16.to_be_bytes());
        let partial = add(
            sum_be(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 10]),
            sum_be(&seg),
        );
        seg[8..10].copy_from_slice(&(0xFFFF - partial).to_be_bytes());
        assert_eq!(
            add(
                sum_be(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 10]),
                sum_be(&seg)
            ),
            0xFFFF
        );
        assert_eq!(ipv4_udp_checksum(src, dst, &seg), 0xFFFF);
    }

    proptest! {
        #[test]
        fn sum_be_matches_the_naive_sum(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            prop_assert_eq!(sum_be(&data), naive_sum(&data));
        }

        #[test]
        fn sums_combine_at_even_and_odd_offsets(
            head in proptest::collection::vec(any::<u8>(), 0..64),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut whole = head.clone();
            whole.extend(&tail);
            let tail_sum = if head.len() % 2 == 0 { sum_be(&tail) } else { swap_for_odd_offset(sum_be(&tail)) };
            prop_assert_eq!(sum_be(&whole), add(sum_be(&head), tail_sum));
        }
    }
}
