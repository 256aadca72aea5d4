/* Inference throughput on one thread, through the model file's API
 * (sf_model_load + sf_model_predict), over the 22,544 rows of KDDTest+:
 *   - from encoded rows (122 floats each) at batch 1, 16, 64, 256, 1024 and
 *     4096, each pass alternated with a pass of ONNX Runtime on one thread
 *     over the same rows at the same batch (bench/ort_infer.js,
 *     onnxruntime-node from build/npm, on the network exported with
 *     `export --network-only`), and StreamFlow's speed as a ratio of it;
 *   - from raw CSV text: parse + encode + forward, at batch 1 and 4096.
 * Records per second, median of several passes.
 *
 *   bench_infer [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static const int batches[] = {1, 16, 64, 256, 1024, 4096};
#define N_BATCHES ((int)(sizeof(batches) / sizeof(batches[0])))

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

/* ONNX Runtime as a child (bench/ort_infer.js): a batch size on one pipe,
 * the seconds of one pass over all rows on the other. */
typedef struct {
        pid_t pid;
        FILE *cmd, *out;
        char net[32], rows[32];
} ort_t;

/* Exports model's network and writes the encoded rows x (n, n_in) for
 * ONNX Runtime, and starts it. Returns 0; 1 when onnxruntime-node is not
 * installed (said so); -1 on failure (said so). */
static int ort_start(ort_t *o, const sf_model_t *model, const float *x, size_t n, int n_in) {
        const char *modules = "build/npm/node_modules";
        char err[1024], count[32], width[16], line[64];
        int to[2] = {-1, -1}, from[2] = {-1, -1};
        memset(o, 0, sizeof(*o));
        snprintf(o->net, sizeof(o->net), "/tmp/sf-bench-net.XXXXXX");
        snprintf(o->rows, sizeof(o->rows), "/tmp/sf-bench-rows.XXXXXX");
        if (access("build/npm/node_modules/onnxruntime-node", R_OK) != 0) {
                printf("  ONNX Runtime: not installed in %s (scripts/install-deps installs it)\n", modules);
                return 1;
        }
        int fd_net = mkstemp(o->net), fd_rows = mkstemp(o->rows);
        FILE *fp = fd_rows >= 0 ? fdopen(fd_rows, "wb") : NULL;
        if (fd_net >= 0) close(fd_net);
        if (fd_net < 0 || !fp) {
                if (fd_rows >= 0 && !fp) close(fd_rows);
                fprintf(stderr, "bench_infer: cannot create temporary files for ONNX Runtime\n");
                return -1;
        }
        int written = fwrite(x, sizeof(float) * (size_t)n_in, n, fp) == n;
        if (fclose(fp) != 0 || !written) {
                fprintf(stderr, "bench_infer: cannot write %s\n", o->rows);
                return -1;
        }
        if (sf_model_export_onnx_network(model, o->net, err, sizeof(err)) != 0) {
                fprintf(stderr, "bench_infer: %s\n", err);
                return -1;
        }
        snprintf(count, sizeof(count), "%zu", n);
        snprintf(width, sizeof(width), "%d", n_in);
        if (pipe(to) != 0 || pipe(from) != 0 || (o->pid = fork()) < 0) {
                fprintf(stderr, "bench_infer: cannot start node\n");
                return -1;
        }
        if (o->pid == 0) {
                dup2(to[0], 0), dup2(from[1], 1);
                close(to[0]), close(to[1]), close(from[0]), close(from[1]);
                execlp("node", "node", "bench/ort_infer.js", modules, o->net, o->rows, count, width,
                       (char *)NULL);
                _exit(127);
        }
        close(to[0]), close(from[1]);
        o->cmd = fdopen(to[1], "w"), o->out = fdopen(from[0], "r");
        if (!o->cmd || !o->out || !fgets(line, sizeof(line), o->out) || strncmp(line, "ready", 5) != 0) {
                fprintf(stderr, "bench_infer: ONNX Runtime (bench/ort_infer.js) did not start\n");
                return -1;
        }
        return 0;
}

/* Seconds of one ONNX Runtime pass at batch, or -1. */
static double ort_pass(ort_t *o, int batch) {
        char line[64];
        if (fprintf(o->cmd, "%d\n", batch) < 0 || fflush(o->cmd) != 0 || !fgets(line, sizeof(line), o->out))
                return -1;
        return strtod(line, NULL);
}

static void ort_stop(ort_t *o) {
        if (o->cmd) fclose(o->cmd);
        if (o->out) fclose(o->out);
        if (o->pid > 0) {
                int status;
                waitpid(o->pid, &status, 0);
        }
        if (o->net[0]) unlink(o->net);
        if (o->rows[0]) unlink(o->rows);
        memset(o, 0, sizeof(*o));
}

/* Seconds of one StreamFlow pass over the encoded rows x (n, n_in) at
 * batch, or -1. */
