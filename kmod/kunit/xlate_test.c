// SPDX-License-Identifier: GPL-2.0
/*
 * natk_xlate: natk_manip() on synthetic skbs. After every rewrite the IP
 * and L4 checksums are recomputed from scratch and must equal what the
 * incremental update produced; CHECKSUM_PARTIAL skbs (local and GSO
 * traffic) keep a pseudo-header sum that a device (here
 * skb_checksum_help() and software GSO) completes correctly; a UDP checksum
 * of zero stays zero; a computed zero becomes 0xffff.
 */
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/netdevice.h>
#include <linux/unaligned.h>
#include <net/checksum.h>
#include <net/gso.h>
#include <net/ip.h>
#include <net/tcp.h>
#include "natk_test.h"

#define NEW_ADDR	NATK_T_EXT
#define NEW_PORT	htons(61000)

static struct tcphdr *natk_th(struct sk_buff *skb)
{
	return (struct tcphdr *)(skb->data + ip_hdrlen(skb));
}

static struct udphdr *natk_uh(struct sk_buff *skb)
{
	return (struct udphdr *)(skb->data + ip_hdrlen(skb));
}

/* The checksum field as it is, and as a full recompute makes it. */
static void natk_expect_csums(struct kunit *test, struct sk_buff *skb,
			      __sum16 *check)
{
	struct iphdr *iph = ip_hdr(skb);
	__sum16 got = *check, want;

	KUNIT_EXPECT_TRUE(test, natk_test_ip_csum_ok(iph));
	*check = 0;
	want = natk_test_l4_csum(iph, skb->len);
	*check = got;
	if (iph->protocol == IPPROTO_UDP && !want)
		want = CSUM_MANGLED_0;
	KUNIT_EXPECT_EQ_MSG(test, (__force u16)got, (__force u16)want,
			    "incremental %#06x, recomputed %#06x",
			    (__force u16)got, (__force u16)want);
}

static void natk_xlate_tcp_snat(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_TCP, NATK_T_INT, 40000,
					    NATK_T_REM, 80, 100);

	KUNIT_ASSERT_EQ(test, natk_manip(skb, true, NEW_ADDR, NEW_PORT), 0);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NEW_ADDR);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_REM);
	KUNIT_EXPECT_EQ(test, natk_th(skb)->source, NEW_PORT);
	KUNIT_EXPECT_EQ(test, natk_th(skb)->dest, htons(80));
	natk_expect_csums(test, skb, &natk_th(skb)->check);
}

static void natk_xlate_tcp_dnat(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_TCP, NATK_T_REM, 80,
					    NATK_T_EXT, 61000, 33);

	KUNIT_ASSERT_EQ(test, natk_manip(skb, false, NATK_T_INT, htons(40000)), 0);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_INT);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NATK_T_REM);
	KUNIT_EXPECT_EQ(test, natk_th(skb)->dest, htons(40000));
	KUNIT_EXPECT_EQ(test, natk_th(skb)->source, htons(80));
	natk_expect_csums(test, skb, &natk_th(skb)->check);
}

/* Many address/port pairs, odd lengths: incremental == recompute. */
static void natk_xlate_many(struct kunit *test)
{
	static const u8 protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct sk_buff *skb;
	unsigned int i, p;
	__sum16 *check;
	u32 r;

	for (p = 0; p < ARRAY_SIZE(protos); p++)
		for (i = 0; i < 200; i++) {
			r = get_random_u32();
			skb = natk_test_skb(test, protos[p], get_random_u32(),
					    r & 0xffff, get_random_u32(), r >> 16,
					    i % 37);
			KUNIT_ASSERT_EQ(test, natk_manip(skb, i & 1,
							 get_random_u32(),
							 (__force __be16)(u16)
							 get_random_u32()), 0);
			check = protos[p] == IPPROTO_TCP ?
				&natk_th(skb)->check : &natk_uh(skb)->check;
			natk_expect_csums(test, skb, check);
		}
}

