//! `cmd_arb`: two issuers share one command/response port, a whole command
//! at a time.
//!
//! The STag table takes one command and answers it before it takes the
//! next (docs/stag_table.md). In a `nic` both the host's `stag_regs` and
//! the system's direct resolver issue commands to it; this block lets one
//! command through, routes its response back to the issuer that sent it,
//! and only then lets the next command through. When both wait, they take
//! turns. Once a command is offered to the table it stays the one offered
//! (same issuer, same fields) until the table takes it.
//!
//! Ports (`F` = the command fields, `R` = the response fields, both given
//! by the parent from the table's own port list, so no field list is
//! written twice):
//!
//! * issuer k (0, 1): `s{k}_cmd_valid`/`ready`, `s{k}_cmd_<F>` in;
//!   `s{k}_resp_valid`/`ready`, `s{k}_resp_<R>` out;
//! * the table: `m_cmd_valid`/`ready`, `m_cmd_<F>` out; `m_resp_valid`/
//!   `ready`, `m_resp_<R>` in.
//!
//! Issuer 0 (the host) goes first after reset. Cost: none on the command
//! (the offer is combinational from the issuer's registers) and none on the
//! response.

use std::rc::Rc;

use crate::ir::{Expr, Module, ModuleBuilder};
use crate::Error;

/// Parameters of a `cmd_arb`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmdArbParams {
    pub name: String,
    /// Command fields besides valid/ready: (name, bits).
    pub cmd_fields: Vec<(String, u32)>,
    /// Response fields besides valid/ready: (name, bits).
    pub resp_fields: Vec<(String, u32)>,
}

impl CmdArbParams {
    pub fn validate(&self) -> Result<(), Error> {
        for (n, w) in self.cmd_fields.iter().chain(&self.resp_fields) {
            if *w == 0 || n == "valid" || n == "ready" {
                return Err(Error::Design(format!(
                    "cmd_arb `{}`: field `{n}` ({w} bits) must be a payload field of at least one bit",
                    self.name
                )));
            }
        }
        Ok(())
    }
}

