//! Internet checksum arithmetic (RFC 1071). Every partial sum here is the sum of
//! big-endian 16-bit words, as read from an even offset; `at_offset` moves a sum to where its
//! data really lies. Userspace precomputes the sums of the option blocks the same way.

use aya_ebpf::helpers::bpf_csum_diff;

use crate::scratch::{ReqBuf, REQ_MAX};

#[inline(always)]
pub fn fold(mut sum: u64) -> u16 {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// The contribution of data whose even-offset sum is `sum`, placed at `offset`.
#[inline(always)]
pub fn at_offset(sum: u16, offset: usize) -> u64 {
    if offset & 1 == 0 {
        sum as u64
    } else {
        sum.swap_bytes() as u64
    }
}

#[inline(always)]
pub fn word(hi: u8, lo: u8) -> u64 {
    ((hi as u64) << 8) | lo as u64
}

#[inline(always)]
pub fn words4(a: &[u8; 4]) -> u64 {
    word(a[0], a[1]) + word(a[2], a[3])
}

/// The final checksum field: complement of the folded sum; 0 is sent as 0xffff
/// (RFC 768: 0 means "no checksum" over IPv4; RFC 8200 forbids it over IPv6).
#[inline(always)]
pub fn finish_udp(sum: u64) -> [u8; 2] {
    let c = !fold(sum);
    if c == 0 { 0xffff_u16 } else { c }.to_be_bytes()
}

/// Even-offset sum of the first `len` bytes of the request copy, which must be followed by
/// zeros up to the next multiple of 4 (bpf_csum_diff works on 32-bit words).
#[inline(always)]
pub fn sum_request(req: &ReqBuf, len: usize) -> Option<u16> {
    const CHUNK: usize = 512; // bpf_csum_diff's limit per call
    let padded = (len + 3) & !3;
    let mut acc: u64 = 0;
    let mut off = 0;
    while off < REQ_MAX {
        if off >= padded {
            break;
        }
        let n = padded - off;
        let n = if n > CHUNK { CHUNK } else { n };
        // SAFETY: off < REQ_MAX and n <= CHUNK <= REQ_SLACK keep the read inside `req`.
        let part = unsafe {
            bpf_csum_diff(
                core::ptr::null_mut(),
                0,
                req.as_ptr().add(off) as *mut u32,
                (n & (CHUNK * 2 - 1)) as u32,
                0,
            )
        };
        if part < 0 {
            return None;
        }
        // bpf_csum_diff sums native (little-endian) words: fold, then swap into our order.
        acc += fold(part as u64).swap_bytes() as u64;
        off += CHUNK;
    }
    Some(fold(acc))
}
