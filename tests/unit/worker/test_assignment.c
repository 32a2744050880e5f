/* Unit tests of the assignment parser (src/worker/assignment.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "worker/assignment.h"

static const char valid_doc[] =
	"{\"job_id\": \"j-3f9a2c1d\", \"attempt\": 2,"
	" \"command\": [\"/usr/bin/python3\", \"train.py\", \"--steps\", \"9\"],"
	" \"workdir\": \"/abs/path\", \"env\": {\"LR\": \"0.05\", \"_X1\": \"\"},"
	" \"grace_seconds\": 20, \"checkpoint_interval_seconds\": 30,"
	" \"heartbeat_interval_ms\": 2000,"
	" \"storage_url\": \"file:///tmp/artifacts\","
	" \"resume\": {\"step\": 250,"
	"  \"manifest_key\": \"jobs/j-3f9a2c1d/checkpoints/a1-s250/manifest.json\","
	"  \"manifest_sha256\": \"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\"},"
	" \"future_field\": [1, 2, 3]}";

/* Parses valid_doc with member name replaced by value (raw JSON), or
 * removed when value is NULL. */
static int parse_with(const char *name, const char *value,
		      struct hoist_assignment *out, struct hoist_err *err)
{
	json_t *doc = json_loads(valid_doc, 0, NULL);
	json_t *replacement;
	int rc;

	assert_non_null(doc);
	if (value) {
		replacement = json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL,
					 NULL);
		assert_non_null(replacement);
		json_object_set_new(doc, name, replacement);
	} else {
		json_object_del(doc, name);
	}
	rc = hoist_assignment_from_json(doc, out, err);
	json_decref(doc);
	return rc;
}

static void test_valid_assignment(void **state)
{
	struct hoist_assignment job;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_int_equal(hoist_assignment_parse(valid_doc, strlen(valid_doc),
						&job, &err), 0);
	assert_string_equal(job.job_id, "j-3f9a2c1d");
	assert_int_equal(job.attempt, 2);
	assert_int_equal(job.argc, 4);
	assert_string_equal(job.argv[0], "/usr/bin/python3");
	assert_string_equal(job.argv[3], "9");
	assert_null(job.argv[4]);
	assert_string_equal(job.workdir, "/abs/path");
	assert_int_equal(job.nenv, 2);
	assert_string_equal(job.env_names[0], "LR");
	assert_string_equal(job.env_values[0], "0.05");
	assert_string_equal(job.env_values[1], "");
	assert_int_equal(job.grace_seconds, 20);
	assert_int_equal(job.checkpoint_interval_seconds, 30);
	assert_int_equal(job.heartbeat_interval_ms, 2000);
	assert_string_equal(job.storage_url, "file:///tmp/artifacts");
	assert_true(job.has_resume);
	assert_int_equal(job.resume.step, 250);
	assert_string_equal(job.resume.manifest_key,
			    "jobs/j-3f9a2c1d/checkpoints/a1-s250/manifest.json");
	/* The digest is stored in lowercase. */
	assert_string_equal(job.resume.manifest_sha256,
			    "abcdef0123456789abcdef0123456789"
			    "abcdef0123456789abcdef0123456789");
	hoist_assignment_release(&job);
	assert_null(job.argv);
}

static void test_fresh_start(void **state)
{
	struct hoist_assignment job;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_int_equal(parse_with("resume", "null", &job, &err), 0);
	assert_false(job.has_resume);
	hoist_assignment_release(&job);

	assert_int_equal(parse_with("resume", NULL, &job, &err), 0);
	assert_false(job.has_resume);
	hoist_assignment_release(&job);

	assert_int_equal(parse_with("env", NULL, &job, &err), 0);
	assert_int_equal(job.nenv, 0);
	hoist_assignment_release(&job);
}

struct invalid_case {
	const char *name;
	const char *value;	/* raw JSON, NULL to remove the member */
	const char *expected;	/* part of the error message */
};

