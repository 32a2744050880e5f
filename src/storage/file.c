/*
 * file.c - the file:// back end: each object is a regular file at
 * <root>/<key>.
 *
 * Writes go to a temporary file in the destination folder, which is
 * fsync'd, renamed over the destination, and followed by an fsync of the
 * folder.  A reader therefore sees an object whole or not at all, and an
 * object whose write returned 0 survives a crash.  Folders created on the
 * way are fsync'd into their parents for the same reason.
 */
#include "storage/file_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "storage/crc32c.h"
#include "storage/digest.h"

#define COPY_BUFFER_SIZE (1u << 20)
/* Bytes per copy_file_range() call, small enough that the progress of a
 * big file moves. */
#define COPY_KERNEL_CHUNK (64u << 20)
#define TMP_PREFIX HOIST_FILE_STORE_TMP_PREFIX
#define TMP_PREFIX_LEN (sizeof(TMP_PREFIX) - 1)
/* Attempts to recreate a folder that a concurrent remove() pruned. */
#define PARENT_RETRIES 3

struct file_store {
	struct hoist_artifact_store base;	/* first: the public handle */
	char root[PATH_MAX];			/* no trailing '/' */
};

/* A write in progress: a temporary file that becomes dst on commit. */
struct file_tx {
	int fd;
	char dir[PATH_MAX];
	char tmp[PATH_MAX];
	char dst[PATH_MAX];
};

static struct file_store *file_store_of(struct hoist_artifact_store *store)
{
	return (struct file_store *)store;
}

static int is_tmp_name(const char *name)
{
	return strncmp(name, TMP_PREFIX, TMP_PREFIX_LEN) == 0;
}

/* Fails with HOIST_E_INVALID unless key is valid for this back end. */
static int check_key(const char *key, struct hoist_err *err)
{
	const char *reason = hoist_artifact_key_error(key);
	const char *segment;

	if (reason)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid object key '%s': the key %s",
				     key ? key : "(null)", reason);
	for (segment = key; segment; segment = strchr(segment, '/')) {
		if (*segment == '/')
			segment++;
		if (is_tmp_name(segment))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid object key '%s': a segment "
					     "starts with '%s', which the file:// "
					     "store reserves for temporary files",
					     key, TMP_PREFIX);
	}
	return 0;
}

static int object_path(struct file_store *fs, const char *key, char *out,
		       size_t outlen, struct hoist_err *err)
{
	if (check_key(key, err))
		return -1;
	if (snprintf(out, outlen, "%s/%s", fs->root, key) >= (int)outlen)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "object key '%s' makes a path longer than "
				     "%zu bytes under '%s'", key, outlen - 1,
				     fs->root);
	return 0;
}

/* Stores the folder part of path in dir ("." when path has no '/'). */
static void dir_of(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, dirlen, ".");
	else if (slash == path)
		snprintf(dir, dirlen, "/");
	else
		snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
}

/*
 * Creates the missing folders of key below the root.  Each folder created
 * is fsync'd into its parent, so the object renamed into it later is
 * reachable after a crash.
 */
static int make_parents(struct file_store *fs, const char *key,
			struct hoist_err *err)
{
	char path[PATH_MAX];
	const char *slash;

	for (slash = strchr(key, '/'); slash; slash = strchr(slash + 1, '/')) {
		int n = snprintf(path, sizeof(path), "%s/%.*s", fs->root,
				 (int)(slash - key), key);

		if (n < 0 || (size_t)n >= sizeof(path))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "object key '%s' is too long",
					     key);
		if (mkdir(path, 0777) == 0) {
			char parent[PATH_MAX];

			dir_of(path, parent, sizeof(parent));
			if (hoist_util_fsync_dir(parent, err))
				return -1;
			continue;
		}
		if (errno != EEXIST)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot create folder '%s' for "
					     "object '%s': %s", path, key,
					     strerror(errno));
	}
	return 0;
}

