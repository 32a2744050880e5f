#include "config/scalar.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum length of number text converted without a heap copy. */
#define NUMBER_TEXT_MAX 128

/* Words longer than this get no spelling suggestion. */
#define CLOSEST_WORD_MAX 64

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale = (locale_t)0;

static void c_locale_create(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Returns the process-wide "C" locale object, or (locale_t)0 on failure. */
static locale_t c_locale_get(void)
{
	pthread_once(&c_locale_once, c_locale_create);
	return c_locale;
}

static bool text_is(const char *text, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(text, word, len) == 0;
}

static bool text_is_any(const char *text, size_t len,
			const char *const *words)
{
	for (; *words; words++)
		if (text_is(text, len, *words))
			return true;
	return false;
}

static const char *const null_words[] = { "null", "Null", "NULL", "~", NULL };
static const char *const true_words[] = { "true", "True", "TRUE", NULL };
static const char *const false_words[] = {
	"false", "False", "FALSE", NULL
};
static const char *const nan_words[] = { ".nan", ".NaN", ".NAN", NULL };
static const char *const inf_words[] = { ".inf", ".Inf", ".INF", NULL };

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_octal_digit(char c)
{
	return c >= '0' && c <= '7';
}

static bool is_hex_digit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static size_t count_digits(const char *p, const char *end,
			   bool (*accept)(char))
{
	size_t n = 0;

	while (p + n < end && accept(p[n]))
		n++;
	return n;
}

/* Matches [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
static bool match_int(const char *text, size_t len)
{
	const char *p = text;
	const char *end = text + len;

	if (len > 2 && text[0] == '0' && text[1] == 'o')
		return count_digits(text + 2, end, is_octal_digit) == len - 2;
	if (len > 2 && text[0] == '0' && text[1] == 'x')
		return count_digits(text + 2, end, is_hex_digit) == len - 2;
	if (p < end && (*p == '-' || *p == '+'))
		p++;
	if (p == end)
		return false;
	return count_digits(p, end, is_digit) == (size_t)(end - p);
}

/* Matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool match_float(const char *text, size_t len)
{
	const char *p = text;
	const char *end = text + len;
	size_t n;

	if (p < end && (*p == '-' || *p == '+'))
		p++;
	if (p < end && *p == '.') {
		p++;
		n = count_digits(p, end, is_digit);
		if (n == 0)
			return false;
		p += n;
	} else {
		n = count_digits(p, end, is_digit);
		if (n == 0)
			return false;
		p += n;
		if (p < end && *p == '.') {
			p++;
			p += count_digits(p, end, is_digit);
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '-' || *p == '+'))
			p++;
		n = count_digits(p, end, is_digit);
		if (n == 0)
			return false;
		p += n;
	}
	return p == end;
}

bool hoist_config_scalar_is_nonfinite(const char *text, size_t len)
{
	if (text_is_any(text, len, nan_words))
		return true;
	if (len > 0 && (text[0] == '-' || text[0] == '+')) {
		text++;
		len--;
	}
	return text_is_any(text, len, inf_words);
}

enum hoist_config_scalar_kind hoist_config_scalar_kind(const char *text,
						       size_t len)
{
	if (len == 0 || text_is_any(text, len, null_words))
		return HOIST_CONFIG_SCALAR_NULL;
	if (text_is_any(text, len, true_words) ||
	    text_is_any(text, len, false_words))
		return HOIST_CONFIG_SCALAR_BOOL;
	if (match_int(text, len))
		return HOIST_CONFIG_SCALAR_INT;
	if (match_float(text, len) ||
	    hoist_config_scalar_is_nonfinite(text, len))
		return HOIST_CONFIG_SCALAR_FLOAT;
	return HOIST_CONFIG_SCALAR_STRING;
}

const char *hoist_config_scalar_kind_name(enum hoist_config_scalar_kind kind)
{
	switch (kind) {
	case HOIST_CONFIG_SCALAR_NULL: return "null";
	case HOIST_CONFIG_SCALAR_BOOL: return "a boolean";
	case HOIST_CONFIG_SCALAR_INT: return "an integer";
	case HOIST_CONFIG_SCALAR_FLOAT: return "a float";
	case HOIST_CONFIG_SCALAR_STRING: return "a string";
	}
	return "a scalar";
}

int hoist_config_scalar_bool(const char *text, size_t len, bool *out)
{
	if (text_is_any(text, len, true_words)) {
		*out = true;
		return 0;
	}
	if (text_is_any(text, len, false_words)) {
		*out = false;
		return 0;
	}
	return -1;
}

/* Accumulates digits of base into *acc; returns -1 past limit. */
static int accumulate(const char *p, const char *end, unsigned base,
		      uint64_t limit, uint64_t *acc)
{
	uint64_t value = 0;

	for (; p < end; p++) {
		unsigned digit;

		if (is_digit(*p))
			digit = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			digit = (unsigned)(*p - 'a') + 10;
		else
			digit = (unsigned)(*p - 'A') + 10;
		if (value > (limit - digit) / base)
			return -1;
		value = value * base + digit;
	}
	*acc = value;
	return 0;
}

int hoist_config_scalar_int(const char *text, size_t len, int64_t *out)
{
	const char *end = text + len;
	bool negative = false;
	uint64_t limit = (uint64_t)INT64_MAX;
	uint64_t value;

	if (!match_int(text, len))
		return -1;
	if (len > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'x')) {
		unsigned base = text[1] == 'o' ? 8 : 16;

		if (accumulate(text + 2, end, base, limit, &value))
			return -1;
		*out = (int64_t)value;
		return 0;
	}
	if (*text == '-' || *text == '+') {
		negative = *text == '-';
		text++;
	}
	if (negative)
		limit = (uint64_t)INT64_MAX + 1;
	if (accumulate(text, end, 10, limit, &value))
		return -1;
	if (negative)
		*out = value == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
		       -(int64_t)value;
	else
		*out = (int64_t)value;
	return 0;
}

