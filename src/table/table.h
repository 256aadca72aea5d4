/* Rows of a table held in memory by column, for fitting an encoder and
 * training: numeric columns as floats with a missing flag, categorical
 * columns as ids into a per-column dictionary of their distinct values,
 * the label as a class index. */
#ifndef SF_TABLE_TABLE_H
#define SF_TABLE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "table/csv.h"
#include "table/row.h"
#include "table/schema.h"

#define SF_TABLE_NONE UINT32_MAX /* a missing categorical value */

/* The distinct values of one categorical column, in order of appearance. */
typedef struct sf_dict {
        char **str; /* NUL-terminated copies */
        size_t *len;
        uint32_t n, cap;
        uint32_t *slots; /* hash index: id + 1, 0 empty; mask + 1 slots, at most half used */
        uint32_t mask;
} sf_dict_t;

typedef struct sf_table {
        const sf_schema_t *schema; /* borrowed: must outlive the table */
        size_t n_rows, cap;
        float **num;        /* [n_cols]: (cap) values of each numeric column, else NULL */
        uint8_t **missing;  /* [n_cols]: 1 where a numeric value is missing */
        size_t *n_missing;  /* [n_cols]: missing values per column (numeric and categorical) */
        uint32_t **cat;     /* [n_cols]: dictionary ids of each categorical column, else NULL */
        sf_dict_t *dict;    /* [n_cols] */
        int *label;         /* (cap) class indices */
        uint64_t *line;     /* (cap) the file line where each row's record starts, 0 when not from a file */
        size_t *class_rows; /* [n_classes]: rows per class */
} sf_table_t;

/* An empty table for schema's columns. Returns it (sf_table_destroy) or
 * NULL when out of memory. */
sf_table_t *sf_table_new(const sf_schema_t *schema);
void sf_table_destroy(sf_table_t *table);

/* Appends a decoded row; it must have a label. Returns 0 or -1 (out of
 * memory). */
int sf_table_append(sf_table_t *table, const sf_row_t *row);

/* Reads every record of a CSV file (plain or gzip; "-" for stdin) into
 * the table. With schema->header the first record must name the columns
 * as the schema does, in order. Every row needs a label. Any bad record
 * fails the read with "PATH:LINE:COL (name): why" (training data must be
 * clean) and appends nothing. Returns 0 or -1. */
int sf_table_read_csv(sf_table_t *table, const char *path, char *errstr, size_t errstr_size);

/* Reads a file of JSON records, one object per line (plain or gzip; "-"
 * for stdin; empty lines skipped), into the table; the rules of
 * sf_row_from_json. Every row needs a label. Any bad record fails the read
 * with "PATH:LINE: reason: why" (reason as sf_row_reason_str) and appends
 * nothing. Returns 0 or -1. */
int sf_table_read_json(sf_table_t *table, const char *path, char *errstr, size_t errstr_size);

/* 1 when path names a file of JSON records by its extension (.json,
 * .jsonl or .ndjson, optionally followed by .gz), else 0 (CSV). */
int sf_table_is_json_path(const char *path);

/* sf_table_read_json or sf_table_read_csv, by sf_table_is_json_path. */
int sf_table_read(sf_table_t *table, const char *path, char *errstr, size_t errstr_size);

/* Whether the header record text[0..len) (line lineno of csv's file)
 * names the schema's columns, in order. Returns 0, or -1 with errstr
 * "PATH:LINE:COL (name): header names column 3 "isle", the schema
 * "island"" (or the count of columns, or malformed quoting). */
int sf_table_check_header(const sf_schema_t *schema, sf_csv_reader_t *csv, const char *text, size_t len,
                          uint64_t lineno, char *errstr, size_t errstr_size);

/* A new table with rows idx[0..n) of src, in that order, with their line
 * numbers. Returns it (sf_table_destroy) or NULL when out of memory. */
sf_table_t *sf_table_select(const sf_table_t *src, const size_t *idx, size_t n);

/* A view of row i in row (initialised for the table's schema): its strings
 * point into the table's dictionaries. */
void sf_table_get_row(const sf_table_t *table, size_t i, sf_row_t *row);

#endif
