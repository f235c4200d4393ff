/*
 * Unit tests for clock: the monotonic clock moves forward, seeds are never
 * 0, and random_unit() stays in [0, 1) and spreads over it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/clock.h"

static void test_monotonic(void **state)
{
	double a = monotonic_now(), b = monotonic_now();

	assert_true(a > 0);
	assert_true(b >= a);
}

static void test_seed(void **state)
{
	for (int i = 0; i < 100; i++)
		assert_true(random_seed() != 0);
	/* Two seeds in a row differ (2^-63 odds of a false failure). */
	assert_true(random_seed() != random_seed());
}

static void test_unit(void **state)
{
	uint64_t s = random_seed(), a = 1, b = 1;
	int low = 0, high = 0;

	for (int i = 0; i < 10000; i++) {
		double u = random_unit(&s);

		assert_true(u >= 0 && u < 1);
		if (u < 0.1)
			low++;
		if (u >= 0.9)
			high++;
	}
	assert_true(low > 500 && high > 500);
	/* The same state gives the same numbers. */
	assert_true(random_unit(&a) == random_unit(&b));
	assert_true(a == b && a != 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_unit),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
