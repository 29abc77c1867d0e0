//! Classic pcap (LINKTYPE_ETHERNET) of iWARP traffic: Ethernet II / IPv4 / TCP with correct
//! IPv4 header and TCP checksums, per-direction sequence and acknowledgement numbers, a
//! TCP three-way handshake, the MPA Request/Reply, then one FPDU per TCP segment.
//!
//! Wireshark finds the MPA layer with its TCP heuristic dissector (`iwarp_mpa`, enabled by
//! default): it recognises the MPA Request by its key, keeps per-conversation state, and
//! after the Reply dissects every further segment of that TCP conversation as one FPDU
//! (its CRC is checked only if the Request or the Reply set the C flag, so we set it).
//! The NIC's default port is 7174 (the `rping` default), which no Wireshark dissector
//! claims, so the heuristic runs.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::frames::MpaFrame;

pub const LINKTYPE_ETHERNET: u32 = 1;
pub const SNAPLEN: u32 = 262_144;
/// Default TCP port of the NIC side.
pub const NIC_PORT: u16 = 7174;

/// Writer of the classic pcap format (microsecond timestamps, native magic 0xa1b2c3d4
/// written little-endian).
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self { out })
    }

    pub fn record(&mut self, ts_us: u64, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len()).map_err(|_| io::Error::other("frame too long"))?;
        let caplen = len.min(SNAPLEN);
        let mut h = Vec::with_capacity(16);
        h.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        h.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        h.extend_from_slice(&caplen.to_le_bytes());
        h.extend_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&frame[..caplen as usize])
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One end of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub mac: [u8; 6],
    pub ip: [u8; 4],
    pub port: u16,
}

/// Direction of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    PeerToNic,
    NicToPeer,
}

