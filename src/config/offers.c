#include "config/config.h"

#include <string.h>

#include "common/buf.h"
#include "config/reader.h"

#define DEFAULT_NUM_GPUS 1
#define DEFAULT_RELIABILITY 1.0

/* The same bound as for a profile's gpu_name, which offers match. */
#define GPU_NAME_BYTES_MAX 63

enum offer_key {
	OFFER_NAME,
	OFFER_GPU_NAME,
	OFFER_NUM_GPUS,
	OFFER_PRICE,
	OFFER_RELIABILITY,
	OFFER_KEY_COUNT,
};

static const struct hoist_config_key offer_keys[OFFER_KEY_COUNT] = {
	[OFFER_NAME] = { "name", true },
	[OFFER_GPU_NAME] = { "gpu_name", true },
	[OFFER_NUM_GPUS] = { "num_gpus", false },
	[OFFER_PRICE] = { "price_per_hour", true },
	[OFFER_RELIABILITY] = { "reliability", false },
};

/* Reads one offer.  names maps each offer name seen so far to its place. */
static int read_offer(struct hoist_config_reader *r, struct fy_node *node,
		      struct fy_node *where, json_t *names, json_t **out)
{
	static const struct hoist_config_range price_range = {
		0.0, 0.0, false, false
	};
	static const struct hoist_config_range reliability_range = {
		0.0, 1.0, false, true
	};
	struct fy_node *keys[OFFER_KEY_COUNT];
	struct fy_node *values[OFFER_KEY_COUNT];
	int64_t num_gpus = DEFAULT_NUM_GPUS;
	double reliability = DEFAULT_RELIABILITY;
	const char *name;
	const char *gpu_name;
	double price;
	json_t *first;
	size_t saved;
	int rc;

	if (hoist_config_read_mapping(r, node, where, offer_keys,
				      OFFER_KEY_COUNT, keys, values))
		return -1;

	saved = hoist_config_path_push(r, "name");
	rc = hoist_config_get_string(r, values[OFFER_NAME], keys[OFFER_NAME],
				     " if you mean a name", &name);
	if (rc == 0)
		rc = hoist_config_check_name(r, values[OFFER_NAME],
					     "offer name", name);
	first = rc == 0 ? json_object_get(names, name) : NULL;
	if (first)
		rc = hoist_config_fail(r, values[OFFER_NAME], keys[OFFER_NAME],
				       "duplicate offer name '%s'; %s "
				       "already uses it", name,
				       json_string_value(first));
	hoist_config_path_pop(r, saved);
	if (rc)
		return -1;

	saved = hoist_config_path_push(r, "gpu_name");
	rc = hoist_config_get_string(r, values[OFFER_GPU_NAME],
				     keys[OFFER_GPU_NAME], " if you mean a name",
				     &gpu_name);
	if (rc == 0 && !*gpu_name)
		rc = hoist_config_fail(r, values[OFFER_GPU_NAME],
				       keys[OFFER_GPU_NAME],
				       "expected a name, found an empty "
				       "string");
	if (rc == 0 && strlen(gpu_name) > GPU_NAME_BYTES_MAX)
		rc = hoist_config_fail(r, values[OFFER_GPU_NAME],
				       keys[OFFER_GPU_NAME],
				       "expected a name of at most %d bytes, "
				       "found %zu bytes", GPU_NAME_BYTES_MAX,
				       strlen(gpu_name));
	hoist_config_path_pop(r, saved);
	if (rc)
		return -1;

	if (keys[OFFER_NUM_GPUS]) {
		saved = hoist_config_path_push(r, "num_gpus");
		rc = hoist_config_get_int(r, values[OFFER_NUM_GPUS],
					  keys[OFFER_NUM_GPUS], 1, 64,
					  &num_gpus);
		hoist_config_path_pop(r, saved);
		if (rc)
			return -1;
	}

	saved = hoist_config_path_push(r, "price_per_hour");
	rc = hoist_config_get_number(r, values[OFFER_PRICE], keys[OFFER_PRICE],
				     &price_range, &price);
	hoist_config_path_pop(r, saved);
	if (rc)
		return -1;

	if (keys[OFFER_RELIABILITY]) {
		saved = hoist_config_path_push(r, "reliability");
		rc = hoist_config_get_number(r, values[OFFER_RELIABILITY],
					     keys[OFFER_RELIABILITY],
					     &reliability_range, &reliability);
		hoist_config_path_pop(r, saved);
		if (rc)
			return -1;
	}

	*out = json_pack("{s:s, s:s, s:I, s:f, s:f}", "name", name,
			 "gpu_name", gpu_name, "num_gpus", (json_int_t)num_gpus,
			 "price_per_hour", price, "reliability", reliability);
	if (!*out)
		return hoist_config_fail_nomem(r);
	return 0;
}

static int read_offers(struct hoist_config_reader *r, json_t *result)
{
	static const struct hoist_config_key top_keys[] = {
		{ "offers", true },
	};
	struct fy_node *key_node;
	struct fy_node *node;
	struct fy_node *item;
	json_t *names = json_object();
	void *iter = NULL;
	size_t index = 0;
	size_t saved;
	int rc = -1;

	if (!names)
		return hoist_config_fail_nomem(r);
	saved = r->path_len;
	if (!r->root) {
		hoist_config_fail(r, NULL, NULL,
				  "the file is empty; expected a mapping "
				  "with the key 'offers'");
		goto out;
	}
	if (hoist_config_read_mapping(r, r->root, NULL, top_keys, 1,
				      &key_node, &node))
		goto out;
	hoist_config_path_push(r, "offers");
	if (hoist_config_expect_sequence(r, node, key_node))
		goto out;
	while ((item = fy_node_sequence_iterate(node, &iter))) {
		size_t inner = hoist_config_path_push_index(r, index);
		json_t *offer = NULL;
		char label[32];
		int failed;

		failed = read_offer(r, item, node, names, &offer);
		hoist_config_path_pop(r, inner);
		if (failed)
			goto out;
		if (json_array_append_new(result, offer) != 0) {
			hoist_config_fail_nomem(r);
			goto out;
		}
		snprintf(label, sizeof(label), "offers[%zu]", index);
		if (hoist_config_json_set(r, names, json_string_value(
			json_object_get(offer, "name")), json_string(label)))
			goto out;
		index++;
	}
	rc = 0;
out:
	hoist_config_path_pop(r, saved);
	json_decref(names);
	return rc;
}

int hoist_config_load_local_offers_buffer(const char *name, const char *data,
					  size_t len, json_t **out,
					  struct hoist_err *err)
{
	struct hoist_config_reader r;
	json_t *result = NULL;
	int rc = -1;

	if (hoist_config_reader_open(&r, name, data, len, err))
		goto out;
	result = json_array();
	if (!result) {
		hoist_config_fail_nomem(&r);
		goto out;
	}
	if (read_offers(&r, result))
		goto out;
	*out = result;
	result = NULL;
	rc = 0;
out:
	json_decref(result);
	hoist_config_reader_close(&r);
	return rc;
}

int hoist_config_load_local_offers(const char *path, json_t **out,
				   struct hoist_err *err)
{
	struct hoist_buf buf;
	int rc;

	hoist_buf_init(&buf, HOIST_CONFIG_FILE_MAX);
	rc = hoist_config_read_file(path, &buf, err);
	if (rc == 0)
		rc = hoist_config_load_local_offers_buffer(path, buf.data,
							   buf.len, out, err);
	hoist_buf_release(&buf);
	return rc;
}
