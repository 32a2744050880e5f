/*
 * shim.c - hoist-instance-shim, the process that is one local instance.
 *
 *   hoist-instance-shim [--ready-fd FD] INSTANCE_DIR
 *
 * The local provider starts it for each instance.  The shim forks, and the
 * child calls setsid(), so the instance is a session of its own that the
 * init process (or the nearest subreaper) adopts: it survives the hoistd
 * that created it.  The shim then runs "/bin/sh onstart.sh" in work/ with
 * exactly the request's env plus PATH and HOME, records the onstart
 * process's exit in state.json, and stays alive afterwards, as a stopped
 * container still exists until it is destroyed.  The instance ends when
 * the provider sends SIGKILL to its processes.
 *
 * On SIGUSR1 the shim preempts the instance the way a marketplace does:
 * SIGTERM to every process of the instance, then SIGKILL to those left
 * after the grace period in preempt-request, then state "preempted".
 *
 * When FD is given, the shim writes "ok\n" to it once the onstart process
 * runs and state.json records it, or "error: <message>\n" if it cannot start.
 * The provider waits for that line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "providers/local_dir.h"
#include "providers/local_proc.h"

/* The largest env file: the request's variables, NUL-separated. */
#define ENV_FILE_MAX (1024 * 1024)

/* The maximum number of variables that the onstart process gets. */
#define ENV_VARS_MAX 4096

/* PATH of the onstart process when the shim itself has none. */
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* How long the shim waits for processes to die after SIGKILL. */
#define KILL_WAIT_MS 5000

/* How often the shim checks the instance during a preemption. */
#define PREEMPT_POLL_MS 100

struct shim {
	const char *dir;
	const char *id;			/* the folder name, for log lines */
	pid_t pid;
	unsigned long long start_time;
	pid_t onstart_pid;		/* 0 once reaped */
	int exited;			/* the onstart process has exited */
	int exit_code;			/* its code, or 128 + signal */
	int exit_signal;		/* the signal that ended it, or 0 */
	int preempting;
	int preempted;
	int killed;			/* SIGKILL was sent after the grace */
	int64_t deadline_ms;		/* monotonic end of the current wait */
};

static int ready_fd = -1;

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

static void notify_ready(const char *line)
{
	if (ready_fd < 0)
		return;
	write_all(ready_fd, line, strlen(line));
	close(ready_fd);
	ready_fd = -1;
}

/* Reports a failure before the instance runs, and exits. */
static void fail_start(const struct hoist_err *err)
{
	char line[HOIST_ERR_MSG_MAX + 16];

	hoist_log_error("cannot start the instance: %s", err->msg);
	snprintf(line, sizeof(line), "error: %s\n", err->msg);
	notify_ready(line);
	exit(1);
}

/* Makes sure the ready fd is above 2 so that the stdio setup keeps it. */
static int move_ready_fd(struct hoist_err *err)
{
	int fd;

	if (ready_fd < 0)
		return 0;
	fd = fcntl(ready_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "invalid --ready-fd %d: %s", ready_fd,
				     strerror(errno));
	close(ready_fd);
	ready_fd = fd;
	return 0;
}

/* Points stdin at /dev/null and stdout and stderr at instance.log. */
static int setup_stdio(const char *dir, struct hoist_err *err)
{
	char path[PATH_MAX];
	int log_fd;
	int null_fd;

	if (hoist_local_dir_path(path, sizeof(path), dir, HOIST_LOCAL_LOG,
				 err) != 0)
		return -1;
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot open '%s': %s",
				     path, strerror(errno));
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0) {
		close(log_fd);
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot open /dev/null: %s",
				     strerror(errno));
	}
	if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 ||
	    dup2(log_fd, 2) < 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot redirect stdio: %s",
			      strerror(errno));
		return -1;
	}
	if (null_fd > 2)
		close(null_fd);
	if (log_fd > 2)
		close(log_fd);
	return 0;
}

/* Closes every fd that hoistd left open, except stdio and the ready fd. */
static void close_inherited_fds(void)
{
	if (ready_fd > 3)
		close_range(3, (unsigned)ready_fd - 1, 0);
	close_range(ready_fd >= 3 ? (unsigned)ready_fd + 1 : 3, ~0u, 0);
}

