// SPDX-License-Identifier: GPL-2.0
/* natkctl status, natkctl stats. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "natkctl.h"
#include "metrics.h"

/* present records attributes below 64 only. */
_Static_assert(NATK_A_MAX < 64, "natk_status.present is too small");

static const char *const state_names[] = {
	[NATK_STATE_DOWN]		= "down",
	[NATK_STATE_ACTIVE]		= "active",
	[NATK_STATE_WAIT_INTERFACE]	= "waiting-interface",
	[NATK_STATE_WAIT_ADDRESS]	= "waiting-address",
};

const char *status_state_name(uint8_t state)
{
	return state < ARRAY_SIZE(state_names) && state_names[state] ?
	       state_names[state] : "unknown";
}

const char *status_state_text(const struct natk_status *st, char *buf,
			      size_t len)
{
	switch (st->state) {
	case NATK_STATE_DOWN:
		return "down (no external interface set)";
	case NATK_STATE_ACTIVE:
		return "active";
	case NATK_STATE_WAIT_INTERFACE:
		snprintf(buf, len, "waiting for %s (no such interface)",
			 st->ifname);
		return buf;
	case NATK_STATE_WAIT_ADDRESS:
		if (status_has(st, NATK_A_ADDRS_MODE) &&
		    st->addrs_mode == NATK_ADDRS_LIST)
			snprintf(buf, len, "waiting for one of its addresses on %s",
				 st->ifname);
		else
			snprintf(buf, len, "waiting for an IPv4 address on %s",
				 st->ifname);
		return buf;
	}
	return "unknown";
}

static int config_cb(struct nl_msg *msg, void *arg)
{
	return status_parse(msg, arg) ? NL_SKIP : NL_OK;
}

/* A NATK_A_INTERNAL or NATK_A_NO_NAT nest; malformed entries are skipped. */
static void prefix_list_parse(const struct nlattr *nest,
			      struct natk_prefix_list *l)
{
	struct nlattr *tb[NATK_PREFIX_A_MAX + 1];
	struct nlattr *e;
	int rem;

	l->n = 0;
	nla_for_each_nested(e, nest, rem) {
		if (nla_type(e) != NATK_PREFIX_A_ENTRY ||
		    nla_parse_nested(tb, NATK_PREFIX_A_MAX, e, NULL) < 0 ||
		    !tb[NATK_PREFIX_A_ADDR_BE] || !tb[NATK_PREFIX_A_LEN] ||
		    nla_len(tb[NATK_PREFIX_A_ADDR_BE]) < 4 ||
		    nla_len(tb[NATK_PREFIX_A_LEN]) < 1 ||
		    nla_get_u8(tb[NATK_PREFIX_A_LEN]) > 32 ||
		    l->n == NATK_PREFIXES_MAX)
			continue;
		l->p[l->n].addr_be = nla_get_u32(tb[NATK_PREFIX_A_ADDR_BE]);
		l->p[l->n].len = nla_get_u8(tb[NATK_PREFIX_A_LEN]);
		l->n++;
	}
}

const char *const pool_proto_names[POOL_NPROTO] = { "tcp", "udp", "icmp" };

/* NATK_A_ADDRS: malformed entries are skipped. */
static void addr_list_parse(const struct nlattr *nest,
			    struct natk_addr_list *l)
{
	struct nlattr *tb[NATK_RANGE_A_MAX + 1];
	struct nlattr *e;
	uint32_t first, last;
	int rem;

	l->n = 0;
	nla_for_each_nested(e, nest, rem) {
		if (nla_type(e) != NATK_RANGE_A_ENTRY ||
		    nla_parse_nested(tb, NATK_RANGE_A_MAX, e, NULL) < 0 ||
		    !tb[NATK_RANGE_A_FIRST_BE] || !tb[NATK_RANGE_A_LAST_BE] ||
		    nla_len(tb[NATK_RANGE_A_FIRST_BE]) < 4 ||
		    nla_len(tb[NATK_RANGE_A_LAST_BE]) < 4 ||
		    l->n == NATK_ADDR_RANGES_MAX)
			continue;
		first = nla_get_u32(tb[NATK_RANGE_A_FIRST_BE]);
		last = nla_get_u32(tb[NATK_RANGE_A_LAST_BE]);
		if (ntohl(first) > ntohl(last))
			continue;
		l->r[l->n].first_be = first;
		l->r[l->n++].last_be = last;
	}
}

