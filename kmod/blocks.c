// SPDX-License-Identifier: GPL-2.0
/*
 * natk port blocks (RFC 7422 style, NATK_A_PORT_BLOCK): each internal host
 * gets blocks of cfg->port_block contiguous ports on its paired address,
 * and its dynamic mappings take ports inside them, so the mapping log
 * needs one line per block instead of one per mapping.
 *
 * Block k of an address is the ports port_min + k * size .. + size - 1.
 * Which blocks are taken is a bitmap per address (natk_addr_use.blockmap,
 * pool.c), set with test_and_set_bit so two hosts never get the same
 * block, without a global lock. A host's blocks (struct natk_blocks, in
 * its host object) only grow while it lives, under their own spinlock;
 * readers see the count with acquire semantics after the entries. The
 * blocks go back when the host goes (its last flow), when it is paired
 * with another address, or when the geometry (size, range) they were made
 * with is no longer the configuration's.
 */
#include <linux/random.h>
#include "natk.h"

/* Blocks of the configured geometry in the port range. */
static u32 natk_blocks_total(const struct natk_cfg *cfg)
{
	return min_t(u32, (cfg->port_max - cfg->port_min + 1) / cfg->port_block,
		     NATK_BLOCK_BITS);
}

/* Were @b's blocks made with @cfg's geometry, on @use's address? */
static bool natk_blocks_current(const struct natk_blocks *b,
				const struct natk_cfg *cfg,
				const struct natk_addr_use *use)
{
	return READ_ONCE(b->size) == cfg->port_block &&
	       READ_ONCE(b->base) == cfg->port_min && READ_ONCE(b->use) == use;
}

static u16 natk_block_first(const struct natk_blocks *b, unsigned int i)
{
	return b->base + b->idx[i] * b->size;
}

/* Give all of @b's blocks back. Caller holds b->lock. */
static void natk_blocks_drop(struct natk_net *nn, struct natk_blocks *b,
			     __be32 iaddr)
{
	unsigned int i;
	u16 first;

	for (i = 0; i < b->n; i++) {
		first = natk_block_first(b, i);
		natk_event_block(nn, iaddr, b->use->addr, first,
				 first + b->size - 1, NATK_CMD_MAP_DEL);
		clear_bit(b->idx[i], b->use->blockmap);
		atomic_dec(&b->use->blocks);
	}
	/* Pairs with the acquire in the searches: none after this sees one. */
	smp_store_release(&b->n, 0);
}

void natk_blocks_init(struct natk_blocks *b)
{
	spin_lock_init(&b->lock);
	b->n = 0;
}

/* The host @iaddr is going, or paired again: its blocks are free. */
void natk_blocks_release(struct natk_net *nn, struct natk_blocks *b,
			 __be32 iaddr)
{
	spin_lock_bh(&b->lock);
	natk_blocks_drop(nn, b, iaddr);
	spin_unlock_bh(&b->lock);
}

/* Give back @b's blocks if they are not of the configuration's geometry. */
void natk_blocks_release_stale(struct natk_net *nn, struct natk_blocks *b,
			       __be32 iaddr)
{
	const struct natk_cfg *cfg = rcu_dereference_check(nn->cfg,
					lockdep_is_held(&nn->lock));

	spin_lock_bh(&b->lock);
	if (b->n && !natk_blocks_current(b, cfg, b->use))
		natk_blocks_drop(nn, b, iaddr);
	spin_unlock_bh(&b->lock);
}

/*
 * Append block @k of @use, just claimed in its map, to @b (of @cfg's
 * geometry) and log it. Returns its index in @b. Caller holds b->lock.
 */
static int natk_block_append(struct natk_net *nn, const struct natk_cfg *cfg,
			     struct natk_blocks *b, struct natk_addr_use *use,
			     __be32 iaddr, u32 k)
{
	unsigned int n = b->n;
	u16 first;

	if (!n) {
		b->size = cfg->port_block;
		b->base = cfg->port_min;
		b->use = use;
	}
	b->idx[n] = k;
	atomic_inc(&use->blocks);
	first = natk_block_first(b, n);
	natk_event_block(nn, iaddr, use->addr, first, first + b->size - 1,
			 NATK_CMD_MAP_NEW);
	/* The entry before the count that shows it. */
	smp_store_release(&b->n, n + 1);
	return n;
}

/*
 * A new block for @b on @use: one chosen at random among the free ones,
 * appended. Returns its index in @b, or -EADDRINUSE (at the host's limit,
 * or no block free). A block another CPU appended since the caller looked
 * (@seen blocks then) is returned instead of a new one.
 */
