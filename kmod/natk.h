/* SPDX-License-Identifier: GPL-2.0 */
/*
 * natk internal interfaces. See docs/design.md for the datapath.
 */
#ifndef _NATK_H
#define _NATK_H

#include <linux/types.h>
#include <linux/rhashtable.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/sched/mm.h>
#include <linux/memcontrol.h>
#include <linux/llist.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/genetlink.h>
#include <linux/netfilter.h>
#include <uapi/linux/natk.h>

/* Timeout classes; values in cfg->timeout[] are in jiffies. */
enum natk_timeout {
	NATK_TO_TCP_EST,
	NATK_TO_TCP_TRANS,
	NATK_TO_UDP,
	NATK_TO_ICMP,
	NATK_TO_NUM
};

#define NATK_DEF_TCP_EST	7440
#define NATK_DEF_TCP_TRANS	240
#define NATK_DEF_UDP		300
#define NATK_DEF_ICMP		60
#define NATK_DEF_PORT_MIN	1024
#define NATK_DEF_PORT_MAX	65535
#define NATK_DEF_PORT_HOLD	120
#define NATK_DEF_BLOCKS_PER_HOST 8
#define NATK_DEF_FAST_PATH	NATK_FAST_PATH_AUTO
#define NATK_MIN_FLOWS_LIMIT	1024
#define NATK_MAX_FLOWS_LIMIT	(16U << 20)

/* Attempts the port allocator makes before it gives up (RFC 6056 style). */
#define NATK_PORT_ATTEMPTS	128

/*
 * Configuration snapshot. Readers take it with rcu_dereference() on the
 * packet path; writers (netlink, notifier work) copy, change and replace it
 * under natk_net.lock. A snapshot is never modified once published.
 */
/* scope.c: a list of IPv4 prefixes (NATK_A_INTERNAL, NATK_A_NO_NAT). */
struct natk_prefix {
	__be32 addr;
	__be32 mask;
};

struct natk_scope {
	unsigned int n;
	struct natk_prefix p[NATK_PREFIXES_MAX];
};

/* pool.c: NATK_ADDRS_LIST, the addresses an administrator named. */
struct natk_range {
	__be32 first, last;
};

struct natk_cfg {
	char ifname[IFNAMSIZ];		/* bound by name; "": natk is down */
	int ifindex;			/* of that name now; 0: none exists */
	__be32 ext_addr;		/* primary external address; 0: no pool */
	__be32 flows_addr;		/* the last ext_addr, kept while waiting */
	u8 addrs_mode;			/* enum natk_addrs_mode */
	u8 naddrs;			/* pool.c: addresses in the pool */
	u8 nranges;			/* in ranges[] */
	__be32 addrs[NATK_ADDRS_MAX];	/* the pool, ext_addr among them */
	struct natk_range ranges[NATK_ADDR_RANGES_MAX];
	u16 port_min, port_max;
	u16 port_block;			/* blocks.c: ports a block, 0: off */
	u16 blocks_per_host;
	u32 max_flows;
	u32 max_flows_per_host;
	unsigned long timeout[NATK_TO_NUM];
	u8 mapping, filtering;
	u16 mss_clamp;
	u8 fast_path;			/* enum natk_fast_path */
	bool accounting;		/* new flows count packets and bytes */
	unsigned long port_hold;	/* jiffies, RFC 6888 REQ-8 */
	struct natk_scope internal;	/* scope.c: sources, empty = any */
	struct natk_scope no_nat;	/* scope.c: destinations left alone */
	struct rcu_head rcu;
};

/* Key of a flow in the original (lan -> wan) direction. Pad must be 0. */
struct natk_okey {
	__be32 iaddr;
	__be32 raddr;
	__be16 iport;
	__be16 rport;
	u8 proto;
} __packed;

/* Key of a flow in the reply (wan -> lan) direction. Pad must be 0. */
struct natk_rkey {
	__be32 raddr;
	__be32 eaddr;
	__be16 rport;
	__be16 eport;
	u8 proto;
	u8 pad[3];
};

/* A mapping: internal endpoint <-> external port (RFC 4787 "mapping"). */
struct natk_mkey {
	__be32 iaddr;
	__be16 iport;
	u8 proto;
	u8 pad;
};

/* A mapping by its external end. eaddr 0: a forward to the primary. */
struct natk_ekey {
	__be32 eaddr;
	__be16 eport;
	u8 proto;
	u8 pad;
};

#define NATK_MAP_STATIC		BIT(0)	/* a port forward, never freed */
#define NATK_MAP_NO_HOLD	BIT(1)	/* a deleted forward: no port hold */
#define NATK_MAP_EXT_ONLY	BIT(2)	/* not in the by-endpoint table */
#define NATK_MAP_IN_BLOCK	BIT(3)	/* its port is in its host's block */
#define NATK_MAP_OWNED		BIT(4)	/* ports.c: has its port by its owner
					 * slot, not metbl
					 */

/*
 * natk_map.hold: a mapping is published NEW (no reference can be taken),
 * goes LIVE once it is in its tables, and when its last flow ends is held,
 * then freed.
 */
enum {
	NATK_MAP_NEW,		/* being published: not usable yet */
	NATK_MAP_LIVE,		/* in use (ref > 0), or being revived */
	NATK_MAP_HELD,		/* no flows: port reserved for the port hold */
	NATK_MAP_DEAD,		/* unlinked, freed after a grace period */
};

/* Packet-path allocations, charged to the netns's memory cgroup. */
#define NATK_GFP	(GFP_ATOMIC | __GFP_ACCOUNT)

/*
 * A mapping. mitbl holds mappings and flows that are their own mapping
 * (NATK_FLOW_SELF): its node is at the offset of a flow's rnode, and the
 * word at the offset of a flow's flags has NATK_FLOW_IS_FLOW clear
 * (natk_mi_flow() tells them apart).
 */
struct natk_map {
	struct rhash_head enode;	/* metbl: forwards, and mappings on an
					 * address with no owners (ports.c)
					 */
	struct rhash_head inode;	/* by internal endpoint (mitbl) */
	struct natk_mkey ikey;
	struct natk_ekey ekey;
	struct rcu_head rcu;
	refcount_t ref;			/* flows using it (+1 if static) */
	atomic_t hold;			/* NATK_MAP_LIVE, _HELD or _DEAD */
	union {
		u32 kind;		/* bit NATK_FLOW_IS_FLOW: always 0 */
		struct {
			u16 flags;
			u8 use;		/* pool.c: counted in addr_use[use];
					 * NATK_MAP_NO_USE: nowhere
					 */
			u8 zero;
		};
	};
	u32 held_since;			/* jiffies: held since (last put) */
};

