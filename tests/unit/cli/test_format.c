/*
 * test_format.c - times, ages, durations, costs, tables and the job
 * layouts of the hoist CLI.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/format.h"
#include "cli/view.h"

/* 2026-12-04T19:48:34.123Z */
#define SAMPLE_MS 1796413714123LL

static void parse_time_forms(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(hoist_cli_parse_time("2026-12-04T19:48:34.123Z", &ms),
			 0);
	assert_int_equal(ms, SAMPLE_MS);
	assert_int_equal(hoist_cli_parse_time("2026-12-04T19:48:34Z", &ms), 0);
	assert_int_equal(ms, SAMPLE_MS - 123);
	assert_int_equal(hoist_cli_parse_time("2026-12-04T19:48:34.1Z", &ms),
			 0);
	assert_int_equal(ms, SAMPLE_MS - 23);
	assert_int_equal(hoist_cli_parse_time("2026-12-04T19:48:34.123456Z",
					      &ms), 0);
	assert_int_equal(ms, SAMPLE_MS);
	assert_int_equal(hoist_cli_parse_time("2026-12-04T21:48:34.123+02:00",
					      &ms), 0);
	assert_int_equal(ms, SAMPLE_MS);
	assert_int_equal(hoist_cli_parse_time("2026-12-04T14:18:34.123-05:30",
					      &ms), 0);
	assert_int_equal(ms, SAMPLE_MS);
	assert_int_equal(hoist_cli_parse_time("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(hoist_cli_parse_time("2028-02-29T00:00:00Z", &ms), 0);
}

static void parse_time_rejects_bad_text(void **state)
{
	static const char *const bad[] = {
		"", "2026-12-04", "2026-12-04T19:48:34", "2026-12-04T19:48:34.Z",
		"2026-13-04T19:48:34Z", "2026-02-30T00:00:00Z",
		"2027-02-29T00:00:00Z", "2026-12-04T24:00:00Z",
		"2026-12-04T19:48:34Zjunk", "2026-12-04T19:48:34+2:00",
		"26-12-04T19:48:34Z", "now",
	};
	int64_t ms = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hoist_cli_parse_time(bad[i], &ms), -1);
	assert_int_equal(hoist_cli_parse_time(NULL, &ms), -1);
}

struct age_case {
	int64_t age_ms;
	const char *text;
};

static void format_age_units(void **state)
{
	static const struct age_case cases[] = {
		{ 0, "0s ago" }, { 999, "0s ago" }, { 59999, "59s ago" },
		{ 60000, "1m ago" }, { 3599999, "59m ago" },
		{ 3600000, "1h ago" }, { 47 * 3600000LL, "47h ago" },
		{ 48 * 3600000LL, "2d ago" }, { 400 * 86400000LL, "400d ago" },
		{ -5000, "0s ago" },
	};
	char text[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hoist_cli_format_age(SAMPLE_MS, SAMPLE_MS - cases[i].age_ms,
				     text, sizeof(text));
		assert_string_equal(text, cases[i].text);
	}
	hoist_cli_format_age(SAMPLE_MS, 0, text, sizeof(text));
	assert_string_equal(text, "-");
}

static void format_duration_units(void **state)
{
	static const struct age_case cases[] = {
		{ 0, "0s" }, { 42000, "42s" }, { 185000, "3m05s" },
		{ 3600000, "1h00m" }, { 7620000, "2h07m" },
		{ 86400000, "1d00h" }, { 273600000, "3d04h" }, { -1, "-" },
	};
	char text[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hoist_cli_format_duration(cases[i].age_ms, text, sizeof(text));
		assert_string_equal(text, cases[i].text);
	}
}

static void format_cost_four_decimals(void **state)
{
	char text[32];

	(void)state;
	hoist_cli_format_cost(0.0123, text, sizeof(text));
	assert_string_equal(text, "$0.0123");
	hoist_cli_format_cost(0, text, sizeof(text));
	assert_string_equal(text, "$0.0000");
	hoist_cli_format_cost(12.34567, text, sizeof(text));
	assert_string_equal(text, "$12.3457");
	hoist_cli_format_cost(-1, text, sizeof(text));
	assert_string_equal(text, "-");
	hoist_cli_format_cost(NAN, text, sizeof(text));
	assert_string_equal(text, "-");
	hoist_cli_format_cost(INFINITY, text, sizeof(text));
	assert_string_equal(text, "-");
	/* A short buffer truncates but stays terminated. */
	hoist_cli_format_cost(0.0123, text, 4);
	assert_string_equal(text, "$0.");
}

static void final_states(void **state)
{
	(void)state;
	assert_true(hoist_cli_state_is_final("succeeded"));
	assert_true(hoist_cli_state_is_final("failed"));
	assert_true(hoist_cli_state_is_final("cancelled"));
	assert_false(hoist_cli_state_is_final("running"));
	assert_false(hoist_cli_state_is_final("recovering"));
	assert_false(hoist_cli_state_is_final(NULL));
}

static void json_accessors_tolerate_types(void **state)
{
	json_t *obj = json_pack("{s:s, s:i, s:f, s:f, s:n, s:s}",
				"name", "x", "step", 42, "real", 7.0,
				"half", 2.5, "none", "at",
				"2026-12-04T19:48:34.123Z");
	int64_t value = -1;
	double real = 0;

	(void)state;
	assert_string_equal(hoist_cli_json_str(obj, "name"), "x");
	assert_null(hoist_cli_json_str(obj, "step"));
	assert_null(hoist_cli_json_str(obj, "missing"));
	assert_int_equal(hoist_cli_json_int(obj, "step", &value), 0);
	assert_int_equal(value, 42);
	assert_int_equal(hoist_cli_json_int(obj, "real", &value), 0);
	assert_int_equal(value, 7);
	assert_int_equal(hoist_cli_json_int(obj, "half", &value), -1);
	assert_int_equal(hoist_cli_json_int(obj, "none", &value), -1);
	assert_int_equal(hoist_cli_json_int(obj, "name", &value), -1);
	assert_int_equal(hoist_cli_json_real(obj, "step", &real), 0);
	assert_true(real == 42.0);
	assert_int_equal(hoist_cli_json_time(obj, "at", &value), 0);
	assert_int_equal(value, SAMPLE_MS);
	assert_int_equal(hoist_cli_json_time(obj, "none", &value), -1);
	json_decref(obj);
}

static char *render(const struct hoist_cli_table *table, const char *indent,
		    int color)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf out;

	hoist_buf_init(&out, 1 << 20);
	assert_int_equal(hoist_cli_table_render(table, indent, color, &out,
						&err), 0);
	return hoist_buf_detach(&out);
}

