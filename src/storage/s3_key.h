/*
 * s3_key.h - object keys of the S3 back end: NFC normalization, the store
 * prefix, and request paths.  Private to src/storage.
 */
#ifndef HOIST_STORAGE_S3_KEY_H
#define HOIST_STORAGE_S3_KEY_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "storage/s3.h"

/*
 * Appends the Unicode NFC form of the UTF-8 text in (len bytes) to out.
 * Fails with HOIST_E_INVALID on malformed UTF-8 (overlong forms,
 * surrogates, code points above U+10FFFF), naming the byte offset.
 */
int s3_key_nfc(const char *in, size_t len, struct hoist_buf *out,
	       struct hoist_err *err);

/*
 * Builds the object key of artifact key: checks it with
 * hoist_artifact_key_error(), normalizes it to NFC and prepends the
 * store's prefix.  Every request of the S3 back end names its object
 * through this function.  out receives at most HOIST_S3_KEY_MAX bytes and
 * a NUL.
 */
int s3_key_build(const struct hoist_s3_config *cfg, const char *key,
		 char out[HOIST_S3_KEY_MAX + 1], struct hoist_err *err);

/* Like s3_key_build() for a listing prefix, which may be "" or end with
 * '/' or part of a segment. */
int s3_key_build_prefix(const struct hoist_s3_config *cfg, const char *prefix,
			char out[HOIST_S3_KEY_MAX + 1], struct hoist_err *err);

/* Returns the artifact key inside the object key full (a pointer into
 * full), or NULL if full is not below the store's prefix. */
const char *s3_key_strip(const struct hoist_s3_config *cfg, const char *full);

/* Appends the encoded request path of the object (or of the bucket when
 * full is NULL): "/bucket/key" path-style, "/key" virtual-hosted. */
int s3_key_path(const struct hoist_s3_config *cfg, const char *full,
		struct hoist_buf *out, struct hoist_err *err);

#endif
