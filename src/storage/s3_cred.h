/*
 * s3_cred.h - the AWS shared configuration files (~/.aws/credentials and
 * ~/.aws/config).  Private to src/storage; hoist_s3_credentials_load() in
 * s3.h is the credential chain built on them.
 */
#ifndef HOIST_STORAGE_S3_CRED_H
#define HOIST_STORAGE_S3_CRED_H

#include <stddef.h>

#include "common/err.h"

/* Stores the profile in use in out: name if not NULL or empty, else
 * AWS_PROFILE, else "default". */
void s3_cred_profile_name(const char *name, char *out, size_t outlen);

/*
 * Looks up setting (such as "region") of profile in the config file
 * (AWS_CONFIG_FILE or ~/.aws/config).  Returns 1 and fills out when found,
 * 0 when the file, the profile or the setting is missing, and -1 with err
 * set when the file cannot be read or the value is too long.
 */
int s3_cred_config_value(const char *profile, const char *setting,
			 char *out, size_t outlen, struct hoist_err *err);

#endif
