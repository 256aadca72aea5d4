/* A fitted schema: a schema file (schema.h) with one more member,
 * "encoder", the fitted encoder as sf_encoder_to_json writes it (the
 * vocabularies, means, deviations and so the input layout):
 *
 *   {"name": "penguins", "header": true,
 *    "columns": [...],
 *    "encoder": {"inputs": 9,
 *                "numeric": [{"column": "bill_length_mm", "mean": 43.9, "std": 5.4,
 *                             "missing_flag": true}, ...],
 *                "categorical": [{"column": "island", "vocabulary": ["Biscoe", ...]}]}}
 *
 * It is what a network trained elsewhere needs besides its weights: how a
 * raw row becomes the vector it reads. `streamflow schema fit` writes one,
 * `streamflow schema show --model` prints a model's. A fitted schema is
 * also a schema: sf_schema_load reads it and leaves "encoder" alone. */
#ifndef SF_TABLE_FITTED_H
#define SF_TABLE_FITTED_H

#include <jansson.h>
#include <stddef.h>

#include "table/encoder.h"
#include "table/schema.h"

typedef struct sf_fitted {
        sf_schema_t *schema;
        sf_encoder_t *enc;
} sf_fitted_t;

/* Reads a fitted schema from a parsed JSON value (borrowed): the schema by
 * sf_schema_from_json, its "encoder" by sf_encoder_from_json. Errors name
 * `where` and the key ("fitted.json: encoder: numeric[2].std: ..."); a
 * plain schema (no "encoder") is an error saying how to fit one. Returns 0
 * with *out set (sf_fitted_free), or -1 with errstr. */
int sf_fitted_from_json(const json_t *root, const char *where, sf_fitted_t *out, char *errstr,
                        size_t errstr_size);

/* The same from JSON text, and from a file. */
int sf_fitted_parse(const char *text, size_t len, const char *where, sf_fitted_t *out, char *errstr,
                    size_t errstr_size);
int sf_fitted_load(const char *path, sf_fitted_t *out, char *errstr, size_t errstr_size);

/* The fitted schema as text: sf_schema_format's layout with "encoder"
 * added, one numeric or categorical column a line. Reads back with
 * sf_fitted_parse to the same schema and encoder (every float exactly).
 * Returns a malloc'd string or NULL (out of memory). */
char *sf_fitted_format(const sf_schema_t *schema, const sf_encoder_t *enc);

/* Frees both members; a zeroed or NULL out is a no-op. */
void sf_fitted_free(sf_fitted_t *fitted);

#endif
