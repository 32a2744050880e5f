#include "cli/format.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The cap of one rendered table: far above any real listing, it only
 * keeps a runaway response from taking all memory. */
#define TABLE_OUTPUT_MAX (64u << 20)

static int parse_digits(const char **p, int count, int *out)
{
	int value = 0;

	for (int i = 0; i < count; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		value = value * 10 + (c - '0');
	}
	*p += count;
	*out = value;
	return 0;
}

static int expect_char(const char **p, const char *allowed)
{
	if (**p == '\0' || !strchr(allowed, **p))
		return -1;
	*p += 1;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int parse_zone(const char **p, int *offset_min)
{
	int sign;
	int hours;
	int minutes;

	if (expect_char(p, "Zz") == 0) {
		*offset_min = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = **p == '-' ? -1 : 1;
	*p += 1;
	if (parse_digits(p, 2, &hours) || expect_char(p, ":") ||
	    parse_digits(p, 2, &minutes) || hours > 23 || minutes > 59)
		return -1;
	*offset_min = sign * (hours * 60 + minutes);
	return 0;
}

int hoist_cli_parse_time(const char *text, int64_t *ms)
{
	const char *p = text;
	int year, month, day, hour, minute, second;
	int frac_ms = 0;
	int offset_min;
	struct tm tm;
	time_t seconds;

	if (!text)
		return -1;
	if (parse_digits(&p, 4, &year) || expect_char(&p, "-") ||
	    parse_digits(&p, 2, &month) || expect_char(&p, "-") ||
	    parse_digits(&p, 2, &day) || expect_char(&p, "Tt ") ||
	    parse_digits(&p, 2, &hour) || expect_char(&p, ":") ||
	    parse_digits(&p, 2, &minute) || expect_char(&p, ":") ||
	    parse_digits(&p, 2, &second))
		return -1;

	if (*p == '.') {
		int digits = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
			digits++;
			p++;
		}
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			frac_ms *= 10;
	}
	if (parse_zone(&p, &offset_min) || *p != '\0')
		return -1;

	if (month < 1 || month > 12 || day < 1 ||
	    day > days_in_month(year, month) || hour > 23 || minute > 59 ||
	    second > 60)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	seconds = timegm(&tm);
	*ms = (int64_t)seconds * 1000 + frac_ms - (int64_t)offset_min * 60000;
	return 0;
}

void hoist_cli_format_age(int64_t now_ms, int64_t then_ms, char *out,
			  size_t outlen)
{
	int64_t age;

	if (then_ms <= 0) {
		snprintf(out, outlen, "-");
		return;
	}
	age = now_ms > then_ms ? (now_ms - then_ms) / 1000 : 0;
	if (age < 60)
		snprintf(out, outlen, "%llds ago", (long long)age);
	else if (age < 3600)
		snprintf(out, outlen, "%lldm ago", (long long)(age / 60));
	else if (age < 48 * 3600)
		snprintf(out, outlen, "%lldh ago", (long long)(age / 3600));
	else
		snprintf(out, outlen, "%lldd ago", (long long)(age / 86400));
}

void hoist_cli_format_duration(int64_t ms, char *out, size_t outlen)
{
	long long s;

	if (ms < 0) {
		snprintf(out, outlen, "-");
		return;
	}
	s = (long long)(ms / 1000);
	if (s < 60)
		snprintf(out, outlen, "%llds", s);
	else if (s < 3600)
		snprintf(out, outlen, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, outlen, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, outlen, "%lldd%02lldh", s / 86400,
			 s % 86400 / 3600);
}

void hoist_cli_format_cost(double usd, char *out, size_t outlen)
{
	if (isnan(usd) || usd < 0 || isinf(usd))
		snprintf(out, outlen, "-");
	else
		snprintf(out, outlen, "$%.4f", usd);
}

void hoist_cli_format_clock(int64_t ms, char *out, size_t outlen)
{
	time_t seconds = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&seconds, &tm) ||
	    strftime(out, outlen, "%H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "-");
}

int hoist_cli_use_color(FILE *stream)
{
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no_color && *no_color)
		return 0;
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fileno(stream));
}

