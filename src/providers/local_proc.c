#include "providers/local_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

/* The maximum number of processes one scan reads: the largest pid_max
 * that Linux allows (4194304 on 64-bit kernels). */
#define PROC_TABLE_MAX (4u * 1024 * 1024)

/* How many ppid links an ancestry walk follows before it gives up. */
#define ANCESTRY_DEPTH_MAX 4096

/* Scans in one hoist_local_proc_signal_members() call. */
#define SIGNAL_PASSES_MAX 8

struct proc_table {
	struct hoist_local_proc *procs;	/* sorted by pid */
	size_t count;
	size_t cap;
};

int hoist_local_proc_read(pid_t pid, struct hoist_local_proc *proc,
			  struct hoist_err *err)
{
	char path[64];
	char line[4096];
	const char *rest;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot open %s: %s", path,
				     strerror(errno));
	do {
		n = read(fd, line, sizeof(line) - 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
	/* A process that exits between open and read leaves ESRCH. */
	if (n < 0 && errno == ESRCH)
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "process %d exited", (int)pid);
	if (n < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot read %s: %s",
				     path, strerror(errno));
	line[n] = '\0';

	/* The command name in brackets may hold spaces and brackets, so the
	 * fields start after the last ')'. */
	rest = strrchr(line, ')');
	if (!rest || sscanf(rest + 1,
			    " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u"
			    " %*d %*d %*d %*d %*d %*d %llu",
			    &proc->state, &proc->ppid, &proc->pgrp,
			    &proc->session, &proc->start_time) != 5)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot parse %s: unexpected format", path);
	proc->pid = pid;
	return 0;
}

static int is_running_state(char state)
{
	return state != 'Z' && state != 'X' && state != 'x';
}

int hoist_local_proc_alive(pid_t pid, unsigned long long start_time)
{
	struct hoist_local_proc proc;

	if (pid <= 0 || hoist_local_proc_read(pid, &proc, NULL) != 0)
		return 0;
	return proc.start_time == start_time && is_running_state(proc.state);
}

static int compare_procs(const void *a, const void *b)
{
	const struct hoist_local_proc *pa = a;
	const struct hoist_local_proc *pb = b;

	return (pa->pid > pb->pid) - (pa->pid < pb->pid);
}

static void table_release(struct proc_table *table)
{
	free(table->procs);
	table->procs = NULL;
	table->count = 0;
	table->cap = 0;
}

static int table_add(struct proc_table *table,
		     const struct hoist_local_proc *proc,
		     struct hoist_err *err)
{
	if (table->count == table->cap) {
		size_t cap = table->cap ? table->cap * 2 : 256;
		struct hoist_local_proc *procs;

		if (cap > PROC_TABLE_MAX)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "more than %u processes in /proc",
					     PROC_TABLE_MAX);
		procs = realloc(table->procs, cap * sizeof(*procs));
		if (!procs)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory reading /proc");
		table->procs = procs;
		table->cap = cap;
	}
	table->procs[table->count++] = *proc;
	return 0;
}

/* Reads every process of /proc into table, sorted by pid.  Processes that
 * exit or cannot be read during the scan are left out. */
static int table_load(struct proc_table *table, struct hoist_err *err)
{
	struct dirent *entry;
	DIR *dir;
	int rc = -1;

	table->count = 0;
	dir = opendir("/proc");
	if (!dir)
		return hoist_err_set(err, HOIST_E_IO, "cannot open /proc: %s",
				     strerror(errno));
	while ((entry = readdir(dir)) != NULL) {
		struct hoist_local_proc proc;
		char *end;
		long pid;

		if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
			continue;
		pid = strtol(entry->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid > INT_MAX)
			continue;
		if (hoist_local_proc_read((pid_t)pid, &proc, NULL) != 0)
			continue;
		if (table_add(table, &proc, err) != 0)
			goto out;
	}
	qsort(table->procs, table->count, sizeof(*table->procs),
	      compare_procs);
	rc = 0;
out:
	closedir(dir);
	return rc;
}

static const struct hoist_local_proc *table_find(const struct proc_table *table,
						 pid_t pid)
{
	struct hoist_local_proc key = { .pid = pid };

	if (table->count == 0)
		return NULL;
	return bsearch(&key, table->procs, table->count,
		       sizeof(*table->procs), compare_procs);
}

static int descends_from(const struct proc_table *table,
			 const struct hoist_local_proc *proc, pid_t ancestor)
{
	pid_t pid = proc->ppid;

	for (int depth = 0; depth < ANCESTRY_DEPTH_MAX && pid > 1; depth++) {
		const struct hoist_local_proc *parent;

		if (pid == ancestor)
			return 1;
		parent = table_find(table, pid);
		if (!parent)
			return 0;
		pid = parent->ppid;
	}
	return 0;
}

/*
 * Marks the members of the instance in member[i] (one flag per table
 * entry).  The kernel keeps a pid number in use while a process still has
 * it as session id, so a session id equal to shim_pid names the instance
 * unless shim_pid now belongs to another process, which the start time
 * shows.
 */
static void mark_members(const struct proc_table *table, pid_t shim_pid,
			 unsigned long long start_time, char *member)
{
	const struct hoist_local_proc *shim = table_find(table, shim_pid);
	int shim_running = 0;
	pid_t self = getpid();

	memset(member, 0, table->count);
	if (shim) {
		if (shim->start_time != start_time)
			return;
		shim_running = is_running_state(shim->state);
	}
	for (size_t i = 0; i < table->count; i++) {
		const struct hoist_local_proc *proc = &table->procs[i];

		if (proc->pid == shim_pid || proc->pid == self ||
		    !is_running_state(proc->state))
			continue;
		if (proc->session == shim_pid ||
		    (shim_running && descends_from(table, proc, shim_pid)))
			member[i] = 1;
	}
}

