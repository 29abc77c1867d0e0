//! `stag_table`: the STag table of one NIC. Generates STags, answers one
//! lookup per clock at a fixed latency, and holds migrated (foreign) STags
//! in a small associative cache with exact LRU eviction.
//!
//! The contract (ports, statuses, timing) is `docs/stag_table.md`; the
//! reference model in `testbench` is written from that page, not from this
//! file.
//!
//! Why it has no busy period after reset: own entries sit in block RAM,
//! which a reset cannot clear. Instead an allocation counter says how many
//! entries were ever handed out since reset; an entry at or above it reads
//! as empty whatever the RAM holds, and freed entries are recycled through
//! a free-list FIFO (also block RAM, empty at reset by its pointers).

use std::rc::Rc;

use crate::iface::{AxisSpec, Side};
use crate::ir::{clog2, Block, Expr, Module, ModuleBuilder};
use crate::params::{self, Params, STAG_INDEX_BITS};
use crate::Error;

/// Lookup statuses (`lookup_resp_status`).
pub mod lookup_status {
    pub const HIT_OWN: u128 = 0;
    pub const HIT_FOREIGN: u128 = 1;
    pub const MISS_FOREIGN: u128 = 2;
    pub const INVALID: u128 = 3;
    pub const MALFORMED: u128 = 4;
    /// Names, indexed by value (docs, models and test messages use these).
    pub const NAMES: &[&str] = &[
        "HIT_OWN",
        "HIT_FOREIGN",
        "MISS_FOREIGN",
        "INVALID",
        "MALFORMED",
    ];
}

/// Command opcodes (`cmd_op`).
pub mod op {
    pub const REGISTER: u128 = 0;
    pub const INVALIDATE: u128 = 1;
    pub const DEREGISTER: u128 = 2;
    pub const INSTALL: u128 = 3;
    pub const QUERY: u128 = 4;
    pub const LIST: u128 = 5;
    /// Names, indexed by value; 6 and 7 are reserved (`BAD_OP`).
    pub const NAMES: &[&str] = &[
        "REGISTER",
        "INVALIDATE",
        "DEREGISTER",
        "INSTALL",
        "QUERY",
        "LIST",
        "RESERVED6",
        "RESERVED7",
    ];
}

/// Command statuses (`resp_status`).
pub mod status {
    pub const OK: u128 = 0;
    pub const FULL: u128 = 1;
    pub const DUPLICATE: u128 = 2;
    pub const UNKNOWN: u128 = 3;
    pub const MALFORMED: u128 = 4;
    pub const NOT_FOREIGN: u128 = 5;
    pub const NOT_OWN: u128 = 6;
    pub const BAD_OP: u128 = 7;
    /// Names, indexed by value.
    pub const NAMES: &[&str] = &[
        "OK",
        "FULL",
        "DUPLICATE",
        "UNKNOWN",
        "MALFORMED",
        "NOT_FOREIGN",
        "NOT_OWN",
        "BAD_OP",
    ];
}

/// Parameters of a `stag_table`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagTableParams {
    pub name: String,
    pub entries: u32,
    pub foreign_entries: u32,
    pub nic_id_bits: u32,
    pub lookup_latency: u32,
    pub pd_bits: u32,
    pub len_bits: u32,
    pub dma_addr_bits: u32,
}