static void natk_xlate_udp(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_UDP, NATK_T_INT, 5353,
					    NATK_T_REM, 53, 21);

	KUNIT_ASSERT_NE(test, natk_uh(skb)->check, 0);
	KUNIT_ASSERT_EQ(test, natk_manip(skb, true, NEW_ADDR, NEW_PORT), 0);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NEW_ADDR);
	KUNIT_EXPECT_EQ(test, natk_uh(skb)->source, NEW_PORT);
	natk_expect_csums(test, skb, &natk_uh(skb)->check);
}

static void natk_xlate_udp_zero_csum(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_UDP, NATK_T_INT, 5353,
					    NATK_T_REM, 53, 21);

	natk_uh(skb)->check = 0;	/* sender computed none */
	KUNIT_ASSERT_EQ(test, natk_manip(skb, true, NEW_ADDR, NEW_PORT), 0);
	KUNIT_EXPECT_EQ(test, natk_uh(skb)->check, 0);
	KUNIT_EXPECT_EQ(test, natk_uh(skb)->source, NEW_PORT);
	KUNIT_EXPECT_TRUE(test, natk_test_ip_csum_ok(ip_hdr(skb)));
	KUNIT_ASSERT_EQ(test, natk_manip(skb, false, NATK_T_INT2, htons(9)), 0);
	KUNIT_EXPECT_EQ(test, natk_uh(skb)->check, 0);
}

/* The new port for which the rewritten UDP checksum computes to zero. */
static void natk_xlate_udp_mangled_zero(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_UDP, NATK_T_INT, 5353,
					    NATK_T_REM, 53, 10);
	struct udphdr *uh = natk_uh(skb);
	__sum16 old = uh->check;
	__be16 oldport = uh->source;
	u32 port;

	/* Find the port: checksum(new) = ~(~old + ~oldport + port + addr). */
	for (port = 1; port < 65536; port++) {
		__sum16 c = old;

		csum_replace4(&c, ip_hdr(skb)->saddr, NEW_ADDR);
		csum_replace2(&c, oldport, htons(port));
		if (!c)
			break;
	}
	KUNIT_ASSERT_LT(test, port, 65536U);
	KUNIT_ASSERT_EQ(test, natk_manip(skb, true, NEW_ADDR, htons(port)), 0);
	KUNIT_EXPECT_EQ(test, (__force u16)natk_uh(skb)->check, 0xffff);
	natk_expect_csums(test, skb, &natk_uh(skb)->check);
}

static void natk_xlate_icmp_echo(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_ICMP, NATK_T_INT, 777,
					    NATK_T_REM, 0, 56);
	struct icmphdr *ih = (struct icmphdr *)(skb->data + ip_hdrlen(skb));

	KUNIT_ASSERT_EQ(test, natk_manip(skb, true, NEW_ADDR, NEW_PORT), 0);
	ih = (struct icmphdr *)(skb->data + ip_hdrlen(skb));
	KUNIT_EXPECT_EQ(test, ih->un.echo.id, NEW_PORT);
	KUNIT_EXPECT_EQ(test, ih->un.echo.sequence, htons(1));
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NEW_ADDR);
	natk_expect_csums(test, skb, &ih->checksum);
}

static void natk_set_partial(struct sk_buff *skb)
{
	struct iphdr *iph = ip_hdr(skb);
	unsigned int l4len = skb->len - ip_hdrlen(skb);
	__sum16 *check = iph->protocol == IPPROTO_TCP ?
			 &natk_th(skb)->check : &natk_uh(skb)->check;

	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_headroom(skb) + ip_hdrlen(skb);
	skb->csum_offset = iph->protocol == IPPROTO_TCP ?
			   offsetof(struct tcphdr, check) :
			   offsetof(struct udphdr, check);
	/* Only the pseudo-header sum: the device adds the rest. */
	*check = ~csum_tcpudp_magic(iph->saddr, iph->daddr, l4len,
				    iph->protocol, 0);
}

