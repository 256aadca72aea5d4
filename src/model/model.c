/* A model: the schema, the encoder and the network read from a model file
 * (safetensors written by `streamflow train`, or an ONNX export of one),
 * and the forward passes over encoded rows. */
#include "model/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_int.h"
#include "onnx/onnx_io.h"
#include "table/fitted.h"
#include "util/utf8.h"
#include "util/util.h"

#define PREDICT_CHUNK 4096 /* rows per forward pass in sf_model_predict */

struct sf_model {
        sf_nn_t *nn;
        sf_model_parts_t parts; /* schema, encoder, training information */
        char id[17];
        int foreign;   /* loaded with a fitted schema */
        sf_nn_ws_t ws; /* allocated on first predict */
};

/* ---- reading ---- */

static int looks_like_onnx(const char *path, const uint8_t *buf, size_t size) {
        size_t n = strlen(path);
        if (n >= 5 && strcmp(path + n - 5, ".onnx") == 0) return 1;
        return size > 8 && buf[0] == 0x08 && buf[8] != '{';
}

/* A model from an ONNX file that StreamFlow exported: the network from the
 * graph, everything else from its metadata_props, which hold the same keys
 * as a safetensors model's __metadata__. */
static sf_model_t *load_onnx(const char *path, const uint8_t *buf, size_t size, char *errstr,
                             size_t errstr_size) {
        sf_onnx_import_t imp;
        sf_model_t *model = NULL;
        json_t *meta = NULL;
        if (sf_onnx_read_mem(path, buf, size, &imp, errstr, errstr_size) != 0) return NULL;
        const char *fmt = sf_onnx_meta_get(&imp, "format");
        if (!fmt || (strcmp(fmt, MODEL_FORMAT) != 0 && strcmp(fmt, "streamflow-nsl-kdd") != 0)) {
                sf_seterr(
                        errstr, errstr_size,
                        "%s: a network without StreamFlow's metadata (format \"%s\"): StreamFlow cannot tell "
                        "how to encode rows for it; give it with --schema FITTED.json (written by "
                        "'streamflow schema fit' from the training data)",
                        path, MODEL_FORMAT);
                goto fail;
        }
        if (imp.added_softmax) {
                sf_seterr(errstr, errstr_size, "%s: a StreamFlow export ends in Softmax; this graph does not",
                          path);
                goto fail;
        }
        if (!(meta = json_object())) goto oom;
        for (int i = 0; i < imp.n_meta; i++) {
                const char *k = imp.meta[i].key, *v = imp.meta[i].value;
                if (sf_utf8_valid_len(k, strlen(k)) != strlen(k) ||
                    sf_utf8_valid_len(v, strlen(v)) != strlen(v)) {
                        sf_seterr(errstr, errstr_size,
                                  "%s: metadata_props entry %d is not valid UTF-8 text (a damaged file?)",
                                  path, i + 1);
                        goto fail;
                }
                if (json_object_set_new(meta, k, json_string(v)) != 0) goto oom;
        }
        if (!(model = calloc(1, sizeof(*model)))) goto oom;
        if (sf_model_meta_load(meta, path, &model->parts, errstr, errstr_size) != 0) goto fail;
        int same = model->parts.n_layers == imp.nn->n_layers;
        for (int l = 0; same && l <= imp.nn->n_layers; l++) same = model->parts.sizes[l] == imp.nn->sizes[l];
        if (!same) {
                sf_seterr(errstr, errstr_size,
                          "%s: the graph's layers do not match its metadata 'layer_sizes'", path);
                goto fail;
        }
        model->nn = imp.nn, imp.nn = NULL;
        if (sf_model_file_id(buf, size, model->id) != 0) {
                sf_seterr(errstr, errstr_size, "%s: SHA-256 failed", path);
                goto fail;
        }
        json_decref(meta);
        sf_onnx_import_free(&imp);
        return model;
oom:
        sf_seterr(errstr, errstr_size, "%s: out of memory", path);
fail:
        json_decref(meta);
        sf_onnx_import_free(&imp);
        sf_model_destroy(model);
        return NULL;
}

