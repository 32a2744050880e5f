#include "worker/client.h"

#include <stdio.h>
#include <string.h>

#include "common/http.h"

static int url_valid(const char *url)
{
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)
		return 0;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return 0;
	return 1;
}

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
	len = strlen(url);
	if (len > HOIST_CLIENT_URL_MAX || !url_valid(url))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "HOIST_ORCHESTRATOR_URL is invalid: "
				     "'%.200s' (expected http://HOST:PORT or "
				     "https://HOST:PORT, at most %d bytes)",
				     url, HOIST_CLIENT_URL_MAX);
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
	explicit_bzero(client->token, sizeof(client->token));
}

enum hoist_client_result hoist_client_post(struct hoist_client *client,
					   const char *path, json_t *body,
					   json_t **out, long *status,
					   struct hoist_err *err)
{
	struct hoist_http_request req;
	char url[HOIST_CLIENT_URL_MAX + 128];

	*out = NULL;
	*status = 0;
	snprintf(url, sizeof(url), "%s%s", client->base_url, path);
	req.method = "POST";
	req.url = url;
	req.bearer = client->token;
	req.body = body;
	req.timeout_ms = client->timeout_ms;
	if (hoist_http_json(&req, out, status, err) == 0)
		return HOIST_CLIENT_OK;
	if (*status == 0 || *status >= 500)
		return HOIST_CLIENT_TRANSIENT;
	if (*status == 409 || *status == 410)
		return HOIST_CLIENT_FENCED;
	if (*status == 401)
		return HOIST_CLIENT_UNAUTHORIZED;
	return HOIST_CLIENT_REJECTED;
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
