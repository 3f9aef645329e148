// SPDX-License-Identifier: GPL-2.0
/*
 * natk fast path: packets that come in on a port of a bridge.
 *
 * A packet for the NAT that arrives on a bridge's port (the common LAN
 * side: a bridge of the internal ports, the bridge has the address) goes
 * through the bridge (rx handler, FDB lookup, local delivery) and is
 * received again on the bridge device before natk's ingress hook there sees
 * it. When its flow is established, natk's ingress hook on the port takes
 * it first and acts for the bridge, as long as the bridge would have passed
 * the frame up unchanged and nothing on the bridge device would have seen
 * it:
 *   - the port is a bridge port in STP state forwarding (kept from the
 *     bridge's switchdev notifications, which come for every port: the
 *     bridge's own getter wants RTNL), not locked (802.1X), on a bridge
 *     without VLAN filtering;
 *   - the frame is for the bridge's own MAC address from a valid source;
 *   - the bridge device is up, has no rx handler (macvlan on it), no tc
 *     ingress, no generic XDP, no packet sockets (tcpdump -i lan0 sees every
 *     packet), and, in mode auto, no netdev ingress hook but natk's and no
 *     bridge-family netfilter hook (nftables bridge chains, br_netfilter).
 * Anything else goes through the bridge, to natk's hook on the bridge
 * device or PRE_ROUTING, as before. The bridge device's receive counters
 * count what natk takes for it.
 *
 * The bridge learns source addresses from the frames it sees. Those natk
 * takes it does not see, so a flow's first packet from a port (flow->fp_port
 * remembers which) always goes through the bridge: a host that moves to
 * another port is learned there at once. So does the packet that refreshes
 * the flow's last-seen stamp (once a second), and the ARP the NAT's
 * neighbour entry for the host sends every few tens of seconds keeps the
 * entry from ageing out.
 *
 * The bridge's helpers are module symbols of bridge.ko: natk takes them
 * with symbol_get() while it hooks a port (so bridge.ko stays loaded as long
 * as natk hooks one of its ports) and needs no bridge.ko otherwise.
 */
#include <linux/if_bridge.h>
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <linux/rtnetlink.h>
#include <net/switchdev.h>
#include "natk.h"

/*
 * bridge.ko's helpers and the switchdev notifier: in every kernel natk.ko
 * is built for (Debian's: bridge a module, switchdev built in). Without
 * them (a KUnit build, say) natk serves a bridge from its device only.
 */
#if IS_ENABLED(CONFIG_BRIDGE) && IS_ENABLED(CONFIG_NET_SWITCHDEV) && \
	IS_ENABLED(CONFIG_MODULES)
#define NATK_FPB 1
#else
#define NATK_FPB 0
#endif

#if NATK_FPB
/*
 * @dev, whose ingress natk hooks (RTNL held): a bridge port? Then take the
 * bridge's helpers and its STP state. 0: not a port, or a port natk can
 * act for; an error: a port natk cannot serve (hooking it would be idle).
 */
int natk_fpb_attach(struct natk_fp_dev *d, struct net_device *dev)
{
	u8 (*stp_state)(const struct net_device *dev);
	bool ok;

	if (!netif_is_bridge_port(dev))
		return 0;
	stp_state = symbol_get(br_port_get_stp_state);
	d->br_flag_is_set = symbol_get(br_port_flag_is_set);
	ok = stp_state && d->br_flag_is_set;
#if IS_ENABLED(CONFIG_BRIDGE_VLAN_FILTERING)	/* else never filters */
	d->br_vlan_enabled = symbol_get(br_vlan_enabled);
	ok = ok && d->br_vlan_enabled;
#endif
	if (ok) {
		d->br_state = stp_state(dev);
		d->br = netdev_master_upper_dev_get(dev);
		ok = d->br && netif_is_bridge_master(d->br);
	}
	if (stp_state)
		symbol_put(br_port_get_stp_state);
	if (!ok) {
		natk_fpb_detach(d);
		return -ENOENT;
	}
	return 0;
}

/* The hook is gone and no reader is left (RCU callback, or never used). */
void natk_fpb_detach(struct natk_fp_dev *d)
{
	if (d->br_flag_is_set)
		symbol_put_addr(d->br_flag_is_set);
	if (d->br_vlan_enabled)
		symbol_put_addr(d->br_vlan_enabled);
	d->br_flag_is_set = NULL;
	d->br_vlan_enabled = NULL;
}

