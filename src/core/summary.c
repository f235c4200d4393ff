/*
 * summary: ISO weeks, the schedule, the environment pairs, and the
 * computation of a week's summary from its events, with its JSON form.
 * Dates are counted in days since 1970-01-01 (Hinnant's civil-date
 * arithmetic), so weeks never depend on a struct tm's normalization; only
 * the step between a local date and a Unix time goes through
 * localtime_r() and mktime(), which honour TZ and its DST changes. The
 * message bodies are in render_summary.c.
 */
#include "core/summary.h"
#include "lib/rfc3339.h"
#include "lib/strbuf.h"
#include "lib/text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- dates ---------------------------------------------------------- */

static void civil_from_days(long z, int *y, int *m, int *d)
{
	long era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (long)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

/* 1 Monday .. 7 Sunday; day 0 (1970-01-01) was a Thursday. */
static int iso_wday(long days)
{
	long r = (days + 3) % 7;

	return (int)(r < 0 ? r + 7 : r) + 1;
}

static struct summary_week week_of_days(long days)
{
	long thursday = days + 4 - iso_wday(days);
	int y, m, d;

	civil_from_days(thursday, &y, &m, &d);
	return (struct summary_week){
		y, (int)((thursday - (long)rfc3339_days_from_civil(y, 1, 1)) / 7) + 1
	};
}

/* The Monday of week w, in days. */
static long monday_of(struct summary_week w)
{
	long jan4 = (long)rfc3339_days_from_civil(w.year, 1, 4);

	return jan4 - (iso_wday(jan4) - 1) + 7L * (w.week - 1);
}

/* The Unix time of hour:minute local on the date days. */
static time_t local_time(long days, int hour, int minute)
{
	struct tm tm = { 0 };
	int y, m, d;

	civil_from_days(days, &y, &m, &d);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

int summary_year_has_53(int year)
{
	return week_of_days((long)rfc3339_days_from_civil(year, 12, 28)).week == 53;
}

struct summary_week summary_week_of(time_t t)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return (struct summary_week){ 1970, 1 };
	return week_of_days((long)rfc3339_days_from_civil(tm.tm_year + 1900,
					    (unsigned)tm.tm_mon + 1,
					    (unsigned)tm.tm_mday));
}

struct summary_week summary_week_prev(struct summary_week w)
{
	if (w.week > 1)
		return (struct summary_week){ w.year, w.week - 1 };
	return (struct summary_week){
		w.year - 1, summary_year_has_53(w.year - 1) ? 53 : 52
	};
}

struct summary_week summary_week_next(struct summary_week w)
{
	if (w.week < (summary_year_has_53(w.year) ? 53 : 52))
		return (struct summary_week){ w.year, w.week + 1 };
	return (struct summary_week){ w.year + 1, 1 };
}

void summary_week_bounds(struct summary_week w, time_t *start, time_t *end)
{
	long monday = monday_of(w);

	*start = local_time(monday, 0, 0);
	*end = local_time(monday + 7, 0, 0);
}

void summary_week_name(const struct summary_week *w,
		       char out[SUMMARY_WEEK_NAME_MAX])
{
	snprintf(out, SUMMARY_WEEK_NAME_MAX, "%04d-W%02d",
		 w->year % 10000, w->week % 100);
}

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int summary_week_parse(const char *s, struct summary_week *out,
		       struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	size_t len = strlen(s), at = 4;
	int year, week, ret = HERALD_EINVAL;

	text_add_quoted(&q, s, len, 40);
	if (len >= 6 && s[4] == '-')
		at = 5;
	if (len != at + 3 || !digits(s, 4) || (s[at] != 'W' && s[at] != 'w') ||
	    !digits(s + at + 1, 2)) {
		errbuf_set(err, ret, "%s is not an ISO week: expected "
			   "YYYY-Www, e.g. 2026-W48", q.buf);
		goto out;
	}
	year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	       (s[3] - '0');
	week = (s[at + 1] - '0') * 10 + (s[at + 2] - '0');
	if (year < 1971 || week < 1 ||
	    week > (summary_year_has_53(year) ? 53 : 52)) {
		errbuf_set(err, ret, "%s is not a week of %d: it has weeks "
			   "W01 to W%d", q.buf, year,
			   summary_year_has_53(year) ? 53 : 52);
		goto out;
	}
	out->year = year;
	out->week = week;
	ret = 0;
out:
	strbuf_release(&q);
	return ret;
}

/* ---- the schedule ---------------------------------------------------- */

static const char *const day_names[] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
	"sunday"
};

