// SPDX-License-Identifier: GPL-2.0
/* natkctl monitor: flow events from the "events" multicast group. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <netlink/genl/ctrl.h>

#include "natkctl.h"

static volatile sig_atomic_t stop;

static int noop_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct mon {
	uint64_t count;		/* 0 = forever */
	uint64_t seen;
};

/* 2024-05-01T12:34:56.123456Z (UTC) */
static void format_time(uint64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	unsigned int usec = (unsigned int)(ns % 1000000000ull / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06uZ", usec);
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct mon *m = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[NATK_A_MAX + 1];
	struct flow f;
	char when[64];
	uint64_t ns;
	bool destroy;

	if (nlh->nlmsg_type != nk_family())
		return NL_SKIP;
	if (g->cmd != NATK_CMD_FLOW_NEW && g->cmd != NATK_CMD_FLOW_DEL)
		return NL_SKIP;
	if (genlmsg_parse(nlh, 0, tb, NATK_A_MAX, NULL) < 0 ||
	    !tb[NATK_A_FLOW] || !flow_parse(tb[NATK_A_FLOW], &f))
		return NL_SKIP;
	destroy = g->cmd == NATK_CMD_FLOW_DEL;
	if (tb[NATK_A_TIMESTAMP_NS] && nla_len(tb[NATK_A_TIMESTAMP_NS]) >= 8) {
		ns = nla_get_u64(tb[NATK_A_TIMESTAMP_NS]);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	format_time(ns, when, sizeof(when));

	print_open_object(NULL);
	print_string(PRINT_ANY, "time", "%s ", when);
	print_string(PRINT_ANY, "event", "%-7s ", destroy ? "destroy" : "new");
	if (destroy)
		print_string(PRINT_JSON, "reason", NULL, reason_name(f.reason));
	else
		print_null(PRINT_JSON, "reason", NULL, NULL);
	flow_print(&f, false);
	if (destroy)
		print_string(PRINT_TEXT, NULL, " reason %s", reason_name(f.reason));
	print_close_object();
	print_text("\n");
	print_end();
	print_flush();

	m->seen++;
	if (m->count && m->seen >= m->count)
		stop = 1;
	return NL_OK;
}

int cmd_monitor(int argc, char **argv)
{
	static const char *const kw[] = { "count" };
	struct mon m = {};
	struct sigaction sa = {};
	struct nl_sock *nsk;
	struct nl_cb *cb;
	struct pollfd pfd;
	uint32_t n;
	int grp, err;

	while (argc > 0) {
		if (match_word(argv[0], kw, 1, true) != 0)
			usage_fail("monitor", "unknown argument '%s'", argv[0]);
		if (argc < 2 || !parse_u32(argv[1], 1, UINT32_MAX, &n))
			usage_fail("monitor", "count needs a number of events (1 or more)");
		m.count = n;
		argc -= 2;
		argv += 2;
	}

	/* JSON lines: one compact object per line, even with -p */
	print_init(print_is_json(), false);
	nk_open();
	nsk = nk_sock();
	grp = genl_ctrl_resolve_grp(nsk, NATK_GENL_NAME, NATK_MCGRP_EVENTS);
	if (grp < 0)
		fail("monitor: the natk module has no \"%s\" multicast group: %s",
		     NATK_MCGRP_EVENTS, nl_geterror(grp));
	err = nl_socket_add_membership(nsk, grp);
	if (err < 0)
		fail("monitor: cannot subscribe to natk events: %s%s",
		     nl_geterror(err),
		     err == -NLE_PERM ? " (run as root)" : "");
	nk_set_rcvbuf(8 << 20);
	/* events are not replies: no sequence numbers to check */
	nl_socket_disable_seq_check(nsk);
	nl_socket_set_nonblocking(nsk);

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		fail("out of memory");
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, noop_cb, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &m);

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);

	pfd.fd = nl_socket_get_fd(nsk);
	pfd.events = POLLIN;
	while (!stop) {
		int r = poll(&pfd, 1, -1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail("monitor: poll: %s", strerror(errno));
		}
		err = nl_recvmsgs(nsk, cb);
		if (err == -NLE_AGAIN)
			continue;
		if (err == -NLE_NOMEM) {
			/* ENOBUFS: the socket overflowed, events were lost */
			warnmsg("warning: events lost (receive buffer overrun)");
			continue;
		}
		if (err < 0 && !stop)
			fail("monitor: %s", nl_geterror(err));
		if (ferror(stdout))
			break;
	}
	nl_cb_put(cb);
	return 0;
}
