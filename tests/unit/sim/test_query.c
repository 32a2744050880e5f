/* Unit tests of the simulator's filter language (src/sim/query.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "sim/query.h"

static json_t *offer(void)
{
	return json_pack("{s:I, s:s, s:i, s:f, s:s, s:b, s:n, s:s, s:f}",
			 "id", (json_int_t)100, "gpu_name", "RTX 4090",
			 "num_gpus", 2, "reliability", 0.98, "geolocation",
			 "Texas, US", "verified", 1, "external",
			 "driver_version", "535.86.05", "dph_total", 0.55);
}

/* Returns 1 when the filter JSON text matches the offer, 0 when not, -1
 * when it does not parse. */
static int matches(const char *filter_text)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *filter = json_loads(filter_text, 0, NULL);
	json_t *o = offer();
	struct hoist_sim_query q;
	int result = -1;

	assert_non_null(filter);
	if (hoist_sim_query_parse(filter, 1, NULL, HOIST_SIM_UNKNOWN_IGNORE,
				  NULL, &q, &err) == 0) {
		result = hoist_sim_query_match(&q, o);
		hoist_sim_query_release(&q);
	}
	json_decref(filter);
	json_decref(o);
	return result;
}

static void test_numeric_strings(void **state)
{
	(void)state;
	assert_int_equal(matches("{\"num_gpus\": {\"eq\": \"2\"}}"), 1);
	assert_int_equal(matches("{\"num_gpus\": {\"eq\": 2}}"), 1);
	assert_int_equal(matches("{\"num_gpus\": {\"eq\": \"1\"}}"), 0);
	assert_int_equal(matches("{\"reliability\": {\"gt\": \"0.97\"}}"), 1);
	assert_int_equal(matches("{\"reliability\": {\"gt\": \"0.98\"}}"), 0);
	assert_int_equal(matches("{\"reliability\": {\"gte\": 0.98}}"), 1);
	assert_int_equal(matches("{\"dph_total\": {\"lt\": 0.55}}"), 0);
	assert_int_equal(matches("{\"dph_total\": {\"lte\": 0.55}}"), 1);
	assert_int_equal(matches("{\"num_gpus\": {\"neq\": \"2\"}}"), 0);
}

static void test_operators_combine(void **state)
{
	(void)state;
	assert_int_equal(matches("{\"num_gpus\": {\"gte\": 1, \"lt\": 3}}"),
			 1);
	assert_int_equal(matches("{\"num_gpus\": {\"gte\": 1, \"lt\": 2}}"),
			 0);
	assert_int_equal(matches("{\"num_gpus\": {\"eq\": 2}, "
				 "\"gpu_name\": {\"eq\": \"RTX 3090\"}}"), 0);
}

static void test_in_and_notin(void **state)
{
	(void)state;
	assert_int_equal(matches("{\"gpu_name\": {\"in\": [\"RTX 3090\", "
				 "\"RTX 4090\"]}}"), 1);
	assert_int_equal(matches("{\"gpu_name\": {\"notin\": "
				 "[\"RTX 4090\"]}}"), 0);
	assert_int_equal(matches("{\"num_gpus\": {\"in\": [\"1\", \"2\"]}}"),
			 1);
	assert_int_equal(matches("{\"gpu_name\": {\"in\": \"RTX 4090\"}}"),
			 -1);
}

static void test_geolocation_country(void **state)
{
	(void)state;
	assert_int_equal(matches("{\"geolocation\": {\"eq\": \"US\"}}"), 1);
	assert_int_equal(matches("{\"geolocation\": {\"neq\": \"US\"}}"), 0);
	assert_int_equal(matches("{\"geolocation\": {\"in\": [\"CA\", "
				 "\"US\"]}}"), 1);
	assert_int_equal(matches("{\"geolocation\": {\"notin\": "
				 "[\"CN\"]}}"), 1);
	assert_int_equal(matches("{\"geolocation\": {\"eq\": "
				 "\"Texas, US\"}}"), 1);
}

static void test_booleans_and_null(void **state)
{
	(void)state;
	assert_int_equal(matches("{\"verified\": {\"eq\": true}}"), 1);
	assert_int_equal(matches("{\"verified\": {\"eq\": \"true\"}}"), 1);
	assert_int_equal(matches("{\"verified\": {\"eq\": false}}"), 0);
	assert_int_equal(matches("{\"external\": {\"eq\": null}}"), 1);
	assert_int_equal(matches("{\"external\": {\"eq\": false}}"), 0);
	assert_int_equal(matches("{\"missing\": {\"eq\": null}}"), 1);
	assert_int_equal(matches("{\"missing\": {\"gt\": 1}}"), 0);
}

static void test_driver_version_integer(void **state)
{
	(void)state;
	assert_int_equal(matches("{\"driver_version\": {\"gte\": "
				 "535086005}}"), 1);
	assert_int_equal(matches("{\"driver_version\": {\"gt\": "
				 "535086005}}"), 0);
	assert_int_equal(matches("{\"driver_version\": {\"eq\": "
				 "\"535.86.05\"}}"), 1);
}

