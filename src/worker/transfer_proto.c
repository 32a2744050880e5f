/*
 * transfer_proto.c - the request and result lines between hoist-agent and
 * hoist-transfer (see transfer.h).  Linked by both programs.
 */
#include "worker/transfer.h"

#include <stdlib.h>
#include <string.h>

#define JOB_ID_MAX 63
#define STORAGE_URL_MAX 1023
#define DIR_MAX 4095
#define TOKEN_MAX 400

static const char *op_name(enum hoist_transfer_op op)
{
	switch (op) {
	case HOIST_TRANSFER_UPLOAD:
		return "upload";
	case HOIST_TRANSFER_RESTORE:
		return "restore";
	case HOIST_TRANSFER_CHECK:
		return "check";
	case HOIST_TRANSFER_INPUT:
		return "input";
	case HOIST_TRANSFER_OUTPUT:
		return "output";
	}
	return "unknown";
}

/* Appends doc and a newline to out, then frees doc. */
static int append_line(json_t *doc, struct hoist_buf *out,
		       struct hoist_err *err)
{
	char *text;
	int rc;

	if (!doc)
		return hoist_err_set(err, HOIST_E_NOMEM, "cannot build a "
				     "transfer line: out of memory");
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return hoist_err_set(err, HOIST_E_NOMEM, "cannot encode a "
				     "transfer line: out of memory");
	rc = hoist_buf_appendf(out, err, "%s\n", text);
	free(text);
	return rc;
}

int hoist_transfer_request_format(const struct hoist_transfer_request *req,
				  struct hoist_buf *out, struct hoist_err *err)
{
	json_t *doc;

	doc = json_pack("{s:s, s:s, s:s, s:i, s:I}",
			"op", op_name(req->op),
			"storage_url", req->storage_url,
			"job_id", req->job_id,
			"attempt", req->attempt,
			"step", (json_int_t)req->step);
	if (doc && req->op != HOIST_TRANSFER_CHECK &&
	    json_object_set_new(doc, "dir", json_string(req->dir))) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc && req->op == HOIST_TRANSFER_OUTPUT &&
	    json_object_set_new(doc, "key", json_string(req->key))) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc && (req->op == HOIST_TRANSFER_RESTORE ||
		    req->op == HOIST_TRANSFER_INPUT) &&
	    (json_object_set_new(doc, "manifest_key",
				 json_string(req->manifest_key)) ||
	     json_object_set_new(doc, "manifest_sha256",
				 json_string(req->manifest_sha256 ?
					     req->manifest_sha256 : "")))) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc && req->orchestrator_url && req->token &&
	    (json_object_set_new(doc, "orchestrator_url",
				 json_string(req->orchestrator_url)) ||
	     json_object_set_new(doc, "token", json_string(req->token)))) {
		json_decref(doc);
		doc = NULL;
	}
	return append_line(doc, out, err);
}

/* Returns the string member name of doc if it has 1 to max bytes (0 to max
 * when may_be_empty), else NULL with err naming the member. */
static const char *get_string(const json_t *doc, const char *name,
			      size_t max, int may_be_empty,
			      struct hoist_err *err)
{
	const json_t *value = json_object_get(doc, name);
	size_t len;

	if (!json_is_string(value)) {
		hoist_err_set(err, HOIST_E_INVALID, "transfer field '%s' is "
			      "missing or not a string", name);
		return NULL;
	}
	len = json_string_length(value);
	if ((len == 0 && !may_be_empty) || len > max ||
	    strlen(json_string_value(value)) != len) {
		hoist_err_set(err, HOIST_E_INVALID, "transfer field '%s' must "
			      "have %d to %zu bytes and no NUL", name,
			      may_be_empty ? 0 : 1, max);
		return NULL;
	}
	return json_string_value(value);
}

static int get_integer(const json_t *doc, const char *name, json_int_t min,
		       json_int_t max, json_int_t *out, struct hoist_err *err)
{
	const json_t *value = json_object_get(doc, name);

	if (!json_is_integer(value) || json_integer_value(value) < min ||
	    json_integer_value(value) > max)
		return hoist_err_set(err, HOIST_E_INVALID, "transfer field "
				     "'%s' must be an integer from %lld to "
				     "%lld", name, (long long)min,
				     (long long)max);
	*out = json_integer_value(value);
	return 0;
}

