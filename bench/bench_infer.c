/* Inference throughput on one thread, through the model file's API
 * (sf_model_load + sf_model_predict), over the 22,544 rows of KDDTest+:
 *   - from encoded rows (122 floats each) at batch 1 and batch 4096;
 *   - from raw CSV text: parse + encode + forward, at batch 1 and 4096.
 * Records per second, median of several passes. Then the same encoded rows
 * through ONNX Runtime on one thread (bench/ort_infer.js, onnxruntime-node
 * from build/npm, on the network exported with `export --network-only`),
 * and StreamFlow's speed as a ratio of it.
 *
 *   bench_infer [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "nn/nn.h"
#include "ratio.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/lines.h"
#include "util/util.h"

#define REPS 5
#define BIG  4096

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
        qsort(v, (size_t)n, sizeof(double), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct {
        char *text;  /* all lines, each NUL-terminated */
        size_t *off; /* (n) */
        size_t *len; /* (n) */
        size_t n;
} lines_t;

static int read_lines(const char *path, lines_t *ls, char *err, size_t errsz) {
        size_t cap = 8 << 20, used = 0, ncap = 1 << 16;
        ls->text = malloc(cap);
        ls->off = malloc(ncap * sizeof(size_t));
        ls->len = malloc(ncap * sizeof(size_t));
        if (!ls->text || !ls->off || !ls->len) return -1;
        sf_lines_t *lr = sf_lines_open(path, 0, err, errsz);
        if (!lr) return -1;
        for (;;) {
                const char *line;
                size_t len;
                uint64_t no;
                sf_lines_status_t st = sf_lines_next(lr, &line, &len, &no, err, errsz);
                if (st == SF_LINES_EOF) break;
                if (st != SF_LINES_OK) {
                        sf_lines_close(lr);
                        return -1;
                }
                if (used + len + 1 > cap || ls->n == ncap) {
                        snprintf(err, errsz, "%s: larger than this benchmark's buffers", path);
                        sf_lines_close(lr);
                        return -1;
                }
                memcpy(ls->text + used, line, len + 1);
                ls->off[ls->n] = used;
                ls->len[ls->n++] = len;
                used += len + 1;
        }
        sf_lines_close(lr);
        return 0;
}

/* The summary's lines (bench/ratio.h): StreamFlow against ONNX Runtime at
 * batch 1 (target 2x) and 4096 (1x); ort NULL: not installed. */
static void ratios(const double sf_rate[2], const double *ort) {
        static const char *const name[2] = {"infer_batch1", "infer_batch4096"};
        static const double target[2] = {2.0, 1.0};
        for (int k = 0; k < 2; k++) {
                char sf[64], anchor[96];
                snprintf(sf, sizeof(sf), "%.3f M records/s", sf_rate[k] / 1e6);
                if (ort)
                        snprintf(anchor, sizeof(anchor), "ONNX Runtime %.3f M records/s", ort[k] / 1e6);
                else
                        snprintf(anchor, sizeof(anchor), "ONNX Runtime not installed (build/npm)");
                bench_ratio(name[k], sf, anchor, ort ? sf_rate[k] / ort[k] : -1, target[k]);
        }
}

/* ONNX Runtime on the same encoded rows x (n, n_in); prints its records/s
 * and StreamFlow's ratio to it at batch 1 and 4096 (ours in sf_rate).
 * Returns 0, also when ONNX Runtime is not installed (said so). */
