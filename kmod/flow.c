// SPDX-License-Identifier: GPL-2.0
/*
 * natk flow table: two resizable RCU hash tables over one set of flow
 * objects, keyed by the original (lan side) and reply (wan side) tuples.
 *
 * Lookups are lockless under RCU. Inserts use the rhashtable's per-bucket
 * locks, so there is no global lock on the packet path. rhashtable keys its
 * hash with a random seed per table and rehashes a chain that grows past
 * its elasticity, which bounds the damage an attacker choosing tuples can
 * do. Flows have no timers: a deferrable GC worker walks the table in
 * process context, a bounded number of entries per run.
 */
#include <linux/slab.h>
#include <linux/module.h>
#include <linux/log2.h>
#include <linux/jiffies.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/net.h>
#include "natk.h"

/* Flows without counters, and flows with (struct natk_flow_acct after). */
static struct kmem_cache *natk_flow_cache __read_mostly;
static struct kmem_cache *natk_flow_acct_cache __read_mostly;

/* After a full eviction pass that found nothing, the next waits this long. */
#define NATK_EVICT_RETRY	HZ

/*
 * The GC: flows it visits per run; its pause after a full pass, at least
 * NATK_GC_INTERVAL and as long as walking the table at NATK_GC_RATE flows
 * a second takes, up to NATK_GC_PAUSE_MAX (natk_gc_pause()).
 */
#define NATK_GC_BUDGET		16384
#define NATK_GC_INTERVAL	(HZ / 2)
#define NATK_GC_RATE		32768
#define NATK_GC_PAUSE_MAX	(60 * HZ)

/*
 * The original table's hash: the tuple in three words and the protocol in
 * the seed, as TCP's inet_ehashfn() hashes its tuple (jhash() over the 13
 * packed bytes of the key costs three times as many instructions, and a
 * new flow hashes its key three times: the ingress hook's lookup, natk_out's
 * and the insert).
 */
static u32 natk_okey_hash(const void *data, u32 len, u32 seed)
{
	const struct natk_okey *k = data;

	return jhash_3words((__force u32)k->iaddr, (__force u32)k->raddr,
			    (__force u32)k->iport << 16 |
			    (__force u32)k->rport, seed ^ k->proto);
}

static const struct rhashtable_params natk_oparams = {
	.head_offset = offsetof(struct natk_flow, onode),
	.key_offset = offsetof(struct natk_flow, okey),
	.key_len = sizeof(struct natk_okey),
	.hashfn = natk_okey_hash,
	.automatic_shrinking = true,
};

/*
 * The reply table's key is not stored: natk_flow_rkey() makes it from the
 * original key and the external end (16 bytes less a flow). Both hashes
 * are jhash2 of a struct natk_rkey, as rhashtable's default for a stored
 * key would be.
 */
static u32 natk_rkey_hash(const void *data, u32 len, u32 seed)
{
	return jhash2(data, sizeof(struct natk_rkey) / sizeof(u32), seed);
}

static u32 natk_flow_rhash(const void *data, u32 len, u32 seed)
{
	struct natk_rkey k = natk_flow_rkey(data);

	return natk_rkey_hash(&k, len, seed);
}

static int natk_flow_rcmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct natk_rkey *k = arg->key;
	const struct natk_flow *flow = obj;

	return k->raddr != flow->okey.raddr || k->eaddr != flow->eaddr ||
	       k->rport != flow->okey.rport || k->eport != flow->eport ||
	       k->proto != flow->okey.proto;
}

static const struct rhashtable_params natk_rparams = {
	.head_offset = offsetof(struct natk_flow, rnode),
	.key_len = sizeof(struct natk_rkey),
	.hashfn = natk_rkey_hash,
	.obj_hashfn = natk_flow_rhash,
	.obj_cmpfn = natk_flow_rcmp,
	.automatic_shrinking = true,
};

/* Put @flow in the reply table, unless its reply key is taken. */
static int natk_flow_rinsert(struct natk_net *nn, struct natk_flow *flow)
{
	struct natk_rkey k = natk_flow_rkey(flow);
	int err;

	err = rhashtable_lookup_insert_key(&nn->rtbl, &k, &flow->rnode,
					   natk_rparams);
	if (!err)
		natk_flow_flag_set(flow, NATK_FLOW_RTBL);
	return err;
}

int natk_flow_cache_init(void)
{
	/* Without counters (issue 15: memory a flow): no hole. */
	BUILD_BUG_ON(IS_ENABLED(CONFIG_64BIT) &&
		     sizeof(struct natk_flow) > 64);
	natk_flow_cache = KMEM_CACHE(natk_flow, 0);
	if (!natk_flow_cache)
		return -ENOMEM;
	natk_flow_acct_cache = kmem_cache_create("natk_flow_acct",
						 sizeof(struct natk_flow) +
						 sizeof(struct natk_flow_acct),
						 __alignof__(struct natk_flow),
						 0, NULL);
	if (!natk_flow_acct_cache) {
		kmem_cache_destroy(natk_flow_cache);
		return -ENOMEM;
	}
	return 0;
}

void natk_flow_cache_exit(void)
{
	/* Flows are freed by RCU callbacks; wait for all of them. */
	rcu_barrier();
	kmem_cache_destroy(natk_flow_acct_cache);
	kmem_cache_destroy(natk_flow_cache);
}

static void natk_flow_free(struct natk_flow *flow)
{
	kmem_cache_free(natk_flow_counters(flow) ? natk_flow_acct_cache :
			natk_flow_cache, flow);
}

