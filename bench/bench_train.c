/* Training speed and memory, against PyTorch.
 *
 * 1. `streamflow train` with its defaults (30 epochs of KDDTrain+, batch 64)
 *    run as a child process: wall time and peak RSS (getrusage of the child).
 * 2. Seconds per epoch on the same encoded rows, in rounds that alternate
 *    StreamFlow's trainer (in this process: the first layer as a one-hot
 *    gather over compact rows, the default, and as a dense product) with
 *    PyTorch on one thread (bench/bench_train_torch.py, the same network,
 *    Adam and batch over the dense rows, run by /usr/bin/python3 with
 *    Debian's python3-torch); medians of the rounds, and their ratio, in
 *    wall seconds and in CPU seconds of the trainer's thread (PyTorch's
 *    process): on a shared machine the CPU seconds leave out the time other
 *    programs held the core, which wall time charges to whichever side ran
 *    then.
 *
 *   bench_train [DATA_DIR]     (default: the shipped data/nsl-kdd) */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/dataset.h"
#include "nn/nn.h"
#include "nn/train.h"
#include "ratio.h"
#include "table/encoder.h"
#include "table/schema.h"
#include "table/table.h"
#include "util/util.h"

#define ROUNDS       5
#define TARGET_RATIO 20.0

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

/* This program's directory, for its neighbours ../streamflow and the
 * PyTorch script (bench/ in the source tree, found from BUILD/bench/). */
static int self_dir(char *dir, size_t size) {
        ssize_t n = readlink("/proc/self/exe", dir, size - 1);
        if (n <= 0) return -1;
        dir[n] = '\0';
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        return 0;
}

/* PyTorch's trainer as a child: commands on one pipe, seconds on another. */
typedef struct {
        pid_t pid;
        FILE *cmd, *out;
        char version[64];
} torch_t;

/* Starts bench_train_torch.py on the dense rows written to dir. Returns 0, or
 * -1 with err (no python3-torch: install-deps --bench installs it). */
static int torch_start(torch_t *t, const char *dir, const sf_dataset_t *ds, int n_classes, char *err,
                       size_t err_size) {
        char here[PATH_MAX], script[PATH_MAX + 64], xf[PATH_MAX], yf[PATH_MAX], rows[32], ins[16], cls[16];
        memset(t, 0, sizeof(*t));
        if (self_dir(here, sizeof(here)) != 0) return -1;
        snprintf(script, sizeof(script), "%s/../../bench/bench_train_torch.py", here);
        if (access(script, R_OK) != 0) snprintf(script, sizeof(script), "bench/bench_train_torch.py");
        snprintf(xf, sizeof(xf), "%s/x.f32", dir);
        snprintf(yf, sizeof(yf), "%s/y.i32", dir);
        FILE *fx = fopen(xf, "wb"), *fy = fopen(yf, "wb");
        int ok = fx && fy && fwrite(ds->x, sizeof(float) * ds->n_dense, ds->n, fx) == ds->n &&
                 fwrite(ds->y, sizeof(int), ds->n, fy) == ds->n;
        ok = (fx && fclose(fx) == 0) && ok;
        ok = (fy && fclose(fy) == 0) && ok;
        if (!ok) {
                snprintf(err, err_size, "cannot write the rows for PyTorch into %s", dir);
                return -1;
        }
        snprintf(rows, sizeof(rows), "%zu", ds->n);
        snprintf(ins, sizeof(ins), "%d", ds->n_dense);
        snprintf(cls, sizeof(cls), "%d", n_classes);
        int to[2], from[2];
        if (pipe(to) != 0 || pipe(from) != 0) return -1;
        if ((t->pid = fork()) < 0) return -1;
        if (t->pid == 0) {
                dup2(to[0], 0), dup2(from[1], 1);
                close(to[0]), close(to[1]), close(from[0]), close(from[1]);
                setenv("OMP_NUM_THREADS", "1", 1);
                setenv("OPENBLAS_NUM_THREADS", "1", 1);
                execl("/usr/bin/python3", "python3", script, xf, yf, rows, ins, cls, (char *)NULL);
                _exit(127);
        }
        close(to[0]), close(from[1]);
        t->cmd = fdopen(to[1], "w"), t->out = fdopen(from[0], "r");
        char line[128];
        if (!t->cmd || !t->out || !fgets(line, sizeof(line), t->out) || strncmp(line, "ready ", 6) != 0) {
                snprintf(err, err_size,
                         "PyTorch did not start (/usr/bin/python3 %.200s): is python3-torch installed? "
                         "(scripts/install-deps --bench)",
                         script);
                return -1;
        }
        snprintf(t->version, sizeof(t->version), "%.40s", line + 6);
        t->version[strcspn(t->version, "\n")] = '\0';
        return 0;
}

