/*
 * checkpoint.c - the manifest-last checkpoint protocol.
 *
 * Upload: every file of the folder is stored under <prefix>files/, hashed
 * while it is copied, and only then is <prefix>manifest.json written.  A
 * manifest therefore never names a file that was not stored whole first.
 * Restore: the manifest is fetched, checked against the digest that hoistd
 * recorded, parsed strictly, and each file is fetched and verified against
 * its size and SHA-256.  A checkpoint that lacks its manifest, or whose
 * files are missing or altered, never restores successfully.
 */
#include "storage/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/util.h"
#include "storage/crc32c.h"
#include "storage/digest.h"

#define MANIFEST_NAME "manifest.json"
#define FILES_FOLDER "files/"

const char *hoist_checkpoint_job_id_error(const char *job_id)
{
	size_t len;

	if (!job_id || !*job_id)
		return "is empty";
	len = strlen(job_id);
	if (len > 63)
		return "is longer than 63 bytes";
	if (job_id[0] == '.')
		return "starts with '.'";
	for (size_t i = 0; i < len; i++) {
		char c = job_id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return "contains a character other than letters, "
			       "digits, '-', '_' and '.'";
	}
	return NULL;
}

int hoist_checkpoint_prefix(const char *job_id, int attempt, int64_t step,
			    char *out, size_t outlen, struct hoist_err *err)
{
	const char *reason = hoist_checkpoint_job_id_error(job_id);
	int n;

	if (reason)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid job id '%s': it %s",
				     job_id ? job_id : "(null)", reason);
	if (attempt < 1)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid attempt %d for job %s: attempts "
				     "count from 1", attempt, job_id);
	if (step < 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid step %lld for job %s: steps are "
				     "0 or more", (long long)step, job_id);
	n = snprintf(out, outlen, "jobs/%s/checkpoints/a%d-s%lld/", job_id,
		     attempt, (long long)step);
	if (n < 0 || (size_t)n >= outlen)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "checkpoint prefix of job %s does not fit "
				     "in %zu bytes", job_id, outlen);
	return 0;
}

/* Parses a non-negative decimal number without sign or leading zeros. */
static const char *parse_decimal(const char *text, long long *out)
{
	long long value = 0;
	const char *p = text;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (value > (LLONG_MAX - (*p - '0')) / 10)
			return NULL;
		value = value * 10 + (*p - '0');
	}
	*out = value;
	return p;
}

/*
 * Checks that key is exactly "jobs/<job>/checkpoints/a<N>-s<M>/manifest.json"
 * and stores the checkpoint prefix (up to the last '/') in prefix.  This
 * keeps a malformed key such as "jobs/manifest.json" from making a remove
 * delete everything under "jobs/".
 */
static int split_manifest_key(const char *key, char *prefix,
			      size_t prefix_len, struct hoist_err *err)
{
	char job[64];
	char canonical[HOIST_ARTIFACT_KEY_MAX + 1];
	struct hoist_err ignored = HOIST_ERR_INIT;
	const char *p;
	const char *slash;
	long long attempt;
	long long step;
	size_t len;

	if (!key || hoist_artifact_key_error(key))
		goto bad;
	if (strncmp(key, "jobs/", 5) != 0)
		goto bad;
	p = key + 5;
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= sizeof(job))
		goto bad;
	memcpy(job, p, (size_t)(slash - p));
	job[slash - p] = '\0';
	p = slash + 1;
	if (strncmp(p, "checkpoints/a", 13) != 0)
		goto bad;
	p = parse_decimal(p + 13, &attempt);
	if (!p || strncmp(p, "-s", 2) != 0 || attempt > INT_MAX)
		goto bad;
	p = parse_decimal(p + 2, &step);
	if (!p || strcmp(p, "/" MANIFEST_NAME) != 0)
		goto bad;
	if (hoist_checkpoint_prefix(job, (int)attempt, step, canonical,
				    sizeof(canonical), &ignored))
		goto bad;
	len = strlen(canonical);
	if (strncmp(key, canonical, len) != 0 || len >= prefix_len)
		goto bad;
	memcpy(prefix, canonical, len + 1);
	return 0;
bad:
	return hoist_err_set(err, HOIST_E_INVALID,
			     "invalid checkpoint manifest key '%s': expected "
			     "jobs/<job>/checkpoints/a<attempt>-s<step>/"
			     MANIFEST_NAME, key ? key : "(null)");
}

/* The relative paths of the files of a checkpoint folder. */
struct path_list {
	char **paths;
	size_t count;
	size_t cap;
};

