//! A loaded Verilated model, driven through the `cpp_shim` C ABI.
//!
//! All port values live in two flat `u64` buffers owned by the [`Model`]; `set*` only
//! write the input buffer and `get*` only read the output buffer, so the per-cycle cost
//! is a single FFI call (`shim_step`) that copies the buffers in and out.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use crate::SimError;

/// Handle to one port: copy it out once with [`Model::port`], then use it every cycle
/// (no name lookup on the hot path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Port {
    /// Index in the model's port table (clock excluded).
    pub index: usize,
    /// Width in bits.
    pub width: u32,
    /// Input (driven by the test) or output (read by the test).
    pub is_input: bool,
    /// First word in the input or output buffer.
    pub offset: usize,
    /// Number of `u64` words: `ceil(width / 64)`.
    pub words: usize,
}

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type DeleteFn = unsafe extern "C" fn(*mut c_void);
type U32Fn = unsafe extern "C" fn() -> u32;
type PortU32Fn = unsafe extern "C" fn(u32) -> u32;
type PortNameFn = unsafe extern "C" fn(u32) -> *const c_char;
type StepFn = unsafe extern "C" fn(*mut c_void, *const u64, *mut u64);
type StepNFn = unsafe extern "C" fn(*mut c_void, *const u64, *mut u64, u64);
type TraceOpenFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
type CycleFn = unsafe extern "C" fn(*mut c_void) -> u64;

/// Function pointers copied out of the library (valid while `Model::_lib` lives).
struct Api {
    delete: DeleteFn,
    step: StepFn,
    step_n: StepNFn,
    eval: StepFn,
    trace_open: TraceOpenFn,
    trace_close: DeleteFn,
    cycle: CycleFn,
}

/// One instance of a Verilated design with its own `VerilatedContext`.
///
/// Several models (same or different designs) may be alive at once, also on different
/// threads: each owns its context and its state, and each design's runtime is private
/// to its RTLD_LOCAL-loaded, hidden-visibility library.
pub struct Model {
    handle: *mut c_void,
    api: Api,
    names: Vec<String>,
    ports: Vec<Port>,
    inbuf: Vec<u64>,
    outbuf: Vec<u64>,
    path: PathBuf,
    tracing: bool,
    // Declared last: dropped after `Drop::drop` has deleted the model.
    _lib: Library,
}

// SAFETY: the model handle is exclusively owned (all mutation goes through &mut self),
// the C++ side has no thread affinity (own VerilatedContext, single-threaded eval), and
// `Library` is Send.
unsafe impl Send for Model {}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("ports", &self.names)
            .field("cycle", &self.cycle())
            .finish()
    }
}

unsafe fn sym<T: Copy>(lib: &Library, name: &str, path: &Path) -> Result<T, SimError> {
    let cname = format!("{name}\0");
    // SAFETY (caller): T is the C signature the shim defines for `name`.
    unsafe { lib.get::<T>(cname.as_bytes()) }
        .map(|s| *s)
        .map_err(|e| SimError::Load {
            path: path.to_path_buf(),
            message: format!("missing shim symbol `{name}`: {e}"),
        })
}

