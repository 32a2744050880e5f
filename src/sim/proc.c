/*
 * proc.c - the process tree of a simulated instance.
 *
 * An instance runs the way the local provider runs one: a folder
 * <state-dir>/<instance id>/ contains onstart.sh, env, state.json and
 * instance.log (see providers/local_dir.h), and hoist-instance-shim runs
 * the script in a session of its own with exactly the instance's env.
 * The folder stays across stop and start, so work/ keeps its files like
 * the instance's disk does, and a start runs the onstart script again.
 *
 * A kill sends SIGTERM to every process of the session, SIGKILL to those
 * left after --kill-grace seconds, and SIGKILL to the shim once its
 * session is empty.  The simulator is a child subreaper, so it reaps the
 * shims (and anything orphaned) itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "providers/local_dir.h"
#include "providers/local_proc.h"
#include "sim/sim_int.h"

/* How long a start waits for the shim's "ok" line, in ms. */
#define SHIM_READY_TIMEOUT_MS 5000

/* How long a kill waits for processes to die after SIGKILL, in s. */
#define KILL_WAIT_SECONDS 5.0

/* The largest env file of an instance. */
#define ENV_FILE_MAX (256 * 1024)

static int write_file(const char *dir, const char *name, const void *data,
		      size_t len, unsigned mode, struct hoist_err *err)
{
	char path[PATH_MAX];
	const char *p = data;
	int fd;

	if (hoist_local_dir_path(path, sizeof(path), dir, name, err) != 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  mode);
	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot create '%s': %s",
				     path, strerror(errno));
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s",
				     path, strerror(errno));
	return 0;
fail:
	hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s", path,
		      strerror(errno));
	close(fd);
	return -1;
}

static int make_dir(const char *path, struct hoist_err *err)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return hoist_err_set(err, HOIST_E_IO, "cannot create '%s': %s",
				     path, strerror(errno));
	return 0;
}

static int add_var(struct hoist_buf *buf, const char *name, const char *value,
		   struct hoist_err *err)
{
	if (hoist_buf_appendf(buf, err, "%s=%s", name, value) != 0 ||
	    hoist_buf_append(buf, "", 1, err) != 0)
		return -1;
	return 0;
}

/* The variables that Vast.ai sets in every container.  They replace
 * variables of the same name from the request. */
static int vast_vars(const struct hoist_sim_instance *inst, json_t *vars)
{
	char text[64];
	const char *port;
	json_t *mapping;
	int rc = 0;

	snprintf(text, sizeof(text), "%lld", (long long)inst->id);
	rc |= json_object_set_new(vars, "CONTAINER_ID", json_string(text));
	rc |= json_object_set_new(vars, "CONTAINER_API_KEY",
				  json_string(inst->api_key));
	snprintf(text, sizeof(text), "C.%lld", (long long)inst->id);
	rc |= json_object_set_new(vars, "VAST_CONTAINERLABEL",
				  json_string(text));
	snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(
		json_object_get(inst->machine, "num_gpus")));
	rc |= json_object_set_new(vars, "GPU_COUNT", json_string(text));
	rc |= json_object_set_new(vars, "PUBLIC_IPADDR",
				  json_string("127.0.0.1"));
	json_object_foreach(inst->ports, port, mapping) {
		const char *host = json_string_value(json_object_get(
			json_array_get(mapping, 0), "HostPort"));
		char name[64];
		int number = atoi(port);

		if (!host || !strstr(port, "/tcp"))
			continue;
		snprintf(name, sizeof(name), "VAST_TCP_PORT_%d", number);
		rc |= json_object_set_new(vars, name, json_string(host));
	}
	return rc ? -1 : 0;
}

/* Writes the env file: the request's variables, Vast.ai's, and PATH with
 * the folder of hoist-agent first unless the request sets PATH. */
static int write_env(const struct hoist_sim *sim,
		     const struct hoist_sim_instance *inst,
		     struct hoist_err *err)
{
	json_t *vars = json_deep_copy(inst->env);
	struct hoist_buf buf;
	const char *name;
	json_t *value;
	int rc = -1;

	hoist_buf_init(&buf, ENV_FILE_MAX);
	if (!vars || vast_vars(inst, vars) != 0) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if (!json_object_get(vars, "PATH") && sim->agent_dir[0]) {
		const char *path = getenv("PATH");
		char *joined;

		if (asprintf(&joined, "%s:%s", sim->agent_dir,
			     path && *path ? path :
			     "/usr/local/bin:/usr/bin:/bin") < 0) {
			hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
			goto out;
		}
		json_object_set_new(vars, "PATH", json_string(joined));
		free(joined);
	}
	json_object_foreach(vars, name, value)
		if (add_var(&buf, name, json_string_value(value), err) != 0)
			goto out;
	rc = write_file(inst->dir, HOIST_LOCAL_ENV, hoist_buf_str(&buf),
			buf.len, 0600, err);
out:
	json_decref(vars);
	hoist_buf_release(&buf);
	return rc;
}

