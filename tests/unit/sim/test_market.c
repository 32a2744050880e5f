/* Unit tests of the simulator's market (src/sim/market.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/market.h"

#define NOW 1800000000.0

static const char csv[] =
	"# a comment\n"
	"gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation\n"
	"RTX 4090,1,24564,0.40,\"Texas, US\"\n"
	"H100 SXM,8,81559,17.07,\", US\"\r\n"
	"\n"
	"\"Quoted \"\"Name\"\"\",2,1000,0.5,\"Sweden, SE\"\n";

static void test_parse_csv(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_sim_market_row *rows = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(hoist_sim_market_parse_csv(csv, strlen(csv), "t.csv",
						    &rows, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].gpu_name, "RTX 4090");
	assert_int_equal(rows[0].num_gpus, 1);
	assert_int_equal(rows[0].gpu_ram_mib, 24564);
	assert_true(rows[0].dph_total == 0.40);
	assert_string_equal(rows[0].geolocation, "Texas, US");
	assert_string_equal(rows[1].geolocation, ", US");
	assert_int_equal(rows[1].num_gpus, 8);
	assert_string_equal(rows[2].gpu_name, "Quoted \"Name\"");
	free(rows);
}

static void assert_rejected(const char *text, const char *expected)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_sim_market_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(hoist_sim_market_parse_csv(text, strlen(text),
						    "t.csv", &rows, &n, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	if (!strstr(err.msg, expected))
		fail_msg("'%s' does not contain '%s'", err.msg, expected);
}

static void test_parse_csv_errors(void **state)
{
	(void)state;
	assert_rejected("name,count\nA,1\n", "t.csv:1: expected the header");
	assert_rejected("gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation\n",
			"no market rows");
	assert_rejected("gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation\n"
			"A,0,1,1,\"X, US\"\n", "t.csv:2: invalid num_gpus '0'");
	assert_rejected("gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation\n"
			"A,1,1,free,\"X, US\"\n", "invalid dph_total 'free'");
	assert_rejected("gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation\n"
			"A,1,1,1,Texas\n", "invalid geolocation 'Texas'");
	assert_rejected("gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation\n"
			"A,1,1,1,\"X, US\n", "expected 5 comma-separated");
	assert_rejected("gpu_name,num_gpus,gpu_ram_mib,dph_total,geolocation\n"
			"A,1,1,1\n", "expected 5 comma-separated");
}

static void generate(struct hoist_sim_market *m, uint64_t seed, size_t count)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_sim_market_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(hoist_sim_market_parse_csv(csv, strlen(csv), "t.csv",
						    &rows, &n, &err), 0);
	assert_int_equal(hoist_sim_market_generate(m, rows, n, seed, count,
						   NOW, &err), 0);
	free(rows);
}

static char *dump(const struct hoist_sim_market *m)
{
	json_t *all = json_array();
	char *text;

	for (size_t i = 0; i < m->count; i++)
		json_array_append(all, m->offers[i].fields);
	text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	return text;
}

static void test_generation_deterministic(void **state)
{
	struct hoist_sim_market a;
	struct hoist_sim_market b;
	struct hoist_sim_market c;
	char *ta;
	char *tb;
	char *tc;

	(void)state;
	generate(&a, 7, 90);
	generate(&b, 7, 90);
	generate(&c, 8, 90);
	ta = dump(&a);
	tb = dump(&b);
	tc = dump(&c);
	assert_string_equal(ta, tb);
	assert_string_not_equal(ta, tc);
	free(ta);
	free(tb);
	free(tc);
	hoist_sim_market_release(&a);
	hoist_sim_market_release(&b);
	hoist_sim_market_release(&c);
}

static double number(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		fail_msg("field %s is missing or not a number", key);
	return json_number_value(v);
}

static void test_offer_fields(void **state)
{
	static const double medians[] = { 0.40, 17.07, 0.5 };
	static const int counts[] = { 1, 8, 2 };
	static const int rams[] = { 24564, 81559, 1000 };
	struct hoist_sim_market m;

	(void)state;
	generate(&m, 1, 300);
	assert_int_equal(m.count, 300);
	for (size_t i = 0; i < m.count; i++) {
		const json_t *o = m.offers[i].fields;
		double base = number(o, "dph_base");
		double rel = number(o, "reliability");

		assert_true(m.offers[i].listed);
		assert_int_equal(number(o, "id"), m.offers[i].id);
		if (i > 0)
			assert_true(m.offers[i].id > m.offers[i - 1].id);
		assert_true(base >= medians[i % 3] * 0.79 &&
			    base <= medians[i % 3] * 1.26);
		assert_true(number(o, "min_bid") >= base * 0.39 &&
			    number(o, "min_bid") <= base * 0.61);
		assert_true(rel >= 0.90 && rel <= 0.999);
		assert_int_equal(number(o, "num_gpus"), counts[i % 3]);
		/* RAM in MB as the API has it: per GPU and in total. */
		assert_int_equal(number(o, "gpu_ram"), rams[i % 3]);
		assert_int_equal(number(o, "gpu_total_ram"),
				 rams[i % 3] * counts[i % 3]);
		assert_true(number(o, "cpu_ram") > 10000);
		assert_true(number(o, "disk_space") >= 32);
		assert_true(number(o, "cuda_max_good") >= 11.8);
		assert_true(json_is_boolean(json_object_get(o, "verified")));
	}
	hoist_sim_market_release(&m);
}

