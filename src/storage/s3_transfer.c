/*
 * s3_transfer.c - whole-file transfers of the S3 back end: single PUTs,
 * parallel multipart uploads, resumable parallel ranged downloads, and the
 * sweep of stale multipart uploads.
 *
 * A helper thread computes the file's SHA-256 in one sequential pass while
 * the parts or ranges travel in any order.  On upload it reads the source
 * file.  On download it follows the prefix of the target file whose ranges
 * have all arrived.  The upload path compares the file's size and
 * modification time before and after, so a file written to during the
 * upload fails it instead of yielding a digest of other bytes.
 */
#include "storage/s3_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "storage/crc32c.h"
#include "storage/digest.h"
#include "storage/s3_xml.h"

#define HASH_CHUNK (4u << 20)
#define XML_RESPONSE_MAX (1u << 20)
#define MIB (1ull << 20)
#define DOWNLOAD_SUFFIX ".hoist-download"
#define RANGES_SUFFIX ".hoist-download.ranges"
#define RANGES_MAGIC "hoist-s3-download 1"

/* The SHA-256 helper thread: hashes fd from 0 up to limit, which the
 * owner raises with hasher_advance() until it reaches total. */
struct hasher {
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	uint64_t total;
	uint64_t limit;
	uint64_t done;
	int stop;
	int failed;
	int use_mmap;		/* the file is ours: see hash_mapped() */
	struct hoist_err err;
	struct hoist_digest digest;
};

/*
 * Hashes want bytes at from through a read-only mapping, which saves the
 * copy of pread().  Returns want, -1 when the range cannot be mapped (the
 * caller then reads it), or -2 when hashing failed.  Only for files that
 * nobody truncates meanwhile: a truncated mapping raises SIGBUS.
 */
static ssize_t hash_mapped(struct hasher *h, uint64_t from, size_t want)
{
	static long page;
	uint64_t base;
	size_t delta;
	void *map;
	int rc;

	if (!page)
		page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		return -1;
	base = from - from % (uint64_t)page;
	delta = (size_t)(from - base);
	map = mmap(NULL, want + delta, PROT_READ, MAP_SHARED | MAP_POPULATE,
		   h->fd, (off_t)base);
	if (map == MAP_FAILED)
		return -1;
	rc = hoist_digest_update(&h->digest, (char *)map + delta, want,
				 &h->err);
	munmap(map, want + delta);
	return rc ? -2 : (ssize_t)want;
}

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	char *chunk = malloc(HASH_CHUNK);

	pthread_mutex_lock(&h->mu);
	if (!chunk) {
		h->failed = 1;
		hoist_err_set(&h->err, HOIST_E_NOMEM,
			      "out of memory hashing a transfer");
	}
	while (!h->failed && !h->stop && h->done < h->total) {
		uint64_t from = h->done;
		size_t want;
		ssize_t n;

		if (h->done >= h->limit) {
			pthread_cond_wait(&h->cv, &h->mu);
			continue;
		}
		want = h->limit - from < HASH_CHUNK ?
		       (size_t)(h->limit - from) : HASH_CHUNK;
		pthread_mutex_unlock(&h->mu);
		n = h->use_mmap ? hash_mapped(h, from, want) : -1;
		if (n == -1) {
			n = pread(h->fd, chunk, want, (off_t)from);
			if (n > 0 && hoist_digest_update(&h->digest, chunk,
							 (size_t)n, &h->err))
				n = -2;
		}
		pthread_mutex_lock(&h->mu);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			h->failed = 1;
			if (n != -2)
				hoist_err_set(&h->err, HOIST_E_IO,
					      "reading byte %" PRIu64 " to "
					      "hash it failed: %s", from,
					      n < 0 ? strerror(errno) :
					      "the file is shorter than "
					      "expected");
			break;
		}
		h->done += (uint64_t)n;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	free(chunk);
	return NULL;
}

static int hasher_start(struct hasher *h, int fd, uint64_t total,
			uint64_t limit, int use_mmap, struct hoist_err *err)
{
	memset(h, 0, sizeof(*h));
	h->fd = fd;
	h->use_mmap = use_mmap;
	h->total = total;
	h->limit = limit;
	if (hoist_digest_init(&h->digest, err))
		return -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->thread, NULL, hasher_main, h) != 0) {
		hoist_digest_release(&h->digest);
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot start the hashing thread");
	}
	h->started = 1;
	return 0;
}

