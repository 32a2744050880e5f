#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "config/profile.h"
#include "config/reader.h"
#include "config/scalar.h"

#define DEFAULT_CHECKPOINT_INTERVAL_MS (10 * 60 * 1000)
#define DEFAULT_CHECKPOINT_KEEP 3
#define DEFAULT_GRACE_MS (30 * 1000)
#define DEFAULT_MAX_FAILURES 2
#define DEFAULT_MAX_ATTEMPTS 20

#define MS_PER_HOUR (60.0 * 60.0 * 1000.0)

/* Upper bounds that hoistd checks again in a submitted job spec
 * (src/orchestrator/jobs.c), so that hoistd accepts what loads here. */
#define IMAGE_BYTES_MAX 512
#define COMMAND_ARGS_MAX 1024
#define GRACE_SECONDS_MAX 3600
#define CHECKPOINT_INTERVAL_SECONDS_MAX 10000000
#define CHECKPOINT_KEEP_MAX 1000
#define MAX_FAILURES_MAX 1000
#define MAX_ATTEMPTS_MAX 10000
#define MAX_DURATION_HOURS_MAX 100000
#define INPUTS_MAX 64
#define OUTPUTS_MAX 64

/* The prefix of the variables that hoist sets for the command. */
#define RESERVED_ENV_PREFIX "HOIST_"

enum job_key {
	JOB_NAME,
	JOB_TEAM,
	JOB_PROJECT,
	JOB_PROFILE,
	JOB_IMAGE,
	JOB_COMMAND,
	JOB_WORKDIR,
	JOB_ENV,
	JOB_CHECKPOINT,
	JOB_GRACE,
	JOB_RETRY,
	JOB_MAX_DURATION,
	JOB_INPUTS,
	JOB_OUTPUTS,
	JOB_KEY_COUNT,
};

static const struct hoist_config_key job_keys[JOB_KEY_COUNT] = {
	[JOB_NAME] = { "name", true },
	[JOB_TEAM] = { "team", false },
	[JOB_PROJECT] = { "project", false },
	[JOB_PROFILE] = { "profile", true },
	[JOB_IMAGE] = { "image", false },
	[JOB_COMMAND] = { "command", true },
	[JOB_WORKDIR] = { "workdir", false },
	[JOB_ENV] = { "env", false },
	[JOB_CHECKPOINT] = { "checkpoint", false },
	[JOB_GRACE] = { "grace", false },
	[JOB_RETRY] = { "retry", false },
	[JOB_MAX_DURATION] = { "max_duration", false },
	[JOB_INPUTS] = { "inputs", false },
	[JOB_OUTPUTS] = { "outputs", false },
};

/* The job file's mapping, split by key. */
struct job_file {
	struct fy_node *keys[JOB_KEY_COUNT];
	struct fy_node *values[JOB_KEY_COUNT];
	const char *base_dir;	/* absolute folder of the job file */
	const json_t *profiles;
};

/* Signature of the readers of one top-level key. */
typedef int (*job_reader)(struct hoist_config_reader *r,
			  const struct job_file *job, json_t *spec);

static int read_name(struct hoist_config_reader *r, struct fy_node *key,
		     struct fy_node *value, const char *what,
		     const char *fallback, const char *output_key,
		     json_t *spec)
{
	const char *text = fallback;
	size_t saved;
	int rc;

	if (key) {
		saved = hoist_config_path_push(r, output_key);
		rc = hoist_config_get_string(r, value, key,
					     " if you mean a name", &text);
		if (rc == 0)
			rc = hoist_config_check_name(r, value ? value : key,
						     what, text);
		hoist_config_path_pop(r, saved);
		if (rc)
			return -1;
	}
	return hoist_config_json_set(r, spec, output_key, json_string(text));
}

static int read_job_name(struct hoist_config_reader *r,
			 const struct job_file *job, json_t *spec)
{
	return read_name(r, job->keys[JOB_NAME], job->values[JOB_NAME],
			 "job name", NULL, "name", spec);
}

