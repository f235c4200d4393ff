/*
 * Unit tests for sha2: the FIPS 180-4 / NIST example messages for
 * SHA-256, SHA-384 and SHA-512 (the empty message, "abc", the 448-bit and
 * 896-bit messages, one million "a"), messages around the padding
 * boundaries, the HMAC test cases of RFC 4231, hex_encode and
 * equal_const_time.
 *
 * Expected digests: the NIST examples and RFC 4231's tables, cross-checked
 * with Python's hashlib and hmac (hashlib.sha256(m).hexdigest(),
 * hmac.new(key, data, "sha256").hexdigest()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/sha2.h"

static const char msg448[] =
	"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] =
	"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

/* Hex of kind's digest of data. */
static void digest_hex(enum sha2_kind kind, const void *data, size_t len,
		       char *hex)
{
	uint8_t out[SHA2_MAX_LEN];

	sha2(kind, data, len, out);
	hex_encode(out, sha2_len(kind), hex);
}

static void expect_digest(enum sha2_kind kind, const void *data, size_t len,
			  const char *want)
{
	char hex[2 * SHA2_MAX_LEN + 1];

	digest_hex(kind, data, len, hex);
	assert_string_equal(hex, want);
}

static void expect_hmac(enum sha2_kind kind, const void *key, size_t key_len,
			const void *data, size_t len, const char *want)
{
	uint8_t out[SHA2_MAX_LEN];
	char hex[2 * SHA2_MAX_LEN + 1];

	hmac_sha2(kind, key, key_len, data, len, out);
	hex_encode(out, sha2_len(kind), hex);
	/* RFC 4231 case 5 gives only the first 128 bits. */
	if (strlen(want) < strlen(hex))
		hex[strlen(want)] = '\0';
	assert_string_equal(hex, want);
}

static void test_lengths(void **state)
{
	(void)state;
	assert_int_equal(sha2_len(SHA2_256), 32);
	assert_int_equal(sha2_len(SHA2_384), 48);
	assert_int_equal(sha2_len(SHA2_512), 64);
	assert_int_equal(SHA2_MAX_LEN, SHA512_LEN);
}

static void test_sha256_nist(void **state)
{
	(void)state;
	expect_digest(SHA2_256, "", 0, "e3b0c44298fc1c149afbf4c8996fb924"
		      "27ae41e4649b934ca495991b7852b855");
	expect_digest(SHA2_256, "abc", 3, "ba7816bf8f01cfea414140de5dae2223"
		      "b00361a396177a9cb410ff61f20015ad");
	expect_digest(SHA2_256, msg448, strlen(msg448),
		      "248d6a61d20638b8e5c026930c3e6039"
		      "a33ce45964ff2167f6ecedd419db06c1");
	expect_digest(SHA2_256, msg896, strlen(msg896),
		      "cf5b16a778af8380036ce59e7b049237"
		      "0b249b11e8f07a51afac45037afee9d1");
}

