/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NATKCTL_H
#define NATKCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include <netlink/netlink.h>
#include <netlink/genl/genl.h>

#include <linux/natk.h>

#include "print.h"

#define NATKCTL_VERSION "0.1.0"
#define PROG "natkctl"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- natkctl.c ---- */
extern const char *netns_name;

/*
 * Exit status (natkctl(8), EXIT STATUS): 0 success, 1 bad usage or an
 * invalid value or file, 2 the kernel, netlink or the system refused, 3
 * status: NAT is not active. doctor: 4 when a check failed.
 */
enum {
	NK_EXIT_USAGE = 1,
	NK_EXIT_FAILED = 2,
	NK_EXIT_INACTIVE = 3,
};

/* Print "natkctl: msg", exit NK_EXIT_FAILED. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print "natkctl: msg", exit NK_EXIT_USAGE: the input was wrong. */
void input_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void warnmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "natkctl: msg" and the usage line of a command, exit 1. */
void usage_fail(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Exact match, or an unambiguous prefix of one of names[]. Returns the
 * index, -1 if nothing matches, -2 if the prefix is ambiguous.
 */
int match_word(const char *word, const char *const *names, size_t n,
	       bool prefix_ok);

/* ---- parse.c: value parsers shared by the CLI and config files ---- */
/* Decimal only (no sign, blanks, hex or octal), 0 to UINT64_MAX. */
bool parse_u64(const char *s, uint64_t *out);
bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
bool parse_port(const char *s, uint16_t *out);
bool parse_proto(const char *s, bool icmp_ok, uint8_t *out);
bool parse_addr_port(const char *s, uint32_t *addr_be, uint16_t *port,
		     bool *has_port);
/*
 * The external addresses of "addresses LIST" (NATK_A_ADDRS): ranges of
 * IPv4 addresses, first <= last (network order), in the order given.
 */
struct natk_addr_range {
	uint32_t first_be, last_be;
};

struct natk_addr_list {
	unsigned int n;
	struct natk_addr_range r[NATK_ADDR_RANGES_MAX];
};

/*
 * "ADDR[,ADDR|ADDR-ADDR]...": at most NATK_ADDR_RANGES_MAX ranges,
 * NATK_ADDRS_MAX addresses in all, none twice, each a unicast address.
 * False with a message (after "addresses: ") in err.
 */
bool parse_addr_list(const char *s, struct natk_addr_list *l, char *err,
		     size_t errlen);
/* One external address (A.B.C.D), one natk can masquerade behind. */
bool parse_ext_addr(const char *s, uint32_t *addr_be);
/* How many addresses l has. */
uint32_t addr_list_count(const struct natk_addr_list *l);
/* Is addr_be (network order) in l? */
bool addr_list_has(const struct natk_addr_list *l, uint32_t addr_be);
/* "192.0.2.5-192.0.2.7" or "192.0.2.1" into buf, ADDR_RANGE_STRLEN bytes. */
#define ADDR_RANGE_STRLEN	(2 * sizeof("255.255.255.255"))
const char *addr_range_str(const struct natk_addr_range *r, char *buf);
/* What parse_prefix found wrong; *addr_be and *len are set with
 * PREFIX_HOST_BITS (the address as given: mask it for the network). */
enum prefix_err {
	PREFIX_OK,
	PREFIX_SYNTAX,		/* not A.B.C.D/LEN or A.B.C.D */
	PREFIX_LEN,		/* LEN above 32 */
	PREFIX_HOST_BITS,	/* bits set past LEN */
};
/* "A.B.C.D/LEN" (LEN 0 to 32) or "A.B.C.D" (/32). */
enum prefix_err parse_prefix(const char *s, uint32_t *addr_be, uint8_t *len);
uint32_t prefix_mask_be(uint8_t len);
void *grow_array(void *v, size_t *cap, size_t n, size_t elem, size_t first);
bool parse_seconds_range(const char *s, uint32_t min, uint32_t max,
			 uint32_t *out);
bool parse_seconds(const char *s, uint32_t *out);
const char *proto_name(uint8_t proto);
/* CLOCK_REALTIME in nanoseconds. */
uint64_t now_realtime_ns(void);
/* The time of events, as monitor and log print it:
 * 2024-05-01T12:34:56.123456Z (UTC, microseconds); TIME_STRLEN bytes. */
#define TIME_STRLEN	32
void format_time(uint64_t ns, char *buf, size_t len);
/*
 * A point in time for who: YYYY-MM-DD[T| ]HH:MM[:SS[.FRACTION]] in UTC,
 * or with Z or an offset (+HH:MM, -HHMM); "now"; -N[s|m|h|d], that long
 * before now_ns. Nanoseconds since the epoch in *out.
 */
bool parse_time(const char *s, uint64_t now_ns, uint64_t *out);

/* ---- conf.c: the "set" settings, reused by apply ---- */
enum natk_timeout {
	TIMEOUT_TCP_EST,
	TIMEOUT_TCP_TRANS,
	TIMEOUT_UDP,
	TIMEOUT_ICMP,
	TIMEOUT_COUNT,
};
extern const char *const timeout_names[TIMEOUT_COUNT];
extern const char *const timeout_json_keys[TIMEOUT_COUNT];
extern const int timeout_attrs[TIMEOUT_COUNT];
extern const char *const mapping_names[NATK_MAPPING_MAX + 1];
extern const char *const filtering_names[NATK_FILTERING_MAX + 1];
extern const char *const fast_path_names[NATK_FAST_PATH_MAX + 1];

enum {
	HAVE_IFNAME		= 1 << 0,
	HAVE_PORTS		= 1 << 1,
	HAVE_MAX_FLOWS		= 1 << 2,
	HAVE_MAX_PER_HOST	= 1 << 3,
	HAVE_MAPPING		= 1 << 4,
	HAVE_FILTERING		= 1 << 5,
	HAVE_MSS		= 1 << 6,
	HAVE_TIMEOUT0		= 1 << 7,	/* + enum natk_timeout */
	HAVE_PORT_HOLD		= HAVE_TIMEOUT0 << TIMEOUT_COUNT,
	HAVE_FAST_PATH		= HAVE_PORT_HOLD << 1,
	HAVE_INTERNAL		= HAVE_FAST_PATH << 1,
	HAVE_NO_NAT		= HAVE_INTERNAL << 1,
	HAVE_ADDRS		= HAVE_NO_NAT << 1,
	HAVE_PORT_BLOCK		= HAVE_ADDRS << 1,
	HAVE_BLOCKS_PER_HOST	= HAVE_PORT_BLOCK << 1,
	HAVE_ACCOUNTING		= HAVE_BLOCKS_PER_HOST << 1,
};

/* The kernel's defaults of the port block settings (natk.h, "Port blocks"). */
#define PORT_BLOCKS_PER_HOST_DEFAULT	8

/* "primary", "all", "list" (enum natk_addrs_mode), as status shows them. */
extern const char *const addrs_mode_names[NATK_ADDRS_MODE_MAX + 1];

/* A list of IPv4 prefixes: NATK_A_INTERNAL, NATK_A_NO_NAT. */
struct natk_prefix {
	uint32_t addr_be;
	uint8_t len;
};

struct natk_prefix_list {
	unsigned int n;
	struct natk_prefix p[NATK_PREFIXES_MAX];
};

struct natk_fwd {
	uint8_t proto;
	uint16_t ext_port;
	uint32_t int_addr_be;
	uint16_t int_port;
	uint32_t ext_addr_be;	/* 0: the primary external address */
};

struct natk_conf {
	unsigned int have;
	char ifname[IF_NAMESIZE];
	uint16_t port_min, port_max;
	uint32_t max_flows;
	uint32_t max_flows_per_host;
	uint8_t mapping;
	uint8_t filtering;
	uint16_t mss_clamp;
	uint32_t timeout[TIMEOUT_COUNT];
	uint32_t port_hold;
	uint8_t fast_path;
	struct natk_prefix_list internal;	/* empty: any source */
	struct natk_prefix_list no_nat;		/* empty: none */
	uint8_t addrs_mode;			/* enum natk_addrs_mode */
	struct natk_addr_list addrs;		/* NATK_ADDRS_LIST */
	uint16_t port_block;			/* ports a block, 0: off */
	uint16_t port_blocks_per_host;
	uint8_t accounting;			/* 1: on, 0: off */
};

/*
 * Parse one setting ("ports 1024-65535", "timeout udp 60", ...) at argv.
 * Returns the number of words used, or -1 with a message in err.
 */
int conf_parse_setting(struct natk_conf *c, int argc, char **argv,
		       bool prefix_ok, char *err, size_t errlen);
void conf_put_attrs(struct nl_msg *msg, const struct natk_conf *c);
/* Room for the largest SET_CONFIG of settings (both prefix lists full). */
#define CONF_MSG_SIZE	(4096 + 2 * NATK_PREFIXES_MAX * 32)
const char *conf_keywords(void);
/* "10.0.0.0/16" into buf, PREFIX_STRLEN bytes. */
#define PREFIX_STRLEN	(sizeof("255.255.255.255/") + 3)
const char *prefix_str(const struct natk_prefix *p, char *buf);
/*
 * One SET_CONFIG with everything in c; reset: what c does not set returns
 * to its default (NATK_A_RESET). conf_send exits on failure;
 * conf_request returns 0 or -errno (the kernel's message in nk_extack),
 * and with dry_run only asks the kernel to validate (NATK_A_DRY_RUN).
 */
void conf_send(const struct natk_conf *c, bool reset);
/* Warn if c names an external interface that does not exist (yet). */
void conf_warn_missing_if(const struct natk_conf *c);
int conf_request(const struct natk_conf *c, bool reset, bool dry_run);
struct natk_status;
/*
 * The setting of c ("internal", "no-nat") that the loaded module, by its
 * status st, neither reports nor takes (an older natk.ko), or NULL.
 */
const char *conf_unsupported(const struct natk_conf *c,
			     const struct natk_status *st);
/* What to do about it, after "SETTING: ". */
#define CONF_TOO_OLD "the loaded natk.ko is too old for this setting: " \
	"upgrade natk, then reload the module (systemctl stop natk; " \
	"rmmod natk; systemctl start natk) or reboot"

/* ---- nl.c ---- */
extern char nk_extack[512];
/* The offset of the attribute the kernel refused (NLMSGERR_ATTR_OFFS) in
 * the request, from its nlmsghdr; 0 if it named none. */
extern uint32_t nk_extack_off;

/* Enter the -n namespace (once), connect, resolve the family; exits on error. */
void nk_open(void);
/* nk_open, but false instead of exiting when natk is not loaded. */
bool nk_try_open(void);
bool nk_module_loaded(void);
struct nl_sock *nk_sock(void);
int nk_family(void);
struct nl_msg *nk_msg(uint8_t cmd, int flags);
/* nk_msg with room for size bytes (0: a page). */
struct nl_msg *nk_msg_size(uint8_t cmd, int flags, size_t size);
/*
 * Send msg (freed) and receive until the ack or the end of the dump.
 * valid is called for each reply. Returns 0 or a negative errno; the
 * kernel's extended ack message, if any, is in nk_extack. *intr (if not
 * NULL) is set when a dump message carried NLM_F_DUMP_INTR.
 */
int nk_request(struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg,
	       bool *intr);
/* Exit with a one-line message for a failed request. */
void nk_fail(const char *what, int err) __attribute__((noreturn));
void nk_enter_netns(void);
void nk_set_rcvbuf(int bytes);
/*
 * n requests, each acknowledged on its own, sent up to window at a time in
 * one datagram before their acks are read (the kernel handles them in
 * order): build(i, arg) makes request i (nk_msg; freed here), done(i, err,
 * arg) is called once for each with 0 or its negative errno, the kernel's
 * extended ack message in nk_extack. Replies other than acks are ignored.
 * Returns 0, or a negative errno (nk_extack says what) when sending or
 * receiving failed: the requests not acknowledged by then have an unknown
 * fate. window * (an ack's size) must fit the socket's receive buffer.
 */
int nk_request_batch(size_t n, size_t window,
		     struct nl_msg *(*build)(size_t i, void *arg),
		     void (*done)(size_t i, int err, void *arg), void *arg);

/* ---- flow.c ---- */
struct flow {
	uint32_t present;	/* 1 << NATK_FLOW_A_* */
	uint32_t int_addr, ext_addr, rem_addr;	/* network order */
	uint16_t int_port, ext_port, rem_port;
	uint8_t proto, state, reason;
	uint32_t expires_ms, age_ms;
	uint64_t pkts_out, bytes_out, pkts_in, bytes_in;
	uint32_t id;
	uint8_t seen;		/* NATK_FLOW_F_SEEN_* */
};
/*
 * In present: the counters, which a flow has all four of or none (none
 * when it was made while NATK_A_ACCOUNTING was off), and the seen bits
 * (not sent by an older module, not in an older flow file).
 */
#define FLOW_P_COUNTERS	(1u << NATK_FLOW_A_PKTS_OUT | 1u << NATK_FLOW_A_BYTES_OUT | \
			 1u << NATK_FLOW_A_PKTS_IN | 1u << NATK_FLOW_A_BYTES_IN)
