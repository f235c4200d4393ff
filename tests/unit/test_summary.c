/*
 * Unit tests for summary: ISO weeks (around new year, 2026-W53, parsing),
 * week bounds and the schedule across DST changes, when a summary is due,
 * the environment pairs, the computation (deploys per environment,
 * deployers, alert time clipped to the week, apps ahead), the wording of
 * the alert sentence (up, down, the same, none before, none), the JSON,
 * and the messages: golden files in tests/golden/{slack,discord}/
 * summary-week.json (HERALD_UPDATE_GOLDEN=1 rewrites them), escaping of
 * event text, and the platforms' limits with long lists. argv[1] is the
 * project root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "core/render.h"
#include "core/summary.h"
#include "lib/text.h"

static const char *root = ".";

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* A UTC time. */
static time_t at(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

static void assert_week(time_t t, int year, int week)
{
	struct summary_week w = summary_week_of(t);

	assert_int_equal(w.year, year);
	assert_int_equal(w.week, week);
}

static void test_iso_weeks(void **state)
{
	struct summary_week w;
	char name[SUMMARY_WEEK_NAME_MAX];

	(void)state;
	use_tz("UTC");
	assert_week(at(2026, 1, 1, 12, 0), 2026, 1);	/* a Thursday */
	assert_week(at(2025, 12, 29, 0, 0), 2026, 1);	/* Monday of W01 */
	assert_week(at(2025, 12, 28, 23, 59), 2025, 52);
	assert_week(at(2026, 12, 31, 12, 0), 2026, 53);
	assert_week(at(2027, 1, 1, 12, 0), 2026, 53);
	assert_week(at(2027, 1, 3, 23, 59), 2026, 53);
	assert_week(at(2027, 1, 4, 0, 0), 2027, 1);
	assert_week(at(2024, 12, 30, 0, 0), 2025, 1);
	assert_week(at(2021, 1, 3, 0, 0), 2020, 53);
	assert_week(at(2026, 12, 6, 5, 48), 2026, 49);
	assert_true(summary_year_has_53(2026));
	assert_true(summary_year_has_53(2020));
	assert_true(summary_year_has_53(2015));
	assert_false(summary_year_has_53(2025));
	assert_false(summary_year_has_53(2027));

	w = summary_week_prev((struct summary_week){ 2027, 1 });
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 53);
	w = summary_week_prev((struct summary_week){ 2026, 1 });
	assert_int_equal(w.year, 2025);
	assert_int_equal(w.week, 52);
	w = summary_week_next((struct summary_week){ 2026, 52 });
	assert_int_equal(w.week, 53);
	w = summary_week_next((struct summary_week){ 2026, 53 });
	assert_int_equal(w.year, 2027);
	assert_int_equal(w.week, 1);
	summary_week_name(&w, name);
	assert_string_equal(name, "2027-W01");
}

static void test_week_parse(void **state)
{
	struct summary_week w;
	struct errbuf err;

	(void)state;
	assert_int_equal(summary_week_parse("2026-W53", &w, &err), 0);
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 53);
	assert_int_equal(summary_week_parse("2026w07", &w, &err), 0);
	assert_int_equal(w.week, 7);
	assert_int_equal(summary_week_parse("2025-W53", &w, &err),
			 HERALD_EINVAL);
	assert_string_equal(err.msg, "\"2025-W53\" is not a week of 2025: it "
			    "has weeks W01 to W52");
	assert_int_equal(summary_week_parse("2026-W00", &w, &err),
			 HERALD_EINVAL);
	assert_int_equal(summary_week_parse("last", &w, &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "\"last\" is not an ISO week: expected "
			    "YYYY-Www, e.g. 2026-W48");
	assert_int_equal(summary_week_parse("2026-W4", &w, &err),
			 HERALD_EINVAL);
}

