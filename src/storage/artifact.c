/*
 * artifact.c - opening artifact stores by URL, key validation and the
 * operations built on top of the back-end operation table.
 */
#include "storage/artifact.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage/crc32c.h"
#include "storage/digest.h"
#include "storage/file_store.h"
#include "storage/s3.h"

#define ACCEPTED_FORMS "file:///absolute/folder or s3://bucket/prefix"
/* Keys deleted per listing round of hoist_artifact_remove_prefix(). */
#define REMOVE_BATCH 1024

static int has_control_char(const char *text)
{
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 1;
	}
	return 0;
}

int hoist_artifact_open(const char *url, struct hoist_artifact_store **out,
			struct hoist_err *err)
{
	const char *scheme_end;
	const char *path;

	*out = NULL;
	if (!url || !*url)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "artifact store URL is empty; use "
				     ACCEPTED_FORMS);
	if (strlen(url) >= sizeof((*out)->url))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "artifact store URL '%.64s...' is longer "
				     "than %zu bytes", url,
				     sizeof((*out)->url) - 1);
	if (has_control_char(url))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "artifact store URL '%s' contains a control "
				     "character", url);

	if (strncasecmp(url, "file://", 7) == 0) {
		path = url + 7;
		if (strncasecmp(path, "localhost/", 10) == 0)
			path += 9;
		if (path[0] != '/')
			return hoist_err_set(err, HOIST_E_INVALID,
					     "artifact store URL '%s' does not "
					     "name an absolute local folder; use "
					     ACCEPTED_FORMS " (three slashes)",
					     url);
		return hoist_file_store_open(path, url, out, err);
	}
	if (strncasecmp(url, "s3://", 5) == 0)
		return hoist_s3_open(url, out, err);
	scheme_end = strstr(url, "://");
	if (scheme_end)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "artifact store URL '%s' has the "
				     "unsupported scheme '%.*s'; the accepted "
				     "form is " ACCEPTED_FORMS, url,
				     (int)(scheme_end - url), url);
	return hoist_err_set(err, HOIST_E_INVALID,
			     "artifact store URL '%s' is not a URL; use "
			     ACCEPTED_FORMS " (for example "
			     "file:///var/lib/hoist/artifacts)", url);
}

void hoist_artifact_close(struct hoist_artifact_store *store)
{
	if (store)
		store->ops->close(store);
}

const char *hoist_artifact_key_error(const char *key)
{
	const char *segment;
	size_t len;

	if (!key)
		return "is missing";
	len = strlen(key);
	if (len == 0)
		return "is empty";
	if (len > HOIST_ARTIFACT_KEY_MAX)
		return "is longer than 1024 bytes";
	if (has_control_char(key))
		return "contains a control character";
	if (key[0] == '/')
		return "starts with '/'";
	segment = key;
	for (;;) {
		const char *slash = strchr(segment, '/');
		size_t n = slash ? (size_t)(slash - segment) : strlen(segment);

		if (n == 0)
			return "contains an empty segment ('//' or a trailing "
			       "'/')";
		if ((n == 1 && segment[0] == '.') ||
		    (n == 2 && segment[0] == '.' && segment[1] == '.'))
			return "contains a '.' or '..' segment";
		if (!slash)
			return NULL;
		segment = slash + 1;
	}
}

int hoist_artifact_key_valid(const char *key)
{
	return hoist_artifact_key_error(key) == NULL;
}

struct key_batch {
	char *keys[REMOVE_BATCH];
	size_t count;
	int nomem;
};

static int collect_key(const char *key, uint64_t size, void *arg)
{
	struct key_batch *batch = arg;

	(void)size;
	batch->keys[batch->count] = strdup(key);
	if (!batch->keys[batch->count]) {
		batch->nomem = 1;
		return 1;
	}
	batch->count++;
	return batch->count == REMOVE_BATCH;
}

static void batch_release(struct key_batch *batch)
{
	for (size_t i = 0; i < batch->count; i++)
		free(batch->keys[i]);
	batch->count = 0;
}

