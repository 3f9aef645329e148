// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl stats -o prometheus | cloudwatch-emf: natk's counters in the
 * formats monitoring systems already collect.
 *
 * prometheus: the text exposition format as node_exporter's textfile
 *   collector reads it (no timestamps): every counter of NATK_CMD_GET_STATS
 *   as natk_NAME_total, the drop reasons as natk_drops_total{reason=...},
 *   and gauges for the flows, the table's capacity, the port pools and the
 *   held ports, and per external address (natk_pool_*) its hosts, ports in
 *   use and exhaustion counts. With "file PATH" it is written to a temporary file in
 *   PATH's directory and renamed over PATH, so a reader never sees half a
 *   file.
 *
 * cloudwatch-emf: CloudWatch embedded metric format, one JSON object per
 *   line and interval, with AWS NAT Gateway's metric names. CloudWatch
 *   sums what the events carry, so the counters are sent as the increase
 *   over the interval, not as totals; the peaks per second come from
 *   sampling the counters once a second during the interval.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "natkctl.h"
#include "metrics.h"

enum mx_format { MX_TEXT, MX_JSON, MX_PROMETHEUS, MX_EMF };

static const char *const mx_format_names[] = {
	[MX_TEXT] = "text",
	[MX_JSON] = "json",
	[MX_PROMETHEUS] = "prometheus",
	[MX_EMF] = "cloudwatch-emf",
};

/* The protocols of the port pools, in label order. */
enum { MX_TCP, MX_UDP, MX_ICMP, MX_NPROTO };
static const char *const mx_proto_names[MX_NPROTO] = { "tcp", "udp", "icmp" };

static int mx_proto_index(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:	return MX_TCP;
	case IPPROTO_UDP:	return MX_UDP;
	case IPPROTO_ICMP:	return MX_ICMP;
	default:		return -1;
	}
}

/* ---------------------------------------------------------------- data */

/*
 * The counters, with the Prometheus name (natk_NAME_total), its help and
 * the NAT Gateway metric it stands for (NULL: none). Drop reasons are
 * natk_drops_total{reason=...} instead; ACTIVE_CONNECTIONS is a gauge.
 */
struct mx_counter {
	int stat;
	const char *name;
	const char *help;
	const char *emf;	/* CloudWatch name */
	const char *unit;	/* CloudWatch unit */
};

