/*
 * Tests of the Vast.ai provider against a fake Vast.ai server that runs
 * in the same libevent loop on 127.0.0.1.  The fake keeps offers and
 * instances, serves the routes the provider uses with the payloads of
 * the Vast.ai API, and records every request line, header block and
 * body.  A rule can replace the answer of a route a number of times: a
 * given status and body, a dropped connection after the state change (a
 * rental whose response is lost), or no answer at all.
 *
 * Every test ends by checking that the API key appeared in no URL and no
 * body, and in each request exactly once: in its Authorization header.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "common/clock.h"
#include "providers/provider.h"
#include "providers/vast.h"

#define KEY "vk-7f3a9c2e5b1d4806-abcdef0123456789"
#define TOKEN "tok-1b2c3d4e5f60718293a4b5c6d7e8f901"
#define LABEL "hoist-o1-j-3f9a2c1d-a1"
#define WAIT_MS 15000
#define REQUESTS_MAX 512
#define RULES_MAX 16
#define HUNG_MAX 16
#define LIST_CAP 64

/* ------------------------------------------------------------------ */
/* Fake Vast.ai server                                                 */
/* ------------------------------------------------------------------ */

enum rule_action {
	ACTION_RESPOND,		/* send status and body */
	ACTION_DROP,		/* close the connection without a response */
	ACTION_HANG,		/* keep the connection open, never answer */
};

struct rule {
	char method[8];
	char prefix[128];
	int times;
	int apply;		/* run the fake's own handler first */
	int action;
	int status;
	const char *content_type;
	char *body;		/* "$ID" becomes the last created id */
};

struct request {
	char method[8];
	char target[2048];
	char path[512];
	char *headers;
	char *body;
};

struct fake {
	struct event_base *base;
	struct evconnlistener *listener;
	int port;
	json_t *offers;			/* array */
	json_t *instances;		/* array, by increasing id */
	json_t *create_patch;		/* merged into new instances */
	long long next_id;
	long long last_created;
	struct rule rules[RULES_MAX];
	int rule_count;
	struct request requests[REQUESTS_MAX];
	int request_count;
	struct bufferevent *hung[HUNG_MAX];
	int hung_count;
};

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *value = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!value)
		fail_msg("invalid test JSON: %s: %s", jerr.text, text);
	return value;
}

static void fake_rule(struct fake *f, const char *method, const char *prefix,
		      int times, int apply, int action, int status,
		      const char *content_type, const char *body)
{
	struct rule *r;

	assert_true(f->rule_count < RULES_MAX);
	r = &f->rules[f->rule_count++];
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
	r->times = times;
	r->apply = apply;
	r->action = action;
	r->status = status;
	r->content_type = content_type ? content_type : "application/json";
	r->body = strdup(body ? body : "");
	assert_non_null(r->body);
}

static json_t *find_instance(struct fake *f, long long id, size_t *index)
{
	size_t i;
	json_t *inst;

	json_array_foreach(f->instances, i, inst) {
		if (json_integer_value(json_object_get(inst, "id")) == id) {
			if (index)
				*index = i;
			return inst;
		}
	}
	return NULL;
}

static long long path_id(const char *path, const char *prefix)
{
	return atoll(path + strlen(prefix));
}

/* Rents offer_id as the Vast.ai API does; returns the HTTP status. */
static int fake_rent(struct fake *f, long long offer_id, const json_t *body,
		     json_t **reply)
{
	size_t i;
	json_t *offer = NULL;
	json_t *inst;
	const json_t *price = json_object_get(body, "price");
	double disk = json_number_value(json_object_get(body, "disk"));
	double base;
	double storage;

	json_array_foreach(f->offers, i, offer)
		if (json_integer_value(json_object_get(offer, "id")) ==
		    offer_id)
			break;
	if (i == json_array_size(f->offers)) {
		*reply = json_pack("{s:b, s:s, s:s, s:I}", "success", 0,
				   "error", "invalid_args", "msg",
				   "error 404/3603: no_such_ask Instance type "
				   "by id is not available.", "ask_id",
				   (json_int_t)offer_id);
		return 404;
	}
	offer = json_array_get(f->offers, i);
	base = json_is_number(price) ? json_number_value(price) :
	       json_number_value(json_object_get(offer, "dph_base"));
	storage = json_number_value(json_object_get(offer, "storage_cost"));
	inst = json_pack(
		"{s:I, s:O, s:O, s:O, s:O, s:s, s:s, s:s, s:s, s:b, s:f,"
		" s:f, s:f, s:O, s:O, s:n}",
		"id", (json_int_t)f->next_id,
		"label", json_object_get(body, "label"),
		"machine_id", json_object_get(offer, "machine_id"),
		"gpu_name", json_object_get(offer, "gpu_name"),
		"num_gpus", json_object_get(offer, "num_gpus"),
		"actual_status", "loading", "intended_status", "running",
		"cur_state", "running", "next_state", "running",
		"is_bid", json_is_number(price),
		"disk_space", disk,
		"dph_total", base + disk * storage / 720,
		"start_date", 1718000000.25,
		"image_uuid", json_object_get(body, "image"),
		"onstart", json_object_get(body, "onstart"),
		"ports", NULL);
	assert_non_null(inst);
	if (f->create_patch)
		json_object_update(inst, f->create_patch);
	json_array_append_new(f->instances, inst);
	json_array_remove(f->offers, i);
	f->last_created = f->next_id++;
	*reply = json_pack("{s:b, s:I, s:s}", "success", 1, "new_contract",
			   (json_int_t)f->last_created, "instance_api_key",
			   "d15a0000");
	return 200;
}

static int query_int(const char *target, const char *name, int dflt)
{
	const char *q = strchr(target, '?');
	size_t len = strlen(name);

	while (q) {
		q++;
		if (strncmp(q, name, len) == 0 && q[len] == '=')
			return atoi(q + len + 1);
		q = strchr(q, '&');
	}
	return dflt;
}

static int query_token(const char *target)
{
	const char *at = strstr(target, "after_token=t");

	return at ? atoi(at + strlen("after_token=t")) : 0;
}

