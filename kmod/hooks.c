// SPDX-License-Identifier: GPL-2.0
/*
 * natk netfilter hooks: the packet path.
 *
 * Inbound (PRE_ROUTING, before nf_conntrack): packets arriving on the
 * external interface for the external address are matched by their reply
 * tuple and their destination is rewritten to the internal host, before
 * routing, so they are forwarded to the lan. Doing this ahead of conntrack
 * lets a stateful forward firewall in the same netns see the reply of the
 * connection it saw leave, and accept it as established.
 *
 * Outbound (POST_ROUTING, after filtering): packets routed out of the
 * external interface get the external address and port as their source;
 * a flow is created on the first packet.
 *
 * nf_defrag_ipv4 reassembles fragments before either hook (natk enables it
 * per netns while hooked); the output path refragments to the original
 * fragment size.
 *
 * Every packet is untrusted: headers are pulled before they are read, and
 * a packet that cannot be parsed is dropped and counted by reason.
 */
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <net/ip.h>
#include <net/tcp.h>
#include <net/udp.h>
#include <net/inet_hashtables.h>
#include <net/netfilter/ipv4/nf_defrag_ipv4.h>
#include "natk.h"

#define NATK_PRI_IN	(NF_IP_PRI_CONNTRACK - 50)
#define NATK_PRI_OUT	NF_IP_PRI_NAT_SRC

/*
 * Parse the L4 header natk needs. Returns 0, a drop reason, or -1 for a
 * protocol natk does not translate.
 */
int natk_parse(struct sk_buff *skb, struct natk_pkt *pkt)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int iplen = ntohs(iph->tot_len), ihl = iph->ihl * 4;
	int len;

	/* A BIG TCP GRO packet has tot_len 0: its length is the skb's. */
	if (!iplen && skb_is_gso(skb) && skb_is_gso_tcp(skb))
		iplen = skb->len - skb_network_offset(skb);

	pkt->proto = iph->protocol;
	len = natk_l4_hdrlen(pkt->proto);
	if (len < 0)
		return -1;
	if (ip_is_fragment(iph))
		return NATK_STAT_DROP_FRAGMENT;
	pkt->l4off = skb_network_offset(skb) + ihl;
	if (iplen < ihl + len || !pskb_may_pull(skb, pkt->l4off + len))
		return NATK_STAT_DROP_INVALID;

	switch (pkt->proto) {
	case IPPROTO_TCP: {
		const struct tcphdr *th =
			(const struct tcphdr *)(skb->data + pkt->l4off);

		if (th->doff < 5)
			return NATK_STAT_DROP_INVALID;
		pkt->sport = th->source;
		pkt->dport = th->dest;
		pkt->tcpflags = tcp_flag_byte(th);
		break;
	}
	case IPPROTO_UDP: {
		const struct udphdr *uh =
			(const struct udphdr *)(skb->data + pkt->l4off);

		if (ntohs(uh->len) < sizeof(*uh))
			return NATK_STAT_DROP_INVALID;
		pkt->sport = uh->source;
		pkt->dport = uh->dest;
		break;
	}
	default: {
		const struct icmphdr *ih =
			(const struct icmphdr *)(skb->data + pkt->l4off);

		pkt->icmp_type = ih->type;
		pkt->sport = ih->un.echo.id;
		pkt->dport = ih->un.echo.id;
		break;
	}
	}
	return 0;
}

/* A packet natk takes responsibility for, from the lan or the wan side. */
void natk_count_in(struct natk_net *nn, bool outbound, unsigned int len)
{
	if (outbound) {
		natk_stat_inc(nn, NATK_STAT_PACKETS_IN_FROM_SOURCE);
		natk_stat_add(nn, NATK_STAT_BYTES_IN_FROM_SOURCE, len);
	} else {
		natk_stat_inc(nn, NATK_STAT_PACKETS_IN_FROM_DESTINATION);
		natk_stat_add(nn, NATK_STAT_BYTES_IN_FROM_DESTINATION, len);
	}
}

