// SPDX-License-Identifier: GPL-2.0
/*
 * Text/JSON printer. Writes to stdout only, through its own buffer (stdio
 * costs too much per call for a dump of a million flows): print_flush()
 * hands the buffer to stdout, and must be called before anything else
 * writes to stdout.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"

#define MAX_DEPTH 16

static bool json;
static bool pretty;
static int depth;
static struct {
	bool array;
	unsigned int count;
} stack[MAX_DEPTH + 1];

void print_init(bool j, bool p)
{
	json = j;
	pretty = p;
	depth = 0;
	memset(stack, 0, sizeof(stack));
}

bool print_is_json(void)
{
	return json;
}

static char obuf[1 << 16];
static size_t olen;

void print_flush(void)
{
	if (olen)
		fwrite(obuf, 1, olen, stdout);
	olen = 0;
	fflush(stdout);
}

static void put_mem(const char *s, size_t n)
{
	if (n > sizeof(obuf) - olen) {
		print_flush();
		if (n > sizeof(obuf)) {
			fwrite(s, 1, n, stdout);
			return;
		}
	}
	memcpy(obuf + olen, s, n);
	olen += n;
}

static inline void put(char c)
{
	if (olen == sizeof(obuf))
		print_flush();
	obuf[olen++] = c;
}

static inline void puts_raw(const char *s)
{
	put_mem(s, strlen(s));
}

static void put_u64(uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_raw(p);
}

/* Length of a valid UTF-8 sequence at s, or 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
	int n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_put_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789abcdef";

	put('"');
	while (*s) {
		const unsigned char *run = s;
		unsigned char c;
		int n;

		/* the common case: a run of plain ASCII */
		while (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			s++;
		if (s != run)
			put_mem((const char *)run, (size_t)(s - run));
		c = *s;
		if (!c)
			break;

		switch (c) {
		case '"':  puts_raw("\\\""); s++; continue;
		case '\\': puts_raw("\\\\"); s++; continue;
		case '\b': puts_raw("\\b"); s++; continue;
		case '\f': puts_raw("\\f"); s++; continue;
		case '\n': puts_raw("\\n"); s++; continue;
		case '\r': puts_raw("\\r"); s++; continue;
		case '\t': puts_raw("\\t"); s++; continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			puts_raw("\\u00");
			put(hex[c >> 4]);
			put(hex[c & 15]);
			s++;
			continue;
		}
		n = utf8_len(s);
		if (n == 0) {
			/* Not UTF-8: keep the JSON valid, show the byte. */
			puts_raw("\\u00");
			put(hex[c >> 4]);
			put(hex[c & 15]);
			s++;
			continue;
		}
		put_mem((const char *)s, (size_t)n);
		s += n;
	}
	put('"');
}

static void indent(void)
{
	int i;

	put('\n');
	for (i = 0; i < depth; i++)
		puts_raw("  ");
}

/* Separator, indentation and key before a JSON value. */
static void json_begin_value(const char *key)
{
	if (depth > 0) {
		if (stack[depth].count++)
			put(',');
		if (pretty)
			indent();
		if (!stack[depth].array) {
			json_put_string(key ? key : "");
			puts_raw(pretty ? ": " : ":");
		}
	}
}

static void json_open(const char *key, bool array)
{
	json_begin_value(key);
	put(array ? '[' : '{');
	if (depth < MAX_DEPTH)
		depth++;
	stack[depth].array = array;
	stack[depth].count = 0;
}

static void json_close(bool array)
{
	bool empty = stack[depth].count == 0;

	if (depth > 0)
		depth--;
	if (pretty && !empty)
		indent();
	put(array ? ']' : '}');
}

void print_open_object(const char *key)
{
	if (json)
		json_open(key, false);
}

void print_close_object(void)
{
	if (json)
		json_close(false);
}

void print_open_array(const char *key)
{
	if (json)
		json_open(key, true);
}

void print_close_array(void)
{
	if (json)
		json_close(true);
}

/*
 * Text output of fmt with one value. The format has at most one conversion
 * (%s for strings; %u, %lu, %llu, %d or PRIu64 for numbers, all printed
 * as unsigned 64-bit), optionally with flags and a width ("%-12s", "%8u"),
 * plus "%%". The value is written directly: no printf type mismatch, and
 * fast for the common plain conversions.
 */
static void text_out(const char *fmt, const char *s, uint64_t u, bool is_str)
{
	char num[24], spec[16];
	const char *p;

	if (!is_str) {
		char *q = num + sizeof(num);

		*--q = '\0';
		do {
			*--q = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		s = q;
	}
	for (p = fmt; *p; p++) {
		size_t n = 0;

		if (*p != '%') {
			put(*p);
			continue;
		}
		if (p[1] == '%') {
			put('%');
			p++;
			continue;
		}
		if (!p[1])
			break;
		/* flags and width, kept for the string */
		spec[n++] = '%';
		p++;
		while ((*p == '-' || *p == ' ' || *p == '+' || *p == '#' ||
			*p == '0' || (*p >= '1' && *p <= '9')) && n < sizeof(spec) - 3)
			spec[n++] = *p++;
		while (*p == 'l' || *p == 'h' || *p == 'j' || *p == 'z' ||
		       *p == 'q' || *p == 't')
			p++;
		if (!*p)
			break;
		/* *p is the conversion character: replaced by the value */
		if (n == 1) {
			puts_raw(s);
		} else {
			char out[256];
			int len;

			spec[n++] = 's';
			spec[n] = '\0';
			len = snprintf(out, sizeof(out), spec, s);
			if (len > 0)
				put_mem(out, (size_t)len < sizeof(out) ?
					(size_t)len : sizeof(out) - 1);
		}
	}
}

void print_string(enum print_type t, const char *key, const char *fmt,
		  const char *value)
{
	if (json) {
		if (t & PRINT_JSON) {
			json_begin_value(key);
			json_put_string(value ? value : "");
		}
	} else if ((t & PRINT_TEXT) && fmt) {
		text_out(fmt, value ? value : "", 0, true);
	}
}

void print_u64(enum print_type t, const char *key, const char *fmt,
	       uint64_t value)
{
	if (json) {
		if (t & PRINT_JSON) {
			json_begin_value(key);
			put_u64(value);
		}
	} else if ((t & PRINT_TEXT) && fmt) {
		text_out(fmt, NULL, value, false);
	}
}

void print_bool(enum print_type t, const char *key, const char *fmt,
		bool value)
{
	print_string(t & PRINT_TEXT, key, fmt, value ? "true" : "false");
	if (json && (t & PRINT_JSON)) {
		json_begin_value(key);
		puts_raw(value ? "true" : "false");
	}
}

void print_null(enum print_type t, const char *key, const char *fmt,
		const char *text_value)
{
	if (json) {
		if (t & PRINT_JSON) {
			json_begin_value(key);
			puts_raw("null");
		}
	} else {
		print_string(t & PRINT_TEXT, key, fmt, text_value);
	}
}

void print_text(const char *s)
{
	if (!json)
		puts_raw(s);
}

void print_textf(const char *fmt, ...)
{
	char buf[1024], *p = buf;
	va_list ap;
	int len;

	if (json)
		return;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(buf)) {
		p = malloc((size_t)len + 1);
		if (!p)
			return;
		va_start(ap, fmt);
		vsnprintf(p, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	put_mem(p, (size_t)len);
	if (p != buf)
		free(p);
}

void print_end(void)
{
	if (json) {
		put('\n');
		depth = 0;
		stack[0].count = 0;
	}
}
