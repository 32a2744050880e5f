/*
 * api.c - the HTTP JSON API of hoistd (docs/protocol.md).
 *
 * One route table maps method and path to a handler and to the credential
 * it requires: none (health), the admin token (the CLI) or an attempt token
 * (an agent).  Handlers run on the event loop and reply at once, except the
 * offer search, which replies from the provider's callback.
 */
#include "orchestrator/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "storage/checkpoint.h"

#define API_BODY_MAX (4u << 20)
#define API_LOG_CHUNK_MAX (256u << 10)

enum api_auth {
	AUTH_NONE,
	AUTH_ADMIN,
	AUTH_AGENT,
};

struct api_call {
	struct hoist_daemon *daemon;
	struct evhttp_request *req;
	const char *id;			/* the {id} path segment, if any */
	json_t *body;			/* parsed request body, or NULL */
	struct hoist_live_job *live;	/* the agent's job (AUTH_AGENT) */
};

typedef void (*api_handler)(struct api_call *call);

struct api_route {
	enum evhttp_cmd_type method;
	const char *pattern;		/* "*" matches one path segment */
	enum api_auth auth;
	api_handler handler;
};

static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	if (out && text) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
	}
	evhttp_send_reply(req, status, NULL, out);
	if (out)
		evbuffer_free(out);
	free(text);
	json_decref(body);
}

static void reply_error(struct evhttp_request *req, int status,
			const char *code, const char *fmt, ...)
	HOIST_PRINTF(4, 5);

static void reply_error(struct evhttp_request *req, int status,
			const char *code, const char *fmt, ...)
{
	char msg[HOIST_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(req, status, json_pack("{s:s, s:s}", "error", msg,
					  "code", code));
}

static void reply_err(struct evhttp_request *req, const struct hoist_err *err)
{
	int status = 500;
	const char *code = "internal";

	switch (err->code) {
	case HOIST_E_INVALID: status = 400; code = "invalid"; break;
	case HOIST_E_NOT_FOUND: status = 404; code = "not_found"; break;
	case HOIST_E_CONFLICT: status = 409; code = "conflict"; break;
	case HOIST_E_FENCED: status = 410; code = "fenced"; break;
	default: break;
	}
	if (status == 500)
		hoist_log_error("request failed: %s", err->msg);
	reply_error(req, status, code, "%s", err->msg);
}

static const char *bearer_token(struct evhttp_request *req)
{
	const char *auth = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Authorization");

	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	return auth + 7;
}

static int read_body(struct evhttp_request *req, json_t **out,
		     struct hoist_err *err)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;
	unsigned char *data;

	*out = NULL;
	if (len == 0)
		return 0;
	if (len > API_BODY_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "request body of %zu bytes exceeds the "
				     "limit of %u bytes", len, API_BODY_MAX);
	data = evbuffer_pullup(in, (ssize_t)len);
	*out = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!*out)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "request body is not valid JSON: %s "
				     "(line %d, column %d)", jerr.text,
				     jerr.line, jerr.column);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return hoist_err_set(err, HOIST_E_INVALID,
				     "request body must be a JSON object");
	}
	return 0;
}

static const char *query_param(struct evhttp_request *req, const char *name,
			       struct evkeyvalq *params)
{
	const char *query = evhttp_uri_get_query(
		evhttp_request_get_evhttp_uri(req));

	if (!query)
		return NULL;
	if (!params->tqh_first && evhttp_parse_query_str(query, params) != 0)
		return NULL;
	return evhttp_find_header(params, name);
}

/* Handlers for the CLI. */

static void handle_health(struct api_call *call)
{
	reply_json(call->req, 200, json_pack("{s:b, s:s, s:i, s:s}",
					     "ok", 1, "version", "0.1.0",
					     "pid", (int)getpid(),
					     "orchestrator_id",
					     call->daemon->orchestrator_id));
}

static void handle_job_submit(struct api_call *call)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char id[HOIST_ID_MAX];
	json_t *record;

	if (!call->body) {
		reply_error(call->req, 400, "invalid",
			    "missing job spec in the request body");
		return;
	}
	if (hoist_jobs_submit(call->daemon, call->body, id, sizeof(id),
			      &err)) {
		reply_err(call->req, &err);
		return;
	}
	record = hoist_jobs_render(call->daemon, id, 1, &err);
	if (!record) {
		reply_err(call->req, &err);
		return;
	}
	hoist_reconcile_tick(call->daemon);
	reply_json(call->req, 201, record);
}

static void handle_job_list(struct api_call *call)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct evkeyvalq params = { 0 };
	const char *active = query_param(call->req, "active", &params);
	json_t *list = hoist_jobs_render_list(call->daemon,
					      !(active && strcmp(active, "1") == 0),
					      &err);

	evhttp_clear_headers(&params);
	if (!list)
		reply_err(call->req, &err);
	else
		reply_json(call->req, 200, list);
}

static void handle_job_show(struct api_call *call)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *record = hoist_jobs_render(call->daemon, call->id, 1, &err);

	if (!record)
		reply_err(call->req, &err);
	else
		reply_json(call->req, 200, record);
}

