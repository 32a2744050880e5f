/*
 * reconcile.c - the monitor of hoistd.
 *
 * Every tick compares the jobs, attempts and instances in the store with
 * the provider's instance list and the agents' heartbeats, and acts on the
 * difference.  It starts the next attempt of a queued or recovering job,
 * ends an attempt whose agent went silent on an instance the provider
 * reports lost, adopts an instance that belongs to a live attempt, and
 * destroys every other instance that carries this orchestrator's label.
 * A restarted hoistd therefore needs no recovery code of its own.
 */
#include "orchestrator/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"

#define LOG_REPEAT_MS 30000

struct create_ctx {
	struct hoist_daemon *daemon;
	char job_id[HOIST_ID_MAX];
	int attempt;
};

struct destroy_ctx {
	struct hoist_daemon *daemon;
	char id[HOIST_ID_MAX];
};

static void log_store_error(const char *job_id, const struct hoist_err *err)
{
	hoist_log_error("job=%s cannot save state: %s", job_id, err->msg);
}

static int job_final_state(const char *reason, const char **job_reason)
{
	if (strcmp(reason, "cancelled") == 0) {
		*job_reason = "cancelled_by_user";
		return HOIST_JOB_CANCELLED;
	}
	*job_reason = reason;
	return HOIST_JOB_FAILED;
}

/* Ends the current attempt with reason and moves the job to state. */
static void end_attempt_and_set(struct hoist_daemon *daemon,
				struct hoist_live_job *live,
				const char *reason, int state,
				const char *job_reason)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_jobs_end_attempt(daemon, live, reason, &err) ||
	    hoist_jobs_set_state(daemon, live, state, job_reason, &err))
		log_store_error(live->job.id, &err);
}

void hoist_reconcile_stop_job(struct hoist_daemon *daemon,
			      struct hoist_live_job *live, const char *reason)
{
	const char *job_reason;
	int state;

	if (hoist_model_job_state_is_final(live->job.state) ||
	    live->stop_reason[0])
		return;
	if (live->has_attempt && live->attempt.state == HOIST_ATTEMPT_RUNNING) {
		snprintf(live->stop_reason, sizeof(live->stop_reason), "%s",
			 reason);
		live->stop_mono = hoist_clock_mono_ms();
		hoist_log_info("job=%s stop requested (%s): the agent of "
			       "attempt %d gets the grace period to save a "
			       "checkpoint", live->job.id, reason,
			       live->attempt.number);
		return;
	}
	state = job_final_state(reason, &job_reason);
	end_attempt_and_set(daemon, live, reason, state, job_reason);
}

static void on_destroyed(void *arg, const struct hoist_err *err,
			 const struct hoist_provider_instance *unused)
{
	struct destroy_ctx *ctx = arg;
	struct hoist_daemon *daemon = ctx->daemon;
	struct hoist_live_instance *inst = hoist_jobs_find_instance(daemon,
								   ctx->id);
	struct hoist_err store_err = HOIST_ERR_INIT;
	struct hoist_instance_record rec;
	int64_t now = hoist_clock_mono_ms();

	(void)unused;
	if (!inst)
		goto out;
	inst->destroy_inflight = 0;
	if (err && err->code) {
		if (now - inst->destroy_error_mono > LOG_REPEAT_MS) {
			hoist_log_warn("job=%s cannot destroy instance %s yet, "
				       "retrying every tick: %s",
				       inst->rec.job_id, inst->rec.id,
				       err->msg);
			inst->destroy_error_mono = now;
		}
		goto out;
	}
	rec = inst->rec;
	rec.state = HOIST_INSTANCE_DESTROYED;
	rec.destroyed_at = hoist_clock_now_ms();
	if (hoist_jobs_put_instance(daemon, &rec, &store_err))
		log_store_error(rec.job_id, &store_err);
	else
		hoist_log_info("job=%s instance %s destroyed (attempt %d, "
			       "cost $%.4f)", rec.job_id, rec.id, rec.attempt,
			       hoist_model_instance_cost(&rec, rec.destroyed_at));
out:
	free(ctx);
}

