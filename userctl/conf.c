// SPDX-License-Identifier: GPL-2.0
/*
 * The settings of "natkctl set", also the lines of a configuration file.
 * Parsing is pure (no netlink), so "apply --check" can validate a file.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natkctl.h"

const char *const timeout_names[TIMEOUT_COUNT] = {
	[TIMEOUT_TCP_EST]	= "tcp-established",
	[TIMEOUT_TCP_TRANS]	= "tcp-transitory",
	[TIMEOUT_UDP]		= "udp",
	[TIMEOUT_ICMP]		= "icmp",
};

const char *const timeout_json_keys[TIMEOUT_COUNT] = {
	[TIMEOUT_TCP_EST]	= "tcp_established",
	[TIMEOUT_TCP_TRANS]	= "tcp_transitory",
	[TIMEOUT_UDP]		= "udp",
	[TIMEOUT_ICMP]		= "icmp",
};

const int timeout_attrs[TIMEOUT_COUNT] = {
	[TIMEOUT_TCP_EST]	= NATK_A_TIMEOUT_TCP_EST,
	[TIMEOUT_TCP_TRANS]	= NATK_A_TIMEOUT_TCP_TRANS,
	[TIMEOUT_UDP]		= NATK_A_TIMEOUT_UDP,
	[TIMEOUT_ICMP]		= NATK_A_TIMEOUT_ICMP,
};

const char *const mapping_names[NATK_MAPPING_MAX + 1] = {
	[NATK_MAPPING_ENDPOINT_INDEPENDENT]	= "endpoint-independent",
	[NATK_MAPPING_ADDRESS_PORT_DEPENDENT]	= "address-port-dependent",
};

const char *const filtering_names[NATK_FILTERING_MAX + 1] = {
	[NATK_FILTERING_ADDRESS_PORT_DEPENDENT]	= "address-port-dependent",
	[NATK_FILTERING_ADDRESS_DEPENDENT]	= "address-dependent",
	[NATK_FILTERING_ENDPOINT_INDEPENDENT]	= "endpoint-independent",
};

enum setting {
	S_EXTERNAL,
	S_PORTS,
	S_MAX_FLOWS,
	S_MAX_PER_HOST,
	S_TIMEOUT,
	S_MAPPING,
	S_FILTERING,
	S_MSS,
	S_PORT_HOLD,
	S_FAST_PATH,
	S_INTERNAL,
	S_NO_NAT,
	S_ADDRESSES,
	S_PORT_BLOCK,
	S_BLOCKS_PER_HOST,
	S_ACCOUNTING,
	S_COUNT,
};

static const char *const setting_names[S_COUNT] = {
	[S_EXTERNAL]	= "external",
	[S_PORTS]	= "ports",
	[S_MAX_FLOWS]	= "max-flows",
	[S_MAX_PER_HOST] = "max-flows-per-host",
	[S_TIMEOUT]	= "timeout",
	[S_MAPPING]	= "mapping",
	[S_FILTERING]	= "filtering",
	[S_MSS]		= "mss-clamp",
	[S_PORT_HOLD]	= "port-hold",
	[S_FAST_PATH]	= "fast-path",
	[S_INTERNAL]	= "internal",
	[S_NO_NAT]	= "no-nat",
	[S_ADDRESSES]	= "addresses",
	[S_PORT_BLOCK]	= "port-block",
	[S_BLOCKS_PER_HOST] = "port-blocks-per-host",
	[S_ACCOUNTING]	= "accounting",
};

static const char *const setting_help[S_COUNT] = {
	[S_EXTERNAL]	= "IFNAME",
	[S_PORTS]	= "LO-HI, with 1 <= LO <= HI <= 65535",
	[S_MAX_FLOWS]	= "a number from 1 to 4294967295",
	[S_MAX_PER_HOST] = "a number, 0 or \"none\" for no limit",
	[S_TIMEOUT]	= "NAME SECONDS, NAME one of tcp-established, tcp-transitory, udp, icmp",
	[S_MAPPING]	= "endpoint-independent or address-port-dependent",
	[S_FILTERING]	= "address-port-dependent, address-dependent or endpoint-independent",
	[S_MSS]		= "pmtu, off or a value from 88 to 65534",
	[S_PORT_HOLD]	= "seconds from 0 to 3600 (units s, m, h allowed), 0 or \"off\" for no hold",
	[S_FAST_PATH]	= "auto, on or off",
	[S_INTERNAL]	= "PREFIX[,PREFIX]... (A.B.C.D/LEN or A.B.C.D), or all",
	[S_NO_NAT]	= "PREFIX[,PREFIX]... (A.B.C.D/LEN or A.B.C.D), or none",
	[S_ADDRESSES]	= "primary, all, or ADDR[,ADDR|ADDR-ADDR]... (at most 16 ranges, 32 addresses)",
	[S_PORT_BLOCK]	= "ports a block from 8 to 4096, or off",
	[S_BLOCKS_PER_HOST] = "a number from 1 to 32",
	[S_ACCOUNTING]	= "on or off (count the packets and bytes of the flows made from then on)",
};

const char *const addrs_mode_names[NATK_ADDRS_MODE_MAX + 1] = {
	[NATK_ADDRS_PRIMARY]	= "primary",
	[NATK_ADDRS_ALL]	= "all",
	[NATK_ADDRS_LIST]	= "list",
};

const char *const fast_path_names[NATK_FAST_PATH_MAX + 1] = {
	[NATK_FAST_PATH_AUTO]	= "auto",
	[NATK_FAST_PATH_ON]	= "on",
	[NATK_FAST_PATH_OFF]	= "off",
};

/* accounting's values, indexed by NATK_A_ACCOUNTING's. */
static const char *const accounting_names[2] = { "off", "on" };

