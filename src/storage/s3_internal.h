/*
 * s3_internal.h - the request engine shared by the S3 back end's files.
 * Private to src/storage.
 *
 * A struct s3_op is one logical request (a PUT of one part, a GET of one
 * range, ...).  s3_run() sends a set of them over one libcurl multi handle,
 * at most `parallel` at a time, and retries each one on its own.  A retry
 * signs the request again and re-reads its body from the file offset or
 * memory it came from.  A retried ranged GET rewrites its range from the
 * start.
 */
#ifndef HOIST_STORAGE_S3_INTERNAL_H
#define HOIST_STORAGE_S3_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/err.h"
#include "storage/s3.h"

#define S3_PARALLEL_MAX 64
#define S3_QUERY_MAX 8
#define S3_ERROR_BODY_MAX (64u << 10)

struct s3_client {
	struct hoist_s3_config cfg;
	struct hoist_s3_credentials cred;	/* unused with presign */
	hoist_s3_presign_fn presign;		/* NULL: sign with cred */
	void *presign_arg;
	CURLM *multi;
	CURL *easy[S3_PARALLEL_MAX];		/* reused, NULL until needed */
	int easy_busy[S3_PARALLEL_MAX];
	int64_t skew_s;		/* server clock minus local clock */
	uint64_t rng;		/* xorshift64 state for the retry jitter */
	struct hoist_s3_stats stats;
	/* Progress callback of the store, copied before each file transfer.
	 * File bodies and sinks report to it. */
	hoist_artifact_progress_cb progress;
	void *progress_arg;
};

enum s3_body_kind {
	S3_BODY_NONE = 0,
	S3_BODY_MEM,
	S3_BODY_FILE,
};

enum s3_sink_kind {
	S3_SINK_NONE = 0,	/* the body is discarded */
	S3_SINK_BUF,
	S3_SINK_FILE,		/* written with pwrite at out_offset */
};

struct s3_op {
	/* The request, set by the caller. */
	const char *method;
	const char *key;		/* full object key, NULL for the bucket */
	struct hoist_s3_param query[S3_QUERY_MAX];
	size_t nquery;
	const char *label;		/* "part 3 of 12", for messages, or NULL */
	const char *range;		/* Range header value, or NULL */
	const char *if_match;		/* If-Match header value, or NULL */
	const char *copy_source;	/* x-amz-copy-source value, or NULL */
	const char *content_type;	/* or NULL */
	enum s3_body_kind body;
	const void *mem;
	size_t mem_len;
	int fd;
	uint64_t offset;
	uint64_t length;
	enum s3_sink_kind sink;
	struct hoist_buf *buf;		/* S3_SINK_BUF: appended to */
	int out_fd;			/* S3_SINK_FILE */
	uint64_t out_offset;
	uint64_t out_length;		/* exact body size expected */
	int ok_404;			/* a 404 response counts as success */
	int want_crc;			/* sum the file body sent or received */
	void *user;			/* for the caller's callback */

	/* The result of the last attempt. */
	long status;
	char etag[128];
	char date[64];
	uint64_t content_length;
	int has_content_length;
	struct hoist_buf response;	/* error or XML body, up to 64 KiB */

	/* Engine state. */
	struct s3_client *client;	/* set when the op starts */
	int state;
	unsigned attempts;
	int64_t wake_ms;
	int slot;
	uint64_t pos;
	/* CRC-32C of body bytes [0, crc_len) of this attempt, with want_crc.
	 * crc_len falls behind pos only when libcurl seeks into the middle of
	 * an upload body, so the caller then sums the range from the file. */
	uint32_t crc;
	uint64_t crc_len;
	char payload_hash[65];
	struct curl_slist *headers;
	char *url;
	int local_error;		/* a callback failed; not retryable */
	struct hoist_err cb_err;
	char curl_error[CURL_ERROR_SIZE];
	struct hoist_err err;
};

/* Called after an op succeeded; a nonzero return fails the whole run
 * with err set. */
typedef int (*s3_op_done_fn)(struct s3_op *op, void *arg,
			     struct hoist_err *err);

/* Initializes and releases the fields of op that s3_run() owns. */
void s3_op_init(struct s3_op *op);
void s3_op_release(struct s3_op *op);

int s3_client_init(struct s3_client *c, struct hoist_err *err);
void s3_client_release(struct s3_client *c);

/*
 * Sends ops[0..n) with at most parallel in flight and retries each as
 * configured.  Returns 0 when all of them succeeded; otherwise stops the
 * others and returns -1 with the first failure in err.
 */
int s3_run(struct s3_client *c, struct s3_op *ops, size_t n,
	   unsigned parallel, s3_op_done_fn done, void *arg,
	   struct hoist_err *err);

/* Sends one op; see s3_run(). */
int s3_run_one(struct s3_client *c, struct s3_op *op, struct hoist_err *err);

/* Returns a random delay in [0, min(max, base * 2^(attempt - 1))) ms, the
 * "full jitter" backoff before retry number attempt (from 1). */
unsigned s3_backoff_ms(uint64_t *rng, unsigned attempt, unsigned base_ms,
		       unsigned max_ms);

/* Multipart uploads and ranged downloads (s3_transfer.c). */
/* sha256 and crc32c, when not NULL, receive the checksums of the bytes
 * sent or received: the SHA-256 from a helper thread's pass over the
 * file, the CRC-32C summed on the bytes in flight and combined over the
 * parts or ranges. */
int s3_transfer_put_file(struct s3_client *c, const char *key,
			 const char *path, uint64_t *size, char sha256[65],
			 uint32_t *crc32c, struct hoist_err *err);
int s3_transfer_get_file(struct s3_client *c, const char *key,
			 const char *path, uint64_t *size, char sha256[65],
			 uint32_t *crc32c, struct hoist_err *err);
int s3_transfer_head(struct s3_client *c, const char *key, uint64_t *size,
		     char etag[128], struct hoist_err *err);
int s3_transfer_abort_stale(struct s3_client *c, const char *prefix,
			    int64_t min_age_s, size_t *aborted,
			    struct hoist_err *err);

/* Returns the part size for an object of size bytes: cfg_part_size raised
 * to a multiple of 1 MiB so that at most 10,000 parts are needed. */
uint64_t s3_part_size(uint64_t size, uint64_t cfg_part_size);

#endif
