/*
 * storage_client.c - the CLI's access to hoistd's artifact store, and the
 * staging of job inputs to it.
 *
 * A staged input is content-addressed: every file is stored once under
 * datasets/sha256/<hex of its bytes>, and the tree under
 * datasets/manifests/<hex of the manifest>.json, a JSON document that
 * lists each file's relative path, size and SHA-256 sorted by path.  The
 * manifest has no time stamp, so the same tree always gives the same
 * manifest key, and staging it again uploads nothing.
 */
#include "cli/storage_client.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "storage/s3.h"

#define PRESIGNED_PREFIX "hoist-presigned:"
#define DATASET_FILES_MAX 100000
#define DATASET_MANIFEST_FORMAT 1

static int presign_from_hoistd(void *arg, const char *method,
			       const char *key,
			       const struct hoist_s3_param *query,
			       size_t nquery, char *url, size_t urllen,
			       struct hoist_err *err)
{
	struct hoist_cli_presign *ctx = arg;
	json_t *params = json_object();
	json_t *body, *reply = NULL;
	const char *signed_url;
	int rc = -1;

	for (size_t i = 0; params && i < nquery; i++)
		json_object_set_new(params, query[i].name,
				    json_string(query[i].value ?
						query[i].value : ""));
	body = json_pack("{s:s, s:o, s:o*}", "method", method, "key",
			 key ? json_string(key) : json_null(), "query", params);
	if (!body)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (hoist_cli_client_call(ctx->client, "POST", ctx->path, body, &reply,
				  err))
		goto out;
	signed_url = json_string_value(json_object_get(reply, "url"));
	if (!signed_url || strlen(signed_url) >= urllen) {
		hoist_err_set(err, HOIST_E_HTTP, "hoistd's presign reply for "
			      "%s %s has no usable 'url'", method,
			      key ? key : "(bucket)");
		goto out;
	}
	memcpy(url, signed_url, strlen(signed_url) + 1);
	rc = 0;
out:
	json_decref(body);
	json_decref(reply);
	return rc;
}

int hoist_cli_storage_open(struct hoist_cli_client *client,
			   const char *job_id, struct hoist_cli_presign *ctx,
			   struct hoist_artifact_store **store,
			   struct hoist_err *err)
{
	json_t *reply = NULL;
	const char *url;
	int rc = -1;

	if (hoist_cli_client_call(client, "GET", "/v1/storage", NULL, &reply,
				  err))
		return -1;
	url = json_string_value(json_object_get(reply, "storage_url"));
	if (!url) {
		hoist_err_set(err, HOIST_E_HTTP, "hoistd's /v1/storage reply "
			      "has no 'storage_url'");
		goto out;
	}
	if (strncmp(url, PRESIGNED_PREFIX, strlen(PRESIGNED_PREFIX)) != 0) {
		rc = hoist_artifact_open(url, store, err);
		goto out;
	}
	if (!job_id) {
		hoist_err_set(err, HOIST_E_CONFLICT, "hoistd stores artifacts on "
			      "S3 with presigned requests, and staging job "
			      "inputs there is not supported yet; use a "
			      "file:// store or a job without 'inputs'");
		goto out;
	}
	ctx->client = client;
	snprintf(ctx->path, sizeof(ctx->path), "/v1/jobs/%s/presign", job_id);
	rc = hoist_s3_open_presigned(url + strlen(PRESIGNED_PREFIX),
				     presign_from_hoistd, ctx, store, err);
out:
	json_decref(reply);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Staging inputs                                                       */
/* ------------------------------------------------------------------ */

/* The relative paths of the regular files below an input folder. */
struct file_list {
	char **paths;
	size_t count;
	size_t cap;
};

static void file_list_release(struct file_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->paths[i]);
	free(list->paths);
	memset(list, 0, sizeof(*list));
}

static int file_list_add(struct file_list *list, const char *path,
			 const char *root, struct hoist_err *err)
{
	if (list->count == DATASET_FILES_MAX)
		return hoist_err_set(err, HOIST_E_NOMEM, "input '%s' has more "
				     "than %d files; pack small files into "
				     "archives", root, DATASET_FILES_MAX);
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		char **grown = realloc(list->paths, cap * sizeof(*grown));

		if (!grown)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		list->paths = grown;
		list->cap = cap;
	}
	list->paths[list->count] = strdup(path);
	if (!list->paths[list->count])
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	list->count++;
	return 0;
}

/* Adds the regular files below root/rel (rel "" for root itself) to
 * list.  Symbolic links and special files are rejected, because the agent
 * restores regular files only. */
