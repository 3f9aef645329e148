// SPDX-License-Identifier: GPL-2.0
/*
 * natk_ports: the external port allocator. Port preservation, collisions,
 * the edges of the configured range, the privileged range (ports below
 * 1024 map below 1024), ports used by the host's own sockets, and
 * exhaustion, which must end after a bounded number of attempts; port
 * parity and the port hold after a mapping's last flow.
 */
#include <linux/net.h>
#include <linux/in.h>
#include <net/sock.h>
#include "natk_test.h"

static struct natk_map *natk_get(struct natk_net *nn, u8 proto, __be32 iaddr,
				 u16 iport, enum natk_stat *why)
{
	struct natk_map *map;

	rcu_read_lock();
	map = natk_map_get(nn, natk_test_cfg(nn), proto, iaddr, htons(iport),
			   NATK_T_EXT, 0, NULL, NULL, why);
	rcu_read_unlock();
	return map;
}

static struct natk_map *natk_get_ok(struct kunit *test, struct natk_net *nn,
				    u8 proto, __be32 iaddr, u16 iport)
{
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_map *map = natk_get(nn, proto, iaddr, iport, &why);

	KUNIT_ASSERT_NOT_NULL_MSG(test, map, "no port for %pI4:%u, why %d",
				  &iaddr, iport, why);
	return map;
}

static void natk_range(struct natk_net *nn, u16 lo, u16 hi)
{
	natk_test_cfg(nn)->port_min = lo;
	natk_test_cfg(nn)->port_max = hi;
}

/* @n mappings of @proto, one a host (10.16.0.0 on), ports @lo on kept. */
static void natk_fill(struct kunit *test, struct natk_net *nn, u8 proto,
		      struct natk_map **m, int n, u16 lo)
{
	int i;

	for (i = 0; i < n; i++)
		m[i] = natk_get_ok(test, nn, proto, htonl(0x0a100000 + i),
				   lo + i);
}

static void natk_ports_preserved(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT,
					 40000);

	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 40000);
	KUNIT_EXPECT_EQ(test, m->ikey.iaddr, NATK_T_INT);
	KUNIT_EXPECT_EQ(test, m->ekey.proto, IPPROTO_UDP);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP, htons(40000)), m);
	/* Protocols have separate port spaces. */
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_TCP, htons(40000)));
	rcu_read_unlock();
	/* The same endpoint gets the same mapping (RFC 4787 REQ-1). */
	KUNIT_EXPECT_PTR_EQ(test, natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT,
					      40000), m);
	KUNIT_EXPECT_EQ(test, refcount_read(&m->ref), 2);
	natk_map_put(nn, m);
	natk_map_put(nn, m);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP, htons(40000)));
	rcu_read_unlock();
	/* The same port on TCP is preserved independently. */
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 40000);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 40000);
	natk_map_put(nn, m);
}

static void natk_ports_collision(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *a, *b, *c;
	u16 pb, pc;

	a = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT, 40000);
	b = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 40000);
	c = natk_get_ok(test, nn, IPPROTO_TCP, htonl(0x0a000004), 40000);
	pb = ntohs(b->ekey.eport);
	pc = ntohs(c->ekey.eport);
	KUNIT_EXPECT_EQ(test, ntohs(a->ekey.eport), 40000);
	KUNIT_EXPECT_NE(test, pb, 40000);
	KUNIT_EXPECT_NE(test, pc, 40000);
	KUNIT_EXPECT_NE(test, pb, pc);
	KUNIT_EXPECT_GE(test, pb, NATK_DEF_PORT_MIN);
	KUNIT_EXPECT_GE(test, pc, NATK_DEF_PORT_MIN);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_TCP, b->ekey.eport), b);
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_TCP, c->ekey.eport), c);
	rcu_read_unlock();
	natk_map_put(nn, a);
	natk_map_put(nn, b);
	natk_map_put(nn, c);
}

/* A one-port range at the top: 65535 itself, no overflow to 0. */
static void natk_ports_range_edges(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *m;
	u16 lo, hi;

	KUNIT_EXPECT_EQ(test, natk_port_range(natk_test_cfg(nn), IPPROTO_UDP,
					      htons(5000), &lo, &hi), 64512);
	KUNIT_EXPECT_EQ(test, lo, 1024);
	KUNIT_EXPECT_EQ(test, hi, 65535);

	natk_range(nn, 65535, 65535);
	m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 2000);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 65535);
	natk_map_put(nn, m);

	natk_range(nn, 1024, 1024);
	m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 65535);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 1024);
	natk_map_put(nn, m);

	/* The whole port space. */
	natk_range(nn, 1, 65535);
	KUNIT_EXPECT_EQ(test, natk_port_range(natk_test_cfg(nn), IPPROTO_TCP,
					      htons(80), &lo, &hi), 65535);
	KUNIT_EXPECT_EQ(test, lo, 1);
	m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 80);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 80);
	natk_map_put(nn, m);
}

/*
 * Two ports, the preferred one taken: the other one must be found every
 * time (the search covers a range smaller than the attempt limit).
 */
static void natk_ports_small_range_complete(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *a, *b;
	enum natk_stat why;
	int i, failed = 0;

	natk_range(nn, 65534, 65535);
	for (i = 0; i < 64; i++) {
		a = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 65535);
		KUNIT_EXPECT_EQ(test, ntohs(a->ekey.eport), 65535);
		b = natk_get(nn, IPPROTO_UDP, NATK_T_INT2, 65535, &why);
		if (b) {
			KUNIT_EXPECT_EQ(test, ntohs(b->ekey.eport), 65534);
			natk_map_put(nn, b);
		} else {
			failed++;
		}
		natk_map_put(nn, a);
	}
	KUNIT_EXPECT_EQ_MSG(test, failed, 0,
			    "a free port in a 2-port range was not found");
}

static void natk_ports_privileged(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *a, *b, *c;
	u16 lo, hi;

	/* Below 1024 maps below 1024 (RFC 4787 REQ-3a)... */
	KUNIT_EXPECT_EQ(test, natk_port_range(natk_test_cfg(nn), IPPROTO_TCP,
					      htons(80), &lo, &hi), 1023);
	KUNIT_EXPECT_EQ(test, lo, 1);
	KUNIT_EXPECT_EQ(test, hi, 1023);
	a = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT, 80);
	b = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 80);
	KUNIT_EXPECT_EQ(test, ntohs(a->ekey.eport), 80);
	KUNIT_EXPECT_NE(test, ntohs(b->ekey.eport), 80);
	KUNIT_EXPECT_GE(test, ntohs(b->ekey.eport), 1);
	KUNIT_EXPECT_LE(test, ntohs(b->ekey.eport), 1023);
	/* ...but ICMP identifiers are not ports: any value, 80 is kept. */
	KUNIT_EXPECT_EQ(test, natk_port_range(natk_test_cfg(nn), IPPROTO_ICMP,
					      htons(80), &lo, &hi), 65536);
	c = natk_get_ok(test, nn, IPPROTO_ICMP, NATK_T_INT, 80);
	KUNIT_EXPECT_EQ(test, ntohs(c->ekey.eport), 80);
	natk_map_put(nn, a);
	natk_map_put(nn, b);
	natk_map_put(nn, c);

	/* An explicit range below 1024 is used as configured. */
	natk_range(nn, 500, 600);
	KUNIT_EXPECT_EQ(test, natk_port_range(natk_test_cfg(nn), IPPROTO_TCP,
					      htons(80), &lo, &hi), 101);
	KUNIT_EXPECT_EQ(test, lo, 500);
	a = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT, 80);
	KUNIT_EXPECT_GE(test, ntohs(a->ekey.eport), 500);
	KUNIT_EXPECT_LE(test, ntohs(a->ekey.eport), 600);
	natk_map_put(nn, a);
	/* Port 0 is in the privileged range too, and never handed out. */
	natk_range(nn, NATK_DEF_PORT_MIN, NATK_DEF_PORT_MAX);
	a = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 0);
	KUNIT_EXPECT_NE(test, ntohs(a->ekey.eport), 0);
	natk_map_put(nn, a);
}

