// SPDX-License-Identifier: GPL-2.0
/*
 * natk_flow: the flow table. Insert, lookup in both directions, delete,
 * expiry by natk_gc_scan (also in small budgets and across table resizes),
 * GC while another thread looks flows up, chains that stay short when
 * the tuples are chosen to collide, and the bulk free at netns exit.
 */
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/jhash.h>
#include "natk_test.h"

static struct natk_flow *natk_lookup_out(struct natk_net *nn,
					 const struct natk_okey *k)
{
	struct natk_flow *f;

	rcu_read_lock();
	f = natk_flow_lookup_out(nn, k);
	rcu_read_unlock();
	return f;	/* only compared, never dereferenced after a kill */
}

static struct natk_flow *natk_lookup_in(struct natk_net *nn,
					const struct natk_rkey *k)
{
	struct natk_flow *f;

	rcu_read_lock();
	f = natk_flow_lookup_in(nn, k);
	rcu_read_unlock();
	return f;
}

static void natk_flow_insert_lookup(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					    NATK_T_REM, 53);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	struct natk_rkey rk = natk_flow_rkey(f);

	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_CONNECTION_ATTEMPTS),
			1ULL);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k), f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	/* The reply key is the remote endpoint and the external port. */
	KUNIT_EXPECT_EQ(test, rk.raddr, NATK_T_REM);
	KUNIT_EXPECT_EQ(test, rk.eaddr, NATK_T_EXT);
	KUNIT_EXPECT_EQ(test, rk.rport, htons(53));
	KUNIT_EXPECT_EQ(test, rk.proto, IPPROTO_UDP);
	/* Its endpoint's only flow: its own mapping, found by its port. */
	KUNIT_EXPECT_NULL(test, f->map);
	KUNIT_EXPECT_TRUE(test, natk_flow_self(f));
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP, f->eport),
			    (void *)f);
	rcu_read_unlock();
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f, NATK_FLOW_DEAD));
}

static void natk_flow_lookup_miss(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 40000,
					    NATK_T_REM, 80);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_SYN_OUT);
	struct natk_rkey rk = natk_flow_rkey(f), rk2;
	struct natk_okey k2;

	k2 = k;
	k2.proto = IPPROTO_UDP;
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k2));
	k2 = k;
	k2.rport = htons(81);
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k2));
	k2 = k;
	k2.iaddr = NATK_T_INT2;
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k2));
	/* The reverse tuple is not the original one. */
	k2 = natk_test_okey(IPPROTO_TCP, NATK_T_REM, 80, NATK_T_INT, 40000);
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k2));

	rk2 = rk;
	rk2.eport = htons(ntohs(rk.eport) ^ 1);
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk2));
	rk2 = rk;
	rk2.raddr = NATK_T_ROUTER;
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk2));
	rk2 = rk;
	rk2.proto = IPPROTO_UDP;
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk2));
}

/* A second create of the same tuple returns the existing flow. */
static void natk_flow_create_existing(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 5000,
					    NATK_T_REM, 53);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);

	KUNIT_EXPECT_PTR_EQ(test, natk_test_flow(test, nn, &k, NATK_TCP_NONE), f);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	/* The twin shared f's mapping (made then) and gave it back. */
	KUNIT_ASSERT_NOT_NULL(test, natk_flow_map(f));
	KUNIT_EXPECT_EQ(test, refcount_read(&natk_flow_map(f)->ref), 1);
}

/* Flows of one internal endpoint to two remotes share the mapping. */
static void natk_flow_shared_mapping(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k1 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 5000,
					     NATK_T_REM, 53);
	struct natk_okey k2 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 5000,
					     NATK_T_ROUTER, 53);
	struct natk_flow *f1 = natk_test_flow(test, nn, &k1, NATK_TCP_NONE);
	struct natk_flow *f2 = natk_test_flow(test, nn, &k2, NATK_TCP_NONE);
	struct natk_map *map = f1->map;
	__be16 eport = map->ekey.eport;

	KUNIT_EXPECT_PTR_EQ(test, f2->map, map);
	KUNIT_EXPECT_EQ(test, refcount_read(&map->ref), 2);
	natk_flow_kill(nn, f1, NATK_REASON_NONE);
	KUNIT_EXPECT_EQ(test, refcount_read(&map->ref), 1);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP, eport), map);
	rcu_read_unlock();
	natk_flow_kill(nn, f2, NATK_REASON_NONE);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP, eport));
	rcu_read_unlock();
}

/*
 * An endpoint whose mapping is on another port than its own (its own port
 * was another host's then) and whose own port is free again: its next
 * flow shares that mapping, and the port it tried first (its own: a new
 * flow claims before it looks, when its own port is free) goes back.
 */
static void natk_flow_self_offport_found(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k2 = natk_test_okey(IPPROTO_UDP, NATK_T_INT2, 40000,
					     NATK_T_REM, 53);
	struct natk_okey k1 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					     NATK_T_REM, 53);
	struct natk_okey k3 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					     NATK_T_ROUTER, 53);
	struct natk_flow *f1, *f2, *f3;
	struct natk_map *m;

	f2 = natk_test_flow(test, nn, &k2, NATK_TCP_NONE);
	KUNIT_ASSERT_EQ(test, ntohs(f2->eport), 40000);
	f1 = natk_test_flow(test, nn, &k1, NATK_TCP_NONE);
	KUNIT_ASSERT_NE(test, ntohs(f1->eport), 40000);
	natk_flow_kill(nn, f2, NATK_REASON_NONE);
	rcu_read_lock();
	KUNIT_ASSERT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP,
						  htons(40000)));
	rcu_read_unlock();

	f3 = natk_test_flow(test, nn, &k3, NATK_TCP_NONE);
	m = natk_flow_map(f1);
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_PTR_EQ(test, natk_flow_map(f3), m);
	KUNIT_EXPECT_EQ(test, f3->eport, f1->eport);
	KUNIT_EXPECT_EQ(test, refcount_read(&m->ref), 2);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP,
						  htons(40000)));
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP,
						    f1->eport), (void *)m);
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 2);
}

/*
 * Address-dependent filtering (RFC 4787 REQ-8): an endpoint's mapping lets
 * a remote address in while any of the endpoint's flows to that address
 * lives, whatever their remote ports; the index counts them, so the first
 * one to go does not take the address with it, and the last one does.
 */
static bool natk_test_allows(struct natk_net *nn, struct natk_map *map,
			     __be32 raddr)
{
	bool ok;

	rcu_read_lock();
	ok = natk_filter_allows(nn, natk_test_cfg(nn), &map->ikey,
				map->flags & NATK_MAP_STATIC, raddr);
	rcu_read_unlock();
	return ok;
}

static void natk_flow_filter_index(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 5000,
					    NATK_T_REM, 53);
	struct natk_flow *f1, *f2, *f3;
	struct natk_map *map;

	natk_test_cfg(nn)->filtering = NATK_FILTERING_ADDRESS_DEPENDENT;
	f1 = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	k.rport = htons(54);
	f2 = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	map = f1->map;
	KUNIT_ASSERT_PTR_EQ(test, f2->map, map);
	refcount_inc(&map->ref);	/* the test's, to ask about it after */
	KUNIT_EXPECT_TRUE(test, natk_test_allows(nn, map, NATK_T_REM));
	KUNIT_EXPECT_FALSE(test, natk_test_allows(nn, map, NATK_T_ROUTER));

	natk_flow_kill(nn, f1, NATK_REASON_NONE);
	KUNIT_EXPECT_TRUE_MSG(test, natk_test_allows(nn, map, NATK_T_REM),
			      "the remote's other flow still lives");
	natk_flow_kill(nn, f2, NATK_REASON_NONE);
	KUNIT_EXPECT_FALSE_MSG(test, natk_test_allows(nn, map, NATK_T_REM),
			       "no flow to the remote is left");

	/* A new flow to it lets it in again. */
	f3 = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_PTR_EQ(test, f3->map, map);
	KUNIT_EXPECT_TRUE(test, natk_test_allows(nn, map, NATK_T_REM));
	natk_flow_kill(nn, f3, NATK_REASON_NONE);
	KUNIT_EXPECT_FALSE(test, natk_test_allows(nn, map, NATK_T_REM));
	natk_map_put(nn, map);
}

