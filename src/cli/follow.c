#include "cli/follow.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/format.h"

#define LOG_REQUESTS_PER_READ 256
#define POLL_MIN_MS 10
#define POLL_MAX_MS 60000

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signo)
{
	(void)signo;
	interrupted = 1;
}

void hoist_cli_follow_catch_interrupt(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = on_interrupt;
	sigemptyset(&action.sa_mask);
	/* No SA_RESTART: the sleep returns at once.  SA_RESETHAND makes the
	 * second Ctrl-C end the process even when a request hangs. */
	action.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &action, NULL);
}

int hoist_cli_follow_interrupted(void)
{
	return interrupted != 0;
}

void hoist_cli_follow_sleep(int64_t ms)
{
	struct timespec left = { (time_t)(ms / 1000),
				 (long)(ms % 1000) * 1000000L };

	while (!interrupted && nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

int hoist_cli_follow_interval(int64_t *ms, struct hoist_err *err)
{
	const char *text = getenv("HOIST_POLL_INTERVAL_MS");
	char *end;
	long long value;

	*ms = HOIST_CLI_POLL_DEFAULT_MS;
	if (!text || !*text)
		return 0;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || *end || value < POLL_MIN_MS || value > POLL_MAX_MS)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "HOIST_POLL_INTERVAL_MS: invalid value "
				     "'%s'; expected milliseconds from %d to %d",
				     text, POLL_MIN_MS, POLL_MAX_MS);
	*ms = value;
	return 0;
}

int hoist_cli_follow_get_job(struct hoist_cli_client *client,
			     const char *job_id, json_t **job,
			     struct hoist_err *err)
{
	char path[256];

	snprintf(path, sizeof(path), "/v1/jobs/%s", job_id);
	if (hoist_cli_client_call(client, "GET", path, NULL, job, err))
		return -1;
	if (!json_is_object(*job)) {
		json_decref(*job);
		*job = NULL;
		return hoist_err_set(err, HOIST_E_HTTP,
				     "GET %s returned no job record", path);
	}
	return 0;
}

/* Sends one log request and stores in *written how many bytes of log
 * output it wrote to out. */
static int read_log_chunk(struct hoist_cli_client *client, const char *job_id,
			  struct hoist_cli_log_cursor *cursor, FILE *out,
			  size_t *written, struct hoist_err *err)
{
	char path[320];
	json_t *reply = NULL;
	const json_t *data;
	int64_t attempt;
	int64_t next;
	size_t len;
	int rc = -1;

	if (cursor->attempt > 0)
		snprintf(path, sizeof(path),
			 "/v1/jobs/%s/logs?attempt=%lld&offset=%lld", job_id,
			 (long long)cursor->attempt,
			 (long long)cursor->offset);
	else
		snprintf(path, sizeof(path), "/v1/jobs/%s/logs?offset=%lld",
			 job_id, (long long)cursor->offset);
	if (hoist_cli_client_call(client, "GET", path, NULL, &reply, err))
		goto out;

	data = json_object_get(reply, "data");
	if (!json_is_string(data) ||
	    hoist_cli_json_int(reply, "next_offset", &next) ||
	    hoist_cli_json_int(reply, "attempt", &attempt) ||
	    next < cursor->offset) {
		hoist_err_set(err, HOIST_E_HTTP,
			      "GET %s returned a malformed log reply", path);
		goto out;
	}

	len = json_string_length(data);
	if (len > 0) {
		const char *bytes = json_string_value(data);

		fwrite(bytes, 1, len, out);
		cursor->at_line_start = bytes[len - 1] == '\n';
	}
	cursor->attempt = attempt;
	cursor->offset = next;
	cursor->eof = json_is_true(json_object_get(reply, "eof"));
	*written = len;
	rc = 0;
out:
	json_decref(reply);
	return rc;
}

int hoist_cli_follow_read_log(struct hoist_cli_client *client,
			      const char *job_id,
			      struct hoist_cli_log_cursor *cursor, FILE *out,
			      struct hoist_err *err)
{
	for (int i = 0; i < LOG_REQUESTS_PER_READ; i++) {
		int64_t before = cursor->offset;
		size_t written = 0;

		if (read_log_chunk(client, job_id, cursor, out, &written, err))
			return -1;
		if (written == 0 || cursor->eof || cursor->offset == before)
			break;
	}
	fflush(out);
	return 0;
}
