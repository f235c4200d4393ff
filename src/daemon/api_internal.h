/*
 * api_internal: what api.c shares with api_hooks.c and api_silences.c: the
 * answer helpers and the accept step every way in (POST /api/v1/events and
 * the webhooks) ends in. Not for the rest of the daemon.
 */
#ifndef HERALD_API_INTERNAL_H
#define HERALD_API_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/api.h"
#include "lib/errbuf.h"

#define API_JSON_TYPE "application/json"

/* Sends obj (stolen) as the JSON answer. */
void api__reply_json(struct httpd_response *resp, int status, json_t *obj);
/* {"error": "…"} plus the members of extra (stolen; may be NULL). */
void api__reply_error(struct httpd_response *resp, int status, json_t *extra,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* 503 with Retry-After: the sender should try again. */
void api__reply_unavailable(struct httpd_response *resp, const char *why);
/* Whether given (given_len bytes) is want, in time independent of where
 * they differ. want is not empty. */
int api__token_matches(const char *given, size_t given_len, const char *want);
/* application/json, in any case, with or without parameters. */
int api__is_json_type(const char *ct);
json_t *api__problems_json(const struct errlist *problems);

/* How api__accept() treats a batch. */
struct api_accept {
	const char *idem_header;	/* Idempotency-Key, or NULL */
	int array;			/* the body was an array */
	/*
	 * A bad "channel" in an event is the sender's error (400); without
	 * it, the event is stored as failed (bad_destination), as for a bad
	 * configured destination.
	 */
	int strict_channel;
	const char *source;		/* metrics label: api, flux, ... */
	const struct errlist *ignored;	/* non-NULL: "ignored" in the answer */
};

/*
 * Routes, stores (one transaction) and hands to the engine nr parsed
 * events, and answers: 202 with the accepted notifications, 200 when all
 * were duplicates (or there were none), 400, or 503 when the store did not
 * commit. Events handed to the engine are moved out of evs (left zeroed);
 * the caller still frees the array.
 */
void api__accept(struct api_context *ctx, struct event *evs, size_t nr,
		 const struct api_accept *o, struct httpd_response *resp);

/* 415: the Content-Type ct (NULL: missing) is not application/json. */
void api__reply_bad_type(struct httpd_response *resp, const char *ct);
/* The webhook handlers (api_hooks.c). */
api_handler_fn api__hook_flux, api__hook_alertmanager, api__hook_github;
/* The silences' handlers (api_silences.c). */
api_handler_fn api__silence_add, api__silence_list, api__silence_get,
	       api__silence_end;

#endif
