/*
 * silence: muting the new messages of a known problem for a while, as
 * Alertmanager's silences do for alerts.
 *
 * A silence is a set of matchers (app, env, type, status, alert name,
 * alert object, destination; each exact or a glob), a time it ends, a
 * comment and who made it. A notification whose fields all match an
 * active silence's matchers is not posted. This module parses and checks
 * the JSON of POST /api/v1/silences and the matchers of `herald silence
 * add`, writes silences as JSON, and matches; the store keeps them, the
 * engine applies them. Pure: no I/O, no clock (callers pass now).
 * docs/silences.md describes them for users.
 */
#ifndef HERALD_SILENCE_H
#define HERALD_SILENCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"

struct event;

/* The longest a silence lasts: 30 days. */
#define SILENCE_MAX_S (30 * 86400)
/* The largest request body the parser takes. */
#define SILENCE_BODY_MAX (64u * 1024)
/* Bounds of a matcher's value, the comment and created_by, in bytes. */
#define SILENCE_VALUE_MAX 256
#define SILENCE_COMMENT_MAX 1000
#define SILENCE_BY_MAX 200

/* What a silence matches on, in the order of silence_field_names[]. */
enum silence_field {
	SILENCE_APP,
	SILENCE_ENV,
	SILENCE_TYPE,
	SILENCE_STATUS,
	SILENCE_ALERT,		/* the alert's name */
	SILENCE_OBJECT,		/* the alert's object */
	SILENCE_DESTINATION,	/* where the notification goes: "#deploys" */
	SILENCE_FIELD_NR
};

/* "app", "env", "type", "status", "alert", "object", "destination". */
extern const char *const silence_field_names[SILENCE_FIELD_NR];
/* "app, env, type, status, alert, object or destination": for messages. */
extern const char *const silence_fields_expected;

/*
 * One silence. All strings are owned by it (silence_release()). A NULL
 * matcher matches anything; a silence has at least one matcher.
 */
struct silence {
	int64_t id;			/* the store's; 0 before it is stored */
	char *match[SILENCE_FIELD_NR];
	double starts_at;		/* seconds since 1970, UTC */
	double ends_at;
	double ended_at;		/* ended early (DELETE); 0: not */
	double created_at;
	char *comment;
	char *created_by;		/* NULL: not given */
	long long silenced;		/* notifications it held back, as the
					   store counts them */
};

#define SILENCE_INIT { 0 }

void silence_release(struct silence *s);
void silence_array_free(struct silence *s, size_t nr);
/* A deep copy of src into dst (which it overwrites). */
void silence_copy(struct silence *dst, const struct silence *src);

/*
 * Parses a POST /api/v1/silences body:
 *   {"match": {"app": "api", "alert": "CrashLoop*", ...},
 *    "ends_at": "2026-12-06T18:00:00Z" | "duration": "2h",
 *    "comment": "...", "created_by": "..."}
 * against now (seconds since 1970): the end is required (one of ends_at
 * and duration), in the future and at most SILENCE_MAX_S away; the
 * comment is required; unknown keys and matchers are refused, naming them
 * and the allowed ones. On success out (zeroed first) holds the silence,
 * starting at now; on failure it holds nothing, and err says what is
 * wrong and where (HERALD_EINVAL, or HERALD_ELIMIT for a body over
 * SILENCE_BODY_MAX).
 */
int silence_parse(struct silence *out, const char *text, size_t len,
		  double now, struct errbuf *err);

/*
 * Sets one matcher from "name=value" (the CLI's form), checked as in a
 * request; a second one for the same name replaces the first.
 */
int silence_set_matcher(struct silence *s, const char *arg,
			struct errbuf *err);

/*
 * A duration: a sequence of numbers with units s, m, h or d ("90s",
 * "30m", "2h", "1d", "1h30m"). Returns 0 and the seconds (more than 0, at
 * most SILENCE_MAX_S), or HERALD_EINVAL with err saying why.
 */
int silence_parse_duration(const char *s, long *seconds, struct errbuf *err);

/*
 * Whether s matches pattern, where "*" stands for any run of characters
 * (none included) and "?" for exactly one character (a UTF-8 sequence);
 * every other byte stands for itself. Case-sensitive.
 */
int silence_glob_match(const char *pattern, const char *s);

/* What a notification is matched on; NULL for a field it has not. */
struct silence_subject {
	const char *v[SILENCE_FIELD_NR];
};

/*
 * The subject of ev going to destination (may be NULL). It points into
 * ev and destination, and lives as long as they do.
 */
void silence_subject_of(struct silence_subject *subj, const struct event *ev,
			const char *destination);

/* Active: started, not ended early, and now before its end. */
int silence_is_active(const struct silence *s, double now);
/*
 * "active", "pending" (starts later) or "expired" (ended early or ran
 * out).
 */
const char *silence_state(const struct silence *s, double now);

/*
 * Whether every matcher of s matches subj (a field subj lacks counts as
 * the empty string, so only "*" matches it). Time is not looked at.
 */
int silence_matches(const struct silence *s,
		    const struct silence_subject *subj);

/*
 * The first silence of set[0..nr-1] that is active at now and matches
 * subj, or NULL.
 */
const struct silence *silence_find(const struct silence *set, size_t nr,
				   const struct silence_subject *subj,
				   double now);

/*
 * The silence as the API shows it (new reference): id, state, match
 * {name: value, only those set}, starts_at, ends_at, ended_at (null
 * unless ended early), comment, created_by (null when not given),
 * created_at, silenced (how many notifications it held back); times
 * RFC 3339 UTC.
 */
json_t *silence_to_json(const struct silence *s, double now);

/* The matchers as compact JSON text ({"app":"api"}); caller frees. */
char *silence_matchers_dump(const struct silence *s);
/*
 * Reads silence_matchers_dump()'s text back into s's matchers (replacing
 * them). HERALD_EINVAL when it is not such text.
 */
int silence_matchers_load(struct silence *s, const char *text,
			  struct errbuf *err);

/* "silenced by silence 3 (\"maintenance\")", the comment cut to fit. */
void silence_reason(const struct silence *s, char *buf, size_t size);

#endif
