/*
 * Unit tests of the log and metrics spool of hoistd (spool.c) on a
 * file:// store: what the writer thread stores, how it joins log chunks,
 * what a full queue drops, and that stopping flushes the queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "orchestrator/daemon.h"

#define JOB "j-5p001abc"

struct fixture {
	struct hoist_daemon daemon;
	char root[256];
	FILE *log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct hoist_err err = HOIST_ERR_INIT;
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/hoist-spool-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->daemon.storage_url, sizeof(f->daemon.storage_url),
		 "file://%s", f->root);
	/* A long flush period, so only stopping and a half-full queue write. */
	f->daemon.settings.flush_ms = 60000;
	f->log = tmpfile();
	assert_non_null(f->log);
	hoist_log_init("test_spool", HOIST_LOG_DEBUG, fileno(f->log),
		       HOIST_LOG_TEXT);
	if (hoist_spool_start(&f->daemon, &err))
		fail_msg("hoist_spool_start failed: %s", err.msg);
	assert_non_null(f->daemon.spool);
	if (hoist_artifact_open(f->daemon.storage_url, &f->daemon.artifacts,
				&err))
		fail_msg("cannot open the store: %s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char command[300];

	hoist_spool_stop(&f->daemon, 1000);
	hoist_artifact_close(f->daemon.artifacts);
	fclose(f->log);
	snprintf(command, sizeof(command), "rm -rf '%s'", f->root);
	assert_int_equal(system(command), 0);
	free(f);
	return 0;
}

/* Returns the stored object at key as a string that the caller frees, or
 * NULL when it is missing. */
static char *read_object(struct fixture *f, const char *key)
{
	struct hoist_artifact_store *store = f->daemon.artifacts;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf buf;
	char *text;

	hoist_buf_init(&buf, 1u << 26);
	if (store->ops->get_bytes(store, key, &buf, &err)) {
		hoist_buf_release(&buf);
		return NULL;
	}
	text = strdup(hoist_buf_str(&buf));
	hoist_buf_release(&buf);
	return text;
}

