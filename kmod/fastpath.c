// SPDX-License-Identifier: GPL-2.0
/*
 * natk fast path: packets of established flows skip the forward path.
 *
 * A hook at PRE_ROUTING, right after defragmentation, looks the packet up
 * once. If its flow has seen both directions (TCP: established) and the
 * packet needs nothing the slow path does (no SYN, FIN or RST; no IP
 * options; TTL > 1; fits the route's MTU; no IPsec), it is translated,
 * its TTL decremented, and sent to the next hop (neigh_output(), as
 * ip_finish_output2()): no FIB lookup, no FORWARD, no POST_ROUTING. Once a
 * device has carried such a packet, natk adds a netdev ingress hook to it
 * (natk_fp_work()) that does the same before IPv4 input and PRE_ROUTING,
 * as the last of the device's ingress hooks. Everything else returns
 * NF_ACCEPT and takes the normal path (natk_in, routing, ip_forward,
 * natk_out), which also sends the ICMP errors (time exceeded,
 * fragmentation needed).
 *
 * Routes: each flow caches the input route of each direction, with a
 * reference, in its netns's route table (fproute.c: flow->fp_route names
 * an entry). It is used only while dst_check() says it is
 * current: any FIB change, device down or address change bumps the
 * netns's route generation (rt_cache_flush) and the next packet looks the
 * route up again, so a flow follows a new route at once. A device that is
 * unregistered takes its routes with it (dst_dev_put() points them at the
 * blackhole device and marks them dead), so a cached route never holds a
 * device and is never used after it is gone. The outbound route also
 * remembers the device the packet came in on: a packet of the flow that
 * arrives elsewhere goes the slow way (reverse path filter, redirects).
 * The neighbour is looked up per packet and its cached header is replaced
 * when its address changes, so a changed link-layer address is used at
 * once.
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
 * and tcpdump on the output device sees every packet (the neighbour's
 * output ends in dev_queue_xmit).
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
#include <net/arp.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/if_vlan.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#ifdef NATK_HAVE_NET_GSO_H	/* Kbuild: skb_gso_validate_network_len() */
#include <net/gso.h>
#endif
#include "natk.h"

#define NATK_PRI_FAST	(NF_IP_PRI_CONNTRACK_DEFRAG + 1)

/*
 * natk.fast_path=auto|on|off: the mode a netns starts with (natkctl set
 * fast-path changes it per netns, a reset returns to it).
 */
static const char *const natk_fp_modes[] = {
	[NATK_FAST_PATH_AUTO] = "auto",
	[NATK_FAST_PATH_ON] = "on",
	[NATK_FAST_PATH_OFF] = "off",
};

u8 natk_fp_default = NATK_DEF_FAST_PATH;

static int natk_fp_param_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(natk_fp_modes, val);

	if (i < 0)
		return -EINVAL;
	natk_fp_default = i;
	return 0;
}

static int natk_fp_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", natk_fp_modes[natk_fp_default]);
}

static const struct kernel_param_ops natk_fp_param_ops = {
	.set = natk_fp_param_set,
	.get = natk_fp_param_get,
};
module_param_cb(fast_path, &natk_fp_param_ops, NULL, 0444);
MODULE_PARM_DESC(fast_path, "fast path mode of a netns at first: auto (default), on, off");

static inline struct rtable *natk_rt(struct dst_entry *dst)
{
	return container_of(dst, struct rtable, dst);
}

static unsigned int natk_fast(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state);

/*
 * The last packet this CPU's ingress hook looked up and found no
 * established flow for: natk_fast() at PRE_ROUTING, which the same CPU
 * runs next for it, need not look again. Only ever compared with a live
 * skb: an old pointer that a new skb happens to reuse (the first was
 * dropped on the way) sends that one packet the slow way, nothing worse.
 */
static DEFINE_PER_CPU(const struct sk_buff *, natk_fp_missed);

/*
 * The last packet this CPU looked up in the original table for the fast
 * path and found no flow of, and its key: natk_out() need not look again
 * for it (natk_fp_missed_out()). The same packet with the same key: a
 * flow another CPU made for that key meanwhile makes natk_flow_create()
 * return that one, as a lookup would have. A stale pointer that a new skb
 * reuses must also have the same key; that packet then takes the same
 * path, nothing worse.
 */
