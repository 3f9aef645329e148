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
	bool counters;

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
	counters = f->present & (P(NATK_FLOW_A_PKTS_OUT) | P(NATK_FLOW_A_BYTES_OUT) |
				 P(NATK_FLOW_A_PKTS_IN) | P(NATK_FLOW_A_BYTES_IN));
	if (all || counters) {
		print_u64(PRINT_ANY, "packets_out", " out %u pkts", f->pkts_out);
		print_u64(PRINT_ANY, "bytes_out", " %u bytes", f->bytes_out);
		print_u64(PRINT_ANY, "packets_in", " in %u pkts", f->pkts_in);
		print_u64(PRINT_ANY, "bytes_in", " %u bytes", f->bytes_in);
	}
	/* A module older than flow ids sends none: no key then. */
	if (f->present & P(NATK_FLOW_A_ID))
		print_u64(PRINT_ANY, "id", " id %u", f->id);
}