/* NATK_A_POOL: an entry without its address is skipped. */
static void pool_parse(const struct nlattr *nest, struct natk_status *st)
{
	static const int ports[POOL_NPROTO] = {
		NATK_POOL_A_PORTS_TCP, NATK_POOL_A_PORTS_UDP,
		NATK_POOL_A_PORTS_ICMP,
	};
	static const int exhausted[POOL_NPROTO] = {
		NATK_POOL_A_EXHAUSTED_TCP, NATK_POOL_A_EXHAUSTED_UDP,
		NATK_POOL_A_EXHAUSTED_ICMP,
	};
	struct nlattr *tb[NATK_POOL_A_MAX + 1];
	struct natk_pool_addr *p;
	struct nlattr *e;
	int rem;

	st->npool = 0;
	nla_for_each_nested(e, nest, rem) {
		if (nla_type(e) != NATK_POOL_A_ENTRY ||
		    nla_parse_nested(tb, NATK_POOL_A_MAX, e, NULL) < 0 ||
		    !tb[NATK_POOL_A_ADDR_BE] ||
		    nla_len(tb[NATK_POOL_A_ADDR_BE]) < 4 ||
		    st->npool == NATK_ADDRS_MAX)
			continue;
		p = &st->pool[st->npool++];
		memset(p, 0, sizeof(*p));
		p->addr_be = nla_get_u32(tb[NATK_POOL_A_ADDR_BE]);
		if (tb[NATK_POOL_A_HOSTS] && nla_len(tb[NATK_POOL_A_HOSTS]) >= 4) {
			p->hosts = nla_get_u32(tb[NATK_POOL_A_HOSTS]);
			p->has_hosts = true;
		}
		if (tb[NATK_POOL_A_BLOCKS] && nla_len(tb[NATK_POOL_A_BLOCKS]) >= 4)
			p->blocks = nla_get_u32(tb[NATK_POOL_A_BLOCKS]);
		for (int i = 0; i < POOL_NPROTO; i++) {
			if (tb[ports[i]] && nla_len(tb[ports[i]]) >= 4)
				p->ports[i] = nla_get_u32(tb[ports[i]]);
			if (tb[exhausted[i]] && nla_len(tb[exhausted[i]]) >= 8)
				p->exhausted[i] = nla_get_u64(tb[exhausted[i]]);
		}
	}
}

const struct natk_pool_addr *status_pool_find(const struct natk_status *st,
					      uint32_t addr_be)
{
	for (unsigned int i = 0; i < st->npool; i++)
		if (st->pool[i].addr_be == addr_be)
			return &st->pool[i];
	return NULL;
}

int status_parse(struct nl_msg *msg, struct natk_status *st)
{
	struct nlattr *tb[NATK_A_MAX + 1];
	struct nlattr *a;
	int i;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NATK_A_MAX, NULL) < 0)
		return -EINVAL;
	for (i = 1; i <= NATK_A_MAX; i++)
		if (tb[i])
			st->present |= 1ull << i;