static void natk_flow_delete(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 40000,
					    NATK_T_REM, 443);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_SYN_OUT);
	struct natk_rkey rk = natk_flow_rkey(f);

	natk_flow_kill(nn, f, NATK_REASON_FLUSH);
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k));
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_TCP, rk.eport));
	rcu_read_unlock();
	/* Only an expiry counts as an idle timeout. */
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 0ULL);

	/* The same tuple can be created again. */
	f = natk_test_flow(test, nn, &k, NATK_TCP_SYN_OUT);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k), f);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
}

/* A flow's id is the same every time it is asked, and not its twin's. */
static void natk_flow_id_stable(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k1 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 4000,
					     NATK_T_REM, 53);
	struct natk_okey k2 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 4001,
					     NATK_T_REM, 53);
	struct natk_flow *f1 = natk_test_flow(test, nn, &k1, NATK_TCP_NONE);
	struct natk_flow *f2 = natk_test_flow(test, nn, &k2, NATK_TCP_NONE);
	u32 id1 = natk_flow_id(f1);

	natk_flow_refresh(f1);
	KUNIT_EXPECT_EQ(test, natk_flow_id(f1), id1);
	KUNIT_EXPECT_NE(test, natk_flow_id(f2), id1);
}

/* Killing twice (GC and flush racing) unlinks and frees once. */
static void natk_flow_kill_twice(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 4000,
					    NATK_T_REM, 53);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);

	rcu_read_lock();
	natk_flow_kill(nn, f, NATK_REASON_EXPIRED);
	natk_flow_kill(nn, f, NATK_REASON_EXPIRED);
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 1ULL);
}

static void natk_flow_table_full(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_okey k;
	struct natk_flow *f;
	int i;

	natk_test_cfg(nn)->max_flows = 3;
	for (i = 0; i < 3; i++) {
		k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 6000 + i,
				   NATK_T_REM, 53);
		natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	}
	k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 7000, NATK_T_REM, 53);
	rcu_read_lock();
	f = natk_flow_create(nn, natk_test_cfg(nn), &k, 0, NULL, false,
			     &why);
	rcu_read_unlock();
	KUNIT_EXPECT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_TABLE_FULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 3);
	/* No mapping was left behind for the refused flow. */
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP, htons(7000)));
	rcu_read_unlock();
}

/* Last seen longer ago than its timeout: expired. */
static void natk_flow_expire(struct natk_net *nn, struct natk_flow *f)
{
	WRITE_ONCE(f->seen, jiffies - 1 -
		   natk_timeout_for(natk_test_cfg(nn), f->okey.proto, f->state));
}

static void natk_flow_gc_expiry(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k[4];
	struct natk_flow *f[4];
	int i;

	for (i = 0; i < 4; i++) {
		k[i] = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 10000 + i,
				      NATK_T_REM, 53);
		f[i] = natk_test_flow(test, nn, &k[i], NATK_TCP_NONE);
	}
	natk_flow_expire(nn, f[0]);
	natk_flow_expire(nn, f[2]);
	/* Expiring soon, not yet expired: kept. */
	WRITE_ONCE(f[3]->seen, jiffies + HZ -
		   natk_timeout_for(natk_test_cfg(nn), IPPROTO_UDP, 0));

	KUNIT_EXPECT_TRUE(test, natk_gc_scan(nn, 1000));
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k[0]));
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k[1]), f[1]);
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k[2]));
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k[3]), f[3]);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 2);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 2ULL);

	/* The next pass starts from the beginning again. */
	natk_flow_expire(nn, f[1]);
	KUNIT_EXPECT_TRUE(test, natk_gc_scan(nn, 1000));
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k[1]));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
}

/* Flows in a table big enough for chains of several flows per bucket. */
static void natk_flows_add(struct kunit *test, struct natk_net *nn, int n,
			   u32 base, bool expired)
{
	struct natk_okey k;
	struct natk_flow *f;
	int i;

	for (i = 0; i < n; i++) {
		k = natk_test_okey(IPPROTO_UDP, htonl(base + i), 20000,
				   NATK_T_REM, 53);
		f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
		if (expired)
			natk_flow_expire(nn, f);
	}
}

/* A small budget: the walk resumes where it stopped and terminates. */
static void natk_flow_gc_budget(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	int calls = 0, passes = 0;

	natk_flows_add(test, nn, 50, 0x0a020000, true);
	while (passes < 5 && atomic_read(&nn->nflows)) {
		while (!natk_gc_scan(nn, 7) && calls < 500)
			calls++;
		passes++;
	}
	KUNIT_EXPECT_LT(test, calls, 500);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 50ULL);
	kunit_info(test, "%d calls, %d passes\n", calls, passes);
}

/*
 * One complete GC pass (in budget-sized steps, as the worker does) frees
 * every flow that was expired when it started.
 */
static void natk_flow_gc_one_pass(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	int calls = 0, round, left = 0;

	for (round = 0; round < 5; round++) {
		natk_flows_add(test, nn, 600, 0x0a030000 + round * 0x1000, true);
		while (!natk_gc_scan(nn, 16) && calls < 10000)
			calls++;
		left += atomic_read(&nn->nflows);
		natk_flush(nn, NATK_REASON_FLUSH);
		rcu_barrier();
	}
	KUNIT_EXPECT_EQ_MSG(test, left, 0,
			    "expired flows survived a complete GC pass");
}

/*
 * An expired flow that the GC has not reached yet (in a large table it
 * rests for seconds) is gone for packets: the lookup that finds it, in
 * either direction, frees it as the GC would, so a late packet never
 * revives it. One that expires soon is found and kept.
 */
static void natk_flow_lazy_expiry(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k[3];
	struct natk_rkey rk;
	struct natk_flow *f[3];
	int i;

	for (i = 0; i < 3; i++) {
		k[i] = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 11000 + i,
				      NATK_T_REM, 53);
		f[i] = natk_test_flow(test, nn, &k[i], NATK_TCP_NONE);
	}
	rk = natk_flow_rkey(f[1]);
	natk_flow_expire(nn, f[0]);
	natk_flow_expire(nn, f[1]);
	WRITE_ONCE(f[2]->seen, jiffies + HZ -
		   natk_timeout_for(natk_test_cfg(nn), IPPROTO_UDP, 0));

	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k[0]));
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk));
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k[2]), f[2]);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 2ULL);
	/* Unlinked from both tables: the other direction misses too. */
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k[1]));
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 2ULL);
	/* A new packet on the tuple makes a new flow. */
	KUNIT_EXPECT_PTR_NE(test, natk_test_flow(test, nn, &k[0], NATK_TCP_NONE),
			    f[0]);
}

/*
 * The GC's rest after a pass scales with the table, within the timeouts:
 * twice a second for a small table, a pass per NATK_GC_RATE (32768) flows
 * a second for a large one, never longer than half the shortest timeout
 * or port hold, and twice a second while anyone listens to flow events.
 */
static void natk_flow_gc_pace(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);

	/* Defaults: ICMP's 60 s is the shortest timeout. */
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 0, false), HZ / 2);
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 10000, false), HZ / 2);
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 327680, false), 10 * HZ);
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 1000000, false), 30 * HZ);
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 1000000, true), HZ / 2);
	/* A short timeout, or a short port hold, caps it. */
	cfg->timeout[NATK_TO_UDP] = 4 * HZ;
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 1000000, false), 2 * HZ);
	cfg->timeout[NATK_TO_UDP] = 1;
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 1000000, false), HZ / 2);
	cfg->timeout[NATK_TO_UDP] = NATK_DEF_UDP * HZ;
	cfg->port_hold = 10 * HZ;
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 1000000, false), 5 * HZ);
	/* Long timeouts: at most a minute. */
	cfg->port_hold = 0;
	cfg->timeout[NATK_TO_ICMP] = 3600 * HZ;
	cfg->timeout[NATK_TO_TCP_TRANS] = 3600 * HZ;
	KUNIT_EXPECT_EQ(test, natk_gc_pause(cfg, 16 << 20, false), 60 * HZ);
}