static void handle_job_cancel(struct api_call *call)
{
	struct hoist_live_job *live = hoist_jobs_find(call->daemon, call->id);

	if (!live || hoist_model_job_state_is_final(live->job.state)) {
		handle_job_show(call);
		return;
	}
	hoist_reconcile_stop_job(call->daemon, live, "cancelled");
	handle_job_show(call);
}

static int log_path(struct hoist_daemon *daemon, const char *job_id,
		    int attempt, char *out, size_t outlen)
{
	return snprintf(out, outlen, "%s/logs/%s/a%d.log", daemon->home,
			job_id, attempt) >= (int)outlen ? -1 : 0;
}

struct latest_attempt {
	int number;
	int ended;
};

static int find_latest_attempt(const struct hoist_attempt_record *a,
			       void *arg)
{
	struct latest_attempt *latest = arg;

	if (a->number > latest->number) {
		latest->number = a->number;
		latest->ended = a->state == HOIST_ATTEMPT_ENDED;
	}
	return 0;
}


/* The stored log chunk that contains one offset of an attempt's log. */
struct log_object_search {
	size_t prefix_len;
	long long offset;
	long long start;	/* -1 until found */
	char key[HOIST_ARTIFACT_KEY_MAX + 1];
};

static int find_log_object(const char *key, uint64_t size, void *arg)
{
	struct log_object_search *search = arg;
	const char *name = key + search->prefix_len;
	char *end;
	long long start;

	if (strlen(key) <= search->prefix_len)
		return 0;
	errno = 0;
	start = strtoll(name, &end, 10);
	if (errno || end == name || strcmp(end, ".log") != 0 || start < 0)
		return 0;
	if (start <= search->offset &&
	    search->offset < start + (long long)size) {
		search->start = start;
		snprintf(search->key, sizeof(search->key), "%s", key);
		return 1;
	}
	return 0;
}

/* Reads up to max bytes at offset from the one stored chunk that
 * contains offset.  Returns the byte count, 0 when none contains it. */
static ssize_t read_log_object(struct hoist_daemon *daemon,
			       const char *job_id, int attempt,
			       long long offset, char *out, size_t max)
{
	struct hoist_artifact_store *store = daemon->artifacts;
	struct hoist_err err = HOIST_ERR_INIT;
	struct log_object_search search;
	struct hoist_buf chunk;
	char prefix[HOIST_ID_MAX + 32];
	ssize_t n = 0;

	if (!store)
		return 0;
	snprintf(prefix, sizeof(prefix), "jobs/%s/logs/a%d/", job_id, attempt);
	memset(&search, 0, sizeof(search));
	search.prefix_len = strlen(prefix);
	search.offset = offset;
	search.start = -1;
	if (store->ops->list(store, prefix, find_log_object, &search, &err)) {
		hoist_log_warn("job=%s cannot list the stored log of attempt "
			       "%d: %s", job_id, attempt, err.msg);
		return 0;
	}
	if (search.start < 0)
		return 0;
	hoist_buf_init(&chunk, HOIST_SPOOL_BYTES_MAX);
	if (store->ops->get_bytes(store, search.key, &chunk, &err)) {
		hoist_log_warn("job=%s cannot read %s: %s", job_id, search.key,
			       err.msg);
	} else if ((size_t)(offset - search.start) < chunk.len) {
		n = (ssize_t)(chunk.len - (size_t)(offset - search.start));
		if ((size_t)n > max)
			n = (ssize_t)max;
		memcpy(out, chunk.data + (offset - search.start), (size_t)n);
	}
	hoist_buf_release(&chunk);
	return n;
}

/*
 * Reads up to API_LOG_CHUNK_MAX bytes of an attempt's log at offset from
 * the copy in the artifact store, for a hoistd whose local log file is
 * gone.  Returns the byte count, 0 past the end or when nothing is stored.
 * NOTE: this blocks the event loop for one listing and one read per
 * stored chunk, so a reply may cost several S3 round trips.
 */
static ssize_t read_log_from_store(struct hoist_daemon *daemon,
				   const char *job_id, int attempt,
				   long long offset, char *out)
{
	ssize_t total = 0;

	while (total < (ssize_t)API_LOG_CHUNK_MAX) {
		ssize_t n = read_log_object(daemon, job_id, attempt,
					    offset + total, out + total,
					    API_LOG_CHUNK_MAX - (size_t)total);

		if (n <= 0)
			break;
		total += n;
	}
	return total;
}

