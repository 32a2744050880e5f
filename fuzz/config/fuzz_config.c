/*
 * libFuzzer target for the YAML configuration loaders.
 *
 * Each input is loaded as a GPU profiles file, a job file (against fixed
 * profiles), a local offers file, and, when short enough, as a duration.
 * A loader may reject the input, but it must not crash, hang, leak or
 * read out of bounds, and on success it must return the JSON type it
 * documents.  Run from the source tree, with a known libfyaml leak
 * suppressed (see lsan.supp):
 *
 *   ASAN_OPTIONS=fast_unwind_on_malloc=0 \
 *   LSAN_OPTIONS=suppressions=fuzz/config/lsan.supp \
 *   BUILD/fuzz/config/fuzz_config -max_total_time=60 -timeout=5 \
 *       NEW_CORPUS_DIR fuzz/config/corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_profiles[] =
	"profiles:\n"
	"  dev-test:\n"
	"    gpu_name: \"RTX 4090\"\n"
	"    num_gpus: 1\n"
	"    max_dph: 0.40\n"
	"    reliability_min: 0.95\n"
	"    max_duration_hours: 2\n"
	"    interruptible: true\n";

/* Maximum length of an input that is also parsed as a duration. */
#define DURATION_INPUT_MAX 64

static json_t *profiles_for_jobs(void)
{
	static json_t *profiles;

	if (!profiles) {
		struct hoist_err err = HOIST_ERR_INIT;

		if (hoist_config_load_profiles_buffer("fixed.yaml",
						      fixed_profiles,
						      strlen(fixed_profiles),
						      &profiles, &err) != 0)
			abort();
	}
	return profiles;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *out = NULL;

	if (hoist_config_load_profiles_buffer("fuzz.yaml", text, size, &out,
					      &err) == 0) {
		if (!json_is_object(out))
			abort();
		json_decref(out);
		out = NULL;
	} else if (err.code == HOIST_OK || out) {
		abort();
	}

	hoist_err_clear(&err);
	if (hoist_config_load_job_buffer("fuzz.yaml", text, size,
					 profiles_for_jobs(), &out,
					 &err) == 0) {
		if (!json_is_object(out))
			abort();
		json_decref(out);
		out = NULL;
	} else if (err.code == HOIST_OK || out) {
		abort();
	}

	hoist_err_clear(&err);
	if (hoist_config_load_local_offers_buffer("fuzz.yaml", text, size,
						  &out, &err) == 0) {
		if (!json_is_array(out))
			abort();
		json_decref(out);
		out = NULL;
	} else if (err.code == HOIST_OK || out) {
		abort();
	}

	if (size <= DURATION_INPUT_MAX) {
		char duration[DURATION_INPUT_MAX + 1];
		int64_t ms = 0;

		memcpy(duration, data, size);
		duration[size] = '\0';
		hoist_err_clear(&err);
		if (hoist_config_parse_duration_ms(duration, &ms, &err) == 0 &&
		    ms < 0)
			abort();
	}
	return 0;
}
