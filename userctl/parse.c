// SPDX-License-Identifier: GPL-2.0
/* Value parsers shared by the command line and configuration files. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "natkctl.h"

/* Decimal only: no sign, no spaces, no hex/octal surprises. */
static bool parse_u64_dec(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool parse_u64(const char *s, uint64_t *out)
{
	return parse_u64_dec(s, out);
}

bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64_dec(s, &v) || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool parse_port(const char *s, uint16_t *out)
{
	uint32_t v;

	if (!parse_u32(s, 1, 65535, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

bool parse_proto(const char *s, bool icmp_ok, uint8_t *out)
{
	if (!strcmp(s, "tcp"))
		*out = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*out = IPPROTO_UDP;
	else if (icmp_ok && !strcmp(s, "icmp"))
		*out = IPPROTO_ICMP;
	else
		return false;
	return true;
}

const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:	return "tcp";
	case IPPROTO_UDP:	return "udp";
	case IPPROTO_ICMP:	return "icmp";
	default:		return "unknown";
	}
}

/* A dotted quad, the first len characters of s. */
static bool parse_addr_n(const char *s, size_t len, uint32_t *addr_be)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	*addr_be = a.s_addr;
	return true;
}

/* "10.0.0.2" or "10.0.0.2:80". */
bool parse_addr_port(const char *s, uint32_t *addr_be, uint16_t *port,
		     bool *has_port)
{
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);

	if (!parse_addr_n(s, len, addr_be))
		return false;
	*has_port = colon != NULL;
	if (colon && !parse_port(colon + 1, port))
		return false;
	return true;
}

/* ---- external addresses: "addresses LIST" ---- */

/* An address natk can masquerade behind: not 0.0.0.0, multicast,
 * reserved or broadcast (224.0.0.0 and up). */
static bool addr_unicast(uint32_t addr_be)
{
	uint32_t h = ntohl(addr_be);

	return h && h < 0xe0000000u;
}

bool parse_ext_addr(const char *s, uint32_t *addr_be)
{
	return parse_addr_n(s, strlen(s), addr_be) && addr_unicast(*addr_be);
}

const char *addr_range_str(const struct natk_addr_range *r, char *buf)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->first_be, a, sizeof(a));
	if (r->first_be == r->last_be) {
		snprintf(buf, ADDR_RANGE_STRLEN, "%s", a);
	} else {
		inet_ntop(AF_INET, &r->last_be, b, sizeof(b));
		snprintf(buf, ADDR_RANGE_STRLEN, "%s-%s", a, b);
	}
	return buf;
}

uint32_t addr_list_count(const struct natk_addr_list *l)
{
	uint32_t n = 0;

	for (unsigned int i = 0; i < l->n; i++)
		n += ntohl(l->r[i].last_be) - ntohl(l->r[i].first_be) + 1;
	return n;
}

bool addr_list_has(const struct natk_addr_list *l, uint32_t addr_be)
{
	uint32_t h = ntohl(addr_be);

	for (unsigned int i = 0; i < l->n; i++)
		if (h >= ntohl(l->r[i].first_be) && h <= ntohl(l->r[i].last_be))
			return true;
	return false;
}

#define LIST_ERR(...) do { snprintf(err, errlen, __VA_ARGS__); goto out; } while (0)

bool parse_addr_list(const char *s, struct natk_addr_list *l, char *err,
		     size_t errlen)
{
	char *v = strdup(s), *tok, *next, *dash, buf[ADDR_RANGE_STRLEN];
	char a[INET_ADDRSTRLEN];
	uint64_t total = 0;
	bool ok = false;

	if (!v)
		fail("out of memory");
	l->n = 0;
	for (tok = v; tok; tok = next) {
		struct natk_addr_range r;
		uint32_t lo, hi;

		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (!*tok)
			LIST_ERR("an address is missing (two commas in a row, or one at an end of the list)");
		if (!strcmp(tok, "primary") || !strcmp(tok, "all"))
			LIST_ERR("'%s' stands alone, without addresses", tok);
		dash = strchr(tok, '-');
		if (!parse_addr_n(tok, dash ? (size_t)(dash - tok) : strlen(tok),
				  &r.first_be) ||
		    (dash && !parse_addr_n(dash + 1, strlen(dash + 1), &r.last_be)))
			LIST_ERR("invalid %s '%s': expected A.B.C.D or A.B.C.D-A.B.C.D, several separated by commas, or primary or all",
				 dash ? "range" : "address", tok);
		if (!dash)
			r.last_be = r.first_be;
		if (!addr_unicast(r.first_be) || !addr_unicast(r.last_be)) {
			uint32_t bad = addr_unicast(r.first_be) ? r.last_be :
				       r.first_be;

			inet_ntop(AF_INET, &bad, a, sizeof(a));
			LIST_ERR("%s is not an address to masquerade behind (not 0.0.0.0, nor 224.0.0.0 and above)",
				 a);
		}
		lo = ntohl(r.first_be);
		hi = ntohl(r.last_be);
		if (lo > hi) {
			*dash = '\0';
			LIST_ERR("invalid range '%s-%s': the first address is above the last (did you mean %s-%s?)",
				 tok, dash + 1, dash + 1, tok);
		}
		for (unsigned int i = 0; i < l->n; i++) {
			uint32_t plo = ntohl(l->r[i].first_be);
			uint32_t phi = ntohl(l->r[i].last_be);
			uint32_t first = lo > plo ? lo : plo;

			if (lo > phi || hi < plo)
				continue;
			first = htonl(first);
			inet_ntop(AF_INET, &first, a, sizeof(a));
			LIST_ERR("%s is in the list twice (%s and %s)", a,
				 addr_range_str(&l->r[i], buf), tok);
		}
		if (l->n == NATK_ADDR_RANGES_MAX)
			LIST_ERR("more than %u ranges: join neighbouring addresses into ranges (A.B.C.D-A.B.C.D)",
				 NATK_ADDR_RANGES_MAX);
		total += (uint64_t)hi - lo + 1;
		if (total > NATK_ADDRS_MAX)
			LIST_ERR("more than %u addresses (natk masquerades behind at most %u)",
				 NATK_ADDRS_MAX, NATK_ADDRS_MAX);
		l->r[l->n++] = r;
	}
	ok = true;
out:
	free(v);
	return ok;
}