#define NATK_MAP_NO_USE		U8_MAX

#define NATK_FLOW_DEAD		0	/* bit: unlinked, freed after RCU */
#define NATK_FLOW_SEEN_OUT	1	/* bit: a packet went lan -> wan */
#define NATK_FLOW_INDEXED	2	/* bit: in the filtering table */
#define NATK_FLOW_SEEN_IN	3	/* bit: a packet came wan -> lan */
#define NATK_FLOW_ACCT		4	/* bit: struct natk_flow_acct follows */
#define NATK_FLOW_HOST		5	/* bit: holds a reference on its
					 * internal host's object (host.c)
					 */
#define NATK_FLOW_RTBL		6	/* bit: in the reply table (not a flow
					 * of an owned mapping: flow.c)
					 */
#define NATK_FLOW_SELF		7	/* bit: its own mapping (ports.c): in
					 * mitbl by its rnode and in its port's
					 * owner slot, until ->map is set
					 */
#define NATK_FLOW_CLAIMED	8	/* bit: its port's owner slot named it
					 * (ports.c): freed after a grace period
					 */
#define NATK_FLOW_IS_FLOW	31	/* bit: always set (natk_mi_flow()) */

struct natk_host;

/* A flow (a session): one 5-tuple through the NAT. */
struct natk_flow {
	union {
		struct rhash_head onode;
		struct llist_node orphan; /* grave.c: never in otbl */
	};
	struct rhash_head rnode;	/* by natk_flow_rkey(), if RTBL */
	struct natk_okey okey;		/* 13 bytes: the next two fill its
					 * word
					 */
	u8 state;			/* enum natk_tcp_state */
	u16 announced;			/* events.c: natk_secs() of the last
					 * FLOW_NEW or FLOW_UPDATE
					 */
	__be32 eaddr;			/* external address and port: with */
	__be16 eport;			/* okey, the reply key */
	u16 fp_port;			/* fpbridge.c: low 16 bits of the
					 * ifindex of the bridge port it came
					 * in on last (lan -> wan)
					 */
	struct natk_map *map;		/* NULL: address-port-dependent, or
					 * its own mapping (SELF); once SELF,
					 * set by cmpxchg: the mapping that
					 * took its place, or NATK_SELF_DEAD
					 */
	u32 seen;			/* jiffies (low 32 bits), last refresh:
					 * natk_flow_seen()
					 */
	u32 created;			/* jiffies, for the age */
	atomic_t flags;			/* NATK_FLOW_* bits: natk_flow_flag() */
	u8 fp_route[2];			/* fproute.c: its routes' entries (0:
					 * none); [0]: lan -> wan, [1]: back
					 */
	/* no rcu_head: killed flows wait in graves (grave.c) */
};

/*
 * A flow's flag bits, in 32 bits (atomic_t, not an unsigned long and the
 * bitops: the flow is 96 bytes). The test-and-change ones are fully
 * ordered, as test_and_set_bit(); setting, clearing and reading are not,
 * as set_bit(), clear_bit() and test_bit().
 */
static inline bool natk_flow_flag(const struct natk_flow *flow, int bit)
{
	return atomic_read(&flow->flags) & BIT(bit);
}

static inline void natk_flow_flag_set(struct natk_flow *flow, int bit)
{
	atomic_or(BIT(bit), &flow->flags);
}

static inline bool natk_flow_flag_test_set(struct natk_flow *flow, int bit)
{
	return atomic_fetch_or(BIT(bit), &flow->flags) & BIT(bit);
}

/* flow->map of a flow whose own mapping has ended (ports.c). */
#define NATK_SELF_DEAD		((struct natk_map *)1)

/* The mapping @flow shares, or NULL: none, or it is its own (SELF). */
static inline struct natk_map *natk_flow_map(const struct natk_flow *flow)
{
	struct natk_map *map = READ_ONCE(flow->map);

	return map == NATK_SELF_DEAD ? NULL : map;
}

/* Is @flow its own mapping still (ports.c)? */
static inline bool natk_flow_self(const struct natk_flow *flow)
{
	return natk_flow_flag(flow, NATK_FLOW_SELF) && !READ_ONCE(flow->map);
}

/*
 * An object of mitbl: a flow that is its own mapping, or NULL (then a
 * struct natk_map). The word at natk_map.kind is natk_flow.flags.
 */
static inline struct natk_flow *natk_mi_flow(const void *obj)
{
	const struct natk_map *map = obj;

	return READ_ONCE(map->kind) & BIT(NATK_FLOW_IS_FLOW) ?
	       (struct natk_flow *)obj : NULL;
}

static inline bool natk_flow_flag_test_clear(struct natk_flow *flow, int bit)
{
	return atomic_fetch_andnot(BIT(bit), &flow->flags) & BIT(bit);
}

/* The reply-direction key of @flow: its remote end and external end. */
static inline struct natk_rkey natk_flow_rkey(const struct natk_flow *flow)
{
	return (struct natk_rkey){
		.raddr = flow->okey.raddr,
		.eaddr = flow->eaddr,
		.rport = flow->okey.rport,
		.eport = flow->eport,
		.proto = flow->okey.proto,
	};
}

/*
 * A flow's counters, right after it in the same object when it was created
 * with accounting on (NATK_FLOW_ACCT); the same index as fp_route.
 */
struct natk_flow_acct {
	u64 pkts[2], bytes[2];
};

/* Its counters, or NULL: the flow was created with accounting off. */
static inline struct natk_flow_acct *
natk_flow_counters(const struct natk_flow *flow)
{
	if (!natk_flow_flag(flow, NATK_FLOW_ACCT))
		return NULL;
	return (struct natk_flow_acct *)(flow + 1);
}

/* log.c: kinds of rate-limited kernel log lines, each once a minute. */
enum natk_log_kind {
	NATK_LOG_TABLE_FULL,
	NATK_LOG_PORTS,		/* + natk_port_class(): TCP, UDP, ICMP */
	NATK_LOG_NUM = NATK_LOG_PORTS + 3,
};

