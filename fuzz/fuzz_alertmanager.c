/*
 * Fuzz target for alertmanager_convert: the first byte picks the query
 * (?group=, ?min_severity=, ?app=, ?env=) and whether a catalog answers
 * known_app; the rest is the body. Must never crash or leak; it fails only
 * with HERALD_EINVAL and then gives no event; every event it gives must
 * pass event_from_json().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "inputs/alertmanager.h"
#include "inputs/event_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known(void *ctx, const char *app)
{
	(void)ctx;
	return strlen(app) % 2 == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const severities[] = {
		"warning", "critical", "info", "bogus",
	};
	static const char *const labels[] = { "team", "app", "" };
	struct input_param query[4];
	struct input_request req = { 0 };
	struct input_result res;
	struct errbuf err;
	unsigned flags;
	size_t nr = 0;
	int ret;

	if (!size)
		return 0;
	flags = data[0];
	if (flags & 1)
		query[nr++] = (struct input_param){ "group", "true" };
	if (flags & 2)
		query[nr++] = (struct input_param){ "min_severity",
						    severities[(flags >> 4) & 3] };
	if (flags & 4)
		query[nr++] = (struct input_param){ "app", "api" };
	if (flags & 8)
		query[nr++] = (struct input_param){ "env", "prod\nx" };
	req.body = (const char *)data + 1;
	req.len = size - 1;
	req.query = query;
	req.query_nr = nr;
	req.now = 1767225600;
	if (flags & 64)
		req.known_app = known;
	if (flags & 128) {
		req.app_labels = labels;
		req.app_labels_nr = 3;
	}
	input_result_init(&res);
	ret = alertmanager_convert(&req, &res, &err);
	if (ret && (ret != HERALD_EINVAL || json_array_size(res.events)))
		abort();
	for (size_t i = 0; i < json_array_size(res.events); i++) {
		struct event ev;

		if (event_from_json(&ev, json_array_get(res.events, i), "",
				    &err))
			abort();
		event_release(&ev);
	}
	input_result_release(&res);
	return 0;
}
