//! SPEC's table "Checks before any byte reaches host memory" as bad input:
//! one FPDU per way a segment can fail each check, with the Terminate the
//! table says it gets (layer / error type / code, and whether the
//! offending headers are echoed), and the Terminate's decoding.
//!
//! One description of the rows for every bench that sends them:
//! `tests/nic_rx.rs` (`spec_table_rows`: one `nic_rx` against its model)
//! and `tests/system.rs` (scenario 8: both NICs of `system`, before and
//! after a connection moves). A bench describes the receiving NIC's regions
//! and limits in a [`Targets`]; [`rows`] builds the failing segments of
//! checks 2 to 11 for them, [`drop_rows`] those of check 1.
//!
//! Every row is meant for a connection in a known state: not in Error, the
//! three next MSNs 1 (a fresh CREATE or a RECREATE with MSNs 1), with one
//! receive buffer of [`Targets::buf_len`] bytes posted when
//! [`Row::buffer`] says so, and a protection domain equal to the regions'
//! (except [`Targets::other_pd`]'s). Each row fails exactly one check.

use sim::iwarp::frames::{
    codes, fpdu, mpa_frame, parse_fpdu, Body, Control, DdpHeader, Opcode, ReadRequest, Segment,
    TermCode, Terminate,
};

use crate::models::nic_rx::{describe, terminate_fpdu};

/// A region as the rows use it: its STag, the tagged offset it starts at,
/// its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub stag: u32,
    pub va: u64,
    pub len: u64,
}

/// What the rows name at the receiving NIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets {
    /// Every right, the peer may invalidate, the connection's PD; at least
    /// 8 bytes long and `va` at least 1 (a Write just below it).
    pub main: Target,
    /// Every right, the peer may invalidate, another PD; at least 8 bytes.
    pub other_pd: Target,
    /// No remote write, the peer may not invalidate, the connection's PD;
    /// at least 8 bytes.
    pub no_write: Target,
    /// The connection's PD, every right, its VA range reaching the 64-bit
    /// end (only its STag is used: a Write whose TO + length wraps).
    pub top: Target,
    /// The NIC's `--max-payload`.
    pub max_payload: u32,
    /// Length of the one receive buffer posted on the connection; below
    /// `max_payload` (else "too long" would fail check 2 first).
    pub buf_len: u32,
}

/// One row: a segment failing check [`Row::check`] and nothing before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: &'static str,
    /// The packet on `s_axis_rx` (one FPDU, possibly broken).
    pub fpdu: Vec<u8>,
    /// Post the receive buffer before it (false: the "no buffer" row).
    pub buffer: bool,
    /// The check of SPEC's table that fails (2 to 11).
    pub check: u8,
    /// The Terminate's (layer, error type, error code).
    pub term: TermCode,
    /// The Terminate carries the offending DDP header (D, and M): checks 5
    /// to 11. A Read Request's also carries its 28 bytes (R).
    pub with_hdr: bool,
}

impl Row {
    /// The DDP/RDMAP header fields of the row's segment as a receiver
    /// reads them (raw; a broken FPDU reads as far as it goes).
    fn hdr(&self, max_payload: u32) -> [u8; 18] {
        describe(&self.fpdu, max_payload).hdr
    }

    /// The STag that check 5 (tagged) or check 11 (Send with Invalidate)
    /// looks up, for a row that fails one of checks 5 to 11 (it passed 2 to
    /// 4, so its header is sound). A NIC where that STag is another NIC's
    /// and not installed parks the segment and asks the host first.
    pub fn looked_up_stag(&self, max_payload: u32) -> Option<u32> {
        if self.check < 5 {
            return None;
        }
        let h = self.hdr(max_payload);
        let tagged = h[0] & 0x80 != 0;
        let op = h[1] & 0xf;
        let inv = op == Opcode::SendInv as u8 || op == Opcode::SendSeInv as u8;
        (tagged || inv).then(|| u32::from_be_bytes([h[2], h[3], h[4], h[5]]))
    }

