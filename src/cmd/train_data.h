/* `streamflow train`'s data: where the training and test rows and the
 * schema are, which rows train, validate and test, and their encoding by an
 * encoder fitted on the training rows. Errors are printed to stderr. */
#ifndef SF_CMD_TRAIN_DATA_H
#define SF_CMD_TRAIN_DATA_H

#include <stdint.h>

#include "model/dataset.h"
#include "table/encoder.h"
#include "table/schema.h"

/* What the command line says about the data. */
typedef struct sf_train_data_opts {
        const char *data_dir, *train_file, *test_file, *schema_path; /* --data, --train, --test, --schema */
        long long seed;
        double val_split, test_split;
        int val_split_given; /* --validation-split was on the command line */
} sf_train_data_opts_t;

/* The data of a run; sf_train_data_free releases what it holds. */
typedef struct sf_train_data {
        sf_schema_t *schema;
        sf_encoder_t *enc;
        sf_dataset_t train, val, test;
        int test_file;       /* the test rows come from a file of their own */
        int64_t *class_rows; /* (classes) training rows per class */
        char train_path[4096], test_path[4096], schema_path[4096];
} sf_train_data_t;

/* Where the data and the schema are: --train/--test, or NSL-KDD's two
 * files in --data DIR; the schema from --schema, else schema.json beside
 * the training file. Sets the paths and loads d->schema. Returns 0 or -1. */
int sf_train_data_find(const sf_train_data_opts_t *o, sf_train_data_t *d);

/* Reads the files found by sf_train_data_find, splits the rows and encodes
 * them into d->train, d->val and d->test with d->enc; counts d->class_rows.
 * Returns 0 or -1. */
int sf_train_data_load(const sf_train_data_opts_t *o, sf_train_data_t *d);

/* Releases what d holds (not d itself). */
void sf_train_data_free(sf_train_data_t *d);

#endif