static const struct invalid_case invalid_cases[] = {
	{ "job_id", NULL, "'job_id' is missing" },
	{ "job_id", "42", "'job_id' must be a string" },
	{ "job_id", "\"\"", "'job_id' is invalid" },
	{ "job_id", "\"j 1\"", "'job_id' is invalid" },
	{ "job_id", "\".hidden\"", "'job_id' is invalid" },
	{ "job_id", "\"j/../x\"", "'job_id' is invalid" },
	{ "job_id", "\"j\\u0000x\"", "contains a NUL byte" },
	{ "attempt", NULL, "'attempt' is missing" },
	{ "attempt", "0", "'attempt' is 0, expected 1 to" },
	{ "attempt", "1.0", "'attempt' must be an integer" },
	{ "attempt", "\"1\"", "'attempt' must be an integer" },
	{ "attempt", "4294967296", "'attempt' is 4294967296" },
	{ "command", NULL, "'command' is missing" },
	{ "command", "\"python3 train.py\"", "must be an array of strings" },
	{ "command", "[]", "'command' has 0 elements" },
	{ "command", "[\"python3\", 7]", "element 1 must be a string" },
	{ "command", "[\"\"]", "empty program name" },
	{ "command", "[\"a\\u0000b\"]", "element 0 must be a string" },
	{ "workdir", NULL, "'workdir' is missing" },
	{ "workdir", "\"rel/path\"", "must be an absolute path" },
	{ "env", "[]", "'env' must be an object" },
	{ "env", "{\"1X\": \"a\"}", "invalid variable name '1X'" },
	{ "env", "{\"A=B\": \"a\"}", "invalid variable name" },
	{ "env", "{\"\": \"a\"}", "invalid variable name" },
	{ "env", "{\"A\": 1}", "variable 'A' must be a string" },
	{ "grace_seconds", NULL, "'grace_seconds' is missing" },
	{ "grace_seconds", "-1", "'grace_seconds' is -1" },
	{ "grace_seconds", "86401", "'grace_seconds' is 86401" },
	{ "checkpoint_interval_seconds", "-5", "is -5" },
	{ "heartbeat_interval_ms", "99", "'heartbeat_interval_ms' is 99" },
	{ "heartbeat_interval_ms", "600001", "is 600001" },
	{ "heartbeat_interval_ms", "\"fast\"", "must be an integer" },
	{ "storage_url", NULL, "'storage_url' is missing" },
	{ "storage_url", "\"\"", "'storage_url' is empty" },
	{ "resume", "[]", "'resume' must be an object or null" },
	{ "resume", "{\"manifest_key\": \"a/b\", \"manifest_sha256\": "
	  "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	  "in 'resume': assignment field 'step' is missing" },
	{ "resume", "{\"step\": -1}", "'step' is -1" },
	{ "resume", "{\"step\": 1, \"manifest_key\": \"a/../b\", "
	  "\"manifest_sha256\": "
	  "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	  "'resume.manifest_key' is not a valid object key" },
	{ "resume", "{\"step\": 1, \"manifest_key\": \"/abs\", "
	  "\"manifest_sha256\": "
	  "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	  "not a valid object key" },
	{ "resume", "{\"step\": 1, \"manifest_key\": \"a//b\", "
	  "\"manifest_sha256\": "
	  "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	  "not a valid object key" },
	{ "resume", "{\"step\": 1, \"manifest_key\": \"a/b\", "
	  "\"manifest_sha256\": \"abc\"}",
	  "must be 64 hex digits, got 3 characters" },
	{ "resume", "{\"step\": 1, \"manifest_key\": \"a/b\", "
	  "\"manifest_sha256\": "
	  "\"000000000000000000000000000000000000000000000000000000000000000g\"}",
	  "must be 64 hex digits" },
	{ "resume", "{\"step\": 1, \"manifest_key\": \"a/b\"}",
	  "'manifest_sha256' is missing" },
};

static void test_invalid_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]);
	     i++) {
		const struct invalid_case *c = &invalid_cases[i];
		struct hoist_assignment job;
		struct hoist_err err = HOIST_ERR_INIT;

		if (parse_with(c->name, c->value, &job, &err) == 0)
			fail_msg("case %zu (%s = %s) was accepted", i, c->name,
				 c->value ? c->value : "missing");
		assert_int_equal(err.code, HOIST_E_INVALID);
		if (!strstr(err.msg, c->expected))
			fail_msg("case %zu: error '%s' lacks '%s'", i, err.msg,
				 c->expected);
		/* A failed parse leaves nothing to release. */
		assert_null(job.argv);
		assert_null(job.workdir);
	}
}

static void test_not_an_object(void **state)
{
	static const char *const texts[] = {
		"", "[]", "null", "\"text\"", "{\"job_id\": ", "{} trailing",
		"{\"job_id\": \"a\", \"job_id\": \"b\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct hoist_assignment job;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_assignment_parse(texts[i],
							strlen(texts[i]),
							&job, &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
	}
}

static void test_env_name_valid(void **state)
{
	char long_name[300];

	(void)state;
	assert_true(hoist_assignment_env_name_valid("PATH"));
	assert_true(hoist_assignment_env_name_valid("_a9"));
	assert_false(hoist_assignment_env_name_valid(""));
	assert_false(hoist_assignment_env_name_valid("9A"));
	assert_false(hoist_assignment_env_name_valid("A-B"));
	assert_false(hoist_assignment_env_name_valid("A B"));
	memset(long_name, 'A', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(hoist_assignment_env_name_valid(long_name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_assignment),
		cmocka_unit_test(test_fresh_start),
		cmocka_unit_test(test_invalid_fields),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_env_name_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
