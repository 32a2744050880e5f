#include "worker/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int token_valid(const char *token)
{
	if (token[0] == '\0')
		return 0;
	for (const char *p = token; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

int hoist_client_init(struct hoist_client *client, const char *url,
		      const char *token, long timeout_ms,
		      struct hoist_err *err)
{
	size_t len;

	memset(client, 0, sizeof(*client));
	client->http.fd = -1;
	len = strlen(url);
	if (len > HOIST_CLIENT_URL_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "HOIST_ORCHESTRATOR_URL is invalid: "
				     "'%.200s...' is longer than %d bytes",
				     url, HOIST_CLIENT_URL_MAX);
	if (hoist_minihttp_init(&client->http, url, err)) {
		hoist_err_prefix(err, "HOIST_ORCHESTRATOR_URL is invalid");
		return -1;
	}
	while (len > 0 && url[len - 1] == '/')
		len--;
	memcpy(client->base_url, url, len);
	client->base_url[len] = '\0';

	if (strlen(token) > HOIST_CLIENT_TOKEN_MAX || !token_valid(token))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "HOIST_AGENT_TOKEN is invalid (expected 1 "
				     "to %d printable ASCII characters without "
				     "spaces)", HOIST_CLIENT_TOKEN_MAX);
	memcpy(client->token, token, strlen(token) + 1);
	client->timeout_ms = timeout_ms;
	return 0;
}

void hoist_client_release(struct hoist_client *client)
{
	hoist_minihttp_close(&client->http);
	explicit_bzero(client->token, sizeof(client->token));
}

/* Sorts a response without a 2xx status into a result and fills err with
 * the "error" member of its JSON body, or with the status. */
static enum hoist_client_result classify(const char *path, long status,
					 const json_t *doc,
					 struct hoist_err *err)
{
	const char *msg = json_string_value(json_object_get(doc, "error"));
	int code = HOIST_E_HTTP;

	if (status == 409 || status == 410)
		code = HOIST_E_FENCED;
	else if (status == 404)
		code = HOIST_E_NOT_FOUND;
	else if (status >= 400 && status < 500)
		code = HOIST_E_INVALID;
	if (msg)
		hoist_err_set(err, code, "%s", msg);
	else
		hoist_err_set(err, code, "POST %s: HTTP %ld with no error "
			      "message", path, status);

	if (status >= 500)
		return HOIST_CLIENT_TRANSIENT;
	if (status == 409 || status == 410)
		return HOIST_CLIENT_FENCED;
	if (status == 401)
		return HOIST_CLIENT_UNAUTHORIZED;
	return HOIST_CLIENT_REJECTED;
}

enum hoist_client_result hoist_client_post(struct hoist_client *client,
					   const char *path, json_t *body,
					   json_t **out, long *status,
					   struct hoist_err *err)
{
	struct hoist_minihttp_request req;
	struct hoist_minihttp_response resp;
	enum hoist_client_result result = HOIST_CLIENT_TRANSIENT;
	json_error_t jerr;
	json_t *doc = NULL;
	char *payload = NULL;

	*out = NULL;
	*status = 0;
	hoist_buf_init(&resp.body, 0);
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload) {
			hoist_err_set(err, HOIST_E_NOMEM, "cannot encode the "
				      "request body of POST %s", path);
			goto out;
		}
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = path;
	req.bearer = client->token;
	req.accept = "application/json";
	req.content_type = payload ? "application/json" : NULL;
	req.body = payload;
	req.body_len = payload ? strlen(payload) : 0;
	req.timeout_ms = client->timeout_ms;
	if (hoist_minihttp_send(&client->http, &req, &resp, err))
		goto out;

	*status = resp.status;
	if (resp.body.len > 0)
		doc = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
	if (resp.status < 200 || resp.status >= 300) {
		result = classify(path, resp.status, doc, err);
		goto out;
	}
	if (!doc && resp.body.len > 0) {
		hoist_err_set(err, HOIST_E_HTTP, "POST %s%s returned invalid "
			      "JSON: %s", client->base_url, path, jerr.text);
		result = HOIST_CLIENT_REJECTED;
		goto out;
	}
	*out = doc;
	doc = NULL;
	result = HOIST_CLIENT_OK;
out:
	json_decref(doc);
	free(payload);
	hoist_minihttp_response_release(&resp);
	return result;
}

const char *hoist_client_result_name(enum hoist_client_result result)
{
	switch (result) {
	case HOIST_CLIENT_OK:
		return "ok";
	case HOIST_CLIENT_TRANSIENT:
		return "transient";
	case HOIST_CLIENT_FENCED:
		return "fenced";
	case HOIST_CLIENT_UNAUTHORIZED:
		return "unauthorized";
	case HOIST_CLIENT_REJECTED:
		return "rejected";
	}
	return "unknown";
}
