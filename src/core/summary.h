/*
 * summary: the weekly summary, computed from stored events.
 *
 * What a week was: deploys, rollbacks and failed deploys per environment,
 * the most active deployers, the total time alerts were firing and its
 * change against the week before, and the apps whose first environment of
 * a pair (staging) runs a newer version than the second (production).
 * Rendered for Slack and Discord (render_summary.c, with render.c's
 * escaping) and as JSON. ISO 8601 weeks, the schedule ("mon 09:00") and
 * when it is due are here too; every function that needs the time takes it
 * as an argument, and local time is the process's TZ (localtime_r(),
 * mktime()). Pure: no I/O. docs/summary.md describes it.
 */
#ifndef HERALD_SUMMARY_H
#define HERALD_SUMMARY_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"
#include "core/event.h"
#include "lib/errbuf.h"

/* "2026-W48" and its NUL. */
#define SUMMARY_WEEK_NAME_MAX 16
/* What Gimlet's FEATURE_WEEKLY_SUMMARY=true means. */
#define SUMMARY_GIMLET_DEFAULT "mon 09:00"
/* The idempotency key of a week's summary is this and the week's name. */
#define SUMMARY_KEY_PREFIX "summary-"
/* The deployers and the lines of a list shown at most; "and N more" then. */
#define SUMMARY_DEPLOYERS_MAX 5
#define SUMMARY_LIST_MAX 15
/* The summary reads events this long before the summarized week... */
#define SUMMARY_LOOKBACK_S (21L * 86400)
/* ...and received up to this long after its end. */
#define SUMMARY_LATE_S (7L * 86400)

/* ---- ISO 8601 weeks ------------------------------------------------- */

/* An ISO week: its year (which may differ from the calendar's) and 1..53. */
struct summary_week {
	int year;
	int week;
};

/*
 * Parses "YYYY-Www" ("2026-W48"; "2026w48" too, any case); returns 0, or
 * HERALD_EINVAL with err saying what was expected (week 53 only in the
 * years that have it).
 */
int summary_week_parse(const char *s, struct summary_week *out,
		       struct errbuf *err);
/* Writes "2026-W48". */
void summary_week_name(const struct summary_week *w,
		       char out[SUMMARY_WEEK_NAME_MAX]);
/* The ISO week of the local date of t. */
struct summary_week summary_week_of(time_t t);
/* The week before and after w. */
struct summary_week summary_week_prev(struct summary_week w);
struct summary_week summary_week_next(struct summary_week w);
/* Whether year has a week 53 (its 28 December falls in it). */
int summary_year_has_53(int year);
/*
 * The week's start (Monday 00:00 local time) and end (the next Monday
 * 00:00), as Unix times; a week over a DST change is an hour shorter or
 * longer.
 */
void summary_week_bounds(struct summary_week w, time_t *start, time_t *end);

/* ---- the schedule ------------------------------------------------------ */

/* When the summary is posted: a weekday and a local time, or never. */
/*
 * How long back the summary needs the stored events: the week it sums up
 * and the week before, posted at the latest on the last day of the week
 * after (docs/summary.md). Retention keeps at least this much.
 */
#define SUMMARY_KEEP_S (22L * 86400)

struct summary_schedule {
	int enabled;
	int wday;		/* 1 Monday .. 7 Sunday, as ISO */
	int hour;
	int minute;
};

/*
 * Parses HERALD_SUMMARY: "mon 09:00" (a weekday's first three letters or
 * its full name, any case; H:MM or HH:MM, 24-hour), or "off" or empty for
 * none. HERALD_EINVAL with err saying what was expected.
 */
int summary_schedule_parse(const char *s, struct summary_schedule *out,
			   struct errbuf *err);
/*
 * The schedule in effect for cfg: HERALD_SUMMARY when set (even "off"),
 * else "mon 09:00" when FEATURE_WEEKLY_SUMMARY is true (config_load()
 * already puts that into cfg->summary), else none.
 */
struct summary_schedule summary_schedule_of(const struct config *cfg);
/* "mon 09:00", or "off". */
void summary_schedule_name(const struct summary_schedule *s,
			   char out[SUMMARY_WEEK_NAME_MAX]);
/*
 * When s fires in week w: its weekday and time, local. A time that a DST
 * change skips is taken as after the change (02:30 becomes 03:30).
 */
time_t summary_schedule_at(const struct summary_schedule *s,
			   struct summary_week w);
/*
 * Whether a summary is due at now: 1 when now is at or after this week's
 * scheduled time, with *due set to the week before now's (the last
 * complete week), 0 when it is not yet that time this week. Either way
 * *next is the next scheduled time after now. s must be enabled.
 */
