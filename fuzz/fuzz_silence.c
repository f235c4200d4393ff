/*
 * Fuzz target for silence_parse (the body of POST /api/v1/silences) and
 * the glob matcher. The input is the body. Checks:
 *
 *   - it returns 0 or HERALD_EINVAL/HERALD_ELIMIT with a message, and a
 *     failure leaves nothing to free;
 *   - a silence parsed has a comment, at least one matcher, an end in
 *     (now, now + 30 days], and survives silence_to_json() and a round
 *     trip of its matchers through the store's text;
 *   - each matcher's value matches itself when it has no * or ?, and any
 *     value matches "*"; the matcher never reads out of bounds (ASan).
 *
 * Aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/silence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_silence.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

#define NOW 1796500000.0

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct silence s, back = SILENCE_INIT;
	struct errbuf err;
	json_t *j;
	char *text;
	int ret, n = 0;

	ret = silence_parse(&s, (const char *)data, size, NOW, &err);
	if (ret) {
		CHECK(ret == HERALD_EINVAL || ret == HERALD_ELIMIT);
		CHECK(err.msg[0]);
		CHECK(!s.comment && !s.created_by);
		return 0;
	}
	CHECK(s.comment && s.comment[0]);
	CHECK(s.starts_at >= NOW && s.starts_at <= NOW + SILENCE_MAX_S);
	CHECK(s.ends_at > NOW && s.ends_at > s.starts_at &&
	      s.ends_at <= s.starts_at + SILENCE_MAX_S);
	for (int i = 0; i < SILENCE_FIELD_NR; i++) {
		if (!s.match[i])
			continue;
		n++;
		CHECK(silence_glob_match("*", s.match[i]));
		if (!strpbrk(s.match[i], "*?"))
			CHECK(silence_glob_match(s.match[i], s.match[i]));
		/* Any value against any pattern: terminates, in bounds. */
		silence_glob_match(s.match[i], s.comment);
	}
	CHECK(n > 0);
	j = silence_to_json(&s, NOW);
	CHECK(j);
	json_decref(j);
	text = silence_matchers_dump(&s);
	CHECK(silence_matchers_load(&back, text, &err) == 0);
	for (int i = 0; i < SILENCE_FIELD_NR; i++)
		CHECK(!s.match[i] == !back.match[i] &&
		      (!s.match[i] || !strcmp(s.match[i], back.match[i])));
	free(text);
	silence_release(&back);
	silence_release(&s);
	return 0;
}
