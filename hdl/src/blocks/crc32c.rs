//! CRC32c (Castagnoli, reflected polynomial 0x82F63B78) as XOR networks,
//! for the MPA FPDU check (RFC 5044 section 4.4).
//!
//! The generator works out, for an update over `n` bytes, which bits of the
//! old CRC and of the data each new CRC bit is the XOR of, by running the
//! bit-serial algorithm on symbolic bit sets. The emitted logic is then one
//! masked reduction-XOR per output bit: `^(crc & MASK) ^ ^(data & MASK)`.
//! Bytes are taken least significant byte first, as they sit on an
//! AXI4-Stream bus.

use crate::ir::Expr;

/// The reflected CRC32c polynomial.
pub const POLY: u32 = 0x82F6_3B78;

/// For each of the 32 new CRC bits: (mask over the old CRC, mask over the
/// data bytes as a little-endian bit vector of `8 * n` bits).
pub fn update_masks(n_bytes: u32) -> Vec<(u32, Vec<u64>)> {
    let data_bits = (8 * n_bytes) as usize;
    let words = data_bits.div_ceil(64).max(1);
    // Each state bit is a pair (crc dependency, data dependency).
    let mut state: Vec<(u32, Vec<u64>)> = (0..32).map(|i| (1u32 << i, vec![0u64; words])).collect();
    for byte in 0..n_bytes {
        for bit in 0..8 {
            let d = (byte * 8 + bit) as usize;
            // feedback = state[0] ^ data bit
            let (fc, mut fd) = state[0].clone();
            fd[d / 64] ^= 1 << (d % 64);
            // shift right by one, XOR the polynomial where it has ones
            let mut next: Vec<(u32, Vec<u64>)> = Vec::with_capacity(32);
            for i in 0..32 {
                let (mut c, mut dd) = if i < 31 {
                    state[i + 1].clone()
                } else {
                    (0, vec![0u64; words])
                };
                if POLY >> i & 1 == 1 {
                    c ^= fc;
                    for (w, f) in dd.iter_mut().zip(&fd) {
                        *w ^= f;
                    }
                }
                next.push((c, dd));
            }
            state = next;
        }
    }
    state
}

/// The CRC state after `n_bytes` bytes of `data` (its low `8 * n_bytes`
/// bits, least significant byte first), from state `crc` (32 bits).
/// Both operands must be plain signals (slices of `data` are taken).
pub fn update(crc: &Expr, data: &Expr, n_bytes: u32) -> Expr {
    let masks = update_masks(n_bytes);
    let dbits = 8 * n_bytes;
    let whole = data;
    let data = if dbits == data.width() {
        data.clone()
    } else {
        data.slice(dbits - 1, 0)
    };
    let bits: Vec<Expr> = masks
        .iter()
        .rev()
        .map(|(cm, dm)| {
            let mut mask: u128 = 0;
            for (i, w) in dm.iter().enumerate().take(2) {
                mask |= (*w as u128) << (64 * i);
            }
            let mut terms = Vec::new();
            if *cm != 0 {
                terms.push((crc.clone() & Expr::lit(*cm as u128, 32)).red_xor());
            }
            if dbits > 128 {
                // Wider than one constant: XOR per 128-bit chunk.
                for chunk in 0..dbits.div_ceil(128) {
                    let lo = chunk * 128;
                    let hi = (lo + 128).min(dbits) - 1;
                    let mut m: u128 = 0;
                    for i in 0..2usize {
                        if let Some(w) = dm.get((lo / 64) as usize + i) {
                            m |= (*w as u128) << (64 * i);
                        }
                    }
                    let width = hi - lo + 1;
                    if width < 128 {
                        m &= (1u128 << width) - 1;
                    }
                    if m != 0 {
                        terms.push((whole.slice(hi, lo) & Expr::lit(m, width)).red_xor());
                    }
                }
            } else if mask != 0 {
                terms.push((data.clone() & Expr::lit(mask, dbits)).red_xor());
            }
            terms
                .into_iter()
                .reduce(|a, b| a ^ b)
                .unwrap_or_else(|| Expr::zero(1))
        })
        .collect();
    Expr::concat(bits)
}

/// Software CRC32c update (no final XOR), the reference for the masks.
pub fn software_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apply the masks to concrete values.
    fn apply(masks: &[(u32, Vec<u64>)], crc: u32, data: &[u8]) -> u32 {
        let mut out = 0u32;
        for (i, (cm, dm)) in masks.iter().enumerate() {
            let mut bit = (crc & cm).count_ones() & 1;
            for (w, m) in dm.iter().enumerate() {
                let mut word = 0u64;
                for (k, b) in data.iter().enumerate().skip(w * 8).take(8) {
                    word |= (*b as u64) << (8 * (k - w * 8));
                }
                bit ^= (word & m).count_ones() & 1;
            }
            out |= bit << i;
        }
        out
    }

    #[test]
    fn known_answers() {
        // RFC 3720 appendix B.4: 32 bytes of zeros, with init and final xor.
        assert_eq!(!software_update(!0, &[0u8; 32]), 0x8A91_36AA);
        assert_eq!(!software_update(!0, &[0xFFu8; 32]), 0x62A8_AB43);
        let asc: Vec<u8> = (0..32).collect();
        assert_eq!(!software_update(!0, &asc), 0x46DD_794E);
        assert_eq!(!software_update(!0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn masks_match_the_serial_algorithm() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for n in [1u32, 4, 8, 12, 16, 32] {
            let masks = update_masks(n);
            for _ in 0..50 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let data: Vec<u8> = (0..n).map(|i| (x >> (i % 8 * 8)) as u8 ^ i as u8).collect();
                let crc = (x >> 32) as u32;
                assert_eq!(
                    apply(&masks, crc, &data),
                    software_update(crc, &data),
                    "n={n}"
                );
            }
        }
    }
}
