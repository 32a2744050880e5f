/*
 * cmd_offers.c - "hoist offers": shows the marketplace offers that a GPU
 * profile would rent, ranked as hoistd ranks them, or which of the
 * profile's checks removed them all (POST /v1/offers/search).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/format.h"
#include "common/util.h"
#include "config/config.h"

/* Room for the profile names listed when --profile names none of them. */
#define PROFILE_NAMES_MAX 512

/*
 * Loads the profiles file and stores a new reference to the profile
 * called name in *profile.  A missing name gets an error that lists the
 * names the file has.
 */
static int load_profile(const char *path, const char *source,
			const char *name, json_t **profile,
			struct hoist_err *err)
{
	char names[PROFILE_NAMES_MAX] = "";
	json_t *profiles = NULL;
	const char *key;
	json_t *value;
	size_t len = 0;
	int rc = -1;

	if (hoist_config_load_profiles(path, &profiles, err)) {
		if (source)
			hoist_err_prefix(err, "GPU profiles (%s; choose another "
					 "file with --profiles)", source);
		goto out;
	}
	value = json_object_get(profiles, name);
	if (json_is_object(value)) {
		*profile = json_incref(value);
		rc = 0;
		goto out;
	}
	json_object_foreach(profiles, key, value) {
		int n = snprintf(names + len, sizeof(names) - len, "%s%s",
				 len ? ", " : "", key);

		if (n < 0 || (size_t)n >= sizeof(names) - len)
			break;
		len += (size_t)n;
	}
	hoist_err_set(err, HOIST_E_NOT_FOUND,
		      "profile '%s' not found in %s; it has: %s", name, path,
		      len ? names : "no profiles");
out:
	json_decref(profiles);
	return rc;
}

/* Formats a JSON number field with that many decimals, or "-" when it
 * is missing. */
static void format_number(const json_t *obj, const char *key, int decimals,
			  char *out, size_t outlen)
{
	double value;

	if (hoist_cli_json_real(obj, key, &value))
		snprintf(out, outlen, "-");
	else
		snprintf(out, outlen, "%.*f", decimals, value);
}

static int print_offer_table(const json_t *offers, struct hoist_err *err)
{
	static const char *const headers[] = {
		"OFFER", "GPU", ">GPUS", ">$/H", ">RELIABILITY", "LOCATION",
		">DISK GB",
	};
	struct hoist_cli_table table;
	const json_t *offer;
	size_t i;
	int rc = -1;

	hoist_cli_table_init(&table, 7, headers);
	json_array_foreach(offers, i, offer) {
		char gpus[32];
		char price[32];
		char reliability[32];
		char disk[32];
		double usd;
		const char *cells[7];

		format_number(offer, "num_gpus", 0, gpus, sizeof(gpus));
		if (hoist_cli_json_real(offer, "price_per_hour", &usd))
			snprintf(price, sizeof(price), "-");
		else
			hoist_cli_format_cost(usd, price, sizeof(price));
		format_number(offer, "reliability", 3, reliability,
			      sizeof(reliability));
		format_number(offer, "disk_gb", 0, disk, sizeof(disk));

		cells[0] = hoist_cli_json_str(offer, "id");
		cells[1] = hoist_cli_json_str(offer, "gpu_name");
		cells[2] = gpus;
		cells[3] = price;
		cells[4] = reliability;
		cells[5] = hoist_cli_json_str(offer, "location");
		cells[6] = disk;
		if (hoist_cli_table_add(&table, cells, NULL, err))
			goto out;
	}
	rc = hoist_cli_table_print(&table, "", stdout, err);
out:
	hoist_cli_table_release(&table);
	return rc;
}

/*
 * Writes "max_dph removed 12, reliability_min removed 3" from the
 * "filtered" array of a search result into out, or "" when it is empty.
 */
static void describe_filtered(const json_t *filtered, char *out,
			      size_t outlen)
{
	const json_t *item;
	size_t len = 0;
	size_t i;

	out[0] = '\0';
	json_array_foreach(filtered, i, item) {
		const char *filter = hoist_cli_json_str(item, "filter");
		int64_t removed;
		int n;

		if (!filter || hoist_cli_json_int(item, "removed", &removed))
			continue;
		n = snprintf(out + len, outlen - len, "%s%s removed %lld",
			     len ? ", " : "", filter, (long long)removed);
		if (n < 0 || (size_t)n >= outlen - len)
			break;
		len += (size_t)n;
	}
}

/* Prints the result of a search as a table, or why nothing matched.
 * Returns the exit status. */
