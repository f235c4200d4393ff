/*
 * Fuzz target for redact() (lib/redact.c), the pass every way out of
 * herald goes through. Byte 0: bits 0-1 how many secrets are registered,
 * bit 2 whether one more is passed as "also"; then each secret as a length
 * byte and its bytes; the rest is the text. A secret as herald's
 * configuration takes them has no white space or control character
 * (config.c refuses those), so one with such a byte, or none at all, is
 * not registered.
 *
 * The text redacted must hold no secret (registered or also) anywhere;
 * redact() and redact_needed() must agree; text left as it is when nothing
 * was found; when the text holds no secret, a second pass must change
 * nothing (no URL credentials left); redact_inplace() must write the same
 * text, cut to its buffer at a character boundary. Aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/redact.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_redact.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

#define MAX_SECRET 64

static int printable(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Takes a length byte and that many bytes (cut at a NUL) off the input. */
static void take(const uint8_t **data, size_t *size, char *out)
{
	size_t n;

	out[0] = '\0';
	if (!*size)
		return;
	n = **data % (MAX_SECRET + 1);
	(*data)++;
	(*size)--;
	if (n > *size)
		n = *size;
	memcpy(out, *data, n);
	out[n] = '\0';
	*data += n;
	*size -= n;
}

static void dump(const char *what, const char *s, size_t len)
{
	fprintf(stderr, "%s (%zu bytes): \"", what, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fprintf(stderr, "\"\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char secrets[3][MAX_SECRET + 1], also[MAX_SECRET + 1];
	struct strbuf out = STRBUF_INIT, again = STRBUF_INIT;
	size_t nsecrets, len;
	const char *text;
	int hit, also_on;
	char *buf;

	if (size < 1)
		return 0;
	nsecrets = data[0] & 3;
	also_on = data[0] & 4;
	data++;
	size--;
	redact_clear_secrets();
	for (size_t i = 0; i < 3; i++) {
		secrets[i][0] = '\0';
		if (i >= nsecrets)
			continue;
		take(&data, &size, secrets[i]);
		if (printable(secrets[i]))
			redact_add_secret(secrets[i]);
		else
			secrets[i][0] = '\0';
	}
	also[0] = '\0';
	if (also_on) {
		take(&data, &size, also);
		if (!printable(also))
			also[0] = '\0';
	}
	text = (const char *)data;
	len = size;

	hit = redact(&out, text, len, also);
	CHECK(hit == redact_needed(text, len, also));
	if (!hit)
		CHECK(out.len == len && !memcmp(out.buf, text, len));
	for (size_t i = 0; i < 4; i++) {
		const char *secret = i < 3 ? secrets[i] : also;

		if (*secret && memmem(out.buf, out.len, secret, strlen(secret))) {
			dump("secret", secret, strlen(secret));
			dump("text", text, len);
			dump("redacted", out.buf, out.len);
			abort();
		}
	}
	/*
	 * Without a secret in the text only URL credentials were replaced:
	 * then a second pass finds nothing more. (Where a secret overlaps
	 * credentials, a second pass may redact a little more of them.)
	 */
	for (size_t i = 0; i < 4; i++) {
		const char *secret = i < 3 ? secrets[i] : also;

		if (*secret && memmem(text, len, secret, strlen(secret)))
			goto inplace;
	}
	if (redact(&again, out.buf, out.len, also)) {
		dump("text", text, len);
		dump("redacted", out.buf, out.len);
		dump("twice", again.buf, again.len);
		abort();
	}
	CHECK(!redact_needed(out.buf, out.len, also));

inplace:
	/* redact_inplace(): the same text, NUL-terminated, cut to fit. */
	if (!memchr(text, '\0', len)) {
		size_t cap = len + 1 + (len & 7);

		buf = malloc(cap);
		CHECK(buf);
		memcpy(buf, text, len);
		buf[len] = '\0';
		CHECK(redact_inplace(buf, cap, also) == hit);
		CHECK(strlen(buf) == (out.len < cap ? out.len : strlen(buf)));
		CHECK(!memcmp(buf, out.buf, strlen(buf)));
		if (utf8_valid(out.buf, out.len))
			CHECK(utf8_valid(buf, strlen(buf)));
		free(buf);
	}
	strbuf_release(&out);
	strbuf_release(&again);
	return 0;
}