/* Undoes the signal mask and ignored signals inherited from hoistd, which
 * exec would otherwise pass on to the onstart process. */
static void reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
}

/* Leaves the session and process group of hoistd: the parent exits and
 * the child leads a new session whose id is its pid. */
static int detach(struct hoist_err *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot fork: %s",
				     strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot setsid: %s",
				     strerror(errno));
	/* Orphans of the instance are reparented to the shim, which reaps
	 * them and can still find them if they left the session. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot become a child subreaper: %s",
				     strerror(errno));
	return 0;
}

static int record_pid(struct shim *shim, struct hoist_err *err)
{
	struct hoist_local_proc self;

	shim->pid = getpid();
	if (hoist_local_proc_read(shim->pid, &self, err) != 0)
		return -1;
	shim->start_time = self.start_time;
	return hoist_local_dir_write_shim(shim->dir, shim->pid,
					  shim->start_time, err);
}

static int has_name(char *const *vars, size_t count, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < count; i++)
		if (strncmp(vars[i], name, len) == 0 && vars[i][len] == '=')
			return 1;
	return 0;
}

/* Adds "NAME=<the shim's value or fallback>" unless the request set it. */
static int add_inherited(char **vars, size_t *count, const char *name,
			 const char *fallback, struct hoist_err *err)
{
	const char *value = getenv(name);
	char *var;

	if (has_name(vars, *count, name))
		return 0;
	if (!value || !*value)
		value = fallback;
	if (asprintf(&var, "%s=%s", name, value) < 0)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	vars[(*count)++] = var;
	return 0;
}

/*
 * Builds the environment of the onstart process from the env file: the
 * request's variables, then PATH and HOME from the shim's own environment
 * unless the request set them.  The strings point into buf or are
 * allocated, and are never freed (the shim execs or lives until killed).
 */
static int load_env(const char *dir, const char *work, struct hoist_buf *buf,
		    char ***out, struct hoist_err *err)
{
	char path[PATH_MAX];
	size_t count = 0;
	char **vars;

	if (hoist_local_dir_path(path, sizeof(path), dir, HOIST_LOCAL_ENV,
				 err) != 0)
		return -1;
	hoist_buf_init(buf, ENV_FILE_MAX);
	if (hoist_util_read_file(path, buf, err) != 0)
		return -1;
	vars = calloc(ENV_VARS_MAX + 3, sizeof(*vars));
	if (!vars)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	for (size_t at = 0; at < buf->len;) {
		char *var = buf->data + at;
		size_t len = strlen(var);

		if (count == ENV_VARS_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "'%s' holds more than %d "
					     "variables", path, ENV_VARS_MAX);
		if (!strchr(var, '='))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "'%s': variable %zu has no '='",
					     path, count + 1);
		vars[count++] = var;
		at += len + 1;
	}
	if (add_inherited(vars, &count, "PATH", DEFAULT_PATH, err) != 0 ||
	    add_inherited(vars, &count, "HOME", work, err) != 0)
		return -1;
	vars[count] = NULL;
	*out = vars;
	return 0;
}

static int start_onstart(struct shim *shim, struct hoist_err *err)
{
	char script[PATH_MAX];
	char work[PATH_MAX];
	struct hoist_buf env_buf;
	char **envp = NULL;
	sigset_t none;
	pid_t pid;

	if (hoist_local_dir_path(script, sizeof(script), shim->dir,
				 HOIST_LOCAL_ONSTART, err) != 0 ||
	    hoist_local_dir_path(work, sizeof(work), shim->dir,
				 HOIST_LOCAL_WORK, err) != 0)
		return -1;
	if (load_env(shim->dir, work, &env_buf, &envp, err) != 0)
		return -1;
	sigemptyset(&none);

	pid = fork();
	if (pid < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot fork: %s",
				     strerror(errno));
	if (pid == 0) {
		char *argv[] = { "sh", script, NULL };

		sigprocmask(SIG_SETMASK, &none, NULL);
		if (chdir(work) != 0) {
			dprintf(2, "hoist-instance-shim: cannot enter '%s': "
				"%s\n", work, strerror(errno));
			_exit(127);
		}
		execve("/bin/sh", argv, envp);
		dprintf(2, "hoist-instance-shim: cannot execute /bin/sh: %s\n",
			strerror(errno));
		_exit(127);
	}
	shim->onstart_pid = pid;
	hoist_log_info("instance=%s onstart started as pid %d", shim->id,
		       (int)pid);
	return 0;
}