    /// The exact Terminate FPDU the row must get on a connection whose
    /// next Terminate MSN (queue 2) is `msn`: [`Row::term`], with D (= M)
    /// the DDP segment length (the payload's; 0 for a Read Request, as
    /// Linux siw) and the offending header as it arrived, and with R the
    /// Read Request's 28 bytes (docs/term_tx.md).
    pub fn expected_terminate(&self, msn: u32, max_payload: u32) -> Vec<u8> {
        let d = describe(&self.fpdu, max_payload);
        let rreq = d.hdr[1] & 0xf == Opcode::ReadRequest as u8;
        let seg_len = if rreq { 0 } else { d.count as u16 };
        terminate_fpdu(
            msn,
            self.term,
            self.with_hdr.then_some((seg_len, &d.hdr)),
            (self.with_hdr && rreq).then(|| &d.payload[..]),
        )
    }
}

/// A check-1 row: the segment is dropped and counted, no Terminate (there
/// is no connection to send it on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropRow {
    pub name: &'static str,
    pub conn: DropConn,
    pub fpdu: Vec<u8>,
}

/// The connection a [`DropRow`] arrives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropConn {
    /// This connection id (the bench never created it at this NIC).
    Unknown(u16),
    /// The bench's connection, after [`into_error`] put it in Error.
    InError,
}

/// The FPDU of `s` with its control field changed by `f`.
pub fn with_ctrl(mut s: Segment, f: impl FnOnce(&mut Control)) -> Vec<u8> {
    f(&mut s.ctrl);
    fpdu(&s)
}

/// A Read Request body (28 bytes).
pub fn read_request() -> ReadRequest {
    ReadRequest {
        sink_stag: 0x55,
        sink_to: 0x100,
        size: 4096,
        src_stag: 0x1234_5600,
        src_to: 0x77,
    }
}

/// An FPDU whose length field is `delta` off (CRC recomputed over it).
pub fn bad_length(seg: &Segment, delta: i32) -> Vec<u8> {
    let mut b = fpdu(seg);
    let n = b.len();
    let len = (u16::from_be_bytes([b[0], b[1]]) as i32 + delta) as u16;
    b[..2].copy_from_slice(&len.to_be_bytes());
    let crc = sim::iwarp::crc32c::mpa_crc_bytes(&b[..n - 4]);
    b[n - 4..].copy_from_slice(&crc);
    b
}

/// An FPDU with one bit of its CRC flipped.
pub fn bad_crc(seg: &Segment) -> Vec<u8> {
    let mut b = fpdu(seg);
    let n = b.len();
    b[n - 2] ^= 0x10;
    b
}

/// `n` bytes of a fixed pattern.
fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

/// A segment that puts the bench's connection in Error: a Write to `main`
/// with a bad CRC (check 2, LLP CRC Terminate, no headers). Sent before
/// the [`DropConn::InError`] row.
pub fn into_error(t: &Targets) -> Vec<u8> {
    bad_crc(&Segment::write(t.main.stag, t.main.va, vec![1; 16]))
}

/// The check-1 rows: an unknown connection, a connection id above every
/// connection, and the bench's connection in Error (after [`into_error`]).
pub fn drop_rows(t: &Targets) -> Vec<DropRow> {
    let write = fpdu(&Segment::write(t.main.stag, t.main.va, vec![1; 16]));
    vec![
        DropRow {
            name: "1: unknown connection",
            conn: DropConn::Unknown(9),
            fpdu: write.clone(),
        },
        DropRow {
            name: "1: connection id out of range",
            conn: DropConn::Unknown(0x8001),
            fpdu: write,
        },
        DropRow {
            name: "1: connection in Error",
            conn: DropConn::InError,
            fpdu: fpdu(&Segment::send(Opcode::Send, 0, 1, vec![1; 16])),
        },
    ]
}

