/*
 * jobs.c - the live jobs of hoistd and their state machine.
 *
 * A job moves queued -> provisioning -> starting -> running and ends in
 * succeeded, failed or cancelled; when its attempt is lost or preempted it
 * goes to recovering, and the reconcile loop starts the next attempt.  Each
 * transition is written to the store before any caller sees it.
 */
#include "orchestrator/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "storage/checkpoint.h"

static void live_job_free(struct hoist_live_job *live)
{
	hoist_model_job_release(&live->job);
	free(live);
}

void hoist_jobs_free_all(struct hoist_daemon *daemon)
{
	while (daemon->jobs) {
		struct hoist_live_job *next = daemon->jobs->next;

		live_job_free(daemon->jobs);
		daemon->jobs = next;
	}
	while (daemon->instances) {
		struct hoist_live_instance *next = daemon->instances->next;

		free(daemon->instances);
		daemon->instances = next;
	}
}

struct hoist_live_job *hoist_jobs_find(struct hoist_daemon *daemon,
				       const char *id)
{
	for (struct hoist_live_job *live = daemon->jobs; live;
	     live = live->next)
		if (strcmp(live->job.id, id) == 0)
			return live;
	return NULL;
}

static size_t token_bucket(const char *hash)
{
	size_t value = 0;

	for (int i = 0; i < 8 && hash[i]; i++) {
		char c = hash[i];

		value = value * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return value & (HOIST_TOKEN_BUCKETS - 1);
}

void hoist_jobs_index_token(struct hoist_daemon *daemon,
			    struct hoist_live_job *live)
{
	size_t bucket;

	if (live->token_indexed || !live->has_attempt ||
	    live->attempt.state == HOIST_ATTEMPT_ENDED)
		return;
	bucket = token_bucket(live->attempt.token_sha256);
	live->token_next = daemon->token_buckets[bucket];
	daemon->token_buckets[bucket] = live;
	live->token_indexed = 1;
}

void hoist_jobs_unindex_token(struct hoist_daemon *daemon,
			      struct hoist_live_job *live)
{
	struct hoist_live_job **link;

	if (!live->token_indexed)
		return;
	link = &daemon->token_buckets[token_bucket(live->attempt.token_sha256)];
	while (*link && *link != live)
		link = &(*link)->token_next;
	if (*link)
		*link = live->token_next;
	live->token_next = NULL;
	live->token_indexed = 0;
}

/* Heartbeats arrive by the ten thousand, so this is a hash lookup. */
struct hoist_live_job *hoist_jobs_find_by_token(struct hoist_daemon *daemon,
						const char *token)
{
	struct hoist_live_job *live;
	char hash[65];

	hoist_util_sha256_hex(token, strlen(token), hash);
	for (live = daemon->token_buckets[token_bucket(hash)]; live;
	     live = live->token_next) {
		if (live->attempt.state != HOIST_ATTEMPT_ENDED &&
		    hoist_util_secret_equal(live->attempt.token_sha256, hash))
			return live;
	}
	return NULL;
}

struct hoist_revoked_token *hoist_jobs_find_revoked(
	struct hoist_daemon *daemon, const char *token)
{
	char hash[65];

	hoist_util_sha256_hex(token, strlen(token), hash);
	for (size_t i = 0; i < HOIST_REVOKED_MAX; i++) {
		struct hoist_revoked_token *revoked = &daemon->revoked[i];

		if (revoked->job_id[0] &&
		    hoist_util_secret_equal(revoked->token_sha256, hash))
			return revoked;
	}
	return NULL;
}

static void remember_revoked(struct hoist_daemon *daemon,
			     const struct hoist_attempt_record *attempt)
{
	struct hoist_revoked_token *slot =
		&daemon->revoked[daemon->revoked_next];

	daemon->revoked_next = (daemon->revoked_next + 1) % HOIST_REVOKED_MAX;
	memcpy(slot->token_sha256, attempt->token_sha256,
	       sizeof(slot->token_sha256));
	snprintf(slot->job_id, sizeof(slot->job_id), "%s", attempt->job_id);
	slot->attempt = attempt->number;
	slot->rejected = 0;
}

struct hoist_live_instance *hoist_jobs_find_instance(
	struct hoist_daemon *daemon, const char *id)
{
	for (struct hoist_live_instance *inst = daemon->instances; inst;
	     inst = inst->next)
		if (strcmp(inst->rec.id, id) == 0)
			return inst;
	return NULL;
}

int hoist_jobs_put_instance(struct hoist_daemon *daemon,
			    const struct hoist_instance_record *rec,
			    struct hoist_err *err)
{
	struct hoist_live_instance *inst = hoist_jobs_find_instance(daemon,
								   rec->id);

	if (daemon->store->ops->put_instance(daemon->store, rec, err))
		return -1;
	if (rec->state == HOIST_INSTANCE_DESTROYED) {
		struct hoist_live_instance **link = &daemon->instances;

		hoist_billing_track(daemon, rec);

		while (*link && *link != inst)
			link = &(*link)->next;
		if (*link) {
			*link = inst->next;
			free(inst);
		}
		return 0;
	}
	if (!inst) {
		inst = calloc(1, sizeof(*inst));
		if (!inst)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		inst->next = daemon->instances;
		daemon->instances = inst;
	}
	inst->rec = *rec;
	return 0;
}

/* Spec accessors for the validated spec. */
static int64_t spec_int(const json_t *spec, const char *section,
			const char *key, int64_t fallback)
{
	const json_t *obj = section ? json_object_get(spec, section) : spec;
	const json_t *value = obj ? json_object_get(obj, key) : NULL;

	return json_is_integer(value) ? json_integer_value(value) : fallback;
}

static double spec_number(const json_t *spec, const char *section,
			  const char *key, double fallback)
{
	const json_t *obj = section ? json_object_get(spec, section) : spec;
	const json_t *value = obj ? json_object_get(obj, key) : NULL;

	return json_is_number(value) ? json_number_value(value) : fallback;
}

static int check_string(const json_t *obj, const char *key, int required,
			size_t max, struct hoist_err *err)
{
	const json_t *value = json_object_get(obj, key);

	if (!value)
		return required ? hoist_err_set(err, HOIST_E_INVALID,
						"job spec: missing '%s'", key) :
				  0;
	if (!json_is_string(value) || json_string_length(value) == 0 ||
	    json_string_length(value) > max)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec: '%s' must be a non-empty string "
				     "of at most %zu bytes", key, max);
	return 0;
}

