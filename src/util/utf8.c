#include "util/utf8.h"

#include <stdint.h>
#include <string.h>

size_t sf_utf8_valid_len(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;
        while (i < len) {
                /* Almost every record is ASCII: 8 bytes per test. */
                while (len - i >= 8) {
                        uint64_t w;
                        memcpy(&w, s + i, 8);
                        if (w & 0x8080808080808080ull) break;
                        i += 8;
                }
                if (i == len) break;
                unsigned char c = s[i];
                if (c < 0x80) {
                        i++;
                        continue;
                }
                /* The sequence length and the range of its second byte
                 * (Table 3-7 of the Unicode standard): the narrow ranges
                 * after E0, ED, F0 and F4 exclude overlong forms,
                 * surrogates and code points above U+10FFFF. */
                size_t n;
                unsigned char lo = 0x80, hi = 0xbf;
                if (c >= 0xc2 && c <= 0xdf) {
                        n = 2;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 3;
                        if (c == 0xe0) lo = 0xa0;
                        if (c == 0xed) hi = 0x9f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 4;
                        if (c == 0xf0) lo = 0x90;
                        if (c == 0xf4) hi = 0x8f;
                } else {
                        return i;
                }
                if (len - i < n || s[i + 1] < lo || s[i + 1] > hi) return i;
                for (size_t k = 2; k < n; k++)
                        if ((s[i + k] & 0xc0) != 0x80) return i;
                i += n;
        }
        return len;
}