#define GET(attr, field, getter, minlen) \
	do { \
		a = tb[attr]; \
		if (a && nla_len(a) >= (minlen)) \
			st->field = getter(a); \
	} while (0)

	GET(NATK_A_ENABLED, enabled, nla_get_u8, 1);
	GET(NATK_A_STATE, state, nla_get_u8, 1);
	GET(NATK_A_IFINDEX, ifindex, nla_get_u32, 4);
	GET(NATK_A_EXT_ADDR_BE, ext_addr, nla_get_u32, 4);
	GET(NATK_A_PORT_MIN, port_min, nla_get_u16, 2);
	GET(NATK_A_PORT_MAX, port_max, nla_get_u16, 2);
	GET(NATK_A_MAX_FLOWS, max_flows, nla_get_u32, 4);
	GET(NATK_A_MAX_FLOWS_PER_HOST, max_flows_per_host, nla_get_u32, 4);
	GET(NATK_A_FLOWS, flows, nla_get_u32, 4);
	GET(NATK_A_HASH_BUCKETS, hash_buckets, nla_get_u32, 4);
	GET(NATK_A_MAPPING, mapping, nla_get_u8, 1);
	GET(NATK_A_FILTERING, filtering, nla_get_u8, 1);
	GET(NATK_A_MSS_CLAMP, mss_clamp, nla_get_u16, 2);
	GET(NATK_A_PORT_HOLD, port_hold, nla_get_u32, 4);
	GET(NATK_A_PORTS_HELD, ports_held, nla_get_u32, 4);
	GET(NATK_A_HASH_MAX_CHAIN, hash_max_chain, nla_get_u32, 4);
	GET(NATK_A_HASH_ENTRIES, hash_entries, nla_get_u32, 4);
	GET(NATK_A_FAST_PATH, fast_path, nla_get_u8, 1);
	GET(NATK_A_FAST_PATH_WHY, fast_path_why, nla_get_u8, 1);
	GET(NATK_A_ADDRS_MODE, addrs_mode, nla_get_u8, 1);
	GET(NATK_A_PORT_BLOCK, port_block, nla_get_u16, 2);
	GET(NATK_A_PORT_BLOCKS_PER_HOST, port_blocks_per_host, nla_get_u16, 2);
	GET(NATK_A_ACCOUNTING, accounting, nla_get_u8, 1);
	for (i = 0; i < TIMEOUT_COUNT; i++)
		GET(timeout_attrs[i], timeout[i], nla_get_u32, 4);
#undef GET
	if (tb[NATK_A_INTERNAL])
		prefix_list_parse(tb[NATK_A_INTERNAL], &st->internal);
	if (tb[NATK_A_NO_NAT])
		prefix_list_parse(tb[NATK_A_NO_NAT], &st->no_nat);
	if (tb[NATK_A_ADDRS])
		addr_list_parse(tb[NATK_A_ADDRS], &st->addrs);
	if (tb[NATK_A_POOL])
		pool_parse(tb[NATK_A_POOL], st);
	a = tb[NATK_A_IFNAME];
	if (a && nla_len(a) > 0) {
		size_t len = strnlen(nla_data(a), (size_t)nla_len(a));

		if (len >= sizeof(st->ifname))
			len = sizeof(st->ifname) - 1;
		memcpy(st->ifname, nla_data(a), len);
		st->ifname[len] = '\0';
	}
	/* A module older than NATK_A_STATE: what its other attributes say. */
	if (!tb[NATK_A_STATE])
		st->state = !st->enabled ? NATK_STATE_DOWN :
			    st->ext_addr ? NATK_STATE_ACTIVE :
			    NATK_STATE_WAIT_ADDRESS;
	return 0;
}

int status_get(struct natk_status *st)
{
	memset(st, 0, sizeof(*st));
	nk_open();
	return nk_request(nk_msg(NATK_CMD_GET_CONFIG, 0), config_cb, st, NULL);
}

static const char *enum_name(const char *const *names, size_t n, uint8_t v)
{
	return v < n && names[v] ? names[v] : "unknown";
}

const char *status_mapping(const struct natk_status *st)
{
	return enum_name(mapping_names, ARRAY_SIZE(mapping_names), st->mapping);
}

const char *status_filtering(const struct natk_status *st)
{
	return enum_name(filtering_names, ARRAY_SIZE(filtering_names),
			 st->filtering);
}

bool status_has(const struct natk_status *st, int attr)
{
	return attr > 0 && attr < 64 && (st->present & (1ull << attr));
}

/*
 * "  internal: 10.0.0.0/16, 10.1.0.0/16" (empty: text "  KEY: none_text"),
 * JSON key: an array of "A.B.C.D/LEN" strings.
 */
static void prefix_list_print(const char *text_key, const char *json_key,
			      const struct natk_prefix_list *l,
			      const char *none_text)
{
	char buf[PREFIX_STRLEN];

	print_textf("  %s: ", text_key);
	print_open_array(json_key);
	for (unsigned int i = 0; i < l->n; i++)
		print_string(PRINT_ANY, NULL, i ? ", %s" : "%s",
			     prefix_str(&l->p[i], buf));
	if (!l->n)
		print_string(PRINT_TEXT, NULL, "%s", none_text);
	print_close_array();
	print_text("\n");
}