static void hasher_advance(struct hasher *h, uint64_t limit)
{
	pthread_mutex_lock(&h->mu);
	if (limit > h->limit) {
		h->limit = limit;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
}

/* Stops the thread; with sha256 set, first waits until everything is
 * hashed and writes the digest. */
static int hasher_finish(struct hasher *h, char sha256[65],
			 struct hoist_err *err)
{
	int rc = 0;

	if (!h->started)
		return 0;
	pthread_mutex_lock(&h->mu);
	if (!sha256)
		h->stop = 1;
	else
		h->limit = h->total;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	h->started = 0;
	if (sha256) {
		if (h->failed)
			rc = hoist_err_set(err, h->err.code, "%s", h->err.msg);
		else
			rc = hoist_digest_final_hex(&h->digest, sha256, err);
	}
	hoist_digest_release(&h->digest);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	return rc;
}

uint64_t s3_part_size(uint64_t size, uint64_t cfg_part_size)
{
	uint64_t part = cfg_part_size;
	uint64_t min = (size + HOIST_S3_MAX_PARTS - 1) / HOIST_S3_MAX_PARTS;

	if (part < HOIST_S3_MIN_PART_SIZE)
		part = HOIST_S3_MIN_PART_SIZE;
	if (part < min)
		part = (min + MIB - 1) / MIB * MIB;
	if (part > HOIST_S3_MAX_PART_SIZE)
		part = HOIST_S3_MAX_PART_SIZE;
	return part;
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int check_unchanged(int fd, const char *path, const struct stat *before,
			   struct hoist_err *err)
{
	struct stat after;

	if (fstat(fd, &after))
		return hoist_err_set(err, HOIST_E_IO, "cannot stat %s: %s",
				     path, strerror(errno));
	if (!same_file_state(before, &after))
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "%s changed while it was uploaded (size "
				     "or modification time); write it "
				     "completely before uploading it", path);
	return 0;
}

/* Stores in *crc the CRC-32C of the body op sent: the sum taken in flight,
 * or, when libcurl rewound into the middle of the body, a new pass over
 * the file range. */
static int sent_crc(struct s3_client *c, const struct s3_op *op,
		    const char *path, uint32_t *crc, struct hoist_err *err)
{
	(void)c;
	if (op->crc_len == op->length) {
		*crc = op->crc;
		return 0;
	}
	return hoist_crc32c_fd(op->fd, op->offset, op->length, path, crc, err);
}

static int put_single(struct s3_client *c, const char *key, int fd,
		      const char *path, uint64_t size, uint32_t *crc32c,
		      struct hoist_err *err)
{
	struct s3_op op;
	int rc;

	s3_op_init(&op);
	op.method = "PUT";
	op.key = key;
	op.body = S3_BODY_FILE;
	op.fd = fd;
	op.offset = 0;
	op.length = size;
	op.want_crc = crc32c != NULL;
	rc = s3_run_one(c, &op, err);
	if (rc == 0 && crc32c)
		rc = sent_crc(c, &op, path, crc32c, err);
	s3_op_release(&op);
	return rc;
}

static int create_upload(struct s3_client *c, const char *key,
			 char *upload_id, size_t idlen, struct hoist_err *err)
{
	struct hoist_buf body;
	struct s3_xml_span span;
	struct s3_op op;
	int rc = -1;

	hoist_buf_init(&body, XML_RESPONSE_MAX);
	s3_op_init(&op);
	op.method = "POST";
	op.key = key;
	op.label = "CreateMultipartUpload";
	op.query[op.nquery++] = (struct hoist_s3_param){ "uploads", "" };
	op.sink = S3_SINK_BUF;
	op.buf = &body;
	if (s3_run_one(c, &op, err))
		goto out;
	span = (struct s3_xml_span){ body.data, body.len };
	if (s3_xml_text(&span, "UploadId", upload_id, idlen) != 1 ||
	    !upload_id[0]) {
		hoist_err_set(err, HOIST_E_HTTP,
			      "CreateMultipartUpload of s3://%s/%s returned "
			      "no UploadId", c->cfg.bucket, key);
		goto out;
	}
	rc = 0;
out:
	s3_op_release(&op);
	hoist_buf_release(&body);
	return rc;
}

static int abort_upload(struct s3_client *c, const char *key,
			const char *upload_id, struct hoist_err *err)
{
	struct s3_op op;
	int rc;

	s3_op_init(&op);
	op.method = "DELETE";
	op.key = key;
	op.label = "AbortMultipartUpload";
	op.ok_404 = 1;
	op.query[op.nquery++] = (struct hoist_s3_param){ "uploadId",
							 upload_id };
	rc = s3_run_one(c, &op, err);
	if (rc == 0)
		c->stats.aborted_uploads++;
	s3_op_release(&op);
	return rc;
}

/* Deletes the object just stored at key, after its source file changed
 * during the upload. */
static int delete_stored(struct s3_client *c, const char *key,
			 struct hoist_err *err)
{
	struct s3_op op;
	int rc;

	s3_op_init(&op);
	op.method = "DELETE";
	op.key = key;
	op.label = "removing the changed upload";
	op.ok_404 = 1;
	rc = s3_run_one(c, &op, err);
	s3_op_release(&op);
	return rc;
}

static int append_xml_text(struct hoist_buf *out, const char *text,
			   struct hoist_err *err)
{
	for (const char *p = text; *p; p++) {
		const char *rep = NULL;

		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		default: break;
		}
		if (rep ? hoist_buf_appends(out, rep, err) :
		    hoist_buf_append(out, p, 1, err))
			return -1;
	}
	return 0;
}

