/*
 * rfc3339: reading and writing the RFC 3339 times of herald's JSON
 * (events' "timestamp", silences' "ends_at", every time the API shows).
 */
#ifndef HERALD_RFC3339_H
#define HERALD_RFC3339_H

#include <stddef.h>
#include <time.h>

/* "2026-11-26T10:00:00.000Z" and its NUL. */
#define RFC3339_BUF 32

/*
 * Parses an RFC 3339 date-time: 2026-11-26T10:00:00Z, with "t" or a space
 * for "T", an optional fraction (dropped) and Z or a ±hh:mm offset. Returns
 * 0 and the UTC time, or -1.
 */
int rfc3339_parse(const char *s, time_t *out);

/*
 * Writes t (seconds since 1970, UTC) as "2026-11-26T10:00:00.123Z" into
 * buf (RFC3339_BUF bytes). Returns buf, or NULL for a time that is not
 * finite or before 1970.
 */
char *rfc3339_format(double t, char buf[RFC3339_BUF]);

/*
 * Days from 1970-01-01 to y-m-d (month 1-12) in the proleptic Gregorian
 * calendar; negative before 1970.
 */
long long rfc3339_days_from_civil(long long y, unsigned m, unsigned d);

#endif
