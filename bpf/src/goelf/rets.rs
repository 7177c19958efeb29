//! The return sites of a function: every `RET` instruction, found by
//! decoding its machine code with iced-x86. Go functions hold no data in
//! their text (jump tables live in rodata) and are padded with INT3, so a
//! linear decode from the entry is exact.

use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind, Register};

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

/// The offset of the conditional jump of a function's stack check
/// (`CMPQ SP, 0x10(R14)` or, for large frames, `LEAQ -n(SP), R12;
/// CMPQ R12, 0x10(R14)`, then `JBE` to morestack), if its first three
/// instructions are one. The kernel emulates a jump under a uprobe instead
/// of single-stepping it, which makes a probe there several times cheaper
/// than one on the first instruction; the argument registers are still
/// untouched there.
pub fn stack_check_jump(code: &[u8], ip: u64) -> Option<u64> {
    let mut d = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut compared = false;
    for ins in d.iter().take(3) {
        match ins.mnemonic() {
            Mnemonic::Cmp => {
                compared = ins.op_count() == 2 && ins.op1_kind() == OpKind::Memory && ins.memory_base() == Register::R14;
            }
            Mnemonic::Jbe if compared => return Some(ins.ip() - ip),
            Mnemonic::Lea => {}
            _ => return None,
        }
    }
    None
}

/// In `runtime.newproc.func1` (`newg := newproc1(...); runqput(pp, newg,
/// true)`), the offset of the CALL to `then` (runqput) that follows the
/// CALL to `first` (newproc1), when newproc1's result (RAX) is moved to RBX
/// between them and RBX is not written again: there, RBX is the new g. A
/// CALL is emulated by the kernel under a uprobe, unlike the RET of
/// newproc1.
pub fn call_with_result_in_rbx(code: &[u8], ip: u64, first: u64, then: u64) -> Option<u64> {
    let d = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let (mut called, mut moved) = (false, false);
    for ins in d {
        if ins.mnemonic() == Mnemonic::Call {
            let target = (ins.op0_kind() == OpKind::NearBranch64).then(|| ins.near_branch_target());
            match (called, moved, target) {
                (false, _, Some(t)) if t == first => called = true,
                (false, _, _) => {}
                (true, true, Some(t)) if t == then => return Some(ins.ip() - ip),
                _ => return None,
            }
        } else if called && ins.op_count() > 0 && ins.op0_kind() == OpKind::Register {
            let r = ins.op0_register();
            if [Register::RBX, Register::EBX, Register::BX, Register::BL, Register::BH].contains(&r) {
                if moved || ins.mnemonic() != Mnemonic::Mov || ins.op1_register() != Register::RAX {
                    return None;
                }
                moved = true;
            } else if [Register::RAX, Register::EAX, Register::AX, Register::AL, Register::AH].contains(&r) && !moved {
                return None;
            }
        }
    }
    None
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

    #[test]
    fn finds_runqput_after_newproc1() {
        // call +0x10 (newproc1 at 0x15); mov rdx,[r14+0x30]; mov rbx,rax; call +0x20 (runqput at 0x3a)
        let mut code = vec![0xe8, 0x10, 0, 0, 0, 0x49, 0x8b, 0x56, 0x30, 0x48, 0x89, 0xc3, 0xe8, 0x20, 0, 0, 0];
        assert_eq!(call_with_result_in_rbx(&code, 0, 0x15, 0x31), Some(12));
        // the call is not to runqput
        assert_eq!(call_with_result_in_rbx(&code, 0, 0x15, 0x99), None);
        // rbx written again after the move: mov rbx,rax; xor ebx,ebx
        code.splice(12..12, [0x31, 0xdb]);
        assert_eq!(call_with_result_in_rbx(&code, 0, 0x15, 0x33), None);
    }

    #[test]
    fn finds_the_stack_check() {
        // cmp rsp, [r14+0x10]; jbe +0x16; push rbp
        let small = [0x49, 0x3b, 0x66, 0x10, 0x76, 0x16, 0x55];
        assert_eq!(stack_check_jump(&small, 0x1000), Some(4));
        // lea r12, [rsp-0x100]; cmp r12, [r14+0x10]; jbe rel32
        let large = [0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xff, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0, 1, 0, 0];
        assert_eq!(stack_check_jump(&large, 0), Some(12));
        // inc rax; ret: no stack check
        assert_eq!(stack_check_jump(&[0x48, 0xff, 0xc0, 0xc3], 0), None);
        // a jbe after some other compare is not one
        assert_eq!(stack_check_jump(&[0x48, 0x39, 0xd8, 0x76, 0x02], 0), None);
    }
}
