// SPDX-License-Identifier: GPL-2.0
/*
 * natk ICMP error translation (RFC 5508 REQ-3 to REQ-5, REQ-10).
 *
 * An ICMP error (destination unreachable, including fragmentation needed,
 * time exceeded, parameter problem) carries the IP header and at least
 * 8 bytes of the packet that caused it. natk matches that embedded packet to
 * a flow, checks that it really belongs to it, and rewrites the embedded
 * header back (or forth) together with the outer address, so PMTU discovery
 * and traceroute work through the NAT. Errors never refresh or delete a flow
 * (RFC 4787 REQ-12, RFC 5508 REQ-6). The outer ICMP checksum is verified
 * before anything is touched (RFC 5508 REQ-3); the embedded transport
 * checksum is not validated, only kept consistent where it is present.
 */
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include "natk.h"

bool natk_icmp_is_error(u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB || type == ICMP_SOURCE_QUENCH;
}

struct natk_inner {
	unsigned int ioff;	/* embedded IP header */
	unsigned int l4off;	/* embedded L4 header */
	u8 proto;
	__be32 saddr, daddr;
	__be16 sport, dport;	/* ICMP: id in sport, 0 in dport */
};

/*
 * Validate an ICMP error and parse its embedded packet. Everything read is
 * pulled into the linear area first. Returns 0, or the drop reason.
 */
static int natk_icmp_parse(struct sk_buff *skb, struct natk_inner *in)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int off = skb_network_offset(skb) + iph->ihl * 4;
	const struct iphdr *inner;
	unsigned int ihl;

	/* The outer IP stack has checked tot_len against skb->len. */
	if (!pskb_may_pull(skb, off + sizeof(struct icmphdr) +
			   sizeof(struct iphdr)))
		return NATK_STAT_DROP_INVALID;

	if (skb->ip_summed != CHECKSUM_UNNECESSARY &&
	    skb->ip_summed != CHECKSUM_PARTIAL &&
	    csum_fold(skb_checksum(skb, off, skb->len - off, 0)))
		return NATK_STAT_DROP_BAD_CHECKSUM;

	in->ioff = off + sizeof(struct icmphdr);
	inner = (const struct iphdr *)(skb->data + in->ioff);
	ihl = inner->ihl * 4;
	if (inner->version != 4 || ihl < sizeof(struct iphdr))
		return NATK_STAT_DROP_INVALID;
	/* Later fragments carry no L4 header to match. */
	if (inner->frag_off & htons(IP_OFFSET))
		return NATK_STAT_DROP_INVALID;
	in->l4off = in->ioff + ihl;
	/* RFC 792: at least 8 bytes of the original datagram's data. */
	if (!pskb_may_pull(skb, in->l4off + 8))
		return NATK_STAT_DROP_INVALID;
	inner = (const struct iphdr *)(skb->data + in->ioff);
	in->proto = inner->protocol;
	in->saddr = inner->saddr;
	in->daddr = inner->daddr;

	switch (in->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP: {
		const __be16 *ports = (const __be16 *)(skb->data + in->l4off);

		in->sport = ports[0];
		in->dport = ports[1];
		return 0;
	}
	case IPPROTO_ICMP: {
		const struct icmphdr *ih =
			(const struct icmphdr *)(skb->data + in->l4off);

		/* Only an error about an echo request can match a flow. */
		if (ih->type != ICMP_ECHO && ih->type != ICMP_ECHOREPLY)
			return NATK_STAT_DROP_NO_FLOW;
		in->sport = ih->un.echo.id;
		in->dport = 0;
		return 0;
	}
	default:
		return NATK_STAT_DROP_NO_FLOW;
	}
}

/*
 * Rewrite the embedded packet's source (@src) or destination endpoint, and
 * the outer destination (@src) or source address, then recompute the ICMP
 * checksum. The embedded L4 checksum is adjusted where the header holds it.
 */
static int natk_icmp_rewrite(struct sk_buff *skb, const struct natk_inner *in,
			     bool src, __be32 addr, __be16 port)
{
	unsigned int off, len;
	struct iphdr *iph, *inner;
	__be32 *ia, olda;
	__be16 *ip, oldp;
	__sum16 *l4check = NULL;
	struct icmphdr *icmph;

	if (skb_ensure_writable(skb, skb->len))
		return -ENOMEM;
	iph = ip_hdr(skb);
	inner = (struct iphdr *)(skb->data + in->ioff);
	ia = src ? &inner->saddr : &inner->daddr;
	olda = *ia;
	/* Mutant icmp_inner_kept: the embedded packet is left as it is. */
	if (natk_mutant(icmp_inner_kept))
		goto outer;

	switch (in->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = (struct tcphdr *)(skb->data + in->l4off);

		ip = src ? &th->source : &th->dest;
		if (skb->len >= in->l4off + offsetofend(struct tcphdr, check))
			l4check = &th->check;
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = (struct udphdr *)(skb->data + in->l4off);

		ip = src ? &uh->source : &uh->dest;
		if (uh->check)
			l4check = &uh->check;
		break;
	}
	default: {
		struct icmphdr *ih = (struct icmphdr *)(skb->data + in->l4off);

		/* Echo id; its checksum has no pseudo-header. */
		ip = &ih->un.echo.id;
		oldp = *ip;
		if (!natk_mutant(icmp_inner_csum))
			csum_replace2(&ih->checksum, oldp, port);
		*ip = port;
		goto addr;
	}
	}
	oldp = *ip;
	/* Mutant icmp_inner_csum: embedded checksums are not adjusted. */
	if (l4check && !natk_mutant(icmp_inner_csum)) {
		csum_replace4(l4check, olda, addr);
		csum_replace2(l4check, oldp, port);
		if (in->proto == IPPROTO_UDP && !*l4check)
			*l4check = CSUM_MANGLED_0;
	}
	*ip = port;
