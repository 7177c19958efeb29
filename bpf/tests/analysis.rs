//! Go binary analysis on real builds of tests/go/ebpf (plain `go build`:
//! normal, stripped `-s -w`, PIE). Needs only Go; skipped, saying so, without it.

mod fixture;

use fixture::Variant;
use libtest_mimic::{Arguments, Failed, Trial};
use weft_bpf::goelf::{pclntab, GoBinary, Source};

fn check(v: Variant) -> Result<(), Failed> {
    let path = fixture::build(v)?;
    let bin = GoBinary::open(&path).map_err(|e| format!("{e:#}"))?;
    assert_eq!(bin.build.go_version, fixture::go_version());
    assert_eq!(bin.build.path, "example.com/weft-ebpf-fixture");
    assert!(bin.build.dep("github.com/go-sql-driver/mysql").is_some(), "{:?}", bin.build.deps);
    assert_eq!(bin.stripped, v == Variant::Stripped);
    assert_eq!(bin.pie, v == Variant::Pie);
    assert!(bin.entry_offset("runtime.goexit1").is_ok());
    for f in ["runtime.newproc1", "net/http.serverHandler.ServeHTTP", "net/http.(*Transport).roundTrip", "database/sql.(*DB).queryDC"] {
        let entry = bin.entry_offset(f).map_err(|e| format!("{e:#}"))?;
        let rets = bin.ret_offsets(f).map_err(|e| format!("{e:#}"))?;
        assert!(rets.iter().all(|r| *r > entry), "{f}: RETs {rets:?} before entry {entry:#x}");
    }
    if v == Variant::Stripped {
        // Pinned offsets must equal what DWARF says for this Go release.
        let normal = GoBinary::open(&fixture::build(Variant::Normal)?).map_err(|e| format!("{e:#}"))?;
        assert!(matches!(bin.offsets.source, Source::Pinned(_)));
        assert_eq!(normal.offsets.source, Source::Dwarf);
        for (k, v) in &bin.offsets.by_name {
            assert_eq!(normal.offsets.get(k), Some(*v), "pinned offset of {k} differs from DWARF: regenerate offsets_table.json");
        }
    }
    if v != Variant::Stripped {
        // Type names from the runtime's type data (used when stripped) agree
        // with .symtab's itab symbols (PIE: through its relocations).
        let syms = bin.itab_symbols();
        assert!(syms.len() > 50, "{} itabs", syms.len());
        for (addr, name) in syms {
            let want = weft_bpf::spans::errmsg::type_string(name.split(',').next().unwrap());
            assert_eq!(bin.itab_type_from_runtime(*addr).as_deref(), Some(want.as_str()), "itab {name} at {addr:#x}");
        }
    }
    if v == Variant::Normal {
        // `weft ebpf-offsets` on this build changes nothing in the pinned table.
        let (table, notes) = weft_bpf::goelf::offsets::table_from_builds(std::slice::from_ref(&path)).map_err(|e| format!("{e:#}"))?;
        assert!(notes.len() == 1 && notes[0].ends_with("(unchanged)"), "{notes:?}: regenerate offsets_table.json");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&table)?, serde_json::from_str::<serde_json::Value>(include_str!("../src/goelf/offsets_table.json"))?);
    }
    if v == Variant::Normal {
        // The pclntab reader agrees with .symtab on every function of the same binary.
        use object::{Object, ObjectSection};
        let data = std::fs::read(&path)?;
        let file = object::File::parse(&*data)?;
        let text = file.section_by_name(".text").unwrap().address();
        let tab = file.section_by_name(".gopclntab").unwrap().data()?;
        let funcs = pclntab::read(tab, text).map_err(|e| format!("{e:#}"))?;
        assert!(funcs.len() > 1000, "{} functions", funcs.len());
        // (A few names occur twice in .symtab, e.g. generic helpers; the
        // probed functions must match exactly.)
        let (mut same, mut differ) = (0, Vec::new());
        for f in &funcs {
            if let Some(s) = bin.func(&f.name) {
                if s.addr == f.entry {
                    same += 1;
                } else {
                    differ.push(f.name.clone());
                }
            }
        }
        assert!(differ.len() * 100 < same, "{same} agree, {} differ: {differ:?}", differ.len());
        for name in ["runtime.newproc1", "runtime.goexit1", "net/http.serverHandler.ServeHTTP", "net/http.(*Transport).roundTrip"] {
            let f = funcs.iter().find(|f| f.name == name).unwrap();
            assert_eq!(bin.func(name).unwrap().addr, f.entry, "{name}");
        }
    }
    Ok(())
}

fn not_go() -> Result<(), Failed> {
    let err = GoBinary::open(std::path::Path::new("/bin/sh")).unwrap_err().to_string();
    assert!(err.contains("is not a Go program"), "{err}");
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("x");
    std::fs::write(&p, "#!/bin/sh\n")?;
    let err = GoBinary::open(&p).unwrap_err().to_string();
    assert!(err.contains("is not an ELF executable"), "{err}");
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let missing = fixture::have_go();
    if let Some(m) = &missing {
        println!("SKIPPED Go binary analysis tests: missing {m}");
    }
    let mut trials: Vec<Trial> = Variant::ALL
        .iter()
        .map(|&v| Trial::test(format!("analysis_{}", v.name()), move || check(v)).with_ignored_flag(missing.is_some()))
        .collect();
    trials.push(Trial::test("not_a_go_program", not_go));
    libtest_mimic::run(&args, trials).exit();
}
