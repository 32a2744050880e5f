/*
 * s3_cred.c - the standard AWS credential chain, for static credentials:
 * environment variables, then the shared credentials file, then the shared
 * config file.  The file format is the INI dialect of the AWS CLI: "[name]"
 * sections ("[profile name]" in the config file, except "[default]"),
 * "key = value" lines, and comments starting with '#' or ';'.
 */
#include "storage/s3_cred.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "storage/s3.h"

#define LINE_MAX_BYTES 8192

static void copy_string(char *out, size_t outlen, const char *in)
{
	snprintf(out, outlen, "%s", in);
}

void s3_cred_profile_name(const char *name, char *out, size_t outlen)
{
	const char *env = getenv("AWS_PROFILE");

	if (name && *name)
		copy_string(out, outlen, name);
	else if (env && *env)
		copy_string(out, outlen, env);
	else
		copy_string(out, outlen, "default");
}

/* Stores the path of a shared file: $env_name, else ~/.aws/file_name. */
static int shared_file_path(const char *env_name, const char *file_name,
			    char *out, size_t outlen, struct hoist_err *err)
{
	const char *env = getenv(env_name);
	const char *home = getenv("HOME");

	if (env && *env) {
		copy_string(out, outlen, env);
		return 0;
	}
	if (!home || !*home)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "cannot find ~/.aws/%s: HOME is not set "
				     "(set HOME or %s)", file_name, env_name);
	if ((size_t)snprintf(out, outlen, "%s/.aws/%s", home, file_name) >=
	    outlen)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "HOME '%s' is too long", home);
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/*
 * Reads the section of the INI file at path and calls found() for each
 * "key = value" in it.  Returns 1 if the section exists, 0 if it or the
 * file does not, -1 with err set on a read failure.
 */
static int read_section(const char *path, const char *section,
			void (*found)(const char *key, const char *value,
				      void *arg),
			void *arg, struct hoist_err *err)
{
	char *line = NULL;
	FILE *f;
	int in_section = 0, seen = 0;
	int rc = -1;

	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return hoist_err_set(err, HOIST_E_IO, "cannot read %s: %s",
				     path, strerror(errno));
	}
	line = malloc(LINE_MAX_BYTES);
	if (!line) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory reading %s",
			      path);
		goto out;
	}
	while (fgets(line, LINE_MAX_BYTES, f)) {
		char *s = trim(line);
		char *eq;

		if (*s == '#' || *s == ';' || *s == '\0')
			continue;
		if (*s == '[') {
			char *close = strrchr(s, ']');

			if (close)
				*close = '\0';
			in_section = strcmp(trim(s + 1), section) == 0;
			seen |= in_section;
			continue;
		}
		eq = strchr(s, '=');
		if (!in_section || !eq)
			continue;
		*eq = '\0';
		found(trim(s), trim(eq + 1), arg);
	}
	if (ferror(f)) {
		hoist_err_set(err, HOIST_E_IO, "cannot read %s: %s", path,
			      strerror(errno));
		goto out;
	}
	rc = seen;
out:
	if (line)
		OPENSSL_cleanse(line, LINE_MAX_BYTES);
	free(line);
	fclose(f);
	return rc;
}

struct cred_fields {
	struct hoist_s3_credentials *cred;
	int too_long;
};

static void set_field(char *dst, size_t dstlen, const char *value,
		      int *too_long)
{
	if (strlen(value) >= dstlen)
		*too_long = 1;
	else
		copy_string(dst, dstlen, value);
}

static void cred_found(const char *key, const char *value, void *arg)
{
	struct cred_fields *f = arg;

	if (strcmp(key, "aws_access_key_id") == 0)
		set_field(f->cred->access_key_id,
			  sizeof(f->cred->access_key_id), value, &f->too_long);
	else if (strcmp(key, "aws_secret_access_key") == 0)
		set_field(f->cred->secret_access_key,
			  sizeof(f->cred->secret_access_key), value,
			  &f->too_long);
	else if (strcmp(key, "aws_session_token") == 0)
		set_field(f->cred->session_token,
			  sizeof(f->cred->session_token), value, &f->too_long);
}

/* Checks the fields found in source: both keys (returns 1), none
 * (returns 0), or one of them (fails). */
static int check_pair(struct hoist_s3_credentials *cred, const char *source,
		      struct hoist_err *err)
{
	int id = cred->access_key_id[0] != '\0';
	int secret = cred->secret_access_key[0] != '\0';

	if (id && secret) {
		copy_string(cred->source, sizeof(cred->source), source);
		return 1;
	}
	if (id || secret)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "incomplete AWS credentials in %s: %s is "
				     "set but %s is missing", source,
				     id ? "the access key id" : "the secret "
				     "access key",
				     id ? "the secret access key" :
				     "the access key id");
	if (cred->session_token[0])
		return hoist_err_set(err, HOIST_E_INVALID,
				     "incomplete AWS credentials in %s: a "
				     "session token is set without an access "
				     "key id and secret access key", source);
	return 0;
}

