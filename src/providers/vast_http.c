/*
 * vast_http.c - libcurl multi requests on a libevent loop.
 *
 * libcurl reports which sockets to watch (CURLMOPT_SOCKETFUNCTION) and
 * when to call it back for timeouts (CURLMOPT_TIMERFUNCTION).  Each
 * watched socket gets a persistent libevent event, and the multi handle
 * gets one timer.  A finished transfer is never reported from inside libcurl: its
 * request arms its own timer, either with the backoff delay of the next
 * try or with 0 to deliver the response, so a callback may start new
 * requests or free the client.
 */
#include "providers/vast_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "common/buf.h"

#define BASE_URL_MAX 512
#define URL_MAX 8192
#define USER_AGENT "hoist/" HOIST_VERSION

struct http_socket {
	struct http_socket *next;
	struct hoist_vast_http *http;
	curl_socket_t fd;
	struct event *ev;
};

struct http_call {
	struct http_call *prev;
	struct http_call *next;
	struct hoist_vast_http *http;
	CURL *easy;
	struct curl_slist *headers;
	struct event *timer;
	char method[8];
	char path[512];
	char *payload;
	struct hoist_buf body;
	json_t *json;		/* body parsed as JSON, or NULL */
	int retry_policy;
	int tries;
	int deliver;		/* the timer delivers instead of retrying */
	long status;
	CURLcode result;
	char curl_msg[CURL_ERROR_SIZE];
	long retry_after_ms;	/* from a Retry-After header, -1 if none */
	hoist_vast_http_cb cb;
	void *arg;
};

struct hoist_vast_http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct http_socket *sockets;
	struct http_call *calls;
	char base_url[BASE_URL_MAX];
	char auth_header[HOIST_VAST_HTTP_KEY_MAX + 32];
	long timeout_ms;
	int max_retries;
	long backoff_base_ms;
	long backoff_max_ms;
	unsigned long long rng;
};

/* ------------------------------------------------------------------ */
/* Backoff                                                             */
/* ------------------------------------------------------------------ */

long hoist_vast_http_backoff_ms(unsigned retry, long base_ms, long max_ms,
				unsigned long long random)
{
	long ceiling = base_ms;

	if (base_ms <= 0 || max_ms <= 0)
		return 0;
	for (unsigned i = 0; i < retry && ceiling < max_ms; i++)
		ceiling = ceiling > max_ms / 2 ? max_ms : ceiling * 2;
	if (ceiling > max_ms)
		ceiling = max_ms;
	return (long)(random % ((unsigned long long)ceiling + 1));
}