int summary_due(const struct summary_schedule *s, time_t now,
		struct summary_week *due, time_t *next);

/* ---- environment pairs ------------------------------------------------- */

/* "staging>production": apps whose ahead env runs a newer version. */
struct summary_pair {
	char *ahead;
	char *behind;
};

/*
 * Parses HERALD_SUMMARY_ENVS ("staging>production,qa>staging") into a new
 * array *pairs of *nr (free with summary_pairs_free()); NULL or "" is no
 * pairs. Every bad item is appended to problems, named after var ("item 2
 * \"prod\" has no \">\": expected ahead>behind, e.g. staging>production");
 * returns 0 or HERALD_EINVAL (then *pairs holds nothing).
 */
int summary_pairs_parse(const char *var, const char *s,
			struct summary_pair **pairs, size_t *nr,
			struct errlist *problems);
void summary_pairs_free(struct summary_pair *pairs, size_t nr);

/* ---- the computation ------------------------------------------------- */

/* What the summary needs of one event; the strings are borrowed. */
struct summary_event {
	enum event_type type;
	enum event_status status;
	const char *app;
	const char *env;
	const char *actor;
	const char *version;		/* the version, else the commit */
	const char *story;		/* event_correlation_key() */
	time_t at;			/* the timestamp, else when received */
};

struct summary_env {
	char *env;
	long deploys;			/* finished: succeeded or failed */
	long failed;			/* of them failed */
	long rollbacks;			/* finished rollbacks */
};

struct summary_deployer {
	char *actor;
	long deploys;			/* deploys and rollbacks */
};

struct summary_ahead {
	char *app;
	char *ahead_env;
	char *ahead_version;
	char *behind_env;
	char *behind_version;
};

/* A week's summary. Owns everything; summary_release() frees it. */
struct summary {
	struct summary_week week;
	time_t start, end;
	long events;			/* events in the week */
	struct summary_env *envs;	/* by deploys, most first */
	size_t envs_nr;
	struct summary_deployer *deployers;	/* most first, ties by name */
	size_t deployers_nr;
	long alert_s;			/* alert firing time in the week */
	long alert_prev_s;		/* the week before */
	long alerts;			/* alert stories firing in the week */
	struct summary_ahead *ahead;	/* by app */
	size_t ahead_nr;
};

/*
 * Computes week's summary from evs[0..nr) in any order (events outside
 * the week and the one before count only for the versions deployed).
 * Deploys and rollbacks count when they finish (succeeded or failed);
 * deployers are their actors, "policy" (automatic) left out. Alert time
 * pairs each story's firing with its next resolved, clipped to the week;
 * a story still firing counts to the week's end. The versions compared
 * are each app's latest successful deploy or rollback before the week's
 * end in each env of pairs. out is overwritten; release it.
 */
void summary_compute(struct summary *out, struct summary_week week,
		     const struct summary_event *evs, size_t nr,
		     const struct summary_pair *pairs, size_t pairs_nr);
void summary_release(struct summary *s);

/*
 * The sentence about alert time: "Alerts fired for 3h 20m, up 1h 5m from
 * 2h 15m the week before." Down, "the same as the week before", "none the
 * week before", and "No alert fired" for none. Appends to out.
 */
void summary_alert_sentence(const struct summary *s, struct strbuf *out);
/* Appends a duration in seconds as "3h 20m", "2d 4h", "45s". */
void summary_add_duration(struct strbuf *out, long seconds);

/* ---- output ---------------------------------------------------------- */

/*
 * The summary as JSON (new reference): week, start and end (RFC 3339
 * UTC), events, environments [{env, deploys, failed, rollbacks}],
 * deployers [{actor, deploys}], alerts {firing_seconds,
 * previous_firing_seconds, change_seconds, stories, sentence}, ahead [{app,
 * env, version, behind_env, behind_version}].
 */
json_t *summary_to_json(const struct summary *s);

/*
 * The message bodies (new references, never NULL), as render.h's: a
 * chat.postMessage body without "channel", a create-message body with
 * allowed_mentions {"parse": []}. Every value from the events is escaped
 * and the lists are cut ("and 3 more") to stay within the platforms'
 * limits (render_summary.c).
 */
json_t *summary_render_slack(const struct summary *s);
json_t *summary_render_discord(const struct summary *s);
json_t *summary_render_for(enum provider_kind provider,
			   const struct summary *s);
/* The same in plain text, one line per item (herald summary). */
void summary_render_text(const struct summary *s, struct strbuf *out);

#endif