/* Opens a new temporary file next to dst; returns 0 or an errno value. */
static int tx_open(struct file_tx *tx, const char *dst)
{
	struct hoist_err ignored = HOIST_ERR_INIT;
	char hex[17];

	tx->fd = -1;
	tx->tmp[0] = '\0';
	if (snprintf(tx->dst, sizeof(tx->dst), "%s", dst) >=
	    (int)sizeof(tx->dst))
		return ENAMETOOLONG;
	dir_of(dst, tx->dir, sizeof(tx->dir));
	for (int i = 0; i < 8; i++) {
		if (hoist_util_random_hex(hex, 8, &ignored))
			return EIO;
		if (snprintf(tx->tmp, sizeof(tx->tmp), "%s/%s%s", tx->dir,
			     TMP_PREFIX, hex) >= (int)sizeof(tx->tmp))
			return ENAMETOOLONG;
		tx->fd = open(tx->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0666);
		if (tx->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	tx->tmp[0] = '\0';
	return errno;
}

static void tx_abort(struct file_tx *tx)
{
	if (tx->fd >= 0)
		close(tx->fd);
	tx->fd = -1;
	if (tx->tmp[0])
		unlink(tx->tmp);
	tx->tmp[0] = '\0';
}

/* Makes the temporary file durable and renames it over dst. */
static int tx_commit(struct file_tx *tx, struct hoist_err *err)
{
	int fd = tx->fd;

	tx->fd = -1;
	if (fsync(fd) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot fsync '%s': %s",
			      tx->tmp, strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot close '%s': %s",
			      tx->tmp, strerror(errno));
		goto fail;
	}
	if (rename(tx->tmp, tx->dst) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot rename '%s' to '%s': %s",
			      tx->tmp, tx->dst, strerror(errno));
		goto fail;
	}
	tx->tmp[0] = '\0';
	return hoist_util_fsync_dir(tx->dir, err);
fail:
	tx_abort(tx);
	return -1;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t read_full(int fd, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Copies with copy_file_range(); returns 1 when the kernel cannot copy
 * between these files, so the caller copies through a buffer. */
/* Reports n bytes moved to the store's progress callback, if any. */
static void report(const struct hoist_artifact_store *store, int64_t n)
{
	if (store->progress)
		store->progress(store->progress_arg, n);
}

static int copy_in_kernel(const struct hoist_artifact_store *store, int in,
			  int out, const char *from, const char *to,
			  struct hoist_err *err)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL,
					    COPY_KERNEL_CHUNK, 0);

		if (n > 0) {
			report(store, n);
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
		    errno == EINVAL || errno == EBADF || errno == EPERM)
			return 1;
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot copy '%s' to '%s': %s", from, to,
				     strerror(errno));
	}
}

/* Checksum state of a copy: the CRC-32C and length of the bytes copied. */
struct copy_crc {
	uint32_t crc;
	uint64_t size;
};

/*
 * Copies in to out through two 1 MiB buffers.  With a digest, a helper
 * thread hashes each chunk while this thread writes it and reads the next
 * one.  The copy and the hash are thus one pass over the data, and hashing
 * overlaps with the I/O instead of adding to it.  With crc, this thread
 * sums each chunk before writing it, which costs far less than a SHA-256.
 */
static int copy_buffered(const struct hoist_artifact_store *store, int in,
			 int out, struct hoist_digest *digest,
			 struct copy_crc *crc, const char *from,
			 const char *to, struct hoist_err *err)
{
	struct hoist_digest_worker *worker = NULL;
	char *chunks[2] = { NULL, NULL };
	ssize_t len;
	int read_errno;
	int current = 0;
	int rc = -1;

	chunks[0] = malloc(COPY_BUFFER_SIZE);
	chunks[1] = malloc(COPY_BUFFER_SIZE);
	if (!chunks[0] || !chunks[1]) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "out of memory allocating copy buffers");
		goto out;
	}
	if (digest && hoist_digest_worker_start(digest, &worker, err))
		goto out;

	len = read_full(in, chunks[current], COPY_BUFFER_SIZE);
	read_errno = errno;
	while (len > 0) {
		ssize_t next;

		if (worker)
			hoist_digest_worker_submit(worker, chunks[current],
						   (size_t)len);
		if (crc) {
			crc->crc = hoist_crc32c_update(crc->crc,
						       chunks[current],
						       (size_t)len);
			crc->size += (uint64_t)len;
		}
		if (write_all(out, chunks[current], (size_t)len) != 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s",
				      to, strerror(errno));
			goto out;
		}
		report(store, len);
		next = read_full(in, chunks[!current], COPY_BUFFER_SIZE);
		read_errno = errno;	/* the wait below may change errno */
		if (worker && hoist_digest_worker_wait(worker, err))
			goto out;
		current = !current;
		len = next;
	}
	if (len < 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot read '%s': %s", from,
			      strerror(read_errno));
		goto out;
	}
	rc = 0;