impl StagTableParams {
    pub fn from_params(p: &Params) -> Self {
        StagTableParams {
            name: "stag_table".into(),
            entries: p.get32("entries"),
            foreign_entries: p.get32("foreign-entries"),
            nic_id_bits: p.get32("nic-id-bits"),
            lookup_latency: p.get32("lookup-latency"),
            pd_bits: p.get32("pd-bits"),
            len_bits: p.get32("len-bits"),
            dma_addr_bits: p.get32("dma-addr-bits"),
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        params::check("entries", self.entries as u64)?;
        params::check("foreign-entries", self.foreign_entries as u64)?;
        params::check("nic-id-bits", self.nic_id_bits as u64)?;
        params::check("lookup-latency", self.lookup_latency as u64)?;
        params::check("pd-bits", self.pd_bits as u64)?;
        params::check("len-bits", self.len_bits as u64)?;
        params::check("dma-addr-bits", self.dma_addr_bits as u64)?;
        Ok(())
    }

    /// Bits of the entry index (log2 entries).
    pub fn entry_bits(&self) -> u32 {
        clog2(self.entries as u64)
    }

    /// Width of the packed entry fields: dma_base, va_base, length, pd,
    /// rights, remote_inv (least significant first).
    pub fn payload_width(&self) -> u32 {
        self.dma_addr_bits + 64 + self.len_bits + self.pd_bits + 4 + 1
    }

    /// Width of a list-stream beat: STag then payload, padded to bytes.
    pub fn list_width(&self) -> u32 {
        (32 + self.payload_width()).div_ceil(8) * 8
    }

    /// The entry fields as (name, width), least significant first.
    pub fn fields(&self) -> [(&'static str, u32); 6] {
        [
            ("dma_base", self.dma_addr_bits),
            ("va_base", 64),
            ("length", self.len_bits),
            ("pd", self.pd_bits),
            ("rights", 4),
            ("remote_inv", 1),
        ]
    }
}

/// The pieces of a STag held in a signal.
struct StagParts {
    id: Expr,
    spare: Expr,
    entry: Expr,
    key: Expr,
}

fn stag_parts(p: &StagTableParams, s: &Expr) -> StagParts {
    let eb = p.entry_bits();
    let id_lo = 8 + STAG_INDEX_BITS - p.nic_id_bits;
    StagParts {
        id: s.slice(31, id_lo),
        spare: s.slice(id_lo - 1, 8 + eb),
        entry: s.slice(8 + eb - 1, 8),
        key: s.slice(7, 0),
    }
}

/// Build the module.
pub fn elaborate(p: &StagTableParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let eb = p.entry_bits();
    let nb = p.nic_id_bits;
    let f = p.foreign_entries;
    let pw = p.payload_width();
    let spare_bits = STAG_INDEX_BITS - nb - eb;

    let mut m = ModuleBuilder::new(
        &p.name,
        "STag table of one NIC: own entries in block RAM, migrated entries in an LRU cache",
    );
    m.param(
        "ENTRIES",
        p.entries as u64,
        "own entries (block RAM), indexed by STag entry bits",
    );
    m.param(
        "FOREIGN_ENTRIES",
        f as u64,
        "migrated-entry cache slots (flip-flops, LRU)",
    );
    m.param(
        "NIC_ID_BITS",
        nb as u64,
        "STag[31 -: NIC_ID_BITS] is the generating NIC",
    );
    m.param(
        "LOOKUP_LATENCY",
        p.lookup_latency as u64,
        "lookup request to answer, in cycles",
    );
    m.param("PD_BITS", p.pd_bits as u64, "protection domain width");
    m.param("LEN_BITS", p.len_bits as u64, "region length width");
    m.param(
        "DMA_ADDR_BITS",
        p.dma_addr_bits as u64,
        "host address width",
    );

    // ---- ports ----
    m.clock_and_reset();
    let nic_id = m.input("nic_id", nb, "this NIC's id (a strap)");
    let lookup_valid = m.input("lookup_valid", 1, "lookup request, one per clock");
    let lookup_stag = m.input("lookup_stag", 32, "");
    let lr_valid = m.output(
        "lookup_resp_valid",
        1,
        "answer LOOKUP_LATENCY cycles after the request",
    );
    let lr_stag = m.output("lookup_resp_stag", 32, "");
    let lr_status = m.output(
        "lookup_resp_status",
        3,
        "HIT_OWN, HIT_FOREIGN, MISS_FOREIGN, INVALID, MALFORMED",
    );
    let lr_fields: Vec<Expr> = p
        .fields()
        .iter()
        .map(|(n, w)| m.output(&format!("lookup_resp_{n}"), *w, ""))
        .collect();

    let cmd_valid = m.input("cmd_valid", 1, "");
    let cmd_ready = m.output("cmd_ready", 1, "idle and no response pending");
    let cmd_op = m.input(
        "cmd_op",
        3,
        "REGISTER, INVALIDATE, DEREGISTER, INSTALL, QUERY, LIST",
    );
    let cmd_stag = m.input("cmd_stag", 32, "");
    let cmd_fields: Vec<Expr> = p
        .fields()
        .iter()
        .map(|(n, w)| m.input(&format!("cmd_{n}"), *w, ""))
        .collect();
    let resp_valid = m.output("resp_valid", 1, "");
    let resp_ready = m.input("resp_ready", 1, "");
    let resp_status_o = m.output("resp_status", 3, "");
    let resp_stag_o = m.output(
        "resp_stag",
        32,
        "generated STag (REGISTER), else the command's",
    );
    let resp_fields_o: Vec<Expr> = p
        .fields()
        .iter()
        .map(|(n, w)| m.output(&format!("resp_{n}"), *w, ""))
        .collect();
    let resp_evicted_o = m.output("resp_evicted", 1, "INSTALL evicted the LRU slot");
    let resp_count_o = m.output("resp_count", eb + 1, "LIST: entries streamed");
    let list_spec = AxisSpec {
        data_width: p.list_width(),
        keep: false,
        last: true,
        user_width: 0,
    };
    let list = list_spec.ports(&mut m, "m_axis_list", Side::Manager);
    let evictions_o = m.output(
        "evictions",
        32,
        "foreign entries evicted since reset (wraps)",
    );

    // ---- storage ----
    // Own entries: a narrow tag memory read by lookups and commands, and a
    // wide payload memory with one read port (lookups first). Splitting
    // them keeps the block-RAM count down: only the tag is duplicated.
    let entries_c = m.localparam("ENTRIES", p.entries as u128, eb + 1, "");
    let tag_mem = m.memory(
        "tag_mem",
        10,
        p.entries,
        "own entries: {allocated, valid, key}",
    );
    let pl_mem = m.memory(
        "payload_mem",
        pw,
        p.entries,
        "own entries: {remote_inv, rights, pd, length, va_base, dma_base}",
    );
    let alloc_count = m.reg(
        "alloc_count_reg",
        eb + 1,
        0,
        "entries handed out since reset; those at or above read as empty",
    );
    let fl_mem = m.memory(
        "free_mem",
        eb + 8,
        p.entries,
        "free list: {next key, entry}",
    );
    let fl_wr = m.reg("free_wr_ptr_reg", eb + 1, 0, "");
    let fl_rd = m.reg("free_rd_ptr_reg", eb + 1, 0, "");
    let fl_head = m.signal(
        "free_head_reg",
        eb + 8,
        "free_mem[free_rd_ptr_reg], read every cycle",
    );
    let evictions = m.reg("evictions_reg", 32, 0, "");

    let slot_valid: Vec<Expr> = (0..f)
        .map(|i| m.reg(&format!("cache_valid_{i}"), 1, 0, ""))
        .collect();
    let slot_tag: Vec<Expr> = (0..f)
        .map(|i| m.signal(&format!("cache_tag_{i}"), 32, ""))
        .collect();
    // Foreign entry fields: a memory read one cycle after the compare, or
    // at latency 2, where there is no such cycle, flip-flops.
    let slot_bits = clog2(f as u64);
    let ff_slots = p.lookup_latency == 2;
    let slot_payload: Vec<Expr> = if ff_slots {
        (0..f)
            .map(|i| m.signal(&format!("cache_payload_{i}"), pw, ""))
            .collect()
    } else {
        Vec::new()
    };
    let fp_mem = (!ff_slots).then(|| {
        m.memory(
            "cache_payload_mem",
            pw,
            1 << slot_bits,
            "foreign entries' fields, by slot",
        )
    });
    // lru_row_i[j] = 1: slot i was used more recently than slot j.
    let lru_row: Vec<Expr> = (0..f)
        .map(|i| m.reg(&format!("lru_row_{i}"), f, 0, ""))
        .collect();

    // ---- lookup, stage 1: compare tags, read the own entry's tag ----
    let lk = stag_parts(p, &lookup_stag);
    let l1_valid = m.reg("l1_valid_reg", 1, 0, "stage 1: request in flight");
    let l1_stag = m.signal("l1_stag_reg", 32, "");
    let l1_tag = m.signal(
        "l1_tag_reg",
        10,
        "own entry's tag, read at the request edge",
    );
    let l1_in_range = m.signal("l1_in_range_reg", 1, "entry below the allocation counter");
    let l1_own = m.signal("l1_own_reg", 1, "STag generated by this NIC");
    let l1_malformed = m.signal("l1_malformed_reg", 1, "spare index bits not zero");
    let l1_hit = m.reg(
        "l1_hit_reg",
        f,
        0,
        "one-hot foreign slot hit (tags are unique)",
    );
    let lookup_match = m.signal("lookup_match", f, "slots whose tag equals lookup_stag");
    m.assign(
        &lookup_match,
        Expr::concat(
            (0..f)
                .rev()
                .map(|i| slot_valid[i as usize].land(slot_tag[i as usize].eq(&lookup_stag))),
        ),
    );
    m.sync("lookup stage 1", |b| {
        b.assign(&l1_valid, &lookup_valid);
        b.assign(&l1_stag, &lookup_stag);
        b.assign(&l1_tag, tag_mem.read(lk.entry.clone()));
        b.assign(&l1_in_range, lk.entry.zext(eb + 1).lt(&alloc_count));
        b.assign(&l1_own, lk.id.eq(&nic_id));
        b.assign(&l1_malformed, lk.spare.ne(Expr::zero(spare_bits)));
        b.assign(&l1_hit, lookup_match.clone() & lookup_valid.repl(f));
    });

    // The payload read port: lookups read it at the request edge (latency
    // 2) or one edge later; commands take the edges lookups leave free.
    let pl_rd = m.signal(
        "payload_rd_reg",
        pw,
        "payload_mem read data (block RAM output)",
    );
    let pl_lookup = if ff_slots {
        lookup_valid.clone()
    } else {
        l1_valid.clone()
    };
    let pl_lookup_addr = if ff_slots {
        lk.entry.clone()
    } else {
        stag_parts(p, &l1_stag).entry
    };
    let pl_free = m.signal(
        "payload_port_free",
        1,
        "no lookup reads payload_mem at this edge",
    );
    m.assign(&pl_free, pl_lookup.lnot());
    let pl_cmd_addr = m.signal(
        "payload_cmd_addr",
        eb,
        "payload_mem address for QUERY and LIST",
    );

    // ---- lookup, stage 2: classify ----
    let l1 = stag_parts(p, &l1_stag);
    let own_hit = m.signal("l1_own_hit", 1, "allocated, valid, key matches");
    m.assign(
        &own_hit,
        l1_in_range
            .land(l1_tag.bit(9))
            .land(l1_tag.bit(8))
            .land(l1_tag.slice(7, 0).eq(&l1.key)),
    );
    let foreign_hit = m.signal("l1_foreign_hit", 1, "");
    m.assign(&foreign_hit, l1_hit.red_or());
    let st = |v: u128| Expr::lit(v, 3);
    let l1_status = m.signal("l1_status", 3, "the lookup answer's status");
    m.assign(
        &l1_status,
        Expr::mux(
            &l1_malformed,
            st(lookup_status::MALFORMED),
            Expr::mux(
                &l1_own,
                Expr::mux(
                    &own_hit,
                    st(lookup_status::HIT_OWN),
                    st(lookup_status::INVALID),
                ),
                Expr::mux(
                    &foreign_hit,
                    st(lookup_status::HIT_FOREIGN),
                    st(lookup_status::MISS_FOREIGN),
                ),
            ),
        ),
    );
    let sel_own = l1_own.land(&own_hit).land(l1_malformed.lnot());
    let sel_foreign = l1_own.lnot().land(l1_malformed.lnot()).land(&foreign_hit);

    // The answer: {status, stag, entry}; stages up to LOOKUP_LATENCY.
    let answer_w = 3 + 32 + pw;
    let mut stage_valid = Vec::new();
    let mut stage_data = Vec::new();
    let first_answer = if ff_slots { 2 } else { 3 };
    for s in first_answer..=p.lookup_latency {
        stage_valid.push(m.reg(&format!("l{s}_valid_reg"), 1, 0, ""));
        stage_data.push(m.signal(
            &format!("l{s}_answer_reg"),
            answer_w,
            "{status, stag, entry}",
        ));
    }
    if ff_slots {
        let legs: Vec<Expr> = (0..f)
            .map(|i| l1_hit.bit(i).gate(&slot_payload[i as usize]))
            .collect();
        let foreign_payload =
            m.signal("l1_foreign_payload", pw, "AND-OR select by the one-hot hit");
        m.assign(
            &foreign_payload,
            legs.into_iter().reduce(|a, b| a | b).expect("f >= 2"),
        );
        let entry = m.signal("l1_entry", pw, "the entry on a hit, else zero");
        m.assign(
            &entry,
            sel_own.gate(&pl_rd) | sel_foreign.gate(&foreign_payload),
        );
        m.sync("lookup stage 2: the answer", |b| {
            b.assign(&stage_valid[0], &l1_valid);
            b.assign(
                &stage_data[0],
                Expr::concat([l1_status.clone(), l1_stag.clone(), entry.clone()]),
            );
        });
    } else {
        let fp_mem = fp_mem.as_ref().expect("memory slots");
        let l2_valid = m.reg("l2_valid_reg", 1, 0, "stage 2: reading the entry fields");
        let l2_status = m.signal("l2_status_reg", 3, "");
        let l2_stag = m.signal("l2_stag_reg", 32, "");
        let l2_own = m.signal("l2_sel_own_reg", 1, "answer with payload_mem's entry");
        let l2_foreign = m.signal(
            "l2_sel_foreign_reg",
            1,
            "answer with cache_payload_mem's entry",
        );
        let fp_rd = m.signal("cache_payload_rd_reg", pw, "cache_payload_mem read data");
        let l1_hit_slot = m.signal("l1_hit_slot", slot_bits, "binary index of the one-hot hit");
        m.assign(&l1_hit_slot, encode(&l1_hit, f, slot_bits));
        m.sync("lookup stage 2: classify, read the entry fields", |b| {
            b.assign(&l2_valid, &l1_valid);
            b.assign(&l2_status, &l1_status);
            b.assign(&l2_stag, &l1_stag);
            b.assign(&l2_own, sel_own.clone());
            b.assign(&l2_foreign, sel_foreign.clone());
            b.assign(&fp_rd, fp_mem.read(l1_hit_slot.clone()));
        });
        let entry = m.signal("l2_entry", pw, "the entry on a hit, else zero");
        m.assign(&entry, l2_own.gate(&pl_rd) | l2_foreign.gate(&fp_rd));
        m.sync("lookup stage 3: the answer", |b| {
            b.assign(&stage_valid[0], &l2_valid);
            b.assign(
                &stage_data[0],
                Expr::concat([l2_status.clone(), l2_stag.clone(), entry.clone()]),
            );
        });
    }
    if stage_valid.len() > 1 {
        m.sync("lookup delay stages up to LOOKUP_LATENCY", |b| {
            for s in 1..stage_valid.len() {
                b.assign(&stage_valid[s], &stage_valid[s - 1]);
                b.assign(&stage_data[s], &stage_data[s - 1]);
            }
        });
    }
    let last = stage_data.last().expect("latency >= first stage");
    m.assign(
        &lr_valid,
        stage_valid.last().expect("latency >= first stage"),
    );
    m.assign(&lr_status, last.slice(pw + 34, pw + 32));
    m.assign(&lr_stag, last.slice(pw + 31, pw));
    assign_fields(&mut m, p, &lr_fields, last, 0);

    // ---- commands ----
    // A command is accepted at edge a (its tag is read then), its flags are
    // registered at a+1 (EXEC1), and it acts at a+2 (EXEC2).
    const IDLE: u128 = 0;
    const EXEC1: u128 = 1;
    const EXEC2: u128 = 2;
    const INSTALL2: u128 = 3;
    const QUERY_READ: u128 = 4;
    const QUERY_RESP: u128 = 5;
    const LIST_TAG: u128 = 6;
    const LIST_TAGCHK: u128 = 7;
    const LIST_READ: u128 = 8;
    const LIST_CHECK: u128 = 9;
    const LIST_FLUSH: u128 = 10;
    const LIST_DONE: u128 = 11;
    let state = m.reg("state_reg", 4, IDLE, "command state");
    // The states as named localparams, so the emitted case reads by name.
    let state_names = [
        "STATE_IDLE",
        "STATE_EXEC1",
        "STATE_EXEC2",
        "STATE_INSTALL2",
        "STATE_QUERY_READ",
        "STATE_QUERY_RESP",
        "STATE_LIST_TAG",
        "STATE_LIST_TAGCHK",
        "STATE_LIST_READ",
        "STATE_LIST_CHECK",
        "STATE_LIST_FLUSH",
        "STATE_LIST_DONE",
    ];
    let states: Vec<Expr> = state_names
        .iter()
        .enumerate()
        .map(|(v, n)| m.localparam(n, v as u128, 4, ""))
        .collect();
    let sv = |v: u128| states[v as usize].clone();
    let c_op = m.signal("c_op_reg", 3, "accepted command");
    let c_stag = m.signal("c_stag_reg", 32, "");
    let c_payload = m.signal("c_payload_reg", pw, "");
    let c_in_range = m.signal("c_in_range_reg", 1, "");
    let c_tag = m.signal("c_tag_reg", 10, "tag_mem read for commands and the list");
    // EXEC1 flags.
    let f_own = m.signal("f_own_reg", 1, "the command's STag is this NIC's");
    let f_malformed = m.signal("f_malformed_reg", 1, "");
    let f_match = m.signal("f_match_reg", 1, "allocated own entry with this key");
    let f_live = m.signal("f_live_reg", 1, "... and valid");
    let f_hit = m.signal(
        "f_hit_reg",
        f,
        "slots whose tag equals the command's STag (at accept)",
    );
    let list_idx = m.reg("list_idx_reg", eb, 0, "");
    let list_n = m.reg("list_count_reg", eb + 1, 0, "");
    let held_valid = m.reg(
        "list_held_valid_reg",
        1,
        0,
        "one beat held back to know tlast",
    );
    let held = m.signal("list_held_reg", p.list_width(), "");
    let out_valid = m.reg("list_out_valid_reg", 1, 0, "");
    let out_data = m.signal("list_out_data_reg", p.list_width(), "");
    let out_last = m.signal("list_out_last_reg", 1, "");
    let victim = m.signal("victim_reg", f, "one-hot slot chosen for the install");
    let evicted = m.signal("evicted_reg", 1, "");
    let r_valid = m.reg("resp_valid_reg", 1, 0, "");
    let r_status = m.signal("resp_status_reg", 3, "");
    let r_stag = m.signal("resp_stag_reg", 32, "");
    let r_payload = m.signal("resp_payload_reg", pw, "");
    let r_evicted = m.signal("resp_evicted_reg", 1, "");
    let r_count = m.signal("resp_count_reg", eb + 1, "");

    let accept = m.signal("cmd_accept", 1, "");
    let idle = state.eq(sv(IDLE));
    m.assign(&cmd_ready, idle.land(r_valid.lnot()));
    m.assign(&accept, cmd_valid.land(&cmd_ready));
    let cmd_in = stag_parts(p, &cmd_stag);
    let tag_addr = m.signal("c_tag_addr", eb, "tag_mem address of the command read port");
    m.assign(
        &tag_addr,
        Expr::mux(&idle, cmd_in.entry.clone(), list_idx.clone()),
    );
    let cp = stag_parts(p, &c_stag);
    m.assign(
        &pl_cmd_addr,
        Expr::mux(state.eq(sv(LIST_READ)), list_idx.clone(), cp.entry.clone()),
    );
    m.sync("payload_mem read port: lookups first", |b| {
        b.assign(
            &pl_rd,
            pl_mem.read(Expr::mux(
                &pl_free,
                pl_cmd_addr.clone(),
                pl_lookup_addr.clone(),
            )),
        );
    });
    // Compared against the command input at the accept edge: the slots
    // cannot change before EXEC2, and the OR of the hits gets a cycle of
    // its own.
    let c_hit = m.signal("c_hit", f, "slots whose tag equals cmd_stag");
    m.assign(
        &c_hit,
        Expr::concat(
            (0..f)
                .rev()
                .map(|i| slot_valid[i as usize].land(slot_tag[i as usize].eq(&cmd_stag))),
        ),
    );

    // Victim: the lowest empty slot, else the least recently used one
    // (its row is all zero). `x & -x` keeps the lowest set bit.
    let valid_vec = Expr::concat(slot_valid.iter().rev().cloned());
    let lru_vec = Expr::concat(lru_row.iter().rev().map(|r| r.eq(Expr::zero(f))));
    // The candidates are registered at EXEC1 and the lowest one taken at
    // EXEC2: the whole choice in one cycle was the critical path.
    let cand = m.signal("victim_candidates", f, "");
    m.assign(
        &cand,
        Expr::mux(valid_vec.red_and(), lru_vec, !valid_vec.clone()),
    );
    let cand_reg = m.signal("victim_candidates_reg", f, "victim_candidates at EXEC1");
    let victim_next = m.signal("victim_next", f, "");
    m.assign(&victim_next, cand_reg.clone() & (!cand_reg.clone()).inc());

    let fl_empty = fl_wr.eq(&fl_rd);
    let full = alloc_count.eq(&entries_c);
    let new_entry = m.signal("new_entry", eb, "entry for REGISTER");
    let new_key = m.signal("new_key", 8, "");
    m.assign(
        &new_entry,
        Expr::mux(
            &fl_empty,
            alloc_count.slice(eb - 1, 0),
            fl_head.slice(eb - 1, 0),
        ),
    );
    m.assign(
        &new_key,
        Expr::mux(&fl_empty, Expr::zero(8), fl_head.slice(eb + 7, eb)),
    );

    // EXEC2: what the command answers, from the EXEC1 flags: per opcode a
    // status of one or two logic levels, then an AND-OR select by the
    // one-hot opcode (a mux chain here was the critical path).
    let s = |v: u128| Expr::lit(v, 3);
    let f_any_hit = m.signal("f_any_hit_reg", 1, "some slot holds the command's STag");
    let f_full = m.signal("f_full_reg", 1, "no free own entry");
    let c_op_hot = m.signal("c_op_hot_reg", 8, "one-hot c_op_reg");
    let op_is = |v: u128| c_op.eq_lit(v);
    let hot = |v: u128| c_op_hot.bit(v as u32);
    let unless_malformed = |e: Expr| Expr::mux(&f_malformed, s(status::MALFORMED), e);
    let own_only = |e: Expr| unless_malformed(Expr::mux(&f_own, e, s(status::NOT_OWN)));
    // REGISTER's and INSTALL's success need no block-RAM output, so they
    // are registered at EXEC1: they gate the widest enables (the counter,
    // the free-list pointers, the victim clear, the eviction count).
    let register_ok = m.signal("register_ok_reg", 1, "EXEC2 of a REGISTER that succeeds");
    let install_ok = m.signal("install_ok_reg", 1, "EXEC2 of an INSTALL that succeeds");
    let per_op: Vec<(u128, Expr, Expr)> = vec![
        // (op, status, ok)
        (
            op::REGISTER,
            Expr::mux(&f_full, s(status::FULL), s(status::OK)),
            register_ok.clone(),
        ),
        (
            op::INVALIDATE,
            unless_malformed(Expr::mux(
                Expr::mux(&f_own, f_live.clone(), f_any_hit.clone()),
                s(status::OK),
                s(status::UNKNOWN),
            )),
            f_malformed
                .lnot()
                .land(Expr::mux(&f_own, f_live.clone(), f_any_hit.clone())),
        ),
        (
            op::DEREGISTER,
            own_only(Expr::mux(&f_match, s(status::OK), s(status::UNKNOWN))),
            f_malformed.lnot().land(&f_own).land(&f_match),
        ),
        (
            op::INSTALL,
            unless_malformed(Expr::mux(
                &f_own,
                s(status::NOT_FOREIGN),
                Expr::mux(&f_any_hit, s(status::DUPLICATE), s(status::OK)),
            )),
            install_ok.clone(),
        ),
        (
            op::QUERY,
            own_only(Expr::mux(&f_live, s(status::OK), s(status::UNKNOWN))),
            f_malformed.lnot().land(&f_own).land(&f_live),
        ),
        (op::LIST, s(status::OK), Expr::lit(1, 1)),
    ];
    let verdict = m.signal("c_status", 3, "the command's status at EXEC2");
    let bad_op = (6..8).map(|v| hot(v).gate(&s(status::BAD_OP)));
    m.assign(
        &verdict,
        per_op
            .iter()
            .map(|(v, st, _)| hot(*v).gate(st))
            .chain(bad_op)
            .reduce(|x, y| x | y)
            .expect("ops"),
    );
    let ok = m.signal("c_ok", 1, "the command succeeds at EXEC2");
    m.assign(
        &ok,
        per_op
            .iter()
            .map(|(v, _, k)| hot(*v).land(k))
            .reduce(|x, y| x.lor(y))
            .expect("ops"),
    );
    let c_payload_in = Expr::concat(cmd_fields.iter().rev().cloned());
    let list_beat = Expr::concat([
        Expr::zero(p.list_width() - 32 - pw),
        pl_rd.clone(),
        Expr::concat([
            nic_id.clone(),
            Expr::zero(spare_bits),
            list_idx.clone(),
            c_tag.slice(7, 0),
        ]),
    ]);
    let list_last_idx = list_idx.zext(eb + 1).eq(alloc_count.dec());
    let can_emit = out_valid.lnot().lor(list.sig("tready"));
    let entry_listed = c_tag.bit(9).land(c_tag.bit(8));

    m.sync("free list head: read every cycle, used at EXEC2", |b| {
        b.assign(&fl_head, fl_mem.read(fl_rd.slice(eb - 1, 0)));
    });

    // Commands that answer later: a successful INSTALL, QUERY, or LIST of a
    // table with entries. Everything else answers at EXEC2.
    let answers_later = ok.land(
        hot(op::INSTALL)
            .lor(hot(op::QUERY))
            .lor(hot(op::LIST).land(alloc_count.ne(Expr::zero(eb + 1)))),
    );
    let tag_word = |alloc: u128, valid: u128, key: Expr| {
        Expr::concat([Expr::lit(alloc, 1), Expr::lit(valid, 1), key])
    };
    let tag_we = m.signal(
        "tag_we",
        1,
        "EXEC2 writes tag_mem (qualified by the state machine)",
    );
    m.assign(
        &tag_we,
        register_ok
            .lor(ok.land(hot(op::INVALIDATE)).land(&f_own))
            .lor(ok.land(hot(op::DEREGISTER))),
    );
    let tag_waddr = m.signal("tag_waddr", eb, "");
    m.assign(
        &tag_waddr,
        Expr::mux(&register_ok, new_entry.clone(), cp.entry.clone()),
    );
    let tag_wdata = m.signal("tag_wdata", 10, "{allocated, valid, key}");
    m.assign(
        &tag_wdata,
        Expr::mux(
            &register_ok,
            tag_word(1, 1, new_key.clone()),
            Expr::mux(
                hot(op::DEREGISTER),
                tag_word(0, 0, cp.key.clone()),
                tag_word(1, 0, cp.key.clone()),
            ),
        ),
    );
    let respond_now = m.signal("c_respond_now", 1, "EXEC2 raises resp_valid");
    m.assign(&respond_now, answers_later.lnot());
    let new_stag = m.signal("new_stag", 32, "the STag REGISTER generates");
    m.assign(
        &new_stag,
        Expr::concat([
            nic_id.clone(),
            Expr::zero(spare_bits),
            new_entry.clone(),
            new_key.clone(),
        ]),
    );

    // Every response sets every field: what a command does not answer is zero.
    let respond =
        |b: &mut Block, status: Expr, stag: Expr, payload: Expr, evicted: Expr, count: Expr| {
            b.assign(&r_valid, Expr::lit(1, 1));
            b.assign(&r_status, status);
            b.assign(&r_stag, stag);
            b.assign(&r_payload, payload);
            b.assign(&r_evicted, evicted);
            b.assign(&r_count, count);
        };

    m.sync("command state machine", |b| {
        b.assign(&c_tag, tag_mem.read(tag_addr.clone()));
        b.when(resp_ready.land(&r_valid), |b| {
            b.assign(&r_valid, Expr::lit(0, 1))
        });
        b.when(list.sig("tready").clone(), |b| {
            b.assign(&out_valid, Expr::lit(0, 1))
        });
        let arms: Vec<(Vec<Expr>, Box<dyn FnOnce(&mut Block) + '_>)> = vec![
            (
                vec![sv(IDLE)],
                Box::new(|b: &mut Block| {
                    b.when(&accept, |b| {
                        b.assign(&c_op, &cmd_op);
                        b.assign(&f_hit, &c_hit);
                        b.assign(
                            &c_op_hot,
                            Expr::concat((0..8u128).rev().map(|v| cmd_op.eq_lit(v))),
                        );
                        b.assign(&c_stag, &cmd_stag);
                        b.assign(&c_payload, c_payload_in.clone());
                        b.assign(&c_in_range, cmd_in.entry.zext(eb + 1).lt(&alloc_count));
                        b.assign(&state, sv(EXEC1));
                    });
                }),
            ),
            (
                vec![sv(EXEC1)],
                Box::new(|b: &mut Block| {
                    b.assign(&f_own, cp.id.eq(&nic_id));
                    b.assign(&f_malformed, cp.spare.ne(Expr::zero(spare_bits)));
                    b.assign(
                        &f_match,
                        c_in_range
                            .land(c_tag.bit(9))
                            .land(c_tag.slice(7, 0).eq(&cp.key)),
                    );
                    b.assign(
                        &f_live,
                        c_in_range
                            .land(c_tag.bit(9))
                            .land(c_tag.bit(8))
                            .land(c_tag.slice(7, 0).eq(&cp.key)),
                    );
                    b.assign(&f_any_hit, f_hit.red_or());
                    b.assign(&f_full, fl_empty.land(&full));
                    let malformed_now = cp.spare.ne(Expr::zero(spare_bits));
                    let own_now = cp.id.eq(&nic_id);
                    b.assign(
                        &register_ok,
                        hot(op::REGISTER).land(fl_empty.land(&full).lnot()),
                    );
                    b.assign(
                        &install_ok,
                        hot(op::INSTALL)
                            .land(malformed_now.lnot())
                            .land(own_now.lnot())
                            .land(f_hit.red_or().lnot()),
                    );
                    // The victim is chosen from the slots as they stand now.
                    b.assign(&cand_reg, &cand);
                    b.assign(&evicted, valid_vec.red_and());
                    b.assign(&state, sv(EXEC2));
                }),
            ),
            (
                vec![sv(EXEC2)],
                Box::new(|b: &mut Block| {
                    // The response registers load here whatever the outcome
                    // (no response is pending): only resp_valid depends on
                    // it, which keeps the wide load enables simple.
                    b.assign(&state, sv(IDLE));
                    b.assign(&r_valid, respond_now.clone());
                    b.assign(&r_status, &verdict);
                    b.assign(
                        &r_stag,
                        Expr::mux(
                            hot(op::REGISTER).land(&ok),
                            new_stag.clone(),
                            c_stag.clone(),
                        ),
                    );
                    b.assign(&r_payload, Expr::zero(pw));
                    b.assign(&r_evicted, Expr::zero(1));
                    b.assign(&r_count, Expr::zero(eb + 1));
                    // REGISTER allocates from the free list, else from the counter.
                    // tag_mem has one write statement, so it stays one
                    // block-RAM write port: REGISTER, own INVALIDATE, DEREGISTER.
                    b.when(&tag_we, |b| {
                        b.mem_write(&tag_mem, tag_waddr.clone(), tag_wdata.clone())
                    });
                    b.when(&register_ok, |b| {
                        b.mem_write(&pl_mem, new_entry.clone(), c_payload.clone());
                        b.if_else(
                            fl_empty.clone(),
                            |b| b.assign(&alloc_count, alloc_count.inc()),
                            |b| b.assign(&fl_rd, fl_rd.inc()),
                        );
                    });
                    b.when(install_ok.land(&evicted), |b| {
                        b.assign(&evictions, evictions.inc())
                    });
                    b.assign(&victim, &victim_next);
                    // INVALIDATE: the tag_mem write above (own), or the cache
                    // process clears the slot (foreign).
                    b.if_else(
                        &ok,
                        |b| {
                            b.case(
                                c_op.clone(),
                                vec![
                                    (
                                        vec![op::DEREGISTER],
                                        Box::new(|b: &mut Block| {
                                            b.mem_write(
                                                &fl_mem,
                                                fl_wr.slice(eb - 1, 0),
                                                Expr::concat([cp.key.inc(), cp.entry.clone()]),
                                            );
                                            b.assign(&fl_wr, fl_wr.inc());
                                        }),
                                    ),
                                    (
                                        vec![op::INSTALL],
                                        Box::new(|b: &mut Block| {
                                            // Phase 1: the cache process clears the victim now.
                                            b.assign(&state, sv(INSTALL2));
                                        }),
                                    ),
                                    (
                                        vec![op::QUERY],
                                        Box::new(|b: &mut Block| {
                                            // The payload read happens at this edge if the port is free.
                                            b.assign(
                                                &state,
                                                Expr::mux(&pl_free, sv(QUERY_RESP), sv(QUERY_READ)),
                                            );
                                        }),
                                    ),
                                    (
                                        vec![op::LIST],
                                        Box::new(|b: &mut Block| {
                                            b.assign(&list_idx, Expr::zero(eb));
                                            b.assign(&list_n, Expr::zero(eb + 1));
                                            b.assign(&held_valid, Expr::lit(0, 1));
                                            b.when(alloc_count.ne(Expr::zero(eb + 1)), |b| {
                                                b.assign(&state, sv(LIST_TAG))
                                            });
                                        }),
                                    ),
                                ],
                                |_| {},
                            );
                        },
                        |_| {},
                    );
                }),
            ),
            (
                vec![sv(INSTALL2)],
                Box::new(|b: &mut Block| {
                    respond(
                        b,
                        s(status::OK),
                        c_stag.clone(),
                        Expr::zero(pw),
                        evicted.clone(),
                        Expr::zero(eb + 1),
                    );
                    b.assign(&state, sv(IDLE));
                }),
            ),
            (
                vec![sv(QUERY_READ)],
                Box::new(|b: &mut Block| b.when(&pl_free, |b| b.assign(&state, sv(QUERY_RESP)))),
            ),
            (
                vec![sv(QUERY_RESP)],
                Box::new(|b: &mut Block| {
                    respond(
                        b,
                        s(status::OK),
                        c_stag.clone(),
                        pl_rd.clone(),
                        Expr::zero(1),
                        Expr::zero(eb + 1),
                    );
                    b.assign(&state, sv(IDLE));
                }),
            ),
            // LIST walks the entries: LIST_TAG waits for the tag read of
            // list_idx, LIST_TAGCHK skips an entry that is not listed, LIST_READ
            // reads a listed entry's payload on a free edge, LIST_CHECK moves
            // it into the held beat. Only registered flags gate the wide
            // registers; the block-RAM outputs feed their data inputs alone.
            (
                vec![sv(LIST_TAG)],
                Box::new(|b: &mut Block| b.assign(&state, sv(LIST_TAGCHK))),
            ),
            (
                vec![sv(LIST_TAGCHK)],
                Box::new(|b: &mut Block| {
                    b.if_else(
                        &entry_listed,
                        |b| b.assign(&state, sv(LIST_READ)),
                        |b| {
                            b.assign(&list_idx, list_idx.inc());
                            b.assign(
                                &state,
                                Expr::mux(list_last_idx.clone(), sv(LIST_FLUSH), sv(LIST_TAG)),
                            );
                        },
                    );
                }),
            ),
            (
                vec![sv(LIST_READ)],
                Box::new(|b: &mut Block| b.when(&pl_free, |b| b.assign(&state, sv(LIST_CHECK)))),
            ),
            (
                vec![sv(LIST_CHECK)],
                Box::new(|b: &mut Block| {
                    // An entry whose beat cannot move on is read again later.
                    b.if_else(
                        held_valid.land(can_emit.lnot()),
                        |b| b.assign(&state, sv(LIST_READ)),
                        |b| {
                            b.when(&held_valid, |b| {
                                b.assign(&out_valid, Expr::lit(1, 1));
                                b.assign(&out_data, &held);
                                b.assign(&out_last, Expr::lit(0, 1));
                            });
                            b.assign(&held, list_beat.clone());
                            b.assign(&held_valid, Expr::lit(1, 1));
                            b.assign(&list_n, list_n.inc());
                            b.assign(&list_idx, list_idx.inc());
                            b.assign(
                                &state,
                                Expr::mux(list_last_idx.clone(), sv(LIST_FLUSH), sv(LIST_TAG)),
                            );
                        },
                    );
                }),
            ),
            (
                vec![sv(LIST_FLUSH)],
                Box::new(|b: &mut Block| {
                    b.if_else(
                        held_valid.lnot(),
                        |b| b.assign(&state, sv(LIST_DONE)),
                        |b| {
                            b.when(can_emit.clone(), |b| {
                                b.assign(&out_valid, Expr::lit(1, 1));
                                b.assign(&out_data, &held);
                                b.assign(&out_last, Expr::lit(1, 1));
                                b.assign(&held_valid, Expr::lit(0, 1));
                                b.assign(&state, sv(LIST_DONE));
                            })
                        },
                    );
                }),
            ),
            (
                vec![sv(LIST_DONE)],
                Box::new(|b: &mut Block| {
                    b.when(out_valid.lnot(), |b| {
                        respond(
                            b,
                            s(status::OK),
                            c_stag.clone(),
                            Expr::zero(pw),
                            Expr::zero(1),
                            list_n.clone(),
                        );
                        b.assign(&state, sv(IDLE));
                    });
                }),
            ),
        ];
        b.case_named(state.clone(), arms, |b| b.assign(&state, sv(IDLE)));
    });

    // ---- the cache slots and their LRU rows ----
    let exec2_ok = state.eq(sv(EXEC2)).land(&ok);
    let clear_hit = exec2_ok.land(op_is(op::INVALIDATE)).land(f_own.lnot());
    let clear_victim = state.eq(sv(EXEC2)).land(&install_ok);
    let touch_install = m.signal(
        "touch_install",
        f,
        "one-hot: the slot an install writes now",
    );
    m.assign(
        &touch_install,
        victim.clone() & state.eq(sv(INSTALL2)).repl(f),
    );
    m.sync("cache slots: cleared at EXEC2, written at INSTALL2", |b| {
        for i in 0..f {
            let iu = i as usize;
            b.when(
                clear_hit
                    .land(f_hit.bit(i))
                    .lor(clear_victim.land(victim_next.bit(i))),
                |b| {
                    b.assign(&slot_valid[iu], Expr::lit(0, 1));
                },
            );
            b.when(touch_install.bit(i), |b| {
                b.assign(&slot_valid[iu], Expr::lit(1, 1));
                b.assign(&slot_tag[iu], &c_stag);
                if ff_slots {
                    b.assign(&slot_payload[iu], &c_payload);
                }
            });
        }
        if let Some(fp_mem) = &fp_mem {
            b.when(touch_install.red_or(), |b| {
                b.mem_write(fp_mem, encode(&victim, f, slot_bits), c_payload.clone())
            });
        }
    });
    m.sync(
        "LRU matrix: a lookup hit, then an install, makes its slot most recent",
        |b| {
            for i in 0..f {
                let iu = i as usize;
                let after_lookup = (lru_row[iu].clone() & !l1_hit.clone()) | l1_hit.bit(i).repl(f);
                let after_install =
                    (after_lookup & !touch_install.clone()) | touch_install.bit(i).repl(f);
                let not_self = Expr::lit(((1u128 << f) - 1) & !(1u128 << i), f);
                b.assign(&lru_row[iu], after_install & not_self);
            }
        },
    );

    // ---- outputs ----
    m.assign(&resp_valid, &r_valid);
    m.assign(&resp_status_o, &r_status);
    m.assign(&resp_stag_o, &r_stag);
    assign_fields(&mut m, p, &resp_fields_o, &r_payload, 0);
    m.assign(&resp_evicted_o, &r_evicted);
    m.assign(&resp_count_o, &r_count);
    m.assign(list.sig("tdata"), &out_data);
    m.assign(list.sig("tvalid"), &out_valid);
    m.assign(list.sig("tlast"), &out_last);
    m.assign(&evictions_o, &evictions);
    Ok(m.finish()?)
}

/// Binary index of the set bit of a one-hot `f`-bit vector (an OR tree per
/// index bit).
fn encode(onehot: &Expr, f: u32, bits: u32) -> Expr {
    let bit = |b: u32| {
        (0..f)
            .filter(|i| i >> b & 1 == 1)
            .map(|i| onehot.bit(i))
            .reduce(|x, y| x | y)
            .unwrap_or_else(|| Expr::zero(1))
    };
    Expr::concat((0..bits).rev().map(bit))
}

/// Drive the entry-field outputs from a packed vector whose entry fields
/// start at bit `lo`.
fn assign_fields(
    m: &mut ModuleBuilder,
    p: &StagTableParams,
    outs: &[Expr],
    packed: &Expr,
    lo: u32,
) {
    let mut at = lo;
    for ((_, w), out) in p.fields().iter().zip(outs) {
        m.assign(out, packed.slice(at + w - 1, at));
        at += w;
    }
}
