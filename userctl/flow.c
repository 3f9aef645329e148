// SPDX-License-Identifier: GPL-2.0
/* One flow: parsing a NATK_A_FLOW nest and printing it. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>

#include "natkctl.h"

static const char *const tcp_state_names[NATK_TCP_MAX + 1] = {
	[NATK_TCP_NONE]		= "-",
	[NATK_TCP_SYN_OUT]	= "syn_out",
	[NATK_TCP_SYN_IN]	= "syn_in",
	[NATK_TCP_ESTABLISHED]	= "established",
	[NATK_TCP_FIN_OUT]	= "fin_out",
	[NATK_TCP_FIN_IN]	= "fin_in",
	[NATK_TCP_FIN_BOTH]	= "fin_both",
	[NATK_TCP_RST]		= "rst",
	[NATK_TCP_SYNACK_IN]	= "synack_in",
	[NATK_TCP_SYNACK_OUT]	= "synack_out",
};

static const char *const reason_names[__NATK_REASON_MAX] = {
	[NATK_REASON_NONE]	= "none",
	[NATK_REASON_EXPIRED]	= "expired",
	[NATK_REASON_FLUSH]	= "flush",
	[NATK_REASON_EVICTED]	= "evicted",
	[NATK_REASON_DELETED]	= "deleted",
};

const char *reason_name(uint8_t reason)
{
	return reason < __NATK_REASON_MAX ? reason_names[reason] : "unknown";
}

#define P(x) (1u << (x))

/* present records attributes below 32 only. */
_Static_assert(NATK_FLOW_A_MAX < 32, "struct flow's present is too small");

bool flow_parse(const struct nlattr *nest, struct flow *f)
{
	const struct nlattr *a;
	int rem, len;

	memset(f, 0, sizeof(*f));
	nla_for_each_nested(a, (struct nlattr *)nest, rem) {
		int type = nla_type(a);

		len = nla_len(a);
		switch (type) {
		case NATK_FLOW_A_PROTO:
		case NATK_FLOW_A_STATE:
		case NATK_FLOW_A_REASON:
		case NATK_FLOW_A_SEEN:
			if (len < 1)
				return false;
			break;
		case NATK_FLOW_A_INT_PORT:
		case NATK_FLOW_A_EXT_PORT:
		case NATK_FLOW_A_REM_PORT:
			if (len < 2)
				return false;
			break;
		case NATK_FLOW_A_INT_ADDR_BE:
		case NATK_FLOW_A_EXT_ADDR_BE:
		case NATK_FLOW_A_REM_ADDR_BE:
		case NATK_FLOW_A_EXPIRES_MS:
		case NATK_FLOW_A_AGE_MS:
		case NATK_FLOW_A_ID:
			if (len < 4)
				return false;
			break;
		case NATK_FLOW_A_PKTS_OUT:
		case NATK_FLOW_A_BYTES_OUT:
		case NATK_FLOW_A_PKTS_IN:
		case NATK_FLOW_A_BYTES_IN:
			if (len < 8)
				return false;
			break;
		default:
			continue;	/* PAD, or newer than us */
		}
		f->present |= P(type);
		switch (type) {
		case NATK_FLOW_A_PROTO:	f->proto = nla_get_u8(a); break;
		case NATK_FLOW_A_STATE:	f->state = nla_get_u8(a); break;
		case NATK_FLOW_A_REASON: f->reason = nla_get_u8(a); break;
		case NATK_FLOW_A_INT_PORT: f->int_port = nla_get_u16(a); break;
		case NATK_FLOW_A_EXT_PORT: f->ext_port = nla_get_u16(a); break;
		case NATK_FLOW_A_REM_PORT: f->rem_port = nla_get_u16(a); break;
		case NATK_FLOW_A_INT_ADDR_BE: f->int_addr = nla_get_u32(a); break;
		case NATK_FLOW_A_EXT_ADDR_BE: f->ext_addr = nla_get_u32(a); break;
		case NATK_FLOW_A_REM_ADDR_BE: f->rem_addr = nla_get_u32(a); break;
		case NATK_FLOW_A_EXPIRES_MS: f->expires_ms = nla_get_u32(a); break;
		case NATK_FLOW_A_AGE_MS: f->age_ms = nla_get_u32(a); break;
		case NATK_FLOW_A_ID: f->id = nla_get_u32(a); break;
		case NATK_FLOW_A_PKTS_OUT: f->pkts_out = nla_get_u64(a); break;
		case NATK_FLOW_A_BYTES_OUT: f->bytes_out = nla_get_u64(a); break;
		case NATK_FLOW_A_PKTS_IN: f->pkts_in = nla_get_u64(a); break;
		case NATK_FLOW_A_BYTES_IN: f->bytes_in = nla_get_u64(a); break;
		case NATK_FLOW_A_SEEN: f->seen = nla_get_u8(a); break;
		}
	}
	return true;
}

