/* Unit tests of the metrics line parser and the incremental reader
 * (src/worker/metrics.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "worker/metrics.h"

static void test_parse_object_with_step(void **state)
{
	static const char line[] = "  {\"step\": 42, \"loss\": 2.5}\r";
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *obj;
	int64_t step;
	int has_step;

	(void)state;
	assert_int_equal(hoist_metrics_parse_line(line, strlen(line), &obj,
						  &step, &has_step, &err), 1);
	assert_true(has_step);
	assert_int_equal(step, 42);
	assert_true(json_is_real(json_object_get(obj, "loss")));
	json_decref(obj);
}

static void test_parse_step_not_integer(void **state)
{
	static const char *const lines[] = {
		"{\"loss\": 1}", "{\"step\": 1.5}", "{\"step\": \"7\"}",
		"{\"step\": -3}", "{\"step\": null}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		json_t *obj;
		int64_t step;
		int has_step;

		assert_int_equal(hoist_metrics_parse_line(lines[i],
							  strlen(lines[i]),
							  &obj, &step,
							  &has_step, &err), 1);
		assert_false(has_step);
		json_decref(obj);
	}
}

static void test_parse_blank_and_garbage(void **state)
{
	static const char *const garbage[] = {
		"not json", "[1, 2]", "42", "{\"step\": 1", "{\"a\": 1} {}",
		"{\"a\": 1, \"a\": 2}", "\"{}\"",
	};
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *obj;
	int64_t step;
	int has_step;

	(void)state;
	assert_int_equal(hoist_metrics_parse_line(" \t\r", 3, &obj, &step,
						  &has_step, &err), 0);
	assert_null(obj);
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		hoist_err_clear(&err);
		assert_int_equal(hoist_metrics_parse_line(garbage[i],
							  strlen(garbage[i]),
							  &obj, &step,
							  &has_step, &err), -1);
		assert_null(obj);
		assert_int_equal(err.code, HOIST_E_INVALID);
	}
}

struct metrics_file {
	char dir[64];
	char path[128];
	struct hoist_metrics_reader reader;
};

static int setup_file(void **state)
{
	struct metrics_file *mf = calloc(1, sizeof(*mf));
	struct hoist_err err = HOIST_ERR_INIT;

	if (!mf)
		return -1;
	snprintf(mf->dir, sizeof(mf->dir), "/tmp/hoist-metrics-XXXXXX");
	if (!mkdtemp(mf->dir))
		return -1;
	snprintf(mf->path, sizeof(mf->path), "%s/metrics.jsonl", mf->dir);
	if (hoist_metrics_reader_init(&mf->reader, mf->path, &err))
		return -1;
	*state = mf;
	return 0;
}

static int teardown_file(void **state)
{
	struct metrics_file *mf = *state;
	struct hoist_err err = HOIST_ERR_INIT;

	hoist_metrics_reader_release(&mf->reader);
	hoist_util_remove_tree(mf->dir, &err);
	free(mf);
	return 0;
}

static void append(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "ab");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void appends(const char *path, const char *text)
{
	append(path, text, strlen(text));
}

static int poll_reader(struct metrics_file *mf)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int rc = hoist_metrics_reader_poll(&mf->reader, &err);

	if (rc < 0)
		fail_msg("poll failed: %s", err.msg);
	return rc;
}

static void test_reader_missing_file(void **state)
{
	struct metrics_file *mf = *state;

	assert_int_equal(poll_reader(mf), 0);
	assert_null(mf->reader.last);
	assert_false(mf->reader.has_step);
}

static void test_reader_partial_lines(void **state)
{
	struct metrics_file *mf = *state;

	appends(mf->path, "{\"step\": 1}\n{\"step\": 2, \"lo");
	assert_int_equal(poll_reader(mf), 1);
	assert_int_equal(mf->reader.step, 1);
	/* The partial line waits for its newline. */
	assert_int_equal(poll_reader(mf), 0);
	assert_int_equal(mf->reader.step, 1);
	appends(mf->path, "ss\": 0.5}\n");
	assert_int_equal(poll_reader(mf), 1);
	assert_int_equal(mf->reader.step, 2);
	assert_true(json_is_real(json_object_get(mf->reader.last, "loss")));
	assert_int_equal(mf->reader.lines, 2);
	assert_int_equal(mf->reader.garbage, 0);
}