/* The network of a safetensors model: every tensor layer_sizes declares,
 * with its shape, covering the data exactly, every value finite. The
 * header is checked against the data before the network is allocated. */
static int load_weights(sf_model_t *model, const json_t *header, const char *path, const uint8_t *data,
                        size_t data_len, char *errstr, size_t errstr_size) {
        sf_model_span_t spans[2 * SF_NN_MAX_LAYERS];
        float *dst[2 * SF_NN_MAX_LAYERS];
        char names[2 * SF_NN_MAX_LAYERS][32], why[256];
        int n = sf_model_nn_spans(header, path, model->parts.sizes, model->parts.n_layers, data_len, spans,
                                  names, errstr, errstr_size);
        if (n < 0 || sf_model_check_spans(header, path, spans, n, data_len, errstr, errstr_size) != 0)
                return -1;
        if (!(model->nn = sf_nn_create(model->parts.sizes, model->parts.n_layers, why, sizeof(why)))) {
                sf_seterr(errstr, errstr_size, "%s: %s", path, why);
                return -1;
        }
        for (int l = 0; l + 1 < model->parts.n_layers; l++) model->nn->act[l] = model->parts.act[l];
        sf_model_nn_dsts(model->nn, dst);
        return sf_model_copy_spans(path, spans, n, dst, data, errstr, errstr_size);
}

sf_model_t *sf_model_load(const char *path, char *errstr, size_t errstr_size) {
        size_t size = 0, data_off = 0;
        uint8_t *buf = sf_model_read_file(path, &size, errstr, errstr_size);
        if (!buf) return NULL;
        sf_model_t *model = NULL;
        json_t *header = NULL;
        if (looks_like_onnx(path, buf, size)) {
                model = load_onnx(path, buf, size, errstr, errstr_size);
                free(buf);
                return model;
        }
        if (!(header = sf_model_header(buf, size, path, &data_off, errstr, errstr_size))) goto fail;
        if (json_object_get(json_object_get(header, "__metadata__"), "checkpoint")) {
                sf_seterr(
                        errstr, errstr_size,
                        "%s: a training checkpoint, not a model (resume it with 'streamflow train --resume')",
                        path);
                goto fail;
        }
        if (!(model = calloc(1, sizeof(*model)))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto fail;
        }
        if (sf_model_meta_load(json_object_get(header, "__metadata__"), path, &model->parts, errstr,
                               errstr_size) != 0 ||
            load_weights(model, header, path, buf + data_off, size - data_off, errstr, errstr_size) != 0)
                goto fail;
        if (sf_model_file_id(buf, size, model->id) != 0) {
                sf_seterr(errstr, errstr_size, "%s: SHA-256 failed", path);
                goto fail;
        }
        json_decref(header);
        free(buf);
        return model;
fail:
        json_decref(header);
        free(buf);
        sf_model_destroy(model);
        return NULL;
}

/* The network of an ONNX graph and the fitted schema's schema and encoder,
 * which must fit together. */
static sf_model_t *load_foreign(const char *path, const uint8_t *buf, size_t size, const char *fitted_path,
                                const uint8_t *fbuf, size_t fsize, char *errstr, size_t errstr_size) {
        sf_onnx_import_t imp;
        sf_fitted_t fitted;
        sf_model_t *model = NULL;
        if (sf_fitted_parse((const char *)fbuf, fsize, fitted_path, &fitted, errstr, errstr_size) != 0)
                return NULL;
        if (sf_onnx_read_mem(path, buf, size, &imp, errstr, errstr_size) != 0) goto fail;
        const sf_nn_t *nn = imp.nn;
        if (nn->sizes[0] != fitted.enc->n_inputs) {
                sf_seterr(errstr, errstr_size,
                          "%s: the network reads %d inputs, but %s encodes a row into %d (its encoder's "
                          "\"inputs\"): it was fitted for another network or other columns",
                          path, nn->sizes[0], fitted_path, fitted.enc->n_inputs);
                goto fail;
        }
        if (nn->sizes[nn->n_layers] != fitted.schema->n_classes) {
                sf_seterr(errstr, errstr_size,
                          "%s: the network gives %d scores, but %s has %d classes (the label's \"classes\")",
                          path, nn->sizes[nn->n_layers], fitted_path, fitted.schema->n_classes);
                goto fail;
        }
        if (!(model = calloc(1, sizeof(*model)))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto fail;
        }
        model->parts.schema = fitted.schema, model->parts.enc = fitted.enc;
        fitted.schema = NULL, fitted.enc = NULL;
        model->parts.n_layers = nn->n_layers;
        for (int l = 0; l <= nn->n_layers; l++) model->parts.sizes[l] = nn->sizes[l];
        for (int l = 0; l + 1 < nn->n_layers; l++) model->parts.act[l] = nn->act[l];
        model->nn = imp.nn, imp.nn = NULL;
        model->foreign = 1;
        if (sf_model_files_id(buf, size, fbuf, fsize, model->id) != 0) {
                sf_seterr(errstr, errstr_size, "%s: SHA-256 failed", path);
                goto fail;
        }
        sf_onnx_import_free(&imp);
        return model;
fail:
        sf_onnx_import_free(&imp);
        sf_fitted_free(&fitted);
        sf_model_destroy(model);
        return NULL;
}

