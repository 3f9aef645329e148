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
 * Static port forwards accept anyone. For address-dependent filtering, flows
 * are also kept in a list hash table keyed by (internal endpoint, remote
 * address); it is filled only while that mode is on (changing the filtering
 * flushes), so the other modes pay nothing for it.
 */
#include <linux/jhash.h>
#include "natk.h"

struct natk_akey {
	__be32 iaddr;
	__be32 raddr;
	__be16 iport;
	u8 proto;
	u8 pad;
};

static u32 natk_akey_hash(const void *data, u32 len, u32 seed)
{
	return jhash2(data, sizeof(struct natk_akey) / sizeof(u32), seed);
}

static void natk_akey_of(const struct natk_flow *flow, struct natk_akey *k)
{
	memset(k, 0, sizeof(*k));
	k->iaddr = flow->okey.iaddr;
	k->raddr = flow->okey.raddr;
	k->iport = flow->okey.iport;
	k->proto = flow->okey.proto;
}

static u32 natk_akey_obj_hash(const void *data, u32 len, u32 seed)
{
	struct natk_akey k;

	natk_akey_of(data, &k);
	return natk_akey_hash(&k, sizeof(k), seed);
}

static int natk_akey_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	struct natk_akey k;

	natk_akey_of(obj, &k);
	return memcmp(&k, arg->key, sizeof(k));
}

static const struct rhashtable_params natk_aparams = {
	.head_offset = offsetof(struct natk_flow, anode),
	.key_len = sizeof(struct natk_akey),
	.hashfn = natk_akey_hash,
	.obj_hashfn = natk_akey_obj_hash,
	.obj_cmpfn = natk_akey_cmp,
	.automatic_shrinking = true,
};

int natk_filter_init(struct natk_net *nn)
{
	return rhltable_init(&nn->atbl, &natk_aparams);
}

void natk_filter_destroy(struct natk_net *nn)
{
	rhltable_destroy(&nn->atbl);
}

/* Index a new flow if the filtering needs it. Softirq safe. */
int natk_filter_add(struct natk_net *nn, const struct natk_cfg *cfg,
		    struct natk_flow *flow)
{
	int err;

	if (cfg->filtering != NATK_FILTERING_ADDRESS_DEPENDENT)
		return 0;
	err = rhltable_insert(&nn->atbl, &flow->anode, natk_aparams);
	if (!err)
		set_bit(NATK_FLOW_INDEXED, &flow->flags);
	return err;
}

void natk_filter_del(struct natk_net *nn, struct natk_flow *flow)
{
	if (test_bit(NATK_FLOW_INDEXED, &flow->flags))
		rhltable_remove(&nn->atbl, &flow->anode, natk_aparams);
}

/*
 * May a packet from @raddr open a flow on @map? Caller holds
 * rcu_read_lock().
 */
bool natk_filter_allows(struct natk_net *nn, const struct natk_cfg *cfg,
			const struct natk_map *map, __be32 raddr)
{
	struct natk_akey k = {
		.iaddr = map->ikey.iaddr,
		.raddr = raddr,
		.iport = map->ikey.iport,
		.proto = map->ikey.proto,
	};

	/* Mutant no_filtering: anyone may use any mapping. */
	if ((READ_ONCE(map->flags) & NATK_MAP_STATIC) ||
	    natk_mutant(no_filtering))
		return true;
	switch (cfg->filtering) {
	case NATK_FILTERING_ENDPOINT_INDEPENDENT:
		return true;
	case NATK_FILTERING_ADDRESS_DEPENDENT:
		return rhltable_lookup(&nn->atbl, &k, natk_aparams);
	default:
		return false;
	}
}