const char *hoist_cli_state_color(const char *state)
{
	if (!state)
		return "";
	if (strcmp(state, "succeeded") == 0 || strcmp(state, "running") == 0)
		return HOIST_CLI_GREEN;
	if (strcmp(state, "failed") == 0)
		return HOIST_CLI_RED;
	if (strcmp(state, "recovering") == 0 ||
	    strcmp(state, "cancelled") == 0)
		return HOIST_CLI_YELLOW;
	return "";
}

int hoist_cli_state_is_final(const char *state)
{
	return state && (strcmp(state, "succeeded") == 0 ||
			 strcmp(state, "failed") == 0 ||
			 strcmp(state, "cancelled") == 0);
}

const char *hoist_cli_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int hoist_cli_json_int(const json_t *obj, const char *key, int64_t *out)
{
	const json_t *value = json_object_get(obj, key);
	double real;

	if (json_is_integer(value)) {
		*out = (int64_t)json_integer_value(value);
		return 0;
	}
	if (!json_is_real(value))
		return -1;
	real = json_real_value(value);
	if (real != floor(real) || fabs(real) > 9e15)
		return -1;
	*out = (int64_t)real;
	return 0;
}

int hoist_cli_json_real(const json_t *obj, const char *key, double *out)
{
	const json_t *value = json_object_get(obj, key);

	if (!json_is_number(value))
		return -1;
	*out = json_number_value(value);
	return 0;
}

int hoist_cli_json_time(const json_t *obj, const char *key, int64_t *ms)
{
	return hoist_cli_parse_time(hoist_cli_json_str(obj, key), ms);
}

void hoist_cli_print_json(FILE *out, const json_t *value)
{
	json_dumpf(value, out, JSON_INDENT(2));
	fputc('\n', out);
}

void hoist_cli_table_init(struct hoist_cli_table *table, int ncols,
			  const char *const *headers)
{
	memset(table, 0, sizeof(*table));
	if (ncols > HOIST_CLI_TABLE_COLS_MAX)
		ncols = HOIST_CLI_TABLE_COLS_MAX;
	table->ncols = ncols;
	for (int i = 0; i < ncols; i++) {
		table->right[i] = headers[i][0] == '>';
		table->headers[i] = headers[i] + table->right[i];
	}
}

void hoist_cli_table_release(struct hoist_cli_table *table)
{
	size_t total = table->nrows * (size_t)table->ncols;

	for (size_t i = 0; i < total; i++) {
		free(table->cells[i]);
		free(table->colors[i]);
	}
	free(table->cells);
	free(table->colors);
	table->cells = NULL;
	table->colors = NULL;
	table->nrows = 0;
	table->cap = 0;
}

static int table_grow(struct hoist_cli_table *table, struct hoist_err *err)
{
	size_t cap = table->cap ? table->cap * 2 : 16;
	size_t ncols = (size_t)table->ncols;
	char **cells;
	char **colors;

	cells = realloc(table->cells, cap * ncols * sizeof(*cells));
	if (!cells)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory for a table of %zu rows",
				     cap);
	table->cells = cells;
	colors = realloc(table->colors, cap * ncols * sizeof(*colors));
	if (!colors)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory for a table of %zu rows",
				     cap);
	table->colors = colors;
	table->cap = cap;
	return 0;
}

int hoist_cli_table_add(struct hoist_cli_table *table,
			const char *const *cells, const char *const *colors,
			struct hoist_err *err)
{
	size_t base = table->nrows * (size_t)table->ncols;
	int i;

