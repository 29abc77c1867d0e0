//! Turn an elaborated design into a running Verilator model: the Verilog
//! and the C++ shim both come from the generator's one port list.

use hdl::design::Design;
use hdl::emit::cpp_shim::{cpp_shim, ShimPort};
use hdl::ir::Dir;
use sim::{BuildSpec, Model, SimError};

use crate::Clocked;

/// The build description of `top` in `design`: its Verilog files and a
/// shim generated from its ports with the configuration's unique prefix.
pub fn build_spec(design: &Design, top: &str) -> BuildSpec {
    let verilog = design.files_for(top);
    assert!(!verilog.is_empty(), "design has no module `{top}`");
    let prefix = sim::prefix_for(top, &verilog);
    let module = design
        .modules()
        .find(|m| m.name == top)
        .expect("checked above");
    let ports: Vec<ShimPort> = module
        .ports()
        .map(|(s, d)| ShimPort {
            name: &s.name,
            width: s.width,
            is_input: d == Dir::Input,
        })
        .collect();
    let shim_cpp = cpp_shim(top, &prefix, &ports);
    BuildSpec {
        top: top.to_string(),
        verilog,
        shim_cpp,
    }
}

/// Build (or take from the cache) and load `top`; starts a VCD at
/// `target/waves/<test_name>.vcd` when `WAVES=1`.
pub fn load(design: &Design, top: &str, test_name: &str) -> Result<Model, SimError> {
    let mut model = sim::load_or_build(&build_spec(design, top))?;
    if let Some(path) = model.trace_if_requested(test_name)? {
        eprintln!("[{test_name}] waveform: {}", path.display());
    }
    Ok(model)
}

impl Clocked for Model {
    fn step(&mut self) {
        Model::step(self)
    }
}