/* A tiny range runs out; the allocator gives up and recovers. */
static void natk_ports_exhaustion(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *m[4], *x;
	enum natk_stat why = NATK_STAT_UNSPEC;
	unsigned long t0;
	u16 seen = 0, freed;
	int i;

	natk_range(nn, 5000, 5003);
	for (i = 0; i < 4; i++) {
		m[i] = natk_get_ok(test, nn, IPPROTO_UDP, htonl(0x0a000010 + i),
				   40000);
		seen |= BIT(ntohs(m[i]->ekey.eport) - 5000);
	}
	KUNIT_EXPECT_EQ(test, seen, 0xf);
	t0 = jiffies;
	x = natk_get(nn, IPPROTO_UDP, NATK_T_REM, 40000, &why);
	KUNIT_EXPECT_NULL(test, x);
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
	KUNIT_EXPECT_LT(test, jiffies - t0, (unsigned long)HZ);
	KUNIT_EXPECT_EQ(test,
			natk_test_stat(nn, NATK_STAT_PORT_ALLOCATION_ERRORS),
			1ULL);
	/* An existing endpoint keeps its mapping. */
	x = natk_get_ok(test, nn, IPPROTO_UDP, htonl(0x0a000010), 40000);
	KUNIT_EXPECT_PTR_EQ(test, x, m[0]);
	natk_map_put(nn, x);
	/* A freed port is found again. */
	freed = ntohs(m[2]->ekey.eport);
	natk_map_put(nn, m[2]);
	x = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_REM, 40000);
	KUNIT_EXPECT_EQ(test, ntohs(x->ekey.eport), freed);
	natk_map_put(nn, x);
	natk_map_put(nn, m[0]);
	natk_map_put(nn, m[1]);
	natk_map_put(nn, m[3]);
}

/* Candidates offered by the searches since the last call. */
static int natk_offers(struct natk_net *nn)
{
	return atomic_xchg(&nn->test_port_offers, 0);
}

/*
 * A large full range: a search offers at most NATK_PORT_ATTEMPTS (128)
 * candidates, counted by the KUnit build (natk_test_port_offered()), and
 * all of them when none is free, whether the internal port is in the
 * range (offered first, once) or not; for a new mapping (endpoint-
 * independent) and for a flow's own port (address-and-port-dependent).
 * Right after a failed search for a mapping, the next offers none.
 */
static void natk_ports_exhaustion_bounded(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_okey k;
	struct natk_map **m;
	struct natk_flow *f;
	int i, n = 1000;

	m = kunit_kcalloc(test, n, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	natk_range(nn, 20000, 20000 + n - 1);
	natk_fill(test, nn, IPPROTO_TCP, m, n, 20000);
	for (i = 0; i < 100; i++) {
		/* Forget the last failure: a full search each time. */
		natk_ports_init(nn);
		natk_offers(nn);
		KUNIT_EXPECT_NULL(test, natk_get(nn, IPPROTO_TCP, NATK_T_REM,
						 i & 1 ? 20000 + i : 5000 + i,
						 &why));
		KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
		KUNIT_EXPECT_EQ_MSG(test, natk_offers(nn), NATK_PORT_ATTEMPTS,
				    "search %d", i);
	}
	KUNIT_EXPECT_NULL(test, natk_get(nn, IPPROTO_TCP, NATK_T_REM, 20000,
					 &why));
	KUNIT_EXPECT_EQ(test, natk_offers(nn), 0);

	natk_test_cfg(nn)->mapping = NATK_MAPPING_ADDRESS_PORT_DEPENDENT;
	for (i = 0; i < 10; i++) {
		k = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 20000 + i * 7,
				   NATK_T_REM, 443);
		rcu_read_lock();
		f = natk_flow_create(nn, natk_test_cfg(nn), &k,
				     NATK_TCP_SYN_OUT, NULL, false, &why);
		rcu_read_unlock();
		KUNIT_EXPECT_NULL(test, f);
		KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
		KUNIT_EXPECT_EQ_MSG(test, natk_offers(nn), NATK_PORT_ATTEMPTS,
				    "flow search %d", i);
	}
	for (i = 0; i < n; i++)
		natk_map_put(nn, m[i]);
}

/* By-port table inserts the claims tried since the last call. */
static int natk_inserts(struct natk_net *nn)
{
	return atomic_xchg(&nn->test_port_inserts, 0);
}

/*
 * A port another dynamic mapping of the address has costs a claim no
 * insert (the address's port map says so): a search over a range with one
 * free port of eight tries one insert, a full range none; a freed port is
 * found again, by one insert.
 */
static void natk_ports_map_skips_taken(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_map *m[8];
	int i;

	natk_range(nn, 20000, 20007);
	natk_fill(test, nn, IPPROTO_UDP, m, 7, 20000);
	natk_inserts(nn);
	m[7] = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 20000);
	KUNIT_EXPECT_EQ(test, ntohs(m[7]->ekey.eport), 20007);
	KUNIT_EXPECT_EQ(test, natk_inserts(nn), 1);
	KUNIT_EXPECT_GE(test, natk_offers(nn), 2);

	natk_ports_init(nn);
	KUNIT_EXPECT_NULL(test, natk_get(nn, IPPROTO_UDP, NATK_T_INT2, 20001,
					 &why));
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
	KUNIT_EXPECT_EQ(test, natk_inserts(nn), 0);
	/* Another protocol's ports are its own. */
	natk_map_put(nn, natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2,
				     20001));
	natk_inserts(nn);

	/* No hold in these tests: the port is free at once. */
	natk_map_put(nn, m[3]);
	natk_ports_init(nn);
	m[3] = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 20001);
	KUNIT_EXPECT_EQ(test, ntohs(m[3]->ekey.eport), 20003);
	KUNIT_EXPECT_EQ(test, natk_inserts(nn), 1);
	for (i = 0; i < 8; i++)
		natk_map_put(nn, m[i]);
}

/*
 * A stretch of taken ports longer than the search budget (a block of held
 * ports, mappings made in order) costs new mappings nothing while the rest
 * of the range is free: candidates are random, not a walk that fails when
 * it starts inside the stretch (one search in twenty did, and then every
 * new mapping failed for the exhaustion throttle's time).
 */