static void table_aligns_columns(void **state)
{
	static const char *const headers[] = { "ID", "NAME", ">STEP",
					       "STATE" };
	const char *row1[] = { "j-1", "charlm-demo", "7", "running" };
	const char *row2[] = { "j-22", "x", "1200", NULL };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_table table;
	char *text;

	(void)state;
	hoist_cli_table_init(&table, 4, headers);
	assert_int_equal(hoist_cli_table_add(&table, row1, NULL, &err), 0);
	assert_int_equal(hoist_cli_table_add(&table, row2, NULL, &err), 0);
	text = render(&table, "", 0);
	assert_string_equal(text,
			    "ID    NAME         STEP  STATE\n"
			    "j-1   charlm-demo     7  running\n"
			    "j-22  x            1200  -\n");
	free(text);

	text = render(&table, "  ", 0);
	assert_non_null(strstr(text, "\n  j-1   charlm-demo     7  running\n"));
	assert_int_equal(strncmp(text, "  ID", 4), 0);
	free(text);
	hoist_cli_table_release(&table);
}

static void table_header_only_when_empty(void **state)
{
	static const char *const headers[] = { "ID", ">COST" };
	struct hoist_cli_table table;
	char *text;

	(void)state;
	hoist_cli_table_init(&table, 2, headers);
	text = render(&table, "", 0);
	assert_string_equal(text, "ID  COST\n");
	free(text);
	hoist_cli_table_release(&table);
}

static void table_counts_utf8_code_points(void **state)
{
	static const char *const headers[] = { "NAME", "X" };
	const char *row1[] = { "caf\xc3\xa9", "a" };
	const char *row2[] = { "tea", "b" };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_table table;
	char *text;

	(void)state;
	hoist_cli_table_init(&table, 2, headers);
	assert_int_equal(hoist_cli_table_add(&table, row1, NULL, &err), 0);
	assert_int_equal(hoist_cli_table_add(&table, row2, NULL, &err), 0);
	text = render(&table, "", 0);
	assert_string_equal(text, "NAME  X\ncaf\xc3\xa9  a\ntea   b\n");
	free(text);
	hoist_cli_table_release(&table);
}

