/*
 * model.h - the records hoistd keeps: jobs, attempts, checkpoints and
 * instances.  hoistd keeps the live ones in memory and writes every change
 * through the store (store.h); times are ms since the Unix epoch, 0 = unset.
 */
#ifndef HOIST_MODEL_H
#define HOIST_MODEL_H

#include <stdint.h>

#include <jansson.h>

enum hoist_job_state {
	HOIST_JOB_QUEUED = 0,
	HOIST_JOB_PROVISIONING,
	HOIST_JOB_STARTING,
	HOIST_JOB_RUNNING,
	HOIST_JOB_RECOVERING,
	HOIST_JOB_SUCCEEDED,
	HOIST_JOB_FAILED,
	HOIST_JOB_CANCELLED,
};

enum hoist_attempt_state {
	HOIST_ATTEMPT_PROVISIONING = 0,	/* instance being created */
	HOIST_ATTEMPT_STARTING,		/* instance up, agent not claimed yet */
	HOIST_ATTEMPT_RUNNING,		/* agent claimed and heartbeats */
	HOIST_ATTEMPT_ENDED,
};

enum hoist_instance_state {
	HOIST_INSTANCE_CREATING = 0,
	HOIST_INSTANCE_RUNNING,
	HOIST_INSTANCE_DESTROYING,
	HOIST_INSTANCE_DESTROYED,
};

#define HOIST_ID_MAX 64
#define HOIST_REASON_MAX 64
#define HOIST_TOKEN_HEX 64	/* 32 random bytes */

struct hoist_job_record {
	char id[HOIST_ID_MAX];		/* "j-" and 8 hex digits */
	char name[128];
	char team[64];
	char project[64];
	int state;			/* enum hoist_job_state */
	char end_reason[HOIST_REASON_MAX];	/* "" until the job ends */
	json_t *spec;			/* owned: the validated job spec */
	int64_t created_at;
	int64_t updated_at;
	int64_t ended_at;
	int attempts;			/* attempts created so far */
	int failures;			/* attempts that ended command_failed */
	int64_t last_step;		/* -1 when unknown */
	json_t *metrics;		/* owned: last metrics object, or NULL */
};

#define HOIST_ATTEMPT_ERROR_MAX 512

struct hoist_attempt_record {
	char job_id[HOIST_ID_MAX];
	int number;			/* the epoch, from 1 */
	int state;			/* enum hoist_attempt_state */
	char token_sha256[65];		/* the token itself is never stored */
	char instance_id[HOIST_ID_MAX];	/* hoist's instance id, "" if none */
	int64_t created_at;
	int64_t started_at;		/* agent claim */
	int64_t ended_at;
	char end_reason[HOIST_REASON_MAX];
	int64_t resumed_from_step;	/* -1 on a fresh start */
	int64_t last_step;		/* -1 when unknown */
	int64_t last_heartbeat_at;	/* flushed in batches */
	int exit_code;			/* -1 unless the agent reported one */
	/* Error the agent reported with its exit, such as a failed restore
	 * or a missing output, cut to fit.  "" when it reported none. */
	char error[HOIST_ATTEMPT_ERROR_MAX];
};

struct hoist_checkpoint_record {
	char job_id[HOIST_ID_MAX];
	int64_t step;
	int attempt;
	char manifest_key[512];
	char manifest_sha256[65];
	int64_t files;
	int64_t bytes;
	int64_t committed_at;
};

struct hoist_instance_record {
	char id[HOIST_ID_MAX];		/* the provider's instance id */
	char provider[32];
	char label[128];
	char job_id[HOIST_ID_MAX];
	int attempt;
	int state;			/* enum hoist_instance_state */
	char offer[64];
	char gpu_name[64];
	double price_per_hour;		/* verified rate, USD */
	int64_t created_at;
	int64_t destroyed_at;		/* confirmed destruction */
	int billed;			/* billed_usd is the provider's charge */
	double billed_usd;		/* what the provider billed, USD */
};

/* The name functions return "unknown" for a value outside the enum. */
const char *hoist_model_job_state_name(int state);
/* Returns the state for name, or -1. */
int hoist_model_job_state_parse(const char *name);
const char *hoist_model_attempt_state_name(int state);
int hoist_model_attempt_state_parse(const char *name);
const char *hoist_model_instance_state_name(int state);
int hoist_model_instance_state_parse(const char *name);

/* Returns 1 for succeeded, failed and cancelled. */
int hoist_model_job_state_is_final(int state);

/* Releases the JSON members of job (not job itself) and sets them to
 * NULL, so a second call is harmless. */
void hoist_model_job_release(struct hoist_job_record *job);

/* Returns the cost in USD of an instance: billed_usd once the provider's
 * charge is known, else the estimate from creation to destruction (or to
 * now_ms while it exists) at its verified rate.  The estimate is 0 when
 * created_at is unset or the rate is not positive, and never negative. */
double hoist_model_instance_cost(const struct hoist_instance_record *inst,
				 int64_t now_ms);

#endif
