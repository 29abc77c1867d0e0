//! `rx_place`: the placement DMA of the receive pipeline. Takes one
//! descriptor (host address, length, invalidate bit, tag) at a time, in
//! order, and writes exactly `len` payload bytes from the data stream to
//! `[addr, addr + len)` over an AXI4 write manager port; a descriptor with
//! the invalidate bit set has its bytes read and discarded, writing
//! nothing. Each descriptor completes, in order, once every write response
//! (B) of its bursts has arrived, i.e. when its data is placed.
//!
//! The contract (ports, burst rules, timing, limits) is `docs/rx_place.md`.
//!
//! Three engines, decoupled by a descriptor queue (`queue_depth` entries,
//! written at the handshake, read by the W and completion engines at their
//! own pointers):
//!
//! * the **AW engine** takes the descriptor at its handshake and splits it
//!   into INCR bursts that end at the next multiple of
//!   `BOUND = min(max_burst * bus bytes, 4096)` (so no burst crosses 4 KiB
//!   or is longer than `max_burst` beats);
//! * the **W engine** rotates the packed input bytes to the address's byte
//!   lane (`in << 8*off | prev >> 8*(bus bytes - off)`), with strobes for
//!   the unaligned head and tail, `wlast` at every BOUND boundary, and one
//!   extra (flush) beat when the tail spills into another bus word. It
//!   sends a burst's beats only after that burst's AW was accepted;
//! * the **completion engine** counts the head descriptor's B responses
//!   and answers its tag once they are all in and its data is consumed.

use std::rc::Rc;

use crate::iface::{AxiSpec, AxisSpec, Side};
use crate::ir::{clog2, Expr, Layout, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Width of `s_desc_len` (an MPA ULPDU carries at most 65535 bytes).
pub const LEN_BITS: u32 = 16;
/// Width of `s_desc_tag` / `m_done_tag`.
pub const TAG_BITS: u32 = 16;
/// Width of the AXI ids (`awid`, `bid`).
pub const ID_BITS: u32 = 4;
/// Bursts whose AW may be issued before their W data has been sent.
pub const AW_AHEAD: u32 = 4;
/// `awcache`: normal non-cacheable bufferable, as FPGA NIC DMA engines use.
pub const AWCACHE: u128 = 0b0011;
/// `awprot`: unprivileged, non-secure, data access.
pub const AWPROT: u128 = 0b010;

/// Parameters of an `rx_place`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxPlaceParams {
    pub name: String,
    /// Data stream and AXI data width in bits (`--data-width`).
    pub data_width: u32,
    /// Host address width (`--dma-addr-bits`).
    pub addr_bits: u32,
    /// Longest burst in beats: a power of two from 1 to 256 (default 16).
    /// Bursts are also cut at 4 KiB, so the effective maximum is
    /// `min(max_burst, 4096 / bus bytes)`.
    pub max_burst: u32,
    /// Descriptors accepted but not yet completed: a power of two from 2 to 64
    /// (default 8).
    pub queue_depth: u32,
}

