//! DDP / RDMAP segments (RFC 5041 / RFC 5040) and MPA framing (RFC 5044), byte-exact.
//!
//! Everything on the wire is big-endian (network order) except the MPA CRC trailer,
//! which is the CRC32c value least significant byte first (see [`super::crc32c`]).
//!
//! Layouts (offsets within the ULPDU, i.e. after the 2-byte MPA ULPDU length):
//!
//! ```text
//! control, 16 bits: byte 0 = T(7) L(6) rsvd(5:2) DDP version(1:0)
//!                   byte 1 = RDMAP version(7:6) rsvd(5:4) opcode(3:0)
//! tagged   (14 bytes): control | STag(32) | TO(64)
//! untagged (18 bytes): control | rsvd for ULP(32) (= STag to invalidate for SendInv)
//!                      | QN(32) | MSN(32) | MO(32)
//! Read Request body (28 bytes, untagged QN 1): sink STag(32) | sink TO(64)
//!                      | RDMA read message size(32) | source STag(32) | source TO(64)
//! Terminate body (untagged QN 2): layer(4) etype(4) | ecode(8) | M D R(3) rsvd(13)
//!                      [D: DDP segment length(16) + terminated DDP header (14 or 18)]
//!                      [R: terminated RDMA header = Read Request body (28)]
//! FPDU: ULPDU length(16) | ULPDU | pad to 4 bytes | CRC32c over all before it
//! ```
//! This matches Linux siw's `iwarp.h` structs (`iwarp_ctrl`, `iwarp_rdma_write`,
//! `iwarp_send_inv`, `iwarp_rdma_rreq`, `iwarp_terminate`) and Wireshark's
//! `packet-iwarp-ddp-rdmap.c` (DDP_TAGGED_HEADER_LEN 14, DDP_UNTAGGED_HEADER_LEN 18,
//! RDMA_TERMINATED_RDMA_LEN 28). No MPA markers: Linux siw rejects them.

use super::crc32c::{crc32c, mpa_crc_bytes};

pub const DDP_VERSION: u8 = 1;
pub const RDMAP_VERSION: u8 = 1;
pub const TAGGED_HDR_LEN: usize = 14;
pub const UNTAGGED_HDR_LEN: usize = 18;
pub const READ_REQUEST_LEN: usize = 28;
/// Layer/etype/ecode/flags word at the start of a Terminate body.
pub const TERMINATE_CTRL_LEN: usize = 4;
/// ULPDU length field + CRC.
pub const MPA_OVERHEAD: usize = 2 + 4;

/// Untagged queue numbers (RFC 5040 section 5.1).
pub const QN_SEND: u32 = 0;
pub const QN_READ_REQUEST: u32 = 1;
pub const QN_TERMINATE: u32 = 2;

/// Terminate layer numbers (RFC 5040 section 4.8).
pub const LAYER_RDMAP: u8 = 0;
pub const LAYER_DDP: u8 = 1;
pub const LAYER_LLP: u8 = 2;

/// (layer, error type, error code) of a Terminate, as in `SPEC.md`'s check table.
pub type TermCode = (u8, u8, u8);

/// Named Terminate codes (RFC 5040 4.8, RFC 5041 7, RFC 5044 8; names as Linux siw).
pub mod codes {
    use super::TermCode;
    pub const LLP_CRC: TermCode = (2, 0, 0x02);
    pub const LLP_LENGTH: TermCode = (2, 0, 0x03);
    pub const DDP_T_INVALID_STAG: TermCode = (1, 1, 0x00);
    pub const DDP_T_BASE_BOUNDS: TermCode = (1, 1, 0x01);
    pub const DDP_T_STAG_NOT_ASSOC: TermCode = (1, 1, 0x02);
    pub const DDP_T_TO_WRAP: TermCode = (1, 1, 0x03);
    pub const DDP_T_VERSION: TermCode = (1, 1, 0x04);
    pub const DDP_UT_INVALID_QN: TermCode = (1, 2, 0x01);
    pub const DDP_UT_MSN_NOBUF: TermCode = (1, 2, 0x02);
    pub const DDP_UT_MSN_RANGE: TermCode = (1, 2, 0x03);
    pub const DDP_UT_INVALID_MO: TermCode = (1, 2, 0x04);
    pub const DDP_UT_TOO_LONG: TermCode = (1, 2, 0x05);
    pub const DDP_UT_VERSION: TermCode = (1, 2, 0x06);
    pub const RDMAP_VERSION: TermCode = (0, 2, 0x05);
    pub const RDMAP_OPCODE: TermCode = (0, 2, 0x06);
    pub const RDMAP_CANNOT_INVALIDATE_PROT: TermCode = (0, 1, 0x09);
    pub const RDMAP_CANNOT_INVALIDATE_OP: TermCode = (0, 2, 0x09);
}