static const struct mx_counter mx_counters[] = {
	{ NATK_STAT_CONNECTION_ATTEMPTS, "connection_attempts",
	  "Flows created (TCP: by a SYN; UDP and ICMP: by their first packet).",
	  "ConnectionAttemptCount", "Count" },
	{ NATK_STAT_CONNECTIONS_ESTABLISHED, "connections_established",
	  "TCP handshakes completed through natk.",
	  "ConnectionEstablishedCount", "Count" },
	{ NATK_STAT_IDLE_TIMEOUTS, "idle_timeouts",
	  "Flows freed by their idle timeout.",
	  "IdleTimeoutCount", "Count" },
	{ NATK_STAT_PORT_ALLOCATION_ERRORS, "port_allocation_errors",
	  "New flows that found no free external port.",
	  "ErrorPortAllocation", "Count" },
	{ NATK_STAT_PACKETS_IN_FROM_SOURCE, "packets_in_from_source",
	  "Packets received from internal hosts.",
	  "PacketsInFromSource", "Count" },
	{ NATK_STAT_BYTES_IN_FROM_SOURCE, "bytes_in_from_source",
	  "Bytes (IP packets) received from internal hosts.",
	  "BytesInFromSource", "Bytes" },
	{ NATK_STAT_PACKETS_OUT_TO_DESTINATION, "packets_out_to_destination",
	  "Packets sent, translated, out of the external interface.",
	  "PacketsOutToDestination", "Count" },
	{ NATK_STAT_BYTES_OUT_TO_DESTINATION, "bytes_out_to_destination",
	  "Bytes sent, translated, out of the external interface.",
	  "BytesOutToDestination", "Bytes" },
	{ NATK_STAT_PACKETS_IN_FROM_DESTINATION, "packets_in_from_destination",
	  "Packets received from outside for a flow.",
	  "PacketsInFromDestination", "Count" },
	{ NATK_STAT_BYTES_IN_FROM_DESTINATION, "bytes_in_from_destination",
	  "Bytes received from outside for a flow.",
	  "BytesInFromDestination", "Bytes" },
	{ NATK_STAT_PACKETS_OUT_TO_SOURCE, "packets_out_to_source",
	  "Packets sent, translated back, to internal hosts.",
	  "PacketsOutToSource", "Count" },
	{ NATK_STAT_BYTES_OUT_TO_SOURCE, "bytes_out_to_source",
	  "Bytes sent, translated back, to internal hosts.",
	  "BytesOutToSource", "Bytes" },
	{ NATK_STAT_PACKETS_DROPPED, "packets_dropped",
	  "Packets natk dropped, all reasons (natk_drops_total by reason).",
	  "PacketsDropCount", "Count" },
	{ NATK_STAT_ICMP_ERRORS_TRANSLATED, "icmp_errors_translated",
	  "ICMP errors about a flow, translated.", NULL, NULL },
	{ NATK_STAT_FLOWS_EVICTED, "flows_evicted",
	  "Flows evicted to make room in a full table.", NULL, NULL },
	{ NATK_STAT_EVENTS_LOST, "events_lost",
	  "Flow events (natkctl monitor) that could not be sent.", NULL, NULL },
	{ NATK_STAT_PASSED_NO_FLOW, "passed_no_flow",
	  "Inbound packets for the host itself, not for natk.", NULL, NULL },
	{ NATK_STAT_HAIRPINNED, "hairpinned",
	  "Packets from an internal host to the external address, turned back in.",
	  NULL, NULL },
	{ NATK_STAT_FASTPATH_PACKETS, "fastpath_packets",
	  "Packets the fast path translated and sent (also in the counters above).",
	  NULL, NULL },
	{ NATK_STAT_FASTPATH_INGRESS, "fastpath_ingress",
	  "Of the fast path's packets, those sent from a netdev ingress hook.",
	  NULL, NULL },
	{ NATK_STAT_FASTPATH_BRIDGE, "fastpath_bridge",
	  "Of those, packets taken at a bridge's port, before the bridge.",
	  NULL, NULL },
	{ NATK_STAT_FASTPATH_ROUTES, "fastpath_routes",
	  "Routes the fast path looked up for its flows.", NULL, NULL },
	{ NATK_STAT_PASSED_OUT_OF_SCOPE, "passed_out_of_scope",
	  "Packets left untranslated: source outside the internal prefixes, "
	  "or destination in the no-nat prefixes.", NULL, NULL },
	{ NATK_STAT_MAP_EVENTS_LOST, "map_events_lost",
	  "Mapping log events (natkctl log) that could not be sent.",
	  NULL, NULL },
};

/* natk_drops_total{reason=...}: the reason is the counter without drop_. */
static const struct { int stat; const char *reason; } mx_drops[] = {
	{ NATK_STAT_DROP_TABLE_FULL,	"table_full" },
	{ NATK_STAT_DROP_NO_PORT,	"no_port" },
	{ NATK_STAT_DROP_INVALID,	"invalid" },
	{ NATK_STAT_DROP_UNSOLICITED,	"unsolicited" },
	{ NATK_STAT_DROP_NO_MEMORY,	"no_memory" },
	{ NATK_STAT_DROP_HOST_LIMIT,	"host_limit" },
	{ NATK_STAT_DROP_BAD_CHECKSUM,	"bad_checksum" },
	{ NATK_STAT_DROP_NO_FLOW,	"no_flow" },
	{ NATK_STAT_DROP_FRAGMENT,	"fragment" },
	{ NATK_STAT_DROP_ICMP_RATELIMIT, "icmp_ratelimit" },
};

