/*
 * s3.c - the S3 artifact store: URL options, the store operations, the
 * presigned mode and message redaction.  The requests themselves are in
 * s3_request.c and the large transfers in s3_transfer.c.
 */
#include "storage/s3.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "storage/s3_cred.h"
#include "storage/s3_internal.h"
#include "storage/s3_key.h"
#include "storage/s3_sigv4.h"
#include "storage/s3_xml.h"

#define DEFAULT_PARALLEL 8
#define DEFAULT_THRESHOLD (64ull << 20)
#define DEFAULT_PART_SIZE (16ull << 20)
#define DEFAULT_CHUNK_SIZE (64ull << 20)
#define DEFAULT_ATTEMPTS 8
#define DEFAULT_BACKOFF_MS 200
#define DEFAULT_BACKOFF_MAX_MS 20000
#define DEFAULT_STALL_SECONDS 60
#define DEFAULT_LIST_PAGE 1000
#define LIST_RESPONSE_MAX (16u << 20)
#define ACCEPTED_FORM "s3://bucket/optional/prefix?endpoint=URL&region=NAME"

static const struct hoist_artifact_ops s3_ops;

struct s3_store {
	struct hoist_artifact_store base;	/* first: the public handle */
	struct s3_client client;
};

static struct s3_store *s3_store_of(struct hoist_artifact_store *store)
{
	return (struct s3_store *)store;
}

int hoist_s3_is_store(const struct hoist_artifact_store *store)
{
	return store && store->ops == &s3_ops;
}

/* Replaces every occurrence of secret in text (size cap) by "[redacted]". */
static void scrub_secret(char *text, size_t cap, const char *secret)
{
	static const char mark[] = "[redacted]";
	size_t slen = strlen(secret);
	char *p;

	if (slen < 4)
		return;
	while ((p = strstr(text, secret))) {
		size_t tail = strlen(p + slen);

		if ((size_t)(p - text) + sizeof(mark) - 1 + tail >= cap)
			tail = cap - 1 - (size_t)(p - text) - (sizeof(mark) - 1);
		memmove(p + sizeof(mark) - 1, p + slen, tail);
		memcpy(p, mark, sizeof(mark) - 1);
		p[sizeof(mark) - 1 + tail] = '\0';
	}
}

void hoist_s3_redact_url(const char *text, char *out, size_t outlen)
{
	static const char *const names[] = {
		"X-Amz-Signature=", "X-Amz-Credential=",
		"X-Amz-Security-Token=",
	};
	size_t o = 0;

	if (outlen == 0)
		return;
	for (const char *p = text; *p && o + 1 < outlen;) {
		size_t matched = 0;

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t n = strlen(names[i]);

			if (strncasecmp(p, names[i], n) == 0) {
				matched = n;
				break;
			}
		}
		if (!matched) {
			out[o++] = *p++;
			continue;
		}
		for (size_t i = 0; i < matched && o + 1 < outlen; i++)
			out[o++] = *p++;
		for (const char *r = "REDACTED"; *r && o + 1 < outlen; r++)
			out[o++] = *r;
		while (*p && *p != '&' && *p != ' ' && *p != '\'' &&
		       *p != '"')
			p++;
	}
	out[o] = '\0';
}

/* Removes every secret from a message that leaves the back end. */
static int scrub(struct s3_store *s, struct hoist_err *err, int rc)
{
	char clean[HOIST_ERR_MSG_MAX];

	if (!err || err->code == HOIST_OK)
		return rc;
	scrub_secret(err->msg, sizeof(err->msg),
		     s->client.cred.secret_access_key);
	scrub_secret(err->msg, sizeof(err->msg),
		     s->client.cred.session_token);
	scrub_secret(err->msg, sizeof(err->msg),
		     s->client.cred.access_key_id);
	hoist_s3_redact_url(err->msg, clean, sizeof(clean));
	memcpy(err->msg, clean, sizeof(clean));
	return rc;
}

