// SPDX-License-Identifier: GPL-2.0
/*
 * natkctl log, natkctl who: the mapping log (RFC 6888 REQ-12, "which
 * internal host had this external address and port at time T").
 *
 * log listens to natk's "mappings" multicast group (NATK_CMD_MAP_NEW,
 * NATK_CMD_MAP_DEL) and writes one line per event:
 *
 *   2026-12-03T06:30:00.123456Z new udp 10.0.0.2:41000 192.0.2.1:41000
 *   2026-12-03T06:31:10.654321Z del udp 10.0.0.2:41000 192.0.2.1:41000
 *   2026-12-03T06:29:00.000001Z live tcp 10.0.0.3:5000 192.0.2.1:5000
 *   2026-12-03T06:32:00.000000Z lost 12
 *
 * and with port blocks (natkctl set port-block), one line per block of
 * a host instead of one per mapping (no protocol, no internal port):
 *
 *   2026-12-03T06:30:00.123456Z new block 10.0.0.2 192.0.2.1:1024-1039
 *   2026-12-03T06:40:00.654321Z del block 10.0.0.2 192.0.2.1:1024-1039
 *
 * to standard output, to a file it rotates itself, and/or to
 * systemd-journald (native protocol, rate-limited). Every line goes
 * through ml_emit(), whether it comes from the kernel, from the flow
 * table dump at start (live) or from the unit tests, which feed it events
 * without netlink. Lost events are never silent: a socket overrun
 * (ENOBUFS) and any growth of the kernel's map_events_lost counter (read
 * every ML_CHECK_MS, after an overrun and at exit) become a lost line.
 *
 * who reads the live flow table, or with "at TIME" the log file and its
 * rotated files, and says which internal endpoint had the external
 * endpoint (ml_who(), a pure function over the log's events).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <netlink/genl/ctrl.h>

#include "natkctl.h"
#include "metrics.h"

#define ML_NS			1000000000ull
#define ML_DEFAULT_LOG		"/var/log/natk/mappings.log"
#define ML_DEFAULT_MAX_SIZE	(100ull << 20)
#define ML_DEFAULT_KEEP		10
#define ML_MAX_KEEP		1000
#define ML_DEFAULT_RATE		1000
#define ML_JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define ML_IDENT		"natk-maplog"
/* map_events_lost is read this often, and at most once a second after
 * an overrun. */
#define ML_CHECK_MS		10000
/* A lost line comes up to ML_CHECK_MS after the loss: who looks this far
 * past TIME for one. */
#define ML_LOST_SLACK_NS	(15 * ML_NS)
/* who: nothing found */
#define ML_EXIT_NOBODY		3
/* Room for the longest line: 27 + 5 + 5 + 2 * 22 + newline (a block's:
 * 27 + 5 + 6 + 16 + 28 + newline). */
#define ML_LINE_MAX		128

enum ml_kind { ML_NEW, ML_DEL, ML_LIVE, ML_LOST, ML_NKINDS };
static const char *const ml_kind_names[ML_NKINDS] = {
	"new", "del", "live", "lost",
};

/* One line of the log. */
struct ml_event {
	enum ml_kind kind;
	uint64_t ns;			/* CLOCK_REALTIME */
	uint8_t proto;
	uint32_t int_addr, ext_addr;	/* network order */
	uint16_t int_port, ext_port;
	uint64_t lost;			/* ML_LOST: how many, 0: unknown */
	bool block;			/* a port block: ext_port..ext_port_last
					 * for all of int_addr's mappings (no
					 * proto, no int_port) */
	uint16_t ext_port_last;
};

/* ------------------------------------------------------------ the format */

/*
 * The line without its time and newline: "new udp 10.0.0.2:41000
 * 192.0.2.1:41000", "lost 12" or "lost" (how many is unknown). This is
 * the journal's MESSAGE too.
 */
static int ml_format_text(const struct ml_event *e, char *buf, size_t len)
{
	char ia[INET_ADDRSTRLEN], ea[INET_ADDRSTRLEN];

	if (e->kind == ML_LOST)
		return e->lost ? snprintf(buf, len, "lost %" PRIu64, e->lost) :
				 snprintf(buf, len, "lost");
	inet_ntop(AF_INET, &e->int_addr, ia, sizeof(ia));
	inet_ntop(AF_INET, &e->ext_addr, ea, sizeof(ea));
	if (e->block)
		return snprintf(buf, len, "%s block %s %s:%u-%u",
				ml_kind_names[e->kind], ia, ea, e->ext_port,
				e->ext_port_last);
	return snprintf(buf, len, "%s %s %s:%u %s:%u", ml_kind_names[e->kind],
			proto_name(e->proto), ia, e->int_port, ea, e->ext_port);
}

/* "TIME TEXT\n"; returns its length. */
static size_t ml_format_line(const struct ml_event *e, char *buf, size_t len)
{
	char t[TIME_STRLEN];
	int n;

	format_time(e->ns, t, sizeof(t));
	n = snprintf(buf, len, "%s ", t);
	n += ml_format_text(e, buf + n, len - (size_t)n);
	n += snprintf(buf + n, len - (size_t)n, "\n");
	return (size_t)n;
}

/* A log line's time: as format_time writes it (parse_time, without its
 * now and -5m). */
static bool ml_parse_log_time(const char *s, uint64_t *ns)
{
	return s[0] >= '0' && s[0] <= '9' && parse_time(s, 0, ns);
}

/* "10.0.0.2:41000" */
static bool ml_parse_endpoint(const char *s, uint32_t *addr, uint16_t *port)
{
	bool has_port;

	return parse_addr_port(s, addr, port, &has_port) && has_port;
}

/* A block line's "INT_ADDR EXT_ADDR:FIRST-LAST" into e. */
static bool ml_parse_block(const char *ia, char *ext, struct ml_event *e)
{
	char *colon = strrchr(ext, ':'), *dash;
	uint32_t first, last;
	bool ok;

	if (!colon)
		return false;
	dash = strchr(colon + 1, '-');
	if (!dash)
		return false;
	*dash = '\0';
	ok = parse_u32(colon + 1, 1, 65535, &first) &&
	     parse_u32(dash + 1, 1, 65535, &last) && first <= last;
	*dash = '-';
	if (!ok || inet_pton(AF_INET, ia, &e->int_addr) != 1)
		return false;
	*colon = '\0';
	ok = inet_pton(AF_INET, ext, &e->ext_addr) == 1;
	*colon = ':';
	if (!ok)
		return false;
	e->block = true;
	e->ext_port = (uint16_t)first;
	e->ext_port_last = (uint16_t)last;
	return true;
}

/*
 * A log line (the newline stripped) back into an event; false if it is
 * not one. Fields after the last one known are ignored (newer natkctl).
 * ICMP identifiers may be 0.
 */
static bool ml_parse_line(char *line, struct ml_event *e)
{
	char *f[6], *save = NULL, *w;
	int n = 0, k;
	uint32_t v;

	memset(e, 0, sizeof(*e));
	for (w = strtok_r(line, " \t\r\n", &save); w && n < 6;
	     w = strtok_r(NULL, " \t\r\n", &save))
		f[n++] = w;
	if (n < 2 || !ml_parse_log_time(f[0], &e->ns))
		return false;
	k = match_word(f[1], ml_kind_names, ML_NKINDS, false);
	if (k < 0)
		return false;
	e->kind = (enum ml_kind)k;
	if (e->kind == ML_LOST) {
		/* "lost N", or "lost" when how many is unknown */
		if (n >= 3 && parse_u32(f[2], 1, UINT32_MAX, &v))
			e->lost = v;
		return true;
	}
	if (n >= 5 && !strcmp(f[2], "block"))
		return ml_parse_block(f[3], f[4], e);
	if (n < 5 || !parse_proto(f[2], true, &e->proto))
		return false;
	for (int i = 3; i < 5; i++) {
		char *colon = strrchr(f[i], ':');
		uint32_t port;
		uint32_t *addr = i == 3 ? &e->int_addr : &e->ext_addr;
		uint16_t *p16 = i == 3 ? &e->int_port : &e->ext_port;

		if (!colon || !parse_u32(colon + 1, 0, 65535, &port))
			return false;
		*colon = '\0';
		if (inet_pton(AF_INET, f[i], addr) != 1)
			return false;
		*colon = ':';
		*p16 = (uint16_t)port;
	}
	return true;
}

