/*
 * Tests of the artifact store interface and the file:// back end: key
 * validation, URL parsing, round trips, listing, removal and atomicity.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "storage/artifact.h"
#include "storage_test.h"

/* SHA-256 of "abc" (FIPS 180-2, appendix B.1). */
#define ABC_SHA256 \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

struct fixture {
	char dir[4096];
	char url[4200];
	struct hoist_artifact_store *store;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct hoist_err err = HOIST_ERR_INIT;

	assert_non_null(fx);
	storage_test_mkdtemp(fx->dir);
	snprintf(fx->url, sizeof(fx->url), "file://%s/store", fx->dir);
	assert_int_equal(hoist_artifact_open(fx->url, &fx->store, &err), 0);
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

static void key_validation_table(void **state)
{
	static const struct {
		const char *key;
		int valid;
	} cases[] = {
		{ "a", 1 },
		{ "jobs/j-1/checkpoints/a1-s250/manifest.json", 1 },
		{ "a/b/c.d", 1 },
		{ ".hidden/x", 1 },
		{ "a/...", 1 },
		{ "a/..b", 1 },
		{ "sp ace/uni\xc3\xa9", 1 },
		{ "", 0 },
		{ "/abs", 0 },
		{ "a/", 0 },
		{ "a//b", 0 },
		{ "./a", 0 },
		{ "a/./b", 0 },
		{ "..", 0 },
		{ "../x", 0 },
		{ "a/../b", 0 },
		{ "a/..", 0 },
		{ "tab\there", 0 },
		{ "new\nline", 0 },
		{ "del\x7f", 0 },
	};
	char long_key[HOIST_ARTIFACT_KEY_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		if (hoist_artifact_key_valid(cases[i].key) != cases[i].valid)
			print_error("key '%s' expected %s\n", cases[i].key,
				    cases[i].valid ? "valid" : "invalid");
		assert_int_equal(hoist_artifact_key_valid(cases[i].key),
				 cases[i].valid);
	}
	assert_int_equal(hoist_artifact_key_valid(NULL), 0);

	memset(long_key, 'k', HOIST_ARTIFACT_KEY_MAX);
	long_key[HOIST_ARTIFACT_KEY_MAX] = '\0';
	assert_int_equal(hoist_artifact_key_valid(long_key), 1);
	long_key[HOIST_ARTIFACT_KEY_MAX] = 'k';
	long_key[HOIST_ARTIFACT_KEY_MAX + 1] = '\0';
	assert_int_equal(hoist_artifact_key_valid(long_key), 0);
	assert_string_equal(hoist_artifact_key_error(long_key),
			    "is longer than 1024 bytes");
}

static void key_error_reasons(void **state)
{
	(void)state;
	assert_null(hoist_artifact_key_error("a/b"));
	assert_string_equal(hoist_artifact_key_error(""), "is empty");
	assert_string_equal(hoist_artifact_key_error("/a"), "starts with '/'");
	assert_non_null(strstr(hoist_artifact_key_error("a//b"),
			       "empty segment"));
	assert_non_null(strstr(hoist_artifact_key_error("a/../b"), "'..'"));
	assert_non_null(strstr(hoist_artifact_key_error("a\x01"),
			       "control character"));
}

static void open_rejects_bad_urls(void **state)
{
	static const struct {
		const char *url;
		const char *text;
	} cases[] = {
		{ "", "empty" },
		{ "relative/folder", "'relative/folder' is not a URL" },
		{ "/abs/without/scheme", "file:///absolute/folder" },
		{ "file://host/folder", "'file://host/folder' does not name" },
		{ "file://relative", "three slashes" },
		{ "file:///", "is '/'" },
		{ "gs://bucket", "unsupported scheme 'gs'" },
		{ "http://127.0.0.1/x", "'http://127.0.0.1/x'" },
		{ "file:///tmp/a\nb", "control character" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		struct hoist_artifact_store *store = (void *)1;

		assert_int_equal(hoist_artifact_open(cases[i].url, &store,
						     &err), -1);
		assert_null(store);
		storage_test_expect_err(&err, HOIST_E_INVALID, cases[i].text);
	}
}

static void open_creates_root_folder(void **state)
{
	struct fixture *fx = *state;
	struct hoist_artifact_store *store = NULL;
	struct hoist_err err = HOIST_ERR_INIT;
	char url[4300];
	char root[4200];
	struct stat st;

	snprintf(root, sizeof(root), "%s/new/nested/root", fx->dir);
	snprintf(url, sizeof(url), "file://localhost%s/", root);
	assert_int_equal(hoist_artifact_open(url, &store, &err), 0);
	assert_string_equal(store->url, url);
	assert_string_equal(store->ops->scheme, "file");
	assert_int_equal(stat(root, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	hoist_artifact_close(store);
}

static void bytes_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf buf;
	const struct hoist_artifact_ops *ops = fx->store->ops;

	assert_int_equal(ops->put_bytes(fx->store, "a/b/obj", "hello", 5,
					&err), 0);
	hoist_buf_init(&buf, 1024);
	assert_int_equal(ops->get_bytes(fx->store, "a/b/obj", &buf, &err), 0);
	assert_int_equal(buf.len, 5);
	assert_memory_equal(buf.data, "hello", 5);

	/* Overwriting replaces the whole object. */
	assert_int_equal(ops->put_bytes(fx->store, "a/b/obj", "hi", 2, &err),
			 0);
	hoist_buf_reset(&buf);
	assert_int_equal(ops->get_bytes(fx->store, "a/b/obj", &buf, &err), 0);
	assert_int_equal(buf.len, 2);
	assert_memory_equal(buf.data, "hi", 2);

	/* An empty object is stored and read back as empty. */
	assert_int_equal(ops->put_bytes(fx->store, "empty", "", 0, &err), 0);
	hoist_buf_reset(&buf);
	assert_int_equal(ops->get_bytes(fx->store, "empty", &buf, &err), 0);
	assert_int_equal(buf.len, 0);
	assert_non_null(buf.data);
	hoist_buf_release(&buf);
}

static void get_bytes_respects_limit(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf buf;
	const struct hoist_artifact_ops *ops = fx->store->ops;

	assert_int_equal(ops->put_bytes(fx->store, "big", "0123456789", 10,
					&err), 0);
	hoist_buf_init(&buf, 9);
	assert_int_equal(ops->get_bytes(fx->store, "big", &buf, &err), -1);
	storage_test_expect_err(&err, HOIST_E_NOMEM, "'big' has 10 bytes");
	assert_int_equal(buf.len, 0);
	hoist_buf_release(&buf);
}

static void file_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	const struct hoist_artifact_ops *ops = fx->store->ops;
	char src[4200];
	char dst[4200];
	char *data;
	char *back;
	size_t len = (3u << 20) + 17;	/* more than one copy buffer */
	size_t back_len = 0;

	data = malloc(len);
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 7 + (i >> 12));
	snprintf(src, sizeof(src), "%s/src.bin", fx->dir);
	snprintf(dst, sizeof(dst), "%s/dst.bin", fx->dir);
	storage_test_write(src, data, len);
	storage_test_write(dst, "old content", 11);

	assert_int_equal(ops->put_file(fx->store, "x/y.bin", src, &err), 0);
	assert_int_equal(ops->get_file(fx->store, "x/y.bin", dst, &err), 0);
	back = storage_test_read(dst, &back_len);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, data, len);
	free(back);
	free(data);
}

