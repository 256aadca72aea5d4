/* What the model file's reader, writer and checkpoints share: the metadata
 * (built and read in meta.c) and the safetensors plumbing. Not for use
 * outside src/model/. */
#ifndef SF_MODEL_MODEL_INT_H
#define SF_MODEL_MODEL_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

#define MODEL_FORMAT         "streamflow"
#define MODEL_FORMAT_VERSION "2"
#define MAX_HEADER           (16u << 20)  /* safetensors' own limit is 100 MB; ours is small */
#define MAX_FILE             (512u << 20) /* far above any network this file format describes */
/* Hidden layers at most this wide: it keeps the scratch space of a forward
 * pass over 4096 rows under 64 MB a layer. */
#define MAX_HIDDEN 4096

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model file is little-endian; add byte swapping for this platform"
#endif

/* Everything the metadata describes, as read back. */
typedef struct sf_model_parts {
        sf_schema_t *schema;
        sf_encoder_t *enc;
        int sizes[SF_NN_MAX_LAYERS + 1], n_layers;
        sf_act_t act[SF_NN_MAX_LAYERS];
        sf_model_info_t info;
        int64_t *class_rows; /* (classes) or NULL; info.class_rows points here */
} sf_model_parts_t;

/* The __metadata__ object of a model: format, schema, encoder, layer
 * sizes, activations, class names and the training information, each a
 * string (structured values as compact JSON text). extra_json (NULL: none)
 * adds its members to "training". New reference, or NULL (out of memory, or
 * extra_json not a JSON object). */
json_t *sf_model_meta_build(const sf_nn_t *nn, const sf_schema_t *schema, const sf_encoder_t *enc,
                            const sf_model_info_t *info, const char *extra_json);

/* Reads and checks the metadata (the format and version too); errors name
 * path and the key. The parts are consistent: the encoder reads the
 * schema's columns and layer_sizes runs from its inputs to the schema's
 * classes. Returns 0, or -1 with errstr (parts freed). */
int sf_model_meta_load(const json_t *meta, const char *path, sf_model_parts_t *parts, char *errstr,
                       size_t errstr_size);
void sf_model_parts_free(sf_model_parts_t *parts);

/* The whole file at path (at most MAX_FILE bytes) in a new buffer. */
uint8_t *sf_model_read_file(const char *path, size_t *size, char *errstr, size_t errstr_size);

/* The safetensors header of buf (size bytes): the parsed JSON object (new
 * reference) with a __metadata__ object, and where the data starts. */
json_t *sf_model_header(const uint8_t *buf, size_t size, const char *path, size_t *data_off, char *errstr,
                        size_t errstr_size);

/* One tensor entry of header: dtype F32, shape (d0) or (d0, d1) when d1 is
 * not 0, offsets within data_len; its byte range in range. */
int sf_model_check_tensor(const json_t *header, const char *path, const char *name, size_t d0, size_t d1,
                          size_t data_len, size_t range[2], char *errstr, size_t errstr_size);

/* A tensor found by sf_model_check_tensor, and which of the caller's
 * destinations (dst[slot] in sf_model_copy_spans) its values go to. */
typedef struct sf_model_span {
        size_t begin, end;
        int slot;
        const char *name;
} sf_model_span_t;

/* The tensors of a network of n_layers layers of sizes[0..n_layers]
 * (dense_<l>.kernel (in, out) in slot 2l, dense_<l>.bias (out) in slot
 * 2l + 1) into spans, names in names; returns how many (2 per layer) or -1.
 * Nothing is allocated: a small file declaring a huge network fails here. */
int sf_model_nn_spans(const json_t *header, const char *path, const int *sizes, int n_layers, size_t data_len,
                      sf_model_span_t *spans, char (*names)[32], char *errstr, size_t errstr_size);

/* The tensors of spans[0..n) cover data_len bytes exactly and the header
 * names no other (spans is sorted by where each begins). */
int sf_model_check_spans(const json_t *header, const char *path, sf_model_span_t *spans, int n,
                         size_t data_len, char *errstr, size_t errstr_size);

/* nn's tensors as destinations: dst[2l] its layer l's weights, dst[2l + 1]
 * its biases (the slots sf_model_nn_spans gives). */
void sf_model_nn_dsts(sf_nn_t *nn, float **dst);

/* Copies each span of data to dst[slot], checking that every value is
 * finite. */
int sf_model_copy_spans(const char *path, const sf_model_span_t *spans, int n, float *const *dst,
                        const uint8_t *data, char *errstr, size_t errstr_size);

/* Adds the network's tensor entries to header. Returns 0 or -1. */
int sf_model_add_nn_tensors(json_t *header, const sf_nn_t *nn);

/* Writes the 8-byte length, the header text (padded to 8 bytes) and
 * blocks[i] (sizes[i] bytes) to a temporary file beside path, fsyncs it,
 * renames it over path and fsyncs the directory. Returns 0 or -1. */
int sf_model_write_atomic(const char *path, const char *text, const void *const *blocks, const size_t *sizes,
                          int n_blocks, char *errstr, size_t errstr_size);

/* The first 16 hex digits of the SHA-256 of buf. Returns 0 or -1. */
int sf_model_file_id(const uint8_t *buf, size_t size, char id[17]);

/* The same over buf (size bytes) followed by buf2 (size2 bytes). */
int sf_model_files_id(const uint8_t *buf, size_t size, const uint8_t *buf2, size_t size2, char id[17]);

#endif