void hoist_reconcile_destroy_instance(struct hoist_daemon *daemon,
				      struct hoist_live_instance *inst)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct destroy_ctx *ctx;

	if (inst->destroy_inflight)
		return;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return;
	ctx->daemon = daemon;
	snprintf(ctx->id, sizeof(ctx->id), "%s", inst->rec.id);
	if (daemon->provider->ops->destroy(daemon->provider, inst->rec.id,
					   on_destroyed, ctx, &err)) {
		hoist_log_warn("job=%s cannot start destroying instance %s: %s",
			       inst->rec.job_id, inst->rec.id, err.msg);
		free(ctx);
		return;
	}
	inst->destroy_inflight = 1;
}

/* Tracks an instance hoistd did not expect and destroys it. */
static void reap_instance(struct hoist_daemon *daemon,
			  const struct hoist_provider_instance *p,
			  const char *job_id, int attempt)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_instance_record rec;
	struct hoist_live_instance *inst;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.id, sizeof(rec.id), "%s", p->id);
	snprintf(rec.provider, sizeof(rec.provider), "%s",
		 daemon->provider->ops->name);
	snprintf(rec.label, sizeof(rec.label), "%s", p->label);
	snprintf(rec.job_id, sizeof(rec.job_id), "%s", job_id);
	rec.attempt = attempt;
	rec.state = HOIST_INSTANCE_DESTROYING;
	snprintf(rec.offer, sizeof(rec.offer), "%s", p->offer);
	snprintf(rec.gpu_name, sizeof(rec.gpu_name), "%s", p->gpu_name);
	rec.price_per_hour = p->price_per_hour;
	rec.created_at = p->created_at_ms ? p->created_at_ms :
					    hoist_clock_now_ms();
	if (hoist_jobs_put_instance(daemon, &rec, &err)) {
		log_store_error(job_id, &err);
		return;
	}
	hoist_log_warn("job=%s instance %s (label %s) belongs to no live "
		       "attempt: destroying it", job_id, p->id, p->label);
	inst = hoist_jobs_find_instance(daemon, rec.id);
	if (inst) {
		inst->added_mono = hoist_clock_mono_ms();
		inst->seen = 1;
		hoist_reconcile_destroy_instance(daemon, inst);
	}
}

/* Parses "<prefix><job>-a<n>"; returns 0 on success. */
static int parse_label(const struct hoist_daemon *daemon, const char *label,
		       char *job_id, size_t job_len, int *attempt)
{
	size_t prefix_len = strlen(daemon->label_prefix);
	const char *rest;
	const char *dash;

	if (strncmp(label, daemon->label_prefix, prefix_len) != 0)
		return -1;
	rest = label + prefix_len;
	dash = strstr(rest, "-a");
	while (dash && strstr(dash + 1, "-a"))
		dash = strstr(dash + 1, "-a");
	if (!dash || (size_t)(dash - rest) >= job_len)
		return -1;
	memcpy(job_id, rest, (size_t)(dash - rest));
	job_id[dash - rest] = '\0';
	*attempt = atoi(dash + 2);
	return *attempt > 0 ? 0 : -1;
}

/* Adopts an instance of a live attempt that hoistd did not record (it was
 * killed between the provider's create and its own write), or reaps it. */
static void adopt_or_reap(struct hoist_daemon *daemon,
			  const struct hoist_provider_instance *p)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_instance_record rec;
	struct hoist_live_job *live;
	char job_id[HOIST_ID_MAX] = "";
	int attempt = 0;

	if (parse_label(daemon, p->label, job_id, sizeof(job_id), &attempt)) {
		reap_instance(daemon, p, "-", 0);
		return;
	}
	live = hoist_jobs_find(daemon, job_id);
	/* Listed before its create call returned: the callback records it. */
	if (live && live->has_attempt && live->attempt.number == attempt &&
	    live->provisioning)
		return;
	if (!live || !live->has_attempt || live->attempt.number != attempt ||
	    live->attempt.state == HOIST_ATTEMPT_ENDED ||
	    live->attempt.instance_id[0] ||
	    hoist_model_job_state_is_final(live->job.state)) {
		reap_instance(daemon, p, job_id, attempt);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.id, sizeof(rec.id), "%s", p->id);
	snprintf(rec.provider, sizeof(rec.provider), "%s",
		 daemon->provider->ops->name);
	snprintf(rec.label, sizeof(rec.label), "%s", p->label);
	snprintf(rec.job_id, sizeof(rec.job_id), "%s", job_id);
	rec.attempt = attempt;
	rec.state = HOIST_INSTANCE_RUNNING;
	snprintf(rec.offer, sizeof(rec.offer), "%s", p->offer);
	snprintf(rec.gpu_name, sizeof(rec.gpu_name), "%s", p->gpu_name);
	rec.price_per_hour = p->price_per_hour;
	rec.created_at = p->created_at_ms;
	snprintf(live->attempt.instance_id, sizeof(live->attempt.instance_id),
		 "%s", p->id);
	if (hoist_jobs_put_instance(daemon, &rec, &err) ||
	    hoist_jobs_save(daemon, live, &err)) {
		log_store_error(job_id, &err);
		return;
	}
	hoist_log_info("job=%s adopted instance %s of attempt %d", job_id,
		       p->id, attempt);
}

