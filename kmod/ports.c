// SPDX-License-Identifier: GPL-2.0
/*
 * natk port allocator and mappings.
 *
 * A mapping ties an internal endpoint (proto, address, port) to one external
 * port, for every destination (RFC 4787 REQ-1 endpoint-independent mapping).
 * Mappings are refcounted by the flows that use them. They are found by
 * internal endpoint in a hash table (mitbl) and by external port in their
 * address's owner array (natk_addr_use.owners: a pointer a port and
 * protocol class, in chunks made as ports are first taken). A port is
 * claimed by a compare-and-exchange on its owner slot, so two CPUs can
 * never hand out the same port, without a global lock or a hash insert.
 * Forwards, and mappings on an address with no owner array, are in a hash
 * table by external port instead (metbl), which is empty on most hosts.
 *
 * Port choice: the internal port when it is free and in range (port
 * preservation), else a random start in the range and a bounded search
 * (RFC 6056 algorithm 1 style) over the ports of the internal port's parity
 * first (RFC 4787 REQ-4: RTP on an even port, RTCP on the next odd one),
 * then, if the range is small enough to search completely, the others.
 * Ports below 1024 map below 1024 (RFC 4787 REQ-3a). A port a local socket
 * of the NAT host uses on the external address is never handed out.
 *
 * Port hold (RFC 6888 REQ-8): when the last flow of a dynamic mapping ends,
 * the mapping stays in both tables, marked held, for cfg->port_hold. Its
 * port is not handed to anyone else and inbound packets do not open flows
 * on it; the same internal endpoint sending again revives it with the same
 * port. The GC worker frees held mappings when their time is up; a flush
 * frees them all. The hold state changes only by cmpxchg, so a revival and
 * the GC's release cannot both win.
 */
#include <linux/random.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/inet_hashtables.h>
#include <net/udp.h>
#include <net/tcp.h>
#include "natk.h"

/*
 * mitbl's hash of an internal endpoint: two words, as the key's and an
 * object's (natk_mi_obj_hash()) must hash alike.
 */
static __always_inline u32
natk_mi_hash_of(__be32 iaddr, __be16 iport, u8 proto, u32 seed)
{
	return jhash_2words((__force u32)iaddr,
			    (__force u32)iport | (u32)proto << 16, seed);
}

static u32 natk_mi_hash(const void *data, u32 len, u32 seed)
{
	const struct natk_mkey *k = data;

	return natk_mi_hash_of(k->iaddr, k->iport, k->proto, seed);
}

/* The internal endpoint an object of mitbl maps: a mapping's, a flow's. */
static struct natk_mkey natk_mi_key(const void *obj)
{
	const struct natk_flow *flow = natk_mi_flow(obj);

	if (!flow)
		return ((const struct natk_map *)obj)->ikey;
	return (struct natk_mkey){ .iaddr = flow->okey.iaddr,
				   .iport = flow->okey.iport,
				   .proto = flow->okey.proto };
}

static u32 natk_mi_obj_hash(const void *obj, u32 len, u32 seed)
{
	const struct natk_mkey k = natk_mi_key(obj);

	return natk_mi_hash_of(k.iaddr, k.iport, k.proto, seed);
}

static int natk_mi_obj_cmp(struct rhashtable_compare_arg *arg,
			   const void *obj)
{
	struct natk_mkey k = natk_mi_key(obj);

	return memcmp(&k, arg->key, sizeof(k));
}

/*
 * mitbl holds struct natk_map and struct natk_flow (one that is its own
 * mapping) alike, by the node at the same offset in both; their keys are
 * not at one offset, so the table hashes and compares objects by
 * natk_mi_key(), and inserts give the key (rhashtable_*_insert_key()).
 */
const struct rhashtable_params natk_miparams = {
	.head_offset = offsetof(struct natk_map, inode),
	.key_offset = offsetof(struct natk_map, ikey),
	.key_len = sizeof(struct natk_mkey),
	.hashfn = natk_mi_hash,
	.obj_hashfn = natk_mi_obj_hash,
	.obj_cmpfn = natk_mi_obj_cmp,
	.automatic_shrinking = true,
};

const struct rhashtable_params natk_meparams = {
	.head_offset = offsetof(struct natk_map, enode),
	.key_offset = offsetof(struct natk_map, ekey),
	.key_len = sizeof(struct natk_ekey),
	.automatic_shrinking = true,
};

/*
 * The forward that follows the primary external address (ekey.eaddr 0)
 * and has @eport, if @eaddr is the primary. Caller holds rcu_read_lock().
 */
static struct natk_map *natk_map_lookup_primary(struct natk_net *nn,
						const struct natk_cfg *cfg,
						u8 proto, __be32 eaddr,
						__be16 eport)
{
	struct natk_ekey k = { .eport = eport, .proto = proto };

	/* (While natk waits, an import's address may be the primary's.) */
	if (!eaddr || (eaddr != cfg->ext_addr && cfg->ext_addr))
		return NULL;
	return rhashtable_lookup(&nn->metbl, &k, natk_meparams);
}

/*
 * The owner slot of @port in protocol class @class of @u's owner array,
 * its chunk made if @make (softirq safe); NULL if @u has no owner array
 * or (without @make) the chunk is not there; ERR_PTR(-ENOMEM) if no
 * memory for the chunk. A chunk is never freed while its slot lives
 * (natk_pool_destroy() frees them): no RCU for them.
 */
static __always_inline struct natk_map __rcu **
natk_port_owner(struct natk_addr_use *u, unsigned int class, __be16 port,
		bool make)
{
	/* Pairs with the release in natk_addr_use_prepare(): zeroed. */
	struct natk_owners __rcu **dir = smp_load_acquire(&u->owners);
	unsigned int p = ntohs(port);
	struct natk_owners *c, *old;

	if (!dir)
		return NULL;
	dir += class * NATK_OWNER_CHUNKS + p / NATK_OWNER_PORTS;
	/* The acquire pairs with the cmpxchg below: a chunk seen is zeroed. */
	c = (struct natk_owners __force *)smp_load_acquire(dir);
	if (!c && make) {
		c = kzalloc(sizeof(*c), NATK_GFP | __GFP_NOWARN);
		if (!c)
			return ERR_PTR(-ENOMEM);
		old = (struct natk_owners __force *)
		      cmpxchg((struct natk_owners __force **)dir, NULL, c);
		if (old) {		/* another CPU made it first */
			kfree(c);
			c = old;
		}
	}
	return c ? &c->map[p % NATK_OWNER_PORTS] : NULL;
}

/*
 * An owner slot holds a mapping, or a flow that is its own mapping (ports
 * claimed for it, NATK_FLOW_SELF once published) with bit 0 set.
 */
static struct natk_map *natk_owner_self(struct natk_flow *flow)
{
	return (struct natk_map *)((unsigned long)flow | 1UL);
}

static struct natk_flow *natk_owner_flow(const struct natk_map *owner)
{
	if (!((unsigned long)owner & 1UL))
		return NULL;
	return (struct natk_flow *)((unsigned long)owner & ~1UL);
}

/*
 * The dynamic mapping that has @eaddr:@eport in its owner array, if any;
 * or NULL with *@self the flow that has it as its own mapping (published
 * or being published: natk_map_self_live()). Caller holds
 * rcu_read_lock().
 */
