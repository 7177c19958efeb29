//! Snapshot tests of the source each built-in rule rewrites, woven into the
//! real standard library of the Go on PATH. Only changed lines are kept, so
//! the snapshots stay readable and stable across patch releases.

use std::path::PathBuf;
use std::process::Command;
use weft::rules::RuleSet;
use weft::weave::{weave_file, HookRef};

fn goroot() -> PathBuf {
    let out = Command::new("go").args(["env", "GOROOT"]).output().expect("go on PATH");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// "file:line" then the old and new line, for every line the rule changed.
fn changed_lines(rule_id: &str) -> String {
    let rs = RuleSet::load_with(None).unwrap();
    let rule = rs.rules.iter().find(|r| r.id == rule_id).unwrap();
    let hooks: Vec<HookRef> = rule.functions.iter().map(|h| HookRef { rule_id: &rule.id, hook: h }).collect();
    let fields: Vec<_> = rule.struct_fields.iter().collect();
    let dir = goroot().join("src").join(&rule.package);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "go") && !p.to_string_lossy().ends_with("_test.go"))
        .collect();
    files.sort();
    let mut out = String::new();
    let mut applied = 0;
    for f in files {
        let src = std::fs::read(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let res = weave_file(&src, &name, &hooks, &fields);
        assert!(res.warnings.is_empty(), "{:?}", res.warnings);
        applied += res.applied.len() + res.fields_added.len();
        let Some(new) = res.output else { continue };
        let new = String::from_utf8(new).unwrap();
        let mut new_lines = new.lines();
        assert_eq!(new_lines.next().unwrap(), format!("//line {name}:1"));
        for (i, (a, b)) in String::from_utf8(src).unwrap().lines().zip(new_lines).enumerate() {
            if a != b {
                out.push_str(&format!("{name}:{}\n- {}\n+ {}\n", i + 1, a.trim(), b.trim()));
            }
        }
    }
    assert_eq!(applied, rule.functions.len() + rule.struct_fields.len(), "every hook and field of {rule_id} applies");
    out
}

#[test]
fn nethttp_server() {
    insta::assert_snapshot!(changed_lines("nethttp.server"));
}

#[test]
fn nethttp_client() {
    insta::assert_snapshot!(changed_lines("nethttp.client"));
}

#[test]
fn databasesql() {
    insta::assert_snapshot!(changed_lines("databasesql"));
}

#[test]
fn goroutine() {
    insta::assert_snapshot!(changed_lines("goroutine"));
}

#[test]
fn log() {
    insta::assert_snapshot!(changed_lines("log"));
}

#[test]
fn slog() {
    insta::assert_snapshot!(changed_lines("slog"));
}