out:
	/* Stopping waits for the chunk being hashed, so the buffers can go. */
	hoist_digest_worker_stop(worker);
	free(chunks[0]);
	free(chunks[1]);
	return rc;
}

/*
 * Copies in to out from their current offsets to the end of in.  Without a
 * digest the kernel copies with copy_file_range(), which may share extents
 * on file systems that support it.  With a digest, the bytes pass through
 * user space so that they are hashed in the same pass.
 */
static int copy_fd(const struct hoist_artifact_store *store, int in, int out,
		   struct hoist_digest *digest, struct copy_crc *crc,
		   const char *from, const char *to, struct hoist_err *err)
{
	if (!digest && !crc) {
		int rc = copy_in_kernel(store, in, out, from, to, err);

		if (rc <= 0)
			return rc;
	}
	return copy_buffered(store, in, out, digest, crc, from, to, err);
}

/* Opens the temporary file for key, creating its folders; a folder that a
 * concurrent remove() pruned meanwhile is created again. */
static int put_begin(struct file_store *fs, const char *key,
		     struct file_tx *tx, struct hoist_err *err)
{
	char dst[PATH_MAX];
	int code = 0;

	if (object_path(fs, key, dst, sizeof(dst), err))
		return -1;
	for (int i = 0; i < PARENT_RETRIES; i++) {
		if (make_parents(fs, key, err))
			return -1;
		code = tx_open(tx, dst);
		if (code != ENOENT)
			break;
	}
	if (code == 0)
		return 0;
	return hoist_err_set(err, HOIST_E_IO,
			     "cannot create a temporary file in '%s' for "
			     "object '%s': %s", tx->dir, key, strerror(code));
}

static int open_source(const char *path, struct hoist_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot open '%s': %s", path,
				     strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return hoist_err_set(err, HOIST_E_INVALID,
				     "'%s' is not a regular file", path);
	}
	return fd;
}

static int put_file_digest(struct hoist_artifact_store *store,
			   const char *key, const char *path,
			   struct hoist_digest *digest, struct copy_crc *crc,
			   struct hoist_err *err)
{
	struct file_store *fs = file_store_of(store);
	struct file_tx tx = { .fd = -1 };
	int in;
	int rc = -1;

	in = open_source(path, err);
	if (in < 0)
		return -1;
	if (put_begin(fs, key, &tx, err))
		goto out;
	if (copy_fd(store, in, tx.fd, digest, crc, path, tx.tmp, err))
		goto out;
	rc = tx_commit(&tx, err);
out:
	if (rc != 0) {
		tx_abort(&tx);
		hoist_err_prefix(err, "storing '%s' as object '%s'", path, key);
	}
	close(in);
	return rc;
}

static int file_put_file(struct hoist_artifact_store *store, const char *key,
			 const char *path, struct hoist_err *err)
{
	return put_file_digest(store, key, path, NULL, NULL, err);
}

static int file_put_file_sha256(struct hoist_artifact_store *store,
				const char *key, const char *path,
				uint64_t *size, char sha256[65],
				struct hoist_err *err)
{
	struct hoist_digest digest;
	int rc = -1;

	if (hoist_digest_init(&digest, err))
		return -1;
	if (put_file_digest(store, key, path, &digest, NULL, err))
		goto out;
	if (hoist_digest_final_hex(&digest, sha256, err))
		goto out;
	*size = digest.size;
	rc = 0;
out:
	hoist_digest_release(&digest);
	return rc;
}

static int file_put_file_crc32c(struct hoist_artifact_store *store,
				const char *key, const char *path,
				uint64_t *size, uint32_t *crc32c,
				struct hoist_err *err)
{
	struct copy_crc crc = { 0, 0 };

