// SPDX-License-Identifier: GPL-2.0
/* Value parsers shared by the command line and configuration files. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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
