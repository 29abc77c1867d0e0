//! Sparse model of host memory that remembers who wrote every byte.
//!
//! A 64-bit byte-addressed space stored as 4 KiB pages in a `HashMap`, created on
//! first touch. Every byte written through a DMA model ([`HostMemory::write_by`]) also
//! records its last [`Writer`] and how many times it was written: the scoreboard's
//! evidence that a segment landed exactly where it should, once, and nothing else was
//! touched. Plain [`HostMemory::write`] is the host CPU initialising memory: it changes
//! the bytes but not the records. Unwritten bytes read as the fill byte (0 unless set).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

/// Page size of the sparse store (also the AXI 4 KiB boundary).
pub const PAGE_SIZE: u64 = 4096;
const PAGE: usize = PAGE_SIZE as usize;

/// Who wrote a byte: opaque to the memory, meaningful to the test (for example
/// `source` = NIC number, `tag` = STag, `seq` = segment number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Writer {
    pub source: u32,
    pub tag: u64,
    pub seq: u64,
}

impl Writer {
    pub fn new(source: u32, tag: u64, seq: u64) -> Self {
        Writer { source, tag, seq }
    }
}

impl fmt::Display for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "source {} tag {:#x} seq {}",
            self.source, self.tag, self.seq
        )
    }
}

/// The record of one byte: its last writer and how many tracked writes it got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRecord {
    pub writer: Writer,
    pub count: u32,
}

/// A maximal run of consecutive bytes with the same record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrittenRun {
    pub start: u64,
    /// Exclusive.
    pub end: u64,
    pub writer: Writer,
    pub count: u32,
}

/// A failed memory assertion: which check, how many bytes fail, the first one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemCheckError {
    /// What was asserted, e.g. `bytes [0x1000, 0x1040) untouched`.
    pub check: String,
    pub bad_bytes: u64,
    pub first_addr: u64,
    /// The record of the first failing byte (`None`: never written).
    pub first: Option<ByteRecord>,
}

impl fmt::Display for MemCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} byte(s) fail, first at {:#x}: ",
            self.check, self.bad_bytes, self.first_addr
        )?;
        match self.first {
            None => f.write_str("never written"),
            Some(r) => write!(f, "written {} time(s), last by {}", r.count, r.writer),
        }
    }
}

impl std::error::Error for MemCheckError {}

struct Page {
    data: Box<[u8; PAGE]>,
    /// 0 = no tracked write; otherwise 1 + index into `HostMemory::writers`.
    who: Box<[u32; PAGE]>,
    count: Box<[u32; PAGE]>,
}

impl Page {
    fn new(fill: u8) -> Self {
        Page {
            data: Box::new([fill; PAGE]),
            who: Box::new([0; PAGE]),
            count: Box::new([0; PAGE]),
        }
    }
}

/// Sparse 64-bit host memory with per-byte write records.
pub struct HostMemory {
    pages: HashMap<u64, Page>,
    writers: Vec<Writer>,
    writer_ix: HashMap<Writer, u32>,
    fill: u8,
    tracked_writes: u64,
}

impl fmt::Debug for HostMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostMemory")
            .field("pages", &self.pages.len())
            .field("writers", &self.writers.len())
            .field("tracked_writes", &self.tracked_writes)
            .finish()
    }
}

impl Default for HostMemory {
    fn default() -> Self {
        Self::new()
    }
}

fn end_of(addr: u64, len: usize) -> u64 {
    addr.checked_add(len as u64).unwrap_or_else(|| {
        panic!("HostMemory: access of {len} bytes at {addr:#x} wraps the 64-bit address space")
    })
}

impl HostMemory {
    pub fn new() -> Self {
        HostMemory {
            pages: HashMap::new(),
            writers: Vec::new(),
            writer_ix: HashMap::new(),
            fill: 0,
            tracked_writes: 0,
        }
    }

    /// Value of never-written bytes (for pages created from now on; default 0).
    pub fn with_fill(mut self, fill: u8) -> Self {
        self.fill = fill;
        self
    }

    fn page_mut(&mut self, pn: u64) -> &mut Page {
        let fill = self.fill;
        self.pages.entry(pn).or_insert_with(|| Page::new(fill))
    }

    /// Split `[addr, addr+len)` into (page number, offset in page, offset in buffer, n).
    fn chunks(addr: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize, usize)> {
        end_of(addr, len);
        let mut done = 0usize;
        std::iter::from_fn(move || {
            if done >= len {
                return None;
            }
            let a = addr + done as u64;
            let off = (a % PAGE_SIZE) as usize;
            let n = (PAGE - off).min(len - done);
            let item = (a / PAGE_SIZE, off, done, n);
            done += n;
            Some(item)
        })
    }

