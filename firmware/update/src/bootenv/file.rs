//! A plain text file of `name=value` lines, one variable a line: the boot environment of the
//! tests and of the qemu image, where there is no U-Boot or GRUB to share it with. Empty lines
//! and lines starting with `#` are skipped when reading, so the file may be edited by hand.
//! Also home of the atomic file replacement that the GRUB store uses too.

use super::{BootEnv, BootEnvError, Vars};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest file read: an environment is a few variables, never megabytes.
pub const MAX_FILE_SIZE: u64 = 1 << 20;

const WHAT: &str = "environment file";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BootEnvError + '_ {
    move |source| BootEnvError::Io {
        path: path.into(),
        source,
    }
}

/// Reads a whole file of at most `max` bytes; a longer one is a format error.
pub(crate) fn read_bounded(path: &Path, max: u64, what: &str) -> Result<Vec<u8>, BootEnvError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > max {
        let why = format!("larger than the {max} bytes such a file can be");
        return Err(BootEnvError::Format {
            what: format!("{what} {}", path.display()),
            why,
        });
    }
    Ok(bytes)
}

/// Replaces the file at `path` with `bytes` so that a power cut leaves either the old or the
/// new file: a temporary file in the same directory, fsync, rename, fsync of the directory.
/// A symbolic link is followed, as grub-editenv does, so the link itself stays.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), BootEnvError> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(io_error(path))?
        }
        _ => path.to_path_buf(),
    };
    if target.file_name().is_none() {
        return Err(BootEnvError::Config(format!(
            "{}: not a file name",
            path.display()
        )));
    }
    mamori_core::fsutil::write_atomic(&target, bytes).map_err(io_error(&target))
}

fn check_var(name: &str, value: &str) -> Result<(), BootEnvError> {
    let why = if name.is_empty() {
        "an empty name"
    } else if name.starts_with('#') {
        "a name starting with `#` (a comment)"
    } else if name.contains(['=', '\n', '\r', '\0']) {
        "`=`, a line break or NUL in the name"
    } else if value.contains(['\n', '\r', '\0']) {
        "a line break or NUL in the value"
    } else {
        return Ok(());
    };
    Err(BootEnvError::Variable {
        name: name.into(),
        why: format!("{why} cannot be stored in an environment file"),
    })
}

/// The file's text for `vars`: `name=value\n` lines in name order.
pub fn encode(vars: &Vars) -> Result<String, BootEnvError> {
    let mut text = String::new();
    for (name, value) in vars {
        check_var(name, value)?;
        text.push_str(name);
        text.push('=');
        text.push_str(value);
        text.push('\n');
    }
    Ok(text)
}

/// The variables of a file's text; a line that is not `name=value`, or a name given twice, is
/// an error naming the line.
pub fn decode(text: &str) -> Result<Vars, BootEnvError> {
    let mut vars = Vars::new();
    for (index, line) in text.split('\n').enumerate() {
        let at = |why: String| BootEnvError::format(WHAT, format!("line {}: {why}", index + 1));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(at("not `name=value`".into()));
        };
        check_var(name, value).map_err(|error| at(error.to_string()))?;
        if vars.insert(name.into(), value.into()).is_some() {
            return Err(at(format!("{name:?} is set a second time")));
        }
    }
    Ok(vars)
}

/// The plain-file boot environment at a path.
#[derive(Debug, Clone)]
pub struct FileEnv {
    path: PathBuf,
}

impl FileEnv {
    /// The store in the file at `path` (which must exist to be read).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileEnv { path: path.into() }
    }
}

impl BootEnv for FileEnv {
    fn describe(&self) -> String {
        format!("{WHAT} {}", self.path.display())
    }

    fn read(&self) -> Result<Vars, BootEnvError> {
        let bytes = read_bounded(&self.path, MAX_FILE_SIZE, WHAT)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| BootEnvError::format(&self.describe(), "not UTF-8"))?;
        decode(&text).map_err(|error| error.in_store(self.describe()))
    }

    fn write(&mut self, vars: &Vars) -> Result<(), BootEnvError> {
        let text = encode(vars)?;
        if text.len() as u64 > MAX_FILE_SIZE {
            let have = usize::try_from(MAX_FILE_SIZE).unwrap_or(usize::MAX);
            return Err(BootEnvError::TooBig {
                what: self.describe(),
                need: text.len(),
                have,
            });
        }
        replace_file(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bootenv");
        let mut env = FileEnv::new(&path);
        assert!(matches!(env.read(), Err(BootEnvError::Io { .. })));
        let v = vars(&[
            ("slot", "b"),
            ("tries", "3"),
            ("args", "a=b c#d"),
            ("empty", ""),
        ]);
        env.write(&v).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "args=a=b c#d\nempty=\nslot=b\ntries=3\n"
        );
        assert_eq!(env.read().unwrap(), v);
        env.write(&vars(&[("slot", "a")])).unwrap();
        assert_eq!(env.read().unwrap(), vars(&[("slot", "a")]));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["bootenv"], "no temporary file left behind");
    }

    #[test]
    fn writes_through_a_symlink_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "a=1\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        FileEnv::new(&link).write(&vars(&[("a", "2")])).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "a=2\n");
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn hand_edits_and_malformed_files() {
        assert_eq!(
            decode("# comment\n\na=1\nb=2").unwrap(),
            vars(&[("a", "1"), ("b", "2")])
        );
        for (text, expected) in [
            ("a=1\nnoequals\n", "line 2: not `name=value`"),
            ("=x\n", "line 1: variable \"\""),
            ("a=1\r\n", "line 1:"),
            ("a=1\na=2\n", "line 2: \"a\" is set a second time"),
        ] {
            let error = decode(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad");
        std::fs::write(&path, b"a=\xff\n").unwrap();
        assert!(matches!(
            FileEnv::new(&path).read(),
            Err(BootEnvError::Format { .. })
        ));
        std::fs::write(&path, vec![b'#'; MAX_FILE_SIZE as usize + 1]).unwrap();
        assert!(matches!(
            FileEnv::new(&path).read(),
            Err(BootEnvError::Format { .. })
        ));
    }

    #[test]
    fn refuses_what_it_cannot_carry() {
        for (name, value) in [
            ("", "x"),
            ("#a", "x"),
            ("a=b", "x"),
            ("a\nb", "x"),
            ("a", "x\ny"),
            ("a", "x\r"),
            ("a", "\0"),
        ] {
            let error = FileEnv::new("/nonexistent/env")
                .write(&vars(&[(name, value)]))
                .unwrap_err();
            assert!(
                matches!(error, BootEnvError::Variable { .. }),
                "{name:?}={value:?}: {error}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_carriable_vars_round_trip(v in prop::collection::btree_map("[^#=\r\n\u{0}][^=\r\n\u{0}]{0,12}", "[^\r\n\u{0}]{0,24}", 0..12)) {
            prop_assert_eq!(decode(&encode(&v).unwrap()).unwrap(), v);
        }

        #[test]
        fn any_text_decodes_without_panic(text in "(?s).{0,200}") {
            let _ = decode(&text);
        }
    }
}
