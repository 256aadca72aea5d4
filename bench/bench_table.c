/* Throughput of the schema-driven table reader on KDDTrain+, beside the
 * NSL-KDD parser it is to replace, in the same run: tokenize + decode
 * (numbers, categories, label) from memory, the whole read (gzip + parse +
 * store), and encoding. One thread.
 *
 *   bench_table [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/kdd.h"
#include "table/csv.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/lines.h"
#include "util/util.h"

#define ROUNDS 7

/* The lines of path in memory: text, with off[i] the start of line i. */
static int load_lines(const char *path, char **text, size_t **off, size_t *n, char *err, size_t err_size) {
        size_t cap = 64 << 20, used = 0, ncap = 1 << 18;
        *n = 0;
        if (!(*text = malloc(cap)) || !(*off = malloc(ncap * sizeof(**off)))) return -1;
        sf_lines_t *lr = sf_lines_open(path, 0, err, err_size);
        if (!lr) return -1;
        for (;;) {
                const char *line;
                size_t len;
                uint64_t no;
                sf_lines_status_t st = sf_lines_next(lr, &line, &len, &no, err, err_size);
                if (st == SF_LINES_EOF) break;
                if (st != SF_LINES_OK || used + len + 1 > cap || *n == ncap) {
                        sf_lines_close(lr);
                        if (st == SF_LINES_OK)
                                snprintf(err, err_size, "%.400s: too large for the benchmark", path);
                        return -1;
                }
                memcpy(*text + used, line, len + 1);
                (*off)[(*n)++] = used;
                used += len + 1;
        }
        sf_lines_close(lr);
        return 0;
}

int main(int argc, char **argv) {
        char dirbuf[1024], path[1200], spath[1200], err[512] = "out of memory";
        const char *dir = argc > 1 ? argv[1] : sf_default_data_dir(dirbuf, sizeof(dirbuf));
        int ret = 1;
        char *text = NULL;
        size_t *off = NULL, n = 0;
        sf_schema_t *schema = NULL;
        sf_table_t *table = NULL;
        sf_kdd_rows_t krows = {0};
        sf_encoder_t *enc = NULL;
        sf_row_t row = {0};
        float *x = NULL;
        snprintf(spath, sizeof(spath), "%s/schema.json", dir);
        if (sf_kdd_find_file(dir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) ||
            !(schema = sf_schema_load(spath, err, sizeof(err))) ||
            load_lines(path, &text, &off, &n, err, sizeof(err)) || sf_row_init(&row, schema))
                goto fail;

        /* 1 and 2, alternated, best of ROUNDS (the machine may be shared):
         * the NSL-KDD parser from memory (bench_data's figure), and the
         * table's decode of the same lines to typed rows */
        double t_kdd = 1e30, t_table = 1e30, t0;
        for (int round = 0; round < ROUNDS; round++) {
                sf_kdd_row_t krow;
                t0 = sf_now_s();
                for (size_t i = 0; i < n; i++) {
                        const char *l = text + off[i];
                        if (sf_kdd_parse_line(l, strlen(l), &krow, err, sizeof(err))) goto fail;
                }
                double t = sf_now_s() - t0;
                if (t < t_kdd) t_kdd = t;
                t0 = sf_now_s();
                for (size_t i = 0; i < n; i++) {
                        const char *l = text + off[i];
                        sf_row_error_t rerr;
                        if (sf_row_from_csv_text(schema, l, strlen(l), &row, &rerr)) {
                                snprintf(err, sizeof(err), "line %zu: %s", i + 1, rerr.msg);
                                goto fail;
                        }
                }
                t = sf_now_s() - t0;
                if (t < t_table) t_table = t;
        }

        /* 3. whole reads: gzip + lines + parse + store */
        t0 = sf_now_s();
        if (sf_kdd_read_file(path, &krows, err, sizeof(err))) goto fail;
        double t_kread = sf_now_s() - t0;
        if (!(table = sf_table_new(schema))) goto fail;
        t0 = sf_now_s();
        if (sf_table_read_csv(table, path, err, sizeof(err))) goto fail;
        double t_tread = sf_now_s() - t0;

        /* 4. fit and encode */
        t0 = sf_now_s();
        if (!(enc = sf_encoder_fit(table, err, sizeof(err)))) goto fail;
        double t_fit = sf_now_s() - t0;
        if (!(x = malloc((size_t)enc->n_inputs * sizeof(float)))) goto fail;
        t0 = sf_now_s();
        for (size_t i = 0; i < table->n_rows; i++) {
                sf_table_get_row(table, i, &row);
                sf_encoder_encode(enc, &row, x, NULL);
        }
        double t_encode = sf_now_s() - t0;

        printf("table: %zu rows of %s\n", n, path);
        printf("table: NSL-KDD parser from memory     %8.0f rows/s   %6.2f us/row\n", (double)n / t_kdd,
               t_kdd * 1e6 / (double)n);
        printf("table: CSV text to row from memory    %8.0f rows/s   %6.2f us/row\n", (double)n / t_table,
               t_table * 1e6 / (double)n);
        printf("table: NSL-KDD read file (gzip)       %8.0f rows/s   %6.3f s total\n",
               (double)krows.n / t_kread, t_kread);
        printf("table: table read file (gzip)         %8.0f rows/s   %6.3f s total\n",
               (double)table->n_rows / t_tread, t_tread);
        printf("table: encoder fit                    %8.3f s\n", t_fit);
        printf("table: encode %d inputs              %8.0f rows/s   %6.2f us/row\n", enc->n_inputs,
               (double)table->n_rows / t_encode, t_encode * 1e6 / (double)table->n_rows);
        ret = 0;
        goto out;
fail:
        fprintf(stderr, "bench_table: %s\n", err);
out:
        free(x);
        sf_encoder_destroy(enc);
        sf_row_free(&row);
        sf_table_destroy(table);
        sf_kdd_rows_free(&krows);
        sf_schema_destroy(schema);
        free(off);
        free(text);
        return ret;
}
