#include "config/config.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "config/profile.h"
#include "config/reader.h"
#include "config/scalar.h"

#define DEFAULT_DISK_GB 20.0

enum field_type {
	FIELD_STRING,
	FIELD_INT,
	FIELD_NUMBER,
	FIELD_BOOL,
	FIELD_VERSION,
};

struct profile_field {
	const char *name;
	bool required;		/* in gpu_profiles.yaml; overrides never are */
	enum field_type type;
	struct hoist_config_range range;	/* FIELD_NUMBER */
	int64_t min;				/* FIELD_INT */
	int64_t max;				/* FIELD_INT */
};

/*
 * The upper bounds of gpu_name, max_dph and max_duration_hours are the
 * ones that hoistd checks again in a submitted job spec
 * (src/orchestrator/jobs.c), so that hoistd accepts what loads here.
 */
#define NAME_BYTES_MAX 63
#define POSITIVE { 0.0, 0.0, true, false }
#define NON_NEGATIVE { 0.0, 0.0, false, false }
#define FRACTION { 0.0, 1.0, false, true }
#define PRICE { 0.0, 1e6, true, true }
#define HOURS { 0.0, 1e5, true, true }

/* The keys of a profile, in the order of the output objects. */
static const struct profile_field fields[] = {
	{ .name = "gpu_name", .required = true, .type = FIELD_STRING },
	{ .name = "num_gpus", .required = true, .type = FIELD_INT,
	  .min = 1, .max = 64 },
	{ .name = "max_dph", .required = true, .type = FIELD_NUMBER,
	  .range = PRICE },
	{ .name = "reliability_min", .required = true, .type = FIELD_NUMBER,
	  .range = FRACTION },
	{ .name = "max_duration_hours", .required = true,
	  .type = FIELD_NUMBER, .range = HOURS },
	{ .name = "disk_gb", .type = FIELD_NUMBER, .range = POSITIVE },
	{ .name = "cuda_min", .type = FIELD_VERSION },
	{ .name = "min_inet_down_mbps", .type = FIELD_NUMBER,
	  .range = NON_NEGATIVE },
	{ .name = "region", .type = FIELD_STRING },
	{ .name = "verified", .type = FIELD_BOOL },
	{ .name = "interruptible", .type = FIELD_BOOL },
};

#define FIELD_COUNT (sizeof(fields) / sizeof(fields[0]))

/* Maximum length of the list of names in an "unknown profile" message. */
#define NAME_LIST_MAX 400

static int read_field(struct hoist_config_reader *r,
		      const struct profile_field *field, struct fy_node *key,
		      struct fy_node *value, json_t *profile)
{
	const char *text;
	int64_t integer;
	double number;
	bool flag;

	switch (field->type) {
	case FIELD_STRING:
		if (hoist_config_get_string(r, value, key,
					    " if you mean a name", &text))
			return -1;
		if (!*text)
			return hoist_config_fail(r, value, key,
						 "expected a name, found an "
						 "empty string");
		if (strlen(text) > NAME_BYTES_MAX)
			return hoist_config_fail(r, value, key,
						 "expected a name of at most "
						 "%d bytes, found %zu bytes",
						 NAME_BYTES_MAX, strlen(text));
		return hoist_config_json_set(r, profile, field->name,
					     json_string(text));
	case FIELD_INT:
		if (hoist_config_get_int(r, value, key, field->min,
					 field->max, &integer))
			return -1;
		return hoist_config_json_set(r, profile, field->name,
					     json_integer(integer));
	case FIELD_NUMBER:
		if (hoist_config_get_number(r, value, key, &field->range,
					    &number))
			return -1;
		return hoist_config_json_set(r, profile, field->name,
					     json_real(number));
	case FIELD_BOOL:
		if (hoist_config_get_bool(r, value, key, &flag))
			return -1;
		return hoist_config_json_set(r, profile, field->name,
					     json_boolean(flag));
	case FIELD_VERSION:
		if (hoist_config_get_version(r, value, key, &text))
			return -1;
		return hoist_config_json_set(r, profile, field->name,
					     json_string(text));
	}
	return hoist_err_set(r->err, HOIST_E_INTERNAL,
			     "unknown profile field type %d", (int)field->type);
}

/*
 * Reads the profile keys of the mapping node into profile.  For an
 * override mapping (use_key not NULL) every profile key is optional, and
 * the key use is required: its key and value nodes are stored in *use_key
 * and *use_value.
 */
