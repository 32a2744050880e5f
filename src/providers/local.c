/*
 * local.c - the local provider: instances are detached process trees on
 * this machine, each run by a hoist-instance-shim process (see shim.c) in
 * a folder under the provider's root (see local_dir.h for its files).
 *
 * The provider keeps no state in memory besides the offers and the
 * operations whose callback is due: everything else is in the instance
 * folders, so a restarted hoistd finds its instances again with list.
 *
 * Each operation does its work in the call, which takes a few ms (create
 * waits for the shim to report that the onstart script runs), and calls
 * back from a zero-timeout event, so a callback never runs inside the call.
 * destroy polls every DESTROY_POLL_MS until the killed processes are gone.
 */
#include "providers/provider.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/util.h"
#include "providers/local_dir.h"
#include "providers/local_offers.h"
#include "providers/local_proc.h"

/* How long create waits for the shim's "ok" line.  NOTE: create blocks
 * the event loop while it waits, a few ms normally but this long at most
 * when the shim hangs. */
#define SHIM_READY_TIMEOUT_MS 5000

/* The interval between checks while destroy waits. */
#define DESTROY_POLL_MS 10

/* How long destroy waits for killed processes to disappear. */
#define DESTROY_KILL_WAIT_MS 5000

/* An instance folder without shim.pid after this long is lost. */
#define SHIM_START_LIMIT_MS 60000

/* Request limits. */
#define ONSTART_MAX (1024 * 1024)
#define ENV_TOTAL_MAX (1024 * 1024)
#define ENV_VARS_MAX 4096

/* The maximum number of instances that one list returns. */
#define LIST_MAX 65536

enum op_kind {
	OP_CREATE,
	OP_LIST,
	OP_DESTROY,
};

enum destroy_stage {
	DESTROY_KILL,		/* SIGKILL until no process is left */
	DESTROY_REMOVE,		/* a child removes the work folder */
};

/* An operation whose callback is due.  A destroy also keeps its progress. */
struct local_op {
	struct local_op *prev;
	struct local_op *next;
	struct local_provider *provider;
	struct event *timer;
	enum op_kind kind;
	hoist_provider_instance_cb instance_cb;
	hoist_provider_list_cb list_cb;
	void *arg;
	struct hoist_err err;

	struct hoist_provider_instance instance;	/* create */
	struct hoist_provider_instance *instances;	/* list */
	size_t count;

	char dir[PATH_MAX];				/* destroy */
	int stage;
	pid_t shim_pid;					/* 0 when none */
	unsigned long long shim_start;
	int members_gone;	/* the last step found no member */
	int64_t deadline_ms;
	pid_t remover;
};

struct local_provider {
	struct hoist_provider base;	/* first: the ops get &base */
	char root[PATH_MAX];
	char offers_path[PATH_MAX];
	char shim_path[PATH_MAX];
	json_t *offers;
	struct local_op *pending;
	int closing;
};

static struct local_provider *local_of(struct hoist_provider *provider)
{
	return (struct local_provider *)provider;
}

/* ------------------------------------------------------------------ */
/* Operations and their callbacks                                      */
/* ------------------------------------------------------------------ */

static void op_fire(evutil_socket_t fd, short what, void *arg);

static struct local_op *op_new(struct local_provider *lp, enum op_kind kind,
			       void *arg, struct hoist_err *err)
{
	struct local_op *op = calloc(1, sizeof(*op));

	if (!op) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	op->timer = evtimer_new(lp->base.base, op_fire, op);
	if (!op->timer) {
		free(op);
		hoist_err_set(err, HOIST_E_NOMEM,
			      "cannot create a libevent timer");
		return NULL;
	}
	op->provider = lp;
	op->kind = kind;
	op->arg = arg;
	op->next = lp->pending;
	if (lp->pending)
		lp->pending->prev = op;
	lp->pending = op;
	return op;
}

static void op_schedule(struct local_op *op, int delay_ms)
{
	struct timeval tv = {
		.tv_sec = delay_ms / 1000,
		.tv_usec = (delay_ms % 1000) * 1000,
	};

	evtimer_add(op->timer, &tv);
}

/* Unlinks op, calls its callback once and frees it.  The callback may
 * start operations or close the provider. */
static void op_finish(struct local_op *op)
{
	struct local_provider *lp = op->provider;
	const struct hoist_err *err = op->err.code ? &op->err : NULL;

	if (op->prev)
		op->prev->next = op->next;
	else
		lp->pending = op->next;
	if (op->next)
		op->next->prev = op->prev;
	event_free(op->timer);

	if (op->kind == OP_LIST)
		op->list_cb(op->arg, err, err ? NULL : op->instances,
			    err ? 0 : op->count);
	else if (op->kind == OP_CREATE)
		op->instance_cb(op->arg, err, err ? NULL : &op->instance);
	else
		op->instance_cb(op->arg, err, NULL);
	free(op->instances);
	free(op);
}

