//! The repository tool's logic (`mamori repo` on the build host): make keys and a first
//! root, stage root changes (keys, thresholds) for offline signing, add bundles as targets,
//! and publish a consistent set of metadata that any web server can serve.
//!
//! Layout of a repository's working directory:
//!
//! ```text
//! repo.json              expiry periods, the next versions (written by this tool)
//! keys/                  online keys, PKCS#8 (mode 0600; root keys too unless --offline-root)
//! staged/root.json       the next root while its keys and signatures are being gathered
//! staged/targets.json    the targets of the next targets version
//! repository/metadata/   what is served: N.root.json, timestamp.json, N.snapshot.json, N.targets.json
//! repository/targets/    the bundles, as <sha256>.<name>
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{DirRepository, Limits, MetadataDir, refresh, valid_target_name};
use crate::metadata::{Document, Key, MetaFile, Role, RootBody, RootDoc, SPEC_VERSION, TargetFile};
use crate::signing::{SigningKey, add_signature, signed_document, to_text};

/// Why a repository command failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The command cannot be carried out as asked (with the reason and what to do).
    #[error("{0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn refused(why: impl Into<String>) -> RepoError {
    RepoError::Refused(why.into())
}

/// How long each role's metadata stays valid after it is signed, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    /// Root (rarely re-signed: a year).
    pub root: u64,
    /// Targets.
    pub targets: u64,
    /// Snapshot.
    pub snapshot: u64,
    /// Timestamp (short: a frozen repository is noticed within it).
    pub timestamp: u64,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            root: 365 * 86_400,
            targets: 90 * 86_400,
            snapshot: 30 * 86_400,
            timestamp: 7 * 86_400,
        }
    }
}

impl Expiry {
    fn of(&self, role: Role) -> u64 {
        match role {
            Role::Root => self.root,
            Role::Targets => self.targets,
            Role::Snapshot => self.snapshot,
            Role::Timestamp => self.timestamp,
        }
    }
}

/// `repo.json`: the repository's settings and counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoConfig {
    /// Expiry periods.
    pub expiry: Expiry,
    /// Versions last published, per role name.
    pub published: BTreeMap<String, u64>,
}

/// A repository's working directory.
#[derive(Debug, Clone)]
pub struct Repo {
    dir: PathBuf,
}

/// What `init` makes.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Number of root keys.
    pub root_keys: usize,
    /// Root threshold.
    pub root_threshold: u64,
    /// Write the root keys to `offline/` (to be moved off the machine) instead of `keys/`.
    pub offline_root: bool,
    /// Expiry periods.
    pub expiry: Expiry,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            root_keys: 1,
            root_threshold: 1,
            offline_root: false,
            expiry: Expiry::default(),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    mamori_core::fsutil::write_atomic(path, bytes).map_err(io(path))
}

fn read_json(path: &Path) -> Result<Value, RepoError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| refused(format!("{}: {e}", path.display())))
}

/// A key pair newly made: its private key file and its public description.
pub fn generate_key_file(path: &Path) -> Result<SigningKey, RepoError> {
    let (pkcs8, key) = SigningKey::generate().map_err(|e| refused(e.to_string()))?;
    write_private(path, &pkcs8)?;
    let public = path.with_extension("pub.json");
    write_file(
        &public,
        &to_text(&serde_json::to_value(key.public()).unwrap_or(Value::Null)),
    )?;
    Ok(key)
}

/// Reads a private key file.
pub fn read_key_file(path: &Path) -> Result<SigningKey, RepoError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    SigningKey::from_pkcs8(&bytes).map_err(|e| refused(format!("{}: {e}", path.display())))
}

/// A role's `signed` body common part.
fn body(role: Role, version: u64, expires: u64) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("_type".into(), json!(role.name()));
    m.insert("spec_version".into(), json!(SPEC_VERSION));
    m.insert("version".into(), json!(version));
    m.insert(
        "expires".into(),
        json!(mamori_core::clock::rfc3339_utc(expires)),
    );
    m
}

