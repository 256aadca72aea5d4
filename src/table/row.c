#include "table/row.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/decimal.h"
#include "util/utf8.h"

static const char *const reason_names[] = {
        "ok",           "not_json",   "missing_field", "wrong_type",
        "not_a_number", "non_finite", "unknown_label", "field_count",
        "bad_utf8",     "bad_quote",  "too_long",
};

const char *sf_row_reason_str(sf_row_reason_t reason) {
        return (unsigned)reason < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[reason] : "?";
}

int sf_row_init(sf_row_t *row, const sf_schema_t *schema) {
        memset(row, 0, sizeof(*row));
        row->label = -1;
        if (!(row->v = calloc((size_t)schema->n_cols, sizeof(*row->v))) ||
            !(row->fields = calloc((size_t)schema->n_cols, sizeof(*row->fields)))) {
                sf_row_free(row);
                return -1;
        }
        row->n_cols = schema->n_cols;
        return 0;
}

void sf_row_free(sf_row_t *row) {
        if (!row) return;
        free(row->v);
        free(row->fields);
        free(row->scratch);
        json_decref(row->doc);
        memset(row, 0, sizeof(*row));
        row->label = -1;
}

static int fail(sf_row_error_t *err, sf_row_reason_t reason, int col, const char *fmt, ...) {
        err->reason = reason;
        err->col = col;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return -1;
}

/* At most 40 bytes of a bad value for a message, non-printable bytes as '?'. */
static const char *shown(char out[48], const char *s, size_t len) {
        size_t n = len < 40 ? len : 40, j = 0;
        for (size_t i = 0; i < n; i++) out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (len > n) out[j++] = '.', out[j++] = '.', out[j++] = '.';
        out[j] = '\0';
        return out;
}

static int text_value(const sf_csv_field_t *f, int col, sf_value_t *v, sf_row_error_t *err) {
        size_t bad = sf_utf8_valid_len(f->s, f->len);
        const char *nul = memchr(f->s, 0, bad);
        if (nul) bad = (size_t)(nul - f->s);
        if (bad < f->len)
                return fail(err, SF_ROW_BAD_UTF8, col,
                            "invalid UTF-8 (or a NUL byte) at byte %zu of the field", bad + 1);
        *v = (sf_value_t){SF_VAL_STRING, 0, f->s, f->len};
        return 0;
}

static int csv_number(const sf_csv_field_t *f, int col, sf_value_t *v, sf_row_error_t *err) {
        char q[48];
        if (f->len == 0 && !f->quoted) {
                *v = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
                return 0;
        }
        v->kind = SF_VAL_NUMBER;
        switch (sf_decimal_parse_float(f->s, f->len, &v->num)) {
        case SF_DECIMAL_OK:
                return 0;
        case SF_DECIMAL_EMPTY:
                return fail(
                        err, SF_ROW_NOT_A_NUMBER, col,
                        "an empty string \"\" is not a number (leave the field empty for a missing value)");
        case SF_DECIMAL_RANGE:
                return fail(err, SF_ROW_NON_FINITE, col,
                            "number out of range (not finite as a float): \"%s\"", shown(q, f->s, f->len));
        default:
                return fail(err, SF_ROW_NOT_A_NUMBER, col, "not a number: \"%s\"", shown(q, f->s, f->len));
        }
}

static int label_value(const sf_schema_t *schema, const char *s, size_t len, int col, sf_row_t *row,
                       sf_row_error_t *err) {
        row->label = sf_schema_class(schema, s, len);
        if (row->label >= 0) return 0;
        char q[48];
        return fail(err, SF_ROW_UNKNOWN_LABEL, col,
                    "unknown label \"%s\" (not a class, not in the schema's map)", shown(q, s, len));
}

