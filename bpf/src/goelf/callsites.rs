//! Return probes in the callers: where a caller goes on after a direct CALL
//! to a function, a probe sees that call return. On a direct CALL, JMP or
//! Jcc the kernel emulates the instruction under a uprobe; a RET (the
//! callee's or the caller's) is single-stepped, ~4 µs more per hit here
//! (bench/NOTES.md).

use iced_x86::{Decoder, DecoderOptions, FlowControl, InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register};

/// A probe site after a call: its address and whether the kernel emulates
/// the instruction there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub addr: u64,
    pub emulated: bool,
}

/// Instructions walked after a call before giving up.
const MAX_WALK: usize = 24;

/// For each direct CALL to `callee` in the function `code` (loaded at `ip`):
/// the first instruction after it, on the straight path from its return
/// address, that is a direct CALL/JMP/Jcc (emulated) or a RET, such that
/// nothing in between writes a register of `keep` (the callee's results the
/// probe reads) and nothing in the function branches into that path (so the
/// probe is reached exactly once per return). Indirect CALLs may be passed
/// only when `keep` is empty. `Err(())` when some call has no such site or
/// the function has an indirect JMP (a jump table: targets unknown).
#[allow(clippy::result_unit_err)]
pub fn after_calls(code: &[u8], ip: u64, callee: u64, keep: &[Register]) -> Result<Vec<After>, ()> {
    let ins: Vec<_> = Decoder::with_ip(64, code, ip, DecoderOptions::NONE).into_iter().collect();
    let mut targets = Vec::new();
    for i in &ins {
        match i.flow_control() {
            FlowControl::IndirectBranch => return Err(()),
            FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch | FlowControl::Call
                if i.op0_kind() == OpKind::NearBranch64 =>
            {
                targets.push(i.near_branch_target())
            }
            _ => {}
        }
    }
    let keep: Vec<Register> = keep.iter().map(|r| r.full_register()).collect();
    let mut info = InstructionInfoFactory::new();
    let mut out = Vec::new();
    for (n, call) in ins.iter().enumerate() {
        if call.mnemonic() != Mnemonic::Call || call.op0_kind() != OpKind::NearBranch64 || call.near_branch_target() != callee {
            continue;
        }
        let mut found = None;
        for i in ins.iter().skip(n + 1).take(MAX_WALK) {
            if targets.contains(&i.ip()) {
                return Err(());
            }
            let direct = i.op0_kind() == OpKind::NearBranch64;
            match i.flow_control() {
                FlowControl::Call | FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch if direct => {
                    found = Some(After { addr: i.ip(), emulated: true });
                }
                FlowControl::Return => found = Some(After { addr: i.ip(), emulated: false }),
                FlowControl::IndirectCall if keep.is_empty() => continue,
                FlowControl::Next => {
                    let writes = info.info(i).used_registers().iter().any(|u| {
                        u.access() != OpAccess::Read && u.access() != OpAccess::NoMemAccess && keep.contains(&u.register().full_register())
                    });
                    if writes {
                        return Err(());
                    }
                    continue;
                }
                _ => return Err(()),
            }
            break;
        }
        out.push(found.ok_or(())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // call +0x100 (callee at 0x105, outside); then the tail given; decoded at 0
    fn after(tail: &[u8], keep: &[Register]) -> Result<Vec<After>, ()> {
        let mut code = vec![0xe8, 0, 1, 0, 0];
        code.extend_from_slice(tail);
        after_calls(&code, 0, 0x105, keep)
    }

    #[test]
    fn finds_the_next_direct_call() {
        // mov rdx,[rsp+8]; call rsi; call +0x100
        let tail = [0x48, 0x8b, 0x54, 0x24, 0x08, 0xff, 0xd6, 0xe8, 0, 1, 0, 0];
        assert_eq!(after(&tail, &[]), Ok(vec![After { addr: 12, emulated: true }]));
        // an indirect call clobbers results the probe would read
        assert_eq!(after(&tail, &[Register::RCX]), Err(()));
    }

    #[test]
    fn keeps_the_results() {
        // test rcx,rcx; jne +0x40: a Jcc, results untouched
        let tail = [0x48, 0x85, 0xc9, 0x75, 0x40];
        assert_eq!(after(&tail, &[Register::RAX, Register::RCX]), Ok(vec![After { addr: 8, emulated: true }]));
        // xor ecx,ecx before the jcc writes a result
        let tail = [0x31, 0xc9, 0x75, 0x40];
        assert_eq!(after(&tail, &[Register::RCX]), Err(()));
        // add rsp,0x68; pop rbp; ret: the caller's RET (stepped)
        let tail = [0x48, 0x83, 0xc4, 0x68, 0x5d, 0xc3];
        assert_eq!(after(&tail, &[Register::RBX, Register::RCX]), Ok(vec![After { addr: 10, emulated: false }]));
    }

    #[test]
    fn refuses_a_path_something_jumps_into() {
        // mov eax,1; jmp -7 (to the mov); the probe would also fire without the call
        let tail = [0xb8, 1, 0, 0, 0, 0xeb, 0xf9];
        assert_eq!(after(&tail, &[]), Err(()));
        // jmp [rax]: a jump table somewhere in the function
        assert_eq!(after(&[0xff, 0x20], &[]), Err(()));
    }
}