static void natk_gc_work(struct work_struct *work);

/*
 * Flows the tables of a new netns are sized for from the start (module
 * parameter flows_hint, read when the netns is made). Without it they
 * start at 64 buckets and double while the first flows come, moving
 * every entry each time (lookups then search two tables, inserts take
 * the slow path): a NAT host that expects N flows sets it, as
 * nf_conntrack's hashsize. They still grow beyond it, and shrink no
 * further than it (min_size, a u16: at most 32768 buckets). At most 65535
 * (rhashtable's nelem_hint): 131072 buckets of 8 bytes in each of the
 * flow tables and the mappings' by-endpoint one (3 MiB a netns).
 */
unsigned int natk_flows_hint;
module_param_named(flows_hint, natk_flows_hint, uint, 0644);
MODULE_PARM_DESC(flows_hint, "flows the tables of each new netns are sized for at once (0: start small and grow; at most 65535)");

static int natk_table_init(struct rhashtable *ht,
			   const struct rhashtable_params *params)
{
	unsigned int hint = min(READ_ONCE(natk_flows_hint), 65535U);
	struct rhashtable_params p = *params;

	/* Mutant flows_hint_ignored: every table starts small. */
	if (hint && !natk_mutant(flows_hint_ignored)) {
		p.nelem_hint = hint;
		/* In buckets, a u16 rounded up to a power of two. */
		p.min_size = min_t(unsigned long,
				   roundup_pow_of_two(hint * 4 / 3 + 1), 32768);
	}
	return rhashtable_init(ht, &p);
}

int natk_tables_init(struct natk_net *nn)
{
	int err;

	err = natk_table_init(&nn->otbl, &natk_oparams);
	if (err)
		return err;
	err = natk_table_init(&nn->rtbl, &natk_rparams);
	if (err)
		goto err_o;
	err = natk_table_init(&nn->mitbl, &natk_miparams);
	if (err)
		goto err_r;
	/* Forwards: few, whatever the flows (ports.c). */
	err = rhashtable_init(&nn->metbl, &natk_meparams);
	if (err)
		goto err_mi;
	err = natk_filter_init(nn);
	if (err)
		goto err_me;
	err = natk_hosts_init(nn);
	if (err)
		goto err_a;
	err = natk_fp_routes_init(nn);
	if (err)
		goto err_h;
	natk_grave_init(nn);
	rhashtable_walk_enter(&nn->otbl, &nn->gc_iter);
	nn->held_next = jiffies;
	nn->update_last = jiffies;
	nn->evict_fruitless = jiffies - 2 * NATK_EVICT_RETRY;
	natk_ports_init(nn);
	INIT_DEFERRABLE_WORK(&nn->gc_work, natk_gc_work);
	return 0;

err_h:
	natk_hosts_destroy(nn);
err_a:
	natk_filter_destroy(nn);
err_me:
	rhashtable_destroy(&nn->metbl);
err_mi:
	rhashtable_destroy(&nn->mitbl);
err_r:
	rhashtable_destroy(&nn->rtbl);
err_o:
	rhashtable_destroy(&nn->otbl);
	return err;
}

/*
 * natk_tables_destroy(): free a flow nothing can reach any more (see
 * there). Its winner of DEAD unwinds it, as always; its mapping reference
 * is dropped as natk_flow_kill() drops it (the mapping may be a deleted
 * forward's, in no table); its host goes with the host table. It is freed
 * at once: no packet, GC walk or dump can still hold it under RCU.
 */
static void natk_flow_free_left(void *ptr, void *arg)
{
	struct natk_flow *flow = ptr;
	struct natk_net *nn = arg;

	/* Killed flows leave the original table before they are freed. */
	if (WARN_ON_ONCE(natk_flow_flag_test_set(flow, NATK_FLOW_DEAD)))
		return;
	atomic_dec(&nn->nflows);
	/* Its own mapping leaves mitbl: freed after the flows, with it. */
	if (natk_flow_flag(flow, NATK_FLOW_SELF))
		natk_map_self_end(nn, flow, true);
	else if (flow->map)
		natk_map_put(nn, flow->map);
	natk_flow_free(flow);	/* its routes go with the route table */
}

/*
 * Netns exit: destroy the tables, freeing the flows still in them in one
 * pass over the original table's buckets (natk_flow_free_left) instead of
 * killing them one by one: no unlinking, no rehashing as the tables
 * shrink, no events, no grace period per flow. The filtering index (its
 * own nodes) and the reply table (which links the same flows: only its
 * buckets go) go first, so that no resize of theirs can still be running
 * when the flows are freed.
 * The hosts and mappings go last, once no flow refers to them. Process
 * context; the hooks are unregistered and their packets done
 * (natk_unhook()), the GC is stopped, and no netlink request or dump can
 * reach a netns that is being dismantled.
 */
void natk_tables_destroy(struct natk_net *nn)
{
	natk_graves_destroy(nn);
	natk_fp_routes_destroy(nn);
	rhashtable_walk_exit(&nn->gc_iter);
	natk_filter_destroy(nn);
	rhashtable_destroy(&nn->rtbl);
	rhashtable_free_and_destroy(&nn->otbl, natk_flow_free_left, nn);
	natk_hosts_destroy(nn);
	natk_maps_destroy(nn);
	natk_pool_destroy(nn);
}

