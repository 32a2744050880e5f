/*
 * format.h - how the hoist CLI shows times, durations, money and tables,
 * and small accessors for the JSON records that hoistd returns.
 *
 * The format functions write a NUL-terminated string into out and cut it
 * to outlen - 1 bytes.  A value that is missing or invalid shows as "-".
 */
#ifndef HOIST_CLI_FORMAT_H
#define HOIST_CLI_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"

/* SGR sequences used when color is on. */
#define HOIST_CLI_BOLD	"\033[1m"
#define HOIST_CLI_RED	"\033[31m"
#define HOIST_CLI_GREEN	"\033[32m"
#define HOIST_CLI_YELLOW "\033[33m"
#define HOIST_CLI_RESET	"\033[0m"

/*
 * Parses an RFC 3339 time ("2026-12-04T19:48:34.123Z", any fraction
 * digits, "Z" or a "+hh:mm" offset) into ms since the Unix epoch.
 * Returns 0, or -1 when text is not such a time.
 */
int hoist_cli_parse_time(const char *text, int64_t *ms);

/* Formats the age now_ms - then_ms as "12s ago", "3m ago", "5h ago" or
 * "4d ago"; a time in the future shows as "0s ago", then_ms <= 0 as "-". */
void hoist_cli_format_age(int64_t now_ms, int64_t then_ms, char *out,
			  size_t outlen);

/* Formats ms as "42s", "3m05s", "2h07m" or "3d04h"; negative as "-". */
void hoist_cli_format_duration(int64_t ms, char *out, size_t outlen);

/* Formats US dollars as "$0.0123" (4 decimals); NaN or negative as "-". */
void hoist_cli_format_cost(double usd, char *out, size_t outlen);

/* Formats the local wall clock time of ms as "19:48:34". */
void hoist_cli_format_clock(int64_t ms, char *out, size_t outlen);

/* Returns 1 when output to stream may use color: the stream is a
 * terminal, NO_COLOR is unset or empty and TERM is not "dumb". */
int hoist_cli_use_color(FILE *stream);

/* Returns the SGR color for a job or attempt state, or "" for none. */
const char *hoist_cli_state_color(const char *state);

/* Returns 1 for the final job states succeeded, failed and cancelled. */
int hoist_cli_state_is_final(const char *state);

/*
 * JSON accessors that tolerate missing fields and wrong types.
 * hoist_cli_json_str returns the string at key, or NULL.
 * hoist_cli_json_int stores an integer (or an integral real) and returns
 * 0, or returns -1 when the field is missing, null or not a number.
 * hoist_cli_json_real does the same for any number.
 * hoist_cli_json_time parses an RFC 3339 string field into ms.
 */
const char *hoist_cli_json_str(const json_t *obj, const char *key);
int hoist_cli_json_int(const json_t *obj, const char *key, int64_t *out);
int hoist_cli_json_real(const json_t *obj, const char *key, double *out);
int hoist_cli_json_time(const json_t *obj, const char *key, int64_t *ms);

/* Prints value as indented JSON and a newline to out. */
void hoist_cli_print_json(FILE *out, const json_t *value);

#define HOIST_CLI_TABLE_COLS_MAX 12

/*
 * A text table: a header row and data rows, columns separated by two
 * spaces, widths measured in UTF-8 code points.  The table owns copies of
 * all cells.
 */
struct hoist_cli_table {
	int ncols;
	const char *headers[HOIST_CLI_TABLE_COLS_MAX];
	int right[HOIST_CLI_TABLE_COLS_MAX];	/* 1: right-aligned column */
	char **cells;		/* nrows * ncols strings */
	char **colors;		/* nrows * ncols SGR strings or NULL */
	size_t nrows;
	size_t cap;
};

/*
 * Starts a table.  Each header is a static string; a header that begins
 * with '>' names a right-aligned column (the '>' is not shown).
 */
void hoist_cli_table_init(struct hoist_cli_table *table, int ncols,
			  const char *const *headers);
void hoist_cli_table_release(struct hoist_cli_table *table);

/* Appends a row of ncols cells (NULL shows as "-"); colors may be NULL or
 * hold an SGR string per cell.  Returns 0, or -1 with HOIST_E_NOMEM. */
int hoist_cli_table_add(struct hoist_cli_table *table,
			const char *const *cells, const char *const *colors,
			struct hoist_err *err);

/*
 * Appends the table to out, every line prefixed with indent.  Lines have
 * no trailing spaces.  With color, the header is bold and the colored
 * cells are wrapped in their SGR string.  Returns 0, or -1 when out is full.
 */
int hoist_cli_table_render(const struct hoist_cli_table *table,
			   const char *indent, int color,
			   struct hoist_buf *out, struct hoist_err *err);

/* Renders the table and writes it to stream. */
int hoist_cli_table_print(const struct hoist_cli_table *table,
			  const char *indent, FILE *stream,
			  struct hoist_err *err);

#endif