/* What the flow table says about flows and ports, from one dump. */
struct mx_census {
	bool ok;			/* the dump was read */
	uint32_t flows[MX_NPROTO];
	uint32_t pool[MX_NPROTO];	/* ports in the pool */
	uint32_t used[MX_NPROTO];	/* of them in use */
};

struct mx_sample {
	uint64_t v[NATK_STAT_MAX + 1];
	struct natk_status st;
	struct mx_census c;
};

/* ------------------------------------------------------------- census */

/* An external port in use towards one remote endpoint (for sorting). */
struct mx_use {
	uint64_t remote;	/* proto << 48 | address << 16 | port */
	uint16_t port;
};

struct mx_dump {
	struct mx_census *c;
	const struct natk_status *st;
	bool per_remote;	/* address-port-dependent mapping */
	uint8_t *bitmap[MX_NPROTO];	/* 65536 bits each */
	struct mx_use *use;
	size_t nuse, capuse;
};

/*
 * The pool a flow's external port was taken from, as the kernel chooses
 * it (natk_port_range): ICMP identifiers 0-65535; TCP and UDP the
 * configured range. Internal ports below 1024 map below 1024, a pool of
 * their own that is not counted here.
 */
static void mx_pool(const struct natk_status *st, int p, uint32_t *lo,
		    uint32_t *hi)
{
	if (p == MX_ICMP) {
		*lo = 0;
		*hi = 65535;
	} else {
		*lo = st->port_min;
		*hi = st->port_max;
	}
}

static void mx_census_add(struct mx_dump *d, const struct flow *f)
{
	int p = mx_proto_index(f->proto);
	uint32_t lo, hi;

	if (p < 0)
		return;
	d->c->flows[p]++;
	mx_pool(d->st, p, &lo, &hi);
	if (f->ext_port < lo || f->ext_port > hi)
		return;
	if (!d->per_remote) {
		d->bitmap[p][f->ext_port / 8] |= (uint8_t)(1u << (f->ext_port % 8));
		return;
	}
	d->use = grow_array(d->use, &d->capuse, d->nuse, sizeof(*d->use), 4096);
	d->use[d->nuse].remote = (uint64_t)f->proto << 48 |
				 (uint64_t)ntohl(f->rem_addr) << 16 | f->rem_port;
	d->use[d->nuse++].port = f->ext_port;
}

static int mx_use_cmp(const void *a, const void *b)
{
	const struct mx_use *x = a, *y = b;

	if (x->remote != y->remote)
		return x->remote < y->remote ? -1 : 1;
	return (int)x->port - (int)y->port;
}

/*
 * Ports in use per pool. With endpoint-independent mapping a port is used
 * by one mapping for every remote: the ports with a flow. With
 * address-port-dependent mapping a port is reused towards each remote
 * endpoint, so a pool runs out towards one remote: the most ports any
 * one remote endpoint holds.
 */
static void mx_census_finish(struct mx_dump *d)
{
	for (int p = 0; p < MX_NPROTO; p++) {
		uint32_t lo, hi;

		mx_pool(d->st, p, &lo, &hi);
		d->c->pool[p] = hi >= lo ? hi - lo + 1 : 0;
		d->c->used[p] = 0;
		if (!d->per_remote)
			for (uint32_t i = 0; i < 65536 / 8; i++)
				d->c->used[p] += (uint32_t)__builtin_popcount(d->bitmap[p][i]);
	}
	if (d->per_remote && d->nuse) {
		uint32_t run = 0;

		qsort(d->use, d->nuse, sizeof(*d->use), mx_use_cmp);
		for (size_t i = 0; i < d->nuse; i++) {
			int p = mx_proto_index((uint8_t)(d->use[i].remote >> 48));

			if (i && d->use[i].remote == d->use[i - 1].remote) {
				if (d->use[i].port != d->use[i - 1].port)
					run++;
			} else {
				run = 1;
			}
			if (p >= 0 && run > d->c->used[p])
				d->c->used[p] = run;
		}
	}
	d->c->ok = true;
}