/* 1..7 for a day's name or its first three letters, else 0. */
static int parse_day(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++) {
		if ((len == 3 || len == strlen(day_names[i])) &&
		    !strncasecmp(s, day_names[i], len))
			return i + 1;
	}
	return 0;
}

/* H:MM or HH:MM; returns 0 or -1. */
static int parse_hhmm(const char *s, size_t len, int *hour, int *minute)
{
	size_t colon = len >= 4 ? len - 3 : 0;

	if (!colon || colon > 2 || s[colon] != ':' || !digits(s, colon) ||
	    !digits(s + colon + 1, 2))
		return -1;
	*hour = colon == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
	*minute = (s[colon + 1] - '0') * 10 + (s[colon + 2] - '0');
	return *hour < 24 && *minute < 60 ? 0 : -1;
}

int summary_schedule_parse(const char *s, struct summary_schedule *out,
			   struct errbuf *err)
{
	struct strview v = strview_trim(STRVIEW(s ? s : ""));
	struct strbuf q = STRBUF_INIT;
	const char *sp;
	size_t day_len;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!v.len || (v.len == 3 && !strncasecmp(v.ptr, "off", 3)))
		return 0;
	sp = memchr(v.ptr, ' ', v.len);
	day_len = sp ? (size_t)(sp - v.ptr) : v.len;
	if (sp) {
		struct strview t = strview_trim((struct strview){
			sp, v.len - day_len });

		out->wday = parse_day(v.ptr, day_len);
		if (out->wday && !parse_hhmm(t.ptr, t.len, &out->hour,
					     &out->minute)) {
			out->enabled = 1;
			return 0;
		}
	}
	text_add_quoted(&q, v.ptr, v.len, 60);
	ret = errbuf_set(err, HERALD_EINVAL, "%s is not a day and time: "
			 "expected e.g. \"mon 09:00\" (or \"off\")", q.buf);
	memset(out, 0, sizeof(*out));
	strbuf_release(&q);
	return ret;
}

struct summary_schedule summary_schedule_of(const struct config *cfg)
{
	struct summary_schedule s = { 0 };
	struct errbuf err;

	if (cfg->summary)
		summary_schedule_parse(cfg->summary, &s, &err);
	else if (cfg->feature_weekly_summary)
		summary_schedule_parse(SUMMARY_GIMLET_DEFAULT, &s, &err);
	return s;
}

void summary_schedule_name(const struct summary_schedule *s,
			   char out[SUMMARY_WEEK_NAME_MAX])
{
	if (!s->enabled || s->wday < 1 || s->wday > 7) {
		snprintf(out, SUMMARY_WEEK_NAME_MAX, "off");
		return;
	}
	snprintf(out, SUMMARY_WEEK_NAME_MAX, "%.3s %02d:%02d",
		 day_names[s->wday - 1], s->hour % 100, s->minute % 100);
}

time_t summary_schedule_at(const struct summary_schedule *s,
			   struct summary_week w)
{
	return local_time(monday_of(w) + s->wday - 1, s->hour, s->minute);
}

int summary_due(const struct summary_schedule *s, time_t now,
		struct summary_week *due, time_t *next)
{
	struct summary_week w = summary_week_of(now);
	time_t at = summary_schedule_at(s, w);

