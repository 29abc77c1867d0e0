//! Verilog + shim -> cached shared library.
//!
//! Each distinct configuration (top, Verilog files, shim, Verilator version, recipe)
//! becomes `<cache>/<key>/lib.so`. Building is slow (seconds), loading is fast, so
//! tests share the cache across runs and processes. Safety rules:
//! * a per-key `flock` (`<cache>/<key>.lock`) serialises builders of the same key,
//!   across threads and processes;
//! * the build happens in a private `<cache>/<key>.tmp.<pid>.<nanos>` directory and
//!   the finished library is `rename`d into place, so `lib.so` either does not exist
//!   or is complete; an interrupted build leaves only a tmp dir, removed later once
//!   its pid is dead.
//! * the design-independent Verilator runtime objects (verilated.o, the VCD writer,
//!   threads: ~80% of a small design's compile time) are kept once per runtime flavour
//!   in `<cache>/runtime-<hash>/` and copied into later builds.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::SimError;

/// Bump when the shim contract or the build steps change in a way the hashed inputs
/// (sources, shim text, Verilator version, command arguments) do not capture.
pub const BUILD_RECIPE_VERSION: u32 = 1;

/// Environment variable that overrides the cache directory.
pub const CACHE_ENV: &str = "STAG_SIM_CACHE";

/// Everything that determines a compiled model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSpec {
    /// Top module name (Verilator `--top-module`).
    pub top: String,
    /// `(file name, contents)`; file names are plain names (no directories).
    pub verilog: Vec<(String, String)>,
    /// The shim C++ (from `hdl::emit::cpp_shim`), generated for `prefix_for(top, verilog)`.
    pub shim_cpp: String,
}

impl BuildSpec {
    /// The Verilator `--prefix` this spec builds with (see [`prefix_for`]).
    pub fn prefix(&self) -> String {
        prefix_for(&self.top, &self.verilog)
    }

    /// Cache key: the design hash plus the shim text, the Verilator version and the
    /// build commands' arguments.
    pub fn cache_key(&self) -> Result<String, SimError> {
        let mut h = design_hasher(&self.top, &self.verilog);
        field(&mut h, b"shim");
        field(&mut h, self.shim_cpp.as_bytes());
        field(&mut h, b"verilator");
        field(&mut h, verilator_version()?.as_bytes());
        // The exact commands, so that changing a flag can never reuse a stale library.
        let prefix = self.prefix();
        for arg in verilator_args(&prefix, &self.top)
            .iter()
            .chain(&make_args(&prefix))
        {
            field(&mut h, arg.as_bytes());
        }
        Ok(hex(&h.finalize())[..32].to_string())
    }
}

/// Verilator `--prefix` (the C++ class name) for a design: `V` + 16 hex digits of a
/// hash of the top name, the Verilog files and [`BUILD_RECIPE_VERSION`].
///
/// Computed without the shim, because the shim must name this class: callers compute
/// the prefix, generate the shim with it, then build. Distinct designs get distinct
/// classes, so even a symbol leak between loaded models could not mix them up.
pub fn prefix_for(top: &str, verilog: &[(String, String)]) -> String {
    let h = design_hasher(top, verilog);
    format!("V{}", &hex(&h.finalize())[..16])
}

fn design_hasher(top: &str, verilog: &[(String, String)]) -> Sha256 {
    let mut h = Sha256::new();
    field(&mut h, b"stag-sim-build");
    field(&mut h, &BUILD_RECIPE_VERSION.to_le_bytes());
    field(&mut h, top.as_bytes());
    field(&mut h, &(verilog.len() as u64).to_le_bytes());
    for (name, text) in verilog {
        field(&mut h, name.as_bytes());
        field(&mut h, text.as_bytes());
    }
    h
}

/// Length-prefixed so that field boundaries are unambiguous.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `verilator --version`, run once per process (part of the cache key).
pub fn verilator_version() -> Result<String, SimError> {
    static V: OnceLock<Result<String, String>> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new("verilator")
            .arg("--version")
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
            }
            Ok(o) => Err(format!(
                "{}{}(exit status: {})",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr),
                o.status
            )),
            Err(e) => Err(format!(
                "could not run verilator: {e} (is Verilator installed?)"
            )),
        }
    })
    .clone()
    .map_err(|output| SimError::Build {
        command: "verilator --version".into(),
        output,
    })
}

/// The workspace root: the nearest ancestor of this crate whose `Cargo.toml` has a
/// `[workspace]` table. Found from the compile-time manifest dir so it does not depend
/// on the current directory (cargo runs each test binary in its own crate dir).
pub fn workspace_root() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in start.ancestors() {
        if let Ok(text) = fs::read_to_string(dir.join("Cargo.toml")) {
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return dir.to_path_buf();
            }
        }
    }
    start.to_path_buf()
}

