/*
 * s3.h - the S3 back end of the artifact store, on libcurl.
 *
 * A store is opened from "s3://bucket/optional/prefix?option=value&...";
 * every artifact key K becomes the object "<prefix>/K" in the bucket.  The
 * requests are signed with AWS Signature Version 4 right before each attempt
 * is sent, either with credentials from the standard chain (environment,
 * ~/.aws/credentials, ~/.aws/config) or, for workers that hold no
 * credentials, by a presign callback that returns a presigned URL (such as
 * one handed out by hoistd).  Large files go up as parallel multipart
 * uploads and come down as parallel ranged GETs; see docs/s3.md.
 *
 * A store may be used by one thread at a time.  All functions return 0 on
 * success and -1 with err set, and no error message contains an access key,
 * secret, session token or signature.
 */
#ifndef HOIST_S3_H
#define HOIST_S3_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/artifact.h"

#define HOIST_S3_BUCKET_MAX 63
#define HOIST_S3_PREFIX_MAX 512
#define HOIST_S3_KEY_MAX 1024		/* S3's limit, in UTF-8 bytes */
#define HOIST_S3_URL_MAX 8192		/* a request or presigned URL */

#define HOIST_S3_MIN_PART_SIZE (5ull << 20)
#define HOIST_S3_MAX_PART_SIZE (5ull << 30)
#define HOIST_S3_MAX_PARTS 10000
#define HOIST_S3_MAX_OBJECT_SIZE (5ull << 40)

/* Options of one store, from its URL and the environment. */
struct hoist_s3_config {
	char bucket[HOIST_S3_BUCKET_MAX + 1];
	char prefix[HOIST_S3_PREFIX_MAX + 1];	/* "" or ending with '/' */
	char scheme[8];			/* "http" or "https" */
	char host[256];			/* endpoint host[:port], no bucket */
	char region[64];
	char profile[128];		/* "" means AWS_PROFILE or "default" */
	int path_style;			/* 1: /bucket/key, 0: bucket.host/key */
	int signed_payload;		/* 1: hash file bodies into the signature */
	unsigned parallel;		/* requests in flight per transfer */
	uint64_t threshold;		/* bytes; larger files go multipart */
	uint64_t part_size;		/* bytes; raised to fit 10,000 parts */
	uint64_t chunk_size;		/* bytes per ranged GET */
	unsigned max_attempts;		/* per request, first try included */
	unsigned backoff_base_ms;	/* first retry waits up to this */
	unsigned backoff_max_ms;	/* cap of one retry wait */
	unsigned stall_seconds;		/* a request that moves no byte for
					 * this long is retried */
	unsigned list_page;		/* max-keys of one ListObjectsV2 page */
};

/*
 * Parses an s3:// URL into cfg.  Accepted query options: endpoint (an
 * http:// or https:// URL), region, addressing (path or virtual), profile,
 * payload (signed or unsigned), parallel, threshold, part_size, chunk_size
 * (byte counts with an optional KiB, MiB or GiB suffix), attempts,
 * backoff_ms, backoff_max_ms, stall_seconds and list_page.  Without an
 * endpoint option AWS_ENDPOINT_URL_S3 and then AWS_ENDPOINT_URL are used,
 * and else the AWS endpoint of the region.  The region comes from the
 * option, AWS_REGION, AWS_DEFAULT_REGION or the profile's "region" in
 * ~/.aws/config, in that order; none of them is an error.  Addressing
 * defaults to path-style for a custom endpoint and virtual-hosted for AWS.
 * Fails with HOIST_E_INVALID naming the option and its value.
 */
int hoist_s3_config_parse(const char *url, struct hoist_s3_config *cfg,
			  struct hoist_err *err);

/* Static credentials; source names where they were found, for messages. */
struct hoist_s3_credentials {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[4096];	/* "" without a session */
	char source[512];
};