/* Appends text to buf in single quotes for /bin/sh. */
static int append_quoted(struct hoist_buf *buf, const char *text,
			 struct hoist_err *err)
{
	if (hoist_buf_append(buf, "'", 1, err) != 0)
		return -1;
	for (const char *c = text; *c; c++) {
		if (*c == '\'') {
			if (hoist_buf_appends(buf, "'\\''", err) != 0)
				return -1;
		} else if (hoist_buf_append(buf, c, 1, err) != 0) {
			return -1;
		}
	}
	return hoist_buf_append(buf, "'", 1, err);
}

/*
 * Writes onstart.sh.  With runtype args and an args list, the container's
 * command is the entrypoint (the onstart text, which the API takes as the
 * entrypoint then) followed by the args, so the script is "exec ONSTART
 * 'arg'...".  Otherwise the script is the onstart text.
 */
static int write_script(const struct hoist_sim_instance *inst,
			struct hoist_err *err)
{
	const char *onstart = inst->onstart ? inst->onstart : "";
	struct hoist_buf buf;
	size_t i;
	json_t *arg;
	int rc = -1;

	hoist_buf_init(&buf, 1024 * 1024);
	if (strncmp(inst->runtype, "args", 4) == 0 && inst->args &&
	    json_array_size(inst->args) > 0) {
		if (hoist_buf_appendf(&buf, err, "exec %s", *onstart ?
				      onstart : "") != 0)
			goto out;
		json_array_foreach(inst->args, i, arg) {
			if (hoist_buf_append(&buf, " ", 1, err) != 0 ||
			    append_quoted(&buf, json_string_value(arg),
					  err) != 0)
				goto out;
		}
		if (hoist_buf_append(&buf, "\n", 1, err) != 0)
			goto out;
	} else if (hoist_buf_appends(&buf, onstart, err) != 0) {
		goto out;
	}
	rc = write_file(inst->dir, HOIST_LOCAL_ONSTART, hoist_buf_str(&buf),
			buf.len, 0700, err);
out:
	hoist_buf_release(&buf);
	return rc;
}

static int prepare_dir(const struct hoist_sim *sim,
		       const struct hoist_sim_instance *inst,
		       struct hoist_err *err)
{
	static const char starting[] = "{\"state\":\"starting\"}";
	const char *label = inst->label ? inst->label : "";
	char work[PATH_MAX];

	if (make_dir(inst->dir, err) != 0 ||
	    hoist_local_dir_path(work, sizeof(work), inst->dir,
				 HOIST_LOCAL_WORK, err) != 0 ||
	    make_dir(work, err) != 0 ||
	    write_file(inst->dir, HOIST_LOCAL_LABEL, label, strlen(label),
		       0600, err) != 0 ||
	    write_script(inst, err) != 0 ||
	    write_env(sim, inst, err) != 0 ||
	    write_file(inst->dir, HOIST_LOCAL_STATE, starting,
		       sizeof(starting) - 1, 0600, err) != 0)
		return -1;
	return 0;
}

/* Reads the shim's line from fd: "ok" or "error: <message>". */
static int read_ready_line(int fd, const char *dir, struct hoist_err *err)
{
	double deadline = hoist_sim_mono() + SHIM_READY_TIMEOUT_MS / 1000.0;
	char line[HOIST_ERR_MSG_MAX];
	size_t used = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = deadline - hoist_sim_mono();
		ssize_t n;
		int ready;

		if (left <= 0)
			return hoist_err_set(err, HOIST_E_PROVIDER,
					     "the instance shim did not start "
					     "within %d ms; see '%s/%s'",
					     SHIM_READY_TIMEOUT_MS, dir,
					     HOIST_LOCAL_LOG);
		ready = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot poll the shim pipe: %s",
					     strerror(errno));
		if (ready == 0)
			continue;
		n = read(fd, line + used, sizeof(line) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot read the shim pipe: %s",
					     strerror(errno));
		used += (size_t)n;
		line[used] = '\0';
		if (n == 0 || strchr(line, '\n') || used == sizeof(line) - 1)
			break;
	}
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "ok") == 0)
		return 0;
	if (strncmp(line, "error: ", 7) == 0)
		return hoist_err_set(err, HOIST_E_PROVIDER,
				     "the instance shim failed: %s", line + 7);
	return hoist_err_set(err, HOIST_E_PROVIDER,
			     "the instance shim exited before it was ready; "
			     "see '%s/%s'", dir, HOIST_LOCAL_LOG);
}

