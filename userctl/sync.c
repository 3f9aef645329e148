// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl sync: flow state for an HA pair (natkctl(8), SYNC; docs/ha.md).
 *
 *   sync run [config FILE] [peer A[:P]] [listen A[:P]] [key-file F] [socket S]
 *   sync status | flows | commit | resync [socket S]
 *   sync genkey
 *
 * The daemon (sync run) hears natk's flow events and ships every create,
 * update and delete to the peer, and keeps the peer's flows in memory,
 * as conntrackd's external cache does: the standby's natk holds none of
 * them (it has no external address, keepalived has not given it one)
 * until it becomes master. Then the daemon imports them (NATK_CMD_FLOW_ADD,
 * the import of flows restore): by itself the moment natk becomes active,
 * and on `sync commit` from keepalived's notify script.
 *
 * Delivery is reliable, in the manner of conntrackd's FTFW: a stream of
 * numbered messages (seq), acked cumulatively and retransmitted from the
 * oldest unacked one (go-back-N) until acked. When the peer starts a new
 * run (a restart, a reboot: its epoch changes) each side sends its whole
 * table (BEGIN, every flow, END: what END finds untouched is gone), and
 * so does a side that had to abandon its backlog (the peer unreachable
 * too long). Every datagram carries a MAC under the shared key; one that
 * fails it, comes from elsewhere than the peer, is older than the peer's
 * run or repeats a packet number (a replay) is dropped and counted, so the
 * sync port never lets anyone inject a flow. sync.h has the wire format.
 *
 * Split brain (both masters) needs no rule here: keepalived decides who
 * forwards; each side keeps shipping its own flows and holding the
 * other's. Flushes (natkctl flush, down, the address going away: what the
 * old master sees when it loses the address) are not shipped: they end
 * this host's forwarding, not the connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>

#include "natkctl.h"
#include "sync.h"

_Static_assert(SYNC_REC_F_SEEN_OUT == NATK_FLOW_F_SEEN_OUT &&
	       SYNC_REC_F_SEEN_IN == NATK_FLOW_F_SEEN_IN,
	       "a sync record carries NATK_FLOW_A_SEEN's bits as they are");

#define SYNC_CONF		"/etc/natk.conf"
#define SYNC_SOCKET		"/run/natk/sync.sock"
/* Unacked messages in flight (go-back-N window). */
#define TX_WINDOW		1024
/* Records waiting for room in the window before the backlog is abandoned
 * for a whole table later. */
#define PENDING_MAX		(1u << 20)
/* Socket buffers: a whole window of datagrams (with their overhead). */
#define UDP_BUF			(8 << 20)
#define RTO_MIN_MS		200
#define RTO_MAX_MS		2000
/* Messages (re)sent per retransmission round. */
#define RETX_BURST		64
/* A message with room left waits this long for more records. */
#define BATCH_MS		5
#define HELLO_MS		1000
/* The peer is "connected" while heard within this. */
#define PEER_DEAD_MS		3000
#define EXPIRE_SCAN_MS		5000
#define FAMILY_CHECK_MS		5000
/* Imports in flight when committing (flows restore uses the same). */
#define COMMIT_WINDOW		64

struct sync_conf {
	struct sockaddr_in listen, peer;
	bool have_listen, have_peer;
	char key_file[PATH_MAX];
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- configuration: "sync ..." lines of natk.conf, and words ---- */

static const char *const sync_conf_words[] = {
	"peer", "listen", "key-file", "socket", "config",
};

/* One of the settings of a "sync" line (apply checks the lines with it). */
bool sync_setting_word(const char *word)
{
	return match_word(word, sync_conf_words, 4, false) >= 0;
}

/* "A.B.C.D[:PORT]" into sa. */
static bool sync_parse_sockaddr(const char *s, struct sockaddr_in *sa)
{
	uint32_t addr;
	uint16_t port;
	bool has_port;

	if (!parse_addr_port(s, &addr, &port, &has_port) || !addr)
		return false;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = addr;
	sa->sin_port = htons(has_port ? port : SYNC_PORT);
	return true;
}

/* One "WORD VALUE" (config excluded); false with a message in err. */
static bool sync_conf_set(struct sync_conf *c, int k, const char *v, char *err,
		     size_t errlen)
{
	switch (k) {
	case 0:
	case 1:
		if (!sync_parse_sockaddr(v, k ? &c->listen : &c->peer)) {
			snprintf(err, errlen, "%s needs an IPv4 address and optional port, as 192.168.255.2 or 192.168.255.2:%u, not '%s'",
				 sync_conf_words[k], SYNC_PORT, v);
			return false;
		}
		*(k ? &c->have_listen : &c->have_peer) = true;
		return true;
	case 2:
		if (strlen(v) >= sizeof(c->key_file)) {
			snprintf(err, errlen, "key-file: path too long");
			return false;
		}
		strcpy(c->key_file, v);
		return true;
	case 3:
		if (!*v || strlen(v) >= sizeof(c->sock_path)) {
			snprintf(err, errlen, "socket: path empty or longer than %zu bytes",
				 sizeof(c->sock_path) - 1);
			return false;
		}
		strcpy(c->sock_path, v);
		return true;
	}
	return false;
}

/*
 * The "sync WORD VALUE" lines of a natk.conf (apply skips them). A missing
 * file is not an error unless must.
 */
static void sync_conf_load(struct sync_conf *c, const char *path, bool must)
{
	char *line = NULL, err[256], w1[64], w2[PATH_MAX], w3[8];
	unsigned int lineno = 0;
	size_t cap = 0;
	FILE *fp;
	int k, n;

	fp = fopen(path, "r");
	if (!fp) {
		if (must || errno != ENOENT)
			input_fail("sync: cannot read %s: %s", path, strerror(errno));
		return;
	}
	while (getline(&line, &cap, fp) >= 0) {
		char *hash = strchr(line, '#');

		lineno++;
		if (hash)
			*hash = '\0';
		n = sscanf(line, " sync %63s %4095s %7s", w1, w2, w3);
		if (n <= 0)
			continue;
		if (n != 2)
			input_fail("sync: %s:%u: expected: sync peer|listen|key-file|socket VALUE",
				   path, lineno);
		k = match_word(w1, sync_conf_words, 4, false);
		if (k < 0)
			input_fail("sync: %s:%u: unknown sync setting '%s' (peer, listen, key-file, socket)",
				   path, lineno, w1);
		if (!sync_conf_set(c, k, w2, err, sizeof(err)))
			input_fail("sync: %s:%u: %s", path, lineno, err);
	}
	free(line);
	fclose(fp);
}

/* Words after a sync subcommand; allowed: a bitmask of sync_conf_words. */
static void sync_conf_args(struct sync_conf *c, int argc, char **argv,
		      unsigned int allowed)
{
	const char *file = SYNC_CONF;
	bool must = false;
	char err[256];
	int i, k;

	strcpy(c->sock_path, SYNC_SOCKET);
	/* config first: the words override the file. */
	for (i = 0; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "config") && (allowed & 1u << 4)) {
			file = argv[i + 1];
			must = true;
		}
	sync_conf_load(c, file, must);
	for (i = 0; i < argc; i += 2) {
		k = match_word(argv[i], sync_conf_words, ARRAY_SIZE(sync_conf_words), false);
		if (k < 0 || !(allowed & 1u << k))
			usage_fail("sync", "unknown argument '%s'", argv[i]);
		if (i + 1 >= argc)
			usage_fail("sync", "%s needs a value", argv[i]);
		if (k != 4 && !sync_conf_set(c, k, argv[i + 1], err, sizeof(err)))
			usage_fail("sync", "%s", err);
	}
}

