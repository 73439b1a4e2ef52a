//! What the relay reads of the board it runs on: its RAM, to size the memory budget.

/// The board's RAM in bytes (`MemTotal` of `/proc/meminfo`), if it can be read; read
/// once (each settings change sizes the budget again, and the RAM does not change).
pub fn total_ram() -> Option<u64> {
    static RAM: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *RAM.get_or_init(|| mem_total(&std::fs::read_to_string("/proc/meminfo").ok()?))
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        None => Some(n),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemTotal:        1013248 kB\nMemFree:          500000 kB\n";
        assert_eq!(mem_total(text), Some(1013248 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total("MemTotal: lots kB\n"), None);
        assert_eq!(mem_total("MemTotal: 5 MB\n"), None);
        assert!(total_ram().is_some_and(|r| r > 64 << 20));
    }
}
