// SPDX-License-Identifier: GPL-2.0
/*
 * natk fast path: packets of established flows skip the forward path.
 *
 * A hook at PRE_ROUTING, right after defragmentation, looks the packet up
 * once. If its flow has seen both directions (TCP: established) and the
 * packet needs nothing the slow path does (no SYN, FIN or RST; no IP
 * options; TTL > 1; fits the route's MTU; no IPsec), it is translated,
 * its TTL decremented, and sent to the next hop with neigh_xmit(): no FIB
 * lookup, no FORWARD, no POST_ROUTING. Everything else returns NF_ACCEPT
 * and takes the normal path (natk_in, routing, ip_forward, natk_out),
 * which also sends the ICMP errors (time exceeded, fragmentation needed).
 *
 * Routes: each flow caches the input route of each direction, with a
 * reference (flow->fp_dst). It is used only while dst_check() says it is
 * current: any FIB change, device down or address change bumps the
 * netns's route generation (rt_cache_flush) and the next packet looks the
 * route up again, so a flow follows a new route at once. A device that is
 * unregistered takes its routes with it (dst_dev_put() points them at the
 * blackhole device and marks them dead), so a cached route never holds a
 * device and is never used after it is gone. The outbound route also
 * remembers the device the packet came in on: a packet of the flow that
 * arrives elsewhere goes the slow way (reverse path filter, redirects).
 * The neighbour is looked up per packet by neigh_xmit(), so a changed
 * link-layer address is used at once.
 *
 * The fast path must not bypass a firewall: hooks registered after it at
 * PRE_ROUTING, or at FORWARD or POST_ROUTING, would never see its packets.
 * In mode auto it runs only while every such hook is natk's own (no
 * nf_conntrack, no nftables or iptables chain) or a security module's
 * (AppArmor's acts on local sockets only; a host that relies on SELinux
 * labeled networking for forwarded packets sets off); mode on ignores them;
 * mode off never runs it. natk_fp_why() says which applies, per packet
 * (a few loads) and for natkctl status.
 *
 * Counters, per-flow accounting and expiry are kept as on the slow path,
 * and tcpdump on the output device sees every packet (neigh_xmit ends in
 * dev_queue_xmit).
 */
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/dst.h>
#include <net/neighbour.h>
#include <net/xfrm.h>
#ifdef NATK_HAVE_NET_GSO_H	/* Kbuild: skb_gso_validate_network_len() */
#include <net/gso.h>
#endif
#include "natk.h"

#define NATK_PRI_FAST	(NF_IP_PRI_CONNTRACK_DEFRAG + 1)

static inline struct rtable *natk_rt(struct dst_entry *dst)
{
	return container_of(dst, struct rtable, dst);
}

static unsigned int natk_fast(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state);

static const struct nf_hook_ops natk_fast_ops = {
	.hook = natk_fast,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	.priority = NATK_PRI_FAST,
};

/*
 * A security module's hook (AppArmor registers one at POST_ROUTING in every
 * netns; it acts only on packets of local sockets): at the LSM priorities,
 * and not a table's chain (nftables and x_tables set priv).
 */
static bool natk_fp_lsm_hook(const struct nf_hook_ops *ops)
{
	return !ops->priv && (ops->priority == NF_IP_PRI_SELINUX_FIRST ||
			      ops->priority == NF_IP_PRI_SELINUX_LAST);
}

/*
 * Is every hook of @e that runs after @from natk's own, or a security
 * module's? (@from NULL: every hook.) Bounded by the number of hooks.
 */
static bool natk_fp_hooks_ours(const struct nf_hook_entries *e,
			       const struct nf_hook_ops *from)
{
	struct nf_hook_ops **ops;
	bool after = !from;
	unsigned int i;

	if (!e)
		return true;
	ops = nf_hook_entries_get_hook_ops(e);
	for (i = 0; i < e->num_hook_entries; i++) {
		if (ops[i] == from) {
			after = true;
			continue;
		}
		if (after && !natk_hooks_own(ops[i]) && !natk_fp_lsm_hook(ops[i]))
			return false;
	}
	return true;
}

