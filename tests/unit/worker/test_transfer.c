/*
 * Unit tests of the hoist-transfer protocol (src/worker/transfer_proto.c)
 * and of the child process handling (src/worker/transfer.c), with shell
 * scripts standing in for hoist-transfer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "worker/transfer.h"

extern char **environ;

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct hoist_transfer_request upload_request(void)
{
	struct hoist_transfer_request req;

	memset(&req, 0, sizeof(req));
	req.op = HOIST_TRANSFER_UPLOAD;
	req.storage_url = "file:///srv/artifacts";
	req.job_id = "j-1";
	req.attempt = 2;
	req.step = 300;
	req.dir = "/work/agent/checkpoints/step-300";
	return req;
}

static void test_request_round_trip(void **state)
{
	struct hoist_transfer_request req = upload_request();
	struct hoist_transfer_request_doc parsed;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf line;

	(void)state;
	hoist_buf_init(&line, HOIST_TRANSFER_LINE_MAX);
	assert_int_equal(hoist_transfer_request_format(&req, &line, &err), 0);
	assert_int_equal(line.data[line.len - 1], '\n');
	assert_int_equal(hoist_transfer_request_parse(line.data, line.len,
						      &parsed, &err), 0);
	assert_int_equal(parsed.req.op, HOIST_TRANSFER_UPLOAD);
	assert_string_equal(parsed.req.storage_url, req.storage_url);
	assert_string_equal(parsed.req.job_id, "j-1");
	assert_int_equal(parsed.req.attempt, 2);
	assert_int_equal(parsed.req.step, 300);
	assert_string_equal(parsed.req.dir, req.dir);
	hoist_transfer_request_release(&parsed);

	req.op = HOIST_TRANSFER_RESTORE;
	req.dir = "/work/agent/resume";
	req.manifest_key = "jobs/j-1/checkpoints/a1-s300/manifest.json";
	req.manifest_sha256 = SHA_A;
	hoist_buf_reset(&line);
	assert_int_equal(hoist_transfer_request_format(&req, &line, &err), 0);
	assert_int_equal(hoist_transfer_request_parse(line.data, line.len,
						      &parsed, &err), 0);
	assert_int_equal(parsed.req.op, HOIST_TRANSFER_RESTORE);
	assert_string_equal(parsed.req.manifest_key, req.manifest_key);
	assert_string_equal(parsed.req.manifest_sha256, SHA_A);
	hoist_transfer_request_release(&parsed);

	req.op = HOIST_TRANSFER_CHECK;
	req.dir = NULL;
	hoist_buf_reset(&line);
	assert_int_equal(hoist_transfer_request_format(&req, &line, &err), 0);
	assert_null(strstr(line.data, "\"dir\""));
	assert_int_equal(hoist_transfer_request_parse(line.data, line.len,
						      &parsed, &err), 0);
	assert_int_equal(parsed.req.op, HOIST_TRANSFER_CHECK);
	assert_null(parsed.req.dir);
	hoist_transfer_request_release(&parsed);
	hoist_buf_release(&line);
}

static void test_request_invalid_fields(void **state)
{
	static const struct {
		const char *text;
		const char *needle;
	} cases[] = {
		{ "[1]", "not a JSON object" },
		{ "{\"op\":", "not a JSON object" },
		{ "{\"op\":\"move\"}", "'op' is 'move'" },
		{ "{\"op\":\"check\",\"job_id\":\"j\",\"attempt\":1,\"step\":0}",
		  "'storage_url' is missing" },
		{ "{\"op\":\"check\",\"storage_url\":\"\",\"job_id\":\"j\","
		  "\"attempt\":1,\"step\":0}", "'storage_url' must have" },
		{ "{\"op\":\"check\",\"storage_url\":\"file:///a\","
		  "\"job_id\":\"j\",\"attempt\":0,\"step\":0}",
		  "'attempt' must be an integer" },
		{ "{\"op\":\"check\",\"storage_url\":\"file:///a\","
		  "\"job_id\":\"j\",\"attempt\":1,\"step\":-1}",
		  "'step' must be an integer" },
		{ "{\"op\":\"upload\",\"storage_url\":\"file:///a\","
		  "\"job_id\":\"j\",\"attempt\":1,\"step\":1,"
		  "\"dir\":\"rel/dir\"}", "expected an absolute path" },
		{ "{\"op\":\"upload\",\"storage_url\":\"file:///a\","
		  "\"job_id\":\"j\",\"attempt\":1,\"step\":1}",
		  "'dir' is missing" },
		{ "{\"op\":\"restore\",\"storage_url\":\"file:///a\","
		  "\"job_id\":\"j\",\"attempt\":1,\"step\":1,\"dir\":\"/r\","
		  "\"manifest_key\":\"k\",\"manifest_sha256\":\"ABC\"}",
		  "64 lowercase hex digits" },
		{ "{\"op\":\"check\",\"op\":\"upload\"}", "not a JSON object" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_transfer_request_doc parsed;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_transfer_request_parse(
			cases[i].text, strlen(cases[i].text), &parsed, &err),
			-1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		if (!strstr(err.msg, cases[i].needle))
			fail_msg("case %zu: '%s' not in '%s'", i,
				 cases[i].needle, err.msg);
		assert_null(parsed.doc);
	}
}

static void test_result_round_trip(void **state)
{
	struct hoist_transfer_result result;
	struct hoist_transfer_result parsed;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf line;

	(void)state;
	memset(&result, 0, sizeof(result));
	result.ok = 1;
	result.step = 300;
	strcpy(result.manifest_key,
	       "jobs/j-1/checkpoints/a2-s300/manifest.json");
	strcpy(result.manifest_sha256, SHA_A);
	result.files = 3;
	result.bytes = 5000000000ull;
	hoist_buf_init(&line, HOIST_TRANSFER_LINE_MAX);
	assert_int_equal(hoist_transfer_result_format(HOIST_TRANSFER_UPLOAD,
						      &result, &line, &err),
			 0);
	assert_int_equal(hoist_transfer_result_parse(HOIST_TRANSFER_UPLOAD,
						     line.data, line.len,
						     &parsed, &err), 0);
	assert_true(parsed.ok);
	assert_int_equal(parsed.step, 300);
	assert_string_equal(parsed.manifest_key, result.manifest_key);
	assert_string_equal(parsed.manifest_sha256, SHA_A);
	assert_int_equal(parsed.files, 3);
	assert_int_equal(parsed.bytes, 5000000000ull);

	memset(&result, 0, sizeof(result));
	strcpy(result.error, "cannot open '/x': No such file or directory");
	hoist_buf_reset(&line);
	assert_int_equal(hoist_transfer_result_format(HOIST_TRANSFER_RESTORE,
						      &result, &line, &err),
			 0);
	assert_int_equal(hoist_transfer_result_parse(HOIST_TRANSFER_RESTORE,
						     line.data, line.len,
						     &parsed, &err), 0);
	assert_false(parsed.ok);
	assert_string_equal(parsed.error, result.error);
	hoist_buf_release(&line);
}

static void test_result_invalid(void **state)
{
	static const char *const lines[] = {
		"not json",
		"{\"step\": 1}",
		"{\"ok\": \"yes\"}",
		"{\"ok\": false}",
		"{\"ok\": true}",
		"{\"ok\": true, \"step\": 1, \"manifest_key\": \"k\", "
		"\"manifest_sha256\": \"abc\", \"files\": 1, \"bytes\": 1}",
		"{\"ok\": true, \"step\": 1, \"manifest_key\": \"k\", "
		"\"manifest_sha256\": \"" SHA_A "\", \"files\": -1, "
		"\"bytes\": 1}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct hoist_transfer_result parsed;
		struct hoist_err err = HOIST_ERR_INIT;

		if (hoist_transfer_result_parse(HOIST_TRANSFER_UPLOAD,
						lines[i], strlen(lines[i]),
						&parsed, &err) != -1)
			fail_msg("line %zu was accepted: %s", i, lines[i]);
		assert_false(parsed.ok);
	}
}

static void test_environment_hides_secrets(void **state)
{
	char *env[] = {
		"PATH=/usr/bin", "HOIST_AGENT_TOKEN=secret",
		"HOIST_ORCHESTRATOR_URL=http://h", "HOIST_JOB_ID=j-1",
		"HOIST_AGENT_TOKENX=kept", NULL,
	};
	char **out = hoist_transfer_environment(env);

	(void)state;
	assert_non_null(out);
	assert_string_equal(out[0], "PATH=/usr/bin");
	assert_string_equal(out[1], "HOIST_JOB_ID=j-1");
	assert_string_equal(out[2], "HOIST_AGENT_TOKENX=kept");
	assert_null(out[3]);
	free(out);
}

/* ------------------------------------------------------------------ */
/* The child process, with scripts in place of hoist-transfer          */
/* ------------------------------------------------------------------ */