static int write_state(const struct shim *shim, const char *state,
		       struct hoist_err *err)
{
	json_t *obj = json_pack("{s:s, s:I}", "state", state, "updated_at_ms",
				(json_int_t)hoist_clock_now_ms());
	int rc;

	if (!obj)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (shim->exited) {
		json_object_set_new(obj, "exit_code",
				    json_integer(shim->exit_code));
		if (shim->exit_signal)
			json_object_set_new(obj, "signal",
					    json_integer(shim->exit_signal));
	}
	rc = hoist_local_dir_write_json(shim->dir, HOIST_LOCAL_STATE, obj, err);
	json_decref(obj);
	return rc;
}

/* Writes state.json, logging instead of failing: the instance goes on. */
static void record_state(const struct shim *shim, const char *state)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (write_state(shim, state, &err) != 0)
		hoist_log_error("instance=%s cannot record state %s: %s",
				shim->id, state, err.msg);
}

/* Reaps every finished child, orphans of the instance included. */
static void reap_children(struct shim *shim)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != shim->onstart_pid)
			continue;
		shim->onstart_pid = 0;
		shim->exited = 1;
		if (WIFSIGNALED(status)) {
			shim->exit_signal = WTERMSIG(status);
			shim->exit_code = 128 + shim->exit_signal;
			hoist_log_info("instance=%s onstart killed by signal "
				       "%d", shim->id, shim->exit_signal);
		} else {
			shim->exit_code = WEXITSTATUS(status);
			hoist_log_info("instance=%s onstart exited with code "
				       "%d", shim->id, shim->exit_code);
		}
		if (!shim->preempting && !shim->preempted)
			record_state(shim, "exited");
	}
}

static int read_grace(const struct shim *shim, int *grace,
		      struct hoist_err *err)
{
	char text[32];
	char *end;
	long value;

	if (hoist_local_dir_read_text(shim->dir, HOIST_LOCAL_PREEMPT_REQUEST,
				      text, sizeof(text), err) != 0)
		return -1;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\0' && *end != '\n') ||
	    value < 0 || value > HOIST_LOCAL_GRACE_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s/%s must hold a grace period from 0 "
				     "to %d seconds", shim->dir,
				     HOIST_LOCAL_PREEMPT_REQUEST,
				     HOIST_LOCAL_GRACE_MAX);
	*grace = (int)value;
	return 0;
}

static void signal_instance(struct shim *shim, int sig)
{
	struct hoist_err err = HOIST_ERR_INIT;
	size_t count = 0;

	if (hoist_local_proc_signal_members(shim->pid, shim->start_time, sig,
					    0, &count, &err) != 0)
		hoist_log_error("instance=%s cannot send SIG%s: %s", shim->id,
				sigabbrev_np(sig), err.msg);
	hoist_log_info("instance=%s sent SIG%s to %zu processes", shim->id,
		       sigabbrev_np(sig), count);
}

static void start_preemption(struct shim *shim)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int grace = 0;

	if (shim->preempting || shim->preempted) {
		hoist_log_info("instance=%s is already preempted; request "
			       "ignored", shim->id);
		return;
	}
	if (read_grace(shim, &grace, &err) != 0) {
		hoist_log_error("instance=%s preemption request ignored: %s",
				shim->id, err.msg);
		return;
	}
	hoist_log_info("instance=%s preempted with a grace period of %d s",
		       shim->id, grace);
	shim->preempting = 1;
	shim->deadline_ms = hoist_clock_mono_ms() + (int64_t)grace * 1000;
	record_state(shim, "preempting");
	signal_instance(shim, SIGTERM);
}

