// SPDX-License-Identifier: GPL-2.0
/* Generic netlink plumbing: socket, requests, acks, extended acks. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>

#include "natkctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef NLMSGERR_ATTR_MSG
#define NLMSGERR_ATTR_MSG 1
#endif

char nk_extack[512];
uint32_t nk_extack_off;

static struct nl_sock *sk;
static int family = -1;

void nk_enter_netns(void)
{
	static bool done;
	char path[4096];
	int fd;

	if (done || !netns_name)
		return;
	done = true;
	if (strchr(netns_name, '/') || !strcmp(netns_name, ".") ||
	    !strcmp(netns_name, ".."))
		input_fail("invalid network namespace name '%s'", netns_name);
	snprintf(path, sizeof(path), "/run/netns/%s", netns_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("cannot open network namespace '%s': %s (see: ip netns list)",
		     netns_name, strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0)
		fail("cannot enter network namespace '%s': %s%s", netns_name,
		     strerror(errno), errno == EPERM ? " (run as root)" : "");
	close(fd);
}

struct nl_sock *nk_sock(void)
{
	return sk;
}

int nk_family(void)
{
	return family;
}

static void nk_open_family(bool must);

/*
 * Is natk.ko loaded? Asked by the commands that only look (doctor, metrics,
 * apply --check): resolving the family would autoload the module.
 */
bool nk_module_loaded(void)
{
	return access("/sys/module/natk", F_OK) == 0;
}

/* nk_open, but false (and no socket) when there is no natk family. */
bool nk_try_open(void)
{
	if (sk)
		return true;
	nk_open_family(false);
	return sk != NULL;
}

void nk_open(void)
{
	nk_open_family(true);
}

static void nk_open_family(bool must)
{
	int one = 1, err;

	if (sk)
		return;
	nk_enter_netns();
	sk = nl_socket_alloc();
	if (!sk)
		fail("out of memory");
	err = genl_connect(sk);
	if (err < 0)
		fail("cannot open a generic netlink socket: %s", nl_geterror(err));
	/* Extended acks carry the kernel's reason for an error. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	family = genl_ctrl_resolve(sk, NATK_GENL_NAME);
	if (family == -NLE_OBJ_NOTFOUND && !must) {
		nl_socket_free(sk);
		sk = NULL;
		return;
	}
	if (family < 0) {
		if (family == -NLE_OBJ_NOTFOUND)
			fail("the natk module is not loaded (try: modprobe natk)");
		fail("cannot look up the natk netlink family: %s",
		     nl_geterror(family));
	}
}

struct nl_msg *nk_msg(uint8_t cmd, int flags)
{
	return nk_msg_size(cmd, flags, 0);
}

struct nl_msg *nk_msg_size(uint8_t cmd, int flags, size_t size)
{
	struct nl_msg *msg = size ? nlmsg_alloc_size(size) : nlmsg_alloc();

	if (!msg)
		fail("out of memory");
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
			 NATK_GENL_VERSION))
		fail("out of memory");
	return msg;
}

struct req {
	nl_recvmsg_msg_cb_t valid;
	void *arg;
	bool done;
	int err;
	bool intr;
};

/* Copy NLMSGERR_ATTR_MSG from the TLVs that start at off in nlh's payload. */
static void parse_extack(const struct nlmsghdr *nlh, size_t off)
{
	const char *start, *end = (const char *)nlh + nlh->nlmsg_len;
	struct nlattr *tb[NLMSGERR_ATTR_OFFS + 1] = {};
	struct nlattr *a;
	int rem;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	start = (const char *)nlmsg_data(nlh) + NLMSG_ALIGN(off);
	if (start >= end)
		return;
	rem = (int)(end - start);
	nla_for_each_attr(a, (struct nlattr *)start, rem, rem) {
		if (nla_type(a) == NLMSGERR_ATTR_MSG ||
		    nla_type(a) == NLMSGERR_ATTR_OFFS)
			tb[nla_type(a)] = a;
	}
	a = tb[NLMSGERR_ATTR_OFFS];
	if (a && nla_len(a) == sizeof(uint32_t))
		nk_extack_off = nla_get_u32(a);
	a = tb[NLMSGERR_ATTR_MSG];
	if (a && nla_len(a) > 0) {
		size_t len = (size_t)nla_len(a);

		if (len >= sizeof(nk_extack))
			len = sizeof(nk_extack) - 1;
		memcpy(nk_extack, nla_data(a), len);
		nk_extack[len] = '\0';
		/* Trust only what is printable. */
		for (char *p = nk_extack; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
	}
}

static void parse_err_extack(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = nlmsg_data(nlh);
	size_t off = sizeof(*e);

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len > NLMSG_HDRLEN)
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	parse_extack(nlh, off);
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	if (r->valid)
		return r->valid(msg, r->arg);
	return NL_OK;
}

static int msg_in_cb(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	if (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP_INTR)
		r->intr = true;
	return NL_OK;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int err;

	r->done = true;
	/* NLMSG_DONE carries the dump's error, then maybe an extack. */
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		memcpy(&err, nlmsg_data(nlh), sizeof(err));
		if (err < 0)
			r->err = err;
		parse_extack(nlh, sizeof(int));
	}
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	r->done = true;
	/* A successful ack may carry a warning. */
	parse_err_extack(nlmsg_hdr(msg));
	if (nk_extack[0])
		warnmsg("warning: %s", nk_extack);
	nk_extack[0] = '\0';
	return NL_STOP;
}

