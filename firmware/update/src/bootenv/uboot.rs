//! The U-Boot environment exactly as libubootenv 0.3 (`fw_printenv`/`fw_setenv`) reads and
//! writes it on a file or block device (src/uboot_env.c):
//!
//! * an image of `envsize` bytes: a little-endian CRC32 (zlib's) over the data area, then for
//!   a redundant environment one flag byte, then the data area: `name=value\0` entries ended
//!   by an empty entry (`\0`). libubootenv does not fill the rest of the area (its image is a
//!   bare `malloc`, so the tail is heap residue); U-Boot's own `hexport_r` zeroes it, and so do
//!   we. Whatever the tail holds is only checked through the CRC.
//! * two copies: the current one is the one with a valid CRC; when both are valid, the larger
//!   flag wins, except that 0x00 beats 0xFF (the counter wrapped). A write goes to the other
//!   copy with the current flag plus one (wrapping), so a power cut leaves the old copy valid.
//!   (NOR flash uses boolean flags instead; MTD and UBI devices are refused here.)
//! * entries without `=` are skipped and a repeated name keeps its last value, as libubootenv
//!   and U-Boot do. `.flags` is kept as an ordinary variable, so a board's flags survive.

use super::{BootEnv, BootEnvError, Vars};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};

/// The largest environment accepted, so that a wrong size in a config cannot make the updater
/// allocate or write without bound (boards use 8 to 256 KiB).
pub const MAX_ENV_SIZE: usize = 1 << 20;

const WHAT: &str = "U-Boot environment";

fn header_len(redundant: bool) -> usize {
    if redundant { 5 } else { 4 }
}

fn size_problem(size: usize, redundant: bool) -> Option<String> {
    let min = header_len(redundant) + 1;
    if size < min {
        Some(format!(
            "size {size:#x} is below the {min} bytes of header and terminator"
        ))
    } else if size > MAX_ENV_SIZE {
        Some(format!(
            "size {size:#x} is above the 1 MiB this updater accepts"
        ))
    } else {
        None
    }
}

fn check_var(name: &str, value: &str) -> Result<(), BootEnvError> {
    let why = if name.is_empty() {
        "an empty name"
    } else if name.contains('=') {
        "`=` in the name"
    } else if name.contains('\0') {
        "NUL in the name"
    } else if value.contains('\0') {
        "NUL in the value"
    } else {
        return Ok(());
    };
    Err(BootEnvError::Variable {
        name: name.into(),
        why: format!("{why} cannot be stored in a U-Boot environment"),
    })
}

/// Builds the `env_size`-byte image of `vars`: with a flag byte (a redundant copy) when
/// `redundant_flag` is given. The one place the on-flash layout is written.
pub fn encode(
    vars: &Vars,
    env_size: usize,
    redundant_flag: Option<u8>,
) -> Result<Vec<u8>, BootEnvError> {
    let header = header_len(redundant_flag.is_some());
    if let Some(why) = size_problem(env_size, redundant_flag.is_some()) {
        return Err(BootEnvError::Config(format!("{WHAT}: {why}")));
    }
    let mut need = header + 1;
    for (name, value) in vars {
        check_var(name, value)?;
        need = need.saturating_add(name.len() + value.len() + 2);
    }
    if need > env_size {
        return Err(BootEnvError::TooBig {
            what: WHAT.into(),
            need,
            have: env_size,
        });
    }
    let mut image = vec![0u8; header];
    for (name, value) in vars {
        image.extend_from_slice(name.as_bytes());
        image.push(b'=');
        image.extend_from_slice(value.as_bytes());
        image.push(0);
    }
    // The terminating empty entry and the fill: zeros, as U-Boot's hexport_r leaves them.
    image.resize(env_size, 0);
    let crc = crc32fast::hash(&image[header..]);
    image[..4].copy_from_slice(&crc.to_le_bytes());
    if let Some(flag) = redundant_flag {
        image[4] = flag;
    }
    Ok(image)
}

