/*
 * s3_tool.c - a command-line driver of the S3 back end for the tests in
 * tests/s3/ and the benchmark in bench/.  Each command opens the store
 * given as URL, runs one operation and prints its result on stdout.  On
 * failure it prints the error on stderr and exits with status 1.  With
 * --presigned the store holds no credentials: a presign callback signs
 * each request with credentials loaded by the tool, as hoistd would.
 * --stats prints the store's counters on stderr at the end.  With
 * --no-digest, put and get use the plain put_file and get_file and print
 * nothing, so the cost of the SHA-256 can be measured.  With --crc32c they
 * print the size and the CRC-32C instead of the SHA-256, as checkpoint
 * uploads and restores use it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "storage/artifact.h"
#include "storage/checkpoint.h"
#include "storage/crc32c.h"
#include "storage/s3.h"
#include "storage/s3_key.h"
#include "storage/s3_sigv4.h"

struct presigner {
	struct hoist_s3_config cfg;
	struct hoist_s3_credentials cred;
	unsigned calls;
};

static int presign_cb(void *arg, const char *method, const char *key,
		      const struct hoist_s3_param *query, size_t nquery,
		      char *url, size_t urllen, struct hoist_err *err)
{
	struct presigner *p = arg;

	p->calls++;
	return hoist_s3_presign(&p->cfg, &p->cred, method, key, query, nquery,
				(int64_t)time(NULL), 300, url, urllen, err);
}

static int print_key(const char *key, uint64_t size, void *arg)
{
	(void)arg;
	printf("%" PRIu64 "\t%s\n", size, key);
	return 0;
}

enum { DIGEST_NONE, DIGEST_SHA256, DIGEST_CRC32C };

static void usage(void)
{
	fputs("usage: s3_tool [--presigned] [--stats] [--no-digest|--crc32c] "
	      "COMMAND ...\n"
	      "  put URL KEY FILE        put-bytes URL KEY TEXT\n"
	      "  get URL KEY FILE        get-bytes URL KEY\n"
	      "  head URL KEY            rm URL KEY\n"
	      "  ls URL PREFIX           cp URL SRC DST\n"
	      "  abort-stale URL PREFIX MIN_AGE_S\n"
	      "  presign URL METHOD KEY EXPIRES_S\n"
	      "  ckpt-upload URL JOB ATTEMPT STEP DIR\n"
	      "  ckpt-restore URL MANIFEST_KEY MANIFEST_SHA256 DIR\n"
	      "  nfc TEXT                sign-table CASES.json\n", stderr);
}

/* Prints the Authorization header and the presigned URL of each case of
 * a JSON table, for the comparison with botocore (check_sigv4.py). */
static int sign_table(const char *path, struct hoist_err *err)
{
	json_error_t jerr;
	json_t *cases = json_load_file(path, 0, &jerr);
	size_t i;
	json_t *c;
	int rc = -1;

	if (!cases || !json_is_array(cases))
		return hoist_err_set(err, HOIST_E_INVALID, "%s: %s", path,
				     cases ? "not an array" : jerr.text);
	json_array_foreach(cases, i, c) {
		struct hoist_s3_credentials cred;
		struct hoist_s3_config cfg;
		struct hoist_s3_param query[16];
		struct s3_header headers[16];
		struct s3_sign_request req;
		struct hoist_buf path_buf, presigned;
		char full[HOIST_S3_KEY_MAX + 1];
		char auth[2048];
		char url[HOIST_S3_URL_MAX];
		const char *key = json_string_value(json_object_get(c, "key"));
		json_t *q = json_object_get(c, "query");
		json_t *h = json_object_get(c, "headers");
		const char *qname, *hname;
		json_t *qv, *hv;
		size_t nq = 0, nh = 0;
		int64_t now = json_integer_value(json_object_get(c, "time"));
		char amz_date[17];

		memset(&cred, 0, sizeof(cred));
		memset(&cfg, 0, sizeof(cfg));
		snprintf(cred.access_key_id, sizeof(cred.access_key_id), "%s",
			 json_string_value(json_object_get(c, "access_key")));
		snprintf(cred.secret_access_key,
			 sizeof(cred.secret_access_key), "%s",
			 json_string_value(json_object_get(c, "secret_key")));
		if (json_string_value(json_object_get(c, "token")))
			snprintf(cred.session_token,
				 sizeof(cred.session_token), "%s",
				 json_string_value(json_object_get(c,
								   "token")));
		snprintf(cfg.bucket, sizeof(cfg.bucket), "%s",
			 json_string_value(json_object_get(c, "bucket")));
		snprintf(cfg.region, sizeof(cfg.region), "%s",
			 json_string_value(json_object_get(c, "region")));
		snprintf(cfg.host, sizeof(cfg.host), "%s",
			 json_string_value(json_object_get(c, "host")));
		snprintf(cfg.scheme, sizeof(cfg.scheme), "http");
		cfg.path_style = json_is_true(json_object_get(c, "path_style"));
		json_object_foreach(q, qname, qv) {
			query[nq++] = (struct hoist_s3_param){
				qname, json_string_value(qv) };
		}
		s3_amz_date(now, amz_date);
		json_object_foreach(h, hname, hv) {
			headers[nh++] = (struct s3_header){
				hname, json_string_value(hv) };
		}
		hoist_buf_init(&path_buf, HOIST_S3_URL_MAX);
		hoist_buf_init(&presigned, HOIST_S3_URL_MAX);
		if (key && s3_key_build(&cfg, key, full, err))
			goto case_out;
		if (s3_key_path(&cfg, key ? full : NULL, &path_buf, err))
			goto case_out;
		req = (struct s3_sign_request){
			.method = json_string_value(json_object_get(c,
								    "method")),
			.canonical_uri = hoist_buf_str(&path_buf),
			.query = query,
			.nquery = nq,
			.headers = headers,
			.nheaders = nh,
			.payload_hash = json_string_value(
				json_object_get(c, "payload_hash")),
			.region = cfg.region,
			.amz_date = amz_date,
		};
		if (s3_sigv4_authorization(&req, &cred, auth, sizeof(auth),
					   err))
			goto case_out;
		if (hoist_s3_presign(&cfg, &cred, req.method, key, query, nq,
				     now, 900, url, sizeof(url), err))
			goto case_out;
		printf("%s\n%s\n", auth, url);
		hoist_buf_release(&path_buf);
		hoist_buf_release(&presigned);
		continue;
case_out:
		hoist_buf_release(&path_buf);
		hoist_buf_release(&presigned);
		goto out;
	}
	rc = 0;
out:
	json_decref(cases);
	return rc;
}

