// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl's request path (nk_request: acks, dumps, errors, extended acks)
 * against a generic netlink family every kernel has: nlctrl. Needs no
 * natk module and no privileges.
 */
int natkctl_main(int argc, char **argv);
#define main natkctl_main
#include "../natkctl.c"
#undef main
#include "../print.c"
#include "../nl.c"
#include "../parse.c"
#include "../conf.c"
#include "../flow.c"
#include "../status.c"
#include "../flows.c"
#include "../flowfile.c"
#include "../file.c"
#include "../fwd.c"
#include "../monitor.c"
#include "../apply.c"
#include "../metrics.c"
#include "../doctor.c"
#include "../supervise.c"
#include "../maplog.c"
#include "../sync.c"
#include "../syncproto.c"

#include <linux/genetlink.h>
#include <stdarg.h>

static int count_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(*(int *)arg)++;
	return NL_OK;
}

/*
 * nk_request_batch: request i asks nlctrl for a family by id: nlctrl's own
 * (a reply, then an ack), one that does not exist (ENOENT), or with a u8
 * where a u16 belongs (EINVAL and an extended ack), by kinds[i % 3], or
 * only the missing one (kind 1) when all_missing.
 */
struct batch_test {
	bool all_missing;
	size_t n, calls, bad_order;
	int *err;
	bool *extack;
	size_t last;
};

static int batch_kind(const struct batch_test *t, size_t i)
{
	return t->all_missing ? 1 : (int)(i % 3);
}

static struct nl_msg *batch_build(size_t i, void *arg)
{
	struct batch_test *t = arg;
	struct nl_msg *m = nlmsg_alloc_size(128);

	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	switch (batch_kind(t, i)) {
	case 0:
		nla_put_u16(m, CTRL_ATTR_FAMILY_ID, GENL_ID_CTRL);
		break;
	case 1:
		nla_put_u16(m, CTRL_ATTR_FAMILY_ID, 0xfff0);	/* no such id */
		break;
	default:
		nla_put_u8(m, CTRL_ATTR_FAMILY_ID, 1);	/* must be u16 */
		break;
	}
	return m;
}

static void batch_done(size_t i, int err, void *arg)
{
	struct batch_test *t = arg;

	if (i >= t->n)
		return;
	if (t->calls && i != t->last + 1)
		t->bad_order++;
	t->last = i;
	t->calls++;
	t->err[i] = err ? err : 1;	/* 1: answered, no error */
	t->extack[i] = nk_extack[0] != '\0';
}

/* How many requests were answered other than kind says, or never. */
static size_t batch_wrong(const struct batch_test *t)
{
	size_t wrong = 0;

	for (size_t i = 0; i < t->n; i++) {
		int kind = batch_kind(t, i);

		if ((kind == 0 && t->err[i] != 1) ||
		    (kind == 1 && t->err[i] != -ENOENT) ||
		    (kind == 2 && (t->err[i] != -EINVAL && t->err[i] != -ERANGE)) ||
		    (kind == 2 && !t->extack[i]))
			wrong++;
	}
	return wrong;
}

static int batch_run(struct batch_test *t, size_t n, size_t window,
		     bool all_missing)
{
	t->n = n;
	t->calls = t->bad_order = t->last = 0;
	t->all_missing = all_missing;
	t->err = calloc(n, sizeof(*t->err));
	t->extack = calloc(n, sizeof(*t->extack));
	return nk_request_batch(n, window, batch_build, batch_done, t);
}

static void batch_free(struct batch_test *t)
{
	free(t->err);
	free(t->extack);
}

/* One line per case on stdout (tests/run.sh checks they all came). */
static const char *const cases[] = {
	"dump", "doit", "enoent", "policy-error", "policy-extack",
	"dump-after-errors", "batch", "batch-window", "batch-bench",
	"after-batch",
};
static int failures;

static void report(const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS userctl-nl-%s\n", name);
	} else {
		printf("FAIL userctl-nl-%s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		failures++;
	}
	fflush(stdout);
}

