/*
 * Fuzz target for every webhook adapter of the table in inputs/input.c,
 * through input_convert(), the way the hooks and `herald route --from`
 * call them: an adapter added to the table is fuzzed here from the day it
 * lands (the per-source targets, fuzz_flux and so on, check what is
 * particular to each). The input is text:
 *
 *   NAME[?query]          the adapter's name ("flux", "alertmanager",
 *                         "github", ...; an unknown name picks one by its
 *                         length) and the hook's query, name=value&...
 *   Name: value           headers
 *   ...                   an empty line, then the body
 *
 * For any body the adapter must answer 0 or HERALD_EINVAL with a one-line
 * message and no events; every event it makes must pass event_from_json()
 * (input_convert() never has to drop one), with an id within the limits,
 * the same ids for the same request converted twice; every note one line.
 * Aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "inputs/event_json.h"
#include "inputs/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_inputs.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

#define MAX_PARAMS 32

static const struct input_adapter *pick(const char *name)
{
	const struct input_adapter *a = input_adapter_find(name), *conv[INPUT_SOURCE_NR];
	size_t n = 0;

	if (a && a->convert)
		return a;
	for (size_t i = 0; i < INPUT_SOURCE_NR; i++) {
		a = input_adapter_get((enum input_source)i);
		if (a && a->convert)
			conv[n++] = a;
	}
	CHECK(n > 0);
	return conv[strlen(name) % n];
}

static int known_app(void *ctx, const char *app)
{
	return !strcmp(app, "api") || !strcmp(app, "podinfo");
}

static void check_result(const struct input_result *r, int ret,
			 const struct errbuf *err, struct event *evs,
			 size_t nr)
{
	if (ret) {
		CHECK(ret == HERALD_EINVAL);
		if (!err->msg[0] || strchr(err->msg, '\n')) {
			fprintf(stderr, "fuzz_inputs.c: bad error: \"%s\"\n",
				err->msg);
			abort();
		}
		CHECK(json_array_size(r->events) == 0);
		CHECK(!evs && !nr);
	}
	/* Nothing dropped: every converted event was valid. */
	CHECK(nr == json_array_size(r->events));
	for (size_t i = 0; i < nr; i++) {
		CHECK(evs[i].id && *evs[i].id);
		CHECK(strlen(evs[i].id) <= EVENT_ID_MAX);
		CHECK(!evs[i].correlation ||
		      strlen(evs[i].correlation) <= EVENT_CORRELATION_MAX);
	}
	for (size_t i = 0; i < r->ignored.nr; i++) {
		if (!r->ignored.items[i][0] || strchr(r->ignored.items[i], '\n')) {
			fprintf(stderr, "fuzz_inputs.c: bad note: %s\n",
				r->ignored.items[i]);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const labels[] = { "app", "service", "job" };
	struct input_param headers[MAX_PARAMS], query[MAX_PARAMS];
	struct input_request req = { 0 };
	struct input_result r, again;
	struct event *evs = NULL, *evs2 = NULL;
	size_t nr = 0, nr2 = 0, nh = 0, nq = 0;
	const struct input_adapter *a;
	struct errbuf err, err2;
	char *text, *p, *end, *nl, *q;
	int ret, ret2;

	text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	end = text + size;
	p = text;

	/* The first line: the adapter and the query. */
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl)
		*nl = '\0';
	q = strchr(p, '?');
	if (q) {
		char *next;

		*q++ = '\0';
		for (; q && *q && nq < MAX_PARAMS; q = next) {
			char *eq;

			next = strchr(q, '&');
			if (next)
				*next++ = '\0';
			eq = strchr(q, '=');
			if (eq)
				*eq++ = '\0';
			query[nq++] = (struct input_param){ q, eq ? eq : "" };
		}
	}
	a = pick(p);
	p = nl ? nl + 1 : end;

	/* The headers, up to an empty line. */
	while (p < end) {
		char *colon, *value;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl)
			*nl = '\0';
		if (!*p) {
			p = nl ? nl + 1 : end;
			break;
		}
		colon = strchr(p, ':');
		value = colon ? colon + 1 : p + strlen(p);
		if (colon)
			*colon = '\0';
		while (*value == ' ')
			value++;
		if (nh < MAX_PARAMS)
			headers[nh++] = (struct input_param){ p, value };
		p = nl ? nl + 1 : end;
	}

	req.body = p;
	req.len = (size_t)(end - p);
	req.headers = headers;
	req.headers_nr = nh;
	req.query = query;
	req.query_nr = nq;
	req.now = 1795687200;
	if (size & 1) {
		req.app_labels = labels;
		req.app_labels_nr = 3;
		req.known_app = known_app;
	}

	input_result_init(&r);
	err.msg[0] = '\0';
	ret = input_convert(a, &req, &r, &evs, &nr, &err);
	check_result(&r, ret, &err, evs, nr);

	/* The same request again: the same answer, the same event ids. */
	input_result_init(&again);
	err2.msg[0] = '\0';
	ret2 = input_convert(a, &req, &again, &evs2, &nr2, &err2);
	CHECK(ret2 == ret && nr2 == nr);
	for (size_t i = 0; i < nr; i++)
		CHECK(!strcmp(evs[i].id, evs2[i].id));

	event_array_free(evs, nr);
	event_array_free(evs2, nr2);
	input_result_release(&r);
	input_result_release(&again);
	free(text);
	return 0;
}
