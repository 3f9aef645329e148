// SPDX-License-Identifier: GPL-2.0
/*
 * natk_timeout: timeout selection (natk_timeout_for), the deadline of a
 * flow (natk_flow_deadline: last refresh plus the timeout of its current
 * state, so a FIN or RST shortens it at once), natk_flow_refresh, and when
 * a busy flow's expiry is announced again (natk_flow_update_due).
 */
#include <linux/jiffies.h>
#include <linux/sched.h>
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

/*
 * A new flow expires after the timeout of its protocol and state (and up
 * to NATK_SEEN_AHEAD more, natk_flow_refresh()).
 */
static void natk_timeout_new_flow(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);
	struct natk_okey k;
	struct natk_flow *f;
	unsigned long before;

	cfg->timeout[NATK_TO_TCP_EST] = 1000 * HZ;
	cfg->timeout[NATK_TO_TCP_TRANS] = 100 * HZ;
	cfg->timeout[NATK_TO_UDP] = 30 * HZ;
	cfg->timeout[NATK_TO_ICMP] = 10 * HZ;

	before = jiffies;
	k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 1000, NATK_T_REM, 80);
	f = natk_test_flow(test, nn, &k, NATK_TCP_SYN_OUT);
	KUNIT_EXPECT_TRUE(test, time_in_range(natk_flow_deadline(cfg, f),
					      before + 100 * HZ,
					      jiffies + 100 * HZ +
					      NATK_SEEN_AHEAD));
	k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 1000, NATK_T_REM, 53);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_TRUE(test, time_in_range(natk_flow_deadline(cfg, f),
					      before + 30 * HZ,
					      jiffies + 30 * HZ +
					      NATK_SEEN_AHEAD));
	k = natk_test_okey(IPPROTO_ICMP, NATK_T_INT, 7, NATK_T_REM, 0);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	KUNIT_EXPECT_TRUE(test, time_in_range(natk_flow_deadline(cfg, f),
					      before + 10 * HZ,
					      jiffies + 10 * HZ +
					      NATK_SEEN_AHEAD));
}

static struct natk_flow natk_timeout_flow(u8 proto, u8 state,
					  unsigned long seen)
{
	struct natk_flow f = {};

	f.okey.proto = proto;
	f.state = state;
	f.seen = seen;
	return f;
}

/* The deadline is the last refresh plus the timeout of the state now. */
static void natk_timeout_deadline(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();
	unsigned long now = jiffies;
	struct natk_flow f = natk_timeout_flow(IPPROTO_TCP,
					       NATK_TCP_ESTABLISHED, now);

	KUNIT_EXPECT_EQ(test, natk_flow_deadline(&cfg, &f), now + 1000 * HZ);
	/* A FIN or RST shortens it at once, without a refresh. */
	f.state = NATK_TCP_FIN_OUT;
	KUNIT_EXPECT_EQ(test, natk_flow_deadline(&cfg, &f), now + 100 * HZ);
	f.state = NATK_TCP_RST;
	KUNIT_EXPECT_EQ(test, natk_flow_deadline(&cfg, &f), now + 100 * HZ);
	f = natk_timeout_flow(IPPROTO_UDP, 0, now - 40 * HZ);
	KUNIT_EXPECT_EQ(test, natk_flow_deadline(&cfg, &f), now - 10 * HZ);
	KUNIT_EXPECT_TRUE(test, time_after(jiffies, natk_flow_deadline(&cfg, &f)));
	f = natk_timeout_flow(IPPROTO_ICMP, 0, now);
	KUNIT_EXPECT_EQ(test, natk_flow_deadline(&cfg, &f), now + 10 * HZ);
}

/*
 * A refresh makes an idle (even expired) flow live for its timeout from
 * now, and up to NATK_SEEN_AHEAD more.
 */
static void natk_timeout_refresh_extends(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();
	struct natk_flow f = natk_timeout_flow(IPPROTO_UDP, 0,
					       jiffies - 100 * HZ);
	unsigned long before = jiffies;

	KUNIT_EXPECT_TRUE(test, time_after(jiffies, natk_flow_deadline(&cfg, &f)));
	natk_flow_refresh(&f);
	KUNIT_EXPECT_TRUE(test, time_in_range(natk_flow_seen(&f, jiffies),
					      before + NATK_SEEN_AHEAD,
					      jiffies + NATK_SEEN_AHEAD));
	KUNIT_EXPECT_FALSE(test, time_after(jiffies, natk_flow_deadline(&cfg, &f)));
	KUNIT_EXPECT_TRUE(test, time_in_range(natk_flow_deadline(&cfg, &f),
					      before + 30 * HZ,
					      jiffies + 30 * HZ + NATK_SEEN_AHEAD));
}

