/*
 * test_s3_config.c - s3:// URL options, the credential chain, part sizes
 * and the retry backoff of the S3 back end.  The tests set HOME and the
 * AWS_* variables themselves, so the machine's settings do not matter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "storage/s3.h"
#include "storage/s3_internal.h"
#include "storage_test.h"

static const char *const aws_vars[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
	"AWS_ENDPOINT_URL_S3", "AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE",
};

struct fixture {
	char home[4096];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char path[4200];

	storage_test_mkdtemp(fx->home);
	snprintf(path, sizeof(path), "%s/.aws", fx->home);
	mkdir(path, 0700);
	for (size_t i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++)
		unsetenv(aws_vars[i]);
	setenv("HOME", fx->home, 1);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	storage_test_rmtree(fx->home);
	free(fx);
	return 0;
}

static void write_aws_file(struct fixture *fx, const char *name,
			   const char *text)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/.aws/%s", fx->home, name);
	storage_test_write(path, text, strlen(text));
}

static void config_defaults_and_options(void **state)
{
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_int_equal(hoist_s3_config_parse(
		"s3://my-bucket/team/ckpt/?region=eu-west-3", &cfg, &err), 0);
	assert_string_equal(cfg.bucket, "my-bucket");
	assert_string_equal(cfg.prefix, "team/ckpt/");
	assert_string_equal(cfg.scheme, "https");
	assert_string_equal(cfg.host, "s3.eu-west-3.amazonaws.com");
	assert_int_equal(cfg.path_style, 0);
	assert_int_equal(cfg.parallel, 8);
	assert_int_equal(cfg.threshold, 64ull << 20);
	assert_int_equal(cfg.signed_payload, 0);

	assert_int_equal(hoist_s3_config_parse(
		"s3://b12/?endpoint=http%3A%2F%2F127.0.0.1%3A4569&region=r-1"
		"&parallel=3&threshold=1GiB&part_size=8MiB&chunk_size=512KiB"
		"&attempts=2&payload=signed&list_page=7", &cfg, &err), 0);
	assert_string_equal(cfg.prefix, "");
	assert_string_equal(cfg.scheme, "http");
	assert_string_equal(cfg.host, "127.0.0.1:4569");
	assert_int_equal(cfg.path_style, 1);
	assert_int_equal(cfg.parallel, 3);
	assert_int_equal(cfg.threshold, 1ull << 30);
	assert_int_equal(cfg.part_size, 8ull << 20);
	assert_int_equal(cfg.chunk_size, 512ull << 10);
	assert_int_equal(cfg.max_attempts, 2);
	assert_int_equal(cfg.signed_payload, 1);
	assert_int_equal(cfg.list_page, 7);

	assert_int_equal(hoist_s3_config_parse(
		"s3://b12?region=r&endpoint=http://h:1&addressing=virtual",
		&cfg, &err), 0);
	assert_int_equal(cfg.path_style, 0);
}

static void config_reads_environment(void **state)
{
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
	setenv("AWS_ENDPOINT_URL", "http://generic:1", 1);
	assert_int_equal(hoist_s3_config_parse("s3://bkt", &cfg, &err), 0);
	assert_string_equal(cfg.region, "ap-south-1");
	assert_string_equal(cfg.host, "generic:1");

	setenv("AWS_REGION", "us-west-2", 1);
	setenv("AWS_ENDPOINT_URL_S3", "https://s3only:2/", 1);
	assert_int_equal(hoist_s3_config_parse("s3://bkt", &cfg, &err), 0);
	assert_string_equal(cfg.region, "us-west-2");
	assert_string_equal(cfg.host, "s3only:2");
	assert_string_equal(cfg.scheme, "https");

	assert_int_equal(hoist_s3_config_parse(
		"s3://bkt?endpoint=http://opt:3&region=x-1", &cfg, &err), 0);
	assert_string_equal(cfg.host, "opt:3");
	assert_string_equal(cfg.region, "x-1");
}

static void config_region_from_profile(void **state)
{
	struct fixture *fx = *state;
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;

	write_aws_file(fx, "config", "[default]\nregion = eu-north-1\n"
		       "[profile work]\n  region=ca-central-1  \n");
	assert_int_equal(hoist_s3_config_parse("s3://bkt", &cfg, &err), 0);
	assert_string_equal(cfg.region, "eu-north-1");
	assert_int_equal(hoist_s3_config_parse("s3://bkt?profile=work", &cfg,
					       &err), 0);
	assert_string_equal(cfg.region, "ca-central-1");
	setenv("AWS_PROFILE", "work", 1);
	assert_int_equal(hoist_s3_config_parse("s3://bkt", &cfg, &err), 0);
	assert_string_equal(cfg.region, "ca-central-1");
}

static void config_rejects_bad_urls(void **state)
{
	static const struct {
		const char *url;
		const char *text;
	} cases[] = {
		{ "s3://bkt", "no AWS region" },
		{ "s3://Bkt?region=r", "invalid bucket name 'Bkt'" },
		{ "s3://b?region=r", "invalid bucket name 'b'" },
		{ "s3://bkt-?region=r", "invalid bucket name" },
		{ "s3://bkt/a/../b?region=r", "'..'" },
		{ "s3://bkt?region=r&x=1", "unknown option 'x'" },
		{ "s3://bkt?region=r&parallel=0", "invalid parallel '0'" },
		{ "s3://bkt?region=r&parallel=65", "1 to 64" },
		{ "s3://bkt?region=r&part_size=4MiB", "5MiB to 5GiB" },
		{ "s3://bkt?region=r&threshold=12XB", "invalid threshold" },
		{ "s3://bkt?region=r&addressing=dns", "path or virtual" },
		{ "s3://bkt?region=r&payload=maybe", "signed or unsigned" },
		{ "s3://bkt?region=r&endpoint=localhost:9000",
		  "must start with http:// or https://" },
		{ "s3://bkt?region=r&endpoint=http://h/path", "without a path" },
		{ "s3://bkt?region=r&endpoint=http://h%", "percent escape" },
		{ "s3://bkt?region=r/x", "invalid AWS region" },
		{ "s3://bkt?region", "use name=value" },
		{ "s3://a.b.c?region=r&addressing=virtual", "contains '.'" },
		{ "file:///x", "not an s3:// URL" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_s3_config cfg;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_s3_config_parse(cases[i].url, &cfg,
						       &err), -1);
		storage_test_expect_err(&err, HOIST_E_INVALID, cases[i].text);
	}
}

static void credentials_from_environment(void **state)
{
	struct hoist_s3_credentials cred;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-env", 1);
	setenv("AWS_SESSION_TOKEN", "token-env", 1);
	assert_int_equal(hoist_s3_credentials_load(NULL, &cred, &err), 0);
	assert_string_equal(cred.access_key_id, "AKIDENV");
	assert_string_equal(cred.secret_access_key, "secret-env");
	assert_string_equal(cred.session_token, "token-env");
	assert_non_null(strstr(cred.source, "environment"));

	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(hoist_s3_credentials_load(NULL, &cred, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID,
				"the secret access key is missing");
	assert_null(strstr(err.msg, "AKIDENV"));
}

static void credentials_from_files(void **state)
{
	struct fixture *fx = *state;
	struct hoist_s3_credentials cred;
	struct hoist_err err = HOIST_ERR_INIT;

	write_aws_file(fx, "credentials",
		       "# comment\n[default]\naws_access_key_id = AKIDDEF\n"
		       "aws_secret_access_key = s/def+\n\n[ci]\n"
		       "aws_access_key_id=AKIDCI\r\naws_secret_access_key=sci\r\n"
		       "aws_session_token = tci\n");
	write_aws_file(fx, "config",
		       "[profile cfgonly]\naws_access_key_id = AKIDCFG\n"
		       "aws_secret_access_key = scfg\n");
	assert_int_equal(hoist_s3_credentials_load(NULL, &cred, &err), 0);
	assert_string_equal(cred.access_key_id, "AKIDDEF");
	assert_string_equal(cred.secret_access_key, "s/def+");
	assert_string_equal(cred.session_token, "");

	assert_int_equal(hoist_s3_credentials_load("ci", &cred, &err), 0);
	assert_string_equal(cred.access_key_id, "AKIDCI");
	assert_string_equal(cred.secret_access_key, "sci");
	assert_string_equal(cred.session_token, "tci");
	assert_non_null(strstr(cred.source, "[ci]"));

	setenv("AWS_PROFILE", "cfgonly", 1);
	assert_int_equal(hoist_s3_credentials_load(NULL, &cred, &err), 0);
	assert_string_equal(cred.access_key_id, "AKIDCFG");
	assert_non_null(strstr(cred.source, "[profile cfgonly]"));
}

static void credentials_missing_names_files(void **state)
{
	struct fixture *fx = *state;
	struct hoist_s3_credentials cred;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[4200];

	(void)fx;
	assert_int_equal(hoist_s3_credentials_load("nobody", &cred, &err), -1);
	storage_test_expect_err(&err, HOIST_E_NOT_FOUND, "profile 'nobody'");
	snprintf(path, sizeof(path), "%s/.aws/credentials", fx->home);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "[profile nobody]"));

	hoist_err_clear(&err);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	assert_int_equal(hoist_s3_credentials_load(NULL, &cred, &err), -1);
	storage_test_expect_err(&err, HOIST_E_NOT_FOUND, "/nonexistent/creds");
	assert_non_null(strstr(err.msg, "/nonexistent/config"));
}

static void part_size_fits_limits(void **state)
{
	static const uint64_t sizes[] = {
		0, 1, 5ull << 20, 64ull << 20, 1ull << 30, 200000000000ull,
		HOIST_S3_MAX_OBJECT_SIZE,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t part = s3_part_size(sizes[i], 16ull << 20);

		assert_true(part >= HOIST_S3_MIN_PART_SIZE);
		assert_true(part <= HOIST_S3_MAX_PART_SIZE);
		assert_true((sizes[i] + part - 1) / part <= HOIST_S3_MAX_PARTS);
	}
	assert_int_equal(s3_part_size(1ull << 30, 16ull << 20), 16ull << 20);
	/* 200 GB needs 20 MB parts, rounded up to 20 MiB. */
	assert_int_equal(s3_part_size(200000000000ull, 16ull << 20),
			 20ull << 20);
	assert_int_equal(s3_part_size(1, 1), HOIST_S3_MIN_PART_SIZE);
}