const char *conf_keywords(void)
{
	return "external, ports, max-flows, max-flows-per-host, timeout, "
	       "mapping, filtering, mss-clamp, port-hold, fast-path, internal, "
	       "no-nat, addresses, port-block, port-blocks-per-host, accounting";
}

/* One of names[n] (or an unambiguous prefix): its index in *out. */
static bool parse_choice(const char *v, const char *const *names, size_t n,
			 bool prefix_ok, uint8_t *out)
{
	int i = match_word(v, names, n, prefix_ok);

	if (i < 0)
		return false;
	*out = (uint8_t)i;
	return true;
}

#define ERR(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= IF_NAMESIZE)
		return false;
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || (unsigned char)*s <= ' ')
			return false;
	return true;
}

const char *prefix_str(const struct natk_prefix *p, char *buf)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &p->addr_be, a, sizeof(a));
	snprintf(buf, PREFIX_STRLEN, "%s/%u", a, p->len);
	return buf;
}

/* Does a prefix list go on after word w, before next (NULL: none)? */
static bool list_continues(const char *w, const char *next)
{
	size_t n = strlen(w);

	return (n && w[n - 1] == ',') || (next && next[0] == ',');
}

/*
 * The value of internal or no-nat, from argv[1] on: prefixes separated by
 * commas, one word or several ("10.0.0.0/8, 172.16.0.0/12": a word that
 * ends in a comma, or a next word that starts with one, continues the
 * list), or the keyword for the empty list. A repeated prefix counts once.
 * Returns the words used, or -1 with a message in err.
 */
/*
 * The value of a comma-separated list from argv[1] on, its words joined
 * (malloc'ed); *used: the words it took, the key's included.
 */
static char *join_list(int argc, char **argv, int *used)
{
	size_t len = 0, off = 0, wl;
	char *v;
	int u = 1;

	do {
		len += strlen(argv[u++]);
	} while (u < argc && list_continues(argv[u - 1], argv[u]));
	v = malloc(len + 1);
	if (!v)
		fail("out of memory");
	for (int i = 1; i < u; i++, off += wl) {
		wl = strlen(argv[i]);
		memcpy(v + off, argv[i], wl + 1);
	}
	*used = u;
	return v;
}