static void sha256_variants_hash_bytes(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char src[4200];
	char dst[4200];
	char sha256[65];
	uint64_t size = 0;

	snprintf(src, sizeof(src), "%s/abc", fx->dir);
	snprintf(dst, sizeof(dst), "%s/abc.out", fx->dir);
	storage_test_write(src, "abc", 3);

	assert_int_equal(hoist_artifact_put_file_sha256(fx->store, "abc", src,
							&size, sha256, &err),
			 0);
	assert_int_equal(size, 3);
	assert_string_equal(sha256, ABC_SHA256);

	memset(sha256, 0, sizeof(sha256));
	size = 0;
	assert_int_equal(hoist_artifact_get_file_sha256(fx->store, "abc", dst,
							&size, sha256, &err),
			 0);
	assert_int_equal(size, 3);
	assert_string_equal(sha256, ABC_SHA256);
}

static void sha256_variants_multi_chunk(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	size_t len = (5u << 20) + 3;	/* five full copy buffers and a bit */
	char src[4200];
	char dst[4200];
	char expected[65];
	char sha256[65];
	uint64_t size = 0;
	char *data;

	data = malloc(len);
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)((i * 13) ^ (i >> 10));
	hoist_util_sha256_hex(data, len, expected);
	snprintf(src, sizeof(src), "%s/multi", fx->dir);
	snprintf(dst, sizeof(dst), "%s/multi.out", fx->dir);
	storage_test_write(src, data, len);
	free(data);

	assert_int_equal(hoist_artifact_put_file_sha256(fx->store, "multi",
							src, &size, sha256,
							&err), 0);
	assert_int_equal(size, len);
	assert_string_equal(sha256, expected);

	memset(sha256, 0, sizeof(sha256));
	size = 0;
	assert_int_equal(hoist_artifact_get_file_sha256(fx->store, "multi",
							dst, &size, sha256,
							&err), 0);
	assert_int_equal(size, len);
	assert_string_equal(sha256, expected);
}