static int from_env(struct hoist_s3_credentials *cred,
		    struct hoist_err *err)
{
	static const struct {
		const char *name;
		size_t offset;
		size_t size;
	} vars[] = {
		{ "AWS_ACCESS_KEY_ID",
		  offsetof(struct hoist_s3_credentials, access_key_id),
		  sizeof(cred->access_key_id) },
		{ "AWS_SECRET_ACCESS_KEY",
		  offsetof(struct hoist_s3_credentials, secret_access_key),
		  sizeof(cred->secret_access_key) },
		{ "AWS_SESSION_TOKEN",
		  offsetof(struct hoist_s3_credentials, session_token),
		  sizeof(cred->session_token) },
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *value = getenv(vars[i].name);

		if (!value || !*value)
			continue;
		if (strlen(value) >= vars[i].size)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "%s is longer than %zu bytes",
					     vars[i].name, vars[i].size - 1);
		copy_string((char *)cred + vars[i].offset, vars[i].size,
			    value);
	}
	return check_pair(cred, "the environment (AWS_ACCESS_KEY_ID and "
			  "AWS_SECRET_ACCESS_KEY)", err);
}

static int from_file(const char *path, const char *section,
		     struct hoist_s3_credentials *cred, struct hoist_err *err)
{
	struct cred_fields fields = { cred, 0 };
	char source[512];
	int found;

	found = read_section(path, section, cred_found, &fields, err);
	if (found <= 0)
		return found;
	snprintf(source, sizeof(source), "%s [%s]", path, section);
	if (fields.too_long)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "a credential in %s is too long", source);
	return check_pair(cred, source, err);
}

int hoist_s3_credentials_load(const char *profile,
			      struct hoist_s3_credentials *out,
			      struct hoist_err *err)
{
	char name[128];
	char section[160];
	char cred_path[1024];
	char config_path[1024];
	int found;

	memset(out, 0, sizeof(*out));
	found = from_env(out, err);
	if (found)
		return found < 0 ? -1 : 0;

	s3_cred_profile_name(profile, name, sizeof(name));
	if (shared_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials",
			     cred_path, sizeof(cred_path), err) ||
	    shared_file_path("AWS_CONFIG_FILE", "config", config_path,
			     sizeof(config_path), err))
		return -1;

	memset(out, 0, sizeof(*out));
	found = from_file(cred_path, name, out, err);
	if (found)
		return found < 0 ? -1 : 0;

	memset(out, 0, sizeof(*out));
	if (strcmp(name, "default") == 0)
		copy_string(section, sizeof(section), "default");
	else
		snprintf(section, sizeof(section), "profile %s", name);
	found = from_file(config_path, section, out, err);
	if (found)
		return found < 0 ? -1 : 0;

	memset(out, 0, sizeof(*out));
	return hoist_err_set(err, HOIST_E_NOT_FOUND,
			     "no AWS credentials found for profile '%s': "
			     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are "
			     "not set, and neither %s [%s] nor %s [%s] has "
			     "aws_access_key_id and aws_secret_access_key; "
			     "set them or pick another profile with "
			     "AWS_PROFILE", name, cred_path, name,
			     config_path, section);
}

struct value_lookup {
	const char *setting;
	char *out;
	size_t outlen;
	int found;
	int too_long;
};

static void value_found(const char *key, const char *value, void *arg)
{
	struct value_lookup *v = arg;

	if (strcmp(key, v->setting) != 0)
		return;
	if (strlen(value) >= v->outlen) {
		v->too_long = 1;
		return;
	}
	copy_string(v->out, v->outlen, value);
	v->found = 1;
}

int s3_cred_config_value(const char *profile, const char *setting,
			 char *out, size_t outlen, struct hoist_err *err)
{
	struct value_lookup v = { setting, out, outlen, 0, 0 };
	char name[128];
	char section[160];
	char path[1024];
	const char *home = getenv("HOME");
	const char *env = getenv("AWS_CONFIG_FILE");

	if ((!env || !*env) && (!home || !*home))
		return 0;
	if (shared_file_path("AWS_CONFIG_FILE", "config", path, sizeof(path),
			     err))
		return -1;
	s3_cred_profile_name(profile, name, sizeof(name));
	if (strcmp(name, "default") == 0)
		copy_string(section, sizeof(section), "default");
	else
		snprintf(section, sizeof(section), "profile %s", name);
	if (read_section(path, section, value_found, &v, err) < 0)
		return -1;
	if (v.too_long)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s in %s [%s] is longer than %zu bytes",
				     setting, path, section, outlen - 1);
	return v.found;
}
