//! `stag_regs` (the STag table's AXI4-Lite register window) in front of a
//! `stag_table`, as `stag_regs_top`, driven only through `s_axil_*` by
//! `sim::axi::AxilMaster` with an `AxilChecker` on the port every cycle.
//!
//! The driver side uses the generated constants `sim::regs::stag` (what a
//! driver model gets), and every command's outcome (status, STag, entry,
//! evicted flag, count, listed entries, eviction counter) is compared at the
//! transaction level with the table's reference model
//! (`testbench::models::stag_table::StagTable`). `SEED=<n>` replays the
//! random test; `WAVES=1` writes `target/waves/<test>.vcd`.

use rand::Rng;
use sim::axi::{step_all, AxilChecker, AxilKind, AxilMaster, RESP_OKAY, RESP_SLVERR};
use sim::pattern::Pattern;
use sim::regs::stag as R;
use sim::{Model, Port};
use testbench::models::stag_table::*;

use hdl::blocks::stag_regs::{elaborate_top, StagRegsParams};

/// Small table: 16 own entries, 4 foreign slots, latency 2, narrow fields
/// (DMA 40 bits, length 20, PD 12), list FIFO of 2.
fn small() -> (StagConfig, u32) {
    (
        StagConfig {
            entries: 16,
            foreign_entries: 4,
            nic_id_bits: 4,
            lookup_latency: 2,
            pd_bits: 12,
            len_bits: 20,
            dma_addr_bits: 40,
            nic_id: 5,
        },
        2,
    )
}

/// Wider table: 64 own entries, 8 foreign slots, latency 3, every field at
/// its widest (DMA 64, length 64, PD 32), list FIFO of 4.
fn wide() -> (StagConfig, u32) {
    (
        StagConfig {
            entries: 64,
            foreign_entries: 8,
            nic_id_bits: 8,
            lookup_latency: 3,
            pd_bits: 32,
            len_bits: 64,
            dma_addr_bits: 64,
            nic_id: 0xa7,
        },
        4,
    )
}

/// What a command answered, as read back through the registers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    resp: CmdResp,
    beats: Vec<ListBeat>,
}

struct Bench {
    m: Model,
    bus: AxilMaster,
    chk: AxilChecker,
    cfg: StagConfig,
    model: StagTable,
    rst: Port,
    /// Commands run (for messages).
    n: u64,
}

impl Bench {
    fn new((cfg, depth): (StagConfig, u32), test: &str) -> Bench {
        let p = StagRegsParams {
            name: "stag_regs".into(),
            table: cfg.params(),
            list_fifo_depth: depth,
            export: false,
        };
        let top = elaborate_top(&p).unwrap_or_else(|e| panic!("elaborate: {e}"));
        let mut design = hdl::Design::default();
        design.add(&top).unwrap();
        let mut m =
            testbench::dut::load(&design, "stag_regs_top", test).unwrap_or_else(|e| panic!("{e}"));
        let nic = m.port("nic_id").unwrap();
        m.set(nic, cfg.nic_id as u64);
        let lv = m.port("lookup_valid").unwrap();
        m.set(lv, 0);
        let rst = m.port("rst").unwrap();
        let bus = AxilMaster::new(&m, "s_axil").unwrap();
        let chk = AxilChecker::new(&m, "s_axil").unwrap();
        let mut b = Bench {
            m,
            bus,
            chk,
            model: StagTable::new(cfg.clone()),
            cfg,
            rst,
            n: 0,
        };
        b.reset();
        b
    }

    fn reset(&mut self) {
        self.m.set(self.rst, 1);
        for _ in 0..2 {
            self.step();
        }
        self.m.set(self.rst, 0);
        self.model.reset();
    }

    fn step(&mut self) {
        if let Err(e) = step_all(&mut self.m, &mut [&mut self.bus, &mut self.chk]) {
            panic!("AXI4-Lite protocol: {e}");
        }
    }

    fn run(&mut self) {
        let start = self.m.cycle();
        while !self.bus.idle() {
            self.step();
            assert!(
                self.m.cycle() - start < 10_000,
                "AXI4-Lite access stuck for 10000 cycles (cycle {})",
                self.m.cycle()
            );
        }
    }

