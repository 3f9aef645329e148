// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin for make bench's phase insns: how many instructions
 * the guest kernel executes, block by block (translation blocks at kernel
 * addresses), exactly: with -icount every instruction is 1 ns of guest
 * time, so this is where the bench's nanoseconds go, without a tracer's
 * own cost in the figures. Each time the guest runs the marker program
 * (insnmark.c; mark=ITS ADDRESS) it writes every block's count so far to
 * OUT.N (out=OUT), N = 0, 1, ...: "address instructions executions". The
 * windows between two dumps are the runs measured (tests/bench/insns.py).
 *
 * The plugin API of QEMU 7.2 (Debian 12's), version 1, declared here: the
 * distribution ships no qemu-plugin.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stddef.h>

typedef uint64_t qemu_plugin_id_t;
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
typedef struct qemu_info_t {
	const char *target_name;
	struct { int min; int cur; } version;
	bool system_emulation;
	union { struct { int smp_vcpus; int max_vcpus; } system; };
} qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int, void *);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t, void *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, qemu_plugin_vcpu_tb_trans_cb_t);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, qemu_plugin_vcpu_udata_cb_t, enum qemu_plugin_cb_flags, void *);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op, void *, uint64_t);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, qemu_plugin_udata_cb_t, void *);

struct rec { uint64_t vaddr, n, count; };
#define CHUNK 65536
static struct rec **chunks;
static size_t nrec, nchunks;
static uint64_t mark;
static const char *out = "/tmp/insnprof";
static int seq;

static struct rec *rec_new(void)
{
	if (nrec == nchunks * CHUNK) {
		chunks = realloc(chunks, (nchunks + 1) * sizeof(*chunks));
		chunks[nchunks++] = calloc(CHUNK, sizeof(struct rec));
	}
	nrec++;
	return &chunks[(nrec - 1) / CHUNK][(nrec - 1) % CHUNK];
}

static void dump(unsigned int vcpu, void *u)
{
	char path[4096];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s.%d", out, seq++);
	f = fopen(path, "w");
	if (!f)
		return;
	for (i = 0; i < nrec; i++) {
		struct rec *r = &chunks[i / CHUNK][i % CHUNK];
		if (r->count)
			fprintf(f, "%llx %llu %llu\n", (unsigned long long)r->vaddr,
				(unsigned long long)r->n, (unsigned long long)r->count);
	}
	fclose(f);
}

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t va = qemu_plugin_tb_vaddr(tb);
	struct rec *r;

	if (va < 0xffff800000000000ULL && va != mark)
		return;
	r = rec_new();
	r->vaddr = va;
	r->n = qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &r->count, 1);
	if (va == mark)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, dump, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void atexit_cb(qemu_plugin_id_t id, void *u) { dump(0, NULL); }

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	int i;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "mark=", 5))
			mark = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "out=", 4))
			out = argv[i] + 4;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
	qemu_plugin_register_atexit_cb(id, atexit_cb, NULL);
	return 0;
}