int sf_row_from_csv(const sf_schema_t *schema, const sf_csv_field_t *fields, int n_fields, sf_row_t *row,
                    sf_row_error_t *err) {
        json_decref(row->doc);
        row->doc = NULL;
        row->label = -1;
        if (n_fields > schema->n_cols || n_fields < schema->min_fields) {
                int col = n_fields < schema->n_cols ? n_fields : schema->n_cols;
                if (schema->min_fields == schema->n_cols)
                        return fail(err, SF_ROW_FIELD_COUNT, col, "%d field%s, expected %d", n_fields,
                                    n_fields == 1 ? "" : "s", schema->n_cols);
                return fail(err, SF_ROW_FIELD_COUNT, col,
                            "%d field%s, expected %d to %d (the label and ignored columns at the end may be "
                            "left off)",
                            n_fields, n_fields == 1 ? "" : "s", schema->min_fields, schema->n_cols);
        }
        for (int i = n_fields; i < schema->n_cols; i++) row->v[i] = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
        for (int i = 0; i < n_fields; i++) {
                const sf_csv_field_t *f = &fields[i];
                sf_value_t *v = &row->v[i];
                switch (schema->cols[i].type) {
                case SF_COL_NUMERIC:
                        if (csv_number(f, i, v, err)) return -1;
                        break;
                case SF_COL_CATEGORICAL:
                        if (f->len == 0 && !f->quoted)
                                *v = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
                        else if (text_value(f, i, v, err))
                                return -1;
                        break;
                case SF_COL_LABEL:
                        *v = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
                        if (f->len == 0 && !f->quoted) break;
                        if (text_value(f, i, v, err) || label_value(schema, f->s, f->len, i, row, err))
                                return -1;
                        break;
                case SF_COL_IGNORE:
                        *v = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
                        break;
                }
        }
        return 0;
}

/* The fast path of sf_row_from_csv_text: every field found and checked as
 * the scan passes it. Returns 0, or -1 for anything it does not handle
 * (quotes, a non-plain number, a non-ASCII byte, a wrong field count, an
 * unknown label, a field over 64 KiB): the caller then takes the full path. */
static int csv_fast(const sf_schema_t *schema, const char *text, size_t len, sf_row_t *row) {
        const char *p = text, *end = text + len;
        row->label = -1;
        for (int i = 0; i < schema->n_cols; i++) {
                sf_value_t *v = &row->v[i];
                sf_col_type_t type = schema->cols[i].type;
                const char *q = p;
                if (type == SF_COL_NUMERIC && p < end && *p != ',') {
                        float f;
                        q = sf_decimal_scan_float(p, end, &f);
                        if (!q || (q < end && *q != ',')) return -1;
                        *v = (sf_value_t){SF_VAL_NUMBER, f, NULL, 0};
                } else {
                        /* printable ASCII or a tab: no UTF-8 check needed */
                        while (q < end && *q != ',') {
                                if ((unsigned char)(*q - 1) >= 0x7e) return -1; /* NUL or >= 0x7f */
                                q++;
                        }
                        size_t n = (size_t)(q - p);
                        if (n > SF_CSV_MAX_FIELD) return -1;
                        *v = (sf_value_t){n && type != SF_COL_IGNORE ? SF_VAL_STRING : SF_VAL_MISSING, 0, p,
                                          n};
                        if (type == SF_COL_LABEL && n && (row->label = sf_schema_class(schema, p, n)) < 0)
                                return -1;
                }
                if (i + 1 < schema->n_cols) {
                        if (q == end) {
                                if (i + 1 < schema->min_fields) return -1; /* too few fields */
                                for (int j = i + 1; j < schema->n_cols; j++)
                                        row->v[j] = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
                                return 0;
                        }
                        p = q + 1;
                } else if (q != end) {
                        return -1; /* too many */
                }
        }
        return 0;
}

int sf_row_from_csv_text(const sf_schema_t *schema, const char *text, size_t len, sf_row_t *row,
                         sf_row_error_t *err) {
        json_decref(row->doc);
        row->doc = NULL;
        if (!memchr(text, '"', len) && csv_fast(schema, text, len, row) == 0) return 0;
        if (len + 1 > row->scratch_cap) {
                char *s = realloc(row->scratch, len + 1);
                if (!s) return fail(err, SF_ROW_TOO_LONG, -1, "out of memory for a record of %zu bytes", len);
                row->scratch = s;
                row->scratch_cap = len + 1;
        }
        int nf, bad;
        const char *why;
        sf_csv_status_t st =
                sf_csv_split(text, len, row->fields, schema->n_cols, &nf, row->scratch, &bad, &why);
        if (st == SF_CSV_OK) return sf_row_from_csv(schema, row->fields, nf, row, err);
        if (bad >= schema->n_cols) { /* past the last column: too many fields, whatever follows */
                if (schema->min_fields == schema->n_cols)
                        return fail(err, SF_ROW_FIELD_COUNT, schema->n_cols,
                                    "at least %d fields, expected %d", bad + 1, schema->n_cols);
                return fail(err, SF_ROW_FIELD_COUNT, schema->n_cols,
                            "at least %d fields, expected %d to %d (the label and ignored columns at the end "
                            "may be left off)",
                            bad + 1, schema->min_fields, schema->n_cols);
        }
        if (strcmp(why, "field longer than 65536 bytes") == 0)
                return fail(err, SF_ROW_TOO_LONG, bad, "%s", why);
        return fail(err, SF_ROW_BAD_QUOTE, bad, "%s", why);
}

