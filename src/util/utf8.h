/* UTF-8 validation, the one check every text path uses (the scorer's
 * record check, the CSV row parser). */
#ifndef SF_UTIL_UTF8_H
#define SF_UTIL_UTF8_H

#include <stddef.h>

/* How many leading bytes of s[0..len) are well-formed UTF-8 (RFC 3629):
 * len when all of it is, else the index of the first byte of the first bad
 * sequence: a byte that cannot start one (0x80..0xC1, 0xF5..0xFF), an
 * overlong form (C0 80, E0 80 80, F0 80 80 80), a surrogate (ED A0 80), a
 * code point above U+10FFFF (F4 90 80 80), or a sequence cut short.
 * ASCII is checked 8 bytes at a time. Control bytes count as valid. */
size_t sf_utf8_valid_len(const char *s, size_t len);

#endif
