#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "model/dataset.h"
#include "model/model.h"
#include "nn/train.h"
#include "report/metrics.h"
#include "table/split.h"
#include "table/table.h"
#include "util/util.h"

enum { OPT_MODEL = SF_OPT_LONG, OPT_DATA, OPT_TEST, OPT_SPLIT, OPT_SEED, OPT_JSON, OPT_THREADS, OPT_SCHEMA };

static const sf_option_t options[] = {
        {"model", OPT_MODEL, "FILE", "the model to evaluate (default model.safetensors)"},
        {"schema", OPT_SCHEMA, "FILE",
         "the fitted schema of an ONNX --model trained elsewhere ('streamflow schema fit'; --split all)"},
        {"test", OPT_TEST, "FILE",
         "the rows: the --test file the model was trained with, or its --train file when that one was "
         "split; CSV or JSON records, plain or .gz"},
        {"data", OPT_DATA, "DIR",
         "NSL-KDD: DIR/KDDTest+.txt, plain or .gz (default without --test: data/nsl-kdd)"},
        {"split", OPT_SPLIT, "SPLIT",
         "test (default), validation, or all: which of the file's rows, as train split them"},
        {"seed", OPT_SEED, "N", "seed of the split (default: the one the model was trained with)"},
        {"json", OPT_JSON, NULL, "print everything as one JSON object"},
        {"threads", OPT_THREADS, "N", "kept for scripts: the network runs on one thread (its own kernels)"},
        {0}};

static const sf_cmd_spec_t spec = {
        "evaluate",
        NULL,
        "Evaluate a model on the rows `train` held out (the same split for the same seed and file): loss,\n"
        "accuracy, sklearn's classification report (digits=4), for two classes ROC AUC and average\n"
        "precision, and the confusion matrix.",
        {options, NULL}};

typedef struct {
        const char *model_path, *fitted_path, *data_dir, *test_path, *split_name;
        long long seed, threads;
        int as_json, data_default; /* data_dir is NSL-KDD's, not given */
        char path[4096], databuf[4096];
} eval_opts_t;

static int parse_options(eval_opts_t *o, int argc, char **argv) {
        sf_optparser_t p;
        const char *arg;
        int c, split_given = 0;
        memset(o, 0, sizeof(*o));
        o->model_path = "model.safetensors", o->split_name = "test", o->seed = -1, o->threads = 1;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                int bad = 0;
                if (c == OPT_MODEL) o->model_path = arg;
                if (c == OPT_SCHEMA) o->fitted_path = arg;
                if (c == OPT_DATA) o->data_dir = arg;
                if (c == OPT_TEST) o->test_path = arg;
                if (c == OPT_JSON) o->as_json = 1;
                if (c == OPT_SEED) bad = sf_opt_long(&spec, "--seed", arg, 0, INT64_MAX, &o->seed);
                if (c == OPT_THREADS) bad = sf_opt_long(&spec, "--threads", arg, 1, 256, &o->threads);
                if (c == OPT_SPLIT) {
                        if (strcmp(arg, "test") != 0 && strcmp(arg, "validation") != 0 &&
                            strcmp(arg, "all") != 0)
                                return sf_opt_usage(&spec,
                                                    "--split expects test, validation or all, got '%s'", arg),
                                       2;
                        o->split_name = arg, split_given = 1;
                }
                if (bad) return 2;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops > 0) return sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]), 2;
        if (o->data_dir && o->test_path)
                return sf_opt_usage(&spec, "--data and --test exclude each other"), 2;
        /* A network trained elsewhere: which rows it held out is not known. */
        if (o->fitted_path && split_given && strcmp(o->split_name, "all") != 0)
                return sf_opt_usage(&spec,
                                    "with --schema (a network trained elsewhere) the held-out rows are "
                                    "unknown: evaluate on --split all of a --test file"),
                       2;
        if (o->fitted_path) o->split_name = "all";
        if (!o->test_path && !o->data_dir) {
                o->data_dir = sf_default_data_dir(o->databuf, sizeof(o->databuf));
                o->data_default = 1;
        }
        return -1;
}

/* The rows of table the model's training run used for o->split_name, as
 * indices into it (*idx NULL: all, in file order). Returns 0, or -1 with
 * errstr. */
