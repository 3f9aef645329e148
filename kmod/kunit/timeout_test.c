// SPDX-License-Identifier: GPL-2.0
/*
 * natk_timeout: timeout selection (natk_timeout_for) and the refresh rules
 * of natk_flow_refresh: expires moves to now + timeout when that is later
 * by more than HZ/4 (no write for every packet of a busy flow) or earlier
 * (a shorter timeout, e.g. after a FIN or RST, takes effect at once).
 */
#include <linux/jiffies.h>
#include "natk_test.h"

static struct natk_cfg natk_timeout_cfg(void)
{
	struct natk_cfg cfg = {};

	cfg.timeout[NATK_TO_TCP_EST] = 1000 * HZ;
	cfg.timeout[NATK_TO_TCP_TRANS] = 100 * HZ;
	cfg.timeout[NATK_TO_UDP] = 30 * HZ;
	cfg.timeout[NATK_TO_ICMP] = 10 * HZ;
	return cfg;
}

static void natk_timeout_tcp_states(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();
	u8 s;

	for (s = NATK_TCP_NONE; s <= NATK_TCP_MAX; s++)
		KUNIT_EXPECT_EQ_MSG(test, natk_timeout_for(&cfg, IPPROTO_TCP, s),
				    s == NATK_TCP_ESTABLISHED ? 1000UL * HZ :
				    100UL * HZ, "state %u", s);
}

static void natk_timeout_transitory(struct kunit *test)
{
	u8 s;

	for (s = NATK_TCP_NONE; s <= NATK_TCP_MAX; s++)
		KUNIT_EXPECT_EQ_MSG(test, natk_state_transitory(s),
				    s != NATK_TCP_ESTABLISHED, "state %u", s);
}

static void natk_timeout_udp_icmp(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();

	KUNIT_EXPECT_EQ(test, natk_timeout_for(&cfg, IPPROTO_UDP, 0),
			30UL * HZ);
	/* The TCP state is ignored for other protocols. */
	KUNIT_EXPECT_EQ(test, natk_timeout_for(&cfg, IPPROTO_UDP,
					       NATK_TCP_ESTABLISHED), 30UL * HZ);
	KUNIT_EXPECT_EQ(test, natk_timeout_for(&cfg, IPPROTO_ICMP, 0),
			10UL * HZ);
}

/* A new flow expires after the timeout of its protocol and state. */
static void natk_timeout_new_flow(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);
	struct natk_okey k;
	struct natk_flow *f;
	unsigned long before;

	*cfg = natk_timeout_cfg();
	cfg->ext_addr = NATK_T_EXT;
	cfg->port_min = 1024;
	cfg->port_max = 65535;
	cfg->max_flows = 100;

	before = jiffies;
	k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 1000, NATK_T_REM, 80);
	f = natk_test_flow(test, nn, &k, NATK_TCP_SYN_OUT);
	KUNIT_EXPECT_TRUE(test, time_in_range(f->expires, before + 100 * HZ,
					      jiffies + 100 * HZ));
	k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 1000, NATK_T_REM, 53);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_TRUE(test, time_in_range(f->expires, before + 30 * HZ,
					      jiffies + 30 * HZ));
	k = natk_test_okey(IPPROTO_ICMP, NATK_T_INT, 7, NATK_T_REM, 0);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_TRUE(test, time_in_range(f->expires, before + 10 * HZ,
					      jiffies + 10 * HZ));
}

static void natk_timeout_refresh_expired(struct kunit *test)
{
	struct natk_flow f = { .expires = jiffies - 10 * HZ };
	unsigned long before = jiffies;

	natk_flow_refresh(&f, 30 * HZ);
	KUNIT_EXPECT_TRUE(test, time_in_range(f.expires, before + 30 * HZ,
					      jiffies + 30 * HZ));
}

/*
 * A busy flow: the new expiry is at most HZ/4 after the current one, so the
 * field is not written (its cache line stays clean).
 */
static void natk_timeout_refresh_coalesced(struct kunit *test)
{
	unsigned long now = jiffies;
	struct natk_flow f = { .expires = now + 30 * HZ - 1 };

	natk_flow_refresh(&f, 30 * HZ);
	if (jiffies - now >= HZ / 4 - 1)
		kunit_skip(test, "too slow: %lu jiffies", jiffies - now);
	KUNIT_EXPECT_EQ(test, f.expires, now + 30 * HZ - 1);
	f.expires = now + 30 * HZ;
	natk_flow_refresh(&f, 30 * HZ);
	KUNIT_EXPECT_EQ(test, f.expires, now + 30 * HZ);
}

static void natk_timeout_refresh_longer(struct kunit *test)
{
	unsigned long now = jiffies;
	struct natk_flow f = { .expires = now + 10 * HZ };

	natk_flow_refresh(&f, 1000 * HZ);
	KUNIT_EXPECT_TRUE(test, time_in_range(f.expires, now + 1000 * HZ,
					      jiffies + 1000 * HZ));
}

/* A shorter timeout (ESTABLISHED -> FIN/RST) shortens the expiry. */
static void natk_timeout_refresh_shorter(struct kunit *test)
{
	unsigned long now = jiffies;
	struct natk_flow f = { .expires = now + 1000 * HZ };

	natk_flow_refresh(&f, 100 * HZ);
	KUNIT_EXPECT_TRUE(test, time_in_range(f.expires, now + 100 * HZ,
					      jiffies + 100 * HZ));
	natk_flow_refresh(&f, 0);
	KUNIT_EXPECT_TRUE(test, time_in_range(f.expires, now, jiffies));
}

/* jiffies wrap: the comparisons must be wrap safe. */
static void natk_timeout_refresh_wrap(struct kunit *test)
{
	struct natk_flow f;
	unsigned long now = jiffies;

	f.expires = now - (ULONG_MAX / 2 - HZ);	/* long expired, far side */
	natk_flow_refresh(&f, 30 * HZ);
	KUNIT_EXPECT_TRUE(test, time_in_range(f.expires, now + 30 * HZ,
					      jiffies + 30 * HZ));
}

static struct kunit_case natk_timeout_cases[] = {
	KUNIT_CASE(natk_timeout_tcp_states),
	KUNIT_CASE(natk_timeout_transitory),
	KUNIT_CASE(natk_timeout_udp_icmp),
	KUNIT_CASE(natk_timeout_new_flow),
	KUNIT_CASE(natk_timeout_refresh_expired),
	KUNIT_CASE(natk_timeout_refresh_coalesced),
	KUNIT_CASE(natk_timeout_refresh_longer),
	KUNIT_CASE(natk_timeout_refresh_shorter),
	KUNIT_CASE(natk_timeout_refresh_wrap),
	{}
};

static struct kunit_suite natk_timeout_suite = {
	.name = "natk_timeout",
	.test_cases = natk_timeout_cases,
};

kunit_test_suite(natk_timeout_suite);
