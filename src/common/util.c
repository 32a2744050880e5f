#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

int hoist_util_mkdir_p(const char *path, unsigned mode, struct hoist_err *err)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid directory path '%s'", path);
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot create directory '%s': %s",
					     tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot create directory '%s': %s", tmp,
				     strerror(errno));
	return 0;
}

int hoist_util_read_file(const char *path, struct hoist_buf *buf,
			 struct hoist_err *err)
{
	char chunk[65536];
	int rc = -1;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot open '%s': %s", path,
				     strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot read '%s': %s",
				      path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (hoist_buf_append(buf, chunk, (size_t)n, err)) {
			hoist_err_prefix(err, "reading '%s'", path);
			goto out;
		}
	}
	if (!buf->data && hoist_buf_append(buf, "", 0, err))
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
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

int hoist_util_fsync_dir(const char *dir, struct hoist_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot open directory '%s': %s", dir,
				     strerror(errno));
	if (fsync(fd) != 0 && errno != EINVAL) {
		int saved = errno;

		close(fd);
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot fsync directory '%s': %s", dir,
				     strerror(saved));
	}
	close(fd);
	return 0;
}

int hoist_util_write_file_atomic(const char *path, const void *data,
				 size_t len, unsigned mode,
				 struct hoist_err *err)
{
	char tmp[PATH_MAX];
	char dir[PATH_MAX];
	char *slash;
	int fd = -1;
	int rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return hoist_err_set(err, HOIST_E_INVALID, "path too long: '%s'",
				     path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot create '%s': %s", tmp,
			      strerror(errno));
		goto out;
	}
	if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot write '%s': %s", tmp,
			      strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		hoist_err_set(err, HOIST_E_IO, "cannot close '%s': %s", tmp,
			      strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot rename '%s' to '%s': %s",
			      tmp, path, strerror(errno));
		goto out;
	}
	rc = hoist_util_fsync_dir(dir, err);
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int hoist_util_remove_tree(const char *path, struct hoist_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot remove '%s': %s",
				     path, strerror(errno));
	return 0;
}

int hoist_util_random_hex(char *out, size_t nbytes, struct hoist_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];

	if (nbytes > sizeof(raw))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "at most %zu random bytes at once",
				     sizeof(raw));
	if (RAND_bytes(raw, (int)nbytes) != 1)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "the random generator failed");
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return 0;
}

int hoist_util_self_dir(char *out, size_t outlen, struct hoist_err *err)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n < 0)
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot read /proc/self/exe: %s",
				     strerror(errno));
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash)
		*slash = '\0';
	if (snprintf(out, outlen, "%s", path) >= (int)outlen)
		return hoist_err_set(err, HOIST_E_INVALID, "path too long");
	return 0;
}

int hoist_util_home_dir(char *out, size_t outlen, struct hoist_err *err)
{
	const char *home = getenv("HOIST_HOME");
	int n;

	if (home && *home) {
		n = snprintf(out, outlen, "%s", home);
	} else {
		const char *user_home = getenv("HOME");

		if (!user_home || !*user_home)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "neither HOIST_HOME nor HOME is set; "
					     "set HOIST_HOME to a writable directory");
		n = snprintf(out, outlen, "%s/.local/share/hoist", user_home);
	}
	if (n < 0 || (size_t)n >= outlen)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "hoist home directory path too long");
	return 0;
}

int hoist_util_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

void hoist_util_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static int is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

int hoist_util_find_program(const char *name, char *out, size_t outlen,
			    struct hoist_err *err)
{
	static const char *const build_dirs[] = {
		"", "/../orchestrator", "/../worker", "/../cli", "/../providers",
	};
	char self[PATH_MAX];
	const char *bin_dir = getenv("HOIST_BIN_DIR");
	const char *path_env = getenv("PATH");
	struct hoist_err ignored = HOIST_ERR_INIT;

	if (bin_dir && *bin_dir) {
		snprintf(out, outlen, "%s/%s", bin_dir, name);
		if (is_executable(out))
			return 0;
	}
	if (hoist_util_self_dir(self, sizeof(self), &ignored) == 0) {
		for (size_t i = 0; i < sizeof(build_dirs) / sizeof(*build_dirs);
		     i++) {
			char dir[PATH_MAX];

			snprintf(dir, sizeof(dir), "%s%s", self, build_dirs[i]);
			if (snprintf(out, outlen, "%s/%s", dir, name) >=
			    (int)outlen)
				continue;
			if (is_executable(out)) {
				char *real = realpath(out, NULL);

				if (real) {
					snprintf(out, outlen, "%s", real);
					free(real);
				}
				return 0;
			}
		}
	}
	while (path_env && *path_env) {
		const char *colon = strchr(path_env, ':');
		size_t len = colon ? (size_t)(colon - path_env) :
				     strlen(path_env);

		if (len > 0 && snprintf(out, outlen, "%.*s/%s", (int)len,
					path_env, name) < (int)outlen &&
		    is_executable(out))
			return 0;
		path_env = colon ? colon + 1 : NULL;
	}
	return hoist_err_set(err, HOIST_E_NOT_FOUND,
			     "cannot find the '%s' executable; build hoist "
			     "or set HOIST_BIN_DIR to the folder that holds it",
			     name);
}

int hoist_util_find_config(const char *name, char *out, size_t outlen,
			   struct hoist_err *err)
{
	const char *dirs[3];
	const char *config_dir = getenv("HOIST_CONFIG_DIR");
	size_t count = 0;

	if (config_dir && *config_dir)
		dirs[count++] = config_dir;
#ifdef HOIST_SOURCE_DIR
	dirs[count++] = HOIST_SOURCE_DIR "/config";
#endif
	dirs[count++] = "/etc/hoist";
	for (size_t i = 0; i < count; i++) {
		if (snprintf(out, outlen, "%s/%s", dirs[i], name) >=
		    (int)outlen)
			continue;
		if (access(out, R_OK) == 0)
			return 0;
	}
	return hoist_err_set(err, HOIST_E_NOT_FOUND,
			     "cannot find %s in $HOIST_CONFIG_DIR, the source "
			     "tree's config/ or /etc/hoist; set "
			     "HOIST_CONFIG_DIR to the folder that holds it",
			     name);
}
