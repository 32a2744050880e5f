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

/*
 * A helper thread that feeds chunks into a digest, so that hashing one
 * chunk overlaps with the caller's reads and writes.  When the thread
 * cannot be started, submit hashes on the caller's thread instead.
 */
struct hoist_digest_worker;

/* Starts a worker that updates digest; the caller stops it with
 * hoist_digest_worker_stop() before it finalizes or releases digest. */
int hoist_digest_worker_start(struct hoist_digest *digest,
			      struct hoist_digest_worker **out,
			      struct hoist_err *err);
/* Queues len bytes at data for hashing.  The bytes must stay unchanged and
 * no other chunk may be submitted until hoist_digest_worker_wait(). */
void hoist_digest_worker_submit(struct hoist_digest_worker *worker,
				const void *data, size_t len);
/* Waits until the submitted chunk is hashed; fails if hashing failed. */
int hoist_digest_worker_wait(struct hoist_digest_worker *worker,
			     struct hoist_err *err);
/* Waits for the current chunk, ends the thread and frees the worker;
 * safe on NULL. */
void hoist_digest_worker_stop(struct hoist_digest_worker *worker);

/* Hashes the regular file at path, storing its size and hex SHA-256. */
int hoist_digest_file(const char *path, uint64_t *size, char out[65],
		      struct hoist_err *err);

/* Returns 1 if text is exactly 64 lowercase hex characters. */
int hoist_digest_hex_valid(const char *text);

#endif
