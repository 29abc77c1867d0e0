//! Reference model of `rx_verdict`, written from SPEC.md's table "Checks
//! before any byte reaches host memory" and the choices recorded in
//! `docs/rx_verdict.md` (not from the RTL): one plain function from the
//! block's inputs to its outputs, the checks in SPEC's order, the first
//! failing one deciding.

use sim::iwarp::frames::{codes, Opcode, TermCode, QN_READ_REQUEST, QN_SEND};

/// `action` values (docs/rx_verdict.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Action {
    Place = 0,
    Park = 1,
    Drop = 2,
    Terminate = 3,
    Deliver = 4,
}

/// `lk_status` values (docs/stag_table.md).
pub mod lk {
    pub const HIT_OWN: u8 = 0;
    pub const HIT_FOREIGN: u8 = 1;
    pub const MISS_FOREIGN: u8 = 2;
    pub const INVALID: u8 = 3;
    pub const MALFORMED: u8 = 4;
}

/// The parameters that change outputs: the host address width wraps
/// `place_addr`. (PD and length widths only bound the inputs.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Widths {
    pub pd_bits: u32,
    pub len_bits: u32,
    pub dma_addr_bits: u32,
}

impl Default for Widths {
    fn default() -> Self {
        Widths {
            pd_bits: 16,
            len_bits: 32,
            dma_addr_bits: 64,
        }
    }
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

/// One segment's inputs. `hdr` is FPDU bytes 2..19 in wire order (`hdr[0]`
/// holds T, L and the DDP version), as `rx_parse` captures them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Inputs {
    pub length_ok: bool,
    pub crc_ok: bool,
    pub mpa_len: u16,
    pub hdr: [u8; 18],
    /// Payload bytes (17 bits).
    pub count: u32,
    pub conn_known: bool,
    pub conn_error: bool,
    pub conn_pd: u32,
    pub conn_msn_send: u32,
    pub conn_msn_rreq: u32,
    pub conn_rq_valid: bool,
    pub conn_rq_addr: u64,
    pub conn_rq_len: u32,
    pub lk_status: u8,
    pub lk_dma_base: u64,
    pub lk_va_base: u64,
    pub lk_length: u64,
    pub lk_pd: u32,
    pub lk_remote_write: bool,
    pub lk_remote_inv: bool,
}

/// The fields of the header, read as both layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields {
    pub tagged: bool,
    pub last: bool,
    pub ddp_version: u8,
    pub rdmap_version: u8,
    pub opcode: u8,
    /// Bytes 2..5: the tagged STag, or the untagged word reserved for the
    /// ULP (the STag to invalidate).
    pub stag: u32,
    pub to: u64,
    pub qn: u32,
    pub msn: u32,
    pub mo: u32,
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

pub fn fields(hdr: &[u8; 18]) -> Fields {
    Fields {
        tagged: hdr[0] & 0x80 != 0,
        last: hdr[0] & 0x40 != 0,
        ddp_version: hdr[0] & 3,
        rdmap_version: hdr[1] >> 6,
        opcode: hdr[1] & 0xF,
        stag: be32(&hdr[2..]),
        to: u64::from_be_bytes(hdr[6..14].try_into().unwrap()),
        qn: be32(&hdr[6..]),
        msn: be32(&hdr[10..]),
        mo: be32(&hdr[14..]),
    }
}

/// Every output of the block. Fields that do not apply to the action are
/// zero (as the RTL drives them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outputs {
    pub action: Action,
    pub reason: u8,
    /// (layer, etype, ecode), (0, 0, 0) unless TERMINATE.
    pub term: TermCode,
    pub term_with_hdr: bool,
    pub term_with_rreq: bool,
    pub term_seg_len: u16,
    /// The header in `term_tx`'s order: `term_hdr[i]` is header byte i.
    pub term_hdr: [u8; 18],
    pub place_addr: u64,
    pub place_len: u32,
    pub invalidate_after: bool,
    pub msn_advance_send: bool,
    pub msn_advance_rreq: bool,
    pub set_conn_error: bool,
    pub opcode: u8,
    pub tagged: bool,
    pub last: bool,
    pub stag: u32,
    pub to: u64,
    pub qn: u32,
    pub msn: u32,
    pub mo: u32,
}

/// What the checks decided, before the outputs are filled in.
enum Decision {
    Drop,
    Park(u8),
    /// (check number, code, whether the offending header goes along)
    Terminate(u8, TermCode, bool),
    PlaceTagged,
    PlaceTaggedEmpty,
    PlaceSend,
    DeliverReadRequest,
    DeliverTerminate,
}