/* Each address's hosts, ports in use and exhaustion counts. */
static void pool_print(const struct natk_status *st)
{
	char a[INET_ADDRSTRLEN];
	int i;

	print_open_array("pool");
	for (unsigned int k = 0; k < st->npool; k++) {
		const struct natk_pool_addr *p = &st->pool[k];
		bool exhausted = false;

		inet_ntop(AF_INET, &p->addr_be, a, sizeof(a));
		print_open_object(NULL);
		print_string(PRINT_ANY, "address", "    %s:", a);
		/* Counted only while natk keeps an object per host. */
		if (p->has_hosts) {
			print_u64(PRINT_ANY, "hosts", " %u", p->hosts);
			print_text(p->hosts == 1 ? " host," : " hosts,");
		}
		print_text(" ports");
		print_open_object("ports");
		for (i = 0; i < POOL_NPROTO; i++) {
			print_textf(" %s", pool_proto_names[i]);
			print_u64(PRINT_ANY, pool_proto_names[i], " %u",
				  p->ports[i]);
			exhausted |= p->exhausted[i] != 0;
		}
		print_close_object();
		/* In the text only when a pool ran out. */
		if (exhausted)
			print_text(", exhausted");
		print_open_object("exhausted");
		for (i = 0; i < POOL_NPROTO; i++) {
			if (exhausted)
				print_textf(" %s", pool_proto_names[i]);
			print_u64(exhausted ? PRINT_ANY : PRINT_JSON,
				  pool_proto_names[i], " %u", p->exhausted[i]);
		}
		print_close_object();
		/* Blocks in use: in the text only while blocks are on. */
		if (status_has(st, NATK_A_PORT_BLOCK))
			print_u64(st->port_block ? PRINT_ANY : PRINT_JSON,
				  "blocks", ", blocks %u", p->blocks);
		print_text("\n");
		print_close_object();
	}
	print_close_array();
}

/*
 * The external addresses: the setting ("primary", "all" or the list),
 * the pool (an older module sends neither: nothing) and, for a list, the
 * listed addresses natk leaves out because the interface lacks them.
 */
static void addrs_print(const struct natk_status *st)
{
	char buf[ADDR_RANGE_STRLEN], a[INET_ADDRSTRLEN];
	bool list = st->addrs_mode == NATK_ADDRS_LIST;
	/* Only while natk has its interface: else all of them are. */
	bool missing = list && status_has(st, NATK_A_POOL) && st->enabled &&
		       (st->state == NATK_STATE_ACTIVE ||
			st->state == NATK_STATE_WAIT_ADDRESS);

	if (!status_has(st, NATK_A_ADDRS_MODE))
		return;
	print_open_object("addresses");
	print_string(PRINT_JSON, "mode", NULL,
		     st->addrs_mode <= NATK_ADDRS_MODE_MAX ?
		     addrs_mode_names[st->addrs_mode] : "unknown");
	print_textf("  addresses: %s", st->addrs_mode <= NATK_ADDRS_MODE_MAX ?
		    addrs_mode_names[st->addrs_mode] : "unknown");
	print_open_array("list");
	for (unsigned int i = 0; list && i < st->addrs.n; i++)
		print_string(PRINT_ANY, NULL, i ? ", %s" : " %s",
			     addr_range_str(&st->addrs.r[i], buf));
	print_close_array();
	print_text("\n");
	pool_print(st);
	print_open_array("missing");
	for (unsigned int i = 0; missing && i < st->addrs.n; i++) {
		uint32_t lo = ntohl(st->addrs.r[i].first_be);
		uint32_t hi = ntohl(st->addrs.r[i].last_be);

		for (uint64_t h = lo; h <= hi; h++) {
			uint32_t be = htonl((uint32_t)h);

			if (status_pool_find(st, be))
				continue;
			inet_ntop(AF_INET, &be, a, sizeof(a));
			print_string(PRINT_ANY, NULL, "    %s:", a);
			print_textf(" not on %s, left out\n", st->ifname);
		}
	}
	print_close_array();
	print_close_object();
}

