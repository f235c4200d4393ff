/*
 * Fuzz target for json_out() (lib/json_out.c), which writes every request
 * body herald sends and every API answer. Byte 0 picks how the value is
 * made and the buffer's cap:
 *
 *   bit 0 clear  the rest is JSON text (with \u0000 allowed), any value;
 *   bit 0 set    the rest is raw bytes split at the first "=" into an
 *                object's key and a string value, neither checked for
 *                UTF-8 (json_stringn_nocheck, json_object_setn_nocheck),
 *                nested in an array by bit 1;
 *   bits 2-7     nonzero: the buffer's cap is that many times 4 bytes.
 *
 * For valid UTF-8 json_out() must write what json_dumps(JSON_COMPACT)
 * writes, plain and ASCII-only (only ASCII then), and what it writes must
 * parse back to an equal value; for a string that is not valid UTF-8 it
 * must fail, and with a cap it must fail exactly when the text is longer.
 * Aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/json_out.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_json_out.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

static void check(const json_t *j, int valid, size_t cap)
{
	for (int ascii = 0; ascii <= 1; ascii++) {
		size_t flags = JSON_COMPACT | JSON_ENCODE_ANY |
			       (ascii ? JSON_ENSURE_ASCII : 0);
		struct strbuf sb = STRBUF_INIT;
		char *want = valid ? json_dumps(j, flags) : NULL;
		int ret;

		if (cap)
			strbuf_init(&sb, cap);
		ret = json_out(&sb, j, ascii ? JSON_OUT_ASCII : 0);
		if (!valid) {
			CHECK(ret == -1);
			strbuf_release(&sb);
			continue;
		}
		CHECK(want);
		if (cap && strlen(want) > cap) {
			CHECK(ret == -1);
		} else {
			json_t *back;

			CHECK(ret == 0);
			CHECK(!strbuf_overflowed(&sb));
			if (strcmp(sb.buf, want)) {
				fprintf(stderr, "json_out:   %s\njson_dumps: %s\n",
					sb.buf, want);
				abort();
			}
			for (size_t i = 0; ascii && i < sb.len; i++)
				CHECK((unsigned char)sb.buf[i] < 0x80);
			back = json_loadb(sb.buf, sb.len, JSON_DECODE_ANY |
					  JSON_ALLOW_NUL, NULL);
			CHECK(back);
			CHECK(json_equal(back, j));
			json_decref(back);
		}
		free(want);
		strbuf_release(&sb);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap;
	json_t *j;

	if (size < 1)
		return 0;
	cap = (size_t)(data[0] >> 2) * 4;
	if (!(data[0] & 1)) {
		j = json_loadb((const char *)data + 1, size - 1,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (!j)
			return 0;
		check(j, 1, cap);
	} else {
		const char *rest = (const char *)data + 1;
		const char *eq = memchr(rest, '=', size - 1);
		size_t klen = eq ? (size_t)(eq - rest) : 0;
		const char *v = eq ? eq + 1 : rest;
		size_t vlen = size - 1 - (eq ? klen + 1 : 0);
		json_t *obj = json_object();
		int valid;

		/* A key is a C string in jansson: up to its first NUL. */
		klen = strnlen(rest, klen);
		CHECK(json_object_setn_new_nocheck(obj, rest, klen,
			json_stringn_nocheck(v, vlen)) == 0);
		valid = utf8_valid(rest, klen) && utf8_valid(v, vlen);
		if (data[0] & 2) {
			j = json_pack("[iso]", (json_int_t)-1, "x", obj);
			CHECK(j);
		} else {
			j = obj;
		}
		check(j, valid, cap);
	}
	json_decref(j);
	return 0;
}