/* Sends CompleteMultipartUpload.  S3 can return 200 and still report an
 * error in the body.  A server-side error there is retried like a 5xx. */
static int complete_upload(struct s3_client *c, const char *key,
			   const char *upload_id, const struct s3_op *parts,
			   size_t nparts, struct hoist_err *err)
{
	struct hoist_buf xml, body;
	int rc = -1;

	hoist_buf_init(&xml, 200u * HOIST_S3_MAX_PARTS + 1024);
	hoist_buf_init(&body, XML_RESPONSE_MAX);
	if (hoist_buf_appends(&xml, "<CompleteMultipartUpload xmlns=\"http://"
			      "s3.amazonaws.com/doc/2006-03-01/\">", err))
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		if (hoist_buf_appendf(&xml, err, "<Part><PartNumber>%zu"
				      "</PartNumber><ETag>", i + 1) ||
		    append_xml_text(&xml, parts[i].etag, err) ||
		    hoist_buf_appends(&xml, "</ETag></Part>", err))
			goto out;
	}
	if (hoist_buf_appends(&xml, "</CompleteMultipartUpload>", err))
		goto out;

	for (unsigned attempt = 1;; attempt++) {
		struct s3_xml_span root;
		char code[64], message[256], request_id[128];
		struct s3_op op;
		int failed;

		s3_op_init(&op);
		op.method = "POST";
		op.key = key;
		op.label = "CompleteMultipartUpload";
		op.query[op.nquery++] = (struct hoist_s3_param){ "uploadId",
								 upload_id };
		op.body = S3_BODY_MEM;
		op.mem = xml.data;
		op.mem_len = xml.len;
		op.content_type = "application/xml";
		op.sink = S3_SINK_BUF;
		op.buf = &body;
		failed = s3_run_one(c, &op, err);
		s3_op_release(&op);
		if (failed)
			goto out;
		if (s3_xml_root(body.data, body.len, &root) == 0 &&
		    root.len == 5 && memcmp(root.p, "Error", 5) == 0) {
			s3_xml_error(body.data, body.len, code, message,
				     request_id);
			if ((strcmp(code, "InternalError") == 0 ||
			     strcmp(code, "SlowDown") == 0 ||
			     strcmp(code, "ServiceUnavailable") == 0) &&
			    attempt < c->cfg.max_attempts) {
				struct timespec ts;
				unsigned ms = s3_backoff_ms(
					&c->rng, attempt,
					c->cfg.backoff_base_ms,
					c->cfg.backoff_max_ms);

				c->stats.retries++;
				ts.tv_sec = ms / 1000;
				ts.tv_nsec = (long)(ms % 1000) * 1000000L;
				nanosleep(&ts, NULL);
				hoist_buf_reset(&body);
				continue;
			}
			hoist_err_set(err, HOIST_E_HTTP,
				      "POST s3://%s/%s "
				      "(CompleteMultipartUpload) failed: %s: "
				      "%s%s%s%s", c->cfg.bucket, key, code,
				      message, request_id[0] ?
				      " (request id " : "", request_id,
				      request_id[0] ? ")" : "");
			goto out;
		}
		break;
	}
	rc = 0;
