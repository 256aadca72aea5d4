/* Throughput of the data layer on KDDTrain+: reading lines (gzip), parsing
 * rows, encoding rows, and the whole read + parse path. One thread.
 *
 *   bench_data [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/kdd.h"
#include "util/lines.h"
#include "util/util.h"

int main(int argc, char **argv) {
        char dirbuf[1024], path[1200], err[512];
        const char *dir = argc > 1 ? argv[1] : sf_default_data_dir(dirbuf, sizeof(dirbuf));
        int ret = 1;
        char *text = NULL;
        size_t *off = NULL;
        sf_kdd_rows_t rows = {0};
        sf_kdd_encoder_t *enc = NULL;
        float *x = NULL;
        if (sf_kdd_find_file(dir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err))) {
                fprintf(stderr, "bench_data: %s\n", err);
                return 1;
        }

        /* 1. line reader alone, keeping the lines in memory for step 2 */
        size_t cap = 64 << 20, used = 0, n = 0, ncap = 1 << 18;
        text = malloc(cap);
        off = malloc(ncap * sizeof(*off));
        if (!text || !off) goto oom;
        double t0 = sf_now_s();
        sf_lines_t *lr = sf_lines_open(path, 0, err, sizeof(err));
        if (!lr) goto fail;
        for (;;) {
                const char *line;
                size_t len;
                uint64_t no;
                sf_lines_status_t st = sf_lines_next(lr, &line, &len, &no, err, sizeof(err));
                if (st == SF_LINES_EOF) break;
                if (st != SF_LINES_OK || used + len + 1 > cap || n == ncap) {
                        sf_lines_close(lr);
                        if (st == SF_LINES_OK)
                                snprintf(err, sizeof(err), "%.400s: too large for the benchmark", path);
                        goto fail;
                }
                memcpy(text + used, line, len + 1);
                off[n++] = used;
                used += len + 1;
        }
        sf_lines_close(lr);
        double t_lines = sf_now_s() - t0;

        /* 2. parsing from memory */
        sf_kdd_row_t row;
        t0 = sf_now_s();
        for (size_t i = 0; i < n; i++) {
                const char *l = text + off[i];
                if (sf_kdd_parse_line(l, strlen(l), &row, err, sizeof(err))) goto fail;
        }
        double t_parse = sf_now_s() - t0;

        /* 3. the whole read: gunzip + lines + parse + store */
        t0 = sf_now_s();
        if (sf_kdd_read_file(path, &rows, err, sizeof(err))) goto fail;
        double t_read = sf_now_s() - t0;

        /* 4. fit and encode */
        t0 = sf_now_s();
        if (!(enc = sf_kdd_encoder_fit(&rows, err, sizeof(err)))) goto fail;
        double t_fit = sf_now_s() - t0;
        if (!(x = malloc(rows.n * (size_t)enc->n_inputs * sizeof(float)))) goto oom;
        t0 = sf_now_s();
        sf_kdd_encode_rows(enc, &rows, NULL, rows.n, x);
        double t_encode = sf_now_s() - t0;

        printf("data: %zu rows of %s (%.1f MB of text)\n", n, path, (double)used / 1e6);
        printf("data: line reader (gzip)      %8.0f lines/s  %6.1f MB/s\n", (double)n / t_lines,
               (double)used / 1e6 / t_lines);
        printf("data: parse from memory       %8.0f rows/s   %6.2f us/row\n", (double)n / t_parse,
               t_parse * 1e6 / (double)n);
        printf("data: read file (gzip+parse)  %8.0f rows/s   %6.3f s total\n", (double)rows.n / t_read,
               t_read);
        printf("data: encoder fit             %8.3f s\n", t_fit);
        printf("data: encode 122 inputs       %8.0f rows/s   %6.2f us/row\n", (double)rows.n / t_encode,
               t_encode * 1e6 / (double)rows.n);
        ret = 0;
        goto out;
oom:
        snprintf(err, sizeof(err), "out of memory");
fail:
        fprintf(stderr, "bench_data: %s\n", err);
out:
        free(x);
        sf_kdd_encoder_destroy(enc);
        sf_kdd_rows_free(&rows);
        free(off);
        free(text);
        return ret;
}
