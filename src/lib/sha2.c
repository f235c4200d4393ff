/*
 * sha2: SHA-256 and SHA-512/384 after FIPS 180-4, HMAC after RFC 2104.
 * Small and unhurried: it signs webhook bodies of at most a few MB.
 */
#include "lib/sha2.h"

#include <string.h>

static const uint32_t k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint64_t k512[80] = {
	0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL,
	0xe9b5dba58189dbbcULL, 0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL,
	0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL, 0xd807aa98a3030242ULL,
	0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
	0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL,
	0xc19bf174cf692694ULL, 0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL,
	0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL, 0x2de92c6f592b0275ULL,
	0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
	0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL,
	0xbf597fc7beef0ee4ULL, 0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL,
	0x06ca6351e003826fULL, 0x142929670a0e6e70ULL, 0x27b70a8546d22ffcULL,
	0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
	0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL,
	0x92722c851482353bULL, 0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL,
	0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL, 0xd192e819d6ef5218ULL,
	0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
	0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL,
	0x34b0bcb5e19b48a8ULL, 0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL,
	0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL, 0x748f82ee5defb2fcULL,
	0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
	0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL,
	0xc67178f2e372532bULL, 0xca273eceea26619cULL, 0xd186b8c721c0c207ULL,
	0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL, 0x06f067aa72176fbaULL,
	0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
	0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL,
	0x431d67c49c100d4cULL, 0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL,
	0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static const uint32_t init256[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static const uint64_t init512[8] = {
	0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
	0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
	0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint64_t init384[8] = {
	0xcbbb9d5dc1059ed8ULL, 0x629a292a367cd507ULL, 0x9159015a3070dd17ULL,
	0x152fecd8f70e5939ULL, 0x67332667ffc00b31ULL, 0x8eb44a8768581511ULL,
	0xdb0c2e0d64f98fa7ULL, 0x47b5481dbefa4fa4ULL,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

/* A running digest of either family. */
struct sha2_ctx {
	enum sha2_kind kind;
	union {
		uint32_t h32[8];
		uint64_t h64[8];
	} h;
	uint8_t block[128];
	size_t used;		/* bytes in block */
	uint64_t total;		/* bytes hashed; 2^61 is far beyond use */
};

static size_t block_len(enum sha2_kind kind)
{
	return kind == SHA2_256 ? 64 : 128;
}

size_t sha2_len(enum sha2_kind kind)
{
	switch (kind) {
	case SHA2_256: return SHA256_LEN;
	case SHA2_384: return SHA384_LEN;
	case SHA2_512: return SHA512_LEN;
	}
	return 0;
}

static void compress256(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
			(uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25);
		uint32_t t1 = hh + s1 + ((e & f) ^ (~e & g)) + k256[i] + w[i];
		uint32_t s0 = ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22);
		uint32_t t2 = s0 + ((a & b) ^ (a & c) ^ (b & c));

		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void compress512(uint64_t h[8], const uint8_t *p)
{
	uint64_t w[80], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++) {
		w[i] = 0;
		for (int j = 0; j < 8; j++)
			w[i] = w[i] << 8 | p[8 * i + j];
	}
	for (int i = 16; i < 80; i++) {
		uint64_t s0 = ROR64(w[i - 15], 1) ^ ROR64(w[i - 15], 8) ^ (w[i - 15] >> 7);
		uint64_t s1 = ROR64(w[i - 2], 19) ^ ROR64(w[i - 2], 61) ^ (w[i - 2] >> 6);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (int i = 0; i < 80; i++) {
		uint64_t s1 = ROR64(e, 14) ^ ROR64(e, 18) ^ ROR64(e, 41);
		uint64_t t1 = hh + s1 + ((e & f) ^ (~e & g)) + k512[i] + w[i];
		uint64_t s0 = ROR64(a, 28) ^ ROR64(a, 34) ^ ROR64(a, 39);
		uint64_t t2 = s0 + ((a & b) ^ (a & c) ^ (b & c));

		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void ctx_init(struct sha2_ctx *ctx, enum sha2_kind kind)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->kind = kind;
	if (kind == SHA2_256)
		memcpy(ctx->h.h32, init256, sizeof(init256));
	else
		memcpy(ctx->h.h64, kind == SHA2_384 ? init384 : init512,
		       sizeof(init512));
}

static void compress(struct sha2_ctx *ctx, const uint8_t *p)
{
	if (ctx->kind == SHA2_256)
		compress256(ctx->h.h32, p);
	else
		compress512(ctx->h.h64, p);
}

static void ctx_update(struct sha2_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t bl = block_len(ctx->kind);

	ctx->total += len;
	while (len) {
		size_t n = bl - ctx->used;

		if (n > len)
			n = len;
		memcpy(ctx->block + ctx->used, p, n);
		ctx->used += n;
		p += n;
		len -= n;
		if (ctx->used == bl) {
			compress(ctx, ctx->block);
			ctx->used = 0;
		}
	}
}

static void ctx_final(struct sha2_ctx *ctx, uint8_t *out)
{
	size_t bl = block_len(ctx->kind);
	size_t len_bytes = ctx->kind == SHA2_256 ? 8 : 16;
	uint64_t bits = ctx->total * 8;

	ctx->block[ctx->used++] = 0x80;
	if (ctx->used > bl - len_bytes) {
		memset(ctx->block + ctx->used, 0, bl - ctx->used);
		compress(ctx, ctx->block);
		ctx->used = 0;
	}
	memset(ctx->block + ctx->used, 0, bl - ctx->used);
	for (int i = 0; i < 8; i++)
		ctx->block[bl - 1 - i] = (uint8_t)(bits >> (8 * i));
	compress(ctx, ctx->block);

	for (size_t i = 0; i < sha2_len(ctx->kind); i++) {
		if (ctx->kind == SHA2_256)
			out[i] = (uint8_t)(ctx->h.h32[i / 4] >> (24 - 8 * (i % 4)));
		else
			out[i] = (uint8_t)(ctx->h.h64[i / 8] >> (56 - 8 * (i % 8)));
	}
}

void sha2(enum sha2_kind kind, const void *data, size_t len, uint8_t *out)
{
	struct sha2_ctx ctx;

	ctx_init(&ctx, kind);
	ctx_update(&ctx, data, len);
	ctx_final(&ctx, out);
}

void hmac_sha2(enum sha2_kind kind, const void *key, size_t key_len,
	       const void *data, size_t len, uint8_t *out)
{
	uint8_t k[128] = { 0 }, pad[128], inner[SHA2_MAX_LEN];
	size_t bl = block_len(kind);
	struct sha2_ctx ctx;

	if (key_len > bl)
		sha2(kind, key, key_len, k);
	else if (key_len)
		memcpy(k, key, key_len);

	for (size_t i = 0; i < bl; i++)
		pad[i] = k[i] ^ 0x36;
	ctx_init(&ctx, kind);
	ctx_update(&ctx, pad, bl);
	ctx_update(&ctx, data, len);
	ctx_final(&ctx, inner);

	for (size_t i = 0; i < bl; i++)
		pad[i] = k[i] ^ 0x5c;
	ctx_init(&ctx, kind);
	ctx_update(&ctx, pad, bl);
	ctx_update(&ctx, inner, sha2_len(kind));
	ctx_final(&ctx, out);
}

void hex_encode(const uint8_t *bytes, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 15];
	}
	hex[2 * len] = '\0';
}

int equal_const_time(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}
