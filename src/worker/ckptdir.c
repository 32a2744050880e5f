#include "worker/ckptdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STEP_DIGITS_MAX 18

int hoist_ckptdir_parse_name(const char *name, int64_t *step)
{
	static const char prefix[] = "step-";
	const char *digits;
	size_t len;
	int64_t value = 0;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	digits = name + sizeof(prefix) - 1;
	len = strlen(digits);
	if (len == 0 || len > STEP_DIGITS_MAX)
		return 0;
	if (digits[0] == '0' && len > 1)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return 0;
		value = value * 10 + (digits[i] - '0');
	}
	*step = value;
	return 1;
}

static int compare_steps(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int hoist_ckptdir_scan(const char *dir, int64_t *steps, size_t max,
		       size_t *count, struct hoist_err *err)
{
	struct dirent *entry;
	DIR *handle;
	int rc = -1;

	*count = 0;
	handle = opendir(dir);
	if (!handle) {
		if (errno == ENOENT)
			return 0;
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot open checkpoint folder '%s': %s",
				     dir, strerror(errno));
	}
	for (;;) {
		struct stat st;
		int64_t step;

		errno = 0;
		entry = readdir(handle);
		if (!entry) {
			if (errno != 0) {
				hoist_err_set(err, HOIST_E_IO,
					      "cannot read checkpoint folder "
					      "'%s': %s", dir, strerror(errno));
				goto out;
			}
			break;
		}
		if (!hoist_ckptdir_parse_name(entry->d_name, &step))
			continue;
		if (fstatat(dirfd(handle), entry->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (*count == max) {
			hoist_err_set(err, HOIST_E_NOMEM,
				      "checkpoint folder '%s' holds more than "
				      "%zu step folders; delete old ones", dir,
				      max);
			goto out;
		}
		steps[(*count)++] = step;
	}
	qsort(steps, *count, sizeof(*steps), compare_steps);
	rc = 0;
out:
	closedir(handle);
	return rc;
}

int64_t hoist_ckptdir_pick(const int64_t *steps, size_t count,
			   int64_t last_committed)
{
	if (count == 0 || steps[count - 1] <= last_committed)
		return -1;
	return steps[count - 1];
}
