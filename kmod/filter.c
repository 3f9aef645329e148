// SPDX-License-Identifier: GPL-2.0
/*
 * natk inbound filtering (RFC 4787 REQ-8, RFC 5382 REQ-3): whether a packet
 * from a remote endpoint with no flow may use an existing mapping.
 *
 *   endpoint-independent:     any remote may
 *   address-dependent:        a remote address the internal endpoint has
 *                             sent to (any port) may
 *   address-port-dependent:   nobody may (only existing flows match)
 *
 * Static port forwards accept anyone. For address-dependent filtering, a
 * side index answers "has this internal endpoint a flow to that remote
 * address?": a small node per (internal endpoint, remote address) counts
 * the flows it stands for. It is filled only while that mode is on
 * (changing the filtering flushes), so the other modes pay nothing for it,
 * not even room in struct natk_flow: a flow finds its node again by key.
 */
#include <linux/slab.h>
#include "natk.h"

struct natk_akey {
	__be32 iaddr;
	__be32 raddr;
	__be16 iport;
	u8 proto;
	u8 pad;
};

/*
 * An rhltable, so that a node whose last flow has gone (count 0, being
 * removed) never blocks a new one with the same key: the new flow inserts
 * a node of its own beside it. A key is present while any of its nodes
 * counts a flow; the counts of its nodes add up to its indexed flows.
 */
struct natk_anode {
	struct rhlist_head node;
	struct natk_akey key;
	atomic_t flows;
	struct rcu_head rcu;
};

static const struct rhashtable_params natk_aparams = {
	.head_offset = offsetof(struct natk_anode, node),
	.key_offset = offsetof(struct natk_anode, key),
	.key_len = sizeof(struct natk_akey),
	.automatic_shrinking = true,
};

static void natk_akey_of(const struct natk_flow *flow, struct natk_akey *k)
{
	memset(k, 0, sizeof(*k));
	k->iaddr = flow->okey.iaddr;
	k->raddr = flow->okey.raddr;
	k->iport = flow->okey.iport;
	k->proto = flow->okey.proto;
}

int natk_filter_init(struct natk_net *nn)
{
	return rhltable_init(&nn->atbl, &natk_aparams);
}

static void natk_anode_free_left(void *ptr, void *arg)
{
	kfree(ptr);
}

/* No flow is left (the netns goes, or natk_tables_init() failed). */
void natk_filter_destroy(struct natk_net *nn)
{
	rhltable_free_and_destroy(&nn->atbl, natk_anode_free_left, NULL);
}

/*
 * Index a new flow (natk_filter_add(): the filtering needs it): count it
 * on a live node of its key, or insert a node for it. Softirq safe; caller
 * holds rcu_read_lock(). The walk is bounded by the nodes of one key: live
 * ones count flows, and dead ones are on their way out.
 */
int __natk_filter_add(struct natk_net *nn, struct natk_flow *flow)
{
	struct rhlist_head *list, *pos;
	struct mem_cgroup *memcg;
	struct natk_anode *a;
	struct natk_akey k;
	int err;

	natk_akey_of(flow, &k);
	list = rhltable_lookup(&nn->atbl, &k, natk_aparams);
	rhl_for_each_entry_rcu(a, pos, list, node) {
		if (atomic_inc_not_zero(&a->flows))
			goto indexed;
	}
	memcg = set_active_memcg(nn->memcg);
	a = kmalloc(sizeof(*a), NATK_GFP);
	set_active_memcg(memcg);
	if (!a)
		return -ENOMEM;
	a->key = k;
	atomic_set(&a->flows, 1);
	err = rhltable_insert(&nn->atbl, &a->node, natk_aparams);
	if (err) {
		kfree(a);	/* never visible */
		return err;
	}
indexed:
	natk_flow_flag_set(flow, NATK_FLOW_INDEXED);
	return 0;
}

/*
 * Uncount a flow that natk_filter_add() indexed: from any node of its key
 * that still counts one (there is one: its own count is in the sum); the
 * one it takes to zero leaves the index. Any context.
 */
void natk_filter_del(struct natk_net *nn, struct natk_flow *flow)
{
	struct rhlist_head *list, *pos;
	struct natk_anode *a;
	struct natk_akey k;
	int left;

	if (!natk_flow_flag(flow, NATK_FLOW_INDEXED))
		return;
	natk_akey_of(flow, &k);
	rcu_read_lock();
	list = rhltable_lookup(&nn->atbl, &k, natk_aparams);
	rhl_for_each_entry_rcu(a, pos, list, node) {
		/*
		 * Mutant filter-node-first: a node leaves with its first
		 * flow, however many it counted.
		 */
		if (natk_mutant(filter_node_first))
			left = atomic_xchg(&a->flows, 0) > 0 ? 0 : -1;
		else
			left = atomic_dec_if_positive(&a->flows);
		if (left < 0)
			continue;	/* counted nothing any more */
		if (!left) {
			rhltable_remove(&nn->atbl, &a->node, natk_aparams);
			kfree_rcu(a, rcu);
		}
		break;
	}
	rcu_read_unlock();
}

/*
 * May a packet from @raddr open a flow on the mapping of internal endpoint
 * @ik (@fwd: a port forward's)? Caller holds rcu_read_lock().
 */
bool natk_filter_allows(struct natk_net *nn, const struct natk_cfg *cfg,
			const struct natk_mkey *ik, bool fwd, __be32 raddr)
{
	struct natk_akey k = {
		.iaddr = ik->iaddr,
		.raddr = raddr,
		.iport = ik->iport,
		.proto = ik->proto,
	};
	struct rhlist_head *list, *pos;
	struct natk_anode *a;

	/* Mutant no_filtering: anyone may use any mapping. */
	if (fwd || natk_mutant(no_filtering))
		return true;
	switch (cfg->filtering) {
	case NATK_FILTERING_ENDPOINT_INDEPENDENT:
		return true;
	case NATK_FILTERING_ADDRESS_DEPENDENT:
		list = rhltable_lookup(&nn->atbl, &k, natk_aparams);
		rhl_for_each_entry_rcu(a, pos, list, node)
			if (atomic_read(&a->flows))
				return true;
		return false;
	default:
		return false;
	}
}
