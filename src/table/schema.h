/* A table's schema: its columns in file order, each numeric, categorical,
 * the label, or ignored, and the label's classes. Stored as JSON (a
 * schema.json beside the data, and later in the model file):
 *
 *   {"name": "nsl-kdd", "header": false,
 *    "columns": [{"name": "duration", "type": "numeric"},
 *                {"name": "protocol_type", "type": "categorical"}, ...,
 *                {"name": "label", "type": "label",
 *                 "classes": ["normal", "DoS", "Probe", "R2L", "U2R"],
 *                 "map": {"neptune": "DoS", "smurf": "DoS", ...}},
 *                {"name": "difficulty", "type": "ignore"}]}
 *
 * "name" is optional, "header" (does the CSV start with a header row?)
 * defaults to true, "columns" is required. Exactly one column is the label;
 * "classes" (at least two, distinct) fixes the class order; "map" (optional)
 * sends raw label values to classes: a raw value is looked up in the map
 * first, then among the class names. "encoder" (a fitted schema, see
 * table/fitted.h) is left to sf_fitted_from_json. Unknown keys are errors. */
#ifndef SF_TABLE_SCHEMA_H
#define SF_TABLE_SCHEMA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SF_COL_NUMERIC, SF_COL_CATEGORICAL, SF_COL_LABEL, SF_COL_IGNORE } sf_col_type_t;

/* "numeric", "categorical", "label", "ignore". */
const char *sf_col_type_name(sf_col_type_t type);

typedef struct sf_schema_col {
        char *name;
        sf_col_type_t type;
} sf_schema_col_t;

typedef struct sf_schema {
        char *name; /* "" when the file gives none */
        int header; /* the CSV starts with a header row */
        int n_cols;
        sf_schema_col_t *cols;
        int label_col; /* index into cols */
        int n_classes;
        char **classes;
        int n_map; /* raw label -> class, sorted by map_from (strcmp) */
        char **map_from;
        int *map_to;
        /* A hash index over the label's raw values (map keys, then class
         * names): slot -> key + 1, 0 when empty; keys[k] maps to key_class[k]. */
        uint32_t *label_slots;
        uint32_t label_mask;
        int n_keys;
        const char **keys; /* borrowed from map_from and classes */
        size_t *key_len;
        int *key_class;
        int n_numeric, n_categorical;
        /* A CSV record may leave off the label and ignore columns after the
         * last feature column: it has min_fields to n_cols fields (NSL-KDD's
         * 41, 42 or 43). */
        int min_fields;
        int *numeric_cols, *categorical_cols; /* column indices, file order */
} sf_schema_t;

/* Reads and checks a schema file. Errors name the file and the key, e.g.
 * `schema.json: columns[3].type: unknown type "numbr" (expected numeric,
 * categorical, label or ignore)`. Returns a new schema (sf_schema_destroy)
 * or NULL. */
sf_schema_t *sf_schema_load(const char *path, char *errstr, size_t errstr_size);

/* The JSON of a schema file (duplicate keys refused): a new reference, or
 * NULL with errstr naming the file (and line and column when it is not
 * JSON). */
json_t *sf_schema_read_json(const char *path, char *errstr, size_t errstr_size);

/* The same from JSON text; `where` names it in errors ("schema.json"). */
sf_schema_t *sf_schema_parse(const char *text, size_t len, const char *where, char *errstr,
                             size_t errstr_size);

/* The same from a parsed JSON value (borrowed). */
sf_schema_t *sf_schema_from_json(const json_t *root, const char *where, char *errstr, size_t errstr_size);

/* The schema as JSON, the shape sf_schema_from_json reads. New reference,
 * or NULL when out of memory. */
json_t *sf_schema_to_json(const sf_schema_t *schema);

/* Index of the column named name, or -1. */
int sf_schema_find(const sf_schema_t *schema, const char *name);

/* The class of a raw label value s[0..len) (map first, then class names),
 * or -1 when it is neither. */
int sf_schema_class(const sf_schema_t *schema, const char *s, size_t len);

/* The schema as text in the layout of the shipped schema files: one
 * column per line, the label's classes on a line, its map one entry per
 * line. Returns a malloc'd string (the caller frees) or NULL. */
char *sf_schema_format(const sf_schema_t *schema);

/* Infers a schema from a CSV file with a header row: a column whose every
 * non-empty value is a number is numeric, any other categorical; the label
 * is the column named label (NULL: the last column), its classes its
 * distinct values sorted by strcmp (every row needs one; 2 to 1000 of
 * them). name goes into the schema ("" for none). Returns 0 with *out set,
 * -1 (unreadable or malformed file) or -2 (no column named label; errstr
 * suggests the closest) with errstr set. */
int sf_schema_infer(const char *path, const char *label, const char *name, sf_schema_t **out, char *errstr,
                    size_t errstr_size);

/* NULL is a no-op. */
void sf_schema_destroy(sf_schema_t *schema);

#endif
