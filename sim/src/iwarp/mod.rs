//! Remote-peer side of iWARP for the test bench, byte-exact to RFC 5040 (RDMAP),
//! RFC 5041 (DDP) and RFC 5044 (MPA), as Linux siw puts them on the wire and Wireshark
//! decodes them:
//!
//! - [`crc32c`]: table-driven CRC32c and its placement in the MPA trailer;
//! - [`frames`]: typed segments, FPDU encode/parse with distinct errors, segmentation,
//!   MPA Request/Reply frames;
//! - [`peer`]: a [`Peer`] per connection (MSNs per queue, Terminate read-back);
//! - [`pcap`]: Ethernet/IPv4/TCP pcap of everything both ways.

pub mod crc32c;
pub mod frames;
pub mod pcap;
pub mod peer;

pub use frames::{
    codes, fpdu, parse_fpdu, Body, Control, DdpHeader, Header, MpaFrame, Opcode, ParseError,
    ReadRequest, Segment, TermCode, Terminate,
};
pub use pcap::{Capture, Dir, MpaRev, SharedCapture, TcpConn};
pub use peer::{Peer, PeerError};