#define FLOW_P_SEEN	(1u << NATK_FLOW_A_SEEN)
bool flow_parse(const struct nlattr *nest, struct flow *f);
/* The TCP state as flows prints it ("-" for UDP and ICMP). */
const char *flow_state_name(const struct flow *f);
/*
 * all: print expires and age (0 if missing); else only what the kernel
 * sent. The counters and the seen bits only when the flow has them.
 */
void flow_print(const struct flow *f, bool all);
const char *reason_name(uint8_t reason);
/* The enum natk_tcp_state of a state as flows prints it ("established"),
 * or -1 ("-", NATK_TCP_NONE, is no TCP state). */
int tcp_state_from_name(const char *name);

/*
 * A flow file (flows save, flows restore; natkctl(8), FLOW FILE): one flow
 * a line, its fields separated by one space:
 *   PROTO INT_ADDR:PORT EXT_ADDR:PORT REM_ADDR:PORT STATE EXPIRES_MS
 *   PKTS_OUT BYTES_OUT PKTS_IN BYTES_IN [SEEN]
 * STATE is "-" for UDP and ICMP; for ICMP the internal port is the echo
 * identifier and the remote port 0. The counters are "- - - -" for a flow
 * without counters. SEEN is seen=out,in, seen=out, seen=in or seen=none;
 * without it (a file of an older natkctl, a flow from an older module)
 * the directions seen are not known. FLOW_LINE_MAX bytes hold any line.
 */
