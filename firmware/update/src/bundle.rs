//! Firmware bundles: what a target is, what its signed description promises, and whether
//! this box may install it.
//!
//! A bundle is a plain POSIX tar archive (any `tar tf` lists it): first `manifest.json`, then
//! one member per image, in the manifest's order. The same board, version and minimum version
//! are also in the target's signed custom metadata (`custom.mamori`), so an offer is judged —
//! another board, an older version, too old an installed version — before a byte is
//! downloaded; the manifest inside must then agree with it before a byte reaches a slot.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::version::Version;

/// The bundle format this release writes and reads.
pub const FORMAT: u32 = 1;
/// Slot classes a bundle may carry: the root file system (always) and a boot partition.
pub const CLASSES: [&str; 2] = ["rootfs", "boot"];
/// Most images in one bundle.
pub const MAX_IMAGES: usize = 4;

/// What the target's signed custom metadata says about the bundle (`custom.mamori`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// The board the bundle is built for (`qemu-aarch64`, `rpi4`…).
    pub board: String,
    /// The firmware version it installs.
    pub version: String,
    /// The oldest installed version it may update from.
    pub min_version: String,
    /// Release notes by language (`ja`, `en`), shown in the panel.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub notes: std::collections::BTreeMap<String, String>,
}

/// The bundle's own description, its first member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// As in [`Offer`].
    pub board: String,
    /// As in [`Offer`].
    pub version: String,
    /// As in [`Offer`].
    pub min_version: String,
    /// When the image was built (`YYYY-MM-DDTHH:MM:SSZ`).
    pub built: String,
    /// The images, in the order of the archive.
    pub images: Vec<Image>,
}

/// One image of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// The slot class it is written to (`rootfs`, `boot`).
    pub class: String,
    /// Its member name in the archive.
    pub file: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its SHA-256, hex: checked on the slot after writing (the read-back).
    pub sha256: String,
}

/// The firmware the box runs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The board (from the image's board configuration).
    pub board: String,
    /// The running version.
    pub version: Version,
}

/// Why a bundle may not be installed here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The target has no usable `custom.mamori` description, or the manifest is malformed.
    #[error("the bundle's description is not valid: {0}")]
    Description(String),
    /// Built for another board (wrong software).
    #[error("the bundle is for the board {bundle:?}, this box is {this:?}")]
    OtherBoard {
        /// The bundle's board.
        bundle: String,
        /// This box's board.
        this: String,
    },
    /// Not newer than the running firmware, and no downgrade was allowed.
    #[error(
        "version {offered} is not newer than the installed {installed} (a downgrade must be allowed by an administrator)"
    )]
    NotNewer {
        /// The bundle's version.
        offered: String,
        /// The running version.
        installed: String,
    },
    /// The running firmware is older than the bundle's minimum.
    #[error(
        "version {offered} can only be installed over {min} or later; this box runs {installed}"
    )]
    TooOld {
        /// The bundle's version.
        offered: String,
        /// The bundle's minimum.
        min: String,
        /// The running version.
        installed: String,
    },
    /// The manifest inside the bundle differs from the signed description.
    #[error("the bundle's manifest says {field} {inside:?}, its signed description {signed:?}")]
    ManifestDiffers {
        /// The field.
        field: &'static str,
        /// The manifest's value.
        inside: String,
        /// The signed value.
        signed: String,
    },
}

impl Refusal {
    /// A short kind for the audit log and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Description(_) => "bad_bundle",
            Refusal::OtherBoard { .. } => "other_board",
            Refusal::NotNewer { .. } => "not_newer",
            Refusal::TooOld { .. } => "too_old",
            Refusal::ManifestDiffers { .. } => "manifest_differs",
        }
    }
}

impl Offer {
    /// The offer in a target's custom metadata.
    pub fn from_custom(custom: Option<&Value>) -> Result<Offer, Refusal> {
        let value = custom
            .and_then(|c| c.get("mamori"))
            .ok_or_else(|| Refusal::Description("no custom.mamori in the target".into()))?;
        let offer: Offer = serde_json::from_value(value.clone())
            .map_err(|e| Refusal::Description(format!("custom.mamori: {e}")))?;
        offer.versions()?;
        if !valid_board(&offer.board) {
            return Err(Refusal::Description(format!("board {:?}", offer.board)));
        }
        Ok(offer)
    }

    fn versions(&self) -> Result<(Version, Version), Refusal> {
        let v = Version::parse(&self.version)
            .ok_or_else(|| Refusal::Description(format!("version {:?}", self.version)))?;
        let m = Version::parse(&self.min_version)
            .ok_or_else(|| Refusal::Description(format!("min_version {:?}", self.min_version)))?;
        Ok((v, m))
    }

    /// Whether this box may install the offer: the same board, a newer version (or any
    /// other version when `allow_downgrade`), and a running version at least the minimum.
    pub fn check(&self, installed: &Installed, allow_downgrade: bool) -> Result<(), Refusal> {
        let (offered, min) = self.versions()?;
        if self.board != installed.board {
            return Err(Refusal::OtherBoard {
                bundle: self.board.clone(),
                this: installed.board.clone(),
            });
        }
        let newer = offered.cmp_value(&installed.version) == std::cmp::Ordering::Greater;
        let same = offered.cmp_value(&installed.version) == std::cmp::Ordering::Equal;
        if !newer && (!allow_downgrade || same) {
            return Err(Refusal::NotNewer {
                offered: self.version.clone(),
                installed: installed.version.to_string(),
            });
        }
        if installed.version.cmp_value(&min) == std::cmp::Ordering::Less {
            return Err(Refusal::TooOld {
                offered: self.version.clone(),
                min: self.min_version.clone(),
                installed: installed.version.to_string(),
            });
        }
        Ok(())
    }
}

