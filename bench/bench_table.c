/* Throughput of the schema-driven table reader on KDDTrain+, best of
 * ROUNDS (the machine may be shared): CSV records and the same rows as
 * JSON records decoded from memory, alternated; whole reads of the CSV
 * file (gzip) and of a JSON-lines copy; encoding. One thread.
 *
 *   bench_table [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rows_mem.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/lines.h"
#include "util/util.h"

#define ROUNDS 7

/* Seconds to decode every record of m, CSV or JSON; -1 on a bad record. */
static double decode_all(const sf_schema_t *schema, const rows_mem_t *m, int json, sf_row_t *row, char *err,
                         size_t err_size) {
        sf_row_error_t rerr;
        double t0 = sf_now_s();
        for (size_t i = 0; i < m->n; i++) {
                const char *l = m->text + m->off[i];
                int rc = json ? sf_row_from_json(schema, l, strlen(l), row, &rerr)
                              : sf_row_from_csv_text(schema, l, strlen(l), row, &rerr);
                if (rc) {
                        snprintf(err, err_size, "%s record %zu: %s", json ? "JSON" : "CSV", i + 1, rerr.msg);
                        return -1;
                }
        }
        return sf_now_s() - t0;
}

/* Seconds to read path into a new table of schema; -1 on failure. */
static double read_all(const sf_schema_t *schema, const char *path, size_t *n, char *err, size_t err_size) {
        sf_table_t *t = sf_table_new(schema);
        if (!t) return -1;
        double t0 = sf_now_s();
        int rc = sf_table_read(t, path, err, err_size);
        double secs = sf_now_s() - t0;
        *n = t->n_rows;
        sf_table_destroy(t);
        return rc ? -1 : secs;
}

static int write_lines(const char *path, const rows_mem_t *m) {
        FILE *fp = fopen(path, "w");
        if (!fp) return -1;
        for (size_t i = 0; i < m->n; i++) fprintf(fp, "%s\n", m->text + m->off[i]);
        return fclose(fp) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
        char dirbuf[1024], path[1200], spath[1200], jpath[] = "/tmp/sf-bench-table.XXXXXX.jsonl";
        char err[512] = "out of memory";
        const char *dir = argc > 1 ? argv[1] : sf_default_data_dir(dirbuf, sizeof(dirbuf));
        int ret = 1, jfd = -1;
        rows_mem_t csv = {0}, js = {0};
        sf_schema_t *schema = NULL;
        sf_table_t *table = NULL;
        sf_encoder_t *enc = NULL;
        sf_row_t row = {0};
        float *x = NULL;
        snprintf(spath, sizeof(spath), "%s/schema.json", dir);
        if (sf_find_data_file(dir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) ||
            !(schema = sf_schema_load(spath, err, sizeof(err))) || sf_row_init(&row, schema) ||
            !(table = sf_table_new(schema)))
                goto fail;
        /* the whole read once, for the records in memory */
        if (sf_table_read_csv(table, path, err, sizeof(err)) || rows_mem_json(table, &row, &js)) goto fail;
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
        if ((jfd = mkstemps(jpath, 6)) < 0 || write_lines(jpath, &js)) {
                snprintf(err, sizeof(err), "%s: cannot write the JSON records", jpath);
                goto fail;
        }

        /* 1 and 2, alternated: the same rows from memory as CSV and JSON */
        double t_csv = 1e30, t_json = 1e30, t_rcsv = 1e30, t_rjson = 1e30;
        size_t n_rcsv = 0, n_rjson = 0;
        for (int round = 0; round < ROUNDS; round++) {
                double t = decode_all(schema, &csv, 0, &row, err, sizeof(err));
                if (t < 0) goto fail;
                if (t < t_csv) t_csv = t;
                if ((t = decode_all(schema, &js, 1, &row, err, sizeof(err))) < 0) goto fail;
                if (t < t_json) t_json = t;
                /* 3. whole reads: CSV (gzip + lines + decode + store), JSON lines; fewer rounds */
                if (round >= 3) continue;
                if ((t = read_all(schema, path, &n_rcsv, err, sizeof(err))) < 0) goto fail;
                if (t < t_rcsv) t_rcsv = t;
                if ((t = read_all(schema, jpath, &n_rjson, err, sizeof(err))) < 0) goto fail;
                if (t < t_rjson) t_rjson = t;
        }

        /* 4. fit and encode */
        double t0 = sf_now_s();
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
        printf("table: %zu rows of %s, best of %d\n", n, path, ROUNDS);
        printf("table: CSV text to row from memory    %8.0f rows/s   %6.2f us/row\n", (double)csv.n / t_csv,
               t_csv * 1e6 / (double)csv.n);
        printf("table: JSON record to row from memory %8.0f rows/s   %6.2f us/row\n", (double)js.n / t_json,
               t_json * 1e6 / (double)js.n);
        printf("table: read CSV file (gzip)           %8.0f rows/s   %6.3f s total\n",
               (double)n_rcsv / t_rcsv, t_rcsv);
        printf("table: read JSON-lines file (%.0f MB)  %8.0f rows/s   %6.3f s total\n", (double)js.used / 1e6,
               (double)n_rjson / t_rjson, t_rjson);
        printf("table: encoder fit                    %8.3f s\n", t_fit);
        printf("table: encode %d inputs              %8.0f rows/s   %6.2f us/row\n", enc->n_inputs,
               (double)n / t_encode, t_encode * 1e6 / (double)n);
        ret = 0;
        goto out;
fail:
        fprintf(stderr, "bench_table: %s\n", err);
out:
        if (jfd >= 0) {
                close(jfd);
                unlink(jpath);
        }
        free(x);
        sf_encoder_destroy(enc);
        sf_row_free(&row);
        sf_table_destroy(table);
        sf_schema_destroy(schema);
        rows_mem_free(&csv);
        rows_mem_free(&js);
        return ret;
}