static void table_color_keeps_alignment(void **state)
{
	static const char *const headers[] = { "STATE", ">N" };
	const char *row[] = { "failed", "3" };
	const char *colors[] = { HOIST_CLI_RED, NULL };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_table table;
	char *text;

	(void)state;
	hoist_cli_table_init(&table, 2, headers);
	assert_int_equal(hoist_cli_table_add(&table, row, colors, &err), 0);
	text = render(&table, "", 1);
	assert_string_equal(text,
			    HOIST_CLI_BOLD "STATE" HOIST_CLI_RESET "   "
			    HOIST_CLI_BOLD "N" HOIST_CLI_RESET "\n"
			    HOIST_CLI_RED "failed" HOIST_CLI_RESET "  3\n");
	free(text);
	text = render(&table, "", 0);
	assert_string_equal(text, "STATE   N\nfailed  3\n");
	free(text);
	hoist_cli_table_release(&table);
}

static void table_grows_past_first_block(void **state)
{
	static const char *const headers[] = { ">N" };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_table table;
	char *text;

	(void)state;
	hoist_cli_table_init(&table, 1, headers);
	for (int i = 0; i < 100; i++) {
		char number[16];
		const char *row[] = { number };

		snprintf(number, sizeof(number), "%d", i);
		assert_int_equal(hoist_cli_table_add(&table, row, NULL, &err),
				 0);
	}
	assert_int_equal(table.nrows, 100);
	text = render(&table, "", 0);
	assert_non_null(strstr(text, "\n 0\n"));
	assert_non_null(strstr(text, "\n99\n"));
	free(text);
	hoist_cli_table_release(&table);
}

/* Runs a view function into a string. */
static char *capture_jobs(const json_t *jobs, int64_t now)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	assert_int_equal(hoist_cli_view_jobs(out, jobs, now, &err), 0);
	fclose(out);
	return text;
}

static void jobs_view_columns(void **state)
{
	json_t *jobs = json_pack(
		"[{s:s, s:s, s:s, s:i, s:i, s:f, s:s},"
		" {s:s, s:s, s:s, s:n, s:n, s:s}]",
		"id", "j-00000001", "name", "charlm-demo", "state", "running",
		"attempt_count", 2, "last_step", 420, "cost_usd", 0.0123,
		"created_at", "2026-12-04T19:45:34.123Z",
		"id", "j-00000002", "name", "x", "state", "queued",
		"last_step", "cost_usd", "created_at", "bogus");
	char *text;

	(void)state;
	text = capture_jobs(jobs, SAMPLE_MS);
	assert_string_equal(text,
		"ID          NAME         STATE    ATTEMPTS  STEP     COST"
		"     AGE\n"
		"j-00000001  charlm-demo  running         2   420  $0.0123"
		"  3m ago\n"
		"j-00000002  x            queued          -     -        -"
		"       -\n");
	free(text);
	json_decref(jobs);
}

static void attempt_count_sources(void **state)
{
	json_t *with_array = json_pack("{s:[{},{},{}], s:i}", "attempts",
				       "attempt_count", 9);
	json_t *with_count = json_pack("{s:i}", "attempt_count", 4);
	json_t *without = json_object();

	(void)state;
	assert_int_equal(hoist_cli_view_attempt_count(with_array), 3);
	assert_int_equal(hoist_cli_view_attempt_count(with_count), 4);
	assert_int_equal(hoist_cli_view_attempt_count(without), -1);
	json_decref(with_array);
	json_decref(with_count);
	json_decref(without);
}