static int read_team(struct hoist_config_reader *r,
		     const struct job_file *job, json_t *spec)
{
	return read_name(r, job->keys[JOB_TEAM], job->values[JOB_TEAM],
			 "team name", "default", "team", spec);
}

static int read_project(struct hoist_config_reader *r,
			const struct job_file *job, json_t *spec)
{
	return read_name(r, job->keys[JOB_PROJECT], job->values[JOB_PROJECT],
			 "project name", "default", "project", spec);
}

/* Converts a duration to whole seconds from min_seconds to max_seconds. */
static int read_seconds(struct hoist_config_reader *r, struct fy_node *value,
			struct fy_node *where, int64_t min_seconds,
			int64_t max_seconds, int64_t *out)
{
	char quoted[80];
	const char *text;
	int64_t ms;

	if (hoist_config_get_duration(r, value, where, &ms))
		return -1;
	text = fy_node_get_scalar0(value);
	hoist_config_quote(quoted, sizeof(quoted), text ? text : "",
			   text ? strlen(text) : 0);
	if (ms % 1000 != 0)
		return hoist_config_fail(r, value, where,
					 "expected a whole number of seconds, "
					 "found %s", quoted);
	if (ms / 1000 < min_seconds || ms / 1000 > max_seconds)
		return hoist_config_fail(r, value, where,
					 "expected a duration from %llds to "
					 "%llds, found %s",
					 (long long)min_seconds,
					 (long long)max_seconds, quoted);
	*out = ms / 1000;
	return 0;
}

/*
 * Resolves the profile and applies max_duration, which replaces the
 * profile's max_duration_hours.
 */
static int read_profile(struct hoist_config_reader *r,
			const struct job_file *job, json_t *spec)
{
	struct fy_node *key = job->keys[JOB_MAX_DURATION];
	json_t *profile = NULL;
	size_t saved;
	int64_t ms;
	int rc;

	saved = hoist_config_path_push(r, "profile");
	rc = hoist_config_resolve_profile(r, job->values[JOB_PROFILE],
					  job->keys[JOB_PROFILE],
					  job->profiles, &profile);
	hoist_config_path_pop(r, saved);
	if (rc)
		return -1;
	if (hoist_config_json_set(r, spec, "profile", profile))
		return -1;
	if (!key)
		return 0;

	saved = hoist_config_path_push(r, "max_duration");
	rc = hoist_config_get_duration(r, job->values[JOB_MAX_DURATION], key,
				       &ms);
	if (rc == 0 && (ms <= 0 ||
			(double)ms / MS_PER_HOUR > MAX_DURATION_HOURS_MAX))
		rc = hoist_config_fail(r, job->values[JOB_MAX_DURATION], key,
				       "expected a duration greater than 0 "
				       "and at most %dh, found %s",
				       MAX_DURATION_HOURS_MAX,
				       fy_node_get_scalar0(
					       job->values[JOB_MAX_DURATION]));
	hoist_config_path_pop(r, saved);
	if (rc)
		return -1;
	return hoist_config_json_set(r, profile, "max_duration_hours",
				     json_real((double)ms / MS_PER_HOUR));
}

static bool has_space(const char *text)
{
	for (; *text; text++)
		if (*text == ' ' || (*text >= '\t' && *text <= '\r'))
			return true;
	return false;
}

static int read_image(struct hoist_config_reader *r,
		      const struct job_file *job, json_t *spec)
{
	struct fy_node *value = job->values[JOB_IMAGE];
	struct fy_node *key = job->keys[JOB_IMAGE];
	const char *text;

	if (!key)
		return 0;
	if (hoist_config_get_string(r, value, key,
				    " if you mean an image name", &text))
		return -1;
	if (strlen(text) > IMAGE_BYTES_MAX)
		return hoist_config_fail(r, value, key,
					 "expected an image reference of at "
					 "most %d bytes, found %zu bytes",
					 IMAGE_BYTES_MAX, strlen(text));
	if (!*text || has_space(text)) {
		char quoted[80];

		hoist_config_quote(quoted, sizeof(quoted), text, strlen(text));
		return hoist_config_fail(r, value, key,
					 "expected an image reference such "
					 "as docker.io/library/python:3.11-"
					 "slim, found '%s'", quoted);
	}
	return hoist_config_json_set(r, spec, "image", json_string(text));
}