static int count_key(const char *key, uint64_t size, void *arg)
{
	(void)key;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

static int count_objects(struct fixture *f, const char *prefix)
{
	struct hoist_artifact_store *store = f->daemon.artifacts;
	struct hoist_err err = HOIST_ERR_INIT;
	int count = 0;

	assert_int_equal(store->ops->list(store, prefix, count_key, &count,
					  &err), 0);
	return count;
}

static char *read_log(struct fixture *f)
{
	char *text;
	long len;

	fflush(f->log);
	len = ftell(f->log);
	assert_true(len >= 0);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	rewind(f->log);
	assert_int_equal(fread(text, 1, (size_t)len, f->log), (size_t)len);
	return text;
}

static void contiguous_log_chunks_join(void **state)
{
	struct fixture *f = *state;
	char *text;

	hoist_spool_add_log(f->daemon.spool, JOB, 1, 0, "hello ", 6);
	hoist_spool_add_log(f->daemon.spool, JOB, 1, 6, "world\n", 6);
	/* This chunk does not continue the first two, so it is an object of
	 * its own. */
	hoist_spool_add_log(f->daemon.spool, JOB, 1, 100, "later\n", 6);
	/* Another attempt. */
	hoist_spool_add_log(f->daemon.spool, JOB, 2, 0, "again\n", 6);
	hoist_spool_stop(&f->daemon, 5000);
	assert_null(f->daemon.spool);

	text = read_object(f, "jobs/" JOB "/logs/a1/00000000000000000000.log");
	assert_non_null(text);
	assert_string_equal(text, "hello world\n");
	free(text);
	text = read_object(f, "jobs/" JOB "/logs/a1/00000000000000000100.log");
	assert_non_null(text);
	assert_string_equal(text, "later\n");
	free(text);
	text = read_object(f, "jobs/" JOB "/logs/a2/00000000000000000000.log");
	assert_non_null(text);
	assert_string_equal(text, "again\n");
	free(text);
	assert_int_equal(count_objects(f, "jobs/" JOB "/logs/"), 3);
}

static int keep_key(const char *key, uint64_t size, void *arg)
{
	(void)size;
	snprintf(arg, 512, "%s", key);
	return 0;
}

static void metrics_batch_into_lines(void **state)
{
	struct fixture *f = *state;
	struct hoist_artifact_store *store = f->daemon.artifacts;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *step1 = json_integer(10), *step2 = json_integer(20);
	json_t *metrics = json_pack("{s:f}", "loss", 1.5);
	const json_int_t steps[] = { 10, 20, -1 };
	char key[512] = "";
	char *text, *line, *next;
	int count = 0;

	hoist_spool_add_metrics(f->daemon.spool, JOB, 1, step1, metrics);
	hoist_spool_add_metrics(f->daemon.spool, JOB, 1, step2, metrics);
	hoist_spool_add_metrics(f->daemon.spool, JOB, 1, NULL, metrics);
	json_decref(step1);
	json_decref(step2);
	json_decref(metrics);
	hoist_spool_stop(&f->daemon, 5000);

	/* The batch is one object of three JSON lines, in order. */
	assert_int_equal(count_objects(f, "jobs/" JOB "/metrics/a1/"), 1);
	assert_int_equal(store->ops->list(store, "jobs/" JOB "/metrics/a1/",
					  keep_key, key, &err), 0);
	assert_int_equal(strlen(key), strlen("jobs/" JOB "/metrics/a1/") +
			 16 + strlen(".jsonl"));
	text = read_object(f, key);
	assert_non_null(text);
	for (line = text; *line; line = next) {
		json_t *doc, *step;

		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';
		assert_true(count < 3);
		doc = json_loads(line, 0, NULL);
		assert_non_null(doc);
		step = json_object_get(doc, "step");
		if (steps[count] < 0)
			assert_true(json_is_null(step));
		else
			assert_int_equal(json_integer_value(step),
					 steps[count]);
		assert_true(json_real_value(json_object_get(
			json_object_get(doc, "metrics"), "loss")) == 1.5);
		assert_true(json_is_integer(json_object_get(doc, "time_ms")));
		json_decref(doc);
		count++;
	}
	assert_int_equal(count, 3);
	free(text);
}

static void full_queue_drops_and_warns(void **state)
{
	struct fixture *f = *state;
	size_t len = HOIST_SPOOL_BYTES_MAX + 1;
	char *big = malloc(len);
	char *log;

	assert_non_null(big);
	memset(big, 'x', len);
	hoist_spool_add_log(f->daemon.spool, JOB, 1, 0, big, len);
	hoist_spool_add_log(f->daemon.spool, JOB, 1, (long long)len, "kept\n",
			    5);
	free(big);
	hoist_spool_stop(&f->daemon, 5000);

	assert_int_equal(count_objects(f, "jobs/" JOB "/logs/"), 1);
	log = read_log(f);
	assert_non_null(strstr(log, "job=" JOB " and maybe others: dropped 1 "
			       "log or metrics items"));
	free(log);
}

static void stop_after_stop_is_harmless(void **state)
{
	struct fixture *f = *state;

	hoist_spool_stop(&f->daemon, 1000);
	assert_null(f->daemon.spool);
	/* The add functions ignore a stopped (NULL) spool. */
	hoist_spool_add_log(f->daemon.spool, JOB, 1, 0, "x", 1);
	hoist_spool_stop(&f->daemon, 1000);
	assert_int_equal(count_objects(f, "jobs/"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(contiguous_log_chunks_join,
						setup, teardown),
		cmocka_unit_test_setup_teardown(metrics_batch_into_lines,
						setup, teardown),
		cmocka_unit_test_setup_teardown(full_queue_drops_and_warns,
						setup, teardown),
		cmocka_unit_test_setup_teardown(stop_after_stop_is_harmless,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