static void destroy_step(struct local_op *op);

static void op_fire(evutil_socket_t fd, short what, void *arg)
{
	struct local_op *op = arg;

	(void)fd;
	(void)what;
	if (op->kind == OP_DESTROY && !op->err.code)
		destroy_step(op);
	else
		op_finish(op);
}

/* ------------------------------------------------------------------ */
/* Instance folders                                                    */
/* ------------------------------------------------------------------ */

static int instance_dir(const struct local_provider *lp, const char *id,
			char *out, size_t outlen, struct hoist_err *err)
{
	if (!hoist_local_dir_id_valid(id))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid local instance id '%s'; expected "
				     "'local-' and 8 hex characters",
				     id ? id : "(null)");
	return hoist_local_dir_path(out, outlen, lp->root, id, err);
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writes a file of a new instance folder.  No fsync: a crash during create
 * leaves a folder without shim.pid, which list reports as lost, so the
 * files need not survive one, and fsync would stall the event loop.
 */
static int write_new_file(const char *dir, const char *name,
			  const void *data, size_t len, unsigned mode,
			  struct hoist_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (hoist_local_dir_path(path, sizeof(path), dir, name, err) != 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  mode);
	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot create '%s': %s",
				     path, strerror(errno));
	/* open() applies the umask, but the modes of onstart.sh and env are
	 * part of the contract. */
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s", path,
			      strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot close '%s': %s",
				     path, strerror(errno));
	return 0;
}

static int write_marker(const char *dir, const char *name,
			struct hoist_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (hoist_local_dir_path(path, sizeof(path), dir, name, err) != 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot create '%s': %s",
				     path, strerror(errno));
	close(fd);
	return 0;
}

static int remove_file(const char *dir, const char *name,
		       struct hoist_err *err)
{
	char path[PATH_MAX];

	if (hoist_local_dir_path(path, sizeof(path), dir, name, err) != 0)
		return -1;
	if (unlink(path) != 0 && errno != ENOENT)
		return hoist_err_set(err, HOIST_E_IO, "cannot remove '%s': %s",
				     path, strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------ */
/* create                                                              */
/* ------------------------------------------------------------------ */

static int check_label(const char *label, struct hoist_err *err)
{
	size_t len;

	if (!label || !*label)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid request: the label is empty");
	len = strlen(label);
	if (len >= sizeof(((struct hoist_provider_instance *)0)->label))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid request: the label '%.40s...' "
				     "is longer than %zu bytes", label,
				     sizeof(((struct hoist_provider_instance *)
					     0)->label) - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid request: the label "
					     "contains a control character at "
					     "byte %zu", i);
	return 0;
}

static int valid_env_name(const char *var, size_t name_len)
{
	if (name_len == 0 || (var[0] >= '0' && var[0] <= '9'))
		return 0;
	for (size_t i = 0; i < name_len; i++) {
		char c = var[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* Serializes env as NUL-terminated strings into buf.  Messages name the
 * variable but never its value, which may be the attempt token. */
static int encode_env(const char *const *env, struct hoist_buf *buf,
		      struct hoist_err *err)
{
	size_t count = 0;

	for (; env && env[count]; count++) {
		const char *eq = strchr(env[count], '=');

		if (count == ENV_VARS_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid request: more than %d "
					     "env variables", ENV_VARS_MAX);
		if (!eq || !valid_env_name(env[count],
					   (size_t)(eq - env[count])))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid request: env entry %zu "
					     "is not NAME=value with a name of "
					     "letters, digits and '_'",
					     count + 1);
		if (hoist_buf_append(buf, env[count], strlen(env[count]) + 1,
				     err) != 0) {
			hoist_err_clear(err);
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid request: the env is "
					     "larger than %d bytes",
					     ENV_TOTAL_MAX);
		}
	}
	return 0;
}

static int check_request(const struct hoist_instance_request *req,
			 struct hoist_err *err)
{
	if (!req)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid request: NULL");
	if (check_label(req->label, err) != 0)
		return -1;
	if (!req->onstart)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid request: the onstart script "
				     "is missing");
	if (strlen(req->onstart) > ONSTART_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid request: the onstart script is "
				     "larger than %d bytes", ONSTART_MAX);
	return 0;
}

/* Writes every file of a new instance folder but shim.pid. */
static int write_instance_files(const char *dir,
				const struct hoist_instance_request *req,
				const json_t *offer, int64_t created_at_ms,
				const struct hoist_buf *env,
				struct hoist_err *err)
{
	const char *starting = "{\"state\":\"starting\"}";
	char work[PATH_MAX];
	json_t *record;
	char *text;
	int rc;

