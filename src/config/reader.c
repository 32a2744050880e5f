#include "config/reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "config/config.h"
#include "config/scalar.h"

/* Documents nested deeper are rejected; the schemas use four levels. */
#define MAX_DEPTH 32

/* Maximum length of a value quoted in a message; longer ones end in "...". */
#define QUOTE_MAX 72

#define NAME_MAX_LEN 63

struct position {
	int line;	/* 1-based */
	int column;	/* 1-based */
};

static void discard_diag_output(struct fy_diag *diag, void *user,
				const char *buf, size_t len)
{
	(void)diag;
	(void)user;
	(void)buf;
	(void)len;
}

/* Creates a libfyaml diagnostic object that collects errors and never
 * writes to stderr. */
static struct fy_diag *diag_create(void)
{
	struct fy_diag_cfg cfg;
	struct fy_diag *diag;

	fy_diag_cfg_default(&cfg);
	cfg.fp = NULL;
	cfg.output_fn = discard_diag_output;
	cfg.level = FYET_ERROR;
	cfg.colorize = false;
	diag = fy_diag_create(&cfg);
	if (diag)
		fy_diag_set_collect_errors(diag, true);
	return diag;
}

/*
 * Finds the position of a mapping or sequence node.  libfyaml 0.7.12
 * exposes start marks only for tokens, and only a scalar's token is
 * public.  So libfyaml reports on the node into a private diagnostic
 * object, and the position is read from the collected report.
 */
static bool probe_position(struct fy_node *node, struct position *pos)
{
	struct fy_diag *diag = diag_create();
	struct fy_diag_error *report;
	void *iter = NULL;
	bool found = false;

	if (!diag)
		return false;
	fy_diag_node_report(diag, node, FYET_ERROR, "%s", "position");
	report = fy_diag_errors_iterate(diag, &iter);
	if (report && report->line > 0 && report->column > 0) {
		pos->line = report->line;
		pos->column = report->column;
		found = true;
	}
	fy_diag_destroy(diag);
	return found;
}

static bool node_position(struct fy_node *node, struct position *pos,
			  int depth)
{
	struct fy_node *first = NULL;
	void *iter = NULL;

	if (!node || depth > MAX_DEPTH)
		return false;
	if (fy_node_is_scalar(node)) {
		struct fy_token *token = fy_node_get_scalar_token(node);
		const struct fy_mark *mark;

		/* An empty plain scalar ("key:") has no token. */
		mark = token ? fy_token_start_mark(token) : NULL;
		if (!mark)
			return false;
		pos->line = mark->line + 1;
		pos->column = mark->column + 1;

		/* The mark of a quoted scalar or an alias is where its text
		 * starts, one column after the quote or the '*'. */
		switch (fy_node_get_style(node)) {
		case FYNS_SINGLE_QUOTED:
		case FYNS_DOUBLE_QUOTED:
		case FYNS_ALIAS:
			if (pos->column > 1)
				pos->column--;
			break;
		default:
			break;
		}
		return true;
	}
	if (probe_position(node, pos))
		return true;

	/* A block collection starts where its first entry starts. */
	if (fy_node_is_mapping(node)) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(node, &iter);

		first = pair ? fy_node_pair_key(pair) : NULL;
	} else if (fy_node_is_sequence(node)) {
		first = fy_node_sequence_iterate(node, &iter);
	}
	return node_position(first, pos, depth + 1);
}

int hoist_config_fail(struct hoist_config_reader *r, struct fy_node *node,
		      struct fy_node *where, const char *fmt, ...)
{
	struct position pos = { 1, 1 };
	char message[HOIST_ERR_MSG_MAX];
	va_list ap;

	/* Only the first error is kept, so skip the work for later ones. */
	if (!r->err || r->err->code != HOIST_OK)
		return -1;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (!node_position(node, &pos, 0) && !node_position(where, &pos, 0))
		node_position(r->root, &pos, 0);
	if (r->path_len == 0)
		return hoist_err_set(r->err, HOIST_E_INVALID, "%s:%d:%d: %s",
				     r->file, pos.line, pos.column, message);
	return hoist_err_set(r->err, HOIST_E_INVALID, "%s:%d:%d: %s: %s",
			     r->file, pos.line, pos.column, r->path, message);
}