static int check_number(const json_t *obj, const char *where,
			const char *key, double min, double max,
			int integer, struct hoist_err *err)
{
	const json_t *value = json_object_get(obj, key);
	double number;

	if (!value)
		return 0;
	if (integer ? !json_is_integer(value) : !json_is_number(value))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec: '%s%s' must be %s", where, key,
				     integer ? "an integer" : "a number");
	number = json_number_value(value);
	if (number < min || number > max)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec: '%s%s' is %g, expected %g to %g",
				     where, key, number, min, max);
	return 0;
}

int hoist_jobs_validate_spec(const json_t *spec, struct hoist_err *err)
{
	const json_t *profile;
	const json_t *command;
	const json_t *env;
	const json_t *workdir;
	const char *key;
	json_t *value;
	size_t i;

	if (!json_is_object(spec))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec must be a JSON object");
	if (check_string(spec, "name", 1, 63, err) ||
	    check_string(spec, "team", 0, 63, err) ||
	    check_string(spec, "project", 0, 63, err) ||
	    check_string(spec, "image", 0, 512, err))
		return -1;

	profile = json_object_get(spec, "profile");
	if (!json_is_object(profile))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec: 'profile' must be an object");
	if (check_string(profile, "gpu_name", 1, 63, err) ||
	    check_number(profile, "profile.", "num_gpus", 1, 64, 1, err) ||
	    check_number(profile, "profile.", "max_dph", 0, 1e6, 0, err) ||
	    check_number(profile, "profile.", "reliability_min", 0, 1, 0,
			 err) ||
	    check_number(profile, "profile.", "max_duration_hours", 0, 1e5, 0,
			 err))
		return -1;

	command = json_object_get(spec, "command");
	if (!json_is_array(command) || json_array_size(command) == 0 ||
	    json_array_size(command) > 1024)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec: 'command' must be a non-empty "
				     "array of strings");
	json_array_foreach(command, i, value)
		if (!json_is_string(value))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "job spec: command[%zu] must be "
					     "a string", i);

	workdir = json_object_get(spec, "workdir");
	if (workdir && (!json_is_string(workdir) ||
			json_string_value(workdir)[0] != '/'))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec: 'workdir' must be an absolute "
				     "path");

	env = json_object_get(spec, "env");
	if (env && !json_is_object(env))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job spec: 'env' must be an object");
	json_object_foreach((json_t *)env, key, value)
		if (!json_is_string(value))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "job spec: env.%s must be a "
					     "string", key);

	if (check_number(spec, "", "grace_seconds", 0, 3600, 1, err) ||
	    check_number(json_object_get(spec, "checkpoint"), "checkpoint.",
			 "interval_seconds", 1, 1e7, 1, err) ||
	    check_number(json_object_get(spec, "checkpoint"), "checkpoint.",
			 "keep", 1, 1000, 1, err) ||
	    check_number(json_object_get(spec, "retry"), "retry.",
			 "max_failures", 0, 1000, 1, err) ||
	    check_number(json_object_get(spec, "retry"), "retry.",
			 "max_attempts", 1, 10000, 1, err))
		return -1;
	return 0;
}

