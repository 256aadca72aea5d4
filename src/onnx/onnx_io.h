/* ONNX files in and out, read and written with protobuf-c from the
 * onnx.proto that Debian's libonnx-dev installs (generated at build time).
 *
 * Export writes a whole model, preprocessing included: one graph input per
 * feature column ([N, 1], float for a numeric column, string for a
 * categorical one), missing-value handling, scaling and one-hot encoding,
 * then the dense layers, Softmax and the label. Import reads the
 * feed-forward part of a graph (the layers after the encoded input) into a
 * network that runs on StreamFlow's own kernels. */
#ifndef SF_ONNX_ONNX_IO_H
#define SF_ONNX_ONNX_IO_H

#include <stddef.h>

#include "nn/nn.h"

/* The opsets StreamFlow writes, and the range of the default domain's
 * opset it reads. */
#define SF_ONNX_OPSET     13
#define SF_ONNX_ML_OPSET  2
#define SF_ONNX_MIN_OPSET 9
#define SF_ONNX_MAX_OPSET 17

typedef enum { SF_ONNX_NUMERIC, SF_ONNX_CATEGORICAL } sf_onnx_kind_t;

/* A feature column as the graph sees it. A numeric column is scaled as
 * (x - mean) / std; NaN (missing) becomes mean first and, when
 * missing_flag is set, adds a 0/1 "was missing" input. A categorical
 * column is one-hot over vocab; a value not in it is all zeros. */
typedef struct sf_onnx_column {
        const char *name;
        sf_onnx_kind_t kind;
        float mean, std;
        int missing_flag;
        const char *const *vocab;
        int n_vocab;
} sf_onnx_column_t;

/* The order of the encoded input vector, block by block. */
typedef enum { SF_ONNX_BLOCK_SCALED, SF_ONNX_BLOCK_MISSING, SF_ONNX_BLOCK_ONE_HOT } sf_onnx_block_kind_t;
typedef struct sf_onnx_block {
        sf_onnx_block_kind_t kind;
        int column; /* index into columns */
} sf_onnx_block_t;

typedef struct sf_onnx_meta {
        const char *key, *value;
} sf_onnx_meta_t;

/* What sf_onnx_export writes. With no columns, the graph is the network
 * alone: its one input is "encoded" (N, nn->sizes[0]). */
typedef struct sf_onnx_model_desc {
        const sf_onnx_column_t *columns; /* graph inputs, in this order */
        int n_columns;
        const sf_onnx_block_t *blocks; /* the encoded vector, in this order */
        int n_blocks;
        const sf_nn_t *nn;          /* sizes[0] must equal the encoded width */
        const char *const *classes; /* nn->sizes[n_layers] names */
        const sf_onnx_meta_t *meta; /* written to metadata_props */
        int n_meta;
        const char *producer_version;
} sf_onnx_model_desc_t;

/* Writes desc to path (a temporary file in the same directory, then a
 * rename). Outputs: "probabilities" (N, classes) float and "label" (N)
 * string, the class name of the highest probability. Returns 0, or -1 with
 * errstr naming the path. */
int sf_onnx_export(const char *path, const sf_onnx_model_desc_t *desc, char *errstr, size_t errstr_size);

/* What sf_onnx_read found. */
typedef struct sf_onnx_import {
        sf_nn_t *nn;          /* owned by the caller: sf_nn_destroy */
        sf_onnx_meta_t *meta; /* metadata_props, owned: sf_onnx_import_free */
        int n_meta;
        int added_softmax;    /* the graph ends in logits: softmax is applied on top */
        char input_name[128]; /* the tensor the network reads */
} sf_onnx_import_t;

/* Reads an ONNX file and the feed-forward network in it: from the tensor
 * named by the metadata key "streamflow.encoded_input" (a StreamFlow
 * export), or else the graph's one input, through Gemm, MatMul + Add,
 * Relu, LeakyRelu, Sigmoid, Tanh, Flatten, Identity and a final Softmax,
 * with float32 initializers, default-domain opsets 9 to 17. A graph of its
 * own (no such metadata: torch.onnx.export's, a Keras exporter's) must hold
 * that chain and nothing else: every node on it (Constant nodes holding
 * weights aside), ending at the graph's one output, its input's declared
 * width the first layer's. Anything else is an error naming the file, the
 * node and its op type, and listing what is supported. Returns 0 or -1
 * with errstr. */
int sf_onnx_read(const char *path, sf_onnx_import_t *out, char *errstr, size_t errstr_size);

/* The same from memory (path only names it in errors). */
int sf_onnx_read_mem(const char *path, const unsigned char *buf, size_t size, sf_onnx_import_t *out,
                     char *errstr, size_t errstr_size);

/* Frees what sf_onnx_read allocated (nn too, unless the caller took it and
 * set out->nn to NULL). */
void sf_onnx_import_free(sf_onnx_import_t *imp);

/* The value of key in imp's metadata, or NULL. */
const char *sf_onnx_meta_get(const sf_onnx_import_t *imp, const char *key);

#endif