/// RDMAP opcodes (RFC 5040 section 4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    Write = 0,
    ReadRequest = 1,
    ReadResponse = 2,
    Send = 3,
    SendInv = 4,
    SendSe = 5,
    SendSeInv = 6,
    Terminate = 7,
}

impl Opcode {
    pub const ALL: [Opcode; 8] = [
        Opcode::Write,
        Opcode::ReadRequest,
        Opcode::ReadResponse,
        Opcode::Send,
        Opcode::SendInv,
        Opcode::SendSe,
        Opcode::SendSeInv,
        Opcode::Terminate,
    ];

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(v as usize).copied()
    }

    /// Write and Read Response use the tagged buffer model, everything else untagged.
    pub fn is_tagged(self) -> bool {
        matches!(self, Opcode::Write | Opcode::ReadResponse)
    }

    /// The untagged queue the opcode travels on (None for tagged opcodes).
    pub fn queue(self) -> Option<u32> {
        match self {
            Opcode::Write | Opcode::ReadResponse => None,
            Opcode::ReadRequest => Some(QN_READ_REQUEST),
            Opcode::Terminate => Some(QN_TERMINATE),
            _ => Some(QN_SEND),
        }
    }

    /// Send with Invalidate (with or without SE): the rsvd-for-ULP word is the STag.
    pub fn invalidates(self) -> bool {
        matches!(self, Opcode::SendInv | Opcode::SendSeInv)
    }
}

/// The 16-bit DDP/RDMAP control field without the T bit (the T bit follows from the
/// [`DdpHeader`] variant, since it decides the header layout). Versions and opcode are
/// raw so that bad segments can be built and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Control {
    pub last: bool,
    /// 2 bits.
    pub ddp_version: u8,
    /// 2 bits.
    pub rdmap_version: u8,
    /// 4 bits.
    pub opcode: u8,
}

impl Control {
    pub fn new(opcode: Opcode, last: bool) -> Self {
        Self {
            last,
            ddp_version: DDP_VERSION,
            rdmap_version: RDMAP_VERSION,
            opcode: opcode as u8,
        }
    }

    pub fn opcode(&self) -> Option<Opcode> {
        Opcode::from_u8(self.opcode)
    }

    pub fn to_bytes(self, tagged: bool) -> [u8; 2] {
        let b0 = (u8::from(tagged) << 7) | (u8::from(self.last) << 6) | (self.ddp_version & 0x3);
        let b1 = ((self.rdmap_version & 0x3) << 6) | (self.opcode & 0xF);
        [b0, b1]
    }

    /// Returns (control, T bit). Reserved bits are ignored (RFC 5041: not checked).
    pub fn from_bytes(b: [u8; 2]) -> (Self, bool) {
        let c = Self {
            last: b[0] & 0x40 != 0,
            ddp_version: b[0] & 0x3,
            rdmap_version: b[1] >> 6,
            opcode: b[1] & 0xF,
        };
        (c, b[0] & 0x80 != 0)
    }
}

/// DDP buffer-model header after the control field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DdpHeader {
    Tagged {
        stag: u32,
        to: u64,
    },
    /// `rsvd_ulp` is the RDMAP word: 0, or the STag to invalidate for SendInv/SendSeInv.
    Untagged {
        rsvd_ulp: u32,
        qn: u32,
        msn: u32,
        mo: u32,
    },
}