    fn write_resp(&mut self, off: u64, v: u32, strb: u64) -> u8 {
        let t = self.bus.write_strb(R::BASE + off, v as u64, strb);
        self.run();
        let r = self.bus.take(t).unwrap();
        assert_eq!(r.kind, AxilKind::Write);
        r.resp
    }

    fn write(&mut self, off: u64, v: u32) {
        let resp = self.write_resp(off, v, 0xf);
        assert_eq!(
            resp,
            RESP_OKAY,
            "write {v:#x} to {off:#04x} at cycle {}",
            self.m.cycle()
        );
    }

    fn read_resp(&mut self, off: u64) -> (u32, u8) {
        let t = self.bus.read(R::BASE + off);
        self.run();
        let r = self.bus.take(t).unwrap();
        (r.data as u32, r.resp)
    }

    fn read(&mut self, off: u64) -> u32 {
        let (v, resp) = self.read_resp(off);
        assert_eq!(
            resp,
            RESP_OKAY,
            "read of {off:#04x} at cycle {}",
            self.m.cycle()
        );
        v
    }

    fn read64(&mut self, lo: u64, hi: u64) -> u64 {
        self.read(lo) as u64 | (self.read(hi) as u64) << 32
    }

    fn field(v: u32, mask: u32, shift: u32) -> u32 {
        (v & mask) >> shift
    }

    /// Load a command, GO, wait for it (draining the list cursor on a
    /// LIST), read the response. Only the registers of `sim::regs`.
    fn cmd_regs(&mut self, op: u8, stag: u32, e: Entry) -> Outcome {
        self.write(R::CMD_OP_OFFSET, op as u32);
        self.write(R::CMD_STAG_OFFSET, stag);
        self.write(R::CMD_DMA_BASE_LO_OFFSET, e.dma_base as u32);
        self.write(R::CMD_DMA_BASE_HI_OFFSET, (e.dma_base >> 32) as u32);
        self.write(R::CMD_VA_BASE_LO_OFFSET, e.va_base as u32);
        self.write(R::CMD_VA_BASE_HI_OFFSET, (e.va_base >> 32) as u32);
        self.write(R::CMD_LENGTH_LO_OFFSET, e.length as u32);
        self.write(R::CMD_LENGTH_HI_OFFSET, (e.length >> 32) as u32);
        self.write(R::CMD_PD_OFFSET, e.pd);
        self.write(
            R::CMD_ATTR_OFFSET,
            (e.rights as u32) << R::CMD_ATTR_RIGHTS_SHIFT
                | (e.remote_inv as u32) << R::CMD_ATTR_REMOTE_INV_SHIFT,
        );
        self.write(R::GO_OFFSET, R::GO_GO_MASK);
        let list = op == Op::LIST.0;
        let mut beats = Vec::new();
        let start = self.m.cycle();
        let status = loop {
            if list {
                self.list_next(&mut beats);
            }
            let s = self.read(R::STATUS_OFFSET);
            if s & R::STATUS_BUSY_MASK == 0 {
                break s;
            }
            assert!(
                self.m.cycle() - start < 100_000,
                "command {op} still BUSY after 100000 cycles"
            );
        };
        if list {
            while self.list_next(&mut beats) {}
        }
        assert_ne!(
            status & R::STATUS_DONE_MASK,
            0,
            "STATUS {status:#x}: BUSY 0 but not DONE"
        );
        assert_eq!(
            status & R::STATUS_GO_WHILE_BUSY_MASK,
            0,
            "STATUS {status:#x}"
        );
        let resp = CmdResp {
            status: Status(Self::field(status, R::STATUS_CODE_MASK, R::STATUS_CODE_SHIFT) as u8),
            stag: Stag(self.read(R::RESP_STAG_OFFSET)),
            entry: self
                .entry_at(
                    [
                        R::RESP_DMA_BASE_LO_OFFSET,
                        R::RESP_DMA_BASE_HI_OFFSET,
                        R::RESP_VA_BASE_LO_OFFSET,
                        R::RESP_VA_BASE_HI_OFFSET,
                        R::RESP_LENGTH_LO_OFFSET,
                        R::RESP_LENGTH_HI_OFFSET,
                        R::RESP_PD_OFFSET,
                    ],
                    R::RESP_ATTR_OFFSET,
                )
                .0,
            evicted: status & R::STATUS_EVICTED_MASK != 0,
            count: self.read(R::RESP_COUNT_OFFSET) & R::RESP_COUNT_COUNT_MASK,
        };
        Outcome { resp, beats }
    }

