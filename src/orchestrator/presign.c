/*
 * presign.c - S3 access for agents that hold no credentials, and the
 * clean-up of stale multipart uploads.
 *
 * With an s3:// store hoistd loads the credentials once at start-up and
 * hands each agent presigned URLs, one per S3 request, scoped to its own
 * job's prefix "jobs/<job>/".  The agent's assignment names the store as
 * "hoist-presigned:" followed by an s3:// URL without credentials, which
 * hoist-transfer opens with hoist_s3_open_presigned() and a callback that
 * posts to /v1/agent/presign.  The CLI gets URLs the same way, for a job's
 * prefix through /v1/jobs/<job>/presign and, to stage job inputs before
 * the job exists, for "datasets/" through /v1/datasets/presign.  With a
 * file:// store none of this applies.
 */
#include "orchestrator/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/log.h"
#include "storage/s3.h"

/* Lifetime of one presigned URL.  The agent requests a new URL before every
 * attempt of every request, so the URL only has to outlive one request:
 * a part of 5 GiB at 10 MB/s takes about 9 minutes. */
#define PRESIGN_EXPIRES_S 900
/* Period of the sweep of stale uploads of live jobs, and the age from
 * which an upload counts as stale then.  NOTE: the sweep aborts an upload
 * of one file that runs longer than PRESIGN_STALE_AGE_S.  The
 * agent's retry of that checkpoint then starts it again. */
#define PRESIGN_SWEEP_MS (10 * 60 * 1000)
#define PRESIGN_STALE_AGE_S (6 * 3600)

struct hoist_presigner {
	struct hoist_s3_config cfg;
	struct hoist_s3_credentials cred;
	char agent_url[HOIST_S3_URL_MAX];	/* "hoist-presigned:s3://..." */
	int64_t next_sweep_mono;
};

/* Appends "&name=value" (or "?name=value" first) to out, the value
 * percent-encoded.  Returns the new length, or outlen when it does not
 * fit. */
static size_t append_option(char *out, size_t len, size_t outlen,
			    const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	int n;

	if (len >= outlen)
		return outlen;
	n = snprintf(out + len, outlen - len, "%c%s=",
		     strchr(out, '?') ? '&' : '?', name);
	if (n < 0 || (size_t)n >= outlen - len)
		return outlen;
	len += (size_t)n;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') ||
			    (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || strchr("-._~", *p);

		if (len + 4 >= outlen)
			return outlen;
		if (plain) {
			out[len++] = (char)*p;
		} else {
			out[len++] = '%';
			out[len++] = hex[*p >> 4];
			out[len++] = hex[*p & 15];
		}
		out[len] = '\0';
	}
	return len;
}

/*
 * Builds the storage URL for agents: the store's bucket, prefix and
 * transfer options, with the region and endpoint that hoistd resolved from
 * its own environment, so that the agent needs none of it.  The endpoint
 * is informative only, because the agent sends every request to the URL
 * that hoistd signs.
 */
static int build_agent_url(struct hoist_presigner *p, struct hoist_err *err)
{
	const struct hoist_s3_config *cfg = &p->cfg;
	char endpoint[300], number[32];
	size_t len, cap = sizeof(p->agent_url);
	int n;

	n = snprintf(p->agent_url, cap, "hoist-presigned:s3://%s/%s",
		     cfg->bucket, cfg->prefix);
	if (n < 0 || (size_t)n >= cap)
		goto too_long;
	len = (size_t)n;
	snprintf(endpoint, sizeof(endpoint), "%s://%s", cfg->scheme,
		 cfg->host);
	len = append_option(p->agent_url, len, cap, "endpoint", endpoint);
	len = append_option(p->agent_url, len, cap, "region", cfg->region);
	len = append_option(p->agent_url, len, cap, "addressing",
			    cfg->path_style ? "path" : "virtual");
	snprintf(number, sizeof(number), "%u", cfg->parallel);
	len = append_option(p->agent_url, len, cap, "parallel", number);
	snprintf(number, sizeof(number), "%llu",
		 (unsigned long long)cfg->threshold);
	len = append_option(p->agent_url, len, cap, "threshold", number);
	snprintf(number, sizeof(number), "%llu",
		 (unsigned long long)cfg->part_size);
	len = append_option(p->agent_url, len, cap, "part_size", number);
	snprintf(number, sizeof(number), "%llu",
		 (unsigned long long)cfg->chunk_size);
	len = append_option(p->agent_url, len, cap, "chunk_size", number);
	snprintf(number, sizeof(number), "%u", cfg->max_attempts);
	len = append_option(p->agent_url, len, cap, "attempts", number);
	if (len < cap)
		return 0;
too_long:
	return hoist_err_set(err, HOIST_E_INVALID, "the agents' storage URL "
			     "for %s exceeds %zu bytes", cfg->bucket, cap);
}

