#include "worker/assignment.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ENV_NAME_MAX 255

static int job_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > HOIST_ASSIGNMENT_JOB_ID_MAX || id[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return 0;
	}
	return 1;
}

int hoist_assignment_env_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > ENV_NAME_MAX)
		return 0;
	if (!isalpha((unsigned char)name[0]) && name[0] != '_')
		return 0;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_')
			return 0;
	}
	return 1;
}

/* Checks an object key like the artifact store does: relative, '/'
 * separated, no empty, "." or ".." segment. */
static int object_key_valid(const char *key)
{
	const char *seg = key;
	size_t len = strlen(key);

	if (len == 0 || len > HOIST_ASSIGNMENT_KEY_MAX)
		return 0;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 0)
			return 0;
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == '\\')
				return 0;
		if (!end)
			return 1;
		seg = end + 1;
	}
}

/*
 * Returns the string value of the required member doc[name] after checking
 * that it is a string without NUL bytes and at most max bytes long, or NULL
 * with err set.
 */
static const char *get_string(const json_t *doc, const char *name,
			      size_t max, struct hoist_err *err)
{
	const json_t *value = json_object_get(doc, name);
	const char *text;
	size_t len;

	if (!value || json_is_null(value)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "assignment field '%s' is missing", name);
		return NULL;
	}
	if (!json_is_string(value)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "assignment field '%s' must be a string", name);
		return NULL;
	}
	text = json_string_value(value);
	len = json_string_length(value);
	if (strlen(text) != len) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "assignment field '%s' contains a NUL byte",
			      name);
		return NULL;
	}
	if (len > max) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "assignment field '%s' is %zu bytes long, the "
			      "maximum is %zu", name, len, max);
		return NULL;
	}
	return text;
}

static int get_int(const json_t *doc, const char *name, json_int_t min,
		   json_int_t max, json_int_t *out, struct hoist_err *err)
{
	const json_t *value = json_object_get(doc, name);
	json_int_t n;

	if (!value || json_is_null(value))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field '%s' is missing", name);
	if (!json_is_integer(value))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field '%s' must be an integer",
				     name);
	n = json_integer_value(value);
	if (n < min || n > max)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field '%s' is %lld, expected "
				     "%lld to %lld", name, (long long)n,
				     (long long)min, (long long)max);
	*out = n;
	return 0;
}

static char *dup_or_fail(const char *text, struct hoist_err *err)
{
	char *copy = strdup(text);

	if (!copy)
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	return copy;
}

static int parse_command(const json_t *doc, struct hoist_assignment *out,
			 struct hoist_err *err)
{
	const json_t *command = json_object_get(doc, "command");
	size_t n;

	if (!command || json_is_null(command))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'command' is missing");
	if (!json_is_array(command))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'command' must be an "
				     "array of strings");
	n = json_array_size(command);
	if (n == 0 || n > HOIST_ASSIGNMENT_ARGS_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'command' has %zu "
				     "elements, expected 1 to %d", n,
				     HOIST_ASSIGNMENT_ARGS_MAX);
	out->argv = calloc(n + 1, sizeof(*out->argv));
	if (!out->argv)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *arg = json_array_get(command, i);
		const char *text = json_string_value(arg);

		if (!text || strlen(text) != json_string_length(arg) ||
		    json_string_length(arg) > HOIST_ASSIGNMENT_STRING_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "assignment field 'command' "
					     "element %zu must be a string "
					     "without NUL bytes of at most %d "
					     "bytes", i,
					     HOIST_ASSIGNMENT_STRING_MAX);
		if (i == 0 && text[0] == '\0')
			return hoist_err_set(err, HOIST_E_INVALID,
					     "assignment field 'command' has "
					     "an empty program name");
		out->argv[i] = dup_or_fail(text, err);
		if (!out->argv[i])
			return -1;
		out->argc = i + 1;
	}
	return 0;
}

static int parse_env(const json_t *doc, struct hoist_assignment *out,
		     struct hoist_err *err)
{
	const json_t *env = json_object_get(doc, "env");
	const char *name;
	json_t *value;
	size_t n;

	if (!env || json_is_null(env))
		return 0;
	if (!json_is_object(env))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'env' must be an object "
				     "of strings");
	n = json_object_size(env);
	if (n > HOIST_ASSIGNMENT_ENV_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'env' has %zu variables,"
				     " the maximum is %d", n,
				     HOIST_ASSIGNMENT_ENV_MAX);
	if (n == 0)
		return 0;
	out->env_names = calloc(n, sizeof(*out->env_names));
	out->env_values = calloc(n, sizeof(*out->env_values));
	if (!out->env_names || !out->env_values)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	json_object_foreach((json_t *)env, name, value) {
		const char *text = json_string_value(value);

		if (!hoist_assignment_env_name_valid(name))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "assignment field 'env' has an "
					     "invalid variable name '%.64s' "
					     "(expected [A-Za-z_][A-Za-z0-9_]*)",
					     name);
		if (!text || strlen(text) != json_string_length(value) ||
		    json_string_length(value) > HOIST_ASSIGNMENT_STRING_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "assignment field 'env' variable "
					     "'%s' must be a string without "
					     "NUL bytes of at most %d bytes",
					     name, HOIST_ASSIGNMENT_STRING_MAX);
		out->env_names[out->nenv] = dup_or_fail(name, err);
		out->env_values[out->nenv] = dup_or_fail(text, err);
		out->nenv++;
		if (!out->env_names[out->nenv - 1] ||
		    !out->env_values[out->nenv - 1])
			return -1;
	}
	return 0;
}

