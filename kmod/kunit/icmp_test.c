// SPDX-License-Identifier: GPL-2.0
/*
 * natk_icmp: ICMP error translation on synthetic skbs (RFC 5508). An error
 * about a flow has its outer address and the embedded packet rewritten,
 * with every checksum valid afterwards; a truncated embedded header or a
 * bad outer checksum is dropped and counted; an error about no flow is
 * passed to the host (inbound) or dropped (outbound), untouched.
 */
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/netfilter.h>
#include <net/checksum.h>
#include <net/ip.h>
#include "natk_test.h"

#define OUTER_LEN	(sizeof(struct iphdr) + sizeof(struct icmphdr))

struct natk_icmp_ctx {
	struct natk_net *nn;
	struct natk_flow *flow;
	__be16 eport;
};

/* A flow I:iport -> R:rport (proto) and its external port. */
static void natk_icmp_setup(struct kunit *test, struct natk_icmp_ctx *c,
			    u8 proto, u16 iport, u16 rport)
{
	struct natk_okey k = natk_test_okey(proto, NATK_T_INT, iport,
					    NATK_T_REM, rport);

	c->nn = natk_test_net(test);
	c->flow = natk_test_flow(test, c->nn, &k,
				 proto == IPPROTO_TCP ? NATK_TCP_ESTABLISHED : 0);
	c->eport = c->flow->eport;
}

/*
 * An ICMP error src -> dst about the first @ilen bytes of @inner, with
 * valid checksums. The first @linear bytes are in the linear area, the rest
 * in a page fragment (0: all linear).
 */
static struct sk_buff *natk_icmp_err(struct kunit *test, __be32 src,
				     __be32 dst, u8 type, u8 code,
				     const void *inner, unsigned int ilen,
				     unsigned int linear)
{
	unsigned int len = OUTER_LEN + ilen;
	u8 *buf = kunit_kzalloc(test, len, GFP_KERNEL);
	struct iphdr *iph = (struct iphdr *)buf;
	struct icmphdr *ih = (struct icmphdr *)(buf + sizeof(*iph));
	struct sk_buff *skb;
	struct page *page;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->tot_len = htons(len);
	iph->protocol = IPPROTO_ICMP;
	iph->saddr = src;
	iph->daddr = dst;
	ih->type = type;
	ih->code = code;
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
		ih->un.frag.mtu = htons(1400);
	memcpy(buf + OUTER_LEN, inner, ilen);
	natk_test_fix_csums(iph);
	if (!linear || linear >= len)
		return natk_test_skb_raw(test, buf, len);

	skb = natk_test_skb_raw(test, buf, linear);
	page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	memcpy(page_address(page), buf + linear, len - linear);
	skb_add_rx_frag(skb, 0, page, 0, len - linear, PAGE_SIZE);
	return skb;
}

/* The embedded packet natk sent out for the flow: ext:eport -> R:rport. */
static struct sk_buff *natk_icmp_inner_out(struct kunit *test,
					   struct natk_icmp_ctx *c, u8 proto,
					   u16 rport, unsigned int plen)
{
	return natk_test_skb(test, proto, NATK_T_EXT, ntohs(c->eport),
			     NATK_T_REM, rport, plen);
}

static unsigned int natk_in(struct natk_icmp_ctx *c, struct sk_buff *skb)
{
	unsigned int v;

	rcu_read_lock();
	v = natk_icmp_error_in(c->nn, natk_test_cfg(c->nn), skb);
	rcu_read_unlock();
	return v;
}

static unsigned int natk_out(struct natk_icmp_ctx *c, struct sk_buff *skb)
{
	unsigned int v;

	rcu_read_lock();
	v = natk_icmp_error_out(c->nn, natk_test_cfg(c->nn), skb, false);
	rcu_read_unlock();
	return v;
}

static struct iphdr *natk_inner_ip(struct sk_buff *skb)
{
	return (struct iphdr *)(skb->data + OUTER_LEN);
}

static void *natk_inner_l4(struct sk_buff *skb)
{
	return (u8 *)natk_inner_ip(skb) + natk_inner_ip(skb)->ihl * 4;
}

