// SPDX-License-Identifier: GPL-2.0
/*
 * natk flow attributes and flow events. A flow is described the same way
 * in dumps and in the create/update/destroy events of the "events"
 * multicast group. Events cost nothing when nobody listens; when an event
 * cannot be allocated or delivered it is counted as lost, never retried.
 */
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <net/genetlink.h>
#include "natk.h"

/* Room for one flow nest and a timestamp (about 210 bytes used). */
#define NATK_EVENT_SIZE	320

/* NATK_FLOW_A_SEEN: the directions @flow has had packets in. */
static u8 natk_flow_seen_dirs(const struct natk_flow *flow)
{
	return (natk_flow_flag(flow, NATK_FLOW_SEEN_OUT) ?
		NATK_FLOW_F_SEEN_OUT : 0) |
	       (natk_flow_flag(flow, NATK_FLOW_SEEN_IN) ?
		NATK_FLOW_F_SEEN_IN : 0);
}

/* The counters of an accounted flow (NATK_A_ACCOUNTING). */
static int natk_flow_fill_acct(struct sk_buff *skb,
			       const struct natk_flow_acct *acct)
{
	return nla_put_u64_64bit(skb, NATK_FLOW_A_PKTS_OUT,
				 READ_ONCE(acct->pkts[0]), NATK_FLOW_A_PAD) ||
	       nla_put_u64_64bit(skb, NATK_FLOW_A_BYTES_OUT,
				 READ_ONCE(acct->bytes[0]), NATK_FLOW_A_PAD) ||
	       nla_put_u64_64bit(skb, NATK_FLOW_A_PKTS_IN,
				 READ_ONCE(acct->pkts[1]), NATK_FLOW_A_PAD) ||
	       nla_put_u64_64bit(skb, NATK_FLOW_A_BYTES_IN,
				 READ_ONCE(acct->bytes[1]), NATK_FLOW_A_PAD);
}

