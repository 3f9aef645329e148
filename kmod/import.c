// SPDX-License-Identifier: GPL-2.0
/*
 * Flows imported with their state (NATK_CMD_FLOW_ADD): a flow table saved
 * before the module was reloaded (natkctl flows save / restore), or, later,
 * one a peer sends. An imported flow keeps its external port (through its
 * mapping, made with exactly that port if the endpoint has none yet), its
 * TCP state, its counters and what is left of its idle timeout, so the
 * connection it carries goes on as if nothing had happened.
 *
 * It is made by the packet path's own natk_flow_create (publication order,
 * limits, host accounting, events), with the port asked for instead of
 * searched. A flow made under an external address natk does not have is
 * refused (RFC 4787 REQ-11: a mapping never changes address), as is one
 * whose port another mapping, a forward or a local socket now has. While
 * natk waits for its interface or addresses (an HA standby), flows of any
 * address are taken: those of addresses it does not get go when it
 * masquerades again (netns.c).
 */
#include <linux/jiffies.h>
#include "natk.h"

static int natk_import_refused(struct netlink_ext_ack *extack,
			       enum natk_stat why)
{
	switch (why) {
	case NATK_STAT_DROP_TABLE_FULL:
		NL_SET_ERR_MSG(extack, "natk: flow table full (max-flows)");
		return -ENOSPC;
	case NATK_STAT_DROP_HOST_LIMIT:
		NL_SET_ERR_MSG(extack, "natk: the internal host is at max-flows-per-host");
		return -EDQUOT;
	case NATK_STAT_DROP_NO_PORT:
		NL_SET_ERR_MSG(extack,
			       "natk: the external port is taken (another mapping, a forward or a local socket), or the endpoint is mapped to another port");
		return -EADDRINUSE;
	default:
		NL_SET_ERR_MSG(extack, "natk: out of memory");
		return -ENOMEM;
	}
}

/*
 * The state @s describes, on @flow (new, or an update of one that exists):
 * its TCP state, what was left of its idle time (at most a full timeout),
 * its counters (if it has them: natk_flow_counters()) and the directions
 * it has seen.
 */
static void natk_flow_import_set(const struct natk_cfg *cfg,
				 struct natk_flow *flow,
				 const struct natk_flow_spec *s)
{
	struct natk_flow_acct *acct = natk_flow_counters(flow);
	u8 seen = s->seen;
	unsigned long timeout, left;

	if (s->okey.proto == IPPROTO_TCP)
		WRITE_ONCE(flow->state, s->state);
	timeout = natk_timeout_for(cfg, s->okey.proto, s->state);
	left = min_t(unsigned long, msecs_to_jiffies(s->expires_ms), timeout);
	WRITE_ONCE(flow->seen, (u32)(jiffies - (timeout - left)));
	if (acct) {
		WRITE_ONCE(acct->pkts[0], s->pkts[0]);
		WRITE_ONCE(acct->pkts[1], s->pkts[1]);
		WRITE_ONCE(acct->bytes[0], s->bytes[0]);
		WRITE_ONCE(acct->bytes[1], s->bytes[1]);
	}
	/*
	 * Both ways seen: not evicted first, and the fast path may take it.
	 * A peer that does not say (no NATK_FLOW_A_SEEN): its counters.
	 */
	if (seen & NATK_FLOW_F_SEEN_OUT ||
	    (!seen && (s->pkts[0] || s->state == NATK_TCP_ESTABLISHED)))
		natk_flow_flag_set(flow, NATK_FLOW_SEEN_OUT);
	if (seen & NATK_FLOW_F_SEEN_IN ||
	    (!seen && (s->pkts[1] || s->state == NATK_TCP_ESTABLISHED)))
		natk_flow_flag_set(flow, NATK_FLOW_SEEN_IN);
}

/* Make the flow @s describes. Process context, under nn->lock. */
int natk_flow_import(struct natk_net *nn, const struct natk_flow_spec *s,
		     struct netlink_ext_ack *extack)
{
	const struct natk_cfg *cfg;
	struct natk_map *map = NULL;
	struct natk_flow *flow, *self;
	enum natk_stat why;
	int err = 0;

	lockdep_assert_held(&nn->lock);
	/* Counted on its address from the start (pool.c). */
	cfg = rcu_dereference_protected(nn->cfg, lockdep_is_held(&nn->lock));
	natk_addr_use_prepare(nn, cfg, s->eaddr);
	/* The packet path's context: natk_flow_create runs in softirq. */
	local_bh_disable();
	rcu_read_lock();
	cfg = rcu_dereference(nn->cfg);
	/* Active with that address, or waiting (a standby). */
	if (natk_cfg_state(cfg) == NATK_STATE_DOWN) {
		NL_SET_ERR_MSG(extack, "natk: not masquerading (no external interface)");
		err = -ENETDOWN;
		goto out;
	}
	if (natk_cfg_state(cfg) == NATK_STATE_ACTIVE &&
	    !natk_pool_has(cfg, s->eaddr)) {
		NL_SET_ERR_MSG(extack,
			       "natk: the flow's external address is not one of natk's (set addresses)");
		err = -EADDRNOTAVAIL;
		goto out;
	}
	flow = natk_flow_lookup_out(nn, &s->okey);
	if (flow) {
		/* NATK_FLOW_A_UPDATE: a peer's update of a flow here. */
		if (s->replace && flow->eport == s->eport &&
		    flow->eaddr == s->eaddr) {
			natk_flow_import_set(cfg, flow, s);
			goto out;
		}
		if (s->replace) {
			NL_SET_ERR_MSG(extack, "natk: the flow exists with another external port");
			err = -EADDRINUSE;
		} else {
			NL_SET_ERR_MSG(extack, "natk: the flow exists");
			err = -EEXIST;
		}
		goto out;
	}
	/* The flow of a port forward comes in through that forward. */
	/* (A flow that is its own mapping is a dynamic one: not a forward.) */
	map = natk_map_lookup_ext(nn, cfg, s->okey.proto, s->eaddr, s->eport,
				  &self);
	if (map && !(map->flags & NATK_MAP_STATIC)) {
		map = NULL;
	} else if (map) {
		if (map->ikey.iaddr != s->okey.iaddr ||
		    map->ikey.iport != s->okey.iport || !natk_map_tryget(map)) {
			NL_SET_ERR_MSG(extack,
				       "natk: the external port is a forward to another internal endpoint");
			err = -EADDRINUSE;
			goto out;
		}
	}
	/* Mutant import_any_port: the port is searched, not kept. */
	flow = natk_flow_create_port(nn, cfg, &s->okey, s->state, map, s->eaddr,
				     natk_mutant(import_any_port) ? 0 : s->eport,
				     &why);
	if (map)
		natk_map_put(nn, map);
	if (!flow) {
		err = natk_import_refused(extack, why);
		goto out;
	}
	if (flow->eport != s->eport || flow->eaddr != s->eaddr) {
		/* A packet made it meanwhile, with another port. */
		NL_SET_ERR_MSG(extack, "natk: the flow exists with another external port");
		err = -EADDRINUSE;
		goto out;
	}
	natk_flow_import_set(cfg, flow, s);
out:
	rcu_read_unlock();
	local_bh_enable();
	return err;
}
