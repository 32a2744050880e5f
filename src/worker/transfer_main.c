/*
 * hoist-transfer - uploads or restores one checkpoint for hoist-agent.
 *
 * hoist-agent starts it for every checkpoint upload and restore, so that
 * a slow artifact store never delays the agent's heartbeats and so that the
 * storage code and its libraries stay out of the agent's memory.  It reads
 * one JSON request line on stdin, does the transfer, and writes one JSON
 * result line to stdout; transfer.h describes both lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/http.h"
#include "common/log.h"
#include "storage/artifact.h"
#include "storage/checkpoint.h"
#include "storage/s3.h"
#include "worker/transfer.h"

#ifndef HOIST_VERSION
#define HOIST_VERSION "unknown"
#endif

enum {
	EXIT_DONE = 0,		/* the result line says ok */
	EXIT_FAILED = 1,	/* the result line has the error */
	EXIT_NO_RESULT = 2,	/* usage error, or stdout not writable */
};

static const char usage_text[] =
	"usage: hoist-transfer [--help | --version]\n"
	"\n"
	"Uploads or restores one checkpoint on the artifact store for\n"
	"hoist-agent, which starts it.  Reads one JSON request line on stdin:\n"
	"\n"
	"  {\"op\":\"upload\",\"storage_url\":\"file:///srv/artifacts\",\n"
	"   \"job_id\":\"j-1\",\"attempt\":1,\"step\":100,\n"
	"   \"dir\":\"/work/agent/checkpoints/step-100\"}\n"
	"  {\"op\":\"restore\",...,\"dir\":\"/work/agent/resume\",\n"
	"   \"manifest_key\":\"jobs/...\",\"manifest_sha256\":\"...\"}\n"
	"  {\"op\":\"check\",\"storage_url\":...,\"job_id\":...,\"attempt\":1,\n"
	"   \"step\":0}   (opens the store only)\n"
	"\n"
	"and writes one JSON result line to stdout: {\"ok\":true,...} or\n"
	"{\"ok\":false,\"error\":\"...\"}.  HOIST_AGENT_LOG_LEVEL sets the\n"
	"level of the log lines on stderr.  Exit codes: 0 done, 1 failed (the\n"
	"result line contains the error), 2 usage error or no result\n"
	"written.\n";

static int read_request(struct hoist_buf *buf, struct hoist_err *err)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hoist_err_set(err, HOIST_E_IO, "cannot read the "
					     "request from stdin: %s",
					     strerror(errno));
		if (n == 0)
			return 0;
		if (hoist_buf_append(buf, chunk, (size_t)n, err)) {
			hoist_err_prefix(err, "the request on stdin is too "
					 "long");
			return -1;
		}
	}
}

/* Tries of one presign call when hoistd does not respond or fails with a
 * 5xx status, and the pause between them. */
#define PRESIGN_TRIES 5
#define PRESIGN_RETRY_MS 1000

/* The source of presigned URLs: hoistd's agent endpoint. */
struct presign_source {
	char endpoint[1100];		/* orchestrator URL + /v1/agent/presign */
	const char *token;		/* the attempt token */
};

static json_t *presign_body(const char *method, const char *key,
			    const struct hoist_s3_param *query, size_t nquery)
{
	json_t *params = json_object();
	json_t *body;

	for (size_t i = 0; params && i < nquery; i++)
		if (json_object_set_new(params, query[i].name,
					json_string(query[i].value ?
						    query[i].value : ""))) {
			json_decref(params);
			params = NULL;
		}
	if (!params)
		return NULL;
	body = json_pack("{s:s, s:o, s:o}", "method", method, "key",
			 key ? json_string(key) : json_null(), "query",
			 params);
	return body;
}

/* The presign callback of the S3 store: requests the URL of one
 * request from hoistd.  The URL is never logged nor part of an error. */
static int presign_from_hoistd(void *arg, const char *method,
			       const char *key,
			       const struct hoist_s3_param *query,
			       size_t nquery, char *url, size_t urllen,
			       struct hoist_err *err)
{
	const struct presign_source *source = arg;
	struct hoist_http_request request = {
		.method = "POST",
		.url = source->endpoint,
		.bearer = source->token,
		.timeout_ms = 30000,
	};
	json_t *reply = NULL;
	const char *signed_url;
	long status = 0;
	int rc = -1;

	request.body = presign_body(method, key, query, nquery);
	if (!request.body)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	for (int attempt = 1;; attempt++) {
		struct hoist_err call_err = HOIST_ERR_INIT;

		if (hoist_http_json(&request, &reply, &status, &call_err) == 0)
			break;
		if ((status != 0 && status < 500) || attempt == PRESIGN_TRIES) {
			hoist_err_set(err, call_err.code, "hoistd did not "
				      "presign %s %s: %s", method,
				      key ? key : "(bucket)", call_err.msg);
			goto out;
		}
		hoist_log_warn("presigning %s %s failed (try %d of %d), "
			       "retrying: %s", method, key ? key : "(bucket)",
			       attempt, PRESIGN_TRIES, call_err.msg);
		usleep(PRESIGN_RETRY_MS * 1000);
	}
	signed_url = json_string_value(json_object_get(reply, "url"));
	if (!signed_url || strlen(signed_url) >= urllen) {
		hoist_err_set(err, HOIST_E_HTTP, "hoistd's presign reply for "
			      "%s %s has no usable 'url'", method,
			      key ? key : "(bucket)");
		goto out;
	}
	memcpy(url, signed_url, strlen(signed_url) + 1);
	rc = 0;
out:
	json_decref(reply);
	json_decref(request.body);
	return rc;
}

static int open_store(const struct hoist_transfer_request *req,
		      struct presign_source *source,
		      struct hoist_artifact_store **store,
		      struct hoist_err *err)
{
	size_t skip = strlen(HOIST_TRANSFER_PRESIGNED);