static int err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req *r = arg;
	const struct nlmsghdr *nlh =
		(const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);

	(void)nla;
	r->done = true;
	r->err = e->error ? e->error : -EIO;
	parse_err_extack(nlh);
	return NL_STOP;
}

static int nlerr_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_NOMEM:		return -ENOBUFS;
	case NLE_PERM:		return -EPERM;
	case NLE_NODEV:		return -ENODEV;
	case NLE_INVAL:		return -EINVAL;
	case NLE_EXIST:		return -EEXIST;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_OPNOTSUPP:	return -EOPNOTSUPP;
	case NLE_DUMP_INTR:	return -EINTR;
	default:		return -EIO;
	}
}

int nk_request(struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg,
	       bool *intr)
{
	struct req r = { .valid = valid, .arg = arg };
	struct nl_cb *cb;
	int ret;

	nk_extack[0] = '\0';
	nk_extack_off = 0;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		fail("out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &r);
	nl_cb_set(cb, NL_CB_MSG_IN, NL_CB_CUSTOM, msg_in_cb, &r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, err_cb, &r);

	nl_complete_msg(sk, msg);
	/* A dump ends with NLMSG_DONE: no ack (as iproute2 does). */
	if (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP)
		nlmsg_hdr(msg)->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	ret = nl_send(sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(cb);
		snprintf(nk_extack, sizeof(nk_extack), "send: %s",
			 nl_geterror(ret));
		return nlerr_to_errno(ret);
	}
	while (!r.done) {
		ret = nl_recvmsgs(sk, cb);
		if (r.err)
			break;
		if (ret == -NLE_DUMP_INTR) {
			/* libnl read the dump to its end and reports this */
			r.intr = true;
			continue;
		}
		if (ret < 0) {
			snprintf(nk_extack, sizeof(nk_extack), "receive: %s",
				 nl_geterror(ret));
			r.err = nlerr_to_errno(ret);
			break;
		}
	}
	nl_cb_put(cb);
	if (intr)
		*intr = r.intr;
	return r.err;
}

void nk_fail(const char *what, int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EPERM:
	case EACCES:
		/* The kernel says why when it is not the capability. */
		if (nk_extack[0])
			fail("%s: permission denied: %s", what, nk_extack);
		fail("permission denied: this needs CAP_NET_ADMIN (run as root)");
	case EOPNOTSUPP:
		fail("%s: not supported by the loaded natk module%s%s (is natkctl newer than the module?)",
		     what, nk_extack[0] ? ": " : "", nk_extack);
	default:
		break;
	}
	if (nk_extack[0])
		fail("%s: %s: %s", what, strerror(err), nk_extack);
	fail("%s: %s", what, strerror(err));
}