struct natk_stats {
	u64 c[__NATK_STAT_MAX];
};

/* ports.c: the last exhausted port search of one protocol class. */
struct natk_port_fail {
	unsigned int frees;		/* natk_net.map_frees then */
	unsigned long when;		/* jiffies */
};

/*
 * pool.c: what one external address carries. A slot is tied to its
 * address while anything counted in it lives (hosts paired with it, its
 * mappings), so counts never move between addresses.
 */
struct natk_addr_use {
	__be32 addr;			/* 0: a free slot */
	atomic_t hosts;			/* hosts paired with it */
	atomic_t ports[3];		/* its mappings: TCP, UDP, ICMP */
	atomic_long_t exhausted[3];	/* new flows it had no port for */
	struct natk_port_fail port_fail[3];
	unsigned long *blockmap;	/* blocks.c: blocks taken; NULL: off */
	/*
	 * ports.c: the dynamic mapping that has each port, by protocol
	 * class: NATK_OWNER_CHUNKS chunks a class, each made when a mapping
	 * first takes one of its ports and kept for the slot's life. NULL:
	 * no memory for it (the slot's mappings go to metbl then).
	 */
	struct natk_owners __rcu **owners;
	atomic_t blocks;		/* blocks taken */
};

/* A chunk of natk_addr_use.owners: the owners of NATK_OWNER_PORTS ports. */
#define NATK_OWNER_PORTS	256
#define NATK_OWNER_CHUNKS	(65536 / NATK_OWNER_PORTS)

struct natk_owners {
	struct natk_map __rcu *map[NATK_OWNER_PORTS];
};

/* Blocks in a bitmap: 65536 ports in blocks of NATK_PORT_BLOCK_MIN. */
#define NATK_BLOCK_BITS		(65536 / NATK_PORT_BLOCK_MIN)
/* Candidates a search in a host's blocks offers before a new block. */
#define NATK_BLOCK_ATTEMPTS	(4 * NATK_PORT_ATTEMPTS)

/* blocks.c: a host's port blocks, all on one address, one geometry. */
struct natk_blocks {
	spinlock_t lock;		/* appending, dropping */
	u8 n;				/* blocks in idx[] */
	u16 size, base;			/* port_block, port_min they had */
	struct natk_addr_use *use;	/* the address they are on */
	u16 idx[NATK_PORT_BLOCKS_MAX];	/* block k: base + k * size */
};

/* Slots: the pool, and addresses that left it with mappings still on. */
#define NATK_ADDR_SLOTS		(2 * NATK_ADDRS_MAX)

/* fastpath.c: devices whose netdev ingress hook runs the fast path. */
#define NATK_FP_DEVS		16

/* One device's ingress hook; freed after an RCU grace period. */
struct natk_fp_dev {
	struct nf_hook_ops ops;
	/*
	 * fpbridge.c: a bridge port's helpers from bridge.ko, else NULL
	 * (br_vlan_enabled NULL too in a kernel without VLAN filtering)
	 */
	bool (*br_flag_is_set)(const struct net_device *dev,
			       unsigned long flag);
	bool (*br_vlan_enabled)(const struct net_device *dev);
	/*
	 * fpbridge.c: the bridge the port is in, for the hook's life (a
	 * port that leaves its bridge loses its hook: natk_fp_dev_upper())
	 */
	struct net_device *br;
	u8 br_state;			/* the port's STP state (BR_STATE_*) */
	struct rcu_head rcu;
};

struct natk_net {
	struct net *net;
	struct natk_cfg __rcu *cfg;
	struct mutex lock;		/* config, hooks; process context */
	bool hooked;
	atomic_t nflows;
	atomic_t gen;			/* bumped by flush and config changes */
	struct rhashtable otbl;		/* flows by natk_okey */
	struct rhashtable rtbl;		/* flows by natk_rkey */
	struct rhashtable mitbl;	/* mappings by natk_mkey */
	struct rhashtable metbl;	/* forwards (and mappings natk_addr_use
					 * has no owners for) by natk_ekey
					 */
	atomic_t nheld;			/* mappings held (port reserved) */
	unsigned long held_next;	/* GC: no hold ends before (jiffies) */
	unsigned long evict_fruitless;	/* jiffies: last eviction found none */
	atomic_t map_frees;		/* mappings freed so far */
	struct natk_port_fail port_fail[3]; /* TCP, UDP, ICMP; no slot */
	struct natk_addr_use addr_use[NATK_ADDR_SLOTS]; /* pool.c */
	struct mem_cgroup *memcg;	/* charged for flows, maps, hosts */
	atomic_t icmp_credit;		/* natk_icmp_allow() token bucket */
	u32 icmp_stamp;			/* jiffies of its last refill */
	struct rhltable atbl;		/* filter.c: endpoints' remote addrs */
	struct rhashtable htbl;		/* host.c: internal hosts */
	bool hosts_attach;		/* host.c: every new flow makes its
					 * host's object (a configuration that
					 * needs them is coming)
					 */
	unsigned long flags;		/* NATK_NET_* bits */
	struct natk_stats __percpu *stats;
	struct delayed_work gc_work;
	struct rhashtable_iter gc_iter;
	unsigned long update_last;	/* GC: jiffies of the last refresh budget */
	struct work_struct addr_work;
	struct delayed_work addr_retry;	/* addr_work again after -ENOMEM */
	struct list_head fwds;		/* static forwards, under lock */
	/* fastpath.c: ingress hooks; fp_devs and fp_on under RTNL */
	struct natk_fp_dev __rcu *fp_devs[NATK_FP_DEVS];
	bool fp_on;			/* natk's hooks are registered */
	int fp_want;			/* ifindex to hook; 0: none asked */
	bool fp_blocked;		/* natk_fast(): hooks kept it off last */
	struct work_struct fp_work;	/* registers that hook */
	unsigned long log_next[NATK_LOG_NUM]; /* log.c: jiffies, by kind */
	/* fproute.c: the fast path's routes, NATK_FP_ROUTES of them */
	spinlock_t fp_route_lock;
	struct natk_fp_route *fp_routes;
	/* grave.c: killed flows waiting for a grace period */
	spinlock_t grave_lock;
	struct natk_grave *grave;	/* open, under grave_lock */
	struct natk_grave *grave_spare;	/* under grave_lock */
	struct llist_head orphans;	/* never published: natk_flow_orphan() */
#if IS_ENABLED(CONFIG_NATK_KUNIT_TEST)
	atomic_t test_port_offers;	/* KUnit: candidates offered */
	atomic_t test_port_inserts;	/* KUnit: by-port inserts tried */
#endif
};

