#include "providers/local_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/util.h"

/* The largest JSON file of an instance folder. */
#define JSON_FILE_MAX (64 * 1024)

int hoist_local_dir_id_valid(const char *id)
{
	size_t prefix = strlen(HOIST_LOCAL_ID_PREFIX);

	if (!id || strncmp(id, HOIST_LOCAL_ID_PREFIX, prefix) != 0 ||
	    strlen(id) != prefix + 2 * HOIST_LOCAL_ID_HEX_BYTES)
		return 0;
	for (const char *p = id + prefix; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

int hoist_local_dir_path(char *out, size_t outlen, const char *dir,
			 const char *name, struct hoist_err *err)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outlen)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "path too long: '%s/%s'", dir, name);
	return 0;
}

int hoist_local_dir_has(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (hoist_local_dir_path(path, sizeof(path), dir, name, NULL) != 0)
		return 0;
	return lstat(path, &st) == 0;
}

int hoist_local_dir_read_text(const char *dir, const char *name, char *out,
			      size_t outlen, struct hoist_err *err)
{
	struct hoist_buf buf;
	char path[PATH_MAX];
	int rc = -1;

	if (hoist_local_dir_path(path, sizeof(path), dir, name, err) != 0)
		return -1;
	hoist_buf_init(&buf, outlen - 1);
	if (hoist_util_read_file(path, &buf, err) != 0)
		goto out;
	memcpy(out, hoist_buf_str(&buf), buf.len + 1);
	rc = 0;
out:
	hoist_buf_release(&buf);
	return rc;
}

int hoist_local_dir_read_shim(const char *dir, pid_t *pid,
			      unsigned long long *start_time,
			      struct hoist_err *err)
{
	char text[128];
	long long value;
	char end;

	if (hoist_local_dir_read_text(dir, HOIST_LOCAL_SHIM_PID, text,
				      sizeof(text), err) != 0)
		return -1;
	if (sscanf(text, "%lld %llu%c", &value, start_time, &end) != 3 ||
	    end != '\n' || value <= 1 || value > INT_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "malformed %s/%s: expected \"<pid> "
				     "<start time>\"", dir,
				     HOIST_LOCAL_SHIM_PID);
	*pid = (pid_t)value;
	return 0;
}

int hoist_local_dir_write_shim(const char *dir, pid_t pid,
			       unsigned long long start_time,
			       struct hoist_err *err)
{
	char path[PATH_MAX];
	char text[64];
	int n;

	if (hoist_local_dir_path(path, sizeof(path), dir, HOIST_LOCAL_SHIM_PID,
				 err) != 0)
		return -1;
	n = snprintf(text, sizeof(text), "%d %llu\n", (int)pid, start_time);
	return hoist_util_write_file_atomic(path, text, (size_t)n, 0600, err);
}

int hoist_local_dir_read_json(const char *dir, const char *name,
			      json_t **out, struct hoist_err *err)
{
	struct hoist_buf buf;
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *value;
	int rc = -1;

	if (hoist_local_dir_path(path, sizeof(path), dir, name, err) != 0)
		return -1;
	hoist_buf_init(&buf, JSON_FILE_MAX);
	if (hoist_util_read_file(path, &buf, err) != 0)
		goto out;
	value = json_loads(hoist_buf_str(&buf), 0, &jerr);
	if (!json_is_object(value)) {
		json_decref(value);
		hoist_err_set(err, HOIST_E_INVALID,
			      "malformed '%s': %s", path,
			      value ? "not a JSON object" : jerr.text);
		goto out;
	}
	*out = value;
	rc = 0;
out:
	hoist_buf_release(&buf);
	return rc;
}

int hoist_local_dir_write_json(const char *dir, const char *name,
			       const json_t *value, struct hoist_err *err)
{
	char path[PATH_MAX];
	char *text;
	int rc;

	if (hoist_local_dir_path(path, sizeof(path), dir, name, err) != 0)
		return -1;
	text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot encode '%s'", path);
	rc = hoist_util_write_file_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}
