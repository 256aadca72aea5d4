#include "table/table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/csv.h"
#include "util/lines.h"
#include "util/util.h"

static uint32_t hash(const char *s, size_t len) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
        return h;
}

static void dict_free(sf_dict_t *d) {
        for (uint32_t i = 0; i < d->n; i++) free(d->str[i]);
        free(d->str);
        free(d->len);
        free(d->slots);
}

static int dict_rehash(sf_dict_t *d, uint32_t size) {
        uint32_t *slots = calloc(size, sizeof(*slots));
        if (!slots) return -1;
        for (uint32_t i = 0; i < d->n; i++) {
                uint32_t h = hash(d->str[i], d->len[i]) & (size - 1);
                while (slots[h]) h = (h + 1) & (size - 1);
                slots[h] = i + 1;
        }
        free(d->slots);
        d->slots = slots;
        d->mask = size - 1;
        return 0;
}

/* The id of s[0..len) in d, added when new. Returns SF_TABLE_NONE when out
 * of memory. */
static uint32_t dict_intern(sf_dict_t *d, const char *s, size_t len) {
        if (!d->slots && dict_rehash(d, 16)) return SF_TABLE_NONE;
        uint32_t h = hash(s, len) & d->mask;
        for (; d->slots[h]; h = (h + 1) & d->mask) {
                uint32_t id = d->slots[h] - 1;
                if (d->len[id] == len && memcmp(d->str[id], s, len) == 0) return id;
        }
        if (d->n == d->cap) {
                uint32_t cap = d->cap ? d->cap * 2 : 16;
                char **str = realloc(d->str, cap * sizeof(*str));
                if (!str) return SF_TABLE_NONE;
                d->str = str;
                size_t *lens = realloc(d->len, cap * sizeof(*lens));
                if (!lens) return SF_TABLE_NONE;
                d->len = lens;
                d->cap = cap;
        }
        char *copy = malloc(len + 1);
        if (!copy) return SF_TABLE_NONE;
        memcpy(copy, s, len);
        copy[len] = '\0';
        uint32_t id = d->n++;
        d->str[id] = copy;
        d->len[id] = len;
        d->slots[h] = id + 1;
        if (2 * d->n > d->mask + 1 && dict_rehash(d, 2 * (d->mask + 1))) return SF_TABLE_NONE;
        return id;
}

void sf_table_destroy(sf_table_t *t) {
        if (!t) return;
        int n = t->schema->n_cols;
        for (int i = 0; i < n; i++) {
                if (t->num) free(t->num[i]);
                if (t->missing) free(t->missing[i]);
                if (t->cat) free(t->cat[i]);
                if (t->dict) dict_free(&t->dict[i]);
        }
        free(t->num);
        free(t->missing);
        free(t->n_missing);
        free(t->cat);
        free(t->dict);
        free(t->label);
        free(t->line);
        free(t->class_rows);
        free(t);
}

sf_table_t *sf_table_new(const sf_schema_t *schema) {
        sf_table_t *t = calloc(1, sizeof(*t));
        if (!t) return NULL;
        t->schema = schema;
        size_t n = (size_t)schema->n_cols;
        if (!(t->num = calloc(n, sizeof(*t->num))) || !(t->missing = calloc(n, sizeof(*t->missing))) ||
            !(t->n_missing = calloc(n, sizeof(*t->n_missing))) || !(t->cat = calloc(n, sizeof(*t->cat))) ||
            !(t->dict = calloc(n, sizeof(*t->dict))) ||
            !(t->class_rows = calloc((size_t)schema->n_classes, sizeof(*t->class_rows)))) {
                sf_table_destroy(t);
                return NULL;
        }
        return t;
}

#define GROW(p, cap)                                                                                         \
        do {                                                                                                 \
                void *np_ = realloc((p), (cap) * sizeof(*(p)));                                              \
                if (!np_) return -1;                                                                         \
                (p) = np_;                                                                                   \
        } while (0)

static int reserve(sf_table_t *t) {
        if (t->n_rows < t->cap) return 0;
        size_t cap = t->cap ? t->cap * 2 : 1024;
        for (int i = 0; i < t->schema->n_cols; i++) {
                sf_col_type_t type = t->schema->cols[i].type;
                if (type == SF_COL_NUMERIC) {
                        GROW(t->num[i], cap);
                        GROW(t->missing[i], cap);
                } else if (type == SF_COL_CATEGORICAL) {
                        GROW(t->cat[i], cap);
                }
        }
        GROW(t->label, cap);
        GROW(t->line, cap);
        t->cap = cap;
        return 0;
}