out:
	hoist_buf_release(&xml);
	hoist_buf_release(&body);
	return rc;
}

/* Appends note to the message in err, cutting it at the message limit. */
static void append_note(struct hoist_err *err, const char *note)
{
	size_t len;

	if (!err || err->code == HOIST_OK)
		return;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, "%s", note);
}

static int put_multipart(struct s3_client *c, const char *key, int fd,
			 const char *path, const struct stat *before,
			 uint64_t size, uint32_t *crc32c,
			 struct hoist_err *err)
{
	uint64_t part = s3_part_size(size, c->cfg.part_size);
	size_t nparts = (size_t)((size + part - 1) / part);
	char upload_id[1024];
	struct s3_op *ops = NULL;
	char (*numbers)[16] = NULL;
	char (*labels)[48] = NULL;
	int created = 0;
	int rc = -1;

	if (size > HOIST_S3_MAX_OBJECT_SIZE || nparts > HOIST_S3_MAX_PARTS)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s is %" PRIu64 " bytes, more than the "
				     "5 TiB S3 allows in one object", path,
				     size);
	ops = calloc(nparts, sizeof(*ops));
	numbers = calloc(nparts, sizeof(*numbers));
	labels = calloc(nparts, sizeof(*labels));
	if (!ops || !numbers || !labels) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "out of memory planning %zu parts", nparts);
		goto out;
	}
	for (size_t i = 0; i < nparts; i++)
		s3_op_init(&ops[i]);
	if (create_upload(c, key, upload_id, sizeof(upload_id), err))
		goto out;
	created = 1;
	c->stats.multipart_uploads++;

	for (size_t i = 0; i < nparts; i++) {
		struct s3_op *op = &ops[i];

		snprintf(numbers[i], sizeof(numbers[i]), "%zu", i + 1);
		snprintf(labels[i], sizeof(labels[i]), "part %zu of %zu",
			 i + 1, nparts);
		op->method = "PUT";
		op->key = key;
		op->label = labels[i];
		op->query[op->nquery++] = (struct hoist_s3_param){
			"partNumber", numbers[i] };
		op->query[op->nquery++] = (struct hoist_s3_param){
			"uploadId", upload_id };
		op->body = S3_BODY_FILE;
		op->fd = fd;
		op->offset = (uint64_t)i * part;
		op->length = i + 1 < nparts ? part : size - op->offset;
		op->want_crc = crc32c != NULL;
	}
	if (s3_run(c, ops, nparts, c->cfg.parallel, NULL, NULL, err))
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		if (!ops[i].etag[0]) {
			hoist_err_set(err, HOIST_E_HTTP,
				      "PUT s3://%s/%s (part %zu of %zu) "
				      "returned no ETag", c->cfg.bucket, key,
				      i + 1, nparts);
			goto out;
		}
	}
	/* A file that changed must not become an object. */
	if (check_unchanged(fd, path, before, err))
		goto out;
	if (crc32c) {
		uint32_t whole = 0;

		for (size_t i = 0; i < nparts; i++) {
			uint32_t crc;

			if (sent_crc(c, &ops[i], path, &crc, err))
				goto out;
			whole = hoist_crc32c_combine(whole, crc,
						     ops[i].length);
		}
		*crc32c = whole;
	}
	if (complete_upload(c, key, upload_id, ops, nparts, err))
		goto out;
	rc = 0;
out:
	if (rc && created) {
		struct hoist_err abort_err = HOIST_ERR_INIT;

		if (abort_upload(c, key, upload_id, &abort_err))
			append_note(err, "; aborting the multipart upload "
				    "failed too, so its parts stay until a "
				    "sweep of stale uploads removes them");
	}
	if (ops) {
		for (size_t i = 0; i < nparts; i++)
			s3_op_release(&ops[i]);
	}
	free(ops);
	free(numbers);
	free(labels);
	return rc;
}

