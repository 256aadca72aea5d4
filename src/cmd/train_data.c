/* `streamflow train`'s data: finding the files, splitting the rows,
 * encoding them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/train_data.h"
#include "table/split.h"
#include "table/table.h"
#include "util/util.h"

int sf_train_data_find(const sf_train_data_opts_t *o, sf_train_data_t *d) {
        char err[1024];
        if (o->train_file) {
                snprintf(d->train_path, sizeof(d->train_path), "%s", o->train_file);
                snprintf(d->test_path, sizeof(d->test_path), "%s", o->test_file ? o->test_file : "");
        } else if (sf_find_data_file(o->data_dir, "KDDTrain+.txt", d->train_path, sizeof(d->train_path), err,
                                     sizeof(err)) != 0 ||
                   sf_find_data_file(o->data_dir, "KDDTest+.txt", d->test_path, sizeof(d->test_path), err,
                                     sizeof(err)) != 0) {
                fprintf(stderr,
                        "streamflow train: %s (use --data DIR to point at the NSL-KDD files, or --train "
                        "FILE)\n",
                        err);
                return -1;
        }
        if (o->schema_path) {
                snprintf(d->schema_path, sizeof(d->schema_path), "%s", o->schema_path);
        } else {
                const char *slash = strrchr(d->train_path, '/');
                int dir = slash ? (int)(slash - d->train_path) : 1;
                snprintf(d->schema_path, sizeof(d->schema_path), "%.*s/schema.json", dir,
                         slash ? d->train_path : ".");
                if (!o->train_file && access(d->schema_path, R_OK) != 0) {
                        /* NSL-KDD's files without a schema beside them: the shipped one */
                        char buf[4096];
                        snprintf(d->schema_path, sizeof(d->schema_path), "%s/schema.json",
                                 sf_default_data_dir(buf, sizeof(buf)));
                }
                if (access(d->schema_path, R_OK) != 0) {
                        fprintf(stderr,
                                "streamflow train: no schema for %s: %s: %s (pass --schema FILE; 'streamflow "
                                "schema infer %s' writes one)\n",
                                d->train_path, d->schema_path, strerror(errno), d->train_path);
                        return -1;
                }
        }
        if (!(d->schema = sf_schema_load(d->schema_path, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        return 0;
}

/* A table of every row of path. */
static sf_table_t *read_table(const sf_schema_t *schema, const char *path) {
        char err[1024];
        sf_table_t *t = sf_table_new(schema);
        if (!t) {
                fprintf(stderr, "streamflow train: out of memory\n");
                return NULL;
        }
        if (sf_table_read(t, path, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                sf_table_destroy(t);
                return NULL;
        }
        if (t->n_rows < 2) {
                fprintf(stderr, "streamflow train: %s: %zu rows; need at least 2\n", path, t->n_rows);
                sf_table_destroy(t);
                return NULL;
        }
        return t;
}

/* Which rows train, validate and test: train rows make *train (owned);
 * validation and test rows are val->idx into *val_src and test->idx into
 * *test_src. */
typedef struct {
        sf_table_t *file, *test_file, *train; /* owned; train may be file */
        const sf_table_t *val_src, *test_src;
        sf_split_t split; /* of `file` when it is split */
        size_t *halves;   /* the test file's halves */
        const size_t *val_idx, *test_idx;
        size_t n_val, n_test;
} rows_t;

static void rows_free(rows_t *w) {
        if (w->train != w->file) sf_table_destroy(w->train);
        sf_table_destroy(w->file);
        sf_table_destroy(w->test_file);
        sf_split_free(&w->split);
        free(w->halves);
}

/* NSL-KDD's way: validation and test are the seeded halves of the test
 * file. Else a stratified split of the training file gives validation
 * (and, without a test file, test) rows. Returns 0 or -1. */
static int split_rows(const sf_train_data_opts_t *o, sf_train_data_t *d, rows_t *w) {
        char err[512];
        d->test_file = w->test_file != NULL;
        if (w->test_file && !o->val_split_given) {
                size_t n = w->test_file->n_rows;
                if (!(w->halves = malloc(n * sizeof(size_t)))) {
                        fprintf(stderr, "streamflow train: out of memory\n");
                        return -1;
                }
                sf_split_halves(n, (uint64_t)o->seed, w->halves);
                w->train = w->file;
                w->val_src = w->test_src = w->test_file;
                w->val_idx = w->halves, w->n_val = n / 2;
                w->test_idx = w->halves + n / 2, w->n_test = n - n / 2;
                return 0;
        }
        double test_frac = w->test_file ? 0 : o->test_split;
        if (sf_split_stratified(w->file->label, w->file->n_rows, d->schema->n_classes, o->val_split,
                                test_frac, (uint64_t)o->seed, &w->split, err, sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s: %s\n", d->train_path, err);
                return -1;
        }
        const sf_split_t *sp = &w->split;
        if (!(w->train = sf_table_select(w->file, sp->idx, sp->n_train))) {
                fprintf(stderr, "streamflow train: out of memory\n");
                return -1;
        }
        w->val_src = w->file;
        w->val_idx = sp->idx + sp->n_train, w->n_val = sp->n_val;
        if (w->test_file) {
                w->test_src = w->test_file;
                w->test_idx = NULL, w->n_test = w->test_file->n_rows;
        } else {
                w->test_src = w->file;
                w->test_idx = sp->idx + sp->n_train + sp->n_val, w->n_test = sp->n_test;
        }
        return 0;
}

/* Encodes the three parts with an encoder fitted on the training rows. */
static int encode_rows(sf_train_data_t *d, const rows_t *w) {
        char err[1024];
        const char *val_path = w->val_src == w->file ? d->train_path : d->test_path;
        const char *test_path = w->test_src == w->file ? d->train_path : d->test_path;
        if (!(d->enc = sf_encoder_fit(w->train, err, sizeof(err)))) {
                fprintf(stderr, "streamflow train: %s: %s\n", d->train_path, err);
                return -1;
        }
        if (sf_dataset_encode(&d->train, d->enc, w->train, d->train_path, NULL, w->train->n_rows, 1, err,
                              sizeof(err)) != 0 ||
            sf_dataset_encode(&d->val, d->enc, w->val_src, val_path, w->val_idx, w->n_val, 1, err,
                              sizeof(err)) != 0 ||
            sf_dataset_encode(&d->test, d->enc, w->test_src, test_path, w->test_idx, w->n_test, 1, err,
                              sizeof(err)) != 0) {
                fprintf(stderr, "streamflow train: %s\n", err);
                return -1;
        }
        int k = d->schema->n_classes;
        if (!(d->class_rows = calloc((size_t)k, sizeof(int64_t)))) {
                fprintf(stderr, "streamflow train: out of memory\n");
                return -1;
        }
        for (int c = 0; c < k; c++) d->class_rows[c] = (int64_t)w->train->class_rows[c];
        return 0;
}

int sf_train_data_load(const sf_train_data_opts_t *o, sf_train_data_t *d) {
        rows_t w = {0};
        int rc = -1;
        if (!(w.file = read_table(d->schema, d->train_path))) goto out;
        if (d->test_path[0] && !(w.test_file = read_table(d->schema, d->test_path))) goto out;
        if (split_rows(o, d, &w) != 0 || encode_rows(d, &w) != 0) goto out;
        rc = 0;
out:
        rows_free(&w);
        return rc;
}

void sf_train_data_free(sf_train_data_t *d) {
        sf_dataset_free(&d->train);
        sf_dataset_free(&d->val);
        sf_dataset_free(&d->test);
        sf_encoder_destroy(d->enc);
        sf_schema_destroy(d->schema);
        free(d->class_rows);
}
