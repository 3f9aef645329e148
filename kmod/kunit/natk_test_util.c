// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the natk KUnit suites (see natk_test.h).
 */
#include <kunit/resource.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/slab.h>
#include <net/checksum.h>
#include <net/ip.h>
#include "natk_test.h"

/*
 * The KUnit build's race windows (natk.h): the current test's hook runs
 * there, so that a test can put a flush or a second CPU's work exactly
 * inside a window.
 */
static natk_test_race_fn natk_test_race_hook;
static void *natk_test_race_arg;

void natk_race(struct natk_net *nn, enum natk_race_point p, void *obj)
{
	natk_test_race_fn fn = READ_ONCE(natk_test_race_hook);

	if (fn)
		fn(nn, p, obj, natk_test_race_arg);
}

static void natk_test_race_clear(void *unused)
{
	WRITE_ONCE(natk_test_race_hook, NULL);
	natk_test_race_arg = NULL;
}

void natk_test_set_race(struct kunit *test, natk_test_race_fn fn, void *arg)
{
	natk_test_race_arg = arg;
	WRITE_ONCE(natk_test_race_hook, fn);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							natk_test_race_clear,
							NULL), 0);
}

/* The tests run the GC themselves; a kick from the packet path is a no-op. */
static void natk_test_gc_work(struct work_struct *work)
{
}

static void natk_test_net_free(void *data)
{
	struct natk_net *nn = data;

	cancel_delayed_work_sync(&nn->gc_work);
	natk_fwd_flush(nn);
	natk_flush(nn, NATK_REASON_FLUSH);
	/* Flows and mappings are freed by RCU callbacks. */
	rcu_barrier();
	natk_tables_destroy(nn);
	kfree(rcu_dereference_protected(nn->cfg, true));
	free_percpu(nn->stats);
	kfree(nn);
}

struct natk_net *natk_test_net(struct kunit *test)
{
	struct natk_net *nn = kzalloc(sizeof(*nn), GFP_KERNEL);
	struct natk_cfg *cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	int err;

	KUNIT_ASSERT_NOT_NULL(test, nn);
	KUNIT_ASSERT_NOT_NULL(test, cfg);
	nn->net = &init_net;
	mutex_init(&nn->lock);
	INIT_LIST_HEAD(&nn->fwds);
	INIT_DEFERRABLE_WORK(&nn->gc_work, natk_test_gc_work);
	atomic_set(&nn->nflows, 0);
	nn->stats = alloc_percpu(struct natk_stats);
	KUNIT_ASSERT_NOT_NULL(test, nn->stats);

	strscpy(cfg->ifname, "lo", IFNAMSIZ);
	cfg->ifindex = 1;
	cfg->ext_addr = NATK_T_EXT;
	cfg->flows_addr = NATK_T_EXT;
	cfg->naddrs = 1;
	cfg->addrs[0] = NATK_T_EXT;
	cfg->port_min = NATK_DEF_PORT_MIN;
	cfg->port_max = NATK_DEF_PORT_MAX;
	cfg->max_flows = 1U << 20;
	cfg->timeout[NATK_TO_TCP_EST] = NATK_DEF_TCP_EST * HZ;
	cfg->timeout[NATK_TO_TCP_TRANS] = NATK_DEF_TCP_TRANS * HZ;
	cfg->timeout[NATK_TO_UDP] = NATK_DEF_UDP * HZ;
	cfg->timeout[NATK_TO_ICMP] = NATK_DEF_ICMP * HZ;
	/* Ports are free at once unless a case turns the hold on. */
	cfg->port_hold = 0;
	cfg->mapping = NATK_MAPPING_ENDPOINT_INDEPENDENT;
	cfg->filtering = NATK_FILTERING_ADDRESS_PORT_DEPENDENT;
	RCU_INIT_POINTER(nn->cfg, cfg);

	KUNIT_ASSERT_EQ(test, natk_tables_init(nn), 0);
	err = kunit_add_action_or_reset(test, natk_test_net_free, nn);
	KUNIT_ASSERT_EQ(test, err, 0);
	natk_test_pool(nn, &cfg->ext_addr, 1);
	return nn;
}

void natk_test_pool(struct natk_net *nn, const __be32 *addrs, unsigned int n)
{
	struct natk_cfg *cfg = natk_test_cfg(nn);
	__be32 a[NATK_ADDRS_MAX];
	unsigned int i;

	if (n)
		memcpy(a, addrs, n * sizeof(a[0]));
	cfg->naddrs = n;
	for (i = 0; i < n; i++)
		cfg->addrs[i] = a[i];
	cfg->ext_addr = n ? a[0] : 0;
	mutex_lock(&nn->lock);
	natk_pool_claim(nn, cfg);
	mutex_unlock(&nn->lock);
}

struct natk_cfg *natk_test_cfg(struct natk_net *nn)
{
	return rcu_dereference_protected(nn->cfg, true);
}

