// SPDX-License-Identifier: GPL-2.0
/*
 * natk graves: killed flows freed in batches after an RCU grace period,
 * instead of an rcu_head in every flow (16 of its bytes, a million times
 * over in a large table).
 *
 * A killed flow leaves its tables at once, but readers that found it may
 * use it until a grace period has passed. Its pointer waits in its netns's
 * open grave, a page of pointers; a grave that is full is closed, and
 * handed to call_rcu() once every slot in it is filled: its callback frees
 * all its flows. A kill takes its slot first (natk_grave_reserve()), so a
 * flow is committed to dying only once it has a place to wait: without
 * memory for a grave a kill is refused, and the flow lives on until a
 * later kill (the GC's next pass, a lookup after its timeout) tries again.
 * Nothing is lost or leaked.
 *
 * A slot is filled after its flow has left every table, and a grave goes
 * to call_rcu() only when it is closed and all its slots are filled: its
 * grace period starts after the last of its flows was unlinked.
 *
 * The GC closes the open grave at the end of each run, a sweep (flush,
 * address and scope changes) at its end, a netlink delete after its kill,
 * netns exit before the tables go: a partly filled grave waits at most one
 * GC pause. A spare grave, allocated in process context by the GC and
 * where a long sweep rests (never at a sweep's start: a KUnit race hook
 * sweeps under rcu_read_lock()), makes the GFP_ATOMIC allocation of a
 * kill in softirq rare.
 *
 * A flow that lost the race to publish (natk_flow_make(): in the reply
 * table, never in the original one) takes no slot: its original-table
 * node, which no reader can reach, links it on nn->orphans, and the GC
 * frees those after synchronize_rcu() (natk_orphans_free()).
 */
#include <linux/slab.h>
#include <linux/llist.h>
#include <linux/rcupdate.h>
#include "natk.h"

struct natk_grave {
	struct rcu_head rcu;
	unsigned int taken;		/* slots handed out */
	unsigned int filled;		/* of them, filled or given back */
	bool closed;			/* no more: queued when all filled */
	struct natk_flow *flow[];	/* NULL: a slot given back */
};

#if IS_ENABLED(CONFIG_NATK_KUNIT_TEST)
bool natk_grave_test_fail;		/* a kill finds no memory */
EXPORT_SYMBOL_GPL(natk_grave_test_fail);
atomic_t natk_grave_test_freed;		/* flows graves freed */
EXPORT_SYMBOL_GPL(natk_grave_test_freed);
#endif

#define NATK_GRAVE_BYTES	PAGE_SIZE
#define NATK_GRAVE_SLOTS	((NATK_GRAVE_BYTES - sizeof(struct natk_grave)) / \
				 sizeof(struct natk_flow *))

static void natk_grave_free_rcu(struct rcu_head *head)
{
	struct natk_grave *g = container_of(head, struct natk_grave, rcu);
	unsigned int i;

	/* At most NATK_GRAVE_SLOTS flows. */
	for (i = 0; i < g->taken; i++) {
		if (!g->flow[i])
			continue;
		natk_flow_free_now(g->flow[i]);
#if IS_ENABLED(CONFIG_NATK_KUNIT_TEST)
		atomic_inc(&natk_grave_test_freed);
#endif
	}
	kfree(g);
}

static struct natk_grave *natk_grave_new(gfp_t gfp)
{
	struct natk_grave *g;

#if IS_ENABLED(CONFIG_NATK_KUNIT_TEST)
	/* KUnit: a kill finds no memory (natk_grave_test_fail). */
	if (READ_ONCE(natk_grave_test_fail) && !(gfp & __GFP_DIRECT_RECLAIM))
		return NULL;
#endif
	g = kmalloc(NATK_GRAVE_BYTES, gfp);
	if (g) {
		g->taken = 0;
		g->filled = 0;
		g->closed = false;
	}
	return g;
}

/* Caller holds nn->grave_lock. */
static bool natk_grave_complete(const struct natk_grave *g)
{
	return g->closed && g->filled == g->taken;
}

void natk_grave_init(struct natk_net *nn)
{
	spin_lock_init(&nn->grave_lock);
	init_llist_head(&nn->orphans);
}