static void test_reader_skips_garbage(void **state)
{
	struct metrics_file *mf = *state;

	appends(mf->path, "{\"step\": 5}\nnot json\n\n[1]\n{\"acc\": 0.9}\n");
	assert_int_equal(poll_reader(mf), 1);
	assert_int_equal(mf->reader.garbage, 2);
	assert_string_equal(mf->reader.first_garbage,
			    "metrics line is not a JSON object");
	/* The last object has no step, so the last step seen stays. */
	assert_non_null(json_object_get(mf->reader.last, "acc"));
	assert_true(mf->reader.has_step);
	assert_int_equal(mf->reader.step, 5);
}

static void test_reader_long_line(void **state)
{
	struct metrics_file *mf = *state;
	size_t len = HOIST_METRICS_LINE_MAX * 2 + 10;
	char *line = malloc(len);

	assert_non_null(line);
	memset(line, 'x', len);
	line[0] = '{';
	append(mf->path, line, len);
	assert_int_equal(poll_reader(mf), 0);
	assert_int_equal(mf->reader.garbage, 1);
	append(mf->path, line, len);
	appends(mf->path, "\n{\"step\": 9}\n");
	assert_int_equal(poll_reader(mf), 1);
	/* One long line counts once, however many polls it spans. */
	assert_int_equal(mf->reader.garbage, 1);
	assert_int_equal(mf->reader.step, 9);
	free(line);
}

static void test_reader_truncated_file(void **state)
{
	struct metrics_file *mf = *state;

	appends(mf->path, "{\"step\": 100}\n{\"step\": 101}\n");
	assert_int_equal(poll_reader(mf), 1);
	assert_int_equal(truncate(mf->path, 0), 0);
	appends(mf->path, "{\"step\": 3}\n");
	assert_int_equal(poll_reader(mf), 1);
	assert_int_equal(mf->reader.step, 3);
}

static void test_reader_replaced_file(void **state)
{
	struct metrics_file *mf = *state;
	char other[160];

	appends(mf->path, "{\"step\": 100}\n");
	assert_int_equal(poll_reader(mf), 1);
	snprintf(other, sizeof(other), "%s.new", mf->path);
	appends(other, "{\"step\": 7}\n{\"step\": 8}\n");
	assert_int_equal(rename(other, mf->path), 0);
	assert_int_equal(poll_reader(mf), 1);
	assert_int_equal(mf->reader.step, 8);
}

static void test_reader_catches_up(void **state)
{
	struct metrics_file *mf = *state;
	FILE *f = fopen(mf->path, "w");
	int i;

	assert_non_null(f);
	for (i = 0; i < 200000; i++)
		fprintf(f, "{\"step\": %d, \"loss\": 0.125}\n", i);
	fclose(f);
	assert_int_equal(poll_reader(mf), 1);
	assert_int_equal(mf->reader.step, 199999);
	/* The skipped part is not garbage, and only the tail was parsed. */
	assert_int_equal(mf->reader.garbage, 0);
	assert_true(mf->reader.lines < 200000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_object_with_step),
		cmocka_unit_test(test_parse_step_not_integer),
		cmocka_unit_test(test_parse_blank_and_garbage),
		cmocka_unit_test_setup_teardown(test_reader_missing_file,
						setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_reader_partial_lines,
						setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_reader_skips_garbage,
						setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_reader_long_line,
						setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_reader_truncated_file,
						setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_reader_replaced_file,
						setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_reader_catches_up,
						setup_file, teardown_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