/// Cargo's target dir: `$CARGO_TARGET_DIR` (relative = relative to the workspace root)
/// or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(d) => workspace_root().join(d), // join keeps absolute paths as they are
        None => workspace_root().join("target"),
    }
}

/// Where built models live: `$STAG_SIM_CACHE` (relative = relative to the workspace
/// root) or `<target dir>/verilated`.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV).filter(|v| !v.is_empty()) {
        Some(d) => workspace_root().join(d),
        None => target_dir().join("verilated"),
    }
}

/// Keys already known to be built in this process (skips the lock and file checks).
fn memo() -> &'static Mutex<HashMap<(PathBuf, String), PathBuf>> {
    static M: OnceLock<Mutex<HashMap<(PathBuf, String), PathBuf>>> = OnceLock::new();
    M.get_or_init(Default::default)
}

/// Build (or find in the cache) the shared library for `spec` in [`cache_dir`];
/// returns its path.
pub fn build(spec: &BuildSpec) -> Result<PathBuf, SimError> {
    build_in(spec, &cache_dir())
}

/// [`build`] with an explicit cache directory (tests that need cold builds use a
/// private one).
pub fn build_in(spec: &BuildSpec, cache: &Path) -> Result<PathBuf, SimError> {
    let key = spec.cache_key()?;
    let cache = cache.to_path_buf();
    let memo_key = (cache.clone(), key.clone());
    if let Some(p) = memo()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&memo_key)
    {
        return Ok(p.clone());
    }
    let final_dir = cache.join(&key);
    let lib = final_dir.join("lib.so");
    // lib.so only ever appears by an atomic rename, so existing means complete.
    if !lib.is_file() {
        fs::create_dir_all(&cache)
            .map_err(|e| SimError::io(format!("creating cache dir {}", cache.display()), e))?;
        let lock_path = cache.join(format!("{key}.lock"));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| SimError::io(format!("opening {}", lock_path.display()), e))?;
        // flock: exclusive across processes and across threads (separate open files).
        lock.lock()
            .map_err(|e| SimError::io(format!("locking {}", lock_path.display()), e))?;
        if !lib.is_file() {
            clean_stale_tmp_dirs(&cache);
            build_locked(spec, &key, &cache, &final_dir)?;
        }
        drop(lock); // unlocks
    }
    memo()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(memo_key, lib.clone());
    Ok(lib)
}

/// Removes its directory when dropped (success or failure of a build).
struct TmpDir(PathBuf);
impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn build_locked(
    spec: &BuildSpec,
    key: &str,
    cache: &Path,
    final_dir: &Path,
) -> Result<(), SimError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = TmpDir(cache.join(format!("{key}.tmp.{}.{nanos}", std::process::id())));
    let dir = &tmp.0;
    let src = dir.join("src");
    fs::create_dir_all(&src).map_err(|e| SimError::io(format!("creating {}", src.display()), e))?;

    let mut rel_files = Vec::new();
    for (name, text) in &spec.verilog {
        let ok_name = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains('/')
            && !name.contains(char::is_whitespace);
        if !ok_name {
            return Err(SimError::io(
                format!("Verilog file name {name:?}"),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "must be a plain file name",
                ),
            ));
        }
        let p = src.join(name);
        fs::write(&p, text).map_err(|e| SimError::io(format!("writing {}", p.display()), e))?;
        if is_source(name) {
            rel_files.push(format!("src/{name}"));
        }
    }
    fs::write(dir.join("shim.cpp"), &spec.shim_cpp)
        .map_err(|e| SimError::io(format!("writing shim.cpp in {}", dir.display()), e))?;

    let prefix = spec.prefix();
    let mut log = String::new();

    // 1. Verilate. Relative paths only: the generated Makefile cannot cope with spaces.
    let mut v = Command::new("verilator");
    v.current_dir(dir)
        .args(verilator_args(&prefix, &spec.top))
        .args(&rel_files);
    run(&mut v, &mut log)?;

    // The Verilator runtime objects are the same for every design (same version, same
    // flags) and are most of the compile time; reuse them from an earlier build.
    let obj = dir.join("obj");
    let runtime = cache.join(format!("runtime-{}", runtime_key()?));
    let reused = seed_runtime_objects(&runtime, &obj);
    let _ = writeln!(
        log,
        "# runtime objects {}: {}",
        if reused { "reused from" } else { "built for" },
        runtime.display()
    );

    // 2. Compile + link with the Makefile Verilator generated (it knows which runtime
    //    files the model needs). C++ optimisation is fixed, independent of cargo's profile.
    let mut m = Command::new("make");
    m.current_dir(dir).args(make_args(&prefix));
    for var in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "MAKEFILES",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "LDLIBS",
    ] {
        m.env_remove(var); // the cache key does not cover the caller's environment
    }
    run(&mut m, &mut log)?;

    if !reused {
        save_runtime_objects(&obj, &runtime);
    }

    let built = obj.join("lib.so");
    if !built.is_file() {
        return Err(SimError::Build {
            command: "make (expected obj/lib.so)".into(),
            output: format!("{} was not produced\n{log}", built.display()),
        });
    }

    // Keep the inputs and the log next to the library for debugging; lib.so goes last.
    fs::create_dir_all(final_dir.join("src"))
        .map_err(|e| SimError::io(format!("creating {}", final_dir.display()), e))?;
    for (name, text) in &spec.verilog {
        let _ = fs::write(final_dir.join("src").join(name), text);
    }
    let _ = fs::write(final_dir.join("shim.cpp"), &spec.shim_cpp);
    let _ = fs::write(final_dir.join("build.log"), &log);
    let lib = final_dir.join("lib.so");
    fs::rename(&built, &lib).map_err(|e| {
        SimError::io(
            format!("renaming {} to {}", built.display(), lib.display()),
            e,
        )
    })?;
    Ok(())
}

