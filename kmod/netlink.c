// SPDX-License-Identifier: GPL-2.0
/*
 * natk generic netlink family. The contract is include/uapi/linux/natk.h.
 *
 * Every command has its own strict policy: an attribute a command does not
 * take is rejected, not ignored. Configuration is applied all-or-nothing:
 * a private copy of the running configuration is changed, validated and
 * then published in one step. The flow dump walks the flow table with an
 * rhashtable iterator kept across dump calls; a flush, configuration
 * change or table resize during the dump marks it NLM_F_DUMP_INTR.
 */
#include <linux/netdevice.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include "natk.h"

/* Not const: 6.1's NLA_POLICY_FULL_RANGE() takes a plain pointer. */
static struct netlink_range_validation natk_timeout_range = {
	.min = 1,
	.max = NATK_TIMEOUT_MAX,
};

static struct netlink_range_validation natk_flows_range = {
	.min = 1,
	.max = NATK_MAX_FLOWS_LIMIT,
};

static struct netlink_range_validation natk_host_range = {
	.min = 0,
	.max = NATK_MAX_FLOWS_LIMIT,
};

static const struct nla_policy natk_fwd_attr_policy[NATK_FWD_A_MAX + 1] = {
	[NATK_FWD_A_PROTO] = { .type = NLA_U8 },
	[NATK_FWD_A_EXT_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[NATK_FWD_A_INT_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_FWD_A_INT_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[NATK_FWD_A_EXT_ADDR_BE] = { .type = NLA_BE32 },
};

static const struct nla_policy natk_range_policy[NATK_RANGE_A_MAX + 1] = {
	[NATK_RANGE_A_FIRST_BE] = { .type = NLA_BE32 },
	[NATK_RANGE_A_LAST_BE] = { .type = NLA_BE32 },
};

static const struct nla_policy natk_prefix_policy[NATK_PREFIX_A_MAX + 1] = {
	[NATK_PREFIX_A_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_PREFIX_A_LEN] = NLA_POLICY_MAX(NLA_U8, 32),
};

static const struct nla_policy natk_set_policy[NATK_A_MAX + 1] = {
	[NATK_A_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[NATK_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[NATK_A_PORT_MIN] = NLA_POLICY_MIN(NLA_U16, 1),
	[NATK_A_PORT_MAX] = NLA_POLICY_MIN(NLA_U16, 1),
	[NATK_A_MAX_FLOWS] = NLA_POLICY_FULL_RANGE(NLA_U32, &natk_flows_range),
	[NATK_A_MAX_FLOWS_PER_HOST] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &natk_host_range),
	[NATK_A_MAPPING] = NLA_POLICY_MAX(NLA_U8, NATK_MAPPING_MAX),
	[NATK_A_FILTERING] = NLA_POLICY_MAX(NLA_U8, NATK_FILTERING_MAX),
	[NATK_A_TIMEOUT_TCP_EST] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &natk_timeout_range),
	[NATK_A_TIMEOUT_TCP_TRANS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &natk_timeout_range),
	[NATK_A_TIMEOUT_UDP] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &natk_timeout_range),
	[NATK_A_TIMEOUT_ICMP] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &natk_timeout_range),
	[NATK_A_MSS_CLAMP] = { .type = NLA_U16 },
	[NATK_A_PORT_HOLD] = NLA_POLICY_MAX(NLA_U32, NATK_PORT_HOLD_MAX),
	[NATK_A_FAST_PATH] = NLA_POLICY_MAX(NLA_U8, NATK_FAST_PATH_MAX),
	[NATK_A_RESET] = { .type = NLA_FLAG },
	[NATK_A_DRY_RUN] = { .type = NLA_FLAG },
	[NATK_A_FWD] = NLA_POLICY_NESTED(natk_fwd_attr_policy),
	[NATK_A_FWD_REPLACE] = { .type = NLA_FLAG },
	[NATK_A_INTERNAL] = { .type = NLA_NESTED },
	[NATK_A_NO_NAT] = { .type = NLA_NESTED },
	[NATK_A_ADDRS_MODE] = NLA_POLICY_MAX(NLA_U8, NATK_ADDRS_MODE_MAX),
	[NATK_A_PORT_BLOCK] = NLA_POLICY_MAX(NLA_U16, NATK_PORT_BLOCK_MAX),
	[NATK_A_PORT_BLOCKS_PER_HOST] =
		NLA_POLICY_RANGE(NLA_U16, 1, NATK_PORT_BLOCKS_MAX),
	[NATK_A_ADDRS] = { .type = NLA_NESTED },
	[NATK_A_ACCOUNTING] = NLA_POLICY_MAX(NLA_U8, 1),
};

/* Commands that take no attributes: everything is rejected. */
static const struct nla_policy natk_none_policy[NATK_A_MAX + 1] = {
};

static const struct nla_policy natk_flows_policy[NATK_A_MAX + 1] = {
	[NATK_A_FILTER_PROTO] = { .type = NLA_U8 },
	[NATK_A_FILTER_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_A_FILTER_PORT] = { .type = NLA_U16 },
};

/* A flow's original tuple, as dumped, and optionally its id. */
static const struct nla_policy natk_flow_key_policy[NATK_FLOW_A_MAX + 1] = {
	[NATK_FLOW_A_PROTO] = { .type = NLA_U8 },
	[NATK_FLOW_A_INT_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_FLOW_A_INT_PORT] = { .type = NLA_U16 },
	[NATK_FLOW_A_REM_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_FLOW_A_REM_PORT] = { .type = NLA_U16 },
	[NATK_FLOW_A_ID] = { .type = NLA_U32 },
};

static const struct nla_policy natk_del_flow_policy[NATK_A_MAX + 1] = {
	[NATK_A_FLOW] = NLA_POLICY_NESTED(natk_flow_key_policy),
};

