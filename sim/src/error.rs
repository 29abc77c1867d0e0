use std::path::PathBuf;

/// Everything that can go wrong between Verilog text and a running model.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An external build command (verilator, make, ...) failed or could not be started.
    /// Carries the full command line and its combined output so a failing test shows
    /// the Verilator diagnostics directly.
    #[error("build command failed: {command}\n----- output -----\n{output}\n------------------")]
    Build { command: String, output: String },

    /// The shared library could not be loaded or does not follow the shim ABI.
    #[error("cannot load model {path}: {message}")]
    Load { path: PathBuf, message: String },

    /// `Model::port` was asked for a name the model does not have.
    #[error("no port named `{name}`; available ports: {}", available.join(", "))]
    NoSuchPort {
        name: String,
        available: Vec<String>,
    },

    /// File-system trouble (cache dir, lock, sources, VCD file).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl SimError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SimError::Io {
            context: context.into(),
            source,
        }
    }
}
