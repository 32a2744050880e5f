/*
 * scalar.h - YAML 1.2 core schema typing of scalar text, and text helpers
 * for configuration error messages.
 *
 * Internal to src/config.  These functions look only at text: the caller
 * decides whether a scalar was plain (only plain scalars can be anything
 * but strings).  Number conversion always uses the "C" locale, whatever
 * setlocale() the program called.
 */
#ifndef HOIST_CONFIG_SCALAR_H
#define HOIST_CONFIG_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hoist_config_scalar_kind {
	HOIST_CONFIG_SCALAR_NULL,	/* null, Null, NULL, ~ or empty */
	HOIST_CONFIG_SCALAR_BOOL,	/* true or false in three spellings */
	HOIST_CONFIG_SCALAR_INT,	/* 12, -3, 0x1f, 0o17 */
	HOIST_CONFIG_SCALAR_FLOAT,	/* 1.5, .5, 1e3, .inf, .nan */
	HOIST_CONFIG_SCALAR_STRING,	/* everything else */
};

/* Classifies the text of a plain scalar by the YAML 1.2 core schema. */
enum hoist_config_scalar_kind hoist_config_scalar_kind(const char *text,
						       size_t len);

/* Returns a noun phrase for kind: "null", "a boolean", "an integer"... */
const char *hoist_config_scalar_kind_name(enum hoist_config_scalar_kind kind);

/* Returns true for the core schema spellings of infinity and NaN. */
bool hoist_config_scalar_is_nonfinite(const char *text, size_t len);

/* Stores the boolean of a BOOL scalar in *out; returns -1 otherwise. */
int hoist_config_scalar_bool(const char *text, size_t len, bool *out);

/*
 * Converts the text of an INT scalar.  Returns 0, or -1 when the text is
 * not a core schema integer or does not fit in int64_t.
 */
int hoist_config_scalar_int(const char *text, size_t len, int64_t *out);

/*
 * Converts the text of an INT or finite FLOAT scalar to a double with
 * strtod_l() in the "C" locale.  Returns 0, or -1 when the text is not
 * such a number, is out of the range of double, or the locale object
 * cannot be created.
 */
int hoist_config_scalar_double(const char *text, size_t len, double *out);

/*
 * Formats v with "%.15g" in the "C" locale into out (size bytes), so that
 * messages print "12.1" under any setlocale().  Stores "?" when the
 * locale object cannot be created.
 */
void hoist_config_format_double(char *out, size_t size, double v);

/*
 * Returns the length of the longest prefix of text[0..len) that is
 * well-formed UTF-8 without NUL bytes; len when all of it is.
 */
size_t hoist_config_utf8_prefix(const char *text, size_t len);

/* Returns true when text[0..len) is well-formed UTF-8 without NUL bytes. */
bool hoist_config_text_is_utf8(const char *text, size_t len);

/*
 * Copies text[0..len) into out (size bytes, NUL-terminated) for use inside
 * an error message: control characters become \xNN escapes, and text that
 * does not fit is cut and ends in "...".
 */
void hoist_config_quote(char *out, size_t size, const char *text, size_t len);

/*
 * Returns the candidate closest to word by edit distance (insertions,
 * deletions, substitutions and swaps of neighbors), or NULL when none is
 * close enough to be a likely typo.
 */
const char *hoist_config_closest(const char *word,
				 const char *const *candidates, size_t count);

#endif
