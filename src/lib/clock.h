/*
 * clock: the one monotonic clock and the one random source for jitter
 * that herald's timing uses (deadlines, caches' ages, pacing, backoff).
 */
#ifndef HERALD_CLOCK_H
#define HERALD_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in seconds. */
double monotonic_now(void);

/*
 * A seed for random_unit(): from getrandom(), else from the clock and the
 * process id. Never 0.
 */
uint64_t random_seed(void);
/*
 * The next number of the xorshift64* generator whose state (not 0, e.g.
 * from random_seed()) is *state: uniform in [0, 1). Fast, for jitter; not
 * for secrets. One state per thread, or under the caller's lock.
 */
double random_unit(uint64_t *state);

#endif
