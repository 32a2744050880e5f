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
 *
 * An input is a local folder or an s3:// prefix.  The objects of an s3://
 * prefix are read with the user's own credentials (the standard AWS
 * chain), downloaded one at a time to a private temporary folder, hashed
 * and staged like local files.  The source is only listed and read.
 */
#include "cli/storage_client.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli/progress.h"
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
	ctx->client = client;
	if (job_id)
		snprintf(ctx->path, sizeof(ctx->path), "/v1/jobs/%s/presign",
			 job_id);
	else
		snprintf(ctx->path, sizeof(ctx->path), "/v1/datasets/presign");
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

/* Counters of one staged input, for the summary line. */
struct stage_counts {
	size_t files;
	size_t uploaded;
	uint64_t bytes;
	uint64_t uploaded_bytes;
};

/* The store that inputs are staged to, and a private temporary folder
 * for downloads and snapshots, created on first use. */
struct stager {
	struct hoist_artifact_store *store;
	char scratch[PATH_MAX];		/* "" until created */
	int quiet;			/* no progress lines */
};

/* Minimum size of an upload that gets a progress line on stderr. */
#define STAGE_PROGRESS_MIN_BYTES (16u << 20)

#define SCRATCH_DOWNLOAD "download"
#define SCRATCH_SNAPSHOT "snapshot"

/* Writes the path of the file name in the stager's temporary folder to
 * out, and creates the folder (mode 0700) under $TMPDIR or /tmp first. */
static int scratch_path(struct stager *stager, const char *name, char *out,
			size_t outlen, struct hoist_err *err)
{
	if (!stager->scratch[0]) {
		const char *tmp = getenv("TMPDIR");
		char template[PATH_MAX];
		int n;

		if (!tmp || !*tmp)
			tmp = "/tmp";
		n = snprintf(template, sizeof(template),
			     "%s/hoist-inputs-XXXXXX", tmp);
		if (n < 0 || (size_t)n >= sizeof(template))
			return hoist_err_set(err, HOIST_E_INVALID, "TMPDIR "
					     "'%s' is too long; set TMPDIR to "
					     "a shorter folder", tmp);
		if (!mkdtemp(template))
			return hoist_err_set(err, HOIST_E_IO, "cannot create a "
					     "temporary folder in '%s' "
					     "(TMPDIR): %s", tmp,
					     strerror(errno));
		memcpy(stager->scratch, template, (size_t)n + 1);
	}
	snprintf(out, outlen, "%s/%s", stager->scratch, name);
	return 0;
}

/* Deletes the stager's temporary folder and every file in it, including
 * the partial files of a failed download. */
