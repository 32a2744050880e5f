/*
 * reader.h - a parsed YAML configuration file and typed access to its
 * nodes with positioned error messages.
 *
 * Internal to src/config.  A reader owns the libfyaml parser and document
 * of one file and tracks the key path of the node being read
 * ("retry.max_failures").  Every typed getter takes the value node and a
 * second node, where, which is usually the key.  Errors report the
 * position of where when the value has none, because libfyaml gives an
 * empty value such as "key:" no position.  value may be NULL, which reads
 * as an empty value.
 *
 * All int functions return 0, or -1 with the reader's err filled.
 */
#ifndef HOIST_CONFIG_READER_H
#define HOIST_CONFIG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libfyaml.h>

#include "common/buf.h"
#include "common/err.h"

#define HOIST_CONFIG_PATH_MAX 256

struct hoist_config_reader {
	const char *file;		/* file name used in messages */
	struct hoist_err *err;
	struct fy_diag *diag;		/* collects libfyaml's messages */
	struct fy_parser *parser;
	struct fy_document *doc;
	struct fy_node *root;		/* NULL for an empty file */
	size_t path_len;
	char path[HOIST_CONFIG_PATH_MAX];	/* key path of the current node */
};

/* One key of a mapping with a fixed set of keys. */
struct hoist_config_key {
	const char *name;
	bool required;
};

/* Bounds for hoist_config_get_number(). */
struct hoist_config_range {
	double min;
	double max;
	bool min_exclusive;	/* the value must be greater than min */
	bool has_max;		/* max applies (inclusive) */
};

/*
 * Reads the file at path into buf, whose limit must be at least
 * HOIST_CONFIG_FILE_MAX.  Rejects files that are not regular files or are
 * larger than HOIST_CONFIG_FILE_MAX.
 */
int hoist_config_read_file(const char *path, struct hoist_buf *buf,
			   struct hoist_err *err);

/*
 * Parses data[0..len) as one YAML document.  Rejects input over
 * HOIST_CONFIG_FILE_MAX, syntax errors (with libfyaml's message and
 * position), a second document, anchors, aliases, tags and merge keys.
 * data must stay valid until hoist_config_reader_close(), which must be
 * called in every case.
 */
int hoist_config_reader_open(struct hoist_config_reader *r, const char *file,
			     const char *data, size_t len,
			     struct hoist_err *err);
void hoist_config_reader_close(struct hoist_config_reader *r);

/* Appends ".key" (or "key" at the top) or "[index]" to the key path and
 * returns the previous length for hoist_config_path_pop(). */
size_t hoist_config_path_push(struct hoist_config_reader *r, const char *key);
size_t hoist_config_path_push_index(struct hoist_config_reader *r,
				    size_t index);
void hoist_config_path_pop(struct hoist_config_reader *r, size_t saved);

/*
 * Records "FILE:LINE:COL: PATH: message" in the reader's err, with the
 * position of node, or of where when node has none.  Returns -1.
 */
int hoist_config_fail(struct hoist_config_reader *r, struct fy_node *node,
		      struct fy_node *where, const char *fmt, ...)
	HOIST_PRINTF(4, 5);

/* Writes what node is, for "found ..." in messages: "the integer 4090",
 * "the string 'NO'", "a mapping", "no value". */
void hoist_config_describe(struct fy_node *node, char *out, size_t size);

/*
 * Checks that node is a mapping whose keys are all in keys[0..count), each
 * at most once, with every required key present.  Stores each key's key
 * node and value node in key_nodes[i] and values[i], or NULL for an absent
 * key.  Unknown keys are reported with the closest allowed key.
 */
int hoist_config_read_mapping(struct hoist_config_reader *r,
			      struct fy_node *node, struct fy_node *where,
			      const struct hoist_config_key *keys,
			      size_t count, struct fy_node **key_nodes,
			      struct fy_node **values);

/*
 * Stores the text of a mapping key in *out; it stays valid until the
 * reader is closed.  A key must be a string: a plain key such as 1, true
 * or null is rejected with advice to quote it.  where is the mapping.
 */
int hoist_config_key_text(struct hoist_config_reader *r, struct fy_node *key,
			  struct fy_node *where, const char **out);

/*
 * Reports a duplicate key: key_node repeats text, which a key earlier in
 * mapping already has.  Returns -1.
 */
int hoist_config_fail_duplicate(struct hoist_config_reader *r,
				struct fy_node *mapping,
				struct fy_node *key_node, const char *text);

/* Checks the type of a collection node. */
int hoist_config_expect_mapping(struct hoist_config_reader *r,
				struct fy_node *node, struct fy_node *where);
int hoist_config_expect_sequence(struct hoist_config_reader *r,
				 struct fy_node *node, struct fy_node *where);

/*
 * Stores the text of a string scalar in *out, valid until the reader is
 * closed.  A plain scalar that is null, a boolean or a number is rejected
 * with advice to quote it.  The message then ends with hint, such as
 * " if you mean a name", which may be "".  Text must be valid UTF-8
 * without NUL.
 */
int hoist_config_get_string(struct hoist_config_reader *r,
			    struct fy_node *value, struct fy_node *where,
			    const char *hint, const char **out);

/* Accepts only plain true/True/TRUE/false/False/FALSE. */
int hoist_config_get_bool(struct hoist_config_reader *r,
			  struct fy_node *value, struct fy_node *where,
			  bool *out);

/* Accepts a plain integer in [min, max]. */
int hoist_config_get_int(struct hoist_config_reader *r, struct fy_node *value,
			 struct fy_node *where, int64_t min, int64_t max,
			 int64_t *out);

/* Accepts a plain finite integer or float within range. */
int hoist_config_get_number(struct hoist_config_reader *r,
			    struct fy_node *value, struct fy_node *where,
			    const struct hoist_config_range *range,
			    double *out);

/* Accepts a string such as 30s or 1h30m; see
 * hoist_config_parse_duration_ms(). */
int hoist_config_get_duration(struct hoist_config_reader *r,
			      struct fy_node *value, struct fy_node *where,
			      int64_t *out_ms);

/*
 * Accepts a version such as "12.1": digits separated by dots, given as a
 * string.  A plain 12.10 is a float and would lose its trailing zero, so
 * plain numbers are rejected with advice to quote them.
 */
int hoist_config_get_version(struct hoist_config_reader *r,
			     struct fy_node *value, struct fy_node *where,
			     const char **out);

/*
 * Checks that text is a name of 1 to 63 characters from [A-Za-z0-9._-];
 * what names the kind of name in the message ("job name").
 */
int hoist_config_check_name(struct hoist_config_reader *r,
			    struct fy_node *node, const char *what,
			    const char *text);

/* Stores value under key in object, taking the reference to value; reports
 * an allocation failure when value is NULL or the store fails. */
int hoist_config_json_set(struct hoist_config_reader *r, json_t *object,
			  const char *key, json_t *value);

/* Reports an allocation failure.  Returns -1. */
int hoist_config_fail_nomem(struct hoist_config_reader *r);

#endif