struct natk_fp_miss {
	const struct sk_buff *skb;
	u64 addrs, rest;	/* the key: natk_fp_miss_words() */
};

static DEFINE_PER_CPU(struct natk_fp_miss, natk_fp_miss);

/* @k in two words, compared at once. */
static __always_inline void
natk_fp_miss_words(const struct natk_okey *k, u64 *addrs, u64 *rest)
{
	*addrs = (u64)(__force u32)k->raddr << 32 | (__force u32)k->iaddr;
	*rest = (u64)k->proto << 32 | (u32)(__force u16)k->rport << 16 |
		(__force u16)k->iport;
}

void natk_fp_note_miss(const struct sk_buff *skb, const struct natk_okey *k)
{
	u64 addrs, rest;

	natk_fp_miss_words(k, &addrs, &rest);
	this_cpu_write(natk_fp_miss.skb, skb);
	this_cpu_write(natk_fp_miss.addrs, addrs);
	this_cpu_write(natk_fp_miss.rest, rest);
}

/*
 * Did this CPU's fast path just find no flow for @skb with key @k? Each
 * answer is given once. Any context (preemptible: each read is of one
 * CPU's record; only this skb's CPU can have recorded it).
 */
bool natk_fp_missed_out(const struct sk_buff *skb, const struct natk_okey *k)
{
	u64 addrs, rest;

	if (this_cpu_read(natk_fp_miss.skb) != skb)
		return false;
	this_cpu_write(natk_fp_miss.skb, NULL);
	/* Mutant fp-miss-keyless: the key it had then is not compared. */
	if (natk_mutant(fp_miss_keyless))
		return true;
	natk_fp_miss_words(k, &addrs, &rest);
	return this_cpu_read(natk_fp_miss.addrs) == addrs &&
	       this_cpu_read(natk_fp_miss.rest) == rest;
}