/* Builds the fake's own response to a request; returns the status. */
static int fake_handle(struct fake *f, const struct request *req,
		       json_t **reply)
{
	const char *path = req->path;
	json_t *body = req->body && *req->body ? parse(req->body) : NULL;
	int status = 200;

	*reply = NULL;
	if (strcmp(req->method, "GET") == 0 &&
	    strcmp(path, "/api/v0/gpu_names/unique/") == 0) {
		*reply = parse("{\"gpu_names\": [\"RTX 4090\", \"RTX 3090\", "
			       "\"A100 SXM4\", \"A100 PCIE\", \"L4\", "
			       "\"L40\", \"L40S\"]}");
	} else if (strcmp(req->method, "POST") == 0 &&
		   strcmp(path, "/api/v0/bundles/") == 0) {
		*reply = json_pack("{s:O}", "offers", f->offers);
	} else if (strcmp(req->method, "PUT") == 0 &&
		   strncmp(path, "/api/v0/asks/", 13) == 0) {
		status = fake_rent(f, path_id(path, "/api/v0/asks/"), body,
				   reply);
	} else if (strcmp(req->method, "GET") == 0 &&
		   strncmp(path, "/api/v0/instances/", 18) == 0) {
		json_t *inst = find_instance(
			f, path_id(path, "/api/v0/instances/"), NULL);

		*reply = json_pack("{s:O?}", "instances", inst);
	} else if (strcmp(req->method, "GET") == 0 &&
		   strcmp(path, "/api/v1/instances/") == 0) {
		int limit = query_int(req->target, "limit", 25);
		int start = query_token(req->target);
		int total = (int)json_array_size(f->instances);
		json_t *page = json_array();
		char token[32];

		for (int i = start; i < total && i < start + limit; i++)
			json_array_append(page,
					  json_array_get(f->instances, i));
		snprintf(token, sizeof(token), "t%d", start + limit);
		*reply = json_pack("{s:b, s:i, s:o, s:s?}", "success", 1,
				   "total_instances", total, "instances",
				   page, "next_token",
				   start + limit < total ? token : NULL);
	} else if (strcmp(req->method, "DELETE") == 0 &&
		   strncmp(path, "/api/v0/instances/", 18) == 0) {
		size_t index;
		long long id = path_id(path, "/api/v0/instances/");

		if (find_instance(f, id, &index)) {
			json_array_remove(f->instances, index);
			*reply = parse("{\"success\": true}");
		} else {
			status = 404;
			*reply = parse("{\"success\":false,\"error\":"
				       "\"no_such_instance\",\"msg\":"
				       "\"Instance 12345 not found.\"}");
		}
	} else if (strcmp(req->method, "PUT") == 0 &&
		   strncmp(path, "/api/v0/instances/bid_price/", 28) == 0) {
		*reply = parse("{\"success\": true}");
	} else if (strcmp(req->method, "PUT") == 0 &&
		   strncmp(path, "/api/v0/instances/", 18) == 0) {
		json_t *inst = find_instance(
			f, path_id(path, "/api/v0/instances/"), NULL);

		if (inst) {
			json_object_set(inst, "intended_status",
					json_object_get(body, "state"));
			*reply = parse("{\"success\": true}");
		} else {
			status = 404;
			*reply = parse("{\"success\":false,\"error\":"
				       "\"no_such_instance\",\"msg\":"
				       "\"Instance 12345 not found.\"}");
		}
	} else if (strcmp(req->method, "GET") == 0 &&
		   strcmp(path, "/api/v0/users/current/") == 0) {
		*reply = json_pack("{s:i, s:s, s:s, s:s}", "id", 123456,
				   "email", "you@example.com", "credit",
				   "25.50", "api_key", KEY);
	} else if (strcmp(req->method, "GET") == 0 &&
		   strcmp(path, "/api/v0/charges/") == 0) {
		if (!strstr(req->target, "after_token"))
			*reply = parse(
				"{\"success\":true,\"count\":1,\"total\":2,"
				"\"next_token\":\"p2\",\"results\":[{\"start\":"
				"1730419200,\"end\":1730678400,\"type\":"
				"\"instance\",\"source\":\"instance-12345678\","
				"\"description\":\"Instance 12345678 Charges - "
				"4 days\",\"amount\":38.421,\"metadata\":{"
				"\"label\":\"my-training-job\"},\"items\":[{"
				"\"type\":\"gpu\",\"description\":\"96.000 "
				"hours at $0.389/hour\",\"amount\":37.344},{"
				"\"type\":\"disk\",\"amount\":\"1.077\"}]}]}");
		else
			*reply = parse(
				"{\"success\":true,\"count\":1,\"total\":2,"
				"\"next_token\":null,\"results\":[{\"source\":"
				"\"instance-777\",\"amount\":\"1.5\",\"items\":"
				"[]}]}");
	} else {
		status = 404;
		*reply = parse("{\"success\":false,\"error\":\"not_found\","
			       "\"msg\":\"no such route\"}");
	}
	json_decref(body);
	return status;
}