void natk_account(struct natk_net *nn, struct natk_flow *flow,
		  bool outbound, unsigned int len)
{
	struct natk_flow_acct *acct = natk_flow_counters(flow);
	int dir = outbound ? 0 : 1;

	/* Per-flow counters are advisory: racing CPUs may lose a count. */
	if (acct) {
		WRITE_ONCE(acct->pkts[dir], acct->pkts[dir] + 1);
		WRITE_ONCE(acct->bytes[dir], acct->bytes[dir] + len);
	}
	if (outbound) {
		natk_stat_inc(nn, NATK_STAT_PACKETS_OUT_TO_DESTINATION);
		natk_stat_add(nn, NATK_STAT_BYTES_OUT_TO_DESTINATION, len);
	} else {
		natk_stat_inc(nn, NATK_STAT_PACKETS_OUT_TO_SOURCE);
		natk_stat_add(nn, NATK_STAT_BYTES_OUT_TO_SOURCE, len);
	}
}

/*
 * MSS clamping on SYNs crossing the external interface: a fixed value, or
 * (NATK_MSS_CLAMP_PMTU) the MTU towards the destination minus 40 bytes:
 * the route's (@routed: the packet has one) or @dev's. The MTU is looked
 * up only for a SYN that is clamped (dst_mtu() is not free).
 */
static void natk_clamp(const struct natk_cfg *cfg, struct sk_buff *skb,
		       const struct natk_pkt *pkt,
		       const struct net_device *dev, bool routed)
{
	u16 mss = cfg->mss_clamp;
	unsigned int mtu;

	if (!mss || pkt->proto != IPPROTO_TCP ||
	    !(pkt->tcpflags & NATK_TCPF_SYN))
		return;
	if (mss == NATK_MSS_CLAMP_PMTU) {
		mtu = routed && skb_dst(skb) ? dst_mtu(skb_dst(skb)) :
					       dev->mtu;
		if (mtu <= 40 + 88)
			return;
		mss = mtu - 40;
	}
	natk_mss_clamp(skb, pkt->l4off, mss);
}

/*
 * Follow TCP state and refresh the flow's expiry. The CPU whose cmpxchg
 * makes a transition sends its FLOW_UPDATE (nothing when nobody listens),
 * after the refresh, so that the event carries the new deadline.
 */
void natk_track(struct natk_net *nn, struct natk_flow *flow,
		const struct natk_pkt *pkt, bool outbound)
{
	bool changed = false;
	u8 old, new = 0;
	int i;

	int seen = outbound ? NATK_FLOW_SEEN_OUT : NATK_FLOW_SEEN_IN;

	if (!natk_flow_flag(flow, seen))
		natk_flow_flag_set(flow, seen);
	if (pkt->proto == IPPROTO_TCP) {
		for (i = 0; i < 4; i++) {
			old = READ_ONCE(flow->state);
			new = natk_tcp_next(old, outbound, pkt->tcpflags);
			if (new == old)
				break;
			if (cmpxchg(&flow->state, old, new) == old) {
				changed = true;
				break;
			}
		}
		/* The initiator's ACK completed the handshake. */
		if (new != old && new != NATK_TCP_RST &&
		    (old == NATK_TCP_SYNACK_IN || old == NATK_TCP_SYNACK_OUT))
			natk_stat_inc(nn, NATK_STAT_CONNECTIONS_ESTABLISHED);
		/*
		 * RFC 7857: an outbound RST does not extend the mapping
		 * (mutant rst_refresh: it does).
		 */
		if (outbound && (pkt->tcpflags & NATK_TCPF_RST) && old == new &&
		    !natk_mutant(rst_refresh))
			return;
	}
	natk_flow_refresh(flow);
	if (changed)
		natk_event_update(nn, flow);
}

/*
 * A flow for an outbound packet that has none, created when the packet may
 * open one (any UDP or ICMP echo; for TCP only a SYN). NULL with *why set.
 * @iif: the interface it came in by; the external one makes its host known
 * (natk_host_known(): a one-armed NAT tells its lan hosts by that).
 */
static __always_inline struct natk_flow *
natk_flow_outbound(struct natk_net *nn, const struct natk_cfg *cfg,
		   const struct natk_okey *key, const struct natk_pkt *pkt,
		   int iif, int *why)
{
	struct natk_flow *flow;
	enum natk_stat reason;
	u8 st = NATK_TCP_NONE;

	if (pkt->proto == IPPROTO_TCP) {
		if (!natk_tcp_may_create(pkt->tcpflags)) {
			*why = NATK_STAT_DROP_NO_FLOW;
			return NULL;
		}
		st = NATK_TCP_SYN_OUT;
	}
	flow = natk_flow_create(nn, cfg, key, st, NULL, iif == cfg->ifindex,
				&reason);
	if (!flow)
		*why = reason;
	return flow;
}

