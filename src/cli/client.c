#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/http.h"
#include "common/util.h"

extern char **environ;

#define HEALTH_TIMEOUT_MS	2000
#define CALL_TIMEOUT_MS		30000
#define START_TIMEOUT_MS	10000
#define START_POLL_MS		100
#define SMALL_FILE_MAX		4096

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Removes trailing whitespace (the newline that ends a one-line file). */
static void trim_end(char *text)
{
	size_t len = strlen(text);

	while (len > 0 && strchr(" \t\r\n", text[len - 1]))
		text[--len] = '\0';
}

static int has_control_or_space(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p <= ' ' || *p == 0x7f)
			return 1;
	}
	return 0;
}

int hoist_cli_check_url(const char *url, const char *what, char *out,
			size_t outlen, struct hoist_err *err)
{
	const char *host;
	size_t len = strlen(url);

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s: '%s' is not an http:// or https:// "
				     "URL", what, url);
	if (*host == '\0' || *host == '/' || has_control_or_space(url))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s: '%s' is not a valid URL; expected "
				     "something like http://127.0.0.1:7341",
				     what, url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (len >= outlen)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s: the URL is longer than %zu bytes",
				     what, outlen - 1);
	memcpy(out, url, len);
	out[len] = '\0';
	return 0;
}

int hoist_cli_read_url_file(const char *path, char *out, size_t outlen,
			    struct hoist_err *err)
{
	struct hoist_buf text;
	char *line;
	int rc = -1;

	hoist_buf_init(&text, SMALL_FILE_MAX);
	if (hoist_util_read_file(path, &text, err))
		goto out;
	line = text.data;
	trim_end(line);
	if (*line == '\0') {
		hoist_err_set(err, HOIST_E_INVALID, "'%s' is empty", path);
		goto out;
	}
	if (strchr(line, '\n')) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "'%s' contains more than one line", path);
		goto out;
	}
	rc = hoist_cli_check_url(line, path, out, outlen, err);
out:
	hoist_buf_release(&text);
	return rc;
}

int hoist_cli_check_id(const char *kind, const char *id,
		       struct hoist_err *err)
{
	size_t len = strlen(id);