impl Dir {
    fn index(self) -> usize {
        match self {
            Dir::PeerToNic => 0,
            Dir::NicToPeer => 1,
        }
    }
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

/// Ones-complement sum folded to 16 bits (RFC 1071), not yet inverted.
fn ones_sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = chunks.remainder() {
        acc += (*b as u32) << 8;
    }
    while acc >> 16 != 0 {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    acc
}

/// Internet checksum of `data` (checksum field zeroed by the caller).
pub fn inet_checksum(data: &[u8]) -> u16 {
    !(ones_sum(0, data) as u16)
}

/// TCP checksum over the IPv4 pseudo header and `segment` (checksum field zeroed).
pub fn tcp_checksum(src: [u8; 4], dst: [u8; 4], segment: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.push(0);
    pseudo.push(6);
    pseudo.extend_from_slice(&(segment.len() as u16).to_be_bytes());
    !(ones_sum(ones_sum(0, &pseudo), segment) as u16)
}

/// Build one Ethernet/IPv4/TCP frame (20-byte IP and TCP headers, DF set, TTL 64,
/// window 65535).
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src: &Endpoint,
    dst: &Endpoint,
    ip_id: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> io::Result<Vec<u8>> {
    let tcp_len = 20 + payload.len();
    let ip_len = u16::try_from(20 + tcp_len)
        .map_err(|_| io::Error::other("TCP payload too long for IPv4"))?;
    let mut f = Vec::with_capacity(14 + ip_len as usize);
    f.extend_from_slice(&dst.mac);
    f.extend_from_slice(&src.mac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let ip_start = f.len();
    f.extend_from_slice(&[0x45, 0x00]);
    f.extend_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&ip_id.to_be_bytes());
    f.extend_from_slice(&0x4000u16.to_be_bytes()); // DF
    f.extend_from_slice(&[64, 6, 0, 0]);
    f.extend_from_slice(&src.ip);
    f.extend_from_slice(&dst.ip);
    let ip_csum = inet_checksum(&f[ip_start..ip_start + 20]);
    f[ip_start + 10..ip_start + 12].copy_from_slice(&ip_csum.to_be_bytes());
    let tcp_start = f.len();
    f.extend_from_slice(&src.port.to_be_bytes());
    f.extend_from_slice(&dst.port.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.push(5 << 4);
    f.push(flags);
    f.extend_from_slice(&65535u16.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    f.extend_from_slice(payload);
    let csum = tcp_checksum(src.ip, dst.ip, &f[tcp_start..]);
    f[tcp_start + 16..tcp_start + 18].copy_from_slice(&csum.to_be_bytes());
    Ok(f)
}

/// Sequence-number state of one TCP connection between the peer and the NIC.
#[derive(Clone, Debug)]
pub struct TcpConn {
    ends: [Endpoint; 2],
    next_seq: [u32; 2],
    ip_id: [u16; 2],
}

impl TcpConn {
    pub fn new(peer: Endpoint, nic: Endpoint, isn_peer: u32, isn_nic: u32) -> Self {
        Self {
            ends: [peer, nic],
            next_seq: [isn_peer, isn_nic],
            ip_id: [1, 1],
        }
    }

    /// Distinct addresses per connection number `n`: peer 10.0.1.x port 40000+n, NIC
    /// 10.0.0.1 port [`NIC_PORT`].
    pub fn numbered(n: u16) -> Self {
        let peer = Endpoint {
            mac: [0x02, 0, 0, 0, 0x01, 0x02],
            ip: [10, 0, 1, (n % 250) as u8 + 2],
            port: 40000u16.wrapping_add(n),
        };
        let nic = Endpoint {
            mac: [0x02, 0, 0, 0, 0x00, 0x01],
            ip: [10, 0, 0, 1],
            port: NIC_PORT,
        };
        Self::new(
            peer,
            nic,
            0x1000_0000u32.wrapping_add((n as u32) << 16),
            0x8000_0000u32.wrapping_add((n as u32) << 16),
        )
    }

    pub fn endpoint(&self, dir: Dir) -> Endpoint {
        self.ends[dir.index()]
    }

    /// Next sequence number the sender in `dir` will use.
    pub fn next_seq(&self, dir: Dir) -> u32 {
        self.next_seq[dir.index()]
    }

    /// One segment from the sender in `dir`; `ack` is the other side's next sequence number
    /// when the ACK flag is set. SYN and FIN take one sequence number each.
    pub fn segment(&mut self, dir: Dir, flags: u8, payload: &[u8]) -> io::Result<Vec<u8>> {
        let (s, d) = (dir.index(), 1 - dir.index());
        let seq = self.next_seq[s];
        let ack = if flags & TCP_ACK != 0 {
            self.next_seq[d]
        } else {
            0
        };
        let f = tcp_frame(
            &self.ends[s],
            &self.ends[d],
            self.ip_id[s],
            seq,
            ack,
            flags,
            payload,
        )?;
        self.ip_id[s] = self.ip_id[s].wrapping_add(1);
        let used = payload.len() as u32 + u32::from(flags & (TCP_SYN | TCP_FIN) != 0);
        self.next_seq[s] = seq.wrapping_add(used);
        Ok(f)
    }

    /// SYN (peer), SYN+ACK (NIC), ACK (peer).
    pub fn handshake(&mut self) -> io::Result<Vec<Vec<u8>>> {
        Ok(vec![
            self.segment(Dir::PeerToNic, TCP_SYN, &[])?,
            self.segment(Dir::NicToPeer, TCP_SYN | TCP_ACK, &[])?,
            self.segment(Dir::PeerToNic, TCP_ACK, &[])?,
        ])
    }

    /// A data segment (PSH+ACK).
    pub fn data(&mut self, dir: Dir, payload: &[u8]) -> io::Result<Vec<u8>> {
        self.segment(dir, TCP_PSH | TCP_ACK, payload)
    }
}

/// Which MPA revision the start-up uses. Both sides ask for CRC, neither for markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MpaRev {
    /// RFC 5044 revision 1, no private data.
    V1,
    /// Revision 2 as Linux siw sends it: enhanced flag, IRD/ORD in the private data (no
    /// peer-to-peer RTR, siw's default). The reply carries the same IRD/ORD.
    V2 { ird: u16, ord: u16 },
}

impl MpaRev {
    /// (Request from the peer, Reply from the NIC).
    pub fn frames(self) -> (MpaFrame, MpaFrame) {
        match self {
            MpaRev::V1 => (
                MpaFrame::v1(false, true, Vec::new()),
                MpaFrame::v1(true, true, Vec::new()),
            ),
            MpaRev::V2 { ird, ord } => (
                MpaFrame::v2(false, true, ird, ord, false, &[]),
                // The responder's IRD answers the initiator's ORD and vice versa.
                MpaFrame::v2(true, true, ord, ird, false, &[]),
            ),
        }
    }
}

/// A pcap file being written; frames get increasing timestamps (1 us apart unless set).
/// I/O errors are kept and reported by [`Capture::flush`].
pub struct Capture {
    w: PcapWriter<BufWriter<File>>,
    path: PathBuf,
    clock_us: u64,
    err: Option<io::Error>,
    frames: u64,
}

/// A capture shared by several connections (peers).
pub type SharedCapture = Arc<Mutex<Capture>>;

impl Capture {
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let w = PcapWriter::new(BufWriter::new(File::create(&path)?))?;
        Ok(Self {
            w,
            path,
            clock_us: 1_700_000_000_000_000,
            err: None,
            frames: 0,
        })
    }

    pub fn shared(self) -> SharedCapture {
        Arc::new(Mutex::new(self))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Set the timestamp of the next frame (must not go backwards; ignored if it does).
    pub fn set_time_us(&mut self, t: u64) {
        self.clock_us = self.clock_us.max(t);
    }

    /// Append one Ethernet frame.
    pub fn frame(&mut self, eth: &[u8]) {
        if self.err.is_some() {
            return;
        }
        if let Err(e) = self.w.record(self.clock_us, eth) {
            self.err = Some(e);
        }
        self.clock_us += 1;
        self.frames += 1;
    }

    /// Record a frame-building result, keeping its error if any.
    pub fn frame_result(&mut self, f: io::Result<Vec<u8>>) {
        match f {
            Ok(f) => self.frame(&f),
            Err(e) => {
                self.err.get_or_insert(e);
            }
        }
    }

    /// Flush to disk and report the first error met so far.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        self.w.flush()
    }
}

/// The recording side of one connection: its TCP state and the shared file.
pub struct ConnCapture {
    pub cap: SharedCapture,
    pub tcp: TcpConn,
}

impl ConnCapture {
    /// Write the TCP handshake and the MPA Request (peer) and Reply (NIC).
    pub fn start(cap: SharedCapture, mut tcp: TcpConn, req: &MpaFrame, rep: &MpaFrame) -> Self {
        {
            let mut c = cap.lock().unwrap();
            match tcp.handshake() {
                Ok(fs) => fs.iter().for_each(|f| c.frame(f)),
                Err(e) => c.frame_result(Err(e)),
            }
            c.frame_result(tcp.data(Dir::PeerToNic, &req.encode()));
            c.frame_result(tcp.data(Dir::NicToPeer, &rep.encode()));
        }
        Self { cap, tcp }
    }