/*
 * Issue 15: a busy flow's last-seen time is written at most once a second
 * (its line stays clean across the CPUs of its two directions), and yet
 * it never expires before its timeout after its last packet: a refresh
 * writes a time up to a second ahead, and the ones before that time has
 * passed write nothing.
 */
static void natk_timeout_refresh_once_a_second(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();
	struct natk_flow f = natk_timeout_flow(IPPROTO_UDP, 0, jiffies - HZ);
	unsigned long first, seen, now, end;

	first = jiffies;
	natk_flow_refresh(&f);
	seen = natk_flow_seen(&f, jiffies);
	KUNIT_EXPECT_TRUE(test, time_in_range(seen, first, jiffies + HZ));
	/* A packet in a later jiffy, inside that second: nothing written. */
	end = jiffies + 2 * HZ;
	for (now = jiffies; now == first && time_before(now, end); now = jiffies)
		schedule_timeout_uninterruptible(1);
	KUNIT_ASSERT_NE(test, now, first);
	if (time_before(jiffies, first + NATK_SEEN_AHEAD)) {
		now = jiffies;
		natk_flow_refresh(&f);
		KUNIT_EXPECT_EQ(test, natk_flow_seen(&f, jiffies), seen);
		/* ... and still live its full timeout after that packet. */
		KUNIT_EXPECT_FALSE(test,
				   time_before(natk_flow_deadline(&cfg, &f),
					       now + 30 * HZ));
	}
	/* Once that time has passed, the next packet writes again. */
	f.seen = jiffies - 1;
	now = jiffies;
	natk_flow_refresh(&f);
	KUNIT_EXPECT_TRUE(test, time_in_range(natk_flow_seen(&f, jiffies), now,
					      jiffies + HZ));
	KUNIT_EXPECT_FALSE(test, time_before(natk_flow_deadline(&cfg, &f),
					     now + 30 * HZ));
}

/*
 * flow->seen keeps 32 bits of jiffies: across their wrap, and for the
 * longest timeout (30 days, 2.6e9 jiffies at HZ 1000: beyond a signed
 * 32-bit difference), a flow expires when it should, and a time a little
 * ahead of the caller's clock (a packet racing with the GC) is ahead.
 */
static void natk_timeout_wrap(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();	/* UDP 30 s */
	unsigned long now = (jiffies | 0xffffffffUL) + 1 + 5 * HZ;
	unsigned long max = (unsigned long)NATK_TIMEOUT_MAX * HZ;
	struct natk_flow f = natk_timeout_flow(IPPROTO_UDP, 0, now - 10 * HZ);

	KUNIT_EXPECT_EQ(test, natk_flow_seen(&f, now), now - 10 * HZ);
	KUNIT_EXPECT_FALSE(test, natk_flow_expired(&cfg, &f, now));
	f.seen = (u32)(now - 31 * HZ);
	KUNIT_EXPECT_TRUE(test, natk_flow_expired(&cfg, &f, now));
	f.seen = (u32)(now + NATK_SEEN_AHEAD + 3);
	KUNIT_EXPECT_EQ(test, natk_flow_seen(&f, now),
			now + NATK_SEEN_AHEAD + 3);
	KUNIT_EXPECT_FALSE(test, natk_flow_refresh_due(&f, now));
	KUNIT_EXPECT_TRUE(test, natk_flow_refresh_due(&f, now + 2 * HZ));
	cfg.timeout[NATK_TO_UDP] = max;
	f.seen = (u32)(now - max + HZ);
	KUNIT_EXPECT_EQ(test, natk_flow_seen(&f, now), now - max + HZ);
	KUNIT_EXPECT_FALSE(test, natk_flow_expired(&cfg, &f, now));
	KUNIT_EXPECT_TRUE(test, natk_flow_refresh_due(&f, now));
	f.seen = (u32)(now - max - 1);
	KUNIT_EXPECT_TRUE(test, natk_flow_expired(&cfg, &f, now));
}

/* A flow last announced @ago before @now and last seen @idle before it. */
static struct natk_flow natk_timeout_announced(u8 proto, u8 state,
					       unsigned long now,
					       unsigned long ago,
					       unsigned long idle)
{
	/* Its last packet @idle ago wrote that time, a second ahead. */
	struct natk_flow f = natk_timeout_flow(proto, state,
					       now - idle + NATK_SEEN_AHEAD);

	f.announced = natk_secs(now - ago);
	return f;
}