/// The rows of checks 2 to 11, in the table's order, each failing exactly
/// its check, with the Terminate SPEC's table gives it.
pub fn rows(t: &Targets) -> Vec<Row> {
    let (main, mva) = (t.main.stag, t.main.va);
    let r = |name, fpdu, check, term, with_hdr| Row {
        name,
        fpdu,
        buffer: true,
        check,
        term,
        with_hdr,
    };
    let untagged = |op: Opcode, qn, msn, mo, n| {
        fpdu(&Segment {
            ctrl: Control::new(op, true),
            ddp: DdpHeader::Untagged {
                rsvd_ulp: 0,
                qn,
                msn,
                mo,
            },
            body: Body::Data(data(n)),
        })
    };
    vec![
        // 2
        r(
            "2: CRC",
            bad_crc(&Segment::write(main, mva, data(40))),
            2,
            codes::LLP_CRC,
            false,
        ),
        r(
            "2: length field 4 more than the packet",
            bad_length(&Segment::send(Opcode::Send, 0, 1, data(20)), 4),
            2,
            codes::LLP_LENGTH,
            false,
        ),
        r(
            "2: ULPDU shorter than its untagged header",
            mpa_frame(&fpdu(&Segment::send(Opcode::Send, 0, 1, vec![]))[2..16]),
            2,
            codes::LLP_LENGTH,
            false,
        ),
        r(
            "2: payload beyond --max-payload",
            fpdu(&Segment::write(main, mva, data(t.max_payload as usize + 1))),
            2,
            codes::LLP_LENGTH,
            false,
        ),
        // 3
        r(
            "3: DDP version, tagged",
            with_ctrl(Segment::write(main, mva, data(8)), |c| c.ddp_version = 0),
            3,
            codes::DDP_T_VERSION,
            false,
        ),
        r(
            "3: DDP version, untagged",
            with_ctrl(Segment::send(Opcode::Send, 0, 1, data(8)), |c| {
                c.ddp_version = 2
            }),
            3,
            codes::DDP_UT_VERSION,
            false,
        ),
        // 4
        r(
            "4: RDMAP version",
            with_ctrl(Segment::write(main, mva, data(8)), |c| c.rdmap_version = 0),
            4,
            codes::RDMAP_VERSION,
            false,
        ),
        r(
            "4: untagged opcode with T",
            fpdu(&Segment {
                ctrl: Control::new(Opcode::Send, true),
                ddp: DdpHeader::Tagged {
                    stag: main,
                    to: mva,
                },
                body: Body::Data(data(8)),
            }),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        r(
            "4: tagged opcode without T",
            untagged(Opcode::Write, 0, 1, 0, 8),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        r(
            "4: opcode 9",
            with_ctrl(Segment::send(Opcode::Send, 0, 1, data(8)), |c| c.opcode = 9),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        r(
            "4: Read Request without L",
            with_ctrl(Segment::read_request(1, read_request()), |c| c.last = false),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        // 5
        r(
            "5: invalid STag (key off by one)",
            fpdu(&Segment::write(main ^ 1, mva, data(8))),
            5,
            codes::DDP_T_INVALID_STAG,
            true,
        ),
        // Bit 20 is a spare index bit (between the NIC id and the entry
        // bits) for every table of fewer than 2^20 entries.
        r(
            "5: malformed STag (spare bit set)",
            fpdu(&Segment::read_response(main | 1 << 20, mva, data(8))),
            5,
            codes::DDP_T_INVALID_STAG,
            true,
        ),
        // 6
        r(
            "6: PD",
            fpdu(&Segment::write(t.other_pd.stag, t.other_pd.va, data(8))),
            6,
            codes::DDP_T_STAG_NOT_ASSOC,
            true,
        ),
        // 7
        r(
            "7: no remote write right",
            fpdu(&Segment::write(t.no_write.stag, t.no_write.va, data(8))),
            7,
            codes::DDP_T_INVALID_STAG,
            true,
        ),
        // 8
        r(
            "8: TO wrap",
            fpdu(&Segment::write(t.top.stag, u64::MAX - 6, data(8))),
            8,
            codes::DDP_T_TO_WRAP,
            true,
        ),
        // 9
        r(
            "9: below the base",
            fpdu(&Segment::write(main, mva - 1, data(8))),
            9,
            codes::DDP_T_BASE_BOUNDS,
            true,
        ),
        r(
            "9: past the end",
            fpdu(&Segment::write(main, mva + t.main.len - 7, data(8))),
            9,
            codes::DDP_T_BASE_BOUNDS,
            true,
        ),
        // 10
        r(
            "10: QN",
            untagged(Opcode::Send, 1, 1, 0, 8),
            10,
            codes::DDP_UT_INVALID_QN,
            true,
        ),
        r(
            "10: MSN",
            fpdu(&Segment::send(Opcode::Send, 0, 2, data(8))),
            10,
            codes::DDP_UT_MSN_RANGE,
            true,
        ),
        r(
            "10: Read Request MSN",
            fpdu(&Segment::read_request(0, read_request())),
            10,
            codes::DDP_UT_MSN_RANGE,
            true,
        ),
        Row {
            buffer: false,
            ..r(
                "10: no buffer",
                fpdu(&Segment::send(Opcode::SendSe, 0, 1, data(8))),
                10,
                codes::DDP_UT_MSN_NOBUF,
                true,
            )
        },
        r(
            "10: MO",
            untagged(Opcode::Send, 0, 1, t.buf_len + 1, 0),
            10,
            codes::DDP_UT_INVALID_MO,
            true,
        ),
        r(
            "10: too long",
            fpdu(&Segment::send(
                Opcode::Send,
                0,
                1,
                data(t.buf_len as usize + 1),
            )),
            10,
            codes::DDP_UT_TOO_LONG,
            true,
        ),
        // 11
        r(
            "11: no such STag",
            fpdu(&Segment::send(Opcode::SendInv, main ^ 1, 1, data(8))),
            11,
            codes::RDMAP_CANNOT_INVALIDATE_OP,
            true,
        ),
        r(
            "11: PD",
            fpdu(&Segment::send(
                Opcode::SendSeInv,
                t.other_pd.stag,
                1,
                data(8),
            )),
            11,
            codes::RDMAP_CANNOT_INVALIDATE_PROT,
            true,
        ),
        r(
            "11: peer may not invalidate",
            fpdu(&Segment::send(Opcode::SendInv, t.no_write.stag, 1, data(8))),
            11,
            codes::RDMAP_CANNOT_INVALIDATE_PROT,
            true,
        ),
        // A Read Request with an error carries R; once more with the
        // request's own MO wrong.
        r(
            "10: Read Request MO",
            fpdu(&Segment {
                ctrl: Control::new(Opcode::ReadRequest, true),
                ddp: DdpHeader::Untagged {
                    rsvd_ulp: 0,
                    qn: 1,
                    msn: 1,
                    mo: 4,
                },
                body: Body::ReadRequest(read_request()),
            }),
            10,
            codes::DDP_UT_INVALID_MO,
            true,
        ),
    ]
}

/// A frame from `m_axis_tx` decoded as a Terminate: (its MSN, its body).
pub fn decode_terminate(b: &[u8]) -> Result<(u32, Terminate), String> {
    match parse_fpdu(b) {
        Ok(Segment {
            body: Body::Terminate(t),
            ddp: DdpHeader::Untagged { msn, .. },
            ..
        }) => Ok((msn, t)),
        Ok(s) => Err(format!("not a Terminate: {s:?}")),
        Err(e) => Err(format!("unparsable: {e}")),
    }
}

/// A frame from `m_axis_tx`, decoded for messages.
pub fn describe_terminate(b: &[u8]) -> String {
    match decode_terminate(b) {
        Ok((msn, t)) => format!(
            "Terminate MSN {msn} {}/{}/{:#04x} D {} R {} hdr {:?} rreq {:?}",
            t.layer,
            t.etype,
            t.ecode,
            t.d(),
            t.r(),
            t.ddp,
            t.rdma
        ),
        Err(e) => e,
    }
}