static void path_list_release(struct path_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->paths[i]);
	free(list->paths);
	memset(list, 0, sizeof(*list));
}

static int path_list_add(struct path_list *list, const char *path,
			 struct hoist_err *err)
{
	if (list->count == HOIST_MANIFEST_MAX_FILES)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the folder has more than %d files, the "
				     "limit of one checkpoint",
				     HOIST_MANIFEST_MAX_FILES);
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		char **paths = realloc(list->paths, cap * sizeof(*paths));

		if (!paths)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory listing files");
		list->paths = paths;
		list->cap = cap;
	}
	list->paths[list->count] = strdup(path);
	if (!list->paths[list->count])
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory listing files");
	list->count++;
	return 0;
}

/*
 * Adds the regular files below root/rel to list, recursively.  rel is ""
 * or ends with '/'.  Symbolic links and special files are rejected: a
 * checkpoint is plain data, and following a link could upload files from
 * outside the folder.
 */
static int collect_files(const char *root, char *rel, size_t rel_len,
			 struct path_list *list, struct hoist_err *err)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *dir;
	int rc = -1;

	if (snprintf(path, sizeof(path), "%s/%.*s", root, (int)rel_len, rel) >=
	    (int)sizeof(path))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "path '%s/%s' is too long", root, rel);
	dir = opendir(path);
	if (!dir)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot open folder '%s': %s",
				     path, strerror(errno));
	for (;;) {
		const char *reason;
		struct stat st;
		size_t name_len;

		errno = 0;
		entry = readdir(dir);
		if (!entry) {
			if (errno == 0)
				break;
			hoist_err_set(err, HOIST_E_IO,
				      "cannot read folder '%s': %s", path,
				      strerror(errno));
			goto out;
		}
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		name_len = strlen(entry->d_name);
		if (rel_len + name_len + 1 > HOIST_ARTIFACT_KEY_MAX) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "path '%.*s%s' is longer than %d bytes",
				      (int)rel_len, rel, entry->d_name,
				      HOIST_ARTIFACT_KEY_MAX);
			goto out;
		}
		memcpy(rel + rel_len, entry->d_name, name_len + 1);
		if (fstatat(dirfd(dir), entry->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) != 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot stat '%s%s': %s",
				      path, entry->d_name, strerror(errno));
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "'%s' is a symbolic link; a checkpoint "
				      "holds regular files only, so copy the "
				      "target into the folder", rel);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			rel[rel_len + name_len] = '/';
			rel[rel_len + name_len + 1] = '\0';
			if (collect_files(root, rel, rel_len + name_len + 1,
					  list, err))
				goto out;
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "'%s' is a special file (socket, pipe or "
				      "device); a checkpoint holds regular "
				      "files only", rel);
			goto out;
		}
		reason = hoist_artifact_key_error(rel);
		if (reason) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "file name '%s' cannot be stored: it %s",
				      rel, reason);
			goto out;
		}
		if (path_list_add(list, rel, err))
			goto out;
	}
	rc = 0;
out:
	closedir(dir);
	return rc;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Handles an upload whose manifest already exists.  When the stored
 * manifest lists exactly the files of the folder (same paths, sizes and
 * SHA-256), the upload already happened and info describes it, so a retry
 * after a lost reply succeeds.  Any difference is a conflict, because a
 * manifest that hoistd may have committed must never change.
 */
static int match_existing(struct hoist_artifact_store *store,
			  const char *manifest_key, const char *dir,
			  const struct path_list *list,
			  struct hoist_checkpoint_info *info,
			  struct hoist_err *err)
{
	struct hoist_manifest existing;
	struct hoist_buf text;
	char path[PATH_MAX];
	char sha256[65];
	uint64_t bytes = 0;
	int rc = -1;

