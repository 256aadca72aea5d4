/* Records kept in memory for the benchmarks that decode from memory
 * (bench_data, bench_table): KDDTrain+'s lines, and the same rows as JSON
 * records. */
#ifndef SF_BENCH_ROWS_MEM_H
#define SF_BENCH_ROWS_MEM_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "table/row.h"
#include "table/table.h"

/* Lines kept in memory: text, with off[i] the start of line i (each
 * NUL-terminated). */
typedef struct rows_mem {
        char *text;
        size_t *off, n, used, cap, ncap;
} rows_mem_t;

static int rows_mem_add(rows_mem_t *m, const char *line, size_t len) {
        if (m->used + len + 1 > m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 64 << 20;
                while (cap < m->used + len + 1) cap *= 2;
                char *t = realloc(m->text, cap);
                if (!t) return -1;
                m->text = t, m->cap = cap;
        }
        if (m->n == m->ncap) {
                size_t ncap = m->ncap ? m->ncap * 2 : 1 << 18;
                size_t *o = realloc(m->off, ncap * sizeof(*o));
                if (!o) return -1;
                m->off = o, m->ncap = ncap;
        }
        memcpy(m->text + m->used, line, len);
        m->text[m->used + len] = '\0';
        m->off[m->n++] = m->used;
        m->used += len + 1;
        return 0;
}

/* The rows of table as JSON records, one a line, into out. */
static int rows_mem_json(const sf_table_t *table, sf_row_t *row, rows_mem_t *out) {
        const sf_schema_t *s = table->schema;
        for (size_t i = 0; i < table->n_rows; i++) {
                sf_table_get_row(table, i, row);
                json_t *o = json_object();
                if (!o) return -1;
                for (int c = 0; c < s->n_cols; c++) {
                        const sf_value_t *v = &row->v[c];
                        json_t *val = c == s->label_col          ? json_string(s->classes[row->label])
                                      : v->kind == SF_VAL_NUMBER ? json_real(v->num)
                                      : v->kind == SF_VAL_STRING ? json_stringn(v->str, v->len)
                                                                 : json_null();
                        if (s->cols[c].type != SF_COL_IGNORE)
                                json_object_set_new(o, s->cols[c].name, val);
                        else
                                json_decref(val);
                }
                /* 7 digits: "0.17", not float 0.17 as "0.17000000178813934" */
                char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7));
                json_decref(o);
                int rc = text ? rows_mem_add(out, text, strlen(text)) : -1;
                free(text);
                if (rc) return -1;
        }
        return 0;
}

static void rows_mem_free(rows_mem_t *m) {
        free(m->text);
        free(m->off);
        memset(m, 0, sizeof(*m));
}

#endif