/* Starts the shim for the instance folder and waits until the onstart
 * script runs, at most SHIM_READY_TIMEOUT_MS. */
static int spawn_shim(const struct hoist_sim *sim, const char *dir,
		      struct hoist_err *err)
{
	char fd_arg[16];
	int fds[2];
	pid_t pid;
	int rc;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot create a pipe: %s",
				     strerror(errno));
	snprintf(fd_arg, sizeof(fd_arg), "%d", fds[1]);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return hoist_err_set(err, HOIST_E_IO, "cannot fork: %s",
				     strerror(errno));
	}
	if (pid == 0) {
		static const char msg[] =
			"error: cannot execute the instance shim\n";
		char *argv[] = {
			(char *)sim->shim_path, "--ready-fd", fd_arg,
			(char *)dir, NULL,
		};

		/* Only async-signal-safe calls between fork and exec. */
		if (fcntl(fds[1], F_SETFD, 0) == 0)
			execv(sim->shim_path, argv);
		if (write(fds[1], msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	rc = read_ready_line(fds[0], dir, err);
	close(fds[0]);

	/* The first shim process exits as soon as it has forked. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return rc;
}

int hoist_sim_proc_start(struct hoist_sim *sim,
			 struct hoist_sim_instance *inst,
			 struct hoist_err *err)
{
	pid_t pid;
	unsigned long long start;

	if (inst->shim_pid != 0)
		hoist_sim_proc_kill(sim, inst);
	if (prepare_dir(sim, inst, err) != 0 ||
	    spawn_shim(sim, inst->dir, err) != 0 ||
	    hoist_local_dir_read_shim(inst->dir, &pid, &start, err) != 0) {
		hoist_err_prefix(err, "instance %lld", (long long)inst->id);
		return -1;
	}
	inst->shim_pid = pid;
	inst->shim_start = start;
	inst->next_poll = 0;
	hoist_log_info("instance %lld onstart script runs in session %d "
		       "(folder %s)", (long long)inst->id, (int)pid,
		       inst->dir);
	return 0;
}

int hoist_sim_proc_exited(struct hoist_sim_instance *inst, int *code)
{
	json_t *state = NULL;
	const char *name;
	int exited = 0;

	if (inst->shim_pid == 0 ||
	    hoist_local_dir_read_json(inst->dir, HOIST_LOCAL_STATE, &state,
				      NULL) != 0)
		return 0;
	name = json_string_value(json_object_get(state, "state"));
	if (name && strcmp(name, "exited") == 0) {
		*code = (int)json_integer_value(json_object_get(state,
								"exit_code"));
		exited = 1;
	}
	json_decref(state);
	return exited;
}

static void signal_tree(struct hoist_sim_kill *kill, int sig,
			int include_shim)
{
	struct hoist_err err = HOIST_ERR_INIT;
	size_t count = 0;

	if (hoist_local_proc_signal_members(kill->shim_pid, kill->shim_start,
					    sig, include_shim, &count,
					    &err) != 0)
		hoist_log_error("instance %lld cannot send SIG%s: %s",
				(long long)kill->instance_id,
				sigabbrev_np(sig), err.msg);
	else if (count > 0)
		hoist_log_debug("instance %lld sent SIG%s to %zu processes",
				(long long)kill->instance_id,
				sigabbrev_np(sig), count);
}

static size_t scan_session(const struct hoist_sim_kill *kill, int sig);

/* Deletes the env file, which contains secrets such as hoist's attempt
 * token.  The shim read it at its start, and a start writes it again. */
static void remove_env(const struct hoist_sim_instance *inst)
{
	char path[PATH_MAX];

	if (hoist_local_dir_path(path, sizeof(path), inst->dir,
				 HOIST_LOCAL_ENV, NULL) == 0 &&
	    unlink(path) != 0 && errno != ENOENT)
		hoist_log_error("instance %lld cannot remove '%s': %s",
				(long long)inst->id, path, strerror(errno));
}

void hoist_sim_proc_kill(struct hoist_sim *sim,
			 struct hoist_sim_instance *inst)
{
	struct hoist_sim_kill *kill;
	double mono = hoist_sim_mono();

	if (inst->shim_pid == 0)
		return;
	kill = calloc(1, sizeof(*kill));
	if (!kill) {
		/* Without memory for the grace period, kill at once. */
		struct hoist_sim_kill now = {
			.instance_id = inst->id,
			.shim_pid = inst->shim_pid,
			.shim_start = inst->shim_start,
		};

		signal_tree(&now, SIGKILL, 1);
		inst->shim_pid = 0;
		remove_env(inst);
		return;
	}
	kill->instance_id = inst->id;
	kill->shim_pid = inst->shim_pid;
	kill->shim_start = inst->shim_start;
	kill->term_at = mono;
	kill->kill_at = mono + sim->opt.kill_grace;
	kill->next = sim->kills;
	sim->kills = kill;
	inst->shim_pid = 0;
	signal_tree(kill, SIGTERM, 0);
	scan_session(kill, SIGTERM);
	remove_env(inst);
}

/*
 * Sends sig (when not 0) to every live process whose session id is the
 * shim's pid, and returns how many there are, the shim left out.  The
 * kernel keeps a pid in use while a process has it as session id, so
 * this finds the session's processes even after the shim is gone.
 */
static size_t scan_session(const struct hoist_sim_kill *kill, int sig)
{
	DIR *dir = opendir("/proc");
	struct dirent *entry;
	size_t count = 0;

	if (!dir)
		return 0;
	while ((entry = readdir(dir)) != NULL) {
		struct hoist_local_proc proc;
		char *end;
		long pid = strtol(entry->d_name, &end, 10);

		if (*end != '\0' || pid <= 0 || pid == kill->shim_pid ||
		    pid == getpid() ||
		    hoist_local_proc_read((pid_t)pid, &proc, NULL) != 0 ||
		    proc.session != kill->shim_pid || proc.state == 'Z' ||
		    proc.state == 'X')
			continue;
		count++;
		if (sig)
			hoist_local_proc_signal(proc.pid, proc.start_time, sig,
						NULL);
	}
	closedir(dir);
	return count;
}

/* Returns the number of processes of the instance still alive: the
 * members that the shim can name, or its session's processes, whichever
 * is more. */
static size_t count_left(const struct hoist_sim_kill *kill)
{
	struct hoist_err err = HOIST_ERR_INIT;
	size_t session = scan_session(kill, 0);
	pid_t *pids = NULL;
	size_t count = 0;

	if (hoist_local_proc_members(kill->shim_pid, kill->shim_start, &pids,
				     &count, &err) != 0) {
		hoist_log_error("instance %lld cannot list its processes: %s",
				(long long)kill->instance_id, err.msg);
		return session > 0 ? session : 1;
	}
	free(pids);
	return count > session ? count : session;
}

/* Advances one kill; returns 1 when it is over. */
static int kill_step(struct hoist_sim_kill *kill, double mono)
{
	size_t left = count_left(kill);

	if (left == 0) {
		/* The shim has reaped its session: it goes last, and the kill
		 * is over once it is dead too. */
		if (!hoist_local_proc_alive(kill->shim_pid, kill->shim_start)) {
			hoist_log_info("instance %lld process tree ended "
				       "after %.1f s",
				       (long long)kill->instance_id,
				       mono - kill->term_at);
			return 1;
		}
		hoist_local_proc_signal(kill->shim_pid, kill->shim_start,
					SIGKILL, NULL);
		return 0;
	}
	if (mono < kill->kill_at)
		return 0;
	if (!kill->killed) {
		hoist_log_info("instance %lld: %zu processes left after the "
			       "grace period; sending SIGKILL",
			       (long long)kill->instance_id, left);
		signal_tree(kill, SIGKILL, 1);
		scan_session(kill, SIGKILL);
		kill->killed = 1;
		kill->kill_at = mono + KILL_WAIT_SECONDS;
		return 0;
	}
	hoist_log_error("instance %lld: %zu processes still run %.0f s after "
			"SIGKILL; giving up", (long long)kill->instance_id,
			left, KILL_WAIT_SECONDS);
	return 1;
}

void hoist_sim_proc_tick(struct hoist_sim *sim)
{
	struct hoist_sim_kill **link = &sim->kills;
	double mono = hoist_sim_mono();

	while (*link) {
		struct hoist_sim_kill *kill = *link;

		if (kill_step(kill, mono)) {
			*link = kill->next;
			free(kill);
		} else {
			link = &kill->next;
		}
	}
	hoist_sim_proc_reap();
}

void hoist_sim_proc_kill_all(struct hoist_sim *sim)
{
	double deadline = hoist_sim_mono() + sim->opt.kill_grace +
			  KILL_WAIT_SECONDS + 1;

	for (size_t i = 0; i < sim->nrecords; i++)
		hoist_sim_proc_kill(sim, sim->records[i]);
	while (sim->kills && hoist_sim_mono() < deadline) {
		hoist_sim_proc_tick(sim);
		if (sim->kills)
			usleep(20 * 1000);
	}
	while (sim->kills) {
		struct hoist_sim_kill *kill = sim->kills;

		sim->kills = kill->next;
		free(kill);
	}
	hoist_sim_proc_reap();
}

void hoist_sim_proc_reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}
