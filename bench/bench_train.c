/* Training speed and memory.
 *
 * 1. `streamflow train` with its defaults (30 epochs of KDDTrain+, batch 64)
 *    run as a child process: wall time and peak RSS (getrusage of the child).
 * 2. The options side by side, in this process, on the same data, read,
 *    fitted and encoded as train does (a table read with the schema,
 *    sf_encoder_fit, sf_dataset_encode): the first layer as a one-hot gather (compact rows) or a dense
 * product, and 1 or 2 OpenBLAS threads; median epoch time over several epochs.
 *
 *   bench_train [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/dataset.h"
#include "nn/nn.h"
#include "nn/train.h"
#include "table/encoder.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/util.h"

#define REPS 5

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
        qsort(v, (size_t)n, sizeof(double), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs `streamflow train` (next to this binary: ../streamflow) with the
 * defaults into a temporary directory. */
static int bench_command(const char *data_dir) {
        char self[PATH_MAX], exe[PATH_MAX + 32], tmpl[] = "/tmp/sf-bench-train.XXXXXX";
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0) return -1;
        self[n] = '\0';
        snprintf(exe, sizeof(exe), "%s/../streamflow", dirname(self));
        if (access(exe, X_OK) != 0 || !mkdtemp(tmpl)) {
                fprintf(stderr, "bench_train: %s not found\n", exe);
                return -1;
        }
        char model[PATH_MAX], logdir[PATH_MAX], outpath[PATH_MAX];
        snprintf(model, sizeof(model), "%s/model.safetensors", tmpl);
        snprintf(logdir, sizeof(logdir), "%s/logs", tmpl);
        snprintf(outpath, sizeof(outpath), "%s/out.txt", tmpl);
        double t0 = sf_now_s();
        pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
                if (!freopen(outpath, "w", stdout)) _exit(127);
                execl(exe, "streamflow", "train", "--data", data_dir, "--model", model, "--logdir", logdir,
                      (char *)NULL);
                _exit(127);
        }
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) != pid) return -1;
        double wall = sf_now_s() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench_train: streamflow train failed (status %d)\n", status);
                return -1;
        }
        char line[512], trained[512] = "", test[512] = "";
        FILE *fp = fopen(outpath, "r");
        while (fp && fgets(line, sizeof(line), fp)) {
                if (strncmp(line, "Trained ", 8) == 0) snprintf(trained, sizeof(trained), "%s", line);
                if (strncmp(line, "Test loss", 9) == 0) snprintf(test, sizeof(test), "%s", line);
        }
        if (fp) fclose(fp);
        printf("streamflow train (defaults: 30 epochs, batch 64, 1 thread)\n");
        printf("  wall time, whole command       %8.2f s   (target < 10 s)\n", wall);
        printf("  peak RSS                       %8.1f MB  (target < 200 MB)\n", ru.ru_maxrss / 1024.0);
        printf("  %s  %s", trained, test);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
        if (system(cmd) != 0) fprintf(stderr, "bench_train: could not remove %s\n", tmpl);
        return 0;
}

/* Median seconds per epoch of training on ds with threads threads. */
static double epoch_time(const sf_dataset_t *ds, int n_inputs, int n_classes, int threads) {
        char err[256];
        int sizes[] = {n_inputs, 64, 64, 32, n_classes};
        sf_nn_t *nn = sf_nn_create(sizes, 4, err, sizeof(err));
        sf_trainer_t *tr = nn ? sf_trainer_new(nn, ds, 64, 0.001f, 42, err, sizeof(err)) : NULL;
        double t[REPS], median_t = -1;
        if (!tr) goto out;
        sf_nn_init_glorot(nn, 42);
        sf_nn_set_threads(threads);
        for (int r = 0; r < REPS; r++) {
                double loss, acc, t0 = sf_now_s();
                if (sf_trainer_epoch(tr, ds, NULL, NULL, &loss, &acc, err, sizeof(err)) != 0) goto out;
                t[r] = sf_now_s() - t0;
        }
        median_t = median(t, REPS);
out:
        sf_trainer_destroy(tr);
        sf_nn_destroy(nn);
        return median_t;
}

int main(int argc, char **argv) {
        char dirbuf[1024], path[1200], spath[1200], err[512] = "out of memory";
        const char *dir = argc > 1 ? argv[1] : sf_default_data_dir(dirbuf, sizeof(dirbuf));
        sf_schema_t *schema = NULL;
        sf_table_t *table = NULL;
        sf_encoder_t *enc = NULL;
        sf_dataset_t compact = {0}, dense = {0};
        int ret = 1;

        if (bench_command(dir) != 0) return 1;

        /* the rows as train reads and encodes them */
        snprintf(spath, sizeof(spath), "%s/schema.json", dir);
        if (sf_find_data_file(dir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) != 0 ||
            !(schema = sf_schema_load(spath, err, sizeof(err))) || !(table = sf_table_new(schema)) ||
            sf_table_read(table, path, err, sizeof(err)) != 0 ||
            !(enc = sf_encoder_fit(table, err, sizeof(err))) ||
            sf_dataset_encode(&compact, enc, table, path, NULL, table->n_rows, 1, err, sizeof(err)) != 0 ||
            sf_dataset_encode(&dense, enc, table, path, NULL, table->n_rows, 0, err, sizeof(err)) != 0) {
                fprintf(stderr, "bench_train: %s\n", err);
                goto out;
        }
        size_t steps = (table->n_rows + 63) / 64;
        printf("\none epoch of KDDTrain+ (%zu rows, %zu steps of 64), median of %d epochs\n", table->n_rows,
               steps, REPS);
        printf("  %-34s %10s %12s %14s\n", "first layer", "threads", "s/epoch", "30 epochs (s)");
        char gather[64], product[64];
        snprintf(gather, sizeof(gather), "one-hot gather + sgemm (%d cols)", enc->n_num + enc->n_flags);
        snprintf(product, sizeof(product), "dense sgemm (%d cols)", enc->n_inputs);
        for (int threads = 1; threads <= 2; threads++) {
                double tc = epoch_time(&compact, enc->n_inputs, schema->n_classes, threads);
                double td = epoch_time(&dense, enc->n_inputs, schema->n_classes, threads);
                if (tc < 0 || td < 0) {
                        fprintf(stderr, "bench_train: training failed\n");
                        goto out;
                }
                printf("  %-34s %10d %12.3f %14.2f\n", gather, threads, tc, 30 * tc);
                printf("  %-34s %10d %12.3f %14.2f\n", product, threads, td, 30 * td);
        }
        ret = 0;
out:
        sf_dataset_free(&compact);
        sf_dataset_free(&dense);
        sf_encoder_destroy(enc);
        sf_table_destroy(table);
        sf_schema_destroy(schema);
        return ret;
}