impl Model {
    /// Load a model library built by [`crate::build`] and instantiate the design
    /// (inputs zero, clock low, evaluated once so outputs are valid).
    pub fn load(path: impl AsRef<Path>) -> Result<Model, SimError> {
        let path = path.as_ref().to_path_buf();
        let load_err = |message: String| SimError::Load {
            path: path.clone(),
            message,
        };
        // RTLD_LOCAL: another model's Verilator runtime never satisfies our symbols.
        // SAFETY: running the library's static initialisers (Verilator runtime) is fine.
        let lib = unsafe { Library::open(Some(&path), RTLD_LOCAL | RTLD_NOW) }
            .map_err(|e| load_err(e.to_string()))?;
        // SAFETY: the types match the shim ABI in hdl::emit::cpp_shim.
        unsafe {
            let new: NewFn = sym(&lib, "shim_new", &path)?;
            let num_ports: U32Fn = sym(&lib, "shim_num_ports", &path)?;
            let port_name: PortNameFn = sym(&lib, "shim_port_name", &path)?;
            let port_width: PortU32Fn = sym(&lib, "shim_port_width", &path)?;
            let port_is_input: PortU32Fn = sym(&lib, "shim_port_is_input", &path)?;
            let port_offset: PortU32Fn = sym(&lib, "shim_port_word_offset", &path)?;
            let in_words: U32Fn = sym(&lib, "shim_in_words", &path)?;
            let out_words: U32Fn = sym(&lib, "shim_out_words", &path)?;
            let api = Api {
                delete: sym(&lib, "shim_delete", &path)?,
                step: sym(&lib, "shim_step", &path)?,
                step_n: sym(&lib, "shim_step_n", &path)?,
                eval: sym(&lib, "shim_eval", &path)?,
                trace_open: sym(&lib, "shim_trace_open", &path)?,
                trace_close: sym(&lib, "shim_trace_close", &path)?,
                cycle: sym(&lib, "shim_cycle", &path)?,
            };

            let (n_in, n_out) = (in_words() as usize, out_words() as usize);
            let mut names = Vec::new();
            let mut ports = Vec::new();
            for i in 0..num_ports() {
                let np = port_name(i);
                if np.is_null() {
                    return Err(load_err(format!("port {i} has no name")));
                }
                let name = CStr::from_ptr(np).to_string_lossy().into_owned();
                let width = port_width(i);
                let is_input = port_is_input(i) != 0;
                let offset = port_offset(i) as usize;
                let words = width.div_ceil(64) as usize;
                let limit = if is_input { n_in } else { n_out };
                if width == 0 || offset + words > limit {
                    return Err(load_err(format!(
                        "port `{name}` (width {width}, offset {offset}) does not fit its {limit}-word buffer"
                    )));
                }
                names.push(name);
                ports.push(Port {
                    index: i as usize,
                    width,
                    is_input,
                    offset,
                    words,
                });
            }

            let handle = new();
            if handle.is_null() {
                return Err(load_err("shim_new returned null".into()));
            }
            let mut m = Model {
                handle,
                api,
                names,
                ports,
                inbuf: vec![0; n_in],
                outbuf: vec![0; n_out],
                path,
                tracing: false,
                _lib: lib,
            };
            m.eval(); // make the output buffer reflect the initial state
            Ok(m)
        }
    }

    /// The library this model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Look up a port by its Verilog name (the clock is not a port here).
    pub fn port(&self, name: &str) -> Result<Port, SimError> {
        match self.names.iter().position(|n| n == name) {
            Some(i) => Ok(self.ports[i]),
            None => Err(SimError::NoSuchPort {
                name: name.to_string(),
                available: self.names.clone(),
            }),
        }
    }