impl DdpHeader {
    pub fn is_tagged(&self) -> bool {
        matches!(self, DdpHeader::Tagged { .. })
    }
    /// Length including the 2-byte control field.
    pub fn wire_len(&self) -> usize {
        if self.is_tagged() {
            TAGGED_HDR_LEN
        } else {
            UNTAGGED_HDR_LEN
        }
    }
}

/// A full DDP/RDMAP header: control field + buffer-model header (14 or 18 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub ctrl: Control,
    pub ddp: DdpHeader,
}

impl Header {
    pub fn wire_len(&self) -> usize {
        self.ddp.wire_len()
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ctrl.to_bytes(self.ddp.is_tagged()));
        match self.ddp {
            DdpHeader::Tagged { stag, to } => {
                out.extend_from_slice(&stag.to_be_bytes());
                out.extend_from_slice(&to.to_be_bytes());
            }
            DdpHeader::Untagged {
                rsvd_ulp,
                qn,
                msn,
                mo,
            } => {
                out.extend_from_slice(&rsvd_ulp.to_be_bytes());
                out.extend_from_slice(&qn.to_be_bytes());
                out.extend_from_slice(&msn.to_be_bytes());
                out.extend_from_slice(&mo.to_be_bytes());
            }
        }
    }

    /// Raw decode (no version or opcode checks). Needs at least the header's length.
    pub fn decode(b: &[u8]) -> Result<Self, ParseError> {
        if b.len() < 2 {
            return Err(ParseError::TruncatedHeader {
                len: b.len(),
                need: 2,
            });
        }
        let (ctrl, tagged) = Control::from_bytes([b[0], b[1]]);
        let need = if tagged {
            TAGGED_HDR_LEN
        } else {
            UNTAGGED_HDR_LEN
        };
        if b.len() < need {
            return Err(ParseError::TruncatedHeader { len: b.len(), need });
        }
        let ddp = if tagged {
            DdpHeader::Tagged {
                stag: be32(&b[2..]),
                to: be64(&b[6..]),
            }
        } else {
            DdpHeader::Untagged {
                rsvd_ulp: be32(&b[2..]),
                qn: be32(&b[6..]),
                msn: be32(&b[10..]),
                mo: be32(&b[14..]),
            }
        };
        Ok(Self { ctrl, ddp })
    }
}

/// RDMA Read Request header (RFC 5040 section 4.4), also the "Terminated RDMA Header".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReadRequest {
    pub sink_stag: u32,
    pub sink_to: u64,
    /// RDMA Read message size in bytes.
    pub size: u32,
    pub src_stag: u32,
    pub src_to: u64,
}

impl ReadRequest {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.sink_stag.to_be_bytes());
        out.extend_from_slice(&self.sink_to.to_be_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.src_stag.to_be_bytes());
        out.extend_from_slice(&self.src_to.to_be_bytes());
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < READ_REQUEST_LEN {
            return None;
        }
        Some(Self {
            sink_stag: be32(b),
            sink_to: be64(&b[4..]),
            size: be32(&b[12..]),
            src_stag: be32(&b[16..]),
            src_to: be64(&b[20..]),
        })
    }
}

/// RDMAP Terminate body (RFC 5040 section 4.8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Terminate {
    /// 4 bits: 0 RDMAP, 1 DDP, 2 LLP (MPA).
    pub layer: u8,
    /// 4 bits.
    pub etype: u8,
    pub ecode: u8,
    /// M: the DDP segment length field is valid.
    pub m: bool,
    /// D bit: DDP segment length and terminated DDP header present.
    pub ddp: Option<(u16, Header)>,
    /// R bit: terminated RDMA header (the Read Request header) present.
    pub rdma: Option<ReadRequest>,
}

