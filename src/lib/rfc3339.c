/*
 * rfc3339: RFC 3339 times, read without the C library's locale or time
 * zone (days_from_civil() is Howard Hinnant's algorithm) and written as
 * UTC with milliseconds.
 */
#include "lib/rfc3339.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

long long rfc3339_days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int rfc3339_parse(const char *s, time_t *out)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
	long long t;
	int sign = 0;
	size_t len = strlen(s), i = 19;

	if (len < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return -1;
	}
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
		   !digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
		   !digits(s + i + 4, 2, &om)) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	if (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)))
		return -1;
	t = rfc3339_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (long long)(oh * 3600 + om * 60);
	*out = (time_t)t;
	return 0;
}

char *rfc3339_format(double t, char buf[RFC3339_BUF])
{
	char tmp[96];
	struct tm tm;
	time_t secs;
	long ms;

	if (!isfinite(t) || t < 0 || t > 253402300799.0)
		return NULL;
	secs = (time_t)floor(t);
	ms = lround((t - floor(t)) * 1000.0);
	if (ms >= 1000) {
		secs++;
		ms -= 1000;
	}
	if (!gmtime_r(&secs, &tm))
		return NULL;
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ms);
	if (strlen(tmp) >= RFC3339_BUF)
		return NULL;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return buf;
}
