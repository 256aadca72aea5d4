#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "data/kdd.h"
#include "nn/model.h"
#include "nn/nn.h"
#include "nn/train.h"
#include "report/tfevents.h"
#include "util/util.h"

enum { OPT_DATA = SF_OPT_LONG, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_SEED, OPT_THREADS, OPT_LOGDIR, OPT_MODEL };

static const sf_option_t options[] = {
        {"data", OPT_DATA, "DIR",
         "where KDDTrain+.txt and KDDTest+.txt are, plain or .gz (default: data/nsl-kdd)"},
        {"epochs", OPT_EPOCHS, "N", "passes over the training set (default 30)"},
        {"batch", OPT_BATCH, "N", "rows per Adam step (default 64)"},
        {"lr", OPT_LR, "RATE", "Adam learning rate (default 0.001)"},
        {"seed", OPT_SEED, "N",
         "seed of the initial weights, the shuffles and the validation/test split "
         "(default 42)"},
        {"threads", OPT_THREADS, "N", "threads for the matrix products (default 1: faster at these sizes)"},
        {"logdir", OPT_LOGDIR, "DIR", "TensorBoard logs go to DIR/<YYYYMMDD-HHMMSS>/ (default logs/fit)"},
        {"model", OPT_MODEL, "FILE", "where to write the model (default model.safetensors)"},
        {0}};

static const sf_cmd_spec_t spec = {
        "train",
        NULL,
        "Train the intrusion classifier (Dense 64-64-32-5) on KDDTrain+, validate and test on the two halves "
        "of\n"
        "KDDTest+, log to TensorBoard and write the model to one safetensors file.",
        {options, NULL}};

#define BAR_WIDTH 30

typedef struct {
        int tty;
        double t0, last_draw;
        int digits;
} progress_t;

static void format_per_step(char *buf, size_t size, double seconds) {
        /* Keras' units: s, ms or us per step. */
        if (seconds >= 1)
                snprintf(buf, size, "%.0fs/step", seconds);
        else if (seconds >= 1e-3)
                snprintf(buf, size, "%.0fms/step", seconds * 1e3);
        else
                snprintf(buf, size, "%.0fus/step", seconds * 1e6);
}

static void draw_bar(const progress_t *pg, size_t step, size_t steps) {
        char bar[BAR_WIDTH + 1];
        int filled = (int)(BAR_WIDTH * step / (steps ? steps : 1));
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '=' : '.';
        if (filled > 0 && step < steps) bar[filled - 1] = '>';
        bar[BAR_WIDTH] = '\0';
        printf("\r%*zu/%zu [%s]", pg->digits, step, steps, bar);
}

static void on_step(void *opaque, size_t step, size_t steps, double loss, double accuracy) {
        progress_t *pg = opaque;
        if (!pg->tty || step == steps) return;
        double now = sf_now_s();
        if (now - pg->last_draw < 0.05) return; /* Keras redraws at most every 50 ms */
        pg->last_draw = now;
        draw_bar(pg, step, steps);
        double eta = (now - pg->t0) / (double)step * (double)(steps - step);
        printf(" - ETA: %.0fs - loss: %.4f - accuracy: %.4f", eta, loss, accuracy);
        fflush(stdout);
}

