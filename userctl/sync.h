/* SPDX-License-Identifier: GPL-2.0 */
/*
 * natk flow sync (natkctl sync): the wire format and its checks, shared by
 * the daemon (sync.c) and the offline tests (syncproto.c).
 *
 * One UDP datagram is one message: a header, records, and a MAC.
 *
 *   header (SYNC_HDR_LEN bytes, integers big-endian)
 *     0  "NKS" and the version (1)
 *     4  u8 type: SYNC_HELLO (keepalive, acks), SYNC_DATA (records),
 *        SYNC_RESYNC_REQ (send me your whole table)
 *     5  u8 flags (0)
 *     6  u16 count: records that follow
 *     8  u64 epoch: the sender's run (CLOCK_REALTIME ns at its start)
 *    16  u64 pn: packet number, new for every datagram of the run, so that
 *        a replayed one is seen; a retransmission gets a new pn
 *    24  u64 time_ns: CLOCK_REALTIME when sent (a pair's clocks agree
 *        within SYNC_MAX_SKEW_NS, as NTP keeps them)
 *    32  u32 seq: DATA: the message's place in the reliable stream
 *    36  u32 base: the oldest seq the sender still retransmits; what is
 *        before it is abandoned, and a whole table follows it
 *    40  u32 ack: the next seq the sender expects from the receiver
 *    44  u64 ack_epoch: the receiver's run that ack refers to
 *   records (SYNC_REC_LEN bytes each)
 *     0  u8 op: SYNC_OP_UPSERT, SYNC_OP_DEL, SYNC_OP_BEGIN (a whole table
 *        follows: what it does not name is gone at SYNC_OP_END), SYNC_OP_END
 *     1  u8 proto, 2 u8 TCP state, 3 u8 flags (SYNC_REC_F_*)
 *     4  be32 internal, 8 be32 external, 12 be32 remote address
 *    16  be16 internal, 18 be16 external, 20 be16 remote port, 22 u16 0
 *    24  u32 expires_ms
 *    28  u64 packets out, 36 bytes out, 44 packets in, 52 bytes in (0
 *        with SYNC_REC_F_NO_COUNTERS)
 *   MAC: the first SYNC_MAC_LEN bytes of HMAC-SHA256(key, header|records)
 *
 * A record's flags (byte 3), for the flow of an UPSERT or DEL:
 *   0x01 SYNC_REC_F_SEEN_OUT, 0x02 SYNC_REC_F_SEEN_IN  the directions it
 *        has had packets in (NATK_FLOW_F_SEEN_OUT, _IN), when 0x40 is set
 *   0x40 SYNC_REC_F_SEEN  the two bits above are known; without it the
 *        importing side sends no NATK_FLOW_A_SEEN (the kernel tells them
 *        from the counters and the TCP state)
 *   0x80 SYNC_REC_F_NO_COUNTERS  the flow has no counters (made while
 *        NATK_A_ACCOUNTING was off): the four are 0 and not imported
 *   the rest: 0, ignored
 * A peer older than the flags sends 0 there (it was a pad): counters
 * valid, seen bits not known. It ignores the byte it gets and imports the
 * four counters as they are (0 for a flow without them).
 */
#ifndef NATKCTL_SYNC_H
#define NATKCTL_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * natkctl mutants (tests/mutants/mutants.txt, the "ctl-" ones): a natkctl
 * built with `make NATKCTL_MUTANT=NAME` breaks one behaviour on purpose,
 * for make check-mutants to show a test catches it. 0 in every other build.
 */
#ifdef NATKCTL_MUTANT
#define ctl_mutant(name)	(!strcmp(NATKCTL_MUTANT, name))
#else
#define ctl_mutant(name)	0
#endif

#define SYNC_PORT		7740
#define SYNC_VERSION		1
#define SYNC_HDR_LEN		52
#define SYNC_REC_LEN		60
#define SYNC_MAC_LEN		16
#define SYNC_KEY_LEN		32
/* Datagrams stay under a 1500-byte MTU's UDP payload. */
#define SYNC_MAX_MSG		1400
#define SYNC_MAX_RECS	((SYNC_MAX_MSG - SYNC_HDR_LEN - SYNC_MAC_LEN) / SYNC_REC_LEN)
/* A message sent longer ago (or later) than this is refused as a replay. */
#define SYNC_MAX_SKEW_NS	(60ull * 1000000000ull)

enum sync_type {
	SYNC_HELLO = 1,
	SYNC_DATA,
	SYNC_RESYNC_REQ,
};

enum sync_op {
	SYNC_OP_UPSERT = 1,
	SYNC_OP_DEL,
	SYNC_OP_BEGIN,
	SYNC_OP_END,
};

struct sync_hdr {
	uint8_t type, flags;
	uint16_t count;
	uint64_t epoch, pn, time_ns;
	uint32_t seq, base, ack;
	uint64_t ack_epoch;
};

/* A record's byte 3 (sync_rec.flags): see above. */
#define SYNC_REC_F_SEEN_OUT	0x01	/* NATK_FLOW_F_SEEN_OUT */
#define SYNC_REC_F_SEEN_IN	0x02	/* NATK_FLOW_F_SEEN_IN */
#define SYNC_REC_F_SEEN		0x40
#define SYNC_REC_F_NO_COUNTERS	0x80

struct sync_rec {
	uint8_t op, proto, state;
	uint8_t flags;				/* SYNC_REC_F_* */
	uint32_t int_addr, ext_addr, rem_addr;	/* network order */
	uint16_t int_port, ext_port, rem_port;
	uint32_t expires_ms;
	uint64_t pkts_out, bytes_out, pkts_in, bytes_in;
};

/* Why a datagram was refused (sync_open). */
enum sync_verdict {
	SYNC_OK,
	SYNC_BAD_LEN,		/* too short, or count does not match */
	SYNC_BAD_MAC,		/* not made with our key: auth failure */
	SYNC_BAD_VERSION,	/* authentic, but not our magic or version */
};

/* Header, records and MAC into buf (room for SYNC_MAX_MSG); its length. */
size_t sync_seal(uint8_t *buf, const struct sync_hdr *h,
		 const struct sync_rec *recs, const uint8_t *key);
/*
 * Check a received datagram: length, MAC (constant time), version; on
 * SYNC_OK *h is its header and its records are at buf + SYNC_HDR_LEN
 * (sync_rec_get).
 */
enum sync_verdict sync_open(const uint8_t *buf, size_t len,
			    struct sync_hdr *h, const uint8_t *key);
void sync_rec_get(const uint8_t *p, struct sync_rec *r);

/*
 * Anti-replay for one peer run: packet numbers seen, a window of 64 below
 * the highest (as IPsec and WireGuard keep). sync_replay_check says
 * whether pn is new; sync_replay_mark records it (only once the message
 * was authenticated and accepted).
 */
struct sync_replay {
	uint64_t top;		/* highest pn seen, 0: none */
	uint64_t bits;		/* bit i: top - i seen */
};
bool sync_replay_check(const struct sync_replay *w, uint64_t pn);
void sync_replay_mark(struct sync_replay *w, uint64_t pn);

/* 64 hex digits (and optional blanks/newline) into key; false if not. */
bool sync_key_parse(const char *text, uint8_t *key);

#endif