addr:
	if (!natk_mutant(icmp_inner_csum))
		csum_replace4(&inner->check, olda, addr);
	*ia = addr;

outer:
	/* Outer header: the error goes to (or comes from) the other side. */
	if (src) {
		csum_replace4(&iph->check, iph->daddr, addr);
		iph->daddr = addr;
	} else {
		csum_replace4(&iph->check, iph->saddr, addr);
		iph->saddr = addr;
	}

	off = skb_network_offset(skb) + iph->ihl * 4;
	len = skb->len - off;
	icmph = (struct icmphdr *)(skb->data + off);
	icmph->checksum = 0;
	icmph->checksum = csum_fold(skb_checksum(skb, off, len, 0));
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		skb->ip_summed = CHECKSUM_NONE;
	return 0;
}

/*
 * An ICMP error from the wan side to the external address, about a packet
 * natk sent out: the embedded packet goes from ext:eport to remote. Returns
 * a netfilter verdict.
 */
unsigned int natk_icmp_error_in(struct natk_net *nn, const struct natk_cfg *cfg,
				struct sk_buff *skb)
{
	struct natk_inner in;
	struct natk_rkey k = {};
	struct natk_flow *flow;
	int why = natk_icmp_parse(skb, &in);

	if (why == NATK_STAT_DROP_NO_FLOW ||
	    (!why && !natk_pool_has(cfg, in.saddr))) {
		/* Not about natk's traffic: maybe the host's own. */
		natk_stat_inc(nn, NATK_STAT_PASSED_NO_FLOW);
		return NF_ACCEPT;
	}
	if (why)
		goto drop;
	k.raddr = in.daddr;
	k.eaddr = in.saddr;
	k.rport = in.dport;
	k.eport = in.sport;
	k.proto = in.proto;
	flow = natk_flow_lookup_in(nn, &k);
	if (!flow) {
		natk_stat_inc(nn, NATK_STAT_PASSED_NO_FLOW);
		return NF_ACCEPT;
	}
	if (natk_icmp_rewrite(skb, &in, true, flow->okey.iaddr,
			      flow->okey.iport)) {
		why = NATK_STAT_DROP_NO_MEMORY;
		goto drop;
	}
	/* Mutant icmp_in_refresh: the error refreshes its flow. */
	if (natk_mutant(icmp_in_refresh))
		natk_flow_refresh(flow);
	natk_stat_inc(nn, NATK_STAT_ICMP_ERRORS_TRANSLATED);
	return NF_ACCEPT;
drop:
	natk_drop(nn, why);
	return NF_DROP;
}

/*
 * An ICMP error from a lan host (or, @local, from the NAT host itself) about
 * a packet natk delivered: the embedded packet goes from remote to
 * iaddr:iport. The host's own errors that match no flow are its business.
 * Returns a verdict.
 */
/*
 * May the host's own ICMP error about a natk flow go out? Linux limits
 * most errors it sends, but not fragmentation-needed (PMTU discovery must
 * work), so a sender outside could have the NAT answer every oversized DF
 * packet it sends to a forward. Errors natk translates for the outside
 * draw on one token bucket per netns, sized like the host's own limit by
 * net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst. Lockless, as
 * icmp_global_allow(): CPUs racing on a refill may overdraw by a few.
 */
static bool natk_icmp_allow(struct natk_net *nn)
{
	const struct net *net = nn->net;
	u32 now = jiffies, stamp = READ_ONCE(nn->icmp_stamp);
	u32 delta = min_t(u32, now - stamp, HZ);
	u64 incr;
	int credit;

	if (delta >= HZ / 50) {
		incr = div_u64((u64)READ_ONCE(net->ipv4.sysctl_icmp_msgs_per_sec) *
			       delta, HZ);
		if (incr && cmpxchg(&nn->icmp_stamp, stamp, now) == stamp) {
			credit = atomic_read(&nn->icmp_credit);
			atomic_set(&nn->icmp_credit,
				   min_t(u64, credit + incr,
					 READ_ONCE(net->ipv4.sysctl_icmp_msgs_burst)));
		}
	}
	return atomic_add_unless(&nn->icmp_credit, -1, 0);
}

