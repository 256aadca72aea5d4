#include "table/encoder.h"
#include "util/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash(const char *s, size_t len) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
        return h;
}

void sf_encoder_destroy(sf_encoder_t *enc) {
        if (!enc) return;
        for (int k = 0; enc->cat && k < enc->n_cat; k++) {
                sf_enc_cat_t *c = &enc->cat[k];
                for (int i = 0; c->vocab && i < c->n; i++) free(c->vocab[i]);
                free(c->vocab);
                free(c->len);
                free(c->slots);
        }
        free(enc->cat);
        free(enc->num_col);
        free(enc->mean);
        free(enc->std);
        free(enc->flag_input);
        free(enc);
}

/* An encoder with its arrays for schema's columns, nothing fitted yet. */
static sf_encoder_t *encoder_alloc(const sf_schema_t *schema) {
        sf_encoder_t *enc = calloc(1, sizeof(*enc));
        if (!enc) return NULL;
        size_t nn = (size_t)schema->n_numeric + 1, nc = (size_t)schema->n_categorical + 1;
        enc->n_num = schema->n_numeric;
        enc->n_cat = schema->n_categorical;
        if (!(enc->num_col = calloc(nn, sizeof(int))) || !(enc->mean = calloc(nn, sizeof(float))) ||
            !(enc->std = calloc(nn, sizeof(float))) || !(enc->flag_input = calloc(nn, sizeof(int))) ||
            !(enc->cat = calloc(nc, sizeof(*enc->cat)))) {
                sf_encoder_destroy(enc);
                return NULL;
        }
        for (int j = 0; j < enc->n_num; j++)
                enc->num_col[j] = schema->numeric_cols[j], enc->flag_input[j] = -1;
        for (int k = 0; k < enc->n_cat; k++) enc->cat[k].col = schema->categorical_cols[k];
        return enc;
}

/* Lengths, hash index and one-hot bases after the vocabularies are set;
 * n_inputs from the layout. Returns 0 or -1 (out of memory). */
static int encoder_finish(sf_encoder_t *enc) {
        int base = enc->n_num + enc->n_flags;
        for (int k = 0; k < enc->n_cat; k++) {
                sf_enc_cat_t *c = &enc->cat[k];
                uint32_t size = 16;
                while (size < 2u * (uint32_t)c->n) size *= 2;
                if (!(c->len = calloc((size_t)c->n + 1, sizeof(*c->len))) ||
                    !(c->slots = calloc(size, sizeof(*c->slots))))
                        return -1;
                c->mask = size - 1;
                for (int i = 0; i < c->n; i++) {
                        c->len[i] = strlen(c->vocab[i]);
                        uint32_t h = hash(c->vocab[i], c->len[i]) & c->mask;
                        while (c->slots[h]) h = (h + 1) & c->mask;
                        c->slots[h] = (uint32_t)i + 1;
                }
                c->base = base;
                base += c->n;
        }
        enc->n_inputs = base;
        return 0;
}