	if (now < at) {
		*next = at;
		return 0;
	}
	*due = summary_week_prev(w);
	*next = summary_schedule_at(s, summary_week_next(w));
	return 1;
}

/* ---- environment pairs ---------------------------------------------- */

void summary_pairs_free(struct summary_pair *pairs, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(pairs[i].ahead);
		free(pairs[i].behind);
	}
	free(pairs);
}

int summary_pairs_parse(const char *var, const char *s,
			struct summary_pair **pairs, size_t *nr,
			struct errlist *problems)
{
	struct summary_pair *out = NULL;
	size_t out_nr = 0, item = 0, before = problems->nr;
	const char *p = s ? s : "";

	*pairs = NULL;
	*nr = 0;
	if (!strview_trim(STRVIEW(p)).len)
		return 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct strview it = strview_trim((struct strview){ p, len });
		struct strview a, b;
		struct strbuf q = STRBUF_INIT;
		const char *gt = memchr(it.ptr, '>', it.len);

		item++;
		text_add_quoted(&q, it.ptr, it.len, 60);
		if (!it.len) {
			errlist_add(problems, "%s: item %zu is empty: expected "
				    "ahead>behind pairs separated by commas, "
				    "e.g. staging>production", var, item);
		} else if (!gt) {
			errlist_add(problems, "%s: item %zu %s has no \">\": "
				    "expected ahead>behind, e.g. "
				    "staging>production", var, item, q.buf);
		} else {
			a = strview_trim((struct strview){
				it.ptr, (size_t)(gt - it.ptr) });
			b = strview_trim((struct strview){ gt + 1,
				it.len - (size_t)(gt - it.ptr) - 1 });
			if (!a.len || !b.len || memchr(b.ptr, '>', b.len) ||
			    (a.len == b.len && !memcmp(a.ptr, b.ptr, a.len))) {
				errlist_add(problems, "%s: item %zu %s is not "
					    "two different environments: "
					    "expected ahead>behind, e.g. "
					    "staging>production", var, item,
					    q.buf);
			} else {
				out = xrealloc(out, (out_nr + 1) *
					       sizeof(*out));
				out[out_nr].ahead = xstrndup(a.ptr, a.len);
				out[out_nr].behind = xstrndup(b.ptr, b.len);
				out_nr++;
			}
		}
		strbuf_release(&q);
		if (!comma)
			break;
		p = comma + 1;
	}
	if (problems->nr != before) {
		summary_pairs_free(out, out_nr);
		return HERALD_EINVAL;
	}
	*pairs = out;
	*nr = out_nr;
	return 0;
}

/* ---- the computation ------------------------------------------------- */

static int finished(const struct summary_event *e)
{
	return (e->type == EVENT_DEPLOY || e->type == EVENT_ROLLBACK) &&
	       (e->status == EVENT_SUCCEEDED || e->status == EVENT_FAILED);
}

static struct summary_env *env_get(struct summary *s, const char *env)
{
	for (size_t i = 0; i < s->envs_nr; i++)
		if (!strcmp(s->envs[i].env, env))
			return &s->envs[i];
	s->envs = xrealloc(s->envs, (s->envs_nr + 1) * sizeof(*s->envs));
	memset(&s->envs[s->envs_nr], 0, sizeof(*s->envs));
	s->envs[s->envs_nr].env = xstrdup(env);
	return &s->envs[s->envs_nr++];
}

static void count_deployer(struct summary *s, const char *actor)
{
	size_t i;

	if (!actor || !strcmp(actor, "policy"))
		return;
	for (i = 0; i < s->deployers_nr; i++)
		if (!strcmp(s->deployers[i].actor, actor))
			break;
	if (i == s->deployers_nr) {
		s->deployers = xrealloc(s->deployers,
					(i + 1) * sizeof(*s->deployers));
		s->deployers[i].actor = xstrdup(actor);
		s->deployers[i].deploys = 0;
		s->deployers_nr++;
	}
	s->deployers[i].deploys++;
}

