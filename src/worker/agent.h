/*
 * agent.h - the hoist-agent life cycle: claim the assignment from hoistd,
 * restore the checkpoint to resume from, run the command, report
 * heartbeats, output and checkpoints while it runs, and report its exit.
 * docs/agent.md describes the behaviour, docs/protocol.md the endpoints.
 */
#ifndef HOIST_AGENT_H
#define HOIST_AGENT_H

/* Exit codes of hoist-agent. */
enum hoist_agent_exit {
	HOIST_AGENT_EXIT_OK = 0,	/* the command's exit was reported */
	HOIST_AGENT_EXIT_ERROR = 1,	/* bad configuration, hoistd gone */
	HOIST_AGENT_EXIT_UNAUTHORIZED = 2,	/* hoistd responded with 401 */
	HOIST_AGENT_EXIT_FENCED = 3,	/* the attempt token was revoked */
	HOIST_AGENT_EXIT_SETUP = 4,	/* bad assignment, restore failed */
};

struct hoist_agent_config {
	const char *orchestrator_url;
	const char *token;		/* never logged */
	const char *workdir;		/* the agent's own folder */
};

/*
 * Runs the whole life cycle and returns the exit code for the process
 * (enum hoist_agent_exit).  Blocks SIGTERM, SIGINT and SIGCHLD to read them
 * from a signalfd, so call it before any thread starts.  Logs through
 * common/log.h.  Checkpoint uploads and restores run in hoist-transfer
 * child processes (worker/transfer.h).
 */
int hoist_agent_run(const struct hoist_agent_config *config);

#endif
