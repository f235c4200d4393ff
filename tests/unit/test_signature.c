/*
 * Unit tests for signature: Flux's generic-hmac test vector and octokit's
 * GitHub one, every algorithm, hex in any case, and each way a signature
 * is wrong or malformed, with the exact message, which must never hold
 * the key or a signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inputs/signature.h"

/* Flux's generic-hmac test vector: the key and body, no trailing newline. */
static const char flux_key[] = "7152fed34dd6149a7c75a276c510da27cb6f82b0";
static const char flux_body[] =
	"{\"involvedObject\":{\"kind\":\"GitRepository\",\"namespace\":"
	"\"gitops-system\",\"name\":\"webapp\"},\"severity\":\"info\","
	"\"timestamp\":\"2022-09-30T06:40:29Z\",\"message\":\"message\","
	"\"reason\":\"reason\",\"metadata\":{\"test\":\"metadata\"},"
	"\"reportingController\":\"source-controller\","
	"\"reportingInstance\":\"source-controller-xyz\"}";

/*
 * Computed with
 *   printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$KEY"
 * (and -sha384, -sha512), and the same with Python's
 * hmac.new(key, body, "sha256").hexdigest().
 */
static const char flux_sha256[] =
	"sha256=65b018549b1254e7226d1c08f9567ee45bc9de0fc4e7b1a40253f9a018b08be7";
static const char flux_sha384[] =
	"sha384=050905b137839dfca52befc2dcf8d601de980d84d9659f10"
	"e98cf2d0d64ecfa872bb89bd96d515caaeb35e462c493ef1";
static const char flux_sha512[] =
	"sha512=adcb78591691a4f5239504d5ca0770fcfe92bf2dca3180e42fc282d3abe7d4e3"
	"edad99944cc10ddb11c70484fad35c02402e1f713767d2ad32d4674cf18b4330";

/* octokit/webhooks-methods' example: secret "mysecret", body {"foo":"bar"}. */
static const char octokit_body[] = "{\"foo\":\"bar\"}";
static const char octokit_sig[] =
	"sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3";

static int verify(const char *header, const char *key, const char *body,
		  struct errbuf *err)
{
	return signature_verify(header, key, strlen(key), body, strlen(body),
				err);
}

static void expect_ok(const char *header, const char *key, const char *body)
{
	struct errbuf err = { "not cleared" };

	assert_int_equal(verify(header, key, body, &err), 0);
	assert_string_equal(err.msg, "");
}

/*
 * Expects code and message, and that the message holds neither the key
 * nor the signature's hex digits (given or expected).
 */
static void expect_fail(const char *header, const char *key,
			const char *body, int code, const char *msg)
{
	struct errbuf err;
	const char *hex = header ? strchr(header, '=') : NULL;

	assert_int_equal(verify(header, key, body, &err), code);
	assert_string_equal(err.msg, msg);
	assert_null(strstr(err.msg, key));
	if (hex && strlen(hex + 1) >= 16) {
		char part[17];

		memcpy(part, hex + 1, 16);
		part[16] = '\0';
		assert_null(strstr(err.msg, part));
	}
	assert_null(strstr(err.msg, "65b01854"));
	assert_null(strstr(err.msg, "4864d275"));
}

static void test_flux_vector(void **state)
{
	(void)state;
	expect_ok(flux_sha256, flux_key, flux_body);
	expect_ok(flux_sha384, flux_key, flux_body);
	expect_ok(flux_sha512, flux_key, flux_body);
}

static void test_octokit_vector(void **state)
{
	(void)state;
	expect_ok(octokit_sig, "mysecret", octokit_body);
}

static void test_hex_case_and_space(void **state)
{
	char upper[sizeof(octokit_sig)], mixed[sizeof(octokit_sig)];
	char spaced[sizeof(octokit_sig) + 4];

	(void)state;
	memcpy(upper, octokit_sig, sizeof(upper));
	memcpy(mixed, octokit_sig, sizeof(mixed));
	for (size_t i = 7; upper[i]; i++) {
		if (upper[i] >= 'a' && upper[i] <= 'f') {
			upper[i] = (char)(upper[i] - 'a' + 'A');
			if (i % 2)
				mixed[i] = upper[i];
		}
	}
	expect_ok(upper, "mysecret", octokit_body);
	expect_ok(mixed, "mysecret", octokit_body);
	/* The algorithm's name in any case, white space around the value. */
	upper[0] = 'S';
	upper[1] = 'H';
	upper[2] = 'A';
	expect_ok(upper, "mysecret", octokit_body);
	memcpy(spaced, " \t", 2);
	memcpy(spaced + 2, octokit_sig, sizeof(octokit_sig) - 1);
	memcpy(spaced + 2 + sizeof(octokit_sig) - 1, " ", 2);
	expect_ok(spaced, "mysecret", octokit_body);
}