/// Checks the CRC of one copy and returns its flag byte (for a redundant copy): all that
/// libubootenv looks at to choose the current copy.
fn check_crc(bytes: &[u8], redundant: bool) -> Result<Option<u8>, String> {
    if let Some(why) = size_problem(bytes.len(), redundant) {
        return Err(why);
    }
    let (head, data) = bytes.split_at(header_len(redundant));
    let stored = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let computed = crc32fast::hash(data);
    if stored != computed {
        return Err(format!(
            "bad CRC (stored {stored:#010x}, computed {computed:#010x})"
        ));
    }
    Ok(if redundant {
        head.get(4).copied()
    } else {
        None
    })
}

fn parse_data(mut rest: &[u8]) -> Result<Vars, BootEnvError> {
    let mut vars = Vars::new();
    loop {
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            return Err(BootEnvError::format(
                WHAT,
                "the variables run to the end without the terminating NUL",
            ));
        };
        let entry = &rest[..end];
        rest = &rest[end + 1..];
        if entry.is_empty() {
            return Ok(vars);
        }
        // Like libubootenv's libuboot_load: an entry without `=` is ignored.
        let Some(eq) = entry.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (name, value) = (&entry[..eq], &entry[eq + 1..]);
        if name.is_empty() {
            return Err(BootEnvError::format(WHAT, "an entry with an empty name"));
        }
        let utf8 = |bytes| std::str::from_utf8(bytes).map(str::to_owned);
        let name =
            utf8(name).map_err(|_| BootEnvError::format(WHAT, "a name that is not UTF-8"))?;
        let value = utf8(value).map_err(|_| {
            BootEnvError::format(WHAT, format!("the value of {name:?} is not UTF-8"))
        })?;
        vars.insert(name, value);
    }
}

/// Reads one copy's image (`bytes` is the whole `envsize` area): its variables and, for a
/// redundant copy, its flag. Fails on a bad CRC or a malformed data area.
pub fn decode(bytes: &[u8], redundant: bool) -> Result<(Vars, Option<u8>), BootEnvError> {
    let flag = check_crc(bytes, redundant).map_err(|why| BootEnvError::format(WHAT, why))?;
    let vars = parse_data(&bytes[header_len(redundant)..])?;
    Ok((vars, flag))
}

/// Which of two redundant copies libubootenv takes as current, given the flag of each copy
/// whose CRC is valid (`None`: bad copy). `None` when neither is valid. The rule of
/// libuboot_load for incremental flags (files, block devices, NAND, UBI).
pub fn current_copy(flags: [Option<u8>; 2]) -> Option<usize> {
    match flags {
        [None, None] => None,
        [Some(_), None] => Some(0),
        [None, Some(_)] => Some(1),
        [Some(0xFF), Some(0)] => Some(1),
        [Some(0), Some(0xFF)] => Some(0),
        [Some(f0), Some(f1)] => Some(usize::from(f1 > f0)),
    }
}

/// One line of `fw_env.config`: where one copy of the environment lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvLocation {
    /// The file or block device.
    pub device: PathBuf,
    /// Byte offset of the copy; negative counts back from the end of a block device.
    pub offset: i64,
    /// Size of the copy, header included (the same for both copies).
    pub env_size: usize,
    /// Flash erase-sector size, kept for completeness (unused on files and block devices).
    pub sector_size: Option<u64>,
    /// Number of sectors (raw NAND), kept for completeness.
    pub sectors: Option<u64>,
}

impl std::fmt::Display for EnvLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.offset < 0 { "-" } else { "" };
        write!(
            f,
            "{} @ {sign}{:#x}",
            self.device.display(),
            self.offset.unsigned_abs()
        )
    }
}

/// `fw_env.config`: one line for a single copy, two for a redundant environment; the same
/// file the board's `fw_printenv` uses, so the updater and the tools agree on the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UBootConfig {
    /// The first copy.
    pub primary: EnvLocation,
    /// The second copy of a redundant environment.
    pub redundant: Option<EnvLocation>,
}

