//! `event_regs`: the NIC's event queue and reject register (block `EVENTS`).
//!
//! Miss events (`s_miss_*`, from `nic_rx`'s `m_miss_*`) and invalidation
//! events (`s_inval_*`, from `m_inval_*`) enter one FIFO of `DEPTH` events,
//! each stamped with its kind and the arrival cycle (a free-running 32-bit
//! counter sampled at the edge the event enters the queue). The host reads
//! the head through the `EVENT_*` registers and removes it with `POP`.
//! When the queue is full both `ready`s are 0, so the receive path waits:
//! no event is ever lost. When both kinds wait at once they take turns.
//!
//! `irq` = queue not empty AND `IRQ_ENABLE.EN`. Writing a STag to `REJECT`
//! offers it on `m_reject_*` (to `nic_rx`'s `s_reject_*`, always ready).
//!
//! Direct mode (`MODE.DIRECT`, docs/system.md): each miss event is also
//! offered on `m_direct_miss_*` to the system's direct resolver and taken
//! only when both the queue and the resolver take it; the resolver's
//! rejects (`s_direct_reject_*`) share `m_reject_*` with `REJECT`, which
//! goes first.
//!
//! The FIFO: the head in a register (what `EVENT_*` read), the rest in a
//! memory read through a register (block RAM), refilled at the edge of a
//! pop, so a read right after a `POP` sees the next event.

use std::rc::Rc;

use crate::ir::{clog2, Expr, Module, ModuleBuilder};
use crate::regmap::{self, Access, RegBlock};
use crate::Error;

/// Byte address of the `EVENTS` window in the NIC's register space.
pub const BASE: u64 = 0x200;

/// Events the queue holds by default.
pub const DEFAULT_DEPTH: u32 = 16;

/// `EVENT_KIND.KIND` values.
pub mod kind {
    /// The queue is empty.
    pub const NONE: u64 = 0;
    /// A segment parked on a foreign STag with no miss-table entry.
    pub const MISS: u64 = 1;
    /// The peer's Send with Invalidate invalidated a STag here.
    pub const INVAL: u64 = 2;
}

