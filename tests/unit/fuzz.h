/* Mutated copies of NSL-KDD rows, for tests that compare a parser's fast
 * path with its full one: every kind of damage a record can carry (bytes
 * changed, dropped, doubled, fields cut or repeated, the usual suspects in a
 * number) lands on the fast path's decisions. */
#ifndef SF_TEST_FUZZ_H
#define SF_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint64_t fuzz_next(uint64_t *state) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t x = *state;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        return x ^ (x >> 33);
}

/* Writes into out (cap bytes, cap > 2 * len + 64) a copy of in[0..len) with
 * one to three random mutations; returns its length. */
static size_t fuzz_mutate(uint64_t *state, const char *in, size_t len, char *out, size_t cap) {
        static const char pick[] = ",.eE-+ \t0123456789aZ_\r\n\0\x01\x7f\x80\xc3\xa9\xff";
        memcpy(out, in, len);
        size_t n = len;
        int times = 1 + (int)(fuzz_next(state) % 3);
        for (int t = 0; t < times; t++) {
                uint64_t r = fuzz_next(state);
                size_t at = n ? (size_t)(fuzz_next(state) % n) : 0;
                char c = pick[(r >> 8) % (sizeof(pick) - 1)];
                switch (r % 8) {
                case 0: /* change a byte */
                case 1:
                        if (n) out[at] = c;
                        break;
                case 2: /* insert a byte */
                        if (n + 1 < cap) {
                                memmove(out + at + 1, out + at, n - at);
                                out[at] = c;
                                n++;
                        }
                        break;
                case 3: /* drop a byte */
                        if (n) {
                                memmove(out + at, out + at + 1, n - at - 1);
                                n--;
                        }
                        break;
                case 4: /* cut the end */
                        n = at;
                        break;
                case 5: { /* repeat the head (a field too many, or a long one) */
                        size_t k = at < cap - n ? at : cap - n - 1;
                        memmove(out + k, out, n);
                        n += k;
                        break;
                }
                case 6: /* a number's digits: long, or with an exponent */
                        if (n + 20 < cap) {
                                static const char *const bits[] = {"0000000000000000",
                                                                   "1e5",
                                                                   "1.5e-3",
                                                                   "12345678901234567",
                                                                   "nan",
                                                                   "inf",
                                                                   ".",
                                                                   "5.",
                                                                   ".5"};
                                const char *b = bits[(r >> 16) % (sizeof(bits) / sizeof(bits[0]))];
                                size_t bl = strlen(b);
                                memmove(out + at + bl, out + at, n - at);
                                memcpy(out + at, b, bl);
                                n += bl;
                        }
                        break;
                default: /* a line end inside or at the end */
                        if (n + 2 < cap) {
                                out[n++] = (r >> 20) & 1 ? '\r' : '\n';
                        }
                        break;
                }
        }
        return n;
}

#endif
