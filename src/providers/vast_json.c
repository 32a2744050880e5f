#include "providers/vast_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The maximum length of a response body quoted in an error message. */
#define EXCERPT_MAX 200

int hoist_vast_json_number(const json_t *value, double *out)
{
	const char *text;
	char *end;
	double v;

	if (json_is_number(value)) {
		*out = json_number_value(value);
		return 0;
	}
	if (!json_is_string(value))
		return -1;
	text = json_string_value(value);
	while (*text == ' ')
		text++;
	if (*text == '\0')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	while (*end == ' ')
		end++;
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int hoist_vast_json_get_number(const json_t *obj, const char *key,
			       double *out)
{
	return hoist_vast_json_number(json_object_get(obj, key), out);
}

int hoist_vast_json_get_bool(const json_t *obj, const char *key, int *out)
{
	const json_t *value = json_object_get(obj, key);
	const char *text;

	if (json_is_boolean(value)) {
		*out = json_is_true(value);
		return 0;
	}
	if (json_is_number(value)) {
		*out = json_number_value(value) != 0;
		return 0;
	}
	text = json_string_value(value);
	if (!text)
		return -1;
	if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

const char *hoist_vast_json_get_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int hoist_vast_json_get_id(const json_t *obj, const char *key, char *out,
			   size_t outlen)
{
	const json_t *value = json_object_get(obj, key);
	long long id;
	int n;

	if (json_is_integer(value)) {
		id = json_integer_value(value);
	} else if (json_is_real(value)) {
		double v = json_real_value(value);

		if (v < 1 || v > 9e15 || v != (double)(long long)v)
			return -1;
		id = (long long)v;
	} else if (json_is_string(value)) {
		const char *text = json_string_value(value);
		size_t len = strlen(text);

		if (len == 0 || len >= outlen ||
		    strspn(text, "0123456789") != len)
			return -1;
		memcpy(out, text, len + 1);
		return 0;
	} else {
		return -1;
	}
	if (id < 1)
		return -1;
	n = snprintf(out, outlen, "%lld", id);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

json_t *hoist_vast_json_instances(const json_t *root, struct hoist_err *err)
{
	const json_t *value;
	json_t *list;
	size_t i;
	json_t *item;

	if (!json_is_object(root)) {
		hoist_err_set(err, HOIST_E_PROVIDER,
			      "the Vast.ai response is not a JSON object");
		return NULL;
	}
	list = json_array();
	if (!list) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	value = json_object_get(root, "instances");
	if (!value || json_is_null(value))
		return list;
	if (json_is_object(value)) {
		json_array_append(list, (json_t *)value);
		return list;
	}
	if (!json_is_array(value)) {
		json_decref(list);
		hoist_err_set(err, HOIST_E_PROVIDER,
			      "the Vast.ai response has \"instances\" of "
			      "JSON type %d; expected a list, an object or "
			      "null", (int)json_typeof(value));
		return NULL;
	}
	json_array_foreach(value, i, item) {
		if (json_is_object(item))
			json_array_append(list, item);
	}
	return list;
}

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

static const char *body_message(const json_t *json)
{
	static const char *const keys[] = { "msg", "message", "detail" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *text = hoist_vast_json_get_string(json, keys[i]);

		if (text && *text)
			return text;
	}
	return NULL;
}

static int has_text(const char *text, const char *needle)
{
	return text && strstr(text, needle);
}

int hoist_vast_json_classify(const struct hoist_vast_http_response *resp)
{
	const json_t *json = json_is_object(resp->json) ? resp->json : NULL;
	const char *code = hoist_vast_json_get_string(json, "error");
	const char *msg = body_message(json);
	int success = 1;

	if (resp->transport_error)
		return HOIST_VAST_FAIL_TRANSPORT;
	if (resp->status == 429 || has_text(code, "rate_limit_exceeded"))
		return HOIST_VAST_FAIL_RATE_LIMIT;
	if (resp->status >= 500)
		return HOIST_VAST_FAIL_SERVER;
	if (json && hoist_vast_json_get_bool(json, "success", &success))
		success = 1;
	if (resp->status >= 200 && resp->status < 300 && success)
		return HOIST_VAST_OK;

	/* The offer-gone codes come as "error": "no_such_ask", or in msg
	 * with the internal codes 3603 (404) and 3907 (410). */
	if (has_text(code, "no_such_ask") || has_text(msg, "no_such_ask") ||
	    has_text(msg, "/3603") || has_text(msg, "/3907"))
		return HOIST_VAST_FAIL_NO_SUCH_ASK;
	if (has_text(code, "no_such_instance") ||
	    (code && strcmp(code, "not_found") == 0))
		return HOIST_VAST_FAIL_NO_SUCH_INSTANCE;
	if (has_text(code, "missing_billing"))
		return HOIST_VAST_FAIL_BILLING;
	if (has_text(code, "auth_error") || has_text(code, "not_authorized") ||
	    resp->status == 401 || has_text(msg, "Invalid user key") ||
	    has_text(msg, "Session expired") ||
	    has_text(msg, "requires login"))
		return HOIST_VAST_FAIL_AUTH;
	return HOIST_VAST_FAIL_REJECTED;
}

void hoist_vast_json_excerpt(char *out, size_t outlen, const char *text,
			     size_t len, size_t max, const char *secret)
{
	static const char redacted[] = "[redacted]";
	size_t secret_len = secret ? strlen(secret) : 0;
	size_t n = 0;
	size_t i = 0;
	int cut = 0;

	if (outlen == 0)
		return;
	while (i < len) {
		if (n >= max || n + 4 >= outlen) {
			cut = 1;
			break;
		}
		if (secret_len && len - i >= secret_len &&
		    memcmp(text + i, secret, secret_len) == 0) {
			if (n + sizeof(redacted) + 4 >= outlen) {
				cut = 1;
				break;
			}
			memcpy(out + n, redacted, sizeof(redacted) - 1);
			n += sizeof(redacted) - 1;
			i += secret_len;
			continue;
		}
		out[n++] = (unsigned char)text[i] < ' ' || text[i] == 0x7f ?
			   ' ' : text[i];
		i++;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	if (cut && n + 3 < outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

int hoist_vast_json_set_error(struct hoist_err *err,
			      const struct hoist_vast_http_response *resp,
			      const char *secret, const char *context)
{
	const json_t *json = json_is_object(resp->json) ? resp->json : NULL;
	int failure = hoist_vast_json_classify(resp);
	const char *code_text = hoist_vast_json_get_string(json, "error");
	const char *msg = body_message(json);
	char tries[48] = "";
	char code[64] = "";
	char detail[EXCERPT_MAX + 16];
	int hoist_code = HOIST_E_PROVIDER;

	if (resp->tries > 1)
		snprintf(tries, sizeof(tries), " (after %d tries)",
			 resp->tries);
	if (failure == HOIST_VAST_FAIL_TRANSPORT ||
	    failure == HOIST_VAST_FAIL_RATE_LIMIT ||
	    failure == HOIST_VAST_FAIL_SERVER)
		hoist_code = HOIST_E_HTTP;
	else if (failure == HOIST_VAST_FAIL_NO_SUCH_INSTANCE)
		hoist_code = HOIST_E_NOT_FOUND;

	if (failure == HOIST_VAST_FAIL_TRANSPORT) {
		hoist_vast_json_excerpt(detail, sizeof(detail),
					resp->transport_msg,
					strlen(resp->transport_msg),
					EXCERPT_MAX, secret);
		return hoist_err_set(err, hoist_code,
				     "%s: %s %s got no response%s: %s",
				     context, resp->method, resp->path, tries,
				     detail);
	}
	if (code_text && *code_text) {
		char excerpt[48];

		hoist_vast_json_excerpt(excerpt, sizeof(excerpt), code_text,
					strlen(code_text), 40, secret);
		snprintf(code, sizeof(code), " %s", excerpt);
	}
	if (msg)
		hoist_vast_json_excerpt(detail, sizeof(detail), msg,
					strlen(msg), EXCERPT_MAX, secret);
	else if (resp->body_len > 0 && !json)
		hoist_vast_json_excerpt(detail, sizeof(detail), resp->body,
					resp->body_len, EXCERPT_MAX, secret);
	else if (resp->body_len > 0)
		snprintf(detail, sizeof(detail), "no message in the body");
	else
		snprintf(detail, sizeof(detail), "empty body");
	hoist_err_set(err, hoist_code, "%s: %s %s returned HTTP %ld%s%s: %s",
		      context, resp->method, resp->path, resp->status, code,
		      tries, detail);
	if (failure == HOIST_VAST_FAIL_AUTH)
		hoist_err_prefix(err, "the Vast.ai API key was rejected; "
				 "check VAST_API_KEY or the vastai key file");
	return -1;
}
