//! Go binary analysis: what weft needs to put uprobes on a Go program it
//! has no source for.
//!
//! * [`buildinfo`]: Go version and module versions.
//! * function addresses from `.symtab` ([`object`]), or from [`pclntab`]
//!   when the binary is stripped;
//! * [`rets`]: the RET instructions of a function (return probe sites);
//! * [`dwarf`] and [`offsets`]: struct field offsets, from DWARF or the
//!   pinned per-release table.
//!
//! Addresses are link-time virtual addresses; uprobes want file offsets,
//! which [`GoBinary::file_offset`] maps through the PT_LOAD segments (the
//! same for PIE and non-PIE binaries).

pub mod buildinfo;
pub mod callsites;
pub mod dwarf;
pub mod offsets;
pub mod pclntab;
pub mod rets;
pub mod types;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};

pub use buildinfo::BuildInfo;
pub use offsets::{Group, Offsets, Source};

/// A function's link-time address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    pub addr: u64,
    pub end: u64,
}

/// Oldest Go release the probes are written for (register ABI, ServeMux patterns).
pub const MIN_GO: (u32, u32) = (1, 22);

#[derive(Debug)]
pub struct GoBinary {
    pub path: PathBuf,
    pub build: BuildInfo,
    /// True when function addresses came from pclntab (no `.symtab`).
    pub stripped: bool,
    pub pie: bool,
    pub offsets: Offsets,
    funcs: HashMap<String, Func>,
    /// Data symbols (itabs), for naming error types; empty when stripped.
    itabs: Vec<(u64, String)>,
    /// The runtime's type names, for itabs when there is no symbol table.
    type_names: Option<types::TypeNames>,
    /// (vaddr, filesz, file offset) of each PT_LOAD.
    segments: Vec<(u64, u64, u64)>,

    data: Vec<u8>,
}

impl GoBinary {
    pub fn open(path: &Path) -> Result<GoBinary> {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(path, data)
    }

    pub fn parse(path: &Path, data: Vec<u8>) -> Result<GoBinary> {
        let shown = path.display();
        let file = object::File::parse(&*data).map_err(|_| anyhow::anyhow!("{shown} is not an ELF executable"))?;
        if file.format() != object::BinaryFormat::Elf {
            bail!("{shown} is not an ELF executable");
        }
        if file.architecture() != object::Architecture::X86_64 {
            bail!(
                "{shown} is built for {:?}; weft's eBPF probes support amd64 (x86-64) only so far (arm64 is designed for, not built)",
                file.architecture()
            );
        }
        let section = file.section_by_name(".go.buildinfo");
        let blob = match &section {
            Some(s) => s.data().unwrap_or_default(),
            None => &data[..],
        };
        let build = buildinfo::find_and_parse(blob)
            .with_context(|| format!("{shown}: reading its Go build information"))?
            .with_context(|| format!("{shown} is not a Go program (no Go build information)"))?;
        let release = build.go_release().with_context(|| format!("{shown}: unknown Go version {:?}", build.go_version))?;
        if release < MIN_GO {
            bail!(
                "{shown} was built with {}; weft's eBPF path supports Go {}.{} and newer",
                build.go_version,
                MIN_GO.0,
                MIN_GO.1
            );
        }
        let pie = file.kind() == object::ObjectKind::Dynamic;
        let segments = file
            .segments()
            .map(|s| (s.address(), s.file_range().1, s.file_range().0))
            .collect();

        let mut funcs = HashMap::new();
        let mut itabs = Vec::new();
        for sym in file.symbols() {
            let Ok(name) = sym.name() else { continue };
            match sym.kind() {
                object::SymbolKind::Text if sym.address() != 0 => {
                    funcs.insert(name.to_string(), Func { addr: sym.address(), end: sym.address() + sym.size() });
                }
                _ if name.starts_with("go:itab.") => itabs.push((sym.address(), name["go:itab.".len()..].to_string())),
                _ => {}
            }
        }
        let stripped = funcs.is_empty();
        let mut type_names = None;
        if stripped {
            let text = file.section_by_name(".text").map(|s| s.address()).unwrap_or(0);
            let tab = find_pclntab(&file, &data).with_context(|| format!("{shown}: no symbol table and no Go pclntab found"))?;
            for f in pclntab::read(tab, text).with_context(|| format!("{shown}: reading its pclntab"))? {
                funcs.insert(f.name, Func { addr: f.entry, end: f.end });
            }
        }
        if let Some(tab) = find_pclntab(&file, &data) {
            type_names = pclntab_vaddr(&file, &data, tab).and_then(|a| types::TypeNames::new(&file, &data, a));
        }
        itabs.sort();

        let rel = format!("{}.{}", release.0, release.1);
        let offsets = match dwarf::struct_offsets(&file, &offsets::wanted_structs())
            .with_context(|| format!("{shown}: reading its DWARF"))?
        {
            Some(m) if m.contains_key("runtime.g.goid") => Offsets { source: Source::Dwarf, by_name: m },
            _ => offsets::pinned(&rel).with_context(|| format!("{shown} ({})", build.go_version))?,
        };
        drop(file);
        Ok(GoBinary { path: path.to_path_buf(), build, stripped, pie, offsets, funcs, itabs, type_names, segments, data })
    }