static const struct nf_hook_ops natk_fast_ops = {
	.hook = natk_fast,
	.priv = (void *)&natk_hook_priv,
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
 * nf_defrag_ipv4's hook (natk enables it): fragments never take the fast
 * path, so running before it skips nothing.
 */
static bool natk_fp_defrag_hook(const struct nf_hook_ops *ops)
{
	return !ops->priv && ops->priority == NF_IP_PRI_CONNTRACK_DEFRAG;
}

/* natk_fp_foreign(): a foreign hook runs after, or before, @from. */
#define NATK_FP_FOREIGN_AFTER	1
#define NATK_FP_FOREIGN_BEFORE	2

/*
 * Which hooks of @e that are not natk's own, a security module's or
 * defrag's run after @from, and which before it? (@from NULL: all count
 * as after.) Per packet: natk's hooks are known by their priv, in the
 * entries themselves; only another's ops are read. Bounded by the number
 * of hooks.
 */
static __always_inline unsigned int
natk_fp_foreign(const struct nf_hook_entries *e, nf_hookfn *from)
{
	struct nf_hook_ops **ops;
	unsigned int i, found = 0;
	bool after = !from;

	if (!e)
		return 0;
	for (i = 0; i < e->num_hook_entries; i++) {
		if (e->hooks[i].hook == from) {
			after = true;
			continue;
		}
		if (e->hooks[i].priv == &natk_hook_priv)
			continue;
		ops = nf_hook_entries_get_hook_ops(e);
		if (!natk_fp_lsm_hook(ops[i]) && !natk_fp_defrag_hook(ops[i]))
			found |= after ? NATK_FP_FOREIGN_AFTER :
					 NATK_FP_FOREIGN_BEFORE;
	}
	return found;
}

/*
 * Why the fast path does not run in this netns now (NATK_FP_ACTIVE: it
 * does) from PRE_ROUTING; and (@ingress, if not NULL) whether it may run
 * from a netdev ingress hook too, which skips the PRE_ROUTING hooks before
 * natk_fast as well. One walk of each hook list serves both.
 */
static enum natk_fp_why natk_fp_check(struct net *net,
				      const struct natk_cfg *cfg, bool *ingress)
{
	const struct nf_hook_entries *pre, *fwd, *post;
	unsigned int found;

	if (ingress)
		*ingress = false;
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
	if (cfg->fast_path == NATK_FAST_PATH_ON) {
		if (ingress)
			*ingress = true;
		return NATK_FP_ACTIVE;
	}
	pre = rcu_dereference(net->nf.hooks_ipv4[NF_INET_PRE_ROUTING]);
	fwd = rcu_dereference(net->nf.hooks_ipv4[NF_INET_FORWARD]);
	post = rcu_dereference(net->nf.hooks_ipv4[NF_INET_POST_ROUTING]);
	found = natk_fp_foreign(pre, natk_fast);
	if ((found & NATK_FP_FOREIGN_AFTER) || natk_fp_foreign(fwd, NULL) ||
	    natk_fp_foreign(post, NULL))
		return NATK_FP_WHY_HOOKS;
	if (ingress)
		*ingress = !found;
	return NATK_FP_ACTIVE;
}

/* Why the fast path does not run in this netns now (NATK_FP_ACTIVE: it does). */
enum natk_fp_why natk_fp_why(struct net *net, const struct natk_cfg *cfg)
{
	return natk_fp_check(net, cfg, NULL);
}

/*
 * The route for @skb of @flow in direction @dir (0: lan -> wan), looked
 * up with the packet's addresses before translation for outbound (as the
 * slow path routes it before natk_out) and after it for inbound (natk_in
 * translates before routing). The flow caches it in the netns's route
 * table (fproute.c). NULL: take the slow path. Valid while RCU is held.
 */
static struct dst_entry *natk_fp_route(struct natk_net *nn,
				       const struct natk_cfg *cfg,
				       struct natk_flow *flow, int dir,
				       struct sk_buff *skb,
				       struct net_device *in)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct dst_entry *dst;
	__be32 daddr;
	int iif;
	u8 i;

	i = READ_ONCE(flow->fp_route[dir]);
	if (i) {
		dst = natk_fp_route_dst(nn, i, &iif);
		/* Mutant fp-stale-route: a cached route is used whatever changed. */
		if (dst && (dir || iif == in->ifindex) &&
		    (natk_mutant(fp_stale_route) ||
		     (dst_check(dst, 0) && netif_running(dst->dev))))
			return dst;
	}

	daddr = dir ? flow->okey.iaddr : iph->daddr;
	if (ip_route_input_noref(skb, daddr, iph->saddr, iph->tos, in))
		return NULL;
	dst = skb_dst(skb);
	skb_dst_drop(skb);	/* valid until RCU ends: the FIB's cache */
	if (!dst || natk_rt(dst)->rt_type != RTN_UNICAST ||
	    natk_rt(dst)->rt_flags & (RTCF_LOCAL | RTCF_BROADCAST |
					 RTCF_MULTICAST) ||
	    natk_rt(dst)->rt_gw_family == AF_INET6 || dst->error ||
	    (!dir && dst->dev->ifindex != cfg->ifindex))
		return NULL;
	if (!dst_hold_safe(dst))
		return NULL;
	/* Cached for the flow's next packets, with that reference. */
	natk_fp_route_set(nn, flow, dir,
			  natk_fp_route_claim(nn, dst, in->ifindex));
	natk_stat_inc(nn, NATK_STAT_FASTPATH_ROUTES);
	return dst;
}

/* natk's ingress hook on @dev, or NULL (RCU or RTNL held: a few loads) */
static struct natk_fp_dev *natk_fp_dev_find(struct natk_net *nn,
					    const struct net_device *dev)
{
	struct natk_fp_dev *d;
	int i;

	for (i = 0; i < NATK_FP_DEVS; i++) {
		d = rcu_dereference_rtnl(nn->fp_devs[i]);
		if (d && d->ops.dev == dev)
			return d;
	}
	return NULL;
}

/* Has @dev natk's ingress hook? (packet path, or RTNL held) */
static bool natk_fp_dev_hooked(struct natk_net *nn,
			       const struct net_device *dev)
{
	return natk_fp_dev_find(nn, dev);
}

/*
 * A packet that came in on @dev took the fast path at PRE_ROUTING: ask
 * for an ingress hook there (one request at a time: the work clears
 * fp_want when done, except when all NATK_FP_DEVS are taken; then nothing
 * is asked until a hooked device goes).
 */