/* Outer IP and ICMP checksums and the inner IP checksum are valid. */
static void natk_expect_valid(struct kunit *test, struct sk_buff *skb)
{
	KUNIT_ASSERT_EQ(test, skb_linearize(skb), 0);
	KUNIT_EXPECT_TRUE(test, natk_test_ip_csum_ok(ip_hdr(skb)));
	KUNIT_EXPECT_EQ(test, csum_fold(skb_checksum(skb, sizeof(struct iphdr),
						     skb->len - sizeof(struct iphdr),
						     0)), 0);
	KUNIT_EXPECT_TRUE(test, natk_test_ip_csum_ok(natk_inner_ip(skb)));
}

/* The whole embedded packet is there: its L4 checksum must be valid. */
static void natk_expect_inner_l4(struct kunit *test, struct sk_buff *skb)
{
	struct iphdr *in = natk_inner_ip(skb);
	u8 *l4 = natk_inner_l4(skb);
	__sum16 *check, got;

	switch (in->protocol) {
	case IPPROTO_TCP:
		check = &((struct tcphdr *)l4)->check;
		break;
	case IPPROTO_UDP:
		check = &((struct udphdr *)l4)->check;
		break;
	default:
		check = &((struct icmphdr *)l4)->checksum;
		break;
	}
	got = *check;
	*check = 0;
	KUNIT_EXPECT_EQ(test, got, natk_test_l4_csum(in, ntohs(in->tot_len)));
	*check = got;
}

static void natk_icmp_in_udp(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	struct udphdr *uh;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_UDP, 53, 12);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_FRAG_NEEDED, inner->data, inner->len, 0);

	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_INT);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NATK_T_ROUTER);
	KUNIT_EXPECT_EQ(test, natk_inner_ip(skb)->saddr, NATK_T_INT);
	KUNIT_EXPECT_EQ(test, natk_inner_ip(skb)->daddr, NATK_T_REM);
	uh = natk_inner_l4(skb);
	KUNIT_EXPECT_EQ(test, uh->source, htons(1234));
	KUNIT_EXPECT_EQ(test, uh->dest, htons(53));
	natk_expect_valid(test, skb);
	natk_expect_inner_l4(test, skb);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn,
					     NATK_STAT_ICMP_ERRORS_TRANSLATED),
			1ULL);
	/* An error never refreshes or kills the flow. */
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(c.flow, NATK_FLOW_DEAD));
}

/* RFC 792 minimum: the inner TCP header is cut after 8 bytes. */
static void natk_icmp_in_tcp_8_bytes(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	struct tcphdr *th;

	natk_icmp_setup(test, &c, IPPROTO_TCP, 40000, 443);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_TCP, 443, 0);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_TIME_EXCEEDED,
			    ICMP_EXC_TTL, inner->data, sizeof(struct iphdr) + 8,
			    0);

	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_INT);
	th = natk_inner_l4(skb);
	KUNIT_EXPECT_EQ(test, th->source, htons(40000));
	KUNIT_EXPECT_EQ(test, th->seq, htonl(1000));
	KUNIT_EXPECT_EQ(test, skb->len, OUTER_LEN + sizeof(struct iphdr) + 8);
	natk_expect_valid(test, skb);
}

/*
 * A whole TCP segment quoted, about a flow whose port was not preserved
 * (another host has 40000): the outer destination, the embedded addresses
 * and ports go back to the internal host's, the embedded TCP checksum is
 * fixed, the payload is left alone.
 */