/// The register map of the event window (block `EVENTS`).
pub fn regmap() -> RegBlock {
    let mut b = RegBlock::new(
        "EVENTS",
        "event_regs",
        BASE,
        "The NIC's events, oldest first, in a FIFO of DEPTH entries (a block parameter, 16 by \
default): a miss event when a segment parks on a foreign STag that has no outstanding event \
(docs/nic_rx.md, \"The hold queue\"), an invalidation event when the peer's Send with \
Invalidate invalidated a STag here. Read `EVENT_*` for the head, then write `POP`. When the \
queue is full the receive path waits for room (the rx stream is back-pressured), so no event \
is lost; drain it. `irq` is `STATUS.PENDING` AND `IRQ_ENABLE.EN` (a level). `REJECT` answers \
a miss event with \"not in any list\": the STag's parked segments are discarded.",
    );
    b.reg(
        "EVENT_KIND",
        0,
        "Kind of the event at the head of the queue (NONE when the queue is empty).",
    )
    .field("KIND", 1, 0, Access::Ro, kind::NONE, "event kind")
    .values(&[
        (
            "NONE",
            kind::NONE,
            "the queue is empty; the other EVENT_* registers read 0",
        ),
        (
            "MISS",
            kind::MISS,
            "miss: a segment parked on foreign STag EVENT_STAG (first on connection EVENT_CONN); \
answer with the STAG block's INSTALL or with REJECT",
        ),
        (
            "INVAL",
            kind::INVAL,
            "invalidation: the peer's Send with Invalidate on EVENT_CONN invalidated EVENT_STAG \
here; remove its other copies",
        ),
    ]);
    b.reg(
        "EVENT_STAG",
        1,
        "STag of the head event (0 when the queue is empty).",
    )
    .field("VALUE", 31, 0, Access::Ro, 0, "STag");
    b.reg(
        "EVENT_CONN",
        2,
        "Connection of the head event (0 when the queue is empty).",
    )
    .field("CONN", 15, 0, Access::Ro, 0, "connection id");
    b.reg(
        "EVENT_CYCLE",
        3,
        "Arrival cycle of the head event: the value of `CYCLE` when it entered the queue (0 \
when the queue is empty). Wraps every 2^32 cycles.",
    )
    .field("VALUE", 31, 0, Access::Ro, 0, "cycle");
    b.reg("POP", 4, "Remove the head event.")
        .field("POP", 0, 0, Access::Cmd, 0, "write 1 to remove the head")
        .on_write(
            "with a 1 in POP: the head event leaves the queue and the next one (if any) is in \
the EVENT_* registers for the next read; COUNT drops by one. On an empty queue nothing \
happens and `STATUS.POP_EMPTY` is set.",
        );
    b.reg("COUNT", 5, "Events in the queue, the head included.")
        .field("COUNT", 15, 0, Access::Ro, 0, "events (at most DEPTH)");
    b.reg("STATUS", 6, "Queue and interrupt state.")
        .field(
            "PENDING",
            0,
            0,
            Access::Ro,
            0,
            "the queue is not empty (the interrupt's cause)",
        )
        .field(
            "IRQ",
            1,
            1,
            Access::Ro,
            0,
            "the `irq` output: PENDING and IRQ_ENABLE.EN",
        )
        .field(
            "FULL",
            2,
            2,
            Access::Ro,
            0,
            "the queue holds DEPTH events: new events wait in the receive path",
        )
        .field(
            "WAS_FULL",
            8,
            8,
            Access::W1c,
            0,
            "the queue was full at some cycle since this bit was last cleared (the receive path \
waited; nothing was lost)",
        )
        .field(
            "POP_EMPTY",
            9,
            9,
            Access::W1c,
            0,
            "a POP was written while the queue was empty (misuse; ignored)",
        );
    b.reg("IRQ_ENABLE", 7, "Interrupt enable.").field(
        "EN",
        0,
        0,
        Access::Rw,
        0,
        "1: `irq` follows STATUS.PENDING",
    );
    b.reg(
        "CYCLE",
        8,
        "The free-running cycle counter that stamps events (0 at reset, +1 every clock, wraps).",
    )
    .field("NOW", 31, 0, Access::Ro, 0, "the counter now");
    b.reg(
        "REJECT",
        9,
        "Reject a foreign STag: none of the NICs' lists has it.",
    )
    .field("STAG", 31, 0, Access::Wo, 0, "the STag to reject")
    .on_write(
        "the written STag (bytes not strobed keep their last written value) is offered to the \
receive path's reject port the next cycle, which takes it at once: its miss-table entry is \
marked rejected, its parked segments are judged again and discarded (DDP Terminate, invalid \
STag; counted in the COUNTERS block), and a STag with no entry is counted in \
`CNT_REJECT_UNKNOWN`. Reads return 0.",
    );
    b.reg(
        "MODE",
        10,
        "How this NIC's miss events are resolved: by the driver (the claims' path) or by the \
host-bus arbiter's direct resolver (no CPU).",
    )
    .field(
        "DIRECT",
        0,
        0,
        Access::Rw,
        0,
        "0: driver mode, the driver answers every miss event (STAG INSTALL or REJECT). 1: \
direct mode, each miss event is also handed to the system's direct resolver, which asks the \
STag's generating NIC (QUERY) and INSTALLs the answer here, or REJECTs it; the event still \
enters this queue (the driver's log). Change it only while no miss event is outstanding.",
    );
    b
}

/// Parameters of an `event_regs` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRegsParams {
    pub name: String,
    /// Events the queue holds: a power of two from 2 to 256.
    pub depth: u32,
}

impl Default for EventRegsParams {
    fn default() -> Self {
        EventRegsParams {
            name: "event_regs".into(),
            depth: DEFAULT_DEPTH,
        }
    }
}

impl EventRegsParams {
    pub fn validate(&self) -> Result<(), Error> {
        let d = self.depth;
        if !(d.is_power_of_two() && (2..=256).contains(&d)) {
            return Err(Error::Design(format!(
                "event_regs `{}`: queue depth {d} must be a power of two from 2 to 256",
                self.name
            )));
        }
        Ok(())
    }
}