    /// An entry from its registers `[dma lo, hi, va lo, hi, len lo, hi, pd]`
    /// and attribute register; also the attribute word.
    fn entry_at(&mut self, r: [u64; 7], attr: u64) -> (Entry, u32) {
        let a = self.read(attr);
        (
            Entry {
                dma_base: self.read64(r[0], r[1]),
                va_base: self.read64(r[2], r[3]),
                length: self.read64(r[4], r[5]),
                pd: self.read(r[6]),
                rights: Self::field(a, R::RESP_ATTR_RIGHTS_MASK, R::RESP_ATTR_RIGHTS_SHIFT) as u8,
                remote_inv: a & R::RESP_ATTR_REMOTE_INV_MASK != 0,
            },
            a,
        )
    }

    /// Read `LIST_NEXT`; when it moved an entry into the window, read the
    /// window into `beats`. Returns VALID.
    fn list_next(&mut self, beats: &mut Vec<ListBeat>) -> bool {
        let v = self.read(R::LIST_NEXT_OFFSET);
        assert_eq!(
            v & !R::LIST_NEXT_VALID_MASK,
            0,
            "LIST_NEXT {v:#x}: bits outside VALID"
        );
        if v & R::LIST_NEXT_VALID_MASK == 0 {
            return false;
        }
        let stag = Stag(self.read(R::LIST_STAG_OFFSET));
        let (entry, a) = self.entry_at(
            [
                R::LIST_DMA_BASE_LO_OFFSET,
                R::LIST_DMA_BASE_HI_OFFSET,
                R::LIST_VA_BASE_LO_OFFSET,
                R::LIST_VA_BASE_HI_OFFSET,
                R::LIST_LENGTH_LO_OFFSET,
                R::LIST_LENGTH_HI_OFFSET,
                R::LIST_PD_OFFSET,
            ],
            R::LIST_ATTR_OFFSET,
        );
        beats.push(ListBeat {
            stag,
            entry,
            pad: 0,
            last: a & R::LIST_ATTR_LAST_MASK != 0,
        });
        true
    }

    /// The reference model's answer to one command (no lookups meanwhile).
    fn model_cmd(&mut self, op: u8, stag: u32, e: Entry) -> Outcome {
        assert!(self.model.is_idle());
        let mut i = Inputs {
            cmd_valid: true,
            cmd_op: op,
            cmd_stag: stag,
            cmd_entry: e,
            list_tready: true,
            ..Inputs::default()
        };
        self.model.clock(&i, false);
        i.cmd_valid = false;
        let beats = self.model.take_new_beats();
        for _ in 0..1_000_000 {
            if self.model.is_empty_list_pending() {
                self.model.finish_empty_list();
            }
            if let ExpResp::Some(resp) = self.model.expected().resp {
                i.resp_ready = true;
                self.model.clock(&i, false);
                return Outcome { resp, beats };
            }
            let beat = matches!(self.model.list_progress(), Some((taken, reads)) if taken < reads);
            self.model.clock(&i, beat);
        }
        panic!("reference model: no response to op {op}");
    }

    /// Run a command on both and compare; returns the outcome.
    fn cmd(&mut self, op: u8, stag: u32, e: Entry) -> Outcome {
        self.n += 1;
        let e = self.cfg.fit(e);
        let want = self.model_cmd(op, stag, e);
        let got = self.cmd_regs(op, stag, e);
        assert_eq!(
            got,
            want,
            "command #{} {:?} {:?} {e:?} (cycle {}): registers (left) differ from the reference model (right)",
            self.n,
            Op(op),
            Stag(stag),
            self.m.cycle()
        );
        let ev = self.read(R::EVICTIONS_OFFSET);
        assert_eq!(
            ev,
            self.model.evictions(),
            "EVICTIONS after command #{}",
            self.n
        );
        got
    }