/* The shared key: 64 hex digits, readable by its owner only. */
static void sync_key_load(const char *path, uint8_t *key)
{
	char buf[256];
	struct stat sb;
	ssize_t n;
	int fd;

	if (!path[0])
		input_fail("sync: no key: add 'sync key-file /etc/natk/sync.key' to %s (make the key with: natkctl sync genkey > /etc/natk/sync.key, and copy it to the peer)",
			   SYNC_CONF);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		input_fail("sync: cannot read the key file %s: %s", path,
			   strerror(errno));
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
		input_fail("sync: the key file %s can be read by others (mode %o): chmod 600 %s",
			   path, (unsigned int)(sb.st_mode & 0777), path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		input_fail("sync: cannot read the key file %s: %s", path,
			   strerror(errno));
	buf[n] = '\0';
	if (!sync_key_parse(buf, key))
		input_fail("sync: %s does not hold a key (64 hex digits, as natkctl sync genkey prints)",
			   path);
}

/* ---- time ---- */

static uint64_t sync_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the peer's flows (the standby's copy) ---- */

struct sync_centry {
	struct sync_centry *next;
	struct sync_rec r;
	uint64_t expire_ms;	/* CLOCK_MONOTONIC */
	uint32_t gen;
};

static struct {
	struct sync_centry **b;
	size_t nb, n;
	uint32_t gen;		/* bumped by a BEGIN */
} sync_cache;

static size_t sync_cache_hash(const struct sync_rec *r)
{
	uint64_t h = 1469598103934665603ull;
	uint32_t w[4] = { r->int_addr, r->rem_addr,
			  (uint32_t)r->int_port << 16 | r->rem_port, r->proto };

	for (int i = 0; i < 4; i++) {
		h ^= w[i];
		h *= 1099511628211ull;
		h ^= h >> 29;
	}
	return (size_t)h & (sync_cache.nb - 1);
}

static bool sync_same_flow(const struct sync_rec *a, const struct sync_rec *b)
{
	return a->proto == b->proto && a->int_addr == b->int_addr &&
	       a->int_port == b->int_port && a->rem_addr == b->rem_addr &&
	       a->rem_port == b->rem_port;
}

static void sync_cache_grow(void)
{
	size_t onb = sync_cache.nb, nb = onb ? onb * 2 : 1024;
	struct sync_centry **b = calloc(nb, sizeof(*b)), *e, *next;

	if (!b)
		fail("sync: out of memory (%zu flows held)", sync_cache.n);
	sync_cache.nb = nb;
	for (size_t i = 0; i < onb; i++)
		for (e = sync_cache.b[i]; e; e = next) {
			size_t h = sync_cache_hash(&e->r);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	free(sync_cache.b);
	sync_cache.b = b;
}

static struct sync_centry **sync_cache_find(const struct sync_rec *r)
{
	struct sync_centry **pp;

	for (pp = &sync_cache.b[sync_cache_hash(r)]; *pp; pp = &(*pp)->next)
		if (sync_same_flow(&(*pp)->r, r))
			return pp;
	return pp;
}

static void sync_cache_upsert(const struct sync_rec *r, uint64_t now)
{
	struct sync_centry **pp, *e;

	if (sync_cache.n >= sync_cache.nb)
		sync_cache_grow();
	pp = sync_cache_find(r);
	e = *pp;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			fail("sync: out of memory (%zu flows held)", sync_cache.n);
		*pp = e;
		sync_cache.n++;
	}
	e->r = *r;
	e->r.op = 0;
	e->expire_ms = now + r->expires_ms;
	e->gen = sync_cache.gen;
}

static void sync_cache_del(const struct sync_rec *r)
{
	struct sync_centry **pp, *e;

	if (!sync_cache.nb)
		return;
	pp = sync_cache_find(r);
	e = *pp;
	if (e) {
		*pp = e->next;
		free(e);
		sync_cache.n--;
	}
}

static bool sync_standby(void);
static void sync_standby_delete(const struct sync_rec *r);

/* Drop what expired, and with gen_too what the last whole table left out. */
static void sync_cache_sweep(uint64_t now, bool gen_too)
{
	struct sync_centry **pp, *e;

	for (size_t i = 0; i < sync_cache.nb; i++)
		for (pp = &sync_cache.b[i]; (e = *pp);) {
			if (e->expire_ms <= now ||
			    (gen_too && e->gen != sync_cache.gen)) {
				/* Gone from the peer's table: gone here too. */
				if (gen_too && e->expire_ms > now &&
				    sync_standby())
					sync_standby_delete(&e->r);
				*pp = e->next;
				free(e);
				sync_cache.n--;
			} else {
				pp = &e->next;
			}
		}
}

/* A record as flows restore would import it, expires_ms its time left. */
static void sync_rec_to_flow(const struct sync_rec *r, uint32_t expires_ms,
			     struct flow *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = r->proto;
	f->state = r->state;
	f->int_addr = r->int_addr;
	f->ext_addr = r->ext_addr;
	f->rem_addr = r->rem_addr;
	f->int_port = r->int_port;
	f->ext_port = r->ext_port;
	f->rem_port = r->rem_port;
	f->expires_ms = expires_ms;
	/* A peer older than the flags sends 0: counters, seen not known. */
	if (!(r->flags & SYNC_REC_F_NO_COUNTERS)) {
		f->present |= FLOW_P_COUNTERS;
		f->pkts_out = r->pkts_out;
		f->bytes_out = r->bytes_out;
		f->pkts_in = r->pkts_in;
		f->bytes_in = r->bytes_in;
	}
	if (r->flags & SYNC_REC_F_SEEN) {
		f->present |= FLOW_P_SEEN;
		f->seen = r->flags & (SYNC_REC_F_SEEN_OUT | SYNC_REC_F_SEEN_IN);
	}
}