fn decide(w: &Widths, i: &Inputs, f: &Fields) -> Decision {
    use Decision::*;
    // 1: connection known here and not in Error.
    if !i.conn_known || i.conn_error {
        return Drop;
    }
    // 2: MPA framing. CRC first when both fail (docs/rx_pipeline.md); a
    // ULPDU shorter than the header its T bit announces is a length error.
    if !i.crc_ok {
        return Terminate(2, codes::LLP_CRC, false);
    }
    let hdr_len = if f.tagged { 14 } else { 18 };
    if !i.length_ok || (i.mpa_len as usize) < hdr_len {
        return Terminate(2, codes::LLP_LENGTH, false);
    }
    // 3: DDP version.
    if f.ddp_version != 1 {
        let code = if f.tagged {
            codes::DDP_T_VERSION
        } else {
            codes::DDP_UT_VERSION
        };
        return Terminate(3, code, false);
    }
    // 4: RDMAP version, opcode legal for T (and a Read Request well formed).
    if f.rdmap_version != 1 {
        return Terminate(4, codes::RDMAP_VERSION, false);
    }
    let op = match Opcode::from_u8(f.opcode) {
        Some(op) if op.is_tagged() == f.tagged => op,
        _ => return Terminate(4, codes::RDMAP_OPCODE, false),
    };
    if op == Opcode::ReadRequest && (!f.last || i.count != 28) {
        return Terminate(4, codes::RDMAP_OPCODE, false);
    }
    let hit = i.lk_status == lk::HIT_OWN || i.lk_status == lk::HIT_FOREIGN;
    let miss_foreign = i.lk_status == lk::MISS_FOREIGN;
    if f.tagged {
        // Write and Read Response. No payload: nothing to check (siw).
        if i.count == 0 {
            return PlaceTaggedEmpty;
        }
        // 5: STag present, or foreign and unresolved: park.
        if miss_foreign {
            return Park(5);
        }
        if !hit {
            return Terminate(5, codes::DDP_T_INVALID_STAG, true);
        }
        // 6: PD.
        if i.lk_pd != i.conn_pd {
            return Terminate(6, codes::DDP_T_STAG_NOT_ASSOC, true);
        }
        // 7: remote write right.
        if !i.lk_remote_write {
            return Terminate(7, codes::DDP_T_INVALID_STAG, true);
        }
        // 8: TO + length does not wrap: the last byte is at most 2^64 - 1.
        let end = f.to as u128 + i.count as u128;
        if end > 1u128 << 64 {
            return Terminate(8, codes::DDP_T_TO_WRAP, true);
        }
        // 9: inside the region.
        let region_end = i.lk_va_base as u128 + (i.lk_length & mask(w.len_bits)) as u128;
        if f.to < i.lk_va_base || end > region_end {
            return Terminate(9, codes::DDP_T_BASE_BOUNDS, true);
        }
        return PlaceTagged;
    }
    // A Terminate from the peer: handed to the host, no answer (siw).
    if op == Opcode::Terminate {
        return DeliverTerminate;
    }
    // 10: untagged: queue, MSN, buffer, MO, length.
    let is_send = matches!(
        op,
        Opcode::Send | Opcode::SendInv | Opcode::SendSe | Opcode::SendSeInv
    );
    let (qn, msn) = if is_send {
        (QN_SEND, i.conn_msn_send)
    } else {
        (QN_READ_REQUEST, i.conn_msn_rreq)
    };
    if f.qn != qn {
        return Terminate(10, codes::DDP_UT_INVALID_QN, true);
    }
    if f.msn != msn {
        return Terminate(10, codes::DDP_UT_MSN_RANGE, true);
    }
    if !is_send {
        // Read Request: MO must be 0.
        if f.mo != 0 {
            return Terminate(10, codes::DDP_UT_INVALID_MO, true);
        }
        return DeliverReadRequest;
    }
    if !i.conn_rq_valid {
        return Terminate(10, codes::DDP_UT_MSN_NOBUF, true);
    }
    if f.mo > i.conn_rq_len {
        return Terminate(10, codes::DDP_UT_INVALID_MO, true);
    }
    if f.mo as u64 + i.count as u64 > i.conn_rq_len as u64 {
        return Terminate(10, codes::DDP_UT_TOO_LONG, true);
    }
    // 11: Send with Invalidate.
    if op.invalidates() {
        if miss_foreign {
            return Park(11);
        }
        if !hit {
            return Terminate(11, codes::RDMAP_CANNOT_INVALIDATE_OP, true);
        }
        if i.lk_pd != i.conn_pd || !i.lk_remote_inv {
            return Terminate(11, codes::RDMAP_CANNOT_INVALIDATE_PROT, true);
        }
    }
    PlaceSend
}

