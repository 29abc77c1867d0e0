//! `system`: N NICs on one host (docs/system.md).
//!
//! `--nics` instances of one `nic` module (NIC i's id strap is i), a
//! `host_arbiter` that routes the host's register accesses to NIC i's
//! window (`i << WINDOW_BITS`) and merges the NICs' DMA writes onto one
//! AXI4 manager, and a `direct_resolver` for the NICs in direct mode. Every
//! connection is made by port name from the children's port lists.
//!
//! Outside: `clk`, `rst`; the host's `s_axil_*` and `m_axi_*`; per NIC i
//! its network ports `s{i}_axis_rx_*` and `m{i}_axis_tx_*`; `irq`;
//! the arbiter's `wlast_error` and `bid_error`; the direct resolver's
//! counters `direct_installs` and `direct_rejects`.

use std::rc::Rc;

use crate::blocks::direct_resolver::{self, DirectResolverParams};
use crate::blocks::host_arbiter::{self, HostArbiterParams};
use crate::blocks::nic::{self, NicParams};
use crate::blocks::wiring::{expose, link, Child};
use crate::ir::{Expr, Module, ModuleBuilder};
use crate::params::Params;
use crate::Error;

/// Parameters of a `system`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemParams {
    pub name: String,
    /// Every NIC (its register port is sized from the arbiter's window).
    pub nic: NicParams,
    pub arbiter: HostArbiterParams,
}