	if (put_file_digest(store, key, path, NULL, &crc, err))
		return -1;
	*size = crc.size;
	*crc32c = crc.crc;
	return 0;
}

static int file_put_bytes(struct hoist_artifact_store *store, const char *key,
			  const void *data, size_t len, struct hoist_err *err)
{
	struct file_store *fs = file_store_of(store);
	struct file_tx tx = { .fd = -1 };

	if (put_begin(fs, key, &tx, err))
		return -1;
	if (write_all(tx.fd, data, len) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s", tx.tmp,
			      strerror(errno));
		tx_abort(&tx);
		return -1;
	}
	if (tx_commit(&tx, err)) {
		hoist_err_prefix(err, "storing object '%s'", key);
		return -1;
	}
	return 0;
}

/* Opens the object file of key for reading. */
static int open_object(struct file_store *fs, const char *key,
		       struct stat *st, struct hoist_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (object_path(fs, key, path, sizeof(path), err))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "object '%s' not found in '%s'", key,
				     fs->base.url);
	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot open '%s': %s",
				     path, strerror(errno));
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return hoist_err_set(err, HOIST_E_INVALID,
				     "object '%s' in '%s' is not a regular file",
				     key, fs->base.url);
	}
	return fd;
}

static int get_file_digest(struct hoist_artifact_store *store,
			   const char *key, const char *path,
			   struct hoist_digest *digest, struct copy_crc *crc,
			   struct hoist_err *err)
{
	struct file_store *fs = file_store_of(store);
	struct file_tx tx = { .fd = -1 };
	struct stat st;
	int code;
	int in;
	int rc = -1;

	in = open_object(fs, key, &st, err);
	if (in < 0)
		return -1;
	code = tx_open(&tx, path);
	if (code != 0) {
		hoist_err_set(err, HOIST_E_IO,
			      "cannot create a temporary file next to '%s': %s",
			      path, strerror(code));
		goto out;
	}
	if (copy_fd(store, in, tx.fd, digest, crc, key, tx.tmp, err))
		goto out;
	rc = tx_commit(&tx, err);
out:
	if (rc != 0) {
		tx_abort(&tx);
		hoist_err_prefix(err, "fetching object '%s' to '%s'", key,
				 path);
	}
	close(in);
	return rc;
}

static int file_get_file(struct hoist_artifact_store *store, const char *key,
			 const char *path, struct hoist_err *err)
{
	return get_file_digest(store, key, path, NULL, NULL, err);
}

static int file_get_file_sha256(struct hoist_artifact_store *store,
				const char *key, const char *path,
				uint64_t *size, char sha256[65],
				struct hoist_err *err)
{
	struct hoist_digest digest;
	int rc = -1;

	if (hoist_digest_init(&digest, err))
		return -1;
	if (get_file_digest(store, key, path, &digest, NULL, err))
		goto out;
	if (hoist_digest_final_hex(&digest, sha256, err))
		goto out;
	*size = digest.size;
	rc = 0;
out:
	hoist_digest_release(&digest);
	return rc;
}

static int file_get_file_crc32c(struct hoist_artifact_store *store,
				const char *key, const char *path,
				uint64_t *size, uint32_t *crc32c,
				struct hoist_err *err)
{
	struct copy_crc crc = { 0, 0 };

	if (get_file_digest(store, key, path, NULL, &crc, err))
		return -1;
	*size = crc.size;
	*crc32c = crc.crc;
	return 0;
}

static int file_get_bytes(struct hoist_artifact_store *store, const char *key,
			  struct hoist_buf *buf, struct hoist_err *err)
{
	struct file_store *fs = file_store_of(store);
	char chunk[65536];
	struct stat st;
	int rc = -1;
	int in;