/* The size of @ht's current table, and whether a resize is under way. */
static unsigned int natk_tbl_size(struct rhashtable *ht, bool *resizing)
{
	struct bucket_table *tbl;
	unsigned int size;

	rcu_read_lock();
	tbl = rcu_dereference(ht->tbl);
	size = tbl->size;
	*resizing = rcu_access_pointer(tbl->future_tbl);
	rcu_read_unlock();
	return size;
}

/*
 * A GC pass walks the flows and every bucket of the original table: a
 * table sized for many flows that holds few rests as long as its buckets
 * take to walk, not as a table of a few flows.
 */
static void natk_flow_gc_walks_buckets(struct kunit *test)
{
	unsigned int old = natk_flows_hint, size;
	struct natk_net *nn;
	struct natk_okey k;
	bool resizing;
	int i;

	natk_flows_hint = 65535;
	nn = natk_test_net(test);
	natk_flows_hint = old;
	for (i = 0; i < 10; i++) {
		k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000 + i,
				   NATK_T_REM, 53);
		natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	}
	size = natk_tbl_size(&nn->otbl, &resizing);
	KUNIT_EXPECT_EQ(test, size, 131072);
	KUNIT_EXPECT_EQ(test, natk_gc_walk_size(nn), 10 + size);
	/* 131,082 at 32,768 a second: four seconds, not half of one. */
	KUNIT_EXPECT_EQ(test, natk_gc_pause(natk_test_cfg(nn),
					    natk_gc_walk_size(nn), false),
			4 * HZ);
}

/*
 * flows_hint sizes a new netns's flow and mapping tables at once: 12000
 * flows (each with its own mapping) go in without a resize. Without it
 * the tables start at 64 buckets.
 */
static void natk_flow_tables_sized(struct kunit *test)
{
	unsigned int old = natk_flows_hint;
	struct natk_net *small, *nn;
	bool resizing;

	natk_flows_hint = 0;
	small = natk_test_net(test);
	natk_flows_hint = 12000;
	nn = natk_test_net(test);
	natk_flows_hint = old;

	KUNIT_EXPECT_EQ(test, natk_tbl_size(&small->otbl, &resizing), 64U);
	KUNIT_EXPECT_EQ(test, natk_tbl_size(&nn->otbl, &resizing), 16384U);
	KUNIT_EXPECT_EQ(test, natk_tbl_size(&nn->mitbl, &resizing), 16384U);
	natk_flows_add(test, nn, 12000, 0x0a100000, false);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 12000);
	KUNIT_EXPECT_EQ(test, natk_tbl_size(&nn->otbl, &resizing), 16384U);
	KUNIT_EXPECT_FALSE(test, resizing);
	KUNIT_EXPECT_EQ(test, natk_tbl_size(&nn->rtbl, &resizing), 16384U);
	KUNIT_EXPECT_FALSE(test, resizing);
	/*
	 * The mappings are in their owner slots: the forwards' table is
	 * empty, and so is the reply table (mutant owned-rtbl: not).
	 */
	KUNIT_EXPECT_EQ(test, natk_tbl_size(&nn->metbl, &resizing), 64U);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->metbl.nelems), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->rtbl.nelems), 0);
	/* Emptied, they keep their size (min_size). */
	natk_flush(nn, NATK_REASON_FLUSH);
	rcu_barrier();
	flush_work(&nn->otbl.run_work);
	KUNIT_EXPECT_EQ(test, natk_tbl_size(&nn->otbl, &resizing), 16384U);
}

/* natk_flush() leaves no flow behind (netns exit relies on it). */
static void natk_flow_flush_all(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	int round, i, left = 0;

	for (round = 0; round < 5; round++) {
		natk_flows_add(test, nn, 3000, 0x0a040000 + round * 0x1000,
			       false);
		natk_flush(nn, NATK_REASON_FLUSH);
		left += atomic_read(&nn->nflows);
		/* Clean up for the next round whatever flush missed. */
		for (i = 0; i < 10 && atomic_read(&nn->nflows); i++)
			natk_flush(nn, NATK_REASON_FLUSH);
		rcu_barrier();
	}
	KUNIT_EXPECT_EQ_MSG(test, left, 0, "natk_flush() missed %d flows", left);
}

/*
 * Netns exit frees the flows left in the tables in bulk, without killing
 * them one by one (natk_tables_destroy()): flows of both mapping rules,
 * in the filtering index, and the inbound flows of a forward deleted
 * first (as natk_net_exit() does), whose mapping is then in no endpoint
 * table and kept by its flows alone. Each flow drops what it held: every
 * dynamic mapping gets its last put (and, with a port hold, is held), and
 * the deleted forward's mapping keeps only the test's own reference.
 */
static void natk_flow_teardown_bulk(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_flow *f;
	struct natk_map *fmap;
	struct natk_okey k;
	int i, n = 0;

	cfg->port_hold = 120 * HZ;
	cfg->filtering = NATK_FILTERING_ADDRESS_DEPENDENT;
	/* 400 endpoints (mappings), 5 remotes each. */
	for (i = 0; i < 2000; i++, n++) {
		k = natk_test_okey(IPPROTO_UDP,
				   (i / 200) & 1 ? NATK_T_INT2 : NATK_T_INT,
				   20000 + i % 200,
				   htonl(ntohl(NATK_T_REM) + i / 400), 53);
		natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	}
	cfg->mapping = NATK_MAPPING_ADDRESS_PORT_DEPENDENT;
	for (i = 0; i < 500; i++, n++) {
		k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 30000 + i,
				   NATK_T_REM, 80);
		f = natk_test_flow(test, nn, &k, NATK_TCP_SYN_OUT);
		KUNIT_EXPECT_NULL(test, f->map);
	}
	mutex_lock(&nn->lock);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(6000),
					   NATK_T_INT2, htons(22), NULL), 0);
	mutex_unlock(&nn->lock);
	fmap = list_first_entry(&nn->fwds, struct natk_fwd, list)->map;
	for (i = 0; i < 100; i++, n++) {
		k = natk_test_okey(IPPROTO_TCP, NATK_T_INT2, 22,
				   htonl(ntohl(NATK_T_REM) + i), 40000);
		rcu_read_lock();
		f = natk_flow_create(nn, cfg, &k, NATK_TCP_SYN_IN, fmap,
				     false, &why);
		rcu_read_unlock();
		KUNIT_ASSERT_NOT_NULL_MSG(test, f, "why %d", why);
	}
	refcount_inc(&fmap->ref);	/* the test's, to look at it after */
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), n);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);

	natk_fwd_flush(nn);
	natk_tables_destroy(nn);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 400);
	KUNIT_EXPECT_EQ(test, refcount_read(&fmap->ref), 1);
	natk_map_free(fmap);
	/* natk_test_net()'s cleanup destroys tables: give it empty ones. */
	KUNIT_ASSERT_EQ(test, natk_tables_init(nn), 0);
}

/* Enough flows to make both tables grow; every flow is still found. */
#define NATK_MANY	3000

static void natk_flow_many_resize(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_flow **f;
	struct natk_okey k;
	struct natk_rkey rk;
	int i, bad = 0;

	f = kunit_kcalloc(test, NATK_MANY, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	for (i = 0; i < NATK_MANY; i++) {
		k = natk_test_okey(IPPROTO_UDP, htonl(0x0a010000 + i), 1234,
				   NATK_T_REM, 53);
		f[i] = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
		/* GC runs between inserts, across the resizes. */
		if (i % 500 == 0)
			natk_gc_scan(nn, 100);
	}
	for (i = 0; i < NATK_MANY; i++) {
		k = natk_test_okey(IPPROTO_UDP, htonl(0x0a010000 + i), 1234,
				   NATK_T_REM, 53);
		rk = natk_flow_rkey(f[i]);
		if (natk_lookup_out(nn, &k) != f[i] ||
		    natk_lookup_in(nn, &rk) != f[i])
			bad++;
	}
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), NATK_MANY);
	for (i = 0; i < NATK_MANY; i += 2)
		natk_flow_expire(nn, f[i]);
	/* A few passes (see natk_flow_gc_one_pass for why one may not do). */
	for (i = 0; i < 1000 && atomic_read(&nn->nflows) > NATK_MANY / 2; i++)
		natk_gc_scan(nn, 256);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), NATK_MANY / 2);
	natk_flush(nn, NATK_REASON_FLUSH);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
}