static int natk_block_new(struct natk_net *nn, const struct natk_cfg *cfg,
			  struct natk_blocks *b, struct natk_addr_use *use,
			  __be32 iaddr, unsigned int seen)
{
	u32 total = natk_blocks_total(cfg), k;
	int attempt, ret = -EADDRINUSE;

	if (!use || !use->blockmap || !total)
		return -EADDRINUSE;
	spin_lock_bh(&b->lock);
	if (b->n && !natk_blocks_current(b, cfg, use))
		natk_blocks_drop(nn, b, iaddr);
	if (b->n > seen) {
		ret = seen;
		goto out;
	}
	if (b->n >= cfg->blocks_per_host)
		goto out;
	/* Random among the free ones: a random start, the next free. */
	for (attempt = 0; attempt < 4; attempt++) {
		k = find_next_zero_bit(use->blockmap, total,
				       get_random_u32_below(total));
		if (k >= total)
			k = find_first_zero_bit(use->blockmap, total);
		if (k >= total)
			goto out;
		if (!test_and_set_bit(k, use->blockmap))
			break;
	}
	if (attempt == 4)
		goto out;
	ret = natk_block_append(nn, cfg, b, use, iaddr, k);
out:
	spin_unlock_bh(&b->lock);
	return ret;
}

/*
 * The port search inside the host's blocks: each block it has, then a new
 * one while its limit allows. Returns as natk_port_search(). Caller holds
 * rcu_read_lock().
 */
int natk_blocks_search(struct natk_net *nn, const struct natk_cfg *cfg,
		       struct natk_blocks *b, __be32 iaddr, __be32 eaddr,
		       u8 proto, __be16 iport,
		       int (*claim)(struct natk_net *nn, void *arg, __be16 port),
		       void *arg)
{
	struct natk_addr_use *use = natk_addr_use(nn, eaddr);
	u32 budget = NATK_BLOCK_ATTEMPTS;
	/* The count, then the entries it covers (appended before it). */
	unsigned int i, n = smp_load_acquire(&b->n);
	int err, got;
	u16 first;

	if (n && !natk_blocks_current(b, cfg, use))
		n = 0;		/* another geometry: natk_block_new() resets */
	for (i = 0; i < n && budget; i++) {
		first = natk_block_first(b, i);
		err = natk_port_search_in(nn, first, first + b->size - 1,
					  iport, &budget, claim, arg);
		if (err != -EADDRINUSE)
			return err;
	}
	/* All full (or none yet): another block, searched whole. */
	got = natk_block_new(nn, cfg, b, use, iaddr, n);
	if (got < 0)
		return got;
	budget = cfg->port_block;
	first = natk_block_first(b, got);
	return natk_port_search_in(nn, first, first + b->size - 1, iport,
				   &budget, claim, arg);
}

/* Is @port in one of @b's blocks (of @cfg's geometry, on @eaddr)? */
bool natk_blocks_have(struct natk_net *nn, const struct natk_cfg *cfg,
		      struct natk_blocks *b, __be32 eaddr, __be16 port)
{
	/* The count, then the entries it covers (appended before it). */
	unsigned int i, n = smp_load_acquire(&b->n);
	u16 p = ntohs(port), first;

	if (!n || !natk_blocks_current(b, cfg, natk_addr_use(nn, eaddr)))
		return false;
	for (i = 0; i < n; i++) {
		first = natk_block_first(b, i);
		if (p >= first && p < first + b->size)
			return true;
	}
	return false;
}

/*
 * An imported mapping has its port: the block holding it becomes the
 * host's (it is its peer's). -EADDRINUSE if another host has it, the
 * port is outside the blocks' range, or the host has no room.
 */
int natk_blocks_take(struct natk_net *nn, const struct natk_cfg *cfg,
		     struct natk_blocks *b, __be32 iaddr, __be32 eaddr,
		     __be16 port)
{
	struct natk_addr_use *use = natk_addr_use(nn, eaddr);
	u16 p = ntohs(port);
	int ret = -EADDRINUSE;
	u32 k;

	if (natk_blocks_have(nn, cfg, b, eaddr, port))
		return 0;
	if (!use || !use->blockmap || p < cfg->port_min)
		return -EADDRINUSE;
	k = (p - cfg->port_min) / cfg->port_block;
	if (k >= natk_blocks_total(cfg))
		return -EADDRINUSE;
	spin_lock_bh(&b->lock);
	if (b->n && !natk_blocks_current(b, cfg, use))
		natk_blocks_drop(nn, b, iaddr);
	if (b->n >= NATK_PORT_BLOCKS_MAX || test_and_set_bit(k, use->blockmap))
		goto out;
	natk_block_append(nn, cfg, b, use, iaddr, k);
	ret = 0;
out:
	spin_unlock_bh(&b->lock);
	return ret;
}
