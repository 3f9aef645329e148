// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the fast path's record of a lookup that found no flow
 * (kmod/fastpath.c), which spares natk_out() a second lookup of the same
 * packet. The skbs are stand-ins: only their addresses are compared.
 */
#include "natk_test.h"

static const struct natk_okey natk_test_miss_key = {
	.iaddr = htonl(0x0a000002), .raddr = htonl(0xc0000202),
	.iport = htons(40000), .rport = htons(5000), .proto = IPPROTO_UDP,
};

/* The packet that missed, with its key: once, and only that once. */
static void natk_fp_miss_once(struct kunit *test)
{
	struct sk_buff *skb = kunit_kzalloc(test, sizeof(*skb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, skb);
	local_bh_disable();
	natk_fp_note_miss(skb, &natk_test_miss_key);
	KUNIT_EXPECT_TRUE(test, natk_fp_missed_out(skb, &natk_test_miss_key));
	KUNIT_EXPECT_FALSE(test, natk_fp_missed_out(skb, &natk_test_miss_key));
	local_bh_enable();
}

/* Another packet is looked up; the one that missed still need not be. */
static void natk_fp_miss_other_skb(struct kunit *test)
{
	struct sk_buff *skb = kunit_kzalloc(test, 2 * sizeof(*skb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, skb);
	local_bh_disable();
	natk_fp_note_miss(skb, &natk_test_miss_key);
	KUNIT_EXPECT_FALSE(test,
			   natk_fp_missed_out(skb + 1, &natk_test_miss_key));
	KUNIT_EXPECT_TRUE(test, natk_fp_missed_out(skb, &natk_test_miss_key));
	local_bh_enable();
}

/*
 * The packet's key changed on the way (a DNAT rule between the hooks, a
 * reused skb): looked up again, whichever field changed.
 */
static void natk_fp_miss_other_key(struct kunit *test)
{
	struct sk_buff *skb = kunit_kzalloc(test, sizeof(*skb), GFP_KERNEL);
	struct natk_okey k[5];
	int i;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	for (i = 0; i < ARRAY_SIZE(k); i++)
		k[i] = natk_test_miss_key;
	k[0].iaddr = htonl(0x0a000003);
	k[1].raddr = htonl(0xc0000203);
	k[2].iport = htons(40001);
	k[3].rport = htons(5001);
	k[4].proto = IPPROTO_TCP;
	local_bh_disable();
	for (i = 0; i < ARRAY_SIZE(k); i++) {
		natk_fp_note_miss(skb, &natk_test_miss_key);
		KUNIT_EXPECT_FALSE_MSG(test, natk_fp_missed_out(skb, &k[i]),
				       "field %d changed", i);
		/* Asked once: forgotten, even though the key differed. */
		KUNIT_EXPECT_FALSE(test,
				   natk_fp_missed_out(skb, &natk_test_miss_key));
	}
	local_bh_enable();
}

static struct kunit_case natk_fp_miss_cases[] = {
	KUNIT_CASE(natk_fp_miss_once),
	KUNIT_CASE(natk_fp_miss_other_skb),
	KUNIT_CASE(natk_fp_miss_other_key),
	{}
};

static struct kunit_suite natk_fp_miss_suite = {
	.name = "natk_fp_miss",
	.test_cases = natk_fp_miss_cases,
};

kunit_test_suite(natk_fp_miss_suite);