/* A held flow, with the idle time it has left at @now. */
static void sync_entry_to_flow(const struct sync_centry *e, uint64_t now,
			       struct flow *f)
{
	sync_rec_to_flow(&e->r, (uint32_t)(e->expire_ms - now), f);
}

/* ---- daemon state ---- */

struct sync_txmsg {
	uint32_t seq;
	uint16_t count;
	bool resent;		/* no RTT sample from it (Karn) */
	uint64_t sent_ms;
	struct sync_rec recs[SYNC_MAX_RECS];
};

static struct {
	struct sync_conf conf;
	uint8_t key[SYNC_KEY_LEN];
	int udp, ctl;
	struct nl_sock *ev;
	int family;

	uint64_t epoch, pn;

	/* sending */
	struct sync_txmsg win[TX_WINDOW];
	uint32_t base, next_seq;	/* unacked: [base, next_seq) */
	struct sync_rec *pend;
	size_t pend_head, pend_n, pend_cap;
	uint64_t pend_since_ms;		/* the oldest queued record's time */
	bool need_table;		/* send the whole table when we can */
	unsigned int rto_ms, srtt_ms;	/* srtt: 0 until measured */
	uint64_t last_tx_ms;
	bool ack_due;

	/* receiving */
	uint64_t peer_epoch;
	struct sync_replay replay;
	uint32_t rx_next;
	uint64_t heard_ms;		/* 0: never */
	bool peer_up;

	/* natk */
	uint8_t natk_state;
	bool natk_seen_ok;		/* it takes NATK_FLOW_A_SEEN */
	/* natk's external addresses when last looked at (its pool) */
	uint32_t pool[NATK_ADDRS_MAX];
	unsigned int npool;

	/* counters (sync status) */
	uint64_t msgs_tx, msgs_rx, recs_tx, recs_rx, bytes_tx, bytes_rx;
	uint64_t retransmits, tables_tx, tables_rx, resync_reqs;
	uint64_t auth_fail, replays, malformed, events_lost, abandoned;
	uint64_t commits, committed, commit_present, commit_refused;
	uint64_t standby_imports, standby_deletes, standby_refused;
} sd;

static volatile sig_atomic_t sync_stop;

static void sync_on_signal(int sig)
{
	(void)sig;
	sync_stop = 1;
}

static void sync_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sync_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "natk-sync: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *sync_sa_str(const struct sockaddr_in *sa, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
	snprintf(buf, len, "%s:%u", a, ntohs(sa->sin_port));
	return buf;
}

/* ---- sending ---- */

static void sync_send_msg(uint8_t type, uint32_t seq, const struct sync_rec *recs,
		     uint16_t count)
{
	uint8_t buf[SYNC_MAX_MSG];
	struct sync_hdr h = {
		.type = type,
		.count = count,
		.epoch = sd.epoch,
		.pn = ++sd.pn,
		.time_ns = now_realtime_ns(),
		.seq = seq,
		.base = sd.base,
		.ack = sd.rx_next,
		.ack_epoch = sd.peer_epoch,
	};
	size_t len = sync_seal(buf, &h, recs, sd.key);

	/* Lost on the way or refused here: the retransmission sends it. */
	if (sendto(sd.udp, buf, len, 0, (struct sockaddr *)&sd.conf.peer,
		   sizeof(sd.conf.peer)) == (ssize_t)len) {
		sd.msgs_tx++;
		sd.recs_tx += count;
		sd.bytes_tx += len;
	}
	sd.last_tx_ms = sync_now_ms();
	sd.ack_due = false;
}

static void sync_pend_push(const struct sync_rec *r)
{
	if (sd.pend_head + sd.pend_n == sd.pend_cap) {
		if (sd.pend_head) {
			memmove(sd.pend, sd.pend + sd.pend_head,
				sd.pend_n * sizeof(*sd.pend));
			sd.pend_head = 0;
		} else {
			sd.pend = grow_array(sd.pend, &sd.pend_cap, sd.pend_n,
					     sizeof(*sd.pend), 4096);
		}
	}
	sd.pend[sd.pend_head + sd.pend_n++] = *r;
}

/*
 * The peer cannot keep up or cannot be reached: forget the backlog and
 * what is unacked, and send the whole table once it can take it (base
 * moves past it all: the peer skips what it will never get).
 */
static void sync_abandon_backlog(const char *why)
{
	sync_log("%s: %zu records queued and %u messages unacked abandoned; the whole table goes to the peer when it can take it",
		 why, sd.pend_n, sd.next_seq - sd.base);
	sd.pend_head = sd.pend_n = 0;
	sd.base = sd.next_seq;
	sd.need_table = true;
	sd.abandoned++;
}

static void sync_queue_rec(const struct sync_rec *r)
{
	if (sd.pend_n >= PENDING_MAX) {
		sync_abandon_backlog("peer too slow");
		return;
	}
	if (!sd.pend_n)
		sd.pend_since_ms = sync_now_ms();
	sync_pend_push(r);
}

/*
 * New messages from the queue while the window has room: full ones at
 * once, the last one with room left once its oldest record has waited
 * BATCH_MS (a busy host's records travel 22 to a datagram, an idle
 * host's within milliseconds).
 */
static void sync_fill_window(uint64_t now)
{
	while (sd.pend_n && sd.next_seq - sd.base < TX_WINDOW) {
		struct sync_txmsg *m = &sd.win[sd.next_seq % TX_WINDOW];
		uint16_t n = sd.pend_n < SYNC_MAX_RECS ? (uint16_t)sd.pend_n :
			     SYNC_MAX_RECS;

		if (n < SYNC_MAX_RECS && now < sd.pend_since_ms + BATCH_MS)
			break;

		m->seq = sd.next_seq++;
		m->count = n;
		m->resent = false;
		memcpy(m->recs, sd.pend + sd.pend_head, n * sizeof(*m->recs));
		sd.pend_head += n;
		sd.pend_n -= n;
		if (!sd.pend_n)
			sd.pend_head = 0;
		sd.pend_since_ms = now;
		sync_send_msg(SYNC_DATA, m->seq, m->recs, m->count);
		m->sent_ms = sd.last_tx_ms;
	}
}

