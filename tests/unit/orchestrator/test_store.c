/*
 * test_store.c - the SQLite job store against real database files in a
 * temporary folder.  Some cases open a second, raw sqlite3 connection to
 * check what the tables hold or to tamper with them.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/util.h"
#include "orchestrator/store.h"

struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	struct hoist_store *store;
};

#define assert_contains(haystack, needle) \
	check_contains((haystack), (needle), __FILE__, __LINE__)

static void check_contains(const char *haystack, const char *needle,
			   const char *file, int line)
{
	if (haystack && strstr(haystack, needle))
		return;
	print_error("'%s' does not contain '%s'\n",
		    haystack ? haystack : "(NULL)", needle);
	_fail(file, line);
}

/* Asserts that a store call succeeded and shows its error otherwise. */
#define assert_ok(call, err) \
	check_ok((call), (err), #call, __FILE__, __LINE__)

static void check_ok(int rc, const struct hoist_err *err, const char *expr,
		     const char *file, int line)
{
	if (rc == 0)
		return;
	print_error("%s failed: %s (%s)\n", expr, err->msg,
		    hoist_err_code_name(err->code));
	_fail(file, line);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct hoist_err err = HOIST_ERR_INIT;
	const char *tmp = getenv("TMPDIR");

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/hoist-test-store-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/hoist.db", fx->dir);
	if (hoist_store_sqlite_open(fx->path, &fx->store, &err) != 0) {
		print_error("open failed: %s\n", err.msg);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;

	hoist_store_close(fx->store);
	hoist_util_remove_tree(fx->dir, &err);
	free(fx);
	return 0;
}

static void reopen(struct fixture *fx)
{
	struct hoist_err err = HOIST_ERR_INIT;

	hoist_store_close(fx->store);
	fx->store = NULL;
	assert_ok(hoist_store_sqlite_open(fx->path, &fx->store, &err), &err);
}

/* ---- a raw connection to the same file ---- */

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
					 NULL), SQLITE_OK);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		print_error("%s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		fail();
	}
}

/* Returns the first column of the first row as text ("NULL" for NULL),
 * copied into out. */
static const char *raw_text(sqlite3 *db, const char *sql, char *out,
			    size_t outlen)
{
	sqlite3_stmt *stmt = NULL;
	const unsigned char *text;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	text = sqlite3_column_text(stmt, 0);
	snprintf(out, outlen, "%s", text ? (const char *)text : "NULL");
	sqlite3_finalize(stmt);
	return out;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int64_t value;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return value;
}

/* ---- records ---- */

static void make_job(struct hoist_job_record *job, const char *id,
		     int64_t created_at, int state)
{
	memset(job, 0, sizeof(*job));
	snprintf(job->id, sizeof(job->id), "%s", id);
	snprintf(job->name, sizeof(job->name), "charlm-demo");
	snprintf(job->team, sizeof(job->team), "research");
	snprintf(job->project, sizeof(job->project), "charlm");
	job->state = state;
	job->spec = json_pack("{s:s, s:[s,s], s:{s:s}, s:{s:i, s:i}}",
			      "name", "charlm-demo",
			      "command", "/usr/bin/python3", "train.py",
			      "env", "LR", "0.05",
			      "checkpoint", "interval_seconds", 30,
			      "keep", 3);
	job->created_at = created_at;
	job->updated_at = created_at + 10;
	job->attempts = 0;
	job->failures = 0;
	job->last_step = -1;
	if (hoist_model_job_state_is_final(state)) {
		job->ended_at = created_at + 20;
		snprintf(job->end_reason, sizeof(job->end_reason),
			 "completed");
	}
}

static void make_attempt(struct hoist_attempt_record *a, const char *job_id,
			 int number)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->job_id, sizeof(a->job_id), "%s", job_id);
	a->number = number;
	a->state = HOIST_ATTEMPT_RUNNING;
	memset(a->token_sha256, 'a', 64);
	snprintf(a->instance_id, sizeof(a->instance_id), "local-%08d",
		 number);
	a->created_at = 1790000000000 + number;
	a->started_at = 1790000001000 + number;
	a->resumed_from_step = -1;
	a->last_step = 100 * number;
	a->last_heartbeat_at = 1790000002000 + number;
	a->exit_code = -1;
}

static void make_checkpoint(struct hoist_checkpoint_record *c,
			    const char *job_id, int64_t step)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->job_id, sizeof(c->job_id), "%s", job_id);
	c->step = step;
	c->attempt = 1;
	snprintf(c->manifest_key, sizeof(c->manifest_key),
		 "jobs/%s/checkpoints/a1-s%lld/manifest.json", job_id,
		 (long long)step);
	memset(c->manifest_sha256, 'f', 64);
	c->files = 2;
	c->bytes = 12345 + step;
	c->committed_at = 1790000003000 + step;
}

static void make_instance(struct hoist_instance_record *inst,
			  const char *id, const char *job_id,
			  int64_t created_at)
{
	memset(inst, 0, sizeof(*inst));
	snprintf(inst->id, sizeof(inst->id), "%s", id);
	snprintf(inst->provider, sizeof(inst->provider), "local");
	snprintf(inst->label, sizeof(inst->label), "hoist-0123456789abcdef-%s",
		 id);
	snprintf(inst->job_id, sizeof(inst->job_id), "%s", job_id);
	inst->attempt = 1;
	inst->state = HOIST_INSTANCE_RUNNING;
	snprintf(inst->offer, sizeof(inst->offer), "offer-77");
	snprintf(inst->gpu_name, sizeof(inst->gpu_name), "RTX 4090");
	inst->price_per_hour = 0.375;
	inst->created_at = created_at;
}

static void put_job(struct hoist_store *store, const char *id,
		    int64_t created_at, int state)
{
	struct hoist_job_record job;
	struct hoist_err err = HOIST_ERR_INIT;

	make_job(&job, id, created_at, state);
	assert_ok(store->ops->put_job(store, &job, &err), &err);
	hoist_model_job_release(&job);
}