static json_t *sample_job(void)
{
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:f,"
		" s:{s:f, s:i},"
		" s:{s:s, s:s, s:[s,s,s], s:s, s:{s:s, s:s},"
		"    s:{s:s, s:s, s:i, s:f}},"
		" s:[{s:i, s:s, s:s, s:s, s:s, s:s, s:n, s:i, s:i},"
		"    {s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i}],"
		" s:[{s:i, s:i, s:s, s:s}]}",
		"id", "j-3f9a2c1d", "name", "charlm-demo", "state",
		"succeeded", "end_reason", "completed", "team", "research",
		"created_at", "2026-12-04T19:40:00.000Z",
		"ended_at", "2026-12-04T19:45:02.000Z", "last_step", 600,
		"cost_usd", 0.0123,
		"metrics", "loss", 1.5, "step", 600,
		"spec", "name", "charlm-demo", "image", "python:3.11",
		"command", "python3", "train.py", "it's here",
		"workdir", "/w",
		"env", "LR", "0.05", "WANDB_API_KEY", "secret-value",
		"profile", "name", "dev-test", "gpu_name", "RTX 4090",
		"num_gpus", 1, "max_dph", 0.4,
		"attempts",
		"number", 1, "instance_id", "local-aaaa", "state", "ended",
		"started_at", "2026-12-04T19:40:05.000Z",
		"ended_at", "2026-12-04T19:42:00.000Z", "end_reason",
		"preempted", "resumed_from_step", "last_step", 250,
		"exit_code", 143,
		"number", 2, "instance_id", "local-bbbb", "state", "ended",
		"started_at", "2026-12-04T19:42:30.000Z",
		"ended_at", "2026-12-04T19:45:00.000Z", "end_reason",
		"completed", "resumed_from_step", 250, "last_step", 600,
		"exit_code", 0,
		"checkpoints",
		"step", 250, "attempt", 1, "committed_at",
		"2026-12-04T19:41:50.000Z", "manifest_key",
		"jobs/j-3f9a2c1d/checkpoints/a1-s250/manifest.json");
}

static void summary_lists_attempts(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *job = sample_job();
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(job);
	assert_int_equal(hoist_cli_view_summary(out, job, &err), 0);
	fclose(out);
	assert_non_null(strstr(text, "job j-3f9a2c1d (charlm-demo): "
				     "succeeded, end reason completed\n"));
	assert_non_null(strstr(text, "attempts 2, checkpoints 1, last step "
				     "600, cost $0.0123, duration 5m02s\n"));
	assert_non_null(strstr(text, "local-aaaa"));
	assert_non_null(strstr(text, "preempted"));
	assert_non_null(strstr(text, "RESUMED FROM"));
	free(text);
	json_decref(job);
}

static void show_hides_env_values(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *job = sample_job();
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_int_equal(hoist_cli_view_job(out, job, SAMPLE_MS, &err), 0);
	fclose(out);
	assert_non_null(strstr(text, "env:           LR, WANDB_API_KEY\n"));
	assert_null(strstr(text, "secret-value"));
	assert_non_null(strstr(text, "command:       python3 train.py "
				     "'it'\\''s here'\n"));
	assert_non_null(strstr(text, "profile:       dev-test: RTX 4090 x1, "
				     "max $0.4000/h\n"));
	assert_non_null(strstr(text, "created:       2026-12-04T19:40:00.000Z"
				     " (8m ago)\n"));
	assert_non_null(strstr(text, "team/project:  research / -\n"));
	assert_non_null(strstr(text, "attempts (2):\n"));
	assert_non_null(strstr(text, "checkpoints (1):\n"));
	assert_non_null(strstr(text, "a1-s250/manifest.json"));
	assert_non_null(strstr(text, "metrics:       loss=1.5 step=600\n"));
	free(text);
	json_decref(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_time_forms),
		cmocka_unit_test(parse_time_rejects_bad_text),
		cmocka_unit_test(format_age_units),
		cmocka_unit_test(format_duration_units),
		cmocka_unit_test(format_cost_four_decimals),
		cmocka_unit_test(final_states),
		cmocka_unit_test(json_accessors_tolerate_types),
		cmocka_unit_test(table_aligns_columns),
		cmocka_unit_test(table_header_only_when_empty),
		cmocka_unit_test(table_counts_utf8_code_points),
		cmocka_unit_test(table_color_keeps_alignment),
		cmocka_unit_test(table_grows_past_first_block),
		cmocka_unit_test(jobs_view_columns),
		cmocka_unit_test(attempt_count_sources),
		cmocka_unit_test(summary_lists_attempts),
		cmocka_unit_test(show_hides_env_values),
	};

	/* The views color only terminal output.  A memstream is not a
	 * terminal, and NO_COLOR turns color off in any case. */
	setenv("NO_COLOR", "1", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
