//! The `weft` command line (clap).

use crate::rules::RuleSet;
use crate::{gomode, sdk};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "weft", version, about = "Zero-code OpenTelemetry for Go: builds your program with tracing woven in")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the go command through weft's wrapped SDK: `weft go build ./cmd/server`.
    ///
    /// Every argument goes to go untouched. `weft go run` with no
    /// OTEL_EXPORTER_OTLP_ENDPOINT set receives the program's spans itself
    /// and prints each finished trace.
    #[command(disable_help_flag = true)]
    Go {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Write a wrapped Go SDK (a GOROOT whose bin/go instruments every build).
    Sdk {
        #[arg(long)]
        out: PathBuf,
    },
    /// Receive OTLP/HTTP and print each finished trace as a tree.
    View {
        #[arg(long, default_value = "127.0.0.1:4318")]
        listen: String,
        /// Print every attribute of each span, one per line under it.
        #[arg(long, short = 'a')]
        attributes: bool,
    },
    /// Write weft.lock (next to go.mod): the hash pins of every package
    /// weft weaves into these packages (default ./...). Check a build
    /// against it with `weft go build --locked` or WEFT_LOCKED=1.
    Lock {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        packages: Vec<String>,
    },
    /// Print what weft wove into a binary (works on stripped binaries).
    Inspect { binary: PathBuf },
    /// Run a Go binary with eBPF probes attached, no source needed:
    /// `weft run --ebpf -- ./server ARGS...`.
    Run {
        /// Trace with eBPF uprobes (the only mode so far).
        #[arg(long)]
        ebpf: bool,
        /// Write a W3C traceparent into the program's outgoing HTTP/1
        /// requests (bpf_probe_write_user: changes the live process's
        /// memory; the kernel logs a warning; refused under lockdown).
        #[arg(long)]
        write_traceparent: bool,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<OsString>,
    },
    /// Attach eBPF probes to a running Go process until it exits.
    Attach {
        #[arg(long)]
        pid: u32,
        /// As for `weft run --ebpf --write-traceparent`.
        #[arg(long)]
        write_traceparent: bool,
    },
    /// Print the eBPF path's pinned struct-offsets table with the entries
    /// of these reference builds (Go binaries with DWARF, one per Go
    /// release; e.g. tests/go/ebpf built with each toolchain), for
    /// bpf/src/goelf/offsets_table.json.
    EbpfOffsets {
        #[arg(required = true)]
        binaries: Vec<PathBuf>,
    },
    /// The rule set.
    Rules {
        #[command(subcommand)]
        cmd: RulesCmd,
    },
}

#[derive(Subcommand)]
enum RulesCmd {
    /// Every rule: id, target package, versions, hash.
    List,
    /// One rule in full.
    Show { id: String },
    /// Validate a folder of user rules.
    Check { dir: PathBuf },
}

pub fn main(_argv0: OsString, args: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(std::iter::once(OsString::from("weft")).chain(args)) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("weft: {e:#}");
            1
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Go { args } => go(args),
        Cmd::Run { ebpf: false, .. } => anyhow::bail!("weft run needs --ebpf (to build with tracing woven in, use weft go run)"),
        Cmd::Run { ebpf: true, args, write_traceparent } => weft_bpf::run_cmd_with(args, weft_bpf::Options { write_traceparent, ..Default::default() }),
        Cmd::Attach { pid, write_traceparent } => weft_bpf::attach_cmd_with(pid, weft_bpf::Options { write_traceparent, ..Default::default() }),
        Cmd::Sdk { out } => {
            sdk::create(&out)?;
            println!("wrapped Go SDK written to {}; use {}/bin/go like go", out.display(), out.display());
            Ok(0)
        }
        Cmd::View { listen, attributes } => crate::view::serve(&listen, attributes),
        Cmd::Rules { cmd } => rules(cmd),
        Cmd::Inspect { binary } => crate::inspect::run(&binary),
        Cmd::Lock { packages } => lock(packages),
        Cmd::EbpfOffsets { binaries } => {
            let (table, notes) = weft_bpf::goelf::offsets::table_from_builds(&binaries)?;
            for n in notes {
                eprintln!("weft: {n}");
            }
            print!("{table}");
            Ok(0)
        }
    }
}

fn go(args: Vec<OsString>) -> Result<i32> {
    let root = sdk::ensure_cached()?;
    let is_run = args.first().is_some_and(|a| a == "run");
    let has_endpoint = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let mut cmd = gomode::command(&root, args)?;
    if is_run && !has_endpoint && !disabled {
        return crate::view::run_with_receiver(cmd);
    }
    let err = cmd.exec();
    Err(err).context("running the go command")
}

fn lock(packages: Vec<String>) -> Result<i32> {
    let root = sdk::ensure_cached()?;
    let info = sdk::read_info(&root)?;
    let rules = RuleSet::load()?;
    let mut args = vec!["build".to_string()];
    if packages.is_empty() {
        args.push("./...".into());
    }
    args.extend(packages);
    let plan = gomode::plan(&root, &info.real_goroot.join("bin/go"), &rules, &info, &args)?;
    let lock = crate::lock::compute(&plan, &rules, &info)?;
    let path = crate::lock::path()?;
    crate::lock::write(&lock, &path)?;
    println!("wrote {}: {} woven packages, rule set {}", path.display(), lock.packages.len(), &lock.rule_set[..16]);
    Ok(0)
}

fn rules(cmd: RulesCmd) -> Result<i32> {
    match cmd {
        RulesCmd::List => {
            let rs = RuleSet::load()?;
            println!("rule set {}", rs.hash);
            for r in &rs.rules {
                println!(
                    "{:<24} {:<28} {:<10} {}",
                    r.id,
                    r.package,
                    r.versions.as_deref().unwrap_or("any"),
                    &r.hash[..16]
                );
            }
            Ok(0)
        }
        RulesCmd::Show { id } => {
            let rs = RuleSet::load()?;
            let r = rs.rules.iter().find(|r| r.id == id).with_context(|| format!("no rule {id:?} (see `weft rules list`)"))?;
            println!("id:       {}\norigin:   {}\npackage:  {}\nversions: {}\nhash:     {}", r.id, r.origin, r.package, r.versions.as_deref().unwrap_or("any"), r.hash);
            if !r.description.is_empty() {
                println!("about:    {}", r.description);
            }
            for f in &r.functions {
                let recv = f.recv.as_deref().map(|r| format!("({r}).")).unwrap_or_default();
                println!("hook:     {recv}{} {}  before={} after={}", f.func, f.signature, f.before, f.after.as_deref().unwrap_or("-"));
            }
            for s in &r.struct_fields {
                println!("field:    {}.{} {}", s.struct_name, s.name, s.ty);
            }
            for (name, _) in &r.file_contents {
                println!("adds:     {name}");
            }
            Ok(0)
        }
        RulesCmd::Check { dir } => {
            let rs = RuleSet::load_with(Some(&dir))?;
            println!("ok: {} rules, rule set {}", rs.rules.len(), rs.hash);
            Ok(0)
        }
    }
}
