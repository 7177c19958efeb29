//! Function names and entry addresses from Go's `pclntab`, for binaries
//! whose symbol table was stripped (`-ldflags=-s -w`).
//!
//! Hand-written: no maintained Rust crate reads Go's pclntab (gimli and
//! object know DWARF and ELF symbols only). This reads the Go 1.18+ layout
//! that `debug/gosym` reads (magic 0xfffffff0 for 1.18/1.19, 0xfffffff1 for
//! 1.20+): a header of pointer-sized offsets, then a `functab` of
//! (entry offset, _func offset) pairs whose `_func` records point into the
//! function-name table. Only names and entries are read; line tables are
//! not needed. When the header's text start is 0 (PIE builds relocate it at
//! load time, and Go 1.27 writes 0), the `.text` section address is used,
//! as `debug/gosym` does.

use anyhow::{bail, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcFunc {
    pub name: String,
    /// Link-time virtual address of the entry.
    pub entry: u64,
    /// Up to the next function's entry.
    pub end: u64,
}

const MAGIC_118: u32 = 0xffff_fff0;
const MAGIC_120: u32 = 0xffff_fff1;

/// Does `data` start like a Go 1.18+ pclntab header (64-bit)?
pub fn looks_like(data: &[u8]) -> bool {
    data.len() >= 72
        && matches!(u32::from_le_bytes(data[0..4].try_into().unwrap()), MAGIC_118 | MAGIC_120)
        && data[4] == 0
        && data[5] == 0
        && matches!(data[6], 1 | 2 | 4)
        && data[7] == 8
}

/// Reads every function of the pclntab in `data`; `text_addr` is the
/// `.text` section address, used when the header's text start is 0.
pub fn read(data: &[u8], text_addr: u64) -> Result<Vec<PcFunc>> {
    if !looks_like(data) {
        bail!("not a Go 1.18+ pclntab (64-bit)");
    }
    let word = |i: usize| -> Result<u64> {
        let b = data.get(8 + 8 * i..16 + 8 * i).ok_or_else(|| anyhow::anyhow!("pclntab header truncated"))?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    };
    let nfunc = word(0)? as usize;
    let mut text_start = word(2)?;
    if text_start == 0 {
        text_start = text_addr;
    }
    let funcname_off = word(3)? as usize;
    let functab_off = word(7)? as usize;
    let functab = data.get(functab_off..).unwrap_or_default();
    let u32_at = |b: &[u8], i: usize| -> Result<u32> {
        let s = b.get(i..i + 4).ok_or_else(|| anyhow::anyhow!("pclntab truncated at {i:#x}"))?;
        Ok(u32::from_le_bytes(s.try_into().unwrap()))
    };
    if nfunc > functab.len() / 8 {
        bail!("pclntab function count {nfunc} does not fit the table");
    }
    let mut out = Vec::with_capacity(nfunc);
    for i in 0..nfunc {
        let entry = u32_at(functab, 8 * i)? as u64;
        let func_off = u32_at(functab, 8 * i + 4)? as usize;
        let next = u32_at(functab, 8 * (i + 1))? as u64;
        // _func: entryOff u32, nameOff i32, ...
        let name_off = u32_at(functab, func_off + 4)? as usize;
        let names = data.get(funcname_off + name_off..).unwrap_or_default();
        let len = names.iter().position(|&c| c == 0).unwrap_or(names.len());
        out.push(PcFunc {
            name: String::from_utf8_lossy(&names[..len]).into_owned(),
            entry: text_start + entry,
            end: text_start + next,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-function table laid out by hand the way the Go linker does.
    #[test]
    fn reads_handmade_table() {
        let mut d = vec![0u8; 72];
        d[0..4].copy_from_slice(&MAGIC_120.to_le_bytes());
        d[6] = 1;
        d[7] = 8;
        let put = |d: &mut Vec<u8>, i: usize, v: u64| d[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        put(&mut d, 0, 2); // nfunc
        put(&mut d, 2, 0); // text start 0: use .text
        put(&mut d, 3, 72); // funcname table
        let names = b"main.main\0runtime.goexit1\0";
        d.extend(names);
        let functab = d.len();
        put(&mut d, 7, functab as u64);
        // functab: (0, f0) (0x40, f1) (0x80, -) then the two _func records
        let f0 = 24u32;
        let f1 = f0 + 8;
        for (e, f) in [(0u32, f0), (0x40, f1), (0x80, 0)] {
            d.extend(e.to_le_bytes());
            d.extend(f.to_le_bytes());
        }
        for (e, n) in [(0u32, 0u32), (0x40, 10)] {
            d.extend(e.to_le_bytes());
            d.extend(n.to_le_bytes());
        }
        let fs = read(&d, 0x401000).unwrap();
        assert_eq!(fs[0], PcFunc { name: "main.main".into(), entry: 0x401000, end: 0x401040 });
        assert_eq!(fs[1].name, "runtime.goexit1");
        assert_eq!(fs[1].end, 0x401080);
    }

    #[test]
    fn rejects_other_data() {
        assert!(read(&[0u8; 100], 0).is_err());
    }
}
