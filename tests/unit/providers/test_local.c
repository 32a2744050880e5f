/*
 * Tests of the local provider against real processes: every test creates
 * instances under a temporary root, and the teardown destroys them and
 * checks that no process of any instance is left.
 *
 * The test executable is also a helper program: run with
 * "--local-test-helper setpgid|setsid FILE", it moves itself into a new
 * process group or session, writes its pid to FILE and sleeps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/util.h"
#include "providers/local_dir.h"
#include "providers/local_proc.h"
#include "providers/provider.h"

#define WAIT_MS 10000
#define LIST_CAP 64
#define SECRET "tok-7f3a9c2e5b1d4806-secret"

static const char offers_yaml[] =
	"offers:\n"
	"  - name: local-4090-a\n"
	"    gpu_name: RTX 4090\n"
	"    num_gpus: 1\n"
	"    price_per_hour: 0.40\n"
	"    reliability: 0.99\n"
	"  - name: local-4090-b\n"
	"    gpu_name: RTX 4090\n"
	"    num_gpus: 2\n"
	"    price_per_hour: 0.30\n"
	"    reliability: 0.97\n"
	"  - name: local-4090-cheap\n"
	"    gpu_name: rtx 4090\n"
	"    num_gpus: 1\n"
	"    price_per_hour: 0.20\n"
	"    reliability: 0.90\n"
	"  - name: local-a100\n"
	"    gpu_name: A100\n"
	"    num_gpus: 4\n"
	"    price_per_hour: 1.50\n"
	"    reliability: 0.995\n";

struct fixture {
	struct event_base *base;
	struct hoist_provider *provider;
	char root[512];
	char offers[1024];
};

struct result {
	int done;
	struct hoist_err err;
	struct hoist_provider_instance instance;
	struct hoist_provider_instance list[LIST_CAP];
	size_t count;
};

/* ------------------------------------------------------------------ */
/* Helper program                                                      */
/* ------------------------------------------------------------------ */

static int run_helper(const char *mode, const char *pid_file)
{
	char text[32];
	FILE *out;

	if (strcmp(mode, "setpgid") == 0 ? setpgid(0, 0) != 0 :
	    setsid() < 0)
		return 1;
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	out = fopen(pid_file, "w");
	if (!out || fputs(text, out) < 0 || fclose(out) != 0)
		return 1;
	for (;;)
		pause();
}

/* ------------------------------------------------------------------ */
/* Fixture and provider calls                                          */
/* ------------------------------------------------------------------ */

static void write_text(const char *path, const char *text)
{
	FILE *out = fopen(path, "w");

	assert_non_null(out);
	assert_int_equal(fputs(text, out) >= 0, 1);
	assert_int_equal(fclose(out), 0);
}

static int setup(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/hoist-local-test-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->offers, sizeof(f->offers), "%s/offers.yaml", f->root);
	write_text(f->offers, offers_yaml);
	strcat(f->root, "/instances");
	f->base = event_base_new();
	if (!f->base)
		return -1;
	if (hoist_provider_local_open(f->base, f->root, f->offers,
				      &f->provider, &err) != 0) {
		fprintf(stderr, "cannot open the provider: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static void on_instance(void *arg, const struct hoist_err *err,
			const struct hoist_provider_instance *instance)
{
	struct result *r = arg;

	r->done++;
	if (err)
		r->err = *err;
	if (instance)
		r->instance = *instance;
}

static void on_list(void *arg, const struct hoist_err *err,
		    const struct hoist_provider_instance *list, size_t count)
{
	struct result *r = arg;

	r->done++;
	if (err)
		r->err = *err;
	r->count = count < LIST_CAP ? count : LIST_CAP;
	for (size_t i = 0; i < r->count; i++)
		r->list[i] = list[i];
}

static void wait_done(struct fixture *f, struct result *r)
{
	int64_t deadline = hoist_clock_mono_ms() + WAIT_MS;

	while (!r->done) {
		assert_true(hoist_clock_mono_ms() < deadline);
		event_base_loop(f->base, EVLOOP_ONCE);
	}
	assert_int_equal(r->done, 1);
}

static json_t *profile_new(const char *gpu, int gpus, double max_dph,
			   double reliability_min)
{
	json_t *profile = json_pack("{s:s, s:i, s:f, s:f}", "gpu_name", gpu,
				    "num_gpus", gpus, "max_dph", max_dph,
				    "reliability_min", reliability_min);

	assert_non_null(profile);
	return profile;
}

/* Creates an instance with the default profile and asserts success. */
static void create_ok(struct fixture *f, const char *label,
		      const char *script, const char *const *env,
		      struct hoist_provider_instance *out)
{
	json_t *profile = profile_new("RTX 4090", 1, 1.0, 0.5);
	struct hoist_instance_request req = {
		.label = label,
		.job_id = "j-0000test",
		.attempt = 1,
		.profile = profile,
		.onstart = script,
		.env = env,
	};
	struct hoist_err err = HOIST_ERR_INIT;
	struct result r = { 0 };

	assert_int_equal(f->provider->ops->create(f->provider, &req,
						  on_instance, &r, &err), 0);
	assert_int_equal(r.done, 0);
	wait_done(f, &r);
	json_decref(profile);
	if (r.err.code)
		fail_msg("create failed: %s", r.err.msg);
	*out = r.instance;
}

static void list_all(struct fixture *f, const char *prefix, struct result *r)
{
	struct hoist_err err = HOIST_ERR_INIT;

	memset(r, 0, sizeof(*r));
	assert_int_equal(f->provider->ops->list(f->provider, prefix, on_list,
						r, &err), 0);
	wait_done(f, r);
	assert_int_equal(r->err.code, HOIST_OK);
}

static const struct hoist_provider_instance *find(const struct result *r,
						  const char *id)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->list[i].id, id) == 0)
			return &r->list[i];
	return NULL;
}