struct natk_reader {
	struct natk_net *nn;
	struct natk_okey keys[64];
	atomic_t lookups;
	atomic_t mismatches;
	struct completion done;
};

static int natk_reader_fn(void *data)
{
	struct natk_reader *r = data;
	struct natk_flow *f;
	struct natk_map *m;
	unsigned int i = 0;

	while (!kthread_should_stop()) {
		const struct natk_okey *k = &r->keys[i++ % ARRAY_SIZE(r->keys)];

		rcu_read_lock();
		f = natk_flow_lookup_out(r->nn, k);
		/* Read the flow as the packet path does: KASAN catches a
		 * flow freed under the lookup.
		 */
		m = f ? natk_flow_map(f) : NULL;
		if (f && (memcmp(&f->okey, k, sizeof(*k)) ||
			  f->eaddr != NATK_T_EXT ||
			  (m && READ_ONCE(m->ekey.proto) != k->proto)))
			atomic_inc(&r->mismatches);
		if (f)
			natk_flow_refresh(f);
		rcu_read_unlock();
		atomic_inc(&r->lookups);
		if ((i & 63) == 0)
			cond_resched();
	}
	complete(&r->done);
	return 0;
}

/* GC kills and frees flows while a kthread keeps looking them up. */
static void natk_flow_gc_concurrent_lookup(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_reader *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct task_struct *t;
	struct natk_flow *f;
	unsigned long end;
	int i, rounds = 0;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->nn = nn;
	init_completion(&r->done);
	for (i = 0; i < ARRAY_SIZE(r->keys); i++)
		r->keys[i] = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 30000 + i,
					    NATK_T_REM, 53);
	t = kthread_run(natk_reader_fn, r, "natk-kunit-reader");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));

	end = jiffies + HZ;
	while (time_before(jiffies, end) || rounds < 20) {
		for (i = 0; i < ARRAY_SIZE(r->keys); i++) {
			f = natk_test_flow(test, nn, &r->keys[i], NATK_TCP_NONE);
			if (i % 3)
				natk_flow_expire(nn, f);
		}
		/* Half of the time the expiry races with the refresh. */
		for (i = 0; i < 16 && !natk_gc_scan(nn, 8); i++)
			;
		if (rounds & 1)
			natk_flush(nn, NATK_REASON_FLUSH);
		rounds++;
		cond_resched();
	}
	kthread_stop(t);
	wait_for_completion(&r->done);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->mismatches), 0);
	KUNIT_EXPECT_GT(test, atomic_read(&r->lookups), 0);
	natk_flush(nn, NATK_REASON_FLUSH);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
	kunit_info(test, "%d rounds, %d lookups\n", rounds,
		   atomic_read(&r->lookups));
}

/* The seed of @ht's current bucket table. */
static u32 natk_seed(struct rhashtable *ht)
{
	u32 seed;

	rcu_read_lock();
	seed = rcu_dereference(ht->tbl)->hash_rnd;
	rcu_read_unlock();
	return seed;
}

/* Resizes and rehashes run in a worker: wait for all of them. */
static void natk_tables_settle(struct natk_net *nn)
{
	flush_work(&nn->otbl.run_work);
	flush_work(&nn->rtbl.run_work);
	flush_work(&nn->mitbl.run_work);
	flush_work(&nn->metbl.run_work);
	flush_work(&nn->atbl.ht.run_work);
	flush_work(&nn->htbl.run_work);
}

#define NATK_COLLIDE_N		64
#define NATK_COLLIDE_MASK	4095U

/*
 * NATK_COLLIDE_N UDP flow keys from one lan host whose hash, as rhashtable
 * computes it for natk's flow table (jhash2 over the key) with @seed, has
 * the same low 12 bits: one bucket in any table of up to 4096 buckets.
 */
static void natk_collide_keys(struct kunit *test, struct natk_okey *keys,
			      u32 seed)
{
	struct natk_okey k;
	int found = 0;
	u32 i;

	for (i = 0; found < NATK_COLLIDE_N && i < (1U << 24); i++) {
		k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 1024 + i % 64512,
				   NATK_T_REM, 1 + i / 64512);
		if (!(jhash2((u32 *)&k, sizeof(k) / sizeof(u32), seed) &
		      NATK_COLLIDE_MASK))
			keys[found++] = k;
	}
	KUNIT_ASSERT_EQ(test, found, NATK_COLLIDE_N);
}

/*
 * Tuples aimed at one bucket under a known seed (a fixed collision set)
 * spread out in natk's tables, whose seeds are random: the longest chain
 * natkctl status reports stays short. An attacker who does know the seed
 * cannot grow a chain past rhashtable's elasticity (16): the insert that
 * finds it that long rehashes the table with a new seed, every flow still
 * goes in and is found, and the chain is short again once the rehash ran.
 */
static void natk_flow_hash_collisions(struct kunit *test)
{
	struct natk_okey *keys;
	struct natk_net *nn;
	struct bucket_table *tbl;
	u32 seed;
	int i;

	keys = kunit_kcalloc(test, NATK_COLLIDE_N, sizeof(*keys), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, keys);
	natk_collide_keys(test, keys, 0);

	/* A fixed collision set against natk's random seed. */
	nn = natk_test_net(test);
	KUNIT_EXPECT_NE(test, natk_seed(&nn->otbl), 0U);
	for (i = 0; i < NATK_COLLIDE_N; i++)
		natk_test_flow(test, nn, &keys[i], NATK_TCP_NONE);
	natk_tables_settle(nn);
	KUNIT_EXPECT_LE(test, natk_hash_max_chain(nn), 8U);
	KUNIT_EXPECT_GE(test, natk_hash_max_chain(nn), 1U);
	kunit_info(test, "fixed collision set: longest chain %u\n",
		   natk_hash_max_chain(nn));

	/* The same set against a table whose seed it was made for. */
	nn = natk_test_net(test);
	tbl = rcu_dereference_protected(nn->otbl.tbl, true);
	KUNIT_ASSERT_EQ(test, atomic_read(&nn->otbl.nelems), 0);
	tbl->hash_rnd = 0;
	for (i = 0; i < NATK_COLLIDE_N; i++)
		natk_test_flow(test, nn, &keys[i], NATK_TCP_NONE);
	KUNIT_EXPECT_LE(test, natk_hash_max_chain(nn), RHT_ELASTICITY);
	natk_tables_settle(nn);
	seed = natk_seed(&nn->otbl);
	KUNIT_EXPECT_NE(test, seed, 0U);
	KUNIT_EXPECT_LE(test, natk_hash_max_chain(nn), 8U);
	rcu_read_lock();
	for (i = 0; i < NATK_COLLIDE_N; i++)
		KUNIT_EXPECT_NOT_NULL(test, natk_flow_lookup_out(nn, &keys[i]));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), NATK_COLLIDE_N);
}

/*
 * Interleaving: a flush runs inside the publication window of a new flow
 * (between the reply table and the original table). A flush reaches flows
 * through the original table only, so the flow is out of its reach and
 * comes out fully published: in both tables, alive, counted once. With
 * the old order (original table first) the flush killed the half-made
 * flow and its creator then linked the dead flow into the reply table.
 */
static void natk_flow_flush_race(struct natk_net *nn, enum natk_race_point p,
				 void *obj, void *arg)
{
	int *hits = arg;

	if (p != NATK_RACE_FLOW_PUBLISH)
		return;
	(*hits)++;
	natk_flush(nn, NATK_REASON_FLUSH);
}

