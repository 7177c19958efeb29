//! Rewrites Go source by byte ranges, found with tree-sitter-go.
//!
//! Nothing is re-printed: edits insert text into the original bytes, and no
//! edit adds a newline, so every original line keeps its number. A `//line`
//! directive at the top maps the rewritten file back to the original path,
//! so stack traces, coverage and debuggers point at the user's own lines.
//!
//! A function hook names unnamed (or `_`) parameters and results, then
//! inserts on the line of the body's `{`:
//! `if s, ok := before(&recv, &p...); ok { defer after(s, &r...) };`

use crate::rules::{FuncHook, StructField};
use anyhow::{bail, Result};
use tree_sitter::{Node, Parser, Tree};

/// A function's parameter and result types, normalized.
#[derive(Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<String>,
    pub results: Vec<String>,
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "func({})", self.params.join(", "))?;
        match self.results.len() {
            0 => Ok(()),
            1 => write!(f, " {}", self.results[0]),
            _ => write!(f, " ({})", self.results.join(", ")),
        }
    }
}

fn parser() -> Parser {
    let mut p = Parser::new();
    p.set_language(&tree_sitter_go::LANGUAGE.into()).expect("tree-sitter-go grammar");
    p
}

pub fn parse(src: &[u8]) -> Option<Tree> {
    parser().parse(src, None)
}

/// Parses a pinned signature such as `func(ctx context.Context, q string) (*Rows, error)`.
pub fn parse_signature(sig: &str) -> Result<Signature> {
    let src = format!("package p\ntype _ {sig}\n");
    let tree = parse(src.as_bytes()).ok_or_else(|| anyhow::anyhow!("parser failed"))?;
    if tree.root_node().has_error() {
        bail!("syntax error");
    }
    let mut found = None;
    walk(tree.root_node(), &mut |n| {
        if found.is_none() && n.kind() == "function_type" {
            found = Some(n);
        }
    });
    let ft = found.ok_or_else(|| anyhow::anyhow!("not a func type"))?;
    let b = src.as_bytes();
    let params = ft.child_by_field_name("parameters").map(|p| list_types(p, b)).unwrap_or_default();
    let results = match ft.child_by_field_name("result") {
        None => vec![],
        Some(r) if r.kind() == "parameter_list" => list_types(r, b),
        Some(r) => vec![norm(text(r, b))],
    };
    Ok(Signature { params, results })
}

fn walk<'a>(n: Node<'a>, f: &mut impl FnMut(Node<'a>)) {
    f(n);
    let mut c = n.walk();
    for ch in n.children(&mut c) {
        walk(ch, f);
    }
}

fn text<'a>(n: Node, src: &'a [u8]) -> &'a str {
    std::str::from_utf8(&src[n.byte_range()]).unwrap_or("")
}

/// Collapses white space: kept only between two identifier characters.
pub fn norm(s: &str) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space {
            let prev_word = out.chars().last().is_some_and(|p| p.is_alphanumeric() || p == '_');
            if prev_word && (c.is_alphanumeric() || c == '_') {
                out.push(' ');
            }
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// One type per parameter (grouped names expanded).
fn list_types(list: Node, src: &[u8]) -> Vec<String> {
    params(list, src).into_iter().map(|p| p.ty).collect()
}

struct Param<'a> {
    decl: Node<'a>,
    name: Option<Node<'a>>,
    ty: String,
}

fn params<'a>(list: Node<'a>, src: &[u8]) -> Vec<Param<'a>> {
    let mut out = Vec::new();
    let mut c = list.walk();
    for decl in list.named_children(&mut c) {
        let variadic = decl.kind() == "variadic_parameter_declaration";
        if decl.kind() != "parameter_declaration" && !variadic {
            continue;
        }
        let Some(tn) = decl.child_by_field_name("type") else { continue };
        let ty = if variadic { format!("...{}", norm(text(tn, src))) } else { norm(text(tn, src)) };
        let mut cc = decl.walk();
        let names: Vec<Node> = decl.children_by_field_name("name", &mut cc).collect();
        if names.is_empty() {
            out.push(Param { decl, name: None, ty });
        } else {
            for n in names {
                out.push(Param { decl, name: Some(n), ty: ty.clone() });
            }
        }
    }
    out
}

/// A pending byte-range edit.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// What happened to one file.
#[derive(Debug, Default)]
pub struct FileResult {
    /// The rewritten bytes, if anything changed.
    pub output: Option<Vec<u8>>,
    /// Indexes (into the hooks given) of the hooks woven here.
    pub applied: Vec<usize>,
    /// Indexes of the struct fields added here.
    pub fields_added: Vec<usize>,
    /// One line per hook whose function was found but did not fit.
    pub warnings: Vec<String>,
    /// Indexes of those hooks.
    pub mismatched: Vec<usize>,
    /// tree-sitter found a syntax error: nothing was rewritten.
    pub syntax_error: bool,
}