int hoist_config_fail_nomem(struct hoist_config_reader *r)
{
	return hoist_err_set(r->err, HOIST_E_NOMEM, "%s: out of memory",
			     r->file);
}

static size_t path_append(struct hoist_config_reader *r, const char *text,
			  size_t len)
{
	size_t saved = r->path_len;
	size_t room = sizeof(r->path) - r->path_len;
	char piece[HOIST_CONFIG_PATH_MAX];

	hoist_config_quote(piece, sizeof(piece), text, len);
	len = strlen(piece);
	if (len >= room) {
		/* Cut the path; hoist_config_path_pop() restores it. */
		if (room > 4)
			snprintf(r->path + r->path_len, room, "...");
		r->path_len = strlen(r->path);
		return saved;
	}
	memcpy(r->path + r->path_len, piece, len + 1);
	r->path_len += len;
	return saved;
}

size_t hoist_config_path_push(struct hoist_config_reader *r, const char *key)
{
	size_t saved = r->path_len;

	if (r->path_len > 0)
		path_append(r, ".", 1);
	path_append(r, key, strlen(key));
	return saved;
}

size_t hoist_config_path_push_index(struct hoist_config_reader *r,
				    size_t index)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "[%zu]", index);

	return path_append(r, text, (size_t)len);
}

void hoist_config_path_pop(struct hoist_config_reader *r, size_t saved)
{
	if (saved < sizeof(r->path)) {
		r->path_len = saved;
		r->path[saved] = '\0';
	}
}

/*
 * Returns the scalar text of node, or NULL for a collection.
 * NOTE: libfyaml 0.7.12 leaks 4 KiB the first time it builds the text of
 * a scalar made of many pieces (such as 'a''b''c...' with many escapes).
 */
static const char *scalar_text(struct fy_node *node, size_t *len)
{
	const char *text;

	*len = 0;
	if (!node || !fy_node_is_scalar(node))
		return NULL;
	text = fy_node_get_scalar(node, len);
	if (!text) {
		*len = 0;
		return "";
	}
	return text;
}

static bool is_plain(struct fy_node *node)
{
	return fy_node_get_style(node) == FYNS_PLAIN;
}

/* Returns the core schema kind of a scalar: always a string unless plain. */
static enum hoist_config_scalar_kind node_kind(struct fy_node *node)
{
	size_t len;
	const char *text = scalar_text(node, &len);

	if (!node)
		return HOIST_CONFIG_SCALAR_NULL;
	if (!text || !is_plain(node))
		return HOIST_CONFIG_SCALAR_STRING;
	return hoist_config_scalar_kind(text, len);
}

void hoist_config_describe(struct fy_node *node, char *out, size_t size)
{
	char quoted[QUOTE_MAX];
	const char *text;
	size_t len;

	if (!node) {
		snprintf(out, size, "no value");
		return;
	}
	if (fy_node_is_mapping(node)) {
		snprintf(out, size, "a mapping");
		return;
	}
	if (fy_node_is_sequence(node)) {
		snprintf(out, size, "a sequence");
		return;
	}
	text = scalar_text(node, &len);
	hoist_config_quote(quoted, sizeof(quoted), text, len);
	if (!is_plain(node)) {
		snprintf(out, size, "the string '%s'", quoted);
		return;
	}
	switch (hoist_config_scalar_kind(text, len)) {
	case HOIST_CONFIG_SCALAR_NULL:
		snprintf(out, size, len == 0 ? "no value" : "null");
		break;
	case HOIST_CONFIG_SCALAR_BOOL:
		snprintf(out, size, "the boolean %s", quoted);
		break;
	case HOIST_CONFIG_SCALAR_INT:
		snprintf(out, size, "the integer %s", quoted);
		break;
	case HOIST_CONFIG_SCALAR_FLOAT:
		snprintf(out, size, "the float %s", quoted);
		break;
	case HOIST_CONFIG_SCALAR_STRING:
		snprintf(out, size, "the string '%s'", quoted);
		break;
	}
}

