/*
 * discord_internal: what the files of the Discord provider share.
 *
 *   discord.c         the provider: requests (post, edit), resolving names
 *                     and identify, the ops table and discord_provider_new()
 *   discord_answer.c  reading Discord's answers: classification by status
 *                     and JSON error code, rate-limit headers, messages
 */
#ifndef HERALD_DISCORD_INTERNAL_H
#define HERALD_DISCORD_INTERNAL_H

#include "delivery/provider.h"

/*
 * Appends at most max bytes of s, not cutting a UTF-8 character, with
 * secret (the token, when s came from the server) and every registered
 * secret redacted first (lib/redact.h), so that not even part of one can
 * slip through.
 */
void discord__add_clipped(struct strbuf *sb, const char *s, size_t max,
			  const char *secret);

/*
 * Sets out to outcome o with code and the message "Discord: label for
 * "dest_raw": what" (without the destination part when dest_raw is NULL).
 */
void discord__set_failure(struct delivery_result *out,
			  enum delivery_outcome o, const char *code,
			  const char *label, const char *dest_raw,
			  const char *what);

/*
 * Classifies any answer into out (rate-limit headers included). On
 * success (2xx), *answer (when not NULL) gets the decoded body, which may
 * be NULL when the body is not JSON.
 */
void discord__classify(const struct http_response *resp, const char *token,
		       const char *dest_raw, struct delivery_result *out,
		       json_t **answer);

/* The parse_response op: classify, then the message and channel IDs. */
void discord__parse_response(struct provider *p,
			     const struct http_response *resp,
			     const char *dest_raw,
			     struct delivery_result *out);

#endif
