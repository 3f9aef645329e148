// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl supervise: natk.service's main process (natk-start execs it), so
 * that the unit's state is NAT's state. It speaks systemd's notify protocol
 * (Type=notify; a datagram to $NOTIFY_SOCKET, no libsystemd needed):
 *
 *   - until natk masquerades, the unit stays "activating" and STATUS= says
 *     what natk waits for (an interface, an address); then READY=1;
 *   - while natk masquerades, STATUS=masquerading out of IFNAME (ADDR);
 *   - with standby (an HA pair's member, natk-start passes it when
 *     /etc/natk.conf has a sync peer): natk waiting for its address is
 *     the standby's normal state, ready, and not a reason to exit;
 *   - NAT stops and waits for its interface or address: exit 3
 *     (NK_EXIT_INACTIVE), a transient failure: Restart=on-failure starts
 *     the unit again, and natk-stop keeps the configuration and flows;
 *   - NAT stopped (natkctl down, a file without external) or natk unloaded:
 *     exit 4, which the unit does not restart (RestartPreventExitStatus);
 *   - SIGTERM (systemctl stop): exit 0; natk-stop (ExecStopPost) then
 *     stops NAT and turns forwarding off if natk-start turned it on.
 *
 * It hears natk's state events (a socket filter passes only those, so a
 * busy NAT's flow events never wake it) and asks for the status at each,
 * and every few seconds for what sends no event (an unloaded module).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>

#include "natkctl.h"

/* Exit status: NAT was stopped or natk unloaded; no restart. */
#define SUPERVISE_EXIT_STOPPED	4
/* How often the status is read when no event comes. */
#define SUPERVISE_POLL_MS	5000

static volatile sig_atomic_t sv_stop;

static void sv_on_signal(int sig)
{
	(void)sig;
	sv_stop = 1;
}

struct sv {
	int notify_fd;			/* -1: not under systemd */
	struct sockaddr_un notify_sa;
	socklen_t notify_len;
	bool ready;			/* READY=1 sent */
	bool standby;			/* HA member: no address is normal */
	char status[256];		/* the last STATUS= sent */
};

/* The notify socket, opened before natkctl enters a netns (-n NETNS):
 * an abstract socket name belongs to the namespace it was made in. */
static void sv_notify_open(struct sv *s)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	s->notify_fd = -1;
	if (!path || !path[0])
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    len >= sizeof(s->notify_sa.sun_path)) {
		warnmsg("supervise: NOTIFY_SOCKET '%s' is not a socket path: not telling systemd",
			path);
		return;
	}
	s->notify_sa.sun_family = AF_UNIX;
	memcpy(s->notify_sa.sun_path, path, len);
	if (path[0] == '@')
		s->notify_sa.sun_path[0] = '\0';
	s->notify_len = offsetof(struct sockaddr_un, sun_path) + len;
	s->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->notify_fd < 0)
		fail("supervise: cannot open a socket for systemd: %s",
		     strerror(errno));
}

static void sv_notify(struct sv *s, const char *text)
{
	if (s->notify_fd < 0)
		return;
	if (sendto(s->notify_fd, text, strlen(text), MSG_NOSIGNAL,
		   (struct sockaddr *)&s->notify_sa, s->notify_len) < 0)
		warnmsg("supervise: cannot tell systemd (%s): %s",
			s->notify_sa.sun_path[0] ? s->notify_sa.sun_path :
			"abstract socket", strerror(errno));
}

/* STATUS=text (and the journal) when it changed; READY=1 with the first
 * active one. */
static void sv_status(struct sv *s, const char *text, bool ready)
{
	char msg[sizeof(s->status) + 32];
	bool send_ready = ready && !s->ready;

	if (!send_ready && !strcmp(text, s->status))
		return;
	snprintf(s->status, sizeof(s->status), "%s", text);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", send_ready ? "READY=1\n" : "",
		 text);
	s->ready = s->ready || ready;
	printf("%s\n", text);
	fflush(stdout);
	sv_notify(s, msg);
}