static int fail_found(struct hoist_config_reader *r, struct fy_node *value,
		      struct fy_node *where, const char *expected,
		      const char *advice)
{
	char found[QUOTE_MAX + 32];

	hoist_config_describe(value, found, sizeof(found));
	return hoist_config_fail(r, value, where, "expected %s, found %s%s",
				 expected, found, advice);
}

/* Reports the first error that libfyaml collected, if any. */
static int fail_on_syntax_error(struct hoist_config_reader *r)
{
	struct fy_diag_error *report;
	char message[256];
	void *iter = NULL;

	while ((report = fy_diag_errors_iterate(r->diag, &iter))) {
		if (report->type < FYET_ERROR)
			continue;
		hoist_config_quote(message, sizeof(message), report->msg,
				   report->msg ? strlen(report->msg) : 0);
		if (report->line > 0 && report->column > 0)
			return hoist_err_set(r->err, HOIST_E_INVALID,
					     "%s:%d:%d: invalid YAML: %s",
					     r->file, report->line,
					     report->column, message);
		return hoist_err_set(r->err, HOIST_E_INVALID,
				     "%s: invalid YAML: %s", r->file, message);
	}
	if (fy_diag_got_error(r->diag))
		return hoist_err_set(r->err, HOIST_E_INVALID,
				     "%s: invalid YAML", r->file);
	return 0;
}

static int check_tree(struct hoist_config_reader *r, struct fy_node *node,
		      int depth);

static int check_mapping_tree(struct hoist_config_reader *r,
			      struct fy_node *node, int depth)
{
	struct fy_node_pair *pair;
	void *iter = NULL;

	while ((pair = fy_node_mapping_iterate(node, &iter))) {
		struct fy_node *key = fy_node_pair_key(pair);
		size_t len;
		const char *text = scalar_text(key, &len);
		size_t saved;
		int rc;

		if (check_tree(r, key, depth + 1))
			return -1;
		if (text && is_plain(key) && len == 2 &&
		    memcmp(text, "<<", 2) == 0)
			return hoist_config_fail(r, key, node,
						 "merge keys (<<) are not "
						 "supported; write the keys "
						 "out in full");
		if (text) {
			saved = r->path_len;
			if (r->path_len > 0)
				path_append(r, ".", 1);
			path_append(r, text, len);
		} else {
			saved = hoist_config_path_push(r, "?");
		}
		rc = check_tree(r, fy_node_pair_value(pair), depth + 1);
		hoist_config_path_pop(r, saved);
		if (rc)
			return -1;
	}
	return 0;
}

/*
 * Rejects the YAML features that these files do not use and that would
 * make values appear in places other than where they are written: anchors,
 * aliases, merge keys and tags.  Also bounds the depth of the document.
 */
static int check_tree(struct hoist_config_reader *r, struct fy_node *node,
		      int depth)
{
	struct fy_anchor *anchor;
	const char *text;
	size_t len;

	if (!node)
		return 0;
	if (depth > MAX_DEPTH)
		return hoist_config_fail(r, node, NULL,
					 "the document is nested more than "
					 "%d levels deep", MAX_DEPTH);
	if (fy_node_get_style(node) == FYNS_ALIAS) {
		char name[QUOTE_MAX];

		text = scalar_text(node, &len);
		hoist_config_quote(name, sizeof(name), text, len);
		return hoist_config_fail(r, node, NULL,
					 "aliases (*%s) are not supported; "
					 "write the value out in full", name);
	}
	anchor = fy_node_get_anchor(node);
	if (anchor) {
		char name[QUOTE_MAX];

		text = fy_anchor_get_text(anchor, &len);
		hoist_config_quote(name, sizeof(name), text ? text : "",
				   text ? len : 0);
		return hoist_config_fail(r, node, NULL,
					 "anchors (&%s) are not supported; "
					 "write each value out in full", name);
	}
	text = fy_node_get_tag(node, &len);
	if (text) {
		static const char core_prefix[] = "tag:yaml.org,2002:";
		char tag[QUOTE_MAX + 8];

		/* libfyaml returns the resolved tag; show "!!str" as
		 * written. */
		if (len > strlen(core_prefix) &&
		    memcmp(text, core_prefix, strlen(core_prefix)) == 0) {
			char shorthand[QUOTE_MAX];

			hoist_config_quote(shorthand, sizeof(shorthand),
					   text + strlen(core_prefix),
					   len - strlen(core_prefix));
			snprintf(tag, sizeof(tag), "!!%s", shorthand);
		} else {
			hoist_config_quote(tag, sizeof(tag), text, len);
		}
		return hoist_config_fail(r, node, NULL,
					 "tags (%s) are not supported; put "
					 "quotes around a value to make it a "
					 "string", tag);
	}
	if (fy_node_is_mapping(node))
		return check_mapping_tree(r, node, depth);
	if (fy_node_is_sequence(node)) {
		struct fy_node *item;
		void *iter = NULL;
		size_t index = 0;

		while ((item = fy_node_sequence_iterate(node, &iter))) {
			size_t saved = hoist_config_path_push_index(r, index++);
			int rc = check_tree(r, item, depth + 1);

			hoist_config_path_pop(r, saved);
			if (rc)
				return -1;
		}
	}
	return 0;
}