/* splitmix64: enough for jitter, not for secrets. */
static unsigned long long next_random(unsigned long long *state)
{
	unsigned long long z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

static void call_unlink(struct http_call *call)
{
	struct hoist_vast_http *http = call->http;

	if (call->prev)
		call->prev->next = call->next;
	else if (http->calls == call)
		http->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = NULL;
	call->next = NULL;
}

static void call_free(struct http_call *call)
{
	if (call->timer)
		event_free(call->timer);
	if (call->easy)
		curl_easy_cleanup(call->easy);
	if (call->headers) {
		/* The list contains a copy of the Authorization header. */
		for (struct curl_slist *h = call->headers; h; h = h->next)
			memset(h->data, 0, strlen(h->data));
		curl_slist_free_all(call->headers);
	}
	free(call->payload);
	hoist_buf_release(&call->body);
	json_decref(call->json);
	free(call);
}

static void arm(struct http_call *call, long delay_ms)
{
	struct timeval tv = {
		.tv_sec = delay_ms / 1000,
		.tv_usec = (delay_ms % 1000) * 1000,
	};

	evtimer_add(call->timer, &tv);
}

static int should_retry(const struct http_call *call)
{
	if (call->tries > call->http->max_retries)
		return 0;
	if (call->result == CURLE_WRITE_ERROR)
		return 0;	/* the body limit: trying again cannot help */
	if (call->result != CURLE_OK)
		return call->retry_policy == HOIST_VAST_RETRY_ALL;
	if (call->status == 429)
		return 1;
	if (call->status == 502 || call->status == 503 ||
	    call->status == 504)
		return call->retry_policy == HOIST_VAST_RETRY_ALL;
	/* A success whose body does not parse was cut or garbled on the way,
	 * like a reset connection.  Read as a missing field, it would pass
	 * for an empty result, such as a search without offers. */
	if (call->status >= 200 && call->status < 300 &&
	    call->body.len > 0 && !call->json)
		return call->retry_policy == HOIST_VAST_RETRY_ALL;
	return 0;
}

/* Hands the finished call to its callback; the caller has removed the easy
 * handle from the multi handle. */
static void deliver(struct http_call *call)
{
	struct hoist_vast_http_response resp;
	char msg[CURL_ERROR_SIZE + 64];

	call_unlink(call);
	memset(&resp, 0, sizeof(resp));
	resp.method = call->method;
	resp.path = call->path;
	resp.tries = call->tries;
	resp.body = hoist_buf_str(&call->body);
	resp.body_len = call->body.len;
	resp.transport_msg = "";
	if (call->result != CURLE_OK) {
		resp.transport_error = (int)call->result;
		if (call->result == CURLE_WRITE_ERROR)
			snprintf(msg, sizeof(msg),
				 "the response body exceeds %zu bytes",
				 (size_t)HOIST_VAST_HTTP_BODY_MAX);
		else
			snprintf(msg, sizeof(msg), "%s",
				 call->curl_msg[0] ? call->curl_msg :
				 curl_easy_strerror(call->result));
		resp.transport_msg = msg;
		resp.body = "";
		resp.body_len = 0;
	} else {
		resp.status = call->status;
		resp.json = call->json;
		call->json = NULL;
	}
	/* The callback may free the client: touch only the call after it. */
	call->cb(call->arg, &resp);
	json_decref(resp.json);
	call_free(call);
}

static int start_try(struct http_call *call, struct hoist_err *err)
{
	CURLMcode mc;

	hoist_buf_reset(&call->body);
	call->status = 0;
	call->result = CURLE_OK;
	call->curl_msg[0] = '\0';
	call->retry_after_ms = -1;
	call->tries++;
	mc = curl_multi_add_handle(call->http->multi, call->easy);
	if (mc != CURLM_OK)
		return hoist_err_set(err, HOIST_E_HTTP,
				     "%s %s: cannot start the request: %s",
				     call->method, call->path,
				     curl_multi_strerror(mc));
	return 0;
}

static void on_call_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_call *call = arg;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)fd;
	(void)what;
	if (call->deliver) {
		deliver(call);
		return;
	}
	if (start_try(call, &err)) {
		call->result = CURLE_FAILED_INIT;
		snprintf(call->curl_msg, sizeof(call->curl_msg), "%.200s",
			 err.msg);
		deliver(call);
	}
}

/* Decides what follows a finished transfer: another try or delivery. */
static void call_done(struct http_call *call, CURLcode result)
{
	struct hoist_vast_http *http = call->http;
	long delay;

	curl_multi_remove_handle(http->multi, call->easy);
	call->result = result;
	json_decref(call->json);
	call->json = NULL;
	if (result == CURLE_OK) {
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE,
				  &call->status);
		if (call->body.len > 0)
			call->json = json_loadb(call->body.data,
						call->body.len,
						JSON_DECODE_ANY, NULL);
	}
	if (!should_retry(call)) {
		call->deliver = 1;
		arm(call, 0);
		return;
	}
	delay = hoist_vast_http_backoff_ms((unsigned)(call->tries - 1),
					   http->backoff_base_ms,
					   http->backoff_max_ms,
					   next_random(&http->rng));
	if (call->retry_after_ms > delay)
		delay = call->retry_after_ms < http->backoff_max_ms ?
			call->retry_after_ms : http->backoff_max_ms;
	arm(call, delay);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_call *call = arg;
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_buf_append(&call->body, data, size * nmemb, &err))
		return 0;
	return size * nmemb;
}

/* Records a Retry-After header given in seconds.  Vast.ai does not send
 * one as of 2026, but a client should honour it if it appears. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_call *call = arg;
	size_t len = size * nmemb;
	static const char name[] = "retry-after:";
	char value[32];
	size_t n;
	char *end;
	long seconds;

	if (len <= sizeof(name) - 1 ||
	    strncasecmp(data, name, sizeof(name) - 1) != 0)
		return len;
	n = len - (sizeof(name) - 1);
	if (n >= sizeof(value))
		return len;
	memcpy(value, data + sizeof(name) - 1, n);
	value[n] = '\0';
	seconds = strtol(value, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (*end == '\0' && seconds >= 0 && seconds < 86400)
		call->retry_after_ms = seconds * 1000;
	return len;
}

/* ------------------------------------------------------------------ */
/* libcurl multi on libevent                                           */
/* ------------------------------------------------------------------ */

