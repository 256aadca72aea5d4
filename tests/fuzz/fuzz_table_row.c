/* The table's row decoders over two schemas, NSL-KDD's (no header, a map
 * of label names, trailing columns that may be left off) and penguins' (the
 * label first): every input as a CSV record and as a JSON record.
 * sf_row_from_csv_text (one-pass, falling back to the split) must agree
 * with sf_csv_split + sf_row_from_csv on the verdict, the reason, the
 * column, the message and every value; an accepted row holds only finite
 * numbers, valid UTF-8 strings without NUL and a label in range; a refused
 * one names a reason, a column in range and what is wrong. */
#include <jansson.h>
#include <math.h>

#include "harness.h"
#include "table/csv.h"
#include "table/row.h"
#include "table/schema.h"
#include "util/utf8.h"

enum { NSCHEMAS = 2 };
static const char *const schema_dirs[NSCHEMAS] = {"nsl-kdd", "penguins"};
static sf_schema_t *schemas[NSCHEMAS];
static sf_row_t fast[NSCHEMAS], full[NSCHEMAS];
static sf_csv_field_t *fields;
static char *scratch;
static size_t scratch_cap;

static void setup(void) {
        const char *root = getenv("SF_ROOT");
        int max_cols = 0;
        for (int k = 0; k < NSCHEMAS; k++) {
                char path[1024], err[512];
                snprintf(path, sizeof(path), "%s/data/%s/schema.json", root ? root : ".", schema_dirs[k]);
                schemas[k] = sf_schema_load(path, err, sizeof(err));
                FUZZ_CHECK(schemas[k] != NULL, "%s (set SF_ROOT to the source tree)", err);
                FUZZ_CHECK(sf_row_init(&fast[k], schemas[k]) == 0 && sf_row_init(&full[k], schemas[k]) == 0,
                           "out of memory");
                if (schemas[k]->n_cols > max_cols) max_cols = schemas[k]->n_cols;
        }
        fields = calloc((size_t)max_cols, sizeof(*fields));
        FUZZ_CHECK(fields != NULL, "out of memory");
}

/* What every accepted row must hold. */
static void check_row(const sf_schema_t *s, const sf_row_t *row, const char *how) {
        FUZZ_CHECK(row->label >= -1 && row->label < s->n_classes, "%s: label %d", how, row->label);
        for (int c = 0; c < s->n_cols; c++) {
                const sf_value_t *v = &row->v[c];
                if (v->kind == SF_VAL_NUMBER) {
                        FUZZ_CHECK(s->cols[c].type == SF_COL_NUMERIC, "%s: a number in column %d", how, c);
                        FUZZ_CHECK(isfinite(v->num), "%s: column %d is not finite", how, c);
                } else if (v->kind == SF_VAL_STRING) {
                        FUZZ_CHECK(s->cols[c].type != SF_COL_NUMERIC && s->cols[c].type != SF_COL_IGNORE,
                                   "%s: a string in column %d", how, c);
                        FUZZ_CHECK(sf_utf8_valid_len(v->str, v->len) == v->len && !memchr(v->str, 0, v->len),
                                   "%s: column %d is not valid UTF-8 or holds NUL", how, c);
                        FUZZ_CHECK(v->len <= SF_CSV_MAX_FIELD, "%s: column %d holds %zu bytes", how, c,
                                   v->len);
                }
                if (s->cols[c].type == SF_COL_LABEL)
                        FUZZ_CHECK((v->kind == SF_VAL_STRING) == (row->label >= 0),
                                   "%s: label %d, value kind %d", how, row->label, (int)v->kind);
        }
}

static void check_error(const sf_schema_t *s, const sf_row_error_t *e, const char *how) {
        FUZZ_CHECK(e->reason != SF_ROW_OK && e->msg[0] != '\0', "%s: reason %d without a message", how,
                   (int)e->reason);
        /* n_cols: the column after the last, for too many fields */
        FUZZ_CHECK(e->col >= -1 && e->col <= s->n_cols, "%s: column %d", how, e->col);
}