static int parse_prefix_list(const char *key, const char *empty, int argc,
			     char **argv, struct natk_prefix_list *l,
			     char *err, size_t errlen)
{
	char *v, *tok, *next, net[PREFIX_STRLEN];
	int used, ret = -1;

	v = join_list(argc, argv, &used);
	l->n = 0;
	if (!strcmp(v, empty) || (!strcmp(empty, "all") && !strcmp(v, "any"))) {
		ret = used;
		goto out;
	}
	for (tok = v; tok; tok = next) {
		struct natk_prefix p;
		unsigned int i;

		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		switch (parse_prefix(tok, &p.addr_be, &p.len)) {
		case PREFIX_OK:
			break;
		case PREFIX_LEN:
			snprintf(err, errlen, "%s: invalid prefix '%s': the length after '/' is 0 to 32",
				 key, tok);
			goto out;
		case PREFIX_HOST_BITS:
			p.addr_be &= prefix_mask_be(p.len);
			snprintf(err, errlen, "%s: %s has host bits set: did you mean %s?",
				 key, tok, prefix_str(&p, net));
			goto out;
		default:
			if (!*tok)
				snprintf(err, errlen, "%s: a prefix is missing (two commas in a row, or one at an end of the list)",
					 key);
			else if (!strcmp(tok, empty))
				snprintf(err, errlen, "%s: '%s' stands alone, without prefixes",
					 key, empty);
			else
				snprintf(err, errlen, "%s: invalid prefix '%s': expected A.B.C.D/LEN or A.B.C.D, several separated by commas, or %s",
					 key, tok, empty);
			goto out;
		}
		for (i = 0; i < l->n; i++)
			if (l->p[i].addr_be == p.addr_be && l->p[i].len == p.len)
				break;
		if (i < l->n)
			continue;
		if (l->n == NATK_PREFIXES_MAX) {
			snprintf(err, errlen, "%s: more than %u prefixes: cover them with fewer, shorter ones",
				 key, NATK_PREFIXES_MAX);
			goto out;
		}
		l->p[l->n++] = p;
	}
	ret = used;
out:
	free(v);
	return ret;
}

