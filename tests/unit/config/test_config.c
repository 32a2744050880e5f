/*
 * Tests of the YAML configuration loaders in src/config.
 *
 * Every input is written to a fresh temporary directory, loaded through
 * the public functions, and checked against the exact JSON or the exact
 * error message, including file, line, column and key path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/util.h"
#include "config/config.h"

#ifndef HOIST_SOURCE_DIR
#error "HOIST_SOURCE_DIR must name the source tree"
#endif

extern char **environ;

static char tmp_dir[PATH_MAX];
static json_t *profiles;

/* The first three lines of most job inputs; a test adds line 4 on. */
#define JOB_HEAD "name: demo\nprofile: dev-test\ncommand: [\"python3\", \"train.py\"]\n"

/* A valid profile of five lines after "profiles:"; a test adds line 8. */
#define PROFILE_HEAD \
	"profiles:\n" \
	"  dev-test:\n" \
	"    gpu_name: \"RTX 4090\"\n" \
	"    num_gpus: 1\n" \
	"    max_dph: 0.40\n" \
	"    reliability_min: 0.95\n" \
	"    max_duration_hours: 2\n"

#define OFFERS_HEAD \
	"offers:\n" \
	"  - name: a\n" \
	"    gpu_name: \"RTX 4090\"\n" \
	"    price_per_hour: 0.30\n"

/* snprintf() that fails the test instead of cutting the output. */
static void format(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void format(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

static void write_input(const char *name, const char *text, char *path,
			size_t size)
{
	FILE *file;

	format(path, size, "%s/%s", tmp_dir, name);
	file = fopen(path, "w");
	assert_non_null(file);
	assert_true(fputs(text, file) >= 0);
	assert_int_equal(fclose(file), 0);
}

/* Checks that err.msg is path, ":" and then expected, exactly. */
static void assert_message(const struct hoist_err *err, const char *path,
			   const char *expected)
{
	char message[HOIST_ERR_MSG_MAX + PATH_MAX];

	format(message, sizeof(message), "%s:%s", path, expected);
	assert_int_equal(err->code, HOIST_E_INVALID);
	assert_string_equal(err->msg, message);
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("'%s' does not contain '%s'", text, part);
}

static json_t *load_job_ok(const char *text)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *spec = NULL;

	write_input("job.yaml", text, path, sizeof(path));
	if (hoist_config_load_job(path, profiles, &spec, &err) != 0)
		fail_msg("job failed to load: %s", err.msg);
	assert_non_null(spec);
	return spec;
}

static void assert_job_error(const char *text, const char *expected)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *spec = NULL;

	write_input("job.yaml", text, path, sizeof(path));
	assert_int_equal(hoist_config_load_job(path, profiles, &spec, &err),
			 -1);
	assert_null(spec);
	assert_message(&err, path, expected);
}

static json_t *load_profiles_ok(const char *text)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *result = NULL;

	write_input("gpu_profiles.yaml", text, path, sizeof(path));
	if (hoist_config_load_profiles(path, &result, &err) != 0)
		fail_msg("profiles failed to load: %s", err.msg);
	assert_non_null(result);
	return result;
}

static void assert_profiles_error(const char *text, const char *expected)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *result = NULL;

	write_input("gpu_profiles.yaml", text, path, sizeof(path));
	assert_int_equal(hoist_config_load_profiles(path, &result, &err), -1);
	assert_null(result);
	assert_message(&err, path, expected);
}

static void assert_offers_error(const char *text, const char *expected)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *result = NULL;

	write_input("local_offers.yaml", text, path, sizeof(path));
	assert_int_equal(hoist_config_load_local_offers(path, &result, &err),
			 -1);
	assert_null(result);
	assert_message(&err, path, expected);
}

static void assert_json_equal(const json_t *actual, const char *expected)
{
	json_error_t error;
	json_t *want = json_loads(expected, 0, &error);
	char *got_text;

	if (!want)
		fail_msg("invalid expected JSON: %s", error.text);
	if (!json_equal(actual, want)) {
		got_text = json_dumps(actual, JSON_SORT_KEYS);
		fail_msg("got %s", got_text ? got_text : "(null)");
	}
	json_decref(want);
}

