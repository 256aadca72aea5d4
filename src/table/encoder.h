/* Turns a row into the network's inputs, fitted on training rows.
 *
 * Input layout (n_inputs floats):
 *   [0, n_num)              each numeric column in file order, (x - mean) / std
 *                           (population std of the training values; std 0
 *                           divides by 1, as sklearn's StandardScaler); a
 *                           missing value takes the mean, so encodes as 0
 *   [n_num, +n_flags)       a 0/1 "was missing" input for each numeric column
 *                           that had missing values in training, file order
 *   then, per categorical   one-hot over the column's training vocabulary,
 *   column in file order    sorted by strcmp; a missing or unseen value is
 *                           all zeros and is reported
 * Mean and std are over the values present. For NSL-KDD (38 numeric, no
 * missing values, 3 categorical) this is the usual 122-input layout:
 * 38 scaled numbers, then protocol_type (3), service (70) and flag (11). */
#ifndef SF_TABLE_ENCODER_H
#define SF_TABLE_ENCODER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "table/row.h"
#include "table/schema.h"
#include "table/table.h"

typedef struct sf_enc_cat {
        int col;      /* schema column */
        int base;     /* first input of the one-hot block */
        int n;        /* vocabulary size */
        char **vocab; /* sorted by strcmp, owned */
        size_t *len;
        uint32_t *slots; /* hash index: entry + 1, 0 empty */
        uint32_t mask;
} sf_enc_cat_t;

typedef struct sf_encoder {
        int n_inputs;
        int n_num;    /* numeric columns */
        int *num_col; /* [n_num] schema columns */
        float *mean, *std;
        int *flag_input; /* [n_num] input of the "was missing" flag, or -1 */
        int n_flags;
        int n_cat;
        sf_enc_cat_t *cat;
} sf_encoder_t;

/* Per categorical column, what sf_encoder_encode found. */
enum { SF_ENC_KNOWN = 0, SF_ENC_UNSEEN = 1, SF_ENC_MISSING = 2 };

/* Fits on every row of table. Returns a new encoder (sf_encoder_destroy) or
 * NULL with errstr set. */
sf_encoder_t *sf_encoder_fit(const sf_table_t *table, char *errstr, size_t errstr_size);
void sf_encoder_destroy(sf_encoder_t *enc);

/* Encodes row into x (n_inputs floats). status (n_cat entries, may be NULL)
 * gets SF_ENC_* per categorical column. Returns how many values the
 * training data had nothing like: unseen or missing categorical values, and
 * missing numbers in a column that had none in training (no "was missing"
 * input to say so). */
int sf_encoder_encode(const sf_encoder_t *enc, const sf_row_t *row, float *x, uint8_t *status);

/* The compact form of sf_encoder_encode, for a first layer that gathers
 * instead of multiplying: dense gets the first n_num + n_flags inputs (the
 * scaled numbers, then the "was missing" inputs) and hot[k] the input index
 * of categorical column k's one, or -1 when the value is missing or unseen.
 * Returns as sf_encoder_encode, and fills status the same way. */
int sf_encoder_encode_sparse(const sf_encoder_t *enc, const sf_row_t *row, float *dense, int32_t *hot,
                             uint8_t *status);

/* After sf_encoder_encode_sparse or sf_encoder_encode: 0 when the n_num
 * scaled numbers (the first n_num values of dense) are finite, else -1 with
 * *col the schema column of the first that is not and errstr saying so
 * ("column 5 (src_bytes): 3.4e+38 is out of range: ..."). A number close to
 * FLT_MAX parses but overflows once scaled; such a row must not be scored
 * (the network would turn the inf into NaN, and ReLU the NaN into 0). */
int sf_encoder_check_scaled(const sf_encoder_t *enc, const sf_schema_t *schema, const sf_row_t *row,
                            const float *dense, int *col, char *errstr, size_t errstr_size);

/* The fitted encoder as JSON (for the model file):
 *   {"inputs": 122,
 *    "numeric": [{"column": "duration", "mean": ..., "std": ..., "missing_flag": false}, ...],
 *    "categorical": [{"column": "protocol_type", "vocabulary": ["icmp", "tcp", "udp"]}, ...]}
 * The layout follows from the order. New reference, or NULL (out of memory). */
json_t *sf_encoder_to_json(const sf_encoder_t *enc, const sf_schema_t *schema);

/* An encoder from sf_encoder_to_json's JSON, checked against schema (the
 * same numeric and categorical columns in the same order; vocabularies
 * sorted and distinct; finite means, deviations > 0; "inputs" matching).
 * Errors name `where` and the key. Returns a new encoder or NULL. */
sf_encoder_t *sf_encoder_from_json(const json_t *root, const sf_schema_t *schema, const char *where,
                                   char *errstr, size_t errstr_size);

#endif