/// Whether `board` is a board name: 1–64 of `a-z 0-9 - _`.
pub fn valid_board(board: &str) -> bool {
    (1..=64).contains(&board.len())
        && board
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Manifest {
    /// Parses and checks a manifest: format, versions, 1–[`MAX_IMAGES`] images with known
    /// classes (one `rootfs`, no class twice), safe member names, hex hashes.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Refusal> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Refusal::Description(format!("manifest.json: {e}")))?;
        let bad = |why: String| Err(Refusal::Description(format!("manifest.json: {why}")));
        if m.format != FORMAT {
            return bad(format!("format {} (this release reads {FORMAT})", m.format));
        }
        if Version::parse(&m.version).is_none() || Version::parse(&m.min_version).is_none() {
            return bad("version or min_version is not a version".into());
        }
        if mamori_core::clock::parse_rfc3339_utc(&m.built).is_none() {
            return bad(format!("built {:?}", m.built));
        }
        if m.images.is_empty() || m.images.len() > MAX_IMAGES {
            return bad(format!("{} images (1 to {MAX_IMAGES})", m.images.len()));
        }
        for (i, img) in m.images.iter().enumerate() {
            if !CLASSES.contains(&img.class.as_str()) {
                return bad(format!("image {i}: unknown class {:?}", img.class));
            }
            if m.images[..i]
                .iter()
                .any(|o| o.class == img.class || o.file == img.file)
            {
                return bad(format!("image {i}: class or file named twice"));
            }
            let name_ok = (1..=99).contains(&img.file.len())
                && img.file != "manifest.json"
                && img
                    .file
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !name_ok {
                return bad(format!("image {i}: member name {:?}", img.file));
            }
            if img.sha256.len() != 64 || crate::metadata::unhex(&img.sha256).is_none() {
                return bad(format!("image {i}: sha256 is not 64 hex digits"));
            }
        }
        if !m.images.iter().any(|i| i.class == "rootfs") {
            return bad("no rootfs image".into());
        }
        Ok(m)
    }

    /// Checks that the manifest says what the signed offer says.
    pub fn agrees_with(&self, offer: &Offer) -> Result<(), Refusal> {
        for (field, inside, signed) in [
            ("board", &self.board, &offer.board),
            ("version", &self.version, &offer.version),
            ("min_version", &self.min_version, &offer.min_version),
        ] {
            if inside != signed {
                return Err(Refusal::ManifestDiffers {
                    field,
                    inside: inside.clone(),
                    signed: signed.clone(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn installed(v: &str) -> Installed {
        Installed {
            board: "qemu-aarch64".into(),
            version: Version::parse(v).unwrap(),
        }
    }

    fn offer(board: &str, v: &str, min: &str) -> Offer {
        Offer::from_custom(Some(
            &json!({"mamori": {"board": board, "version": v, "min_version": min}}),
        ))
        .unwrap()
    }

    #[test]
    fn judges_board_version_and_minimum() {
        let here = installed("1.2.0");
        assert!(
            offer("qemu-aarch64", "1.3.0", "1.0")
                .check(&here, false)
                .is_ok()
        );
        let kind = |o: Offer, down| o.check(&here, down).unwrap_err().kind();
        assert_eq!(kind(offer("rpi4", "1.3.0", "1.0"), false), "other_board");
        assert_eq!(
            kind(offer("qemu-aarch64", "1.1.9", "1.0"), false),
            "not_newer"
        );
        assert_eq!(kind(offer("qemu-aarch64", "1.2", "1.0"), true), "not_newer");
        assert!(
            offer("qemu-aarch64", "1.1.9", "1.0")
                .check(&here, true)
                .is_ok()
        );
        assert_eq!(kind(offer("qemu-aarch64", "2.0", "1.3"), false), "too_old");
        // The board is never waived, not even for a downgrade.
        assert_eq!(kind(offer("rpi4", "1.0", "1.0"), true), "other_board");
    }

    #[test]
    fn descriptions_are_checked_strictly() {
        let bad = |c: Value| Offer::from_custom(Some(&c)).unwrap_err().kind();
        assert_eq!(bad(json!({})), "bad_bundle");
        assert_eq!(
            bad(json!({"mamori": {"board": "x", "version": "1.0-rc", "min_version": "1"}})),
            "bad_bundle"
        );
        assert_eq!(
            bad(json!({"mamori": {"board": "X/../", "version": "1", "min_version": "1"}})),
            "bad_bundle"
        );
        assert_eq!(
            bad(json!({"mamori": {"board": "x", "version": "1", "min_version": "1", "extra": 1}})),
            "bad_bundle"
        );
    }

    #[test]
    fn manifests_are_checked() {
        let good = json!({"format": 1, "board": "b", "version": "1.1", "min_version": "1.0",
            "built": "2026-12-06T00:00:00Z",
            "images": [{"class": "rootfs", "file": "rootfs.img", "size": 3, "sha256": "a".repeat(64)}]});
        assert!(Manifest::parse(good.to_string().as_bytes()).is_ok());
        for (path, value) in [
            ("format", json!(2)),
            ("built", json!("yesterday")),
            ("images", json!([])),
            (
                "images",
                json!([{"class": "boot", "file": "b.img", "size": 1, "sha256": "a".repeat(64)}]),
            ),
            (
                "images",
                json!([{"class": "rootfs", "file": "../x", "size": 1, "sha256": "a".repeat(64)}]),
            ),
            (
                "images",
                json!([{"class": "rootfs", "file": "r", "size": 1, "sha256": "xyz"}]),
            ),
        ] {
            let mut m = good.clone();
            m[path] = value;
            assert!(Manifest::parse(m.to_string().as_bytes()).is_err(), "{path}");
        }
    }
}