int conf_parse_setting(struct natk_conf *c, int argc, char **argv,
		       bool prefix_ok, char *err, size_t errlen)
{
	unsigned int bit;
	const char *key, *v;
	uint32_t u;
	uint8_t len;
	int s, i, need;

	key = argv[0];
	s = match_word(key, setting_names, S_COUNT, prefix_ok);
	if (s == -2)
		ERR("ambiguous setting '%s' (one of: %s)", key, conf_keywords());
	if (s < 0 && parse_prefix(key, &u, &len) != PREFIX_SYNTAX)
		ERR("'%s' is not a setting: separate the prefixes of internal or no-nat with commas (and the addresses of addresses)",
		    key);
	if (s < 0 && strchr(key, '-') && strchr(key, '.') &&
	    isdigit((unsigned char)key[0]))
		ERR("'%s' is not a setting: separate the addresses of addresses with commas",
		    key);
	if (s < 0)
		ERR("unknown setting '%s' (one of: %s)", key, conf_keywords());
	key = setting_names[s];
	need = s == S_TIMEOUT ? 2 : 1;
	if (argc < need + 1)
		ERR("'%s' needs a value: %s", key, setting_help[s]);
	v = argv[1];

	switch (s) {
	case S_EXTERNAL:
		bit = HAVE_IFNAME;
		if (!valid_ifname(v))
			ERR("invalid interface name '%s'", v);
		break;
	case S_PORTS: {
		uint32_t lo, hi;
		const char *dash = strchr(v, '-');
		char buf[16];

		bit = HAVE_PORTS;
		if (!dash || (size_t)(dash - v) >= sizeof(buf))
			ERR("invalid port range '%s': expected %s", v, setting_help[s]);
		memcpy(buf, v, (size_t)(dash - v));
		buf[dash - v] = '\0';
		if (!parse_u32(buf, 1, 65535, &lo) ||
		    !parse_u32(dash + 1, 1, 65535, &hi) || lo > hi)
			ERR("invalid port range '%s': expected %s", v, setting_help[s]);
		c->port_min = (uint16_t)lo;
		c->port_max = (uint16_t)hi;
		break;
	}
	case S_MAX_FLOWS:
		bit = HAVE_MAX_FLOWS;
		if (!parse_u32(v, 1, UINT32_MAX, &c->max_flows))
			ERR("invalid max-flows '%s': expected %s", v, setting_help[s]);
		break;
	case S_MAX_PER_HOST:
		bit = HAVE_MAX_PER_HOST;
		if (!strcmp(v, "none") || !strcmp(v, "off"))
			c->max_flows_per_host = 0;
		else if (!parse_u32(v, 0, UINT32_MAX, &c->max_flows_per_host))
			ERR("invalid max-flows-per-host '%s': expected %s", v,
			    setting_help[s]);
		break;
	case S_TIMEOUT:
		i = match_word(v, timeout_names, TIMEOUT_COUNT, prefix_ok);
		if (i < 0)
			ERR("unknown timeout '%s' (one of: tcp-established, tcp-transitory, udp, icmp)",
			    v);
		bit = HAVE_TIMEOUT0 << i;
		if (!parse_seconds(argv[2], &u))
			ERR("invalid timeout '%s' for %s: expected seconds from 1 to %u (units s, m, h, d allowed)",
			    argv[2], timeout_names[i], NATK_TIMEOUT_MAX);
		if (c->have & bit)
			ERR("timeout %s given twice", timeout_names[i]);
		c->timeout[i] = u;
		break;
	case S_MAPPING:
		bit = HAVE_MAPPING;
		if (!parse_choice(v, mapping_names, NATK_MAPPING_MAX + 1,
				  prefix_ok, &c->mapping))
			ERR("invalid mapping '%s': expected %s", v, setting_help[s]);
		break;
	case S_FILTERING:
		bit = HAVE_FILTERING;
		if (!parse_choice(v, filtering_names, NATK_FILTERING_MAX + 1,
				  prefix_ok, &c->filtering))
			ERR("invalid filtering '%s': expected %s", v, setting_help[s]);
		break;
	case S_MSS:
		bit = HAVE_MSS;
		if (!strcmp(v, "pmtu"))
			c->mss_clamp = NATK_MSS_CLAMP_PMTU;
		else if (!strcmp(v, "off"))
			c->mss_clamp = 0;
		else if (parse_u32(v, 88, 65534, &u))
			c->mss_clamp = (uint16_t)u;
		else
			ERR("invalid mss-clamp '%s': expected %s", v, setting_help[s]);
		break;
	case S_PORT_HOLD:
		bit = HAVE_PORT_HOLD;
		if (!strcmp(v, "off") || !strcmp(v, "none"))
			c->port_hold = 0;
		else if (!parse_seconds_range(v, 0, NATK_PORT_HOLD_MAX,
					      &c->port_hold))
			ERR("invalid port-hold '%s': expected %s", v, setting_help[s]);
		break;
	case S_FAST_PATH:
		bit = HAVE_FAST_PATH;
		if (!parse_choice(v, fast_path_names, NATK_FAST_PATH_MAX + 1,
				  prefix_ok, &c->fast_path))
			ERR("invalid fast-path '%s': expected %s", v, setting_help[s]);
		break;
	case S_INTERNAL:
	case S_NO_NAT:
		bit = s == S_INTERNAL ? HAVE_INTERNAL : HAVE_NO_NAT;
		if (c->have & bit)
			ERR("'%s' given twice", key);
		need = parse_prefix_list(key, s == S_INTERNAL ? "all" : "none",
					 argc, argv, s == S_INTERNAL ?
					 &c->internal : &c->no_nat, err, errlen);
		if (need < 0)
			return -1;
		need--;
		break;
	case S_ADDRESSES: {
		char *list;
		bool ok = true;

		bit = HAVE_ADDRS;
		if (c->have & bit)
			ERR("'%s' given twice", key);
		list = join_list(argc, argv, &need);
		need--;
		c->addrs.n = 0;
		if (!strcmp(list, "primary")) {
			c->addrs_mode = NATK_ADDRS_PRIMARY;
		} else if (!strcmp(list, "all")) {
			c->addrs_mode = NATK_ADDRS_ALL;
		} else {
			char why[192];

			c->addrs_mode = NATK_ADDRS_LIST;
			ok = parse_addr_list(list, &c->addrs, why, sizeof(why));
			if (!ok)
				snprintf(err, errlen, "addresses: %s", why);
		}
		free(list);
		if (!ok)
			return -1;
		break;
	}
	case S_PORT_BLOCK:
		bit = HAVE_PORT_BLOCK;
		if (!strcmp(v, "off") || !strcmp(v, "0"))
			c->port_block = 0;
		else if (parse_u32(v, NATK_PORT_BLOCK_MIN, NATK_PORT_BLOCK_MAX, &u))
			c->port_block = (uint16_t)u;
		else
			ERR("invalid port-block '%s': expected %s", v, setting_help[s]);
		break;
	case S_BLOCKS_PER_HOST:
		bit = HAVE_BLOCKS_PER_HOST;
		if (!parse_u32(v, 1, NATK_PORT_BLOCKS_MAX, &u))
			ERR("invalid port-blocks-per-host '%s': expected %s", v,
			    setting_help[s]);
		c->port_blocks_per_host = (uint16_t)u;
		break;
	case S_ACCOUNTING:
		bit = HAVE_ACCOUNTING;
		if (!parse_choice(v, accounting_names, ARRAY_SIZE(accounting_names),
				  prefix_ok, &c->accounting))
			ERR("invalid accounting '%s': expected %s", v, setting_help[s]);
		break;
	default:
		ERR("internal error");
	}
	if (s != S_TIMEOUT && (c->have & bit))
		ERR("'%s' given twice", key);
	if (s == S_EXTERNAL)
		snprintf(c->ifname, sizeof(c->ifname), "%s", v);
	c->have |= bit;
	return need + 1;
}