/* The oldest unacked message timed out: go back and send again. */
static void sync_retransmit(uint64_t now)
{
	struct sync_txmsg *m;
	unsigned int sent = 0;

	if (sd.base == sd.next_seq || ctl_mutant("sync-no-retransmit"))
		return;
	m = &sd.win[sd.base % TX_WINDOW];
	if (now < m->sent_ms + sd.rto_ms)
		return;
	for (uint32_t s = sd.base; s != sd.next_seq && sent < RETX_BURST;
	     s++, sent++) {
		m = &sd.win[s % TX_WINDOW];
		sync_send_msg(SYNC_DATA, m->seq, m->recs, m->count);
		m->sent_ms = sd.last_tx_ms;
		m->resent = true;
		sd.retransmits++;
	}
	sd.rto_ms = sd.rto_ms * 2 > RTO_MAX_MS ? RTO_MAX_MS : sd.rto_ms * 2;
}

static void sync_flow_to_rec(const struct flow *f, uint8_t op, struct sync_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->proto = f->proto;
	r->state = f->state;
	r->int_addr = f->int_addr;
	r->ext_addr = f->ext_addr;
	r->rem_addr = f->rem_addr;
	r->int_port = f->int_port;
	r->ext_port = f->ext_port;
	r->rem_port = f->rem_port;
	r->expires_ms = f->expires_ms;
	if (f->present & FLOW_P_COUNTERS) {
		r->pkts_out = f->pkts_out;
		r->bytes_out = f->bytes_out;
		r->pkts_in = f->pkts_in;
		r->bytes_in = f->bytes_in;
	} else {
		r->flags |= SYNC_REC_F_NO_COUNTERS;
	}
	if (f->present & FLOW_P_SEEN)
		r->flags |= SYNC_REC_F_SEEN | (f->seen & (SYNC_REC_F_SEEN_OUT |
							  SYNC_REC_F_SEEN_IN));
}

/* This host's whole table to the peer: BEGIN, every flow, END. */
static void sync_queue_table(void)
{
	struct flow_filter ff = {};
	struct sync_rec r = {};
	struct flow *v = NULL;
	size_t n = 0;

	sd.need_table = false;
	flows_get_all(&ff, &v, &n);
	r.op = SYNC_OP_BEGIN;
	sync_queue_rec(&r);
	for (size_t i = 0; i < n; i++) {
		sync_flow_to_rec(&v[i], SYNC_OP_UPSERT, &r);
		sync_queue_rec(&r);
	}
	memset(&r, 0, sizeof(r));
	r.op = SYNC_OP_END;
	sync_queue_rec(&r);
	free(v);
	sd.tables_tx++;
	sync_log("sending the whole table to the peer: %zu flows", n);
}

/* ---- the standby's natk ---- */

/*
 * While natk here is not active (a standby: keepalived has not given it
 * the external address), every flow the peer ships goes into natk at once
 * (an update replaces it: NATK_FLOW_A_UPDATE), and every end deletes it, as
 * pfsync keeps a standby's states: when the address comes the flows are
 * there, before any packet. The kernel takes imports while it waits
 * (natk_cfg_adopt_addr). An active natk here takes them at commit only.
 */
static bool sync_standby(void)
{
	return sd.natk_state != NATK_STATE_ACTIVE &&
	       sd.natk_state != NATK_STATE_DOWN && !ctl_mutant("sync-no-standby-import");
}

static void sync_standby_import(const struct sync_rec *r)
{
	struct nl_msg *msg;
	struct flow f;
	int err;

	sync_rec_to_flow(r, r->expires_ms, &f);
	msg = flow_add_msg(&f, true, sd.natk_seen_ok);
	err = nk_request(msg, NULL, NULL, NULL);
	if (!err) {
		sd.standby_imports++;
	} else if (sd.standby_refused++ < 10) {
		char b[INET_ADDRSTRLEN], e[INET_ADDRSTRLEN];

		/* Each flow has its own external address (several in a pool). */
		inet_ntop(AF_INET, &r->int_addr, b, sizeof(b));
		inet_ntop(AF_INET, &r->ext_addr, e, sizeof(e));
		sync_log("natk here refused the peer's flow from %s:%u (external %s:%u): %s",
			 b, r->int_port, e, r->ext_port,
			 nk_extack[0] ? nk_extack : strerror(-err));
	}
}

static void sync_standby_delete(const struct sync_rec *r)
{
	struct nl_msg *msg = nk_msg(NATK_CMD_DELETE_FLOW, 0);
	struct nlattr *nest = nla_nest_start(msg, NATK_A_FLOW);

	if (!nest ||
	    nla_put_u8(msg, NATK_FLOW_A_PROTO, r->proto) < 0 ||
	    nla_put_u32(msg, NATK_FLOW_A_INT_ADDR_BE, r->int_addr) < 0 ||
	    nla_put_u16(msg, NATK_FLOW_A_INT_PORT, r->int_port) < 0 ||
	    nla_put_u32(msg, NATK_FLOW_A_REM_ADDR_BE, r->rem_addr) < 0 ||
	    nla_put_u16(msg, NATK_FLOW_A_REM_PORT, r->rem_port) < 0)
		fail("out of memory");
	nla_nest_end(msg, nest);
	/* Gone already (expired here, never imported): no matter. */
	if (!nk_request(msg, NULL, NULL, NULL))
		sd.standby_deletes++;
}

/* ---- receiving ---- */

static void sync_apply_rec(const struct sync_rec *r, uint64_t now)
{
	switch (r->op) {
	case SYNC_OP_UPSERT:
		sync_cache_upsert(r, now);
		if (sync_standby())
			sync_standby_import(r);
		break;
	case SYNC_OP_DEL:
		sync_cache_del(r);
		if (sync_standby())
			sync_standby_delete(r);
		break;
	case SYNC_OP_BEGIN:
		sync_cache.gen++;
		break;
	case SYNC_OP_END:
		sync_cache_sweep(now, true);
		sd.tables_rx++;
		sync_log("the peer's whole table received: %zu flows held",
			 sync_cache.n);
		break;
	default:
		sd.malformed++;
	}
}

/*
 * The newest message an ack covers, if sent once, times the round trip
 * (smoothed as TCP does, RFC 6298 without the variance); the timeout is
 * twice that, within RTO_MIN_MS..RTO_MAX_MS. A peer slower than the
 * minimum (a loaded standby) is not flooded with retransmissions.
 */
static void sync_rtt_sample(const struct sync_txmsg *m, uint64_t now)
{
	unsigned int rtt = (unsigned int)(now - m->sent_ms), rto;

	if (!m->resent)
		sd.srtt_ms = sd.srtt_ms ? (7 * sd.srtt_ms + rtt) / 8 : rtt;
	rto = 2 * sd.srtt_ms + 50;
	sd.rto_ms = rto < RTO_MIN_MS ? RTO_MIN_MS :
		    rto > RTO_MAX_MS ? RTO_MAX_MS : rto;
}