static int parse_size(const char *name, const char *value, uint64_t *out,
		      struct hoist_err *err)
{
	char *end;
	unsigned long long n;
	uint64_t mult = 1;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (end == value || errno || value[0] == '-')
		goto bad;
	if (strcasecmp(end, "KiB") == 0)
		mult = 1ull << 10;
	else if (strcasecmp(end, "MiB") == 0)
		mult = 1ull << 20;
	else if (strcasecmp(end, "GiB") == 0)
		mult = 1ull << 30;
	else if (*end)
		goto bad;
	if (n > UINT64_MAX / mult)
		goto bad;
	*out = n * mult;
	return 0;
bad:
	return hoist_err_set(err, HOIST_E_INVALID,
			     "invalid %s '%s' in the s3:// URL: expected a "
			     "byte count such as 16MiB", name, value);
}

static int parse_uint(const char *name, const char *value, unsigned min,
		      unsigned max, unsigned *out, struct hoist_err *err)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(value, &end, 10);
	if (end == value || *end || errno || value[0] == '-' || n < min ||
	    n > max)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid %s '%s' in the s3:// URL: "
				     "expected a whole number from %u to %u",
				     name, value, min, max);
	*out = (unsigned)n;
	return 0;
}

/* Splits "http://host:port/" into scheme and host. */
static int parse_endpoint(const char *source, const char *value,
			  struct hoist_s3_config *cfg, struct hoist_err *err)
{
	const char *host;
	size_t len;

	if (strncasecmp(value, "http://", 7) == 0) {
		snprintf(cfg->scheme, sizeof(cfg->scheme), "http");
		host = value + 7;
	} else if (strncasecmp(value, "https://", 8) == 0) {
		snprintf(cfg->scheme, sizeof(cfg->scheme), "https");
		host = value + 8;
	} else {
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid S3 endpoint '%s' from %s: it "
				     "must start with http:// or https://",
				     value, source);
	}
	len = strcspn(host, "/?#");
	if (len == 0 || len >= sizeof(cfg->host) ||
	    (host[len] && strcmp(host + len, "/") != 0))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid S3 endpoint '%s' from %s: "
				     "expected scheme://host[:port] without "
				     "a path", value, source);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (!isalnum(ch) && !strchr(".-:[]_", ch))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid S3 endpoint '%s' from "
					     "%s: the host contains '%c'",
					     value, source, ch);
	}
	memcpy(cfg->host, host, len);
	cfg->host[len] = '\0';
	return 0;
}

static int bucket_error(const char *bucket)
{
	size_t len = strlen(bucket);

	if (len < 3 || len > HOIST_S3_BUCKET_MAX)
		return 1;
	for (size_t i = 0; i < len; i++) {
		char ch = bucket[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= '0' && ch <= '9') &&
		    ch != '-' && ch != '.')
			return 1;
	}
	return !isalnum((unsigned char)bucket[0]) ||
	       !isalnum((unsigned char)bucket[len - 1]);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes in place; returns -1 on a malformed escape. */
static int percent_decode(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

			if (hi < 0 || lo < 0)
				return -1;
			*o++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return 0;
}