struct natk_map *natk_map_lookup_owner(struct natk_net *nn, u8 proto,
				       __be32 eaddr, __be16 eport,
				       struct natk_flow **self)
{
	struct natk_addr_use *u = natk_addr_use(nn, eaddr);
	struct natk_map __rcu **slot;
	struct natk_flow *flow;
	struct natk_map *map;

	*self = NULL;
	if (!u)
		return NULL;
	slot = natk_port_owner(u, natk_port_class(proto), eport, false);
	map = slot ? rcu_dereference(*slot) : NULL;
	flow = natk_owner_flow(map);
	/*
	 * A slot's mapping is on its address: but the slot may have been
	 * freed and taken by another address since natk_addr_use() looked.
	 */
	if (flow) {
		if (flow->eaddr == eaddr && flow->eport == eport &&
		    flow->okey.proto == proto)
			*self = flow;
		return NULL;
	}
	if (map && (map->ekey.eaddr != eaddr || map->ekey.eport != eport ||
		    map->ekey.proto != proto))
		return NULL;
	return map;
}

/* A forward that has @eaddr:@eport, if there is any forward at all. */
static struct natk_map *natk_map_lookup_fwd(struct natk_net *nn,
					    const struct natk_cfg *cfg,
					    u8 proto, __be32 eaddr,
					    __be16 eport)
{
	struct natk_ekey k = { .eaddr = eaddr, .eport = eport, .proto = proto };
	struct natk_map *map;

	if (!atomic_read(&nn->metbl.nelems))
		return NULL;
	map = rhashtable_lookup(&nn->metbl, &k, natk_meparams);
	return map ?: natk_map_lookup_primary(nn, cfg, proto, eaddr, eport);
}

/*
 * The mapping of external address and port @eaddr:@eport: the one made
 * with that address, or a forward that follows the primary external
 * address (ekey.eaddr 0) when @eaddr is it; or NULL with *@self the flow
 * that is its own mapping there. Caller holds rcu_read_lock().
 */
struct natk_map *natk_map_lookup_ext(struct natk_net *nn,
				     const struct natk_cfg *cfg, u8 proto,
				     __be32 eaddr, __be16 eport,
				     struct natk_flow **self)
{
	struct natk_map *map = natk_map_lookup_owner(nn, proto, eaddr, eport,
						     self);

	if (map || *self)
		return map;
	return natk_map_lookup_fwd(nn, cfg, proto, eaddr, eport);
}

/*
 * The range an external port is chosen from for internal port @iport.
 * Returns the number of ports in it.
 */
int natk_port_range(const struct natk_cfg *cfg, u8 proto, __be16 iport,
		    u16 *lo, u16 *hi)
{
	u16 p = ntohs(iport);

	if (proto == IPPROTO_ICMP) {
		/* Echo identifiers are not ports: any value will do. */
		*lo = 0;
		*hi = 65535;
	} else if (p < 1024 && cfg->port_min >= 1024 &&
		   !natk_mutant(low_ports_high)) {	/* mutant: not kept low */
		*lo = 1;
		*hi = 1023;
	} else {
		/* Mutant high_ports_low: the range starts at 1. */
		*lo = natk_mutant(high_ports_low) ? 1 : cfg->port_min;
		*hi = cfg->port_max;
	}
	return *hi - *lo + 1;
}

/* The UDP socket table of @net (one for all netns before 6.2). */
static struct udp_table *natk_udp_table(struct net *net)
{
#ifdef NATK_HAVE_NETNS_UDP_TABLE
	return net->ipv4.udp_table;
#else
	return &udp_table;
#endif
}

/*
 * Is @port on external address @addr in use by a socket of the NAT host (a
 * TCP listener, a bound UDP socket)? Caller holds rcu_read_lock().
 */
bool natk_port_local_use(struct natk_net *nn, u8 proto, __be32 addr,
			 __be16 port)
{
	struct net *net = nn->net;
	struct sock *sk;
	u16 hnum;

	switch (proto) {
	case IPPROTO_TCP:
		sk = __inet_lookup_listener(net, net->ipv4.tcp_death_row.hashinfo,
					    NULL, 0, 0, 0, addr, ntohs(port),
					    0, 0);
		return sk;
	case IPPROTO_UDP:
		/*
		 * Most ports have no UDP socket on any address: the slot of
		 * the by-port hash says so without a lookup.
		 */
		hnum = ntohs(port);
		/* Mutant udp-slot-order: the slot of the byte-swapped port. */
		if (natk_mutant(udp_slot_order))
			hnum = (__force u16)port;
		if (!READ_ONCE(udp_hashslot(natk_udp_table(net), net,
					    hnum)->count))
			return false;
		sk = udp4_lib_lookup(net, 0, 0, addr, port, 0);
		if (sk) {
			sock_put(sk);
			return true;
		}
		return false;
	default:
		return false;
	}
}

/*
 * Mappings have a cache of their own: a 72-byte struct in kmalloc-96
 * wasted a quarter of each (make bench: memory per flow with a mapping
 * each). It is 64 bytes now (the address slot by index, not pointer).
 */
static struct kmem_cache *natk_map_cache __read_mostly;

int natk_map_cache_init(void)
{
	/* One cache line (issue 15: memory a flow with a mapping each). */
	BUILD_BUG_ON(IS_ENABLED(CONFIG_64BIT) && sizeof(struct natk_map) > 64);
	/* mitbl holds both (natk_mi_flow()). */
	BUILD_BUG_ON(offsetof(struct natk_map, inode) !=
		     offsetof(struct natk_flow, rnode));
	BUILD_BUG_ON(offsetof(struct natk_map, kind) !=
		     offsetof(struct natk_flow, flags));
	BUILD_BUG_ON(NATK_FLOW_IS_FLOW != 31);
	natk_map_cache = KMEM_CACHE(natk_map, 0);
	return natk_map_cache ? 0 : -ENOMEM;
}

void natk_map_cache_exit(void)
{
	/* Mappings are freed by RCU callbacks; wait for all of them. */
	rcu_barrier();
	kmem_cache_destroy(natk_map_cache);
}

struct natk_map *natk_map_alloc(gfp_t gfp)
{
	/* Mutant map-uncharged: never charged to a memory cgroup. */
	struct natk_map *map = kmem_cache_zalloc(natk_map_cache,
						 natk_mutant(map_uncharged) ?
						 gfp & ~__GFP_ACCOUNT : gfp);

	if (map)
		map->use = NATK_MAP_NO_USE;	/* natk_map_count() */
	return map;
}

/* Free a mapping nobody can have seen (or NULL). */
void natk_map_discard(struct natk_map *map)
{
	if (map)
		kmem_cache_free(natk_map_cache, map);
}

static void natk_map_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(natk_map_cache,
			container_of(head, struct natk_map, rcu));
}

/*
 * The slot of @eaddr (pool.c), if it has one, that a new dynamic mapping
 * on it will be counted in: set before its port search, whose claims read
 * the slot's port map.
 */
static void natk_map_use(struct natk_net *nn, struct natk_map *map,
			 __be32 eaddr)
{
	struct natk_addr_use *u = natk_addr_use(nn, eaddr);

	BUILD_BUG_ON(NATK_ADDR_SLOTS >= NATK_MAP_NO_USE);
	map->use = u ? u - nn->addr_use : NATK_MAP_NO_USE;
}

