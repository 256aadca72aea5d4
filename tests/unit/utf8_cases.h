/* UTF-8 byte strings with how many of their leading bytes are valid: the
 * table test_lines.c (validator), test_row.c (row decoder) and test_score.c (record check)
 * share. valid == strlen(text) means all of it is valid. */
#ifndef SF_TEST_UTF8_CASES_H
#define SF_TEST_UTF8_CASES_H

#include <stddef.h>

typedef struct {
        const char *name;
        const char *text;
        size_t valid;
} utf8_case_t;

static const utf8_case_t utf8_cases[] = {
        /* valid */
        {"ascii", "neptune", 7},
        {"2-byte U+00E9", "caf\xc3\xa9", 5},
        {"2-byte U+0080 (smallest)", "\xc2\x80", 2},
        {"3-byte U+20AC", "\xe2\x82\xac", 3},
        {"3-byte U+0800 (smallest)", "\xe0\xa0\x80", 3},
        {"3-byte U+D7FF (before the surrogates)", "\xed\x9f\xbf", 3},
        {"3-byte U+E000 (after the surrogates)", "\xee\x80\x80", 3},
        {"4-byte U+1F600", "\xf0\x9f\x98\x80", 4},
        {"4-byte U+10000 (smallest)", "\xf0\x90\x80\x80", 4},
        {"4-byte U+10FFFF (largest)", "\xf4\x8f\xbf\xbf", 4},
        {"long ascii then 2-byte", "abcdefghijklmnopq\xc3\xa9", 19},
        /* overlong forms */
        {"overlong C0 80", "\xc0\x80", 0},
        {"overlong C1 BF", "\xc1\xbf", 0},
        {"overlong E0 80 80", "\xe0\x80\x80", 0},
        {"overlong E0 9F BF", "\xe0\x9f\xbf", 0},
        {"overlong F0 80 80 80", "\xf0\x80\x80\x80", 0},
        {"overlong F0 8C 8C 8C", "x\xf0\x8c\x8c\x8cy", 1},
        /* surrogates */
        {"surrogate ED A0 80", "x\xed\xa0\x80y", 1},
        {"surrogate ED BF BF", "\xed\xbf\xbf", 0},
        /* above U+10FFFF */
        {"F4 90 80 80", "x\xf4\x90\x80\x80y", 1},
        {"F5 80 80 80", "\xf5\x80\x80\x80", 0},
        {"F8 88 80 80 80", "\xf8\x88\x80\x80\x80", 0},
        {"FE", "ab\xfe", 2},
        {"FF", "\xff", 0},
        /* truncated */
        {"truncated 2-byte", "\xc3", 0},
        {"truncated 3-byte", "ab\xe2\x82", 2},
        {"truncated 4-byte", "\xf0\x9f\x98", 0},
        {"truncated 3-byte before ascii", "\xe2\x82x", 0},
        {"truncated 4-byte before ascii", "\xf0\x9f\x98x", 0},
        /* lone continuation bytes */
        {"lone 80", "\x80", 0},
        {"lone BF after ascii", "abc\xbf", 3},
        {"continuation after a full sequence", "\xc3\xa9\xa9", 2},
        {"after 8 ascii bytes", "abcdefghij\xed\xa0\x80", 10},
};

#endif