/*
 * An inbound packet for a mapped external port with no flow: a port
 * forward opens a flow; otherwise the filtering behaviour decides. The
 * mapping is @map, or @self, a flow that is its own mapping: shared then.
 */
static struct natk_flow *natk_flow_inbound(struct natk_net *nn,
					   const struct natk_cfg *cfg,
					   struct natk_map *map,
					   struct natk_flow *self,
					   const struct natk_rkey *rk,
					   const struct natk_pkt *pkt, int *why)
{
	struct natk_okey k = {
		.iaddr = map ? map->ikey.iaddr : self->okey.iaddr,
		.iport = map ? map->ikey.iport : self->okey.iport,
		.raddr = rk->raddr,
		.rport = rk->rport,
		.proto = rk->proto,
	};
	const struct natk_mkey ik = {
		.iaddr = k.iaddr, .iport = k.iport, .proto = k.proto,
	};
	bool fwd = map && (READ_ONCE(map->flags) & NATK_MAP_STATIC);
	enum natk_stat reason;
	struct natk_flow *flow;
	u8 st = NATK_TCP_NONE;

	if (!natk_filter_allows(nn, cfg, &ik, fwd, rk->raddr)) {
		*why = NATK_STAT_DROP_UNSOLICITED;
		return NULL;
	}
	if (pkt->proto == IPPROTO_TCP) {
		if (!natk_tcp_may_create(pkt->tcpflags)) {
			*why = NATK_STAT_DROP_UNSOLICITED;
			return NULL;
		}
		st = NATK_TCP_SYN_IN;
	}
	if (self)
		map = natk_map_share(nn, self);
	else if (!natk_map_tryget(map))
		map = NULL;
	if (IS_ERR(map)) {
		*why = NATK_STAT_DROP_NO_MEMORY;
		return NULL;
	}
	if (!map) {
		*why = NATK_STAT_DROP_UNSOLICITED;
		return NULL;
	}
	flow = natk_flow_create(nn, cfg, &k, st, map, false, &reason);
	natk_map_put(nn, map);
	if (!flow)
		*why = reason;
	return flow;
}

/*
 * Does a connected socket of the NAT host own this inbound packet (a TCP
 * connection, or a UDP socket on that port)? natk's range may overlap the
 * host's ephemeral ports: when the host's own connection uses a port that
 * natk mapped for other remotes, the host's socket wins. Asked only when
 * no flow matched, so established flows pay nothing for it.
 */
static bool natk_local_sock(struct net *net, struct sk_buff *skb,
			    const struct natk_pkt *pkt,
			    const struct net_device *in)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct sock *sk;

	switch (pkt->proto) {
	case IPPROTO_TCP:
		sk = __inet_lookup_established(net,
					       net->ipv4.tcp_death_row.hashinfo,
					       iph->saddr, pkt->sport,
					       iph->daddr, ntohs(pkt->dport),
					       in->ifindex, 0);
		if (!sk)
			return false;
		sock_gen_put(sk);
		return true;
	case IPPROTO_UDP:
		sk = udp4_lib_lookup(net, iph->saddr, pkt->sport, iph->daddr,
				     pkt->dport, in->ifindex);
		if (!sk)
			return false;
		sock_put(sk);
		return true;
	default:
		return false;
	}
}

/*
 * A lan host sends to the external address (RFC 4787 REQ-9, RFC 5382
 * REQ-8): translate it as if it had left (its own mapping gives the source
 * the other host will see) and come back in (the destination's mapping gives
 * the internal host), in one step. ICMP errors about hairpinned packets
 * are translated the same way (icmp.c). The packet is routed here with its
 * original source and the new destination, because after translation its
 * source is a local address, which input routing rejects as martian.
 */
/*
 * natk_hairpin_route - route a hairpinned packet to its internal target.
 * The packet still carries its original source, which is what the route
 * lookup must see; after translation the NAT is its source. No redirect:
 * the sender must keep talking to the NAT, not to its neighbour directly.
 */
