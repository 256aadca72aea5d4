#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "cmd/train_data.h"
#include "model/dataset.h"
#include "model/model.h"
#include "nn/nn.h"
#include "nn/train.h"
#include "report/metrics.h"
#include "report/tfevents.h"
#include "table/encoder.h"
#include "table/schema.h"
#include "util/util.h"

enum {
        OPT_DATA = SF_OPT_LONG,
        OPT_EPOCHS,
        OPT_BATCH,
        OPT_LR,
        OPT_SEED,
        OPT_THREADS,
        OPT_LOGDIR,
        OPT_MODEL,
        OPT_CLASS_WEIGHT,
        OPT_EARLY_STOPPING,
        OPT_MONITOR,
        OPT_MIN_DELTA,
        OPT_RESTORE_BEST,
        OPT_CHECKPOINT,
        OPT_RESUME,
        OPT_TRAIN,
        OPT_TEST,
        OPT_SCHEMA,
        OPT_LAYERS,
        OPT_VAL_SPLIT,
        OPT_TEST_SPLIT,
};

static const sf_option_t options[] = {
        {"train", OPT_TRAIN, "FILE",
         "the training rows: CSV, or JSON records (.json, .jsonl, .ndjson), plain or .gz"},
        {"test", OPT_TEST, "FILE",
         "test rows from their own file; its seeded halves are validation and test unless "
         "--validation-split is given"},
        {"schema", OPT_SCHEMA, "FILE",
         "the table's schema (default: schema.json beside the training file; 'streamflow schema infer' "
         "writes one)"},
        {"data", OPT_DATA, "DIR",
         "NSL-KDD: DIR/KDDTrain+.txt and DIR/KDDTest+.txt, plain or .gz, and DIR/schema.json (the default, "
         "data/nsl-kdd, when --train is not given)"},
        {"layers", OPT_LAYERS, "N,N,...",
         "hidden layer sizes, ReLU (default 64,64,32); the softmax output has one unit per class"},
        {"validation-split", OPT_VAL_SPLIT, "F",
         "the share of the training file held out for validation, stratified (default 0.1 without --test; "
         "0 for none)"},
        {"test-split", OPT_TEST_SPLIT, "F",
         "without --test: the share of the training file held out for the test, stratified (default 0.2)"},
        {"epochs", OPT_EPOCHS, "N", "passes over the training set (default 30)"},
        {"batch", OPT_BATCH, "N", "rows per Adam step (default 64)"},
        {"lr", OPT_LR, "RATE", "Adam learning rate (default 0.001)"},
        {"seed", OPT_SEED, "N",
         "seed of the initial weights, the shuffles and the validation/test split "
         "(default 42)"},
        {"threads", OPT_THREADS, "N",
         "recorded in the model; the network runs on one thread (its own kernels: faster at these sizes)"},
        {"logdir", OPT_LOGDIR, "DIR", "TensorBoard logs go to DIR/<YYYYMMDD-HHMMSS>/ (default logs/fit)"},
        {"model", OPT_MODEL, "FILE", "where to write the model (default model.safetensors)"},
        {"class-weight", OPT_CLASS_WEIGHT, "W",
         "loss weights by class (Keras' class_weight): none, balanced or CLASS=W,... (default none)"},
        {"early-stopping", OPT_EARLY_STOPPING, "N",
         "stop after N epochs without improvement of --monitor (Keras' EarlyStopping; default off)"},
        {"monitor", OPT_MONITOR, "METRIC",
         "what --early-stopping and --checkpoint watch: val_loss (default) or val_accuracy"},
        {"min-delta", OPT_MIN_DELTA, "D", "an improvement beats the best by more than D (default 0)"},
        {"restore-best", OPT_RESTORE_BEST, NULL, "end with the best epoch's weights (restore_best_weights)"},
        {"checkpoint", OPT_CHECKPOINT, "DIR",
         "write DIR/last.safetensors every epoch, DIR/best.safetensors on improvement"},
        {"resume", OPT_RESUME, "FILE",
         "continue the run saved in FILE (DIR/last.safetensors) up to --epochs"},
        {0}};

static const sf_cmd_spec_t spec = {"train",
                                   NULL,
                                   "Train a classifier (dense layers, ReLU, softmax over the schema's "
                                   "classes, Adam) on a table, validate\n"
                                   "and test it, log to TensorBoard and write the model (schema, encoder and "
                                   "weights) to one safetensors\n"
                                   "file. Without --train: the NSL-KDD recipe (Dense 64-64-32-5 on "
                                   "KDDTrain+, validation and test on the\n"
                                   "two seeded halves of KDDTest+).",
                                   {options, NULL}};

enum { CW_NONE, CW_BALANCED, CW_GIVEN };

typedef struct {
        const char *data_dir, *logdir, *model_path, *ckpt_dir, *resume;
        const char *train_file, *test_file, *schema_path, *cw_spec;
        long long epochs, batch, seed, threads;
        double lr, val_split, test_split;
        int hidden[SF_NN_MAX_LAYERS - 1], n_hidden; /* --layers */
        int cw_mode;                                /* CW_* */
        float cw[SF_CLASS_WEIGHT_MAX]; /* the weights: given, or balanced once the data is read */
        long long patience;            /* -1: no early stopping */
        int monitor_acc;               /* 1: val_accuracy, 0: val_loss */
        double min_delta;
        int restore_best;
        unsigned long given; /* bit (OPT_x - SF_OPT_LONG) for each option on the command line */
        char databuf[4096];
} train_opts_t;

#define GIVEN(o, opt) (((o)->given >> ((opt)-SF_OPT_LONG)) & 1u)

