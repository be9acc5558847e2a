//! Bytes of an uploaded XLSX → the package check (zip bombs, broken zips) and calamine, as the
//! import reads it. Nothing may panic; a package the check passes stays within its limits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use services::exchange::sheet;

fuzz_target!(|data: &[u8]| {
    let checked = sheet::check_package(data, &sheet::XLSX_LIMITS);
    match sheet::read_xlsx(data, "活动") {
        Ok(sh) => {
            assert!(checked.is_ok(), "read only what the check passes");
            assert!(sh.header.len() <= sheet::MAX_COLUMNS as usize);
            for (_, cells) in &sh.rows {
                assert!(cells.len() <= sheet::MAX_COLUMNS as usize);
                for c in cells {
                    let _ = c.display();
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
