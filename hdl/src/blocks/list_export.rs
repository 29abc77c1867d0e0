//! `list_export`: writes the STag table's list stream into a host buffer by
//! DMA, one 64-byte record per valid own entry (the `STAG` block's
//! LIST_DMA command, docs/registers.md).
//!
//! `start` (one cycle, from `stag_regs` at a LIST_DMA's GO) sets the buffer
//! (`base`, rounded down to 64 bytes; `capacity` in bytes) and clears the
//! record count and the error flag. Each list beat then becomes record k at
//! `base + 64 k`, one AXI4 burst of 64 bytes (so it never crosses 4 KiB),
//! while `64 (k + 1) <= capacity`; records that do not fit are counted and
//! not written. `idle` is 1 when every beat taken has been written and
//! answered (all B responses in): `stag_regs` keeps the command BUSY until
//! then. `error` is sticky until the next `start`: a B response was not
//! OKAY.
//!
//! Record layout (little-endian, as `include/stag_handoff_regs.h` says):
//!
//! | bytes | field |
//! |---|---|
//! | 0-3 | STag |
//! | 4-7 | protection domain (zero-extended) |
//! | 8-11 | attributes: rights in bits 3:0, remote-invalidate in bit 4 |
//! | 12-15 | 0 |
//! | 16-23 | DMA base |
//! | 24-31 | VA base |
//! | 32-39 | length (zero-extended) |
//! | 40-63 | 0 |

use std::rc::Rc;

use crate::blocks::rx_place::{AWCACHE, AWPROT, ID_BITS};
use crate::blocks::stag_table::StagTableParams;
use crate::iface::{AxiSpec, AxisSpec, Side};
use crate::ir::{clog2, Expr, Module, ModuleBuilder};
use crate::params;
use crate::Error;

/// Bytes of one exported record.
pub const RECORD_BYTES: u32 = 64;
/// Bits of `written` (records written since `start`).
pub const COUNT_BITS: u32 = 16;

/// Parameters of a `list_export`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListExportParams {
    pub name: String,
    /// AXI4 data width: 64, 128 or 256 (the NIC's).
    pub data_width: u32,
    /// The table whose list stream it takes (field widths, beat layout).
    pub table: StagTableParams,
}

impl ListExportParams {
    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        self.table.validate()
    }
}