/*
 * The owner slot @map has its port in, or NULL: then it is in metbl (a
 * forward; a mapping on an address without an owner array, or that lost
 * its claim). Set by natk_map_claim().
 */
static struct natk_map __rcu **natk_map_slot(struct natk_net *nn,
					     struct natk_map *map)
{
	struct natk_map __rcu **slot;

	if (!(map->flags & NATK_MAP_OWNED))
		return NULL;
	slot = natk_port_owner(&nn->addr_use[map->use],
			       natk_port_class(map->ekey.proto),
			       map->ekey.eport, false);
	return slot && rcu_access_pointer(*slot) == map ? slot : NULL;
}

/* Counted on its slot: it has its port. */
static void natk_map_count(struct natk_net *nn, struct natk_map *map)
{
	if (map->use == NATK_MAP_NO_USE)
		return;
	atomic_inc(&nn->addr_use[map->use]
		   .ports[natk_port_class(map->ekey.proto)]);
}

/* Its port is free again: out of its owner slot, or of metbl. */
static void natk_map_unport(struct natk_net *nn, struct natk_map *map)
{
	struct natk_map __rcu **slot = natk_map_slot(nn, map);

	/*
	 * Mutant owner-stale: the slot keeps a freed mapping; the port is
	 * never claimed again, and a lookup checks a freed mapping's key.
	 */
	if (slot && !natk_mutant(owner_stale))
		RCU_INIT_POINTER(*slot, NULL);
	else if (!slot)
		rhashtable_remove_fast(&nn->metbl, &map->enode, natk_meparams);
}

/* Before it gives its port up: uncounted on its slot. */
static void natk_map_uncount(struct natk_net *nn, struct natk_map *map)
{
	if (map->use == NATK_MAP_NO_USE)
		return;
	atomic_dec(&nn->addr_use[map->use]
		   .ports[natk_port_class(map->ekey.proto)]);
}

/*
 * Unlink a mapping whose reference count has reached zero (or never left
 * it) and free it after a grace period: readers may still see it.
 */
static void natk_map_unlink(struct natk_net *nn, struct natk_map *map)
{
	natk_map_uncount(nn, map);
	/*
	 * The mapping log: this port is free for others from now on. Not
	 * for a forward, deleted ones (NO_HOLD) included: never logged.
	 */
	if (!(map->flags &
	      (NATK_MAP_STATIC | NATK_MAP_NO_HOLD | NATK_MAP_IN_BLOCK)) &&
	    !natk_mutant(map_log_no_del))
		natk_event_map(nn, map, NATK_CMD_MAP_DEL);
	if (!(map->flags & NATK_MAP_EXT_ONLY))
		rhashtable_remove_fast(&nn->mitbl, &map->inode, natk_miparams);
	natk_map_unport(nn, map);
	atomic_inc(&nn->map_frees);
	call_rcu(&map->rcu, natk_map_free_rcu);
}

/* End a mapping's hold now. False if it is not held (or was revived). */
static bool natk_map_kill_held(struct natk_net *nn, struct natk_map *map)
{
	if (atomic_cmpxchg(&map->hold, NATK_MAP_HELD, NATK_MAP_DEAD) !=
	    NATK_MAP_HELD)
		return false;
	atomic_dec(&nn->nheld);
	natk_map_unlink(nn, map);
	return true;
}

/*
 * While ports are held, the GC walks the mappings at least this often:
 * a mapping held after a walk, or one a walk missed, is released at most
 * this late (never early: each release checks its own hold).
 */
#define NATK_HELD_RECHECK	(10 * HZ)

/*
 * natk_sweep() callback: end the hold of @obj if it is (or has run) out.
 * The hold is the current port_hold, so a new one applies at once, as
 * new timeouts do to flows. For the GC (@expired_only), note when the
 * earliest hold left ends. Called under the walk's RCU read lock.
 */
static bool natk_map_release_one(struct natk_net *nn, void *obj,
				 u8 expired_only)
{
	struct natk_map *map = obj;
	unsigned long until;

	if (natk_mi_flow(obj) ||	/* a flow: its own mapping, in use */
	    atomic_read_acquire(&map->hold) != NATK_MAP_HELD)
		return false;
	/* held_since is 32 bits: holds are far shorter than 2^32 jiffies. */
	until = jiffies - (u32)((u32)jiffies - READ_ONCE(map->held_since)) +
		rcu_dereference(nn->cfg)->port_hold;
	if (expired_only && time_before(jiffies, until)) {
		if (time_before(until, READ_ONCE(nn->held_next)))
			WRITE_ONCE(nn->held_next, until);
		return false;
	}
	return natk_map_kill_held(nn, map);
}

static bool natk_map_release_gone_one(struct natk_net *nn, void *obj,
				      u8 arg)
{
	const struct natk_cfg *cfg = rcu_dereference_check(nn->cfg,
					lockdep_is_held(&nn->lock));
	struct natk_map *map = obj;

	/* (A flow that is its own mapping goes with its address's flows.) */
	if (natk_mi_flow(obj) || !map->ekey.eaddr ||
	    natk_pool_has(cfg, map->ekey.eaddr))
		return false;
	return natk_map_kill_held(nn, map);
}

/*
 * Free the held mappings of addresses that left the pool: their ports
 * are nobody's now. Process context, under nn->lock.
 */
void natk_map_release_gone(struct natk_net *nn)
{
	int pass;

	for (pass = 0; pass < 8; pass++)
		if (!atomic_read(&nn->nheld) ||
		    !natk_sweep(nn, &nn->mitbl, natk_map_release_gone_one, 0))
			break;
}

/*
 * Free held mappings: those whose hold is over (the GC worker), or all of
 * them (flush, address change, down). Process context.
 */
void natk_map_release_held(struct natk_net *nn, bool expired_only)
{
	int pass;

	if (expired_only) {
		/* No walk until the earliest hold seen last time ends. */
		if (!atomic_read(&nn->nheld) ||
		    time_before(jiffies, READ_ONCE(nn->held_next)))
			return;
		WRITE_ONCE(nn->held_next, jiffies + NATK_HELD_RECHECK);
		natk_sweep(nn, &nn->mitbl, natk_map_release_one, true);
		return;
	}
	/* A flush walks again while a walk found or left something. */
	for (pass = 0; pass < 8; pass++)
		if (!atomic_read(&nn->nheld) ||
		    !natk_sweep(nn, &nn->mitbl, natk_map_release_one, false))
			break;
}

/* (No flow is in mitbl any more: natk_flow_free_left() took them out.) */
static void natk_map_free_left(void *ptr, void *arg)
{
	kmem_cache_free(natk_map_cache, ptr);
}

/*
 * Destroy the mapping tables. No flows, forwards, hooks or readers are
 * left; a held mapping a flush did not reach is freed here.
 */
void natk_maps_destroy(struct natk_net *nn)
{
	rhashtable_destroy(&nn->metbl);
	rhashtable_free_and_destroy(&nn->mitbl, natk_map_free_left, NULL);
}

