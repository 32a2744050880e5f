/*
 * cmd_daemon.c - "hoist daemon status" and "hoist daemon stop": the state
 * of the local hoistd, and stopping it.  Neither command starts hoistd.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/format.h"
#include "common/clock.h"

#define STOP_TIMEOUT_MS 15000
#define STOP_POLL_MS	100

static int print_status(struct hoist_cli_client *client, int json,
			struct hoist_err *err)
{
	json_t *health = NULL;
	int64_t pid = 0;

	if (hoist_cli_client_call(client, "GET", "/v1/health", NULL, &health,
				  err))
		return -1;
	if (json) {
		json_object_set_new(health, "running", json_true());
		json_object_set_new(health, "url", json_string(client->url));
		hoist_cli_print_json(stdout, health);
		json_decref(health);
		return 0;
	}
	hoist_cli_json_int(health, "pid", &pid);
	printf("hoistd is running\n"
	       "  url:      %s\n"
	       "  pid:      %lld\n"
	       "  version:  %s\n", client->url, (long long)pid,
	       hoist_cli_json_str(health, "version") ?
	       hoist_cli_json_str(health, "version") : "-");
	if (!client->url_from_env)
		printf("  home:     %s\n  log:      %s/hoistd.log\n",
		       client->home, client->home);
	json_decref(health);
	return 0;
}

/*
 * Checks that pid runs a program named hoistd (argv[0] of the process),
 * so that a stale hoistd.url never leads to signalling another program.
 */
static int check_is_hoistd(long pid, struct hoist_err *err)
{
	char path[64];
	char argv0[PATH_MAX];
	const char *base;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "r");
	if (!f)
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "cannot read %s: %s; is hoistd (pid %ld) "
				     "running on this machine?", path,
				     strerror(errno), pid);
	n = fread(argv0, 1, sizeof(argv0) - 1, f);
	fclose(f);
	argv0[n] = '\0';
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	if (strcmp(base, "hoistd") != 0)
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "pid %ld from hoistd's health check runs "
				     "'%s', not hoistd; not stopping it", pid,
				     argv0);
	return 0;
}

/* Returns 1 while pid exists and is not a zombie: a zombie has exited but
 * waits for a parent that reaps it, which an init without reaping (as in
 * some containers) never does. */
static int process_alive(long pid)
{
	char path[64];
	char stat[512];
	const char *close_paren;
	size_t n;
	FILE *f;

	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return errno != ENOENT;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	/* The state follows the command name, which is in parentheses. */
	close_paren = strrchr(stat, ')');
	return !(close_paren && close_paren[1] == ' ' &&
		 close_paren[2] == 'Z');
}

static int stop_hoistd(struct hoist_cli_client *client, struct hoist_err *err)
{
	struct timespec pause = { 0, STOP_POLL_MS * 1000000L };
	long pid = client->pid;
	int64_t deadline;

	if (pid <= 0)
		return hoist_err_set(err, HOIST_E_HTTP,
				     "hoistd at %s did not report its pid",
				     client->url);
	if (check_is_hoistd(pid, err))
		return -1;
	if (kill((pid_t)pid, SIGTERM) != 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot send SIGTERM to hoistd (pid %ld): "
				     "%s", pid, strerror(errno));

	deadline = hoist_clock_mono_ms() + STOP_TIMEOUT_MS;
	while (process_alive(pid)) {
		if (hoist_clock_mono_ms() >= deadline)
			return hoist_err_set(err, HOIST_E_IO,
					     "hoistd (pid %ld) did not exit "
					     "within %d s of SIGTERM; see its "
					     "log: %s/hoistd.log", pid,
					     STOP_TIMEOUT_MS / 1000,
					     client->home);
		nanosleep(&pause, NULL);
	}
	printf("stopped hoistd (pid %ld)\n", pid);
	return 0;
}

int hoist_cli_cmd_daemon(int argc, char **argv)
{
	int json = 0;
	const struct hoist_cli_opt options[] = {
		{ "json", 0, NULL, "print the status as JSON", &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "daemon",
		.summary = "Show whether hoistd runs (status), or stop the "
			   "local hoistd (stop).  Neither starts hoistd.",
		.arg_names = { "status|stop" },
		.min_args = 1,
		.max_args = 1,
		.opts = options,
		.details = "stop sends SIGTERM to the hoistd found through "
			   "$HOIST_HOME/hoistd.url and waits\nfor it to exit.  "
			   "Jobs and their instances keep running, and the "
			   "next hoistd\nthat starts picks them up again.\n",
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	const char *action;
	int status = HOIST_CLI_EXIT_FAILURE;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	action = args.positional[0];
	if (strcmp(action, "status") != 0 && strcmp(action, "stop") != 0) {
		fprintf(stderr, "hoist: unknown daemon action '%s'; expected "
			"status or stop\n", action);
		hoist_cli_print_usage(stderr, &spec);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (strcmp(action, "stop") == 0 && getenv("HOIST_URL") &&
	    *getenv("HOIST_URL")) {
		hoist_err_set(&err, HOIST_E_INVALID,
			      "'hoist daemon stop' stops only the local hoistd "
			      "found through $HOIST_HOME/hoistd.url; unset "
			      "HOIST_URL");
		goto out;
	}

	if (hoist_cli_client_find(&client, &err)) {
		if (err.code != HOIST_E_NOT_FOUND)
			goto out;
		if (json)
			printf("{\n  \"running\": false\n}\n");
		else
			printf("%s\n", err.msg);
		/* A hoistd that is not running is already stopped. */
		status = strcmp(action, "stop") == 0 ? HOIST_CLI_EXIT_OK :
						       HOIST_CLI_EXIT_FAILURE;
		hoist_err_clear(&err);
		goto out;
	}

	if (strcmp(action, "status") == 0)
		rc = print_status(&client, json, &err);
	else
		rc = stop_hoistd(&client, &err);
	if (rc == 0)
		status = HOIST_CLI_EXIT_OK;
out:
	if (err.code)
		hoist_cli_print_error(&err);
	hoist_cli_client_close(&client);
	return status;
}
