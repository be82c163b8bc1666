/*
 * A deterministic random source for tests: installed before
 * sb_crypto_init(), it makes every key, nonce and salt libsodium draws
 * repeatable, so formats can be pinned by known-answer vectors. Never
 * linked into the daemon.
 */
#ifndef SB_TEST_RNG_H
#define SB_TEST_RNG_H

#include <stdint.h>

void sb_test_rng_install(uint64_t seed);

#endif