static int ort_anchor(const sf_model_t *model, const float *x, size_t n, int n_in, const double sf_rate[2]) {
        char net[] = "/tmp/sf-bench-net.XXXXXX", rows[] = "/tmp/sf-bench-rows.XXXXXX", err[1024], cmd[4096];
        const char *modules = "build/npm/node_modules";
        if (access("build/npm/node_modules/onnxruntime-node", R_OK) != 0) {
                printf("  ONNX Runtime: not installed in %s (scripts/install-deps installs it)\n", modules);
                ratios(sf_rate, NULL);
                return 0;
        }
        int fd_net = mkstemp(net), fd_rows = mkstemp(rows), rc = 1;
        FILE *fp = fd_rows >= 0 ? fdopen(fd_rows, "wb") : NULL;
        if (fd_net < 0 || !fp) goto out;
        close(fd_net), fd_net = -1;
        int written = fwrite(x, sizeof(float) * (size_t)n_in, n, fp) == n;
        int closed = fclose(fp) == 0;
        fp = NULL;
        if (!written || !closed) goto out;
        if (sf_model_export_onnx_network(model, net, err, sizeof(err)) != 0) {
                fprintf(stderr, "bench_infer: %s\n", err);
                goto out;
        }
        snprintf(cmd, sizeof(cmd), "node bench/ort_infer.js %s %s %s %zu %d %d", modules, net, rows, n, n_in,
                 REPS);
        FILE *p = popen(cmd, "r");
        if (!p) goto out;
        char line[256];
        double ort[2] = {0, 0};
        while (fgets(line, sizeof(line), p)) {
                int batch;
                double rate;
                if (sscanf(line, "ort batch %d %lf", &batch, &rate) == 2) ort[batch == 1 ? 0 : 1] = rate;
        }
        if (pclose(p) != 0 || ort[0] <= 0 || ort[1] <= 0) {
                fprintf(stderr, "bench_infer: ONNX Runtime (bench/ort_infer.js) failed\n");
                goto out;
        }
        printf("ONNX Runtime %s, one thread, the same encoded rows (network exported to ONNX)\n",
               "(onnxruntime-node)");
        for (int k = 0; k < 2; k++)
                printf("  %-44s %12.0f records/s  StreamFlow %.2fx\n", k ? "batch 4096" : "batch 1", ort[k],
                       sf_rate[k] / ort[k]);
        ratios(sf_rate, ort);
        rc = 0;
out:
        if (fp) fclose(fp);
        if (fd_net >= 0) close(fd_net);
        unlink(net), unlink(rows);
        return rc;
}

/* Encodes every row of table densely into x (n, n_inputs). */
static int encode_table(const sf_encoder_t *enc, const sf_table_t *t, float *x) {
        sf_row_t row;
        if (sf_row_init(&row, t->schema) != 0) return -1;
        for (size_t i = 0; i < t->n_rows; i++) {
                sf_table_get_row(t, i, &row);
                sf_encoder_encode(enc, &row, x + i * (size_t)enc->n_inputs, NULL);
        }
        sf_row_free(&row);
        return 0;
}

/* Decodes line i of ls as a CSV record and encodes it into x. */
static int encode_line(const sf_model_t *model, const lines_t *ls, size_t i, sf_row_t *row, float *x,
                       char *err, size_t err_size) {
        sf_row_error_t e;
        if (sf_row_from_csv_text(sf_model_schema(model), ls->text + ls->off[i], ls->len[i], row, &e) != 0) {
                snprintf(err, err_size, "line %zu: %s", i + 1, e.msg);
                return -1;
        }
        sf_encoder_encode(sf_model_encoder(model), row, x, NULL);
        return 0;
}