static void backoff_is_full_jitter(void **state)
{
	uint64_t rng = 12345;
	unsigned seen_max = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		unsigned first = s3_backoff_ms(&rng, 1, 100, 20000);
		unsigned fifth = s3_backoff_ms(&rng, 5, 100, 20000);
		unsigned late = s3_backoff_ms(&rng, 30, 100, 20000);

		assert_true(first < 100);
		assert_true(fifth < 1600);
		assert_true(late < 20000);
		if (late > seen_max)
			seen_max = late;
	}
	/* The cap is reached, not only the base. */
	assert_true(seen_max > 15000);
	assert_int_equal(s3_backoff_ms(&rng, 3, 0, 1000), 0);
}

static void redact_url_hides_secrets(void **state)
{
	char out[512];

	(void)state;
	hoist_s3_redact_url("PUT http://h/k?X-Amz-Credential=AKID%2Fx&"
			    "x-amz-signature=abc&X-Amz-Security-Token=tok "
			    "done", out, sizeof(out));
	assert_string_equal(out, "PUT http://h/k?X-Amz-Credential=REDACTED&"
			    "x-amz-signature=REDACTED&X-Amz-Security-Token="
			    "REDACTED done");
	hoist_s3_redact_url("X-Amz-Signature=abcdef", out, 20);
	assert_int_equal(strlen(out), 19);
	assert_null(strstr(out, "abc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_defaults_and_options,
						setup, teardown),
		cmocka_unit_test_setup_teardown(config_reads_environment,
						setup, teardown),
		cmocka_unit_test_setup_teardown(config_region_from_profile,
						setup, teardown),
		cmocka_unit_test_setup_teardown(config_rejects_bad_urls,
						setup, teardown),
		cmocka_unit_test_setup_teardown(credentials_from_environment,
						setup, teardown),
		cmocka_unit_test_setup_teardown(credentials_from_files,
						setup, teardown),
		cmocka_unit_test_setup_teardown(credentials_missing_names_files,
						setup, teardown),
		cmocka_unit_test(part_size_fits_limits),
		cmocka_unit_test(backoff_is_full_jitter),
		cmocka_unit_test(redact_url_hides_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
