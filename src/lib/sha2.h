/*
 * sha2: SHA-256, SHA-384 and SHA-512 (FIPS 180-4) and their HMACs (RFC
 * 2104), for webhook signatures and content-derived ids. No I/O, no
 * allocation.
 */
#ifndef HERALD_LIB_SHA2_H
#define HERALD_LIB_SHA2_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA384_LEN 48
#define SHA512_LEN 64
#define SHA2_MAX_LEN SHA512_LEN

enum sha2_kind { SHA2_256, SHA2_384, SHA2_512 };

/* The digest length of kind in bytes. */
size_t sha2_len(enum sha2_kind kind);

/* One-shot digests; out holds sha2_len(kind) bytes. */
void sha2(enum sha2_kind kind, const void *data, size_t len, uint8_t *out);
void hmac_sha2(enum sha2_kind kind, const void *key, size_t key_len,
	       const void *data, size_t len, uint8_t *out);

/* Writes 2 * len lowercase hex digits and a NUL to hex. */
void hex_encode(const uint8_t *bytes, size_t len, char *hex);

/*
 * Whether a and b (len bytes each) are equal, in time that depends on len
 * only (for comparing signatures).
 */
int equal_const_time(const void *a, const void *b, size_t len);

#endif