static void natk_fp_want(struct natk_net *nn, const struct net_device *dev)
{
	if (!IS_ENABLED(CONFIG_NETFILTER_INGRESS) ||
	    READ_ONCE(nn->fp_want) || natk_fp_dev_hooked(nn, dev))
		return;
	WRITE_ONCE(nn->fp_want, dev->ifindex);
	schedule_work(&nn->fp_work);
}

/*
 * Is natk's the last ingress hook of @in (mode auto; on: it need not be)?
 * At INT_MAX it is, except after one of that priority that was there first
 * (netfilter puts the later of equal priorities first): that one would be
 * skipped.
 */
static bool natk_fp_ingress_last(const struct natk_cfg *cfg,
				 const struct net_device *in)
{
#ifdef CONFIG_NETFILTER_INGRESS
	const struct nf_hook_entries *e;

	if (cfg->fast_path != NATK_FAST_PATH_AUTO)
		return true;
	/* Mutant fp-ingress-not-last: whatever runs after it is skipped. */
	if (natk_mutant(fp_ingress_not_last))
		return true;
	e = rcu_dereference(in->nf_hooks_ingress);
	if (!e)
		return false;
	return e->hooks[e->num_hook_entries - 1].hook == natk_fp_ingress;
#else
	return false;
#endif
}

/*
 * The established flow of @skb, which came in on @in, if it has one and
 * the packet needs nothing the slow path does (@pkt parsed, *@dir: 0 lan
 * to wan, 1 back); else NULL: take the slow path.
 */
static struct natk_flow *natk_fp_flow(struct natk_net *nn,
				      const struct natk_cfg *cfg,
				      struct sk_buff *skb,
				      const struct net_device *in,
				      struct natk_pkt *pkt, int *dir)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct natk_flow *flow;

	if (iph->ihl != 5 || iph->ttl <= 1 || ip_is_fragment(iph) ||
	    skb_sec_path(skb) ||
	    (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP))
		return NULL;
	/* The slow path parses (and counts) anything malformed. */
	if (natk_parse(skb, pkt) ||
	    (pkt->tcpflags & (NATK_TCPF_SYN | NATK_TCPF_FIN | NATK_TCPF_RST)))
		return NULL;
	iph = ip_hdr(skb);

	if (natk_pool_has(cfg, iph->daddr)) {
		struct natk_rkey k = {
			.raddr = iph->saddr, .eaddr = iph->daddr,
			.rport = pkt->sport, .eport = pkt->dport,
			.proto = pkt->proto,
		};

		if (in->ifindex != cfg->ifindex)
			return NULL;	/* hairpin */
		flow = natk_flow_lookup_in(nn, &k);
		*dir = 1;
	} else {
		struct natk_okey k = {
			.iaddr = iph->saddr, .raddr = iph->daddr,
			.iport = pkt->sport, .rport = pkt->dport,
			.proto = pkt->proto,
		};

		if (natk_pool_has(cfg, iph->saddr))
			return NULL;	/* the host's own */
		flow = natk_flow_lookup_out(nn, &k);
		if (!flow)
			natk_fp_note_miss(skb, &k);
		*dir = 0;
	}
	/*
	 * Only flows that saw both directions (TCP: established), never a
	 * hairpinned one (its remote is the NAT itself).
	 */
	if (!flow || natk_flow_flag(flow, NATK_FLOW_DEAD) ||
	    !natk_flow_flag(flow, NATK_FLOW_SEEN_OUT) ||
	    !natk_flow_flag(flow, NATK_FLOW_SEEN_IN) ||
	    (pkt->proto == IPPROTO_TCP &&
	     READ_ONCE(flow->state) != NATK_TCP_ESTABLISHED) ||
	    natk_pool_has(cfg, flow->okey.raddr))
		return NULL;

	return flow;
}

/*
 * Translate @skb of @flow (from natk_fp_flow()) and send it to the next
 * hop. NF_ACCEPT: take the slow path after all; NF_STOLEN: sent.
 */
