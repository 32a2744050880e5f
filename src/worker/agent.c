/*
 * agent.c - the life cycle of hoist-agent: claim, restore, run, report.
 *
 * Everything runs in one thread around one poll() loop.  Signals arrive
 * through a signalfd.  Checkpoint uploads and the restore run in a
 * hoist-transfer child process whose result arrives on a pipe, so only the
 * requests to hoistd block the loop, each for AGENT_REQUEST_TIMEOUT_MS at
 * most.
 */
#include "worker/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "worker/agent_internal.h"
#include "worker/backoff.h"
#include "worker/cmdenv.h"
#include "worker/fsutil.h"

#define CLAIM_DEADLINE_MS (10 * 60 * 1000)
#define EXIT_REPORT_DEADLINE_MS (2 * 60 * 1000)
#define FENCED_KILL_WAIT_MS 5000
#define DRAIN_WAIT_MS 2000
#define LOG_FLUSH_MAX_MS 10000
/* Seconds of the grace period kept for the final upload after SIGTERM. */
#define UPLOAD_RESERVE_SECONDS 3
/* The end of the grace period kept for the exit report. */
#define EXIT_REPORT_RESERVE_MS 1000
#define OUTPUT_READ_MAX 65536

/* Periodic work that run_events() does besides heartbeats. */
enum {
	WORK_SCAN = 1u << 0,	/* the checkpoint scan */
	WORK_SHIP = 1u << 1,	/* log shipping */
};

extern char **environ;

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ------------------------------------------------------------------ */
/* Signals and the command's process                                   */
/* ------------------------------------------------------------------ */

static int open_signals(struct hoist_agent *agent, struct hoist_err *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &agent->orig_mask) != 0)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot block signals: %s",
				     strerror(errno));
	agent->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (agent->sig_fd < 0)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot create a signalfd: %s",
				     strerror(errno));
	return 0;
}

static void reap_child(struct hoist_agent *agent)
{
	int status;
	pid_t pid;

	if (!agent->child_started || agent->child_reaped)
		return;
	do {
		pid = waitpid(agent->child.pid, &status, WNOHANG);
	} while (pid < 0 && errno == EINTR);
	if (pid != agent->child.pid)
		return;
	agent->child_reaped = 1;
	agent->wait_status = status;
	if (WIFSIGNALED(status))
		agent_log(HOIST_LOG_INFO, agent, "command killed by signal %d",
			  WTERMSIG(status));
	else
		agent_log(HOIST_LOG_INFO, agent, "command exited with code %d",
			  WEXITSTATUS(status));
}

/* Returns the time the command gets between SIGTERM and SIGKILL. */
static int64_t command_grace_ms(const struct hoist_agent *agent)
{
	int64_t grace_ms = ((int64_t)agent->job.grace_seconds -
			    UPLOAD_RESERVE_SECONDS) * 1000;

	return grace_ms < 1000 ? 1000 : grace_ms;
}

/*
 * Starts the time limit of transfers after SIGTERM: the provider kills the
 * instance grace_seconds after its SIGTERM, and the exit report needs the
 * last second.  Transfers get at least one second more than the command.
 */
static void start_transfer_deadline(struct hoist_agent *agent)
{
	int64_t budget_ms = (int64_t)agent->job.grace_seconds * 1000 -
			    EXIT_REPORT_RESERVE_MS;

	if (agent->transfer_deadline_ms != 0)
		return;
	if (budget_ms < command_grace_ms(agent) + 1000)
		budget_ms = command_grace_ms(agent) + 1000;
	agent->transfer_deadline_ms = hoist_clock_mono_ms() + budget_ms;
}

const char *hoist_agent_state(const struct hoist_agent *agent)
{
	if (agent->restoring)
		return "restoring";
	if (agent->child_reaped)
		return "uploading";
	if (agent->stopping)
		return "stopping";
	if (hoist_transfer_active(&agent->transfer))
		return "uploading";
	return "running";
}

void hoist_agent_begin_stop(struct hoist_agent *agent, int preempted)
{
	int64_t grace_ms;

	if (!agent->child_started || agent->child_reaped)
		return;
	if (preempted)
		agent->preempted = 1;
	if (agent->stopping)
		return;
	grace_ms = command_grace_ms(agent);
	agent->stopping = 1;
	agent->kill_at_ms = hoist_clock_mono_ms() + grace_ms;
	hoist_child_signal_group(&agent->child, SIGTERM);
	agent_log(HOIST_LOG_INFO, agent, "sent SIGTERM to the command "
		  "(process group %d); SIGKILL in %lld ms unless it exits",
		  (int)agent->child.pid, (long long)grace_ms);
}

/* Reads the pending signals; SIGTERM and SIGINT stop a running command. */
static void handle_signals(struct hoist_agent *agent)
{
	struct signalfd_siginfo info;
	int child_event = 0;

	while (read(agent->sig_fd, &info, sizeof(info)) ==
	       (ssize_t)sizeof(info)) {
		if (info.ssi_signo == SIGCHLD) {
			child_event = 1;
			continue;
		}
		agent->term_received = 1;
		/* Before the claim succeeds there is no job to name. */
		if (agent->job.job_id[0])
			agent_log(HOIST_LOG_INFO, agent, "received %s",
				  info.ssi_signo == SIGTERM ? "SIGTERM" :
				  "SIGINT");
		else
			hoist_log_info("received %s", info.ssi_signo ==
				       SIGTERM ? "SIGTERM" : "SIGINT");
		if (info.ssi_signo == SIGTERM)
			start_transfer_deadline(agent);
		hoist_agent_begin_stop(agent, info.ssi_signo == SIGTERM);
	}
	if (child_event)
		reap_child(agent);
}