int natk_hairpin_route(struct sk_buff *skb, __be32 daddr,
		       struct net_device *dev)
{
	const struct iphdr *iph = ip_hdr(skb);
	int err;

	err = ip_route_input_noref(skb, daddr, iph->saddr, iph->tos, dev);
	if (err)
		return err;
	IPCB(skb)->flags &= ~IPSKB_DOREDIRECT;
	return 0;
}

static unsigned int natk_hairpin(struct natk_net *nn,
				 const struct natk_cfg *cfg,
				 struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct natk_okey ok = {};
	struct natk_rkey rk = {};
	struct natk_flow *out, *in, *self;
	struct natk_map *map;
	struct natk_pkt pkt;
	int why;

	/* Mutant no_hairpin: left to the NAT host's own stack. */
	if (natk_pool_has(cfg, iph->saddr) || (state->in->flags & IFF_LOOPBACK) ||
	    natk_mutant(no_hairpin))
		return NF_ACCEPT;
	why = natk_parse(skb, &pkt);
	if (!why && pkt.proto == IPPROTO_ICMP &&
	    natk_icmp_is_error(pkt.icmp_type))
		return natk_icmp_error_hairpin(nn, cfg, skb, state->in);
	if (why < 0 || (!why && pkt.proto == IPPROTO_ICMP))
		return NF_ACCEPT;	/* the host's own business */
	if (why)
		goto drop;
	iph = ip_hdr(skb);
	map = natk_map_lookup_ext(nn, cfg, pkt.proto, iph->daddr, pkt.dport,
				  &self);
	if (!natk_port_live(map, self))
		return NF_ACCEPT;	/* a service of the host itself */

	ok.iaddr = iph->saddr;
	ok.iport = pkt.sport;
	ok.raddr = iph->daddr;
	ok.rport = pkt.dport;
	ok.proto = pkt.proto;
	out = natk_flow_lookup_out(nn, &ok);
	if (!out)
		out = natk_flow_outbound(nn, cfg, &ok, &pkt,
					 state->in->ifindex, &why);
	if (!out)
		goto drop;
	/* The receiver sees the sender's external address and port. */
	rk.raddr = out->eaddr;
	rk.eaddr = iph->daddr;
	rk.rport = out->eport;
	rk.eport = pkt.dport;
	rk.proto = pkt.proto;
	in = natk_flow_lookup_in(nn, &rk);
	if (!in) {
		in = natk_flow_inbound(nn, cfg, map, self, &rk, &pkt, &why);
		if (!in)
			goto drop;
	}

	if (natk_hairpin_route(skb, in->okey.iaddr, state->in)) {
		why = NATK_STAT_DROP_NO_FLOW;
		goto drop;
	}
	natk_count_in(nn, true, skb->len);
	if (natk_manip(skb, false, in->okey.iaddr, in->okey.iport) ||
	    natk_manip(skb, true, out->eaddr, out->eport)) {
		why = NATK_STAT_DROP_NO_MEMORY;
		goto drop;
	}
	natk_track(nn, out, &pkt, true);
	natk_track(nn, in, &pkt, false);
	natk_account(nn, out, true, skb->len);
	natk_stat_inc(nn, NATK_STAT_HAIRPINNED);
	return NF_ACCEPT;
drop:
	natk_drop(nn, why);
	return NF_DROP;
}