    /// All ports in declaration order (clock excluded).
    pub fn ports(&self) -> impl Iterator<Item = (&str, Port)> + '_ {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.ports.iter().copied())
    }

    fn check(&self, p: Port) {
        debug_assert!(
            self.ports.get(p.index) == Some(&p),
            "port {p:?} does not belong to this model ({})",
            self.path.display()
        );
    }

    /// Drive input `p` with `v` (zero-extended for ports wider than 64 bits). Takes
    /// effect at the next `step`/`eval`.
    #[inline]
    pub fn set(&mut self, p: Port, v: u64) {
        self.check(p);
        debug_assert!(p.is_input, "set on output port {}", self.names[p.index]);
        debug_assert!(
            p.width >= 64 || v >> p.width == 0,
            "value {v:#x} does not fit {}-bit port {}",
            p.width,
            self.names[p.index]
        );
        let words = &mut self.inbuf[p.offset..p.offset + p.words];
        words[0] = v;
        words[1..].fill(0);
    }

    /// Drive a (wide) input from little-endian words (word 0 = bits 63..0); missing
    /// high words are zero.
    pub fn set_wide(&mut self, p: Port, v: &[u64]) {
        self.check(p);
        debug_assert!(
            p.is_input,
            "set_wide on output port {}",
            self.names[p.index]
        );
        debug_assert!(
            v.len() <= p.words || v[p.words..].iter().all(|&w| w == 0),
            "value has more than {} words for port {}",
            p.words,
            self.names[p.index]
        );
        debug_assert!(
            p.width.is_multiple_of(64)
                || v.get(p.words - 1).is_none_or(|&w| w >> (p.width % 64) == 0),
            "value does not fit {}-bit port {}",
            p.width,
            self.names[p.index]
        );
        let words = &mut self.inbuf[p.offset..p.offset + p.words];
        let n = v.len().min(p.words);
        words[..n].copy_from_slice(&v[..n]);
        words[n..].fill(0);
    }

    /// Low 64 bits of a port: for outputs the last sample (see [`Model::step`]), for
    /// inputs the value currently driven.
    #[inline]
    pub fn get(&self, p: Port) -> u64 {
        self.check(p);
        if p.is_input {
            self.inbuf[p.offset]
        } else {
            self.outbuf[p.offset]
        }
    }

    /// All words of a port (little-endian word order), like [`Model::get`].
    pub fn get_wide(&self, p: Port) -> &[u64] {
        self.check(p);
        let buf = if p.is_input {
            &self.inbuf
        } else {
            &self.outbuf
        };
        &buf[p.offset..p.offset + p.words]
    }

    /// One clock cycle: apply the inputs with the clock low, evaluate, sample all
    /// outputs (the values the flops see at the coming edge), then the rising edge.
    /// So after `step`, `get` on an output shows the *pre-edge* value of this cycle —
    /// exactly what a synchronous consumer of that output would capture. Call
    /// [`Model::eval`] to see post-edge values.
    #[inline]
    pub fn step(&mut self) {
        // SAFETY: handle is live; buffers have exactly in_words/out_words words.
        unsafe { (self.api.step)(self.handle, self.inbuf.as_ptr(), self.outbuf.as_mut_ptr()) }
    }

    /// `n` cycles with unchanged inputs (cheap idle stretches); outputs are the last
    /// cycle's pre-edge sample. `n == 0` does nothing.
    pub fn step_n(&mut self, n: u64) {
        // SAFETY: as in `step`.
        unsafe {
            (self.api.step_n)(
                self.handle,
                self.inbuf.as_ptr(),
                self.outbuf.as_mut_ptr(),
                n,
            )
        }
    }

    /// Apply inputs and settle combinational logic without a clock edge; refreshes all
    /// outputs. Not dumped to the trace by itself.
    pub fn eval(&mut self) {
        // SAFETY: as in `step`.
        unsafe { (self.api.eval)(self.handle, self.inbuf.as_ptr(), self.outbuf.as_mut_ptr()) }
    }

    /// Number of `step`s so far.
    pub fn cycle(&self) -> u64 {
        // SAFETY: handle is live.
        unsafe { (self.api.cycle)(self.handle) }
    }

    /// Start writing a VCD of every signal to `path` (replacing an open trace). Time
    /// advances two units per cycle: `2c` with clock low and inputs applied, `2c+1`
    /// after the rising edge.
    pub fn trace_to(&mut self, path: impl AsRef<Path>) -> Result<(), SimError> {
        let path = path.as_ref();
        let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            SimError::io(
                format!("VCD path {}", path.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "contains a NUL byte"),
            )
        })?;
        // SAFETY: handle is live; c is a valid C string for the call's duration.
        let rc = unsafe { (self.api.trace_open)(self.handle, c.as_ptr()) };
        match rc {
            0 => {
                self.tracing = true;
                Ok(())
            }
            -1 => Err(SimError::Load {
                path: self.path.clone(),
                message: "model was built without --trace".into(),
            }),
            _ => Err(SimError::io(
                format!("opening VCD file {}", path.display()),
                std::io::Error::other("VerilatedVcdC could not open the file"),
            )),
        }
    }

    /// Flush and close the trace, if any (also done on drop).
    pub fn trace_close(&mut self) {
        if self.tracing {
            // SAFETY: handle is live.
            unsafe { (self.api.trace_close)(self.handle) };
            self.tracing = false;
        }
    }

    /// Trace to [`crate::waves_path`]`(test_name)` when `WAVES=1`; returns the path.
    pub fn trace_if_requested(&mut self, test_name: &str) -> Result<Option<PathBuf>, SimError> {
        match crate::waves_path(test_name) {
            Some(p) => self.trace_to(&p).map(|_| Some(p)),
            None => Ok(None),
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: handle is live and deleted exactly once; the library is still loaded
        // (fields drop after this).
        unsafe { (self.api.delete)(self.handle) };
    }
}