impl Terminate {
    /// A Terminate with no offending headers.
    pub fn new(code: TermCode) -> Self {
        Self {
            layer: code.0,
            etype: code.1,
            ecode: code.2,
            m: false,
            ddp: None,
            rdma: None,
        }
    }

    pub fn code(&self) -> TermCode {
        (self.layer, self.etype, self.ecode)
    }
    pub fn d(&self) -> bool {
        self.ddp.is_some()
    }
    pub fn r(&self) -> bool {
        self.rdma.is_some()
    }

    /// Terminate control word: layer(31:28) etype(27:24) ecode(23:16) M(15) D(14) R(13).
    pub fn ctrl_word(&self) -> u32 {
        ((self.layer as u32 & 0xF) << 28)
            | ((self.etype as u32 & 0xF) << 24)
            | ((self.ecode as u32) << 16)
            | (u32::from(self.m) << 15)
            | (u32::from(self.d()) << 14)
            | (u32::from(self.r()) << 13)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ctrl_word().to_be_bytes());
        if let Some((len, hdr)) = &self.ddp {
            out.extend_from_slice(&len.to_be_bytes());
            hdr.encode(out);
        }
        if let Some(rr) = &self.rdma {
            rr.encode(out);
        }
    }

    /// Decode a Terminate body. The terminated DDP header's length follows its own T bit.
    pub fn decode(b: &[u8]) -> Result<Self, ParseError> {
        let trunc = |need: usize| ParseError::TerminateTruncated { len: b.len(), need };
        if b.len() < TERMINATE_CTRL_LEN {
            return Err(trunc(TERMINATE_CTRL_LEN));
        }
        let w = be32(b);
        let (m, d, r) = (w & (1 << 15) != 0, w & (1 << 14) != 0, w & (1 << 13) != 0);
        let mut off = TERMINATE_CTRL_LEN;
        let ddp = if d {
            if b.len() < off + 2 + 2 {
                return Err(trunc(off + 4));
            }
            let seg_len = u16::from_be_bytes([b[off], b[off + 1]]);
            let hdr = Header::decode(&b[off + 2..]).map_err(|_| {
                let need = if b[off + 2] & 0x80 != 0 {
                    TAGGED_HDR_LEN
                } else {
                    UNTAGGED_HDR_LEN
                };
                trunc(off + 2 + need)
            })?;
            off += 2 + hdr.wire_len();
            Some((seg_len, hdr))
        } else {
            None
        };
        let rdma = if r {
            let rr = ReadRequest::decode(&b[off..]).ok_or(trunc(off + READ_REQUEST_LEN))?;
            off += READ_REQUEST_LEN;
            Some(rr)
        } else {
            None
        };
        if off != b.len() {
            return Err(ParseError::TerminateTrailing {
                len: b.len(),
                used: off,
            });
        }
        Ok(Self {
            layer: (w >> 28) as u8,
            etype: ((w >> 24) & 0xF) as u8,
            ecode: (w >> 16) as u8,
            m,
            ddp,
            rdma,
        })
    }
}

/// What follows the DDP/RDMAP header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Body {
    Data(Vec<u8>),
    ReadRequest(ReadRequest),
    Terminate(Terminate),
}

/// One DDP segment (= one MPA ULPDU).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    pub ctrl: Control,
    pub ddp: DdpHeader,
    pub body: Body,
}

impl Segment {
    fn tagged(op: Opcode, last: bool, stag: u32, to: u64, data: Vec<u8>) -> Self {
        Self {
            ctrl: Control::new(op, last),
            ddp: DdpHeader::Tagged { stag, to },
            body: Body::Data(data),
        }
    }

    fn untagged(
        op: Opcode,
        last: bool,
        rsvd_ulp: u32,
        qn: u32,
        msn: u32,
        mo: u32,
        body: Body,
    ) -> Self {
        Self {
            ctrl: Control::new(op, last),
            ddp: DdpHeader::Untagged {
                rsvd_ulp,
                qn,
                msn,
                mo,
            },
            body,
        }
    }