/* A whole flow, as dumped, to import. */
static const struct nla_policy natk_flow_add_attr_policy[NATK_FLOW_A_MAX + 1] = {
	[NATK_FLOW_A_PROTO] = { .type = NLA_U8 },
	[NATK_FLOW_A_INT_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_FLOW_A_INT_PORT] = { .type = NLA_U16 },
	[NATK_FLOW_A_EXT_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_FLOW_A_EXT_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[NATK_FLOW_A_REM_ADDR_BE] = { .type = NLA_BE32 },
	[NATK_FLOW_A_REM_PORT] = { .type = NLA_U16 },
	[NATK_FLOW_A_STATE] = NLA_POLICY_MAX(NLA_U8, NATK_TCP_MAX),
	[NATK_FLOW_A_EXPIRES_MS] = { .type = NLA_U32 },
	[NATK_FLOW_A_PKTS_OUT] = { .type = NLA_U64 },
	[NATK_FLOW_A_BYTES_OUT] = { .type = NLA_U64 },
	[NATK_FLOW_A_PKTS_IN] = { .type = NLA_U64 },
	[NATK_FLOW_A_BYTES_IN] = { .type = NLA_U64 },
	[NATK_FLOW_A_UPDATE] = { .type = NLA_FLAG },
	[NATK_FLOW_A_SEEN] = NLA_POLICY_MASK(NLA_U8, NATK_FLOW_F_SEEN_OUT |
					     NATK_FLOW_F_SEEN_IN),
};

static const struct nla_policy natk_flow_add_policy[NATK_A_MAX + 1] = {
	[NATK_A_FLOW] = NLA_POLICY_NESTED(natk_flow_add_attr_policy),
};

static const struct nla_policy natk_fwd_policy[NATK_A_MAX + 1] = {
	[NATK_A_FWD] = NLA_POLICY_NESTED(natk_fwd_attr_policy),
};

static const int natk_timeout_attr[NATK_TO_NUM] = {
	[NATK_TO_TCP_EST] = NATK_A_TIMEOUT_TCP_EST,
	[NATK_TO_TCP_TRANS] = NATK_A_TIMEOUT_TCP_TRANS,
	[NATK_TO_UDP] = NATK_A_TIMEOUT_UDP,
	[NATK_TO_ICMP] = NATK_A_TIMEOUT_ICMP,
};

/* The external interface's part of the configuration (also an event). */
int natk_fill_state(struct sk_buff *skb, const struct natk_cfg *cfg)
{
	if (nla_put_u8(skb, NATK_A_ENABLED, !!cfg->ifname[0]) ||
	    nla_put_u8(skb, NATK_A_STATE, natk_cfg_state(cfg)))
		return -EMSGSIZE;
	if (!cfg->ifname[0])
		return 0;
	if (nla_put_string(skb, NATK_A_IFNAME, cfg->ifname) ||
	    (cfg->ifindex && nla_put_u32(skb, NATK_A_IFINDEX, cfg->ifindex)) ||
	    nla_put_in_addr(skb, NATK_A_EXT_ADDR_BE, cfg->ext_addr))
		return -EMSGSIZE;
	return 0;
}

static int natk_fill_scope(struct sk_buff *skb, int type,
			   const struct natk_scope *s)
{
	struct nlattr *list, *entry;
	unsigned int i;

	list = nla_nest_start(skb, type);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < s->n; i++) {
		entry = nla_nest_start(skb, NATK_PREFIX_A_ENTRY);
		if (!entry ||
		    nla_put_in_addr(skb, NATK_PREFIX_A_ADDR_BE, s->p[i].addr) ||
		    nla_put_u8(skb, NATK_PREFIX_A_LEN,
			       natk_prefix_len(&s->p[i])))
			return -EMSGSIZE;
		nla_nest_end(skb, entry);
	}
	nla_nest_end(skb, list);
	return 0;
}

static int natk_fill_ranges(struct sk_buff *skb, const struct natk_cfg *cfg)
{
	struct nlattr *list, *entry;
	unsigned int i;

	list = nla_nest_start(skb, NATK_A_ADDRS);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < cfg->nranges; i++) {
		entry = nla_nest_start(skb, NATK_RANGE_A_ENTRY);
		if (!entry ||
		    nla_put_in_addr(skb, NATK_RANGE_A_FIRST_BE,
				    cfg->ranges[i].first) ||
		    nla_put_in_addr(skb, NATK_RANGE_A_LAST_BE,
				    cfg->ranges[i].last))
			return -EMSGSIZE;
		nla_nest_end(skb, entry);
	}
	nla_nest_end(skb, list);
	return 0;
}

static int natk_fill_config(struct sk_buff *skb, struct natk_net *nn)
{
	/* Walks the tables, sleeping between batches: before RCU. */
	unsigned int max_chain = natk_hash_max_chain(nn);
	const struct natk_cfg *cfg;
	int i, err = -EMSGSIZE;

	rcu_read_lock();
	cfg = rcu_dereference(nn->cfg);
	if (natk_fill_state(skb, cfg) ||
	    nla_put_u16(skb, NATK_A_PORT_MIN, cfg->port_min) ||
	    nla_put_u16(skb, NATK_A_PORT_MAX, cfg->port_max) ||
	    nla_put_u32(skb, NATK_A_MAX_FLOWS, cfg->max_flows) ||
	    nla_put_u32(skb, NATK_A_MAX_FLOWS_PER_HOST,
			cfg->max_flows_per_host) ||
	    nla_put_u32(skb, NATK_A_FLOWS, atomic_read(&nn->nflows)) ||
	    nla_put_u8(skb, NATK_A_MAPPING, cfg->mapping) ||
	    nla_put_u8(skb, NATK_A_FILTERING, cfg->filtering) ||
	    nla_put_u16(skb, NATK_A_MSS_CLAMP, cfg->mss_clamp) ||
	    nla_put_u32(skb, NATK_A_HASH_BUCKETS,
			rcu_dereference(nn->otbl.tbl)->size) ||
	    nla_put_u32(skb, NATK_A_PORT_HOLD, cfg->port_hold / HZ) ||
	    nla_put_u32(skb, NATK_A_PORTS_HELD, atomic_read(&nn->nheld)) ||
	    nla_put_u32(skb, NATK_A_HASH_MAX_CHAIN, max_chain) ||
	    nla_put_u32(skb, NATK_A_HASH_ENTRIES,
			atomic_read(&nn->otbl.nelems)) ||
	    nla_put_u8(skb, NATK_A_FAST_PATH, cfg->fast_path) ||
	    nla_put_u8(skb, NATK_A_FAST_PATH_WHY,
		       natk_fp_why(nn->net, cfg)) ||
	    nla_put_flag(skb, NATK_A_FWD_REPLACE) ||
	    natk_fill_scope(skb, NATK_A_INTERNAL, &cfg->internal) ||
	    natk_fill_scope(skb, NATK_A_NO_NAT, &cfg->no_nat) ||
	    nla_put_u8(skb, NATK_A_ADDRS_MODE, cfg->addrs_mode) ||
	    nla_put_u16(skb, NATK_A_PORT_BLOCK, cfg->port_block) ||
	    nla_put_u16(skb, NATK_A_PORT_BLOCKS_PER_HOST,
			cfg->blocks_per_host) ||
	    nla_put_u8(skb, NATK_A_ACCOUNTING, cfg->accounting) ||
	    (cfg->addrs_mode == NATK_ADDRS_LIST && natk_fill_ranges(skb, cfg)) ||
	    natk_pool_fill(skb, nn, cfg))
		goto out;
	for (i = 0; i < NATK_TO_NUM; i++)
		if (nla_put_u32(skb, natk_timeout_attr[i],
				cfg->timeout[i] / HZ))
			goto out;
	err = 0;
out:
	rcu_read_unlock();
	return err;
}

