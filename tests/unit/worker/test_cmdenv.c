/* Unit tests of the command environment (src/worker/cmdenv.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "worker/cmdenv.h"

/* Returns the value of name in env, or NULL; fails if it appears twice. */
static const char *lookup(char **env, const char *name)
{
	size_t len = strlen(name);
	const char *found = NULL;

	for (size_t i = 0; env[i]; i++) {
		if (strncmp(env[i], name, len) != 0 || env[i][len] != '=')
			continue;
		if (found)
			fail_msg("%s appears twice", name);
		found = env[i] + len + 1;
	}
	return found;
}

static char *job_env_names[] = { "LR", "PATH", "HOIST_JOB_ID" };
static char *job_env_values[] = { "0.05", "/job/bin", "forged" };
static char *job_argv[] = { "/usr/bin/python3", NULL };

static void fill_job(struct hoist_assignment *job)
{
	memset(job, 0, sizeof(*job));
	strcpy(job->job_id, "j-3f9a2c1d");
	job->attempt = 2;
	job->argv = job_argv;
	job->argc = 1;
	job->env_names = job_env_names;
	job->env_values = job_env_values;
	job->nenv = 3;
	job->checkpoint_interval_seconds = 30;
}

static const struct hoist_cmdenv_paths resume_paths = {
	.checkpoint_dir = "/w/checkpoints",
	.resume_dir = "/w/resume",
	.resume_step = "250",
	.metrics_file = "/w/metrics.jsonl",
};

static void test_drops_agent_secrets(void **state)
{
	char *parent[] = {
		"HOME=/root",
		"HOIST_AGENT_TOKEN=secret-token",
		"HOIST_ORCHESTRATOR_URL=http://127.0.0.1:7341",
		"HOIST_AGENT_TOKENX=kept",
		"HOIST_AGENT_LOG_LEVEL=debug",
		NULL,
	};
	struct hoist_assignment job;
	struct hoist_err err = HOIST_ERR_INIT;
	char **env;

	(void)state;
	fill_job(&job);
	assert_int_equal(hoist_cmdenv_build(parent, &job, &resume_paths, &env,
					    &err), 0);
	assert_null(lookup(env, "HOIST_AGENT_TOKEN"));
	assert_null(lookup(env, "HOIST_ORCHESTRATOR_URL"));
	for (size_t i = 0; env[i]; i++)
		assert_null(strstr(env[i], "secret-token"));
	assert_string_equal(lookup(env, "HOME"), "/root");
	assert_string_equal(lookup(env, "HOIST_AGENT_TOKENX"), "kept");
	assert_string_equal(lookup(env, "HOIST_AGENT_LOG_LEVEL"), "debug");
	hoist_cmdenv_free(env);
}

static void test_contract_variables(void **state)
{
	char *parent[] = { "PATH=/usr/bin", "LR=1", NULL };
	struct hoist_assignment job;
	struct hoist_err err = HOIST_ERR_INIT;
	char **env;

	(void)state;
	fill_job(&job);
	assert_int_equal(hoist_cmdenv_build(parent, &job, &resume_paths, &env,
					    &err), 0);
	/* The job's env replaces the agent's. */
	assert_string_equal(lookup(env, "PATH"), "/job/bin");
	assert_string_equal(lookup(env, "LR"), "0.05");
	/* The contract variables replace the job's. */
	assert_string_equal(lookup(env, "HOIST_JOB_ID"), "j-3f9a2c1d");
	assert_string_equal(lookup(env, "HOIST_ATTEMPT"), "2");
	assert_string_equal(lookup(env, "HOIST_CHECKPOINT_DIR"),
			    "/w/checkpoints");
	assert_string_equal(lookup(env, "HOIST_RESUME_DIR"), "/w/resume");
	assert_string_equal(lookup(env, "HOIST_RESUME_STEP"), "250");
	assert_string_equal(lookup(env, "HOIST_METRICS_FILE"),
			    "/w/metrics.jsonl");
	assert_string_equal(lookup(env, "HOIST_CHECKPOINT_INTERVAL"), "30");
	hoist_cmdenv_free(env);
}

static void test_fresh_start_empty_resume(void **state)
{
	static const struct hoist_cmdenv_paths fresh = {
		.checkpoint_dir = "/w/checkpoints",
		.resume_dir = "",
		.resume_step = "",
		.metrics_file = "/w/metrics.jsonl",
	};
	char *parent[] = { "HOIST_RESUME_DIR=/stale", "NOEQUALS", "=x", NULL };
	struct hoist_assignment job;
	struct hoist_err err = HOIST_ERR_INIT;
	char **env;
	size_t n = 0;

	(void)state;
	fill_job(&job);
	job.nenv = 0;
	assert_int_equal(hoist_cmdenv_build(parent, &job, &fresh, &env, &err),
			 0);
	assert_string_equal(lookup(env, "HOIST_RESUME_DIR"), "");
	assert_string_equal(lookup(env, "HOIST_RESUME_STEP"), "");
	/* Entries without a name are dropped: only the 7 contract
	 * variables remain. */
	while (env[n])
		n++;
	assert_int_equal(n, 7);
	hoist_cmdenv_free(env);
}

static void test_empty_parent(void **state)
{
	struct hoist_assignment job;
	struct hoist_err err = HOIST_ERR_INIT;
	char **env;

	(void)state;
	fill_job(&job);
	assert_int_equal(hoist_cmdenv_build(NULL, &job, &resume_paths, &env,
					    &err), 0);
	assert_string_equal(lookup(env, "LR"), "0.05");
	hoist_cmdenv_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drops_agent_secrets),
		cmocka_unit_test(test_contract_variables),
		cmocka_unit_test(test_fresh_start_empty_resume),
		cmocka_unit_test(test_empty_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
