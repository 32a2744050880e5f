#include "worker/child.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* What the child writes to the status pipe when it cannot start. */
struct start_failure {
	int stage;	/* STAGE_* */
	int errnum;
};

enum {
	STAGE_CHDIR = 1,
	STAGE_EXEC,
	STAGE_SETUP,
};

static void write_failure(int fd, int stage, int errnum)
{
	struct start_failure failure = { stage, errnum };
	ssize_t n;

	do {
		n = write(fd, &failure, sizeof(failure));
	} while (n < 0 && errno == EINTR);
}

/* Runs in the forked child: only async-signal-safe calls until exec. */
static void run_child(const struct hoist_child_spec *spec, int out_fd,
		      int status_fd)
{
	int null_fd;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, spec->sigmask, NULL);

	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(out_fd, STDERR_FILENO) < 0) {
		write_failure(status_fd, STAGE_SETUP, errno);
		_exit(127);
	}
	if (chdir(spec->cwd) != 0) {
		write_failure(status_fd, STAGE_CHDIR, errno);
		_exit(127);
	}
	environ = (char **)spec->envp;
	execvp(spec->argv[0], spec->argv);
	write_failure(status_fd, STAGE_EXEC, errno);
	_exit(127);
}

static void describe_failure(const struct hoist_child_spec *spec,
			     const struct start_failure *failure,
			     struct hoist_child *child)
{
	const char *what = strerror(failure->errnum);

	child->exec_errno = failure->errnum ? failure->errnum : EINVAL;
	switch (failure->stage) {
	case STAGE_CHDIR:
		snprintf(child->exec_error, sizeof(child->exec_error),
			 "cannot change to workdir '%.300s': %s", spec->cwd,
			 what);
		break;
	case STAGE_EXEC:
		snprintf(child->exec_error, sizeof(child->exec_error),
			 "cannot execute '%.300s': %s", spec->argv[0], what);
		break;
	default:
		snprintf(child->exec_error, sizeof(child->exec_error),
			 "cannot set up the command's standard streams: %s",
			 what);
		break;
	}
}

int hoist_child_spawn(const struct hoist_child_spec *spec,
		      struct hoist_child *child, struct hoist_err *err)
{
	struct start_failure failure;
	int out_pipe[2] = { -1, -1 };
	int status_pipe[2] = { -1, -1 };
	ssize_t n;
	pid_t pid;
	int rc = -1;

	memset(child, 0, sizeof(*child));
	child->out_fd = -1;
	if (pipe2(out_pipe, O_CLOEXEC) != 0 ||
	    pipe2(status_pipe, O_CLOEXEC) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot create a pipe: %s",
			      strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot fork: %s",
			      strerror(errno));
		goto out;
	}
	if (pid == 0)
		run_child(spec, out_pipe[1], status_pipe[1]);

	/* Also set the group here, so that a signal sent right after this
	 * function returns reaches it whichever process runs first. */
	setpgid(pid, pid);
	child->pid = pid;
	close(status_pipe[1]);
	status_pipe[1] = -1;
	close(out_pipe[1]);
	out_pipe[1] = -1;

	do {
		n = read(status_pipe[0], &failure, sizeof(failure));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(failure))
		describe_failure(spec, &failure, child);

	fcntl(out_pipe[0], F_SETFL, fcntl(out_pipe[0], F_GETFL) | O_NONBLOCK);
	child->out_fd = out_pipe[0];
	out_pipe[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (status_pipe[i] >= 0)
			close(status_pipe[i]);
	}
	return rc;
}

int hoist_child_signal_group(const struct hoist_child *child, int sig)
{
	if (child->pid <= 0)
		return 0;
	return kill(-child->pid, sig) == 0;
}
