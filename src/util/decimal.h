/* Decimal text to numbers: a fast path for plain decimals (Clinger's) and
 * the strict full parse every reader of numeric columns shares. */
#ifndef SF_UTIL_DECIMAL_H
#define SF_UTIL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* 10^0 .. 10^15, each exact in a double. */
extern const double sf_decimal_pow10[16];

/* A plain decimal of at most 15 digits ("0.05", "1.00", "215"; no sign, no
 * exponent, not "5." or ".5") without strtod: the digits as an integer are
 * exact in a double (< 2^53), so are the powers of ten up to 10^15, and one
 * IEEE division rounds correctly, so *out is the double strtod returns
 * (Clinger's fast path). Returns 0, or -1 when the text needs strtod. */
int sf_decimal_parse_plain(const char *s, size_t len, double *out);

/* m / 100 for m = 0..100 as float, each the correctly rounded
 * (float)((double)m / 100.0): rates like "0.05" and "1.00" take a load
 * instead of a division, whose latency is a fifth of a row's parse. */
extern const float sf_decimal_hundredths[101];

/* sf_decimal_parse_plain over the longest run of digits and '.' at the
 * start of s[0..end), for a parser that finds the field's end as it goes,
 * with the float result ((float) of the double, as sf_decimal_parse_float):
 * returns where the run stops (the delimiter), or NULL when the run is not
 * a plain decimal of at most 15 digits. Inline: it runs once per field. */
static inline const char *sf_decimal_scan_float(const char *s, const char *end, float *out) {
        uint64_t mant = 0;
        int digits = 0, frac = -1;
        const char *p = s;
        for (; p < end; p++) {
                unsigned d = (unsigned)(unsigned char)*p - '0';
                if (d <= 9) {
                        mant = mant * 10 + d;
                        digits++;
                        if (frac >= 0) frac++;
                } else if (*p == '.' && frac < 0) {
                        frac = 0;
                } else {
                        break;
                }
        }
        /* "." alone, "5." and ".5" are left to strtod, which says what they are. */
        if (digits == 0 || digits > 15 || frac == 0 || *s == '.') return NULL;
        if (frac < 0)
                *out = (float)(double)mant;
        else if (frac == 2 && mant <= 100)
                *out = sf_decimal_hundredths[mant];
        else
                *out = (float)((double)mant / sf_decimal_pow10[frac]);
        return p;
}

/* Why sf_decimal_parse_float refused a field. */
typedef enum {
        SF_DECIMAL_OK = 0,
        SF_DECIMAL_EMPTY,      /* len 0 */
        SF_DECIMAL_NOT_NUMBER, /* anything but digits, sign, '.', exponent */
        SF_DECIMAL_RANGE,      /* a number, but not finite as a float */
} sf_decimal_status_t;

/* A number field as a float: digits, sign, '.', exponent only (rejects
 * nan, inf, hex, blanks, leading or trailing spaces); the value must be
 * finite as a float. Plain decimals skip strtod, and the result is always
 * (float) of strtod's double. */
sf_decimal_status_t sf_decimal_parse_float(const char *s, size_t len, float *out);

#endif
