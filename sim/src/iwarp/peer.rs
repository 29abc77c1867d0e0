//! The remote peer of one iWARP connection: builds the FPDUs it sends to the NIC, keeps the
//! per-queue MSNs, reads back the Terminates the NIC sends, and (optionally) records every
//! frame both ways into a pcap.

use super::frames::{
    fpdu, parse_fpdu, segment_tagged, segment_untagged, Body, DdpHeader, Opcode, ParseError,
    ReadRequest, Segment, Terminate, QN_READ_REQUEST, QN_SEND, QN_TERMINATE,
};
use super::pcap::{ConnCapture, Dir, MpaRev, SharedCapture, TcpConn};

/// Default MULPDU (largest ULPDU, DDP header included): what fits a 1500-byte MTU after
/// IPv4 + TCP (40), the MPA length field and CRC (6), rounded down to 4.
pub const DEFAULT_MULPDU: usize = 1452;

/// What can be wrong with a frame the NIC sent to the peer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    #[error("malformed FPDU from the NIC: {0}")]
    Parse(#[from] ParseError),
    #[error("expected a Terminate, got {0:?}")]
    NotTerminate(Box<Segment>),
    #[error("Terminate header wrong: {0}")]
    BadTerminateHeader(String),
    #[error("Terminate MSN {got}, expected {expected}")]
    BadTerminateMsn { expected: u32, got: u32 },
}

/// The remote peer of one connection.
pub struct Peer {
    /// Connection id the bench puts in `tuser` (opaque to this model).
    pub conn: u32,
    mulpdu: usize,
    /// Last MSN used per untagged queue (Send, Read Request, Terminate); the first message
    /// on each queue has MSN 1 (RFC 5041 5.1, Linux siw `++ddp_msn[qn]`).
    tx_msn: [u32; 3],
    /// MSN expected on the next Terminate from the NIC.
    rx_term_msn: u32,
    capture: Option<ConnCapture>,
}

impl Peer {
    pub fn new(conn: u32) -> Self {
        Self {
            conn,
            mulpdu: DEFAULT_MULPDU,
            tx_msn: [0; 3],
            rx_term_msn: 1,
            capture: None,
        }
    }

    /// Largest ULPDU (header + payload) per FPDU, as RFC 5044's MULPDU.
    pub fn with_mulpdu(mut self, mulpdu: usize) -> Self {
        self.mulpdu = mulpdu;
        self
    }

    pub fn mulpdu(&self) -> usize {
        self.mulpdu
    }

    /// Record this connection into `cap`: TCP handshake and the MPA Request/Reply now,
    /// then every FPDU both ways.
    pub fn attach_capture(&mut self, cap: SharedCapture, tcp: TcpConn, rev: MpaRev) {
        let (req, rep) = rev.frames();
        self.capture = Some(ConnCapture::start(cap, tcp, &req, &rep));
    }

    /// MSN the next message on untagged queue `qn` (0..=2) will carry.
    pub fn next_msn(&self, qn: u32) -> u32 {
        self.tx_msn[qn as usize].wrapping_add(1)
    }

    /// Start a new stream (the connection was recreated): all MSNs back to 1.
    pub fn reset(&mut self) {
        self.tx_msn = [0; 3];
        self.rx_term_msn = 1;
    }

    fn take_msn(&mut self, qn: u32) -> u32 {
        let q = &mut self.tx_msn[qn as usize];
        *q = q.wrapping_add(1);
        *q
    }

    fn emit(&mut self, segs: Vec<Segment>) -> Vec<Vec<u8>> {
        segs.iter().map(|s| self.raw(s)).collect()
    }

    /// Encode (and record) one segment exactly as given; no MSN bookkeeping.
    pub fn raw(&mut self, seg: &Segment) -> Vec<u8> {
        self.raw_bytes(fpdu(seg))
    }

    /// Record arbitrary bytes (e.g. an FPDU with a broken CRC) as a peer-to-NIC segment and
    /// hand them back.
    pub fn raw_bytes(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        if let Some(c) = &mut self.capture {
            c.record(Dir::PeerToNic, &bytes);
        }
        bytes
    }