/// strtoll with base 0, as libubootenv's `%lli`: `0x` hex, leading `0` octal, else decimal.
fn parse_offset(token: &str) -> Option<i64> {
    let (negative, digits) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token.strip_prefix('+').unwrap_or(token)),
    };
    let (radix, digits) = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, hex)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i64::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// libubootenv reads sizes with `%zx`: hexadecimal whether or not they start with `0x`.
fn parse_hex(token: &str) -> Option<u64> {
    let digits = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
        .unwrap_or(token);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

fn parse_line(number: usize, fields: &[&str]) -> Result<EnvLocation, String> {
    let at = |why: String| format!("line {number}: {why}");
    if fields.len() < 3 {
        return Err(at(format!(
            "expected `device offset envsize [sectorsize [sectors]]`, found {} field(s)",
            fields.len()
        )));
    }
    if fields.len() > 6
        || fields
            .get(5)
            .is_some_and(|lock| !matches!(*lock, "0" | "1"))
    {
        return Err(at(
            "more fields than `device offset envsize [sectorsize [sectors [0|1]]]`".into(),
        ));
    }
    let device = fields[0];
    if device.starts_with("/dev/mtd") || device.starts_with("/dev/ubi") {
        return Err(at(format!(
            "{device}: MTD and UBI devices need erase or volume updates; only files and block devices are supported"
        )));
    }
    let offset = parse_offset(fields[1]).ok_or_else(|| {
        at(format!(
            "offset {:?} is not a number (decimal, 0x… hex or 0… octal)",
            fields[1]
        ))
    })?;
    let hex = |index: usize, what: &str| -> Result<Option<u64>, String> {
        fields.get(index).map_or(Ok(None), |token| {
            parse_hex(token).map(Some).ok_or_else(|| {
                at(format!(
                    "{what} {token:?} is not hexadecimal (fw_env.config sizes are hex, 0x optional)"
                ))
            })
        })
    };
    let size = hex(2, "environment size")?.unwrap_or(0);
    let env_size = usize::try_from(size)
        .ok()
        .filter(|&s| s > 0 && s <= MAX_ENV_SIZE)
        .ok_or_else(|| {
            at(format!(
                "environment size {size:#x} must be above 0 and at most {MAX_ENV_SIZE:#x} (1 MiB)"
            ))
        })?;
    Ok(EnvLocation {
        device: device.into(),
        offset,
        env_size,
        sector_size: hex(3, "sector size")?,
        sectors: hex(4, "sector count")?,
    })
}

impl UBootConfig {
    /// Parses the text of an `fw_env.config`; errors name the line and what is wrong.
    pub fn parse(text: &str) -> Result<Self, BootEnvError> {
        let mut copies: Vec<(usize, EnvLocation)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let fields: Vec<&str> = line
                .split_whitespace()
                .take_while(|field| !field.starts_with('#'))
                .collect();
            if fields.is_empty() {
                continue;
            }
            if copies.len() == 2 {
                return Err(BootEnvError::Config(format!(
                    "fw_env.config line {number}: a third device line (one line is a single copy, two a redundant environment)"
                )));
            }
            let location = parse_line(number, &fields)
                .map_err(|why| BootEnvError::Config(format!("fw_env.config {why}")))?;
            copies.push((number, location));
        }
        let mut copies = copies.into_iter();
        let Some((first_line, primary)) = copies.next() else {
            return Err(BootEnvError::Config("fw_env.config: no device line".into()));
        };
        let redundant = copies.next();
        let min = header_len(redundant.is_some()) + 1;
        if primary.env_size < min {
            return Err(BootEnvError::Config(format!(
                "fw_env.config line {first_line}: environment size {:#x} is below the {min} bytes of header and terminator",
                primary.env_size
            )));
        }
        if let Some((line, second)) = &redundant {
            if second.env_size != primary.env_size {
                return Err(BootEnvError::Config(format!(
                    "fw_env.config line {line}: environment size {:#x} differs from line {first_line}'s {:#x}; both copies must be the same size",
                    second.env_size, primary.env_size
                )));
            }
            let (a, b) = (primary.offset, second.offset);
            let size = i64::try_from(primary.env_size).unwrap_or(i64::MAX);
            if second.device == primary.device
                && (a < 0) == (b < 0)
                && a.abs_diff(b) < size.unsigned_abs()
            {
                return Err(BootEnvError::Config(format!(
                    "fw_env.config line {line}: the second copy overlaps the first on {}",
                    primary.device.display()
                )));
            }
        }
        Ok(UBootConfig {
            primary,
            redundant: redundant.map(|(_, location)| location),
        })
    }

    /// Reads and parses an `fw_env.config` file.
    pub fn load(path: &Path) -> Result<Self, BootEnvError> {
        let text = std::fs::read_to_string(path).map_err(|source| BootEnvError::Io {
            path: path.into(),
            source,
        })?;
        Self::parse(&text)
            .map_err(|error| BootEnvError::Config(format!("{}: {error}", path.display())))
    }
}