static void test_bounds_dst(void **state)
{
	time_t start, end;
	struct tm tm;

	(void)state;
	use_tz("UTC");
	summary_week_bounds((struct summary_week){ 2026, 53 }, &start, &end);
	assert_int_equal(start, at(2026, 12, 28, 0, 0));
	assert_int_equal(end, at(2027, 1, 4, 0, 0));

	use_tz("Europe/Berlin");
	/* Summer time begins on Sunday 29 March 2026: a week of 167 h. */
	summary_week_bounds((struct summary_week){ 2026, 13 }, &start, &end);
	assert_int_equal(start, at(2026, 3, 22, 23, 0));
	assert_int_equal(end - start, 7 * 86400 - 3600);
	/* It ends on Sunday 25 October 2026: 169 h. */
	summary_week_bounds((struct summary_week){ 2026, 43 }, &start, &end);
	assert_int_equal(start, at(2026, 10, 18, 22, 0));
	assert_int_equal(end - start, 7 * 86400 + 3600);
	assert_non_null(localtime_r(&end, &tm));
	assert_int_equal(tm.tm_hour, 0);
	assert_int_equal(tm.tm_wday, 1);
	use_tz("UTC");
}

static void test_schedule_parse(void **state)
{
	struct summary_schedule s;
	struct errbuf err;
	char name[SUMMARY_WEEK_NAME_MAX];

	(void)state;
	assert_int_equal(summary_schedule_parse("mon 09:00", &s, &err), 0);
	assert_true(s.enabled);
	assert_int_equal(s.wday, 1);
	assert_int_equal(s.hour, 9);
	assert_int_equal(s.minute, 0);
	assert_int_equal(summary_schedule_parse(" Sunday  7:05 ", &s, &err),
			 0);
	assert_int_equal(s.wday, 7);
	assert_int_equal(s.hour, 7);
	assert_int_equal(s.minute, 5);
	summary_schedule_name(&s, name);
	assert_string_equal(name, "sun 07:05");
	assert_int_equal(summary_schedule_parse("FRI 23:59", &s, &err), 0);
	assert_int_equal(s.wday, 5);
	assert_int_equal(summary_schedule_parse("off", &s, &err), 0);
	assert_false(s.enabled);
	summary_schedule_name(&s, name);
	assert_string_equal(name, "off");
	assert_int_equal(summary_schedule_parse("", &s, &err), 0);
	assert_false(s.enabled);

	assert_int_equal(summary_schedule_parse("monday 9", &s, &err),
			 HERALD_EINVAL);
	assert_string_equal(err.msg, "\"monday 9\" is not a day and time: "
			    "expected e.g. \"mon 09:00\" (or \"off\")");
	assert_false(s.enabled);
	assert_int_equal(summary_schedule_parse("mon 24:00", &s, &err),
			 HERALD_EINVAL);
	assert_int_equal(summary_schedule_parse("mon 9:60", &s, &err),
			 HERALD_EINVAL);
	assert_int_equal(summary_schedule_parse("funday 09:00", &s, &err),
			 HERALD_EINVAL);
	assert_int_equal(summary_schedule_parse("mo 09:00", &s, &err),
			 HERALD_EINVAL);
	assert_int_equal(summary_schedule_parse("mon09:00", &s, &err),
			 HERALD_EINVAL);
	assert_int_equal(summary_schedule_parse("09:00", &s, &err),
			 HERALD_EINVAL);
}

static void test_schedule_of_config(void **state)
{
	struct config cfg;
	struct summary_schedule s;

	(void)state;
	config_init(&cfg);
	s = summary_schedule_of(&cfg);
	assert_false(s.enabled);
	cfg.feature_weekly_summary = 1;
	s = summary_schedule_of(&cfg);
	assert_true(s.enabled);
	assert_int_equal(s.wday, 1);
	assert_int_equal(s.hour, 9);
	cfg.summary = xstrdup("off");
	s = summary_schedule_of(&cfg);
	assert_false(s.enabled);
	config_release(&cfg);
}

