/* Throughput of the data layer on KDDTrain+, as train reads it: reading
 * lines (gzip), decoding CSV records against data/nsl-kdd/schema.json, the
 * same rows as JSON records, the whole read into a table, fitting the
 * encoder and encoding. One thread, one pass each (bench_table takes the
 * best of several).
 *
 *   bench_data [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rows_mem.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/lines.h"
#include "util/util.h"

int main(int argc, char **argv) {
        char dirbuf[1024], path[1200], spath[1200], err[512] = "out of memory";
        const char *dir = argc > 1 ? argv[1] : sf_default_data_dir(dirbuf, sizeof(dirbuf));
        int ret = 1;
        rows_mem_t csv = {0}, js = {0};
        sf_schema_t *schema = NULL;
        sf_table_t *table = NULL;
        sf_encoder_t *enc = NULL;
        sf_row_t row = {0};
        float *x = NULL;
        snprintf(spath, sizeof(spath), "%s/schema.json", dir);
        if (sf_find_data_file(dir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) ||
            !(schema = sf_schema_load(spath, err, sizeof(err))) || sf_row_init(&row, schema))
                goto fail;

        /* 1. line reader alone, keeping the lines in memory for step 2 */
        double t0 = sf_now_s();
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        if (!lr) goto fail;
        for (;;) {
                const char *line;
                size_t len;
                uint64_t no;
                sf_lines_status_t st = sf_lines_next(lr, &line, &len, &no, err, sizeof(err));
                if (st == SF_LINES_EOF) break;
                if (st != SF_LINES_OK || rows_mem_add(&csv, line, len)) {
                        sf_lines_close(lr);
                        goto fail;
                }
        }
        sf_lines_close(lr);
        double t_lines = sf_now_s() - t0;

        /* 2. CSV records to rows, from memory */
        sf_row_error_t rerr;
        t0 = sf_now_s();
        for (size_t i = 0; i < csv.n; i++) {
                const char *l = csv.text + csv.off[i];
                if (sf_row_from_csv_text(schema, l, strlen(l), &row, &rerr)) {
                        snprintf(err, sizeof(err), "line %zu: %s", i + 1, rerr.msg);
                        goto fail;
                }
        }
        double t_csv = sf_now_s() - t0;

        /* 3. the whole read into a table: gunzip + lines + decode + store */
        if (!(table = sf_table_new(schema))) goto fail;
        t0 = sf_now_s();
        if (sf_table_read_csv(table, path, err, sizeof(err))) goto fail;
        double t_read = sf_now_s() - t0;

        /* 4. the same rows as JSON records, from memory */
        if (rows_mem_json(table, &row, &js)) goto fail;
        t0 = sf_now_s();
        for (size_t i = 0; i < js.n; i++) {
                const char *l = js.text + js.off[i];
                if (sf_row_from_json(schema, l, strlen(l), &row, &rerr)) {
                        snprintf(err, sizeof(err), "JSON record %zu: %s", i + 1, rerr.msg);
                        goto fail;
                }
        }
        double t_json = sf_now_s() - t0;

        /* 5. fit and encode */
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

        size_t n = table->n_rows;
        printf("data: %zu rows of %s (%.1f MB of text)\n", csv.n, path, (double)csv.used / 1e6);
        printf("data: line reader (gzip)        %8.0f lines/s  %6.1f MB/s\n", (double)csv.n / t_lines,
               (double)csv.used / 1e6 / t_lines);
        printf("data: parse from memory (CSV)   %8.0f rows/s   %6.2f us/row\n", (double)csv.n / t_csv,
               t_csv * 1e6 / (double)csv.n);
        printf("data: JSON records from memory  %8.0f rows/s   %6.2f us/row  (%.1f MB)\n",
               (double)js.n / t_json, t_json * 1e6 / (double)js.n, (double)js.used / 1e6);
        printf("data: read file (gzip+parse)    %8.0f rows/s   %6.3f s total\n", (double)n / t_read, t_read);
        printf("data: encoder fit               %8.3f s\n", t_fit);
        printf("data: encode %d inputs         %8.0f rows/s   %6.2f us/row\n", enc->n_inputs,
               (double)n / t_encode, t_encode * 1e6 / (double)n);
        ret = 0;
        goto out;
fail:
        fprintf(stderr, "bench_data: %s\n", err);
out:
        free(x);
        sf_encoder_destroy(enc);
        sf_row_free(&row);
        sf_table_destroy(table);
        sf_schema_destroy(schema);
        rows_mem_free(&csv);
        rows_mem_free(&js);
        return ret;
}