/*
 * Waits up to ms for a signal, handling it.  Returns early when one
 * arrived, so callers recheck their conditions.
 */
static void wait_for_signal(struct hoist_agent *agent, int64_t ms)
{
	struct pollfd pfd = { agent->sig_fd, POLLIN, 0 };

	if (ms < 0)
		ms = 0;
	if (poll(&pfd, 1, (int)min64(ms, 60000)) > 0)
		handle_signals(agent);
}

/* Sleeps before retry number retry, handling signals meanwhile.  A stop
 * signal that arrives during the sleep ends it early. */
static void sleep_backoff(struct hoist_agent *agent, unsigned retry)
{
	int64_t delay = hoist_backoff_delay_ms(retry, HOIST_BACKOFF_BASE_MS,
					       HOIST_BACKOFF_CAP_MS,
					       hoist_backoff_random(&agent->rng));
	int64_t until = hoist_clock_mono_ms() + delay;
	int term_before = agent->term_received;
	int64_t now;

	while ((now = hoist_clock_mono_ms()) < until &&
	       agent->term_received == term_before)
		wait_for_signal(agent, until - now);
}

static void write_command_log(struct hoist_agent *agent, const char *data,
			      size_t len)
{
	while (len > 0 && agent->command_log_fd >= 0) {
		ssize_t n = write(agent->command_log_fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			agent_log(HOIST_LOG_ERROR, agent, "cannot append to "
				  "'%s', no longer writing it: %s",
				  agent->command_log_path, strerror(errno));
			close(agent->command_log_fd);
			agent->command_log_fd = -1;
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

static void note_dropped_output(struct hoist_agent *agent)
{
	int64_t now = hoist_clock_mono_ms();

	if (agent->drop_warned_ms != 0 &&
	    now - agent->drop_warned_ms < AGENT_WARN_INTERVAL_MS)
		return;
	agent->drop_warned_ms = now;
	agent_log(HOIST_LOG_WARN, agent, "dropped %llu bytes of unsent command"
		  " output in total because more than %u bytes waited for "
		  "hoistd; %s keeps all of it",
		  (unsigned long long)agent->out.dropped_total,
		  AGENT_OUTBUF_MAX, agent->command_log_path);
}

/* Reads one chunk of the command's output.  Returns 1 if data was read, 0
 * at the end of the output or when none is ready. */
static int read_output(struct hoist_agent *agent)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char data[OUTPUT_READ_MAX];
	size_t dropped = 0;
	ssize_t n;

	if (agent->child.out_fd < 0)
		return 0;
	do {
		n = read(agent->child.out_fd, data, sizeof(data));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		if (n < 0)
			agent_log(HOIST_LOG_ERROR, agent, "cannot read the "
				  "command output: %s", strerror(errno));
		close(agent->child.out_fd);
		agent->child.out_fd = -1;
		return 0;
	}
	write_command_log(agent, data, (size_t)n);
	if (hoist_outbuf_append(&agent->out, data, (size_t)n, &dropped, &err))
		agent_log(HOIST_LOG_ERROR, agent, "%s", err.msg);
	if (dropped > 0)
		note_dropped_output(agent);
	return 1;
}

/* Reads the output until its end or until ms passed. */
static void drain_output(struct hoist_agent *agent, int64_t ms)
{
	int64_t until = hoist_clock_mono_ms() + ms;

	while (agent->child.out_fd >= 0) {
		struct pollfd pfd = { agent->child.out_fd, POLLIN, 0 };
		int64_t now = hoist_clock_mono_ms();

		if (now >= until)
			break;
		if (poll(&pfd, 1, (int)(until - now)) <= 0)
			continue;
		read_output(agent);
	}
}

/*
 * Handles a fenced attempt: SIGTERM to the command's group, at most
 * FENCED_KILL_WAIT_MS for it to exit, then SIGKILL.  Nothing is uploaded or
 * committed.
 */
static int exit_fenced(struct hoist_agent *agent)
{
	int64_t until = hoist_clock_mono_ms() + FENCED_KILL_WAIT_MS;
	int64_t now;

	if (hoist_transfer_active(&agent->transfer)) {
		agent_log(HOIST_LOG_WARN, agent, "fenced: killing %s (process "
			  "%d)", HOIST_TRANSFER_PROGRAM,
			  (int)agent->transfer.pid);
		hoist_transfer_kill(&agent->transfer);
	}

	if (agent->child_started && !agent->child_reaped) {
		agent_log(HOIST_LOG_WARN, agent, "fenced: stopping the command "
			  "without uploading or committing anything");
		hoist_child_signal_group(&agent->child, SIGTERM);
		while (!agent->child_reaped &&
		       (now = hoist_clock_mono_ms()) < until) {
			struct pollfd fds[2] = {
				{ agent->sig_fd, POLLIN, 0 },
				{ agent->child.out_fd, POLLIN, 0 },
			};

			if (poll(fds, agent->child.out_fd >= 0 ? 2 : 1,
				 (int)(until - now)) <= 0)
				continue;
			if (fds[0].revents)
				handle_signals(agent);
			if (agent->child.out_fd >= 0 && fds[1].revents)
				read_output(agent);
		}
	}
	if (agent->child_started) {
		hoist_child_signal_group(&agent->child, SIGKILL);
		if (!agent->child_reaped) {
			agent_log(HOIST_LOG_WARN, agent, "the command did not "
				  "exit within %d ms of SIGTERM; sent SIGKILL",
				  FENCED_KILL_WAIT_MS);
			while (waitpid(agent->child.pid, &agent->wait_status,
				       0) < 0 && errno == EINTR)
				;
			agent->child_reaped = 1;
		}
	}
	agent_log(HOIST_LOG_WARN, agent, "exiting: the attempt was fenced by "
		  "hoistd");
	return HOIST_AGENT_EXIT_FENCED;
}

/* ------------------------------------------------------------------ */
/* Reports to hoistd                                                    */
/* ------------------------------------------------------------------ */

static json_t *last_step_json(const struct hoist_agent *agent)
{
	int64_t step = agent->last_committed;

	if (agent->metrics.has_step && agent->metrics.step > step)
		step = agent->metrics.step;
	return step >= 0 ? json_integer(step) : json_null();
}

/*
 * Reports the attempt's end with POST /v1/agent/exit, retrying transport
 * failures until deadline_ms.  exit_code is -1 when the command never ran,
 * signal 0 when it was not killed by one; error may be NULL.
 */
static int report_exit(struct hoist_agent *agent, int exit_code, int signal,
		       const char *error, int64_t deadline_ms)
{
	json_t *body;
	unsigned retry = 0;
	int rc = HOIST_AGENT_EXIT_ERROR;

	body = json_pack("{s:i, s:o, s:b, s:o}", "exit_code", exit_code,
			 "signal", signal ? json_integer(signal) : json_null(),
			 "preempted", agent->preempted,
			 "last_step", last_step_json(agent));
	if (body && error)
		json_object_set_new(body, "error", json_string(error));
	if (body && agent->upload_error[0])
		json_object_set_new(body, "checkpoint_error",
				    json_string(agent->upload_error));
	if (!body) {
		agent_log(HOIST_LOG_ERROR, agent, "cannot build the exit "
			  "report: out of memory");
		return rc;
	}
	for (;;) {
		struct hoist_err err = HOIST_ERR_INIT;
		enum hoist_client_result result;
		json_t *resp = NULL;
		long status;

		result = hoist_client_post(&agent->client, "/v1/agent/exit",
					   body, &resp, &status, &err);
		json_decref(resp);
		if (result == HOIST_CLIENT_OK) {
			agent_log(HOIST_LOG_INFO, agent, "reported the exit "
				  "(exit_code %d, preempted %s)", exit_code,
				  agent->preempted ? "true" : "false");
			rc = HOIST_AGENT_EXIT_OK;
			break;
		}
		hoist_agent_note_failure(agent, "exit report", result, &err);
		if (result == HOIST_CLIENT_FENCED) {
			rc = HOIST_AGENT_EXIT_FENCED;
			break;
		}
		if (result == HOIST_CLIENT_UNAUTHORIZED) {
			rc = HOIST_AGENT_EXIT_UNAUTHORIZED;
			break;
		}
		if (result == HOIST_CLIENT_REJECTED)
			break;
		if (hoist_clock_mono_ms() >= deadline_ms) {
			agent_log(HOIST_LOG_ERROR, agent, "giving up on the exit"
				  " report: hoistd was unreachable for %d s",
				  EXIT_REPORT_DEADLINE_MS / 1000);
			break;
		}
		sleep_backoff(agent, retry++);
	}
	json_decref(body);
	return rc;
}

/* Reports a failure before the command could run and returns exit_code. */
static int report_setup_failure(struct hoist_agent *agent, const char *error,
				int exit_code)
{
	int rc;

	agent_log(HOIST_LOG_ERROR, agent, "%s", error);
	rc = report_exit(agent, -1, 0, error,
			 hoist_clock_mono_ms() + EXIT_REPORT_DEADLINE_MS);
	if (rc == HOIST_AGENT_EXIT_OK)
		return exit_code;
	return rc;
}

/* Sends an empty log chunk at offset 0 so that an agent restarted within
 * its attempt continues the log where hoistd has it. */
static void probe_log_offset(struct hoist_agent *agent)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *body = json_pack("{s:i, s:s}", "offset", 0, "data", "");
	json_t *resp = NULL;
	json_t *next;
	long status;

	if (!body)
		return;
	if (hoist_client_post(&agent->client, "/v1/agent/logs", body, &resp,
			      &status, &err) == HOIST_CLIENT_OK) {
		next = json_object_get(resp, "next_offset");
		if (json_is_integer(next) && json_integer_value(next) > 0) {
			hoist_outbuf_skip_to(&agent->out,
					     (uint64_t)json_integer_value(next));
			agent_log(HOIST_LOG_INFO, agent, "continuing the "
				  "command log at offset %lld",
				  (long long)json_integer_value(next));
		}
	}
	json_decref(resp);
	json_decref(body);
}

/* ------------------------------------------------------------------ */
/* Claim and setup                                                      */
/* ------------------------------------------------------------------ */

/* Returns -1 once the assignment is in agent->job, or the exit code. */
static int claim(struct hoist_agent *agent)
{
	int64_t deadline = hoist_clock_mono_ms() + CLAIM_DEADLINE_MS;
	char host[256] = "";
	unsigned retry = 0;
	json_t *body;
	int rc = HOIST_AGENT_EXIT_ERROR;

	gethostname(host, sizeof(host) - 1);
	body = json_pack("{s:s, s:i}", "hostname", host, "pid",
			 (int)getpid());
	if (!body) {
		hoist_log_error("cannot build the claim request: out of "
				"memory");
		return rc;
	}
	for (;;) {
		struct hoist_err err = HOIST_ERR_INIT;
		enum hoist_client_result result;
		json_t *resp = NULL;
		long status;

		result = hoist_client_post(&agent->client, "/v1/agent/claim",
					   body, &resp, &status, &err);
		if (result == HOIST_CLIENT_OK) {
			if (hoist_assignment_from_json(resp, &agent->job,
						       &err) == 0) {
				rc = -1;
			} else {
				hoist_log_error("hoistd returned an invalid "
						"assignment: %s", err.msg);
				rc = report_setup_failure(agent, err.msg,
							  HOIST_AGENT_EXIT_SETUP);
			}
			json_decref(resp);
			break;
		}
		if (result == HOIST_CLIENT_FENCED) {
			hoist_log_error("claim: the attempt is fenced (%s)",
					err.msg);
			rc = HOIST_AGENT_EXIT_FENCED;
			break;
		}
		if (result == HOIST_CLIENT_UNAUTHORIZED) {
			hoist_log_error("claim: hoistd does not accept the "
					"agent token (%s)", err.msg);
			rc = HOIST_AGENT_EXIT_UNAUTHORIZED;
			break;
		}
		if (result == HOIST_CLIENT_REJECTED) {
			hoist_log_error("claim rejected by hoistd: %s",
					err.msg);
			break;
		}
		if (hoist_clock_mono_ms() >= deadline) {
			hoist_log_error("giving up the claim: hoistd was "
					"unreachable for %d minutes: %s",
					CLAIM_DEADLINE_MS / 60000, err.msg);
			break;
		}
		hoist_agent_note_failure(agent, "claim", result, &err);
		sleep_backoff(agent, retry++);
		if (agent->term_received) {
			hoist_log_info("exiting before the claim succeeded "
				       "because a stop signal arrived");
			rc = HOIST_AGENT_EXIT_OK;
			break;
		}
	}
	json_decref(body);
	return rc;
}

static int join_path(char *out, const char *dir, const char *name,
		     struct hoist_err *err)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "path '%s/%s' is too long", dir, name);
	return 0;
}

