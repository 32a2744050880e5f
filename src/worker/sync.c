/*
 * sync.c - what the agent sends to hoistd while the command runs:
 * heartbeats with the latest metrics, checkpoint uploads (in a
 * hoist-transfer child) and commits, and the command's output.
 */
#include "worker/agent_internal.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "worker/backoff.h"
#include "worker/ckptdir.h"
#include "worker/fsutil.h"

/* Retry delays after a failed checkpoint upload. */
#define UPLOAD_RETRY_BASE_MS 5000
#define UPLOAD_RETRY_CAP_MS 60000

void hoist_agent_note_failure(struct hoist_agent *agent, const char *what,
			      enum hoist_client_result result,
			      const struct hoist_err *err)
{
	int64_t now = hoist_clock_mono_ms();
	char prefix[HOIST_ASSIGNMENT_JOB_ID_MAX + 32] = "";
	int level;

	if (result == HOIST_CLIENT_OK)
		return;
	/* Before the claim succeeds there is no job to name. */
	if (agent->job.job_id[0])
		snprintf(prefix, sizeof(prefix), "job=%s attempt=%d ",
			 agent->job.job_id, agent->job.attempt);
	if (result == HOIST_CLIENT_FENCED) {
		if (!agent->fenced)
			hoist_log_warn("%s%s: the attempt is fenced (%s)",
				       prefix, what, err->msg);
		agent->fenced = 1;
		return;
	}
	level = result == HOIST_CLIENT_TRANSIENT ? HOIST_LOG_WARN :
		HOIST_LOG_ERROR;
	if (agent->transport_warned_ms != 0 &&
	    now - agent->transport_warned_ms < AGENT_WARN_INTERVAL_MS)
		level = HOIST_LOG_DEBUG;
	else
		agent->transport_warned_ms = now;
	hoist_log(level, "%s%s failed (%s): %s; further failures within a "
		  "minute are logged at debug level", prefix, what,
		  hoist_client_result_name(result), err->msg);
}

void hoist_sync_read_metrics(struct hoist_agent *agent)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_metrics_reader *metrics = &agent->metrics;

	if (hoist_metrics_reader_poll(metrics, &err) < 0)
		agent_log(HOIST_LOG_DEBUG, agent, "%s", err.msg);
	if (metrics->garbage > 0 && agent->garbage_logged == 0) {
		agent_log(HOIST_LOG_WARN, agent, "skipping invalid lines in "
			  "metrics file '%s' (first: %s); the command should "
			  "append one JSON object per line", metrics->path,
			  metrics->first_garbage);
		agent->garbage_logged = metrics->garbage;
	}
}

void hoist_sync_heartbeat(struct hoist_agent *agent)
{
	struct hoist_err err = HOIST_ERR_INIT;
	enum hoist_client_result result;
	json_t *body;
	json_t *resp = NULL;
	const char *action;
	long status;

	hoist_sync_read_metrics(agent);
	body = json_pack("{s:s, s:o, s:O, s:o}", "state",
			 hoist_agent_state(agent), "step",
			 agent->metrics.has_step ?
			 json_integer(agent->metrics.step) : json_null(),
			 "metrics", agent->metrics.last ?
			 agent->metrics.last : json_null(),
			 "checkpoint_error", agent->upload_error[0] ?
			 json_string(agent->upload_error) : json_null());
	if (!body) {
		agent_log(HOIST_LOG_ERROR, agent, "cannot build the heartbeat: "
			  "out of memory");
		return;
	}
	result = hoist_client_post(&agent->client, "/v1/agent/heartbeat",
				   body, &resp, &status, &err);
	json_decref(body);
	if (result != HOIST_CLIENT_OK) {
		hoist_agent_note_failure(agent, "heartbeat", result, &err);
		return;
	}
	action = json_string_value(json_object_get(resp, "action"));
	if (action && strcmp(action, "stop") == 0 && !agent->stopping &&
	    agent->child_started && !agent->child_reaped) {
		agent_log(HOIST_LOG_INFO, agent, "hoistd asked to stop the "
			  "command");
		hoist_agent_begin_stop(agent, 0);
	}
	json_decref(resp);
}

