/* The model file: a table's schema, the encoder fitted on its training
 * rows and the network (dense layers of any sizes, ReLU between them,
 * softmax over the schema's classes), so one file scores a raw row.
 *
 * This header is the inference surface used by evaluate, predict and score,
 * and what train writes; the training itself lives in src/nn/. */
#ifndef SF_MODEL_MODEL_H
#define SF_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"
#include "table/encoder.h"
#include "table/schema.h"

typedef struct sf_model sf_model_t;

/* Loads a model file written by `streamflow train` (safetensors) or
 * `streamflow export` (ONNX, recognised by its content or a .onnx name). A missing,
 * truncated or corrupt file, or one whose shapes disagree with its
 * metadata, is an error naming the file and the problem. Returns a new
 * model (destroy with sf_model_destroy) or NULL. */
sf_model_t *sf_model_load(const char *path, char *errstr, size_t errstr_size);
void sf_model_destroy(sf_model_t *model);

/* sf_model_load, or with fitted_path a network trained elsewhere: path is
 * an ONNX graph that reads the encoded input vector (see
 * src/onnx/onnx_io.h for the operators it may use) and fitted_path a
 * fitted schema (table/fitted.h) that says how rows become that vector.
 * The graph must read the encoder's n_inputs and give one score per class
 * of the schema; a graph ending in logits gets a softmax on top. Such a
 * model has no training information (sf_model_info is zeroed,
 * sf_model_foreign is 1) and its id is the SHA-256 of the ONNX file's
 * bytes followed by the fitted schema's. fitted_path NULL is
 * sf_model_load. */
sf_model_t *sf_model_load_with(const char *path, const char *fitted_path, char *errstr, size_t errstr_size);

/* 1 for a network trained elsewhere (loaded with a fitted schema), else 0. */
int sf_model_foreign(const sf_model_t *model);

/* The schema and the encoder stored in the model (owned by the model). */
const sf_schema_t *sf_model_schema(const sf_model_t *model);
const sf_encoder_t *sf_model_encoder(const sf_model_t *model);

/* The number of classes: the schema's, the width of the output layer. */
int sf_model_classes(const sf_model_t *model);

/* A short identity of the model for logs and Kafka headers: the first 16
 * hex digits of the SHA-256 of the file (with a fitted schema, of both
 * files: see sf_model_load_with). Owned by the model. */
const char *sf_model_id(const sf_model_t *model);

/* Class probabilities for n encoded rows: x is (n, n_inputs), probs is
 * (n, classes). Uses scratch space inside the model: one model per thread.
 * Returns 0, or -1 if scratch space could not be allocated. */
int sf_model_predict(sf_model_t *model, const float *x, size_t n, float *probs);

/* The same from the compact encoding (sf_encoder_encode_sparse): dense
 * (n, enc->n_num + enc->n_flags) scaled numbers and "was missing" inputs,
 * hot (n, enc->n_cat) one-hot input indices (-1: missing or unseen). The
 * first layer adds one row of weights per categorical column instead of
 * multiplying the zeros: cheaper, and the exact arithmetic training does. */
int sf_model_predict_sparse(sf_model_t *model, const float *dense, const int32_t *hot, size_t n,
                            float *probs);

/* sf_model_predict_sparse with the caller's scratch space ws instead of the
 * model's (zeroed before first use; grown as needed; the caller frees it
 * with sf_nn_ws_free, and before using it with another model): threads
 * that each have their own ws can share one model. */
int sf_model_predict_sparse_ws(const sf_model_t *model, sf_nn_ws_t *ws, const float *dense,
                               const int32_t *hot, size_t n, float *probs);

/* 1 when the probabilities of one row (classes of them, from
 * sf_model_predict or sf_model_predict_sparse) are all finite, else 0: such
 * a row must never become a prediction. */
int sf_model_probs_finite(const sf_model_t *model, const float *probs);

/* How the model was trained, stored in the file (no timestamps: the same
 * seed and thread count give a byte-identical file). */
