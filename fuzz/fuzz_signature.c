/*
 * Fuzz target for signature_verify. Byte 0 picks a mode, byte 1 the key's
 * length; the key follows, then the rest:
 *
 *   mode 0-1  the rest is a header line up to the first newline, then the
 *             body: any result, but only 0, HERALD_EAUTH or HERALD_EINVAL,
 *             with a one-line message;
 *   mode 2-7  the rest is the body; the right signature (sha256, sha384 or
 *             sha512 by mode, its hex in a case chosen by the body's
 *             bytes, white space around it when mode is odd) must verify,
 *             the same with one digit changed must not (HERALD_EAUTH, the
 *             message holding neither signature), and a digit short must
 *             be HERALD_EINVAL.
 *
 * Aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/signature.h"
#include "lib/sha2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_signature.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

static void check_message(const struct errbuf *err)
{
	CHECK(err->msg[0]);
	CHECK(!strchr(err->msg, '\n'));
}

static void arbitrary(const char *key, size_t key_len, const uint8_t *rest,
		      size_t len)
{
	const uint8_t *nl = memchr(rest, '\n', len);
	size_t hlen = nl ? (size_t)(nl - rest) : len;
	char *header = malloc(hlen + 1);
	struct errbuf err;
	int ret;

	CHECK(header);
	memcpy(header, rest, hlen);
	header[hlen] = '\0';
	ret = signature_verify(header, key, key_len,
			       nl ? (const char *)nl + 1 : "",
			       nl ? len - hlen - 1 : 0, &err);
	CHECK(ret == 0 || ret == HERALD_EAUTH || ret == HERALD_EINVAL);
	if (ret)
		check_message(&err);
	free(header);
}

static void computed(unsigned mode, const char *key, size_t key_len,
		     const char *body, size_t len)
{
	static const char *const names[] = { "sha256", "sha384", "sha512" };
	enum sha2_kind kind = (enum sha2_kind)((mode - 2) / 2);
	uint8_t mac[SHA2_MAX_LEN];
	char hex[2 * SHA2_MAX_LEN + 1], header[2 * SHA2_MAX_LEN + 16];
	size_t dlen = sha2_len(kind), at;
	struct errbuf err;
	char *digits;

	hmac_sha2(kind, key, key_len, body, len, mac);
	hex_encode(mac, dlen, hex);
	snprintf(header, sizeof(header), "%s%s=%s%s", mode & 1 ? " \t" : "",
		 names[kind], hex, mode & 1 ? " " : "");
	digits = strchr(header, '=') + 1;
	for (size_t i = 0; i < 2 * dlen; i++)
		if (len && ((unsigned char)body[i % len] >> (i % 8) & 1) &&
		    digits[i] >= 'a' && digits[i] <= 'f')
			digits[i] = (char)(digits[i] - 'a' + 'A');
	CHECK(signature_verify(header, key, key_len, body, len, &err) == 0);

	at = len ? (unsigned char)body[0] % (2 * dlen) : 0;
	digits[at] = digits[at] == '0' ? '1' : '0';
	CHECK(signature_verify(header, key, key_len, body, len, &err) ==
	      HERALD_EAUTH);
	check_message(&err);
	CHECK(!strstr(err.msg, hex));
	CHECK(!strstr(err.msg, digits));
	CHECK(key_len < 8 || !memmem(err.msg, strlen(err.msg), key, key_len));

	digits[2 * dlen - 1] = '\0';
	CHECK(signature_verify(header, key, key_len, body, len, &err) ==
	      HERALD_EINVAL);
	check_message(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;
	size_t key_len;
	const char *key;

	if (size < 2)
		return 0;
	mode = data[0] % 8;
	key_len = data[1];
	if (key_len > size - 2)
		key_len = size - 2;
	key = (const char *)data + 2;
	data += 2 + key_len;
	size -= 2 + key_len;
	if (mode < 2)
		arbitrary(key, key_len, data, size);
	else
		computed(mode, key, key_len, (const char *)data, size);
	return 0;
}