static int natk_reply(struct genl_info *info, u8 cmd,
		      int (*fill)(struct sk_buff *, struct natk_net *))
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));
	struct sk_buff *skb;
	void *hdr;
	int err;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put_reply(skb, info, &natk_genl_family, 0, cmd);
	if (!hdr) {
		err = -EMSGSIZE;
		goto err;
	}
	err = fill(skb, nn);
	if (err)
		goto err;
	genlmsg_end(skb, hdr);
	return genlmsg_reply(skb, info);
err:
	nlmsg_free(skb);
	return err;
}

static int natk_get_config(struct sk_buff *skb, struct genl_info *info)
{
	return natk_reply(info, NATK_CMD_GET_CONFIG, natk_fill_config);
}

static int natk_fill_stats(struct sk_buff *skb, struct natk_net *nn)
{
	u64 v[__NATK_STAT_MAX];
	struct nlattr *nest;
	int i;

	natk_stats_sum(nn, v);
	nest = nla_nest_start(skb, NATK_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = NATK_STAT_UNSPEC + 1; i < __NATK_STAT_MAX; i++) {
		if (i == NATK_STAT_PAD)
			continue;
		if (nla_put_u64_64bit(skb, i, v[i], NATK_STAT_PAD))
			return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int natk_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	return natk_reply(info, NATK_CMD_GET_STATS, natk_fill_stats);
}

/* One NATK_A_FWD nest; @full: with its internal address and port. */
static int natk_fwd_parse_nest(const struct nlattr *nest, struct nlattr **tb,
			       bool full, struct netlink_ext_ack *extack)
{
	int err;
	u8 proto;

	err = nla_parse_nested(tb, NATK_FWD_A_MAX, nest, natk_fwd_attr_policy,
			       extack);
	if (err)
		return err;
	if (!tb[NATK_FWD_A_PROTO] || !tb[NATK_FWD_A_EXT_PORT] ||
	    (full && (!tb[NATK_FWD_A_INT_ADDR_BE] || !tb[NATK_FWD_A_INT_PORT]))) {
		NL_SET_ERR_MSG_ATTR(extack, nest,
				    "natk: a forward needs protocol, external port, internal address and port");
		return -EINVAL;
	}
	proto = nla_get_u8(tb[NATK_FWD_A_PROTO]);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_FWD_A_PROTO],
				    "natk: forwards are for TCP or UDP");
		return -EINVAL;
	}
	if (full && !nla_get_in_addr(tb[NATK_FWD_A_INT_ADDR_BE])) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_FWD_A_INT_ADDR_BE],
				    "natk: the internal address must not be 0.0.0.0");
		return -EINVAL;
	}
	return 0;
}

static int natk_fwd_parse(struct genl_info *info, struct nlattr **tb,
			  bool full)
{
	if (!info->attrs[NATK_A_FWD]) {
		NL_SET_ERR_MSG(info->extack, "natk: missing NATK_A_FWD");
		return -EINVAL;
	}
	return natk_fwd_parse_nest(info->attrs[NATK_A_FWD], tb, full,
				   info->extack);
}

/*
 * The NATK_A_FWD attributes of a SET_CONFIG with NATK_A_FWD_REPLACE (any
 * number, at the top level), sorted by protocol and port; each names its
 * attribute for errors. Returns the count, or -errno.
 */
static int natk_fwds_parse(struct genl_info *info, struct natk_fwd_spec **out)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[NATK_FWD_A_MAX + 1];
	const struct natk_fwd_spec *dup;
	struct natk_fwd_spec *s;
	unsigned int n = 0, i = 0;
	struct nlattr *a;
	int rem, err;

	nla_for_each_attr(a, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem)
		n += nla_type(a) == NATK_A_FWD;
	if (n > NATK_FWDS_MAX) {
		NL_SET_ERR_MSG(extack,
			       "natk: at most 4096 forwards in one request (NATK_FWDS_MAX)");
		return -E2BIG;
	}
	s = kvcalloc(n ?: 1, sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	nla_for_each_attr(a, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem) {
		if (nla_type(a) != NATK_A_FWD || i == n)
			continue;
		err = natk_fwd_parse_nest(a, tb, true, extack);
		if (err)
			goto err;
		s[i].attr = a;
		s[i].proto = nla_get_u8(tb[NATK_FWD_A_PROTO]);
		s[i].eport = htons(nla_get_u16(tb[NATK_FWD_A_EXT_PORT]));
		s[i].iaddr = nla_get_in_addr(tb[NATK_FWD_A_INT_ADDR_BE]);
		s[i].iport = htons(nla_get_u16(tb[NATK_FWD_A_INT_PORT]));
		s[i].eaddr = tb[NATK_FWD_A_EXT_ADDR_BE] ?
			     nla_get_in_addr(tb[NATK_FWD_A_EXT_ADDR_BE]) : 0;
		i++;
	}
	if (!natk_fwd_specs_sort(s, n, &dup)) {
		NL_SET_ERR_MSG_ATTR(extack, dup->attr,
				    "natk: two forwards of the same protocol and external port");
		err = -EINVAL;
		goto err;
	}
	*out = s;
	return n;
err:
	kvfree(s);
	return err;
}

