/* Unit tests of checkpoint folder naming and scanning
 * (src/worker/ckptdir.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "worker/ckptdir.h"

static void test_parse_valid_names(void **state)
{
	static const struct {
		const char *name;
		int64_t step;
	} cases[] = {
		{ "step-0", 0 },
		{ "step-7", 7 },
		{ "step-250", 250 },
		{ "step-999999999999999999", 999999999999999999LL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t step = -1;

		assert_int_equal(hoist_ckptdir_parse_name(cases[i].name,
							  &step), 1);
		assert_int_equal(step, cases[i].step);
	}
}

static void test_parse_invalid_names(void **state)
{
	static const char *const names[] = {
		"", "step-", "step", "step-007", "step-00", "step--1",
		"step-+1", "step-1a", "step-1 ", " step-1", ".step-1",
		".tmp-step-5", "Step-1", "step_1", "step-1/x",
		"step-1000000000000000000",	/* 19 digits */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int64_t step = -1;

		if (hoist_ckptdir_parse_name(names[i], &step) != 0)
			fail_msg("'%s' was accepted", names[i]);
		assert_int_equal(step, -1);
	}
}

static void make_dir(const char *root, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void test_scan_lists_step_folders(void **state)
{
	char root[] = "/tmp/hoist-ckptdir-XXXXXX";
	char path[256];
	char target[256];
	int64_t steps[8];
	size_t count = 99;
	struct hoist_err err = HOIST_ERR_INIT;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	make_dir(root, "step-30");
	make_dir(root, "step-4");
	make_dir(root, "step-100");
	make_dir(root, ".step-200");		/* still being written */
	make_dir(root, "tmp");
	snprintf(path, sizeof(path), "%s/step-500", root);
	f = fopen(path, "w");			/* a file, not a folder */
	assert_non_null(f);
	fclose(f);
	snprintf(target, sizeof(target), "%s/step-30", root);
	snprintf(path, sizeof(path), "%s/step-600", root);
	assert_int_equal(symlink(target, path), 0);	/* a symlink */

	assert_int_equal(hoist_ckptdir_scan(root, steps, 8, &count, &err), 0);
	assert_int_equal(count, 3);
	assert_int_equal(steps[0], 4);
	assert_int_equal(steps[1], 30);
	assert_int_equal(steps[2], 100);

	/* More folders than the capacity is an error, not a silent cut. */
	assert_int_equal(hoist_ckptdir_scan(root, steps, 2, &count, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);

	hoist_err_clear(&err);
	assert_int_equal(hoist_util_remove_tree(root, &err), 0);
}

static void test_scan_missing_folder(void **state)
{
	int64_t steps[4];
	size_t count = 99;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_int_equal(hoist_ckptdir_scan("/nonexistent/hoist/checkpoints",
					    steps, 4, &count, &err), 0);
	assert_int_equal(count, 0);
}

static void test_pick_newest_pending(void **state)
{
	static const int64_t steps[] = { 4, 30, 100 };

	(void)state;
	assert_int_equal(hoist_ckptdir_pick(steps, 3, -1), 100);
	assert_int_equal(hoist_ckptdir_pick(steps, 3, 30), 100);
	assert_int_equal(hoist_ckptdir_pick(steps, 3, 100), -1);
	assert_int_equal(hoist_ckptdir_pick(steps, 3, 500), -1);
	assert_int_equal(hoist_ckptdir_pick(steps, 0, -1), -1);
	assert_int_equal(hoist_ckptdir_pick(steps, 1, -1), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid_names),
		cmocka_unit_test(test_parse_invalid_names),
		cmocka_unit_test(test_scan_lists_step_folders),
		cmocka_unit_test(test_scan_missing_folder),
		cmocka_unit_test(test_pick_newest_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
