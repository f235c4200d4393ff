/*
 * Fuzz target for flux_convert: the first byte picks the query (?env=,
 * ?app=, ?repo=, one of them with a newline); the rest is the body. Must
 * never crash or leak; it fails only with HERALD_EINVAL and then gives no
 * event; every event it gives must pass event_from_json(), and when the
 * marker "t0ken-value" is only in a metadata token (a "token" key or one
 * ending in "/token"), it must show in no event and no note.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "inputs/event_json.h"
#include "inputs/flux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARKER "t0ken-value"

/* How many keys and strings of v (decoded) hold the marker. */
static size_t count_marker(json_t *v)
{
	const char *key;
	json_t *val;
	size_t n = 0, i;

	if (json_is_string(v))
		return strstr(json_string_value(v), MARKER) != NULL;
	if (json_is_array(v)) {
		json_array_foreach(v, i, val)
			n += count_marker(val);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, val)
			n += (strstr(key, MARKER) != NULL) + count_marker(val);
	}
	return n;
}

/* Whether the marker is in the body once, as the value of a token key. */
static int marker_only_in_token(const uint8_t *body, size_t len)
{
	json_t *root = json_loadb((const char *)body, len, 0, NULL);
	json_t *meta = json_object_get(root, "metadata"), *val;
	const char *key;
	int only = 0;

	if (root && json_is_object(meta) && count_marker(root) == 1) {
		json_object_foreach(meta, key, val) {
			const char *slash = strrchr(key, '/');

			if (!strcmp(slash ? slash + 1 : key, "token") &&
			    json_is_string(val) &&
			    strstr(json_string_value(val), MARKER))
				only = 1;
		}
	}
	json_decref(root);
	return only;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input_param query[3];
	struct input_request req = { 0 };
	struct input_result res;
	struct errbuf err;
	unsigned flags;
	size_t nr = 0;
	int ret, secret;

	if (!size)
		return 0;
	flags = data[0];
	if (flags & 1)
		query[nr++] = (struct input_param){ "env", "production" };
	if (flags & 2)
		query[nr++] = (struct input_param){ "app", "api\nx" };
	if (flags & 4)
		query[nr++] = (struct input_param){ "repo", "acme/gitops" };
	req.body = (const char *)data + 1;
	req.len = size - 1;
	req.query = query;
	req.query_nr = nr;
	secret = marker_only_in_token(data + 1, size - 1);
	input_result_init(&res);
	ret = flux_convert(&req, &res, &err);
	if (ret && (ret != HERALD_EINVAL || json_array_size(res.events)))
		abort();
	for (size_t i = 0; i < json_array_size(res.events); i++) {
		json_t *obj = json_array_get(res.events, i);
		struct event ev;
		char *text;

		if (event_from_json(&ev, obj, "", &err))
			abort();
		event_release(&ev);
		text = json_dumps(obj, JSON_COMPACT);
		if (secret && text && strstr(text, MARKER))
			abort();
		free(text);
	}
	for (size_t i = 0; i < res.ignored.nr; i++)
		if (secret && strstr(res.ignored.items[i], MARKER))
			abort();
	input_result_release(&res);
	return 0;
}
