//! Prints pinned-table entries (`src/goelf/offsets_table.json`) from the
//! DWARF of reference builds: one Go program importing net/http and
//! database/sql, built with each supported Go release.
//!
//!   cargo run -p weft-bpf --example gen-offsets -- BINARY... > table.json
use std::collections::BTreeMap;

fn main() -> anyhow::Result<()> {
    let mut table = weft_bpf::goelf::offsets::pinned_table();
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path)?;
        let file = object::File::parse(&*data)?;
        let bi = weft_bpf::goelf::buildinfo::find_and_parse(&data)?.ok_or_else(|| anyhow::anyhow!("{path}: not Go"))?;
        let (maj, min) = bi.go_release().ok_or_else(|| anyhow::anyhow!("{path}: bad Go version"))?;
        let entry: BTreeMap<String, u64> = weft_bpf::goelf::offsets::entry_from_dwarf(&file)?;
        eprintln!("{path}: {} ({} fields)", bi.go_version, entry.len());
        table.insert(format!("{maj}.{min}"), entry);
    }
    println!("{}", serde_json::to_string_pretty(&table)?);
    Ok(())
}
