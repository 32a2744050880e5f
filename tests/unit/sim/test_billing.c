/* Unit tests of the simulator's billing ledger (src/sim/billing.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sim/billing.h"

#define T0 1800000000.0

static void assert_close(double actual, double expected)
{
	double diff = actual - expected;

	if (diff < 0)
		diff = -diff;
	if (diff > 1e-9)
		fail_msg("expected %.12f, got %.12f", expected, actual);
}

static void test_constant_rate(void **state)
{
	struct hoist_sim_ledger *l = calloc(1, sizeof(*l));
	struct hoist_sim_cost c;

	(void)state;
	/* $0.36/hour for 100 s is exactly one cent. */
	hoist_sim_ledger_open(l, T0, 0.36, 0.072);
	hoist_sim_ledger_cost(l, T0, T0 + 100, &c);
	assert_close(c.gpu_usd, 0.01);
	assert_close(c.disk_usd, 0.002);
	assert_close(c.gpu_seconds, 100);
	assert_close(c.disk_seconds, 100);
	assert_close(hoist_sim_cost_usd(&c), 0.012);
	free(l);
}

static void test_rate_changes(void **state)
{
	struct hoist_sim_ledger *l = calloc(1, sizeof(*l));
	struct hoist_sim_cost c;

	(void)state;
	/* Loading 10 s (storage only), running 60 s, stopped 30 s. */
	hoist_sim_ledger_open(l, T0, 0, 0.036);
	hoist_sim_ledger_set(l, T0 + 10, 3.6, 0.036);
	hoist_sim_ledger_set(l, T0 + 70, 0, 0.036);
	hoist_sim_ledger_cost(l, T0, T0 + 100, &c);
	assert_close(c.gpu_seconds, 60);
	assert_close(c.gpu_usd, 0.06);
	assert_close(c.disk_seconds, 100);
	assert_close(c.disk_usd, 0.001);

	/* A window inside the running period. */
	hoist_sim_ledger_cost(l, T0 + 20, T0 + 30, &c);
	assert_close(c.gpu_seconds, 10);
	assert_close(c.gpu_usd, 0.01);

	/* A window before the ledger opened. */
	hoist_sim_ledger_cost(l, T0 - 50, T0 - 10, &c);
	assert_close(hoist_sim_cost_usd(&c), 0);
	free(l);
}

static void test_same_rates_and_instant(void **state)
{
	struct hoist_sim_ledger *l = calloc(1, sizeof(*l));
	struct hoist_sim_cost c;

	(void)state;
	hoist_sim_ledger_open(l, T0, 1, 0);
	hoist_sim_ledger_set(l, T0 + 5, 1, 0);
	assert_int_equal(l->count, 1);
	/* Two changes at one instant: the second wins. */
	hoist_sim_ledger_set(l, T0 + 10, 2, 0);
	hoist_sim_ledger_set(l, T0 + 10, 3.6, 0);
	assert_int_equal(l->count, 2);
	hoist_sim_ledger_cost(l, T0 + 10, T0 + 20, &c);
	assert_close(c.gpu_usd, 0.01);
	assert_close(c.disk_seconds, 0);
	free(l);
}

static void test_closed_ledger(void **state)
{
	struct hoist_sim_ledger *l = calloc(1, sizeof(*l));
	struct hoist_sim_cost c;

	(void)state;
	hoist_sim_ledger_open(l, T0, 3.6, 0);
	hoist_sim_ledger_close(l, T0 + 10);
	hoist_sim_ledger_set(l, T0 + 20, 100, 100);
	hoist_sim_ledger_cost(l, T0, T0 + 1000, &c);
	assert_close(c.gpu_seconds, 10);
	assert_close(c.gpu_usd, 0.01);
	free(l);
}

static void test_fold_keeps_totals(void **state)
{
	struct hoist_sim_ledger *l = calloc(1, sizeof(*l));
	struct hoist_sim_cost c;
	double expected = 0;
	int changes = 3 * HOIST_SIM_LEDGER_PERIODS;

	(void)state;
	/* Alternate 3.6 $/h and 0 every 10 s: many more periods than the
	 * ledger keeps. */
	hoist_sim_ledger_open(l, T0, 3.6, 0.36);
	for (int i = 1; i <= changes; i++)
		hoist_sim_ledger_set(l, T0 + 10.0 * i, i % 2 ? 0 : 3.6, 0.36);
	assert_int_equal(l->count, HOIST_SIM_LEDGER_PERIODS);
	for (int i = 0; i < changes; i += 2)
		expected += 0.01;
	hoist_sim_ledger_cost(l, T0, T0 + 10.0 * changes, &c);
	assert_close(c.gpu_usd, expected);
	assert_close(c.gpu_seconds, 10.0 * changes / 2);
	assert_close(c.disk_usd, 0.36 * 10.0 * changes / 3600.0);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constant_rate),
		cmocka_unit_test(test_rate_changes),
		cmocka_unit_test(test_same_rates_and_instant),
		cmocka_unit_test(test_closed_ledger),
		cmocka_unit_test(test_fold_keeps_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