    /// Single-segment RDMA Write (L set).
    pub fn write(stag: u32, to: u64, data: Vec<u8>) -> Self {
        Self::tagged(Opcode::Write, true, stag, to, data)
    }
    /// Single-segment Read Response (L set).
    pub fn read_response(sink_stag: u32, sink_to: u64, data: Vec<u8>) -> Self {
        Self::tagged(Opcode::ReadResponse, true, sink_stag, sink_to, data)
    }
    /// Single-segment Send-type message on queue 0 (L set, MO 0). `inv_stag` is put in the
    /// rsvd-for-ULP word (use 0 for Send and SendSe).
    pub fn send(op: Opcode, inv_stag: u32, msn: u32, data: Vec<u8>) -> Self {
        Self::untagged(op, true, inv_stag, QN_SEND, msn, 0, Body::Data(data))
    }
    /// Read Request on queue 1 (L set, MO 0).
    pub fn read_request(msn: u32, rr: ReadRequest) -> Self {
        Self::untagged(
            Opcode::ReadRequest,
            true,
            0,
            QN_READ_REQUEST,
            msn,
            0,
            Body::ReadRequest(rr),
        )
    }
    /// Terminate on queue 2 (L set, MO 0).
    pub fn terminate(msn: u32, t: Terminate) -> Self {
        Self::untagged(
            Opcode::Terminate,
            true,
            0,
            QN_TERMINATE,
            msn,
            0,
            Body::Terminate(t),
        )
    }

    pub fn header(&self) -> Header {
        Header {
            ctrl: self.ctrl,
            ddp: self.ddp,
        }
    }
    pub fn opcode(&self) -> Option<Opcode> {
        self.ctrl.opcode()
    }
    /// Payload bytes for Data bodies (empty otherwise).
    pub fn data(&self) -> &[u8] {
        match &self.body {
            Body::Data(d) => d,
            _ => &[],
        }
    }

    /// The ULPDU: DDP/RDMAP header followed by the body.
    pub fn ulpdu(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header().wire_len() + 64);
        self.header().encode(&mut out);
        match &self.body {
            Body::Data(d) => out.extend_from_slice(d),
            Body::ReadRequest(rr) => rr.encode(&mut out),
            Body::Terminate(t) => t.encode(&mut out),
        }
        out
    }
}

/// Number of pad bytes after a ULPDU of `ulpdu_len` bytes (the 2-byte length field
/// included in the alignment, RFC 5044 section 4.1).
pub fn pad_len(ulpdu_len: usize) -> usize {
    (4 - (ulpdu_len + 2) % 4) % 4
}

/// Total FPDU size for a ULPDU of `ulpdu_len` bytes.
pub fn fpdu_len(ulpdu_len: usize) -> usize {
    2 + ulpdu_len + pad_len(ulpdu_len) + 4
}

/// Frame an arbitrary ULPDU as an MPA FPDU: length, ULPDU, zero pad, CRC32c.
///
/// Panics if the ULPDU does not fit the 16-bit length field.
pub fn mpa_frame(ulpdu: &[u8]) -> Vec<u8> {
    let len = u16::try_from(ulpdu.len()).expect("ULPDU longer than 65535 bytes");
    let mut out = Vec::with_capacity(fpdu_len(ulpdu.len()));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(ulpdu);
    out.resize(out.len() + pad_len(ulpdu.len()), 0);
    let crc = mpa_crc_bytes(&out);
    out.extend_from_slice(&crc);
    out
}

/// Encode one segment as an MPA FPDU.
pub fn fpdu(seg: &Segment) -> Vec<u8> {
    mpa_frame(&seg.ulpdu())
}

