/*
 * Tests of the checkpoint manifest parser and formatter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "storage/checkpoint.h"
#include "storage_test.h"

#define SHA_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define HEADER "\"format\": 1, \"job_id\": \"j-3f9a2c1d\", \"attempt\": 2, " \
	"\"step\": 250, \"created_at\": \"2026-12-04T19:48:34.123Z\""

#define HEADER2 "\"format\": 2, \"job_id\": \"j-3f9a2c1d\", \"attempt\": 2, " \
	"\"step\": 250, \"created_at\": \"2026-12-04T19:48:34.123Z\""

static const char valid_manifest_v2[] =
	"{" HEADER2 ", \"files\": ["
	"{\"path\": \"weights.npz\", \"size\": 9, \"crc32c\": \"e3069283\"},"
	"{\"path\": \"opt/state.bin\", \"size\": 0, \"crc32c\": \"00000000\"}"
	"]}";

static const char valid_manifest[] =
	"{" HEADER ", \"files\": ["
	"{\"path\": \"weights.npz\", \"size\": 123, \"sha256\": \"" SHA_A "\"},"
	"{\"path\": \"opt/state.bin\", \"size\": 0, \"sha256\": \"" SHA_B "\"}"
	"]}";

static void parse_valid_manifest(void **state)
{
	struct hoist_manifest manifest;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_int_equal(hoist_manifest_parse(valid_manifest,
					      strlen(valid_manifest),
					      &manifest, &err), 0);
	assert_string_equal(manifest.job_id, "j-3f9a2c1d");
	assert_int_equal(manifest.attempt, 2);
	assert_int_equal(manifest.step, 250);
	assert_string_equal(manifest.created_at, "2026-12-04T19:48:34.123Z");
	assert_int_equal(manifest.nfiles, 2);
	assert_string_equal(manifest.files[0].path, "weights.npz");
	assert_int_equal(manifest.files[0].size, 123);
	assert_string_equal(manifest.files[0].sha256, SHA_A);
	assert_string_equal(manifest.files[1].path, "opt/state.bin");
	assert_int_equal(manifest.files[1].size, 0);
	hoist_manifest_release(&manifest);
	assert_null(manifest.files);
	assert_int_equal(manifest.nfiles, 0);
}

static void parse_and_format_crc32c_manifest(void **state)
{
	struct hoist_manifest manifest;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf text;

	(void)state;
	assert_int_equal(hoist_manifest_parse(valid_manifest_v2,
					      strlen(valid_manifest_v2),
					      &manifest, &err), 0);
	assert_int_equal(manifest.format, 2);
	assert_int_equal(manifest.nfiles, 2);
	assert_int_equal(manifest.files[0].crc32c, 0xe3069283u);
	assert_int_equal(manifest.files[1].crc32c, 0);
	assert_string_equal(manifest.files[0].sha256, "");
	hoist_buf_init(&text, 1 << 16);
	assert_int_equal(hoist_manifest_format(&manifest, &text, &err), 0);
	assert_non_null(strstr(text.data, "\"format\": 2"));
	assert_non_null(strstr(text.data, "\"crc32c\": \"e3069283\""));
	assert_non_null(strstr(text.data, "\"crc32c\": \"00000000\""));
	assert_null(strstr(text.data, "sha256"));
	hoist_buf_release(&text);
	hoist_manifest_release(&manifest);
}

static void parse_empty_file_list(void **state)
{
	static const char text[] = "{" HEADER ", \"files\": []}";
	struct hoist_manifest manifest;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_int_equal(hoist_manifest_parse(text, strlen(text), &manifest,
					      &err), 0);
	assert_int_equal(manifest.nfiles, 0);
	hoist_manifest_release(&manifest);
}

#define FILE_ENTRY(path, size, sha) \
	"{\"path\": \"" path "\", \"size\": " size ", \"sha256\": \"" sha "\"}"
#define WITH_FILES(entries) "{" HEADER ", \"files\": [" entries "]}"
#define CRC_ENTRY(path, size, crc) \
	"{\"path\": \"" path "\", \"size\": " size ", \"crc32c\": \"" crc "\"}"

static void parse_rejects_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{ "", "not valid JSON" },
		{ "{\"format\": 1,", "not valid JSON" },
		{ "[1, 2]", "the top level must be an object" },
		{ "{" HEADER ", \"files\": [], \"extra\": 1}",
		  "unknown field 'extra'" },
		{ "{\"format\": 1, \"job_id\": \"j\", \"attempt\": 1, "
		  "\"step\": 1, \"files\": []}",
		  "missing the field 'created_at'" },
		{ "{\"format\": 3, \"job_id\": \"j\", \"attempt\": 1, "
		  "\"step\": 1, \"created_at\": \"2026-12-04T19:48:34Z\", "
		  "\"files\": []}", "format 3 is not supported" },
		{ "{\"format\": \"1\", \"job_id\": \"j\", \"attempt\": 1, "
		  "\"step\": 1, \"created_at\": \"2026-12-04T19:48:34Z\", "
		  "\"files\": []}", "format must be an integer" },
		{ "{\"format\": 1, \"job_id\": \"../j\", \"attempt\": 1, "
		  "\"step\": 1, \"created_at\": \"2026-12-04T19:48:34Z\", "
		  "\"files\": []}", "job_id '../j'" },
		{ "{\"format\": 1, \"job_id\": 7, \"attempt\": 1, "
		  "\"step\": 1, \"created_at\": \"2026-12-04T19:48:34Z\", "
		  "\"files\": []}", "job_id must be a string" },
		{ "{\"format\": 1, \"job_id\": \"j\", \"attempt\": 0, "
		  "\"step\": 1, \"created_at\": \"2026-12-04T19:48:34Z\", "
		  "\"files\": []}", "attempt is 0" },
		{ "{\"format\": 1, \"job_id\": \"j\", \"attempt\": 1, "
		  "\"step\": -1, \"created_at\": \"2026-12-04T19:48:34Z\", "
		  "\"files\": []}", "step is -1" },
		{ "{\"format\": 1, \"job_id\": \"j\", \"attempt\": 1, "
		  "\"step\": 1.5, \"created_at\": \"2026-12-04T19:48:34Z\", "
		  "\"files\": []}", "step must be an integer" },
		{ "{\"format\": 1, \"job_id\": \"j\", \"attempt\": 1, "
		  "\"step\": 1, \"created_at\": \"yesterday\", "
		  "\"files\": []}", "created_at 'yesterday'" },
		{ "{" HEADER ", \"files\": {}}", "files must be an array" },
		{ WITH_FILES("7"), "files[0] must be an object" },
		{ WITH_FILES(FILE_ENTRY("../x", "1", SHA_A)),
		  "files[0].path '../x' is unsafe" },
		{ WITH_FILES(FILE_ENTRY("/etc/passwd", "1", SHA_A)),
		  "files[0].path '/etc/passwd' is unsafe" },
		{ WITH_FILES(FILE_ENTRY("a//b", "1", SHA_A)),
		  "empty segment" },
		{ WITH_FILES(FILE_ENTRY("a/./b", "1", SHA_A)),
		  "'.' or '..' segment" },
		{ WITH_FILES(FILE_ENTRY("", "1", SHA_A)),
		  "files[0].path must have 1 to" },
		{ WITH_FILES(FILE_ENTRY("a\\u0000b", "1", SHA_A)),
		  "\\u0000 is not allowed" },
		{ WITH_FILES(FILE_ENTRY("a", "1", SHA_A) ","
			     FILE_ENTRY("b", "1", SHA_A) ","
			     FILE_ENTRY("a", "2", SHA_B)),
		  "the path 'a' twice" },
		{ WITH_FILES(FILE_ENTRY("a/b", "1", SHA_A) ","
			     FILE_ENTRY("a", "1", SHA_A)),
		  "'a' as a file and as the folder of 'a/b'" },
		{ WITH_FILES(FILE_ENTRY("a", "-1", SHA_A)),
		  "files[0].size is -1" },
		{ WITH_FILES(FILE_ENTRY("a", "\"1\"", SHA_A)),
		  "files[0].size must be an integer" },
		{ WITH_FILES(FILE_ENTRY("a", "1.0", SHA_A)),
		  "files[0].size must be an integer" },
		{ WITH_FILES(FILE_ENTRY("a", "1", "BA7816BF8F01CFEA414140DE5DAE"
			     "2223B00361A396177A9CB410FF61F20015AD")),
		  "not 64 lowercase hex characters" },
		{ WITH_FILES(FILE_ENTRY("a", "1", "abc")),
		  "files[0].sha256 'abc' is not 64" },
		{ WITH_FILES(FILE_ENTRY("a", "1", "zz7816bf8f01cfea414140de5dae"
			     "2223b00361a396177a9cb410ff61f20015ad")),
		  "not 64 lowercase hex characters" },
		{ WITH_FILES("{\"path\": \"a\", \"size\": 1}"),
		  "files[0] is missing the field 'sha256'" },
		{ WITH_FILES("{\"path\": \"a\", \"size\": 1, \"sha256\": \""
			     SHA_A "\", \"mode\": 420}"),
		  "files[0] has the unknown field 'mode'" },
		{ "{" HEADER ", \"step\": 3, \"files\": []}",
		  "not valid JSON" },	/* duplicate key */
		/* Format 2 records CRC-32C and nothing else. */
		{ "{" HEADER2 ", \"files\": [" FILE_ENTRY("a", "1", SHA_A)
		  "]}", "files[0] has the unknown field 'sha256'" },
		{ "{" HEADER2 ", \"files\": [" CRC_ENTRY("a", "1", "E3069283")
		  "]}", "files[0].crc32c 'E3069283' is not 8 lowercase hex" },
		{ "{" HEADER2 ", \"files\": [" CRC_ENTRY("a", "1", "e306928")
		  "]}", "files[0].crc32c 'e306928' is not 8 lowercase hex" },
		{ "{" HEADER2 ", \"files\": [" CRC_ENTRY("a", "1", "e30692831")
		  "]}", "files[0].crc32c must have 1 to 8 bytes" },
		{ "{" HEADER2 ", \"files\": [{\"path\": \"a\", \"size\": 1, "
		  "\"crc32c\": 7}]}", "files[0].crc32c must be a string" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct hoist_manifest manifest;
		struct hoist_err err = HOIST_ERR_INIT;

		if (hoist_manifest_parse(cases[i].text, strlen(cases[i].text),
					 &manifest, &err) == 0)
			print_error("case %zu parsed: %s\n", i, cases[i].text);
		assert_int_equal(err.code, HOIST_E_INVALID);
		storage_test_expect_err(&err, HOIST_E_INVALID,
					cases[i].message);
		assert_non_null(strstr(err.msg, "invalid manifest"));
		assert_null(manifest.files);
		assert_int_equal(manifest.nfiles, 0);
	}
}