static struct rule *match_rule(struct fake *f, const struct request *req)
{
	for (int i = 0; i < f->rule_count; i++) {
		struct rule *r = &f->rules[i];

		if (r->times > 0 && strcmp(r->method, req->method) == 0 &&
		    strncmp(req->path, r->prefix, strlen(r->prefix)) == 0) {
			r->times--;
			return r;
		}
	}
	return NULL;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void on_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void send_response(struct bufferevent *bev, int status,
			  const char *content_type, const char *body)
{
	evbuffer_add_printf(bufferevent_get_output(bev),
			    "HTTP/1.1 %d Fake\r\nContent-Type: %s\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			    status, content_type, strlen(body));
	evbuffer_add(bufferevent_get_output(bev), body, strlen(body));
	bufferevent_setcb(bev, NULL, on_written, on_event, NULL);
	bufferevent_enable(bev, EV_WRITE);
}

static char *substitute_id(const char *body, long long id)
{
	const char *at = strstr(body, "$ID");
	char *out;

	if (!at)
		return strdup(body);
	out = malloc(strlen(body) + 32);
	assert_non_null(out);
	sprintf(out, "%.*s%lld%s", (int)(at - body), body, id, at + 3);
	return out;
}

static void fake_respond(struct fake *f, struct bufferevent *bev,
			 struct request *req)
{
	struct rule *rule = match_rule(f, req);
	json_t *reply = NULL;
	int status = 0;
	char *text;

	if (!rule || rule->apply)
		status = fake_handle(f, req, &reply);
	if (rule && rule->action == ACTION_DROP) {
		json_decref(reply);
		bufferevent_free(bev);
		return;
	}
	if (rule && rule->action == ACTION_HANG) {
		json_decref(reply);
		assert_true(f->hung_count < HUNG_MAX);
		bufferevent_disable(bev, EV_READ);
		f->hung[f->hung_count++] = bev;
		return;
	}
	if (rule) {
		text = substitute_id(rule->body, f->last_created);
		send_response(bev, rule->status, rule->content_type, text);
	} else {
		text = json_dumps(reply, JSON_COMPACT);
		send_response(bev, status, "application/json", text);
	}
	free(text);
	json_decref(reply);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct request *req;
	size_t head_len;
	size_t body_len = 0;
	size_t path_len;
	char *head;
	char *line_end;
	const char *cl;

	if (end.pos < 0)
		return;
	head_len = (size_t)end.pos + 4;
	head = malloc(head_len + 1);
	assert_non_null(head);
	evbuffer_copyout(in, head, head_len);
	head[head_len] = '\0';
	for (cl = head; (cl = strchr(cl, '\n')); cl++)
		if (strncasecmp(cl + 1, "content-length:", 15) == 0)
			body_len = (size_t)atol(cl + 16);
	if (evbuffer_get_length(in) < head_len + body_len) {
		free(head);
		return;
	}
	assert_true(f->request_count < REQUESTS_MAX);
	req = &f->requests[f->request_count++];
	line_end = strstr(head, "\r\n");
	*line_end = '\0';
	assert_int_equal(sscanf(head, "%7s %2047s", req->method,
				req->target), 2);
	path_len = strcspn(req->target, "?");
	if (path_len >= sizeof(req->path))
		path_len = sizeof(req->path) - 1;
	memcpy(req->path, req->target, path_len);
	req->path[path_len] = '\0';
	req->headers = strdup(line_end + 2);
	req->body = calloc(1, body_len + 1);
	assert_non_null(req->headers);
	assert_non_null(req->body);
	evbuffer_drain(in, head_len);
	evbuffer_remove(in, req->body, body_len);
	free(head);
	fake_respond(f, bev, req);
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd,
		      struct sockaddr *addr, int len, void *arg)
{
	struct fake *f = arg;
	struct bufferevent *bev = bufferevent_socket_new(
		f->base, fd, BEV_OPT_CLOSE_ON_FREE);

	(void)listener;
	(void)addr;
	(void)len;
	assert_non_null(bev);
	bufferevent_setcb(bev, on_read, NULL, on_event, f);
	bufferevent_enable(bev, EV_READ);
}

static void fake_start(struct fake *f, struct event_base *base)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->base = base;
	f->listener = evconnlistener_new_bind(
		base, on_accept, f, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
		16, (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(f->listener);
	assert_int_equal(getsockname(evconnlistener_get_fd(f->listener),
				     (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	f->offers = json_array();
	f->instances = json_array();
	f->next_id = 5000001;
}

static void fake_stop(struct fake *f)
{
	evconnlistener_free(f->listener);
	for (int i = 0; i < f->hung_count; i++)
		bufferevent_free(f->hung[i]);
	for (int i = 0; i < f->rule_count; i++)
		free(f->rules[i].body);
	for (int i = 0; i < f->request_count; i++) {
		free(f->requests[i].headers);
		free(f->requests[i].body);
	}
	json_decref(f->offers);
	json_decref(f->instances);
	json_decref(f->create_patch);
}

static int count_requests(const struct fake *f, const char *method,
			  const char *prefix)
{
	int n = 0;

	for (int i = 0; i < f->request_count; i++)
		if (strcmp(f->requests[i].method, method) == 0 &&
		    strncmp(f->requests[i].path, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static const struct request *find_request(const struct fake *f,
					  const char *method,
					  const char *prefix, int nth)
{
	for (int i = 0; i < f->request_count; i++)
		if (strcmp(f->requests[i].method, method) == 0 &&
		    strncmp(f->requests[i].path, prefix, strlen(prefix)) == 0 &&
		    nth-- == 0)
			return &f->requests[i];
	return NULL;
}

static void add_offer(struct fake *f, long long id, long long machine,
		      const char *gpu, double dph_base, double min_bid,
		      double reliability)
{
	json_t *offer = json_pack(
		"{s:I, s:I, s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f,"
		" s:s, s:b, s:b, s:f}",
		"id", (json_int_t)id, "machine_id", (json_int_t)machine,
		"gpu_name", gpu, "num_gpus", 1, "dph_base", dph_base,
		"dph_total", dph_base + 20 * 0.1 / 720, "storage_cost", 0.1,
		"min_bid", min_bid, "reliability", reliability,
		"disk_space", 200.0, "cuda_max_good", 12.4,
		"geolocation", "Oregon, US", "verified", 1, "rentable", 1,
		"inet_down", 900.0);

	assert_non_null(offer);
	json_array_append_new(f->offers, offer);
}

static void add_instance(struct fake *f, long long id, const char *label,
			 const char *extra)
{
	json_t *inst = json_pack("{s:I, s:s, s:I, s:s, s:i, s:f, s:s}",
				 "id", (json_int_t)id, "label", label,
				 "machine_id", (json_int_t)(id % 1000),
				 "gpu_name", "RTX 4090", "num_gpus", 1,
				 "dph_total", 0.31, "actual_status",
				 "running");
	json_t *patch = extra ? parse(extra) : NULL;

	assert_non_null(inst);
	if (patch)
		json_object_update(inst, patch);
	json_decref(patch);
	json_array_append_new(f->instances, inst);
}

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

struct fixture {
	struct event_base *base;
	struct event *tick;
	struct fake fake;
	struct hoist_provider *provider;
	struct hoist_vast_options opts;
	char base_url[64];
};

struct result {
	int calls;
	struct hoist_err err;
	struct hoist_provider_instance instance;
	int has_instance;
	struct hoist_provider_instance list[LIST_CAP];
	size_t count;
	json_t *json;
	double credit;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void open_provider(struct fixture *fx)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (fx->provider)
		hoist_provider_close(fx->provider);
	fx->provider = NULL;
	if (hoist_provider_vast_open(fx->base, &fx->opts, &fx->provider,
				     &err))
		fail_msg("cannot open the provider: %s", err.msg);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct timeval tv = { 0, 20000 };

	if (!fx)
		return -1;
	fx->base = event_base_new();
	fx->tick = event_new(fx->base, -1, EV_PERSIST, on_tick, NULL);
	event_add(fx->tick, &tv);
	fake_start(&fx->fake, fx->base);
	snprintf(fx->base_url, sizeof(fx->base_url), "http://127.0.0.1:%d/",
		 fx->fake.port);
	fx->opts.base_url = fx->base_url;
	fx->opts.api_key = KEY;
	fx->opts.request_timeout_ms = 2000;
	fx->opts.max_retries = 4;
	fx->opts.image = "docker.io/library/python:3.11-slim";
	fx->opts.backoff_base_ms = 5;
	fx->opts.backoff_max_ms = 40;
	fx->opts.poll_interval_ms = 20;
	open_provider(fx);
	*state = fx;
	return 0;
}

/* Checks that the key went only into Authorization headers. */
static void check_key_placement(const struct fake *f)
{
	char auth[128];

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", KEY);
	for (int i = 0; i < f->request_count; i++) {
		const struct request *r = &f->requests[i];
		const char *first = strstr(r->headers, KEY);

		if (strstr(r->target, KEY))
			fail_msg("request %d URL carries the key: %s %s", i,
				 r->method, r->target);
		if (strstr(r->body, KEY))
			fail_msg("request %d body carries the key", i);
		if (!first || strstr(first + 1, KEY))
			fail_msg("request %d has the key %s times in its "
				 "headers", i, first ? "several" : "zero");
		if (!strstr(r->headers, auth))
			fail_msg("request %d has no Authorization header",
				 i);
		if (strstr(r->target, "api_key"))
			fail_msg("request %d sends api_key in its URL", i);
	}
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->provider)
		hoist_provider_close(fx->provider);
	check_key_placement(&fx->fake);
	fake_stop(&fx->fake);
	event_free(fx->tick);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

static void wait_for(struct fixture *fx, const struct result *res)
{
	int64_t deadline = hoist_clock_mono_ms() + WAIT_MS;

	while (res->calls == 0) {
		if (hoist_clock_mono_ms() > deadline)
			fail_msg("no callback within %d ms", WAIT_MS);
		event_base_loop(fx->base, EVLOOP_ONCE);
	}
	/* Let a second, wrong callback show up. */
	for (int i = 0; i < 3; i++)
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(res->calls, 1);
}

/* Runs the loop for ms without waiting for anything. */
static void run_for(struct fixture *fx, int ms)
{
	int64_t deadline = hoist_clock_mono_ms() + ms;

	while (hoist_clock_mono_ms() < deadline)
		event_base_loop(fx->base, EVLOOP_ONCE);
}

static void keep_err(struct result *res, const struct hoist_err *err)
{
	res->calls++;
	if (err) {
		assert_int_not_equal(err->code, HOIST_OK);
		res->err = *err;
	}
}

static void on_instance(void *arg, const struct hoist_err *err,
			const struct hoist_provider_instance *instance)
{
	struct result *res = arg;

	keep_err(res, err);
	if (instance) {
		res->instance = *instance;
		res->has_instance = 1;
	}
}

static void on_list(void *arg, const struct hoist_err *err,
		    const struct hoist_provider_instance *list, size_t count)
{
	struct result *res = arg;

	keep_err(res, err);
	assert_true(count <= LIST_CAP);
	if (count)
		memcpy(res->list, list, count * sizeof(*list));
	res->count = count;
}

static void on_json(void *arg, const struct hoist_err *err, json_t *value)
{
	struct result *res = arg;

	keep_err(res, err);
	res->json = json_incref(value);
}

static void on_done(void *arg, const struct hoist_err *err)
{
	keep_err(arg, err);
}

static void on_credit(void *arg, const struct hoist_err *err, double credit)
{
	struct result *res = arg;

	keep_err(res, err);
	res->credit = credit;
}

static void on_show(void *arg, const struct hoist_err *err,
		    const json_t *raw, const struct hoist_provider_instance *i)
{
	struct result *res = arg;

	keep_err(res, err);
	res->json = raw ? json_incref((json_t *)raw) : NULL;
	if (i) {
		res->instance = *i;
		res->has_instance = 1;
	}
}

static json_t *profile(const char *extra)
{
	json_t *p = parse("{\"name\": \"dev-test\", \"gpu_name\": "
			  "\"RTX_4090\", \"num_gpus\": 1, \"max_dph\": 0.40, "
			  "\"reliability_min\": 0.95, "
			  "\"max_duration_hours\": 2.0, \"disk_gb\": 20, "
			  "\"interruptible\": false}");

	if (extra) {
		json_t *patch = parse(extra);

		json_object_update(p, patch);
		json_decref(patch);
	}
	return p;
}

static const char *const request_env[] = {
	"HOIST_ORCHESTRATOR_URL=http://203.0.113.7:7341",
	"HOIST_AGENT_TOKEN=" TOKEN,
	"HOIST_JOB_ID=j-3f9a2c1d",
	"HOIST_ATTEMPT=1",
	NULL,
};

/* Starts a create for the profile and waits for its callback. */
static void create(struct fixture *fx, json_t *p, const char *onstart,
		   struct result *res)
{
	struct hoist_instance_request req;
	struct hoist_err err = HOIST_ERR_INIT;

	memset(&req, 0, sizeof(req));
	req.label = LABEL;
	req.job_id = "j-3f9a2c1d";
	req.attempt = 1;
	req.profile = p;
	req.onstart = onstart ? onstart :
		      "#!/bin/sh\nexec /usr/local/bin/hoist-agent\n";
	req.env = request_env;
	memset(res, 0, sizeof(*res));
	if (fx->provider->ops->create(fx->provider, &req, on_instance, res,
				      &err))
		fail_msg("create did not start: %s", err.msg);
	assert_int_equal(res->calls, 0);
	wait_for(fx, res);
}

static void list(struct fixture *fx, const char *prefix, struct result *res)
{
	struct hoist_err err = HOIST_ERR_INIT;

	memset(res, 0, sizeof(*res));
	if (fx->provider->ops->list(fx->provider, prefix, on_list, res, &err))
		fail_msg("list did not start: %s", err.msg);
	assert_int_equal(res->calls, 0);
	wait_for(fx, res);
}

static void destroy(struct fixture *fx, const char *id, struct result *res)
{
	struct hoist_err err = HOIST_ERR_INIT;

	memset(res, 0, sizeof(*res));
	if (fx->provider->ops->destroy(fx->provider, id, on_instance, res,
				       &err))
		fail_msg("destroy did not start: %s", err.msg);
	assert_int_equal(res->calls, 0);
	wait_for(fx, res);
}

/* ------------------------------------------------------------------ */
/* create                                                              */
/* ------------------------------------------------------------------ */

static void create_rents_best_offer(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);
	const struct request *r;
	json_t *body;
	json_t *env;

	add_offer(f, 101, 11, "RTX 4090", 0.35, 0.2, 0.99);
	add_offer(f, 102, 12, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 103, 13, "RTX 3090", 0.10, 0.05, 0.99);
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.has_instance, 1);
	assert_string_equal(res.instance.id, "5000001");
	assert_string_equal(res.instance.label, LABEL);
	assert_string_equal(res.instance.offer, "102");
	assert_string_equal(res.instance.gpu_name, "RTX 4090");
	assert_int_equal(res.instance.state, HOIST_PINST_STARTING);
	assert_string_equal(res.instance.status, "loading");
	assert_true(fabs(res.instance.price_per_hour -
			 (0.30 + 20 * 0.1 / 720)) < 1e-9);
	assert_int_equal(res.instance.created_at_ms, 1718000000250LL);

	r = find_request(f, "POST", "/api/v0/bundles/", 0);
	assert_non_null(r);
	body = parse(r->body);
	assert_int_equal(json_integer_value(json_object_get(body, "limit")),
			 64);
	assert_string_equal(json_string_value(json_object_get(body, "type")),
			    "on-demand");
	assert_true(json_number_value(json_object_get(
		body, "allocated_storage")) == 20);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_object_get(body, "gpu_name"), "in"), 0)), "RTX 4090");
	assert_int_equal(json_array_size(json_object_get(json_object_get(
		body, "gpu_name"), "in")), 1);
	json_decref(body);

	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 1);
	r = find_request(f, "PUT", "/api/v0/asks/102/", 0);
	assert_non_null(r);
	assert_non_null(strstr(r->headers, "Content-Type: application/json"));
	body = parse(r->body);
	assert_string_equal(json_string_value(json_object_get(body, "label")),
			    LABEL);
	assert_string_equal(json_string_value(json_object_get(body, "image")),
			    "docker.io/library/python:3.11-slim");
	assert_true(json_number_value(json_object_get(body, "disk")) == 20);
	assert_string_equal(json_string_value(json_object_get(body,
							      "onstart")),
			    "#!/bin/sh\nexec /usr/local/bin/hoist-agent\n");
	assert_null(json_object_get(body, "price"));
	env = json_object_get(body, "env");
	assert_true(json_is_object(env));
	assert_int_equal(json_object_size(env), 4);
	assert_string_equal(json_string_value(json_object_get(
		env, "HOIST_AGENT_TOKEN")), TOKEN);
	assert_string_equal(json_string_value(json_object_get(
		env, "HOIST_ATTEMPT")), "1");
	json_decref(body);
	assert_int_equal(count_requests(f, "GET", "/api/v0/instances/5000001/"),
			 1);
	json_decref(p);
}

static void create_interruptible_bids(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile("{\"interruptible\": true}");
	const struct request *r;
	json_t *body;

	add_offer(f, 201, 21, "RTX 4090", 0.35, 0.15041, 0.99);
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_true(fabs(res.instance.price_per_hour -
			 (0.151 + 20 * 0.1 / 720)) < 1e-9);
	r = find_request(f, "POST", "/api/v0/bundles/", 0);
	body = parse(r->body);
	assert_string_equal(json_string_value(json_object_get(body, "type")),
			    "bid");
	json_decref(body);
	r = find_request(f, "PUT", "/api/v0/asks/201/", 0);
	body = parse(r->body);
	assert_true(fabs(json_number_value(json_object_get(body, "price")) -
			 0.151) < 1e-9);
	json_decref(body);
	json_decref(p);
}

static void create_mismatch_is_destroyed(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 301, 31, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 302, 32, "RTX 4090", 0.32, 0.2, 0.99);
	/* The server rents an interruptible instance for an on-demand
	 * request. */
	f->create_patch = parse("{\"is_bid\": true}");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_int_equal(res.has_instance, 0);
	assert_non_null(strstr(res.err.msg, "instance 5000001 rented on "
			       "offer 301 does not match the request: rental "
			       "type interruptible, expected on-demand"));
	assert_non_null(strstr(res.err.msg, "destroyed it"));
	assert_int_equal(count_requests(f, "DELETE",
					"/api/v0/instances/5000001/"), 1);
	assert_int_equal(json_array_size(f->instances), 0);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 1);
	json_decref(p);
}