static int mx_flows_cb(struct nl_msg *msg, void *arg)
{
	struct mx_dump *d = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *a;
	struct flow f;
	int rem;

	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		if (nla_type(a) == NATK_A_FLOW && flow_parse(a, &f))
			mx_census_add(d, &f);
	}
	return NL_OK;
}

/* One dump of the flow table (CAP_NET_ADMIN); c->ok stays false on EPERM. */
static void mx_census_get(struct mx_census *c, const struct natk_status *st)
{
	struct mx_dump d = { .c = c, .st = st };
	bool intr = true;
	int err = 0;

	d.per_remote = st->mapping == NATK_MAPPING_ADDRESS_PORT_DEPENDENT;
	for (int p = 0; p < MX_NPROTO; p++) {
		d.bitmap[p] = malloc(65536 / 8);
		if (!d.bitmap[p])
			fail("out of memory");
	}
	nk_set_rcvbuf(4 << 20);
	for (int try = 0; try < 5 && intr; try++) {
		memset(c, 0, sizeof(*c));
		for (int p = 0; p < MX_NPROTO; p++)
			memset(d.bitmap[p], 0, 65536 / 8);
		d.nuse = 0;
		err = nk_request(nk_msg(NATK_CMD_GET_FLOWS, NLM_F_DUMP),
				 mx_flows_cb, &d, &intr);
		if (err)
			break;
	}
	if (err == -EPERM || err == -EACCES)
		memset(c, 0, sizeof(*c));
	else if (err)
		nk_fail("stats: flows", err);
	else if (intr)
		fail("stats: the flow table kept changing during the dump; try again");
	else
		mx_census_finish(&d);
	for (int p = 0; p < MX_NPROTO; p++)
		free(d.bitmap[p]);
	free(d.use);
}

static void mx_sample_get(struct mx_sample *s, bool census)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = stats_get(s->v);
	if (err == -ENODATA)
		fail("stats: the kernel sent no counters");
	if (err)
		nk_fail("stats", err);
	err = status_get(&s->st);
	if (err)
		nk_fail("stats: status", err);
	if (census)
		mx_census_get(&s->c, &s->st);
}

/* --------------------------------------------------------- prometheus */

static void prom_head(FILE *f, const char *name, const char *type,
		      const char *help)
{
	fprintf(f, "# HELP natk_%s %s\n# TYPE natk_%s %s\n", name, help, name,
		type);
}

static void prom_gauge(FILE *f, const char *name, const char *help,
		       uint64_t v)
{
	prom_head(f, name, "gauge", help);
	fprintf(f, "natk_%s %llu\n", name, (unsigned long long)v);
}

/* Not loaded: say so, and nothing else (a scrape must not load it). */
static void prom_write_unloaded(FILE *f)
{
	prom_gauge(f, "loaded", "1 if the natk module is loaded.", 0);
}

/* Blocks of an address: whole blocks in the port range (natk's
 * kmod/blocks.c caps them at 8192, its bitmap). */
static uint32_t mx_block_capacity(const struct natk_status *st)
{
	uint32_t n;

	if (!st->port_block || st->port_max < st->port_min)
		return 0;
	n = ((uint32_t)st->port_max - st->port_min + 1) / st->port_block;
	return n < 8192 ? n : 8192;
}

/*
 * The external addresses (natkctl set addresses), from a module that
 * reports them: how many, and each one's paired hosts, ports in use and
 * exhaustion counts. An address that leaves the pool leaves its series.
 */
