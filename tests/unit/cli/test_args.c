/*
 * test_args.c - the option parser of the hoist commands, the checks of
 * URLs and ids, and reading hoistd.url.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/follow.h"

static int flag_detach;
static int flag_follow;
static const char *value_profiles;

static const struct hoist_cli_opt test_opts[] = {
	{ "profiles", 0, "FILE", "read profiles from FILE", NULL,
	  &value_profiles },
	{ "detach", 'd', NULL, "return at once", &flag_detach, NULL },
	{ "follow", 'f', NULL, "keep printing", &flag_follow, NULL },
	{ 0 },
};

static const struct hoist_cli_spec test_spec = {
	.name = "test",
	.summary = "A command for the tests.",
	.arg_names = { "JOB", "MODE" },
	.min_args = 1,
	.max_args = 2,
	.opts = test_opts,
};

/* Parses a NULL-terminated list of arguments after the command name. */
static int parse(struct hoist_cli_args *args, struct hoist_err *err, ...)
{
	char *argv[16] = { "test" };
	int argc = 1;
	va_list ap;
	char *arg;

	va_start(ap, err);
	while ((arg = va_arg(ap, char *)) != NULL && argc < 15)
		argv[argc++] = arg;
	va_end(ap);
	return hoist_cli_parse(&test_spec, argc, argv, args, err);
}

static void parse_positionals_and_flags(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;

	(void)state;
	assert_int_equal(parse(&args, &err, "job.yaml", "-d", "--follow",
			       "fast", NULL), 0);
	assert_int_equal(args.count, 2);
	assert_string_equal(args.positional[0], "job.yaml");
	assert_string_equal(args.positional[1], "fast");
	assert_int_equal(flag_detach, 1);
	assert_int_equal(flag_follow, 1);
	assert_null(value_profiles);
	assert_int_equal(args.help, 0);
}

static void parse_value_forms(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;

	(void)state;
	assert_int_equal(parse(&args, &err, "--profiles", "p.yaml", "j",
			       NULL), 0);
	assert_string_equal(value_profiles, "p.yaml");

	assert_int_equal(parse(&args, &err, "j", "--profiles=q.yaml", NULL),
			 0);
	assert_string_equal(value_profiles, "q.yaml");
	assert_int_equal(flag_detach, 0);

	/* An empty value after '=' is a value, not a missing one. */
	assert_int_equal(parse(&args, &err, "j", "--profiles=", NULL), 0);
	assert_string_equal(value_profiles, "");
}

static void parse_resets_previous_results(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;

	(void)state;
	assert_int_equal(parse(&args, &err, "j", "-d", "--profiles", "p",
			       NULL), 0);
	assert_int_equal(parse(&args, &err, "j", NULL), 0);
	assert_int_equal(flag_detach, 0);
	assert_null(value_profiles);
}

static void parse_double_dash_ends_options(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;

	(void)state;
	assert_int_equal(parse(&args, &err, "--", "-odd-name", NULL), 0);
	assert_int_equal(args.count, 1);
	assert_string_equal(args.positional[0], "-odd-name");
	assert_int_equal(flag_detach, 0);
}

static void parse_single_dash_is_positional(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;

	(void)state;
	assert_int_equal(parse(&args, &err, "-", NULL), 0);
	assert_string_equal(args.positional[0], "-");
}

static void parse_help_stops(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;

	(void)state;
	assert_int_equal(parse(&args, &err, "--help", "--bogus", NULL), 0);
	assert_int_equal(args.help, 1);
	assert_int_equal(parse(&args, &err, "-h", NULL), 0);
	assert_int_equal(args.help, 1);
	/* Help wins over a missing positional. */
	assert_int_equal(err.code, HOIST_OK);
}

struct bad_case {
	const char *args[4];
	const char *message;
};

static const struct bad_case bad_cases[] = {
	{ { "j", "--bogus" }, "unknown option '--bogus'" },
	{ { "j", "--bogus=1" }, "unknown option '--bogus'" },
	{ { "j", "-x" }, "unknown option '-x'" },
	{ { "j", "-df" }, "unknown option '-df'" },
	{ { "j", "--profiles" }, "option '--profiles' requires a value (FILE)" },
	{ { "j", "--detach=yes" }, "option '--detach' does not take a "
	  "value" },
	{ { "j", "--profiles", "a", "--profiles=b" }, "option "
	  "'--profiles' is given more than once" },
	{ { "j", "m", "extra" }, "unexpected argument 'extra'" },
	{ { "-d" }, "missing argument JOB" },
	{ { 0 }, "missing argument JOB" },
	{ { "--help=1" }, "unknown option '--help'" },
};

static void parse_rejects_bad_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *argv[6] = { "test" };
		struct hoist_err err = HOIST_ERR_INIT;
		struct hoist_cli_args args;
		int argc = 1;

		for (int j = 0; j < 4 && c->args[j]; j++)
			argv[argc++] = (char *)c->args[j];
		assert_int_equal(hoist_cli_parse(&test_spec, argc, argv, &args,
						 &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		assert_string_equal(err.msg, c->message);
	}
}

static void usage_line_names_arguments(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	hoist_cli_print_usage(out, &test_spec);
	fclose(out);
	assert_string_equal(text, "usage: hoist test JOB [MODE] [options]\n");
	free(text);
}

static void help_lists_every_option(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	hoist_cli_print_help(out, &test_spec);
	fclose(out);
	assert_non_null(strstr(text, "    --profiles FILE"));
	assert_non_null(strstr(text, "-d, --detach"));
	assert_non_null(strstr(text, "-f, --follow"));
	assert_non_null(strstr(text, "-h, --help"));
	assert_non_null(strstr(text, "A command for the tests."));
	free(text);
}