int hoist_jobs_save(struct hoist_daemon *daemon, struct hoist_live_job *live,
		    struct hoist_err *err)
{
	struct hoist_store *store = daemon->store;

	live->job.updated_at = hoist_clock_now_ms();
	if (store->ops->begin(store, err))
		return -1;
	if (store->ops->put_job(store, &live->job, err))
		goto fail;
	if (live->has_attempt &&
	    store->ops->put_attempt(store, &live->attempt, err))
		goto fail;
	if (store->ops->commit(store, err))
		goto fail;
	live->dirty = 0;
	return 0;
fail:
	store->ops->rollback(store, NULL);
	return -1;
}

int hoist_jobs_submit(struct hoist_daemon *daemon, json_t *spec,
		      char *id_out, size_t id_len, struct hoist_err *err)
{
	struct hoist_live_job *live;
	char hex[9];

	if (hoist_jobs_validate_spec(spec, err))
		return -1;
	live = calloc(1, sizeof(*live));
	if (!live)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	do {
		if (hoist_util_random_hex(hex, 4, err)) {
			free(live);
			return -1;
		}
		snprintf(live->job.id, sizeof(live->job.id), "j-%s", hex);
	} while (hoist_jobs_find(daemon, live->job.id));

	snprintf(live->job.name, sizeof(live->job.name), "%s",
		 json_string_value(json_object_get(spec, "name")));
	snprintf(live->job.team, sizeof(live->job.team), "%s",
		 json_is_string(json_object_get(spec, "team")) ?
		 json_string_value(json_object_get(spec, "team")) : "default");
	snprintf(live->job.project, sizeof(live->job.project), "%s",
		 json_is_string(json_object_get(spec, "project")) ?
		 json_string_value(json_object_get(spec, "project")) :
		 "default");
	live->job.state = HOIST_JOB_QUEUED;
	live->job.spec = json_incref(spec);
	live->job.created_at = hoist_clock_now_ms();
	live->job.last_step = -1;
	live->last_committed_step = -1;

	if (hoist_jobs_save(daemon, live, err)) {
		live_job_free(live);
		return -1;
	}
	live->next = daemon->jobs;
	daemon->jobs = live;
	snprintf(id_out, id_len, "%s", live->job.id);
	hoist_log_info("job=%s queued: name=%s team=%s project=%s profile=%s",
		       live->job.id, live->job.name, live->job.team,
		       live->job.project,
		       json_string_value(json_object_get(
			       json_object_get(spec, "profile"), "name")) ?:
		       "(inline)");
	return 0;
}