static int group_setup(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/hoist-config-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmp_dir))
		return -1;
	if (hoist_config_load_profiles(HOIST_SOURCE_DIR
				       "/config/gpu_profiles.yaml",
				       &profiles, &err) != 0) {
		fprintf(stderr, "shipped profiles failed to load: %s\n",
			err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	json_decref(profiles);
	return hoist_util_remove_tree(tmp_dir, &err);
}

/* ---- shipped files ---- */

static void test_shipped_profiles_load(void **state)
{
	const json_t *dev;
	const json_t *distributed;

	(void)state;
	assert_int_equal(json_object_size(profiles), 4);
	dev = json_object_get(profiles, "dev-test");
	assert_non_null(dev);
	assert_string_equal(json_string_value(json_object_get(dev, "name")),
			    "dev-test");
	assert_string_equal(json_string_value(json_object_get(dev,
							      "gpu_name")),
			    "RTX 4090");
	assert_int_equal(json_integer_value(json_object_get(dev, "num_gpus")),
			 1);
	assert_true(json_is_true(json_object_get(dev, "interruptible")));
	assert_true(json_real_value(json_object_get(dev, "max_dph")) <= 0.40);
	assert_non_null(json_object_get(profiles, "training-standard"));
	assert_non_null(json_object_get(profiles, "inference-batch"));
	distributed = json_object_get(profiles, "training-distributed");
	assert_non_null(distributed);
	assert_string_equal(json_string_value(json_object_get(distributed,
							      "gpu_name")),
			    "H100 SXM");
	assert_int_equal(json_integer_value(json_object_get(distributed,
							    "num_gpus")), 8);
}

static void test_shipped_offers_load(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	const json_t *dev = json_object_get(profiles, "dev-test");
	double max_dph = json_real_value(json_object_get(dev, "max_dph"));
	double reliability_min =
		json_real_value(json_object_get(dev, "reliability_min"));
	double first_price = -1.0;
	bool two_prices = false;
	json_t *offers = NULL;
	json_t *offer;
	size_t matches = 0;
	size_t index;

	(void)state;
	assert_int_equal(hoist_config_load_local_offers(
		HOIST_SOURCE_DIR "/config/local_offers.yaml", &offers, &err),
		0);
	assert_true(json_array_size(offers) >= 4);
	json_array_foreach(offers, index, offer) {
		const char *gpu = json_string_value(json_object_get(offer,
								"gpu_name"));
		double price = json_real_value(json_object_get(offer,
							       "price_per_hour"));
		double reliability = json_real_value(json_object_get(
			offer, "reliability"));

		if (strcmp(gpu, "RTX 4090") != 0 || price > max_dph ||
		    reliability < reliability_min)
			continue;
		matches++;
		if (first_price < 0)
			first_price = price;
		else if (price != first_price)
			two_prices = true;
	}
	assert_true(matches >= 2);
	assert_true(two_prices);
	json_decref(offers);
}

/* ---- profiles ---- */

static void test_profile_defaults_filled(void **state)
{
	json_t *result;

	(void)state;
	result = load_profiles_ok(PROFILE_HEAD);
	assert_json_equal(result,
			  "{\"dev-test\": {\"name\": \"dev-test\","
			  " \"gpu_name\": \"RTX 4090\", \"num_gpus\": 1,"
			  " \"max_dph\": 0.40, \"reliability_min\": 0.95,"
			  " \"max_duration_hours\": 2.0, \"disk_gb\": 20.0,"
			  " \"interruptible\": false}}");
	json_decref(result);
}

static void test_profile_all_keys(void **state)
{
	json_t *result;

	(void)state;
	result = load_profiles_ok(PROFILE_HEAD
				  "    disk_gb: 50\n"
				  "    cuda_min: \"12.10\"\n"
				  "    min_inet_down_mbps: 200\n"
				  "    region: NO\n"
				  "    verified: True\n"
				  "    interruptible: TRUE\n");
	assert_json_equal(result,
			  "{\"dev-test\": {\"name\": \"dev-test\","
			  " \"gpu_name\": \"RTX 4090\", \"num_gpus\": 1,"
			  " \"max_dph\": 0.40, \"reliability_min\": 0.95,"
			  " \"max_duration_hours\": 2.0, \"disk_gb\": 50.0,"
			  " \"cuda_min\": \"12.10\","
			  " \"min_inet_down_mbps\": 200.0,"
			  " \"region\": \"NO\", \"verified\": true,"
			  " \"interruptible\": true}}");
	json_decref(result);
}

static void test_profile_gpu_name_integer(void **state)
{
	(void)state;
	assert_profiles_error("profiles:\n"
			      "  dev-test:\n"
			      "    gpu_name: 4090\n"
			      "    num_gpus: 1\n"
			      "    max_dph: 0.40\n"
			      "    reliability_min: 0.95\n"
			      "    max_duration_hours: 2\n",
			      "3:15: profiles.dev-test.gpu_name: expected a "
			      "string, found the integer 4090; quote it "
			      "(\"4090\") if you mean a name");
}

static void test_profile_version_plain_float(void **state)
{
	(void)state;
	assert_profiles_error(PROFILE_HEAD "    cuda_min: 12.10\n",
			      "8:15: profiles.dev-test.cuda_min: expected a "
			      "version string, found the float 12.10; quote "
			      "it (\"12.10\"), because a plain 12.10 is the "
			      "number 12.1 and would lose digits such as a "
			      "trailing zero");
	assert_profiles_error(PROFILE_HEAD "    cuda_min: 3.10\n",
			      "8:15: profiles.dev-test.cuda_min: expected a "
			      "version string, found the float 3.10; quote "
			      "it (\"3.10\"), because a plain 3.10 is the "
			      "number 3.1 and would lose digits such as a "
			      "trailing zero");
	assert_profiles_error(PROFILE_HEAD "    cuda_min: 12\n",
			      "8:15: profiles.dev-test.cuda_min: expected a "
			      "version string, found the integer 12; quote "
			      "it (\"12\") to keep it as text");
	assert_profiles_error(PROFILE_HEAD "    cuda_min: \"12.x\"\n",
			      "8:15: profiles.dev-test.cuda_min: invalid "
			      "version '12.x': expected numbers separated by "
			      "dots, such as \"12.1\"");
}

static void test_profile_bool_no(void **state)
{
	(void)state;
	assert_profiles_error(PROFILE_HEAD "    verified: NO\n",
			      "8:15: profiles.dev-test.verified: expected true "
			      "or false, found the string 'NO'; YAML 1.2 reads "
			      "yes, no, on, off, y and n as strings");
	assert_profiles_error(PROFILE_HEAD "    interruptible: yes\n",
			      "8:20: profiles.dev-test.interruptible: expected "
			      "true or false, found the string 'yes'; YAML 1.2 "
			      "reads yes, no, on, off, y and n as strings");
	assert_profiles_error(PROFILE_HEAD "    interruptible: \"true\"\n",
			      "8:20: profiles.dev-test.interruptible: expected "
			      "true or false, found the string 'true'; remove "
			      "the quotes");
	assert_profiles_error(PROFILE_HEAD "    verified: 1\n",
			      "8:15: profiles.dev-test.verified: expected true "
			      "or false, found the integer 1");
}

static void test_profile_number_checks(void **state)
{
	(void)state;
	assert_profiles_error(PROFILE_HEAD "    disk_gb: 0\n",
			      "8:14: profiles.dev-test.disk_gb: expected a "
			      "number greater than 0, found 0");
	assert_profiles_error(PROFILE_HEAD "    disk_gb: -5.5\n",
			      "8:14: profiles.dev-test.disk_gb: expected a "
			      "number greater than 0, found -5.5");
	assert_profiles_error(PROFILE_HEAD "    disk_gb: .inf\n",
			      "8:14: profiles.dev-test.disk_gb: expected a "
			      "number greater than 0, found the float .inf; "
			      "infinity and NaN are not allowed");
	assert_profiles_error(PROFILE_HEAD "    disk_gb: .nan\n",
			      "8:14: profiles.dev-test.disk_gb: expected a "
			      "number greater than 0, found the float .nan; "
			      "infinity and NaN are not allowed");
	assert_profiles_error(PROFILE_HEAD "    disk_gb: \"50\"\n",
			      "8:14: profiles.dev-test.disk_gb: expected a "
			      "number greater than 0, found the string '50'; "
			      "remove the quotes");
	assert_profiles_error(PROFILE_HEAD "    disk_gb: 1e999\n",
			      "8:14: profiles.dev-test.disk_gb: expected a "
			      "number greater than 0, found 1e999, which is "
			      "out of range");
	assert_profiles_error(PROFILE_HEAD "    min_inet_down_mbps: -1\n",
			      "8:25: profiles.dev-test.min_inet_down_mbps: "
			      "expected a number of at least 0, found -1");
}

static void test_profile_range_checks(void **state)
{
	(void)state;
	assert_profiles_error("profiles:\n"
			      "  big:\n"
			      "    gpu_name: \"H100 SXM\"\n"
			      "    num_gpus: 65\n"
			      "    max_dph: 1\n"
			      "    reliability_min: 1.5\n"
			      "    max_duration_hours: 2\n",
			      "4:15: profiles.big.num_gpus: expected an integer "
			      "from 1 to 64, found 65");
	assert_profiles_error("profiles:\n"
			      "  big:\n"
			      "    gpu_name: \"H100 SXM\"\n"
			      "    num_gpus: 2.0\n"
			      "    max_dph: 1\n"
			      "    reliability_min: 0.9\n"
			      "    max_duration_hours: 2\n",
			      "4:15: profiles.big.num_gpus: expected an integer "
			      "from 1 to 64, found the float 2.0");
	assert_profiles_error("profiles:\n"
			      "  big:\n"
			      "    gpu_name: \"H100 SXM\"\n"
			      "    num_gpus: 8\n"
			      "    max_dph: 1\n"
			      "    reliability_min: 1.5\n"
			      "    max_duration_hours: 2\n",
			      "6:22: profiles.big.reliability_min: expected a "
			      "number from 0 to 1, found 1.5");
	assert_profiles_error("profiles:\n"
			      "  big:\n"
			      "    gpu_name: \"H100 SXM\"\n"
			      "    num_gpus: 8\n"
			      "    max_dph: 0\n"
			      "    reliability_min: 0.9\n"
			      "    max_duration_hours: 2\n",
			      "5:14: profiles.big.max_dph: expected a number "
			      "greater than 0 and at most 1000000, found 0");
	assert_profiles_error("profiles:\n"
			      "  big:\n"
			      "    gpu_name: \"H100 SXM\"\n"
			      "    num_gpus: 8\n"
			      "    max_dph: 1\n"
			      "    reliability_min: 0.9\n"
			      "    max_duration_hours: 200000\n",
			      "7:25: profiles.big.max_duration_hours: expected "
			      "a number greater than 0 and at most 100000, "
			      "found 200000");
}

static void test_profile_integer_forms(void **state)
{
	json_t *result;
	const char *text = "profiles:\n"
			   "  hex:\n"
			   "    gpu_name: \"H100 SXM\"\n"
			   "    num_gpus: 0x8\n"
			   "    max_dph: 16\n"
			   "    reliability_min: 1\n"
			   "    max_duration_hours: .5\n"
			   "  octal:\n"
			   "    gpu_name: \"L4\"\n"
			   "    num_gpus: 0o10\n"
			   "    max_dph: +1.5e1\n"
			   "    reliability_min: 0\n"
			   "    max_duration_hours: 1.\n";

	(void)state;
	result = load_profiles_ok(text);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(result, "hex"), "num_gpus")), 8);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(result, "octal"), "num_gpus")), 8);
	assert_true(json_real_value(json_object_get(
		json_object_get(result, "octal"), "max_dph")) == 15.0);
	assert_true(json_real_value(json_object_get(
		json_object_get(result, "hex"), "max_duration_hours")) == 0.5);
	json_decref(result);
}