int hoist_config_read_file(const char *path, struct hoist_buf *buf,
			   struct hoist_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot read '%s': %s", path,
				     strerror(errno));
	if (!S_ISREG(st.st_mode))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "cannot read '%s': not a regular file",
				     path);
	if ((uintmax_t)st.st_size > HOIST_CONFIG_FILE_MAX)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "%s: the file has %jd bytes, more than "
				     "the limit of 1 MiB for configuration "
				     "files", path, (intmax_t)st.st_size);
	return hoist_util_read_file(path, buf, err);
}

/*
 * Rejects input that is not UTF-8 text before libfyaml parses it, because
 * libfyaml 0.7.12 hangs on a directive line ('%' at the start of a line)
 * that continues with an invalid byte such as 0xbb.
 */
static int check_encoding(struct hoist_config_reader *r, const char *data,
			  size_t len)
{
	size_t valid = hoist_config_utf8_prefix(data, len);
	int line = 1;
	int column = 1;

	if (valid == len)
		return 0;
	for (size_t i = 0; i < valid; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n') {
			line++;
			column = 1;
		} else if ((c & 0xc0) != 0x80) {
			/* Count characters, not continuation bytes. */
			column++;
		}
	}
	if (data[valid] == '\0')
		return hoist_err_set(r->err, HOIST_E_INVALID,
				     "%s:%d:%d: invalid YAML: NUL character; "
				     "configuration files must be text",
				     r->file, line, column);
	return hoist_err_set(r->err, HOIST_E_INVALID,
			     "%s:%d:%d: invalid YAML: invalid UTF-8 byte "
			     "0x%02x; save the file as UTF-8", r->file, line,
			     column, (unsigned char)data[valid]);
}

int hoist_config_reader_open(struct hoist_config_reader *r, const char *file,
			     const char *data, size_t len,
			     struct hoist_err *err)
{
	struct fy_parse_cfg cfg;
	struct fy_document *extra;

	memset(r, 0, sizeof(*r));
	r->file = file;
	r->err = err;
	if (len > HOIST_CONFIG_FILE_MAX)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "%s: the file has %zu bytes, more than "
				     "the limit of 1 MiB for configuration "
				     "files", file, len);
	if (len == 0)
		return 0;
	if (check_encoding(r, data, len))
		return -1;

	r->diag = diag_create();
	if (!r->diag)
		return hoist_config_fail_nomem(r);
	memset(&cfg, 0, sizeof(cfg));
	/* Duplicate keys are allowed here so that the schema code reports
	 * them with the key path and the first definition. */
	cfg.flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS | FYPCF_JSON_NONE;
	cfg.diag = r->diag;
	r->parser = fy_parser_create(&cfg);
	if (!r->parser)
		return hoist_config_fail_nomem(r);
	if (fy_parser_set_string(r->parser, data, len) != 0)
		return hoist_config_fail_nomem(r);

	r->doc = fy_parse_load_document(r->parser);
	if (fail_on_syntax_error(r))
		return -1;
	if (!r->doc)
		return 0;
	r->root = fy_document_root(r->doc);

	extra = fy_parse_load_document(r->parser);
	if (extra) {
		hoist_config_fail(r, fy_document_root(extra), NULL,
				  "the file contains more than one YAML "
				  "document; remove the second '---' and "
				  "what follows it");
		fy_parse_document_destroy(r->parser, extra);
		return -1;
	}
	if (fail_on_syntax_error(r))
		return -1;
	return check_tree(r, r->root, 0);
}

