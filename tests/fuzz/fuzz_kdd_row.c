/* NSL-KDD rows: sf_kdd_parse_line (one-pass fast path, falling back to the
 * full parser) against sf_kdd_parse_line_full, and each fast helper against
 * the full parser on the part of the line it claims. Any disagreement
 * aborts. */
#include "data/kdd.h"
#include "harness.h"

static int same_features(const sf_kdd_row_t *a, const sf_kdd_row_t *b) {
        return memcmp(a->num, b->num, sizeof(a->num)) == 0 && strcmp(a->proto, b->proto) == 0 &&
               strcmp(a->service, b->service) == 0 && strcmp(a->flag, b->flag) == 0;
}

static int same_row(const sf_kdd_row_t *a, const sf_kdd_row_t *b) {
        return same_features(a, b) && a->label == b->label && strcmp(a->label_name, b->label_name) == 0 &&
               a->difficulty == b->difficulty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *line = (const char *)data;
        sf_kdd_row_t fast, full;
        char e1[256] = "", e2[256] = "";
        memset(&fast, 0, sizeof(fast));
        memset(&full, 0, sizeof(full));

        int r1 = sf_kdd_parse_line(line, size, &fast, e1, sizeof(e1));
        int r2 = sf_kdd_parse_line_full(line, size, &full, e2, sizeof(e2));
        FUZZ_CHECK(r1 == r2, "parse_line %d (%s), parse_line_full %d (%s)", r1, e1, r2, e2);
        if (r1 == 0) {
                FUZZ_CHECK(same_row(&fast, &full), "the two parsers fill different rows");
                FUZZ_CHECK(full.label >= -1 && full.label < SF_KDD_NCLASSES, "label %d", full.label);
                FUZZ_CHECK(full.difficulty >= -1 && full.difficulty <= 21, "difficulty %d", full.difficulty);
        } else {
                FUZZ_CHECK(strcmp(e1, e2) == 0, "different errors: '%s' / '%s'", e1, e2);
                FUZZ_CHECK(e1[0] != '\0', "an error without a message");
        }

        /* The fast helpers alone, on the line without its line end. */
        size_t n = size;
        if (n > 0 && line[n - 1] == '\n') n--;
        if (n > 0 && line[n - 1] == '\r') n--;
        sf_kdd_row_t quick, slow;
        memset(&quick, 0, sizeof(quick));
        memset(&slow, 0, sizeof(slow));
        long pos = n ? sf_kdd_parse_features_fast(line, n, &quick) : -1;
        if (pos < 0) return 0;
        FUZZ_CHECK((size_t)pos <= n && ((size_t)pos == n || line[pos] == ','), "features end at %ld of %zu",
                   pos, n);
        int r = sf_kdd_parse_line_full(line, (size_t)pos, &slow, e2, sizeof(e2));
        FUZZ_CHECK(r == 0, "fast path took features the full parser refuses: %s", e2);
        FUZZ_CHECK(same_features(&quick, &slow), "fast and full features differ");

        long at = sf_kdd_parse_label_fast(line, n, (size_t)pos, &quick);
        if (at < 0 || (size_t)pos == n) return 0;
        FUZZ_CHECK((size_t)at <= n && ((size_t)at == n || line[at] == ','), "label ends at %ld of %zu", at,
                   n);
        r = sf_kdd_parse_line_full(line, (size_t)at, &slow, e2, sizeof(e2));
        if (quick.label >= 0) {
                FUZZ_CHECK(r == 0, "fast path took a label the full parser refuses: %s", e2);
                FUZZ_CHECK(same_row(&quick, &slow), "fast and full label differ");
        } else {
                FUZZ_CHECK(r != 0, "fast path found no class for '%s', the full parser did (%d)",
                           quick.label_name, slow.label);
        }
        return 0;
}