static int append_string(struct hoist_config_reader *r, json_t *array,
			 const char *text)
{
	if (json_array_append_new(array, json_string(text)) != 0)
		return hoist_config_fail_nomem(r);
	return 0;
}

/* Reads a command given as a sequence of arguments. */
static int read_argv(struct hoist_config_reader *r, struct fy_node *value,
		     struct fy_node *key, json_t *argv)
{
	struct fy_node *item;
	void *iter = NULL;
	size_t index = 0;

	if (fy_node_sequence_item_count(value) == 0)
		return hoist_config_fail(r, value, key,
					 "expected at least the program to "
					 "run, found an empty sequence");
	if (fy_node_sequence_item_count(value) > COMMAND_ARGS_MAX)
		return hoist_config_fail(r, value, key,
					 "expected at most %d arguments, "
					 "found %d", COMMAND_ARGS_MAX,
					 fy_node_sequence_item_count(value));
	while ((item = fy_node_sequence_iterate(value, &iter))) {
		size_t saved = hoist_config_path_push_index(r, index);
		const char *text;
		int rc;

		rc = hoist_config_get_string(r, item, value,
					     ", because command arguments "
					     "are strings", &text);
		if (rc == 0 && index == 0 && !*text)
			rc = hoist_config_fail(r, item, value,
					       "expected the program to run, "
					       "found an empty string");
		if (rc == 0)
			rc = append_string(r, argv, text);
		hoist_config_path_pop(r, saved);
		if (rc)
			return -1;
		index++;
	}
	return 0;
}

static int read_command(struct hoist_config_reader *r,
			const struct job_file *job, json_t *spec)
{
	struct fy_node *value = job->values[JOB_COMMAND];
	struct fy_node *key = job->keys[JOB_COMMAND];
	json_t *argv = json_array();
	const char *script;
	size_t saved;
	int rc = -1;

	if (!argv)
		return hoist_config_fail_nomem(r);
	saved = hoist_config_path_push(r, "command");
	if (value && fy_node_is_sequence(value)) {
		if (read_argv(r, value, key, argv))
			goto out;
	} else {
		/* A single string is a shell script, as in a Dockerfile's
		 * shell form. */
		if (value && fy_node_is_mapping(value)) {
			hoist_config_fail(r, value, key,
					  "expected a string or a sequence "
					  "of strings, found a mapping");
			goto out;
		}
		if (hoist_config_get_string(r, value, key,
					    " if you mean a shell command",
					    &script))
			goto out;
		if (script[strspn(script, " \t\r\n")] == '\0') {
			hoist_config_fail(r, value, key,
					  "expected a shell command, found an "
					  "empty string");
			goto out;
		}
		if (append_string(r, argv, "/bin/sh") ||
		    append_string(r, argv, "-c") ||
		    append_string(r, argv, script))
			goto out;
	}
	rc = hoist_config_json_set(r, spec, "command", argv);
	argv = NULL;
out:
	hoist_config_path_pop(r, saved);
	json_decref(argv);
	return rc;
}

static int read_workdir(struct hoist_config_reader *r,
			const struct job_file *job, json_t *spec)
{
	struct fy_node *value = job->values[JOB_WORKDIR];
	struct fy_node *key = job->keys[JOB_WORKDIR];
	char joined[PATH_MAX];
	char resolved[PATH_MAX];
	char quoted[256];
	const char *text = ".";
	struct stat st;
	size_t saved;
	int rc = -1;
	int n;

	saved = hoist_config_path_push(r, "workdir");
	if (key) {
		if (hoist_config_get_string(r, value, key,
					    " if you mean a directory name",
					    &text))
			goto out;
		if (!*text) {
			hoist_config_fail(r, value, key,
					  "expected a directory, found an "
					  "empty string");
			goto out;
		}
	}
	if (text[0] == '/')
		n = snprintf(joined, sizeof(joined), "%s", text);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s", job->base_dir,
			     text);
	if (n < 0 || (size_t)n >= sizeof(joined)) {
		hoist_config_fail(r, value, key, "the path is too long");
		goto out;
	}
	if (!realpath(joined, resolved)) {
		int saved_errno = errno;

		hoist_config_quote(quoted, sizeof(quoted), joined,
				   strlen(joined));
		if (saved_errno == ENOENT)
			hoist_config_fail(r, value, key,
					  "directory '%s' not found", quoted);
		else
			hoist_config_fail(r, value, key,
					  "cannot resolve directory '%s': %s",
					  quoted, strerror(saved_errno));
		goto out;
	}
	if (stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
		hoist_config_quote(quoted, sizeof(quoted), resolved,
				   strlen(resolved));
		hoist_config_fail(r, value, key, "'%s' is not a directory",
				  quoted);
		goto out;
	}
	rc = hoist_config_json_set(r, spec, "workdir", json_string(resolved));