/// libubootenv's lock file (`lockname` in uboot_env.c, 0.3.2): `fw_printenv` and `fw_setenv`
/// hold an flock on it from reading to writing, so taking it too keeps the updater and an
/// administrator's `fw_setenv` from writing the same copy at once.
pub const LOCK_FILE: &str = "/var/lock/fw_printenv.lock";

/// The U-Boot environment on files or block devices, read and written the way libubootenv
/// does, so that U-Boot, `fw_printenv` and the updater see the same variables.
#[derive(Debug, Clone)]
pub struct UBootEnv {
    config: UBootConfig,
    lock_file: Option<PathBuf>,
}

/// What one copy holds: its raw image if the device is long enough, and its CRC verdict.
struct CopyState {
    image: Option<Vec<u8>>,
    valid: Result<Option<u8>, String>,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BootEnvError + '_ {
    move |source| BootEnvError::Io {
        path: path.into(),
        source,
    }
}

/// The absolute start of a copy; a negative offset counts from the end of a block device.
/// Only regular files and block devices: libubootenv erases MTD flash and updates UBI volumes
/// (both character devices, perhaps behind a symlink), which a plain write would corrupt.
fn start_of(file: &File, location: &EnvLocation) -> Result<u64, BootEnvError> {
    let kind = file
        .metadata()
        .map_err(io_error(&location.device))?
        .file_type();
    let refuse = |why: &str| Err(BootEnvError::Config(format!("{location}: {why}")));
    if !kind.is_file() && !kind.is_block_device() {
        return refuse("not a regular file or block device (MTD and UBI are not supported)");
    }
    if let Ok(offset) = u64::try_from(location.offset) {
        return Ok(offset);
    }
    if !kind.is_block_device() {
        return refuse("a negative offset needs a block device");
    }
    let end = (&*file)
        .seek(SeekFrom::End(0))
        .map_err(io_error(&location.device))?;
    match end.checked_sub(location.offset.unsigned_abs()) {
        Some(start) => Ok(start),
        None => refuse("the offset lies before the start of the device"),
    }
}

impl UBootEnv {
    /// The store described by `config`, locking [`LOCK_FILE`] as libubootenv does.
    pub fn new(config: UBootConfig) -> Self {
        let lock_file = Some(LOCK_FILE.into());
        UBootEnv { config, lock_file }
    }

    /// The store described by an `fw_env.config` file (usually `/etc/fw_env.config`).
    pub fn from_config_file(path: &Path) -> Result<Self, BootEnvError> {
        UBootConfig::load(path).map(Self::new)
    }

    /// Another lock file (a newer libubootenv's `lockfile` setting), or none.
    pub fn with_lock_file(mut self, lock_file: Option<PathBuf>) -> Self {
        self.lock_file = lock_file;
        self
    }

    /// Best effort, as in libubootenv, which goes on when it cannot open the lock file.
    fn lock(&self) -> Option<File> {
        let path = self.lock_file.as_ref()?;
        let mut options = OpenOptions::new();
        let file = options
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .ok()?;
        file.lock().ok().map(|()| file)
    }

    fn locations(&self) -> Vec<&EnvLocation> {
        std::iter::once(&self.config.primary)
            .chain(self.config.redundant.as_ref())
            .collect()
    }

