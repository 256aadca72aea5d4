/* The scorer's record check: sf_score_parse (fast path) against
 * sf_score_parse_full, and for every record it accepts, what the scorer
 * relies on: text in UTF-8 without control bytes, finite numbers, and a
 * prediction that is valid JSON. */
#include <jansson.h>
#include <math.h>

#include "harness.h"
#include "score/record.h"

/* Well-formed UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF) without control bytes other than TAB. */
static int utf8_text(const unsigned char *s, size_t len) {
        for (size_t i = 0; i < len;) {
                unsigned c = s[i];
                if (c < 0x80) {
                        if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
                        i++;
                        continue;
                }
                size_t n = c >= 0xc2 && c <= 0xdf   ? 1
                           : c >= 0xe0 && c <= 0xef ? 2
                           : c >= 0xf0 && c <= 0xf4 ? 3
                                                    : 0;
                if (n == 0 || i + n >= len) return 0;
                unsigned lo = 0x80, hi = 0xbf;
                if (c == 0xe0) lo = 0xa0;
                if (c == 0xed) hi = 0x9f;
                if (c == 0xf0) lo = 0x90;
                if (c == 0xf4) hi = 0x8f;
                if (s[i + 1] < lo || s[i + 1] > hi) return 0;
                for (size_t k = 2; k <= n; k++)
                        if ((s[i + k] & 0xc0) != 0x80) return 0;
                i += n + 1;
        }
        return 1;
}

static int same_row(const sf_kdd_row_t *a, const sf_kdd_row_t *b) {
        return memcmp(a->num, b->num, sizeof(a->num)) == 0 && strcmp(a->proto, b->proto) == 0 &&
               strcmp(a->service, b->service) == 0 && strcmp(a->flag, b->flag) == 0 && a->label == b->label &&
               strcmp(a->label_name, b->label_name) == 0 && a->difficulty == b->difficulty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *value = (const char *)data;
        sf_kdd_row_t fast, full;
        int unk1 = -1, unk2 = -1;
        char e1[256] = "", e2[256] = "";
        memset(&fast, 0, sizeof(fast));
        memset(&full, 0, sizeof(full));

        sf_score_reject_t r1 = sf_score_parse(value, size, &fast, &unk1, e1, sizeof(e1));
        sf_score_reject_t r2 = sf_score_parse_full(value, size, &full, &unk2, e2, sizeof(e2));
        FUZZ_CHECK(r1 == r2, "parse %s (%s), parse_full %s (%s)", sf_score_reject_str(r1), e1,
                   sf_score_reject_str(r2), e2);
        if (r1 != SF_REJECT_NONE) {
                FUZZ_CHECK(strcmp(e1, e2) == 0, "different errors: '%s' / '%s'", e1, e2);
                FUZZ_CHECK(e1[0] != '\0', "a %s rejection without a message", sf_score_reject_str(r1));
                return 0;
        }
        FUZZ_CHECK(unk1 == unk2, "unknown_label %d / %d", unk1, unk2);
        FUZZ_CHECK(same_row(&fast, &full), "the two parsers fill different rows");

        size_t n = size;
        if (n > 0 && value[n - 1] == '\n') n--;
        if (n > 0 && value[n - 1] == '\r') n--;
        FUZZ_CHECK(utf8_text(data, n), "accepted a record that is not UTF-8 text");
        for (int i = 0; i < SF_KDD_NNUMERIC; i++)
                FUZZ_CHECK(isfinite(full.num[i]), "accepted a non-finite number in column %d", i);

        static const float probs[SF_KDD_NCLASSES] = {0.5f, 0.25f, 0.125f, 0.0625f, 0.0625f};
        const sf_score_source_t src = {"connections", 3, 42};
        char out[512];
        size_t len = sf_score_format(out, sizeof(out), probs, &full, SF_KDD_UNSEEN_SERVICE, unk1, &src);
        FUZZ_CHECK(len > 0 && len < sizeof(out) && out[len] == '\0', "format gave %zu", len);
        json_error_t jerr;
        json_t *doc = json_loadb(out, len, 0, &jerr);
        FUZZ_CHECK(json_is_object(doc), "the prediction is not a JSON object: %s: %s", jerr.text, out);
        json_decref(doc);
        return 0;
}
