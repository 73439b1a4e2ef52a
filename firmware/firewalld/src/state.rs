//! The models on disk (`<data_dir>/firewall/models.json`), replaced atomically.

use std::path::Path;

use mamori_firewall::confirm::Models;

use crate::FirewalldError;

/// Reads the saved models; a missing file is a first start.
pub(crate) fn read_models(state_file: &Path) -> Result<Models, FirewalldError> {
    match std::fs::read(state_file) {
        Ok(bytes) => {
            // The format first: a file of a newer firmware is refused, never misread.
            let format = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64))
                .unwrap_or(1);
            if format > u64::from(mamori_firewall::confirm::FORMAT) {
                return Err(FirewalldError::NewerFormat {
                    path: state_file.to_path_buf(),
                    found: format,
                });
            }
            serde_json::from_slice(&bytes).map_err(|source| FirewalldError::State {
                path: state_file.to_path_buf(),
                source,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Models::default()),
        Err(e) => Err(FirewalldError::io("reading", state_file)(e)),
    }
}

/// Writes the models atomically (temporary file, fsync, rename, directory fsync).
pub(crate) fn save_models(state_file: &Path, models: &Models) -> Result<(), FirewalldError> {
    use std::io::Write;
    let tmp = state_file.with_extension("json.tmp");
    let bytes =
        serde_json::to_vec_pretty(models).map_err(|e| FirewalldError::Internal(e.to_string()))?;
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, state_file)?;
        if let Some(dir) = state_file.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(FirewalldError::io("writing", state_file))
}
