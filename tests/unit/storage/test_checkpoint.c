/*
 * Tests of the manifest-last checkpoint protocol on a file:// store:
 * upload and restore round trips, and every way a checkpoint can be
 * incomplete or altered, which must never restore successfully.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/util.h"
#include "storage/artifact.h"
#include "storage/checkpoint.h"
#include "storage/crc32c.h"
#include "storage/digest.h"
#include "storage_test.h"

#define JOB "j-3f9a2c1d"
#define PREFIX "jobs/" JOB "/checkpoints/a1-s250/"
#define MANIFEST_KEY PREFIX "manifest.json"
#define BIG_SIZE (3u << 20)

struct fixture {
	char dir[4096];
	char src[4200];		/* the checkpoint folder to upload */
	char dst[4200];		/* the restore target */
	char store_root[4200];
	struct hoist_artifact_store *store;
	struct hoist_checkpoint_info info;
};

static void path_in(char *out, size_t outlen, const char *dir,
		    const char *rel)
{
	snprintf(out, outlen, "%s/%s", dir, rel);
}

static void write_in(const char *dir, const char *rel, const void *data,
		     size_t len)
{
	char path[4400];

	path_in(path, sizeof(path), dir, rel);
	storage_test_write(path, data, len);
}

static void make_folder(const char *dir, const char *rel)
{
	char path[4400];

	path_in(path, sizeof(path), dir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* Fills buf with bytes that differ at every offset of a 3 MiB file. */
static void fill_pattern(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 31) ^ (i >> 8) ^ (i >> 16));
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct hoist_err err = HOIST_ERR_INIT;
	char url[4300];
	char *big;

	assert_non_null(fx);
	storage_test_mkdtemp(fx->dir);
	snprintf(fx->src, sizeof(fx->src), "%s/src", fx->dir);
	snprintf(fx->dst, sizeof(fx->dst), "%s/dst", fx->dir);
	snprintf(fx->store_root, sizeof(fx->store_root), "%s/store", fx->dir);
	snprintf(url, sizeof(url), "file://%s", fx->store_root);
	assert_int_equal(hoist_artifact_open(url, &fx->store, &err), 0);

	assert_int_equal(mkdir(fx->src, 0755), 0);
	make_folder(fx->src, "model");
	make_folder(fx->src, "model/layers");
	make_folder(fx->src, "unused");		/* empty: not recorded */
	write_in(fx->src, "step.txt", "250\n", 4);
	write_in(fx->src, "empty.bin", "", 0);
	write_in(fx->src, "model/config.json", "{\"lr\": 0.05}", 12);
	write_in(fx->src, "model/layers/0.bin", "layer zero", 10);
	big = malloc(BIG_SIZE);
	assert_non_null(big);
	fill_pattern(big, BIG_SIZE);
	write_in(fx->src, "model/weights.bin", big, BIG_SIZE);
	free(big);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	hoist_artifact_close(fx->store);
	storage_test_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void upload(struct fixture *fx)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_checkpoint_upload(fx->store, JOB, 1, 250, fx->src,
				    &fx->info, &err))
		print_error("upload failed: %s\n", err.msg);
	assert_int_equal(err.code, HOIST_OK);
}

static int restore(struct fixture *fx, const char *sha256,
		   struct hoist_err *err)
{
	int64_t step = -1;

	return hoist_checkpoint_restore(fx->store, MANIFEST_KEY, sha256,
					fx->dst, &step, err);
}

/* Rewrites the uploaded manifest in format 1, which lists SHA-256s, as
 * earlier builds wrote it, and stores its digest in sha256. */
static void rewrite_as_format_1(struct fixture *fx, char sha256[65])
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_manifest manifest;
	struct hoist_buf text;
	char path[4400];

	hoist_buf_init(&text, HOIST_MANIFEST_MAX_BYTES);
	assert_int_equal(fx->store->ops->get_bytes(fx->store, MANIFEST_KEY,
						   &text, &err), 0);
	assert_int_equal(hoist_manifest_parse(text.data, text.len, &manifest,
					      &err), 0);
	manifest.format = 1;
	for (size_t i = 0; i < manifest.nfiles; i++) {
		uint64_t size = 0;

		path_in(path, sizeof(path), fx->src, manifest.files[i].path);
		assert_int_equal(hoist_digest_file(path, &size,
						   manifest.files[i].sha256,
						   &err), 0);
	}
	hoist_buf_reset(&text);
	assert_int_equal(hoist_manifest_format(&manifest, &text, &err), 0);
	assert_non_null(strstr(text.data, "\"format\": 1"));
	assert_null(strstr(text.data, "crc32c"));
	assert_int_equal(fx->store->ops->put_bytes(fx->store, MANIFEST_KEY,
						   text.data, text.len, &err),
			 0);
	hoist_util_sha256_hex(text.data, text.len, sha256);
	hoist_manifest_release(&manifest);
	hoist_buf_release(&text);
}