static void test_profile_unknown_key(void **state)
{
	(void)state;
	assert_profiles_error(PROFILE_HEAD "    max_dhp: 1\n",
			      "8:5: profiles.dev-test: unknown key 'max_dhp'; "
			      "did you mean max_dph? allowed keys: gpu_name, "
			      "num_gpus, max_dph, reliability_min, "
			      "max_duration_hours, disk_gb, cuda_min, "
			      "min_inet_down_mbps, region, verified, "
			      "interruptible");
	assert_profiles_error(PROFILE_HEAD "    colour: red\n",
			      "8:5: profiles.dev-test: unknown key 'colour'; "
			      "allowed keys: gpu_name, num_gpus, max_dph, "
			      "reliability_min, max_duration_hours, disk_gb, "
			      "cuda_min, min_inet_down_mbps, region, verified, "
			      "interruptible");
	assert_profiles_error("profile:\n  x: 1\n",
			      "1:1: unknown key 'profile'; did you mean "
			      "profiles? allowed keys: profiles");
}

static void test_profile_missing_and_duplicate(void **state)
{
	(void)state;
	assert_profiles_error("profiles:\n"
			      "  dev-test:\n"
			      "    gpu_name: \"RTX 4090\"\n"
			      "    num_gpus: 1\n"
			      "    reliability_min: 0.95\n"
			      "    max_duration_hours: 2\n",
			      "3:5: profiles.dev-test: missing required key "
			      "'max_dph'");
	assert_profiles_error(PROFILE_HEAD "    num_gpus: 2\n",
			      "8:5: profiles.dev-test: duplicate key "
			      "'num_gpus'; it is first defined at line 4, "
			      "column 5");
	assert_profiles_error(PROFILE_HEAD
			      "  dev-test:\n"
			      "    gpu_name: \"L4\"\n",
			      "8:3: profiles: duplicate key 'dev-test'; it is "
			      "first defined at line 2, column 3");
	assert_profiles_error("profiles: {}\n",
			      "1:11: profiles: expected at least one profile, "
			      "found an empty mapping");
	assert_profiles_error("profiles:\n  bad name:\n    gpu_name: x\n",
			      "2:3: profiles: invalid profile name 'bad name': "
			      "use 1 to 63 characters from A-Z, a-z, 0-9, "
			      "'.', '_' and '-'");
}

static void test_profile_string_rules(void **state)
{
	(void)state;
	assert_profiles_error(PROFILE_HEAD "    region: 12\n",
			      "8:13: profiles.dev-test.region: expected a "
			      "string, found the integer 12; quote it (\"12\") "
			      "if you mean a name");
	assert_profiles_error(PROFILE_HEAD "    region: true\n",
			      "8:13: profiles.dev-test.region: expected a "
			      "string, found the boolean true; quote it "
			      "(\"true\") if you mean a name");
	assert_profiles_error(PROFILE_HEAD "    region:\n",
			      "8:5: profiles.dev-test.region: expected a "
			      "string, found no value");
	assert_profiles_error(PROFILE_HEAD "    region: ~\n",
			      "8:13: profiles.dev-test.region: expected a "
			      "string, found null; quote it (\"~\") if you "
			      "mean a name");
	assert_profiles_error(PROFILE_HEAD "    region: [a]\n",
			      "8:13: profiles.dev-test.region: expected a "
			      "string, found a sequence");
	assert_profiles_error(PROFILE_HEAD "    region: \"a\\0b\"\n",
			      "8:13: profiles.dev-test.region: invalid string: "
			      "the text is not valid UTF-8 or contains a NUL "
			      "character");
}

/* ---- YAML features and files ---- */

