// SPDX-License-Identifier: GPL-2.0
/*
 * natk per-internal-host accounting (RFC 6888 REQ-4/5): a flow that needs
 * its host object holds a reference on it (NATK_FLOW_HOST), so the number
 * of flows a host has is its reference count. With max-flows-per-host set,
 * a host at its limit gets no new flow (drop_host_limit): one host cannot
 * exhaust the table or the ports for the others. Host objects live in a
 * hash table by address and go when their last flow does.
 *
 * Only what needs one makes one (natk_cfg_needs_hosts(), natk_flow_make()):
 * a per-host limit, port blocks, a pool of more than one address, and
 * flows whose host natk_host_known() must know (a one-armed NAT's, an
 * import's). Otherwise a new flow makes no host object and takes no
 * reference: one lookup, one allocation and one shared atomic fewer.
 * When a configuration comes to need them, natk_hosts_attach() gives the
 * flows made without one theirs before it is published.
 *
 * A host is also where paired pooling (RFC 4787 REQ-2) keeps its external
 * address: chosen when the host gets its first flow (pool.c), the address
 * of every mapping it gets while it has flows. Only if that address has
 * left the pool is the host paired again, under its lock.
 */
#include <linux/slab.h>
#include "natk.h"

struct natk_host {
	struct rhash_head node;
	__be32 iaddr;
	__be32 eaddr;			/* paired with it */
	struct natk_addr_use *use;	/* counted there (pool.c), or NULL */
	spinlock_t lock;		/* eaddr and use, when paired again */
	struct natk_blocks blocks;	/* blocks.c: its port blocks */
	refcount_t flows;
	unsigned long log_next;		/* log.c: next limit line (jiffies) */
	struct rcu_head rcu;
};

static const struct rhashtable_params natk_hparams = {
	.head_offset = offsetof(struct natk_host, node),
	.key_offset = offsetof(struct natk_host, iaddr),
	.key_len = sizeof(__be32),
	.automatic_shrinking = true,
};

int natk_hosts_init(struct natk_net *nn)
{
	return rhashtable_init(&nn->htbl, &natk_hparams);
}

static void natk_host_free_left(void *ptr, void *arg)
{
	kfree(ptr);
}

/*
 * Netns exit, after the flows: the hosts they held (natk_flow_free_left()
 * drops no reference, one by one) go with the table. Process context.
 */
void natk_hosts_destroy(struct natk_net *nn)
{
	rhashtable_free_and_destroy(&nn->htbl, natk_host_free_left, NULL);
}

static void natk_host_pair(struct natk_net *nn, struct natk_host *host,
			   __be32 eaddr)
{
	host->eaddr = eaddr;
	host->use = natk_addr_use(nn, eaddr);
	if (host->use)
		atomic_inc(&host->use->hosts);
}

static void natk_host_unpair(struct natk_host *host)
{
	if (host->use)
		atomic_dec(&host->use->hosts);
}

/* The host's address left the pool: pair it again (its blocks go). */
static void natk_host_repair(struct natk_net *nn, const struct natk_cfg *cfg,
			     struct natk_host *host)
{
	spin_lock_bh(&host->lock);
	if (!natk_pool_has(cfg, host->eaddr)) {
		natk_blocks_release(nn, &host->blocks, host->iaddr);
		natk_host_unpair(host);
		natk_host_pair(nn, host, natk_pool_pick(nn, cfg));
	}
	spin_unlock_bh(&host->lock);
}

struct natk_blocks *natk_host_blocks(struct natk_host *host)
{
	return &host->blocks;
}

static bool natk_host_reblock_one(struct natk_net *nn, void *obj, u8 arg)
{
	struct natk_host *host = obj;

	natk_blocks_release_stale(nn, &host->blocks, host->iaddr);
	return false;
}

/*
 * The block geometry changed: hosts that outlived the flush (their
 * forwards' flows) give back their blocks of the old one. Process
 * context, under nn->lock.
 */
void natk_hosts_reblock(struct natk_net *nn)
{
	natk_sweep(nn, &nn->htbl, natk_host_reblock_one, 0);
}

/* The external address @host is paired with. */
__be32 natk_host_addr(const struct natk_host *host)
{
	return READ_ONCE(host->eaddr);
}

/*
 * A flow reference on the host @iaddr, made if needed and paired with
 * @eaddr or else with the pool's choice; *made tells which. NULL when
 * memory ran out. Caller holds rcu_read_lock(); softirq safe; bounded
 * retries.
 */
static struct natk_host *natk_host_ref(struct natk_net *nn,
				       const struct natk_cfg *cfg, __be32 iaddr,
				       __be32 eaddr, bool *made)
{
	struct natk_host *host, *old;
	int attempt;

	*made = false;
	for (attempt = 0; attempt < 3; attempt++) {
		host = rhashtable_lookup(&nn->htbl, &iaddr, natk_hparams);
		if (host) {
			if (!refcount_inc_not_zero(&host->flows))
				continue;	/* being freed: look again */
			return host;
		}
		host = kzalloc(sizeof(*host), NATK_GFP);
		if (!host)
			break;
		host->iaddr = iaddr;
		host->log_next = jiffies;
		spin_lock_init(&host->lock);
		natk_blocks_init(&host->blocks);
		natk_host_pair(nn, host, eaddr ?: natk_pool_pick(nn, cfg));
		refcount_set(&host->flows, 1);
		old = rhashtable_lookup_get_insert_fast(&nn->htbl, &host->node,
							natk_hparams);
		if (!old) {
			*made = true;
			return host;
		}
		natk_host_unpair(host);
		kfree(host);	/* never visible */
		if (IS_ERR(old))
			break;
	}
	return NULL;
}