static void create_rate_mismatch_is_destroyed(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 311, 31, "RTX 4090", 0.30, 0.2, 0.99);
	f->create_patch = parse("{\"dph_total\": \"0.75\", "
				"\"disk_space\": 20}");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_non_null(strstr(res.err.msg, "rate $0.7500/h"));
	assert_int_equal(json_array_size(f->instances), 0);
	json_decref(p);
}

static void create_failure_with_contract(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile("{\"interruptible\": true}");

	add_offer(f, 401, 41, "RTX 4090", 0.30, 0.10, 0.99);
	add_offer(f, 402, 42, "RTX 4090", 0.31, 0.11, 0.99);
	/* A bid below the minimum: an instance exists all the same. */
	fake_rule(f, "PUT", "/api/v0/asks/", 1, 1, ACTION_RESPOND, 400, NULL,
		  "{\"success\":false,\"error\":\"invalid_price\",\"msg\":"
		  "\"bid too low\",\"new_contract\":$ID}");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_string_equal(res.instance.id, "5000002");
	assert_string_equal(res.instance.offer, "402");
	assert_int_equal(count_requests(f, "DELETE",
					"/api/v0/instances/5000001/"), 1);
	assert_int_equal(json_array_size(f->instances), 1);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 2);
	json_decref(p);
}