static int env_cmp(const void *pa, const void *pb)
{
	const struct summary_env *a = pa, *b = pb;
	long na = a->deploys + a->rollbacks, nb = b->deploys + b->rollbacks;

	if (na != nb)
		return na > nb ? -1 : 1;
	return strcmp(a->env, b->env);
}

static int deployer_cmp(const void *pa, const void *pb)
{
	const struct summary_deployer *a = pa, *b = pb;

	if (a->deploys != b->deploys)
		return a->deploys > b->deploys ? -1 : 1;
	return strcmp(a->actor, b->actor);
}

/* Events sorted by a string key, then time, then input order. */
struct ref {
	const struct summary_event *ev;
	const char *key;
	size_t index;
};

static int ref_cmp(const void *pa, const void *pb)
{
	const struct ref *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	if (a->ev->at != b->ev->at)
		return a->ev->at < b->ev->at ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* The seconds of [from, to) within [lo, hi). */
static long overlap(time_t from, time_t to, time_t lo, time_t hi)
{
	if (from < lo)
		from = lo;
	if (to > hi)
		to = hi;
	return to > from ? (long)(to - from) : 0;
}

static void alert_time(struct summary *s, const struct summary_event *evs,
		       size_t nr)
{
	struct ref *refs = xcalloc(nr ? nr : 1, sizeof(*refs));
	time_t prev_start, prev_end;
	size_t n = 0;

	summary_week_bounds(summary_week_prev(s->week), &prev_start,
			    &prev_end);
	for (size_t i = 0; i < nr; i++) {
		if (evs[i].type != EVENT_ALERT || !evs[i].story ||
		    evs[i].at >= s->end)
			continue;
		refs[n++] = (struct ref){ &evs[i], evs[i].story, i };
	}
	qsort(refs, n, sizeof(*refs), ref_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		time_t since = 0;
		int firing = 0;
		long in_week = 0;

		for (; j < n && !strcmp(refs[j].key, refs[i].key); j++) {
			const struct summary_event *e = refs[j].ev;

			if (e->status == EVENT_FIRING && !firing) {
				firing = 1;
				since = e->at;
			} else if (e->status == EVENT_RESOLVED && firing) {
				firing = 0;
				in_week += overlap(since, e->at, s->start,
						   s->end);
				s->alert_prev_s += overlap(since, e->at,
							   prev_start,
							   prev_end);
			}
		}
		if (firing) {
			in_week += overlap(since, s->end, s->start, s->end);
			s->alert_prev_s += overlap(since, s->end, prev_start,
						   prev_end);
		}
		if (in_week) {
			s->alerts++;
			s->alert_s += in_week;
		}
		i = j;
	}
	free(refs);
}

/*
 * "v1.4.2", "1.10": up to 8 numbers separated by dots, each cut at
 * 999999999; how many, or -1 when v is not that.
 */
static int version_numbers(const char *v, long out[8])
{
	int n = 0;

	if (*v == 'v' || *v == 'V')
		v++;
	while (n < 8) {
		long x = 0;

		if (*v < '0' || *v > '9')
			return -1;
		for (; *v >= '0' && *v <= '9'; v++)
			if (x < 100000000)
				x = x * 10 + (*v - '0');
		out[n++] = x;
		if (!*v)
			return n;
		if (*v++ != '.')
			return -1;
	}
	return -1;
}

/*
 * Whether version a (deployed at ta) is newer than b (at tb): by their
 * numbers when both are dotted numbers, else by when they were deployed.
 */
static int newer(const char *a, time_t ta, const char *b, time_t tb)
{
	long na[8], nb[8];
	int la = version_numbers(a, na), lb = version_numbers(b, nb);

	if (la < 0 || lb < 0)
		return ta > tb;
	for (int i = 0; i < la || i < lb; i++) {
		long x = i < la ? na[i] : 0, y = i < lb ? nb[i] : 0;

		if (x != y)
			return x > y;
	}
	return 0;
}

static void ahead(struct summary *s, const struct summary_event *evs,
		  size_t nr, const struct summary_pair *pairs, size_t pairs_nr)
{
	struct ref *refs = xcalloc(nr ? nr : 1, sizeof(*refs));
	size_t n = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct summary_event *e = &evs[i];

		if ((e->type == EVENT_DEPLOY || e->type == EVENT_ROLLBACK) &&
		    e->status == EVENT_SUCCEEDED && e->app && e->env &&
		    e->version && e->at < s->end)
			refs[n++] = (struct ref){ e, e->app, i };
	}
	qsort(refs, n, sizeof(*refs), ref_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && !strcmp(refs[j].key, refs[i].key))
			j++;
		for (size_t p = 0; p < pairs_nr; p++) {
			const struct summary_event *a = NULL, *b = NULL;
			struct summary_ahead *x;

			for (size_t k = i; k < j; k++) {
				if (!strcmp(refs[k].ev->env, pairs[p].ahead))
					a = refs[k].ev;
				else if (!strcmp(refs[k].ev->env,
						 pairs[p].behind))
					b = refs[k].ev;
			}
			if (!a || !b || !strcmp(a->version, b->version) ||
			    !newer(a->version, a->at, b->version, b->at))
				continue;
			s->ahead = xrealloc(s->ahead, (s->ahead_nr + 1) *
					    sizeof(*s->ahead));
			x = &s->ahead[s->ahead_nr++];
			x->app = xstrdup(a->app);
			x->ahead_env = xstrdup(a->env);
			x->ahead_version = xstrdup(a->version);
			x->behind_env = xstrdup(b->env);
			x->behind_version = xstrdup(b->version);
		}
		i = j;
	}
	free(refs);
}

