//! The daemon's logic over a recording back end: confirm-or-revert, restarts, the
//! fail-safe table, sets and the LAN sweep.
use super::*;
use mamori_firewall::model::SetElement;
use std::sync::Mutex as StdMutex;

/// Records the tables applied (by their operator rules' comments) and can refuse;
/// answers sweeps with the reports queued, then with an error.
#[derive(Default)]
struct Recorder {
    applied: StdMutex<Vec<String>>,
    /// Tables with these markers are refused.
    refuse_marker: StdMutex<Vec<String>>,
    refuse: std::sync::atomic::AtomicBool,
    sweeps: StdMutex<Vec<SweepReport>>,
    swept: StdMutex<Vec<String>>,
}

impl Backend for Arc<Recorder> {
    fn apply(&self, table: &mamori_firewall::ir::Table) -> Result<(), BackendError> {
        if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("refused".into());
        }
        let text = mamori_firewall::render::render(table);
        let marker = ["alpha", "beta"]
            .iter()
            .find(|m| text.contains(*m))
            .map_or("configured", |m| *m);
        if self
            .refuse_marker
            .lock()
            .unwrap()
            .iter()
            .any(|m| m == marker)
        {
            return Err(format!("refused {marker}").into());
        }
        self.applied.lock().unwrap().push(marker.to_string());
        Ok(())
    }
    fn counters(&self) -> Result<serde_json::Value, BackendError> {
        Ok(serde_json::json!([]))
    }
    fn update_set(
        &self,
        _: &mamori_firewall::ir::Set,
        _: &[SetElement],
        _: &[SetElement],
    ) -> Result<(), BackendError> {
        Ok(())
    }
    fn arp_sweep(&self, interface: &str) -> Result<SweepReport, BackendError> {
        self.swept.lock().unwrap().push(interface.to_string());
        self.sweeps
            .lock()
            .unwrap()
            .pop()
            .ok_or_else(|| BackendError::from("no raw socket here"))
    }
}

fn model(name: &str) -> FirewallConfig {
    toml::from_str(&format!("[[rules]]\nname = \"{name}\"\nzone = \"lan\"\nprotocol = \"tcp\"\nports = [9]\naction = \"accept\"\n")).unwrap()
}

fn start(dir: &Path, rec: &Arc<Recorder>) -> Arc<Firewalld<Arc<Recorder>>> {
    let audit = Arc::new(AuditLog::open(&dir.join("audit"), 1 << 20, 2).unwrap());
    Firewalld::start(dir, FirewallConfig::default(), rec.clone(), audit).unwrap()
}

/// Asks the daemon to apply `model`, on probation for `timeout_secs`.
async fn apply(
    d: &Firewalld<Arc<Recorder>>,
    model: FirewallConfig,
    timeout_secs: Option<u64>,
) -> Response {
    ask(
        d,
        FwRequest::Apply {
            model: Box::new(model),
            timeout_secs,
        },
    )
    .await
}

/// An administrator at the control socket.
fn tanaka() -> Caller {
    let accounts = mamori_core::identity::Accounts::parse("tanaka:x:1000:1000::/:/bin/sh\n", "");
    mamori_core::identity::Access::standard(1000).caller(1000, 1000, &accounts)
}

/// Asks the daemon as [`tanaka`].
async fn ask(d: &Firewalld<Arc<Recorder>>, req: FwRequest) -> Response {
    d.handle(req, &tanaka()).await
}

fn applied(rec: &Recorder) -> Vec<String> {
    rec.applied.lock().unwrap().clone()
}