static void test_yaml_syntax_error(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char capture[PATH_MAX];
	char path[PATH_MAX];
	json_t *result = NULL;
	struct stat st;
	int saved_stderr;
	int fd;
	int rc;

	(void)state;
	write_input("gpu_profiles.yaml", "profiles:\n  a: [1, 2\n  b: 3\n",
		    path, sizeof(path));
	format(capture, sizeof(capture), "%s/stderr.txt", tmp_dir);
	fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);

	rc = hoist_config_load_profiles(path, &result, &err);

	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	close(fd);
	assert_int_equal(rc, -1);
	assert_null(result);
	/* libfyaml reports the end of the input, where it gave up. */
	assert_message(&err, path, "4:1: invalid YAML: flow sequence without "
			       "a closing bracket");
	/* libfyaml must not print its diagnostics itself. */
	assert_int_equal(stat(capture, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_yaml_features_rejected(void **state)
{
	(void)state;
	assert_job_error(JOB_HEAD "image: &img python\n",
			 "4:13: image: anchors (&img) are not supported; "
			 "write each value out in full");
	assert_job_error(JOB_HEAD "image: *img\n",
			 "4:8: image: aliases (*img) are not supported; "
			 "write the value out in full");
	assert_job_error(JOB_HEAD "image: !!str python\n",
			 "4:14: image: tags (!!str) are not supported; put "
			 "quotes around a value to make it a string");
	assert_job_error(JOB_HEAD "retry:\n  <<: {max_attempts: 3}\n",
			 "5:3: retry: merge keys (<<) are not supported; "
			 "write the keys out in full");
	assert_job_error(JOB_HEAD "---\nname: other\n",
			 "5:1: the file contains more than one YAML "
			 "document; remove the second '---' and what "
			 "follows it");
	assert_job_error(JOB_HEAD "1: x\n",
			 "4:1: expected a string as the key, found the "
			 "integer 1; quote it (\"1\") if you mean a name");
}

static void test_file_empty_and_missing(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *result = NULL;

	(void)state;
	assert_job_error("", "1:1: the file is empty; expected a mapping "
			 "with at least the keys name, profile and command");
	assert_job_error("# only a comment\n",
			 "1:1: the file is empty; expected a mapping with at "
			 "least the keys name, profile and command");
	assert_job_error("- a\n", "1:1: expected a mapping, found a "
			 "sequence");
	assert_offers_error("", "1:1: the file is empty; expected a mapping "
			    "with the key 'offers'");

	format(path, sizeof(path), "%s/missing.yaml", tmp_dir);
	assert_int_equal(hoist_config_load_profiles(path, &result, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_contains(err.msg, path);
	assert_null(result);
}

static void test_file_not_utf8(void **state)
{
	static const char directive[] = "%\xbb\xbb\nname: x\n";
	static const char with_nul[] = "name: a\0b\n";
	static const char latin1[] = "name: x\nimage: caf\xe9\n";
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *spec = NULL;

	(void)state;
	/* libfyaml 0.7.12 hangs on the first input unless it is rejected
	 * before parsing. */
	assert_int_equal(hoist_config_load_job_buffer("job.yaml", directive,
						      sizeof(directive) - 1,
						      profiles, &spec, &err),
			 -1);
	assert_string_equal(err.msg, "job.yaml:1:2: invalid YAML: invalid "
			    "UTF-8 byte 0xbb; save the file as UTF-8");

	hoist_err_clear(&err);
	assert_int_equal(hoist_config_load_job_buffer("job.yaml", with_nul,
						      sizeof(with_nul) - 1,
						      profiles, &spec, &err),
			 -1);
	assert_string_equal(err.msg, "job.yaml:1:8: invalid YAML: NUL "
			    "character; configuration files must be text");

	hoist_err_clear(&err);
	assert_int_equal(hoist_config_load_job_buffer("job.yaml", latin1,
						      sizeof(latin1) - 1,
						      profiles, &spec, &err),
			 -1);
	assert_string_equal(err.msg, "job.yaml:2:11: invalid YAML: invalid "
			    "UTF-8 byte 0xe9; save the file as UTF-8");
	assert_null(spec);
}

static void test_file_over_limit(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *result = NULL;
	size_t size = HOIST_CONFIG_FILE_MAX + 1;
	char *text = malloc(size + 1);

	(void)state;
	assert_non_null(text);
	memset(text, '#', size);
	text[size] = '\0';
	write_input("big.yaml", text, path, sizeof(path));
	assert_int_equal(hoist_config_load_profiles(path, &result, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	assert_contains(err.msg, "more than the limit of 1 MiB");
	assert_null(result);

	hoist_err_clear(&err);
	assert_int_equal(hoist_config_load_job_buffer("big.yaml", text, size,
						      profiles, &result, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	assert_null(result);
	free(text);
}

/* ---- jobs ---- */

static void test_job_full_spec(void **state)
{
	char workdir[PATH_MAX];
	char resolved[PATH_MAX];
	char expected[4096];
	json_t *spec;

	(void)state;
	format(workdir, sizeof(workdir), "%s/work", tmp_dir);
	assert_true(mkdir(workdir, 0700) == 0 || errno == EEXIST);
	assert_non_null(realpath(workdir, resolved));
	spec = load_job_ok("name: charlm-demo\n"
			   "team: research\n"
			   "project: charlm\n"
			   "profile:\n"
			   "  use: dev-test\n"
			   "  max_dph: 0.5\n"
			   "image: docker.io/library/python:3.11-slim\n"
			   "command: [\"/usr/bin/python3\", \"train.py\", "
			   "\"--steps\", \"600\"]\n"
			   "workdir: work\n"
			   "env:\n"
			   "  LR: \"0.05\"\n"
			   "  NAME_2: plain text\n"
			   "checkpoint: {interval: 30s, keep: 5}\n"
			   "grace: 20s\n"
			   "retry: {max_failures: 0, max_attempts: 7}\n"
			   "max_duration: 1h30m\n");
	format(expected, sizeof(expected),
		 "{\"name\": \"charlm-demo\", \"team\": \"research\","
		 " \"project\": \"charlm\","
		 " \"profile\": {\"name\": \"dev-test\","
		 " \"gpu_name\": \"RTX 4090\", \"num_gpus\": 1,"
		 " \"max_dph\": 0.5, \"reliability_min\": 0.95,"
		 " \"max_duration_hours\": 1.5, \"disk_gb\": 20.0,"
		 " \"interruptible\": true},"
		 " \"image\": \"docker.io/library/python:3.11-slim\","
		 " \"command\": [\"/usr/bin/python3\", \"train.py\","
		 " \"--steps\", \"600\"],"
		 " \"workdir\": \"%s\","
		 " \"env\": {\"LR\": \"0.05\", \"NAME_2\": \"plain text\"},"
		 " \"checkpoint\": {\"interval_seconds\": 30, \"keep\": 5},"
		 " \"grace_seconds\": 20,"
		 " \"retry\": {\"max_failures\": 0, \"max_attempts\": 7}}",
		 resolved);
	assert_json_equal(spec, expected);
	json_decref(spec);
}

static void test_job_defaults(void **state)
{
	char resolved[PATH_MAX];
	char expected[4096];
	json_t *spec;

	(void)state;
	assert_non_null(realpath(tmp_dir, resolved));
	spec = load_job_ok(JOB_HEAD);
	format(expected, sizeof(expected),
		 "{\"name\": \"demo\", \"team\": \"default\","
		 " \"project\": \"default\","
		 " \"profile\": {\"name\": \"dev-test\","
		 " \"gpu_name\": \"RTX 4090\", \"num_gpus\": 1,"
		 " \"max_dph\": 0.4, \"reliability_min\": 0.95,"
		 " \"max_duration_hours\": 2.0, \"disk_gb\": 20.0,"
		 " \"interruptible\": true},"
		 " \"command\": [\"python3\", \"train.py\"],"
		 " \"workdir\": \"%s\", \"env\": {},"
		 " \"checkpoint\": {\"interval_seconds\": 600, \"keep\": 3},"
		 " \"grace_seconds\": 30,"
		 " \"retry\": {\"max_failures\": 2, \"max_attempts\": 20}}",
		 resolved);
	assert_json_equal(spec, expected);
	json_decref(spec);
}

static void test_job_command_forms(void **state)
{
	char long_command[8192];
	size_t used;
	json_t *spec;

	(void)state;
	spec = load_job_ok("name: demo\nprofile: dev-test\n"
			   "command: python3 train.py --steps 600\n");
	assert_json_equal(json_object_get(spec, "command"),
			  "[\"/bin/sh\", \"-c\", "
			  "\"python3 train.py --steps 600\"]");
	json_decref(spec);

	assert_job_error("name: demo\nprofile: dev-test\n"
			 "command: [\"python3\", \"train.py\", \"--steps\", "
			 "600]\n",
			 "3:45: command[3]: expected a string, found the "
			 "integer 600; quote it (\"600\"), because command "
			 "arguments are strings");
	assert_job_error("name: demo\nprofile: dev-test\ncommand: []\n",
			 "3:10: command: expected at least the program to "
			 "run, found an empty sequence");
	assert_job_error("name: demo\nprofile: dev-test\ncommand: \"  \"\n",
			 "3:10: command: expected a shell command, found an "
			 "empty string");
	assert_job_error("name: demo\nprofile: dev-test\ncommand: {a: b}\n",
			 "3:10: command: expected a string or a sequence of "
			 "strings, found a mapping");
	assert_job_error("name: demo\nprofile: dev-test\n",
			 "1:1: missing required key 'command'");

	/* hoistd accepts at most 1024 arguments. */
	memcpy(long_command, "name: demo\nprofile: dev-test\ncommand: [x",
	       strlen("name: demo\nprofile: dev-test\ncommand: [x"));
	used = strlen("name: demo\nprofile: dev-test\ncommand: [x");
	for (int i = 0; i < 1024; i++) {
		memcpy(long_command + used, ", y", 3);
		used += 3;
	}
	memcpy(long_command + used, "]\n", 3);
	assert_job_error(long_command, "3:10: command: expected at most 1024 "
			 "arguments, found 1025");
}

static void test_job_profile_resolution(void **state)
{
	json_t *spec;

	(void)state;
	spec = load_job_ok("name: demo\n"
			   "profile: {use: training-distributed, num_gpus: 4,"
			   " cuda_min: \"12.8\"}\n"
			   "command: [x]\n"
			   "max_duration: 45m\n");
	assert_json_equal(json_object_get(spec, "profile"),
			  "{\"name\": \"training-distributed\","
			  " \"gpu_name\": \"H100 SXM\", \"num_gpus\": 4,"
			  " \"max_dph\": 16.0, \"reliability_min\": 0.99,"
			  " \"max_duration_hours\": 0.75, \"disk_gb\": 500.0,"
			  " \"cuda_min\": \"12.8\","
			  " \"min_inet_down_mbps\": 1000.0,"
			  " \"verified\": true, \"interruptible\": false}");
	json_decref(spec);

	assert_job_error("name: demo\nprofile: dev-tset\ncommand: [x]\n",
			 "2:10: profile: unknown profile 'dev-tset'; did you "
			 "mean dev-test? available profiles: dev-test, "
			 "training-standard, training-distributed, "
			 "inference-batch");
	assert_job_error("name: demo\nprofile: {max_dph: 1}\ncommand: [x]\n",
			 "2:10: profile: missing required key 'use'");
	assert_job_error("name: demo\nprofile: {use: dev-test, "
			 "cuda_min: 12.10}\ncommand: [x]\n",
			 "2:36: profile.cuda_min: expected a version string, "
			 "found the float 12.10; quote it (\"12.10\"), because "
			 "a plain 12.10 is the number 12.1 and would lose "
			 "digits such as a trailing zero");
	assert_job_error("name: demo\nprofile: {use: dev-test, "
			 "verified: NO}\ncommand: [x]\n",
			 "2:36: profile.verified: expected true or false, "
			 "found the string 'NO'; YAML 1.2 reads yes, no, on, "
			 "off, y and n as strings");
	assert_job_error("name: demo\nprofile: {use: dev-test, "
			 "name: x}\ncommand: [x]\n",
			 "2:26: profile: unknown key 'name'; allowed keys: "
			 "use, gpu_name, num_gpus, max_dph, reliability_min, "
			 "max_duration_hours, disk_gb, cuda_min, "
			 "min_inet_down_mbps, region, verified, "
			 "interruptible");
	assert_job_error(JOB_HEAD "max_duration: 0s\n",
			 "4:15: max_duration: expected a duration greater "
			 "than 0 and at most 100000h, found 0s");
	assert_job_error(JOB_HEAD "max_duration: 4200d\n",
			 "4:15: max_duration: expected a duration greater "
			 "than 0 and at most 100000h, found 4200d");
}

static void test_job_profile_without_profiles(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	static const char text[] = JOB_HEAD;
	json_t *spec = NULL;

	(void)state;
	assert_int_equal(hoist_config_load_job_buffer("job.yaml", text,
						      strlen(text), NULL,
						      &spec, &err), -1);
	assert_null(spec);
	assert_string_equal(err.msg, "job.yaml:2:10: profile: unknown "
			    "profile 'dev-test'; no GPU profiles are loaded");
}

static void test_job_names(void **state)
{
	(void)state;
	assert_job_error("name: a b\nprofile: dev-test\ncommand: [x]\n",
			 "1:7: name: invalid job name 'a b': use 1 to 63 "
			 "characters from A-Z, a-z, 0-9, '.', '_' and '-'");
	assert_job_error("name: ..\nprofile: dev-test\ncommand: [x]\n",
			 "1:7: name: invalid job name '..': '.' and '..' are "
			 "not allowed");
	assert_job_error("name: 2024\nprofile: dev-test\ncommand: [x]\n",
			 "1:7: name: expected a string, found the integer "
			 "2024; quote it (\"2024\") if you mean a name");
	assert_job_error("name: "
			 "a234567890123456789012345678901234567890123456789"
			 "012345678901234\nprofile: dev-test\ncommand: [x]\n",
			 "1:7: name: invalid job name '"
			 "a234567890123456789012345678901234567890123456789"
			 "012345678901234': use 1 to 63 characters from A-Z, "
			 "a-z, 0-9, '.', '_' and '-'");
	assert_job_error(JOB_HEAD "team: \"my team\"\n",
			 "4:7: team: invalid team name 'my team': use 1 to "
			 "63 characters from A-Z, a-z, 0-9, '.', '_' and '-'");
	assert_job_error(JOB_HEAD "nmae: x\n",
			 "4:1: unknown key 'nmae'; did you mean name? "
			 "allowed keys: name, team, project, profile, image, "
			 "command, workdir, env, checkpoint, grace, retry, "
			 "max_duration, inputs, outputs");
}

static void test_job_env_rules(void **state)
{
	(void)state;
	assert_job_error(JOB_HEAD "env:\n  LR: 1\n",
			 "5:7: env.LR: expected a string, found the integer "
			 "1; quote it (\"1\"), because environment variable "
			 "values are strings");
	assert_job_error(JOB_HEAD "env:\n  DEBUG: true\n",
			 "5:10: env.DEBUG: expected a string, found the "
			 "boolean true; quote it (\"true\"), because "
			 "environment variable values are strings");
	assert_job_error(JOB_HEAD "env:\n  RATE: 0.5\n",
			 "5:9: env.RATE: expected a string, found the float "
			 "0.5; quote it (\"0.5\"), because environment "
			 "variable values are strings");
	assert_job_error(JOB_HEAD "env:\n  EMPTY:\n",
			 "5:3: env.EMPTY: expected a string, found no value");
	assert_job_error(JOB_HEAD "env:\n  HOIST_JOB_ID: x\n",
			 "5:3: env: invalid environment variable name "
			 "'HOIST_JOB_ID': names starting with HOIST_ are "
			 "reserved, because hoist sets them for the command");
	assert_job_error(JOB_HEAD "env:\n  1X: a\n",
			 "5:3: env: invalid environment variable name '1X': "
			 "use letters, digits and '_', not starting with a "
			 "digit");
	assert_job_error(JOB_HEAD "env:\n  A: x\n  A: y\n",
			 "6:3: env: duplicate key 'A'; it is first defined "
			 "at line 5, column 3");
	assert_job_error(JOB_HEAD "env: [A]\n",
			 "4:6: env: expected a mapping, found a sequence");
}

static void test_job_durations(void **state)
{
	(void)state;
	assert_job_error(JOB_HEAD "grace: 30\n",
			 "4:8: grace: expected a duration with a unit, found "
			 "the integer 30; add a unit (ms, s, m, h or d), such "
			 "as 30s");
	assert_job_error(JOB_HEAD "grace: \"30\"\n",
			 "4:8: grace: invalid duration '30': the number has "
			 "no unit; add one of ms, s, m, h or d, such as 30s");
	assert_job_error(JOB_HEAD "grace: 1500ms\n",
			 "4:8: grace: expected a whole number of seconds, "
			 "found 1500ms");
	assert_job_error(JOB_HEAD "grace: 0s\n",
			 "4:8: grace: expected a duration from 1s to 3600s, "
			 "found 0s");
	assert_job_error(JOB_HEAD "grace: 1h1s\n",
			 "4:8: grace: expected a duration from 1s to 3600s, "
			 "found 1h1s");
	assert_job_error(JOB_HEAD "checkpoint:\n  interval: 10\n",
			 "5:13: checkpoint.interval: expected a duration with "
			 "a unit, found the integer 10; add a unit (ms, s, m, "
			 "h or d), such as 10s");
	assert_job_error(JOB_HEAD "checkpoint:\n  keep: 0\n",
			 "5:9: checkpoint.keep: expected an integer from 1 to "
			 "1000, found 0");
	assert_job_error(JOB_HEAD "max_duration: 2\n",
			 "4:15: max_duration: expected a duration with a "
			 "unit, found the integer 2; add a unit (ms, s, m, h "
			 "or d), such as 2s");
}

static void test_job_retry_rules(void **state)
{
	(void)state;
	assert_job_error(JOB_HEAD "retry:\n  max_faliures: 3\n",
			 "5:3: retry: unknown key 'max_faliures'; did you "
			 "mean max_failures? allowed keys: max_failures, "
			 "max_attempts");
	assert_job_error(JOB_HEAD "retry:\n  max_attempts: 0\n",
			 "5:17: retry.max_attempts: expected an integer from "
			 "1 to 10000, found 0");
	assert_job_error(JOB_HEAD "retry:\n  max_attempts: 10001\n",
			 "5:17: retry.max_attempts: expected an integer from "
			 "1 to 10000, found 10001");
	assert_job_error(JOB_HEAD "retry:\n  max_failures: -1\n",
			 "5:17: retry.max_failures: expected an integer from "
			 "0 to 1000, found -1");
	assert_job_error(JOB_HEAD "retry:\n  max_failures: \"3\"\n",
			 "5:17: retry.max_failures: expected an integer from "
			 "0 to 1000, found the string '3'; remove the "
			 "quotes");
	assert_job_error(JOB_HEAD "retry: 3\n",
			 "4:8: retry: expected a mapping, found the integer 3");
}

/* Checks an error whose message contains the temporary folder's path:
 * only its start (after the file name) and its end are fixed. */
static void assert_job_error_part(const char *text, const char *start,
				  const char *end)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	char prefix[PATH_MAX + 128];
	json_t *spec = NULL;
	size_t len, end_len = strlen(end);

	write_input("job.yaml", text, path, sizeof(path));
	assert_int_equal(hoist_config_load_job(path, profiles, &spec, &err),
			 -1);
	assert_null(spec);
	assert_int_equal(err.code, HOIST_E_INVALID);
	format(prefix, sizeof(prefix), "%s:%s", path, start);
	assert_memory_equal(err.msg, prefix, strlen(prefix));
	len = strlen(err.msg);
	assert_true(len >= end_len);
	assert_string_equal(err.msg + len - end_len, end);
}

static void test_job_inputs_outputs(void **state)
{
	char resolved[PATH_MAX];
	char expected[PATH_MAX + 32];
	json_t *spec, *inputs, *outputs;

	(void)state;
	assert_non_null(realpath(tmp_dir, resolved));
	spec = load_job_ok(JOB_HEAD
			   "inputs:\n"
			   "  - {from: ., to: data/local}\n"
			   "  - from: s3://bucket/sets/v1\n"
			   "    to: data/remote\n"
			   "outputs: [model.bin, logs/eval]\n");
	inputs = json_object_get(spec, "inputs");
	assert_int_equal(json_array_size(inputs), 2);
	format(expected, sizeof(expected), "%s", resolved);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(inputs, 0), "from")), expected);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(inputs, 0), "to")), "data/local");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(inputs, 1), "from")), "s3://bucket/sets/v1");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(inputs, 1), "to")), "data/remote");
	outputs = json_object_get(spec, "outputs");
	assert_int_equal(json_array_size(outputs), 2);
	assert_string_equal(json_string_value(json_array_get(outputs, 0)),
			    "model.bin");
	assert_string_equal(json_string_value(json_array_get(outputs, 1)),
			    "logs/eval");
	json_decref(spec);

	/* Both keys are optional and absent from the spec when not given. */
	spec = load_job_ok(JOB_HEAD);
	assert_null(json_object_get(spec, "inputs"));
	assert_null(json_object_get(spec, "outputs"));
	json_decref(spec);
}

