//! `direct_resolver`: the host-bus arbiter's direct mode — resolve a foreign
//! STag by asking the generating NIC's table, with no CPU (docs/system.md).
//!
//! Each NIC in direct mode (`EVENTS.MODE.DIRECT`) hands a copy of every miss
//! event here (`s{i}_miss_*`). One miss at a time:
//!
//! 1. take a miss from NIC `b` (the NICs are visited in turn);
//! 2. the STag's top `NIC_ID_BITS` name its origin. An origin that is not a
//!    NIC of this system (or `b` itself) cannot answer: go to 5;
//! 3. QUERY the STag at the origin (`m{origin}_cmd_*`, shared in that NIC
//!    with its host through a `cmd_arb`); an answer other than OK (the
//!    STag is not in the origin's list: never made, invalidated,
//!    deregistered, stale key) goes to 5;
//! 4. INSTALL the answered entry at `b` (`m{b}_cmd_*`): that releases the
//!    parked segments; whatever the install answers (OK, DUPLICATE when the
//!    driver got there first), the miss is done;
//! 5. REJECT the STag at `b` (`m{b}_reject_*`): its parked segments are
//!    discarded and answered with a Terminate.
//!
//! The command fields sent with INSTALL are the QUERY response's fields of
//! the same names (taken from the NIC's port list by the parent), so the
//! entry layout is described once, in the STag table.
//!
//! Counters `installs` and `rejects` (32 bits, wrapping) say what it did;
//! the driver still sees every miss in the NIC's event queue.

use std::rc::Rc;

use crate::blocks::stag_table::{op, status};
use crate::ir::{Block, Expr, Module, ModuleBuilder};
use crate::params;
use crate::Error;

/// Parameters of a `direct_resolver`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectResolverParams {
    pub name: String,
    /// NICs served (2 to 8); NIC i's id is i.
    pub nics: u32,
    /// STag bits (from bit 31 down) holding the generating NIC's id.
    pub nic_id_bits: u32,
    /// Fields of a NIC's direct command port besides valid/ready: (name,
    /// bits); must hold `op` (3 bits) and `stag` (32 bits).
    pub cmd_fields: Vec<(String, u32)>,
    /// Fields of a NIC's direct response port besides valid/ready; must
    /// hold `status` (3 bits) and every command field but `op` and `stag`,
    /// of the same width.
    pub resp_fields: Vec<(String, u32)>,
}

impl DirectResolverParams {
    pub fn validate(&self) -> Result<(), Error> {
        let err = |what: String| {
            Err(Error::Design(format!(
                "direct_resolver `{}`: {what}",
                self.name
            )))
        };
        params::check("nics", self.nics as u64)?;
        params::check("nic-id-bits", self.nic_id_bits as u64)?;
        if self.nics > 1 << self.nic_id_bits {
            return err(format!(
                "nic_id_bits {} must name all {} NICs",
                self.nic_id_bits, self.nics
            ));
        }
        let width =
            |list: &[(String, u32)], n: &str| list.iter().find(|(f, _)| f == n).map(|(_, w)| *w);
        for (list, n, w) in [
            (&self.cmd_fields, "op", 3),
            (&self.cmd_fields, "stag", 32),
            (&self.resp_fields, "status", 3),
        ] {
            if width(list, n) != Some(w) {
                return err(format!("needs a {w}-bit field `{n}`"));
            }
        }
        for (n, w) in self.entry_fields() {
            if width(&self.resp_fields, n) != Some(w) {
                return err(format!(
                    "command field `{n}` ({w} bits) has no response field of that name and width"
                ));
            }
        }
        Ok(())
    }

    /// The command fields INSTALL copies from the QUERY answer.
    fn entry_fields(&self) -> impl Iterator<Item = (&str, u32)> {
        self.cmd_fields
            .iter()
            .filter(|(n, _)| n != "op" && n != "stag")
            .map(|(n, w)| (n.as_str(), *w))
    }
}

// FSM states.
const IDLE: u128 = 0;
const QUERY: u128 = 1;
const WAIT_QUERY: u128 = 2;
const INSTALL: u128 = 3;
const WAIT_INSTALL: u128 = 4;
const REJECT: u128 = 5;

/// One NIC's ports, as seen from inside.
struct NicPorts {
    miss_valid: Expr,
    miss_ready: Expr,
    miss_stag: Expr,
    cmd_valid: Expr,
    cmd_ready: Expr,
    cmd: Vec<Expr>,
    resp_valid: Expr,
    resp_ready: Expr,
    resp: Vec<Expr>,
    reject_valid: Expr,
    reject_ready: Expr,
    reject_stag: Expr,
}

