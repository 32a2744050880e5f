/*
 * s3_request.c - sending S3 requests over a libcurl multi handle: signing
 * each attempt, streaming bodies from files or memory, classifying
 * responses and retrying with exponential backoff and full jitter.
 *
 * Retried: HTTP 500, 502, 503, 504 and 429, a 400 RequestTimeout, and
 * transport failures (refused or reset connections, timeouts, a body cut
 * short).  A 403 RequestTimeTooSkewed sets the clock offset from the
 * response's Date header and is retried at once.
 */
#include "storage/s3_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "storage/crc32c.h"
#include "storage/digest.h"
#include "storage/s3_key.h"
#include "storage/s3_sigv4.h"
#include "storage/s3_xml.h"

enum op_state {
	OP_PENDING = 0,
	OP_RUNNING,
	OP_WAITING,	/* backing off before a retry */
	OP_DONE,
	OP_FAILED,
};

#define CONNECT_TIMEOUT_MS 10000L
#define IO_BUFFER_SIZE (512L << 10)

void s3_op_init(struct s3_op *op)
{
	memset(op, 0, sizeof(*op));
	op->fd = -1;
	op->out_fd = -1;
	op->slot = -1;
	hoist_buf_init(&op->response, S3_ERROR_BODY_MAX);
}

void s3_op_release(struct s3_op *op)
{
	curl_slist_free_all(op->headers);
	op->headers = NULL;
	free(op->url);
	op->url = NULL;
	hoist_buf_release(&op->response);
}

int s3_client_init(struct s3_client *c, struct hoist_err *err)
{
	struct timespec ts;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "libcurl initialization failed");
	c->multi = curl_multi_init();
	if (!c->multi)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory creating a libcurl multi "
				     "handle");
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)S3_PARALLEL_MAX);
	clock_gettime(CLOCK_REALTIME, &ts);
	c->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		 ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ull;
	return 0;
}