static void natk_flow_flush_in_publish_window(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					    NATK_T_REM, 53);
	struct natk_flow *f;
	struct natk_rkey rk;
	int hits = 0;

	natk_test_set_race(test, natk_flow_flush_race, &hits);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_EQ(test, hits, 1);
	rk = natk_flow_rkey(f);
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f, NATK_FLOW_DEAD));
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k), f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	KUNIT_EXPECT_TRUE(test, natk_flow_self(f));
	/* And a flush afterwards takes it out of both tables. */
	natk_flush(nn, NATK_REASON_FLUSH);
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k));
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
}

/*
 * Interleaving: another CPU publishes the same tuple inside this flow's
 * window (the twin wins the original table). The loser unwinds alone,
 * leaves nothing behind in either table, and returns the winner.
 */
struct natk_twin {
	struct kunit *test;
	struct natk_flow *winner;
	bool busy;
};

static void natk_flow_twin_race(struct natk_net *nn, enum natk_race_point p,
				void *obj, void *arg)
{
	struct natk_twin *t = arg;
	struct natk_flow *f = obj;
	enum natk_stat why;
	struct natk_okey k;

	if (p != NATK_RACE_FLOW_PUBLISH || t->busy || t->winner)
		return;
	t->busy = true;
	/* Address-and-port-dependent: the twin claims its own port. */
	k = f->okey;
	t->winner = natk_flow_create(nn, natk_test_cfg(nn), &k, 0, NULL,
				     false, &why);
	t->busy = false;
}

static void natk_flow_twin_in_publish_window(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					    NATK_T_REM, 53);
	struct natk_twin t = { .test = test };
	struct natk_rkey rk;
	struct natk_flow *f;

	natk_test_cfg(nn)->mapping = NATK_MAPPING_ADDRESS_PORT_DEPENDENT;
	/* Host objects too: the loser's reference must go. */
	natk_test_cfg(nn)->max_flows_per_host = 100;
	natk_test_set_race(test, natk_flow_twin_race, &t);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_ASSERT_NOT_NULL(test, t.winner);
	KUNIT_EXPECT_PTR_EQ(test, f, t.winner);
	rk = natk_flow_rkey(f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k), f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	/* The loser had claimed 40000 (preserved): it is free again. */
	KUNIT_EXPECT_NE(test, ntohs(f->eport), 40000);
	rk.eport = htons(40000);
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->htbl.nelems), 1);
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f, NATK_FLOW_HOST));
	/* The loser was in the reply table: it waits as an orphan. */
	KUNIT_EXPECT_FALSE(test, llist_empty(&nn->orphans));
	natk_orphans_free(nn);
	KUNIT_EXPECT_TRUE(test, llist_empty(&nn->orphans));
}

/*
 * A flow of an endpoint-independent mapping is in no reply table: a packet
 * from outside finds its mapping by the external port, and the mapping's
 * internal endpoint with the packet's source is the flow's original key.
 * That flow must be the mapping's own: an address-and-port-dependent flow
 * of the same endpoint and remote, made before the rule changed, has
 * another port and answers only on it (mutant rkey-derived-unchecked).
 */
static void natk_flow_reply_by_mapping(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey kj = natk_test_okey(IPPROTO_UDP, NATK_T_INT2, 40000,
					     NATK_T_REM, 53);
	struct natk_okey ki = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					     NATK_T_REM, 53);
	struct natk_okey ki2 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					      NATK_T_ROUTER, 53);
	struct natk_flow *g, *h, *f;
	struct natk_rkey rk;

	/* Endpoint J has port 40000 on an owned mapping: no reply entry. */
	g = natk_test_flow(test, nn, &kj, NATK_TCP_NONE);
	KUNIT_EXPECT_EQ(test, ntohs(g->eport), 40000);
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(g, NATK_FLOW_RTBL));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->rtbl.nelems), 0);
	rk = natk_flow_rkey(g);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), g);
	rk.rport = htons(54);		/* another remote port: no flow */
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk));

	/* I, per destination: 40000 is J's, so another port. */
	natk_test_cfg(nn)->mapping = NATK_MAPPING_ADDRESS_PORT_DEPENDENT;
	h = natk_test_flow(test, nn, &ki, NATK_TCP_NONE);
	KUNIT_EXPECT_NE(test, ntohs(h->eport), 40000);
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(h, NATK_FLOW_RTBL));

	/* J's flow ends (no hold here): I's new mapping gets 40000. */
	natk_flow_kill(nn, g, NATK_REASON_NONE);
	natk_test_cfg(nn)->mapping = NATK_MAPPING_ENDPOINT_INDEPENDENT;
	f = natk_test_flow(test, nn, &ki2, NATK_TCP_NONE);
	KUNIT_EXPECT_EQ(test, ntohs(f->eport), 40000);

	/* I's flow to the remote is h, on its own port only. */
	rk = natk_flow_rkey(h);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), h);
	rk.eport = htons(40000);
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk));
	rk = natk_flow_rkey(f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->rtbl.nelems), 1);
}

/*
 * An address slot without an owner array (no memory for one when the
 * address came): its mappings claim their ports in metbl and their flows
 * are found by the reply table; once a later configuration made the
 * array, new mappings use it, and the old one's port stays its own.
 */
static void natk_flow_no_owner_array(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_addr_use *u = natk_addr_use(nn, NATK_T_EXT);
	struct natk_okey kf = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					     NATK_T_REM, 53);
	struct natk_okey kg = natk_test_okey(IPPROTO_UDP, NATK_T_INT2, 40000,
					     NATK_T_REM, 53);
	struct natk_owners __rcu **owners;
	struct natk_flow *f, *g;
	struct natk_rkey rk;

	KUNIT_ASSERT_NOT_NULL(test, u);
	owners = u->owners;
	KUNIT_ASSERT_NOT_NULL(test, owners);
	u->owners = NULL;
	f = natk_test_flow(test, nn, &kf, NATK_TCP_NONE);
	u->owners = owners;
	KUNIT_EXPECT_EQ(test, ntohs(f->eport), 40000);
	KUNIT_EXPECT_FALSE(test, f->map->flags & NATK_MAP_OWNED);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->metbl.nelems), 1);
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f, NATK_FLOW_RTBL));

	g = natk_test_flow(test, nn, &kg, NATK_TCP_NONE);
	KUNIT_EXPECT_NE(test, ntohs(g->eport), 40000);
	KUNIT_EXPECT_TRUE(test, natk_flow_self(g));
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(g, NATK_FLOW_RTBL));
	rk = natk_flow_rkey(f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	rk = natk_flow_rkey(g);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), g);

	natk_flow_kill(nn, f, NATK_REASON_NONE);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->metbl.nelems), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->rtbl.nelems), 0);
}

static void natk_grave_test_fail_clear(void *unused)
{
	WRITE_ONCE(natk_grave_test_fail, false);
}

/*
 * A kill takes a slot in a grave first (grave.c): with no memory for one
 * it is refused and the flow lives on, whole, in both tables; an expired
 * one still serves its packets. The next kill that finds memory ends it.
 */
static void natk_flow_kill_no_memory(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 12000,
					    NATK_T_REM, 53);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	struct natk_rkey rk = natk_flow_rkey(f);

	/* No open grave and no spare: the next kill must allocate. */
	natk_graves_destroy(nn);
	WRITE_ONCE(natk_grave_test_fail, true);
	KUNIT_ASSERT_EQ(test,
			kunit_add_action_or_reset(test,
						  natk_grave_test_fail_clear,
						  NULL), 0);
	natk_flow_expire(nn, f);
	KUNIT_EXPECT_FALSE(test, natk_flow_kill(nn, f, NATK_REASON_DELETED));
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f, NATK_FLOW_DEAD));
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_out(nn, &k), f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 0ULL);

	WRITE_ONCE(natk_grave_test_fail, false);
	KUNIT_EXPECT_NULL(test, natk_lookup_out(nn, &k));
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_IDLE_TIMEOUTS), 1ULL);
}