static int apply_option(struct hoist_s3_config *cfg, const char *name,
			const char *value, char *endpoint, size_t endlen,
			int *addressing, struct hoist_err *err)
{
	unsigned v;

	if (strcmp(name, "endpoint") == 0) {
		snprintf(endpoint, endlen, "%s", value);
		return 0;
	}
	if (strcmp(name, "region") == 0) {
		if (!*value || strlen(value) >= sizeof(cfg->region))
			goto bad;
		snprintf(cfg->region, sizeof(cfg->region), "%s", value);
		return 0;
	}
	if (strcmp(name, "profile") == 0) {
		if (!*value || strlen(value) >= sizeof(cfg->profile))
			goto bad;
		snprintf(cfg->profile, sizeof(cfg->profile), "%s", value);
		return 0;
	}
	if (strcmp(name, "addressing") == 0) {
		if (strcmp(value, "path") == 0)
			*addressing = 1;
		else if (strcmp(value, "virtual") == 0)
			*addressing = 0;
		else
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid addressing '%s' in the "
					     "s3:// URL: use path or virtual",
					     value);
		return 0;
	}
	if (strcmp(name, "payload") == 0) {
		if (strcmp(value, "signed") == 0)
			cfg->signed_payload = 1;
		else if (strcmp(value, "unsigned") == 0)
			cfg->signed_payload = 0;
		else
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid payload '%s' in the "
					     "s3:// URL: use signed or "
					     "unsigned", value);
		return 0;
	}
	if (strcmp(name, "parallel") == 0) {
		if (parse_uint(name, value, 1, S3_PARALLEL_MAX, &v, err))
			return -1;
		cfg->parallel = v;
		return 0;
	}
	if (strcmp(name, "threshold") == 0)
		return parse_size(name, value, &cfg->threshold, err);
	if (strcmp(name, "part_size") == 0) {
		if (parse_size(name, value, &cfg->part_size, err))
			return -1;
		if (cfg->part_size < HOIST_S3_MIN_PART_SIZE ||
		    cfg->part_size > HOIST_S3_MAX_PART_SIZE)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid part_size '%s' in the "
					     "s3:// URL: S3 parts are 5MiB to "
					     "5GiB", value);
		return 0;
	}
	if (strcmp(name, "chunk_size") == 0) {
		if (parse_size(name, value, &cfg->chunk_size, err))
			return -1;
		if (cfg->chunk_size < 4096)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid chunk_size '%s' in the "
					     "s3:// URL: use at least 4KiB",
					     value);
		return 0;
	}
	if (strcmp(name, "attempts") == 0)
		return parse_uint(name, value, 1, 100, &cfg->max_attempts,
				  err);
	if (strcmp(name, "backoff_ms") == 0)
		return parse_uint(name, value, 0, 600000,
				  &cfg->backoff_base_ms, err);
	if (strcmp(name, "backoff_max_ms") == 0)
		return parse_uint(name, value, 0, 3600000,
				  &cfg->backoff_max_ms, err);
	if (strcmp(name, "stall_seconds") == 0)
		return parse_uint(name, value, 1, 86400, &cfg->stall_seconds,
				  err);
	if (strcmp(name, "list_page") == 0)
		return parse_uint(name, value, 1, 1000, &cfg->list_page, err);
	return hoist_err_set(err, HOIST_E_INVALID,
			     "unknown option '%s' in the s3:// URL; known: "
			     "endpoint, region, addressing, profile, payload, "
			     "parallel, threshold, part_size, chunk_size, "
			     "attempts, backoff_ms, backoff_max_ms, "
			     "stall_seconds, list_page", name);
bad:
	return hoist_err_set(err, HOIST_E_INVALID,
			     "invalid %s '%s' in the s3:// URL", name, value);
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int hoist_s3_config_parse(const char *url, struct hoist_s3_config *cfg,
			  struct hoist_err *err)
{
	char copy[2048];
	char endpoint[512] = "";
	char *rest, *query, *slash;
	int addressing = -1;
	const char *source;

	memset(cfg, 0, sizeof(*cfg));
	cfg->parallel = DEFAULT_PARALLEL;
	cfg->threshold = DEFAULT_THRESHOLD;
	cfg->part_size = DEFAULT_PART_SIZE;
	cfg->chunk_size = DEFAULT_CHUNK_SIZE;
	cfg->max_attempts = DEFAULT_ATTEMPTS;
	cfg->backoff_base_ms = DEFAULT_BACKOFF_MS;
	cfg->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	cfg->stall_seconds = DEFAULT_STALL_SECONDS;
	cfg->list_page = DEFAULT_LIST_PAGE;