void s3_client_release(struct s3_client *c)
{
	for (int i = 0; i < S3_PARALLEL_MAX; i++) {
		if (c->easy[i])
			curl_easy_cleanup(c->easy[i]);
		c->easy[i] = NULL;
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	OPENSSL_cleanse(&c->cred, sizeof(c->cred));
}

unsigned s3_backoff_ms(uint64_t *rng, unsigned attempt, unsigned base_ms,
		       unsigned max_ms)
{
	uint64_t cap = base_ms;
	uint64_t x = *rng;

	for (unsigned i = 1; i < attempt && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	return cap ? (unsigned)(x % cap) : 0;
}

/* Describes op for messages: "PUT s3://bucket/key (part 3 of 12)". */
static void describe(const struct s3_client *c, const struct s3_op *op,
		     char *out, size_t outlen)
{
	snprintf(out, outlen, "%s s3://%s/%s%s%s%s", op->method,
		 c->cfg.bucket, op->key ? op->key : "",
		 op->label ? " (" : "", op->label ? op->label : "",
		 op->label ? ")" : "");
}

/* Reports n file body bytes moved by op, or taken back by a retry. */
static void report(const struct s3_op *op, int64_t n)
{
	const struct s3_client *c = op->client;

	if (c && c->progress && n != 0)
		c->progress(c->progress_arg, n);
}

static size_t read_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct s3_op *op = arg;
	size_t want = size * nmemb;
	uint64_t left = (op->body == S3_BODY_MEM ? op->mem_len : op->length) -
			op->pos;
	ssize_t n;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (op->body == S3_BODY_MEM) {
		memcpy(ptr, (const char *)op->mem + op->pos, want);
		op->pos += want;
		return want;
	}
	do {
		n = pread(op->fd, ptr, want, (off_t)(op->offset + op->pos));
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		op->local_error = 1;
		if (n < 0)
			hoist_err_set(&op->cb_err, HOIST_E_IO,
				      "reading the upload at byte %llu failed: "
				      "%s", (unsigned long long)(op->offset +
								op->pos),
				      strerror(errno));
		else
			hoist_err_set(&op->cb_err, HOIST_E_CONFLICT,
				      "the file being uploaded shrank below "
				      "byte %llu during the upload",
				      (unsigned long long)(op->offset +
							   op->pos));
		return CURL_READFUNC_ABORT;
	}
	if (op->want_crc && op->crc_len == op->pos) {
		op->crc = hoist_crc32c_update(op->crc, ptr, (size_t)n);
		op->crc_len += (uint64_t)n;
	}
	op->pos += (uint64_t)n;
	report(op, n);
	return (size_t)n;
}

static int seek_body(void *arg, curl_off_t offset, int origin)
{
	struct s3_op *op = arg;

	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (op->body == S3_BODY_FILE)
		report(op, (int64_t)offset - (int64_t)op->pos);
	op->pos = (uint64_t)offset;
	if (offset == 0) {
		op->crc = 0;
		op->crc_len = 0;
	}
	return CURL_SEEKFUNC_OK;
}

static size_t write_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct s3_op *op = arg;
	size_t n = size * nmemb;
	long status = op->status;
	if (status < 200 || status > 299) {
		/* An error document: keep its start for the message. */
		size_t room = op->response.max - op->response.len;

		hoist_buf_append(&op->response, ptr, n < room ? n : room,
				 NULL);
		return n;
	}
	switch (op->sink) {
	case S3_SINK_NONE:
		break;
	case S3_SINK_BUF:
		if (hoist_buf_append(op->buf, ptr, n, &op->cb_err)) {
			op->local_error = 1;
			hoist_err_prefix(&op->cb_err, "object is larger than "
					 "%zu bytes", op->buf->max);
			return 0;
		}
		break;
	case S3_SINK_FILE: {
		size_t done = 0;

		if (op->pos + n > op->out_length) {
			op->local_error = 1;
			hoist_err_set(&op->cb_err, HOIST_E_HTTP,
				      "the server sent more than the %llu "
				      "bytes requested",
				      (unsigned long long)op->out_length);
			return 0;
		}
		while (done < n) {
			ssize_t w = pwrite(op->out_fd, ptr + done, n - done,
					   (off_t)(op->out_offset + op->pos +
						   done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				op->local_error = 1;
				hoist_err_set(&op->cb_err, HOIST_E_IO,
					      "writing the download failed: %s",
					      w < 0 ? strerror(errno) :
					      "no progress");
				return 0;
			}
			done += (size_t)w;
		}
		if (op->want_crc && op->crc_len == op->pos) {
			op->crc = hoist_crc32c_update(op->crc, ptr, n);
			op->crc_len += n;
		}
		report(op, (int64_t)n);
		break;
	}
	}
	op->pos += n;
	return n;
}

static void copy_header_value(const char *v, size_t n, char *out,
			      size_t outlen)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' ||
		     v[n - 1] == ' '))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static size_t read_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct s3_op *op = arg;
	size_t n = size * nmemb;
	char value[64];

	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue, say). */
		const char *sp = memchr(ptr, ' ', n);

		op->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		op->etag[0] = op->date[0] = '\0';
		op->has_content_length = 0;
		return n;
	}
	if (n > 5 && strncasecmp(ptr, "ETag:", 5) == 0)
		copy_header_value(ptr + 5, n - 5, op->etag, sizeof(op->etag));
	else if (n > 5 && strncasecmp(ptr, "Date:", 5) == 0)
		copy_header_value(ptr + 5, n - 5, op->date, sizeof(op->date));
	else if (n > 15 && strncasecmp(ptr, "Content-Length:", 15) == 0) {
		copy_header_value(ptr + 15, n - 15, value, sizeof(value));
		op->content_length = strtoull(value, NULL, 10);
		op->has_content_length = 1;
	}
	return n;
}

static int add_header(struct s3_op *op, struct hoist_err *err,
		      const char *fmt, ...) HOIST_PRINTF(3, 4);

static int add_header(struct s3_op *op, struct hoist_err *err,
		      const char *fmt, ...)
{
	char line[6144];
	struct curl_slist *next;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "a request header exceeds %zu bytes",
				     sizeof(line));
	next = curl_slist_append(op->headers, line);
	OPENSSL_cleanse(line, sizeof(line));
	if (!next)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory building request headers");
	op->headers = next;
	return 0;
}

