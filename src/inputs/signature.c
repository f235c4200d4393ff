/*
 * signature: checks "<alg>=<hex>" webhook signatures (GitHub's
 * X-Hub-Signature-256, Flux generic-hmac's X-Signature) against the HMAC
 * of the body. The comparison is of the decoded bytes, in time that
 * depends only on the digest length.
 */
#include "inputs/signature.h"
#include "lib/sha2.h"

#include <string.h>
#include <strings.h>

struct alg {
	const char *name;
	enum sha2_kind kind;
};

static const struct alg algs[] = {
	{ "sha256", SHA2_256 },
	{ "sha384", SHA2_384 },
	{ "sha512", SHA2_512 },
};

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether s (len bytes) is a short run of printable ASCII, fit to quote. */
static int quotable(const char *s, size_t len)
{
	if (!len || len > 16)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"')
			return 0;
	return 1;
}

int signature_verify(const char *header, const char *key, size_t key_len,
		     const char *body, size_t len, struct errbuf *err)
{
	uint8_t want[SHA2_MAX_LEN], got[SHA2_MAX_LEN];
	const struct alg *alg = NULL;
	const char *start, *end, *eq, *hex;
	size_t dlen, hex_len, name_len;

	start = header ? header : "";
	while (is_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_space(end[-1]))
		end--;
	if (start == end)
		return errbuf_set(err, HERALD_EAUTH, "missing; expected "
				  "sha256=<64 hex digits>, the HMAC of the body "
				  "under the shared secret: set the same secret "
				  "on the sender");

	eq = memchr(start, '=', (size_t)(end - start));
	if (!eq)
		return errbuf_set(err, HERALD_EINVAL, "not <algorithm>=<hex>; "
				  "expected sha256=<64 hex digits>");
	name_len = (size_t)(eq - start);
	for (size_t i = 0; i < sizeof(algs) / sizeof(*algs); i++)
		if (strlen(algs[i].name) == name_len &&
		    !strncasecmp(algs[i].name, start, name_len))
			alg = &algs[i];
	if (!alg) {
		if (quotable(start, name_len))
			return errbuf_set(err, HERALD_EINVAL, "\"%.*s\" is not a "
					  "supported algorithm; expected "
					  "sha256=<64 hex digits> (or sha384, "
					  "sha512)", (int)name_len, start);
		return errbuf_set(err, HERALD_EINVAL, "unknown algorithm; "
				  "expected sha256=<64 hex digits> (or sha384, "
				  "sha512)");
	}

	dlen = sha2_len(alg->kind);
	hex = eq + 1;
	hex_len = (size_t)(end - hex);
	if (hex_len != 2 * dlen)
		return errbuf_set(err, HERALD_EINVAL, "%s signature is %zu "
				  "characters long; expected %s=<%zu hex "
				  "digits>", alg->name, hex_len, alg->name,
				  2 * dlen);
	for (size_t i = 0; i < dlen; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]);
		int lo = hex_value((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return errbuf_set(err, HERALD_EINVAL, "%s signature "
					  "holds a character that is not a hex "
					  "digit; expected %s=<%zu hex digits>",
					  alg->name, alg->name, 2 * dlen);
		got[i] = (uint8_t)(hi << 4 | lo);
	}

	hmac_sha2(alg->kind, key ? key : "", key ? key_len : 0,
		  body ? body : "", body ? len : 0, want);
	if (!equal_const_time(want, got, dlen))
		return errbuf_set(err, HERALD_EAUTH, "%s signature does not "
				  "match the body: check the shared secret",
				  alg->name);
	errbuf_clear(err);
	return 0;
}