impl Repo {
    /// The repository whose working directory is `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Repo {
        Repo { dir: dir.into() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The served directory.
    pub fn served(&self) -> PathBuf {
        self.path("repository")
    }

    fn config(&self) -> Result<RepoConfig, RepoError> {
        let v = read_json(&self.path("repo.json"))?;
        serde_json::from_value(v).map_err(|e| refused(format!("repo.json: {e}")))
    }

    fn save_config(&self, c: &RepoConfig) -> Result<(), RepoError> {
        write_file(
            &self.path("repo.json"),
            &to_text(&serde_json::to_value(c).unwrap_or(Value::Null)),
        )
    }

    /// Makes a new repository: keys for every role, root version 1, and an empty but valid
    /// set of targets, snapshot and timestamp, published.
    pub fn init(&self, opts: &InitOptions, now: u64) -> Result<(), RepoError> {
        if self.path("repo.json").exists() {
            return Err(refused(format!(
                "{} already holds a repository",
                self.dir.display()
            )));
        }
        if opts.root_keys == 0
            || opts.root_threshold == 0
            || opts.root_threshold > opts.root_keys as u64
        {
            return Err(refused(
                "the root threshold must be between 1 and the number of root keys",
            ));
        }
        let root_dir = if opts.offline_root { "offline" } else { "keys" };
        let mut keys: BTreeMap<String, Key> = BTreeMap::new();
        let mut roles = BTreeMap::new();
        let mut root_signers = Vec::new();
        let mut ids = Vec::new();
        for i in 1..=opts.root_keys {
            let k = generate_key_file(&self.path(&format!("{root_dir}/root-{i}.pk8")))?;
            keys.insert(k.id().to_string(), k.public().clone());
            ids.push(k.id().to_string());
            root_signers.push(k);
        }
        roles.insert(
            "root".to_string(),
            json!({"keyids": ids, "threshold": opts.root_threshold}),
        );
        for role in [Role::Targets, Role::Snapshot, Role::Timestamp] {
            let k = generate_key_file(&self.path(&format!("keys/{}.pk8", role.name())))?;
            keys.insert(k.id().to_string(), k.public().clone());
            roles.insert(
                role.name().to_string(),
                json!({"keyids": [k.id()], "threshold": 1}),
            );
        }
        let mut signed = body(Role::Root, 1, now + opts.expiry.root);
        signed.insert("consistent_snapshot".into(), json!(true));
        signed.insert(
            "keys".into(),
            serde_json::to_value(&keys).unwrap_or(Value::Null),
        );
        signed.insert("roles".into(), Value::Object(roles.into_iter().collect()));
        let signers: Vec<&SigningKey> = root_signers.iter().collect();
        let root =
            signed_document(Value::Object(signed), &signers).map_err(|e| refused(e.to_string()))?;
        write_file(&self.served().join("metadata/1.root.json"), &to_text(&root))?;
        std::fs::create_dir_all(self.served().join("targets")).map_err(io(&self.served()))?;
        write_file(&self.path("staged/targets.json"), b"{}\n")?;
        let mut published = BTreeMap::new();
        published.insert("root".to_string(), 1);
        self.save_config(&RepoConfig {
            expiry: opts.expiry.clone(),
            published,
        })?;
        self.publish(&[], now).map(|_| ())
    }

    /// The latest published root.
    pub fn current_root(&self) -> Result<(Value, RootDoc), RepoError> {
        let c = self.config()?;
        let v = c.published.get("root").copied().unwrap_or(1);
        let path = self.served().join(format!("metadata/{v}.root.json"));
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let doc: RootDoc =
            Document::parse(Role::Root, &bytes).map_err(|e| refused(e.to_string()))?;
        Ok((serde_json::from_slice(&bytes).unwrap_or(Value::Null), doc))
    }

    fn staged_root(&self) -> Result<Value, RepoError> {
        let path = self.path("staged/root.json");
        if path.exists() {
            return read_json(&path);
        }
        let (value, doc) = self.current_root()?;
        let mut signed = value.get("signed").cloned().unwrap_or(Value::Null);
        let expiry = self.config()?.expiry.root;
        signed["version"] = json!(doc.common.version + 1);
        signed["expires"] = json!(mamori_core::clock::rfc3339_utc(
            mamori_core::clock::unix_now() + expiry
        ));
        Ok(json!({"signatures": [], "signed": signed}))
    }

    /// Stages a change of a role's keys in the next root: adds `add` (a public key), removes
    /// the key `remove` (an id), sets the threshold. Signatures gathered so far are dropped
    /// (they covered the old content).
    pub fn change_keys(
        &self,
        role: Role,
        add: Option<&Key>,
        remove: Option<&str>,
        threshold: Option<u64>,
    ) -> Result<Value, RepoError> {
        let mut doc = self.staged_root()?;
        let signed = doc
            .get_mut("signed")
            .ok_or_else(|| refused("staged root has no signed part"))?;
        let role_entry = signed["roles"][role.name()].clone();
        let mut ids: Vec<String> =
            serde_json::from_value(role_entry["keyids"].clone()).unwrap_or_default();
        if let Some(key) = add {
            let id = key.key_id();
            signed["keys"][&id] = serde_json::to_value(key).unwrap_or(Value::Null);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if let Some(id) = remove {
            if !ids.iter().any(|i| i == id) {
                return Err(refused(format!("the {role} role has no key {id}")));
            }
            ids.retain(|i| i != id);
        }
        let t = threshold.unwrap_or_else(|| role_entry["threshold"].as_u64().unwrap_or(1));
        if ids.is_empty() || t == 0 || t > ids.len() as u64 {
            return Err(refused(format!(
                "the {role} role would have {} key(s) and threshold {t}: the threshold must be between 1 and the number of keys",
                ids.len()
            )));
        }
        signed["roles"][role.name()] = json!({"keyids": ids, "threshold": t});
        // Drop keys no role uses any more.
        let used: Vec<String> = signed["roles"]
            .as_object()
            .map(|r| {
                r.values()
                    .flat_map(|v| v["keyids"].as_array().cloned().unwrap_or_default())
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(keys) = signed["keys"].as_object_mut() {
            keys.retain(|id, _| used.contains(id));
        }
        doc["signatures"] = json!([]);
        write_file(&self.path("staged/root.json"), &to_text(&doc))?;
        Ok(doc)
    }

    /// Signs the staged root with `key` (an offline root key, typically).
    pub fn sign_root(&self, key: &SigningKey) -> Result<(), RepoError> {
        let mut doc = self.staged_root()?;
        add_signature(&mut doc, key).map_err(|e| refused(e.to_string()))?;
        write_file(&self.path("staged/root.json"), &to_text(&doc))
    }

    /// Stages a target: copies `file` into the served targets as `<sha256>.<name>` and lists
    /// it with `custom` for the next targets version.
    pub fn add_target(
        &self,
        name: &str,
        file: &Path,
        custom: Option<Value>,
    ) -> Result<TargetFile, RepoError> {
        if !valid_target_name(name) || name.contains('/') {
            return Err(refused(format!(
                "{name:?} is not a target name (letters, digits, . _ -)"
            )));
        }
        let (length, sha256) = hash_file(file)?;
        let dest = self
            .served()
            .join("targets")
            .join(format!("{sha256}.{name}"));
        std::fs::create_dir_all(self.served().join("targets")).map_err(io(&dest))?;
        std::fs::copy(file, &dest).map_err(io(&dest))?;
        let target = TargetFile {
            length,
            hashes: BTreeMap::from([("sha256".to_string(), sha256)]),
            custom,
        };
        let path = self.path("staged/targets.json");
        let mut staged = read_json(&path)?;
        staged[name] = serde_json::to_value(&target).unwrap_or(Value::Null);
        write_file(&path, &to_text(&staged))?;
        Ok(target)
    }

    /// Removes a target from the next targets version (its file stays for clients that are
    /// still fetching it).
    pub fn remove_target(&self, name: &str) -> Result<(), RepoError> {
        let path = self.path("staged/targets.json");
        let mut staged = read_json(&path)?;
        if staged
            .as_object_mut()
            .and_then(|m| m.remove(name))
            .is_none()
        {
            return Err(refused(format!("no target {name:?}")));
        }
        write_file(&path, &to_text(&staged))
    }

    /// Publishes: the staged root (when fully signed), then new targets, snapshot and
    /// timestamp versions signed with the keys in `keys/` and `extra_keys`; then checks the
    /// result with this crate's own client, from version 1 of the root. Returns the versions
    /// published.
    pub fn publish(
        &self,
        extra_keys: &[SigningKey],
        now: u64,
    ) -> Result<BTreeMap<String, u64>, RepoError> {
        let mut config = self.config()?;
        let mut signers: Vec<SigningKey> = Vec::new();
        let keys_dir = self.path("keys");
        if let Ok(entries) = std::fs::read_dir(&keys_dir) {
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "pk8"))
            {
                signers.push(read_key_file(&p)?);
            }
        }
        let mut all: Vec<&SigningKey> = signers.iter().collect();
        all.extend(extra_keys.iter());

        let staged_root = self.path("staged/root.json");
        if staged_root.exists() {
            let mut doc = read_json(&staged_root)?;
            // Online root keys sign on their own.
            let (_, current) = self.current_root()?;
            let new_body: RootBody = serde_json::from_value(doc["signed"].clone())
                .map_err(|e| refused(format!("staged root: {e}")))?;
            for k in &all {
                let in_old = current
                    .body
                    .roles
                    .get("root")
                    .is_some_and(|r| r.keyids.iter().any(|i| i == k.id()));
                let in_new = new_body
                    .roles
                    .get("root")
                    .is_some_and(|r| r.keyids.iter().any(|i| i == k.id()));
                if in_old || in_new {
                    add_signature(&mut doc, k).map_err(|e| refused(e.to_string()))?;
                }
            }
            let bytes = to_text(&doc);
            let mut check = crate::trust::TrustedSet::new(
                &std::fs::read(
                    self.served()
                        .join(format!("metadata/{}.root.json", current.common.version)),
                )
                .map_err(io(&staged_root))?,
                0,
            )
            .map_err(|e| refused(e.to_string()))?;
            check.update_root(&bytes).map_err(|e| {
                refused(format!(
                    "the staged root is not ready: {e}. Sign it with `mamori repo sign` using the old and the new root keys"
                ))
            })?;
            let version = check.root().common.version;
            write_file(
                &self.served().join(format!("metadata/{version}.root.json")),
                &bytes,
            )?;
            config.published.insert("root".into(), version);
            std::fs::remove_file(&staged_root).map_err(io(&staged_root))?;
            self.save_config(&config)?;
        }
        let (_, root) = self.current_root()?;
        let sign = |role: Role, signed: Value| -> Result<Value, RepoError> {
            let rk = root.role_keys(role).map_err(|e| refused(e.to_string()))?;
            let mine: Vec<&SigningKey> = all
                .iter()
                .copied()
                .filter(|k| rk.keyids.iter().any(|i| i == k.id()))
                .collect();
            let mut distinct: Vec<&str> = mine.iter().map(|k| k.id()).collect();
            distinct.dedup();
            if (distinct.len() as u64) < rk.threshold {
                return Err(refused(format!(
                    "the {role} role needs {} signature(s); keys for {} found in keys/ or given with --key",
                    rk.threshold,
                    distinct.len()
                )));
            }
            signed_document(signed, &mine).map_err(|e| refused(e.to_string()))
        };
        let next = |config: &RepoConfig, role: Role| {
            config.published.get(role.name()).copied().unwrap_or(0) + 1
        };

        let targets_list = read_json(&self.path("staged/targets.json"))?;
        let tv = next(&config, Role::Targets);
        let mut t = body(Role::Targets, tv, now + config.expiry.of(Role::Targets));
        t.insert("targets".into(), targets_list);
        let targets = to_text(&sign(Role::Targets, Value::Object(t))?);
        let sv = next(&config, Role::Snapshot);
        let mut s = body(Role::Snapshot, sv, now + config.expiry.of(Role::Snapshot));
        s.insert(
            "meta".into(),
            json!({"targets.json": MetaFile { version: tv, length: None, hashes: None }}),
        );
        let snapshot = to_text(&sign(Role::Snapshot, Value::Object(s))?);
        let tsv = next(&config, Role::Timestamp);
        let mut ts = body(
            Role::Timestamp,
            tsv,
            now + config.expiry.of(Role::Timestamp),
        );
        let snap_meta = MetaFile {
            version: sv,
            length: Some(snapshot.len() as u64),
            hashes: Some(BTreeMap::from([(
                "sha256".to_string(),
                mamori_core::audit::hex_sha256(&snapshot),
            )])),
        };
        ts.insert("meta".into(), json!({"snapshot.json": snap_meta}));
        let timestamp = to_text(&sign(Role::Timestamp, Value::Object(ts))?);

        let meta = self.served().join("metadata");
        write_file(&meta.join(format!("{tv}.targets.json")), &targets)?;
        write_file(&meta.join(format!("{sv}.snapshot.json")), &snapshot)?;
        // The timestamp last: a client sees the new set only once all of it is there.
        write_file(&meta.join("timestamp.json"), &timestamp)?;
        for (role, v) in [
            (Role::Targets, tv),
            (Role::Snapshot, sv),
            (Role::Timestamp, tsv),
        ] {
            config.published.insert(role.name().into(), v);
        }
        self.save_config(&config)?;
        self.self_check(now)?;
        Ok(config.published)
    }

    /// Writes an offline update file for the published target `name` (see
    /// [`crate::offline`]): every root version, the current timestamp, snapshot and targets,
    /// then the bundle.
    pub fn export(&self, name: &str, out: &Path) -> Result<u64, RepoError> {
        let config = self.config()?;
        let meta = self.served().join("metadata");
        let v = |role: &str| config.published.get(role).copied().unwrap_or(1);
        let mut files = Vec::new();
        for n in 1..=v("root") {
            let f = format!("{n}.root.json");
            files.push((
                f.clone(),
                std::fs::read(meta.join(&f)).map_err(io(&meta.join(&f)))?,
            ));
        }
        for f in [
            "timestamp.json".to_string(),
            format!("{}.snapshot.json", v("snapshot")),
            format!("{}.targets.json", v("targets")),
        ] {
            files.push((
                f.clone(),
                std::fs::read(meta.join(&f)).map_err(io(&meta.join(&f)))?,
            ));
        }
        let targets: crate::metadata::TargetsDoc =
            Document::parse(Role::Targets, &files[files.len() - 1].1)
                .map_err(|e| refused(e.to_string()))?;
        let target = targets
            .body
            .targets
            .get(name)
            .ok_or_else(|| refused(format!("{name:?} is not a published target")))?;
        let sha = target.hashes.get("sha256").cloned().unwrap_or_default();
        let path = self.served().join("targets").join(format!("{sha}.{name}"));
        let mut src = std::fs::File::open(&path).map_err(io(&path))?;
        let mut w = std::io::BufWriter::new(std::fs::File::create(out).map_err(io(out))?);
        crate::offline::write(&mut w, &files, name, &mut src, target.length)
            .map_err(|e| refused(e.to_string()))?;
        let f = w.into_inner().map_err(|e| refused(e.to_string()))?;
        f.sync_all().map_err(io(out))?;
        Ok(target.length)
    }

    /// Refreshes from root version 1 with this crate's client into a throw-away metadata
    /// directory: what was published must be what a box accepts.
    pub fn self_check(&self, now: u64) -> Result<(), RepoError> {
        let first = self.served().join("metadata/1.root.json");
        let root = std::fs::read(&first).map_err(io(&first))?;
        let scratch = tempdir_in(&self.dir)?;
        let result = refresh(
            &root,
            &MetadataDir::new(&scratch),
            &mut DirRepository::new(self.served()),
            Limits::default(),
            now,
        );
        let _ = std::fs::remove_dir_all(&scratch);
        result
            .map(|_| ())
            .map_err(|e| refused(format!("the published repository does not verify: {e}")))
    }
}

fn tempdir_in(dir: &Path) -> Result<PathBuf, RepoError> {
    let path = dir.join(format!(".check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).map_err(io(&path))?;
    Ok(path)
}

/// Length and SHA-256 (hex) of a file, read in 1 MiB pieces.
pub fn hash_file(path: &Path) -> Result<(u64, String), RepoError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    crate::metadata::sha256_of(f).map_err(io(path))
}

/// Builds a bundle at `out` from root-file-system (and boot) images: the manifest with each
/// image's size and SHA-256, then the images, as a ustar archive. Returns the manifest.
pub fn write_bundle(
    offer: &crate::bundle::Offer,
    images: &[(String, PathBuf)],
    built: u64,
    out: &Path,
) -> Result<crate::bundle::Manifest, RepoError> {
    use std::io::{Read, Write};
    let mut list = Vec::new();
    for (class, path) in images {
        let (size, sha256) = hash_file(path)?;
        let file = format!("{class}.img");
        list.push(crate::bundle::Image {
            class: class.clone(),
            file,
            size,
            sha256,
        });
    }
    let manifest = crate::bundle::Manifest {
        format: crate::bundle::FORMAT,
        board: offer.board.clone(),
        version: offer.version.clone(),
        min_version: offer.min_version.clone(),
        built: mamori_core::clock::rfc3339_utc(built),
        images: list,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| refused(e.to_string()))?;
    // The same checks a box makes, before anything is written.
    crate::bundle::Manifest::parse(&text).map_err(|e| refused(e.to_string()))?;
    let tar_err = |e: crate::bundle::Refusal| refused(e.to_string());
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).map_err(io(out))?);
    let mut put = |bytes: &[u8]| f.write_all(bytes).map_err(io(out));
    put(&crate::tar::header("manifest.json", text.len() as u64).map_err(tar_err)?)?;
    put(&text)?;
    put(&crate::tar::padding(text.len() as u64))?;
    for (image, (_, path)) in manifest.images.iter().zip(images) {
        put(&crate::tar::header(&image.file, image.size).map_err(tar_err)?)?;
        let mut src = std::fs::File::open(path).map_err(io(path))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut copied = 0u64;
        loop {
            let n = src.read(&mut buf).map_err(io(path))?;
            if n == 0 {
                break;
            }
            copied += n as u64;
            put(&buf[..n])?;
        }
        if copied != image.size {
            return Err(refused(format!(
                "{} changed while it was packed",
                path.display()
            )));
        }
        put(&crate::tar::padding(image.size))?;
    }
    put(&crate::tar::trailer())?;
    let file = f.into_inner().map_err(|e| refused(e.to_string()))?;
    file.sync_all().map_err(io(out))?;
    Ok(manifest)
}