int hoist_artifact_remove_prefix(struct hoist_artifact_store *store,
				 const char *prefix, struct hoist_err *err)
{
	char folder[HOIST_ARTIFACT_KEY_MAX + 1];
	struct key_batch *batch;
	const char *reason;
	size_t len = prefix ? strlen(prefix) : 0;
	int rc = -1;

	if (len < 2 || prefix[len - 1] != '/' || len > HOIST_ARTIFACT_KEY_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid prefix '%s' to remove: it must be "
				     "a key folder ending with '/', such as "
				     "'jobs/j-1/'", prefix ? prefix : "(null)");
	memcpy(folder, prefix, len - 1);
	folder[len - 1] = '\0';
	reason = hoist_artifact_key_error(folder);
	if (reason)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid prefix '%s' to remove: it %s",
				     prefix, reason);

	batch = calloc(1, sizeof(*batch));
	if (!batch)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory removing '%s'", prefix);
	/* Deleting from the listing callback would prune folders that the
	 * file:// walk is still reading, so each round lists up to
	 * REMOVE_BATCH keys first and then deletes them. */
	for (;;) {
		if (store->ops->list(store, prefix, collect_key, batch, err))
			goto out;
		if (batch->nomem) {
			hoist_err_set(err, HOIST_E_NOMEM,
				      "out of memory listing '%s'", prefix);
			goto out;
		}
		if (batch->count == 0)
			break;
		for (size_t i = 0; i < batch->count; i++) {
			if (store->ops->remove(store, batch->keys[i], err))
				goto out;
		}
		batch_release(batch);
	}
	rc = 0;
out:
	if (rc)
		hoist_err_prefix(err, "removing '%s' from '%s'", prefix,
				 store->url);
	batch_release(batch);
	free(batch);
	return rc;
}

int hoist_artifact_put_file_sha256(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, char sha256[65],
				   struct hoist_err *err)
{
	if (store->ops->put_file_sha256)
		return store->ops->put_file_sha256(store, key, path, size,
						   sha256, err);
	if (hoist_digest_file(path, size, sha256, err))
		return -1;
	return store->ops->put_file(store, key, path, err);
}

int hoist_artifact_get_file_sha256(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, char sha256[65],
				   struct hoist_err *err)
{
	if (store->ops->get_file_sha256)
		return store->ops->get_file_sha256(store, key, path, size,
						   sha256, err);
	if (store->ops->get_file(store, key, path, err))
		return -1;
	return hoist_digest_file(path, size, sha256, err);
}

int hoist_artifact_put_file_crc32c(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, uint32_t *crc32c,
				   struct hoist_err *err)
{
	if (store->ops->put_file_crc32c)
		return store->ops->put_file_crc32c(store, key, path, size,
						   crc32c, err);
	if (hoist_crc32c_file(path, size, crc32c, err))
		return -1;
	return store->ops->put_file(store, key, path, err);
}

int hoist_artifact_get_file_crc32c(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, uint32_t *crc32c,
				   struct hoist_err *err)
{
	if (store->ops->get_file_crc32c)
		return store->ops->get_file_crc32c(store, key, path, size,
						   crc32c, err);
	if (store->ops->get_file(store, key, path, err))
		return -1;
	return hoist_crc32c_file(path, size, crc32c, err);
}

struct exists_probe {
	const char *key;
	int found;
};

static int match_key(const char *key, uint64_t size, void *arg)
{
	struct exists_probe *probe = arg;

	(void)size;
	if (strcmp(key, probe->key) == 0) {
		probe->found = 1;
		return 1;
	}
	return 0;
}

int hoist_artifact_exists(struct hoist_artifact_store *store, const char *key,
			  int *found, struct hoist_err *err)
{
	struct exists_probe probe = { key, 0 };

	if (store->ops->list(store, key, match_key, &probe, err))
		return -1;
	*found = probe.found;
	return 0;
}