static void prom_write_pool(FILE *f, const struct natk_status *st)
{
	const struct natk_pool_addr *pa;
	char a[INET_ADDRSTRLEN];
	unsigned int i;
	int p;

	if (status_has(st, NATK_A_PORT_BLOCK)) {
		prom_gauge(f, "port_block_ports",
			   "Ports in a port block (natkctl set port-block; 0: off).",
			   st->port_block);
		prom_gauge(f, "port_block_capacity",
			   "Port blocks each external address has: the port range divided by the block size (0 while blocks are off).",
			   mx_block_capacity(st));
		if (status_has(st, NATK_A_PORT_BLOCKS_PER_HOST))
			prom_gauge(f, "port_blocks_per_host",
				   "Port blocks one internal host may hold (natkctl set port-blocks-per-host).",
				   st->port_blocks_per_host);
	}
	prom_gauge(f, "pool_addresses",
		   "External addresses natk masquerades behind now (the pool; natkctl set addresses).",
		   st->npool);
	if (!st->npool)
		return;
	/* Hosts are counted only while natk keeps an object per host. */
	if (st->pool[0].has_hosts)
		prom_head(f, "pool_hosts", "gauge",
			  "Internal hosts paired with each external address: each host's mappings use one address (RFC 4787 paired pooling).");
	for (i = 0; i < st->npool; i++) {
		pa = &st->pool[i];
		if (!pa->has_hosts)
			continue;
		inet_ntop(AF_INET, &pa->addr_be, a, sizeof(a));
		fprintf(f, "natk_pool_hosts{address=\"%s\"} %u\n", a, pa->hosts);
	}
	prom_head(f, "pool_used_ports", "gauge",
		  "External ports (ICMP: identifiers) of each external address that endpoint-independent mappings hold, held ports included, by protocol.");
	for (i = 0; i < st->npool; i++) {
		pa = &st->pool[i];
		inet_ntop(AF_INET, &pa->addr_be, a, sizeof(a));
		for (p = 0; p < POOL_NPROTO; p++)
			fprintf(f, "natk_pool_used_ports{address=\"%s\",proto=\"%s\"} %u\n",
				a, pool_proto_names[p], pa->ports[p]);
	}
	/* Port blocks (natkctl set port-block), from a module that has them. */
	if (status_has(st, NATK_A_PORT_BLOCK)) {
		prom_head(f, "pool_blocks", "gauge",
			  "Port blocks of each external address given to internal hosts now (0 while port blocks are off).");
		for (i = 0; i < st->npool; i++) {
			pa = &st->pool[i];
			inet_ntop(AF_INET, &pa->addr_be, a, sizeof(a));
			fprintf(f, "natk_pool_blocks{address=\"%s\"} %u\n", a,
				pa->blocks);
		}
	}
	prom_head(f, "pool_port_exhausted_total", "counter",
		  "New flows dropped because their external address had no free port, by address and protocol (also in natk_port_allocation_errors_total).");
	for (i = 0; i < st->npool; i++) {
		pa = &st->pool[i];
		inet_ntop(AF_INET, &pa->addr_be, a, sizeof(a));
		for (p = 0; p < POOL_NPROTO; p++)
			fprintf(f, "natk_pool_port_exhausted_total{address=\"%s\",proto=\"%s\"} %llu\n",
				a, pool_proto_names[p],
				(unsigned long long)pa->exhausted[p]);
	}
}