/* ------------------------------------------------------- the destinations */

struct ml_out {
	bool to_stdout;			/* neither file nor journal */
	/* file */
	const char *path;		/* NULL: none */
	uint64_t max_size;		/* 0: never rotate */
	unsigned int keep;		/* rotated files kept */
	int fd;
	uint64_t size;
	bool rotate_off;		/* rotation failed: off until SIGHUP */
	uint64_t file_lost;		/* lines not written, not yet reported */
	uint64_t file_warned;		/* monotonic ns of the last warning */
	/* journal */
	bool journal;
	int jfd;
	struct sockaddr_un jsa;
	socklen_t jlen;
	uint32_t rate;			/* records a second, 0: no limit */
	double tokens;
	uint64_t tokens_ns;		/* monotonic ns when tokens was right */
	uint64_t j_dropped;		/* not sent, not yet reported */
	uint64_t j_report_ns;		/* monotonic ns of the last lost record */
	uint64_t j_warned;		/* monotonic ns of the last warning */
	uint64_t (*mono)(void);		/* CLOCK_MONOTONIC ns; tests replace it */
	uint64_t (*real)(void);		/* CLOCK_REALTIME ns; tests replace it */
};

static uint64_t ml_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * ML_NS + (uint64_t)ts.tv_nsec;
}

static void ml_out_init(struct ml_out *o)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->jfd = -1;
	o->max_size = ML_DEFAULT_MAX_SIZE;
	o->keep = ML_DEFAULT_KEEP;
	o->rate = ML_DEFAULT_RATE;
	o->mono = ml_mono;
	o->real = now_realtime_ns;
}

/* A warning at most once a minute per *last. */
static bool ml_warn_due(struct ml_out *o, uint64_t *last)
{
	uint64_t now = o->mono();

	if (*last && now - *last < 60 * ML_NS)
		return false;
	*last = now ? now : 1;
	return true;
}

/* ---- file */