static void handle_job_logs(struct api_call *call)
{
	struct hoist_daemon *daemon = call->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	struct evkeyvalq params = { 0 };
	const char *attempt_text = query_param(call->req, "attempt", &params);
	const char *offset_text = query_param(call->req, "offset", &params);
	struct latest_attempt latest = { 0, 1 };
	struct hoist_job_record job;
	char path[PATH_MAX];
	char *data = NULL;
	long long offset = 0;
	int attempt = 0;
	ssize_t n = 0;
	int fd;
	struct stat st;
	int finished;
	json_t *out;

	memset(&job, 0, sizeof(job));
	if (daemon->store->ops->get_job(daemon->store, call->id, &job, &err)) {
		reply_err(call->req, &err);
		goto out;
	}
	if (daemon->store->ops->list_attempts(daemon->store, call->id,
					      find_latest_attempt, &latest,
					      &err)) {
		reply_err(call->req, &err);
		goto out;
	}
	attempt = attempt_text ? atoi(attempt_text) : latest.number;
	if (offset_text)
		offset = atoll(offset_text);
	if (attempt < 0 || offset < 0 || (attempt_text &&
					   (attempt < 1 ||
					    attempt > latest.number))) {
		if (attempt_text && (attempt < 1 || attempt > latest.number))
			reply_error(call->req, 400, "invalid",
				    "job %s has no attempt %s (it has %d)",
				    call->id, attempt_text, latest.number);
		else
			reply_error(call->req, 400, "invalid",
				    "invalid log offset '%s'",
				    offset_text ? offset_text : "");
		goto out;
	}
	finished = hoist_model_job_state_is_final(job.state) ||
		   (attempt < latest.number) || latest.ended;
	data = malloc(API_LOG_CHUNK_MAX + 1);
	if (!data) {
		reply_error(call->req, 500, "internal", "out of memory");
		goto out;
	}
	if (attempt > 0 && log_path(daemon, call->id, attempt, path,
				    sizeof(path)) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && offset < st.st_size)
				n = pread(fd, data, API_LOG_CHUNK_MAX, offset);
			close(fd);
		} else if (errno == ENOENT) {
			n = read_log_from_store(daemon, call->id, attempt,
						offset, data);
		}
	}
	if (n < 0)
		n = 0;
	out = json_pack("{s:i, s:I, s:I, s:s%, s:b}", "attempt", attempt,
			"offset", (json_int_t)offset, "next_offset",
			(json_int_t)(offset + n), "data", data, (size_t)n,
			"eof", finished && n < (ssize_t)API_LOG_CHUNK_MAX);
	if (!out) {
		/* Invalid UTF-8 in the log: send it with replacements. */
		for (ssize_t i = 0; i < n; i++)
			if ((unsigned char)data[i] >= 0x80)
				data[i] = '?';
		out = json_pack("{s:i, s:I, s:I, s:s%, s:b}", "attempt",
				attempt, "offset", (json_int_t)offset,
				"next_offset", (json_int_t)(offset + n),
				"data", data, (size_t)n, "eof",
				finished && n < (ssize_t)API_LOG_CHUNK_MAX);
	}
	reply_json(call->req, 200, out);
out:
	free(data);
	hoist_model_job_release(&job);
	evhttp_clear_headers(&params);
}

struct instance_list_ctx {
	json_t *array;
	int64_t now_ms;
};

static int add_instance(const struct hoist_instance_record *rec, void *arg)
{
	struct instance_list_ctx *ctx = arg;

	json_array_append_new(ctx->array,
			      hoist_jobs_render_instance(rec, ctx->now_ms));
	return 0;
}

static void handle_instance_list(struct api_call *call)
{
	struct hoist_daemon *daemon = call->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	struct evkeyvalq params = { 0 };
	const char *all = query_param(call->req, "all", &params);
	struct instance_list_ctx ctx = { json_array(), hoist_clock_now_ms() };

	if (all && strcmp(all, "1") == 0) {
		if (daemon->store->ops->list_instances(daemon->store, NULL,
						       add_instance, &ctx,
						       &err)) {
			json_decref(ctx.array);
			reply_err(call->req, &err);
			goto out;
		}
	} else {
		for (struct hoist_live_instance *inst = daemon->instances;
		     inst; inst = inst->next)
			add_instance(&inst->rec, &ctx);
	}
	reply_json(call->req, 200, json_pack("{s:o}", "instances", ctx.array));
out:
	evhttp_clear_headers(&params);
}

static void handle_instance_preempt(struct api_call *call)
{
	struct hoist_daemon *daemon = call->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *grace = call->body ? json_object_get(call->body,
						     "grace_seconds") : NULL;
	int seconds = 30;

	if (grace && (!json_is_integer(grace) ||
		      json_integer_value(grace) < 0 ||
		      json_integer_value(grace) > 3600)) {
		reply_error(call->req, 400, "invalid",
			    "grace_seconds must be an integer from 0 to 3600");
		return;
	}
	if (grace)
		seconds = (int)json_integer_value(grace);
	if (!daemon->provider->ops->preempt) {
		reply_error(call->req, 409, "conflict",
			    "the %s provider cannot preempt instances on "
			    "request", daemon->provider->ops->name);
		return;
	}
	if (!hoist_jobs_find_instance(daemon, call->id)) {
		reply_error(call->req, 404, "not_found",
			    "no live instance '%s'; see hoist instances",
			    call->id);
		return;
	}
	if (daemon->provider->ops->preempt(daemon->provider, call->id, seconds,
					   &err)) {
		reply_err(call->req, &err);
		return;
	}
	hoist_log_info("instance %s preempted on request, grace %d s",
		       call->id, seconds);
	reply_json(call->req, 202, json_pack("{s:b}", "ok", 1));
}

