/*
 * hoist-transfer - uploads or restores one checkpoint for hoist-agent.
 *
 * hoist-agent starts it for every checkpoint upload and restore, so that
 * a slow artifact store never delays the agent's heartbeats and so that the
 * storage code and its libraries stay out of the agent's memory.  It reads
 * one JSON request line on stdin, does the transfer, and writes one JSON
 * result line to stdout; transfer.h describes both lines.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/clock.h"
#include "common/http.h"
#include "common/log.h"
#include "storage/artifact.h"
#include "storage/checkpoint.h"
#include "storage/s3.h"
#include "worker/fsutil.h"
#include "worker/transfer.h"

/* Limit of a staged input's manifest, in bytes. */
#define INPUT_MANIFEST_MAX (64u << 20)

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
	"  {\"op\":\"input\",...,\"dir\":\"/work/job/data\",\n"
	"   \"manifest_key\":\"datasets/manifests/...\",\"manifest_sha256\":...}\n"
	"  {\"op\":\"output\",...,\"dir\":\"/work/job/model.bin\",\n"
	"   \"key\":\"jobs/j-1/outputs/model.bin\"}\n"
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

/* ------------------------------------------------------------------ */
/* Job inputs and outputs                                               */
/* ------------------------------------------------------------------ */

static int sha256_hex(const void *data, size_t len, char hex[65],
		      struct hoist_err *err)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
	for (unsigned int i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[64] = '\0';
	return 0;
}