static unsigned int natk_fp_send(struct natk_net *nn,
				 const struct natk_cfg *cfg,
				 struct sk_buff *skb, struct net_device *in,
				 struct natk_flow *flow,
				 const struct natk_pkt *pkt, int dir)
{
	const struct iphdr *iph;
	struct net_device *dev;
	struct dst_entry *dst;
	struct neighbour *neigh;
	unsigned int mtu, len;
	__be32 nexthop;

	dst = natk_fp_route(nn, cfg, flow, dir, skb, in);
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
		  natk_manip(skb, true, flow->eaddr, flow->eport)) {
		natk_drop(nn, NATK_STAT_DROP_NO_MEMORY);
		return NF_DROP;
	}
	natk_track(nn, flow, pkt, !dir);
	natk_account(nn, flow, !dir, len);
	natk_stat_inc(nn, NATK_STAT_FASTPATH_PACKETS);

	iph = ip_hdr(skb);
	ip_decrease_ttl(ip_hdr(skb));
	nexthop = rt_nexthop(natk_rt(dst), iph->daddr);
	skb_forward_csum(skb);
	skb_clear_tstamp(skb);
	skb->priority = rt_tos2priority(iph->tos);
	IPCB(skb)->flags |= IPSKB_FORWARDED;
	skb_dst_set_noref(skb, dst);
	skb->dev = dev;
	/*
	 * As ip_finish_output2(): the neighbour's cached link-layer header
	 * while it is valid (a changed address replaces it at once), else
	 * its output function, which resolves it; neigh_xmit() creates a
	 * neighbour there is none of yet.
	 */
	neigh = __ipv4_neigh_lookup_noref(dev, (__force u32)nexthop);
	if (likely(neigh))
		neigh_output(neigh, skb, false);
	else
		neigh_xmit(NEIGH_ARP_TABLE, dev, &nexthop, skb);
	return NF_STOLEN;
}

static noinline unsigned int natk_fast_try(struct natk_net *nn,
					   const struct natk_cfg *cfg,
					   struct sk_buff *skb,
					   const struct nf_hook_state *state)
{
	struct natk_pkt pkt = {};
	struct natk_flow *flow;
	unsigned int verdict;
	bool ingress, blocked;
	int dir;

	/*
	 * The lookup first: a packet of no established flow (a new one)
	 * pays only that, not the walk of the hook lists. While those keep
	 * the fast path off (a firewall), the walk first: then it is all
	 * any packet pays. Either order gives the same verdict.
	 */
	blocked = READ_ONCE(nn->fp_blocked);
	if (blocked && natk_fp_check(state->net, cfg, &ingress) != NATK_FP_ACTIVE)
		return NF_ACCEPT;
	if (skb->pkt_type != PACKET_HOST)
		return NF_ACCEPT;
	flow = natk_fp_flow(nn, cfg, skb, state->in, &pkt, &dir);
	if (!flow)
		return NF_ACCEPT;
	/* Written only when it changes: no shared write per packet. */
	if (!blocked &&
	    natk_fp_check(state->net, cfg, &ingress) != NATK_FP_ACTIVE) {
		WRITE_ONCE(nn->fp_blocked, true);
		return NF_ACCEPT;
	}
	if (blocked)
		WRITE_ONCE(nn->fp_blocked, false);
	/* Its ingress hook had the packet, and let it go: so do we. */
	if (ingress && natk_fp_dev_hooked(nn, state->in) &&
	    natk_fp_ingress_last(cfg, state->in))
		return NF_ACCEPT;
	verdict = natk_fp_send(nn, cfg, skb, state->in, flow, &pkt, dir);
	/* Sent from here: ask for an ingress hook, if one could send it. */
	if (verdict == NF_STOLEN && ingress)
		natk_fp_want(nn, state->in);
	return verdict;
}

/*
 * PRE_ROUTING: the fast path for a packet no ingress hook took. A packet
 * its ingress hook found no established flow for just now (a new flow's)
 * pays only the first test (the work, with its stack frame, is
 * natk_fast_try()).
 */
static unsigned int natk_fast(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	struct natk_net *nn;
	const struct natk_cfg *cfg;

	if (this_cpu_read(natk_fp_missed) == skb) {
		this_cpu_write(natk_fp_missed, NULL);
		return NF_ACCEPT;
	}
	nn = natk_pernet_rcu(state->net);
	cfg = rcu_dereference(nn->cfg);
	if (!cfg || cfg->fast_path == NATK_FAST_PATH_OFF)
		return NF_ACCEPT;
	return natk_fast_try(nn, cfg, skb, state);
}

