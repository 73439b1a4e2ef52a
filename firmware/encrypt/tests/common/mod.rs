//! What the oracle tests share: the Python of the virtual environment with pyzipper.

use std::path::{Path, PathBuf};

/// The virtual environment's Python that `ci/install-deps.sh` makes (`target/formats-venv`;
/// `MAMORI_FORMATS_PYTHON` overrides).
pub fn python() -> PathBuf {
    std::env::var_os("MAMORI_FORMATS_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/formats-venv/bin/python"),
        PathBuf::from,
    )
}