void hoist_config_reader_close(struct hoist_config_reader *r)
{
	if (r->doc)
		fy_parse_document_destroy(r->parser, r->doc);
	if (r->parser)
		fy_parser_destroy(r->parser);
	if (r->diag)
		fy_diag_destroy(r->diag);
	r->doc = NULL;
	r->parser = NULL;
	r->diag = NULL;
	r->root = NULL;
}

int hoist_config_expect_mapping(struct hoist_config_reader *r,
				struct fy_node *node, struct fy_node *where)
{
	if (node && fy_node_is_mapping(node))
		return 0;
	return fail_found(r, node, where, "a mapping", "");
}

int hoist_config_expect_sequence(struct hoist_config_reader *r,
				 struct fy_node *node, struct fy_node *where)
{
	if (node && fy_node_is_sequence(node))
		return 0;
	return fail_found(r, node, where, "a sequence", "");
}

/* Returns the NUL-terminated text of a scalar that was checked to be
 * UTF-8 without NUL bytes, or NULL after reporting a failure. */
static const char *checked_text(struct hoist_config_reader *r,
				struct fy_node *node, struct fy_node *where,
				const char *what)
{
	size_t len;
	const char *text = scalar_text(node, &len);

	if (!hoist_config_text_is_utf8(text, len)) {
		hoist_config_fail(r, node, where, "invalid %s: the text is not "
				  "valid UTF-8 or contains a NUL character",
				  what);
		return NULL;
	}
	text = fy_node_get_scalar0(node);
	if (!text)
		hoist_config_fail_nomem(r);
	return text;
}

static int fail_not_string(struct hoist_config_reader *r,
			   struct fy_node *value, struct fy_node *where,
			   const char *expected, const char *hint)
{
	char advice[QUOTE_MAX + 128];
	char quoted[QUOTE_MAX];
	size_t len;
	const char *text = scalar_text(value, &len);

	if (!text || len == 0 || !is_plain(value))
		return fail_found(r, value, where, expected, "");
	hoist_config_quote(quoted, sizeof(quoted), text, len);
	snprintf(advice, sizeof(advice), "; quote it (\"%s\")%s", quoted,
		 hint);
	return fail_found(r, value, where, expected, advice);
}

int hoist_config_key_text(struct hoist_config_reader *r, struct fy_node *key,
			  struct fy_node *where, const char **out)
{
	const char *text;

	if (!key || !fy_node_is_scalar(key) ||
	    node_kind(key) != HOIST_CONFIG_SCALAR_STRING)
		return fail_not_string(r, key, where, "a string as the key",
				       " if you mean a name");
	text = checked_text(r, key, where, "key");
	if (!text)
		return -1;
	*out = text;
	return 0;
}

int hoist_config_fail_duplicate(struct hoist_config_reader *r,
				struct fy_node *mapping,
				struct fy_node *key_node, const char *text)
{
	struct position first = { 0, 0 };
	struct fy_node_pair *pair;
	char quoted[QUOTE_MAX];
	void *iter = NULL;

	hoist_config_quote(quoted, sizeof(quoted), text, strlen(text));
	while ((pair = fy_node_mapping_iterate(mapping, &iter))) {
		struct fy_node *key = fy_node_pair_key(pair);
		size_t len;
		const char *other = scalar_text(key, &len);

		if (key == key_node)
			break;
		if (other && len == strlen(text) &&
		    memcmp(other, text, len) == 0) {
			node_position(key, &first, 0);
			break;
		}
	}
	if (first.line > 0)
		return hoist_config_fail(r, key_node, mapping,
					 "duplicate key '%s'; it is first "
					 "defined at line %d, column %d",
					 quoted, first.line, first.column);
	return hoist_config_fail(r, key_node, mapping, "duplicate key '%s'",
				 quoted);
}

