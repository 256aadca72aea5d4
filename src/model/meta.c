/* The model's metadata: what a reader needs besides the weights, as
 * safetensors' __metadata__ strings (structured values as compact JSON
 * text): "format", "format_version", "schema", "encoder", "layer_sizes",
 * "activations", "class_names" and "training". */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_int.h"
#include "util/util.h"

/* ---- writing ---- */

/* Sets meta[key] to the compact JSON text of value (takes ownership). */
static int meta_set_json(json_t *meta, const char *key, json_t *value) {
        if (!value) return -1;
        /* 9 significant digits give back every float exactly. */
        char *text =
                json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
        json_decref(value);
        if (!text) return -1;
        int rc = json_object_set_new(meta, key, json_string(text));
        free(text);
        return rc;
}

static json_t *training_json(const sf_model_info_t *info, int n_classes, const char *extra_json) {
        json_t *t = json_pack("{s:I, s:i, s:i, s:f, s:i, s:I, s:b, s:b, s:f, s:f}", "seed",
                              (json_int_t)info->seed, "epochs", info->epochs, "batch", info->batch, "lr",
                              info->lr, "threads", info->threads, "train_rows", (json_int_t)info->train_rows,
                              "test_file", info->test_file, "test_halves", info->test_halves,
                              "validation_split", info->val_split, "test_split", info->test_split);
        if (t && info->class_rows) {
                json_t *a = json_array();
                for (int c = 0; a && c < n_classes; c++)
                        if (json_array_append_new(a, json_integer((json_int_t)info->class_rows[c])) != 0)
                                json_decref(a), a = NULL;
                if (!a || json_object_set_new(t, "class_rows", a) != 0) json_decref(t), t = NULL;
        }
        if (t && extra_json) {
                json_t *extra = json_loads(extra_json, 0, NULL);
                int rc = json_is_object(extra) ? json_object_update(t, extra) : -1;
                json_decref(extra);
                if (rc != 0) json_decref(t), t = NULL;
        }
        return t;
}

json_t *sf_model_meta_build(const sf_nn_t *nn, const sf_schema_t *schema, const sf_encoder_t *enc,
                            const sf_model_info_t *info, const char *extra_json) {
        json_t *meta = json_object(), *sizes = json_array(), *acts = json_array(), *classes = json_array();
        int ok = meta && sizes && acts && classes;
        for (int l = 0; ok && l <= nn->n_layers; l++)
                ok = json_array_append_new(sizes, json_integer(nn->sizes[l])) == 0;
        for (int l = 0; ok && l < nn->n_layers; l++)
                ok = json_array_append_new(acts, json_string(l + 1 < nn->n_layers ? sf_act_name(nn->act[l])
                                                                                  : "softmax")) == 0;
        for (int c = 0; ok && c < schema->n_classes; c++)
                ok = json_array_append_new(classes, json_string(schema->classes[c])) == 0;
        if (!ok) {
                json_decref(meta), json_decref(sizes), json_decref(acts), json_decref(classes);
                return NULL;
        }
        int rc = 0;
        rc |= json_object_set_new(meta, "format", json_string(MODEL_FORMAT));
        rc |= json_object_set_new(meta, "format_version", json_string(MODEL_FORMAT_VERSION));
        rc |= meta_set_json(meta, "layer_sizes", sizes);
        rc |= meta_set_json(meta, "activations", acts);
        rc |= meta_set_json(meta, "class_names", classes);
        rc |= meta_set_json(meta, "schema", sf_schema_to_json(schema));
        rc |= meta_set_json(meta, "encoder", sf_encoder_to_json(enc, schema));
        rc |= meta_set_json(meta, "training", training_json(info, schema->n_classes, extra_json));
        if (rc) json_decref(meta), meta = NULL;
        return meta;
}

/* ---- reading ---- */

/* meta[key], a string holding JSON; parsed into a new value or NULL with errstr. */
static json_t *meta_json(const json_t *meta, const char *path, const char *key, char *errstr,
                         size_t errstr_size) {
        json_t *s = json_object_get(meta, key);
        if (!json_is_string(s)) {
                sf_seterr(errstr, errstr_size, "%s: metadata '%s' is missing or not a string", path, key);
                return NULL;
        }
        json_error_t jerr;
        json_t *v = json_loadb(json_string_value(s), json_string_length(s), JSON_DECODE_ANY, &jerr);
        if (!v)
                sf_seterr(errstr, errstr_size, "%s: metadata '%s' is not valid JSON: %s", path, key,
                          jerr.text);
        return v;
}