static void natk_icmp_in_tcp_full(struct kunit *test)
{
	struct natk_okey other = natk_test_okey(IPPROTO_TCP, NATK_T_INT2, 40000,
						NATK_T_REM, 443);
	struct natk_okey k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 40000,
					    NATK_T_REM, 443);
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	struct tcphdr *th;
	u8 payload[30];

	c.nn = natk_test_net(test);
	natk_test_flow(test, c.nn, &other, NATK_TCP_ESTABLISHED);
	c.flow = natk_test_flow(test, c.nn, &k, NATK_TCP_ESTABLISHED);
	c.eport = c.flow->eport;
	KUNIT_ASSERT_NE(test, c.eport, htons(40000));
	inner = natk_icmp_inner_out(test, &c, IPPROTO_TCP, 443, 30);
	memcpy(payload, inner->data + sizeof(struct iphdr) +
	       sizeof(struct tcphdr), sizeof(payload));
	skb = natk_icmp_err(test, NATK_T_REM, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_PORT_UNREACH, inner->data, inner->len, 0);

	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	natk_expect_valid(test, skb);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NATK_T_REM);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_INT);
	KUNIT_EXPECT_EQ(test, ((struct icmphdr *)(skb->data +
					       sizeof(struct iphdr)))->type,
			ICMP_DEST_UNREACH);
	KUNIT_EXPECT_EQ(test, natk_inner_ip(skb)->saddr, NATK_T_INT);
	KUNIT_EXPECT_EQ(test, natk_inner_ip(skb)->daddr, NATK_T_REM);
	th = natk_inner_l4(skb);
	KUNIT_EXPECT_EQ(test, th->source, htons(40000));
	KUNIT_EXPECT_EQ(test, th->dest, htons(443));
	KUNIT_EXPECT_EQ(test, th->seq, htonl(1000));
	KUNIT_EXPECT_MEMEQ(test, (u8 *)th + sizeof(*th), payload,
			   sizeof(payload));
	natk_expect_inner_l4(test, skb);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn,
					     NATK_STAT_ICMP_ERRORS_TRANSLATED),
			1ULL);
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(c.flow, NATK_FLOW_DEAD));
}

/* An error about an echo request: the identifier is translated back. */
static void natk_icmp_in_echo(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	struct icmphdr *ih;

	natk_icmp_setup(test, &c, IPPROTO_ICMP, 777, 0);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_ICMP, 0, 24);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_TIME_EXCEEDED,
			    ICMP_EXC_TTL, inner->data, inner->len, 0);

	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	ih = natk_inner_l4(skb);
	KUNIT_EXPECT_EQ(test, ih->type, ICMP_ECHO);
	KUNIT_EXPECT_EQ(test, ih->un.echo.id, htons(777));
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_INT);
	natk_expect_valid(test, skb);
	natk_expect_inner_l4(test, skb);
}

/* The embedded packet lies in a page fragment: it must be pulled. */
static void natk_icmp_in_nonlinear(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	struct udphdr *uh;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_UDP, 53, 100);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_FRAG_NEEDED, inner->data, inner->len,
			    sizeof(struct iphdr));
	KUNIT_ASSERT_TRUE(test, skb_is_nonlinear(skb));

	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	natk_expect_valid(test, skb);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_INT);
	uh = natk_inner_l4(skb);
	KUNIT_EXPECT_EQ(test, uh->source, htons(1234));
	natk_expect_inner_l4(test, skb);
}

/* A lan host reports an error about a packet natk delivered to it. */
static void natk_icmp_out_udp(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	struct udphdr *uh;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	/* What natk delivered: R:53 -> I:1234. */
	inner = natk_test_skb(test, IPPROTO_UDP, NATK_T_REM, 53, NATK_T_INT,
			      1234, 16);
	skb = natk_icmp_err(test, NATK_T_INT, NATK_T_REM, ICMP_DEST_UNREACH,
			    ICMP_PORT_UNREACH, inner->data, inner->len, 0);

	KUNIT_EXPECT_EQ(test, natk_out(&c, skb), NF_ACCEPT);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->saddr, NATK_T_EXT);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_REM);
	KUNIT_EXPECT_EQ(test, natk_inner_ip(skb)->daddr, NATK_T_EXT);
	KUNIT_EXPECT_EQ(test, natk_inner_ip(skb)->saddr, NATK_T_REM);
	uh = natk_inner_l4(skb);
	KUNIT_EXPECT_EQ(test, uh->dest, c.eport);
	KUNIT_EXPECT_EQ(test, uh->source, htons(53));
	natk_expect_valid(test, skb);
	natk_expect_inner_l4(test, skb);
}