/// Build the module.
pub fn elaborate(p: &CmdArbParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let mut m = ModuleBuilder::new(
        &p.name,
        "Two command issuers share one command/response port, one whole command (command and its response) at a time",
    );
    m.clock_and_reset();

    // ---- ports ----
    let mut s_cmd_valid = Vec::new();
    let mut s_cmd_ready = Vec::new();
    let mut s_cmd: Vec<Vec<Expr>> = Vec::new();
    let mut s_resp_valid = Vec::new();
    let mut s_resp_ready = Vec::new();
    let mut s_resp: Vec<Vec<Expr>> = Vec::new();
    for k in 0..2 {
        let who = if k == 0 {
            "issuer 0 (the host's register block)"
        } else {
            "issuer 1 (the direct resolver)"
        };
        s_cmd_valid.push(m.input(&format!("s{k}_cmd_valid"), 1, &format!("{who}: command")));
        s_cmd_ready.push(m.output(&format!("s{k}_cmd_ready"), 1, ""));
        s_cmd.push(
            p.cmd_fields
                .iter()
                .map(|(n, w)| m.input(&format!("s{k}_cmd_{n}"), *w, ""))
                .collect(),
        );
        s_resp_valid.push(m.output(
            &format!("s{k}_resp_valid"),
            1,
            &format!("{who}: the response to its command"),
        ));
        s_resp_ready.push(m.input(&format!("s{k}_resp_ready"), 1, ""));
        s_resp.push(
            p.resp_fields
                .iter()
                .map(|(n, w)| m.output(&format!("s{k}_resp_{n}"), *w, ""))
                .collect(),
        );
    }
    let m_cmd_valid = m.output("m_cmd_valid", 1, "to the table: the granted command");
    let m_cmd_ready = m.input("m_cmd_ready", 1, "");
    let m_cmd: Vec<Expr> = p
        .cmd_fields
        .iter()
        .map(|(n, w)| m.output(&format!("m_cmd_{n}"), *w, ""))
        .collect();
    let m_resp_valid = m.input("m_resp_valid", 1, "from the table: a response");
    let m_resp_ready = m.output("m_resp_ready", 1, "");
    let m_resp: Vec<Expr> = p
        .resp_fields
        .iter()
        .map(|(n, w)| m.input(&format!("m_resp_{n}"), *w, ""))
        .collect();

    // ---- grant ----
    let busy = m.reg(
        "busy_reg",
        1,
        0,
        "a command was taken by the table and its response is not yet taken",
    );
    let owner = m.reg(
        "owner_reg",
        1,
        0,
        "who issued the outstanding (busy) or offered-and-waiting (locked) command",
    );
    let locked = m.reg(
        "locked_reg",
        1,
        0,
        "a command was offered and not taken: keep offering the same issuer's",
    );
    let prefer1 = m.reg(
        "prefer1_reg",
        1,
        0,
        "when both wait, issuer 1 goes next (turns)",
    );
    let pick = m.signal("pick", 1, "the issuer whose command is offered (1 or 0)");
    m.assign(
        &pick,
        Expr::mux(
            &locked,
            owner.clone(),
            s_cmd_valid[1].land(s_cmd_valid[0].lnot().lor(&prefer1)),
        ),
    );
    let offer = m.signal("offer", 1, "a command is offered to the table");
    m.assign(
        &offer,
        busy.lnot().land(Expr::mux(
            &pick,
            s_cmd_valid[1].clone(),
            s_cmd_valid[0].clone(),
        )),
    );
    m.assign(&m_cmd_valid, &offer);
    for (i, out) in m_cmd.iter().enumerate() {
        m.assign(
            out,
            Expr::mux(&pick, s_cmd[1][i].clone(), s_cmd[0][i].clone()),
        );
    }
    m.assign(
        &s_cmd_ready[0],
        busy.lnot().land(pick.lnot()).land(&m_cmd_ready),
    );
    m.assign(&s_cmd_ready[1], busy.lnot().land(&pick).land(&m_cmd_ready));

    // ---- response: back to the owner ----
    m.assign(
        &s_resp_valid[0],
        busy.land(owner.lnot()).land(&m_resp_valid),
    );
    m.assign(&s_resp_valid[1], busy.land(&owner).land(&m_resp_valid));
    m.assign(
        &m_resp_ready,
        busy.land(Expr::mux(
            &owner,
            s_resp_ready[1].clone(),
            s_resp_ready[0].clone(),
        )),
    );
    // The response fields go to both issuers; only the owner sees valid.
    for outs in &s_resp {
        for (out, from) in outs.iter().zip(&m_resp) {
            m.assign(out, from);
        }
    }

    let taken = offer.land(&m_cmd_ready);
    let answered = busy.land(&m_resp_valid).land(&m_resp_ready);
    m.sync("grant: one whole command at a time, turns", |b| {
        b.if_else(
            &taken,
            |b| {
                b.assign(&busy, Expr::lit(1, 1));
                b.assign(&owner, &pick);
                b.assign(&locked, Expr::lit(0, 1));
                b.assign(&prefer1, pick.lnot());
            },
            |b| {
                b.when(&answered, |b| b.assign(&busy, Expr::lit(0, 1)));
                b.when(&offer, |b| {
                    b.assign(&locked, Expr::lit(1, 1));
                    b.assign(&owner, &pick);
                });
            },
        );
    });
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_and_checks_fields() {
        let p = CmdArbParams {
            name: "arb".into(),
            cmd_fields: vec![("op".into(), 3), ("stag".into(), 32)],
            resp_fields: vec![("status".into(), 3)],
        };
        let m = elaborate(&p).unwrap();
        assert_eq!(m.port("s1_cmd_stag").unwrap().0.width, 32);
        assert_eq!(m.port("m_resp_status").unwrap().0.width, 3);
        let bad = CmdArbParams {
            cmd_fields: vec![("valid".into(), 1)],
            ..p
        };
        assert_eq!(
            elaborate(&bad).unwrap_err().to_string(),
            "design: cmd_arb `arb`: field `valid` (1 bits) must be a payload field of at least one bit"
        );
    }
}