#[tokio::test]
async fn an_unconfirmed_apply_is_reverted_and_a_restart_boots_the_confirmed_model() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    let d = start(dir.path(), &rec);
    let ok = |r: Response| match r {
        Response::Ok { data } => data,
        Response::Error { message, .. } => panic!("{message}"),
    };
    let data = ok(apply(&d, model("alpha"), Some(60)).await);
    let serial = data["serial"].as_u64().unwrap();
    ok(ask(
        &d,
        FwRequest::Confirm {
            serial: Some(serial),
        },
    )
    .await);
    ok(apply(&d, model("beta"), Some(1)).await);
    // A second apply while one is pending is refused.
    let busy = apply(&d, model("alpha"), None).await;
    assert!(
        matches!(busy, Response::Error { ref message, .. } if message.contains("waiting for confirmation")),
        "{busy:?}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    d.tick().await;
    assert_eq!(applied(&rec), ["configured", "alpha", "beta", "alpha"]);
    drop(d);
    // A restart during a probation boots the confirmed model, not the candidate.
    let d = start(dir.path(), &rec);
    ok(apply(&d, model("beta"), Some(60)).await);
    drop(d);
    let rec2 = Arc::new(Recorder::default());
    let _d = start(dir.path(), &rec2);
    assert_eq!(applied(&rec2), ["alpha"]);
    let audit = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).unwrap();
    for event in ["fw_apply", "fw_confirm", "fw_revert"] {
        assert!(audit.contains(event), "{event} missing: {audit}");
    }
}

#[tokio::test]
async fn a_model_the_kernel_refuses_leaves_nothing_pending() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    let d = start(dir.path(), &rec);
    rec.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = apply(&d, model("alpha"), None).await;
    assert!(
        matches!(r, Response::Error { ref message, .. } if message.contains("old one stays")),
        "{r:?}"
    );
    rec.refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    let r = ask(&d, FwRequest::Confirm { serial: None }).await;
    assert!(
        matches!(r, Response::Error { ref message, .. } if message.contains("no change is waiting")),
        "{r:?}"
    );
    // An invalid model is refused before anything is applied.
    let bad: FirewallConfig =
        toml::from_str("[[rules]]\nname = \"x\"\nzone = \"dmz\"\naction = \"accept\"\n").unwrap();
    let r = apply(&d, bad, None).await;
    assert!(
        matches!(r, Response::Error { ref message, .. } if message.contains("dmz")),
        "{r:?}"
    );
    assert_eq!(applied(&rec), ["configured"]);
}

#[tokio::test]
async fn an_unreadable_state_gives_the_failsafe_table_loudly_until_a_model_is_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("firewall")).unwrap();
    std::fs::write(
        dir.path().join("firewall/models.json"),
        b"{\"confirmed\": [garbage",
    )
    .unwrap();
    let rec = Arc::new(Recorder::default());
    let d = start(dir.path(), &rec);
    let status = match ask(&d, FwRequest::Status).await {
        Response::Ok { data } => data,
        Response::Error { message, .. } => panic!("{message}"),
    };
    let why = status["failsafe"].as_str().unwrap();
    assert!(why.contains("could not be read"), "{why}");
    let kept = std::fs::read_dir(dir.path().join("firewall"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("models.json.unreadable-")
        });
    assert!(kept, "the unreadable file is kept for inspection");
    let audit = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).unwrap();
    assert!(audit.contains("fw_failsafe"), "{audit}");
    // The fail-safe table is what was applied: the LAN's panel and DHCP/DNS only.
    let table =
        mamori_firewall::compile(&failsafe_model(&mamori_firewall::model::Zones::default()))
            .unwrap()
            .table;
    let text = mamori_firewall::render::render(&table);
    assert!(text.contains("443") && text.contains("53"), "{text}");
    assert_eq!(applied(&rec), ["configured"]);
    // An apply on probation that is not confirmed goes back to the fail-safe table.
    let r = apply(&d, model("alpha"), Some(1)).await;
    assert!(matches!(r, Response::Ok { .. }), "{r:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    d.tick().await;
    assert_eq!(applied(&rec), ["configured", "alpha", "configured"]);
    // A confirmed model leaves it.
    apply(&d, model("beta"), Some(60)).await;
    ask(&d, FwRequest::Confirm { serial: None }).await;
    let status = match ask(&d, FwRequest::Status).await {
        Response::Ok { data } => data,
        Response::Error { message, .. } => panic!("{message}"),
    };
    assert!(status["failsafe"].is_null(), "{status}");
}