static void natk_ports_dense_stretch(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	int i, n = 800, fresh = 300, failed = 0;
	enum natk_stat why;
	struct natk_map **m;

	m = kunit_kcalloc(test, n + fresh, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	natk_range(nn, 20000, 29999);
	natk_fill(test, nn, IPPROTO_UDP, m, n, 20000);
	for (i = n; i < n + fresh; i++) {
		/* Internal ports outside the range: always a search. */
		natk_ports_init(nn);
		m[i] = natk_get(nn, IPPROTO_UDP, NATK_T_INT, 40000 + i, &why);
		if (!m[i])
			failed++;
	}
	KUNIT_EXPECT_EQ_MSG(test, failed, 0,
			    "%d of %d searches failed with %d of 10000 ports taken",
			    failed, fresh, n);
	for (i = 0; i < n + fresh; i++)
		if (m[i])
			natk_map_put(nn, m[i]);
}

/*
 * A range no larger than NATK_PORT_ATTEMPTS is searched completely: each
 * port offered once, the internal port included.
 */
static void natk_ports_small_range_offers(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why;
	struct natk_map *m[100];
	int i;

	natk_range(nn, 30000, 30099);
	natk_fill(test, nn, IPPROTO_UDP, m, 100, 30000);
	natk_ports_init(nn);
	natk_offers(nn);
	KUNIT_EXPECT_NULL(test, natk_get(nn, IPPROTO_UDP, NATK_T_REM, 30050,
					 &why));
	KUNIT_EXPECT_EQ(test, natk_offers(nn), 100);
	/* The last free port is found, wherever the search starts. */
	natk_map_put(nn, m[77]);
	natk_ports_init(nn);
	m[77] = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_REM, 30050);
	KUNIT_EXPECT_EQ(test, ntohs(m[77]->ekey.eport), 30077);
	KUNIT_EXPECT_LE(test, natk_offers(nn), 100);
	for (i = 0; i < 100; i++)
		natk_map_put(nn, m[i]);
}

/* A port the host itself listens on is never handed out. */
static void natk_ports_local_socket(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(5000),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	struct socket *sock;
	struct natk_map *m;
	int i;

	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, AF_INET, SOCK_DGRAM,
					       IPPROTO_UDP, &sock), 0);
	if (kernel_bind(sock, (struct sockaddr *)&sin, sizeof(sin))) {
		sock_release(sock);
		kunit_skip(test, "cannot bind a UDP socket to port 5000");
	}
	natk_range(nn, 5000, 5001);
	for (i = 0; i < 8; i++) {
		m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 5000);
		KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 5001);
		natk_map_put(nn, m);
	}
	/* TCP has its own ports: 5000 is free there. */
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT, 5000);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 5000);
	natk_map_put(nn, m);
	sock_release(sock);
}

/* A static forward's port is not given to a dynamic mapping. */
static void natk_ports_forward_reserved(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *m;
	int i;

	mutex_lock(&nn->lock);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(6000),
					   NATK_T_INT2, htons(22), NULL), 0);
	mutex_unlock(&nn->lock);
	natk_range(nn, 6000, 6001);
	for (i = 0; i < 8; i++) {
		m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT, 6000);
		KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 6001);
		natk_map_put(nn, m);
	}
	/* The forwarded endpoint reuses its static mapping. */
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 22);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 6000);
	KUNIT_EXPECT_TRUE(test, m->flags & NATK_MAP_STATIC);
	natk_map_put(nn, m);
}

/*
 * RFC 4787 REQ-4: a port that cannot be preserved gets one of the same
 * parity; when none is left in a small range, one of the other parity.
 */
static void natk_ports_parity(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *a, *b;
	int i;

	natk_range(nn, 20000, 29999);
	for (i = 0; i < 16; i++) {
		a = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 20000 + i);
		b = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 20000 + i);
		KUNIT_EXPECT_EQ(test, ntohs(a->ekey.eport), 20000 + i);
		KUNIT_EXPECT_NE(test, ntohs(b->ekey.eport), 20000 + i);
		KUNIT_EXPECT_EQ_MSG(test, ntohs(b->ekey.eport) & 1, i & 1,
				    "internal %u got %u", 20000 + i,
				    ntohs(b->ekey.eport));
		natk_map_put(nn, b);
		natk_map_put(nn, a);
	}
	/* Two ports, the even one taken: the odd one, not a failure. */
	natk_range(nn, 5000, 5001);
	a = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 5000);
	b = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 5000);
	KUNIT_EXPECT_EQ(test, ntohs(a->ekey.eport), 5000);
	KUNIT_EXPECT_EQ(test, ntohs(b->ekey.eport), 5001);
	natk_map_put(nn, b);
	natk_map_put(nn, a);
}

/* Make @map's hold (of @hold jiffies) end at @when. */
static void natk_hold_ends(struct natk_map *map, unsigned long hold,
			   unsigned long when)
{
	WRITE_ONCE(map->held_since, when - hold);
}

/*
 * RFC 6888 REQ-8: a mapping whose last flow ended keeps its port for the
 * hold time: another endpoint gets a different port, the same endpoint
 * gets it back, and the GC frees it when the hold is over.
 */
static void natk_ports_hold(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *a, *b, *c;

	natk_test_cfg(nn)->port_hold = 60 * HZ;
	a = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 40000);
	natk_map_put(nn, a);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 1);
	rcu_read_lock();
	c = natk_test_map_ext(nn, IPPROTO_UDP, htons(40000));
	KUNIT_EXPECT_PTR_EQ(test, c, a);
	KUNIT_EXPECT_FALSE(test, c && natk_map_live(c));
	rcu_read_unlock();

	b = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 40000);
	KUNIT_EXPECT_NE(test, ntohs(b->ekey.eport), 40000);
	/* The same endpoint revives its mapping, with its port. */
	c = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 40000);
	KUNIT_EXPECT_PTR_EQ(test, c, a);
	KUNIT_EXPECT_TRUE(test, natk_map_live(c));
	KUNIT_EXPECT_EQ(test, refcount_read(&c->ref), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	natk_map_put(nn, c);

	/* Not over yet: the GC keeps it. */
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 1);
	/* Over (and the GC's next walk is due): freed, the port is free. */
	natk_hold_ends(a, 60 * HZ, jiffies - 1);
	nn->held_next = jiffies - 1;
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP, htons(40000)));
	rcu_read_unlock();
	c = natk_get_ok(test, nn, IPPROTO_UDP, htonl(0x0a000004), 40000);
	KUNIT_EXPECT_EQ(test, ntohs(c->ekey.eport), 40000);
	natk_map_put(nn, c);
	natk_map_put(nn, b);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 2);
	/* A flush frees every held mapping. */
	natk_flush(nn, NATK_REASON_FLUSH);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
}

/*
 * The GC walks the mappings only when the earliest hold it saw ends, and
 * at least every NATK_HELD_RECHECK: in between, nothing is walked.
 */