int s3_transfer_put_file(struct s3_client *c, const char *key,
			 const char *path, uint64_t *size, char sha256[65],
			 uint32_t *crc32c, struct hoist_err *err)
{
	struct hasher hasher = { .started = 0 };
	struct stat before;
	uint64_t len;
	int fd;
	int rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot open %s: %s", path,
				     strerror(errno));
	if (fstat(fd, &before)) {
		hoist_err_set(err, HOIST_E_IO, "cannot stat %s: %s", path,
			      strerror(errno));
		goto out;
	}
	if (!S_ISREG(before.st_mode)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "%s is not a regular file", path);
		goto out;
	}
	len = (uint64_t)before.st_size;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (sha256 && hasher_start(&hasher, fd, len, len, 0, err))
		goto out;
	if (len <= c->cfg.threshold) {
		if (put_single(c, key, fd, path, len, crc32c, err))
			goto out;
	} else if (put_multipart(c, key, fd, path, &before, len, crc32c,
				 err)) {
		goto out;
	}
	if (sha256 && hasher_finish(&hasher, sha256, err))
		goto out;
	/* The file may change after the last part was read.  The object
	 * then exists, and the failure must not leave it behind. */
	if (check_unchanged(fd, path, &before, err)) {
		struct hoist_err delete_err = HOIST_ERR_INIT;

		if (delete_stored(c, key, &delete_err))
			append_note(err, "; deleting the stored object failed "
				    "too, so it stays until the next upload "
				    "of that key");
		goto out;
	}
	if (size)
		*size = len;
	rc = 0;
out:
	hasher_finish(&hasher, NULL, NULL);
	close(fd);
	return rc;
}

int s3_transfer_head(struct s3_client *c, const char *key, uint64_t *size,
		     char etag[128], struct hoist_err *err)
{
	struct s3_op op;
	int rc = -1;

	s3_op_init(&op);
	op.method = "HEAD";
	op.key = key;
	op.ok_404 = 1;
	if (s3_run_one(c, &op, err))
		goto out;
	if (op.status == 404) {
		hoist_err_set(err, HOIST_E_NOT_FOUND,
			      "object s3://%s/%s not found", c->cfg.bucket,
			      key);
		goto out;
	}
	if (!op.has_content_length) {
		hoist_err_set(err, HOIST_E_HTTP,
			      "HEAD s3://%s/%s returned no Content-Length",
			      c->cfg.bucket, key);
		goto out;
	}
	if (size)
		*size = op.content_length;
	if (etag)
		snprintf(etag, 128, "%s", op.etag);
	rc = 0;
out:
	s3_op_release(&op);
	return rc;
}

/* Fsyncs the folder that contains path, so a rename into it survives a
 * crash. */
static int fsync_parent(const char *path, struct hoist_err *err)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return hoist_util_fsync_dir(dir, err);
}

/* A download in progress: which chunks of the temporary file are done. */
struct download {
	struct s3_client *c;
	const char *key;
	char etag[128];
	uint64_t size;
	uint64_t chunk;
	size_t nchunks;
	unsigned char *done;
	uint32_t *crcs;		/* of each chunk, when summing */
	size_t contiguous;	/* chunks [0, contiguous) are all done */
	int ranges_fd;
	int tmp_fd;
	struct hasher *hasher;
	int changed;		/* the object changed during the download */
};

static void advance_contiguous(struct download *d)
{
	uint64_t limit;

	while (d->contiguous < d->nchunks && d->done[d->contiguous])
		d->contiguous++;
	limit = (uint64_t)d->contiguous * d->chunk;
	if (limit > d->size)
		limit = d->size;
	if (d->hasher)
		hasher_advance(d->hasher, limit);
}