/* Why the fast path does not run in this netns now (NATK_FP_ACTIVE: it does). */
enum natk_fp_why natk_fp_why(struct net *net, const struct natk_cfg *cfg)
{
	const struct nf_hook_entries *pre, *fwd, *post;

	if (cfg->fast_path == NATK_FAST_PATH_OFF)
		return NATK_FP_WHY_OFF;
	if (!cfg->ifindex || !cfg->ext_addr)
		return NATK_FP_WHY_DOWN;
#ifdef CONFIG_XFRM
	if (READ_ONCE(net->xfrm.policy_count[XFRM_POLICY_FWD]) ||
	    READ_ONCE(net->xfrm.policy_count[XFRM_POLICY_FWD +
					     XFRM_POLICY_MAX]))
		return NATK_FP_WHY_XFRM;
#endif
	if (cfg->fast_path == NATK_FAST_PATH_ON)
		return NATK_FP_ACTIVE;
	pre = rcu_dereference(net->nf.hooks_ipv4[NF_INET_PRE_ROUTING]);
	fwd = rcu_dereference(net->nf.hooks_ipv4[NF_INET_FORWARD]);
	post = rcu_dereference(net->nf.hooks_ipv4[NF_INET_POST_ROUTING]);
	if (!natk_fp_hooks_ours(pre, &natk_fast_ops) ||
	    !natk_fp_hooks_ours(fwd, NULL) || !natk_fp_hooks_ours(post, NULL))
		return NATK_FP_WHY_HOOKS;
	return NATK_FP_ACTIVE;
}

/* Drop a flow's cached routes (it is being freed: no reader left). */
void natk_fp_flow_release(struct natk_flow *flow)
{
	int dir;

	for (dir = 0; dir < 2; dir++)
		dst_release(rcu_dereference_protected(flow->fp_dst[dir], 1));
}

/*
 * The route for @skb of @flow in direction @dir (0: lan -> wan), looked
 * up with the packet's addresses before translation for outbound (as the
 * slow path routes it before natk_out) and after it for inbound (natk_in
 * translates before routing). NULL: take the slow path.
 */
static struct dst_entry *natk_fp_route(struct natk_net *nn,
				       const struct natk_cfg *cfg,
				       struct natk_flow *flow, int dir,
				       struct sk_buff *skb,
				       struct net_device *in)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct dst_entry *dst, *old;
	__be32 daddr;

	dst = rcu_dereference(flow->fp_dst[dir]);
	/* Mutant fp-stale-route: a cached route is used whatever changed. */
	if (dst && (dir || READ_ONCE(flow->fp_iif) == in->ifindex) &&
	    (natk_mutant(fp_stale_route) ||
	     (dst_check(dst, 0) && netif_running(dst->dev))))
		return dst;

	daddr = dir ? flow->okey.iaddr : iph->daddr;
	if (ip_route_input_noref(skb, daddr, iph->saddr, iph->tos, in))
		return NULL;
	dst = skb_dst(skb);
	skb_dst_drop(skb);	/* the flow's reference is what we use */
	if (!dst || natk_rt(dst)->rt_type != RTN_UNICAST ||
	    natk_rt(dst)->rt_flags & (RTCF_LOCAL | RTCF_BROADCAST |
					 RTCF_MULTICAST) ||
	    natk_rt(dst)->rt_gw_family == AF_INET6 || dst->error ||
	    (!dir && dst->dev->ifindex != cfg->ifindex) ||
	    !dst_hold_safe(dst))
		return NULL;
	if (!dir)
		WRITE_ONCE(flow->fp_iif, in->ifindex);
	old = unrcu_pointer(xchg(&flow->fp_dst[dir], RCU_INITIALIZER(dst)));
	dst_release(old);
	natk_stat_inc(nn, NATK_STAT_FASTPATH_ROUTES);
	return dst;
}