static void test_wrong_signature(void **state)
{
	char sig[sizeof(octokit_sig)];

	(void)state;
	memcpy(sig, octokit_sig, sizeof(sig));
	sig[sizeof(sig) - 2] = sig[sizeof(sig) - 2] == '3' ? '4' : '3';
	expect_fail(sig, "mysecret", octokit_body, HERALD_EAUTH,
		    "sha256 signature does not match the body: check the "
		    "shared secret");
	memcpy(sig, octokit_sig, sizeof(sig));
	sig[7] = sig[7] == '4' ? '5' : '4';
	expect_fail(sig, "mysecret", octokit_body, HERALD_EAUTH,
		    "sha256 signature does not match the body: check the "
		    "shared secret");
	/* Another key, another body (a trailing newline), another alg. */
	expect_fail(octokit_sig, "mysecret2", octokit_body, HERALD_EAUTH,
		    "sha256 signature does not match the body: check the "
		    "shared secret");
	expect_fail(octokit_sig, "mysecret", "{\"foo\":\"bar\"}\n",
		    HERALD_EAUTH, "sha256 signature does not match the body: "
		    "check the shared secret");
	expect_fail(flux_sha512, "mysecret", flux_body, HERALD_EAUTH,
		    "sha512 signature does not match the body: check the "
		    "shared secret");
	expect_fail(flux_sha384, flux_key, octokit_body, HERALD_EAUTH,
		    "sha384 signature does not match the body: check the "
		    "shared secret");
}

static void test_malformed(void **state)
{
	char sig[sizeof(octokit_sig) + 1];

	(void)state;
	/* Truncated, and one digit too many. */
	memcpy(sig, octokit_sig, sizeof(octokit_sig));
	sig[sizeof(octokit_sig) - 2] = '\0';
	expect_fail(sig, "mysecret", octokit_body, HERALD_EINVAL,
		    "sha256 signature is 63 characters long; expected "
		    "sha256=<64 hex digits>");
	memcpy(sig, octokit_sig, sizeof(octokit_sig) - 1);
	memcpy(sig + sizeof(octokit_sig) - 1, "0", 2);
	expect_fail(sig, "mysecret", octokit_body, HERALD_EINVAL,
		    "sha256 signature is 65 characters long; expected "
		    "sha256=<64 hex digits>");
	expect_fail("sha256=", "mysecret", octokit_body, HERALD_EINVAL,
		    "sha256 signature is 0 characters long; expected "
		    "sha256=<64 hex digits>");
	/* A sha256 digest labelled sha512. */
	memcpy(sig, octokit_sig, sizeof(octokit_sig));
	memcpy(sig, "sha512", 6);
	expect_fail(sig, "mysecret", octokit_body, HERALD_EINVAL,
		    "sha512 signature is 64 characters long; expected "
		    "sha512=<128 hex digits>");
	/* Not hex. */
	memcpy(sig, octokit_sig, sizeof(octokit_sig));
	sig[20] = 'g';
	expect_fail(sig, "mysecret", octokit_body, HERALD_EINVAL,
		    "sha256 signature holds a character that is not a hex "
		    "digit; expected sha256=<64 hex digits>");
	memcpy(sig, octokit_sig, sizeof(octokit_sig));
	sig[30] = ' ';
	expect_fail(sig, "mysecret", octokit_body, HERALD_EINVAL,
		    "sha256 signature holds a character that is not a hex "
		    "digit; expected sha256=<64 hex digits>");
	/* No "=", an unknown or no algorithm. */
	expect_fail("4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3",
		    "mysecret", octokit_body, HERALD_EINVAL,
		    "not <algorithm>=<hex>; expected sha256=<64 hex digits>");
	expect_fail("sha1=4864d2759938a15468b5df9ade20bf161da9b4f7", "mysecret",
		    octokit_body, HERALD_EINVAL, "\"sha1\" is not a supported "
		    "algorithm; expected sha256=<64 hex digits> (or sha384, "
		    "sha512)");
	expect_fail("md5=4864d2759938a15468b5df9ade20bf16", "mysecret",
		    octokit_body, HERALD_EINVAL, "\"md5\" is not a supported "
		    "algorithm; expected sha256=<64 hex digits> (or sha384, "
		    "sha512)");
	expect_fail("=4864d2759938a15468b5df9ade20bf16", "mysecret",
		    octokit_body, HERALD_EINVAL, "unknown algorithm; expected "
		    "sha256=<64 hex digits> (or sha384, sha512)");
	expect_fail("sha 256=4864d2759938a15468b5df9ade20bf16", "mysecret",
		    octokit_body, HERALD_EINVAL, "unknown algorithm; expected "
		    "sha256=<64 hex digits> (or sha384, sha512)");
	expect_fail("sha2566=4864d2759938a15468b5df9ade20bf16", "mysecret",
		    octokit_body, HERALD_EINVAL, "\"sha2566\" is not a "
		    "supported algorithm; expected sha256=<64 hex digits> (or "
		    "sha384, sha512)");
}