static void test_sha384_nist(void **state)
{
	(void)state;
	expect_digest(SHA2_384, "", 0,
		      "38b060a751ac96384cd9327eb1b1e36a21fdb71114be0743"
		      "4c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b");
	expect_digest(SHA2_384, "abc", 3,
		      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
		      "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
	expect_digest(SHA2_384, msg448, strlen(msg448),
		      "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05ab"
		      "fe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b");
	expect_digest(SHA2_384, msg896, strlen(msg896),
		      "09330c33f71147e83d192fc782cd1b4753111b173b3b05d2"
		      "2fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039");
}

static void test_sha512_nist(void **state)
{
	(void)state;
	expect_digest(SHA2_512, "", 0,
		      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		      "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	expect_digest(SHA2_512, "abc", 3,
		      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	expect_digest(SHA2_512, msg448, strlen(msg448),
		      "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
		      "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445");
	expect_digest(SHA2_512, msg896, strlen(msg896),
		      "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
		      "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

static void test_million_a(void **state)
{
	size_t n = 1000000;
	char *a = malloc(n);

	(void)state;
	assert_non_null(a);
	memset(a, 'a', n);
	expect_digest(SHA2_256, a, n, "cdc76e5c9914fb9281a1c7e284d73e67"
		      "f1809a48a497200e046d39ccc7112cd0");
	expect_digest(SHA2_384, a, n,
		      "9d0e1809716474cb086e834e310a4a1ced149e9c00f24852"
		      "7972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985");
	expect_digest(SHA2_512, a, n,
		      "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
		      "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
	free(a);
}

/*
 * Messages of lengths around where the padding and the length field
 * spill into another block (56 and 64 bytes for SHA-256, 112 and 128 for
 * SHA-384/512). Byte i is (7 i + 3) mod 256.
 */
static void test_padding_boundaries(void **state)
{
	static const struct {
		size_t len;
		const char *s256, *s384, *s512;
	} cases[] = {
		{ 55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b",
		  "fc2728f452750d08b5dbad1aea53202e7fc19c06894d13e36c433b0444a899277c49f16e0577c03db0f0605578836ef6",
		  "14fd424b1fcadee624da946ab03f7e1def7c0d6e00f689594319881a26ff30b875ba4c622ac13100c8cc784c9c2eb23159aecbb4a02e3999062f551193e2b256" },
		{ 56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27",
		  "6c969a865f38d2eaac60b7963a84c97ba27bcb76e589cbe1e2e89ead6aee4ad0337a4268f054be49c604ddd99692036d",
		  "480fa85be41ef55a41208ca28ffc8743c91cf7d24758defe6f95bfb16de614fc86b701034896b047dd571de4318853d80e0809df162f1752cb26da6ddb94a0dd" },
		{ 57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73",
		  "a6c1a73ce16f33c777d99dd4a66304bc5de531caab5aa4f80b46eaf18b08b45875aa2b385bc511d5a5f1985cad2e5dee",
		  "0582c85feba6881e7c3c371a82a645547a1a9bdb3fd0709d6a42e271697333b23d1692ff0076071fef520f46d04ca74c2b088b58a60ade3ba0c18380d230789c" },
		{ 63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055",
		  "be67a9a1162c1d97f183980dc811f4f4f835b8b850eb32ecbf87397b26369bc6646a8f2234940dcff142b627c8e21ebb",
		  "ecd42a703a4e93e163d60d55e3785b1a763838b0351bc2e6f7c94b4bfb24f9aa15da5d744ebcebe11f0fc4315d45ba3a047b6e60e07448357f2795bf34b73502" },
		{ 64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241",
		  "99d26430f561864c2f7d90b68650b960c86c85d6bf7f54ceeee404bdd59663a7f05588b5c750b862a2a24f6a9ad4c050",
		  "8f3cc30b3fb5bf963688a46488249248ac2c67f0f85a145233c6c1e3c16dcd1df634c07d1d31da02576f65b9cf64e1c3fdb318b689b8a14e2e9552bcf30fb133" },
		{ 65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e",
		  "cada16d798ec25243470f7827eb89a2402d52680b092dffc0f59f5a919e5058aebf7ad79dba85c61b179d23534d7c855",
		  "22050d1b2c5bd016c4b04c3e84f513ffbbbc057f83dc9ab196fee6684e5ee19d98b84c6538b3c5e1fc67dbc484e9d0a198254e41d0fa0cf5106991e106632419" },
		{ 111, "67d9492e628fd376e0b2efec8ca2b99b123e202cf620deb270728df979b2f73e",
		  "341388a9dc2275074e90cf394323761919761c805fd9e370977c9966a0e8c81a52135f02577670b0071638a4a26dbc31",
		  "68cffa6d0d76f309c9ce0d35280939f8e25990c43b7b086ccdf709be35b07d4ddba599541ff2b1c19d34ea49aeafb9659adb7ac3c0b078bb30a22d57fc6687ef" },
		{ 112, "96b928cff8528dbb99602c709a65b846cb6467acb8b722f0d758e4dc27bfc508",
		  "619cc5d06138526d70659eccf602d197e63e1050e22039a7feb40a30a5b2b08fb03729e291df12f8c576e6f1cd8af22a",
		  "d0865c524d1dddf7c23b799c413f5adcd7caefd3f66a9b49750ec81066012c25a8bcf94ddea6dc525691673097ca40e0101e897fc97218cfdb0704084e2bef4b" },
		{ 113, "cded73eed7df41eecd1ead825a38ca8763a9e910d5181c8ad8f201cc8ff2cbe4",
		  "484a92d02b61b620ccae687fce4cd073eb995294a777d5deb5356bc8c1e2ce984f63f16420058ac5da666fda410a4feb",
		  "606314353bd419f9f7720e8297f2af8a9ed5f0bb0bed29b716bf18e34577623ae7effa46f496bd4282134e7e895284a4760a910d2ad8ec11e9dd75863058cd9c" },
		{ 127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07",
		  "f8234ab81f5f9641c656680825a9bbb3c2616bcc80b65d5e479a4d96742e1b8742330c9e8256ef5f03caa932487044ca",
		  "e0b6a20f1c0c88970a9340152cd5a1c1ecf3d3b8de55102741879438079473540133b812706e5dbec322c8c9523b6fc8c6d16ee626e87ad5fe3d2916afedc369" },
		{ 128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6",
		  "e8480e9c4dd90f88104a79cbaccec48edbd798a142b4f241d726dc252f1502350e824c7d18dadd59d7d716919fb8f9bf",
		  "99b16f17aa0b969a5b8f08f367719d516e330ccd2660b6f0688ec031dbc783de50a1cd185a2568dba75070a2403d17d4741d163578515dfd2ff756ddfe4d47b1" },
		{ 129, "307f8fc2c1622b92762e818d39a185d4d667ad49a4b07ceae1f4afa008a93ec4",
		  "430173387764874661acba1e914e50f6d0fbac534809e859b1da4396fad3d5f24c25c6a2d02486d8fbda3994713d981a",
		  "a1556e29185778aa5991e34b8884c840d589f0fbb4b8ed590e51e9ac4eb03a008125000db2671f8fe7f485b59a77b518670078ecb41a54b4cd02a7f1d2ca4c6d" },
	};
	uint8_t msg[129];

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		expect_digest(SHA2_256, msg, cases[i].len, cases[i].s256);
		expect_digest(SHA2_384, msg, cases[i].len, cases[i].s384);
		expect_digest(SHA2_512, msg, cases[i].len, cases[i].s512);
	}
}

/* RFC 4231, section 4: test cases 1 to 7 for HMAC-SHA-256/384/512. */
static void test_hmac_rfc4231(void **state)
{
	static const char case7[] =
		"This is a test using a larger than block-size key and a "
		"larger than block-size data. The key needs to be hashed "
		"before being used by the HMAC algorithm.";
	static const char case6[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t k0b[20], kaa20[20], k4[25], k0c[20], kaa131[131];
	uint8_t dd[50], cd[50];

	(void)state;
	memset(k0b, 0x0b, sizeof(k0b));
	memset(kaa20, 0xaa, sizeof(kaa20));
	for (size_t i = 0; i < sizeof(k4); i++)
		k4[i] = (uint8_t)(i + 1);
	memset(k0c, 0x0c, sizeof(k0c));
	memset(kaa131, 0xaa, sizeof(kaa131));
	memset(dd, 0xdd, sizeof(dd));
	memset(cd, 0xcd, sizeof(cd));

	/* 1: a 20-byte key. */
	expect_hmac(SHA2_256, k0b, 20, "Hi There", 8,
		    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	expect_hmac(SHA2_384, k0b, 20, "Hi There", 8,
		    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec6"
		    "82aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6");
	expect_hmac(SHA2_512, k0b, 20, "Hi There", 8,
		    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		    "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
	/* 2: a key shorter than the digest. */
	expect_hmac(SHA2_256, "Jefe", 4, "what do ya want for nothing?", 28,
		    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	expect_hmac(SHA2_384, "Jefe", 4, "what do ya want for nothing?", 28,
		    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47"
		    "e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649");
	expect_hmac(SHA2_512, "Jefe", 4, "what do ya want for nothing?", 28,
		    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		    "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
	/* 3: key and data of bytes that set every bit of a combination. */
	expect_hmac(SHA2_256, kaa20, 20, dd, 50,
		    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	expect_hmac(SHA2_384, kaa20, 20, dd, 50,
		    "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9feb"
		    "e83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27");
	expect_hmac(SHA2_512, kaa20, 20, dd, 50,
		    "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
		    "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb");
	/* 4: a 25-byte key 0x01..0x19. */
	expect_hmac(SHA2_256, k4, 25, cd, 50,
		    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	expect_hmac(SHA2_384, k4, 25, cd, 50,
		    "3e8a69b7783c25851933ab6290af6ca77a9981480850009c"
		    "c5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb");
	expect_hmac(SHA2_512, k4, 25, cd, 50,
		    "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
		    "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd");
	/* 5: truncated to 128 bits. */
	expect_hmac(SHA2_256, k0c, 20, "Test With Truncation", 20,
		    "a3b6167473100ee06e0c796c2955552b");
	expect_hmac(SHA2_384, k0c, 20, "Test With Truncation", 20,
		    "3abf34c3503b2a23a46efc619baef897");
	expect_hmac(SHA2_512, k0c, 20, "Test With Truncation", 20,
		    "415fad6271580a531d4179bc891d87a6");
	/* 6: a 131-byte key, longer than a block: hashed first. */
	expect_hmac(SHA2_256, kaa131, 131, case6, strlen(case6),
		    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	expect_hmac(SHA2_384, kaa131, 131, case6, strlen(case6),
		    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f"
		    "3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952");
	expect_hmac(SHA2_512, kaa131, 131, case6, strlen(case6),
		    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
		    "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598");
	/* 7: a long key and data longer than a block. */
	expect_hmac(SHA2_256, kaa131, 131, case7, strlen(case7),
		    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
	expect_hmac(SHA2_384, kaa131, 131, case7, strlen(case7),
		    "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9a"
		    "dccebb82461e99c5a678cc31e799176d3860e6110c46523e");
	expect_hmac(SHA2_512, kaa131, 131, case7, strlen(case7),
		    "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
		    "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58");
}

/* An empty key is a key of zeros; NULL with length 0 is the same. */
static void test_hmac_empty(void **state)
{
	uint8_t a[SHA256_LEN], b[SHA256_LEN];

	(void)state;
	hmac_sha2(SHA2_256, "", 0, "", 0, a);
	hmac_sha2(SHA2_256, NULL, 0, NULL, 0, b);
	assert_memory_equal(a, b, sizeof(a));
	/* python3: hmac.new(b"", b"", "sha256").hexdigest() */
	expect_hmac(SHA2_256, "", 0, "", 0,
		    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_hex_encode(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char hex[2 * sizeof(bytes) + 1];

	(void)state;
	memset(hex, 'x', sizeof(hex));
	hex_encode(bytes, sizeof(bytes), hex);
	assert_string_equal(hex, "00017f80abff");
	hex_encode(bytes, 0, hex);
	assert_string_equal(hex, "");
	for (unsigned i = 0; i < 256; i++) {
		uint8_t b = (uint8_t)i;
		char h[3];
		static const char digits[] = "0123456789abcdef";

		hex_encode(&b, 1, h);
		assert_int_equal(h[0], digits[i >> 4]);
		assert_int_equal(h[1], digits[i & 15]);
		assert_int_equal(h[2], '\0');
	}
}

static void test_equal_const_time(void **state)
{
	uint8_t a[64], b[64];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 13);
	assert_true(equal_const_time(a, b, sizeof(a)));
	assert_true(equal_const_time(a, b, 0));
	/* Every byte and every bit position matters. */
	for (size_t i = 0; i < sizeof(a); i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_false(equal_const_time(a, b, sizeof(a)));
			assert_true(i > 0 ? equal_const_time(a, b, i) : 1);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(equal_const_time(a, b, sizeof(a)));
	assert_true(equal_const_time("abc", "abd", 2));
	assert_false(equal_const_time("abc", "abd", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_sha256_nist),
		cmocka_unit_test(test_sha384_nist),
		cmocka_unit_test(test_sha512_nist),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_boundaries),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hmac_empty),
		cmocka_unit_test(test_hex_encode),
		cmocka_unit_test(test_equal_const_time),
	};

	return cmocka_run_group_tests_name("sha2", tests, NULL, NULL);
}