/*
 * Apply the attributes of a SET_CONFIG to @cfg. Nothing is published.
 * @host_admin: the caller has CAP_NET_ADMIN over the host, not only over
 * a container's namespace.
 */
/*
 * A NATK_A_INTERNAL or NATK_A_NO_NAT list into @s: NATK_PREFIX_A_ENTRY
 * nests of an address and a length, at most NATK_PREFIXES_MAX.
 */
static int natk_parse_scope(const struct nlattr *list, struct natk_scope *s,
			    struct netlink_ext_ack *extack)
{
	struct nlattr *tb[NATK_PREFIX_A_MAX + 1];
	const struct nlattr *entry;
	int rem, err;

	memset(s, 0, sizeof(*s));
	nla_for_each_nested(entry, list, rem) {
		if (nla_type(entry) != NATK_PREFIX_A_ENTRY) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: a prefix list holds only NATK_PREFIX_A_ENTRY nests");
			return -EINVAL;
		}
		err = nla_parse_nested(tb, NATK_PREFIX_A_MAX, entry,
				       natk_prefix_policy, extack);
		if (err)
			return err;
		if (!tb[NATK_PREFIX_A_ADDR_BE] || !tb[NATK_PREFIX_A_LEN]) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: a prefix needs NATK_PREFIX_A_ADDR_BE and NATK_PREFIX_A_LEN");
			return -EINVAL;
		}
		err = natk_scope_add(s, nla_get_in_addr(tb[NATK_PREFIX_A_ADDR_BE]),
				     nla_get_u8(tb[NATK_PREFIX_A_LEN]));
		if (err == -ENOSPC) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: at most 64 prefixes (NATK_PREFIXES_MAX) in a list");
			return -E2BIG;
		}
		if (err) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: prefix has bits set past its length");
			return err;
		}
	}
	if (rem) {
		NL_SET_ERR_MSG_ATTR(extack, list,
				    "natk: trailing bytes in a prefix list");
		return -EINVAL;
	}
	return 0;
}

/*
 * NATK_A_ADDRS into @cfg: NATK_RANGE_A_ENTRY nests of a first and last
 * address, at most NATK_ADDR_RANGES_MAX of them, NATK_ADDRS_MAX addresses.
 */
static int natk_parse_ranges(const struct nlattr *list, struct natk_cfg *cfg,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[NATK_RANGE_A_MAX + 1];
	const struct nlattr *entry;
	u32 first, last, total = 0;
	int rem, err;

	cfg->nranges = 0;
	nla_for_each_nested(entry, list, rem) {
		if (nla_type(entry) != NATK_RANGE_A_ENTRY) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: an address list holds only NATK_RANGE_A_ENTRY nests");
			return -EINVAL;
		}
		err = nla_parse_nested(tb, NATK_RANGE_A_MAX, entry,
				       natk_range_policy, extack);
		if (err)
			return err;
		if (!tb[NATK_RANGE_A_FIRST_BE] || !tb[NATK_RANGE_A_LAST_BE]) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: an address range needs NATK_RANGE_A_FIRST_BE and NATK_RANGE_A_LAST_BE");
			return -EINVAL;
		}
		first = ntohl(nla_get_in_addr(tb[NATK_RANGE_A_FIRST_BE]));
		last = ntohl(nla_get_in_addr(tb[NATK_RANGE_A_LAST_BE]));
		if (!first || first > last) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: an address range goes from a first address to a last one, not below it");
			return -EINVAL;
		}
		if (cfg->nranges == NATK_ADDR_RANGES_MAX ||
		    last - first >= NATK_ADDRS_MAX - total) {
			NL_SET_ERR_MSG_ATTR(extack, entry,
					    "natk: at most 32 addresses (NATK_ADDRS_MAX) in at most 16 ranges");
			return -E2BIG;
		}
		total += last - first + 1;
		cfg->ranges[cfg->nranges].first = htonl(first);
		cfg->ranges[cfg->nranges].last = htonl(last);
		cfg->nranges++;
	}
	if (rem) {
		NL_SET_ERR_MSG_ATTR(extack, list,
				    "natk: trailing bytes in an address list");
		return -EINVAL;
	}
	return 0;
}

/* The external addresses a request sets: a list must be the interface's. */
static int natk_parse_addrs(struct net *net, struct natk_cfg *cfg,
			    struct nlattr **tb, struct netlink_ext_ack *extack)
{
	struct net_device *dev;
	int err;

	if (tb[NATK_A_ADDRS_MODE])
		cfg->addrs_mode = nla_get_u8(tb[NATK_A_ADDRS_MODE]);
	if (tb[NATK_A_ADDRS]) {
		err = natk_parse_ranges(tb[NATK_A_ADDRS], cfg, extack);
		if (err)
			return err;
	}
	if (cfg->addrs_mode != NATK_ADDRS_LIST)
		return 0;
	if (!cfg->nranges) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_ADDRS_MODE],
				    "natk: a list of external addresses needs its addresses (NATK_A_ADDRS)");
		return -EINVAL;
	}
	if (!tb[NATK_A_ADDRS_MODE] && !tb[NATK_A_ADDRS] &&
	    !tb[NATK_A_IFNAME] && !tb[NATK_A_IFINDEX])
		return 0;
	rcu_read_lock();
	dev = cfg->ifname[0] ? dev_get_by_name_rcu(net, cfg->ifname) : NULL;
	err = natk_pool_check(cfg, dev, extack);
	rcu_read_unlock();
	return err;
}

static int natk_parse_config(struct net *net, struct natk_cfg *cfg,
			     struct nlattr **tb, bool host_admin,
			     struct netlink_ext_ack *extack)
{
	struct net_device *dev;
	int i;