	in = open_object(fs, key, &st, err);
	if (in < 0)
		return -1;
	if ((uint64_t)st.st_size > buf->max - buf->len) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "object '%s' has %lld bytes, more than the %zu "
			      "bytes left in the buffer", key,
			      (long long)st.st_size, buf->max - buf->len);
		goto out;
	}
	if (hoist_buf_append(buf, "", 0, err))
		goto out;
	for (;;) {
		ssize_t n = read(in, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hoist_err_set(err, HOIST_E_IO,
				      "cannot read object '%s': %s", key,
				      strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (hoist_buf_append(buf, chunk, (size_t)n, err)) {
			hoist_err_prefix(err, "reading object '%s'", key);
			goto out;
		}
	}
	rc = 0;
out:
	close(in);
	return rc;
}

/* Removes the folders of key that became empty, deepest first; stops at
 * the first folder that is not empty and never removes the root. */
static void prune_parents(struct file_store *fs, const char *key)
{
	char path[PATH_MAX];
	size_t root_len = strlen(fs->root);
	char *slash;

	if (snprintf(path, sizeof(path), "%s/%s", fs->root, key) >=
	    (int)sizeof(path))
		return;
	while ((slash = strrchr(path, '/')) && (size_t)(slash - path) >
	       root_len) {
		*slash = '\0';
		if (rmdir(path) != 0)
			return;
	}
}

static int file_remove(struct hoist_artifact_store *store, const char *key,
		       struct hoist_err *err)
{
	struct file_store *fs = file_store_of(store);
	char path[PATH_MAX];

	if (object_path(fs, key, path, sizeof(path), err))
		return -1;
	if (unlink(path) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		if (errno == EISDIR)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "cannot remove '%s' from '%s': it "
					     "is a folder of objects, not an "
					     "object", key, fs->base.url);
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot remove object '%s' ('%s'): %s",
				     key, path, strerror(errno));
	}
	prune_parents(fs, key);
	return 0;
}

struct list_walk {
	struct file_store *fs;
	const char *prefix;
	size_t prefix_len;
	hoist_artifact_list_cb cb;
	void *arg;
	int stopped;
	char key[HOIST_ARTIFACT_KEY_MAX + NAME_MAX + 2];
};

/* Returns 1 if the walk's prefix and the first len bytes of key agree on
 * their common length, so key or a key below it may match. */
static int prefix_compatible(const struct list_walk *walk, size_t len)
{
	size_t n = len < walk->prefix_len ? len : walk->prefix_len;

	return memcmp(walk->key, walk->prefix, n) == 0;
}

/*
 * Lists the folder whose key prefix is walk->key[0..len) (empty or ending
 * with '/').  Each nesting level keeps one folder open, and keys are at
 * most HOIST_ARTIFACT_KEY_MAX bytes, so the depth is bounded.
 */
static int walk_folder(struct list_walk *walk, size_t len,
		       struct hoist_err *err)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *dir;
	int rc = -1;

	if (snprintf(path, sizeof(path), "%s/%.*s", walk->fs->root, (int)len,
		     walk->key) >= (int)sizeof(path))
		return 0;
	dir = opendir(path);
	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot open folder '%s': %s", path,
				     strerror(errno));
	}
	while (!walk->stopped) {
		struct stat st;
		size_t name_len;
		size_t child_len;

		errno = 0;
		entry = readdir(dir);
		if (!entry) {
			if (errno != 0) {
				hoist_err_set(err, HOIST_E_IO,
					      "cannot read folder '%s': %s",
					      path, strerror(errno));
				goto out;
			}
			break;
		}
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..") ||
		    is_tmp_name(entry->d_name))
			continue;
		name_len = strlen(entry->d_name);
		child_len = len + name_len;
		if (child_len > HOIST_ARTIFACT_KEY_MAX)
			continue;	/* no valid key is this long */
		memcpy(walk->key + len, entry->d_name, name_len + 1);
		if (!prefix_compatible(walk, child_len))
			continue;
		if (fstatat(dirfd(dir), entry->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;	/* removed meanwhile */
			hoist_err_set(err, HOIST_E_IO,
				      "cannot stat '%s/%s': %s", path,
				      entry->d_name, strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			walk->key[child_len] = '/';
			walk->key[child_len + 1] = '\0';
			if (!prefix_compatible(walk, child_len + 1))
				continue;
			if (walk_folder(walk, child_len + 1, err))
				goto out;
			continue;
		}
		/* Only regular files with a valid key are objects; anything
		 * else was not written through this interface. */
		if (!S_ISREG(st.st_mode) || child_len < walk->prefix_len ||
		    !hoist_artifact_key_valid(walk->key))
			continue;
		if (walk->cb(walk->key, (uint64_t)st.st_size, walk->arg))
			walk->stopped = 1;
	}
	rc = 0;
out:
	closedir(dir);
	return rc;
}