/* Best effort: root may exceed net.core.rmem_max with SO_RCVBUFFORCE. */
void nk_set_rcvbuf(int bytes)
{
	int fd = nl_socket_get_fd(sk);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		nl_socket_set_buffer_size(sk, bytes, 0);
}

/*
 * Sequence numbers of batched requests, apart from libnl's (which counts
 * from the time and checks the acks of nk_request against its own count).
 */
static uint32_t batch_seq = 0x80000000u;

int nk_request_batch(size_t n, size_t window,
		     struct nl_msg *(*build)(size_t i, void *arg),
		     void (*done)(size_t i, int err, void *arg), void *arg)
{
	unsigned char *buf = NULL, *rb;
	size_t next = 0, cap = 0, len, count, pending, k;
	uint32_t first, port = nl_socket_get_local_port(sk);
	struct sockaddr_nl peer;
	struct nlmsghdr *h;
	bool *acked;
	int ret = 0, r;

	if (!window)
		window = 1;
	acked = malloc(window * sizeof(*acked));
	if (!acked)
		fail("out of memory");
	while (next < n && !ret) {
		count = n - next < window ? n - next : window;
		first = batch_seq;
		batch_seq += (uint32_t)count;
		len = 0;
		for (k = 0; k < count; k++) {
			struct nl_msg *m = build(next + k, arg);
			const struct nlmsghdr *mh = nlmsg_hdr(m);
			size_t l = NLMSG_ALIGN(mh->nlmsg_len);

			if (len + l > cap) {
				cap = (len + l) * 2;
				buf = realloc(buf, cap);
				if (!buf)
					fail("out of memory");
			}
			memset(buf + len, 0, l);
			memcpy(buf + len, mh, mh->nlmsg_len);
			h = (struct nlmsghdr *)(buf + len);
			h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
			h->nlmsg_seq = first + (uint32_t)k;
			h->nlmsg_pid = port;
			len += l;
			nlmsg_free(m);
			acked[k] = false;
		}
		nk_extack[0] = '\0';
		r = nl_sendto(sk, buf, len);
		if (r < 0) {
			snprintf(nk_extack, sizeof(nk_extack), "send: %s",
				 nl_geterror(r));
			ret = nlerr_to_errno(r);
			break;
		}
		for (pending = count; pending && !ret;) {
			rb = NULL;
			r = nl_recv(sk, &peer, &rb, NULL);
			if (r <= 0) {
				snprintf(nk_extack, sizeof(nk_extack), "receive: %s",
					 r ? nl_geterror(r) : "end of file");
				ret = r ? nlerr_to_errno(r) : -EIO;
				free(rb);
				break;
			}
			for (h = (struct nlmsghdr *)rb; nlmsg_ok(h, r);
			     h = nlmsg_next(h, &r)) {
				const struct nlmsgerr *e = nlmsg_data(h);
				int err;

				if (h->nlmsg_type != NLMSG_ERROR)
					continue;	/* a request's reply */
				k = h->nlmsg_seq - first;
				if (k >= count || acked[k])
					continue;	/* not one of ours */
				acked[k] = true;
				pending--;
				nk_extack[0] = '\0';
				nk_extack_off = 0;
				if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(*e)) {
					err = -EIO;
				} else {
					err = e->error;
					if (err)
						parse_err_extack(h);
				}
				if (err > 0)
					err = -err;
				done(next + k, err, arg);
				nk_extack[0] = '\0';
			}
			free(rb);
		}
		next += count;
	}
	free(acked);
	free(buf);
	return ret;
}