static void natk_ports_hold_recheck(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *a, *b;
	unsigned long b_end;

	natk_test_cfg(nn)->port_hold = 60 * HZ;
	a = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 41000);
	b = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 41002);
	natk_map_put(nn, a);
	natk_map_put(nn, b);
	b_end = jiffies + 5 * HZ;
	natk_hold_ends(b, 60 * HZ, b_end);
	nn->held_next = jiffies - 1;
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 2);
	/* b's hold ends first, and before the recheck interval. */
	KUNIT_EXPECT_EQ(test, nn->held_next, b_end);

	/* Until then the walk is skipped, even past a's hold. */
	natk_hold_ends(a, 60 * HZ, jiffies - 1);
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 2);

	/* Due: a goes, b stays and sets the next walk again. */
	nn->held_next = jiffies - 1;
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 1);
	KUNIT_EXPECT_EQ(test, nn->held_next, b_end);

	/* With only long holds left, the walk comes back within the bound. */
	b_end = jiffies + 60 * HZ;
	natk_hold_ends(b, 60 * HZ, b_end);
	nn->held_next = jiffies - 1;
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 1);
	KUNIT_EXPECT_TRUE(test, time_before(nn->held_next, b_end));
	KUNIT_EXPECT_FALSE(test, time_after(nn->held_next,
					    jiffies + 10 * HZ));

	/* A shorter hold applies to ports already held. */
	natk_test_cfg(nn)->port_hold = 1 * HZ;
	nn->held_next = jiffies - 1;
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 1);
	WRITE_ONCE(b->held_since, jiffies - 2 * HZ);
	nn->held_next = jiffies - 1;
	natk_map_release_held(nn, true);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
}

/*
 * Holds never take more than half the range: one host churning through
 * source ports cannot leave every port held for the others.
 */
static void natk_ports_hold_capped(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *m;
	int i;

	natk_test_cfg(nn)->port_hold = 60 * HZ;
	natk_range(nn, 7000, 7009);
	for (i = 0; i < 10; i++) {
		m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 7000 + i);
		natk_map_put(nn, m);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 5);
	/* Another host still finds a port: one of the five not held. */
	m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 7000);
	KUNIT_EXPECT_GE(test, ntohs(m->ekey.eport), 7005);
	natk_map_put(nn, m);
	natk_flush(nn, NATK_REASON_FLUSH);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
}

/*
 * A forward may take a held port, and its port is not held when it is
 * deleted; with no hold, ports are free at once.
 */
static void natk_ports_hold_forward(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *m;

	natk_test_cfg(nn)->port_hold = 60 * HZ;
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT, 6000);
	natk_map_put(nn, m);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 1);
	mutex_lock(&nn->lock);
	KUNIT_EXPECT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(6000),
					   NATK_T_INT2, htons(22), NULL), 0);
	mutex_unlock(&nn->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	/* A deleted forward's port is free at once, not held. */
	mutex_lock(&nn->lock);
	KUNIT_EXPECT_EQ(test, natk_fwd_del(nn, IPPROTO_TCP, 0, htons(6000)), 0);
	mutex_unlock(&nn->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_TCP, htons(6000)));
	rcu_read_unlock();

	natk_test_cfg(nn)->port_hold = 0;
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT, 7000);
	natk_map_put(nn, m);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_TCP, htons(7000)));
	rcu_read_unlock();
}

/*
 * Interleaving: inside the window where a new mapping has its port but not
 * yet its endpoint, an inbound packet finds it by port (what natk_in does
 * with endpoint-independent filtering) and must not get a reference; then
 * another CPU maps the same endpoint first, so this one loses. The loser
 * is freed with nobody holding it (KASAN would see a use after free), and
 * the creator returns the winner.
 */
struct natk_map_race {
	struct natk_map *seen, *winner;
	__be16 seen_port;
	bool tryget, live, busy;
};

static void natk_map_publish_race(struct natk_net *nn, enum natk_race_point p,
				  void *obj, void *arg)
{
	struct natk_map_race *r = arg;
	struct natk_map *map = obj, *found;
	enum natk_stat why;

	if (p != NATK_RACE_MAP_PUBLISH || r->busy || r->seen)
		return;
	r->seen = map;
	r->seen_port = map->ekey.eport;
	found = natk_test_map_ext(nn, map->ekey.proto, map->ekey.eport);
	r->live = found == map && natk_map_live(found);
	r->tryget = found && natk_map_tryget(found);
	if (r->tryget)
		natk_map_put(nn, found);
	r->busy = true;
	r->winner = natk_map_get(nn, natk_test_cfg(nn), map->ikey.proto,
				 map->ikey.iaddr, map->ikey.iport, NATK_T_EXT,
				 0, NULL, NULL, &why);
	r->busy = false;
}

static void natk_map_publish_window(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map_race r = {};
	struct natk_map *m;

	natk_test_set_race(test, natk_map_publish_race, &r);
	m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 40000);
	KUNIT_ASSERT_NOT_NULL(test, r.seen);
	KUNIT_EXPECT_FALSE(test, r.live);
	KUNIT_EXPECT_FALSE(test, r.tryget);
	KUNIT_ASSERT_NOT_NULL(test, r.winner);
	KUNIT_EXPECT_PTR_EQ(test, m, r.winner);
	KUNIT_EXPECT_PTR_NE(test, m, r.seen);
	KUNIT_EXPECT_EQ(test, refcount_read(&m->ref), 2);
	KUNIT_EXPECT_TRUE(test, natk_map_live(m));
	/* The loser's port went back: only the winner's is mapped. */
	KUNIT_EXPECT_NE(test, r.seen_port, m->ekey.eport);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_UDP, r.seen_port));
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_UDP,
						    m->ekey.eport), m);
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->metbl.nelems), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->mitbl.nelems), 1);
	natk_map_put(nn, m);
	natk_map_put(nn, m);
}

/*
 * Two forwards to one internal endpoint (tcp 80 and 8080 both to
 * 10.0.0.3:80): both are accepted; its outbound flows use the first; when
 * that one is deleted, the second takes over.
 */
static void natk_ports_forwards_same_endpoint(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_map *m;

	mutex_lock(&nn->lock);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(80),
					   NATK_T_INT2, htons(80), NULL), 0);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(8080),
					   NATK_T_INT2, htons(80), NULL), 0);
	mutex_unlock(&nn->lock);
	rcu_read_lock();
	m = natk_test_map_ext(nn, IPPROTO_TCP, htons(8080));
	KUNIT_EXPECT_TRUE(test, m && natk_map_live(m));
	rcu_read_unlock();
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 80);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 80);
	natk_map_put(nn, m);

	mutex_lock(&nn->lock);
	KUNIT_EXPECT_EQ(test, natk_fwd_del(nn, IPPROTO_TCP, 0, htons(80)), 0);
	mutex_unlock(&nn->lock);
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 80);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 8080);
	natk_map_put(nn, m);
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, natk_test_map_ext(nn, IPPROTO_TCP, htons(80)));
	rcu_read_unlock();

	/* A dynamic mapping of the endpoint still refuses a forward. */
	m = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 53);
	mutex_lock(&nn->lock);
	KUNIT_EXPECT_EQ(test, natk_fwd_add(nn, IPPROTO_UDP, 0, htons(5353),
					   NATK_T_INT2, htons(53), NULL),
			-EBUSY);
	mutex_unlock(&nn->lock);
	natk_map_put(nn, m);
}

/* A spec of a forward-replacing request; @attr stands for its NATK_A_FWD. */
static void natk_spec(struct natk_fwd_spec *s, struct nlattr *attr, u8 proto,
		      u16 eport, __be32 iaddr, u16 iport)
{
	memset(s, 0, sizeof(*s));
	s->attr = attr;
	s->proto = proto;
	s->eport = htons(eport);
	s->iaddr = iaddr;
	s->iport = htons(iport);
}