/// Why an FPDU did not parse. The variants are in the order the checks run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("FPDU of {len} bytes is shorter than the 8-byte minimum")]
    TooShort { len: usize },
    #[error("MPA ULPDU length {ulpdu_len} implies a {expected}-byte FPDU, got {got} bytes")]
    LengthMismatch {
        ulpdu_len: u16,
        expected: usize,
        got: usize,
    },
    #[error("MPA CRC32c mismatch: on the wire {wire:#010x}, computed {computed:#010x}")]
    BadCrc { wire: u32, computed: u32 },
    #[error("ULPDU of {len} bytes is shorter than the {need}-byte DDP header")]
    TruncatedHeader { len: usize, need: usize },
    #[error("DDP version {version} (tagged: {tagged}), expected 1")]
    BadDdpVersion { version: u8, tagged: bool },
    #[error("RDMAP version {version}, expected 1")]
    BadRdmapVersion { version: u8 },
    #[error("RDMAP opcode {opcode} is not legal with T = {tagged}")]
    BadOpcode { opcode: u8, tagged: bool },
    #[error("Read Request body of {len} bytes, expected 28")]
    BadReadRequestLength { len: usize },
    #[error("Terminate body of {len} bytes, its flags need {need}")]
    TerminateTruncated { len: usize, need: usize },
    #[error("Terminate body of {len} bytes, its flags account for only {used}")]
    TerminateTrailing { len: usize, used: usize },
}

impl ParseError {
    /// The Terminate a receiver answers this error with (SPEC.md check table).
    /// `None` for errors inside a Terminate body (a Terminate is never answered).
    pub fn terminate_code(&self) -> Option<TermCode> {
        Some(match self {
            ParseError::TooShort { .. } | ParseError::LengthMismatch { .. } => codes::LLP_LENGTH,
            ParseError::BadCrc { .. } => codes::LLP_CRC,
            ParseError::TruncatedHeader { .. } => codes::LLP_LENGTH,
            ParseError::BadDdpVersion { tagged: true, .. } => codes::DDP_T_VERSION,
            ParseError::BadDdpVersion { tagged: false, .. } => codes::DDP_UT_VERSION,
            ParseError::BadRdmapVersion { .. } => codes::RDMAP_VERSION,
            ParseError::BadOpcode { .. } | ParseError::BadReadRequestLength { .. } => {
                codes::RDMAP_OPCODE
            }
            ParseError::TerminateTruncated { .. } | ParseError::TerminateTrailing { .. } => {
                return None
            }
        })
    }
}

/// Check the MPA framing of one FPDU (length, then CRC) and return the ULPDU.
pub fn check_mpa(b: &[u8]) -> Result<&[u8], ParseError> {
    if b.len() < 8 {
        return Err(ParseError::TooShort { len: b.len() });
    }
    let ulpdu_len = u16::from_be_bytes([b[0], b[1]]);
    let expected = fpdu_len(ulpdu_len as usize);
    if expected != b.len() {
        return Err(ParseError::LengthMismatch {
            ulpdu_len,
            expected,
            got: b.len(),
        });
    }
    let (covered, trailer) = b.split_at(b.len() - 4);
    let wire = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let computed = crc32c(covered);
    if wire != computed {
        return Err(ParseError::BadCrc { wire, computed });
    }
    Ok(&b[2..2 + ulpdu_len as usize])
}

/// Parse one ULPDU (DDP segment) with the DDP and RDMAP checks.
pub fn parse_ulpdu(u: &[u8]) -> Result<Segment, ParseError> {
    if u.len() < 2 {
        return Err(ParseError::TruncatedHeader {
            len: u.len(),
            need: 2,
        });
    }
    let (ctrl, tagged) = Control::from_bytes([u[0], u[1]]);
    if ctrl.ddp_version != DDP_VERSION {
        return Err(ParseError::BadDdpVersion {
            version: ctrl.ddp_version,
            tagged,
        });
    }
    let hdr = Header::decode(u)?;
    if ctrl.rdmap_version != RDMAP_VERSION {
        return Err(ParseError::BadRdmapVersion {
            version: ctrl.rdmap_version,
        });
    }
    let op = match ctrl.opcode() {
        Some(op) if op.is_tagged() == tagged => op,
        _ => {
            return Err(ParseError::BadOpcode {
                opcode: ctrl.opcode,
                tagged,
            })
        }
    };
    let rest = &u[hdr.wire_len()..];
    let body = match op {
        Opcode::ReadRequest => {
            if rest.len() != READ_REQUEST_LEN {
                return Err(ParseError::BadReadRequestLength { len: rest.len() });
            }
            Body::ReadRequest(ReadRequest::decode(rest).expect("length checked"))
        }
        Opcode::Terminate => Body::Terminate(Terminate::decode(rest)?),
        _ => Body::Data(rest.to_vec()),
    };
    Ok(Segment {
        ctrl: hdr.ctrl,
        ddp: hdr.ddp,
        body,
    })
}