static void on_list(void *arg, const struct hoist_err *err,
		    const struct hoist_provider_instance *list, size_t count)
{
	struct hoist_daemon *daemon = arg;
	struct hoist_err store_err = HOIST_ERR_INIT;
	int64_t now = hoist_clock_mono_ms();

	daemon->list_inflight = 0;
	if (err && err->code) {
		if (now - daemon->list_error_mono > LOG_REPEAT_MS) {
			hoist_log_warn("cannot list provider instances: %s",
				       err->msg);
			daemon->list_error_mono = now;
		}
		return;
	}
	for (struct hoist_live_instance *inst = daemon->instances; inst;
	     inst = inst->next)
		inst->seen = 0;
	for (size_t i = 0; i < count; i++) {
		const struct hoist_provider_instance *p = &list[i];
		struct hoist_live_instance *inst =
			hoist_jobs_find_instance(daemon, p->id);

		if (p->state == HOIST_PINST_GONE)
			continue;
		if (!inst) {
			adopt_or_reap(daemon, p);
			continue;
		}
		inst->seen = 1;
		inst->provider_state = p->state;
		snprintf(inst->provider_status, sizeof(inst->provider_status),
			 "%s", p->status);
		if (inst->rec.state == HOIST_INSTANCE_DESTROYING)
			hoist_reconcile_destroy_instance(daemon, inst);
	}

	/* What the provider no longer lists is gone: its cost stops now. */
	for (struct hoist_live_instance *inst = daemon->instances, *next;
	     inst; inst = next) {
		struct hoist_instance_record rec;

		next = inst->next;
		if (inst->seen || inst->destroy_inflight ||
		    inst->added_mono >= daemon->list_started_mono)
			continue;
		rec = inst->rec;
		hoist_log_info("job=%s instance %s is gone from the provider",
			       rec.job_id, rec.id);
		rec.state = HOIST_INSTANCE_DESTROYED;
		rec.destroyed_at = hoist_clock_now_ms();
		if (hoist_jobs_put_instance(daemon, &rec, &store_err))
			log_store_error(rec.job_id, &store_err);
	}
}