/* The forward of @eport's internal address, or 0 if there is none. */
static __be32 natk_fwd_target(struct natk_net *nn, u8 proto, u16 eport)
{
	struct natk_map *m;
	__be32 a = 0;

	rcu_read_lock();
	m = natk_test_map_ext(nn, proto, htons(eport));
	if (m && natk_map_live(m))
		a = m->ikey.iaddr;
	rcu_read_unlock();
	return a;
}

/*
 * One request replaces the forwards (NATK_A_FWD_REPLACE): tcp 8081 listed
 * as it is keeps its mapping; tcp 8080 moves to another endpoint while a
 * flow still holds the old mapping, which keeps working for that flow and
 * leaves no trace when it ends; udp 5353 goes; tcp 2222 comes.
 */
static void natk_ports_fwds_replace(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_fwd_spec s[3];
	struct nlattr attrs[3];
	struct natk_map *old, *kept, *m;
	const struct natk_fwd_spec *dup;

	mutex_lock(&nn->lock);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(8080),
					   NATK_T_INT, htons(80), NULL), 0);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(8081),
					   NATK_T_INT, htons(81), NULL), 0);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_UDP, 0, htons(5353),
					   NATK_T_INT2, htons(53), NULL), 0);
	mutex_unlock(&nn->lock);
	/* A flow through tcp 8080 holds its mapping. */
	rcu_read_lock();
	old = natk_test_map_ext(nn, IPPROTO_TCP, htons(8080));
	KUNIT_ASSERT_TRUE(test, old && natk_map_tryget(old));
	kept = natk_test_map_ext(nn, IPPROTO_TCP, htons(8081));
	rcu_read_unlock();

	natk_spec(&s[0], &attrs[0], IPPROTO_TCP, 8081, NATK_T_INT, 81);
	natk_spec(&s[1], &attrs[1], IPPROTO_TCP, 2222, NATK_T_INT, 22);
	natk_spec(&s[2], &attrs[2], IPPROTO_TCP, 8080, NATK_T_INT2, 80);
	KUNIT_ASSERT_TRUE(test, natk_fwd_specs_sort(s, 3, &dup));
	mutex_lock(&nn->lock);
	KUNIT_ASSERT_EQ(test, natk_fwds_prepare(nn, s, 3, NULL), 0);
	KUNIT_ASSERT_EQ(test, natk_fwds_insert(nn, s, 3, NULL), 0);
	natk_fwds_finish(nn, s, 3);
	mutex_unlock(&nn->lock);

	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 8080), NATK_T_INT2);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 8081), NATK_T_INT);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 2222), NATK_T_INT);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_UDP, 5353), 0);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, natk_test_map_ext(nn, IPPROTO_TCP, htons(8081)), kept);
	rcu_read_unlock();
	/* The old mapping lives on for its flow; its port is the new one's. */
	KUNIT_EXPECT_TRUE(test, natk_map_live(old));
	KUNIT_EXPECT_TRUE(test, READ_ONCE(old->flags) & NATK_MAP_NO_HOLD);
	/* The new endpoint's outbound flows use the forward's port. */
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 80);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 8080);
	natk_map_put(nn, m);
	/* The flow ends: the new forward stays where it is. */
	natk_map_put(nn, old);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 8080), NATK_T_INT2);
	m = natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 80);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 8080);
	natk_map_put(nn, m);
}

/*
 * A request that cannot be applied changes nothing: refused before
 * (a forward to an endpoint with a dynamic mapping, named by its
 * attribute), or when inserting (the mapping came after the check: the
 * forward already added is taken back). Two forwards of one port are
 * refused by the sort.
 */
static void natk_ports_fwds_replace_refused(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct netlink_ext_ack ext = {};
	const struct natk_fwd_spec *dup;
	struct natk_fwd_spec s[2];
	struct nlattr attrs[2];
	struct natk_map *dyn;

	mutex_lock(&nn->lock);
	KUNIT_ASSERT_EQ(test, natk_fwd_add(nn, IPPROTO_TCP, 0, htons(8081),
					   NATK_T_INT, htons(81), NULL), 0);
	mutex_unlock(&nn->lock);
	dyn = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 53);

	natk_spec(&s[0], &attrs[0], IPPROTO_TCP, 3333, NATK_T_INT, 22);
	natk_spec(&s[1], &attrs[1], IPPROTO_UDP, 6000, NATK_T_INT2, 53);
	KUNIT_ASSERT_TRUE(test, natk_fwd_specs_sort(s, 2, &dup));
	mutex_lock(&nn->lock);
	KUNIT_EXPECT_EQ(test, natk_fwds_prepare(nn, s, 2, &ext), -EBUSY);
	mutex_unlock(&nn->lock);
	KUNIT_EXPECT_PTR_EQ(test, ext.bad_attr, (const struct nlattr *)&attrs[1]);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 8081), NATK_T_INT);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 3333), 0);
	natk_map_put(nn, dyn);

	/* Checked while the endpoint was free; taken before the insert. */
	natk_spec(&s[0], &attrs[0], IPPROTO_TCP, 3333, NATK_T_INT, 22);
	natk_spec(&s[1], &attrs[1], IPPROTO_UDP, 6000, NATK_T_INT2, 54);
	KUNIT_ASSERT_TRUE(test, natk_fwd_specs_sort(s, 2, &dup));
	mutex_lock(&nn->lock);
	KUNIT_ASSERT_EQ(test, natk_fwds_prepare(nn, s, 2, NULL), 0);
	mutex_unlock(&nn->lock);
	dyn = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 54);
	mutex_lock(&nn->lock);
	KUNIT_EXPECT_EQ(test, natk_fwds_insert(nn, s, 2, NULL), -EBUSY);
	mutex_unlock(&nn->lock);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 3333), 0);
	KUNIT_EXPECT_EQ(test, natk_fwd_target(nn, IPPROTO_TCP, 8081), NATK_T_INT);
	natk_map_put(nn, dyn);

	natk_spec(&s[0], &attrs[0], IPPROTO_TCP, 3333, NATK_T_INT, 22);
	natk_spec(&s[1], &attrs[1], IPPROTO_TCP, 3333, NATK_T_INT2, 22);
	KUNIT_EXPECT_FALSE(test, natk_fwd_specs_sort(s, 2, &dup));
	KUNIT_EXPECT_PTR_EQ(test, dup->attr, (const struct nlattr *)&attrs[1]);
}

/*
 * After a search found no port, the next ones for that protocol fail at
 * once, without a search, until a mapping is freed.
 */
static void natk_ports_exhaustion_throttled(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_map *m[2];
	u64 before;
	int i;

	natk_range(nn, 5000, 5001);
	m[0] = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 5000);
	m[1] = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT, 5001);
	KUNIT_EXPECT_NULL(test, natk_get(nn, IPPROTO_UDP, NATK_T_INT2, 5000,
					 &why));
	/* The range is searched once, then no more: metbl is not asked. */
	before = natk_test_stat(nn, NATK_STAT_PORT_ALLOCATION_ERRORS);
	for (i = 0; i < 10; i++)
		KUNIT_EXPECT_NULL(test, natk_get(nn, IPPROTO_UDP, NATK_T_INT2,
						 6000 + i, &why));
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn,
					     NATK_STAT_PORT_ALLOCATION_ERRORS),
			before + 10);
	KUNIT_EXPECT_TRUE(test, natk_ports_exhausted(nn, IPPROTO_UDP, NATK_T_EXT));
	/* TCP has its own ports. */
	natk_map_put(nn, natk_get_ok(test, nn, IPPROTO_TCP, NATK_T_INT2, 5000));
	/* A freed port ends the fast failure. */
	natk_map_put(nn, m[1]);
	KUNIT_EXPECT_FALSE(test, natk_ports_exhausted(nn, IPPROTO_UDP, NATK_T_EXT));
	m[1] = natk_get_ok(test, nn, IPPROTO_UDP, NATK_T_INT2, 5000);
	KUNIT_EXPECT_EQ(test, ntohs(m[1]->ekey.eport), 5001);
	natk_map_put(nn, m[0]);
	natk_map_put(nn, m[1]);
}