int hoist_presign_init(struct hoist_daemon *daemon, struct hoist_err *err)
{
	struct hoist_presigner *p;

	if (!hoist_s3_is_store(daemon->artifacts))
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (hoist_s3_config_parse(daemon->storage_url, &p->cfg, err) ||
	    hoist_s3_credentials_load(p->cfg.profile, &p->cred, err) ||
	    build_agent_url(p, err)) {
		OPENSSL_cleanse(p, sizeof(*p));
		free(p);
		return -1;
	}
	p->next_sweep_mono = hoist_clock_mono_ms() + PRESIGN_SWEEP_MS;
	daemon->presigner = p;
	return 0;
}

void hoist_presign_release(struct hoist_daemon *daemon)
{
	if (!daemon->presigner)
		return;
	OPENSSL_cleanse(daemon->presigner, sizeof(*daemon->presigner));
	free(daemon->presigner);
	daemon->presigner = NULL;
}

const char *hoist_presign_agent_storage_url(const struct hoist_daemon *daemon)
{
	return daemon->presigner ? daemon->presigner->agent_url :
				   daemon->storage_url;
}

/* The prefix of staged job inputs, readable by every job. */
#define DATASETS_PREFIX "datasets/"

/* Query parameters an agent may send, on an object and on the bucket. */
static const char *const object_params[] = {
	"uploads", "uploadId", "partNumber", NULL,
};
static const char *const bucket_params[] = {
	"list-type", "prefix", "continuation-token", "max-keys",
	"start-after", "encoding-type", "uploads", "key-marker",
	"upload-id-marker", "max-uploads", NULL,
};

static int name_listed(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return 1;
	return 0;
}

/* Names the S3 operation of a request, for the log. */
static const char *operation_name(const char *method, const char *key,
				  const json_t *query)
{
	int uploads = json_object_get(query, "uploads") != NULL;
	int upload_id = json_object_get(query, "uploadId") != NULL;

	if (!key)
		return uploads ? "list-uploads" : "list";
	if (strcmp(method, "POST") == 0)
		return uploads ? "multipart-create" : "multipart-complete";
	if (strcmp(method, "PUT") == 0)
		return upload_id ? "multipart-part" : "put";
	if (strcmp(method, "DELETE") == 0)
		return upload_id ? "multipart-abort" : "delete";
	if (strcmp(method, "HEAD") == 0)
		return "head";
	return upload_id ? "list-parts" : "get";
}

/* Checks that every query parameter is a string from allowed. */
static int check_query(const json_t *query, const char *const *allowed,
		       char *reason, size_t reasonlen)
{
	const char *name;
	json_t *value;

	json_object_foreach((json_t *)query, name, value) {
		if (!json_is_string(value)) {
			snprintf(reason, reasonlen, "query parameter '%.64s' "
				 "is not a string", name);
			return -1;
		}
		if (!name_listed(name, allowed)) {
			snprintf(reason, reasonlen, "query parameter '%.64s' is "
				 "not allowed for presigned requests", name);
			return -1;
		}
	}
	return 0;
}

static int has_param(const json_t *query, const char *name)
{
	return json_object_get(query, name) != NULL;
}

/*
 * Returns 1 if method and query form one of the requests that stage a
 * dataset object: GET, HEAD or PUT without query parameters, or a step of
 * a multipart upload (POST ?uploads, PUT ?partNumber&uploadId, POST
 * ?uploadId, DELETE ?uploadId).  A DELETE of a whole object is not one of
 * them, because staged objects are shared by every job that uses them.
 */
static int dataset_request_allowed(const char *method, const json_t *query)
{
	size_t count = json_object_size(query);

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return count == 0;
	if (strcmp(method, "PUT") == 0)
		return count == 0 ||
		       (count == 2 && has_param(query, "partNumber") &&
			has_param(query, "uploadId"));
	if (strcmp(method, "POST") == 0)
		return count == 1 && (has_param(query, "uploads") ||
				      has_param(query, "uploadId"));
	if (strcmp(method, "DELETE") == 0)
		return count == 1 && has_param(query, "uploadId");
	return 0;
}

/* Checks an object request of the datasets scope (job_id NULL): the key
 * lies below "datasets/" and the request stages an object. */