static int print_result(const char *name, const json_t *profile,
			const json_t *result, struct hoist_err *err)
{
	const json_t *offers = json_object_get(result, "offers");
	char filters[1024];
	char returned_text[64] = "";
	int64_t returned;

	describe_filtered(json_object_get(result, "filtered"), filters,
			  sizeof(filters));
	if (hoist_cli_json_int(result, "returned", &returned) == 0)
		snprintf(returned_text, sizeof(returned_text),
			 " of the %lld the search returned",
			 (long long)returned);

	if (json_array_size(offers) == 0) {
		const char *gpu = hoist_cli_json_str(profile, "gpu_name");

		if (filters[0])
			printf("no offer matches profile '%s': every offer%s "
			       "was removed by a check (%s)\n", name,
			       returned_text, filters);
		else
			printf("no offer matches profile '%s': the search "
			       "returned no offer of %s\n", name,
			       gpu ? gpu : "its GPU");
		return HOIST_CLI_EXIT_FAILURE;
	}
	printf("%zu offers match profile '%s'%s, best first",
	       json_array_size(offers), name, returned_text);
	if (filters[0])
		printf("; %s", filters);
	printf("\n\n");
	if (print_offer_table(offers, err))
		return HOIST_CLI_EXIT_FAILURE;
	return HOIST_CLI_EXIT_OK;
}

int hoist_cli_cmd_offers(int argc, char **argv)
{
	static char details[PATH_MAX + 1024];
	const char *profile_name = NULL;
	const char *profiles_opt = NULL;
	int json = 0;
	const struct hoist_cli_opt options[] = {
		{ "profile", 'p', "NAME", "the GPU profile to search for "
		  "(required)", NULL, &profile_name },
		{ "profiles", 0, "FILE", "read the GPU profiles from FILE",
		  NULL, &profiles_opt },
		{ "json", 0, NULL, "print hoistd's search result as JSON",
		  &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "offers",
		.summary = "Search the marketplace for the offers that a GPU "
			   "profile would rent, ranked best first, without "
			   "renting one.",
		.opts = options,
		.details = details,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	char profiles_path[PATH_MAX];
	const char *profiles_source = NULL;
	json_t *profile = NULL;
	json_t *body = NULL;
	json_t *result = NULL;
	int status = HOIST_CLI_EXIT_FAILURE;
	int rc;

	hoist_cli_default_profiles_path(profiles_path, sizeof(profiles_path),
			      &profiles_source);
	snprintf(details, sizeof(details),
		 "The profile is read like 'hoist run' reads it: without\n"
		 "--profiles from $HOIST_CONFIG_DIR/gpu_profiles.yaml, else\n"
		 "from config/gpu_profiles.yaml of the source tree this hoist\n"
		 "was built in, else from /etc/hoist/gpu_profiles.yaml.  Here\n"
		 "that is %s (%s).\n\n"
		 "The search runs in hoistd with its provider; the local\n"
		 "provider has no marketplace and rejects it.  When no offer\n"
		 "matches, hoist names the checks that removed them.\n\n"
		 "Exit status: 0 when offers match, 1 when none match or on\n"
		 "an error, 2 for a bad command line.\n",
		 profiles_path, profiles_source);

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	if (!profile_name || !*profile_name) {
		fprintf(stderr, "hoist: missing --profile NAME; name a profile "
			"of %s\n", profiles_opt ? profiles_opt : profiles_path);
		hoist_cli_print_usage(stderr, &spec);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (profiles_opt) {
		snprintf(profiles_path, sizeof(profiles_path), "%s",
			 profiles_opt);
		profiles_source = NULL;
	}

	if (load_profile(profiles_path, profiles_source, profile_name,
			 &profile, &err))
		goto out;
	body = json_pack("{sO}", "profile", profile);
	if (!body) {
		hoist_err_set(&err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if (hoist_cli_client_open(&client, &err) ||
	    hoist_cli_client_call(&client, "POST", "/v1/offers/search", body,
				  &result, &err))
		goto out;
	if (!json_is_array(json_object_get(result, "offers"))) {
		hoist_err_set(&err, HOIST_E_HTTP, "POST /v1/offers/search "
			      "returned no \"offers\" array");
		goto out;
	}

	if (json) {
		hoist_cli_print_json(stdout, result);
		status = json_array_size(json_object_get(result, "offers")) ?
			 HOIST_CLI_EXIT_OK : HOIST_CLI_EXIT_FAILURE;
	} else {
		status = print_result(profile_name, profile, result, &err);
	}
out:
	if (err.code)
		hoist_cli_print_error(&err);
	json_decref(profile);
	json_decref(body);
	json_decref(result);
	hoist_cli_client_close(&client);
	return status;
}