/*
 * Killed flows are freed in batches, a grave at a time, after a grace
 * period: a flush of more flows than a grave holds frees every one (the
 * flows' cache is back to what it held before), the last partly filled
 * grave included (closed at the end of the sweep).
 */
static void natk_flow_graves_free(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	int n = 2 * PAGE_SIZE / sizeof(void *) + 7;
	int made, freed;

	natk_flows_add(test, nn, n, 0x0a050000, false);
	made = atomic_read(&nn->nflows);
	KUNIT_EXPECT_EQ(test, made, n);
	rcu_barrier();		/* earlier tests' graves */
	freed = atomic_read(&natk_grave_test_freed);
	natk_flush(nn, NATK_REASON_FLUSH);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 0);
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, atomic_read(&natk_grave_test_freed) - freed,
			made);
}

static struct natk_flow *natk_flow_make_known(struct kunit *test,
					      struct natk_net *nn,
					      const struct natk_okey *k,
					      bool known, enum natk_stat *why)
{
	struct natk_flow *f;

	rcu_read_lock();
	f = natk_flow_create(nn, natk_test_cfg(nn), k, NATK_TCP_NONE, NULL,
			     known, why);
	rcu_read_unlock();
	return f;
}

/*
 * With one address, no per-host limit and no port blocks a flow makes no
 * host object; one that came in by the external interface (@known: a
 * one-armed NAT's) does, and makes its host known, until it ends.
 */
static void natk_flow_host_only_if_needed(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_okey k1, k2;
	struct natk_flow *f1, *f2;

	k1 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 6000, NATK_T_REM, 53);
	k2 = natk_test_okey(IPPROTO_UDP, NATK_T_INT2, 6000, NATK_T_REM, 53);
	f1 = natk_flow_make_known(test, nn, &k1, false, &why);
	KUNIT_ASSERT_NOT_NULL(test, f1);
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f1, NATK_FLOW_HOST));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->htbl.nelems), 0);
	KUNIT_EXPECT_EQ(test, f1->eaddr, NATK_T_EXT);
	rcu_read_lock();
	KUNIT_EXPECT_FALSE(test, natk_host_known(nn, NATK_T_INT));
	rcu_read_unlock();

	f2 = natk_flow_make_known(test, nn, &k2, true, &why);
	KUNIT_ASSERT_NOT_NULL(test, f2);
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f2, NATK_FLOW_HOST));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->htbl.nelems), 1);
	rcu_read_lock();
	KUNIT_EXPECT_TRUE(test, natk_host_known(nn, NATK_T_INT2));
	rcu_read_unlock();

	natk_flow_kill(nn, f1, NATK_REASON_NONE);
	natk_flow_kill(nn, f2, NATK_REASON_NONE);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->htbl.nelems), 0);
	rcu_read_lock();
	KUNIT_EXPECT_FALSE(test, natk_host_known(nn, NATK_T_INT2));
	rcu_read_unlock();
}

/*
 * A per-host limit set while flows live without host objects counts them:
 * natk_hosts_attach() gives each its host's, and the host at its limit
 * gets no new flow. Killing them drops the references again.
 */
static void natk_flow_hosts_attached(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_flow *f[3];
	struct natk_okey k;
	int i;

	for (i = 0; i < 3; i++) {
		k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 6000 + i,
				   NATK_T_REM, 53);
		f[i] = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->htbl.nelems), 0);
	/* A flow ending meanwhile is left alone. */
	natk_flow_kill(nn, f[2], NATK_REASON_NONE);

	natk_test_cfg(nn)->max_flows_per_host = 2;
	mutex_lock(&nn->lock);
	WRITE_ONCE(nn->hosts_attach, true);
	KUNIT_EXPECT_EQ(test, natk_hosts_attach(nn), 0);
	/* A second call finds nothing to do. */
	KUNIT_EXPECT_EQ(test, natk_hosts_attach(nn), 0);
	mutex_unlock(&nn->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->htbl.nelems), 1);
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_TRUE(test, natk_flow_flag(f[i], NATK_FLOW_HOST));
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f[2], NATK_FLOW_HOST));

	k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 7000, NATK_T_REM, 53);
	KUNIT_EXPECT_NULL(test, natk_flow_make_known(test, nn, &k, false, &why));
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_HOST_LIMIT);

	natk_flow_kill(nn, f[0], NATK_REASON_NONE);
	natk_flow_kill(nn, f[1], NATK_REASON_NONE);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->htbl.nelems), 0);
}

/*
 * Spoofed SYNs answered by a SYN-ACK (seen both ways, never established)
 * must not hold the table: under pressure the GC evicts them, and the
 * closing and reset flows, but never an established one.
 */
static void natk_flow_half_open_evicted(struct kunit *test)
{
	static const u8 states[] = {
		NATK_TCP_SYNACK_OUT, NATK_TCP_SYNACK_IN, NATK_TCP_FIN_BOTH,
		NATK_TCP_RST, NATK_TCP_ESTABLISHED, NATK_TCP_ESTABLISHED,
	};
	struct natk_net *nn = natk_test_net(test);
	struct natk_flow *f[ARRAY_SIZE(states)];
	struct natk_okey k;
	int i;

	natk_test_cfg(nn)->max_flows = ARRAY_SIZE(states);
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 6000 + i,
				   NATK_T_REM, 80);
		f[i] = natk_test_flow(test, nn, &k, states[i]);
		natk_flow_flag_set(f[i], NATK_FLOW_SEEN_OUT);
		natk_flow_flag_set(f[i], NATK_FLOW_SEEN_IN);
	}
	set_bit(NATK_NET_EVICT, &nn->flags);
	/* Evicts down to max_flows - max(1, max_flows / 16): one flow. */
	natk_gc_scan(nn, 1000);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_FLOWS_EVICTED), 1ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows),
			(int)ARRAY_SIZE(states) - 1);
	for (i = 0; i < ARRAY_SIZE(states); i++)
		if (states[i] == NATK_TCP_ESTABLISHED)
			KUNIT_EXPECT_FALSE(test,
					   natk_flow_flag(f[i], NATK_FLOW_DEAD));
	/* Again and again: only the non-established ones ever go. */
	for (i = 0; i < 4; i++) {
		set_bit(NATK_NET_EVICT, &nn->flags);
		natk_test_cfg(nn)->max_flows = atomic_read(&nn->nflows);
		natk_gc_scan(nn, 1000);
	}
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_FLOWS_EVICTED), 4ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 2);
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f[4], NATK_FLOW_DEAD));
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f[5], NATK_FLOW_DEAD));
}

/* One-armed NAT: a translated reply is recognised by its flow. */
static void natk_flow_reply_recognised(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 40000,
					    NATK_T_REM, 80);
	struct natk_okey reply = natk_test_okey(IPPROTO_TCP, NATK_T_REM, 80,
						NATK_T_INT, 40000);
	struct natk_okey other = natk_test_okey(IPPROTO_TCP, NATK_T_REM, 81,
						NATK_T_INT, 40000);

	natk_test_flow(test, nn, &k, NATK_TCP_SYN_OUT);
	rcu_read_lock();
	KUNIT_EXPECT_TRUE(test, natk_flow_is_reply(nn, &reply));
	KUNIT_EXPECT_FALSE(test, natk_flow_is_reply(nn, &other));
	KUNIT_EXPECT_FALSE(test, natk_flow_is_reply(nn, &k));
	rcu_read_unlock();
}

/*
 * A table full of flows that may not be evicted: the first table-full drop
 * starts an eviction pass, which finds nothing; the drops that follow do
 * not start another one at once (each used to restart a full scan).
 */