/// A hook to weave, with the id of the rule that asks for it.
pub struct HookRef<'a> {
    pub rule_id: &'a str,
    pub hook: &'a FuncHook,
}

/// Weaves `hooks` and `fields` into one file. `line_path` is the path the
/// `//line` directive names (the file as the compiler was given it).
pub fn weave_file(src: &[u8], line_path: &str, hooks: &[HookRef], fields: &[&StructField]) -> FileResult {
    let mut res = FileResult::default();
    let Some(tree) = parse(src) else {
        res.syntax_error = true;
        return res;
    };
    let root = tree.root_node();
    // A declaration the grammar cannot read (a syntax error, or syntax
    // newer than tree-sitter-go knows, such as Go 1.26's new(expr)) is
    // left alone; if it may be one the rules change, the whole file is.
    let wanted = |n: Node| {
        let t = text(n, src);
        hooks.iter().any(|h| t.contains(h.hook.func.as_str())) || fields.iter().any(|f| t.contains(f.struct_name.as_str()))
    };
    let mut edits: Vec<Edit> = Vec::new();
    let mut c = root.walk();
    for decl in root.children(&mut c) {
        if decl.has_error() || decl.is_missing() {
            if wanted(decl) {
                res.syntax_error = true;
                return res;
            }
            continue;
        }
        match decl.kind() {
            "function_declaration" | "method_declaration" => {
                weave_func(decl, src, hooks, &mut edits, &mut res);
            }
            "type_declaration" => add_fields(decl, src, fields, &mut edits, &mut res),
            _ => {}
        }
    }
    if edits.is_empty() {
        return res;
    }
    edits.sort_by(|a, b| b.start.cmp(&a.start).then(b.end.cmp(&a.end)));
    let mut out = src.to_vec();
    for e in edits {
        out.splice(e.start..e.end, e.text.into_bytes());
    }
    let mut full = format!("//line {line_path}:1\n").into_bytes();
    full.extend(out);
    res.output = Some(full);
    res
}

fn receiver_type(decl: Node, src: &[u8]) -> Option<String> {
    let recv = decl.child_by_field_name("receiver")?;
    params(recv, src).into_iter().next().map(|p| p.ty)
}

fn weave_func(decl: Node, src: &[u8], hooks: &[HookRef], edits: &mut Vec<Edit>, res: &mut FileResult) {
    let Some(name) = decl.child_by_field_name("name") else { return };
    let name = text(name, src);
    let recv = receiver_type(decl, src);
    let matching: Vec<usize> = hooks
        .iter()
        .enumerate()
        .filter(|(_, h)| h.hook.func == name && h.hook.recv.as_deref().map(norm) == recv)
        .map(|(i, _)| i)
        .collect();
    if matching.is_empty() {
        return;
    }
    let Some(body) = decl.child_by_field_name("body") else { return };
    let plist = decl.child_by_field_name("parameters");
    let found = Signature {
        params: plist.map(|p| list_types(p, src)).unwrap_or_default(),
        results: match decl.child_by_field_name("result") {
            None => vec![],
            Some(r) if r.kind() == "parameter_list" => list_types(r, src),
            Some(r) => vec![norm(text(r, src))],
        },
    };
    let qual = match &recv {
        Some(r) => format!("({r}).{name}"),
        None => name.to_string(),
    };
    let mut fitting = Vec::new();
    for i in matching {
        let h = &hooks[i];
        match parse_signature(&h.hook.signature) {
            Ok(want) if want == found => fitting.push(i),
            Ok(want) => {
                res.mismatched.push(i);
                res.warnings.push(format!(
                    "weft: rule {}: {} has signature {} but the rule expects {}; not instrumented",
                    h.rule_id, qual, found, want
                ))
            }
            Err(e) => res.warnings.push(format!("weft: rule {}: bad signature: {e}", h.rule_id)),
        }
    }
    if fitting.is_empty() {
        return;
    }
    // Name everything the hooks take the address of.
    let mut args = Vec::new();
    if let Some(r) = decl.child_by_field_name("receiver") {
        args.extend(name_list(r, src, "__weft_recv", edits));
    }
    if let Some(p) = plist {
        args.extend(name_list(p, src, "__weft_p", edits));
    }
    let mut results = Vec::new();
    match decl.child_by_field_name("result") {
        None => {}
        Some(r) if r.kind() == "parameter_list" => results.extend(name_list(r, src, "__weft_r", edits)),
        Some(r) => {
            edits.push(Edit { start: r.start_byte(), end: r.end_byte(), text: format!("(__weft_r0 {})", text(r, src)) });
            results.push("__weft_r0".to_string());
        }
    }
    let ptrs = |names: &[String]| names.iter().map(|n| format!("&{n}")).collect::<Vec<_>>().join(", ");
    let mut tramp = String::new();
    for (k, &i) in fitting.iter().enumerate() {
        let h = hooks[i].hook;
        match &h.after {
            Some(after) => {
                let mut after_args = vec![format!("__weft_s{k}")];
                if !results.is_empty() {
                    after_args.push(ptrs(&results));
                }
                tramp.push_str(&format!(
                    " if __weft_s{k}, __weft_ok{k} := {}({}); __weft_ok{k} {{ defer {}({}) }};",
                    h.before,
                    ptrs(&args),
                    after,
                    after_args.join(", ")
                ));
            }
            None => tramp.push_str(&format!(" {}({});", h.before, ptrs(&args))),
        }
        res.applied.push(i);
    }
    let open = body.start_byte() + 1; // just after `{`
    edits.push(Edit { start: open, end: open, text: tramp });
}

