//! IPv6 addresses as two native 8-octet words: loaded, compared and summed in a few
//! instructions (as octets, each address costs 16 loads, 16 stores and 8 checksum words).

use crate::{csum, packet::get};

/// The address's octets in memory order, as two `u64` loads give them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Addr6(pub [u64; 2]);

impl Addr6 {
    pub const fn from_octets(a: [u8; 16]) -> Addr6 {
        Addr6([
            u64::from_ne_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]),
            u64::from_ne_bytes([a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]]),
        ])
    }

    /// # Safety
    /// `p` must own 16 readable octets (in the frame: a `ptr_at` of a range that holds them).
    #[inline(always)]
    pub unsafe fn load(p: *const u8) -> Addr6 {
        // SAFETY: the caller's contract.
        unsafe { Addr6([get::u64(p, 0), get::u64(p, 8)]) }
    }

    #[inline(always)]
    pub fn octets(self) -> [u8; 16] {
        let (a, b) = (self.0[0].to_ne_bytes(), self.0[1].to_ne_bytes());
        [
            a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1], b[2], b[3], b[4], b[5],
            b[6], b[7],
        ]
    }

    /// The sum of its eight big-endian 16-bit words, folded: the native 32-bit halves summed,
    /// folded, and swapped into network order.
    #[inline(always)]
    pub fn csum(self) -> u16 {
        const LOW: u64 = u32::MAX as u64;
        let [a, b] = self.0;
        csum::fold((a & LOW) + (a >> 32) + (b & LOW) + (b >> 32)).swap_bytes()
    }
}
