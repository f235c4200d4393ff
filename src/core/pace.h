/*
 * pace: the arithmetic of pacing deliveries, kept pure so it can be tested
 * without clocks or sockets: token buckets (Slack's per-channel and
 * workspace limits, Discord's global limit) and retry delays (exponential
 * backoff with full jitter). Times are seconds on any monotonic clock the
 * caller chooses; nothing here reads a clock or a random source.
 */
#ifndef HERALD_PACE_H
#define HERALD_PACE_H

#include <stddef.h>

/*
 * A token bucket: up to burst tokens, refilled at rate tokens per second.
 * A rate of 0 (or less) means unlimited: every take succeeds.
 */
struct pace_bucket {
	double rate;
	double burst;
	double tokens;
	double last;		/* when tokens was last brought up to date */
};

/*
 * The share of a configured rate herald paces at. The platform counts a
 * request when it arrives, herald when it sends it, and the time between
 * varies from request to request: pacing at exactly the platform's rate
 * lets a request that was slower than the next one make that one early,
 * over the limit. The margin absorbs that jitter: at 90%, each request
 * leaves the platform's bucket a tenth of a token fuller than herald's.
 */
#define PACE_MARGIN 0.9

/* The rate herald paces at for a configured rate: rate * PACE_MARGIN. */
double pace_rate_with_margin(double rate);

/* Starts full at time now. A burst below 1 is taken as 1. */
void pace_bucket_init(struct pace_bucket *b, double rate, double burst,
		      double now);
/*
 * How long from now until a token is available: 0 when one is now.
 * Brings the bucket up to date.
 */
double pace_bucket_wait(struct pace_bucket *b, double now);
/* Takes a token if one is available now: returns 1, else 0. */
int pace_bucket_take(struct pace_bucket *b, double now);

/*
 * The full-jitter backoff for attempt n (1-based): u * min(cap, base *
 * 2^(n-1)), where u in [0, 1) is the caller's random number.
 */
double pace_backoff(int attempt, double base, double cap, double u);
/*
 * The delay before retrying after attempt n failed: the larger of the
 * platform's retry_after (0: unsaid) and pace_backoff().
 */
double pace_retry_delay(int attempt, double retry_after, double base,
			double cap, double u);

/*
 * How long pacing holds back the last of n requests waiting behind one
 * another at a destination whose bucket is b, from now: the time b needs
 * for n tokens (0 when b has no rate: Discord's, known from its answers),
 * after blocked_s (a reset or Retry-After still to come). b is not
 * changed.
 */
double pace_hold(const struct pace_bucket *b, double now, size_t n,
		 double blocked_s);

/*
 * The digest decision (docs/delivery.md, "Digests"): whether posts new
 * posts waiting at one destination, which pacing holds back hold_s, go as
 * one digest message: more than threshold of them, or held back longer
 * than after_s. threshold 0 turns digests off; fewer than 2 posts never
 * make a digest.
 */
int pace_digest_due(size_t posts, long threshold, double after_s,
		    double hold_s);

#endif