    fn read_copy(&self, location: &EnvLocation) -> Result<CopyState, BootEnvError> {
        let file = File::open(&location.device).map_err(io_error(&location.device))?;
        let start = start_of(&file, location)?;
        let mut image = vec![0u8; location.env_size];
        match file.read_exact_at(&mut image, start) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(CopyState {
                    image: None,
                    valid: Err("the device ends before the copy does".into()),
                });
            }
            Err(error) => return Err(io_error(&location.device)(error)),
        }
        let valid = check_crc(&image, self.config.redundant.is_some());
        Ok(CopyState {
            image: Some(image),
            valid,
        })
    }

    fn read_copies(&self) -> Result<Vec<CopyState>, BootEnvError> {
        self.locations()
            .into_iter()
            .map(|location| self.read_copy(location))
            .collect()
    }

    /// The index of the current copy among `copies`, if any copy is valid.
    fn current(&self, copies: &[CopyState]) -> Option<usize> {
        let flag = |index: usize| {
            copies
                .get(index)
                .and_then(|copy| copy.valid.as_ref().ok().map(|flag| flag.unwrap_or(0)))
        };
        if self.config.redundant.is_some() {
            current_copy([flag(0), flag(1)])
        } else {
            flag(0).map(|_| 0)
        }
    }
}

impl BootEnv for UBootEnv {
    fn describe(&self) -> String {
        match &self.config.redundant {
            None => format!("{WHAT} {}", self.config.primary),
            Some(second) => format!("{WHAT} {} and {second} (redundant)", self.config.primary),
        }
    }

    fn read(&self) -> Result<Vars, BootEnvError> {
        let _lock = self.lock();
        let copies = self.read_copies()?;
        let Some(image) = self
            .current(&copies)
            .and_then(|index| copies.get(index)?.image.as_deref())
        else {
            let why: Vec<String> = copies
                .iter()
                .enumerate()
                .map(|(index, copy)| {
                    format!(
                        "copy {index}: {}",
                        copy.valid.as_ref().err().map_or("valid", String::as_str)
                    )
                })
                .collect();
            return Err(BootEnvError::format(
                &self.describe(),
                format!("no valid copy ({})", why.join("; ")),
            ));
        };
        decode(image, self.config.redundant.is_some())
            .map(|(vars, _)| vars)
            .map_err(|error| error.in_store(self.describe()))
    }