	if (len == 0 || len > 128 || strcmp(id, ".") == 0 ||
	    strcmp(id, "..") == 0 || strspn(id,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-") != len)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid %s id '%s': expected 1 to 128 "
				     "letters, digits, '.', '_' or '-'",
				     kind, id);
	return 0;
}

/* Asks url for GET /v1/health; stores the pid that hoistd reports. */
static int check_health(const char *url, long *pid, struct hoist_err *err)
{
	char full[HOIST_CLI_URL_MAX + 32];
	struct hoist_http_request req = { 0 };
	json_t *doc = NULL;
	json_int_t reported;
	int rc = -1;

	snprintf(full, sizeof(full), "%s/v1/health", url);
	req.method = "GET";
	req.url = full;
	req.timeout_ms = HEALTH_TIMEOUT_MS;
	if (hoist_http_json(&req, &doc, NULL, err))
		goto out;
	if (!json_is_true(json_object_get(doc, "ok"))) {
		hoist_err_set(err, HOIST_E_HTTP,
			      "%s did not return {\"ok\": true}", full);
		goto out;
	}
	reported = json_integer_value(json_object_get(doc, "pid"));
	*pid = reported > 0 ? (long)reported : 0;
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

static int spawn_hoistd(const char *program, const char *home,
			const char *log_path, pid_t *pid,
			struct hoist_err *err)
{
	char *argv[] = { (char *)program, "--home", (char *)home,
			 "--listen", "127.0.0.1:0", "--daemonize", NULL };
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	int rc;

	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	/* A new session keeps the Ctrl-C of this terminal away from the
	 * daemon even before it detaches itself. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&actions, 1, log_path,
					 O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&actions, 1, 2);
	rc = posix_spawn(pid, program, &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot start '%s': %s",
				     program, strerror(rc));
	return 0;
}

/* Returns 1 when hoistd.url names a hoistd that responds to
 * GET /v1/health, and copies the URL into client. */
static int probe_url_file(struct hoist_cli_client *client,
			  const char *url_path, long *pid)
{
	struct hoist_err ignored = HOIST_ERR_INIT;
	char url[HOIST_CLI_URL_MAX];

	if (hoist_cli_read_url_file(url_path, url, sizeof(url), &ignored))
		return 0;
	if (check_health(url, pid, &ignored))
		return 0;
	snprintf(client->url, sizeof(client->url), "%s", url);
	return 1;
}

static int start_hoistd(struct hoist_cli_client *client, const char *url_path,
			struct hoist_err *err)
{
	char program[PATH_MAX];
	char log_path[PATH_MAX + 16];
	int64_t deadline;
	pid_t child;
	int exited = 0;
	int status = 0;
	long pid = 0;

	if (hoist_util_find_program("hoistd", program, sizeof(program), err))
		return -1;
	if (hoist_util_mkdir_p(client->home, 0700, err))
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/hoistd.log", client->home);
	if (spawn_hoistd(program, client->home, log_path, &child, err))
		return -1;

	deadline = hoist_clock_mono_ms() + START_TIMEOUT_MS;
	for (;;) {
		if (probe_url_file(client, url_path, &pid)) {
			client->pid = pid ? pid : (long)child;
			fprintf(stderr, "started hoistd (pid %ld, %s, log: %s)\n",
				client->pid, client->url, log_path);
			return 0;
		}
		if (!exited && waitpid(child, &status, WNOHANG) == child)
			exited = 1;
		if (exited && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			break;
		if (hoist_clock_mono_ms() >= deadline)
			return hoist_err_set(err, HOIST_E_IO,
					     "started %s but it did not respond "
					     "within %d s; see its log: %s",
					     program, START_TIMEOUT_MS / 1000,
					     log_path);
		sleep_ms(START_POLL_MS);
	}

	/* Another hoist may have started hoistd at the same moment, and
	 * then this one exits because the home is taken. */
	if (probe_url_file(client, url_path, &pid)) {
		client->pid = pid;
		return 0;
	}
	if (WIFSIGNALED(status))
		return hoist_err_set(err, HOIST_E_IO,
				     "%s was killed by signal %d before it "
				     "responded; see its log: %s", program,
				     WTERMSIG(status), log_path);
	return hoist_err_set(err, HOIST_E_IO,
			     "%s exited with status %d before it responded; "
			     "see its log: %s", program, WEXITSTATUS(status),
			     log_path);
}

static int load_token(struct hoist_cli_client *client, struct hoist_err *err)
{
	const char *env = getenv("HOIST_TOKEN");
	char path[PATH_MAX + 16];
	struct hoist_buf text;
	struct hoist_err read_err = HOIST_ERR_INIT;
	int rc = -1;

	if (env && *env) {
		if (has_control_or_space(env))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "HOIST_TOKEN contains spaces or "
					     "control characters");
		client->token = strdup(env);
		if (!client->token)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		return 0;
	}
	if (client->home[0] == '\0')
		return 0;

	snprintf(path, sizeof(path), "%s/admin.token", client->home);
	hoist_buf_init(&text, SMALL_FILE_MAX);
	if (hoist_util_read_file(path, &text, &read_err)) {
		if (read_err.code == HOIST_E_NOT_FOUND)
			rc = 0;
		else
			hoist_err_set(err, read_err.code,
				      "%s; set HOIST_TOKEN instead",
				      read_err.msg);
		goto out;
	}
	trim_end(text.data);
	if (has_control_or_space(text.data)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the admin token in '%s' contains spaces or "
			      "control characters", path);
		goto out;
	}
	client->token = hoist_buf_detach(&text);
	rc = 0;
out:
	hoist_buf_release(&text);
	return rc;
}

static int client_open(struct hoist_cli_client *client, int may_start,
		       struct hoist_err *err)
{
	const char *env = getenv("HOIST_URL");
	struct hoist_err home_err = HOIST_ERR_INIT;
	char url_path[PATH_MAX + 16];
	long pid = 0;

	memset(client, 0, sizeof(*client));
	if (hoist_http_global_init(err))
		return -1;

	if (hoist_util_home_dir(client->home, sizeof(client->home),
				&home_err)) {
		client->home[0] = '\0';
		if (!env || !*env)
			return hoist_err_set(err, home_err.code, "%s",
					     home_err.msg);
	}

	if (env && *env) {
		if (hoist_cli_check_url(env, "HOIST_URL", client->url,
					sizeof(client->url), err))
			return -1;
		client->url_from_env = 1;
	} else {
		snprintf(url_path, sizeof(url_path), "%s/hoistd.url",
			 client->home);
		if (probe_url_file(client, url_path, &pid))
			client->pid = pid;
		else if (!may_start)
			return hoist_err_set(err, HOIST_E_NOT_FOUND,
					     "hoistd is not running: no "
					     "hoistd responds at the URL in %s",
					     url_path);
		else if (start_hoistd(client, url_path, err))
			return -1;
	}
	return load_token(client, err);
}

int hoist_cli_client_open(struct hoist_cli_client *client,
			  struct hoist_err *err)
{
	return client_open(client, 1, err);
}

int hoist_cli_client_find(struct hoist_cli_client *client,
			  struct hoist_err *err)
{
	return client_open(client, 0, err);
}

void hoist_cli_client_close(struct hoist_cli_client *client)
{
	if (client->token) {
		memset(client->token, 0, strlen(client->token));
		free(client->token);
		client->token = NULL;
	}
}

/* Rewrites a transport error to name the URL and how to check hoistd. */
static void explain_transport_error(const struct hoist_cli_client *client,
				    struct hoist_err *err)
{
	char cause[HOIST_ERR_MSG_MAX];

	snprintf(cause, sizeof(cause), "%s", err->msg);
	hoist_err_clear(err);
	if (client->url_from_env)
		hoist_err_set(err, HOIST_E_HTTP,
			      "cannot reach hoistd at HOIST_URL=%s: %s; check "
			      "that a hoistd listens there, or unset HOIST_URL "
			      "to use the local hoistd", client->url, cause);
	else
		hoist_err_set(err, HOIST_E_HTTP,
			      "cannot reach hoistd at %s: %s; check that it is "
			      "running (log: %s/hoistd.log)", client->url,
			      cause, client->home);
}

static void explain_unauthorized(const struct hoist_cli_client *client,
				 struct hoist_err *err)
{
	if (!client->token)
		hoist_err_prefix(err, "no admin token: HOIST_TOKEN is unset "
				 "and %s/admin.token does not exist; hoistd "
				 "returned", client->home);
	else if (getenv("HOIST_TOKEN") && *getenv("HOIST_TOKEN"))
		hoist_err_prefix(err, "hoistd rejected the admin token from "
				 "HOIST_TOKEN");
	else
		hoist_err_prefix(err, "hoistd rejected the admin token in "
				 "%s/admin.token", client->home);
}

int hoist_cli_client_call(struct hoist_cli_client *client, const char *method,
			  const char *path, json_t *body, json_t **out,
			  struct hoist_err *err)
{
	char full[HOIST_CLI_URL_MAX + 1024];
	struct hoist_http_request req = { 0 };
	long status = 0;

	if (snprintf(full, sizeof(full), "%s%s", client->url, path) >=
	    (int)sizeof(full))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "request path too long: %s", path);
	req.method = method;
	req.url = full;
	req.bearer = client->token;
	req.body = body;
	req.timeout_ms = CALL_TIMEOUT_MS;
	if (hoist_http_json(&req, out, &status, err) == 0)
		return 0;

	if (status == 0)
		explain_transport_error(client, err);
	else if (status == 401)
		explain_unauthorized(client, err);
	return -1;
}

/*
 * Finds the GPU profiles file to use without --profiles, and stores in
 * source where it came from.  A file named by HOIST_CONFIG_DIR is used
 * even when it does not exist, so that a mistake there is reported.
 */
void hoist_cli_default_profiles_path(char *out, size_t outlen,
				     const char **source)
{
	const char *config_dir = getenv("HOIST_CONFIG_DIR");
	struct hoist_err ignored = HOIST_ERR_INIT;
	char self[PATH_MAX];
	char candidate[PATH_MAX + 64];

	if (config_dir && *config_dir) {
		snprintf(out, outlen, "%s/gpu_profiles.yaml", config_dir);
		*source = "from HOIST_CONFIG_DIR";
		return;
	}
	/* A build tree keeps hoist in build/src/cli, three levels below the
	 * source tree that contains config/. */
	if (hoist_util_self_dir(self, sizeof(self), &ignored) == 0) {
		char *real;

		snprintf(candidate, sizeof(candidate),
			 "%s/../../../config/gpu_profiles.yaml", self);
		real = realpath(candidate, NULL);
		if (real && access(real, R_OK) == 0) {
			snprintf(out, outlen, "%s", real);
			*source = "the source tree of this build";
			free(real);
			return;
		}
		free(real);
	}
	snprintf(out, outlen, "/etc/hoist/gpu_profiles.yaml");
	*source = "the system-wide default";
}
