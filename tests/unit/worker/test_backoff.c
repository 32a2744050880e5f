/* Unit tests of the retry backoff (src/worker/backoff.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "worker/backoff.h"

static void test_ceiling_doubles_to_cap(void **state)
{
	static const int64_t expected[] = {
		200, 400, 800, 1600, 3200, 5000, 5000, 5000,
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		assert_int_equal(hoist_backoff_ceiling_ms(i,
							  HOIST_BACKOFF_BASE_MS,
							  HOIST_BACKOFF_CAP_MS),
				 expected[i]);
}

static void test_ceiling_no_overflow(void **state)
{
	(void)state;
	assert_int_equal(hoist_backoff_ceiling_ms(1000, 200, 5000), 5000);
	/* Doubling stops before it would overflow int64_t. */
	assert_true(hoist_backoff_ceiling_ms(4000000000u, 3, INT64_MAX) >
		    INT64_MAX / 2);
	assert_int_equal(hoist_backoff_ceiling_ms(3, 0, 5000), 0);
	assert_int_equal(hoist_backoff_ceiling_ms(3, 200, -1), 0);
}

static void test_delay_full_jitter(void **state)
{
	uint64_t rng = 42;
	int64_t min = INT64_MAX;
	int64_t max = -1;

	(void)state;
	assert_int_equal(hoist_backoff_delay_ms(0, 200, 5000, 0), 0);
	assert_int_equal(hoist_backoff_delay_ms(0, 200, 5000, 200), 200);
	assert_int_equal(hoist_backoff_delay_ms(0, 200, 5000, 201), 0);
	assert_int_equal(hoist_backoff_delay_ms(9, 200, 5000, 5000), 5000);
	/* Delays spread over the whole range [0, ceiling]. */
	for (int i = 0; i < 10000; i++) {
		int64_t d = hoist_backoff_delay_ms(4, 200, 5000,
						   hoist_backoff_random(&rng));

		assert_true(d >= 0 && d <= 3200);
		if (d < min)
			min = d;
		if (d > max)
			max = d;
	}
	assert_true(min < 100);
	assert_true(max > 3100);
}

static void test_random_sequence_varies(void **state)
{
	uint64_t a = 1;
	uint64_t b = 2;

	(void)state;
	assert_true(hoist_backoff_random(&a) != hoist_backoff_random(&b));
	assert_true(hoist_backoff_random(&a) != hoist_backoff_random(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ceiling_doubles_to_cap),
		cmocka_unit_test(test_ceiling_no_overflow),
		cmocka_unit_test(test_delay_full_jitter),
		cmocka_unit_test(test_random_sequence_varies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