static void assert_job_equal(const struct hoist_job_record *got,
			     const struct hoist_job_record *want)
{
	assert_string_equal(got->id, want->id);
	assert_string_equal(got->name, want->name);
	assert_string_equal(got->team, want->team);
	assert_string_equal(got->project, want->project);
	assert_int_equal(got->state, want->state);
	assert_string_equal(got->end_reason, want->end_reason);
	if (want->spec)
		assert_true(json_equal(got->spec, want->spec));
	else
		assert_null(got->spec);
	assert_int_equal(got->created_at, want->created_at);
	assert_int_equal(got->updated_at, want->updated_at);
	assert_int_equal(got->ended_at, want->ended_at);
	assert_int_equal(got->attempts, want->attempts);
	assert_int_equal(got->failures, want->failures);
	assert_int_equal(got->last_step, want->last_step);
	if (want->metrics)
		assert_true(json_equal(got->metrics, want->metrics));
	else
		assert_null(got->metrics);
}

static void assert_attempt_equal(const struct hoist_attempt_record *got,
				 const struct hoist_attempt_record *want)
{
	assert_string_equal(got->job_id, want->job_id);
	assert_int_equal(got->number, want->number);
	assert_int_equal(got->state, want->state);
	assert_string_equal(got->token_sha256, want->token_sha256);
	assert_string_equal(got->instance_id, want->instance_id);
	assert_int_equal(got->created_at, want->created_at);
	assert_int_equal(got->started_at, want->started_at);
	assert_int_equal(got->ended_at, want->ended_at);
	assert_string_equal(got->end_reason, want->end_reason);
	assert_int_equal(got->resumed_from_step, want->resumed_from_step);
	assert_int_equal(got->last_step, want->last_step);
	assert_int_equal(got->last_heartbeat_at, want->last_heartbeat_at);
	assert_int_equal(got->exit_code, want->exit_code);
	assert_string_equal(got->error, want->error);
}

static void assert_checkpoint_equal(const struct hoist_checkpoint_record *got,
				    const struct hoist_checkpoint_record *want)
{
	assert_string_equal(got->job_id, want->job_id);
	assert_int_equal(got->step, want->step);
	assert_int_equal(got->attempt, want->attempt);
	assert_string_equal(got->manifest_key, want->manifest_key);
	assert_string_equal(got->manifest_sha256, want->manifest_sha256);
	assert_int_equal(got->files, want->files);
	assert_int_equal(got->bytes, want->bytes);
	assert_int_equal(got->committed_at, want->committed_at);
}

static void assert_instance_equal(const struct hoist_instance_record *got,
				  const struct hoist_instance_record *want)
{
	assert_string_equal(got->id, want->id);
	assert_string_equal(got->provider, want->provider);
	assert_string_equal(got->label, want->label);
	assert_string_equal(got->job_id, want->job_id);
	assert_int_equal(got->attempt, want->attempt);
	assert_int_equal(got->state, want->state);
	assert_string_equal(got->offer, want->offer);
	assert_string_equal(got->gpu_name, want->gpu_name);
	assert_true(got->price_per_hour == want->price_per_hour);
	assert_int_equal(got->created_at, want->created_at);
	assert_int_equal(got->destroyed_at, want->destroyed_at);
	assert_int_equal(got->billed, want->billed);
	assert_true(got->billed_usd == want->billed_usd);
}

/* ---- list collectors ---- */

#define MAX_COLLECTED 16

struct collected {
	int count;
	char keys[MAX_COLLECTED][HOIST_ID_MAX];
	struct hoist_attempt_record attempts[MAX_COLLECTED];
	struct hoist_checkpoint_record checkpoints[MAX_COLLECTED];
	struct hoist_instance_record instances[MAX_COLLECTED];
};

static int collect_job(const struct hoist_job_record *job, void *arg)
{
	struct collected *c = arg;

	assert_true(c->count < MAX_COLLECTED);
	snprintf(c->keys[c->count++], HOIST_ID_MAX, "%s", job->id);
	return 0;
}

static int collect_attempt(const struct hoist_attempt_record *a, void *arg)
{
	struct collected *c = arg;

	assert_true(c->count < MAX_COLLECTED);
	c->attempts[c->count++] = *a;
	return 0;
}

static int collect_checkpoint(const struct hoist_checkpoint_record *ckpt,
			      void *arg)
{
	struct collected *c = arg;

	assert_true(c->count < MAX_COLLECTED);
	c->checkpoints[c->count++] = *ckpt;
	return 0;
}

static int collect_instance(const struct hoist_instance_record *inst,
			    void *arg)
{
	struct collected *c = arg;

	assert_true(c->count < MAX_COLLECTED);
	c->instances[c->count++] = *inst;
	return 0;
}

/* ---- jobs ---- */

static void test_job_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	struct hoist_job_record got;

	make_job(&job, "j-3f9a2c1d", 1790000000123, HOIST_JOB_FAILED);
	snprintf(job.name, sizeof(job.name), "r\xc3\xa9sum\xc3\xa9 \"quoted\"");
	snprintf(job.end_reason, sizeof(job.end_reason), "too_many_failures");
	job.attempts = 3;
	job.failures = 2;
	job.last_step = 420;
	job.ended_at = 1790000099999;
	job.metrics = json_pack("{s:f, s:i, s:n}", "loss", 2.31, "step", 420,
				"lr");

	assert_ok(store->ops->put_job(store, &job, &err), &err);
	assert_ok(store->ops->get_job(store, "j-3f9a2c1d", &got, &err), &err);
	assert_job_equal(&got, &job);

	hoist_model_job_release(&got);
	hoist_model_job_release(&job);
}