int hoist_local_proc_members(pid_t shim_pid, unsigned long long start_time,
			     pid_t **pids, size_t *count,
			     struct hoist_err *err)
{
	struct proc_table table = { 0 };
	char *member = NULL;
	pid_t *out = NULL;
	size_t n = 0;
	int rc = -1;

	*pids = NULL;
	*count = 0;
	if (table_load(&table, err) != 0)
		goto out;
	member = malloc(table.count + 1);
	out = malloc((table.count + 1) * sizeof(*out));
	if (!member || !out) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "out of memory listing instance processes");
		goto out;
	}
	mark_members(&table, shim_pid, start_time, member);
	for (size_t i = 0; i < table.count; i++)
		if (member[i])
			out[n++] = table.procs[i].pid;
	*pids = out;
	*count = n;
	out = NULL;
	rc = 0;
out:
	free(out);
	free(member);
	table_release(&table);
	return rc;
}

/*
 * Sends sig to the process that proc describes, unless it exited or its
 * pid now names another process.  Returns 1 when signalled, 0 when the
 * process is gone, -1 with err set on failure.
 */
static int signal_process(const struct hoist_local_proc *proc, int sig,
			  struct hoist_err *err)
{
	struct hoist_local_proc now;
	int rc = -1;
	int fd;

	fd = pidfd_open(proc->pid, 0);
	if (fd < 0 && errno == ESRCH)
		return 0;
	if (fd < 0 && errno != ENOSYS)
		return hoist_err_set(err, HOIST_E_PROVIDER,
				     "cannot open a pidfd for process %d: %s",
				     (int)proc->pid, strerror(errno));

	/* With the pidfd open, the pid cannot move to another process, so a
	 * matching start time proves the pidfd names the scanned process.
	 * Kernels before 5.3 lack pidfds, so a small race remains there. */
	if (hoist_local_proc_read(proc->pid, &now, NULL) != 0 ||
	    now.start_time != proc->start_time) {
		rc = 0;
		goto out;
	}
	if (fd >= 0 ? pidfd_send_signal(fd, sig, NULL, 0) :
		      kill(proc->pid, sig)) {
		if (errno == ESRCH) {
			rc = 0;
			goto out;
		}
		hoist_err_set(err, HOIST_E_PROVIDER,
			      "cannot send signal %d to process %d: %s", sig,
			      (int)proc->pid, strerror(errno));
		goto out;
	}
	rc = 1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int hoist_local_proc_signal(pid_t pid, unsigned long long start_time,
			    int sig, struct hoist_err *err)
{
	struct hoist_local_proc proc = {
		.pid = pid,
		.start_time = start_time,
	};

	if (pid <= 1)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid process id %d", (int)pid);
	return signal_process(&proc, sig, err);
}

struct signalled_set {
	struct hoist_local_proc *procs;
	size_t count;
	size_t cap;
};

static int set_contains(const struct signalled_set *set,
			const struct hoist_local_proc *proc)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->procs[i].pid == proc->pid &&
		    set->procs[i].start_time == proc->start_time)
			return 1;
	return 0;
}

static int set_add(struct signalled_set *set,
		   const struct hoist_local_proc *proc, struct hoist_err *err)
{
	struct proc_table table = { set->procs, set->count, set->cap };

	if (table_add(&table, proc, err) != 0)
		return -1;
	set->procs = table.procs;
	set->count = table.count;
	set->cap = table.cap;
	return 0;
}

/* Signals the members of table not in done and sets *fresh to how many
 * were signalled. */
static int signal_pass(const struct proc_table *table, const char *member,
		       int sig, struct signalled_set *done, size_t *fresh,
		       struct hoist_err *err)
{
	*fresh = 0;
	for (size_t i = 0; i < table->count; i++) {
		const struct hoist_local_proc *proc = &table->procs[i];
		int sent;

		if (!member[i] || set_contains(done, proc))
			continue;
		sent = signal_process(proc, sig, err);
		if (sent < 0)
			return -1;
		if (set_add(done, proc, err) != 0)
			return -1;
		*fresh += (size_t)sent;
	}
	return 0;
}

int hoist_local_proc_signal_members(pid_t shim_pid,
				    unsigned long long start_time, int sig,
				    int include_shim, size_t *signalled,
				    struct hoist_err *err)
{
	struct proc_table table = { 0 };
	struct signalled_set done = { 0 };
	char *member = NULL;
	size_t total = 0;
	int rc = -1;

	for (int pass = 0; pass < SIGNAL_PASSES_MAX; pass++) {
		size_t fresh;
		char *grown;

		if (table_load(&table, err) != 0)
			goto out;
		grown = realloc(member, table.count + 1);
		if (!grown) {
			hoist_err_set(err, HOIST_E_NOMEM,
				      "out of memory signalling processes");
			goto out;
		}
		member = grown;
		mark_members(&table, shim_pid, start_time, member);
		if (signal_pass(&table, member, sig, &done, &fresh, err) != 0)
			goto out;
		total += fresh;
		if (fresh == 0)
			break;
	}
	if (include_shim) {
		const struct hoist_local_proc *shim = table_find(&table,
								 shim_pid);
		int sent;

		if (shim && shim->start_time == start_time &&
		    is_running_state(shim->state)) {
			sent = signal_process(shim, sig, err);
			if (sent < 0)
				goto out;
			total += (size_t)sent;
		}
	}
	rc = 0;
out:
	if (signalled)
		*signalled = total;
	free(member);
	free(done.procs);
	table_release(&table);
	return rc;
}