void summary_compute(struct summary *out, struct summary_week week,
		     const struct summary_event *evs, size_t nr,
		     const struct summary_pair *pairs, size_t pairs_nr)
{
	memset(out, 0, sizeof(*out));
	out->week = week;
	summary_week_bounds(week, &out->start, &out->end);
	for (size_t i = 0; i < nr; i++) {
		const struct summary_event *e = &evs[i];
		struct summary_env *env;

		if (e->at < out->start || e->at >= out->end)
			continue;
		out->events++;
		if (!finished(e) || !e->env)
			continue;
		env = env_get(out, e->env);
		if (e->type == EVENT_ROLLBACK) {
			env->rollbacks++;
		} else {
			env->deploys++;
			env->failed += e->status == EVENT_FAILED;
		}
		count_deployer(out, e->actor);
	}
	if (out->envs_nr)
		qsort(out->envs, out->envs_nr, sizeof(*out->envs), env_cmp);
	if (out->deployers_nr)
		qsort(out->deployers, out->deployers_nr,
		      sizeof(*out->deployers), deployer_cmp);
	alert_time(out, evs, nr);
	ahead(out, evs, nr, pairs, pairs_nr);
}

void summary_release(struct summary *s)
{
	for (size_t i = 0; i < s->envs_nr; i++)
		free(s->envs[i].env);
	free(s->envs);
	for (size_t i = 0; i < s->deployers_nr; i++)
		free(s->deployers[i].actor);
	free(s->deployers);
	for (size_t i = 0; i < s->ahead_nr; i++) {
		free(s->ahead[i].app);
		free(s->ahead[i].ahead_env);
		free(s->ahead[i].ahead_version);
		free(s->ahead[i].behind_env);
		free(s->ahead[i].behind_version);
	}
	free(s->ahead);
	memset(s, 0, sizeof(*s));
}

/* ---- wording --------------------------------------------------------- */