static int file_list(struct hoist_artifact_store *store, const char *prefix,
		     hoist_artifact_list_cb cb, void *arg,
		     struct hoist_err *err)
{
	struct list_walk *walk;
	const char *slash;
	size_t dir_len;
	int rc;

	if (!prefix)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "list prefix is missing");
	if (strlen(prefix) > HOIST_ARTIFACT_KEY_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "list prefix '%.64s...' is longer than %d "
				     "bytes", prefix, HOIST_ARTIFACT_KEY_MAX);
	slash = strrchr(prefix, '/');
	dir_len = slash ? (size_t)(slash - prefix) + 1 : 0;
	if (dir_len > 0) {
		char folder[HOIST_ARTIFACT_KEY_MAX + 1];
		const char *reason;

		memcpy(folder, prefix, dir_len - 1);
		folder[dir_len - 1] = '\0';
		reason = hoist_artifact_key_error(folder);
		if (reason)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid list prefix '%s': its "
					     "folder part %s", prefix, reason);
	}
	for (const char *p = prefix + dir_len; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid list prefix '%s': it "
					     "contains a control character",
					     prefix);
	}

	walk = calloc(1, sizeof(*walk));
	if (!walk)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory listing '%s'", prefix);
	walk->fs = file_store_of(store);
	walk->prefix = prefix;
	walk->prefix_len = strlen(prefix);
	walk->cb = cb;
	walk->arg = arg;
	memcpy(walk->key, prefix, dir_len);
	walk->key[dir_len] = '\0';
	rc = walk_folder(walk, dir_len, err);
	if (rc)
		hoist_err_prefix(err, "listing '%s' in '%s'", prefix,
				 store->url);
	free(walk);
	return rc;
}

static void file_close(struct hoist_artifact_store *store)
{
	free(file_store_of(store));
}

static const struct hoist_artifact_ops file_ops = {
	.scheme = "file",
	.put_file = file_put_file,
	.put_bytes = file_put_bytes,
	.get_file = file_get_file,
	.get_bytes = file_get_bytes,
	.remove = file_remove,
	.list = file_list,
	.close = file_close,
	.put_file_sha256 = file_put_file_sha256,
	.get_file_sha256 = file_get_file_sha256,
	.put_file_crc32c = file_put_file_crc32c,
	.get_file_crc32c = file_get_file_crc32c,
};

int hoist_file_store_open(const char *root, const char *url,
			  struct hoist_artifact_store **out,
			  struct hoist_err *err)
{
	struct file_store *fs;
	struct stat st;
	size_t len = strlen(root);

	*out = NULL;
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (root[0] != '/')
		return hoist_err_set(err, HOIST_E_INVALID,
				     "store folder '%s' in '%s' is not an "
				     "absolute path", root, url);
	if (len == 1)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "store folder of '%s' is '/'; use a "
				     "folder of its own, such as "
				     "file:///var/lib/hoist/artifacts", url);
	/* Leave room for "/" and a key of maximum length. */
	if (len + 1 + HOIST_ARTIFACT_KEY_MAX >= PATH_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "store folder in '%s' is too long (at most "
				     "%d bytes)", url,
				     PATH_MAX - 2 - HOIST_ARTIFACT_KEY_MAX);
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory opening '%s'", url);
	memcpy(fs->root, root, len);
	fs->root[len] = '\0';
	snprintf(fs->base.url, sizeof(fs->base.url), "%s", url);
	fs->base.ops = &file_ops;

	if (hoist_util_mkdir_p(fs->root, 0777, err))
		goto fail;
	if (stat(fs->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "store folder '%s' is not a folder", fs->root);
		goto fail;
	}
	*out = &fs->base;
	return 0;
fail:
	hoist_err_prefix(err, "opening store '%s'", url);
	free(fs);
	return -1;
}