	record = json_pack("{s:O, s:O, s:O, s:O, s:O, s:I, s:s?, s:i, s:s?}",
			   "name", json_object_get(offer, "name"),
			   "gpu_name", json_object_get(offer, "gpu_name"),
			   "num_gpus", json_object_get(offer, "num_gpus"),
			   "price_per_hour",
			   json_object_get(offer, "price_per_hour"),
			   "reliability", json_object_get(offer, "reliability"),
			   "created_at_ms", (json_int_t)created_at_ms,
			   "job_id", req->job_id, "attempt", req->attempt,
			   "image", req->image);
	text = record ? json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS) :
			NULL;
	json_decref(record);
	if (!text)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot encode offer.json");
	rc = write_new_file(dir, HOIST_LOCAL_OFFER, text, strlen(text), 0600,
			    err);
	free(text);
	if (rc != 0 ||
	    write_new_file(dir, HOIST_LOCAL_LABEL, req->label,
			   strlen(req->label), 0600, err) != 0 ||
	    write_new_file(dir, HOIST_LOCAL_ONSTART, req->onstart,
			   strlen(req->onstart), 0700, err) != 0 ||
	    write_new_file(dir, HOIST_LOCAL_ENV, hoist_buf_str(env), env->len,
			   0600, err) != 0 ||
	    write_new_file(dir, HOIST_LOCAL_STATE, starting, strlen(starting),
			   0600, err) != 0 ||
	    hoist_local_dir_path(work, sizeof(work), dir, HOIST_LOCAL_WORK,
				 err) != 0)
		return -1;
	if (mkdir(work, 0700) != 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot create '%s': %s", work,
				     strerror(errno));
	return 0;
}