#define NATK_NET_EVICT		0	/* bit: table full, GC evicts */

struct natk_fwd {
	struct list_head list;
	struct natk_map *map;
	__be32 eaddr;			/* 0: the primary external address */
	__be32 iaddr;
	__be16 iport, eport;
	u8 proto;
	bool doomed;			/* a replacing request leaves it out */
};

/* One forward of a request that replaces them all (fwd.c). */
struct natk_fwd_spec {
	const struct nlattr *attr;	/* its NATK_A_FWD, to name in errors */
	struct natk_fwd *fwd;		/* to add; NULL if kept as it is */
	struct natk_fwd *old;		/* the forward of its port it replaces */
	__be32 eaddr;
	__be32 iaddr;
	__be16 eport, iport;
	u8 proto;
	bool kept;			/* listed as it is now */
	bool inserted;			/* natk_fwds_insert() added it */
};

/*
 * Race windows, for tests only: natk_race() marks the points where a
 * flush, a GC pass, another CPU's packet or an unhook may interleave with
 * the packet path. A normal build compiles them out. A NATK_RACE=y build
 * (kmod/race.c, make check-debug) widens them with a delay; the KUnit
 * build lets a test run its own code there (natk_test_util.c).
 */
enum natk_race_point {
	NATK_RACE_FLOW_PUBLISH,	/* flow in the reply table, not the original */
	NATK_RACE_MAP_PUBLISH,	/* port claimed, endpoint not yet inserted */
	NATK_RACE_SELF_PUBLISH,	/* the same, for a flow that is its own */
	NATK_RACE_PACKET,	/* a packet inside a hook, config in hand */
	NATK_RACE_DUMP,		/* a flow dump call, inside its table walk */
};

#if defined(CONFIG_NATK_KUNIT_TEST) || defined(NATK_RACE_WINDOWS)
void natk_race(struct natk_net *nn, enum natk_race_point p, void *obj);
#else
static inline void natk_race(struct natk_net *nn, enum natk_race_point p,
			     void *obj)
{
}
#endif

/*
 * Mutants, for tests only: make module NATK_MUTANT=NAME builds a natk.ko
 * with one behaviour broken on purpose (-DNATK_MUTANT_NAME=1), and make
 * check-mutants shows that the tests catch each (docs/compliance.md).
 * natk_mutant(NAME) is the constant 0 in every other build, so a normal
 * build compiles every mutant branch out.
 */
#define natk_mutant(name)	IS_BUILTIN(NATK_MUTANT_##name)

/* netns.c */
extern unsigned int natk_net_id;
struct natk_net *natk_pernet(const struct net *net);

/*
 * natk_pernet() for the hooks, which run under rcu_read_lock(): no lock
 * of its own and no call (net_generic() takes and drops the RCU read lock,
 * two calls under preemptible RCU: about 30 instructions a packet each
 * hook).
 */
static inline struct natk_net *natk_pernet_rcu(const struct net *net)
{
	return rcu_dereference(net->gen)->ptr[natk_net_id];
}

int natk_netns_init(void);
void natk_netns_exit(void);
struct natk_cfg *natk_cfg_dup(struct natk_net *nn);
int natk_cfg_commit(struct natk_net *nn, struct natk_cfg *ncfg,
		    struct netlink_ext_ack *extack);
void natk_down(struct natk_net *nn);
struct natk_cfg *natk_cfg_default(const struct net *net);

/* enum natk_state of a configuration snapshot. */
static inline u8 natk_cfg_state(const struct natk_cfg *cfg)
{
	if (!cfg->ifname[0])
		return NATK_STATE_DOWN;
	if (!cfg->ifindex)
		return NATK_STATE_WAIT_INTERFACE;
	if (!cfg->ext_addr)
		return NATK_STATE_WAIT_ADDRESS;
	return NATK_STATE_ACTIVE;
}

/* pool.c */
void natk_pool_resolve(struct natk_cfg *cfg, struct net_device *dev);
int natk_pool_check(const struct natk_cfg *cfg, struct net_device *dev,
		    struct netlink_ext_ack *extack);
void natk_pool_claim(struct natk_net *nn, const struct natk_cfg *cfg);
void natk_pool_release(struct natk_net *nn, const struct natk_cfg *cfg);
void natk_pool_sweep(struct natk_net *nn);
void natk_pool_destroy(struct natk_net *nn);
struct natk_addr_use *natk_addr_use(struct natk_net *nn, __be32 addr);
struct natk_addr_use *natk_addr_use_prepare(struct natk_net *nn,
					    const struct natk_cfg *cfg,
					    __be32 addr);
__be32 natk_pool_pick(struct natk_net *nn, const struct natk_cfg *cfg);
int natk_pool_fill(struct sk_buff *skb, struct natk_net *nn,
		   const struct natk_cfg *cfg);

/* Is @addr among @cfg's pool addresses (complete or being made)? */
static inline bool natk_addrs_have(const struct natk_cfg *cfg, __be32 addr)
{
	unsigned int i;

	for (i = 0; i < cfg->naddrs; i++)
		if (cfg->addrs[i] == addr)
			return true;
	return false;
}

/*
 * Is @addr one natk masquerades behind now? Caller holds the snapshot (a
 * complete one: the pool holds ext_addr, so a pool of one address is that
 * one; natk_pool_resolve(), which makes it, asks natk_addrs_have()).
 */
static inline bool natk_pool_has(const struct natk_cfg *cfg, __be32 addr)
{
	if (likely(addr == cfg->ext_addr))
		return addr != 0;
	return cfg->naddrs > 1 && natk_addrs_have(cfg, addr);
}

/*
 * Timeouts (inline: every lookup checks expiry, natk_flow_live()). A TCP
 * flow is transitory in every state but established.
 */
static inline bool natk_state_transitory(u8 state)
{
	return state != NATK_TCP_ESTABLISHED;
}