/* Open (create, 0640) the file for appending; 0 or -errno. */
static int ml_file_open(struct ml_out *o)
{
	struct stat st;

	if (o->fd >= 0)
		close(o->fd);
	o->fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		     O_NOCTTY, 0640);
	if (o->fd < 0)
		return -errno;
	o->size = fstat(o->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* PATH.n */
static void ml_rotated_name(const char *path, unsigned int n, char *buf,
			    size_t len)
{
	snprintf(buf, len, "%s.%u", path, n);
}

/*
 * PATH.(keep-1) -> PATH.keep, ..., PATH -> PATH.1, older ones removed,
 * and a new PATH. 0 or -errno (then rotation stays off until SIGHUP).
 */
static int ml_file_rotate(struct ml_out *o)
{
	char from[4096], to[4096];
	unsigned int i;
	int err;

	if (strlen(o->path) + 8 > sizeof(from))
		return -ENAMETOOLONG;
	if (!o->keep) {
		if (unlink(o->path) < 0 && errno != ENOENT)
			goto fail;
	} else {
		for (i = o->keep - 1; i >= 1; i--) {
			ml_rotated_name(o->path, i, from, sizeof(from));
			ml_rotated_name(o->path, i + 1, to, sizeof(to));
			if (rename(from, to) < 0 && errno != ENOENT)
				goto fail;
		}
		ml_rotated_name(o->path, 1, to, sizeof(to));
		if (rename(o->path, to) < 0 && errno != ENOENT)
			goto fail;
	}
	/* Older files than keep allows (keep was lowered): gone. */
	for (i = o->keep + 1; i <= ML_MAX_KEEP + 1; i++) {
		ml_rotated_name(o->path, i, to, sizeof(to));
		if (unlink(to) < 0)
			break;
	}
	err = ml_file_open(o);
	if (err)
		return err;
	return 0;
fail:
	err = -errno;
	o->rotate_off = true;
	warnmsg("log: cannot rotate %s: %s (it grows past max-size until SIGHUP; check the directory's permissions)",
		o->path, strerror(-err));
	return err;
}

/* Write one whole line (rotating first when it would not fit). */
static bool ml_file_put(struct ml_out *o, const char *line, size_t len)
{
	size_t done = 0;
	ssize_t w;

	if (o->fd < 0 && ml_file_open(o))
		return false;
	if (o->max_size && !o->rotate_off && o->size &&
	    o->size + len > o->max_size)
		ml_file_rotate(o);
	if (o->fd < 0)
		return false;
	while (done < len) {
		w = write(o->fd, line + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			/* no half line: cut it off again */
			if (done && ftruncate(o->fd, (off_t)o->size) < 0)
				o->size += done;
			errno = e;
			return false;
		}
		done += (size_t)w;
	}
	o->size += len;
	return true;
}

/* A line to the file; a lost line first for those that failed before. */
static void ml_file_event(struct ml_out *o, const char *line, size_t len)
{
	char buf[ML_LINE_MAX];

	if (o->file_lost) {
		struct ml_event lost = {
			.kind = ML_LOST, .ns = o->real(), .lost = o->file_lost,
		};
		size_t n = ml_format_line(&lost, buf, sizeof(buf));

		if (!ml_file_put(o, buf, n)) {
			o->file_lost++;
			return;
		}
		o->file_lost = 0;
	}
	if (ml_file_put(o, line, len))
		return;
	o->file_lost++;
	if (ml_warn_due(o, &o->file_warned))
		warnmsg("log: cannot write %s: %s (lines are counted, and a lost line says how many once it works again)",
			o->path, strerror(errno));
}

/* ---- journal (systemd-journald's native protocol: a datagram of
 * FIELD=value lines; no libsystemd) */

static const char *ml_journal_path(void)
{
	const char *p = getenv("NATK_JOURNAL_SOCKET");

	return p && p[0] ? p : ML_JOURNAL_SOCKET;
}

/* 0 or -errno */
static int ml_journal_connect(struct ml_out *o)
{
	const char *path = ml_journal_path();
	size_t len = strlen(path);

	if (o->jfd >= 0)
		close(o->jfd);
	o->jfd = -1;
	if (len >= sizeof(o->jsa.sun_path))
		return -ENAMETOOLONG;
	memset(&o->jsa, 0, sizeof(o->jsa));
	o->jsa.sun_family = AF_UNIX;
	memcpy(o->jsa.sun_path, path, len);
	if (path[0] == '@')
		o->jsa.sun_path[0] = '\0';
	o->jlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	o->jfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (o->jfd < 0)
		return -errno;
	if (connect(o->jfd, (struct sockaddr *)&o->jsa, o->jlen) < 0) {
		int e = errno;

		close(o->jfd);
		o->jfd = -1;
		return -e;
	}
	return 0;
}

/* The datagram for e (with message text): FIELD=value lines. */
static size_t ml_journal_record(const struct ml_event *e, const char *text,
				char *buf, size_t len)
{
	char ia[INET_ADDRSTRLEN], ea[INET_ADDRSTRLEN];
	int n;

	n = snprintf(buf, len,
		     "MESSAGE=%s\nPRIORITY=%d\nSYSLOG_IDENTIFIER=" ML_IDENT
		     "\nNATK_EVENT=%s\n", text, e->kind == ML_LOST ? 4 : 6,
		     ml_kind_names[e->kind]);
	if (e->kind == ML_LOST) {
		if (e->lost)
			n += snprintf(buf + n, len - (size_t)n,
				      "NATK_LOST=%" PRIu64 "\n", e->lost);
	} else if (e->block) {
		inet_ntop(AF_INET, &e->int_addr, ia, sizeof(ia));
		inet_ntop(AF_INET, &e->ext_addr, ea, sizeof(ea));
		n += snprintf(buf + n, len - (size_t)n,
			      "NATK_BLOCK=1\nNATK_INTERNAL=%s\nNATK_EXTERNAL=%s:%u-%u\n"
			      "NATK_EXTERNAL_ADDRESS=%s\nNATK_PORT_FIRST=%u\nNATK_PORT_LAST=%u\n",
			      ia, ea, e->ext_port, e->ext_port_last, ea,
			      e->ext_port, e->ext_port_last);
	} else {
		inet_ntop(AF_INET, &e->int_addr, ia, sizeof(ia));
		inet_ntop(AF_INET, &e->ext_addr, ea, sizeof(ea));
		n += snprintf(buf + n, len - (size_t)n,
			      "NATK_PROTO=%s\nNATK_INTERNAL=%s:%u\nNATK_EXTERNAL=%s:%u\n",
			      proto_name(e->proto), ia, e->int_port, ea,
			      e->ext_port);
	}
	n += snprintf(buf + n, len - (size_t)n, "NATK_TIMESTAMP_NS=%" PRIu64 "\n",
		      e->ns);
	return (size_t)n;
}

/* Send one record; false if journald did not take it. Never blocks: a
 * busy journald loses records, which are then counted. */
static bool ml_journal_send(struct ml_out *o, const struct ml_event *e,
			    const char *text)
{
	char buf[512];
	size_t n = ml_journal_record(e, text, buf, sizeof(buf));
	int err = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (o->jfd >= 0 &&
		    send(o->jfd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return true;
		err = o->jfd >= 0 ? errno : ENOTCONN;
		if (err == EAGAIN || err == EWOULDBLOCK)
			break;
		/* journald restarted: its socket is a new one */
		if (attempt == 0) {
			int c = ml_journal_connect(o);

			if (!c)
				continue;
			err = -c;
		}
		break;
	}
	if (ml_warn_due(o, &o->j_warned))
		warnmsg("log: journald does not take records (%s): %s (counted; a lost record follows)",
			ml_journal_path(), strerror(err));
	return false;
}

/* Token bucket: rate a second, bursts of rate. */
static bool ml_rate_take(struct ml_out *o)
{
	uint64_t now = o->mono();

	if (!o->rate)
		return true;
	if (now > o->tokens_ns) {
		o->tokens += (double)(now - o->tokens_ns) * o->rate / 1e9;
		if (o->tokens > o->rate)
			o->tokens = o->rate;
		o->tokens_ns = now;
	}
	if (o->tokens < 1)
		return false;
	o->tokens -= 1;
	return true;
}

/* At most once a second (or now, with force): a lost record for the
 * records the journal did not get. */
static void ml_journal_tick(struct ml_out *o, bool force)
{
	struct ml_event e = { .kind = ML_LOST };
	uint64_t now = o->mono();
	char text[96];

	if (!o->journal || !o->j_dropped ||
	    (!force && o->j_report_ns && now - o->j_report_ns < ML_NS))
		return;
	e.ns = o->real();
	e.lost = o->j_dropped;
	snprintf(text, sizeof(text), "lost %" PRIu64 " (journal rate limit %u/s, or journald busy)",
		 e.lost, o->rate);
	o->j_report_ns = now ? now : 1;
	if (ml_journal_send(o, &e, text))
		o->j_dropped = 0;
}

/* Monotonic ns until the journal's next lost record is due (0: none). */
static uint64_t ml_journal_due(const struct ml_out *o)
{
	if (!o->journal || !o->j_dropped)
		return 0;
	return o->j_report_ns + ML_NS;
}

/* ---- all of them */

static void ml_stdout_event(const struct ml_event *e, const char *line)
{
	char t[TIME_STRLEN], a[INET_ADDRSTRLEN];

	if (!print_is_json()) {
		fputs(line, stdout);
		fflush(stdout);
		return;
	}
	format_time(e->ns, t, sizeof(t));
	print_open_object(NULL);
	print_string(PRINT_JSON, "time", NULL, t);
	print_string(PRINT_JSON, "event", NULL, ml_kind_names[e->kind]);
	if (e->kind == ML_LOST) {
		if (e->lost)
			print_u64(PRINT_JSON, "lost", NULL, e->lost);
		else
			print_null(PRINT_JSON, "lost", NULL, NULL);
	} else if (e->block) {
		print_null(PRINT_JSON, "proto", NULL, NULL);
		inet_ntop(AF_INET, &e->int_addr, a, sizeof(a));
		print_string(PRINT_JSON, "internal_address", NULL, a);
		print_null(PRINT_JSON, "internal_port", NULL, NULL);
		inet_ntop(AF_INET, &e->ext_addr, a, sizeof(a));
		print_string(PRINT_JSON, "external_address", NULL, a);
		print_u64(PRINT_JSON, "external_port", NULL, e->ext_port);
		print_u64(PRINT_JSON, "external_port_last", NULL,
			  e->ext_port_last);
	} else {
		print_string(PRINT_JSON, "proto", NULL, proto_name(e->proto));
		inet_ntop(AF_INET, &e->int_addr, a, sizeof(a));
		print_string(PRINT_JSON, "internal_address", NULL, a);
		print_u64(PRINT_JSON, "internal_port", NULL, e->int_port);
		inet_ntop(AF_INET, &e->ext_addr, a, sizeof(a));
		print_string(PRINT_JSON, "external_address", NULL, a);
		print_u64(PRINT_JSON, "external_port", NULL, e->ext_port);
	}
	print_close_object();
	print_end();
	print_flush();
}

/* One event to every destination. */
static void ml_emit(struct ml_out *o, const struct ml_event *e)
{
	char line[ML_LINE_MAX], text[ML_LINE_MAX];
	size_t len = ml_format_line(e, line, sizeof(line));

	if (o->to_stdout)
		ml_stdout_event(e, line);
	if (o->path)
		ml_file_event(o, line, len);
	if (o->journal) {
		/* lost records are rare and always go */
		if (e->kind != ML_LOST && !ml_rate_take(o)) {
			o->j_dropped++;
		} else {
			ml_format_text(e, text, sizeof(text));
			if (!ml_journal_send(o, e, text))
				o->j_dropped++;
		}
		ml_journal_tick(o, false);
	}
}

static void ml_lost(struct ml_out *o, uint64_t n)
{
	struct ml_event e = { .kind = ML_LOST, .ns = o->real(), .lost = n };

	ml_emit(o, &e);
}

/* ------------------------------------------------------------ natkctl log */

static volatile sig_atomic_t ml_stop, ml_hup;

static void ml_on_signal(int sig)
{
	if (sig == SIGHUP)
		ml_hup = 1;
	else
		ml_stop = 1;
}

/* A NATK_CMD_MAP_NEW or _DEL event into e; false if it is not one. */
static bool ml_parse_msg(struct nl_msg *msg, struct ml_event *e)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[NATK_A_MAX + 1], *mb[NATK_MAP_A_MAX + 1];

	memset(e, 0, sizeof(*e));
	if (nlh->nlmsg_type != nk_family() ||
	    (g->cmd != NATK_CMD_MAP_NEW && g->cmd != NATK_CMD_MAP_DEL) ||
	    genlmsg_parse(nlh, 0, tb, NATK_A_MAX, NULL) < 0 ||
	    !tb[NATK_A_MAP] ||
	    nla_parse_nested(mb, NATK_MAP_A_MAX, tb[NATK_A_MAP], NULL) < 0 ||
	    !mb[NATK_MAP_A_INT_ADDR_BE] || nla_len(mb[NATK_MAP_A_INT_ADDR_BE]) < 4 ||
	    !mb[NATK_MAP_A_EXT_ADDR_BE] || nla_len(mb[NATK_MAP_A_EXT_ADDR_BE]) < 4 ||
	    !mb[NATK_MAP_A_EXT_PORT] || nla_len(mb[NATK_MAP_A_EXT_PORT]) < 2)
		return false;
	/* A port block: its first and last port, no protocol or internal
	 * port (it serves all of the host's mappings). */
	e->block = mb[NATK_MAP_A_EXT_PORT_LAST] != NULL;
	if (e->block ? nla_len(mb[NATK_MAP_A_EXT_PORT_LAST]) < 2 :
	    !mb[NATK_MAP_A_PROTO] || nla_len(mb[NATK_MAP_A_PROTO]) < 1 ||
	    !mb[NATK_MAP_A_INT_PORT] || nla_len(mb[NATK_MAP_A_INT_PORT]) < 2)
		return false;
	e->kind = g->cmd == NATK_CMD_MAP_NEW ? ML_NEW : ML_DEL;
	e->int_addr = nla_get_u32(mb[NATK_MAP_A_INT_ADDR_BE]);
	e->ext_addr = nla_get_u32(mb[NATK_MAP_A_EXT_ADDR_BE]);
	e->ext_port = nla_get_u16(mb[NATK_MAP_A_EXT_PORT]);
	if (e->block) {
		e->ext_port_last = nla_get_u16(mb[NATK_MAP_A_EXT_PORT_LAST]);
		if (e->ext_port_last < e->ext_port)
			return false;
	} else {
		e->proto = nla_get_u8(mb[NATK_MAP_A_PROTO]);
		e->int_port = nla_get_u16(mb[NATK_MAP_A_INT_PORT]);
	}
	if (tb[NATK_A_TIMESTAMP_NS] && nla_len(tb[NATK_A_TIMESTAMP_NS]) >= 8)
		e->ns = nla_get_u64(tb[NATK_A_TIMESTAMP_NS]);
	else
		e->ns = now_realtime_ns();
	return true;
}

struct ml_run {
	struct ml_out *o;
	uint64_t kern_lost;		/* map_events_lost when last read */
	bool overrun;			/* ENOBUFS, not yet reported */
	bool gone;			/* natk's family was unregistered */
	uint64_t next_check;		/* monotonic ns */
};

/* nlctrl's notification that the natk family went away (rmmod natk):
 * its multicast groups, and our membership, go with it. */
static bool ml_family_gone(struct nl_msg *msg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct nlattr *a;

	if (nlh->nlmsg_type != GENL_ID_CTRL || g->cmd != CTRL_CMD_DELFAMILY ||
	    genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL) < 0)
		return false;
	a = tb[CTRL_ATTR_FAMILY_NAME];
	return a && nla_len(a) >= (int)sizeof(NATK_GENL_NAME) &&
	       !strcmp(nla_data(a), NATK_GENL_NAME);
}

