/*
 * herald-fake: the parts the fake Slack and Discord server shares.
 *
 * One process serves both platforms and a control API on one loopback port
 * (docs/fake-platforms.md). fake_platform.c runs libmicrohttpd, records the
 * requests and injects faults; fake_state.c holds the platforms' directory
 * (channels, users, guilds), the defaults and the mutable state;
 * fake_slack.c and fake_discord.c answer the platforms' endpoints.
 *
 * Everything in struct fake_state is guarded by its lock, and the platform
 * handlers run with it held. Directory entries and stored messages are
 * jansson objects: a handler that puts one into a response deep-copies it,
 * so later edits never change a recorded response.
 */
#ifndef HERALD_FAKE_H
#define HERALD_FAKE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "lib/errbuf.h"

#define FAKE_BODY_MAX (1024u * 1024)
#define FAKE_RESPONSE_HEADERS_MAX 12
#define FAKE_REQUESTS_MAX 10000		/* recorded requests kept in memory */
#define FAKE_NONCE_WINDOW 300.0		/* seconds a Discord nonce is remembered */
#define FAKE_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(16))

struct fake_limits {
	double slack_rate;		/* chat.postMessage per second per channel; 0: no limit */
	double slack_burst;		/* bucket size, >= 1 */
	long discord_bucket_limit;	/* requests per bucket and window, >= 1 */
	double discord_bucket_window;	/* seconds */
};

#define FAKE_LIMITS_DEFAULT { 1.0, 3.0, 5, 5.0 }

struct fake_state {
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* broadcast when stopping: ends fault delays */
	int stopping;
	struct fake_limits limits;

	json_t *slack;		/* token, team, team_id, url, bot_*, channels, users */
	json_t *discord;	/* token, bot, guilds */

	json_t *slack_messages;	/* [{channel, ts, text, blocks, edited, history, message}] */
	json_t *slack_dms;	/* {user id: "D…"} */
	json_t *slack_buckets;	/* {channel id: {tokens, last}} */
	long long slack_last_ts;	/* µs since the epoch of the newest ts */

	json_t *discord_messages;	/* [{message, nonce, created, edited, history}] */
	json_t *discord_dms;	/* {recipient id: DM channel object} */
	json_t *discord_buckets;	/* {bucket key: {count, start}} */
	unsigned long long discord_last_snowflake;

	json_t *requests;	/* recorded requests, oldest first */
	long long request_seq;
	json_t *faults;		/* queued faults, first match wins */
};

/* A platform request as the handlers see it; every field is borrowed. */
struct fake_request {
	const char *method;
	const char *path;		/* below the platform prefix: "chat.postMessage", "/users/@me" */
	json_t *query;			/* {name: value}: decoded GET arguments */
	const char *authorization;	/* the header, NULL when absent */
	const char *content_type;
	const char *user_agent;
	const char *body;		/* NUL-terminated */
	size_t body_len;
};

struct fake_header {
	char name[48];
	char value[160];
};

struct fake_response {
	unsigned status;
	json_t *body;		/* owned; NULL: empty body */
	struct fake_header headers[FAKE_RESPONSE_HEADERS_MAX];
	size_t headers_nr;
};

/* Takes over body (a new reference); replaces an earlier one. */
void fake_response_set(struct fake_response *resp, unsigned status, json_t *body);
/* Adds a header; quietly ignored beyond FAKE_RESPONSE_HEADERS_MAX. */
void fake_response_header(struct fake_response *resp, const char *name,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Frees the body; the status and headers stay readable. */
void fake_response_release(struct fake_response *resp);

/*
 * Sets up the state from the built-in defaults, overridden per key by the
 * JSON file state_file when not NULL. Returns 0 or HERALD_EINVAL / HERALD_EIO
 * with the detail in err; the state needs fake_state_release() either way.
 */
int fake_state_init(struct fake_state *st, const char *state_file,
		    const struct fake_limits *limits, struct errbuf *err);
void fake_state_release(struct fake_state *st);
/* Forgets messages, recorded requests, faults and rate buckets. */
void fake_state_clear(struct fake_state *st);
/* The directory as a --state file would spell it (new reference). */
json_t *fake_state_directory(const struct fake_state *st);

/*
 * errbuf_set() for the fake, which links only strbuf.c of herald's sources:
 * writes the message (truncated to fit) into err and returns code.
 */
int fake_error(struct errbuf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

double fake_time_wall(void);	/* seconds since the epoch */
double fake_time_mono(void);	/* seconds on a monotonic clock */
/* Unicode code points in a UTF-8 string (jansson strings are valid UTF-8). */
size_t fake_utf8_len(const char *s);
/* Case-insensitive ASCII comparisons. */
int fake_strieq(const char *a, const char *b);
int fake_istarts_with(const char *s, const char *prefix);
/* The string member key of obj, or NULL when absent or not a string. */
const char *fake_json_str(const json_t *obj, const char *key);

void fake_slack_handle(struct fake_state *st, const struct fake_request *req,
		       struct fake_response *resp);
void fake_discord_handle(struct fake_state *st, const struct fake_request *req,
			 struct fake_response *resp);

#endif