	memset(&existing, 0, sizeof(existing));
	hoist_buf_init(&text, HOIST_MANIFEST_MAX_BYTES);
	if (store->ops->get_bytes(store, manifest_key, &text, err) ||
	    hoist_manifest_parse(hoist_buf_str(&text), text.len, &existing,
				 err))
		goto out;
	if (existing.nfiles != list->count)
		goto conflict;
	for (size_t i = 0; i < list->count; i++) {
		const struct hoist_manifest_file *file = &existing.files[i];
		uint64_t size = 0;

		if (strcmp(file->path, list->paths[i]) != 0)
			goto conflict;
		if (snprintf(path, sizeof(path), "%s/%s", dir, file->path) >=
		    (int)sizeof(path)) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "path '%s/%s' is too long", dir,
				      file->path);
			goto out;
		}
		if (existing.format == 1) {
			if (hoist_digest_file(path, &size, sha256, err))
				goto out;
			if (size != file->size ||
			    strcmp(sha256, file->sha256) != 0)
				goto conflict;
		} else {
			uint32_t crc = 0;

			if (hoist_crc32c_file(path, &size, &crc, err))
				goto out;
			if (size != file->size || crc != file->crc32c)
				goto conflict;
		}
		bytes += size;
	}
	memset(info, 0, sizeof(*info));
	info->step = existing.step;
	memcpy(info->manifest_key, manifest_key, strlen(manifest_key) + 1);
	hoist_util_sha256_hex(hoist_buf_str(&text), text.len,
			      info->manifest_sha256);
	info->files = existing.nfiles;
	info->bytes = bytes;
	rc = 0;
	goto out;
conflict:
	hoist_err_set(err, HOIST_E_CONFLICT,
		      "manifest '%s' already exists and lists other files; a "
		      "checkpoint is never overwritten, so upload this folder "
		      "as a new step", manifest_key);
out:
	hoist_manifest_release(&existing);
	hoist_buf_release(&text);
	return rc;
}

/* Stores each listed file under prefix/files/ and records it in manifest,
 * which takes ownership of the paths. */
static int upload_files(struct hoist_artifact_store *store,
			const char *prefix, const char *dir,
			struct path_list *list, struct hoist_manifest *manifest,
			uint64_t *bytes, struct hoist_err *err)
{
	char key[HOIST_ARTIFACT_KEY_MAX + 1];
	char path[PATH_MAX];

	manifest->files = calloc(list->count ? list->count : 1,
				 sizeof(*manifest->files));
	if (!manifest->files)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory for %zu manifest files",
				     list->count);
	for (size_t i = 0; i < list->count; i++) {
		struct hoist_manifest_file *file = &manifest->files[i];

		file->path = list->paths[i];
		list->paths[i] = NULL;
		manifest->nfiles = i + 1;
		if (snprintf(key, sizeof(key), "%s" FILES_FOLDER "%s", prefix,
			     file->path) >= (int)sizeof(key))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "file '%s' makes the object key "
					     "longer than %d bytes", file->path,
					     HOIST_ARTIFACT_KEY_MAX);
		if (snprintf(path, sizeof(path), "%s/%s", dir, file->path) >=
		    (int)sizeof(path))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "path '%s/%s' is too long", dir,
					     file->path);
		if (hoist_artifact_put_file_crc32c(store, key, path,
						   &file->size, &file->crc32c,
						   err))
			return -1;
		*bytes += file->size;
	}
	return 0;
}

int hoist_checkpoint_upload(struct hoist_artifact_store *store,
			    const char *job_id, int attempt, int64_t step,
			    const char *dir, struct hoist_checkpoint_info *info,
			    struct hoist_err *err)
{
	struct hoist_manifest manifest;
	struct path_list list = { NULL, 0, 0 };
	struct hoist_buf text;
	char prefix[HOIST_ARTIFACT_KEY_MAX + 1];
	char manifest_key[sizeof(info->manifest_key)];
	char *rel = NULL;
	uint64_t bytes = 0;
	int found = 0;
	int rc = -1;

	memset(&manifest, 0, sizeof(manifest));
	hoist_buf_init(&text, HOIST_MANIFEST_MAX_BYTES);
	if (hoist_checkpoint_prefix(job_id, attempt, step, prefix,
				    sizeof(prefix), err))
		return -1;
	if (snprintf(manifest_key, sizeof(manifest_key), "%s" MANIFEST_NAME,
		     prefix) >= (int)sizeof(manifest_key))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "manifest key of job %s is too long",
				     job_id);
	if (!dir || !*dir)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "checkpoint folder of job %s is empty",
				     job_id);

	rel = malloc(HOIST_ARTIFACT_KEY_MAX + NAME_MAX + 2);
	if (!rel) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	rel[0] = '\0';
	if (collect_files(dir, rel, 0, &list, err))
		goto out;
	qsort(list.paths, list.count, sizeof(*list.paths), compare_strings);

	if (hoist_artifact_exists(store, manifest_key, &found, err))
		goto out;
	if (found) {
		rc = match_existing(store, manifest_key, dir, &list, info, err);
		goto out;
	}

	memcpy(manifest.job_id, job_id, strlen(job_id) + 1);
	manifest.attempt = attempt;
	manifest.step = step;
	hoist_clock_format_ms(hoist_clock_now_ms(), manifest.created_at,
			      sizeof(manifest.created_at));
	if (upload_files(store, prefix, dir, &list, &manifest, &bytes, err))
		goto out;

	/* The manifest goes last: its presence means every file is stored. */
	if (hoist_manifest_format(&manifest, &text, err))
		goto out;
	if (store->ops->put_bytes(store, manifest_key, text.data, text.len,
				  err))
		goto out;

	memset(info, 0, sizeof(*info));
	info->step = step;
	memcpy(info->manifest_key, manifest_key, strlen(manifest_key) + 1);
	hoist_util_sha256_hex(text.data, text.len, info->manifest_sha256);
	info->files = manifest.nfiles;
	info->bytes = bytes;
	rc = 0;