/* Reads the shim's line from fd: "ok" or "error: <message>". */
static int read_ready_line(int fd, const char *dir, char *line,
			   size_t linelen, struct hoist_err *err)
{
	int64_t deadline = hoist_clock_mono_ms() + SHIM_READY_TIMEOUT_MS;
	size_t used = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - hoist_clock_mono_ms();
		ssize_t n;
		int ready;

		if (left <= 0)
			return hoist_err_set(err, HOIST_E_PROVIDER,
					     "the instance shim did not start "
					     "within %d ms; see '%s/%s'",
					     SHIM_READY_TIMEOUT_MS, dir,
					     HOIST_LOCAL_LOG);
		ready = poll(&pfd, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot poll the shim pipe: %s",
					     strerror(errno));
		if (ready == 0)
			continue;
		n = read(fd, line + used, linelen - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot read the shim pipe: %s",
					     strerror(errno));
		used += (size_t)n;
		line[used] = '\0';
		if (n == 0 || strchr(line, '\n') || used == linelen - 1)
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

/* Starts the shim for dir and waits until the onstart script runs. */
static int spawn_shim(const struct local_provider *lp, const char *dir,
		      struct hoist_err *err)
{
	char line[HOIST_ERR_MSG_MAX];
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
			(char *)lp->shim_path, "--ready-fd", fd_arg,
			(char *)dir, NULL,
		};

		/* Only async-signal-safe calls between fork and exec. */
		if (fcntl(fds[1], F_SETFD, 0) == 0)
			execv(lp->shim_path, argv);
		if (write(fds[1], msg, sizeof(msg) - 1) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	rc = read_ready_line(fds[0], dir, line, sizeof(line), err);
	close(fds[0]);

	/* The first shim process exits as soon as it has forked. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* Kills whatever a failed create started and removes its folder. */
static void discard_instance(const char *dir)
{
	unsigned long long start;
	pid_t shim;

	if (hoist_local_dir_read_shim(dir, &shim, &start, NULL) == 0)
		hoist_local_proc_signal_members(shim, start, SIGKILL, 1, NULL,
						NULL);
	hoist_util_remove_tree(dir, NULL);
}

/* Creates a folder named after a fresh random id under the root. */
static int make_instance_dir(const struct local_provider *lp, char *id,
			     size_t idlen, char *dir, size_t dirlen,
			     struct hoist_err *err)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		char hex[2 * HOIST_LOCAL_ID_HEX_BYTES + 1];

		if (hoist_util_random_hex(hex, HOIST_LOCAL_ID_HEX_BYTES,
					  err) != 0)
			return -1;
		snprintf(id, idlen, "%s%s", HOIST_LOCAL_ID_PREFIX, hex);
		if (hoist_local_dir_path(dir, dirlen, lp->root, id, err) != 0)
			return -1;
		if (mkdir(dir, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot create '%s': %s", dir,
					     strerror(errno));
	}
	return hoist_err_set(err, HOIST_E_INTERNAL,
			     "cannot find a free instance id in '%s'",
			     lp->root);
}

static const char *string_of(const json_t *obj, const char *key)
{
	const char *value = json_string_value(json_object_get(obj, key));

	return value ? value : "";
}

static void fill_from_offer(struct hoist_provider_instance *inst,
			    const json_t *offer)
{
	snprintf(inst->offer, sizeof(inst->offer), "%s",
		 string_of(offer, "name"));
	snprintf(inst->gpu_name, sizeof(inst->gpu_name), "%s",
		 string_of(offer, "gpu_name"));
	inst->num_gpus = (int)json_integer_value(json_object_get(offer,
								 "num_gpus"));
	inst->price_per_hour = json_number_value(
		json_object_get(offer, "price_per_hour"));
}

static int create_instance(struct local_provider *lp,
			   const struct hoist_instance_request *req,
			   const json_t *offer, const struct hoist_buf *env,
			   struct hoist_provider_instance *inst,
			   struct hoist_err *err)
{
	int64_t now = hoist_clock_now_ms();
	char dir[PATH_MAX];

	if (make_instance_dir(lp, inst->id, sizeof(inst->id), dir,
			      sizeof(dir), err) != 0)
		return -1;
	if (write_instance_files(dir, req, offer, now, env, err) != 0 ||
	    spawn_shim(lp, dir, err) != 0) {
		hoist_err_prefix(err, "creating instance %s", inst->id);
		discard_instance(dir);
		return -1;
	}
	snprintf(inst->label, sizeof(inst->label), "%s", req->label);
	inst->state = HOIST_PINST_RUNNING;
	snprintf(inst->status, sizeof(inst->status), "running");
	fill_from_offer(inst, offer);
	inst->created_at_ms = now;
	return 0;
}

static int local_create(struct hoist_provider *provider,
			const struct hoist_instance_request *req,
			hoist_provider_instance_cb cb, void *arg,
			struct hoist_err *err)
{
	struct local_provider *lp = local_of(provider);
	struct hoist_local_offer_filter filter;
	const json_t *offer = NULL;
	struct hoist_buf env;
	struct local_op *op;
	int rc = -1;

	hoist_buf_init(&env, ENV_TOTAL_MAX);
	if (lp->closing) {
		hoist_err_set(err, HOIST_E_CONFLICT,
			      "the local provider is closing");
		goto out;
	}
	if (check_request(req, err) != 0 ||
	    hoist_local_offers_parse_profile(req->profile, &filter,
					     err) != 0 ||
	    encode_env(req->env, &env, err) != 0)
		goto out;
	op = op_new(lp, OP_CREATE, arg, err);
	if (!op)
		goto out;
	op->instance_cb = cb;
	if (hoist_local_offers_select(lp->offers, &filter, &offer,
				      &op->err) != 0)
		hoist_err_prefix(&op->err, "offers file '%s'",
				 lp->offers_path);
	else
		create_instance(lp, req, offer, &env, &op->instance, &op->err);
	op_schedule(op, 0);
	rc = 0;
out:
	hoist_buf_release(&env);
	return rc;
}

/* ------------------------------------------------------------------ */
/* list                                                                */
/* ------------------------------------------------------------------ */

static void set_status(struct hoist_provider_instance *inst, int state,
		       const char *fmt, ...) HOIST_PRINTF(3, 4);

static void set_status(struct hoist_provider_instance *inst, int state,
		       const char *fmt, ...)
{
	va_list ap;

	inst->state = state;
	va_start(ap, fmt);
	vsnprintf(inst->status, sizeof(inst->status), fmt, ap);
	va_end(ap);
}

static void describe_exit(const json_t *state, char *out, size_t outlen)
{
	json_int_t code = json_integer_value(json_object_get(state,
							     "exit_code"));
	json_int_t sig = json_integer_value(json_object_get(state, "signal"));

	if (sig)
		snprintf(out, outlen, "exited: killed by signal %lld",
			 (long long)sig);
	else
		snprintf(out, outlen, "exited with code %lld",
			 (long long)code);
}

/* Sets the state of inst from its folder's state.json, shim and faults. */
static void describe_state(const char *dir,
			   struct hoist_provider_instance *inst)
{
	struct hoist_err err = HOIST_ERR_INIT;
	unsigned long long start;
	json_t *state = NULL;
	const char *name;
	char exit_text[64];
	pid_t shim;

	if (hoist_local_dir_has(dir, HOIST_LOCAL_FAULT_UNREACHABLE)) {
		set_status(inst, HOIST_PINST_LOST, "unreachable");
		return;
	}
	if (hoist_local_dir_read_shim(dir, &shim, &start, &err) != 0) {
		if (err.code == HOIST_E_NOT_FOUND &&
		    hoist_clock_now_ms() - inst->created_at_ms <
		    SHIM_START_LIMIT_MS)
			set_status(inst, HOIST_PINST_STARTING, "starting");
		else if (err.code == HOIST_E_NOT_FOUND)
			set_status(inst, HOIST_PINST_LOST,
				   "lost: the instance shim never started");
		else
			set_status(inst, HOIST_PINST_LOST, "lost: %s",
				   err.msg);
		return;
	}
	if (hoist_local_dir_read_json(dir, HOIST_LOCAL_STATE, &state,
				      &err) != 0) {
		set_status(inst, HOIST_PINST_LOST, "lost: %s", err.msg);
		return;
	}
	name = json_string_value(json_object_get(state, "state"));
	if (!name)
		name = "";
	describe_exit(state, exit_text, sizeof(exit_text));

	if (strcmp(name, "preempted") == 0)
		set_status(inst, HOIST_PINST_LOST, "preempted");
	else if (strcmp(name, "exited") == 0)
		set_status(inst, HOIST_PINST_EXITED, "%s", exit_text);
	else if (!hoist_local_proc_alive(shim, start))
		set_status(inst, HOIST_PINST_LOST,
			   "lost: the instance shim (pid %d) is not running",
			   (int)shim);
	else if (strcmp(name, "running") == 0)
		set_status(inst, HOIST_PINST_RUNNING, "running");
	else if (strcmp(name, "preempting") == 0)
		set_status(inst, HOIST_PINST_RUNNING, "preempting");
	else if (strcmp(name, "starting") == 0)
		set_status(inst, HOIST_PINST_STARTING, "starting");
	else
		set_status(inst, HOIST_PINST_LOST,
			   "lost: unknown state '%.40s' in %s", name,
			   HOIST_LOCAL_STATE);
	json_decref(state);
}

/* Fills inst from the folder of instance id.  The label is already set. */
static void describe_instance(const char *dir, const char *id,
			      struct hoist_provider_instance *inst)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *offer = NULL;
	size_t id_len = strnlen(id, sizeof(inst->id) - 1);

	memcpy(inst->id, id, id_len);
	inst->id[id_len] = '\0';
	if (hoist_local_dir_read_json(dir, HOIST_LOCAL_OFFER, &offer,
				      &err) != 0) {
		set_status(inst, HOIST_PINST_LOST, "lost: %s", err.msg);
		return;
	}
	fill_from_offer(inst, offer);
	inst->created_at_ms = json_integer_value(json_object_get(
		offer, "created_at_ms"));
	json_decref(offer);
	describe_state(dir, inst);
}

