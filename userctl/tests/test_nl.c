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
#include "../fwd.c"
#include "../monitor.c"
#include "../apply.c"

#include <linux/genetlink.h>

static int count_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(*(int *)arg)++;
	return NL_OK;
}

int main(void)
{
	struct nl_msg *m;
	bool intr = true;
	int n = 0, err, failures = 0, one = 1;

	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk) < 0) {
		fprintf(stderr, "test_nl: no generic netlink here, skipped\n");
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
	if (err || n < 1 || intr) {
		fprintf(stderr, "dump: err %d, %d replies, intr %d\n", err, n, intr);
		failures++;
	}

	/* a doit with a reply and an ack */
	n = 0;
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	err = nk_request(m, count_cb, &n, NULL);
	if (err || n != 1) {
		fprintf(stderr, "doit: err %d, %d replies\n", err, n);
		failures++;
	}

	/* an error: no such family */
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_string(m, CTRL_ATTR_FAMILY_NAME, "natk-nonexist");
	err = nk_request(m, NULL, NULL, NULL);
	if (err != -ENOENT) {
		fprintf(stderr, "enoent: err %d\n", err);
		failures++;
	}

	/* a policy error: the kernel explains it in an extended ack */
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
		    CTRL_CMD_GETFAMILY, 1);
	nla_put_u8(m, CTRL_ATTR_FAMILY_ID, 1);	/* must be u16 */
	err = nk_request(m, NULL, NULL, NULL);
	if (err != -EINVAL && err != -ERANGE) {
		fprintf(stderr, "policy: err %d\n", err);
		failures++;
	}
	fprintf(stderr, "test_nl: policy error %d, extack '%s'\n", err, nk_extack);
	if (!nk_extack[0]) {
		fprintf(stderr, "policy: no extended ack message\n");
		failures++;
	}

	/* the socket is still in sync after errors */
	n = 0;
	m = nlmsg_alloc();
	genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
		    CTRL_CMD_GETFAMILY, 1);
	err = nk_request(m, count_cb, &n, &intr);
	if (err || n < 1) {
		fprintf(stderr, "dump after errors: err %d, %d replies\n", err, n);
		failures++;
	}
	if (failures) {
		fprintf(stderr, "test_nl: %d failure(s)\n", failures);
		return 1;
	}
	fprintf(stderr, "test_nl: all passed\n");
	return 0;
}