    fn entry(&self, n: u64) -> Entry {
        self.cfg.fit(Entry {
            dma_base: 0x1234_5678_0000_1000 + n * 0x1000,
            va_base: 0xfeed_0000_0000_0000 ^ n,
            length: 0x9876_5432_0000_0100 + n,
            pd: 0x8000_0007 + n as u32,
            rights: (n % 16) as u8,
            remote_inv: n % 2 == 1,
        })
    }

    fn finish(&mut self) {
        for _ in 0..4 {
            self.step();
        }
        self.chk.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(self.bus.pop_result(), None, "every AXI4-Lite result taken");
    }
}

#[test]
fn the_generated_constants_are_the_description() {
    // sim::regs (committed, generated) against the description in hdl.
    let map = hdl::blocks::stag_regs::regmap();
    let names: Vec<(&str, u64)> = map
        .by_offset()
        .iter()
        .map(|r| (r.name.as_str(), r.offset()))
        .collect();
    assert_eq!(
        R::REGISTERS.to_vec(),
        names,
        "run `cargo run --release -- regs`"
    );
    assert_eq!(R::SIZE, map.size());
}

#[test]
fn reset_values_and_the_address_map() {
    let mut b = Bench::new(small(), "stag_regs_reset_and_map");
    let map = hdl::blocks::stag_regs::regmap();
    for r in &map.registers {
        let (v, resp) = b.read_resp(r.offset());
        assert_eq!(
            (v, resp),
            (r.reset(), RESP_OKAY),
            "register {} after reset",
            r.name
        );
    }
    // Every aligned offset with no register, and unaligned ones: SLVERR,
    // data 0, for reads and writes; nothing changes.
    let mapped: Vec<u64> = R::REGISTERS.iter().map(|(_, o)| *o).collect();
    b.write(R::CMD_STAG_OFFSET, 0x5a5a_0001);
    let mut holes = 0;
    for off in (0..R::SIZE)
        .step_by(4)
        .filter(|o| !mapped.contains(o))
        .chain([0x01, 0x02, 0x07, 0x42, 0x83])
    {
        assert_eq!(
            b.read_resp(off),
            (0, RESP_SLVERR),
            "read of unmapped {off:#04x}"
        );
        assert_eq!(
            b.write_resp(off, 0xffff_ffff, 0xf),
            RESP_SLVERR,
            "write to unmapped {off:#04x}"
        );
        holes += 1;
    }
    assert!(holes > 20);
    // Writes to registers without a writable field: SLVERR, no effect (a
    // write to LIST_NEXT does not pop, one to RESP_STAG does not change it).
    for off in [
        R::EVICTIONS_OFFSET,
        R::RESP_STAG_OFFSET,
        R::RESP_COUNT_OFFSET,
        R::LIST_NEXT_OFFSET,
        R::LIST_ATTR_OFFSET,
    ] {
        assert_eq!(
            b.write_resp(off, 0xffff_ffff, 0xf),
            RESP_SLVERR,
            "write to read-only {off:#04x}"
        );
    }
    assert_eq!(
        b.read(R::CMD_STAG_OFFSET),
        0x5a5a_0001,
        "an unmapped write changed CMD_STAG"
    );
    assert_eq!(b.read(R::RESP_STAG_OFFSET), 0);
    // GO reads 0 (CMD), STATUS still idle.
    assert_eq!(b.read(R::GO_OFFSET), 0);
    assert_eq!(b.read(R::STATUS_OFFSET), R::STATUS_RESET);
    b.finish();
}