static void sync_peer_heard(uint64_t now)
{
	char b[64];

	if (!sd.peer_up)
		sync_log("peer %s up", sync_sa_str(&sd.conf.peer, b, sizeof(b)));
	sd.peer_up = true;
	sd.heard_ms = now;
}

static void sync_handle_datagram(const uint8_t *buf, size_t len,
			    const struct sockaddr_in *from)
{
	uint64_t now = sync_now_ms(), now_ns = now_realtime_ns();
	struct sync_hdr h;
	struct sync_rec r;

	if (from->sin_addr.s_addr != sd.conf.peer.sin_addr.s_addr) {
		sd.auth_fail++;
		return;
	}
	switch (sync_open(buf, len, &h, sd.key)) {
	case SYNC_OK:
		break;
	case SYNC_BAD_MAC:
		sd.auth_fail++;
		return;
	default:
		sd.malformed++;
		return;
	}
	/* An older run of the peer, or a message far from now: a replay. */
	if (h.epoch < sd.peer_epoch || h.time_ns + SYNC_MAX_SKEW_NS < now_ns ||
	    h.time_ns > now_ns + SYNC_MAX_SKEW_NS) {
		sd.replays++;
		return;
	}
	if (h.epoch > sd.peer_epoch) {
		sync_log("%s run of the peer: sending it the whole table",
			 sd.peer_epoch ? "a new" : "first contact with this");
		sd.peer_epoch = h.epoch;
		memset(&sd.replay, 0, sizeof(sd.replay));
		sd.rx_next = h.base;
		sd.need_table = true;
	}
	if (!sync_replay_check(&sd.replay, h.pn) && !ctl_mutant("sync-no-replay")) {
		sd.replays++;
		return;
	}
	sync_replay_mark(&sd.replay, h.pn);
	sd.msgs_rx++;
	sd.bytes_rx += len;
	sync_peer_heard(now);

	/* Its acks of our messages, if meant for this run. */
	if (h.ack_epoch == sd.epoch && h.ack - sd.base <= sd.next_seq - sd.base &&
	    h.ack != sd.base) {
		sync_rtt_sample(&sd.win[(h.ack - 1) % TX_WINDOW], now);
		sd.base = h.ack;
		if (sd.base != sd.next_seq)
			sd.win[sd.base % TX_WINDOW].sent_ms = now;
	}
	/* What it abandoned comes again in a whole table. */
	if ((int32_t)(h.base - sd.rx_next) > 0)
		sd.rx_next = h.base;
	switch (h.type) {
	case SYNC_HELLO:
		break;
	case SYNC_RESYNC_REQ:
		sync_log("the peer asks for the whole table");
		sd.resync_reqs++;
		sd.need_table = true;
		break;
	case SYNC_DATA:
		sd.ack_due = true;
		if (h.seq != sd.rx_next)
			break;		/* a repeat, or after a loss: go-back-N */
		sd.rx_next++;
		for (unsigned int i = 0; i < h.count; i++) {
			sync_rec_get(buf + SYNC_HDR_LEN + i * SYNC_REC_LEN, &r);
			sd.recs_rx++;
			sync_apply_rec(&r, now);
		}
		break;
	default:
		sd.malformed++;
	}
}