static void prom_write(FILE *f, const struct mx_sample *s)
{
	const struct mx_census *c = &s->c;
	char name[96], help[256];
	size_t i;
	int p;

	prom_gauge(f, "loaded", "1 if the natk module is loaded.", 1);
	prom_gauge(f, "enabled",
		   "1 if natk masquerades in this network namespace.",
		   s->st.state == NATK_STATE_ACTIVE);
	for (i = 0; i < ARRAY_SIZE(mx_counters); i++) {
		const struct mx_counter *m = &mx_counters[i];

		snprintf(name, sizeof(name), "%s_total", m->name);
		if (m->emf)
			snprintf(help, sizeof(help), "%s NAT Gateway: %s.",
				 m->help, m->emf);
		else
			snprintf(help, sizeof(help), "%s", m->help);
		prom_head(f, name, "counter", help);
		fprintf(f, "natk_%s %llu\n", name,
			(unsigned long long)s->v[m->stat]);
	}
	prom_head(f, "drops_total", "counter",
		  "Packets natk dropped, by reason (natkctl(8), COUNTERS).");
	for (i = 0; i < ARRAY_SIZE(mx_drops); i++)
		fprintf(f, "natk_drops_total{reason=\"%s\"} %llu\n",
			mx_drops[i].reason,
			(unsigned long long)s->v[mx_drops[i].stat]);

	prom_gauge(f, "active_connections",
		   "Flows in the table now, all protocols. NAT Gateway: ActiveConnectionCount (TCP only).",
		   s->v[NATK_STAT_ACTIVE_CONNECTIONS]);
	prom_gauge(f, "flows_max", "Flow table capacity (max-flows).",
		   s->st.max_flows);
	prom_gauge(f, "ports_held",
		   "External ports held after their last flow ended (port-hold), all protocols.",
		   s->st.ports_held);
	if (!c->ok) {
		fputs("# natk: the flow table needs CAP_NET_ADMIN to read: natk_flows and natk_port_pool_used_ports left out\n",
		      f);
	} else {
		prom_head(f, "flows", "gauge", "Flows in the table now, by protocol.");
		for (p = 0; p < MX_NPROTO; p++)
			fprintf(f, "natk_flows{proto=\"%s\"} %u\n",
				mx_proto_names[p], c->flows[p]);
	}
	prom_head(f, "port_pool_ports", "gauge",
		  "External ports (ICMP: identifiers) new mappings are taken from, by protocol.");
	for (p = 0; p < MX_NPROTO; p++) {
		uint32_t lo, hi;

		mx_pool(&s->st, p, &lo, &hi);
		fprintf(f, "natk_port_pool_ports{proto=\"%s\"} %u\n",
			mx_proto_names[p], hi >= lo ? hi - lo + 1 : 0);
	}
	if (c->ok) {
		prom_head(f, "port_pool_used_ports", "gauge",
			  s->st.mapping == NATK_MAPPING_ADDRESS_PORT_DEPENDENT ?
			  "Ports of the pool in use towards the busiest remote endpoint (address-port-dependent mapping), by protocol." :
			  "Ports of the pool with at least one flow, by protocol.");
		for (p = 0; p < MX_NPROTO; p++)
			fprintf(f, "natk_port_pool_used_ports{proto=\"%s\"} %u\n",
				mx_proto_names[p], c->used[p]);
	}
	if (status_has(&s->st, NATK_A_POOL))
		prom_write_pool(f, &s->st);
}

static void prom_fill(FILE *f, const void *arg)
{
	if (arg)
		prom_write(f, arg);
	else
		prom_write_unloaded(f);
}

/* Readers (node_exporter) never see a partial file. */
static void prom_write_file(const char *path, const struct mx_sample *s)
{
	file_write_atomic("stats", path, prom_fill, s);
}

/* ------------------------------------------------------ cloudwatch-emf */

struct mx_emf {
	const char *namespace;
	char host[256];
	const char *ifname;
};

/* The counters of an interval: the increase from a to b. */
static uint64_t mx_delta(const struct mx_sample *a, const struct mx_sample *b,
			 int stat)
{
	return b->v[stat] >= a->v[stat] ? b->v[stat] - a->v[stat] : 0;
}

static uint64_t mx_bytes(const uint64_t *v)
{
	return v[NATK_STAT_BYTES_IN_FROM_SOURCE] +
	       v[NATK_STAT_BYTES_IN_FROM_DESTINATION];
}

static uint64_t mx_packets(const uint64_t *v)
{
	return v[NATK_STAT_PACKETS_IN_FROM_SOURCE] +
	       v[NATK_STAT_PACKETS_IN_FROM_DESTINATION];
}

static void emf_metric(const char *name, const char *unit)
{
	print_open_object(NULL);
	print_string(PRINT_JSON, "Name", NULL, name);
	print_string(PRINT_JSON, "Unit", NULL, unit);
	print_close_object();
}

/*
 * One EMF line for the interval from a to b. ActiveConnectionCount is a
 * gauge (TCP flows at the end; left out without the flow table), the
 * rest are the increase over the interval; the peaks are the largest
 * one-second rates seen, bytes and packets received from either side.
 */
