// SPDX-License-Identifier: GPL-2.0
/*
 * natk_scope: which packets get a new flow (natk_in_scope, the internal
 * and no-nat prefix lists), list building (natk_scope_add) and the sweep
 * that ends the flows a changed scope leaves out (natk_scope_sweep).
 */
#include <linux/mutex.h>
#include "natk_test.h"

#define A(a, b, c, d)	htonl(((a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static void natk_scope_default_all(struct kunit *test)
{
	struct natk_cfg cfg = {};

	KUNIT_EXPECT_TRUE(test, natk_in_scope(&cfg, NATK_T_INT, NATK_T_REM));
	KUNIT_EXPECT_TRUE(test, natk_in_scope(&cfg, A(192, 168, 1, 1),
					      A(10, 0, 0, 1)));
}

static void natk_scope_internal(struct kunit *test)
{
	struct natk_cfg cfg = {};

	KUNIT_ASSERT_EQ(test, natk_scope_add(&cfg.internal, A(10, 0, 0, 0),
					     16), 0);
	KUNIT_ASSERT_EQ(test, natk_scope_add(&cfg.internal, A(192, 168, 7, 9),
					     32), 0);
	KUNIT_EXPECT_TRUE(test, natk_in_scope(&cfg, A(10, 0, 0, 0), NATK_T_REM));
	KUNIT_EXPECT_TRUE(test, natk_in_scope(&cfg, A(10, 0, 255, 255),
					      NATK_T_REM));
	KUNIT_EXPECT_FALSE(test, natk_in_scope(&cfg, A(10, 1, 0, 0),
					       NATK_T_REM));
	KUNIT_EXPECT_FALSE(test, natk_in_scope(&cfg, A(9, 255, 255, 255),
					       NATK_T_REM));
	KUNIT_EXPECT_TRUE(test, natk_in_scope(&cfg, A(192, 168, 7, 9),
					      NATK_T_REM));
	KUNIT_EXPECT_FALSE(test, natk_in_scope(&cfg, A(192, 168, 7, 8),
					       NATK_T_REM));
}

static void natk_scope_no_nat(struct kunit *test)
{
	struct natk_cfg cfg = {};

	KUNIT_ASSERT_EQ(test, natk_scope_add(&cfg.no_nat, A(172, 16, 0, 0),
					     12), 0);
	KUNIT_EXPECT_FALSE(test, natk_in_scope(&cfg, NATK_T_INT,
					       A(172, 31, 255, 255)));
	KUNIT_EXPECT_TRUE(test, natk_in_scope(&cfg, NATK_T_INT,
					      A(172, 32, 0, 0)));
	KUNIT_EXPECT_TRUE(test, natk_in_scope(&cfg, NATK_T_INT, NATK_T_REM));
	/* Both lists: the source must be in, the destination not. */
	KUNIT_ASSERT_EQ(test, natk_scope_add(&cfg.internal, A(10, 0, 0, 0),
					     8), 0);
	KUNIT_EXPECT_FALSE(test, natk_in_scope(&cfg, A(11, 0, 0, 1),
					       NATK_T_REM));
	KUNIT_EXPECT_FALSE(test, natk_in_scope(&cfg, NATK_T_INT,
					       A(172, 16, 0, 1)));
	/* /0 leaves everything out. */
	KUNIT_ASSERT_EQ(test, natk_scope_add(&cfg.no_nat, 0, 0), 0);
	KUNIT_EXPECT_FALSE(test, natk_in_scope(&cfg, NATK_T_INT, NATK_T_REM));
}