/*
 * A slot for a flow about to be killed, in *@s; false: no memory (the
 * flow must live on). Any context.
 */
bool natk_grave_reserve(struct natk_net *nn, struct natk_grave_slot *s)
{
	struct natk_grave *g, *new = NULL;

	spin_lock_bh(&nn->grave_lock);
	if (!nn->grave) {
		nn->grave = nn->grave_spare;
		nn->grave_spare = NULL;
	}
	if (!nn->grave) {
		spin_unlock_bh(&nn->grave_lock);
		new = natk_grave_new(GFP_ATOMIC | __GFP_NOWARN);
		if (!new)
			return false;
		spin_lock_bh(&nn->grave_lock);
		if (!nn->grave) {
			nn->grave = new;
			new = NULL;
		}
	}
	g = nn->grave;
	s->grave = g;
	s->i = g->taken++;
	if (g->taken == NATK_GRAVE_SLOTS) {
		g->closed = true;
		nn->grave = NULL;
	}
	spin_unlock_bh(&nn->grave_lock);
	kfree(new);
	return true;
}

/*
 * Fill slot @s with @flow, which has left every table (NULL: give the
 * slot back). Any context.
 */
void natk_grave_fill(struct natk_net *nn, const struct natk_grave_slot *s,
		     struct natk_flow *flow)
{
	struct natk_grave *g = s->grave;
	bool queue;

	spin_lock_bh(&nn->grave_lock);
	g->flow[s->i] = flow;
	g->filled++;
	queue = natk_grave_complete(g);
	spin_unlock_bh(&nn->grave_lock);
	if (queue)
		call_rcu(&g->rcu, natk_grave_free_rcu);
}

/*
 * Close the open grave, if it holds any slot: its flows are freed after
 * a grace period (once its last slot is filled). Any context.
 */
void natk_grave_close(struct natk_net *nn)
{
	struct natk_grave *g;
	bool queue = false;

	spin_lock_bh(&nn->grave_lock);
	g = nn->grave;
	if (g && g->taken) {
		nn->grave = NULL;
		g->closed = true;
		queue = natk_grave_complete(g);
	}
	spin_unlock_bh(&nn->grave_lock);
	if (queue)
		call_rcu(&g->rcu, natk_grave_free_rcu);
}

/* A spare grave, if there is none (process context). */
void natk_grave_prepare(struct natk_net *nn)
{
	struct natk_grave *g;

	if (READ_ONCE(nn->grave_spare))
		return;
	g = natk_grave_new(GFP_KERNEL);
	if (!g)
		return;
	spin_lock_bh(&nn->grave_lock);
	if (!nn->grave_spare) {
		nn->grave_spare = g;
		g = NULL;
	}
	spin_unlock_bh(&nn->grave_lock);
	kfree(g);
}

/*
 * A flow that was in the reply table, or its port's owner slot, only
 * (natk_flow_make() did not publish it): freed by natk_orphans_free().
 * Any context.
 */
void natk_flow_orphan(struct natk_net *nn, struct natk_flow *flow)
{
	llist_add(&flow->orphan, &nn->orphans);
}

/* Free the orphans, after the readers that may hold them. Process context. */
void natk_orphans_free(struct natk_net *nn)
{
	struct llist_node *list = llist_del_all(&nn->orphans);
	struct natk_flow *flow, *next;

	if (!list)
		return;
	synchronize_rcu();
	llist_for_each_entry_safe(flow, next, list, orphan)
		natk_flow_free_now(flow);
}

/*
 * Netns exit (and KUnit): the open grave goes to call_rcu() (its flows are
 * unlinked; natk_flow_cache_exit()'s rcu_barrier() waits for them), the
 * spare is freed, and so are the orphans. Process context, no packet,
 * GC or dump left.
 */
void natk_graves_destroy(struct natk_net *nn)
{
	struct natk_grave *g;

	natk_grave_close(nn);
	natk_orphans_free(nn);
	spin_lock_bh(&nn->grave_lock);
	g = nn->grave;		/* open and empty, if any */
	nn->grave = NULL;
	kfree(g);
	g = nn->grave_spare;
	nn->grave_spare = NULL;
	spin_unlock_bh(&nn->grave_lock);
	kfree(g);
}
