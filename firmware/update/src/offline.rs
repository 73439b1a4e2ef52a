//! Offline update files: for an office with no Internet path to the repository, one file
//! that carries a target and the metadata that signs it (`mamori repo export`). It is a
//! plain ustar archive: `metadata/<file>` members (the repository's metadata files), then
//! one `target/<name>` member, the bundle. The box reads the metadata into memory (bounded)
//! and refreshes from it exactly as from a repository — the same signatures, versions and
//! rollback baseline — then streams the bundle into the slot.

use std::collections::BTreeMap;
use std::io::Read;

use crate::bundle::Refusal;
use crate::client::{Fetch, FetchError};
use crate::tar::{next_member, skip_padding};

/// Most metadata members in one file.
pub const MAX_FILES: usize = 300;
/// Most bytes of metadata in one file.
pub const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

/// The metadata of an offline file, served to the refresh as a repository.
#[derive(Debug, Clone, Default)]
pub struct MemoryRepository {
    files: BTreeMap<String, Vec<u8>>,
}

impl Fetch for MemoryRepository {
    fn metadata(&mut self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        match self.files.get(name) {
            Some(b) if b.len() as u64 > limit => Err(FetchError::TooLarge(limit)),
            Some(b) => Ok(Some(b.clone())),
            None => Ok(None),
        }
    }
}

fn refuse(why: impl Into<String>) -> Refusal {
    Refusal::Description(format!("offline update file: {}", why.into()))
}

/// Reads an offline file's metadata members; returns them and the target's name and size,
/// leaving `r` at the first byte of the target.
pub fn read_head<R: Read>(r: &mut R) -> Result<(MemoryRepository, String, u64), Refusal> {
    let mut repo = MemoryRepository::default();
    let mut total = 0u64;
    loop {
        let (name, size) = next_member(r)?.ok_or_else(|| refuse("no target in the file"))?;
        if let Some(file) = name.strip_prefix("metadata/") {
            let ok = !file.is_empty()
                && file.len() <= 64
                && file
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && file.ends_with(".json");
            if !ok {
                return Err(refuse(format!("member {name:?}")));
            }
            total = total.saturating_add(size);
            if total > MAX_METADATA_BYTES || repo.files.len() >= MAX_FILES {
                return Err(refuse("too much metadata"));
            }
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            r.by_ref()
                .take(size)
                .read_to_end(&mut bytes)
                .map_err(|e| refuse(e.to_string()))?;
            if bytes.len() as u64 != size {
                return Err(refuse("the file is cut short"));
            }
            skip_padding(r, size)?;
            repo.files.insert(file.to_string(), bytes);
        } else if let Some(target) = name.strip_prefix("target/") {
            if !crate::client::valid_target_name(target) || target.contains('/') {
                return Err(refuse(format!("target name {target:?}")));
            }
            return Ok((repo, target.to_string(), size));
        } else {
            return Err(refuse(format!("unexpected member {name:?}")));
        }
    }
}

/// Writes an offline file: the metadata files, then the target.
pub fn write<W: std::io::Write>(
    out: &mut W,
    metadata: &[(String, Vec<u8>)],
    target_name: &str,
    target: &mut dyn Read,
    target_size: u64,
) -> Result<(), Refusal> {
    let io = |e: std::io::Error| refuse(e.to_string());
    for (name, bytes) in metadata {
        out.write_all(&crate::tar::header(
            &format!("metadata/{name}"),
            bytes.len() as u64,
        )?)
        .map_err(io)?;
        out.write_all(bytes).map_err(io)?;
        out.write_all(&crate::tar::padding(bytes.len() as u64))
            .map_err(io)?;
    }
    out.write_all(&crate::tar::header(
        &format!("target/{target_name}"),
        target_size,
    )?)
    .map_err(io)?;
    let copied = std::io::copy(&mut target.take(target_size), out).map_err(io)?;
    if copied != target_size {
        return Err(refuse("the target changed while it was packed"));
    }
    out.write_all(&crate::tar::padding(target_size))
        .map_err(io)?;
    out.write_all(&crate::tar::trailer()).map_err(io)?;
    Ok(())
}
