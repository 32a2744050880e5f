/*
 * Unit tests of the job state machine, fencing and reconciliation.  They
 * drive the orchestrator core (jobs.c, attempts.c, reconcile.c) with a real
 * SQLite store and file:// artifact store in a temporary folder; only the
 * compute provider is a fake that records calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "orchestrator/daemon.h"

#define FAKE_MAX 16

struct fake_provider {
	struct hoist_provider base;
	int creates;
	int destroys;
	int create_error;	/* enum hoist_err_code to fail creates with */
	char last_label[128];
	char last_token[HOIST_TOKEN_HEX + 1];
	struct hoist_provider_instance instances[FAKE_MAX];
	size_t count;
};

struct fake_call {
	struct fake_provider *fake;
	hoist_provider_instance_cb instance_cb;
	hoist_provider_list_cb list_cb;
	void *arg;
	struct hoist_err err;
	struct hoist_provider_instance instance;
	int has_instance;
};

static void fake_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_call *call = arg;

	(void)fd;
	(void)what;
	if (call->list_cb)
		call->list_cb(call->arg, NULL, call->fake->instances,
			      call->fake->count);
	else
		call->instance_cb(call->arg, call->err.code ? &call->err : NULL,
				  call->has_instance ? &call->instance : NULL);
	free(call);
}

static void fake_defer(struct fake_provider *fake, struct fake_call *call)
{
	struct timeval now = { 0, 0 };

	call->fake = fake;
	event_base_once(fake->base.base, -1, EV_TIMEOUT, fake_fire, call, &now);
}

static int fake_create(struct hoist_provider *provider,
		       const struct hoist_instance_request *req,
		       hoist_provider_instance_cb cb, void *arg,
		       struct hoist_err *err)
{
	struct fake_provider *fake = (struct fake_provider *)provider;
	struct fake_call *call = calloc(1, sizeof(*call));
	struct hoist_provider_instance *inst;

	(void)err;
	fake->creates++;
	snprintf(fake->last_label, sizeof(fake->last_label), "%s", req->label);
	for (const char *const *env = req->env; *env; env++)
		if (strncmp(*env, "HOIST_AGENT_TOKEN=", 18) == 0)
			snprintf(fake->last_token, sizeof(fake->last_token),
				 "%s", *env + 18);
	call->instance_cb = cb;
	call->arg = arg;
	if (fake->create_error) {
		hoist_err_set(&call->err, fake->create_error,
			      "no offer matches (fake)");
		fake_defer(fake, call);
		return 0;
	}
	inst = &fake->instances[fake->count++];
	memset(inst, 0, sizeof(*inst));
	snprintf(inst->id, sizeof(inst->id), "fake-%d", fake->creates);
	snprintf(inst->label, sizeof(inst->label), "%s", req->label);
	inst->state = HOIST_PINST_RUNNING;
	snprintf(inst->offer, sizeof(inst->offer), "offer-1");
	snprintf(inst->gpu_name, sizeof(inst->gpu_name), "RTX 4090");
	inst->price_per_hour = 0.36;
	inst->created_at_ms = hoist_clock_now_ms();
	call->instance = *inst;
	call->has_instance = 1;
	fake_defer(fake, call);
	return 0;
}

static int fake_list(struct hoist_provider *provider, const char *prefix,
		     hoist_provider_list_cb cb, void *arg,
		     struct hoist_err *err)
{
	struct fake_call *call = calloc(1, sizeof(*call));

	(void)prefix;
	(void)err;
	call->list_cb = cb;
	call->arg = arg;
	fake_defer((struct fake_provider *)provider, call);
	return 0;
}

static int fake_destroy(struct hoist_provider *provider, const char *id,
			hoist_provider_instance_cb cb, void *arg,
			struct hoist_err *err)
{
	struct fake_provider *fake = (struct fake_provider *)provider;
	struct fake_call *call = calloc(1, sizeof(*call));

	(void)err;
	fake->destroys++;
	for (size_t i = 0; i < fake->count; i++) {
		if (strcmp(fake->instances[i].id, id) == 0) {
			fake->instances[i] = fake->instances[--fake->count];
			break;
		}
	}
	call->instance_cb = cb;
	call->arg = arg;
	fake_defer(fake, call);
	return 0;
}