static inline unsigned long natk_timeout_for(const struct natk_cfg *cfg,
					     u8 proto, u8 state)
{
	/* Mutant timeouts_halved: every flow lives half its timeout. */
	unsigned int shift = natk_mutant(timeouts_halved);

	switch (proto) {
	case IPPROTO_TCP:
		return cfg->timeout[natk_state_transitory(state) ?
				    NATK_TO_TCP_TRANS : NATK_TO_TCP_EST] >> shift;
	case IPPROTO_UDP:
		return cfg->timeout[NATK_TO_UDP] >> shift;
	default:
		return cfg->timeout[NATK_TO_ICMP] >> shift;
	}
}

/*
 * How far flow->seen runs ahead of the packet that wrote it: a refresh
 * writes at most once in this long (natk_flow_refresh()).
 */
#define NATK_SEEN_AHEAD	(HZ - 1)

/*
 * flow->seen keeps the low 32 bits of jiffies. It is at most
 * NATK_SEEN_AHEAD after the time of a refresh, and a caller's @now may
 * lag the clock a little (a GC run reads it once): a value up to
 * NATK_SEEN_SLACK after @now is that far ahead. Any other is in the past:
 * at most the longest timeout (NATK_TIMEOUT_MAX, 30 days) plus a GC pass
 * before the flow is gone, well under 2^32 jiffies less the slack (49
 * days at HZ 1000).
 */
#define NATK_SEEN_SLACK	(60 * HZ)

/* flow->seen in jiffies, at @now. */
static inline unsigned long natk_flow_seen(const struct natk_flow *flow,
					   unsigned long now)
{
	u32 ahead = READ_ONCE(flow->seen) - (u32)now;

	if (ahead <= NATK_SEEN_SLACK)
		return now + ahead;
	return now - (u32)-ahead;
}

/* Does a packet at @now refresh flow->seen (natk_flow_refresh())? */
static inline bool natk_flow_refresh_due(const struct natk_flow *flow,
					 unsigned long now)
{
	return time_after(now, natk_flow_seen(flow, now));
}

/* When @flow expires, in jiffies, if nothing refreshes it before. */
static inline unsigned long natk_flow_deadline_at(const struct natk_cfg *cfg,
						  const struct natk_flow *flow,
						  unsigned long now)
{
	return natk_flow_seen(flow, now) +
	       natk_timeout_for(cfg, flow->okey.proto, READ_ONCE(flow->state));
}

static inline unsigned long natk_flow_deadline(const struct natk_cfg *cfg,
					       const struct natk_flow *flow)
{
	return natk_flow_deadline_at(cfg, flow, jiffies);
}

/*
 * Has @flow expired at @now (jiffies)? The GC frees it when it gets there,
 * the lookups (natk_flow_live()) as soon as a packet looks for it.
 */
static inline bool natk_flow_expired(const struct natk_cfg *cfg,
				     const struct natk_flow *flow,
				     unsigned long now)
{
	/* Mutant never_expire: no flow ever expires. */
	if (natk_mutant(never_expire))
		return false;
	return time_after(now, natk_flow_deadline_at(cfg, flow, now));
}

static inline void natk_stat_add(struct natk_net *nn, enum natk_stat s, u64 v)
{
	this_cpu_add(nn->stats->c[s], v);
}

static inline void natk_stat_inc(struct natk_net *nn, enum natk_stat s)
{
	this_cpu_inc(nn->stats->c[s]);
}

/* Count a drop under its reason and in the total. */
static inline void natk_drop(struct natk_net *nn, enum natk_stat reason)
{
	this_cpu_inc(nn->stats->c[reason]);
	this_cpu_inc(nn->stats->c[NATK_STAT_PACKETS_DROPPED]);
}

void natk_stats_sum(struct natk_net *nn, u64 *out);

/* flow.c */
int natk_flow_cache_init(void);
void natk_flow_cache_exit(void);
int natk_tables_init(struct natk_net *nn);
void natk_tables_destroy(struct natk_net *nn);
struct natk_flow *natk_flow_lookup_out(struct natk_net *nn,
				       const struct natk_okey *key);
struct natk_flow *natk_flow_lookup_in(struct natk_net *nn,
				      const struct natk_rkey *key);
struct natk_flow *natk_flow_make(struct natk_net *nn,
				 const struct natk_cfg *cfg,
				 const struct natk_okey *key, u8 state,
				 struct natk_map *map, __be32 eaddr,
				 __be16 want, bool known, enum natk_stat *why);

/*
 * natk_flow_make() for a packet. @known: natk_host_known() must know its
 * internal host from now on (its packet came in by the external interface:
 * a one-armed NAT's), so it makes the host's object even when nothing
 * else needs one.
 */
static inline struct natk_flow *
natk_flow_create(struct natk_net *nn, const struct natk_cfg *cfg,
		 const struct natk_okey *key, u8 state, struct natk_map *map,
		 bool known, enum natk_stat *why)
{
	return natk_flow_make(nn, cfg, key, state, map, 0, 0, known, why);
}

/*
 * natk_flow_create() for a flow imported with its external port
 * (NATK_CMD_FLOW_ADD): that port or nothing. Its host is made known: the
 * NAT it came from may have been one-armed. An existing flow with the
 * same tuple is returned as it is (the caller compares). Caller holds
 * rcu_read_lock().
 */
static inline struct natk_flow *
natk_flow_create_port(struct natk_net *nn, const struct natk_cfg *cfg,
		      const struct natk_okey *key, u8 state,
		      struct natk_map *map, __be32 eaddr, __be16 eport,
		      enum natk_stat *why)
{
	return natk_flow_make(nn, cfg, key, state, map, eaddr, eport, true,
			      why);
}

bool natk_flow_is_reply(struct natk_net *nn, const struct natk_okey *key);
bool natk_flow_kill(struct natk_net *nn, struct natk_flow *flow, u8 reason);
void natk_flow_free_now(struct natk_flow *flow);

/* grave.c: a slot in a grave, for a flow being killed */
struct natk_grave;
struct natk_grave_slot {
	struct natk_grave *grave;
	unsigned int i;
};

void natk_grave_init(struct natk_net *nn);
bool natk_grave_reserve(struct natk_net *nn, struct natk_grave_slot *s);
void natk_grave_fill(struct natk_net *nn, const struct natk_grave_slot *s,
		     struct natk_flow *flow);