/* --layers: 1 to SF_NN_MAX_LAYERS - 1 sizes of 1..4096, comma-separated. */
static int parse_layers(train_opts_t *o, const char *arg) {
        o->n_hidden = 0;
        for (const char *p = arg;;) {
                char *end;
                errno = 0;
                long v = strtol(p, &end, 10);
                if (end == p || errno || v < 1 || v > 4096 || (*end && *end != ',') ||
                    o->n_hidden == SF_NN_MAX_LAYERS - 1) {
                        sf_opt_usage(&spec,
                                     "--layers '%s': expected 1 to %d hidden layer sizes of 1..4096, like "
                                     "64,64,32",
                                     arg, SF_NN_MAX_LAYERS - 1);
                        return 2;
                }
                o->hidden[o->n_hidden++] = (int)v;
                if (!*end) return 0;
                p = end + 1;
        }
}

/* Applies one option; returns 0, or 2 after a usage error. */
static int apply_option(train_opts_t *o, int c, const char *arg) {
        static const char *const monitors[] = {"val_loss", "val_accuracy"};
        o->given |= 1ul << (c - SF_OPT_LONG);
        switch (c) {
        case OPT_DATA:
                o->data_dir = arg;
                return 0;
        case OPT_EPOCHS:
                return sf_opt_long(&spec, "--epochs", arg, 1, 100000, &o->epochs) ? 2 : 0;
        case OPT_BATCH:
                return sf_opt_long(&spec, "--batch", arg, 1, 65536, &o->batch) ? 2 : 0;
        case OPT_LR:
                return sf_opt_double(&spec, "--lr", arg, 1e-9, 10, &o->lr) ? 2 : 0;
        case OPT_SEED:
                return sf_opt_long(&spec, "--seed", arg, 0, INT64_MAX, &o->seed) ? 2 : 0;
        case OPT_THREADS:
                return sf_opt_long(&spec, "--threads", arg, 1, 256, &o->threads) ? 2 : 0;
        case OPT_LOGDIR:
                o->logdir = arg;
                return 0;
        case OPT_MODEL:
                o->model_path = arg;
                return 0;
        case OPT_CHECKPOINT:
                o->ckpt_dir = arg;
                return 0;
        case OPT_RESUME:
                o->resume = arg;
                return 0;
        case OPT_RESTORE_BEST:
                o->restore_best = 1;
                return 0;
        case OPT_EARLY_STOPPING:
                return sf_opt_long(&spec, "--early-stopping", arg, 0, 100000, &o->patience) ? 2 : 0;
        case OPT_MIN_DELTA:
                return sf_opt_double(&spec, "--min-delta", arg, 0, 1e9, &o->min_delta) ? 2 : 0;
        case OPT_MONITOR:
                if (strcmp(arg, monitors[0]) && strcmp(arg, monitors[1])) {
                        const char *best = sf_suggest(arg, monitors, 2);
                        sf_opt_usage(&spec, "--monitor '%s': expected val_loss or val_accuracy%s%s%s", arg,
                                     best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
                        return 2;
                }
                o->monitor_acc = strcmp(arg, monitors[1]) == 0;
                return 0;
        case OPT_CLASS_WEIGHT: /* parsed once the schema names the classes */
                o->cw_spec = arg;
                return 0;
        case OPT_TRAIN:
                o->train_file = arg;
                return 0;
        case OPT_TEST:
                o->test_file = arg;
                return 0;
        case OPT_SCHEMA:
                o->schema_path = arg;
                return 0;
        case OPT_LAYERS:
                return parse_layers(o, arg);
        case OPT_VAL_SPLIT:
                return sf_opt_double(&spec, "--validation-split", arg, 0, 0.99, &o->val_split) ? 2 : 0;
        case OPT_TEST_SPLIT:
                return sf_opt_double(&spec, "--test-split", arg, 0, 0.99, &o->test_split) ? 2 : 0;
        }
        return 0;
}

/* Parses --class-weight against the schema's classes. Returns 0 or 2. */
static int parse_class_weight(train_opts_t *o, const sf_schema_t *schema) {
        char err[512];
        int balanced = 0, none = 0;
        if (!o->cw_spec) return 0;
        if (sf_class_weight_parse(o->cw_spec, (const char *const *)schema->classes, schema->n_classes, o->cw,
                                  &balanced, &none, err, sizeof(err)) != 0) {
                sf_opt_usage(&spec, "--class-weight: %s", err);
                return 2;
        }
        o->cw_mode = balanced ? CW_BALANCED : none ? CW_NONE : CW_GIVEN;
        return 0;
}

/* Options that only make sense with others. Returns 0 or 2. */
static int check_combinations(train_opts_t *o, int nops, char **argv) {
        if (nops > 0) return sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]), 2;
        if (!*o->logdir) return sf_opt_usage(&spec, "--logdir must not be empty"), 2;
        if (!*o->model_path) return sf_opt_usage(&spec, "--model must not be empty"), 2;
        if (o->ckpt_dir && !*o->ckpt_dir) return sf_opt_usage(&spec, "--checkpoint must not be empty"), 2;
        if (o->train_file && GIVEN(o, OPT_DATA))
                return sf_opt_usage(&spec, "--data (NSL-KDD's files) and --train exclude each other"), 2;
        if (o->test_file && !o->train_file) return sf_opt_usage(&spec, "--test needs --train"), 2;
        if (o->test_file && GIVEN(o, OPT_TEST_SPLIT))
                return sf_opt_usage(&spec,
                                    "--test-split splits the training file; with --test the test rows are "
                                    "that file's"),
                       2;
        if (o->val_split + (o->train_file && !o->test_file ? o->test_split : 0) >= 1)
                return sf_opt_usage(&spec,
                                    "--validation-split and --test-split together must leave training rows"),
                       2;
        int es = GIVEN(o, OPT_EARLY_STOPPING) || o->resume;
        if (!es && (GIVEN(o, OPT_MIN_DELTA) || o->restore_best))
                return sf_opt_usage(&spec, "--%s needs --early-stopping N",
                                    o->restore_best ? "restore-best" : "min-delta"),
                       2;
        if (!es && !o->ckpt_dir && GIVEN(o, OPT_MONITOR))
                return sf_opt_usage(&spec, "--monitor needs --early-stopping or --checkpoint"), 2;
        return 0;
}