	if (!url || strncasecmp(url, "s3://", 5) != 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "'%s' is not an s3:// URL; use "
				     ACCEPTED_FORM, url ? url : "(null)");
	if (strlen(url) >= sizeof(copy))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "s3:// URL '%.64s...' is longer than %zu "
				     "bytes", url, sizeof(copy) - 1);
	snprintf(copy, sizeof(copy), "%s", url + 5);
	query = strchr(copy, '?');
	if (query)
		*query++ = '\0';
	slash = strchr(copy, '/');
	rest = slash ? slash + 1 : NULL;
	if (slash)
		*slash = '\0';
	if (bucket_error(copy))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid bucket name '%s' in '%s': use 3 "
				     "to 63 lowercase letters, digits, '-' and "
				     "'.', starting and ending with a letter "
				     "or digit", copy, url);
	snprintf(cfg->bucket, sizeof(cfg->bucket), "%s", copy);

	if (rest && *rest) {
		size_t len = strlen(rest);
		const char *reason;

		if (rest[len - 1] == '/')
			rest[--len] = '\0';
		reason = hoist_artifact_key_error(rest);
		if (reason)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid prefix '%s' in '%s': it "
					     "%s", rest, url, reason);
		if (len + 1 > HOIST_S3_PREFIX_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "prefix in '%s' is longer than %d "
					     "bytes", url,
					     HOIST_S3_PREFIX_MAX - 1);
		snprintf(cfg->prefix, sizeof(cfg->prefix), "%s/", rest);
	}

	while (query && *query) {
		char *next = strchr(query, '&');
		char *eq;

		if (next)
			*next++ = '\0';
		eq = strchr(query, '=');
		if (!eq || eq == query)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid option '%s' in '%s': use "
					     "name=value", query, url);
		*eq = '\0';
		if (percent_decode(eq + 1))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid percent escape in option "
					     "'%s' of '%s'", query, url);
		if (apply_option(cfg, query, eq + 1, endpoint,
				 sizeof(endpoint), &addressing, err))
			return -1;
		query = next;
	}

	if (!cfg->region[0]) {
		const char *region = env_nonempty("AWS_REGION");

		if (!region)
			region = env_nonempty("AWS_DEFAULT_REGION");
		if (region) {
			if (strlen(region) >= sizeof(cfg->region))
				return hoist_err_set(err, HOIST_E_INVALID,
						     "AWS region '%s' is too "
						     "long", region);
			snprintf(cfg->region, sizeof(cfg->region), "%s",
				 region);
		} else {
			int found = s3_cred_config_value(cfg->profile,
							 "region", cfg->region,
							 sizeof(cfg->region),
							 err);

			if (found < 0)
				return -1;
			if (!found)
				return hoist_err_set(err, HOIST_E_INVALID,
						     "no AWS region for '%s': "
						     "add ?region=NAME to the "
						     "URL, set AWS_REGION, or "
						     "set region in the "
						     "profile of ~/.aws/config",
						     url);
		}
	}
	for (const char *p = cfg->region; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-')
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid AWS region '%s': use "
					     "letters, digits and '-'",
					     cfg->region);
	}

	source = "the endpoint option";
	if (!endpoint[0] && env_nonempty("AWS_ENDPOINT_URL_S3")) {
		snprintf(endpoint, sizeof(endpoint), "%s",
			 getenv("AWS_ENDPOINT_URL_S3"));
		source = "AWS_ENDPOINT_URL_S3";
	} else if (!endpoint[0] && env_nonempty("AWS_ENDPOINT_URL")) {
		snprintf(endpoint, sizeof(endpoint), "%s",
			 getenv("AWS_ENDPOINT_URL"));
		source = "AWS_ENDPOINT_URL";
	}
	if (endpoint[0]) {
		if (parse_endpoint(source, endpoint, cfg, err))
			return -1;
		cfg->path_style = addressing < 0 ? 1 : addressing;
	} else {
		snprintf(cfg->scheme, sizeof(cfg->scheme), "https");
		snprintf(cfg->host, sizeof(cfg->host), "s3.%s.amazonaws.com",
			 cfg->region);
		cfg->path_style = addressing < 0 ? 0 : addressing;
	}
	if (!cfg->path_style && strchr(cfg->bucket, '.') &&
	    strcmp(cfg->scheme, "https") == 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "bucket '%s' contains '.', which breaks "
				     "TLS with virtual-hosted addressing; add "
				     "addressing=path to '%s'", cfg->bucket,
				     url);
	return 0;
}

/* Uploads path to key with the checksums that are not NULL, reporting to
 * the store's progress callback. */