static void parse_rejects_too_many_files(void **state)
{
	struct hoist_manifest manifest;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf text;

	(void)state;
	hoist_buf_init(&text, HOIST_MANIFEST_MAX_BYTES);
	assert_int_equal(hoist_buf_appends(&text, "{" HEADER ", \"files\": [",
					   &err), 0);
	for (int i = 0; i <= HOIST_MANIFEST_MAX_FILES; i++) {
		assert_int_equal(hoist_buf_appendf(&text, &err,
						   "%s{\"path\": \"f%d\", "
						   "\"size\": 1, \"sha256\": "
						   "\"" SHA_A "\"}",
						   i ? "," : "", i), 0);
	}
	assert_int_equal(hoist_buf_appends(&text, "]}", &err), 0);
	assert_int_equal(hoist_manifest_parse(text.data, text.len, &manifest,
					      &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID,
				"100001 files, more than the limit of 100000");
	hoist_buf_release(&text);
}

static void parse_rejects_oversized_text(void **state)
{
	struct hoist_manifest manifest;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	/* The length is checked before the text is read. */
	assert_int_equal(hoist_manifest_parse(valid_manifest,
					      HOIST_MANIFEST_MAX_BYTES + 1u,
					      &manifest, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "more than the limit");
}

static void format_round_trips(void **state)
{
	struct hoist_manifest parsed;
	struct hoist_manifest again;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf text;

	(void)state;
	assert_int_equal(hoist_manifest_parse(valid_manifest,
					      strlen(valid_manifest), &parsed,
					      &err), 0);
	hoist_buf_init(&text, 1 << 16);
	assert_int_equal(hoist_manifest_format(&parsed, &text, &err), 0);
	assert_non_null(strstr(text.data, "\"format\": 1"));
	assert_true(strstr(text.data, "\"format\"") <
		    strstr(text.data, "\"files\""));
	assert_int_equal(hoist_manifest_parse(text.data, text.len, &again,
					      &err), 0);
	assert_string_equal(again.job_id, parsed.job_id);
	assert_int_equal(again.attempt, parsed.attempt);
	assert_int_equal(again.step, parsed.step);
	assert_string_equal(again.created_at, parsed.created_at);
	assert_int_equal(again.nfiles, parsed.nfiles);
	for (size_t i = 0; i < parsed.nfiles; i++) {
		assert_string_equal(again.files[i].path, parsed.files[i].path);
		assert_int_equal(again.files[i].size, parsed.files[i].size);
		assert_string_equal(again.files[i].sha256,
				    parsed.files[i].sha256);
		assert_int_equal(again.files[i].crc32c,
				 parsed.files[i].crc32c);
	}
	hoist_manifest_release(&again);
	hoist_manifest_release(&parsed);
	hoist_buf_release(&text);
}

static void format_respects_buffer_limit(void **state)
{
	struct hoist_manifest parsed;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf text;

	(void)state;
	assert_int_equal(hoist_manifest_parse(valid_manifest,
					      strlen(valid_manifest), &parsed,
					      &err), 0);
	hoist_buf_init(&text, 32);
	assert_int_equal(hoist_manifest_format(&parsed, &text, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	hoist_manifest_release(&parsed);
	hoist_buf_release(&text);
}

static void job_id_rules(void **state)
{
	(void)state;
	assert_null(hoist_checkpoint_job_id_error("j-3f9a2c1d"));
	assert_null(hoist_checkpoint_job_id_error("A.b_c-9"));
	assert_non_null(hoist_checkpoint_job_id_error(""));
	assert_non_null(hoist_checkpoint_job_id_error(NULL));
	assert_non_null(hoist_checkpoint_job_id_error(".hidden"));
	assert_non_null(hoist_checkpoint_job_id_error(".."));
	assert_non_null(hoist_checkpoint_job_id_error("a/b"));
	assert_non_null(hoist_checkpoint_job_id_error("a b"));
	assert_non_null(hoist_checkpoint_job_id_error(
		"0123456789012345678901234567890123456789012345678901234567890123"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid_manifest),
		cmocka_unit_test(parse_and_format_crc32c_manifest),
		cmocka_unit_test(parse_empty_file_list),
		cmocka_unit_test(parse_rejects_invalid),
		cmocka_unit_test(parse_rejects_too_many_files),
		cmocka_unit_test(parse_rejects_oversized_text),
		cmocka_unit_test(format_round_trips),
		cmocka_unit_test(format_respects_buffer_limit),
		cmocka_unit_test(job_id_rules),
	};

	return cmocka_run_group_tests_name("storage/manifest", tests, NULL,
					   NULL);
}