int main(void)
{
	struct nl_msg *m;
	bool intr = true;
	int n = 0, err, one = 1;

	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk) < 0) {
		/* nothing checked: say so for every case, not "passed" */
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			printf("SKIP userctl-nl-%s: no generic netlink socket here\n",
			       cases[i]);
		return 0;
	}
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	family = GENL_ID_CTRL;

	/* a dump: several families, NLMSG_DONE ends it, no ack needed */
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
		    CTRL_CMD_GETFAMILY, 1);
	err = nk_request(m, count_cb, &n, &intr);
	report("dump", !err && n >= 1 && !intr, "err %d, %d replies, intr %d",
	       err, n, intr);

	/* a doit with a reply and an ack */
	n = 0;
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	err = nk_request(m, count_cb, &n, NULL);
	report("doit", !err && n == 1, "err %d, %d replies", err, n);

	/* an error: no such family */
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "natk-nonexist");
	err = nk_request(m, NULL, NULL, NULL);
	report("enoent", err == -ENOENT, "err %d, want %d", err, -ENOENT);

	/* a policy error: the kernel explains it in an extended ack */
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_u8(m, CTRL_ATTR_FAMILY_ID, 1);	/* must be u16 */
	err = nk_request(m, NULL, NULL, NULL);
	fprintf(stderr, "test_nl: policy error %d, extack '%s'\n", err, nk_extack);
	report("policy-error", err == -EINVAL || err == -ERANGE,
	       "err %d, want EINVAL or ERANGE", err);
	report("policy-extack", nk_extack[0], "no extended ack message");

	/* the socket is still in sync after errors */
	n = 0;
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
		    CTRL_CMD_GETFAMILY, 1);
	err = nk_request(m, count_cb, &n, &intr);
	report("dump-after-errors", !err && n >= 1, "err %d, %d replies", err, n);

	/* batches: every request answered once, in order, with its error */
	{
		struct batch_test t = {};
		struct timespec t0, t1;
		size_t wrong;
		double dt;

		/* replies (nlctrl's answer is a page) and acks: a small window */
		err = batch_run(&t, 100, 5, false);
		wrong = batch_wrong(&t);
		report("batch", !err && t.calls == 100 && !t.bad_order && !wrong,
		       "err %d (%s), %zu answers of 100, %zu out of order, %zu wrong",
		       err, nk_extack, t.calls, t.bad_order, wrong);
		batch_free(&t);
		/* a window of 1, and the last batch shorter than the window */
		err = batch_run(&t, 7, 1, false);
		wrong = batch_wrong(&t);
		batch_free(&t);
		{
			int err2 = batch_run(&t, 70, 64, true);
			size_t wrong2 = batch_wrong(&t);

			report("batch-window", !err && !wrong && !err2 && t.calls == 70 &&
			       !wrong2 && !t.bad_order,
			       "window 1: err %d, %zu wrong; window 64: err %d, %zu answers of 70, %zu wrong",
			       err, wrong, err2, t.calls, wrong2);
			batch_free(&t);
		}
		/* 100k requests (errors: their acks carry the request) */
		nk_set_rcvbuf(4 << 20);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = batch_run(&t, 100000, 64, true);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		dt = (double)(t1.tv_sec - t0.tv_sec) +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		wrong = batch_wrong(&t);
		fprintf(stderr, "test_nl: 100000 batched requests, 64 a datagram: %.2fs\n", dt);
		report("batch-bench", !err && t.calls == 100000 && !wrong && dt < 20,
		       "err %d (%s), %zu answers, %zu wrong, %.2fs", err, nk_extack,
		       t.calls, wrong, dt);
		batch_free(&t);
	}

	/* nk_request still matches its acks after batches */
	n = 0;
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	err = nk_request(m, count_cb, &n, NULL);
	report("after-batch", !err && n == 1, "err %d, %d replies", err, n);
	if (failures) {
		fprintf(stderr, "test_nl: %d failure(s)\n", failures);
		return 1;
	}
	fprintf(stderr, "test_nl: all passed\n");
	return 0;
}