/* "format" and "format_version". */
static int check_format(const json_t *meta, const char *path, char *errstr, size_t errstr_size) {
        json_t *fmt = json_object_get(meta, "format"), *ver = json_object_get(meta, "format_version");
        const char *f = json_is_string(fmt) ? json_string_value(fmt) : "";
        if (strcmp(f, "streamflow-nsl-kdd") == 0) {
                sf_seterr(errstr, errstr_size,
                          "%s: a model file of an earlier StreamFlow (format \"%s\", NSL-KDD only, without "
                          "its schema): train it again with 'streamflow train'",
                          path, f);
                return -1;
        }
        if (strcmp(f, MODEL_FORMAT) != 0) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'format' is not \"%s\": not a StreamFlow model",
                          path, MODEL_FORMAT);
                return -1;
        }
        if (!json_is_string(ver) || strcmp(json_string_value(ver), MODEL_FORMAT_VERSION) != 0) {
                sf_seterr(errstr, errstr_size,
                          "%s: model format version %s; this StreamFlow reads version %s", path,
                          json_is_string(ver) ? json_string_value(ver) : "(none)", MODEL_FORMAT_VERSION);
                return -1;
        }
        return 0;
}

/* Layer sizes and activations: 2 to SF_NN_MAX_LAYERS + 1 sizes 1..65536,
 * hidden ones at most MAX_HIDDEN; one activation per layer, the last
 * "softmax". */
static int load_layers(const json_t *meta, const char *path, sf_model_parts_t *p, char *errstr,
                       size_t errstr_size) {
        json_t *a = meta_json(meta, path, "layer_sizes", errstr, errstr_size), *acts = NULL;
        int rc = -1;
        if (!a) return -1;
        size_t n = json_is_array(a) ? json_array_size(a) : 0;
        if (n < 2 || n > SF_NN_MAX_LAYERS + 1) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'layer_sizes' must list 2 to %d sizes", path,
                          SF_NN_MAX_LAYERS + 1);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_array_get(a, i);
                json_int_t max = i > 0 && i + 1 < n ? MAX_HIDDEN : 65536;
                if (json_is_integer(v) && max == MAX_HIDDEN && json_integer_value(v) > max) {
                        sf_seterr(
                                errstr, errstr_size,
                                "%s: metadata 'layer_sizes'[%zu] is %lld: hidden layers are at most %d wide",
                                path, i, (long long)json_integer_value(v), MAX_HIDDEN);
                        goto out;
                }
                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: metadata 'layer_sizes'[%zu] must be an integer 1..%d", path, i,
                                  (int)max);
                        goto out;
                }
                p->sizes[i] = (int)json_integer_value(v);
        }
        p->n_layers = (int)n - 1;
        if (!(acts = meta_json(meta, path, "activations", errstr, errstr_size))) goto out;
        if (!json_is_array(acts) || json_array_size(acts) != (size_t)p->n_layers) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'activations' must list %d names", path,
                          p->n_layers);
                goto out;
        }
        for (int l = 0; l < p->n_layers; l++) {
                const char *name = json_string_value(json_array_get(acts, (size_t)l));
                int found = -1;
                for (int k = SF_ACT_RELU; name && k <= SF_ACT_TANH && found < 0; k++)
                        if (strcmp(name, sf_act_name((sf_act_t)k)) == 0) found = k;
                if (l + 1 == p->n_layers ? !name || strcmp(name, "softmax") != 0 : found < 0) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: metadata 'activations'[%d] is %s%s%s, expected %s", path, l,
                                  name ? "\"" : "", name ? name : "not a string", name ? "\"" : "",
                                  l + 1 == p->n_layers ? "\"softmax\""
                                                       : "relu, identity, leaky_relu, sigmoid or tanh");
                        goto out;
                }
                if (l + 1 < p->n_layers) p->act[l] = (sf_act_t)found;
        }
        rc = 0;
out:
        json_decref(a);
        json_decref(acts);
        return rc;
}

