/*
 * progress.h - a progress line for file transfers of the CLI: redrawn in
 * place on a terminal, a line every few seconds elsewhere.
 *
 * A store reports the bytes it moves through its progress callback while
 * each file travels, so a single large file moves the line too.  A
 * retried range counts back before it is sent again.
 */
#ifndef HOIST_CLI_PROGRESS_H
#define HOIST_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "storage/artifact.h"

struct hoist_cli_progress {
	FILE *out;
	const char *verb;		/* "pulled", "pushed", ...; not owned */
	uint64_t total;			/* bytes expected */
	uint64_t done;
	int64_t started_mono;
	int64_t shown_mono;		/* when the last update was printed */
	uint64_t shown_done;		/* done in that update, or -1 */
	int tty;			/* out is a terminal */
	int quiet;			/* print nothing */
	int drawn;			/* a terminal line awaits its end */
};

/* Starts counting towards total bytes, printing to out unless quiet. */
void hoist_cli_progress_init(struct hoist_cli_progress *p, FILE *out,
			     const char *verb, uint64_t total, int quiet);

/* Prints the line if its period has passed, or at once with force. */
void hoist_cli_progress_show(struct hoist_cli_progress *p, int force);

/* Ends a line that a terminal still shows, so that the next output
 * starts on a line of its own. */
void hoist_cli_progress_finish(struct hoist_cli_progress *p);

/* Points store's progress callback at p until hoist_cli_progress_detach().
 * Returns store, for use inside a call. */
struct hoist_artifact_store *hoist_cli_progress_attach(
	struct hoist_artifact_store *store, struct hoist_cli_progress *p);
void hoist_cli_progress_detach(struct hoist_artifact_store *store);

#endif