/* The fitted schema's bytes (at most 64 MB), for the parser and the id. */
static uint8_t *read_fitted(const char *path, size_t *size, char *errstr, size_t errstr_size) {
        FILE *fp = fopen(path, "rb");
        if (!fp) {
                sf_seterr(errstr, errstr_size, "cannot open fitted schema %s: %s", path, strerror(errno));
                return NULL;
        }
        size_t cap = 1 << 16, max = 64u << 20;
        uint8_t *buf = malloc(cap), *nb;
        *size = 0;
        while (buf) {
                *size += fread(buf + *size, 1, cap - *size, fp);
                if (*size < cap || cap == max) break;
                cap *= 2;
                if (!(nb = realloc(buf, cap))) free(buf);
                buf = nb;
        }
        int bad = !buf || ferror(fp) || (*size == cap && fgetc(fp) != EOF);
        fclose(fp);
        if (bad) {
                sf_seterr(errstr, errstr_size, "%s: %s", path,
                          !buf           ? "out of memory"
                          : *size == cap ? "larger than 64 MB"
                                         : "read error");
                free(buf);
                return NULL;
        }
        return buf;
}

sf_model_t *sf_model_load_with(const char *path, const char *fitted_path, char *errstr, size_t errstr_size) {
        if (!fitted_path) return sf_model_load(path, errstr, errstr_size);
        size_t size = 0, fsize = 0;
        uint8_t *buf = sf_model_read_file(path, &size, errstr, errstr_size), *fbuf = NULL;
        sf_model_t *model = NULL;
        if (!buf) return NULL;
        if (!looks_like_onnx(path, buf, size))
                sf_seterr(errstr, errstr_size,
                          "%s: a StreamFlow model file, which carries its own schema: a fitted schema (%s) "
                          "goes with an ONNX network trained elsewhere",
                          path, fitted_path);
        else if ((fbuf = read_fitted(fitted_path, &fsize, errstr, errstr_size)))
                model = load_foreign(path, buf, size, fitted_path, fbuf, fsize, errstr, errstr_size);
        free(buf);
        free(fbuf);
        return model;
}

int sf_model_foreign(const sf_model_t *model) {
        return model->foreign;
}

void sf_model_destroy(sf_model_t *model) {
        if (!model) return;
        sf_nn_ws_free(&model->ws);
        sf_nn_destroy(model->nn);
        sf_model_parts_free(&model->parts);
        free(model);
}

const sf_schema_t *sf_model_schema(const sf_model_t *model) {
        return model->parts.schema;
}

const sf_encoder_t *sf_model_encoder(const sf_model_t *model) {
        return model->parts.enc;
}

int sf_model_classes(const sf_model_t *model) {
        return model->parts.schema->n_classes;
}

const char *sf_model_id(const sf_model_t *model) {
        return model->id;
}

const sf_nn_t *sf_model_nn(const sf_model_t *model) {
        return model->nn;
}

const sf_model_info_t *sf_model_info(const sf_model_t *model) {
        return &model->parts.info;
}

/* ---- inference ---- */