/* Fails unless rel has the same bytes in the source and restored folder. */
static void assert_same_file(struct fixture *fx, const char *rel)
{
	char a_path[4400];
	char b_path[4400];
	size_t a_len = 0;
	size_t b_len = 0;
	char *a;
	char *b;

	path_in(a_path, sizeof(a_path), fx->src, rel);
	path_in(b_path, sizeof(b_path), fx->dst, rel);
	a = storage_test_read(a_path, &a_len);
	b = storage_test_read(b_path, &b_len);
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len);
	free(a);
	free(b);
}

static void object_path(struct fixture *fx, const char *rel, char *out,
			size_t outlen)
{
	snprintf(out, outlen, "%s/" PREFIX "files/%s", fx->store_root, rel);
}

static void prefix_format(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char out[128];

	(void)state;
	assert_int_equal(hoist_checkpoint_prefix(JOB, 1, 250, out,
						 sizeof(out), &err), 0);
	assert_string_equal(out, PREFIX);
	assert_int_equal(hoist_checkpoint_prefix("j", 3, 0, out, sizeof(out),
						 &err), 0);
	assert_string_equal(out, "jobs/j/checkpoints/a3-s0/");

	assert_int_equal(hoist_checkpoint_prefix("../x", 1, 1, out,
						 sizeof(out), &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "invalid job id '../x'");
	hoist_err_clear(&err);
	assert_int_equal(hoist_checkpoint_prefix(JOB, 0, 1, out, sizeof(out),
						 &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "invalid attempt 0");
	hoist_err_clear(&err);
	assert_int_equal(hoist_checkpoint_prefix(JOB, 1, -5, out,
						 sizeof(out), &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "invalid step -5");
	hoist_err_clear(&err);
	assert_int_equal(hoist_checkpoint_prefix(JOB, 1, 1, out, 10, &err),
			 -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "does not fit");
}

static void upload_then_restore(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf text;
	struct stat st;
	char path[4400];
	char sha256[65];
	int64_t step = -1;

	upload(fx);
	assert_int_equal(fx->info.step, 250);
	assert_string_equal(fx->info.manifest_key, MANIFEST_KEY);
	assert_int_equal(fx->info.files, 5);
	assert_int_equal(fx->info.bytes, 4 + 0 + 12 + 10 + BIG_SIZE);

	/* The recorded digest is the one of the stored manifest bytes. */
	hoist_buf_init(&text, HOIST_MANIFEST_MAX_BYTES);
	assert_int_equal(fx->store->ops->get_bytes(fx->store, MANIFEST_KEY,
						   &text, &err), 0);
	hoist_util_sha256_hex(text.data, text.len, sha256);
	assert_string_equal(sha256, fx->info.manifest_sha256);

	/* Paths are sorted, so equal folders give equal manifests. */
	assert_true(strstr(text.data, "\"empty.bin\"") <
		    strstr(text.data, "\"model/config.json\""));
	assert_true(strstr(text.data, "\"model/layers/0.bin\"") <
		    strstr(text.data, "\"model/weights.bin\""));
	assert_true(strstr(text.data, "\"model/weights.bin\"") <
		    strstr(text.data, "\"step.txt\""));
	assert_null(strstr(text.data, "unused"));
	/* Each file entry has its CRC-32C; "step.txt" contains "250\n". */
	assert_non_null(strstr(text.data, "\"format\": 2"));
	{
		char crc[HOIST_CRC32C_HEX_LEN + 1], entry[64];

		hoist_crc32c_format(hoist_crc32c_update(0, "250\n", 4), crc);
		snprintf(entry, sizeof(entry), "\"crc32c\": \"%s\"", crc);
		assert_non_null(strstr(text.data, entry));
	}
	hoist_buf_release(&text);

	/* The target is emptied first: a stale file must not survive. */
	assert_int_equal(mkdir(fx->dst, 0755), 0);
	write_in(fx->dst, "stale.txt", "old", 3);
	assert_int_equal(hoist_checkpoint_restore(fx->store, MANIFEST_KEY,
						  fx->info.manifest_sha256,
						  fx->dst, &step, &err), 0);
	assert_int_equal(step, 250);
	assert_same_file(fx, "step.txt");
	assert_same_file(fx, "empty.bin");
	assert_same_file(fx, "model/config.json");
	assert_same_file(fx, "model/layers/0.bin");
	assert_same_file(fx, "model/weights.bin");
	path_in(path, sizeof(path), fx->dst, "stale.txt");
	assert_int_equal(stat(path, &st), -1);

	/* Without an expected digest the restore still verifies files. */
	assert_int_equal(hoist_checkpoint_restore(fx->store, MANIFEST_KEY, NULL,
						  fx->dst, NULL, &err), 0);
	assert_same_file(fx, "model/weights.bin");
}

static void restore_creates_target(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;

	upload(fx);
	snprintf(fx->dst, sizeof(fx->dst), "%s/new/target", fx->dir);
	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), 0);
	assert_same_file(fx, "model/layers/0.bin");
}

static void upload_retry_is_idempotent(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_info again;

	upload(fx);
	memset(&again, 0, sizeof(again));
	assert_int_equal(hoist_checkpoint_upload(fx->store, JOB, 1, 250,
						 fx->src, &again, &err), 0);
	assert_int_equal(again.step, 250);
	assert_string_equal(again.manifest_key, fx->info.manifest_key);
	assert_string_equal(again.manifest_sha256, fx->info.manifest_sha256);
	assert_int_equal(again.files, fx->info.files);
	assert_int_equal(again.bytes, fx->info.bytes);
}

static void upload_never_overwrites(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_info again;

	upload(fx);
	write_in(fx->src, "step.txt", "999\n", 4);
	assert_int_equal(hoist_checkpoint_upload(fx->store, JOB, 1, 250,
						 fx->src, &again, &err), -1);
	storage_test_expect_err(&err, HOIST_E_CONFLICT, "already exists");

	/* An extra file is a difference too. */
	hoist_err_clear(&err);
	write_in(fx->src, "step.txt", "250\n", 4);
	write_in(fx->src, "extra", "e", 1);
	assert_int_equal(hoist_checkpoint_upload(fx->store, JOB, 1, 250,
						 fx->src, &again, &err), -1);
	storage_test_expect_err(&err, HOIST_E_CONFLICT, "already exists");

	/* The first checkpoint is intact. */
	hoist_err_clear(&err);
	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), 0);
}