void natk_grave_close(struct natk_net *nn);
void natk_grave_prepare(struct natk_net *nn);
void natk_flow_orphan(struct natk_net *nn, struct natk_flow *flow);
void natk_orphans_free(struct natk_net *nn);
void natk_graves_destroy(struct natk_net *nn);
#if IS_ENABLED(CONFIG_NATK_KUNIT_TEST)
extern bool natk_grave_test_fail;
extern atomic_t natk_grave_test_freed;
#endif
u32 natk_flow_id(const struct natk_flow *flow);
void natk_flow_refresh(struct natk_flow *flow);
void natk_flush(struct natk_net *nn, u8 reason);
unsigned int natk_sweep(struct natk_net *nn, struct rhashtable *ht,
			bool (*fn)(struct natk_net *nn, void *obj, u8 arg),
			u8 arg);
extern unsigned int natk_flows_hint;
void natk_gc_start(struct natk_net *nn);
void natk_gc_stop(struct natk_net *nn);
bool natk_gc_scan(struct natk_net *nn, unsigned int budget);
unsigned int natk_gc_walk_size(struct natk_net *nn);
unsigned long natk_gc_pause(const struct natk_cfg *cfg, unsigned int nflows,
			    bool heard);
void natk_gc_kick(struct natk_net *nn);
unsigned int natk_hash_max_chain(struct natk_net *nn);

/* ports.c; its mapping tables are set up with the others in flow.c */
extern const struct rhashtable_params natk_miparams;
extern const struct rhashtable_params natk_meparams;
struct natk_map *natk_map_get(struct natk_net *nn, const struct natk_cfg *cfg,
			      u8 proto, __be32 iaddr, __be16 iport,
			      __be32 eaddr, __be16 want,
			      struct natk_host *host, struct natk_flow *self,
			      enum natk_stat *why);
struct natk_map *natk_map_share(struct natk_net *nn, struct natk_flow *flow);
void natk_map_self_end(struct natk_net *nn, struct natk_flow *flow,
		       bool teardown);
void natk_map_put(struct natk_net *nn, struct natk_map *map);
bool natk_map_tryget(struct natk_map *map);
void natk_map_free(struct natk_map *map);
int natk_map_cache_init(void);
void natk_map_cache_exit(void);
struct natk_map *natk_map_alloc(gfp_t gfp);
void natk_map_discard(struct natk_map *map);
void natk_map_retire_static(struct natk_net *nn, struct natk_map *map,
			    struct natk_map *heir);
int natk_map_static_check(struct natk_net *nn, const struct natk_map *map,
			  bool port_owned, const char **msg);
void natk_map_replace_static(struct natk_net *nn, struct natk_map *old,
			     struct natk_map *map);
bool natk_port_local_use(struct natk_net *nn, u8 proto, __be32 addr,
			 __be16 port);
struct natk_map *natk_map_lookup_owner(struct natk_net *nn, u8 proto,
				       __be32 eaddr, __be16 eport,
				       struct natk_flow **self);
struct natk_map *natk_map_lookup_ext(struct natk_net *nn,
				     const struct natk_cfg *cfg, u8 proto,
				     __be32 eaddr, __be16 eport,
				     struct natk_flow **self);
void natk_ports_count_exhausted(struct natk_net *nn, u8 proto, __be32 eaddr);
void natk_map_release_held(struct natk_net *nn, bool expired_only);
void natk_map_release_gone(struct natk_net *nn);
void natk_ports_init(struct natk_net *nn);
bool natk_ports_exhausted(struct natk_net *nn, u8 proto, __be32 eaddr);
unsigned int natk_port_class(u8 proto);
/* The external address of @map's flows: its own, or (forward) the primary. */
static inline __be32 natk_map_eaddr(const struct natk_map *map,
				    const struct natk_cfg *cfg)
{
	return map->ekey.eaddr ?: cfg->ext_addr;
}

void natk_maps_destroy(struct natk_net *nn);

/* A mapping that may carry flows: not held, not being freed. */
static inline bool natk_map_live(const struct natk_map *map)
{
	return atomic_read(&map->hold) == NATK_MAP_LIVE;
}

/*
 * What natk_map_lookup_ext() found may carry flows: a live mapping, or a
 * flow that is its own mapping, published and not ended (or just shared:
 * natk_map_share() then gives the mapping).
 */
static inline bool natk_port_live(const struct natk_map *map,
				  const struct natk_flow *self)
{
	if (map)
		return natk_map_live(map);
	return self && natk_flow_flag(self, NATK_FLOW_SELF) &&
	       READ_ONCE(self->map) != NATK_SELF_DEAD;
}

int natk_port_range(const struct natk_cfg *cfg, u8 proto, __be16 iport,
		    u16 *lo, u16 *hi);
int natk_port_search(struct natk_net *nn, const struct natk_cfg *cfg,
		     u8 proto, __be16 iport,
		     int (*claim)(struct natk_net *nn, void *arg, __be16 port),
		     void *arg);
int natk_port_search_in(struct natk_net *nn, u16 lo, u16 hi, __be16 iport,
			u32 *budget,
			int (*claim)(struct natk_net *nn, void *arg, __be16 port),
			void *arg);

/* blocks.c */
void natk_blocks_init(struct natk_blocks *b);
void natk_blocks_release(struct natk_net *nn, struct natk_blocks *b,
			 __be32 iaddr);
void natk_blocks_release_stale(struct natk_net *nn, struct natk_blocks *b,
			       __be32 iaddr);
int natk_blocks_search(struct natk_net *nn, const struct natk_cfg *cfg,
		       struct natk_blocks *b, __be32 iaddr, __be32 eaddr,
		       u8 proto, __be16 iport,
		       int (*claim)(struct natk_net *nn, void *arg, __be16 port),
		       void *arg);
bool natk_blocks_have(struct natk_net *nn, const struct natk_cfg *cfg,
		      struct natk_blocks *b, __be32 eaddr, __be16 port);
int natk_blocks_take(struct natk_net *nn, const struct natk_cfg *cfg,
		     struct natk_blocks *b, __be32 iaddr, __be32 eaddr,
		     __be16 port);

/* The KUnit build counts the candidates each port search offers. */
static inline void natk_test_port_offered(struct natk_net *nn)
{
#if IS_ENABLED(CONFIG_NATK_KUNIT_TEST)
	atomic_inc(&nn->test_port_offers);
#endif
}

/* ... and the claims that get past the owner check to take the port. */
static inline void natk_test_port_inserted(struct natk_net *nn)
{
#if IS_ENABLED(CONFIG_NATK_KUNIT_TEST)
	atomic_inc(&nn->test_port_inserts);
#endif
}