static void fake_close(struct hoist_provider *provider)
{
	(void)provider;
}

static const struct hoist_provider_ops fake_ops = {
	.name = "fake",
	.create = fake_create,
	.list = fake_list,
	.destroy = fake_destroy,
	.close = fake_close,
};

struct fixture {
	char dir[256];
	struct hoist_daemon daemon;
	struct fake_provider fake;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[512];

	hoist_log_init("test_jobs", HOIST_LOG_ERROR, -1, HOIST_LOG_TEXT);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hoist-test-jobs-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(daemon->home, sizeof(daemon->home), "%s", fx->dir);
	daemon->base = event_base_new();
	assert_non_null(daemon->base);
	snprintf(path, sizeof(path), "%s/hoist.db", fx->dir);
	assert_int_equal(hoist_store_sqlite_open(path, &daemon->store, &err),
			 0);
	snprintf(daemon->storage_url, sizeof(daemon->storage_url),
		 "file://%s/artifacts", fx->dir);
	assert_int_equal(hoist_artifact_open(daemon->storage_url,
					     &daemon->artifacts, &err), 0);
	fx->fake.base.ops = &fake_ops;
	fx->fake.base.base = daemon->base;
	daemon->provider = &fx->fake.base;
	daemon->settings.tick_ms = 100;
	daemon->settings.flush_ms = 100;
	daemon->settings.heartbeat_interval_ms = 100;
	daemon->settings.heartbeat_timeout_ms = 1000;
	daemon->settings.hung_timeout_ms = 60000;
	daemon->settings.start_timeout_ms = 60000;
	daemon->settings.stop_timeout_ms = 1000;
	snprintf(daemon->url, sizeof(daemon->url), "http://127.0.0.1:9");
	snprintf(daemon->label_prefix, sizeof(daemon->label_prefix),
		 "hoist-test-");
	snprintf(daemon->agent_path, sizeof(daemon->agent_path), "/bin/true");
	*state = fx;
	return 0;
}

static void drain(struct hoist_daemon *daemon);

static int teardown(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;

	drain(&fx->daemon);	/* pending fake callbacks own memory */
	hoist_jobs_free_all(&fx->daemon);
	hoist_store_close(fx->daemon.store);
	hoist_artifact_close(fx->daemon.artifacts);
	event_base_free(fx->daemon.base);
	hoist_util_remove_tree(fx->dir, &err);
	free(fx);
	return 0;
}

/* Runs the deferred provider callbacks. */
static void drain(struct hoist_daemon *daemon)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(daemon->base, EVLOOP_NONBLOCK);
}

static void tick(struct hoist_daemon *daemon)
{
	hoist_reconcile_tick(daemon);
	drain(daemon);
}

static json_t *job_spec(int max_failures, int max_attempts, int keep)
{
	return json_pack("{s:s, s:{s:s, s:s, s:i, s:f, s:f, s:f}, s:[s, s], "
			 "s:s, s:i, s:{s:i, s:i}, s:{s:i, s:i}}",
			 "name", "unit",
			 "profile", "name", "dev-test", "gpu_name", "RTX 4090",
			 "num_gpus", 1, "max_dph", 0.5, "reliability_min", 0.9,
			 "max_duration_hours", 2.0,
			 "command", "/bin/true", "x",
			 "workdir", "/tmp", "grace_seconds", 5,
			 "checkpoint", "interval_seconds", 30, "keep", keep,
			 "retry", "max_failures", max_failures,
			 "max_attempts", max_attempts);
}

/* Submits a job and runs it until its first attempt is claimed. */
static struct hoist_live_job *start_job(struct fixture *fx, json_t *spec)
{
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record resume;
	struct hoist_live_job *live;
	char id[HOIST_ID_MAX];
	int has_resume = -1;

	assert_int_equal(hoist_jobs_submit(daemon, spec, id, sizeof(id),
					   &err), 0);
	json_decref(spec);
	live = hoist_jobs_find(daemon, id);
	assert_non_null(live);
	assert_int_equal(live->job.state, HOIST_JOB_QUEUED);
	tick(daemon);
	assert_int_equal(live->job.state, HOIST_JOB_STARTING);
	assert_string_equal(live->attempt.instance_id, "fake-1");
	live = hoist_jobs_find_by_token(daemon, fx->fake.last_token);
	assert_non_null(live);
	assert_int_equal(hoist_attempts_claim(daemon, live, &resume,
					      &has_resume, &err), 0);
	assert_int_equal(has_resume, 0);
	assert_int_equal(live->job.state, HOIST_JOB_RUNNING);
	return live;
}

