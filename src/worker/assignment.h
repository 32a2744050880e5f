/*
 * assignment.h - the assignment that hoistd returns to POST /v1/agent/claim.
 *
 * The parser validates every field the agent uses and ignores unknown ones,
 * so a newer hoistd can add fields.  Each error names the field, the value
 * and the accepted range.
 */
#ifndef HOIST_ASSIGNMENT_H
#define HOIST_ASSIGNMENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

#define HOIST_ASSIGNMENT_JOB_ID_MAX 63
#define HOIST_ASSIGNMENT_ARGS_MAX 4096
#define HOIST_ASSIGNMENT_ENV_MAX 4096
#define HOIST_ASSIGNMENT_STRING_MAX 65536
#define HOIST_ASSIGNMENT_GRACE_MAX 86400
#define HOIST_ASSIGNMENT_HEARTBEAT_MIN_MS 100
#define HOIST_ASSIGNMENT_HEARTBEAT_MAX_MS 600000
#define HOIST_ASSIGNMENT_KEY_MAX 511

struct hoist_assignment_resume {
	int64_t step;
	char manifest_key[HOIST_ASSIGNMENT_KEY_MAX + 1];
	char manifest_sha256[65];	/* lowercase hex */
};

/* Maximum number of inputs, and of outputs, of one job (the job file
 * loader allows the same). */
#define HOIST_ASSIGNMENT_PATHS_MAX 64

/* A staged input: the dataset manifest to restore and where it goes. */
struct hoist_assignment_input {
	char manifest_key[HOIST_ASSIGNMENT_KEY_MAX + 1];
	char manifest_sha256[65];	/* lowercase hex */
	char *to;			/* owned, relative to workdir */
};

struct hoist_assignment {
	char job_id[HOIST_ASSIGNMENT_JOB_ID_MAX + 1];
	int attempt;			/* from 1 */
	char **argv;			/* owned, NULL-terminated, argc >= 1 */
	size_t argc;
	char *workdir;			/* owned, absolute */
	char **env_names;		/* owned, nenv entries */
	char **env_values;		/* owned, nenv entries */
	size_t nenv;
	int grace_seconds;
	int checkpoint_interval_seconds;
	int heartbeat_interval_ms;
	char *storage_url;		/* owned */
	int has_resume;			/* 0 on a fresh start */
	struct hoist_assignment_resume resume;
	struct hoist_assignment_input *inputs;	/* owned, ninputs entries */
	size_t ninputs;
	char **outputs;			/* owned, relative to workdir */
	size_t noutputs;
};

/*
 * Validates the claim response doc and fills out.  Returns 0, or -1 with
 * HOIST_E_INVALID in err naming the first invalid field; out is then empty
 * and needs no release.  On success the caller releases out with
 * hoist_assignment_release().
 */
int hoist_assignment_from_json(const json_t *doc, struct hoist_assignment *out,
			       struct hoist_err *err);

/* Parses JSON text of len bytes, then validates it like
 * hoist_assignment_from_json(). */
int hoist_assignment_parse(const char *text, size_t len,
			   struct hoist_assignment *out, struct hoist_err *err);

/* Frees what out owns and zeroes it; safe on a zeroed struct. */
void hoist_assignment_release(struct hoist_assignment *out);

/* Returns 1 if name is a valid environment variable name
 * ([A-Za-z_][A-Za-z0-9_]*, at most 255 bytes), 0 otherwise. */
int hoist_assignment_env_name_valid(const char *name);

#endif