static void on_created(void *arg, const struct hoist_err *err,
		       const struct hoist_provider_instance *p)
{
	struct create_ctx *ctx = arg;
	struct hoist_daemon *daemon = ctx->daemon;
	struct hoist_live_job *live = hoist_jobs_find(daemon, ctx->job_id);
	struct hoist_err store_err = HOIST_ERR_INIT;
	struct hoist_instance_record rec;
	struct hoist_live_instance *inst;
	int current;

	if (live && live->has_attempt && live->attempt.number == ctx->attempt)
		live->provisioning = 0;
	current = live && live->has_attempt &&
		  live->attempt.number == ctx->attempt &&
		  live->attempt.state != HOIST_ATTEMPT_ENDED &&
		  !hoist_model_job_state_is_final(live->job.state);

	if (err && err->code) {
		hoist_log_warn("job=%s attempt %d: cannot create an instance: "
			       "%s", ctx->job_id, ctx->attempt, err->msg);
		if (live)
			snprintf(live->message, sizeof(live->message),
				 "attempt %d could not get an instance: %s",
				 ctx->attempt, err->msg);
		if (current && err->code == HOIST_E_NOT_FOUND)
			end_attempt_and_set(daemon, live, "no_offer",
					    HOIST_JOB_FAILED, "no_offer");
		else if (current)
			end_attempt_and_set(daemon, live, "provision_failed",
					    HOIST_JOB_RECOVERING, NULL);
		goto out;
	}

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.id, sizeof(rec.id), "%s", p->id);
	snprintf(rec.provider, sizeof(rec.provider), "%s",
		 daemon->provider->ops->name);
	snprintf(rec.label, sizeof(rec.label), "%s", p->label);
	snprintf(rec.job_id, sizeof(rec.job_id), "%s", ctx->job_id);
	rec.attempt = ctx->attempt;
	rec.state = current ? HOIST_INSTANCE_RUNNING :
			      HOIST_INSTANCE_DESTROYING;
	snprintf(rec.offer, sizeof(rec.offer), "%s", p->offer);
	snprintf(rec.gpu_name, sizeof(rec.gpu_name), "%s", p->gpu_name);
	rec.price_per_hour = p->price_per_hour;
	rec.created_at = p->created_at_ms ? p->created_at_ms :
					    hoist_clock_now_ms();
	if (hoist_jobs_put_instance(daemon, &rec, &store_err)) {
		log_store_error(ctx->job_id, &store_err);
		goto out;
	}
	inst = hoist_jobs_find_instance(daemon, rec.id);
	if (inst)
		inst->added_mono = hoist_clock_mono_ms();
	if (!current) {
		hoist_log_info("job=%s instance %s arrived after attempt %d "
			       "ended: destroying it", ctx->job_id, rec.id,
			       ctx->attempt);
		if (inst)
			hoist_reconcile_destroy_instance(daemon, inst);
		goto out;
	}
	snprintf(live->attempt.instance_id, sizeof(live->attempt.instance_id),
		 "%s", rec.id);
	if (live->attempt.state == HOIST_ATTEMPT_PROVISIONING) {
		live->attempt.state = HOIST_ATTEMPT_STARTING;
		live->phase_mono = hoist_clock_mono_ms();
	}
	if (live->job.state == HOIST_JOB_PROVISIONING) {
		if (hoist_jobs_set_state(daemon, live, HOIST_JOB_STARTING, NULL,
					 &store_err))
			log_store_error(ctx->job_id, &store_err);
	} else if (hoist_jobs_save(daemon, live, &store_err)) {
		log_store_error(ctx->job_id, &store_err);
	}
	hoist_log_info("job=%s attempt %d runs on instance %s (offer %s, %s, "
		       "$%.3f/h)", ctx->job_id, ctx->attempt, rec.id, rec.offer,
		       rec.gpu_name, rec.price_per_hour);
out:
	free(ctx);
}

/* Writes a shell word for value in single quotes. */
static int shell_quote(char *out, size_t outlen, const char *value)
{
	size_t n = 0;

	if (outlen < 3)
		return -1;
	out[n++] = '\'';
	for (const char *p = value; *p; p++) {
		if (*p == '\'') {
			if (n + 4 >= outlen)
				return -1;
			memcpy(out + n, "'\\''", 4);
			n += 4;
			continue;
		}
		if (n + 2 >= outlen)
			return -1;
		out[n++] = *p;
	}
	out[n++] = '\'';
	out[n] = '\0';
	return 0;
}

