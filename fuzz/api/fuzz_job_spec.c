/*
 * libFuzzer target for the job spec that hoistd accepts on POST /v1/jobs:
 * JSON decoding with the API's flags, then hoistd's own validation.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "orchestrator/daemon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_error_t jerr;
	json_t *spec = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES, &jerr);

	if (!spec)
		return 0;
	if (hoist_jobs_validate_spec(spec, &err) == 0) {
		/* What the reconciler reads from a valid spec must be there. */
		(void)hoist_jobs_spec_int(spec, "retry", "max_attempts", 20);
		(void)hoist_jobs_spec_number(spec, "profile",
					     "max_duration_hours", 0);
	}
	json_decref(spec);
	return 0;
}