/* natk_in() for a packet to natk's external address (the rest pass). */
static noinline unsigned int natk_in_ext(struct natk_net *nn,
					 const struct natk_cfg *cfg,
					 struct sk_buff *skb,
					 const struct nf_hook_state *state)
{
	const struct iphdr *iph;
	struct natk_rkey k = {};
	struct natk_flow *flow;
	struct natk_pkt pkt;
	int why;

	natk_race(nn, NATK_RACE_PACKET, skb);
	if (state->in->ifindex != cfg->ifindex)
		return natk_hairpin(nn, cfg, skb, state);

	why = natk_parse(skb, &pkt);
	if (why < 0) {
		natk_stat_inc(nn, NATK_STAT_PASSED_NO_FLOW);
		return NF_ACCEPT;
	}
	if (why)
		goto drop;

	if (pkt.proto == IPPROTO_ICMP) {
		/* One-armed: a lan host's error about a hairpinned packet. */
		if (natk_icmp_is_error(pkt.icmp_type) &&
		    natk_host_known(nn, ip_hdr(skb)->saddr))
			return natk_icmp_error_hairpin(nn, cfg, skb, state->in);
		if (natk_icmp_is_error(pkt.icmp_type))
			return natk_icmp_error_in(nn, cfg, skb);
		if (pkt.icmp_type != ICMP_ECHOREPLY) {
			/* Echo requests and the rest are for the host. */
			natk_stat_inc(nn, NATK_STAT_PASSED_NO_FLOW);
			return NF_ACCEPT;
		}
		pkt.sport = 0;
	}

	iph = ip_hdr(skb);
	k.raddr = iph->saddr;
	k.eaddr = iph->daddr;
	k.rport = pkt.sport;
	k.eport = pkt.dport;
	k.proto = pkt.proto;
	flow = natk_flow_lookup_in(nn, &k);
	if (!flow) {
		struct natk_flow *self;
		struct natk_map *map = natk_map_lookup_ext(nn, cfg, pkt.proto,
							   k.eaddr, pkt.dport,
							   &self);

		/*
		 * Not natk's port (or only held), or a connection of the NAT
		 * host's own that happens to use a port natk has mapped for
		 * other remotes: the host's business.
		 */
		if (!natk_port_live(map, self) ||
		    natk_local_sock(state->net, skb, &pkt, state->in)) {
			natk_stat_inc(nn, NATK_STAT_PASSED_NO_FLOW);
			return NF_ACCEPT;
		}
		/*
		 * One-armed NAT: a lan host natk masquerades, reaching a
		 * mapping through the external interface, is hairpinned.
		 */
		if (natk_host_known(nn, k.raddr))
			return natk_hairpin(nn, cfg, skb, state);
		flow = natk_flow_inbound(nn, cfg, map, self, &k, &pkt, &why);
		if (!flow)
			goto drop;
	}

	natk_count_in(nn, false, skb->len);
	if (natk_manip(skb, false, flow->okey.iaddr, flow->okey.iport)) {
		why = NATK_STAT_DROP_NO_MEMORY;
		goto drop;
	}
	natk_clamp(cfg, skb, &pkt, state->in, false);
	natk_track(nn, flow, &pkt, false);
	natk_account(nn, flow, false, skb->len);
	return NF_ACCEPT;
drop:
	natk_drop(nn, why);
	return NF_DROP;
}

/*
 * PRE_ROUTING: a packet to natk's external address. Every packet the
 * host receives or forwards passes here, so the rest pay only this test
 * (the work, with its stack frame, is natk_in_ext()).
 */
static unsigned int natk_in(void *priv, struct sk_buff *skb,
			    const struct nf_hook_state *state)
{
	struct natk_net *nn = natk_pernet_rcu(state->net);
	const struct natk_cfg *cfg = rcu_dereference(nn->cfg);

	if (!cfg || !natk_pool_has(cfg, ip_hdr(skb)->daddr))
		return NF_ACCEPT;
	return natk_in_ext(nn, cfg, skb, state);
}