static void status_print(const struct natk_status *st,
			 const struct natk_fwd *fwds, size_t nfwd)
{
	char addr[INET_ADDRSTRLEN];
	int i;

	char buf[64];

	print_open_object(NULL);
	print_textf("natk: %s\n", st->enabled ? "enabled" : "disabled");
	print_bool(PRINT_JSON, "enabled", NULL, st->enabled);
	print_string(PRINT_JSON, "state", NULL, status_state_name(st->state));

	print_text("  external interface: ");
	if (st->ifname[0] && st->enabled)
		print_string(PRINT_ANY, "external_interface", "%s", st->ifname);
	else
		print_null(PRINT_ANY, "external_interface", "%s", "none");
	if (st->ext_addr && st->enabled) {
		inet_ntop(AF_INET, &st->ext_addr, addr, sizeof(addr));
		print_string(PRINT_ANY, "external_address", " (%s)", addr);
	} else {
		print_null(PRINT_ANY, "external_address",
			   st->enabled ? " (%s)" : NULL, "no address");
	}
	print_text("\n");
	if (st->enabled)
		print_textf("  state: %s\n",
			    status_state_text(st, buf, sizeof(buf)));
	/* Missing from older modules' replies, as are the rest. */
	addrs_print(st);
	/* Which traffic is translated; missing from older modules' replies. */
	if (status_has(st, NATK_A_INTERNAL))
		prefix_list_print("internal", "internal", &st->internal, "any");
	if (status_has(st, NATK_A_NO_NAT))
		prefix_list_print("no-nat", "no_nat", &st->no_nat, "none");

	print_u64(PRINT_ANY, "port_min", "  ports: %u", st->port_min);
	print_u64(PRINT_ANY, "port_max", "-%u\n", st->port_max);
	print_string(PRINT_ANY, "mapping", "  mapping: %s", status_mapping(st));
	print_string(PRINT_ANY, "filtering", "   filtering: %s\n",
		     status_filtering(st));

	print_text("  timeouts:");
	print_open_object("timeouts");
	for (i = 0; i < TIMEOUT_COUNT; i++) {
		print_textf(" %s", timeout_names[i]);
		print_u64(PRINT_ANY, timeout_json_keys[i], " %us", st->timeout[i]);
	}
	print_close_object();
	print_text("\n");

	print_u64(PRINT_ANY, "flows", "  flows: %u", st->flows);
	print_u64(PRINT_ANY, "max_flows", " / %u\n", st->max_flows);
	if (st->max_flows_per_host)
		print_u64(PRINT_ANY, "max_flows_per_host",
			  "  max-flows-per-host: %u", st->max_flows_per_host);
	else
		print_u64(PRINT_ANY, "max_flows_per_host",
			  "  max-flows-per-host: none", 0);
	print_u64(PRINT_ANY, "hash_buckets", "   hash buckets: %u",
		  st->hash_buckets);
	/* Both are missing from the replies of older modules. */
	if (status_has(st, NATK_A_HASH_ENTRIES))
		print_u64(PRINT_ANY, "hash_entries", "   entries: %u",
			  st->hash_entries);
	if (status_has(st, NATK_A_HASH_MAX_CHAIN))
		print_u64(PRINT_ANY, "hash_max_chain", "   longest chain: %u",
			  st->hash_max_chain);
	print_text("\n");

	if (st->mss_clamp == 0)
		print_string(PRINT_ANY, "mss_clamp", "  mss-clamp: %s\n", "off");
	else if (st->mss_clamp == NATK_MSS_CLAMP_PMTU)
		print_string(PRINT_ANY, "mss_clamp", "  mss-clamp: %s\n", "pmtu");
	else
		print_u64(PRINT_ANY, "mss_clamp", "  mss-clamp: %u\n",
			  st->mss_clamp);

	/* Both are missing from the replies of older modules. */
	if (status_has(st, NATK_A_PORT_HOLD)) {
		if (st->port_hold)
			print_u64(PRINT_ANY, "port_hold", "  port-hold: %us",
				  st->port_hold);
		else
			print_u64(PRINT_ANY, "port_hold", "  port-hold: off", 0);
	}
	if (status_has(st, NATK_A_PORTS_HELD))
		print_u64(PRINT_ANY, "ports_held",
			  status_has(st, NATK_A_PORT_HOLD) ?
			  "   held ports: %u" : "  held ports: %u",
			  st->ports_held);
	if (status_has(st, NATK_A_PORT_HOLD) ||
	    status_has(st, NATK_A_PORTS_HELD))
		print_text("\n");

	/* Missing from the replies of older modules. */
	if (status_has(st, NATK_A_PORT_BLOCK)) {
		if (st->port_block)
			print_u64(PRINT_ANY, "port_block", "  port-block: %u ports",
				  st->port_block);
		else
			print_u64(PRINT_ANY, "port_block", "  port-block: off", 0);
		if (status_has(st, NATK_A_PORT_BLOCKS_PER_HOST))
			print_u64(PRINT_ANY, "port_blocks_per_host",
				  "   port-blocks-per-host: %u",
				  st->port_blocks_per_host);
		print_text("\n");
	}

	/* Missing from the replies of older modules. */
	if (status_has(st, NATK_A_FAST_PATH)) {
		static const char *const why[] = {
			[NATK_FP_ACTIVE] = "active",
			[NATK_FP_WHY_OFF] = "off",
			[NATK_FP_WHY_DOWN] = "inactive: no external address",
			[NATK_FP_WHY_HOOKS] = "inactive: other netfilter hooks (nf_conntrack, nftables or iptables) would be skipped; 'set fast-path on' overrides",
			[NATK_FP_WHY_XFRM] = "inactive: IPsec forward policies",
		};
		const char *w = st->fast_path_why < sizeof(why) / sizeof(why[0]) ?
				why[st->fast_path_why] : NULL;

		print_string(PRINT_ANY, "fast_path", "  fast-path: %s",
			     st->fast_path <= NATK_FAST_PATH_MAX ?
			     fast_path_names[st->fast_path] : "?");
		print_bool(PRINT_JSON, "fast_path_active", NULL,
			   st->fast_path_why == NATK_FP_ACTIVE);
		print_string(PRINT_ANY, "fast_path_state", " (%s)\n",
			     w ? w : "unknown");
	}
	/* Missing from the replies of older modules. */
	if (status_has(st, NATK_A_ACCOUNTING)) {
		print_textf("  accounting: %s\n", st->accounting ? "on" : "off");
		print_bool(PRINT_JSON, "accounting", NULL, st->accounting);
	}

	if (!fwds && nfwd) {
		/* Forwards name internal hosts: admin only (natkctl(8)). */
		print_null(PRINT_ANY, "forwards", "  forwards: %s\n",
			   "not shown (needs CAP_NET_ADMIN)");
	} else {
		if (nfwd)
			print_text("  forwards:\n");
		fwd_print_list(fwds, nfwd, "forwards", "    ");
	}
	print_close_object();
	print_end();
}