/* Hashes the file range of op's body into op->payload_hash. */
static int hash_file_range(struct s3_op *op, struct hoist_err *err)
{
	struct hoist_digest digest;
	char *chunk = malloc(1u << 20);
	uint64_t done = 0;
	int rc = -1;

	if (!chunk)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory hashing a request body");
	if (hoist_digest_init(&digest, err)) {
		free(chunk);
		return -1;
	}
	while (done < op->length) {
		size_t want = op->length - done < (1u << 20) ?
			      (size_t)(op->length - done) : (1u << 20);
		ssize_t n = pread(op->fd, chunk, want,
				  (off_t)(op->offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			hoist_err_set(err, HOIST_E_IO,
				      "reading the upload at byte %llu failed: "
				      "%s", (unsigned long long)(op->offset +
								done),
				      n < 0 ? strerror(errno) :
				      "the file shrank");
			goto out;
		}
		if (hoist_digest_update(&digest, chunk, (size_t)n, err))
			goto out;
		done += (uint64_t)n;
	}
	rc = hoist_digest_final_hex(&digest, op->payload_hash, err);
out:
	hoist_digest_release(&digest);
	free(chunk);
	return rc;
}

/* Computes op->payload_hash once: the body's SHA-256, or UNSIGNED-PAYLOAD
 * for file bodies unless the store signs payloads. */
static int payload_hash(struct s3_client *c, struct s3_op *op,
			struct hoist_err *err)
{
	if (op->payload_hash[0])
		return 0;
	switch (op->body) {
	case S3_BODY_NONE:
		snprintf(op->payload_hash, sizeof(op->payload_hash), "%s",
			 S3_EMPTY_SHA256);
		return 0;
	case S3_BODY_MEM:
		s3_sha256_hex(op->mem, op->mem_len, op->payload_hash);
		return 0;
	case S3_BODY_FILE:
		break;
	}
	if (!c->cfg.signed_payload) {
		snprintf(op->payload_hash, sizeof(op->payload_hash), "%s",
			 S3_UNSIGNED_PAYLOAD);
		return 0;
	}
	return hash_file_range(op, err);
}

/* The Host header value: the endpoint, or bucket.endpoint for
 * virtual-hosted addressing. */
static void host_of(const struct s3_client *c, char *out, size_t outlen)
{
	if (c->cfg.path_style)
		snprintf(out, outlen, "%s", c->cfg.host);
	else
		snprintf(out, outlen, "%s.%s", c->cfg.bucket, c->cfg.host);
}

/* Builds op->url and the signed headers for this attempt. */
static int sign_op(struct s3_client *c, struct s3_op *op,
		   struct hoist_err *err)
{
	struct hoist_buf path, query, url;
	struct s3_header headers[8];
	struct s3_sign_request req;
	char host[320];
	char amz_date[17];
	char auth[1024];
	size_t nh = 0;
	int rc = -1;

	hoist_buf_init(&path, HOIST_S3_URL_MAX);
	hoist_buf_init(&query, HOIST_S3_URL_MAX);
	hoist_buf_init(&url, HOIST_S3_URL_MAX);
	free(op->url);
	op->url = NULL;

	if (c->presign) {
		char *presigned = malloc(HOIST_S3_URL_MAX);
		const char *art = op->key ? s3_key_strip(&c->cfg, op->key) :
				  NULL;

		if (!presigned) {
			hoist_err_set(err, HOIST_E_NOMEM,
				      "out of memory presigning a request");
			goto out;
		}
		if (op->key && !art) {
			free(presigned);
			hoist_err_set(err, HOIST_E_INTERNAL,
				      "key '%s' is outside the store prefix",
				      op->key);
			goto out;
		}
		if (c->presign(c->presign_arg, op->method, art, op->query,
			       op->nquery, presigned, HOIST_S3_URL_MAX, err)) {
			free(presigned);
			hoist_err_prefix(err, "presigning failed");
			goto out;
		}
		op->url = presigned;
		if (op->copy_source &&
		    add_header(op, err, "x-amz-copy-source: %s",
			       op->copy_source))
			goto out;
		rc = 0;
		goto out;
	}

	if (payload_hash(c, op, err))
		goto out;
	host_of(c, host, sizeof(host));
	s3_amz_date((int64_t)time(NULL) + c->skew_s, amz_date);
	if (s3_key_path(&c->cfg, op->key, &path, err) ||
	    s3_canonical_query(&query, op->query, op->nquery, err))
		goto out;

	headers[nh++] = (struct s3_header){ "host", host };
	headers[nh++] = (struct s3_header){ "x-amz-content-sha256",
					    op->payload_hash };
	headers[nh++] = (struct s3_header){ "x-amz-date", amz_date };
	if (c->cred.session_token[0])
		headers[nh++] = (struct s3_header){ "x-amz-security-token",
						    c->cred.session_token };
	if (op->copy_source)
		headers[nh++] = (struct s3_header){ "x-amz-copy-source",
						    op->copy_source };
	req = (struct s3_sign_request){
		.method = op->method,
		.canonical_uri = hoist_buf_str(&path),
		.query = op->query,
		.nquery = op->nquery,
		.headers = headers,
		.nheaders = nh,
		.payload_hash = op->payload_hash,
		.region = c->cfg.region,
		.amz_date = amz_date,
	};
	if (s3_sigv4_authorization(&req, &c->cred, auth, sizeof(auth), err))
		goto out;
	for (size_t i = 0; i < nh; i++) {
		if (add_header(op, err, "%s: %s", headers[i].name,
			       headers[i].value))
			goto out;
	}
	if (add_header(op, err, "Authorization: %s", auth))
		goto out;
	if (hoist_buf_appendf(&url, err, "%s://%s%s%s%s", c->cfg.scheme, host,
			      hoist_buf_str(&path), query.len ? "?" : "",
			      hoist_buf_str(&query)))
		goto out;
	op->url = hoist_buf_detach(&url);
	rc = 0;
out:
	OPENSSL_cleanse(auth, sizeof(auth));
	hoist_buf_release(&path);
	hoist_buf_release(&query);
	hoist_buf_release(&url);
	return rc;
}

static int take_slot(struct s3_client *c, struct hoist_err *err)
{
	for (int i = 0; i < S3_PARALLEL_MAX; i++) {
		if (c->easy_busy[i])
			continue;
		if (!c->easy[i]) {
			c->easy[i] = curl_easy_init();
			if (!c->easy[i]) {
				hoist_err_set(err, HOIST_E_NOMEM,
					      "out of memory creating a "
					      "libcurl handle");
				return -1;
			}
		}
		c->easy_busy[i] = 1;
		return i;
	}
	hoist_err_set(err, HOIST_E_INTERNAL, "more than %d requests in flight",
		      S3_PARALLEL_MAX);
	return -1;
}

static void release_slot(struct s3_client *c, struct s3_op *op)
{
	if (op->slot < 0)
		return;
	curl_multi_remove_handle(c->multi, c->easy[op->slot]);
	c->easy_busy[op->slot] = 0;
	op->slot = -1;
}

/* Signs op and adds it to the multi handle. */
static int start_op(struct s3_client *c, struct s3_op *op,
		    struct hoist_err *err)
{
	CURL *easy;
	int slot;

	curl_slist_free_all(op->headers);
	op->headers = NULL;
	op->client = c;
	/* A retry moves the bytes of the failed attempt again. */
	if (op->body == S3_BODY_FILE || op->sink == S3_SINK_FILE)
		report(op, -(int64_t)op->pos);
	op->pos = 0;
	op->crc = 0;
	op->crc_len = 0;
	op->status = 0;
	op->etag[0] = op->date[0] = '\0';
	op->has_content_length = 0;
	op->local_error = 0;
	op->curl_error[0] = '\0';
	hoist_err_clear(&op->cb_err);
	hoist_buf_reset(&op->response);
	if (op->sink == S3_SINK_BUF)
		hoist_buf_reset(op->buf);
	op->attempts++;

	if (sign_op(c, op, err))
		return -1;
	if (op->range && add_header(op, err, "Range: %s", op->range))
		return -1;
	if (op->if_match && add_header(op, err, "If-Match: %s", op->if_match))
		return -1;
	if (op->content_type &&
	    add_header(op, err, "Content-Type: %s", op->content_type))
		return -1;
	/* No "Expect: 100-continue" round trip before each part. */
	if (add_header(op, err, "Expect:"))
		return -1;

	slot = take_slot(c, err);
	if (slot < 0)
		return -1;
	op->slot = slot;
	easy = c->easy[slot];
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, op->url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, op->headers);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, op);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, op->curl_error);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
			 (long)c->cfg.stall_seconds);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, IO_BUFFER_SIZE);
	curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, IO_BUFFER_SIZE);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, op);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, op);

	if (strcmp(op->method, "PUT") == 0) {
		curl_off_t len = op->body == S3_BODY_MEM ?
				 (curl_off_t)op->mem_len :
				 op->body == S3_BODY_FILE ?
				 (curl_off_t)op->length : 0;

		curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, len);
		curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(easy, CURLOPT_READDATA, op);
		curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(easy, CURLOPT_SEEKDATA, op);
	} else if (strcmp(op->method, "POST") == 0) {
		curl_easy_setopt(easy, CURLOPT_POST, 1L);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(op->body == S3_BODY_MEM ?
					      op->mem_len : 0));
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
				 op->body == S3_BODY_MEM ? op->mem : "");
	} else if (strcmp(op->method, "HEAD") == 0) {
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	} else if (strcmp(op->method, "GET") != 0) {
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, op->method);
	}

	if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
		release_slot(c, op);
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot add a request to the libcurl "
				     "multi handle");
	}
	c->stats.requests++;
	op->state = OP_RUNNING;
	return 0;
}

