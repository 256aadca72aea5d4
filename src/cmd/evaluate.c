#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opt.h"
#include "data/kdd.h"
#include "nn/model.h"
#include "nn/train.h"
#include "report/metrics.h"
#include "util/util.h"

enum { OPT_MODEL = SF_OPT_LONG, OPT_DATA, OPT_SPLIT, OPT_SEED, OPT_JSON, OPT_THREADS };

static const sf_option_t options[] = {
        {"model", OPT_MODEL, "FILE", "the model to evaluate (default model.safetensors)"},
        {"data", OPT_DATA, "DIR", "where KDDTest+.txt is, plain or .gz (default: data/nsl-kdd)"},
        {"split", OPT_SPLIT, "SPLIT", "test (default), validation, or all of KDDTest+"},
        {"seed", OPT_SEED, "N",
         "seed of the validation/test split (default: the one the model was trained with)"},
        {"json", OPT_JSON, NULL, "print everything as one JSON object"},
        {"threads", OPT_THREADS, "N", "threads for the matrix products (default 1)"},
        {0}};

static const sf_cmd_spec_t spec = {
        "evaluate",
        NULL,
        "Evaluate a model on the test or validation half of KDDTest+ (the same split `train` used for the "
        "seed):\n"
        "loss, accuracy, sklearn's classification report (digits=4) and the confusion matrix.",
        {options, NULL}};

int cmd_evaluate(int argc, char **argv) {
        char databuf[4096];
        const char *model_path = "model.safetensors", *data_dir = NULL, *split_name = "test";
        long long seed = -1, threads = 1;
        int as_json = 0;

        sf_optparser_t p;
        const char *arg;
        int c;
        sf_opt_init(&p, &spec, argc, argv);
        while ((c = sf_opt_next(&p, &arg)) >= 0) {
                int bad = 0;
                switch (c) {
                case OPT_MODEL:
                        model_path = arg;
                        break;
                case OPT_DATA:
                        data_dir = arg;
                        break;
                case OPT_SPLIT:
                        if (strcmp(arg, "test") != 0 && strcmp(arg, "validation") != 0 &&
                            strcmp(arg, "all") != 0)
                                return sf_opt_usage(&spec,
                                                    "--split expects test, validation or all, got '%s'", arg),
                                       2;
                        split_name = arg;
                        break;
                case OPT_SEED:
                        bad = sf_opt_long(&spec, "--seed", arg, 0, INT64_MAX, &seed);
                        break;
                case OPT_JSON:
                        as_json = 1;
                        break;
                case OPT_THREADS:
                        bad = sf_opt_long(&spec, "--threads", arg, 1, 256, &threads);
                        break;
                }
                if (bad) return 2;
        }
        if (c == SF_OPT_EXIT) return 0;
        if (c == SF_OPT_USAGE) return 2;
        if (p.nops > 0) return sf_opt_usage(&spec, "unexpected argument '%s'", argv[1]), 2;
        if (!data_dir) data_dir = sf_default_data_dir(databuf, sizeof(databuf));

        int rc = 1;
        sf_confusion_t cm = {0};
        const char *names[SF_KDD_NCLASSES];
        for (int i = 0; i < SF_KDD_NCLASSES; i++) names[i] = sf_kdd_class_name(i);
        char err[1024], test_path[4096];
        sf_model_t *model = NULL;
        sf_kdd_rows_t rows = {0};
        size_t *split = NULL;
        sf_dataset_t ds = {0};
        int *pred = NULL;
        json_t *out = NULL;

        sf_nn_set_threads((int)threads);
        if (!(model = sf_model_load(model_path, err, sizeof(err)))) {
                fprintf(stderr, "streamflow evaluate: %s\n", err);
                goto done;
        }
        uint64_t split_seed = seed >= 0 ? (uint64_t)seed : sf_model_info(model)->seed;
        if (sf_kdd_find_file(data_dir, "KDDTest+.txt", test_path, sizeof(test_path), err, sizeof(err)) != 0 ||
            sf_kdd_read_file(test_path, &rows, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow evaluate: %s\n", err);
                goto done;
        }
        split = malloc((rows.n ? rows.n : 1) * sizeof(size_t));
        if (!split) {
                fprintf(stderr, "streamflow evaluate: out of memory\n");
                goto done;
        }
        /* The same permutation as train: first half validation, second half test. */
        sf_kdd_split(rows.n, split_seed, split);
        size_t n_val = rows.n / 2;
        const size_t *idx = split;
        size_t n = rows.n;
        if (strcmp(split_name, "validation") == 0) {
                n = n_val;
        } else if (strcmp(split_name, "test") == 0) {
                idx = split + n_val;
                n = rows.n - n_val;
        } else {
                idx = NULL; /* all rows, in file order */
        }
        if (n == 0) {
                fprintf(stderr, "streamflow evaluate: %s: no rows in the %s split\n", test_path, split_name);
                goto done;
        }
        const sf_nn_t *nn = sf_model_nn(model);
        pred = malloc(n * sizeof(int));
        if (!pred ||
            sf_dataset_encode(&ds, sf_model_encoder(model), &rows, idx, n, 1, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow evaluate: %s: %s\n", test_path, pred ? err : "out of memory");
                goto done;
        }
        double loss, accuracy;
        if (sf_nn_evaluate(nn, &ds, &loss, &accuracy, pred, NULL, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow evaluate: %s: %s\n", test_path, err);
                goto done;
        }
        if (sf_confusion_init(&cm, SF_KDD_NCLASSES, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow evaluate: %s\n", err);
                goto done;
        }
        for (size_t i = 0; i < n; i++) sf_confusion_add(&cm, ds.y[i], pred[i]);

        if (as_json) {
                json_t *report = sf_report_json(&cm, names);
                out = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:I, s:o*}", "model", model_path,
                                "model_id", sf_model_id(model), "data", test_path, "split", split_name,
                                "seed", (json_int_t)split_seed, "rows", (json_int_t)n, "loss", loss,
                                "accuracy", accuracy, "unseen_rows", (json_int_t)ds.unseen, "report", report);
                if (!out || !report) {
                        fprintf(stderr, "streamflow evaluate: out of memory building JSON\n");
                        goto done;
                }
                if (json_dumpf(out, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0) {
                        fprintf(stderr, "streamflow evaluate: write failed\n");
                        goto done;
                }
                printf("\n");
        } else {
                printf("model:    %s (id %s)\n", model_path, sf_model_id(model));
                printf("data:     %s, %s split (seed %llu): %zu rows", test_path, split_name,
                       (unsigned long long)split_seed, n);
                if (ds.unseen) printf(", %zu with categorical values unseen in training", ds.unseen);
                printf("\nloss:     %.4f\naccuracy: %.4f\n\n", loss, accuracy);
                if (sf_report_write(stdout, &cm, names, 4) != 0) goto write_failed;
                printf("\nconfusion matrix (rows: true class, columns: predicted class)\n");
                if (sf_confusion_write(stdout, &cm, names) != 0) goto write_failed;
        }
        if (fflush(stdout) != 0) goto write_failed;
        rc = 0;
        goto done;
write_failed:
        fprintf(stderr, "streamflow evaluate: cannot write the report to stdout\n");
done:
        sf_confusion_destroy(&cm);
        json_decref(out);
        free(pred);
        sf_dataset_free(&ds);
        free(split);
        sf_kdd_rows_free(&rows);
        sf_model_destroy(model);
        return rc;
}