/* Parses argv into o. Returns -1 to go on, else the exit code. */
static int parse_options(train_opts_t *o, int argc, char **argv) {
        memset(o, 0, sizeof(*o));
        o->logdir = "logs/fit", o->model_path = "model.safetensors";
        o->epochs = 30, o->batch = 64, o->seed = 42, o->threads = 1, o->lr = 0.001, o->patience = -1;
        o->hidden[0] = 64, o->hidden[1] = 64, o->hidden[2] = 32, o->n_hidden = 3;
        o->val_split = 0.1, o->test_split = 0.2;
        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0)
                if (apply_option(o, c, arg) != 0) return 2;
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (!o->data_dir && !o->train_file) o->data_dir = sf_default_data_dir(o->databuf, sizeof(o->databuf));
        int rc = check_combinations(o, p.nops, argv);
        return rc ? rc : -1;
}

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

/* ---- the run ---- */

typedef struct {
        train_opts_t *o;
        sf_train_data_t data; /* the files, the schema, the encoded rows */
        char run_dir[4096 + 64];
        char digest[65]; /* of the encoded training set */
        sf_nn_t *nn;
        sf_trainer_t *tr;
        sf_tfevents_t *tb_train, *tb_val;
        int *val_pred;        /* (val.n) */
        sf_early_stop_t es;   /* --early-stopping */
        sf_early_stop_t best; /* ModelCheckpoint(save_best_only=True): min_delta 0, never stops */
        float *best_params;   /* (n_params) with --restore-best */
        int start, done;      /* epochs done before this process, and in all */
        int stopped;          /* early stopping ended the run */
} train_run_t;

static void run_free(train_run_t *r) {
        char err[256];
        if (r->tb_train) sf_tfevents_close(r->tb_train, err, sizeof(err));
        if (r->tb_val) sf_tfevents_close(r->tb_val, err, sizeof(err));
        sf_trainer_destroy(r->tr);
        sf_nn_destroy(r->nn);
        sf_train_data_free(&r->data);
        free(r->val_pred);
        free(r->best_params);
}

/* ---- the checkpoint's training state, as JSON ---- */

static json_t *float_list(const float *v, int n) {
        json_t *a = json_array();
        for (int i = 0; a && i < n; i++) json_array_append_new(a, json_real((double)v[i]));
        return a;
}

static json_t *tracker_json(const sf_early_stop_t *t) {
        return json_pack("{s:o, s:i, s:i, s:i}", "best", isfinite(t->best) ? json_real(t->best) : json_null(),
                         "best_epoch", t->best_epoch, "wait", t->wait, "stopped_epoch", t->stopped_epoch);
}

/* What decides the weights: a resume must use the same. */
static json_t *recipe_json(const train_run_t *r) {
        const train_opts_t *o = r->o;
        json_t *es = o->patience < 0 ? json_null()
                                     : json_pack("{s:I, s:f, s:b}", "patience", (json_int_t)o->patience,
                                                 "min_delta", o->min_delta, "restore_best", o->restore_best);
        return json_pack("{s:I, s:I, s:f, s:I, s:s, s:o, s:o, s:s, s:I}", "seed", (json_int_t)o->seed,
                         "batch", (json_int_t)o->batch, "lr", o->lr, "threads", (json_int_t)o->threads,
                         "monitor", o->monitor_acc ? "val_accuracy" : "val_loss", "class_weight",
                         o->cw_mode == CW_NONE ? json_null() : float_list(o->cw, r->data.schema->n_classes),
                         "early_stopping", es, "train_digest", r->digest, "train_rows",
                         (json_int_t)r->data.train.n);
}

/* The state after r->done epochs, as JSON text (caller frees), or NULL. */
static char *state_text(train_run_t *r) {
        sf_adam_t *adam = sf_trainer_adam(r->tr);
        sf_rng_t *rng = sf_trainer_rng(r->tr);
        char hex[4][17];
        for (int i = 0; i < 4; i++)
                snprintf(hex[i], sizeof(hex[i]), "%016llx", (unsigned long long)rng->s[i]);
        json_t *st = json_pack("{s:i, s:I, s:[s,s,s,s], s:o, s:o, s:o}", "epochs_done", r->done, "adam_step",
                               (json_int_t)adam->t, "shuffle_rng", hex[0], hex[1], hex[2], hex[3], "recipe",
                               recipe_json(r), "early_stopping", tracker_json(&r->es), "best",
                               tracker_json(&r->best));
        /* 17 digits give back every double exactly. */
        char *text = st ? json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(st);
        return text;
}

/* The saved state of a checkpoint, parsed. */
typedef struct {
        int epochs_done;
        long long adam_step;
        uint64_t rng[4];
        long long seed, batch, threads, patience, train_rows;
        double lr, min_delta;
        int monitor_acc, restore_best, weighted;
        float cw[SF_CLASS_WEIGHT_MAX];
        int n_cw;
        char digest[65];
        sf_early_stop_t es, best;
} saved_state_t;

static int parse_tracker(json_t *j, sf_early_stop_t *t, int maximize) {
        json_t *best = NULL;
        if (json_unpack(j, "{s:o, s:i, s:i, s:i}", "best", &best, "best_epoch", &t->best_epoch, "wait",
                        &t->wait, "stopped_epoch", &t->stopped_epoch) != 0)
                return -1;
        t->best = json_is_number(best) ? json_number_value(best) : maximize ? -INFINITY : INFINITY;
        return 0;
}

