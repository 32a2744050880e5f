/*
 * server.c - the HTTP side of the simulator: one evhttp server on the
 * simulator's event loop, request parsing, replies, and the replies that
 * a fault delays or withholds.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "sim/sim_int.h"

#define HEADERS_MAX (64 * 1024)

/* A reply sent later: slow replies and timeouts. */
struct hoist_sim_pending {
	struct hoist_sim_pending *next;
	struct hoist_sim *sim;
	struct evhttp_request *req;
	struct event *timer;
	int status;
	struct evbuffer *body;
};

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Time-out";
	default: return "Unknown";
	}
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

void hoist_sim_reply_text(struct hoist_sim_request *r, int status,
			  const char *content_type, const char *text)
{
	struct hoist_err err = HOIST_ERR_INIT;

	r->status = status;
	r->content_type = content_type;
	hoist_buf_reset(&r->out);
	if (hoist_buf_appends(&r->out, text, &err) != 0) {
		r->status = 500;
		r->content_type = "text/plain";
		hoist_buf_reset(&r->out);
		hoist_log_error("reply of %zu bytes is over the limit of %d",
				strlen(text), HOIST_SIM_REPLY_MAX);
	}
}

void hoist_sim_reply_json(struct hoist_sim_request *r, int status,
			  json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (!text) {
		hoist_sim_reply_text(r, 500, "application/json",
				     "{\"success\":false,\"error\":"
				     "\"server_error\",\"msg\":\"out of "
				     "memory\"}");
		return;
	}
	/* Clients compare the content type with "application/json"
	 * exactly, so it carries no charset. */
	hoist_sim_reply_text(r, status, "application/json", text);
	free(text);
}

void hoist_sim_reply_error(struct hoist_sim_request *r, int status,
			   const char *error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hoist_sim_reply_json(r, status, json_pack("{s:b, s:s, s:s}",
						  "success", 0, "error", error,
						  "msg", msg));
}

void hoist_sim_reply_429(struct hoist_sim_request *r, double threshold)
{
	char msg[128];

	snprintf(msg, sizeof(msg),
		 "API requests too frequent endpoint threshold=%.1f",
		 threshold);
	if (r->sim->opt.json_429)
		hoist_sim_reply_json(r, 429, json_pack("{s:s}", "detail",
							msg));
	else
		/* The usual form: plain text and no Retry-After header. */
		hoist_sim_reply_text(r, 429, "text/plain", msg);
}

const char *hoist_sim_query_param(const struct hoist_sim_request *r,
				  const char *name)
{
	return json_string_value(json_object_get(r->query, name));
}

const char *hoist_sim_request_key(const struct hoist_sim_request *r)
{
	const char *auth = evhttp_find_header(
		evhttp_request_get_input_headers(r->req), "Authorization");

	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		auth += 7;
		while (*auth == ' ')
			auth++;
		return auth;
	}
	return hoist_sim_query_param(r, "api_key");
}

int hoist_sim_parse_id(const char *text, int64_t *out)
{
	int64_t value = 0;
	size_t n = 0;

	if (!text)
		return -1;
	for (; text[n]; n++) {
		if (!isdigit((unsigned char)text[n]) || n == 18)
			return -1;
		value = value * 10 + (text[n] - '0');
	}
	if (n == 0)
		return -1;
	*out = value;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sending, now or later                                               */
/* ------------------------------------------------------------------ */

static void send_now(struct evhttp_request *req, int status,
		     const char *content_type, struct evbuffer *body)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);

	evhttp_add_header(headers, "Content-Type", content_type);
	evhttp_add_header(headers, "Server", "hoist-sim");
	evhttp_send_reply(req, status, reason_of(status), body);
}

static void pending_unlink(struct hoist_sim_pending *p)
{
	struct hoist_sim_pending **link = &p->sim->pending;

	while (*link && *link != p)
		link = &(*link)->next;
	if (*link)
		*link = p->next;
	p->sim->npending--;
}

static void pending_fire(evutil_socket_t fd, short what, void *arg)
{
	struct hoist_sim_pending *p = arg;

	(void)fd;
	(void)what;
	pending_unlink(p);
	/* When the client has gone, evhttp frees the request without
	 * sending anything. */
	evhttp_send_reply(p->req, p->status, reason_of(p->status), p->body);
	evbuffer_free(p->body);
	event_free(p->timer);
	free(p);
}