static void test_job_inputs_errors(void **state)
{
	(void)state;
	assert_job_error(JOB_HEAD "inputs: data\n",
			 "4:9: inputs: expected a sequence, found the string "
			 "'data'");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: .}\n",
			 "5:5: inputs[0]: missing required key 'to'");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: ., to: x, mode: ro}\n",
			 "5:22: inputs[0]: unknown key 'mode'; allowed keys: "
			 "from, to");
	assert_job_error_part(JOB_HEAD "inputs:\n  - {from: missing-dir, "
			      "to: x}\n", "5:12: inputs[0].from: directory '",
			      "/missing-dir' not found");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: 's3://', to: x}\n",
			 "5:12: inputs[0].from: invalid S3 URL 's3://': "
			 "expected s3://BUCKET/PREFIX");
	assert_job_error_part(JOB_HEAD "inputs:\n  - {from: 's3:/data/tok', "
			      "to: x}\n", "5:12: inputs[0].from: directory '",
			      "/s3:/data/tok' not found; for an S3 URL write "
			      "s3://BUCKET/PREFIX with two slashes");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: 'http://h/x', to: x}\n",
			 "5:12: inputs[0].from: expected a local directory or "
			 "an s3://BUCKET/PREFIX URL, found 'http://h/x'");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: ., to: /abs}\n",
			 "5:19: inputs[0].to: expected a path relative to the "
			 "working directory, found the absolute path '/abs'");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: ., to: a/../b}\n",
			 "5:19: inputs[0].to: invalid path 'a/../b': an "
			 "empty, '.' or '..' segment is not allowed, because "
			 "the path must stay inside the working directory");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: ., to: ''}\n",
			 "5:19: inputs[0].to: expected a path relative to the "
			 "working directory, found an empty string");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: ., to: data}\n"
			 "  - {from: ., to: data/sub}\n",
			 "6:19: inputs[1].to: 'data/sub' overlaps the 'to' of "
			 "input 1 ('data'); each input needs a folder of its "
			 "own");
	assert_job_error(JOB_HEAD "inputs:\n  - {from: 12, to: data}\n",
			 "5:12: inputs[0].from: expected a string, found the "
			 "integer 12; quote it (\"12\") if you mean a path");
}

