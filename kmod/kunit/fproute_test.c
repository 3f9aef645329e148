// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the fast path's route table (kmod/fproute.c). The routes are
 * stand-ins: zeroed dst_entry objects with a reference of the test's own,
 * so the table's references come and go without ever freeing them.
 */
#include <linux/hash.h>
#include <net/dst.h>
#include "natk_test.h"

static struct dst_entry *natk_test_dst(struct kunit *test)
{
	struct dst_entry *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, d);
	rcuref_init(&d->__rcuref, 1);	/* the test's: never let go */
	return d;
}

/* Claim an entry for @d on @iif: the claim takes a reference of its own. */
static u8 natk_test_claim(struct natk_net *nn, struct dst_entry *d, int iif)
{
	dst_hold(d);
	return natk_fp_route_claim(nn, d, iif);
}

/* References on @d besides the test's. */
static int natk_test_refs(struct dst_entry *d)
{
	return rcuref_read(&d->__rcuref) - 1;
}

/* An input device for @d whose claim starts where @d0's on @iif0 does. */
static int natk_test_iif_like(struct dst_entry *d, struct dst_entry *d0,
			      int iif0)
{
	return (hash_ptr(d0, 8) ^ (iif0 & 0xff) ^ hash_ptr(d, 8)) & 0xff;
}

/*
 * Flows of one route on one device share its entry, which holds one
 * reference however many use it; another device is another entry.
 */
static void natk_fp_route_shared(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct dst_entry *d = natk_test_dst(test);
	int iif;
	u8 a, b, c;

	a = natk_test_claim(nn, d, 3);
	b = natk_test_claim(nn, d, 3);
	KUNIT_EXPECT_NE(test, a, 0);
	KUNIT_EXPECT_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d), 1);
	c = natk_test_claim(nn, d, 4);
	KUNIT_EXPECT_NE(test, c, 0);
	KUNIT_EXPECT_NE(test, c, a);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d), 2);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, natk_fp_route_dst(nn, a, &iif), d);
	KUNIT_EXPECT_EQ(test, iif, 3);
	rcu_read_unlock();
	natk_fp_route_put(nn, a);
	natk_fp_route_put(nn, b);
	natk_fp_route_put(nn, c);
	/* Drained, not emptied: the route stays until taken. */
	KUNIT_EXPECT_EQ(test, natk_test_refs(d), 2);
	natk_fp_routes_destroy(nn);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d), 0);
}

/*
 * An entry whose last user let go keeps its route for a grace period: a
 * reader that read a flow's index before may still look. Only after one
 * may another route take it; the same route may come back at once.
 */
static void natk_fp_route_drains(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct dst_entry *d1 = natk_test_dst(test);
	struct dst_entry *d2 = natk_test_dst(test);
	struct dst_entry *d3 = natk_test_dst(test);
	int iif2 = natk_test_iif_like(d2, d1, 1);
	int iif3 = natk_test_iif_like(d3, d1, 1);
	u8 i1, i2, i3;

	i1 = natk_test_claim(nn, d1, 1);
	KUNIT_ASSERT_NE(test, i1, 0);
	natk_fp_route_put(nn, i1);
	/* Same first entry to try, but it drains: the next one. */
	i2 = natk_test_claim(nn, d2, iif2);
	KUNIT_EXPECT_NE(test, i2, 0);
	KUNIT_EXPECT_NE(test, i2, i1);
	/* Its own route comes back to it, draining or not. */
	KUNIT_EXPECT_EQ(test, natk_test_claim(nn, d1, 1), i1);
	natk_fp_route_put(nn, i1);
	synchronize_rcu();
	i3 = natk_test_claim(nn, d3, iif3);
	KUNIT_EXPECT_EQ(test, i3, i1);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d1), 0);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d3), 1);
	natk_fp_route_put(nn, i2);
	natk_fp_route_put(nn, i3);
	natk_fp_routes_destroy(nn);
}

/*
 * No room among the entries a claim may look at: 0, and the route's
 * reference is let go (the packet uses it under RCU only).
 */
