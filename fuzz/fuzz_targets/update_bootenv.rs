//! Boot-loader environments as the updater reads them (`mamori_update::bootenv`: U-Boot's
//! image, GRUB's block, the file form) and the A/B state read from them (`slots`).
//!
//! Checked, besides "never panics":
//! - whatever decodes, encodes back to bytes that decode to the same variables (U-Boot, in
//!   an image of the same size, with and without the flag byte; GRUB; the file form);
//! - the boot state read from any variables always boots some slot when its order names
//!   one, and never a slot outside the order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_update::bootenv::{file, grub, uboot};
use mamori_update::slots::BootState;

fuzz_target!(|input: &[u8]| {
    for redundant in [false, true] {
        if let Ok((vars, flag)) = uboot::decode(input, redundant) {
            let image = uboot::encode(&vars, input.len(), flag).expect("decoded variables fit");
            let (again, _) = uboot::decode(&image, redundant).expect("re-encoded image decodes");
            assert_eq!(again, vars);
            state(&vars);
        }
    }
    if let Ok(vars) = grub::decode(input) {
        let block = grub::encode(&vars).expect("decoded variables fit");
        assert_eq!(
            grub::decode(&block).expect("re-encoded block decodes"),
            vars
        );
        state(&vars);
    }
    if let Ok(text) = std::str::from_utf8(input)
        && let Ok(vars) = file::decode(text)
    {
        let again = file::encode(&vars).expect("decoded variables encode");
        assert_eq!(file::decode(&again).expect("re-encoded file decodes"), vars);
        state(&vars);
    }
});

fn state(vars: &mamori_update::bootenv::Vars) {
    if let Ok(mut s) = BootState::from_vars(vars) {
        let order = s.order.clone();
        for _ in 0..8 {
            match s.boot() {
                Some(slot) => assert!(order.contains(&slot), "booted a slot outside the order"),
                None => assert!(order.is_empty()),
            }
        }
    }
}