out:
	hoist_config_path_pop(r, saved);
	return rc;
}

static bool is_env_name(const char *name)
{
	if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z')
	      || *name == '_'))
		return false;
	for (name++; *name; name++)
		if (!((*name >= 'A' && *name <= 'Z') ||
		      (*name >= 'a' && *name <= 'z') ||
		      (*name >= '0' && *name <= '9') || *name == '_'))
			return false;
	return true;
}

static int read_env_entry(struct hoist_config_reader *r,
			  struct fy_node *mapping, struct fy_node_pair *pair,
			  json_t *env)
{
	struct fy_node *key = fy_node_pair_key(pair);
	char quoted[80];
	const char *name;
	const char *text;
	size_t saved;
	int rc;

	if (hoist_config_key_text(r, key, mapping, &name))
		return -1;
	hoist_config_quote(quoted, sizeof(quoted), name, strlen(name));
	if (!is_env_name(name))
		return hoist_config_fail(r, key, mapping,
					 "invalid environment variable name "
					 "'%s': use letters, digits and '_', "
					 "not starting with a digit", quoted);
	if (strncmp(name, RESERVED_ENV_PREFIX,
		    strlen(RESERVED_ENV_PREFIX)) == 0)
		return hoist_config_fail(r, key, mapping,
					 "invalid environment variable name "
					 "'%s': names starting with HOIST_ "
					 "are reserved, because hoist sets "
					 "them for the command", quoted);
	if (json_object_get(env, name))
		return hoist_config_fail_duplicate(r, mapping, key, name);

	saved = hoist_config_path_push(r, name);
	rc = hoist_config_get_string(r, fy_node_pair_value(pair), key,
				     ", because environment variable values "
				     "are strings", &text);
	hoist_config_path_pop(r, saved);
	if (rc)
		return -1;
	return hoist_config_json_set(r, env, name, json_string(text));
}

static int read_env(struct hoist_config_reader *r,
		    const struct job_file *job, json_t *spec)
{
	struct fy_node *value = job->values[JOB_ENV];
	struct fy_node *key = job->keys[JOB_ENV];
	struct fy_node_pair *pair;
	json_t *env = json_object();
	void *iter = NULL;
	size_t saved;
	int rc = -1;

	if (!env)
		return hoist_config_fail_nomem(r);
	saved = hoist_config_path_push(r, "env");
	if (key) {
		if (hoist_config_expect_mapping(r, value, key))
			goto out;
		while ((pair = fy_node_mapping_iterate(value, &iter)))
			if (read_env_entry(r, value, pair, env))
				goto out;
	}
	rc = hoist_config_json_set(r, spec, "env", env);
	env = NULL;
out:
	hoist_config_path_pop(r, saved);
	json_decref(env);
	return rc;
}