unsigned int natk_icmp_error_out(struct natk_net *nn,
				 const struct natk_cfg *cfg,
				 struct sk_buff *skb, bool local)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct natk_inner in;
	struct natk_okey k = {};
	struct natk_flow *flow;
	int why;

	if (local) {
		const u8 *type;
		unsigned int off = skb_network_offset(skb) + iph->ihl * 4;

		if (!pskb_may_pull(skb, off + 1))
			return NF_ACCEPT;
		type = skb->data + off;
		if (!natk_icmp_is_error(*type))
			return NF_ACCEPT;
	}
	why = natk_icmp_parse(skb, &in);
	if (why && local)
		return NF_ACCEPT;
	if (why)
		goto drop;
	k.iaddr = in.daddr;
	k.raddr = in.saddr;
	k.iport = in.proto == IPPROTO_ICMP ? in.sport : in.dport;
	k.rport = in.proto == IPPROTO_ICMP ? 0 : in.sport;
	k.proto = in.proto;
	flow = natk_flow_lookup_out(nn, &k);
	if (!flow && local)
		return NF_ACCEPT;
	/*
	 * One-armed NAT: an error natk_icmp_error_in() translated leaves by
	 * the external interface, quoting its flow the original way round.
	 */
	if (!flow) {
		k.iaddr = in.saddr;
		k.raddr = in.daddr;
		k.iport = in.sport;
		k.rport = in.dport;
		if (natk_flow_lookup_out(nn, &k))
			return NF_ACCEPT;
	}
	if (!flow) {
		why = NATK_STAT_DROP_NO_FLOW;
		goto drop;
	}
	if (local && !natk_icmp_allow(nn)) {
		why = NATK_STAT_DROP_ICMP_RATELIMIT;
		goto drop;
	}
	if (natk_icmp_rewrite(skb, &in, false, flow->eaddr,
			      flow->eport)) {
		why = NATK_STAT_DROP_NO_MEMORY;
		goto drop;
	}
	/* Mutant icmp_out_refresh: the error refreshes its flow. */
	if (natk_mutant(icmp_out_refresh))
		natk_flow_refresh(flow);
	natk_stat_inc(nn, NATK_STAT_ICMP_ERRORS_TRANSLATED);
	return NF_ACCEPT;
drop:
	natk_drop(nn, why);
	return NF_DROP;
}

/*
 * An ICMP error from a lan host to the external address about a packet
 * natk hairpinned to it (RFC 5508 REQ-7): the embedded packet went from
 * ext:eport (the sender's mapping) to iaddr:iport (the receiver). It is
 * translated as if it had left (embedded destination back to the
 * receiver's external port, outer source the external address) and come
 * back in (embedded source the sender's internal endpoint, outer
 * destination the sender), and routed to the sender from @dev, where it
 * came in. Errors that match no hairpinned flow are the host's business.
 * Returns a verdict.
 */
unsigned int natk_icmp_error_hairpin(struct natk_net *nn,
				     const struct natk_cfg *cfg,
				     struct sk_buff *skb,
				     struct net_device *dev)
{
	struct natk_flow *rcv, *snd = NULL;
	struct natk_okey ok = {};
	struct natk_rkey rk = {};
	struct natk_inner in;
	int why = natk_icmp_parse(skb, &in);

	if (why && why != NATK_STAT_DROP_NO_FLOW)
		goto drop;
	if (!why && natk_pool_has(cfg, in.saddr) && in.proto != IPPROTO_ICMP) {
		/* The receiver's flow, then the sender's. */
		ok.iaddr = in.daddr;
		ok.iport = in.dport;
		ok.raddr = in.saddr;
		ok.rport = in.sport;
		ok.proto = in.proto;
		rcv = natk_flow_lookup_out(nn, &ok);
		if (rcv) {
			rk.raddr = rcv->eaddr;
			rk.eaddr = in.saddr;
			rk.rport = rcv->eport;
			rk.eport = in.sport;
			rk.proto = in.proto;
			snd = natk_flow_lookup_in(nn, &rk);
		}
	}
	if (!snd) {
		natk_stat_inc(nn, NATK_STAT_PASSED_NO_FLOW);
		return NF_ACCEPT;
	}
	if (natk_hairpin_route(skb, snd->okey.iaddr, dev)) {
		why = NATK_STAT_DROP_NO_FLOW;
		goto drop;
	}
	if (natk_icmp_rewrite(skb, &in, false, rcv->eaddr,
			      rcv->eport) ||
	    natk_icmp_rewrite(skb, &in, true, snd->okey.iaddr,
			      snd->okey.iport)) {
		why = NATK_STAT_DROP_NO_MEMORY;
		goto drop;
	}
	natk_stat_inc(nn, NATK_STAT_ICMP_ERRORS_TRANSLATED);
	natk_stat_inc(nn, NATK_STAT_HAIRPINNED);
	return NF_ACCEPT;
drop:
	natk_drop(nn, why);
	return NF_DROP;
}