static void create_lost_response_reconciles(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 501, 51, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 502, 52, "RTX 4090", 0.33, 0.2, 0.99);
	add_instance(f, 4000001, "someone-else", NULL);
	/* The rental happens, then the connection drops. */
	fake_rule(f, "PUT", "/api/v0/asks/", 1, 1, ACTION_DROP, 0, NULL,
		  NULL);
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_string_equal(res.instance.id, "5000001");
	assert_string_equal(res.instance.label, LABEL);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 1);
	assert_true(count_requests(f, "GET", "/api/v1/instances/") >= 1);
	assert_int_equal(json_array_size(f->instances), 2);
	json_decref(p);
}

static void create_lost_response_no_instance(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 511, 51, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 512, 52, "RTX 4090", 0.33, 0.2, 0.99);
	/* The connection drops before anything was rented. */
	fake_rule(f, "PUT", "/api/v0/asks/", 1, 0, ACTION_DROP, 0, NULL,
		  NULL);
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_string_equal(res.instance.offer, "512");
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/511/"), 1);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/512/"), 1);
	assert_int_equal(count_requests(f, "GET", "/api/v1/instances/"), 3);
	json_decref(p);
}

static void create_moves_past_gone_offer(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 601, 61, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 602, 62, "RTX 4090", 0.33, 0.2, 0.99);
	fake_rule(f, "PUT", "/api/v0/asks/", 1, 0, ACTION_RESPOND, 410, NULL,
		  "{\"success\":false,\"error\":\"no_such_ask\",\"msg\":\"error "
		  "410/3907: no_such_ask Instance type 601 is no longer "
		  "available.\",\"ask_id\":601}");
	fake_rule(f, "PUT", "/api/v0/asks/", 1, 0, ACTION_RESPOND, 503,
		  "text/html", "<html>503 Service Unavailable</html>");
	add_offer(f, 603, 63, "RTX 4090", 0.34, 0.2, 0.99);
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_string_equal(res.instance.offer, "603");
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 3);
	json_decref(p);
}

static void create_refreshes_after_batch(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	for (int i = 0; i < 5; i++)
		add_offer(f, 701 + i, 71 + i, "RTX 4090", 0.30 + i * 0.01,
			  0.2, 0.99);
	fake_rule(f, "PUT", "/api/v0/asks/", 3, 0, ACTION_RESPOND, 404, NULL,
		  "{\"success\":false,\"error\":\"invalid_args\",\"msg\":"
		  "\"error 404/3603: no_such_ask Instance type by id 1 is not "
		  "available.\"}");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_string_equal(res.instance.offer, "704");
	assert_int_equal(count_requests(f, "POST", "/api/v0/bundles/"), 2);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 4);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/701/"), 1);
	json_decref(p);
}

static void create_stops_when_offers_run_out(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 751, 75, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 752, 76, "RTX 4090", 0.31, 0.2, 0.99);
	fake_rule(f, "PUT", "/api/v0/asks/", 10, 0, ACTION_RESPOND, 410, NULL,
		  "{\"success\":false,\"error\":\"no_such_ask\",\"msg\":"
		  "\"error 410/3907: no_such_ask Instance type is no longer "
		  "available.\"}");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_non_null(strstr(res.err.msg, "no Vast.ai offer left for "
			       "profile dev-test"));
	assert_non_null(strstr(res.err.msg, "after 2 failed rentals"));
	assert_non_null(strstr(res.err.msg, "410/3907"));
	assert_int_equal(count_requests(f, "POST", "/api/v0/bundles/"), 2);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 2);
	json_decref(p);
}

static void create_gives_up_after_max(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	for (int i = 0; i < 12; i++)
		add_offer(f, 801 + i, 81 + i, "RTX 4090", 0.30, 0.2, 0.99);
	fake_rule(f, "PUT", "/api/v0/asks/", 100, 0, ACTION_RESPOND, 403,
		  NULL, "{\"success\":false,\"error\":\"invalid_args\",\"msg\":"
		  "\"error 403/3586: Offer is not your own.\"}");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_non_null(strstr(res.err.msg, "9 Vast.ai rentals for profile "
			       "dev-test: RTX_4090 x1"));
	assert_non_null(strstr(res.err.msg, "not your own"));
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 9);
	json_decref(p);
}

static void create_without_offer_is_not_found(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile("{\"max_dph\": 0.1}");

	add_offer(f, 901, 91, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 902, 92, "RTX 4090", 0.05, 0.2, 0.50);
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_E_NOT_FOUND);
	assert_non_null(strstr(res.err.msg, "no Vast.ai offer matches "
			       "profile dev-test"));
	assert_non_null(strstr(res.err.msg, "returned 2 offers"));
	assert_non_null(strstr(res.err.msg, "reliability_min removed 1, "
			       "max_dph removed 1"));
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 0);
	json_decref(p);
}

/* A search reply cut short is tried again.  One that never parses fails
 * the create as a provider error: it found no offers, not zero. */
static void create_retries_malformed_search(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 101, 11, "RTX 4090", 0.30, 0.2, 0.99);
	fake_rule(f, "POST", "/api/v0/bundles/", 1, 0, ACTION_RESPOND, 200,
		  NULL, "{\"offers\": [{\"id\": 1");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_string_equal(res.instance.offer, "101");
	assert_int_equal(count_requests(f, "POST", "/api/v0/bundles/"), 2);

	fake_rule(f, "POST", "/api/v0/bundles/", 10, 0, ACTION_RESPOND, 200,
		  NULL, "{\"offers\": [");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_non_null(strstr(res.err.msg, "has no \"offers\" (not JSON)"));
	assert_int_equal(count_requests(f, "POST", "/api/v0/bundles/"), 7);
	json_decref(p);
}