static void check_done(struct hoist_vast_http *http)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(http->multi, &left))) {
		struct http_call *call = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &call);
		if (call)
			call_done(call, msg->data.result);
	}
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct hoist_vast_http *http = arg;
	int action = 0;
	int running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(http->multi, fd, action, &running);
	check_done(http);
}

static void on_multi_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hoist_vast_http *http = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0,
				 &running);
	check_done(http);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct hoist_vast_http *http = arg;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(http->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(http->timer, &tv) == 0 ? 0 : -1;
}

static void socket_forget(struct hoist_vast_http *http,
			  struct http_socket *sock)
{
	for (struct http_socket **p = &http->sockets; *p; p = &(*p)->next) {
		if (*p == sock) {
			*p = sock->next;
			break;
		}
	}
	event_free(sock->ev);
	free(sock);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
			  void *socket_arg)
{
	struct hoist_vast_http *http = arg;
	struct http_socket *sock = socket_arg;
	short events = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sock) {
			curl_multi_assign(http->multi, fd, NULL);
			socket_forget(http, sock);
		}
		return 0;
	}
	if (!sock) {
		sock = calloc(1, sizeof(*sock));
		if (!sock)
			return -1;
		sock->http = http;
		sock->fd = fd;
		sock->next = http->sockets;
		http->sockets = sock;
		curl_multi_assign(http->multi, fd, sock);
	} else {
		event_free(sock->ev);
		sock->ev = NULL;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	sock->ev = event_new(http->base, fd, events, on_socket_event, http);
	if (!sock->ev || event_add(sock->ev, NULL) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

static int key_valid(const char *key)
{
	size_t len = strlen(key);

	if (len == 0 || len > HOIST_VAST_HTTP_KEY_MAX)
		return 0;
	for (const char *p = key; *p; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return 1;
}

int hoist_vast_http_new(struct event_base *base,
			const struct hoist_vast_http_settings *settings,
			struct hoist_vast_http **out, struct hoist_err *err)
{
	struct hoist_vast_http *http;
	unsigned long long seed = 0;
	size_t len;

	*out = NULL;
	if (!settings->api_key || !key_valid(settings->api_key))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the Vast.ai API key is missing, longer "
				     "than %d bytes or holds characters "
				     "other than printable ASCII",
				     HOIST_VAST_HTTP_KEY_MAX);
	len = strlen(settings->base_url);
	while (len > 0 && settings->base_url[len - 1] == '/')
		len--;
	if ((strncmp(settings->base_url, "http://", 7) != 0 &&
	     strncmp(settings->base_url, "https://", 8) != 0) ||
	    len >= BASE_URL_MAX || len <= 8)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid Vast.ai base URL '%.200s': "
				     "expected http:// or https:// and a host",
				     settings->base_url);

	http = calloc(1, sizeof(*http));
	if (!http)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	http->base = base;
	memcpy(http->base_url, settings->base_url, len);
	http->base_url[len] = '\0';
	snprintf(http->auth_header, sizeof(http->auth_header),
		 "Authorization: Bearer %s", settings->api_key);
	http->timeout_ms = settings->timeout_ms;
	http->max_retries = settings->max_retries;
	http->backoff_base_ms = settings->backoff_base_ms;
	http->backoff_max_ms = settings->backoff_max_ms;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (unsigned long long)time(NULL) ^
		       ((unsigned long long)getpid() << 32);
	http->rng = seed;

	http->timer = evtimer_new(base, on_multi_timer, http);
	http->multi = curl_multi_init();
	if (!http->timer || !http->multi) {
		hoist_vast_http_free(http);
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot create the libcurl multi handle "
				     "or its timer");
	}
	curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION,
			  on_curl_socket);
	curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
	curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
	*out = http;
	return 0;
}

void hoist_vast_http_free(struct hoist_vast_http *http)
{
	if (!http)
		return;
	while (http->calls) {
		struct http_call *call = http->calls;

		call_unlink(call);
		if (http->multi)
			curl_multi_remove_handle(http->multi, call->easy);
		call_free(call);
	}
	if (http->multi)
		curl_multi_cleanup(http->multi);
	while (http->sockets)
		socket_forget(http, http->sockets);
	if (http->timer)
		event_free(http->timer);
	memset(http->auth_header, 0, sizeof(http->auth_header));
	free(http);
}