/*
 * The netdev ingress hook: before IPv4 input, so this checks what
 * ip_rcv_core() would (the slow path then counts and drops what is wrong).
 * Last of the device's ingress hooks: any other (nftables netdev chains)
 * has had the packet. On a bridge's port it acts for the bridge when it
 * may (fpbridge.c): the packet then skips the bridge as well.
 */
static noinline unsigned int natk_fp_ingress_try(const struct natk_fp_dev *d,
						 struct natk_net *nn,
						 const struct natk_cfg *cfg,
						 struct sk_buff *skb,
						 const struct nf_hook_state *state)
{
	struct net_device *in = state->in, *br = NULL;
	struct natk_pkt pkt = {};
	const struct iphdr *iph;
	unsigned int len, verdict;
	struct natk_flow *flow;
	u8 pkt_type;
	bool ingress;
	int dir;

	if (rcu_access_pointer(in->rx_handler)) {
		br = natk_fpb_master(d, skb, in);
		if (!br)
			return NF_ACCEPT;
		in = br;
	} else if (skb->pkt_type != PACKET_HOST) {
		return NF_ACCEPT;
	}
	if (netif_is_l3_slave(in) || !pskb_may_pull(skb, sizeof(struct iphdr)))
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	len = ntohs(iph->tot_len);
	if (iph->version != 4 || iph->ihl != 5 || len < sizeof(*iph) ||
	    skb->len < len)
		return NF_ACCEPT;
	/*
	 * A packet of no established flow (a new one) pays only the lookup,
	 * here and not again on the bridge or at PRE_ROUTING (ip_rcv_core()
	 * checks its header's checksum there). The lengths are checked: a
	 * wrong checksum only makes the lookup look for another tuple.
	 */
	flow = natk_fp_flow(nn, cfg, skb, in, &pkt, &dir);
	if (!flow) {
		this_cpu_write(natk_fp_missed, skb);
		return NF_ACCEPT;
	}
	/* Mutant fp-csum-unchecked: a damaged header is translated and sent. */
	if (ip_fast_csum(ip_hdr(skb), 5) && !natk_mutant(fp_csum_unchecked))
		return NF_ACCEPT;
	if (natk_fp_check(state->net, cfg, &ingress) != NATK_FP_ACTIVE ||
	    !ingress || !natk_fp_ingress_last(cfg, state->in) ||
	    (br && !natk_fpb_may(d, cfg, state->net, skb, state->in, br)))
		return NF_ACCEPT;
	/*
	 * Through the bridge, so that it learns the source: the other
	 * direction, a flow's first packet from this port, and the one that
	 * refreshes its last-seen stamp (once a second).
	 */
	if (br) {
		if (dir)
			return NF_ACCEPT;
		if (READ_ONCE(flow->fp_port) != (u16)state->in->ifindex) {
			WRITE_ONCE(flow->fp_port, (u16)state->in->ifindex);
			return NF_ACCEPT;
		}
		if (natk_flow_refresh_due(flow, jiffies))
			return NF_ACCEPT;
	}
	if (pskb_trim_rcsum(skb, len))
		return NF_ACCEPT;
	/* Ours now: what ip_rcv_core() sets (routing may add a flag). */
	memset(IPCB(skb), 0, sizeof(struct inet_skb_parm));
	IPCB(skb)->iif = in->ifindex;
	skb_set_transport_header(skb, sizeof(struct iphdr));
	pkt_type = skb->pkt_type;
	skb->pkt_type = PACKET_HOST;	/* what the bridge sets */
	skb->skb_iif = in->ifindex;	/* as if received on the bridge */
	verdict = natk_fp_send(nn, cfg, skb, in, flow, &pkt, dir);
	if (verdict == NF_ACCEPT) {
		skb->pkt_type = pkt_type;
		return NF_ACCEPT;
	}
	/* The bridge counts what it passes up. Mutant fpb-uncounted: not. */
	if (br && !natk_mutant(fpb_uncounted))
		dev_sw_netstats_rx_add(br, len);
	if (verdict == NF_STOLEN) {
		natk_stat_inc(nn, NATK_STAT_FASTPATH_INGRESS);
		if (br)
			natk_stat_inc(nn, NATK_STAT_FASTPATH_BRIDGE);
	}
	return verdict;
}