/* TCP flag bits as in the 14th byte of the header (tcp_flag_byte()). */
#define NATK_TCPF_FIN	0x01
#define NATK_TCPF_SYN	0x02
#define NATK_TCPF_RST	0x04
#define NATK_TCPF_ACK	0x10

/* host.c */
int natk_hosts_init(struct natk_net *nn);
void natk_hosts_destroy(struct natk_net *nn);
struct natk_host *natk_host_get(struct natk_net *nn, const struct natk_cfg *cfg,
				__be32 iaddr, __be32 eaddr, enum natk_stat *why);
__be32 natk_host_addr(const struct natk_host *host);
struct natk_blocks *natk_host_blocks(struct natk_host *host);
void natk_hosts_reblock(struct natk_net *nn);
void natk_host_put(struct natk_net *nn, struct natk_host *host);
void natk_host_release(struct natk_net *nn, struct natk_flow *flow);
int natk_hosts_attach(struct natk_net *nn);
bool natk_host_known(struct natk_net *nn, __be32 iaddr);

/*
 * Does every new flow need its host's object (host.c)? A per-host limit
 * counts flows by host, port blocks are a host's, and paired pooling keeps
 * a host's address in it; with one address and neither, only flows that
 * natk_host_known() must vouch for make one.
 */
static inline bool natk_cfg_needs_hosts(const struct natk_cfg *cfg)
{
	return cfg->max_flows_per_host || cfg->port_block || cfg->naddrs > 1;
}

/* filter.c */
int natk_filter_init(struct natk_net *nn);
void natk_filter_destroy(struct natk_net *nn);
int __natk_filter_add(struct natk_net *nn, struct natk_flow *flow);

/*
 * Index a new flow if the filtering needs it (address-dependent only):
 * the test inline, so that every other new flow pays only that.
 */
static inline int natk_filter_add(struct natk_net *nn,
				  const struct natk_cfg *cfg,
				  struct natk_flow *flow)
{
	if (cfg->filtering != NATK_FILTERING_ADDRESS_DEPENDENT)
		return 0;
	return __natk_filter_add(nn, flow);
}

void natk_filter_del(struct natk_net *nn, struct natk_flow *flow);
bool natk_filter_allows(struct natk_net *nn, const struct natk_cfg *cfg,
			const struct natk_mkey *ik, bool fwd, __be32 raddr);

/* import.c: a flow as NATK_CMD_FLOW_ADD describes it. */
struct natk_flow_spec {
	struct natk_okey okey;
	__be32 eaddr;
	__be16 eport;
	u8 state;
	u32 expires_ms;
	u64 pkts[2], bytes[2];
	u8 seen;		/* NATK_FLOW_F_SEEN_*, 0: from the counters */
	bool replace;		/* NATK_FLOW_A_UPDATE: update a flow that exists */
};

int natk_flow_import(struct natk_net *nn, const struct natk_flow_spec *s,
		     struct netlink_ext_ack *extack);

/* scope.c */
bool natk_in_scope(const struct natk_cfg *cfg, __be32 saddr, __be32 daddr);
int natk_scope_add(struct natk_scope *s, __be32 addr, u8 len);
u8 natk_prefix_len(const struct natk_prefix *p);
bool natk_scope_equal(const struct natk_scope *a, const struct natk_scope *b);
void natk_scope_sweep(struct natk_net *nn);

/* fwd.c */
int natk_fwd_add(struct natk_net *nn, u8 proto, __be32 eaddr, __be16 eport,
		 __be32 iaddr, __be16 iport, struct netlink_ext_ack *extack);
int natk_fwd_del(struct natk_net *nn, u8 proto, __be32 eaddr, __be16 eport);
void natk_fwd_flush(struct natk_net *nn);
bool natk_fwd_specs_sort(struct natk_fwd_spec *s, unsigned int n,
			 const struct natk_fwd_spec **dup);
int natk_fwds_prepare(struct natk_net *nn, struct natk_fwd_spec *s,
		      unsigned int n, struct netlink_ext_ack *extack);
int natk_fwds_insert(struct natk_net *nn, struct natk_fwd_spec *s,
		     unsigned int n, struct netlink_ext_ack *extack);
void natk_fwds_abort(struct natk_net *nn, struct natk_fwd_spec *s,
		     unsigned int n);
void natk_fwds_finish(struct natk_net *nn, struct natk_fwd_spec *s,
		      unsigned int n);
int natk_map_insert_static(struct natk_net *nn, struct natk_map *map);

/* proto.c */
u8 natk_tcp_next(u8 state, bool outbound, u8 tcpflags);
bool natk_tcp_may_create(u8 tcpflags);

/* xlate.c */
/* Bytes of L4 header natk reads and writes, or -1 if it does not NAT it. */
static inline int natk_l4_hdrlen(u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return sizeof(struct tcphdr);
	case IPPROTO_UDP:
		return sizeof(struct udphdr);
	case IPPROTO_ICMP:
		return sizeof(struct icmphdr);
	default:
		return -1;
	}
}

int natk_manip(struct sk_buff *skb, bool src, __be32 addr, __be16 port);
int natk_mss_clamp(struct sk_buff *skb, unsigned int l4off, u16 mss);

/* icmp.c */
bool natk_icmp_is_error(u8 type);
unsigned int natk_icmp_error_in(struct natk_net *nn, const struct natk_cfg *cfg,
				struct sk_buff *skb);
unsigned int natk_icmp_error_out(struct natk_net *nn,
				 const struct natk_cfg *cfg,
				 struct sk_buff *skb, bool local);
unsigned int natk_icmp_error_hairpin(struct natk_net *nn,
				     const struct natk_cfg *cfg,
				     struct sk_buff *skb,
				     struct net_device *dev);

/* hooks.c */
struct natk_pkt {
	unsigned int l4off;
	u8 proto;
	u8 tcpflags;
	u8 icmp_type;
	__be16 sport, dport;	/* ICMP echo: id in both */
};

int natk_parse(struct sk_buff *skb, struct natk_pkt *pkt);
void natk_count_in(struct natk_net *nn, bool outbound, unsigned int len);
void natk_account(struct natk_net *nn, struct natk_flow *flow,
		  bool outbound, unsigned int len);
void natk_track(struct natk_net *nn, struct natk_flow *flow,
		const struct natk_pkt *pkt, bool outbound);