static void test_render_prices(void **state)
{
	struct hoist_sim_market m;
	struct hoist_sim_offer *offer;
	json_t *od;
	json_t *bid;
	double storage;

	(void)state;
	generate(&m, 3, 10);
	offer = &m.offers[0];
	storage = hoist_sim_market_number(offer, "storage_cost");
	od = hoist_sim_market_render(offer, HOIST_SIM_PRICE_ON_DEMAND, 20, NOW);
	bid = hoist_sim_market_render(offer, HOIST_SIM_PRICE_BID, 20, NOW);
	assert_non_null(od);
	assert_non_null(bid);
	/* dph_total = dph_base + disk * storage_cost / (30 * 24). */
	assert_true(number(od, "storage_total_cost") == 20 * storage / 720.0);
	assert_true(number(od, "dph_total") ==
		    number(od, "dph_base") + 20 * storage / 720.0);
	assert_true(number(bid, "dph_total") ==
		    number(bid, "min_bid") + 20 * storage / 720.0);
	assert_true(json_is_true(json_object_get(bid, "is_bid")));
	assert_true(number(json_object_get(od, "search"), "totalHour") ==
		    number(od, "dph_total"));
	assert_true(number(od, "end_date") > NOW);
	json_decref(od);
	json_decref(bid);
	hoist_sim_market_release(&m);
}

static void test_relist_new_id(void **state)
{
	struct hoist_sim_market m;
	int64_t old_id;

	(void)state;
	generate(&m, 3, 10);
	old_id = m.offers[4].id;
	m.offers[4].listed = 0;
	m.offers[4].instance_id = 42;
	assert_int_equal(hoist_sim_market_listed(&m), 9);
	hoist_sim_market_relist(&m, &m.offers[4]);
	assert_true(m.offers[4].id > m.offers[9].id);
	assert_true(m.offers[4].listed);
	assert_int_equal(m.offers[4].instance_id, 0);
	assert_null(hoist_sim_market_find(&m, old_id));
	assert_ptr_equal(hoist_sim_market_find(&m, m.offers[4].id),
			 &m.offers[4]);
	assert_int_equal(number(m.offers[4].fields, "ask_contract_id"),
			 m.offers[4].id);
	hoist_sim_market_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_csv),
		cmocka_unit_test(test_parse_csv_errors),
		cmocka_unit_test(test_generation_deterministic),
		cmocka_unit_test(test_offer_fields),
		cmocka_unit_test(test_render_prices),
		cmocka_unit_test(test_relist_new_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
