//! `host_arbiter`: joins N NICs to one host. Merges the NICs' AXI4 DMA
//! writes onto one host write port with beat-counted (deficit) round-robin
//! arbitration, routes the host's AXI4-Lite register accesses to the NICs
//! by address window, and ORs the NICs' interrupts.
//!
//! The contract (ports, arbitration rule, wait bounds, address map, error
//! responses) is `docs/host_arbiter.md`.
//!
//! * **AW arbiter.** One grant per cycle at most, to the first NIC with
//!   `awvalid` at or after the turn pointer. A turn lasts while the holder
//!   keeps requesting and has been granted fewer than `MAX_BURST` beats in
//!   it; the beats by which its last burst overran are its debt, charged at
//!   the start of its next turn (deficit round robin, quantum `MAX_BURST`).
//!   A granted AW goes into the **grant queue** (`queue_depth` entries), the
//!   verilog-axi crossbar's write-order FIFO.
//! * **Grant queue.** Written at the grant, read by two pointers: the AW
//!   issue pointer (`m_axi_aw*` is the entry at it) and the W pointer (the
//!   burst whose data is being forwarded). W data of an entry is taken only
//!   after its AW was accepted on `m_axi`, so W never leads AW on the host
//!   side; an entry is freed when its last W beat is taken from the NIC.
//! * **W path.** The NIC of the W entry gets `wready`; beats are counted
//!   against the entry's `awlen` (the host sees `wlast` from that count; a
//!   NIC whose `wlast` disagrees sets its bit of `wlast_error`) and go
//!   through a two-word FIFO to `m_axi_w*`.
//! * **B path.** `m_axi_bid`'s top bits name the NIC; each NIC has a
//!   two-entry B FIFO, so one slow NIC does not hold up the others' B.
//! * **Register path.** One write and one read in flight (independently),
//!   each captured, decoded by window and issued to that NIC from registers;
//!   an address outside every NIC window is answered DECERR by the block.
//!
//! No output depends combinationally on an input of the other side: every
//! `s{i}_*ready`/`valid` is a function of registers and the NICs' own
//! `awvalid`s, every `m_axi_*valid` of registers; the only combinational
//! input-to-output path on the host side is `m_axi_bid` -> `m_axi_bready`.

use std::rc::Rc;