static int check_dataset_object(const char *method, const char *key,
				const json_t *query, char *reason,
				size_t reasonlen)
{
	if (strncmp(key, DATASETS_PREFIX, strlen(DATASETS_PREFIX)) != 0) {
		snprintf(reason, reasonlen, "key '%.200s' is outside %s",
			 key, DATASETS_PREFIX);
		return -1;
	}
	if (!dataset_request_allowed(method, query)) {
		snprintf(reason, reasonlen, "%s of key '%.200s' is not "
			 "allowed: below %s only GET, HEAD, PUT and the steps "
			 "of a multipart upload are", method, key,
			 DATASETS_PREFIX);
		return -1;
	}
	return 0;
}

/* Checks an object request of job_id's scope: a key below "jobs/<job>/",
 * or a GET or HEAD without query parameters of a key below "datasets/". */
static int check_job_object(const char *job_id, const char *method,
			    const char *key, const json_t *query,
			    char *reason, size_t reasonlen)
{
	char scope[HOIST_ID_MAX + 16];

	snprintf(scope, sizeof(scope), "jobs/%s/", job_id);
	/* Staged job inputs are content-addressed and shared by all jobs, so
	 * any agent may read them but none may change them. */
	if (strncmp(key, DATASETS_PREFIX, strlen(DATASETS_PREFIX)) == 0) {
		if ((strcmp(method, "GET") != 0 &&
		     strcmp(method, "HEAD") != 0) ||
		    json_object_size(query) != 0) {
			snprintf(reason, reasonlen, "key '%.200s' under %s is "
				 "read-only: only GET and HEAD without query "
				 "parameters are allowed", key,
				 DATASETS_PREFIX);
			return -1;
		}
		return 0;
	}
	if (strncmp(key, scope, strlen(scope)) != 0) {
		snprintf(reason, reasonlen, "key '%.200s' is outside %.200s "
			 "and %s (read-only)", key, scope, DATASETS_PREFIX);
		return -1;
	}
	return 0;
}

/*
 * Checks that the request stays inside its scope: the prefix of job_id
 * (see check_job_object()), or "datasets/" when job_id is NULL (see
 * check_dataset_object()).  A bucket request must be a listing (GET) whose
 * prefix lies below that scope.  Fills reason and returns -1 when it does
 * not.
 */
static int check_scope(const struct hoist_presigner *p, const char *job_id,
		       const char *method, const char *key,
		       const json_t *query, char *reason, size_t reasonlen)
{
	char scope[HOIST_S3_PREFIX_MAX + HOIST_ID_MAX + 16];
	const json_t *value;

	if (check_query(query, key ? object_params : bucket_params, reason,
			reasonlen))
		return -1;
	if (key) {
		if (!hoist_artifact_key_valid(key)) {
			snprintf(reason, reasonlen, "invalid key: %s",
				 hoist_artifact_key_error(key));
			return -1;
		}
		if (!job_id)
			return check_dataset_object(method, key, query, reason,
						    reasonlen);
		return check_job_object(job_id, method, key, query, reason,
					reasonlen);
	}

	/* The prefix parameter of a listing is a full object key prefix, the
	 * store's own prefix included. */
	value = json_object_get(query, "prefix");
	if (job_id)
		snprintf(scope, sizeof(scope), "%sjobs/%s/", p->cfg.prefix,
			 job_id);
	else
		snprintf(scope, sizeof(scope), "%s%s", p->cfg.prefix,
			 DATASETS_PREFIX);
	if (strcmp(method, "GET") != 0 || !json_is_string(value) ||
	    strncmp(json_string_value(value), scope, strlen(scope)) != 0 ||
	    strstr(json_string_value(value), "/../")) {
		snprintf(reason, reasonlen, "a bucket request must be a GET "
			 "listing with a prefix below %.200s", scope);
		return -1;
	}
	return 0;
}

int hoist_presign_request(struct hoist_daemon *daemon, const char *job_id,
			  const char *caller, const json_t *body,
			  json_t **reply, int *forbidden,
			  struct hoist_err *err)
{
	static const char *const methods[] = {
		"GET", "HEAD", "PUT", "POST", "DELETE", NULL,
	};
	struct hoist_presigner *p = daemon->presigner;
	struct hoist_s3_param params[16];
	const json_t *query, *value;
	const char *method, *key, *name;
	char reason[512];
	char scope[HOIST_ID_MAX + 8];
	char *url = NULL;
	size_t nparams = 0;
	int rc = -1;