static void test_job_outputs_errors(void **state)
{
	(void)state;
	assert_job_error(JOB_HEAD "outputs: model.bin\n",
			 "4:10: outputs: expected a sequence, found the "
			 "string 'model.bin'");
	assert_job_error(JOB_HEAD "outputs: [./model.bin]\n",
			 "4:11: outputs[0]: invalid path './model.bin': an "
			 "empty, '.' or '..' segment is not allowed, because "
			 "the path must stay inside the working directory");
	assert_job_error(JOB_HEAD "outputs: [out, out/model.bin]\n",
			 "4:16: outputs[1]: 'out/model.bin' overlaps output 1 "
			 "('out'); list each file or folder once");
	assert_job_error(JOB_HEAD "outputs: [true]\n",
			 "4:11: outputs[0]: expected a string, found the "
			 "boolean true; quote it (\"true\") if you mean a path");
	assert_job_error(JOB_HEAD "outputs: [/tmp/x]\n",
			 "4:11: outputs[0]: expected a path relative to the "
			 "working directory, found the absolute path '/tmp/x'");
}

static void test_job_workdir(void **state)
{
	char resolved[PATH_MAX];
	char text[PATH_MAX + 128];
	json_t *spec;

	(void)state;
	assert_non_null(realpath(tmp_dir, resolved));
	format(text, sizeof(text), JOB_HEAD "workdir: %s/.\n", tmp_dir);
	spec = load_job_ok(text);
	assert_string_equal(json_string_value(json_object_get(spec,
							      "workdir")),
			    resolved);
	json_decref(spec);

	assert_job_error(JOB_HEAD "workdir: \"\"\n",
			 "4:10: workdir: expected a directory, found an "
			 "empty string");
}

