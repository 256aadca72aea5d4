/* A table encoded for the network: what train and evaluate feed the
 * trainer (src/nn/train.h's sf_dataset_t). */
#ifndef SF_MODEL_DATASET_H
#define SF_MODEL_DATASET_H

#include <stddef.h>

#include "nn/train.h"
#include "table/encoder.h"
#include "table/table.h"

/* Encodes table rows idx[i] (all rows in order when idx is NULL) for i in
 * 0..n with enc, compact (sf_encoder_encode_sparse) or dense. Every row
 * must scale to finite values (sf_encoder_check_scaled). path names the
 * table's file in errors: "PATH:LINE: column C (name): ..." ("row R" when
 * the table has no line numbers). Returns 0, or -1 with errstr. Free with
 * sf_dataset_free. */
int sf_dataset_encode(sf_dataset_t *ds, const sf_encoder_t *enc, const sf_table_t *table, const char *path,
                      const size_t *idx, size_t n, int compact, char *errstr, size_t errstr_size);

#endif
