//! `mamori repo`: the update repository tool for the build host. It makes and signs a static
//! TUF repository (a directory any web server or CDN serves): keys, root rotation with
//! offline root keys, firmware bundles as targets, publishing, and a check of what a box would
//! accept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mamori_update::bundle::Offer;
use mamori_update::metadata::{Key, Role};
use mamori_update::repo::{
    Expiry, InitOptions, Repo, generate_key_file, read_key_file, write_bundle,
};

/// What `mamori repo` does.
#[derive(clap::Subcommand, Debug)]
pub enum RepoAction {
    /// Make a new repository in DIR: keys for every role, root version 1, an empty set of
    /// targets, published under DIR/repository (serve that directory).
    Init {
        /// The repository's working directory (must not hold one yet).
        dir: PathBuf,
        /// Root keys to make.
        #[arg(long, default_value_t = 1)]
        root_keys: usize,
        /// Root signatures needed.
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        /// Write the root keys to DIR/offline/ (move them off this machine) instead of keys/.
        #[arg(long)]
        offline_root: bool,
        /// How long timestamp metadata stays valid (a frozen repository is noticed within
        /// it; `mamori repo publish` must run more often).
        #[arg(long, default_value = "7days")]
        timestamp_expiry: humantime::Duration,
        /// How long snapshot metadata stays valid.
        #[arg(long, default_value = "30days")]
        snapshot_expiry: humantime::Duration,
        /// How long targets metadata stays valid.
        #[arg(long, default_value = "90days")]
        targets_expiry: humantime::Duration,
        /// How long a root version stays valid.
        #[arg(long, default_value = "365days")]
        root_expiry: humantime::Duration,
    },
    /// Change a role's keys in the next root version (staged until `publish`): add a key
    /// (made now, or a public key file), remove one, set the threshold. The staged root must
    /// then be signed by the old and the new root keys' thresholds. (Also `add-key`.)
    #[command(alias = "add-key")]
    Key {
        /// The repository's working directory.
        dir: PathBuf,
        /// The role: root, targets, snapshot or timestamp.
        #[arg(long)]
        role: String,
        /// Make a new key into this file (PKCS#8, mode 0600; its public half beside it).
        #[arg(long)]
        generate: Option<PathBuf>,
        /// Add this public key (a `.pub.json` file as `--generate` writes).
        #[arg(long)]
        public: Option<PathBuf>,
        /// Remove the key with this id.
        #[arg(long)]
        remove: Option<String>,
        /// The role's new threshold.
        #[arg(long)]
        threshold: Option<u64>,
    },
    /// Sign the staged root with a root key (an offline key on removable media).
    Sign {
        /// The repository's working directory.
        dir: PathBuf,
        /// The private key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Pack root-file-system images into a bundle and stage it as a target.
    AddTarget {
        /// The repository's working directory.
        dir: PathBuf,
        /// The board the images are for.
        #[arg(long)]
        board: String,
        /// The firmware version.
        #[arg(long)]
        version: String,
        /// The oldest installed version it may update from.
        #[arg(long)]
        min_version: String,
        /// An image: CLASS=PATH (rootfs=build/rootfs.ext4, boot=build/boot.vfat).
        #[arg(long = "image", required = true)]
        images: Vec<String>,
        /// Release notes in Japanese.
        #[arg(long)]
        notes_ja: Option<String>,
        /// Release notes in English.
        #[arg(long)]
        notes_en: Option<String>,
        /// The target's name (default mamori-BOARD-VERSION.bundle).
        #[arg(long)]
        name: Option<String>,
    },
    /// Take a target out of the next targets version.
    RemoveTarget {
        /// The repository's working directory.
        dir: PathBuf,
        /// The target's name.
        name: String,
    },
    /// Sign and publish: the staged root (when signed), then new targets, snapshot and
    /// timestamp versions; then check the result as a box would.
    Publish {
        /// The repository's working directory.
        dir: PathBuf,
        /// More signing keys (for roles whose keys are not in DIR/keys).
        #[arg(long)]
        key: Vec<PathBuf>,
    },
    /// Write an offline update file for a published target (for a box with no path to the
    /// repository: uploaded in the panel, System → Update).
    Export {
        /// The repository's working directory.
        dir: PathBuf,
        /// The target's name.
        #[arg(long)]
        target: String,
        /// The file to write (`.mamori-update`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Refresh from a trusted root against a served repository, as a box does, and print
    /// what it accepts (or why not).
    Verify {
        /// The served repository directory (metadata/, targets/).
        repository: PathBuf,
        /// The root the box trusts (the one its image shipped).
        #[arg(long)]
        root: PathBuf,
        /// Where the box's trusted metadata is kept between runs (default: a scratch
        /// directory, as a new box).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Judge expiry at this time (YYYY-MM-DDTHH:MM:SSZ) instead of now.
        #[arg(long)]
        now: Option<String>,
    },
}

fn role(name: &str) -> anyhow::Result<Role> {
    Role::from_name(name)
        .with_context(|| format!("--role {name:?}: root, targets, snapshot or timestamp"))
}

/// Runs `mamori repo ACTION`.
pub fn run(action: RepoAction) -> anyhow::Result<ExitCode> {
    let now = mamori_core::clock::unix_now();
    match action {
        RepoAction::Init {
            dir,
            root_keys,
            root_threshold,
            offline_root,
            timestamp_expiry,
            snapshot_expiry,
            targets_expiry,
            root_expiry,
        } => {
            let opts = InitOptions {
                root_keys,
                root_threshold,
                offline_root,
                expiry: Expiry {
                    root: root_expiry.as_secs(),
                    targets: targets_expiry.as_secs(),
                    snapshot: snapshot_expiry.as_secs(),
                    timestamp: timestamp_expiry.as_secs(),
                },
            };
            let repo = Repo::open(&dir);
            repo.init(&opts, now)?;
            println!(
                "repository made in {}; serve {}; the image embeds {}",
                dir.display(),
                repo.served().display(),
                repo.served().join("metadata/1.root.json").display()
            );
            if offline_root {
                println!(
                    "the root keys are in {}: move them to offline media now",
                    dir.join("offline").display()
                );
            }
        }
        RepoAction::Key {
            dir,
            role: r,
            generate,
            public,
            remove,
            threshold,
        } => {
            let role = role(&r)?;
            let added: Option<Key> = match (generate, public) {
                (Some(_), Some(_)) => anyhow::bail!("--generate and --public exclude each other"),
                (Some(path), None) => Some(generate_key_file(&path)?.public().clone()),
                (None, Some(path)) => {
                    let text = std::fs::read(&path).with_context(|| path.display().to_string())?;
                    Some(
                        serde_json::from_slice(&text).with_context(|| {
                            format!("{} is not a public key file", path.display())
                        })?,
                    )
                }
                (None, None) => None,
            };
            if let Some(k) = &added {
                println!("adding key {} to the {role} role", k.key_id());
            }
            Repo::open(&dir).change_keys(role, added.as_ref(), remove.as_deref(), threshold)?;
            println!(
                "staged in {}; sign it with the old and new root keys (`mamori repo sign`), then `mamori repo publish`",
                dir.join("staged/root.json").display()
            );
        }
        RepoAction::Sign { dir, key } => {
            let k = read_key_file(&key)?;
            Repo::open(&dir).sign_root(&k)?;
            println!("signed the staged root with key {}", k.id());
        }
        RepoAction::AddTarget {
            dir,
            board,
            version,
            min_version,
            images,
            notes_ja,
            notes_en,
            name,
        } => {
            let mut notes = std::collections::BTreeMap::new();
            if let Some(n) = notes_ja {
                notes.insert("ja".to_string(), n);
            }
            if let Some(n) = notes_en {
                notes.insert("en".to_string(), n);
            }
            let offer = Offer {
                board: board.clone(),
                version: version.clone(),
                min_version,
                notes,
            };
            // The same checks a box makes on the offer.
            Offer::from_custom(Some(&serde_json::json!({"mamori": offer})))?;
            let mut list = Vec::new();
            for spec in images {
                let (class, path) = spec
                    .split_once('=')
                    .with_context(|| format!("--image {spec:?}: CLASS=PATH"))?;
                list.push((class.to_string(), PathBuf::from(path)));
            }
            let name = name.unwrap_or_else(|| format!("mamori-{board}-{version}.bundle"));
            let repo = Repo::open(&dir);
            let bundle = dir.join(format!(".{name}.building"));
            let manifest = write_bundle(&offer, &list, now, &bundle)?;
            let result =
                repo.add_target(&name, &bundle, Some(serde_json::json!({"mamori": offer})));
            let _ = std::fs::remove_file(&bundle);
            let target = result?;
            println!(
                "staged {name}: {} bytes, {} image(s), sha256 {}",
                target.length,
                manifest.images.len(),
                target.hashes.get("sha256").map_or("", String::as_str)
            );
        }
        RepoAction::RemoveTarget { dir, name } => {
            Repo::open(&dir).remove_target(&name)?;
            println!("{name} leaves the targets at the next publish");
        }
        RepoAction::Publish { dir, key } => {
            let mut extra = Vec::new();
            for k in &key {
                extra.push(read_key_file(k)?);
            }
            let versions = Repo::open(&dir).publish(&extra, now)?;
            let list: Vec<String> = versions.iter().map(|(r, v)| format!("{r} {v}")).collect();
            println!("published and verified: {}", list.join(", "));
        }
        RepoAction::Export { dir, target, out } => {
            let n = Repo::open(&dir).export(&target, &out)?;
            println!(
                "wrote {} ({target}, {n} bytes of bundle, with its metadata)",
                out.display()
            );
        }
        RepoAction::Verify {
            repository,
            root,
            state,
            now: at,
        } => return verify(&repository, &root, state.as_deref(), at.as_deref()),
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(
    repository: &Path,
    root: &Path,
    state: Option<&Path>,
    at: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use mamori_update::client::{DirRepository, Limits, MetadataDir, refresh};
    let now = match at {
        Some(t) => mamori_core::clock::parse_rfc3339_utc(t)
            .with_context(|| format!("--now {t:?}: YYYY-MM-DDTHH:MM:SSZ"))?,
        None => mamori_core::clock::unix_now(),
    };
    let shipped = std::fs::read(root).with_context(|| root.display().to_string())?;
    let scratch;
    let store = match state {
        Some(s) => s.to_path_buf(),
        None => {
            scratch = tempfile_dir()?;
            scratch.clone()
        }
    };
    let result = refresh(
        &shipped,
        &MetadataDir::new(&store),
        &mut DirRepository::new(repository),
        Limits::default(),
        now,
    );
    if state.is_none() {
        let _ = std::fs::remove_dir_all(&store);
    }
    match result {
        Ok(set) => {
            let targets: Vec<serde_json::Value> = set
                .targets()
                .map(|t| {
                    t.body
                        .targets
                        .iter()
                        .map(|(name, f)| serde_json::json!({"name": name, "length": f.length, "custom": f.custom}))
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "{}",
                serde_json::json!({"ok": true, "root_version": set.root().common.version, "targets": targets})
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"ok": false, "kind": e.kind(), "error": e.to_string()})
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("mamori-repo-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    Ok(dir)
}