/*
 * Offer the ports @first, @first + 2, ... up to @hi (one parity) while
 * *@budget lasts; @skip (the internal port, already offered) is passed over
 * without costing a candidate. A class the budget covers is walked from a
 * random port on, wrapping: every port is offered once. A larger one gets
 * independent random candidates: a walk there would fail whenever it
 * started in a stretch of taken ports longer than the budget (a block of
 * held ports, a burst of mappings made in order), however free the rest
 * of the range.
 */
static int natk_port_try_class(struct natk_net *nn, u32 first, u32 hi,
			       u32 *budget, u32 skip,
			       int (*claim)(struct natk_net *nn, void *arg,
					    __be16 port),
			       void *arg)
{
	u32 n, i, j, port;
	bool probe;
	int err;

	if (first > hi)
		return -EADDRINUSE;
	n = (hi - first) / 2 + 1;
	j = get_random_u32_below(n);
	/* Mutant port_walk: a walk however large the class. */
	probe = n > *budget && !natk_mutant(port_walk);
	for (i = 0; i < n && *budget; i++) {
		if (probe)
			j = get_random_u32_below(n);
		port = first + 2 * j;
		if (++j == n)
			j = 0;
		if (port == skip)
			continue;
		(*budget)--;
		natk_test_port_offered(nn);
		err = claim(nn, arg, htons(port));
		if (err != -EEXIST)
			return err;
	}
	return -EADDRINUSE;
}

/*
 * Offer the ports @lo..@hi to @claim while *@budget lasts: the internal
 * port first (one of the candidates, offered once), then ports of its
 * parity, then the others. Returns 0, @claim's error, or -EADDRINUSE when
 * no candidate was free.
 */
int natk_port_search_in(struct natk_net *nn, u16 lo, u16 hi, __be16 iport,
			u32 *budget,
			int (*claim)(struct natk_net *nn, void *arg, __be16 port),
			void *arg)
{
	u32 p = ntohs(iport), same, other, skip = U32_MAX;
	int err;

	if (p >= lo && p <= hi && *budget) {
		(*budget)--;
		skip = p;
		natk_test_port_offered(nn);
		err = claim(nn, arg, htons(p));
		if (err != -EEXIST)
			return err;
	}
	same = lo + ((lo & 1) != (p & 1));
	other = lo + ((lo & 1) == (p & 1));
	/* Mutant no_parity: either parity first, at random. */
	if (natk_mutant(no_parity) && get_random_u32_below(2))
		swap(same, other);
	err = natk_port_try_class(nn, same, hi, budget, skip, claim, arg);
	if (err != -EADDRINUSE)
		return err;
	return natk_port_try_class(nn, other, hi, budget, skip, claim, arg);
}

/*
 * The bounded port search: offer candidates to @claim, which returns 0 when
 * it took the port, -EEXIST when the port is taken, or another error to
 * stop. Returns 0, that error, or -EADDRINUSE when no candidate was free.
 * At most NATK_PORT_ATTEMPTS in all, so a range no larger than that is
 * searched completely and a larger one keeps its parity.
 */
int natk_port_search(struct natk_net *nn, const struct natk_cfg *cfg,
		     u8 proto, __be16 iport,
		     int (*claim)(struct natk_net *nn, void *arg, __be16 port),
		     void *arg)
{
	u32 budget;
	u16 lo, hi;

	budget = min_t(u32, natk_port_range(cfg, proto, iport, &lo, &hi),
		       NATK_PORT_ATTEMPTS);
	return natk_port_search_in(nn, lo, hi, iport, &budget, claim, arg);
}

/*
 * Is @eaddr:@eport a forward's? One that follows the primary address is
 * keyed by address 0: looked up too, as the NAT host's sockets are.
 */
static bool natk_map_fwd_has(struct natk_net *nn, u8 proto, __be32 eaddr,
			     __be16 eport)
{
	const struct natk_ekey k = { .eaddr = eaddr, .eport = eport,
				     .proto = proto };

	/* No forward at all (the common case): nothing to look up. */
	if (!atomic_read(&nn->metbl.nelems))
		return false;
	/* Mutant claim_primary_fwd: the primary address's forwards skipped. */
	if (natk_mutant(claim_primary_fwd))
		return rhashtable_lookup(&nn->metbl, &k, natk_meparams);
	return natk_map_lookup_fwd(nn, rcu_dereference(nn->cfg), proto, eaddr,
				   eport);
}

/*
 * What a port is claimed for: a mapping, or a flow that is to be its own
 * mapping (natk_map_get()); on address slot @u (NULL: none, metbl).
 */
struct natk_claimant {
	struct natk_map *map;
	struct natk_flow *flow;
	struct natk_addr_use *u;
	__be32 eaddr;
	u8 proto;
};

static void natk_claimant_port(struct natk_claimant *c, __be16 port)
{
	if (c->map)
		c->map->ekey.eport = port;
	else
		WRITE_ONCE(c->flow->eport, port);
}

/*
 * Claim a port: a port another dynamic mapping on this address has is
 * refused by its owner slot (no lookup at all); else a port of the NAT
 * host's own sockets is refused, and the slot is taken by a
 * compare-and-exchange, which only one CPU wins. A forward's port is
 * refused after that: a forward made meanwhile checks the slot after its
 * own insert (natk_map_insert_static()), so one of the two sees the other.
 * A mapping on an address without an owner array: the insert into metbl
 * claims (a flow is never its own mapping there).
 */
static int natk_map_claim(struct natk_net *nn, void *arg, __be16 port)
{
	struct natk_claimant *c = arg;
	struct natk_map __rcu **slot = NULL;
	struct natk_map *owner;

	/* (NULL: a slot without an owner array, no memory for it then.) */
	if (c->u)
		slot = natk_port_owner(c->u, natk_port_class(c->proto), port,
				       true);
	if (IS_ERR(slot))
		return PTR_ERR(slot);	/* no memory for its chunk */
	if (!slot && !c->map)
		return -ENOMEM;
	/* Mutant owner-unchecked: a taken slot is offered anyway. */
	if (slot && rcu_access_pointer(*slot) && !natk_mutant(owner_unchecked))
		return -EEXIST;
	natk_claimant_port(c, port);
	if (natk_port_local_use(nn, c->proto, c->eaddr, port))
		return -EEXIST;
	natk_test_port_inserted(nn);
	if (!slot) {
		if (natk_map_fwd_has(nn, c->proto, c->eaddr, port))
			return -EEXIST;
		return rhashtable_lookup_insert_fast(&nn->metbl,
						     &c->map->enode,
						     natk_meparams);
	}
	owner = c->map ?: natk_owner_self(c->flow);
	if (c->map)
		c->map->flags |= NATK_MAP_OWNED;
	if (natk_mutant(owner_unchecked)) {
		rcu_assign_pointer(*slot, owner);
	} else if (cmpxchg((struct natk_map __force **)slot, NULL, owner)) {
		if (c->map)
			c->map->flags &= ~NATK_MAP_OWNED;
		return -EEXIST;
	}
	/* (cmpxchg() is fully ordered: the slot before the loads below.) */
	if (natk_map_fwd_has(nn, c->proto, c->eaddr, port)) {
		RCU_INIT_POINTER(*slot, NULL);
		if (c->map)
			c->map->flags &= ~NATK_MAP_OWNED;
		return -EEXIST;
	}
	return 0;
}