static void natk_fp_route_full(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct dst_entry *d = natk_test_dst(test);
	struct dst_entry *o;
	u8 got[8];
	int k;

	for (k = 0; k < 8; k++) {
		o = natk_test_dst(test);
		got[k] = natk_test_claim(nn, o, natk_test_iif_like(o, d, 9));
		KUNIT_EXPECT_NE(test, got[k], 0);
	}
	KUNIT_EXPECT_EQ(test, natk_test_claim(nn, d, 9), 0);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d), 0);
	for (k = 0; k < 8; k++)
		natk_fp_route_put(nn, got[k]);
	natk_fp_routes_destroy(nn);
}

/*
 * A flow names one entry a direction and lets go of the one it replaces;
 * a dying flow keeps none (natk_fp_route_set() after the kill's release
 * lets go of what it set).
 */
static void natk_fp_route_flow(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 13000,
					    NATK_T_REM, 53);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	struct dst_entry *d1 = natk_test_dst(test);
	struct dst_entry *d2 = natk_test_dst(test);
	u8 i1, i2;

	i1 = natk_test_claim(nn, d1, 1);
	natk_fp_route_set(nn, f, 0, i1);
	i2 = natk_test_claim(nn, d2, 1);
	natk_fp_route_set(nn, f, 0, i2);
	KUNIT_EXPECT_EQ(test, f->fp_route[0], i2);
	/* i1 drains: only the flow used it. */
	KUNIT_EXPECT_EQ(test, natk_test_claim(nn, d1, 1), i1);
	natk_fp_route_put(nn, i1);

	natk_flow_kill(nn, f, NATK_REASON_DELETED);
	KUNIT_EXPECT_EQ(test, f->fp_route[0], 0);
	/* A packet that was routing it as it died: nothing stays set. */
	natk_fp_route_set(nn, f, 1, natk_test_claim(nn, d1, 1));
	KUNIT_EXPECT_EQ(test, f->fp_route[1], 0);
	synchronize_rcu();
	/* Both entries are free: another route takes each. */
	natk_fp_routes_destroy(nn);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d1), 0);
	KUNIT_EXPECT_EQ(test, natk_test_refs(d2), 0);
}

static struct dst_entry *natk_test_dst_stale(struct dst_entry *dst,
					     u32 cookie)
{
	return NULL;
}

static struct dst_ops natk_test_stale_ops = {
	.check = natk_test_dst_stale,
};

/*
 * The GC lets go of a flow's entries whose route is no longer current (a
 * route changed while the flow was idle): they drain though it never
 * sends again. A current one stays.
 */
static void natk_fp_route_gc_clean(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 13001,
					    NATK_T_REM, 53);
	struct natk_flow *f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	struct dst_entry *cur = natk_test_dst(test);
	struct dst_entry *old = natk_test_dst(test);
	u8 i;

	old->obsolete = DST_OBSOLETE_FORCE_CHK;	/* check(): stale */
	old->ops = &natk_test_stale_ops;
	natk_fp_route_set(nn, f, 0, natk_test_claim(nn, cur, 1));
	i = natk_test_claim(nn, old, 1);
	natk_fp_route_set(nn, f, 1, i);
	rcu_read_lock();
	natk_fp_route_clean(nn, f);
	rcu_read_unlock();
	KUNIT_EXPECT_NE(test, f->fp_route[0], 0);
	KUNIT_EXPECT_EQ(test, f->fp_route[1], 0);
	/* Drained: after a grace period another route may take it. */
	synchronize_rcu();
	KUNIT_EXPECT_EQ(test, natk_test_claim(nn, cur,
					      natk_test_iif_like(cur, old, 1)),
			i);
	natk_flow_kill(nn, f, NATK_REASON_DELETED);
	natk_fp_routes_destroy(nn);
	KUNIT_EXPECT_EQ(test, natk_test_refs(cur), 0);
	KUNIT_EXPECT_EQ(test, natk_test_refs(old), 0);
}

static struct kunit_case natk_fp_route_cases[] = {
	KUNIT_CASE(natk_fp_route_gc_clean),
	KUNIT_CASE(natk_fp_route_shared),
	KUNIT_CASE(natk_fp_route_drains),
	KUNIT_CASE(natk_fp_route_full),
	KUNIT_CASE(natk_fp_route_flow),
	{}
};

static struct kunit_suite natk_fp_route_suite = {
	.name = "natk_fp_route",
	.test_cases = natk_fp_route_cases,
};

kunit_test_suite(natk_fp_route_suite);
