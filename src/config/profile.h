/*
 * profile.h - GPU profile reading shared by the profile and job loaders.
 *
 * Internal to src/config.
 */
#ifndef HOIST_CONFIG_PROFILE_H
#define HOIST_CONFIG_PROFILE_H

#include <jansson.h>
#include <libfyaml.h>

#include "config/reader.h"

/*
 * Resolves the value of a job's profile key: either a profile name or a
 * mapping with the key use (a profile name) and profile keys that
 * override the named profile's values.  Stores a new profile object, which
 * the caller owns, in *out.  profiles is the output of
 * hoist_config_load_profiles() and may be NULL when none were loaded.
 */
int hoist_config_resolve_profile(struct hoist_config_reader *r,
				 struct fy_node *value, struct fy_node *where,
				 const json_t *profiles, json_t **out);

#endif