/* Wall seconds of one PyTorch epoch (its CPU seconds in *cpu), or -1. */
static double torch_epoch(torch_t *t, double *cpu) {
        char line[64];
        double wall;
        if (fputs("epoch\n", t->cmd) < 0 || fflush(t->cmd) != 0 || !fgets(line, sizeof(line), t->out) ||
            sscanf(line, "%lf %lf", &wall, cpu) != 2)
                return -1;
        return wall;
}

static void torch_stop(torch_t *t) {
        if (t->cmd) fclose(t->cmd);
        if (t->out) fclose(t->out);
        if (t->pid > 0) {
                int status;
                while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR) continue;
        }
        memset(t, 0, sizeof(*t));
}

/* A trainer for the default network over ds (batch 64, seed 42). */
static sf_trainer_t *trainer_for(const sf_dataset_t *ds, int n_inputs, int n_classes, sf_nn_t **nn, char *err,
                                 size_t err_size) {
        int sizes[] = {n_inputs, 64, 64, 32, n_classes};
        if (!(*nn = sf_nn_create(sizes, 4, err, err_size))) return NULL;
        sf_nn_init_glorot(*nn, 42);
        return sf_trainer_new(*nn, ds, 64, 0.001f, 42, err, err_size);
}

static double thread_cpu_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall seconds of one epoch of tr over ds (its CPU seconds in *cpu), or -1. */
static double sf_epoch(sf_trainer_t *tr, const sf_dataset_t *ds, double *cpu) {
        char err[256];
        double loss, acc, t0 = sf_now_s(), c0 = thread_cpu_s();
        if (sf_trainer_epoch(tr, ds, NULL, NULL, &loss, &acc, err, sizeof(err)) != 0) return -1;
        *cpu = thread_cpu_s() - c0;
        return sf_now_s() - t0;
}

/* Part 2: ROUNDS rounds of one epoch each of the compact and dense trainers
 * and of PyTorch; medians and the ratio. */