static void natk_scope_add_checks(struct kunit *test)
{
	struct natk_scope s = {};
	int i;

	KUNIT_EXPECT_EQ(test, natk_scope_add(&s, A(10, 0, 0, 1), 24), -EINVAL);
	KUNIT_EXPECT_EQ(test, natk_scope_add(&s, A(10, 0, 0, 0), 33), -EINVAL);
	KUNIT_EXPECT_EQ(test, natk_scope_add(&s, A(10, 0, 0, 0), 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, s.n, 0U);
	for (i = 0; i < NATK_PREFIXES_MAX; i++)
		KUNIT_ASSERT_EQ(test, natk_scope_add(&s, A(10, i, 0, 0), 16), 0);
	KUNIT_EXPECT_EQ(test, natk_scope_add(&s, A(11, 0, 0, 0), 16), -ENOSPC);
	KUNIT_EXPECT_EQ(test, s.n, (unsigned int)NATK_PREFIXES_MAX);
	for (i = 0; i <= 32; i++) {
		struct natk_scope one = {};

		KUNIT_ASSERT_EQ(test, natk_scope_add(&one, 0, i), 0);
		KUNIT_EXPECT_EQ(test, natk_prefix_len(&one.p[0]), i);
	}
}

static void natk_scope_equality(struct kunit *test)
{
	struct natk_scope a = {}, b = {};

	KUNIT_EXPECT_TRUE(test, natk_scope_equal(&a, &b));
	natk_scope_add(&a, A(10, 0, 0, 0), 8);
	KUNIT_EXPECT_FALSE(test, natk_scope_equal(&a, &b));
	natk_scope_add(&b, A(10, 0, 0, 0), 9);
	KUNIT_EXPECT_FALSE(test, natk_scope_equal(&a, &b));
	b.n = 0;
	natk_scope_add(&b, A(10, 0, 0, 0), 8);
	KUNIT_EXPECT_TRUE(test, natk_scope_equal(&a, &b));
}

/*
 * 3,000 flows from 10.6.0.0/20, more than a walk does between pauses: the
 * sweep ends exactly those of the hosts the new scope leaves out, and
 * those sent to a no-nat destination, and keeps every other one.
 */
#define NATK_SCOPE_FLOWS	3000

static void natk_scope_sweep_exact(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);
	int i, kept = 0, want = 0;
	struct natk_okey k;

	for (i = 0; i < NATK_SCOPE_FLOWS; i++) {
		k = natk_test_okey(IPPROTO_UDP, htonl(0x0a060000 + i), 20000,
				   (i % 7) ? NATK_T_REM : NATK_T_ROUTER, 53);
		natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	}
	/* In scope: 10.6.0.0/21 (hosts 0..2047), and not to the router. */
	KUNIT_ASSERT_EQ(test, natk_scope_add(&cfg->internal, A(10, 6, 0, 0),
					     21), 0);
	KUNIT_ASSERT_EQ(test, natk_scope_add(&cfg->no_nat, NATK_T_ROUTER, 32),
			0);
	mutex_lock(&nn->lock);
	natk_scope_sweep(nn);
	mutex_unlock(&nn->lock);
	for (i = 0; i < NATK_SCOPE_FLOWS; i++) {
		bool in = i < 2048 && (i % 7);

		k = natk_test_okey(IPPROTO_UDP, htonl(0x0a060000 + i), 20000,
				   (i % 7) ? NATK_T_REM : NATK_T_ROUTER, 53);
		rcu_read_lock();
		if (natk_flow_lookup_out(nn, &k))
			kept++;
		else if (in)
			KUNIT_FAIL(test, "flow of host %d in scope was ended", i);
		rcu_read_unlock();
		want += in;
	}
	KUNIT_EXPECT_EQ(test, kept, want);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), want);
}

static struct kunit_case natk_scope_cases[] = {
	KUNIT_CASE(natk_scope_default_all),
	KUNIT_CASE(natk_scope_internal),
	KUNIT_CASE(natk_scope_no_nat),
	KUNIT_CASE(natk_scope_add_checks),
	KUNIT_CASE(natk_scope_equality),
	KUNIT_CASE(natk_scope_sweep_exact),
	{}
};

static struct kunit_suite natk_scope_suite = {
	.name = "natk_scope",
	.test_cases = natk_scope_cases,
};

kunit_test_suite(natk_scope_suite);
