/*
 * agent_internal.h - the state of a running agent, shared by agent.c (life
 * cycle and main loop) and sync.c (heartbeats, checkpoints, log shipping).
 * Not an interface for other modules.
 */
#ifndef HOIST_AGENT_INTERNAL_H
#define HOIST_AGENT_INTERNAL_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>

#include "common/log.h"
#include "storage/artifact.h"
#include "storage/checkpoint.h"
#include "worker/assignment.h"
#include "worker/child.h"
#include "worker/client.h"
#include "worker/metrics.h"
#include "worker/outbuf.h"

/* Log lines about the job start with its id and attempt. */
#define agent_log(level, agent, fmt, ...)				\
	hoist_log((level), "job=%s attempt=%d " fmt,			\
		  (agent)->job.job_id, (agent)->job.attempt, ##__VA_ARGS__)

#define AGENT_REQUEST_TIMEOUT_MS 10000L
#define AGENT_SCAN_INTERVAL_MS 1000
#define AGENT_SHIP_INTERVAL_MS 2000
#define AGENT_LOG_CHUNK_MAX (256u << 10)
#define AGENT_OUTBUF_MAX (8u << 20)
#define AGENT_WARN_INTERVAL_MS 60000

struct hoist_agent {
	struct hoist_client client;
	struct hoist_assignment job;	/* zeroed until the claim succeeds */
	struct hoist_artifact_store *store;
	uint64_t rng;			/* jitter of the retries */
	int sig_fd;			/* signalfd for SIGTERM, SIGINT, SIGCHLD */
	sigset_t orig_mask;		/* the mask before the agent blocked */

	char workdir[PATH_MAX];
	char checkpoint_dir[PATH_MAX];
	char resume_dir[PATH_MAX];
	char metrics_path[PATH_MAX];
	char command_log_path[PATH_MAX];
	int command_log_fd;

	const char *state;		/* "restoring", "running", ... */
	int term_received;		/* SIGTERM or SIGINT arrived */

	struct hoist_child child;
	int child_started;
	int child_reaped;
	int wait_status;		/* from waitpid, once reaped */

	int stopping;			/* SIGTERM was sent to the command */
	int preempted;			/* the agent itself got SIGTERM */
	int64_t kill_at_ms;		/* monotonic deadline for SIGKILL */
	int killed;

	struct hoist_metrics_reader metrics;
	uint64_t garbage_logged;	/* garbage count already logged */

	int64_t last_committed;		/* -1 before the first commit */
	int has_pending_commit;		/* uploaded, commit without response */
	struct hoist_checkpoint_info pending_commit;
	int64_t failed_step;		/* last step whose upload failed */
	unsigned upload_failures;
	int64_t upload_retry_at_ms;

	struct hoist_outbuf out;
	int64_t drop_warned_ms;

	int64_t transport_warned_ms;
	int fenced;			/* hoistd responded with 409 or 410 */
};

/* Sends SIGTERM to the command's group and sets the SIGKILL deadline at
 * grace_seconds - 3 s from now (at least 1 s).  No-op when already
 * stopping or when the command has exited. */
void hoist_agent_begin_stop(struct hoist_agent *agent, int preempted);

/*
 * Logs a failed request to hoistd: a fenced result sets agent->fenced and
 * is logged once, other failures are logged at most once per minute (the
 * rest at debug level).
 */
void hoist_agent_note_failure(struct hoist_agent *agent, const char *what,
			      enum hoist_client_result result,
			      const struct hoist_err *err);

/* Posts a heartbeat with agent->state, the last step and metrics.  A
 * "stop" action starts stopping the command. */
void hoist_sync_heartbeat(struct hoist_agent *agent);

/*
 * Retries a commit that got no response, then uploads the newest
 * checkpoint folder above the last committed step and commits it.  Returns
 * 1 when work remains (a commit to retry or a folder to upload after a
 * failure), 0 when nothing is pending.
 */
int hoist_sync_checkpoints(struct hoist_agent *agent);

/* Ships buffered output in chunks.  Returns 0 once the buffer is empty, -1
 * when a request failed (the rest stays buffered). */
int hoist_sync_logs(struct hoist_agent *agent);

/* Reads what the command wrote to the metrics file since the last call. */
void hoist_sync_read_metrics(struct hoist_agent *agent);

#endif