static int parse_sha256(const char *field, const char *text, char out[65],
			struct hoist_err *err)
{
	if (strlen(text) != 64)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field '%s' must be 64 hex "
				     "digits, got %zu characters", field,
				     strlen(text));
	for (size_t i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)text[i]))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "assignment field '%s' must be 64 "
					     "hex digits", field);
		out[i] = (char)tolower((unsigned char)text[i]);
	}
	out[64] = '\0';
	return 0;
}

static int parse_resume(const json_t *doc, struct hoist_assignment *out,
			struct hoist_err *err)
{
	const json_t *resume = json_object_get(doc, "resume");
	const char *key;
	const char *sha;
	json_int_t step;

	if (!resume || json_is_null(resume))
		return 0;
	if (!json_is_object(resume))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'resume' must be an "
				     "object or null");
	if (get_int(resume, "step", 0, INT64_MAX, &step, err)) {
		hoist_err_prefix(err, "in 'resume'");
		return -1;
	}
	key = get_string(resume, "manifest_key", HOIST_ASSIGNMENT_KEY_MAX,
			 err);
	if (!key) {
		hoist_err_prefix(err, "in 'resume'");
		return -1;
	}
	if (!object_key_valid(key))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'resume.manifest_key' "
				     "is not a valid object key: '%s'", key);
	sha = get_string(resume, "manifest_sha256", 64, err);
	if (!sha) {
		hoist_err_prefix(err, "in 'resume'");
		return -1;
	}
	if (parse_sha256("resume.manifest_sha256", sha,
			 out->resume.manifest_sha256, err))
		return -1;
	out->resume.step = step;
	memcpy(out->resume.manifest_key, key, strlen(key) + 1);
	out->has_resume = 1;
	return 0;
}

/* Stores the array doc[name] in *out, NULL when it is missing (a hoistd
 * older than inputs and outputs).  Returns 0, or -1 with err set. */
static int get_path_array(const json_t *doc, const char *name,
			  const json_t **out, struct hoist_err *err)
{
	const json_t *value = json_object_get(doc, name);

	*out = NULL;
	if (!value || json_is_null(value))
		return 0;
	if (!json_is_array(value))
		return hoist_err_set(err, HOIST_E_INVALID, "assignment field "
				     "'%s' must be an array", name);
	if (json_array_size(value) > HOIST_ASSIGNMENT_PATHS_MAX)
		return hoist_err_set(err, HOIST_E_INVALID, "assignment field "
				     "'%s' has %zu items, the maximum is %d",
				     name, json_array_size(value),
				     HOIST_ASSIGNMENT_PATHS_MAX);
	*out = value;
	return 0;
}

static int parse_input(const json_t *item, size_t index,
		       struct hoist_assignment_input *input,
		       struct hoist_err *err)
{
	const char *key, *sha, *to;

	if (!json_is_object(item))
		return hoist_err_set(err, HOIST_E_INVALID, "assignment field "
				     "'inputs[%zu]' must be an object", index);
	key = get_string(item, "manifest_key", HOIST_ASSIGNMENT_KEY_MAX, err);
	sha = key ? get_string(item, "manifest_sha256", 64, err) : NULL;
	to = sha ? get_string(item, "to", PATH_MAX - 1, err) : NULL;
	if (!to) {
		hoist_err_prefix(err, "in 'inputs[%zu]' (was the input staged "
				 "by 'hoist run'?)", index);
		return -1;
	}
	if (!object_key_valid(key) || strncmp(key, "datasets/", 9) != 0)
		return hoist_err_set(err, HOIST_E_INVALID, "assignment field "
				     "'inputs[%zu].manifest_key' is '%s', "
				     "expected a key under datasets/", index,
				     key);
	if (parse_sha256("inputs[].manifest_sha256", sha,
			 input->manifest_sha256, err)) {
		hoist_err_prefix(err, "in 'inputs[%zu]'", index);
		return -1;
	}
	if (!object_key_valid(to))
		return hoist_err_set(err, HOIST_E_INVALID, "assignment field "
				     "'inputs[%zu].to' is '%s', expected a "
				     "relative path without empty, '.' or '..' "
				     "segments", index, to);
	memcpy(input->manifest_key, key, strlen(key) + 1);
	input->to = dup_or_fail(to, err);
	return input->to ? 0 : -1;
}