#[test]
fn command_registers_read_back_with_byte_strobes() {
    let mut b = Bench::new(wide(), "stag_regs_readback");
    let map = hdl::blocks::stag_regs::regmap();
    for r in map.registers.iter().filter(|r| r.name.starts_with("CMD_")) {
        let mask = r.fields.iter().fold(0u64, |m, f| m | f.mask()) as u32;
        b.write(r.offset(), 0xffff_ffff);
        assert_eq!(
            b.read(r.offset()),
            mask,
            "{}: only its fields' bits",
            r.name
        );
        b.write(r.offset(), 0);
        b.write_resp(r.offset(), 0xa5c3_3c5a, 0b0101);
        assert_eq!(
            b.read(r.offset()),
            0x00c3_005a & mask,
            "{}: strobes 0101",
            r.name
        );
        b.write_resp(r.offset(), 0x1234_5678, 0b1010);
        assert_eq!(
            b.read(r.offset()),
            0x12c3_565a & mask,
            "{}: strobes 1010 keep the other bytes",
            r.name
        );
    }
    b.finish();
}

#[test]
fn register_query_invalidate_deregister_install_list() {
    let mut b = Bench::new(small(), "stag_regs_directed");
    let cfg = b.cfg.clone();
    let foreign = |entry: u32, key: u8| cfg.make_stag(9, entry, key);
    let (f1, f2) = (foreign(1, 3), foreign(2, 4));
    // An empty LIST: count 0, nothing in the cursor.
    let o = b.cmd(Op::LIST.0, 0, Entry::default());
    assert_eq!(
        (o.resp.status, o.resp.count, o.beats.len()),
        (Status::OK, 0, 0)
    );
    // REGISTER three regions; STags entry 0, 1, 2 with key 0.
    let s: Vec<u32> = (0..3)
        .map(|n| b.cmd(Op::REGISTER.0, 0, b.entry(n)).resp.stag.0)
        .collect();
    assert_eq!(
        s,
        [
            b.cfg.own_stag(0, 0),
            b.cfg.own_stag(1, 0),
            b.cfg.own_stag(2, 0)
        ]
    );
    let q = b.cmd(Op::QUERY.0, s[1], Entry::default());
    assert_eq!((q.resp.status, q.resp.entry), (Status::OK, b.entry(1)));
    // INVALIDATE, then QUERY says UNKNOWN; DEREGISTER frees it.
    assert_eq!(
        b.cmd(Op::INVALIDATE.0, s[1], Entry::default()).resp.status,
        Status::OK
    );
    assert_eq!(
        b.cmd(Op::QUERY.0, s[1], Entry::default()).resp.status,
        Status::UNKNOWN
    );
    assert_eq!(
        b.cmd(Op::DEREGISTER.0, s[1], Entry::default()).resp.status,
        Status::OK
    );
    assert_eq!(
        b.cmd(Op::DEREGISTER.0, s[1], Entry::default()).resp.status,
        Status::UNKNOWN
    );
    // The freed entry comes back with the next key.
    let again = b.cmd(Op::REGISTER.0, 0, b.entry(7)).resp.stag.0;
    assert_eq!(again, b.cfg.own_stag(1, 1));
    // INSTALL foreign STags: OK, DUPLICATE, NOT_FOREIGN; QUERY of one: NOT_OWN.
    assert_eq!(
        b.cmd(Op::INSTALL.0, f1, b.entry(11)).resp.status,
        Status::OK
    );
    assert_eq!(
        b.cmd(Op::INSTALL.0, f1, b.entry(11)).resp.status,
        Status::DUPLICATE
    );
    assert_eq!(
        b.cmd(Op::INSTALL.0, s[0], b.entry(11)).resp.status,
        Status::NOT_FOREIGN
    );
    assert_eq!(
        b.cmd(Op::QUERY.0, f1, Entry::default()).resp.status,
        Status::NOT_OWN
    );
    // Fill the 4 foreign slots and one more: evicted, counted.
    for k in 0..3u32 {
        assert!(
            !b.cmd(Op::INSTALL.0, foreign(3 + k, 0), b.entry(20))
                .resp
                .evicted
        );
    }
    let o = b.cmd(Op::INSTALL.0, f2, b.entry(12));
    assert!(o.resp.evicted, "{o:?}");
    assert_eq!(b.read(R::EVICTIONS_OFFSET), 1);
    // A malformed STag and a reserved opcode.
    let bad = b.cfg.own_stag(1, 0) | 1 << (8 + b.cfg.entry_bits());
    assert_eq!(
        b.cmd(Op::QUERY.0, bad, Entry::default()).resp.status,
        Status::MALFORMED
    );
    assert_eq!(b.cmd(6, 0, Entry::default()).resp.status, Status::BAD_OP);
    // LIST through the cursor: entries 0, 1 (new key), 2, in entry order.
    let l = b.cmd(Op::LIST.0, 0, Entry::default());
    assert_eq!(l.resp.count, 3);
    assert_eq!(
        l.beats
            .iter()
            .map(|x| (x.stag.0, x.last))
            .collect::<Vec<_>>(),
        [(s[0], false), (again, false), (s[2], true)]
    );
    // Fill the table: FULL.
    for n in 0..13 {
        assert_eq!(
            b.cmd(Op::REGISTER.0, 0, b.entry(40 + n)).resp.status,
            Status::OK
        );
    }
    assert_eq!(
        b.cmd(Op::REGISTER.0, 0, b.entry(60)).resp.status,
        Status::FULL
    );
    let l = b.cmd(Op::LIST.0, 0, Entry::default());
    assert_eq!((l.resp.count, l.beats.len()), (16, 16));
    b.finish();
}

