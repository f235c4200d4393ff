/*
 * provider: the chat platforms behind one interface.
 *
 * A provider is "render + deliver". Rendering is render.h; delivery is split
 * into a pure protocol half (build the HTTP request, classify the answer),
 * which the daemon drives asynchronously on http_client's multi interface,
 * and synchronous conveniences (resolve a destination, deliver one
 * notification with retries) for the one-shot commands `herald send` and
 * `herald check`. Slack (slack.c) and Discord (discord.c) each fill a
 * struct provider_ops; new platforms slot in the same way.
 */
#ifndef HERALD_PROVIDER_H
#define HERALD_PROVIDER_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"
#include "lib/errbuf.h"
#include "delivery/http_client.h"
#include "core/route.h"
#include "lib/clock.h"	/* deadlines are monotonic_now() times */
#include "lib/strbuf.h"

enum delivery_outcome {
	DELIVERY_OK,
	DELIVERY_RETRY,		/* 429, 5xx, network, timeouts, …: try again */
	DELIVERY_PERMANENT,	/* retrying cannot help: keep the error */
	DELIVERY_AUTH,		/* credentials rejected: pause the provider */
};

const char *delivery_outcome_name(enum delivery_outcome o);

/* Rate-limit state a platform announced (Discord headers; Slack 429s). */
struct ratelimit_info {
	int known;		/* headers were present */
	char bucket[64];	/* X-RateLimit-Bucket */
	long remaining;		/* X-RateLimit-Remaining */
	double reset_after_s;	/* X-RateLimit-Reset-After */
	int global;		/* the 429 was the global limit */
};

/* The classified result of one platform call. */
struct delivery_result {
	enum delivery_outcome outcome;
	char code[64];		/* the platform's code: "channel_not_found",
				   "10003", or "http_503", "timeout", "network" */
	char message[512];	/* what happened and what to do; no secrets */
	char channel_id[64];	/* where it landed: Slack C…/D…, Discord ID */
	char message_id[64];	/* Slack ts, Discord message ID */
	double retry_after_s;	/* the platform asked to wait; 0 if unsaid */
	long http_status;	/* 0 when no HTTP answer */
	struct ratelimit_info rl;
};

void delivery_result_clear(struct delivery_result *r);

struct provider;

struct provider_ops {
	enum provider_kind kind;
	const char *name;	/* "slack", "discord" */

	/*
	 * Pure protocol: fill req (initialized to zero by the caller) for a
	 * new post of body into channel_id, or an edit of message_id there.
	 * channel_id is what resolve() produced. nonce (Discord) may be NULL.
	 */
	int (*post_request)(struct provider *p, const char *channel_id,
			    const json_t *body, const char *nonce,
			    struct http_request *req, struct errbuf *err);
	int (*update_request)(struct provider *p, const char *channel_id,
			      const char *message_id, const json_t *body,
			      struct http_request *req, struct errbuf *err);
	/*
	 * Classifies the answer to a post or update. dest_raw (the destination
	 * as written, "#deploys") is used in messages. Fills channel_id and
	 * message_id on success.
	 */
	void (*parse_response)(struct provider *p, const struct http_response *resp,
			       const char *dest_raw, struct delivery_result *out);

	/*
	 * Synchronous: turns a destination into the channel ID to post into
	 * (Slack: names pass through, people become D… via
	 * conversations.open; Discord: names resolve in the guild, people via
	 * member search and a DM channel). Uses and fills p's cache.
	 * Returns 0, or a negative code with out classified.
	 */
	int (*resolve)(struct provider *p, struct http_client *c,
		       const struct destination *d, struct strbuf *channel_id,
		       struct delivery_result *out);
	/* Synchronous credentials check: who the bot is ("herald in Acme"). */
	int (*identify)(struct provider *p, struct http_client *c,
			struct strbuf *who, struct delivery_result *out);

	/*
	 * Releases the platform's own state and frees p itself (the whole
	 * struct that embeds struct provider). Called by provider_free() after
	 * it has released the common fields (token, api_url, guild, cache) and
	 * set them to NULL.
	 */
	void (*free)(struct provider *p);
};