static int parse_inputs_outputs(const json_t *doc,
				struct hoist_assignment *out,
				struct hoist_err *err)
{
	const json_t *inputs, *outputs, *item;
	size_t i;

	if (get_path_array(doc, "inputs", &inputs, err) ||
	    get_path_array(doc, "outputs", &outputs, err))
		return -1;
	if (json_array_size(inputs) > 0) {
		out->inputs = calloc(json_array_size(inputs),
				     sizeof(*out->inputs));
		if (!out->inputs)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
	}
	json_array_foreach(inputs, i, item) {
		if (parse_input(item, i, &out->inputs[i], err))
			return -1;
		out->ninputs++;
	}
	if (json_array_size(outputs) > 0) {
		out->outputs = calloc(json_array_size(outputs),
				      sizeof(*out->outputs));
		if (!out->outputs)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
	}
	json_array_foreach(outputs, i, item) {
		const char *path = json_string_value(item);

		if (!path || strlen(path) > PATH_MAX - 1 ||
		    !object_key_valid(path))
			return hoist_err_set(err, HOIST_E_INVALID, "assignment "
					     "field 'outputs[%zu]' must be a "
					     "relative path without empty, '.' "
					     "or '..' segments", i);
		out->outputs[i] = dup_or_fail(path, err);
		if (!out->outputs[i])
			return -1;
		out->noutputs++;
	}
	return 0;
}

static int parse_fields(const json_t *doc, struct hoist_assignment *out,
			struct hoist_err *err)
{
	const char *text;
	json_int_t n;

	text = get_string(doc, "job_id", HOIST_ASSIGNMENT_JOB_ID_MAX, err);
	if (!text)
		return -1;
	if (!job_id_valid(text))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'job_id' is invalid: "
				     "'%s' (expected letters, digits, '-', "
				     "'_' and '.')", text);
	memcpy(out->job_id, text, strlen(text) + 1);

	if (get_int(doc, "attempt", 1, INT_MAX, &n, err))
		return -1;
	out->attempt = (int)n;

	if (parse_command(doc, out, err))
		return -1;

	text = get_string(doc, "workdir", PATH_MAX - 1, err);
	if (!text)
		return -1;
	if (text[0] != '/')
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'workdir' must be an "
				     "absolute path, got '%s'", text);
	out->workdir = dup_or_fail(text, err);
	if (!out->workdir)
		return -1;

	if (parse_env(doc, out, err))
		return -1;

	if (get_int(doc, "grace_seconds", 0, HOIST_ASSIGNMENT_GRACE_MAX, &n,
		    err))
		return -1;
	out->grace_seconds = (int)n;
	if (get_int(doc, "checkpoint_interval_seconds", 0, INT_MAX, &n, err))
		return -1;
	out->checkpoint_interval_seconds = (int)n;
	if (get_int(doc, "heartbeat_interval_ms",
		    HOIST_ASSIGNMENT_HEARTBEAT_MIN_MS,
		    HOIST_ASSIGNMENT_HEARTBEAT_MAX_MS, &n, err))
		return -1;
	out->heartbeat_interval_ms = (int)n;

	text = get_string(doc, "storage_url", 1023, err);
	if (!text)
		return -1;
	if (text[0] == '\0')
		return hoist_err_set(err, HOIST_E_INVALID,
				     "assignment field 'storage_url' is empty");
	out->storage_url = dup_or_fail(text, err);
	if (!out->storage_url)
		return -1;

	if (parse_resume(doc, out, err))
		return -1;
	return parse_inputs_outputs(doc, out, err);
}

int hoist_assignment_from_json(const json_t *doc, struct hoist_assignment *out,
			       struct hoist_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the assignment must be a JSON object");
	if (parse_fields(doc, out, err)) {
		hoist_assignment_release(out);
		return -1;
	}
	return 0;
}

int hoist_assignment_parse(const char *text, size_t len,
			   struct hoist_assignment *out, struct hoist_err *err)
{
	json_error_t jerr;
	json_t *doc;
	int rc;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the assignment is not valid JSON: %s "
				     "(line %d, column %d)", jerr.text,
				     jerr.line, jerr.column);
	rc = hoist_assignment_from_json(doc, out, err);
	json_decref(doc);
	return rc;
}

static void free_strings(char **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void hoist_assignment_release(struct hoist_assignment *out)
{
	free_strings(out->argv, out->argc);
	free_strings(out->env_names, out->nenv);
	free_strings(out->env_values, out->nenv);
	free(out->workdir);
	free(out->storage_url);
	for (size_t i = 0; i < out->ninputs; i++)
		free(out->inputs[i].to);
	free(out->inputs);
	free_strings(out->outputs, out->noutputs);
	memset(out, 0, sizeof(*out));
}