static void sync_read_udp(void)
{
	struct sockaddr_in from;
	uint8_t buf[SYNC_MAX_MSG + 1];
	socklen_t fl;
	ssize_t n;

	for (int i = 0; i < 256; i++) {
		fl = sizeof(from);
		n = recvfrom(sd.udp, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		sync_handle_datagram(buf, (size_t)n, &from);
	}
}

/* ---- natk: events and imports ---- */

struct sync_commit {
	const struct flow *v;
	size_t ok, present, refused;
	char first_err[600];
	int fatal;
};

static struct nl_msg *sync_commit_build(size_t i, void *arg)
{
	const struct sync_commit *c = arg;

	return flow_add_msg(&c->v[i], false, sd.natk_seen_ok);
}

static void sync_commit_done(size_t i, int err, void *arg)
{
	struct sync_commit *c = arg;

	(void)i;
	if (!err)
		c->ok++;
	else if (err == -EEXIST)
		c->present++;
	else if (err == -ENETDOWN || err == -EOPNOTSUPP || err == -EPERM)
		c->fatal = err;
	else if (c->refused++ == 0)
		snprintf(c->first_err, sizeof(c->first_err), "%s",
			 nk_extack[0] ? nk_extack : strerror(-err));
}

static bool sync_addr_in(uint32_t addr, const uint32_t *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (v[i] == addr)
			return true;
	return false;
}

/*
 * Import the peer's flows into natk: all of them, or (only) those on one
 * of the external addresses only[nonly]. 0, or -errno with msg.
 */
static int sync_commit_on(char *msg, size_t len, const char *why,
			  const uint32_t *only, unsigned int nonly)
{
	struct sync_commit c = {};
	uint64_t now = sync_now_ms();
	struct flow *v;
	size_t n = 0;
	int err;

	v = calloc(sync_cache.n ? sync_cache.n : 1, sizeof(*v));
	if (!v)
		fail("sync: out of memory");
	for (size_t i = 0; i < sync_cache.nb; i++)
		for (struct sync_centry *e = sync_cache.b[i]; e; e = e->next)
			if (e->expire_ms > now &&
			    (!only || sync_addr_in(e->r.ext_addr, only, nonly)))
				sync_entry_to_flow(e, now, &v[n++]);
	c.v = v;
	err = n ? nk_request_batch(n, COMMIT_WINDOW, sync_commit_build,
				   sync_commit_done, &c) : 0;
	free(v);
	if (!err && c.fatal)
		err = c.fatal;
	if (err) {
		snprintf(msg, len, "%s", err == -ENETDOWN ?
			 "natk has no external interface here (natkctl set external IFNAME): nothing committed" :
			 nk_extack[0] ? nk_extack : strerror(-err));
		sync_log("commit (%s) failed: %s", why, msg);
		return err;
	}
	sd.commits++;
	sd.committed += c.ok;
	sd.commit_present += c.present;
	sd.commit_refused += c.refused;
	snprintf(msg, len, "committed %zu flows (%zu present, %zu refused)",
		 c.ok, c.present, c.refused);
	sync_log("%s: %s%s%s", why, msg, c.refused ? "; first refusal: " : "",
		 c.first_err);
	return 0;
}

/* Import all the peer's flows into natk; 0, or -errno with msg. */
static int sync_commit(char *msg, size_t len, const char *why)
{
	return sync_commit_on(msg, len, why, NULL, 0);
}

/*
 * natk's pool now (its external addresses); with active, the peer's
 * flows on an address that joined it go in at once. natk masquerades
 * behind several addresses and keepalived moves them one at a time:
 * natk became active with the first, dropped the imports on the others
 * (not its addresses then), and each one that comes later brings its
 * flows back here, before keepalived's notify asks for a commit.
 */
static void sync_pool_note(bool active)
{
	struct natk_status *st = calloc(1, sizeof(*st));
	uint32_t fresh[NATK_ADDRS_MAX];
	unsigned int nfresh = 0;
	char m[256], why[64], a[INET_ADDRSTRLEN];

	if (!st)
		fail("sync: out of memory");
	if (status_get(st)) {
		free(st);
		return;
	}
	for (unsigned int i = 0; i < st->npool; i++)
		if (!sync_addr_in(st->pool[i].addr_be, sd.pool, sd.npool))
			fresh[nfresh++] = st->pool[i].addr_be;
	if (active && nfresh && sync_cache.n) {
		inet_ntop(AF_INET, &fresh[0], a, sizeof(a));
		snprintf(why, sizeof(why), "%s%s came to natk", a,
			 nfresh > 1 ? " and more addresses" : "");
		sync_commit_on(m, sizeof(m), why, fresh, nfresh);
	}
	sd.npool = st->npool;
	for (unsigned int i = 0; i < st->npool; i++)
		sd.pool[i] = st->pool[i].addr_be;
	free(st);
}

static int sync_noop_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int sync_event_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[NATK_A_MAX + 1];
	struct natk_status st = {};
	struct sync_rec r;
	struct flow f;
	char m[256];

	(void)arg;
	if (nlh->nlmsg_type != sd.family)
		return NL_SKIP;
	if (g->cmd == NATK_CMD_STATE) {
		if (status_parse(msg, &st))
			return NL_SKIP;
		/* Master now: natk has the address; the peer's flows go in. */
		if (st.state == NATK_STATE_ACTIVE &&
		    sd.natk_state != NATK_STATE_ACTIVE && sync_cache.n)
			sync_commit(m, sizeof(m), "natk became active");
		/* Active still: an address may have joined its pool. */
		sync_pool_note(st.state == NATK_STATE_ACTIVE &&
			       sd.natk_state == NATK_STATE_ACTIVE);
		sd.natk_state = st.state;
		return NL_OK;
	}
	if (g->cmd != NATK_CMD_FLOW_NEW && g->cmd != NATK_CMD_FLOW_DEL &&
	    g->cmd != NATK_CMD_FLOW_UPDATE)
		return NL_SKIP;
	/* A standby's flows are the peer's, imported: not shipped back. */
	if (sd.natk_state != NATK_STATE_ACTIVE)
		return NL_OK;
	if (genlmsg_parse(nlh, 0, tb, NATK_A_MAX, NULL) < 0 ||
	    !tb[NATK_A_FLOW] || !flow_parse(tb[NATK_A_FLOW], &f))
		return NL_SKIP;
	if (g->cmd == NATK_CMD_FLOW_DEL) {
		/* This host stopped forwarding; the connection goes on. */
		if (f.reason == NATK_REASON_FLUSH && !ctl_mutant("sync-ship-flush"))
			return NL_OK;
		sync_flow_to_rec(&f, SYNC_OP_DEL, &r);
	} else {
		sync_flow_to_rec(&f, SYNC_OP_UPSERT, &r);
	}
	sync_queue_rec(&r);
	return NL_OK;
}

static void sync_open_events(void)
{
	int grp, err, bytes = 32 << 20;
	struct nl_cb *cb;

	sd.ev = nl_socket_alloc();
	if (!sd.ev || genl_connect(sd.ev) < 0)
		fail("sync: cannot open a netlink socket");
	grp = genl_ctrl_resolve_grp(sd.ev, NATK_GENL_NAME, NATK_MCGRP_EVENTS);
	if (grp < 0)
		fail("sync: the natk module has no \"%s\" group: %s",
		     NATK_MCGRP_EVENTS, nl_geterror(grp));
	err = nl_socket_add_membership(sd.ev, grp);
	if (err < 0)
		fail("sync: cannot hear natk's flow events: %s%s",
		     nl_geterror(err), err == -NLE_PERM ? " (run as root)" : "");
	if (setsockopt(nl_socket_get_fd(sd.ev), SOL_SOCKET, SO_RCVBUFFORCE,
		       &bytes, sizeof(bytes)) < 0)
		nl_socket_set_buffer_size(sd.ev, bytes, 0);
	nl_socket_disable_seq_check(sd.ev);
	nl_socket_set_nonblocking(sd.ev);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		fail("out of memory");
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, sync_noop_cb, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, sync_event_cb, NULL);
	nl_socket_set_cb(sd.ev, cb);
	nl_cb_put(cb);
}

static void sync_read_events(void)
{
	for (int i = 0; i < 64; i++) {
		int err = nl_recvmsgs_default(sd.ev);

		if (err == -NLE_AGAIN || err == 0)
			return;
		if (err == -NLE_NOMEM) {
			/* ENOBUFS: events were lost; the table tells all. */
			sd.events_lost++;
			sd.need_table = true;
			continue;
		}
		if (err < 0)
			return;
	}
}

/* ---- control socket: status, commit, resync ---- */

static void sync_ctl_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;

	strcpy(sa.sun_path, sd.conf.sock_path);
	strcpy(dir, sd.conf.sock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	sd.ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sd.ctl < 0)
		fail("sync: socket: %s", strerror(errno));
	unlink(sa.sun_path);
	if (bind(sd.ctl, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sa.sun_path, 0600) < 0 || listen(sd.ctl, 8) < 0)
		fail("sync: cannot listen on %s: %s", sd.conf.sock_path,
		     strerror(errno));
}