#[tokio::test]
async fn a_model_the_kernel_refuses_at_start_gives_the_failsafe_table() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    {
        let d = start(dir.path(), &rec);
        apply(&d, model("alpha"), Some(60)).await;
        ask(&d, FwRequest::Confirm { serial: None }).await;
    }
    // The kernel refuses "alpha" at the next start (say, a module is missing).
    let picky = Arc::new(Recorder::default());
    picky.refuse_marker.lock().unwrap().push("alpha".into());
    let d = start(dir.path(), &picky);
    let status = match ask(&d, FwRequest::Status).await {
        Response::Ok { data } => data,
        Response::Error { message, .. } => panic!("{message}"),
    };
    assert!(
        status["failsafe"]
            .as_str()
            .unwrap()
            .contains("could not be applied"),
        "{status}"
    );
    assert_eq!(applied(&picky), ["configured"]);
}

fn report(sightings: &[(&str, &str)]) -> SweepReport {
    use mamori_firewall::discovery::{ArpKind, Sighting};
    SweepReport {
        interface: "br0".into(),
        address: "192.0.2.1/20".parse().unwrap(),
        network: "192.0.0.0/22".parse().unwrap(),
        cut_from: Some("192.0.0.0/20".parse().unwrap()),
        requests_sent: 1021,
        requests_failed: 0,
        sightings: sightings
            .iter()
            .map(|(ip, mac)| Sighting {
                ip: ip.parse().unwrap(),
                mac: mac.parse().unwrap(),
                kind: ArpKind::Reply,
            })
            .collect(),
    }
}

#[tokio::test]
async fn sweeps_of_the_lan_interfaces_fill_the_device_list() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    rec.sweeps.lock().unwrap().push(report(&[
        ("192.0.2.77", "b8:27:eb:12:34:56"),
        ("192.0.2.9", "da:a1:19:3c:22:07"),
    ]));
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit"), 1 << 20, 2).unwrap());
    let configured: FirewallConfig =
        toml::from_str("[zones.lan]\ninterfaces = [\"br0\", \"wlan*\"]\n").unwrap();
    let d = Firewalld::start(dir.path(), configured, rec.clone(), audit).unwrap();
    let devices = |r: Response| match r {
        Response::Ok { data } => data,
        Response::Error { message, .. } => panic!("{message}"),
    };
    let empty = devices(ask(&d, FwRequest::Devices).await);
    assert_eq!(empty["sweeps"], 0);
    assert_eq!(empty["devices"], serde_json::json!([]));

    d.discover().await;
    // Only the named interface: a wildcard has no one address to sweep from.
    assert_eq!(*rec.swept.lock().unwrap(), ["br0"]);
    let data = devices(ask(&d, FwRequest::Devices).await);
    assert_eq!(data["sweeps"], 1);
    let list = data["devices"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["ip"], "192.0.2.9");
    assert_eq!(list[0]["locally_administered"], true);
    assert_eq!(list[1]["ip"], "192.0.2.77");
    assert_eq!(list[1]["mac"], "b8:27:eb:12:34:56");
    assert_eq!(list[1]["vendor"], "Raspberry Pi");
    assert!(list[1]["first_seen"].as_u64().unwrap() > 1_600_000_000);

    // A failed sweep changes nothing (and expires nothing).
    d.discover().await;
    assert_eq!(devices(ask(&d, FwRequest::Devices).await), data);
}

/// An in-memory settings service: the firewall section of each version, and why.
type Versions = Arc<StdMutex<Vec<(FirewallConfig, String)>>>;