static int compare(const sf_dataset_t *compact, const sf_dataset_t *dense, int n_inputs, int n_classes) {
        char err[512], tmpl[] = "/tmp/sf-bench-torch.XXXXXX";
        sf_nn_t *nc = NULL, *nd = NULL;
        sf_trainer_t *tc = NULL, *td = NULL;
        torch_t torch = {0};
        double t[3][ROUNDS], c[3][ROUNDS];
        int ret = -1;
        if (!mkdtemp(tmpl)) return -1;
        if (!(tc = trainer_for(compact, n_inputs, n_classes, &nc, err, sizeof(err))) ||
            !(td = trainer_for(dense, n_inputs, n_classes, &nd, err, sizeof(err)))) {
                fprintf(stderr, "bench_train: %s\n", err);
                goto out;
        }
        /* Without PyTorch StreamFlow's epochs are still measured, and the
         * summary says the anchor did not run. */
        if (torch_start(&torch, tmpl, dense, n_classes, err, sizeof(err)) != 0) {
                fprintf(stderr, "bench_train: %s\n", err);
                torch_stop(&torch);
        }
        for (int r = 0; r < ROUNDS; r++) {
                t[0][r] = sf_epoch(tc, compact, &c[0][r]);
                t[1][r] = sf_epoch(td, dense, &c[1][r]);
                t[2][r] = torch.pid > 0 ? torch_epoch(&torch, &c[2][r]) : (c[2][r] = 0);
                if (t[0][r] < 0 || t[1][r] < 0 || t[2][r] < 0) {
                        fprintf(stderr, "bench_train: an epoch failed (round %d)\n", r + 1);
                        goto out;
                }
        }
        double sc = median(t[0], ROUNDS), sd = median(t[1], ROUNDS), pt = median(t[2], ROUNDS);
        double cc = median(c[0], ROUNDS), cd = median(c[1], ROUNDS), ct = median(c[2], ROUNDS);
        size_t steps = sf_trainer_steps(tc, compact->n);
        printf("\none epoch of KDDTrain+ (%zu rows, %zu steps of 64), median of %d alternating rounds\n",
               compact->n, steps, ROUNDS);
        printf("  %-44s %9s %10s %9s\n", "", "s/epoch", "us/step", "CPU s");
        printf("  %-44s %9.3f %10.1f %9.3f\n", "StreamFlow, one-hot gather (the default)", sc,
               sc / (double)steps * 1e6, cc);
        printf("  %-44s %9.3f %10.1f %9.3f\n", "StreamFlow, dense 122-column input", sd,
               sd / (double)steps * 1e6, cd);
        char name[128], sf[64], anchor[128];
        snprintf(sf, sizeof(sf), "%.3f s/epoch", sc);
        if (torch.pid > 0) {
                snprintf(name, sizeof(name), "PyTorch %.40s, 1 thread, dense input", torch.version);
                printf("  %-44s %9.3f %10.1f %9.3f\n", name, pt, pt / (double)steps * 1e6, ct);
                printf("  StreamFlow (default) is %.1fx PyTorch per epoch, %.1fx in CPU seconds (target >= "
                       "%.0fx)\n",
                       pt / sc, ct / cc, TARGET_RATIO);
                snprintf(anchor, sizeof(anchor), "PyTorch %.40s %.3f s/epoch", torch.version, pt);
        } else {
                printf("  PyTorch: not run (above)\n");
                snprintf(anchor, sizeof(anchor), "PyTorch did not start (python3-torch)");
        }
        bench_ratio("train_epoch", sf, anchor, torch.pid > 0 ? pt / sc : -1, TARGET_RATIO);
        ret = 0;
out:
        torch_stop(&torch);
        sf_trainer_destroy(tc), sf_trainer_destroy(td);
        sf_nn_destroy(nc), sf_nn_destroy(nd);
        char cmd[PATH_MAX];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
        if (system(cmd) != 0) fprintf(stderr, "bench_train: could not remove %s\n", tmpl);
        return ret;
}

int main(int argc, char **argv) {
        char dirbuf[1024], path[1200], err[2048];
        const char *dir = argc > 1 ? argv[1] : sf_default_data_dir(dirbuf, sizeof(dirbuf));
        sf_schema_t *schema = NULL;
        sf_table_t *train = NULL;
        sf_encoder_t *enc = NULL;
        sf_dataset_t compact = {0}, dense = {0};
        int ret = 1;

        sf_nn_set_threads(1);
        if (bench_command(dir) != 0) return 1;

        snprintf(path, sizeof(path), "%s/schema.json", dir);
        if (!(schema = sf_schema_load(path, err, sizeof(err)))) goto fail;
        if (!(train = sf_table_new(schema))) {
                snprintf(err, sizeof(err), "out of memory");
                goto fail;
        }
        if (sf_find_data_file(dir, "KDDTrain+.txt", path, sizeof(path), err, sizeof(err)) != 0 ||
            sf_table_read(train, path, err, sizeof(err)) != 0 ||
            !(enc = sf_encoder_fit(train, err, sizeof(err))) ||
            sf_dataset_encode(&compact, enc, train, path, NULL, train->n_rows, 1, err, sizeof(err)) != 0 ||
            sf_dataset_encode(&dense, enc, train, path, NULL, train->n_rows, 0, err, sizeof(err)) != 0)
                goto fail;
        if (compare(&compact, &dense, enc->n_inputs, schema->n_classes) == 0) ret = 0;
        goto out;
fail:
        fprintf(stderr, "bench_train: %s\n", err);
out:
        sf_dataset_free(&compact);
        sf_dataset_free(&dense);
        sf_encoder_destroy(enc);
        sf_table_destroy(train);
        sf_schema_destroy(schema);
        return ret;
}