/* Sends the reply after delay seconds; returns -1 when it cannot be
 * delayed, and the caller sends it now. */
static int send_later(struct hoist_sim *sim, struct evhttp_request *req,
		      int status, const char *content_type,
		      struct evbuffer *body, double delay)
{
	struct timeval tv = {
		.tv_sec = (time_t)delay,
		.tv_usec = (suseconds_t)((delay - (double)(time_t)delay) * 1e6),
	};
	struct hoist_sim_pending *p;

	if (sim->npending >= HOIST_SIM_PENDING_MAX)
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->body = evbuffer_new();
	p->timer = evtimer_new(sim->base, pending_fire, p);
	if (!p->body || !p->timer || evbuffer_add_buffer(p->body, body) != 0) {
		if (p->body)
			evbuffer_free(p->body);
		if (p->timer)
			event_free(p->timer);
		free(p);
		return -1;
	}
	p->sim = sim;
	p->req = req;
	p->status = status;
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", content_type);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Server",
			  "hoist-sim");
	p->next = sim->pending;
	sim->pending = p;
	sim->npending++;
	/* libevent measures timers from the time cached at the start of
	 * the loop iteration, which would shorten the delay. */
	event_base_update_cache_time(sim->base);
	evtimer_add(p->timer, &tv);
	return 0;
}

/* Sends r's reply, cut short, delayed or withheld as its fault requires. */
static void finish(struct hoist_sim_request *r)
{
	struct hoist_sim *sim = r->sim;
	struct evbuffer *body = evbuffer_new();
	size_t len = r->out.len;
	double delay = 0;

	if (!body) {
		evhttp_send_error(r->req, 500, "out of memory");
		return;
	}
	if (r->fault == HOIST_SIM_FAULT_MALFORMED && len > 1)
		/* Half of the body: JSON that does not parse. */
		len /= 2;
	evbuffer_add(body, hoist_buf_str(&r->out), len);
	if (r->fault == HOIST_SIM_FAULT_SLOW)
		delay = sim->opt.slow_seconds;
	else if (r->fault == HOIST_SIM_FAULT_TIMEOUT)
		delay = sim->opt.hold_seconds;
	if (delay <= 0 || send_later(sim, r->req, r->status,
				     r->content_type, body, delay) != 0)
		send_now(r->req, r->status, r->content_type, body);
	evbuffer_free(body);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static int parse_query(struct hoist_sim_request *r, const char *text)
{
	struct evkeyvalq params;
	struct evkeyval *kv;

	r->query = json_object();
	if (!r->query)
		return -1;
	if (!text || !*text)
		return 0;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(text, &params) != 0)
		return -1;
	TAILQ_FOREACH(kv, &params, next)
		json_object_set_new(r->query, kv->key, json_string(kv->value));
	evhttp_clear_headers(&params);
	return 0;
}

/* Decodes the path, drops a trailing '/' and splits it into segments. */
static int parse_path(struct hoist_sim_request *r, const char *raw)
{
	size_t len = 0;
	char *decoded = evhttp_uridecode(raw ? raw : "/", 0, &len);
	char *save = NULL;
	char *seg;

	if (!decoded)
		return -1;
	if (len >= sizeof(r->path) || strlen(decoded) != len) {
		free(decoded);
		return -1;
	}
	snprintf(r->path, sizeof(r->path), "%s", decoded);
	free(decoded);
	while (len > 1 && r->path[len - 1] == '/')
		r->path[--len] = '\0';
	snprintf(r->segbuf, sizeof(r->segbuf), "%s", r->path);
	for (seg = strtok_r(r->segbuf, "/", &save); seg;
	     seg = strtok_r(NULL, "/", &save)) {
		if (r->nsegments == sizeof(r->segments) / sizeof(*r->segments))
			return -1;
		r->segments[r->nsegments++] = seg;
	}
	return 0;
}