fn link(versions: &Versions) -> SettingsLink {
    let (a, b) = (versions.clone(), versions.clone());
    SettingsLink {
        load: Box::new(move |n| {
            let v = a.lock().unwrap();
            let index = n.map_or(v.len(), |n| n as usize);
            v.get(index.wrapping_sub(1))
                .map(|(m, _)| (index as u64, m.clone()))
                .ok_or_else(|| format!("no version {index}"))
        }),
        revert: Box::new(move |m, why| {
            let mut v = b.lock().unwrap();
            v.push((m.clone(), why.to_string()));
            Ok(v.len() as u64)
        }),
    }
}

fn start_linked(
    dir: &Path,
    rec: &Arc<Recorder>,
    versions: &Versions,
) -> Arc<Firewalld<Arc<Recorder>>> {
    let audit = Arc::new(AuditLog::open(&dir.join("audit"), 1 << 20, 2).unwrap());
    Firewalld::start_linked(
        dir,
        FirewallConfig::default(),
        rec.clone(),
        audit,
        Some(link(versions)),
        None,
    )
    .unwrap()
}

#[tokio::test]
async fn with_settings_a_change_goes_on_probation_and_a_revert_is_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    let versions: Versions = Arc::new(StdMutex::new(vec![(model("alpha"), "seed".into())]));
    let d = start_linked(dir.path(), &rec, &versions);
    assert_eq!(
        applied(&rec),
        ["alpha"],
        "the settings version in force wins at start"
    );
    let health = match ask(&d, FwRequest::Health).await {
        Response::Ok { data } => data,
        other => panic!("{other:?}"),
    };
    assert_eq!(health["settings_version"], 1);
    // A model applied past the settings is refused.
    let r = apply(&d, model("beta"), Some(60)).await;
    assert!(
        matches!(
            r,
            Response::Error {
                kind: mamori_core::control::ErrorKind::Conflict,
                ..
            }
        ),
        "{r:?}"
    );
    // Version 2 on probation, not confirmed: back to alpha, recorded as version 3.
    versions.lock().unwrap().push((model("beta"), "set".into()));
    let r = ask(
        &d,
        FwRequest::ApplySettings {
            version: None,
            timeout_secs: Some(1),
        },
    )
    .await;
    assert!(matches!(r, Response::Ok { .. }), "{r:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    d.tick().await;
    assert_eq!(applied(&rec), ["alpha", "beta", "alpha"]);
    {
        let v = versions.lock().unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].0, model("alpha"));
        assert!(
            v[2].1.contains("version 2") && v[2].1.contains("not confirmed"),
            "{}",
            v[2].1
        );
    }
    // Version 4 confirmed: in force.
    versions.lock().unwrap().push((model("beta"), "set".into()));
    ask(
        &d,
        FwRequest::ApplySettings {
            version: Some(4),
            timeout_secs: Some(60),
        },
    )
    .await;
    let r = ask(&d, FwRequest::Confirm { serial: None }).await;
    assert!(matches!(r, Response::Ok { .. }), "{r:?}");
    // The same model again: nothing to try.
    let r = ask(
        &d,
        FwRequest::ApplySettings {
            version: Some(4),
            timeout_secs: None,
        },
    )
    .await;
    match r {
        Response::Ok { data } => assert_eq!(data["unchanged"], true),
        other => panic!("{other:?}"),
    }
    // Version 5 pending at a restart: reverted to the confirmed beta as version 6.
    versions
        .lock()
        .unwrap()
        .push((model("alpha"), "set".into()));
    ask(
        &d,
        FwRequest::ApplySettings {
            version: None,
            timeout_secs: Some(60),
        },
    )
    .await;
    drop(d);
    let rec2 = Arc::new(Recorder::default());
    let _d = start_linked(dir.path(), &rec2, &versions);
    assert_eq!(applied(&rec2), ["beta"]);
    let v = versions.lock().unwrap();
    assert_eq!(v.len(), 6);
    assert_eq!(v[5].0, model("beta"));
    assert!(v[5].1.contains("before a restart"), "{}", v[5].1);
}