static int grow_list(struct local_op *op, size_t *cap, struct hoist_err *err)
{
	struct hoist_provider_instance *grown;
	size_t next = *cap ? *cap * 2 : 16;

	if (op->count < *cap)
		return 0;
	if (next > LIST_MAX)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "more than %d local instances", LIST_MAX);
	grown = realloc(op->instances, next * sizeof(*grown));
	if (!grown)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	op->instances = grown;
	*cap = next;
	return 0;
}

static int scan_instances(const struct local_provider *lp,
			  const char *prefix, struct local_op *op,
			  struct hoist_err *err)
{
	size_t prefix_len = prefix ? strlen(prefix) : 0;
	struct dirent *entry;
	size_t cap = 0;
	DIR *root;
	int rc = -1;

	root = opendir(lp->root);
	if (!root)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot open instance root '%s': %s",
				     lp->root, strerror(errno));
	while ((entry = readdir(root)) != NULL) {
		struct hoist_provider_instance *inst;
		char label[sizeof(inst->label)];
		char dir[PATH_MAX];

		if (!hoist_local_dir_id_valid(entry->d_name) ||
		    hoist_local_dir_path(dir, sizeof(dir), lp->root,
					 entry->d_name, NULL) != 0 ||
		    hoist_local_dir_has(dir, HOIST_LOCAL_DESTROYED))
			continue;
		/* A folder without a label is left by a create that crashed
		 * before it wrote one, so it has nothing to kill. */
		if (hoist_local_dir_read_text(dir, HOIST_LOCAL_LABEL, label,
					      sizeof(label), NULL) != 0 ||
		    strncmp(label, prefix ? prefix : "", prefix_len) != 0)
			continue;
		if (grow_list(op, &cap, err) != 0)
			goto out;
		inst = &op->instances[op->count++];
		memset(inst, 0, sizeof(*inst));
		snprintf(inst->label, sizeof(inst->label), "%s", label);
		describe_instance(dir, entry->d_name, inst);
	}
	rc = 0;
out:
	closedir(root);
	return rc;
}