/*
 * After a search for a new mapping found no free port, the next ones fail
 * at once for a little while, unless a mapping has been freed since: near
 * exhaustion every packet would otherwise pay NATK_PORT_ATTEMPTS lookups.
 */
#define NATK_PORT_RETRY		(HZ / 10)

unsigned int natk_port_class(u8 proto)
{
	return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : 2;
}

/* The last failed search of @proto's class on slot @u (NULL: no slot). */
static struct natk_port_fail *natk_port_fail(struct natk_net *nn,
					     struct natk_addr_use *u, u8 proto)
{
	unsigned int class = natk_port_class(proto);

	return u ? &u->port_fail[class] : &nn->port_fail[class];
}

/* natk_ports_exhausted() of the address whose slot is @u. */
static bool natk_ports_exhausted_on(struct natk_net *nn,
				    struct natk_addr_use *u, u8 proto)
{
	const struct natk_port_fail *pf = natk_port_fail(nn, u, proto);
	unsigned long when = READ_ONCE(pf->when);

	return READ_ONCE(pf->frees) == atomic_read(&nn->map_frees) &&
	       time_in_range_open(jiffies, when, when + NATK_PORT_RETRY);
}

bool natk_ports_exhausted(struct natk_net *nn, u8 proto, __be32 eaddr)
{
	return natk_ports_exhausted_on(nn, natk_addr_use(nn, eaddr), proto);
}

static void natk_ports_note_exhausted(struct natk_net *nn,
				      const struct natk_cfg *cfg, u8 proto,
				      __be32 eaddr, unsigned int frees)
{
	static const char *const names[] = { "TCP", "UDP", "ICMP" };
	unsigned int class = natk_port_class(proto);
	struct natk_port_fail *pf = natk_port_fail(nn, natk_addr_use(nn, eaddr),
						   proto);

	WRITE_ONCE(pf->frees, frees);
	WRITE_ONCE(pf->when, jiffies);
	natk_log_limited(nn, NATK_LOG_PORTS + class,
			 "%s port pool of %pI4 exhausted (ports %u-%u in use): new %s flows dropped; widen 'natkctl set ports' or add addresses\n",
			 names[class], &eaddr, cfg->port_min, cfg->port_max,
			 names[class]);
}

/* A new flow found no free port on @eaddr: count it there and in all. */
void natk_ports_count_exhausted(struct natk_net *nn, u8 proto, __be32 eaddr)
{
	struct natk_addr_use *use = natk_addr_use(nn, eaddr);

	if (use)
		atomic_long_inc(&use->exhausted[natk_port_class(proto)]);
	natk_stat_inc(nn, NATK_STAT_PORT_ALLOCATION_ERRORS);
}

void natk_ports_init(struct natk_net *nn)
{
	int i, j;

	for (i = 0; i < ARRAY_SIZE(nn->port_fail); i++) {
		nn->port_fail[i].when = jiffies - 2 * NATK_PORT_RETRY;
		for (j = 0; j < NATK_ADDR_SLOTS; j++)
			nn->addr_use[j].port_fail[i].when =
				jiffies - 2 * NATK_PORT_RETRY;
	}
}

/*
 * At most half the port range is held at once: a host that churns
 * through source ports (a flood of new flows, each evicted or expired in
 * turn) would otherwise have every port held, and no other host could
 * get one for the whole hold. Beyond that, a freed port is free at once.
 */
static bool natk_map_may_hold(struct natk_net *nn, const struct natk_cfg *cfg)
{
	/* Mutant no_port_hold: never held. */
	return cfg->port_hold && !natk_mutant(no_port_hold) &&
	       atomic_read(&nn->nheld) < (cfg->port_max - cfg->port_min + 1) / 2 *
					 max_t(u32, cfg->naddrs, 1);
}

/*
 * A flow is its own mapping while it is the only flow of its internal
 * endpoint (NATK_FLOW_SELF): the owner slot of its port names it, and it
 * is in mitbl by its rnode (unused: the owner slot finds its replies).
 * That saves a struct natk_map, its allocation and its free for the
 * common flow of a connection from its own source port. A second flow of
 * the endpoint, or its death with a port hold, makes one: the mapping
 * takes the flow's place in mitbl and in the owner slot, and the flow
 * points at it (flow->map). Who makes it, and who ends the flow's own
 * mapping, is decided by one cmpxchg() on flow->map: NULL to a mapping
 * (natk_map_share()), or to NATK_SELF_DEAD (natk_map_self_end()). The
 * winner alone touches the slot and mitbl.
 */

/* The mapping of @flow's endpoint and port, unlinked from everything. */
static struct natk_map *natk_map_from_self(struct natk_net *nn,
					   const struct natk_flow *flow,
					   struct natk_addr_use *u)
{
	struct natk_map *map = natk_map_alloc(NATK_GFP);

	if (!map)
		return NULL;
	map->ikey = (struct natk_mkey){ .iaddr = flow->okey.iaddr,
					.iport = flow->okey.iport,
					.proto = flow->okey.proto };
	map->ekey = (struct natk_ekey){ .eaddr = flow->eaddr,
					.eport = flow->eport,
					.proto = flow->okey.proto };
	map->use = u - nn->addr_use;
	map->flags = NATK_MAP_OWNED;
	return map;
}

/* The owner slot of @flow's port, on its address slot *@u. */
static struct natk_map __rcu **natk_self_slot(struct natk_net *nn,
					      const struct natk_flow *flow,
					      struct natk_addr_use **u)
{
	/* Its port counts on the address slot: the slot stays its. */
	*u = natk_addr_use(nn, flow->eaddr);
	if (WARN_ON_ONCE(!*u))
		return NULL;
	return natk_port_owner(*u, natk_port_class(flow->okey.proto),
			       flow->eport, false);
}

/*
 * Another flow is to share @flow's mapping: the mapping, with a reference
 * for the caller, made if @flow is its own mapping still; NULL if the
 * mapping is not usable (being published or ended: the caller looks
 * again), ERR_PTR(-ENOMEM) if no memory. Caller holds rcu_read_lock();
 * softirq safe.
 */
struct natk_map *natk_map_share(struct natk_net *nn, struct natk_flow *flow)
{
	struct mem_cgroup *memcg;
	struct natk_map __rcu **slot;
	struct natk_addr_use *u;
	struct natk_map *map, *cur;

	/* Pairs with natk_map_make_self(): seen SELF, seen in mitbl. */
	if (!(atomic_read_acquire(&flow->flags) & BIT(NATK_FLOW_SELF)))
		return NULL;		/* not published yet */
	cur = READ_ONCE(flow->map);
	/* Mutant self-share-unchecked: made whatever flow->map says. */
	if (cur && !natk_mutant(self_share_unchecked))
		goto shared;
	slot = natk_self_slot(nn, flow, &u);
	if (!slot)
		return NULL;
	/* Charged to the netns's owner, as the flows (natk_flow_make()). */
	memcg = set_active_memcg(nn->memcg);
	map = natk_map_from_self(nn, flow, u);
	set_active_memcg(memcg);
	if (!map)
		return ERR_PTR(-ENOMEM);
	/* @flow's reference and the caller's. */
	refcount_set(&map->ref, 2);
	atomic_set(&map->hold, NATK_MAP_LIVE);
	if (natk_mutant(self_share_unchecked)) {
		WRITE_ONCE(flow->map, map);
		cur = NULL;
	} else {
		cur = cmpxchg(&flow->map, NULL, map);
	}
	if (cur) {
		natk_map_discard(map);
		goto shared;
	}
	/* (cmpxchg() orders the mapping's fields before it is seen.) */
	rcu_assign_pointer(*slot, map);
	WARN_ON_ONCE(rhashtable_replace_fast(&nn->mitbl, &flow->rnode,
					     &map->inode, natk_miparams));
	return map;

shared:
	if (cur == NATK_SELF_DEAD || !natk_map_tryget(cur))
		return NULL;
	return cur;
}