#define FLOW_LINE_MAX	256
/* f's line with its newline in buf; its length, or 0 if f cannot be
 * written (a protocol or TCP state this natkctl does not know). */
size_t flow_format_line(const struct flow *f, char *buf, size_t len);
/* One line (without its newline), strictly: false with a message in err
 * for anything flow_format_line would not have written. */
bool flow_parse_line(const char *line, struct flow *f, char *err,
		     size_t errlen);
/*
 * NATK_CMD_FLOW_ADD importing f (exits when out of memory), with its
 * counters if it has them and, with seen_ok, its seen bits if known; with
 * update, a flow that exists with the same port is updated
 * (NATK_FLOW_A_UPDATE).
 */
struct nl_msg *flow_add_msg(const struct flow *f, bool update, bool seen_ok);
/*
 * Does the module whose status is st take NATK_FLOW_A_SEEN in a
 * NATK_CMD_FLOW_ADD? An older one refuses the flow over it.
 */
bool flow_add_takes_seen(const struct natk_status *st);

/*
 * Write path as fill writes it, through a temporary file next to it that
 * is fsynced and renamed over it (mode 0644): a reader sees the old file or
 * the new one, never a part; a failure leaves path as it was. Exits with
 * "cmd: ..." on failure (file.c).
 */
void file_write_atomic(const char *cmd, const char *path,
		       void (*fill)(FILE *f, const void *arg), const void *arg);