static const char *json_type_name(const json_t *j) {
        switch (json_typeof(j)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

static int json_number(const json_t *val, const char *name, int col, sf_value_t *v, sf_row_error_t *err) {
        double d;
        if (json_is_integer(val))
                d = (double)json_integer_value(val);
        else if (json_is_real(val))
                d = json_real_value(val);
        else if (json_is_boolean(val))
                d = json_is_true(val) ? 1.0 : 0.0;
        else
                return fail(err, SF_ROW_WRONG_TYPE, col, "field \"%s\": expected a number or null, found %s",
                            name, json_type_name(val));
        if (!isfinite(d) || fabs(d) > FLT_MAX)
                return fail(err, SF_ROW_NON_FINITE, col,
                            "field \"%s\": number out of range (not finite as a float)", name);
        *v = (sf_value_t){SF_VAL_NUMBER, (float)d, NULL, 0};
        return 0;
}

/* One column's value of a JSON record (val is not NULL and not null). */
static int json_value(const sf_schema_t *schema, int i, const json_t *val, sf_row_t *row,
                      sf_row_error_t *err) {
        const char *name = schema->cols[i].name;
        sf_value_t *v = &row->v[i];
        if (schema->cols[i].type == SF_COL_NUMERIC) return json_number(val, name, i, v, err);
        if (!json_is_string(val))
                return fail(err, SF_ROW_WRONG_TYPE, i, "field \"%s\": expected a string or null, found %s",
                            name, json_type_name(val));
        const char *s = json_string_value(val);
        size_t len = json_string_length(val);
        if (memchr(s, '\0', len))
                return fail(err, SF_ROW_BAD_UTF8, i, "field \"%s\": a NUL character in the string", name);
        *v = (sf_value_t){SF_VAL_STRING, 0, s, len};
        if (schema->cols[i].type == SF_COL_LABEL && label_value(schema, s, len, i, row, err)) {
                snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg), " in field \"%s\"",
                         name);
                return -1;
        }
        return 0;
}

int sf_row_from_json(const sf_schema_t *schema, const char *text, size_t len, sf_row_t *row,
                     sf_row_error_t *err) {
        json_decref(row->doc);
        row->doc = NULL;
        row->label = -1;
        json_error_t jerr;
        json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc && json_error_code(&jerr) == json_error_numeric_overflow)
                return fail(err, SF_ROW_NON_FINITE, -1,
                            "a number out of range (not finite as a float) at byte %d", jerr.position);
        if (!doc && json_error_code(&jerr) == json_error_null_character)
                return fail(err, SF_ROW_NOT_JSON, -1,
                            "not JSON: a \\u0000 (NUL) character in a string at byte %d", jerr.position);
        if (!doc)
                return fail(err, SF_ROW_NOT_JSON, -1, "not JSON: %s (at byte %d)", jerr.text, jerr.position);
        row->doc = doc;
        if (!json_is_object(doc))
                return fail(err, SF_ROW_NOT_JSON, -1, "expected a JSON object, found %s",
                            json_type_name(doc));
        for (int i = 0; i < schema->n_cols; i++) {
                row->v[i] = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
                if (schema->cols[i].type == SF_COL_IGNORE) continue;
                const json_t *val = json_object_get(doc, schema->cols[i].name);
                if (!val && schema->cols[i].type != SF_COL_LABEL)
                        return fail(err, SF_ROW_MISSING_FIELD, i,
                                    "field \"%s\" is missing (use null for a missing value)",
                                    schema->cols[i].name);
                if (!val || json_is_null(val)) continue;
                if (json_value(schema, i, val, row, err)) return -1;
        }
        return 0;
}