	if (tb[NATK_A_IFNAME] && tb[NATK_A_IFINDEX]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_IFINDEX],
				    "natk: give the interface by name or by index, not both");
		return -EINVAL;
	}
	/* By name it need not exist yet: natk waits for it (netns.c). */
	if (tb[NATK_A_IFNAME]) {
		if (!nla_len(tb[NATK_A_IFNAME]) ||
		    !dev_valid_name(nla_data(tb[NATK_A_IFNAME]))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_IFNAME],
					    "natk: not a valid interface name");
			return -EINVAL;
		}
		nla_strscpy(cfg->ifname, tb[NATK_A_IFNAME], IFNAMSIZ);
		cfg->ifindex = 0;	/* look it up by this name */
	}
	if (tb[NATK_A_IFINDEX]) {
		dev = dev_get_by_index(net, nla_get_u32(tb[NATK_A_IFINDEX]));
		if (!dev) {
			NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_IFINDEX],
					    "natk: no such interface in this network namespace");
			return -ENODEV;
		}
		strscpy(cfg->ifname, dev->name, IFNAMSIZ);
		cfg->ifindex = dev->ifindex;
		dev_put(dev);
	}
	if (!!tb[NATK_A_PORT_MIN] != !!tb[NATK_A_PORT_MAX]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_PORT_MIN] ?:
				    tb[NATK_A_PORT_MAX],
				    "natk: port range needs both NATK_A_PORT_MIN and NATK_A_PORT_MAX");
		return -EINVAL;
	}
	if (tb[NATK_A_PORT_MIN]) {
		u16 lo = nla_get_u16(tb[NATK_A_PORT_MIN]);
		u16 hi = nla_get_u16(tb[NATK_A_PORT_MAX]);

		if (lo > hi) {
			NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_PORT_MIN],
					    "natk: port range minimum is above its maximum");
			return -EINVAL;
		}
		cfg->port_min = lo;
		cfg->port_max = hi;
	}
	if (tb[NATK_A_MAX_FLOWS]) {
		u32 n = nla_get_u32(tb[NATK_A_MAX_FLOWS]);

		if (n > NATK_USERNS_MAX_FLOWS && !host_admin &&
		    net->user_ns != &init_user_ns) {
			NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_MAX_FLOWS],
					    "natk: in a container max-flows is at most 65536 (NATK_USERNS_MAX_FLOWS); the host's root may set more");
			return -EPERM;
		}
		cfg->max_flows = n;
	}
	if (tb[NATK_A_MAX_FLOWS_PER_HOST])
		cfg->max_flows_per_host =
			nla_get_u32(tb[NATK_A_MAX_FLOWS_PER_HOST]);
	if (tb[NATK_A_MAPPING])
		cfg->mapping = nla_get_u8(tb[NATK_A_MAPPING]);
	if (tb[NATK_A_FILTERING])
		cfg->filtering = nla_get_u8(tb[NATK_A_FILTERING]);
	if (tb[NATK_A_MSS_CLAMP]) {
		u16 mss = nla_get_u16(tb[NATK_A_MSS_CLAMP]);

		if (mss && mss != NATK_MSS_CLAMP_PMTU &&
		    (mss < NATK_MSS_MIN || mss > NATK_MSS_MAX)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_MSS_CLAMP],
					    "natk: MSS clamp must be 0 (off), 65535 (pmtu) or 88..65534");
			return -ERANGE;
		}
		cfg->mss_clamp = mss;
	}
	if (tb[NATK_A_PORT_HOLD])
		cfg->port_hold = nla_get_u32(tb[NATK_A_PORT_HOLD]) * HZ;
	if (tb[NATK_A_PORT_BLOCKS_PER_HOST])
		cfg->blocks_per_host =
			nla_get_u16(tb[NATK_A_PORT_BLOCKS_PER_HOST]);
	if (tb[NATK_A_PORT_BLOCK]) {
		u16 size = nla_get_u16(tb[NATK_A_PORT_BLOCK]);

		if (size && size < NATK_PORT_BLOCK_MIN) {
			NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_PORT_BLOCK],
					    "natk: a port block is 0 (off) or 8..4096 ports");
			return -ERANGE;
		}
		cfg->port_block = size;
	}
	if (cfg->port_block &&
	    cfg->port_max - cfg->port_min + 1 < cfg->port_block) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_PORT_BLOCK] ?:
				    tb[NATK_A_PORT_MIN],
				    "natk: the port range is smaller than one port block");
		return -EINVAL;
	}
	if (cfg->port_block &&
	    cfg->mapping != NATK_MAPPING_ENDPOINT_INDEPENDENT) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_A_PORT_BLOCK] ?:
				    tb[NATK_A_MAPPING],
				    "natk: port blocks need endpoint-independent mapping");
		return -EINVAL;
	}
	if (tb[NATK_A_FAST_PATH])
		cfg->fast_path = nla_get_u8(tb[NATK_A_FAST_PATH]);
	if (tb[NATK_A_ACCOUNTING])
		cfg->accounting = nla_get_u8(tb[NATK_A_ACCOUNTING]);
	if (tb[NATK_A_INTERNAL]) {
		int err = natk_parse_scope(tb[NATK_A_INTERNAL],
					   &cfg->internal, extack);

		if (err)
			return err;
	}
	if (tb[NATK_A_NO_NAT]) {
		int err = natk_parse_scope(tb[NATK_A_NO_NAT],
					   &cfg->no_nat, extack);

		if (err)
			return err;
	}
	for (i = 0; i < NATK_TO_NUM; i++)
		if (tb[natk_timeout_attr[i]])
			cfg->timeout[i] =
				nla_get_u32(tb[natk_timeout_attr[i]]) * HZ;
	return natk_parse_addrs(net, cfg, tb, extack);
}