/* Faster than inet_ntop, which matters for a million flows. */
static const char *ip4(uint32_t be, char *buf)
{
	const uint8_t *b = (const uint8_t *)&be;
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		unsigned int v = b[i];

		if (v >= 100) {
			*p++ = (char)('0' + v / 100);
			v %= 100;
			*p++ = (char)('0' + v / 10);
			v %= 10;
		} else if (v >= 10) {
			*p++ = (char)('0' + v / 10);
			v %= 10;
		}
		*p++ = (char)('0' + v);
		*p++ = '.';
	}
	p[-1] = '\0';
	return buf;
}

const char *flow_state_name(const struct flow *f)
{
	if (f->proto != IPPROTO_TCP)
		return "-";
	if (f->state <= NATK_TCP_MAX)
		return tcp_state_names[f->state];
	return "unknown";
}

void flow_print(const struct flow *f, bool all)
{
	char a[INET_ADDRSTRLEN];

	print_string(PRINT_ANY, "proto", "%s ", proto_name(f->proto));
	print_string(PRINT_ANY, "internal_address", "%s", ip4(f->int_addr, a));
	print_u64(PRINT_ANY, "internal_port", ":%u", f->int_port);
	print_string(PRINT_ANY, "external_address", " -> %s", ip4(f->ext_addr, a));
	print_u64(PRINT_ANY, "external_port", ":%u", f->ext_port);
	print_string(PRINT_ANY, "remote_address", " -> %s", ip4(f->rem_addr, a));
	print_u64(PRINT_ANY, "remote_port", ":%u", f->rem_port);
	print_string(PRINT_ANY, "state", " %s", flow_state_name(f));
	if (all || (f->present & P(NATK_FLOW_A_EXPIRES_MS)))
		print_u64(PRINT_ANY, "expires", " expires %us",
			  ((uint64_t)f->expires_ms + 999) / 1000);
	if (all || (f->present & P(NATK_FLOW_A_AGE_MS)))
		print_u64(PRINT_JSON, "age", NULL, f->age_ms / 1000);
	/* A flow made while accounting was off has none: no keys then. */
	if (f->present & FLOW_P_COUNTERS) {
		print_u64(PRINT_ANY, "packets_out", " out %u pkts", f->pkts_out);
		print_u64(PRINT_ANY, "bytes_out", " %u bytes", f->bytes_out);
		print_u64(PRINT_ANY, "packets_in", " in %u pkts", f->pkts_in);
		print_u64(PRINT_ANY, "bytes_in", " %u bytes", f->bytes_in);
	}
	/* Nor from a module older than them. */
	if (f->present & FLOW_P_SEEN) {
		print_bool(PRINT_JSON, "seen_out", NULL,
			   f->seen & NATK_FLOW_F_SEEN_OUT);
		print_bool(PRINT_JSON, "seen_in", NULL,
			   f->seen & NATK_FLOW_F_SEEN_IN);
	}
	/* A module older than flow ids sends none: no key then. */
	if (f->present & P(NATK_FLOW_A_ID))
		print_u64(PRINT_ANY, "id", " id %u", f->id);
}

/* ---- a flow as a line of a flow file (flows save, flows restore) ---- */