extern const u8 natk_hook_priv;
int natk_hairpin_route(struct sk_buff *skb, __be32 daddr,
		       struct net_device *dev);
int natk_hooks_register(struct net *net);
void natk_hooks_unregister(struct net *net);

/* log.c */
bool natk_log_due(unsigned long *next);
__printf(3, 4)
void natk_log(struct natk_net *nn, int level, const char *fmt, ...);
__printf(3, 4)
void natk_log_limited(struct natk_net *nn, enum natk_log_kind kind,
		      const char *fmt, ...);
void natk_log_init(struct natk_net *nn);

/* fastpath.c */
extern u8 natk_fp_default;	/* module parameter fast_path */
enum natk_fp_why natk_fp_why(struct net *net, const struct natk_cfg *cfg);
/* fproute.c */
#define NATK_FP_ROUTES		256	/* entries, [0] unused: u8 indexes */
struct natk_fp_route;
int natk_fp_routes_init(struct natk_net *nn);
void natk_fp_routes_destroy(struct natk_net *nn);
struct dst_entry *natk_fp_route_dst(struct natk_net *nn, u8 i, int *iif);
u8 natk_fp_route_claim(struct natk_net *nn, struct dst_entry *dst, int iif);
void natk_fp_route_put(struct natk_net *nn, u8 i);
void natk_fp_route_set(struct natk_net *nn, struct natk_flow *flow, int dir,
		       u8 i);
void natk_fp_flow_release(struct natk_net *nn, struct natk_flow *flow);
void natk_fp_route_clean(struct natk_net *nn, struct natk_flow *flow);
void natk_fp_net_init(struct natk_net *nn);
void natk_fp_net_exit(struct natk_net *nn);
void natk_fp_dev_gone(struct net_device *dev);
void natk_fp_dev_upper(struct net_device *dev,
		       const struct netdev_notifier_changeupper_info *info);
void natk_fp_dev_state(struct net_device *dev, u8 state);
void natk_fp_note_miss(const struct sk_buff *skb, const struct natk_okey *k);
bool natk_fp_missed_out(const struct sk_buff *skb, const struct natk_okey *k);
unsigned int natk_fp_ingress(void *priv, struct sk_buff *skb,
			     const struct nf_hook_state *state);

/* fpbridge.c */
int natk_fpb_attach(struct natk_fp_dev *d, struct net_device *dev);
void natk_fpb_detach(struct natk_fp_dev *d);
/*
 * @skb came in on @port, a device natk hooks (@d): the bridge it is for
 * (a port of a bridge, the frame for the bridge's own address), or NULL.
 * A few loads: every packet that comes in on a port pays it, new flows
 * and bridged traffic included. The bridge is the one the port was in
 * when it was hooked (natk_fpb_attach()), not looked up again: a port
 * that leaves its bridge loses its hook at the unlink (natk_fp_dev_upper(),
 * after br_del_if() disabled the port's STP state: natk_fpb_may() says no
 * from then on), and a reader still in the hook holds RCU, which the
 * bridge device outlives. (No bridge helpers in the kernel: d->br is
 * never set.)
 */
static inline struct net_device *natk_fpb_master(const struct natk_fp_dev *d,
						 const struct sk_buff *skb,
						 struct net_device *port)
{
	struct net_device *br = d->br;

	if (!br || !netif_is_bridge_port(port) ||
	    !ether_addr_equal(eth_hdr(skb)->h_dest, br->dev_addr))
		return NULL;
	return br;
}

bool natk_fpb_may(const struct natk_fp_dev *d, const struct natk_cfg *cfg,
		  struct net *net, const struct sk_buff *skb,
		  struct net_device *port, const struct net_device *br);
int natk_fpb_init(void);
void natk_fpb_exit(void);
void natk_fp_devs_clear(struct natk_net *nn);
int natk_fp_register(struct net *net);
void natk_fp_unregister(struct net *net);

/* netlink.c */
extern struct genl_family natk_genl_family;
/* Multicast groups, in the order netlink.c registers them. */
enum natk_grp {
	NATK_GRP_EVENTS,	/* NATK_MCGRP_EVENTS */
	NATK_GRP_MAPPINGS,	/* NATK_MCGRP_MAPPINGS */
};

int natk_flows_dump_start(struct natk_net *nn, struct netlink_callback *cb);
int natk_flows_dump_fill(struct natk_net *nn, struct sk_buff *skb,
			 struct netlink_callback *cb);
int natk_flows_done(struct netlink_callback *cb);
int natk_genl_init(void);
void natk_genl_exit(void);

/* events.c */

/*
 * Expiry refresh FLOW_UPDATEs (events.c, sent by the GC): at most this
 * many a second per netns, at most every NATK_UPDATE_EVERY for one flow
 * (half its timeout if that is shorter).
 */
#define NATK_UPDATE_RATE	4096
#define NATK_UPDATE_EVERY	(30 * HZ)

/*
 * Seconds since boot, truncated to 16 bits (natk_flow.announced): compare
 * two of them only by their u16 difference, which is right up to 18 hours.
 */
static inline u16 natk_secs(unsigned long j)
{
	return (u16)((j - INITIAL_JIFFIES) / HZ);
}

void natk_events_enable(bool on);
bool natk_events_heard(struct natk_net *nn);
bool natk_flow_update_due(const struct natk_cfg *cfg,
			  const struct natk_flow *flow, unsigned long now);
void natk_event_update(struct natk_net *nn, struct natk_flow *flow);
void natk_event_state(struct natk_net *nn, const struct natk_cfg *cfg);
void natk_event_map(struct natk_net *nn, const struct natk_map *map, u8 cmd);
void natk_event_flow_map(struct natk_net *nn, const struct natk_flow *flow,
			 u8 cmd);
void natk_event_block(struct natk_net *nn, __be32 iaddr, __be32 eaddr,
		      u16 first, u16 last, u8 cmd);
void natk_event(struct natk_net *nn, const struct natk_flow *flow, u8 cmd,
		u8 reason);
void natk_event_rcu(struct natk_net *nn, const struct natk_flow *flow, u8 cmd,
		    u8 reason);
int natk_fill_state(struct sk_buff *skb, const struct natk_cfg *cfg);
int natk_flow_fill(struct sk_buff *skb, const struct natk_flow *flow,
		   const struct natk_cfg *cfg, u8 reason);

#endif /* _NATK_H */
