// SPDX-License-Identifier: GPL-2.0
/*
 * natk protocol state: the TCP state machine (after RFC 6146 section 3.5.2,
 * with the RFC 7857 transitory handling of RST) and timeout selection.
 *
 * A TCP flow is created by an outbound SYN (SYN_OUT) or, for port forwards,
 * an inbound SYN (SYN_IN). The answer from the other side (a SYN-ACK, or a
 * bare SYN in a simultaneous open) moves it to SYNACK_IN or SYNACK_OUT, and
 * only the initiator's ACK makes it ESTABLISHED: a spoofed SYN answered by
 * a SYN-ACK stays half-open, on the transitory timeout, evictable. FINs
 * move it through FIN_OUT/FIN_IN to FIN_BOTH. A RST in either direction
 * moves it to RST, where it stays for the transitory timeout whatever else
 * comes (RFC 7857 section 2.2: the flow is not revived by a packet that
 * might belong to the old connection). In RST and the FIN states a new SYN
 * opens the flow again (port reuse, RFC 6146 "V4 FIN + V6 FIN" to
 * "TRANS" and back). Only ESTABLISHED uses the established timeout.
 */
#include <linux/tcp.h>
#include "natk.h"

/* Only a SYN without ACK and RST may open a TCP flow. */
bool natk_tcp_may_create(u8 f)
{
	return (f & (NATK_TCPF_SYN | NATK_TCPF_ACK | NATK_TCPF_RST)) ==
	       NATK_TCPF_SYN;
}

/* The state after an ACK from the initiator of the handshake. */
static u8 natk_tcp_acked(bool outbound, u8 f, u8 state)
{
	if (!(f & NATK_TCPF_ACK))
		return state;
	if (f & NATK_TCPF_FIN)
		return outbound ? NATK_TCP_FIN_OUT : NATK_TCP_FIN_IN;
	return NATK_TCP_ESTABLISHED;
}

u8 natk_tcp_next(u8 state, bool outbound, u8 f)
{
	if (f & NATK_TCPF_RST)
		return NATK_TCP_RST;

	switch (state) {
	/* Mutant synack_established: the answer alone establishes. */
	case NATK_TCP_SYN_OUT:
		if (!outbound && (f & NATK_TCPF_SYN))
			return natk_mutant(synack_established) ?
			       NATK_TCP_ESTABLISHED : NATK_TCP_SYNACK_IN;
		return state;
	case NATK_TCP_SYN_IN:
		if (outbound && (f & NATK_TCPF_SYN))
			return natk_mutant(synack_established) ?
			       NATK_TCP_ESTABLISHED : NATK_TCP_SYNACK_OUT;
		return state;
	case NATK_TCP_SYNACK_IN:
		/* The internal host's ACK (or SYN-ACK: simultaneous open). */
		return outbound ? natk_tcp_acked(true, f, state) : state;
	case NATK_TCP_SYNACK_OUT:
		return outbound ? state : natk_tcp_acked(false, f, state);
	case NATK_TCP_ESTABLISHED:
		if (f & NATK_TCPF_FIN)
			return outbound ? NATK_TCP_FIN_OUT : NATK_TCP_FIN_IN;
		return state;
	case NATK_TCP_FIN_OUT:
	case NATK_TCP_FIN_IN:
	case NATK_TCP_FIN_BOTH:
	case NATK_TCP_RST:
		/* A new connection on the same tuple opens the flow again. */
		if (natk_tcp_may_create(f))
			return outbound ? NATK_TCP_SYN_OUT : NATK_TCP_SYN_IN;
		if (state == NATK_TCP_FIN_OUT && !outbound &&
		    (f & NATK_TCPF_FIN))
			return NATK_TCP_FIN_BOTH;
		if (state == NATK_TCP_FIN_IN && outbound &&
		    (f & NATK_TCPF_FIN))
			return NATK_TCP_FIN_BOTH;
		return state;
	default:
		return state;
	}
}