static void test_schedule_dst(void **state)
{
	struct summary_schedule s;
	struct errbuf err;
	struct tm tm;
	time_t t;

	(void)state;
	use_tz("Europe/Berlin");
	assert_int_equal(summary_schedule_parse("sun 02:30", &s, &err), 0);
	/* 02:30 does not exist on 29 March 2026: it is taken as 03:30. */
	t = summary_schedule_at(&s, (struct summary_week){ 2026, 13 });
	assert_non_null(localtime_r(&t, &tm));
	assert_int_equal(tm.tm_mday, 29);
	assert_int_equal(tm.tm_hour, 3);
	assert_int_equal(tm.tm_min, 30);
	/* 02:30 happens twice on 25 October: either is 02:30 local. */
	t = summary_schedule_at(&s, (struct summary_week){ 2026, 43 });
	assert_non_null(localtime_r(&t, &tm));
	assert_int_equal(tm.tm_mday, 25);
	assert_int_equal(tm.tm_hour, 2);
	assert_int_equal(tm.tm_min, 30);
	/* Monday 09:00 is 08:00 UTC in winter, 07:00 in summer. */
	assert_int_equal(summary_schedule_parse("mon 09:00", &s, &err), 0);
	assert_int_equal(summary_schedule_at(&s, (struct summary_week){
			 2026, 13 }), at(2026, 3, 23, 8, 0));
	assert_int_equal(summary_schedule_at(&s, (struct summary_week){
			 2026, 14 }), at(2026, 3, 30, 7, 0));
	use_tz("UTC");
}

static void test_due(void **state)
{
	struct summary_schedule s;
	struct summary_week w = { 0, 0 };
	struct errbuf err;
	time_t next;

	(void)state;
	use_tz("UTC");
	assert_int_equal(summary_schedule_parse("mon 09:00", &s, &err), 0);
	/* A minute early: nothing due; next is the scheduled minute. */
	assert_int_equal(summary_due(&s, at(2026, 11, 30, 8, 59), &w, &next),
			 0);
	assert_int_equal(next, at(2026, 11, 30, 9, 0));
	/* At the minute: the week that just ended. */
	assert_int_equal(summary_due(&s, at(2026, 11, 30, 9, 0), &w, &next),
			 1);
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 48);
	assert_int_equal(next, at(2026, 12, 7, 9, 0));
	/* Started on Sunday after being down on Monday: still that week. */
	assert_int_equal(summary_due(&s, at(2026, 12, 6, 23, 59), &w, &next),
			 1);
	assert_int_equal(w.week, 48);
	/* New year: 2026 has a week 53. */
	assert_int_equal(summary_due(&s, at(2027, 1, 4, 9, 30), &w, &next),
			 1);
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 53);
	assert_int_equal(next, at(2027, 1, 11, 9, 0));
	assert_int_equal(summary_due(&s, at(2026, 1, 5, 10, 0), &w, &next),
			 1);
	assert_int_equal(w.year, 2026);
	assert_int_equal(w.week, 1);
	/* A Sunday schedule sums up the week before the current one. */
	assert_int_equal(summary_schedule_parse("sun 18:00", &s, &err), 0);
	assert_int_equal(summary_due(&s, at(2026, 12, 6, 18, 0), &w, &next),
			 1);
	assert_int_equal(w.week, 48);
}