static unsigned int natk_fast(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	struct natk_net *nn = natk_pernet(state->net);
	const struct natk_cfg *cfg = rcu_dereference(nn->cfg);
	const struct iphdr *iph = ip_hdr(skb);
	struct natk_pkt pkt = {};
	struct natk_flow *flow;
	struct net_device *dev;
	struct dst_entry *dst;
	unsigned int mtu, len;
	__be32 nexthop;
	int dir;

	if (!cfg || natk_fp_why(state->net, cfg) != NATK_FP_ACTIVE)
		return NF_ACCEPT;
	if (iph->ihl != 5 || iph->ttl <= 1 || ip_is_fragment(iph) ||
	    skb->pkt_type != PACKET_HOST || skb_sec_path(skb) ||
	    (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP))
		return NF_ACCEPT;
	/* The slow path parses (and counts) anything malformed. */
	if (natk_parse(skb, &pkt) ||
	    (pkt.tcpflags & (NATK_TCPF_SYN | NATK_TCPF_FIN | NATK_TCPF_RST)))
		return NF_ACCEPT;
	iph = ip_hdr(skb);

	if (natk_pool_has(cfg, iph->daddr)) {
		struct natk_rkey k = {
			.raddr = iph->saddr, .eaddr = iph->daddr,
			.rport = pkt.sport, .eport = pkt.dport,
			.proto = pkt.proto,
		};

		if (state->in->ifindex != cfg->ifindex)
			return NF_ACCEPT;	/* hairpin */
		flow = natk_flow_lookup_in(nn, &k);
		dir = 1;
	} else {
		struct natk_okey k = {
			.iaddr = iph->saddr, .raddr = iph->daddr,
			.iport = pkt.sport, .rport = pkt.dport,
			.proto = pkt.proto,
		};

		if (natk_pool_has(cfg, iph->saddr))
			return NF_ACCEPT;	/* the host's own */
		flow = natk_flow_lookup_out(nn, &k);
		dir = 0;
	}
	/*
	 * Only flows that saw both directions (TCP: established), never a
	 * hairpinned one (its remote is the NAT itself).
	 */
	if (!flow || test_bit(NATK_FLOW_DEAD, &flow->flags) ||
	    !test_bit(NATK_FLOW_SEEN_OUT, &flow->flags) ||
	    !test_bit(NATK_FLOW_SEEN_IN, &flow->flags) ||
	    (pkt.proto == IPPROTO_TCP &&
	     READ_ONCE(flow->state) != NATK_TCP_ESTABLISHED) ||
	    natk_pool_has(cfg, flow->okey.raddr))
		return NF_ACCEPT;

	dst = natk_fp_route(nn, cfg, flow, dir, skb, state->in);
	if (!dst)
		return NF_ACCEPT;
	dev = dst->dev;
	mtu = ip_dst_mtu_maybe_forward(dst, true);
	len = skb->len;
	if (len > mtu && !(skb_is_gso(skb) &&
			   skb_gso_validate_network_len(skb, mtu)))
		return NF_ACCEPT;	/* fragment, or fragmentation needed */
	if (skb_cow_head(skb, LL_RESERVED_SPACE(dev)))
		return NF_ACCEPT;

	natk_count_in(nn, !dir, len);
	if (dir ? natk_manip(skb, false, flow->okey.iaddr, flow->okey.iport) :
		  natk_manip(skb, true, flow->rkey.eaddr, flow->rkey.eport)) {
		natk_drop(nn, NATK_STAT_DROP_NO_MEMORY);
		return NF_DROP;
	}
	natk_track(nn, flow, &pkt, !dir);
	natk_account(nn, flow, !dir, len);
	natk_stat_inc(nn, NATK_STAT_FASTPATH_PACKETS);

	iph = ip_hdr(skb);
	ip_decrease_ttl(ip_hdr(skb));
	nexthop = rt_nexthop(natk_rt(dst), iph->daddr);
	skb_forward_csum(skb);
	skb->priority = rt_tos2priority(iph->tos);
	IPCB(skb)->flags |= IPSKB_FORWARDED;
	skb_dst_set_noref(skb, dst);
	skb->dev = dev;
	neigh_xmit(NEIGH_ARP_TABLE, dev, &nexthop, skb);
	return NF_STOLEN;
}

int natk_fp_register(struct net *net)
{
	return nf_register_net_hook(net, &natk_fast_ops);
}

void natk_fp_unregister(struct net *net)
{
	nf_unregister_net_hook(net, &natk_fast_ops);
}

bool natk_fp_hook_ops(const struct nf_hook_ops *ops)
{
	return ops == &natk_fast_ops;
}