static double sf_pass(sf_model_t *model, const float *x, size_t n, int n_in, int batch, float *probs, int k) {
        double t0 = sf_now_s();
        for (size_t i = 0; i < n; i += (size_t)batch) {
                size_t b = n - i < (size_t)batch ? n - i : (size_t)batch;
                if (sf_model_predict(model, x + i * n_in, b, probs + i * k) != 0) return -1;
        }
        return sf_now_s() - t0;
}

/* REPS rounds; in each, every batch size once for StreamFlow and, when
 * ort is running, once for ONNX Runtime right after it. Prints the medians
 * and ratios. Returns 0 or -1. */
static int encoded_rounds(sf_model_t *model, ort_t *ort, const float *x, size_t n, int n_in, float *probs,
                          int k) {
        double t[2][N_BATCHES][REPS];
        int with_ort = ort->pid > 0;
        for (int r = -1; r < REPS; r++) /* round -1 warms both up */
                for (int s = 0; s < N_BATCHES; s++) {
                        double a = sf_pass(model, x, n, n_in, batches[s], probs, k);
                        double b = with_ort ? ort_pass(ort, batches[s]) : 0;
                        if (a < 0 || b < 0) {
                                fprintf(stderr, "bench_infer: a pass at batch %d failed\n", batches[s]);
                                return -1;
                        }
                        if (r >= 0) t[0][s][r] = a, t[1][s][r] = b;
                }
        printf("encoded rows, one thread, %zu KDDTest+ rows, median of %d passes%s\n", n, REPS,
               with_ort ? " alternated with ONNX Runtime's" : "");
        printf("  %-10s %14s %14s %9s\n", "batch", "StreamFlow/s", with_ort ? "ONNX Runtime/s" : "", "");
        double sf_rate[2] = {0, 0}, ort_rate[2] = {0, 0}; /* batch 1 and 4096, for the summary */
        for (int s = 0; s < N_BATCHES; s++) {
                double sf = (double)n / median(t[0][s], REPS), o = 0;
                printf("  %-10d %14.0f", batches[s], sf);
                if (with_ort) {
                        o = (double)n / median(t[1][s], REPS);
                        printf(" %14.0f %8.2fx  (target >= %dx)", o, sf / o, batches[s] == 1 ? 2 : 1);
                }
                printf("\n");
                if (batches[s] == 1 || batches[s] == 4096) {
                        sf_rate[batches[s] != 1] = sf;
                        ort_rate[batches[s] != 1] = o;
                }
        }
        ratios(sf_rate, with_ort ? ort_rate : NULL);
        if (with_ort)
                printf("  ONNX Runtime: onnxruntime-node, one thread, the network exported with "
                       "--network-only\n");
        return 0;
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

/* REPS passes of decoding, encoding and scoring the raw CSV lines of ls at
 * batch 1 and 4096 (x: room for 4096 encoded rows); prints the medians.
 * Returns 0 or -1 with err. */
static int raw_rounds(sf_model_t *model, const lines_t *ls, float *x, float *probs, char *err,
                      size_t err_size) {
        int n_in = sf_model_encoder(model)->n_inputs;
        sf_row_t row;
        double t[2][REPS];
        if (sf_row_init(&row, sf_model_schema(model)) != 0) {
                snprintf(err, err_size, "out of memory");
                return -1;
        }
        for (int r = 0; r < REPS; r++)
                for (int s = 0; s < 2; s++) {
                        size_t batch = s ? BIG : 1;
                        double t0 = sf_now_s();
                        for (size_t i = 0; i < ls->n; i += batch) {
                                size_t b = ls->n - i < batch ? ls->n - i : batch;
                                for (size_t j = 0; j < b; j++)
                                        if (encode_line(model, ls, i + j, &row, x + j * n_in, err,
                                                        err_size) != 0)
                                                goto fail;
                                if (sf_model_predict(model, x, b, probs) != 0) {
                                        snprintf(err, err_size, "out of memory");
                                        goto fail;
                                }
                        }
                        t[s][r] = sf_now_s() - t0;
                }
        for (int s = 0; s < 2; s++) {
                double sec = median(t[s], REPS);
                printf("raw CSV (decode+encode+forward), batch %-4d %12.0f records/s  %8.2f us/record\n",
                       s ? BIG : 1, (double)ls->n / sec, sec / (double)ls->n * 1e6);
        }
        sf_row_free(&row);
        return 0;
fail:
        sf_row_free(&row);
        return -1;
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

        ort_t ort;
        int started = ort_start(&ort, model, x, n, n_in);
        int rounds = started >= 0 ? encoded_rounds(model, &ort, x, n, n_in, probs, k) : -1;
        ort_stop(&ort);
        if (rounds != 0 || raw_rounds(model, &ls, x, probs, err, sizeof(err)) != 0) goto fail;
        ret = 0;
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