/*
 * A flow past its timeout is gone for every lookup at once, whether or not
 * the GC has reached it (in a large table the GC rests for seconds between
 * passes, natk_gc_pause()): the lookup that finds it kills it, as
 * nf_conntrack's do, so a late packet never revives an expired flow and
 * its expiry is as exact for packets as the clock. Caller holds
 * rcu_read_lock().
 */
static struct natk_flow *natk_flow_live(struct natk_net *nn,
					struct natk_flow *flow)
{
	/* Mutant no_lazy_expiry: only the GC ends an expired flow. */
	if (!flow || natk_mutant(no_lazy_expiry) ||
	    likely(!natk_flow_expired(rcu_dereference(nn->cfg), flow, jiffies)))
		return flow;
	/*
	 * No memory to kill it: it serves, until the GC tries again. Mutant
	 * grave_refused_dropped: missing, though it stays in the tables.
	 */
	if (!natk_flow_kill(nn, flow, NATK_REASON_EXPIRED) &&
	    !natk_flow_flag(flow, NATK_FLOW_DEAD) &&
	    !natk_mutant(grave_refused_dropped))
		return flow;
	return NULL;
}

/* Caller holds rcu_read_lock(). */
struct natk_flow *natk_flow_lookup_out(struct natk_net *nn,
				       const struct natk_okey *key)
{
	return natk_flow_live(nn, rhashtable_lookup(&nn->otbl, key,
						    natk_oparams));
}

/*
 * The flow a packet from the outside with @key belongs to. A flow of a
 * dynamic mapping that has its port by its owner slot is in no reply
 * table: its mapping, found by that port, gives the internal endpoint,
 * and with the packet's source that is the flow's original key (one
 * otbl lookup, no rtbl entry to make, keep and free). The owner slot may
 * name a flow that is its own mapping (ports.c): the same, and the flow
 * found must be that one. Other flows (those of address-and-port-dependent
 * mapping, forwards, mappings in metbl) are in the reply table. Caller
 * holds rcu_read_lock().
 */
struct natk_flow *natk_flow_lookup_in(struct natk_net *nn,
				      const struct natk_rkey *key)
{
	struct natk_flow *flow, *self;
	struct natk_map *map = natk_map_lookup_owner(nn, key->proto, key->eaddr,
						     key->eport, &self);

	if (map || self) {
		struct natk_okey k = {
			.iaddr = map ? map->ikey.iaddr : self->okey.iaddr,
			.raddr = key->raddr,
			.iport = map ? map->ikey.iport : self->okey.iport,
			.rport = key->rport,
			.proto = key->proto,
		};

		flow = rhashtable_lookup(&nn->otbl, &k, natk_oparams);
		/* Mutant rkey-derived-unchecked: any flow of that key. */
		if (flow && ((map ? flow->map == map : flow == self) ||
			     natk_mutant(rkey_derived_unchecked)))
			return natk_flow_live(nn, flow);
	}
	/* (Empty while every flow has an owned mapping.) */
	if (!atomic_read(&nn->rtbl.nelems))
		return NULL;
	return natk_flow_live(nn, rhashtable_lookup(&nn->rtbl, key,
						    natk_rparams));
}

/*
 * Is @key, taken from an outbound packet, the reply direction of a flow?
 * In a one-armed NAT the replies natk_in translated leave by the external
 * interface too. Caller holds rcu_read_lock().
 */
bool natk_flow_is_reply(struct natk_net *nn, const struct natk_okey *key)
{
	const struct natk_okey r = {
		.iaddr = key->raddr,
		.raddr = key->iaddr,
		.iport = key->rport,
		.rport = key->iport,
		.proto = key->proto,
	};

	/* Mutant one_armed_off: replies are not recognised. */
	if (natk_mutant(one_armed_off))
		return false;
	return natk_flow_lookup_out(nn, &r);
}

/*
 * A flow expires when it has not been refreshed for the timeout of its
 * protocol and state, read from the configuration at GC time: a new timeout
 * applies to existing flows at once.
 *
 * flow->seen is not the last packet's time but up to a second after it
 * (NATK_SEEN_AHEAD): the flow counts as seen until then, and expires the
 * timeout after that. A refresh writes it only once that moment has
 * passed, so a busy flow's line is written at most once a second,
 * whichever CPUs its two directions run on, and a flow never expires
 * before its timeout after its last packet, at most a second after.
 */
void natk_flow_refresh(struct natk_flow *flow)
{
	unsigned long now = jiffies;

	/*
	 * Mutant seen_lagging: the time of a write a second old at most
	 * (as nf_flow_table's refresh): a flow expires up to a second early.
	 */
	if (natk_mutant(seen_lagging)) {
		if (time_after_eq(now, natk_flow_seen(flow, now) + HZ))
			WRITE_ONCE(flow->seen, (u32)now);
		return;
	}
	if (natk_flow_refresh_due(flow, now))
		WRITE_ONCE(flow->seen, (u32)(now + NATK_SEEN_AHEAD));
}

/* Free a flow no reader can hold any more (grave.c; its routes went). */
void natk_flow_free_now(struct natk_flow *flow)
{
	natk_flow_free(flow);
}