static int parse_recipe(json_t *j, saved_state_t *s) {
        json_t *cw = NULL, *es = NULL;
        const char *monitor = NULL, *digest = NULL;
        json_int_t seed, batch, threads, rows;
        if (json_unpack(j, "{s:I, s:I, s:F, s:I, s:s, s:o, s:o, s:s, s:I}", "seed", &seed, "batch", &batch,
                        "lr", &s->lr, "threads", &threads, "monitor", &monitor, "class_weight", &cw,
                        "early_stopping", &es, "train_digest", &digest, "train_rows", &rows) != 0 ||
            strlen(digest) != 64)
                return -1;
        s->seed = seed, s->batch = batch, s->threads = threads, s->train_rows = rows;
        s->monitor_acc = strcmp(monitor, "val_accuracy") == 0;
        snprintf(s->digest, sizeof(s->digest), "%s", digest);
        s->weighted = json_is_array(cw);
        s->n_cw = s->weighted ? (int)json_array_size(cw) : 0;
        if (s->n_cw > SF_CLASS_WEIGHT_MAX) return -1;
        for (int c = 0; c < s->n_cw; c++) s->cw[c] = (float)json_number_value(json_array_get(cw, (size_t)c));
        s->patience = -1;
        json_int_t patience;
        if (!json_is_null(es) && json_unpack(es, "{s:I, s:F, s:b}", "patience", &patience, "min_delta",
                                             &s->min_delta, "restore_best", &s->restore_best) != 0)
                return -1;
        if (!json_is_null(es)) s->patience = patience;
        return 0;
}

/* Parses a checkpoint's state text. Returns 0, or -1 with errstr. */
static int parse_state(const char *text, const char *path, saved_state_t *s, char *errstr,
                       size_t errstr_size) {
        json_t *st = json_loads(text, 0, NULL), *recipe = NULL, *es = NULL, *best = NULL;
        const char *hex[4];
        json_int_t step = 0;
        int rc = -1;
        memset(s, 0, sizeof(*s));
        if (st &&
            json_unpack(st, "{s:i, s:I, s:[s,s,s,s], s:o, s:o, s:o}", "epochs_done", &s->epochs_done,
                        "adam_step", &step, "shuffle_rng", &hex[0], &hex[1], &hex[2], &hex[3], "recipe",
                        &recipe, "early_stopping", &es, "best", &best) == 0 &&
            parse_recipe(recipe, s) == 0 && parse_tracker(es, &s->es, s->monitor_acc) == 0 &&
            parse_tracker(best, &s->best, s->monitor_acc) == 0 && s->epochs_done >= 1 && step >= 0) {
                rc = 0;
                for (int i = 0; i < 4; i++) {
                        char *end;
                        errno = 0;
                        s->rng[i] = strtoull(hex[i], &end, 16);
                        if (errno || *end || strlen(hex[i]) != 16) rc = -1;
                }
        }
        s->adam_step = step;
        if (rc != 0)
                snprintf(errstr, errstr_size, "%s: metadata 'checkpoint' is not a valid training state",
                         path);
        json_decref(st);
        return rc;
}

/* ---- resuming ---- */

static int refuse(const char *what, const char *had, const char *asked) {
        fprintf(stderr,
                "streamflow train: --resume: the checkpoint was trained with %s %s, this run asks for %s %s; "
                "leave the option out to keep the checkpoint's, or start a new run\n",
                what, had, what, asked);
        return 2;
}

static int adopt_long(train_opts_t *o, int opt, const char *name, long long *mine, long long saved) {
        char a[32], b[32];
        if (!GIVEN(o, opt) || *mine == saved) return *mine = saved, 0;
        snprintf(a, sizeof(a), "%lld", saved), snprintf(b, sizeof(b), "%lld", *mine);
        return refuse(name, a, b);
}

static int adopt_double(train_opts_t *o, int opt, const char *name, double *mine, double saved) {
        char a[32], b[32];
        if (!GIVEN(o, opt) || *mine == saved) return *mine = saved, 0;
        snprintf(a, sizeof(a), "%.17g", saved), snprintf(b, sizeof(b), "%.17g", *mine);
        return refuse(name, a, b);
}

/* Every recipe option not given takes the checkpoint's value; a given one
 * that differs is refused. The class weights are compared once the data
 * is read (balanced depends on it). Returns 0 or 2. */
static int adopt_recipe(train_opts_t *o, const saved_state_t *s) {
        static const char *const monitors[] = {"val_loss", "val_accuracy"};
        long long threads = o->threads;
        int rc = adopt_long(o, OPT_SEED, "--seed", &o->seed, s->seed);
        rc = rc ? rc : adopt_long(o, OPT_BATCH, "--batch", &o->batch, s->batch);
        rc = rc ? rc : adopt_double(o, OPT_LR, "--lr", &o->lr, s->lr);
        rc = rc ? rc : adopt_long(o, OPT_EARLY_STOPPING, "--early-stopping", &o->patience, s->patience);
        rc = rc ? rc : adopt_double(o, OPT_MIN_DELTA, "--min-delta", &o->min_delta, s->min_delta);
        if (rc) return rc;
        if (GIVEN(o, OPT_MONITOR) && o->monitor_acc != s->monitor_acc)
                return refuse("--monitor", monitors[s->monitor_acc], monitors[o->monitor_acc]);
        if (o->restore_best && !s->restore_best) return refuse("--restore-best", "off", "on");
        o->monitor_acc = s->monitor_acc, o->restore_best = s->restore_best;
        o->threads = s->threads;
        if (GIVEN(o, OPT_THREADS) && threads != s->threads) {
                fprintf(stderr,
                        "streamflow train: warning: --resume: the checkpoint ran with --threads %lld; this "
                        "run "
                        "uses %lld, so its weights may differ in the last bits from an uninterrupted run\n",
                        s->threads, threads);
                o->threads = threads;
        }
        if (!GIVEN(o, OPT_CLASS_WEIGHT)) {
                o->cw_mode = s->weighted ? CW_GIVEN : CW_NONE;
                memcpy(o->cw, s->cw, sizeof(o->cw));
        }
        if (o->epochs <= s->epochs_done) {
                fprintf(stderr,
                        "streamflow train: --resume: the checkpoint has %d epochs done; pass --epochs above "
                        "%d\n",
                        s->epochs_done, s->epochs_done);
                return 2;
        }
        if (s->es.stopped_epoch >= 0) {
                fprintf(stderr,
                        "streamflow train: --resume: that run stopped early after epoch %d: nothing to "
                        "resume\n",
                        s->es.stopped_epoch + 1);
                return 2;
        }
        return 0;
}