static void test_missing(void **state)
{
	static const char msg[] = "missing; expected sha256=<64 hex digits>, "
		"the HMAC of the body under the shared secret: set the same "
		"secret on the sender";

	(void)state;
	expect_fail(NULL, "mysecret", octokit_body, HERALD_EAUTH, msg);
	expect_fail("", "mysecret", octokit_body, HERALD_EAUTH, msg);
	expect_fail(" \t ", "mysecret", octokit_body, HERALD_EAUTH, msg);
}

/* The exact bytes count: NUL bytes in the body and in the key. */
static void test_binary(void **state)
{
	struct errbuf err;
	/* python3: hmac.new(b"k", b"a\0b", "sha256").hexdigest() */
	static const char sig[] =
		"sha256=982872ff8422d2d84de2d26d7900850ff9f3b3275079b02813b572f9ff0ef0b2";
	/* python3: hmac.new(b"", b"{}", "sha256").hexdigest() */
	static const char empty_key[] =
		"sha256=22f8eea909400af98adf3681a9f31923ef6b7fcba4abb553d92823a3e9d5c25e";

	(void)state;
	assert_int_equal(signature_verify(sig, "k", 1, "a\0b", 3, &err), 0);
	assert_int_equal(signature_verify(sig, "k", 1, "a\0c", 3, &err),
			 HERALD_EAUTH);
	assert_int_equal(signature_verify(sig, "k", 1, "a", 1, &err),
			 HERALD_EAUTH);
	assert_int_equal(signature_verify(sig, "\0k", 2, "a\0b", 3, &err),
			 HERALD_EAUTH);
	/* HMAC pads a short key with zeros: "k" and "k\0" are one key. */
	assert_int_equal(signature_verify(sig, "k\0", 2, "a\0b", 3, &err), 0);
	assert_int_equal(signature_verify(empty_key, "", 0, "{}", 2, &err), 0);
	assert_int_equal(signature_verify(empty_key, NULL, 0, "{}", 2, &err), 0);
	/* err may be NULL. */
	assert_int_equal(signature_verify(sig, "k", 1, "a\0b", 3, NULL), 0);
	assert_int_equal(signature_verify("x", "k", 1, "a", 1, NULL),
			 HERALD_EINVAL);
}

/* How callers name the header. */
static void test_prefix(void **state)
{
	struct errbuf err;

	(void)state;
	assert_int_equal(verify(octokit_sig, "wrong", octokit_body, &err),
			 HERALD_EAUTH);
	errbuf_prefix(&err, "X-Hub-Signature-256");
	assert_string_equal(err.msg, "X-Hub-Signature-256: sha256 signature "
			    "does not match the body: check the shared secret");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flux_vector),
		cmocka_unit_test(test_octokit_vector),
		cmocka_unit_test(test_hex_case_and_space),
		cmocka_unit_test(test_wrong_signature),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_prefix),
	};

	return cmocka_run_group_tests_name("signature", tests, NULL, NULL);
}
