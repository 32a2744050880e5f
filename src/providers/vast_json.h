/*
 * vast_json.h - tolerant reading of Vast.ai responses.
 *
 * The API sends numbers as JSON numbers or as numeric strings ("0.98",
 * invoice amounts, port numbers), booleans as true/false or 0/1, null for
 * almost any field, and fields that no document lists.  Error bodies are
 * JSON ({"success": false, "error": "no_such_ask", "msg": "..."}, or only
 * "msg", "message" or "detail") or plain text, such as the body of HTTP
 * 429 "API requests too frequent".  A request failed when its status is
 * not 2xx or its JSON body has "success": false.
 */
#ifndef HOIST_VAST_JSON_H
#define HOIST_VAST_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "providers/vast_http.h"

/* The failure class of a request, from its status, "error" code and
 * message. */
enum hoist_vast_failure {
	HOIST_VAST_OK = 0,
	HOIST_VAST_FAIL_TRANSPORT,	/* no response: refused, reset, timeout */
	HOIST_VAST_FAIL_RATE_LIMIT,	/* 429 or "rate_limit_exceeded" */
	HOIST_VAST_FAIL_SERVER,		/* 5xx */
	HOIST_VAST_FAIL_AUTH,		/* invalid key, login required */
	HOIST_VAST_FAIL_NO_SUCH_ASK,	/* the offer was rented by another */
	HOIST_VAST_FAIL_NO_SUCH_INSTANCE,
	HOIST_VAST_FAIL_BILLING,	/* "missing_billing" */
	HOIST_VAST_FAIL_REJECTED,	/* any other 4xx or "success": false */
};

/*
 * Reads value as a number: a JSON number or a string that contains one
 * whole finite decimal number.  Returns 0, or -1 for anything else (null,
 * a missing value, a boolean, text).
 */
int hoist_vast_json_number(const json_t *value, double *out);

/* hoist_vast_json_number() of obj[key]; obj may be NULL. */
int hoist_vast_json_get_number(const json_t *obj, const char *key,
			       double *out);

/* Reads obj[key] as a boolean: true/false, a number (0 is false) or the
 * strings "true", "false", "1", "0".  Returns 0, or -1 when absent, null or
 * of another form. */
int hoist_vast_json_get_bool(const json_t *obj, const char *key, int *out);

/* Returns obj[key] when it is a string, else NULL. */
const char *hoist_vast_json_get_string(const json_t *obj, const char *key);

/*
 * Writes obj[key] as a decimal id to out: a positive integer, a real with
 * an integer value or a string of digits.  Returns 0, or -1 when obj[key]
 * is none of those or does not fit outlen.
 */
int hoist_vast_json_get_id(const json_t *obj, const char *key, char *out,
			   size_t outlen);

/*
 * Returns the instances of a response as a new JSON array: root's
 * "instances" may be an array, one object (show instance) or null or
 * absent (none).  Elements that are not objects are dropped.  Fails with
 * HOIST_E_PROVIDER when root is not an object or "instances" has another
 * type.
 */
json_t *hoist_vast_json_instances(const json_t *root, struct hoist_err *err);

/* Classifies resp as enum hoist_vast_failure. */
int hoist_vast_json_classify(const struct hoist_vast_http_response *resp);

/*
 * Fills err from the failed resp and returns -1.  The message starts with
 * context, then gives the HTTP status, the "error" code and message of a
 * JSON body or the start of any other body, or the transport error, and
 * how many tries were made.  secret is removed from the text, and control
 * characters are replaced.  The code is HOIST_E_NOT_FOUND for a missing
 * instance, HOIST_E_HTTP for transport, 429 and 5xx failures, else
 * HOIST_E_PROVIDER.
 */
int hoist_vast_json_set_error(struct hoist_err *err,
			      const struct hoist_vast_http_response *resp,
			      const char *secret, const char *context);

/*
 * Copies text to out (size outlen) for an error message: control
 * characters become spaces, each occurrence of secret (when not NULL or
 * empty) becomes "[redacted]", and text longer than max bytes is cut and
 * ends with "...".
 */
void hoist_vast_json_excerpt(char *out, size_t outlen, const char *text,
			     size_t len, size_t max, const char *secret);

#endif