static void emf_print(const struct mx_emf *e, const struct mx_sample *a,
		      const struct mx_sample *b, uint64_t peak_bytes,
		      uint64_t peak_packets, uint64_t when_ms)
{
	size_t i;

	print_open_object(NULL);
	print_open_object("_aws");
	print_u64(PRINT_JSON, "Timestamp", NULL, when_ms);
	print_open_array("CloudWatchMetrics");
	print_open_object(NULL);
	print_string(PRINT_JSON, "Namespace", NULL, e->namespace);
	print_open_array("Dimensions");
	print_open_array(NULL);
	print_string(PRINT_JSON, NULL, NULL, "Host");
	print_close_array();
	print_close_array();
	print_open_array("Metrics");
	if (b->c.ok)
		emf_metric("ActiveConnectionCount", "Count");
	for (i = 0; i < ARRAY_SIZE(mx_counters); i++)
		if (mx_counters[i].emf)
			emf_metric(mx_counters[i].emf, mx_counters[i].unit);
	emf_metric("PeakBytesPerSecond", "Bytes/Second");
	emf_metric("PeakPacketsPerSecond", "Count/Second");
	print_close_array();
	print_close_object();
	print_close_array();
	print_close_object();

	print_string(PRINT_JSON, "Host", NULL, e->host);
	if (e->ifname && e->ifname[0])
		print_string(PRINT_JSON, "ExternalInterface", NULL, e->ifname);
	if (b->c.ok)
		print_u64(PRINT_JSON, "ActiveConnectionCount", NULL,
			  b->c.flows[MX_TCP]);
	for (i = 0; i < ARRAY_SIZE(mx_counters); i++)
		if (mx_counters[i].emf)
			print_u64(PRINT_JSON, mx_counters[i].emf, NULL,
				  mx_delta(a, b, mx_counters[i].stat));
	print_u64(PRINT_JSON, "PeakBytesPerSecond", NULL, peak_bytes);
	print_u64(PRINT_JSON, "PeakPacketsPerSecond", NULL, peak_packets);
	print_close_object();
	print_end();
}

static volatile sig_atomic_t mx_stop;

static void mx_on_signal(int sig)
{
	(void)sig;
	mx_stop = 1;
}

static double mx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until t (monotonic seconds) or a signal. */
static void mx_sleep_until(double t)
{
	double d = t - mx_now();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);	/* EINTR: the caller checks mx_stop */
}