/*
 * Loads credentials through the standard chain: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; then the profile (profile,
 * else AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials; then "[profile NAME]" (or "[default]") in
 * AWS_CONFIG_FILE or ~/.aws/config.  Fails with HOIST_E_NOT_FOUND naming
 * every file tried, or HOIST_E_INVALID for a half-filled source.
 */
int hoist_s3_credentials_load(const char *profile,
			      struct hoist_s3_credentials *out,
			      struct hoist_err *err);

/* One query parameter, not percent-encoded. */
struct hoist_s3_param {
	const char *name;
	const char *value;
};

/*
 * Writes into url (size urllen) a presigned URL for method on the object
 * key (an artifact key, below cfg->prefix) or on the bucket when key is
 * NULL, with the extra query parameters, valid for expires_s seconds
 * (1 to 604800) from now_s (Unix seconds).  The payload is unsigned.
 */
int hoist_s3_presign(const struct hoist_s3_config *cfg,
		     const struct hoist_s3_credentials *cred,
		     const char *method, const char *key,
		     const struct hoist_s3_param *query, size_t nquery,
		     int64_t now_s, unsigned expires_s, char *url,
		     size_t urllen, struct hoist_err *err);

/*
 * A presign callback: writes into url a presigned URL for method on the
 * object key (an artifact key, below the store's prefix; NULL for the
 * bucket) with the query parameters, or fails with err set.  A store
 * opened with hoist_s3_open_presigned() calls it before every attempt of
 * every request and never holds credentials.
 */
typedef int (*hoist_s3_presign_fn)(void *arg, const char *method,
				   const char *key,
				   const struct hoist_s3_param *query,
				   size_t nquery, char *url, size_t urllen,
				   struct hoist_err *err);

/* Opens a store that signs with credentials from the chain (or the URL's
 * profile option).  The caller closes it with hoist_artifact_close(). */
int hoist_s3_open(const char *url, struct hoist_artifact_store **out,
		  struct hoist_err *err);

/* Opens a store that gets every request's URL from presign (arg is passed
 * through and must outlive the store). */
int hoist_s3_open_presigned(const char *url, hoist_s3_presign_fn presign,
			    void *arg, struct hoist_artifact_store **out,
			    struct hoist_err *err);

/* Returns 1 if store is an S3 store, 0 otherwise. */
int hoist_s3_is_store(const struct hoist_artifact_store *store);

/* Stores the size and ETag (quotes kept) of key; HOIST_E_NOT_FOUND if the
 * object does not exist.  A multipart ETag is not an MD5 of the bytes. */
int hoist_s3_head(struct hoist_artifact_store *store, const char *key,
		  uint64_t *size, char etag[128], struct hoist_err *err);

/* Copies the object src to dst inside the store's bucket (server side, up
 * to 5 GiB, the CopyObject limit). */
int hoist_s3_copy(struct hoist_artifact_store *store, const char *src,
		  const char *dst, struct hoist_err *err);

/*
 * Lists the multipart uploads under prefix (an artifact key prefix) that
 * started at least min_age_s seconds ago and aborts each of them.  An
 * upload that an agent killed mid-transfer leaves parts that cost storage
 * until aborted.  *aborted receives the count.
 */
int hoist_s3_abort_stale_uploads(struct hoist_artifact_store *store,
				 const char *prefix, int64_t min_age_s,
				 size_t *aborted, struct hoist_err *err);

/* Counters of one store since it was opened, for logs and tests. */
struct hoist_s3_stats {
	uint64_t requests;	/* attempts sent, retries included */
	uint64_t retries;
	uint64_t skew_corrections;
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint64_t multipart_uploads;
	uint64_t aborted_uploads;
	uint64_t resumed_bytes;	/* download bytes kept from a previous run */
};

void hoist_s3_get_stats(const struct hoist_artifact_store *store,
			struct hoist_s3_stats *out);

/*
 * Copies text to out (size outlen), replacing the value of every
 * X-Amz-Signature, X-Amz-Credential and X-Amz-Security-Token query
 * parameter by "REDACTED", so a presigned URL can be shown.
 */
void hoist_s3_redact_url(const char *text, char *out, size_t outlen);

#endif