static int read_fields(struct hoist_config_reader *r, struct fy_node *node,
		       struct fy_node *where, json_t *profile,
		       struct fy_node **use_key, struct fy_node **use_value)
{
	struct hoist_config_key keys[FIELD_COUNT + 1];
	struct fy_node *key_nodes[FIELD_COUNT + 1];
	struct fy_node *values[FIELD_COUNT + 1];
	size_t first = use_key ? 0 : 1;

	keys[0].name = "use";
	keys[0].required = true;
	for (size_t i = 0; i < FIELD_COUNT; i++) {
		keys[i + 1].name = fields[i].name;
		keys[i + 1].required = !use_key && fields[i].required;
	}
	if (hoist_config_read_mapping(r, node, where, keys + first,
				      FIELD_COUNT + 1 - first,
				      key_nodes + first, values + first))
		return -1;
	if (use_key) {
		*use_key = key_nodes[0];
		*use_value = values[0];
	}

	for (size_t i = 0; i < FIELD_COUNT; i++) {
		size_t saved;
		int rc;

		if (!key_nodes[i + 1])
			continue;
		saved = hoist_config_path_push(r, fields[i].name);
		rc = read_field(r, &fields[i], key_nodes[i + 1], values[i + 1],
				profile);
		hoist_config_path_pop(r, saved);
		if (rc)
			return -1;
	}
	return 0;
}

/* Reads one profile of gpu_profiles.yaml and fills in the defaults. */
static int read_profile(struct hoist_config_reader *r, const char *name,
			struct fy_node *node, struct fy_node *where,
			json_t **out)
{
	json_t *profile = json_object();
	int rc = -1;

	if (!profile)
		return hoist_config_fail_nomem(r);
	if (hoist_config_json_set(r, profile, "name", json_string(name)))
		goto out;
	if (read_fields(r, node, where, profile, NULL, NULL))
		goto out;
	if (!json_object_get(profile, "disk_gb") &&
	    hoist_config_json_set(r, profile, "disk_gb",
				  json_real(DEFAULT_DISK_GB)))
		goto out;
	if (!json_object_get(profile, "interruptible") &&
	    hoist_config_json_set(r, profile, "interruptible", json_false()))
		goto out;
	*out = profile;
	profile = NULL;
	rc = 0;
out:
	json_decref(profile);
	return rc;
}

static int read_profiles(struct hoist_config_reader *r, json_t *result)
{
	static const struct hoist_config_key top_keys[] = {
		{ "profiles", true },
	};
	struct fy_node *key_node;
	struct fy_node *node;
	struct fy_node_pair *pair;
	void *iter = NULL;
	size_t saved;
	int rc = -1;

	if (!r->root)
		return hoist_config_fail(r, NULL, NULL,
					 "the file is empty; expected a "
					 "mapping with the key 'profiles'");
	if (hoist_config_read_mapping(r, r->root, NULL, top_keys, 1,
				      &key_node, &node))
		return -1;

	saved = hoist_config_path_push(r, "profiles");
	if (hoist_config_expect_mapping(r, node, key_node))
		goto out;
	if (fy_node_mapping_item_count(node) == 0) {
		hoist_config_fail(r, node, key_node,
				  "expected at least one profile, found an "
				  "empty mapping");
		goto out;
	}
	while ((pair = fy_node_mapping_iterate(node, &iter))) {
		struct fy_node *key = fy_node_pair_key(pair);
		json_t *profile = NULL;
		const char *name;
		size_t inner;
		int failed;

		if (hoist_config_key_text(r, key, node, &name) ||
		    hoist_config_check_name(r, key, "profile name", name))
			goto out;
		if (json_object_get(result, name)) {
			hoist_config_fail_duplicate(r, node, key, name);
			goto out;
		}
		inner = hoist_config_path_push(r, name);
		failed = read_profile(r, name, fy_node_pair_value(pair), key,
				      &profile);
		hoist_config_path_pop(r, inner);
		if (failed || hoist_config_json_set(r, result, name, profile))
			goto out;
	}
	rc = 0;
out:
	hoist_config_path_pop(r, saved);
	return rc;
}

int hoist_config_load_profiles_buffer(const char *name, const char *data,
				      size_t len, json_t **out,
				      struct hoist_err *err)
{
	struct hoist_config_reader r;
	json_t *result = NULL;
	int rc = -1;

