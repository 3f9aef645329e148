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
		b->v = grow_array(b->v, &b->cap, b->n, sizeof(*b->v), 4096);
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

static const char *const flow_states[] = {
	"syn_out", "syn_in", "established", "fin_out", "fin_in", "fin_both",
	"rst", "synack_in", "synack_out",
};

int flow_filter_arg(struct flow_filter *ff, const char *cmd, int argc,
		    char **argv)
{
	static const char *const kw[] = {
		"proto", "internal", "remote", "external-port", "state", "id",
	};
	int i;

	i = match_word(argv[0], kw, ARRAY_SIZE(kw), true);
	if (i < 0)
		return 0;
	if (argc < 2)
		usage_fail(cmd, "'%s' needs a value", kw[i]);
	switch (i) {
	case 0:
		if (ff->have_proto || !parse_proto(argv[1], true, &ff->proto))
			usage_fail(cmd, "invalid or repeated proto '%s' (tcp, udp or icmp)",
				   argv[1]);
		ff->have_proto = true;
		break;
	case 1:
		if (ff->have_int ||
		    !parse_addr_port(argv[1], &ff->int_addr, &ff->int_port,
				     &ff->have_int_port))
			usage_fail(cmd, "invalid or repeated internal '%s' (expected ADDR or ADDR:PORT)",
				   argv[1]);
		ff->have_int = true;
		break;
	case 2:
		if (ff->have_rem ||
		    !parse_addr_port(argv[1], &ff->rem_addr, &ff->rem_port,
				     &ff->have_rem_port))
			usage_fail(cmd, "invalid or repeated remote '%s' (expected ADDR or ADDR:PORT)",
				   argv[1]);
		ff->have_rem = true;
		break;
	case 3:
		if (ff->have_ext || !parse_port(argv[1], &ff->ext_port))
			usage_fail(cmd, "invalid or repeated external-port '%s' (expected 1 to 65535)",
				   argv[1]);
		ff->have_ext = true;
		break;
	case 4:
		if (ff->have_state ||
		    match_word(argv[1], flow_states, ARRAY_SIZE(flow_states),
			       false) < 0)
			usage_fail(cmd, "invalid or repeated state '%s' (a TCP state as flows prints it: established, syn_out, fin_both, ...)",
				   argv[1]);
		ff->have_state = true;
		ff->state = argv[1];
		break;
	default:
		if (ff->have_id || !parse_u32(argv[1], 0, UINT32_MAX, &ff->id))
			usage_fail(cmd, "invalid or repeated id '%s' (a flow id as flows -j prints it)",
				   argv[1]);
		ff->have_id = true;
		break;
	}
	return 2;
}

bool flow_filter_match(const struct flow_filter *ff, const struct flow *f)
{
	return (!ff->have_proto || f->proto == ff->proto) &&
	       (!ff->have_int || f->int_addr == ff->int_addr) &&
	       (!ff->have_int_port || f->int_port == ff->int_port) &&
	       (!ff->have_rem || f->rem_addr == ff->rem_addr) &&
	       (!ff->have_rem_port || f->rem_port == ff->rem_port) &&
	       (!ff->have_ext || f->ext_port == ff->ext_port) &&
	       (!ff->have_state || !strcmp(flow_state_name(f), ff->state)) &&
	       (!ff->have_id || f->id == ff->id);
}

/*
 * The flows that match ff, from a complete dump (retried while the table
 * changed under it). The kernel filters by protocol and internal
 * endpoint; the rest is filtered here.
 */
static void flows_get(const struct flow_filter *ff, struct flow_buf *b)
{
	bool intr = false;
	size_t n, kept;
	int err, try;

	nk_open();
	nk_set_rcvbuf(4 << 20);
	for (try = 0; try < DUMP_TRIES; try++) {
		struct nl_msg *msg = nk_msg(NATK_CMD_GET_FLOWS, NLM_F_DUMP);

		if (ff->have_proto)
			nla_put_u8(msg, NATK_A_FILTER_PROTO, ff->proto);
		if (ff->have_int)
			nla_put_u32(msg, NATK_A_FILTER_ADDR_BE, ff->int_addr);
		if (ff->have_int_port)
			nla_put_u16(msg, NATK_A_FILTER_PORT, ff->int_port);
		b->n = 0;
		b->bad = false;
		err = nk_request(msg, flows_cb, b, &intr);
		if (err)
			nk_fail("flows", err);
		if (!intr)
			break;
	}
	if (intr)
		fail("flows: the flow table kept changing during the dump (tried %d times); try again",
		     DUMP_TRIES);
	if (b->bad)
		warnmsg("warning: skipped malformed flow entries from the kernel");
	for (n = 0, kept = 0; n < b->n; n++)
		if (flow_filter_match(ff, &b->v[n]))
			b->v[kept++] = b->v[n];
	b->n = kept;
}

