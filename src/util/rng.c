#include "util/rng.h"

static uint64_t splitmix64(uint64_t *x) {
        uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
}

void sf_rng_seed(sf_rng_t *rng, uint64_t seed) {
        for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

uint64_t sf_rng_next(sf_rng_t *rng) {
        uint64_t *s = rng->s;
        uint64_t result = rotl(s[1] * 5, 7) * 9;
        uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
}

uint64_t sf_rng_below(sf_rng_t *rng, uint64_t n) {
        /* Reject the top partial range so every value is equally likely. */
        uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t r;
        do r = sf_rng_next(rng);
        while (r >= limit);
        return r % n;
}

double sf_rng_uniform(sf_rng_t *rng) {
        return (double)(sf_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

void sf_rng_shuffle(sf_rng_t *rng, size_t *idx, size_t n) {
        for (size_t i = n; i > 1; i--) {
                size_t j = (size_t)sf_rng_below(rng, i);
                size_t t = idx[i - 1];
                idx[i - 1] = idx[j];
                idx[j] = t;
        }
}