int cmd_status(int argc, char **argv)
{
	struct natk_status st;
	struct natk_fwd *fwds = NULL;
	size_t nfwd = 0;
	int err;

	(void)argv;
	if (argc)
		usage_fail("status", "status takes no arguments");
	err = status_get(&st);
	if (err)
		nk_fail("status", err);
	err = fwd_get_all(&fwds, &nfwd);
	if (err == -EOPNOTSUPP)
		warnmsg("warning: this natk module cannot list port forwards");
	else if (err == -EPERM)
		nfwd = 1;	/* status_print: not shown */
	else if (err)
		nk_fail("status: port forwards", err);
	status_print(&st, fwds, nfwd);
	free(fwds);
	/* As systemctl is-active: not masquerading is not success. */
	return st.state == NATK_STATE_ACTIVE ? 0 : NK_EXIT_INACTIVE;
}

static const char *const stat_names[NATK_STAT_MAX + 1] = {
	[NATK_STAT_ACTIVE_CONNECTIONS]		= "active_connections",
	[NATK_STAT_CONNECTION_ATTEMPTS]		= "connection_attempts",
	[NATK_STAT_CONNECTIONS_ESTABLISHED]	= "connections_established",
	[NATK_STAT_IDLE_TIMEOUTS]		= "idle_timeouts",
	[NATK_STAT_PORT_ALLOCATION_ERRORS]	= "port_allocation_errors",
	[NATK_STAT_PACKETS_IN_FROM_SOURCE]	= "packets_in_from_source",
	[NATK_STAT_BYTES_IN_FROM_SOURCE]	= "bytes_in_from_source",
	[NATK_STAT_PACKETS_OUT_TO_DESTINATION]	= "packets_out_to_destination",
	[NATK_STAT_BYTES_OUT_TO_DESTINATION]	= "bytes_out_to_destination",
	[NATK_STAT_PACKETS_IN_FROM_DESTINATION]	= "packets_in_from_destination",
	[NATK_STAT_BYTES_IN_FROM_DESTINATION]	= "bytes_in_from_destination",
	[NATK_STAT_PACKETS_OUT_TO_SOURCE]	= "packets_out_to_source",
	[NATK_STAT_BYTES_OUT_TO_SOURCE]		= "bytes_out_to_source",
	[NATK_STAT_PACKETS_DROPPED]		= "packets_dropped",
	[NATK_STAT_DROP_TABLE_FULL]		= "drop_table_full",
	[NATK_STAT_DROP_NO_PORT]		= "drop_no_port",
	[NATK_STAT_DROP_INVALID]		= "drop_invalid",
	[NATK_STAT_DROP_UNSOLICITED]		= "drop_unsolicited",
	[NATK_STAT_DROP_NO_MEMORY]		= "drop_no_memory",
	[NATK_STAT_DROP_HOST_LIMIT]		= "drop_host_limit",
	[NATK_STAT_DROP_BAD_CHECKSUM]		= "drop_bad_checksum",
	[NATK_STAT_DROP_NO_FLOW]		= "drop_no_flow",
	[NATK_STAT_DROP_FRAGMENT]		= "drop_fragment",
	[NATK_STAT_ICMP_ERRORS_TRANSLATED]	= "icmp_errors_translated",
	[NATK_STAT_FLOWS_EVICTED]		= "flows_evicted",
	[NATK_STAT_EVENTS_LOST]			= "events_lost",
	[NATK_STAT_PASSED_NO_FLOW]		= "passed_no_flow",
	[NATK_STAT_HAIRPINNED]			= "hairpinned",
	[NATK_STAT_DROP_ICMP_RATELIMIT]		= "drop_icmp_ratelimit",
	[NATK_STAT_FASTPATH_PACKETS]		= "fastpath_packets",
	[NATK_STAT_FASTPATH_ROUTES]		= "fastpath_routes",
	[NATK_STAT_PASSED_OUT_OF_SCOPE]		= "passed_out_of_scope",
	[NATK_STAT_MAP_EVENTS_LOST]		= "map_events_lost",
	[NATK_STAT_FASTPATH_INGRESS]		= "fastpath_ingress",
	[NATK_STAT_FASTPATH_BRIDGE]		= "fastpath_bridge",
};