static void exit_with(struct hoist_daemon *daemon, struct hoist_live_job *live,
		      int code, int preempted)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_exit_report report = { code, 0, preempted, -1, NULL };

	assert_int_equal(hoist_attempts_report_exit(daemon, live, &report,
						    &err), 0);
}

static int commit(struct hoist_daemon *daemon, struct hoist_live_job *live,
		  int64_t step)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record rec;
	int committed = -1;

	memset(&rec, 0, sizeof(rec));
	rec.step = step;
	snprintf(rec.manifest_key, sizeof(rec.manifest_key),
		 "jobs/%s/checkpoints/a%d-s%lld/manifest.json", live->job.id,
		 live->attempt.number, (long long)step);
	memset(rec.manifest_sha256, 'a', 64);
	assert_int_equal(hoist_attempts_commit_checkpoint(daemon, live, &rec,
							  &committed, &err),
			 0);
	return committed;
}

static void test_attempt_label_and_token(void **state)
{
	struct fixture *fx = *state;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));
	char label[128];

	snprintf(label, sizeof(label), "hoist-test-%s-a1", live->job.id);
	assert_string_equal(fx->fake.last_label, label);
	assert_int_equal(strlen(fx->fake.last_token), HOIST_TOKEN_HEX);
	assert_int_equal(live->attempt.number, 1);
	assert_int_equal(live->attempt.resumed_from_step, -1);
	assert_null(hoist_jobs_find_by_token(&fx->daemon,
					     "0000000000000000"));
}

static void test_exit_zero_succeeds(void **state)
{
	struct fixture *fx = *state;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));
	char token[HOIST_TOKEN_HEX + 1];
	char id[HOIST_ID_MAX];

	memcpy(token, fx->fake.last_token, sizeof(token));
	snprintf(id, sizeof(id), "%s", live->job.id);
	exit_with(&fx->daemon, live, 0, 0);
	assert_int_equal(live->job.state, HOIST_JOB_SUCCEEDED);
	assert_string_equal(live->job.end_reason, "completed");
	assert_string_equal(live->attempt.end_reason, "completed");
	drain(&fx->daemon);
	assert_int_equal(fx->fake.destroys, 1);
	assert_null(hoist_jobs_find_by_token(&fx->daemon, token));
	tick(&fx->daemon);
	assert_null(hoist_jobs_find(&fx->daemon, id));
}

static void test_preempted_attempt_resumes(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record resume;
	struct hoist_revoked_token *revoked;
	char old_token[HOIST_TOKEN_HEX + 1];
	int has_resume = 0;

	assert_int_equal(commit(daemon, live, 10), 1);
	assert_int_equal(commit(daemon, live, 5), 0);
	assert_int_equal(commit(daemon, live, 10), 0);
	memcpy(old_token, fx->fake.last_token, sizeof(old_token));

	/* The command saved on SIGTERM and exited 0: not a completion. */
	exit_with(daemon, live, 0, 1);
	assert_int_equal(live->job.state, HOIST_JOB_RECOVERING);
	assert_string_equal(live->attempt.end_reason, "preempted");

	tick(daemon);
	assert_int_equal(live->attempt.number, 2);
	assert_int_equal(live->job.state, HOIST_JOB_STARTING);
	assert_string_not_equal(fx->fake.last_token, old_token);

	/* The first agent is fenced; the second one resumes at step 10. */
	assert_null(hoist_jobs_find_by_token(daemon, old_token));
	revoked = hoist_jobs_find_revoked(daemon, old_token);
	assert_non_null(revoked);
	assert_int_equal(revoked->attempt, 1);
	assert_ptr_equal(hoist_jobs_find_by_token(daemon, fx->fake.last_token),
			 live);
	assert_int_equal(hoist_attempts_claim(daemon, live, &resume,
					      &has_resume, &err), 0);
	assert_int_equal(has_resume, 1);
	assert_int_equal(resume.step, 10);
	assert_int_equal(live->attempt.resumed_from_step, 10);
}