unsigned int natk_fp_ingress(void *priv, struct sk_buff *skb,
			     const struct nf_hook_state *state)
{
	struct natk_net *nn;
	const struct natk_cfg *cfg;

	/*
	 * Only these tests (the work, with its stack frame, is
	 * natk_fp_ingress_try()) for what is not IPv4 and for the packet a
	 * port's hook found no flow for just now (natk_fp_missed).
	 */
	if (skb->protocol != htons(ETH_P_IP) || skb_vlan_tag_present(skb) ||
	    skb_shared(skb) || this_cpu_read(natk_fp_missed) == skb)
		return NF_ACCEPT;
	nn = natk_pernet_rcu(state->net);
	cfg = rcu_dereference(nn->cfg);
	if (!cfg)
		return NF_ACCEPT;
	return natk_fp_ingress_try(priv, nn, cfg, skb, state);
}

static void natk_fp_dev_free_rcu(struct rcu_head *head)
{
	struct natk_fp_dev *d = container_of(head, struct natk_fp_dev, rcu);

	natk_fpb_detach(d);
	kfree(d);
}

/*
 * Unhook slot @i (RTNL held). The callback runs before natk.ko goes:
 * module exit waits for RCU callbacks (natk_map_cache_exit()).
 */
static void natk_fp_dev_free(struct natk_net *nn, int i)
{
	struct natk_fp_dev *d = rtnl_dereference(nn->fp_devs[i]);

	RCU_INIT_POINTER(nn->fp_devs[i], NULL);
	nf_unregister_net_hook(nn->net, &d->ops);
	call_rcu(&d->rcu, natk_fp_dev_free_rcu);
}

/*
 * Hook @dev's ingress (RTNL held). -ENOSPC: all NATK_FP_DEVS are taken;
 * another error: not hooked (a bridge port natk cannot serve).
 */
static int natk_fp_hook(struct natk_net *nn, struct net_device *dev)
{
	struct natk_fp_dev *d;
	int i, err;

	if (natk_fp_dev_hooked(nn, dev))
		return 0;
	for (i = 0; i < NATK_FP_DEVS; i++)
		if (!rtnl_dereference(nn->fp_devs[i]))
			break;
	if (i == NATK_FP_DEVS)
		return -ENOSPC;
	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	d->ops.hook = natk_fp_ingress;
	d->ops.priv = d;
	d->ops.pf = NFPROTO_NETDEV;
	d->ops.hooknum = NF_NETDEV_INGRESS;
	d->ops.priority = INT_MAX;	/* last: see natk_fp_ingress_last() */
	d->ops.dev = dev;
	err = natk_fpb_attach(d, dev);
	if (!err)
		err = nf_register_net_hook(nn->net, &d->ops);
	if (err) {
		natk_fpb_detach(d);
		kfree(d);
		return err;
	}
	rcu_assign_pointer(nn->fp_devs[i], d);
	return 0;
}

/*
 * Process context: hook the device asked for at PRE_ROUTING, and if it is
 * a bridge, its ports (bounded by NATK_FP_DEVS).
 */
static void natk_fp_work(struct work_struct *work)
{
	struct natk_net *nn = container_of(work, struct natk_net, fp_work);
	struct net_device *dev, *lower;
	struct list_head *iter;
	bool off;
	int err;

	rtnl_lock();
	/*
	 * Mode off removes the hooks after it is published, under RTNL: a
	 * late request either sees it here or has its hook removed then.
	 */
	rcu_read_lock();
	off = READ_ONCE(rcu_dereference(nn->cfg)->fast_path) ==
	      NATK_FAST_PATH_OFF;
	rcu_read_unlock();
	dev = __dev_get_by_index(nn->net, READ_ONCE(nn->fp_want));
	if (!nn->fp_on || off || !dev || dev->reg_state != NETREG_REGISTERED)
		goto out;
	err = natk_fp_hook(nn, dev);
	if (err == -ENOSPC)
		goto full;		/* PRE_ROUTING serves it */
	if (!err && netif_is_bridge_master(dev))
		netdev_for_each_lower_dev(dev, lower, iter)
			if (natk_fp_hook(nn, lower) == -ENOSPC)
				break;	/* the bridge's hook serves the rest */
out:
	WRITE_ONCE(nn->fp_want, 0);
full:
	rtnl_unlock();
}