void flows_get_all(const struct flow_filter *ff, struct flow **v, size_t *n)
{
	struct flow_buf b = {};

	flows_get(ff, &b);
	*v = b.v;
	*n = b.n;
}

/*
 * Delete the flows of b one by one, by tuple and id (a newer flow with the
 * same tuple is not touched), as conntrack -D does. A flow gone meanwhile
 * is not an error. Returns how many this call deleted.
 */
static size_t flows_delete(const struct flow_buf *b)
{
	size_t n, deleted = 0;
	int err;

	for (n = 0; n < b->n; n++) {
		const struct flow *f = &b->v[n];
		struct nl_msg *msg = nk_msg(NATK_CMD_DELETE_FLOW, 0);
		struct nlattr *nest = nla_nest_start(msg, NATK_A_FLOW);

		nla_put_u8(msg, NATK_FLOW_A_PROTO, f->proto);
		nla_put_u32(msg, NATK_FLOW_A_INT_ADDR_BE, f->int_addr);
		nla_put_u16(msg, NATK_FLOW_A_INT_PORT, f->int_port);
		nla_put_u32(msg, NATK_FLOW_A_REM_ADDR_BE, f->rem_addr);
		nla_put_u16(msg, NATK_FLOW_A_REM_PORT, f->rem_port);
		if (f->present & (1u << NATK_FLOW_A_ID))
			nla_put_u32(msg, NATK_FLOW_A_ID, f->id);
		nla_nest_end(msg, nest);
		err = nk_request(msg, NULL, NULL, NULL);
		if (err == -EOPNOTSUPP)
			fail("flows del: this natk module cannot delete flows (load the natk.ko built with this natkctl)");
		if (err && err != -ENOENT)
			nk_fail("flows del", err);
		if (!err)
			deleted++;
	}
	return deleted;
}

/*
 * natkctl flows [count|del] [FILTER]...: the flows that match, how many
 * (as conntrack -C), or delete them (as conntrack -D). natkctl flows
 * save|restore FILE: flowfile.c.
 */
int cmd_flows(int argc, char **argv)
{
	static const char *const verbs[] = { "count", "del", "save", "restore" };
	struct flow_filter ff = {};
	struct flow_buf b = {};
	int verb = -1, used;
	size_t deleted;

	if (argc > 0) {
		verb = match_word(argv[0], verbs, ARRAY_SIZE(verbs), false);
		if (verb >= 0) {
			argc--;
			argv++;
		}
	}
	if (verb == 2)
		return flows_save(argc, argv);
	if (verb == 3)
		return flows_restore(argc, argv);
	while (argc > 0) {
		used = flow_filter_arg(&ff, "flows", argc, argv);
		if (!used)
			usage_fail("flows", "unknown filter '%s' (" FLOW_FILTER_WORDS ")",
				   argv[0]);
		argc -= used;
		argv += used;
	}

	flows_get(&ff, &b);
	switch (verb) {
	case 0:
		print_open_object(NULL);
		print_u64(PRINT_ANY, "flows", "%u\n", b.n);
		print_close_object();
		print_end();
		break;
	case 1:
		deleted = flows_delete(&b);
		if (ff.have_id && !deleted)
			fail("flows del: no flow with id %u (see: natkctl -j flows)",
			     ff.id);
		print_open_object(NULL);
		print_u64(PRINT_ANY, "deleted", "%u", deleted);
		print_textf(" flow%s deleted\n", deleted == 1 ? "" : "s");
		print_close_object();
		print_end();
		break;
	default:
		flows_print(&b);
		break;
	}
	free(b.v);
	return 0;
}