static int retryable_curl(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

static int retryable_status(long status, const char *code)
{
	if (status == 500 || status == 502 || status == 503 ||
	    status == 504 || status == 429)
		return 1;
	return status == 400 && strcmp(code, "RequestTimeout") == 0;
}

/* Maps a final HTTP status to an error code. */
static int status_code(long status)
{
	if (status == 404)
		return HOIST_E_NOT_FOUND;
	if (status == 409 || status == 412)
		return HOIST_E_CONFLICT;
	if (status >= 400 && status < 500)
		return HOIST_E_INVALID;
	return HOIST_E_HTTP;
}

static void append_presign_note(struct hoist_err *err)
{
	static const char note[] = "; hoistd presigned this request for its "
				   "artifact store, so check hoistd's "
				   "--storage URL, its endpoint and the "
				   "credentials in hoistd's environment";
	size_t len = strlen(err->msg);

	if (len + sizeof(note) <= sizeof(err->msg))
		memcpy(err->msg + len, note, sizeof(note));
}

/*
 * Decides what happens to op after an attempt ended with result: returns
 * OP_DONE, OP_WAITING (retry later) or OP_FAILED (op->err set).
 */
static int classify(struct s3_client *c, struct s3_op *op, CURLcode result)
{
	char what[HOIST_S3_KEY_MAX + 200];
	char code[64], message[256], request_id[128];
	int retry = 0, skewed = 0;
	char reason[600];

	describe(c, op, what, sizeof(what));
	code[0] = message[0] = request_id[0] = '\0';
	if (op->local_error) {
		op->err = op->cb_err;
		hoist_err_prefix(&op->err, "%s", what);
		return OP_FAILED;
	}
	if (result != CURLE_OK) {
		retry = retryable_curl(result);
		snprintf(reason, sizeof(reason), "%s",
			 op->curl_error[0] ? op->curl_error :
			 curl_easy_strerror(result));
	} else if ((op->status >= 200 && op->status <= 299) ||
		   (op->status == 404 && op->ok_404)) {
		if (op->sink == S3_SINK_FILE && op->status != 404 &&
		    op->pos != op->out_length) {
			/* A body cut short without a transport error. */
			retry = 1;
			snprintf(reason, sizeof(reason),
				 "received %llu of %llu bytes",
				 (unsigned long long)op->pos,
				 (unsigned long long)op->out_length);
		} else {
			return OP_DONE;
		}
	} else {
		s3_xml_error(op->response.data, op->response.len, code,
			     message, request_id);
		retry = retryable_status(op->status, code);
		if (op->status == 403 &&
		    strcmp(code, "RequestTimeTooSkewed") == 0 && !c->presign &&
		    op->date[0]) {
			time_t server = curl_getdate(op->date, NULL);

			if (server > 0) {
				c->skew_s = (int64_t)server -
					    (int64_t)time(NULL);
				c->stats.skew_corrections++;
				retry = skewed = 1;
			}
		}
		snprintf(reason, sizeof(reason), "HTTP %ld%s%s%s%s%s%s%s",
			 op->status, code[0] ? " " : "", code,
			 message[0] ? ": " : "", message,
			 request_id[0] ? " (request id " : "", request_id,
			 request_id[0] ? ")" : "");
	}
	if (retry && op->attempts < c->cfg.max_attempts) {
		c->stats.retries++;
		op->wake_ms = hoist_clock_mono_ms();
		if (!skewed)
			op->wake_ms += s3_backoff_ms(&c->rng, op->attempts,
						     c->cfg.backoff_base_ms,
						     c->cfg.backoff_max_ms);
		return OP_WAITING;
	}
	if (retry)
		hoist_err_set(&op->err, HOIST_E_HTTP, "%s failed after %u "
			      "attempts: %s", what, op->attempts, reason);
	else
		hoist_err_set(&op->err, result != CURLE_OK ? HOIST_E_HTTP :
			      status_code(op->status), "%s failed: %s", what,
			      reason);
	/* With presigned requests the endpoint, bucket and credentials are
	 * hoistd's, which the reader of this message may not know. */
	if (c->presign && (result != CURLE_OK || op->status == 301 ||
			   op->status == 403 ||
			   strcmp(code, "NoSuchBucket") == 0))
		append_presign_note(&op->err);
	return OP_FAILED;
}

int s3_run(struct s3_client *c, struct s3_op *ops, size_t n,
	   unsigned parallel, s3_op_done_fn done, void *arg,
	   struct hoist_err *err)
{
	size_t next = 0, active = 0;
	struct s3_op *failed = NULL;
	struct hoist_err local = HOIST_ERR_INIT;

	if (parallel < 1)
		parallel = 1;
	if (parallel > S3_PARALLEL_MAX)
		parallel = S3_PARALLEL_MAX;

	for (;;) {
		int64_t now = hoist_clock_mono_ms();
		int64_t wait_ms = 1000;
		int still_running = 0;
		int finished = 0;
		CURLMsg *msg;
		int left;

		/* Start new ops while slots are free. */
		while (!failed && !local.code && active < parallel &&
		       next < n) {
			struct s3_op *op = &ops[next++];

			op->attempts = 0;
			if (start_op(c, op, &local))
				break;
			active++;
		}
		/* Restart ops whose backoff is over. */
		for (size_t i = 0; !failed && !local.code && i < next; i++) {
			struct s3_op *op = &ops[i];

			if (op->state != OP_WAITING)
				continue;
			if (op->wake_ms <= now) {
				if (start_op(c, op, &local))
					break;
			} else if (op->wake_ms - now < wait_ms) {
				wait_ms = op->wake_ms - now;
			}
		}
		if (failed || local.code || active == 0)
			break;

		if (curl_multi_perform(c->multi, &still_running) != CURLM_OK) {
			hoist_err_set(&local, HOIST_E_INTERNAL,
				      "libcurl multi transfer failed");
			break;
		}
		while ((msg = curl_multi_info_read(c->multi, &left))) {
			struct s3_op *op = NULL;
			curl_off_t up = 0, down = 0;
			int state;

			if (msg->msg != CURLMSG_DONE)
				continue;
			finished++;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&op);
			curl_easy_getinfo(msg->easy_handle,
					  CURLINFO_SIZE_UPLOAD_T, &up);
			curl_easy_getinfo(msg->easy_handle,
					  CURLINFO_SIZE_DOWNLOAD_T, &down);
			c->stats.bytes_sent += (uint64_t)up;
			c->stats.bytes_received += (uint64_t)down;
			if (op->status == 0)
				curl_easy_getinfo(msg->easy_handle,
						  CURLINFO_RESPONSE_CODE,
						  &op->status);
			release_slot(c, op);
			state = classify(c, op, msg->data.result);
			op->state = state;
			if (state == OP_DONE) {
				active--;
				if (done && done(op, arg, &local))
					break;
			} else if (state == OP_FAILED) {
				active--;
				if (!failed)
					failed = op;
			}
		}
		if (failed || local.code)
			break;
		/* A finished op frees a slot and may have been the last one.
		 * Start the next op or return now, because no transfer would
		 * wake the poll. */
		if (finished > 0)
			continue;
		if (curl_multi_poll(c->multi, NULL, 0, (int)wait_ms, NULL) !=
		    CURLM_OK) {
			hoist_err_set(&local, HOIST_E_INTERNAL,
				      "libcurl multi poll failed");
			break;
		}
	}

	/* Stop whatever still runs after a failure. */
	for (size_t i = 0; i < n; i++) {
		if (ops[i].state == OP_RUNNING) {
			release_slot(c, &ops[i]);
			ops[i].state = OP_PENDING;
		}
		if (ops[i].state == OP_WAITING)
			ops[i].state = OP_PENDING;
	}
	if (failed)
		return hoist_err_set(err, failed->err.code, "%s",
				     failed->err.msg);
	if (local.code)
		return hoist_err_set(err, local.code, "%s", local.msg);
	return 0;
}

int s3_run_one(struct s3_client *c, struct s3_op *op, struct hoist_err *err)
{
	return s3_run(c, op, 1, 1, NULL, NULL, err);
}
