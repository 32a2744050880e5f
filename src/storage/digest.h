/*
 * digest.h - streaming SHA-256 (OpenSSL EVP) for the storage module.
 *
 * Private to src/storage.  Digests are written as 64 lowercase hex
 * characters and a NUL.
 */
#ifndef HOIST_STORAGE_DIGEST_H
#define HOIST_STORAGE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct hoist_digest {
	void *ctx;		/* EVP_MD_CTX, owned */
	uint64_t size;		/* bytes hashed so far */
};

/* Starts a SHA-256; on success the caller calls hoist_digest_release(). */
int hoist_digest_init(struct hoist_digest *digest, struct hoist_err *err);
int hoist_digest_update(struct hoist_digest *digest, const void *data,
			size_t len, struct hoist_err *err);
/* Writes the hex digest to out; the digest cannot be updated after it. */
int hoist_digest_final_hex(struct hoist_digest *digest, char out[65],
			   struct hoist_err *err);
/* Frees the context; safe on a released or zeroed digest. */
void hoist_digest_release(struct hoist_digest *digest);

/* Hashes the regular file at path, storing its size and hex SHA-256. */
int hoist_digest_file(const char *path, uint64_t *size, char out[65],
		      struct hoist_err *err);

/* Returns 1 if text is exactly 64 lowercase hex characters. */
int hoist_digest_hex_valid(const char *text);

#endif
