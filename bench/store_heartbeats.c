/*
 * store_heartbeats.c - measures put_attempt throughput of the SQLite job
 * store, the write that hoistd's heartbeat flush repeats for every live
 * attempt.
 *
 * Usage: store_heartbeats [UPDATES [FOLDER]]
 *
 * Creates a store in a new temporary folder under FOLDER (default $TMPDIR
 * or /tmp) and saves 100 running jobs with one attempt each.  Then it
 * writes UPDATES heartbeats (default 20000) to those attempts twice: in
 * batches of 1000 per transaction, and with one transaction per update.
 * The folder is removed at the end.  Pick a FOLDER on the disk that
 * hoistd would use, because on tmpfs no write reaches a device.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "orchestrator/store.h"

#define JOBS 100
#define BATCH 1000
#define DEFAULT_UPDATES 20000
#define MAX_UPDATES 10000000L

static double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_attempt(struct hoist_attempt_record *a, int job)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->job_id, sizeof(a->job_id), "j-%08x", job);
	a->number = 1;
	a->state = HOIST_ATTEMPT_RUNNING;
	memset(a->token_sha256, 'a', 64);
	snprintf(a->instance_id, sizeof(a->instance_id), "local-%08x", job);
	a->created_at = 1790000000000;
	a->started_at = 1790000001000;
	a->resumed_from_step = -1;
	a->last_step = 0;
	a->last_heartbeat_at = 1790000001000;
	a->exit_code = -1;
}

static int save_jobs(struct hoist_store *store,
		     struct hoist_attempt_record *attempts,
		     struct hoist_err *err)
{
	struct hoist_job_record job;

	if (store->ops->begin(store, err) < 0)
		return -1;
	for (int i = 0; i < JOBS; i++) {
		memset(&job, 0, sizeof(job));
		snprintf(job.id, sizeof(job.id), "j-%08x", i);
		snprintf(job.name, sizeof(job.name), "bench-%d", i);
		job.state = HOIST_JOB_RUNNING;
		job.created_at = 1790000000000 + i;
		job.attempts = 1;
		job.last_step = -1;
		make_attempt(&attempts[i], i);
		if (store->ops->put_job(store, &job, err) < 0 ||
		    store->ops->put_attempt(store, &attempts[i], err) < 0)
			goto fail;
	}
	return store->ops->commit(store, err);
fail:
	store->ops->rollback(store, NULL);
	return -1;
}

/* Writes one heartbeat: the next step of attempt i. */
static int put_heartbeat(struct hoist_store *store,
			 struct hoist_attempt_record *attempts, long i,
			 struct hoist_err *err)
{
	struct hoist_attempt_record *a = &attempts[i % JOBS];

	a->last_step++;
	a->last_heartbeat_at += 2000;
	return store->ops->put_attempt(store, a, err);
}

/* Writes updates heartbeats and commits after every batch of them. */
static int run(struct hoist_store *store,
	       struct hoist_attempt_record *attempts, long updates,
	       long batch, double *seconds, struct hoist_err *err)
{
	double start = mono_seconds();

	for (long done = 0; done < updates;) {
		if (store->ops->begin(store, err) < 0)
			return -1;
		for (long j = 0; j < batch && done < updates; j++, done++) {
			if (put_heartbeat(store, attempts, done, err) < 0) {
				store->ops->rollback(store, NULL);
				return -1;
			}
		}
		if (store->ops->commit(store, err) < 0)
			return -1;
	}
	*seconds = mono_seconds() - start;
	return 0;
}

static void report(const char *mode, long updates, double seconds)
{
	printf("%-34s %8ld updates in %7.3f s: %9.0f updates/s, "
	       "%7.2f us/update\n", mode, updates, seconds,
	       (double)updates / seconds, seconds * 1e6 / (double)updates);
}

int main(int argc, char **argv)
{
	struct hoist_attempt_record attempts[JOBS];
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_store *store = NULL;
	const char *parent = getenv("TMPDIR");
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	long updates = DEFAULT_UPDATES;
	double batched = 0.0;
	double single = 0.0;
	char *end;
	int status = 1;

	if (argc > 3 || (argc > 1 && strcmp(argv[1], "--help") == 0)) {
		fprintf(stderr, "usage: %s [UPDATES [FOLDER]]\n", argv[0]);
		return 2;
	}
	if (argc > 1) {
		errno = 0;
		updates = strtol(argv[1], &end, 10);
		if (errno || *end || updates < 1 || updates > MAX_UPDATES) {
			fprintf(stderr, "store_heartbeats: invalid UPDATES "
				"'%s': expected a count from 1 to %ld\n",
				argv[1], MAX_UPDATES);
			return 2;
		}
	}
	if (argc > 2)
		parent = argv[2];
	if (!parent || !*parent)
		parent = "/tmp";

	snprintf(dir, sizeof(dir), "%s/hoist-bench-XXXXXX", parent);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "store_heartbeats: cannot create a folder "
			"in '%s': %s\n", parent, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/hoist.db", dir);

	if (hoist_store_sqlite_open(path, &store, &err) < 0 ||
	    save_jobs(store, attempts, &err) < 0 ||
	    run(store, attempts, updates, BATCH, &batched, &err) < 0 ||
	    run(store, attempts, updates, 1, &single, &err) < 0) {
		fprintf(stderr, "store_heartbeats: %s\n", err.msg);
		goto out;
	}

	printf("SQLite %s, WAL, synchronous=NORMAL, %d attempts, store "
	       "in %s\n", sqlite3_libversion(), JOBS, parent);
	report("batched (1000 per transaction):", updates, batched);
	report("one transaction per update:", updates, single);
	printf("speed-up of batching: %.1fx\n", single / batched);
	status = 0;
out:
	hoist_store_close(store);
	hoist_err_clear(&err);
	if (hoist_util_remove_tree(dir, &err) < 0)
		fprintf(stderr, "store_heartbeats: %s\n", err.msg);
	return status;
}
