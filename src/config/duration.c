#include "config/config.h"

#include <string.h>

#include "config/scalar.h"

struct duration_unit {
	const char *suffix;
	int64_t ms;
};

/* From the largest to the smallest; a duration must follow this order. */
static const struct duration_unit units[] = {
	{ "d", 24LL * 60 * 60 * 1000 },
	{ "h", 60LL * 60 * 1000 },
	{ "m", 60LL * 1000 },
	{ "s", 1000 },
	{ "ms", 1 },
};

#define UNIT_COUNT (sizeof(units) / sizeof(units[0]))

static const char usage[] = "use whole numbers with the units ms, s, m, h "
			    "or d, from the largest unit to the smallest, "
			    "such as 30s or 1h30m";

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Returns the index in units[] of the unit at p, or UNIT_COUNT. */
static size_t match_unit(const char *p, size_t *unit_len)
{
	/* "ms" before "m", so that 500ms is not read as 500m then "s". */
	if (p[0] == 'm' && p[1] == 's') {
		*unit_len = 2;
		return 4;
	}
	for (size_t i = 0; i < 4; i++) {
		if (p[0] == units[i].suffix[0]) {
			*unit_len = 1;
			return i;
		}
	}
	return UNIT_COUNT;
}

int hoist_config_parse_duration_ms(const char *text, int64_t *out,
				   struct hoist_err *err)
{
	char shown[80];
	const char *p = text;
	size_t next_unit = 0;
	int64_t total = 0;

	if (!text || !*text)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "empty duration: %s", usage);
	hoist_config_quote(shown, sizeof(shown), text, strlen(text));

	while (*p) {
		int64_t count = 0;
		size_t digits = 0;
		size_t unit_len = 0;
		size_t unit;

		if (*p == '-')
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': a duration "
					     "cannot be negative", shown);
		while (is_digit(*p)) {
			int digit = *p - '0';

			if (count > (INT64_MAX - digit) / 10)
				return hoist_err_set(err, HOIST_E_INVALID,
						     "invalid duration '%s': "
						     "too large", shown);
			count = count * 10 + digit;
			digits++;
			p++;
		}
		if (digits == 0)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': %s",
					     shown, usage);
		if (*p == '\0' && next_unit == 0)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': the "
					     "number has no unit; add one of "
					     "ms, s, m, h or d, such as %ss",
					     shown, shown);
		if (*p == '\0')
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': the last "
					     "number has no unit; %s", shown,
					     usage);
		if (*p == '.' || *p == ',')
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': fractions "
					     "are not supported; %s", shown,
					     usage);

		unit = match_unit(p, &unit_len);
		if (unit == UNIT_COUNT || is_letter(p[unit_len])) {
			char word[16];
			size_t word_len = 0;

			while (word_len < 8 && p[word_len] &&
			       !is_digit(p[word_len]))
				word_len++;
			hoist_config_quote(word, sizeof(word), p, word_len);
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': unknown "
					     "unit '%s'; %s", shown, word,
					     usage);
		}
		if (unit < next_unit)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': %s",
					     shown, usage);
		next_unit = unit + 1;
		p += unit_len;

		if (count > INT64_MAX / units[unit].ms ||
		    total > INT64_MAX - count * units[unit].ms)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid duration '%s': too large",
					     shown);
		total += count * units[unit].ms;
	}
	*out = total;
	return 0;
}