static void test_pairs(void **state)
{
	struct summary_pair *pairs;
	struct errlist problems = ERRLIST_INIT;
	size_t nr;

	(void)state;
	assert_int_equal(summary_pairs_parse("E", " staging > production ,"
			 "qa>staging", &pairs, &nr, &problems), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(pairs[0].ahead, "staging");
	assert_string_equal(pairs[0].behind, "production");
	assert_string_equal(pairs[1].ahead, "qa");
	summary_pairs_free(pairs, nr);
	assert_int_equal(summary_pairs_parse("E", "", &pairs, &nr, &problems),
			 0);
	assert_int_equal(nr, 0);

	assert_int_equal(summary_pairs_parse("E", "prod,a>a,b>c,", &pairs,
			 &nr, &problems), HERALD_EINVAL);
	assert_null(pairs);
	assert_int_equal(problems.nr, 3);
	assert_string_equal(problems.items[0], "E: item 1 \"prod\" has no "
			    "\">\": expected ahead>behind, e.g. "
			    "staging>production");
	assert_string_equal(problems.items[1], "E: item 2 \"a>a\" is not two "
			    "different environments: expected ahead>behind, "
			    "e.g. staging>production");
	assert_string_equal(problems.items[2], "E: item 4 is empty: expected "
			    "ahead>behind pairs separated by commas, e.g. "
			    "staging>production");
	errlist_release(&problems);
}

#define EV(t, s, a, e, who, v, story, when) \
	{ EVENT_##t, EVENT_##s, a, e, who, v, story, when }

/* The week 2026-W48 (23 to 29 November, UTC) and around it. */
static const struct summary_event week_events[] = {
	EV(DEPLOY, SUCCEEDED, "api", "production", "jane", "v1.4.2", "d1",
	   1795514400 /* 2026-11-24 10:00 */),
	EV(DEPLOY, STARTED, "api", "production", "jane", "v1.4.3", "d2",
	   1795593600 /* 11-25 08:00 */),
	EV(DEPLOY, FAILED, "api", "production", "jane", "v1.4.3", "d2",
	   1795597200 /* 11-25 09:00 */),
	EV(ROLLBACK, SUCCEEDED, "api", "production", "bob", "v1.4.2", "r1",
	   1795608000 /* 11-25 12:00 */),
	EV(DEPLOY, SUCCEEDED, "web", "staging", "bob", "v2.0.0", "d3",
	   1795687200 /* 11-26 10:00 */),
	EV(DEPLOY, SUCCEEDED, "api", "staging", "policy", "v1.5.0", "d4",
	   1795773600 /* 11-27 10:00 */),
	/* The week before, and earlier: versions only. */
	EV(DEPLOY, SUCCEEDED, "api", "production", "alice", "v1.4.1", "d0",
	   1795428000 /* 11-23 10:00 minus a week */ - 7 * 86400),
	EV(DEPLOY, SUCCEEDED, "web", "production", "alice", "v2.0.0", "d5",
	   1794218400 /* 11-09 10:00 */),
	/* After the week: not counted, not compared. */
	EV(DEPLOY, SUCCEEDED, "web", "staging", "carol", "v2.1.0", "d6",
	   1796119200 /* 12-01 10:00 */),
	/* Alerts: A 2 h; B from Sunday 23:00, still firing: 1 h; C over
	   Sunday night: 1 h in each week; D 1 h 30 m the week before. */
	EV(ALERT, FIRING, "api", "production", NULL, NULL, "A",
	   1795514400),
	EV(ALERT, RESOLVED, "api", "production", NULL, NULL, "A",
	   1795521600),
	EV(ALERT, FIRING, "api", "production", NULL, NULL, "B",
	   1795993200 /* 11-29 23:00 */),
	EV(ALERT, FIRING, "api", "production", NULL, NULL, "B",
	   1795994000 /* again: still the same firing */),
	EV(ALERT, RESOLVED, "web", "production", NULL, NULL, "C",
	   1795395600 /* 11-23 01:00 */),
	EV(ALERT, FIRING, "web", "production", NULL, NULL, "C",
	   1795388400 /* 11-22 23:00 */),
	EV(ALERT, FIRING, "web", "staging", NULL, NULL, "D",
	   1794873600 /* 11-17 00:00 */),
	EV(ALERT, RESOLVED, "web", "staging", NULL, NULL, "D",
	   1794879000 /* 11-17 01:30 */),
	EV(ALERT, RESOLVED, "web", "staging", NULL, NULL, "E",
	   1795600000 /* resolved without firing: nothing */),
};

static const struct summary_pair default_pair[] = {
	{ "staging", "production" }
};

static void compute_week(struct summary *s)
{
	use_tz("UTC");
	summary_compute(s, (struct summary_week){ 2026, 48 }, week_events,
			sizeof(week_events) / sizeof(week_events[0]),
			default_pair, 1);
}

static void test_compute(void **state)
{
	struct summary s;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	compute_week(&s);
	assert_int_equal(s.start, at(2026, 11, 23, 0, 0));
	assert_int_equal(s.end, at(2026, 11, 30, 0, 0));
	assert_int_equal(s.events, 12);
	assert_int_equal(s.envs_nr, 2);
	assert_string_equal(s.envs[0].env, "production");
	assert_int_equal(s.envs[0].deploys, 2);
	assert_int_equal(s.envs[0].failed, 1);
	assert_int_equal(s.envs[0].rollbacks, 1);
	assert_string_equal(s.envs[1].env, "staging");
	assert_int_equal(s.envs[1].deploys, 2);
	assert_int_equal(s.envs[1].rollbacks, 0);
	assert_int_equal(s.deployers_nr, 2);
	assert_string_equal(s.deployers[0].actor, "bob");
	assert_int_equal(s.deployers[0].deploys, 2);
	assert_string_equal(s.deployers[1].actor, "jane");
	assert_int_equal(s.deployers[1].deploys, 2);
	assert_int_equal(s.alert_s, 4 * 3600);
	assert_int_equal(s.alert_prev_s, 2 * 3600 + 1800);
	assert_int_equal(s.alerts, 3);
	assert_int_equal(s.ahead_nr, 1);
	assert_string_equal(s.ahead[0].app, "api");
	assert_string_equal(s.ahead[0].ahead_version, "v1.5.0");
	assert_string_equal(s.ahead[0].behind_env, "production");
	assert_string_equal(s.ahead[0].behind_version, "v1.4.2");
	summary_alert_sentence(&s, &sb);
	assert_string_equal(sb.buf, "Alerts fired for 4h in total (3 alerts), "
			    "up 1h 30m from 2h 30m the week before.");
	strbuf_release(&sb);
	summary_release(&s);
}

static void test_ahead_versions(void **state)
{
	static const struct summary_event evs[] = {
		/* Numbers: 1.10 is newer than 1.9, though deployed first. */
		EV(DEPLOY, SUCCEEDED, "a", "staging", NULL, "v1.10.0", NULL,
		   1795514400),
		EV(DEPLOY, SUCCEEDED, "a", "production", NULL, "v1.9.0", NULL,
		   1795600000),
		/* Staging older by number: not ahead. */
		EV(DEPLOY, SUCCEEDED, "b", "staging", NULL, "2.0", NULL,
		   1795600000),
		EV(DEPLOY, SUCCEEDED, "b", "production", NULL, "2.1", NULL,
		   1795514400),
		/* Commits: by time. */
		EV(DEPLOY, SUCCEEDED, "c", "staging", NULL, "9f8e7d6", NULL,
		   1795600000),
		EV(DEPLOY, SUCCEEDED, "c", "production", NULL, "0a1b2c3", NULL,
		   1795514400),
		/* The same version: not ahead. */
		EV(DEPLOY, SUCCEEDED, "d", "staging", NULL, "v3", NULL,
		   1795600000),
		EV(DEPLOY, SUCCEEDED, "d", "production", NULL, "v3", NULL,
		   1795514400),
		/* A failed deploy changes nothing. */
		EV(DEPLOY, FAILED, "d", "staging", NULL, "v4", NULL,
		   1795610000),
	};
	struct summary s;

	(void)state;
	use_tz("UTC");
	summary_compute(&s, (struct summary_week){ 2026, 48 }, evs,
			sizeof(evs) / sizeof(evs[0]), default_pair, 1);
	assert_int_equal(s.ahead_nr, 2);
	assert_string_equal(s.ahead[0].app, "a");
	assert_string_equal(s.ahead[1].app, "c");
	summary_release(&s);
}

static void sentence(long cur, long prev, long alerts, const char *want)
{
	struct summary s = { .alert_s = cur, .alert_prev_s = prev,
			     .alerts = alerts };
	struct strbuf sb = STRBUF_INIT;

	summary_alert_sentence(&s, &sb);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_wording(void **state)
{
	(void)state;
	sentence(7200, 3600, 2, "Alerts fired for 2h in total (2 alerts), up "
		 "1h from 1h the week before.");
	sentence(3600, 90000, 1, "Alerts fired for 1h in total (1 alert), "
		 "down 1d from 1d 1h the week before.");
	sentence(5400, 5400, 3, "Alerts fired for 1h 30m in total (3 alerts), "
		 "the same as the week before.");
	sentence(600, 0, 1, "Alerts fired for 10m in total (1 alert); none "
		 "fired the week before.");
	sentence(45, 0, 1, "Alerts fired for 45s in total (1 alert); none "
		 "fired the week before.");
	sentence(0, 3600, 0, "No alert fired, down from 1h the week before.");
	sentence(0, 0, 0, "No alert fired, as in the week before.");
}

static void test_json(void **state)
{
	struct summary s;
	json_t *j;

	(void)state;
	compute_week(&s);
	j = summary_to_json(&s);
	assert_string_equal(json_string_value(json_object_get(j, "week")),
			    "2026-W48");
	assert_string_equal(json_string_value(json_object_get(j, "start")),
			    "2026-11-23T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(j, "events")), 12);
	assert_int_equal(json_array_size(json_object_get(j, "environments")),
			 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
			 j, "alerts"), "change_seconds")), 5400);
	assert_string_equal(json_string_value(json_object_get(
			    json_array_get(json_object_get(j, "ahead"), 0),
			    "behind_version")), "v1.4.2");
	json_decref(j);
	summary_release(&s);
}

static int read_text(const char *path, struct strbuf *out)
{
	FILE *f = fopen(path, "rb");
	char buf[4096];
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(out, buf, n);
	fclose(f);
	return 0;
}

static void golden(enum provider_kind provider)
{
	const char *platform = provider == PROVIDER_SLACK ? "slack" :
			       "discord";
	const char *update = getenv("HERALD_UPDATE_GOLDEN");
	struct strbuf path = STRBUF_INIT, want = STRBUF_INIT;
	struct summary s;
	json_t *body;
	char *dump;

	compute_week(&s);
	body = summary_render_for(provider, &s);
	dump = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_non_null(dump);
	strbuf_addf(&path, "%s/tests/golden/%s/summary-week.json", root,
		    platform);
	if (update && !strcmp(update, "1")) {
		FILE *f = fopen(path.buf, "wb");

		assert_non_null(f);
		fprintf(f, "%s\n", dump);
		assert_int_equal(fclose(f), 0);
	} else {
		if (read_text(path.buf, &want) < 0)
			fail_msg("cannot read %s (create it with "
				 "HERALD_UPDATE_GOLDEN=1)", path.buf);
		strbuf_addstr(&path, "");
		if (want.len && want.buf[want.len - 1] == '\n')
			strbuf_setlen(&want, want.len - 1);
		if (strcmp(want.buf, dump))
			fail_msg("%s differs from the rendering:\n%s",
				 path.buf, dump);
	}
	free(dump);
	json_decref(body);
	summary_release(&s);
	strbuf_release(&path);
	strbuf_release(&want);
}

static void test_golden_slack(void **state)
{
	(void)state;
	golden(PROVIDER_SLACK);
}

static void test_golden_discord(void **state)
{
	(void)state;
	golden(PROVIDER_DISCORD);
}

/* Every string of j, concatenated. */
static void all_strings(const json_t *j, struct strbuf *out)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		strbuf_addstr(out, json_string_value(j));
		strbuf_addch(out, '\n');
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v)
			all_strings(v, out);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			all_strings(v, out);
	}
}

