//! The return sites of a function: every `RET` instruction, found by
//! decoding its machine code with iced-x86. Go functions hold no data in
//! their text (jump tables live in rodata) and are padded with INT3, so a
//! linear decode from the entry is exact.

use iced_x86::{Decoder, DecoderOptions, Mnemonic};

/// Offsets (from the function's start) of each RET in `code`, decoded as
/// 64-bit code loaded at `ip`.
pub fn ret_offsets(code: &[u8], ip: u64) -> Vec<u64> {
    let mut d = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut out = Vec::new();
    for ins in &mut d {
        if ins.mnemonic() == Mnemonic::Ret {
            out.push(ins.ip() - ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_ret() {
        // mov rax, 1; test rbx, rbx; je +1; ret; ret; int3
        let code = [0x48, 0xc7, 0xc0, 0x01, 0, 0, 0, 0x48, 0x85, 0xdb, 0x74, 0x01, 0xc3, 0xc3, 0xcc];
        assert_eq!(ret_offsets(&code, 0x1000), vec![12, 13]);
        // a C3 byte inside an immediate is not a RET
        let code = [0x48, 0xc7, 0xc0, 0xc3, 0, 0, 0, 0xc3];
        assert_eq!(ret_offsets(&code, 0), vec![7]);
    }
}