static int write_scalars(sf_tfevents_t *w, int64_t epoch, double loss, double accuracy) {
        char err[512];
        if (sf_tfevents_scalar(w, "epoch_loss", epoch, (float)loss, err, sizeof(err)) != 0 ||
            sf_tfevents_scalar(w, "epoch_accuracy", epoch, (float)accuracy, err, sizeof(err)) != 0 ||
            sf_tfevents_flush(w, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        return 0;
}

static int read_rows(const char *dir, const char *name, sf_kdd_rows_t *rows, char *path, size_t path_size) {
        char err[1024];
        if (sf_kdd_find_file(dir, name, path, path_size, err, sizeof(err)) != 0 ||
            sf_kdd_read_file(path, rows, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        if (rows->n < 2) {
                fprintf(stderr, "streamflow train: %s: %zu rows; need at least 2\n", path, rows->n);
                return -1;
        }
        return 0;
}

int cmd_train(int argc, char **argv) {
        char databuf[4096];
        const char *data_dir = NULL, *logdir = "logs/fit", *model_path = "model.safetensors";
        long long epochs = 30, batch = 64, seed = 42, threads = 1;
        double lr = 0.001;

        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                int bad = 0;
                switch (c) {
                case OPT_DATA:
                        data_dir = arg;
                        break;
                case OPT_EPOCHS:
                        bad = sf_opt_long(&spec, "--epochs", arg, 1, 100000, &epochs);
                        break;
                case OPT_BATCH:
                        bad = sf_opt_long(&spec, "--batch", arg, 1, 65536, &batch);
                        break;
                case OPT_LR:
                        bad = sf_opt_double(&spec, "--lr", arg, 1e-9, 10, &lr);
                        break;
                case OPT_SEED:
                        bad = sf_opt_long(&spec, "--seed", arg, 0, INT64_MAX, &seed);
                        break;
                case OPT_THREADS:
                        bad = sf_opt_long(&spec, "--threads", arg, 1, 256, &threads);
                        break;
                case OPT_LOGDIR:
                        logdir = arg;
                        break;
                case OPT_MODEL:
                        model_path = arg;
                        break;
                }
                if (bad) return 2;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops > 0) return sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]), 2;
        if (!data_dir) data_dir = sf_default_data_dir(databuf, sizeof(databuf));
        if (!*logdir) return sf_opt_usage(&spec, "--logdir must not be empty"), 2;
        if (!*model_path) return sf_opt_usage(&spec, "--model must not be empty"), 2;

        int rc = 1;
        char err[1024];
        char train_path[4096], test_path[4096];
        sf_kdd_rows_t train_rows = {0}, test_rows = {0};
        sf_kdd_encoder_t *enc = NULL;
        sf_dataset_t train = {0}, val = {0}, test = {0};
        size_t *split = NULL;
        sf_nn_t *nn = NULL;
        sf_trainer_t *tr = NULL;
        sf_tfevents_t *tb_train = NULL, *tb_val = NULL;
        sf_model_t *saved = NULL;
        char run_dir[4096 + 64];

        /* Fail now, not after training, when the model cannot be written there. */
        char probe[4096 + 32];
        snprintf(probe, sizeof(probe), "%s.tmp.%ld", model_path, (long)getpid());
        FILE *probe_fp = fopen(probe, "wb");
        if (!probe_fp) {
                fprintf(stderr, "streamflow train: cannot write the model: %s: %s\n", probe, strerror(errno));
                goto out;
        }
        fclose(probe_fp);
        unlink(probe);

        sf_nn_set_threads((int)threads);
        if (read_rows(data_dir, "KDDTrain+.txt", &train_rows, train_path, sizeof(train_path)) != 0 ||
            read_rows(data_dir, "KDDTest+.txt", &test_rows, test_path, sizeof(test_path)) != 0)
                goto out;
        if (!(enc = sf_kdd_encoder_fit(&train_rows, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s: %s\n", train_path, err);
                goto out;
        }
        /* Validation is the first half of the seeded permutation of KDDTest+, test the rest. */
        split = malloc(test_rows.n * sizeof(size_t));
        if (!split) {
                fprintf(stderr, "streamflow train: out of memory\n");
                goto out;
        }
        sf_kdd_split(test_rows.n, (uint64_t)seed, split);
        size_t n_val = test_rows.n / 2;
        if (sf_dataset_encode(&train, enc, &train_rows, NULL, train_rows.n, 1, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s: %s (training rows need the label column)\n",
                        train_path, err);
                goto out;
        }
        if (sf_dataset_encode(&val, enc, &test_rows, split, n_val, 1, err, sizeof(err)) != 0 ||
            sf_dataset_encode(&test, enc, &test_rows, split + n_val, test_rows.n - n_val, 1, err,
                              sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s: %s (test rows need the label column)\n", test_path,
                        err);
                goto out;
        }
        /* The parsed rows are no longer needed: keep the peak memory down. */
        sf_kdd_rows_free(&train_rows);
        sf_kdd_rows_free(&test_rows);

        int sizes[] = {enc->n_inputs, 64, 64, 32, SF_KDD_NCLASSES};
        if (!(nn = sf_nn_create(sizes, 4, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                goto out;
        }
        sf_nn_init_glorot(nn, (uint64_t)seed);
        if (!(tr = sf_trainer_new(nn, &train, (int)batch, (float)lr, (uint64_t)seed, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                goto out;
        }

        /* TensorBoard: <logdir>/<YYYYMMDD-HHMMSS>/{train,validation}/ as Keras' callback lays them out. */
        time_t now = time(NULL);
        struct tm tm;
        char stamp[32];
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        snprintf(run_dir, sizeof(run_dir), "%s/%s", logdir, stamp);
        char sub[sizeof(run_dir) + 16];
        snprintf(sub, sizeof(sub), "%s/train", run_dir);
        if (!(tb_train = sf_tfevents_open(sub, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                goto out;
        }
        snprintf(sub, sizeof(sub), "%s/validation", run_dir);
        if (!(tb_val = sf_tfevents_open(sub, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                goto out;
        }

        printf("Training on %zu rows of %s; validation %zu and test %zu rows of %s (split by seed %lld); %d "
               "inputs\n",
               train.n, train_path, val.n, test.n, test_path, seed, enc->n_inputs);
        fflush(stdout);

        progress_t pg = {0};
        pg.tty = isatty(STDOUT_FILENO);
        size_t steps = sf_trainer_steps(tr, train.n);
        pg.digits = snprintf(NULL, 0, "%zu", steps);
        double t_all = sf_now_s();
        for (int e = 0; e < epochs; e++) {
                double loss, acc, val_loss, val_acc;
                if (pg.tty) printf("Epoch %d/%lld\n", e + 1, epochs), fflush(stdout);
                pg.t0 = sf_now_s();
                pg.last_draw = 0;
                if (sf_trainer_epoch(tr, &train, on_step, &pg, &loss, &acc, err, sizeof(err)) != 0) {
                        if (pg.tty) printf("\n");
                        fprintf(stderr, "streamflow train: epoch %d: %s\n", e + 1, err);
                        goto out;
                }
                if (sf_nn_evaluate(nn, &val, &val_loss, &val_acc, NULL, NULL) != 0) {
                        fprintf(stderr, "streamflow train: out of memory evaluating\n");
                        goto out;
                }
                double dt = sf_now_s() - pg.t0;
                char per_step[32];
                format_per_step(per_step, sizeof(per_step), dt / (double)steps);
                if (pg.tty) {
                        draw_bar(&pg, steps, steps);
                        printf(" - %.2fs %s - loss: %.4f - accuracy: %.4f - val_loss: %.4f - val_accuracy: "
                               "%.4f\x1b[K\n",
                               dt, per_step, loss, acc, val_loss, val_acc);
                } else {
                        printf("Epoch %d/%lld - %zu/%zu - %.2fs %s - loss: %.4f - accuracy: %.4f - val_loss: "
                               "%.4f - "
                               "val_accuracy: %.4f\n",
                               e + 1, epochs, steps, steps, dt, per_step, loss, acc, val_loss, val_acc);
                }
                fflush(stdout);
                /* Keras' TensorBoard callback counts epochs from 0. */
                if (write_scalars(tb_train, e, loss, acc) != 0 ||
                    write_scalars(tb_val, e, val_loss, val_acc) != 0)
                        goto out;
        }
        double train_time = sf_now_s() - t_all;

        double test_loss, test_acc;
        if (sf_nn_evaluate(nn, &test, &test_loss, &test_acc, NULL, NULL) != 0) {
                fprintf(stderr, "streamflow train: out of memory evaluating\n");
                goto out;
        }
        printf("Trained %lld epoch%s in %.2fs\n", epochs, epochs == 1 ? "" : "s", train_time);
        printf("Test loss: %.4f - test accuracy: %.4f (%zu rows)\n", test_loss, test_acc, test.n);
        printf("Unseen categorical values (encoded as zeros): validation %zu rows, test %zu rows\n",
               val.n ? val.unseen : 0, test.unseen);

        sf_model_info_t info = {(uint64_t)seed, (int)epochs, (int)batch, (int)threads, lr, (int64_t)train.n};
        if (sf_model_save(model_path, nn, enc, &info, err, sizeof(err)) != 0 ||
            !(saved = sf_model_load(model_path, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                goto out;
        }
        printf("Model written to %s (id %s)\n", model_path, sf_model_id(saved));
        int closed = sf_tfevents_close(tb_train, err, sizeof(err));
        tb_train = NULL;
        if (closed == 0)
                closed = sf_tfevents_close(tb_val, err, sizeof(err));
        else
                sf_tfevents_close(tb_val, NULL, 0);
        tb_val = NULL;
        if (closed != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                goto out;
        }
        printf("TensorBoard logs in %s/ (tensorboard --logdir %s)\n", run_dir, logdir);
        rc = 0;
out:
        fflush(stdout);
        sf_model_destroy(saved);
        if (tb_train) sf_tfevents_close(tb_train, err, sizeof(err));
        if (tb_val) sf_tfevents_close(tb_val, err, sizeof(err));
        sf_trainer_destroy(tr);
        sf_nn_destroy(nn);
        sf_dataset_free(&train);
        sf_dataset_free(&val);
        sf_dataset_free(&test);
        free(split);
        sf_kdd_encoder_destroy(enc);
        sf_kdd_rows_free(&train_rows);
        sf_kdd_rows_free(&test_rows);
        return rc;
}
