//! The files between the settings service and `mamori time-apply` in the store's `time/`
//! directory: the clock request the service writes, and what the root helper writes back
//! (what it applied, the answer to the last request). Plain JSON, written atomically.

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The directory in the store.
pub fn dir(store: &Path) -> PathBuf {
    store.join("time")
}

/// The clock request's file.
pub fn request_file(store: &Path) -> PathBuf {
    dir(store).join("clock-request.json")
}

/// What `mamori time-apply` applied last.
pub fn applied_file(store: &Path) -> PathBuf {
    dir(store).join("applied.json")
}

/// The answer to the last clock request.
pub fn result_file(store: &Path) -> PathBuf {
    dir(store).join("clock-result.json")
}

/// Where `systemd-timesyncd` says the clock is synchronized.
pub const SYNCHRONIZED: &str = "/run/systemd/timesync/synchronized";

/// Writes `value` as JSON to `path` atomically (the directory made, mode 0750).
pub fn write_json(
    path: &Path,
    value: &impl serde::Serialize,
) -> Result<(), (PathBuf, std::io::Error)> {
    let fail = |p: &Path| {
        let p = p.to_path_buf();
        move |e| (p, e)
    };
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(parent)
            .map_err(fail(parent))?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    let mut f = std::fs::File::create(&tmp).map_err(fail(&tmp))?;
    f.write_all(&bytes).map_err(fail(&tmp))?;
    f.sync_all().map_err(fail(&tmp))?;
    std::fs::rename(&tmp, path).map_err(fail(path))
}

/// Writes the clock request (replacing one not yet taken).
pub fn write_request(
    store: &Path,
    request: &mamori_core::time::ClockRequest,
) -> Result<(), (PathBuf, std::io::Error)> {
    write_json(&request_file(store), request)
}

/// Reads a small JSON file (at most 64 KiB), `null` when absent or unreadable.
pub fn read_json(path: &Path) -> serde_json::Value {
    use std::io::Read;
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(64 * 1024).read_to_string(&mut text));
    match read {
        Ok(_) => serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        Err(_) => serde_json::Value::Null,
    }
}

/// The clock's state for `time_status`.
pub fn status(store: &Path) -> serde_json::Value {
    serde_json::json!({
        "now": mamori_core::clock::unix_now(),
        "synchronized": Path::new(SYNCHRONIZED).exists(),
        "pending_request": request_file(store).exists(),
        "applied": read_json(&applied_file(store)),
        "last_request": read_json(&result_file(store)),
    })
}