static void start_attempt(struct hoist_daemon *daemon,
			  struct hoist_live_job *live)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int64_t max_attempts = hoist_jobs_spec_int(live->job.spec, "retry",
						   "max_attempts", 20);
	struct hoist_attempt_record *attempt = &live->attempt;
	char token[HOIST_TOKEN_HEX + 1];
	char label[128];
	char env_url[320];
	char env_token[HOIST_TOKEN_HEX + 32];
	char env_job[HOIST_ID_MAX + 16];
	char env_attempt[32];
	char quoted[PATH_MAX + 64];
	char onstart[PATH_MAX + 128];
	const char *env[5];
	struct hoist_instance_request req;
	struct create_ctx *ctx;

	if (live->job.attempts >= max_attempts) {
		hoist_log_warn("job=%s reached its limit of %lld attempts",
			       live->job.id, (long long)max_attempts);
		end_attempt_and_set(daemon, live, "too_many_attempts",
				    HOIST_JOB_FAILED, "too_many_attempts");
		return;
	}
	if (hoist_util_random_hex(token, HOIST_TOKEN_HEX / 2, &err)) {
		hoist_log_error("job=%s cannot create an attempt token: %s",
				live->job.id, err.msg);
		return;
	}

	memset(attempt, 0, sizeof(*attempt));
	snprintf(attempt->job_id, sizeof(attempt->job_id), "%s", live->job.id);
	attempt->number = live->job.attempts + 1;
	attempt->state = HOIST_ATTEMPT_PROVISIONING;
	hoist_util_sha256_hex(token, strlen(token), attempt->token_sha256);
	attempt->created_at = hoist_clock_now_ms();
	attempt->resumed_from_step = -1;
	attempt->last_step = -1;
	attempt->exit_code = -1;
	live->has_attempt = 1;
	live->job.attempts = attempt->number;
	live->phase_mono = hoist_clock_mono_ms();
	live->heartbeat_mono = live->phase_mono;
	live->agent_state[0] = '\0';
	if (!live->first_start_ms)
		live->first_start_ms = attempt->created_at;
	if (hoist_jobs_set_state(daemon, live, HOIST_JOB_PROVISIONING, NULL,
				 &err)) {
		log_store_error(live->job.id, &err);
		goto out;
	}
	hoist_jobs_index_token(daemon, live);

	if (snprintf(label, sizeof(label), "%s%s-a%d", daemon->label_prefix,
		     live->job.id, attempt->number) >= (int)sizeof(label)) {
		hoist_log_error("job=%s instance label too long", live->job.id);
		goto out;
	}
	snprintf(env_url, sizeof(env_url), "HOIST_ORCHESTRATOR_URL=%s",
		 daemon->url);
	snprintf(env_token, sizeof(env_token), "HOIST_AGENT_TOKEN=%s", token);
	snprintf(env_job, sizeof(env_job), "HOIST_JOB_ID=%s", live->job.id);
	snprintf(env_attempt, sizeof(env_attempt), "HOIST_ATTEMPT=%d",
		 attempt->number);
	env[0] = env_url;
	env[1] = env_token;
	env[2] = env_job;
	env[3] = env_attempt;
	env[4] = NULL;
	if (shell_quote(quoted, sizeof(quoted), daemon->agent_path)) {
		hoist_log_error("job=%s agent path too long", live->job.id);
		goto out;
	}
	snprintf(onstart, sizeof(onstart), "#!/bin/sh\nexec %s\n", quoted);

	memset(&req, 0, sizeof(req));
	req.label = label;
	req.job_id = live->job.id;
	req.attempt = attempt->number;
	req.profile = json_object_get(live->job.spec, "profile");
	req.image = json_string_value(json_object_get(live->job.spec,
						      "image"));
	req.onstart = onstart;
	req.env = env;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		goto out;
	ctx->daemon = daemon;
	snprintf(ctx->job_id, sizeof(ctx->job_id), "%s", live->job.id);
	ctx->attempt = attempt->number;
	hoist_log_info("job=%s attempt %d provisioning (label %s)",
		       live->job.id, attempt->number, label);
	if (daemon->provider->ops->create(daemon->provider, &req, on_created,
					  ctx, &err)) {
		hoist_log_warn("job=%s attempt %d: cannot request an instance: "
			       "%s", live->job.id, attempt->number, err.msg);
		snprintf(live->message, sizeof(live->message),
			 "attempt %d could not get an instance: %s",
			 attempt->number, err.msg);
		free(ctx);
		end_attempt_and_set(daemon, live, "provision_failed",
				    HOIST_JOB_RECOVERING, NULL);
		goto out;
	}
	live->provisioning = 1;
out:
	memset(token, 0, sizeof(token));
	memset(env_token, 0, sizeof(env_token));
}

static int instance_lost(struct hoist_daemon *daemon,
			 const struct hoist_live_job *live)
{
	struct hoist_live_instance *inst;

	if (!live->attempt.instance_id[0])
		return 0;
	inst = hoist_jobs_find_instance(daemon, live->attempt.instance_id);
	if (!inst)
		return 1;
	return inst->seen && (inst->provider_state == HOIST_PINST_LOST ||
			      inst->provider_state == HOIST_PINST_EXITED ||
			      inst->provider_state == HOIST_PINST_GONE);
}

