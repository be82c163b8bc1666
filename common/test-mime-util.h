/* Helpers shared by the MIME parser tests. */
#ifndef SB_TEST_MIME_UTIL_H
#define SB_TEST_MIME_UTIL_H

#include <stddef.h>

#include "common/mime.h"

/* Parses data fed in pieces of `chunk` bytes (0: whole). */
struct mime_part *tmu_parse_chunked(const char *data, size_t len, size_t chunk,
                                    const struct mime_limits *limits);
/* Parses data fed in pseudo-random pieces of 1..max bytes. */
struct mime_part *tmu_parse_random(const char *data, size_t len, unsigned seed,
                                   size_t max,
                                   const struct mime_limits *limits);

/*
 * Checks that the leaves' headers and bodies, the containers' headers and
 * the multiparts' preambles, delimiters and epilogues tile [0, len)
 * exactly. Fails the test when not.
 */
void tmu_assert_tiling(const struct mime_part *root, size_t len);

/*
 * Parses data whole, checks the tree's invariants and tiling, parses it
 * again one byte at a time and in random pieces and asserts every tree
 * equals the first. Returns the whole-fed tree.
 */
struct mime_part *tmu_parse_all_ways(const char *data, size_t len,
                                     const struct mime_limits *limits);

#endif