/// The block's outputs for `i`.
pub fn verdict(w: &Widths, i: &Inputs) -> Outputs {
    let f = fields(&i.hdr);
    let amask = mask(w.dma_addr_bits);
    let mut o = Outputs {
        action: Action::Place,
        reason: 0,
        term: (0, 0, 0),
        term_with_hdr: false,
        term_with_rreq: false,
        term_seg_len: 0,
        term_hdr: i.hdr,
        place_addr: 0,
        place_len: 0,
        invalidate_after: false,
        msn_advance_send: false,
        msn_advance_rreq: false,
        set_conn_error: false,
        opcode: f.opcode,
        tagged: f.tagged,
        last: f.last,
        stag: f.stag,
        to: f.to,
        qn: f.qn,
        msn: f.msn,
        mo: f.mo,
    };
    match decide(w, i, &f) {
        Decision::Drop => {
            o.action = Action::Drop;
            o.reason = 1;
        }
        Decision::Park(check) => {
            o.action = Action::Park;
            o.reason = check;
        }
        Decision::Terminate(check, code, with_hdr) => {
            o.action = Action::Terminate;
            o.reason = check;
            o.term = code;
            o.term_with_hdr = with_hdr;
            let rreq = f.opcode == Opcode::ReadRequest as u8;
            o.term_with_rreq = with_hdr && rreq;
            // siw sends the payload length; 0 for a Read Request.
            o.term_seg_len = if with_hdr && !rreq { i.count as u16 } else { 0 };
            o.set_conn_error = true;
        }
        Decision::PlaceTagged => {
            o.place_addr = i.lk_dma_base.wrapping_add(f.to.wrapping_sub(i.lk_va_base)) & amask;
            o.place_len = i.count;
        }
        Decision::PlaceTaggedEmpty => {}
        Decision::PlaceSend => {
            o.place_addr = i.conn_rq_addr.wrapping_add(f.mo as u64) & amask;
            o.place_len = i.count;
            o.msn_advance_send = f.last;
            o.invalidate_after = f.last
                && (f.opcode == Opcode::SendInv as u8 || f.opcode == Opcode::SendSeInv as u8);
        }
        Decision::DeliverReadRequest => {
            o.action = Action::Deliver;
            o.msn_advance_rreq = true;
        }
        Decision::DeliverTerminate => {
            o.action = Action::Deliver;
            o.set_conn_error = true;
        }
    }
    o
}