impl SystemParams {
    pub fn from_params(p: &Params) -> Self {
        let arbiter = HostArbiterParams::from_params(p);
        let mut nic = NicParams::from_params(p);
        nic.axil_addr_bits = arbiter.window_bits;
        // Its own name: its register port is wider than a lone `nic`'s.
        nic.name = "system_nic".into();
        SystemParams {
            name: "system".into(),
            nic,
            arbiter,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        self.nic.validate()?;
        self.arbiter.validate()?;
        let bad = |what: String| Err(Error::Design(format!("system `{}`: {what}", self.name)));
        if self.nic.axil_addr_bits != self.arbiter.window_bits {
            return bad(format!(
                "the NICs' register port has {} address bits but the arbiter's windows {}",
                self.nic.axil_addr_bits, self.arbiter.window_bits
            ));
        }
        if self.nic.rx.data_width != self.arbiter.data_width {
            return bad(format!(
                "NIC data width {} differs from the arbiter's {}",
                self.nic.rx.data_width, self.arbiter.data_width
            ));
        }
        Ok(())
    }
}

/// Build the module and its children.
pub fn elaborate(p: &SystemParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let n = p.arbiter.nics as usize;
    let nic = nic::elaborate(&p.nic)?;
    let arb = host_arbiter::elaborate(&p.arbiter)?;
    // The direct ports' fields come from the NIC's own port list.
    let fields = |prefix: &str| -> Vec<(String, u32)> {
        nic.ports()
            .filter_map(|(s, _)| {
                let f = s.name.strip_prefix(prefix)?;
                (f != "valid" && f != "ready").then(|| (f.to_string(), s.width))
            })
            .collect()
    };
    let id_bits = nic
        .port("nic_id")
        .map(|(s, _)| s.width)
        .ok_or_else(|| Error::Design("system: the nic has no `nic_id` strap".into()))?;
    let resolver = direct_resolver::elaborate(&DirectResolverParams {
        name: format!("{}_direct_resolver", p.name),
        nics: p.arbiter.nics,
        nic_id_bits: id_bits,
        cmd_fields: fields("s_direct_cmd_"),
        resp_fields: fields("m_direct_resp_"),
    })?;

    let mut m = ModuleBuilder::new(
        &p.name,
        "N NICs on one host: register windows, merged DMA writes, interrupts, direct-mode STag resolver",
    );
    m.param("NICS", n as u64, "NICs; NIC i has id i");
    m.param(
        "DATA_WIDTH",
        p.arbiter.data_width as u64,
        "stream and DMA data width in bits",
    );
    m.param(
        "WINDOW_BITS",
        p.arbiter.window_bits as u64,
        "log2 of each NIC's register window in bytes",
    );
    let (clk, rst) = m.clock_and_reset();

    let mut c_arb = Child::new(arb.clone(), "u_host_arbiter", &clk, &rst);
    let mut c_res = Child::new(resolver.clone(), "u_direct_resolver", &clk, &rst);
    for port in c_arb
        .ports_with("s_axil_")
        .into_iter()
        .chain(c_arb.ports_with("m_axi_"))
    {
        expose(&mut m, &mut c_arb, &port, &port)?;
    }
    for port in ["irq", "wlast_error", "bid_error"] {
        expose(&mut m, &mut c_arb, port, port)?;
    }
    expose(&mut m, &mut c_res, "installs", "direct_installs")?;
    expose(&mut m, &mut c_res, "rejects", "direct_rejects")?;

    let mut irqs = Vec::new();
    for i in 0..n {
        let mut c = Child::new(nic.clone(), &format!("u_nic{i}"), &clk, &rst);
        c.connect("nic_id", Expr::lit(i as u128, id_bits));
        for port in c.ports_with("s_axis_rx_") {
            expose(&mut m, &mut c, &port, &format!("s{i}_{}", &port[2..]))?;
        }
        for port in c.ports_with("m_axis_tx_") {
            expose(&mut m, &mut c, &port, &format!("m{i}_{}", &port[2..]))?;
        }
        // Register port: the arbiter's window i. The NIC has no *prot.
        for port in c.ports_with("s_axil_") {
            let f = &port["s_axil_".len()..];
            link(
                &mut m,
                &format!("nic{i}_axil_{f}"),
                &mut c_arb,
                &format!("m{i}_axil_{f}"),
                &mut c,
                &port,
            )?;
        }
        for f in ["awprot", "arprot"] {
            let (w, _) = c_arb.port(&format!("m{i}_axil_{f}"))?;
            let e = m.signal(&format!("nic{i}_axil_{f}"), w, "");
            c_arb.connect(&format!("m{i}_axil_{f}"), e.clone());
            m.unused(
                &format!("nic{i}_axil_{f}"),
                vec![e],
                "the NIC's registers make no difference between privileged and secure accesses",
            );
        }
        for port in c.ports_with("m_axi_") {
            let f = &port["m_axi_".len()..];
            link(
                &mut m,
                &format!("nic{i}_axi_{f}"),
                &mut c,
                &port,
                &mut c_arb,
                &format!("s{i}_axi_{f}"),
            )?;
        }
        let irq = m.signal(&format!("nic{i}_irq"), 1, "");
        c.connect("irq", irq.clone());
        irqs.push(irq);
        // Direct mode: miss events out, commands in, answers out, rejects in.
        for (nic_prefix, res_prefix) in [
            ("m_direct_miss_", format!("s{i}_miss_")),
            ("s_direct_cmd_", format!("m{i}_cmd_")),
            ("m_direct_resp_", format!("m{i}_resp_")),
            ("s_direct_reject_", format!("m{i}_reject_")),
        ] {
            for port in c.ports_with(nic_prefix) {
                let f = &port[nic_prefix.len()..];
                link(
                    &mut m,
                    &format!("nic{i}_{}{f}", &nic_prefix[2..]),
                    &mut c,
                    &port,
                    &mut c_res,
                    &format!("{res_prefix}{f}"),
                )?;
            }
        }
        c.place(&mut m);
    }
    irqs.reverse();
    c_arb.connect("irq_in", Expr::concat(irqs));
    c_arb.place(&mut m);
    c_res.place(&mut m);
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_at_the_defaults_and_with_three_nics() {
        let m = elaborate(&SystemParams::from_params(&Params::default())).unwrap();
        assert_eq!(m.port("s_axil_awaddr").unwrap().0.width, 16 + 2);
        assert!(m.port("s1_axis_rx_tdata").is_some());
        assert!(m.port("m1_axis_tx_tvalid").is_some());
        assert!(m.port("s2_axis_rx_tdata").is_none());
        let m = elaborate(&SystemParams::from_params(
            &Params::new([("nics", 3)]).unwrap(),
        ))
        .unwrap();
        assert!(m.port("s2_axis_rx_tdata").is_some());
        assert_eq!(m.port("m_axi_awid").unwrap().0.width, 4 + 2);
    }
}