int main(int argc, char **argv) {
        char dirbuf[1024], path[1200], err[2048], model_path[] = "/tmp/sf-bench-infer.XXXXXX";
        const char *dir = argc > 1 ? argv[1] : sf_default_data_dir(dirbuf, sizeof(dirbuf));
        sf_schema_t *schema = NULL;
        sf_table_t *train = NULL, *test = NULL;
        sf_encoder_t *enc = NULL;
        sf_nn_t *nn = NULL;
        sf_model_t *model = NULL;
        sf_row_t row = {0};
        lines_t ls = {0};
        float *x = NULL, *probs = NULL;
        int ret = 1, fd = -1;

        sf_nn_set_threads(1);
        /* A model as train writes it: encoder fitted on KDDTrain+, Glorot
         * weights (the values do not change the cost of a forward pass). */
        snprintf(path, sizeof(path), "%s/schema.json", dir);
        if (!(schema = sf_schema_load(path, err, sizeof(err)))) goto fail;
        if (!(train = sf_table_new(schema)) || !(test = sf_table_new(schema)) ||
            sf_row_init(&row, schema) != 0)
                goto oom;
        if (sf_find_data_file(dir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) != 0 ||
            sf_table_read(train, path, err, sizeof(err)) != 0 ||
            !(enc = sf_encoder_fit(train, err, sizeof(err))))
                goto fail;
        int sizes[] = {enc->n_inputs, 64, 64, 32, schema->n_classes};
        if (!(nn = sf_nn_create(sizes, 4, err, sizeof(err)))) goto fail;
        sf_nn_init_glorot(nn, 42);
        sf_model_info_t info = {
                .seed = 42, .batch = 64, .threads = 1, .lr = 0.001, .train_rows = (int64_t)train->n_rows};
        if ((fd = mkstemp(model_path)) < 0) {
                snprintf(err, sizeof(err), "cannot create a temporary model file");
                goto fail;
        }
        close(fd);
        if (sf_model_save(model_path, nn, schema, enc, &info, err, sizeof(err)) != 0 ||
            !(model = sf_model_load(model_path, err, sizeof(err))))
                goto fail;
        const sf_encoder_t *menc = sf_model_encoder(model);
        int n_in = menc->n_inputs, k = schema->n_classes;

        if (sf_find_data_file(dir, "KDDTest+.txt", path, sizeof(path), err, sizeof(err)) != 0 ||
            sf_table_read(test, path, err, sizeof(err)) != 0 || read_lines(path, &ls, err, sizeof(err)) != 0)
                goto fail;
        size_t n = test->n_rows;
        x = malloc(n * (size_t)n_in * sizeof(float));
        probs = malloc(n * (size_t)k * sizeof(float));
        if (!x || !probs || encode_table(menc, test, x) != 0) goto oom;

        double t[4][REPS];
        for (int r = 0; r < REPS; r++) {
                /* encoded, batch 1 */
                double t0 = sf_now_s();
                for (size_t i = 0; i < n; i++)
                        if (sf_model_predict(model, x + i * n_in, 1, probs + i * k) != 0) goto oom;
                t[0][r] = sf_now_s() - t0;
                /* encoded, batch 4096 */
                t0 = sf_now_s();
                for (size_t i = 0; i < n; i += BIG) {
                        size_t b = n - i < BIG ? n - i : BIG;
                        if (sf_model_predict(model, x + i * n_in, b, probs + i * k) != 0) goto oom;
                }
                t[1][r] = sf_now_s() - t0;
                /* raw CSV, batch 1: decode, encode, forward */
                t0 = sf_now_s();
                for (size_t i = 0; i < n; i++) {
                        if (encode_line(model, &ls, i, &row, x, err, sizeof(err)) != 0) goto fail;
                        if (sf_model_predict(model, x, 1, probs) != 0) goto oom;
                }
                t[2][r] = sf_now_s() - t0;
                /* raw CSV, batch 4096 */
                t0 = sf_now_s();
                for (size_t i = 0; i < n; i += BIG) {
                        size_t b = n - i < BIG ? n - i : BIG;
                        for (size_t j = 0; j < b; j++)
                                if (encode_line(model, &ls, i + j, &row, x + j * n_in, err, sizeof(err)) != 0)
                                        goto fail;
                        if (sf_model_predict(model, x, b, probs) != 0) goto oom;
                }
                t[3][r] = sf_now_s() - t0;
                /* Re-encode x for the next pass (the raw passes overwrote its head). */
                if (encode_table(menc, test, x) != 0) goto oom;
        }
        double enc_rate[2] = {(double)n / median(t[0], REPS), (double)n / median(t[1], REPS)};
        static const char *const what[4] = {"encoded rows, batch 1", "encoded rows, batch 4096",
                                            "raw CSV (decode+encode+forward), batch 1",
                                            "raw CSV (decode+encode+forward), batch 4096"};
        printf("inference on one thread, %zu KDDTest+ rows, median of %d passes\n", n, REPS);
        for (int j = 0; j < 4; j++) {
                double sec = median(t[j], REPS);
                printf("  %-44s %12.0f records/s  %8.2f us/record\n", what[j], (double)n / sec,
                       sec / (double)n * 1e6);
        }
        ret = ort_anchor(model, x, n, n_in, enc_rate);
        goto out;
oom:
        snprintf(err, sizeof(err), "out of memory");
fail:
        fprintf(stderr, "bench_infer: %s\n", err);
out:
        unlink(model_path);
        free(x);
        free(probs);
        free(ls.text);
        free(ls.off);
        free(ls.len);
        sf_row_free(&row);
        sf_model_destroy(model);
        sf_nn_destroy(nn);
        sf_encoder_destroy(enc);
        sf_table_destroy(train);
        sf_table_destroy(test);
        sf_schema_destroy(schema);
        return ret;
}