static void check_job(struct hoist_daemon *daemon, struct hoist_live_job *live,
		      int64_t now)
{
	const struct hoist_daemon_settings *s = &daemon->settings;
	double max_hours = hoist_jobs_spec_number(live->job.spec, "profile",
						  "max_duration_hours", 0);
	int64_t grace_ms = hoist_jobs_spec_int(live->job.spec, NULL,
					       "grace_seconds", 30) * 1000;
	int64_t silence = now - live->heartbeat_mono;
	const char *job_reason;

	if (hoist_model_job_state_is_final(live->job.state))
		return;
	if (max_hours > 0 && live->first_start_ms > 0 &&
	    hoist_clock_now_ms() - live->first_start_ms >
	    (int64_t)(max_hours * 3600e3) && !live->stop_reason[0]) {
		hoist_log_warn("job=%s exceeded its maximum duration of %.2f h",
			       live->job.id, max_hours);
		hoist_reconcile_stop_job(daemon, live, "max_duration");
		if (hoist_model_job_state_is_final(live->job.state))
			return;
	}
	if (live->stop_reason[0] && live->has_attempt &&
	    live->attempt.state == HOIST_ATTEMPT_RUNNING &&
	    now - live->stop_mono > grace_ms + s->stop_timeout_ms) {
		hoist_log_warn("job=%s agent did not report its exit after the "
			       "stop request: ending attempt %d", live->job.id,
			       live->attempt.number);
		int state = job_final_state(live->stop_reason, &job_reason);

		end_attempt_and_set(daemon, live, live->stop_reason, state,
				    job_reason);
		return;
	}

	switch (live->job.state) {
	case HOIST_JOB_PROVISIONING:
		/* A create that hoistd never heard back about (restart). */
		if (!live->provisioning && !live->attempt.instance_id[0] &&
		    now - live->phase_mono > s->start_timeout_ms)
			end_attempt_and_set(daemon, live, "start_timeout",
					    HOIST_JOB_RECOVERING, NULL);
		break;
	case HOIST_JOB_STARTING:
		if (now - live->phase_mono > s->start_timeout_ms) {
			hoist_log_warn("job=%s attempt %d: no agent claimed "
				       "instance %s within %d ms", live->job.id,
				       live->attempt.number,
				       live->attempt.instance_id,
				       s->start_timeout_ms);
			end_attempt_and_set(daemon, live, "start_timeout",
					    HOIST_JOB_RECOVERING, NULL);
		} else if (instance_lost(daemon, live)) {
			end_attempt_and_set(daemon, live, "lost",
					    HOIST_JOB_RECOVERING, NULL);
		}
		break;
	case HOIST_JOB_RUNNING:
		if (silence > s->heartbeat_timeout_ms &&
		    instance_lost(daemon, live)) {
			hoist_log_warn("job=%s attempt %d: no heartbeat for %lld "
				       "ms and the provider reports instance "
				       "%s lost", live->job.id,
				       live->attempt.number, (long long)silence,
				       live->attempt.instance_id);
			end_attempt_and_set(daemon, live, "lost",
					    HOIST_JOB_RECOVERING, NULL);
		} else if (silence > s->hung_timeout_ms) {
			hoist_log_warn("job=%s attempt %d: no heartbeat for %lld "
				       "ms although instance %s runs: ending "
				       "the attempt", live->job.id,
				       live->attempt.number, (long long)silence,
				       live->attempt.instance_id);
			end_attempt_and_set(daemon, live, "lost",
					    HOIST_JOB_RECOVERING, NULL);
		}
		break;
	default:
		break;
	}

	/* A job that just lost its attempt gets the next one at once, unless
	 * the attempt failed and the retry delay still runs. */
	if ((live->job.state == HOIST_JOB_QUEUED ||
	     live->job.state == HOIST_JOB_RECOVERING) && !live->provisioning &&
	    (!live->has_attempt ||
	     live->attempt.state == HOIST_ATTEMPT_ENDED) &&
	    now >= live->retry_mono)
		start_attempt(daemon, live);
}

void hoist_reconcile_tick(struct hoist_daemon *daemon)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int64_t now = hoist_clock_mono_ms();

	for (struct hoist_live_job *live = daemon->jobs; live;
	     live = live->next)
		check_job(daemon, live, now);
	hoist_jobs_forget_finished(daemon);

	if (daemon->list_inflight)
		return;
	daemon->list_started_mono = now;
	if (daemon->provider->ops->list(daemon->provider, daemon->label_prefix,
					on_list, daemon, &err)) {
		if (now - daemon->list_error_mono > LOG_REPEAT_MS) {
			hoist_log_warn("cannot list provider instances: %s",
				       err.msg);
			daemon->list_error_mono = now;
		}
		return;
	}
	daemon->list_inflight = 1;
}
