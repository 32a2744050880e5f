/*
 * manifest.c - strict parsing and formatting of checkpoint manifests.
 *
 * The manifest is the only description of a checkpoint that a restore
 * trusts, so the parser rejects anything it does not fully understand:
 * unknown fields, wrong types, unsafe or duplicate paths, and checksums
 * that are not lowercase hex of the right length.
 *
 * Format 2 records each file's CRC-32C, which uploads and restores sum on
 * the bytes in flight.  Format 1, written by earlier builds, recorded the
 * SHA-256, and restores still read and verify such manifests with it.
 */
#include "storage/checkpoint.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/crc32c.h"
#include "storage/digest.h"

static const char *const top_fields[] = {
	"format", "job_id", "attempt", "step", "created_at", "files",
};
static const char *const file_fields_v1[] = { "path", "size", "sha256" };
static const char *const file_fields_v2[] = { "path", "size", "crc32c" };

static int field_known(const char *name, const char *const *fields,
		       size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!strcmp(name, fields[i]))
			return 1;
	}
	return 0;
}

/* Writes the name of a field for messages: "step" or "files[2].path". */
static void field_name(char *out, size_t outlen, const char *where,
		       const char *name)
{
	if (where[0])
		snprintf(out, outlen, "%s.%s", where, name);
	else
		snprintf(out, outlen, "%s", name);
}

static int check_fields(json_t *object, const char *where,
			const char *const *fields, size_t count,
			struct hoist_err *err)
{
	const char *object_name = where[0] ? where : "the top level";
	const char *name;
	json_t *value;

	json_object_foreach(object, name, value) {
		(void)value;
		if (!field_known(name, fields, count))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "%s has the unknown field '%s'",
					     object_name, name);
	}
	for (size_t i = 0; i < count; i++) {
		if (!json_object_get(object, fields[i]))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "%s is missing the field '%s'",
					     object_name, fields[i]);
	}
	return 0;
}

/* Reads an integer field in [min, max]. */
static int get_integer(json_t *object, const char *name, const char *where,
		       json_int_t min, json_int_t max, json_int_t *out,
		       struct hoist_err *err)
{
	json_t *value = json_object_get(object, name);
	char field[64];
	json_int_t n;

	field_name(field, sizeof(field), where, name);
	if (!json_is_integer(value))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s must be an integer", field);
	n = json_integer_value(value);
	if (n < min || n > max)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s is %lld, outside %lld..%lld", field,
				     (long long)n, (long long)min,
				     (long long)max);
	*out = n;
	return 0;
}

/* Reads a string field without NUL characters, 1 to max_len bytes long. */
static int get_string(json_t *object, const char *name, const char *where,
		      size_t max_len, const char **out, struct hoist_err *err)
{
	json_t *value = json_object_get(object, name);
	char field[64];
	const char *text;
	size_t len;

	field_name(field, sizeof(field), where, name);
	if (!json_is_string(value))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s must be a string", field);
	text = json_string_value(value);
	len = json_string_length(value);
	if (strlen(text) != len)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s contains a NUL character", field);
	if (len == 0 || len > max_len)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s must have 1 to %zu bytes, not %zu",
				     field, max_len, len);
	*out = text;
	return 0;
}

/* Returns 1 for "YYYY-MM-DDTHH:MM:SS[.fraction]Z". */
static int rfc3339_utc_valid(const char *text)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; shape[i]; i++) {
		char c = text[i];

		if (shape[i] == 'd' ? !(c >= '0' && c <= '9') : c != shape[i])
			return 0;
	}
	if (text[i] == '.') {
		i++;
		if (!(text[i] >= '0' && text[i] <= '9'))
			return 0;
		while (text[i] >= '0' && text[i] <= '9')
			i++;
	}
	return text[i] == 'Z' && text[i + 1] == '\0';
}

static int parse_header(json_t *root, struct hoist_manifest *out,
			struct hoist_err *err)
{
	const char *text;
	const char *reason;
	json_int_t n;