static int put_file_sums(struct hoist_artifact_store *store, const char *key,
			 const char *path, uint64_t *size, char sha256[65],
			 uint32_t *crc32c, struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];

	s->client.progress = store->progress;
	s->client.progress_arg = store->progress_arg;
	if (s3_key_build(&s->client.cfg, key, full, err))
		return -1;
	return scrub(s, err, s3_transfer_put_file(&s->client, full, path,
						  size, sha256, crc32c, err));
}

/* Downloads key to path, the counterpart of put_file_sums(). */
static int get_file_sums(struct hoist_artifact_store *store, const char *key,
			 const char *path, uint64_t *size, char sha256[65],
			 uint32_t *crc32c, struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];

	s->client.progress = store->progress;
	s->client.progress_arg = store->progress_arg;
	if (s3_key_build(&s->client.cfg, key, full, err))
		return -1;
	return scrub(s, err, s3_transfer_get_file(&s->client, full, path,
						  size, sha256, crc32c, err));
}

static int store_put_file_sha256(struct hoist_artifact_store *store,
				 const char *key, const char *path,
				 uint64_t *size, char sha256[65],
				 struct hoist_err *err)
{
	return put_file_sums(store, key, path, size, sha256, NULL, err);
}

static int store_put_file_crc32c(struct hoist_artifact_store *store,
				 const char *key, const char *path,
				 uint64_t *size, uint32_t *crc32c,
				 struct hoist_err *err)
{
	return put_file_sums(store, key, path, size, NULL, crc32c, err);
}

static int store_put_file(struct hoist_artifact_store *store,
			  const char *key, const char *path,
			  struct hoist_err *err)
{
	return put_file_sums(store, key, path, NULL, NULL, NULL, err);
}

static int store_put_bytes(struct hoist_artifact_store *store,
			   const char *key, const void *data, size_t len,
			   struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];
	struct s3_op op;
	int rc;

	if (s3_key_build(&s->client.cfg, key, full, err))
		return -1;
	if (len > HOIST_S3_MAX_PART_SIZE)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%zu bytes for '%s' exceed the 5 GiB of "
				     "one PUT; store them from a file", len,
				     key);
	s3_op_init(&op);
	op.method = "PUT";
	op.key = full;
	op.body = S3_BODY_MEM;
	op.mem = data ? data : "";
	op.mem_len = len;
	rc = s3_run_one(&s->client, &op, err);
	s3_op_release(&op);
	return scrub(s, err, rc);
}

static int store_get_file_sha256(struct hoist_artifact_store *store,
				 const char *key, const char *path,
				 uint64_t *size, char sha256[65],
				 struct hoist_err *err)
{
	return get_file_sums(store, key, path, size, sha256, NULL, err);
}

static int store_get_file_crc32c(struct hoist_artifact_store *store,
				 const char *key, const char *path,
				 uint64_t *size, uint32_t *crc32c,
				 struct hoist_err *err)
{
	return get_file_sums(store, key, path, size, NULL, crc32c, err);
}

static int store_get_file(struct hoist_artifact_store *store,
			  const char *key, const char *path,
			  struct hoist_err *err)
{
	return get_file_sums(store, key, path, NULL, NULL, NULL, err);
}

static int store_get_bytes(struct hoist_artifact_store *store,
			   const char *key, struct hoist_buf *buf,
			   struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];
	struct hoist_buf tmp;
	struct s3_op op;
	int rc = -1;

	if (s3_key_build(&s->client.cfg, key, full, err))
		return -1;
	/* Retries restart the body, so it goes to a scratch buffer that
	 * is appended to buf only once it is whole. */
	hoist_buf_init(&tmp, buf->max - buf->len);
	s3_op_init(&op);
	op.method = "GET";
	op.key = full;
	op.sink = S3_SINK_BUF;
	op.buf = &tmp;
	if (s3_run_one(&s->client, &op, err))
		goto out;
	if (hoist_buf_append(buf, tmp.data ? tmp.data : "", tmp.len, err))
		goto out;
	rc = 0;
out:
	s3_op_release(&op);
	hoist_buf_release(&tmp);
	return scrub(s, err, rc);
}