/*
 * Creates the workdir layout: checkpoints/ and resume/ are emptied (a
 * restarted agent runs the command again from the assignment's resume
 * point), metrics.jsonl is removed, command.log is appended to.
 */
static int prepare_workdir(struct hoist_agent *agent, const char *workdir,
			   struct hoist_err *err)
{
	char job_workdir[PATH_MAX];

	if (hoist_fsutil_mkdir_p(workdir, 0755, err))
		return -1;
	if (!realpath(workdir, agent->workdir))
		return hoist_err_set(err, HOIST_E_IO, "cannot resolve agent "
				     "workdir '%s': %s", workdir,
				     strerror(errno));
	/* Emptying checkpoints/ there would delete the job's own files. */
	if (realpath(agent->job.workdir, job_workdir) &&
	    strcmp(job_workdir, agent->workdir) == 0)
		return hoist_err_set(err, HOIST_E_INVALID, "the agent workdir "
				     "'%s' is the job's workdir; set "
				     "HOIST_AGENT_WORKDIR to a folder of its "
				     "own", agent->workdir);
	if (join_path(agent->checkpoint_dir, agent->workdir, "checkpoints",
		      err) ||
	    join_path(agent->resume_dir, agent->workdir, "resume", err) ||
	    join_path(agent->metrics_path, agent->workdir, "metrics.jsonl",
		      err) ||
	    join_path(agent->command_log_path, agent->workdir, "command.log",
		      err))
		return -1;
	if (hoist_fsutil_remove_tree(agent->checkpoint_dir, err) ||
	    hoist_fsutil_remove_tree(agent->resume_dir, err) ||
	    hoist_fsutil_remove_tree(agent->metrics_path, err))
		return -1;
	if (hoist_fsutil_mkdir_p(agent->checkpoint_dir, 0755, err) ||
	    hoist_fsutil_mkdir_p(agent->resume_dir, 0755, err))
		return -1;
	agent->command_log_fd = open(agent->command_log_path,
				     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				     0644);
	if (agent->command_log_fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot open '%s': %s",
				     agent->command_log_path,
				     strerror(errno));
	return hoist_metrics_reader_init(&agent->metrics, agent->metrics_path,
					 err);
}

