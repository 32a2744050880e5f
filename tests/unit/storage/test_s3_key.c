/*
 * test_s3_key.c - NFC normalization and key building of the S3 back end.
 * The expected NFC forms were computed with Python's
 * unicodedata.normalize("NFC", ...) (Unicode 14.0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storage/s3.h"
#include "storage/s3_key.h"
#include "storage_test.h"

static void expect_nfc(const char *in, const char *expected)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf out;

	hoist_buf_init(&out, 4096);
	assert_int_equal(s3_key_nfc(in, strlen(in), &out, &err), 0);
	assert_string_equal(hoist_buf_str(&out), expected);
	hoist_buf_release(&out);
}

static void nfc_composes_and_reorders(void **state)
{
	(void)state;
	expect_nfc("plain/ascii key.bin", "plain/ascii key.bin");
	/* e + COMBINING ACUTE -> U+00E9 */
	expect_nfc("cafe\xcc\x81", "caf\xc3\xa9");
	/* Already NFC stays. */
	expect_nfc("caf\xc3\xa9", "caf\xc3\xa9");
	/* ANGSTROM SIGN U+212B -> U+00C5 (a singleton decomposition) */
	expect_nfc("\xe2\x84\xab", "\xc3\x85");
	/* Hangul jamo L V T -> U+AC01 */
	expect_nfc("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81");
	/* q + DOT ABOVE (230) + DOT BELOW (220): reordered, no composite */
	expect_nfc("q\xcc\x87\xcc\xa3", "q\xcc\xa3\xcc\x87");
	/* e + CIRCUMFLEX + DOT BELOW -> U+1EC7 */
	expect_nfc("e\xcc\x82\xcc\xa3", "\xe1\xbb\x87");
	/* DEVANAGARI QA U+0958 is a composition exclusion: stays decomposed */
	expect_nfc("\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc");
	/* MUSICAL SYMBOL HALF NOTE U+1D15E is excluded too */
	expect_nfc("\xf0\x9d\x85\x9e",
		   "\xf0\x9d\x85\x97\xf0\x9d\x85\xa5");
	/* An emoji passes unchanged. */
	expect_nfc("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
}

static void nfc_rejects_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xc0\x80",		/* overlong NUL */
		"\xe0\x80\xaf",		/* overlong '/' */
		"\xed\xa0\x80",		/* surrogate U+D800 */
		"\xf4\x90\x80\x80",	/* above U+10FFFF */
		"\xf5\x80\x80\x80",
		"abc\xc3",		/* cut short */
		"\x80",			/* lone continuation byte */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		struct hoist_buf out;

		hoist_buf_init(&out, 4096);
		assert_int_equal(s3_key_nfc(bad[i], strlen(bad[i]), &out,
					    &err), -1);
		storage_test_expect_err(&err, HOIST_E_INVALID, "invalid UTF-8");
		hoist_buf_release(&out);
	}
}

static void key_build_adds_prefix(void **state)
{
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;
	char full[HOIST_S3_KEY_MAX + 1];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.prefix, "team/hoist/");
	assert_int_equal(s3_key_build(&cfg, "jobs/j-1/cafe\xcc\x81", full,
				      &err), 0);
	assert_string_equal(full, "team/hoist/jobs/j-1/caf\xc3\xa9");
	assert_string_equal(s3_key_strip(&cfg, full), "jobs/j-1/caf\xc3\xa9");
	assert_null(s3_key_strip(&cfg, "other/x"));
	assert_null(s3_key_strip(&cfg, "team/hoist/"));
}

static void key_build_rejects_bad_keys(void **state)
{
	static const struct {
		const char *key;
		const char *text;
	} cases[] = {
		{ "", "is empty" },
		{ "/abs", "starts with '/'" },
		{ "a/../b", "'..'" },
		{ "a//b", "empty segment" },
		{ "bad\xff", "invalid UTF-8" },
	};
	struct hoist_s3_config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		char full[HOIST_S3_KEY_MAX + 1];

		assert_int_equal(s3_key_build(&cfg, cases[i].key, full, &err),
				 -1);
		storage_test_expect_err(&err, HOIST_E_INVALID, cases[i].text);
	}
}

static void key_build_checks_total_length(void **state)
{
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;
	char full[HOIST_S3_KEY_MAX + 1];
	char key[HOIST_S3_KEY_MAX + 1];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.prefix, "p/");
	memset(key, 'k', sizeof(key) - 1);
	key[HOIST_S3_KEY_MAX - 2] = '\0';
	assert_int_equal(s3_key_build(&cfg, key, full, &err), 0);
	assert_int_equal(strlen(full), HOIST_S3_KEY_MAX);
	key[HOIST_S3_KEY_MAX - 2] = 'k';
	key[HOIST_S3_KEY_MAX - 1] = '\0';
	assert_int_equal(s3_key_build(&cfg, key, full, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "at most 1024 bytes");
}

static void key_path_by_addressing(void **state)
{
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf path;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.bucket, "bkt");
	hoist_buf_init(&path, 1024);
	cfg.path_style = 1;
	assert_int_equal(s3_key_path(&cfg, "a b/c+d", &path, &err), 0);
	assert_string_equal(hoist_buf_str(&path), "/bkt/a%20b/c%2Bd");
	hoist_buf_reset(&path);
	assert_int_equal(s3_key_path(&cfg, NULL, &path, &err), 0);
	assert_string_equal(hoist_buf_str(&path), "/bkt");
	hoist_buf_reset(&path);
	cfg.path_style = 0;
	assert_int_equal(s3_key_path(&cfg, "a b/c+d", &path, &err), 0);
	assert_string_equal(hoist_buf_str(&path), "/a%20b/c%2Bd");
	hoist_buf_reset(&path);
	assert_int_equal(s3_key_path(&cfg, NULL, &path, &err), 0);
	assert_string_equal(hoist_buf_str(&path), "/");
	hoist_buf_release(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nfc_composes_and_reorders),
		cmocka_unit_test(nfc_rejects_invalid_utf8),
		cmocka_unit_test(key_build_adds_prefix),
		cmocka_unit_test(key_build_rejects_bad_keys),
		cmocka_unit_test(key_build_checks_total_length),
		cmocka_unit_test(key_path_by_addressing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