/*
 * l as a nest of NATK_PREFIX_A_ENTRY nests. An empty list is an empty
 * nest (it empties the kernel's), put by hand with NLA_F_NESTED (the
 * kernel's strict policy wants it): libnl's nla_nest_end drops an empty
 * nest, which would leave the list as it was.
 */
static void put_prefix_list(struct nl_msg *msg, int attr,
			    const struct natk_prefix_list *l)
{
	struct nlattr *nest, *e;

	if (!l->n) {
		nla_put(msg, attr | NLA_F_NESTED, 0, NULL);
		return;
	}
	nest = nla_nest_start(msg, attr);
	if (!nest)
		return;
	for (unsigned int i = 0; i < l->n; i++) {
		e = nla_nest_start(msg, NATK_PREFIX_A_ENTRY);
		if (!e)
			return;
		nla_put_u32(msg, NATK_PREFIX_A_ADDR_BE, l->p[i].addr_be);
		nla_put_u8(msg, NATK_PREFIX_A_LEN, l->p[i].len);
		nla_nest_end(msg, e);
	}
	nla_nest_end(msg, nest);
}

/*
 * NATK_A_ADDRS_MODE and, for a list, NATK_A_ADDRS: a nest of
 * NATK_RANGE_A_ENTRY nests (never empty: a list has an address).
 */
static void put_addrs(struct nl_msg *msg, const struct natk_conf *c)
{
	struct nlattr *nest, *e;

	nla_put_u8(msg, NATK_A_ADDRS_MODE, c->addrs_mode);
	if (c->addrs_mode != NATK_ADDRS_LIST)
		return;
	nest = nla_nest_start(msg, NATK_A_ADDRS);
	if (!nest)
		return;
	for (unsigned int i = 0; i < c->addrs.n; i++) {
		e = nla_nest_start(msg, NATK_RANGE_A_ENTRY);
		if (!e)
			return;
		nla_put_u32(msg, NATK_RANGE_A_FIRST_BE, c->addrs.r[i].first_be);
		nla_put_u32(msg, NATK_RANGE_A_LAST_BE, c->addrs.r[i].last_be);
		nla_nest_end(msg, e);
	}
	nla_nest_end(msg, nest);
}

