/*
 * api_silences: the silences endpoints of the HTTP API.
 *
 *   POST   /api/v1/silences        add one: 201 with it (and Location)
 *   GET    /api/v1/silences        the active ones and those ended within
 *                                  API_SILENCES_RECENT_S (?state=active,
 *                                  expired or all)
 *   GET    /api/v1/silences/{id}   one
 *   DELETE /api/v1/silences/{id}   end it now: 200 with it; ending one
 *                                  that has ended changes nothing (200)
 *
 * A silence is committed before the answer, and the engine reads the
 * silences again at once (api_context.silences). core/silence.h parses
 * and checks the request; docs/silences.md describes it for users.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/silence.h"
#include "daemon/api_internal.h"
#include "daemon/log.h"

/* How long an ended silence is still listed. */
#define API_SILENCES_RECENT_S (24 * 3600)

static void log_silence(const char *what, const struct silence *s,
			const struct httpd_request *req)
{
	struct log_line l;
	char *match = silence_matchers_dump(s);

	log_begin(&l, LOG_INFO, what);
	log_int(&l, "silence", s->id);
	log_str(&l, "match", match);
	log_str(&l, "comment", s->comment);
	log_str(&l, "created_by", s->created_by);
	log_str(&l, "remote", req->remote);
	log_end(&l);
	free(match);
}

static void changed(struct api_context *ctx)
{
	if (ctx->silences)
		ctx->silences(ctx->silences_arg);
}

static void reply_unreadable(struct httpd_response *resp,
			     const struct errbuf *err)
{
	log_event(LOG_ERROR, "silences unreadable", "error", err->msg, NULL);
	api__reply_unavailable(resp, "the silences cannot be read now: try "
			       "again later");
}

void api__silence_add(struct api_context *ctx, const struct httpd_request *req,
		      int64_t id, struct httpd_response *resp)
{
	struct silence s = SILENCE_INIT;
	struct errbuf err;
	char where[64];
	int ret;

	if (req->body_too_large || req->body_len > SILENCE_BODY_MAX) {
		api__reply_error(resp, 413, NULL, "the silence is over %u bytes",
				 SILENCE_BODY_MAX);
		return;
	}
	if (!api__is_json_type(httpd_request_header(req, "Content-Type"))) {
		api__reply_bad_type(resp, httpd_request_header(req,
							       "Content-Type"));
		return;
	}
	ret = silence_parse(&s, req->body ? req->body : "", req->body_len,
			    store_now(), &err);
	if (ret) {
		api__reply_error(resp, ret == HERALD_ELIMIT ? 413 : 400, NULL,
				 "invalid silence: %s", err.msg);
		return;
	}
	ret = store_silence_add(ctx->store, &s, &err);
	if (ret) {
		log_event(LOG_ERROR, "silence not stored", "error", err.msg,
			  NULL);
		api__reply_unavailable(resp, "the silence was not stored: try "
				       "again later");
		goto out;
	}
	changed(ctx);
	log_silence("silence added", &s, req);
	snprintf(where, sizeof(where), "/api/v1/silences/%" PRId64, s.id);
	api__reply_json(resp, 201, silence_to_json(&s, store_now()));
	httpd_response_add_header(resp, "Location", where);
out:
	silence_release(&s);
}

void api__silence_list(struct api_context *ctx,
		       const struct httpd_request *req, int64_t id,
		       struct httpd_response *resp)
{
	const char *want = httpd_request_query(req, "state");
	struct silence *set = NULL;
	struct errbuf err;
	double now = store_now();
	size_t nr = 0;
	json_t *list;

	if (want && strcmp(want, "active") && strcmp(want, "pending") &&
	    strcmp(want, "expired") && strcmp(want, "all")) {
		api__reply_error(resp, 400, NULL, "state \"%.64s\" is not one: "
				 "use active, pending, expired or all", want);
		return;
	}
	if (store_silence_list(ctx->store, now - API_SILENCES_RECENT_S, &set,
			       &nr, &err)) {
		reply_unreadable(resp, &err);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < nr; i++) {
		if (want && strcmp(want, "all") &&
		    strcmp(want, silence_state(&set[i], now)))
			continue;
		json_array_append_new(list, silence_to_json(&set[i], now));
	}
	silence_array_free(set, nr);
	api__reply_json(resp, 200, json_pack("{s:o}", "silences", list));
}

/* Answers with silence id as it is now, or 404. */
static void reply_silence(struct api_context *ctx, int64_t id,
			  struct httpd_response *resp)
{
	struct silence s;
	struct errbuf err;
	int ret;

	ret = store_silence_get(ctx->store, id, &s, &err);
	if (ret == HERALD_ENOENT) {
		api__reply_error(resp, 404, NULL, "silence %" PRId64 " does not "
				 "exist", id);
		return;
	}
	if (ret) {
		reply_unreadable(resp, &err);
		return;
	}
	api__reply_json(resp, 200, silence_to_json(&s, store_now()));
	silence_release(&s);
}

void api__silence_get(struct api_context *ctx, const struct httpd_request *req,
		      int64_t id, struct httpd_response *resp)
{
	reply_silence(ctx, id, resp);
}

void api__silence_end(struct api_context *ctx, const struct httpd_request *req,
		      int64_t id, struct httpd_response *resp)
{
	struct silence s;
	struct errbuf err;
	int ret;

	ret = store_silence_end(ctx->store, id, store_now(), &err);
	if (ret == HERALD_ENOENT) {
		api__reply_error(resp, 404, NULL, "silence %" PRId64 " does not "
				 "exist", id);
		return;
	}
	if (ret && ret != HERALD_EDUP) {
		log_event(LOG_ERROR, "silence not ended", "error", err.msg, NULL);
		api__reply_unavailable(resp, "the silence was not ended: try "
				       "again later");
		return;
	}
	if (!ret) {
		changed(ctx);
		if (!store_silence_get(ctx->store, id, &s, NULL)) {
			log_silence("silence ended", &s, req);
			silence_release(&s);
		}
	}
	reply_silence(ctx, id, resp);
}