/* ------------------------------------------------------------------ */
/* The event loop                                                       */
/* ------------------------------------------------------------------ */

/* Passes the result of a finished transfer on: an upload to its commit, a
 * check or restore to agent->setup_result. */
static void check_transfer(struct hoist_agent *agent)
{
	if (!hoist_transfer_active(&agent->transfer) ||
	    !hoist_transfer_poll(&agent->transfer))
		return;
	if (agent->transfer.op == HOIST_TRANSFER_UPLOAD) {
		hoist_sync_upload_finished(agent);
		return;
	}
	hoist_transfer_collect(&agent->transfer, &agent->setup_result);
	agent->setup_done = 1;
}

/* Kills a transfer that outlived the grace period after SIGTERM. */
static void enforce_transfer_deadline(struct hoist_agent *agent, int64_t now)
{
	if (!hoist_transfer_active(&agent->transfer) ||
	    agent->transfer_deadline_ms == 0 ||
	    now < agent->transfer_deadline_ms)
		return;
	agent_log(HOIST_LOG_WARN, agent, "killing %s (process %d, step "
		  "%lld): it did not finish within the grace period after "
		  "SIGTERM", HOIST_TRANSFER_PROGRAM, (int)agent->transfer.pid,
		  (long long)agent->transfer.step);
	hoist_transfer_kill(&agent->transfer);
	agent->transfers_stopped = 1;
}