static int find_rows(const eval_opts_t *o, const sf_model_info_t *info, const sf_table_t *t, uint64_t seed,
                     size_t **idx, const size_t **rows, size_t *n, char *errstr, size_t errstr_size) {
        int want_val = strcmp(o->split_name, "validation") == 0;
        *idx = NULL, *rows = NULL, *n = t->n_rows;
        if (strcmp(o->split_name, "all") == 0 || (info->test_file && !info->test_halves && !want_val))
                return 0;
        if (info->test_file && !info->test_halves) {
                sf_seterr(errstr, errstr_size,
                          "the model was validated on %s, not on rows of its test file: use --split test or "
                          "--split all",
                          info->val_split > 0 ? "rows of its training file (--validation-split)" : "nothing");
                return -1;
        }
        if (info->test_file) { /* the seeded halves: validation first */
                if (!(*idx = malloc((t->n_rows ? t->n_rows : 1) * sizeof(size_t)))) goto oom;
                sf_split_halves(t->n_rows, seed, *idx);
                *rows = want_val ? *idx : *idx + t->n_rows / 2;
                *n = want_val ? t->n_rows / 2 : t->n_rows - t->n_rows / 2;
                return 0;
        }
        sf_split_t sp;
        if (sf_split_stratified(t->label, t->n_rows, t->schema->n_classes, info->val_split, info->test_split,
                                seed, &sp, errstr, errstr_size) != 0)
                return -1;
        if ((int64_t)sp.n_train != info->train_rows) {
                sf_seterr(
                        errstr, errstr_size,
                        "%zu rows split as the model's were give %zu training rows, the model had %lld: pass "
                        "the file it was trained on",
                        t->n_rows, sp.n_train, (long long)info->train_rows);
                sf_split_free(&sp);
                return -1;
        }
        *idx = sp.idx;
        *rows = sp.idx + sp.n_train + (want_val ? 0 : sp.n_val);
        *n = want_val ? sp.n_val : sp.n_test;
        return 0;
oom:
        sf_seterr(errstr, errstr_size, "out of memory");
        return -1;
}

/* The results of one evaluation. */
typedef struct {
        sf_confusion_t cm;
        double loss, accuracy, auc, ap;
        int binary; /* auc and ap are set */
        size_t n, odd;
} result_t;

/* Scores ds and fills res. Returns 0 or -1 with errstr. */
static int score_rows(sf_model_t *model, const sf_dataset_t *ds, result_t *res, char *errstr,
                      size_t errstr_size) {
        int k = sf_model_classes(model);
        int *pred = malloc(ds->n * sizeof(int));
        float *probs = malloc(ds->n * (size_t)k * sizeof(float));
        int rc = -1;
        if (!pred || !probs) {
                sf_seterr(errstr, errstr_size, "out of memory");
                goto out;
        }
        if (sf_nn_evaluate(sf_model_nn(model), ds, &res->loss, &res->accuracy, pred, probs, errstr,
                           errstr_size) != 0 ||
            sf_confusion_init(&res->cm, k, errstr, errstr_size) != 0)
                goto out;
        for (size_t i = 0; i < ds->n; i++) sf_confusion_add(&res->cm, ds->y[i], pred[i]);
        if (k == 2) {
                for (size_t i = 0; i < ds->n; i++) probs[i] = probs[2 * i + 1];
                res->binary = sf_metrics_binary(probs, ds->y, ds->n, &res->auc, &res->ap) == 0;
        }
        res->n = ds->n, res->odd = ds->unseen;
        rc = 0;
out:
        free(pred), free(probs);
        return rc;
}

/* A network trained elsewhere (--schema) has no split recipe: no seed is
 * printed for it. */
static int print_json(const eval_opts_t *o, sf_model_t *model, const char *path, uint64_t seed,
                      result_t *res) {
        const char *const *names = (const char *const *)sf_model_schema(model)->classes;
        json_t *report = sf_report_json(&res->cm, names);
        json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "model", o->model_path, "model_id",
                                sf_model_id(model), "data", path, "split", o->split_name);
        json_t *rest =
                json_pack("{s:I, s:f, s:f, s:I, s:o*}", "rows", (json_int_t)res->n, "loss", res->loss,
                          "accuracy", res->accuracy, "unseen_rows", (json_int_t)res->odd, "report", report);
        if (out && (!rest ||
                    (!sf_model_foreign(model) &&
                     json_object_set_new(out, "seed", json_integer((json_int_t)seed)) != 0) ||
                    json_object_update(out, rest) != 0)) {
                json_decref(out);
                out = NULL;
        }
        json_decref(rest);
        if (out && res->binary) {
                json_object_set_new(out, "roc_auc", json_real(res->auc));
                json_object_set_new(out, "average_precision", json_real(res->ap));
        }
        int rc = out && json_dumpf(out, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10)) == 0 ? 0 : -1;
        json_decref(out);
        printf("\n");
        return rc;
}

