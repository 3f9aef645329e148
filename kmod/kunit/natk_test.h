/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the natk KUnit suites: a private struct natk_net on
 * init_net with its own tables and configuration, flow keys, and synthetic
 * IPv4 packets with valid checksums.
 */
#ifndef _NATK_TEST_H
#define _NATK_TEST_H

#include <kunit/test.h>
#include <linux/ip.h>
#include <linux/skbuff.h>
#include "../natk.h"

/* Addresses used by the suites (RFC 5737 documentation ranges). */
#define NATK_T_EXT	htonl(0xcb007101)	/* 203.0.113.1: external */
#define NATK_T_INT	htonl(0x0a000002)	/* 10.0.0.2: a lan host */
#define NATK_T_INT2	htonl(0x0a000003)	/* 10.0.0.3 */
#define NATK_T_REM	htonl(0xc6336401)	/* 198.51.100.1: remote */
#define NATK_T_ROUTER	htonl(0xc0000201)	/* 192.0.2.1: a router */
#define NATK_T_EXT2	htonl(0xcb007102)	/* 203.0.113.2: external too */

/*
 * A natk_net for one test, torn down (flushed, tables destroyed, RCU
 * callbacks waited for) when the test ends. Its configuration has the
 * defaults and ext_addr NATK_T_EXT; natk_test_cfg() returns it for the test
 * to change before use.
 */
struct natk_net *natk_test_net(struct kunit *test);
struct natk_cfg *natk_test_cfg(struct natk_net *nn);
u64 natk_test_stat(struct natk_net *nn, enum natk_stat s);
/* The pool: @n addresses from @addrs, the first primary (slots claimed). */
void natk_test_pool(struct natk_net *nn, const __be32 *addrs, unsigned int n);

/*
 * What has @port on the test's primary external address: its mapping, or
 * the flow that is its own mapping (ports.c); NULL: nothing.
 */
static inline void *natk_test_map_ext(struct natk_net *nn, u8 proto,
				      __be16 port)
{
	struct natk_flow *self;
	struct natk_map *map = natk_map_lookup_ext(nn, natk_test_cfg(nn), proto,
						   NATK_T_EXT, port, &self);

	return map ?: (void *)self;
}

struct natk_okey natk_test_okey(u8 proto, __be32 iaddr, u16 iport,
				__be32 raddr, u16 rport);
/* natk_flow_create() under rcu_read_lock(); fails the test on NULL. */
struct natk_flow *natk_test_flow(struct kunit *test, struct natk_net *nn,
				 const struct natk_okey *key, u8 state);

/*
 * An IPv4 packet saddr:sport -> daddr:dport with @plen bytes of payload and
 * valid IP and L4 checksums (ICMP: an echo request with id @sport). Freed
 * when the test ends unless natk_test_skb_forget() is called.
 */
struct sk_buff *natk_test_skb(struct kunit *test, u8 proto, __be32 saddr,
			      u16 sport, __be32 daddr, u16 dport,
			      unsigned int plen);
/* An skb holding exactly @len bytes of @data as an IPv4 packet. */
struct sk_buff *natk_test_skb_raw(struct kunit *test, const void *data,
				  unsigned int len);

/* Checksum helpers over a linear IPv4 packet starting at @iph. */
bool natk_test_ip_csum_ok(const struct iphdr *iph);
/* Full recompute of the L4 checksum field (TCP, UDP, ICMP). */
__sum16 natk_test_l4_csum(const struct iphdr *iph, unsigned int len);
/* Fill in the IP and L4 checksums of a packet built by hand. */
void natk_test_fix_csums(struct iphdr *iph);

/*
 * Run @fn at every natk_race() point until the test ends (one test at a
 * time: KUnit runs them one after the other).
 */
typedef void (*natk_test_race_fn)(struct natk_net *nn,
				  enum natk_race_point p, void *obj,
				  void *arg);
void natk_test_set_race(struct kunit *test, natk_test_race_fn fn, void *arg);

#endif /* _NATK_TEST_H */