static void create_auth_error_stops(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_offer(f, 1001, 101, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 1002, 102, "RTX 4090", 0.31, 0.2, 0.99);
	fake_rule(f, "PUT", "/api/v0/asks/", 5, 0, ACTION_RESPOND, 401, NULL,
		  "{\"success\":false,\"error\":\"auth_error\",\"msg\":"
		  "\"Invalid user key\"}");
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_non_null(strstr(res.err.msg, "API key was rejected"));
	assert_non_null(strstr(res.err.msg, "HTTP 401 auth_error"));
	assert_null(strstr(res.err.msg, KEY));
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 1);
	json_decref(p);
}

static void create_rejects_long_onstart(void **state)
{
	struct fixture *fx = *state;
	struct hoist_instance_request req;
	struct hoist_err err = HOIST_ERR_INIT;
	struct result res;
	json_t *p = profile(NULL);
	char *script = malloc(5000);

	assert_non_null(script);
	memset(script, '#', 4999);
	script[4999] = '\0';
	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.label = LABEL;
	req.profile = p;
	req.onstart = script;
	req.env = request_env;
	assert_int_equal(fx->provider->ops->create(fx->provider, &req,
						   on_instance, &res, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_non_null(strstr(err.msg, "the onstart script is 4999 "
			       "characters long, but Vast.ai accepts at most "
			       "4096"));
	run_for(fx, 50);
	assert_int_equal(res.calls, 0);
	assert_int_equal(fx->fake.request_count, 0);
	free(script);
	json_decref(p);
}

static void create_rejects_bad_env(void **state)
{
	struct fixture *fx = *state;
	static const char *const env[] = {
		"-p 22:22=1", NULL,
	};
	static const char *const secret_env[] = {
		"HOIST_AGENT_TOKEN=" TOKEN
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		NULL,
	};
	struct hoist_instance_request req;
	struct hoist_err err = HOIST_ERR_INIT;
	struct result res;
	json_t *p = profile(NULL);

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.label = LABEL;
	req.profile = p;
	req.env = env;
	assert_int_equal(fx->provider->ops->create(fx->provider, &req,
						   on_instance, &res, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_non_null(strstr(err.msg, "invalid environment entry 0"));

	hoist_err_clear(&err);
	req.env = secret_env;
	assert_int_equal(fx->provider->ops->create(fx->provider, &req,
						   on_instance, &res, &err),
			 -1);
	assert_non_null(strstr(err.msg, "HOIST_AGENT_TOKEN is longer than"));
	assert_null(strstr(err.msg, TOKEN));

	hoist_err_clear(&err);
	json_object_set_new(p, "disk_gb", json_real(4));
	req.env = request_env;
	assert_int_equal(fx->provider->ops->create(fx->provider, &req,
						   on_instance, &res, &err),
			 -1);
	assert_non_null(strstr(err.msg, "profile.disk_gb"));
	assert_int_equal(fx->fake.request_count, 0);
	json_decref(p);
}

/* ------------------------------------------------------------------ */
/* Retries                                                             */
/* ------------------------------------------------------------------ */

static void retry_rate_limit_and_5xx(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;

	add_instance(f, 7001, LABEL, NULL);
	fake_rule(f, "GET", "/api/v1/instances/", 2, 0, ACTION_RESPOND, 429,
		  "text/plain", "API requests too frequent");
	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_RESPOND, 502,
		  "text/html", "<html>502 Bad Gateway</html>");
	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_RESPOND, 504,
		  "text/html", "<html>504</html>");
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.count, 1);
	assert_int_equal(count_requests(f, "GET", "/api/v1/instances/"), 5);
}

static void retry_gives_up_with_status(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;

	fx->opts.max_retries = 2;
	open_provider(fx);
	fake_rule(f, "GET", "/api/v1/instances/", 10, 0, ACTION_RESPOND, 429,
		  "text/plain", "API requests too frequent");
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_E_HTTP);
	assert_non_null(strstr(res.err.msg, "GET /api/v1/instances/ returned "
			       "HTTP 429 (after 3 tries): API requests too "
			       "frequent"));
	assert_int_equal(count_requests(f, "GET", "/api/v1/instances/"), 3);
}

static void retry_never_on_plain_4xx(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;

	fake_rule(f, "GET", "/api/v1/instances/", 10, 0, ACTION_RESPOND, 400,
		  NULL, "{\"success\":false,\"error\":\"invalid_token\","
		  "\"msg\":\"Invalid pagination token\"}");
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_non_null(strstr(res.err.msg, "invalid_token"));
	assert_int_equal(count_requests(f, "GET", "/api/v1/instances/"), 1);
}

static void retry_after_timeout(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;

	fx->opts.request_timeout_ms = 300;
	open_provider(fx);
	add_instance(f, 7002, LABEL, NULL);
	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_HANG, 0, NULL,
		  NULL);
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.count, 1);
	assert_int_equal(count_requests(f, "GET", "/api/v1/instances/"), 2);
}

static void response_body_is_bounded(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	size_t size = (9u << 20);
	char *huge = malloc(size + 1);

	assert_non_null(huge);
	memset(huge, ' ', size);
	huge[0] = '{';
	memcpy(huge + size - 2, "}", 2);
	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_RESPOND, 200,
		  NULL, huge);
	free(huge);
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_E_HTTP);
	assert_non_null(strstr(res.err.msg, "exceeds 8388608 bytes"));
	assert_int_equal(count_requests(f, "GET", "/api/v1/instances/"), 1);
}

/* ------------------------------------------------------------------ */
/* list and destroy                                                    */
/* ------------------------------------------------------------------ */

static void list_pages_and_filters(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	char label[64];
	const struct request *second;

	for (int i = 0; i < 30; i++) {
		snprintf(label, sizeof(label), i % 3 ? "hoist-o1-j-%d-a1" :
			 "other-%d", i);
		add_instance(f, 8000 + i, label, NULL);
	}
	add_instance(f, 8100, "hoist-o1-j-lost-a1",
		     "{\"actual_status\": \"exited\", \"status_msg\": "
		     "\"out of memory\"}");
	add_instance(f, 8101, "hoist-o1-j-outbid-a1",
		     "{\"actual_status\": \"stopped\", \"is_bid\": true, "
		     "\"cur_state\": \"stopped\", \"intended_status\": "
		     "\"stopped\", \"next_state\": \"stopped\"}");
	add_instance(f, 8102, "hoist-o1-j-new-a1",
		     "{\"actual_status\": null, \"dph_total\": \"0.5\"}");
	add_instance(f, 8103, "hoist-o2-j-x-a1", NULL);
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.count, 23);
	assert_int_equal(count_requests(f, "GET", "/api/v1/instances/"), 2);
	second = find_request(f, "GET", "/api/v1/instances/", 1);
	assert_non_null(strstr(second->target, "after_token=t25"));
	assert_non_null(strstr(second->target, "limit=25"));
	for (size_t i = 0; i < res.count; i++)
		assert_int_equal(strncmp(res.list[i].label, "hoist-o1-", 9), 0);
	assert_string_equal(res.list[0].id, "8001");
	assert_int_equal(res.list[0].state, HOIST_PINST_RUNNING);
	assert_int_equal(res.list[20].state, HOIST_PINST_LOST);
	assert_string_equal(res.list[20].status, "lost: exited: out of memory");
	assert_int_equal(res.list[21].state, HOIST_PINST_LOST);
	assert_non_null(strstr(res.list[21].status, "outbid"));
	assert_int_equal(res.list[22].state, HOIST_PINST_STARTING);
	assert_true(res.list[22].price_per_hour == 0.5);
	assert_string_equal(res.list[22].offer, "machine-102");
}