#ifdef CONFIG_NETFILTER_INGRESS
/* Only natk's hooks in @e (or none)? Bounded by the number of hooks. */
static bool natk_fpb_only_ours(const struct nf_hook_entries *e)
{
	unsigned int i;

	if (!e)
		return true;
	for (i = 0; i < e->num_hook_entries; i++)
		if (e->hooks[i].hook != natk_fp_ingress)
			return false;
	return true;
}
#endif

/* tc at @dev's ingress (a clsact or ingress qdisc, a tcx program)? */
static bool natk_fpb_tc_ingress(const struct net_device *dev)
{
#ifdef NATK_HAVE_TCX
	return rcu_access_pointer(dev->tcx_ingress);
#elif IS_ENABLED(CONFIG_NET_CLS_ACT)
	return rcu_access_pointer(dev->miniq_ingress);
#else
	return false;
#endif
}

/* Would anything on @br see a packet it receives, but natk's hook? */
static bool natk_fpb_watched(const struct natk_cfg *cfg, struct net *net,
			     const struct net_device *br)
{
	if (rcu_access_pointer(br->rx_handler) ||
	    rcu_access_pointer(br->xdp_prog) || natk_fpb_tc_ingress(br) ||
	    !list_empty(&br->ptype_all) || !list_empty(&br->ptype_specific))
		return true;
	if (cfg->fast_path == NATK_FAST_PATH_ON)
		return false;
#ifdef CONFIG_NETFILTER_FAMILY_BRIDGE
	/* Mutant fpb-bridge-hooks-ignored: bridge chains are skipped. */
	if (!natk_mutant(fpb_bridge_hooks_ignored) &&
	    (rcu_access_pointer(net->nf.hooks_bridge[NF_BR_PRE_ROUTING]) ||
	     rcu_access_pointer(net->nf.hooks_bridge[NF_BR_LOCAL_IN])))
		return true;
#endif
#ifdef CONFIG_NETFILTER_INGRESS
	return !natk_fpb_only_ours(rcu_dereference(br->nf_hooks_ingress));
#else
	return false;
#endif
}

/*
 * May natk take @skb, from @port for its bridge @br (natk_fpb_master()),
 * before the bridge? Only while the bridge would pass it up unchanged and
 * nothing on @br would see it. Asked once a packet has an established
 * flow: a few loads and two calls into the bridge.
 */
bool natk_fpb_may(const struct natk_fp_dev *d, const struct natk_cfg *cfg,
		  struct net *net, const struct sk_buff *skb,
		  struct net_device *port, const struct net_device *br)
{
	/* Mutant fpb-stp-ignored: a blocked port's frames go on. */
	if ((!natk_mutant(fpb_stp_ignored) &&
	     READ_ONCE(d->br_state) != BR_STATE_FORWARDING) ||
	    !netif_running(br) || !is_valid_ether_addr(eth_hdr(skb)->h_source) ||
	    natk_fpb_watched(cfg, net, br) ||
	    d->br_flag_is_set(port, BR_PORT_LOCKED) ||
	    (d->br_vlan_enabled && d->br_vlan_enabled(br)))
		return false;
	return true;
}

/*
 * A port's STP state changed (the bridge tells switchdev, which calls this
 * with RTNL held, for every port, offloaded or not; deferred by a work
 * item at most). natk only listens: it never reports the change handled.
 */
static int natk_fpb_event(struct notifier_block *nb, unsigned long event,
			  void *ptr)
{
	struct switchdev_notifier_port_attr_info *info = ptr;
	struct net_device *dev = switchdev_notifier_info_to_dev(ptr);

	if (event != SWITCHDEV_PORT_ATTR_SET ||
	    info->attr->id != SWITCHDEV_ATTR_ID_PORT_STP_STATE)
		return NOTIFY_DONE;
	natk_fp_dev_state(dev, info->attr->u.stp_state);
	return NOTIFY_DONE;
}

static struct notifier_block natk_fpb_nb = {
	.notifier_call = natk_fpb_event,
};

int natk_fpb_init(void)
{
	return register_switchdev_blocking_notifier(&natk_fpb_nb);
}

void natk_fpb_exit(void)
{
	unregister_switchdev_blocking_notifier(&natk_fpb_nb);
}
#else /* !NATK_FPB */
int natk_fpb_attach(struct natk_fp_dev *d, struct net_device *dev)
{
	return netif_is_bridge_port(dev) ? -EOPNOTSUPP : 0;
}

void natk_fpb_detach(struct natk_fp_dev *d)
{
}

bool natk_fpb_may(const struct natk_fp_dev *d, const struct natk_cfg *cfg,
		  struct net *net, const struct sk_buff *skb,
		  struct net_device *port, const struct net_device *br)
{
	return false;
}

int natk_fpb_init(void)
{
	return 0;
}

void natk_fpb_exit(void)
{
}
#endif