/*
 * @flow, its own mapping, has ended (killed or unwound): the mapping
 * that took its place loses its reference; or the port is held by a
 * mapping made now (or freed, without memory for it, or without a hold).
 * @teardown: netns exit, nothing is kept or announced. Any context.
 */
void natk_map_self_end(struct natk_net *nn, struct natk_flow *flow,
		       bool teardown)
{
	struct natk_map __rcu **slot;
	struct natk_map *cur, *held = NULL;
	struct mem_cgroup *memcg;
	struct natk_addr_use *u;

	cur = cmpxchg(&flow->map, NULL, NATK_SELF_DEAD);
	if (cur) {
		natk_map_put(nn, cur);
		return;
	}
	if (teardown) {
		rhashtable_remove_fast(&nn->mitbl, &flow->rnode, natk_miparams);
		return;
	}
	slot = natk_self_slot(nn, flow, &u);
	/* As natk_map_put(): a revival on this CPU cannot spin meanwhile. */
	local_bh_disable();
	if (slot && natk_map_may_hold(nn, rcu_dereference_bh(nn->cfg)) &&
	    !natk_mutant(self_no_hold)) {
		memcg = set_active_memcg(nn->memcg);
		held = natk_map_from_self(nn, flow, u);
		set_active_memcg(memcg);
	}
	if (held) {
		held->held_since = (u32)jiffies;
		atomic_set(&held->hold, NATK_MAP_HELD);
		atomic_inc(&nn->nheld);
		rcu_assign_pointer(*slot, held);
		WARN_ON_ONCE(rhashtable_replace_fast(&nn->mitbl, &flow->rnode,
						     &held->inode,
						     natk_miparams));
		goto out;
	}
	/* Its port is free for others from now on (natk_map_unlink()). */
	if (u)
		atomic_dec(&u->ports[natk_port_class(flow->okey.proto)]);
	if (!natk_mutant(map_log_no_del))
		natk_event_flow_map(nn, flow, NATK_CMD_MAP_DEL);
	rhashtable_remove_fast(&nn->mitbl, &flow->rnode, natk_miparams);
	/* Mutant self-slot-stale: the slot keeps the dead flow. */
	if (slot && !natk_mutant(self_slot_stale))
		RCU_INIT_POINTER(*slot, NULL);
	atomic_inc(&nn->map_frees);
out:
	local_bh_enable();
}

/* Has @port on @u's owner array no owner (or no chunk yet)? */
static bool natk_port_unowned(struct natk_addr_use *u, u8 proto, __be16 port)
{
	struct natk_map __rcu **slot;

	slot = natk_port_owner(u, natk_port_class(proto), port, false);
	return !slot || !rcu_access_pointer(*slot);
}

/*
 * Make @flow, a new flow of an endpoint with no mapping, its own mapping:
 * claim a port on @u for it and publish it in mitbl. 0: done
 * (NATK_FLOW_SELF set); -EAGAIN: another flow of the endpoint published
 * first (look again); another error: no port, no memory.
 */
static int natk_map_make_self(struct natk_net *nn, const struct natk_cfg *cfg,
			      const struct natk_mkey *k, struct natk_flow *flow,
			      struct natk_addr_use *u)
{
	struct natk_claimant c = { .flow = flow, .u = u, .eaddr = flow->eaddr,
				   .proto = k->proto };
	struct natk_map __rcu **slot;
	void *old;
	int err;

	err = natk_port_search(nn, cfg, k->proto, k->iport, natk_map_claim,
			       &c);
	if (err)
		return err;
	/*
	 * Readers may find it by its slot from now on: it goes to a grave
	 * when it is unwound (natk_flow_unwind()).
	 */
	natk_flow_flag_set(flow, NATK_FLOW_CLAIMED);
	atomic_inc(&u->ports[natk_port_class(k->proto)]);
	natk_race(nn, NATK_RACE_SELF_PUBLISH, flow);
	old = rhashtable_lookup_get_insert_key(&nn->mitbl, k, &flow->rnode,
					       natk_miparams);
	if (!old) {
		/* In mitbl before SELF is seen (natk_map_share()). */
		smp_mb__before_atomic();
		natk_flow_flag_set(flow, NATK_FLOW_SELF);
		natk_event_flow_map(nn, flow, NATK_CMD_MAP_NEW);
		return 0;
	}
	/* Lost the race for the endpoint: the port is free again. */
	atomic_dec(&u->ports[natk_port_class(k->proto)]);
	slot = natk_port_owner(u, natk_port_class(k->proto), flow->eport,
			       false);
	if (slot)
		RCU_INIT_POINTER(*slot, NULL);
	return IS_ERR(old) ? PTR_ERR(old) : -EAGAIN;
}

/*
 * Find or create the mapping for an internal endpoint and take a reference.
 * Caller holds rcu_read_lock(); softirq safe. Returns NULL with *why set;
 * or NULL with NATK_FLOW_SELF set on @self, the new flow being made (may
 * be NULL), when that flow is the endpoint's mapping now (see above).
 *
 * A new mapping is published with no reference and in state NEW: it may
 * be seen in the by-port table while its internal endpoint is inserted,
 * but nobody can take a reference on it (refcount_inc_not_zero) nor see it
 * live. Only once it is in both tables does it get its first reference
 * and go LIVE; a mapping that loses the race is freed after a grace
 * period, with nobody holding it. A flow that is its own mapping is
 * likewise not usable as one until it is in mitbl (NATK_FLOW_SELF).
 *
 * @want: 0 to search the range for a port; else that external port or
 * nothing (a flow imported with its mapping: NATK_CMD_FLOW_ADD), with
 * *why NATK_STAT_DROP_NO_PORT when the endpoint is mapped to another port
 * or the port is taken.
 */
struct natk_map *natk_map_get(struct natk_net *nn, const struct natk_cfg *cfg,
			      u8 proto, __be32 iaddr, __be16 iport,
			      __be32 eaddr, __be16 want,
			      struct natk_host *host, struct natk_flow *self,
			      enum natk_stat *why)
{
	struct natk_mkey k = { .iaddr = iaddr, .iport = iport, .proto = proto };
	/* Port blocks (blocks.c): the host's ports are in its blocks. */
	struct natk_blocks *b = cfg->port_block && host &&
				!natk_mutant(blocks_ignored) ?	/* mutant */
				natk_host_blocks(host) : NULL;
	struct natk_claimant c = { .eaddr = eaddr, .proto = proto };
	struct natk_map *map, *old;
	struct natk_flow *flow;
	unsigned int frees;
	int attempt, err;
	bool selfable;