static void test_job_workdir_errors(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char resolved[PATH_MAX];
	char path[PATH_MAX];
	char expected[2 * PATH_MAX];
	json_t *spec = NULL;

	(void)state;
	assert_non_null(realpath(tmp_dir, resolved));
	write_input("job.yaml", JOB_HEAD "workdir: missing-dir\n", path,
		    sizeof(path));
	assert_int_equal(hoist_config_load_job(path, profiles, &spec, &err),
			 -1);
	format(expected, sizeof(expected),
		 "%s:4:10: workdir: directory '%s/missing-dir' not found",
		 path, resolved);
	assert_string_equal(err.msg, expected);

	hoist_err_clear(&err);
	write_input("not-a-dir", "x", path, sizeof(path));
	write_input("job.yaml", JOB_HEAD "workdir: not-a-dir\n", path,
		    sizeof(path));
	assert_int_equal(hoist_config_load_job(path, profiles, &spec, &err),
			 -1);
	format(expected, sizeof(expected),
		 "%s:4:10: workdir: '%s/not-a-dir' is not a directory",
		 path, resolved);
	assert_string_equal(err.msg, expected);
	assert_null(spec);
}

/* ---- durations ---- */

static void test_duration_valid(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} cases[] = {
		{ "500ms", 500 },
		{ "30s", 30000 },
		{ "5m", 300000 },
		{ "2h", 7200000 },
		{ "1d", 86400000 },
		{ "1h30m", 5400000 },
		{ "1d2h3m4s5ms", 93784005 },
		{ "0s", 0 },
		{ "90s", 90000 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		int64_t ms = -1;

		if (hoist_config_parse_duration_ms(cases[i].text, &ms, &err))
			fail_msg("'%s' failed: %s", cases[i].text, err.msg);
		assert_int_equal(ms, cases[i].ms);
	}
}

static void test_duration_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{ "30", "invalid duration '30': the number has no unit; add "
			"one of ms, s, m, h or d, such as 30s" },
		{ "", "empty duration: use whole numbers with the units ms, "
		      "s, m, h or d, from the largest unit to the smallest, "
		      "such as 30s or 1h30m" },
		{ "1.5h", "invalid duration '1.5h': fractions are not "
			  "supported; use whole numbers" },
		{ "30m1h", "invalid duration '30m1h': use whole numbers" },
		{ "1s1s", "invalid duration '1s1s': use whole numbers" },
		{ "5sec", "invalid duration '5sec': unknown unit 'sec'" },
		{ "5x", "invalid duration '5x': unknown unit 'x'" },
		{ "-5s", "invalid duration '-5s': a duration cannot be "
			 "negative" },
		{ "1h30", "invalid duration '1h30': the last number has no "
			  "unit" },
		{ " 30s", "invalid duration ' 30s': use whole numbers" },
		{ "s", "invalid duration 's': use whole numbers" },
		{ "99999999999999999999s", "invalid duration "
			"'99999999999999999999s': too large" },
		{ "9999999999999999d", "invalid duration '9999999999999999d': "
			"too large" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		int64_t ms = -1;

		assert_int_equal(hoist_config_parse_duration_ms(cases[i].text,
								&ms, &err),
				 -1);
		assert_int_equal(ms, -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		assert_contains(err.msg, cases[i].message);
	}
}

