#include "worker/fsutil.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hoist_fsutil_mkdir_p(const char *path, unsigned mode,
			 struct hoist_err *err)
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

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int hoist_fsutil_remove_tree(const char *path, struct hoist_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot remove '%s': %s",
				     path, strerror(errno));
	return 0;
}

static int is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* Stores dir/name in out if that is an executable file. */
static int try_dir(const char *dir, size_t dir_len, const char *name,
		   char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%.*s/%s", (int)dir_len, dir, name);

	return n > 0 && (size_t)n < outlen && is_executable(out);
}

int hoist_fsutil_find_program(const char *name, char *out, size_t outlen,
			      struct hoist_err *err)
{
	const char *bin_dir = getenv("HOIST_BIN_DIR");
	const char *path_env = getenv("PATH");
	char self[PATH_MAX];
	ssize_t n;

	if (bin_dir && *bin_dir && try_dir(bin_dir, strlen(bin_dir), name,
					   out, outlen))
		return 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash && try_dir(self, (size_t)(slash - self), name, out,
				     outlen))
			return 0;
	}
	while (path_env && *path_env) {
		const char *colon = strchr(path_env, ':');
		size_t len = colon ? (size_t)(colon - path_env) :
				     strlen(path_env);

		/* An empty entry or a relative one would depend on the
		 * current folder, which the agent does not control. */
		if (len > 0 && path_env[0] == '/' &&
		    try_dir(path_env, len, name, out, outlen))
			return 0;
		path_env = colon ? colon + 1 : NULL;
	}
	return hoist_err_set(err, HOIST_E_NOT_FOUND,
			     "cannot find the '%s' executable in "
			     "$HOIST_BIN_DIR, next to this program or in "
			     "$PATH; install it next to hoist-agent or set "
			     "HOIST_BIN_DIR to the folder that holds it",
			     name);
}