static int store_remove(struct hoist_artifact_store *store, const char *key,
			struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];
	struct s3_op op;
	int rc;

	if (s3_key_build(&s->client.cfg, key, full, err))
		return -1;
	s3_op_init(&op);
	op.method = "DELETE";
	op.key = full;
	op.ok_404 = 1;
	rc = s3_run_one(&s->client, &op, err);
	s3_op_release(&op);
	return scrub(s, err, rc);
}

/* Calls cb for each <Contents> of one ListObjectsV2 page; returns 1 when
 * the callback stopped the listing. */
static int list_page(struct s3_store *s, const struct hoist_buf *body,
		     hoist_artifact_list_cb cb, void *arg,
		     struct hoist_err *err)
{
	struct s3_xml_span span = { body->data, body->len }, entry;

	while (s3_xml_next(&span, "Contents", &entry)) {
		char key[HOIST_S3_KEY_MAX + 1];
		char size_text[32];
		const char *art;
		char *end;
		unsigned long long size;

		if (s3_xml_text(&entry, "Key", key, sizeof(key)) != 1 ||
		    s3_xml_text(&entry, "Size", size_text,
				sizeof(size_text)) != 1)
			return hoist_err_set(err, HOIST_E_HTTP,
					     "ListObjectsV2 of s3://%s "
					     "returned an entry without Key or "
					     "Size", s->client.cfg.bucket);
		size = strtoull(size_text, &end, 10);
		if (*end)
			return hoist_err_set(err, HOIST_E_HTTP,
					     "ListObjectsV2 of s3://%s "
					     "returned the size '%s' for '%s'",
					     s->client.cfg.bucket, size_text,
					     key);
		art = s3_key_strip(&s->client.cfg, key);
		if (!art)
			continue;
		if (cb(art, size, arg))
			return 1;
	}
	return 0;
}

static int store_list(struct hoist_artifact_store *store, const char *prefix,
		      hoist_artifact_list_cb cb, void *arg,
		      struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];
	char token[2048] = "";
	char page[16];
	struct hoist_buf body;
	int rc = -1;

	if (s3_key_build_prefix(&s->client.cfg, prefix, full, err))
		return -1;
	snprintf(page, sizeof(page), "%u", s->client.cfg.list_page);
	hoist_buf_init(&body, LIST_RESPONSE_MAX);
	for (;;) {
		struct s3_xml_span span;
		char truncated[16];
		struct s3_op op;
		int stopped, failed;

		s3_op_init(&op);
		op.method = "GET";
		op.label = "ListObjectsV2";
		op.query[op.nquery++] = (struct hoist_s3_param){ "list-type",
								 "2" };
		op.query[op.nquery++] = (struct hoist_s3_param){ "prefix",
								 full };
		op.query[op.nquery++] = (struct hoist_s3_param){ "max-keys",
								 page };
		if (token[0])
			op.query[op.nquery++] = (struct hoist_s3_param){
				"continuation-token", token };
		op.sink = S3_SINK_BUF;
		op.buf = &body;
		hoist_buf_reset(&body);
		failed = s3_run_one(&s->client, &op, err);
		s3_op_release(&op);
		if (failed)
			goto out;
		stopped = list_page(s, &body, cb, arg, err);
		if (stopped < 0)
			goto out;
		if (stopped)
			break;
		span = (struct s3_xml_span){ body.data, body.len };
		if (s3_xml_text(&span, "IsTruncated", truncated,
				sizeof(truncated)) != 1 ||
		    strcmp(truncated, "true") != 0)
			break;
		if (s3_xml_text(&span, "NextContinuationToken", token,
				sizeof(token)) != 1 || !token[0]) {
			hoist_err_set(err, HOIST_E_HTTP,
				      "ListObjectsV2 of s3://%s/%s is "
				      "truncated but has no "
				      "NextContinuationToken",
				      s->client.cfg.bucket, full);
			goto out;
		}
	}
	rc = 0;
out:
	hoist_buf_release(&body);
	return scrub(s, err, rc);
}

