/*
 * cmd_run.c - "hoist run": loads a job file, submits it to hoistd and
 * follows the job until it ends, printing one line per change.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/follow.h"
#include "cli/storage_client.h"
#include "cli/format.h"
#include "cli/view.h"
#include "common/clock.h"
#include "common/util.h"
#include "config/config.h"

/* A step/loss line at most this often when stdout is not a terminal. */
#define PROGRESS_PERIOD_MS 10000
/* How long the follow loop keeps retrying while hoistd does not respond,
 * for example during a restart of hoistd. */
#define OUTAGE_MAX_MS 120000

struct run_options {
	const char *profiles;
	int detach;
	int json;
	int quiet;
	int logs;
};

/* The events of one attempt that the follow loop has printed. */
struct attempt_seen {
	int64_t number;
	int start_shown;
	int instance_shown;
	int resumed_shown;
	int ended_shown;
};

struct watch {
	const char *job_id;
	char state[32];
	struct attempt_seen *attempts;
	size_t count;
	size_t cap;
	int64_t checkpoint_step;	/* highest step announced, or -1 */
	int64_t progress_step;		/* step of the last progress line */
	int64_t progress_mono;		/* when it was printed, or 0 */
	int status_line;		/* redraw one status line in place */
	int status_open;		/* that line is shown, without newline */
	int quiet;
	struct hoist_cli_client *client; /* reads logs; NULL without --logs */
	struct hoist_cli_log_cursor log;
	char last_log_error[HOIST_ERR_MSG_MAX];
	char checkpoint_error[HOIST_ERR_MSG_MAX];	/* last one seen */
	size_t checkpoint_error_attempts;	/* attempts when it appeared */
};

static void watch_init(struct watch *w, const char *job_id,
		       const struct run_options *opts,
		       struct hoist_cli_client *client)
{
	memset(w, 0, sizeof(*w));
	w->job_id = job_id;
	w->checkpoint_step = -1;
	w->progress_step = -1;
	w->quiet = opts->quiet || opts->json;
	w->client = opts->logs ? client : NULL;
	w->status_line = !w->quiet && !opts->logs && isatty(STDOUT_FILENO);
	w->log.attempt = 1;
	w->log.at_line_start = 1;
}

static void watch_release(struct watch *w)
{
	free(w->attempts);
	w->attempts = NULL;
}

/* Removes the status line so that a plain line can take its place. */
static void watch_clear_status(struct watch *w)
{
	if (w->status_open) {
		fputs("\r\033[K", stdout);
		w->status_open = 0;
	}
	if (!w->log.at_line_start) {
		fputc('\n', stdout);
		w->log.at_line_start = 1;
	}
	fflush(stdout);
}

/* Ends the status line with a newline, so that it stays on screen. */
static void watch_end_status(struct watch *w)
{
	if (w->status_open) {
		fputc('\n', stdout);
		w->status_open = 0;
	}
	fflush(stdout);
}