static int sha256_hex_valid(const char *s)
{
	size_t len = strlen(s);

	if (len != 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int hoist_transfer_request_parse(const char *text, size_t len,
				 struct hoist_transfer_request_doc *out,
				 struct hoist_err *err)
{
	struct hoist_transfer_request *req = &out->req;
	json_error_t jerr;
	const char *op;
	json_int_t value;

	memset(out, 0, sizeof(*out));
	out->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(out->doc)) {
		hoist_err_set(err, HOIST_E_INVALID, "the transfer request is "
			      "not a JSON object: %s",
			      out->doc ? "another JSON type" : jerr.text);
		goto fail;
	}
	op = get_string(out->doc, "op", 16, 0, err);
	if (!op)
		goto fail;
	if (strcmp(op, "upload") == 0) {
		req->op = HOIST_TRANSFER_UPLOAD;
	} else if (strcmp(op, "restore") == 0) {
		req->op = HOIST_TRANSFER_RESTORE;
	} else if (strcmp(op, "check") == 0) {
		req->op = HOIST_TRANSFER_CHECK;
	} else if (strcmp(op, "input") == 0) {
		req->op = HOIST_TRANSFER_INPUT;
	} else if (strcmp(op, "output") == 0) {
		req->op = HOIST_TRANSFER_OUTPUT;
	} else {
		hoist_err_set(err, HOIST_E_INVALID, "transfer field 'op' is "
			      "'%s' (expected upload, restore, check, input "
			      "or output)", op);
		goto fail;
	}
	req->storage_url = get_string(out->doc, "storage_url",
				      STORAGE_URL_MAX, 0, err);
	req->job_id = get_string(out->doc, "job_id", JOB_ID_MAX, 0, err);
	if (!req->storage_url || !req->job_id)
		goto fail;
	if (get_integer(out->doc, "attempt", 1, 1000000000, &value, err))
		goto fail;
	req->attempt = (int)value;
	if (get_integer(out->doc, "step", 0, INT64_MAX, &value, err))
		goto fail;
	req->step = value;
	if (strncmp(req->storage_url, HOIST_TRANSFER_PRESIGNED,
		    strlen(HOIST_TRANSFER_PRESIGNED)) == 0) {
		req->orchestrator_url = get_string(out->doc,
						   "orchestrator_url",
						   STORAGE_URL_MAX, 0, err);
		req->token = get_string(out->doc, "token", TOKEN_MAX, 0,
					err);
		if (!req->orchestrator_url || !req->token)
			goto fail;
	}
	if (req->op == HOIST_TRANSFER_CHECK)
		return 0;

	req->dir = get_string(out->doc, "dir", DIR_MAX, 0, err);
	if (!req->dir)
		goto fail;
	if (req->dir[0] != '/') {
		hoist_err_set(err, HOIST_E_INVALID, "transfer field 'dir' is "
			      "'%s' (expected an absolute path)", req->dir);
		goto fail;
	}
	if (req->op == HOIST_TRANSFER_UPLOAD)
		return 0;
	if (req->op == HOIST_TRANSFER_OUTPUT) {
		req->key = get_string(out->doc, "key", HOIST_TRANSFER_KEY_MAX,
				      0, err);
		if (!req->key)
			goto fail;
		return 0;
	}

	req->manifest_key = get_string(out->doc, "manifest_key",
				       HOIST_TRANSFER_KEY_MAX, 0, err);
	req->manifest_sha256 = get_string(out->doc, "manifest_sha256", 64, 1,
					  err);
	if (!req->manifest_key || !req->manifest_sha256)
		goto fail;
	if ((req->manifest_sha256[0] || req->op == HOIST_TRANSFER_INPUT) &&
	    !sha256_hex_valid(req->manifest_sha256)) {
		hoist_err_set(err, HOIST_E_INVALID, "transfer field "
			      "'manifest_sha256' is '%s' (expected 64 "
			      "lowercase hex digits or \"\")",
			      req->manifest_sha256);
		goto fail;
	}
	return 0;
fail:
	hoist_transfer_request_release(out);
	return -1;
}

void hoist_transfer_request_release(struct hoist_transfer_request_doc *doc)
{
	json_decref(doc->doc);
	memset(doc, 0, sizeof(*doc));
}

int hoist_transfer_result_format(enum hoist_transfer_op op,
				 const struct hoist_transfer_result *result,
				 struct hoist_buf *out, struct hoist_err *err)
{
	json_t *doc;

	if (!result->ok)
		doc = json_pack("{s:b, s:s}", "ok", 0, "error", result->error);
	else if (op == HOIST_TRANSFER_CHECK)
		doc = json_pack("{s:b}", "ok", 1);
	else if (op == HOIST_TRANSFER_INPUT || op == HOIST_TRANSFER_OUTPUT)
		doc = json_pack("{s:b, s:I, s:I}", "ok", 1, "files",
				(json_int_t)result->files, "bytes",
				(json_int_t)result->bytes);
	else if (op == HOIST_TRANSFER_RESTORE)
		doc = json_pack("{s:b, s:I}", "ok", 1, "step",
				(json_int_t)result->step);
	else
		doc = json_pack("{s:b, s:I, s:s, s:s, s:I, s:I}", "ok", 1,
				"step", (json_int_t)result->step,
				"manifest_key", result->manifest_key,
				"manifest_sha256", result->manifest_sha256,
				"files", (json_int_t)result->files,
				"bytes", (json_int_t)result->bytes);
	return append_line(doc, out, err);
}

static int copy_string(const json_t *doc, const char *name, char *out,
		       size_t outlen, int may_be_empty, struct hoist_err *err)
{
	const char *value = get_string(doc, name, outlen - 1, may_be_empty,
				       err);

	if (!value)
		return -1;
	memcpy(out, value, strlen(value) + 1);
	return 0;
}

int hoist_transfer_result_parse(enum hoist_transfer_op op, const char *text,
				size_t len, struct hoist_transfer_result *out,
				struct hoist_err *err)
{
	json_error_t jerr;
	json_t *doc;
	json_t *ok;
	json_int_t value;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(doc)) {
		hoist_err_set(err, HOIST_E_INVALID, "the transfer result is "
			      "not a JSON object: %s",
			      doc ? "another JSON type" : jerr.text);
		goto out;
	}
	ok = json_object_get(doc, "ok");
	if (!json_is_boolean(ok)) {
		hoist_err_set(err, HOIST_E_INVALID, "transfer result field "
			      "'ok' is missing or not a boolean");
		goto out;
	}
	if (!json_is_true(ok)) {
		if (copy_string(doc, "error", out->error, sizeof(out->error), 0,
				err))
			goto out;
		rc = 0;
		goto out;
	}
	if (op == HOIST_TRANSFER_CHECK) {
		out->ok = 1;
		rc = 0;
		goto out;
	}
	if (op == HOIST_TRANSFER_INPUT || op == HOIST_TRANSFER_OUTPUT) {
		if (get_integer(doc, "files", 0, INT64_MAX, &value, err))
			goto out;
		out->files = (uint64_t)value;
		if (get_integer(doc, "bytes", 0, INT64_MAX, &value, err))
			goto out;
		out->bytes = (uint64_t)value;
		out->ok = 1;
		rc = 0;
		goto out;
	}
	if (get_integer(doc, "step", 0, INT64_MAX, &value, err))
		goto out;
	out->step = value;
	if (op == HOIST_TRANSFER_UPLOAD) {
		if (copy_string(doc, "manifest_key", out->manifest_key,
				sizeof(out->manifest_key), 0, err) ||
		    copy_string(doc, "manifest_sha256", out->manifest_sha256,
				sizeof(out->manifest_sha256), 0, err))
			goto out;
		if (!sha256_hex_valid(out->manifest_sha256)) {
			hoist_err_set(err, HOIST_E_INVALID, "transfer result "
				      "field 'manifest_sha256' is not 64 "
				      "lowercase hex digits");
			goto out;
		}
		if (get_integer(doc, "files", 0, INT64_MAX, &value, err))
			goto out;
		out->files = (uint64_t)value;
		if (get_integer(doc, "bytes", 0, INT64_MAX, &value, err))
			goto out;
		out->bytes = (uint64_t)value;
	}
	out->ok = 1;
	rc = 0;
out:
	json_decref(doc);
	return rc;
}
