// SPDX-License-Identifier: GPL-2.0
/*
 * natk protocol state: the TCP state machine (after RFC 6146 section 3.5.2,
 * with the RFC 7857 transitory handling of RST) and timeout selection.
 *
 * A TCP flow is created by an outbound SYN (SYN_OUT) or, for port forwards,
 * an inbound SYN (SYN_IN). A SYN from the other side (a SYN-ACK, or a bare
 * SYN in a simultaneous open) makes it ESTABLISHED. FINs move it through
 * FIN_OUT/FIN_IN to FIN_BOTH. A RST in either direction moves it to RST,
 * where it stays for the transitory timeout; any later non-RST packet
 * revives it to ESTABLISHED (RFC 6146: the RST may have been forged or
 * lost). Only ESTABLISHED uses the established timeout; every other state
 * uses the transitory one.
 */
#include <linux/tcp.h>
#include "natk.h"

/* Only a SYN without ACK and RST may open a TCP flow. */
bool natk_tcp_may_create(u8 f)
{
	return (f & (NATK_TCPF_SYN | NATK_TCPF_ACK | NATK_TCPF_RST)) ==
	       NATK_TCPF_SYN;
}

u8 natk_tcp_next(u8 state, bool outbound, u8 f)
{
	if (f & NATK_TCPF_RST)
		return NATK_TCP_RST;

	switch (state) {
	case NATK_TCP_SYN_OUT:
		if (!outbound && (f & NATK_TCPF_SYN))
			return NATK_TCP_ESTABLISHED;
		return state;
	case NATK_TCP_SYN_IN:
		if (outbound && (f & NATK_TCPF_SYN))
			return NATK_TCP_ESTABLISHED;
		return state;
	case NATK_TCP_RST:
		/* A new SYN from inside reopens; anything else revives. */
		if (outbound && natk_tcp_may_create(f))
			return NATK_TCP_SYN_OUT;
		return NATK_TCP_ESTABLISHED;
	case NATK_TCP_ESTABLISHED:
		if (f & NATK_TCPF_FIN)
			return outbound ? NATK_TCP_FIN_OUT : NATK_TCP_FIN_IN;
		return state;
	case NATK_TCP_FIN_OUT:
		if (!outbound && (f & NATK_TCPF_FIN))
			return NATK_TCP_FIN_BOTH;
		return state;
	case NATK_TCP_FIN_IN:
		if (outbound && (f & NATK_TCPF_FIN))
			return NATK_TCP_FIN_BOTH;
		return state;
	default:
		return state;
	}
}

bool natk_state_transitory(u8 state)
{
	return state != NATK_TCP_ESTABLISHED;
}

/* When @flow expires, in jiffies, if nothing refreshes it before. */
unsigned long natk_flow_deadline(const struct natk_cfg *cfg,
				 const struct natk_flow *flow)
{
	return READ_ONCE(flow->seen) +
	       natk_timeout_for(cfg, flow->okey.proto, READ_ONCE(flow->state));
}

unsigned long natk_timeout_for(const struct natk_cfg *cfg, u8 proto, u8 state)
{
	switch (proto) {
	case IPPROTO_TCP:
		return cfg->timeout[natk_state_transitory(state) ?
				    NATK_TO_TCP_TRANS : NATK_TO_TCP_EST];
	case IPPROTO_UDP:
		return cfg->timeout[NATK_TO_UDP];
	default:
		return cfg->timeout[NATK_TO_ICMP];
	}
}
