/*
 * s3_sigv4.c - AWS Signature Version 4, as specified in "Signature Version
 * 4 signing process" of the AWS General Reference and, for S3, in
 * "Authenticating Requests (AWS Signature Version 4)" of the S3 API
 * Reference: object paths are encoded once and keep '/', query names and
 * values are encoded with '/' as %2F.
 */
#include "storage/s3_sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGNED_HEADERS_MAX 32
#define ALGORITHM "AWS4-HMAC-SHA256"

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

int s3_uri_encode(struct hoist_buf *out, const char *s, size_t len,
		  int keep_slash, struct hoist_err *err)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char enc[3];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			if (hoist_buf_append(out, &s[i], 1, err))
				return -1;
			continue;
		}
		enc[0] = '%';
		enc[1] = hex_upper[c >> 4];
		enc[2] = hex_upper[c & 15];
		if (hoist_buf_append(out, enc, 3, err))
			return -1;
	}
	return 0;
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex_lower[in[i] >> 4];
		out[2 * i + 1] = hex_lower[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void s3_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32) {
		/* Only an OpenSSL without SHA-256 gets here; an empty digest
		 * can never match a signature. */
		out[0] = '\0';
		return;
	}
	hex_encode(md, 32, out);
}

void s3_amz_date(int64_t unix_s, char out[17])
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

struct encoded_param {
	char *name;
	char *value;
};

static int compare_params(const void *a, const void *b)
{
	const struct encoded_param *pa = a, *pb = b;
	int c = strcmp(pa->name, pb->name);

	return c ? c : strcmp(pa->value, pb->value);
}

static char *encode_dup(const char *s, struct hoist_err *err)
{
	struct hoist_buf buf;

	hoist_buf_init(&buf, HOIST_S3_URL_MAX);
	if (s3_uri_encode(&buf, s, strlen(s), 0, err) ||
	    hoist_buf_append(&buf, "", 0, err)) {
		hoist_buf_release(&buf);
		return NULL;
	}
	return hoist_buf_detach(&buf);
}

int s3_canonical_query(struct hoist_buf *out,
		       const struct hoist_s3_param *query, size_t nquery,
		       struct hoist_err *err)
{
	struct encoded_param *params;
	size_t done = 0;
	int rc = -1;

	if (nquery == 0)
		return 0;
	params = calloc(nquery, sizeof(*params));
	if (!params)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory encoding a query string");
	for (done = 0; done < nquery; done++) {
		params[done].name = encode_dup(query[done].name, err);
		params[done].value = encode_dup(query[done].value ?
						query[done].value : "", err);
		if (!params[done].name || !params[done].value) {
			done++;
			goto out;
		}
	}
	qsort(params, nquery, sizeof(*params), compare_params);
	for (size_t i = 0; i < nquery; i++) {
		if (hoist_buf_appendf(out, err, "%s%s=%s", i ? "&" : "",
				      params[i].name, params[i].value))
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < done; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
	return rc;
}

struct canonical_header {
	char name[64];
	const char *value;
};

static int compare_headers(const void *a, const void *b)
{
	const struct canonical_header *ha = a, *hb = b;

	return strcmp(ha->name, hb->name);
}

/* Appends value with leading and trailing spaces removed and each run of
 * spaces inside reduced to one, as SigV4 requires. */
static int append_trimmed(struct hoist_buf *out, const char *value,
			  struct hoist_err *err)
{
	const char *p = value;
	const char *end = value + strlen(value);
	int space = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (; p < end; p++) {
		if (*p == ' ' || *p == '\t') {
			space = 1;
			continue;
		}
		if (space && hoist_buf_append(out, " ", 1, err))
			return -1;
		space = 0;
		if (hoist_buf_append(out, p, 1, err))
			return -1;
	}
	return 0;
}

int s3_canonical_request(const struct s3_sign_request *req,
			 struct hoist_buf *out, struct hoist_buf *signed_headers,
			 struct hoist_err *err)
{
	struct canonical_header headers[SIGNED_HEADERS_MAX];