static void stager_release(struct stager *stager)
{
	char path[PATH_MAX + 256];
	struct dirent *entry;
	DIR *dir;

	if (!stager->scratch[0])
		return;
	dir = opendir(stager->scratch);
	while (dir && (entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", stager->scratch,
			 entry->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(stager->scratch);
	stager->scratch[0] = '\0';
}

/* Stores the size and SHA-256 of the file src, and copies its bytes to
 * dst in the same pass unless dst is NULL. */
static int hash_file(const char *src, const char *dst, uint64_t *size,
		     char hex[65], struct hoist_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	unsigned char chunk[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *in = NULL, *out = NULL;
	size_t n;
	int rc = -1;

	*size = 0;
	if (!ctx)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
		goto out;
	}
	in = fopen(src, "rb");
	if (!in) {
		hoist_err_set(err, HOIST_E_IO, "cannot open '%s': %s", src,
			      strerror(errno));
		goto out;
	}
	out = dst ? fopen(dst, "wb") : NULL;
	if (dst && !out) {
		hoist_err_set(err, HOIST_E_IO, "cannot create '%s': %s", dst,
			      strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if (!EVP_DigestUpdate(ctx, chunk, n)) {
			hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
			goto out;
		}
		if (out && fwrite(chunk, 1, n, out) != n) {
			hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s",
				      dst, strerror(errno));
			goto out;
		}
		*size += n;
	}
	if (ferror(in)) {
		hoist_err_set(err, HOIST_E_IO, "cannot read '%s'", src);
		goto out;
	}
	if (out && fclose(out) != 0) {
		out = NULL;
		hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s", dst,
			      strerror(errno));
		goto out;
	}
	out = NULL;
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32) {
		hoist_err_set(err, HOIST_E_INTERNAL, "SHA-256 failed");
		goto out;
	}
	hex_encode(md, mdlen, hex);
	rc = 0;
out:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Uploads the file at path, whose bytes hash to hex, to key.  The upload
 * hashes what it sends, and a file that changed meanwhile fails with
 * HOIST_E_INTEGRITY.  A store that can delete the bad object (file://)
 * gets the file itself.  hoistd presigns no DELETE of a whole object below
 * datasets/, so for S3 a private file (owned true) is uploaded as is, and
 * any other file is first copied to a snapshot that nothing else writes.
 */
static int upload_file(struct stager *stager, const char *path, int owned,
		       const char *key, const char *hex, uint64_t size,
		       struct hoist_err *err)
{
	struct hoist_artifact_store *store = stager->store;
	char snapshot[PATH_MAX + 16], stored_hex[65];
	const char *source = path;
	uint64_t stored_size = 0;
	int rc = -1;

	snapshot[0] = '\0';
	if (!owned && hoist_s3_is_store(store)) {
		if (scratch_path(stager, SCRATCH_SNAPSHOT, snapshot,
				 sizeof(snapshot), err) ||
		    hash_file(path, snapshot, &stored_size, stored_hex, err))
			goto out;
		if (stored_size != size || strcmp(stored_hex, hex) != 0)
			goto changed;
		source = snapshot;
	}
	if (hoist_artifact_put_file_sha256(store, key, source, &stored_size,
					   stored_hex, err))
		goto out;
	if (stored_size != size || strcmp(stored_hex, hex) != 0) {
		struct hoist_err ignored = HOIST_ERR_INIT;

		store->ops->remove(store, key, &ignored);
		goto changed;
	}
	rc = 0;
	goto out;
changed:
	hoist_err_set(err, HOIST_E_INTEGRITY, "input file '%s' changed while "
		      "it was staged; run again once it is complete", path);
out:
	if (snapshot[0])
		unlink(snapshot);
	return rc;
}

/* Stores the file at path under its content address unless it is there
 * already, and appends its manifest entry, named rel, to files.  owned is
 * 1 when path is a private file that nothing else changes. */
static int stage_file(struct stager *stager, const char *path, int owned,
		      const char *rel, json_t *files,
		      struct stage_counts *counts, struct hoist_err *err)
{
	char key[128], hex[65];
	uint64_t size = 0;
	int found = 0;

	if (hash_file(path, NULL, &size, hex, err))
		return -1;
	snprintf(key, sizeof(key), "datasets/sha256/%s", hex);
	if (hoist_artifact_exists(stager->store, key, &found, err))
		return -1;
	if (!found) {
		struct hoist_cli_progress progress;
		char verb[300];
		int failed;

		snprintf(verb, sizeof(verb), "uploading %s:", rel);
		hoist_cli_progress_init(&progress, stderr, verb, size,
					stager->quiet ||
					size < STAGE_PROGRESS_MIN_BYTES);
		hoist_cli_progress_attach(stager->store, &progress);
		failed = upload_file(stager, path, owned, key, hex, size, err);
		hoist_cli_progress_detach(stager->store);
		if (!failed)
			hoist_cli_progress_show(&progress, 1);
		hoist_cli_progress_finish(&progress);
		if (failed)
			return -1;
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
	if (hoist_artifact_exists(store, key, &found, err))
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

/* Stages the regular files below the local folder from. */
static int stage_local_files(struct stager *stager, const char *from,
			     json_t *files, struct stage_counts *counts,
			     struct hoist_err *err)
{
	struct file_list list = { 0 };
	char path[PATH_MAX];
	int rc = -1;

	if (walk_input(from, "", &list, err))
		goto out;
	qsort(list.paths, list.count, sizeof(*list.paths), compare_paths);
	for (size_t i = 0; i < list.count; i++) {
		snprintf(path, sizeof(path), "%s/%s", from, list.paths[i]);
		if (stage_file(stager, path, 0, list.paths[i], files, counts,
			       err))
			goto out;
	}
	rc = 0;
out:
	file_list_release(&list);
	return rc;
}

/* The state of the listing of an s3:// input. */
struct source_listing {
	const char *url;
	struct file_list *list;
	struct hoist_err *err;
	int failed;
};

/* Adds one key of an s3:// input to the list, as a relative path. */
static int note_source_key(const char *key, uint64_t size, void *arg)
{
	struct source_listing *listing = arg;
	size_t len = strlen(key);

	(void)size;
	/* Folder markers of consoles and sync tools contain no data. */
	if (len > 0 && key[len - 1] == '/')
		return 0;
	if (!hoist_artifact_key_valid(key)) {
		hoist_err_set(listing->err, HOIST_E_INVALID, "object '%s' "
			      "gives no valid relative path because the path "
			      "%s; rename or remove the object", key,
			      hoist_artifact_key_error(key));
		listing->failed = 1;
		return 1;
	}
	if (file_list_add(listing->list, key, listing->url, listing->err)) {
		listing->failed = 1;
		return 1;
	}
	return 0;
}

/* Adds a hint for the usual causes to err after a failed listing. */
static void explain_listing_error(struct hoist_err *err)
{
	if (err->code == HOIST_E_NOT_FOUND && strstr(err->msg, "NoSuchBucket"))
		hoist_err_prefix(err, "the bucket does not exist; check the "
				 "bucket name, endpoint and region");
	else if (strstr(err->msg, "HTTP 403"))
		hoist_err_prefix(err, "access denied; check that your AWS "
				 "credentials may list and read the bucket");
	else
		hoist_err_prefix(err, "cannot list the objects");
}

/*
 * Checks that no path of the sorted list is also a folder of another path,
 * such as "a" next to "a/b", because the agent could not restore both.
 */
static int check_file_folder_clash(const struct file_list *list,
				   struct hoist_err *err)
{
	for (size_t i = 0; i < list->count; i++) {
		const char *path = list->paths[i];

		for (const char *slash = strchr(path, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			char folder[HOIST_ARTIFACT_KEY_MAX + 1];
			const char *key = folder;
			size_t len = (size_t)(slash - path);

			memcpy(folder, path, len);
			folder[len] = '\0';
			if (bsearch(&key, list->paths, list->count,
				    sizeof(*list->paths), compare_paths))
				return hoist_err_set(err, HOIST_E_INVALID,
						     "objects '%s' and '%s' "
						     "cannot both be restored, "
						     "because the first is a "
						     "folder of the second; "
						     "rename one of them",
						     folder, path);
		}
	}
	return 0;
}

/*
 * Stages the objects below the s3:// URL from: lists them with the user's
 * own credentials, then downloads each to the temporary folder, stages it
 * and deletes the download.  An empty prefix is an error, because a job
 * whose input is empty almost always names the wrong prefix.
 */
static int stage_s3_objects(struct stager *stager, const char *from,
			    json_t *files, struct stage_counts *counts,
			    struct hoist_err *err)
{
	struct hoist_artifact_store *source = NULL;
	struct file_list list = { 0 };
	struct source_listing listing = { from, &list, err, 0 };
	char download[PATH_MAX + 16];
	int rc = -1;

	download[0] = '\0';
	if (hoist_artifact_open(from, &source, err)) {
		if (err->code == HOIST_E_NOT_FOUND)
			hoist_err_prefix(err, "reading the source needs "
					 "your own AWS credentials");
		goto out;
	}
	if (source->ops->list(source, "", note_source_key, &listing, err)) {
		explain_listing_error(err);
		goto out;
	}
	if (listing.failed)
		goto out;
	if (list.count == 0) {
		hoist_err_set(err, HOIST_E_NOT_FOUND, "found no objects below "
			      "the prefix; check the bucket and prefix (S3 "
			      "keys are case-sensitive)");
		goto out;
	}
	qsort(list.paths, list.count, sizeof(*list.paths), compare_paths);
	if (check_file_folder_clash(&list, err) ||
	    scratch_path(stager, SCRATCH_DOWNLOAD, download, sizeof(download),
			 err))
		goto out;
	for (size_t i = 0; i < list.count; i++) {
		/* NOTE: the store normalizes keys to Unicode NFC, so an
		 * object whose key is stored in another normal form is not
		 * found here. */
		if (source->ops->get_file(source, list.paths[i], download,
					  err)) {
			hoist_err_prefix(err, "cannot download '%s'",
					 list.paths[i]);
			goto out;
		}
		if (stage_file(stager, download, 1, list.paths[i], files,
			       counts, err))
			goto out;
		unlink(download);
	}
	rc = 0;
out:
	if (download[0])
		unlink(download);
	hoist_artifact_close(source);
	file_list_release(&list);
	return rc;
}

static int stage_input(struct stager *stager, json_t *input, int quiet,
		       struct hoist_err *err)
{
	const char *from = json_string_value(json_object_get(input, "from"));
	const char *to = json_string_value(json_object_get(input, "to"));
	struct stage_counts counts = { 0 };
	json_t *files = json_array();
	int failed, rc = -1;
	/* Messages show an s3:// source without its ?options. */
	int from_len = (int)(strncmp(from, "s3://", 5) == 0 ?
			  strcspn(from, "?") : strlen(from));

	if (!files)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (strncmp(from, "s3://", 5) == 0)
		failed = stage_s3_objects(stager, from, files, &counts, err);
	else
		failed = stage_local_files(stager, from, files, &counts, err);
	if (failed || stage_manifest(stager->store, files, input, &counts,
				     err))
		goto out;
	if (!quiet)
		fprintf(stderr, "staged input %.*s -> %s: %zu file%s, %llu "
			"byte%s; uploaded %zu new object%s (%llu byte%s)\n",
			from_len, from, to, counts.files,
			counts.files == 1 ? "" : "s",
			(unsigned long long)counts.bytes,
			counts.bytes == 1 ? "" : "s", counts.uploaded,
			counts.uploaded == 1 ? "" : "s",
			(unsigned long long)counts.uploaded_bytes,
			counts.uploaded_bytes == 1 ? "" : "s");
	rc = 0;
out:
	if (rc)
		hoist_err_prefix(err, "cannot stage input '%.*s'", from_len,
				 from);
	json_decref(files);
	return rc;
}

int hoist_cli_stage_inputs(struct hoist_cli_client *client, json_t *spec,
			   int quiet, struct hoist_err *err)
{
	json_t *inputs = json_object_get(spec, "inputs");
	struct stager stager = { 0 };
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
	}
	if (hoist_cli_storage_open(client, NULL, &presign, &stager.store, err))
		return -1;
	stager.quiet = quiet;
	json_array_foreach(inputs, i, input)
		if (stage_input(&stager, input, quiet, err))
			goto out;
	rc = 0;
out:
	stager_release(&stager);
	hoist_artifact_close(stager.store);
	return rc;
}
