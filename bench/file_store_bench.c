/*
 * file_store_bench - times one put or get of a file on an artifact store.
 *
 *   file_store_bench put|put-crc32c|put-sha256|get|get-crc32c|get-sha256
 *                    STORE_URL KEY FILE
 *
 * put stores FILE as KEY, get writes KEY to FILE.  The -crc32c variants
 * also sum the bytes in the same pass, as checkpoint upload and restore
 * do, and the -sha256 variants hash them, as input staging does.  Prints one line: operation, bytes, seconds and MiB/s.  The time
 * includes the fsync of the file and of its folder.  bench/file_store.sh
 * runs it against dd.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"
#include "storage/artifact.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: file_store_bench put|put-crc32c|put-sha256|"
		"get|get-crc32c|get-sha256 STORE_URL KEY FILE\n");
	return 2;
}

static int run(const char *op, struct hoist_artifact_store *store,
	       const char *key, const char *path, struct hoist_err *err)
{
	const struct hoist_artifact_ops *ops = store->ops;
	char sha256[65];
	uint64_t size = 0;
	uint32_t crc = 0;

	if (!strcmp(op, "put"))
		return ops->put_file(store, key, path, err);
	if (!strcmp(op, "get"))
		return ops->get_file(store, key, path, err);
	if (!strcmp(op, "put-crc32c"))
		return hoist_artifact_put_file_crc32c(store, key, path, &size,
						      &crc, err);
	if (!strcmp(op, "get-crc32c"))
		return hoist_artifact_get_file_crc32c(store, key, path, &size,
						      &crc, err);
	if (!strcmp(op, "put-sha256"))
		return hoist_artifact_put_file_sha256(store, key, path, &size,
						      sha256, err);
	return hoist_artifact_get_file_sha256(store, key, path, &size, sha256,
					      err);
}

int main(int argc, char **argv)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_artifact_store *store = NULL;
	const char *op;
	struct stat st;
	double start;
	double seconds;
	int rc = 1;

	if (argc != 5)
		return usage();
	op = argv[1];
	if (strcmp(op, "put") && strcmp(op, "get") &&
	    strcmp(op, "put-crc32c") && strcmp(op, "get-crc32c") &&
	    strcmp(op, "put-sha256") && strcmp(op, "get-sha256"))
		return usage();
	if (hoist_artifact_open(argv[2], &store, &err))
		goto out;

	start = now_seconds();
	if (run(op, store, argv[3], argv[4], &err))
		goto out;
	seconds = now_seconds() - start;

	if (stat(argv[4], &st) != 0) {
		hoist_err_set(&err, HOIST_E_IO, "cannot stat '%s'", argv[4]);
		goto out;
	}
	printf("%s %lld bytes %.3f s %.1f MiB/s\n", op, (long long)st.st_size,
	       seconds, (double)st.st_size / (1024.0 * 1024.0) / seconds);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "file_store_bench: %s\n", err.msg);
	hoist_artifact_close(store);
	return rc;
}
