/*
 * Unit tests of the presign scopes of hoistd (presign.c): which S3
 * requests an agent or the CLI may get a presigned URL for, for a job's
 * prefix and for the datasets scope (job_id NULL).  A real S3 store is
 * opened with fake credentials on an endpoint that is never contacted,
 * because presigning is computed locally.
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

#include "common/log.h"
#include "orchestrator/daemon.h"
#include "storage/s3.h"

#define STORE_URL "s3://hoist-unit/store?endpoint=http://127.0.0.1:9&" \
		  "region=eu-west-3"
#define JOB "j-0123abcd"

struct fixture {
	struct hoist_daemon daemon;
	FILE *log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct hoist_err err = HOIST_ERR_INIT;

	assert_non_null(f);
	setenv("AWS_ACCESS_KEY_ID", "AKIAUNITTEST00000001", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "unitTestSecret/Not+Real", 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_CONFIG_FILE", "/nonexistent/hoist-unit/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE",
	       "/nonexistent/hoist-unit/credentials", 1);
	snprintf(f->daemon.storage_url, sizeof(f->daemon.storage_url), "%s",
		 STORE_URL);
	if (hoist_artifact_open(STORE_URL, &f->daemon.artifacts, &err))
		fail_msg("cannot open the store: %s", err.msg);
	if (hoist_presign_init(&f->daemon, &err))
		fail_msg("hoist_presign_init failed: %s", err.msg);
	assert_non_null(f->daemon.presigner);
	f->log = tmpfile();
	assert_non_null(f->log);
	hoist_log_init("test_presign", HOIST_LOG_DEBUG, fileno(f->log),
		       HOIST_LOG_TEXT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hoist_log_init("test_presign", HOIST_LOG_WARN, -1, HOIST_LOG_TEXT);
	hoist_presign_release(&f->daemon);
	hoist_artifact_close(f->daemon.artifacts);
	fclose(f->log);
	free(f);
	return 0;
}

/* Presigns body_text for job_id.  Returns 1 if a URL came back and 0 if
 * the request was rejected as out of scope.  Any other error fails the
 * test. */
static int presign(struct fixture *f, const char *job_id,
		   const char *body_text)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_error_t parse_error;
	json_t *body = json_loads(body_text, 0, &parse_error);
	json_t *reply = NULL;
	int forbidden = 0, rc;

	if (!body)
		fail_msg("invalid test body %s: %s", body_text,
			 parse_error.text);
	rc = hoist_presign_request(&f->daemon, job_id, "the test", body,
				   &reply, &forbidden, &err);
	json_decref(body);
	if (rc == 0) {
		const char *url = json_string_value(json_object_get(reply,
								    "url"));

		assert_non_null(url);
		assert_non_null(strstr(url, "X-Amz-Signature="));
		json_decref(reply);
		return 1;
	}
	assert_null(reply);
	if (!forbidden)
		fail_msg("%s: failed without being out of scope: %s",
			 body_text, err.msg);
	return 0;
}

/* Returns the log lines written since the fixture started. */
static char *read_log(struct fixture *f)
{
	long size;
	char *text;

	fflush(f->log);
	size = lseek(fileno(f->log), 0, SEEK_END);
	assert_true(size >= 0);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(pread(fileno(f->log), text, (size_t)size, 0), size);
	return text;
}

struct scope_case {
	const char *body;
	int allowed;
};

static void run_cases(struct fixture *f, const char *job_id,
		      const struct scope_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int allowed = presign(f, job_id, cases[i].body);

		if (allowed != cases[i].allowed)
			fail_msg("%s scope: %s was %s, expected %s",
				 job_id ? job_id : "datasets", cases[i].body,
				 allowed ? "presigned" : "rejected",
				 cases[i].allowed ? "presigned" : "rejected");
	}
}