	for (attempt = 0; attempt < 3; attempt++) {
		c.u = natk_addr_use(nn, eaddr);
		/*
		 * The new flow can be its own mapping (not with blocks, not for
		 * an import, and only where a port has an owner slot). Mutant
		 * self-off: a struct natk_map always.
		 */
		selfable = self && !want && !b && c.u &&
			   READ_ONCE(c.u->owners) && !natk_mutant(self_off);
		/*
		 * An endpoint without a mapping, the common new flow, usually
		 * finds its own port free (natk keeps it when it can): then
		 * the first attempt skips the lookup and claims. If the
		 * endpoint had a mapping on another port after all, publishing
		 * in mitbl finds it, gives the port back and looks (the next
		 * attempt), as when another CPU publishes first.
		 */
		if (!attempt && selfable &&
		    natk_port_unowned(c.u, proto, iport))
			map = NULL;
		else
			map = rhashtable_lookup(&nn->mitbl, &k, natk_miparams);
		flow = map ? natk_mi_flow(map) : NULL;
		if (flow) {
			/* A flow that is the endpoint's mapping: shared. */
			if (want && (flow->eport != want ||
				     flow->eaddr != eaddr)) {
				*why = NATK_STAT_DROP_NO_PORT;
				return NULL;
			}
			map = natk_map_share(nn, flow);
			if (IS_ERR(map)) {
				*why = NATK_STAT_DROP_NO_MEMORY;
				return NULL;
			}
			if (map)
				return map;
			continue;	/* being published or ended: again */
		}
		if (map && want && (map->ekey.eport != want ||
				    natk_map_eaddr(map, cfg) != eaddr)) {
			*why = NATK_STAT_DROP_NO_PORT;
			return NULL;
		}
		if (map && refcount_inc_not_zero(&map->ref))
			return map;
		/*
		 * Held, on another address than the host's now (it was
		 * paired again): its hold ends, a new mapping is made.
		 */
		if (map && (natk_map_eaddr(map, cfg) != eaddr ||
			    (b && !natk_blocks_have(nn, cfg, b, eaddr,
						    map->ekey.eport))) &&
		    natk_map_kill_held(nn, map))
			continue;
		/* Held since its last flow ended: the same port again. */
		if (map && atomic_cmpxchg(&map->hold, NATK_MAP_HELD,
					  NATK_MAP_LIVE) == NATK_MAP_HELD) {
			atomic_dec(&nn->nheld);
			refcount_set(&map->ref, 1);
			return map;
		}
		if (map)
			continue;	/* being freed or published: again */

		frees = atomic_read(&nn->map_frees);
		/* (Not with blocks: one host's full blocks are its own.) */
		if (!want && !b && natk_ports_exhausted_on(nn, c.u, proto)) {
			natk_ports_count_exhausted(nn, proto, eaddr);
			*why = NATK_STAT_DROP_NO_PORT;
			return NULL;
		}
		/* The new flow is the mapping, if it can be. */
		if (selfable) {
			err = natk_map_make_self(nn, cfg, &k, self, c.u);
			if (!err)
				return NULL;
			if (err == -EAGAIN)
				continue;
			goto err_search;
		}
		map = natk_map_alloc(NATK_GFP);
		if (!map) {
			*why = NATK_STAT_DROP_NO_MEMORY;
			return NULL;
		}
		map->ikey = k;
		map->ekey.proto = proto;
		map->ekey.eaddr = eaddr;
		if (b)
			map->flags |= NATK_MAP_IN_BLOCK;
		atomic_set(&map->hold, NATK_MAP_NEW);
		natk_map_use(nn, map, eaddr);
		c.map = map;

		if (want) {
			if ((b && natk_blocks_take(nn, cfg, b, iaddr, eaddr,
						   want)) ||
			    natk_map_claim(nn, &c, want)) {
				natk_map_discard(map);
				*why = NATK_STAT_DROP_NO_PORT;
				return NULL;
			}
			err = 0;
		} else if (b) {
			err = natk_blocks_search(nn, cfg, b, iaddr, eaddr, proto,
						 iport, natk_map_claim, &c);
		} else {
			err = natk_port_search(nn, cfg, proto, iport,
					       natk_map_claim, &c);
		}
		if (err) {
			natk_map_discard(map);
			goto err_search;
		}
		/* Counted on its address until natk_map_unlink(). */
		natk_map_count(nn, map);
		natk_race(nn, NATK_RACE_MAP_PUBLISH, map);
		old = rhashtable_lookup_get_insert_key(&nn->mitbl, &k,
						       &map->inode,
						       natk_miparams);
		if (!old) {
			refcount_set(&map->ref, 1);
			/* Orders the reference before the state readers test. */
			atomic_set_release(&map->hold, NATK_MAP_LIVE);
			if (!b)		/* a block has its own log line */
				natk_event_map(nn, map, NATK_CMD_MAP_NEW);
			return map;
		}
		/* Lost a race for this endpoint: nobody holds this one. */
		natk_map_uncount(nn, map);
		natk_map_unport(nn, map);
		call_rcu(&map->rcu, natk_map_free_rcu);
		if (IS_ERR(old)) {
			*why = NATK_STAT_DROP_NO_MEMORY;
			return NULL;
		}
	}
	*why = NATK_STAT_DROP_NO_MEMORY;
	return NULL;

err_search:
	if (err == -EADDRINUSE) {
		if (!b)
			natk_ports_note_exhausted(nn, cfg, proto, eaddr, frees);
		natk_ports_count_exhausted(nn, proto, eaddr);
		*why = NATK_STAT_DROP_NO_PORT;
	} else {
		*why = NATK_STAT_DROP_NO_MEMORY;
	}
	return NULL;
}

/*
 * Take a reference on a mapping found by its external port, for a new
 * inbound flow: only a live mapping with flows (or a forward) qualifies.
 * Caller holds rcu_read_lock().
 */
bool natk_map_tryget(struct natk_map *map)
{
	if (atomic_read_acquire(&map->hold) != NATK_MAP_LIVE)
		return false;
	return refcount_inc_not_zero(&map->ref);
}

/*
 * Drop a flow's reference. After the last one a dynamic mapping is held
 * (its port reserved) for cfg->port_hold, or unlinked and freed at once.
 */
void natk_map_put(struct natk_net *nn, struct natk_map *map)
{
	/*
	 * Between the last reference and the held state, natk_map_get() on
	 * this endpoint can only retry: keep softirqs of this CPU out of
	 * that window so that one cannot spin on it.
	 */
	local_bh_disable();
	if (!refcount_dec_and_test(&map->ref))
		goto out;
	if (!natk_map_may_hold(nn, rcu_dereference_bh(nn->cfg)) ||
	    (READ_ONCE(map->flags) & (NATK_MAP_STATIC | NATK_MAP_NO_HOLD))) {
		natk_map_unlink(nn, map);
		goto out;
	}
	WRITE_ONCE(map->held_since, (u32)jiffies);
	atomic_inc(&nn->nheld);
	/* Orders held_since before the state natk_map_release_one reads. */
	atomic_set_release(&map->hold, NATK_MAP_HELD);
out:
	local_bh_enable();
}