static char script_dir[] = "/tmp/hoist-test-transfer-XXXXXX";

static const char *write_script(const char *name, const char *body)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", script_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static int setup_scripts(void **state)
{
	(void)state;
	return mkdtemp(script_dir) ? 0 : -1;
}

static int remove_scripts(void **state)
{
	char command[300];

	(void)state;
	snprintf(command, sizeof(command), "rm -rf '%s'", script_dir);
	return system(command) == 0 ? 0 : -1;
}

/* Runs program to its end and returns its result. */
static void run_to_end(const char *program, struct hoist_transfer_result *out)
{
	struct hoist_transfer_request req = upload_request();
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_transfer t;
	int64_t deadline = hoist_clock_mono_ms() + 10000;
	sigset_t mask;

	sigemptyset(&mask);
	hoist_transfer_init(&t);
	assert_int_equal(hoist_transfer_start(&t, program, &req, environ,
					      &mask, &err), 0);
	assert_true(hoist_transfer_active(&t));
	while (!hoist_transfer_poll(&t)) {
		struct pollfd pfd = { t.result_fd, POLLIN, 0 };

		assert_true(hoist_clock_mono_ms() < deadline);
		poll(&pfd, t.result_fd >= 0 ? 1 : 0, 10);
	}
	hoist_transfer_collect(&t, out);
	assert_false(hoist_transfer_active(&t));
	hoist_transfer_release(&t);
}

