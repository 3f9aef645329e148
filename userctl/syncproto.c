// SPDX-License-Identifier: GPL-2.0
/*
 * natk flow sync: encoding, the MAC and the replay window (sync.h has the
 * format). No sockets here: the offline tests use it directly.
 */
#include <ctype.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "sync.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void sync_mac(const uint8_t *key, const uint8_t *msg, size_t len,
		     uint8_t *out)
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, SYNC_KEY_LEN, key);
	hmac_sha256_update(&ctx, len, msg);
	hmac_sha256_digest(&ctx, SYNC_MAC_LEN, out);
}

/* Addresses and ports stay in network order: copied as they are. */
static void rec_put(uint8_t *p, const struct sync_rec *r)
{
	memset(p, 0, SYNC_REC_LEN);
	p[0] = r->op;
	p[1] = r->proto;
	p[2] = r->state;
	p[3] = r->flags;
	memcpy(p + 4, &r->int_addr, 4);
	memcpy(p + 8, &r->ext_addr, 4);
	memcpy(p + 12, &r->rem_addr, 4);
	put16(p + 16, r->int_port);
	put16(p + 18, r->ext_port);
	put16(p + 20, r->rem_port);
	put32(p + 24, r->expires_ms);
	put64(p + 28, r->pkts_out);
	put64(p + 36, r->bytes_out);
	put64(p + 44, r->pkts_in);
	put64(p + 52, r->bytes_in);
}

void sync_rec_get(const uint8_t *p, struct sync_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->op = p[0];
	r->proto = p[1];
	r->state = p[2];
	r->flags = p[3];
	memcpy(&r->int_addr, p + 4, 4);
	memcpy(&r->ext_addr, p + 8, 4);
	memcpy(&r->rem_addr, p + 12, 4);
	r->int_port = get16(p + 16);
	r->ext_port = get16(p + 18);
	r->rem_port = get16(p + 20);
	r->expires_ms = get32(p + 24);
	r->pkts_out = get64(p + 28);
	r->bytes_out = get64(p + 36);
	r->pkts_in = get64(p + 44);
	r->bytes_in = get64(p + 52);
}

size_t sync_seal(uint8_t *buf, const struct sync_hdr *h,
		 const struct sync_rec *recs, const uint8_t *key)
{
	size_t len = SYNC_HDR_LEN + (size_t)h->count * SYNC_REC_LEN;

	memset(buf, 0, SYNC_HDR_LEN);
	memcpy(buf, "NKS", 3);
	buf[3] = SYNC_VERSION;
	buf[4] = h->type;
	buf[5] = h->flags;
	put16(buf + 6, h->count);
	put64(buf + 8, h->epoch);
	put64(buf + 16, h->pn);
	put64(buf + 24, h->time_ns);
	put32(buf + 32, h->seq);
	put32(buf + 36, h->base);
	put32(buf + 40, h->ack);
	put64(buf + 44, h->ack_epoch);
	for (unsigned int i = 0; i < h->count; i++)
		rec_put(buf + SYNC_HDR_LEN + i * SYNC_REC_LEN, &recs[i]);
	sync_mac(key, buf, len, buf + len);
	return len + SYNC_MAC_LEN;
}

enum sync_verdict sync_open(const uint8_t *buf, size_t len,
			    struct sync_hdr *h, const uint8_t *key)
{
	uint8_t mac[SYNC_MAC_LEN];
	size_t body;

	if (len < SYNC_HDR_LEN + SYNC_MAC_LEN || len > SYNC_MAX_MSG)
		return SYNC_BAD_LEN;
	body = len - SYNC_MAC_LEN;
	/* Nothing of an unauthenticated datagram is believed, not even its
	 * length fields: the MAC first. */
	sync_mac(key, buf, body, mac);
	if (!memeql_sec(mac, buf + body, SYNC_MAC_LEN) &&
	    !ctl_mutant("sync-no-mac"))
		return SYNC_BAD_MAC;
	if (memcmp(buf, "NKS", 3) || buf[3] != SYNC_VERSION)
		return SYNC_BAD_VERSION;
	memset(h, 0, sizeof(*h));
	h->type = buf[4];
	h->flags = buf[5];
	h->count = get16(buf + 6);
	h->epoch = get64(buf + 8);
	h->pn = get64(buf + 16);
	h->time_ns = get64(buf + 24);
	h->seq = get32(buf + 32);
	h->base = get32(buf + 36);
	h->ack = get32(buf + 40);
	h->ack_epoch = get64(buf + 44);
	if (body != SYNC_HDR_LEN + (size_t)h->count * SYNC_REC_LEN)
		return SYNC_BAD_LEN;
	return SYNC_OK;
}

bool sync_replay_check(const struct sync_replay *w, uint64_t pn)
{
	if (!pn)
		return false;
	if (pn > w->top)
		return true;
	if (w->top - pn >= 64)
		return false;
	return !(w->bits & (1ull << (w->top - pn)));
}

void sync_replay_mark(struct sync_replay *w, uint64_t pn)
{
	if (pn > w->top) {
		uint64_t shift = pn - w->top;

		w->bits = shift >= 64 ? 0 : w->bits << shift;
		w->top = pn;
		w->bits |= 1;
	} else if (w->top - pn < 64) {
		w->bits |= 1ull << (w->top - pn);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool sync_key_parse(const char *text, uint8_t *key)
{
	size_t n = 0;
	int hi, lo;

	while (*text == ' ' || *text == '\t')
		text++;
	for (; n < SYNC_KEY_LEN; n++) {
		hi = hexval(text[2 * n]);
		lo = hi < 0 ? -1 : hexval(text[2 * n + 1]);
		if (lo < 0)
			return false;
		key[n] = (uint8_t)(hi << 4 | lo);
	}
	for (text += 2 * SYNC_KEY_LEN; *text; text++)
		if (!isspace((unsigned char)*text))
			return false;
	return true;
}