static void fit_numeric(sf_encoder_t *enc, const sf_table_t *t) {
        for (int j = 0; j < enc->n_num; j++) {
                int col = enc->num_col[j];
                const float *v = t->num[col];
                const uint8_t *miss = t->missing[col];
                /* Two passes in double: mean, then the population variance
                 * around it. */
                double sum = 0;
                size_t n = 0;
                for (size_t i = 0; i < t->n_rows; i++)
                        if (!miss[i]) sum += v[i], n++;
                double mean = n ? sum / (double)n : 0, ss = 0;
                for (size_t i = 0; i < t->n_rows; i++) {
                        if (miss[i]) continue;
                        double d = v[i] - mean;
                        ss += d * d;
                }
                double sd = n ? sqrt(ss / (double)n) : 0;
                enc->mean[j] = (float)mean;
                enc->std[j] = (sd > 0 && (float)sd > 0) ? (float)sd : 1.0f;
                if (t->n_missing[col]) enc->flag_input[j] = enc->n_num + enc->n_flags++;
        }
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted vocabulary of categorical column k: the values rows use. */
static int fit_vocab(sf_enc_cat_t *c, const sf_table_t *t) {
        const sf_dict_t *d = &t->dict[c->col];
        uint8_t *used = calloc((size_t)d->n + 1, 1);
        if (!used) return -1;
        for (size_t i = 0; i < t->n_rows; i++)
                if (t->cat[c->col][i] != SF_TABLE_NONE) used[t->cat[c->col][i]] = 1;
        int n = 0;
        for (uint32_t id = 0; id < d->n; id++) n += used[id];
        if (!(c->vocab = calloc((size_t)n + 1, sizeof(*c->vocab)))) {
                free(used);
                return -1;
        }
        for (uint32_t id = 0; id < d->n; id++) {
                if (!used[id]) continue;
                if (!(c->vocab[c->n] = strdup(d->str[id]))) {
                        free(used);
                        return -1;
                }
                c->n++;
        }
        free(used);
        qsort(c->vocab, (size_t)c->n, sizeof(*c->vocab), cmp_str);
        return 0;
}

sf_encoder_t *sf_encoder_fit(const sf_table_t *t, char *errstr, size_t errstr_size) {
        if (!t || t->n_rows == 0) {
                sf_seterr(errstr, errstr_size, "no training rows to fit the encoder on");
                return NULL;
        }
        sf_encoder_t *enc = encoder_alloc(t->schema);
        if (!enc) goto oom;
        fit_numeric(enc, t);
        for (int k = 0; k < enc->n_cat; k++)
                if (fit_vocab(&enc->cat[k], t)) goto oom;
        if (encoder_finish(enc)) goto oom;
        return enc;
oom:
        sf_seterr(errstr, errstr_size, "out of memory fitting the encoder");
        sf_encoder_destroy(enc);
        return NULL;
}

static int vocab_find(const sf_enc_cat_t *c, const char *s, size_t len) {
        for (uint32_t h = hash(s, len) & c->mask; c->slots[h]; h = (h + 1) & c->mask) {
                int i = (int)c->slots[h] - 1;
                if (c->len[i] == len && memcmp(c->vocab[i], s, len) == 0) return i;
        }
        return -1;
}

/* The first n_num + n_flags inputs: scaled numbers, then "was missing".
 * Returns the missing numbers without such an input. */
static int encode_numbers(const sf_encoder_t *enc, const sf_row_t *row, float *dense) {
        int odd = 0;
        for (int j = 0; j < enc->n_num; j++) {
                const sf_value_t *v = &row->v[enc->num_col[j]];
                int miss = v->kind != SF_VAL_NUMBER;
                /* a missing value takes the mean: (mean - mean) / std */
                dense[j] = miss ? 0.0f : (v->num - enc->mean[j]) / enc->std[j];
                if (enc->flag_input[j] >= 0)
                        dense[enc->flag_input[j]] = miss ? 1.0f : 0.0f;
                else
                        odd += miss;
        }
        return odd;
}

/* The input index of categorical column k's one, or -1; *st its SF_ENC_*. */
static int encode_category(const sf_enc_cat_t *c, const sf_row_t *row, int *st) {
        const sf_value_t *v = &row->v[c->col];
        if (v->kind != SF_VAL_STRING) {
                *st = SF_ENC_MISSING;
                return -1;
        }
        int i = vocab_find(c, v->str, v->len);
        *st = i >= 0 ? SF_ENC_KNOWN : SF_ENC_UNSEEN;
        return i >= 0 ? c->base + i : -1;
}

int sf_encoder_encode_sparse(const sf_encoder_t *enc, const sf_row_t *row, float *dense, int32_t *hot,
                             uint8_t *status) {
        int odd = encode_numbers(enc, row, dense);
        for (int k = 0; k < enc->n_cat; k++) {
                int st;
                hot[k] = encode_category(&enc->cat[k], row, &st);
                if (status) status[k] = (uint8_t)st;
                odd += st != SF_ENC_KNOWN;
        }
        return odd;
}

int sf_encoder_encode(const sf_encoder_t *enc, const sf_row_t *row, float *x, uint8_t *status) {
        int odd = encode_numbers(enc, row, x);
        int n_fixed = enc->n_num + enc->n_flags;
        memset(x + n_fixed, 0, (size_t)(enc->n_inputs - n_fixed) * sizeof(*x));
        for (int k = 0; k < enc->n_cat; k++) {
                int st, at = encode_category(&enc->cat[k], row, &st);
                if (at >= 0) x[at] = 1.0f;
                if (status) status[k] = (uint8_t)st;
                odd += st != SF_ENC_KNOWN;
        }
        return odd;
}

int sf_encoder_check_scaled(const sf_encoder_t *enc, const sf_schema_t *schema, const sf_row_t *row,
                            const float *dense, int *col, char *errstr, size_t errstr_size) {
        int bad = 0;
        for (int j = 0; j < enc->n_num; j++) bad |= !isfinite(dense[j]);
        if (!bad) return 0;
        int j = 0;
        while (isfinite(dense[j])) j++;
        int c = enc->num_col[j];
        *col = c;
        sf_seterr(errstr, errstr_size,
                  "column %d (%s): %g is out of range: scaled by the model's mean and deviation it becomes "
                  "%g, which cannot be scored",
                  c + 1, schema->cols[c].name, (double)row->v[c].num, (double)dense[j]);
        return -1;
}

json_t *sf_encoder_to_json(const sf_encoder_t *enc, const sf_schema_t *schema) {
        json_t *root = json_object(), *num = json_array(), *cat = json_array();
        if (!root || !num || !cat || json_object_set_new(root, "inputs", json_integer(enc->n_inputs)) ||
            json_object_set(root, "numeric", num) || json_object_set(root, "categorical", cat))
                goto fail;
        for (int j = 0; j < enc->n_num; j++) {
                json_t *o = json_pack("{s:s, s:f, s:f, s:b}", "column", schema->cols[enc->num_col[j]].name,
                                      "mean", (double)enc->mean[j], "std", (double)enc->std[j],
                                      "missing_flag", enc->flag_input[j] >= 0);
                if (!o || json_array_append_new(num, o)) goto fail;
        }
        for (int k = 0; k < enc->n_cat; k++) {
                json_t *vocab = json_array();
                json_t *o = json_pack("{s:s, s:o}", "column", schema->cols[enc->cat[k].col].name,
                                      "vocabulary", vocab);
                if (!o || json_array_append_new(cat, o)) goto fail;
                for (int i = 0; i < enc->cat[k].n; i++)
                        if (json_array_append_new(vocab, json_string(enc->cat[k].vocab[i]))) goto fail;
        }
        json_decref(num);
        json_decref(cat);
        return root;
fail:
        json_decref(num);
        json_decref(cat);
        json_decref(root);
        return NULL;
}

/* numeric[j] of the encoder JSON. */
static int numeric_from_json(sf_encoder_t *enc, const json_t *o, int j, const sf_schema_t *schema,
                             const char *where, char *errstr, size_t errstr_size) {
        const char *want = schema->cols[enc->num_col[j]].name;
        const json_t *col = json_object_get(o, "column"), *mean = json_object_get(o, "mean");
        const json_t *std = json_object_get(o, "std"), *flag = json_object_get(o, "missing_flag");
        if (!json_is_string(col) || strcmp(json_string_value(col), want) != 0) {
                sf_seterr(errstr, errstr_size,
                          "%s: numeric[%d].column: expected \"%s\" (the schema's numeric column %d)", where,
                          j, want, j + 1);
                return -1;
        }
        if (!json_is_number(mean) || !isfinite(json_number_value(mean)) ||
            !isfinite((float)json_number_value(mean))) {
                sf_seterr(errstr, errstr_size, "%s: numeric[%d].mean: expected a finite number", where, j);
                return -1;
        }
        if (!json_is_number(std) || !isfinite(json_number_value(std)) ||
            !((float)json_number_value(std) > 0) || !isfinite((float)json_number_value(std))) {
                sf_seterr(errstr, errstr_size, "%s: numeric[%d].std: expected a finite number > 0", where, j);
                return -1;
        }
        if (flag && !json_is_boolean(flag)) {
                sf_seterr(errstr, errstr_size, "%s: numeric[%d].missing_flag: expected true or false", where,
                          j);
                return -1;
        }
        enc->mean[j] = (float)json_number_value(mean);
        enc->std[j] = (float)json_number_value(std);
        if (json_is_true(flag)) enc->flag_input[j] = enc->n_num + enc->n_flags++;
        return 0;
}

/* categorical[k] of the encoder JSON. */
static int categorical_from_json(sf_enc_cat_t *c, const json_t *o, int k, const sf_schema_t *schema,
                                 const char *where, char *errstr, size_t errstr_size) {
        const char *want = schema->cols[c->col].name;
        const json_t *col = json_object_get(o, "column"), *vocab = json_object_get(o, "vocabulary");
        if (!json_is_string(col) || strcmp(json_string_value(col), want) != 0) {
                sf_seterr(errstr, errstr_size,
                          "%s: categorical[%d].column: expected \"%s\" (the schema's categorical column %d)",
                          where, k, want, k + 1);
                return -1;
        }
        if (!json_is_array(vocab)) {
                sf_seterr(errstr, errstr_size, "%s: categorical[%d].vocabulary: expected an array of strings",
                          where, k);
                return -1;
        }
        size_t n = json_array_size(vocab);
        if (!(c->vocab = calloc(n + 1, sizeof(*c->vocab)))) return -2;
        for (size_t i = 0; i < n; i++) {
                const json_t *s = json_array_get(vocab, i);
                if (!json_is_string(s) || (i > 0 && strcmp(c->vocab[i - 1], json_string_value(s)) >= 0)) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: categorical[%d].vocabulary[%zu]: expected a string after \"%s\" "
                                  "(sorted, "
                                  "distinct)",
                                  where, k, i, i ? c->vocab[i - 1] : "");
                        return -1;
                }
                if (!(c->vocab[i] = strdup(json_string_value(s)))) return -2;
                c->n = (int)i + 1;
        }
        return 0;
}