/// Parse one complete FPDU: MPA length, CRC32c, DDP version, header, RDMAP version,
/// opcode against the T bit, then the RDMAP body.
pub fn parse_fpdu(b: &[u8]) -> Result<Segment, ParseError> {
    parse_ulpdu(check_mpa(b)?)
}

fn max_payload(mulpdu: usize, hdr_len: usize) -> usize {
    assert!(
        mulpdu > hdr_len,
        "MULPDU {mulpdu} leaves no room for payload after a {hdr_len}-byte header"
    );
    (mulpdu - hdr_len).min(u16::MAX as usize - hdr_len)
}

/// Split a tagged message (Write or Read Response) into segments whose ULPDU (header +
/// payload) is at most `mulpdu` bytes (RFC 5044's MULPDU). TO advances by the payload of
/// each segment (wrapping, so TO-wrap tests can be built); L is set on the last only. A
/// zero-length message gives one empty segment.
pub fn segment_tagged(op: Opcode, stag: u32, to: u64, data: &[u8], mulpdu: usize) -> Vec<Segment> {
    assert!(op.is_tagged(), "{op:?} is not a tagged opcode");
    let max = max_payload(mulpdu, TAGGED_HDR_LEN);
    if data.is_empty() {
        return vec![Segment::tagged(op, true, stag, to, Vec::new())];
    }
    let n = data.len().div_ceil(max);
    data.chunks(max)
        .enumerate()
        .map(|(i, c)| {
            Segment::tagged(
                op,
                i + 1 == n,
                stag,
                to.wrapping_add((i * max) as u64),
                c.to_vec(),
            )
        })
        .collect()
}