static void sync_ctl_status(FILE *fp)
{
	uint64_t now = sync_now_ms();
	char b[64];
	uint64_t lag = 0;

	if (sd.base != sd.next_seq)
		lag = now - sd.win[sd.base % TX_WINDOW].sent_ms;
	fprintf(fp, "peer %s\n", sync_sa_str(&sd.conf.peer, b, sizeof(b)));
	fprintf(fp, "listen %s\n", sync_sa_str(&sd.conf.listen, b, sizeof(b)));
	fprintf(fp, "state %s\n", sd.peer_up ? "connected" :
		sd.heard_ms ? "lost" : "waiting");
	fprintf(fp, "last_heard_ms %llu\n", (unsigned long long)
		(sd.heard_ms ? now - sd.heard_ms : 0));
	fprintf(fp, "flows_held %zu\n", sync_cache.n);
	fprintf(fp, "unacked %u\n", sd.next_seq - sd.base);
	fprintf(fp, "queued %zu\n", sd.pend_n);
	fprintf(fp, "lag_ms %llu\n", (unsigned long long)lag);
#define C(k, v) fprintf(fp, k " %llu\n", (unsigned long long)(v))
	C("messages_sent", sd.msgs_tx);
	C("messages_received", sd.msgs_rx);
	C("records_sent", sd.recs_tx);
	C("records_received", sd.recs_rx);
	C("bytes_sent", sd.bytes_tx);
	C("bytes_received", sd.bytes_rx);
	C("retransmits", sd.retransmits);
	C("resyncs_sent", sd.tables_tx);
	C("resyncs_received", sd.tables_rx);
	C("resync_requests", sd.resync_reqs);
	C("auth_failures", sd.auth_fail);
	C("replays", sd.replays);
	C("malformed", sd.malformed);
	C("events_lost", sd.events_lost);
	C("backlogs_abandoned", sd.abandoned);
	C("commits", sd.commits);
	C("flows_committed", sd.committed);
	C("commit_present", sd.commit_present);
	C("commit_refused", sd.commit_refused);
	C("standby_imports", sd.standby_imports);
	C("standby_deletes", sd.standby_deletes);
	C("standby_refused", sd.standby_refused);
#undef C
}

/* The held flows, a flow file's lines (flows save's format). */
static void sync_ctl_flows(FILE *fp)
{
	char line[FLOW_LINE_MAX];
	uint64_t now = sync_now_ms();
	struct flow f;
	size_t len;

	/* The client reads as we write: no timeout on a long answer. */
	for (size_t i = 0; i < sync_cache.nb; i++)
		for (struct sync_centry *e = sync_cache.b[i]; e; e = e->next) {
			if (e->expire_ms <= now)
				continue;
			sync_entry_to_flow(e, now, &f);
			len = flow_format_line(&f, line, sizeof(line));
			if (len)
				fwrite(line, 1, len, fp);
		}
}

static void sync_ctl_serve(void)
{
	char line[64], msg[512];
	FILE *fp;
	int fd, err;

	fd = accept4(sd.ctl, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A client that sends nothing must not stall the daemon long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO,
		   &(struct timeval){ .tv_sec = 1 }, sizeof(struct timeval));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
		   &(struct timeval){ .tv_sec = 5 }, sizeof(struct timeval));
	fp = fdopen(fd, "r+");
	if (!fp) {
		close(fd);
		return;
	}
	if (!fgets(line, sizeof(line), fp)) {
		fclose(fp);
		return;
	}
	line[strcspn(line, "\n")] = '\0';
	if (!strcmp(line, "status")) {
		sync_ctl_status(fp);
	} else if (!strcmp(line, "commit")) {
		err = sync_commit(msg, sizeof(msg), "commit asked");
		fprintf(fp, "%s %s\n", err ? "error" : "ok", msg);
	} else if (!strcmp(line, "flows")) {
		sync_ctl_flows(fp);
	} else if (!strcmp(line, "resync")) {
		sync_send_msg(SYNC_RESYNC_REQ, 0, NULL, 0);
		fprintf(fp, "ok asked the peer for its whole table\n");
	} else {
		fprintf(fp, "error unknown request\n");
	}
	fclose(fp);
}

/* ---- sync run ---- */