static int predict_rows(const sf_model_t *model, sf_nn_ws_t *ws, const float *x, int n_dense,
                        const int32_t *hot, int n_hot, size_t n, float *probs) {
        int want = n < PREDICT_CHUNK ? (int)n : PREDICT_CHUNK;
        if (n == 0) return 0;
        if (ws->max_batch < want) {
                sf_nn_ws_free(ws);
                if (sf_nn_ws_init(ws, model->nn, want, 0) != 0) return -1;
        }
        int n_out = model->nn->sizes[model->nn->n_layers];
        for (size_t i = 0; i < n; i += (size_t)ws->max_batch) {
                int b = n - i < (size_t)ws->max_batch ? (int)(n - i) : ws->max_batch;
                sf_nn_input_t in = {x + i * (size_t)n_dense, hot ? hot + i * (size_t)n_hot : NULL, n_dense,
                                    hot ? n_hot : 0};
                sf_nn_forward(model->nn, ws, &in, NULL, b);
                memcpy(probs + i * (size_t)n_out, ws->probs, (size_t)b * n_out * sizeof(float));
        }
        return 0;
}

int sf_model_predict(sf_model_t *model, const float *x, size_t n, float *probs) {
        return predict_rows(model, &model->ws, x, model->nn->sizes[0], NULL, 0, n, probs);
}

int sf_model_predict_sparse(sf_model_t *model, const float *dense, const int32_t *hot, size_t n,
                            float *probs) {
        return sf_model_predict_sparse_ws(model, &model->ws, dense, hot, n, probs);
}

int sf_model_predict_sparse_ws(const sf_model_t *model, sf_nn_ws_t *ws, const float *dense,
                               const int32_t *hot, size_t n, float *probs) {
        const sf_encoder_t *enc = model->parts.enc;
        return predict_rows(model, ws, dense, enc->n_num + enc->n_flags, enc->n_cat ? hot : NULL, enc->n_cat,
                            n, probs);
}

int sf_model_probs_finite(const sf_model_t *model, const float *probs) {
        int finite = 1;
        for (int k = 0; k < model->parts.schema->n_classes; k++) finite &= isfinite(probs[k]) != 0;
        return finite;
}

/* ---- writing ---- */

int sf_model_save_extra(const char *path, const sf_nn_t *nn, const sf_schema_t *schema,
                        const sf_encoder_t *enc, const sf_model_info_t *info, const char *extra_json,
                        char *errstr, size_t errstr_size) {
        if (nn->sizes[0] != enc->n_inputs || nn->sizes[nn->n_layers] != schema->n_classes) {
                sf_seterr(
                        errstr, errstr_size,
                        "%s: network shape %d -> %d does not fit the encoder (%d inputs) and the schema (%d "
                        "classes)",
                        path, nn->sizes[0], nn->sizes[nn->n_layers], enc->n_inputs, schema->n_classes);
                return -1;
        }
        json_t *header = json_object(), *meta = sf_model_meta_build(nn, schema, enc, info, extra_json);
        int rc = header && meta ? json_object_set_new(header, "__metadata__", meta) : -1;
        if (rc != 0 && header) json_decref(meta);
        if (rc == 0) rc = sf_model_add_nn_tensors(header, nn);
        /* Sorted keys: the same model always gives the same bytes. */
        char *text = rc == 0 ? json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(header);
        if (!text) {
                sf_seterr(errstr, errstr_size,
                          "%s: out of memory building the header (or bad training metadata)", path);
                return -1;
        }
        const void *blocks[] = {nn->params};
        size_t sizes[] = {nn->n_params * sizeof(float)};
        rc = sf_model_write_atomic(path, text, blocks, sizes, 1, errstr, errstr_size);
        free(text);
        return rc;
}

int sf_model_save(const char *path, const sf_nn_t *nn, const sf_schema_t *schema, const sf_encoder_t *enc,
                  const sf_model_info_t *info, char *errstr, size_t errstr_size) {
        return sf_model_save_extra(path, nn, schema, enc, info, NULL, errstr, errstr_size);
}

/* ---- ONNX export ---- */

/* The schema's feature columns as graph inputs (file order) and the
 * encoder's layout as blocks: the scaled numbers, the "was missing"
 * inputs, then one one-hot block per categorical column. cols and blocks
 * hold n_cols entries each. */