int tcp_state_from_name(const char *name)
{
	for (int i = NATK_TCP_NONE + 1; i <= NATK_TCP_MAX; i++)
		if (tcp_state_names[i] && !strcmp(name, tcp_state_names[i]))
			return i;
	return -1;
}

/* SEEN as a flow file has it, indexed by the NATK_FLOW_F_SEEN_* bits. */
#define SEEN_BITS	(NATK_FLOW_F_SEEN_OUT | NATK_FLOW_F_SEEN_IN)
static const char *const seen_words[SEEN_BITS + 1] = {
	[0]				= "seen=none",
	[NATK_FLOW_F_SEEN_OUT]		= "seen=out",
	[NATK_FLOW_F_SEEN_IN]		= "seen=in",
	[SEEN_BITS]			= "seen=out,in",
};

size_t flow_format_line(const struct flow *f, char *buf, size_t len)
{
	char ia[INET_ADDRSTRLEN], ea[INET_ADDRSTRLEN], ra[INET_ADDRSTRLEN];
	char cnt[4 * sizeof("18446744073709551615")];
	const char *state = "-";
	bool seen = f->present & FLOW_P_SEEN;
	int n;

	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP &&
	    f->proto != IPPROTO_ICMP)
		return 0;
	if (f->proto == IPPROTO_TCP) {
		if (f->state == NATK_TCP_NONE || f->state > NATK_TCP_MAX)
			return 0;
		state = tcp_state_names[f->state];
	}
	/* A flow without counters (accounting off): "- - - -". */
	if (f->present & FLOW_P_COUNTERS)
		snprintf(cnt, sizeof(cnt), "%" PRIu64 " %" PRIu64 " %" PRIu64
			 " %" PRIu64, f->pkts_out, f->bytes_out, f->pkts_in,
			 f->bytes_in);
	else
		snprintf(cnt, sizeof(cnt), "- - - -");
	/* Seen bits unknown (an older module): no SEEN field. */
	n = snprintf(buf, len, "%s %s:%u %s:%u %s:%u %s %" PRIu32 " %s%s%s\n",
		     proto_name(f->proto), ip4(f->int_addr, ia), f->int_port,
		     ip4(f->ext_addr, ea), f->ext_port, ip4(f->rem_addr, ra),
		     f->rem_port, state, f->expires_ms, cnt, seen ? " " : "",
		     seen ? seen_words[f->seen & SEEN_BITS] : "");
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}

/* "A.B.C.D:PORT", PORT 0 to 65535 (what is allowed is the caller's). */
static bool parse_endpoint(const char *s, uint32_t *addr_be, uint16_t *port)
{
	const char *colon = strchr(s, ':');
	char a[INET_ADDRSTRLEN];
	uint32_t p;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(a))
		return false;
	memcpy(a, s, (size_t)(colon - s));
	a[colon - s] = '\0';
	if (inet_pton(AF_INET, a, addr_be) != 1 ||
	    !parse_u32(colon + 1, 0, 65535, &p))
		return false;
	*port = (uint16_t)p;
	return true;
}

#define FLOW_FIELDS 10	/* and SEEN, optional */
#define FLOW_FIELD_NAMES "PROTO INT_ADDR:PORT EXT_ADDR:PORT REM_ADDR:PORT " \
	"STATE EXPIRES_MS PKTS_OUT BYTES_OUT PKTS_IN BYTES_IN [SEEN]"