static int chunk_done(struct s3_op *op, void *arg, struct hoist_err *err)
{
	struct download *d = arg;
	size_t i = (size_t)(uintptr_t)op->user;
	char line[32];
	int n;

	if (op->etag[0] && d->etag[0] && strcmp(op->etag, d->etag) != 0) {
		d->changed = 1;
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "object s3://%s/%s changed during the "
				     "download (ETag %s, then %s); retry the "
				     "download", d->c->cfg.bucket, d->key,
				     d->etag, op->etag);
	}
	/* Start writing the range to disk now, so that the fsync at the end
	 * does not wait for the whole file. */
	sync_file_range(d->tmp_fd, (off_t)op->out_offset,
			(off_t)op->out_length, SYNC_FILE_RANGE_WRITE);
	if (d->crcs) {
		if (op->crc_len != op->out_length)
			return hoist_err_set(err, HOIST_E_INTERNAL,
					     "range %s of s3://%s/%s was not "
					     "summed in one pass", op->range,
					     d->c->cfg.bucket, d->key);
		d->crcs[i] = op->crc;
	}
	d->done[i] = 1;
	n = snprintf(line, sizeof(line), "%zu\n", i);
	if (write(d->ranges_fd, line, (size_t)n) != n)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot record a finished range of "
				     "s3://%s/%s: %s", d->c->cfg.bucket,
				     d->key, strerror(errno));
	advance_contiguous(d);
	return 0;
}

/* Reads the ranges file of a previous run; marks its chunks done when its
 * header matches this download exactly.  Returns 1 if it did. */
static int load_ranges(struct download *d, const char *ranges_path,
		       const char *header)
{
	struct hoist_buf text;
	struct hoist_err ignored = HOIST_ERR_INIT;
	size_t hlen = strlen(header);
	const char *p, *end;
	int ok = 0;

	hoist_buf_init(&text, hlen + 24 * d->nchunks + 64);
	if (hoist_util_read_file(ranges_path, &text, &ignored) ||
	    text.len < hlen || memcmp(text.data, header, hlen) != 0)
		goto out;
	p = text.data + hlen;
	end = text.data + text.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *stop;
		unsigned long long i;

		if (!nl)
			break;	/* a line cut short by a crash */
		i = strtoull(p, &stop, 10);
		if (stop == nl && i < d->nchunks)
			d->done[i] = 1;
		p = nl + 1;
	}
	ok = 1;
out:
	hoist_buf_release(&text);
	return ok;
}

static int open_download(struct download *d, const char *tmp_path,
			 const char *ranges_path, int *tmp_fd,
			 uint64_t *resumed, struct hoist_err *err)
{
	char header[256];
	struct stat st;
	int fd;

	snprintf(header, sizeof(header), RANGES_MAGIC " size=%" PRIu64
		 " chunk=%" PRIu64 " etag=%s\n", d->size, d->chunk, d->etag);
	*resumed = 0;
	if (d->etag[0] && load_ranges(d, ranges_path, header)) {
		fd = open(tmp_path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 &&
		    (uint64_t)st.st_size == d->size) {
			for (size_t i = 0; i < d->nchunks; i++) {
				uint64_t off = (uint64_t)i * d->chunk;

				if (d->done[i])
					*resumed += d->size - off < d->chunk ?
						    d->size - off : d->chunk;
			}
			d->ranges_fd = open(ranges_path, O_WRONLY | O_APPEND |
					    O_CLOEXEC);
			if (d->ranges_fd >= 0) {
				*tmp_fd = fd;
				return 0;
			}
		}
		if (fd >= 0)
			close(fd);
		memset(d->done, 0, d->nchunks);
		*resumed = 0;
	}

	unlink(ranges_path);
	fd = open(tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot create %s: %s",
				     tmp_path, strerror(errno));
	if (ftruncate(fd, (off_t)d->size)) {
		hoist_err_set(err, HOIST_E_IO, "cannot size %s to %" PRIu64
			      " bytes: %s", tmp_path, d->size,
			      strerror(errno));
		close(fd);
		return -1;
	}
	d->ranges_fd = open(ranges_path, O_WRONLY | O_CREAT | O_TRUNC |
			    O_APPEND | O_CLOEXEC, 0644);
	if (d->ranges_fd < 0 ||
	    write(d->ranges_fd, header, strlen(header)) !=
	    (ssize_t)strlen(header)) {
		hoist_err_set(err, HOIST_E_IO, "cannot write %s: %s",
			      ranges_path, strerror(errno));
		close(fd);
		return -1;
	}
	*tmp_fd = fd;
	return 0;
}

/* Sums the chunks that a previous run left done, reading the temporary
 * file, because the restore must check the bytes on disk. */
static int sum_resumed(struct download *d, const char *tmp_path,
		       struct hoist_err *err)
{
	for (size_t i = 0; i < d->nchunks; i++) {
		uint64_t off = (uint64_t)i * d->chunk;
		uint64_t len = d->size - off < d->chunk ? d->size - off :
			       d->chunk;

		if (d->done[i] && hoist_crc32c_fd(d->tmp_fd, off, len,
						  tmp_path, &d->crcs[i], err))
			return -1;
	}
	return 0;
}