static void natk_flow_evict_fruitless_throttled(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_flow *f;
	struct natk_okey k;
	int i;

	WRITE_ONCE(nn->hooked, true);
	natk_test_cfg(nn)->max_flows = 4;
	for (i = 0; i < 4; i++) {
		k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 6000 + i,
				   NATK_T_REM, 80);
		f = natk_test_flow(test, nn, &k, NATK_TCP_ESTABLISHED);
		natk_flow_flag_set(f, NATK_FLOW_SEEN_OUT);
		natk_flow_flag_set(f, NATK_FLOW_SEEN_IN);
	}
	k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 7000, NATK_T_REM, 80);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_flow_create(nn, natk_test_cfg(nn), &k,
						 NATK_TCP_SYN_OUT, NULL, false,
						 &why));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_TABLE_FULL);
	KUNIT_EXPECT_TRUE(test, test_bit(NATK_NET_EVICT, &nn->flags));
	/* The pass: nothing evictable, the bit is cleared. */
	KUNIT_EXPECT_TRUE(test, natk_gc_scan(nn, 1000));
	KUNIT_EXPECT_FALSE(test, test_bit(NATK_NET_EVICT, &nn->flags));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 4);
	rcu_read_lock();
	for (i = 0; i < 10; i++)
		KUNIT_EXPECT_NULL(test, natk_flow_create(nn, natk_test_cfg(nn),
							 &k, NATK_TCP_SYN_OUT,
							 NULL, false, &why));
	rcu_read_unlock();
	KUNIT_EXPECT_FALSE(test, test_bit(NATK_NET_EVICT, &nn->flags));
	/* A second later a drop may ask again. */
	nn->evict_fruitless = jiffies - HZ - 1;
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_flow_create(nn, natk_test_cfg(nn), &k,
						 NATK_TCP_SYN_OUT, NULL, false,
						 &why));
	rcu_read_unlock();
	KUNIT_EXPECT_TRUE(test, test_bit(NATK_NET_EVICT, &nn->flags));
	WRITE_ONCE(nn->hooked, false);
}

/*
 * A flow dump whose walk is rewound by a resize inside its first call must
 * be flagged NLM_F_DUMP_INTR: netlink compares seq with prev_seq only once
 * prev_seq is set, and natk once left it 0 for the first call, so natkctl
 * printed every flow seen before the resize twice. Here the table grows
 * past 100% inside the walk (the insert path attaches a new table at once)
 * and the whole dump fits in one call.
 */
struct natk_dump_grow {
	struct kunit *test;
	int hits;
};

static void natk_flow_dump_grow_race(struct natk_net *nn,
				     enum natk_race_point p, void *obj,
				     void *arg)
{
	struct natk_dump_grow *g = arg;
	struct natk_okey k;
	int i;

	if (p != NATK_RACE_DUMP || g->hits++)
		return;
	/* 100 flows in a table of 64 buckets: past 100%, a new table. */
	for (i = 0; i < 60; i++) {
		k = natk_test_okey(IPPROTO_UDP, NATK_T_INT2, 41000 + i,
				   NATK_T_REM, 53);
		natk_test_flow(g->test, nn, &k, NATK_TCP_NONE);
	}
}

static void natk_flow_dump_rewind_first_call(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct {
		struct nlmsghdr nlh;
		struct genlmsghdr genl;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = natk_genl_family.id,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.genl = { .cmd = NATK_CMD_GET_FLOWS, .version = 1 },
	};
	struct netlink_callback cb = { .nlh = &req.nlh };
	struct natk_dump_grow g = { .test = test };
	bool intr = false, done = false;
	struct natk_okey k;
	struct sk_buff *skb;
	struct nlmsghdr *nlh;
	int i, rem, ret, calls = 0;

	for (i = 0; i < 40; i++) {
		k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000 + i,
				   NATK_T_REM, 53);
		natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	}
	cb.skb = alloc_skb(0, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cb.skb);
	KUNIT_ASSERT_EQ(test, natk_flows_dump_start(nn, &cb), 0);
	natk_test_set_race(test, natk_flow_dump_grow_race, &g);
	while (!done && calls++ < 20) {
		skb = alloc_skb(1 << 17, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, skb);
		ret = natk_flows_dump_fill(nn, skb, &cb);
		KUNIT_EXPECT_GE(test, ret, 0);
		done = ret <= 0;
		nlmsg_for_each_msg(nlh, (struct nlmsghdr *)skb->data, skb->len,
				   rem)
			intr |= !!(nlh->nlmsg_flags & NLM_F_DUMP_INTR);
		kfree_skb(skb);
	}
	/* What netlink_dump_done() would flag on NLMSG_DONE. */
	intr |= cb.prev_seq && cb.seq != cb.prev_seq;
	natk_flows_done(&cb);
	kfree_skb(cb.skb);
	KUNIT_EXPECT_TRUE(test, done);
	KUNIT_EXPECT_EQ(test, g.hits > 0, true);
	KUNIT_EXPECT_TRUE_MSG(test, intr,
			      "a dump rewound inside its first call was not flagged NLM_F_DUMP_INTR");
}

/*
 * An endpoint's only flow is its own mapping (ports.c): no struct
 * natk_map; the owner slot names the flow and mitbl holds it; its replies
 * are found by its port, another remote's packet finds no flow. When it
 * dies (no port hold) its port is free at once, uncounted, anyone's; a
 * dead flow is never shared.
 */
static void natk_flow_self_mapping(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_addr_use *u = natk_addr_use(nn, NATK_T_EXT);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					    NATK_T_REM, 53);
	const struct natk_mkey mk = { .iaddr = NATK_T_INT,
				      .iport = htons(40000),
				      .proto = IPPROTO_UDP };
	struct natk_flow *f, *g;
	struct natk_rkey rk, rk2;
	struct natk_map *m;

	KUNIT_ASSERT_NOT_NULL(test, u);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	rk = natk_flow_rkey(f);
	KUNIT_ASSERT_TRUE(test, natk_flow_self(f));
	KUNIT_EXPECT_EQ(test, ntohs(f->eport), 40000);
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f, NATK_FLOW_RTBL));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->rtbl.nelems), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&u->ports[1]), 1);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, rhashtable_lookup(&nn->mitbl, &mk,
						    natk_miparams), (void *)f);
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP, f->eport),
			    (void *)f);
	rcu_read_unlock();
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	rk2 = rk;
	rk2.raddr = NATK_T_ROUTER;
	KUNIT_EXPECT_NULL(test, natk_lookup_in(nn, &rk2));

	rcu_read_lock();
	natk_flow_kill(nn, f, NATK_REASON_NONE);
	/* Mutant self-share-unchecked: a mapping for a dead flow. */
	m = natk_map_share(nn, f);
	KUNIT_EXPECT_NULL(test, m);
	rcu_read_unlock();
	if (!IS_ERR_OR_NULL(m))
		natk_map_put(nn, m);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&u->ports[1]), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP,
						  htons(40000)));
	rcu_read_unlock();
	/* Its port is anyone's again. */
	k.iaddr = NATK_T_INT2;
	g = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_EQ(test, ntohs(g->eport), 40000);
	KUNIT_EXPECT_TRUE(test, natk_flow_self(g));
}

/*
 * A second flow of the endpoint shares the first one's mapping: a struct
 * natk_map with the same port takes the first flow's place in mitbl and
 * in the owner slot, and both flows point at it; each one's replies are
 * found by the port. Sharing again gives that mapping.
 */
