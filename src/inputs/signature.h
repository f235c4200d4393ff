/*
 * signature: the HMAC signature of a webhook body, as GitHub
 * (X-Hub-Signature-256) and Flux's generic-hmac provider (X-Signature)
 * send it: "<alg>=<hex>", alg sha256, sha384 or sha512, the HMAC of the
 * exact body bytes under the shared secret, in hex of either case.
 *
 * Checked before any parsing, in constant time. Messages never hold the
 * key, the expected signature or the received one. Pure: no I/O.
 */
#ifndef HERALD_INPUTS_SIGNATURE_H
#define HERALD_INPUTS_SIGNATURE_H

#include <stddef.h>

#include "lib/errbuf.h"

/*
 * Verifies header, the value of the signature header (NULL when absent;
 * white space around it is ignored), against the HMAC of body (len bytes,
 * NUL bytes and all) under key (key_len bytes). Returns:
 *
 *   0              it matches;
 *   HERALD_EAUTH   absent or empty ("missing; expected sha256=<64 hex
 *                  digits>: ..."), or it does not match ("sha256
 *                  signature does not match the body: check the shared
 *                  secret");
 *   HERALD_EINVAL  malformed: no "=", an algorithm other than sha256,
 *                  sha384 and sha512, or not exactly the digest's number
 *                  of hex digits ("expected sha256=<64 hex digits>").
 *
 * The message does not name the header: callers put its name in front,
 * errbuf_prefix(err, "X-Hub-Signature-256"), which gives
 * "X-Hub-Signature-256: sha256 signature does not match the body: check
 * the shared secret".
 */
int signature_verify(const char *header, const char *key, size_t key_len,
		     const char *body, size_t len, struct errbuf *err);

#endif