int s3_transfer_get_file(struct s3_client *c, const char *key,
			 const char *path, uint64_t *size, char sha256[65],
			 uint32_t *crc32c, struct hoist_err *err)
{
	struct download d = { .c = c, .key = key, .ranges_fd = -1,
			      .tmp_fd = -1 };
	struct hasher hasher = { .started = 0 };
	char tmp_path[PATH_MAX], ranges_path[PATH_MAX];
	struct s3_op *ops = NULL;
	char (*ranges)[64] = NULL;
	size_t nops = 0;
	uint64_t resumed = 0;
	char digest[65];
	int tmp_fd = -1;
	int rc = -1;

	if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%s" DOWNLOAD_SUFFIX,
			     path) >= sizeof(tmp_path) ||
	    (size_t)snprintf(ranges_path, sizeof(ranges_path),
			     "%s" RANGES_SUFFIX, path) >= sizeof(ranges_path))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "download path %s is too long", path);
	if (s3_transfer_head(c, key, &d.size, d.etag, err))
		return -1;
	d.chunk = c->cfg.chunk_size;
	d.nchunks = (size_t)((d.size + d.chunk - 1) / d.chunk);
	d.done = calloc(d.nchunks ? d.nchunks : 1, 1);
	ops = calloc(d.nchunks ? d.nchunks : 1, sizeof(*ops));
	ranges = calloc(d.nchunks ? d.nchunks : 1, sizeof(*ranges));
	if (crc32c)
		d.crcs = calloc(d.nchunks ? d.nchunks : 1, sizeof(*d.crcs));
	if (!d.done || !ops || !ranges || (crc32c && !d.crcs)) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "out of memory planning %zu ranges", d.nchunks);
		goto out;
	}
	if (open_download(&d, tmp_path, ranges_path, &tmp_fd, &resumed, err))
		goto out;
	c->stats.resumed_bytes += resumed;
	if (c->progress && resumed > 0)
		c->progress(c->progress_arg, (int64_t)resumed);
	d.tmp_fd = tmp_fd;
	if (crc32c && resumed > 0 && sum_resumed(&d, tmp_path, err))
		goto out;
	if (sha256) {
		d.hasher = &hasher;
		/* The temporary file is this function's own, so no other
		 * process truncates it under the mapping. */
		if (hasher_start(&hasher, tmp_fd, d.size, 0, 1, err))
			goto out;
		advance_contiguous(&d);
	}

	for (size_t i = 0; i < d.nchunks; i++) {
		struct s3_op *op;
		uint64_t off = (uint64_t)i * d.chunk;
		uint64_t len = d.size - off < d.chunk ? d.size - off : d.chunk;

		if (d.done[i])
			continue;
		op = &ops[nops++];
		s3_op_init(op);
		snprintf(ranges[i], sizeof(ranges[i]), "bytes=%" PRIu64 "-%"
			 PRIu64, off, off + len - 1);
		op->method = "GET";
		op->key = key;
		op->label = ranges[i];
		op->range = ranges[i];
		op->if_match = d.etag[0] ? d.etag : NULL;
		op->sink = S3_SINK_FILE;
		op->out_fd = tmp_fd;
		op->out_offset = off;
		op->out_length = len;
		op->want_crc = crc32c != NULL;
		op->user = (void *)(uintptr_t)i;
	}
	if (s3_run(c, ops, nops, c->cfg.parallel, chunk_done, &d, err))
		goto out;
	if (sha256 && hasher_finish(&hasher, digest, err))
		goto out;
	if (fsync(tmp_fd)) {
		hoist_err_set(err, HOIST_E_IO, "cannot fsync %s: %s", tmp_path,
			      strerror(errno));
		goto out;
	}
	if (rename(tmp_path, path)) {
		hoist_err_set(err, HOIST_E_IO, "cannot rename %s to %s: %s",
			      tmp_path, path, strerror(errno));
		goto out;
	}
	unlink(ranges_path);
	if (fsync_parent(path, err))
		goto out;
	if (size)
		*size = d.size;
	if (sha256)
		memcpy(sha256, digest, 65);
	if (crc32c) {
		*crc32c = 0;
		for (size_t i = 0; i < d.nchunks; i++) {
			uint64_t off = (uint64_t)i * d.chunk;

			*crc32c = hoist_crc32c_combine(*crc32c, d.crcs[i],
						       d.size - off < d.chunk ?
						       d.size - off : d.chunk);
		}
	}
	rc = 0;