static void test_child_result_line(void **state)
{
	struct hoist_transfer_result result;
	const char *program;

	(void)state;
	/* The script checks its request and that SIGTERM is ignored. */
	program = write_script("ok", "read line\n"
		"case \"$line\" in *'\"op\":\"upload\"'*'\"step\":300'*) ;;"
		" *) exit 5;; esac\n"
		"kill -TERM $$\n"
		"echo '{\"ok\":true,\"step\":300,\"manifest_key\":\"k\","
		"\"manifest_sha256\":\"" SHA_A "\",\"files\":1,"
		"\"bytes\":2}'\n");
	run_to_end(program, &result);
	assert_true(result.ok);
	assert_string_equal(result.manifest_key, "k");
	assert_int_equal(result.bytes, 2);
}

static void test_child_failure_line(void **state)
{
	struct hoist_transfer_result result;
	const char *program;

	(void)state;
	program = write_script("fail", "cat >/dev/null\n"
		"echo '{\"ok\":false,\"error\":\"disk full\"}'\nexit 1\n");
	run_to_end(program, &result);
	assert_false(result.ok);
	assert_string_equal(result.error, "disk full");
}

static void test_child_without_result(void **state)
{
	struct hoist_transfer_result result;
	const char *program;

	(void)state;
	program = write_script("silent", "exit 3\n");
	run_to_end(program, &result);
	assert_false(result.ok);
	assert_string_equal(result.error, "hoist-transfer exited with status "
			    "3 without writing a result");

	program = write_script("liar", "echo '{\"ok\":true,\"step\":300,"
		"\"manifest_key\":\"k\",\"manifest_sha256\":\"" SHA_A "\","
		"\"files\":1,\"bytes\":2}'\nexit 4\n");
	run_to_end(program, &result);
	assert_false(result.ok);
	assert_non_null(strstr(result.error, "after reporting success"));

	program = write_script("garbage", "echo 'hello'\n");
	run_to_end(program, &result);
	assert_false(result.ok);
	assert_non_null(strstr(result.error, "invalid result"));
}

static void test_child_exec_failure(void **state)
{
	struct hoist_transfer_result result;
	char missing[300];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing", script_dir);
	run_to_end(missing, &result);
	assert_false(result.ok);
	assert_non_null(strstr(result.error, "cannot execute"));
	assert_non_null(strstr(result.error, "No such file or directory"));
}

/* Returns 1 while pid exists and is not a zombie. */
static int process_alive(int pid)
{
	char path[64];
	char stat[512];
	char *state_field;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	state_field = strrchr(stat, ')');
	return state_field && state_field[1] == ' ' && state_field[2] != 'Z';
}

static void test_child_killed(void **state)
{
	struct hoist_transfer_request req = upload_request();
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_transfer t;
	char pid_file[300];
	char body[1100];
	const char *program;
	sigset_t mask;
	FILE *f;
	int grandchild = 0;

	(void)state;
	/* The script starts a process of its own, which the kill of the
	 * process group must reach as well. */
	snprintf(pid_file, sizeof(pid_file), "%s/pid", script_dir);
	snprintf(body, sizeof(body), "sleep 60 &\necho $! > %s.tmp\n"
		 "mv %s.tmp %s\nwait\n", pid_file, pid_file, pid_file);
	program = write_script("hang", body);
	sigemptyset(&mask);
	hoist_transfer_init(&t);
	assert_int_equal(hoist_transfer_start(&t, program, &req, environ,
					      &mask, &err), 0);
	for (int i = 0; i < 500 && !(f = fopen(pid_file, "r")); i++)
		usleep(10 * 1000);
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &grandchild), 1);
	fclose(f);
	assert_false(hoist_transfer_poll(&t));

	hoist_transfer_kill(&t);
	assert_false(hoist_transfer_active(&t));
	for (int i = 0; i < 200 && process_alive(grandchild); i++)
		usleep(10 * 1000);
	assert_false(process_alive(grandchild));
	hoist_transfer_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_invalid_fields),
		cmocka_unit_test(test_result_round_trip),
		cmocka_unit_test(test_result_invalid),
		cmocka_unit_test(test_environment_hides_secrets),
		cmocka_unit_test(test_child_result_line),
		cmocka_unit_test(test_child_failure_line),
		cmocka_unit_test(test_child_without_result),
		cmocka_unit_test(test_child_exec_failure),
		cmocka_unit_test(test_child_killed),
	};

	return cmocka_run_group_tests(tests, setup_scripts, remove_scripts);
}
