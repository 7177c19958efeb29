//! Type names from the Go runtime's own type data, for binaries without a
//! symbol table: itab -> `_type` -> its name (`abi.Type.Str`, a name offset
//! from `moduledata.types`). Gives Go's `%T` spelling ("*mysql.MySQLError").
//!
//! `moduledata` is found as the data word pointing at the pclntab header
//! (its first field). In PIE builds pointers in data are zero in the file
//! and set by R_X86_64_RELATIVE relocations, so reads go through them.

use std::collections::HashMap;

use object::{Object, ObjectSection};

/// `moduledata.types`'s offset (Go 1.22–1.27: pcHeader, six slices,
/// findfunctab, minpc/maxpc, ten section bounds, covctrs/ecovctrs,
/// end/gcdata/gcbss).
const MODULEDATA_TYPES: u64 = 8 + 6 * 24 + 8 + 16 + 10 * 8 + 16 + 24;
const TYPE_TFLAG: u64 = 20;
const TYPE_STR: u64 = 40;
const TFLAG_EXTRA_STAR: u8 = 1 << 1;

/// Reads the runtime's type names out of one binary.
#[derive(Debug, Default)]
pub struct TypeNames {
    /// (vaddr, size, file offset) of each section with file data.
    sections: Vec<(u64, u64, u64)>,
    relocs: HashMap<u64, u64>,
    types: u64,
}

impl TypeNames {
    /// `pclntab`: the pclntab header's link-time address.
    pub fn new(file: &object::File, data: &[u8], pclntab: u64) -> Option<TypeNames> {
        let mut t = TypeNames::default();
        for s in file.sections() {
            if let Some((off, size)) = s.file_range() {
                t.sections.push((s.address(), size, off));
            }
        }
        for (at, r) in file.dynamic_relocations().into_iter().flatten() {
            if let object::RelocationFlags::Elf { r_type: object::elf::R_X86_64_RELATIVE } = r.flags() {
                t.relocs.insert(at, r.addend() as u64);
            }
        }
        let md = match t.relocs.iter().find(|(_, a)| **a == pclntab) {
            Some((at, _)) => *at,
            // Go 1.26+ gives moduledata its own section; before, it is in .noptrdata.
            None => [".go.module", ".noptrdata", ".data"].iter().find_map(|name| {
                let sec = file.section_by_name(name)?;
                let (off, size) = sec.file_range()?;
                let bytes = data.get(off as usize..(off + size) as usize)?;
                let i = bytes.chunks_exact(8).position(|w| u64::from_le_bytes(w.try_into().unwrap()) == pclntab)?;
                Some(sec.address() + i as u64 * 8)
            })?,
        };
        t.types = t.ptr(data, md + MODULEDATA_TYPES)?;
        (t.types != 0).then_some(t)
    }

    fn bytes<'a>(&self, data: &'a [u8], addr: u64, n: usize) -> Option<&'a [u8]> {
        let (va, size, off) = self.sections.iter().find(|(va, size, _)| addr >= *va && addr + n as u64 <= va + size)?;
        let _ = size;
        data.get((addr - va + off) as usize..)?.get(..n)
    }

    fn ptr(&self, data: &[u8], addr: u64) -> Option<u64> {
        if let Some(a) = self.relocs.get(&addr) {
            return Some(*a);
        }
        Some(u64::from_le_bytes(self.bytes(data, addr, 8)?.try_into().ok()?))
    }

    /// The `%T` name of the dynamic type of the itab at link-time `itab`.
    pub fn itab_type(&self, data: &[u8], itab: u64) -> Option<String> {
        let typ = self.ptr(data, itab + 8)?;
        let tflag = *self.bytes(data, typ + TYPE_TFLAG, 1)?.first()?;
        let str_off = i32::from_le_bytes(self.bytes(data, typ + TYPE_STR, 4)?.try_into().ok()?);
        let name = self.types.checked_add_signed(str_off.into())?;
        // A name: one flag byte, a uvarint length, the bytes.
        let head = self.bytes(data, name, 11)?;
        let (mut len, mut shift, mut i) = (0usize, 0, 1);
        loop {
            let b = *head.get(i)?;
            len |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let text = std::str::from_utf8(self.bytes(data, name + i as u64, len)?).ok()?;
        let text = if tflag & TFLAG_EXTRA_STAR != 0 { text.strip_prefix('*')? } else { text };
        Some(text.to_string())
    }
}