static void test_job_round_trip_empty(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	struct hoist_job_record got;
	char text[64];
	sqlite3 *db;

	memset(&job, 0, sizeof(job));
	snprintf(job.id, sizeof(job.id), "j-00000000");
	job.state = HOIST_JOB_QUEUED;
	job.last_step = -1;

	assert_ok(store->ops->put_job(store, &job, &err), &err);
	assert_ok(store->ops->get_job(store, "j-00000000", &got, &err), &err);
	assert_job_equal(&got, &job);
	hoist_model_job_release(&got);

	/* Empty strings, unset times and unknown steps are NULL. */
	db = raw_open(fx->path);
	assert_string_equal(raw_text(db, "SELECT state FROM jobs", text,
				     sizeof(text)), "queued");
	assert_int_equal(raw_int(db, "SELECT name IS NULL AND team IS NULL "
				 "AND end_reason IS NULL AND spec IS NULL "
				 "AND created_at IS NULL AND ended_at IS NULL "
				 "AND last_step IS NULL AND metrics IS NULL "
				 "FROM jobs"), 1);
	sqlite3_close(db);
}

static void test_job_zero_step_not_null(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	struct hoist_job_record got;

	make_job(&job, "j-00000001", 1790000000000, HOIST_JOB_RUNNING);
	job.last_step = 0;
	job.metrics = json_integer(7);

	assert_ok(store->ops->put_job(store, &job, &err), &err);
	assert_ok(store->ops->get_job(store, job.id, &got, &err), &err);
	assert_int_equal(got.last_step, 0);
	assert_true(json_equal(got.metrics, job.metrics));

	hoist_model_job_release(&got);
	hoist_model_job_release(&job);
}

static void test_job_upsert_replaces(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	struct hoist_job_record got;
	struct hoist_attempt_record attempt;
	struct collected c = { 0 };
	sqlite3 *db;

	make_job(&job, "j-11111111", 1790000000000, HOIST_JOB_RUNNING);
	assert_ok(store->ops->put_job(store, &job, &err), &err);
	make_attempt(&attempt, job.id, 1);
	assert_ok(store->ops->put_attempt(store, &attempt, &err), &err);

	job.state = HOIST_JOB_SUCCEEDED;
	snprintf(job.end_reason, sizeof(job.end_reason), "completed");
	job.ended_at = 1790000500000;
	job.last_step = 600;
	json_decref(job.spec);
	job.spec = NULL;
	assert_ok(store->ops->put_job(store, &job, &err), &err);

	assert_ok(store->ops->get_job(store, job.id, &got, &err), &err);
	assert_job_equal(&got, &job);
	hoist_model_job_release(&got);

	/* Replacing a job keeps its attempts. */
	assert_ok(store->ops->list_attempts(store, job.id, collect_attempt,
					    &c, &err), &err);
	assert_int_equal(c.count, 1);

	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM jobs"), 1);
	sqlite3_close(db);
	hoist_model_job_release(&job);
}

