#include "model/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/row.h"

int sf_dataset_encode(sf_dataset_t *ds, const sf_encoder_t *enc, const sf_table_t *table, const char *path,
                      const size_t *idx, size_t n, int compact, char *errstr, size_t errstr_size) {
        const sf_schema_t *schema = table->schema;
        sf_row_t row;
        memset(ds, 0, sizeof(*ds));
        if (sf_row_init(&row, schema) != 0) {
                snprintf(errstr, errstr_size, "out of memory encoding %zu rows", n);
                return -1;
        }
        ds->n_dense = compact ? enc->n_num + enc->n_flags : enc->n_inputs;
        ds->n_hot = compact ? enc->n_cat : 0;
        size_t m = n ? n : 1;
        ds->x = malloc(m * (size_t)ds->n_dense * sizeof(float));
        ds->y = malloc(m * sizeof(int));
        ds->line = malloc(m * sizeof(uint64_t));
        if (ds->n_hot) ds->hot = malloc(m * (size_t)ds->n_hot * sizeof(int32_t));
        if (!ds->x || !ds->y || !ds->line || (ds->n_hot && !ds->hot)) {
                snprintf(errstr, errstr_size, "out of memory encoding %zu rows", n);
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
                size_t r = idx ? idx[i] : i;
                sf_table_get_row(table, r, &row);
                ds->y[i] = row.label;
                ds->line[i] = table->line ? table->line[r] : 0;
                /* the scaled numbers come first either way */
                float *x = ds->x + i * (size_t)ds->n_dense;
                int odd = compact ? sf_encoder_encode_sparse(enc, &row, x, ds->hot + i * (size_t)ds->n_hot,
                                                             NULL)
                                  : sf_encoder_encode(enc, &row, x, NULL);
                char why[384];
                int col;
                if (sf_encoder_check_scaled(enc, schema, &row, x, &col, why, sizeof(why)) != 0) {
                        if (ds->line[i])
                                snprintf(errstr, errstr_size, "%s:%llu: %s", path,
                                         (unsigned long long)ds->line[i], why);
                        else
                                snprintf(errstr, errstr_size, "%s: row %zu: %s", path, r + 1, why);
                        goto fail;
                }
                if (odd) ds->unseen++;
        }
        ds->n = n;
        sf_row_free(&row);
        return 0;
fail:
        sf_row_free(&row);
        sf_dataset_free(ds);
        return -1;
}