    pub fn func(&self, name: &str) -> Option<Func> {
        self.funcs.get(name).copied()
    }

    /// The file offset of a link-time address.
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(va, sz, _)| addr >= *va && addr < va + sz)
            .map(|(va, _, off)| addr - va + off)
    }

    /// File offset of `name`'s entry.
    pub fn entry_offset(&self, name: &str) -> Result<u64> {
        let f = self.func(name).with_context(|| format!("{} has no function {name}", self.path.display()))?;
        self.file_offset(f.addr).with_context(|| format!("{name} is outside every loaded segment"))
    }

    /// File offsets of every RET of `name`.
    /// The file offset of `name`'s stack-check jump (see
    /// [`rets::stack_check_jump`]), if it has one.
    pub fn stack_check_offset(&self, name: &str) -> Option<u64> {
        let f = self.func(name)?;
        let start = self.file_offset(f.addr)? as usize;
        let code = self.data.get(start..start + (f.end.saturating_sub(f.addr) as usize).min(32))?;
        rets::stack_check_jump(code, f.addr).map(|o| start as u64 + o)
    }

    /// The file offset of the `runqput` CALL in `runtime.newproc.func1`
    /// where RBX holds the new g (see [`rets::call_with_result_in_rbx`]).
    pub fn newproc_runqput_offset(&self) -> Option<u64> {
        let f = self.func("runtime.newproc.func1")?;
        let (newproc1, runqput) = (self.func("runtime.newproc1")?.addr, self.func("runtime.runqput")?.addr);
        let start = self.file_offset(f.addr)? as usize;
        let code = self.data.get(start..start + f.end.saturating_sub(f.addr) as usize)?;
        rets::call_with_result_in_rbx(code, f.addr, newproc1, runqput).map(|o| start as u64 + o)
    }

    /// Where `callee`'s returns can be probed in its callers (see
    /// [`callsites::after_calls`]): file offsets, and whether the kernel
    /// emulates each. A caller that returns right after the call (its RET
    /// is the site) is followed `up` more levels into its own callers
    /// when they have emulated sites: the end program must then ignore
    /// returns of that caller that never made the call. `None` (probe the
    /// RETs instead) when an address on the way is taken as data, a
    /// function has no direct caller, a caller has no site, or no site is
    /// emulated (nothing gained).
    pub fn return_sites(&self, callee: &str, keep: &[iced_x86::Register], up: u32) -> Option<Vec<(u64, bool)>> {
        let sites = self.sites_after(self.func(callee)?.addr, keep, up)?;
        sites.iter().any(|s| s.1).then_some(sites)
    }

    fn sites_after(&self, target: u64, keep: &[iced_x86::Register], up: u32) -> Option<Vec<(u64, bool)>> {
        if address_taken(&object::File::parse(&*self.data).ok()?, &self.data, target) {
            return None;
        }
        let mut out = Vec::new();
        for f in self.funcs.values() {
            let start = self.file_offset(f.addr)? as usize;
            let code = self.data.get(start..start + f.end.saturating_sub(f.addr) as usize)?;
            // cheap filter first: an E8 rel32 that lands on the target
            let calls = code.windows(5).enumerate().any(|(i, w)| {
                w[0] == 0xe8 && (f.addr + i as u64 + 5).wrapping_add(i32::from_le_bytes([w[1], w[2], w[3], w[4]]) as i64 as u64) == target
            });
            if !calls {
                continue;
            }
            for a in callsites::after_calls(code, f.addr, target, keep).ok()? {
                let above = (!a.emulated && up > 0 && f.addr != target)
                    .then(|| self.sites_after(f.addr, keep, up - 1))
                    .flatten()
                    .filter(|s| s.iter().any(|s| s.1));
                match above {
                    Some(s) => out.extend(s),
                    None => out.push((start as u64 + (a.addr - f.addr), a.emulated)),
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        (!out.is_empty()).then_some(out)
    }

    pub fn ret_offsets(&self, name: &str) -> Result<Vec<u64>> {
        let f = self.func(name).with_context(|| format!("{} has no function {name}", self.path.display()))?;
        let start = self.file_offset(f.addr).context("function outside every segment")? as usize;
        let len = f.end.saturating_sub(f.addr) as usize;
        let code = self.data.get(start..start + len).context("function extends past the file")?;
        let rets: Vec<u64> = rets::ret_offsets(code, f.addr).into_iter().map(|o| start as u64 + o).collect();
        if rets.is_empty() {
            bail!("{name} has no RET instruction");
        }
        Ok(rets)
    }

    /// The lowest PT_LOAD virtual address.
    pub fn first_load_vaddr(&self) -> u64 {
        self.segments.iter().map(|s| s.0).min().unwrap_or(0)
    }

    /// The itab symbol at a link-time address ("*net.OpError,error"), if known.
    pub fn itab_name(&self, addr: u64) -> Option<&str> {
        let i = self.itabs.partition_point(|(a, _)| *a <= addr);
        let (a, name) = self.itabs.get(i.checked_sub(1)?)?;
        (*a == addr).then_some(name.as_str())
    }

    /// The `%T` name of the dynamic type of the itab at a link-time address:
    /// from the runtime's type data (exact, symbol table or not), else from
    /// the itab's symbol.
    pub fn itab_type(&self, addr: u64) -> Option<String> {
        if let Some(t) = self.type_names.as_ref().and_then(|t| t.itab_type(&self.data, addr)) {
            return Some(t);
        }
        let n = self.itab_name(addr)?;
        Some(crate::spans::errmsg::type_string(n.split(',').next().unwrap_or(n)))
    }

    /// The runtime's type name of an itab (tests compare it with `.symtab`).
    #[doc(hidden)]
    pub fn itab_type_from_runtime(&self, addr: u64) -> Option<String> {
        let file = object::File::parse(&*self.data).ok()?;
        let tab = find_pclntab(&file, &self.data)?;
        let t = types::TypeNames::new(&file, &self.data, pclntab_vaddr(&file, &self.data, tab)?)?;
        t.itab_type(&self.data, addr)
    }

    /// Every itab symbol: (link-time address, "type,interface").
    #[doc(hidden)]
    pub fn itab_symbols(&self) -> &[(u64, String)] {
        &self.itabs
    }
}

/// Whether `addr` is stored as data: an 8-byte-aligned word of a loaded,
/// non-executable section (minus the pclntab), or for PIE a dynamic
/// relocation's addend. A function's address taken as a value (funcval,
/// itab, method table) lives there, and it may then be called indirectly.
fn address_taken(file: &object::File, data: &[u8], addr: u64) -> bool {
    use object::SectionKind as K;
    for s in file.sections() {
        let loaded_data = matches!(s.kind(), K::Data | K::ReadOnlyData | K::ReadOnlyDataWithRel | K::ReadOnlyString);
        if !loaded_data || s.name().is_ok_and(|n| n.contains("gopclntab")) {
            continue;
        }
        let Some((off, size)) = s.file_range() else { continue };
        let Some(bytes) = data.get(off as usize..(off + size) as usize) else { continue };
        let skip = (s.address().wrapping_neg() & 7) as usize;
        let word = addr.to_le_bytes();
        if bytes.get(skip..).unwrap_or_default().chunks_exact(8).any(|w| w == word) {
            return true;
        }
    }
    file.dynamic_relocations().is_some_and(|mut rels| rels.any(|(_, r)| r.addend() as u64 == addr))
}

/// The link-time address of the pclntab slice `tab` (a part of `data`).
fn pclntab_vaddr(file: &object::File, data: &[u8], tab: &[u8]) -> Option<u64> {
    let off = (tab.as_ptr() as usize).checked_sub(data.as_ptr() as usize)? as u64;
    file.sections().find_map(|s| {
        let (o, size) = s.file_range()?;
        (off >= o && off < o + size).then(|| s.address() + off - o)
    })
}

/// The pclntab: `.gopclntab` (or `.data.rel.ro.gopclntab` in PIE builds),
/// else the first plausible header in a read-only section.
fn find_pclntab<'a>(file: &object::File, data: &'a [u8]) -> Option<&'a [u8]> {
    for name in [".gopclntab", ".data.rel.ro.gopclntab"] {
        if let Some(s) = file.section_by_name(name) {
            let (off, size) = s.file_range()?;
            return data.get(off as usize..(off + size) as usize);
        }
    }
    for s in file.sections() {
        let Some((off, size)) = s.file_range() else { continue };
        let sec = data.get(off as usize..(off + size) as usize)?;
        let mut i = 0;
        while i + 72 <= sec.len() {
            if pclntab::looks_like(&sec[i..]) {
                return Some(&sec[i..]);
            }
            i += 8;
        }
    }
    None
}