/* End the hold of the mappings holding @map's port or endpoint. */
static void natk_map_release_for(struct natk_net *nn,
				 const struct natk_map *map)
{
	struct natk_flow *self;
	struct natk_map *old;

	/* (A flow that is its own mapping is in use, never held.) */
	rcu_read_lock();
	old = natk_map_lookup_ext(nn, rcu_dereference(nn->cfg), map->ekey.proto,
				  natk_map_eaddr(map, rcu_dereference(nn->cfg)),
				  map->ekey.eport, &self);
	if (old)
		natk_map_kill_held(nn, old);
	old = rhashtable_lookup(&nn->mitbl, &map->ikey, natk_miparams);
	if (old && !natk_mi_flow(old))
		natk_map_kill_held(nn, old);
	rcu_read_unlock();
}

/*
 * Insert a static mapping (a port forward) with its external port set,
 * published like a dynamic one: NEW and unreferenced until it is in its
 * tables. Another forward may already map the same internal endpoint; then
 * this one is reached by its external port only (NATK_MAP_EXT_ONLY), and
 * the endpoint's outbound flows keep using the first. Returns -EEXIST if
 * the external port is taken, -EBUSY if a dynamic mapping has the
 * endpoint. On error the caller frees @map after a grace period: readers
 * may have seen it. Process context, under natk_net.lock.
 */
int natk_map_insert_static(struct natk_net *nn, struct natk_map *map)
{
	struct natk_flow *self;
	struct natk_map *old;
	int err;

	atomic_set(&map->hold, NATK_MAP_NEW);
	/* An administrator's forward takes a held port at once. */
	natk_map_release_for(nn, map);
	err = rhashtable_lookup_insert_fast(&nn->metbl, &map->enode,
					    natk_meparams);
	if (err)
		return err;
	rcu_read_lock();
	/*
	 * A dynamic mapping that took the port meanwhile (natk_map_claim()
	 * checks for forwards after its slot): the port is taken.
	 */
	smp_mb();
	if (natk_map_lookup_owner(nn, map->ekey.proto,
				  natk_map_eaddr(map, rcu_dereference(nn->cfg)),
				  map->ekey.eport, &self) || self) {
		rcu_read_unlock();
		rhashtable_remove_fast(&nn->metbl, &map->enode, natk_meparams);
		return -EEXIST;
	}
	old = rhashtable_lookup_get_insert_key(&nn->mitbl, &map->ikey,
					       &map->inode, natk_miparams);
	if (old && !IS_ERR(old) && !natk_mi_flow(old) &&
	    (READ_ONCE(old->flags) & NATK_MAP_STATIC)) {
		map->flags |= NATK_MAP_EXT_ONLY;
		old = NULL;
	}
	rcu_read_unlock();
	if (old) {
		rhashtable_remove_fast(&nn->metbl, &map->enode, natk_meparams);
		return IS_ERR(old) ? PTR_ERR(old) : -EBUSY;
	}
	refcount_set(&map->ref, 1);
	atomic_set_release(&map->hold, NATK_MAP_LIVE);
	return 0;
}

static const char natk_msg_ep_busy[] =
	"natk: a forward's internal endpoint has a dynamic mapping (natkctl flush first)";
static const char natk_msg_port_busy[] =
	"natk: a forward's external port has a dynamic mapping (natkctl flush first)";
static const char natk_msg_port_deleted[] =
	"natk: a deleted forward of this port still has flows (natkctl flows del, or flush)";

/*
 * Would natk_map_insert_static(@map) succeed now? -EBUSY, with the reason
 * in @msg, if a dynamic mapping in use has its endpoint or (unless
 * @port_owned: a forward of this transaction gives it up) its port, or a
 * deleted forward whose flows live on still has the port. Held mappings
 * do not count: a forward ends their hold. Under natk_net.lock.
 */
int natk_map_static_check(struct natk_net *nn, const struct natk_map *map,
			  bool port_owned, const char **msg)
{
	struct natk_flow *self;
	struct natk_map *old;
	int err = 0;

	rcu_read_lock();
	old = rhashtable_lookup(&nn->mitbl, &map->ikey, natk_miparams);
	if (old && (natk_mi_flow(old) ||
		    (!(READ_ONCE(old->flags) & NATK_MAP_STATIC) &&
		     atomic_read(&old->hold) != NATK_MAP_HELD))) {
		*msg = natk_msg_ep_busy;
		err = -EBUSY;
		goto out;
	}
	self = NULL;
	old = port_owned ? NULL :
	      natk_map_lookup_ext(nn, rcu_dereference(nn->cfg),
				  map->ekey.proto,
				  natk_map_eaddr(map, rcu_dereference(nn->cfg)),
				  map->ekey.eport, &self);
	if (self) {
		*msg = natk_msg_port_busy;
		err = -EBUSY;
		goto out;
	}
	if (!old || atomic_read(&old->hold) == NATK_MAP_HELD)
		goto out;
	*msg = READ_ONCE(old->flags) & NATK_MAP_NO_HOLD ? natk_msg_port_deleted :
							       natk_msg_port_busy;
	err = -EBUSY;
out:
	rcu_read_unlock();
	return err;
}

/*
 * @map, a new forward's mapping, takes the external port of @old, the
 * mapping of a forward being replaced, in one step: a packet finds one or
 * the other, never none. @old's flows keep it (unlinking it later finds
 * it gone from the by-port table). The by-endpoint table gets @map if the
 * endpoint is free; else it is reached by its port only. Cannot fail.
 * Process context, under natk_net.lock; the caller retires @old.
 */
void natk_map_replace_static(struct natk_net *nn, struct natk_map *old,
			     struct natk_map *map)
{
	struct natk_map *cur = ERR_PTR(-ENOENT);

	atomic_set(&map->hold, NATK_MAP_NEW);
	natk_map_release_for(nn, map);
	/* Not in the by-port table (it always is): then in neither. */
	if (!rhashtable_replace_fast(&nn->metbl, &old->enode, &map->enode,
				     natk_meparams) ||
	    !rhashtable_lookup_insert_fast(&nn->metbl, &map->enode,
					   natk_meparams)) {
		rcu_read_lock();
		cur = rhashtable_lookup_get_insert_key(&nn->mitbl, &map->ikey,
						       &map->inode,
						       natk_miparams);
		rcu_read_unlock();
	}
	if (cur)
		map->flags |= NATK_MAP_EXT_ONLY;
	refcount_set(&map->ref, 1);
	atomic_set_release(&map->hold, NATK_MAP_LIVE);
}

/*
 * A forward's mapping is going: take it out of the by-endpoint table now
 * (its flows keep it until they end) and let @heir, another forward to the
 * same endpoint, take its place there. Process context, under
 * natk_net.lock.
 */
void natk_map_retire_static(struct natk_net *nn, struct natk_map *map,
			    struct natk_map *heir)
{
	u32 flags = NATK_MAP_NO_HOLD | NATK_MAP_EXT_ONLY;

	if (!(map->flags & NATK_MAP_EXT_ONLY))
		rhashtable_remove_fast(&nn->mitbl, &map->inode, natk_miparams);
	WRITE_ONCE(map->flags, flags);
	if (heir && !rhashtable_lookup_insert_key(&nn->mitbl, &heir->ikey,
						  &heir->inode, natk_miparams))
		WRITE_ONCE(heir->flags, heir->flags & ~NATK_MAP_EXT_ONLY);
	natk_map_put(nn, map);
}

void natk_map_free(struct natk_map *map)
{
	call_rcu(&map->rcu, natk_map_free_rcu);
}