static int local_list(struct hoist_provider *provider,
		      const char *label_prefix, hoist_provider_list_cb cb,
		      void *arg, struct hoist_err *err)
{
	struct local_provider *lp = local_of(provider);
	struct local_op *op;

	if (lp->closing)
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "the local provider is closing");
	op = op_new(lp, OP_LIST, arg, err);
	if (!op)
		return -1;
	op->list_cb = cb;
	scan_instances(lp, label_prefix, op, &op->err);
	op_schedule(op, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* destroy                                                             */
/* ------------------------------------------------------------------ */

/*
 * Starts a child that removes the work folder, which may be large.  The
 * folder is renamed first, so the instance looks clean even if the child
 * dies.  The next destroy of the instance removes what it left.
 */
static void start_removal(struct local_op *op)
{
	char work[PATH_MAX];
	char trash[PATH_MAX];
	struct stat st;
	pid_t pid;

	if (hoist_local_dir_path(work, sizeof(work), op->dir,
				 HOIST_LOCAL_WORK, NULL) != 0 ||
	    hoist_local_dir_path(trash, sizeof(trash), op->dir,
				 HOIST_LOCAL_WORK ".removing", NULL) != 0)
		return;
	if (rename(work, trash) != 0 && errno != ENOENT)
		return;
	if (lstat(trash, &st) != 0)
		return;
	pid = fork();
	if (pid == 0)
		_exit(hoist_util_remove_tree(trash, NULL) == 0 ? 0 : 1);
	op->remover = pid > 0 ? pid : 0;
}

static int removal_done(struct local_op *op)
{
	pid_t pid;

	if (op->remover <= 0)
		return 1;
	do {
		pid = waitpid(op->remover, NULL, WNOHANG);
	} while (pid < 0 && errno == EINTR);
	/* ECHILD: hoistd reaped it through its own SIGCHLD handler. */
	return pid != 0;
}

/* Writes the destroyed marker and removes the env file (it contains the
 * token) and the work folder.  instance.log stays for debugging. */
static int finish_kill(struct local_op *op, struct hoist_err *err)
{
	char path[PATH_MAX];
	char text[32];
	int n;

	if (hoist_local_dir_path(path, sizeof(path), op->dir,
				 HOIST_LOCAL_DESTROYED, err) != 0)
		return -1;
	n = snprintf(text, sizeof(text), "%lld\n",
		     (long long)hoist_clock_now_ms());
	if (hoist_util_write_file_atomic(path, text, (size_t)n, 0600,
					 err) != 0 ||
	    remove_file(op->dir, HOIST_LOCAL_ENV, err) != 0)
		return -1;
	start_removal(op);
	op->stage = DESTROY_REMOVE;
	return 0;
}

static size_t count_members(const struct local_op *op, struct hoist_err *err)
{
	pid_t *pids = NULL;
	size_t count = 0;

	if (hoist_local_proc_members(op->shim_pid, op->shim_start, &pids,
				     &count, err) != 0)
		return 1;
	free(pids);
	return count;
}

/*
 * Kills the processes of the instance: its members first and the shim one
 * step after they are gone, so that the shim, a subreaper, has reaped
 * them.  Otherwise init would inherit them as zombies.  Each step scans
 * again, which also catches processes forked while the previous SIGKILLs
 * were delivered.  Returns 1 when nothing is left, 0 when the next step
 * must check again, -1 with op->err set on failure.
 */
static int kill_step(struct local_op *op)
{
	size_t left;

	if (op->shim_pid <= 0)
		return 1;
	if (hoist_local_proc_signal_members(op->shim_pid, op->shim_start,
					    SIGKILL, 0, NULL, &op->err) != 0)
		return -1;
	left = count_members(op, &op->err);
	if (op->err.code)
		return -1;
	if (left > 0) {
		op->members_gone = 0;
		return 0;
	}
	if (!hoist_local_proc_alive(op->shim_pid, op->shim_start))
		return 1;
	if (op->members_gone &&
	    hoist_local_proc_signal(op->shim_pid, op->shim_start, SIGKILL,
				    &op->err) < 0)
		return -1;
	op->members_gone = 1;
	return 0;
}

static void destroy_step(struct local_op *op)
{
	int done;

	if (op->stage == DESTROY_REMOVE) {
		if (removal_done(op))
			op_finish(op);
		else
			op_schedule(op, DESTROY_POLL_MS);
		return;
	}
	done = kill_step(op);
	if (done == 0 && hoist_clock_mono_ms() < op->deadline_ms) {
		op_schedule(op, DESTROY_POLL_MS);
		return;
	}
	if (done == 0)
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "processes of instance %s still run %d ms after "
			      "SIGKILL", strrchr(op->dir, '/') + 1,
			      DESTROY_KILL_WAIT_MS);
	if (done == 1 && finish_kill(op, &op->err) == 0) {
		op_schedule(op, 0);
		return;
	}
	op_finish(op);
}

static void prepare_destroy(struct local_op *op, const char *id)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_local_dir_has(op->dir, HOIST_LOCAL_DESTROYED)) {
		op->stage = DESTROY_REMOVE;
		start_removal(op);
		return;
	}
	if (hoist_local_dir_has(op->dir, HOIST_LOCAL_FAULT_BLOCK_DESTROY)) {
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "instance %s cannot be reached (fault injected)",
			      id);
		return;
	}
	if (hoist_local_dir_read_shim(op->dir, &op->shim_pid, &op->shim_start,
				      &err) != 0) {
		op->shim_pid = 0;
		if (err.code != HOIST_E_NOT_FOUND)
			hoist_err_set(&op->err, err.code, "%s", err.msg);
	}
	op->deadline_ms = hoist_clock_mono_ms() + DESTROY_KILL_WAIT_MS;
}