void summary_add_duration(struct strbuf *out, long seconds)
{
	long d = seconds / 86400, h = seconds / 3600 % 24,
	     m = seconds / 60 % 60;
	const char *sep = "";

	if (seconds < 60) {
		strbuf_addf(out, "%lds", seconds < 0 ? 0 : seconds);
		return;
	}
	if (d) {
		strbuf_addf(out, "%ldd", d);
		sep = " ";
	}
	if (h) {
		strbuf_addf(out, "%s%ldh", sep, h);
		sep = " ";
	}
	if (m)
		strbuf_addf(out, "%s%ldm", sep, m);
}

void summary_alert_sentence(const struct summary *s, struct strbuf *out)
{
	long cur = s->alert_s, prev = s->alert_prev_s;

	if (!cur) {
		if (!prev) {
			strbuf_addstr(out, "No alert fired, as in the week "
				      "before.");
			return;
		}
		strbuf_addstr(out, "No alert fired, down from ");
		summary_add_duration(out, prev);
		strbuf_addstr(out, " the week before.");
		return;
	}
	strbuf_addstr(out, "Alerts fired for ");
	summary_add_duration(out, cur);
	strbuf_addf(out, " in total (%ld alert%s)", s->alerts,
		    s->alerts == 1 ? "" : "s");
	if (!prev) {
		strbuf_addstr(out, "; none fired the week before.");
	} else if (cur == prev) {
		strbuf_addstr(out, ", the same as the week before.");
	} else {
		strbuf_addstr(out, cur > prev ? ", up " : ", down ");
		summary_add_duration(out, cur > prev ? cur - prev : prev - cur);
		strbuf_addstr(out, " from ");
		summary_add_duration(out, prev);
		strbuf_addstr(out, " the week before.");
	}
}

/* ---- JSON ------------------------------------------------------------ */

static json_t *utc(time_t t)
{
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

json_t *summary_to_json(const struct summary *s)
{
	char name[SUMMARY_WEEK_NAME_MAX];
	struct strbuf sentence = STRBUF_INIT;
	json_t *envs = json_array(), *deployers = json_array(),
	       *ahead = json_array(), *out;

	summary_week_name(&s->week, name);
	for (size_t i = 0; i < s->envs_nr; i++)
		json_array_append_new(envs, json_pack("{s:s, s:I, s:I, s:I}",
			"env", s->envs[i].env,
			"deploys", (json_int_t)s->envs[i].deploys,
			"failed", (json_int_t)s->envs[i].failed,
			"rollbacks", (json_int_t)s->envs[i].rollbacks));
	for (size_t i = 0; i < s->deployers_nr; i++)
		json_array_append_new(deployers, json_pack("{s:s, s:I}",
			"actor", s->deployers[i].actor,
			"deploys", (json_int_t)s->deployers[i].deploys));
	for (size_t i = 0; i < s->ahead_nr; i++)
		json_array_append_new(ahead, json_pack(
			"{s:s, s:s, s:s, s:s, s:s}",
			"app", s->ahead[i].app,
			"env", s->ahead[i].ahead_env,
			"version", s->ahead[i].ahead_version,
			"behind_env", s->ahead[i].behind_env,
			"behind_version", s->ahead[i].behind_version));
	summary_alert_sentence(s, &sentence);
	out = json_pack("{s:s, s:o, s:o, s:I, s:o, s:o, "
			"s:{s:I, s:I, s:I, s:I, s:s}, s:o}",
		"week", name, "start", utc(s->start), "end", utc(s->end),
		"events", (json_int_t)s->events,
		"environments", envs, "deployers", deployers,
		"alerts",
		"firing_seconds", (json_int_t)s->alert_s,
		"previous_firing_seconds", (json_int_t)s->alert_prev_s,
		"change_seconds", (json_int_t)(s->alert_s - s->alert_prev_s),
		"stories", (json_int_t)s->alerts,
		"sentence", sentence.buf,
		"ahead", ahead);
	strbuf_release(&sentence);
	return out;
}