out:
	if (rc)
		hoist_err_prefix(err, "uploading checkpoint '%s' of job %s "
				 "(step %lld) to '%s'", dir, job_id,
				 (long long)step, store->url);
	hoist_manifest_release(&manifest);
	path_list_release(&list);
	hoist_buf_release(&text);
	free(rel);
	return rc;
}

/* Creates dir if missing and deletes everything inside it. */
static int prepare_target(const char *dir, struct hoist_err *err)
{
	char path[PATH_MAX];
	struct dirent *entry;
	struct stat st;
	DIR *folder;
	int rc = 0;

	if (!dir || !*dir || !strcmp(dir, "/"))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid restore folder '%s'; name a "
				     "folder of its own",
				     dir ? dir : "(null)");
	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot stat '%s': %s", dir,
					     strerror(errno));
		return hoist_util_mkdir_p(dir, 0777, err);
	}
	if (!S_ISDIR(st.st_mode))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "restore folder '%s' exists and is not a "
				     "folder", dir);
	folder = opendir(dir);
	if (!folder)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot open folder '%s': %s", dir,
				     strerror(errno));
	while ((entry = readdir(folder)) != NULL) {
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name) >=
		    (int)sizeof(path)) {
			rc = hoist_err_set(err, HOIST_E_INVALID,
					   "path in '%s' is too long", dir);
			break;
		}
		rc = hoist_util_remove_tree(path, err);
		if (rc)
			break;
	}
	closedir(folder);
	return rc;
}

/* Fetches one file of the manifest into dir and verifies it. */
static int restore_file(struct hoist_artifact_store *store,
			const char *prefix, const char *dir, int format,
			const struct hoist_manifest_file *file,
			struct hoist_err *err)
{
	char key[HOIST_ARTIFACT_KEY_MAX + 1];
	char path[PATH_MAX];
	char want[65], got[65];
	struct hoist_err fetch = HOIST_ERR_INIT;
	uint64_t size = 0;
	uint32_t crc = 0;
	char *slash;
	int rc;

	if (snprintf(key, sizeof(key), "%s" FILES_FOLDER "%s", prefix,
		     file->path) >= (int)sizeof(key))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "file '%s' makes the object key longer "
				     "than %d bytes", file->path,
				     HOIST_ARTIFACT_KEY_MAX);
	if (snprintf(path, sizeof(path), "%s/%s", dir, file->path) >=
	    (int)sizeof(path))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "path '%s/%s' is too long", dir,
				     file->path);
	slash = strrchr(path, '/');
	*slash = '\0';
	if (hoist_util_mkdir_p(path, 0777, err))
		return -1;
	*slash = '/';

	if (format == 1)
		rc = hoist_artifact_get_file_sha256(store, key, path, &size,
						    got, &fetch);
	else
		rc = hoist_artifact_get_file_crc32c(store, key, path, &size,
						    &crc, &fetch);
	if (rc) {
		if (fetch.code == HOIST_E_NOT_FOUND)
			return hoist_err_set(err, HOIST_E_INTEGRITY,
					     "checkpoint file '%s' is missing: "
					     "object '%s' not found",
					     file->path, key);
		return hoist_err_set(err, fetch.code, "%s", fetch.msg);
	}
	if (format == 1) {
		snprintf(want, sizeof(want), "%s", file->sha256);
	} else {
		hoist_crc32c_format(file->crc32c, want);
		hoist_crc32c_format(crc, got);
	}
	if (size != file->size || strcmp(got, want) != 0) {
		unlink(path);
		return hoist_err_set(err, HOIST_E_INTEGRITY,
				     "checkpoint file '%s' is corrupt: the "
				     "manifest expects %llu bytes with %s %s, "
				     "the store holds %llu bytes with %s %s",
				     file->path,
				     (unsigned long long)file->size,
				     format == 1 ? "sha256" : "crc32c", want,
				     (unsigned long long)size,
				     format == 1 ? "sha256" : "crc32c", got);
	}
	return 0;
}