/* A tracker's progress (not its settings) from a saved one. */
static void take_progress(sf_early_stop_t *dst, const sf_early_stop_t *src) {
        dst->best = src->best;
        dst->best_epoch = src->best_epoch;
        dst->wait = src->wait;
        dst->stopped_epoch = src->stopped_epoch;
}

/* The data and class weights are the checkpoint's: then the network, Adam
 * and the shuffle stream carry on. Returns 0 or the exit code. */
static int restore_state(train_run_t *r, const sf_checkpoint_t *ck, const saved_state_t *s) {
        const train_opts_t *o = r->o;
        if (strcmp(r->digest, s->digest) != 0) {
                fprintf(stderr,
                        "streamflow train: --resume: the training data differs from the checkpoint's (%zu "
                        "rows of "
                        "%s, the checkpoint %lld rows): pass the same --data\n",
                        r->data.train.n, r->data.train_path, s->train_rows);
                return 2;
        }
        if ((o->cw_mode != CW_NONE) != s->weighted ||
            (s->weighted && memcmp(o->cw, s->cw, sizeof(o->cw)) != 0))
                return refuse("--class-weight", s->weighted ? "weights" : "none",
                              o->cw_mode == CW_NONE ? "none" : "other weights");
        if (ck->nn->n_params != r->nn->n_params) {
                fprintf(stderr,
                        "streamflow train: --resume: the checkpoint's network does not fit this data\n");
                return 1;
        }
        if (o->restore_best && !ck->best) {
                fprintf(stderr,
                        "streamflow train: --resume: the checkpoint lacks the best weights --restore-best "
                        "needs (best.params)\n");
                return 1;
        }
        sf_adam_t *adam = sf_trainer_adam(r->tr);
        memcpy(r->nn->params, ck->nn->params, r->nn->n_params * sizeof(float));
        memcpy(adam->m, ck->adam_m, adam->n * sizeof(float));
        memcpy(adam->v, ck->adam_v, adam->n * sizeof(float));
        adam->t = s->adam_step;
        memcpy(sf_trainer_rng(r->tr)->s, s->rng, sizeof(s->rng));
        take_progress(&r->es, &s->es);
        take_progress(&r->best, &s->best);
        if (r->best_params) memcpy(r->best_params, ck->best, r->nn->n_params * sizeof(float));
        r->start = r->done = s->epochs_done;
        return 0;
}

/* ---- setting up ---- */

/* What the data part takes from the command line. */
static sf_train_data_opts_t data_opts(const train_opts_t *o) {
        return (sf_train_data_opts_t){.data_dir = o->data_dir,
                                      .train_file = o->train_file,
                                      .test_file = o->test_file,
                                      .schema_path = o->schema_path,
                                      .seed = o->seed,
                                      .val_split = o->val_split,
                                      .test_split = o->test_split,
                                      .val_split_given = GIVEN(o, OPT_VAL_SPLIT)};
}

/* Where the data and the schema are (sf_train_data_find). Returns 0 or -1. */
static int find_files(train_run_t *r) {
        const sf_train_data_opts_t dopts = data_opts(r->o);
        return sf_train_data_find(&dopts, &r->data);
}

/* Reads, splits and encodes the data. Returns 0 or -1. */
static int load_data(train_run_t *r) {
        const sf_train_data_opts_t dopts = data_opts(r->o);
        if (sf_train_data_load(&dopts, &r->data) != 0) return -1;
        if (!(r->val_pred = malloc((r->data.val.n ? r->data.val.n : 1) * sizeof(int)))) {
                fprintf(stderr, "streamflow train: out of memory\n");
                return -1;
        }
        if (sf_dataset_digest(&r->data.train, r->digest) != 0) {
                fprintf(stderr, "streamflow train: SHA-256 of the training data failed\n");
                return -1;
        }
        return 0;
}