static void store_close(struct hoist_artifact_store *store)
{
	struct s3_store *s = s3_store_of(store);

	s3_client_release(&s->client);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static const struct hoist_artifact_ops s3_ops = {
	.scheme = "s3",
	.put_file = store_put_file,
	.put_bytes = store_put_bytes,
	.get_file = store_get_file,
	.get_bytes = store_get_bytes,
	.remove = store_remove,
	.list = store_list,
	.close = store_close,
	.put_file_sha256 = store_put_file_sha256,
	.get_file_sha256 = store_get_file_sha256,
	.put_file_crc32c = store_put_file_crc32c,
	.get_file_crc32c = store_get_file_crc32c,
};

static int open_store(const char *url, hoist_s3_presign_fn presign,
		      void *arg, struct hoist_artifact_store **out,
		      struct hoist_err *err)
{
	struct s3_store *s;
	size_t name_len;

	*out = NULL;
	if (strlen(url) >= sizeof(s->base.url))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "s3:// URL '%.64s...' is too long", url);
	s = calloc(1, sizeof(*s));
	if (!s)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory opening '%s'", url);
	s->base.ops = &s3_ops;
	/* Messages name the bucket and prefix only: the options would make
	 * each of them long, and error prefixes cut long text short. */
	name_len = strcspn(url, "?");	/* fits: url is shorter */
	memcpy(s->base.url, url, name_len);
	s->base.url[name_len] = '\0';
	if (hoist_s3_config_parse(url, &s->client.cfg, err))
		goto fail;
	if (presign) {
		s->client.presign = presign;
		s->client.presign_arg = arg;
	} else if (hoist_s3_credentials_load(s->client.cfg.profile,
					     &s->client.cred, err)) {
		goto fail;
	}
	if (s3_client_init(&s->client, err))
		goto fail;
	*out = &s->base;
	return 0;
fail:
	hoist_err_prefix(err, "opening the artifact store %.*s",
			 (int)strcspn(url, "?"), url);
	s3_client_release(&s->client);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
	return -1;
}

int hoist_s3_open(const char *url, struct hoist_artifact_store **out,
		  struct hoist_err *err)
{
	return open_store(url, NULL, NULL, out, err);
}

int hoist_s3_open_presigned(const char *url, hoist_s3_presign_fn presign,
			    void *arg, struct hoist_artifact_store **out,
			    struct hoist_err *err)
{
	if (!presign)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "no presign callback for '%s'", url);
	return open_store(url, presign, arg, out, err);
}

int hoist_s3_head(struct hoist_artifact_store *store, const char *key,
		  uint64_t *size, char etag[128], struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];

	if (!hoist_s3_is_store(store))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s is not an S3 store", store->url);
	if (s3_key_build(&s->client.cfg, key, full, err))
		return -1;
	return scrub(s, err, s3_transfer_head(&s->client, full, size, etag,
					      err));
}

int hoist_s3_copy(struct hoist_artifact_store *store, const char *src,
		  const char *dst, struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full_src[HOIST_S3_KEY_MAX + 1], full_dst[HOIST_S3_KEY_MAX + 1];
	struct hoist_buf source, body;
	struct s3_xml_span root;
	uint64_t size;
	struct s3_op op;
	int rc = -1;

	if (!hoist_s3_is_store(store))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s is not an S3 store", store->url);
	if (s3_key_build(&s->client.cfg, src, full_src, err) ||
	    s3_key_build(&s->client.cfg, dst, full_dst, err))
		return -1;
	if (s3_transfer_head(&s->client, full_src, &size, NULL, err))
		return scrub(s, err, -1);
	if (size > HOIST_S3_MAX_PART_SIZE)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "cannot copy '%s': its %" PRIu64 " bytes "
				     "exceed the 5 GiB of one CopyObject",
				     src, size);
	hoist_buf_init(&source, 4 * HOIST_S3_KEY_MAX + 128);
	hoist_buf_init(&body, 1u << 20);
	s3_op_init(&op);
	if (hoist_buf_appendf(&source, err, "/%s/", s->client.cfg.bucket) ||
	    s3_uri_encode(&source, full_src, strlen(full_src), 1, err))
		goto out;
	op.method = "PUT";
	op.key = full_dst;
	op.label = "CopyObject";
	/* NOTE: a presigned URL signs only the host header, so in the
	 * presigned mode x-amz-copy-source goes unsigned, which S3 may
	 * reject; copies are meant for stores that hold credentials. */
	op.copy_source = hoist_buf_str(&source);
	op.sink = S3_SINK_BUF;
	op.buf = &body;
	if (s3_run_one(&s->client, &op, err))
		goto out;
	/* CopyObject can fail after its 200 status line. */
	if (s3_xml_root(body.data, body.len, &root) == 0 && root.len == 5 &&
	    memcmp(root.p, "Error", 5) == 0) {
		char code[64], message[256], request_id[128];

		s3_xml_error(body.data, body.len, code, message, request_id);
		hoist_err_set(err, HOIST_E_HTTP, "copying s3://%s/%s to %s "
			      "failed: %s: %s", s->client.cfg.bucket,
			      full_src, full_dst, code, message);
		goto out;
	}
	rc = 0;