/// The inputs of a real segment as `rx_parse` would describe it after a
/// clean FPDU: header bytes from the ULPDU (payload bytes after a 14-byte
/// header fill the rest of the 18), MPA length, payload count; connection
/// known and healthy, nothing else set.
pub fn from_segment(seg: &sim::iwarp::frames::Segment) -> Inputs {
    let u = seg.ulpdu();
    let mut hdr = [0u8; 18];
    let n = u.len().min(18);
    hdr[..n].copy_from_slice(&u[..n]);
    let hl = seg.header().wire_len();
    Inputs {
        length_ok: true,
        crc_ok: true,
        mpa_len: u.len() as u16,
        hdr,
        count: (u.len() - hl) as u32,
        conn_known: true,
        ..Inputs::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::iwarp::frames::{ReadRequest, Segment, Terminate};

    const W: Widths = Widths {
        pd_bits: 16,
        len_bits: 32,
        dma_addr_bits: 64,
    };
    const STAG: u32 = 0x1000_0100;

    /// A Write of 64 bytes at TO 0x1010 into a healthy own region
    /// [0x1000, 0x2000) at DMA 0x8000_0000, PD 5.
    fn good_write() -> Inputs {
        let mut i = from_segment(&Segment::write(STAG, 0x1010, vec![0; 64]));
        i.conn_pd = 5;
        i.lk_status = lk::HIT_OWN;
        i.lk_dma_base = 0x8000_0000;
        i.lk_va_base = 0x1000;
        i.lk_length = 0x1000;
        i.lk_pd = 5;
        i.lk_remote_write = true;
        i
    }

    fn good_send(op: Opcode, inv: u32) -> Inputs {
        let mut i = from_segment(&Segment::send(op, inv, 7, vec![0; 100]));
        i.conn_pd = 5;
        i.conn_msn_send = 7;
        i.conn_rq_valid = true;
        i.conn_rq_addr = 0x4000;
        i.conn_rq_len = 256;
        i.lk_status = lk::HIT_FOREIGN;
        i.lk_pd = 5;
        i.lk_remote_inv = true;
        i
    }

    fn good_rreq() -> Inputs {
        let rr = ReadRequest {
            sink_stag: 1,
            sink_to: 2,
            size: 3,
            src_stag: 4,
            src_to: 5,
        };
        let mut i = from_segment(&Segment::read_request(9, rr));
        i.conn_msn_rreq = 9;
        i
    }

    fn term(i: &Inputs) -> (Action, u8, TermCode, bool) {
        let o = verdict(&W, i);
        (o.action, o.reason, o.term, o.term_with_hdr)
    }

    #[test]
    fn passing_segments() {
        let o = verdict(&W, &good_write());
        assert_eq!(
            (o.action, o.reason, o.place_addr, o.place_len),
            (Action::Place, 0, 0x8000_0010, 64)
        );
        let mut rr = good_write();
        rr.hdr[1] = 0x42; // Read Response
        assert_eq!(verdict(&W, &rr).action, Action::Place);
        let o = verdict(&W, &good_send(Opcode::SendSeInv, 0x77));
        assert_eq!(
            (o.action, o.place_addr, o.place_len),
            (Action::Place, 0x4000, 100)
        );
        assert!(o.invalidate_after && o.msn_advance_send && !o.set_conn_error);
        let o = verdict(&W, &good_send(Opcode::Send, 0));
        assert!(!o.invalidate_after && o.msn_advance_send);
        let o = verdict(&W, &good_rreq());
        assert_eq!((o.action, o.msn_advance_rreq), (Action::Deliver, true));
    }

    #[test]
    fn check_1_connection() {
        let mut i = good_write();
        i.conn_error = true;
        assert_eq!(term(&i), (Action::Drop, 1, (0, 0, 0), false));
        i.conn_error = false;
        i.conn_known = false;
        i.crc_ok = false;
        assert_eq!(term(&i).0, Action::Drop);
    }

    #[test]
    fn check_2_mpa() {
        let mut i = good_write();
        i.length_ok = false;
        assert_eq!(term(&i), (Action::Terminate, 2, codes::LLP_LENGTH, false));
        i.crc_ok = false;
        assert_eq!(term(&i), (Action::Terminate, 2, codes::LLP_CRC, false));
        let mut i = good_send(Opcode::Send, 0);
        i.mpa_len = 17;
        assert_eq!(term(&i).2, codes::LLP_LENGTH);
    }

    #[test]
    fn check_3_ddp_version() {
        let mut i = good_write();
        i.hdr[0] = i.hdr[0] & !3 | 2;
        assert_eq!(
            term(&i),
            (Action::Terminate, 3, codes::DDP_T_VERSION, false)
        );
        let mut i = good_send(Opcode::Send, 0);
        i.hdr[0] &= !3;
        assert_eq!(term(&i).2, codes::DDP_UT_VERSION);
    }

    #[test]
    fn check_4_rdmap() {
        let mut i = good_write();
        i.hdr[1] = 0x80;
        assert_eq!(
            term(&i),
            (Action::Terminate, 4, codes::RDMAP_VERSION, false)
        );
        for op in [1u8, 3, 4, 5, 6, 7, 8, 15] {
            let mut i = good_write();
            i.hdr[1] = 0x40 | op;
            assert_eq!(term(&i).2, codes::RDMAP_OPCODE, "tagged opcode {op}");
        }
        for op in [0u8, 2, 8, 12] {
            let mut i = good_send(Opcode::Send, 0);
            i.hdr[1] = 0x40 | op;
            assert_eq!(term(&i).2, codes::RDMAP_OPCODE, "untagged opcode {op}");
        }
        let mut i = good_rreq();
        i.count = 27;
        assert_eq!(term(&i).2, codes::RDMAP_OPCODE);
    }

    #[test]
    fn check_5_to_9_tagged() {
        let mut i = good_write();
        i.lk_status = lk::MISS_FOREIGN;
        assert_eq!(term(&i), (Action::Park, 5, (0, 0, 0), false));
        for st in [lk::INVALID, lk::MALFORMED, 5, 7] {
            i.lk_status = st;
            assert_eq!(
                term(&i),
                (Action::Terminate, 5, codes::DDP_T_INVALID_STAG, true)
            );
        }
        let mut i = good_write();
        i.lk_pd = 6;
        assert_eq!(
            term(&i),
            (Action::Terminate, 6, codes::DDP_T_STAG_NOT_ASSOC, true)
        );
        let mut i = good_write();
        i.lk_remote_write = false;
        assert_eq!(
            term(&i),
            (Action::Terminate, 7, codes::DDP_T_INVALID_STAG, true)
        );
        let mut i = good_write();
        i.hdr[6..14].copy_from_slice(&(u64::MAX - 62).to_be_bytes());
        i.lk_va_base = u64::MAX - 100;
        i.lk_length = 1000;
        assert_eq!(term(&i), (Action::Terminate, 8, codes::DDP_T_TO_WRAP, true));
        i.hdr[6..14].copy_from_slice(&(u64::MAX - 63).to_be_bytes());
        assert_eq!(
            term(&i).0,
            Action::Place,
            "last byte at 2^64 - 1 does not wrap"
        );
        let mut i = good_write();
        i.hdr[6..14].copy_from_slice(&(0x2000u64 - 63).to_be_bytes());
        assert_eq!(
            term(&i),
            (Action::Terminate, 9, codes::DDP_T_BASE_BOUNDS, true)
        );
        i.hdr[6..14].copy_from_slice(&(0x2000u64 - 64).to_be_bytes());
        assert_eq!(term(&i).0, Action::Place);
        i.hdr[6..14].copy_from_slice(&0xFFFu64.to_be_bytes());
        assert_eq!(term(&i).1, 9);
        // No payload: no STag checks at all.
        let mut i = from_segment(&Segment::write(STAG, 5, vec![]));
        i.lk_status = lk::INVALID;
        assert_eq!(term(&i), (Action::Place, 0, (0, 0, 0), false));
    }

    #[test]
    fn check_10_untagged() {
        let mut i = good_send(Opcode::Send, 0);
        i.hdr[9] = 1;
        assert_eq!(
            term(&i),
            (Action::Terminate, 10, codes::DDP_UT_INVALID_QN, true)
        );
        let mut i = good_send(Opcode::Send, 0);
        i.conn_msn_send = 8;
        assert_eq!(term(&i).2, codes::DDP_UT_MSN_RANGE);
        let mut i = good_send(Opcode::Send, 0);
        i.conn_rq_valid = false;
        assert_eq!(term(&i).2, codes::DDP_UT_MSN_NOBUF);
        let mut i = good_send(Opcode::Send, 0);
        i.hdr[14..18].copy_from_slice(&257u32.to_be_bytes());
        assert_eq!(term(&i).2, codes::DDP_UT_INVALID_MO);
        let mut i = good_send(Opcode::Send, 0);
        i.hdr[14..18].copy_from_slice(&157u32.to_be_bytes());
        assert_eq!(term(&i).2, codes::DDP_UT_TOO_LONG);
        i.hdr[14..18].copy_from_slice(&156u32.to_be_bytes());
        assert_eq!(term(&i).0, Action::Place);
        let mut i = good_rreq();
        i.conn_msn_rreq = 10;
        let o = verdict(&W, &i);
        assert_eq!(
            (o.term, o.term_with_rreq, o.term_seg_len),
            (codes::DDP_UT_MSN_RANGE, true, 0)
        );
        let mut i = good_rreq();
        i.hdr[9] = 0;
        assert_eq!(term(&i).2, codes::DDP_UT_INVALID_QN);
        // A Terminate from the peer is delivered, whatever its MSN.
        let mut i = from_segment(&Segment::terminate(1234, Terminate::new(codes::LLP_CRC)));
        i.conn_rq_valid = false;
        let o = verdict(&W, &i);
        assert_eq!((o.action, o.set_conn_error), (Action::Deliver, true));
    }

    #[test]
    fn check_11_send_with_invalidate() {
        let mut i = good_send(Opcode::SendInv, 0x55);
        i.lk_status = lk::MISS_FOREIGN;
        assert_eq!(term(&i), (Action::Park, 11, (0, 0, 0), false));
        i.lk_status = lk::INVALID;
        assert_eq!(
            term(&i),
            (
                Action::Terminate,
                11,
                codes::RDMAP_CANNOT_INVALIDATE_OP,
                true
            )
        );
        let mut i = good_send(Opcode::SendInv, 0x55);
        i.lk_pd = 1;
        assert_eq!(term(&i).2, codes::RDMAP_CANNOT_INVALIDATE_PROT);
        let mut i = good_send(Opcode::SendInv, 0x55);
        i.lk_remote_inv = false;
        assert_eq!(term(&i).2, codes::RDMAP_CANNOT_INVALIDATE_PROT);
        // A plain Send ignores the lookup.
        let mut i = good_send(Opcode::Send, 0);
        i.lk_status = lk::INVALID;
        assert_eq!(term(&i).0, Action::Place);
    }
}