	*reply = NULL;
	*forbidden = 0;
	/* Log lines name the job, or the datasets scope without a job. */
	if (job_id)
		snprintf(scope, sizeof(scope), "job=%s", job_id);
	else
		snprintf(scope, sizeof(scope), "scope=datasets");
	if (!p)
		return hoist_err_set(err, HOIST_E_CONFLICT, "this hoistd uses "
				     "%s storage, which needs no presigned "
				     "URLs", daemon->artifacts->ops->scheme);
	method = json_string_value(json_object_get(body, "method"));
	value = json_object_get(body, "key");
	key = json_string_value(value);
	query = json_object_get(body, "query");
	if (!method || !name_listed(method, methods) ||
	    (value && !json_is_null(value) && !key) ||
	    (query && !json_is_object(query)))
		return hoist_err_set(err, HOIST_E_INVALID, "a presign request "
				     "needs a 'method' (GET, HEAD, PUT, POST "
				     "or DELETE), a string 'key' or null for "
				     "the bucket, and an optional 'query' "
				     "object of strings");
	if (!query)
		query = json_object();
	else
		json_incref((json_t *)query);
	if (check_scope(p, job_id, method, key, query, reason,
			sizeof(reason))) {
		*forbidden = 1;
		hoist_log_warn("%s presign %s for %s rejected: %s", scope,
			       operation_name(method, key, query), caller,
			       reason);
		hoist_err_set(err, HOIST_E_INVALID, "presign %s rejected: %s",
			      operation_name(method, key, query), reason);
		goto out;
	}
	json_object_foreach((json_t *)query, name, value) {
		if (nparams == sizeof(params) / sizeof(params[0])) {
			hoist_err_set(err, HOIST_E_INVALID, "a presign request "
				      "has at most %zu query parameters",
				      nparams);
			goto out;
		}
		params[nparams++] = (struct hoist_s3_param){
			name, json_string_value(value) };
	}
	url = malloc(HOIST_S3_URL_MAX);
	if (!url) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if (hoist_s3_presign(&p->cfg, &p->cred, method, key, params, nparams,
			     hoist_clock_now_ms() / 1000, PRESIGN_EXPIRES_S,
			     url, HOIST_S3_URL_MAX, err))
		goto out;
	*reply = json_pack("{s:s, s:i}", "url", url, "expires_in",
			   PRESIGN_EXPIRES_S);
	if (!*reply) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	hoist_log_debug("%s presigned %s %s for %s", scope,
			operation_name(method, key, query), key ? key : "",
			caller);
	rc = 0;
out:
	if (url) {
		OPENSSL_cleanse(url, HOIST_S3_URL_MAX);
		free(url);
	}
	json_decref((json_t *)query);
	return rc;
}

void hoist_presign_abort_stale(struct hoist_daemon *daemon,
			       const char *job_id, int64_t min_age_s)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char prefix[HOIST_ID_MAX + 16];
	size_t aborted = 0;

	if (!daemon->presigner)
		return;
	snprintf(prefix, sizeof(prefix), "jobs/%s/", job_id);
	/* NOTE: this blocks the event loop for one listing and one request
	 * per stale upload. */
	if (hoist_s3_abort_stale_uploads(daemon->artifacts, prefix, min_age_s,
					 &aborted, &err)) {
		/* A store without ListMultipartUploads (s3rver returns 501)
		 * fails the same way for every job, so warn once per reply. */
		const char *answer = strstr(err.msg, "HTTP ");
		static char warned[128];

		if (answer && strncmp(answer, warned, sizeof(warned) - 1) == 0) {
			hoist_log_debug("job=%s cannot abort stale multipart "
					"uploads: %s", job_id, err.msg);
			return;
		}
		if (answer)
			snprintf(warned, sizeof(warned), "%s", answer);
		hoist_log_warn("job=%s cannot abort stale multipart uploads: "
			       "%s%s", job_id, err.msg, answer ? " (later "
			       "failures with this answer are logged at debug "
			       "level)" : "");
		return;
	}
	if (aborted > 0)
		hoist_log_info("job=%s aborted %zu stale multipart upload%s",
			       job_id, aborted, aborted == 1 ? "" : "s");
}

void hoist_presign_tick(struct hoist_daemon *daemon)
{
	struct hoist_presigner *p = daemon->presigner;
	int64_t now = hoist_clock_mono_ms();

	if (!p || now < p->next_sweep_mono)
		return;
	p->next_sweep_mono = now + PRESIGN_SWEEP_MS;
	for (struct hoist_live_job *live = daemon->jobs; live;
	     live = live->next)
		hoist_presign_abort_stale(daemon, live->job.id,
					  PRESIGN_STALE_AGE_S);
}
