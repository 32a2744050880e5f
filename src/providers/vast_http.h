/*
 * vast_http.h - the HTTP client of the Vast.ai provider: libcurl's multi
 * interface driven by a libevent loop.
 *
 * Every request carries the API key as "Authorization: Bearer" and
 * nowhere else: not in the URL, not in an error message.  Requests that
 * fail with HTTP 429, 502, 503 or 504, or without a response (refused,
 * reset, timed out), are tried again after an exponential backoff with
 * full jitter, unless the request allows retries on 429 only.
 *
 * Completion callbacks run from the event loop, never from inside
 * hoist_vast_http_send(), and each request gets exactly one, unless the
 * client is freed first: hoist_vast_http_free() drops the requests in
 * flight without calling them.
 */
#ifndef HOIST_VAST_HTTP_H
#define HOIST_VAST_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/err.h"

/* The largest response body kept; a larger one fails the request. */
#define HOIST_VAST_HTTP_BODY_MAX ((size_t)8 << 20)

/* The longest API key accepted, in bytes. */
#define HOIST_VAST_HTTP_KEY_MAX 512

enum hoist_vast_http_retry {
	HOIST_VAST_RETRY_ALL = 0,	/* 429, 502-504 and transport errors */
	HOIST_VAST_RETRY_RATE_LIMIT,	/* 429 only: the request may have
					 * taken effect otherwise */
};

struct hoist_vast_http_settings {
	const char *base_url;		/* "https://console.vast.ai" */
	const char *api_key;
	long timeout_ms;		/* each try */
	int max_retries;		/* tries after the first, >= 0 */
	long backoff_base_ms;
	long backoff_max_ms;
};

/* The outcome of a request, valid only during its callback. */
struct hoist_vast_http_response {
	const char *method;
	const char *path;		/* without the query */
	long status;			/* 0 when no response arrived */
	int transport_error;		/* a CURLcode, 0 when a response came */
	const char *transport_msg;	/* "" when a response came */
	const char *body;		/* NUL-terminated, "" when empty */
	size_t body_len;
	json_t *json;			/* the parsed body, NULL if not JSON */
	int tries;
};

typedef void (*hoist_vast_http_cb)(void *arg,
				   const struct hoist_vast_http_response *resp);

struct hoist_vast_http;

/* Creates a client on base; the settings are copied. */
int hoist_vast_http_new(struct event_base *base,
			const struct hoist_vast_http_settings *settings,
			struct hoist_vast_http **out, struct hoist_err *err);

/* Drops the requests in flight without calling their callbacks, wipes the
 * key from memory and frees the client.  http may be NULL. */
void hoist_vast_http_free(struct hoist_vast_http *http);

/*
 * Starts a request.  path starts with "/api/v0/" or "/api/v1/"; query is
 * NULL or an already encoded query string without "?"; body is NULL or
 * sent as JSON (PUT and DELETE without one send "{}").  Returns 0 and
 * calls cb later, or -1 with err set and never calls cb.
 */
int hoist_vast_http_send(struct hoist_vast_http *http, const char *method,
			 const char *path, const char *query,
			 const json_t *body, int retry,
			 hoist_vast_http_cb cb, void *arg,
			 struct hoist_err *err);

/*
 * Appends "name=value" to the query in buf (size buflen), URL-encoding
 * value and adding "&" when buf is not empty.  Fails with HOIST_E_NOMEM
 * when buf is too small.
 */
int hoist_vast_http_query_add(char *buf, size_t buflen, const char *name,
			      const char *value, struct hoist_err *err);

/* Returns the delay before retry number retry (from 0): a uniformly random
 * time in [0, min(max_ms, base_ms * 2^retry)], from random. */
long hoist_vast_http_backoff_ms(unsigned retry, long base_ms, long max_ms,
				unsigned long long random);

#endif