int sf_table_append(sf_table_t *t, const sf_row_t *row) {
        if (row->label < 0 || reserve(t)) return -1;
        size_t r = t->n_rows;
        for (int i = 0; i < t->schema->n_cols; i++) {
                const sf_value_t *v = &row->v[i];
                sf_col_type_t type = t->schema->cols[i].type;
                if (type == SF_COL_NUMERIC) {
                        int miss = v->kind != SF_VAL_NUMBER;
                        t->num[i][r] = miss ? 0.0f : v->num;
                        t->missing[i][r] = (uint8_t)miss;
                        t->n_missing[i] += (size_t)miss;
                } else if (type == SF_COL_CATEGORICAL) {
                        uint32_t id = SF_TABLE_NONE;
                        if (v->kind == SF_VAL_STRING) {
                                id = dict_intern(&t->dict[i], v->str, v->len);
                                if (id == SF_TABLE_NONE) return -1;
                        } else {
                                t->n_missing[i]++;
                        }
                        t->cat[i][r] = id;
                }
        }
        t->label[r] = row->label;
        t->line[r] = 0;
        t->class_rows[row->label]++;
        t->n_rows++;
        return 0;
}

void sf_table_get_row(const sf_table_t *t, size_t r, sf_row_t *row) {
        for (int i = 0; i < t->schema->n_cols; i++) {
                sf_value_t *v = &row->v[i];
                *v = (sf_value_t){SF_VAL_MISSING, 0, NULL, 0};
                if (t->num[i] && !t->missing[i][r]) {
                        v->kind = SF_VAL_NUMBER;
                        v->num = t->num[i][r];
                } else if (t->cat[i] && t->cat[i][r] != SF_TABLE_NONE) {
                        uint32_t id = t->cat[i][r];
                        *v = (sf_value_t){SF_VAL_STRING, 0, t->dict[i].str[id], t->dict[i].len[id]};
                }
        }
        row->label = t->label[r];
}

/* The header's fields: the schema's column names, in order. */
static int header_names(const sf_schema_t *s, sf_csv_reader_t *csv, const sf_csv_field_t *f, int nf,
                        uint64_t lineno, char *errstr, size_t errstr_size) {
        for (int i = 0; i < s->n_cols && i < nf; i++) {
                if (f[i].len == strlen(s->cols[i].name) && memcmp(f[i].s, s->cols[i].name, f[i].len) == 0)
                        continue;
                sf_seterr(errstr, errstr_size,
                          "%s:%llu:%d (%s): header names column %d \"%.*s\", the schema \"%s\"",
                          sf_csv_path(csv), (unsigned long long)lineno, i + 1, s->cols[i].name, i + 1,
                          (int)(f[i].len > 64 ? 64 : f[i].len), f[i].s, s->cols[i].name);
                return -1;
        }
        if (nf == s->n_cols) return 0;
        char why[128];
        snprintf(why, sizeof(why), "header has %d columns, the schema %d", nf, s->n_cols);
        sf_csv_error(csv, lineno, nf < s->n_cols ? nf : s->n_cols, why, errstr, errstr_size);
        return -1;
}

int sf_table_check_header(const sf_schema_t *s, sf_csv_reader_t *csv, const char *text, size_t len,
                          uint64_t lineno, char *errstr, size_t errstr_size) {
        sf_csv_field_t *f = calloc((size_t)s->n_cols, sizeof(*f));
        char *scratch = malloc(len + 1);
        int nf, bad, ret = -1;
        const char *why;
        if (!f || !scratch) {
                sf_csv_error(csv, lineno, 0, "out of memory reading the header", errstr, errstr_size);
        } else if (sf_csv_split(text, len, f, s->n_cols, &nf, scratch, &bad, &why) != SF_CSV_OK) {
                sf_csv_error(csv, lineno, bad, why, errstr, errstr_size);
        } else {
                ret = header_names(s, csv, f, nf, lineno, errstr, errstr_size);
        }
        free(f);
        free(scratch);
        return ret;
}

static void truncate_to(sf_table_t *t, size_t n) {
        for (size_t r = n; r < t->n_rows; r++) {
                t->class_rows[t->label[r]]--;
                for (int i = 0; i < t->schema->n_cols; i++) {
                        if (t->num[i] && t->missing[i][r]) t->n_missing[i]--;
                        if (t->cat[i] && t->cat[i][r] == SF_TABLE_NONE) t->n_missing[i]--;
                }
        }
        t->n_rows = n;
}

/* Appends row, read from path at lineno (the read began at n0 rows).
 * Returns 0, or -1 with errstr when out of memory. */
static int append_row(sf_table_t *t, const sf_row_t *row, const char *path, uint64_t lineno, size_t n0,
                      char *errstr, size_t errstr_size) {
        if (sf_table_append(t, row) == 0) {
                t->line[t->n_rows - 1] = lineno;
                return 0;
        }
        sf_seterr(errstr, errstr_size, "%s:%llu: out of memory after %zu rows", path,
                  (unsigned long long)lineno, t->n_rows - n0);
        return -1;
}

/* 0 when the read from path added rows (it began at n0), else -1 with errstr. */
static int some_rows(const sf_table_t *t, size_t n0, const char *path, char *errstr, size_t errstr_size) {
        if (t->n_rows > n0) return 0;
        sf_seterr(errstr, errstr_size, "%s: no rows", path);
        return -1;
}

