/*
 * local_proc.h - the processes of a local instance, found through /proc.
 *
 * The shim of a local instance is the leader of its own session and a child
 * subreaper.  So every process of the instance has the shim's pid as its
 * session id unless it called setsid(), and every process of the instance
 * descends from the shim while the shim runs (orphans are reparented to
 * it).  A member of the instance is a process that matches either rule.
 *
 * A pid alone does not name a process for long: after it exits, the kernel
 * may give the number to another process.  The shim is therefore named by
 * its pid and the start time that /proc/<pid>/stat records (clock ticks
 * after boot), and signals go through a pidfd after the start time was
 * checked again, so a reused pid is never signalled.
 */
#ifndef HOIST_LOCAL_PROC_H
#define HOIST_LOCAL_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* One process as /proc/<pid>/stat describes it. */
struct hoist_local_proc {
	pid_t pid;
	pid_t ppid;
	pid_t pgrp;
	pid_t session;
	char state;			/* R, S, D, T, t, Z, X, ... */
	unsigned long long start_time;	/* clock ticks after boot */
};

/* Reads /proc/<pid>/stat into proc.  Returns 0, or -1 with
 * HOIST_E_NOT_FOUND when no such process exists and HOIST_E_IO when the
 * file cannot be read or parsed. */
int hoist_local_proc_read(pid_t pid, struct hoist_local_proc *proc,
			  struct hoist_err *err);

/* Returns 1 when pid is a running (not zombie) process that started at
 * start_time, else 0. */
int hoist_local_proc_alive(pid_t pid, unsigned long long start_time);

/* Sends sig to pid if it still is the process that started at start_time.
 * Returns 1 when signalled, 0 when that process is gone, -1 with err set
 * when the signal cannot be sent. */
int hoist_local_proc_signal(pid_t pid, unsigned long long start_time,
			    int sig, struct hoist_err *err);

/*
 * Stores in *pids (allocated, the caller frees it) and *count the running
 * members of the instance whose shim is shim_pid, started at start_time.
 * The shim itself, zombies and the calling process are left out.  When
 * shim_pid now names another process, the instance has no member.
 */
int hoist_local_proc_members(pid_t shim_pid, unsigned long long start_time,
			     pid_t **pids, size_t *count,
			     struct hoist_err *err);

/*
 * Sends sig to every member of the instance, then to the shim when
 * include_shim is set and the shim still runs.  The scan repeats until it
 * finds no member that has not been signalled yet (at most a few passes),
 * so that children forked during a pass get the signal too.  Stores the
 * number of processes signalled in *signalled when it is not NULL.
 */
int hoist_local_proc_signal_members(pid_t shim_pid,
				    unsigned long long start_time, int sig,
				    int include_shim, size_t *signalled,
				    struct hoist_err *err);

#endif
