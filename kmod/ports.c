// SPDX-License-Identifier: GPL-2.0
/*
 * natk port allocator and mappings.
 *
 * A mapping ties an internal endpoint (proto, address, port) to one external
 * port, for every destination (RFC 4787 REQ-1 endpoint-independent mapping).
 * Mappings are refcounted by the flows that use them and live in two hash
 * tables: by internal endpoint and by external port. The external port is
 * claimed atomically by inserting into the by-port table, so two CPUs can
 * never hand out the same port, without a global lock.
 *
 * Port choice: the internal port when it is free and in range (port
 * preservation), else a random start in the range and a bounded linear
 * search (RFC 6056 algorithm 1 style). Ports below 1024 map below 1024
 * (RFC 4787 REQ-3a). A port a local socket of the NAT host uses on the
 * external address is never handed out.
 */
#include <linux/random.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/inet_hashtables.h>
#include <net/udp.h>
#include <net/tcp.h>
#include "natk.h"

const struct rhashtable_params natk_miparams = {
	.head_offset = offsetof(struct natk_map, inode),
	.key_offset = offsetof(struct natk_map, ikey),
	.key_len = sizeof(struct natk_mkey),
	.automatic_shrinking = true,
};

const struct rhashtable_params natk_meparams = {
	.head_offset = offsetof(struct natk_map, enode),
	.key_offset = offsetof(struct natk_map, ekey),
	.key_len = sizeof(struct natk_ekey),
	.automatic_shrinking = true,
};

/* Caller holds rcu_read_lock(). */
struct natk_map *natk_map_lookup_ext(struct natk_net *nn, u8 proto,
				     __be16 eport)
{
	struct natk_ekey k = { .eport = eport, .proto = proto };

	return rhashtable_lookup(&nn->metbl, &k, natk_meparams);
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
	} else if (p < 1024 && cfg->port_min >= 1024) {
		*lo = 1;
		*hi = 1023;
	} else {
		*lo = cfg->port_min;
		*hi = cfg->port_max;
	}
	return *hi - *lo + 1;
}

/* Is @port on the external address in use by a socket of the host? */
static bool natk_port_local_use(struct net *net, u8 proto, __be32 addr,
				__be16 port)
{
	struct sock *sk;

	switch (proto) {
	case IPPROTO_TCP:
		sk = __inet_lookup_listener(net, net->ipv4.tcp_death_row.hashinfo,
					    NULL, 0, 0, 0, addr, ntohs(port),
					    0, 0);
		return sk;
	case IPPROTO_UDP:
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

static void natk_map_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct natk_map, rcu));
}

/*
 * The bounded port search: offer candidates to @claim, which returns 0 when
 * it took the port, -EEXIST when the port is taken, or another error to
 * stop. Returns 0, that error, or -EADDRINUSE when no candidate was free.
 */
int natk_port_search(struct natk_net *nn, const struct natk_cfg *cfg,
		     u8 proto, __be16 iport,
		     int (*claim)(struct natk_net *nn, void *arg, __be16 port),
		     void *arg)
{
	u32 p, i, tries, size;
	bool pref;
	u16 lo, hi;
	int err;

	size = natk_port_range(cfg, proto, iport, &lo, &hi);
	tries = min_t(u32, size, NATK_PORT_ATTEMPTS);

	/*
	 * The preferred port, then @tries ports up from a random one, so that
	 * a range no larger than NATK_PORT_ATTEMPTS is searched completely.
	 */
	p = ntohs(iport);
	pref = p >= lo && p <= hi;
	if (!pref)
		p = lo + get_random_u32_below(size);
	for (i = 0; i < tries + pref; i++) {
		if (!natk_port_local_use(nn->net, proto, cfg->ext_addr,
					 htons(p))) {
			err = claim(nn, arg, htons(p));
			if (err != -EEXIST)
				return err;
		}
		/* After the preferred port, continue from a random one. */
		if (i == 0 && pref)
			p = lo + get_random_u32_below(size);
		else
			p = p == hi ? lo : p + 1;
	}
	return -EADDRINUSE;
}

/* Claim a port for a mapping: insert it into the by-port table. */
static int natk_map_claim(struct natk_net *nn, void *arg, __be16 port)
{
	struct natk_map *map = arg;

	map->ekey.eport = port;
	return rhashtable_lookup_insert_fast(&nn->metbl, &map->enode,
					     natk_meparams);
}

/*
 * Find or create the mapping for an internal endpoint and take a reference.
 * Caller holds rcu_read_lock(); softirq safe. Returns NULL with *why set.
 */
struct natk_map *natk_map_get(struct natk_net *nn, const struct natk_cfg *cfg,
			      u8 proto, __be32 iaddr, __be16 iport,
			      enum natk_stat *why)
{
	struct natk_mkey k = { .iaddr = iaddr, .iport = iport, .proto = proto };
	struct natk_map *map, *old;
	int attempt, err;

	for (attempt = 0; attempt < 3; attempt++) {
		map = rhashtable_lookup(&nn->mitbl, &k, natk_miparams);
		if (map && refcount_inc_not_zero(&map->ref))
			return map;
		if (map)
			continue;	/* being freed: look again */

		map = kzalloc(sizeof(*map), GFP_ATOMIC);
		if (!map) {
			*why = NATK_STAT_DROP_NO_MEMORY;
			return NULL;
		}
		map->ikey = k;
		map->ekey.proto = proto;
		refcount_set(&map->ref, 1);

		err = natk_port_search(nn, cfg, proto, iport, natk_map_claim,
				       map);
		if (err) {
			kfree(map);
			if (err == -EADDRINUSE) {
				natk_stat_inc(nn, NATK_STAT_PORT_ALLOCATION_ERRORS);
				*why = NATK_STAT_DROP_NO_PORT;
			} else {
				*why = NATK_STAT_DROP_NO_MEMORY;
			}
			return NULL;
		}
		old = rhashtable_lookup_get_insert_fast(&nn->mitbl, &map->inode,
							natk_miparams);
		if (!old)
			return map;
		/* Lost a race for this endpoint: give the port back. */
		rhashtable_remove_fast(&nn->metbl, &map->enode, natk_meparams);
		call_rcu(&map->rcu, natk_map_free_rcu);
		if (IS_ERR(old)) {
			*why = NATK_STAT_DROP_NO_MEMORY;
			return NULL;
		}
	}
	*why = NATK_STAT_DROP_NO_MEMORY;
	return NULL;
}

/* Drop a flow's reference; the last one unlinks and frees the mapping. */
void natk_map_put(struct natk_net *nn, struct natk_map *map)
{
	if (!refcount_dec_and_test(&map->ref))
		return;
	rhashtable_remove_fast(&nn->mitbl, &map->inode, natk_miparams);
	rhashtable_remove_fast(&nn->metbl, &map->enode, natk_meparams);
	call_rcu(&map->rcu, natk_map_free_rcu);
}

/*
 * Insert a static mapping (a port forward) with its external port set.
 * -EEXIST if the external port or the internal endpoint is already mapped.
 * Process context.
 */
int natk_map_insert_static(struct natk_net *nn, struct natk_map *map)
{
	int err;

	err = rhashtable_lookup_insert_fast(&nn->metbl, &map->enode,
					    natk_meparams);
	if (err)
		return err;
	err = rhashtable_lookup_insert_fast(&nn->mitbl, &map->inode,
					    natk_miparams);
	if (err)
		rhashtable_remove_fast(&nn->metbl, &map->enode, natk_meparams);
	return err;
}