int hoist_config_scalar_double(const char *text, size_t len, double *out)
{
	char small[NUMBER_TEXT_MAX];
	char *copy = small;
	char *end = NULL;
	locale_t loc;
	int64_t integer;
	double value;
	int rc = -1;

	if (match_int(text, len) && text[0] == '0' && len > 2 &&
	    (text[1] == 'o' || text[1] == 'x')) {
		if (hoist_config_scalar_int(text, len, &integer))
			return -1;
		*out = (double)integer;
		return 0;
	}
	if (!match_int(text, len) && !match_float(text, len))
		return -1;
	loc = c_locale_get();
	if (loc == (locale_t)0)
		return -1;
	if (len >= sizeof(small)) {
		copy = malloc(len + 1);
		if (!copy)
			return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';

	/*
	 * strtod() would read the decimal point of LC_NUMERIC, so "0.25"
	 * would stop at the '.' under de_DE.UTF-8.  strtod_l() with an
	 * explicit "C" locale object does not depend on setlocale().
	 */
	errno = 0;
	value = strtod_l(copy, &end, loc);
	if (end != copy + len || errno == ERANGE || !isfinite(value))
		goto out;
	*out = value;
	rc = 0;
out:
	if (copy != small)
		free(copy);
	return rc;
}

void hoist_config_format_double(char *out, size_t size, double v)
{
	locale_t loc = c_locale_get();
	locale_t old;

	if (size == 0)
		return;
	if (loc == (locale_t)0) {
		snprintf(out, size, "?");
		return;
	}
	/* uselocale() switches only the calling thread. */
	old = uselocale(loc);
	snprintf(out, size, "%.15g", v);
	uselocale(old);
}

size_t hoist_config_utf8_prefix(const char *text, size_t len)
{
	const unsigned char *start = (const unsigned char *)text;
	const unsigned char *p = start;
	const unsigned char *end = p + len;

	while (p < end) {
		unsigned char c = *p;
		uint32_t cp;
		size_t n;

		if (c == 0)
			return (size_t)(p - start);
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return (size_t)(p - start);
		}
		if ((size_t)(end - p) <= n)
			return (size_t)(p - start);
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return (size_t)(p - start);
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Reject overlong forms, surrogates and code points past
		 * U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return (size_t)(p - start);
		p += n + 1;
	}
	return len;
}

bool hoist_config_text_is_utf8(const char *text, size_t len)
{
	return hoist_config_utf8_prefix(text, len) == len;
}

void hoist_config_quote(char *out, size_t size, const char *text, size_t len)
{
	static const char ellipsis[] = "...";
	size_t used = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		char piece[8];
		size_t n;

		if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", c);
		else {
			piece[0] = (char)c;
			n = 1;
		}
		/* Keep room for the ellipsis and the NUL. */
		if (used + n + sizeof(ellipsis) > size) {
			if (used + sizeof(ellipsis) <= size) {
				memcpy(out + used, ellipsis, sizeof(ellipsis));
				return;
			}
			break;
		}
		memcpy(out + used, piece, n);
		used += n;
	}
	out[used] = '\0';
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Optimal string alignment distance of two words of at most
 * CLOSEST_WORD_MAX bytes. */
static size_t edit_distance(const char *a, size_t la, const char *b,
			    size_t lb)
{
	size_t rows[3][CLOSEST_WORD_MAX + 1];
	size_t *before = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *spare;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
				      prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && before[j - 2] + 1 < cur[j])
				cur[j] = before[j - 2] + 1;
		}
		spare = before;
		before = prev;
		prev = cur;
		cur = spare;
	}
	return prev[lb];
}

const char *hoist_config_closest(const char *word,
				 const char *const *candidates, size_t count)
{
	size_t word_len = strlen(word);
	const char *best = NULL;
	size_t best_distance = SIZE_MAX;

	if (word_len == 0 || word_len > CLOSEST_WORD_MAX)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(candidates[i]);
		size_t allowed = 3;
		size_t distance;

		/* Short words allow fewer edits, or "use" would match "url". */
		if (len <= 3)
			allowed = 1;
		else if (len <= 7)
			allowed = 2;

		if (len > CLOSEST_WORD_MAX)
			continue;
		distance = edit_distance(word, word_len, candidates[i], len);
		if (distance <= allowed && distance < best_distance) {
			best = candidates[i];
			best_distance = distance;
		}
	}
	return best;
}