static int local_destroy(struct hoist_provider *provider, const char *id,
			 hoist_provider_instance_cb cb, void *arg,
			 struct hoist_err *err)
{
	struct local_provider *lp = local_of(provider);
	char dir[PATH_MAX];
	struct stat st;
	struct local_op *op;

	if (lp->closing)
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "the local provider is closing");
	if (instance_dir(lp, id, dir, sizeof(dir), err) != 0)
		return -1;
	op = op_new(lp, OP_DESTROY, arg, err);
	if (!op)
		return -1;
	op->instance_cb = cb;
	snprintf(op->dir, sizeof(op->dir), "%s", dir);
	if (lstat(dir, &st) != 0)
		op->stage = DESTROY_REMOVE;	/* unknown: already gone */
	else
		prepare_destroy(op, id);
	op_schedule(op, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* preempt and fault                                                   */
/* ------------------------------------------------------------------ */

/* Fills dir for instance id, which must exist and not be destroyed. */
static int existing_instance(const struct local_provider *lp, const char *id,
			     char *dir, size_t dirlen, struct hoist_err *err)
{
	struct stat st;

	if (lp->closing)
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "the local provider is closing");
	if (instance_dir(lp, id, dir, dirlen, err) != 0)
		return -1;
	if (lstat(dir, &st) != 0)
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "no local instance %s in '%s'", id,
				     lp->root);
	if (hoist_local_dir_has(dir, HOIST_LOCAL_DESTROYED))
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "local instance %s was destroyed", id);
	return 0;
}

static int local_preempt(struct hoist_provider *provider, const char *id,
			 int grace_seconds, struct hoist_err *err)
{
	struct local_provider *lp = local_of(provider);
	unsigned long long start;
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char text[16];
	json_t *state = NULL;
	const char *name;
	pid_t shim;
	int rc = -1;
	int n;

	if (existing_instance(lp, id, dir, sizeof(dir), err) != 0)
		return -1;
	if (grace_seconds < 0 || grace_seconds > HOIST_LOCAL_GRACE_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid grace period %d s; expected 0 "
				     "to %d", grace_seconds,
				     HOIST_LOCAL_GRACE_MAX);
	if (hoist_local_dir_read_shim(dir, &shim, &start, err) != 0 ||
	    hoist_local_dir_read_json(dir, HOIST_LOCAL_STATE, &state,
				      err) != 0)
		goto out;
	name = json_string_value(json_object_get(state, "state"));
	if (!hoist_local_proc_alive(shim, start)) {
		hoist_err_set(err, HOIST_E_CONFLICT,
			      "instance %s is not running: its shim (pid %d) "
			      "is gone", id, (int)shim);
		goto out;
	}
	if (name && (strcmp(name, "preempting") == 0 ||
		     strcmp(name, "preempted") == 0)) {
		hoist_err_set(err, HOIST_E_CONFLICT,
			      "instance %s is already %s", id, name);
		goto out;
	}
	n = snprintf(text, sizeof(text), "%d\n", grace_seconds);
	if (hoist_local_dir_path(path, sizeof(path), dir,
				 HOIST_LOCAL_PREEMPT_REQUEST, err) != 0 ||
	    hoist_util_write_file_atomic(path, text, (size_t)n, 0600,
					 err) != 0)
		goto out;
	/* The shim does the SIGTERM, the wait and the SIGKILL, so that
	 * hoistd's loop never waits for the grace period. */
	n = hoist_local_proc_signal(shim, start, SIGUSR1, err);
	if (n < 0)
		goto out;
	if (n == 0) {
		hoist_err_set(err, HOIST_E_CONFLICT,
			      "instance %s is not running: its shim (pid %d) "
			      "exited", id, (int)shim);
		goto out;
	}
	rc = 0;
out:
	json_decref(state);
	return rc;
}

/* Sends sig to every process of the instance in dir, the shim included. */
static int signal_instance(const char *dir, int sig, struct hoist_err *err)
{
	struct hoist_err read_err = HOIST_ERR_INIT;
	unsigned long long start;
	pid_t shim;

	if (hoist_local_dir_read_shim(dir, &shim, &start, &read_err) != 0) {
		if (read_err.code == HOIST_E_NOT_FOUND)
			return 0;	/* no shim ever ran: nothing to signal */
		return hoist_err_set(err, read_err.code, "%s", read_err.msg);
	}
	return hoist_local_proc_signal_members(shim, start, sig, 1, NULL, err);
}

