/*
 * artifact.h - the artifact store interface: checkpoints, logs, metrics and
 * final outputs live in it as objects named by keys ("jobs/<job>/...").
 *
 * Back ends: "file:///abs/dir" (file.c) and "s3://bucket/prefix" (s3.c,
 * docs/s3.md), behind the same operations.  A store object may be used by
 * one thread at a time, and several processes may share one file:// root.
 * Keys are relative, use '/' as separator, and never
 * contain "..", an empty segment or a leading '/'; hoist_artifact_key_valid()
 * is the one check.  All functions return 0 on success and -1 with err set.
 */
#ifndef HOIST_ARTIFACT_H
#define HOIST_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define HOIST_ARTIFACT_KEY_MAX 1024	/* bytes, without the NUL */

struct hoist_artifact_store;

/* Called once per key found by list; a nonzero return stops the listing. */
typedef int (*hoist_artifact_list_cb)(const char *key, uint64_t size,
				      void *arg);

struct hoist_artifact_ops {
	const char *scheme;
	/* Stores the file at path under key; the object appears whole or
	 * not at all. */
	int (*put_file)(struct hoist_artifact_store *store, const char *key,
			const char *path, struct hoist_err *err);
	int (*put_bytes)(struct hoist_artifact_store *store, const char *key,
			 const void *data, size_t len, struct hoist_err *err);
	/* Writes the object to path (replacing it atomically). */
	int (*get_file)(struct hoist_artifact_store *store, const char *key,
			const char *path, struct hoist_err *err);
	/* Appends the object to buf; fails if it exceeds buf->max. */
	int (*get_bytes)(struct hoist_artifact_store *store, const char *key,
			 struct hoist_buf *buf, struct hoist_err *err);
	/* Deletes one object; a missing key is success. */
	int (*remove)(struct hoist_artifact_store *store, const char *key,
		      struct hoist_err *err);
	/* Lists the keys that start with prefix, in no particular order.
	 * A callback that stops the listing is not an error (returns 0). */
	int (*list)(struct hoist_artifact_store *store, const char *prefix,
		    hoist_artifact_list_cb cb, void *arg,
		    struct hoist_err *err);
	void (*close)(struct hoist_artifact_store *store);
	/* Optional (NULL if the back end lacks them): put_file and get_file
	 * that also store the size and lowercase hex SHA-256 of the bytes
	 * copied, computed in the same pass as the copy.  Use them through
	 * hoist_artifact_put_file_sha256() and hoist_artifact_get_file_sha256(),
	 * which fall back to a second pass. */
	int (*put_file_sha256)(struct hoist_artifact_store *store,
			       const char *key, const char *path,
			       uint64_t *size, char sha256[65],
			       struct hoist_err *err);
	int (*get_file_sha256)(struct hoist_artifact_store *store,
			       const char *key, const char *path,
			       uint64_t *size, char sha256[65],
			       struct hoist_err *err);
	/* Optional: the same with the CRC-32C of the bytes copied.  Use them
	 * through hoist_artifact_put_file_crc32c() and
	 * hoist_artifact_get_file_crc32c(). */
	int (*put_file_crc32c)(struct hoist_artifact_store *store,
			       const char *key, const char *path,
			       uint64_t *size, uint32_t *crc32c,
			       struct hoist_err *err);
	int (*get_file_crc32c)(struct hoist_artifact_store *store,
			       const char *key, const char *path,
			       uint64_t *size, uint32_t *crc32c,
			       struct hoist_err *err);
};

/* Callback that receives the bytes a file transfer moved since the last
 * call.  The count is negative when a retry moves bytes again. */
typedef void (*hoist_artifact_progress_cb)(void *arg, int64_t bytes);

struct hoist_artifact_store {
	const struct hoist_artifact_ops *ops;
	char url[1024];		/* the URL it was opened with, without the
				 * ?options of an s3:// URL, for messages */
	/* Optional callback set by the caller.  The store calls it on the
	 * caller's thread while put_file, get_file and their checksum forms
	 * move bytes. */
	hoist_artifact_progress_cb progress;
	void *progress_arg;
};

/* Opens the store named by url; the caller closes it with
 * hoist_artifact_close().  Fails with HOIST_E_INVALID for an unknown scheme
 * or a malformed URL, naming the URL and the accepted forms.  Accepted:
 * "file:///abs/dir" and "file://localhost/abs/dir" (the path is used as
 * written, without percent-decoding; the folder is created if missing),
 * and "s3://bucket/optional/prefix?options" (see hoist_s3_config_parse()). */
int hoist_artifact_open(const char *url, struct hoist_artifact_store **out,
			struct hoist_err *err);
void hoist_artifact_close(struct hoist_artifact_store *store);

/* Returns 1 if key is a valid object key, 0 otherwise.  A valid key has
 * 1 to HOIST_ARTIFACT_KEY_MAX bytes, no control character, no leading '/',
 * no empty segment and no "." or ".." segment. */
int hoist_artifact_key_valid(const char *key);

/* Returns NULL if key is valid, else a static lowercase phrase that states
 * the reason, such as "contains a '..' segment", for error messages. */
const char *hoist_artifact_key_error(const char *key);

/* Sets *found to 1 if an object named exactly key exists, else 0.  The
 * stores have no HEAD operation, so this lists the keys that start with
 * key and stops at the match. */
int hoist_artifact_exists(struct hoist_artifact_store *store, const char *key,
			  int *found, struct hoist_err *err);

/* Deletes every object under prefix (which must end with '/').  The listing
 * is done in batches, so objects added under prefix meanwhile may remain. */
int hoist_artifact_remove_prefix(struct hoist_artifact_store *store,
				 const char *prefix, struct hoist_err *err);

/* Calls ops->put_file_sha256, or hashes path and then calls put_file when
 * the back end has no such op.  The two-pass fallback can store bytes that
 * differ from the digest if path changes meanwhile; a restore catches it. */
int hoist_artifact_put_file_sha256(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, char sha256[65],
				   struct hoist_err *err);

/* Calls ops->get_file_sha256, or get_file and then hashes the written file
 * when the back end has no such op. */
int hoist_artifact_get_file_sha256(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, char sha256[65],
				   struct hoist_err *err);

/* Calls ops->put_file_crc32c, or sums path and then calls put_file when
 * the back end has no such op.  That fallback has the two-pass caveat of
 * hoist_artifact_put_file_sha256(). */
int hoist_artifact_put_file_crc32c(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, uint32_t *crc32c,
				   struct hoist_err *err);

/* Calls ops->get_file_crc32c, or get_file and then sums the written file
 * when the back end has no such op. */
int hoist_artifact_get_file_crc32c(struct hoist_artifact_store *store,
				   const char *key, const char *path,
				   uint64_t *size, uint32_t *crc32c,
				   struct hoist_err *err);

#endif
