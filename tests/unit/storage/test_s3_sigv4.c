/*
 * test_s3_sigv4.c - the SigV4 signer against the worked examples of the
 * S3 API Reference ("Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk" and "Authenticating Requests:
 * Using Query Parameters"), whose signatures AWS publishes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storage/s3.h"
#include "storage/s3_key.h"
#include "storage/s3_sigv4.h"

#define EXAMPLE_TIME "20130524T000000Z"
#define EXAMPLE_CREDENTIAL \
	"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/" \
	"us-east-1/s3/aws4_request, "

static void example_credentials(struct hoist_s3_credentials *cred)
{
	memset(cred, 0, sizeof(*cred));
	strcpy(cred->access_key_id, "AKIAIOSFODNN7EXAMPLE");
	strcpy(cred->secret_access_key,
	       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
}

static void example_config(struct hoist_s3_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->bucket, "examplebucket");
	strcpy(cfg->host, "s3.amazonaws.com");
	strcpy(cfg->scheme, "https");
	strcpy(cfg->region, "us-east-1");
	cfg->path_style = 0;
}

/* Signs method on key (NULL: the bucket) and checks the header value. */
static void expect_authorization(const char *method, const char *key,
				 const struct hoist_s3_param *query,
				 size_t nquery, const struct s3_header *headers,
				 size_t nheaders, const char *payload,
				 const char *expected)
{
	struct hoist_s3_credentials cred;
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf path;
	struct s3_sign_request req;
	char full[HOIST_S3_KEY_MAX + 1];
	char auth[1024];

	example_credentials(&cred);
	example_config(&cfg);
	hoist_buf_init(&path, 4096);
	if (key)
		assert_int_equal(s3_key_build(&cfg, key, full, &err), 0);
	assert_int_equal(s3_key_path(&cfg, key ? full : NULL, &path, &err), 0);
	req = (struct s3_sign_request){
		.method = method,
		.canonical_uri = hoist_buf_str(&path),
		.query = query,
		.nquery = nquery,
		.headers = headers,
		.nheaders = nheaders,
		.payload_hash = payload,
		.region = "us-east-1",
		.amz_date = EXAMPLE_TIME,
	};
	assert_int_equal(s3_sigv4_authorization(&req, &cred, auth,
						sizeof(auth), &err), 0);
	assert_string_equal(auth, expected);
	hoist_buf_release(&path);
}

static void sigv4_get_object_example(void **state)
{
	static const struct s3_header headers[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", S3_EMPTY_SHA256 },
		{ "x-amz-date", EXAMPLE_TIME },
	};

	(void)state;
	expect_authorization("GET", "test.txt", NULL, 0, headers, 4,
			     S3_EMPTY_SHA256,
			     EXAMPLE_CREDENTIAL "SignedHeaders=host;range;"
			     "x-amz-content-sha256;x-amz-date, Signature="
			     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48"
			     "dd91039c6036bdb41");
}

static void sigv4_put_object_example(void **state)
{
	static const char body_hash[] =
		"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f"
		"8b072";
	static const struct s3_header headers[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-date", EXAMPLE_TIME },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", body_hash },
	};
	char digest[65];

	(void)state;
	s3_sha256_hex("Welcome to Amazon S3.", 21, digest);
	assert_string_equal(digest, body_hash);
	/* "$" in the key is encoded as %24 in the canonical URI. */
	expect_authorization("PUT", "test$file.text", NULL, 0, headers, 5,
			     body_hash,
			     EXAMPLE_CREDENTIAL "SignedHeaders=date;host;"
			     "x-amz-content-sha256;x-amz-date;"
			     "x-amz-storage-class, Signature="
			     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a"
			     "1b5971af0ece108bd");
}

static void sigv4_get_lifecycle_example(void **state)
{
	static const struct hoist_s3_param query[] = { { "lifecycle", "" } };
	static const struct s3_header headers[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", EXAMPLE_TIME },
		{ "x-amz-content-sha256", S3_EMPTY_SHA256 },
	};

	(void)state;
	expect_authorization("GET", NULL, query, 1, headers, 3,
			     S3_EMPTY_SHA256,
			     EXAMPLE_CREDENTIAL "SignedHeaders=host;"
			     "x-amz-content-sha256;x-amz-date, Signature="
			     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91a"
			     "c7a200a0136783543");
}

static void sigv4_list_objects_example(void **state)
{
	/* Given out of order: the canonical query sorts them. */
	static const struct hoist_s3_param query[] = {
		{ "prefix", "J" }, { "max-keys", "2" },
	};
	static const struct s3_header headers[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", EXAMPLE_TIME },
		{ "x-amz-content-sha256", S3_EMPTY_SHA256 },
	};

	(void)state;
	expect_authorization("GET", NULL, query, 2, headers, 3,
			     S3_EMPTY_SHA256,
			     EXAMPLE_CREDENTIAL "SignedHeaders=host;"
			     "x-amz-content-sha256;x-amz-date, Signature="
			     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db66"
			     "70ed5711ef69dc6f7");
}