/*
 * A mapping made with the port asked for (flow import): that port, or
 * nothing when the endpoint has another or the port is someone else's.
 */
static void natk_ports_wanted(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_map *m, *n;

	rcu_read_lock();
	m = natk_map_get(nn, natk_test_cfg(nn), IPPROTO_UDP, NATK_T_INT,
			 htons(40000), NATK_T_EXT, htons(50001), NULL, NULL, &why);
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_EQ(test, ntohs(m->ekey.eport), 50001);
	KUNIT_EXPECT_EQ(test, m->ekey.eaddr, NATK_T_EXT);
	/* The same endpoint and port: the same mapping. */
	n = natk_map_get(nn, natk_test_cfg(nn), IPPROTO_UDP, NATK_T_INT,
			 htons(40000), NATK_T_EXT, htons(50001), NULL, NULL, &why);
	KUNIT_EXPECT_PTR_EQ(test, n, m);
	if (n)
		natk_map_put(nn, n);
	/* The endpoint has 50001: not 50002. */
	why = NATK_STAT_UNSPEC;
	KUNIT_EXPECT_NULL(test, natk_map_get(nn, natk_test_cfg(nn),
					     IPPROTO_UDP, NATK_T_INT,
					     htons(40000), NATK_T_EXT,
					     htons(50002), NULL, NULL, &why));
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
	/* 50001 is taken: not for another endpoint. */
	why = NATK_STAT_UNSPEC;
	KUNIT_EXPECT_NULL(test, natk_map_get(nn, natk_test_cfg(nn),
					     IPPROTO_UDP, NATK_T_INT2,
					     htons(40000), NATK_T_EXT,
					     htons(50001), NULL, NULL, &why));
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
	/* Not counted as exhaustion: nothing was searched. */
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn,
					     NATK_STAT_PORT_ALLOCATION_ERRORS),
			0ULL);
	natk_map_put(nn, m);
	rcu_read_unlock();
}

/* natk_flow_import() as NATK_CMD_FLOW_ADD calls it: under the lock. */
static int natk_test_import(struct natk_net *nn, const struct natk_flow_spec *s)
{
	int err;

	mutex_lock(&nn->lock);
	err = natk_flow_import(nn, s, NULL);
	mutex_unlock(&nn->lock);
	return err;
}

/* End the flows of addresses the pool no longer has (netns.c does). */
static void natk_test_sweep(struct natk_net *nn)
{
	mutex_lock(&nn->lock);
	natk_pool_sweep(nn);
	mutex_unlock(&nn->lock);
}

/* An imported flow keeps its port, state, counters and time left. */
static void natk_ports_flow_import(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);
	struct natk_flow_spec s = {
		.okey = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 41000,
				       NATK_T_REM, 443),
		.eaddr = NATK_T_EXT,
		.eport = htons(52000),
		.state = NATK_TCP_ESTABLISHED,
		.expires_ms = 60000,
		.pkts = { 10, 9 },
		.bytes = { 1000, 900 },
	};
	struct natk_rkey rk;
	struct natk_flow *f;
	long left;

	cfg->accounting = true;
	KUNIT_ASSERT_EQ(test, natk_test_import(nn, &s), 0);
	rcu_read_lock();
	f = natk_flow_lookup_out(nn, &s.okey);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, ntohs(f->eport), 52000);
	KUNIT_EXPECT_EQ(test, f->state, NATK_TCP_ESTABLISHED);
	KUNIT_ASSERT_NOT_NULL(test, natk_flow_counters(f));
	KUNIT_EXPECT_EQ(test, natk_flow_counters(f)->pkts[1], 9ULL);
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f, NATK_FLOW_SEEN_IN));
	left = (long)(natk_flow_deadline(cfg, f) - jiffies);
	KUNIT_EXPECT_LE(test, left, (long)msecs_to_jiffies(60000));
	KUNIT_EXPECT_GT(test, left, (long)msecs_to_jiffies(50000));
	/* The reply direction finds it by that port. */
	rk = natk_flow_rkey(f);
	KUNIT_EXPECT_PTR_EQ(test, natk_flow_lookup_in(nn, &rk), f);
	rcu_read_unlock();
	/* Twice: it exists. Another address: refused. */
	KUNIT_EXPECT_EQ(test, natk_test_import(nn, &s), -EEXIST);
	s.okey.iport = htons(41001);
	s.eaddr = NATK_T_ROUTER;
	KUNIT_EXPECT_EQ(test, natk_test_import(nn, &s), -EADDRNOTAVAIL);
	/* Another endpoint on the same port: taken. */
	s.eaddr = NATK_T_EXT;
	KUNIT_EXPECT_EQ(test, natk_test_import(nn, &s), -EADDRINUSE);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
}

/*
 * Accounting off (the default): an imported flow has no counters, and the
 * directions it has seen come from NATK_FLOW_A_SEEN, or from a peer's
 * counters when it does not say.
 */
static void natk_ports_flow_import_seen(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_flow_spec s = {
		.okey = natk_test_okey(IPPROTO_UDP, NATK_T_INT, 41000,
				       NATK_T_REM, 53),
		.eaddr = NATK_T_EXT,
		.eport = htons(52000),
		.expires_ms = 60000,
		.seen = NATK_FLOW_F_SEEN_OUT | NATK_FLOW_F_SEEN_IN,
	};
	struct natk_flow *f;

	KUNIT_ASSERT_EQ(test, natk_test_import(nn, &s), 0);
	s.okey.rport = htons(54);
	s.seen = 0;
	s.pkts[0] = 3;
	KUNIT_ASSERT_EQ(test, natk_test_import(nn, &s), 0);
	rcu_read_lock();
	f = natk_flow_lookup_out(nn, &s.okey);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_NULL(test, natk_flow_counters(f));
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f, NATK_FLOW_SEEN_OUT));
	KUNIT_EXPECT_FALSE(test, natk_flow_flag(f, NATK_FLOW_SEEN_IN));
	s.okey.rport = htons(53);
	f = natk_flow_lookup_out(nn, &s.okey);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_NULL(test, natk_flow_counters(f));
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f, NATK_FLOW_SEEN_OUT));
	KUNIT_EXPECT_TRUE(test, natk_flow_flag(f, NATK_FLOW_SEEN_IN));
	rcu_read_unlock();
}

/*
 * A standby (natk waits for its addresses): flows are imported all the
 * same, with their own addresses, and those of addresses natk does not
 * get go when it masquerades; NATK_FLOW_A_UPDATE updates one that exists
 * (a peer's update), with the same port only.
 */