static void handle_instance_fault(struct api_call *call)
{
	struct hoist_daemon *daemon = call->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	const char *fault = call->body ? json_string_value(
		json_object_get(call->body, "fault")) : NULL;

	if (!fault) {
		reply_error(call->req, 400, "invalid",
			    "missing \"fault\": one of freeze, thaw, "
			    "block_destroy, allow_destroy");
		return;
	}
	if (!daemon->provider->ops->fault) {
		reply_error(call->req, 409, "conflict",
			    "the %s provider has no fault switches",
			    daemon->provider->ops->name);
		return;
	}
	if (daemon->provider->ops->fault(daemon->provider, call->id, fault,
					 &err)) {
		reply_err(call->req, &err);
		return;
	}
	hoist_log_info("instance %s fault '%s' set on request", call->id,
		       fault);
	reply_json(call->req, 200, json_pack("{s:b}", "ok", 1));
}

/*
 * An offer search replies later, from the provider's callback.  If the
 * client goes away first, evhttp frees the request, so the connection's
 * close callback clears it and the answer is dropped.
 */
struct offers_call {
	struct evhttp_request *req;
	struct evhttp_connection *conn;
};

static void offers_conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct offers_call *call = arg;

	(void)conn;
	call->req = NULL;
}

static void offers_done(void *arg, const struct hoist_err *err,
			json_t *result)
{
	struct offers_call *call = arg;

	if (call->req) {
		evhttp_connection_set_closecb(call->conn, NULL, NULL);
		if (err && err->code)
			reply_err(call->req, err);
		else
			reply_json(call->req, 200, json_incref(result));
	}
	free(call);
}

static void handle_offer_search(struct api_call *call)
{
	struct hoist_daemon *daemon = call->daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *profile = call->body ? json_object_get(call->body, "profile") :
				       NULL;
	struct offers_call *pending;

	if (!json_is_object(profile)) {
		reply_error(call->req, 400, "invalid",
			    "missing \"profile\" object in the request body");
		return;
	}
	if (!daemon->provider->ops->offers) {
		reply_error(call->req, 409, "conflict",
			    "the %s provider has no offer search; start "
			    "hoistd with --provider vast",
			    daemon->provider->ops->name);
		return;
	}
	pending = calloc(1, sizeof(*pending));
	if (!pending) {
		reply_error(call->req, 500, "internal", "out of memory");
		return;
	}
	pending->req = call->req;
	pending->conn = evhttp_request_get_connection(call->req);
	if (daemon->provider->ops->offers(daemon->provider, profile,
					  offers_done, pending, &err)) {
		free(pending);
		reply_err(call->req, &err);
		return;
	}
	evhttp_connection_set_closecb(pending->conn, offers_conn_closed,
				      pending);
}

/* Handlers for agents. */

static json_t *build_assignment(struct hoist_daemon *daemon,
				struct hoist_live_job *live,
				const struct hoist_checkpoint_record *resume_from)
{
	const json_t *spec = live->job.spec;
	json_t *env = json_object_get(spec, "env");
	json_t *workdir = json_object_get(spec, "workdir");
	json_t *outputs = json_object_get(spec, "outputs");
	json_t *inputs = json_array();
	json_t *resume = json_null();
	json_t *input;
	size_t i;

	/* The agent needs each staged input's manifest and target only;
	 * "from" names a folder on the submitting machine. */
	json_array_foreach(json_object_get(spec, "inputs"), i, input)
		json_array_append_new(inputs, json_pack(
			"{s:O?, s:O?, s:O?}", "manifest_key",
			json_object_get(input, "manifest_key"),
			"manifest_sha256",
			json_object_get(input, "manifest_sha256"), "to",
			json_object_get(input, "to")));

	if (resume_from)
		resume = json_pack("{s:I, s:s, s:s}", "step",
				   (json_int_t)resume_from->step,
				   "manifest_key", resume_from->manifest_key,
				   "manifest_sha256",
				   resume_from->manifest_sha256);
	return json_pack(
		"{s:s, s:i, s:O, s:o, s:o, s:I, s:I, s:i, s:s, s:o, s:o, "
		"s:o}",
		"job_id", live->job.id, "attempt", live->attempt.number,
		"command", json_object_get(spec, "command"),
		"workdir", workdir ? json_incref(workdir) : json_null(),
		"env", env ? json_incref(env) : json_object(),
		"grace_seconds",
		(json_int_t)hoist_jobs_spec_int(spec, NULL, "grace_seconds",
						30),
		"checkpoint_interval_seconds",
		(json_int_t)hoist_jobs_spec_int(spec, "checkpoint",
						"interval_seconds", 600),
		"heartbeat_interval_ms", daemon->settings.heartbeat_interval_ms,
		"storage_url", hoist_presign_agent_storage_url(daemon),
		"resume", resume, "inputs", inputs,
		"outputs", outputs ? json_incref(outputs) : json_array());
}

