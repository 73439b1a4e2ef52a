//! `mamori time-apply`: the small root-owned path from the settings to the clock. Started
//! by `mamori-time.path` whenever the settings store or its `time/` directory changes, it
//! reads the `[time]` section of the version in force (never a request's own word for
//! it), writes the `systemd-timesyncd` drop-in when it differs, starts or stops timesyncd
//! with NTP on or off, and takes a pending clock request — checked again (fresh, in range,
//! NTP off) — setting the clock with `clock_settime`. What it did goes back to the store's
//! `time/` files, which the settings service shows the panel.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mamori_core::time::{ClockRequest, TimeSettings};
use mamori_settings::time_files;

/// Where the drop-in goes on a box.
pub const DEFAULT_DROPIN: &str = "/run/systemd/timesyncd.conf.d/50-mamori.conf";

/// Runs once: the drop-in and timesyncd, then a pending clock request.
/// With `offline` (an image being built, a chroot) only the files are written: timesyncd
/// takes the drop-in when it next starts.
pub fn run(
    store: &Path,
    defaults: Option<&Path>,
    dropin: &Path,
    offline: bool,
) -> anyhow::Result<ExitCode> {
    let read = mamori_settings::store::Store::open_read_only(store, defaults)
        .and_then(|s| s.in_force(None, mamori_settings::TIME_SECTIONS));
    let (version, settings) = match read {
        Ok((v, config)) => (Some(v), config.time),
        Err(mamori_settings::store::StoreError::NoVersion(_)) => (None, TimeSettings::default()),
        Err(e) => return Err(e).context("reading the settings in force"),
    };
    own_time_dir(store)?;
    let mut ok = true;
    let timesyncd = match apply_dropin(&settings, dropin) {
        Ok(_) if offline => "offline: timesyncd reads the drop-in when it starts".to_string(),
        Ok(changed) => match service(&settings, changed) {
            Ok(said) => said,
            Err(e) => {
                ok = false;
                format!("{e:#}")
            }
        },
        Err(e) => {
            ok = false;
            format!("{e:#}")
        }
    };
    println!(
        "time: NTP {} ({}); {timesyncd}",
        if settings.ntp { "on" } else { "off" },
        settings.ntp_servers.join(" ")
    );
    let now = mamori_core::clock::unix_now();
    time_files::write_json(
        &time_files::applied_file(store),
        &serde_json::json!({
            "version": version,
            "ntp": settings.ntp,
            "servers": settings.ntp_servers,
            "at": now,
            "timesyncd": timesyncd,
        }),
    )
    .map_err(|(p, e)| anyhow::anyhow!("{}: {e}", p.display()))?;
    if let Some(result) = take_request(store, &settings)? {
        ok &= result["ok"] == true;
        println!("time: clock request: {result}");
        time_files::write_json(&time_files::result_file(store), &result)
            .map_err(|(p, e)| anyhow::anyhow!("{}: {e}", p.display()))?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Makes the store's `time/` directory (mode 0750) owned like the store, so that the
/// settings service can still write its requests there after root made it.
fn own_time_dir(store: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let dir = time_files::dir(store);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let (owner, now) = (std::fs::metadata(store)?, std::fs::metadata(&dir)?);
    if (owner.uid(), owner.gid()) != (now.uid(), now.gid()) {
        std::os::unix::fs::chown(&dir, Some(owner.uid()), Some(owner.gid()))
            .with_context(|| format!("giving {} to the store's owner", dir.display()))?;
    }
    Ok(())
}

/// Writes the drop-in when it differs; whether it changed.
fn apply_dropin(settings: &TimeSettings, dropin: &Path) -> anyhow::Result<bool> {
    let text = mamori_core::time::timesyncd_dropin(settings)
        .context("the NTP servers in the settings are not valid: the drop-in is left as it is")?;
    if std::fs::read_to_string(dropin).ok().as_deref() == Some(text.as_str()) {
        return Ok(false);
    }
    if let Some(parent) = dropin.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = dropin.with_extension("conf.tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dropin).with_context(|| format!("writing {}", dropin.display()))?;
    Ok(true)
}

/// Starts (restarting on a change) or stops timesyncd, when systemd runs the box.
fn service(settings: &TimeSettings, changed: bool) -> anyhow::Result<String> {
    if !Path::new("/run/systemd/system").exists() {
        return Ok(
            "systemd is not running here: timesyncd reads the servers when it starts".into(),
        );
    }
    let systemctl = |args: &[&str]| -> anyhow::Result<()> {
        let out = std::process::Command::new("systemctl")
            .args(args)
            .output()
            .context("running systemctl")?;
        anyhow::ensure!(
            out.status.success(),
            "systemctl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    };
    const UNIT: &str = "systemd-timesyncd.service";
    if settings.ntp {
        systemctl(&["enable", "--now", UNIT])?;
        if changed {
            systemctl(&["try-restart", UNIT])?;
        }
        Ok(format!(
            "{UNIT} running{}",
            if changed { " (restarted)" } else { "" }
        ))
    } else {
        systemctl(&["disable", "--now", UNIT])?;
        Ok(format!("{UNIT} stopped"))
    }
}

/// Takes a pending clock request (removing it first: each is tried once) and answers what
/// came of it.
fn take_request(
    store: &Path,
    settings: &TimeSettings,
) -> anyhow::Result<Option<serde_json::Value>> {
    let path = time_files::request_file(store);
    let value = time_files::read_json(&path);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    let now = mamori_core::clock::unix_now();
    let Ok(request) = serde_json::from_value::<ClockRequest>(value) else {
        return Ok(Some(
            serde_json::json!({"ok": false, "at": now, "error": "the request file is not a clock request"}),
        ));
    };
    let outcome = request
        .check(settings, now)
        .map_err(|e| e.to_string())
        .and_then(|to| set_clock(to).map(|()| to));
    Ok(Some(match outcome {
        Ok(to) => serde_json::json!({"ok": true, "at": now, "by": request.by, "time": to}),
        Err(e) => {
            serde_json::json!({"ok": false, "at": now, "by": request.by, "time": request.time, "error": e})
        }
    }))
}

/// Sets the system clock (needs `CAP_SYS_TIME`).
fn set_clock(to: u64) -> Result<(), String> {
    let seconds = i64::try_from(to).map_err(|e| e.to_string())?;
    rustix::time::clock_settime(
        rustix::time::ClockId::Realtime,
        rustix::time::Timespec {
            tv_sec: seconds,
            tv_nsec: 0,
        },
    )
    .map_err(|e| match e {
        rustix::io::Errno::PERM => {
            "the clock could not be set: this needs CAP_SYS_TIME (mamori-time.service runs as root)"
                .to_string()
        }
        e => format!("the clock could not be set: {e}"),
    })
}