/*
 * Expiry refresh updates (natk_flow_update_due): due for a flow with
 * traffic since its last announcement once that is min(timeout / 2, 30 s)
 * old, at least 1 s; never for a flow without traffic since.
 */
static void natk_timeout_update_due(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();	/* UDP 30 s: every 15 s */
	unsigned long now = jiffies + 1000 * HZ;
	struct natk_flow f;

	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 20 * HZ, HZ);
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 15 * HZ, 0);
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now));
	/* Announced too recently. */
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 10 * HZ, 0);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 14 * HZ, 0);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	/* No traffic since (last seen before, or when, it was announced). */
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 20 * HZ, 25 * HZ);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 20 * HZ, 20 * HZ);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	/* A packet racing with the GC's clock counts as traffic. */
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 20 * HZ, 0);
	f.seen = now + 1 + NATK_SEEN_AHEAD;
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now));
	/* TCP: the timeout of its state now; at most every 30 s. */
	f = natk_timeout_announced(IPPROTO_TCP, NATK_TCP_ESTABLISHED, now,
				   29 * HZ, 0);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_TCP, NATK_TCP_ESTABLISHED, now,
				   31 * HZ, 0);
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now));
	/* ICMP 10 s: every 5 s. */
	f = natk_timeout_announced(IPPROTO_ICMP, 0, now, 5 * HZ, 0);
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_ICMP, 0, now, 4 * HZ, 0);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	/* A 1 s timeout: every second, not on every GC run. */
	cfg.timeout[NATK_TO_UDP] = HZ;
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, HZ, 0);
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 0, 0);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
}

/*
 * The u16 announcement stamp across its wrap: an age that crosses it is
 * right; one over 18 hours looks recent, and the flow waits at most one
 * more interval.
 */
static void natk_timeout_update_wrap(struct kunit *test)
{
	struct natk_cfg cfg = natk_timeout_cfg();	/* UDP: every 15 s */
	/* natk_secs(now) == 3: the stamp wrapped 3 s ago. */
	unsigned long now = INITIAL_JIFFIES + (5 * 65536UL + 3) * HZ;
	struct natk_flow f;

	KUNIT_ASSERT_EQ(test, natk_secs(now), 3);
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 20 * HZ, HZ);
	KUNIT_EXPECT_EQ(test, f.announced, 65536 - 17);
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 10 * HZ, HZ);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 20 * HZ, 30 * HZ);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	/* Announced 65541 s ago, busy: looks 5 s old, due 10 s later. */
	f = natk_timeout_announced(IPPROTO_UDP, 0, now, 65541UL * HZ, 0);
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(&cfg, &f, now));
	f.seen = now + 10 * HZ + NATK_SEEN_AHEAD;
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(&cfg, &f, now + 10 * HZ));
}

/* A new flow counts as announced (its new event) until traffic follows. */
static void natk_timeout_update_new_flow(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);
	struct natk_okey k;
	struct natk_flow *f;
	unsigned long t;

	cfg->timeout[NATK_TO_UDP] = 30 * HZ;
	k = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 1000, NATK_T_REM, 53);
	f = natk_test_flow(test, nn, &k, NATK_TCP_NONE);
	t = natk_flow_seen(f, jiffies) - NATK_SEEN_AHEAD; /* when it was made */
	KUNIT_EXPECT_EQ(test, f->announced, natk_secs(t));
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(cfg, f, t + 100 * HZ));
	WRITE_ONCE(f->seen, t + 50 * HZ + NATK_SEEN_AHEAD);
	KUNIT_EXPECT_TRUE(test, natk_flow_update_due(cfg, f, t + 100 * HZ));
	KUNIT_EXPECT_FALSE(test, natk_flow_update_due(cfg, f, t + 10 * HZ));
}

static struct kunit_case natk_timeout_cases[] = {
	KUNIT_CASE(natk_timeout_tcp_states),
	KUNIT_CASE(natk_timeout_transitory),
	KUNIT_CASE(natk_timeout_udp_icmp),
	KUNIT_CASE(natk_timeout_new_flow),
	KUNIT_CASE(natk_timeout_deadline),
	KUNIT_CASE(natk_timeout_refresh_extends),
	KUNIT_CASE(natk_timeout_refresh_once_a_second),
	KUNIT_CASE(natk_timeout_wrap),
	KUNIT_CASE(natk_timeout_update_due),
	KUNIT_CASE(natk_timeout_update_wrap),
	KUNIT_CASE(natk_timeout_update_new_flow),
	{}
};

static struct kunit_suite natk_timeout_suite = {
	.name = "natk_timeout",
	.test_cases = natk_timeout_cases,
};

kunit_test_suite(natk_timeout_suite);