/* An instance destroyed right after an outbid, before any list saw it
 * stopped, still counts against its machine. */
static void destroy_of_outbid_skips_machine(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	json_t *p = profile(NULL);

	add_instance(f, 6011, LABEL,
		     "{\"actual_status\": \"stopped\", \"is_bid\": true, "
		     "\"cur_state\": \"stopped\", \"intended_status\": "
		     "\"stopped\", \"next_state\": \"stopped\"}");
	destroy(fx, "6011", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(count_requests(f, "GET", "/api/v0/instances/6011/"),
			 1);
	assert_int_equal(count_requests(f, "DELETE", "/api/v0/instances/"), 1);

	add_offer(f, 101, 11, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 102, 12, "RTX 4090", 0.35, 0.2, 0.99);
	create(fx, p, NULL, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_string_equal(res.instance.offer, "102");
	json_decref(p);
}

static void list_tolerates_null_instances(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;

	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_RESPOND, 200,
		  NULL, "{\"success\": true, \"instances\": null, "
		  "\"next_token\": null, \"unknown\": [1, {}]}");
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.count, 0);

	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_RESPOND, 200,
		  NULL, "{\"instances\": {\"id\": \"9001\", \"label\": "
		  "\"hoist-o1-j-1-a1\", \"actual_status\": \"loading\", "
		  "\"num_gpus\": null, \"dph_total\": null}}");
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.count, 1);
	assert_string_equal(res.list[0].id, "9001");
	assert_int_equal(res.list[0].state, HOIST_PINST_STARTING);
}

static void list_rejects_non_json(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;

	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_RESPOND, 410,
		  "text/plain", "Use /api/v1/instances/ instead");
	list(fx, "hoist-o1-", &res);
	assert_int_equal(res.err.code, HOIST_E_PROVIDER);
	assert_non_null(strstr(res.err.msg, "HTTP 410: Use /api/v1/instances/ "
			       "instead"));
}

static void destroy_is_idempotent(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct result res;
	struct hoist_err err = HOIST_ERR_INIT;

	add_instance(f, 6001, LABEL, NULL);
	destroy(fx, "6001", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(json_array_size(f->instances), 0);
	destroy(fx, "6001", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	fake_rule(f, "DELETE", "/api/v0/instances/", 1, 0, ACTION_RESPOND,
		  200, NULL, "{\"success\":false,\"error\":\"no_such_instance\","
		  "\"msg\":\"Instance 6001 not found.\"}");
	destroy(fx, "6001", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	fake_rule(f, "DELETE", "/api/v0/instances/", 1, 0, ACTION_RESPOND,
		  429, NULL, "{\"success\":false,\"error\":"
		  "\"rate_limit_exceeded\",\"msg\":\"API requests too frequent "
		  "endpoint threshold=3.0\"}");
	destroy(fx, "6001", &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(count_requests(f, "DELETE", "/api/v0/instances/"), 5);
	assert_int_equal(fx->provider->ops->destroy(fx->provider, "12a",
						    on_instance, &res, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
}

/* ------------------------------------------------------------------ */
/* Calls of vast.h and offers                                          */
/* ------------------------------------------------------------------ */

static void show_start_stop_bid(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct hoist_err err = HOIST_ERR_INIT;
	struct result res;
	const struct request *r;

	add_instance(f, 6101, LABEL, "{\"is_bid\": 1}");
	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_show(fx->provider, "6101", on_show, &res,
					 &err), 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.has_instance, 1);
	assert_string_equal(res.instance.label, LABEL);
	assert_int_equal(json_integer_value(json_object_get(res.json, "id")),
			 6101);
	json_decref(res.json);

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_show(fx->provider, "6999", on_show, &res,
					 &err), 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_int_equal(res.has_instance, 0);
	assert_null(res.json);

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_stop(fx->provider, "6101", on_done, &res,
					 &err), 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	r = find_request(f, "PUT", "/api/v0/instances/6101/", 0);
	assert_string_equal(r->body, "{\"state\":\"stopped\"}");

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_start(fx->provider, "6101", on_done, &res,
					  &err), 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	r = find_request(f, "PUT", "/api/v0/instances/6101/", 1);
	assert_string_equal(r->body, "{\"state\":\"running\"}");

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_stop(fx->provider, "6999", on_done, &res,
					 &err), 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_E_NOT_FOUND);

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_change_bid(fx->provider, "6101", 0.25,
					       on_done, &res, &err), 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	r = find_request(f, "PUT", "/api/v0/instances/bid_price/6101/", 0);
	assert_string_equal(r->body, "{\"client_id\":\"me\",\"price\":0.25}");

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_change_bid(fx->provider, "6101", -1,
					       on_done, &res, &err), 0);
	wait_for(fx, &res);
	r = find_request(f, "PUT", "/api/v0/instances/bid_price/6101/", 1);
	assert_string_equal(r->body, "{\"client_id\":\"me\",\"price\":null}");

	assert_int_equal(hoist_vast_change_bid(fx->provider, "6101", 0.0001,
					       on_done, &res, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
}

static void credit_and_charges(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct hoist_err err = HOIST_ERR_INIT;
	struct result res;
	const struct request *r;
	json_t *first;

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_user_credit(fx->provider, on_credit, &res,
						&err), 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_true(res.credit == 25.5);

	memset(&res, 0, sizeof(res));
	assert_int_equal(hoist_vast_charges(fx->provider, 1730419200,
					    1730678400, on_json, &res, &err),
			 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	assert_true(fabs(json_real_value(json_object_get(res.json, "total")) -
			 39.921) < 1e-9);
	assert_int_equal(json_array_size(json_object_get(res.json, "charges")),
			 2);
	first = json_array_get(json_object_get(res.json, "charges"), 0);
	assert_string_equal(json_string_value(json_object_get(
		first, "instance_id")), "12345678");
	assert_string_equal(json_string_value(json_object_get(first, "label")),
			    "my-training-job");
	assert_true(fabs(json_real_value(json_object_get(json_array_get(
		json_object_get(first, "items"), 1), "amount")) - 1.077) <
		1e-9);
	json_decref(res.json);
	r = find_request(f, "GET", "/api/v0/charges/", 0);
	assert_non_null(strstr(r->target, "select_filters=%7B%22day%22%3A%7B"
			       "%22gte%22%3A1730419200"));
	r = find_request(f, "GET", "/api/v0/charges/", 1);
	assert_non_null(strstr(r->target, "after_token=p2"));

	assert_int_equal(hoist_vast_charges(fx->provider, 10, 5, on_json,
					    &res, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
}

static void offers_reports_filters(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct hoist_err err = HOIST_ERR_INIT;
	struct result res;
	json_t *p = profile(NULL);
	const struct request *r;
	json_t *body;
	json_t *offers;
	json_t *filtered;

	add_offer(f, 1101, 111, "RTX 4090", 0.30, 0.2, 0.99);
	add_offer(f, 1102, 112, "RTX 4090", 0.90, 0.2, 0.99);
	add_offer(f, 1103, 113, "RTX 4090", 0.20, 0.2, 0.50);
	add_offer(f, 1104, 114, "RTX 4090", 0.25, 0.2, 0.97);
	memset(&res, 0, sizeof(res));
	assert_non_null(fx->provider->ops->offers);
	assert_int_equal(fx->provider->ops->offers(fx->provider, p, on_json,
						   &res, &err), 0);
	assert_int_equal(res.calls, 0);
	wait_for(fx, &res);
	assert_int_equal(res.err.code, HOIST_OK);
	offers = json_object_get(res.json, "offers");
	filtered = json_object_get(res.json, "filtered");
	assert_int_equal(json_array_size(offers), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		offers, 0), "id")), "1104");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		offers, 0), "gpu_name")), "RTX 4090");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		offers, 0), "location")), "Oregon, US");
	assert_int_equal(json_array_size(filtered), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		filtered, 0), "filter")), "reliability_min");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		filtered, 1), "filter")), "max_dph");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		filtered, 1), "removed")), 1);
	json_decref(res.json);
	r = find_request(f, "POST", "/api/v0/bundles/", 0);
	body = parse(r->body);
	assert_null(json_object_get(body, "dph_total"));
	assert_int_equal(json_integer_value(json_object_get(body, "limit")),
			 256);
	json_decref(body);
	assert_int_equal(count_requests(f, "PUT", "/api/v0/asks/"), 0);
	json_decref(p);
}