static void handle_agent_claim(struct api_call *call)
{
	struct hoist_live_job *live = call->live;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record resume_from;
	int has_resume = 0;
	json_t *assignment;

	if (hoist_attempts_claim(call->daemon, live, &resume_from, &has_resume,
				 &err)) {
		reply_err(call->req, &err);
		return;
	}
	/* The agent that claims has not tried an upload yet. */
	live->checkpoint_error[0] = '\0';
	assignment = build_assignment(call->daemon, live,
				      has_resume ? &resume_from : NULL);
	if (!assignment) {
		reply_error(call->req, 500, "internal",
			    "cannot build the assignment of job %s",
			    live->job.id);
		return;
	}
	reply_json(call->req, 200, assignment);
}


/* Records the checkpoint_error of a heartbeat or exit report, which is a
 * string while uploads fail and null once one commits.  Logs the first
 * failure and the recovery at warn and info level, and later messages at
 * debug level, because each names its own step. */
static void note_checkpoint_error(struct hoist_live_job *live,
				  const json_t *value)
{
	const char *text = json_string_value(value);

	if (text && *text) {
		if (!live->checkpoint_error[0])
			hoist_log_warn("job=%s attempt=%d checkpoint upload "
				       "failing: %s", live->job.id,
				       live->attempt.number, text);
		else if (strcmp(text, live->checkpoint_error) != 0)
			hoist_log_debug("job=%s attempt=%d checkpoint upload "
					"still failing: %s", live->job.id,
					live->attempt.number, text);
		snprintf(live->checkpoint_error,
			 sizeof(live->checkpoint_error), "%s", text);
	} else if (json_is_null(value) && live->checkpoint_error[0]) {
		hoist_log_info("job=%s attempt=%d checkpoint uploads work "
			       "again", live->job.id, live->attempt.number);
		live->checkpoint_error[0] = '\0';
	}
}

static void handle_agent_heartbeat(struct api_call *call)
{
	json_t *body = call->body;
	json_t *step = body ? json_object_get(body, "step") : NULL;
	json_t *metrics = body ? json_object_get(body, "metrics") : NULL;
	const char *state = body ? json_string_value(json_object_get(body,
								     "state")) :
				   NULL;
	int stop = hoist_attempts_heartbeat(
		call->live, state,
		json_is_integer(step) ? json_integer_value(step) : -1,
		json_is_object(metrics) ? metrics : NULL);

	if (body)
		note_checkpoint_error(call->live,
				      json_object_get(body,
						      "checkpoint_error"));

	if (json_is_object(metrics) && json_object_size(metrics) > 0)
		hoist_spool_add_metrics(call->daemon->spool,
					call->live->job.id,
					call->live->attempt.number, step,
					metrics);
	reply_json(call->req, 200, json_pack("{s:s}", "action",
					     stop ? "stop" : "continue"));
}

static int is_hex_digest(const char *text)
{
	if (!text || strlen(text) != 64)
		return 0;
	for (const char *p = text; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

static void handle_agent_checkpoint(struct api_call *call)
{
	struct hoist_daemon *daemon = call->daemon;
	struct hoist_live_job *live = call->live;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record rec;
	int committed = 0;
	json_t *body = call->body;
	json_t *step = body ? json_object_get(body, "step") : NULL;
	const char *key = body ? json_string_value(json_object_get(
		body, "manifest_key")) : NULL;
	const char *sha = body ? json_string_value(json_object_get(
		body, "manifest_sha256")) : NULL;
	char prefix[HOIST_ID_MAX + 32];

	snprintf(prefix, sizeof(prefix), "jobs/%s/checkpoints/", live->job.id);
	if (!json_is_integer(step) || json_integer_value(step) < 0 || !key ||
	    strncmp(key, prefix, strlen(prefix)) != 0 ||
	    !hoist_artifact_key_valid(key) || strlen(key) >= 512 ||
	    !is_hex_digest(sha)) {
		reply_error(call->req, 400, "invalid",
			    "checkpoint commit needs an integer 'step' >= 0, "
			    "a 'manifest_key' under %s and a 64-digit "
			    "lowercase hex 'manifest_sha256'", prefix);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.job_id, sizeof(rec.job_id), "%s", live->job.id);
	rec.step = json_integer_value(step);
	rec.attempt = live->attempt.number;
	snprintf(rec.manifest_key, sizeof(rec.manifest_key), "%s", key);
	snprintf(rec.manifest_sha256, sizeof(rec.manifest_sha256), "%s", sha);
	rec.files = json_integer_value(json_object_get(body, "files"));
	rec.bytes = json_integer_value(json_object_get(body, "bytes"));
	if (hoist_attempts_commit_checkpoint(daemon, live, &rec, &committed,
					     &err)) {
		reply_err(call->req, &err);
		return;
	}
	reply_json(call->req, 200, json_pack("{s:b}", "committed", committed));
}

static void handle_agent_logs(struct api_call *call)
{
	struct hoist_daemon *daemon = call->daemon;
	struct hoist_live_job *live = call->live;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *offset_json = call->body ? json_object_get(call->body,
							   "offset") : NULL;
	json_t *data_json = call->body ? json_object_get(call->body, "data") :
					 NULL;
	char dir[PATH_MAX];
	char path[PATH_MAX];
	json_int_t offset, start;
	const char *data, *start_data;
	size_t len;
	struct stat st;
	int fd;

	if (!json_is_integer(offset_json) || !json_is_string(data_json) ||
	    json_integer_value(offset_json) < 0) {
		reply_error(call->req, 400, "invalid",
			    "log chunk needs an integer 'offset' >= 0 and a "
			    "string 'data'");
		return;
	}
	offset = json_integer_value(offset_json);
	data = json_string_value(data_json);
	len = json_string_length(data_json);
	snprintf(dir, sizeof(dir), "%s/logs/%s", daemon->home, live->job.id);
	if (hoist_util_mkdir_p(dir, 0700, &err) ||
	    log_path(daemon, live->job.id, live->attempt.number, path,
		     sizeof(path))) {
		reply_err(call->req, &err);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		hoist_err_set(&err, HOIST_E_IO, "cannot open log '%s': %s",
			      path, strerror(errno));
		if (fd >= 0)
			close(fd);
		reply_err(call->req, &err);
		return;
	}
	/* A chunk that overlaps what is stored was resent: skip that part. */
	if (offset < st.st_size) {
		size_t skip = (size_t)(st.st_size - offset);

		skip = skip > len ? len : skip;
		data += skip;
		len -= skip;
		offset += (json_int_t)skip;
	}
	if (offset > st.st_size)
		hoist_log_warn("job=%s attempt %d log has a gap of %lld bytes",
			       live->job.id, live->attempt.number,
			       (long long)(offset - st.st_size));
	start = offset;
	start_data = data;
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, offset);

		if (n <= 0)
			break;
		data += n;
		len -= (size_t)n;
		offset += n;
	}
	close(fd);
	hoist_spool_add_log(daemon->spool, live->job.id, live->attempt.number,
			    start, start_data, (size_t)(offset - start));
	reply_json(call->req, 200, json_pack("{s:I}", "next_offset", offset));
}