static void natk_ports_flow_import_standby(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_cfg *cfg = natk_test_cfg(nn);
	struct natk_flow_spec s = {
		.okey = natk_test_okey(IPPROTO_TCP, NATK_T_INT, 41000,
				       NATK_T_REM, 443),
		.eaddr = NATK_T_EXT,
		.eport = htons(52000),
		.state = NATK_TCP_SYN_OUT,
		.expires_ms = 10000,
	};
	struct natk_flow *f;
	long left;

	cfg->accounting = true;
	natk_test_pool(nn, NULL, 0);
	KUNIT_ASSERT_EQ(test, natk_cfg_state(cfg), NATK_STATE_WAIT_ADDRESS);
	KUNIT_ASSERT_EQ(test, natk_test_import(nn, &s), 0);
	rcu_read_lock();
	f = natk_flow_lookup_out(nn, &s.okey);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, ntohs(f->eport), 52000);
	KUNIT_EXPECT_EQ(test, f->eaddr, NATK_T_EXT);
	rcu_read_unlock();
	/* Another address too (another endpoint). */
	s.okey.iport = htons(41001);
	s.eaddr = NATK_T_ROUTER;
	KUNIT_EXPECT_EQ(test, natk_test_import(nn, &s), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 2);
	/* An update: the state and time left of the peer's flow now. */
	s.okey.iport = htons(41000);
	s.eaddr = NATK_T_EXT;
	s.state = NATK_TCP_ESTABLISHED;
	s.expires_ms = 3600000;
	s.pkts[1] = 5;
	KUNIT_EXPECT_EQ(test, natk_test_import(nn, &s), -EEXIST);
	s.replace = true;
	KUNIT_EXPECT_EQ(test, natk_test_import(nn, &s), 0);
	rcu_read_lock();
	f = natk_flow_lookup_out(nn, &s.okey);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, f->state, NATK_TCP_ESTABLISHED);
	KUNIT_EXPECT_EQ(test, natk_flow_counters(f)->pkts[1], 5ULL);
	left = (long)(natk_flow_deadline(cfg, f) - jiffies);
	KUNIT_EXPECT_GT(test, left, (long)msecs_to_jiffies(3500000));
	rcu_read_unlock();
	/* Not with another port: that is another mapping's business. */
	s.eport = htons(52002);
	KUNIT_EXPECT_EQ(test, natk_test_import(nn, &s), -EADDRINUSE);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 2);
	/* natk gets NATK_T_EXT alone: the other address's flow goes. */
	natk_test_pool(nn, (const __be32[]){ NATK_T_EXT }, 1);
	natk_test_sweep(nn);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	rcu_read_lock();
	KUNIT_EXPECT_NOT_NULL(test, natk_flow_lookup_out(nn, &s.okey));
	s.okey.iport = htons(41001);
	KUNIT_EXPECT_NULL(test, natk_flow_lookup_out(nn, &s.okey));
	rcu_read_unlock();
}

static const __be32 natk_two[] = { NATK_T_EXT, NATK_T_EXT2 };

/* A UDP flow from @iaddr:@iport to the remote, made as a packet makes it. */
static struct natk_flow *natk_pool_flow(struct kunit *test,
					struct natk_net *nn, __be32 iaddr,
					u16 iport)
{
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, iaddr, iport,
					    NATK_T_REM, 3478);

	return natk_test_flow(test, nn, &k, NATK_TCP_NONE);
}

/* Such a flow gets no port (drop_no_port). */
static void natk_pool_flow_refused(struct kunit *test, struct natk_net *nn,
				   __be32 iaddr, u16 iport)
{
	struct natk_okey k = natk_test_okey(IPPROTO_UDP, iaddr, iport,
					    NATK_T_REM, 3478);
	enum natk_stat why = NATK_STAT_UNSPEC;
	struct natk_flow *f;

	rcu_read_lock();
	f = natk_flow_create(nn, natk_test_cfg(nn), &k, NATK_TCP_NONE, NULL,
			     false, &why);
	rcu_read_unlock();
	KUNIT_EXPECT_NULL(test, f);
	KUNIT_EXPECT_EQ(test, why, NATK_STAT_DROP_NO_PORT);
}

/*
 * Paired pooling (RFC 4787 REQ-2): every mapping of a host is on one
 * address, and hosts spread over the pool (the fewest hosts first).
 */
static void natk_ports_paired(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_rkey rk;
	struct natk_flow *f;
	__be32 a, b;
	int i;

	natk_test_pool(nn, natk_two, 2);
	a = natk_pool_flow(test, nn, NATK_T_INT, 40000)->eaddr;
	b = natk_pool_flow(test, nn, NATK_T_INT2, 40000)->eaddr;
	KUNIT_EXPECT_NE(test, a, b);
	for (i = 1; i < 20; i++) {
		f = natk_pool_flow(test, nn, NATK_T_INT, 40000 + i);
		KUNIT_EXPECT_EQ(test, f->eaddr, a);
		KUNIT_EXPECT_EQ(test, f->eaddr, a);
		f = natk_pool_flow(test, nn, NATK_T_INT2, 40000 + i);
		KUNIT_EXPECT_EQ(test, f->eaddr, b);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&natk_addr_use(nn, a)->hosts), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&natk_addr_use(nn, b)->hosts), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&natk_addr_use(nn, a)->ports[1]), 20);
	KUNIT_EXPECT_EQ(test, atomic_read(&natk_addr_use(nn, b)->ports[1]), 20);
	/* Each port is the internal one: the addresses share port numbers. */
	KUNIT_EXPECT_EQ(test, ntohs(f->eport), 40019);
	/* The reply finds each flow by its own address. */
	rcu_read_lock();
	rk = natk_flow_rkey(f);
	KUNIT_EXPECT_PTR_EQ(test, natk_flow_lookup_in(nn, &rk), f);
	rcu_read_unlock();
}

/* One address out of ports does not stop the hosts of the other. */
static void natk_ports_pool_exhaustion(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_flow *f;
	__be32 a;
	int i;

	natk_test_pool(nn, natk_two, 2);
	natk_range(nn, 5000, 5009);
	a = natk_pool_flow(test, nn, NATK_T_INT, 40000)->eaddr;
	for (i = 1; i < 10; i++)
		natk_pool_flow(test, nn, NATK_T_INT, 40000 + i);
	natk_pool_flow_refused(test, nn, NATK_T_INT, 40010);
	KUNIT_EXPECT_EQ(test,
			atomic_long_read(&natk_addr_use(nn, a)->exhausted[1]),
			1L);
	/* The other host is on the other address, which has all its ports. */
	for (i = 0; i < 10; i++) {
		f = natk_pool_flow(test, nn, NATK_T_INT2, 40000 + i);
		KUNIT_EXPECT_NE(test, f->eaddr, a);
	}
	KUNIT_EXPECT_EQ(test, natk_test_stat(nn, NATK_STAT_PORT_ALLOCATION_ERRORS),
			1ULL);
}

/*
 * An address leaves the pool: its flows (and held ports) go, the other's
 * stay, and its hosts are paired again with their next flow.
 */