/* Why NAT stopped: STATUS= and stderr, then the exit status. */
static int sv_stopped(struct sv *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sv_stopped(struct sv *s, int code, const char *fmt, ...)
{
	char text[sizeof(s->status)], msg[sizeof(text) + 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	warnmsg("supervise: %s", text);
	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=%s", text);
	sv_notify(s, msg);
	return code;
}

/* Read natk's state: -1 to go on, else the exit status. */
static int sv_check(struct sv *s)
{
	struct natk_status st;
	char buf[128], text[sizeof(s->status)], addr[INET_ADDRSTRLEN];
	int err;

	if (!nk_module_loaded())
		return sv_stopped(s, SUPERVISE_EXIT_STOPPED,
				  "natk was unloaded: NAT is not running");
	err = status_get(&st);
	if (err)
		return sv_stopped(s, SUPERVISE_EXIT_STOPPED,
				  "natk does not answer (%s): NAT is not running",
				  nk_extack[0] ? nk_extack : strerror(-err));
	switch (st.state) {
	case NATK_STATE_ACTIVE:
		inet_ntop(AF_INET, &st.ext_addr, addr, sizeof(addr));
		if (st.npool > 1)
			snprintf(text, sizeof(text), "masquerading out of %s (%s and %u more addresses)",
				 st.ifname, addr, st.npool - 1);
		else
			snprintf(text, sizeof(text), "masquerading out of %s (%s)",
				 st.ifname, addr);
		sv_status(s, text, true);
		return -1;
	case NATK_STATE_WAIT_ADDRESS:
		/*
		 * An HA pair's standby: keepalived gives it the address on
		 * failover and takes it back after; its sync daemon holds
		 * the flows meanwhile. The unit is ready all along.
		 */
		if (s->standby) {
			snprintf(text, sizeof(text),
				 "standby: no address on %s until keepalived makes this host master (natkctl sync status)",
				 st.ifname);
			sv_status(s, text, true);
			return -1;
		}
		__attribute__((fallthrough));
	case NATK_STATE_WAIT_INTERFACE:
		status_state_text(&st, buf, sizeof(buf));
		if (s->ready)
			return sv_stopped(s, NK_EXIT_INACTIVE,
					  "NAT stopped, natk is %s; configuration and flows kept, restarting",
					  buf);
		snprintf(text, sizeof(text), "not masquerading yet: %s", buf);
		sv_status(s, text, false);
		return -1;
	default:
		return sv_stopped(s, SUPERVISE_EXIT_STOPPED,
				  "NAT was stopped (natkctl down, or a configuration without external): natk.service stops too");
	}
}

/*
 * A socket in natk's events group that only state events pass: classic
 * BPF on the datagram, which starts with the nlmsghdr and genlmsghdr.
 */
static struct nl_sock *sv_events_open(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS,
			 sizeof(struct nlmsghdr) +
			 offsetof(struct genlmsghdr, cmd)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATK_CMD_STATE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { ARRAY_SIZE(code), code };
	struct nl_sock *esk;
	int grp, err;

	grp = genl_ctrl_resolve_grp(nk_sock(), NATK_GENL_NAME, NATK_MCGRP_EVENTS);
	if (grp < 0)
		fail("supervise: the natk module has no \"%s\" multicast group: %s",
		     NATK_MCGRP_EVENTS, nl_geterror(grp));
	esk = nl_socket_alloc();
	if (!esk)
		fail("out of memory");
	err = genl_connect(esk);
	if (err < 0)
		fail("supervise: cannot open a generic netlink socket: %s",
		     nl_geterror(err));
	if (setsockopt(nl_socket_get_fd(esk), SOL_SOCKET, SO_ATTACH_FILTER,
		       &prog, sizeof(prog)) < 0)
		fail("supervise: cannot filter natk's events: %s",
		     strerror(errno));
	err = nl_socket_add_membership(esk, grp);
	if (err < 0)
		fail("supervise: cannot subscribe to natk events: %s%s",
		     nl_geterror(err), err == -NLE_PERM ? " (run as root)" : "");
	nl_socket_disable_seq_check(esk);
	nl_socket_set_nonblocking(esk);
	return esk;
}

static int sv_skip(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_SKIP;
}

int cmd_supervise(int argc, char **argv)
{
	struct sigaction sa = {};
	struct sv s = {};
	struct nl_sock *esk;
	struct pollfd pfd;
	struct nl_cb *cb;
	int rc, err;

	if (argc == 1 && !strcmp(argv[0], "standby"))
		s.standby = true;
	else if (argc > 0)
		usage_fail("supervise", "supervise takes no arguments but standby");
	sv_notify_open(&s);

	sa.sa_handler = sv_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (!nk_module_loaded())
		return sv_stopped(&s, SUPERVISE_EXIT_STOPPED,
				  "natk is not loaded: NAT is not running");
	nk_open();
	esk = sv_events_open();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		fail("out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, sv_skip, NULL);
	pfd.fd = nl_socket_get_fd(esk);
	pfd.events = POLLIN;

	/* Subscribed first, then read: no state change falls between. */
	rc = sv_check(&s);
	while (rc < 0 && !sv_stop) {
		if (poll(&pfd, 1, SUPERVISE_POLL_MS) < 0 && errno != EINTR)
			fail("supervise: poll: %s", strerror(errno));
		if (sv_stop)
			break;
		/* Drain; a lost event (ENOBUFS) is no matter: we read the
		 * status now either way. */
		do {
			err = nl_recvmsgs(esk, cb);
		} while (err >= 0 || err == -NLE_NOMEM);
		rc = sv_check(&s);
	}
	if (rc < 0) {
		sv_notify(&s, "STOPPING=1\nSTATUS=stopping (systemctl stop)");
		rc = 0;
	}
	nl_cb_put(cb);
	nl_socket_free(esk);
	return rc;
}