static size_t count_members(const struct shim *shim)
{
	struct hoist_err err = HOIST_ERR_INIT;
	pid_t *pids = NULL;
	size_t count = 0;

	if (hoist_local_proc_members(shim->pid, shim->start_time, &pids,
				     &count, &err) != 0) {
		hoist_log_error("instance=%s cannot list its processes: %s",
				shim->id, err.msg);
		return 1;
	}
	free(pids);
	return count;
}

/* Ends the preemption once no process is left, with SIGKILL after the
 * grace period. */
static void continue_preemption(struct shim *shim)
{
	size_t left = count_members(shim);
	int64_t now = hoist_clock_mono_ms();

	if (left > 0 && now < shim->deadline_ms)
		return;
	if (left > 0 && !shim->killed) {
		hoist_log_info("instance=%s grace period over, %zu processes "
			       "left", shim->id, left);
		signal_instance(shim, SIGKILL);
		shim->killed = 1;
		shim->deadline_ms = now + KILL_WAIT_MS;
		return;
	}
	if (left > 0)
		hoist_log_error("instance=%s %zu processes still run %d ms "
				"after SIGKILL", shim->id, left, KILL_WAIT_MS);
	reap_children(shim);
	shim->preempting = 0;
	shim->preempted = 1;
	record_state(shim, "preempted");
	hoist_log_info("instance=%s preemption finished", shim->id);
}

static void run(struct shim *shim, const sigset_t *signals)
{
	for (;;) {
		struct timespec poll = {
			.tv_sec = 0,
			.tv_nsec = PREEMPT_POLL_MS * 1000000L,
		};
		siginfo_t info;
		int sig;

		if (shim->preempting)
			sig = sigtimedwait(signals, &info, &poll);
		else
			sig = sigwaitinfo(signals, &info);
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			hoist_log_error("instance=%s cannot wait for signals: "
					"%s", shim->id, strerror(errno));
		reap_children(shim);
		if (sig == SIGUSR1)
			start_preemption(shim);
		if (shim->preempting)
			continue_preemption(shim);
	}
}

static int parse_args(int argc, char **argv, const char **dir)
{
	int i = 1;

	if (argc == 4 && strcmp(argv[1], "--ready-fd") == 0) {
		char *end;
		long fd = strtol(argv[2], &end, 10);

		if (*end != '\0' || end == argv[2] || fd < 0 || fd > INT_MAX)
			return -1;
		ready_fd = (int)fd;
		i = 3;
	}
	if (argc != i + 1 || argv[i][0] != '/')
		return -1;
	*dir = argv[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct shim shim = { 0 };
	sigset_t signals;
	const char *slash;

	if (parse_args(argc, argv, &shim.dir) != 0) {
		fprintf(stderr, "usage: %s [--ready-fd FD] INSTANCE_DIR\n"
			"INSTANCE_DIR is the absolute path of a local "
			"instance folder; the local provider starts this "
			"program, not users\n", argv[0]);
		return 2;
	}
	slash = strrchr(shim.dir, '/');
	shim.id = slash[1] ? slash + 1 : shim.dir;

	if (move_ready_fd(&err) != 0 || setup_stdio(shim.dir, &err) != 0) {
		fprintf(stderr, "hoist-instance-shim: %s\n", err.msg);
		notify_ready("error: cannot set up the instance log\n");
		return 1;
	}
	close_inherited_fds();
	reset_signals();
	hoist_log_init("hoist-instance-shim", HOIST_LOG_INFO, 2,
		       HOIST_LOG_TEXT);

	/* Block the signals before the onstart process exists, so that
	 * none is lost.  run() takes them with sigwaitinfo(). */
	sigemptyset(&signals);
	sigaddset(&signals, SIGCHLD);
	sigaddset(&signals, SIGUSR1);
	sigprocmask(SIG_BLOCK, &signals, NULL);

	if (detach(&err) != 0 || record_pid(&shim, &err) != 0 ||
	    start_onstart(&shim, &err) != 0 ||
	    write_state(&shim, "running", &err) != 0)
		fail_start(&err);
	hoist_log_info("instance=%s running, shim pid %d", shim.id,
		       (int)shim.pid);
	notify_ready("ok\n");
	run(&shim, &signals);
	return 0;
}