static int ml_event_cb(struct nl_msg *msg, void *arg)
{
	struct ml_run *r = arg;
	struct ml_event e;

	if (ml_family_gone(msg)) {
		r->gone = true;
		return NL_STOP;
	}
	if (!ml_parse_msg(msg, &e))
		return NL_SKIP;
	ml_emit(r->o, &e);
	return NL_OK;
}

static int ml_noop_cb(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int ml_live_cmp(const void *a, const void *b)
{
	const struct ml_event *x = a, *y = b;

	if (x->block != y->block)
		return x->block ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->ext_port != y->ext_port)
		return x->ext_port < y->ext_port ? -1 : 1;
	if (x->ext_addr != y->ext_addr)
		return ntohl(x->ext_addr) < ntohl(y->ext_addr) ? -1 : 1;
	if (x->int_addr != y->int_addr)
		return ntohl(x->int_addr) < ntohl(y->int_addr) ? -1 : 1;
	if (x->int_port != y->int_port)
		return x->int_port < y->int_port ? -1 : 1;
	if (x->ext_port_last != y->ext_port_last)
		return x->ext_port_last < y->ext_port_last ? -1 : 1;
	return 0;
}

/* The port geometry of natk's blocks (natkctl set port-block). */
struct ml_blocks {
	uint16_t size;			/* 0: blocks are off */
	uint16_t port_min, port_max;
};

/*
 * The block of geo that holds port: its first and last port; false when
 * blocks are off or port is in none (outside the range, or in the part
 * past the last whole block).
 */
static bool ml_block_of(const struct ml_blocks *geo, uint16_t port,
			uint16_t *first, uint16_t *last)
{
	uint32_t k, f;

	if (!geo || !geo->size || port < geo->port_min || port > geo->port_max)
		return false;
	k = (uint32_t)(port - geo->port_min) / geo->size;
	f = geo->port_min + k * geo->size;
	if (f + geo->size - 1 > geo->port_max)
		return false;
	*first = (uint16_t)f;
	*last = (uint16_t)(f + geo->size - 1);
	return true;
}

/*
 * The distinct mappings of flows (proto, internal and external endpoint),
 * as live events at ns, sorted; port forwards' flows left out (static
 * mappings send no events): a forward's flow has its protocol, port and
 * address, the one it names or else primary (the primary external
 * address; 0: unknown, any). Several addresses may have the same port.
 * With port blocks on (geo), the blocks of the flows' ports instead, one
 * per internal address and block: a block whose mappings all ended while
 * its host keeps flows in another block is not seen (it has no port in
 * use; its del comes all the same). Returns how many are in *out
 * (malloc'ed).
 */
static size_t ml_live_from_flows(const struct flow *fl, size_t n,
				 const struct natk_fwd *fw, size_t nfw,
				 uint32_t primary, const struct ml_blocks *geo,
				 uint64_t ns, struct ml_event **out)
{
	struct ml_event *v = calloc(n ? n : 1, sizeof(*v));
	size_t k = 0, i, j;

	if (!v)
		fail("out of memory (%zu flows)", n);
	for (i = 0; i < n; i++) {
		bool fwd = false;

		for (j = 0; j < nfw && !fwd; j++) {
			uint32_t a = fw[j].ext_addr_be ? fw[j].ext_addr_be :
				     primary;

			fwd = fw[j].proto == fl[i].proto &&
			      fw[j].ext_port == fl[i].ext_port &&
			      (!a || a == fl[i].ext_addr);
		}
		if (fwd)
			continue;
		v[k].kind = ML_LIVE;
		v[k].ns = ns;
		v[k].proto = fl[i].proto;
		v[k].int_addr = fl[i].int_addr;
		v[k].int_port = fl[i].int_port;
		v[k].ext_addr = fl[i].ext_addr;
		v[k].ext_port = fl[i].ext_port;
		if (ml_block_of(geo, fl[i].ext_port, &v[k].ext_port,
				&v[k].ext_port_last)) {
			v[k].block = true;
			v[k].proto = 0;
			v[k].int_port = 0;
		}
		k++;
	}
	qsort(v, k, sizeof(*v), ml_live_cmp);
	for (i = 0, j = 0; i < k; i++)
		if (!j || ml_live_cmp(&v[j - 1], &v[i]))
			v[j++] = v[i];
	*out = v;
	return j;
}

/* What natk had mapped when the log started: live lines. */
static void ml_write_live(struct ml_out *o)
{
	struct flow_filter ff = {};
	struct natk_status st;
	struct natk_fwd *fw = NULL;
	struct flow *fl = NULL;
	struct ml_event *ev;
	struct ml_blocks geo;
	size_t n, nfw = 0, i;
	int err;

	err = status_get(&st);
	if (err)
		nk_fail("log: status", err);
	geo = (struct ml_blocks){ st.port_block, st.port_min, st.port_max };
	err = fwd_get_all(&fw, &nfw);
	if (err)
		nk_fail("log: port forwards", err);
	flows_get_all(&ff, &fl, &n);
	n = ml_live_from_flows(fl, n, fw, nfw, st.ext_addr, &geo,
			       now_realtime_ns(), &ev);
	for (i = 0; i < n; i++)
		ml_emit(o, &ev[i]);
	free(ev);
	free(fl);
	free(fw);
}

/* natk went away under the log: its mappings ended unseen. */
static void ml_gone(struct ml_run *r, const char *why)
{
	ml_lost(r->o, 0);
	ml_journal_tick(r->o, true);
	fail("log: %s: its mappings ended without del events; start the log again once natk runs (natk-maplog.service does)",
	     why);
}

/*
 * Read map_events_lost: a lost line for its growth, or for an overrun
 * the counter did not show (how many is then unknown). A natk that does
 * not answer any more (unloaded) ends the log: its mappings are gone
 * without del events.
 */