static int local_fault(struct hoist_provider *provider, const char *id,
		       const char *fault, struct hoist_err *err)
{
	struct local_provider *lp = local_of(provider);
	char dir[PATH_MAX];

	if (existing_instance(lp, id, dir, sizeof(dir), err) != 0)
		return -1;
	if (!fault)
		fault = "";
	/* The marker comes first on freeze and last on thaw, so that list
	 * never reports stopped processes as running. */
	if (strcmp(fault, "freeze") == 0) {
		if (write_marker(dir, HOIST_LOCAL_FAULT_UNREACHABLE, err) != 0)
			return -1;
		return signal_instance(dir, SIGSTOP, err);
	}
	if (strcmp(fault, "thaw") == 0) {
		if (signal_instance(dir, SIGCONT, err) != 0)
			return -1;
		return remove_file(dir, HOIST_LOCAL_FAULT_UNREACHABLE, err);
	}
	if (strcmp(fault, "block_destroy") == 0)
		return write_marker(dir, HOIST_LOCAL_FAULT_BLOCK_DESTROY, err);
	if (strcmp(fault, "allow_destroy") == 0)
		return remove_file(dir, HOIST_LOCAL_FAULT_BLOCK_DESTROY, err);
	return hoist_err_set(err, HOIST_E_INVALID,
			     "unknown fault '%s'; expected freeze, thaw, "
			     "block_destroy or allow_destroy", fault);
}

/* ------------------------------------------------------------------ */
/* open and close                                                      */
/* ------------------------------------------------------------------ */

/*
 * Closing calls every due callback: create and list with their result,
 * destroy with its result once its processes are dead, or else with an
 * error.  Instances keep running because they are not part of the object.
 */
static void local_close(struct hoist_provider *provider)
{
	struct local_provider *lp = local_of(provider);

	lp->closing = 1;
	while (lp->pending) {
		struct local_op *op = lp->pending;

		if (op->kind == OP_DESTROY && op->stage == DESTROY_KILL)
			hoist_err_set(&op->err, HOIST_E_PROVIDER,
				      "the local provider was closed before "
				      "the instance was destroyed");
		op_finish(op);
	}
	json_decref(lp->offers);
	free(lp);
}

static const struct hoist_provider_ops local_ops = {
	.name = "local",
	.create = local_create,
	.list = local_list,
	.destroy = local_destroy,
	.preempt = local_preempt,
	.fault = local_fault,
	.close = local_close,
};

static int is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

static int find_shim(char *out, size_t outlen, struct hoist_err *err)
{
	struct hoist_err first = HOIST_ERR_INIT;
	char self[PATH_MAX];
	int n;

	if (hoist_util_find_program(HOIST_LOCAL_SHIM_PROGRAM, out, outlen,
				    &first) == 0)
		return 0;
	/* hoist_util_find_program() does not look in the providers folder
	 * of a Meson build tree, where the shim is built. */
	if (hoist_util_self_dir(self, sizeof(self), NULL) == 0) {
		n = snprintf(out, outlen, "%s/../providers/%s", self,
			     HOIST_LOCAL_SHIM_PROGRAM);
		if (n > 0 && (size_t)n < outlen && is_executable(out))
			return 0;
	}
	return hoist_err_set(err, first.code, "%s", first.msg);
}

static int check_open_args(struct event_base *base, const char *root,
			   const char *offers_path, struct hoist_err *err)
{
	if (!base)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the local provider needs an event base");
	if (!root || !*root)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the local provider needs an instance "
				     "root folder");
	if (!offers_path || !*offers_path)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the local provider needs an offers "
				     "file; see config/local_offers.yaml");
	return 0;
}

int hoist_provider_local_open(struct event_base *base, const char *root,
			      const char *offers_path,
			      struct hoist_provider **out,
			      struct hoist_err *err)
{
	struct local_provider *lp;
	char *real = NULL;
	int rc = -1;

	if (check_open_args(base, root, offers_path, err) != 0)
		return -1;
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	lp->base.ops = &local_ops;
	lp->base.base = base;

	if (hoist_util_mkdir_p(root, 0700, err) != 0)
		goto out;
	/* The shim and its children use the root from any folder. */
	real = realpath(root, NULL);
	if (!real || strlen(real) >= sizeof(lp->root) ||
	    strlen(offers_path) >= sizeof(lp->offers_path)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "cannot resolve the instance root '%s': %s",
			      root, real ? "path too long" : strerror(errno));
		goto out;
	}
	snprintf(lp->root, sizeof(lp->root), "%s", real);
	snprintf(lp->offers_path, sizeof(lp->offers_path), "%s", offers_path);
	if (hoist_local_offers_load(offers_path, &lp->offers, err) != 0 ||
	    find_shim(lp->shim_path, sizeof(lp->shim_path), err) != 0)
		goto out;
	*out = &lp->base;
	lp = NULL;
	rc = 0;
out:
	free(real);
	if (lp) {
		json_decref(lp->offers);
		free(lp);
	}
	return rc;
}