static int natk_set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));
	struct natk_fwd_spec *specs = NULL;
	struct natk_cfg *ncfg;
	int err, n = 0;

	if (info->attrs[NATK_A_FWD] && !info->attrs[NATK_A_FWD_REPLACE]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NATK_A_FWD],
				    "natk: forwards in SET_CONFIG need NATK_A_FWD_REPLACE");
		return -EINVAL;
	}
	if (info->attrs[NATK_A_FWD_REPLACE]) {
		n = natk_fwds_parse(info, &specs);
		if (n < 0)
			return n;
	}
	mutex_lock(&nn->lock);
	/* NATK_A_RESET: what the request does not give is the default. */
	if (info->attrs[NATK_A_RESET])
		ncfg = natk_cfg_default(genl_info_net(info));
	else
		ncfg = natk_cfg_dup(nn);
	if (!ncfg) {
		err = -ENOMEM;
		goto out;
	}
	err = natk_parse_config(genl_info_net(info), ncfg, info->attrs,
				netlink_capable(skb, CAP_NET_ADMIN),
				info->extack);
	/* Forwards first: adding them is the part that can be undone. */
	if (!err && specs)
		err = natk_fwds_prepare(nn, specs, n, info->extack);
	if (err && specs && natk_mutant(fwd_txn_partial)) {
		kvfree(specs);		/* mutant: settings without forwards */
		specs = NULL;
		err = 0;
	}
	if (!err && specs && info->attrs[NATK_A_DRY_RUN])
		natk_fwds_abort(nn, specs, n);
	else if (!err && specs)
		err = natk_fwds_insert(nn, specs, n, info->extack);
	if (err || info->attrs[NATK_A_DRY_RUN]) {
		kfree(ncfg);
		goto out;
	}
	err = natk_cfg_commit(nn, ncfg, info->extack);
	if (err && specs)
		natk_fwds_abort(nn, specs, n);
	else if (specs)
		natk_fwds_finish(nn, specs, n);
out:
	mutex_unlock(&nn->lock);
	kvfree(specs);
	return err;
}

static int natk_cmd_down(struct sk_buff *skb, struct genl_info *info)
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));

	mutex_lock(&nn->lock);
	natk_down(nn);
	mutex_unlock(&nn->lock);
	return 0;
}

static int natk_cmd_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));

	mutex_lock(&nn->lock);
	natk_flush(nn, NATK_REASON_FLUSH);
	mutex_unlock(&nn->lock);
	return 0;
}

struct natk_flow_dump {
	struct rhashtable_iter it;
	int gen0;		/* nn->gen when the dump began */
	bool intr;		/* table rewound or configuration changed */
	u8 proto;
	__be32 addr;
	u16 port;
	bool has_proto, has_addr, has_port;
};

/*
 * The flow dump, in three parts that take the natk_net (the KUnit suites
 * call them on their own): start parses the filters, dump fills one skb,
 * done frees the walk.
 */
int natk_flows_dump_start(struct natk_net *nn, struct netlink_callback *cb)
{
	struct nlattr *tb[NATK_A_MAX + 1];
	struct natk_flow_dump *d;
	int err;

	err = nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, NATK_A_MAX,
			  natk_flows_policy, cb->extack);
	if (err)
		return err;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	if (tb[NATK_A_FILTER_PROTO]) {
		d->has_proto = true;
		d->proto = nla_get_u8(tb[NATK_A_FILTER_PROTO]);
	}
	if (tb[NATK_A_FILTER_ADDR_BE]) {
		d->has_addr = true;
		d->addr = nla_get_in_addr(tb[NATK_A_FILTER_ADDR_BE]);
	}
	if (tb[NATK_A_FILTER_PORT]) {
		d->has_port = true;
		d->port = nla_get_u16(tb[NATK_A_FILTER_PORT]);
	}
	rhashtable_walk_enter(&nn->otbl, &d->it);
	/* Every call, the first included, is checked against seq 1. */
	d->gen0 = atomic_read(&nn->gen);
	cb->seq = 1;
	cb->prev_seq = 1;
	cb->args[0] = (long)d;
	return 0;
}

static bool natk_flow_match(const struct natk_flow_dump *d,
			    const struct natk_flow *flow)
{
	return (!d->has_proto || flow->okey.proto == d->proto) &&
	       (!d->has_addr || flow->okey.iaddr == d->addr) &&
	       (!d->has_port || ntohs(flow->okey.iport) == d->port);
}

int natk_flows_dump_fill(struct natk_net *nn, struct sk_buff *skb,
			 struct netlink_callback *cb)
{
	struct natk_flow_dump *d = (struct natk_flow_dump *)cb->args[0];
	const struct natk_cfg *cfg;
	struct natk_flow *flow;
	int n = 0, err = 0;
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &natk_genl_family, NLM_F_MULTI, NATK_CMD_GET_FLOWS);
	if (!hdr)
		return -EMSGSIZE;

	/* A resize since the last call rewinds the walk: say so. */
	if (rhashtable_walk_start_check(&d->it) == -EAGAIN)
		d->intr = true;
	cfg = rcu_dereference(nn->cfg);
	flow = rhashtable_walk_peek(&d->it);
	while (flow) {
		if (IS_ERR(flow)) {
			if (PTR_ERR(flow) != -EAGAIN) {
				err = PTR_ERR(flow);
				break;
			}
			d->intr = true;	/* resized: may repeat or miss */
		} else if (natk_flow_match(d, flow)) {
			if (natk_flow_fill(skb, flow, cfg, 0))
				break;	/* full: resume with this flow */
			n++;
			natk_race(nn, NATK_RACE_DUMP, flow);
		}
		flow = rhashtable_walk_next(&d->it);
	}
	rhashtable_walk_stop(&d->it);

	/*
	 * seq is 1 until the walk rewinds or the configuration changes,
	 * then 2 for good. natk_flows_dump_start set prev_seq to 1, so a
	 * rewind inside the first call is flagged too; the change is
	 * consumed only by a message that is sent: after a cancelled one,
	 * the NLMSG_DONE is checked the same way (netlink_dump_done).
	 */
	if (atomic_read(&nn->gen) != d->gen0)
		d->intr = true;
	cb->seq = 1 + d->intr;
	if (err || (!n && !flow)) {
		genlmsg_cancel(skb, hdr);
		return err;	/* 0: done */
	}
	genl_dump_check_consistent(cb, hdr);
	genlmsg_end(skb, hdr);
	return skb->len;
}

static int natk_flows_start(struct netlink_callback *cb)
{
	return natk_flows_dump_start(natk_pernet(sock_net(cb->skb->sk)), cb);
}

static int natk_flows_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return natk_flows_dump_fill(natk_pernet(sock_net(skb->sk)), skb, cb);
}

int natk_flows_done(struct netlink_callback *cb)
{
	struct natk_flow_dump *d = (struct natk_flow_dump *)cb->args[0];

	if (d) {
		rhashtable_walk_exit(&d->it);
		kfree(d);
	}
	return 0;
}