/// Build the module.
pub fn elaborate(p: &EventRegsParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let map = regmap();
    let depth = p.depth;
    let fa = clog2(depth as u64);
    // Event word: {cycle, conn, stag, inval}.
    let ew = 1 + 32 + 16 + 32;

    let mut m = ModuleBuilder::new(
        &p.name,
        "Event queue (miss and invalidation events, arrival cycle), interrupt and reject register (AXI4-Lite)",
    );
    m.param("DEPTH", depth as u64, "events the queue holds");
    m.clock_and_reset();
    let regs = regmap::axil_regs(&mut m, &map)?;

    let ms_valid = m.input("s_miss_valid", 1, "miss event (nic_rx m_miss_*)");
    let ms_ready = m.output("s_miss_ready", 1, "");
    let ms_stag = m.input("s_miss_stag", 32, "");
    let ms_conn = m.input("s_miss_conn", 16, "");
    let iv_valid = m.input("s_inval_valid", 1, "invalidation event (nic_rx m_inval_*)");
    let iv_ready = m.output("s_inval_ready", 1, "");
    let iv_stag = m.input("s_inval_stag", 32, "");
    let iv_conn = m.input("s_inval_conn", 16, "");
    let rj_out_valid = m.output(
        "m_reject_valid",
        1,
        "a REJECT write or a direct reject, to nic_rx s_reject_*",
    );
    let rj_ready = m.input("m_reject_ready", 1, "");
    let rj_out_stag = m.output("m_reject_stag", 32, "");
    let irq = m.output("irq", 1, "queue not empty and IRQ_ENABLE.EN (level)");
    let dm_valid = m.output(
        "m_direct_miss_valid",
        1,
        "in MODE.DIRECT: a copy of each miss event, taken together with the queue's",
    );
    let dm_ready = m.input(
        "m_direct_miss_ready",
        1,
        "the direct resolver takes it (must not depend on valid)",
    );
    let dm_stag = m.output("m_direct_miss_stag", 32, "");
    let dm_conn = m.output("m_direct_miss_conn", 16, "");
    let drj_valid = m.input(
        "s_direct_reject_valid",
        1,
        "the direct resolver rejects a STag (merged onto m_reject_*; REJECT writes first)",
    );
    let drj_ready = m.output("s_direct_reject_ready", 1, "");
    let drj_stag = m.input("s_direct_reject_stag", 32, "");

    // ---- cycle counter ----
    let now = m.reg("cycle_reg", 32, 0, "free-running cycle counter");
    m.sync("cycle counter", |b| b.assign(&now, now.inc()));

    // ---- arbitration: both kinds take turns ----
    let count = m.reg("count_reg", fa + 1, 0, "events queued, the head included");
    let full = m.signal("full", 1, "DEPTH events queued");
    m.assign(&full, count.eq_lit(depth as u128));
    let prefer_inval = m.reg(
        "prefer_inval_reg",
        1,
        0,
        "when both kinds wait, take the invalidation",
    );
    let pick_inval = m.signal("pick_inval", 1, "the invalidation event is the one offered");
    m.assign(
        &pick_inval,
        iv_valid.land(ms_valid.lnot().lor(&prefer_inval)),
    );
    // In direct mode a miss event is taken only when the queue and the
    // direct resolver take it in the same cycle (a fork: both readies are
    // independent of valid, so no loop).
    let direct = regs.value("MODE", "DIRECT");
    let miss_turn = m.signal(
        "miss_turn",
        1,
        "the queue has room for the miss event this cycle",
    );
    m.assign(&miss_turn, full.lnot().land(pick_inval.lnot()));
    m.assign(&iv_ready, full.lnot().land(&pick_inval));
    m.assign(&ms_ready, miss_turn.land(direct.lnot().lor(&dm_ready)));
    m.assign(&dm_valid, ms_valid.land(&direct).land(&miss_turn));
    m.assign(&dm_stag, &ms_stag);
    m.assign(&dm_conn, &ms_conn);
    let push = m.signal("push", 1, "an event enters the queue at this edge");
    m.assign(
        &push,
        iv_valid.land(&iv_ready).lor(ms_valid.land(&ms_ready)),
    );
    let in_word = m.signal(
        "in_word",
        ew,
        "{cycle, conn, stag, inval} of the pushed event",
    );
    m.assign(
        &in_word,
        Expr::concat([
            now.clone(),
            Expr::mux(&pick_inval, iv_conn.clone(), ms_conn.clone()),
            Expr::mux(&pick_inval, iv_stag.clone(), ms_stag.clone()),
            pick_inval.clone(),
        ]),
    );
    m.sync("arbitration: alternate when both wait", |b| {
        b.when(iv_valid.land(&ms_valid).land(&push), |b| {
            b.assign(&prefer_inval, pick_inval.lnot())
        });
    });

    // ---- FIFO: head register + memory ----
    let head_valid = m.reg("head_valid_reg", 1, 0, "the head register holds an event");
    let head = m.signal("head_reg", ew, "the oldest event");
    let mem = m.memory("event_mem", ew, depth, "events behind the head");
    let wr_ptr = m.reg("wr_ptr_reg", fa + 1, 0, "");
    let rd_ptr = m.reg("rd_ptr_reg", fa + 1, 0, "");
    let mem_empty = m.signal("mem_empty", 1, "no event behind the head");
    m.assign(&mem_empty, wr_ptr.eq(&rd_ptr));
    let pop_cmd = regs.pulse("POP", "POP");
    let pop = m.signal("pop", 1, "a POP removes the head at this edge");
    m.assign(&pop, pop_cmd.land(&head_valid));
    let refill = m.signal("refill", 1, "the head register is free at this edge");
    m.assign(&refill, pop.lor(head_valid.lnot()));
    let bypass = m.signal("bypass", 1, "the pushed event goes straight into the head");
    m.assign(&bypass, push.land(&refill).land(&mem_empty));
    m.sync(
        "FIFO: head refill (registered memory read), memory write, count",
        |b| {
            b.when(&refill, |b| {
                b.if_else(
                    mem_empty.lnot(),
                    |b| {
                        b.assign(&head, mem.read(rd_ptr.slice(fa - 1, 0)));
                        b.assign(&rd_ptr, rd_ptr.inc());
                        b.assign(&head_valid, Expr::lit(1, 1));
                    },
                    |b| {
                        b.when(&push, |b| b.assign(&head, &in_word));
                        b.assign(&head_valid, push.clone());
                    },
                );
            });
            b.when(push.land(bypass.lnot()), |b| {
                b.mem_write(&mem, wr_ptr.slice(fa - 1, 0), &in_word);
                b.assign(&wr_ptr, wr_ptr.inc());
            });
            b.if_else(
                push.land(pop.lnot()),
                |b| b.assign(&count, count.inc()),
                |b| b.when(pop.land(push.lnot()), |b| b.assign(&count, count.dec())),
            );
        },
    );

    // ---- registers ----
    let src = |r: &str, f: &str| regs.source(r, f);
    let gate = |e: Expr| head_valid.gate(&e);
    m.assign(
        &src("EVENT_KIND", "KIND"),
        Expr::concat([
            head_valid.land(head.bit(0)),
            head_valid.land(head.bit(0).lnot()),
        ]),
    );
    m.assign(&src("EVENT_STAG", "VALUE"), gate(head.slice(32, 1)));
    m.assign(&src("EVENT_CONN", "CONN"), gate(head.slice(48, 33)));
    m.assign(&src("EVENT_CYCLE", "VALUE"), gate(head.slice(80, 49)));
    m.assign(&src("COUNT", "COUNT"), count.zext(16));
    let en = regs.value("IRQ_ENABLE", "EN");
    m.assign(&irq, head_valid.land(&en));
    m.assign(&src("STATUS", "PENDING"), &head_valid);
    m.assign(&src("STATUS", "IRQ"), head_valid.land(&en));
    m.assign(&src("STATUS", "FULL"), &full);
    m.assign(&regs.set("STATUS", "WAS_FULL"), &full);
    m.assign(
        &regs.set("STATUS", "POP_EMPTY"),
        pop_cmd.land(head_valid.lnot()),
    );
    m.assign(&src("CYCLE", "NOW"), &now);

    // ---- reject: the REJECT register first, then the direct resolver ----
    let rj_valid = m.reg(
        "host_reject_valid_reg",
        1,
        0,
        "a REJECT write waits on m_reject_*",
    );
    m.assign(&rj_out_valid, rj_valid.lor(&drj_valid));
    m.assign(
        &rj_out_stag,
        Expr::mux(&rj_valid, regs.value("REJECT", "STAG"), drj_stag.clone()),
    );
    m.assign(&drj_ready, rj_valid.lnot().land(&rj_ready));
    let rj_write = regs.write_strobe("REJECT");
    m.sync(
        "reject: offered the cycle after the REJECT write, until taken",
        |b| {
            b.if_else(
                &rj_write,
                |b| b.assign(&rj_valid, Expr::lit(1, 1)),
                |b| b.when(&rj_ready, |b| b.assign(&rj_valid, Expr::lit(0, 1))),
            );
        },
    );
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_is_valid_and_depths_are_checked() {
        regmap().validate().unwrap();
        for d in [2, 16, 256] {
            elaborate(&EventRegsParams {
                depth: d,
                ..EventRegsParams::default()
            })
            .unwrap();
        }
        let e = elaborate(&EventRegsParams {
            depth: 12,
            ..EventRegsParams::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "design: event_regs `event_regs`: queue depth 12 must be a power of two from 2 to 256"
        );
    }
}