static struct natk_flow *natk_flow_alloc(const struct natk_cfg *cfg,
					 const struct natk_okey *key, u8 state)
{
	/* Mutant acct_always: every flow gets counters. */
	bool acct = cfg->accounting || natk_mutant(acct_always);
	struct natk_flow *flow;
	unsigned long now = jiffies;

	flow = kmem_cache_zalloc(acct ? natk_flow_acct_cache : natk_flow_cache,
				 NATK_GFP);
	if (!flow)
		return NULL;
	/* Told from a mapping in mitbl by its flags (natk_mi_flow()). */
	atomic_set(&flow->flags, BIT(NATK_FLOW_IS_FLOW) |
				 (acct ? BIT(NATK_FLOW_ACCT) : 0));
	flow->okey = *key;
	flow->state = state;
	flow->created = (u32)now;
	flow->seen = (u32)(now + NATK_SEEN_AHEAD);	/* natk_flow_refresh() */
	/* Its FLOW_NEW announces it (natk_flow_update_due()). */
	flow->announced = natk_secs(now);
	return flow;
}

/*
 * Address-and-port-dependent mapping claims a port by inserting the flow
 * into the reply table: the port is unique per remote endpoint only, so one
 * external address carries far more than 64k flows. Ports owned by a
 * mapping (forwards, endpoint-independent mappings) are never reused. The
 * cheap table checks come before the socket lookup, so that a nearly full
 * range costs hash lookups, not socket lookups.
 */
static int natk_flow_claim(struct natk_net *nn, void *arg, __be16 port)
{
	struct natk_flow *flow = arg, *self;
	struct natk_rkey k;

	if (natk_map_lookup_ext(nn, rcu_dereference(nn->cfg), flow->okey.proto,
				flow->eaddr, port, &self) || self)
		return -EEXIST;
	flow->eport = port;
	k = natk_flow_rkey(flow);
	if (rhashtable_lookup(&nn->rtbl, &k, natk_rparams))
		return -EEXIST;
	if (natk_port_local_use(nn, flow->okey.proto, flow->eaddr, port))
		return -EEXIST;
	return natk_flow_rinsert(nn, flow);
}

/* The table is full: have the GC evict flows that are not established. */
static void natk_evict_kick(struct natk_net *nn)
{
	unsigned long last = READ_ONCE(nn->evict_fruitless);

	/* A pass that found nothing to evict is not repeated at once. */
	if (!READ_ONCE(nn->hooked) ||
	    time_in_range_open(jiffies, last, last + NATK_EVICT_RETRY))
		return;
	if (!test_and_set_bit(NATK_NET_EVICT, &nn->flags))
		mod_delayed_work(system_power_efficient_wq, &nn->gc_work, 0);
}

/*
 * Undo a flow that natk_flow_create() did not publish in the original
 * table: no GC pass, flush or dump can reach it, so only its creator can
 * win DEAD; readers that found it in the reply table may still hold it
 * under RCU.
 */
static void natk_flow_unwind(struct natk_net *nn, struct natk_flow *flow)
{
	bool in_rtbl = natk_flow_flag(flow, NATK_FLOW_RTBL);

	if (natk_flow_flag_test_set(flow, NATK_FLOW_DEAD))
		return;
	natk_filter_del(nn, flow);
	if (in_rtbl)
		rhashtable_remove_fast(&nn->rtbl, &flow->rnode, natk_rparams);
	if (natk_flow_flag(flow, NATK_FLOW_SELF))
		natk_map_self_end(nn, flow, false);
	else if (flow->map)
		natk_map_put(nn, flow->map);
	natk_host_release(nn, flow);
	atomic_dec(&nn->nflows);
	/* Readers may hold it: found in rtbl, or by its owner slot. */
	if (in_rtbl || natk_flow_flag(flow, NATK_FLOW_CLAIMED))
		natk_flow_orphan(nn, flow);
	else
		natk_flow_free(flow);
}

/*
 * Create a flow for a packet with no flow yet: outbound, or inbound on a
 * mapping that @map names (a forward, or one the filtering opens). Returns
 * the flow (possibly one another CPU created at the same time) or NULL with
 * *why set to the drop reason. Caller holds rcu_read_lock(); softirq safe.
 *
 * The external port comes from the endpoint's mapping (endpoint-independent
 * mapping, forwards), or is claimed for this flow alone in the reply table
 * (address-and-port-dependent mapping). The external address is the
 * forward's, the one asked for (@eaddr, an import), or the one the
 * internal host is paired with (host.c, RFC 4787 REQ-2).
 *
 * Publication order (docs/design.md, "Life of a flow"): the flow is
 * complete before it is linked anywhere; then it goes into the reply table
 * (which claims or checks its external port), the filtering index, and
 * the original table last. Everything that kills flows walks the original
 * table, so a flow is out of their reach until it is fully published, and
 * a reader of the original table never sees a port still being chosen.
 */