	if (!json_is_integer(json_object_get(root, "format")))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "format must be an integer");
	n = json_integer_value(json_object_get(root, "format"));
	if (n != 1 && n != HOIST_MANIFEST_FORMAT)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "format %lld is not supported; this build "
				     "reads formats 1 to %d", (long long)n,
				     HOIST_MANIFEST_FORMAT);
	out->format = (int)n;

	if (get_string(root, "job_id", "", sizeof(out->job_id) - 1, &text,
		       err))
		return -1;
	reason = hoist_checkpoint_job_id_error(text);
	if (reason)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "job_id '%s' %s", text, reason);
	memcpy(out->job_id, text, strlen(text) + 1);

	if (get_integer(root, "attempt", "", 1, INT_MAX, &n, err))
		return -1;
	out->attempt = (int)n;
	if (get_integer(root, "step", "", 0, INT64_MAX, &n, err))
		return -1;
	out->step = (int64_t)n;

	if (get_string(root, "created_at", "", sizeof(out->created_at) - 1,
		       &text, err))
		return -1;
	if (!rfc3339_utc_valid(text))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "created_at '%s' is not an RFC 3339 UTC "
				     "time such as 2026-12-04T19:48:34.123Z",
				     text);
	memcpy(out->created_at, text, strlen(text) + 1);
	return 0;
}

static int parse_file(json_t *entry, size_t index, int format,
		      struct hoist_manifest_file *file, struct hoist_err *err)
{
	const char *const *fields = format == 1 ? file_fields_v1 :
				    file_fields_v2;
	char where[48];
	const char *text;
	const char *reason;
	json_int_t size;

	snprintf(where, sizeof(where), "files[%zu]", index);
	if (!json_is_object(entry))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s must be an object", where);
	if (check_fields(entry, where, fields, 3, err))
		return -1;

	if (get_string(entry, "path", where, HOIST_ARTIFACT_KEY_MAX, &text,
		       err))
		return -1;
	reason = hoist_artifact_key_error(text);
	if (reason)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s.path '%s' is unsafe: the path %s",
				     where, text, reason);
	file->path = strdup(text);
	if (!file->path)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory parsing the manifest");

	if (get_integer(entry, "size", where, 0, LLONG_MAX, &size, err))
		return -1;
	file->size = (uint64_t)size;

	if (format == 1) {
		if (get_string(entry, "sha256", where, 64, &text, err))
			return -1;
		if (!hoist_digest_hex_valid(text))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "%s.sha256 '%s' is not 64 "
					     "lowercase hex characters", where,
					     text);
		memcpy(file->sha256, text, 65);
		return 0;
	}
	if (get_string(entry, "crc32c", where, 8, &text, err))
		return -1;
	if (hoist_crc32c_parse(text, &file->crc32c))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s.crc32c '%s' is not 8 lowercase hex "
				     "characters", where, text);
	return 0;
}

static int compare_file_paths(const void *a, const void *b)
{
	const struct hoist_manifest_file *const *fa = a;
	const struct hoist_manifest_file *const *fb = b;

	return strcmp((*fa)->path, (*fb)->path);
}

static int compare_path_to_file(const void *key, const void *member)
{
	const struct hoist_manifest_file *const *file = member;

	return strcmp(key, (*file)->path);
}

/*
 * Rejects two entries with the same path, and a path that is also a folder
 * of another path ("a" and "a/b"), because a restore cannot create both.
 */
static int check_path_set(struct hoist_manifest *manifest,
			  struct hoist_err *err)
{
	struct hoist_manifest_file **sorted;
	char folder[HOIST_ARTIFACT_KEY_MAX + 1];
	int rc = -1;

	if (manifest->nfiles < 2)
		return 0;
	sorted = malloc(manifest->nfiles * sizeof(*sorted));
	if (!sorted)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory checking manifest paths");
	for (size_t i = 0; i < manifest->nfiles; i++)
		sorted[i] = &manifest->files[i];
	qsort(sorted, manifest->nfiles, sizeof(*sorted), compare_file_paths);