static void upload_rejects_symlink(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char link_path[4400];

	path_in(link_path, sizeof(link_path), fx->src, "model/link");
	assert_int_equal(symlink("/etc/hostname", link_path), 0);
	assert_int_equal(hoist_checkpoint_upload(fx->store, JOB, 1, 250,
						 fx->src, &fx->info, &err),
			 -1);
	storage_test_expect_err(&err, HOIST_E_INVALID,
				"'model/link' is a symbolic link");
}

static void upload_rejects_fifo(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char fifo_path[4400];

	path_in(fifo_path, sizeof(fifo_path), fx->src, "pipe");
	assert_int_equal(mkfifo(fifo_path, 0600), 0);
	assert_int_equal(hoist_checkpoint_upload(fx->store, JOB, 1, 250,
						 fx->src, &fx->info, &err),
			 -1);
	storage_test_expect_err(&err, HOIST_E_INVALID,
				"'pipe' is a special file");
}

static void upload_missing_folder(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char missing[4400];

	path_in(missing, sizeof(missing), fx->dir, "no-such-folder");
	assert_int_equal(hoist_checkpoint_upload(fx->store, JOB, 1, 250,
						 missing, &fx->info, &err),
			 -1);
	storage_test_expect_err(&err, HOIST_E_NOT_FOUND, "no-such-folder");
}

static void files_without_manifest_fail(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;

	/* A crash after the files and before the manifest looks like this. */
	upload(fx);
	assert_int_equal(fx->store->ops->remove(fx->store, MANIFEST_KEY, &err),
			 0);
	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_NOT_FOUND,
				"was never completed");
}

