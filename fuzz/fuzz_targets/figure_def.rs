//! Text → a figure definition (the JSON kept in `figure_defs.spec` and the demo program's
//! definitions), its checks, and back: what parses re-serializes to JSON that parses to the
//! same definition.

#![no_main]

use domain::figures::{FigureDef, Spec};
use domain::Entity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(def) = serde_json::from_str::<FigureDef>(text) {
        let _ = def.check();
        let _ = def.columns();
        let json = serde_json::to_string(&def).expect("a definition serializes");
        let back: FigureDef = serde_json::from_str(&json).expect("what serialized parses");
        assert_eq!(back, def);
    }
    if let Ok(spec) = serde_json::from_str::<Spec>(text) {
        let json = serde_json::to_string(&spec).expect("a spec serializes");
        let back: Spec = serde_json::from_str(&json).expect("what serialized parses");
        assert_eq!(back, spec);
    }
});