#[test]
fn go_while_busy_is_ignored_and_flagged() {
    let mut b = Bench::new(small(), "stag_regs_go_busy");
    for n in 0..10 {
        b.cmd(Op::REGISTER.0, 0, b.entry(n));
    }
    // LIST: the FIFO (2 entries) fills and the table waits, so BUSY stays.
    b.write(R::CMD_OP_OFFSET, Op::LIST.0 as u32);
    b.write(R::GO_OFFSET, 1);
    for _ in 0..50 {
        b.step();
    }
    let s = b.read(R::STATUS_OFFSET);
    assert_eq!(
        s & (R::STATUS_BUSY_MASK | R::STATUS_DONE_MASK),
        R::STATUS_BUSY_MASK,
        "STATUS {s:#x}"
    );
    // GO of a REGISTER now: ignored, GO_WHILE_BUSY set.
    b.write(R::CMD_OP_OFFSET, Op::REGISTER.0 as u32);
    b.write(R::GO_OFFSET, 1);
    let s = b.read(R::STATUS_OFFSET);
    assert_ne!(s & R::STATUS_GO_WHILE_BUSY_MASK, 0, "STATUS {s:#x}");
    assert_ne!(s & R::STATUS_BUSY_MASK, 0);
    // Drain the list: all ten, the LIST's response.
    let mut beats = Vec::new();
    loop {
        b.list_next(&mut beats);
        if b.read(R::STATUS_OFFSET) & R::STATUS_BUSY_MASK == 0 {
            break;
        }
    }
    while b.list_next(&mut beats) {}
    b.model_cmd(Op::LIST.0, 0, Entry::default());
    assert_eq!(beats, b.model.list());
    assert_eq!(b.read(R::RESP_COUNT_OFFSET), 10);
    // W1C: writing 0, or 1 without its byte strobe, keeps it; 1 clears it.
    b.write(R::STATUS_OFFSET, 0);
    assert_ne!(b.read(R::STATUS_OFFSET) & R::STATUS_GO_WHILE_BUSY_MASK, 0);
    assert_eq!(
        b.write_resp(R::STATUS_OFFSET, R::STATUS_GO_WHILE_BUSY_MASK, 0b1011),
        RESP_OKAY
    );
    assert_ne!(b.read(R::STATUS_OFFSET) & R::STATUS_GO_WHILE_BUSY_MASK, 0);
    b.write(R::STATUS_OFFSET, R::STATUS_GO_WHILE_BUSY_MASK);
    assert_eq!(b.read(R::STATUS_OFFSET) & R::STATUS_GO_WHILE_BUSY_MASK, 0);
    // The ignored REGISTER did nothing: the next one gets entry 10.
    let o = b.cmd(Op::REGISTER.0, 0, b.entry(10));
    assert_eq!(o.resp.stag.0, b.cfg.own_stag(10, 0));
    // Two GOs back to back: the second lands while the first is in flight.
    b.write(R::GO_OFFSET, 1);
    b.write(R::GO_OFFSET, 1);
    let s = loop {
        let s = b.read(R::STATUS_OFFSET);
        if s & R::STATUS_BUSY_MASK == 0 {
            break s;
        }
    };
    assert_ne!(s & R::STATUS_GO_WHILE_BUSY_MASK, 0, "STATUS {s:#x}");
    b.model_cmd(Op::REGISTER.0, 0, b.entry(10));
    assert_eq!(
        b.read(R::RESP_STAG_OFFSET),
        b.cfg.own_stag(11, 0),
        "exactly one REGISTER ran"
    );
    b.write(R::STATUS_OFFSET, R::STATUS_GO_WHILE_BUSY_MASK);
    // A LIST's GO discards what an earlier, undrained LIST left.
    b.write(R::CMD_OP_OFFSET, Op::LIST.0 as u32);
    b.write(R::GO_OFFSET, 1);
    for _ in 0..50 {
        b.step();
    }
    let mut first = Vec::new();
    b.list_next(&mut first);
    b.list_next(&mut first);
    // (the table still streams; finish it by draining, then list again)
    let mut rest = Vec::new();
    loop {
        b.list_next(&mut rest);
        if b.read(R::STATUS_OFFSET) & R::STATUS_BUSY_MASK == 0 {
            break;
        }
    }
    b.model_cmd(Op::LIST.0, 0, Entry::default());
    let o = b.cmd(Op::LIST.0, 0, Entry::default());
    assert_eq!(o.beats.len(), 12, "a fresh LIST lists every entry once");
    b.finish();
}