static void onnx_columns(const sf_schema_t *schema, const sf_encoder_t *enc, sf_onnx_column_t *cols,
                         sf_onnx_block_t *blocks, int *n_cols, int *n_blocks) {
        int nb = 0, nc = 0;
        for (int c = 0; c < schema->n_cols; c++) {
                sf_col_type_t t = schema->cols[c].type;
                if (t != SF_COL_NUMERIC && t != SF_COL_CATEGORICAL) continue;
                cols[nc] = (sf_onnx_column_t){.name = schema->cols[c].name,
                                              .kind = t == SF_COL_NUMERIC ? SF_ONNX_NUMERIC
                                                                          : SF_ONNX_CATEGORICAL};
                for (int j = 0; j < enc->n_num; j++) {
                        if (enc->num_col[j] != c) continue;
                        cols[nc].mean = enc->mean[j], cols[nc].std = enc->std[j];
                        cols[nc].missing_flag = enc->flag_input[j] >= 0;
                }
                for (int k = 0; k < enc->n_cat; k++) {
                        if (enc->cat[k].col != c) continue;
                        cols[nc].vocab = (const char *const *)enc->cat[k].vocab;
                        cols[nc].n_vocab = enc->cat[k].n;
                }
                nc++;
        }
        for (int kind = SF_ONNX_BLOCK_SCALED; kind <= SF_ONNX_BLOCK_ONE_HOT; kind++) {
                for (int i = 0; i < nc; i++) {
                        int take = kind == SF_ONNX_BLOCK_SCALED    ? cols[i].kind == SF_ONNX_NUMERIC
                                   : kind == SF_ONNX_BLOCK_MISSING ? cols[i].missing_flag
                                                                   : cols[i].kind == SF_ONNX_CATEGORICAL;
                        if (take) blocks[nb++] = (sf_onnx_block_t){(sf_onnx_block_kind_t)kind, i};
                }
        }
        *n_cols = nc, *n_blocks = nb;
}

static int export_onnx(const sf_model_t *model, const char *path, int network_only, char *errstr,
                       size_t errstr_size) {
        const sf_schema_t *schema = model->parts.schema;
        const sf_encoder_t *enc = model->parts.enc;
        int n = schema->n_cols, n_cols = 0, n_blocks = 0, k = 0;
        sf_onnx_column_t *cols = calloc((size_t)n + 1, sizeof(*cols));
        sf_onnx_block_t *blocks = calloc(2 * (size_t)n + 1, sizeof(*blocks));
        json_t *meta = sf_model_meta_build(model->nn, schema, enc, &model->parts.info, NULL);
        sf_onnx_meta_t *props = calloc((meta ? json_object_size(meta) : 0) + 2, sizeof(*props));
        int rc = -1;
        if (!cols || !blocks || !meta || !props) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                goto out;
        }
        onnx_columns(schema, enc, cols, blocks, &n_cols, &n_blocks);
        const char *key;
        json_t *value;
        json_object_foreach(meta, key, value) props[k++] = (sf_onnx_meta_t){key, json_string_value(value)};
        props[k++] = (sf_onnx_meta_t){"model_id", model->id};
        props[k++] = (sf_onnx_meta_t){"streamflow_version", SF_VERSION};
        sf_onnx_model_desc_t desc = {cols,     n_cols,    blocks,
                                     n_blocks, model->nn, (const char *const *)schema->classes,
                                     props,    k,         SF_VERSION};
        if (network_only) desc.n_columns = 0, desc.n_blocks = 0;
        rc = sf_onnx_export(path, &desc, errstr, errstr_size);
out:
        free(cols), free(blocks), free(props);
        json_decref(meta);
        return rc;
}

int sf_model_export_onnx(const sf_model_t *model, const char *path, char *errstr, size_t errstr_size) {
        return export_onnx(model, path, 0, errstr, errstr_size);
}

int sf_model_export_onnx_network(const sf_model_t *model, const char *path, char *errstr,
                                 size_t errstr_size) {
        return export_onnx(model, path, 1, errstr, errstr_size);
}
