/*
 * cmd_logs.c - "hoist logs": prints the log of one attempt of a job, and
 * with --follow keeps printing until the job ends, moving on to each new
 * attempt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/follow.h"
#include "cli/format.h"
#include "cli/view.h"

static int parse_attempt(const char *text, int64_t *out,
			 struct hoist_err *err)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || end == text || *end || value < 1)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "--attempt: invalid attempt number '%s'; "
				     "attempts are numbered from 1", text);
	*out = value;
	return 0;
}

/*
 * Follows the log until the job has ended and its last attempt's log is
 * read.  A fixed attempt (cursor->attempt > 0 on entry) is followed until
 * its own log ends.
 */
static int follow_log(struct hoist_cli_client *client, const char *job_id,
		      struct hoist_cli_log_cursor *cursor,
		      struct hoist_err *err)
{
	int fixed = cursor->attempt > 0;
	int64_t interval;
	json_t *job = NULL;
	int rc = -1;

	if (hoist_cli_follow_interval(&interval, err))
		return -1;
	hoist_cli_follow_catch_interrupt();

	while (!hoist_cli_follow_interrupted()) {
		int64_t count;
		int final;
		int64_t before;

		json_decref(job);
		job = NULL;
		if (hoist_cli_follow_get_job(client, job_id, &job, err))
			goto out;
		count = hoist_cli_view_attempt_count(job);
		final = hoist_cli_state_is_final(hoist_cli_json_str(job,
								    "state"));
		if (count <= 0 || (fixed && count < cursor->attempt)) {
			/* No attempt to read yet. */
			if (final)
				break;
			hoist_cli_follow_sleep(interval);
			continue;
		}

		before = cursor->offset;
		if (hoist_cli_follow_read_log(client, job_id, cursor, stdout,
					      err))
			goto out;
		if (cursor->eof && !fixed && count > cursor->attempt) {
			cursor->attempt++;
			cursor->offset = 0;
			cursor->eof = 0;
			if (!cursor->at_line_start)
				fputc('\n', stdout);
			cursor->at_line_start = 1;
			fflush(stdout);
			fprintf(stderr, "hoist: attempt %lld of job %s\n",
				(long long)cursor->attempt, job_id);
			continue;
		}
		if (cursor->eof && (fixed || final))
			break;
		/* Guards against a hoistd that never reports the end. */
		if (final && cursor->offset == before)
			break;
		hoist_cli_follow_sleep(interval);
	}
	rc = 0;
out:
	json_decref(job);
	return rc;
}

/* Reads the log that hoistd has now and prints it as one JSON object:
 * {"job_id", "attempt", "data", "next_offset", "eof"}. */
static int print_log_json(struct hoist_cli_client *client, const char *job_id,
			  struct hoist_cli_log_cursor *cursor,
			  struct hoist_err *err)
{
	char *data = NULL;
	size_t len = 0;
	FILE *sink = open_memstream(&data, &len);
	json_t *doc = NULL;
	int rc = -1;

	if (!sink)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	rc = hoist_cli_follow_read_log(client, job_id, cursor, sink, err);
	fclose(sink);
	if (rc)
		goto out;
	doc = json_pack("{s:s, s:I, s:s%, s:I, s:b}", "job_id", job_id,
			"attempt", (json_int_t)cursor->attempt, "data",
			data ? data : "", len, "next_offset",
			(json_int_t)cursor->offset, "eof", cursor->eof);
	if (!doc) {
		rc = hoist_err_set(err, HOIST_E_NOMEM,
				   "cannot encode the log as JSON");
		goto out;
	}
	hoist_cli_print_json(stdout, doc);
out:
	json_decref(doc);
	free(data);
	return rc;
}

int hoist_cli_cmd_logs(int argc, char **argv)
{
	const char *attempt_text = NULL;
	int follow = 0;
	int json = 0;
	const struct hoist_cli_opt options[] = {
		{ "attempt", 0, "N", "print the log of attempt N (default: "
		  "the latest)", NULL, &attempt_text },
		{ "follow", 'f', NULL, "keep printing new output until the job "
		  "ends", &follow, NULL },
		{ "json", 0, NULL, "print the log read so far as one JSON "
		  "object", &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "logs",
		.summary = "Print the combined stdout and stderr of a job's "
			   "command, as the agent uploaded it.",
		.arg_names = { "JOB" },
		.min_args = 1,
		.max_args = 1,
		.opts = options,
		.details = "Without --attempt, --follow starts at the latest "
			   "attempt and moves on to\neach new attempt.  A "
			   "line on stderr marks the switch.\n",
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_cli_log_cursor cursor = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	const char *id;
	int status = HOIST_CLI_EXIT_FAILURE;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	id = args.positional[0];
	cursor.at_line_start = 1;
	if (attempt_text && parse_attempt(attempt_text, &cursor.attempt,
					  &err)) {
		hoist_cli_print_error(&err);
		hoist_cli_print_usage(stderr, &spec);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (json && follow) {
		fprintf(stderr, "hoist: --json cannot be combined with "
			"--follow\n");
		hoist_cli_print_usage(stderr, &spec);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (hoist_cli_check_id("job", id, &err) ||
	    hoist_cli_client_open(&client, &err))
		goto out;

	if (follow)
		rc = follow_log(&client, id, &cursor, &err);
	else if (json)
		rc = print_log_json(&client, id, &cursor, &err);
	else
		rc = hoist_cli_follow_read_log(&client, id, &cursor, stdout,
					       &err);
	if (rc)
		goto out;
	if (cursor.attempt == 0 && !json)
		fprintf(stderr, "hoist: job %s has no attempt yet, so it has no "
			"log; add -f to wait for it\n", id);
	status = hoist_cli_follow_interrupted() ? HOIST_CLI_EXIT_INTERRUPTED :
						  HOIST_CLI_EXIT_OK;
out:
	fflush(stdout);
	if (err.code)
		hoist_cli_print_error(&err);
	hoist_cli_client_close(&client);
	return status;
}