int natk_flow_fill(struct sk_buff *skb, const struct natk_flow *flow,
		   const struct natk_cfg *cfg, u8 reason)
{
	const struct natk_flow_acct *acct = natk_flow_counters(flow);
	long timeout = natk_timeout_for(cfg, flow->okey.proto,
					READ_ONCE(flow->state));
	/*
	 * At most the timeout: flow->seen may run up to a second ahead of
	 * the last packet (natk_flow_refresh()), which keeps the flow that
	 * much longer, never shorter.
	 */
	long left = min((long)(natk_flow_deadline(cfg, flow) - jiffies),
			timeout);
	u32 age = (u32)jiffies - flow->created;
	struct nlattr *nest;

	nest = nla_nest_start(skb, NATK_A_FLOW);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u8(skb, NATK_FLOW_A_PROTO, flow->okey.proto) ||
	    nla_put_in_addr(skb, NATK_FLOW_A_INT_ADDR_BE, flow->okey.iaddr) ||
	    nla_put_u16(skb, NATK_FLOW_A_INT_PORT, ntohs(flow->okey.iport)) ||
	    nla_put_in_addr(skb, NATK_FLOW_A_EXT_ADDR_BE, flow->eaddr) ||
	    nla_put_u16(skb, NATK_FLOW_A_EXT_PORT, ntohs(flow->eport)) ||
	    nla_put_in_addr(skb, NATK_FLOW_A_REM_ADDR_BE, flow->okey.raddr) ||
	    nla_put_u16(skb, NATK_FLOW_A_REM_PORT, ntohs(flow->okey.rport)) ||
	    nla_put_u8(skb, NATK_FLOW_A_STATE, READ_ONCE(flow->state)) ||
	    nla_put_u32(skb, NATK_FLOW_A_EXPIRES_MS,
			left > 0 ? jiffies_to_msecs(left) : 0) ||
	    nla_put_u32(skb, NATK_FLOW_A_AGE_MS, jiffies_to_msecs(age)) ||
	    nla_put_u8(skb, NATK_FLOW_A_SEEN, natk_flow_seen_dirs(flow)) ||
	    (acct && natk_flow_fill_acct(skb, acct)) ||
	    nla_put_u32(skb, NATK_FLOW_A_ID, natk_flow_id(flow)) ||
	    (reason && nla_put_u8(skb, NATK_FLOW_A_REASON, reason))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Events go out only while the family is registered: module exit stops
 * them, waits for senders under RCU, and only then unregisters it (flows
 * that netns teardown kills after that send nothing).
 */
static bool natk_events_on;

void natk_events_enable(bool on)
{
	WRITE_ONCE(natk_events_on, on);
	if (!on)
		synchronize_rcu();
}

static void __natk_event(struct natk_net *nn, const struct natk_flow *flow,
			 u8 cmd, u8 reason);

/*
 * Stamp, end and multicast an event to group @grp; count it when it is
 * lost, in the counter of its group.
 */
static void natk_event_send(struct natk_net *nn, struct sk_buff *skb,
			    void *hdr, gfp_t gfp, enum natk_grp grp)
{
	enum natk_stat lost = grp == NATK_GRP_MAPPINGS ?
			      NATK_STAT_MAP_EVENTS_LOST : NATK_STAT_EVENTS_LOST;

	if (nla_put_u64_64bit(skb, NATK_A_TIMESTAMP_NS, ktime_get_real_ns(),
			      NATK_A_PAD)) {
		nlmsg_free(skb);
		natk_stat_inc(nn, lost);
		return;
	}
	genlmsg_end(skb, hdr);
	if (genlmsg_multicast_netns(&natk_genl_family, nn->net, skb, 0, grp,
				    gfp) == -ENOBUFS)
		natk_stat_inc(nn, lost);
}

/*
 * May anyone hear a flow event? genl_has_listeners() asks the whole
 * family, not this netns: a netns being dismantled (check_net() false) has
 * no listener, so nothing is built for it. A sender checks and sends under
 * one rcu_read_lock() (natk_events_enable()).
 */
bool natk_events_heard(struct natk_net *nn)
{
	return READ_ONCE(natk_events_on) && check_net(nn->net) &&
	       genl_has_listeners(&natk_genl_family, nn->net, NATK_GRP_EVENTS);
}

/* Send a flow event if anyone may hear it. */
void natk_event(struct natk_net *nn, const struct natk_flow *flow, u8 cmd,
		u8 reason)
{
	rcu_read_lock();
	natk_event_rcu(nn, flow, cmd, reason);
	rcu_read_unlock();
}

/* natk_event() for a caller that holds rcu_read_lock() (a new flow's). */
void natk_event_rcu(struct natk_net *nn, const struct natk_flow *flow, u8 cmd,
		    u8 reason)
{
	if (natk_events_heard(nn))
		__natk_event(nn, flow, cmd, reason);
}

/*
 * NATK_CMD_FLOW_UPDATE for @flow, if anyone may hear it: its TCP state
 * changed (the packet path, once per transition) or its expiry moved on
 * since it was last announced (the GC, natk_flow_update_due()). Any
 * context. The flow is stamped as announced only when the event is built
 * for a listener; a flow already unlinked sends nothing (its FLOW_DEL may
 * be out).
 */
void natk_event_update(struct natk_net *nn, struct natk_flow *flow)
{
	rcu_read_lock();
	if (!natk_flow_flag(flow, NATK_FLOW_DEAD) && natk_events_heard(nn)) {
		WRITE_ONCE(flow->announced, natk_secs(jiffies));
		__natk_event(nn, flow, NATK_CMD_FLOW_UPDATE, NATK_REASON_NONE);
	}
	rcu_read_unlock();
}

/*
 * Is an expiry refresh FLOW_UPDATE due for @flow at @now (jiffies)? Yes if
 * it saw traffic since it was last announced (FLOW_NEW or FLOW_UPDATE)
 * and that announcement is at least min(timeout / 2, NATK_UPDATE_EVERY)
 * old (at least a second), timeout being its idle timeout now: a
 * listener's idea of when the flow expires is never off by more than
 * about that. In seconds: "traffic since" is a packet in a later second
 * than the announcement. Both ages are compared in 16 bits, so an
 * announcement more than 18 hours old may look recent: the flow waits at
 * most one more interval. The GC calls it; nothing here is written.
 */
bool natk_flow_update_due(const struct natk_cfg *cfg,
			  const struct natk_flow *flow, unsigned long now)
{
	unsigned long timeout = natk_timeout_for(cfg, flow->okey.proto,
						 READ_ONCE(flow->state));
	/* The time of the packet that wrote it (natk_flow_refresh()). */
	unsigned long seen = natk_flow_seen(flow, now) - NATK_SEEN_AHEAD;
	unsigned long every, idle;
	u16 age;

	every = max_t(unsigned long, min(timeout / 2, NATK_UPDATE_EVERY) / HZ,
		      1);
	age = natk_secs(now) - READ_ONCE(flow->announced);
	if (age < every)
		return false;
	/* Seconds since its last packet (a packet racing with @now: 0). */
	idle = time_after(seen, now) ? 0 :
	       (now - INITIAL_JIFFIES) / HZ - (seen - INITIAL_JIFFIES) / HZ;
	return idle < age;
}

/* Caller holds rcu_read_lock(). */
static void __natk_event(struct natk_net *nn, const struct natk_flow *flow,
			 u8 cmd, u8 reason)
{
	const struct natk_cfg *cfg;
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(NATK_EVENT_SIZE, GFP_ATOMIC);
	if (!skb)
		goto lost;
	hdr = genlmsg_put(skb, 0, 0, &natk_genl_family, 0, cmd);
	if (!hdr)
		goto lost_free;
	cfg = rcu_dereference(nn->cfg);
	if (natk_flow_fill(skb, flow, cfg, reason))
		goto lost_free;
	natk_event_send(nn, skb, hdr, GFP_ATOMIC, NATK_GRP_EVENTS);
	return;

lost_free:
	nlmsg_free(skb);
lost:
	natk_stat_inc(nn, NATK_STAT_EVENTS_LOST);
}

/* Room for one mapping nest and a timestamp (about 80 bytes used). */
#define NATK_MAP_EVENT_SIZE	128

/*
 * The mapping log, to the "mappings" group: a mapping of @ik (or, @ik
 * NULL, a port block of host @iaddr) to @eaddr:@first (a block: up to
 * @last) was made (NATK_CMD_MAP_NEW) or is free again (NATK_CMD_MAP_DEL).
 * Any context; nothing is allocated when nobody listens.
 */
static noinline void natk_event_mapping_send(struct natk_net *nn,
					     const struct natk_mkey *ik,
					     __be32 iaddr, __be32 eaddr,
					     u16 first, u16 last, u8 cmd)
{
	struct sk_buff *skb;
	struct nlattr *nest;
	void *hdr;

	skb = genlmsg_new(NATK_MAP_EVENT_SIZE, GFP_ATOMIC);
	if (!skb)
		goto lost;
	hdr = genlmsg_put(skb, 0, 0, &natk_genl_family, 0, cmd);
	if (!hdr)
		goto lost_free;
	nest = nla_nest_start(skb, NATK_A_MAP);
	if (!nest ||
	    (ik && (nla_put_u8(skb, NATK_MAP_A_PROTO, ik->proto) ||
		    nla_put_u16(skb, NATK_MAP_A_INT_PORT, ntohs(ik->iport)))) ||
	    nla_put_in_addr(skb, NATK_MAP_A_INT_ADDR_BE, iaddr) ||
	    nla_put_in_addr(skb, NATK_MAP_A_EXT_ADDR_BE, eaddr) ||
	    nla_put_u16(skb, NATK_MAP_A_EXT_PORT, first) ||
	    (!ik && nla_put_u16(skb, NATK_MAP_A_EXT_PORT_LAST, last)))
		goto lost_free;
	nla_nest_end(skb, nest);
	natk_event_send(nn, skb, hdr, GFP_ATOMIC, NATK_GRP_MAPPINGS);
	return;

lost_free:
	nlmsg_free(skb);
lost:
	natk_stat_inc(nn, NATK_STAT_MAP_EVENTS_LOST);
}

/* May anyone hear a mapping event (natk_events_heard(), their group)? */
static bool natk_map_events_heard(struct natk_net *nn)
{
	return READ_ONCE(natk_events_on) && check_net(nn->net) &&
	       genl_has_listeners(&natk_genl_family, nn->net,
				  NATK_GRP_MAPPINGS);
}

/*
 * The check first, before anything is set up for the message: every new
 * mapping asks, and nobody listens most of the time.
 */
static void natk_event_mapping(struct natk_net *nn, const struct natk_mkey *ik,
			       __be32 iaddr, __be32 eaddr, u16 first, u16 last,
			       u8 cmd)
{
	if (natk_map_events_heard(nn))
		natk_event_mapping_send(nn, ik, iaddr, eaddr, first, last,
					cmd);
}

void natk_event_map(struct natk_net *nn, const struct natk_map *map, u8 cmd)
{
	natk_event_mapping(nn, &map->ikey, map->ikey.iaddr, map->ekey.eaddr,
			   ntohs(map->ekey.eport), 0, cmd);
}

/*
 * With address-and-port-dependent mapping a flow is its own mapping (no
 * struct natk_map): its external port is taken when it is published and
 * free again when it dies (flow.c), so it is logged then.
 */
void natk_event_flow_map(struct natk_net *nn, const struct natk_flow *flow,
			 u8 cmd)
{
	struct natk_mkey ik;

	if (!natk_map_events_heard(nn))
		return;
	ik = (struct natk_mkey){
		.iaddr = flow->okey.iaddr,
		.iport = flow->okey.iport,
		.proto = flow->okey.proto,
	};
	natk_event_mapping_send(nn, &ik, ik.iaddr, flow->eaddr,
				ntohs(flow->eport), 0, cmd);
}

/* Port blocks (blocks.c): for every protocol, no internal port. */
void natk_event_block(struct natk_net *nn, __be32 iaddr, __be32 eaddr,
		      u16 first, u16 last, u8 cmd)
{
	natk_event_mapping(nn, NULL, iaddr, eaddr, first, last, cmd);
}

/*
 * The external interface's state changed (netns.c, process context, under
 * natk_net.lock): tell the listeners what status would say now.
 */
void natk_event_state(struct natk_net *nn, const struct natk_cfg *cfg)
{
	struct sk_buff *skb;
	void *hdr;

	if (!READ_ONCE(natk_events_on) ||
	    !genl_has_listeners(&natk_genl_family, nn->net, NATK_GRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		goto lost;
	hdr = genlmsg_put(skb, 0, 0, &natk_genl_family, 0, NATK_CMD_STATE);
	if (!hdr || natk_fill_state(skb, cfg)) {
		nlmsg_free(skb);
		goto lost;
	}
	natk_event_send(nn, skb, hdr, GFP_KERNEL, NATK_GRP_EVENTS);
	return;

lost:
	natk_stat_inc(nn, NATK_STAT_EVENTS_LOST);
}