/* A back end without the optional ops gets the two-pass fallback. */
static void sha256_fallback_without_ops(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	const struct hoist_artifact_ops *file_ops = fx->store->ops;
	struct hoist_artifact_ops plain = *file_ops;
	char src[4200];
	char dst[4200];
	char sha256[65];
	uint64_t size = 0;
	int put_rc;
	int get_rc;

	plain.put_file_sha256 = NULL;
	plain.get_file_sha256 = NULL;
	snprintf(src, sizeof(src), "%s/abc", fx->dir);
	snprintf(dst, sizeof(dst), "%s/abc.out", fx->dir);
	storage_test_write(src, "abc", 3);

	fx->store->ops = &plain;
	put_rc = hoist_artifact_put_file_sha256(fx->store, "abc", src, &size,
						sha256, &err);
	get_rc = hoist_artifact_get_file_sha256(fx->store, "abc", dst, &size,
						sha256, &err);
	fx->store->ops = file_ops;

	assert_int_equal(put_rc, 0);
	assert_int_equal(get_rc, 0);
	assert_int_equal(size, 3);
	assert_string_equal(sha256, ABC_SHA256);
	assert_int_equal(access(dst, F_OK), 0);
}

static void missing_object_not_found(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_buf buf;
	char dst[4200];

	hoist_buf_init(&buf, 64);
	assert_int_equal(fx->store->ops->get_bytes(fx->store, "no/such", &buf,
						   &err), -1);
	storage_test_expect_err(&err, HOIST_E_NOT_FOUND,
				"object 'no/such' not found");
	hoist_buf_release(&buf);

	hoist_err_clear(&err);
	snprintf(dst, sizeof(dst), "%s/never", fx->dir);
	assert_int_equal(fx->store->ops->get_file(fx->store, "no/such", dst,
						  &err), -1);
	assert_int_equal(err.code, HOIST_E_NOT_FOUND);
	assert_int_equal(access(dst, F_OK), -1);
}