/*
 * An array of @elem-byte entries holding @n, with room for one more:
 * doubled when full (@first entries at first). Out of memory is fatal.
 */
void *grow_array(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t c;

	if (n < *cap)
		return v;
	c = *cap ? *cap * 2 : first;
	v = realloc(v, c * elem);
	if (!v)
		fail("out of memory (%zu entries)", n);
	*cap = c;
	return v;
}

/* The netmask of a prefix length (0 to 32), network order. */
uint32_t prefix_mask_be(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

/* "10.0.0.0/8" or "10.0.0.1" (/32), as the kernel takes it: no host bits. */
enum prefix_err parse_prefix(const char *s, uint32_t *addr_be, uint8_t *len)
{
	const char *slash = strchr(s, '/');
	uint32_t l = 32;

	if (!parse_addr_n(s, slash ? (size_t)(slash - s) : strlen(s), addr_be))
		return PREFIX_SYNTAX;
	if (slash && !parse_u32(slash + 1, 0, UINT32_MAX, &l))
		return PREFIX_SYNTAX;
	if (l > 32)
		return PREFIX_LEN;
	*len = (uint8_t)l;
	if (*addr_be & ~prefix_mask_be(*len))
		return PREFIX_HOST_BITS;
	return PREFIX_OK;
}

/* Seconds, optionally with a unit: 300, 300s, 5m, 2h, 1d; min..max. */
bool parse_seconds_range(const char *s, uint32_t min, uint32_t max,
			 uint32_t *out)
{
	char num[16];
	size_t len = strlen(s);
	uint64_t v, mult = 1;

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 's': mult = 1; num[--len] = '\0'; break;
	case 'm': mult = 60; num[--len] = '\0'; break;
	case 'h': mult = 3600; num[--len] = '\0'; break;
	case 'd': mult = 86400; num[--len] = '\0'; break;
	default: break;
	}
	if (!parse_u64_dec(num, &v) || v > UINT32_MAX / mult)
		return false;
	v *= mult;
	if (v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A timeout: 1 second to NATK_TIMEOUT_MAX. */
bool parse_seconds(const char *s, uint32_t *out)
{
	return parse_seconds_range(s, 1, NATK_TIMEOUT_MAX, out);
}

/* ---- times: the events' format (monitor, log) and who's "at TIME" ---- */

#define NS_PER_SEC 1000000000ull

uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* 2024-05-01T12:34:56.123456Z (UTC, microseconds) */
void format_time(uint64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / NS_PER_SEC);
	unsigned int usec = (unsigned int)(ns % NS_PER_SEC / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06uZ", usec);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Exactly n digits at *p (advanced past them). */
static bool digits(const char **p, int n, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + (unsigned int)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * YYYY-MM-DD[T| ]HH:MM[:SS[.FRACTION]][Z|+HH:MM|-HH:MM|+HHMM|-HHMM] (UTC
 * without a zone), "now", or -N[s|m|h|d] (that long before now).
 */
bool parse_time(const char *s, uint64_t now_ns, uint64_t *out)
{
	static const unsigned char mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	unsigned int y, mo, d, h, mi, sec = 0, oh, om;
	uint64_t frac = 0, scale = NS_PER_SEC;
	int64_t t, off = 0;
	const char *p = s;
	uint32_t ago;

	if (!strcmp(s, "now")) {
		*out = now_ns;
		return true;
	}
	if (s[0] == '-') {
		if (!parse_seconds_range(s + 1, 0, UINT32_MAX, &ago) ||
		    (uint64_t)ago * NS_PER_SEC > now_ns)
			return false;
		*out = now_ns - (uint64_t)ago * NS_PER_SEC;
		return true;
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't' && *p != ' '))
		return false;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
		return false;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &sec))
			return false;
		if (*p == '.' || *p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			for (; isdigit((unsigned char)*p); p++) {
				if (scale == 1)
					return false;	/* finer than 1 ns */
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (!digits(&p, 2, &oh))
			return false;
		if (*p == ':')
			p++;
		if (!digits(&p, 2, &om) || oh > 23 || om > 59)
			return false;
		off = sign * (int64_t)(oh * 3600 + om * 60);
	}
	if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) ||
	    h > 23 || mi > 59 || sec > 59)
		return false;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (t < 0)
		return false;
	*out = (uint64_t)t * NS_PER_SEC + frac;
	return true;
}