	if (strncmp(req->storage_url, HOIST_TRANSFER_PRESIGNED, skip) != 0)
		return hoist_artifact_open(req->storage_url, store, err);
	if ((size_t)snprintf(source->endpoint, sizeof(source->endpoint),
			     "%s/v1/agent/presign", req->orchestrator_url) >=
	    sizeof(source->endpoint))
		return hoist_err_set(err, HOIST_E_INVALID, "orchestrator URL "
				     "'%.200s' is too long",
				     req->orchestrator_url);
	source->token = req->token;
	if (hoist_http_global_init(err))
		return -1;
	return hoist_s3_open_presigned(req->storage_url + skip,
				       presign_from_hoistd, source, store, err);
}

static int upload(struct hoist_artifact_store *store,
		  const struct hoist_transfer_request *req,
		  struct hoist_transfer_result *result, struct hoist_err *err)
{
	struct hoist_checkpoint_info info;

	if (hoist_checkpoint_upload(store, req->job_id, req->attempt,
				    req->step, req->dir, &info, err))
		return -1;
	result->step = info.step;
	snprintf(result->manifest_key, sizeof(result->manifest_key), "%s",
		 info.manifest_key);
	snprintf(result->manifest_sha256, sizeof(result->manifest_sha256),
		 "%s", info.manifest_sha256);
	result->files = info.files;
	result->bytes = info.bytes;
	return 0;
}

static int restore(struct hoist_artifact_store *store,
		   const struct hoist_transfer_request *req,
		   struct hoist_transfer_result *result,
		   struct hoist_err *err)
{
	int64_t step = -1;

	if (hoist_checkpoint_restore(store, req->manifest_key,
				     req->manifest_sha256, req->dir, &step,
				     err)) {
		hoist_err_prefix(err, "cannot restore checkpoint '%s'",
				 req->manifest_key);
		return -1;
	}
	if (step != req->step)
		return hoist_err_set(err, HOIST_E_INTEGRITY,
				     "checkpoint '%s' holds step %lld but the "
				     "assignment resumes from step %lld",
				     req->manifest_key, (long long)step,
				     (long long)req->step);
	result->step = step;
	return 0;
}

static int run(const struct hoist_transfer_request *req,
	       struct hoist_transfer_result *result, struct hoist_err *err)
{
	struct hoist_artifact_store *store = NULL;
	struct presign_source source = { .token = NULL };
	int64_t started = hoist_clock_mono_ms();
	int rc;

	if (open_store(req, &source, &store, err))
		return -1;
	if (req->op == HOIST_TRANSFER_UPLOAD)
		rc = upload(store, req, result, err);
	else if (req->op == HOIST_TRANSFER_RESTORE)
		rc = restore(store, req, result, err);
	else
		rc = 0;
	hoist_artifact_close(store);
	if (rc == 0 && req->op != HOIST_TRANSFER_CHECK)
		hoist_log_debug("job=%s attempt=%d %s of step %lld done in "
				"%lld ms", req->job_id, req->attempt,
				req->op == HOIST_TRANSFER_UPLOAD ? "upload" :
				"restore", (long long)req->step,
				(long long)(hoist_clock_mono_ms() - started));
	return rc;
}

static int write_result(enum hoist_transfer_op op,
			const struct hoist_transfer_result *result)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf line;
	const char *data;
	size_t left;
	int rc = -1;

	hoist_buf_init(&line, HOIST_TRANSFER_LINE_MAX);
	if (hoist_transfer_result_format(op, result, &line, &err)) {
		hoist_log_error("cannot format the result: %s", err.msg);
		goto out;
	}
	data = line.data;
	left = line.len;
	while (left > 0) {
		ssize_t n = write(STDOUT_FILENO, data, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			hoist_log_error("cannot write the result to stdout: %s",
					n < 0 ? strerror(errno) : "no progress");
			goto out;
		}
		data += n;
		left -= (size_t)n;
	}
	rc = 0;
out:
	hoist_buf_release(&line);
	return rc;
}

int main(int argc, char **argv)
{
	struct hoist_transfer_request_doc request = { .doc = NULL };
	struct hoist_transfer_result result;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf input;
	const char *level_name = getenv("HOIST_AGENT_LOG_LEVEL");
	int level = HOIST_LOG_INFO;
	enum hoist_transfer_op op = HOIST_TRANSFER_UPLOAD;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_DONE;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("hoist-transfer %s\n", HOIST_VERSION);
		return EXIT_DONE;
	}
	if (argc > 1) {
		fprintf(stderr, "hoist-transfer: unexpected argument '%s'; the "
			"request comes on stdin\n\n%s", argv[1], usage_text);
		return EXIT_NO_RESULT;
	}
	if (level_name && *level_name &&
	    hoist_log_level_parse(level_name) >= 0)
		level = hoist_log_level_parse(level_name);
	hoist_log_init("hoist-transfer", level, -1, HOIST_LOG_TEXT);

	memset(&result, 0, sizeof(result));
	hoist_buf_init(&input, HOIST_TRANSFER_LINE_MAX);
	if (read_request(&input, &err) == 0 &&
	    hoist_transfer_request_parse(hoist_buf_str(&input), input.len,
					 &request, &err) == 0) {
		op = request.req.op;
		if (run(&request.req, &result, &err) == 0)
			result.ok = 1;
	}
	if (!result.ok)
		snprintf(result.error, sizeof(result.error), "%s", err.msg);
	hoist_transfer_request_release(&request);
	hoist_buf_release(&input);
	if (write_result(op, &result))
		return EXIT_NO_RESULT;
	return result.ok ? EXIT_DONE : EXIT_FAILED;
}