static void ml_check_lost(struct ml_run *r)
{
	uint64_t v[NATK_STAT_MAX + 1];
	int err = stats_get(v);

	r->next_check = r->o->mono() + (uint64_t)ML_CHECK_MS * 1000000;
	if (err) {
		char why[128];

		snprintf(why, sizeof(why), "natk does not answer (%s): was it unloaded?",
			 strerror(-err));
		ml_gone(r, why);
	}
	/* lower: natk was reloaded (and our subscription went with it) */
	if (v[NATK_STAT_MAP_EVENTS_LOST] < r->kern_lost)
		ml_gone(r, "natk was reloaded");
	if (v[NATK_STAT_MAP_EVENTS_LOST] > r->kern_lost) {
		ml_lost(r->o, v[NATK_STAT_MAP_EVENTS_LOST] - r->kern_lost);
		r->overrun = false;
	} else if (r->overrun) {
		ml_lost(r->o, 0);
		r->overrun = false;
	}
	r->kern_lost = v[NATK_STAT_MAP_EVENTS_LOST];
}

static struct nl_sock *ml_subscribe(void)
{
	struct nl_sock *esk;
	int grp, err, bytes = 32 << 20;

	grp = genl_ctrl_resolve_grp(nk_sock(), NATK_GENL_NAME,
				    NATK_MCGRP_MAPPINGS);
	if (grp == -NLE_OBJ_NOTFOUND)
		fail("log: the loaded natk.ko is too old for the mapping log (it has no \"%s\" multicast group): upgrade natk, then reload the module (systemctl stop natk; rmmod natk; systemctl start natk) or reboot",
		     NATK_MCGRP_MAPPINGS);
	if (grp < 0)
		fail("log: cannot look up natk's \"%s\" multicast group: %s",
		     NATK_MCGRP_MAPPINGS, nl_geterror(grp));
	esk = nl_socket_alloc();
	if (!esk)
		fail("out of memory");
	err = genl_connect(esk);
	if (err < 0)
		fail("log: cannot open a generic netlink socket: %s",
		     nl_geterror(err));
	err = nl_socket_add_membership(esk, grp);
	if (err < 0)
		fail("log: cannot subscribe to natk's mapping events: %s%s",
		     nl_geterror(err), err == -NLE_PERM ? " (run as root)" : "");
	/* Best effort: root may exceed net.core.rmem_max. */
	if (setsockopt(nl_socket_get_fd(esk), SOL_SOCKET, SO_RCVBUFFORCE,
		       &bytes, sizeof(bytes)) < 0)
		nl_socket_set_buffer_size(esk, bytes, 0);
	/* Told when natk is unloaded: the group and our membership end. */
	grp = genl_ctrl_resolve_grp(nk_sock(), "nlctrl", "notify");
	if (grp < 0 || nl_socket_add_membership(esk, grp) < 0)
		warnmsg("log: warning: cannot follow nlctrl's notifications: an unloaded natk is seen by the next check (%d s)",
			ML_CHECK_MS / 1000);
	nl_socket_disable_seq_check(esk);
	nl_socket_set_nonblocking(esk);
	return esk;
}

/* Read what the socket holds; false when it is empty. */
static bool ml_receive(struct ml_run *r, struct nl_sock *esk,
		       struct nl_cb *cb)
{
	int err = nl_recvmsgs(esk, cb);

	if (err == -NLE_AGAIN)
		return false;
	if (err == -NLE_NOMEM) {
		/* ENOBUFS: the socket overflowed, events were lost; say so
		 * within a second, with the kernel's count */
		if (!r->overrun) {
			uint64_t soon = r->o->mono() + ML_NS;

			r->overrun = true;
			if (soon < r->next_check)
				r->next_check = soon;
		}
		return true;
	}
	if (err < 0 && !ml_stop)
		fail("log: %s", nl_geterror(err));
	return err >= 0;
}

static bool ml_parse_size(const char *s, uint64_t *out)
{
	char num[24];
	size_t len = strlen(s);
	uint64_t mult = 1;
	uint32_t v;

	if (!len || len >= sizeof(num))
		return false;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'k': case 'K': mult = 1ull << 10; num[--len] = '\0'; break;
	case 'm': case 'M': mult = 1ull << 20; num[--len] = '\0'; break;
	case 'g': case 'G': mult = 1ull << 30; num[--len] = '\0'; break;
	default: break;
	}
	if (!parse_u32(num, 1, UINT32_MAX, &v))
		return false;
	*out = v * mult;
	return true;
}

/* natkctl log [file PATH [max-size SIZE] [keep N]] [journal [rate N]] */
static void ml_parse_args(struct ml_out *o, int argc, char **argv)
{
	static const char *const kw[] = {
		"file", "max-size", "keep", "journal", "rate",
	};
	bool seen[ARRAY_SIZE(kw)] = {};
	uint32_t v;
	int k;

	while (argc > 0) {
		k = match_word(argv[0], kw, ARRAY_SIZE(kw), false);
		if (k < 0)
			usage_fail("log", "unknown argument '%s' (file, max-size, keep, journal or rate)",
				   argv[0]);
		if (seen[k])
			usage_fail("log", "'%s' given twice", kw[k]);
		seen[k] = true;
		if (k == 3) {
			o->journal = true;
			argc--;
			argv++;
			continue;
		}
		if (argc < 2)
			usage_fail("log", "'%s' needs a value", kw[k]);
		switch (k) {
		case 0:
			if (!argv[1][0])
				usage_fail("log", "empty file name");
			o->path = argv[1];
			break;
		case 1:
			if (!ml_parse_size(argv[1], &o->max_size))
				usage_fail("log", "invalid max-size '%s' (bytes, or with K, M or G: 100M)",
					   argv[1]);
			break;
		case 2:
			if (!parse_u32(argv[1], 0, ML_MAX_KEEP, &v))
				usage_fail("log", "invalid keep '%s' (0 to %d rotated files)",
					   argv[1], ML_MAX_KEEP);
			o->keep = v;
			break;
		default:
			if (!parse_u32(argv[1], 0, 1000000, &o->rate))
				usage_fail("log", "invalid rate '%s' (records a second, 0 for no limit, at most 1000000)",
					   argv[1]);
			break;
		}
		argc -= 2;
		argv += 2;
	}
	if ((seen[1] || seen[2]) && !o->path)
		usage_fail("log", "'max-size' and 'keep' are for 'file PATH'");
	if (seen[4] && !o->journal)
		usage_fail("log", "'rate' is for 'journal'");
	o->to_stdout = !o->path && !o->journal;
	if (print_is_json() && !o->to_stdout)
		usage_fail("log", "-j is for the standard output: with file or journal, log writes lines as documented in natkctl(8)");
}