static void natk_xlate_partial(struct kunit *test, u8 proto)
{
	struct sk_buff *skb = natk_test_skb(test, proto, NATK_T_INT, 40000,
					    NATK_T_REM, 443, 300);
	unsigned int l4len = skb->len - ip_hdrlen(skb);
	__sum16 *check, want;

	natk_set_partial(skb);
	KUNIT_ASSERT_EQ(test, natk_manip(skb, true, NEW_ADDR, NEW_PORT), 0);
	check = proto == IPPROTO_TCP ? &natk_th(skb)->check :
		&natk_uh(skb)->check;
	KUNIT_EXPECT_EQ(test, (int)skb->ip_summed, CHECKSUM_PARTIAL);
	want = ~csum_tcpudp_magic(NEW_ADDR, NATK_T_REM, l4len, proto, 0);
	KUNIT_EXPECT_EQ(test, *check, want);
	KUNIT_EXPECT_TRUE(test, natk_test_ip_csum_ok(ip_hdr(skb)));
	/* What the device would send. */
	KUNIT_ASSERT_EQ(test, skb_checksum_help(skb), 0);
	check = proto == IPPROTO_TCP ? &natk_th(skb)->check :
		&natk_uh(skb)->check;
	natk_expect_csums(test, skb, check);
}

static void natk_xlate_tcp_partial(struct kunit *test)
{
	natk_xlate_partial(test, IPPROTO_TCP);
}

static void natk_xlate_udp_partial(struct kunit *test)
{
	natk_xlate_partial(test, IPPROTO_UDP);
}

/* CHECKSUM_COMPLETE: skb->csum must still be the sum of the packet. */
static void natk_xlate_complete(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_TCP, NATK_T_REM, 80,
					    NATK_T_EXT, 61000, 77);
	unsigned int off = ip_hdrlen(skb);

	skb->ip_summed = CHECKSUM_COMPLETE;
	skb->csum = skb_checksum(skb, off, skb->len - off, 0);
	KUNIT_ASSERT_EQ(test, natk_manip(skb, false, NATK_T_INT, htons(40000)), 0);
	natk_expect_csums(test, skb, &natk_th(skb)->check);
	/* skb->csum covers the L4 part; with the pseudo-header it is 0. */
	KUNIT_EXPECT_EQ(test, csum_tcpudp_magic(NATK_T_REM, NATK_T_INT,
						skb->len - off, IPPROTO_TCP,
						skb->csum), 0);
}

/* A GSO TCP skb: every segment software GSO makes has a valid checksum. */
static void natk_xlate_gso(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_TCP, NATK_T_INT, 40000,
					    NATK_T_REM, 443, 1000);
	struct sk_buff *segs, *seg;
	int n = 0, bad = 0;

	natk_set_partial(skb);
	skb_shinfo(skb)->gso_size = 300;
	skb_shinfo(skb)->gso_type = SKB_GSO_TCPV4;
	skb_shinfo(skb)->gso_segs = 4;
	KUNIT_ASSERT_EQ(test, natk_manip(skb, true, NEW_ADDR, NEW_PORT), 0);
	KUNIT_EXPECT_EQ(test, (int)skb->ip_summed, CHECKSUM_PARTIAL);
	KUNIT_EXPECT_TRUE(test, skb_is_gso(skb));

	skb_reset_mac_header(skb);
	skb->mac_len = 0;
	segs = skb_gso_segment(skb, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(segs));
	skb_list_walk_safe(segs, seg, segs) {
		struct iphdr *iph;
		struct tcphdr *th;
		__sum16 got;

		skb_mark_not_on_list(seg);
		n++;
		if (seg->ip_summed == CHECKSUM_PARTIAL &&
		    skb_checksum_help(seg))
			bad++;
		iph = ip_hdr(seg);
		th = (struct tcphdr *)((u8 *)iph + iph->ihl * 4);
		KUNIT_EXPECT_EQ(test, iph->saddr, NEW_ADDR);
		KUNIT_EXPECT_EQ(test, th->source, NEW_PORT);
		KUNIT_EXPECT_TRUE(test, natk_test_ip_csum_ok(iph));
		got = th->check;
		th->check = 0;
		KUNIT_EXPECT_EQ_MSG(test, got,
				    natk_test_l4_csum(iph, ntohs(iph->tot_len)),
				    "segment %d", n);
		kfree_skb(seg);
	}
	KUNIT_EXPECT_EQ(test, n, 4);
	KUNIT_EXPECT_EQ(test, bad, 0);
}