static void destroy(struct fixture *f, const char *id, struct result *r)
{
	struct hoist_err err = HOIST_ERR_INIT;

	memset(r, 0, sizeof(*r));
	assert_int_equal(f->provider->ops->destroy(f->provider, id,
						   on_instance, r, &err), 0);
	assert_int_equal(r->done, 0);
	wait_done(f, r);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Lists until instance id has state and a status that contains status.
 * Fails the test after WAIT_MS. */
static struct hoist_provider_instance wait_state(struct fixture *f,
						 const char *id, int state,
						 const char *status)
{
	int64_t deadline = hoist_clock_mono_ms() + WAIT_MS;
	const struct hoist_provider_instance *inst = NULL;
	struct result r;

	for (;;) {
		list_all(f, NULL, &r);
		inst = find(&r, id);
		assert_non_null(inst);
		if (inst->state == state && strstr(inst->status, status))
			return *inst;
		if (hoist_clock_mono_ms() > deadline)
			fail_msg("instance %s is %s (%s), expected %s (%s)", id,
				 hoist_provider_state_name(inst->state),
				 inst->status,
				 hoist_provider_state_name(state), status);
		sleep_ms(20);
	}
}

static void instance_path(const struct fixture *f, const char *id,
			  const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s/%s", f->root, id, name);
}

/* Waits until the file exists and returns its content as a number. */
static long wait_number_file(const struct fixture *f, const char *id,
			     const char *name)
{
	int64_t deadline = hoist_clock_mono_ms() + WAIT_MS;
	char path[PATH_MAX];

	instance_path(f, id, name, path, sizeof(path));
	for (;;) {
		FILE *in = fopen(path, "r");
		long value = 0;

		if (in) {
			int n = fscanf(in, "%ld", &value);

			fclose(in);
			if (n == 1)
				return value;
		}
		if (hoist_clock_mono_ms() > deadline)
			fail_msg("'%s' did not appear", path);
		sleep_ms(20);
	}
}

static void read_shim(const struct fixture *f, const char *id, pid_t *pid,
		      unsigned long long *start)
{
	char dir[PATH_MAX];
	struct hoist_err err = HOIST_ERR_INIT;

	snprintf(dir, sizeof(dir), "%s/%s", f->root, id);
	assert_int_equal(hoist_local_dir_read_shim(dir, pid, start, &err), 0);
}

static size_t member_count(const struct fixture *f, const char *id)
{
	struct hoist_err err = HOIST_ERR_INIT;
	unsigned long long start;
	pid_t *pids = NULL;
	size_t count = 0;
	pid_t shim;

	read_shim(f, id, &shim, &start);
	assert_int_equal(hoist_local_proc_members(shim, start, &pids, &count,
						  &err), 0);
	free(pids);
	return count;
}

static int process_running(pid_t pid)
{
	struct hoist_local_proc proc;

	if (hoist_local_proc_read(pid, &proc, NULL) != 0)
		return 0;
	return proc.state != 'Z' && proc.state != 'X';
}

/* Asserts that instance id has neither a shim nor a member running. */
static void assert_no_process(const struct fixture *f, const char *id)
{
	unsigned long long start;
	pid_t shim;

	read_shim(f, id, &shim, &start);
	assert_false(hoist_local_proc_alive(shim, start));
	assert_int_equal(member_count(f, id), 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *entry;
	DIR *dir = opendir(f->root);

	while (dir && (entry = readdir(dir)) != NULL) {
		char path[PATH_MAX];
		struct result r;

		if (!hoist_local_dir_id_valid(entry->d_name))
			continue;
		instance_path(f, entry->d_name,
			      HOIST_LOCAL_FAULT_BLOCK_DESTROY, path,
			      sizeof(path));
		unlink(path);
		destroy(f, entry->d_name, &r);
		assert_int_equal(r.err.code, HOIST_OK);
		instance_path(f, entry->d_name, HOIST_LOCAL_SHIM_PID, path,
			      sizeof(path));
		if (access(path, F_OK) == 0)
			assert_no_process(f, entry->d_name);
	}
	if (dir)
		closedir(dir);
	/* The test process is the subreaper of the shims: reap them. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	hoist_provider_close(f->provider);
	event_base_free(f->base);
	*strrchr(f->root, '/') = '\0';
	hoist_util_remove_tree(f->root, NULL);
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(hoist_provider_state_name(HOIST_PINST_STARTING),
			    "starting");
	assert_string_equal(hoist_provider_state_name(HOIST_PINST_RUNNING),
			    "running");
	assert_string_equal(hoist_provider_state_name(HOIST_PINST_EXITED),
			    "exited");
	assert_string_equal(hoist_provider_state_name(HOIST_PINST_LOST),
			    "lost");
	assert_string_equal(hoist_provider_state_name(HOIST_PINST_GONE),
			    "gone");
	assert_string_equal(hoist_provider_state_name(42), "unknown");
}

static void test_create_list_running(void **state)
{
	struct fixture *f = *state;
	struct hoist_provider_instance a;
	struct hoist_provider_instance b;
	const struct hoist_provider_instance *listed;
	struct result r;

	create_ok(f, "hoist-o1-j1-a1", "sleep 300\n", NULL, &a);
	create_ok(f, "other-j2-a1", "sleep 300\n", NULL, &b);
	assert_true(hoist_local_dir_id_valid(a.id));
	assert_int_equal(a.state, HOIST_PINST_RUNNING);
	assert_string_equal(a.label, "hoist-o1-j1-a1");
	assert_true(a.created_at_ms > 0);

	list_all(f, "hoist-o1-", &r);
	assert_int_equal(r.count, 1);
	listed = find(&r, a.id);
	assert_non_null(listed);
	assert_int_equal(listed->state, HOIST_PINST_RUNNING);
	assert_string_equal(listed->status, "running");
	assert_string_equal(listed->label, "hoist-o1-j1-a1");
	assert_string_equal(listed->offer, "local-4090-cheap");
	assert_string_equal(listed->gpu_name, "rtx 4090");
	assert_int_equal(listed->created_at_ms, a.created_at_ms);

	list_all(f, "", &r);
	assert_int_equal(r.count, 2);
	assert_non_null(find(&r, b.id));
	assert_true(member_count(f, a.id) >= 1);
}

static void test_create_picks_cheapest(void **state)
{
	static const struct {
		const char *gpu;
		int gpus;
		double max_dph;
		double reliability_min;
		const char *offer;
	} cases[] = {
		{ "RTX 4090", 1, 1.0, 0.95, "local-4090-b" },
		{ "rtx 4090", 1, 1.0, 0.80, "local-4090-cheap" },
		{ "RTX 4090", 2, 1.0, 0.50, "local-4090-b" },
		{ "RTX 4090", 1, 1.0, 0.98, "local-4090-a" },
		{ "a100", 2, 2.0, 0.99, "local-a100" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_t *profile = profile_new(cases[i].gpu, cases[i].gpus,
					      cases[i].max_dph,
					      cases[i].reliability_min);
		struct hoist_instance_request req = {
			.label = "hoist-pick",
			.profile = profile,
			.onstart = "exit 0\n",
		};
		struct hoist_err err = HOIST_ERR_INIT;
		struct result r = { 0 };

		assert_int_equal(f->provider->ops->create(f->provider, &req,
							  on_instance, &r,
							  &err), 0);
		wait_done(f, &r);
		json_decref(profile);
		assert_int_equal(r.err.code, HOIST_OK);
		assert_string_equal(r.instance.offer, cases[i].offer);
	}
}

static void test_create_no_offer_names_filter(void **state)
{
	static const struct {
		const char *gpu;
		int gpus;
		double max_dph;
		double reliability_min;
		const char *words;
	} cases[] = {
		{ "H100", 1, 9.0, 0.0, "no offer has gpu_name 'H100'" },
		{ "RTX 4090", 4, 9.0, 0.0, "num_gpus >= 4" },
		{ "RTX 4090", 1, 0.10, 0.0, "max_dph" },
		{ "RTX 4090", 1, 0.35, 0.98, "reliability_min" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_t *profile = profile_new(cases[i].gpu, cases[i].gpus,
					      cases[i].max_dph,
					      cases[i].reliability_min);
		struct hoist_instance_request req = {
			.label = "hoist-none",
			.profile = profile,
			.onstart = "exit 0\n",
		};
		struct hoist_err err = HOIST_ERR_INIT;
		struct result r = { 0 };
		struct result listed;

		assert_int_equal(f->provider->ops->create(f->provider, &req,
							  on_instance, &r,
							  &err), 0);
		assert_int_equal(r.done, 0);
		wait_done(f, &r);
		json_decref(profile);
		assert_int_equal(r.err.code, HOIST_E_NOT_FOUND);
		if (!strstr(r.err.msg, cases[i].words))
			fail_msg("'%s' does not mention '%s'", r.err.msg,
				 cases[i].words);
		list_all(f, NULL, &listed);
		assert_int_equal(listed.count, 0);
	}
}

static void test_create_rejects_bad_request(void **state)
{
	static const char *const bad_env[] = { "NOEQUALS", NULL };
	static const char *const bad_name[] = { "1X=" SECRET, NULL };
	struct fixture *f = *state;
	json_t *good = profile_new("RTX 4090", 1, 1.0, 0.5);
	json_t *no_gpus = json_pack("{s:s, s:f, s:f}", "gpu_name", "RTX 4090",
				    "max_dph", 1.0, "reliability_min", 0.5);
	struct {
		const char *label;
		json_t *profile;
		const char *const *env;
		const char *words;
	} cases[] = {
		{ "", good, NULL, "label" },
		{ "bad\nlabel", good, NULL, "control character" },
		{ "ok", no_gpus, NULL, "num_gpus" },
		{ "ok", NULL, NULL, "profile" },
		{ "ok", good, bad_env, "env entry 1" },
		{ "ok", good, bad_name, "env entry 1" },
	};
	struct result listed;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct hoist_instance_request req = {
			.label = cases[i].label,
			.profile = cases[i].profile,
			.onstart = "sleep 300\n",
			.env = cases[i].env,
		};
		struct hoist_err err = HOIST_ERR_INIT;
		struct result r = { 0 };

		assert_int_equal(f->provider->ops->create(f->provider, &req,
							  on_instance, &r,
							  &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		if (!strstr(err.msg, cases[i].words))
			fail_msg("'%s' does not mention '%s'", err.msg,
				 cases[i].words);
		assert_null(strstr(err.msg, SECRET));
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		assert_int_equal(r.done, 0);
	}
	list_all(f, NULL, &listed);
	assert_int_equal(listed.count, 0);
	json_decref(good);
	json_decref(no_gpus);
}

/* Asserts that no file under path contains SECRET, except those named
 * "env" (the env file) and "environ" (the script's own dump). */
static void assert_secret_absent(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;

	assert_non_null(dir);
	while ((entry = readdir(dir)) != NULL) {
		struct hoist_err err = HOIST_ERR_INIT;
		char child[PATH_MAX];
		struct hoist_buf buf;
		struct stat st;

		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0 ||
		    strcmp(entry->d_name, HOIST_LOCAL_ENV) == 0 ||
		    strcmp(entry->d_name, "environ") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
		assert_int_equal(lstat(child, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			assert_secret_absent(child);
			continue;
		}
		hoist_buf_init(&buf, 1024 * 1024);
		assert_int_equal(hoist_util_read_file(child, &buf, &err), 0);
		if (memmem(buf.data, buf.len, SECRET, strlen(SECRET)))
			fail_msg("'%s' contains the secret", child);
		hoist_buf_release(&buf);
	}
	closedir(dir);
}

static void test_onstart_env_exact(void **state)
{
	static const char *const env[] = {
		"HOIST_AGENT_TOKEN=" SECRET,
		"FOO=bar baz",
		"MULTI=line1\nline2",
		NULL,
	};
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	const char *expected[5];
	char path_var[PATH_MAX + 8];
	char home_var[PATH_MAX + 8];
	char path[PATH_MAX];
	struct hoist_buf buf;
	struct stat st;
	size_t found = 0;

	create_ok(f, "hoist-env",
		  "cat /proc/$$/environ > environ.tmp\n"
		  "mv environ.tmp environ\n"
		  "echo onstart output here\n"
		  "sleep 300\n", env, &inst);
	snprintf(path_var, sizeof(path_var), "PATH=%s", getenv("PATH"));
	snprintf(home_var, sizeof(home_var), "HOME=%s", getenv("HOME"));
	expected[0] = env[0];
	expected[1] = env[1];
	expected[2] = env[2];
	expected[3] = path_var;
	expected[4] = home_var;

	instance_path(f, inst.id, "work/environ", path, sizeof(path));
	for (int64_t end = hoist_clock_mono_ms() + WAIT_MS;
	     access(path, F_OK) != 0; sleep_ms(20))
		assert_true(hoist_clock_mono_ms() < end);
	hoist_buf_init(&buf, 1024 * 1024);
	assert_int_equal(hoist_util_read_file(path, &buf, &err), 0);
	for (size_t at = 0; at < buf.len; at += strlen(buf.data + at) + 1) {
		int known = 0;

		for (size_t i = 0; i < 5; i++)
			known |= strcmp(buf.data + at, expected[i]) == 0;
		if (!known)
			fail_msg("unexpected variable '%s'", buf.data + at);
		found++;
	}
	assert_int_equal(found, 5);
	hoist_buf_release(&buf);

	instance_path(f, inst.id, HOIST_LOCAL_ENV, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	instance_path(f, inst.id, HOIST_LOCAL_ONSTART, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	instance_path(f, inst.id, HOIST_LOCAL_LOG, path, sizeof(path));
	hoist_buf_init(&buf, 1024 * 1024);
	for (int64_t end = hoist_clock_mono_ms() + WAIT_MS;
	     !strstr(hoist_buf_str(&buf), "onstart output here");
	     sleep_ms(20)) {
		assert_true(hoist_clock_mono_ms() < end);
		hoist_buf_reset(&buf);
		assert_int_equal(hoist_util_read_file(path, &buf, &err), 0);
	}
	hoist_buf_release(&buf);

	snprintf(path, sizeof(path), "%s/%s", f->root, inst.id);
	assert_secret_absent(path);
}

static void test_destroy_removes_secrets(void **state)
{
	static const char *const env[] = { "HOIST_AGENT_TOKEN=" SECRET, NULL };
	struct fixture *f = *state;
	struct hoist_provider_instance inst;
	char path[PATH_MAX];
	struct result r;

	create_ok(f, "hoist-secret", "echo 1 > started\nsleep 300\n",
		  env, &inst);
	wait_number_file(f, inst.id, "work/started");
	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	instance_path(f, inst.id, HOIST_LOCAL_ENV, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	instance_path(f, inst.id, HOIST_LOCAL_WORK, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	instance_path(f, inst.id, HOIST_LOCAL_LOG, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	assert_no_process(f, inst.id);
	list_all(f, NULL, &r);
	assert_null(find(&r, inst.id));
}

/* Creates an instance from a child process that exits right after. */
static pid_t create_in_child(const struct fixture *f, int out_fd)
{
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0) {
		struct hoist_err err = HOIST_ERR_INIT;
		struct hoist_provider *provider = NULL;
		struct event_base *base = event_base_new();
		json_t *profile = profile_new("RTX 4090", 1, 1.0, 0.5);
		struct hoist_instance_request req = {
			.label = "hoist-orphan",
			.profile = profile,
			.onstart = "sleep 300\n",
		};
		struct result r = { 0 };

		if (!base || hoist_provider_local_open(base, f->root,
						       f->offers, &provider,
						       &err) != 0 ||
		    provider->ops->create(provider, &req, on_instance, &r,
					  &err) != 0)
			_exit(1);
		while (!r.done)
			event_base_loop(base, EVLOOP_ONCE);
		if (r.err.code || write(out_fd, r.instance.id,
					sizeof(r.instance.id)) < 0)
			_exit(2);
		_exit(0);
	}
	return child;
}

static void test_tree_survives_creator(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	struct hoist_local_proc proc;
	unsigned long long start;
	char id[64] = "";
	int fds[2];
	int status;
	pid_t child;
	pid_t shim;

	assert_int_equal(pipe(fds), 0);
	child = create_in_child(f, fds[1]);
	close(fds[1]);
	assert_int_equal(read(fds[0], id, sizeof(id)), (ssize_t)sizeof(id));
	close(fds[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	inst = wait_state(f, id, HOIST_PINST_RUNNING, "running");
	assert_string_equal(inst.label, "hoist-orphan");
	read_shim(f, id, &shim, &start);
	assert_true(hoist_local_proc_alive(shim, start));
	assert_int_equal(hoist_local_proc_read(shim, &proc, &err), 0);
	assert_int_equal(proc.session, shim);
	assert_int_not_equal(proc.ppid, child);
	assert_int_not_equal(proc.session, getsid(0));
	assert_true(member_count(f, id) >= 1);

	/* A new provider object, as after a hoistd restart, finds it. */
	hoist_provider_close(f->provider);
	f->provider = NULL;
	assert_int_equal(hoist_provider_local_open(f->base, f->root, f->offers,
						   &f->provider, &err), 0);
	wait_state(f, id, HOIST_PINST_RUNNING, "running");
}

static void test_onstart_exit_recorded(void **state)
{
	struct fixture *f = *state;
	struct hoist_provider_instance inst;
	unsigned long long start;
	pid_t shim;

	create_ok(f, "hoist-exit", "echo bye\nexit 3\n", NULL, &inst);
	wait_state(f, inst.id, HOIST_PINST_EXITED, "exited with code 3");
	read_shim(f, inst.id, &shim, &start);
	assert_true(hoist_local_proc_alive(shim, start));
}

static void test_preempt_term_trapped(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	char path[PATH_MAX];
	int64_t started;

	create_ok(f, "hoist-trap",
		  "trap 'echo term > term-marker; exit 0' TERM\n"
		  "echo 1 > ready\n"
		  "sleep 300 &\n"
		  "wait\n", NULL, &inst);
	wait_number_file(f, inst.id, "work/ready");
	started = hoist_clock_mono_ms();
	assert_int_equal(f->provider->ops->preempt(f->provider, inst.id, 8,
						   &err), 0);
	wait_state(f, inst.id, HOIST_PINST_LOST, "preempted");
	/* Everything exited within the grace period, so the shim ended the
	 * preemption without waiting for it. */
	assert_true(hoist_clock_mono_ms() - started < 8000);
	instance_path(f, inst.id, "work/term-marker", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(member_count(f, inst.id), 0);

	assert_int_equal(f->provider->ops->preempt(f->provider, inst.id, 8,
						   &err), -1);
	assert_int_equal(err.code, HOIST_E_CONFLICT);
}

static void test_preempt_kills_after_grace(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	struct result r;
	int64_t started;
	pid_t sh;

	create_ok(f, "hoist-stubborn",
		  "trap '' TERM\n"
		  "echo $$ > sh.pid\n"
		  "sleep 300\n", NULL, &inst);
	sh = (pid_t)wait_number_file(f, inst.id, "work/sh.pid");
	started = hoist_clock_mono_ms();
	assert_int_equal(f->provider->ops->preempt(f->provider, inst.id, 1,
						   &err), 0);
	sleep_ms(300);
	list_all(f, NULL, &r);
	assert_non_null(find(&r, inst.id));
	assert_int_equal(find(&r, inst.id)->state, HOIST_PINST_RUNNING);
	assert_string_equal(find(&r, inst.id)->status, "preempting");
	assert_true(process_running(sh));

	wait_state(f, inst.id, HOIST_PINST_LOST, "preempted");
	assert_true(hoist_clock_mono_ms() - started >= 1000);
	assert_false(process_running(sh));
	assert_int_equal(member_count(f, inst.id), 0);
}

static void test_preempt_rejects_bad_input(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;

	assert_int_equal(f->provider->ops->preempt(f->provider,
						   "local-00000000", 5, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	hoist_err_clear(&err);
	assert_int_equal(f->provider->ops->preempt(f->provider, "../etc", 5,
						   &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	hoist_err_clear(&err);
	create_ok(f, "hoist-grace", "sleep 300\n", NULL, &inst);
	assert_int_equal(f->provider->ops->preempt(f->provider, inst.id, -1,
						   &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
}

/* Runs the helper in an instance and returns its pid once it runs. */
static pid_t start_helper(struct fixture *f, const char *mode,
			  struct hoist_provider_instance *inst)
{
	char script[PATH_MAX * 2];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	snprintf(script, sizeof(script),
		 "'%s' --local-test-helper %s \"$PWD/helper.pid\" &\n"
		 "wait\n", self, mode);
	create_ok(f, "hoist-helper", script, NULL, inst);
	return (pid_t)wait_number_file(f, inst->id, "work/helper.pid");
}

static void test_destroy_kills_own_process_group(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	struct hoist_local_proc proc;
	unsigned long long start;
	struct result r;
	pid_t helper;
	pid_t shim;

	helper = start_helper(f, "setpgid", &inst);
	read_shim(f, inst.id, &shim, &start);
	assert_int_equal(hoist_local_proc_read(helper, &proc, &err), 0);
	assert_int_equal(proc.pgrp, helper);
	assert_int_equal(proc.session, shim);

	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	assert_false(process_running(helper));
	assert_no_process(f, inst.id);
}

static void test_destroy_kills_own_session(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	struct hoist_local_proc proc;
	struct result r;
	pid_t helper;

	helper = start_helper(f, "setsid", &inst);
	assert_int_equal(hoist_local_proc_read(helper, &proc, &err), 0);
	assert_int_equal(proc.session, helper);

	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	assert_false(process_running(helper));
	assert_no_process(f, inst.id);
}

static void test_destroy_twice_succeeds(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	struct result r;

	create_ok(f, "hoist-twice", "sleep 300\n", NULL, &inst);
	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	destroy(f, "local-0badf00d", &r);
	assert_int_equal(r.err.code, HOIST_OK);
	assert_int_equal(f->provider->ops->destroy(f->provider, "local-../x",
						   on_instance, &r, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_no_process(f, inst.id);
}

static void test_block_destroy_fault(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	char expected[128];
	struct result r;

	create_ok(f, "hoist-block", "sleep 300\n", NULL, &inst);
	assert_int_equal(f->provider->ops->fault(f->provider, inst.id,
						 "block_destroy", &err), 0);
	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_E_PROVIDER);
	snprintf(expected, sizeof(expected),
		 "instance %s cannot be reached (fault injected)", inst.id);
	assert_string_equal(r.err.msg, expected);
	wait_state(f, inst.id, HOIST_PINST_RUNNING, "running");
	assert_true(member_count(f, inst.id) >= 1);

	assert_int_equal(f->provider->ops->fault(f->provider, inst.id,
						 "allow_destroy", &err), 0);
	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	assert_no_process(f, inst.id);
}

/* Waits until every process of the instance, the shim included, is
 * stopped (stopped != 0) or not stopped (stopped == 0). */
static void wait_stopped(struct fixture *f, const char *id, int stopped)
{
	int64_t deadline = hoist_clock_mono_ms() + WAIT_MS;
	struct hoist_err err = HOIST_ERR_INIT;
	unsigned long long start;
	pid_t shim;

	read_shim(f, id, &shim, &start);
	for (;;) {
		pid_t *pids = NULL;
		size_t count = 0;
		size_t matching = 0;
		struct hoist_local_proc proc;

		assert_int_equal(hoist_local_proc_members(shim, start, &pids,
							  &count, &err), 0);
		assert_true(count >= 1);
		for (size_t i = 0; i < count; i++)
			if (hoist_local_proc_read(pids[i], &proc, NULL) == 0 &&
			    (proc.state == 'T') == (stopped != 0))
				matching++;
		free(pids);
		assert_int_equal(hoist_local_proc_read(shim, &proc, &err), 0);
		if (matching == count && (proc.state == 'T') == (stopped != 0))
			return;
		assert_true(hoist_clock_mono_ms() < deadline);
		sleep_ms(20);
	}
}

static void test_freeze_and_thaw(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;

	create_ok(f, "hoist-freeze", "sleep 300 &\nwait\n", NULL, &inst);
	assert_int_equal(f->provider->ops->fault(f->provider, inst.id,
						 "freeze", &err), 0);
	inst = wait_state(f, inst.id, HOIST_PINST_LOST, "unreachable");
	wait_stopped(f, inst.id, 1);

	assert_int_equal(f->provider->ops->fault(f->provider, inst.id, "thaw",
						 &err), 0);
	wait_state(f, inst.id, HOIST_PINST_RUNNING, "running");
	wait_stopped(f, inst.id, 0);

	assert_int_equal(f->provider->ops->fault(f->provider, inst.id,
						 "melt", &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_non_null(strstr(err.msg, "'melt'"));
}

static void test_destroy_frozen_instance(void **state)
{
	struct fixture *f = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_provider_instance inst;
	struct result r;

	create_ok(f, "hoist-frozen", "sleep 300 &\nwait\n", NULL, &inst);
	assert_int_equal(f->provider->ops->fault(f->provider, inst.id,
						 "freeze", &err), 0);
	wait_stopped(f, inst.id, 1);
	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	assert_no_process(f, inst.id);
}

static void test_dead_shim_is_lost(void **state)
{
	struct fixture *f = *state;
	struct hoist_provider_instance inst;
	unsigned long long start;
	struct result r;
	pid_t shim;

	create_ok(f, "hoist-lost", "sleep 300\n", NULL, &inst);
	read_shim(f, inst.id, &shim, &start);
	assert_int_equal(kill(shim, SIGKILL), 0);
	wait_state(f, inst.id, HOIST_PINST_LOST, "not running");
	/* The script still runs in the session of the dead shim. */
	assert_true(member_count(f, inst.id) >= 1);
	destroy(f, inst.id, &r);
	assert_int_equal(r.err.code, HOIST_OK);
	assert_no_process(f, inst.id);
}

static void test_open_rejects_bad_offers(void **state)
{
	static const struct {
		const char *yaml;
		const char *words;
	} cases[] = {
		{ "offers: [\n", "offers.yaml.bad" },
		{ "offers: []\n", "lists no offer" },
		{ "offers:\n  - name: a\n    gpu_name: X\n"
		  "    price_per_hour: 0.1\n    prcie: 2\n", "prcie" },
	};
	struct fixture *f = *state;
	struct hoist_provider *provider = NULL;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s.bad", f->offers);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		hoist_err_clear(&err);
		write_text(path, cases[i].yaml);
		assert_int_equal(hoist_provider_local_open(f->base, f->root,
							   path, &provider,
							   &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		if (!strstr(err.msg, cases[i].words))
			fail_msg("'%s' does not mention '%s'", err.msg,
				 cases[i].words);
	}
	unlink(path);
	hoist_err_clear(&err);
	assert_int_equal(hoist_provider_local_open(f->base, f->root, path,
						   &provider, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_null(provider);
}

#define LOCAL_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		LOCAL_TEST(test_create_list_running),
		LOCAL_TEST(test_create_picks_cheapest),
		LOCAL_TEST(test_create_no_offer_names_filter),
		LOCAL_TEST(test_create_rejects_bad_request),
		LOCAL_TEST(test_onstart_env_exact),
		LOCAL_TEST(test_destroy_removes_secrets),
		LOCAL_TEST(test_tree_survives_creator),
		LOCAL_TEST(test_onstart_exit_recorded),
		LOCAL_TEST(test_preempt_term_trapped),
		LOCAL_TEST(test_preempt_kills_after_grace),
		LOCAL_TEST(test_preempt_rejects_bad_input),
		LOCAL_TEST(test_destroy_kills_own_process_group),
		LOCAL_TEST(test_destroy_kills_own_session),
		LOCAL_TEST(test_destroy_twice_succeeds),
		LOCAL_TEST(test_block_destroy_fault),
		LOCAL_TEST(test_freeze_and_thaw),
		LOCAL_TEST(test_destroy_frozen_instance),
		LOCAL_TEST(test_dead_shim_is_lost),
		LOCAL_TEST(test_open_rejects_bad_offers),
	};

	if (argc == 4 && strcmp(argv[1], "--local-test-helper") == 0)
		return run_helper(argv[2], argv[3]);
	/* Dead shims would otherwise stay zombies where the init process
	 * does not reap orphans, as in some containers. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
