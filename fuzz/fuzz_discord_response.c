/*
 * Fuzz target for the Discord provider's answer classification
 * (parse_response), rate-limit headers included. The first byte picks the
 * HTTP status (or a transport failure); the bits of the second say which
 * of the six kept headers are present (Retry-After, X-RateLimit-Remaining,
 * -Reset-After, -Bucket, -Global, -Scope), whose values then follow, one
 * line each; the rest is the body. Must never crash or leak, and every
 * result must be a known outcome with code and message that are valid
 * UTF-8 without control characters, and sane numbers.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_provider.h"

#define HEADER_VALUE_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of data (at most HEADER_VALUE_MAX bytes) as a string. */
static char *take_line(const uint8_t *data, size_t size, size_t *pos)
{
	size_t start = *pos, end = start;

	while (end < size && data[end] != '\n' && end - start < HEADER_VALUE_MAX)
		end++;
	*pos = end < size && data[end] == '\n' ? end + 1 : end;
	return xstrndup((const char *)data + start, end - start);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {
		200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 405, 413,
		429, 429, 500, 502, 503, 504, 0, 0,
	};
	static const enum http_transport failures[] = {
		HTTP_ERR_CONNECT, HTTP_ERR_TIMEOUT, HTTP_ERR_TOO_LARGE,
		HTTP_ERR_TLS, HTTP_ERR_OTHER,
	};
	struct provider *p = fuzz_provider(PROVIDER_DISCORD, "discord-fuzz-token");
	struct http_response resp;
	struct delivery_result out;
	const size_t nstatus = sizeof(statuses) / sizeof(statuses[0]);
	char **fields[6];
	size_t pos = 2;

	if (size < 2)
		return 0;
	http_response_init(&resp);
	fields[0] = &resp.retry_after;
	fields[1] = &resp.ratelimit_remaining;
	fields[2] = &resp.ratelimit_reset_after;
	fields[3] = &resp.ratelimit_bucket;
	fields[4] = &resp.ratelimit_global;
	fields[5] = &resp.ratelimit_scope;
	resp.status = statuses[data[0] % nstatus];
	resp.transport = HTTP_OK;
	if (!resp.status) {
		resp.transport = failures[(data[0] / nstatus) % 5];
		memcpy(resp.error, "POST http://127.0.0.1/x: fuzz", 30);
	}
	for (int i = 0; i < 6; i++)
		if (data[1] & (1u << i))
			*fields[i] = take_line(data, size, &pos);
	strbuf_add(&resp.body, data + pos, size - pos);
	p->ops->parse_response(p, &resp, "#deploys", &out);
	if (out.outcome != DELIVERY_OK && out.outcome != DELIVERY_RETRY &&
	    out.outcome != DELIVERY_PERMANENT && out.outcome != DELIVERY_AUTH)
		abort();
	if (out.outcome != DELIVERY_OK) {
		fuzz_check_text(out.code, sizeof(out.code));
		fuzz_check_text(out.message, sizeof(out.message));
		if (!out.code[0] || !out.message[0])
			abort();
		if (strstr(out.message, "discord-fuzz-token"))
			abort();
	} else if (!out.message_id[0]) {
		abort();
	}
	if (!(out.retry_after_s >= 0 && out.retry_after_s <= 86400))
		abort();
	if (!(out.rl.reset_after_s >= 0 && out.rl.reset_after_s <= 86400) ||
	    out.rl.remaining < 0)
		abort();
	fuzz_check_text(out.rl.bucket, sizeof(out.rl.bucket));
	if (strnlen(out.channel_id, sizeof(out.channel_id)) >= sizeof(out.channel_id) ||
	    strnlen(out.message_id, sizeof(out.message_id)) >= sizeof(out.message_id))
		abort();
	fuzz_check_text(out.channel_id, sizeof(out.channel_id));
	fuzz_check_text(out.message_id, sizeof(out.message_id));
	http_response_release(&resp);
	return 0;
}
