/*
 * transfer.c - starts, watches and stops the hoist-transfer child process
 * of hoist-agent (see transfer.h).
 */
#include "worker/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"

void hoist_transfer_init(struct hoist_transfer *t)
{
	memset(t, 0, sizeof(*t));
	t->result_fd = -1;
	hoist_buf_init(&t->output, HOIST_TRANSFER_LINE_MAX);
}

static int is_hidden(const char *entry)
{
	static const char *const names[] = {
		"HOIST_AGENT_TOKEN=", "HOIST_ORCHESTRATOR_URL=",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

char **hoist_transfer_environment(char *const *envp)
{
	size_t count = 0;
	size_t n = 0;
	char **out;

	while (envp[count])
		count++;
	out = calloc(count + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < count; i++)
		if (!is_hidden(envp[i]))
			out[n++] = envp[i];
	out[n] = NULL;
	return out;
}

/* Writes all of data to fd, retrying on EINTR; for the child only. */
static void write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/*
 * Runs in the forked child until exec.  The agent is single-threaded, so
 * the child may call any function here.  A failed exec is reported on the
 * result pipe like any other failure.
 */
static void run_child(const char *program, char *const *envp,
		      const sigset_t *sigmask, pid_t parent, int request_fd,
		      int result_fd)
{
	char *const argv[] = { (char *)HOIST_TRANSFER_PROGRAM, NULL };
	char line[1024];
	int n;

	setpgid(0, 0);
	/* The transfer must not outlive an agent that was killed. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, sigmask, NULL);
	if (dup2(request_fd, STDIN_FILENO) < 0 ||
	    dup2(result_fd, STDOUT_FILENO) < 0)
		_exit(127);
	execve(program, argv, envp);
	if (!program)
		_exit(127);
	n = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"cannot "
		     "execute '%.300s': %s\"}\n", program, strerror(errno));
	if (n > 0 && (size_t)n < sizeof(line) && !strpbrk(program, "\"\\"))
		write_all(STDOUT_FILENO, line, (size_t)n);
	_exit(127);
}

int hoist_transfer_start(struct hoist_transfer *t, const char *program,
			 const struct hoist_transfer_request *req,
			 char *const *envp, const sigset_t *sigmask,
			 struct hoist_err *err)
{
	struct hoist_buf request;
	int request_pipe[2] = { -1, -1 };
	int result_pipe[2] = { -1, -1 };
	pid_t parent = getpid();
	ssize_t n;
	pid_t pid;
	int rc = -1;

	hoist_buf_init(&request, HOIST_TRANSFER_LINE_MAX);
	if (hoist_transfer_request_format(req, &request, err))
		goto out;
	if (pipe2(request_pipe, O_CLOEXEC) != 0 ||
	    pipe2(result_pipe, O_CLOEXEC) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot create a pipe for %s: "
			      "%s", HOIST_TRANSFER_PROGRAM, strerror(errno));
		goto out;
	}
	/* The request goes into the empty pipe before the child runs, so
	 * the write never waits for it.  A pipe that is too small (when the
	 * user's pipe buffer quota is used up) is an error. */
	if (fcntl(request_pipe[1], F_GETPIPE_SZ) < (int)request.len)
		fcntl(request_pipe[1], F_SETPIPE_SZ, HOIST_TRANSFER_LINE_MAX);
	fcntl(request_pipe[1], F_SETFL, O_NONBLOCK);
	n = write(request_pipe[1], request.data, request.len);
	if (n != (ssize_t)request.len) {
		hoist_err_set(err, HOIST_E_IO, "cannot pass the %zu-byte "
			      "request to %s: %s", request.len,
			      HOIST_TRANSFER_PROGRAM,
			      n < 0 ? strerror(errno) : "the pipe is full");
		goto out;
	}
	close(request_pipe[1]);
	request_pipe[1] = -1;

	pid = fork();
	if (pid < 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot fork %s: %s",
			      HOIST_TRANSFER_PROGRAM, strerror(errno));
		goto out;
	}
	if (pid == 0)
		run_child(program, envp, sigmask, parent, request_pipe[0],
			  result_pipe[1]);

	/* Also set the group here, so that a kill right after this function
	 * returns reaches it whichever process runs first. */
	setpgid(pid, pid);
	hoist_buf_reset(&t->output);
	t->pid = pid;
	t->reaped = 0;
	t->wait_status = 0;
	t->op = req->op;
	t->step = req->step;
	t->started_ms = hoist_clock_mono_ms();
	fcntl(result_pipe[0], F_SETFL, O_NONBLOCK);
	t->result_fd = result_pipe[0];
	result_pipe[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (request_pipe[i] >= 0)
			close(request_pipe[i]);
		if (result_pipe[i] >= 0)
			close(result_pipe[i]);
	}
	/* The request may carry the attempt token. */
	if (request.data)
		explicit_bzero(request.data, request.cap);
	hoist_buf_release(&request);
	return rc;
}

int hoist_transfer_active(const struct hoist_transfer *t)
{
	return t->pid > 0;
}

/* Reads what is ready on the result pipe; closes it at its end. */
static void read_output(struct hoist_transfer *t)
{
	char data[4096];

	while (t->result_fd >= 0) {
		ssize_t n = read(t->result_fd, data, sizeof(data));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(t->result_fd);
			t->result_fd = -1;
			return;
		}
		/* Output past the limit is dropped; the result line comes
		 * first and is far shorter. */
		hoist_buf_append(&t->output, data, (size_t)n, NULL);
	}
}