/* Presigns one S3 request of job_id's prefix for an agent or the CLI. */
static void reply_presigned(struct api_call *call, const char *job_id,
			    const char *caller)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *reply = NULL;
	int forbidden = 0;

	if (hoist_presign_request(call->daemon, job_id, caller, call->body,
				  &reply, &forbidden, &err)) {
		if (forbidden)
			reply_error(call->req, 403, "forbidden", "%s",
				    err.msg);
		else
			reply_err(call->req, &err);
		return;
	}
	reply_json(call->req, 200, reply);
}

static void handle_agent_presign(struct api_call *call)
{
	char caller[32];

	snprintf(caller, sizeof(caller), "attempt %d",
		 call->live->attempt.number);
	reply_presigned(call, call->live->job.id, caller);
}

static void handle_job_presign(struct api_call *call)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *job = hoist_jobs_render(call->daemon, call->id, 0, &err);

	if (!job) {
		reply_err(call->req, &err);
		return;
	}
	json_decref(job);
	reply_presigned(call, call->id, "the CLI");
}

/* Presigns one S3 request below datasets/ for the CLI, which stages job
 * inputs there before the job exists. */
static void handle_datasets_presign(struct api_call *call)
{
	reply_presigned(call, NULL, "the CLI");
}

static int keep_max_step(const struct hoist_checkpoint_record *c, void *arg)
{
	int64_t *max = arg;

	if (c->step > *max)
		*max = c->step;
	return 0;
}

/*
 * Loads a job that hoistd no longer keeps in memory (an ended one) into a
 * temporary live job, so that a commit goes through the same code as an
 * agent's.  The caller releases it with ended_job_free().
 */
static struct hoist_live_job *ended_job_load(struct hoist_daemon *daemon,
					     const char *id,
					     struct hoist_err *err)
{
	struct hoist_store *store = daemon->store;
	struct hoist_live_job *live = calloc(1, sizeof(*live));

	if (!live) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	if (store->ops->get_job(store, id, &live->job, err)) {
		free(live);
		return NULL;
	}
	live->attempt.number = live->job.attempts;
	live->last_committed_step = -1;
	if (store->ops->list_checkpoints(store, id, keep_max_step,
					 &live->last_committed_step, err)) {
		hoist_model_job_release(&live->job);
		free(live);
		return NULL;
	}
	return live;
}

static void ended_job_free(struct hoist_live_job *live)
{
	hoist_model_job_release(&live->job);
	free(live);
}

/* Commits a checkpoint that "hoist ckpt push" uploaded, exactly as an
 * agent's commit is recorded, but for a step above the last committed one
 * only: a step at or below it gets 409 instead of a silent no-op. */