/* Flow filters of flows, flows del and monitor (flows.c). */
struct flow_filter {
	bool have_proto, have_int, have_int_port, have_rem, have_rem_port;
	bool have_ext, have_state, have_id;
	uint8_t proto;
	uint32_t int_addr, rem_addr;	/* network order */
	uint16_t int_port, rem_port, ext_port;
	const char *state;
	uint32_t id;
};
#define FLOW_FILTER_WORDS "proto, internal, remote, external-port, state or id"
/* Parse one "WORD VALUE" filter at argv; 2 if it was one, 0 if argv[0] is
 * not a filter word; bad values are usage errors of cmd. */
int flow_filter_arg(struct flow_filter *ff, const char *cmd, int argc,
		    char **argv);
bool flow_filter_match(const struct flow_filter *ff, const struct flow *f);

/*
 * The flows that match ff, from a complete dump (retried while the table
 * changed under it); exits on failure. *v is malloc'ed (flows.c).
 */
void flows_get_all(const struct flow_filter *ff, struct flow **v, size_t *n);

/* flows save FILE, flows restore FILE (flowfile.c), from cmd_flows */
int flows_save(int argc, char **argv);
int flows_restore(int argc, char **argv);

/* ---- commands ---- */
int cmd_set(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_supervise(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_who(int argc, char **argv);
int cmd_sync(int argc, char **argv);
/* sync.c: is WORD a setting of natk.conf's "sync" lines? */
bool sync_setting_word(const char *word);

/* fwd.c helpers also used by status, save and apply */
int fwd_get_all(struct natk_fwd **out, size_t *n);
void fwd_print_list(const struct natk_fwd *f, size_t n, const char *key,
		    const char *text_indent);
int fwd_add(const struct natk_fwd *f);
/* Put f as a NATK_A_FWD nest; returns its offset from the nlmsghdr. */
uint32_t fwd_put(struct nl_msg *msg, const struct natk_fwd *f);
/* f's proto, ext_port and ext_addr_be name the forward. */
int fwd_del(const struct natk_fwd *f);
/* "tcp port 8080" or "tcp port 8080 on 192.0.2.5" into buf (64 bytes). */
const char *fwd_name(const struct natk_fwd *f, char *buf, size_t len);
void fwd_fail(const char *what, int err, const struct natk_fwd *f)
	__attribute__((noreturn));

/* status.c, also used by save */
struct natk_status {
	uint64_t present;		/* 1 << NATK_A_* (all < 64) */
	bool enabled;
	uint8_t state;			/* enum natk_state */
	char ifname[IF_NAMESIZE];
	uint32_t ifindex;
	uint32_t ext_addr;
	uint16_t port_min, port_max;
	uint32_t max_flows, max_flows_per_host, flows, hash_buckets;
	uint8_t mapping, filtering;
	uint16_t mss_clamp;
	uint32_t timeout[TIMEOUT_COUNT];
	uint32_t port_hold, ports_held;	/* not sent by older modules */
	uint32_t hash_max_chain, hash_entries;	/* nor these */
	uint8_t fast_path, fast_path_why;	/* nor these */
	struct natk_prefix_list internal, no_nat;	/* nor these */
	uint8_t addrs_mode;			/* nor these: */
	struct natk_addr_list addrs;		/* NATK_ADDRS_LIST's */
	unsigned int npool;			/* NATK_A_POOL */
	struct natk_pool_addr {
		uint32_t addr_be;
		uint32_t hosts;
		bool has_hosts;		/* natk counts them (more than one
					 * address, a per-host limit or
					 * port blocks)
					 */
		uint32_t ports[3];		/* tcp, udp, icmp */
		uint64_t exhausted[3];
		uint32_t blocks;		/* port blocks in use */
	} pool[NATK_ADDRS_MAX];
	uint16_t port_block;			/* nor these: 0 = off */
	uint16_t port_blocks_per_host;
	uint8_t accounting;			/* nor this: 1 = on */
};
int status_get(struct natk_status *st);
/* Parse a NATK_CMD_GET_CONFIG reply or a NATK_CMD_STATE event into st. */
int status_parse(struct nl_msg *msg, struct natk_status *st);
/* "active", "waiting-interface", ... for JSON; a sentence for text. */
const char *status_state_name(uint8_t state);
const char *status_state_text(const struct natk_status *st, char *buf,
			      size_t len);
const char *status_mapping(const struct natk_status *st);
const char *status_filtering(const struct natk_status *st);
/* Whether the kernel sent attribute attr (NATK_A_*). */
bool status_has(const struct natk_status *st, int attr);
/* The pool's entry for addr_be, or NULL. */
const struct natk_pool_addr *status_pool_find(const struct natk_status *st,
					      uint32_t addr_be);
/* The protocols of natk_pool_addr's arrays, in order. */
#define POOL_NPROTO	3
extern const char *const pool_proto_names[POOL_NPROTO];

#endif