/* Fetches, authenticates and parses the manifest at manifest_key. */
static int load_manifest(struct hoist_artifact_store *store,
			 const char *manifest_key, const char *prefix,
			 const char *expected_sha256,
			 struct hoist_manifest *manifest,
			 struct hoist_err *err)
{
	char own_prefix[HOIST_ARTIFACT_KEY_MAX + 1];
	char sha256[65];
	struct hoist_err fetch = HOIST_ERR_INIT;
	struct hoist_buf text;
	int rc = -1;

	hoist_buf_init(&text, HOIST_MANIFEST_MAX_BYTES);
	if (store->ops->get_bytes(store, manifest_key, &text, &fetch)) {
		if (fetch.code == HOIST_E_NOT_FOUND)
			hoist_err_set(err, HOIST_E_NOT_FOUND,
				      "manifest '%s' not found: the checkpoint "
				      "was never completed or was removed",
				      manifest_key);
		else
			hoist_err_set(err, fetch.code, "%s", fetch.msg);
		goto out;
	}
	hoist_util_sha256_hex(hoist_buf_str(&text), text.len, sha256);
	if (expected_sha256 && *expected_sha256 &&
	    strcmp(sha256, expected_sha256) != 0) {
		hoist_err_set(err, HOIST_E_INTEGRITY,
			      "manifest '%s' has sha256 %s but the recorded "
			      "commit expects %s", manifest_key, sha256,
			      expected_sha256);
		goto out;
	}
	if (hoist_manifest_parse(hoist_buf_str(&text), text.len, manifest,
				 err)) {
		hoist_err_prefix(err, "manifest '%s'", manifest_key);
		goto out;
	}
	/* A manifest copied from another checkpoint must not restore here. */
	if (hoist_checkpoint_prefix(manifest->job_id, manifest->attempt,
				    manifest->step, own_prefix,
				    sizeof(own_prefix), err))
		goto out;
	if (strcmp(own_prefix, prefix) != 0) {
		hoist_err_set(err, HOIST_E_INTEGRITY,
			      "manifest '%s' describes job %s attempt %d step "
			      "%lld, which belongs under '%s'", manifest_key,
			      manifest->job_id, manifest->attempt,
			      (long long)manifest->step, own_prefix);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		hoist_manifest_release(manifest);
	hoist_buf_release(&text);
	return rc;
}

int hoist_checkpoint_restore(struct hoist_artifact_store *store,
			     const char *manifest_key,
			     const char *manifest_sha256, const char *dir,
			     int64_t *step_out, struct hoist_err *err)
{
	char prefix[HOIST_ARTIFACT_KEY_MAX + 1];
	struct hoist_manifest manifest;
	int rc = -1;

	memset(&manifest, 0, sizeof(manifest));
	if (split_manifest_key(manifest_key, prefix, sizeof(prefix), err))
		goto out;
	if (manifest_sha256 && *manifest_sha256 &&
	    !hoist_digest_hex_valid(manifest_sha256)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "expected manifest sha256 '%s' is not 64 "
			      "lowercase hex characters", manifest_sha256);
		goto out;
	}
	if (load_manifest(store, manifest_key, prefix, manifest_sha256,
			  &manifest, err))
		goto out;
	if (prepare_target(dir, err))
		goto out;
	for (size_t i = 0; i < manifest.nfiles; i++) {
		if (restore_file(store, prefix, dir, manifest.format,
				 &manifest.files[i], err))
			goto out;
	}
	if (step_out)
		*step_out = manifest.step;
	rc = 0;
out:
	if (rc)
		hoist_err_prefix(err, "restoring checkpoint '%s' from '%s' "
				 "into '%s'", manifest_key ? manifest_key : "",
				 store->url, dir ? dir : "");
	hoist_manifest_release(&manifest);
	return rc;
}

int hoist_checkpoint_remove(struct hoist_artifact_store *store,
			    const char *manifest_key, struct hoist_err *err)
{
	char prefix[HOIST_ARTIFACT_KEY_MAX + 1];

	if (split_manifest_key(manifest_key, prefix, sizeof(prefix), err))
		return -1;
	if (store->ops->remove(store, manifest_key, err) ||
	    hoist_artifact_remove_prefix(store, prefix, err)) {
		hoist_err_prefix(err, "removing checkpoint '%s'", manifest_key);
		return -1;
	}
	return 0;
}