void conf_put_attrs(struct nl_msg *msg, const struct natk_conf *c)
{
	int i;

	if (c->have & HAVE_IFNAME)
		nla_put_string(msg, NATK_A_IFNAME, c->ifname);
	if (c->have & HAVE_PORTS) {
		nla_put_u16(msg, NATK_A_PORT_MIN, c->port_min);
		nla_put_u16(msg, NATK_A_PORT_MAX, c->port_max);
	}
	if (c->have & HAVE_MAX_FLOWS)
		nla_put_u32(msg, NATK_A_MAX_FLOWS, c->max_flows);
	if (c->have & HAVE_MAX_PER_HOST)
		nla_put_u32(msg, NATK_A_MAX_FLOWS_PER_HOST, c->max_flows_per_host);
	if (c->have & HAVE_MAPPING)
		nla_put_u8(msg, NATK_A_MAPPING, c->mapping);
	if (c->have & HAVE_FILTERING)
		nla_put_u8(msg, NATK_A_FILTERING, c->filtering);
	if (c->have & HAVE_MSS)
		nla_put_u16(msg, NATK_A_MSS_CLAMP, c->mss_clamp);
	if (c->have & HAVE_PORT_HOLD)
		nla_put_u32(msg, NATK_A_PORT_HOLD, c->port_hold);
	if (c->have & HAVE_FAST_PATH)
		nla_put_u8(msg, NATK_A_FAST_PATH, c->fast_path);
	if (c->have & HAVE_INTERNAL)
		put_prefix_list(msg, NATK_A_INTERNAL, &c->internal);
	if (c->have & HAVE_NO_NAT)
		put_prefix_list(msg, NATK_A_NO_NAT, &c->no_nat);
	if (c->have & HAVE_ADDRS)
		put_addrs(msg, c);
	if (c->have & HAVE_PORT_BLOCK)
		nla_put_u16(msg, NATK_A_PORT_BLOCK, c->port_block);
	if (c->have & HAVE_BLOCKS_PER_HOST)
		nla_put_u16(msg, NATK_A_PORT_BLOCKS_PER_HOST,
			    c->port_blocks_per_host);
	if (c->have & HAVE_ACCOUNTING)
		nla_put_u8(msg, NATK_A_ACCOUNTING, c->accounting);
	for (i = 0; i < TIMEOUT_COUNT; i++)
		if (c->have & (HAVE_TIMEOUT0 << i))
			nla_put_u32(msg, timeout_attrs[i], c->timeout[i]);
}

int conf_request(const struct natk_conf *c, bool reset, bool dry_run)
{
	struct nl_msg *msg;

	nk_open();
	msg = nk_msg_size(NATK_CMD_SET_CONFIG, 0, CONF_MSG_SIZE);
	conf_put_attrs(msg, c);
	if (reset)
		nla_put_flag(msg, NATK_A_RESET);
	if (dry_run)
		nla_put_flag(msg, NATK_A_DRY_RUN);
	return nk_request(msg, NULL, NULL, NULL);
}

const char *conf_unsupported(const struct natk_conf *c,
			     const struct natk_status *st)
{
	if ((c->have & HAVE_INTERNAL) && !status_has(st, NATK_A_INTERNAL))
		return "internal";
	if ((c->have & HAVE_NO_NAT) && !status_has(st, NATK_A_NO_NAT))
		return "no-nat";
	if ((c->have & HAVE_ADDRS) && !status_has(st, NATK_A_ADDRS_MODE))
		return "addresses";
	if ((c->have & HAVE_PORT_BLOCK) && !status_has(st, NATK_A_PORT_BLOCK))
		return "port-block";
	if ((c->have & HAVE_BLOCKS_PER_HOST) &&
	    !status_has(st, NATK_A_PORT_BLOCKS_PER_HOST))
		return "port-blocks-per-host";
	if ((c->have & HAVE_ACCOUNTING) && !status_has(st, NATK_A_ACCOUNTING))
		return "accounting";
	return NULL;
}

/* Is addr_be an IPv4 address of interface ifname (in our namespace)? */
static bool conf_if_has(const char *ifname, uint32_t addr_be)
{
	struct ifaddrs *ifa, *i;
	bool has = false;

	if (getifaddrs(&ifa))
		return true;	/* cannot tell: say nothing */
	for (i = ifa; i && !has; i = i->ifa_next)
		has = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		      !strcmp(i->ifa_name, ifname) &&
		      ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
		      addr_be;
	freeifaddrs(ifa);
	return has;
}

/*
 * A kernel before 6.2 cannot name the listed address that is not on the
 * interface (no formatted extack): name it here.
 */