/* A clone is made private before it is written; the original is intact. */
static void natk_xlate_cloned(struct kunit *test)
{
	struct sk_buff *skb = natk_test_skb(test, IPPROTO_UDP, NATK_T_INT, 5353,
					    NATK_T_REM, 53, 40);
	struct sk_buff *clone = skb_clone(skb, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, clone);
	KUNIT_EXPECT_EQ(test, natk_manip(clone, true, NEW_ADDR, NEW_PORT), 0);
	KUNIT_EXPECT_EQ(test, ip_hdr(clone)->saddr, NEW_ADDR);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NATK_T_INT);
	KUNIT_EXPECT_EQ(test, natk_uh(skb)->source, htons(5353));
	natk_expect_csums(test, clone, &natk_uh(clone)->check);
	kfree_skb(clone);
}

/*
 * MSS clamping after 0 to 4 NOPs: the checksum sums 16-bit words at even
 * offsets, so an MSS value at an odd offset counts byte-swapped, and the
 * incremental update must be made that way too.
 */
static void natk_xlate_mss_clamp(struct kunit *test)
{
	unsigned int nops;

	for (nops = 0; nops <= 4; nops++) {
		struct sk_buff *skb = natk_test_skb(test, IPPROTO_TCP, NATK_T_INT,
						    40000, NATK_T_REM, 80, 8);
		struct tcphdr *th = natk_th(skb);
		u8 *opt = (u8 *)(th + 1);
		__be16 mss;

		memset(opt, TCPOPT_EOL, 8);
		memset(opt, TCPOPT_NOP, nops);
		opt[nops] = TCPOPT_MSS;
		opt[nops + 1] = TCPOLEN_MSS;
		put_unaligned_be16(1460, opt + nops + 2);
		th->doff = 7;
		th->syn = 1;
		th->ack = 0;
		natk_test_fix_csums(ip_hdr(skb));

		KUNIT_EXPECT_EQ(test, natk_mss_clamp(skb, ip_hdrlen(skb), 1300), 1);
		memcpy(&mss, opt + nops + 2, sizeof(mss));
		KUNIT_EXPECT_EQ_MSG(test, ntohs(mss), 1300, "after %u NOPs", nops);
		natk_expect_csums(test, skb, &natk_th(skb)->check);
		/* At or below the clamp: untouched. */
		KUNIT_EXPECT_EQ(test, natk_mss_clamp(skb, ip_hdrlen(skb), 1400), 0);
	}
}

static void natk_xlate_l4_hdrlen(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, natk_l4_hdrlen(IPPROTO_TCP), 20);
	KUNIT_EXPECT_EQ(test, natk_l4_hdrlen(IPPROTO_UDP), 8);
	KUNIT_EXPECT_EQ(test, natk_l4_hdrlen(IPPROTO_ICMP), 8);
	KUNIT_EXPECT_EQ(test, natk_l4_hdrlen(IPPROTO_GRE), -1);
	KUNIT_EXPECT_EQ(test, natk_l4_hdrlen(IPPROTO_SCTP), -1);
}

static struct kunit_case natk_xlate_cases[] = {
	KUNIT_CASE(natk_xlate_tcp_snat),
	KUNIT_CASE(natk_xlate_tcp_dnat),
	KUNIT_CASE(natk_xlate_many),
	KUNIT_CASE(natk_xlate_udp),
	KUNIT_CASE(natk_xlate_udp_zero_csum),
	KUNIT_CASE(natk_xlate_udp_mangled_zero),
	KUNIT_CASE(natk_xlate_icmp_echo),
	KUNIT_CASE(natk_xlate_tcp_partial),
	KUNIT_CASE(natk_xlate_udp_partial),
	KUNIT_CASE(natk_xlate_complete),
	KUNIT_CASE(natk_xlate_gso),
	KUNIT_CASE(natk_xlate_cloned),
	KUNIT_CASE(natk_xlate_mss_clamp),
	KUNIT_CASE(natk_xlate_l4_hdrlen),
	{}
};

static struct kunit_suite natk_xlate_suite = {
	.name = "natk_xlate",
	.test_cases = natk_xlate_cases,
};

kunit_test_suite(natk_xlate_suite);