static int fail_unknown_key(struct hoist_config_reader *r,
			    struct fy_node *key, struct fy_node *mapping,
			    const char *text,
			    const struct hoist_config_key *keys, size_t count)
{
	const char *names[32];
	char allowed[512] = "";
	char suggestion[128] = "";
	char quoted[QUOTE_MAX];
	const char *closest;
	size_t used = 0;

	if (count > sizeof(names) / sizeof(names[0]))
		count = sizeof(names) / sizeof(names[0]);
	for (size_t i = 0; i < count; i++) {
		int n = snprintf(allowed + used, sizeof(allowed) - used,
				 "%s%s", i ? ", " : "", keys[i].name);

		names[i] = keys[i].name;
		if (n < 0 || (size_t)n >= sizeof(allowed) - used)
			break;
		used += (size_t)n;
	}
	closest = hoist_config_closest(text, names, count);
	if (closest)
		snprintf(suggestion, sizeof(suggestion), "did you mean %s? ",
			 closest);
	hoist_config_quote(quoted, sizeof(quoted), text, strlen(text));
	return hoist_config_fail(r, key, mapping,
				 "unknown key '%s'; %sallowed keys: %s",
				 quoted, suggestion, allowed);
}

int hoist_config_read_mapping(struct hoist_config_reader *r,
			      struct fy_node *node, struct fy_node *where,
			      const struct hoist_config_key *keys,
			      size_t count, struct fy_node **key_nodes,
			      struct fy_node **values)
{
	struct fy_node_pair *pair;
	void *iter = NULL;

	if (hoist_config_expect_mapping(r, node, where))
		return -1;
	for (size_t i = 0; i < count; i++) {
		key_nodes[i] = NULL;
		values[i] = NULL;
	}
	while ((pair = fy_node_mapping_iterate(node, &iter))) {
		struct fy_node *key = fy_node_pair_key(pair);
		const char *text;
		size_t i;

		if (hoist_config_key_text(r, key, node, &text))
			return -1;
		for (i = 0; i < count; i++)
			if (strcmp(keys[i].name, text) == 0)
				break;
		if (i == count)
			return fail_unknown_key(r, key, node, text, keys,
						count);
		if (key_nodes[i])
			return hoist_config_fail_duplicate(r, node, key, text);
		key_nodes[i] = key;
		values[i] = fy_node_pair_value(pair);
	}
	for (size_t i = 0; i < count; i++)
		if (keys[i].required && !key_nodes[i])
			return hoist_config_fail(r, node, where,
						 "missing required key '%s'",
						 keys[i].name);
	return 0;
}

int hoist_config_get_string(struct hoist_config_reader *r,
			    struct fy_node *value, struct fy_node *where,
			    const char *hint, const char **out)
{
	const char *text;

	if (!value || !fy_node_is_scalar(value) ||
	    node_kind(value) != HOIST_CONFIG_SCALAR_STRING)
		return fail_not_string(r, value, where, "a string", hint);
	text = checked_text(r, value, where, "string");
	if (!text)
		return -1;
	*out = text;
	return 0;
}

/* Returns true for the YAML 1.1 booleans that YAML 1.2 reads as strings. */
static bool is_yaml11_bool(const char *text, size_t len)
{
	static const char *const words[] = { "y", "n", "yes", "no", "on",
					     "off" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && strncasecmp(words[i], text,
							   len) == 0)
			return true;
	return false;
}

int hoist_config_get_bool(struct hoist_config_reader *r,
			  struct fy_node *value, struct fy_node *where,
			  bool *out)
{
	const char *advice = "";
	size_t len;
	const char *text = scalar_text(value, &len);

	if (text && is_plain(value) &&
	    hoist_config_scalar_bool(text, len, out) == 0)
		return 0;
	if (text && is_plain(value) && is_yaml11_bool(text, len))
		advice = "; YAML 1.2 reads yes, no, on, off, y and n as "
			 "strings";
	else if (text && !is_plain(value) &&
		 hoist_config_scalar_kind(text, len) ==
		 HOIST_CONFIG_SCALAR_BOOL)
		advice = "; remove the quotes";
	return fail_found(r, value, where, "true or false", advice);
}