	for (size_t i = 0; i + 1 < manifest->nfiles; i++) {
		if (!strcmp(sorted[i]->path, sorted[i + 1]->path)) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "files lists the path '%s' twice",
				      sorted[i]->path);
			goto out;
		}
	}
	for (size_t i = 0; i < manifest->nfiles; i++) {
		const char *path = sorted[i]->path;

		for (const char *slash = strchr(path, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			size_t n = (size_t)(slash - path);

			memcpy(folder, path, n);
			folder[n] = '\0';
			if (bsearch(folder, sorted, manifest->nfiles,
				    sizeof(*sorted), compare_path_to_file)) {
				hoist_err_set(err, HOIST_E_INVALID,
					      "files lists '%s' as a file and "
					      "as the folder of '%s'", folder,
					      path);
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(sorted);
	return rc;
}

static int parse_files(json_t *root, struct hoist_manifest *out,
		       struct hoist_err *err)
{
	json_t *files = json_object_get(root, "files");
	size_t count;

	if (!json_is_array(files))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "files must be an array");
	count = json_array_size(files);
	if (count > HOIST_MANIFEST_MAX_FILES)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "files lists %zu files, more than the "
				     "limit of %d", count,
				     HOIST_MANIFEST_MAX_FILES);
	if (count == 0)
		return 0;
	out->files = calloc(count, sizeof(*out->files));
	if (!out->files)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory for %zu manifest files",
				     count);
	for (size_t i = 0; i < count; i++) {
		out->nfiles = i + 1;	/* so release frees a partial path */
		if (parse_file(json_array_get(files, i), i, out->format,
			       &out->files[i], err))
			return -1;
	}
	return check_path_set(out, err);
}

int hoist_manifest_parse(const char *text, size_t len,
			 struct hoist_manifest *out, struct hoist_err *err)
{
	json_error_t jerr;
	json_t *root = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > HOIST_MANIFEST_MAX_BYTES)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid manifest: %zu bytes, more than "
				     "the limit of %u", len,
				     HOIST_MANIFEST_MAX_BYTES);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "invalid manifest: not valid JSON at line %d "
			      "column %d: %s", jerr.line, jerr.column,
			      jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "invalid manifest: the top level must be an "
			      "object");
		goto out;
	}
	if (check_fields(root, "", top_fields,
			 sizeof(top_fields) / sizeof(*top_fields), err) ||
	    parse_header(root, out, err) || parse_files(root, out, err)) {
		if (err && err->code == HOIST_E_INVALID)
			hoist_err_prefix(err, "invalid manifest");
		goto out;
	}
	rc = 0;
out:
	if (rc)
		hoist_manifest_release(out);
	json_decref(root);
	return rc;
}

void hoist_manifest_release(struct hoist_manifest *manifest)
{
	if (!manifest)
		return;
	for (size_t i = 0; i < manifest->nfiles; i++)
		free(manifest->files[i].path);
	free(manifest->files);
	memset(manifest, 0, sizeof(*manifest));
}

static json_t *manifest_to_json(const struct hoist_manifest *manifest)
{
	int format = manifest->format ? manifest->format :
		     HOIST_MANIFEST_FORMAT;
	json_t *files = json_array();
	json_t *root = NULL;

	if (!files)
		return NULL;
	for (size_t i = 0; i < manifest->nfiles; i++) {
		const struct hoist_manifest_file *file = &manifest->files[i];
		char crc[HOIST_CRC32C_HEX_LEN + 1];
		json_t *entry;

		hoist_crc32c_format(file->crc32c, crc);
		entry = json_pack("{s:s, s:I, s:s}", "path", file->path,
				  "size", (json_int_t)file->size,
				  format == 1 ? "sha256" : "crc32c",
				  format == 1 ? file->sha256 : crc);

		if (!entry || json_array_append_new(files, entry)) {
			json_decref(files);
			return NULL;
		}
	}
	root = json_pack("{s:i, s:s, s:i, s:I, s:s, s:o}",
			 "format", format,
			 "job_id", manifest->job_id,
			 "attempt", manifest->attempt,
			 "step", (json_int_t)manifest->step,
			 "created_at", manifest->created_at,
			 "files", files);
	return root;	/* json_pack's "o" took files, even on failure */
}

int hoist_manifest_format(const struct hoist_manifest *manifest,
			  struct hoist_buf *out, struct hoist_err *err)
{
	json_t *root;
	char *text;
	int rc;

	for (size_t i = 0; i < manifest->nfiles; i++) {
		if (manifest->files[i].size > (uint64_t)LLONG_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "file '%s' is too large for a "
					     "manifest",
					     manifest->files[i].path);
	}
	root = manifest_to_json(manifest);
	if (!root)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory building the manifest");
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory formatting the manifest");
	rc = hoist_buf_appends(out, text, err);
	if (rc == 0)
		rc = hoist_buf_append(out, "\n", 1, err);
	free(text);
	if (rc)
		hoist_err_prefix(err, "formatting the manifest of %zu files",
				 manifest->nfiles);
	return rc;
}
