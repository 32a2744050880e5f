/*
 * attempts.c - what an agent's calls do to its attempt and job.
 *
 * api.c decodes the HTTP requests and calls these; keeping the decisions
 * here lets the unit tests drive the state machine without a socket.  The
 * caller has already matched the agent's token to live, so a fenced agent
 * never reaches this file.
 */
#include "orchestrator/daemon.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "storage/checkpoint.h"

/* The maximum wait before the attempt after a failed one. */
#define RETRY_DELAY_MAX_MS (5 * 60 * 1000)

struct last_checkpoint {
	struct hoist_checkpoint_record rec;
	int found;
};

static int keep_last_checkpoint(const struct hoist_checkpoint_record *c,
				void *arg)
{
	struct last_checkpoint *last = arg;

	if (!last->found || c->step > last->rec.step) {
		last->rec = *c;
		last->found = 1;
	}
	return 0;
}

int hoist_attempts_claim(struct hoist_daemon *daemon,
			 struct hoist_live_job *live,
			 struct hoist_checkpoint_record *resume_from,
			 int *has_resume, struct hoist_err *err)
{
	struct last_checkpoint last = { .found = 0 };

	if (daemon->store->ops->list_checkpoints(daemon->store, live->job.id,
						 keep_last_checkpoint, &last,
						 err))
		return -1;
	*has_resume = last.found;
	if (last.found)
		*resume_from = last.rec;
	live->heartbeat_mono = hoist_clock_mono_ms();
	if (live->attempt.state == HOIST_ATTEMPT_RUNNING)
		return 0;	/* a restarted agent claims again */

	live->attempt.state = HOIST_ATTEMPT_RUNNING;
	live->attempt.started_at = hoist_clock_now_ms();
	live->attempt.resumed_from_step = last.found ? last.rec.step : -1;
	live->phase_mono = live->heartbeat_mono;
	if (hoist_jobs_set_state(daemon, live, HOIST_JOB_RUNNING, NULL, err))
		return -1;
	if (last.found)
		hoist_log_info("job=%s attempt %d claimed by its agent, "
			       "resuming from step %lld", live->job.id,
			       live->attempt.number, (long long)last.rec.step);
	else
		hoist_log_info("job=%s attempt %d claimed by its agent, fresh "
			       "start", live->job.id, live->attempt.number);
	return 0;
}

/* Delays the next attempt after a failed one, so that a fault that lasts
 * more than a few seconds, such as an artifact store that does not
 * respond, does not use up the job's failures at once.  The delay doubles with
 * each failure, up to RETRY_DELAY_MAX_MS. */
static void delay_next_attempt(struct hoist_daemon *daemon,
			       struct hoist_live_job *live)
{
	int64_t delay = daemon->settings.retry_delay_ms;

	for (int64_t i = 1; i < live->job.failures &&
	     delay < RETRY_DELAY_MAX_MS; i++)
		delay *= 2;
	if (delay > RETRY_DELAY_MAX_MS)
		delay = RETRY_DELAY_MAX_MS;
	live->retry_mono = hoist_clock_mono_ms() + delay;
	hoist_log_info("job=%s next attempt in %lld ms after %lld failed "
		       "attempt%s", live->job.id, (long long)delay,
		       (long long)live->job.failures,
		       live->job.failures == 1 ? "" : "s");
}

/* Copies the UTF-8 text src into out (size bytes), cut short at a
 * character boundary when it does not fit. */
static void copy_utf8(char *out, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(out, src, len);
	out[len] = '\0';
}

int hoist_attempts_heartbeat(struct hoist_live_job *live, const char *state,
			     int64_t step, json_t *metrics)
{
	live->heartbeat_mono = hoist_clock_mono_ms();
	live->attempt.last_heartbeat_at = hoist_clock_now_ms();
	if (state)
		snprintf(live->agent_state, sizeof(live->agent_state), "%s",
			 state);
	if (step >= 0) {
		live->attempt.last_step = step;
		live->job.last_step = step;
	}
	if (metrics) {
		json_decref(live->job.metrics);
		live->job.metrics = json_incref(metrics);
	}
	live->dirty = 1;
	return live->stop_reason[0] != '\0';
}

struct retention_ctx {
	struct hoist_checkpoint_record *items;
	size_t count;
	size_t cap;
};

static int collect_checkpoint(const struct hoist_checkpoint_record *c,
			      void *arg)
{
	struct retention_ctx *ctx = arg;

	if (ctx->count == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 8;
		void *items = realloc(ctx->items, cap * sizeof(*ctx->items));

		if (!items)
			return 1;
		ctx->items = items;
		ctx->cap = cap;
	}
	ctx->items[ctx->count++] = *c;
	return 0;
}