int hoist_jobs_set_state(struct hoist_daemon *daemon,
			 struct hoist_live_job *live, int state,
			 const char *end_reason, struct hoist_err *err)
{
	int old = live->job.state;

	if (hoist_model_job_state_is_final(old))
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "job %s already ended (%s)", live->job.id,
				     hoist_model_job_state_name(old));
	live->job.state = state;
	if (hoist_model_job_state_is_final(state)) {
		live->job.ended_at = hoist_clock_now_ms();
		snprintf(live->job.end_reason, sizeof(live->job.end_reason),
			 "%s", end_reason ? end_reason : "");
	}
	if (hoist_jobs_save(daemon, live, err))
		return -1;
	if (old != state)
		hoist_log_info("job=%s state %s -> %s%s%s", live->job.id,
			       hoist_model_job_state_name(old),
			       hoist_model_job_state_name(state),
			       end_reason ? " reason=" : "",
			       end_reason ? end_reason : "");
	return 0;
}

int hoist_jobs_end_attempt(struct hoist_daemon *daemon,
			   struct hoist_live_job *live, const char *reason,
			   struct hoist_err *err)
{
	struct hoist_attempt_record *attempt = &live->attempt;
	struct hoist_live_instance *inst;

	if (!live->has_attempt || attempt->state == HOIST_ATTEMPT_ENDED)
		return 0;
	attempt->state = HOIST_ATTEMPT_ENDED;
	attempt->ended_at = hoist_clock_now_ms();
	snprintf(attempt->end_reason, sizeof(attempt->end_reason), "%s",
		 reason);
	hoist_jobs_unindex_token(daemon, live);
	if (hoist_jobs_save(daemon, live, err))
		return -1;
	remember_revoked(daemon, attempt);
	hoist_log_info("job=%s attempt %d ended: reason=%s instance=%s "
		       "last_step=%lld", live->job.id, attempt->number, reason,
		       attempt->instance_id[0] ? attempt->instance_id : "-",
		       (long long)attempt->last_step);
	/* The token is revoked, so no part of this attempt's uploads can
	 * complete any more: abort them all, whatever their age. */
	hoist_presign_abort_stale(daemon, live->job.id, 0);

	inst = attempt->instance_id[0] ?
	       hoist_jobs_find_instance(daemon, attempt->instance_id) : NULL;
	if (inst && inst->rec.state != HOIST_INSTANCE_DESTROYING) {
		struct hoist_instance_record rec = inst->rec;

		rec.state = HOIST_INSTANCE_DESTROYING;
		if (hoist_jobs_put_instance(daemon, &rec, err))
			return -1;
		inst = hoist_jobs_find_instance(daemon, rec.id);
		if (inst)
			hoist_reconcile_destroy_instance(daemon, inst);
	}
	return 0;
}

int hoist_jobs_flush(struct hoist_daemon *daemon, struct hoist_err *err)
{
	struct hoist_store *store = daemon->store;
	int count = 0;

	for (struct hoist_live_job *live = daemon->jobs; live;
	     live = live->next)
		count += live->dirty;
	if (count == 0)
		return 0;
	if (store->ops->begin(store, err))
		return -1;
	for (struct hoist_live_job *live = daemon->jobs; live;
	     live = live->next) {
		if (!live->dirty)
			continue;
		if (store->ops->put_job(store, &live->job, err))
			goto fail;
		if (live->has_attempt &&
		    store->ops->put_attempt(store, &live->attempt, err))
			goto fail;
	}
	if (store->ops->commit(store, err))
		goto fail;
	for (struct hoist_live_job *live = daemon->jobs; live;
	     live = live->next)
		live->dirty = 0;
	return 0;
fail:
	store->ops->rollback(store, NULL);
	return -1;
}

