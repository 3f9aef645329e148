// SPDX-License-Identifier: GPL-2.0
/*
 * The marker of make bench's phase insns: linked at a fixed address
 * (-Ttext-segment, and the guest runs without user-space ASLR), so the
 * QEMU plugin (insnprof.c) knows its function's address before the guest
 * boots and dumps its counts each time the guest runs it.
 */
__attribute__((noinline)) void natk_insn_marker(void)
{
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	natk_insn_marker();
	return 0;
}