static void test_escaping(void **state)
{
	static const struct summary_event evs[] = {
		EV(DEPLOY, SUCCEEDED, "<!channel> app", "@everyone",
		   "<@U123> *bold*", "[x](https://evil)", NULL, 1795514400),
		EV(DEPLOY, SUCCEEDED, "<!channel> app", "@here",
		   "@channel", "v1", NULL, 1795414400),
	};
	static const struct summary_pair pair[] = { { "@everyone", "@here" } };
	struct summary s;
	struct strbuf all = STRBUF_INIT;
	json_t *slack, *discord;

	(void)state;
	use_tz("UTC");
	summary_compute(&s, (struct summary_week){ 2026, 48 }, evs, 2, pair,
			1);
	assert_int_equal(s.ahead_nr, 1);
	slack = summary_render_slack(&s);
	discord = summary_render_discord(&s);
	all_strings(slack, &all);
	assert_null(strstr(all.buf, "<!channel>"));
	assert_null(strstr(all.buf, "<@U123>"));
	assert_null(strstr(all.buf, "@channel"));
	assert_null(strstr(all.buf, "@everyone"));
	strbuf_reset(&all);
	all_strings(discord, &all);
	assert_null(strstr(all.buf, "@everyone"));
	assert_null(strstr(all.buf, "@here"));
	/* Backslash-escaped: shown as written, no mention, no link. */
	assert_non_null(strstr(all.buf, "\\<@U123>"));
	assert_non_null(strstr(all.buf, "\\](https://evil)"));
	assert_non_null(json_object_get(json_object_get(discord,
					"allowed_mentions"), "parse"));
	json_decref(slack);
	json_decref(discord);
	strbuf_release(&all);
	summary_release(&s);
}