/* Returns the advice for a quoted number where a number is expected. */
static const char *number_advice(struct fy_node *value)
{
	size_t len;
	const char *text = scalar_text(value, &len);
	enum hoist_config_scalar_kind kind;

	if (!text || is_plain(value))
		return "";
	kind = hoist_config_scalar_kind(text, len);
	if (kind == HOIST_CONFIG_SCALAR_INT || kind == HOIST_CONFIG_SCALAR_FLOAT)
		return "; remove the quotes";
	return "";
}

int hoist_config_get_int(struct hoist_config_reader *r, struct fy_node *value,
			 struct fy_node *where, int64_t min, int64_t max,
			 int64_t *out)
{
	char expected[128];
	char quoted[QUOTE_MAX];
	int64_t result;
	size_t len;
	const char *text = scalar_text(value, &len);

	if (max == INT64_MAX)
		snprintf(expected, sizeof(expected),
			 "an integer of at least %" PRId64, min);
	else
		snprintf(expected, sizeof(expected),
			 "an integer from %" PRId64 " to %" PRId64, min, max);
	if (node_kind(value) != HOIST_CONFIG_SCALAR_INT || !text)
		return fail_found(r, value, where, expected,
				  number_advice(value));
	hoist_config_quote(quoted, sizeof(quoted), text, len);
	if (hoist_config_scalar_int(text, len, &result))
		return hoist_config_fail(r, value, where,
					 "expected %s, found %s, which is out "
					 "of range", expected, quoted);
	if (result < min || result > max)
		return hoist_config_fail(r, value, where,
					 "expected %s, found %s", expected,
					 quoted);
	*out = result;
	return 0;
}

static void describe_range(const struct hoist_config_range *range,
			   char *out, size_t size)
{
	char min[32];
	char max[32];

	hoist_config_format_double(min, sizeof(min), range->min);
	hoist_config_format_double(max, sizeof(max), range->max);
	if (range->min_exclusive && range->has_max)
		snprintf(out, size, "a number greater than %s and at most %s",
			 min, max);
	else if (range->min_exclusive)
		snprintf(out, size, "a number greater than %s", min);
	else if (range->has_max)
		snprintf(out, size, "a number from %s to %s", min, max);
	else
		snprintf(out, size, "a number of at least %s", min);
}

int hoist_config_get_number(struct hoist_config_reader *r,
			    struct fy_node *value, struct fy_node *where,
			    const struct hoist_config_range *range,
			    double *out)
{
	enum hoist_config_scalar_kind kind = node_kind(value);
	char expected[128];
	char quoted[QUOTE_MAX];
	double result;
	size_t len;
	const char *text = scalar_text(value, &len);

	describe_range(range, expected, sizeof(expected));
	if ((kind != HOIST_CONFIG_SCALAR_INT &&
	     kind != HOIST_CONFIG_SCALAR_FLOAT) || !text)
		return fail_found(r, value, where, expected,
				  number_advice(value));
	if (hoist_config_scalar_is_nonfinite(text, len))
		return fail_found(r, value, where, expected,
				  "; infinity and NaN are not allowed");
	hoist_config_quote(quoted, sizeof(quoted), text, len);
	if (hoist_config_scalar_double(text, len, &result))
		return hoist_config_fail(r, value, where,
					 "expected %s, found %s, which is out "
					 "of range", expected, quoted);
	if (result < range->min || (range->min_exclusive &&
				    result <= range->min) ||
	    (range->has_max && result > range->max))
		return hoist_config_fail(r, value, where,
					 "expected %s, found %s", expected,
					 quoted);
	*out = result;
	return 0;
}