struct natk_flow *natk_flow_make(struct natk_net *nn,
				 const struct natk_cfg *cfg,
				 const struct natk_okey *key, u8 state,
				 struct natk_map *map, __be32 eaddr,
				 __be16 want, bool known, enum natk_stat *why)
{
	struct natk_host *host = NULL;
	struct mem_cgroup *memcg;
	struct natk_flow *flow, *old;
	bool given = map;
	int err;

	/*
	 * Never above max_flows, not even for a moment: natkctl status reads
	 * this count. Only increments that stop at the limit pass here, so
	 * only a lowered limit leaves it above (until the GC evicts).
	 */
	if (atomic_read(&nn->nflows) >= cfg->max_flows ||
	    !atomic_add_unless(&nn->nflows, 1, cfg->max_flows)) {
		natk_evict_kick(nn);
		natk_log_limited(nn, NATK_LOG_TABLE_FULL,
				 "flow table full (max-flows %u): new flows dropped, evicting idle and half-open ones; raise 'natkctl set max-flows'\n",
				 cfg->max_flows);
		*why = NATK_STAT_DROP_TABLE_FULL;
		return NULL;
	}
	/*
	 * Charge the flow, its mapping and host to the netns's owner.
	 * Mutant memcg-off: to nobody (softirq).
	 */
	memcg = set_active_memcg(natk_mutant(memcg_off) ? NULL : nn->memcg);
	/* A forward's address; one following the primary: an import's. */
	if (map && (map->ekey.eaddr || !eaddr))
		eaddr = natk_map_eaddr(map, cfg);
	/*
	 * Its host's object only when something needs it (host.c); the
	 * mutant hosts_never: never, whatever needs it.
	 */
	if ((known || natk_cfg_needs_hosts(cfg) ||
	     READ_ONCE(nn->hosts_attach)) && !natk_mutant(hosts_never)) {
		host = natk_host_get(nn, cfg, key->iaddr, eaddr, why);
		if (!host)
			goto err_count;
		if (!eaddr)
			eaddr = natk_host_addr(host);
	} else if (!eaddr) {
		eaddr = natk_pool_pick(nn, cfg);	/* one address */
	}
	/* Mutant pool_unpaired: any address of the pool, for each mapping. */
	if (natk_mutant(pool_unpaired) && !map && cfg->naddrs > 1)
		eaddr = cfg->addrs[get_random_u32_below(cfg->naddrs)];
	flow = natk_flow_alloc(cfg, key, state);
	if (!flow) {
		*why = NATK_STAT_DROP_NO_MEMORY;
		goto err_host;
	}
	if (host)
		natk_flow_flag_set(flow, NATK_FLOW_HOST);

	/* A forward's mapping is given (and pinned by its static ref). */
	flow->eaddr = eaddr;
	if (map) {
		refcount_inc(&map->ref);
	} else if (cfg->mapping == NATK_MAPPING_ENDPOINT_INDEPENDENT &&
		   !natk_mutant(apdm)) {	/* mutant: per destination */
		/* NULL and NATK_FLOW_SELF: the flow is its own mapping. */
		map = natk_map_get(nn, cfg, key->proto, key->iaddr, key->iport,
				   eaddr, want, host, flow, why);
		if (!map && !natk_flow_flag(flow, NATK_FLOW_SELF))
			goto err_flow;
	}
	set_active_memcg(memcg);
	if (natk_flow_flag(flow, NATK_FLOW_SELF)) {
		err = 0;	/* found by its owner slot: in no rtbl */
	} else if (map) {
		flow->map = map;
		/* The endpoint's own mapping may be a forward's. */
		if (map->ekey.eaddr || !given)
			flow->eaddr = natk_map_eaddr(map, cfg);
		flow->eport = map->ekey.eport;
		/*
		 * Found by its mapping's port (natk_flow_lookup_in()) if the
		 * mapping has an owner slot; else by the reply table. Mutant
		 * owned-rtbl: every flow of a mapping in the reply table too.
		 */
		err = READ_ONCE(map->flags) & NATK_MAP_OWNED &&
		      !natk_mutant(owned_rtbl) ?
		      0 : natk_flow_rinsert(nn, flow);
	} else if (want) {
		err = natk_flow_claim(nn, flow, want);
	} else {
		err = natk_port_search(nn, cfg, key->proto, key->iport,
				       natk_flow_claim, flow);
	}
	if (err) {
		natk_flow_unwind(nn, flow);
		if (err == -EEXIST) {
			/*
			 * The reply tuple is taken: by this flow's twin that
			 * another CPU is publishing right now, or by a flow
			 * made under another mapping rule before a flush.
			 */
			old = natk_flow_lookup_out(nn, key);
			if (old)
				return old;
			*why = NATK_STAT_DROP_NO_PORT;
		} else if (err == -EADDRINUSE) {
			natk_ports_count_exhausted(nn, key->proto, eaddr);
			*why = NATK_STAT_DROP_NO_PORT;
		} else {
			*why = NATK_STAT_DROP_NO_MEMORY;
		}
		return NULL;
	}
	/* A flow that cannot be indexed works; it cannot vouch for raddr. */
	if (natk_filter_add(nn, cfg, flow))
		natk_stat_inc(nn, NATK_STAT_DROP_NO_MEMORY);
	natk_race(nn, NATK_RACE_FLOW_PUBLISH, flow);

	old = rhashtable_lookup_get_insert_fast(&nn->otbl, &flow->onode,
						natk_oparams);
	if (old) {
		/* Another CPU won the race (or the insert failed). */
		natk_flow_unwind(nn, flow);
		if (IS_ERR(old)) {
			*why = NATK_STAT_DROP_NO_MEMORY;
			return NULL;
		}
		return old;
	}
	/* Published: from here on the GC or a flush may kill it. */
	natk_stat_inc(nn, NATK_STAT_CONNECTION_ATTEMPTS);
	natk_event_rcu(nn, flow, NATK_CMD_FLOW_NEW, NATK_REASON_NONE);
	/* Address-and-port-dependent: its own mapping, in rtbl. */
	if (!natk_flow_flag(flow, NATK_FLOW_SELF) && !flow->map)
		natk_event_flow_map(nn, flow, NATK_CMD_MAP_NEW);
	return flow;

err_flow:
	/* (Its owner slot named it for a while: readers may hold it.) */
	if (natk_flow_flag(flow, NATK_FLOW_CLAIMED))
		natk_flow_orphan(nn, flow);
	else
		natk_flow_free(flow);
err_host:
	if (host)
		natk_host_put(nn, host);
err_count:
	set_active_memcg(memcg);
	atomic_dec(&nn->nflows);
	return NULL;
}

