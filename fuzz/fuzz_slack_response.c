/*
 * Fuzz target for the Slack provider's answer classification
 * (parse_response). The first byte picks the HTTP status (or a transport
 * failure), the second how Retry-After is sent; the rest is the body.
 * Must never crash or leak, and every result must be a known outcome with
 * code and message that are valid UTF-8 without control characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {
		200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 413,
		429, 429, 500, 502, 503, 504, 0, 0,
	};
	static const enum http_transport failures[] = {
		HTTP_ERR_CONNECT, HTTP_ERR_TIMEOUT, HTTP_ERR_TOO_LARGE,
		HTTP_ERR_TLS, HTTP_ERR_OTHER,
	};
	struct provider *p = fuzz_provider(PROVIDER_SLACK, "xoxb-fuzz-token");
	struct http_response resp;
	struct delivery_result out;
	const size_t nstatus = sizeof(statuses) / sizeof(statuses[0]);
	char retry[8];

	if (size < 2)
		return 0;
	http_response_init(&resp);
	resp.status = statuses[data[0] % nstatus];
	resp.transport = HTTP_OK;
	if (!resp.status) {
		resp.transport = failures[(data[0] / nstatus) % 5];
		memcpy(resp.error, "POST http://127.0.0.1/x: fuzz", 30);
	}
	switch (data[1] % 4) {
	case 0:
		break;
	case 1:
		resp.retry_after = xstrdup("30");
		break;
	case 2:
		memcpy(retry, data + 1, size > 8 ? 7 : size - 1);
		retry[size > 8 ? 7 : size - 1] = '\0';
		resp.retry_after = xstrdup(retry);
		break;
	default:
		resp.retry_after = xstrdup("1.5");
		break;
	}
	strbuf_add(&resp.body, data + 2, size - 2);
	p->ops->parse_response(p, &resp, "#deploys", &out);
	if (out.outcome != DELIVERY_OK && out.outcome != DELIVERY_RETRY &&
	    out.outcome != DELIVERY_PERMANENT && out.outcome != DELIVERY_AUTH)
		abort();
	if (out.outcome != DELIVERY_OK) {
		fuzz_check_text(out.code, sizeof(out.code));
		fuzz_check_text(out.message, sizeof(out.message));
		if (!out.code[0] || !out.message[0])
			abort();
	}
	if (out.retry_after_s < 0 || out.retry_after_s > 86400)
		abort();
	if (strnlen(out.channel_id, sizeof(out.channel_id)) >= sizeof(out.channel_id) ||
	    strnlen(out.message_id, sizeof(out.message_id)) >= sizeof(out.message_id))
		abort();
	http_response_release(&resp);
	return 0;
}