static int read_checkpoint(struct hoist_config_reader *r,
			   const struct job_file *job, json_t *spec)
{
	static const struct hoist_config_key keys[] = {
		{ "interval", false },
		{ "keep", false },
	};
	struct fy_node *key_nodes[2] = { NULL, NULL };
	struct fy_node *values[2] = { NULL, NULL };
	int64_t interval = DEFAULT_CHECKPOINT_INTERVAL_MS / 1000;
	int64_t keep = DEFAULT_CHECKPOINT_KEEP;
	json_t *checkpoint = NULL;
	size_t saved;
	size_t inner;
	int rc = -1;

	saved = hoist_config_path_push(r, "checkpoint");
	if (job->keys[JOB_CHECKPOINT] &&
	    hoist_config_read_mapping(r, job->values[JOB_CHECKPOINT],
				      job->keys[JOB_CHECKPOINT], keys, 2,
				      key_nodes, values))
		goto out;
	if (key_nodes[0]) {
		inner = hoist_config_path_push(r, "interval");
		rc = read_seconds(r, values[0], key_nodes[0], 1,
				  CHECKPOINT_INTERVAL_SECONDS_MAX, &interval);
		hoist_config_path_pop(r, inner);
		if (rc)
			goto out;
		rc = -1;
	}
	if (key_nodes[1]) {
		inner = hoist_config_path_push(r, "keep");
		rc = hoist_config_get_int(r, values[1], key_nodes[1], 1,
					  CHECKPOINT_KEEP_MAX, &keep);
		hoist_config_path_pop(r, inner);
		if (rc)
			goto out;
		rc = -1;
	}
	checkpoint = json_pack("{s:I, s:I}", "interval_seconds",
			       (json_int_t)interval, "keep", (json_int_t)keep);
	rc = hoist_config_json_set(r, spec, "checkpoint", checkpoint);
out:
	hoist_config_path_pop(r, saved);
	return rc;
}

static int read_grace(struct hoist_config_reader *r,
		      const struct job_file *job, json_t *spec)
{
	int64_t grace = DEFAULT_GRACE_MS / 1000;
	size_t saved;
	int rc = 0;

	if (job->keys[JOB_GRACE]) {
		saved = hoist_config_path_push(r, "grace");
		rc = read_seconds(r, job->values[JOB_GRACE],
				  job->keys[JOB_GRACE], 1, GRACE_SECONDS_MAX,
				  &grace);
		hoist_config_path_pop(r, saved);
	}
	if (rc)
		return -1;
	return hoist_config_json_set(r, spec, "grace_seconds",
				     json_integer(grace));
}

static int read_retry(struct hoist_config_reader *r,
		      const struct job_file *job, json_t *spec)
{
	static const struct hoist_config_key keys[] = {
		{ "max_failures", false },
		{ "max_attempts", false },
	};
	static const int64_t minimum[] = { 0, 1 };
	static const int64_t maximum[] = { MAX_FAILURES_MAX,
					   MAX_ATTEMPTS_MAX };
	struct fy_node *key_nodes[2] = { NULL, NULL };
	struct fy_node *values[2] = { NULL, NULL };
	int64_t limits[2] = { DEFAULT_MAX_FAILURES, DEFAULT_MAX_ATTEMPTS };
	size_t saved;
	int rc = -1;

	saved = hoist_config_path_push(r, "retry");
	if (job->keys[JOB_RETRY] &&
	    hoist_config_read_mapping(r, job->values[JOB_RETRY],
				      job->keys[JOB_RETRY], keys, 2,
				      key_nodes, values))
		goto out;
	for (size_t i = 0; i < 2; i++) {
		size_t inner;
		int failed;

		if (!key_nodes[i])
			continue;
		inner = hoist_config_path_push(r, keys[i].name);
		failed = hoist_config_get_int(r, values[i], key_nodes[i],
					      minimum[i], maximum[i],
					      &limits[i]);
		hoist_config_path_pop(r, inner);
		if (failed)
			goto out;
	}
	rc = hoist_config_json_set(r, spec, "retry",
				   json_pack("{s:I, s:I}", "max_failures",
					     (json_int_t)limits[0],
					     "max_attempts",
					     (json_int_t)limits[1]));
out:
	hoist_config_path_pop(r, saved);
	return rc;
}

/*
 * Checks a path relative to the job's working directory: not empty, not
 * absolute, and without an empty, "." or ".." segment, so that it can
 * never name a file outside that directory.
 */