int sf_table_read_csv(sf_table_t *t, const char *path, char *errstr, size_t errstr_size) {
        const sf_schema_t *s = t->schema;
        int ret = -1;
        size_t n0 = t->n_rows;
        const char **names = calloc((size_t)s->n_cols, sizeof(*names));
        sf_row_t row = {0};
        sf_csv_reader_t *csv = NULL;
        if (!names || sf_row_init(&row, s)) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto out;
        }
        for (int i = 0; i < s->n_cols; i++) names[i] = s->cols[i].name;
        if (!(csv = sf_csv_open(path, s->n_cols + 1, errstr, errstr_size))) goto out;
        sf_csv_set_names(csv, names, s->n_cols);
        for (int first = 1;; first = 0) {
                const char *text;
                size_t len;
                uint64_t lineno;
                sf_csv_read_status_t st = sf_csv_next_text(csv, &text, &len, &lineno, errstr, errstr_size);
                if (st == SF_CSV_READ_EOF) break;
                if (st != SF_CSV_READ_OK) goto out;
                sf_row_error_t err;
                if (first && s->header) {
                        if (sf_table_check_header(t->schema, csv, text, len, lineno, errstr, errstr_size))
                                goto out;
                        continue;
                }
                if (sf_row_from_csv_text(s, text, len, &row, &err)) {
                        sf_csv_error(csv, lineno, err.col, err.msg, errstr, errstr_size);
                        goto out;
                }
                if (row.label < 0) {
                        sf_csv_error(csv, lineno, s->label_col, "no label (every training row needs one)",
                                     errstr, errstr_size);
                        goto out;
                }
                if (append_row(t, &row, path, lineno, n0, errstr, errstr_size)) goto out;
        }
        ret = some_rows(t, n0, path, errstr, errstr_size);
out:
        if (ret) truncate_to(t, n0);
        sf_csv_close(csv);
        sf_row_free(&row);
        free(names);
        return ret;
}

int sf_table_read_json(sf_table_t *t, const char *path, char *errstr, size_t errstr_size) {
        int ret = -1;
        size_t n0 = t->n_rows;
        sf_row_t row = {0};
        sf_lines_t *lines = NULL;
        if (sf_row_init(&row, t->schema)) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto out;
        }
        if (!(lines = sf_lines_open(path, SF_CSV_MAX_RECORD, errstr, errstr_size))) goto out;
        for (;;) {
                const char *text;
                size_t len;
                uint64_t lineno;
                sf_lines_status_t st = sf_lines_next(lines, &text, &len, &lineno, errstr, errstr_size);
                if (st == SF_LINES_EOF) break;
                if (st != SF_LINES_OK) goto out;
                sf_row_error_t err;
                if (sf_row_from_json(t->schema, text, len, &row, &err)) {
                        sf_seterr(errstr, errstr_size, "%s:%llu: %s: %s", path, (unsigned long long)lineno,
                                  sf_row_reason_str(err.reason), err.msg);
                        goto out;
                }
                if (row.label < 0) {
                        sf_seterr(errstr, errstr_size,
                                  "%s:%llu: missing_field: field \"%s\": no label (every training row needs "
                                  "one)",
                                  path, (unsigned long long)lineno,
                                  t->schema->cols[t->schema->label_col].name);
                        goto out;
                }
                if (append_row(t, &row, path, lineno, n0, errstr, errstr_size)) goto out;
        }
        ret = some_rows(t, n0, path, errstr, errstr_size);
out:
        if (ret) truncate_to(t, n0);
        sf_lines_close(lines);
        sf_row_free(&row);
        return ret;
}

int sf_table_is_json_path(const char *path) {
        static const char *const ext[] = {".json", ".jsonl", ".ndjson"};
        size_t n = strlen(path);
        if (n > 3 && strcmp(path + n - 3, ".gz") == 0) n -= 3;
        for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
                size_t e = strlen(ext[i]);
                if (n > e && strncmp(path + n - e, ext[i], e) == 0) return 1;
        }
        return 0;
}

int sf_table_read(sf_table_t *t, const char *path, char *errstr, size_t errstr_size) {
        return sf_table_is_json_path(path) ? sf_table_read_json(t, path, errstr, errstr_size)
                                           : sf_table_read_csv(t, path, errstr, errstr_size);
}

sf_table_t *sf_table_select(const sf_table_t *src, const size_t *idx, size_t n) {
        sf_table_t *t = sf_table_new(src->schema);
        sf_row_t row;
        if (!t || sf_row_init(&row, src->schema) != 0) {
                sf_table_destroy(t);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                sf_table_get_row(src, idx[i], &row);
                if (sf_table_append(t, &row) != 0) {
                        sf_table_destroy(t);
                        t = NULL;
                        break;
                }
                t->line[i] = src->line[idx[i]];
        }
        sf_row_free(&row);
        return t;
}