static void read_body(struct hoist_sim_request *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	const char *data;

	if (len == 0)
		return;
	data = (const char *)evbuffer_pullup(in, -1);
	r->body = data ? json_loadb(data, len, 0, NULL) : NULL;
	if (!r->body)
		r->body_invalid = 1;
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct hoist_sim_request r = {
		.sim = arg,
		.req = req,
		.method = evhttp_request_get_command(req),
	};
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);

	hoist_buf_init(&r.out, HOIST_SIM_REPLY_MAX);
	if (!uri || parse_path(&r, evhttp_uri_get_path(uri)) != 0 ||
	    parse_query(&r, evhttp_uri_get_query(uri)) != 0) {
		hoist_sim_reply_error(&r, 400, "invalid_request",
				      "invalid request path or query");
		goto out;
	}
	read_body(&r);
	if (r.nsegments >= 1 && strcmp(r.segments[0], "admin") == 0)
		hoist_sim_admin_handle(&r);
	else
		hoist_sim_api_handle(&r);
	hoist_log_debug("%s %s -> %d%s%s",
			r.method == EVHTTP_REQ_GET ? "GET" :
			r.method == EVHTTP_REQ_POST ? "POST" :
			r.method == EVHTTP_REQ_PUT ? "PUT" :
			r.method == EVHTTP_REQ_DELETE ? "DELETE" : "other",
			r.path, r.status, r.fault ? " fault " : "",
			r.fault ? hoist_sim_fault_name(r.fault) : "");
out:
	finish(&r);
	json_decref(r.query);
	json_decref(r.body);
	hoist_buf_release(&r.out);
}

int hoist_sim_server_start(struct hoist_sim *sim, struct hoist_err *err)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage addr;
	socklen_t addrlen = sizeof(addr);

	sim->http = evhttp_new(sim->base);
	if (!sim->http)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot create the HTTP server");
	evhttp_set_max_body_size(sim->http, HOIST_SIM_BODY_MAX);
	evhttp_set_max_headers_size(sim->http, HEADERS_MAX);
	evhttp_set_allowed_methods(sim->http, EVHTTP_REQ_GET |
				   EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE);
	evhttp_set_gencb(sim->http, handle, sim);
	sock = evhttp_bind_socket_with_handle(sim->http, sim->opt.listen_host,
					      (ev_uint16_t)sim->opt.listen_port);
	if (!sock)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot listen on %s:%d: %s; check "
				     "--listen", sim->opt.listen_host,
				     sim->opt.listen_port, strerror(errno));
	if (getsockname(evhttp_bound_socket_get_fd(sock),
			(struct sockaddr *)&addr, &addrlen) != 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot read the listening address: %s",
				     strerror(errno));
	if (addr.ss_family == AF_INET6)
		sim->port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	else
		sim->port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
	return 0;
}

void hoist_sim_server_stop(struct hoist_sim *sim)
{
	/* Delayed replies go out now, so that no request is left without
	 * a reply or leaked. */
	while (sim->pending) {
		struct hoist_sim_pending *p = sim->pending;

		event_del(p->timer);
		pending_fire(-1, 0, p);
	}
	if (sim->http)
		evhttp_free(sim->http);
	sim->http = NULL;
}

/* ------------------------------------------------------------------ */
/* Fault names                                                         */
/* ------------------------------------------------------------------ */

static const struct {
	unsigned fault;
	const char *name;
} fault_names[] = {
	{ HOIST_SIM_FAULT_429, "429" },
	{ HOIST_SIM_FAULT_500, "500" },
	{ HOIST_SIM_FAULT_502, "502" },
	{ HOIST_SIM_FAULT_503, "503" },
	{ HOIST_SIM_FAULT_504, "504" },
	{ HOIST_SIM_FAULT_TIMEOUT, "timeout" },
	{ HOIST_SIM_FAULT_SLOW, "slow" },
	{ HOIST_SIM_FAULT_MALFORMED, "malformed" },
};

unsigned hoist_sim_fault_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(fault_names) / sizeof(*fault_names);
	     i++)
		if (strcmp(fault_names[i].name, name) == 0)
			return fault_names[i].fault;
	return 0;
}

const char *hoist_sim_fault_name(unsigned fault)
{
	for (size_t i = 0; i < sizeof(fault_names) / sizeof(*fault_names);
	     i++)
		if (fault_names[i].fault == fault)
			return fault_names[i].name;
	return "none";
}