static int emf_run(struct mx_emf *e, uint32_t interval, uint64_t count)
{
	struct mx_sample *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct sigaction sa = {};
	uint64_t lines = 0;
	double start, tick;

	if (!a || !b)
		fail("out of memory");
	sa.sa_handler = mx_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (gethostname(e->host, sizeof(e->host) - 1) < 0)
		snprintf(e->host, sizeof(e->host), "unknown");

	mx_sample_get(a, false);
	start = tick = mx_now();
	while (!mx_stop && (!count || lines < count)) {
		uint64_t peak_b = 0, peak_p = 0, prev_b = mx_bytes(a->v),
			 prev_p = mx_packets(a->v);
		double prev_t = start, end = start + interval;
		struct mx_sample *t;
		struct timespec now;

		/* a sample each second: the peaks */
		while (!mx_stop) {
			double dt;

			tick += 1;
			if (tick > end)
				tick = end;
			mx_sleep_until(tick);
			if (mx_stop)
				break;
			mx_sample_get(b, tick >= end);
			dt = mx_now() - prev_t;
			/* counters start again at 0 when natk is reloaded */
			if (mx_bytes(b->v) < prev_b || mx_packets(b->v) < prev_p)
				dt = 0;
			if (dt > 0) {
				uint64_t rb = (uint64_t)((double)(mx_bytes(b->v) - prev_b) / dt + 0.5);
				uint64_t rp = (uint64_t)((double)(mx_packets(b->v) - prev_p) / dt + 0.5);

				if (rb > peak_b)
					peak_b = rb;
				if (rp > peak_p)
					peak_p = rp;
			}
			prev_b = mx_bytes(b->v);
			prev_p = mx_packets(b->v);
			prev_t = mx_now();
			if (tick >= end)
				break;
		}
		if (mx_stop)
			break;
		clock_gettime(CLOCK_REALTIME, &now);
		e->ifname = b->st.enabled ? b->st.ifname : NULL;
		emf_print(e, a, b, peak_b, peak_p,
			  (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
		print_flush();
		if (ferror(stdout))
			break;
		lines++;
		t = a;
		a = b;
		b = t;
		start = end;
		tick = end;
	}
	free(a);
	free(b);
	return 0;
}

/* ---------------------------------------------------------- the command */

int stats_output(int argc, char **argv)
{
	static const char *const kw[] = { "-o", "file", "interval", "count",
					  "namespace" };
	int format = MX_TEXT, i;
	const char *file = NULL;
	uint32_t interval = 60, n32;
	uint64_t count = 0;
	bool have_interval = false, have_count = false, have_ns = false;
	struct mx_emf e = { .namespace = "natk" };

	while (argc > 0) {
		if (!strcmp(argv[0], "--output"))
			i = 0;
		else
			i = match_word(argv[0], kw, ARRAY_SIZE(kw), false);
		if (i < 0)
			usage_fail("stats", "unknown argument '%s'", argv[0]);
		if (argc < 2)
			usage_fail("stats", "'%s' needs a value", argv[0]);
		switch (i) {
		case 0:
			format = match_word(argv[1], mx_format_names,
					    ARRAY_SIZE(mx_format_names), true);
			if (format < 0)
				usage_fail("stats", "unknown output format '%s' (text, json, prometheus or cloudwatch-emf)",
					   argv[1]);
			break;
		case 1:
			file = argv[1];
			if (!*file)
				usage_fail("stats", "empty file name");
			break;
		case 2:
			if (!parse_seconds_range(argv[1], 1, 86400, &interval))
				usage_fail("stats", "invalid interval '%s' (1s to 1d)",
					   argv[1]);
			have_interval = true;
			break;
		case 3:
			if (!parse_u32(argv[1], 1, UINT32_MAX, &n32))
				usage_fail("stats", "count needs a number (1 or more)");
			count = n32;
			have_count = true;
			break;
		case 4:
			e.namespace = argv[1];
			have_ns = true;
			if (!*argv[1] || strlen(argv[1]) > 255)
				usage_fail("stats", "invalid namespace '%s' (1 to 255 characters)",
					   argv[1]);
			break;
		}
		argc -= 2;
		argv += 2;
	}
	if (file && format != MX_PROMETHEUS)
		usage_fail("stats", "'file' is for -o prometheus");
	if ((have_interval || have_count || have_ns) && format != MX_EMF)
		usage_fail("stats", "'interval', 'count' and 'namespace' are for -o cloudwatch-emf");
	if (print_is_json() && format != MX_JSON && format != MX_TEXT)
		usage_fail("stats", "-j and -o %s do not go together",
			   mx_format_names[format]);

	switch (format) {
	case MX_TEXT:
	case MX_JSON:
		print_init(format == MX_JSON || print_is_json(), false);
		return cmd_stats(0, NULL);
	case MX_PROMETHEUS: {
		struct mx_sample *s;

		/* A scrape must not autoload the module: look first. */
		if (!nk_module_loaded()) {
			if (file)
				prom_write_file(file, NULL);
			else
				prom_write_unloaded(stdout);
			return 0;
		}
		s = calloc(1, sizeof(*s));
		if (!s)
			fail("out of memory");
		mx_sample_get(s, true);
		if (file)
			prom_write_file(file, s);
		else
			prom_write(stdout, s);
		free(s);
		return 0;
	}
	case MX_EMF:
		print_init(true, false);
		return emf_run(&e, interval, count);
	}
	return 1;
}
