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
#include "worker/assignment.h"
#include "worker/child.h"
#include "worker/client.h"
#include "worker/metrics.h"
#include "worker/outbuf.h"
#include "worker/transfer.h"

/* Log lines about the job start with its id and attempt. */
#define agent_log(level, agent, fmt, ...)				\
	hoist_log((level), "job=%s attempt=%d " fmt,			\
		  (agent)->job.job_id, (agent)->job.attempt, ##__VA_ARGS__)

/* A request blocks the loop for this long at most.  hoistd asks the
 * provider about a silent agent only after 15 s (its default
 * --heartbeat-timeout-ms). */
#define AGENT_REQUEST_TIMEOUT_MS 5000L
#define AGENT_SCAN_INTERVAL_MS 1000
#define AGENT_SHIP_INTERVAL_MS 2000
#define AGENT_LOG_CHUNK_MAX (256u << 10)
#define AGENT_OUTBUF_MAX (8u << 20)
#define AGENT_WARN_INTERVAL_MS 60000

struct hoist_agent {
	struct hoist_client client;
	struct hoist_assignment job;	/* zeroed until the claim succeeds */
	uint64_t rng;			/* jitter of the retries */
	int sig_fd;			/* signalfd for SIGTERM, SIGINT, SIGCHLD */
	sigset_t orig_mask;		/* the mask before the agent blocked */

	char workdir[PATH_MAX];
	char checkpoint_dir[PATH_MAX];
	char resume_dir[PATH_MAX];
	char metrics_path[PATH_MAX];
	char command_log_path[PATH_MAX];
	int command_log_fd;

	int restoring;			/* the resume checkpoint is restored */
	int term_received;		/* SIGTERM or SIGINT arrived */

	struct hoist_child child;
	int child_started;
	int child_reaped;
	int wait_status;		/* from waitpid, once reaped */

	int stopping;			/* SIGTERM was sent to the command */
	int preempted;			/* the agent itself got SIGTERM */
	int64_t kill_at_ms;		/* monotonic deadline for SIGKILL */
	int killed;

	int64_t next_heartbeat_ms;	/* monotonic times of periodic work */
	int64_t next_scan_ms;
	int64_t next_ship_ms;

	struct hoist_metrics_reader metrics;
	uint64_t garbage_logged;	/* garbage count already logged */

	/* Checkpoint uploads run in a hoist-transfer child, one at a time. */
	char transfer_program[PATH_MAX];
	char **transfer_env;		/* environ without the agent's secrets */
	struct hoist_transfer transfer;
	/* After SIGTERM, transfers end by this monotonic time (0: none),
	 * because the provider kills the instance after the grace period. */
	int64_t transfer_deadline_ms;
	int transfers_stopped;		/* the deadline passed */
	/* The check or restore before the command starts. */
	struct hoist_transfer_result setup_result;
	int setup_done;

	int64_t last_committed;		/* -1 before the first commit */
	int has_pending_commit;		/* uploaded, commit without response */
	struct hoist_transfer_result pending_commit;
	int64_t failed_step;		/* last step whose upload failed */
	unsigned upload_failures;
	/* Error of the last failed upload, "" once a checkpoint commits.
	 * Heartbeats and the exit report carry it to hoistd. */
	char upload_error[512];
	int64_t upload_retry_at_ms;

	struct hoist_outbuf out;
	int64_t drop_warned_ms;

	int64_t transport_warned_ms;
	int fenced;			/* hoistd responded with 409 or 410 */
};

/* Whether checkpoint work remains, from hoist_sync_checkpoints(). */
enum hoist_sync_work {
	HOIST_SYNC_IDLE = 0,		/* nothing to upload or commit */
	HOIST_SYNC_BUSY,		/* an upload runs */
	HOIST_SYNC_RETRY,		/* a commit or upload waits to retry */
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

/* Returns the state reported in heartbeats: "restoring", "running",
 * "stopping" or "uploading" (a transfer runs, or the command exited). */
const char *hoist_agent_state(const struct hoist_agent *agent);
/* Adds the orchestrator URL and the attempt token to req when its store is
 * presigned by hoistd, so that hoist-transfer can ask for the URLs. */
void hoist_agent_presign_fields(struct hoist_agent *agent,
				struct hoist_transfer_request *req);

/* Posts a heartbeat with the state, the last step and metrics.  A "stop"
 * action starts stopping the command. */
void hoist_sync_heartbeat(struct hoist_agent *agent);

/*
 * Moves the checkpoints on without waiting for an upload: retries a commit
 * that got no response, then starts a hoist-transfer upload of the newest
 * checkpoint folder above the last committed step.  Returns what remains
 * (enum hoist_sync_work).
 */
int hoist_sync_checkpoints(struct hoist_agent *agent);

/* Takes the result of the finished upload transfer and, after a success,
 * commits the checkpoint. */
void hoist_sync_upload_finished(struct hoist_agent *agent);

/* Ships buffered output in chunks.  Returns 0 once the buffer is empty, -1
 * when a request failed (the rest stays buffered). */
int hoist_sync_logs(struct hoist_agent *agent);

/* Reads what the command wrote to the metrics file since the last call. */
void hoist_sync_read_metrics(struct hoist_agent *agent);

#endif