int hoist_vast_http_query_add(char *buf, size_t buflen, const char *name,
			      const char *value, struct hoist_err *err)
{
	char *escaped = curl_easy_escape(NULL, value, 0);
	size_t used = strlen(buf);
	int n;

	if (!escaped)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot encode the query value of %s",
				     name);
	n = snprintf(buf + used, buflen - used, "%s%s=%s", used ? "&" : "",
		     name, escaped);
	curl_free(escaped);
	if (n < 0 || (size_t)n >= buflen - used) {
		buf[used] = '\0';
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "the query string is longer than %zu "
				     "bytes at %s", buflen, name);
	}
	return 0;
}

static int build_headers(struct http_call *call, int has_body,
			 struct hoist_err *err)
{
	const char *fixed[] = {
		"Accept: application/json",
		has_body ? "Content-Type: application/json" : NULL,
		"Expect:",	/* no "100-continue" round trip */
		call->http->auth_header,
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct curl_slist *next;

		if (!fixed[i])
			continue;
		next = curl_slist_append(call->headers, fixed[i]);
		if (!next)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		call->headers = next;
	}
	return 0;
}

int hoist_vast_http_send(struct hoist_vast_http *http, const char *method,
			 const char *path, const char *query,
			 const json_t *body, int retry,
			 hoist_vast_http_cb cb, void *arg,
			 struct hoist_err *err)
{
	struct http_call *call;
	char url[URL_MAX];
	int has_body = body || strcmp(method, "PUT") == 0 ||
		       strcmp(method, "DELETE") == 0 ||
		       strcmp(method, "POST") == 0;
	int n;

	if (strncmp(path, "/api/v", 6) != 0 || strlen(path) >= 512 ||
	    strlen(method) >= 8)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "invalid Vast.ai request %s %.100s",
				     method, path);
	n = snprintf(url, sizeof(url), "%s%s%s%s", http->base_url, path,
		     query && *query ? "?" : "", query ? query : "");
	if (n < 0 || (size_t)n >= sizeof(url))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the URL of %s %s is longer than %zu "
				     "bytes", method, path, sizeof(url));

	call = calloc(1, sizeof(*call));
	if (!call)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	call->http = http;
	snprintf(call->method, sizeof(call->method), "%s", method);
	snprintf(call->path, sizeof(call->path), "%s", path);
	call->retry_policy = retry;
	call->cb = cb;
	call->arg = arg;
	hoist_buf_init(&call->body, HOIST_VAST_HTTP_BODY_MAX);
	if (has_body) {
		call->payload = body ? json_dumps(body, JSON_COMPACT) :
				       strdup("{}");
		if (!call->payload) {
			hoist_err_set(err, HOIST_E_NOMEM,
				      "cannot encode the body of %s %s",
				      method, path);
			goto fail;
		}
	}
	call->timer = evtimer_new(http->base, on_call_timer, call);
	call->easy = curl_easy_init();
	if (!call->timer || !call->easy) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "cannot create a libcurl handle");
		goto fail;
	}
	if (build_headers(call, has_body, err))
		goto fail;

	curl_easy_setopt(call->easy, CURLOPT_URL, url);
	curl_easy_setopt(call->easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(call->easy, CURLOPT_HTTPGET, 1L);
	if (call->payload) {
		curl_easy_setopt(call->easy, CURLOPT_POSTFIELDS,
				 call->payload);
		curl_easy_setopt(call->easy, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(call->payload));
	}
	curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->headers);
	curl_easy_setopt(call->easy, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(call->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(call->easy, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(call->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(call->easy, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(call->easy, CURLOPT_ERRORBUFFER, call->curl_msg);
	curl_easy_setopt(call->easy, CURLOPT_PRIVATE, call);
	curl_easy_setopt(call->easy, CURLOPT_TIMEOUT_MS, http->timeout_ms);
	curl_easy_setopt(call->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 http->timeout_ms < 10000 ? http->timeout_ms : 10000L);
	curl_easy_setopt(call->easy, CURLOPT_NOSIGNAL, 1L);
	/* A redirect could lead the bearer token to another host. */
	curl_easy_setopt(call->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(call->easy, CURLOPT_PROTOCOLS_STR, "http,https");

	call->next = http->calls;
	if (http->calls)
		http->calls->prev = call;
	http->calls = call;
	if (start_try(call, err)) {
		call_unlink(call);
		goto fail;
	}
	return 0;
fail:
	call_free(call);
	return -1;
}
