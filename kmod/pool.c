// SPDX-License-Identifier: GPL-2.0
/*
 * natk external address pool: which addresses of the external interface
 * natk masquerades behind (uapi "External addresses"), what each carries,
 * and which one a new internal host is paired with (RFC 4787 REQ-2).
 *
 * The pool is part of the configuration snapshot: natk_pool_resolve()
 * computes it from the interface's addresses and the mode whenever the
 * notifiers or a SET_CONFIG make netns.c resolve the interface again.
 * Packets test membership with natk_pool_has() (one compare for the
 * primary address, a short scan for the others).
 *
 * Per-address counts live in slots of natk_net.addr_use, claimed for an
 * address under natk_net.lock and found by address with a scan (new hosts
 * and mappings only, never established packets). Every host and dynamic
 * mapping keeps a pointer to the slot it is counted in, so a count is
 * always given back to the slot it was taken from; a slot is freed only
 * when nothing counted there is left and its address is not in the pool,
 * after the packets that ran on older snapshots are done.
 */
#include <linux/inetdevice.h>
#include "natk.h"

/* Is @addr among the administrator's ranges? */
static bool natk_ranges_have(const struct natk_cfg *cfg, __be32 addr)
{
	u32 a = ntohl(addr);
	unsigned int i;

	for (i = 0; i < cfg->nranges; i++)
		if (a >= ntohl(cfg->ranges[i].first) &&
		    a <= ntohl(cfg->ranges[i].last))
			return true;
	return false;
}

/*
 * Compute @cfg's pool from @dev's addresses (NULL: no device) and its
 * mode, and the primary external address. RCU read lock held.
 */
void natk_pool_resolve(struct natk_cfg *cfg, struct net_device *dev)
{
	const struct in_device *in_dev = dev ? __in_dev_get_rcu(dev) : NULL;
	const struct in_ifaddr *ifa;
	__be32 primary = 0;

	cfg->naddrs = 0;
	cfg->ext_addr = 0;
	if (!in_dev)
		return;
	in_dev_for_each_ifa_rcu(ifa, in_dev) {
		__be32 a = ifa->ifa_local;

		if (ifa->ifa_scope != RT_SCOPE_UNIVERSE)
			continue;
		if (!primary && !(ifa->ifa_flags & IFA_F_SECONDARY))
			primary = a;
		if (cfg->naddrs == NATK_ADDRS_MAX ||
		    natk_addrs_have(cfg, a))
			continue;
		if (cfg->addrs_mode == NATK_ADDRS_ALL ||
		    (cfg->addrs_mode == NATK_ADDRS_LIST &&
		     natk_ranges_have(cfg, a)))
			cfg->addrs[cfg->naddrs++] = a;
	}
	if (cfg->addrs_mode == NATK_ADDRS_PRIMARY) {
		if (primary)
			cfg->addrs[cfg->naddrs++] = primary;
		cfg->ext_addr = primary;
		return;
	}
	if (cfg->naddrs)
		cfg->ext_addr = natk_addrs_have(cfg, primary) ?
				primary : cfg->addrs[0];
}

static bool natk_dev_has_addr(struct net_device *dev, __be32 addr)
{
	const struct in_device *in_dev = __in_dev_get_rcu(dev);
	const struct in_ifaddr *ifa;

	if (!in_dev)
		return false;
	in_dev_for_each_ifa_rcu(ifa, in_dev)
		if (ifa->ifa_local == addr)
			return true;
	return false;
}

static void natk_pool_missing(struct netlink_ext_ack *extack, __be32 addr,
			      const struct net_device *dev)
{
#ifdef NL_SET_ERR_MSG_FMT_MOD
	NL_SET_ERR_MSG_FMT_MOD(extack,
			       "%pI4 is not an address of %s: add it first (ip addr add), or leave it out",
			       &addr, dev->name);
#else	/* before 6.2: no formatted messages */
	NL_SET_ERR_MSG_MOD(extack,
			   "a listed address is not an address of the interface: add it first (ip addr add), or leave it out");
#endif
}

/*
 * A list of addresses must name addresses of the interface (while it
 * exists): -EADDRNOTAVAIL naming the first that is not. RCU read lock held.
 */
int natk_pool_check(const struct natk_cfg *cfg, struct net_device *dev,
		    struct netlink_ext_ack *extack)
{
	unsigned int i;
	u32 a;