bool flow_parse_line(const char *line, struct flow *f, char *err,
		     size_t errlen)
{
	static const char *const ep_names[3] = { "internal", "external", "remote" };
	static const char *const cnt_names[4] = {
		"PKTS_OUT", "BYTES_OUT", "PKTS_IN", "BYTES_IN",
	};
	uint64_t *cnt[4] = { &f->pkts_out, &f->bytes_out, &f->pkts_in,
			     &f->bytes_in };
	uint32_t *addr[3] = { &f->int_addr, &f->ext_addr, &f->rem_addr };
	uint16_t *port[3] = { &f->int_port, &f->ext_port, &f->rem_port };
	char buf[FLOW_LINE_MAX], *w[FLOW_FIELDS + 1], *p, *sp;
	size_t len = strlen(line);
	const char *proto;
	int n = 0, st, dashes = 0;

	memset(f, 0, sizeof(*f));
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "line too long (%zu characters): expected " FLOW_FIELD_NAMES,
			 len);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < ' ' || c > '~') {
			snprintf(err, errlen, "unexpected character 0x%02x at column %zu (fields are separated by one space)",
				 c, i + 1);
			return false;
		}
	}
	memcpy(buf, line, len + 1);
	for (p = buf;; p = sp + 1) {
		sp = strchr(p, ' ');
		if (p == sp || !*p) {
			snprintf(err, errlen, "field %d is empty: fields are separated by one space",
				 n + 1);
			return false;
		}
		if (n <= FLOW_FIELDS)
			w[n] = p;
		n++;
		if (!sp)
			break;
		*sp = '\0';
	}
	if (n != FLOW_FIELDS && n != FLOW_FIELDS + 1) {
		snprintf(err, errlen, "expected %d or %d fields (" FLOW_FIELD_NAMES "), found %d",
			 FLOW_FIELDS, FLOW_FIELDS + 1, n);
		return false;
	}
	if (!parse_proto(w[0], true, &f->proto)) {
		snprintf(err, errlen, "invalid PROTO '%s' (tcp, udp or icmp)", w[0]);
		return false;
	}
	proto = w[0];
	for (int i = 0; i < 3; i++) {
		if (!parse_endpoint(w[1 + i], addr[i], port[i])) {
			snprintf(err, errlen, "invalid %s ADDR:PORT '%s' (as 10.0.0.2:41700)",
				 ep_names[i], w[1 + i]);
			return false;
		}
	}
	if (f->proto != IPPROTO_ICMP && (!f->int_port || !f->rem_port)) {
		snprintf(err, errlen, "%s port 0: a %s flow's ports are 1 to 65535",
			 f->int_port ? "remote" : "internal", proto);
		return false;
	}
	if (!f->ext_port) {
		snprintf(err, errlen, "external port 0: external ports are 1 to 65535");
		return false;
	}
	if (f->proto == IPPROTO_ICMP && f->rem_port) {
		snprintf(err, errlen, "remote port %u: an icmp flow's remote port is 0 (its internal port is the echo identifier)",
			 f->rem_port);
		return false;
	}
	if (f->proto == IPPROTO_TCP) {
		st = tcp_state_from_name(w[4]);
		if (st < 0) {
			snprintf(err, errlen, "invalid TCP state '%s' (syn_out, syn_in, synack_in, synack_out, established, fin_out, fin_in, fin_both or rst)",
				 w[4]);
			return false;
		}
		f->state = (uint8_t)st;
	} else if (strcmp(w[4], "-")) {
		snprintf(err, errlen, "state '%s': a %s flow has no TCP state ('-')",
			 w[4], proto);
		return false;
	}
	if (!parse_u32(w[5], 0, UINT32_MAX, &f->expires_ms)) {
		snprintf(err, errlen, "invalid EXPIRES_MS '%s' (milliseconds, 0 to 4294967295)",
			 w[5]);
		return false;
	}
	/* All four "-": a flow without counters. */
	for (int i = 0; i < 4; i++)
		dashes += !strcmp(w[6 + i], "-");
	if (dashes && dashes < 4) {
		snprintf(err, errlen, "counters '%s %s %s %s': all four are numbers, or all four '-' (a flow without counters)",
			 w[6], w[7], w[8], w[9]);
		return false;
	}
	for (int i = 0; !dashes && i < 4; i++) {
		if (!parse_u64(w[6 + i], cnt[i])) {
			snprintf(err, errlen, "invalid %s '%s' (0 to 18446744073709551615, or '-' for all four)",
				 cnt_names[i], w[6 + i]);
			return false;
		}
	}
	f->present = P(NATK_FLOW_A_PROTO) | P(NATK_FLOW_A_INT_ADDR_BE) |
		     P(NATK_FLOW_A_INT_PORT) | P(NATK_FLOW_A_EXT_ADDR_BE) |
		     P(NATK_FLOW_A_EXT_PORT) | P(NATK_FLOW_A_REM_ADDR_BE) |
		     P(NATK_FLOW_A_REM_PORT) | P(NATK_FLOW_A_STATE) |
		     P(NATK_FLOW_A_EXPIRES_MS) | (dashes ? 0 : FLOW_P_COUNTERS);
	/* Without SEEN (an older natkctl's file): not known. */
	if (n > FLOW_FIELDS) {
		int k = 0;

		while (k <= SEEN_BITS && strcmp(w[FLOW_FIELDS], seen_words[k]))
			k++;
		if (k > SEEN_BITS) {
			snprintf(err, errlen, "invalid SEEN '%s' (seen=out,in, seen=out, seen=in or seen=none)",
				 w[FLOW_FIELDS]);
			return false;
		}
		f->seen = (uint8_t)k;
		f->present |= FLOW_P_SEEN;
	}
	return true;
}