static void test_failures_over_limit_fail(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(1, 20, 3));
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record resume;
	int has_resume;

	exit_with(daemon, live, 3, 0);
	assert_int_equal(live->job.state, HOIST_JOB_RECOVERING);
	assert_int_equal(live->job.failures, 1);
	tick(daemon);
	assert_int_equal(hoist_attempts_claim(daemon, live, &resume,
					      &has_resume, &err), 0);
	exit_with(daemon, live, 3, 0);
	assert_int_equal(live->job.state, HOIST_JOB_FAILED);
	assert_string_equal(live->job.end_reason, "too_many_failures");
	assert_string_equal(live->attempt.end_reason, "command_failed");
}

static void test_attempt_limit_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 2, 3));
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record resume;
	struct hoist_job_record job;
	char id[HOIST_ID_MAX];
	int has_resume;

	exit_with(daemon, live, 0, 1);
	tick(daemon);
	assert_int_equal(live->attempt.number, 2);
	assert_int_equal(hoist_attempts_claim(daemon, live, &resume,
					      &has_resume, &err), 0);
	exit_with(daemon, live, 0, 1);
	snprintf(id, sizeof(id), "%s", live->job.id);
	tick(daemon);

	/* The tick ended the job and dropped it from memory. */
	memset(&job, 0, sizeof(job));
	assert_int_equal(daemon->store->ops->get_job(daemon->store, id, &job,
						     &err), 0);
	assert_int_equal(job.state, HOIST_JOB_FAILED);
	assert_string_equal(job.end_reason, "too_many_attempts");
	assert_int_equal(fx->fake.creates, 2);
	hoist_model_job_release(&job);
}

static int first_attempt(const struct hoist_attempt_record *attempt,
			 void *arg)
{
	if (attempt->number == 1)
		*(struct hoist_attempt_record *)arg = *attempt;
	return 0;
}

static void test_silent_lost_instance_recovers(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));
	struct hoist_attempt_record first;
	struct hoist_err err = HOIST_ERR_INIT;

	/* Heartbeats alone do not end an attempt while the instance runs. */
	live->heartbeat_mono -= 5000;
	tick(daemon);
	tick(daemon);
	assert_int_equal(live->job.state, HOIST_JOB_RUNNING);

	fx->fake.instances[0].state = HOIST_PINST_LOST;
	tick(daemon);
	tick(daemon);
	assert_int_equal(live->attempt.number, 2);
	assert_int_equal(daemon->store->ops->list_attempts(
		daemon->store, live->job.id, first_attempt, &first, &err), 0);
	assert_string_equal(first.end_reason, "lost");
	assert_int_equal(fx->fake.destroys, 1);
}

static void test_hung_agent_is_replaced(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));

	live->heartbeat_mono -= daemon->settings.hung_timeout_ms + 1000;
	tick(daemon);
	assert_int_equal(live->attempt.number, 2);
	assert_int_equal(fx->fake.creates, 2);
}

static void test_cancel_running_job_stops_agent(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));

	assert_int_equal(hoist_attempts_heartbeat(live, "running", 7, NULL), 0);
	hoist_reconcile_stop_job(daemon, live, "cancelled");
	assert_int_equal(live->job.state, HOIST_JOB_RUNNING);
	assert_int_equal(hoist_attempts_heartbeat(live, "running", 8, NULL), 1);
	exit_with(daemon, live, 0, 0);
	assert_int_equal(live->job.state, HOIST_JOB_CANCELLED);
	assert_string_equal(live->job.end_reason, "cancelled_by_user");
	assert_int_equal(live->job.last_step, 8);
}

static void test_cancel_unresponsive_agent(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	char id[HOIST_ID_MAX];

	hoist_reconcile_stop_job(daemon, live, "cancelled");
	live->stop_mono -= 5000 + daemon->settings.stop_timeout_ms + 1;
	snprintf(id, sizeof(id), "%s", live->job.id);
	tick(daemon);

	/* The tick ended the job and dropped it from memory. */
	memset(&job, 0, sizeof(job));
	assert_int_equal(daemon->store->ops->get_job(daemon->store, id, &job,
						     &err), 0);
	assert_int_equal(job.state, HOIST_JOB_CANCELLED);
	assert_string_equal(job.end_reason, "cancelled_by_user");
	hoist_model_job_release(&job);
}