#[test]
fn a_state_file_of_a_newer_firmware_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.json");
    std::fs::write(
        &path,
        r#"{"format": 2, "confirmed": null, "probation": null, "last_serial": 0}"#,
    )
    .unwrap();
    let err = state::read_models(&path).unwrap_err();
    assert!(
        matches!(err, FirewalldError::NewerFormat { found: 2, .. }),
        "{err}"
    );
    std::fs::write(
        &path,
        r#"{"confirmed": null, "probation": null, "last_serial": 3}"#,
    )
    .unwrap();
    assert_eq!(
        state::read_models(&path).unwrap().last_serial,
        3,
        "a file of before formats is read"
    );
}

#[test]
fn the_failsafe_table_takes_the_boards_interfaces() {
    let board: mamori_firewall::model::Zones =
        toml::from_str("[lan]\ninterfaces = [\"br-lan\"]\n[wan]\ninterfaces = [\"wan0\"]\n")
            .unwrap();
    let text = mamori_firewall::render::render(
        &mamori_firewall::compile(&failsafe_model(&board))
            .unwrap()
            .table,
    );
    assert!(
        text.contains("\"br-lan\"") && text.contains("\"wan0\""),
        "{text}"
    );
    assert!(!text.contains("\"eth1\""), "{text}");
}

/// A model with a named set and a rule (named `name`) using it.
fn with_set(name: &str) -> FirewallConfig {
    toml::from_str(&format!(
        "[[sets]]\nname = \"blocklist\"\nfamily = \"ipv4\"\nelements = [\"192.0.2.1\"]\n[[rules]]\nname = \"{name}\"\nzone = \"wan\"\nsource_set = \"blocklist\"\naction = \"drop\"\n"
    ))
    .unwrap()
}

fn blocklist(model: &FirewallConfig) -> Vec<String> {
    model
        .sets
        .iter()
        .find(|s| s.name.as_str() == "blocklist")
        .map(|s| s.elements.iter().map(|e| e.address.to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn run_time_set_elements_outlive_restarts_and_settings_versions_but_never_enter_them() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    let versions: Versions = Arc::new(StdMutex::new(vec![(with_set("alpha"), "seed".into())]));
    let d = start_linked(dir.path(), &rec, &versions);
    let element: SetElement = serde_json::from_str("\"198.51.100.0/24\"").unwrap();
    let r = ask(
        &d,
        FwRequest::SetElements {
            set: "blocklist".into(),
            add: vec![element],
            remove: Vec::new(),
        },
    )
    .await;
    assert!(matches!(r, Response::Ok { .. }), "{r:?}");
    drop(d);
    // A restart: the settings' model, with the run-time element.
    let d = start_linked(dir.path(), &rec, &versions);
    let current = d.models.lock().await.current().cloned().unwrap();
    assert_eq!(blocklist(&current), ["192.0.2.1", "198.51.100.0/24"]);
    // A new settings version keeps it too.
    versions
        .lock()
        .unwrap()
        .push((with_set("beta"), "set".into()));
    ask(
        &d,
        FwRequest::ApplySettings {
            version: None,
            timeout_secs: Some(60),
        },
    )
    .await;
    ask(&d, FwRequest::Confirm { serial: None }).await;
    let current = d.models.lock().await.current().cloned().unwrap();
    assert_eq!(blocklist(&current), ["192.0.2.1", "198.51.100.0/24"]);
    // A rolled-back change records the settings' model, without the run-time element.
    versions
        .lock()
        .unwrap()
        .push((with_set("alpha"), "set".into()));
    ask(
        &d,
        FwRequest::ApplySettings {
            version: None,
            timeout_secs: Some(60),
        },
    )
    .await;
    let r = ask(&d, FwRequest::Rollback).await;
    assert!(matches!(r, Response::Ok { .. }), "{r:?}");
    let v = versions.lock().unwrap();
    assert_eq!(v.len(), 4);
    assert_eq!(v[3].0, with_set("beta"), "{}", v[3].1);
}