static int walk_input(const char *root, const char *rel,
		      struct file_list *list, struct hoist_err *err)
{
	char dir_path[PATH_MAX], child_rel[PATH_MAX], child_path[PATH_MAX];
	struct dirent *entry;
	DIR *dir;
	int rc = -1;

	snprintf(dir_path, sizeof(dir_path), "%s%s%s", root, *rel ? "/" : "",
		 rel);
	dir = opendir(dir_path);
	if (!dir)
		return hoist_err_set(err, HOIST_E_IO, "cannot read input folder "
				     "'%s': %s", dir_path, strerror(errno));
	while ((errno = 0, entry = readdir(dir)) != NULL) {
		struct stat st;
		int n;

		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		n = snprintf(child_rel, sizeof(child_rel), "%s%s%s", rel,
			     *rel ? "/" : "", entry->d_name);
		if (n < 0 || (size_t)n >= sizeof(child_rel) ||
		    (size_t)snprintf(child_path, sizeof(child_path), "%s/%s",
				     root, child_rel) >= sizeof(child_path)) {
			hoist_err_set(err, HOIST_E_INVALID, "a path in input "
				      "'%s' is too long: '%s/%s'", root,
				      dir_path, entry->d_name);
			goto out;
		}
		if (lstat(child_path, &st) != 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot read '%s': %s",
				      child_path, strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (walk_input(root, child_rel, list, err))
				goto out;
		} else if (S_ISREG(st.st_mode)) {
			if (!hoist_artifact_key_valid(child_rel)) {
				hoist_err_set(err, HOIST_E_INVALID, "input file "
					      "'%s' has an unusable name: %s",
					      child_path,
					      hoist_artifact_key_error(
						      child_rel));
				goto out;
			}
			if (file_list_add(list, child_rel, root, err))
				goto out;
		} else {
			hoist_err_set(err, HOIST_E_INVALID, "'%s' in an input "
				      "is not a regular file or folder; "
				      "inputs hold regular files only (copy "
				      "the target of a symbolic link)",
				      child_path);
			goto out;
		}
	}
	if (errno != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot read input folder "
			      "'%s': %s", dir_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	closedir(dir);
	return rc;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hex_encode(const unsigned char *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int sha256_bytes(const void *data, size_t len, char hex[65],
			struct hoist_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
	hex_encode(md, mdlen, hex);
	return 0;
}

static int sha256_file(const char *path, uint64_t *size, char hex[65],
		       struct hoist_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	unsigned char chunk[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *file = NULL;
	size_t n;
	int rc = -1;

	*size = 0;
	if (!ctx)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
		goto out;
	}
	file = fopen(path, "rb");
	if (!file) {
		hoist_err_set(err, HOIST_E_IO, "cannot open '%s': %s", path,
			      strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), file)) > 0) {
		if (!EVP_DigestUpdate(ctx, chunk, n)) {
			hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
			goto out;
		}
		*size += n;
	}
	if (ferror(file)) {
		hoist_err_set(err, HOIST_E_IO, "cannot read '%s'", path);
		goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32) {
		hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
		goto out;
	}
	hex_encode(md, mdlen, hex);
	rc = 0;
out:
	if (file)
		fclose(file);
	EVP_MD_CTX_free(ctx);
	return rc;
}

struct exists_probe {
	const char *key;
	int found;
};

static int note_exact_key(const char *key, uint64_t size, void *arg)
{
	struct exists_probe *probe = arg;

	(void)size;
	if (strcmp(key, probe->key) == 0) {
		probe->found = 1;
		return 1;
	}
	return 0;
}

/* Sets *found to whether an object named key exists.  The artifact store
 * has no HEAD operation, so this lists the keys with key as prefix. */
static int object_exists(struct hoist_artifact_store *store, const char *key,
			 int *found, struct hoist_err *err)
{
	struct exists_probe probe = { key, 0 };

	if (store->ops->list(store, key, note_exact_key, &probe, err))
		return -1;
	*found = probe.found;
	return 0;
}

/* Counters of one staged input, for the summary line. */
struct stage_counts {
	size_t files;
	size_t uploaded;
	uint64_t bytes;
	uint64_t uploaded_bytes;
};

/* Stores one file under its content address unless it is there already,
 * and appends its manifest entry to files. */
static int stage_file(struct hoist_artifact_store *store, const char *root,
		      const char *rel, json_t *files,
		      struct stage_counts *counts, struct hoist_err *err)
{
	char path[PATH_MAX], key[128], hex[65], stored_hex[65];
	uint64_t size = 0, stored_size = 0;
	int found = 0;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (sha256_file(path, &size, hex, err))
		return -1;
	snprintf(key, sizeof(key), "datasets/sha256/%s", hex);
	if (object_exists(store, key, &found, err))
		return -1;
	if (!found) {
		if (hoist_artifact_put_file_sha256(store, key, path,
						   &stored_size, stored_hex,
						   err))
			return -1;
		if (stored_size != size || strcmp(stored_hex, hex) != 0) {
			struct hoist_err ignored = HOIST_ERR_INIT;

			store->ops->remove(store, key, &ignored);
			return hoist_err_set(err, HOIST_E_INTEGRITY, "input "
					     "file '%s' changed while it was "
					     "uploaded; run again once it is "
					     "complete", path);
		}
		counts->uploaded++;
		counts->uploaded_bytes += size;
	}
	counts->files++;
	counts->bytes += size;
	if (json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path",
						   rel, "size",
						   (json_int_t)size, "sha256",
						   hex)))
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	return 0;
}