static size_t units(const char *s)
{
	return text_units(s, strlen(s));
}

static void test_limits(void **state)
{
	enum { N = 400 };
	struct summary_event *evs = xcalloc(3 * N, sizeof(*evs));
	char **names = xcalloc(N, sizeof(*names));
	struct summary s;
	json_t *slack, *discord, *blocks, *b;
	char *dump;
	size_t i;

	(void)state;
	use_tz("UTC");
	for (i = 0; i < N; i++) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "app-%03zu-", i);
		for (int k = 0; k < 30; k++)
			strbuf_addstr(&sb, "ü𝔁");
		names[i] = strbuf_detach(&sb, NULL);
		evs[3 * i] = (struct summary_event)EV(DEPLOY, SUCCEEDED,
			names[i], "staging", names[i], names[i], NULL,
			1795514400);
		evs[3 * i + 1] = (struct summary_event)EV(DEPLOY, SUCCEEDED,
			names[i], "production", names[i], "v0", NULL,
			1795414400);
		evs[3 * i + 2] = (struct summary_event)EV(ROLLBACK, FAILED,
			names[i], names[i], names[i], "v0", NULL, 1795514400);
	}
	summary_compute(&s, (struct summary_week){ 2026, 48 }, evs, 3 * N,
			default_pair, 1);
	assert_int_equal(s.ahead_nr, N);
	assert_int_equal(s.envs_nr, N + 2);
	slack = summary_render_slack(&s);
	discord = summary_render_discord(&s);
	blocks = json_object_get(slack, "blocks");
	json_array_foreach(blocks, i, b) {
		const json_t *t = json_object_get(json_object_get(b, "text"),
						  "text");

		if (t)
			assert_true(units(json_string_value(t)) <=
				    SLACK_SECTION_TEXT_MAX);
	}
	dump = json_dumps(blocks, JSON_COMPACT);
	assert_true(units(dump) <= SLACK_BLOCKS_CHARS_MAX);
	free(dump);
	assert_true(units(json_string_value(json_object_get(slack, "text"))) <=
		    SLACK_TEXT_MAX);
	assert_true(units(json_string_value(json_object_get(json_array_get(
		    json_object_get(discord, "embeds"), 0), "description"))) <=
		    DISCORD_DESCRIPTION_MAX);
	assert_non_null(strstr(json_string_value(json_object_get(
		json_array_get(json_object_get(discord, "embeds"), 0),
		"description")), "more"));
	json_decref(slack);
	json_decref(discord);
	summary_release(&s);
	for (i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(evs);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso_weeks),
		cmocka_unit_test(test_week_parse),
		cmocka_unit_test(test_bounds_dst),
		cmocka_unit_test(test_schedule_parse),
		cmocka_unit_test(test_schedule_of_config),
		cmocka_unit_test(test_schedule_dst),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_compute),
		cmocka_unit_test(test_ahead_versions),
		cmocka_unit_test(test_wording),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_golden_slack),
		cmocka_unit_test(test_golden_discord),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_limits),
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("summary", tests, NULL, NULL);
}