/* Removes the local folders of steps below keep_step. */
static void remove_older_folders(struct hoist_agent *agent, int64_t keep_step)
{
	static int64_t steps[HOIST_CKPTDIR_MAX];
	struct hoist_err err = HOIST_ERR_INIT;
	size_t count;

	if (hoist_ckptdir_scan(agent->checkpoint_dir, steps, HOIST_CKPTDIR_MAX,
			       &count, &err)) {
		agent_log(HOIST_LOG_WARN, agent, "%s", err.msg);
		return;
	}
	for (size_t i = 0; i < count && steps[i] < keep_step; i++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/step-%lld",
			 agent->checkpoint_dir, (long long)steps[i]);
		hoist_err_clear(&err);
		if (hoist_fsutil_remove_tree(path, &err))
			agent_log(HOIST_LOG_WARN, agent, "cannot remove old "
				  "checkpoint folder: %s", err.msg);
	}
}

/* Posts the pending commit.  Returns 0 when hoistd responded (committed,
 * ignored or rejected), -1 when it must be retried or the attempt is
 * fenced. */
static int commit_pending(struct hoist_agent *agent)
{
	const struct hoist_transfer_result *info = &agent->pending_commit;
	struct hoist_err err = HOIST_ERR_INIT;
	enum hoist_client_result result;
	json_t *body;
	json_t *resp = NULL;
	long status;
	int committed;

	body = json_pack("{s:I, s:s, s:s, s:I, s:I}", "step",
			 (json_int_t)info->step, "manifest_key",
			 info->manifest_key, "manifest_sha256",
			 info->manifest_sha256, "files",
			 (json_int_t)info->files, "bytes",
			 (json_int_t)info->bytes);
	if (!body) {
		agent_log(HOIST_LOG_ERROR, agent, "cannot build the commit "
			  "request: out of memory");
		return -1;
	}
	result = hoist_client_post(&agent->client, "/v1/agent/checkpoints",
				   body, &resp, &status, &err);
	json_decref(body);
	if (result == HOIST_CLIENT_TRANSIENT || result == HOIST_CLIENT_FENCED) {
		hoist_agent_note_failure(agent, "checkpoint commit", result,
					 &err);
		return -1;
	}
	agent->has_pending_commit = 0;
	if (result != HOIST_CLIENT_OK) {
		agent_log(HOIST_LOG_ERROR, agent, "commit of step %lld "
			  "rejected by hoistd: %s", (long long)info->step,
			  err.msg);
		return 0;
	}
	committed = json_is_true(json_object_get(resp, "committed"));
	json_decref(resp);
	agent->upload_error[0] = '\0';
	if (committed)
		agent_log(HOIST_LOG_INFO, agent, "checkpoint step %lld "
			  "committed (%llu files, %llu bytes, %s)",
			  (long long)info->step,
			  (unsigned long long)info->files,
			  (unsigned long long)info->bytes, info->manifest_key);
	else
		agent_log(HOIST_LOG_INFO, agent, "checkpoint step %lld not "
			  "committed: hoistd already holds a newer step",
			  (long long)info->step);
	if (info->step > agent->last_committed)
		agent->last_committed = info->step;
	remove_older_folders(agent, agent->last_committed);
	return 0;
}

static void note_upload_failure(struct hoist_agent *agent, int64_t step,
				const char *error)
{
	int64_t delay;

	if (step != agent->failed_step)
		agent->upload_failures = 0;
	delay = hoist_backoff_ceiling_ms(agent->upload_failures,
					 UPLOAD_RETRY_BASE_MS,
					 UPLOAD_RETRY_CAP_MS);
	agent->failed_step = step;
	agent->upload_failures++;
	agent->upload_retry_at_ms = hoist_clock_mono_ms() + delay;
	snprintf(agent->upload_error, sizeof(agent->upload_error),
		 "upload of step %lld failed: %s", (long long)step, error);
	agent_log(HOIST_LOG_ERROR, agent, "upload of checkpoint step %lld "
		  "failed, retrying in %lld ms: %s", (long long)step,
		  (long long)delay, error);
}

/* Returns 1 once the grace period after SIGTERM leaves no time for a new
 * upload, logging that once. */
static int transfers_over(struct hoist_agent *agent)
{
	if (agent->transfers_stopped)
		return 1;
	if (agent->transfer_deadline_ms == 0 ||
	    hoist_clock_mono_ms() < agent->transfer_deadline_ms)
		return 0;
	agent->transfers_stopped = 1;
	agent_log(HOIST_LOG_WARN, agent, "no more checkpoint uploads: the "
		  "grace period after SIGTERM is used up");
	return 1;
}