/*
 * Waits until an event arrives, a timer is due or until_ms (monotonic)
 * passed, then handles signals, the command's output, a finished transfer,
 * the SIGKILL and transfer deadlines, heartbeats and, as work requests, the
 * checkpoint scan and log shipping.  Callers loop on it and check their
 * own conditions after each call.
 */
static void run_events(struct hoist_agent *agent, int64_t until_ms,
		       unsigned work)
{
	struct pollfd fds[3];
	nfds_t count = 0;
	int out_index = -1;
	int64_t now = hoist_clock_mono_ms();
	int64_t wake = min64(until_ms, agent->next_heartbeat_ms);

	if (work & WORK_SCAN)
		wake = min64(wake, agent->next_scan_ms);
	if (work & WORK_SHIP)
		wake = min64(wake, agent->next_ship_ms);
	if (agent->stopping && !agent->killed && !agent->child_reaped)
		wake = min64(wake, agent->kill_at_ms);
	if (hoist_transfer_active(&agent->transfer) &&
	    agent->transfer_deadline_ms != 0)
		wake = min64(wake, agent->transfer_deadline_ms);

	fds[count++] = (struct pollfd){ agent->sig_fd, POLLIN, 0 };
	if (agent->child.out_fd >= 0) {
		out_index = (int)count;
		fds[count++] = (struct pollfd){ agent->child.out_fd, POLLIN, 0 };
	}
	if (agent->transfer.result_fd >= 0)
		fds[count++] = (struct pollfd){ agent->transfer.result_fd,
						POLLIN, 0 };
	if (poll(fds, count, (int)(wake > now ? min64(wake - now, 60000) :
				   0)) > 0) {
		if (fds[0].revents)
			handle_signals(agent);
		if (out_index >= 0 && fds[out_index].revents &&
		    agent->child.out_fd >= 0)
			read_output(agent);
	}
	check_transfer(agent);

	now = hoist_clock_mono_ms();
	/* After the command was reaped its process group id may be reused,
	 * and the final upload can outlast the SIGKILL deadline. */
	if (agent->stopping && !agent->killed && !agent->child_reaped &&
	    now >= agent->kill_at_ms) {
		agent->killed = 1;
		hoist_child_signal_group(&agent->child, SIGKILL);
		agent_log(HOIST_LOG_WARN, agent, "the command did not exit in "
			  "its grace period; sent SIGKILL");
	}
	enforce_transfer_deadline(agent, now);
	if (now >= agent->next_heartbeat_ms) {
		hoist_sync_heartbeat(agent);
		agent->next_heartbeat_ms = hoist_clock_mono_ms() +
					   agent->job.heartbeat_interval_ms;
	}
	if ((work & WORK_SCAN) && !agent->fenced &&
	    now >= agent->next_scan_ms) {
		reap_child(agent);
		hoist_sync_checkpoints(agent);
		agent->next_scan_ms = hoist_clock_mono_ms() +
				      AGENT_SCAN_INTERVAL_MS;
	}
	if ((work & WORK_SHIP) && !agent->fenced &&
	    now >= agent->next_ship_ms) {
		hoist_sync_logs(agent);
		agent->next_ship_ms = hoist_clock_mono_ms() +
				      AGENT_SHIP_INTERVAL_MS;
	}
}

/*
 * Runs a check or restore transfer to its end while heartbeats go on.
 * Returns 0 with agent->setup_result filled, 1 when fencing or a stop
 * signal cut it short (the child was killed), or -1 with err when it could
 * not start.
 */
static int run_setup_transfer(struct hoist_agent *agent,
			      const struct hoist_transfer_request *req,
			      struct hoist_err *err)
{
	if (hoist_transfer_start(&agent->transfer, agent->transfer_program,
				 req, agent->transfer_env, &agent->orig_mask,
				 err))
		return -1;
	agent->setup_done = 0;
	while (!agent->setup_done && !agent->fenced && !agent->term_received)
		run_events(agent, INT64_MAX, 0);
	if (agent->setup_done)
		return 0;
	hoist_transfer_kill(&agent->transfer);
	return 1;
}

void hoist_agent_presign_fields(struct hoist_agent *agent,
				struct hoist_transfer_request *req)
{
	if (strncmp(req->storage_url, HOIST_TRANSFER_PRESIGNED,
		    strlen(HOIST_TRANSFER_PRESIGNED)) != 0)
		return;
	req->orchestrator_url = agent->client.base_url;
	req->token = agent->client.token;
}

/* Opens the artifact store once in hoist-transfer, so that a bad
 * storage_url fails the attempt now instead of every upload later. */