impl RxPlaceParams {
    pub fn from_params(p: &Params) -> Self {
        RxPlaceParams {
            name: "rx_place".into(),
            data_width: p.get32("data-width"),
            addr_bits: p.get32("dma-addr-bits"),
            max_burst: 16,
            queue_depth: 8,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        params::check("dma-addr-bits", self.addr_bits as u64)?;
        if !self.max_burst.is_power_of_two() || self.max_burst > 256 {
            return Err(Error::Design(format!(
                "rx_place `{}`: max_burst {} must be a power of two from 1 to 256",
                self.name, self.max_burst
            )));
        }
        if !self.queue_depth.is_power_of_two() || !(2..=64).contains(&self.queue_depth) {
            return Err(Error::Design(format!(
                "rx_place `{}`: queue_depth {} must be a power of two from 2 to 64",
                self.name, self.queue_depth
            )));
        }
        Ok(())
    }

    /// Bytes per bus beat.
    pub fn bus_bytes(&self) -> u32 {
        self.data_width / 8
    }

    /// Bursts end at multiples of this many bytes (a power of two <= 4096).
    pub fn bound(&self) -> u32 {
        (self.max_burst * self.bus_bytes()).min(4096)
    }

    /// Longest burst actually issued, in beats.
    pub fn burst_beats(&self) -> u32 {
        self.bound() / self.bus_bytes()
    }
}

/// Pack named fields (least significant first) into one vector, and unpack.
pub fn elaborate(p: &RxPlaceParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let dw = p.data_width;
    let bb = p.bus_bytes();
    let lbb = clog2(bb as u64); // log2 bus bytes
    let bound = p.bound();
    let lb = clog2(bound as u64); // log2 BOUND
    let wib = lb - lbb; // bits of the word index inside a BOUND window (0 if 1-beat bursts)
    let ab = p.addr_bits;
    let qb = clog2(p.queue_depth as u64);
    // 17-bit byte arithmetic: offsets (< 4096) plus lengths (< 65536).
    const SB: u32 = LEN_BITS + 1;
    // Burst counts: ((offset in window + len - 1) >> lb) + 1, with room for the +1.
    let nbw = SB - lb + 1;
    // Beat and word counts: (offset + len + bus bytes - 1) >> lbb fits SB - lbb bits.
    let nww = SB - lbb;
    let cw = clog2(AW_AHEAD as u64 + 1);

    let mut m = ModuleBuilder::new(
        &p.name,
        "placement DMA: descriptors + data stream to AXI4 writes, in-order completions",
    );
    m.param("DATA_WIDTH", dw as u64, "data stream and AXI data width");
    m.param("ADDR_WIDTH", ab as u64, "host address width");
    m.param(
        "MAX_BURST",
        p.max_burst as u64,
        "longest burst in beats (also cut at 4 KiB)",
    );
    m.param(
        "QUEUE_DEPTH",
        p.queue_depth as u64,
        "descriptors accepted and not yet completed",
    );
    m.clock_and_reset();

    // ---- ports ----
    let desc_valid = m.input("s_desc_valid", 1, "");
    let desc_ready = m.output("s_desc_ready", 1, "");
    let desc_addr = m.input("s_desc_addr", ab, "host byte address of payload byte 0");
    let desc_len = m.input("s_desc_len", LEN_BITS, "payload bytes (0 = nothing)");
    let desc_drop = m.input(
        "s_desc_drop",
        1,
        "invalidate bit: consume the data, write nothing",
    );
    let desc_tag = m.input("s_desc_tag", TAG_BITS, "returned on m_done_tag");
    let s = AxisSpec {
        data_width: dw,
        keep: true,
        last: true,
        user_width: 0,
    }
    .ports(&mut m, "s_axis_data", Side::Subordinate);
    let axi = AxiSpec {
        addr_width: ab,
        data_width: dw,
        id_width: ID_BITS,
        read: false,
    }
    .ports(&mut m, "m_axi", Side::Manager);
    let done_valid = m.output_init("m_done_valid", 1, 0, "");
    let done_ready = m.input("m_done_ready", 1, "");
    let done_tag = m.output("m_done_tag", TAG_BITS, "");
    let done_error = m.output(
        "m_done_error",
        1,
        "a burst of the descriptor got a B response other than OKAY",
    );
    let framing_error = m.output_init(
        "framing_error",
        1,
        0,
        "sticky: an input beat's tlast/tkeep disagreed with its descriptor's length",
    );

    let (tdata, tkeep, tvalid, tlast) = (
        s.sig("tdata").clone(),
        s.sig("tkeep").clone(),
        s.sig("tvalid").clone(),
        s.sig("tlast").clone(),
    );
    let lit = |v: u128, w: u32| Expr::lit(v, w);
    let one = lit(1, 1);
    let zero = lit(0, 1);

    // ---- descriptor queue: pointers with one extra bit (full vs empty) ----
    let wr_ptr = m.reg("q_wr_ptr_reg", qb + 1, 0, "next entry to fill (accept)");
    let wl_ptr = m.reg("q_wl_ptr_reg", qb + 1, 0, "next entry the W engine loads");
    let wf_ptr = m.reg(
        "q_wf_ptr_reg",
        qb + 1,
        0,
        "entries before this one have had all their data taken",
    );
    let cp_ptr = m.reg("q_cp_ptr_reg", qb + 1, 0, "head of the completion engine");
    let q_full = m.signal("q_full", 1, "");
    m.assign(
        &q_full,
        wr_ptr
            .bit(qb)
            .ne(cp_ptr.bit(qb))
            .land(wr_ptr.slice(qb - 1, 0).eq(cp_ptr.slice(qb - 1, 0))),
    );

    // Per-descriptor W fields, computed at accept.
    let mut wl = Layout(vec![
        ("drop", 1),
        ("off", lbb),
        ("in_beats", nww),
        ("out_words", nww),
        ("in_end", lbb),
        ("out_end", lbb),
    ]);
    if wib > 0 {
        wl.0.push(("wword", wib));
    }
    let cl = Layout(vec![("tag", TAG_BITS), ("bursts", nbw)]);
    let w_mem = m.memory(
        "w_mem",
        wl.width(),
        p.queue_depth,
        "W engine fields of each queued descriptor",
    );
    let c_mem = m.memory(
        "c_mem",
        cl.width(),
        p.queue_depth,
        "tag and burst count of each queued descriptor",
    );

    // ---- accept ----
    let aw_busy = m.reg("aw_busy_reg", 1, 0, "AW engine has bursts left to issue");
    let accept = m.signal("accept", 1, "");
    m.assign(&desc_ready, aw_busy.lnot().land(q_full.lnot()));
    m.assign(&accept, desc_valid.land(&desc_ready));

    // Derived per-descriptor numbers (len >= 1 unless said otherwise):
    //   in_beats  = ((len - 1) >> lbb) + 1            input beats
    //   out_words = in_beats + (off + (len-1)%B >= B) W words (one more if the tail spills)
    //   bursts    = ((len - 1) >> lb) + 1 + (addr%BOUND + (len-1)%BOUND >= BOUND)
    //   last_lo   = (addr + len - 1) % BOUND            last byte inside its window
    let off = desc_addr.slice(lbb - 1, 0);
    let len_zero = m.signal("desc_len_zero", 1, "");
    m.assign(&len_zero, desc_len.eq_lit(0));
    let writes = m.signal("desc_writes", 1, "the descriptor writes something");
    m.assign(&writes, desc_drop.lnot().land(len_zero.lnot()));
    let len_m1 = m.signal("desc_len_m1", LEN_BITS, "len - 1");
    m.assign(&len_m1, desc_len.dec());
    let in_end = len_m1.slice(lbb - 1, 0);
    let last_lo = m.signal(
        "desc_last_lo",
        lb,
        "address of the last byte inside its BOUND window",
    );
    m.assign(
        &last_lo,
        desc_addr.slice(lb - 1, 0) + len_m1.slice(lb - 1, 0),
    );
    let out_end = last_lo.slice(lbb - 1, 0);
    let spill = (off.zext(lbb + 1) + in_end.zext(lbb + 1)).ge(lit(bb as u128, lbb + 1));
    let crosses = (desc_addr.slice(lb - 1, 0).zext(lb + 1) + len_m1.slice(lb - 1, 0).zext(lb + 1))
        .ge(lit(bound as u128, lb + 1));
    let in_beats = m.signal("desc_in_beats", nww, "");
    m.assign(
        &in_beats,
        Expr::mux(
            &len_zero,
            Expr::zero(nww),
            len_m1.slice(LEN_BITS - 1, lbb).zext(nww).inc(),
        ),
    );
    let out_words = m.signal("desc_out_words", nww, "");
    m.assign(
        &out_words,
        Expr::mux(
            writes.clone(),
            in_beats.clone() + spill.zext(nww),
            Expr::zero(nww),
        ),
    );
    let bursts = m.signal("desc_bursts", nbw, "bursts the descriptor needs");
    m.assign(
        &bursts,
        Expr::mux(
            writes.clone(),
            len_m1.slice(LEN_BITS - 1, lb).zext(nbw).inc() + crosses.zext(nbw),
            Expr::zero(nbw),
        ),
    );
    let mut w_fields = vec![
        desc_drop.clone(),
        off.clone(),
        in_beats.clone(),
        out_words.clone(),
        in_end,
        out_end,
    ];
    if wib > 0 {
        w_fields.push(desc_addr.slice(lb - 1, lbb));
    }
    let w_entry = wl.pack(w_fields);
    let c_entry = cl.pack(vec![desc_tag.clone(), bursts.clone()]);
    m.sync("descriptor queue: write at accept", |b| {
        b.when(&accept, |b| {
            b.mem_write(&w_mem, wr_ptr.slice(qb - 1, 0), w_entry);
            b.mem_write(&c_mem, wr_ptr.slice(qb - 1, 0), c_entry);
            b.assign(&wr_ptr, wr_ptr.inc());
        });
    });

    // ---- AW engine ----
    let aw_addr = m.signal("aw_addr_reg", ab, "start of the next burst");
    let aw_left = m.signal("aw_left_reg", nbw, "bursts still to issue");
    let aw_end = (wib > 0).then(|| {
        m.signal(
            "aw_end_reg",
            wib,
            "word index of the last byte in its BOUND window",
        )
    });
    let awvalid = m.reg("awvalid_reg", 1, 0, "");
    let awaddr = m.signal("awaddr_reg", ab, "");
    let awlen = m.signal("awlen_reg", 8, "");
    let credit = m.reg(
        "aw_credit_reg",
        cw,
        0,
        "bursts whose AW was accepted and whose last W beat is not sent",
    );
    let aw_fire = m.signal("aw_fire", 1, "");
    m.assign(&aw_fire, awvalid.land(axi.sig("awready")));
    let aw_last = m.signal("aw_last", 1, "this burst ends the descriptor");
    m.assign(&aw_last, aw_left.eq_lit(1));
    let aw_len_now = m.signal("aw_len_now", 8, "awlen of the burst at aw_addr");
    match &aw_end {
        Some(end) => {
            // From aw_addr's word to the window's last word, or to the end.
            let first = aw_addr.slice(lb - 1, lbb);
            let last = Expr::mux(&aw_last, end.clone(), Expr::ones(wib));
            m.assign(&aw_len_now, (last - first).zext(8));
        }
        None => m.assign(&aw_len_now, Expr::zero(8)),
    }
    let aw_issue = m.signal("aw_issue", 1, "load the AW register with the next burst");
    m.assign(
        &aw_issue,
        aw_busy
            .land(awvalid.lnot().lor(axi.sig("awready")))
            .land(credit.le(lit(AW_AHEAD as u128 - 2, cw))),
    );
    // The next burst starts at the next BOUND window.
    let next_window = Expr::concat([aw_addr.slice(ab - 1, lb).inc(), Expr::zero(lb)]);
    m.sync("AW engine: one burst per cycle at most", |b| {
        b.when(axi.sig("awready"), |b| b.assign(&awvalid, zero.clone()));
        b.when(&aw_issue, |b| {
            b.assign(&awvalid, one.clone());
            b.assign(&awaddr, &aw_addr);
            b.assign(&awlen, &aw_len_now);
            b.assign(&aw_addr, next_window.clone());
            b.assign(&aw_left, aw_left.dec());
            b.when(&aw_last, |b| b.assign(&aw_busy, zero.clone()));
        });
        b.when(accept.land(&writes), |b| {
            b.assign(&aw_busy, one.clone());
            b.assign(&aw_addr, &desc_addr);
            b.assign(&aw_left, &bursts);
            if let Some(end) = &aw_end {
                b.assign(end, last_lo.slice(lb - 1, lbb));
            }
        });
    });
    m.assign(axi.sig("awid"), Expr::zero(ID_BITS));
    m.assign(axi.sig("awaddr"), &awaddr);
    m.assign(axi.sig("awlen"), &awlen);
    m.assign(axi.sig("awsize"), lit(lbb as u128, 3));
    m.assign(axi.sig("awburst"), lit(1, 2));
    m.assign(axi.sig("awlock"), zero.clone());
    m.assign(axi.sig("awcache"), lit(AWCACHE, 4));
    m.assign(axi.sig("awprot"), lit(AWPROT, 3));
    m.assign(axi.sig("awvalid"), &awvalid);

    // ---- W engine ----
    let w_head = m.signal("w_head", wl.width(), "queue entry at q_wl_ptr");
    m.assign(&w_head, w_mem.read(wl_ptr.slice(qb - 1, 0)));
    let w_active = m.reg("w_active_reg", 1, 0, "a descriptor's data is in progress");
    let w_drop = m.signal("w_drop_reg", 1, "discard its data");
    let w_off = m.signal("w_off_reg", lbb, "byte lane of payload byte 0");
    let w_first = m.signal("w_first_reg", 1, "next word is the first");
    let w_wword = (wib > 0).then(|| m.signal("w_wword_reg", wib, "word index in its BOUND window"));
    let w_in_left = m.signal("w_in_left_reg", nww, "input beats still to take");
    let w_out_left = m.signal("w_out_left_reg", nww, "W words still to send");
    let w_in_end = m.signal("w_in_end_reg", lbb, "last lane of the last input beat");
    let w_out_end = m.signal("w_out_end_reg", lbb, "last lane of the last W word");
    let prev = m.signal("prev_data_reg", dw, "the input beat before this one");
    let wvalid = m.reg("wvalid_reg", 1, 0, "");
    let wdata = m.signal("wdata_reg", dw, "");
    let wstrb = m.signal("wstrb_reg", bb, "");
    let wlast = m.signal("wlast_reg", 1, "");

    let w_slot = m.signal("w_slot", 1, "the W register can take a word");
    m.assign(&w_slot, wvalid.lnot().lor(axi.sig("wready")));
    let in_more = m.signal("w_in_more", 1, "input beats left");
    m.assign(&in_more, w_in_left.ne(Expr::zero(nww)));
    let out_more = m.signal("w_out_more", 1, "W words left");
    m.assign(&out_more, w_out_left.ne(Expr::zero(nww)));
    let in_final = m.signal("w_in_final", 1, "one input beat left");
    m.assign(&in_final, w_in_left.eq_lit(1));
    let out_final = m.signal("w_out_final", 1, "one W word left");
    m.assign(&out_final, w_out_left.eq_lit(1));
    let write_ok = m.signal(
        "w_write_ok",
        1,
        "a W word may be made if its input is there",
    );
    m.assign(
        &write_ok,
        w_active
            .land(w_drop.lnot())
            .land(&out_more)
            .land(&w_slot)
            .land(credit.ne(Expr::zero(cw))),
    );
    let produce = m.signal("w_produce", 1, "a W word goes into the W register");
    m.assign(&produce, write_ok.land(in_more.lnot().lor(&tvalid)));
    let tready = s.sig("tready").clone();
    m.assign(
        &tready,
        write_ok
            .land(&in_more)
            .lor(w_active.land(&w_drop).land(&in_more)),
    );
    let take = m.signal("w_take", 1, "an input beat is taken");
    m.assign(&take, tvalid.land(&tready));
    let w_done = m.signal("w_done", 1, "the descriptor's data is finished this cycle");
    m.assign(
        &w_done,
        w_active.land(Expr::mux(
            &w_drop,
            in_more.lnot().lor(take.land(&in_final)),
            out_more.lnot().lor(produce.land(&out_final)),
        )),
    );
    let w_load = m.signal("w_load", 1, "load the next descriptor");
    m.assign(
        &w_load,
        w_active.lnot().lor(&w_done).land(wl_ptr.ne(&wr_ptr)),
    );
    let word_last = m.signal("w_word_last", 1, "the word made now ends its burst");
    let window_end = match &w_wword {
        Some(w) => w.red_and(),
        None => one.clone(),
    };
    m.assign(&word_last, window_end.lor(&out_final));

    // The rotation: lanes [off, B) from this input beat, lanes [0, off) from
    // the top of the previous one (a shift by the full width gives zero).
    let rotated = tdata.shl(Expr::concat([w_off.clone(), lit(0, 3)]))
        | prev.shr(Expr::concat([
            lit(bb as u128, lbb + 1) - w_off.zext(lbb + 1),
            lit(0, 3),
        ]));
    let ones = Expr::ones(bb);
    let head_mask = Expr::mux(&w_first, ones.shl(&w_off), ones.clone());
    let tail_mask = Expr::mux(
        &out_final,
        ones.shr(lit(bb as u128 - 1, lbb) - w_out_end.clone()),
        ones.clone(),
    );
    let keep_want = Expr::mux(
        &in_final,
        ones.shr(lit(bb as u128 - 1, lbb) - w_in_end.clone()),
        ones.clone(),
    );
    let bad_beat = m.signal(
        "w_bad_beat",
        1,
        "tlast/tkeep of the taken beat disagree with the length",
    );
    m.assign(
        &bad_beat,
        take.land(tlast.ne(&in_final).lor(tkeep.ne(keep_want))),
    );

    m.sync("W engine: rotate, strobe, one word per cycle", |b| {
        b.when(axi.sig("wready"), |b| b.assign(&wvalid, zero.clone()));
        b.when(&produce, |b| {
            b.assign(&wvalid, one.clone());
            b.assign(&wdata, rotated.clone());
            b.assign(&wstrb, head_mask.clone() & tail_mask.clone());
            b.assign(&wlast, &word_last);
            b.assign(&w_first, zero.clone());
            b.assign(&w_out_left, w_out_left.dec());
            if let Some(w) = &w_wword {
                b.assign(w, w.inc());
            }
        });
        b.when(&take, |b| {
            b.assign(&prev, &tdata);
            b.assign(&w_in_left, w_in_left.dec());
        });
        b.when(&bad_beat, |b| b.assign(&framing_error, one.clone()));
        b.when(&w_done, |b| b.assign(&w_active, zero.clone()));
        b.when(&w_load, |b| {
            b.assign(&w_active, one.clone());
            b.assign(&w_drop, wl.field(&w_head, "drop"));
            b.assign(&w_off, wl.field(&w_head, "off"));
            b.assign(&w_first, one.clone());
            if let Some(w) = &w_wword {
                b.assign(w, wl.field(&w_head, "wword"));
            }
            b.assign(&w_in_left, wl.field(&w_head, "in_beats"));
            b.assign(&w_out_left, wl.field(&w_head, "out_words"));
            b.assign(&w_in_end, wl.field(&w_head, "in_end"));
            b.assign(&w_out_end, wl.field(&w_head, "out_end"));
            b.assign(&wl_ptr, wl_ptr.inc());
        });
        b.when(&w_done, |b| b.assign(&wf_ptr, wf_ptr.inc()));
    });
    m.sync(
        "AW credits: +1 per AW accepted, -1 per burst's last W word",
        |b| {
            b.if_else(
                aw_fire.land(produce.land(&word_last).lnot()),
                |b| b.assign(&credit, credit.inc()),
                |b| {
                    b.when(aw_fire.lnot().land(produce.land(&word_last)), |b| {
                        b.assign(&credit, credit.dec())
                    })
                },
            );
        },
    );
    m.assign(axi.sig("wdata"), &wdata);
    m.assign(axi.sig("wstrb"), &wstrb);
    m.assign(axi.sig("wlast"), &wlast);
    m.assign(axi.sig("wvalid"), &wvalid);

    // ---- completion engine ----
    let c_head = m.signal("c_head", cl.width(), "queue entry at q_cp_ptr");
    m.assign(&c_head, c_mem.read(cp_ptr.slice(qb - 1, 0)));
    let head_bursts = cl.field(&c_head, "bursts");
    let b_cnt = m.reg(
        "b_cnt_reg",
        nbw,
        0,
        "B responses of the head descriptor so far",
    );
    let b_err = m.reg("b_err_reg", 1, 0, "one of them was not OKAY");
    let c_valid = m.signal("c_valid", 1, "a descriptor is queued");
    m.assign(&c_valid, cp_ptr.ne(&wr_ptr));
    let bready = axi.sig("bready").clone();
    m.assign(&bready, c_valid.land(b_cnt.ne(head_bursts.clone())));
    let b_fire = m.signal("b_fire", 1, "");
    m.assign(&b_fire, axi.sig("bvalid").land(&bready));
    let c_complete = m.signal(
        "c_complete",
        1,
        "every B of the head is in and its data was taken",
    );
    m.assign(
        &c_complete,
        c_valid
            .land(cp_ptr.ne(&wf_ptr))
            .land(b_cnt.eq(head_bursts.clone())),
    );
    let c_pop = m.signal("c_pop", 1, "the head's completion goes out");
    m.assign(&c_pop, c_complete.land(done_valid.lnot().lor(&done_ready)));
    let done_tag_r = m.signal("done_tag_reg", TAG_BITS, "");
    let done_err_r = m.signal("done_error_reg", 1, "");
    m.sync(
        "completion engine: count B responses, answer in order",
        |b| {
            b.when(&b_fire, |b| {
                b.assign(&b_cnt, b_cnt.inc());
                // Only id 0 is ever issued: a response with another id is an error too.
                let bad = axi
                    .sig("bresp")
                    .ne(Expr::zero(2))
                    .lor(axi.sig("bid").ne(Expr::zero(ID_BITS)));
                b.when(bad, |b| b.assign(&b_err, one.clone()));
            });
            b.when(&done_ready, |b| b.assign(&done_valid, zero.clone()));
            b.when(&c_pop, |b| {
                b.assign(&done_valid, one.clone());
                b.assign(&done_tag_r, cl.field(&c_head, "tag"));
                b.assign(&done_err_r, &b_err);
                b.assign(&b_cnt, Expr::zero(nbw));
                b.assign(&b_err, zero.clone());
                b.assign(&cp_ptr, cp_ptr.inc());
            });
        },
    );
    m.assign(&done_tag, &done_tag_r);
    m.assign(&done_error, &done_err_r);
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RxPlaceParams {
        RxPlaceParams::from_params(&Params::default())
    }

    #[test]
    fn bad_block_parameters_name_the_instance() {
        let p = RxPlaceParams {
            max_burst: 12,
            ..params()
        };
        assert_eq!(
            elaborate(&p).unwrap_err().to_string(),
            "design: rx_place `rx_place`: max_burst 12 must be a power of two from 1 to 256"
        );
        let p = RxPlaceParams {
            queue_depth: 1,
            ..params()
        };
        assert_eq!(
            elaborate(&p).unwrap_err().to_string(),
            "design: rx_place `rx_place`: queue_depth 1 must be a power of two from 2 to 64"
        );
        let p = RxPlaceParams {
            data_width: 96,
            ..params()
        };
        assert_eq!(
            elaborate(&p).unwrap_err().to_string(),
            "invalid --data-width 96: must be a power of two from 64 to 256"
        );
    }

    #[test]
    fn every_width_burst_and_depth_elaborates() {
        for data_width in [64, 128, 256] {
            for max_burst in [1, 2, 16, 256] {
                for (addr_bits, queue_depth) in [(32, 2), (64, 64)] {
                    let p = RxPlaceParams {
                        data_width,
                        addr_bits,
                        max_burst,
                        queue_depth,
                        ..params()
                    };
                    elaborate(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
                }
            }
        }
    }
}