static void format_1_manifest_restores_and_catches_corruption(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char sha256[65], path[4400];
	size_t len = 0;
	char *data;

	upload(fx);
	rewrite_as_format_1(fx, sha256);
	assert_int_equal(restore(fx, sha256, &err), 0);
	assert_same_file(fx, "model/weights.bin");
	assert_same_file(fx, "step.txt");

	object_path(fx, "step.txt", path, sizeof(path));
	data = storage_test_read(path, &len);
	data[0] ^= 0x01;
	storage_test_write(path, data, len);
	free(data);
	assert_int_equal(restore(fx, sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INTEGRITY,
				"'step.txt' is corrupt: the manifest expects "
				"4 bytes with sha256 ");
}

static void flipped_byte_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[4400];
	char expected[200];
	size_t len = 0;
	char *data;

	upload(fx);
	object_path(fx, "model/weights.bin", path, sizeof(path));
	data = storage_test_read(path, &len);
	data[len / 2] ^= 0x01;
	storage_test_write(path, data, len);
	free(data);

	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INTEGRITY,
				"checkpoint file 'model/weights.bin' is "
				"corrupt");
	snprintf(expected, sizeof(expected), "expects %u bytes with crc32c ",
		 BIG_SIZE);
	assert_non_null(strstr(err.msg, expected));
	snprintf(expected, sizeof(expected), "holds %u bytes with crc32c ",
		 BIG_SIZE);
	assert_non_null(strstr(err.msg, expected));

	/* The corrupt copy is not left in the target. */
	path_in(path, sizeof(path), fx->dst, "model/weights.bin");
	assert_int_equal(access(path, F_OK), -1);
}

static void truncated_object_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[4400];

	upload(fx);
	object_path(fx, "model/weights.bin", path, sizeof(path));
	assert_int_equal(truncate(path, BIG_SIZE - 100), 0);
	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INTEGRITY,
				"'model/weights.bin' is corrupt");
	assert_non_null(strstr(err.msg, "holds 3145628 bytes"));
}

static void missing_object_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[4400];

	upload(fx);
	object_path(fx, "model/layers/0.bin", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INTEGRITY,
				"checkpoint file 'model/layers/0.bin' is "
				"missing");
}

static void empty_object_altered_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[4400];

	upload(fx);
	object_path(fx, "empty.bin", path, sizeof(path));
	storage_test_write(path, "x", 1);
	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INTEGRITY,
				"'empty.bin' is corrupt: the manifest expects "
				"0 bytes");
}

