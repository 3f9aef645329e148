// SPDX-License-Identifier: GPL-2.0
/*
 * natk_tcp: every transition of natk_tcp_next() and natk_tcp_may_create().
 *
 * The expected machine (proto.c, RFC 6146 3.5.2 with RFC 7857 RST):
 * a RST in any state and direction leads to RST; SYN_OUT + inbound SYN and
 * SYN_IN + outbound SYN (a SYN-ACK, or a bare SYN in a simultaneous open)
 * lead to ESTABLISHED; FINs lead through FIN_OUT/FIN_IN to FIN_BOTH; in RST
 * an outbound SYN (no ACK) reopens to SYN_OUT and any other non-RST packet
 * revives to ESTABLISHED; everything else keeps the state.
 */
#include "natk_test.h"

#define SYN	NATK_TCPF_SYN
#define ACK	NATK_TCPF_ACK
#define FIN	NATK_TCPF_FIN
#define RST	NATK_TCPF_RST

struct natk_tcp_case {
	u8 state;
	bool out;
	u8 flags;
	u8 next;
};

static void natk_tcp_check(struct kunit *test, const struct natk_tcp_case *c,
			   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(test, natk_tcp_next(c[i].state, c[i].out,
							c[i].flags),
				    c[i].next,
				    "state %u %s flags %#x", c[i].state,
				    c[i].out ? "out" : "in", c[i].flags);
}

static void natk_tcp_syn_out(struct kunit *test)
{
	static const struct natk_tcp_case c[] = {
		{ NATK_TCP_SYN_OUT, false, SYN | ACK, NATK_TCP_SYNACK_IN },
		{ NATK_TCP_SYN_OUT, true, SYN, NATK_TCP_SYN_OUT },
		{ NATK_TCP_SYN_OUT, true, ACK, NATK_TCP_SYN_OUT },
		{ NATK_TCP_SYN_OUT, false, ACK, NATK_TCP_SYN_OUT },
		{ NATK_TCP_SYN_OUT, true, FIN | ACK, NATK_TCP_SYN_OUT },
		{ NATK_TCP_SYN_OUT, false, FIN | ACK, NATK_TCP_SYN_OUT },
		{ NATK_TCP_SYN_OUT, false, 0, NATK_TCP_SYN_OUT },
	};

	natk_tcp_check(test, c, ARRAY_SIZE(c));
}

static void natk_tcp_syn_in(struct kunit *test)
{
	static const struct natk_tcp_case c[] = {
		{ NATK_TCP_SYN_IN, true, SYN | ACK, NATK_TCP_SYNACK_OUT },
		{ NATK_TCP_SYN_IN, false, SYN, NATK_TCP_SYN_IN },
		{ NATK_TCP_SYN_IN, false, ACK, NATK_TCP_SYN_IN },
		{ NATK_TCP_SYN_IN, true, ACK, NATK_TCP_SYN_IN },
		{ NATK_TCP_SYN_IN, true, FIN | ACK, NATK_TCP_SYN_IN },
		{ NATK_TCP_SYN_IN, false, FIN, NATK_TCP_SYN_IN },
	};

	natk_tcp_check(test, c, ARRAY_SIZE(c));
}

/*
 * A SYN-ACK alone never completes the handshake: a spoofed SYN answered by
 * the other side stays half-open (transitory, evictable) until the
 * initiator's ACK.
 */
static void natk_tcp_synack(struct kunit *test)
{
	static const struct natk_tcp_case c[] = {
		{ NATK_TCP_SYNACK_IN, true, ACK, NATK_TCP_ESTABLISHED },
		{ NATK_TCP_SYNACK_IN, true, FIN | ACK, NATK_TCP_FIN_OUT },
		{ NATK_TCP_SYNACK_IN, false, SYN | ACK, NATK_TCP_SYNACK_IN },
		{ NATK_TCP_SYNACK_IN, false, ACK, NATK_TCP_SYNACK_IN },
		{ NATK_TCP_SYNACK_IN, true, 0, NATK_TCP_SYNACK_IN },
		{ NATK_TCP_SYNACK_IN, true, SYN, NATK_TCP_SYNACK_IN },
		{ NATK_TCP_SYNACK_OUT, false, ACK, NATK_TCP_ESTABLISHED },
		{ NATK_TCP_SYNACK_OUT, false, FIN | ACK, NATK_TCP_FIN_IN },
		{ NATK_TCP_SYNACK_OUT, true, SYN | ACK, NATK_TCP_SYNACK_OUT },
		{ NATK_TCP_SYNACK_OUT, true, ACK, NATK_TCP_SYNACK_OUT },
		{ NATK_TCP_SYNACK_OUT, false, SYN, NATK_TCP_SYNACK_OUT },
	};

	natk_tcp_check(test, c, ARRAY_SIZE(c));
	KUNIT_EXPECT_TRUE(test, natk_state_transitory(NATK_TCP_SYNACK_IN));
	KUNIT_EXPECT_TRUE(test, natk_state_transitory(NATK_TCP_SYNACK_OUT));
}