/*
 * NATK_FLOW_A_SEEN came with NATK_A_ACCOUNTING (include/uapi/linux/natk.h):
 * a module that reports the one takes the other.
 */
bool flow_add_takes_seen(const struct natk_status *st)
{
	return status_has(st, NATK_A_ACCOUNTING);
}

struct nl_msg *flow_add_msg(const struct flow *f, bool update, bool seen_ok)
{
	struct nl_msg *msg = nk_msg_size(NATK_CMD_FLOW_ADD, 0, 512);
	struct nlattr *nest = nla_nest_start(msg, NATK_A_FLOW);

	if (!nest ||
	    nla_put_u8(msg, NATK_FLOW_A_PROTO, f->proto) < 0 ||
	    nla_put_u32(msg, NATK_FLOW_A_INT_ADDR_BE, f->int_addr) < 0 ||
	    nla_put_u16(msg, NATK_FLOW_A_INT_PORT, f->int_port) < 0 ||
	    nla_put_u32(msg, NATK_FLOW_A_EXT_ADDR_BE, f->ext_addr) < 0 ||
	    nla_put_u16(msg, NATK_FLOW_A_EXT_PORT, f->ext_port) < 0 ||
	    nla_put_u32(msg, NATK_FLOW_A_REM_ADDR_BE, f->rem_addr) < 0 ||
	    nla_put_u16(msg, NATK_FLOW_A_REM_PORT, f->rem_port) < 0 ||
	    /* Only TCP has a state; the kernel refuses one for the others. */
	    (f->proto == IPPROTO_TCP &&
	     nla_put_u8(msg, NATK_FLOW_A_STATE, f->state) < 0) ||
	    nla_put_u32(msg, NATK_FLOW_A_EXPIRES_MS, f->expires_ms) < 0 ||
	    /* Only those it has: a flow made while accounting was off has
	     * none, and zeros would pass for counts. */
	    ((f->present & FLOW_P_COUNTERS) &&
	     (nla_put_u64(msg, NATK_FLOW_A_PKTS_OUT, f->pkts_out) < 0 ||
	      nla_put_u64(msg, NATK_FLOW_A_BYTES_OUT, f->bytes_out) < 0 ||
	      nla_put_u64(msg, NATK_FLOW_A_PKTS_IN, f->pkts_in) < 0 ||
	      nla_put_u64(msg, NATK_FLOW_A_BYTES_IN, f->bytes_in) < 0)) ||
	    /* Not known: the kernel tells them from the counters and state. */
	    (seen_ok && (f->present & FLOW_P_SEEN) &&
	     nla_put_u8(msg, NATK_FLOW_A_SEEN, f->seen & SEEN_BITS) < 0) ||
	    (update && nla_put_flag(msg, NATK_FLOW_A_UPDATE) < 0))
		fail("out of memory");
	nla_nest_end(msg, nest);
	return msg;
}