int cmd_log(int argc, char **argv)
{
	struct ml_out o;
	struct ml_run r = {};
	struct sigaction sa = {};
	struct nl_sock *esk;
	struct nl_cb *cb;
	struct pollfd pfd;
	uint64_t v[NATK_STAT_MAX + 1];
	int err;

	ml_out_init(&o);
	ml_parse_args(&o, argc, argv);
	/* JSON lines: one compact object per line, even with -p */
	print_init(print_is_json(), false);

	/* The destinations first: they are what an admin gets wrong. */
	if (o.path) {
		err = ml_file_open(&o);
		if (err)
			fail("log: cannot open %s: %s (the directory must exist and be writable; natk-maplog.service's is /var/log/natk)",
			     o.path, strerror(-err));
	}
	if (o.journal) {
		err = ml_journal_connect(&o);
		if (err)
			fail("log: cannot connect to systemd-journald at %s: %s (is systemd-journald running? Leave out 'journal' to log to a file only)",
			     ml_journal_path(), strerror(-err));
		o.tokens = o.rate;
		o.tokens_ns = o.mono();
	}

	/* Not loaded: no autoload. A service restarted after "rmmod natk"
	 * must not load it again. */
	if (!nk_module_loaded())
		fail("the natk module is not loaded (try: modprobe natk)");
	nk_open();
	/* Subscribed before the dump: no mapping falls between the two. */
	esk = ml_subscribe();
	r.o = &o;
	err = stats_get(v);
	if (err)
		nk_fail("log: stats", err);
	r.kern_lost = v[NATK_STAT_MAP_EVENTS_LOST];

	sa.sa_handler = ml_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);

	ml_write_live(&o);
	r.next_check = o.mono() + (uint64_t)ML_CHECK_MS * 1000000;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		fail("out of memory");
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, ml_noop_cb, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, ml_event_cb, &r);
	pfd.fd = nl_socket_get_fd(esk);
	pfd.events = POLLIN;

	while (!ml_stop) {
		uint64_t now = o.mono(), due = r.next_check, jdue;
		int timeout, n;

		jdue = ml_journal_due(&o);
		if (jdue && jdue < due)
			due = jdue;
		timeout = due > now ? (int)((due - now) / 1000000) + 1 : 0;
		n = poll(&pfd, 1, timeout);
		if (n < 0 && errno != EINTR)
			fail("log: poll: %s", strerror(errno));
		if (ml_hup) {
			ml_hup = 0;
			if (o.path) {
				o.rotate_off = false;
				err = ml_file_open(&o);
				if (err)
					warnmsg("log: cannot reopen %s: %s (lines are counted until it works)",
						o.path, strerror(-err));
			}
		}
		if (n > 0) {
			/* a batch at a time: the timers still run under load */
			for (int i = 0; i < 256 && !ml_stop && !r.gone; i++)
				if (!ml_receive(&r, esk, cb))
					break;
		}
		if (r.gone)
			ml_gone(&r, "natk was unloaded");
		if (o.mono() >= r.next_check)
			ml_check_lost(&r);
		ml_journal_tick(&o, false);
		if (o.to_stdout && ferror(stdout))
			break;
	}
	/* What is queued still goes in, then the last word on losses. */
	for (int i = 0; i < 100000 && !r.gone && ml_receive(&r, esk, cb); i++)
		;
	if (r.gone)
		ml_gone(&r, "natk was unloaded");
	ml_check_lost(&r);
	ml_journal_tick(&o, true);
	nl_cb_put(cb);
	nl_socket_free(esk);
	if (o.fd >= 0)
		close(o.fd);
	if (o.jfd >= 0)
		close(o.jfd);
	return 0;
}

/* ------------------------------------------------------------ natkctl who */

struct ml_query {
	uint64_t at;
	bool have_proto;
	uint8_t proto;
	uint32_t ext_addr;		/* network order */
	uint16_t ext_port;
};

/* Who had the queried external endpoint, from when to when. */
struct ml_span {
	uint8_t proto;			/* 0 for a block */
	uint32_t int_addr, ext_addr;
	uint16_t int_port, ext_port;	/* a block: 0, the queried port */
	bool block;			/* a port block of int_addr's: */
	uint16_t first, last;		/* its ports */
	uint64_t from, to;		/* to: 0 while open (no del yet) */
	bool from_inferred;		/* no new or live line: it began after
					 * the port's previous use (or the
					 * log's start), when is unknown */
	bool to_inferred;		/* no del line: a later new or live for
					 * another endpoint ended it */
	bool lost_near;			/* a lost line from its start to TIME */
};

struct ml_answer {
	struct ml_span *v;
	size_t n, cap;
	bool lost_near;			/* nothing found, but a lost line near */
	bool before_log;		/* TIME is before the log's first line */
};

static void ml_answer_add(struct ml_answer *a, const struct ml_span *s)
{
	a->v = grow_array(a->v, &a->cap, a->n, sizeof(*a->v), 8);
	a->v[a->n++] = *s;
}

static bool ml_lost_between(const struct ml_event *ev, size_t n, uint64_t lo,
			    uint64_t hi)
{
	for (size_t i = 0; i < n; i++)
		if (ev[i].kind == ML_LOST && ev[i].ns >= lo && ev[i].ns <= hi)
			return true;
	return false;
}

static bool ml_span_has(const struct ml_span *s, uint64_t at)
{
	return s->from <= at && (!s->to || at <= s->to);
}

/* Does e concern the queried endpoint in category p (a protocol, or 0:
 * the port blocks that contain the port)? */
static bool ml_who_match(const struct ml_event *e, uint8_t p,
			 const struct ml_query *q)
{
	if (e->kind == ML_LOST || e->ext_addr != q->ext_addr)
		return false;
	if (!p)
		return e->block && e->ext_port <= q->ext_port &&
		       q->ext_port <= e->ext_port_last;
	return !e->block && e->proto == p && e->ext_port == q->ext_port;
}

/* A span starting as e says (from set by the caller). */
static void ml_span_of(struct ml_span *s, const struct ml_event *e,
		       const struct ml_query *q)
{
	memset(s, 0, sizeof(*s));
	s->int_addr = e->int_addr;
	s->ext_addr = e->ext_addr;
	if (e->block) {
		s->block = true;
		s->ext_port = q->ext_port;
		s->first = e->ext_port;
		s->last = e->ext_port_last;
	} else {
		s->proto = e->proto;
		s->int_port = e->int_port;
		s->ext_port = e->ext_port;
	}
}

/*
 * Who had q's external endpoint at q->at, from the log's events ev[] in
 * the order of the log (events on other endpoints are skipped; the lost
 * ones count wherever they are); start is the time of the log's first
 * line. Per protocol, an external port has one mapping at a time
 * (endpoint-independent mapping), and with port blocks one block holds
 * it at a time, for every protocol (the blocks that contain the port are
 * a category of their own, whatever q's protocol):
 *   - new or live opens [t, ...) for its internal endpoint (a block: its
 *     internal address and range); again for the same one it changes
 *     nothing (a restarted log's live lines); for another it ends the open
 *     one at t (its del was lost: to_inferred);
 *   - del ends the open one at t; with none open (its new was lost, or
 *     before the log) it began after the port's previous del, or the
 *     log's start (from_inferred);
 *   - what has no del is open until the end of the log, and after.
 * Each span that contains at goes into a, in the order of their start.
 */
static void ml_who(const struct ml_event *ev, size_t n, uint64_t start,
		   const struct ml_query *q, struct ml_answer *a)
{
	/* 0: the port blocks, first */
	static const uint8_t cats[] = { 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	uint64_t prev = start;

	memset(a, 0, sizeof(*a));
	a->before_log = q->at < start;
	for (size_t p = 0; p < ARRAY_SIZE(cats); p++) {
		struct ml_span open = {}, s;
		bool is_open = false;
		uint64_t free_since = start;

		if (q->have_proto && cats[p] && q->proto != cats[p])
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct ml_event *e = &ev[i];
			bool same;

			if (!ml_who_match(e, cats[p], q))
				continue;
			/* the last event on this endpoint up to at */
			if (e->ns <= q->at && e->ns > prev)
				prev = e->ns;
			same = is_open && open.int_addr == e->int_addr &&
			       (e->block ? open.first == e->ext_port &&
				open.last == e->ext_port_last :
				open.int_port == e->int_port);
			if (e->kind == ML_NEW || e->kind == ML_LIVE) {
				if (same)
					continue;
				if (is_open) {
					open.to = e->ns;
					open.to_inferred = true;
					if (ml_span_has(&open, q->at))
						ml_answer_add(a, &open);
				}
				ml_span_of(&open, e, q);
				open.from = e->ns;
				is_open = true;
				continue;
			}
			/* del */
			if (same) {
				open.to = e->ns;
			} else {
				if (is_open) {
					/* both dels and a new were lost */
					open.to = e->ns;
					open.to_inferred = true;
					if (ml_span_has(&open, q->at))
						ml_answer_add(a, &open);
				}
				ml_span_of(&s, e, q);
				s.from = is_open ? open.from : free_since;
				s.from_inferred = true;
				open = s;
				open.to = e->ns;
			}
			if (!open.to)	/* a del at the epoch: still closed */
				open.to = 1;
			if (ml_span_has(&open, q->at))
				ml_answer_add(a, &open);
			free_since = e->ns;
			is_open = false;
		}
		if (is_open && ml_span_has(&open, q->at))
			ml_answer_add(a, &open);
	}
	/* A lost line from the span's start to at (and the time a lost line
	 * may come late) may hide a change before at. */
	for (size_t i = 0; i < a->n; i++)
		a->v[i].lost_near = ml_lost_between(ev, n, a->v[i].from,
						    q->at + ML_LOST_SLACK_NS);
	if (!a->n)
		a->lost_near = ml_lost_between(ev, n, prev,
					       q->at + ML_LOST_SLACK_NS);
}

