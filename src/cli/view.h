/*
 * view.h - the readable layouts of the job and instance records that
 * hoistd returns (docs/protocol.md, "Job record").  Fields that are
 * missing or null show as "-", so a newer or older hoistd still prints.
 *
 * Each function writes to out and returns 0, or -1 with err filled when
 * memory runs out.  now_ms is the wall clock used for ages.
 */
#ifndef HOIST_CLI_VIEW_H
#define HOIST_CLI_VIEW_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/err.h"

/* The full layout of "hoist show": fields, attempts and checkpoints. */
int hoist_cli_view_job(FILE *out, const json_t *job, int64_t now_ms,
		       struct hoist_err *err);

/* The end summary of "hoist run": final state and end reason, counts,
 * last step, cost and the attempts table. */
int hoist_cli_view_summary(FILE *out, const json_t *job,
			   struct hoist_err *err);

/* The attempts array of a job record as a table. */
int hoist_cli_view_attempts(FILE *out, const json_t *attempts,
			    const char *indent, struct hoist_err *err);

/* The checkpoints array of a job record as a table of STEP, ATTEMPT,
 * FILES, BYTES, COMMITTED and MANIFEST, for "hoist show" and
 * "hoist ckpt ls". */
int hoist_cli_view_checkpoints(FILE *out, const json_t *checkpoints,
			       const char *indent, struct hoist_err *err);

/* The table of "hoist jobs": ID, NAME, STATE, ATTEMPTS, STEP, COST, AGE. */
int hoist_cli_view_jobs(FILE *out, const json_t *jobs, int64_t now_ms,
			struct hoist_err *err);

/* The table of "hoist instances". */
int hoist_cli_view_instances(FILE *out, const json_t *instances,
			     int64_t now_ms, struct hoist_err *err);

/* Returns the number of attempts of a job record: the length of its
 * "attempts" array, else its "attempt_count" (list items carry only
 * that); -1 when neither is there. */
int64_t hoist_cli_view_attempt_count(const json_t *job);

#endif