static void test_datasets_scope_allows_staging(void **state)
{
	static const struct scope_case cases[] = {
		{ "{\"method\":\"HEAD\",\"key\":\"datasets/sha256/ab\"}", 1 },
		{ "{\"method\":\"GET\",\"key\":\"datasets/manifests/ab.json\"}",
		  1 },
		{ "{\"method\":\"PUT\",\"key\":\"datasets/sha256/ab\"}", 1 },
		{ "{\"method\":\"POST\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"uploads\":\"\"}}", 1 },
		{ "{\"method\":\"PUT\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"partNumber\":\"3\",\"uploadId\":\"u1\"}}", 1 },
		{ "{\"method\":\"POST\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"uploadId\":\"u1\"}}", 1 },
		{ "{\"method\":\"DELETE\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"uploadId\":\"u1\"}}", 1 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"store/datasets/sha256/ab\"}}", 1 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"store/datasets/\",\"max-keys\":\"100\","
		  "\"continuation-token\":\"t\"}}", 1 },
	};
	struct fixture *f = *state;

	run_cases(f, NULL, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_datasets_scope_rejects_others(void **state)
{
	static const struct scope_case cases[] = {
		/* Keys outside datasets/. */
		{ "{\"method\":\"GET\",\"key\":\"jobs/" JOB "/x\"}", 0 },
		{ "{\"method\":\"PUT\",\"key\":\"jobs/" JOB "/x\"}", 0 },
		{ "{\"method\":\"PUT\",\"key\":\"datasetsX/a\"}", 0 },
		{ "{\"method\":\"PUT\",\"key\":\"datasets\"}", 0 },
		{ "{\"method\":\"PUT\",\"key\":\"other/datasets/a\"}", 0 },
		{ "{\"method\":\"GET\",\"key\":\"datasets/../jobs/x\"}", 0 },
		/* No DELETE of a whole object, and no unknown operation. */
		{ "{\"method\":\"DELETE\",\"key\":\"datasets/sha256/ab\"}", 0 },
		{ "{\"method\":\"POST\",\"key\":\"datasets/sha256/ab\"}", 0 },
		{ "{\"method\":\"PUT\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"partNumber\":\"3\"}}", 0 },
		{ "{\"method\":\"GET\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"uploadId\":\"u1\"}}", 0 },
		{ "{\"method\":\"POST\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"uploads\":\"\",\"uploadId\":\"u1\"}}", 0 },
		{ "{\"method\":\"PUT\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"x-id\":\"CopyObject\"}}", 0 },
		{ "{\"method\":\"GET\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"uploadId\":7}}", 0 },
		/* Listings outside datasets/, or not a listing. */
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"store/jobs/\"}}", 0 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"store/\"}}", 0 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"datasets/\"}}", 0 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"store/datasets/../jobs/\"}}", 0 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\"}}", 0 },
		{ "{\"method\":\"DELETE\",\"key\":null,\"query\":{\"prefix\":"
		  "\"store/datasets/\"}}", 0 },
	};
	struct fixture *f = *state;

	run_cases(f, NULL, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_job_scope_limits(void **state)
{
	static const struct scope_case cases[] = {
		{ "{\"method\":\"PUT\",\"key\":\"jobs/" JOB "/a\"}", 1 },
		{ "{\"method\":\"DELETE\",\"key\":\"jobs/" JOB "/a\"}", 1 },
		{ "{\"method\":\"GET\",\"key\":\"datasets/sha256/ab\"}", 1 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"store/jobs/" JOB "/\"}}", 1 },
		{ "{\"method\":\"PUT\",\"key\":\"datasets/sha256/ab\"}", 0 },
		{ "{\"method\":\"POST\",\"key\":\"datasets/sha256/ab\","
		  "\"query\":{\"uploads\":\"\"}}", 0 },
		{ "{\"method\":\"PUT\",\"key\":\"jobs/j-other/a\"}", 0 },
		{ "{\"method\":\"GET\",\"key\":null,\"query\":{\"list-type\":"
		  "\"2\",\"prefix\":\"store/datasets/\"}}", 0 },
	};
	struct fixture *f = *state;

	run_cases(f, JOB, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_datasets_log_has_no_job(void **state)
{
	struct fixture *f = *state;
	char *log;

	assert_int_equal(presign(f, NULL, "{\"method\":\"PUT\",\"key\":"
				 "\"jobs/" JOB "/x\"}"), 0);
	assert_int_equal(presign(f, JOB, "{\"method\":\"PUT\",\"key\":"
				 "\"datasets/x\"}"), 0);
	log = read_log(f);
	assert_non_null(strstr(log, "scope=datasets presign put for the test "
			       "rejected: key 'jobs/" JOB "/x' is outside "
			       "datasets/"));
	assert_non_null(strstr(log, "job=" JOB " presign put for the test "
			       "rejected"));
	assert_null(strstr(log, "(null)"));
	assert_null(strstr(log, "unitTestSecret"));
	free(log);
}

static void test_file_store_has_no_presigner(void **state)
{
	struct hoist_daemon daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *body = json_pack("{s:s, s:s}", "method", "GET", "key",
				 "datasets/x");
	json_t *reply = NULL;
	char root[] = "/tmp/hoist-presign-XXXXXX";
	char url[64];
	int forbidden = 0;

	(void)state;
	assert_non_null(body);
	assert_non_null(mkdtemp(root));
	snprintf(url, sizeof(url), "file://%s", root);
	memset(&daemon, 0, sizeof(daemon));
	assert_int_equal(hoist_artifact_open(url, &daemon.artifacts, &err), 0);
	assert_int_equal(hoist_presign_init(&daemon, &err), 0);
	assert_null(daemon.presigner);
	assert_int_equal(hoist_presign_request(&daemon, NULL, "the test", body,
					       &reply, &forbidden, &err), -1);
	assert_int_equal(err.code, HOIST_E_CONFLICT);
	assert_int_equal(forbidden, 0);
	assert_null(reply);
	json_decref(body);
	hoist_artifact_close(daemon.artifacts);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_datasets_scope_allows_staging, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_datasets_scope_rejects_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_scope_limits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_datasets_log_has_no_job,
						setup, teardown),
		cmocka_unit_test(test_file_store_has_no_presigner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