out:
	hasher_finish(&hasher, NULL, NULL);
	if (d.ranges_fd >= 0)
		close(d.ranges_fd);
	if (tmp_fd >= 0)
		close(tmp_fd);
	if (rc && d.changed) {
		unlink(tmp_path);
		unlink(ranges_path);
	}
	for (size_t i = 0; i < nops; i++)
		s3_op_release(&ops[i]);
	free(ops);
	free(ranges);
	free(d.crcs);
	free(d.done);
	return rc;
}

/* Parses S3's "2026-12-04T19:48:34.000Z" into Unix seconds, or -1. */
static int64_t parse_iso8601(const char *text)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof(tm));
	rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -1;
	return (int64_t)timegm(&tm);
}

int s3_transfer_abort_stale(struct s3_client *c, const char *prefix,
			    int64_t min_age_s, size_t *aborted,
			    struct hoist_err *err)
{
	char key_marker[HOIST_S3_KEY_MAX + 1] = "";
	char id_marker[1024] = "";
	struct hoist_buf body;
	int64_t now = (int64_t)time(NULL);
	int rc = -1;

	*aborted = 0;
	hoist_buf_init(&body, 16u << 20);
	for (;;) {
		struct s3_xml_span span, upload;
		char truncated[16];
		struct s3_op op;
		int failed;

		s3_op_init(&op);
		op.method = "GET";
		op.key = NULL;
		op.label = "ListMultipartUploads";
		op.query[op.nquery++] = (struct hoist_s3_param){ "uploads", "" };
		op.query[op.nquery++] = (struct hoist_s3_param){ "prefix",
								 prefix };
		if (key_marker[0]) {
			op.query[op.nquery++] = (struct hoist_s3_param){
				"key-marker", key_marker };
			op.query[op.nquery++] = (struct hoist_s3_param){
				"upload-id-marker", id_marker };
		}
		op.sink = S3_SINK_BUF;
		op.buf = &body;
		hoist_buf_reset(&body);
		failed = s3_run_one(c, &op, err);
		s3_op_release(&op);
		if (failed)
			goto out;

		span = (struct s3_xml_span){ body.data, body.len };
		while (s3_xml_next(&span, "Upload", &upload)) {
			char key[HOIST_S3_KEY_MAX + 1];
			char id[1024];
			char initiated[64];
			int64_t started;

			if (s3_xml_text(&upload, "Key", key, sizeof(key)) != 1 ||
			    s3_xml_text(&upload, "UploadId", id,
					sizeof(id)) != 1 ||
			    s3_xml_text(&upload, "Initiated", initiated,
					sizeof(initiated)) != 1) {
				hoist_err_set(err, HOIST_E_HTTP,
					      "ListMultipartUploads of "
					      "s3://%s/%s returned an Upload "
					      "without Key, UploadId or "
					      "Initiated", c->cfg.bucket,
					      prefix);
				goto out;
			}
			started = parse_iso8601(initiated);
			if (started < 0 || now - started < min_age_s)
				continue;
			if (abort_upload(c, key, id, err))
				goto out;
			(*aborted)++;
		}
		span = (struct s3_xml_span){ body.data, body.len };
		if (s3_xml_text(&span, "IsTruncated", truncated,
				sizeof(truncated)) != 1 ||
		    strcmp(truncated, "true") != 0)
			break;
		if (s3_xml_text(&span, "NextKeyMarker", key_marker,
				sizeof(key_marker)) != 1 ||
		    s3_xml_text(&span, "NextUploadIdMarker", id_marker,
				sizeof(id_marker)) < 0 || !key_marker[0]) {
			hoist_err_set(err, HOIST_E_HTTP,
				      "ListMultipartUploads of s3://%s/%s is "
				      "truncated but has no NextKeyMarker",
				      c->cfg.bucket, prefix);
			goto out;
		}
	}
	rc = 0;
out:
	hoist_buf_release(&body);
	return rc;
}
