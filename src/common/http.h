/*
 * http.h - a blocking HTTP/JSON client on libcurl for the agent and the CLI.
 *
 * hoistd itself never uses this: it drives libcurl from its event loop.
 * The bearer token goes in the Authorization header only, never in the URL,
 * and is never part of an error message.
 */
#ifndef HOIST_HTTP_H
#define HOIST_HTTP_H

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"

struct hoist_http_request {
	const char *method;	/* "GET", "POST", ... */
	const char *url;
	const char *bearer;	/* token for "Authorization: Bearer", or NULL */
	json_t *body;		/* sent as application/json, or NULL */
	long timeout_ms;	/* whole request; 0 means 30 s */
};

struct hoist_http_response {
	long status;		/* HTTP status, 0 if no response arrived */
	struct hoist_buf body;	/* raw body, limited to 16 MiB */
};

/* Initializes libcurl once per process; call before any thread starts. */
int hoist_http_global_init(struct hoist_err *err);

void hoist_http_response_init(struct hoist_http_response *resp);
void hoist_http_response_release(struct hoist_http_response *resp);

/*
 * Sends req and stores the status and body in resp (initialized by the
 * caller).  Returns 0 whenever a response arrived, whatever its status, and
 * -1 with HOIST_E_HTTP on a transport failure (refused, timed out, reset).
 */
int hoist_http_send(const struct hoist_http_request *req,
		    struct hoist_http_response *resp, struct hoist_err *err);

/*
 * Sends req and parses a JSON body.  Returns 0 and sets *out (owned by the
 * caller, may be NULL for an empty body) for a 2xx status.  For any other
 * status it returns -1 and fills err with the "error" message of the body
 * if present; err->code is HOIST_E_FENCED for 409 and 410, HOIST_E_NOT_FOUND
 * for 404, HOIST_E_INVALID for other 4xx, HOIST_E_HTTP otherwise.
 * *status (if not NULL) receives the HTTP status, 0 on transport failure.
 */
int hoist_http_json(const struct hoist_http_request *req, json_t **out,
		    long *status, struct hoist_err *err);

#endif