	if (req->nheaders > SIGNED_HEADERS_MAX)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "%zu headers to sign, more than %d",
				     req->nheaders, SIGNED_HEADERS_MAX);
	for (size_t i = 0; i < req->nheaders; i++) {
		size_t n = strlen(req->headers[i].name);

		if (n >= sizeof(headers[i].name))
			return hoist_err_set(err, HOIST_E_INTERNAL,
					     "header name '%s' is too long to "
					     "sign", req->headers[i].name);
		for (size_t j = 0; j <= n; j++)
			headers[i].name[j] = (char)tolower(
				(unsigned char)req->headers[i].name[j]);
		headers[i].value = req->headers[i].value;
	}
	qsort(headers, req->nheaders, sizeof(headers[0]), compare_headers);

	if (hoist_buf_appendf(out, err, "%s\n%s\n", req->method,
			      req->canonical_uri) ||
	    s3_canonical_query(out, req->query, req->nquery, err) ||
	    hoist_buf_append(out, "\n", 1, err))
		return -1;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (hoist_buf_appendf(out, err, "%s:", headers[i].name) ||
		    append_trimmed(out, headers[i].value, err) ||
		    hoist_buf_append(out, "\n", 1, err))
			return -1;
	}
	if (hoist_buf_append(out, "\n", 1, err))
		return -1;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (hoist_buf_appendf(signed_headers, err, "%s%s",
				      i ? ";" : "", headers[i].name))
			return -1;
	}
	return hoist_buf_appendf(out, err, "%s\n%s",
				 hoist_buf_str(signed_headers),
				 req->payload_hash);
}

static int hmac_sha256(const void *key, size_t keylen, const char *msg,
		       unsigned char out[32], struct hoist_err *err)
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
		  strlen(msg), out, &len) || len != 32)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "HMAC-SHA256 failed");
	return 0;
}

/* Computes the hex signature of the string to sign for the scope date
 * (YYYYMMDD) and region. */
static int sign_string(const struct hoist_s3_credentials *cred,
		       const char *date, const char *region,
		       const char *string_to_sign, char out[65],
		       struct hoist_err *err)
{
	char secret[sizeof(cred->secret_access_key) + 4];
	unsigned char key[32];
	unsigned char sig[32];
	int rc = -1;

	snprintf(secret, sizeof(secret), "AWS4%s", cred->secret_access_key);
	if (hmac_sha256(secret, strlen(secret), date, key, err) ||
	    hmac_sha256(key, 32, region, key, err) ||
	    hmac_sha256(key, 32, "s3", key, err) ||
	    hmac_sha256(key, 32, "aws4_request", key, err) ||
	    hmac_sha256(key, 32, string_to_sign, sig, err))
		goto out;
	hex_encode(sig, 32, out);
	rc = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

static int check_date(const char *amz_date, struct hoist_err *err)
{
	if (!amz_date || strlen(amz_date) != 16 || amz_date[8] != 'T' ||
	    amz_date[15] != 'Z')
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "request time '%s' is not "
				     "YYYYMMDDTHHMMSSZ",
				     amz_date ? amz_date : "(null)");
	return 0;
}

/* Computes the signature of req; scope receives
 * "YYYYMMDD/region/s3/aws4_request". */
static int signature_of(const struct s3_sign_request *req,
			const struct hoist_s3_credentials *cred,
			struct hoist_buf *signed_headers, char scope[128],
			char signature[65], struct hoist_err *err)
{
	struct hoist_buf creq, sts;
	char date[9];
	char creq_hash[65];
	int rc = -1;

	if (check_date(req->amz_date, err))
		return -1;
	memcpy(date, req->amz_date, 8);
	date[8] = '\0';
	if ((size_t)snprintf(scope, 128, "%s/%s/s3/aws4_request", date,
			     req->region) >= 128)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "region '%s' is too long", req->region);

	hoist_buf_init(&creq, 4 * HOIST_S3_URL_MAX);
	hoist_buf_init(&sts, 1024);
	if (s3_canonical_request(req, &creq, signed_headers, err))
		goto out;
	s3_sha256_hex(creq.data, creq.len, creq_hash);
	if (hoist_buf_appendf(&sts, err, ALGORITHM "\n%s\n%s\n%s",
			      req->amz_date, scope, creq_hash))
		goto out;
	if (sign_string(cred, date, req->region, sts.data, signature, err))
		goto out;
	rc = 0;
out:
	hoist_buf_release(&creq);
	hoist_buf_release(&sts);
	return rc;
}

