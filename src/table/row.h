/* One row decoded against a schema, the same for CSV and JSON records: per
 * column a number, a missing value or a string span. Numbers are floats
 * (the network's type), parsed as (float) of strtod's double.
 *
 * CSV: a field per schema column, in order. Numeric columns take a number
 * (quoted or not; digits, sign, '.', exponent; finite as a float) or an
 * unquoted empty field (missing); a quoted empty string "" is not a number.
 * Categorical columns take any valid UTF-8 text; an unquoted empty field is
 * missing, "" is the empty string. The label takes a class name or a raw
 * value of the schema's map, or an empty field (no label: the row can be
 * scored but not trained on). Ignore columns are not looked at.
 *
 * JSON: one object; fields found by column name, unknown fields ignored.
 * Numeric columns take a number, true (1) or false (0), or null (missing):
 * a string, even "1.5", is wrong_type. Categorical columns and the label
 * take a string or null. Every feature column must be present (an absent
 * one is missing_field; null is the way to say "missing"); the label may
 * be absent. */
#ifndef SF_TABLE_ROW_H
#define SF_TABLE_ROW_H

#include <jansson.h>
#include <stddef.h>

#include "table/csv.h"
#include "table/schema.h"

typedef enum { SF_VAL_MISSING = 0, SF_VAL_NUMBER, SF_VAL_STRING } sf_val_kind_t;

typedef struct sf_value {
        sf_val_kind_t kind;
        float num;       /* SF_VAL_NUMBER */
        const char *str; /* SF_VAL_STRING: not NUL-terminated, str[0..len) */
        size_t len;
} sf_value_t;

typedef struct sf_row {
        int n_cols;
        sf_value_t *v;          /* per schema column; ignore columns stay SF_VAL_MISSING */
        int label;              /* class index, or -1: no label */
        json_t *doc;            /* the JSON record the strings point into (owned), or NULL */
        sf_csv_field_t *fields; /* sf_row_from_csv_text's fields and unquoted text (owned) */
        char *scratch;
        size_t scratch_cap;
} sf_row_t;

/* Allocates v for schema's columns. Returns 0 or -1 (out of memory). */
int sf_row_init(sf_row_t *row, const sf_schema_t *schema);
/* Frees v and doc; the row can be initialised again. */
void sf_row_free(sf_row_t *row);

/* Why a record was refused: usable as a dead-letter reason. */
typedef enum {
        SF_ROW_OK = 0,
        SF_ROW_NOT_JSON,      /* not_json: not a JSON object */
        SF_ROW_MISSING_FIELD, /* missing_field: a feature column absent from a JSON record */
        SF_ROW_WRONG_TYPE,    /* wrong_type: a JSON value of the wrong type */
        SF_ROW_NOT_A_NUMBER,  /* not_a_number: text in a numeric CSV column */
        SF_ROW_NON_FINITE,    /* non_finite: a number outside float's finite range */
        SF_ROW_UNKNOWN_LABEL, /* unknown_label: neither a class nor in the map */
        SF_ROW_FIELD_COUNT,   /* field_count: a CSV record with too few or too many fields */
        SF_ROW_BAD_UTF8,      /* bad_utf8: a string that is not valid UTF-8 (or holds NUL) */
        SF_ROW_BAD_QUOTE,     /* bad_quote: malformed CSV quoting */
        SF_ROW_TOO_LONG,      /* too_long: a CSV field over 64 KiB */
} sf_row_reason_t;

/* "not_json", "missing_field", ... */
const char *sf_row_reason_str(sf_row_reason_t reason);

typedef struct sf_row_error {
        sf_row_reason_t reason;
        int col;       /* schema column at fault, or -1 */
        char msg[256]; /* what is wrong, without the location (CSV) or naming the field (JSON) */
} sf_row_error_t;

/* Decodes a tokenized CSV record into row (strings point into fields).
 * Returns 0, or -1 with err filled. */
int sf_row_from_csv(const sf_schema_t *schema, const sf_csv_field_t *fields, int n_fields, sf_row_t *row,
                    sf_row_error_t *err);

/* Decodes one CSV record text[0..len) (no line end; a Kafka message or
 * what sf_csv_next_text returns): a record without quotes, plain
 * decimals and ASCII text in one pass; anything else, valid or not,
 * through sf_csv_split and sf_row_from_csv, which say what is wrong. Strings
 * point into text or the row. Returns 0, or -1 with err filled (a
 * malformed quote is SF_ROW_BAD_QUOTE). */
int sf_row_from_csv_text(const sf_schema_t *schema, const char *text, size_t len, sf_row_t *row,
                         sf_row_error_t *err);

/* Decodes one JSON object text[0..len) into row (strings point into
 * row->doc, kept until the next decode or sf_row_free). Returns 0, or -1
 * with err filled. */
int sf_row_from_json(const sf_schema_t *schema, const char *text, size_t len, sf_row_t *row,
                     sf_row_error_t *err);

#endif
