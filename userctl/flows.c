// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl flows: dump the flow table. The dump is kept in memory and
 * printed only once it completed without NLM_F_DUMP_INTR, so a retried
 * dump never prints partial or duplicated output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "natkctl.h"

#define DUMP_TRIES 5

struct flow_buf {
	struct flow *v;
	size_t n, cap;
	bool bad;
};

static int flows_cb(struct nl_msg *msg, void *arg)
{
	struct flow_buf *b = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		if (nla_type(a) != NATK_A_FLOW)
			continue;
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 4096;
			struct flow *v = realloc(b->v, cap * sizeof(*v));

			if (!v)
				fail("out of memory (%zu flows)", b->n);
			b->v = v;
			b->cap = cap;
		}
		if (flow_parse(a, &b->v[b->n]))
			b->n++;
		else
			b->bad = true;
	}
	return NL_OK;
}

static void flows_print(const struct flow_buf *b)
{
	print_open_array(NULL);
	for (size_t n = 0; n < b->n; n++) {
		print_open_object(NULL);
		flow_print(&b->v[n], true);
		print_close_object();
		print_text("\n");
	}
	print_close_array();
	print_end();
}

/*
 * Filters the kernel does not apply (it filters by protocol and internal
 * endpoint): the remote endpoint, the external port and the TCP state.
 */
struct flow_match {
	bool have_rem, have_rem_port, have_ext, have_state;
	uint32_t rem_addr;
	uint16_t rem_port, ext_port;
	const char *state;
};

static bool flow_matches(const struct flow_match *m, const struct flow *f)
{
	return (!m->have_rem || f->rem_addr == m->rem_addr) &&
	       (!m->have_rem_port || f->rem_port == m->rem_port) &&
	       (!m->have_ext || f->ext_port == m->ext_port) &&
	       (!m->have_state || !strcmp(flow_state_name(f), m->state));
}

static const char *const flow_states[] = {
	"syn_out", "syn_in", "established", "fin_out", "fin_in", "fin_both",
	"rst", "synack_in", "synack_out",
};

int cmd_flows(int argc, char **argv)
{
	static const char *const kw[] = {
		"proto", "internal", "remote", "external-port", "state",
	};
	struct flow_match m = {};
	struct flow_buf b = {};
	uint8_t proto = 0;
	uint32_t addr = 0;
	uint16_t port = 0;
	bool have_proto = false, have_addr = false, have_port = false;
	bool intr = false, count = false;
	int i, err = 0, try;
	size_t n, kept;

	/* "flows count [FILTER]...": the number only, as conntrack -C. */
	if (argc > 0 && !strcmp(argv[0], "count")) {
		count = true;
		argc--;
		argv++;
	}
	while (argc > 0) {
		i = match_word(argv[0], kw, ARRAY_SIZE(kw), true);
		if (i < 0)
			usage_fail("flows", "unknown filter '%s' (proto, internal, remote, external-port or state)",
				   argv[0]);
		if (argc < 2)
			usage_fail("flows", "'%s' needs a value", kw[i]);
		switch (i) {
		case 0:
			if (have_proto || !parse_proto(argv[1], true, &proto))
				usage_fail("flows", "invalid or repeated proto '%s' (tcp, udp or icmp)",
					   argv[1]);
			have_proto = true;
			break;
		case 1:
			if (have_addr ||
			    !parse_addr_port(argv[1], &addr, &port, &have_port))
				usage_fail("flows", "invalid or repeated internal '%s' (expected ADDR or ADDR:PORT)",
					   argv[1]);
			have_addr = true;
			break;
		case 2:
			if (m.have_rem ||
			    !parse_addr_port(argv[1], &m.rem_addr, &m.rem_port,
					     &m.have_rem_port))
				usage_fail("flows", "invalid or repeated remote '%s' (expected ADDR or ADDR:PORT)",
					   argv[1]);
			m.have_rem = true;
			break;
		case 3:
			if (m.have_ext || !parse_port(argv[1], &m.ext_port))
				usage_fail("flows", "invalid or repeated external-port '%s' (expected 1 to 65535)",
					   argv[1]);
			m.have_ext = true;
			break;
		default:
			if (m.have_state ||
			    match_word(argv[1], flow_states,
				       ARRAY_SIZE(flow_states), false) < 0)
				usage_fail("flows", "invalid or repeated state '%s' (a TCP state as flows prints it: established, syn_out, fin_both, ...)",
					   argv[1]);
			m.have_state = true;
			m.state = argv[1];
			break;
		}
		argc -= 2;
		argv += 2;
	}

	nk_open();
	nk_set_rcvbuf(4 << 20);
	for (try = 0; try < DUMP_TRIES; try++) {
		struct nl_msg *msg = nk_msg(NATK_CMD_GET_FLOWS, NLM_F_DUMP);

		if (have_proto)
			nla_put_u8(msg, NATK_A_FILTER_PROTO, proto);
		if (have_addr)
			nla_put_u32(msg, NATK_A_FILTER_ADDR_BE, addr);
		if (have_port)
			nla_put_u16(msg, NATK_A_FILTER_PORT, port);
		b.n = 0;
		b.bad = false;
		err = nk_request(msg, flows_cb, &b, &intr);
		if (err)
			nk_fail("flows", err);
		if (!intr)
			break;
	}
	if (intr)
		fail("flows: the flow table kept changing during the dump (tried %d times); try again",
		     DUMP_TRIES);
	if (b.bad)
		warnmsg("warning: skipped malformed flow entries from the kernel");

	for (n = 0, kept = 0; n < b.n; n++)
		if (flow_matches(&m, &b.v[n]))
			b.v[kept++] = b.v[n];
	b.n = kept;
	if (count) {
		print_open_object(NULL);
		print_u64(PRINT_ANY, "flows", "%u\n", b.n);
		print_close_object();
		print_end();
	} else {
		flows_print(&b);
	}
	free(b.v);
	return 0;
}