    /// RDMA Write of `data` to `stag` at tagged offset `to`, split by MULPDU.
    pub fn write(&mut self, stag: u32, to: u64, data: &[u8]) -> Vec<Vec<u8>> {
        let segs = segment_tagged(Opcode::Write, stag, to, data, self.mulpdu);
        self.emit(segs)
    }

    /// Read Response carrying `data` to the Data Sink `sink_stag`/`sink_to` (the values the
    /// NIC's Read Request named).
    pub fn read_response(&mut self, sink_stag: u32, sink_to: u64, data: &[u8]) -> Vec<Vec<u8>> {
        let segs = segment_tagged(Opcode::ReadResponse, sink_stag, sink_to, data, self.mulpdu);
        self.emit(segs)
    }

    fn send_op(&mut self, op: Opcode, inv_stag: u32, data: &[u8]) -> Vec<Vec<u8>> {
        let msn = self.take_msn(QN_SEND);
        let segs = segment_untagged(op, inv_stag, QN_SEND, msn, data, self.mulpdu);
        self.emit(segs)
    }

    pub fn send(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        self.send_op(Opcode::Send, 0, data)
    }
    pub fn send_se(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        self.send_op(Opcode::SendSe, 0, data)
    }
    pub fn send_inv(&mut self, stag_to_invalidate: u32, data: &[u8]) -> Vec<Vec<u8>> {
        self.send_op(Opcode::SendInv, stag_to_invalidate, data)
    }
    pub fn send_se_inv(&mut self, stag_to_invalidate: u32, data: &[u8]) -> Vec<Vec<u8>> {
        self.send_op(Opcode::SendSeInv, stag_to_invalidate, data)
    }

    /// RDMA Read Request (one FPDU on queue 1): read `size` bytes from the NIC host's
    /// `src_stag`/`src_to` into the peer's `sink_stag`/`sink_to`.
    pub fn read_request(
        &mut self,
        sink_stag: u32,
        sink_to: u64,
        size: u32,
        src_stag: u32,
        src_to: u64,
    ) -> Vec<u8> {
        let msn = self.take_msn(QN_READ_REQUEST);
        let rr = ReadRequest {
            sink_stag,
            sink_to,
            size,
            src_stag,
            src_to,
        };
        self.raw(&Segment::read_request(msn, rr))
    }

    /// A Terminate from the peer (queue 2).
    pub fn terminate(&mut self, t: Terminate) -> Vec<u8> {
        let msn = self.take_msn(QN_TERMINATE);
        self.raw(&Segment::terminate(msn, t))
    }

    /// Any FPDU the NIC sent: recorded, then parsed.
    pub fn recv(&mut self, fpdu: &[u8]) -> Result<Segment, ParseError> {
        if let Some(c) = &mut self.capture {
            c.record(Dir::NicToPeer, fpdu);
        }
        parse_fpdu(fpdu)
    }

    /// A frame from the NIC's `m_axis_tx` that must be a Terminate: recorded, parsed, and
    /// its DDP header checked (untagged, L set, QN 2, MO 0, MSN in sequence from 1).
    /// Returns the decoded layer/type/code and offending headers.
    pub fn on_tx(&mut self, fpdu: &[u8]) -> Result<Terminate, PeerError> {
        let seg = self.recv(fpdu)?;
        let Body::Terminate(t) = seg.body else {
            return Err(PeerError::NotTerminate(Box::new(seg)));
        };
        let DdpHeader::Untagged {
            rsvd_ulp,
            qn,
            msn,
            mo,
        } = seg.ddp
        else {
            unreachable!("parse_fpdu only accepts an untagged Terminate");
        };
        if !seg.ctrl.last || qn != QN_TERMINATE || mo != 0 || rsvd_ulp != 0 {
            return Err(PeerError::BadTerminateHeader(format!(
                "L {} QN {qn} MO {mo} rsvd {rsvd_ulp:#x} (want L 1, QN 2, MO 0, rsvd 0)",
                seg.ctrl.last
            )));
        }
        if msn != self.rx_term_msn {
            return Err(PeerError::BadTerminateMsn {
                expected: self.rx_term_msn,
                got: msn,
            });
        }
        self.rx_term_msn = self.rx_term_msn.wrapping_add(1);
        Ok(t)
    }
}
