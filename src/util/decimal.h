/* Decimal text to numbers: a fast path for plain decimals (Clinger's) and
 * the strict full parse every reader of numeric columns shares. */
#ifndef SF_UTIL_DECIMAL_H
#define SF_UTIL_DECIMAL_H

#include <stddef.h>

/* 10^0 .. 10^15, each exact in a double. */
extern const double sf_decimal_pow10[16];

/* A plain decimal of at most 15 digits ("0.05", "1.00", "215"; no sign, no
 * exponent, not "5." or ".5") without strtod: the digits as an integer are
 * exact in a double (< 2^53), so are the powers of ten up to 10^15, and one
 * IEEE division rounds correctly, so *out is the double strtod returns
 * (Clinger's fast path). Returns 0, or -1 when the text needs strtod. */
int sf_decimal_parse_plain(const char *s, size_t len, double *out);

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
