/*
 * s3_sigv4.h - AWS Signature Version 4 for S3: canonical requests, header
 * signatures and presigned query strings.  Private to src/storage.
 *
 * Nothing here reads a clock: the caller passes the request time as
 * "YYYYMMDDTHHMMSSZ", so tests can pin it.
 */
#ifndef HOIST_STORAGE_S3_SIGV4_H
#define HOIST_STORAGE_S3_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "storage/s3.h"

#define S3_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define S3_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One request header; the signer lowercases names and trims values. */
struct s3_header {
	const char *name;
	const char *value;
};

struct s3_sign_request {
	const char *method;
	const char *canonical_uri;	/* already URI-encoded, starts with / */
	const struct hoist_s3_param *query;	/* not encoded */
	size_t nquery;
	const struct s3_header *headers;	/* all headers to sign, host too */
	size_t nheaders;
	const char *payload_hash;	/* hex SHA-256 or UNSIGNED-PAYLOAD */
	const char *region;
	const char *amz_date;		/* YYYYMMDDTHHMMSSZ */
};

/*
 * Appends s to out percent-encoding every byte outside the RFC 3986
 * unreserved set (A-Z a-z 0-9 - . _ ~) as %XX with uppercase hex; '/' stays
 * when keep_slash is set (object paths) and becomes %2F otherwise (query
 * names and values).
 */
int s3_uri_encode(struct hoist_buf *out, const char *s, size_t len,
		  int keep_slash, struct hoist_err *err);

/* Appends the canonical query string: encoded name=value pairs sorted by
 * name, then by value, joined by '&'. */
int s3_canonical_query(struct hoist_buf *out,
		       const struct hoist_s3_param *query, size_t nquery,
		       struct hoist_err *err);

/* Appends the canonical request and stores the signed header list
 * ("host;x-amz-date") in signed_headers. */
int s3_canonical_request(const struct s3_sign_request *req,
			 struct hoist_buf *out, struct hoist_buf *signed_headers,
			 struct hoist_err *err);

/*
 * Writes the Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=...") for req into auth (size authlen).
 * req->headers must already hold x-amz-date, x-amz-content-sha256 and, for
 * session credentials, x-amz-security-token.
 */
int s3_sigv4_authorization(const struct s3_sign_request *req,
			   const struct hoist_s3_credentials *cred,
			   char *auth, size_t authlen, struct hoist_err *err);

/*
 * Appends to out the query string of a presigned request: req's query plus
 * X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders, X-Amz-Security-Token (for sessions), in canonical
 * order, then X-Amz-Signature.  req->payload_hash is ignored: presigned
 * requests use UNSIGNED-PAYLOAD.
 */
int s3_sigv4_presign_query(const struct s3_sign_request *req,
			   const struct hoist_s3_credentials *cred,
			   unsigned expires_s, struct hoist_buf *out,
			   struct hoist_err *err);

/* Formats Unix seconds as YYYYMMDDTHHMMSSZ (out: at least 17 bytes). */
void s3_amz_date(int64_t unix_s, char out[17]);

/* Writes the lowercase hex SHA-256 of data to out. */
void s3_sha256_hex(const void *data, size_t len, char out[65]);

#endif