static int check_relative_path(struct hoist_config_reader *r,
			       struct fy_node *value, struct fy_node *where,
			       const char *text)
{
	char quoted[256];
	const char *segment = text;

	hoist_config_quote(quoted, sizeof(quoted), text, strlen(text));
	if (!*text)
		return hoist_config_fail(r, value, where, "expected a path "
					 "relative to the working directory, "
					 "found an empty string");
	if (text[0] == '/')
		return hoist_config_fail(r, value, where, "expected a path "
					 "relative to the working directory, "
					 "found the absolute path '%s'",
					 quoted);
	while (segment) {
		const char *slash = strchr(segment, '/');
		size_t len = slash ? (size_t)(slash - segment) :
				     strlen(segment);

		if (len == 0 || (len == 1 && segment[0] == '.') ||
		    (len == 2 && segment[0] == '.' && segment[1] == '.'))
			return hoist_config_fail(r, value, where, "invalid "
						 "path '%s': an empty, '.' or "
						 "'..' segment is not allowed, "
						 "because the path must stay "
						 "inside the working directory",
						 quoted);
		segment = slash ? slash + 1 : NULL;
	}
	return 0;
}

/* Appends value to array, taking the reference to value. */
static int array_append(struct hoist_config_reader *r, json_t *array,
			json_t *value)
{
	if (!value || json_array_append_new(array, value) != 0)
		return hoist_config_fail_nomem(r);
	return 0;
}

/* Returns true when one path is the other or a folder that contains it. */
static bool paths_overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t shorter = la < lb ? la : lb;

	if (strncmp(a, b, shorter) != 0)
		return false;
	return la == lb || (la < lb ? b[la] : a[lb]) == '/';
}

/* Stores an input's source: an s3:// URL as written, or a local directory
 * resolved against the job file's folder. */
static int read_input_from(struct hoist_config_reader *r,
			   const struct job_file *job, struct fy_node *value,
			   struct fy_node *where, json_t *input)
{
	char joined[PATH_MAX];
	char resolved[PATH_MAX];
	char quoted[256];
	const char *text;
	struct stat st;
	int n;

	if (hoist_config_get_string(r, value, where, " if you mean a path",
				    &text))
		return -1;
	hoist_config_quote(quoted, sizeof(quoted), text, strlen(text));
	if (strncmp(text, "s3://", 5) == 0) {
		if (text[5] == '\0' || text[5] == '/')
			return hoist_config_fail(r, value, where, "invalid S3 "
						 "URL '%s': expected "
						 "s3://BUCKET/PREFIX", quoted);
		return hoist_config_json_set(r, input, "from",
					     json_string(text));
	}
	if (!*text || strstr(text, "://"))
		return hoist_config_fail(r, value, where, "expected a local "
					 "directory or an s3://BUCKET/PREFIX "
					 "URL, found '%s'", quoted);
	if (text[0] == '/')
		n = snprintf(joined, sizeof(joined), "%s", text);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s", job->base_dir,
			     text);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return hoist_config_fail(r, value, where, "the path is too "
					 "long");
	if (!realpath(joined, resolved)) {
		int saved_errno = errno;

		hoist_config_quote(quoted, sizeof(quoted), joined,
				   strlen(joined));
		if (saved_errno == ENOENT && strncmp(text, "s3:", 3) == 0)
			return hoist_config_fail(r, value, where, "directory "
						 "'%s' not found; for an S3 URL "
						 "write s3://BUCKET/PREFIX with "
						 "two slashes", quoted);
		if (saved_errno == ENOENT)
			return hoist_config_fail(r, value, where, "directory "
						 "'%s' not found", quoted);
		return hoist_config_fail(r, value, where, "cannot resolve "
					 "directory '%s': %s", quoted,
					 strerror(saved_errno));
	}
	if (stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
		hoist_config_quote(quoted, sizeof(quoted), resolved,
				   strlen(resolved));
		return hoist_config_fail(r, value, where, "'%s' is not a "
					 "directory; an input is a folder "
					 "that is copied whole", quoted);
	}
	return hoist_config_json_set(r, input, "from", json_string(resolved));
}