static int same_values(const sf_schema_t *s, const sf_row_t *a, const sf_row_t *b) {
        if (a->label != b->label) return 0;
        for (int c = 0; c < s->n_cols; c++) {
                const sf_value_t *x = &a->v[c], *y = &b->v[c];
                if (x->kind != y->kind ||
                    (x->kind == SF_VAL_NUMBER && memcmp(&x->num, &y->num, sizeof(float))) ||
                    (x->kind == SF_VAL_STRING && (x->len != y->len || memcmp(x->str, y->str, x->len))))
                        return 0;
        }
        return 1;
}

static void csv(int k, const char *text, size_t size) {
        const sf_schema_t *s = schemas[k];
        sf_row_error_t e1 = {0}, e2 = {0};
        int r1 = sf_row_from_csv_text(s, text, size, &fast[k], &e1);
        if (size + 1 > scratch_cap) {
                free(scratch);
                scratch_cap = size + 1;
                scratch = malloc(scratch_cap);
                FUZZ_CHECK(scratch != NULL, "out of memory");
        }
        int nf = 0, bad = -1;
        const char *why = "";
        sf_csv_status_t st = sf_csv_split(text, size, fields, s->n_cols, &nf, scratch, &bad, &why);
        int r2 = st == SF_CSV_OK ? sf_row_from_csv(s, fields, nf, &full[k], &e2) : -1;
        FUZZ_CHECK(r1 == r2, "%s CSV: one-pass %d (%s), split first %d (%s)", schema_dirs[k], r1, e1.msg, r2,
                   st == SF_CSV_OK ? e2.msg : why);
        if (r1 == 0) {
                check_row(s, &fast[k], "CSV");
                FUZZ_CHECK(same_values(s, &fast[k], &full[k]), "%s CSV: the two decodes differ",
                           schema_dirs[k]);
                return;
        }
        check_error(s, &e1, "CSV");
        if (st == SF_CSV_OK) {
                FUZZ_CHECK(e1.reason == e2.reason && e1.col == e2.col && strcmp(e1.msg, e2.msg) == 0,
                           "%s CSV: '%s' (column %d), split first '%s' (column %d)", schema_dirs[k], e1.msg,
                           e1.col, e2.msg, e2.col);
        } else if (bad >= s->n_cols) { /* bad quoting past the last column: too many fields */
                FUZZ_CHECK(e1.reason == SF_ROW_FIELD_COUNT && e1.col == s->n_cols,
                           "%s CSV: %s at column %d for a split stopped at field %d", schema_dirs[k],
                           sf_row_reason_str(e1.reason), e1.col, bad);
        } else {
                FUZZ_CHECK((e1.reason == SF_ROW_BAD_QUOTE || e1.reason == SF_ROW_TOO_LONG) && e1.col == bad &&
                                   strcmp(e1.msg, why) == 0,
                           "%s CSV: %s '%s' (column %d), the split says '%s' (column %d)", schema_dirs[k],
                           sf_row_reason_str(e1.reason), e1.msg, e1.col, why, bad);
        }
}

static void json(int k, const char *text, size_t size) {
        const sf_schema_t *s = schemas[k];
        sf_row_error_t e = {0};
        if (sf_row_from_json(s, text, size, &fast[k], &e) == 0) {
                check_row(s, &fast[k], "JSON");
                return;
        }
        check_error(s, &e, "JSON");
        FUZZ_CHECK(e.reason != SF_ROW_NOT_A_NUMBER && e.reason != SF_ROW_FIELD_COUNT &&
                           e.reason != SF_ROW_BAD_QUOTE && e.reason != SF_ROW_TOO_LONG,
                   "JSON: a CSV reason, %s", sf_row_reason_str(e.reason));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!schemas[0]) setup();
        /* a copy of exactly size bytes, so reading past the end is caught */
        char *text = malloc(size ? size : 1);
        FUZZ_CHECK(text != NULL, "out of memory");
        if (size) memcpy(text, data, size);
        for (int k = 0; k < NSCHEMAS; k++) {
                csv(k, text, size);
                json(k, text, size);
        }
        free(text);
        return 0;
}