static unsigned int natk_out(void *priv, struct sk_buff *skb,
			     const struct nf_hook_state *state)
{
	struct natk_net *nn = natk_pernet_rcu(state->net);
	const struct natk_cfg *cfg = rcu_dereference(nn->cfg);
	const struct iphdr *iph = ip_hdr(skb);
	struct natk_okey k = {};
	struct natk_flow *flow;
	struct natk_pkt pkt;
	int why;

	if (!cfg || state->out->ifindex != cfg->ifindex)
		return NF_ACCEPT;
	natk_race(nn, NATK_RACE_PACKET, skb);
	if (natk_pool_has(cfg, iph->saddr)) {
		/*
		 * The host's own packet. An ICMP error it sends about a
		 * packet natk delivered (e.g. fragmentation needed while
		 * forwarding) quotes the internal address: translate it.
		 */
		if (iph->protocol == IPPROTO_ICMP && !ip_is_fragment(iph))
			return natk_icmp_error_out(nn, cfg, skb, true);
		return NF_ACCEPT;
	}
	/* Never leak an internal address while the interface has none. */
	if (!cfg->ext_addr) {
		why = NATK_STAT_DROP_NO_PORT;
		goto drop;
	}

	why = natk_parse(skb, &pkt);
	if (why < 0) {
		why = NATK_STAT_DROP_NO_FLOW;
		goto drop;
	}
	if (why)
		goto drop;

	if (pkt.proto == IPPROTO_ICMP) {
		if (natk_icmp_is_error(pkt.icmp_type))
			return natk_icmp_error_out(nn, cfg, skb, false);
		if (pkt.icmp_type == ICMP_ECHOREPLY) {
			/* Only ever the reply of a flow (one-armed). */
			pkt.sport = 0;
		} else if (pkt.icmp_type != ICMP_ECHO) {
			why = NATK_STAT_DROP_NO_FLOW;
			goto drop;
		} else {
			pkt.dport = 0;
		}
	}

	iph = ip_hdr(skb);
	k.iaddr = iph->saddr;
	k.raddr = iph->daddr;
	k.iport = pkt.sport;
	k.rport = pkt.dport;
	k.proto = pkt.proto;
	/* The fast path's lookup of it just now found nothing: not again. */
	flow = natk_fp_missed_out(skb, &k) ? NULL :
					      natk_flow_lookup_out(nn, &k);
	if (!flow) {
		/*
		 * One-armed NAT: a reply natk_in translated is forwarded out
		 * of the external interface too, towards its internal host.
		 * It matches its flow the other way round: let it go. Only
		 * a packet that came in by the external interface can be one
		 * (natk_in translates nothing else; a hairpinned packet has
		 * the external address as its source): a new flow from a
		 * lan interface pays no second lookup.
		 */
		if (skb->skb_iif == cfg->ifindex && natk_flow_is_reply(nn, &k))
			return NF_ACCEPT;
		/* Not natk's to translate (set internal, set no-nat). */
		if (!natk_in_scope(cfg, k.iaddr, k.raddr)) {
			natk_stat_inc(nn, NATK_STAT_PASSED_OUT_OF_SCOPE);
			return NF_ACCEPT;
		}
		if (pkt.proto == IPPROTO_ICMP && pkt.icmp_type != ICMP_ECHO) {
			why = NATK_STAT_DROP_NO_FLOW;
			goto drop;
		}
		flow = natk_flow_outbound(nn, cfg, &k, &pkt, skb->skb_iif,
					  &why);
		if (!flow)
			goto drop;
	}

	natk_count_in(nn, true, skb->len);
	if (natk_manip(skb, true, flow->eaddr, flow->eport)) {
		why = NATK_STAT_DROP_NO_MEMORY;
		goto drop;
	}
	natk_clamp(cfg, skb, &pkt, state->out, true);
	natk_track(nn, flow, &pkt, true);
	natk_account(nn, flow, true, skb->len);
	return NF_ACCEPT;
drop:
	natk_drop(nn, why);
	return NF_DROP;
}

/* The priv of natk's hooks: how the fast path tells them from others'. */
const u8 natk_hook_priv;

static const struct nf_hook_ops natk_ops[] = {
	{
		.hook = natk_in,
		.priv = (void *)&natk_hook_priv,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NATK_PRI_IN,
	},
	{
		.hook = natk_out,
		.priv = (void *)&natk_hook_priv,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = NATK_PRI_OUT,
	},
};

int natk_hooks_register(struct net *net)
{
	int err;

	err = nf_defrag_ipv4_enable(net);
	if (err)
		return err;
	err = nf_register_net_hooks(net, natk_ops, ARRAY_SIZE(natk_ops));
	if (err)
		goto err_defrag;
	err = natk_fp_register(net);
	if (err)
		goto err_hooks;
	return 0;

err_hooks:
	nf_unregister_net_hooks(net, natk_ops, ARRAY_SIZE(natk_ops));
err_defrag:
	nf_defrag_ipv4_disable(net);
	return err;
}

void natk_hooks_unregister(struct net *net)
{
	natk_fp_unregister(net);
	nf_unregister_net_hooks(net, natk_ops, ARRAY_SIZE(natk_ops));
	nf_defrag_ipv4_disable(net);
}
