/*
 * follow.h - what "hoist run" and "hoist logs -f" share while they follow
 * a job: polling with Ctrl-C handling, and reading a job's log in chunks
 * through GET /v1/jobs/{id}/logs.
 */
#ifndef HOIST_CLI_FOLLOW_H
#define HOIST_CLI_FOLLOW_H

#include <stdint.h>
#include <stdio.h>

#include "cli/client.h"
#include "common/err.h"

/* The poll period of the follow loops. */
#define HOIST_CLI_POLL_DEFAULT_MS 1000

/* Installs a SIGINT handler that only records the interrupt, so that a
 * follow loop can stop cleanly; a second Ctrl-C ends the process. */
void hoist_cli_follow_catch_interrupt(void);

/* Returns 1 once Ctrl-C was pressed after hoist_cli_follow_catch_interrupt. */
int hoist_cli_follow_interrupted(void);

/* Sleeps ms milliseconds, or less when Ctrl-C is pressed. */
void hoist_cli_follow_sleep(int64_t ms);

/* Stores the poll period: HOIST_POLL_INTERVAL_MS (10 to 60000) when set,
 * else HOIST_CLI_POLL_DEFAULT_MS.  Returns -1 for an invalid value. */
int hoist_cli_follow_interval(int64_t *ms, struct hoist_err *err);

/* The read position in the log of one attempt. */
struct hoist_cli_log_cursor {
	int64_t attempt;	/* 0: the latest, set from the first reply */
	int64_t offset;		/* bytes of the attempt's log already read */
	int eof;		/* hoistd reported the end of this log */
	int at_line_start;	/* the last byte written was a newline */
};

/*
 * Reads the log output that hoistd has for cursor->attempt from
 * cursor->offset on, in as many requests as it takes (at most 256 per
 * call), writes it to out and advances the cursor.  Returns 0, or -1 with
 * err filled when a request fails or the reply is malformed.
 */
int hoist_cli_follow_read_log(struct hoist_cli_client *client,
			      const char *job_id,
			      struct hoist_cli_log_cursor *cursor, FILE *out,
			      struct hoist_err *err);

/* Fetches GET /v1/jobs/{id} into *job (owned by the caller). */
int hoist_cli_follow_get_job(struct hoist_cli_client *client,
			     const char *job_id, json_t **job,
			     struct hoist_err *err);

#endif