static void natk_expect_unchanged(struct kunit *test, struct sk_buff *skb,
				  const u8 *copy, unsigned int len)
{
	KUNIT_ASSERT_EQ(test, skb->len, len);
	KUNIT_ASSERT_EQ(test, skb_linearize(skb), 0);
	KUNIT_EXPECT_EQ(test, memcmp(skb->data, copy, len), 0);
}

static u8 *natk_copy(struct kunit *test, struct sk_buff *skb)
{
	u8 *copy = kunit_kzalloc(test, skb->len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, copy);
	KUNIT_ASSERT_EQ(test, skb_copy_bits(skb, 0, copy, skb->len), 0);
	return copy;
}

/* Inner IP header complete, but fewer than 8 bytes of L4 header. */
static void natk_icmp_truncated_l4(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb, *skb2;
	u8 *copy;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_UDP, 53, 12);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_HOST_UNREACH, inner->data,
			    sizeof(struct iphdr) + 4, 0);
	copy = natk_copy(test, skb);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_DROP);
	natk_expect_unchanged(test, skb, copy, OUTER_LEN + 24);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_INVALID), 1ULL);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_PACKETS_DROPPED),
			1ULL);

	inner = natk_test_skb(test, IPPROTO_UDP, NATK_T_REM, 53, NATK_T_INT,
			      1234, 16);
	skb2 = natk_icmp_err(test, NATK_T_INT, NATK_T_REM, ICMP_DEST_UNREACH,
			     ICMP_PORT_UNREACH, inner->data,
			     sizeof(struct iphdr) + 7, 0);
	KUNIT_EXPECT_EQ(test, natk_out(&c, skb2), NF_DROP);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_INVALID), 2ULL);
}

/* Not even a whole inner IP header; and a bogus inner header length. */
static void natk_icmp_truncated_ip(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_UDP, 53, 12);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_HOST_UNREACH, inner->data, 12, 0);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_DROP);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_INVALID), 1ULL);

	/* ihl 15 (60 bytes): the L4 header would be past the end. */
	((struct iphdr *)inner->data)->ihl = 15;
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_HOST_UNREACH, inner->data, inner->len, 0);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_DROP);
	/* ihl 3: shorter than an IP header. */
	((struct iphdr *)inner->data)->ihl = 3;
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_HOST_UNREACH, inner->data, inner->len, 0);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_DROP);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_INVALID), 3ULL);
}

/* A later fragment has no L4 header to match. */
static void natk_icmp_inner_fragment(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_UDP, 53, 12);
	ip_hdr(inner)->frag_off = htons(100);
	ip_send_check(ip_hdr(inner));
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_HOST_UNREACH, inner->data, inner->len, 0);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_DROP);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_INVALID), 1ULL);
}

static void natk_icmp_no_flow(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	u8 *copy;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	/* Another external port: passed to the host, untouched. */
	inner = natk_test_skb(test, IPPROTO_UDP, NATK_T_EXT,
			      ntohs(c.eport) ^ 0x100, NATK_T_REM, 53, 12);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_FRAG_NEEDED, inner->data, inner->len, 0);
	copy = natk_copy(test, skb);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	natk_expect_unchanged(test, skb, copy, inner->len + OUTER_LEN);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_PASSED_NO_FLOW),
			1ULL);

	/* Another remote port. */
	inner = natk_icmp_inner_out(test, &c, IPPROTO_UDP, 54, 12);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_FRAG_NEEDED, inner->data, inner->len, 0);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	KUNIT_EXPECT_EQ(test, ip_hdr(skb)->daddr, NATK_T_EXT);

	/* About the host's own traffic (not from the external address). */
	inner = natk_test_skb(test, IPPROTO_UDP, NATK_T_ROUTER, ntohs(c.eport),
			      NATK_T_REM, 53, 12);
	skb = natk_icmp_err(test, NATK_T_REM, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_PORT_UNREACH, inner->data, inner->len, 0);
	copy = natk_copy(test, skb);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_ACCEPT);
	natk_expect_unchanged(test, skb, copy, inner->len + OUTER_LEN);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_PASSED_NO_FLOW),
			3ULL);

	/* Outbound with no flow: dropped. */
	inner = natk_test_skb(test, IPPROTO_UDP, NATK_T_REM, 53, NATK_T_INT,
			      4321, 16);
	skb = natk_icmp_err(test, NATK_T_INT, NATK_T_REM, ICMP_DEST_UNREACH,
			    ICMP_PORT_UNREACH, inner->data, inner->len, 0);
	KUNIT_EXPECT_EQ(test, natk_out(&c, skb), NF_DROP);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_NO_FLOW), 1ULL);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn,
					     NATK_STAT_ICMP_ERRORS_TRANSLATED),
			0ULL);
}