/* Stores the manifest text under datasets/manifests/<hex>.json unless it
 * is there already, and adds the key and digest to input. */
static int stage_manifest(struct hoist_artifact_store *store, json_t *files,
			  json_t *input, struct stage_counts *counts,
			  struct hoist_err *err)
{
	char key[128], hex[65];
	json_t *manifest;
	char *text = NULL;
	int found = 0, rc = -1;

	manifest = json_pack("{s:i, s:O}", "format", DATASET_MANIFEST_FORMAT,
			     "files", files);
	if (manifest)
		text = json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if (sha256_bytes(text, strlen(text), hex, err))
		goto out;
	snprintf(key, sizeof(key), "datasets/manifests/%s.json", hex);
	if (object_exists(store, key, &found, err))
		goto out;
	if (!found) {
		if (store->ops->put_bytes(store, key, text, strlen(text), err))
			goto out;
		counts->uploaded++;
	}
	if (json_object_set_new(input, "manifest_key", json_string(key)) ||
	    json_object_set_new(input, "manifest_sha256", json_string(hex))) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(manifest);
	return rc;
}

static int stage_input(struct hoist_artifact_store *store, json_t *input,
		       int quiet, struct hoist_err *err)
{
	const char *from = json_string_value(json_object_get(input, "from"));
	const char *to = json_string_value(json_object_get(input, "to"));
	struct stage_counts counts = { 0 };
	struct file_list list = { 0 };
	json_t *files = json_array();
	int rc = -1;

	if (!files)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (walk_input(from, "", &list, err))
		goto out;
	qsort(list.paths, list.count, sizeof(*list.paths), compare_paths);
	for (size_t i = 0; i < list.count; i++)
		if (stage_file(store, from, list.paths[i], files, &counts, err))
			goto out;
	if (stage_manifest(store, files, input, &counts, err))
		goto out;
	if (!quiet)
		fprintf(stderr, "staged input %s -> %s: %zu files, %llu bytes; "
			"uploaded %zu new objects (%llu bytes)\n", from, to,
			counts.files, (unsigned long long)counts.bytes,
			counts.uploaded,
			(unsigned long long)counts.uploaded_bytes);
	rc = 0;
out:
	if (rc)
		hoist_err_prefix(err, "cannot stage input '%s'", from);
	json_decref(files);
	file_list_release(&list);
	return rc;
}

int hoist_cli_stage_inputs(struct hoist_cli_client *client, json_t *spec,
			   int quiet, struct hoist_err *err)
{
	json_t *inputs = json_object_get(spec, "inputs");
	struct hoist_artifact_store *store = NULL;
	struct hoist_cli_presign presign;
	json_t *input;
	size_t i;
	int rc = -1;

	if (json_array_size(inputs) == 0)
		return 0;
	json_array_foreach(inputs, i, input) {
		const char *from = json_string_value(json_object_get(input,
								      "from"));
		const char *to = json_string_value(json_object_get(input, "to"));

		if (!from || !to)
			return hoist_err_set(err, HOIST_E_INVALID, "input %zu "
					     "of the job spec has no 'from' "
					     "or 'to'", i + 1);
		if (strncmp(from, "s3://", 5) == 0)
			return hoist_err_set(err, HOIST_E_INVALID, "input %zu "
					     "('%s'): an s3:// 'from' is not "
					     "supported yet; copy the files to "
					     "a local folder and name that "
					     "folder instead", i + 1, from);
	}
	if (hoist_cli_storage_open(client, NULL, &presign, &store, err))
		return -1;
	json_array_foreach(inputs, i, input)
		if (stage_input(store, input, quiet, err))
			goto out;
	rc = 0;
out:
	hoist_artifact_close(store);
	return rc;
}