static void sync_udp_open(void)
{
	int one = 1, bytes = UDP_BUF;

	sd.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sd.udp < 0)
		fail("sync: socket: %s", strerror(errno));
	setsockopt(sd.udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A window's worth of datagrams, beyond the default rmem_max. */
	if (setsockopt(sd.udp, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(sd.udp, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (setsockopt(sd.udp, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(sd.udp, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
	if (bind(sd.udp, (struct sockaddr *)&sd.conf.listen,
		 sizeof(sd.conf.listen)) < 0) {
		char b[64];

		fail("sync: cannot listen on %s: %s%s",
		     sync_sa_str(&sd.conf.listen, b, sizeof(b)), strerror(errno),
		     errno == EADDRNOTAVAIL ?
		     " (the listen address must be on one of this host's interfaces)" : "");
	}
}

static void sync_check_family(void)
{
	int id = genl_ctrl_resolve(nk_sock(), NATK_GENL_NAME);

	if (id != sd.family) {
		sync_log("natk.ko was unloaded or reloaded: exiting, to be started again (natk-sync.service restarts)");
		exit(NK_EXIT_FAILED);
	}
}

static int sync_run(int argc, char **argv)
{
	struct pollfd pfd[3];
	struct sigaction sa = {};
	struct natk_status st;
	uint64_t now, next_expire = 0, next_family = 0;
	char b1[64], b2[64];
	int err;

	sync_conf_args(&sd.conf, argc, argv, 0x1f);
	if (!sd.conf.have_peer)
		input_fail("sync run: no peer: add 'sync peer ADDR' to %s, or give peer ADDR",
			   SYNC_CONF);
	if (!sd.conf.have_listen)
		input_fail("sync run: no listen address: add 'sync listen ADDR' (this host's address on the sync link) to %s, or give listen ADDR",
			   SYNC_CONF);
	sync_key_load(sd.conf.key_file, sd.key);
	nk_open();
	sd.family = nk_family();
	err = status_get(&st);
	if (err)
		nk_fail("sync run", err);
	sd.natk_state = st.state;
	/* A reload of natk.ko ends the daemon: this holds for its run. */
	sd.natk_seen_ok = flow_add_takes_seen(&st);
	sd.npool = st.npool;
	for (unsigned int i = 0; i < st.npool; i++)
		sd.pool[i] = st.pool[i].addr_be;
	sync_open_events();
	sync_udp_open();
	sync_ctl_open();
	sd.epoch = now_realtime_ns();
	sd.base = sd.next_seq = 1;
	sd.rto_ms = RTO_MIN_MS;
	sd.need_table = true;

	sa.sa_handler = sync_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sync_log("listening on %s, peer %s, control %s",
		 sync_sa_str(&sd.conf.listen, b1, sizeof(b1)),
		 sync_sa_str(&sd.conf.peer, b2, sizeof(b2)), sd.conf.sock_path);
	sync_send_msg(SYNC_HELLO, 0, NULL, 0);

	pfd[0] = (struct pollfd){ .fd = sd.udp, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = nl_socket_get_fd(sd.ev), .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = sd.ctl, .events = POLLIN };
	while (!sync_stop) {
		int busy = sd.pend_n || sd.base != sd.next_seq;

		if (poll(pfd, 3, sd.pend_n ? BATCH_MS : busy ? 20 : 200) < 0 &&
		    errno != EINTR)
			fail("sync: poll: %s", strerror(errno));
		now = sync_now_ms();
		if (pfd[0].revents & POLLIN)
			sync_read_udp();
		if (pfd[1].revents & POLLIN)
			sync_read_events();
		if (pfd[2].revents & POLLIN)
			sync_ctl_serve();
		now = sync_now_ms();
		if (sd.peer_up && now - sd.heard_ms > PEER_DEAD_MS) {
			sync_log("peer %s lost (not heard for %u ms)",
				 sync_sa_str(&sd.conf.peer, b1, sizeof(b1)),
				 PEER_DEAD_MS);
			sd.peer_up = false;
		}
		/* The whole table only to a peer that answers. */
		if (sd.need_table && sd.peer_up && !sd.pend_n)
			sync_queue_table();
		/* Unreachable long enough to fill the window: a table later. */
		if (!sd.peer_up && sd.heard_ms && sd.next_seq - sd.base >= TX_WINDOW &&
		    sd.pend_n)
			sync_abandon_backlog("peer unreachable");
		sync_fill_window(now);
		sync_retransmit(now);
		if (sd.ack_due || now - sd.last_tx_ms >= HELLO_MS)
			sync_send_msg(SYNC_HELLO, 0, NULL, 0);
		if (now >= next_expire) {
			sync_cache_sweep(now, false);
			next_expire = now + EXPIRE_SCAN_MS;
		}
		if (now >= next_family) {
			sync_check_family();
			next_family = now + FAMILY_CHECK_MS;
		}
	}
	unlink(sd.conf.sock_path);
	sync_log("stopped");
	return 0;
}

/* ---- the client side ---- */

/* Send req to the daemon; its answer in a malloc'ed string. */
static char *sync_ctl_ask(const struct sync_conf *c, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *out = NULL;
	size_t len = 0;
	FILE *mem, *fp;
	int fd, ch;

	strcpy(sa.sun_path, c->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("sync: socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("sync: no sync daemon answers on %s: %s (start it: systemctl start natk-sync, or natkctl sync run)",
		     c->sock_path, strerror(errno));
	fp = fdopen(fd, "r+");
	mem = open_memstream(&out, &len);
	if (!fp || !mem)
		fail("out of memory");
	fprintf(fp, "%s\n", req);
	fflush(fp);
	shutdown(fd, SHUT_WR);
	while ((ch = fgetc(fp)) != EOF)
		fputc(ch, mem);
	fclose(fp);
	fclose(mem);
	return out;
}

/* Labels of sync status in text; keys are the JSON names. */
static const struct {
	const char *key, *label;
} sync_status_labels[] = {
	{ "peer", "peer" },
	{ "listen", "listen" },
	{ "state", "state" },
	{ "last_heard_ms", "last heard (ms ago)" },
	{ "flows_held", "flows held from the peer" },
	{ "unacked", "messages unacked" },
	{ "queued", "records queued" },
	{ "lag_ms", "lag (ms)" },
};

static int sync_status(const struct sync_conf *c)
{
	char *out = sync_ctl_ask(c, "status"), *line, *save = NULL, *v;
	char fmt[96];

	print_open_object(NULL);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *label = NULL;
		uint64_t n;

		v = strchr(line, ' ');
		if (!v)
			continue;
		*v++ = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(sync_status_labels); i++)
			if (!strcmp(line, sync_status_labels[i].key))
				label = sync_status_labels[i].label;
		if (!label) {
			/* A counter: its key, read aloud. */
			for (char *p = line; *p; p++)
				if (*p == '_')
					*p = ' ';
			label = line;
		}
		snprintf(fmt, sizeof(fmt), "%-26s %s\n", label,
			 parse_u64(v, &n) ? "%u" : "%s");
		for (char *p = line; *p; p++)
			if (*p == ' ')
				*p = '_';
		if (parse_u64(v, &n))
			print_u64(PRINT_ANY, line, fmt, n);
		else
			print_string(PRINT_ANY, line, fmt, v);
	}
	print_close_object();
	print_end();
	free(out);
	return 0;
}

/* The peer's flows this host holds: flow file lines, or -j objects. */
static int sync_flows(const struct sync_conf *c)
{
	char *out = sync_ctl_ask(c, "flows"), *line, *save = NULL, err[256];
	struct flow f;

	if (!print_is_json()) {
		fputs(out, stdout);
		free(out);
		return 0;
	}
	print_open_array(NULL);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!flow_parse_line(line, &f, err, sizeof(err)))
			continue;
		print_open_object(NULL);
		flow_print(&f, true);
		print_close_object();
	}
	print_close_array();
	print_end();
	free(out);
	return 0;
}

/* commit, resync: "ok MESSAGE" or "error MESSAGE". */
static int sync_request(const struct sync_conf *c, const char *req)
{
	char *out = sync_ctl_ask(c, req);
	int rc = 0;

	out[strcspn(out, "\n")] = '\0';
	if (!strncmp(out, "ok ", 3)) {
		printf("%s\n", out + 3);
	} else {
		warnmsg("sync %s: %s", req,
			strncmp(out, "error ", 6) ? "no answer from the sync daemon" :
			out + 6);
		rc = NK_EXIT_FAILED;
	}
	free(out);
	return rc;
}

static int sync_genkey(void)
{
	uint8_t key[SYNC_KEY_LEN];

	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		fail("sync genkey: getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(key); i++)
		printf("%02x", key[i]);
	printf("\n");
	return 0;
}

int cmd_sync(int argc, char **argv)
{
	static const char *const subs[] = {
		"run", "status", "commit", "resync", "genkey", "flows",
	};
	struct sync_conf c = {};
	int k;

	if (argc < 1)
		usage_fail("sync", "sync needs run, status, flows, commit, resync or genkey");
	k = match_word(argv[0], subs, ARRAY_SIZE(subs), false);
	if (k < 0)
		usage_fail("sync", "unknown sync command '%s' (run, status, flows, commit, resync, genkey)",
			   argv[0]);
	if (k == 0)
		return sync_run(argc - 1, argv + 1);
	if (k == 4) {
		if (argc > 1)
			usage_fail("sync", "sync genkey takes no argument");
		return sync_genkey();
	}
	sync_conf_args(&c, argc - 1, argv + 1, 1u << 3 | 1u << 4);
	if (k == 1)
		return sync_status(&c);
	if (k == 5)
		return sync_flows(&c);
	if (print_is_json())
		usage_fail("sync", "-j is for sync status");
	return sync_request(&c, subs[k]);
}