static int run(int argc, char **argv, int presigned, int stats,
	       int digest, struct hoist_err *err)
{
	struct presigner signer;
	struct hoist_artifact_store *store = NULL;
	const char *cmd = argv[0];
	uint64_t size = 0;
	char sha[65];
	int rc = -1;

	if (strcmp(cmd, "nfc") == 0 && argc == 2) {
		struct hoist_buf out;

		hoist_buf_init(&out, 1u << 16);
		rc = s3_key_nfc(argv[1], strlen(argv[1]), &out, err);
		if (rc == 0)
			printf("%s\n", hoist_buf_str(&out));
		hoist_buf_release(&out);
		return rc;
	}
	if (strcmp(cmd, "sign-table") == 0 && argc == 2)
		return sign_table(argv[1], err);
	if (argc < 2) {
		usage();
		return hoist_err_set(err, HOIST_E_INVALID, "missing URL");
	}
	if (presigned) {
		memset(&signer, 0, sizeof(signer));
		if (hoist_s3_config_parse(argv[1], &signer.cfg, err) ||
		    hoist_s3_credentials_load(signer.cfg.profile, &signer.cred,
					      err))
			return -1;
		/* The store under test must not see the credentials. */
		unsetenv("AWS_ACCESS_KEY_ID");
		unsetenv("AWS_SECRET_ACCESS_KEY");
		unsetenv("AWS_SESSION_TOKEN");
		if (hoist_s3_open_presigned(argv[1], presign_cb, &signer,
					    &store, err))
			return -1;
	} else if (hoist_artifact_open(argv[1], &store, err)) {
		return -1;
	}

	if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "get") == 0) &&
	    argc == 4 && !digest) {
		if (cmd[0] == 'p')
			rc = store->ops->put_file(store, argv[2], argv[3], err);
		else
			rc = store->ops->get_file(store, argv[2], argv[3], err);
	} else if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "get") == 0) &&
		   argc == 4 && digest == DIGEST_CRC32C) {
		char text[HOIST_CRC32C_HEX_LEN + 1];
		uint32_t crc = 0;

		if (cmd[0] == 'p')
			rc = hoist_artifact_put_file_crc32c(store, argv[2],
							    argv[3], &size,
							    &crc, err);
		else
			rc = hoist_artifact_get_file_crc32c(store, argv[2],
							    argv[3], &size,
							    &crc, err);
		hoist_crc32c_format(crc, text);
		if (rc == 0)
			printf("%" PRIu64 " %s\n", size, text);
	} else if (strcmp(cmd, "put") == 0 && argc == 4) {
		rc = hoist_artifact_put_file_sha256(store, argv[2], argv[3],
						    &size, sha, err);
		if (rc == 0)
			printf("%" PRIu64 " %s\n", size, sha);
	} else if (strcmp(cmd, "get") == 0 && argc == 4) {
		rc = hoist_artifact_get_file_sha256(store, argv[2], argv[3],
						    &size, sha, err);
		if (rc == 0)
			printf("%" PRIu64 " %s\n", size, sha);
	} else if (strcmp(cmd, "put-bytes") == 0 && argc == 4) {
		rc = store->ops->put_bytes(store, argv[2], argv[3],
					   strlen(argv[3]), err);
	} else if (strcmp(cmd, "get-bytes") == 0 && argc == 3) {
		struct hoist_buf buf;

		hoist_buf_init(&buf, 64u << 20);
		rc = store->ops->get_bytes(store, argv[2], &buf, err);
		if (rc == 0)
			fwrite(buf.data ? buf.data : "", 1, buf.len, stdout);
		hoist_buf_release(&buf);
	} else if (strcmp(cmd, "head") == 0 && argc == 3) {
		char etag[128];

		rc = hoist_s3_head(store, argv[2], &size, etag, err);
		if (rc == 0)
			printf("%" PRIu64 " %s\n", size, etag);
	} else if (strcmp(cmd, "rm") == 0 && argc == 3) {
		rc = store->ops->remove(store, argv[2], err);
	} else if (strcmp(cmd, "ls") == 0 && argc == 3) {
		rc = store->ops->list(store, argv[2], print_key, NULL, err);
	} else if (strcmp(cmd, "cp") == 0 && argc == 4) {
		rc = hoist_s3_copy(store, argv[2], argv[3], err);
	} else if (strcmp(cmd, "abort-stale") == 0 && argc == 4) {
		size_t aborted = 0;

		rc = hoist_s3_abort_stale_uploads(store, argv[2],
						  strtoll(argv[3], NULL, 10),
						  &aborted, err);
		if (rc == 0)
			printf("%zu\n", aborted);
	} else if (strcmp(cmd, "presign") == 0 && argc == 5) {
		struct hoist_s3_config cfg;
		struct hoist_s3_credentials cred;
		char url[HOIST_S3_URL_MAX];

		rc = hoist_s3_config_parse(argv[1], &cfg, err);
		if (rc == 0)
			rc = hoist_s3_credentials_load(cfg.profile, &cred,
						       err);
		if (rc == 0)
			rc = hoist_s3_presign(&cfg, &cred, argv[2], argv[3],
					      NULL, 0, (int64_t)time(NULL),
					      (unsigned)atoi(argv[4]), url,
					      sizeof(url), err);
		if (rc == 0)
			printf("%s\n", url);
	} else if (strcmp(cmd, "ckpt-upload") == 0 && argc == 6) {
		struct hoist_checkpoint_info info;

		rc = hoist_checkpoint_upload(store, argv[2], atoi(argv[3]),
					     strtoll(argv[4], NULL, 10),
					     argv[5], &info, err);
		if (rc == 0)
			printf("%s %s %zu %" PRIu64 "\n", info.manifest_key,
			       info.manifest_sha256, info.files, info.bytes);
	} else if (strcmp(cmd, "ckpt-restore") == 0 && argc == 5) {
		int64_t step = 0;

		rc = hoist_checkpoint_restore(store, argv[2], argv[3], argv[4],
					      &step, err);
		if (rc == 0)
			printf("%" PRId64 "\n", step);
	} else {
		usage();
		hoist_err_set(err, HOIST_E_INVALID, "unknown command or wrong "
			      "argument count: %s", cmd);
	}

	if (stats) {
		struct hoist_s3_stats st;

		hoist_s3_get_stats(store, &st);
		fprintf(stderr, "stats requests=%" PRIu64 " retries=%" PRIu64
			" skew_corrections=%" PRIu64 " multipart_uploads=%"
			PRIu64 " aborted_uploads=%" PRIu64 " resumed_bytes=%"
			PRIu64 " bytes_sent=%" PRIu64 " bytes_received=%"
			PRIu64 " presign_calls=%u\n", st.requests, st.retries,
			st.skew_corrections, st.multipart_uploads,
			st.aborted_uploads, st.resumed_bytes, st.bytes_sent,
			st.bytes_received, presigned ? signer.calls : 0);
	}
	hoist_artifact_close(store);
	return rc;
}

int main(int argc, char **argv)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int presigned = 0, stats = 0, digest = DIGEST_SHA256;
	int i = 1;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--presigned") == 0) {
			presigned = 1;
		} else if (strcmp(argv[i], "--stats") == 0) {
			stats = 1;
		} else if (strcmp(argv[i], "--no-digest") == 0) {
			digest = DIGEST_NONE;
		} else if (strcmp(argv[i], "--crc32c") == 0) {
			digest = DIGEST_CRC32C;
		} else {
			usage();
			return 2;
		}
	}
	if (i >= argc) {
		usage();
		return 2;
	}
	if (run(argc - i, argv + i, presigned, stats, digest, &err)) {
		fprintf(stderr, "s3_tool: %s: %s\n",
			hoist_err_code_name(err.code), err.msg);
		return 1;
	}
	return 0;
}
