#include "common/http.h"

#include <string.h>

#include <curl/curl.h>

#define HTTP_BODY_MAX (16u << 20)

int hoist_http_global_init(struct hoist_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "libcurl initialization failed");
	return 0;
}

void hoist_http_response_init(struct hoist_http_response *resp)
{
	resp->status = 0;
	hoist_buf_init(&resp->body, HTTP_BODY_MAX);
}

void hoist_http_response_release(struct hoist_http_response *resp)
{
	hoist_buf_release(&resp->body);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hoist_buf *body = arg;
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_buf_append(body, data, size * nmemb, &err))
		return 0;
	return size * nmemb;
}

int hoist_http_send(const struct hoist_http_request *req,
		    struct hoist_http_response *resp, struct hoist_err *err)
{
	struct curl_slist *headers = NULL;
	char auth[512];
	char *payload = NULL;
	CURL *curl;
	CURLcode cc;
	int rc = -1;

	curl = curl_easy_init();
	if (!curl)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot create a libcurl handle");

	headers = curl_slist_append(headers, "Accept: application/json");
	if (req->bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 req->bearer);
		headers = curl_slist_append(headers, auth);
		memset(auth, 0, sizeof(auth));
	}
	if (req->body) {
		payload = json_dumps(req->body, JSON_COMPACT);
		if (!payload) {
			hoist_err_set(err, HOIST_E_NOMEM,
				      "cannot encode the request body");
			goto out;
		}
		headers = curl_slist_append(headers,
					    "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	}

	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp->body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 req->timeout_ms > 0 ? req->timeout_ms : 30000L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");

	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		hoist_err_set(err, HOIST_E_HTTP, "%s %s failed: %s",
			      req->method, req->url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	rc = 0;
out:
	curl_slist_free_all(headers);
	free(payload);
	curl_easy_cleanup(curl);
	return rc;
}

int hoist_http_json(const struct hoist_http_request *req, json_t **out,
		    long *status, struct hoist_err *err)
{
	struct hoist_http_response resp;
	json_t *doc = NULL;
	json_error_t jerr;
	int rc = -1;

	*out = NULL;
	if (status)
		*status = 0;
	hoist_http_response_init(&resp);
	if (hoist_http_send(req, &resp, err))
		goto out;
	if (status)
		*status = resp.status;
	if (resp.body.len > 0) {
		doc = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
		if (!doc && resp.status >= 200 && resp.status < 300) {
			hoist_err_set(err, HOIST_E_HTTP,
				      "%s %s returned invalid JSON: %s",
				      req->method, req->url, jerr.text);
			goto out;
		}
	}
	if (resp.status < 200 || resp.status >= 300) {
		const char *msg = doc ? json_string_value(
			json_object_get(doc, "error")) : NULL;
		int code = HOIST_E_HTTP;

		if (resp.status == 409 || resp.status == 410)
			code = HOIST_E_FENCED;
		else if (resp.status == 404)
			code = HOIST_E_NOT_FOUND;
		else if (resp.status >= 400 && resp.status < 500)
			code = HOIST_E_INVALID;
		hoist_err_set(err, code, "%s", msg ? msg : "unexpected response");
		if (!msg)
			hoist_err_prefix(err, "%s %s: HTTP %ld", req->method,
					 req->url, resp.status);
		goto out;
	}
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	json_decref(doc);
	hoist_http_response_release(&resp);
	return rc;
}