static void test_invalid_filters(void **state)
{
	(void)state;
	assert_int_equal(matches("{\"num_gpus\": {\"like\": 1}}"), -1);
	assert_int_equal(matches("{\"num_gpus\": {\"eq\": [1]}}"), -1);
	assert_int_equal(matches("{\"type\": \"spot\"}"), -1);
	assert_int_equal(matches("{\"limit\": -1}"), -1);
	assert_int_equal(matches("{\"order\": [[\"score\", \"up\"]]}"), -1);
	assert_int_equal(matches("{\"order\": \"score\"}"), -1);
}

static void test_controls(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *filter = json_loads(
		"{\"type\": \"ondemand\", \"limit\": \"20\", "
		"\"allocated_storage\": 16.5, \"disable_bundling\": true, "
		"\"order\": [[\"dph_total\", \"asc\"], [\"score\", \"desc\"]]}",
		0, NULL);
	struct hoist_sim_query q;

	(void)state;
	assert_int_equal(hoist_sim_query_parse(filter, 1, NULL,
					       HOIST_SIM_UNKNOWN_IGNORE, NULL,
					       &q, &err), 0);
	assert_int_equal(q.type, HOIST_SIM_PRICE_ON_DEMAND);
	assert_int_equal(q.limit, 20);
	assert_true(q.storage_gb == 16.5);
	assert_int_equal(q.norder, 2);
	assert_string_equal(q.order[0].field, "dph_total");
	assert_int_equal(q.order[0].desc, 0);
	assert_int_equal(q.order[1].desc, 1);
	assert_int_equal(q.count, 0);
	hoist_sim_query_release(&q);
	json_decref(filter);

	filter = json_loads("{\"type\": \"bid\"}", 0, NULL);
	assert_int_equal(hoist_sim_query_parse(filter, 1, NULL,
					       HOIST_SIM_UNKNOWN_IGNORE, NULL,
					       &q, &err), 0);
	assert_int_equal(q.type, HOIST_SIM_PRICE_BID);
	assert_int_equal(q.limit, -1);
	assert_true(q.storage_gb < 0);
	json_decref(filter);
}

static void test_unknown_and_skipped(void **state)
{
	static const char *const skip[] = { "rented", NULL };
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *known = offer();
	json_t *filter = json_loads("{\"bogus\": {\"eq\": 1}, \"rented\": "
				    "{\"eq\": false}, \"num_gpus\": "
				    "{\"eq\": 2}}", 0, NULL);
	struct hoist_sim_query q;

	(void)state;
	assert_int_equal(hoist_sim_query_parse(filter, 1, known,
					       HOIST_SIM_UNKNOWN_IGNORE, skip,
					       &q, &err), 0);
	assert_int_equal(q.count, 1);
	assert_string_equal(q.conds[0].field, "num_gpus");
	hoist_sim_query_release(&q);

	assert_int_equal(hoist_sim_query_parse(filter, 1, known,
					       HOIST_SIM_UNKNOWN_REJECT, skip,
					       &q, &err), -1);
	assert_string_equal(err.msg, "bogus is not a valid search key");
	json_decref(filter);

	/* Without controls, a bare value is an error. */
	hoist_err_clear(&err);
	filter = json_loads("{\"limit\": 3}", 0, NULL);
	assert_int_equal(hoist_sim_query_parse(filter, 0, NULL,
					       HOIST_SIM_UNKNOWN_IGNORE, NULL,
					       &q, &err), -1);
	json_decref(filter);
	json_decref(known);
}

static void test_order_compare(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *filter = json_loads("{\"order\": [[\"price\", \"desc\"]]}", 0,
				    NULL);
	json_t *cheap = json_pack("{s:i, s:f}", "id", 1, "price", 0.2);
	json_t *dear = json_pack("{s:i, s:f}", "id", 2, "price", 0.9);
	json_t *tie = json_pack("{s:i, s:f}", "id", 3, "price", 0.9);
	json_t *none = json_pack("{s:i, s:n}", "id", 0, "price");
	struct hoist_sim_query q;

	(void)state;
	assert_int_equal(hoist_sim_query_parse(filter, 1, NULL,
					       HOIST_SIM_UNKNOWN_IGNORE, NULL,
					       &q, &err), 0);
	assert_true(hoist_sim_query_compare(&q, dear, cheap) < 0);
	assert_true(hoist_sim_query_compare(&q, cheap, dear) > 0);
	/* Equal values: the lower id first. */
	assert_true(hoist_sim_query_compare(&q, dear, tie) < 0);
	/* Null values come last. */
	assert_true(hoist_sim_query_compare(&q, none, cheap) > 0);
	assert_true(hoist_sim_query_compare(&q, cheap, none) < 0);
	hoist_sim_query_release(&q);
	json_decref(filter);
	json_decref(cheap);
	json_decref(dear);
	json_decref(tie);
	json_decref(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric_strings),
		cmocka_unit_test(test_operators_combine),
		cmocka_unit_test(test_in_and_notin),
		cmocka_unit_test(test_geolocation_country),
		cmocka_unit_test(test_booleans_and_null),
		cmocka_unit_test(test_driver_version_integer),
		cmocka_unit_test(test_invalid_filters),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_unknown_and_skipped),
		cmocka_unit_test(test_order_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