/*
 * A provider instance: ops plus what every platform needs. Created by
 * provider_new(); the platform's own state follows in its own struct that
 * embeds this one first.
 */
struct provider {
	const struct provider_ops *ops;
	char *token;		/* secret: only ever put into request headers */
	char *api_url;		/* base URL, no trailing slash */
	char *guild;		/* Discord guild ID, or NULL */
	struct resolve_cache *cache;
};

/*
 * Creates the provider cfg->provider names (slack or discord; PROVIDER_LOG
 * has none and gives HERALD_EINVAL). Free with provider_free().
 */
int provider_new(struct provider **out, const struct config *cfg,
		 struct errbuf *err);
void provider_free(struct provider *p);

/* The platform constructors provider_new() dispatches to. */
int slack_provider_new(struct provider **out, const struct config *cfg,
		       struct errbuf *err);
int discord_provider_new(struct provider **out, const struct config *cfg,
			 struct errbuf *err);

/*
 * For the constructors: fills the common fields of p (already allocated,
 * zeroed, as the first member of the platform's struct): ops, a copy of
 * cfg->token, api_url (copied, trailing slashes removed), a copy of
 * cfg->discord_guild, and an empty resolution cache.
 */
void provider_init(struct provider *p, const struct provider_ops *ops,
		   const struct config *cfg, const char *api_url);

/*
 * Fills r's outcome, code and message (printf-style). Both are redacted
 * (lib/redact.h) before they are cut, so no part of a secret is left: a
 * token echoed as Slack's error code becomes "…". code is cut to fit and
 * reduced to printable ASCII (and "…"); the message is cut at a UTF-8
 * character boundary, so both are always valid UTF-8 and safe to put into
 * JSON.
 */
void delivery_result_set(struct delivery_result *r, enum delivery_outcome o,
			 const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Classifies a request that got no HTTP answer (resp->transport is not
 * HTTP_OK): timeouts, network and TLS errors are retryable, a too large
 * answer is permanent. The message reads "<platform>: <code> for "<dest>":
 * what happened and what to do", naming url_var as the setting to check;
 * dest_raw may be NULL.
 */
void delivery_result_transport(struct delivery_result *r,
			       const struct http_response *resp,
			       const char *platform, const char *url_var,
			       const char *dest_raw);

/* HERALD_OK, HERALD_ERETRY, HERALD_EPERM or HERALD_EAUTH for an outcome. */
int delivery_outcome_errcode(enum delivery_outcome o);

/*
 * The resolution cache: destination (as written) -> channel ID, with an
 * expiry (wall-clock seconds, compared with now), so people and names are
 * looked up once. The daemon persists it. get returns NULL for a missing
 * or expired entry; put replaces an existing entry for key.
 */
const char *provider_cache_get(struct provider *p, const char *key, time_t now);
void provider_cache_put(struct provider *p, const char *key,
			const char *channel_id, time_t expires);

/*
 * The Discord nonce for a notification: at most 25 characters, derived from
 * its stable identity (e.g. the notification ID), so a retried post is
 * dropped by the platform instead of appearing twice.
 */
void provider_nonce(const char *identity, char out[26]);

/*
 * Synchronous delivery of one rendered body to d, with retries: retryable
 * failures back off exponentially with full jitter (1 s base), honouring
 * the platform's retry-after, until deadline (a monotonic_now() time in
 * seconds). edit_message_id, when set, edits that message in
 * edit_channel_id instead of posting. *attempts counts the tries.
 */
/*
 * Returns 0 (delivered: out has channel_id and message_id), HERALD_EPERM,
 * HERALD_EAUTH, or HERALD_ERETRY when retryable failures lasted until the
 * deadline; out then holds the last failure. The token never appears in
 * out.
 */
int provider_deliver(struct provider *p, struct http_client *c,
		     const struct destination *d, const json_t *body,
		     const char *nonce, const char *edit_channel_id,
		     const char *edit_message_id, double deadline,
		     struct delivery_result *out, int *attempts);

/*
 * Backoff for attempt n (1-based): pace_backoff(), full jitter over
 * min(cap, base*2^(n-1)), with the calling thread's random numbers.
 */
double provider_backoff(int attempt, double base_s, double cap_s);

#endif
