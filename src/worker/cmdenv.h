/*
 * cmdenv.h - builds the environment of the user command.
 *
 * The command gets the agent's environment without HOIST_AGENT_TOKEN and
 * HOIST_ORCHESTRATOR_URL (the command must not be able to act as the
 * agent), then the job's env, then the HOIST_* variables of the contract
 * in docs/protocol.md.  A later source replaces a variable of the same
 * name, so each name appears once.
 */
#ifndef HOIST_CMDENV_H
#define HOIST_CMDENV_H

#include "common/err.h"
#include "worker/assignment.h"

/* The per-attempt paths and values that the agent passes to the command. */
struct hoist_cmdenv_paths {
	const char *checkpoint_dir;	/* HOIST_CHECKPOINT_DIR */
	const char *resume_dir;		/* HOIST_RESUME_DIR, "" on a fresh start */
	const char *resume_step;	/* HOIST_RESUME_STEP, "" on a fresh start */
	const char *metrics_file;	/* HOIST_METRICS_FILE */
};

/*
 * Builds the command's environment from parent (a NULL-terminated "NAME=value"
 * list such as environ; entries without '=' are dropped), the assignment and
 * paths.  On success *out is a NULL-terminated list that the caller frees with
 * hoist_cmdenv_free().  Returns 0, or -1 with HOIST_E_NOMEM.
 */
int hoist_cmdenv_build(char *const *parent, const struct hoist_assignment *job,
		       const struct hoist_cmdenv_paths *paths, char ***out,
		       struct hoist_err *err);

void hoist_cmdenv_free(char **env);

#endif