/* Drops ended jobs from memory; the store keeps them. */
void hoist_jobs_forget_finished(struct hoist_daemon *daemon)
{
	struct hoist_live_job **link = &daemon->jobs;

	while (*link) {
		struct hoist_live_job *live = *link;

		if (hoist_model_job_state_is_final(live->job.state) &&
		    !live->dirty && !live->provisioning) {
			hoist_jobs_unindex_token(daemon, live);
			*link = live->next;
			live_job_free(live);
			continue;
		}
		link = &live->next;
	}
}

struct load_ctx {
	struct hoist_daemon *daemon;
	struct hoist_live_job *live;
	struct hoist_err *err;
	int failed;
};

static int load_attempt(const struct hoist_attempt_record *attempt, void *arg)
{
	struct load_ctx *ctx = arg;

	if (attempt->number == 1)
		ctx->live->first_start_ms = attempt->created_at;
	ctx->live->attempt = *attempt;
	ctx->live->has_attempt = 1;
	return 0;
}

static int load_checkpoint(const struct hoist_checkpoint_record *ckpt,
			   void *arg)
{
	struct load_ctx *ctx = arg;

	if (ckpt->step > ctx->live->last_committed_step)
		ctx->live->last_committed_step = ckpt->step;
	return 0;
}

static int load_job(const struct hoist_job_record *job, void *arg)
{
	struct load_ctx *ctx = arg;
	struct hoist_live_job *live = calloc(1, sizeof(*live));
	int64_t now = hoist_clock_mono_ms();

	if (!live) {
		ctx->failed = 1;
		return 1;
	}
	live->job = *job;
	live->job.spec = json_incref(job->spec);
	live->job.metrics = json_incref(job->metrics);
	live->last_committed_step = -1;
	live->heartbeat_mono = now;
	live->phase_mono = now;
	live->next = ctx->daemon->jobs;
	ctx->daemon->jobs = live;
	return 0;
}

int hoist_jobs_load(struct hoist_daemon *daemon, struct hoist_err *err)
{
	struct hoist_store *store = daemon->store;
	struct load_ctx ctx = { daemon, NULL, err, 0 };

	if (store->ops->list_jobs(store, 1, load_job, &ctx, err))
		return -1;
	if (ctx.failed)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	for (struct hoist_live_job *live = daemon->jobs; live;
	     live = live->next) {
		ctx.live = live;
		if (store->ops->list_attempts(store, live->job.id, load_attempt,
					      &ctx, err) ||
		    store->ops->list_checkpoints(store, live->job.id,
						 load_checkpoint, &ctx, err))
			return -1;
		hoist_jobs_index_token(daemon, live);
		hoist_log_info("job=%s loaded: state=%s attempt=%d",
			       live->job.id,
			       hoist_model_job_state_name(live->job.state),
			       live->has_attempt ? live->attempt.number : 0);
	}
	return 0;
}

/* Rendering of records for the API. */

static json_t *json_time(int64_t ms)
{
	char text[40];

	if (ms <= 0)
		return json_null();
	hoist_clock_format_ms(ms, text, sizeof(text));
	return json_string(text);
}

static json_t *json_reason(const char *reason)
{
	return reason[0] ? json_string(reason) : json_null();
}

static json_t *json_step(int64_t step)
{
	return step >= 0 ? json_integer(step) : json_null();
}