static void invalid_keys_rejected(void **state)
{
	static const char *const keys[] = {
		"../escape", "/abs", "a//b", "", "a/.tmp-123", ".tmp-x",
	};
	struct fixture *fx = *state;
	const struct hoist_artifact_ops *ops = fx->store->ops;
	char src[4200];

	snprintf(src, sizeof(src), "%s/src", fx->dir);
	storage_test_write(src, "x", 1);
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		struct hoist_buf buf;

		assert_int_equal(ops->put_bytes(fx->store, keys[i], "x", 1,
						&err), -1);
		storage_test_expect_err(&err, HOIST_E_INVALID,
					"invalid object key");
		hoist_err_clear(&err);
		assert_int_equal(ops->put_file(fx->store, keys[i], src, &err),
				 -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		hoist_err_clear(&err);
		hoist_buf_init(&buf, 64);
		assert_int_equal(ops->get_bytes(fx->store, keys[i], &buf, &err),
				 -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		hoist_buf_release(&buf);
		hoist_err_clear(&err);
		assert_int_equal(ops->remove(fx->store, keys[i], &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
	}
}

struct listing {
	char keys[32][256];
	uint64_t sizes[32];
	size_t count;
	size_t stop_after;	/* 0: never stop */
};

static int record_key(const char *key, uint64_t size, void *arg)
{
	struct listing *listing = arg;

	assert_true(listing->count < 32);
	snprintf(listing->keys[listing->count], 256, "%s", key);
	listing->sizes[listing->count] = size;
	listing->count++;
	return listing->stop_after && listing->count == listing->stop_after;
}

static int listing_has(const struct listing *listing, const char *key,
		       uint64_t size)
{
	for (size_t i = 0; i < listing->count; i++) {
		if (!strcmp(listing->keys[i], key))
			return listing->sizes[i] == size;
	}
	return 0;
}

static void list_filters_by_prefix(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	const struct hoist_artifact_ops *ops = fx->store->ops;
	struct listing listing;

	assert_int_equal(ops->put_bytes(fx->store, "jobs/j1/a", "1", 1, &err),
			 0);
	assert_int_equal(ops->put_bytes(fx->store, "jobs/j1/sub/b", "22", 2,
					&err), 0);
	assert_int_equal(ops->put_bytes(fx->store, "jobs/j10/c", "333", 3,
					&err), 0);
	assert_int_equal(ops->put_bytes(fx->store, "other", "4444", 4, &err),
			 0);

	memset(&listing, 0, sizeof(listing));
	assert_int_equal(ops->list(fx->store, "", record_key, &listing, &err),
			 0);
	assert_int_equal(listing.count, 4);
	assert_true(listing_has(&listing, "other", 4));

	memset(&listing, 0, sizeof(listing));
	assert_int_equal(ops->list(fx->store, "jobs/j1/", record_key,
				   &listing, &err), 0);
	assert_int_equal(listing.count, 2);
	assert_true(listing_has(&listing, "jobs/j1/a", 1));
	assert_true(listing_has(&listing, "jobs/j1/sub/b", 2));

	/* A prefix that ends inside a segment matches like a string. */
	memset(&listing, 0, sizeof(listing));
	assert_int_equal(ops->list(fx->store, "jobs/j1", record_key, &listing,
				   &err), 0);
	assert_int_equal(listing.count, 3);
	assert_true(listing_has(&listing, "jobs/j10/c", 3));

	memset(&listing, 0, sizeof(listing));
	assert_int_equal(ops->list(fx->store, "jobs/j1/a", record_key,
				   &listing, &err), 0);
	assert_int_equal(listing.count, 1);

	memset(&listing, 0, sizeof(listing));
	assert_int_equal(ops->list(fx->store, "missing/", record_key,
				   &listing, &err), 0);
	assert_int_equal(listing.count, 0);

	/* A callback that returns nonzero stops the listing. */
	memset(&listing, 0, sizeof(listing));
	listing.stop_after = 2;
	assert_int_equal(ops->list(fx->store, "", record_key, &listing, &err),
			 0);
	assert_int_equal(listing.count, 2);

	assert_int_equal(ops->list(fx->store, "../", record_key, &listing,
				   &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "invalid list prefix");
}

/* Counts the temporary files left anywhere below path. */
static size_t count_tmp_files(const char *path)
{
	struct dirent *entry;
	size_t count = 0;
	DIR *dir = opendir(path);

	assert_non_null(dir);
	while ((entry = readdir(dir)) != NULL) {
		char child[4096];
		struct stat st;

		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (!strncmp(entry->d_name, ".tmp-", 5))
			count++;
		snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			count += count_tmp_files(child);
	}
	closedir(dir);
	return count;
}

static void list_skips_temporary_files(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	const struct hoist_artifact_ops *ops = fx->store->ops;
	struct listing listing;
	char path[4300];

	assert_int_equal(ops->put_bytes(fx->store, "d/real", "r", 1, &err), 0);
	assert_int_equal(count_tmp_files(fx->dir), 0);

	/* A write in progress, as another process would leave it. */
	snprintf(path, sizeof(path), "%s/store/d/.tmp-0123456789abcdef",
		 fx->dir);
	storage_test_write(path, "half", 4);

	memset(&listing, 0, sizeof(listing));
	assert_int_equal(ops->list(fx->store, "d/", record_key, &listing,
				   &err), 0);
	assert_int_equal(listing.count, 1);
	assert_string_equal(listing.keys[0], "d/real");
}

static void failed_put_leaves_no_temp(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	char path[4300];

	/* "f" is an object, so "f/g" cannot be created below it. */
	assert_int_equal(fx->store->ops->put_bytes(fx->store, "f", "x", 1,
						   &err), 0);
	assert_int_equal(fx->store->ops->put_bytes(fx->store, "f/g", "x", 1,
						   &err), -1);
	assert_int_equal(err.code, HOIST_E_IO);

	/* A missing source file is reported before any temp is made. */
	hoist_err_clear(&err);
	snprintf(path, sizeof(path), "%s/no-such-file", fx->dir);
	assert_int_equal(fx->store->ops->put_file(fx->store, "h", path, &err),
			 -1);
	storage_test_expect_err(&err, HOIST_E_NOT_FOUND, "no-such-file");
	assert_int_equal(count_tmp_files(fx->dir), 0);
}

#define RACE_SIZE_A (256u << 10)
#define RACE_SIZE_B (384u << 10)
#define RACE_WRITES 40

/* Checks that every read of "race/obj" is one complete version. */
static int check_race_read(struct hoist_artifact_store *store,
			   struct hoist_buf *buf)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char first;

	hoist_buf_reset(buf);
	if (store->ops->get_bytes(store, "race/obj", buf, &err))
		return err.code == HOIST_E_NOT_FOUND ? 0 : -1;
	if (buf->len != RACE_SIZE_A && buf->len != RACE_SIZE_B)
		return -1;
	first = buf->data[0];
	if (first != (buf->len == RACE_SIZE_A ? 'A' : 'B'))
		return -1;
	for (size_t i = 1; i < buf->len; i++) {
		if (buf->data[i] != first)
			return -1;
	}
	return 0;
}

static void readers_never_see_partial_object(void **state)
{
	struct fixture *fx = *state;
	struct hoist_buf buf;
	struct listing listing;
	int status = 0;
	size_t reads = 0;
	pid_t child;

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct hoist_err err = HOIST_ERR_INIT;
		char *data = malloc(RACE_SIZE_B);

		if (!data)
			_exit(2);
		for (int i = 0; i < RACE_WRITES; i++) {
			size_t len = i % 2 ? RACE_SIZE_B : RACE_SIZE_A;

			memset(data, i % 2 ? 'B' : 'A', len);
			if (fx->store->ops->put_bytes(fx->store, "race/obj",
						      data, len, &err))
				_exit(1);
		}
		_exit(0);
	}

	hoist_buf_init(&buf, RACE_SIZE_B);
	for (;;) {
		struct hoist_err err = HOIST_ERR_INIT;
		pid_t done = waitpid(child, &status, WNOHANG);

		assert_int_equal(check_race_read(fx->store, &buf), 0);
		memset(&listing, 0, sizeof(listing));
		assert_int_equal(fx->store->ops->list(fx->store, "race/",
						      record_key, &listing,
						      &err), 0);
		assert_true(listing.count <= 1);
		if (listing.count == 1)
			assert_string_equal(listing.keys[0], "race/obj");
		reads++;
		if (done == child)
			break;
	}
	hoist_buf_release(&buf);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(reads > 0);
	assert_int_equal(count_tmp_files(fx->dir), 0);
}

static void remove_is_idempotent(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	const struct hoist_artifact_ops *ops = fx->store->ops;
	char path[4300];
	struct stat st;

	assert_int_equal(ops->put_bytes(fx->store, "p/q/r", "x", 1, &err), 0);
	assert_int_equal(ops->put_bytes(fx->store, "p/keep", "x", 1, &err), 0);
	assert_int_equal(ops->remove(fx->store, "p/q/r", &err), 0);
	assert_int_equal(ops->remove(fx->store, "p/q/r", &err), 0);
	assert_int_equal(ops->remove(fx->store, "never/was", &err), 0);

	/* The emptied folder is pruned, the one still in use is kept. */
	snprintf(path, sizeof(path), "%s/store/p/q", fx->dir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/store/p", fx->dir);
	assert_int_equal(stat(path, &st), 0);

	/* A folder of objects is not an object. */
	assert_int_equal(ops->remove(fx->store, "p", &err), -1);
	storage_test_expect_err(&err, HOIST_E_INVALID, "not an object");
}

static void remove_prefix_removes_subtree(void **state)
{
	struct fixture *fx = *state;
	struct hoist_err err = HOIST_ERR_INIT;
	const struct hoist_artifact_ops *ops = fx->store->ops;
	struct listing listing;
	char path[4300];
	struct stat st;

	assert_int_equal(ops->put_bytes(fx->store, "jobs/j1/x", "1", 1, &err),
			 0);
	assert_int_equal(ops->put_bytes(fx->store, "jobs/j1/y/z", "1", 1,
					&err), 0);
	assert_int_equal(ops->put_bytes(fx->store, "jobs/j10/x", "1", 1, &err),
			 0);
	assert_int_equal(hoist_artifact_remove_prefix(fx->store, "jobs/j1/",
						      &err), 0);

	memset(&listing, 0, sizeof(listing));
	assert_int_equal(ops->list(fx->store, "", record_key, &listing, &err),
			 0);
	assert_int_equal(listing.count, 1);
	assert_string_equal(listing.keys[0], "jobs/j10/x");
	snprintf(path, sizeof(path), "%s/store/jobs/j1", fx->dir);
	assert_int_equal(stat(path, &st), -1);

	/* Nothing under the prefix is success too. */
	assert_int_equal(hoist_artifact_remove_prefix(fx->store, "jobs/j1/",
						      &err), 0);
}

static void remove_prefix_rejects_bad_prefix(void **state)
{
	static const char *const prefixes[] = {
		"", "/", "jobs", "../", "jobs//", "/jobs/",
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_artifact_remove_prefix(fx->store,
							      prefixes[i],
							      &err), -1);
		storage_test_expect_err(&err, HOIST_E_INVALID,
					"invalid prefix");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_validation_table),
		cmocka_unit_test(key_error_reasons),
		cmocka_unit_test(open_rejects_bad_urls),
		cmocka_unit_test_setup_teardown(open_creates_root_folder,
						setup, teardown),
		cmocka_unit_test_setup_teardown(bytes_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(get_bytes_respects_limit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(file_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sha256_variants_hash_bytes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(sha256_variants_multi_chunk,
						setup, teardown),
		cmocka_unit_test_setup_teardown(sha256_fallback_without_ops,
						setup, teardown),
		cmocka_unit_test_setup_teardown(missing_object_not_found,
						setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_keys_rejected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(list_filters_by_prefix, setup,
						teardown),
		cmocka_unit_test_setup_teardown(list_skips_temporary_files,
						setup, teardown),
		cmocka_unit_test_setup_teardown(failed_put_leaves_no_temp,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			readers_never_see_partial_object, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_is_idempotent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(remove_prefix_removes_subtree,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			remove_prefix_rejects_bad_prefix, setup, teardown),
	};

	return cmocka_run_group_tests_name("storage/artifact", tests, NULL,
					   NULL);
}