/// Names every parameter in `list`, renaming `_` and filling in missing
/// names, and returns the names in order.
fn name_list(list: Node, src: &[u8], prefix: &str, edits: &mut Vec<Edit>) -> Vec<String> {
    let mut names = Vec::new();
    for (i, p) in params(list, src).into_iter().enumerate() {
        let fresh = format!("{prefix}{i}");
        match p.name {
            Some(n) if text(n, src) != "_" => names.push(text(n, src).to_string()),
            Some(n) => {
                edits.push(Edit { start: n.start_byte(), end: n.end_byte(), text: fresh.clone() });
                names.push(fresh);
            }
            None => {
                let at = p.decl.start_byte();
                edits.push(Edit { start: at, end: at, text: format!("{fresh} ") });
                names.push(fresh);
            }
        }
    }
    names
}

fn add_fields(decl: Node, src: &[u8], fields: &[&StructField], edits: &mut Vec<Edit>, res: &mut FileResult) {
    let mut c = decl.walk();
    for spec in decl.named_children(&mut c) {
        if spec.kind() != "type_spec" {
            continue;
        }
        let (Some(name), Some(ty)) = (spec.child_by_field_name("name"), spec.child_by_field_name("type")) else {
            continue;
        };
        if ty.kind() != "struct_type" {
            continue;
        }
        for (i, f) in fields.iter().enumerate() {
            if f.struct_name != text(name, src) {
                continue;
            }
            let Some(list) = ty.named_child(0) else { continue };
            let close = list.end_byte() - 1; // the `}`
            // A `;` is needed only after a field on the same line as `}`.
            let before = src[..close].iter().rev().find(|b| **b != b' ' && **b != b'\t');
            let sep = if matches!(before, Some(b'\n') | Some(b'{') | Some(b';')) { "" } else { "; " };
            edits.push(Edit { start: close, end: close, text: format!("{sep}{} {}; ", f.name, f.ty) });
            res.fields_added.push(i);
        }
    }
}

/// The name in a Go file's package clause.
pub fn package_name(src: &[u8]) -> Option<String> {
    let tree = parse(src)?;
    let root = tree.root_node();
    let mut c = root.walk();
    let clause = root.named_children(&mut c).find(|n| n.kind() == "package_clause")?;
    let id = clause.named_child(0)?;
    Some(text(id, src).to_string())
}