static void natk_ports_pool_sweep(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_flow *f, *g;
	struct natk_okey k;

	natk_test_pool(nn, natk_two, 2);
	natk_test_cfg(nn)->port_hold = 60 * HZ;
	f = natk_pool_flow(test, nn, NATK_T_INT, 40000);
	g = natk_pool_flow(test, nn, NATK_T_INT2, 40000);
	KUNIT_ASSERT_EQ(test, f->eaddr, NATK_T_EXT);
	KUNIT_ASSERT_EQ(test, g->eaddr, NATK_T_EXT2);
	k = g->okey;
	natk_test_pool(nn, natk_two, 1);
	natk_test_sweep(nn);
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nflows), 1);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, natk_flow_lookup_out(nn, &f->okey), f);
	KUNIT_EXPECT_NULL(test, natk_flow_lookup_out(nn, &k));
	rcu_read_unlock();
	/* Its port is not held: nothing is on that address any more. */
	KUNIT_EXPECT_EQ(test, atomic_read(&nn->nheld), 0);
	KUNIT_EXPECT_EQ(test,
			atomic_read(&natk_addr_use(nn, NATK_T_EXT2)->ports[1]), 0);
	g = natk_pool_flow(test, nn, NATK_T_INT2, 40000);
	KUNIT_EXPECT_EQ(test, g->eaddr, NATK_T_EXT);
}

/* Port blocks of @size ports, @limit a host (block maps claimed). */
static void natk_blocks_setup(struct natk_net *nn, u16 size, u16 limit)
{
	struct natk_cfg *cfg = natk_test_cfg(nn);

	cfg->port_block = size;
	cfg->blocks_per_host = limit;
	mutex_lock(&nn->lock);
	natk_pool_claim(nn, cfg);
	mutex_unlock(&nn->lock);
}

/* The first port of the block of @port (blocks from 10000 up). */
static u16 natk_block_of(__be16 port, u16 size)
{
	return ntohs(port) - (ntohs(port) - 10000) % size;
}

/*
 * Port blocks (RFC 7422): a host's mappings take ports in its block, its
 * parity first; a full block brings another; past its limit, nothing.
 * Another host gets a block of its own; a host's blocks go with it.
 */
static void natk_ports_blocks(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	struct natk_addr_use *use = natk_addr_use(nn, NATK_T_EXT);
	u16 b1, b2, b3, p;
	struct natk_flow *f;
	int i;

	natk_range(nn, 10000, 10999);
	natk_blocks_setup(nn, 16, 2);
	KUNIT_ASSERT_NOT_NULL(test, use->blockmap);
	f = natk_pool_flow(test, nn, NATK_T_INT, 40001);
	b1 = natk_block_of(f->eport, 16);
	for (i = 1; i < 16; i++) {
		f = natk_pool_flow(test, nn, NATK_T_INT, 40001 + 2 * i);
		p = ntohs(f->eport);
		KUNIT_EXPECT_EQ(test, natk_block_of(f->eport, 16), b1);
		/* The block's 8 odd ports first: the internal port's parity. */
		if (i < 8)
			KUNIT_EXPECT_EQ(test, p & 1, 1);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&use->blocks), 1);
	/* Full: a second block, another one. */
	f = natk_pool_flow(test, nn, NATK_T_INT, 41001);
	b2 = natk_block_of(f->eport, 16);
	KUNIT_EXPECT_NE(test, b2, b1);
	for (i = 1; i < 16; i++) {
		f = natk_pool_flow(test, nn, NATK_T_INT, 41001 + 2 * i);
		KUNIT_EXPECT_EQ(test, natk_block_of(f->eport, 16), b2);
	}
	/* Two blocks full, the limit is two: dropped. */
	natk_pool_flow_refused(test, nn, NATK_T_INT, 42001);
	/* Another host: its own block, neither of the first host's. */
	f = natk_pool_flow(test, nn, NATK_T_INT2, 40001);
	b3 = natk_block_of(f->eport, 16);
	KUNIT_EXPECT_NE(test, b3, b1);
	KUNIT_EXPECT_NE(test, b3, b2);
	KUNIT_EXPECT_EQ(test, atomic_read(&use->blocks), 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&use->ports[1]), 33);
	/* The hosts go with their flows, and their blocks with them. */
	mutex_lock(&nn->lock);
	natk_flush(nn, NATK_REASON_FLUSH);
	mutex_unlock(&nn->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&use->blocks), 0);
	KUNIT_EXPECT_EQ(test, bitmap_weight(use->blockmap, NATK_BLOCK_BITS), 0U);
}

/* Blocks are chosen at random: two hosts' first blocks spread out. */
static void natk_ports_blocks_random(struct kunit *test)
{
	struct natk_net *nn = natk_test_net(test);
	DECLARE_BITMAP(seen, 62) = {};
	struct natk_flow *f;
	int i;

	natk_range(nn, 10000, 10999);
	natk_blocks_setup(nn, 16, 1);
	for (i = 0; i < 20; i++) {
		f = natk_pool_flow(test, nn, htonl(0x0a000100 + i), 40000);
		set_bit((natk_block_of(f->eport, 16) - 10000) / 16, seen);
	}
	/* Twenty hosts, twenty blocks, not the first twenty in order. */
	KUNIT_EXPECT_EQ(test, bitmap_weight(seen, 62), 20U);
	KUNIT_EXPECT_NE(test, find_first_zero_bit(seen, 62), 20UL);
}

static struct kunit_case natk_ports_cases[] = {
	KUNIT_CASE(natk_ports_preserved),
	KUNIT_CASE(natk_ports_collision),
	KUNIT_CASE(natk_ports_range_edges),
	KUNIT_CASE(natk_ports_small_range_complete),
	KUNIT_CASE(natk_ports_privileged),
	KUNIT_CASE(natk_ports_exhaustion),
	KUNIT_CASE(natk_ports_exhaustion_bounded),
	KUNIT_CASE(natk_ports_dense_stretch),
	KUNIT_CASE(natk_ports_map_skips_taken),
	KUNIT_CASE(natk_ports_small_range_offers),
	KUNIT_CASE(natk_ports_local_socket),
	KUNIT_CASE(natk_ports_forward_reserved),
	KUNIT_CASE(natk_ports_parity),
	KUNIT_CASE(natk_ports_hold),
	KUNIT_CASE(natk_ports_hold_recheck),
	KUNIT_CASE(natk_ports_hold_capped),
	KUNIT_CASE(natk_ports_hold_forward),
	KUNIT_CASE(natk_map_publish_window),
	KUNIT_CASE(natk_ports_forwards_same_endpoint),
	KUNIT_CASE(natk_ports_fwds_replace),
	KUNIT_CASE(natk_ports_fwds_replace_refused),
	KUNIT_CASE(natk_ports_exhaustion_throttled),
	KUNIT_CASE(natk_ports_wanted),
	KUNIT_CASE(natk_ports_flow_import),
	KUNIT_CASE(natk_ports_flow_import_seen),
	KUNIT_CASE(natk_ports_flow_import_standby),
	KUNIT_CASE(natk_ports_paired),
	KUNIT_CASE(natk_ports_pool_exhaustion),
	KUNIT_CASE(natk_ports_pool_sweep),
	KUNIT_CASE(natk_ports_blocks),
	KUNIT_CASE(natk_ports_blocks_random),
	{}
};

static struct kunit_suite natk_ports_suite = {
	.name = "natk_ports",
	.test_cases = natk_ports_cases,
};

kunit_test_suite(natk_ports_suite);