typedef struct sf_model_info {
        uint64_t seed; /* initial weights, shuffles and the validation/test split */
        int epochs, batch, threads;
        double lr;
        int64_t train_rows;
        /* How validation and test rows were chosen, so evaluate can find the
         * test rows again: with test_file set the test rows came from a file
         * of their own; with test_halves too, that file was split 50/50 into
         * validation and test by seed (NSL-KDD's way), else all of it was the
         * test and val_split of the training file (0: none) validated.
         * Without test_file one file was split by val_split and test_split
         * (seeded, stratified). */
        int test_file, test_halves;
        double val_split, test_split;
        /* (classes) training rows per class, or NULL when not recorded. */
        const int64_t *class_rows;
} sf_model_info_t;

/* Writes nn, the schema, the encoder and info to path as safetensors:
 * 8-byte LE header length, a JSON header (tensors dense_<l>.kernel (in,
 * out) and dense_<l>.bias (out), F32; __metadata__ holding the schema, the
 * encoder, layer sizes, activations, class names and info as JSON-encoded
 * strings), then the little-endian f32 data. Written to a temporary file
 * in the same directory and renamed, so a reader never sees half a model.
 * Returns 0, or -1 with errstr naming the path. */
int sf_model_save(const char *path, const sf_nn_t *nn, const sf_schema_t *schema, const sf_encoder_t *enc,
                  const sf_model_info_t *info, char *errstr, size_t errstr_size);

/* Writes the model as an ONNX graph that takes the raw feature columns
 * (float for numbers, string for categories, each (N, 1)) and gives
 * "probabilities" (N, classes) and "label" (N), with the model's metadata in
 * metadata_props (see src/onnx/onnx_io.h). sf_model_load reads such a file
 * back. Returns 0, or -1 with errstr. */
int sf_model_export_onnx(const sf_model_t *model, const char *path, char *errstr, size_t errstr_size);

/* The same for the network alone: one input, "encoded" (N, inputs), the
 * vector the encoder makes (for runtimes that encode rows themselves, and
 * the speed comparison with ONNX Runtime). */
int sf_model_export_onnx_network(const sf_model_t *model, const char *path, char *errstr, size_t errstr_size);

/* The network inside the model (owned by the model). */
const sf_nn_t *sf_model_nn(const sf_model_t *model);

/* The training information stored in the model (owned by the model). */
const sf_model_info_t *sf_model_info(const sf_model_t *model);

/* sf_model_save, with the members of the JSON object `extra_json` (text)
 * added to the "training" metadata: how a recipe other than the default
 * (class weights, early stopping) is recorded. extra_json NULL gives the
 * same bytes as sf_model_save. Returns 0, or -1 with errstr. */
int sf_model_save_extra(const char *path, const sf_nn_t *nn, const sf_schema_t *schema,
                        const sf_encoder_t *enc, const sf_model_info_t *info, const char *extra_json,
                        char *errstr, size_t errstr_size);

/* A training checkpoint (`train --checkpoint DIR`'s last.safetensors): a
 * model file's tensors and metadata plus Adam's moments "optimizer.m" and
 * "optimizer.v" and, when early stopping keeps them, the best epoch's
 * parameters "best.params", each (n_params) F32 in the parameter block's
 * order, and the training state (step count, random streams, recipe) as
 * JSON text in metadata "checkpoint". */
typedef struct sf_checkpoint {
        sf_nn_t *nn;
        sf_schema_t *schema;
        sf_encoder_t *enc;
        sf_model_info_t info;
        float *adam_m, *adam_v; /* (n_params) each */
        float *best;            /* (n_params) or NULL */
        char *state;            /* the "checkpoint" JSON text */
} sf_checkpoint_t;

/* Writes a checkpoint to path atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory. best may be NULL.
 * Returns 0, or -1 with errstr naming the path. */
int sf_checkpoint_save(const char *path, const sf_nn_t *nn, const sf_schema_t *schema,
                       const sf_encoder_t *enc, const sf_model_info_t *info, const float *adam_m,
                       const float *adam_v, const float *best, const char *state, char *errstr,
                       size_t errstr_size);

/* Reads a checkpoint written by sf_checkpoint_save; every tensor is checked
 * as sf_model_load checks a model's. Returns a new checkpoint (destroy with
 * sf_checkpoint_destroy; NULL is a no-op) or NULL with errstr. */
sf_checkpoint_t *sf_checkpoint_load(const char *path, char *errstr, size_t errstr_size);
void sf_checkpoint_destroy(sf_checkpoint_t *ck);

#endif
