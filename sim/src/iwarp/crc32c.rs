//! CRC32c (Castagnoli), as MPA (RFC 5044) uses it for the FPDU trailer.
//!
//! Parameters (the "CRC-32/ISCSI" model): polynomial 0x1EDC6F41 (reflected 0x82F63B78),
//! input and output reflected, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF.
//! Check value of `b"123456789"` is 0xE3069283.
//!
//! On-wire placement: the 32-bit CRC value goes on the wire **least significant byte
//! first**, i.e. `crc.to_le_bytes()`. Linux siw computes the trailer with the kernel's
//! "crc32c" shash, whose `final` does `put_unaligned_le32(~ctx->crc, out)`, and sends those
//! four bytes as they are; RFC 3720 B.4 lists the same byte order (32 zero bytes give the
//! CRC bytes `aa 36 91 8a`, value 0x8A9136AA). Wireshark's MPA dissector (4.0) reads the
//! field with `tvb_get_ntohl` and compares it with `~crc32c_tvb_offset_calculate(..)`,
//! whose result is byte-swapped, which is the same placement; `sim/tests/iwarp.rs` checks
//! that tshark reports "Good CRC32" for frames built with [`mpa_crc_bytes`].

/// Reflected Castagnoli polynomial.
pub const POLY_REFLECTED: u32 = 0x82F6_3B78;

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ POLY_REFLECTED
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static TABLE: [u32; 256] = make_table();

/// Incremental CRC32c. `update` as often as needed, then `finish`.
#[derive(Clone, Copy, Debug)]
pub struct Crc32c {
    reg: u32,
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32c {
    /// Register preloaded with 0xFFFFFFFF.
    pub const fn new() -> Self {
        Self { reg: 0xFFFF_FFFF }
    }

    /// Feed bytes (table driven, one byte per step, LSB-first as the reflected model says).
    pub fn update(&mut self, data: &[u8]) {
        let mut reg = self.reg;
        for &b in data {
            reg = TABLE[((reg ^ b as u32) & 0xFF) as usize] ^ (reg >> 8);
        }
        self.reg = reg;
    }

    /// The CRC value (register XOR 0xFFFFFFFF).
    pub fn finish(&self) -> u32 {
        !self.reg
    }
}

/// CRC32c of `data` in one go.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(data);
    c.finish()
}

/// The four trailer bytes MPA puts after an FPDU whose CRC-covered bytes are `covered`
/// (ULPDU length field, ULPDU, pad): the CRC value, least significant byte first.
pub fn mpa_crc_bytes(covered: &[u8]) -> [u8; 4] {
    crc32c(covered).to_le_bytes()
}

/// Read an MPA CRC trailer back into the CRC value (inverse of [`mpa_crc_bytes`]).
pub fn mpa_crc_from_wire(trailer: [u8; 4]) -> u32 {
    u32::from_le_bytes(trailer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn rfc3720_b4() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let up: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&up), 0x46DD_794E);
        let down: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&down), 0x113F_DB5C);
        // RFC 3720 B.4 prints the zero-bytes CRC as the byte sequence aa 36 91 8a.
        assert_eq!(mpa_crc_bytes(&[0u8; 32]), [0xaa, 0x36, 0x91, 0x8a]);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut c = Crc32c::new();
        for chunk in data.chunks(13) {
            c.update(chunk);
        }
        assert_eq!(c.finish(), crc32c(&data));
    }
}