int s3_sigv4_authorization(const struct s3_sign_request *req,
			   const struct hoist_s3_credentials *cred,
			   char *auth, size_t authlen, struct hoist_err *err)
{
	struct hoist_buf signed_headers;
	char scope[128];
	char signature[65];
	int rc = -1;

	hoist_buf_init(&signed_headers, 2048);
	if (signature_of(req, cred, &signed_headers, scope, signature, err))
		goto out;
	if ((size_t)snprintf(auth, authlen,
			     ALGORITHM " Credential=%s/%s, SignedHeaders=%s, "
			     "Signature=%s", cred->access_key_id, scope,
			     hoist_buf_str(&signed_headers),
			     signature) >= authlen) {
		hoist_err_set(err, HOIST_E_INTERNAL,
			      "the Authorization header exceeds %zu bytes",
			      authlen);
		goto out;
	}
	rc = 0;
out:
	hoist_buf_release(&signed_headers);
	OPENSSL_cleanse(signature, sizeof(signature));
	return rc;
}

int s3_sigv4_presign_query(const struct s3_sign_request *req,
			   const struct hoist_s3_credentials *cred,
			   unsigned expires_s, struct hoist_buf *out,
			   struct hoist_err *err)
{
	struct hoist_s3_param *query = NULL;
	struct s3_sign_request presign = *req;
	struct hoist_buf signed_headers;
	char credential[512];
	char expires[16];
	char scope[128];
	char signature[65];
	struct hoist_buf names;
	size_t n = 0;
	int rc = -1;

	hoist_buf_init(&signed_headers, 2048);
	hoist_buf_init(&names, 2048);
	if (check_date(req->amz_date, err))
		goto out;
	if (expires_s < 1 || expires_s > 604800) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "presigned URL lifetime %u s is outside 1 to "
			      "604800 s (7 days)", expires_s);
		goto out;
	}
	query = calloc(req->nquery + 6, sizeof(*query));
	if (!query) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "out of memory presigning a request");
		goto out;
	}
	if (req->nquery)
		memcpy(query, req->query, req->nquery * sizeof(*query));
	n = req->nquery;

	/* X-Amz-SignedHeaders is part of the signed query, so a first
	 * canonical request without query computes the header list. */
	{
		struct hoist_buf scratch;

		hoist_buf_init(&scratch, 4 * HOIST_S3_URL_MAX);
		presign.query = NULL;
		presign.nquery = 0;
		presign.payload_hash = S3_UNSIGNED_PAYLOAD;
		rc = s3_canonical_request(&presign, &scratch, &names, err);
		hoist_buf_release(&scratch);
		if (rc)
			goto out;
		rc = -1;
	}

	snprintf(expires, sizeof(expires), "%u", expires_s);
	if ((size_t)snprintf(credential, sizeof(credential),
			     "%s/%.8s/%s/s3/aws4_request", cred->access_key_id,
			     req->amz_date, req->region) >= sizeof(credential)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "access key id or region is too long");
		goto out;
	}
	query[n++] = (struct hoist_s3_param){ "X-Amz-Algorithm", ALGORITHM };
	query[n++] = (struct hoist_s3_param){ "X-Amz-Credential", credential };
	query[n++] = (struct hoist_s3_param){ "X-Amz-Date", req->amz_date };
	query[n++] = (struct hoist_s3_param){ "X-Amz-Expires", expires };
	query[n++] = (struct hoist_s3_param){ "X-Amz-SignedHeaders",
					      hoist_buf_str(&names) };
	if (cred->session_token[0])
		query[n++] = (struct hoist_s3_param){ "X-Amz-Security-Token",
						      cred->session_token };

	presign.query = query;
	presign.nquery = n;
	presign.payload_hash = S3_UNSIGNED_PAYLOAD;
	if (signature_of(&presign, cred, &signed_headers, scope, signature,
			 err))
		goto out;
	if (s3_canonical_query(out, query, n, err) ||
	    hoist_buf_appendf(out, err, "&X-Amz-Signature=%s", signature))
		goto out;
	rc = 0;
out:
	free(query);
	hoist_buf_release(&signed_headers);
	hoist_buf_release(&names);
	OPENSSL_cleanse(signature, sizeof(signature));
	return rc;
}