static void test_no_offer_fails_job(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_live_job *live;
	char id[HOIST_ID_MAX];
	json_t *spec = job_spec(2, 20, 3);

	fx->fake.create_error = HOIST_E_NOT_FOUND;
	assert_int_equal(hoist_jobs_submit(daemon, spec, id, sizeof(id), &err),
			 0);
	json_decref(spec);
	live = hoist_jobs_find(daemon, id);
	tick(daemon);
	assert_int_equal(live->job.state, HOIST_JOB_FAILED);
	assert_string_equal(live->job.end_reason, "no_offer");
	assert_non_null(strstr(live->message, "no offer matches (fake)"));
}

static void test_invalid_spec_rejected(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char id[HOIST_ID_MAX];
	json_t *spec = job_spec(2, 20, 3);

	json_object_set_new(spec, "command", json_array());
	assert_int_equal(hoist_jobs_submit(&fx->daemon, spec, id, sizeof(id),
					   &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_non_null(strstr(err.msg, "'command'"));
	json_decref(spec);
}

static void test_restart_keeps_attempt_and_token(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 3));
	struct hoist_err err = HOIST_ERR_INIT;
	char id[HOIST_ID_MAX];

	snprintf(id, sizeof(id), "%s", live->job.id);
	assert_int_equal(commit(daemon, live, 4), 1);
	assert_int_equal(hoist_jobs_flush(daemon, &err), 0);

	/* What a new hoistd sees: only the store. */
	hoist_jobs_free_all(daemon);
	memset(daemon->token_buckets, 0, sizeof(daemon->token_buckets));
	assert_int_equal(hoist_jobs_load(daemon, &err), 0);
	live = hoist_jobs_find(daemon, id);
	assert_non_null(live);
	assert_int_equal(live->job.state, HOIST_JOB_RUNNING);
	assert_int_equal(live->attempt.number, 1);
	assert_int_equal(live->last_committed_step, 4);
	assert_ptr_equal(hoist_jobs_find_by_token(daemon, fx->fake.last_token),
			 live);
}

static void test_unknown_instance_reaped(void **state)
{
	struct fixture *fx = *state;
	struct hoist_provider_instance *orphan = &fx->fake.instances[0];

	memset(orphan, 0, sizeof(*orphan));
	snprintf(orphan->id, sizeof(orphan->id), "fake-orphan");
	snprintf(orphan->label, sizeof(orphan->label),
		 "hoist-test-j-deadbeef-a3");
	orphan->state = HOIST_PINST_RUNNING;
	fx->fake.count = 1;
	tick(&fx->daemon);
	tick(&fx->daemon);
	assert_int_equal(fx->fake.destroys, 1);
	assert_int_equal(fx->fake.count, 0);
}

struct count_ctx {
	int count;
	int64_t first;
};

static int count_checkpoint(const struct hoist_checkpoint_record *c,
			    void *arg)
{
	struct count_ctx *ctx = arg;

	if (ctx->count++ == 0)
		ctx->first = c->step;
	return 0;
}

static void test_retention_keeps_newest(void **state)
{
	struct fixture *fx = *state;
	struct hoist_daemon *daemon = &fx->daemon;
	struct hoist_live_job *live = start_job(fx, job_spec(2, 20, 2));
	struct hoist_err err = HOIST_ERR_INIT;
	struct count_ctx ctx = { 0, -1 };

	for (int step = 1; step <= 4; step++)
		assert_int_equal(commit(daemon, live, step), 1);
	assert_int_equal(daemon->store->ops->list_checkpoints(
		daemon->store, live->job.id, count_checkpoint, &ctx, &err), 0);
	assert_int_equal(ctx.count, 2);
	assert_int_equal(ctx.first, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attempt_label_and_token,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_zero_succeeds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_preempted_attempt_resumes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_over_limit_fail,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_attempt_limit_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_silent_lost_instance_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_agent_is_replaced,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_cancel_running_job_stops_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_unresponsive_agent,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_offer_fails_job, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid_spec_rejected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_restart_keeps_attempt_and_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_instance_reaped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_keeps_newest,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("orchestrator/jobs", tests, NULL,
					   NULL);
}