/*
 * Simultaneous open: both sides send a bare SYN, then each a SYN-ACK. The
 * remote's SYN arrives first here; the internal host's SYN-ACK carries the
 * ACK that completes it.
 */
static void natk_tcp_simultaneous_open(struct kunit *test)
{
	u8 s = NATK_TCP_SYN_OUT;

	s = natk_tcp_next(s, false, SYN);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_SYNACK_IN);
	s = natk_tcp_next(s, false, SYN | ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_SYNACK_IN);
	s = natk_tcp_next(s, true, SYN | ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_ESTABLISHED);
	s = NATK_TCP_SYN_IN;
	s = natk_tcp_next(s, true, SYN);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_SYNACK_OUT);
	s = natk_tcp_next(s, false, SYN | ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_ESTABLISHED);
}

static void natk_tcp_established(struct kunit *test)
{
	static const struct natk_tcp_case c[] = {
		{ NATK_TCP_ESTABLISHED, true, ACK, NATK_TCP_ESTABLISHED },
		{ NATK_TCP_ESTABLISHED, false, ACK, NATK_TCP_ESTABLISHED },
		{ NATK_TCP_ESTABLISHED, true, SYN, NATK_TCP_ESTABLISHED },
		{ NATK_TCP_ESTABLISHED, false, SYN | ACK, NATK_TCP_ESTABLISHED },
		{ NATK_TCP_ESTABLISHED, true, FIN | ACK, NATK_TCP_FIN_OUT },
		{ NATK_TCP_ESTABLISHED, false, FIN | ACK, NATK_TCP_FIN_IN },
		{ NATK_TCP_ESTABLISHED, true, FIN, NATK_TCP_FIN_OUT },
	};

	natk_tcp_check(test, c, ARRAY_SIZE(c));
}

static void natk_tcp_fin(struct kunit *test)
{
	static const struct natk_tcp_case c[] = {
		{ NATK_TCP_FIN_OUT, false, FIN | ACK, NATK_TCP_FIN_BOTH },
		{ NATK_TCP_FIN_OUT, true, FIN | ACK, NATK_TCP_FIN_OUT },
		{ NATK_TCP_FIN_OUT, false, ACK, NATK_TCP_FIN_OUT },
		{ NATK_TCP_FIN_OUT, true, ACK, NATK_TCP_FIN_OUT },
		{ NATK_TCP_FIN_IN, true, FIN | ACK, NATK_TCP_FIN_BOTH },
		{ NATK_TCP_FIN_IN, false, FIN | ACK, NATK_TCP_FIN_IN },
		{ NATK_TCP_FIN_IN, true, ACK, NATK_TCP_FIN_IN },
		{ NATK_TCP_FIN_IN, false, ACK, NATK_TCP_FIN_IN },
		{ NATK_TCP_FIN_BOTH, true, ACK, NATK_TCP_FIN_BOTH },
		{ NATK_TCP_FIN_BOTH, false, FIN | ACK, NATK_TCP_FIN_BOTH },
		{ NATK_TCP_FIN_BOTH, false, SYN | ACK, NATK_TCP_FIN_BOTH },
		/* Port reuse: a new SYN opens the flow again. */
		{ NATK_TCP_FIN_BOTH, true, SYN, NATK_TCP_SYN_OUT },
		{ NATK_TCP_FIN_BOTH, false, SYN, NATK_TCP_SYN_IN },
		{ NATK_TCP_FIN_OUT, true, SYN, NATK_TCP_SYN_OUT },
		{ NATK_TCP_FIN_IN, false, SYN, NATK_TCP_SYN_IN },
	};

	natk_tcp_check(test, c, ARRAY_SIZE(c));
}

/* A RST from either side, with any other flags, in every state. */
static void natk_tcp_rst_any_state(struct kunit *test)
{
	static const u8 extra[] = { 0, ACK, SYN, FIN, SYN | ACK, FIN | ACK };
	u8 s;
	unsigned int i;

	for (s = NATK_TCP_NONE; s <= NATK_TCP_MAX; s++)
		for (i = 0; i < ARRAY_SIZE(extra); i++) {
			KUNIT_EXPECT_EQ_MSG(test,
					    natk_tcp_next(s, true, RST | extra[i]),
					    NATK_TCP_RST, "state %u out", s);
			KUNIT_EXPECT_EQ_MSG(test,
					    natk_tcp_next(s, false, RST | extra[i]),
					    NATK_TCP_RST, "state %u in", s);
		}
}