static void conf_name_missing(const struct natk_conf *c, const char *cmd)
{
	struct natk_status st;
	const char *ifname = c->ifname;
	uint32_t a;
	char ip[INET_ADDRSTRLEN];

	if (!(c->have & HAVE_IFNAME)) {
		if (status_get(&st))
			return;
		ifname = st.ifname;
	}
	for (unsigned int i = 0; i < c->addrs.n; i++) {
		for (a = ntohl(c->addrs.r[i].first_be);
		     a <= ntohl(c->addrs.r[i].last_be); a++) {
			if (!conf_if_has(ifname, htonl(a))) {
				inet_ntop(AF_INET, &(uint32_t){ htonl(a) }, ip,
					  sizeof(ip));
				fail("%s: %s is not an address of %s: add it first (ip addr add), or leave it out",
				     cmd, ip, ifname);
			}
			if (a == UINT32_MAX)
				break;
		}
	}
}

/* Send one SET_CONFIG with everything in c; exits on failure. */
void conf_send(const struct natk_conf *c, bool reset)
{
	struct natk_status st;
	const char *what;
	int err;

	/* An older module would refuse them with a bare policy error. */
	if (c->have & (HAVE_INTERNAL | HAVE_NO_NAT | HAVE_ADDRS |
		       HAVE_PORT_BLOCK | HAVE_BLOCKS_PER_HOST | HAVE_ACCOUNTING)) {
		err = status_get(&st);
		if (err)
			nk_fail(reset ? "apply" : "set", err);
		what = conf_unsupported(c, &st);
		if (what)
			fail("%s: " CONF_TOO_OLD, what);
	}
	err = conf_request(c, reset, false);
	if (err == -EADDRNOTAVAIL && (c->have & HAVE_ADDRS) &&
	    c->addrs_mode == NATK_ADDRS_LIST &&
	    strstr(nk_extack, "a listed address is not"))
		conf_name_missing(c, reset ? "apply" : "set");
	/*
	 * Another interface, and the addresses listed before (which stay
	 * until changed) are not on it: say which setting is in the way.
	 */
	if (err == -EADDRNOTAVAIL && !(c->have & HAVE_ADDRS) &&
	    (c->have & HAVE_IFNAME) &&
	    (strstr(nk_extack, "a listed address is not") ||
	     strstr(nk_extack, "is not an address of")))
		fail("%s: the external addresses listed before (natkctl status) are not all on %s: give 'addresses primary', 'all' or a list of %s's with it, or add them to %s (ip addr add)",
		     reset ? "apply" : "set", c->ifname, c->ifname,
		     c->ifname);
	if (err)
		nk_fail(reset ? "apply" : "set", err);
	conf_warn_missing_if(c);
}

/*
 * natk binds the interface by name and waits for one that does not exist
 * yet (a late ENI, a renamed link): say so, it is not an error. Looked up
 * in the -n namespace, where nk_open() put us.
 */
void conf_warn_missing_if(const struct natk_conf *c)
{
	if ((c->have & HAVE_IFNAME) && !if_nametoindex(c->ifname))
		warnmsg("no interface '%s'%s%s yet: natk waits for it and masquerades once it exists with an IPv4 address (see: ip link; natkctl status)",
			c->ifname, netns_name ? " in network namespace " : "",
			netns_name ? netns_name : "");
}

int cmd_set(int argc, char **argv)
{
	struct natk_conf c = {};
	char err[256];
	int n;

	if (argc == 0)
		usage_fail("set", "set needs at least one SETTING VALUE pair");
	while (argc > 0) {
		n = conf_parse_setting(&c, argc, argv, true, err, sizeof(err));
		if (n < 0)
			usage_fail("set", "%s", err);
		argc -= n;
		argv += n;
	}
	conf_send(&c, false);
	return 0;
}

static int simple_cmd(const char *name, uint8_t cmd, int argc)
{
	int err;

	if (argc)
		usage_fail(name, "%s takes no arguments", name);
	nk_open();
	err = nk_request(nk_msg(cmd, 0), NULL, NULL, NULL);
	if (err)
		nk_fail(name, err);
	return 0;
}

int cmd_down(int argc, char **argv)
{
	(void)argv;
	return simple_cmd("down", NATK_CMD_DOWN, argc);
}

int cmd_flush(int argc, char **argv)
{
	(void)argv;
	return simple_cmd("flush", NATK_CMD_FLUSH, argc);
}