/* ---- offers ---- */

static void test_offers_defaults(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	static const char text[] = OFFERS_HEAD
				   "  - name: b\n"
				   "    gpu_name: \"L4\"\n"
				   "    num_gpus: 2\n"
				   "    price_per_hour: 0\n"
				   "    reliability: 0.5\n";
	json_t *offers = NULL;

	(void)state;
	assert_int_equal(hoist_config_load_local_offers_buffer(
		"local_offers.yaml", text, strlen(text), &offers, &err), 0);
	assert_json_equal(offers,
			  "[{\"name\": \"a\", \"gpu_name\": \"RTX 4090\","
			  " \"num_gpus\": 1, \"price_per_hour\": 0.30,"
			  " \"reliability\": 1.0},"
			  " {\"name\": \"b\", \"gpu_name\": \"L4\","
			  " \"num_gpus\": 2, \"price_per_hour\": 0.0,"
			  " \"reliability\": 0.5}]");
	json_decref(offers);
}

static void test_offers_errors(void **state)
{
	(void)state;
	assert_offers_error(OFFERS_HEAD "  - name: a\n"
			    "    gpu_name: x\n"
			    "    price_per_hour: 1\n",
			    "5:11: offers[1].name: duplicate offer name 'a'; "
			    "offers[0] already uses it");
	assert_offers_error(OFFERS_HEAD "  - name: b\n"
			    "    gpu_name: x\n"
			    "    price_per_hour: -0.1\n",
			    "7:21: offers[1].price_per_hour: expected a "
			    "number of at least 0, found -0.1");
	assert_offers_error(OFFERS_HEAD "    reliability: 2\n",
			    "5:18: offers[0].reliability: expected a number "
			    "from 0 to 1, found 2");
	assert_offers_error(OFFERS_HEAD "    prize: 1\n",
			    "5:5: offers[0]: unknown key 'prize'; allowed "
			    "keys: name, gpu_name, num_gpus, price_per_hour, "
			    "reliability");
	assert_offers_error("offers:\n  - name: a\n    gpu_name: x\n",
			    "2:5: offers[0]: missing required key "
			    "'price_per_hour'");
	assert_offers_error("offers: {a: 1}\n",
			    "1:9: offers: expected a sequence, found a "
			    "mapping");
}

/* ---- locale ---- */

/* Builds de_DE.UTF-8 into a private folder named by LOCPATH when the
 * system lacks it.  Returns 0 when the locale is active afterwards. */
static int use_german_locale(void)
{
	char locale_dir[PATH_MAX];
	char output[PATH_MAX];
	char *argv[] = { "localedef", "-i", "de_DE", "-f", "UTF-8", output,
			 NULL };
	pid_t pid;
	int status;

	if (setlocale(LC_ALL, "de_DE.UTF-8"))
		return 0;
	format(locale_dir, sizeof(locale_dir), "%s/locales", tmp_dir);
	format(output, sizeof(output), "%s/de_DE.UTF-8", locale_dir);
	if (mkdir(locale_dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (posix_spawnp(&pid, "localedef", NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	setenv("LOCPATH", locale_dir, 1);
	return setlocale(LC_ALL, "de_DE.UTF-8") ? 0 : -1;
}

static void test_numbers_ignore_locale(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];
	json_t *result = NULL;
	double value;

	(void)state;
	write_input("gpu_profiles.yaml", PROFILE_HEAD "    disk_gb: 0.25\n",
		    path, sizeof(path));
	if (use_german_locale() != 0) {
		print_message("skipped: de_DE.UTF-8 is not installed and "
			      "localedef could not build it; install the "
			      "locales package\n");
		skip();
	}
	/* Under this locale plain strtod() stops at the '.', which is what
	 * the loaders must not depend on. */
	assert_string_equal(localeconv()->decimal_point, ",");
	assert_true(strtod("0.25", NULL) != 0.25);

	if (hoist_config_load_profiles(path, &result, &err) != 0)
		fail_msg("failed under de_DE.UTF-8: %s", err.msg);
	value = json_real_value(json_object_get(json_object_get(result,
								"dev-test"),
						"disk_gb"));
	assert_true(value == 0.25);
	json_decref(result);

	write_input("gpu_profiles.yaml", PROFILE_HEAD "    cuda_min: 12.10\n",
		    path, sizeof(path));
	hoist_err_clear(&err);
	result = NULL;
	assert_int_equal(hoist_config_load_profiles(path, &result, &err), -1);
	assert_contains(err.msg, "is the number 12.1 and");
	hoist_err_clear(&err);
	assert_int_equal(hoist_config_load_profiles(path, &result, &err), -1);
	assert_contains(err.msg, "expected a version string");

	setlocale(LC_ALL, "C");
	unsetenv("LOCPATH");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_profiles_load),
		cmocka_unit_test(test_shipped_offers_load),
		cmocka_unit_test(test_profile_defaults_filled),
		cmocka_unit_test(test_profile_all_keys),
		cmocka_unit_test(test_profile_gpu_name_integer),
		cmocka_unit_test(test_profile_version_plain_float),
		cmocka_unit_test(test_profile_bool_no),
		cmocka_unit_test(test_profile_number_checks),
		cmocka_unit_test(test_profile_range_checks),
		cmocka_unit_test(test_profile_integer_forms),
		cmocka_unit_test(test_profile_unknown_key),
		cmocka_unit_test(test_profile_missing_and_duplicate),
		cmocka_unit_test(test_profile_string_rules),
		cmocka_unit_test(test_yaml_syntax_error),
		cmocka_unit_test(test_yaml_features_rejected),
		cmocka_unit_test(test_file_empty_and_missing),
		cmocka_unit_test(test_file_not_utf8),
		cmocka_unit_test(test_file_over_limit),
		cmocka_unit_test(test_job_full_spec),
		cmocka_unit_test(test_job_inputs_outputs),
		cmocka_unit_test(test_job_inputs_errors),
		cmocka_unit_test(test_job_outputs_errors),
		cmocka_unit_test(test_job_defaults),
		cmocka_unit_test(test_job_command_forms),
		cmocka_unit_test(test_job_profile_resolution),
		cmocka_unit_test(test_job_profile_without_profiles),
		cmocka_unit_test(test_job_names),
		cmocka_unit_test(test_job_env_rules),
		cmocka_unit_test(test_job_durations),
		cmocka_unit_test(test_job_retry_rules),
		cmocka_unit_test(test_job_workdir),
		cmocka_unit_test(test_job_workdir_errors),
		cmocka_unit_test(test_duration_valid),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_offers_defaults),
		cmocka_unit_test(test_offers_errors),
		cmocka_unit_test(test_numbers_ignore_locale),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