	if (cfg->addrs_mode != NATK_ADDRS_LIST || !dev)
		return 0;
	for (i = 0; i < cfg->nranges; i++) {
		for (a = ntohl(cfg->ranges[i].first);
		     a <= ntohl(cfg->ranges[i].last); a++) {
			if (natk_dev_has_addr(dev, htonl(a)))
				goto next;
			natk_pool_missing(extack, htonl(a), dev);
			return -EADDRNOTAVAIL;
next:
			if (a == U32_MAX)
				break;
		}
	}
	return 0;
}

/* The slot counting @addr, or NULL. Any context. */
struct natk_addr_use *natk_addr_use(struct natk_net *nn, __be32 addr)
{
	unsigned int i;

	if (!addr)
		return NULL;
	for (i = 0; i < NATK_ADDR_SLOTS; i++)
		if (READ_ONCE(nn->addr_use[i].addr) == addr)
			return &nn->addr_use[i];
	return NULL;
}

static bool natk_addr_use_idle(struct natk_addr_use *u)
{
	unsigned int c;

	if (atomic_read(&u->hosts) || atomic_read(&u->blocks))
		return false;
	for (c = 0; c < ARRAY_SIZE(u->ports); c++)
		if (atomic_read(&u->ports[c]))
			return false;
	return true;
}

/* The slot of @addr, claimed if it has none (NULL: all taken). Locked. */
static struct natk_addr_use *natk_addr_use_get(struct natk_net *nn,
					       __be32 addr)
{
	struct natk_addr_use *u = natk_addr_use(nn, addr);
	unsigned int i, c;

	lockdep_assert_held(&nn->lock);
	if (u || !addr)
		return u;
	for (i = 0; i < NATK_ADDR_SLOTS; i++) {
		u = &nn->addr_use[i];
		if (u->addr)
			continue;
		for (c = 0; c < ARRAY_SIZE(u->exhausted); c++) {
			atomic_long_set(&u->exhausted[c], 0);
			u->port_fail[c].frees = 0;
			u->port_fail[c].when = jiffies - HZ;
		}
		/* The counts are zero: a slot is freed only then. */
		smp_store_release(&u->addr, addr);
		return u;
	}
	return NULL;
}

/*
 * Before @cfg is published: claim a slot for each address of its pool.
 * Caller holds nn->lock.
 */
void natk_pool_claim(struct natk_net *nn, const struct natk_cfg *cfg)
{
	unsigned int i;

	lockdep_assert_held(&nn->lock);
	for (i = 0; i < cfg->naddrs; i++)
		natk_addr_use_prepare(nn, cfg, cfg->addrs[i]);
}

/*
 * The slot of @addr, claimed, with its block map if @cfg has port blocks
 * (without it, no block: new mappings on @addr are dropped). Locked.
 */
struct natk_addr_use *natk_addr_use_prepare(struct natk_net *nn,
					    const struct natk_cfg *cfg,
					    __be32 addr)
{
	struct natk_addr_use *u = natk_addr_use_get(nn, addr);

	if (u && cfg->port_block && !u->blockmap)
		u->blockmap = bitmap_zalloc(NATK_BLOCK_BITS, GFP_KERNEL);
	/*
	 * Its owner array (ports.c), once for the slot's life: every slot
	 * is empty whenever the slot counts no mapping. Without one, its
	 * mappings go to metbl.
	 */
	if (u && !u->owners)
		/* Zeroed before seen: natk_port_owner()'s acquire pairs. */
		smp_store_release(&u->owners,
				  kcalloc(3 * NATK_OWNER_CHUNKS,
					  sizeof(*u->owners),
					  GFP_KERNEL_ACCOUNT));
	return u;
}

/*
 * @cfg is published and the packets of older snapshots are done: free the
 * slots of addresses outside its pool that count nothing any more. Caller
 * holds nn->lock.
 */
void natk_pool_release(struct natk_net *nn, const struct natk_cfg *cfg)
{
	unsigned int i;

	lockdep_assert_held(&nn->lock);
	for (i = 0; i < NATK_ADDR_SLOTS; i++) {
		struct natk_addr_use *u = &nn->addr_use[i];

		if (u->addr && !natk_pool_has(cfg, u->addr) &&
		    natk_addr_use_idle(u)) {
			WRITE_ONCE(u->addr, 0);
			bitmap_free(u->blockmap);
			u->blockmap = NULL;
		}
	}
}