/* A forward's external address: 0 (the primary) unless it names one. */
static __be32 natk_fwd_eaddr(struct nlattr **tb)
{
	return tb[NATK_FWD_A_EXT_ADDR_BE] ?
	       nla_get_in_addr(tb[NATK_FWD_A_EXT_ADDR_BE]) : 0;
}

static int natk_cmd_fwd_add(struct sk_buff *skb, struct genl_info *info)
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));
	struct nlattr *tb[NATK_FWD_A_MAX + 1];
	int err;

	err = natk_fwd_parse(info, tb, true);
	if (err)
		return err;
	mutex_lock(&nn->lock);
	err = natk_fwd_add(nn, nla_get_u8(tb[NATK_FWD_A_PROTO]),
			   natk_fwd_eaddr(tb),
			   htons(nla_get_u16(tb[NATK_FWD_A_EXT_PORT])),
			   nla_get_in_addr(tb[NATK_FWD_A_INT_ADDR_BE]),
			   htons(nla_get_u16(tb[NATK_FWD_A_INT_PORT])),
			   info->extack);
	mutex_unlock(&nn->lock);
	return err;
}

static int natk_cmd_fwd_del(struct sk_buff *skb, struct genl_info *info)
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));
	struct nlattr *tb[NATK_FWD_A_MAX + 1];
	int err;

	err = natk_fwd_parse(info, tb, false);
	if (err)
		return err;
	mutex_lock(&nn->lock);
	err = natk_fwd_del(nn, nla_get_u8(tb[NATK_FWD_A_PROTO]),
			   natk_fwd_eaddr(tb),
			   htons(nla_get_u16(tb[NATK_FWD_A_EXT_PORT])));
	mutex_unlock(&nn->lock);
	if (err)
		NL_SET_ERR_MSG(info->extack, "natk: no such forward");
	return err;
}

/*
 * The NATK_A_FLOW nest of @info into @tb (by @policy), and its original
 * tuple into @key: protocol, internal and remote address and port, all
 * required.
 */
static int natk_flow_key_parse(struct genl_info *info, struct nlattr **tb,
			       const struct nla_policy *policy,
			       struct natk_okey *key)
{
	struct netlink_ext_ack *extack = info->extack;
	static const int need[] = {
		NATK_FLOW_A_PROTO, NATK_FLOW_A_INT_ADDR_BE, NATK_FLOW_A_INT_PORT,
		NATK_FLOW_A_REM_ADDR_BE, NATK_FLOW_A_REM_PORT,
	};
	int err, i;

	if (!info->attrs[NATK_A_FLOW]) {
		NL_SET_ERR_MSG(extack, "natk: missing NATK_A_FLOW");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, NATK_FLOW_A_MAX, info->attrs[NATK_A_FLOW],
			       policy, extack);
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(need); i++) {
		if (!tb[need[i]]) {
			NL_SET_ERR_MSG_ATTR(extack, info->attrs[NATK_A_FLOW],
					    "natk: a flow is named by protocol, internal address and port, remote address and port");
			return -EINVAL;
		}
	}
	memset(key, 0, sizeof(*key));
	key->proto = nla_get_u8(tb[NATK_FLOW_A_PROTO]);
	key->iaddr = nla_get_in_addr(tb[NATK_FLOW_A_INT_ADDR_BE]);
	key->iport = htons(nla_get_u16(tb[NATK_FLOW_A_INT_PORT]));
	key->raddr = nla_get_in_addr(tb[NATK_FLOW_A_REM_ADDR_BE]);
	key->rport = htons(nla_get_u16(tb[NATK_FLOW_A_REM_PORT]));
	return 0;
}

/* A u64 counter of @tb, 0 if absent. */
static u64 natk_nla_u64_or0(const struct nlattr *attr)
{
	return attr ? nla_get_u64(attr) : 0;
}

/* NATK_CMD_FLOW_ADD: import one flow with its external port and state. */
static int natk_cmd_flow_add(struct sk_buff *skb, struct genl_info *info)
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[NATK_FLOW_A_MAX + 1];
	struct natk_flow_spec s = {};
	int err;

	err = natk_flow_key_parse(info, tb, natk_flow_add_attr_policy, &s.okey);
	if (err)
		return err;
	if (!tb[NATK_FLOW_A_EXT_ADDR_BE] || !tb[NATK_FLOW_A_EXT_PORT]) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[NATK_A_FLOW],
				    "natk: an imported flow needs its external address and port");
		return -EINVAL;
	}
	if (natk_l4_hdrlen(s.okey.proto) < 0 ||
	    (s.okey.proto != IPPROTO_ICMP &&
	     (!s.okey.iport || !s.okey.rport))) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[NATK_A_FLOW],
				    "natk: a flow is TCP, UDP or ICMP, with non-zero ports");
		return -EINVAL;
	}
	s.eaddr = nla_get_in_addr(tb[NATK_FLOW_A_EXT_ADDR_BE]);
	s.eport = htons(nla_get_u16(tb[NATK_FLOW_A_EXT_PORT]));
	s.state = NATK_TCP_NONE;
	if (s.okey.proto == IPPROTO_TCP) {
		s.state = tb[NATK_FLOW_A_STATE] ?
			  nla_get_u8(tb[NATK_FLOW_A_STATE]) :
			  NATK_TCP_ESTABLISHED;
		if (s.state == NATK_TCP_NONE) {
			NL_SET_ERR_MSG_ATTR(extack, tb[NATK_FLOW_A_STATE],
					    "natk: a TCP flow has a TCP state");
			return -EINVAL;
		}
	} else if (tb[NATK_FLOW_A_STATE] &&
		   nla_get_u8(tb[NATK_FLOW_A_STATE]) != NATK_TCP_NONE) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_FLOW_A_STATE],
				    "natk: only a TCP flow has a TCP state");
		return -EINVAL;
	}
	s.expires_ms = tb[NATK_FLOW_A_EXPIRES_MS] ?
		       nla_get_u32(tb[NATK_FLOW_A_EXPIRES_MS]) : U32_MAX;
	s.pkts[0] = natk_nla_u64_or0(tb[NATK_FLOW_A_PKTS_OUT]);
	s.pkts[1] = natk_nla_u64_or0(tb[NATK_FLOW_A_PKTS_IN]);
	s.bytes[0] = natk_nla_u64_or0(tb[NATK_FLOW_A_BYTES_OUT]);
	s.bytes[1] = natk_nla_u64_or0(tb[NATK_FLOW_A_BYTES_IN]);
	if (tb[NATK_FLOW_A_SEEN])
		s.seen = nla_get_u8(tb[NATK_FLOW_A_SEEN]);
	s.replace = nla_get_flag(tb[NATK_FLOW_A_UPDATE]);
	if (!s.eaddr) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NATK_FLOW_A_EXT_ADDR_BE],
				    "natk: an imported flow needs its external address");
		return -EINVAL;
	}
	/* Serialised with configuration changes and their sweeps. */
	mutex_lock(&nn->lock);
	err = natk_flow_import(nn, &s, extack);
	mutex_unlock(&nn->lock);
	return err;
}