/* ---- reading the log */

/* The events of a log that concern one external endpoint, and every
 * lost line. */
struct ml_log {
	struct ml_event *v;
	size_t n, cap;
	uint64_t start, end;		/* the first and last line's times */
	bool any;			/* a line was read */
	size_t bad;			/* lines not understood */
	char tail[32];			/* " 192.0.2.1:41000": ext endpoint */
	size_t tail_len;
	const struct ml_query *q;
};

static void ml_log_init(struct ml_log *l, const struct ml_query *q)
{
	char a[INET_ADDRSTRLEN];

	memset(l, 0, sizeof(*l));
	l->q = q;
	inet_ntop(AF_INET, &q->ext_addr, a, sizeof(a));
	l->tail_len = (size_t)snprintf(l->tail, sizeof(l->tail), " %s:%u", a,
				       q->ext_port);
}

static void ml_log_add(struct ml_log *l, const struct ml_event *e)
{
	l->v = grow_array(l->v, &l->cap, l->n, sizeof(*l->v), 1024);
	l->v[l->n++] = *e;
}

/* One line: most are about other ports and only their time is read. */
static void ml_log_line(struct ml_log *l, char *line, size_t len)
{
	struct ml_event e;
	char *sp, *hit;
	bool want;
	uint64_t t;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (!len)
		return;
	sp = strchr(line, ' ');
	if (!sp) {
		l->bad++;
		return;
	}
	/* " lost", " EXT_ADDR:PORT" as a whole field, or a block (few:
	 * parsed whole, kept if it holds the port) */
	want = !strncmp(sp, " lost", 5) || strstr(sp, " block ") != NULL;
	for (hit = sp; !want && (hit = strstr(hit, l->tail));
	     hit += l->tail_len)
		want = hit[l->tail_len] == '\0' || hit[l->tail_len] == ' ';
	if (want) {
		if (!ml_parse_line(line, &e)) {
			l->bad++;
			return;
		}
		t = e.ns;
		if (e.kind == ML_LOST ||
		    (e.ext_addr == l->q->ext_addr &&
		     (!e.block || (e.ext_port <= l->q->ext_port &&
				   l->q->ext_port <= e.ext_port_last))))
			ml_log_add(l, &e);
	} else {
		*sp = '\0';
		if (!ml_parse_log_time(line, &t)) {
			l->bad++;
			return;
		}
	}
	if (!l->any)
		l->start = t;
	l->end = t;
	l->any = true;
}

static void ml_log_stream(struct ml_log *l, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) >= 0)
		ml_log_line(l, line, (size_t)len);
	free(line);
}

/*
 * PATH and its rotated files, oldest first: PATH.N ... PATH.1, PATH (N:
 * the last of PATH.1, PATH.2, ... that exist without a gap); "-" for
 * standard input alone. 0 or -errno, with the file's name in *bad.
 */
static int ml_log_read(struct ml_log *l, const char *path, char *bad,
		       size_t badlen)
{
	char name[4096];
	unsigned int n = 0, i;
	struct stat st;
	FILE *f;

	if (!strcmp(path, "-")) {
		ml_log_stream(l, stdin);
		snprintf(bad, badlen, "standard input");
		return ferror(stdin) ? -EIO : 0;
	}
	if (strlen(path) + 8 > sizeof(name))
		return -ENAMETOOLONG;
	while (n < ML_MAX_KEEP + 1) {
		ml_rotated_name(path, n + 1, name, sizeof(name));
		if (stat(name, &st) < 0)
			break;
		n++;
	}
	for (i = n + 1; i-- > 0;) {
		if (i)
			ml_rotated_name(path, i, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", path);
		f = fopen(name, "re");
		if (!f) {
			int e = errno;

			/* rotated away meanwhile, or between rename and open */
			if (e == ENOENT && (i || n))
				continue;
			snprintf(bad, badlen, "%s", name);
			return -e;
		}
		ml_log_stream(l, f);
		if (ferror(f)) {
			fclose(f);
			snprintf(bad, badlen, "%s", name);
			return -EIO;
		}
		fclose(f);
	}
	return 0;
}

/* ---- printing */

static void ml_who_print_span(const struct ml_span *s, const char *live_fmt,
			      uint64_t flows)
{
	char a[INET_ADDRSTRLEN], t[TIME_STRLEN];

	print_open_object(NULL);
	if (s->block) {
		/* "block 192.0.2.1:1024-1039 10.0.0.2": every protocol */
		print_null(PRINT_JSON, "proto", NULL, NULL);
		inet_ntop(AF_INET, &s->ext_addr, a, sizeof(a));
		print_string(PRINT_ANY, "external_address", "block %s", a);
		print_u64(PRINT_JSON, "external_port", NULL, s->ext_port);
		print_u64(PRINT_ANY, "block_first", ":%u", s->first);
		print_u64(PRINT_ANY, "block_last", "-%u", s->last);
		inet_ntop(AF_INET, &s->int_addr, a, sizeof(a));
		print_string(PRINT_ANY, "internal_address", " %s", a);
		print_null(PRINT_JSON, "internal_port", NULL, NULL);
	} else {
		print_string(PRINT_ANY, "proto", "%s", proto_name(s->proto));
		inet_ntop(AF_INET, &s->ext_addr, a, sizeof(a));
		print_string(PRINT_ANY, "external_address", " %s", a);
		print_u64(PRINT_ANY, "external_port", ":%u", s->ext_port);
		inet_ntop(AF_INET, &s->int_addr, a, sizeof(a));
		print_string(PRINT_ANY, "internal_address", " %s", a);
		print_u64(PRINT_ANY, "internal_port", ":%u", s->int_port);
	}
	if (live_fmt) {
		print_null(PRINT_JSON, "from", NULL, NULL);
		print_null(PRINT_JSON, "to", NULL, NULL);
		print_u64(PRINT_ANY, "flows", live_fmt, flows);
		print_bool(PRINT_JSON, "certain", NULL, true);
	} else {
		format_time(s->from, t, sizeof(t));
		print_string(PRINT_ANY, "from", " from %s", t);
		if (s->to) {
			format_time(s->to, t, sizeof(t));
			print_string(PRINT_ANY, "to", " to %s", t);
		} else {
			print_null(PRINT_ANY, "to", " to %s", "-");
		}
		print_null(PRINT_JSON, "flows", NULL, NULL);
		print_bool(PRINT_JSON, "certain", NULL,
			   !s->from_inferred && !s->to_inferred && !s->lost_near);
	}
	print_close_object();
	print_text("\n");
}

static int ml_who_nobody(void)
{
	print_open_array(NULL);
	print_text("nobody\n");
	print_close_array();
	print_end();
	return ML_EXIT_NOBODY;
}

static int ml_span_cmp(const void *a, const void *b)
{
	const struct ml_span *x = a, *y = b;

	if (x->block != y->block)
		return x->block ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->int_addr != y->int_addr)
		return ntohl(x->int_addr) < ntohl(y->int_addr) ? -1 : 1;
	if (x->int_port != y->int_port)
		return x->int_port < y->int_port ? -1 : 1;
	return 0;
}

/*
 * The live answer from the flow table fl[]: with port blocks on (geo),
 * first the block that holds q's port, once per internal address with a
 * flow on a port of it (port forwards' flows left out: fw, primary as for
 * ml_live_from_flows), whatever q's protocol; then one span per internal
 * endpoint with a flow on the port itself (of q's protocol, if given),
 * forwards' included. Sorted, with each one's flows in count[]. Returns
 * how many are in *out and *count (malloc'ed).
 */
