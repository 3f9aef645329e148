/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One printer for text and JSON, in the spirit of iproute2's json_print.
 *
 * Every print_* call takes a type (PRINT_ANY: both, PRINT_TEXT: text only,
 * PRINT_JSON: JSON only), a JSON key and a printf format used for text.
 * In text mode the key is ignored; in JSON mode the format is ignored.
 * A command prints with one sequence of calls and -j chooses the output.
 */
#ifndef NATKCTL_PRINT_H
#define NATKCTL_PRINT_H

#include <stdbool.h>
#include <stdint.h>

enum print_type {
	PRINT_TEXT = 1,
	PRINT_JSON = 2,
	PRINT_ANY = PRINT_TEXT | PRINT_JSON,
};

void print_init(bool json, bool pretty);
bool print_is_json(void);

/* Objects and arrays: key is NULL at top level and inside arrays. */
void print_open_object(const char *key);
void print_close_object(void);
void print_open_array(const char *key);
void print_close_array(void);

void print_string(enum print_type t, const char *key, const char *fmt,
		  const char *value);
void print_u64(enum print_type t, const char *key, const char *fmt,
	       uint64_t value);
void print_bool(enum print_type t, const char *key, const char *fmt,
		bool value);
/* JSON null; text prints fmt with text_value as the %s argument. */
void print_null(enum print_type t, const char *key, const char *fmt,
		const char *text_value);
/* Text only: a literal string (no format). */
void print_text(const char *s);
/* Text only, printf style. */
void print_textf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* End of a JSON document (newline) or nothing in text mode. */
void print_end(void);

/* Hand buffered output to stdout and flush it. */
void print_flush(void);

/* Write s as a JSON string literal (with quotes) to stdout. */
void json_put_string(const char *s);

#endif