/* Prints one event line, "[19:48:34] MESSAGE". */
static void HOIST_PRINTF(2, 3) watch_say(struct watch *w, const char *fmt,
					 ...)
{
	char clock[16];
	va_list ap;

	if (w->quiet)
		return;
	watch_clear_status(w);
	hoist_cli_format_clock(hoist_clock_now_ms(), clock, sizeof(clock));
	printf("[%s] ", clock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static struct attempt_seen *watch_attempt(struct watch *w, int64_t number,
					  struct hoist_err *err)
{
	struct attempt_seen *grown;

	for (size_t i = 0; i < w->count; i++) {
		if (w->attempts[i].number == number)
			return &w->attempts[i];
	}
	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;

		grown = realloc(w->attempts, cap * sizeof(*grown));
		if (!grown) {
			hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
			return NULL;
		}
		w->attempts = grown;
		w->cap = cap;
	}
	memset(&w->attempts[w->count], 0, sizeof(*w->attempts));
	w->attempts[w->count].number = number;
	return &w->attempts[w->count++];
}

/* Prints the start of an attempt, its instance and its resume step, each
 * once.  hoistd may fill in the instance only after the attempt starts. */
static void watch_attempt_start(struct watch *w, struct attempt_seen *seen,
				const json_t *attempt)
{
	const char *instance = hoist_cli_json_str(attempt, "instance_id");
	long long number = (long long)seen->number;
	int64_t step;

	if (instance && !*instance)
		instance = NULL;
	if (!seen->start_shown && instance) {
		watch_say(w, "attempt %lld started on instance %s", number,
			  instance);
		seen->instance_shown = 1;
	} else if (!seen->start_shown) {
		watch_say(w, "attempt %lld started", number);
	} else if (!seen->instance_shown && instance) {
		watch_say(w, "attempt %lld runs on instance %s", number,
			  instance);
		seen->instance_shown = 1;
	}
	seen->start_shown = 1;

	if (!seen->resumed_shown &&
	    hoist_cli_json_int(attempt, "resumed_from_step", &step) == 0) {
		watch_say(w, "attempt %lld resumed from step %lld", number,
			  (long long)step);
		seen->resumed_shown = 1;
	}
}

static void watch_attempt_end(struct watch *w, struct attempt_seen *seen,
			      const json_t *attempt)
{
	const char *reason = hoist_cli_json_str(attempt, "end_reason");
	int64_t step;

	if (seen->ended_shown)
		return;
	seen->ended_shown = 1;
	if (!reason)
		reason = "unknown reason";
	if (hoist_cli_json_int(attempt, "last_step", &step))
		watch_say(w, "attempt %lld ended: %s", (long long)seen->number,
			  reason);
	else
		watch_say(w, "attempt %lld ended: %s at step %lld",
			  (long long)seen->number, reason, (long long)step);
	if (hoist_cli_json_str(attempt, "error"))
		watch_say(w, "attempt %lld error: %s", (long long)seen->number,
			  hoist_cli_json_str(attempt, "error"));
}

/* Returns the checkpoint of job with the lowest step above step that an
 * attempt up to max_attempt committed, or NULL. */
static const json_t *next_checkpoint(const json_t *job, int64_t step,
				     int64_t max_attempt)
{
	const json_t *checkpoint;
	const json_t *next = NULL;
	int64_t next_step = 0;
	size_t i;

	json_array_foreach(json_object_get(job, "checkpoints"), i, checkpoint) {
		int64_t value;
		int64_t attempt;

		if (hoist_cli_json_int(checkpoint, "step", &value) ||
		    value <= step || (next && value >= next_step))
			continue;
		if (hoist_cli_json_int(checkpoint, "attempt", &attempt) == 0 &&
		    attempt > max_attempt)
			continue;
		next = checkpoint;
		next_step = value;
	}
	return next;
}

/*
 * Announces the checkpoints of the record above the highest step announced
 * so far that attempts up to max_attempt committed, in step order.  Steps
 * only grow, also from one attempt to the next, because hoistd commits
 * only a step above the newest one.  hoistd keeps only the newest "keep"
 * checkpoints, so one committed and pruned between two polls is never
 * seen here.
 */
static void watch_checkpoints(struct watch *w, const json_t *job,
			      int64_t max_attempt)
{
	const json_t *checkpoint;

	while ((checkpoint = next_checkpoint(job, w->checkpoint_step,
					     max_attempt))) {
		int64_t attempt;

		hoist_cli_json_int(checkpoint, "step", &w->checkpoint_step);
		if (hoist_cli_json_int(checkpoint, "attempt", &attempt))
			watch_say(w, "checkpoint committed at step %lld",
				  (long long)w->checkpoint_step);
		else
			watch_say(w, "checkpoint committed at step %lld "
				  "(attempt %lld)",
				  (long long)w->checkpoint_step,
				  (long long)attempt);
	}
}

/*
 * Streams the log of the attempts up to number, in order, from where the
 * last call stopped.  The cursor moves on to the next attempt once hoistd
 * reports the end of the current one's log.
 */
static void watch_attempt_log(struct watch *w, int64_t number)
{
	struct hoist_err err = HOIST_ERR_INIT;

	while (w->client && w->log.attempt <= number) {
		int64_t attempt = w->log.attempt;

		if (hoist_cli_follow_read_log(w->client, w->job_id, &w->log,
					      stdout, &err)) {
			/* Report a log failure once, not on every poll. */
			if (strcmp(err.msg, w->last_log_error) != 0) {
				snprintf(w->last_log_error,
					 sizeof(w->last_log_error), "%s",
					 err.msg);
				watch_clear_status(w);
				fprintf(stderr, "hoist: reading the log of "
					"attempt %lld: %s\n", (long long)attempt,
					err.msg);
			}
			return;
		}
		if (!w->log.eof)
			return;
		w->log.attempt = attempt + 1;
		w->log.offset = 0;
		w->log.eof = 0;
	}
}

/*
 * Prints what is new about the attempts of job, with the log output of
 * each attempt (--logs) between its start and its end.  The first pass
 * (ended_pass) covers only the attempts that ended, so that their end
 * comes before the job state line and the start of the next attempt.
 */
static int watch_attempts(struct watch *w, const json_t *job, int ended_pass,
			  struct hoist_err *err)
{
	const json_t *attempt;
	size_t i;

	json_array_foreach(json_object_get(job, "attempts"), i, attempt) {
		struct attempt_seen *seen;
		int64_t number;
		int ended;

		if (hoist_cli_json_int(attempt, "number", &number))
			continue;
		ended = hoist_cli_json_str(attempt, "end_reason") ||
			hoist_cli_json_str(attempt, "ended_at");
		if (ended_pass && !ended)
			continue;

		seen = watch_attempt(w, number, err);
		if (!seen)
			return -1;
		watch_attempt_start(w, seen, attempt);
		watch_attempt_log(w, number);
		if (!ended)
			continue;
		/* An attempt commits its final checkpoint before it ends. */
		watch_checkpoints(w, job, number);
		watch_attempt_end(w, seen, attempt);
	}
	return 0;
}

static void progress_text(const json_t *job, int64_t step, char *out,
			  size_t outlen)
{
	const json_t *metrics = json_object_get(job, "metrics");
	const char *key;
	const json_t *value;
	size_t len;

	snprintf(out, outlen, "step %lld", (long long)step);
	json_object_foreach((json_t *)metrics, key, value) {
		if (!json_is_number(value) || strcmp(key, "step") == 0)
			continue;
		len = strlen(out);
		snprintf(out + len, outlen - len, ", %s %g", key,
			 json_number_value(value));
	}
}

static void watch_progress(struct watch *w, const json_t *job)
{
	int64_t now = hoist_clock_mono_ms();
	char clock[16];
	char text[512];
	int64_t step;

	if (w->quiet || hoist_cli_json_int(job, "last_step", &step))
		return;
	progress_text(job, step, text, sizeof(text));

	if (w->status_line) {
		hoist_cli_format_clock(hoist_clock_now_ms(), clock,
				       sizeof(clock));
		printf("\r\033[K[%s] %s: %s", clock, w->state, text);
		fflush(stdout);
		w->status_open = 1;
		return;
	}
	if (step == w->progress_step ||
	    (w->progress_mono && now - w->progress_mono < PROGRESS_PERIOD_MS))
		return;
	w->progress_step = step;
	w->progress_mono = now;
	watch_say(w, "%s", text);
}

/* Prints the agent's checkpoint upload error when it appears, and a line
 * when uploads of the same attempt work again.  Later errors, which differ
 * only in their step, are not printed. */
static void watch_checkpoint_error(struct watch *w, const json_t *job)
{
	const char *error = hoist_cli_json_str(job, "checkpoint_error");
	size_t attempts = json_array_size(json_object_get(job, "attempts"));

	if (error) {
		if (!w->checkpoint_error[0] ||
		    attempts != w->checkpoint_error_attempts)
			watch_say(w, "checkpoint upload failing: %s", error);
		snprintf(w->checkpoint_error, sizeof(w->checkpoint_error),
			 "%s", error);
		w->checkpoint_error_attempts = attempts;
	} else if (w->checkpoint_error[0]) {
		/* A new attempt, or the job's end, clears it too. */
		if (attempts == w->checkpoint_error_attempts &&
		    !hoist_cli_state_is_final(hoist_cli_json_str(job,
								 "state")))
			watch_say(w, "checkpoint uploads work again");
		w->checkpoint_error[0] = '\0';
	}
}

/* Prints what changed in job since the last call. */
static int watch_update(struct watch *w, const json_t *job,
			struct hoist_err *err)
{
	const char *state = hoist_cli_json_str(job, "state");
	const char *reason = hoist_cli_json_str(job, "end_reason");

	if (watch_attempts(w, job, 1, err))
		return -1;
	if (state && strcmp(state, w->state) != 0) {
		snprintf(w->state, sizeof(w->state), "%s", state);
		if (reason)
			watch_say(w, "job %s %s: %s", w->job_id, state, reason);
		else
			watch_say(w, "job %s %s", w->job_id, state);
		if (reason && hoist_cli_json_str(job, "message"))
			watch_say(w, "%s", hoist_cli_json_str(job, "message"));
	}
	if (watch_attempts(w, job, 0, err))
		return -1;
	watch_checkpoint_error(w, job);
	watch_checkpoints(w, job, INT64_MAX);
	if (!hoist_cli_state_is_final(state))
		watch_progress(w, job);
	return 0;
}

/*
 * Starts the local hoistd again if it died while the job was followed.  A
 * hoistd named by HOIST_URL is someone else's to restart.
 */
static void restart_hoistd(struct hoist_cli_client *client)
{
	struct hoist_err open_err = HOIST_ERR_INIT;

	if (client->url_from_env)
		return;
	hoist_cli_client_close(client);
	if (hoist_cli_client_open(client, &open_err))
		fprintf(stderr, "hoist: cannot restart hoistd: %s\n",
			open_err.msg);
}

/*
 * Fetches the job, retrying for up to OUTAGE_MAX_MS while hoistd does not
 * respond or fails with a server error.  Returns -1 with err filled on any
 * other error, when the time is up, or when Ctrl-C is pressed.
 */
static int fetch_job(struct watch *w, struct hoist_cli_client *client,
		     int64_t interval, json_t **job, struct hoist_err *err)
{
	int64_t outage_start = 0;

	for (;;) {
		struct hoist_err attempt_err = HOIST_ERR_INIT;

		if (hoist_cli_follow_get_job(client, w->job_id, job,
					     &attempt_err) == 0) {
			if (outage_start)
				watch_say(w, "hoistd responds again");
			return 0;
		}
		if (attempt_err.code != HOIST_E_HTTP) {
			*err = attempt_err;
			return -1;
		}
		if (!outage_start) {
			outage_start = hoist_clock_mono_ms();
			watch_clear_status(w);
			fprintf(stderr, "hoist: %s; retrying for up to %d s\n",
				attempt_err.msg, OUTAGE_MAX_MS / 1000);
		} else if (hoist_clock_mono_ms() - outage_start >
			   OUTAGE_MAX_MS) {
			*err = attempt_err;
			return -1;
		}
		hoist_cli_follow_sleep(interval);
		if (hoist_cli_follow_interrupted())
			return -1;
		restart_hoistd(client);
	}
}

static void print_reattach(const char *job_id)
{
	fprintf(stderr, "hoist: stopped following job %s; the job keeps "
		"running.\nTo reattach, run 'hoist show %s' or 'hoist logs "
		"%s -f'.\n", job_id, job_id, job_id);
}

/* Follows the job until it ends and returns the exit status. */
static int follow_job(struct hoist_cli_client *client, json_t *record,
		      const struct run_options *opts, int64_t interval)
{
	struct hoist_err err = HOIST_ERR_INIT;
	const char *job_id = hoist_cli_json_str(record, "id");
	json_t *job = json_incref(record);
	struct watch w;
	int status = HOIST_CLI_EXIT_FAILURE;

	watch_init(&w, job_id, opts, client);
	hoist_cli_follow_catch_interrupt();
	if (!w.quiet)
		printf("following job %s; Ctrl-C stops following, the job "
		       "keeps running\n", job_id);

	for (;;) {
		if (watch_update(&w, job, &err))
			goto out;
		if (hoist_cli_state_is_final(hoist_cli_json_str(job, "state")))
			break;

		hoist_cli_follow_sleep(interval);
		if (hoist_cli_follow_interrupted())
			break;
		json_decref(job);
		job = NULL;
		if (fetch_job(&w, client, interval, &job, &err))
			break;
		if (hoist_cli_follow_interrupted())
			break;
	}

	watch_end_status(&w);
	if (hoist_cli_follow_interrupted()) {
		print_reattach(job_id);
		status = HOIST_CLI_EXIT_INTERRUPTED;
		goto out;
	}
	if (err.code)
		goto out;

	if (opts->json) {
		hoist_cli_print_json(stdout, job);
	} else {
		if (!opts->quiet)
			fputc('\n', stdout);
		if (hoist_cli_view_summary(stdout, job, &err))
			goto out;
	}
	if (strcmp(hoist_cli_json_str(job, "state"), "succeeded") == 0)
		status = HOIST_CLI_EXIT_OK;
out:
	if (err.code) {
		hoist_cli_print_error(&err);
		if (!hoist_cli_follow_interrupted())
			print_reattach(job_id);
	}
	fflush(stdout);
	json_decref(job);
	watch_release(&w);
	return status;
}

static void print_submitted(const json_t *record, const struct run_options *opts)
{
	const char *id = hoist_cli_json_str(record, "id");

	if (opts->json) {
		hoist_cli_print_json(stdout, record);
		return;
	}
	if (opts->quiet) {
		printf("%s\n", id);
		return;
	}
	printf("submitted job %s (%s), state %s\n"
	       "Run 'hoist show %s' for its state or 'hoist logs %s -f' for "
	       "its log.\n", id, hoist_cli_json_str(record, "name") ?
	       hoist_cli_json_str(record, "name") : "-",
	       hoist_cli_json_str(record, "state") ?
	       hoist_cli_json_str(record, "state") : "-", id, id);
}

/* Loads the profiles and the job file into the job spec to submit. */
static int load_spec(const char *job_path, const char *profiles_path,
		     const char *profiles_source, json_t **spec,
		     struct hoist_err *err)
{
	json_t *profiles = NULL;
	int rc = -1;

	if (hoist_config_load_profiles(profiles_path, &profiles, err)) {
		if (profiles_source)
			hoist_err_prefix(err, "GPU profiles (%s; choose another "
					 "file with --profiles)",
					 profiles_source);
		goto out;
	}
	if (hoist_config_load_job(job_path, profiles, spec, err))
		goto out;
	rc = 0;
out:
	json_decref(profiles);
	return rc;
}

int hoist_cli_cmd_run(int argc, char **argv)
{
	static char details[PATH_MAX + 1024];
	struct run_options opts = { 0 };
	const struct hoist_cli_opt options[] = {
		{ "profiles", 0, "FILE", "read the GPU profiles from FILE",
		  NULL, &opts.profiles },
		{ "detach", 'd', NULL, "submit the job and return at once",
		  &opts.detach, NULL },
		{ "logs", 'l', NULL, "stream the log of the job while "
		  "following it", &opts.logs, NULL },
		{ "json", 0, NULL, "print only the final job record as JSON",
		  &opts.json, NULL },
		{ "quiet", 'q', NULL, "print only the summary, no progress",
		  &opts.quiet, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "run",
		.summary = "Submit the job file JOB.yaml to hoistd and follow "
			   "the job until it ends.",
		.arg_names = { "JOB.yaml" },
		.min_args = 1,
		.max_args = 1,
		.opts = options,
		.details = details,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_cli_args args;
	struct hoist_err err = HOIST_ERR_INIT;
	char profiles_path[PATH_MAX];
	const char *profiles_source = NULL;
	json_t *job_spec = NULL;
	json_t *record = NULL;
	int64_t interval = HOIST_CLI_POLL_DEFAULT_MS;
	int status = HOIST_CLI_EXIT_FAILURE;
	int rc;

	hoist_cli_default_profiles_path(profiles_path, sizeof(profiles_path),
			      &profiles_source);
	snprintf(details, sizeof(details),
		 "Without --profiles, the GPU profiles are read from\n"
		 "$HOIST_CONFIG_DIR/gpu_profiles.yaml, else from\n"
		 "config/gpu_profiles.yaml of the source tree this hoist was\n"
		 "built in, else from /etc/hoist/gpu_profiles.yaml.  Here that\n"
		 "is %s (%s).\n\n"
		 "With --detach, --json prints the submitted job record and\n"
		 "--quiet prints only the job id.  Progress is polled every\n"
		 "second (HOIST_POLL_INTERVAL_MS sets another period).\n\n"
		 "Exit status: 0 when the job succeeded, 1 when it failed or\n"
		 "was cancelled or on an error, 2 for a bad command line,\n"
		 "130 when Ctrl-C stopped following (the job keeps running).\n",
		 profiles_path, profiles_source);

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	if (opts.logs && (opts.json || opts.detach)) {
		fprintf(stderr, "hoist: --logs cannot be combined with %s\n",
			opts.json ? "--json" : "--detach");
		hoist_cli_print_usage(stderr, &spec);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (opts.profiles) {
		snprintf(profiles_path, sizeof(profiles_path), "%s",
			 opts.profiles);
		profiles_source = NULL;
	}

	if (!opts.detach && hoist_cli_follow_interval(&interval, &err))
		goto out;
	if (load_spec(args.positional[0], profiles_path, profiles_source,
		      &job_spec, &err))
		goto out;
	if (hoist_cli_client_open(&client, &err))
		goto out;
	if (hoist_cli_stage_inputs(&client, job_spec, opts.json || opts.quiet,
				   &err))
		goto out;
	if (hoist_cli_client_call(&client, "POST", "/v1/jobs", job_spec,
				  &record, &err))
		goto out;
	if (!hoist_cli_json_str(record, "id") ||
	    hoist_cli_check_id("job", hoist_cli_json_str(record, "id"),
			       &err)) {
		hoist_err_set(&err, HOIST_E_HTTP,
			      "POST /v1/jobs returned no valid job id");
		goto out;
	}

	if (opts.detach) {
		print_submitted(record, &opts);
		status = HOIST_CLI_EXIT_OK;
		goto out;
	}
	status = follow_job(&client, record, &opts, interval);
out:
	if (err.code)
		hoist_cli_print_error(&err);
	json_decref(job_spec);
	json_decref(record);
	hoist_cli_client_close(&client);
	return status;
}
