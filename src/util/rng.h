/* A small, seedable, platform-independent PRNG (xoshiro256**, seeded with
 * splitmix64) so that the same seed gives the same shuffles, splits and
 * initial weights on every machine. */
#ifndef SF_RNG_H
#define SF_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sf_rng {
        uint64_t s[4];
} sf_rng_t;

void sf_rng_seed(sf_rng_t *rng, uint64_t seed);
uint64_t sf_rng_next(sf_rng_t *rng);
/* Uniform in [0, n), without modulo bias. n > 0. */
uint64_t sf_rng_below(sf_rng_t *rng, uint64_t n);
/* Uniform float in [0, 1). */
double sf_rng_uniform(sf_rng_t *rng);
/* Fisher-Yates shuffle of idx[0..n). */
void sf_rng_shuffle(sf_rng_t *rng, size_t *idx, size_t n);

#endif