/// OR of `terms` (at least one).
fn any(terms: impl IntoIterator<Item = Expr>) -> Expr {
    terms
        .into_iter()
        .reduce(|a, b| a.lor(b))
        .expect("at least one NIC")
}

/// `values[i]` where `sel == i`; the last one otherwise (`sel` never names
/// a NIC outside the system).
fn pick(sel: &Expr, values: Vec<Expr>) -> Expr {
    let mut it = values.into_iter().enumerate().rev();
    let (_, last) = it.next().expect("at least one NIC");
    it.fold(last, |acc, (i, v)| Expr::mux(sel.eq_lit(i as u128), v, acc))
}

/// Build the module.
pub fn elaborate(p: &DirectResolverParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let n = p.nics as usize;
    let ib = p.nic_id_bits;
    let lit = |v: u128, w: u32| Expr::lit(v, w);
    let mut m = ModuleBuilder::new(
        &p.name,
        "Direct mode: a miss at one NIC is resolved by querying the STag's generating NIC and installing the answer (or rejecting), no CPU",
    );
    m.param("NICS", p.nics as u64, "NICs served; NIC i has id i");
    m.param(
        "NIC_ID_BITS",
        ib as u64,
        "STag bits (from bit 31 down) naming the generating NIC",
    );
    m.clock_and_reset();

    // ---- ports ----
    let mut nics: Vec<NicPorts> = Vec::new();
    for i in 0..n {
        let miss_valid = m.input(
            &format!("s{i}_miss_valid"),
            1,
            &format!("NIC {i}: a miss event in direct mode"),
        );
        let miss_ready = m.output(&format!("s{i}_miss_ready"), 1, "");
        let miss_stag = m.input(&format!("s{i}_miss_stag"), 32, "");
        let miss_conn = m.input(&format!("s{i}_miss_conn"), 16, "");
        m.unused(
            &format!("s{i}_miss_conn"),
            vec![miss_conn],
            "the connection matters to the driver's log, not to resolving the STag",
        );
        let cmd_valid = m.output(
            &format!("m{i}_cmd_valid"),
            1,
            &format!("NIC {i}: STag table command (QUERY, INSTALL)"),
        );
        let cmd_ready = m.input(&format!("m{i}_cmd_ready"), 1, "");
        let cmd: Vec<Expr> = p
            .cmd_fields
            .iter()
            .map(|(f, w)| m.output(&format!("m{i}_cmd_{f}"), *w, ""))
            .collect();
        let resp_valid = m.input(
            &format!("m{i}_resp_valid"),
            1,
            &format!("NIC {i}: its answer"),
        );
        let resp_ready = m.output(&format!("m{i}_resp_ready"), 1, "");
        let resp: Vec<Expr> = p
            .resp_fields
            .iter()
            .map(|(f, w)| m.input(&format!("m{i}_resp_{f}"), *w, ""))
            .collect();
        let reject_valid = m.output(
            &format!("m{i}_reject_valid"),
            1,
            &format!("NIC {i}: reject a STag no NIC has"),
        );
        let reject_ready = m.input(&format!("m{i}_reject_ready"), 1, "");
        let reject_stag = m.output(&format!("m{i}_reject_stag"), 32, "");
        nics.push(NicPorts {
            miss_valid,
            miss_ready,
            miss_stag,
            cmd_valid,
            cmd_ready,
            cmd,
            resp_valid,
            resp_ready,
            resp,
            reject_valid,
            reject_ready,
            reject_stag,
        });
    }
    let installs = m.output_init("installs", 32, 0, "misses answered by an INSTALL (wraps)");
    let rejects = m.output_init("rejects", 32, 0, "misses answered by a REJECT (wraps)");

    // ---- state ----
    let names = [
        "IDLE",
        "QUERY",
        "WAIT_QUERY",
        "INSTALL",
        "WAIT_INSTALL",
        "REJECT",
    ];
    let sv: Vec<Expr> = names
        .iter()
        .enumerate()
        .map(|(v, s)| m.localparam(&format!("ST_{s}"), v as u128, 3, ""))
        .collect();
    let state = m.reg("state_reg", 3, IDLE, "where the one miss being resolved is");
    let is = |s: u128| state.eq(&sv[s as usize]);
    let turn = m.reg(
        "turn_reg",
        ib,
        0,
        "the NIC whose miss port is ready in IDLE (visited in turn)",
    );
    let b = m.reg("b_reg", ib, 0, "the NIC that missed");
    let origin = m.reg("origin_reg", ib, 0, "the NIC that generated the STag");
    let stag = m.reg("stag_reg", 32, 0, "the STag being resolved");
    let entry: Vec<(String, Expr)> = p
        .entry_fields()
        .map(|(f, w)| {
            (
                f.to_string(),
                m.reg(
                    &format!("entry_{f}_reg"),
                    w,
                    0,
                    "the origin's answer, for INSTALL",
                ),
            )
        })
        .collect();

    let at = |r: &Expr, i: usize| r.eq_lit(i as u128);
    // The miss port of the NIC whose turn it is.
    let miss_valid = m.signal("miss_valid", 1, "the NIC whose turn it is has a miss");
    let miss_stag = m.signal("miss_stag", 32, "its STag");
    for (i, nic) in nics.iter().enumerate() {
        m.assign(&nic.miss_ready, is(IDLE).land(at(&turn, i)));
    }
    m.assign(
        &miss_valid,
        pick(&turn, nics.iter().map(|x| x.miss_valid.clone()).collect()),
    );
    m.assign(
        &miss_stag,
        pick(&turn, nics.iter().map(|x| x.miss_stag.clone()).collect()),
    );
    let miss_origin = m.signal("miss_origin", ib, "the taken STag's generating NIC");
    m.assign(&miss_origin, miss_stag.slice(31, 32 - ib));
    let answerable = m.signal(
        "answerable",
        1,
        "that NIC is in this system and is not the one that missed",
    );
    let known = any((0..n).map(|i| at(&miss_origin, i)));
    m.assign(&answerable, known.land(miss_origin.ne(&turn)));

    // ---- the command and response ports: the origin for QUERY, b for INSTALL ----
    let target = m.signal("target", ib, "the NIC the command goes to");
    m.assign(
        &target,
        Expr::mux(is(QUERY).lor(is(WAIT_QUERY)), origin.clone(), b.clone()),
    );
    let cmd_ready = m.signal("cmd_ready", 1, "the target took the command");
    let resp_valid = m.signal("resp_valid", 1, "the target answers");
    let resp_status = m.signal("resp_status", 3, "its status");
    let status_at = p
        .resp_fields
        .iter()
        .position(|(f, _)| f == "status")
        .expect("validated");
    let issuing = is(QUERY).lor(is(INSTALL));
    let waiting = is(WAIT_QUERY).lor(is(WAIT_INSTALL));
    for (i, nic) in nics.iter().enumerate() {
        let here = at(&target, i);
        m.assign(&nic.cmd_valid, issuing.land(&here));
        m.assign(&nic.resp_ready, waiting.land(&here));
        for ((f, w), out) in p.cmd_fields.iter().zip(&nic.cmd) {
            let v = match f.as_str() {
                "op" => Expr::mux(is(QUERY), lit(op::QUERY, 3), lit(op::INSTALL, 3)),
                "stag" => stag.clone(),
                _ => {
                    let (_, r) = entry.iter().find(|(e, _)| e == f).expect("validated");
                    debug_assert_eq!(r.width(), *w);
                    r.clone()
                }
            };
            m.assign(out, v);
        }
        m.assign(&nic.reject_valid, is(REJECT).land(at(&b, i)));
        m.assign(&nic.reject_stag, &stag);
    }
    // Response fields that are neither the status nor an entry field (the
    // echoed STag, evicted, count) say nothing the resolver needs.
    let entry_names: Vec<&str> = p.entry_fields().map(|(f, _)| f).collect();
    for (i, nic) in nics.iter().enumerate() {
        let unused: Vec<Expr> = p
            .resp_fields
            .iter()
            .zip(&nic.resp)
            .filter(|((f, _), _)| f != "status" && !entry_names.contains(&f.as_str()))
            .map(|(_, e)| e.clone())
            .collect();
        if !unused.is_empty() {
            m.unused(
                &format!("m{i}_resp"),
                unused,
                "the echoed STag, eviction flag and list count of an answer are not needed to resolve",
            );
        }
    }
    let of = |sel: &Expr, f: &dyn Fn(&NicPorts) -> Expr| pick(sel, nics.iter().map(f).collect());
    m.assign(&cmd_ready, of(&target, &|x| x.cmd_ready.clone()));
    m.assign(&resp_valid, of(&target, &|x| x.resp_valid.clone()));
    m.assign(&resp_status, of(&target, &|x| x.resp[status_at].clone()));
    let reject_ready = m.signal("reject_ready", 1, "the NIC that missed took the reject");
    m.assign(&reject_ready, of(&b, &|x| x.reject_ready.clone()));

    // The origin's answer, captured for INSTALL.
    let answer: Vec<(Expr, Expr)> = entry
        .iter()
        .map(|(f, r)| {
            let k = p
                .resp_fields
                .iter()
                .position(|(g, _)| g == f)
                .expect("validated");
            (r.clone(), of(&target, &|x| x.resp[k].clone()))
        })
        .collect();

    let next_turn = Expr::mux(turn.eq_lit(n as u128 - 1), lit(0, ib), turn.inc());
    let ok = resp_status.eq_lit(status::OK);
    m.sync(
        "resolve one miss: QUERY the origin, INSTALL or REJECT at b",
        |blk| {
            blk.case_named(
                state.clone(),
                vec![
                    (
                        vec![sv[IDLE as usize].clone()],
                        Box::new(|blk: &mut Block| {
                            blk.when(miss_valid.lnot(), |blk| blk.assign(&turn, &next_turn));
                            blk.when(&miss_valid, |blk| {
                                blk.assign(&turn, &next_turn);
                                blk.assign(&b, &turn);
                                blk.assign(&origin, &miss_origin);
                                blk.assign(&stag, &miss_stag);
                                blk.assign(
                                    &state,
                                    Expr::mux(
                                        &answerable,
                                        sv[QUERY as usize].clone(),
                                        sv[REJECT as usize].clone(),
                                    ),
                                );
                            });
                        }),
                    ),
                    (
                        vec![sv[QUERY as usize].clone(), sv[INSTALL as usize].clone()],
                        Box::new(|blk: &mut Block| {
                            blk.when(&cmd_ready, |blk| {
                                blk.assign(
                                    &state,
                                    Expr::mux(
                                        is(QUERY),
                                        sv[WAIT_QUERY as usize].clone(),
                                        sv[WAIT_INSTALL as usize].clone(),
                                    ),
                                )
                            });
                        }),
                    ),
                    (
                        vec![sv[WAIT_QUERY as usize].clone()],
                        Box::new(|blk: &mut Block| {
                            blk.when(&resp_valid, |blk| {
                                for (r, v) in &answer {
                                    blk.assign(r, v);
                                }
                                blk.assign(
                                    &state,
                                    Expr::mux(
                                        &ok,
                                        sv[INSTALL as usize].clone(),
                                        sv[REJECT as usize].clone(),
                                    ),
                                );
                            });
                        }),
                    ),
                    (
                        vec![sv[WAIT_INSTALL as usize].clone()],
                        Box::new(|blk: &mut Block| {
                            blk.when(&resp_valid, |blk| {
                                blk.assign(&installs, installs.inc());
                                blk.assign(&state, &sv[IDLE as usize]);
                            });
                        }),
                    ),
                    (
                        vec![sv[REJECT as usize].clone()],
                        Box::new(|blk: &mut Block| {
                            blk.when(&reject_ready, |blk| {
                                blk.assign(&rejects, rejects.inc());
                                blk.assign(&state, &sv[IDLE as usize]);
                            });
                        }),
                    ),
                ],
                |blk| blk.assign(&state, &sv[IDLE as usize]),
            );
        },
    );
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DirectResolverParams {
        DirectResolverParams {
            name: "dr".into(),
            nics: 3,
            nic_id_bits: 4,
            cmd_fields: vec![("op".into(), 3), ("stag".into(), 32), ("pd".into(), 16)],
            resp_fields: vec![("status".into(), 3), ("stag".into(), 32), ("pd".into(), 16)],
        }
    }

    #[test]
    fn elaborates_and_checks_its_parameters() {
        let m = elaborate(&params()).unwrap();
        assert_eq!(m.port("m2_cmd_pd").unwrap().0.width, 16);
        let bad = DirectResolverParams {
            resp_fields: vec![("status".into(), 3), ("pd".into(), 8)],
            ..params()
        };
        assert_eq!(
            elaborate(&bad).unwrap_err().to_string(),
            "design: direct_resolver `dr`: command field `pd` (16 bits) has no response field of that name and width"
        );
        let bad = DirectResolverParams {
            nic_id_bits: 1,
            ..params()
        };
        assert_eq!(
            elaborate(&bad).unwrap_err().to_string(),
            "design: direct_resolver `dr`: nic_id_bits 1 must name all 3 NICs"
        );
    }
}