/*
 * After a RST nothing but a new SYN moves the flow: no packet of the old
 * connection brings it back to ESTABLISHED (RFC 7857 2.2: it stays on the
 * transitory timeout).
 */
static void natk_tcp_rst_stays(struct kunit *test)
{
	static const struct natk_tcp_case c[] = {
		{ NATK_TCP_RST, true, ACK, NATK_TCP_RST },
		{ NATK_TCP_RST, false, ACK, NATK_TCP_RST },
		{ NATK_TCP_RST, true, 0, NATK_TCP_RST },
		{ NATK_TCP_RST, false, FIN | ACK, NATK_TCP_RST },
		{ NATK_TCP_RST, true, SYN | ACK, NATK_TCP_RST },
		{ NATK_TCP_RST, false, SYN | ACK, NATK_TCP_RST },
		/* A new connection attempt reopens the flow. */
		{ NATK_TCP_RST, true, SYN, NATK_TCP_SYN_OUT },
		{ NATK_TCP_RST, false, SYN, NATK_TCP_SYN_IN },
	};

	natk_tcp_check(test, c, ARRAY_SIZE(c));
}

/* Not TCP, or an unknown state: nothing moves it except a RST. */
static void natk_tcp_none_and_unknown(struct kunit *test)
{
	static const u8 flags[] = { 0, SYN, ACK, FIN, SYN | ACK, FIN | ACK };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		KUNIT_EXPECT_EQ(test, natk_tcp_next(NATK_TCP_NONE, true, flags[i]),
				NATK_TCP_NONE);
		KUNIT_EXPECT_EQ(test, natk_tcp_next(NATK_TCP_NONE, false, flags[i]),
				NATK_TCP_NONE);
		KUNIT_EXPECT_EQ(test, natk_tcp_next(__NATK_TCP_MAX, true, flags[i]),
				__NATK_TCP_MAX);
	}
}

/* A whole connection, both orders of closing. */
static void natk_tcp_lifecycle(struct kunit *test)
{
	u8 s = NATK_TCP_SYN_OUT;

	s = natk_tcp_next(s, false, SYN | ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_SYNACK_IN);
	s = natk_tcp_next(s, true, ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_ESTABLISHED);
	s = natk_tcp_next(s, true, ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_ESTABLISHED);
	s = natk_tcp_next(s, false, FIN | ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_FIN_IN);
	s = natk_tcp_next(s, true, FIN | ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_FIN_BOTH);
	s = natk_tcp_next(s, false, ACK);
	KUNIT_EXPECT_EQ(test, s, NATK_TCP_FIN_BOTH);
}

static void natk_tcp_may_create_flags(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, natk_tcp_may_create(SYN));
	KUNIT_EXPECT_TRUE(test, natk_tcp_may_create(SYN | FIN));
	KUNIT_EXPECT_FALSE(test, natk_tcp_may_create(SYN | ACK));
	KUNIT_EXPECT_FALSE(test, natk_tcp_may_create(SYN | RST));
	KUNIT_EXPECT_FALSE(test, natk_tcp_may_create(ACK));
	KUNIT_EXPECT_FALSE(test, natk_tcp_may_create(RST));
	KUNIT_EXPECT_FALSE(test, natk_tcp_may_create(FIN | ACK));
	KUNIT_EXPECT_FALSE(test, natk_tcp_may_create(0));
}

static struct kunit_case natk_tcp_cases[] = {
	KUNIT_CASE(natk_tcp_syn_out),
	KUNIT_CASE(natk_tcp_syn_in),
	KUNIT_CASE(natk_tcp_synack),
	KUNIT_CASE(natk_tcp_simultaneous_open),
	KUNIT_CASE(natk_tcp_established),
	KUNIT_CASE(natk_tcp_fin),
	KUNIT_CASE(natk_tcp_rst_any_state),
	KUNIT_CASE(natk_tcp_rst_stays),
	KUNIT_CASE(natk_tcp_none_and_unknown),
	KUNIT_CASE(natk_tcp_lifecycle),
	KUNIT_CASE(natk_tcp_may_create_flags),
	{}
};

static struct kunit_suite natk_tcp_suite = {
	.name = "natk_tcp",
	.test_cases = natk_tcp_cases,
};

kunit_test_suite(natk_tcp_suite);