/// Files handed to Verilator on the command line; anything else (`.vh`, `.svh`, ...)
/// is only reachable through `` `include `` (the source dir is on the include path).
fn is_source(name: &str) -> bool {
    [".v", ".sv", ".vlt"].iter().any(|ext| name.ends_with(ext))
}

/// Verilator arguments (run in the build dir; sources are appended).
///
/// * `--cc --exe` + `shim.cpp` + `-o lib.so`: Verilator's own Makefile then compiles the
///   model, the shim and exactly the runtime files needed (verilated.cpp, the VCD writer,
///   threads) and links them; `-LDFLAGS -shared` turns the "executable" into our .so.
/// * `-fPIC -fvisibility=hidden`: everything but the `SHIM_API` functions is local to
///   the .so, so several models (each with its own copy of the Verilator runtime, loaded
///   RTLD_LOCAL) never bind to each other's symbols. `-Wl,-z,defs` turns a missing
///   symbol into a link error instead of a load-time failure.
/// * `--trace`: VCD support is always compiled in (one build per design, tracing is
///   switched on at run time with `Model::trace_to`).
/// * `--x-assign fast`: explicit X assignments become whatever is fastest (deterministic).
///   `--x-initial unique`: state without a reset is initialised at model construction
///   from the context's randReset, which the shim sets to 0 (deterministic) unless
///   `STAG_SIM_RAND_RESET` says otherwise. Both are Verilator's defaults, spelled out.
/// * `--no-timing`: `#delays` are ignored rather than being a hard error; this is a
///   cycle-based simulation of synthesizable RTL.
/// * `-Wno-fatal`: lint is a separate job; warnings land in `build.log`.
/// * `-Isrc`: `` `include `` finds the other files of the spec.
#[rustfmt::skip]
pub fn verilator_args(prefix: &str, top: &str) -> Vec<String> {
    [
        "--cc", "--exe", "--trace", "--no-timing", "-Wno-fatal",
        "--x-assign", "fast", "--x-initial", "unique",
        "--prefix", prefix, "--top-module", top, "-Isrc",
        "-CFLAGS", "-fPIC", "-CFLAGS", "-fvisibility=hidden", "-CFLAGS", "-fvisibility-inlines-hidden",
        "-LDFLAGS", "-shared", "-LDFLAGS", "-Wl,-z,defs",
        "--Mdir", "obj", "-o", "lib.so", "shim.cpp",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Make arguments: `-O2` for the hot model code and runtime, `-O1` for the cold
/// construction code (big designs compile much faster, nothing runs slower).
pub fn make_args(prefix: &str) -> Vec<String> {
    [
        "-C".to_string(),
        "obj".into(),
        "-f".into(),
        format!("{prefix}.mk"),
        "-j2".into(),
        "OPT_FAST=-O2".into(),
        "OPT_SLOW=-O1".into(),
        "OPT_GLOBAL=-O2".into(),
    ]
    .into()
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The command as a copy-pasteable shell line (with its directory).
fn command_line(cmd: &Command) -> String {
    let mut s = String::new();
    if let Some(d) = cmd.get_current_dir() {
        let _ = write!(s, "cd {} && ", quote(d.as_os_str()));
    }
    s.push_str(&quote(cmd.get_program()));
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s
}

fn run(cmd: &mut Command, log: &mut String) -> Result<(), SimError> {
    let line = command_line(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| SimError::Build {
            command: line.clone(),
            output: format!("could not start {}: {e}", quote(cmd.get_program())),
        })?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let _ = writeln!(log, "$ {line}\n{text}");
    if out.status.success() {
        Ok(())
    } else {
        let _ = write!(text, "\n({})", out.status);
        Err(SimError::Build {
            command: line,
            output: text,
        })
    }
}

/// Hash of everything the design-independent runtime objects depend on.
fn runtime_key() -> Result<String, SimError> {
    let mut h = Sha256::new();
    field(&mut h, b"stag-sim-runtime");
    field(&mut h, &BUILD_RECIPE_VERSION.to_le_bytes());
    field(&mut h, verilator_version()?.as_bytes());
    for arg in verilator_args("P", "T").iter().chain(&make_args("P")) {
        field(&mut h, arg.as_bytes());
    }
    Ok(hex(&h.finalize())[..16].to_string())
}

fn is_runtime_object(name: &str) -> bool {
    name.starts_with("verilated") && name.ends_with(".o")
}

/// Copy cached runtime objects into a freshly verilated `obj` dir. The copies are newer
/// than the generated Makefile, so make treats them as up to date; anything missing is
/// simply compiled. Returns whether the cache was used.
fn seed_runtime_objects(runtime: &Path, obj: &Path) -> bool {
    let Ok(entries) = fs::read_dir(runtime) else {
        return false;
    };
    let mut copied = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        if name.to_str().is_some_and(is_runtime_object) {
            let to = obj.join(&name);
            let ok = fs::copy(e.path(), &to).is_ok();
            copied.push(to);
            if !ok {
                // A partial copy would look up to date to make: drop them all, rebuild.
                for p in &copied {
                    let _ = fs::remove_file(p);
                }
                return false;
            }
        }
    }
    !copied.is_empty()
}

/// Best effort: publish this build's runtime objects (atomic directory rename; if
/// another build got there first, keep theirs).
fn save_runtime_objects(obj: &Path, runtime: &Path) {
    let Some(parent) = runtime.parent() else {
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = runtime.file_name().unwrap_or_default().to_string_lossy();
    let tmp = TmpDir(parent.join(format!("{name}.tmp.{}.{nanos}", std::process::id())));
    if fs::create_dir(&tmp.0).is_err() {
        return;
    }
    let Ok(entries) = fs::read_dir(obj) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if name.to_str().is_some_and(is_runtime_object)
            && fs::copy(e.path(), tmp.0.join(&name)).is_err()
        {
            return;
        }
    }
    let _ = fs::rename(&tmp.0, runtime); // fails harmlessly if it already exists
}

/// Remove `*.tmp.<pid>.*` build dirs whose process is gone (interrupted builds).
fn clean_stale_tmp_dirs(cache: &Path) {
    let Ok(entries) = fs::read_dir(cache) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((_, rest)) = name.split_once(".tmp.") else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_identifier_and_ignores_shim() {
        let v = vec![("a.v".to_string(), "module a; endmodule".to_string())];
        let p = prefix_for("a", &v);
        assert_eq!(p.len(), 17);
        assert!(p.starts_with('V') && p[1..].chars().all(|c| c.is_ascii_hexdigit()));
        let s1 = BuildSpec {
            top: "a".into(),
            verilog: v.clone(),
            shim_cpp: "x".into(),
        };
        let s2 = BuildSpec {
            shim_cpp: "y".into(),
            ..s1.clone()
        };
        assert_eq!(s1.prefix(), s2.prefix());
        assert_ne!(prefix_for("b", &v), p);
    }

    #[test]
    fn field_boundaries_matter() {
        let a = vec![("ab".to_string(), "c".to_string())];
        let b = vec![("a".to_string(), "bc".to_string())];
        assert_ne!(prefix_for("t", &a), prefix_for("t", &b));
    }

    #[test]
    fn workspace_root_has_workspace_manifest() {
        let root = workspace_root();
        let text = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(text.contains("[workspace]"));
    }

    #[test]
    fn command_line_quotes() {
        let mut c = Command::new("verilator");
        c.current_dir("/tmp/x y").args(["-CFLAGS", "-fPIC", "a b"]);
        assert_eq!(
            command_line(&c),
            "cd '/tmp/x y' && verilator -CFLAGS -fPIC 'a b'"
        );
    }
}
