// SPDX-License-Identifier: GPL-2.0
/* natkctl monitor: flow and state events from the "events" group. */
#include <arpa/inet.h>
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

/* Bits by the index of their word in cmd_monitor()'s evs[]. */
enum { EV_NEW = 1, EV_DESTROY = 2, EV_STATE = 4, EV_UPDATE = 8, EV_ALL = 15 };
#define EV_FLOW	(EV_NEW | EV_UPDATE | EV_DESTROY)

struct mon {
	uint64_t count;		/* 0 = forever */
	uint64_t seen;
	unsigned int events;	/* EV_*: which to print; 0: see wanted() */
	struct flow_filter ff;	/* flow events only */
	bool flow_filtered;	/* a flow filter given: no state events */
};

/* Print events of kind ev? No event named: all, but a flow filter leaves
 * state events out. */
static bool wanted(const struct mon *m, unsigned int ev)
{
	unsigned int e = m->events;

	if (!e)
		e = m->flow_filtered ? EV_FLOW : EV_ALL;
	return e & ev;
}

/* The event's time, or now for a module that sent none. */
static void event_time(struct nlattr **tb, char *buf, size_t len)
{
	uint64_t ns;

	if (tb[NATK_A_TIMESTAMP_NS] && nla_len(tb[NATK_A_TIMESTAMP_NS]) >= 8)
		ns = nla_get_u64(tb[NATK_A_TIMESTAMP_NS]);
	else
		ns = now_realtime_ns();
	format_time(ns, buf, len);
}

static int event_done(struct mon *m)
{
	print_text("\n");
	print_end();
	print_flush();
	m->seen++;
	if (m->count && m->seen >= m->count)
		stop = 1;
	return NL_OK;
}

/*
 * NATK_CMD_STATE: the external interface came, went or changed address.
 *   2026-12-02T10:00:00.000000Z state   waiting-interface wan0
 */
static int state_event(struct mon *m, struct nl_msg *msg)
{
	struct nlattr *tb[NATK_A_MAX + 1];
	struct natk_status st = {};
	char when[64], addr[INET_ADDRSTRLEN];

	if (!wanted(m, EV_STATE))
		return NL_SKIP;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NATK_A_MAX, NULL) < 0 ||
	    status_parse(msg, &st))
		return NL_SKIP;
	event_time(tb, when, sizeof(when));
	print_open_object(NULL);
	print_string(PRINT_ANY, "time", "%s ", when);
	print_string(PRINT_ANY, "event", "%-7s ", "state");
	print_string(PRINT_ANY, "state", "%s", status_state_name(st.state));
	if (st.ifname[0])
		print_string(PRINT_ANY, "external_interface", " %s", st.ifname);
	else
		print_null(PRINT_JSON, "external_interface", NULL, NULL);
	if (st.ext_addr) {
		inet_ntop(AF_INET, &st.ext_addr, addr, sizeof(addr));
		print_string(PRINT_ANY, "external_address", " %s", addr);
	} else {
		print_null(PRINT_JSON, "external_address", NULL, NULL);
	}
	print_close_object();
	return event_done(m);
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct mon *m = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[NATK_A_MAX + 1];
	struct flow f;
	char when[64];
	const char *kind;
	unsigned int ev;
	bool destroy;

	if (nlh->nlmsg_type != nk_family())
		return NL_SKIP;
	if (g->cmd == NATK_CMD_STATE)
		return state_event(m, msg);
	switch (g->cmd) {
	case NATK_CMD_FLOW_NEW:
		ev = EV_NEW;
		kind = "new";
		break;
	case NATK_CMD_FLOW_UPDATE:	/* TCP state change, expiry refresh */
		ev = EV_UPDATE;
		kind = "update";
		break;
	case NATK_CMD_FLOW_DEL:
		ev = EV_DESTROY;
		kind = "destroy";
		break;
	default:
		return NL_SKIP;
	}
	if (genlmsg_parse(nlh, 0, tb, NATK_A_MAX, NULL) < 0 ||
	    !tb[NATK_A_FLOW] || !flow_parse(tb[NATK_A_FLOW], &f))
		return NL_SKIP;
	destroy = ev == EV_DESTROY;
	if (!wanted(m, ev) || !flow_filter_match(&m->ff, &f))
		return NL_SKIP;
	event_time(tb, when, sizeof(when));

	print_open_object(NULL);
	print_string(PRINT_ANY, "time", "%s ", when);
	print_string(PRINT_ANY, "event", "%-7s ", kind);
	if (destroy)
		print_string(PRINT_JSON, "reason", NULL, reason_name(f.reason));
	else
		print_null(PRINT_JSON, "reason", NULL, NULL);
	flow_print(&f, false);
	if (destroy)
		print_string(PRINT_TEXT, NULL, " reason %s", reason_name(f.reason));
	print_close_object();
	return event_done(m);
}

int cmd_monitor(int argc, char **argv)
{
	static const char *const kw[] = { "count", "event" };
	static const char *const evs[] = { "new", "destroy", "state", "update" };
	struct mon m = {};
	int used, k, e;
	struct sigaction sa = {};
	struct nl_sock *nsk;
	struct nl_cb *cb;
	struct pollfd pfd;
	uint32_t n;
	int grp, err;

	while (argc > 0) {
		k = match_word(argv[0], kw, ARRAY_SIZE(kw), false);
		if (k == 0) {
			if (argc < 2 || !parse_u32(argv[1], 1, UINT32_MAX, &n))
				usage_fail("monitor", "count needs a number of events (1 or more)");
			m.count = n;
		} else if (k == 1) {
			e = argc < 2 ? -1 :
			    match_word(argv[1], evs, ARRAY_SIZE(evs), false);
			if (e < 0)
				usage_fail("monitor", "event needs new, update, destroy or state");
			m.events |= 1u << e;
		} else {
			used = flow_filter_arg(&m.ff, "monitor", argc, argv);
			if (!used)
				usage_fail("monitor", "unknown argument '%s' (count, event, or a flow filter: " FLOW_FILTER_WORDS ")",
					   argv[0]);
			m.flow_filtered = true;
			argc -= used;
			argv += used;
			continue;
		}
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