/* The network, its trainer and the trackers, from the options. */
static int build_model(train_run_t *r) {
        const train_opts_t *o = r->o;
        char err[1024];
        int sizes[SF_NN_MAX_LAYERS + 1], n = 0;
        sizes[n++] = r->data.enc->n_inputs;
        for (int l = 0; l < o->n_hidden; l++) sizes[n++] = o->hidden[l];
        sizes[n++] = r->data.schema->n_classes;
        if (!(r->nn = sf_nn_create(sizes, n - 1, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        sf_nn_init_glorot(r->nn, (uint64_t)o->seed);
        if (!(r->tr = sf_trainer_new(r->nn, &r->data.train, (int)o->batch, (float)o->lr, (uint64_t)o->seed,
                                     err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        if (o->cw_mode != CW_NONE && sf_trainer_set_class_weight(r->tr, o->cw) != 0) {
                fprintf(stderr, "streamflow train: out of memory\n");
                return -1;
        }
        sf_early_stop_init(&r->es, o->monitor_acc, o->min_delta,
                           o->patience < 0 ? INT_MAX : (int)o->patience);
        sf_early_stop_init(&r->best, o->monitor_acc, 0, INT_MAX);
        if (o->restore_best && !(r->best_params = malloc(r->nn->n_params * sizeof(float)))) {
                fprintf(stderr, "streamflow train: out of memory\n");
                return -1;
        }
        return 0;
}

/* <logdir>/<YYYYMMDD-HHMMSS>/{train,validation}/ as Keras' callback lays
 * them out (-2, -3, ... after the stamp for a second run in that second). */
static int open_logs(train_run_t *r) {
        char err[1024], stamp[32], sub[sizeof(r->run_dir) + 16];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        if (sf_tfevents_run_dir(r->o->logdir, stamp, r->run_dir, sizeof(r->run_dir), err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        snprintf(sub, sizeof(sub), "%s/train", r->run_dir);
        if ((r->tb_train = sf_tfevents_open(sub, err, sizeof(err)))) {
                snprintf(sub, sizeof(sub), "%s/validation", r->run_dir);
                r->tb_val = sf_tfevents_open(sub, err, sizeof(err));
        }
        if (!r->tb_train || !r->tb_val) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        return 0;
}

/* Fails now, not after training, when FILE cannot be written there. */
static int probe_writable(const char *path, const char *what) {
        char probe[4096 + 32];
        snprintf(probe, sizeof(probe), "%s.tmp.%ld", path, (long)getpid());
        FILE *fp = fopen(probe, "wb");
        if (!fp) {
                fprintf(stderr, "streamflow train: cannot write the %s: %s: %s\n", what, probe,
                        strerror(errno));
                return -1;
        }
        fclose(fp);
        unlink(probe);
        return 0;
}

/* Creates the checkpoint directory if needed and checks it takes files. */
static int prepare_checkpoint_dir(const char *dir) {
        char path[4096 + 32];
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "streamflow train: cannot create the checkpoint directory %s: %s\n", dir,
                        strerror(errno));
                return -1;
        }
        snprintf(path, sizeof(path), "%s/last.safetensors", dir);
        return probe_writable(path, "checkpoint");
}

/* ---- epochs ---- */

static int write_scalar(sf_tfevents_t *w, const char *tag, int64_t epoch, double value) {
        char err[512];
        if (sf_tfevents_scalar(w, tag, epoch, (float)value, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        return 0;
}

/* One epoch's scalars, Keras' TensorBoard tags (epochs count from 0), plus
 * the recall of every class on validation (epoch_recall/<class>). */
static int log_epoch(train_run_t *r, int e, double loss, double acc, double val_loss, double val_acc) {
        char err[512], tag[64];
        sf_confusion_t cm;
        sf_metrics_t m;
        if (write_scalar(r->tb_train, "epoch_loss", e, loss) ||
            write_scalar(r->tb_train, "epoch_accuracy", e, acc) ||
            write_scalar(r->tb_train, "epoch_learning_rate", e, r->o->lr))
                return -1;
        if (r->data.val.n > 0) {
                if (sf_confusion_init(&cm, r->data.schema->n_classes, err, sizeof(err)) != 0) {
                        fprintf(stderr, "streamflow train: %s\n", err);
                        return -1;
                }
                for (size_t i = 0; i < r->data.val.n; i++)
                        sf_confusion_add(&cm, r->data.val.y[i], r->val_pred[i]);
                int bad = sf_metrics_compute(&cm, &m);
                sf_confusion_destroy(&cm);
                if (bad) {
                        fprintf(stderr, "streamflow train: out of memory computing the validation recall\n");
                        return -1;
                }
                bad = write_scalar(r->tb_val, "epoch_loss", e, val_loss) ||
                      write_scalar(r->tb_val, "epoch_accuracy", e, val_acc);
                for (int c = 0; !bad && c < r->data.schema->n_classes; c++) {
                        snprintf(tag, sizeof(tag), "epoch_recall/%.40s", r->data.schema->classes[c]);
                        bad = write_scalar(r->tb_val, tag, e, m.recall[c]) != 0;
                }
                sf_metrics_destroy(&m);
                if (bad) return -1;
        }
        if (sf_tfevents_flush(r->tb_train, err, sizeof(err)) != 0 ||
            sf_tfevents_flush(r->tb_val, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        return 0;
}

static void print_epoch(const progress_t *pg, int e, long long epochs, size_t steps, double dt, double loss,
                        double acc, double val_loss, double val_acc) {
        char per_step[32], val[96] = "";
        format_per_step(per_step, sizeof(per_step), dt / (double)steps);
        if (!isnan(val_loss)) /* Keras prints no val_ metrics without validation data */
                snprintf(val, sizeof(val), " - val_loss: %.4f - val_accuracy: %.4f", val_loss, val_acc);
        if (pg->tty) {
                draw_bar(pg, steps, steps);
                printf(" - %.2fs %s - loss: %.4f - accuracy: %.4f%s\x1b[K\n", dt, per_step, loss, acc, val);
        } else {
                printf("Epoch %d/%lld - %zu/%zu - %.2fs %s - loss: %.4f - accuracy: %.4f%s\n", e + 1, epochs,
                       steps, steps, dt, per_step, loss, acc, val);
        }
        fflush(stdout);
}

/* The model file's "training" extras for a recipe other than the default,
 * as JSON text (caller frees), or NULL for the default recipe. */
static char *recipe_extra(const train_run_t *r) {
        const train_opts_t *o = r->o;
        json_t *extra = json_object();
        if (!extra) return NULL;
        if (o->cw_mode != CW_NONE) {
                json_t *cw = json_object();
                for (int c = 0; cw && c < r->data.schema->n_classes; c++)
                        json_object_set_new(cw, r->data.schema->classes[c], json_real((double)o->cw[c]));
                json_object_set_new(extra, "class_weight", cw);
        }
        if (o->patience >= 0)
                json_object_set_new(extra, "early_stopping",
                                    json_pack("{s:s, s:I, s:f, s:b, s:i, s:i}", "monitor",
                                              o->monitor_acc ? "val_accuracy" : "val_loss", "patience",
                                              (json_int_t)o->patience, "min_delta", o->min_delta,
                                              "restore_best", o->restore_best, "best_epoch",
                                              r->es.best_epoch + 1, "stopped_epoch",
                                              r->es.stopped_epoch + 1));
        char *text = json_object_size(extra)
                             ? json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9))
                             : NULL;
        json_decref(extra);
        return text;
}

/* What the model file records of the run after `epochs` epochs. */
static sf_model_info_t run_info(const train_run_t *r, int epochs) {
        const train_opts_t *o = r->o;
        int val_given = GIVEN(o, OPT_VAL_SPLIT) || !r->data.test_file;
        sf_model_info_t info = {.seed = (uint64_t)o->seed,
                                .epochs = epochs,
                                .batch = (int)o->batch,
                                .threads = (int)o->threads,
                                .lr = o->lr,
                                .train_rows = (int64_t)r->data.train.n,
                                .test_file = r->data.test_file,
                                .test_halves = r->data.test_file && !GIVEN(o, OPT_VAL_SPLIT),
                                .val_split = val_given ? o->val_split : 0,
                                .test_split = r->data.test_file ? 0 : o->test_split,
                                .class_rows = r->data.class_rows};
        return info;
}

static int save_model(const train_run_t *r, const char *path, int epochs) {
        char err[1024];
        sf_model_info_t info = run_info(r, epochs);
        char *extra = recipe_extra(r);
        int rc =
                sf_model_save_extra(path, r->nn, r->data.schema, r->data.enc, &info, extra, err, sizeof(err));
        free(extra);
        if (rc != 0) fprintf(stderr, "streamflow train: %s\n", err);
        return rc;
}

/* After epoch e: the trackers, best.safetensors and last.safetensors. */
static int after_epoch(train_run_t *r, int e, double val_loss, double val_acc) {
        const train_opts_t *o = r->o;
        char path[4096 + 32], err[1024];
        double value = o->monitor_acc ? val_acc : val_loss;
        r->done = e + 1;
        int best = sf_early_stop_update(&r->best, e, value) & SF_EARLY_STOP_IMPROVED;
        if (o->patience >= 0) {
                int flags = sf_early_stop_update(&r->es, e, value);
                if ((flags & SF_EARLY_STOP_IMPROVED) && r->best_params)
                        memcpy(r->best_params, r->nn->params, r->nn->n_params * sizeof(float));
                r->stopped = (flags & SF_EARLY_STOP_STOP) != 0;
        }
        if (!o->ckpt_dir) return 0;
        snprintf(path, sizeof(path), "%s/best.safetensors", o->ckpt_dir);
        if (best && save_model(r, path, e + 1) != 0) return -1;
        char *state = state_text(r);
        sf_adam_t *adam = sf_trainer_adam(r->tr);
        sf_model_info_t info = run_info(r, e + 1);
        info.class_rows = NULL;
        snprintf(path, sizeof(path), "%s/last.safetensors", o->ckpt_dir);
        int rc = state ? sf_checkpoint_save(path, r->nn, r->data.schema, r->data.enc, &info, adam->m, adam->v,
                                            r->best_params, state, err, sizeof(err))
                       : -1;
        if (rc != 0)
                fprintf(stderr, "streamflow train: %s\n",
                        state ? err : "out of memory saving the checkpoint");
        free(state);
        return rc;
}

/* The epochs from r->start to --epochs, or until early stopping. */
static int train_epochs(train_run_t *r) {
        char err[1024];
        long long epochs = r->o->epochs;
        progress_t pg = {0};
        pg.tty = isatty(STDOUT_FILENO);
        size_t steps = sf_trainer_steps(r->tr, r->data.train.n);
        pg.digits = snprintf(NULL, 0, "%zu", steps);
        for (int e = r->start; e < epochs && !r->stopped; e++) {
                double loss, acc, val_loss, val_acc;
                if (pg.tty) printf("Epoch %d/%lld\n", e + 1, epochs), fflush(stdout);
                pg.t0 = sf_now_s();
                pg.last_draw = 0;
                if (sf_trainer_epoch(r->tr, &r->data.train, on_step, &pg, &loss, &acc, err, sizeof(err)) !=
                    0) {
                        if (pg.tty) printf("\n");
                        fprintf(stderr, "streamflow train: epoch %d: %s\n", e + 1, err);
                        return -1;
                }
                val_loss = val_acc = NAN;
                if (r->data.val.n && sf_nn_evaluate(r->nn, &r->data.val, &val_loss, &val_acc, r->val_pred,
                                                    NULL, err, sizeof(err)) != 0) {
                        fprintf(stderr, "streamflow train: validation rows: %s\n", err);
                        return -1;
                }
                print_epoch(&pg, e, epochs, steps, sf_now_s() - pg.t0, loss, acc, val_loss, val_acc);
                if (log_epoch(r, e, loss, acc, val_loss, val_acc) != 0 ||
                    after_epoch(r, e, val_loss, val_acc) != 0)
                        return -1;
        }
        if (r->stopped) printf("Epoch %d: early stopping\n", r->es.stopped_epoch + 1);
        if (r->best_params && r->es.best_epoch >= 0) {
                /* Keras 3 restores at the end of training whether or not it stopped early. */
                printf("Restoring model weights from the end of the best epoch: %d.\n", r->es.best_epoch + 1);
                memcpy(r->nn->params, r->best_params, r->nn->n_params * sizeof(float));
        }
        return 0;
}

/* ---- the end ---- */

/* Test, save, close the logs. Returns 0 or -1. */
/* The test rows' loss and accuracy, and for two classes ROC AUC and
 * average precision (sklearn's roc_auc_score, average_precision_score). */
static int report_test(const train_run_t *r) {
        char err[1024];
        double loss, acc, auc, ap;
        int k = r->data.schema->n_classes;
        if (r->data.test.n == 0) {
                printf("No test rows (--test-split 0)\n");
                return 0;
        }
        float *probs = malloc(r->data.test.n * (size_t)k * sizeof(float)),
              *p1 = malloc(r->data.test.n * sizeof(float));
        int rc = probs && p1 ? 0 : -1;
        if (rc == 0)
                rc = sf_nn_evaluate(r->nn, &r->data.test, &loss, &acc, NULL, probs, err, sizeof(err));
        else
                snprintf(err, sizeof(err), "out of memory");
        if (rc != 0) {
                fprintf(stderr, "streamflow train: test rows: %s\n", err);
        } else {
                printf("Test loss: %.4f - test accuracy: %.4f (%zu rows)", loss, acc, r->data.test.n);
                for (size_t i = 0; k == 2 && i < r->data.test.n; i++) p1[i] = probs[2 * i + 1];
                if (k == 2 && sf_metrics_binary(p1, r->data.test.y, r->data.test.n, &auc, &ap) == 0)
                        printf(" - ROC AUC: %.4f - average precision: %.4f", auc, ap);
                printf("\n");
        }
        free(probs), free(p1);
        return rc;
}

static int finish(train_run_t *r, double train_time) {
        char err[1024];
        long long epochs = r->done;
        printf("Trained %lld epoch%s in %.2fs\n", epochs, epochs == 1 ? "" : "s", train_time);
        if (report_test(r) != 0) return -1;
        printf("Unseen or missing values the encoder had nothing for: validation %zu rows, test %zu rows\n",
               r->data.val.n ? r->data.val.unseen : 0, r->data.test.unseen);
        sf_model_t *saved = NULL;
        if (save_model(r, r->o->model_path, r->done) != 0) return -1;
        if (!(saved = sf_model_load(r->o->model_path, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        printf("Model written to %s (id %s)\n", r->o->model_path, sf_model_id(saved));
        sf_model_destroy(saved);
        int closed = sf_tfevents_close(r->tb_train, err, sizeof(err));
        r->tb_train = NULL;
        if (closed == 0)
                closed = sf_tfevents_close(r->tb_val, err, sizeof(err));
        else
                sf_tfevents_close(r->tb_val, NULL, 0);
        r->tb_val = NULL;
        if (closed != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        printf("TensorBoard logs in %s/ (tensorboard --logdir %s)\n", r->run_dir, r->o->logdir);
        return 0;
}

/* What is about to happen: the rows, the split, the network, the weights. */
static void print_plan(const train_run_t *r) {
        const train_opts_t *o = r->o;
        if (r->data.test_file && !GIVEN(o, OPT_VAL_SPLIT))
                printf("Training on %zu rows of %s; validation %zu and test %zu rows of %s (split by seed "
                       "%lld)",
                       r->data.train.n, r->data.train_path, r->data.val.n, r->data.test.n, r->data.test_path,
                       o->seed);
        else if (r->data.test_file)
                printf("Training on %zu rows and validation on %zu rows of %s (stratified, seed %lld); test "
                       "on "
                       "%zu rows of %s",
                       r->data.train.n, r->data.val.n, r->data.train_path, o->seed, r->data.test.n,
                       r->data.test_path);
        else
                printf("Training on %zu, validation on %zu and test on %zu rows of %s (stratified split, "
                       "seed "
                       "%lld)",
                       r->data.train.n, r->data.val.n, r->data.test.n, r->data.train_path, o->seed);
        printf("; %d inputs\n", r->data.enc->n_inputs);
        printf("Network: %d", r->nn->sizes[0]);
        for (int l = 1; l <= r->nn->n_layers; l++) printf(" -> %d", r->nn->sizes[l]);
        printf(" (%zu parameters); classes:", r->nn->n_params);
        for (int c = 0; c < r->data.schema->n_classes; c++)
                printf("%s %s", c ? "," : "", r->data.schema->classes[c]);
        printf("\n");
        if (o->cw_mode != CW_NONE) {
                printf("Class weights:");
                for (int c = 0; c < r->data.schema->n_classes; c++)
                        printf("%s %s %.4g", c ? "," : "", r->data.schema->classes[c], o->cw[c]);
                printf("\n");
        }
}

/* Reads --resume's checkpoint and takes its recipe. Returns 0 or the exit code. */
static int open_resume(train_opts_t *o, sf_checkpoint_t **ck, saved_state_t *s) {
        char err[1024];
        if (!(*ck = sf_checkpoint_load(o->resume, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: --resume: %s\n", err);
                return 1;
        }
        if (parse_state((*ck)->state, o->resume, s, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: --resume: %s\n", err);
                return 1;
        }
        return adopt_recipe(o, s);
}

int cmd_train(int argc, char **argv) {
        train_opts_t o;
        int rc = parse_options(&o, argc, argv);
        if (rc >= 0) return rc;
        train_run_t r = {0};
        sf_checkpoint_t *ck = NULL;
        saved_state_t saved;
        r.o = &o;
        rc = 1;
        if (o.resume && (rc = open_resume(&o, &ck, &saved)) != 0) goto out;
        rc = 1;
        if (probe_writable(o.model_path, "model") != 0 ||
            (o.ckpt_dir && prepare_checkpoint_dir(o.ckpt_dir) != 0))
                goto out;
        sf_nn_set_threads((int)o.threads);
        if (find_files(&r) != 0) goto out;
        if ((rc = parse_class_weight(&o, r.data.schema)) != 0) goto out;
        rc = 1;
        if (load_data(&r) != 0) goto out;
        if (r.data.val.n == 0 && (o.patience >= 0 || o.ckpt_dir)) {
                fprintf(stderr,
                        "streamflow train: --%s watches the validation rows, and there are none "
                        "(--validation-split 0)\n",
                        o.ckpt_dir ? "checkpoint" : "early-stopping");
                rc = 2;
                goto out;
        }
        if (o.cw_mode == CW_BALANCED &&
            sf_class_weight_balanced(r.data.train.y, r.data.train.n, r.data.schema->n_classes, o.cw) != 0)
                goto out;
        if (build_model(&r) != 0) goto out;
        if (ck && (rc = restore_state(&r, ck, &saved)) != 0) goto out;
        rc = 1;
        sf_checkpoint_destroy(ck);
        ck = NULL;
        if (open_logs(&r) != 0) goto out;
        print_plan(&r);
        if (r.start > 0) printf("Resuming from %s after epoch %d\n", o.resume, r.start);
        fflush(stdout);
        double t_all = sf_now_s();
        if (train_epochs(&r) != 0 || finish(&r, sf_now_s() - t_all) != 0) goto out;
        rc = 0;
out:
        fflush(stdout);
        sf_checkpoint_destroy(ck);
        run_free(&r);
        return rc;
}