/// The import paths a Go file imports (for checking a rule's added files).
pub fn imports(src: &[u8]) -> Result<Vec<String>> {
    let tree = parse(src).ok_or_else(|| anyhow::anyhow!("parser failed"))?;
    if tree.root_node().has_error() {
        bail!("syntax error");
    }
    let mut out = Vec::new();
    walk(tree.root_node(), &mut |n| {
        if n.kind() == "import_spec" {
            if let Some(p) = n.child_by_field_name("path") {
                out.push(text(p, src).trim_matches(|c| c == '"' || c == '`').to_string());
            }
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(func: &str, recv: Option<&str>, sig: &str, after: bool) -> FuncHook {
        FuncHook {
            func: func.into(),
            recv: recv.map(Into::into),
            signature: sig.into(),
            before: "weftBefore".into(),
            after: after.then(|| "weftAfter".into()),
        }
    }

    #[test]
    fn signature_normalizes() {
        let s = parse_signature("func(ctx, tx context.Context, q string, args ...any) (*Rows, error)").unwrap();
        assert_eq!(s.params, ["context.Context", "context.Context", "string", "...any"]);
        assert_eq!(s.results, ["*Rows", "error"]);
        assert_eq!(parse_signature("func(c chan  int) error").unwrap().to_string(), "func(chan int) error");
    }

    #[test]
    fn names_unnamed_params_and_results_keeping_lines() {
        let src = b"package p\n\nfunc (T) F(int, string) (int, error) {\n\treturn 1, nil\n}\n";
        let h = hook("F", Some("T"), "func(int, string) (int, error)", true);
        let r = weave_file(src, "/src/p/f.go", &[HookRef { rule_id: "r", hook: &h }], &[]);
        let out = String::from_utf8(r.output.unwrap()).unwrap();
        assert_eq!(
            out,
            "//line /src/p/f.go:1\npackage p\n\nfunc (__weft_recv0 T) F(__weft_p0 int, __weft_p1 string) (__weft_r0 int, __weft_r1 error) { if __weft_s0, __weft_ok0 := weftBefore(&__weft_recv0, &__weft_p0, &__weft_p1); __weft_ok0 { defer weftAfter(__weft_s0, &__weft_r0, &__weft_r1) };\n\treturn 1, nil\n}\n"
        );
        assert_eq!(out.lines().count(), String::from_utf8_lossy(src).lines().count() + 1);
    }

    #[test]
    fn blank_names_are_renamed() {
        let src = b"package p\nfunc G(_ int, b string) (_ error) { return nil }\n";
        let h = hook("G", None, "func(int, string) error", true);
        let r = weave_file(src, "g.go", &[HookRef { rule_id: "r", hook: &h }], &[]);
        let out = String::from_utf8(r.output.unwrap()).unwrap();
        assert!(out.contains("func G(__weft_p0 int, b string) (__weft_r0 error) {"), "{out}");
        assert!(out.contains("weftBefore(&__weft_p0, &b)"), "{out}");
    }

    #[test]
    fn single_result_gets_parens() {
        let src = b"package p\nfunc G(a int) error { return nil }\n";
        let h = hook("G", None, "func(int) error", true);
        let r = weave_file(src, "g.go", &[HookRef { rule_id: "r", hook: &h }], &[]);
        let out = String::from_utf8(r.output.unwrap()).unwrap();
        assert!(out.contains("func G(a int) (__weft_r0 error) { if __weft_s0"), "{out}");
    }

    #[test]
    fn changed_signature_is_skipped_with_warning() {
        let src = b"package p\nfunc G(a int, b int) error { return nil }\n";
        let h = hook("G", None, "func(int) error", true);
        let r = weave_file(src, "g.go", &[HookRef { rule_id: "sql.query", hook: &h }], &[]);
        assert!(r.output.is_none());
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("sql.query") && r.warnings[0].contains("func(int, int) error"), "{:?}", r.warnings);
    }

    #[test]
    fn syntax_error_is_left_alone() {
        let src = b"package p\nfunc G( {\n";
        let h = hook("G", None, "func()", false);
        let r = weave_file(src, "g.go", &[HookRef { rule_id: "r", hook: &h }], &[]);
        assert!(r.syntax_error && r.output.is_none());
    }

    #[test]
    fn unreadable_declarations_elsewhere_do_not_stop_weaving() {
        // Go 1.26's new(expr) is past tree-sitter-go 0.25.
        let src = b"package p\nvar k = new(\"key\")\nfunc G() {}\n";
        let h = hook("G", None, "func()", false);
        let r = weave_file(src, "g.go", &[HookRef { rule_id: "r", hook: &h }], &[]);
        assert!(!r.syntax_error && r.output.is_some(), "{:?}", r.warnings);
        let out = String::from_utf8(r.output.unwrap()).unwrap();
        assert!(out.contains("var k = new(\"key\")\n"), "{out}");
        // Nothing to weave there: no edit, no error.
        let r = weave_file(src, "g.go", &[], &[]);
        assert!(!r.syntax_error && r.output.is_none());
    }

    #[test]
    fn struct_field_added_on_closing_line() {
        let src = b"package p\ntype DB struct {\n\ta int\n}\n";
        let f = StructField { struct_name: "DB".into(), name: "weftX".into(), ty: "string".into() };
        let r = weave_file(src, "d.go", &[], &[&f]);
        let out = String::from_utf8(r.output.unwrap()).unwrap();
        assert_eq!(out, "//line d.go:1\npackage p\ntype DB struct {\n\ta int\nweftX string; }\n");
        let r = weave_file(b"package p\ntype DB struct{ a int }\ntype E struct{}\n", "d.go", &[], &[&f, &StructField { struct_name: "E".into(), ..f.clone() }]);
        let out = String::from_utf8(r.output.unwrap()).unwrap();
        assert_eq!(out, "//line d.go:1\npackage p\ntype DB struct{ a int ; weftX string; }\ntype E struct{weftX string; }\n");
    }
}
