/*
 * agent.c - the life cycle of hoist-agent: claim, restore, run, report.
 *
 * Everything runs in one thread around one poll() loop.  Signals arrive
 * through a signalfd; requests to hoistd and checkpoint uploads block the
 * loop while they run.
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
#include "common/util.h"
#include "worker/agent_internal.h"
#include "worker/backoff.h"
#include "worker/cmdenv.h"

#define CLAIM_DEADLINE_MS (10 * 60 * 1000)
#define EXIT_REPORT_DEADLINE_MS (2 * 60 * 1000)
#define FENCED_KILL_WAIT_MS 5000
#define DRAIN_WAIT_MS 2000
#define LOG_FLUSH_MAX_MS 10000
/* Seconds of the grace period kept for the final upload after SIGTERM. */
#define UPLOAD_RESERVE_SECONDS 3
#define OUTPUT_READ_MAX 65536

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

void hoist_agent_begin_stop(struct hoist_agent *agent, int preempted)
{
	int64_t grace_ms;

	if (!agent->child_started || agent->child_reaped)
		return;
	if (preempted)
		agent->preempted = 1;
	if (agent->stopping)
		return;
	grace_ms = ((int64_t)agent->job.grace_seconds -
		    UPLOAD_RESERVE_SECONDS) * 1000;
	if (grace_ms < 1000)
		grace_ms = 1000;
	agent->stopping = 1;
	agent->state = "stopping";
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
		hoist_log_info("job=%s attempt=%d received %s",
			       agent->job.job_id, agent->job.attempt,
			       info.ssi_signo == SIGTERM ? "SIGTERM" :
			       "SIGINT");
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

static void sleep_backoff(struct hoist_agent *agent, unsigned retry)
{
	int64_t delay = hoist_backoff_delay_ms(retry, HOIST_BACKOFF_BASE_MS,
					       HOIST_BACKOFF_CAP_MS,
					       hoist_backoff_random(&agent->rng));
	int64_t until = hoist_clock_mono_ms() + delay;
	int64_t now;

	while ((now = hoist_clock_mono_ms()) < until)
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

	if (hoist_util_mkdir_p(workdir, 0755, err))
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
	if (hoist_util_remove_tree(agent->checkpoint_dir, err) ||
	    hoist_util_remove_tree(agent->resume_dir, err) ||
	    hoist_util_remove_tree(agent->metrics_path, err))
		return -1;
	if (hoist_util_mkdir_p(agent->checkpoint_dir, 0755, err) ||
	    hoist_util_mkdir_p(agent->resume_dir, 0755, err))
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

static int restore(struct hoist_agent *agent, struct hoist_err *err)
{
	const struct hoist_assignment_resume *resume = &agent->job.resume;
	int64_t step = -1;

	agent->state = "restoring";
	hoist_sync_heartbeat(agent);
	if (agent->fenced)
		return 0;
	agent_log(HOIST_LOG_INFO, agent, "restoring step %lld from %s",
		  (long long)resume->step, resume->manifest_key);
	if (hoist_checkpoint_restore(agent->store, resume->manifest_key,
				     resume->manifest_sha256,
				     agent->resume_dir, &step, err)) {
		hoist_err_prefix(err, "cannot restore checkpoint '%s'",
				 resume->manifest_key);
		return -1;
	}
	if (step != resume->step)
		return hoist_err_set(err, HOIST_E_INTEGRITY,
				     "checkpoint '%s' holds step %lld but the "
				     "assignment resumes from step %lld",
				     resume->manifest_key, (long long)step,
				     (long long)resume->step);
	agent_log(HOIST_LOG_INFO, agent, "restored step %lld into %s",
		  (long long)step, agent->resume_dir);
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
	agent->state = "running";
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
	int64_t next_heartbeat = now;
	int64_t next_scan = now + AGENT_SCAN_INTERVAL_MS;
	int64_t next_ship = now + AGENT_SHIP_INTERVAL_MS;

	while (!agent->child_reaped) {
		struct pollfd fds[2] = {
			{ agent->sig_fd, POLLIN, 0 },
			{ agent->child.out_fd, POLLIN, 0 },
		};
		int64_t wake = min64(next_heartbeat,
				     min64(next_scan, next_ship));

		if (agent->stopping && !agent->killed)
			wake = min64(wake, agent->kill_at_ms);
		now = hoist_clock_mono_ms();
		if (poll(fds, agent->child.out_fd >= 0 ? 2 : 1,
			 (int)(wake > now ? wake - now : 0)) > 0) {
			if (fds[0].revents)
				handle_signals(agent);
			if (agent->child.out_fd >= 0 && fds[1].revents)
				read_output(agent);
		}

		now = hoist_clock_mono_ms();
		if (agent->stopping && !agent->killed &&
		    now >= agent->kill_at_ms) {
			agent->killed = 1;
			hoist_child_signal_group(&agent->child, SIGKILL);
			agent_log(HOIST_LOG_WARN, agent, "the command did not "
				  "exit in its grace period; sent SIGKILL");
		}
		if (now >= next_heartbeat) {
			hoist_sync_heartbeat(agent);
			next_heartbeat = hoist_clock_mono_ms() +
					 agent->job.heartbeat_interval_ms;
		}
		if (!agent->fenced && now >= next_scan) {
			reap_child(agent);
			hoist_sync_checkpoints(agent);
			next_scan = hoist_clock_mono_ms() +
				    AGENT_SCAN_INTERVAL_MS;
		}
		if (!agent->fenced && now >= next_ship) {
			hoist_sync_logs(agent);
			next_ship = hoist_clock_mono_ms() +
				    AGENT_SHIP_INTERVAL_MS;
		}
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

/* Retries the commit of the last checkpoint until deadline_ms. */
static void commit_last_checkpoint(struct hoist_agent *agent,
				   int64_t deadline_ms)
{
	unsigned retry = 0;

	while (!agent->fenced && hoist_sync_checkpoints(agent)) {
		if (!agent->has_pending_commit ||
		    hoist_clock_mono_ms() >= deadline_ms) {
			agent_log(HOIST_LOG_ERROR, agent, "the last checkpoint "
				  "was not committed");
			return;
		}
		sleep_backoff(agent, retry++);
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

	agent->state = "uploading";
	hoist_sync_heartbeat(agent);
	commit_last_checkpoint(agent, hoist_clock_mono_ms() +
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
	if (hoist_artifact_open(agent->job.storage_url, &agent->store, &err))
		return report_setup_failure(agent, err.msg,
					    HOIST_AGENT_EXIT_SETUP);
	if (agent->job.has_resume && restore(agent, &err))
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
	agent->state = "running";
	agent->rng = (uint64_t)hoist_clock_now_ms() ^
		     ((uint64_t)getpid() << 32);
	hoist_outbuf_init(&agent->out, AGENT_OUTBUF_MAX);

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
	if (agent->store)
		hoist_artifact_close(agent->store);
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