/// Build the module.
pub fn elaborate(p: &ListExportParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let tp = &p.table;
    let dw = p.data_width;
    let ab = tp.dma_addr_bits;
    let lw = tp.list_width();
    let beats = RECORD_BYTES * 8 / dw;
    let bb = clog2(beats as u64).max(1);
    let lit = |v: u128, w: u32| Expr::lit(v, w);

    let mut m = ModuleBuilder::new(
        &p.name,
        "STag list export: one 64-byte record per listed entry, written by AXI4 into a host buffer",
    );
    m.param("DATA_WIDTH", dw as u64, "AXI4 data width");
    m.param(
        "RECORD_BYTES",
        RECORD_BYTES as u64,
        "bytes per exported entry",
    );
    m.clock_and_reset();

    let start = m.input(
        "start",
        1,
        "a LIST_DMA begins: take base and capacity, clear count and error",
    );
    let base = m.input(
        "base",
        ab,
        "host address of the buffer (low 6 bits ignored)",
    );
    let capacity = m.input("capacity", tp.len_bits, "buffer size in bytes");
    let list = AxisSpec {
        data_width: lw,
        keep: false,
        last: true,
        user_width: 0,
    }
    .ports(&mut m, "s_axis_list", Side::Subordinate);
    let axi = AxiSpec {
        addr_width: ab,
        data_width: dw,
        id_width: ID_BITS,
        read: false,
    }
    .ports(&mut m, "m_axi", Side::Manager);
    let idle = m.output("idle", 1, "every record taken is written and answered");
    let written = m.output_init(
        "written",
        COUNT_BITS,
        0,
        "records written since start (saturates)",
    );
    let error = m.output_init("error", 1, 0, "a B response was not OKAY since start");
    m.unused(
        "list_tlast",
        vec![list.sig("tlast").clone(), axi.sig("bid").clone()],
        "records are counted, not framed; the only id used is 0",
    );

    // ---- the record being written ----
    let rec_valid = m.reg(
        "rec_valid_reg",
        1,
        0,
        "a record waits to be written or dropped",
    );
    let rec = m.reg(
        "rec_reg",
        RECORD_BYTES * 8,
        0,
        "the record, byte 0 in bits 7:0",
    );
    let aw_done = m.reg("aw_done_reg", 1, 0, "the record's AW was taken");
    let beat = m.reg("beat_reg", bb, 0, "W beats of the record sent");
    let ib = ab - 6;
    let index = m.reg(
        "index_reg",
        ib,
        0,
        "records taken since start (wraps with the address)",
    );
    let buf = m.reg("base_reg", ab - 6, 0, "the buffer's 64-byte block address");
    let cap = m.reg(
        "capacity_reg",
        tp.len_bits - 6,
        0,
        "whole records the buffer holds (its size / 64)",
    );
    m.unused(
        "base_low",
        vec![base.slice(5, 0), capacity.slice(5, 0)],
        "records are 64 bytes at 64-byte aligned addresses",
    );
    let outstanding = m.reg("outstanding_reg", 5, 0, "bursts whose B has not come back");

    // The list beat: {pad, payload (dma_base, va_base, length, pd, rights,
    // remote_inv, least significant first), stag}.
    let d = list.sig("tdata");
    let mut at = 32;
    let mut field = |w: u32| {
        let e = d.slice(at + w - 1, at);
        at += w;
        e
    };
    let [dma_w, va_w, len_w, pd_w, rights_w, inv_w] = tp.fields().map(|(_, w)| w);
    let (dma, va, len, pd, rights, inv) = (
        field(dma_w),
        field(va_w),
        field(len_w),
        field(pd_w),
        field(rights_w),
        field(inv_w),
    );
    if lw > at {
        m.unused(
            "list_pad",
            vec![d.slice(lw - 1, at)],
            "the beat's pad to whole bytes",
        );
    }
    let record = m.signal("record", RECORD_BYTES * 8, "the list beat as a record");
    m.assign(
        &record,
        Expr::concat([
            lit(0, 192),
            len.zext(64),
            va.zext(64),
            dma.zext(64),
            lit(0, 32),
            Expr::concat([lit(0, 27), inv, rights]),
            pd.zext(32),
            d.slice(31, 0),
        ]),
    );
    // Fits: 64 (index + 1) <= capacity, i.e. index < capacity / 64.
    let fits = m.signal("fits", 1, "the waiting record fits in the buffer");
    let cw = ib.max(tp.len_bits - 6);
    m.assign(&fits, index.zext(cw).lt(cap.zext(cw)));

    m.assign(list.sig("tready"), rec_valid.lnot().land(start.lnot()));
    let take = list.sig("tvalid").land(list.sig("tready"));
    let writing = rec_valid.land(&fits);
    m.assign(axi.sig("awvalid"), writing.land(aw_done.lnot()));
    m.assign(axi.sig("awid"), lit(0, ID_BITS));
    m.assign(axi.sig("awaddr"), Expr::concat([&buf + &index, lit(0, 6)]));
    m.assign(axi.sig("awlen"), lit(beats as u128 - 1, 8));
    m.assign(axi.sig("awsize"), lit(clog2(dw as u64 / 8) as u128, 3));
    m.assign(axi.sig("awburst"), lit(1, 2));
    m.assign(axi.sig("awlock"), lit(0, 1));
    m.assign(axi.sig("awcache"), lit(AWCACHE, 4));
    m.assign(axi.sig("awprot"), lit(AWPROT, 3));
    m.assign(axi.sig("wvalid"), writing.land(&aw_done));
    let lanes: Vec<Expr> = (0..beats)
        .map(|k| rec.slice((k + 1) * dw - 1, k * dw))
        .collect();
    let mut wdata = lanes[beats as usize - 1].clone();
    for k in (0..beats - 1).rev() {
        wdata = Expr::mux(beat.eq_lit(k as u128), lanes[k as usize].clone(), wdata);
    }
    m.assign(axi.sig("wdata"), wdata);
    m.assign(axi.sig("wstrb"), Expr::ones(dw / 8));
    let last_beat = beat.eq_lit(beats as u128 - 1);
    m.assign(axi.sig("wlast"), &last_beat);
    m.assign(axi.sig("bready"), lit(1, 1));

    let aw_take = axi.sig("awvalid").land(axi.sig("awready"));
    let w_take = axi.sig("wvalid").land(axi.sig("wready"));
    let b_take = axi.sig("bvalid").clone();
    let record_done = w_take.land(&last_beat).lor(rec_valid.land(fits.lnot()));
    m.assign(&idle, rec_valid.lnot().land(outstanding.eq_lit(0)));
    m.sync(
        "take a list beat, write it as one burst (or drop it), count",
        |b| {
            b.when(&take, |b| {
                b.assign(&rec, &record);
                b.assign(&rec_valid, lit(1, 1));
            });
            b.when(&aw_take, |b| b.assign(&aw_done, lit(1, 1)));
            b.when(&w_take, |b| b.assign(&beat, beat.inc()));
            b.when(&record_done, |b| {
                b.assign(&rec_valid, lit(0, 1));
                b.assign(&aw_done, lit(0, 1));
                b.assign(&beat, lit(0, bb));
                b.assign(&index, index.inc());
                b.when(
                    fits.land(written.eq_lit((1 << COUNT_BITS) - 1).lnot()),
                    |b| b.assign(&written, written.inc()),
                );
            });
            b.if_else(
                aw_take.land(b_take.lnot()),
                |b| b.assign(&outstanding, outstanding.inc()),
                |b| {
                    b.when(b_take.land(aw_take.lnot()), |b| {
                        b.assign(&outstanding, outstanding.dec())
                    })
                },
            );
            b.when(b_take.land(axi.sig("bresp").ne(lit(0, 2))), |b| {
                b.assign(&error, lit(1, 1))
            });
            b.when(&start, |b| {
                b.assign(&buf, base.slice(ab - 1, 6));
                b.assign(&cap, capacity.slice(tp.len_bits - 1, 6));
                b.assign(&index, lit(0, ib));
                b.assign(&written, lit(0, COUNT_BITS));
                b.assign(&error, lit(0, 1));
            });
        },
    );
    Ok(m.finish()?)
}