static void reap(struct hoist_transfer *t, int options)
{
	pid_t pid;

	if (t->pid <= 0 || t->reaped)
		return;
	do {
		pid = waitpid(t->pid, &t->wait_status, options);
	} while (pid < 0 && errno == EINTR);
	if (pid == t->pid || (pid < 0 && errno == ECHILD))
		t->reaped = 1;
}

int hoist_transfer_poll(struct hoist_transfer *t)
{
	if (t->pid <= 0)
		return 0;
	read_output(t);
	reap(t, WNOHANG);
	return t->result_fd < 0 && t->reaped;
}

static void describe_exit(const struct hoist_transfer *t, const char *why,
			  struct hoist_transfer_result *out)
{
	int status = t->wait_status;

	if (WIFSIGNALED(status))
		snprintf(out->error, sizeof(out->error), "%s was killed by "
			 "signal %d %s", HOIST_TRANSFER_PROGRAM,
			 WTERMSIG(status), why);
	else
		snprintf(out->error, sizeof(out->error), "%s exited with "
			 "status %d %s", HOIST_TRANSFER_PROGRAM,
			 WEXITSTATUS(status), why);
}

static void release_process(struct hoist_transfer *t)
{
	if (t->result_fd >= 0)
		close(t->result_fd);
	t->result_fd = -1;
	t->pid = 0;
	t->reaped = 0;
	hoist_buf_reset(&t->output);
}

void hoist_transfer_collect(struct hoist_transfer *t,
			    struct hoist_transfer_result *out)
{
	struct hoist_err err = HOIST_ERR_INIT;
	const char *text = hoist_buf_str(&t->output);
	const char *newline = strchr(text, '\n');

	memset(out, 0, sizeof(*out));
	if (!newline) {
		describe_exit(t, "without writing a result", out);
	} else if (hoist_transfer_result_parse(t->op, text,
					       (size_t)(newline - text), out,
					       &err)) {
		describe_exit(t, "after writing an invalid result", out);
		snprintf(out->error + strlen(out->error),
			 sizeof(out->error) - strlen(out->error), " (%s)",
			 err.msg);
	} else if (out->ok && (!WIFEXITED(t->wait_status) ||
			       WEXITSTATUS(t->wait_status) != 0)) {
		/* A success that the process contradicts is not trusted. */
		out->ok = 0;
		describe_exit(t, "after reporting success", out);
	}
	release_process(t);
}

void hoist_transfer_kill(struct hoist_transfer *t)
{
	if (t->pid <= 0)
		return;
	kill(-t->pid, SIGKILL);
	kill(t->pid, SIGKILL);
	reap(t, 0);
	release_process(t);
}

void hoist_transfer_release(struct hoist_transfer *t)
{
	hoist_transfer_kill(t);
	hoist_buf_release(&t->output);
}
