//! `mamori_settings::from_toml_str` on arbitrary UTF-8: parsing, strict
//! deserialisation and whole-configuration validation.
//!
//! Checked, besides "never panics" (and libFuzzer's limits: 10 s and 2 GiB per input in
//! run.sh): a configuration that loads is written back as TOML and loads again to the
//! same value (when TOML can carry it: integers over `i64::MAX` cannot be written), so
//! that what `mamori` prints or saves is what it runs with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_settings::from_toml_str;

// Found by this target and fixed: a `log.level` field filter (`[{f=a....b}]`) was
// compiled as a regular expression in time and memory exponential in its length.

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = from_toml_str(text) else {
        return;
    };
    let Ok(written) = toml::to_string(&config) else {
        return;
    };
    match from_toml_str(&written) {
        Ok(again) => assert_eq!(config, again, "changed when written back:\n{written}"),
        Err(e) => panic!("written back, no longer loads: {e}\n{written}"),
    }
});
