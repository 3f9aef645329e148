// SPDX-License-Identifier: GPL-2.0
/*
 * natk fast path routes: the input routes that flows' fast path uses, in
 * one small table per netns, each with a reference. A flow names its route
 * of each direction by a one-byte index (flow->fp_route), not a pointer
 * and the input device beside it: 18 bytes less a flow. A NAT host
 * forwards through a handful of routes (the kernel caches one input route
 * per next hop and input device), so NATK_FP_ROUTES is plenty; when the
 * table has no room, a flow's packets look their route up each time.
 *
 * An entry is (dst, iif, users): @users counts the flows' indexes that
 * name it, taken and dropped only when a flow caches a route, changes it,
 * dies or is cleaned by the GC, never per packet. Its route does not
 * change while anyone uses it. When its last user goes, the entry only
 * drains: it keeps its route until an RCU grace period has passed since
 * (get_state_synchronize_rcu()), because a reader that read a flow's
 * index before the flow let go of it may still look at the entry. Only
 * then may another route take it. So a reader (RCU held) that finds
 * index I in a live or dying flow sees the route that flow cached under I.
 *
 * A route is used only while dst_check() says it is current (fastpath.c),
 * as before; the GC lets go of entries whose route is not
 * (natk_fp_route_clean()), so flows that went idle through route changes
 * do not keep entries. A device that goes away takes its routes with it
 * (dst_dev_put()): an entry never holds a device.
 */
#include <linux/slab.h>
#include <linux/hash.h>
#include <linux/rcupdate.h>
#include <net/dst.h>
#include "natk.h"

struct natk_fp_route {
	struct dst_entry __rcu *dst;	/* a reference; NULL: never used */
	int iif;			/* what the packet came in on */
	unsigned int users;		/* flows' indexes naming it */
	unsigned long drained;		/* users 0 since this RCU state */
};

/* Entries a claim looks at, from the route's hash on. */
#define NATK_FP_ROUTE_PROBES	8

int natk_fp_routes_init(struct natk_net *nn)
{
	spin_lock_init(&nn->fp_route_lock);
	nn->fp_routes = kcalloc(NATK_FP_ROUTES, sizeof(*nn->fp_routes),
				GFP_KERNEL_ACCOUNT);
	return nn->fp_routes ? 0 : -ENOMEM;
}

/* Netns exit: no packet, GC or flow is left. */
void natk_fp_routes_destroy(struct natk_net *nn)
{
	int i;

	if (!nn->fp_routes)
		return;
	for (i = 1; i < NATK_FP_ROUTES; i++)
		dst_release(rcu_dereference_protected(nn->fp_routes[i].dst, 1));
	kfree(nn->fp_routes);
	nn->fp_routes = NULL;
}

/* The route of entry @i (not 0), for a reader that holds RCU. */
struct dst_entry *natk_fp_route_dst(struct natk_net *nn, u8 i, int *iif)
{
	const struct natk_fp_route *r = &nn->fp_routes[i];

	*iif = READ_ONCE(r->iif);
	return rcu_dereference(r->dst);
}

/* May entry @r take another route? Caller holds fp_route_lock. */
static bool natk_fp_route_free(const struct natk_fp_route *r)
{
	/* Mutant fp-route-no-drain: taken again at once, readers or not. */
	if (natk_mutant(fp_route_no_drain))
		return !r->users;
	return !r->users && (!rcu_access_pointer(r->dst) ||
			     poll_state_synchronize_rcu(r->drained));
}

/*
 * An entry for @dst (the caller's reference, which this takes in every
 * case) that came in on @iif, with one user: its index, or 0 when the
 * table has no room (the caller uses @dst for its packet only: it is
 * valid while it holds RCU). Any context.
 */
u8 natk_fp_route_claim(struct natk_net *nn, struct dst_entry *dst, int iif)
{
	unsigned int h = hash_ptr(dst, 8) ^ (iif & 0xff), i, k;
	struct natk_fp_route *r, *free = NULL;
	struct dst_entry *old = NULL;
	u8 got = 0;

	spin_lock_bh(&nn->fp_route_lock);
	for (k = 0; k < NATK_FP_ROUTE_PROBES; k++) {
		i = (h + k) % (NATK_FP_ROUTES - 1) + 1;
		r = &nn->fp_routes[i];
		if (rcu_access_pointer(r->dst) == dst && r->iif == iif) {
			r->users++;	/* a draining one comes back */
			got = i;
			break;
		}
		if (!free && natk_fp_route_free(r)) {
			free = r;
			got = i;
		}
	}
	if (k == NATK_FP_ROUTE_PROBES && free) {
		old = rcu_dereference_protected(free->dst, 1);
		rcu_assign_pointer(free->dst, dst);
		WRITE_ONCE(free->iif, iif);
		free->users = 1;
		dst = NULL;	/* the entry's now */
	}
	spin_unlock_bh(&nn->fp_route_lock);
	dst_release(old);
	dst_release(dst);	/* found, or no room */
	return got;
}

/* A user of entry @i (not 0) lets go. Any context. */
void natk_fp_route_put(struct natk_net *nn, u8 i)
{
	struct natk_fp_route *r = &nn->fp_routes[i];

	spin_lock_bh(&nn->fp_route_lock);
	if (!WARN_ON_ONCE(!r->users) && !--r->users)
		r->drained = get_state_synchronize_rcu();
	spin_unlock_bh(&nn->fp_route_lock);
}

/*
 * Set @flow's route of direction @dir to entry @i (0: none), letting go
 * of the one it had. A dying flow keeps none: natk_fp_flow_release()
 * and this agree through xchg(), so each index is let go exactly once.
 */
void natk_fp_route_set(struct natk_net *nn, struct natk_flow *flow, int dir,
		       u8 i)
{
	u8 old = xchg(&flow->fp_route[dir], i);

	if (old)
		natk_fp_route_put(nn, old);
	if (i && natk_flow_flag(flow, NATK_FLOW_DEAD)) {
		old = xchg(&flow->fp_route[dir], 0);
		if (old)
			natk_fp_route_put(nn, old);
	}
}

/* A killed flow lets go of its routes (natk_flow_kill()). Any context. */
void natk_fp_flow_release(struct natk_net *nn, struct natk_flow *flow)
{
	int dir;

	for (dir = 0; dir < 2; dir++)
		natk_fp_route_set(nn, flow, dir, 0);
}

/*
 * GC: @flow lets go of routes that are no longer current (a route or
 * device changed since it cached them): the entries can drain even if it
 * never sends again. RCU held.
 */
void natk_fp_route_clean(struct natk_net *nn, struct natk_flow *flow)
{
	struct dst_entry *dst;
	int dir, iif;
	u8 i;

	/* Mutant fp-route-kept: idle flows keep stale entries forever. */
	if (natk_mutant(fp_route_kept))
		return;
	for (dir = 0; dir < 2; dir++) {
		i = READ_ONCE(flow->fp_route[dir]);
		if (!i)
			continue;
		dst = natk_fp_route_dst(nn, i, &iif);
		if (!dst || !dst_check(dst, 0)) {
			/* Only if it still names it (a packet may re-route). */
			if (cmpxchg(&flow->fp_route[dir], i, 0) == i)
				natk_fp_route_put(nn, i);
		}
	}
}