static int load_class_rows(json_t *t, const char *path, sf_model_parts_t *p, char *errstr,
                           size_t errstr_size) {
        json_t *a = json_object_get(t, "class_rows");
        if (!a) return 0;
        int n = p->schema->n_classes;
        if (!json_is_array(a) || json_array_size(a) != (size_t)n) {
                sf_seterr(errstr, errstr_size, "%s: metadata 'training'.class_rows must list %d counts", path,
                          n);
                return -1;
        }
        if (!(p->class_rows = calloc((size_t)n, sizeof(*p->class_rows)))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                return -1;
        }
        for (int c = 0; c < n; c++) {
                json_t *v = json_array_get(a, (size_t)c);
                if (!json_is_integer(v) || json_integer_value(v) < 0) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: metadata 'training'.class_rows[%d] is not a count", path, c);
                        return -1;
                }
                p->class_rows[c] = (int64_t)json_integer_value(v);
        }
        p->info.class_rows = p->class_rows;
        return 0;
}

static int load_info(const json_t *meta, const char *path, sf_model_parts_t *p, char *errstr,
                     size_t errstr_size) {
        json_t *t = meta_json(meta, path, "training", errstr, errstr_size);
        if (!t) return -1;
        json_int_t seed = 0, rows = 0;
        sf_model_info_t *info = &p->info;
        json_error_t jerr;
        int rc = json_unpack_ex(t, &jerr, 0, "{s:I, s:i, s:i, s:F, s:i, s:I, s:b, s:b, s:F, s:F}", "seed",
                                &seed, "epochs", &info->epochs, "batch", &info->batch, "lr", &info->lr,
                                "threads", &info->threads, "train_rows", &rows, "test_file", &info->test_file,
                                "test_halves", &info->test_halves, "validation_split", &info->val_split,
                                "test_split", &info->test_split);
        if (rc != 0) sf_seterr(errstr, errstr_size, "%s: metadata 'training': %s", path, jerr.text);
        info->seed = (uint64_t)seed;
        info->train_rows = rows;
        if (rc == 0) rc = load_class_rows(t, path, p, errstr, errstr_size);
        json_decref(t);
        return rc;
}

/* "schema", "encoder" and "class_names", which must agree. */
static int load_table(const json_t *meta, const char *path, sf_model_parts_t *p, char *errstr,
                      size_t errstr_size) {
        char where[1100];
        json_t *s = meta_json(meta, path, "schema", errstr, errstr_size), *e = NULL, *c = NULL;
        int rc = -1;
        snprintf(where, sizeof(where), "%s: metadata 'schema'", path);
        if (!s || !(p->schema = sf_schema_from_json(s, where, errstr, errstr_size))) goto out;
        snprintf(where, sizeof(where), "%s: metadata 'encoder'", path);
        if (!(e = meta_json(meta, path, "encoder", errstr, errstr_size)) ||
            !(p->enc = sf_encoder_from_json(e, p->schema, where, errstr, errstr_size)))
                goto out;
        if (!(c = meta_json(meta, path, "class_names", errstr, errstr_size))) goto out;
        int same = json_is_array(c) && json_array_size(c) == (size_t)p->schema->n_classes;
        for (int k = 0; same && k < p->schema->n_classes; k++) {
                const char *name = json_string_value(json_array_get(c, (size_t)k));
                same = name && strcmp(name, p->schema->classes[k]) == 0;
        }
        if (!same) {
                sf_seterr(errstr, errstr_size,
                          "%s: metadata 'class_names' disagrees with the schema's classes", path);
                goto out;
        }
        rc = 0;
out:
        json_decref(s), json_decref(e), json_decref(c);
        return rc;
}

int sf_model_meta_load(const json_t *meta, const char *path, sf_model_parts_t *p, char *errstr,
                       size_t errstr_size) {
        memset(p, 0, sizeof(*p));
        if (check_format(meta, path, errstr, errstr_size) != 0 ||
            load_layers(meta, path, p, errstr, errstr_size) != 0 ||
            load_table(meta, path, p, errstr, errstr_size) != 0 ||
            load_info(meta, path, p, errstr, errstr_size) != 0)
                goto fail;
        if (p->sizes[0] != p->enc->n_inputs || p->sizes[p->n_layers] != p->schema->n_classes) {
                sf_seterr(errstr, errstr_size,
                          "%s: layer_sizes say %d inputs and %d outputs; the encoder gives %d inputs and the "
                          "schema has %d classes",
                          path, p->sizes[0], p->sizes[p->n_layers], p->enc->n_inputs, p->schema->n_classes);
                goto fail;
        }
        return 0;
fail:
        sf_model_parts_free(p);
        return -1;
}

void sf_model_parts_free(sf_model_parts_t *p) {
        sf_encoder_destroy(p->enc);
        sf_schema_destroy(p->schema);
        free(p->class_rows);
        memset(p, 0, sizeof(*p));
}
