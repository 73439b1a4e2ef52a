//! Reading the journal for the log page: `journalctl` run with arguments built only from
//! the page's checked filter ([`mamori_panel::journal::Filter`]), bounded in time and in
//! output, as the panel's own user (a member of `systemd-journal` on the box).

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// How long `journalctl` may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The most output read (about [`mamori_panel::journal::MAX_READ`] entries).
pub const MAX_OUTPUT: u64 = 16 << 20;

/// Why the journal could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// `journalctl` could not be started.
    #[error("journalctl: {0}")]
    Start(std::io::Error),
    /// It took too long.
    #[error("journalctl did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    /// It failed.
    #[error("journalctl: {0}")]
    Failed(String),
}

/// `journalctl`'s output for `filter` (the system journal, or the files in `dir`).
pub async fn read(
    dir: Option<&Path>,
    filter: &mamori_panel::journal::Filter,
) -> Result<String, JournalError> {
    let mut command = tokio::process::Command::new("journalctl");
    if let Some(dir) = dir {
        command.arg("--directory").arg(dir);
    }
    command
        .args(filter.journalctl_args())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SYSTEMD_PAGER", "")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(JournalError::Start)?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(JournalError::Failed("no output".into()));
    };
    let run = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (mut stdout, mut stderr) = (stdout.take(MAX_OUTPUT), stderr.take(64 * 1024));
        let (read_out, read_err) =
            tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err),);
        read_out.map_err(JournalError::Start)?;
        read_err.map_err(JournalError::Start)?;
        // Output past the bound: stop reading, stop journalctl.
        let _ = child.start_kill();
        let status = child.wait().await.map_err(JournalError::Start)?;
        Ok::<_, JournalError>((status, out, err))
    };
    let (status, out, err) = tokio::time::timeout(TIMEOUT, run)
        .await
        .map_err(|_| JournalError::Timeout)??;
    let text = String::from_utf8_lossy(&out).into_owned();
    // journalctl exits 1 with "No entries" / "-- No entries --" on some versions: that is
    // an empty answer, not a failure.
    if !status.success() && text.trim().is_empty() {
        let why = String::from_utf8_lossy(&err).trim().to_string();
        if !why.is_empty() && !why.contains("No entries") {
            return Err(JournalError::Failed(why.chars().take(300).collect()));
        }
    }
    Ok(text)
}