	if (table->nrows == table->cap && table_grow(table, err))
		return -1;
	for (i = 0; i < table->ncols; i++) {
		const char *color = colors && colors[i] && *colors[i] ?
				    colors[i] : NULL;

		table->cells[base + i] = strdup(cells[i] ? cells[i] : "-");
		table->colors[base + i] = color ? strdup(color) : NULL;
		if (!table->cells[base + i] || (color && !table->colors[base + i]))
			break;
	}
	if (i < table->ncols) {
		for (int j = 0; j <= i; j++) {
			free(table->cells[base + j]);
			free(table->colors[base + j]);
		}
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory for a table cell");
	}
	table->nrows++;
	return 0;
}

/* Counts UTF-8 code points: every byte that is not a continuation byte. */
static size_t text_width(const char *text)
{
	size_t width = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		width += (*p & 0xC0) != 0x80;
	return width;
}

static int append_spaces(struct hoist_buf *out, size_t count,
			 struct hoist_err *err)
{
	static const char spaces[] = "                                ";

	while (count > 0) {
		size_t n = count < sizeof(spaces) - 1 ? count :
			   sizeof(spaces) - 1;

		if (hoist_buf_append(out, spaces, n, err))
			return -1;
		count -= n;
	}
	return 0;
}

static int render_row(const struct hoist_cli_table *table,
		      const char *const *cells, char *const *colors,
		      const size_t *widths, const char *indent,
		      struct hoist_buf *out, struct hoist_err *err)
{
	if (hoist_buf_appends(out, indent, err))
		return -1;
	for (int i = 0; i < table->ncols; i++) {
		const char *text = cells[i];
		const char *color = colors ? colors[i] : NULL;
		size_t pad = widths[i] - text_width(text);
		int last = i == table->ncols - 1;

		if (i > 0 && append_spaces(out, 2, err))
			return -1;
		if (table->right[i] && append_spaces(out, pad, err))
			return -1;
		if (color && hoist_buf_appends(out, color, err))
			return -1;
		if (hoist_buf_appends(out, text, err))
			return -1;
		if (color && hoist_buf_appends(out, HOIST_CLI_RESET, err))
			return -1;
		if (!table->right[i] && !last && append_spaces(out, pad, err))
			return -1;
	}
	return hoist_buf_appends(out, "\n", err);
}

int hoist_cli_table_render(const struct hoist_cli_table *table,
			   const char *indent, int color,
			   struct hoist_buf *out, struct hoist_err *err)
{
	size_t widths[HOIST_CLI_TABLE_COLS_MAX];
	char *header_colors[HOIST_CLI_TABLE_COLS_MAX];
	size_t ncols = (size_t)table->ncols;

	for (size_t i = 0; i < ncols; i++) {
		widths[i] = text_width(table->headers[i]);
		header_colors[i] = color ? (char *)HOIST_CLI_BOLD : NULL;
	}
	for (size_t row = 0; row < table->nrows; row++) {
		for (size_t i = 0; i < ncols; i++) {
			size_t width = text_width(table->cells[row * ncols + i]);

			if (width > widths[i])
				widths[i] = width;
		}
	}

	if (render_row(table, table->headers, header_colors, widths, indent,
		       out, err))
		return -1;
	for (size_t row = 0; row < table->nrows; row++) {
		if (render_row(table,
			       (const char *const *)&table->cells[row * ncols],
			       color ? &table->colors[row * ncols] : NULL,
			       widths, indent, out, err))
			return -1;
	}
	return 0;
}

int hoist_cli_table_print(const struct hoist_cli_table *table,
			  const char *indent, FILE *stream,
			  struct hoist_err *err)
{
	struct hoist_buf text;
	int rc = -1;

	hoist_buf_init(&text, TABLE_OUTPUT_MAX);
	if (hoist_cli_table_render(table, indent, hoist_cli_use_color(stream),
				   &text, err))
		goto out;
	fwrite(hoist_buf_str(&text), 1, text.len, stream);
	rc = 0;
out:
	hoist_buf_release(&text);
	return rc;
}