static size_t ml_who_from_flows(const struct flow *fl, size_t n,
				const struct natk_fwd *fw, size_t nfw,
				uint32_t primary, const struct ml_blocks *geo,
				const struct ml_query *q, struct ml_span **out,
				uint64_t **count)
{
	struct ml_span *s = calloc(2 * n + 1, sizeof(*s));
	uint64_t *c = calloc(2 * n + 1, sizeof(*c));
	uint16_t first, last;
	bool blocks;
	size_t k = 0, i, j;

	if (!s || !c)
		fail("out of memory");
	blocks = ml_block_of(geo, q->ext_port, &first, &last);
	for (i = 0; i < n; i++) {
		if (fl[i].ext_addr != q->ext_addr)
			continue;
		if (blocks && fl[i].ext_port >= first && fl[i].ext_port <= last) {
			bool fwd = false;

			for (j = 0; j < nfw && !fwd; j++) {
				uint32_t a = fw[j].ext_addr_be ?
					     fw[j].ext_addr_be : primary;

				fwd = fw[j].proto == fl[i].proto &&
				      fw[j].ext_port == fl[i].ext_port &&
				      (!a || a == fl[i].ext_addr);
			}
			if (!fwd) {
				s[k].block = true;
				s[k].int_addr = fl[i].int_addr;
				s[k].ext_addr = fl[i].ext_addr;
				s[k].ext_port = q->ext_port;
				s[k].first = first;
				s[k].last = last;
				k++;
			}
		}
		if (fl[i].ext_port != q->ext_port ||
		    (q->have_proto && fl[i].proto != q->proto))
			continue;
		s[k].proto = fl[i].proto;
		s[k].int_addr = fl[i].int_addr;
		s[k].int_port = fl[i].int_port;
		s[k].ext_addr = fl[i].ext_addr;
		s[k].ext_port = fl[i].ext_port;
		k++;
	}
	qsort(s, k, sizeof(*s), ml_span_cmp);
	for (i = 0, j = 0; i < k; i++) {
		if (j && !ml_span_cmp(&s[j - 1], &s[i])) {
			c[j - 1]++;
			continue;
		}
		s[j] = s[i];
		c[j++] = 1;
	}
	*out = s;
	*count = c;
	return j;
}

/* Without at: the flow table now, one line per internal endpoint (and
 * with port blocks, the block that holds the port). */
static int ml_who_live(const struct ml_query *q)
{
	struct flow_filter ff = { .have_ext = true, .ext_port = q->ext_port,
				  .have_proto = q->have_proto,
				  .proto = q->proto };
	struct ml_blocks geo = {};
	struct natk_status st;
	struct natk_fwd *fw = NULL;
	struct ml_span *s;
	uint64_t *count;
	struct flow *fl;
	size_t n, nfw = 0, i, j;

	if (!status_get(&st) && st.port_block) {
		geo = (struct ml_blocks){ st.port_block, st.port_min,
					  st.port_max };
		/* the block's other ports, of every protocol */
		ff = (struct flow_filter){};
		if (fwd_get_all(&fw, &nfw))
			nfw = 0;
	}
	flows_get_all(&ff, &fl, &n);
	j = ml_who_from_flows(fl, n, fw, nfw, st.ext_addr, &geo, q, &s,
			      &count);
	free(fl);
	free(fw);
	if (!j) {
		free(s);
		free(count);
		return ml_who_nobody();
	}
	print_open_array(NULL);
	for (i = 0; i < j; i++)
		ml_who_print_span(&s[i], count[i] == 1 ? " (live, %u flow)" :
				  " (live, %u flows)", count[i]);
	print_close_array();
	print_end();
	free(s);
	free(count);
	return 0;
}

/* Print the answer, with its warnings on standard error. */
static int ml_who_print(const struct ml_answer *a, const struct ml_log *l,
			const struct ml_query *q, const char *path)
{
	char t[TIME_STRLEN], t2[TIME_STRLEN], ia[INET_ADDRSTRLEN];
	bool lost = a->lost_near;

	if (l->bad)
		warnmsg("who: warning: %zu line(s) of %s not understood, skipped",
			l->bad, path);
	if (a->before_log) {
		format_time(q->at, t, sizeof(t));
		format_time(l->start, t2, sizeof(t2));
		warnmsg("who: warning: %s is before the log's first line (%s): the log does not cover it",
			t, t2);
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct ml_span *s = &a->v[i];

		char who[64];

		lost |= s->lost_near;
		inet_ntop(AF_INET, &s->int_addr, ia, sizeof(ia));
		if (s->block)
			snprintf(who, sizeof(who), "the block %u-%u of %s",
				 s->first, s->last, ia);
		else
			snprintf(who, sizeof(who), "%s:%u", ia, s->int_port);
		if (s->from_inferred) {
			format_time(s->from, t, sizeof(t));
			warnmsg("who: warning: the log has no new or live line for %s: it began after %s, when is not known",
				who, t);
		}
		if (s->to_inferred) {
			format_time(s->to, t, sizeof(t));
			warnmsg("who: warning: the log has no del line for %s: it ended at the latest at %s, when the port was mapped again",
				who, t);
		}
	}
	if (lost)
		warnmsg("who: warning: the log says events were lost around that time (lost lines): the answer may be incomplete");
	if (!a->n)
		return ml_who_nobody();
	print_open_array(NULL);
	for (size_t i = 0; i < a->n; i++)
		ml_who_print_span(&a->v[i], NULL, 0);
	print_close_array();
	print_end();
	return 0;
}

/* natkctl who ADDR:PORT [proto tcp|udp|icmp] [at TIME] [log PATH] */
int cmd_who(int argc, char **argv)
{
	static const char *const kw[] = { "proto", "at", "log" };
	struct ml_query q = {};
	const char *path = NULL, *at = NULL;
	struct ml_answer a;
	struct ml_log l;
	char bad[4096];
	int k, err, rc;

	if (argc < 1)
		usage_fail("who", "who needs an external ADDR:PORT");
	if (!ml_parse_endpoint(argv[0], &q.ext_addr, &q.ext_port))
		usage_fail("who", "invalid external endpoint '%s' (expected ADDR:PORT, such as 192.0.2.1:41000)",
			   argv[0]);
	for (argc--, argv++; argc > 0; argc -= 2, argv += 2) {
		k = match_word(argv[0], kw, ARRAY_SIZE(kw), false);
		if (k < 0)
			usage_fail("who", "unknown argument '%s' (proto, at or log)",
				   argv[0]);
		if (argc < 2)
			usage_fail("who", "'%s' needs a value", kw[k]);
		if ((k == 0 && q.have_proto) || (k == 1 && at) ||
		    (k == 2 && path))
			usage_fail("who", "'%s' given twice", kw[k]);
		if (k == 0) {
			if (!parse_proto(argv[1], true, &q.proto))
				usage_fail("who", "invalid proto '%s' (tcp, udp or icmp)",
					   argv[1]);
			q.have_proto = true;
		} else if (k == 1) {
			at = argv[1];
			if (!parse_time(at, now_realtime_ns(), &q.at))
				usage_fail("who", "invalid time '%s' (2026-12-03T06:30:00Z, \"2026-12-03 06:30:00\" (UTC), with an offset +01:00, now, or -5m, -2h, -1d)",
					   at);
		} else {
			if (!argv[1][0])
				usage_fail("who", "empty log file name");
			path = argv[1];
		}
	}
	if (path && !at)
		usage_fail("who", "'log' goes with 'at TIME' (without it, who reads the flow table)");
	if (!at)
		return ml_who_live(&q);

	if (!path)
		path = ML_DEFAULT_LOG;
	ml_log_init(&l, &q);
	err = ml_log_read(&l, path, bad, sizeof(bad));
	if (err)
		fail("who: cannot read %s: %s%s", bad, strerror(-err),
		     err == -ENOENT && !strcmp(path, ML_DEFAULT_LOG) ?
		     " (is natk-maplog.service enabled? See natkctl(8), log)" : "");
	if (!l.any) {
		warnmsg("who: warning: %s is empty: it covers no time", path);
		free(l.v);
		return ml_who_nobody();
	}
	ml_who(l.v, l.n, l.start, &q, &a);
	rc = ml_who_print(&a, &l, &q, path);
	free(a.v);
	free(l.v);
	return rc;
}
