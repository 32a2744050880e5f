/*
 * cmd_jobs.c - "hoist jobs", "hoist show" and "hoist cancel".
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/follow.h"
#include "cli/format.h"
#include "cli/view.h"
#include "common/clock.h"

/* Without --all, "hoist jobs" hides jobs that ended longer ago. */
#define RECENT_MS (24 * 3600 * 1000LL)

static int finish(struct hoist_cli_client *client, struct hoist_err *err,
		  json_t *reply)
{
	if (err->code)
		hoist_cli_print_error(err);
	json_decref(reply);
	hoist_cli_client_close(client);
	return err->code ? HOIST_CLI_EXIT_FAILURE : HOIST_CLI_EXIT_OK;
}

static int is_recent(const json_t *job, int64_t now_ms)
{
	int64_t ended;

	if (!hoist_cli_state_is_final(hoist_cli_json_str(job, "state")))
		return 1;
	if (hoist_cli_json_time(job, "ended_at", &ended) &&
	    hoist_cli_json_time(job, "created_at", &ended))
		return 1;
	return now_ms - ended < RECENT_MS;
}

/* Keeps the unfinished jobs and the ones that ended within RECENT_MS;
 * returns a new array and stores how many were left out. */
static json_t *recent_jobs(const json_t *jobs, int64_t now_ms,
			   size_t *hidden, struct hoist_err *err)
{
	json_t *selected = json_array();
	const json_t *job;
	size_t i;

	*hidden = 0;
	if (!selected) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	json_array_foreach(jobs, i, job) {
		if (!is_recent(job, now_ms)) {
			(*hidden)++;
			continue;
		}
		if (json_array_append(selected, (json_t *)job)) {
			hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
			json_decref(selected);
			return NULL;
		}
	}
	return selected;
}

int hoist_cli_cmd_jobs(int argc, char **argv)
{
	int json = 0;
	int all = 0;
	const struct hoist_cli_opt options[] = {
		{ "json", 0, NULL, "print {\"jobs\": [...]} as JSON", &json,
		  NULL },
		{ "all", 'a', NULL, "also list jobs that ended over 24 h ago",
		  &all, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "jobs",
		.summary = "List the jobs of hoistd, newest first: the "
			   "unfinished ones and those that ended in the last "
			   "24 hours.",
		.opts = options,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	int64_t now = hoist_clock_now_ms();
	json_t *reply = NULL;
	json_t *jobs = NULL;
	size_t hidden = 0;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	if (hoist_cli_client_open(&client, &err) ||
	    hoist_cli_client_call(&client, "GET", "/v1/jobs", NULL, &reply,
				  &err))
		goto out;
	if (!json_is_array(json_object_get(reply, "jobs"))) {
		hoist_err_set(&err, HOIST_E_HTTP,
			      "GET /v1/jobs returned no \"jobs\" array");
		goto out;
	}

	if (all)
		jobs = json_incref(json_object_get(reply, "jobs"));
	else
		jobs = recent_jobs(json_object_get(reply, "jobs"), now,
				   &hidden, &err);
	if (!jobs)
		goto out;

	if (json) {
		json_t *doc = json_pack("{sO}", "jobs", jobs);

		if (!doc) {
			hoist_err_set(&err, HOIST_E_NOMEM, "out of memory");
			goto out;
		}
		hoist_cli_print_json(stdout, doc);
		json_decref(doc);
		goto out;
	}
	if (json_array_size(jobs) == 0 && hidden == 0) {
		printf("no jobs yet; submit one with 'hoist run JOB.yaml'\n");
		goto out;
	}
	if (hoist_cli_view_jobs(stdout, jobs, now, &err))
		goto out;
	if (hidden)
		printf("(%zu jobs that ended more than 24 hours ago are not "
		       "shown; add --all to list them)\n", hidden);
out:
	json_decref(jobs);
	return finish(&client, &err, reply);
}

int hoist_cli_cmd_show(int argc, char **argv)
{
	int json = 0;
	const struct hoist_cli_opt options[] = {
		{ "json", 0, NULL, "print the job record as JSON", &json,
		  NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "show",
		.summary = "Show a job: its spec, state, cost, attempts and "
			   "checkpoints.  Times are RFC 3339 UTC.",
		.arg_names = { "JOB" },
		.min_args = 1,
		.max_args = 1,
		.opts = options,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	json_t *job = NULL;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	if (hoist_cli_check_id("job", args.positional[0], &err) ||
	    hoist_cli_client_open(&client, &err) ||
	    hoist_cli_follow_get_job(&client, args.positional[0], &job, &err))
		goto out;

	if (json)
		hoist_cli_print_json(stdout, job);
	else
		hoist_cli_view_job(stdout, job, hoist_clock_now_ms(), &err);
out:
	return finish(&client, &err, job);
}

int hoist_cli_cmd_cancel(int argc, char **argv)
{
	int json = 0;
	const struct hoist_cli_opt options[] = {
		{ "json", 0, NULL, "print the job record as JSON", &json,
		  NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "cancel",
		.summary = "Cancel a job: hoistd stops its current attempt "
			   "(the command gets SIGTERM and its grace time), "
			   "destroys the instance and marks the job cancelled.",
		.arg_names = { "JOB" },
		.min_args = 1,
		.max_args = 1,
		.opts = options,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	char path[256];
	const char *id;
	const char *state;
	json_t *job = NULL;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	id = args.positional[0];
	if (hoist_cli_check_id("job", id, &err) ||
	    hoist_cli_client_open(&client, &err))
		goto out;
	snprintf(path, sizeof(path), "/v1/jobs/%s/cancel", id);
	if (hoist_cli_client_call(&client, "POST", path, NULL, &job, &err))
		goto out;

	if (json) {
		hoist_cli_print_json(stdout, job);
		goto out;
	}
	state = hoist_cli_json_str(job, "state");
	if (state && strcmp(state, "cancelled") == 0)
		printf("job %s is cancelled\n", id);
	else if (hoist_cli_state_is_final(state))
		printf("job %s already ended (%s); nothing to cancel\n", id,
		       state);
	else
		printf("cancelling job %s (state %s); 'hoist show %s' shows "
		       "when it has stopped\n", id, state ? state : "-", id);
out:
	return finish(&client, &err, job);
}