    /// Host (CPU) write: changes the bytes, leaves the write records alone.
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        for (pn, off, at, n) in Self::chunks(addr, data.len()) {
            self.page_mut(pn).data[off..off + n].copy_from_slice(&data[at..at + n]);
        }
    }

    /// Tracked write (DMA): changes the bytes and records `writer` for each of them.
    pub fn write_by(&mut self, addr: u64, data: &[u8], writer: Writer) {
        let ix = match self.writer_ix.get(&writer) {
            Some(&i) => i,
            None => {
                self.writers.push(writer);
                let i = self.writers.len() as u32;
                self.writer_ix.insert(writer, i);
                i
            }
        };
        for (pn, off, at, n) in Self::chunks(addr, data.len()) {
            let p = self.page_mut(pn);
            p.data[off..off + n].copy_from_slice(&data[at..at + n]);
            p.who[off..off + n].fill(ix);
            for c in &mut p.count[off..off + n] {
                *c = c.saturating_add(1);
            }
        }
        self.tracked_writes += data.len() as u64;
    }

    /// Read `buf.len()` bytes at `addr`.
    pub fn read_into(&self, addr: u64, buf: &mut [u8]) {
        for (pn, off, at, n) in Self::chunks(addr, buf.len()) {
            match self.pages.get(&pn) {
                Some(p) => buf[at..at + n].copy_from_slice(&p.data[off..off + n]),
                None => buf[at..at + n].fill(self.fill),
            }
        }
    }

    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.read_into(addr, &mut v);
        v
    }

    pub fn read_u32(&self, addr: u64) -> u32 {
        let mut b = [0; 4];
        self.read_into(addr, &mut b);
        u32::from_le_bytes(b)
    }

    pub fn read_u64(&self, addr: u64) -> u64 {
        let mut b = [0; 8];
        self.read_into(addr, &mut b);
        u64::from_le_bytes(b)
    }

    /// Untracked little-endian store.
    pub fn write_u32(&mut self, addr: u64, v: u32) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Untracked little-endian store.
    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes());
    }

    /// The record of the byte at `addr` (`None`: no tracked write).
    pub fn record(&self, addr: u64) -> Option<ByteRecord> {
        let p = self.pages.get(&(addr / PAGE_SIZE))?;
        let off = (addr % PAGE_SIZE) as usize;
        match p.who[off] {
            0 => None,
            i => Some(ByteRecord {
                writer: self.writers[i as usize - 1],
                count: p.count[off],
            }),
        }
    }

    /// Total bytes written through [`HostMemory::write_by`] (with repeats).
    pub fn tracked_writes(&self) -> u64 {
        self.tracked_writes
    }

    /// Drop the write records in `range` (bytes keep their values), e.g. when a
    /// buffer is handed out again.
    pub fn forget_writes(&mut self, range: Range<u64>) {
        for pn in self.pages_in(&range) {
            let p = self.pages.get_mut(&pn).expect("listed page");
            let (lo, hi) = page_window(pn, &range);
            p.who[lo..hi].fill(0);
            p.count[lo..hi].fill(0);
        }
    }

    /// Existing pages that intersect `range`, ascending.
    fn pages_in(&self, range: &Range<u64>) -> Vec<u64> {
        if range.start >= range.end {
            return Vec::new();
        }
        let (first, last) = (range.start / PAGE_SIZE, (range.end - 1) / PAGE_SIZE);
        let mut v: Vec<u64> = if last - first < self.pages.len() as u64 {
            (first..=last)
                .filter(|p| self.pages.contains_key(p))
                .collect()
        } else {
            self.pages
                .keys()
                .copied()
                .filter(|p| (first..=last).contains(p))
                .collect()
        };
        v.sort_unstable();
        v
    }

    /// All runs of tracked bytes inside `range`, ascending, merged where neighbouring
    /// bytes have the same record.
    pub fn written_runs(&self, range: Range<u64>) -> Vec<WrittenRun> {
        let mut runs: Vec<WrittenRun> = Vec::new();
        for pn in self.pages_in(&range) {
            let p = &self.pages[&pn];
            let (lo, hi) = page_window(pn, &range);
            for off in lo..hi {
                let ix = p.who[off];
                if ix == 0 {
                    continue;
                }
                let addr = pn * PAGE_SIZE + off as u64;
                let (writer, count) = (self.writers[ix as usize - 1], p.count[off]);
                match runs.last_mut() {
                    Some(r) if r.end == addr && r.writer == writer && r.count == count => {
                        r.end += 1
                    }
                    _ => runs.push(WrittenRun {
                        start: addr,
                        end: addr + 1,
                        writer,
                        count,
                    }),
                }
            }
        }
        runs
    }

    /// Every tracked byte in the whole address space.
    pub fn all_written_runs(&self) -> Vec<WrittenRun> {
        self.written_runs(0..u64::MAX)
    }

    /// Check each byte of `range` with `ok`; bytes on absent pages count as never
    /// written.
    fn check_range(
        &self,
        range: Range<u64>,
        check: String,
        ok: impl Fn(Option<ByteRecord>) -> bool,
    ) -> Result<(), MemCheckError> {
        let mut bad = 0u64;
        let mut first: Option<(u64, Option<ByteRecord>)> = None;
        let mut note = |addr: u64, rec: Option<ByteRecord>, n: u64| {
            bad += n;
            if first.is_none() {
                first = Some((addr, rec));
            }
        };
        let pages = self.pages_in(&range);
        let untouched_ok = ok(None);
        let mut cursor = range.start;
        for pn in pages {
            let page_start = pn * PAGE_SIZE;
            if cursor < page_start && !untouched_ok {
                note(cursor, None, page_start - cursor);
            }
            let p = &self.pages[&pn];
            let (lo, hi) = page_window(pn, &range);
            for off in lo..hi {
                let rec = match p.who[off] {
                    0 => None,
                    i => Some(ByteRecord {
                        writer: self.writers[i as usize - 1],
                        count: p.count[off],
                    }),
                };
                if !ok(rec) {
                    note(page_start + off as u64, rec, 1);
                }
            }
            cursor = page_start + hi as u64;
        }
        if cursor < range.end && !untouched_ok {
            note(cursor, None, range.end - cursor);
        }
        match first {
            None => Ok(()),
            Some((first_addr, rec)) => Err(MemCheckError {
                check,
                bad_bytes: bad,
                first_addr,
                first: rec,
            }),
        }
    }

    /// No tracked write to any byte of `range`.
    pub fn assert_untouched(&self, range: Range<u64>) -> Result<(), MemCheckError> {
        let check = format!("bytes [{:#x}, {:#x}) untouched", range.start, range.end);
        self.check_range(range, check, |r| r.is_none())
    }

    /// Every byte of `range` written exactly once, by `writer`.
    pub fn assert_written_once_by(
        &self,
        range: Range<u64>,
        writer: Writer,
    ) -> Result<(), MemCheckError> {
        let check = format!(
            "bytes [{:#x}, {:#x}) written exactly once by {writer}",
            range.start, range.end
        );
        self.check_range(range, check, |r| {
            r.is_some_and(|r| r.count == 1 && r.writer == writer)
        })
    }

    /// Every byte of `range` written at least once, last by `writer`.
    pub fn assert_last_written_by(
        &self,
        range: Range<u64>,
        writer: Writer,
    ) -> Result<(), MemCheckError> {
        let check = format!(
            "bytes [{:#x}, {:#x}) last written by {writer}",
            range.start, range.end
        );
        self.check_range(range, check, |r| r.is_some_and(|r| r.writer == writer))
    }

    /// Every tracked byte in the address space lies inside one of `allowed`
    /// ("no byte outside a granted region").
    pub fn assert_writes_within(&self, allowed: &[Range<u64>]) -> Result<(), MemCheckError> {
        let outside: Vec<(u64, ByteRecord)> = self
            .all_written_runs()
            .into_iter()
            .flat_map(|r| {
                (r.start..r.end).map(move |a| {
                    (
                        a,
                        ByteRecord {
                            writer: r.writer,
                            count: r.count,
                        },
                    )
                })
            })
            .filter(|(a, _)| !allowed.iter().any(|g| g.contains(a)))
            .collect();
        match outside.first() {
            None => Ok(()),
            Some(&(addr, rec)) => {
                let list: Vec<String> = allowed
                    .iter()
                    .map(|g| format!("[{:#x}, {:#x})", g.start, g.end))
                    .collect();
                Err(MemCheckError {
                    check: format!("tracked writes only within {}", list.join(" ")),
                    bad_bytes: outside.len() as u64,
                    first_addr: addr,
                    first: Some(rec),
                })
            }
        }
    }
}