	if (hoist_config_reader_open(&r, name, data, len, err))
		goto out;
	result = json_object();
	if (!result) {
		hoist_config_fail_nomem(&r);
		goto out;
	}
	if (read_profiles(&r, result))
		goto out;
	*out = result;
	result = NULL;
	rc = 0;
out:
	json_decref(result);
	hoist_config_reader_close(&r);
	return rc;
}

int hoist_config_load_profiles(const char *path, json_t **out,
			       struct hoist_err *err)
{
	struct hoist_buf buf;
	int rc;

	hoist_buf_init(&buf, HOIST_CONFIG_FILE_MAX);
	rc = hoist_config_read_file(path, &buf, err);
	if (rc == 0)
		rc = hoist_config_load_profiles_buffer(path, buf.data, buf.len,
						       out, err);
	hoist_buf_release(&buf);
	return rc;
}

/* Reports an unknown profile name with the closest and all known names. */
static int fail_unknown_profile(struct hoist_config_reader *r,
				struct fy_node *node, struct fy_node *where,
				const char *name, const json_t *profiles)
{
	size_t count = json_object_size(profiles);
	const char **names = NULL;
	char list[NAME_LIST_MAX] = "";
	char suggestion[96] = "";
	char quoted[80];
	const char *closest = NULL;
	const char *key;
	json_t *value;
	size_t used = 0;
	size_t i = 0;

	hoist_config_quote(quoted, sizeof(quoted), name, strlen(name));
	if (count == 0)
		return hoist_config_fail(r, node, where,
					 "unknown profile '%s'; no GPU "
					 "profiles are loaded", quoted);
	names = calloc(count, sizeof(*names));
	if (!names)
		return hoist_config_fail_nomem(r);
	json_object_foreach((json_t *)profiles, key, value) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s",
				 i ? ", " : "", key);

		names[i++] = key;
		if (n > 0 && (size_t)n < sizeof(list) - used)
			used += (size_t)n;
		else
			snprintf(list + used, sizeof(list) - used, ", ...");
	}
	closest = hoist_config_closest(name, names, i);
	if (closest)
		snprintf(suggestion, sizeof(suggestion), "did you mean %s? ",
			 closest);
	hoist_config_fail(r, node, where,
			  "unknown profile '%s'; %savailable profiles: %s",
			  quoted, suggestion, list);
	free(names);
	return -1;
}

/* Stores a copy of the profile called name in *out. */
static int copy_profile(struct hoist_config_reader *r, struct fy_node *node,
			struct fy_node *where, const char *name,
			const json_t *profiles, json_t **out)
{
	json_t *found = NULL;

	if (profiles && json_is_object(profiles))
		found = json_object_get(profiles, name);
	if (!found || !json_is_object(found))
		return fail_unknown_profile(r, node, where, name,
					    json_is_object(profiles) ?
					    profiles : NULL);
	*out = json_deep_copy(found);
	if (!*out)
		return hoist_config_fail_nomem(r);
	return 0;
}

int hoist_config_resolve_profile(struct hoist_config_reader *r,
				 struct fy_node *value, struct fy_node *where,
				 const json_t *profiles, json_t **out)
{
	struct fy_node *use_key = NULL;
	struct fy_node *use_value = NULL;
	json_t *overrides = NULL;
	json_t *profile = NULL;
	const char *name;
	size_t saved;
	int rc = -1;

	if (value && fy_node_is_sequence(value))
		return hoist_config_fail(r, value, where,
					 "expected a profile name or a mapping "
					 "with the key use, found a sequence");
	if (!value || !fy_node_is_mapping(value)) {
		if (hoist_config_get_string(r, value, where,
					    " if you mean a profile name",
					    &name))
			return -1;
		return copy_profile(r, value, where, name, profiles, out);
	}

	overrides = json_object();
	if (!overrides)
		return hoist_config_fail_nomem(r);
	if (read_fields(r, value, where, overrides, &use_key, &use_value))
		goto out;
	saved = hoist_config_path_push(r, "use");
	rc = hoist_config_get_string(r, use_value, use_key,
				     " if you mean a profile name", &name);
	if (rc == 0)
		rc = copy_profile(r, use_value, use_key, name, profiles,
				  &profile);
	hoist_config_path_pop(r, saved);
	if (rc)
		goto out;
	rc = -1;
	if (json_object_update(profile, overrides) != 0) {
		hoist_config_fail_nomem(r);
		goto out;
	}
	*out = profile;
	profile = NULL;
	rc = 0;
out:
	json_decref(overrides);
	json_decref(profile);
	return rc;
}