static int read_input(struct hoist_config_reader *r,
		      const struct job_file *job, struct fy_node *item,
		      struct fy_node *where, json_t *inputs)
{
	static const struct hoist_config_key keys[] = {
		{ "from", true },
		{ "to", true },
	};
	struct fy_node *key_nodes[2], *values[2];
	json_t *input = json_object();
	json_t *other;
	const char *to;
	size_t saved, i;
	int rc = -1;

	if (!input)
		return hoist_config_fail_nomem(r);
	if (hoist_config_read_mapping(r, item, where, keys, 2, key_nodes,
				      values))
		goto out;
	saved = hoist_config_path_push(r, "from");
	rc = read_input_from(r, job, values[0], key_nodes[0], input);
	hoist_config_path_pop(r, saved);
	if (rc)
		goto out;
	rc = -1;
	saved = hoist_config_path_push(r, "to");
	if (hoist_config_get_string(r, values[1], key_nodes[1],
				    " if you mean a path", &to) ||
	    check_relative_path(r, values[1], key_nodes[1], to))
		goto pop;
	json_array_foreach(inputs, i, other) {
		const char *existing = json_string_value(json_object_get(other,
								      "to"));

		if (paths_overlap(existing, to)) {
			hoist_config_fail(r, values[1], key_nodes[1],
					  "'%s' overlaps the 'to' of input %zu "
					  "('%s'); each input needs a folder "
					  "of its own", to, i + 1, existing);
			goto pop;
		}
	}
	if (hoist_config_json_set(r, input, "to", json_string(to)) ||
	    array_append(r, inputs, json_incref(input)))
		goto pop;
	rc = 0;
pop:
	hoist_config_path_pop(r, saved);
out:
	json_decref(input);
	return rc;
}

static int read_inputs(struct hoist_config_reader *r,
		       const struct job_file *job, json_t *spec)
{
	struct fy_node *value = job->values[JOB_INPUTS];
	struct fy_node *key = job->keys[JOB_INPUTS];
	json_t *inputs;
	size_t saved;
	int count, rc = -1;

	if (!key)
		return 0;
	inputs = json_array();
	if (!inputs)
		return hoist_config_fail_nomem(r);
	saved = hoist_config_path_push(r, "inputs");
	if (hoist_config_expect_sequence(r, value, key))
		goto out;
	count = fy_node_sequence_item_count(value);
	if (count > INPUTS_MAX) {
		hoist_config_fail(r, value, key, "expected at most %d inputs, "
				  "found %d", INPUTS_MAX, count);
		goto out;
	}
	for (int i = 0; i < count; i++) {
		size_t item_saved = hoist_config_path_push_index(r, (size_t)i);
		int failed = read_input(r, job,
					fy_node_sequence_get_by_index(value, i),
					key, inputs);

		hoist_config_path_pop(r, item_saved);
		if (failed)
			goto out;
	}
	rc = hoist_config_json_set(r, spec, "inputs", inputs);
	inputs = NULL;
out:
	hoist_config_path_pop(r, saved);
	json_decref(inputs);
	return rc;
}

static int read_outputs(struct hoist_config_reader *r,
			const struct job_file *job, json_t *spec)
{
	struct fy_node *value = job->values[JOB_OUTPUTS];
	struct fy_node *key = job->keys[JOB_OUTPUTS];
	json_t *outputs;
	size_t saved;
	int count, rc = -1;

	if (!key)
		return 0;
	outputs = json_array();
	if (!outputs)
		return hoist_config_fail_nomem(r);
	saved = hoist_config_path_push(r, "outputs");
	if (hoist_config_expect_sequence(r, value, key))
		goto out;
	count = fy_node_sequence_item_count(value);
	if (count > OUTPUTS_MAX) {
		hoist_config_fail(r, value, key, "expected at most %d outputs, "
				  "found %d", OUTPUTS_MAX, count);
		goto out;
	}
	for (int i = 0; i < count; i++) {
		struct fy_node *item = fy_node_sequence_get_by_index(value, i);
		size_t item_saved = hoist_config_path_push_index(r, (size_t)i);
		const char *text;
		json_t *other;
		size_t j;
		int failed = hoist_config_get_string(r, item, key,
						     " if you mean a path",
						     &text) ||
			     check_relative_path(r, item, key, text);

		json_array_foreach(outputs, j, other) {
			if (failed)
				break;
			if (paths_overlap(json_string_value(other), text))
				failed = hoist_config_fail(
					r, item, key, "'%s' overlaps output "
					"%zu ('%s'); list each file or folder "
					"once", text, j + 1,
					json_string_value(other));
		}
		if (!failed)
			failed = array_append(r, outputs, json_string(text));
		hoist_config_path_pop(r, item_saved);
		if (failed)
			goto out;
	}
	rc = hoist_config_json_set(r, spec, "outputs", outputs);
	outputs = NULL;
out:
	hoist_config_path_pop(r, saved);
	json_decref(outputs);
	return rc;
}