#[test]
fn random_commands_match_the_reference_model() {
    for (k, cfg) in [small(), wide()].into_iter().enumerate() {
        let seed = testbench::seed_from_env(&format!("stag_regs_random_{k}"));
        let mut rng = testbench::rng(seed);
        let mut b = Bench::new(cfg, &format!("stag_regs_random_{k}"));
        b.bus.set_pause(Pattern::random(0.3, seed ^ 1));
        b.bus.set_ready_pause(Pattern::random(0.3, seed ^ 2));
        let foreign_pool: Vec<u32> = (0..b.cfg.foreign_entries * 2)
            .map(|i| {
                b.cfg
                    .make_stag(b.cfg.nic_id ^ 1, i % b.cfg.entries, i as u8)
            })
            .collect();
        let mut own: Vec<u32> = Vec::new();
        let mut seen = [0u32; 8];
        for _ in 0..400 {
            let op: u8 = match rng.gen_range(0..100) {
                0..=29 => Op::REGISTER.0,
                30..=41 => Op::INVALIDATE.0,
                42..=53 => Op::DEREGISTER.0,
                54..=71 => Op::INSTALL.0,
                72..=89 => Op::QUERY.0,
                90..=96 => Op::LIST.0,
                _ => rng.gen_range(6..8),
            };
            let stag = match rng.gen_range(0..10) {
                0..=4 if !own.is_empty() => own[rng.gen_range(0..own.len())],
                0..=6 => foreign_pool[rng.gen_range(0..foreign_pool.len())],
                7 => b.cfg.own_stag(rng.gen_range(0..b.cfg.entries), rng.gen()),
                8 => b.cfg.own_stag(0, 0) | 1 << (8 + b.cfg.entry_bits()),
                _ => rng.gen(),
            };
            let stag = if op == Op::INSTALL.0 && rng.gen_bool(0.8) {
                foreign_pool[rng.gen_range(0..foreign_pool.len())]
            } else {
                stag
            };
            let entry = b.cfg.random_entry(&mut rng);
            let o = b.cmd(op, stag, entry);
            if op == Op::REGISTER.0 && o.resp.status == Status::OK {
                own.push(o.resp.stag.0);
            }
            seen[o.resp.status.0 as usize] += 1;
        }
        eprintln!("[stag_regs_random_{k}] SEED={seed}: statuses OK..BAD_OP {seen:?}");
        for (i, n) in seen.iter().enumerate() {
            assert!(
                *n > 0,
                "status {:?} never seen (SEED={seed})",
                Status(i as u8)
            );
        }
        b.finish();
    }
}