    /// Record one FPDU (or any payload) as its own TCP segment.
    pub fn record(&mut self, dir: Dir, payload: &[u8]) {
        let f = self.tcp.data(dir, payload);
        self.cap.lock().unwrap().frame_result(f);
    }
}

/// Run tshark on `file` the way our tests read a capture: IPv4 and TCP
/// checksums validated, and the RPC-over-RDMA and SMB-Direct heuristics
/// off (Wireshark 4.0 calls short Send payloads malformed RPCoRDMA before
/// checking they are RPC at all). Returns stdout; panics with tshark's
/// stderr if it fails or cannot run.
pub fn tshark(args: &[&str], file: &std::path::Path) -> String {
    let out = std::process::Command::new("tshark")
        .args([
            "-n",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
        ])
        .args([
            "--disable-heuristic",
            "rpcrdma_iwarp",
            "--disable-heuristic",
            "smb_direct_iwarp",
            "-r",
        ])
        .arg(file)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("tshark not runnable ({e}); scripts/test.sh installs it"));
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark prints UTF-8")
}

/// `tshark -V` of `file`, after checking it decodes cleanly: no malformed
/// frame, no error-level expert info, no bad checksum or CRC, nothing
/// unknown, and exactly `fpdus` FPDUs with a good CRC32c.
pub fn tshark_clean_decode(file: &std::path::Path, fpdus: usize) -> String {
    let v = tshark(&["-V"], file);
    for bad in [
        "Malformed",
        "[Expert Info (Error",
        "Bad CRC32",
        "incorrect",
        "status: Bad]",
        "Status: Bad]",
        "Unknown",
    ] {
        if let Some(i) = v.find(bad) {
            panic!(
                "tshark -V shows {bad:?}: ...{}...",
                &v[i.saturating_sub(800)..(i + 200).min(v.len())]
            );
        }
    }
    assert_eq!(
        v.matches("(Good CRC32)").count(),
        fpdus,
        "every FPDU's CRC checked and good"
    );
    v
}