/* The readers in the order of the keys in the job spec. */
static const job_reader job_readers[] = {
	read_job_name,
	read_team,
	read_project,
	read_profile,
	read_image,
	read_command,
	read_workdir,
	read_env,
	read_checkpoint,
	read_grace,
	read_retry,
	read_inputs,
	read_outputs,
};

static int read_job(struct hoist_config_reader *r, struct job_file *job,
		    json_t *spec)
{
	if (!r->root)
		return hoist_config_fail(r, NULL, NULL,
					 "the file is empty; expected a "
					 "mapping with at least the keys "
					 "name, profile and command");
	if (hoist_config_read_mapping(r, r->root, NULL, job_keys,
				      JOB_KEY_COUNT, job->keys, job->values))
		return -1;
	for (size_t i = 0; i < sizeof(job_readers) / sizeof(job_readers[0]);
	     i++)
		if (job_readers[i](r, job, spec))
			return -1;
	return 0;
}

/* Stores the absolute folder of the file called name in out. */
static int base_directory(struct hoist_config_reader *r, const char *name,
			  char *out)
{
	char folder[PATH_MAX];
	const char *slash = strrchr(name, '/');
	size_t len;

	if (!slash) {
		snprintf(folder, sizeof(folder), ".");
	} else {
		len = slash == name ? 1 : (size_t)(slash - name);
		if (len >= sizeof(folder))
			return hoist_err_set(r->err, HOIST_E_INVALID,
					     "%s: the path is too long", name);
		memcpy(folder, name, len);
		folder[len] = '\0';
	}
	if (!realpath(folder, out))
		return hoist_err_set(r->err, HOIST_E_NOT_FOUND,
				     "%s: cannot resolve the directory of the "
				     "job file '%s': %s", name, folder,
				     strerror(errno));
	return 0;
}

int hoist_config_load_job_buffer(const char *name, const char *data,
				 size_t len, const json_t *profiles,
				 json_t **out, struct hoist_err *err)
{
	struct hoist_config_reader r;
	char base_dir[PATH_MAX];
	struct job_file job;
	json_t *spec = NULL;
	int rc = -1;

	memset(&job, 0, sizeof(job));
	if (hoist_config_reader_open(&r, name, data, len, err))
		goto out;
	if (base_directory(&r, name, base_dir))
		goto out;
	job.base_dir = base_dir;
	job.profiles = profiles;
	spec = json_object();
	if (!spec) {
		hoist_config_fail_nomem(&r);
		goto out;
	}
	if (read_job(&r, &job, spec))
		goto out;
	*out = spec;
	spec = NULL;
	rc = 0;
out:
	json_decref(spec);
	hoist_config_reader_close(&r);
	return rc;
}

int hoist_config_load_job(const char *path, const json_t *profiles,
			  json_t **out, struct hoist_err *err)
{
	struct hoist_buf buf;
	int rc;

	hoist_buf_init(&buf, HOIST_CONFIG_FILE_MAX);
	rc = hoist_config_read_file(path, &buf, err);
	if (rc == 0)
		rc = hoist_config_load_job_buffer(path, buf.data, buf.len,
						  profiles, out, err);
	hoist_buf_release(&buf);
	return rc;
}
