/*
 * client.h - the agent's calls to hoistd's agent endpoints
 * (docs/protocol.md, "Agent endpoints"), with each outcome sorted into the
 * class that decides what the agent does next.
 */
#ifndef HOIST_CLIENT_H
#define HOIST_CLIENT_H

#include <jansson.h>

#include "common/err.h"
#include "worker/minihttp.h"

/* Longest orchestrator URL and token accepted from the environment. */
#define HOIST_CLIENT_URL_MAX 900
#define HOIST_CLIENT_TOKEN_MAX 400

enum hoist_client_result {
	HOIST_CLIENT_OK = 0,
	HOIST_CLIENT_TRANSIENT,		/* no response, or a 5xx: retry */
	HOIST_CLIENT_FENCED,		/* 409 or 410: the attempt is over */
	HOIST_CLIENT_UNAUTHORIZED,	/* 401: the token is not accepted */
	HOIST_CLIENT_REJECTED,		/* any other status */
};

struct hoist_client {
	struct hoist_minihttp http;	/* one kept-alive connection */
	char base_url[HOIST_CLIENT_URL_MAX + 1];	/* no trailing '/' */
	char token[HOIST_CLIENT_TOKEN_MAX + 1];
	long timeout_ms;				/* per request */
};

/*
 * Checks url (http:// only, see hoist_minihttp_init()) and token
 * (printable ASCII without spaces) and stores copies in client.  No
 * connection is opened yet.  The error never contains the token.  Returns
 * 0, or -1 with HOIST_E_INVALID.
 */
int hoist_client_init(struct hoist_client *client, const char *url,
		      const char *token, long timeout_ms,
		      struct hoist_err *err);

/* Closes the connection and overwrites the stored token. */
void hoist_client_release(struct hoist_client *client);

/*
 * Posts body (may be NULL) to base_url + path ("/v1/agent/claim") and
 * waits at most client->timeout_ms for the response, which may have 1 MiB
 * at most.  On HOIST_CLIENT_OK *out receives the response object (a new
 * reference, or NULL for an empty body).  For any other result err
 * contains the failure (the "error" member of a JSON error body when there
 * is one) and *status the HTTP status (0 without a response).
 */
enum hoist_client_result hoist_client_post(struct hoist_client *client,
					   const char *path, json_t *body,
					   json_t **out, long *status,
					   struct hoist_err *err);

/* Returns a lowercase name for result, for log lines. */
const char *hoist_client_result_name(enum hoist_client_result result);

#endif