u64 natk_test_stat(struct natk_net *nn, enum natk_stat s)
{
	u64 v[__NATK_STAT_MAX];

	natk_stats_sum(nn, v);
	return v[s];
}

struct natk_okey natk_test_okey(u8 proto, __be32 iaddr, u16 iport,
				__be32 raddr, u16 rport)
{
	struct natk_okey k = {
		.iaddr = iaddr,
		.raddr = raddr,
		.iport = htons(iport),
		.rport = htons(rport),
		.proto = proto,
	};

	return k;
}

struct natk_flow *natk_test_flow(struct kunit *test, struct natk_net *nn,
				 const struct natk_okey *key, u8 state)
{
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_flow *flow;

	rcu_read_lock();
	flow = natk_flow_create(nn, natk_test_cfg(nn), key, state, NULL,
				false, &why);
	rcu_read_unlock();
	KUNIT_ASSERT_NOT_NULL_MSG(test, flow, "natk_flow_create: why %d", why);
	return flow;
}

KUNIT_DEFINE_ACTION_WRAPPER(natk_test_kfree_skb, kfree_skb, struct sk_buff *);

static struct sk_buff *natk_test_alloc(struct kunit *test, unsigned int len)
{
	struct sk_buff *skb = alloc_skb(LL_MAX_HEADER + len, GFP_KERNEL);
	int err;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	err = kunit_add_action_or_reset(test, natk_test_kfree_skb, skb);
	KUNIT_ASSERT_EQ(test, err, 0);
	skb_reserve(skb, LL_MAX_HEADER);
	skb_reset_network_header(skb);
	skb_reset_mac_header(skb);
	skb->protocol = htons(ETH_P_IP);
	skb_put(skb, len);
	return skb;
}

struct sk_buff *natk_test_skb_raw(struct kunit *test, const void *data,
				  unsigned int len)
{
	struct sk_buff *skb = natk_test_alloc(test, len);
	const struct iphdr *iph;

	memcpy(skb->data, data, len);
	iph = ip_hdr(skb);
	skb_set_transport_header(skb, iph->ihl * 4);
	return skb;
}

__sum16 natk_test_l4_csum(const struct iphdr *iph, unsigned int len)
{
	const void *l4 = (const u8 *)iph + iph->ihl * 4;
	unsigned int l4len = len - iph->ihl * 4;
	__wsum sum = csum_partial(l4, l4len, 0);

	if (iph->protocol == IPPROTO_ICMP)
		return csum_fold(sum);
	return csum_tcpudp_magic(iph->saddr, iph->daddr, l4len, iph->protocol,
				 sum);
}

bool natk_test_ip_csum_ok(const struct iphdr *iph)
{
	return ip_fast_csum(iph, iph->ihl) == 0;
}

void natk_test_fix_csums(struct iphdr *iph)
{
	unsigned int len = ntohs(iph->tot_len);
	u8 *l4 = (u8 *)iph + iph->ihl * 4;
	__sum16 *check;

	iph->check = 0;
	iph->check = ip_fast_csum(iph, iph->ihl);
	switch (iph->protocol) {
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
	*check = 0;
	*check = natk_test_l4_csum(iph, len);
	if (iph->protocol == IPPROTO_UDP && !*check)
		*check = CSUM_MANGLED_0;
}

struct sk_buff *natk_test_skb(struct kunit *test, u8 proto, __be32 saddr,
			      u16 sport, __be32 daddr, u16 dport,
			      unsigned int plen)
{
	int hl = natk_l4_hdrlen(proto);
	unsigned int len = sizeof(struct iphdr) + hl + plen, i;
	struct sk_buff *skb;
	struct iphdr *iph;
	u8 *l4;

	KUNIT_ASSERT_GT(test, hl, 0);
	skb = natk_test_alloc(test, len);
	memset(skb->data, 0, len);
	iph = ip_hdr(skb);
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->id = htons(0x1234);
	iph->tot_len = htons(len);
	iph->protocol = proto;
	iph->saddr = saddr;
	iph->daddr = daddr;
	skb_set_transport_header(skb, sizeof(*iph));
	l4 = skb_transport_header(skb);
	for (i = 0; i < plen; i++)
		l4[hl + i] = (u8)(i * 7 + 3);

	switch (proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = (struct tcphdr *)l4;

		th->source = htons(sport);
		th->dest = htons(dport);
		th->seq = htonl(1000);
		th->ack_seq = htonl(2000);
		th->doff = 5;
		th->ack = 1;
		th->window = htons(8192);
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = (struct udphdr *)l4;

		uh->source = htons(sport);
		uh->dest = htons(dport);
		uh->len = htons(hl + plen);
		break;
	}
	default: {
		struct icmphdr *ih = (struct icmphdr *)l4;

		ih->type = ICMP_ECHO;
		ih->un.echo.id = htons(sport);
		ih->un.echo.sequence = htons(1);
		break;
	}
	}
	natk_test_fix_csums(iph);
	return skb;
}
