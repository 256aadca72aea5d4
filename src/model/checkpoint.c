/* Training checkpoints: a model file's tensors and metadata plus Adam's
 * moments (and the best epoch's parameters), written atomically so a
 * crash never leaves half a checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_int.h"
#include "util/util.h"

#define CKPT_TENSORS 3 /* optimizer.m, optimizer.v, best.params */

/* Adds a (n) F32 tensor entry at data offset *at and advances *at. */
static int add_flat_tensor(json_t *header, const char *name, size_t n, size_t *at) {
        json_t *t = json_pack("{s:s, s:[I], s:[I,I]}", "dtype", "F32", "shape", (json_int_t)n, "data_offsets",
                              (json_int_t)*at, (json_int_t)(*at + n * 4));
        *at += n * 4;
        return t ? json_object_set_new(header, name, t) : -1;
}

int sf_checkpoint_save(const char *path, const sf_nn_t *nn, const sf_schema_t *schema,
                       const sf_encoder_t *enc, const sf_model_info_t *info, const float *adam_m,
                       const float *adam_v, const float *best, const char *state, char *errstr,
                       size_t errstr_size) {
        json_t *header = json_object(), *meta = sf_model_meta_build(nn, schema, enc, info, NULL);
        size_t at = nn->n_params * 4;
        int rc = header && meta ? json_object_set_new(header, "__metadata__", meta) : -1;
        if (rc != 0 && header) json_decref(meta);
        if (rc == 0) {
                rc |= sf_model_add_nn_tensors(header, nn);
                rc |= json_object_set_new(meta, "checkpoint", json_string(state));
                rc |= add_flat_tensor(header, "optimizer.m", nn->n_params, &at);
                rc |= add_flat_tensor(header, "optimizer.v", nn->n_params, &at);
                if (best) rc |= add_flat_tensor(header, "best.params", nn->n_params, &at);
        }
        char *text = rc == 0 ? json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(header);
        if (!text) {
                sf_seterr(errstr, errstr_size, "%s: out of memory building the checkpoint header", path);
                return -1;
        }
        size_t bytes = nn->n_params * sizeof(float);
        const void *blocks[] = {nn->params, adam_m, adam_v, best};
        size_t sizes[] = {bytes, bytes, bytes, bytes};
        rc = sf_model_write_atomic(path, text, blocks, sizes, best ? 4 : 3, errstr, errstr_size);
        free(text);
        return rc;
}

void sf_checkpoint_destroy(sf_checkpoint_t *ck) {
        if (!ck) return;
        sf_nn_destroy(ck->nn);
        sf_encoder_destroy(ck->enc);
        sf_schema_destroy(ck->schema);
        free(ck->adam_m);
        free(ck->state);
        free(ck);
}

/* Fills ck from a parsed header and the file's data: the metadata, the
 * network's tensors and the optimizer's, each checked as a model's are. */
static int checkpoint_fill(sf_checkpoint_t *ck, json_t *header, const char *path, const uint8_t *data,
                           size_t data_len, char *errstr, size_t errstr_size) {
        json_t *meta = json_object_get(header, "__metadata__");
        sf_model_parts_t parts;
        char why[256];
        if (sf_model_meta_load(meta, path, &parts, errstr, errstr_size) != 0) return -1;
        ck->schema = parts.schema, ck->enc = parts.enc, ck->info = parts.info;
        ck->info.class_rows = NULL; /* the counts are not kept: a resumed run counts again */
        free(parts.class_rows);
        /* every tensor checked against the data before anything is allocated */
        size_t n = 0;
        for (int l = 0; l < parts.n_layers; l++)
                n += ((size_t)parts.sizes[l] + 1) * (size_t)parts.sizes[l + 1];
        int has_best = json_object_get(header, "best.params") != NULL;
        sf_model_span_t spans[2 * SF_NN_MAX_LAYERS + CKPT_TENSORS];
        char names[2 * SF_NN_MAX_LAYERS][32];
        int n_nn = sf_model_nn_spans(header, path, parts.sizes, parts.n_layers, data_len, spans, names,
                                     errstr, errstr_size);
        if (n_nn < 0) return -1;
        int n_spans = n_nn;
        const char *extra[CKPT_TENSORS] = {"optimizer.m", "optimizer.v", "best.params"};
        for (int i = 0; i < (has_best ? 3 : 2); i++) {
                size_t range[2];
                if (sf_model_check_tensor(header, path, extra[i], n, 0, data_len, range, errstr,
                                          errstr_size) != 0)
                        return -1;
                spans[n_spans++] = (sf_model_span_t){range[0], range[1], n_nn + i, extra[i]};
        }
        if (sf_model_check_spans(header, path, spans, n_spans, data_len, errstr, errstr_size) != 0) return -1;
        if (!(ck->nn = sf_nn_create(parts.sizes, parts.n_layers, why, sizeof(why)))) {
                sf_seterr(errstr, errstr_size, "%s: %s", path, why);
                return -1;
        }
        ck->adam_m = malloc((has_best ? 3 : 2) * n * sizeof(float));
        ck->state = strdup(json_string_value(json_object_get(meta, "checkpoint")));
        if (!ck->adam_m || !ck->state) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
                return -1;
        }
        ck->adam_v = ck->adam_m + n;
        ck->best = has_best ? ck->adam_m + 2 * n : NULL;
        float *dst[2 * SF_NN_MAX_LAYERS + CKPT_TENSORS];
        sf_model_nn_dsts(ck->nn, dst);
        dst[n_nn] = ck->adam_m, dst[n_nn + 1] = ck->adam_v, dst[n_nn + 2] = ck->best;
        return sf_model_copy_spans(path, spans, n_spans, dst, data, errstr, errstr_size);
}

sf_checkpoint_t *sf_checkpoint_load(const char *path, char *errstr, size_t errstr_size) {
        size_t size = 0, data_off = 0;
        uint8_t *buf = sf_model_read_file(path, &size, errstr, errstr_size);
        if (!buf) return NULL;
        sf_checkpoint_t *ck = NULL;
        json_t *header = sf_model_header(buf, size, path, &data_off, errstr, errstr_size);
        if (header &&
            !json_is_string(json_object_get(json_object_get(header, "__metadata__"), "checkpoint"))) {
                sf_seterr(errstr, errstr_size,
                          "%s: a model without training state, not a checkpoint (use DIR/last.safetensors)",
                          path);
        } else if (header && !(ck = calloc(1, sizeof(*ck)))) {
                sf_seterr(errstr, errstr_size, "%s: out of memory", path);
        } else if (ck && checkpoint_fill(ck, header, path, buf + data_off, size - data_off, errstr,
                                         errstr_size) != 0) {
                sf_checkpoint_destroy(ck);
                ck = NULL;
        }
        json_decref(header);
        free(buf);
        return ck;
}