static void natk_flow_self_shared(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_addr_use *u = natk_addr_use(nn, NATK_T_EXT);
	struct natk_okey k1 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 5000,
					     NATK_T_REM, 53);
	struct natk_okey k2 = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 5000,
					     NATK_T_ROUTER, 53);
	const struct natk_mkey mk = { .iaddr = NATK_T_INT,
				      .iport = htons(5000),
				      .proto = IPPROTO_UDP };
	struct natk_flow *f1, *f2;
	struct natk_map *map, *m;
	struct natk_rkey rk;
	__be16 eport;

	f1 = natk_test_flow(test, nn, &k1, NATK_TCP_NONE);
	KUNIT_ASSERT_TRUE(test, natk_flow_self(f1));
	eport = f1->eport;
	f2 = natk_test_flow(test, nn, &k2, NATK_TCP_NONE);
	map = f1->map;
	KUNIT_ASSERT_NOT_NULL(test, map);
	KUNIT_ASSERT_PTR_NE(test, map, NATK_SELF_DEAD);
	KUNIT_EXPECT_PTR_EQ(test, f2->map, map);
	KUNIT_EXPECT_FALSE(test, natk_flow_self(f1));
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f2, NATK_FLOW_SELF));
	KUNIT_EXPECT_EQ(test, map->ekey.eport, eport);
	KUNIT_EXPECT_EQ(test, f2->eport, eport);
	KUNIT_EXPECT_TRUE(test, map->flags & NATK_MAP_OWNED);
	KUNIT_EXPECT_EQ(test, refcount_read(&map->ref), 2);
	KUNIT_EXPECT_TRUE(test, natk_map_live(map));
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&u->ports[1]), 1);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, rhashtable_lookup(&nn->mitbl, &mk,
						    natk_miparams), map);
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP, eport),
			    (void *)map);
	m = natk_map_share(nn, f1);
	rcu_read_unlock();
	KUNIT_EXPECT_PTR_EQ(test, m, map);
	if (m == map)
		natk_map_put(nn, m);
	rk = natk_flow_rkey(f1);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f1);
	rk = natk_flow_rkey(f2);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f2);

	natk_flow_kill(nn, f1, NATK_REASON_NONE);
	KUNIT_EXPECT_EQ(test, refcount_read(&map->ref), 1);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f2);
	natk_flow_kill(nn, f2, NATK_REASON_NONE);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&u->ports[1]), 0);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP, eport));
	rcu_read_unlock();
}

/*
 * With a port hold, a flow that was its own mapping leaves a held mapping
 * behind when it dies: the port is nobody else's; the same endpoint gets
 * it back.
 */
static void natk_flow_self_hold(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_addr_use *u = natk_addr_use(nn, NATK_T_EXT);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					    NATK_T_REM, 53);
	struct natk_flow *f, *g, *h;
	struct natk_map *m;

	natk_test_cfg(nn)->port_hold = 60 * HZ;
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_ASSERT_TRUE(test, natk_flow_self(f));
	natk_flow_kill(nn, f, NATK_REASON_NONE);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&u->ports[1]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 1);
	rcu_read_lock();
	m = natk_test_map_ext(nn, IPPROTO_UDP, htons(40000));
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_PTR_NE(test, (void *)m, (void *)f);
	KUNIT_EXPECT_EQ(test, atomic_read(&m->hold), NATK_MAP_HELD);
	rcu_read_unlock();

	k.iaddr = NATK_T_INT2;
	g = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_NE(test, ntohs(g->eport), 40000);
	k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000, NATK_T_ROUTER, 53);
	h = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_EQ(test, ntohs(h->eport), 40000);
	KUNIT_EXPECT_PTR_EQ(test, h->map, m);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	natk_flush(nn, NATK_REASON_FLUSH);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 0);
}

/*
 * Inside the window where a new flow has its port's owner slot but is not
 * in mitbl yet, a packet to that port finds it not live and cannot share
 * it; another flow of the same endpoint is made and published first. The
 * first one loses: its port goes back, it shares the winner's mapping,
 * and both work.
 */
struct natk_self_race {
	struct natk_flow *seen, *winner;
	__be16 seen_port;
	bool live, shared, busy;
};

static void natk_self_publish_race(struct natk_net *nn, enum natk_race_point p,
				   void *obj, void *arg)
{
	struct natk_self_race *r = arg;
	struct natk_flow *flow = obj, *self;
	struct natk_okey k;
	enum natk_stat why;
	struct natk_map *m;

	if (p != NATK_RACE_SELF_PUBLISH || r->busy || r->seen)
		return;
	r->seen = flow;
	r->seen_port = flow->eport;
	m = natk_map_lookup_ext(nn, natk_test_cfg(nn), IPPROTO_UDP,
				NATK_T_EXT, flow->eport, &self);
	r->live = natk_port_live(m, self) || self != flow;
	m = natk_map_share(nn, flow);
	r->shared = m;
	if (!IS_ERR_OR_NULL(m))
		natk_map_put(nn, m);
	r->busy = true;
	k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000, NATK_T_ROUTER, 53);
	r->winner = natk_flow_create(nn, natk_test_cfg(nn), &k, NATK_TCP_NONE,
				     NULL, false, &why);
	r->busy = false;
}

static void natk_flow_self_publish_window(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 40000,
					    NATK_T_REM, 53);
	struct natk_self_race r = {};
	struct natk_flow *f;
	struct natk_rkey rk;
	struct natk_map *m;

	natk_test_set_race(test, natk_self_publish_race, &r);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_ASSERT_PTR_EQ(test, r.seen, f);
	KUNIT_EXPECT_EQ(test, ntohs(r.seen_port), 40000);
	KUNIT_EXPECT_FALSE(test, r.live);
	KUNIT_EXPECT_FALSE(test, r.shared);
	KUNIT_ASSERT_NOT_NULL(test, r.winner);
	m = natk_flow_map(f);
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_PTR_EQ(test, natk_flow_map(r.winner), m);
	KUNIT_EXPECT_EQ(test, refcount_read(&m->ref), 2);
	KUNIT_EXPECT_EQ(test, f->eport, m->ekey.eport);
	KUNIT_EXPECT_NE(test, ntohs(m->ekey.eport), 40000);
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f, NATK_FLOW_CLAIMED));
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP,
						  htons(40000)));
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP,
						    m->ekey.eport), (void *)m);
	rcu_read_unlock();
	rk = natk_flow_rkey(f);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), f);
	rk = natk_flow_rkey(r.winner);
	KUNIT_EXPECT_PTR_EQ(test, natk_lookup_in(nn, &rk), r.winner);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 2);
}

static struct kunit_case natk_flow_cases[] = {
	KUNIT_CASE(natk_flow_insert_lookup),
	KUNIT_CASE(natk_flow_lookup_miss),
	KUNIT_CASE(natk_flow_create_existing),
	KUNIT_CASE(natk_flow_shared_mapping),
	KUNIT_CASE(natk_flow_self_offport_found),
	KUNIT_CASE(natk_flow_filter_index),
	KUNIT_CASE(natk_flow_delete),
	KUNIT_CASE(natk_flow_id_stable),
	KUNIT_CASE(natk_flow_kill_twice),
	KUNIT_CASE(natk_flow_table_full),
	KUNIT_CASE(natk_flow_gc_expiry),
	KUNIT_CASE(natk_flow_gc_budget),
	KUNIT_CASE(natk_flow_gc_one_pass),
	KUNIT_CASE(natk_flow_lazy_expiry),
	KUNIT_CASE(natk_flow_gc_pace),
	KUNIT_CASE(natk_flow_gc_walks_buckets),
	KUNIT_CASE(natk_flow_tables_sized),
	KUNIT_CASE(natk_flow_flush_all),
	KUNIT_CASE(natk_flow_teardown_bulk),
	KUNIT_CASE(natk_flow_many_resize),
	KUNIT_CASE(natk_flow_gc_concurrent_lookup),
	KUNIT_CASE(natk_flow_hash_collisions),
	KUNIT_CASE(natk_flow_flush_in_publish_window),
	KUNIT_CASE(natk_flow_twin_in_publish_window),
	KUNIT_CASE(natk_flow_reply_by_mapping),
	KUNIT_CASE(natk_flow_no_owner_array),
	KUNIT_CASE(natk_flow_self_mapping),
	KUNIT_CASE(natk_flow_self_shared),
	KUNIT_CASE(natk_flow_self_hold),
	KUNIT_CASE(natk_flow_self_publish_window),
	KUNIT_CASE(natk_flow_kill_no_memory),
	KUNIT_CASE(natk_flow_graves_free),
	KUNIT_CASE(natk_flow_host_only_if_needed),
	KUNIT_CASE(natk_flow_hosts_attached),
	KUNIT_CASE(natk_flow_half_open_evicted),
	KUNIT_CASE(natk_flow_reply_recognised),
	KUNIT_CASE(natk_flow_evict_fruitless_throttled),
	KUNIT_CASE(natk_flow_dump_rewind_first_call),
	{}
};

static struct kunit_suite natk_flow_suite = {
	.name = "natk_flow",
	.test_cases = natk_flow_cases,
};

kunit_test_suite(natk_flow_suite);