static void manifest_hash_mismatch_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char wrong[65];

	upload(fx);
	memcpy(wrong, fx->info.manifest_sha256, sizeof(wrong));
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	assert_int_equal(restore(fx, wrong, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INTEGRITY,
				"but the recorded commit expects");
	assert_non_null(strstr(err.msg, fx->info.manifest_sha256));
	assert_non_null(strstr(err.msg, wrong));

	/* A malformed expected digest is a caller error. */
	hoist_err_clear(&err);
	assert_int_equal(restore(fx, "abc", &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID,
				"expected manifest sha256 'abc'");
}

/* Replaces the stored manifest with text and returns its digest. */
static void store_manifest(struct fixture *fx, const char *text,
			   char sha256[65])
{
	struct hoist_err err = HOIST_ERR_INIT;

	assert_int_equal(fx->store->ops->put_bytes(fx->store, MANIFEST_KEY,
						   text, strlen(text), &err),
			 0);
	hoist_util_sha256_hex(text, strlen(text), sha256);
}

#define SHA_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MANIFEST_WITH(files) \
	"{\"format\": 1, \"job_id\": \"" JOB "\", \"attempt\": 1, " \
	"\"step\": 250, \"created_at\": \"2026-12-04T19:48:34.123Z\", " \
	"\"files\": [" files "]}"

static void manifest_with_parent_path_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char sha256[65];
	char outside[4400];

	upload(fx);
	store_manifest(fx, MANIFEST_WITH("{\"path\": \"../x\", \"size\": 3, "
					 "\"sha256\": \"" SHA_ABC "\"}"),
		       sha256);
	assert_int_equal(restore(fx, sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID,
				"files[0].path '../x' is unsafe");
	path_in(outside, sizeof(outside), fx->dir, "x");
	assert_int_equal(access(outside, F_OK), -1);
}

static void manifest_with_duplicate_path_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char sha256[65];

	upload(fx);
	store_manifest(fx, MANIFEST_WITH(
		"{\"path\": \"step.txt\", \"size\": 3, \"sha256\": \""
		SHA_ABC "\"}, "
		"{\"path\": \"step.txt\", \"size\": 3, \"sha256\": \""
		SHA_ABC "\"}"), sha256);
	assert_int_equal(restore(fx, sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID,
				"the path 'step.txt' twice");
}

static void manifest_of_other_checkpoint_fails(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char sha256[65];

	upload(fx);
	store_manifest(fx,
		       "{\"format\": 1, \"job_id\": \"" JOB "\", \"attempt\": "
		       "1, \"step\": 100, \"created_at\": "
		       "\"2026-12-04T19:48:34.123Z\", \"files\": []}", sha256);
	assert_int_equal(restore(fx, sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INTEGRITY,
				"describes job " JOB " attempt 1 step 100");
}

static void restore_rejects_bad_keys(void **state)
{
	static const char *const keys[] = {
		"jobs/manifest.json",
		"jobs/" JOB "/checkpoints/a1-s250/other.json",
		"jobs/" JOB "/checkpoints/a01-s250/manifest.json",
		"jobs/" JOB "/checkpoints/a1-s-3/manifest.json",
		"jobs/../checkpoints/a1-s250/manifest.json",
		"x/" JOB "/checkpoints/a1-s250/manifest.json",
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_checkpoint_restore(fx->store, keys[i],
							  NULL, fx->dst, NULL,
							  &err), -1);
		storage_test_expect_err(&err, HOIST_E_INVALID,
					"invalid checkpoint manifest key");
		hoist_err_clear(&err);
		assert_int_equal(hoist_checkpoint_remove(fx->store, keys[i],
							 &err), -1);
		storage_test_expect_err(&err, HOIST_E_INVALID,
					"invalid checkpoint manifest key");
	}
}

static void restore_target_must_be_folder(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;

	upload(fx);
	storage_test_write(fx->dst, "a file", 6);
	assert_int_equal(restore(fx, fx->info.manifest_sha256, &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "is not a folder");
}

static void remove_deletes_checkpoint(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_checkpoint_info other;
	char path[4400];

	upload(fx);
	assert_int_equal(hoist_checkpoint_upload(fx->store, JOB, 1, 300,
						 fx->src, &other, &err), 0);
	assert_int_equal(hoist_checkpoint_remove(fx->store, MANIFEST_KEY,
						 &err), 0);
	snprintf(path, sizeof(path), "%s/" PREFIX, fx->store_root);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(restore(fx, NULL, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);

	/* The other step is untouched. */
	hoist_err_clear(&err);
	assert_int_equal(hoist_checkpoint_restore(fx->store,
						  other.manifest_key,
						  other.manifest_sha256,
						  fx->dst, NULL, &err), 0);

	/* Removing twice is success. */
	assert_int_equal(hoist_checkpoint_remove(fx->store, MANIFEST_KEY,
						 &err), 0);
}

int main(void)
{
#define CASE(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefix_format),
		CASE(upload_then_restore),
		CASE(restore_creates_target),
		CASE(upload_retry_is_idempotent),
		CASE(upload_never_overwrites),
		CASE(upload_rejects_symlink),
		CASE(upload_rejects_fifo),
		CASE(upload_missing_folder),
		CASE(files_without_manifest_fail),
		CASE(flipped_byte_fails),
		CASE(format_1_manifest_restores_and_catches_corruption),
		CASE(truncated_object_fails),
		CASE(missing_object_fails),
		CASE(empty_object_altered_fails),
		CASE(manifest_hash_mismatch_fails),
		CASE(manifest_with_parent_path_fails),
		CASE(manifest_with_duplicate_path_fails),
		CASE(manifest_of_other_checkpoint_fails),
		CASE(restore_rejects_bad_keys),
		CASE(restore_target_must_be_folder),
		CASE(remove_deletes_checkpoint),
	};
#undef CASE

	return cmocka_run_group_tests_name("storage/checkpoint", tests, NULL,
					   NULL);
}