static void natk_icmp_bad_checksum(struct kunit *test)
{
	struct natk_icmp_ctx c;
	struct sk_buff *inner, *skb;
	struct icmphdr *ih;
	u8 *copy;

	natk_icmp_setup(test, &c, IPPROTO_UDP, 1234, 53);
	inner = natk_icmp_inner_out(test, &c, IPPROTO_UDP, 53, 12);
	skb = natk_icmp_err(test, NATK_T_ROUTER, NATK_T_EXT, ICMP_DEST_UNREACH,
			    ICMP_FRAG_NEEDED, inner->data, inner->len, 0);
	ih = (struct icmphdr *)(skb->data + sizeof(struct iphdr));
	ih->checksum ^= htons(0x0101);
	copy = natk_copy(test, skb);
	KUNIT_EXPECT_EQ(test, natk_in(&c, skb), NF_DROP);
	natk_expect_unchanged(test, skb, copy, inner->len + OUTER_LEN);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_BAD_CHECKSUM),
			1ULL);

	/* Same outbound. */
	inner = natk_test_skb(test, IPPROTO_UDP, NATK_T_REM, 53, NATK_T_INT,
			      1234, 16);
	skb = natk_icmp_err(test, NATK_T_INT, NATK_T_REM, ICMP_DEST_UNREACH,
			    ICMP_PORT_UNREACH, inner->data, inner->len, 0);
	/* A corrupted payload byte: the ICMP checksum covers it. */
	skb->data[skb->len - 1] ^= 0x40;
	KUNIT_EXPECT_EQ(test, natk_out(&c, skb), NF_DROP);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_DROP_BAD_CHECKSUM),
			2ULL);
	KUNIT_EXPECT_EQ(test, natk_test_stat(c.nn, NATK_STAT_PACKETS_DROPPED),
			2ULL);
}

static void natk_icmp_is_error_types(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, natk_icmp_is_error(ICMP_DEST_UNREACH));
	KUNIT_EXPECT_TRUE(test, natk_icmp_is_error(ICMP_TIME_EXCEEDED));
	KUNIT_EXPECT_TRUE(test, natk_icmp_is_error(ICMP_PARAMETERPROB));
	KUNIT_EXPECT_FALSE(test, natk_icmp_is_error(ICMP_ECHO));
	KUNIT_EXPECT_FALSE(test, natk_icmp_is_error(ICMP_ECHOREPLY));
	KUNIT_EXPECT_FALSE(test, natk_icmp_is_error(ICMP_REDIRECT));
	KUNIT_EXPECT_FALSE(test, natk_icmp_is_error(ICMP_TIMESTAMP));
}

static struct kunit_case natk_icmp_cases[] = {
	KUNIT_CASE(natk_icmp_in_udp),
	KUNIT_CASE(natk_icmp_in_tcp_8_bytes),
	KUNIT_CASE(natk_icmp_in_tcp_full),
	KUNIT_CASE(natk_icmp_in_echo),
	KUNIT_CASE(natk_icmp_in_nonlinear),
	KUNIT_CASE(natk_icmp_out_udp),
	KUNIT_CASE(natk_icmp_truncated_l4),
	KUNIT_CASE(natk_icmp_truncated_ip),
	KUNIT_CASE(natk_icmp_inner_fragment),
	KUNIT_CASE(natk_icmp_no_flow),
	KUNIT_CASE(natk_icmp_bad_checksum),
	KUNIT_CASE(natk_icmp_is_error_types),
	{}
};

static struct kunit_suite natk_icmp_suite = {
	.name = "natk_icmp",
	.test_cases = natk_icmp_cases,
};

kunit_test_suite(natk_icmp_suite);