/// The part of page `pn` inside `range`, as offsets `[lo, hi)` in the page.
fn page_window(pn: u64, range: &Range<u64>) -> (usize, usize) {
    let start = pn * PAGE_SIZE;
    let lo = range.start.saturating_sub(start).min(PAGE_SIZE) as usize;
    let hi = (range.end - start).min(PAGE_SIZE) as usize;
    (lo, hi)
}

/// How BFMs and the test share one memory: single-threaded, like the test bench.
pub type SharedMemory = std::rc::Rc<std::cell::RefCell<HostMemory>>;

/// A new, empty [`SharedMemory`].
pub fn shared() -> SharedMemory {
    std::rc::Rc::new(std::cell::RefCell::new(HostMemory::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIC_A: Writer = Writer {
        source: 1,
        tag: 0x1234_5600,
        seq: 7,
    };
    const NIC_B: Writer = Writer {
        source: 2,
        tag: 0x2000_0100,
        seq: 0,
    };

    #[test]
    fn sparse_read_write_across_pages_and_high_addresses() {
        let mut m = HostMemory::new();
        let top = u64::MAX - 9;
        m.write(top, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(m.read(top, 9), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        m.write(0x1_0000_0ff0, &data);
        assert_eq!(m.read(0x1_0000_0ff0, data.len()), data);
        assert_eq!(m.read(0x5000, 4), [0; 4], "unwritten reads as fill");
        m.write_u64(0x40, 0x0102_0304_0506_0708);
        assert_eq!(m.read_u32(0x40), 0x0506_0708);
        assert_eq!(m.read_u64(0x40), 0x0102_0304_0506_0708);
        assert_eq!(HostMemory::new().with_fill(0xa5).read(0, 2), [0xa5, 0xa5]);
        assert!(
            m.all_written_runs().is_empty(),
            "host writes are not tracked"
        );
    }

    #[test]
    fn records_and_assertions() {
        let mut m = HostMemory::new();
        m.write_by(0x0ffc, &[0xaa; 8], NIC_A); // crosses a page
        m.write_by(0x1002, &[0xbb; 2], NIC_B); // overwrite two of them
        assert_eq!(
            m.record(0x0ffc),
            Some(ByteRecord {
                writer: NIC_A,
                count: 1
            })
        );
        assert_eq!(
            m.record(0x1003),
            Some(ByteRecord {
                writer: NIC_B,
                count: 2
            })
        );
        assert_eq!(m.record(0x1004), None);
        assert_eq!(m.tracked_writes(), 10);
        assert_eq!(
            m.written_runs(0..0x2000),
            [
                WrittenRun {
                    start: 0x0ffc,
                    end: 0x1002,
                    writer: NIC_A,
                    count: 1
                },
                WrittenRun {
                    start: 0x1002,
                    end: 0x1004,
                    writer: NIC_B,
                    count: 2
                },
            ]
        );
        m.assert_written_once_by(0x0ffc..0x1002, NIC_A).unwrap();
        m.assert_last_written_by(0x1002..0x1004, NIC_B).unwrap();
        m.assert_untouched(0..0x0ffc).unwrap();
        m.assert_untouched(0x1004..u64::MAX).unwrap();
        m.assert_writes_within(std::slice::from_ref(&(0x0ff0..0x1010)))
            .unwrap();

        let e = m.assert_written_once_by(0x0ffc..0x1008, NIC_A).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bytes [0xffc, 0x1008) written exactly once by source 1 tag 0x12345600 seq 7: \
             6 byte(s) fail, first at 0x1002: written 2 time(s), last by source 2 tag 0x20000100 seq 0"
        );
        let e = m.assert_untouched(0x1000..0x3000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bytes [0x1000, 0x3000) untouched: 4 byte(s) fail, first at 0x1000: \
             written 1 time(s), last by source 1 tag 0x12345600 seq 7"
        );
        let e = m.assert_written_once_by(0x7000..0x7010, NIC_A).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bytes [0x7000, 0x7010) written exactly once by source 1 tag 0x12345600 seq 7: \
             16 byte(s) fail, first at 0x7000: never written"
        );
        let e = m
            .assert_writes_within(std::slice::from_ref(&(0x0ffc..0x1000)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "tracked writes only within [0xffc, 0x1000): 4 byte(s) fail, first at 0x1000: \
             written 1 time(s), last by source 1 tag 0x12345600 seq 7"
        );
        m.forget_writes(0x1000..0x1004);
        m.assert_untouched(0x1000..0x2000).unwrap();
        assert_eq!(
            m.read(0x1002, 2),
            [0xbb, 0xbb],
            "forgetting keeps the bytes"
        );
    }
}
