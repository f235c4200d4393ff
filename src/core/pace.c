/*
 * pace: token buckets and jittered backoff for the delivery engine (see
 * pace.h).
 */
#include "core/pace.h"

/* Rounding slack: a bucket this close to a whole token has one. */
#define EPSILON 1e-9

double pace_rate_with_margin(double rate)
{
	return rate > 0 ? rate * PACE_MARGIN : rate;
}

void pace_bucket_init(struct pace_bucket *b, double rate, double burst,
		      double now)
{
	b->rate = rate;
	b->burst = burst < 1.0 ? 1.0 : burst;
	b->tokens = b->burst;
	b->last = now;
}

static void refill(struct pace_bucket *b, double now)
{
	if (now > b->last) {
		b->tokens += (now - b->last) * b->rate;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last = now;
}

double pace_bucket_wait(struct pace_bucket *b, double now)
{
	if (b->rate <= 0)
		return 0;
	refill(b, now);
	if (b->tokens >= 1.0 - EPSILON)
		return 0;
	return (1.0 - b->tokens) / b->rate;
}

int pace_bucket_take(struct pace_bucket *b, double now)
{
	if (b->rate <= 0)
		return 1;
	refill(b, now);
	if (b->tokens < 1.0 - EPSILON)
		return 0;
	b->tokens -= 1.0;
	if (b->tokens < 0)
		b->tokens = 0;
	return 1;
}

double pace_backoff(int attempt, double base, double cap, double u)
{
	double ceiling = base;

	if (attempt < 1)
		attempt = 1;
	for (int i = 1; i < attempt && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0.999999;
	return ceiling * u;
}

double pace_retry_delay(int attempt, double retry_after, double base,
			double cap, double u)
{
	double d = pace_backoff(attempt, base, cap, u);

	return retry_after > d ? retry_after : d;
}

double pace_hold(const struct pace_bucket *b, double now, size_t n,
		 double blocked_s)
{
	double tokens, hold = blocked_s > 0 ? blocked_s : 0;

	if (b->rate <= 0 || !n)
		return hold;
	tokens = b->tokens + (now - b->last) * b->rate;
	if (tokens > b->burst)
		tokens = b->burst;
	if ((double)n <= tokens + EPSILON)
		return hold;
	return hold + ((double)n - tokens) / b->rate;
}

int pace_digest_due(size_t posts, long threshold, double after_s,
		    double hold_s)
{
	if (threshold <= 0 || posts < 2)
		return 0;
	return posts > (size_t)threshold || hold_s > after_s;
}
