#include "test-rng.h"

#include <sodium.h>
#include <stdlib.h>

/* splitmix64: tiny, well mixed, and fully determined by its seed. */
static uint64_t sb_test_rng_state;

static uint64_t
sb_test_rng_next(void)
{
	uint64_t z = (sb_test_rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *
sb_test_rng_name(void)
{
	return "saltbridge-test";
}

static uint32_t
sb_test_rng_random(void)
{
	return (uint32_t)sb_test_rng_next();
}

static void
sb_test_rng_buf(void *const buf, const size_t size)
{
	unsigned char *p = buf;
	size_t i;
	uint64_t v = 0;

	for (i = 0; i < size; i++) {
		if (i % 8 == 0)
			v = sb_test_rng_next();
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

static randombytes_implementation sb_test_rng = {
        .implementation_name = sb_test_rng_name,
        .random = sb_test_rng_random,
        .buf = sb_test_rng_buf,
};

void
sb_test_rng_install(uint64_t seed)
{
	sb_test_rng_state = seed;
	if (randombytes_set_implementation(&sb_test_rng) != 0)
		abort();
}