    fn write(&mut self, vars: &Vars) -> Result<(), BootEnvError> {
        let _lock = self.lock();
        let (target, flag) = if self.config.redundant.is_some() {
            let copies = self.read_copies()?;
            // As libuboot_env_store: with no valid copy, copy 0 counts as current.
            let current = self.current(&copies).unwrap_or(0);
            let flag = copies
                .get(current)
                .and_then(|copy| copy.image.as_ref()?.get(4).copied())
                .unwrap_or(0);
            (1 - current, Some(flag.wrapping_add(1)))
        } else {
            (0, None)
        };
        let image = encode(vars, self.config.primary.env_size, flag)?;
        let location = self
            .locations()
            .get(target)
            .copied()
            .unwrap_or(&self.config.primary)
            .clone();
        let io = io_error(&location.device);
        let file = OpenOptions::new()
            .write(true)
            .open(&location.device)
            .map_err(io)?;
        let start = start_of(&file, &location)?;
        file.write_all_at(&image, start)
            .map_err(io_error(&location.device))?;
        file.sync_all().map_err(io_error(&location.device))
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
    fn encodes_the_libubootenv_layout() {
        let image = encode(&vars(&[("foo", "bar")]), 32, None).unwrap();
        // The bytes fw_setenv wrote for `foo=bar` into a zeroed 0x2000 file, cut to 32 bytes.
        assert_eq!(&image[4..13], b"foo=bar\0\0");
        assert!(image[13..].iter().all(|&b| b == 0));
        assert_eq!(image[..4], crc32fast::hash(&image[4..]).to_le_bytes());
        let redundant = encode(&vars(&[("a", "b")]), 16, Some(7)).unwrap();
        assert_eq!(redundant[4], 7);
        assert_eq!(&redundant[5..10], b"a=b\0\0");
        assert_eq!(
            decode(&redundant, true).unwrap(),
            (vars(&[("a", "b")]), Some(7))
        );
    }

    #[test]
    fn round_trips_and_empty() {
        let v = vars(&[
            ("bootcmd", "run a; run b"),
            ("x", ""),
            ("multi", "line1\nline2"),
            (".flags", "x:sa"),
        ]);
        for flag in [None, Some(0), Some(0xFF)] {
            let image = encode(&v, 0x2000, flag).unwrap();
            assert_eq!(decode(&image, flag.is_some()).unwrap(), (v.clone(), flag));
        }
        let empty = encode(&Vars::new(), 5, None).unwrap();
        assert_eq!(decode(&empty, false).unwrap().0, Vars::new());
    }

    #[test]
    fn refuses_what_it_cannot_carry_and_what_does_not_fit() {
        for (name, value) in [("", "x"), ("a=b", "x"), ("a\0", "x"), ("a", "x\0y")] {
            let error = encode(&vars(&[(name, value)]), 64, None).unwrap_err();
            assert!(matches!(error, BootEnvError::Variable { .. }), "{name:?}");
        }
        // 4 header + "a=bc\0" + terminator = 10 bytes.
        assert!(encode(&vars(&[("a", "bc")]), 10, None).is_ok());
        let error = encode(&vars(&[("a", "bcd")]), 10, None).unwrap_err();
        assert!(
            matches!(
                error,
                BootEnvError::TooBig {
                    need: 11,
                    have: 10,
                    ..
                }
            ),
            "{error}"
        );
        assert!(matches!(
            encode(&Vars::new(), MAX_ENV_SIZE + 1, None),
            Err(BootEnvError::Config(_))
        ));
        assert!(matches!(
            encode(&Vars::new(), 5, Some(0)),
            Err(BootEnvError::Config(_))
        ));
    }

    fn with_crc(mut image: Vec<u8>, header: usize) -> Vec<u8> {
        let crc = crc32fast::hash(&image[header..]);
        image[..4].copy_from_slice(&crc.to_le_bytes());
        image
    }

    #[test]
    fn malformed_images_are_errors() {
        let good = encode(&vars(&[("a", "b")]), 16, None).unwrap();
        let mut bad_crc = good.clone();
        bad_crc[5] ^= 1;
        let unterminated = with_crc(b"....abcdefgh".to_vec(), 4);
        let open_entry = with_crc(b"....a=b\0c=d".to_vec(), 4);
        let empty_name = with_crc(b"....=x\0\0".to_vec(), 4);
        let not_utf8 = with_crc(b"....a=\xff\0\0".to_vec(), 4);
        for image in [
            &good[..3],
            &good[..4],
            &bad_crc,
            &unterminated,
            &open_entry,
            &empty_name,
            &not_utf8,
        ] {
            assert!(decode(image, false).is_err(), "{image:?}");
        }
        assert!(decode(&vec![0; MAX_ENV_SIZE + 1], false).is_err());
        // What libubootenv tolerates: entries without `=` are skipped, the last value wins.
        let tolerated = with_crc(b"....junk\0a=1\0a=2\0\0\xff\xff".to_vec(), 4);
        assert_eq!(decode(&tolerated, false).unwrap().0, vars(&[("a", "2")]));
    }

    #[test]
    fn picks_the_copy_libubootenv_picks() {
        assert_eq!(current_copy([None, None]), None);
        assert_eq!(current_copy([Some(9), None]), Some(0));
        assert_eq!(current_copy([None, Some(0)]), Some(1));
        assert_eq!(current_copy([Some(1), Some(2)]), Some(1));
        assert_eq!(current_copy([Some(2), Some(1)]), Some(0));
        assert_eq!(current_copy([Some(4), Some(4)]), Some(0));
        assert_eq!(current_copy([Some(0xFF), Some(0)]), Some(1));
        assert_eq!(current_copy([Some(0), Some(0xFF)]), Some(0));
        assert_eq!(current_copy([Some(0xFE), Some(0xFF)]), Some(1));
    }

    #[test]
    fn parses_fw_env_config() {
        let text = "# comment\n\n/dev/mmcblk0  0x3f8000 0x4000  # first\n/dev/mmcblk0\t4177920 4000 0x200 1\n";
        let config = UBootConfig::parse(text).unwrap();
        assert_eq!(config.primary.offset, 0x3f8000);
        assert_eq!(config.primary.env_size, 0x4000);
        let second = config.redundant.unwrap();
        assert_eq!((second.offset, second.env_size), (0x3fc000, 0x4000));
        assert_eq!((second.sector_size, second.sectors), (Some(0x200), Some(1)));
        assert_eq!(
            UBootConfig::parse("/dev/sda -0x20000 20000")
                .unwrap()
                .primary
                .offset,
            -0x20000
        );
        assert_eq!(UBootConfig::parse("env 010 8").unwrap().primary.offset, 8);
    }

    #[test]
    fn config_errors_name_the_line() {
        let cases = [
            ("", "no device line"),
            ("# only\n/dev/sda 0\n", "line 2: expected"),
            ("/dev/sda zero 0x4000", "line 1: offset \"zero\""),
            ("/dev/sda 0 4g00", "line 1: environment size \"4g00\""),
            ("/dev/sda 0 0", "line 1: environment size 0x0"),
            ("/dev/sda 0 0x200000", "at most"),
            ("/dev/mtd1 0 0x4000", "MTD and UBI"),
            (
                "a 0 4000\na 0x4000 2000",
                "line 2: environment size 0x2000 differs",
            ),
            (
                "a 0 4000\na 0x2000 4000",
                "line 2: the second copy overlaps",
            ),
            ("a 0 10\nb 0 10\nc 0 10", "line 3: a third device line"),
            ("a 0 10 1 1 1 9", "line 1: more fields"),
            ("a 0 5\nb 0 5", "line 1: environment size 0x5 is below"),
        ];
        for (text, expected) in cases {
            match UBootConfig::parse(text) {
                Err(BootEnvError::Config(message)) => {
                    assert!(message.contains(expected), "{text:?}: {message}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    fn store(redundant: bool, size: usize) -> (tempfile::TempDir, UBootEnv, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env.bin");
        std::fs::write(&path, vec![0xA5; 0x100 + 2 * size]).unwrap();
        let location = |offset| EnvLocation {
            device: path.clone(),
            offset,
            env_size: size,
            sector_size: None,
            sectors: None,
        };
        let config = UBootConfig {
            primary: location(0x100),
            redundant: redundant.then(|| location(0x100 + size as i64)),
        };
        (dir, UBootEnv::new(config), path)
    }

    #[test]
    fn single_copy_writes_in_place() {
        let (_dir, mut env, path) = store(false, 64);
        assert!(matches!(env.read(), Err(BootEnvError::Format { .. })));
        env.write(&vars(&[("slot", "a")])).unwrap();
        assert_eq!(env.read().unwrap(), vars(&[("slot", "a")]));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 0x100 + 128, "not truncated");
        assert!(
            bytes[..0x100]
                .iter()
                .chain(&bytes[0x140..])
                .all(|&b| b == 0xA5)
        );
        assert!(env.describe().ends_with("env.bin @ 0x100"));
    }

    #[test]
    fn redundant_writes_alternate_and_fall_back() {
        let (_dir, mut env, path) = store(true, 64);
        let read_flags = || {
            let bytes = std::fs::read(&path).unwrap();
            (bytes[0x104], bytes[0x144])
        };
        env.write(&vars(&[("n", "1")])).unwrap();
        // No valid copy: copy 0 counts as current, its raw flag 0xA5 plus one goes to copy 1.
        assert_eq!(read_flags(), (0xA5, 0xA6));
        env.write(&vars(&[("n", "2")])).unwrap();
        assert_eq!(read_flags(), (0xA7, 0xA6));
        assert_eq!(env.read().unwrap(), vars(&[("n", "2")]));
        // A cut during the next write leaves copy 1 half written: copy 0 still reads.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0x150] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(env.read().unwrap(), vars(&[("n", "2")]));
        // Corrupting copy 0 instead falls back to copy 1.
        bytes[0x150] ^= 0xFF;
        bytes[0x110] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(env.read().unwrap(), vars(&[("n", "1")]));
        assert!(env.describe().contains("(redundant)"));
    }

    #[test]
    fn flag_wraps_around() {
        let (_dir, mut env, path) = store(true, 64);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0x100..0x140]
            .copy_from_slice(&encode(&vars(&[("n", "old")]), 64, Some(0xFE)).unwrap());
        bytes[0x140..0x180]
            .copy_from_slice(&encode(&vars(&[("n", "new")]), 64, Some(0xFF)).unwrap());
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(env.read().unwrap(), vars(&[("n", "new")]));
        env.write(&vars(&[("n", "wrapped")])).unwrap();
        assert_eq!(std::fs::read(&path).unwrap()[0x104], 0x00);
        assert_eq!(env.read().unwrap(), vars(&[("n", "wrapped")]));
        env.write(&vars(&[("n", "after")])).unwrap();
        assert_eq!(std::fs::read(&path).unwrap()[0x144], 0x01);
        assert_eq!(env.read().unwrap(), vars(&[("n", "after")]));
    }

    #[test]
    fn too_big_leaves_the_device_alone() {
        let (_dir, mut env, path) = store(true, 16);
        let before = std::fs::read(&path).unwrap();
        let error = env
            .write(&vars(&[("name", "a value far too long")]))
            .unwrap_err();
        assert!(
            matches!(error, BootEnvError::TooBig { have: 16, .. }),
            "{error}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn waits_for_the_lock_fw_setenv_holds() {
        let (dir, env, _) = store(false, 64);
        let lock_path = dir.path().join("fw_printenv.lock");
        let mut env = env.with_lock_file(Some(lock_path.clone()));
        let held = File::create(&lock_path).unwrap();
        held.lock().unwrap();
        let writer = std::thread::spawn(move || env.write(&vars(&[("a", "1")])));
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!writer.is_finished(), "the write waits for the lock");
        drop(held);
        writer.join().unwrap().unwrap();
    }

    #[test]
    fn short_device_and_negative_offset_on_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short");
        std::fs::write(&path, [0u8; 10]).unwrap();
        let env = UBootEnv::new(UBootConfig::parse(&format!("{} 0 0x40", path.display())).unwrap());
        assert!(matches!(env.read(), Err(BootEnvError::Format { .. })));
        let env =
            UBootEnv::new(UBootConfig::parse(&format!("{} -0x40 0x40", path.display())).unwrap());
        assert!(matches!(env.read(), Err(BootEnvError::Config(_))));
        let char_device = UBootEnv::new(UBootConfig::parse("/dev/null 0 0x40").unwrap());
        assert!(matches!(char_device.read(), Err(BootEnvError::Config(_))));
        let missing = UBootEnv::new(UBootConfig::parse("/nonexistent/env 0 0x40").unwrap());
        assert!(matches!(missing.read(), Err(BootEnvError::Io { .. })));
    }

    proptest! {
        #[test]
        fn any_carriable_vars_round_trip(
            v in prop::collection::btree_map("[^=\u{0}]{1,12}", "[^\u{0}]{0,24}", 0..12),
            flag in prop::option::of(any::<u8>()),
        ) {
            let image = encode(&v, 2048, flag).unwrap();
            prop_assert_eq!(decode(&image, flag.is_some()).unwrap(), (v, flag));
        }

        #[test]
        fn any_bytes_decode_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), redundant: bool) {
            let _ = decode(&bytes, redundant);
            if bytes.len() > header_len(redundant) {
                let _ = decode(&with_crc(bytes, header_len(redundant)), redundant);
            }
        }

        #[test]
        fn any_config_text_parses_without_panic(text in "[ -~\n\t]{0,200}") {
            let _ = UBootConfig::parse(&text);
        }
    }
}