/*
 * The flow's id in dumps and events: the same for its whole life, and
 * (but for a 32-bit collision) another for any other flow, and for a later
 * one with the same tuple unless it reuses this object within the same
 * jiffy. A keyed hash of the object's address, tuple and creation time, as
 * nf_ct_get_id() does: it stores nothing and reveals no kernel address.
 */
u32 natk_flow_id(const struct natk_flow *flow)
{
	static siphash_aligned_key_t key;
	struct {
		unsigned long addr;
		struct natk_okey okey;
		u32 created;
	} in;

	net_get_random_once(&key, sizeof(key));
	memset(&in, 0, sizeof(in));
	in.addr = (unsigned long)flow;
	in.okey = flow->okey;
	in.created = flow->created;
	return (u32)siphash(&in, sizeof(in), &key);
}

/*
 * Unlink a flow and free it after a grace period (in a grave). False: it
 * was dead already, or no memory for its grave (it lives on, for a later
 * kill to try again). Any context.
 */
bool natk_flow_kill(struct natk_net *nn, struct natk_flow *flow, u8 reason)
{
	struct natk_grave_slot slot;

	if (natk_flow_flag(flow, NATK_FLOW_DEAD) ||
	    !natk_grave_reserve(nn, &slot))
		return false;
	if (natk_flow_flag_test_set(flow, NATK_FLOW_DEAD)) {
		natk_grave_fill(nn, &slot, NULL);
		return false;
	}
	natk_filter_del(nn, flow);
	if (natk_flow_flag(flow, NATK_FLOW_RTBL))
		rhashtable_remove_fast(&nn->rtbl, &flow->rnode, natk_rparams);
	rhashtable_remove_fast(&nn->otbl, &flow->onode, natk_oparams);
	atomic_dec(&nn->nflows);
	if (reason == NATK_REASON_EXPIRED)
		natk_stat_inc(nn, NATK_STAT_IDLE_TIMEOUTS);
	natk_event(nn, flow, NATK_CMD_FLOW_DEL, reason);
	if (natk_flow_flag(flow, NATK_FLOW_SELF))
		natk_map_self_end(nn, flow, false);
	else if (flow->map)
		natk_map_put(nn, flow->map);
	else			/* its port is free again */
		natk_event_flow_map(nn, flow, NATK_CMD_MAP_DEL);
	natk_host_release(nn, flow);
	natk_fp_flow_release(nn, flow);
	natk_grave_fill(nn, &slot, flow);
	return true;
}

/*
 * Under table pressure these go first: flows that never saw a reply, and
 * TCP flows that are not established (half-open, closing, reset), which
 * an attacker can create in bulk with spoofed SYNs.
 */
static bool natk_flow_evictable(const struct natk_flow *flow)
{
	/* Mutant no_eviction: nothing is ever evicted. */
	if (natk_mutant(no_eviction))
		return false;
	return !natk_flow_flag(flow, NATK_FLOW_SEEN_OUT) ||
	       !natk_flow_flag(flow, NATK_FLOW_SEEN_IN) ||
	       (flow->okey.proto == IPPROTO_TCP &&
		READ_ONCE(flow->state) != NATK_TCP_ESTABLISHED);
}

/*
 * How many expiry refresh FLOW_UPDATEs this GC run may send: none while
 * nobody listens, else NATK_UPDATE_RATE a second of the time since the
 * last run that could send (at most NATK_GC_INTERVAL of it; what a run
 * leaves unused is not carried over). So they never exceed
 * NATK_UPDATE_RATE a second, however often the GC runs.
 */
static unsigned int natk_gc_update_budget(struct natk_net *nn)
{
	unsigned long now = jiffies, elapsed;

	if (!natk_events_heard(nn))
		return 0;
	elapsed = min_t(unsigned long, now - nn->update_last, NATK_GC_INTERVAL);
	nn->update_last = now;
	return elapsed * NATK_UPDATE_RATE / HZ;
}

/*
 * Walk up to @budget flows from where the last call stopped, freeing
 * expired ones, and while anyone listens to flow events announcing the
 * busy ones whose last announcement is getting old (natk_flow_update_due(),
 * natk_gc_update_budget()). Returns true when the walk reached the end of
 * the table. Process context (GC worker); the caller serialises calls.
 */
