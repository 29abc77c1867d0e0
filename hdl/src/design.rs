//! A design: the modules to emit (each top with its hierarchy), their
//! Verilog files and the manifest that describes them.

use std::path::Path;
use std::rc::Rc;

use serde::Serialize;

use crate::emit::verilog::{emit_module, GENERATOR};
use crate::ir::{Dir, Module, ParamDoc};
use crate::params::Params;
use crate::Error;

/// Modules to emit, children before parents, each name once.
#[derive(Default)]
pub struct Design {
    modules: Vec<(Rc<Module>, String)>,
}

#[derive(Serialize)]
struct PortEntry<'a> {
    name: &'a str,
    direction: Dir,
    width: u32,
}

#[derive(Serialize)]
struct ModuleEntry<'a> {
    name: &'a str,
    file: String,
    description: &'a str,
    params: &'a [ParamDoc],
    ports: Vec<PortEntry<'a>>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    generator: &'static str,
    params: std::collections::BTreeMap<&'static str, u64>,
    modules: Vec<ModuleEntry<'a>>,
}

impl Design {
    /// Add `top` and everything it instantiates. Two different modules
    /// with one name are an error (they would overwrite each other's file).
    pub fn add(&mut self, top: &Rc<Module>) -> Result<(), Error> {
        for m in top.hierarchy() {
            let text = emit_module(&m);
            match self.modules.iter().find(|(o, _)| o.name == m.name) {
                Some((_, t)) if *t == text => {}
                Some(_) => {
                    return Err(Error::Design(format!(
                        "two different modules are both named `{}`; give one a distinct name",
                        m.name
                    )))
                }
                None => self.modules.push((m, text)),
            }
        }
        Ok(())
    }

    /// The modules, children first.
    pub fn modules(&self) -> impl Iterator<Item = &Rc<Module>> {
        self.modules.iter().map(|(m, _)| m)
    }

    /// `(file name, Verilog text)` of every module.
    pub fn files(&self) -> Vec<(String, String)> {
        self.modules
            .iter()
            .map(|(m, t)| (format!("{}.v", m.name), t.clone()))
            .collect()
    }

    /// The Verilog files a top module needs, children first.
    pub fn files_for(&self, top: &str) -> Vec<(String, String)> {
        let Some((m, _)) = self.modules.iter().find(|(m, _)| m.name == top) else {
            return Vec::new();
        };
        m.hierarchy()
            .iter()
            .filter_map(|h| self.modules.iter().find(|(o, _)| o.name == h.name))
            .map(|(m, t)| (format!("{}.v", m.name), t.clone()))
            .collect()
    }

    /// The manifest: generator version, parameters, and each module's
    /// parameters and ports.
    pub fn manifest(&self, params: &Params) -> String {
        let modules = self
            .modules
            .iter()
            .map(|(m, _)| ModuleEntry {
                name: &m.name,
                file: format!("{}.v", m.name),
                description: &m.description,
                params: &m.params,
                ports: m
                    .ports()
                    .map(|(s, d)| PortEntry {
                        name: &s.name,
                        direction: d,
                        width: s.width,
                    })
                    .collect(),
            })
            .collect();
        let manifest = Manifest {
            generator: GENERATOR,
            params: params.iter().collect(),
            modules,
        };
        serde_json::to_string_pretty(&manifest).expect("manifest serializes") + "\n"
    }

    /// The register map's generated files (`registers.md`, the C header,
    /// `regs.rs`; see [`crate::regmap`]) into `dir`, beside the Verilog.
    pub fn write_register_files(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        crate::regmap::write_generated(dir)
    }

    /// Write every `.v` file, `manifest.json` and the register map's files
    /// into `dir` (created if needed).
    pub fn write(&self, dir: &Path, params: &Params) -> std::io::Result<Vec<String>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for (name, text) in self.files() {
            std::fs::write(dir.join(&name), text)?;
            written.push(name);
        }
        std::fs::write(dir.join("manifest.json"), self.manifest(params))?;
        written.push("manifest.json".into());
        written.extend(self.write_register_files(dir)?);
        Ok(written)
    }
}

/// The design `stag-handoff emit` writes for a parameter set.
pub fn standard(params: &Params) -> Result<Design, Error> {
    let mut d = Design::default();
    let fifo = crate::blocks::axis_fifo::elaborate(
        &crate::blocks::axis_fifo::AxisFifoParams::from_params(params),
    )?;
    d.add(&fifo)?;
    let table = crate::blocks::stag_table::elaborate(
        &crate::blocks::stag_table::StagTableParams::from_params(params),
    )?;
    d.add(&table)?;
    d.add(&crate::blocks::mpa_rx::elaborate(
        &crate::blocks::mpa_rx::MpaRxParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::rx_parse::elaborate(
        &crate::blocks::rx_parse::RxParseParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::rx_place::elaborate(
        &crate::blocks::rx_place::RxPlaceParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::rx_verdict::elaborate(
        &crate::blocks::rx_verdict::RxVerdictParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::stag_regs::elaborate_top(
        &crate::blocks::stag_regs::StagRegsParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::term_tx::elaborate(
        &crate::blocks::term_tx::TermTxParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::nic_rx::elaborate(
        &crate::blocks::nic_rx::NicRxParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::nic::elaborate(
        &crate::blocks::nic::NicParams::from_params(params),
    )?)?;
    d.add(&crate::blocks::system::elaborate(
        &crate::blocks::system::SystemParams::from_params(params),
    )?)?;
    Ok(d)
}