use crate::blocks::rx_place::ID_BITS;
use crate::iface::{AxiSpec, AxilSpec, Bundle, Side};
use crate::ir::{clog2, Expr, Layout, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Fairness quantum and longest expected burst, in beats (rx_place's).
pub const MAX_BURST: u32 = 16;
/// Granted bursts whose last W beat has not been taken.
pub const QUEUE_DEPTH: u32 = 4;
/// log2 of each NIC's register window in bytes (64 KiB).
pub const WINDOW_BITS: u32 = 16;
/// AXI4-Lite data width.
pub const AXIL_DATA_BITS: u32 = 32;
/// `rresp`/`bresp` for an address outside every NIC window.
pub const RESP_DECERR: u128 = 0b11;

/// Parameters of a `host_arbiter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostArbiterParams {
    pub name: String,
    /// NICs joined (`--nics`).
    pub nics: u32,
    /// AXI4 data width (`--data-width`).
    pub data_width: u32,
    /// Host address width (`--dma-addr-bits`).
    pub addr_bits: u32,
    /// Fairness quantum in beats: a power of two from 2 to 256 (default 16).
    pub max_burst: u32,
    /// Grant queue entries: a power of two from 2 to 64 (default 4).
    pub queue_depth: u32,
    /// log2 of a NIC's register window in bytes, 12 to 24 (default 16).
    pub window_bits: u32,
}

impl HostArbiterParams {
    pub fn from_params(p: &Params) -> Self {
        HostArbiterParams {
            name: "host_arbiter".into(),
            nics: p.get32("nics"),
            data_width: p.get32("data-width"),
            addr_bits: p.get32("dma-addr-bits"),
            max_burst: MAX_BURST,
            queue_depth: QUEUE_DEPTH,
            window_bits: WINDOW_BITS,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        params::check("nics", self.nics as u64)?;
        params::check("data-width", self.data_width as u64)?;
        params::check("dma-addr-bits", self.addr_bits as u64)?;
        let bad = |what: String| {
            Err(Error::Design(format!(
                "host_arbiter `{}`: {what}",
                self.name
            )))
        };
        if !self.max_burst.is_power_of_two() || !(2..=256).contains(&self.max_burst) {
            return bad(format!(
                "max_burst {} must be a power of two from 2 to 256",
                self.max_burst
            ));
        }
        if !self.queue_depth.is_power_of_two() || !(2..=64).contains(&self.queue_depth) {
            return bad(format!(
                "queue_depth {} must be a power of two from 2 to 64",
                self.queue_depth
            ));
        }
        if !(12..=24).contains(&self.window_bits) {
            return bad(format!(
                "window_bits {} must be from 12 to 24",
                self.window_bits
            ));
        }
        Ok(())
    }

    /// Bits naming a NIC (the top bits of `m_axi_awid`/`bid`).
    pub fn sel_bits(&self) -> u32 {
        clog2(self.nics as u64)
    }

    /// Width of `m_axi_awid`/`bid`.
    pub fn m_id_bits(&self) -> u32 {
        ID_BITS + self.sel_bits()
    }

    /// Bits of the window index: room for the N NIC windows and at least one
    /// more (reserved for the arbiter's own registers, see the doc).
    pub fn window_index_bits(&self) -> u32 {
        clog2(self.nics as u64 + 1)
    }

    /// Width of `s_axil_awaddr`/`araddr`.
    pub fn axil_addr_bits(&self) -> u32 {
        self.window_bits + self.window_index_bits()
    }

    /// Bytes of one NIC's register window.
    pub fn window(&self) -> u64 {
        1 << self.window_bits
    }

    /// Longest single turn of one NIC, in beats, for bursts of at most
    /// `max_burst` beats: it may start a burst while it has had fewer than
    /// `max_burst` beats in the turn.
    pub fn turn_bound_beats(&self) -> u64 {
        2 * self.max_burst as u64 - 1
    }

    /// Beats granted to other NICs while one NIC's AW waits (any traffic
    /// with bursts of at most `max_burst` beats, any back-pressure).
    pub fn wait_bound_beats(&self) -> u64 {
        (self.nics as u64 - 1) * self.turn_bound_beats()
    }

    /// Cycles one NIC's AW waits (first cycle valid to handshake) when every
    /// NIC keeps `max_burst`-beat bursts pending, the NICs give W data
    /// without pauses and the host never stalls: one round of N bursts.
    pub fn saturated_wait_bound_cycles(&self) -> u64 {
        self.nics as u64 * self.max_burst as u64
    }
}

/// OR of `vals[i]` where `sels[i]` (one-hot AND-OR multiplexer).
fn pick(sels: &[Expr], vals: &[Expr]) -> Expr {
    sels.iter()
        .zip(vals)
        .map(|(s, v)| s.gate(v))
        .reduce(|a, b| a | b)
        .expect("at least one NIC")
}

/// FIFO pointer pair of `bits + 1` bits: (empty, full).
fn ptr_state(wr: &Expr, rd: &Expr, bits: u32) -> (Expr, Expr) {
    let empty = wr.eq(rd);
    let full = wr
        .bit(bits)
        .ne(rd.bit(bits))
        .land(wr.slice(bits - 1, 0).eq(rd.slice(bits - 1, 0)));
    (empty, full)
}

pub fn elaborate(p: &HostArbiterParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let n = p.nics as usize;
    let dw = p.data_width;
    let bb = dw / 8;
    let ab = p.addr_bits;
    let sb = p.sel_bits();
    let mib = p.m_id_bits();
    let qb = clog2(p.queue_depth as u64);
    let q = p.max_burst;
    // `used` holds at most (q - 1) + 256 beats; debts at most q - 1.
    let uw = clog2(q as u64 + 256);
    let debt_w = clog2(q as u64);
    let wib = p.window_index_bits();
    let lab = p.axil_addr_bits();
    let wb = p.window_bits;
    let lit = |v: u128, w: u32| Expr::lit(v, w);
    let one = lit(1, 1);
    let zero = lit(0, 1);

    let mut m = ModuleBuilder::new(
        &p.name,
        "host-bus arbiter: N NICs' AXI4 writes merged (beat-fair), AXI4-Lite routed by window, IRQs ORed",
    );
    m.param("NICS", p.nics as u64, "NICs joined");
    m.param("DATA_WIDTH", dw as u64, "AXI4 data width");
    m.param("ADDR_WIDTH", ab as u64, "host address width");
    m.param("MAX_BURST", q as u64, "fairness quantum in beats");
    m.param(
        "QUEUE_DEPTH",
        p.queue_depth as u64,
        "granted bursts whose W data is not all taken",
    );
    m.param(
        "WINDOW_BITS",
        wb as u64,
        "log2 of each NIC's register window in bytes",
    );
    m.clock_and_reset();

    // ---- ports ----
    let s_spec = AxiSpec {
        addr_width: ab,
        data_width: dw,
        id_width: ID_BITS,
        read: false,
    };
    let s: Vec<Bundle> = (0..n)
        .map(|i| s_spec.ports(&mut m, &format!("s{i}_axi"), Side::Subordinate))
        .collect();
    let mx = AxiSpec {
        addr_width: ab,
        data_width: dw,
        id_width: mib,
        read: false,
    }
    .ports(&mut m, "m_axi", Side::Manager);
    let sl = AxilSpec {
        addr_width: lab,
        data_width: AXIL_DATA_BITS,
    }
    .ports(&mut m, "s_axil", Side::Subordinate);
    let ml: Vec<Bundle> = (0..n)
        .map(|i| {
            AxilSpec {
                addr_width: wb,
                data_width: AXIL_DATA_BITS,
            }
            .ports(&mut m, &format!("m{i}_axil"), Side::Manager)
        })
        .collect();
    let irq_in = m.input(
        "irq_in",
        p.nics,
        "interrupt request of NIC i in bit i (level)",
    );
    let irq = m.output_init("irq", 1, 0, "OR of irq_in, registered");
    let wlast_error = m.output_init(
        "wlast_error",
        p.nics,
        0,
        "sticky: NIC i's wlast disagreed with its awlen (the host got the awlen-counted wlast)",
    );
    let bid_error = m.output(
        "bid_error",
        1,
        "sticky: the host answered a B whose NIC index names no NIC (taken and dropped)",
    );
    let sig = |b: &Bundle, f: &str| b.sig(f).clone();

    // ---- AW arbiter: deficit round robin over beats ----
    let req = m.signal("aw_req", p.nics, "awvalid of each NIC");
    m.assign(
        &req,
        Expr::concat(s.iter().rev().map(|b| sig(b, "awvalid"))),
    );
    let turn = m.reg(
        "turn_reg",
        sb,
        0,
        "NIC whose turn it is (or whose turn is next)",
    );
    let turn_active = m.reg(
        "turn_active_reg",
        1,
        0,
        "turn_reg's NIC is in a turn: used_reg counts its beats",
    );
    let used = m.reg(
        "used_reg",
        uw,
        0,
        "beats granted in the current turn, debt included",
    );
    let debts: Vec<Expr> = (0..n)
        .map(|i| {
            m.reg(
                &format!("debt{i}_reg"),
                debt_w,
                0,
                &format!("beats NIC {i}'s last turn overran the quantum (charged next turn)"),
            )
        })
        .collect();
    // Requests rotated so that bit 0 is the turn's NIC.
    let rot2 = m.signal(
        "aw_req_rot2",
        2 * p.nics,
        "requests twice, shifted down by turn_reg",
    );
    m.assign(
        &rot2,
        Expr::concat([req.clone(), req.clone()]).shr(turn.clone()),
    );
    // First requester in rotation order: offset k from the turn.
    let mut off = Expr::zero(sb);
    for k in (0..n).rev() {
        off = Expr::mux(rot2.bit(k as u32), lit(k as u128, sb), off);
    }
    let rr_off = m.signal(
        "aw_rr_off",
        sb,
        "offset from turn_reg of the first requester",
    );
    m.assign(&rr_off, off);
    let sum = m.signal("aw_rr_sum", sb + 1, "turn_reg + offset");
    m.assign(&sum, turn.zext(sb + 1) + rr_off.zext(sb + 1));
    let nics_l = lit(p.nics as u128, sb + 1);
    let winner = m.signal("aw_winner", sb, "the NIC granted if the queue has room");
    let winner_wide = m.signal("aw_winner_wide", sb + 1, "(turn_reg + offset) mod NICS");
    m.assign(
        &winner_wide,
        Expr::mux(sum.ge(&nics_l), sum.clone() - nics_l.clone(), sum.clone()),
    );
    m.assign(&winner, winner_wide.slice(sb - 1, 0));
    m.unused(
        "winner_top",
        vec![winner_wide.bit(sb)],
        "(turn + offset) mod NICS < NICS: the carry bit is 0",
    );
    m.unused(
        "req_rot_top",
        vec![rot2.slice(2 * p.nics - 1, p.nics)],
        "only the low NICS bits of the doubled, rotated request vector are looked at",
    );
    let gsel: Vec<Expr> = (0..n)
        .map(|i| {
            let g = m.signal(&format!("aw_pick{i}"), 1, &format!("NIC {i} is the winner"));
            m.assign(&g, winner.eq_lit(i as u128));
            g
        })
        .collect();

    // ---- grant queue ----
    let gq_wr = m.reg("gq_wr_ptr_reg", qb + 1, 0, "next entry to fill (grant)");
    let gq_aw = m.reg("gq_aw_ptr_reg", qb + 1, 0, "entry whose AW is on m_axi");
    let gq_w = m.reg(
        "gq_w_ptr_reg",
        qb + 1,
        0,
        "entry whose W data is being forwarded",
    );
    let (_, gq_full_e) = ptr_state(&gq_wr, &gq_w, qb);
    let gq_full = m.signal(
        "gq_full",
        1,
        "every entry granted and its W data not all taken",
    );
    m.assign(&gq_full, gq_full_e);
    let any_req = req.red_or();
    let grant = m.signal("aw_grant", 1, "an AW is granted at this edge");
    m.assign(&grant, any_req.land(gq_full.lnot()));
    for (i, b) in s.iter().enumerate() {
        m.assign(b.sig("awready"), grant.land(&gsel[i]));
    }
    let gl = Layout(vec![
        ("nic", sb),
        ("id", ID_BITS),
        ("addr", ab),
        ("len", 8),
        ("size", 3),
        ("burst", 2),
        ("lock", 1),
        ("cache", 4),
        ("prot", 3),
    ]);
    let field = |f: &str| pick(&gsel, &s.iter().map(|b| sig(b, f)).collect::<Vec<_>>());
    let w_len = m.signal("aw_win_len", 8, "awlen of the winner");
    m.assign(&w_len, field("awlen"));
    let entry = gl.pack(vec![
        winner.clone(),
        field("awid"),
        field("awaddr"),
        w_len.clone(),
        field("awsize"),
        field("awburst"),
        field("awlock"),
        field("awcache"),
        field("awprot"),
    ]);
    let gq_mem = m.memory(
        "gq_mem",
        gl.width(),
        p.queue_depth,
        "granted AWs in grant order",
    );
    m.sync("grant queue: write at grant", |b| {
        b.when(&grant, |b| {
            b.mem_write(&gq_mem, gq_wr.slice(qb - 1, 0), entry);
            b.assign(&gq_wr, gq_wr.inc());
        });
    });

    // Turn bookkeeping.
    let cont = m.signal("aw_cont", 1, "the winner continues its turn");
    m.assign(&cont, turn_active.land(winner.eq(&turn)));
    let debt_w_e = pick(&gsel, &debts);
    let base = m.signal(
        "aw_base",
        uw,
        "beats the winner's turn has had before this burst",
    );
    m.assign(&base, Expr::mux(&cont, used.clone(), debt_w_e.zext(uw)));
    let new_used = m.signal("aw_new_used", uw, "... and with this burst");
    m.assign(&new_used, base.clone() + w_len.zext(uw) + lit(1, uw));
    let exhaust = m.signal("aw_exhaust", 1, "the turn has had its quantum: it ends");
    let q_l = lit(q as u128, uw);
    m.assign(&exhaust, new_used.ge(&q_l));
    let over = m.signal("aw_over", uw, "beats past the quantum");
    m.assign(&over, new_used.clone() - q_l.clone());
    let max_debt = lit(q as u128 - 1, uw);
    let new_debt = m.signal("aw_new_debt", debt_w, "the winner's debt after this grant");
    let sat = m.signal("aw_over_sat", uw, "over, at most MAX_BURST - 1");
    m.assign(
        &sat,
        Expr::mux(over.gt(&max_debt), max_debt.clone(), over.clone()),
    );
    m.assign(
        &new_debt,
        Expr::mux(&exhaust, sat.slice(debt_w - 1, 0), Expr::zero(debt_w)),
    );
    if uw > debt_w {
        m.unused(
            "over_sat_top",
            vec![sat.slice(uw - 1, debt_w)],
            "the saturated debt fits debt_w bits",
        );
    }
    let next_turn = m.signal("aw_next_turn", sb, "the NIC after the winner");
    m.assign(
        &next_turn,
        Expr::mux(
            winner.eq_lit(p.nics as u128 - 1),
            Expr::zero(sb),
            winner.inc(),
        ),
    );
    m.sync("AW arbiter: turn, beats in it, debts", |b| {
        b.when(&grant, |b| {
            b.if_else(
                &exhaust,
                |b| {
                    b.assign(&turn, &next_turn);
                    b.assign(&turn_active, zero.clone());
                },
                |b| {
                    b.assign(&turn, &winner);
                    b.assign(&turn_active, one.clone());
                    b.assign(&used, &new_used);
                },
            );
            for (i, d) in debts.iter().enumerate() {
                b.when(&gsel[i], |b| b.assign(d, &new_debt));
            }
        });
    });

    // ---- AW issue ----
    let aw_head = m.signal(
        "gq_aw_entry",
        gl.width(),
        "grant queue entry at the AW pointer",
    );
    m.assign(&aw_head, gq_mem.read(gq_aw.slice(qb - 1, 0)));
    let m_awvalid = m.signal("m_awvalid", 1, "");
    m.assign(&m_awvalid, gq_aw.ne(&gq_wr));
    m.assign(mx.sig("awvalid"), &m_awvalid);
    m.assign(
        mx.sig("awid"),
        Expr::concat([gl.field(&aw_head, "nic"), gl.field(&aw_head, "id")]),
    );
    for (port, f) in [
        ("awaddr", "addr"),
        ("awlen", "len"),
        ("awsize", "size"),
        ("awburst", "burst"),
        ("awlock", "lock"),
        ("awcache", "cache"),
        ("awprot", "prot"),
    ] {
        m.assign(mx.sig(port), gl.field(&aw_head, f));
    }
    m.sync("AW issue pointer", |b| {
        b.when(m_awvalid.land(mx.sig("awready")), |b| {
            b.assign(&gq_aw, gq_aw.inc())
        });
    });

    // ---- W path ----
    let w_head = m.signal(
        "gq_w_entry",
        gl.width(),
        "grant queue entry at the W pointer",
    );
    m.assign(&w_head, gq_mem.read(gq_w.slice(qb - 1, 0)));
    let w_nic = gl.field(&w_head, "nic");
    let w_len_h = gl.field(&w_head, "len");
    // Unused fields of the W pointer's read.
    m.unused(
        "w_entry",
        vec![
            gl.field(&w_head, "id"),
            gl.field(&w_head, "addr"),
            gl.field(&w_head, "size"),
            gl.field(&w_head, "burst"),
            gl.field(&w_head, "lock"),
            gl.field(&w_head, "cache"),
            gl.field(&w_head, "prot"),
        ],
        "the W path needs only the NIC and the length of its entry",
    );
    let w_issued = m.signal("w_aw_issued", 1, "the W entry's AW was accepted on m_axi");
    m.assign(&w_issued, gq_w.ne(&gq_aw));
    let wq_wr = m.reg("wq_wr_ptr_reg", 2, 0, "");
    let wq_rd = m.reg("wq_rd_ptr_reg", 2, 0, "");
    let (wq_empty_e, wq_full_e) = ptr_state(&wq_wr, &wq_rd, 1);
    let wq_full = m.signal("wq_full", 1, "both W words are taken");
    m.assign(&wq_full, wq_full_e);
    let w_open = m.signal("w_open", 1, "a W beat may be taken from the W entry's NIC");
    m.assign(&w_open, w_issued.land(wq_full.lnot()));
    let wsel: Vec<Expr> = (0..n)
        .map(|i| {
            let g = m.signal(
                &format!("w_sel{i}"),
                1,
                &format!("NIC {i} owns the W entry"),
            );
            m.assign(&g, w_nic.eq_lit(i as u128));
            g
        })
        .collect();
    for (i, b) in s.iter().enumerate() {
        m.assign(b.sig("wready"), w_open.land(&wsel[i]));
    }
    let wv = pick(
        &wsel,
        &s.iter().map(|b| sig(b, "wvalid")).collect::<Vec<_>>(),
    );
    let w_fire = m.signal("w_fire", 1, "a W beat is taken from a NIC");
    m.assign(&w_fire, w_open.land(wv));
    let w_cnt = m.reg("w_cnt_reg", 8, 0, "beats of the W entry taken so far");
    let w_last = m.signal("w_last", 1, "this beat is the W entry's last");
    m.assign(&w_last, w_cnt.eq(&w_len_h));
    let wl = Layout(vec![("data", dw), ("strb", bb), ("last", 1)]);
    let w_word = wl.pack(vec![
        pick(
            &wsel,
            &s.iter().map(|b| sig(b, "wdata")).collect::<Vec<_>>(),
        ),
        pick(
            &wsel,
            &s.iter().map(|b| sig(b, "wstrb")).collect::<Vec<_>>(),
        ),
        w_last.clone(),
    ]);
    let nic_wlast = pick(
        &wsel,
        &s.iter().map(|b| sig(b, "wlast")).collect::<Vec<_>>(),
    );
    let bad_last = m.signal("w_bad_last", 1, "the NIC's wlast disagrees with the count");
    m.assign(&bad_last, w_fire.land(nic_wlast.ne(&w_last)));
    let wq_mem = m.memory("wq_mem", wl.width(), 2, "W words on their way to m_axi");
    m.sync("W path: count beats, free the entry at the last", |b| {
        b.when(&w_fire, |b| {
            b.mem_write(&wq_mem, wq_wr.bit(0), w_word);
            b.assign(&wq_wr, wq_wr.inc());
            b.if_else(
                &w_last,
                |b| {
                    b.assign(&w_cnt, Expr::zero(8));
                    b.assign(&gq_w, gq_w.inc());
                },
                |b| b.assign(&w_cnt, w_cnt.inc()),
            );
        });
        b.when(&bad_last, |b| {
            b.assign(
                &wlast_error,
                wlast_error.clone() | Expr::concat(wsel.iter().rev().cloned()),
            )
        });
    });
    let wq_out = m.signal("wq_out", wl.width(), "W word at the read pointer");
    m.assign(&wq_out, wq_mem.read(wq_rd.bit(0)));
    let m_wvalid = m.signal("m_wvalid", 1, "");
    m.assign(&m_wvalid, wq_empty_e.lnot());
    m.assign(mx.sig("wvalid"), &m_wvalid);
    m.assign(mx.sig("wdata"), wl.field(&wq_out, "data"));
    m.assign(mx.sig("wstrb"), wl.field(&wq_out, "strb"));
    m.assign(mx.sig("wlast"), wl.field(&wq_out, "last"));
    m.sync("W FIFO read pointer", |b| {
        b.when(m_wvalid.land(mx.sig("wready")), |b| {
            b.assign(&wq_rd, wq_rd.inc())
        });
    });

    // ---- B path: one two-entry FIFO per NIC ----
    let bid = sig(&mx, "bid");
    let b_nic = bid.slice(mib - 1, ID_BITS);
    let bl = Layout(vec![("id", ID_BITS), ("resp", 2)]);
    let b_word = bl.pack(vec![bid.slice(ID_BITS - 1, 0), sig(&mx, "bresp")]);
    let mut b_for = Vec::new();
    let mut b_room = Vec::new();
    for (i, sb_i) in s.iter().enumerate() {
        let wr = m.reg(&format!("bq{i}_wr_ptr_reg"), 2, 0, "");
        let rd = m.reg(&format!("bq{i}_rd_ptr_reg"), 2, 0, "");
        let (empty, full) = ptr_state(&wr, &rd, 1);
        let for_me = m.signal(&format!("b_for{i}"), 1, &format!("m_axi_bid names NIC {i}"));
        m.assign(&for_me, b_nic.eq_lit(i as u128));
        let room = m.signal(&format!("bq{i}_room"), 1, "");
        m.assign(&room, full.lnot());
        let take = m.signal(
            &format!("b_take{i}"),
            1,
            &format!("a B for NIC {i} is taken"),
        );
        m.assign(&take, sig(&mx, "bvalid").land(&for_me).land(&room));
        let mem = m.memory(
            &format!("bq{i}_mem"),
            bl.width(),
            2,
            &format!("B responses for NIC {i}"),
        );
        let out = m.signal(&format!("bq{i}_out"), bl.width(), "");
        m.assign(&out, mem.read(rd.bit(0)));
        let bvalid = m.signal(&format!("bq{i}_valid"), 1, "");
        m.assign(&bvalid, empty.lnot());
        m.assign(sb_i.sig("bvalid"), &bvalid);
        m.assign(sb_i.sig("bid"), bl.field(&out, "id"));
        m.assign(sb_i.sig("bresp"), bl.field(&out, "resp"));
        let bready = sig(sb_i, "bready");
        m.sync(&format!("B FIFO of NIC {i}"), |b| {
            b.when(&take, |b| {
                b.mem_write(&mem, wr.bit(0), b_word.clone());
                b.assign(&wr, wr.inc());
            });
            b.when(bvalid.land(&bready), |b| b.assign(&rd, rd.inc()));
        });
        b_for.push(for_me);
        b_room.push(room);
    }
    let routed = pick(&b_for, &b_room);
    if p.nics.is_power_of_two() {
        // Every NIC index names a NIC.
        m.assign(mx.sig("bready"), routed);
        m.assign(&bid_error, zero.clone());
    } else {
        let known = m.signal("b_known", 1, "m_axi_bid's NIC index names a NIC");
        m.assign(&known, b_nic.lt(lit(p.nics as u128, sb)));
        // A B for no NIC is taken and dropped, never left hanging.
        m.assign(mx.sig("bready"), known.lnot().lor(routed));
        let err = m.reg("bid_error_reg", 1, 0, "");
        m.sync("stray B responses", |b| {
            b.when(sig(&mx, "bvalid").land(known.lnot()), |b| {
                b.assign(&err, one.clone())
            });
        });
        m.assign(&bid_error, &err);
    }

    // ---- register path: AXI4-Lite by window ----
    let win_of = |a: &Expr| a.slice(lab - 1, wb);
    let in_window = |idx: &Expr| idx.lt(lit(p.nics as u128, wib));
    // Write channel.
    let wr_aw_held = m.reg("rw_aw_held_reg", 1, 0, "the write's address is captured");
    let wr_w_held = m.reg("rw_w_held_reg", 1, 0, "the write's data is captured");
    let wr_addr = m.signal("rw_addr_reg", lab, "");
    let wr_prot = m.signal("rw_prot_reg", 3, "");
    let wr_data = m.signal("rw_data_reg", AXIL_DATA_BITS, "");
    let wr_strb = m.signal("rw_strb_reg", AXIL_DATA_BITS / 8, "");
    let wr_busy = m.reg(
        "rw_busy_reg",
        1,
        0,
        "the captured write is issued or answered",
    );
    let m_aw_pend = m.reg("rw_m_aw_reg", 1, 0, "awvalid to the NIC, until its awready");
    let m_w_pend = m.reg("rw_m_w_reg", 1, 0, "wvalid to the NIC, until its wready");
    let m_b_wait = m.reg("rw_m_b_reg", 1, 0, "bready to the NIC, until its bvalid");
    let s_bvalid = m.reg("rw_bvalid_reg", 1, 0, "");
    let s_bresp = m.signal("rw_bresp_reg", 2, "");
    let wr_sel = m.signal("rw_sel_reg", wib, "window of the write");
    m.assign(sl.sig("awready"), wr_aw_held.lnot());
    m.assign(sl.sig("wready"), wr_w_held.lnot());
    m.assign(sl.sig("bvalid"), &s_bvalid);
    m.assign(sl.sig("bresp"), &s_bresp);
    let wr_start = m.signal("rw_start", 1, "address and data are in: decode now");
    m.assign(&wr_start, wr_aw_held.land(&wr_w_held).land(wr_busy.lnot()));
    let wr_idx = win_of(&wr_addr);
    let wr_hit = m.signal("rw_hit", 1, "the write's window is a NIC's");
    m.assign(&wr_hit, in_window(&wr_idx));
    let wsel_l: Vec<Expr> = (0..n)
        .map(|i| {
            let g = m.signal(&format!("rw_to{i}"), 1, "");
            m.assign(&g, wr_sel.eq_lit(i as u128));
            g
        })
        .collect();
    for (i, b) in ml.iter().enumerate() {
        m.assign(b.sig("awvalid"), m_aw_pend.land(&wsel_l[i]));
        m.assign(b.sig("wvalid"), m_w_pend.land(&wsel_l[i]));
        m.assign(b.sig("bready"), m_b_wait.land(&wsel_l[i]));
        m.assign(b.sig("awaddr"), wr_addr.slice(wb - 1, 0));
        m.assign(b.sig("awprot"), &wr_prot);
        m.assign(b.sig("wdata"), &wr_data);
        m.assign(b.sig("wstrb"), &wr_strb);
    }
    let m_awready = pick(
        &wsel_l,
        &ml.iter().map(|b| sig(b, "awready")).collect::<Vec<_>>(),
    );
    let m_wready = pick(
        &wsel_l,
        &ml.iter().map(|b| sig(b, "wready")).collect::<Vec<_>>(),
    );
    let m_bvalid = pick(
        &wsel_l,
        &ml.iter().map(|b| sig(b, "bvalid")).collect::<Vec<_>>(),
    );
    let m_bresp = pick(
        &wsel_l,
        &ml.iter().map(|b| sig(b, "bresp")).collect::<Vec<_>>(),
    );
    m.sync("register write: capture, decode, issue, answer", |b| {
        b.when(sl.sig("awvalid").land(wr_aw_held.lnot()), |b| {
            b.assign(&wr_aw_held, one.clone());
            b.assign(&wr_addr, sl.sig("awaddr"));
            b.assign(&wr_prot, sl.sig("awprot"));
        });
        b.when(sl.sig("wvalid").land(wr_w_held.lnot()), |b| {
            b.assign(&wr_w_held, one.clone());
            b.assign(&wr_data, sl.sig("wdata"));
            b.assign(&wr_strb, sl.sig("wstrb"));
        });
        b.when(&wr_start, |b| {
            b.assign(&wr_busy, one.clone());
            b.assign(&wr_sel, wr_idx.clone());
            b.if_else(
                &wr_hit,
                |b| {
                    b.assign(&m_aw_pend, one.clone());
                    b.assign(&m_w_pend, one.clone());
                    b.assign(&m_b_wait, one.clone());
                },
                |b| {
                    b.assign(&s_bvalid, one.clone());
                    b.assign(&s_bresp, lit(RESP_DECERR, 2));
                },
            );
        });
        b.when(m_aw_pend.land(&m_awready), |b| {
            b.assign(&m_aw_pend, zero.clone())
        });
        b.when(m_w_pend.land(&m_wready), |b| {
            b.assign(&m_w_pend, zero.clone())
        });
        b.when(m_b_wait.land(&m_bvalid), |b| {
            b.assign(&m_b_wait, zero.clone());
            b.assign(&s_bvalid, one.clone());
            b.assign(&s_bresp, m_bresp.clone());
        });
        b.when(s_bvalid.land(sl.sig("bready")), |b| {
            b.assign(&s_bvalid, zero.clone());
            b.assign(&wr_busy, zero.clone());
            b.assign(&wr_aw_held, zero.clone());
            b.assign(&wr_w_held, zero.clone());
        });
    });
    // Read channel.
    let rd_held = m.reg("rr_held_reg", 1, 0, "the read's address is captured");
    let rd_addr = m.signal("rr_addr_reg", lab, "");
    let rd_prot = m.signal("rr_prot_reg", 3, "");
    let rd_busy = m.reg(
        "rr_busy_reg",
        1,
        0,
        "the captured read is issued or answered",
    );
    let m_ar_pend = m.reg("rr_m_ar_reg", 1, 0, "arvalid to the NIC, until its arready");
    let m_r_wait = m.reg("rr_m_r_reg", 1, 0, "rready to the NIC, until its rvalid");
    let s_rvalid = m.reg("rr_rvalid_reg", 1, 0, "");
    let s_rdata = m.signal("rr_rdata_reg", AXIL_DATA_BITS, "");
    let s_rresp = m.signal("rr_rresp_reg", 2, "");
    let rd_sel = m.signal("rr_sel_reg", wib, "window of the read");
    m.assign(sl.sig("arready"), rd_held.lnot());
    m.assign(sl.sig("rvalid"), &s_rvalid);
    m.assign(sl.sig("rdata"), &s_rdata);
    m.assign(sl.sig("rresp"), &s_rresp);
    let rd_start = m.signal("rr_start", 1, "the address is in: decode now");
    m.assign(&rd_start, rd_held.land(rd_busy.lnot()));
    let rd_idx = win_of(&rd_addr);
    let rd_hit = m.signal("rr_hit", 1, "the read's window is a NIC's");
    m.assign(&rd_hit, in_window(&rd_idx));
    let rsel_l: Vec<Expr> = (0..n)
        .map(|i| {
            let g = m.signal(&format!("rr_to{i}"), 1, "");
            m.assign(&g, rd_sel.eq_lit(i as u128));
            g
        })
        .collect();
    for (i, b) in ml.iter().enumerate() {
        m.assign(b.sig("arvalid"), m_ar_pend.land(&rsel_l[i]));
        m.assign(b.sig("rready"), m_r_wait.land(&rsel_l[i]));
        m.assign(b.sig("araddr"), rd_addr.slice(wb - 1, 0));
        m.assign(b.sig("arprot"), &rd_prot);
    }
    let m_arready = pick(
        &rsel_l,
        &ml.iter().map(|b| sig(b, "arready")).collect::<Vec<_>>(),
    );
    let m_rvalid = pick(
        &rsel_l,
        &ml.iter().map(|b| sig(b, "rvalid")).collect::<Vec<_>>(),
    );
    let m_rdata = pick(
        &rsel_l,
        &ml.iter().map(|b| sig(b, "rdata")).collect::<Vec<_>>(),
    );
    let m_rresp = pick(
        &rsel_l,
        &ml.iter().map(|b| sig(b, "rresp")).collect::<Vec<_>>(),
    );
    m.sync("register read: capture, decode, issue, answer", |b| {
        b.when(sl.sig("arvalid").land(rd_held.lnot()), |b| {
            b.assign(&rd_held, one.clone());
            b.assign(&rd_addr, sl.sig("araddr"));
            b.assign(&rd_prot, sl.sig("arprot"));
        });
        b.when(&rd_start, |b| {
            b.assign(&rd_busy, one.clone());
            b.assign(&rd_sel, rd_idx.clone());
            b.if_else(
                &rd_hit,
                |b| {
                    b.assign(&m_ar_pend, one.clone());
                    b.assign(&m_r_wait, one.clone());
                },
                |b| {
                    b.assign(&s_rvalid, one.clone());
                    b.assign(&s_rdata, Expr::zero(AXIL_DATA_BITS));
                    b.assign(&s_rresp, lit(RESP_DECERR, 2));
                },
            );
        });
        b.when(m_ar_pend.land(&m_arready), |b| {
            b.assign(&m_ar_pend, zero.clone())
        });
        b.when(m_r_wait.land(&m_rvalid), |b| {
            b.assign(&m_r_wait, zero.clone());
            b.assign(&s_rvalid, one.clone());
            b.assign(&s_rdata, m_rdata.clone());
            b.assign(&s_rresp, m_rresp.clone());
        });
        b.when(s_rvalid.land(sl.sig("rready")), |b| {
            b.assign(&s_rvalid, zero.clone());
            b.assign(&rd_busy, zero.clone());
            b.assign(&rd_held, zero.clone());
        });
    });

    // ---- interrupts ----
    m.sync("interrupt: OR of the NICs' requests", |b| {
        b.assign(&irq, irq_in.red_or());
    });

    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> HostArbiterParams {
        HostArbiterParams::from_params(&Params::default())
    }

    #[test]
    fn bad_block_parameters_name_the_instance() {
        let cases = [
            (
                HostArbiterParams { nics: 9, ..params() },
                "invalid --nics 9: must be from 2 to 8",
            ),
            (
                HostArbiterParams { max_burst: 12, ..params() },
                "design: host_arbiter `host_arbiter`: max_burst 12 must be a power of two from 2 to 256",
            ),
            (
                HostArbiterParams { queue_depth: 1, ..params() },
                "design: host_arbiter `host_arbiter`: queue_depth 1 must be a power of two from 2 to 64",
            ),
            (
                HostArbiterParams { window_bits: 30, ..params() },
                "design: host_arbiter `host_arbiter`: window_bits 30 must be from 12 to 24",
            ),
            (
                HostArbiterParams { data_width: 96, ..params() },
                "invalid --data-width 96: must be a power of two from 64 to 256",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(elaborate(&p).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn every_nic_count_and_width_elaborates() {
        for nics in 2..=8 {
            for (data_width, addr_bits, max_burst, queue_depth) in
                [(64, 64, 16, 4), (256, 32, 2, 2), (128, 48, 256, 64)]
            {
                let p = HostArbiterParams {
                    nics,
                    data_width,
                    addr_bits,
                    max_burst,
                    queue_depth,
                    ..params()
                };
                let m = elaborate(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
                assert_eq!(m.port("m_axi_awid").unwrap().0.width, p.m_id_bits());
                assert_eq!(m.port("s_axil_awaddr").unwrap().0.width, p.axil_addr_bits());
            }
        }
    }
}