static int print_text(const eval_opts_t *o, sf_model_t *model, const char *path, uint64_t seed,
                      result_t *res) {
        const char *const *names = (const char *const *)sf_model_schema(model)->classes;
        printf("model:    %s (id %s)\n", o->model_path, sf_model_id(model));
        printf("data:     %s, %s split", path, o->split_name);
        if (!sf_model_foreign(model)) printf(" (seed %llu)", (unsigned long long)seed);
        printf(": %zu rows", res->n);
        if (res->odd) printf(", %zu with unseen or missing values the encoder had nothing for", res->odd);
        printf("\nloss:     %.4f\naccuracy: %.4f\n", res->loss, res->accuracy);
        if (res->binary) printf("ROC AUC:  %.4f\naverage precision: %.4f\n", res->auc, res->ap);
        printf("\n");
        if (sf_report_write(stdout, &res->cm, names, 4) != 0) return -1;
        printf("\nconfusion matrix (rows: true class, columns: predicted class)\n");
        return sf_confusion_write(stdout, &res->cm, names);
}

int cmd_evaluate(int argc, char **argv) {
        eval_opts_t o;
        int rc = parse_options(&o, argc, argv);
        if (rc >= 0) return rc;
        rc = 1;
        char err[1024];
        const char *path = o.test_path;
        sf_model_t *model = NULL;
        sf_table_t *table = NULL;
        size_t *idx = NULL, n = 0;
        const size_t *rows = NULL;
        sf_dataset_t ds = {0};
        result_t res = {0};

        sf_nn_set_threads((int)o.threads);
        if (!(model = sf_model_load_with(o.model_path, o.fitted_path, err, sizeof(err)))) goto fail;
        const sf_model_info_t *info = sf_model_info(model);
        uint64_t seed = o.seed >= 0 ? (uint64_t)o.seed : info->seed;
        /* NSL-KDD's files have no header row; a named schema is NSL-KDD's by its name */
        const sf_schema_t *schema = sf_model_schema(model);
        if (!path && o.data_default &&
            (schema->header || (schema->name[0] && strcmp(schema->name, "nsl-kdd")))) {
                snprintf(err, sizeof(err),
                         "%s was trained on '%s' rows, not NSL-KDD's: pass its rows with --test FILE (the "
                         "file train read its test rows from: its --test file, or its --train file when "
                         "train split that one)",
                         o.model_path, schema->name[0] ? schema->name : "other");
                goto fail;
        }
        if (!path) {
                if (sf_find_data_file(o.data_dir, "KDDTest+.txt", o.path, sizeof(o.path), err, sizeof(err)) !=
                    0)
                        goto fail;
                path = o.path;
        }
        if (!(table = sf_table_new(sf_model_schema(model)))) goto oom;
        if (sf_table_read(table, path, err, sizeof(err)) != 0) goto fail;
        if (find_rows(&o, info, table, seed, &idx, &rows, &n, err, sizeof(err)) != 0) goto fail_at;
        if (n == 0) {
                snprintf(err, sizeof(err), "no rows in the %s split", o.split_name);
                goto fail_at;
        }
        if (sf_dataset_encode(&ds, sf_model_encoder(model), table, path, rows, n, 1, err, sizeof(err)) != 0 ||
            score_rows(model, &ds, &res, err, sizeof(err)) != 0)
                goto fail;
        if ((o.as_json ? print_json(&o, model, path, seed, &res) : print_text(&o, model, path, seed, &res)) !=
                    0 ||
            fflush(stdout) != 0) {
                fprintf(stderr, "streamflow evaluate: cannot write the report to stdout\n");
                goto done;
        }
        rc = 0;
        goto done;
oom:
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
fail_at:
        fprintf(stderr, "streamflow evaluate: %s: %s\n", path, err);
        goto done;
fail:
        fprintf(stderr, "streamflow evaluate: %s\n", err);
done:
        sf_confusion_destroy(&res.cm);
        sf_dataset_free(&ds);
        free(idx);
        sf_table_destroy(table);
        sf_model_destroy(model);
        return rc;
}