static int hex64_valid(const char *text)
{
	if (!text || strlen(text) != 64)
		return 0;
	for (const char *c = text; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return 0;
	return 1;
}

/* Creates the folders above the file path. */
static int make_parent(const char *path, struct hoist_err *err)
{
	char parent[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return 0;
	*slash = '\0';
	return hoist_fsutil_mkdir_p(parent, 0755, err);
}

/* Downloads one file of a dataset manifest to dir/path and checks its size
 * and SHA-256 against the entry. */
static int restore_input_file(struct hoist_artifact_store *store,
			      const char *dir, const json_t *entry, size_t index,
			      struct hoist_transfer_result *result,
			      struct hoist_err *err)
{
	const char *path = json_string_value(json_object_get(entry, "path"));
	const char *sha = json_string_value(json_object_get(entry, "sha256"));
	const json_t *size_value = json_object_get(entry, "size");
	char key[128], target[PATH_MAX], got_sha[65];
	uint64_t size, got_size = 0;

	if (!path || !hoist_artifact_key_valid(path) || !hex64_valid(sha) ||
	    !json_is_integer(size_value) ||
	    json_integer_value(size_value) < 0)
		return hoist_err_set(err, HOIST_E_INVALID, "files[%zu] of the "
				     "input manifest needs a valid relative "
				     "'path', a 'size' >= 0 and a 'sha256' of "
				     "64 lowercase hex digits", index);
	size = (uint64_t)json_integer_value(size_value);
	if ((size_t)snprintf(target, sizeof(target), "%s/%s", dir, path) >=
	    sizeof(target))
		return hoist_err_set(err, HOIST_E_INVALID, "input path "
				     "'%s/%s' is too long", dir, path);
	snprintf(key, sizeof(key), "datasets/sha256/%s", sha);
	if (make_parent(target, err) ||
	    hoist_artifact_get_file_sha256(store, key, target, &got_size,
					   got_sha, err))
		return -1;
	if (got_size != size || strcmp(got_sha, sha) != 0)
		return hoist_err_set(err, HOIST_E_INTEGRITY, "input file '%s' "
				     "does not match its manifest: %llu bytes "
				     "with SHA-256 %s, expected %llu bytes "
				     "with SHA-256 %s", path,
				     (unsigned long long)got_size, got_sha,
				     (unsigned long long)size, sha);
	result->files++;
	result->bytes += size;
	return 0;
}

/* Restores the staged input whose manifest is req->manifest_key into
 * req->dir; files already in dir that the manifest does not list stay. */
static int restore_input(struct hoist_artifact_store *store,
			 const struct hoist_transfer_request *req,
			 struct hoist_transfer_result *result,
			 struct hoist_err *err)
{
	struct hoist_buf text;
	json_error_t jerr;
	json_t *manifest = NULL, *files, *entry;
	char sha[65];
	size_t i;
	int rc = -1;

	hoist_buf_init(&text, INPUT_MANIFEST_MAX);
	if (store->ops->get_bytes(store, req->manifest_key, &text, err) ||
	    sha256_hex(text.data, text.len, sha, err))
		goto out;
	if (strcmp(sha, req->manifest_sha256) != 0) {
		hoist_err_set(err, HOIST_E_INTEGRITY, "the input manifest has "
			      "SHA-256 %s, expected %s", sha,
			      req->manifest_sha256);
		goto out;
	}
	manifest = json_loadb(text.data, text.len, JSON_REJECT_DUPLICATES,
			      &jerr);
	files = json_object_get(manifest, "files");
	if (!json_is_object(manifest) || !json_is_array(files) ||
	    !json_is_integer(json_object_get(manifest, "format")) ||
	    json_integer_value(json_object_get(manifest, "format")) != 1) {
		hoist_err_set(err, HOIST_E_INVALID, "the input manifest is not "
			      "an object with \"format\": 1 and a \"files\" "
			      "array");
		goto out;
	}
	if (hoist_fsutil_mkdir_p(req->dir, 0755, err))
		goto out;
	json_array_foreach(files, i, entry)
		if (restore_input_file(store, req->dir, entry, i, result, err))
			goto out;
	rc = 0;
out:
	if (rc)
		hoist_err_prefix(err, "cannot restore input '%s' into %s",
				 req->manifest_key, req->dir);
	json_decref(manifest);
	hoist_buf_release(&text);
	return rc;
}

/* Uploads the regular files below the folder path (rel "" for the folder
 * itself) under prefix + "/" + their relative path. */
static int upload_output_tree(struct hoist_artifact_store *store,
			      const char *root, const char *rel,
			      const char *prefix,
			      struct hoist_transfer_result *result,
			      struct hoist_err *err)
{
	char dir_path[PATH_MAX], child_rel[PATH_MAX], child_path[PATH_MAX];
	char key[HOIST_ARTIFACT_KEY_MAX + 2];
	struct dirent *entry;
	DIR *dir;
	int rc = -1;

	snprintf(dir_path, sizeof(dir_path), "%s%s%s", root, *rel ? "/" : "",
		 rel);
	dir = opendir(dir_path);
	if (!dir)
		return hoist_err_set(err, HOIST_E_IO, "cannot read output "
				     "folder '%s': %s", dir_path,
				     strerror(errno));
	while ((errno = 0, entry = readdir(dir)) != NULL) {
		struct stat st;

		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(child_rel, sizeof(child_rel), "%s%s%s", rel,
				     *rel ? "/" : "", entry->d_name) >=
		    sizeof(child_rel) ||
		    (size_t)snprintf(child_path, sizeof(child_path), "%s/%s",
				     root, child_rel) >= sizeof(child_path) ||
		    (size_t)snprintf(key, sizeof(key), "%s/%s", prefix,
				     child_rel) >= sizeof(key)) {
			hoist_err_set(err, HOIST_E_INVALID, "output path "
				      "'%s/%s' is too long", dir_path,
				      entry->d_name);
			goto out;
		}
		if (lstat(child_path, &st) != 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot read '%s': %s",
				      child_path, strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (upload_output_tree(store, root, child_rel, prefix,
					       result, err))
				goto out;
			continue;
		}
		/* NOTE: symbolic links and special files in an output folder
		 * are skipped, because their targets may lie outside it. */
		if (!S_ISREG(st.st_mode)) {
			hoist_log_warn("skipping output '%s': not a regular "
				       "file", child_path);
			continue;
		}
		if (store->ops->put_file(store, key, child_path, err))
			goto out;
		result->files++;
		result->bytes += (uint64_t)st.st_size;
	}
	if (errno != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot read output folder "
			      "'%s': %s", dir_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	closedir(dir);
	return rc;
}

/* Uploads the file req->dir under req->key, or the folder req->dir below
 * req->key. */
static int upload_output(struct hoist_artifact_store *store,
			 const struct hoist_transfer_request *req,
			 struct hoist_transfer_result *result,
			 struct hoist_err *err)
{
	struct stat st;
	int rc;

	if (stat(req->dir, &st) != 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "output '%s' cannot be read: "
				     "%s; the command must create every path "
				     "listed in 'outputs'", req->dir,
				     strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		rc = upload_output_tree(store, req->dir, "", req->key, result,
					err);
	} else if (S_ISREG(st.st_mode)) {
		rc = store->ops->put_file(store, req->key, req->dir, err);
		if (rc == 0) {
			result->files = 1;
			result->bytes = (uint64_t)st.st_size;
		}
	} else {
		return hoist_err_set(err, HOIST_E_INVALID, "output '%s' is not "
				     "a regular file or folder", req->dir);
	}
	if (rc)
		hoist_err_prefix(err, "cannot upload output '%s'", req->dir);
	return rc;
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
	else if (req->op == HOIST_TRANSFER_INPUT)
		rc = restore_input(store, req, result, err);
	else if (req->op == HOIST_TRANSFER_OUTPUT)
		rc = upload_output(store, req, result, err);
	else
		rc = 0;
	hoist_artifact_close(store);
	if (rc == 0 && (req->op == HOIST_TRANSFER_INPUT ||
			req->op == HOIST_TRANSFER_OUTPUT))
		hoist_log_debug("job=%s attempt=%d %s %s done in %lld ms",
				req->job_id, req->attempt,
				req->op == HOIST_TRANSFER_INPUT ? "input" :
				"output", req->dir,
				(long long)(hoist_clock_mono_ms() - started));
	else if (rc == 0 && req->op != HOIST_TRANSFER_CHECK)
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
