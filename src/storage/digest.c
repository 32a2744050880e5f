#include "storage/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define DIGEST_READ_SIZE (1u << 20)

int hoist_digest_init(struct hoist_digest *digest, struct hoist_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	digest->ctx = NULL;
	digest->size = 0;
	if (!ctx)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory creating a SHA-256 context");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot start a SHA-256 digest");
	}
	digest->ctx = ctx;
	return 0;
}

int hoist_digest_update(struct hoist_digest *digest, const void *data,
			size_t len, struct hoist_err *err)
{
	if (EVP_DigestUpdate(digest->ctx, data, len) != 1)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "SHA-256 update failed");
	digest->size += len;
	return 0;
}

int hoist_digest_final_hex(struct hoist_digest *digest, char out[65],
			   struct hoist_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(digest->ctx, md, &mdlen) != 1 || mdlen != 32)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "SHA-256 finalization failed");
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

void hoist_digest_release(struct hoist_digest *digest)
{
	EVP_MD_CTX_free(digest->ctx);
	digest->ctx = NULL;
}

struct hoist_digest_worker {
	struct hoist_digest *digest;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int threaded;		/* 0: submit hashes on the caller's thread */
	int busy;		/* a chunk is queued or being hashed */
	int stopping;
	int failed;
	const void *data;
	size_t len;
};

static void *digest_worker_main(void *arg)
{
	struct hoist_digest_worker *worker = arg;

	pthread_mutex_lock(&worker->lock);
	for (;;) {
		int failed;

		while (!worker->busy && !worker->stopping)
			pthread_cond_wait(&worker->cond, &worker->lock);
		if (!worker->busy)
			break;
		pthread_mutex_unlock(&worker->lock);
		failed = hoist_digest_update(worker->digest, worker->data,
					     worker->len, NULL) != 0;
		pthread_mutex_lock(&worker->lock);
		worker->failed |= failed;
		worker->busy = 0;
		pthread_cond_broadcast(&worker->cond);
	}
	pthread_mutex_unlock(&worker->lock);
	return NULL;
}

int hoist_digest_worker_start(struct hoist_digest *digest,
			      struct hoist_digest_worker **out,
			      struct hoist_err *err)
{
	struct hoist_digest_worker *worker = calloc(1, sizeof(*worker));

	*out = NULL;
	if (!worker)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory starting a SHA-256 worker");
	worker->digest = digest;
	if (pthread_mutex_init(&worker->lock, NULL) != 0) {
		free(worker);
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot create a mutex");
	}
	if (pthread_cond_init(&worker->cond, NULL) != 0) {
		pthread_mutex_destroy(&worker->lock);
		free(worker);
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot create a condition variable");
	}
	worker->threaded = pthread_create(&worker->thread, NULL,
					  digest_worker_main, worker) == 0;
	*out = worker;
	return 0;
}

void hoist_digest_worker_submit(struct hoist_digest_worker *worker,
				const void *data, size_t len)
{
	if (!worker->threaded) {
		if (hoist_digest_update(worker->digest, data, len, NULL))
			worker->failed = 1;
		return;
	}
	pthread_mutex_lock(&worker->lock);
	worker->data = data;
	worker->len = len;
	worker->busy = 1;
	pthread_cond_broadcast(&worker->cond);
	pthread_mutex_unlock(&worker->lock);
}

int hoist_digest_worker_wait(struct hoist_digest_worker *worker,
			     struct hoist_err *err)
{
	int failed;

	pthread_mutex_lock(&worker->lock);
	while (worker->busy)
		pthread_cond_wait(&worker->cond, &worker->lock);
	failed = worker->failed;
	pthread_mutex_unlock(&worker->lock);
	if (failed)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "SHA-256 update failed");
	return 0;
}

void hoist_digest_worker_stop(struct hoist_digest_worker *worker)
{
	if (!worker)
		return;
	if (worker->threaded) {
		pthread_mutex_lock(&worker->lock);
		worker->stopping = 1;
		pthread_cond_broadcast(&worker->cond);
		pthread_mutex_unlock(&worker->lock);
		pthread_join(worker->thread, NULL);
	}
	pthread_cond_destroy(&worker->cond);
	pthread_mutex_destroy(&worker->lock);
	free(worker);
}

int hoist_digest_file(const char *path, uint64_t *size, char out[65],
		      struct hoist_err *err)
{
	struct hoist_digest digest = { NULL, 0 };
	struct stat st;
	char *chunk = NULL;
	int fd;
	int rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot open '%s': %s", path,
				     strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "'%s' is not a regular file", path);
		goto out;
	}
	chunk = malloc(DIGEST_READ_SIZE);
	if (!chunk) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "out of memory allocating a read buffer");
		goto out;
	}
	if (hoist_digest_init(&digest, err))
		goto out;
	for (;;) {
		ssize_t n = read(fd, chunk, DIGEST_READ_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot read '%s': %s",
				      path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (hoist_digest_update(&digest, chunk, (size_t)n, err))
			goto out;
	}
	if (hoist_digest_final_hex(&digest, out, err))
		goto out;
	*size = digest.size;
	rc = 0;
out:
	hoist_digest_release(&digest);
	free(chunk);
	close(fd);
	return rc;
}

int hoist_digest_hex_valid(const char *text)
{
	size_t i;

	for (i = 0; text[i]; i++) {
		char c = text[i];

		if (i >= 64 || !((c >= '0' && c <= '9') ||
				 (c >= 'a' && c <= 'f')))
			return 0;
	}
	return i == 64;
}