/* Deletes the oldest committed checkpoints beyond the job's "keep": first
 * the record, so that no restore can pick one whose files are going. */
static void apply_retention(struct hoist_daemon *daemon,
			    struct hoist_live_job *live)
{
	int64_t keep = hoist_jobs_spec_int(live->job.spec, "checkpoint",
					   "keep", 3);
	struct retention_ctx ctx = { NULL, 0, 0 };
	struct hoist_err err = HOIST_ERR_INIT;

	if (daemon->store->ops->list_checkpoints(daemon->store, live->job.id,
						 collect_checkpoint, &ctx,
						 &err))
		goto out;
	for (size_t i = 0; i + (size_t)keep < ctx.count; i++) {
		const struct hoist_checkpoint_record *old = &ctx.items[i];

		if (daemon->store->ops->delete_checkpoint(daemon->store,
							  live->job.id,
							  old->step, &err))
			goto out;
		if (daemon->artifacts &&
		    hoist_checkpoint_remove(daemon->artifacts,
					    old->manifest_key, &err))
			goto out;
		hoist_log_debug("job=%s checkpoint at step %lld removed by "
				"retention", live->job.id,
				(long long)old->step);
	}
out:
	if (err.code)
		hoist_log_warn("job=%s checkpoint retention failed: %s",
			       live->job.id, err.msg);
	free(ctx.items);
}

int hoist_attempts_commit_checkpoint(struct hoist_daemon *daemon,
				     struct hoist_live_job *live,
				     const struct hoist_checkpoint_record *rec,
				     int *committed, struct hoist_err *err)
{
	struct hoist_checkpoint_record stored = *rec;

	*committed = 0;
	if (rec->step <= live->last_committed_step)
		return 0;
	snprintf(stored.job_id, sizeof(stored.job_id), "%s", live->job.id);
	stored.attempt = live->attempt.number;
	stored.committed_at = hoist_clock_now_ms();
	if (daemon->store->ops->put_checkpoint(daemon->store, &stored, err))
		return -1;
	live->last_committed_step = stored.step;
	*committed = 1;
	hoist_log_info("job=%s checkpoint committed: step=%lld attempt=%d "
		       "files=%lld bytes=%lld", live->job.id,
		       (long long)stored.step, stored.attempt,
		       (long long)stored.files, (long long)stored.bytes);
	apply_retention(daemon, live);
	return 0;
}

int hoist_attempts_report_exit(struct hoist_daemon *daemon,
			       struct hoist_live_job *live,
			       const struct hoist_exit_report *report,
			       struct hoist_err *err)
{
	int64_t max_failures = hoist_jobs_spec_int(live->job.spec, "retry",
						   "max_failures", 2);
	const char *job_reason = NULL;
	const char *reason;
	int state;

	if (report->last_step >= 0) {
		live->attempt.last_step = report->last_step;
		live->job.last_step = report->last_step;
	}
	live->attempt.exit_code = report->exit_code;
	if (report->error)
		copy_utf8(live->attempt.error, sizeof(live->attempt.error),
			  report->error);
	hoist_log_info("job=%s attempt %d agent reported exit: code=%d "
		       "signal=%d preempted=%s%s%s", live->job.id,
		       live->attempt.number, report->exit_code, report->signal,
		       report->preempted ? "yes" : "no",
		       report->error ? " error=" : "",
		       report->error ? report->error : "");

	if (strcmp(live->stop_reason, "cancelled") == 0) {
		reason = "cancelled";
		state = HOIST_JOB_CANCELLED;
		job_reason = "cancelled_by_user";
	} else if (strcmp(live->stop_reason, "max_duration") == 0) {
		reason = "max_duration";
		state = HOIST_JOB_FAILED;
		job_reason = "max_duration";
	} else if (report->preempted) {
		/* The command may exit 0 after saving on SIGTERM: that is
		 * not completion, the job goes on elsewhere. */
		reason = "preempted";
		state = HOIST_JOB_RECOVERING;
	} else if (report->exit_code == 0 && report->signal == 0) {
		reason = "completed";
		state = HOIST_JOB_SUCCEEDED;
		job_reason = "completed";
	} else {
		reason = "command_failed";
		live->job.failures++;
		if (live->job.failures > max_failures) {
			state = HOIST_JOB_FAILED;
			job_reason = "too_many_failures";
		} else {
			state = HOIST_JOB_RECOVERING;
			delay_next_attempt(daemon, live);
		}
	}
	if (hoist_jobs_end_attempt(daemon, live, reason, err))
		return -1;
	return hoist_jobs_set_state(daemon, live, state, job_reason, err);
}
