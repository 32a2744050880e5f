/*
 * fuzz_assignment.c - libFuzzer target for the parsers of untrusted agent
 * input: the assignment that POST /v1/agent/claim returns, and the lines of
 * the metrics file that the user command writes.
 *
 * The whole input is parsed as an assignment, then each line of it as a
 * metrics line.  The target aborts when a result breaks the parser's
 * contract; the sanitizers of the fuzz build catch crashes, leaks and
 * out-of-bounds reads.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/assignment.h"
#include "worker/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_assignment(const char *text, size_t len)
{
	struct hoist_assignment job;
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_assignment_parse(text, len, &job, &err) == 0) {
		if (job.argc == 0 || !job.argv[0] || job.argv[job.argc] ||
		    job.workdir[0] != '/' || job.attempt < 1)
			abort();
		hoist_assignment_release(&job);
	} else if (err.code != HOIST_E_INVALID || err.msg[0] == '\0') {
		abort();
	}
}

static void fuzz_metrics_lines(const char *text, size_t len)
{
	size_t start = 0;

	while (start <= len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct hoist_err err = HOIST_ERR_INIT;
		json_t *obj = NULL;
		int64_t step;
		int has_step;
		int rc;

		rc = hoist_metrics_parse_line(text + start, end - start, &obj,
					      &step, &has_step, &err);
		if (rc == 1 && (!json_is_object(obj) || (has_step && step < 0)))
			abort();
		if (rc != 1 && obj)
			abort();
		json_decref(obj);
		start = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_assignment((const char *)data, size);
	fuzz_metrics_lines((const char *)data, size);
	return 0;
}
