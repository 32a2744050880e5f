/*
 * child.h - starts the user command in its own process group with its
 * stdout and stderr on a pipe.
 */
#ifndef HOIST_CHILD_H
#define HOIST_CHILD_H

#include <signal.h>
#include <sys/types.h>

#include "common/err.h"

struct hoist_child_spec {
	char *const *argv;	/* argv[0] is looked up in the PATH of envp */
	char *const *envp;
	const char *cwd;
	const sigset_t *sigmask;	/* signal mask for the command */
};

struct hoist_child {
	pid_t pid;		/* also the process group id */
	int out_fd;		/* read end of the output pipe, non-blocking */
	int exec_errno;		/* nonzero when the command did not start */
	char exec_error[512];	/* why it did not start */
};

/*
 * Forks the command: in the child, setpgid(0, 0), stdin from /dev/null,
 * stdout and stderr to a pipe, chdir(cwd), then execvp.  If chdir or exec
 * fails, the child exits with status 127 and child->exec_errno and
 * exec_error say why; the caller still reaps child->pid.  Returns 0, or -1
 * with HOIST_E_IO when the pipe or fork fails (no process was started).
 */
int hoist_child_spawn(const struct hoist_child_spec *spec,
		      struct hoist_child *child, struct hoist_err *err);

/* Sends sig to the command's process group.  Returns 1 if a process
 * received it, 0 if the group has no process left. */
int hoist_child_signal_group(const struct hoist_child *child, int sig);

#endif
