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
#include "../file.c"
#include "../fwd.c"
#include "../monitor.c"
#include "../apply.c"
#include "../metrics.c"
#include "../doctor.c"
#include "../supervise.c"

#include <linux/genetlink.h>
#include <stdarg.h>

static int count_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(*(int *)arg)++;
	return NL_OK;
}

/* One line per case on stdout (tests/run.sh checks they all came). */
static const char *const cases[] = {
	"dump", "doit", "enoent", "policy-error", "policy-extack",
	"dump-after-errors",
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
	if (failures) {
		fprintf(stderr, "test_nl: %d failure(s)\n", failures);
		return 1;
	}
	fprintf(stderr, "test_nl: all passed\n");
	return 0;
}
