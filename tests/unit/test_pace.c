/*
 * Unit tests for pace: token buckets (burst, refill, unlimited) and the
 * bounds of the full-jitter backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pace.h"

static void test_bucket_burst_then_rate(void **state)
{
	struct pace_bucket b;

	pace_bucket_init(&b, 2.0, 3.0, 100.0);
	assert_int_equal(pace_bucket_take(&b, 100.0), 1);
	assert_int_equal(pace_bucket_take(&b, 100.0), 1);
	assert_int_equal(pace_bucket_take(&b, 100.0), 1);
	assert_int_equal(pace_bucket_take(&b, 100.0), 0);
	/* One token takes 1/rate = 0.5 s. */
	assert_float_equal(pace_bucket_wait(&b, 100.0), 0.5, 1e-9);
	assert_float_equal(pace_bucket_wait(&b, 100.25), 0.25, 1e-9);
	assert_int_equal(pace_bucket_take(&b, 100.4), 0);
	assert_int_equal(pace_bucket_take(&b, 100.5), 1);
	assert_int_equal(pace_bucket_take(&b, 100.5), 0);
}

static void test_bucket_caps_at_burst(void **state)
{
	struct pace_bucket b;
	int n = 0;

	pace_bucket_init(&b, 10.0, 2.0, 0.0);
	/* A long idle time refills to the burst, not beyond. */
	while (pace_bucket_take(&b, 1000.0))
		n++;
	assert_int_equal(n, 2);
	assert_true(pace_bucket_wait(&b, 1000.0) > 0);
}

static void test_bucket_sustained_rate(void **state)
{
	struct pace_bucket b;
	double t = 0;
	int sent = 0;

	/* Over 10 s at 15/s with a burst of 3: at most 3 + 150 posts. */
	pace_bucket_init(&b, 15.0, 3.0, 0.0);
	while (t <= 10.0) {
		double w = pace_bucket_wait(&b, t);

		if (w > 0) {
			t += w;
			continue;
		}
		assert_int_equal(pace_bucket_take(&b, t), 1);
		sent++;
	}
	assert_true(sent <= 3 + 150 + 1);
	assert_true(sent >= 150);
}

/*
 * How many of 300 requests a platform pacing at rate rejects when herald
 * paces at herald_rate and the one-way latency alternates 9 ms and 1 ms:
 * a slow request followed by a fast one arrives early.
 */
static int rejections(double herald_rate, double rate, double burst)
{
	struct pace_bucket h, p;
	double t = 0;
	int rejected = 0;

	pace_bucket_init(&h, herald_rate, burst, 0);
	pace_bucket_init(&p, rate, burst, 0);
	for (int i = 0; i < 300; i++) {
		double d = i % 2 ? 0.001 : 0.009, arrival;

		t += pace_bucket_wait(&h, t);
		assert_int_equal(pace_bucket_take(&h, t), 1);
		arrival = t + d;
		if (!pace_bucket_take(&p, arrival))
			rejected++;
		t = arrival + d;	/* the answer comes back */
	}
	return rejected;
}

static void test_margin(void **state)
{
	assert_float_equal(pace_rate_with_margin(10.0), 10.0 * PACE_MARGIN,
			   1e-12);
	assert_true(pace_rate_with_margin(0) == 0);
	assert_true(PACE_MARGIN >= 0.9 && PACE_MARGIN <= 0.95);
	/* At exactly the platform's rate, jitter makes requests early... */
	assert_true(rejections(10.0, 10.0, 3.0) > 0);
	/* ...with the margin, none is. */
	assert_int_equal(rejections(pace_rate_with_margin(10.0), 10.0, 3.0), 0);
	assert_int_equal(rejections(pace_rate_with_margin(1.0), 1.0, 3.0), 0);
}

static void test_bucket_unlimited(void **state)
{
	struct pace_bucket b;

	pace_bucket_init(&b, 0, 1, 5.0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(pace_bucket_take(&b, 5.0), 1);
	assert_true(pace_bucket_wait(&b, 5.0) == 0);
}

static void test_bucket_burst_below_one(void **state)
{
	struct pace_bucket b;

	pace_bucket_init(&b, 1.0, 0.2, 0.0);
	assert_int_equal(pace_bucket_take(&b, 0.0), 1);
	assert_int_equal(pace_bucket_take(&b, 0.0), 0);
}

static void test_backoff_bounds(void **state)
{
	/* u = 0 gives 0; u near 1 gives the ceiling base * 2^(n-1). */
	assert_true(pace_backoff(1, 1.0, 300.0, 0.0) == 0.0);
	assert_float_equal(pace_backoff(1, 1.0, 300.0, 0.5), 0.5, 1e-9);
	assert_float_equal(pace_backoff(3, 1.0, 300.0, 0.5), 2.0, 1e-9);
	assert_true(pace_backoff(4, 1.0, 300.0, 0.9999) < 8.0);
	assert_true(pace_backoff(4, 1.0, 300.0, 0.9999) > 7.99);
	/* The cap holds however many attempts. */
	assert_true(pace_backoff(1000, 1.0, 300.0, 0.9999) <= 300.0);
	assert_true(pace_backoff(1000, 1.0, 300.0, 0.9999) > 299.0);
	/* Out-of-range inputs are clamped. */
	assert_true(pace_backoff(0, 1.0, 300.0, 2.0) < 1.0);
	assert_true(pace_backoff(2, 1.0, 300.0, -1.0) == 0.0);
}

static void test_retry_delay_honours_retry_after(void **state)
{
	assert_float_equal(pace_retry_delay(1, 30.0, 1.0, 300.0, 0.5), 30.0,
			   1e-9);
	assert_float_equal(pace_retry_delay(5, 1.0, 1.0, 300.0, 0.5), 8.0,
			   1e-9);
	assert_float_equal(pace_retry_delay(5, 0.0, 1.0, 300.0, 0.25), 4.0,
			   1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_burst_then_rate),
		cmocka_unit_test(test_bucket_caps_at_burst),
		cmocka_unit_test(test_bucket_sustained_rate),
		cmocka_unit_test(test_bucket_unlimited),
		cmocka_unit_test(test_margin),
		cmocka_unit_test(test_bucket_burst_below_one),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_retry_delay_honours_retry_after),
	};

	return cmocka_run_group_tests_name("pace", tests, NULL, NULL);
}