static int start_upload(struct hoist_agent *agent, int64_t step)
{
	struct hoist_transfer_request req;
	struct hoist_err err = HOIST_ERR_INIT;
	char dir[PATH_MAX + 32];

	snprintf(dir, sizeof(dir), "%s/step-%lld", agent->checkpoint_dir,
		 (long long)step);
	memset(&req, 0, sizeof(req));
	req.op = HOIST_TRANSFER_UPLOAD;
	req.storage_url = agent->job.storage_url;
	req.job_id = agent->job.job_id;
	req.attempt = agent->job.attempt;
	req.step = step;
	req.dir = dir;
	hoist_agent_presign_fields(agent, &req);
	if (hoist_transfer_start(&agent->transfer, agent->transfer_program,
				 &req, agent->transfer_env, &agent->orig_mask,
				 &err)) {
		note_upload_failure(agent, step, err.msg);
		return HOIST_SYNC_RETRY;
	}
	agent_log(HOIST_LOG_INFO, agent, "uploading checkpoint step %lld "
		  "(%s process %d)", (long long)step, HOIST_TRANSFER_PROGRAM,
		  (int)agent->transfer.pid);
	return HOIST_SYNC_BUSY;
}

int hoist_sync_checkpoints(struct hoist_agent *agent)
{
	static int64_t steps[HOIST_CKPTDIR_MAX];
	struct hoist_err err = HOIST_ERR_INIT;
	size_t count;
	int64_t step;

	if (hoist_transfer_active(&agent->transfer))
		return HOIST_SYNC_BUSY;
	if (agent->has_pending_commit && commit_pending(agent))
		return HOIST_SYNC_RETRY;
	if (hoist_ckptdir_scan(agent->checkpoint_dir, steps, HOIST_CKPTDIR_MAX,
			       &count, &err)) {
		agent_log(HOIST_LOG_ERROR, agent, "%s", err.msg);
		return HOIST_SYNC_IDLE;
	}
	step = hoist_ckptdir_pick(steps, count, agent->last_committed);
	if (step < 0 || transfers_over(agent))
		return HOIST_SYNC_IDLE;
	if (step == agent->failed_step &&
	    hoist_clock_mono_ms() < agent->upload_retry_at_ms)
		return HOIST_SYNC_RETRY;
	return start_upload(agent, step);
}

void hoist_sync_upload_finished(struct hoist_agent *agent)
{
	struct hoist_transfer_result result;
	int64_t step = agent->transfer.step;
	int64_t took_ms = hoist_clock_mono_ms() - agent->transfer.started_ms;

	hoist_transfer_collect(&agent->transfer, &result);
	if (result.ok && result.step != step) {
		result.ok = 0;
		snprintf(result.error, sizeof(result.error), "%s uploaded "
			 "step %lld instead of %lld", HOIST_TRANSFER_PROGRAM,
			 (long long)result.step, (long long)step);
	}
	if (!result.ok) {
		note_upload_failure(agent, step, result.error);
		return;
	}
	agent_log(HOIST_LOG_DEBUG, agent, "uploaded checkpoint step %lld in "
		  "%lld ms", (long long)step, (long long)took_ms);
	agent->failed_step = -1;
	agent->upload_failures = 0;
	agent->pending_commit = result;
	agent->has_pending_commit = 1;
	commit_pending(agent);
}

int hoist_sync_logs(struct hoist_agent *agent)
{
	struct hoist_outbuf *out = &agent->out;

	while (out->len > 0) {
		struct hoist_err err = HOIST_ERR_INIT;
		enum hoist_client_result result;
		size_t n = hoist_outbuf_chunk(out, AGENT_LOG_CHUNK_MAX);
		json_t *body;
		json_t *resp = NULL;
		json_t *next;
		long status;

		body = json_pack("{s:I, s:s%}", "offset",
				 (json_int_t)out->offset, "data", out->data,
				 n);
		if (!body) {
			agent_log(HOIST_LOG_ERROR, agent, "cannot build the "
				  "log request for %zu bytes at offset %llu",
				  n, (unsigned long long)out->offset);
			return -1;
		}
		result = hoist_client_post(&agent->client, "/v1/agent/logs",
					   body, &resp, &status, &err);
		json_decref(body);
		if (result != HOIST_CLIENT_OK) {
			hoist_agent_note_failure(agent, "log upload", result,
						 &err);
			return -1;
		}
		hoist_outbuf_consume(out, n);
		next = json_object_get(resp, "next_offset");
		if (json_is_integer(next) && json_integer_value(next) >= 0)
			hoist_outbuf_skip_to(out,
					     (uint64_t)json_integer_value(next));
		json_decref(resp);
	}
	return 0;
}