/* Netns exit: no host, mapping or packet is left. */
void natk_pool_destroy(struct natk_net *nn)
{
	unsigned int i, c;

	for (i = 0; i < NATK_ADDR_SLOTS; i++) {
		struct natk_addr_use *u = &nn->addr_use[i];

		bitmap_free(u->blockmap);
		u->blockmap = NULL;
		if (!u->owners)
			continue;
		for (c = 0; c < 3 * NATK_OWNER_CHUNKS; c++)
			kfree(rcu_access_pointer(u->owners[c]));
		kfree(u->owners);
		u->owners = NULL;
	}
}

/*
 * The address a new host is paired with: the one with the fewest hosts,
 * the first on a tie. 0 if the pool is empty. Caller holds RCU.
 */
__be32 natk_pool_pick(struct natk_net *nn, const struct natk_cfg *cfg)
{
	unsigned int i, n, best_n = UINT_MAX;
	struct natk_addr_use *u;
	__be32 best = cfg->ext_addr;

	if (cfg->naddrs <= 1)
		return best;
	for (i = 0; i < cfg->naddrs; i++) {
		u = natk_addr_use(nn, cfg->addrs[i]);
		n = u ? atomic_read(&u->hosts) : 0;
		if (n < best_n) {
			best_n = n;
			best = cfg->addrs[i];
		}
	}
	return best;
}

static bool natk_pool_sweep_flow(struct natk_net *nn, void *obj, u8 reason)
{
	const struct natk_cfg *cfg = rcu_dereference_check(nn->cfg,
					lockdep_is_held(&nn->lock));
	struct natk_flow *flow = obj;

	/* Mutant pool_flush_all: every flow goes, not only the address's. */
	if (natk_pool_has(cfg, flow->eaddr) && !natk_mutant(pool_flush_all))
		return false;
	return natk_flow_kill(nn, flow, reason);
}

/*
 * End the flows (and the held ports) on addresses that left the pool.
 * Process context, caller holds nn->lock and has waited for the packets
 * that ran on the previous configuration. Passes repeat while a walk may
 * have skipped a flow (bounded, as natk_flush()).
 */
void natk_pool_sweep(struct natk_net *nn)
{
	int pass;

	lockdep_assert_held(&nn->lock);
	atomic_inc(&nn->gen);
	for (pass = 0; pass < 16; pass++)
		if (!natk_sweep(nn, &nn->otbl, natk_pool_sweep_flow,
				NATK_REASON_FLUSH))
			break;
	natk_map_release_gone(nn);
}

/* NATK_A_POOL for GET_CONFIG. */
int natk_pool_fill(struct sk_buff *skb, struct natk_net *nn,
		   const struct natk_cfg *cfg)
{
	static const int ports[] = { NATK_POOL_A_PORTS_TCP,
				     NATK_POOL_A_PORTS_UDP,
				     NATK_POOL_A_PORTS_ICMP };
	static const int ex[] = { NATK_POOL_A_EXHAUSTED_TCP,
				  NATK_POOL_A_EXHAUSTED_UDP,
				  NATK_POOL_A_EXHAUSTED_ICMP };
	struct nlattr *pool, *e;
	struct natk_addr_use *u;
	unsigned int i, c;

	pool = nla_nest_start(skb, NATK_A_POOL);
	if (!pool)
		return -EMSGSIZE;
	for (i = 0; i < cfg->naddrs; i++) {
		u = natk_addr_use(nn, cfg->addrs[i]);
		e = nla_nest_start(skb, NATK_POOL_A_ENTRY);
		if (!e ||
		    nla_put_in_addr(skb, NATK_POOL_A_ADDR_BE, cfg->addrs[i]) ||
		    nla_put_u32(skb, NATK_POOL_A_BLOCKS,
				u ? atomic_read(&u->blocks) : 0))
			goto err;
		/* Hosts are counted only while every flow has one (host.c). */
		if (natk_cfg_needs_hosts(cfg) &&
		    nla_put_u32(skb, NATK_POOL_A_HOSTS,
				u ? atomic_read(&u->hosts) : 0))
			goto err;
		for (c = 0; c < ARRAY_SIZE(ports); c++)
			if (nla_put_u32(skb, ports[c],
					u ? atomic_read(&u->ports[c]) : 0) ||
			    nla_put_u64_64bit(skb, ex[c],
					      u ? atomic_long_read(&u->exhausted[c]) : 0,
					      NATK_POOL_A_PAD))
				goto err;
		nla_nest_end(skb, e);
	}
	nla_nest_end(skb, pool);
	return 0;
err:
	nla_nest_cancel(skb, pool);
	return -EMSGSIZE;
}