json_t *hoist_jobs_render_instance(const struct hoist_instance_record *rec,
				   int64_t now_ms)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:f, "
			 "s:o, s:o, s:f, s:o}",
			 "id", rec->id, "provider", rec->provider,
			 "label", rec->label, "job_id", rec->job_id,
			 "attempt", rec->attempt,
			 "state", hoist_model_instance_state_name(rec->state),
			 "offer", rec->offer, "gpu_name", rec->gpu_name,
			 "price_per_hour", rec->price_per_hour,
			 "created_at", json_time(rec->created_at),
			 "destroyed_at", json_time(rec->destroyed_at),
			 "cost_usd", hoist_model_instance_cost(rec, now_ms),
			 "billed_usd", rec->billed ? json_real(rec->billed_usd) :
			 json_null());
}

struct render_ctx {
	struct hoist_daemon *daemon;
	const struct hoist_live_job *live;
	json_t *array;
	double cost;
	int64_t now_ms;
	int failed;
};

static int render_attempt(const struct hoist_attempt_record *stored, void *arg)
{
	struct render_ctx *ctx = arg;
	const struct hoist_attempt_record *a = stored;
	json_t *obj;

	/* Memory is ahead of the store between heartbeat flushes. */
	if (ctx->live && ctx->live->has_attempt &&
	    ctx->live->attempt.number == stored->number)
		a = &ctx->live->attempt;
	obj = json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"number", a->number,
			"state", hoist_model_attempt_state_name(a->state),
			"instance_id", a->instance_id,
			"created_at", json_time(a->created_at),
			"started_at", json_time(a->started_at),
			"ended_at", json_time(a->ended_at),
			"end_reason", json_reason(a->end_reason),
			"resumed_from_step", json_step(a->resumed_from_step),
			"last_step", json_step(a->last_step),
			"exit_code", a->exit_code >= 0 ?
			json_integer(a->exit_code) : json_null());
	if (obj && a->error[0])
		json_object_set_new(obj, "error", json_string(a->error));
	if (!obj || json_array_append_new(ctx->array, obj)) {
		ctx->failed = 1;
		return 1;
	}
	return 0;
}

static int render_checkpoint(const struct hoist_checkpoint_record *ckpt,
			     void *arg)
{
	struct render_ctx *ctx = arg;
	json_t *obj = json_pack("{s:I, s:i, s:o, s:s, s:s, s:I, s:I}",
				"step", (json_int_t)ckpt->step,
				"attempt", ckpt->attempt,
				"committed_at", json_time(ckpt->committed_at),
				"manifest_key", ckpt->manifest_key,
				"manifest_sha256", ckpt->manifest_sha256,
				"files", (json_int_t)ckpt->files,
				"bytes", (json_int_t)ckpt->bytes);

	if (!obj || json_array_append_new(ctx->array, obj)) {
		ctx->failed = 1;
		return 1;
	}
	return 0;
}

static int render_instance_cost(const struct hoist_instance_record *rec,
				void *arg)
{
	struct render_ctx *ctx = arg;
	struct hoist_live_instance *inst =
		hoist_jobs_find_instance(ctx->daemon, rec->id);

	ctx->cost += hoist_model_instance_cost(inst ? &inst->rec : rec,
					       ctx->now_ms);
	return 0;
}

static double job_cost(struct hoist_daemon *daemon, const char *job_id,
		       struct hoist_err *err)
{
	struct render_ctx ctx = { daemon, NULL, NULL, 0, hoist_clock_now_ms(),
				  0 };

	if (daemon->store->ops->list_instances(daemon->store, job_id,
					       render_instance_cost, &ctx,
					       err))
		return -1;
	return ctx.cost;
}

static json_t *render_record(struct hoist_daemon *daemon,
			     const struct hoist_job_record *job,
			     const struct hoist_live_job *live, int with_detail,
			     struct hoist_err *err)
{
	struct hoist_store *store = daemon->store;
	struct render_ctx ctx = { daemon, live, NULL, 0, hoist_clock_now_ms(),
				  0 };
	json_t *obj;
	double cost = job_cost(daemon, job->id, err);