bool natk_gc_scan(struct natk_net *nn, unsigned int budget)
{
	struct rhashtable_iter *it = &nn->gc_iter;
	struct natk_flow *flow, *victim = NULL;
	unsigned int updates = natk_gc_update_budget(nn);
	const struct natk_cfg *cfg;
	u8 reason = NATK_REASON_NONE;
	bool done = false;
	unsigned int n = 0;
	int target = -1;

	/*
	 * A flow is killed only after the walk has moved past it: a walker
	 * that stops on an entry which then disappears resumes one entry too
	 * far and would skip a flow. So the walk only ever stops on a live
	 * entry. A resize rewinds the walk to the first slot (start_check or
	 * next return -EAGAIN): the pass goes on from there, and visits
	 * again what it had seen, which is harmless; every flow is visited
	 * in a pass that no resize interrupts.
	 */
	rhashtable_walk_start_check(it);
	for (;;) {
		if (!victim && n >= budget)
			break;
		flow = rhashtable_walk_next(it);
		if (victim) {
			natk_flow_kill(nn, victim, reason);
			victim = NULL;
		}
		if (IS_ERR(flow)) {
			if (PTR_ERR(flow) == -EAGAIN)
				continue;	/* resized: rewound */
			break;
		}
		if (!flow) {
			done = true;
			break;
		}
		n++;
		cfg = rcu_dereference(nn->cfg);	/* walk holds RCU */
		if (test_bit(NATK_NET_EVICT, &nn->flags))
			target = cfg->max_flows -
				 max_t(u32, 1, cfg->max_flows / 16);
		if (natk_flow_expired(cfg, flow, jiffies)) {
			victim = flow;
			reason = NATK_REASON_EXPIRED;
		} else if (target >= 0 && natk_flow_evictable(flow) &&
			   atomic_read(&nn->nflows) > target) {
			victim = flow;
			reason = NATK_REASON_EVICTED;
			natk_stat_inc(nn, NATK_STAT_FLOWS_EVICTED);
		} else if (target >= 0 && atomic_read(&nn->nflows) <= target) {
			/* Evicted down to 15/16 of the limit: stop evicting. */
			clear_bit(NATK_NET_EVICT, &nn->flags);
			target = -1;
		}
		/* Routes it cached that changed since: let the entries go. */
		if (!victim)
			natk_fp_route_clean(nn, flow);
		/* Mutant no_refresh_updates: a busy flow is never announced. */
		if (!victim && updates && !natk_mutant(no_refresh_updates) &&
		    natk_flow_update_due(cfg, flow, jiffies)) {
			natk_event_update(nn, flow);
			updates--;
		}
		if (!victim && (n & 255) == 0) {
			rhashtable_walk_stop(it);
			cond_resched();
			rhashtable_walk_start_check(it);
		}
	}
	rhashtable_walk_stop(it);
	if (done) {
		/*
		 * A full pass: nothing more to evict; established flows stay.
		 * Table-full drops do not start another pass for a while.
		 */
		if (test_and_clear_bit(NATK_NET_EVICT, &nn->flags))
			WRITE_ONCE(nn->evict_fruitless, jiffies);
		/* Rewind for the next pass. */
		rhashtable_walk_exit(it);
		rhashtable_walk_enter(&nn->otbl, it);
	}
	return done;
}

/*
 * What a GC pass walks, in flows: the flows, and the original table's
 * buckets, empty ones included. rhashtable's walker visits each bucket at
 * about the cost of a flow (about 20 instructions), so a table sized for
 * 65,535 flows (natk.flows_hint) that holds a thousand is 132,072 to walk,
 * not 1,000. Process context.
 */
unsigned int natk_gc_walk_size(struct natk_net *nn)
{
	unsigned int buckets;

	rcu_read_lock();
	buckets = rcu_dereference(nn->otbl.tbl)->size;
	rcu_read_unlock();
	/* Mutant gc-buckets-uncounted: the flows only. */
	if (natk_mutant(gc_buckets_uncounted))
		buckets = 0;
	return atomic_read(&nn->nflows) + buckets;
}

/*
 * How long the GC rests after a full pass that walked @nflows flows and
 * buckets (natk_gc_walk_size()), in jiffies.
 * Its scan rate scales with the table and the timeouts, as nf_conntrack's
 * gc_worker's does: a small table is walked every NATK_GC_INTERVAL, a
 * large one at NATK_GC_RATE flows a second at most (1M flows: a pass
 * every 30 s instead of twice a second, which cost forwarding 13% of its
 * packets), but never resting longer than half the shortest timeout or
 * port hold, so a flow or held port is freed at most that late. Packets
 * never see an expired flow meanwhile (natk_flow_live()). While anyone
 * listens to flow events it keeps the short pause: their expiry refresh
 * updates (natk_flow_update_due()) are due at that cadence.
 */
unsigned long natk_gc_pause(const struct natk_cfg *cfg, unsigned int nflows,
			    bool heard)
{
	unsigned long pause, cap = NATK_GC_PAUSE_MAX;
	int i;

	/* Mutant gc_unpaced: a large table rests as long as a small one. */
	if (heard || natk_mutant(gc_unpaced))
		return NATK_GC_INTERVAL;
	for (i = 0; i < NATK_TO_NUM; i++)
		cap = min(cap, cfg->timeout[i] / 2);
	if (cfg->port_hold)
		cap = min(cap, cfg->port_hold / 2);
	pause = div_u64((u64)nflows * HZ, NATK_GC_RATE);
	return clamp(pause, (unsigned long)NATK_GC_INTERVAL,
		     max_t(unsigned long, cap, NATK_GC_INTERVAL));
}

static void natk_gc_work(struct work_struct *work)
{
	struct natk_net *nn = container_of(to_delayed_work(work),
					   struct natk_net, gc_work);
	bool done = natk_gc_scan(nn, NATK_GC_BUDGET);
	unsigned long delay = 1;

	/* What this run killed is freed after a grace period. */
	natk_grave_close(nn);
	natk_grave_prepare(nn);
	natk_orphans_free(nn);

	if (done) {
		natk_map_release_held(nn, true);
		rcu_read_lock();
		delay = natk_gc_pause(rcu_dereference(nn->cfg),
				      natk_gc_walk_size(nn),
				      natk_events_heard(nn));
		rcu_read_unlock();
	}
	queue_delayed_work(system_power_efficient_wq, &nn->gc_work, delay);
}