/*
 * NETDEV_CHANGEUPPER (RTNL held): a device that joins a bridge whose ingress
 * natk hooks is hooked as its port (one natk hooked on its own before is
 * hooked again: a port's hook needs bridge.ko's helpers); a port that
 * leaves a bridge loses its hook (and natk its hold on bridge.ko).
 */
void natk_fp_dev_upper(struct net_device *dev,
		       const struct netdev_notifier_changeupper_info *info)
{
	struct natk_net *nn = natk_pernet(dev_net(dev));

	if (!netif_is_bridge_master(info->upper_dev))
		return;
	if (!info->linking) {
		natk_fp_dev_gone(dev);
	} else if (nn->fp_on && natk_fp_dev_hooked(nn, info->upper_dev)) {
		/* Mutant fpb-plain-kept: a device hooked alone stays so. */
		if (!natk_mutant(fpb_plain_kept))
			natk_fp_dev_gone(dev);
		natk_fp_hook(nn, dev);	/* no room: the bridge's hook serves */
	}
}

/* A bridge port's STP state changed (fpbridge.c's switchdev notifier). */
void natk_fp_dev_state(struct net_device *dev, u8 state)
{
	struct natk_fp_dev *d;

	rcu_read_lock();
	d = natk_fp_dev_find(natk_pernet(dev_net(dev)), dev);
	if (d)
		WRITE_ONCE(d->br_state, state);
	rcu_read_unlock();
}

/*
 * NETDEV_UNREGISTER, or a port leaving a bridge (RTNL held): its hook goes
 * before the device does.
 */
void natk_fp_dev_gone(struct net_device *dev)
{
	struct natk_net *nn = natk_pernet(dev_net(dev));
	struct natk_fp_dev *d;
	int i;

	for (i = 0; i < NATK_FP_DEVS; i++) {
		d = rtnl_dereference(nn->fp_devs[i]);
		if (d && d->ops.dev == dev) {
			natk_fp_dev_free(nn, i);
			WRITE_ONCE(nn->fp_want, 0);	/* a full table has room */
		}
	}
}

void natk_fp_net_init(struct natk_net *nn)
{
	INIT_WORK(&nn->fp_work, natk_fp_work);
}

/* The netns goes: natk_fp_unregister() ran, no packet can ask again. */
void natk_fp_net_exit(struct natk_net *nn)
{
	cancel_work_sync(&nn->fp_work);
}

int natk_fp_register(struct net *net)
{
	struct natk_net *nn = natk_pernet(net);
	int err;

	err = nf_register_net_hook(net, &natk_fast_ops);
	if (err)
		return err;
	rtnl_lock();
	nn->fp_on = true;
	rtnl_unlock();
	return 0;
}

static void natk_fp_devs_clear_rtnl(struct natk_net *nn)
{
	int i;

	for (i = 0; i < NATK_FP_DEVS; i++)
		if (rtnl_dereference(nn->fp_devs[i]))
			natk_fp_dev_free(nn, i);
	WRITE_ONCE(nn->fp_want, 0);
}

/* Fast path mode off: no device keeps natk's ingress hook. */
void natk_fp_devs_clear(struct natk_net *nn)
{
	rtnl_lock();
	natk_fp_devs_clear_rtnl(nn);
	rtnl_unlock();
}

/*
 * The ingress hooks go with the PRE_ROUTING one. A packet still in
 * natk_fast() may ask for a hook again: the work sees fp_on false.
 */
void natk_fp_unregister(struct net *net)
{
	struct natk_net *nn = natk_pernet(net);

	rtnl_lock();
	nn->fp_on = false;
	natk_fp_devs_clear_rtnl(nn);
	rtnl_unlock();
	nf_unregister_net_hook(net, &natk_fast_ops);
}