	if (cost < 0)
		return NULL;
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:i, "
			"s:o, s:f}",
			"id", job->id, "name", job->name, "team", job->team,
			"project", job->project,
			"state", hoist_model_job_state_name(job->state),
			"end_reason", json_reason(job->end_reason),
			"created_at", json_time(job->created_at),
			"updated_at", json_time(job->updated_at),
			"ended_at", json_time(job->ended_at),
			"attempt_count", job->attempts,
			"last_step", json_step(job->last_step),
			"cost_usd", cost);
	if (!obj)
		goto nomem;
	json_object_set(obj, "metrics", job->metrics ? job->metrics :
			json_null());
	if (live && live->stop_reason[0])
		json_object_set_new(obj, "stop_requested",
				    json_string(live->stop_reason));
	if (live && live->message[0])
		json_object_set_new(obj, "message", json_string(live->message));
	if (live && live->checkpoint_error[0])
		json_object_set_new(obj, "checkpoint_error",
				    json_string(live->checkpoint_error));
	if (!with_detail)
		return obj;

	json_object_set(obj, "spec", job->spec ? job->spec : json_null());
	ctx.array = json_array();
	if (!ctx.array || json_object_set_new(obj, "attempts", ctx.array))
		goto nomem;
	if (store->ops->list_attempts(store, job->id, render_attempt, &ctx,
				      err))
		goto fail;
	ctx.array = json_array();
	if (!ctx.array || json_object_set_new(obj, "checkpoints", ctx.array))
		goto nomem;
	if (store->ops->list_checkpoints(store, job->id, render_checkpoint,
					 &ctx, err))
		goto fail;
	if (ctx.failed)
		goto nomem;
	return obj;
nomem:
	hoist_err_set(err, HOIST_E_NOMEM, "out of memory rendering job %s",
		      job->id);
fail:
	json_decref(obj);
	return NULL;
}

json_t *hoist_jobs_render(struct hoist_daemon *daemon, const char *id,
			  int with_spec, struct hoist_err *err)
{
	struct hoist_live_job *live = hoist_jobs_find(daemon, id);
	struct hoist_job_record stored;
	json_t *obj;

	if (live)
		return render_record(daemon, &live->job, live, with_spec, err);
	memset(&stored, 0, sizeof(stored));
	if (daemon->store->ops->get_job(daemon->store, id, &stored, err))
		return NULL;
	obj = render_record(daemon, &stored, NULL, with_spec, err);
	hoist_model_job_release(&stored);
	return obj;
}

struct list_ctx {
	struct hoist_daemon *daemon;
	json_t *array;
	struct hoist_err *err;
	int failed;
};

static int render_list_item(const struct hoist_job_record *job, void *arg)
{
	struct list_ctx *ctx = arg;
	struct hoist_live_job *live = hoist_jobs_find(ctx->daemon, job->id);
	json_t *obj = render_record(ctx->daemon, live ? &live->job : job, live,
				    0, ctx->err);

	if (!obj || json_array_append_new(ctx->array, obj)) {
		ctx->failed = 1;
		return 1;
	}
	return 0;
}

json_t *hoist_jobs_render_list(struct hoist_daemon *daemon, int all,
			       struct hoist_err *err)
{
	struct list_ctx ctx = { daemon, json_array(), err, 0 };

	if (!ctx.array) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	if (daemon->store->ops->list_jobs(daemon->store, !all,
					  render_list_item, &ctx, err) ||
	    ctx.failed) {
		hoist_err_set(err, HOIST_E_NOMEM, "cannot list jobs");
		json_decref(ctx.array);
		return NULL;
	}
	return json_pack("{s:o}", "jobs", ctx.array);
}

int64_t hoist_jobs_spec_int(const json_t *spec, const char *section,
			    const char *key, int64_t fallback)
{
	return spec_int(spec, section, key, fallback);
}

double hoist_jobs_spec_number(const json_t *spec, const char *section,
			      const char *key, double fallback)
{
	return spec_number(spec, section, key, fallback);
}