int hoist_config_get_duration(struct hoist_config_reader *r,
			      struct fy_node *value, struct fy_node *where,
			      int64_t *out_ms)
{
	enum hoist_config_scalar_kind kind = node_kind(value);
	struct hoist_err parse_err = HOIST_ERR_INIT;
	const char *text;

	if (value && (kind == HOIST_CONFIG_SCALAR_INT ||
		      kind == HOIST_CONFIG_SCALAR_FLOAT)) {
		char advice[QUOTE_MAX + 96];
		char quoted[QUOTE_MAX];
		size_t len;
		const char *raw = scalar_text(value, &len);

		hoist_config_quote(quoted, sizeof(quoted), raw, len);
		snprintf(advice, sizeof(advice),
			 "; add a unit (ms, s, m, h or d), such as %ss",
			 kind == HOIST_CONFIG_SCALAR_INT ? quoted : "30");
		return fail_found(r, value, where,
				  "a duration with a unit", advice);
	}
	if (!value || !fy_node_is_scalar(value) ||
	    kind != HOIST_CONFIG_SCALAR_STRING)
		return fail_found(r, value, where,
				  "a duration with a unit, such as 30s", "");
	text = checked_text(r, value, where, "duration");
	if (!text)
		return -1;
	if (hoist_config_parse_duration_ms(text, out_ms, &parse_err))
		return hoist_config_fail(r, value, where, "%s", parse_err.msg);
	return 0;
}

static bool is_version(const char *text)
{
	bool need_digit = true;

	for (; *text; text++) {
		if (*text >= '0' && *text <= '9') {
			need_digit = false;
		} else if (*text == '.' && !need_digit) {
			need_digit = true;
		} else {
			return false;
		}
	}
	return !need_digit;
}

int hoist_config_get_version(struct hoist_config_reader *r,
			     struct fy_node *value, struct fy_node *where,
			     const char **out)
{
	enum hoist_config_scalar_kind kind = node_kind(value);
	char quoted[QUOTE_MAX];
	const char *text;
	size_t len;

	if (value && kind == HOIST_CONFIG_SCALAR_FLOAT) {
		char advice[3 * QUOTE_MAX + 128];
		char number[32];
		double parsed;

		text = scalar_text(value, &len);
		hoist_config_quote(quoted, sizeof(quoted), text, len);
		if (hoist_config_scalar_double(text, len, &parsed) == 0) {
			hoist_config_format_double(number, sizeof(number),
						   parsed);
			snprintf(advice, sizeof(advice),
				 "; quote it (\"%s\"), because a plain %s is "
				 "the number %s and would lose digits such as "
				 "a trailing zero", quoted, quoted, number);
		} else {
			snprintf(advice, sizeof(advice),
				 "; quote it (\"%s\")", quoted);
		}
		return fail_found(r, value, where, "a version string",
				  advice);
	}
	if (kind != HOIST_CONFIG_SCALAR_STRING || !value)
		return fail_not_string(r, value, where, "a version string",
				       " to keep it as text");
	if (hoist_config_get_string(r, value, where, "", &text))
		return -1;
	if (!is_version(text)) {
		hoist_config_quote(quoted, sizeof(quoted), text, strlen(text));
		return hoist_config_fail(r, value, where,
					 "invalid version '%s': expected "
					 "numbers separated by dots, such as "
					 "\"12.1\"", quoted);
	}
	*out = text;
	return 0;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int hoist_config_check_name(struct hoist_config_reader *r,
			    struct fy_node *node, const char *what,
			    const char *text)
{
	char quoted[QUOTE_MAX];
	size_t len = strlen(text);
	bool valid = len >= 1 && len <= NAME_MAX_LEN;

	for (size_t i = 0; valid && i < len; i++)
		valid = is_name_char(text[i]);
	hoist_config_quote(quoted, sizeof(quoted), text, len);
	if (!valid)
		return hoist_config_fail(r, node, NULL,
					 "invalid %s '%s': use 1 to %d "
					 "characters from A-Z, a-z, 0-9, '.', "
					 "'_' and '-'", what, quoted,
					 NAME_MAX_LEN);
	/* Rejected so that a name is always safe to use as a folder name. */
	if (strcmp(text, ".") == 0 || strcmp(text, "..") == 0)
		return hoist_config_fail(r, node, NULL,
					 "invalid %s '%s': '.' and '..' are "
					 "not allowed", what, quoted);
	return 0;
}

int hoist_config_json_set(struct hoist_config_reader *r, json_t *object,
			  const char *key, json_t *value)
{
	/* json_object_set_new() releases value when it fails. */
	if (!value || json_object_set_new(object, key, value) != 0)
		return hoist_config_fail_nomem(r);
	return 0;
}