static void test_get_job_missing(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record got;

	assert_int_equal(store->ops->get_job(store, "j-deadbeef", &got, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_string_equal(err.msg, "job j-deadbeef not found");
	assert_null(got.spec);
	assert_null(got.metrics);
}

static void test_list_jobs_order(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct collected all = { 0 };
	struct collected active = { 0 };

	put_job(store, "j-aaaaaaaa", 1000, HOIST_JOB_SUCCEEDED);
	put_job(store, "j-bbbbbbbb", 3000, HOIST_JOB_RUNNING);
	put_job(store, "j-cccccccc", 2000, HOIST_JOB_QUEUED);
	put_job(store, "j-dddddddd", 4000, HOIST_JOB_CANCELLED);
	put_job(store, "j-eeeeeeee", 5000, HOIST_JOB_RECOVERING);
	put_job(store, "j-ffffffff", 6000, HOIST_JOB_FAILED);
	/* Same creation time as j-bbbbbbbb: ties go by id, highest first. */
	put_job(store, "j-b0000000", 3000, HOIST_JOB_PROVISIONING);
	put_job(store, "j-99999999", 7000, HOIST_JOB_STARTING);

	assert_ok(store->ops->list_jobs(store, 0, collect_job, &all, &err),
		  &err);
	assert_int_equal(all.count, 8);
	assert_string_equal(all.keys[0], "j-99999999");
	assert_string_equal(all.keys[1], "j-ffffffff");
	assert_string_equal(all.keys[2], "j-eeeeeeee");
	assert_string_equal(all.keys[3], "j-dddddddd");
	assert_string_equal(all.keys[4], "j-bbbbbbbb");
	assert_string_equal(all.keys[5], "j-b0000000");
	assert_string_equal(all.keys[6], "j-cccccccc");
	assert_string_equal(all.keys[7], "j-aaaaaaaa");

	assert_ok(store->ops->list_jobs(store, 1, collect_job, &active, &err),
		  &err);
	assert_int_equal(active.count, 5);
	assert_string_equal(active.keys[0], "j-99999999");
	assert_string_equal(active.keys[1], "j-eeeeeeee");
	assert_string_equal(active.keys[2], "j-bbbbbbbb");
	assert_string_equal(active.keys[3], "j-b0000000");
	assert_string_equal(active.keys[4], "j-cccccccc");
}

static void test_list_jobs_empty(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct collected c = { 0 };

	assert_ok(store->ops->list_jobs(store, 0, collect_job, &c, &err),
		  &err);
	assert_int_equal(c.count, 0);
	assert_ok(store->ops->list_jobs(store, 1, collect_job, &c, &err),
		  &err);
	assert_int_equal(c.count, 0);
}

/* ---- attempts ---- */

static void test_attempt_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_attempt_record full;
	struct hoist_attempt_record empty;
	struct collected c = { 0 };

	put_job(store, "j-22222222", 1000, HOIST_JOB_RUNNING);

	make_attempt(&full, "j-22222222", 2);
	full.state = HOIST_ATTEMPT_ENDED;
	full.ended_at = 1790000009000;
	snprintf(full.end_reason, sizeof(full.end_reason), "preempted");
	full.resumed_from_step = 250;
	full.exit_code = 0;
	snprintf(full.error, sizeof(full.error), "output 'model.bin' cannot "
		 "be read: No such file or directory");

	memset(&empty, 0, sizeof(empty));
	snprintf(empty.job_id, sizeof(empty.job_id), "j-22222222");
	empty.number = 1;
	empty.state = HOIST_ATTEMPT_PROVISIONING;
	empty.resumed_from_step = -1;
	empty.last_step = -1;
	empty.exit_code = -1;

	/* Put out of order: the listing sorts by number. */
	assert_ok(store->ops->put_attempt(store, &full, &err), &err);
	assert_ok(store->ops->put_attempt(store, &empty, &err), &err);

	assert_ok(store->ops->list_attempts(store, "j-22222222",
					    collect_attempt, &c, &err), &err);
	assert_int_equal(c.count, 2);
	assert_attempt_equal(&c.attempts[0], &empty);
	assert_attempt_equal(&c.attempts[1], &full);
}

static void test_attempt_upsert_and_list_all(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_attempt_record a;
	struct collected one = { 0 };
	struct collected all = { 0 };

	put_job(store, "j-bbbbbbbb", 1000, HOIST_JOB_RUNNING);
	put_job(store, "j-aaaaaaaa", 2000, HOIST_JOB_RUNNING);

	make_attempt(&a, "j-bbbbbbbb", 1);
	assert_ok(store->ops->put_attempt(store, &a, &err), &err);
	make_attempt(&a, "j-aaaaaaaa", 2);
	assert_ok(store->ops->put_attempt(store, &a, &err), &err);
	make_attempt(&a, "j-aaaaaaaa", 1);
	assert_ok(store->ops->put_attempt(store, &a, &err), &err);

	/* A heartbeat flush rewrites the same attempt. */
	a.last_step = 999;
	a.last_heartbeat_at = 1790000099000;
	a.exit_code = 137;
	assert_ok(store->ops->put_attempt(store, &a, &err), &err);

	assert_ok(store->ops->list_attempts(store, "j-aaaaaaaa",
					    collect_attempt, &one, &err),
		  &err);
	assert_int_equal(one.count, 2);
	assert_attempt_equal(&one.attempts[0], &a);
	assert_int_equal(one.attempts[1].number, 2);

	assert_ok(store->ops->list_attempts(store, NULL, collect_attempt,
					    &all, &err), &err);
	assert_int_equal(all.count, 3);
	assert_string_equal(all.attempts[0].job_id, "j-aaaaaaaa");
	assert_int_equal(all.attempts[0].number, 1);
	assert_string_equal(all.attempts[1].job_id, "j-aaaaaaaa");
	assert_int_equal(all.attempts[1].number, 2);
	assert_string_equal(all.attempts[2].job_id, "j-bbbbbbbb");
	assert_int_equal(all.attempts[2].number, 1);
}

static void test_attempt_needs_job(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_attempt_record a;

	make_attempt(&a, "j-0badc0de", 1);
	assert_int_equal(store->ops->put_attempt(store, &a, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_string_equal(err.msg, "cannot save attempt 1 of job j-0badc0de:"
			    " job j-0badc0de not found");
}

/* ---- checkpoints ---- */

static void test_checkpoint_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record ckpts[3];
	struct hoist_checkpoint_record other;
	struct collected c = { 0 };

	put_job(store, "j-33333333", 1000, HOIST_JOB_RUNNING);
	put_job(store, "j-44444444", 2000, HOIST_JOB_RUNNING);

	make_checkpoint(&ckpts[0], "j-33333333", 0);
	make_checkpoint(&ckpts[1], "j-33333333", 250);
	make_checkpoint(&ckpts[2], "j-33333333", 1000);
	ckpts[2].manifest_sha256[0] = '\0';
	ckpts[2].committed_at = 0;
	ckpts[2].files = 0;
	ckpts[2].bytes = 0;
	make_checkpoint(&other, "j-44444444", 500);

	assert_ok(store->ops->put_checkpoint(store, &ckpts[2], &err), &err);
	assert_ok(store->ops->put_checkpoint(store, &other, &err), &err);
	assert_ok(store->ops->put_checkpoint(store, &ckpts[0], &err), &err);
	assert_ok(store->ops->put_checkpoint(store, &ckpts[1], &err), &err);

	assert_ok(store->ops->list_checkpoints(store, "j-33333333",
					       collect_checkpoint, &c, &err),
		  &err);
	assert_int_equal(c.count, 3);
	for (int i = 0; i < 3; i++)
		assert_checkpoint_equal(&c.checkpoints[i], &ckpts[i]);
}

static void test_checkpoint_delete(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record ckpt;
	struct collected c = { 0 };

	put_job(store, "j-55555555", 1000, HOIST_JOB_RUNNING);
	make_checkpoint(&ckpt, "j-55555555", 100);
	assert_ok(store->ops->put_checkpoint(store, &ckpt, &err), &err);
	make_checkpoint(&ckpt, "j-55555555", 200);
	assert_ok(store->ops->put_checkpoint(store, &ckpt, &err), &err);

	assert_ok(store->ops->delete_checkpoint(store, "j-55555555", 100,
						&err), &err);
	assert_ok(store->ops->list_checkpoints(store, "j-55555555",
					       collect_checkpoint, &c, &err),
		  &err);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.checkpoints[0].step, 200);

	assert_int_equal(store->ops->delete_checkpoint(store, "j-55555555",
						       100, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_contains(err.msg, "step 100 of job j-55555555");
}

static void test_checkpoint_upsert(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record ckpt;
	struct collected c = { 0 };

	put_job(store, "j-66666666", 1000, HOIST_JOB_RUNNING);
	make_checkpoint(&ckpt, "j-66666666", 300);
	assert_ok(store->ops->put_checkpoint(store, &ckpt, &err), &err);
	ckpt.attempt = 2;
	snprintf(ckpt.manifest_key, sizeof(ckpt.manifest_key),
		 "jobs/j-66666666/checkpoints/a2-s300/manifest.json");
	assert_ok(store->ops->put_checkpoint(store, &ckpt, &err), &err);

	assert_ok(store->ops->list_checkpoints(store, "j-66666666",
					       collect_checkpoint, &c, &err),
		  &err);
	assert_int_equal(c.count, 1);
	assert_checkpoint_equal(&c.checkpoints[0], &ckpt);
}

/* ---- instances ---- */

static void test_instance_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_instance_record a;
	struct hoist_instance_record b;
	struct hoist_instance_record orphan;
	struct collected one = { 0 };
	struct collected all = { 0 };

	make_instance(&a, "local-1a2b3c4d", "j-77777777", 2000);
	a.state = HOIST_INSTANCE_DESTROYED;
	a.destroyed_at = 9000;
	a.billed = 1;
	a.billed_usd = 0.0123;
	make_instance(&b, "local-5e6f7a8b", "j-77777777", 1000);

	/* No job record is needed, and empty fields round-trip. */
	memset(&orphan, 0, sizeof(orphan));
	snprintf(orphan.id, sizeof(orphan.id), "vast-123456");
	orphan.state = HOIST_INSTANCE_CREATING;

	assert_ok(store->ops->put_instance(store, &a, &err), &err);
	assert_ok(store->ops->put_instance(store, &b, &err), &err);
	assert_ok(store->ops->put_instance(store, &orphan, &err), &err);

	assert_ok(store->ops->list_instances(store, "j-77777777",
					     collect_instance, &one, &err),
		  &err);
	assert_int_equal(one.count, 2);
	assert_instance_equal(&one.instances[0], &b);
	assert_instance_equal(&one.instances[1], &a);

	assert_ok(store->ops->list_instances(store, NULL, collect_instance,
					     &all, &err), &err);
	assert_int_equal(all.count, 3);
	assert_instance_equal(&all.instances[0], &orphan);
}

static void test_instance_label_unique(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_instance_record a;
	struct hoist_instance_record b;

	make_instance(&a, "local-00000001", "j-88888888", 1000);
	make_instance(&b, "local-00000002", "j-88888888", 1000);
	snprintf(b.label, sizeof(b.label), "%s", a.label);
	assert_ok(store->ops->put_instance(store, &a, &err), &err);

	assert_int_equal(store->ops->put_instance(store, &b, &err), -1);
	assert_int_equal(err.code, HOIST_E_CONFLICT);
	assert_contains(err.msg, "cannot save instance local-00000002");
	assert_contains(err.msg, a.label);

	/* Several instances may have no label. */
	hoist_err_clear(&err);
	a.label[0] = '\0';
	b.label[0] = '\0';
	assert_ok(store->ops->put_instance(store, &a, &err), &err);
	assert_ok(store->ops->put_instance(store, &b, &err), &err);
}

/* ---- meta ---- */

static void test_meta(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	char value[32];
	char small[4];

	assert_ok(store->ops->put_meta(store, "orchestrator_id",
				       "0123456789abcdef", &err), &err);
	assert_ok(store->ops->get_meta(store, "orchestrator_id", value,
				       sizeof(value), &err), &err);
	assert_string_equal(value, "0123456789abcdef");

	assert_ok(store->ops->put_meta(store, "orchestrator_id", "", &err),
		  &err);
	assert_ok(store->ops->get_meta(store, "orchestrator_id", value,
				       sizeof(value), &err), &err);
	assert_string_equal(value, "");

	assert_int_equal(store->ops->get_meta(store, "missing", value,
					      sizeof(value), &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_string_equal(err.msg, "meta key 'missing' not found");

	hoist_err_clear(&err);
	assert_ok(store->ops->put_meta(store, "long", "abcd", &err), &err);
	assert_int_equal(store->ops->get_meta(store, "long", small,
					      sizeof(small), &err), -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	assert_contains(err.msg, "4 bytes");
	assert_string_equal(small, "");
}

/* ---- durability and files ---- */

static void test_reopen_keeps_everything(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	struct hoist_job_record got;
	struct hoist_attempt_record attempt;
	struct hoist_checkpoint_record ckpt;
	struct hoist_instance_record inst;
	struct collected attempts = { 0 };
	struct collected ckpts = { 0 };
	struct collected insts = { 0 };
	char value[32];

	make_job(&job, "j-99999999", 1790000000000, HOIST_JOB_RUNNING);
	job.metrics = json_pack("{s:f}", "loss", 1.5);
	make_attempt(&attempt, job.id, 1);
	make_checkpoint(&ckpt, job.id, 50);
	make_instance(&inst, "local-abcdef01", job.id, 1790000000001);
	assert_ok(fx->store->ops->put_job(fx->store, &job, &err), &err);
	assert_ok(fx->store->ops->put_attempt(fx->store, &attempt, &err),
		  &err);
	assert_ok(fx->store->ops->put_checkpoint(fx->store, &ckpt, &err),
		  &err);
	assert_ok(fx->store->ops->put_instance(fx->store, &inst, &err), &err);
	assert_ok(fx->store->ops->put_meta(fx->store, "k", "v", &err), &err);

	reopen(fx);

	assert_ok(fx->store->ops->get_job(fx->store, job.id, &got, &err),
		  &err);
	assert_job_equal(&got, &job);
	assert_ok(fx->store->ops->list_attempts(fx->store, job.id,
						collect_attempt, &attempts,
						&err), &err);
	assert_int_equal(attempts.count, 1);
	assert_attempt_equal(&attempts.attempts[0], &attempt);
	assert_ok(fx->store->ops->list_checkpoints(fx->store, job.id,
						   collect_checkpoint, &ckpts,
						   &err), &err);
	assert_int_equal(ckpts.count, 1);
	assert_checkpoint_equal(&ckpts.checkpoints[0], &ckpt);
	assert_ok(fx->store->ops->list_instances(fx->store, NULL,
						 collect_instance, &insts,
						 &err), &err);
	assert_int_equal(insts.count, 1);
	assert_instance_equal(&insts.instances[0], &inst);
	assert_ok(fx->store->ops->get_meta(fx->store, "k", value,
					   sizeof(value), &err), &err);
	assert_string_equal(value, "v");

	hoist_model_job_release(&got);
	hoist_model_job_release(&job);
}

static void test_wal_mode_and_header(void **state)
{
	struct fixture *fx = *state;
	char text[32];
	sqlite3 *db = raw_open(fx->path);

	assert_string_equal(raw_text(db, "PRAGMA journal_mode", text,
				     sizeof(text)), "wal");
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(raw_int(db, "PRAGMA application_id"), 0x686f6973);
	sqlite3_close(db);
}

static void test_file_is_private(void **state)
{
	struct fixture *fx = *state;
	struct stat st;

	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* A version 1 file gains instances.billed_usd and attempts.error, and its
 * rows read back as not billed and without an error. */
static void test_version_1_migrated(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_instance_record inst;
	struct collected all = { 0 };
	sqlite3 *db;

	struct hoist_attempt_record attempt;
	struct collected attempts = { 0 };

	make_instance(&inst, "vast-20000001", "j-99999999", 1000);
	assert_ok(fx->store->ops->put_instance(fx->store, &inst, &err), &err);
	put_job(fx->store, "j-99999999", 1000, HOIST_JOB_RUNNING);
	make_attempt(&attempt, "j-99999999", 1);
	assert_ok(fx->store->ops->put_attempt(fx->store, &attempt, &err),
		  &err);
	hoist_store_close(fx->store);
	fx->store = NULL;
	db = raw_open(fx->path);
	raw_exec(db, "ALTER TABLE instances DROP COLUMN billed_usd");
	raw_exec(db, "ALTER TABLE attempts DROP COLUMN error");
	raw_exec(db, "PRAGMA user_version = 1");
	sqlite3_close(db);

	assert_ok(hoist_store_sqlite_open(fx->path, &fx->store, &err), &err);
	assert_ok(fx->store->ops->list_instances(fx->store, NULL,
						 collect_instance, &all, &err),
		  &err);
	assert_int_equal(all.count, 1);
	assert_instance_equal(&all.instances[0], &inst);
	assert_ok(fx->store->ops->list_attempts(fx->store, "j-99999999",
						collect_attempt, &attempts,
						&err), &err);
	assert_int_equal(attempts.count, 1);
	assert_attempt_equal(&attempts.attempts[0], &attempt);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 3);
	sqlite3_close(db);
}

static void test_newer_schema_rejected(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_store *store = NULL;
	char expected[64];
	int64_t version;
	sqlite3 *db;

	hoist_store_close(fx->store);
	fx->store = NULL;
	db = raw_open(fx->path);
	version = raw_int(db, "PRAGMA user_version");
	snprintf(expected, sizeof(expected), "PRAGMA user_version = %lld",
		 (long long)version + 1);
	raw_exec(db, expected);
	sqlite3_close(db);

	assert_int_equal(hoist_store_sqlite_open(fx->path, &store, &err), -1);
	assert_null(store);
	assert_int_equal(err.code, HOIST_E_STORE);
	assert_contains(err.msg, fx->path);
	snprintf(expected, sizeof(expected), "schema version %lld",
		 (long long)version + 1);
	assert_contains(err.msg, expected);
	snprintf(expected, sizeof(expected), "versions up to %lld",
		 (long long)version);
	assert_contains(err.msg, expected);
}

static void test_foreign_file_rejected(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_store *store = NULL;
	char path[PATH_MAX + 16];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	raw_exec(db, "CREATE TABLE notes (body TEXT)");
	sqlite3_close(db);

	assert_int_equal(hoist_store_sqlite_open(path, &store, &err), -1);
	assert_null(store);
	assert_contains(err.msg, path);
	assert_contains(err.msg, "not a hoist job store");
}

static void test_open_missing_folder(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_store *store = NULL;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/missing/hoist.db", fx->dir);
	assert_int_equal(hoist_store_sqlite_open(path, &store, &err), -1);
	assert_null(store);
	assert_contains(err.msg, path);
	assert_contains(err.msg, "No such file or directory");
}

static void test_open_in_memory(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_store *store = NULL;
	char value[8];

	(void)state;
	assert_ok(hoist_store_sqlite_open(":memory:", &store, &err), &err);
	assert_ok(store->ops->put_meta(store, "k", "v", &err), &err);
	assert_ok(store->ops->get_meta(store, "k", value, sizeof(value),
				       &err), &err);
	assert_string_equal(value, "v");
	hoist_store_close(store);
}

/* ---- transactions and a second handle ---- */

static void test_second_handle_sees_commits(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_store *other = NULL;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record got;

	assert_ok(hoist_store_sqlite_open(fx->path, &other, &err), &err);

	assert_ok(store->ops->begin(store, &err), &err);
	put_job(store, "j-12345678", 1000, HOIST_JOB_QUEUED);
	assert_int_equal(other->ops->get_job(other, "j-12345678", &got, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);

	hoist_err_clear(&err);
	assert_ok(store->ops->commit(store, &err), &err);
	assert_ok(other->ops->get_job(other, "j-12345678", &got, &err), &err);
	assert_string_equal(got.id, "j-12345678");
	hoist_model_job_release(&got);

	hoist_store_close(other);
}

static void test_rollback_discards(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_attempt_record a;
	struct hoist_job_record got;
	struct collected c = { 0 };

	put_job(store, "j-10000000", 1000, HOIST_JOB_QUEUED);

	assert_ok(store->ops->begin(store, &err), &err);
	put_job(store, "j-20000000", 2000, HOIST_JOB_QUEUED);
	make_attempt(&a, "j-10000000", 1);
	assert_ok(store->ops->put_attempt(store, &a, &err), &err);
	assert_ok(store->ops->put_meta(store, "k", "v", &err), &err);
	assert_ok(store->ops->rollback(store, &err), &err);

	assert_int_equal(store->ops->get_job(store, "j-20000000", &got, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	hoist_err_clear(&err);
	assert_ok(store->ops->list_attempts(store, NULL, collect_attempt, &c,
					    &err), &err);
	assert_int_equal(c.count, 0);
	assert_ok(store->ops->list_jobs(store, 0, collect_job, &c, &err),
		  &err);
	assert_int_equal(c.count, 1);

	/* Rolling back with no open transaction is a no-op. */
	assert_ok(store->ops->rollback(store, &err), &err);
}

static void test_transaction_misuse(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;

	assert_int_equal(store->ops->commit(store, &err), -1);
	assert_int_equal(err.code, HOIST_E_INTERNAL);
	assert_contains(err.msg, "no transaction is open");

	hoist_err_clear(&err);
	assert_ok(store->ops->begin(store, &err), &err);
	assert_int_equal(store->ops->begin(store, &err), -1);
	assert_int_equal(err.code, HOIST_E_INTERNAL);
	assert_contains(err.msg, "already open");

	hoist_err_clear(&err);
	assert_ok(store->ops->commit(store, &err), &err);
}

static void test_locked_database_error(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	sqlite3 *db = raw_open(fx->path);

	raw_exec(db, "BEGIN IMMEDIATE");
	make_job(&job, "j-1234abcd", 1000, HOIST_JOB_QUEUED);
	/* Waits for the busy timeout before it fails. */
	assert_int_equal(store->ops->put_job(store, &job, &err), -1);
	assert_int_equal(err.code, HOIST_E_STORE);
	assert_string_equal(err.msg,
			    "cannot save job j-1234abcd: database is locked");

	raw_exec(db, "ROLLBACK");
	sqlite3_close(db);
	hoist_err_clear(&err);
	assert_ok(store->ops->put_job(store, &job, &err), &err);
	hoist_model_job_release(&job);
}

/* ---- bad input and bad rows ---- */

static void test_invalid_records_rejected(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record job;
	struct hoist_attempt_record a;
	struct hoist_checkpoint_record ckpt;
	struct hoist_instance_record inst;

	make_job(&job, "j-abcdef00", 1000, HOIST_JOB_QUEUED);
	job.state = 42;
	assert_int_equal(store->ops->put_job(store, &job, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_string_equal(err.msg,
			    "cannot save job j-abcdef00: invalid job state 42");

	hoist_err_clear(&err);
	job.state = HOIST_JOB_QUEUED;
	job.id[0] = '\0';
	assert_int_equal(store->ops->put_job(store, &job, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_string_equal(err.msg, "cannot save job: job id is empty");

	hoist_err_clear(&err);
	memset(job.id, 'x', sizeof(job.id));
	assert_int_equal(store->ops->put_job(store, &job, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_contains(err.msg, "not NUL-terminated");
	hoist_model_job_release(&job);

	put_job(store, "j-abcdef01", 1000, HOIST_JOB_QUEUED);
	hoist_err_clear(&err);
	make_attempt(&a, "j-abcdef01", 0);
	assert_int_equal(store->ops->put_attempt(store, &a, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_contains(err.msg, "invalid attempt number 0");

	hoist_err_clear(&err);
	make_checkpoint(&ckpt, "j-abcdef01", -5);
	assert_int_equal(store->ops->put_checkpoint(store, &ckpt, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_contains(err.msg, "invalid checkpoint step -5");

	hoist_err_clear(&err);
	make_instance(&inst, "local-00000009", "j-abcdef01", 1000);
	inst.state = -1;
	assert_int_equal(store->ops->put_instance(store, &inst, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_contains(err.msg, "invalid instance state -1");

	hoist_err_clear(&err);
	assert_int_equal(store->ops->put_meta(store, "", "v", &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	hoist_err_clear(&err);
	assert_int_equal(store->ops->put_meta(store, "k", NULL, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
}

static void test_bad_rows_reported(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record got;
	struct collected c = { 0 };
	sqlite3 *db;

	put_job(store, "j-0000000a", 1000, HOIST_JOB_QUEUED);
	put_job(store, "j-0000000b", 2000, HOIST_JOB_QUEUED);
	put_job(store, "j-0000000c", 3000, HOIST_JOB_QUEUED);
	db = raw_open(fx->path);
	raw_exec(db, "UPDATE jobs SET state = 'paused' "
		 "WHERE id = 'j-0000000a'");
	raw_exec(db, "UPDATE jobs SET spec = '{\"name\": ' "
		 "WHERE id = 'j-0000000b'");
	raw_exec(db, "UPDATE jobs SET created_at = 'yesterday' "
		 "WHERE id = 'j-0000000c'");
	sqlite3_close(db);

	assert_int_equal(store->ops->get_job(store, "j-0000000a", &got, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_STORE);
	assert_string_equal(err.msg, "cannot read job j-0000000a: column "
			    "state: 'paused' is not a job state");

	hoist_err_clear(&err);
	assert_int_equal(store->ops->get_job(store, "j-0000000b", &got, &err),
			 -1);
	assert_contains(err.msg, "cannot read job j-0000000b: column spec: "
			"invalid JSON");
	assert_null(got.spec);

	hoist_err_clear(&err);
	assert_int_equal(store->ops->get_job(store, "j-0000000c", &got, &err),
			 -1);
	assert_contains(err.msg, "column created_at: expected an integer");

	hoist_err_clear(&err);
	assert_int_equal(store->ops->list_jobs(store, 0, collect_job, &c,
					       &err), -1);
	assert_contains(err.msg, "cannot list jobs: job j-0000000c: column");
}

static void test_text_too_long_reported(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_job_record got;
	sqlite3 *db;

	put_job(store, "j-0000000d", 1000, HOIST_JOB_QUEUED);
	db = raw_open(fx->path);
	raw_exec(db, "UPDATE jobs SET team = printf('%.100c', 'x')");
	sqlite3_close(db);

	assert_int_equal(store->ops->get_job(store, "j-0000000d", &got, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_STORE);
	assert_string_equal(err.msg, "cannot read job j-0000000d: column "
			    "team: value of 100 bytes is longer than the "
			    "maximum of 63");
	assert_null(got.spec);
}

/* ---- callbacks ---- */

static int stop_listing(const struct hoist_job_record *job, void *arg)
{
	int *calls = arg;

	(void)job;
	(*calls)++;
	return -1;
}

struct failing_arg {
	struct hoist_err *err;
	int calls;
};

static int fail_with_error(const struct hoist_job_record *job, void *arg)
{
	struct failing_arg *fa = arg;

	fa->calls++;
	return hoist_err_set(fa->err, HOIST_E_INVALID, "job %s rejected",
			     job->id);
}

static void test_callback_stops_listing(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct failing_arg fa = { &err, 0 };
	struct collected c = { 0 };
	int calls = 0;

	put_job(store, "j-000000a1", 1000, HOIST_JOB_QUEUED);
	put_job(store, "j-000000a2", 2000, HOIST_JOB_QUEUED);

	assert_int_equal(store->ops->list_jobs(store, 0, stop_listing, &calls,
					       &err), -1);
	assert_int_equal(calls, 1);
	assert_int_equal(err.code, HOIST_E_INTERNAL);
	assert_contains(err.msg, "stopped by the callback");

	hoist_err_clear(&err);
	assert_int_equal(store->ops->list_jobs(store, 0, fail_with_error, &fa,
					       &err), -1);
	assert_int_equal(fa.calls, 1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_string_equal(err.msg, "job j-000000a2 rejected");

	/* The statement was reset: a new listing starts from the top. */
	hoist_err_clear(&err);
	assert_ok(store->ops->list_jobs(store, 0, collect_job, &c, &err),
		  &err);
	assert_int_equal(c.count, 2);
}

struct nested_arg {
	struct hoist_store *store;
	struct hoist_err inner;
	int nested_rc;
	int attempts;
};

static int count_attempt(const struct hoist_attempt_record *a, void *arg)
{
	struct nested_arg *na = arg;

	(void)a;
	na->attempts++;
	return 0;
}

static int list_inside(const struct hoist_job_record *job, void *arg)
{
	struct nested_arg *na = arg;
	struct hoist_err err = HOIST_ERR_INIT;
	int calls = 0;

	/* Another statement works, the running one is refused. */
	if (na->store->ops->list_attempts(na->store, job->id, count_attempt,
					  na, &err) != 0)
		return -1;
	na->nested_rc = na->store->ops->list_jobs(na->store, 0, stop_listing,
						  &calls, &na->inner);
	return 0;
}

static void test_nested_listing(void **state)
{
	struct fixture *fx = *state;
	struct hoist_store *store = fx->store;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_attempt_record a;
	struct nested_arg na = { store, HOIST_ERR_INIT, 0, 0 };

	put_job(store, "j-000000b1", 1000, HOIST_JOB_RUNNING);
	make_attempt(&a, "j-000000b1", 1);
	assert_ok(store->ops->put_attempt(store, &a, &err), &err);

	assert_ok(store->ops->list_jobs(store, 0, list_inside, &na, &err),
		  &err);
	assert_int_equal(na.attempts, 1);
	assert_int_equal(na.nested_rc, -1);
	assert_int_equal(na.inner.code, HOIST_E_INTERNAL);
	assert_contains(na.inner.msg, "called again from its own callback");
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_job_round_trip),
		STORE_TEST(test_job_round_trip_empty),
		STORE_TEST(test_job_zero_step_not_null),
		STORE_TEST(test_job_upsert_replaces),
		STORE_TEST(test_get_job_missing),
		STORE_TEST(test_list_jobs_order),
		STORE_TEST(test_list_jobs_empty),
		STORE_TEST(test_attempt_round_trip),
		STORE_TEST(test_attempt_upsert_and_list_all),
		STORE_TEST(test_attempt_needs_job),
		STORE_TEST(test_checkpoint_round_trip),
		STORE_TEST(test_checkpoint_delete),
		STORE_TEST(test_checkpoint_upsert),
		STORE_TEST(test_instance_round_trip),
		STORE_TEST(test_instance_label_unique),
		STORE_TEST(test_meta),
		STORE_TEST(test_reopen_keeps_everything),
		STORE_TEST(test_wal_mode_and_header),
		STORE_TEST(test_file_is_private),
		STORE_TEST(test_version_1_migrated),
		STORE_TEST(test_newer_schema_rejected),
		STORE_TEST(test_foreign_file_rejected),
		STORE_TEST(test_open_missing_folder),
		cmocka_unit_test(test_open_in_memory),
		STORE_TEST(test_second_handle_sees_commits),
		STORE_TEST(test_rollback_discards),
		STORE_TEST(test_transaction_misuse),
		STORE_TEST(test_locked_database_error),
		STORE_TEST(test_invalid_records_rejected),
		STORE_TEST(test_bad_rows_reported),
		STORE_TEST(test_text_too_long_reported),
		STORE_TEST(test_callback_stops_listing),
		STORE_TEST(test_nested_listing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