sf_encoder_t *sf_encoder_from_json(const json_t *root, const sf_schema_t *schema, const char *where,
                                   char *errstr, size_t errstr_size) {
        const json_t *num = json_object_get(root, "numeric"), *cat = json_object_get(root, "categorical");
        const json_t *inputs = json_object_get(root, "inputs");
        if (!json_is_array(num) || json_array_size(num) != (size_t)schema->n_numeric || !json_is_array(cat) ||
            json_array_size(cat) != (size_t)schema->n_categorical || !json_is_integer(inputs)) {
                sf_seterr(errstr, errstr_size,
                          "%s: expected {\"inputs\": N, \"numeric\": [%d columns], \"categorical\": [%d "
                          "columns]}",
                          where, schema->n_numeric, schema->n_categorical);
                return NULL;
        }
        sf_encoder_t *enc = encoder_alloc(schema);
        if (!enc) goto oom;
        for (int j = 0; j < enc->n_num; j++)
                if (numeric_from_json(enc, json_array_get(num, (size_t)j), j, schema, where, errstr,
                                      errstr_size))
                        goto fail;
        for (int k = 0; k < enc->n_cat; k++) {
                int rc = categorical_from_json(&enc->cat[k], json_array_get(cat, (size_t)k), k, schema, where,
                                               errstr, errstr_size);
                if (rc == -2) goto oom;
                if (rc) goto fail;
        }
        if (encoder_finish(enc)) goto oom;
        if (json_integer_value(inputs) != enc->n_inputs) {
                sf_seterr(errstr, errstr_size, "%s: inputs: %lld, but the layout gives %d", where,
                          (long long)json_integer_value(inputs), enc->n_inputs);
                goto fail;
        }
        return enc;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", where);
fail:
        sf_encoder_destroy(enc);
        return NULL;
}