out:
	s3_op_release(&op);
	hoist_buf_release(&source);
	hoist_buf_release(&body);
	return scrub(s, err, rc);
}

int hoist_s3_abort_stale_uploads(struct hoist_artifact_store *store,
				 const char *prefix, int64_t min_age_s,
				 size_t *aborted, struct hoist_err *err)
{
	struct s3_store *s = s3_store_of(store);
	char full[HOIST_S3_KEY_MAX + 1];

	*aborted = 0;
	if (!hoist_s3_is_store(store))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s is not an S3 store", store->url);
	if (s3_key_build_prefix(&s->client.cfg, prefix, full, err))
		return -1;
	return scrub(s, err, s3_transfer_abort_stale(&s->client, full,
						     min_age_s, aborted, err));
}

void hoist_s3_get_stats(const struct hoist_artifact_store *store,
			struct hoist_s3_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (hoist_s3_is_store(store))
		*out = ((const struct s3_store *)store)->client.stats;
}

int hoist_s3_presign(const struct hoist_s3_config *cfg,
		     const struct hoist_s3_credentials *cred,
		     const char *method, const char *key,
		     const struct hoist_s3_param *query, size_t nquery,
		     int64_t now_s, unsigned expires_s, char *url,
		     size_t urllen, struct hoist_err *err)
{
	char full[HOIST_S3_KEY_MAX + 1];
	struct hoist_buf path, signed_query;
	struct s3_header headers[1];
	struct s3_sign_request req;
	char host[320];
	char amz_date[17];
	int rc = -1;

	if (key && s3_key_build(cfg, key, full, err))
		return -1;
	if (cfg->path_style)
		snprintf(host, sizeof(host), "%s", cfg->host);
	else
		snprintf(host, sizeof(host), "%s.%s", cfg->bucket, cfg->host);
	s3_amz_date(now_s, amz_date);
	hoist_buf_init(&path, HOIST_S3_URL_MAX);
	hoist_buf_init(&signed_query, HOIST_S3_URL_MAX);
	if (s3_key_path(cfg, key ? full : NULL, &path, err))
		goto out;
	headers[0] = (struct s3_header){ "host", host };
	req = (struct s3_sign_request){
		.method = method,
		.canonical_uri = hoist_buf_str(&path),
		.query = query,
		.nquery = nquery,
		.headers = headers,
		.nheaders = 1,
		.payload_hash = S3_UNSIGNED_PAYLOAD,
		.region = cfg->region,
		.amz_date = amz_date,
	};
	if (s3_sigv4_presign_query(&req, cred, expires_s, &signed_query,
				   err))
		goto out;
	if ((size_t)snprintf(url, urllen, "%s://%s%s?%s", cfg->scheme, host,
			     hoist_buf_str(&path),
			     hoist_buf_str(&signed_query)) >= urllen) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the presigned URL for '%s' exceeds %zu bytes",
			      key ? key : cfg->bucket, urllen);
		goto out;
	}
	rc = 0;
out:
	hoist_buf_release(&path);
	if (signed_query.data)
		OPENSSL_cleanse(signed_query.data, signed_query.cap);
	hoist_buf_release(&signed_query);
	return rc;
}