static void sigv4_presigned_url_example(void **state)
{
	struct hoist_s3_credentials cred;
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;
	char url[HOIST_S3_URL_MAX];

	(void)state;
	example_credentials(&cred);
	example_config(&cfg);
	/* 2013-05-24T00:00:00Z */
	assert_int_equal(hoist_s3_presign(&cfg, &cred, "GET", "test.txt",
					  NULL, 0, 1369353600, 86400, url,
					  sizeof(url), &err), 0);
	assert_string_equal(url,
		"https://examplebucket.s3.amazonaws.com/test.txt?"
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
		"AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
		"aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
		"&X-Amz-SignedHeaders=host&X-Amz-Signature="
		"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604"
		"d404");
}

static void presign_rejects_bad_lifetime(void **state)
{
	struct hoist_s3_credentials cred;
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;
	char url[HOIST_S3_URL_MAX];

	(void)state;
	example_credentials(&cred);
	example_config(&cfg);
	assert_int_equal(hoist_s3_presign(&cfg, &cred, "GET", "k", NULL, 0,
					  1369353600, 604801, url, sizeof(url),
					  &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_non_null(strstr(err.msg, "604801"));
}

static void presign_includes_session_token(void **state)
{
	struct hoist_s3_credentials cred;
	struct hoist_s3_config cfg;
	struct hoist_err err = HOIST_ERR_INIT;
	char url[HOIST_S3_URL_MAX];
	char redacted[HOIST_S3_URL_MAX];

	(void)state;
	example_credentials(&cred);
	strcpy(cred.session_token, "tok/en+with=chars");
	example_config(&cfg);
	assert_int_equal(hoist_s3_presign(&cfg, &cred, "PUT", "a b/c+d", NULL,
					  0, 1369353600, 60, url, sizeof(url),
					  &err), 0);
	assert_non_null(strstr(url, "/a%20b/c%2Bd?"));
	assert_non_null(strstr(url, "X-Amz-Security-Token="
			       "tok%2Fen%2Bwith%3Dchars&"));
	hoist_s3_redact_url(url, redacted, sizeof(redacted));
	assert_null(strstr(redacted, "tok%2F"));
	assert_null(strstr(redacted, "AKIAIOSFODNN7EXAMPLE"));
	assert_non_null(strstr(redacted, "X-Amz-Signature=REDACTED"));
	assert_non_null(strstr(redacted, "X-Amz-Credential=REDACTED&"));
	assert_non_null(strstr(redacted, "X-Amz-Security-Token=REDACTED&"));
	assert_non_null(strstr(redacted, "X-Amz-Expires=60"));
}

static void uri_encode_uses_unreserved_set(void **state)
{
	static const char input[] = "aZ09-._~ /+@(%=!*'\xc3\xa9";
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf out;

	(void)state;
	hoist_buf_init(&out, 1024);
	assert_int_equal(s3_uri_encode(&out, input, strlen(input), 1, &err),
			 0);
	assert_string_equal(hoist_buf_str(&out),
			    "aZ09-._~%20/%2B%40%28%25%3D%21%2A%27%C3%A9");
	hoist_buf_reset(&out);
	assert_int_equal(s3_uri_encode(&out, "a/b", 3, 0, &err), 0);
	assert_string_equal(hoist_buf_str(&out), "a%2Fb");
	hoist_buf_release(&out);
}

static void canonical_query_sorts_encoded(void **state)
{
	static const struct hoist_s3_param query[] = {
		{ "uploadId", "x/y+z" }, { "b", "" }, { "a", "2" },
		{ "a", "10" }, { "A", "z" },
	};
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf out;

	(void)state;
	hoist_buf_init(&out, 1024);
	assert_int_equal(s3_canonical_query(&out, query, 5, &err), 0);
	assert_string_equal(hoist_buf_str(&out),
			    "A=z&a=10&a=2&b=&uploadId=x%2Fy%2Bz");
	hoist_buf_release(&out);
}

static void canonical_headers_trimmed(void **state)
{
	static const struct s3_header headers[] = {
		{ "X-Amz-Meta-Note", "  two   spaces  inside " },
		{ "Host", "h" },
	};
	struct s3_sign_request req = {
		.method = "GET", .canonical_uri = "/", .headers = headers,
		.nheaders = 2, .payload_hash = S3_UNSIGNED_PAYLOAD,
		.region = "us-east-1", .amz_date = EXAMPLE_TIME,
	};
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf out, names;

	(void)state;
	hoist_buf_init(&out, 4096);
	hoist_buf_init(&names, 1024);
	assert_int_equal(s3_canonical_request(&req, &out, &names, &err), 0);
	assert_string_equal(hoist_buf_str(&out),
			    "GET\n/\n\nhost:h\nx-amz-meta-note:two spaces "
			    "inside\n\nhost;x-amz-meta-note\nUNSIGNED-PAYLOAD");
	assert_string_equal(hoist_buf_str(&names), "host;x-amz-meta-note");
	hoist_buf_release(&out);
	hoist_buf_release(&names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigv4_get_object_example),
		cmocka_unit_test(sigv4_put_object_example),
		cmocka_unit_test(sigv4_get_lifecycle_example),
		cmocka_unit_test(sigv4_list_objects_example),
		cmocka_unit_test(sigv4_presigned_url_example),
		cmocka_unit_test(presign_rejects_bad_lifetime),
		cmocka_unit_test(presign_includes_session_token),
		cmocka_unit_test(uri_encode_uses_unreserved_set),
		cmocka_unit_test(canonical_query_sorts_encoded),
		cmocka_unit_test(canonical_headers_trimmed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