static void handle_job_checkpoint(struct api_call *call)
{
	struct hoist_live_job *live = hoist_jobs_find(call->daemon, call->id);
	struct hoist_live_job *ended = NULL;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_record rec;
	int committed = 0;
	json_t *body = call->body;
	json_t *step = body ? json_object_get(body, "step") : NULL;
	const char *key = body ? json_string_value(json_object_get(
		body, "manifest_key")) : NULL;
	const char *sha = body ? json_string_value(json_object_get(
		body, "manifest_sha256")) : NULL;
	char prefix[HOIST_ID_MAX + 32];

	if (!live) {
		ended = ended_job_load(call->daemon, call->id, &err);
		if (!ended) {
			reply_err(call->req, &err);
			return;
		}
		live = ended;
	}
	snprintf(prefix, sizeof(prefix), "jobs/%s/checkpoints/", live->job.id);
	if (!json_is_integer(step) || json_integer_value(step) < 0 || !key ||
	    strncmp(key, prefix, strlen(prefix)) != 0 ||
	    !hoist_artifact_key_valid(key) || strlen(key) >= 512 ||
	    !is_hex_digest(sha)) {
		reply_error(call->req, 400, "invalid",
			    "checkpoint commit needs an integer 'step' >= 0, "
			    "a 'manifest_key' under %s and a 64-digit "
			    "lowercase hex 'manifest_sha256'", prefix);
		goto out;
	}
	if (json_integer_value(step) <= live->last_committed_step) {
		reply_error(call->req, 409, "conflict", "step %lld of job %s is "
			    "not above its last committed step %lld",
			    (long long)json_integer_value(step), live->job.id,
			    (long long)live->last_committed_step);
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.job_id, sizeof(rec.job_id), "%s", live->job.id);
	rec.step = json_integer_value(step);
	snprintf(rec.manifest_key, sizeof(rec.manifest_key), "%s", key);
	snprintf(rec.manifest_sha256, sizeof(rec.manifest_sha256), "%s", sha);
	rec.files = json_integer_value(json_object_get(body, "files"));
	rec.bytes = json_integer_value(json_object_get(body, "bytes"));
	if (hoist_attempts_commit_checkpoint(call->daemon, live, &rec,
					     &committed, &err)) {
		reply_err(call->req, &err);
		goto out;
	}
	hoist_log_info("job=%s checkpoint of step %lld pushed by the CLI",
		       live->job.id, (long long)rec.step);
	reply_json(call->req, 200, json_pack("{s:b, s:I}", "committed",
					     committed, "step",
					     (json_int_t)rec.step));
out:
	if (ended)
		ended_job_free(ended);
}

static void handle_storage(struct api_call *call)
{
	reply_json(call->req, 200, json_pack(
		"{s:s}", "storage_url",
		hoist_presign_agent_storage_url(call->daemon)));
}

static void handle_agent_exit(struct api_call *call)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_exit_report report;
	json_t *body = call->body;
	json_t *code = body ? json_object_get(body, "exit_code") : NULL;
	json_t *sig = body ? json_object_get(body, "signal") : NULL;
	json_t *step = body ? json_object_get(body, "last_step") : NULL;

	memset(&report, 0, sizeof(report));
	report.exit_code = json_is_integer(code) ?
			   (int)json_integer_value(code) : -1;
	report.signal = json_is_integer(sig) ? (int)json_integer_value(sig) :
					       0;
	report.preempted = body && json_is_true(json_object_get(body,
								"preempted"));
	report.last_step = json_is_integer(step) ? json_integer_value(step) :
						   -1;
	report.error = body ? json_string_value(json_object_get(body,
								"error")) :
			      NULL;
	if (body)
		note_checkpoint_error(call->live,
				      json_object_get(body,
						      "checkpoint_error"));
	if (hoist_attempts_report_exit(call->daemon, call->live, &report,
				       &err)) {
		reply_err(call->req, &err);
		return;
	}
	reply_json(call->req, 200, json_pack("{s:b}", "ok", 1));
}

static const struct api_route routes[] = {
	{ EVHTTP_REQ_GET, "/v1/health", AUTH_NONE, handle_health },
	{ EVHTTP_REQ_POST, "/v1/jobs", AUTH_ADMIN, handle_job_submit },
	{ EVHTTP_REQ_GET, "/v1/jobs", AUTH_ADMIN, handle_job_list },
	{ EVHTTP_REQ_GET, "/v1/jobs/*", AUTH_ADMIN, handle_job_show },
	{ EVHTTP_REQ_POST, "/v1/jobs/*/cancel", AUTH_ADMIN,
	  handle_job_cancel },
	{ EVHTTP_REQ_GET, "/v1/jobs/*/logs", AUTH_ADMIN, handle_job_logs },
	{ EVHTTP_REQ_POST, "/v1/jobs/*/presign", AUTH_ADMIN,
	  handle_job_presign },
	{ EVHTTP_REQ_POST, "/v1/jobs/*/checkpoints", AUTH_ADMIN,
	  handle_job_checkpoint },
	{ EVHTTP_REQ_POST, "/v1/datasets/presign", AUTH_ADMIN,
	  handle_datasets_presign },
	{ EVHTTP_REQ_GET, "/v1/storage", AUTH_ADMIN, handle_storage },
	{ EVHTTP_REQ_GET, "/v1/instances", AUTH_ADMIN, handle_instance_list },
	{ EVHTTP_REQ_POST, "/v1/instances/*/preempt", AUTH_ADMIN,
	  handle_instance_preempt },
	{ EVHTTP_REQ_POST, "/v1/instances/*/fault", AUTH_ADMIN,
	  handle_instance_fault },
	{ EVHTTP_REQ_POST, "/v1/offers/search", AUTH_ADMIN,
	  handle_offer_search },
	{ EVHTTP_REQ_POST, "/v1/agent/claim", AUTH_AGENT, handle_agent_claim },
	{ EVHTTP_REQ_POST, "/v1/agent/heartbeat", AUTH_AGENT,
	  handle_agent_heartbeat },
	{ EVHTTP_REQ_POST, "/v1/agent/checkpoints", AUTH_AGENT,
	  handle_agent_checkpoint },
	{ EVHTTP_REQ_POST, "/v1/agent/logs", AUTH_AGENT, handle_agent_logs },
	{ EVHTTP_REQ_POST, "/v1/agent/exit", AUTH_AGENT, handle_agent_exit },
	{ EVHTTP_REQ_POST, "/v1/agent/presign", AUTH_AGENT,
	  handle_agent_presign },
};

