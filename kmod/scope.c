// SPDX-License-Identifier: GPL-2.0
/*
 * Which packets natk masquerades: the scope (NATK_A_INTERNAL,
 * NATK_A_NO_NAT). A packet routed out of the external interface gets a new
 * flow only if its source is in one of the internal prefixes (none given:
 * any source) and its destination in none of the no-nat prefixes, as
 * iptables' `-s PREFIX ! -d PREFIX -j MASQUERADE`. Anything else leaves
 * untranslated (NATK_STAT_PASSED_OUT_OF_SCOPE).
 *
 * Only the creation of a flow asks: established flows, their replies and
 * port forwards never look at the lists. The lists live in the RCU-published
 * configuration; a match is a bounded scan of at most NATK_PREFIXES_MAX
 * prefixes per list, on the new-flow path only. When a list changes, the
 * dynamic flows it puts out of scope are deleted (process context).
 */
#include <linux/rhashtable.h>
#include "natk.h"

static bool natk_scope_has(const struct natk_scope *s, __be32 addr)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if ((addr & s->p[i].mask) == s->p[i].addr)
			return true;
	return false;
}

/* May a packet from @saddr to @daddr get a new flow? Any context. */
bool natk_in_scope(const struct natk_cfg *cfg, __be32 saddr, __be32 daddr)
{
	if (natk_mutant(scope_ignored))	/* mutant: every packet in scope */
		return true;
	if (cfg->internal.n && !natk_scope_has(&cfg->internal, saddr))
		return false;
	return !natk_scope_has(&cfg->no_nat, daddr);
}

/*
 * Add @addr/@len to @s. Returns 0, -ENOSPC when the list is full, or
 * -EINVAL when @addr has bits set past @len.
 */
int natk_scope_add(struct natk_scope *s, __be32 addr, u8 len)
{
	__be32 mask;

	if (len > 32)
		return -EINVAL;
	mask = len ? htonl(~0U << (32 - len)) : 0;
	if (addr & ~mask)
		return -EINVAL;
	if (s->n >= NATK_PREFIXES_MAX)
		return -ENOSPC;
	s->p[s->n].addr = addr;
	s->p[s->n].mask = mask;
	s->n++;
	return 0;
}

u8 natk_prefix_len(const struct natk_prefix *p)
{
	return hweight32((__force u32)p->mask);
}

bool natk_scope_equal(const struct natk_scope *a, const struct natk_scope *b)
{
	return a->n == b->n && !memcmp(a->p, b->p, a->n * sizeof(a->p[0]));
}

static bool natk_scope_sweep_one(struct natk_net *nn, void *obj, u8 reason)
{
	const struct natk_cfg *cfg = rcu_dereference_check(nn->cfg,
					lockdep_is_held(&nn->lock));
	struct natk_flow *flow = obj;
	struct natk_map *map = natk_flow_map(flow);

	/* Port forwards stay whatever the lists say. */
	if (map && (map->flags & NATK_MAP_STATIC))
		return false;
	if (natk_in_scope(cfg, flow->okey.iaddr, flow->okey.raddr))
		return false;
	return natk_flow_kill(nn, flow, reason);
}

/*
 * Delete the dynamic flows the published configuration puts out of scope.
 * Process context, caller holds nn->lock and has waited for the packets
 * that ran on the previous configuration. Passes repeat while the walk may
 * have skipped a flow (bounded, as natk_flush()).
 */
void natk_scope_sweep(struct natk_net *nn)
{
	int pass;

	lockdep_assert_held(&nn->lock);
	atomic_inc(&nn->gen);
	for (pass = 0; pass < 16; pass++)
		if (!natk_sweep(nn, &nn->otbl, natk_scope_sweep_one,
				NATK_REASON_FLUSH))
			break;
}