struct stats {
	uint64_t v[NATK_STAT_MAX + 1];
	bool got;
};

static int stats_cb(struct nl_msg *msg, void *arg)
{
	struct stats *s = arg;
	struct nlattr *tb[NATK_A_MAX + 1];
	struct nlattr *a;
	int rem;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NATK_A_MAX, NULL) < 0 ||
	    !tb[NATK_A_STATS])
		return NL_SKIP;
	s->got = true;
	nla_for_each_nested(a, tb[NATK_A_STATS], rem) {
		int t = nla_type(a);

		/* unknown (newer) counters and the pad are ignored */
		if (t <= 0 || t > NATK_STAT_MAX || !stat_names[t] ||
		    nla_len(a) < 8)
			continue;
		s->v[t] = nla_get_u64(a);
	}
	return NL_OK;
}

/* Every counter we know is printed, 0 if the kernel did not send it. */
static void stats_print(const struct stats *s)
{
	print_open_object(NULL);
	for (int i = 1; i <= NATK_STAT_MAX; i++) {
		if (!stat_names[i])
			continue;
		print_textf("%s: ", stat_names[i]);
		print_u64(PRINT_ANY, stat_names[i], "%u\n", s->v[i]);
	}
	print_close_object();
	print_end();
}

int stats_get(uint64_t v[NATK_STAT_MAX + 1])
{
	struct stats s = {};
	int err;

	nk_open();
	err = nk_request(nk_msg(NATK_CMD_GET_STATS, 0), stats_cb, &s, NULL);
	if (err)
		return err;
	if (!s.got)
		return -ENODATA;
	memcpy(v, s.v, sizeof(s.v));
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	struct stats s = {};
	int err;

	if (argc)
		return stats_output(argc, argv);	/* metrics.c */
	nk_open();
	err = nk_request(nk_msg(NATK_CMD_GET_STATS, 0), stats_cb, &s, NULL);
	if (err)
		nk_fail("stats", err);
	if (!s.got)
		fail("stats: the kernel sent no counters");
	stats_print(&s);
	return 0;
}