/* NATK_CMD_DELETE_FLOW: one flow, by its tuple (and id, if given). */
static int natk_cmd_delete_flow(struct sk_buff *skb, struct genl_info *info)
{
	struct natk_net *nn = natk_pernet(genl_info_net(info));
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[NATK_FLOW_A_MAX + 1];
	struct natk_okey key;
	struct natk_flow *flow;
	int err;

	err = natk_flow_key_parse(info, tb, natk_flow_key_policy, &key);
	if (err)
		return err;

	err = -ENOENT;
	rcu_read_lock();
	flow = natk_flow_lookup_out(nn, &key);
	if (flow && !natk_flow_flag(flow, NATK_FLOW_DEAD) &&
	    (!tb[NATK_FLOW_A_ID] ||
	     nla_get_u32(tb[NATK_FLOW_A_ID]) == natk_flow_id(flow))) {
		err = 0;
		/* Dead now either way, unless there was no memory. */
		if (!natk_flow_kill(nn, flow, NATK_REASON_DELETED) &&
		    !natk_flow_flag(flow, NATK_FLOW_DEAD))
			err = -ENOMEM;
	}
	rcu_read_unlock();
	natk_grave_close(nn);	/* freed after a grace period, not a GC run */
	if (err == -ENOMEM)
		NL_SET_ERR_MSG(extack, "natk: no memory to end the flow; try again");
	else if (err)
		NL_SET_ERR_MSG(extack, "natk: no such flow");
	return err;
}

static int natk_fwds_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct natk_net *nn = natk_pernet(sock_net(skb->sk));
	struct natk_fwd *fwd;
	struct nlattr *nest;
	long i = 0, skip = cb->args[0];
	void *hdr;

	mutex_lock(&nn->lock);
	list_for_each_entry(fwd, &nn->fwds, list) {
		if (i++ < skip)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &natk_genl_family,
				  NLM_F_MULTI, NATK_CMD_GET_FWDS);
		if (!hdr)
			break;
		nest = nla_nest_start(skb, NATK_A_FWD);
		if (!nest ||
		    nla_put_u8(skb, NATK_FWD_A_PROTO, fwd->proto) ||
		    nla_put_u16(skb, NATK_FWD_A_EXT_PORT, ntohs(fwd->eport)) ||
		    nla_put_in_addr(skb, NATK_FWD_A_INT_ADDR_BE, fwd->iaddr) ||
		    nla_put_u16(skb, NATK_FWD_A_INT_PORT, ntohs(fwd->iport)) ||
		    (fwd->eaddr &&
		     nla_put_in_addr(skb, NATK_FWD_A_EXT_ADDR_BE, fwd->eaddr))) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		nla_nest_end(skb, nest);
		genlmsg_end(skb, hdr);
		cb->args[0] = i;
	}
	mutex_unlock(&nn->lock);
	return skb->len;
}

static const struct genl_ops natk_genl_ops[] = {
	{
		.cmd = NATK_CMD_GET_CONFIG,
		.doit = natk_get_config,
		.policy = natk_none_policy,
		.maxattr = NATK_A_MAX,
	},
	{
		.cmd = NATK_CMD_SET_CONFIG,
		.doit = natk_set_config,
		.policy = natk_set_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_DOWN,
		.doit = natk_cmd_down,
		.policy = natk_none_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_FLUSH,
		.doit = natk_cmd_flush,
		.policy = natk_none_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_GET_STATS,
		.doit = natk_get_stats,
		.policy = natk_none_policy,
		.maxattr = NATK_A_MAX,
	},
	{
		.cmd = NATK_CMD_GET_FLOWS,
		.start = natk_flows_start,
		.dumpit = natk_flows_dump,
		.done = natk_flows_done,
		.policy = natk_flows_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_FWD_ADD,
		.doit = natk_cmd_fwd_add,
		.policy = natk_fwd_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_FWD_DEL,
		.doit = natk_cmd_fwd_del,
		.policy = natk_fwd_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_GET_FWDS,
		.dumpit = natk_fwds_dump,
		.policy = natk_none_policy,
		.maxattr = NATK_A_MAX,
		/* Internal addresses, as in GET_FLOWS: admin only. */
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_DELETE_FLOW,
		.doit = natk_cmd_delete_flow,
		.policy = natk_del_flow_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NATK_CMD_FLOW_ADD,
		.doit = natk_cmd_flow_add,
		.policy = natk_flow_add_policy,
		.maxattr = NATK_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group natk_mcgrps[] = {
	[NATK_GRP_EVENTS] = {
		.name = NATK_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN,
	},
	[NATK_GRP_MAPPINGS] = {
		.name = NATK_MCGRP_MAPPINGS, .flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

struct genl_family natk_genl_family __ro_after_init = {
	.name = NATK_GENL_NAME,
	.version = NATK_GENL_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = natk_genl_ops,
	.n_ops = ARRAY_SIZE(natk_genl_ops),
	.mcgrps = natk_mcgrps,
	.n_mcgrps = ARRAY_SIZE(natk_mcgrps),
};

int natk_genl_init(void)
{
	int err = genl_register_family(&natk_genl_family);

	if (!err)
		natk_events_enable(true);
	return err;
}

void natk_genl_exit(void)
{
	natk_events_enable(false);
	genl_unregister_family(&natk_genl_family);
}