static int check_store(struct hoist_agent *agent, struct hoist_err *err)
{
	struct hoist_transfer_request req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.op = HOIST_TRANSFER_CHECK;
	req.storage_url = agent->job.storage_url;
	req.job_id = agent->job.job_id;
	req.attempt = agent->job.attempt;
	hoist_agent_presign_fields(agent, &req);
	agent->next_heartbeat_ms = hoist_clock_mono_ms() +
				   agent->job.heartbeat_interval_ms;
	rc = run_setup_transfer(agent, &req, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (!agent->setup_result.ok)
		return hoist_err_set(err, HOIST_E_INVALID, "%s",
				     agent->setup_result.error);
	return 0;
}

static int restore(struct hoist_agent *agent, struct hoist_err *err)
{
	const struct hoist_assignment_resume *resume = &agent->job.resume;
	struct hoist_transfer_request req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.op = HOIST_TRANSFER_RESTORE;
	req.storage_url = agent->job.storage_url;
	req.job_id = agent->job.job_id;
	req.attempt = agent->job.attempt;
	req.step = resume->step;
	req.dir = agent->resume_dir;
	req.manifest_key = resume->manifest_key;
	req.manifest_sha256 = resume->manifest_sha256;
	hoist_agent_presign_fields(agent, &req);

	agent_log(HOIST_LOG_INFO, agent, "restoring step %lld from %s",
		  (long long)resume->step, resume->manifest_key);
	agent->restoring = 1;
	agent->next_heartbeat_ms = hoist_clock_mono_ms();
	rc = run_setup_transfer(agent, &req, err);
	agent->restoring = 0;
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (!agent->setup_result.ok)
		return hoist_err_set(err, HOIST_E_IO, "%s",
				     agent->setup_result.error);
	agent_log(HOIST_LOG_INFO, agent, "restored step %lld into %s",
		  (long long)agent->setup_result.step, agent->resume_dir);
	return 0;
}

/* Fills the fields that every input and output transfer of the job
 * shares. */
static void job_transfer_request(struct hoist_agent *agent,
				 enum hoist_transfer_op op,
				 struct hoist_transfer_request *req)
{
	memset(req, 0, sizeof(*req));
	req->op = op;
	req->storage_url = agent->job.storage_url;
	req->job_id = agent->job.job_id;
	req->attempt = agent->job.attempt;
	hoist_agent_presign_fields(agent, req);
}

/* Restores every staged input into <job workdir>/<to>, one
 * hoist-transfer child each, before the command starts.  Returns 0, 1 when
 * fencing or a stop signal cut it short, or -1 with err. */
static int restore_inputs(struct hoist_agent *agent, struct hoist_err *err)
{
	for (size_t i = 0; i < agent->job.ninputs; i++) {
		const struct hoist_assignment_input *input =
			&agent->job.inputs[i];
		struct hoist_transfer_request req;
		char dir[PATH_MAX];
		int rc;

		if (join_path(dir, agent->job.workdir, input->to, err))
			return -1;
		job_transfer_request(agent, HOIST_TRANSFER_INPUT, &req);
		req.dir = dir;
		req.manifest_key = input->manifest_key;
		req.manifest_sha256 = input->manifest_sha256;
		agent_log(HOIST_LOG_INFO, agent, "restoring input %s into %s",
			  input->manifest_key, dir);
		agent->restoring = 1;
		rc = run_setup_transfer(agent, &req, err);
		agent->restoring = 0;
		if (rc != 0)
			return rc;
		if (!agent->setup_result.ok)
			return hoist_err_set(err, HOIST_E_IO, "%s",
					     agent->setup_result.error);
		agent_log(HOIST_LOG_INFO, agent, "restored input %s: %llu "
			  "files, %llu bytes, verified", input->to,
			  (unsigned long long)agent->setup_result.files,
			  (unsigned long long)agent->setup_result.bytes);
	}
	return 0;
}

/* Uploads every path of the job's outputs under jobs/<job>/outputs/<path>,
 * one hoist-transfer child each.  Returns 0, 1 when fencing or a stop
 * signal cut it short, or -1 with err naming the first failed output. */
static int upload_outputs(struct hoist_agent *agent, struct hoist_err *err)
{
	for (size_t i = 0; i < agent->job.noutputs; i++) {
		const char *path = agent->job.outputs[i];
		struct hoist_transfer_request req;
		char source[PATH_MAX], key[HOIST_TRANSFER_KEY_MAX + 1];
		int rc;

		if (join_path(source, agent->job.workdir, path, err))
			return -1;
		if ((size_t)snprintf(key, sizeof(key), "jobs/%s/outputs/%s",
				     agent->job.job_id, path) >= sizeof(key))
			return hoist_err_set(err, HOIST_E_INVALID, "output '%s' "
					     "gives a key longer than %d "
					     "bytes", path,
					     HOIST_TRANSFER_KEY_MAX);
		job_transfer_request(agent, HOIST_TRANSFER_OUTPUT, &req);
		req.dir = source;
		req.key = key;
		rc = run_setup_transfer(agent, &req, err);
		if (rc != 0)
			return rc;
		if (!agent->setup_result.ok)
			return hoist_err_set(err, HOIST_E_IO, "%s",
					     agent->setup_result.error);
		agent_log(HOIST_LOG_INFO, agent, "uploaded output %s to %s: "
			  "%llu files, %llu bytes", path, key,
			  (unsigned long long)agent->setup_result.files,
			  (unsigned long long)agent->setup_result.bytes);
	}
	return 0;
}

static int spawn_command(struct hoist_agent *agent, struct hoist_err *err)
{
	struct hoist_cmdenv_paths paths;
	struct hoist_child_spec spec;
	char resume_step[32] = "";
	char **env = NULL;
	int rc;

	if (agent->job.has_resume)
		snprintf(resume_step, sizeof(resume_step), "%lld",
			 (long long)agent->job.resume.step);
	paths.checkpoint_dir = agent->checkpoint_dir;
	paths.resume_dir = agent->job.has_resume ? agent->resume_dir : "";
	paths.resume_step = resume_step;
	paths.metrics_file = agent->metrics_path;
	if (hoist_cmdenv_build(environ, &agent->job, &paths, &env, err))
		return -1;

	spec.argv = agent->job.argv;
	spec.envp = env;
	spec.cwd = agent->job.workdir;
	spec.sigmask = &agent->orig_mask;
	rc = hoist_child_spawn(&spec, &agent->child, err);
	hoist_cmdenv_free(env);
	if (rc)
		return -1;
	agent->child_started = 1;
	if (agent->child.exec_errno)
		agent_log(HOIST_LOG_ERROR, agent, "%s",
			  agent->child.exec_error);
	else
		agent_log(HOIST_LOG_INFO, agent, "started '%s' (%zu arguments) "
			  "in %s as process %d", agent->job.argv[0],
			  agent->job.argc - 1, agent->job.workdir,
			  (int)agent->child.pid);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Running                                                              */
/* ------------------------------------------------------------------ */

/* Runs the poll loop until the command is reaped.  Returns -1 then, or
 * the exit code when the attempt was fenced. */
static int run_loop(struct hoist_agent *agent)
{
	int64_t now = hoist_clock_mono_ms();

	agent->next_heartbeat_ms = now;
	agent->next_scan_ms = now + AGENT_SCAN_INTERVAL_MS;
	agent->next_ship_ms = now + AGENT_SHIP_INTERVAL_MS;
	while (!agent->child_reaped) {
		run_events(agent, INT64_MAX, WORK_SCAN | WORK_SHIP);
		if (agent->fenced)
			return exit_fenced(agent);
	}
	return -1;
}

/* Collects the output after the command exited and kills what is left of
 * its process group, whose processes could keep the pipe open. */
static void collect_leftovers(struct hoist_agent *agent)
{
	drain_output(agent, 0);
	if (hoist_child_signal_group(&agent->child, 0)) {
		agent_log(HOIST_LOG_WARN, agent, "processes of the command's "
			  "group outlived it; sending SIGKILL");
		hoist_child_signal_group(&agent->child, SIGKILL);
	}
	drain_output(agent, DRAIN_WAIT_MS);
	if (agent->child.out_fd >= 0) {
		close(agent->child.out_fd);
		agent->child.out_fd = -1;
	}
}

/*
 * Uploads and commits the newest checkpoint folder after the command
 * exited, once a running upload finished.  Retries the commit until
 * deadline_ms; a failed upload is not retried.  Heartbeats go on meanwhile.
 */
static void upload_last_checkpoint(struct hoist_agent *agent,
				   int64_t deadline_ms)
{
	int64_t retry_at = 0;
	unsigned retry = 0;

	while (!agent->fenced) {
		int64_t now = hoist_clock_mono_ms();
		int work;

		if (hoist_transfer_active(&agent->transfer)) {
			run_events(agent, INT64_MAX, 0);
			continue;
		}
		if (now < retry_at) {
			run_events(agent, retry_at, 0);
			continue;
		}
		work = hoist_sync_checkpoints(agent);
		if (work == HOIST_SYNC_IDLE)
			return;
		if (work == HOIST_SYNC_BUSY)
			continue;
		if (!agent->has_pending_commit || now >= deadline_ms) {
			agent_log(HOIST_LOG_ERROR, agent, "the last checkpoint "
				  "was not committed");
			return;
		}
		retry_at = now + hoist_backoff_delay_ms(
			retry++, HOIST_BACKOFF_BASE_MS, HOIST_BACKOFF_CAP_MS,
			hoist_backoff_random(&agent->rng));
	}
}

/*
 * Ships the rest of the output, retrying for LOG_FLUSH_MAX_MS at most so
 * that the exit report keeps its own retry time.  After a stop signal there
 * is one try only, because the instance is about to go away.
 */
static void flush_logs(struct hoist_agent *agent)
{
	int64_t deadline = hoist_clock_mono_ms() + LOG_FLUSH_MAX_MS;
	unsigned retry = 0;

	while (!agent->fenced && hoist_sync_logs(agent)) {
		if (agent->term_received ||
		    hoist_clock_mono_ms() >= deadline) {
			agent_log(HOIST_LOG_WARN, agent, "%zu bytes of output "
				  "were not shipped to hoistd; %s has them",
				  agent->out.len, agent->command_log_path);
			return;
		}
		sleep_backoff(agent, retry++);
	}
}

/* Uploads the last checkpoint, ships the output and reports the exit. */
static int finish(struct hoist_agent *agent)
{
	struct hoist_err output_err = HOIST_ERR_INIT;
	struct hoist_err err = HOIST_ERR_INIT;
	int status = agent->wait_status;
	int exit_code;
	int signal = 0;

	collect_leftovers(agent);
	if (hoist_outbuf_finish(&agent->out, &err))
		agent_log(HOIST_LOG_ERROR, agent, "%s", err.msg);
	if (agent->out.dropped_total > 0)
		agent_log(HOIST_LOG_WARN, agent, "dropped %llu bytes of command "
			  "output in total while hoistd was unreachable",
			  (unsigned long long)agent->out.dropped_total);

	hoist_sync_heartbeat(agent);
	agent->next_heartbeat_ms = hoist_clock_mono_ms() +
				   agent->job.heartbeat_interval_ms;
	upload_last_checkpoint(agent, hoist_clock_mono_ms() +
			       EXIT_REPORT_DEADLINE_MS);
	flush_logs(agent);
	if (agent->fenced)
		return exit_fenced(agent);

	if (WIFSIGNALED(status)) {
		signal = WTERMSIG(status);
		exit_code = 128 + signal;
	} else {
		exit_code = WEXITSTATUS(status);
	}
	/* A job whose outputs are lost has not succeeded: the attempt then
	 * ends as if the command never ran, with the upload's error. */
	if (exit_code == 0 && !agent->child.exec_errno &&
	    !agent->term_received &&
	    upload_outputs(agent, &output_err) != 0) {
		if (agent->fenced)
			return exit_fenced(agent);
		if (output_err.code == HOIST_OK)
			hoist_err_set(&output_err, HOIST_E_IO, "a stop signal "
				      "arrived while the outputs were "
				      "uploaded");
		agent_log(HOIST_LOG_ERROR, agent, "%s", output_err.msg);
		return report_exit(agent, -1, 0, output_err.msg,
				   hoist_clock_mono_ms() +
				   EXIT_REPORT_DEADLINE_MS);
	}
	return report_exit(agent, exit_code, signal,
			   agent->child.exec_errno ? agent->child.exec_error :
			   NULL, hoist_clock_mono_ms() + EXIT_REPORT_DEADLINE_MS);
}

/* Runs everything after a successful claim. */
static int run_job(struct hoist_agent *agent, const char *workdir)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int rc;

	agent_log(HOIST_LOG_INFO, agent, "claimed the assignment (%s)",
		  agent->job.has_resume ? "resuming" : "fresh start");
	if (prepare_workdir(agent, workdir, &err))
		return report_setup_failure(agent, err.msg,
					    HOIST_AGENT_EXIT_SETUP);
	probe_log_offset(agent);
	if (hoist_fsutil_find_program(HOIST_TRANSFER_PROGRAM,
				      agent->transfer_program,
				      sizeof(agent->transfer_program), &err))
		return report_setup_failure(agent, err.msg,
					    HOIST_AGENT_EXIT_SETUP);
	agent->transfer_env = hoist_transfer_environment(environ);
	if (!agent->transfer_env)
		return report_setup_failure(agent, "cannot build the "
					    "environment of "
					    HOIST_TRANSFER_PROGRAM ": out of "
					    "memory", HOIST_AGENT_EXIT_SETUP);
	if (agent->job.has_resume ? restore(agent, &err) :
	    check_store(agent, &err))
		return report_setup_failure(agent, err.msg,
					    HOIST_AGENT_EXIT_SETUP);
	if (!agent->fenced && !agent->term_received &&
	    restore_inputs(agent, &err) < 0)
		return report_setup_failure(agent, err.msg,
					    HOIST_AGENT_EXIT_SETUP);
	wait_for_signal(agent, 0);
	if (agent->fenced)
		return exit_fenced(agent);
	if (agent->term_received) {
		agent->preempted = 1;
		return report_setup_failure(agent, "a stop signal arrived "
					    "before the command started",
					    HOIST_AGENT_EXIT_OK);
	}
	if (spawn_command(agent, &err))
		return report_setup_failure(agent, err.msg,
					    HOIST_AGENT_EXIT_SETUP);
	rc = run_loop(agent);
	if (rc >= 0)
		return rc;
	return finish(agent);
}

int hoist_agent_run(const struct hoist_agent_config *config)
{
	struct hoist_agent *agent;
	struct hoist_err err = HOIST_ERR_INIT;
	int rc = HOIST_AGENT_EXIT_ERROR;

	agent = calloc(1, sizeof(*agent));
	if (!agent) {
		hoist_log_error("out of memory");
		return rc;
	}
	agent->sig_fd = -1;
	agent->command_log_fd = -1;
	agent->child.out_fd = -1;
	agent->last_committed = -1;
	agent->failed_step = -1;
	agent->rng = (uint64_t)hoist_clock_now_ms() ^
		     ((uint64_t)getpid() << 32);
	hoist_outbuf_init(&agent->out, AGENT_OUTBUF_MAX);
	hoist_transfer_init(&agent->transfer);

	if (hoist_client_init(&agent->client, config->orchestrator_url,
			      config->token, AGENT_REQUEST_TIMEOUT_MS, &err) ||
	    open_signals(agent, &err)) {
		hoist_log_error("%s", err.msg);
		goto out;
	}
	hoist_log_info("claiming an assignment from %s",
		       agent->client.base_url);
	rc = claim(agent);
	if (rc < 0)
		rc = run_job(agent, config->workdir);
out:
	hoist_transfer_release(&agent->transfer);
	free(agent->transfer_env);
	if (agent->child.out_fd >= 0)
		close(agent->child.out_fd);
	if (agent->command_log_fd >= 0)
		close(agent->command_log_fd);
	if (agent->sig_fd >= 0)
		close(agent->sig_fd);
	hoist_metrics_reader_release(&agent->metrics);
	hoist_outbuf_release(&agent->out);
	hoist_assignment_release(&agent->job);
	hoist_client_release(&agent->client);
	free(agent);
	return rc;
}
