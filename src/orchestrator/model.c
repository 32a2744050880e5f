/*
 * model.c - state names and small helpers of the hoistd records.
 *
 * The names are the ones of docs/protocol.md; the store writes them into
 * its state columns, so renaming one needs a schema migration.
 */
#include "orchestrator/model.h"

#include <stddef.h>
#include <string.h>

#define UNKNOWN_STATE_NAME "unknown"

static const char *const job_state_names[] = {
	[HOIST_JOB_QUEUED] = "queued",
	[HOIST_JOB_PROVISIONING] = "provisioning",
	[HOIST_JOB_STARTING] = "starting",
	[HOIST_JOB_RUNNING] = "running",
	[HOIST_JOB_RECOVERING] = "recovering",
	[HOIST_JOB_SUCCEEDED] = "succeeded",
	[HOIST_JOB_FAILED] = "failed",
	[HOIST_JOB_CANCELLED] = "cancelled",
};

static const char *const attempt_state_names[] = {
	[HOIST_ATTEMPT_PROVISIONING] = "provisioning",
	[HOIST_ATTEMPT_STARTING] = "starting",
	[HOIST_ATTEMPT_RUNNING] = "running",
	[HOIST_ATTEMPT_ENDED] = "ended",
};

static const char *const instance_state_names[] = {
	[HOIST_INSTANCE_CREATING] = "creating",
	[HOIST_INSTANCE_RUNNING] = "running",
	[HOIST_INSTANCE_DESTROYING] = "destroying",
	[HOIST_INSTANCE_DESTROYED] = "destroyed",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup_name(const char *const *names, size_t count,
			       int state)
{
	if (state < 0 || (size_t)state >= count)
		return UNKNOWN_STATE_NAME;
	return names[state];
}

static int lookup_state(const char *const *names, size_t count,
			const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

const char *hoist_model_job_state_name(int state)
{
	return lookup_name(job_state_names, COUNT_OF(job_state_names), state);
}

int hoist_model_job_state_parse(const char *name)
{
	return lookup_state(job_state_names, COUNT_OF(job_state_names), name);
}

const char *hoist_model_attempt_state_name(int state)
{
	return lookup_name(attempt_state_names, COUNT_OF(attempt_state_names),
			   state);
}

int hoist_model_attempt_state_parse(const char *name)
{
	return lookup_state(attempt_state_names,
			    COUNT_OF(attempt_state_names), name);
}

const char *hoist_model_instance_state_name(int state)
{
	return lookup_name(instance_state_names,
			   COUNT_OF(instance_state_names), state);
}

int hoist_model_instance_state_parse(const char *name)
{
	return lookup_state(instance_state_names,
			    COUNT_OF(instance_state_names), name);
}

int hoist_model_job_state_is_final(int state)
{
	return state == HOIST_JOB_SUCCEEDED || state == HOIST_JOB_FAILED ||
	       state == HOIST_JOB_CANCELLED;
}

void hoist_model_job_release(struct hoist_job_record *job)
{
	if (!job)
		return;
	json_decref(job->spec);
	job->spec = NULL;
	json_decref(job->metrics);
	job->metrics = NULL;
}

double hoist_model_instance_cost(const struct hoist_instance_record *inst,
				 int64_t now_ms)
{
	int64_t end_ms;
	double cost;

	if (inst && inst->billed)
		return inst->billed_usd > 0.0 ? inst->billed_usd : 0.0;
	if (!inst || inst->created_at == 0)
		return 0.0;
	end_ms = inst->destroyed_at != 0 ? inst->destroyed_at : now_ms;
	if (end_ms <= inst->created_at)
		return 0.0;

	/* !(x > 0) also rejects NaN. */
	if (!(inst->price_per_hour > 0.0))
		return 0.0;
	cost = (double)(end_ms - inst->created_at) / 1000.0 *
	       inst->price_per_hour / 3600.0;
	return cost;
}
