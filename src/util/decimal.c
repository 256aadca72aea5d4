#include "util/decimal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

const double sf_decimal_pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

#define HUNDREDTH(m)   (float)((double)(m) / 100.0)
#define HUNDREDTHS4(m) HUNDREDTH(m), HUNDREDTH(m + 1), HUNDREDTH(m + 2), HUNDREDTH(m + 3)
#define HUNDREDTHS20(m)                                                                                      \
        HUNDREDTHS4(m), HUNDREDTHS4(m + 4), HUNDREDTHS4(m + 8), HUNDREDTHS4(m + 12), HUNDREDTHS4(m + 16)
/* The compiler folds each with the same correctly rounded IEEE division. */
const float sf_decimal_hundredths[101] = {HUNDREDTHS20(0),  HUNDREDTHS20(20), HUNDREDTHS20(40),
                                          HUNDREDTHS20(60), HUNDREDTHS20(80), HUNDREDTH(100)};

int sf_decimal_parse_plain(const char *s, size_t len, double *out) {
        uint64_t mant = 0;
        int digits = 0, frac = -1;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c >= '0' && c <= '9') {
                        mant = mant * 10 + (uint64_t)(c - '0');
                        digits++;
                        if (frac >= 0) frac++;
                } else if (c == '.' && frac < 0) {
                        frac = 0;
                } else {
                        return -1;
                }
        }
        if (digits == 0 || digits > 15 || frac == 0 || s[0] == '.') return -1;
        *out = frac > 0 ? (double)mant / sf_decimal_pow10[frac] : (double)mant;
        return 0;
}

sf_decimal_status_t sf_decimal_parse_float(const char *s, size_t len, float *out) {
        if (len == 0) return SF_DECIMAL_EMPTY;
        double v;
        if (len <= 16 && sf_decimal_parse_plain(s, len, &v) == 0) {
                *out = (float)v;
                return SF_DECIMAL_OK;
        }
        if (len > 63) return SF_DECIMAL_NOT_NUMBER;
        char tmp[64];
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
                        return SF_DECIMAL_NOT_NUMBER;
                tmp[i] = c;
        }
        tmp[len] = '\0';
        char *end;
        v = strtod(tmp, &end);
        if (end != tmp + len || end == tmp) return SF_DECIMAL_NOT_NUMBER;
        if (!isfinite(v) || fabs(v) > FLT_MAX) return SF_DECIMAL_RANGE;
        *out = (float)v;
        return SF_DECIMAL_OK;
}