/*
 * Run the GC now, not after its pause (the timeouts were shortened).
 * Caller holds nn->lock, under which natk_unhook() stops the GC.
 */
void natk_gc_kick(struct natk_net *nn)
{
	lockdep_assert_held(&nn->lock);
	if (nn->hooked)
		mod_delayed_work(system_power_efficient_wq, &nn->gc_work, 0);
}

void natk_gc_start(struct natk_net *nn)
{
	queue_delayed_work(system_power_efficient_wq, &nn->gc_work,
			   NATK_GC_INTERVAL);
}

void natk_gc_stop(struct natk_net *nn)
{
	cancel_delayed_work_sync(&nn->gc_work);
}

/*
 * One pass over @ht calling @fn on each object, only once the walker has
 * moved past it, so that @fn may unlink it (a walker stopped on an entry
 * that then disappears resumes one entry too far). Every 256 objects the
 * walk pauses to reschedule. The object it stands on then may be freed
 * meanwhile: if the restarted walk finds it still linked (it.p kept) it is
 * safe until the next pause and is handled; if not, it is left for the
 * next pass. Returns how many calls of @fn returned true, plus one per
 * object left. Process context.
 */
unsigned int natk_sweep(struct natk_net *nn, struct rhashtable *ht,
			bool (*fn)(struct natk_net *nn, void *obj, u8 arg),
			u8 arg)
{
	struct rhashtable_iter it;
	void *obj, *prev = NULL;
	unsigned int n = 0, seen = 0;

	rhashtable_walk_enter(ht, &it);
	rhashtable_walk_start(&it);
	for (;;) {
		obj = rhashtable_walk_next(&it);
		if (prev) {
			n += fn(nn, prev, arg);
			prev = NULL;
		}
		if (IS_ERR(obj)) {
			if (PTR_ERR(obj) == -EAGAIN)
				continue;	/* resized: rewound */
			break;
		}
		if (!obj)
			break;
		if ((++seen & 255) == 0) {
			struct rhash_head *at = it.p;

			rhashtable_walk_stop(&it);
			cond_resched();
			natk_grave_prepare(nn);	/* for the next kills */
			rhashtable_walk_start(&it);
			if (!at || it.p != at) {
				n++;
				continue;
			}
		}
		prev = obj;
	}
	rhashtable_walk_stop(&it);
	rhashtable_walk_exit(&it);
	/* What it killed (if its callback kills) goes after a grace period. */
	natk_grave_close(nn);
	return n;
}

static bool natk_flush_one(struct natk_net *nn, void *flow, u8 reason)
{
	return natk_flow_kill(nn, flow, reason);
}

/*
 * Kill every dynamic flow and free held mappings. Process context. Flows
 * that others remove during a pass can still make the walker skip one;
 * passes repeat until one finds nothing (bounded: new flows may keep
 * arriving while hooked).
 */
void natk_flush(struct natk_net *nn, u8 reason)
{
	int pass;

	atomic_inc(&nn->gen);
	for (pass = 0; pass < 16; pass++)
		if (!natk_sweep(nn, &nn->otbl, natk_flush_one, reason))
			break;
	/* The ports of the flows just killed are not held either. */
	natk_map_release_held(nn, false);
}

/* Buckets of one table a chain walk visits, and per RCU read section. */
#define NATK_CHAIN_WALK		65536U
#define NATK_CHAIN_BATCH	256U

/*
 * The longest chain in @ht: the most entries in one bucket, in its bucket
 * table and any table a rehash is filling. Under RCU, a batch of buckets
 * at a time, so a resize in between only moves the walk to the new table.
 * At most NATK_CHAIN_WALK buckets: all of them up to that size, a window
 * from a random bucket in a larger table. Process context.
 */
static unsigned int natk_ht_max_chain(struct rhashtable *ht)
{
	unsigned int i, n, walk, start, max = 0;
	struct bucket_table *tbl;
	struct rhash_head *pos;

	rcu_read_lock();
	tbl = rht_dereference_rcu(ht->tbl, ht);
	walk = min(tbl->size, NATK_CHAIN_WALK);
	start = tbl->size > walk ? get_random_u32_below(tbl->size) : 0;
	for (i = 0; i < walk; i++) {
		if (i && i % NATK_CHAIN_BATCH == 0) {
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
		for (tbl = rht_dereference_rcu(ht->tbl, ht); tbl;
		     tbl = rht_dereference_rcu(tbl->future_tbl, ht)) {
			n = 0;
			rht_for_each_rcu(pos, tbl, (start + i) & (tbl->size - 1))
				n++;
			max = max(max, n);
		}
	}
	rcu_read_unlock();
	return max;
}

/*
 * The longest hash chain in any of the netns's tables (natkctl status):
 * keyed hashes and rehashing keep it short whatever tuples are sent.
 */
unsigned int natk_hash_max_chain(struct natk_net *nn)
{
	struct rhashtable *tables[] = {
		&nn->otbl, &nn->rtbl, &nn->mitbl, &nn->metbl, &nn->atbl.ht,
		&nn->htbl,
	};
	unsigned int i, max = 0;

	for (i = 0; i < ARRAY_SIZE(tables); i++)
		max = max(max, natk_ht_max_chain(tables[i]));
	return max;
}
