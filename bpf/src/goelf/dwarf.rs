//! Struct field offsets from a Go binary's DWARF (gimli over object's
//! section data; Go compresses `.debug_*` with zlib, which object
//! inflates).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use gimli::{AttributeValue, EndianSlice, LittleEndian};
use object::{Object, ObjectSection};

/// `"struct.field" -> offset` for every wanted struct found (Go's DWARF
/// names structs by package path: `net/http.Request`, `runtime.g`).
/// Returns `None` when the binary has no DWARF (built with `-w`).
pub fn struct_offsets(file: &object::File, wanted: &BTreeSet<&str>) -> Result<Option<BTreeMap<String, u64>>> {
    if file.section_by_name(".debug_info").is_none() && file.section_by_name(".zdebug_info").is_none() {
        return Ok(None);
    }
    let load = |id: gimli::SectionId| -> Result<Cow<[u8]>> {
        let name = id.name();
        let sec = file
            .section_by_name(name)
            .or_else(|| file.section_by_name(&name.replacen(".debug_", ".zdebug_", 1)));
        Ok(match sec {
            Some(s) => s.uncompressed_data().with_context(|| format!("reading {name}"))?,
            None => Cow::Borrowed(&[][..]),
        })
    };
    let owned = gimli::DwarfSections::load(load)?;
    let dwarf = owned.borrow(|s| EndianSlice::new(s, LittleEndian));
    let mut out = BTreeMap::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let mut tree = unit.entries_tree(None)?;
        let root = tree.root()?;
        let mut children = root.children();
        while let Some(node) = children.next()? {
            let entry = node.entry();
            if entry.tag() != gimli::DW_TAG_structure_type {
                continue;
            }
            let Some(name) = entry.attr_value(gimli::DW_AT_name) else { continue };
            let name = dwarf.attr_string(&unit, name)?;
            let name = name.to_string_lossy();
            if !wanted.contains(name.as_ref()) {
                continue;
            }
            let sname = name.into_owned();
            let mut members = node.children();
            while let Some(m) = members.next()? {
                let e = m.entry();
                if e.tag() != gimli::DW_TAG_member {
                    continue;
                }
                let (Some(n), Some(loc)) = (e.attr_value(gimli::DW_AT_name), e.attr_value(gimli::DW_AT_data_member_location)) else {
                    continue;
                };
                let off = match loc {
                    AttributeValue::Udata(v) => v,
                    AttributeValue::Data1(v) => v.into(),
                    AttributeValue::Data2(v) => v.into(),
                    AttributeValue::Data4(v) => v.into(),
                    AttributeValue::Data8(v) => v,
                    AttributeValue::Sdata(v) if v >= 0 => v as u64,
                    _ => continue,
                };
                let field = dwarf.attr_string(&unit, n)?.to_string_lossy().into_owned();
                out.insert(format!("{sname}.{field}"), off);
            }
        }
    }
    Ok(Some(out))
}