static void close_ends_pending_ops(void **state)
{
	struct fixture *fx = *state;
	struct fake *f = &fx->fake;
	struct hoist_err err = HOIST_ERR_INIT;
	struct result res;

	fake_rule(f, "GET", "/api/v1/instances/", 1, 0, ACTION_HANG, 0, NULL,
		  NULL);
	memset(&res, 0, sizeof(res));
	assert_int_equal(fx->provider->ops->list(fx->provider, "hoist-o1-",
						 on_list, &res, &err), 0);
	run_for(fx, 100);
	assert_int_equal(res.calls, 0);
	hoist_provider_close(fx->provider);
	fx->provider = NULL;
	assert_int_equal(res.calls, 1);
	assert_non_null(strstr(res.err.msg, "closed before the operation "
			       "finished"));
	run_for(fx, 50);
	assert_int_equal(res.calls, 1);
}

/* ------------------------------------------------------------------ */
/* Key loading                                                         */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *out = fopen(path, "w");

	assert_non_null(out);
	assert_true(fputs(text, out) >= 0);
	assert_int_equal(fclose(out), 0);
}

static void load_key_sources(void **state)
{
	char dir[] = "/tmp/hoist-vast-key-XXXXXX";
	char path[PATH_MAX];
	char key[600];
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("HOME", dir, 1);
	unsetenv("XDG_CONFIG_HOME");
	setenv("VAST_API_KEY", "env-key-1", 1);
	assert_int_equal(hoist_provider_vast_load_key(key, sizeof(key), &err),
			 0);
	assert_string_equal(key, "env-key-1");

	unsetenv("VAST_API_KEY");
	assert_int_equal(hoist_provider_vast_load_key(key, sizeof(key), &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_non_null(strstr(err.msg, "/.config/vastai/vast_api_key"));

	snprintf(path, sizeof(path), "%s/.vast_api_key", dir);
	write_file(path, "legacy-key\n");
	hoist_err_clear(&err);
	assert_int_equal(hoist_provider_vast_load_key(key, sizeof(key), &err),
			 0);
	assert_string_equal(key, "legacy-key");

	snprintf(path, sizeof(path), "%s/.config", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.config/vastai", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.config/vastai/vast_api_key", dir);
	write_file(path, "  xdg-key-2\r\n");
	assert_int_equal(hoist_provider_vast_load_key(key, sizeof(key), &err),
			 0);
	assert_string_equal(key, "xdg-key-2");

	write_file(path, "bad key\n");
	assert_int_equal(hoist_provider_vast_load_key(key, sizeof(key), &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_null(strstr(err.msg, "bad key"));
	assert_string_equal(key, "");

	setenv("XDG_CONFIG_HOME", dir, 1);
	hoist_err_clear(&err);
	assert_int_equal(hoist_provider_vast_load_key(key, sizeof(key), &err),
			 0);
	assert_string_equal(key, "legacy-key");

	setenv("VAST_API_KEY", "with\nnewline", 1);
	hoist_err_clear(&err);
	assert_int_equal(hoist_provider_vast_load_key(key, sizeof(key), &err),
			 -1);
	assert_null(strstr(err.msg, "newline"));
	unsetenv("VAST_API_KEY");
	unsetenv("XDG_CONFIG_HOME");

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void open_rejects_bad_options(void **state)
{
	struct fixture *fx = *state;
	struct hoist_vast_options opts = fx->opts;
	struct hoist_provider *p = NULL;
	struct hoist_err err = HOIST_ERR_INIT;

	opts.api_key = NULL;
	assert_int_equal(hoist_provider_vast_open(fx->base, &opts, &p, &err),
			 -1);
	assert_non_null(strstr(err.msg, "VAST_API_KEY"));
	opts.api_key = "key with space";
	hoist_err_clear(&err);
	assert_int_equal(hoist_provider_vast_open(fx->base, &opts, &p, &err),
			 -1);
	assert_null(strstr(err.msg, "key with space"));
	opts.api_key = KEY;
	opts.base_url = "ftp://127.0.0.1/";
	hoist_err_clear(&err);
	assert_int_equal(hoist_provider_vast_open(fx->base, &opts, &p, &err),
			 -1);
	assert_non_null(strstr(err.msg, "invalid Vast.ai base URL "
			       "'ftp://127.0.0.1/'"));
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_rents_best_offer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(create_interruptible_bids,
						setup, teardown),
		cmocka_unit_test_setup_teardown(create_mismatch_is_destroyed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			create_rate_mismatch_is_destroyed, setup, teardown),
		cmocka_unit_test_setup_teardown(create_failure_with_contract,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			create_lost_response_reconciles, setup, teardown),
		cmocka_unit_test_setup_teardown(
			create_lost_response_no_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(create_moves_past_gone_offer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(create_refreshes_after_batch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			create_stops_when_offers_run_out, setup, teardown),
		cmocka_unit_test_setup_teardown(create_gives_up_after_max,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			create_without_offer_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(create_auth_error_stops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(create_rejects_long_onstart,
						setup, teardown),
		cmocka_unit_test_setup_teardown(create_rejects_bad_env, setup,
						teardown),
		cmocka_unit_test_setup_teardown(retry_rate_limit_and_5xx,
						setup, teardown),
		cmocka_unit_test_setup_teardown(retry_gives_up_with_status,
						setup, teardown),
		cmocka_unit_test_setup_teardown(retry_never_on_plain_4xx,
						setup, teardown),
		cmocka_unit_test_setup_teardown(retry_after_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(response_body_is_bounded,
						setup, teardown),
		cmocka_unit_test_setup_teardown(list_pages_and_filters, setup,
						teardown),
		cmocka_unit_test_setup_teardown(list_tolerates_null_instances,
						setup, teardown),
		cmocka_unit_test_setup_teardown(list_rejects_non_json, setup,
						teardown),
		cmocka_unit_test_setup_teardown(create_retries_malformed_search,
						setup, teardown),
		cmocka_unit_test_setup_teardown(destroy_of_outbid_skips_machine,
						setup, teardown),
		cmocka_unit_test_setup_teardown(destroy_is_idempotent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(show_start_stop_bid, setup,
						teardown),
		cmocka_unit_test_setup_teardown(credit_and_charges, setup,
						teardown),
		cmocka_unit_test_setup_teardown(offers_reports_filters, setup,
						teardown),
		cmocka_unit_test_setup_teardown(close_ends_pending_ops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(open_rejects_bad_options,
						setup, teardown),
		cmocka_unit_test(load_key_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