/// Split an untagged Send-type message into segments of at most `mulpdu` ULPDU bytes;
/// every segment carries the same MSN, MO advances, L is set on the last only.
pub fn segment_untagged(
    op: Opcode,
    rsvd_ulp: u32,
    qn: u32,
    msn: u32,
    data: &[u8],
    mulpdu: usize,
) -> Vec<Segment> {
    let max = max_payload(mulpdu, UNTAGGED_HDR_LEN);
    if data.is_empty() {
        return vec![Segment::untagged(
            op,
            true,
            rsvd_ulp,
            qn,
            msn,
            0,
            Body::Data(Vec::new()),
        )];
    }
    let n = data.len().div_ceil(max);
    data.chunks(max)
        .enumerate()
        .map(|(i, c)| {
            let mo = u32::try_from(i * max).expect("message offset beyond 32 bits");
            Segment::untagged(
                op,
                i + 1 == n,
                rsvd_ulp,
                qn,
                msn,
                mo,
                Body::Data(c.to_vec()),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// MPA connection start-up frames (RFC 5044 section 7.1, and MPA v2 / RFC 6581 as Linux siw
// sends it).

pub const MPA_KEY_REQ: &[u8; 16] = b"MPA ID Req Frame";
pub const MPA_KEY_REP: &[u8; 16] = b"MPA ID Rep Frame";
pub const MPA_FLAG_MARKERS: u8 = 0x80;
pub const MPA_FLAG_CRC: u8 = 0x40;
pub const MPA_FLAG_REJECT: u8 = 0x20;
/// MPA v2 "enhanced RDMA connection establishment" (siw `MPA_RR_FLAG_ENHANCED`).
pub const MPA_FLAG_ENHANCED: u8 = 0x10;
/// In the v2 IRD word.
pub const MPA_V2_PEER_TO_PEER: u16 = 0x8000;
/// In the v2 ORD word.
pub const MPA_V2_WRITE_RTR: u16 = 0x8000;
pub const MPA_V2_READ_RTR: u16 = 0x4000;
pub const MPA_V2_IRD_ORD_MASK: u16 = 0x3FFF;

/// One MPA Request or Reply frame.
///
/// Layout: key(16) | flags(8: M C R enhanced/res) | revision(8) | PD_Length(16) | private data.
/// Revision 2 with the enhanced flag starts the private data with IRD(16) and ORD(16),
/// big-endian, as Linux siw (`struct mpa_v2_data`) does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpaFrame {
    pub reply: bool,
    pub flags: u8,
    pub revision: u8,
    /// The whole private data, v2 IRD/ORD words included.
    pub private_data: Vec<u8>,
}

impl MpaFrame {
    /// Revision 1 frame (RFC 5044), CRC requested when `crc`, no markers.
    pub fn v1(reply: bool, crc: bool, private_data: Vec<u8>) -> Self {
        Self {
            reply,
            flags: if crc { MPA_FLAG_CRC } else { 0 },
            revision: 1,
            private_data,
        }
    }

    /// Revision 2 frame as Linux siw sends it: enhanced flag, IRD/ORD first in the private
    /// data (`ird`/`ord` masked to 14 bits; `p2p` sets peer-to-peer and offers both RTR
    /// types, as siw's `peer_to_peer` module parameter does), then the ULP's private data.
    pub fn v2(reply: bool, crc: bool, ird: u16, ord: u16, p2p: bool, ulp_data: &[u8]) -> Self {
        let mut ird = ird & MPA_V2_IRD_ORD_MASK;
        let mut ord = ord & MPA_V2_IRD_ORD_MASK;
        if p2p {
            ird |= MPA_V2_PEER_TO_PEER;
            ord |= MPA_V2_WRITE_RTR | MPA_V2_READ_RTR;
        }
        let mut pd = Vec::with_capacity(4 + ulp_data.len());
        pd.extend_from_slice(&ird.to_be_bytes());
        pd.extend_from_slice(&ord.to_be_bytes());
        pd.extend_from_slice(ulp_data);
        let flags = MPA_FLAG_ENHANCED | if crc { MPA_FLAG_CRC } else { 0 };
        Self {
            reply,
            flags,
            revision: 2,
            private_data: pd,
        }
    }

    pub fn crc(&self) -> bool {
        self.flags & MPA_FLAG_CRC != 0
    }

    /// (IRD, ORD) without the control bits, for an enhanced revision 2 frame.
    pub fn ird_ord(&self) -> Option<(u16, u16)> {
        if self.revision != 2 || self.flags & MPA_FLAG_ENHANCED == 0 || self.private_data.len() < 4
        {
            return None;
        }
        let pd = &self.private_data;
        Some((
            u16::from_be_bytes([pd[0], pd[1]]) & MPA_V2_IRD_ORD_MASK,
            u16::from_be_bytes([pd[2], pd[3]]) & MPA_V2_IRD_ORD_MASK,
        ))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.private_data.len());
        out.extend_from_slice(if self.reply { MPA_KEY_REP } else { MPA_KEY_REQ });
        out.push(self.flags);
        out.push(self.revision);
        let pd_len = u16::try_from(self.private_data.len()).expect("private data too long");
        out.extend_from_slice(&pd_len.to_be_bytes());
        out.extend_from_slice(&self.private_data);
        out
    }

    /// Decode a whole frame (no trailing bytes allowed).
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < 20 {
            return None;
        }
        let reply = match &b[..16] {
            k if k == MPA_KEY_REQ => false,
            k if k == MPA_KEY_REP => true,
            _ => return None,
        };
        let pd_len = u16::from_be_bytes([b[18], b[19]]) as usize;
        if b.len() != 20 + pd_len {
            return None;
        }
        Some(Self {
            reply,
            flags: b[16],
            revision: b[17],
            private_data: b[20..].to_vec(),
        })
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