/* Matches path against pattern; stores the "*" segment in id (size idlen).
 * Returns 1 on a match. */
static int match_route(const char *pattern, const char *path, char *id,
		       size_t idlen)
{
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t len = strcspn(path, "/");

			if (len == 0 || len >= idlen)
				return 0;
			memcpy(id, path, len);
			id[len] = '\0';
			pattern++;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	if (*path == '/' && path[1] == '\0')
		path++;
	return *pattern == '\0' && *path == '\0';
}

/* Logs the first call of a fenced agent and every hundredth after it. */
static void log_fenced_call(struct hoist_daemon *daemon, const char *token,
			    const char *path)
{
	struct hoist_revoked_token *revoked = hoist_jobs_find_revoked(daemon,
								      token);

	if (!revoked) {
		hoist_log_warn("rejected %s: unknown attempt token", path);
		return;
	}
	if (revoked->rejected++ % 100 == 0)
		hoist_log_warn("job=%s attempt %d is fenced: rejected %s from "
			       "its agent (%lld calls so far)", revoked->job_id,
			       revoked->attempt, path,
			       (long long)revoked->rejected);
}

static void api_dispatch(struct evhttp_request *req, void *arg)
{
	struct hoist_daemon *daemon = arg;
	struct hoist_err err = HOIST_ERR_INIT;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct api_call call = { daemon, req, NULL, NULL, NULL };
	const struct api_route *route = NULL;
	char id[HOIST_ID_MAX];
	int path_matched = 0;
	const char *token;

	if (!path)
		path = "/";
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match_route(routes[i].pattern, path, id, sizeof(id)))
			continue;
		path_matched = 1;
		if (routes[i].method == method) {
			route = &routes[i];
			break;
		}
	}
	if (!route) {
		if (path_matched)
			reply_error(req, 405, "invalid",
				    "method not allowed for %s", path);
		else
			reply_error(req, 404, "not_found",
				    "no such endpoint: %s", path);
		return;
	}
	call.id = strchr(route->pattern, '*') ? id : NULL;

	token = bearer_token(req);
	if (route->auth == AUTH_ADMIN &&
	    (!token || !hoist_util_secret_equal(token, daemon->admin_token))) {
		reply_error(req, 401, "unauthorized",
			    "missing or invalid admin token; the CLI reads it "
			    "from %s/admin.token", daemon->home);
		return;
	}
	if (route->auth == AUTH_AGENT) {
		if (!token) {
			reply_error(req, 401, "unauthorized",
				    "missing attempt token");
			return;
		}
		call.live = hoist_jobs_find_by_token(daemon, token);
		if (!call.live) {
			log_fenced_call(daemon, token, path);
			reply_error(req, 410, "fenced",
				    "the attempt token is not valid for any "
				    "live attempt (the attempt was replaced or "
				    "has ended)");
			return;
		}
	}
	if (read_body(req, &call.body, &err)) {
		reply_err(req, &err);
		return;
	}
	route->handler(&call);
	json_decref(call.body);
}

int hoist_api_start(struct hoist_daemon *daemon, const char *listen,
		    struct hoist_err *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage addr;
	socklen_t addrlen = sizeof(addr);
	long port;
	char *end;

	if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof(host))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid listen address '%s': expected "
				     "HOST:PORT such as 127.0.0.1:7341", listen);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 0 || port > 65535)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid port in listen address '%s'",
				     listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}

	daemon->http = evhttp_new(daemon->base);
	if (!daemon->http)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot create the HTTP server");
	evhttp_set_max_body_size(daemon->http, API_BODY_MAX);
	evhttp_set_max_headers_size(daemon->http, 64 * 1024);
	evhttp_set_timeout(daemon->http, 30);
	evhttp_set_allowed_methods(daemon->http,
				   EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_DELETE);
	evhttp_set_gencb(daemon->http, api_dispatch, daemon);
	bound = evhttp_bind_socket_with_handle(daemon->http, host,
					       (ev_uint16_t)port);
	if (!bound)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot listen on %s: %s (is another "
				     "hoistd running?)", listen,
				     strerror(errno));
	if (getsockname(evhttp_bound_socket_get_fd(bound),
			(struct sockaddr *)&addr, &addrlen) == 0) {
		if (addr.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
		else
			port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
	}
	snprintf(daemon->url, sizeof(daemon->url),
		 strchr(host, ':') ? "http://[%s]:%ld" : "http://%s:%ld",
		 host, port);
	return 0;
}
