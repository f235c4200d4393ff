/*
 * Fuzz target for github_convert. Byte 0 picks the request's headers:
 * bits 0-2 the X-GitHub-Event (deployment_status, absent, ping, push, "",
 * or the bytes of the ?app= value), bit 3 whether X-GitHub-Delivery is
 * there, bit 4 a form content type, bit 5 whether ?app= is given; byte 1
 * is the length of the ?app= value (and delivery GUID), which follows;
 * the rest is the body. Every event produced must pass event_from_json()
 * with an id and within the limits, a failure must be HERALD_EINVAL with a
 * message and no events, and every note one line: aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "inputs/event_json.h"
#include "inputs/github.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_github.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const events[] = {
		"deployment_status", NULL, "ping", "push", "", NULL,
		"deployment_status", "deployment",
	};
	struct input_param headers[3], query[1];
	struct input_request req = { 0 };
	struct input_result r;
	struct errbuf err;
	char value[256];
	size_t nh = 0, n;
	unsigned flags;
	int ret;

	if (size < 2)
		return 0;
	flags = data[0];
	n = data[1];
	if (n > size - 2)
		n = size - 2;
	memcpy(value, data + 2, n);
	value[n] = '\0';	/* up to the first NUL byte counts */
	data += 2 + n;
	size -= 2 + n;

	if ((flags & 7) == 5)
		headers[nh++] = (struct input_param){ "X-GitHub-Event", value };
	else if (events[flags & 7])
		headers[nh++] = (struct input_param){ "X-GitHub-Event",
						      events[flags & 7] };
	if (flags & 8)
		headers[nh++] = (struct input_param){ "X-GitHub-Delivery", value };
	if (flags & 16)
		headers[nh++] = (struct input_param){ "Content-Type",
			"application/x-www-form-urlencoded" };
	if (flags & 32) {
		query[0] = (struct input_param){ "app", value };
		req.query = query;
		req.query_nr = 1;
	}
	req.headers = headers;
	req.headers_nr = nh;
	req.body = (const char *)data;
	req.len = size;
	req.now = 1700000000;

	input_result_init(&r);
	err.msg[0] = '\0';
	ret = github_convert(&req, &r, &err);
	if (ret) {
		CHECK(ret == HERALD_EINVAL);
		CHECK(err.msg[0]);
		CHECK(!strchr(err.msg, '\n'));
		CHECK(json_array_size(r.events) == 0);
	}
	CHECK(json_array_size(r.events) <= 1);
	for (size_t i = 0; i < json_array_size(r.events); i++) {
		struct event ev;

		if (event_from_json(&ev, json_array_get(r.events, i), "",
				    &err)) {
			fprintf(stderr, "invalid event: %s\n", err.msg);
			abort();
		}
		CHECK(ev.type == EVENT_DEPLOY || ev.type == EVENT_ROLLBACK);
		CHECK(ev.id && strlen(ev.id) <= EVENT_ID_MAX);
		CHECK(!ev.correlation ||
		      strlen(ev.correlation) <= EVENT_CORRELATION_MAX);
		event_release(&ev);
	}
	for (size_t i = 0; i < r.ignored.nr; i++) {
		CHECK(r.ignored.items[i][0]);
		CHECK(!strchr(r.ignored.items[i], '\n'));
	}
	input_result_release(&r);
	return 0;
}
