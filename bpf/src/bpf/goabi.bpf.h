/* Go's internal register ABI, per architecture: the one place the probes
 * name machine registers. GO_REG(ctx, i) is the i-th integer argument (and
 * the i-th integer result at a RET); GO_G(ctx) the current goroutine's g.
 *
 *   amd64: RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11; g in R14
 *   arm64: R0–R15 (X0–X15); g in R28 — designed for, not built yet: it
 *          needs an arm64 vmlinux.h (pt_regs differs) and an arm64 RET
 *          decoder in goelf/rets.rs.
 */
#ifndef WEFT_GOABI_H
#define WEFT_GOABI_H

#if defined(__TARGET_ARCH_x86)
#define GO_REG0(ctx) ((ctx)->ax)
#define GO_REG1(ctx) ((ctx)->bx)
#define GO_REG2(ctx) ((ctx)->cx)
#define GO_REG3(ctx) ((ctx)->di)
#define GO_REG4(ctx) ((ctx)->si)
#define GO_REG5(ctx) ((ctx)->r8)
#define GO_REG6(ctx) ((ctx)->r9)
#define GO_REG7(ctx) ((ctx)->r10)
#define GO_REG8(ctx) ((ctx)->r11)
#define GO_G(ctx) ((ctx)->r14)
#elif defined(__TARGET_ARCH_arm64)
#define GO_REG0(ctx) ((ctx)->regs[0])
#define GO_REG1(ctx) ((ctx)->regs[1])
#define GO_REG2(ctx) ((ctx)->regs[2])
#define GO_REG3(ctx) ((ctx)->regs[3])
#define GO_REG4(ctx) ((ctx)->regs[4])
#define GO_REG5(ctx) ((ctx)->regs[5])
#define GO_REG6(ctx) ((ctx)->regs[6])
#define GO_REG7(ctx) ((ctx)->regs[7])
#define GO_REG8(ctx) ((ctx)->regs[8])
#define GO_G(ctx) ((ctx)->regs[28])
#else
#error "weft's probes know Go's register ABI on amd64 (and arm64, designed for) only"
#endif

#endif