static void check_url_accepts_and_trims(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char url[HOIST_CLI_URL_MAX];

	(void)state;
	assert_int_equal(hoist_cli_check_url("http://127.0.0.1:7341/", "T",
					     url, sizeof(url), &err), 0);
	assert_string_equal(url, "http://127.0.0.1:7341");
	assert_int_equal(hoist_cli_check_url("https://[::1]:9", "T", url,
					     sizeof(url), &err), 0);
	assert_string_equal(url, "https://[::1]:9");
}

static void check_url_rejects_bad_values(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1:7341", "ftp://host", "http://", "http:///x",
		"http://host name", "http://host\tx", "",
	};
	char url[HOIST_CLI_URL_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_cli_check_url(bad[i], "HOIST_URL", url,
						     sizeof(url), &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		assert_non_null(strstr(err.msg, "HOIST_URL"));
	}
}

static void check_id_accepts_and_rejects(void **state)
{
	static const char *const good[] = { "j-3f9a2c1d", "local-1a2b",
					    "a.b_c-D9" };
	static const char *const bad[] = { "", ".", "..", "a/b", "j 1",
					   "j?x=1", "j%20" };
	char long_id[200];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_cli_check_id("job", good[i], &err), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_cli_check_id("job", bad[i], &err), -1);
		assert_non_null(strstr(err.msg, "invalid job id"));
	}
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	{
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_cli_check_id("instance", long_id, &err),
				 -1);
		assert_non_null(strstr(err.msg, "invalid instance id"));
	}
}

/* Writes text to a new file in a temporary directory; returns its path
 * in path (size PATH_MAX-ish). */
static void write_temp(char *path, size_t pathlen, const char *text)
{
	char dir[] = "/tmp/hoist-cli-test-XXXXXX";
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/hoistd.url", dir);
	if (!text)
		return;
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void remove_temp(const char *path)
{
	char dir[512];
	char *slash;

	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	rmdir(dir);
}

static void url_file_reads_one_line(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[512];
	char url[HOIST_CLI_URL_MAX];

	(void)state;
	write_temp(path, sizeof(path), "http://127.0.0.1:45123\n");
	assert_int_equal(hoist_cli_read_url_file(path, url, sizeof(url),
						 &err), 0);
	assert_string_equal(url, "http://127.0.0.1:45123");
	remove_temp(path);

	write_temp(path, sizeof(path), "http://127.0.0.1:45123/ \r\n\n");
	assert_int_equal(hoist_cli_read_url_file(path, url, sizeof(url),
						 &err), 0);
	assert_string_equal(url, "http://127.0.0.1:45123");
	remove_temp(path);
}

static void url_file_missing_is_not_found(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[512];
	char url[HOIST_CLI_URL_MAX];

	(void)state;
	write_temp(path, sizeof(path), NULL);
	assert_int_equal(hoist_cli_read_url_file(path, url, sizeof(url),
						 &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	remove_temp(path);
}

static void url_file_rejects_bad_content(void **state)
{
	static const char *const bad[] = {
		"", "\n", "127.0.0.1:7341\n", "http://a:1\nhttp://b:2\n",
		"garbage",
	};
	char path[512];
	char url[HOIST_CLI_URL_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;

		write_temp(path, sizeof(path), bad[i]);
		assert_int_equal(hoist_cli_read_url_file(path, url,
							 sizeof(url), &err),
				 -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		assert_non_null(strstr(err.msg, path));
		remove_temp(path);
	}
}

static void poll_interval_from_environment(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int64_t ms = 0;

	(void)state;
	unsetenv("HOIST_POLL_INTERVAL_MS");
	assert_int_equal(hoist_cli_follow_interval(&ms, &err), 0);
	assert_int_equal(ms, HOIST_CLI_POLL_DEFAULT_MS);

	setenv("HOIST_POLL_INTERVAL_MS", "50", 1);
	assert_int_equal(hoist_cli_follow_interval(&ms, &err), 0);
	assert_int_equal(ms, 50);

	setenv("HOIST_POLL_INTERVAL_MS", "5", 1);
	assert_int_equal(hoist_cli_follow_interval(&ms, &err), -1);
	assert_non_null(strstr(err.msg, "HOIST_POLL_INTERVAL_MS"));
	assert_non_null(strstr(err.msg, "'5'"));

	hoist_err_clear(&err);
	setenv("HOIST_POLL_INTERVAL_MS", "1s", 1);
	assert_int_equal(hoist_cli_follow_interval(&ms, &err), -1);
	unsetenv("HOIST_POLL_INTERVAL_MS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_positionals_and_flags),
		cmocka_unit_test(parse_value_forms),
		cmocka_unit_test(parse_resets_previous_results),
		cmocka_unit_test(parse_double_dash_ends_options),
		cmocka_unit_test(parse_single_dash_is_positional),
		cmocka_unit_test(parse_help_stops),
		cmocka_unit_test(parse_rejects_bad_input),
		cmocka_unit_test(usage_line_names_arguments),
		cmocka_unit_test(help_lists_every_option),
		cmocka_unit_test(check_url_accepts_and_trims),
		cmocka_unit_test(check_url_rejects_bad_values),
		cmocka_unit_test(check_id_accepts_and_rejects),
		cmocka_unit_test(url_file_reads_one_line),
		cmocka_unit_test(url_file_missing_is_not_found),
		cmocka_unit_test(url_file_rejects_bad_content),
		cmocka_unit_test(poll_interval_from_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