/*
 * Take a flow reference on the host @iaddr, creating it if needed, paired
 * with @eaddr (an imported flow's, a forward's) or else with the pool's
 * choice. Returns NULL with *why set when the host is at its limit or
 * memory ran out. Caller holds rcu_read_lock(); softirq safe.
 */
struct natk_host *natk_host_get(struct natk_net *nn, const struct natk_cfg *cfg,
				__be32 iaddr, __be32 eaddr, enum natk_stat *why)
{
	struct natk_host *host;
	bool made;

	host = natk_host_ref(nn, cfg, iaddr, eaddr, &made);
	if (!host) {
		*why = NATK_STAT_DROP_NO_MEMORY;
		return NULL;
	}
	if (made)
		return host;
	/* Mutant no_host_limit: the limit is ignored. */
	if (cfg->max_flows_per_host && !natk_mutant(no_host_limit) &&
	    refcount_read(&host->flows) > cfg->max_flows_per_host) {
		if (natk_log_due(&host->log_next))
			natk_log(nn, LOGLEVEL_WARNING,
				 "%pI4 reached max-flows-per-host %u: its new flows dropped\n",
				 &iaddr, cfg->max_flows_per_host);
		natk_host_put(nn, host);
		*why = NATK_STAT_DROP_HOST_LIMIT;
		return NULL;
	}
	if (cfg->naddrs && !natk_pool_has(cfg, READ_ONCE(host->eaddr)))
		natk_host_repair(nn, cfg, host);
	return host;
}

void natk_host_put(struct natk_net *nn, struct natk_host *host)
{
	if (!refcount_dec_and_test(&host->flows))
		return;
	natk_blocks_release(nn, &host->blocks, host->iaddr);
	natk_host_unpair(host);
	rhashtable_remove_fast(&nn->htbl, &host->node, natk_hparams);
	kfree_rcu(host, rcu);
}

/*
 * @flow is ending: drop its reference on its host, if it holds one. The
 * host is the one in the table: it cannot go while the flow holds it, nor
 * another be made for its address. Any context.
 */
void natk_host_release(struct natk_net *nn, struct natk_flow *flow)
{
	__be32 iaddr = flow->okey.iaddr;	/* okey is packed */
	struct natk_host *host;

	if (!natk_flow_flag_test_clear(flow, NATK_FLOW_HOST))
		return;
	rcu_read_lock();
	host = rhashtable_lookup(&nn->htbl, &iaddr, natk_hparams);
	if (!WARN_ON_ONCE(!host))
		natk_host_put(nn, host);
	rcu_read_unlock();
}

/*
 * Give @flow the reference it did not take when it was made, unless it is
 * ending already (then natk_host_release() has passed). True: no memory
 * (natk_sweep() counts it; the next pass tries again).
 */
static bool natk_host_attach_one(struct natk_net *nn, void *obj, u8 arg)
{
	const struct natk_cfg *cfg = rcu_dereference_check(nn->cfg,
					lockdep_is_held(&nn->lock));
	struct natk_flow *flow = obj;
	struct natk_host *host;
	bool made;
	int old;

	if (natk_flow_flag(flow, NATK_FLOW_HOST) ||
	    natk_flow_flag(flow, NATK_FLOW_DEAD))
		return false;
	/* Paired with the address its flows have: all had the one. */
	host = natk_host_ref(nn, cfg, flow->okey.iaddr, flow->eaddr, &made);
	if (!host)
		return true;
	old = atomic_read(&flow->flags);
	do {
		if (old & (BIT(NATK_FLOW_DEAD) | BIT(NATK_FLOW_HOST))) {
			natk_host_put(nn, host);
			return false;
		}
	} while (!atomic_try_cmpxchg(&flow->flags, &old,
				     old | BIT(NATK_FLOW_HOST)));
	return false;
}

/*
 * The configuration about to be published needs host objects (a per-host
 * limit, port blocks, more than one address): every flow made without
 * one gets its host's, so the limit counts it and its host stays paired
 * with its address. New flows already make theirs (nn->hosts_attach is
 * set and the packets of before have passed). Passes repeat while one
 * left a flow without (no memory, or a walk that skipped it), bounded as
 * natk_flush(). Process context, under nn->lock. Returns -ENOMEM when
 * some flow still has none.
 */
int natk_hosts_attach(struct natk_net *nn)
{
	struct mem_cgroup *memcg;
	unsigned int left = 0;
	int pass;

	lockdep_assert_held(&nn->lock);
	memcg = set_active_memcg(nn->memcg);
	for (pass = 0; pass < 16; pass++) {
		left = natk_sweep(nn, &nn->otbl, natk_host_attach_one, 0);
		if (!left)
			break;
	}
	set_active_memcg(memcg);
	return left ? -ENOMEM : 0;
}

/*
 * Does natk masquerade @iaddr right now, as a host it keeps an object for?
 * Every host with flows while natk_cfg_needs_hosts(), and otherwise one
 * with a flow that came in by the external interface or was imported. A
 * one-armed NAT tells its lan hosts from the internet this way. Caller
 * holds rcu_read_lock().
 */
bool natk_host_known(struct natk_net *nn, __be32 iaddr)
{
	return rhashtable_lookup(&nn->htbl, &iaddr, natk_hparams);
}
