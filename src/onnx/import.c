/* Reading the feed-forward network out of an ONNX graph (see onnx_io.h).
 * The chain of nodes from the network's input is followed node by node;
 * each linear node (Gemm, or MatMul with an optional Add) opens a layer and
 * the activation after it closes it. */
#include "onnx/onnx_io.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.pb-c.h"

#define MAX_FILE  (512u << 20)
#define MAX_WIDTH (1 << 16)
#define SUPPORTED                                                                                            \
        "Gemm, MatMul, Add (a bias), Relu, LeakyRelu, Sigmoid, Tanh, Softmax (last), Flatten, Identity"

typedef struct {
        const char *path;
        const Onnx__GraphProto *g;
        char *errstr;
        size_t errstr_size;
        /* The layers found so far: weights (in, out) row-major and biases. */
        int n_layers, sizes[SF_NN_MAX_LAYERS + 1];
        float *w[SF_NN_MAX_LAYERS], *b[SF_NN_MAX_LAYERS];
        sf_act_t act[SF_NN_MAX_LAYERS];
        float alpha[SF_NN_MAX_LAYERS];
        int has_act[SF_NN_MAX_LAYERS];
        int softmax;
        /* A graph of its own (not a StreamFlow export): every node must be
         * on the chain, which ends at the graph's one output. */
        int whole_graph;
        unsigned char *on_chain; /* (n_node) */
        char end[512];           /* the chain's last tensor */
} walk_t;

static int fail(walk_t *wk, const Onnx__NodeProto *nd, const char *fmt, const char *what) {
        if (nd)
                snprintf(wk->errstr, wk->errstr_size, "%s: node '%s' (%s): ", wk->path,
                         nd->name && nd->name[0] ? nd->name : "(unnamed)", nd->op_type ? nd->op_type : "?");
        else
                snprintf(wk->errstr, wk->errstr_size, "%s: ", wk->path);
        size_t n = strlen(wk->errstr);
        snprintf(wk->errstr + n, wk->errstr_size - n, fmt, what);
        return -1;
}

static const Onnx__TensorProto *find_init(const walk_t *wk, const char *name) {
        for (size_t i = 0; i < wk->g->n_initializer; i++)
                if (wk->g->initializer[i]->name && strcmp(wk->g->initializer[i]->name, name) == 0)
                        return wk->g->initializer[i];
        /* A Constant node holding a tensor works the same way. */
        for (size_t i = 0; i < wk->g->n_node; i++) {
                const Onnx__NodeProto *nd = wk->g->node[i];
                if (!nd->op_type || strcmp(nd->op_type, "Constant") != 0 || nd->n_output != 1 ||
                    strcmp(nd->output[0], name) != 0)
                        continue;
                for (size_t a = 0; a < nd->n_attribute; a++)
                        if (nd->attribute[a]->t && strcmp(nd->attribute[a]->name, "value") == 0)
                                return nd->attribute[a]->t;
        }
        return NULL;
}

/* The float32 values of initializer `name` with its shape, copied to a new
 * array (*out, free it). Returns 0 or -1 with the error set. */
static int tensor_floats(walk_t *wk, const Onnx__NodeProto *nd, const char *name, float **out, int64_t *dims,
                         size_t *n_dims) {
        const Onnx__TensorProto *t = find_init(wk, name);
        if (!t)
                return fail(wk, nd, "input '%s' is not an initializer (only constant weights are supported)",
                            name);
        if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
                return fail(wk, nd, "initializer '%s' is not float32", name);
        if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
                return fail(wk, nd, "initializer '%s' keeps its data in an external file (not supported)",
                            name);
        if (t->n_dims > 2) return fail(wk, nd, "initializer '%s' has more than 2 dimensions", name);
        size_t count = 1;
        for (size_t i = 0; i < t->n_dims; i++) {
                if (t->dims[i] < 1 || t->dims[i] > MAX_WIDTH)
                        return fail(wk, nd, "initializer '%s' has a dimension out of range", name);
                count *= (size_t)t->dims[i];
                dims[i] = t->dims[i];
        }
        *n_dims = t->n_dims;
        size_t have = t->has_raw_data ? t->raw_data.len / 4 : t->n_float_data;
        if ((t->has_raw_data && t->raw_data.len != count * 4) || have != count)
                return fail(wk, nd, "initializer '%s' holds a different number of values than its shape says",
                            name);
        float *v = malloc(count * sizeof(float));
        if (!v) return fail(wk, nd, "out of memory reading '%s'", name);
        if (t->has_raw_data)
                memcpy(v, t->raw_data.data, count * 4); /* ONNX raw data is little-endian, as we are */
        else
                memcpy(v, t->float_data, count * 4);
        for (size_t i = 0; i < count; i++) {
                if (!isfinite(v[i])) {
                        free(v);
                        return fail(wk, nd, "initializer '%s' holds a non-finite value", name);
                }
        }
        *out = v;
        return 0;
}

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *nd, const char *name) {
        for (size_t i = 0; i < nd->n_attribute; i++)
                if (nd->attribute[i]->name && strcmp(nd->attribute[i]->name, name) == 0)
                        return nd->attribute[i];
        return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *nd, const char *name, int64_t dflt) {
        const Onnx__AttributeProto *a = find_attr(nd, name);
        return a && a->has_i ? a->i : dflt;
}

static float attr_f(const Onnx__NodeProto *nd, const char *name, float dflt) {
        const Onnx__AttributeProto *a = find_attr(nd, name);
        return a && a->has_f ? a->f : dflt;
}

/* Opens layer l from a weight matrix (in, out), or (out, in) when trans. */
static int add_layer(walk_t *wk, const Onnx__NodeProto *nd, const char *wname, int trans, float scale) {
        if (wk->softmax) return fail(wk, nd, "%s", "a layer after Softmax is not supported");
        if (wk->n_layers > 0 && !wk->has_act[wk->n_layers - 1])
                wk->has_act[wk->n_layers - 1] = 1, wk->act[wk->n_layers - 1] = SF_ACT_IDENTITY;
        if (wk->n_layers == SF_NN_MAX_LAYERS) return fail(wk, nd, "more than %s layers", "8");
        float *w = NULL;
        int64_t dims[2] = {0, 0};
        size_t n_dims = 0;
        if (tensor_floats(wk, nd, wname, &w, dims, &n_dims) != 0) return -1;
        if (n_dims != 2) {
                free(w);
                return fail(wk, nd, "weight '%s' is not a matrix", wname);
        }
        int in = (int)(trans ? dims[1] : dims[0]), out = (int)(trans ? dims[0] : dims[1]);
        int l = wk->n_layers;
        if (l > 0 && in != wk->sizes[l]) {
                free(w);
                char msg[96];
                snprintf(msg, sizeof(msg), "takes %d inputs but the layer before gives %d", in, wk->sizes[l]);
                return fail(wk, nd, "%s", msg);
        }
        float *wt = malloc((size_t)in * (size_t)out * sizeof(float)),
              *bias = calloc((size_t)out, sizeof(float));
        if (!wt || !bias) {
                free(w), free(wt), free(bias);
                return fail(wk, nd, "%s", "out of memory");
        }
        for (int i = 0; i < in; i++)
                for (int o = 0; o < out; o++)
                        wt[(size_t)i * out + o] =
                                scale * (trans ? w[(size_t)o * in + i] : w[(size_t)i * out + o]);
        free(w);
        wk->sizes[l] = in, wk->sizes[l + 1] = out;
        wk->w[l] = wt, wk->b[l] = bias;
        wk->n_layers++;
        return 0;
}

/* Adds initializer `name` (out), (1, out) or a scalar, times scale, to the
 * open layer's bias. */
static int add_bias(walk_t *wk, const Onnx__NodeProto *nd, const char *name, float scale) {
        int l = wk->n_layers - 1;
        if (l < 0 || wk->has_act[l]) return fail(wk, nd, "%s", "a bias (Add) only follows a Gemm or MatMul");
        float *v = NULL;
        int64_t dims[2] = {1, 1};
        size_t n_dims = 0;
        if (tensor_floats(wk, nd, name, &v, dims, &n_dims) != 0) return -1;
        int out = wk->sizes[l + 1];
        size_t count = 1;
        for (size_t i = 0; i < n_dims; i++) count *= (size_t)dims[i];
        if (count != 1 && (count != (size_t)out || (n_dims == 2 && dims[0] != 1))) {
                free(v);
                return fail(wk, nd, "bias '%s' does not match the layer's width", name);
        }
        for (int o = 0; o < out; o++) wk->b[l][o] += scale * v[count == 1 ? 0 : o];
        free(v);
        return 0;
}

static int set_act(walk_t *wk, const Onnx__NodeProto *nd, sf_act_t act, float alpha) {
        int l = wk->n_layers - 1;
        if (l < 0 || wk->has_act[l] || wk->softmax)
                return fail(wk, nd, "%s", "an activation must follow a Gemm or MatMul (+ Add)");
        wk->act[l] = act, wk->alpha[l] = alpha, wk->has_act[l] = 1;
        return 0;
}

/* The other input of a two-input node, besides `cur`. */
static const char *other_input(const Onnx__NodeProto *nd, const char *cur) {
        if (nd->n_input != 2) return NULL;
        return strcmp(nd->input[0], cur) == 0 ? nd->input[1] : nd->input[0];
}

static int do_gemm(walk_t *wk, const Onnx__NodeProto *nd, const char *cur) {
        if (nd->n_input < 2 || strcmp(nd->input[0], cur) != 0) return fail(wk, nd, "%s", "unexpected inputs");
        if (attr_i(nd, "transA", 0) != 0) return fail(wk, nd, "%s", "transA=1 is not supported");
        float alpha = attr_f(nd, "alpha", 1.0f), beta = attr_f(nd, "beta", 1.0f);
        if (add_layer(wk, nd, nd->input[1], attr_i(nd, "transB", 0) != 0, alpha) != 0) return -1;
        if (nd->n_input >= 3 && nd->input[2][0]) return add_bias(wk, nd, nd->input[2], beta);
        return 0;
}

static int do_node(walk_t *wk, const Onnx__NodeProto *nd, const char *cur, int opset) {
        const char *op = nd->op_type ? nd->op_type : "";
        if (nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx") != 0)
                return fail(wk, nd, "operator domain '%s' is not supported; supported: " SUPPORTED,
                            nd->domain);
        if (strcmp(op, "Gemm") == 0) return do_gemm(wk, nd, cur);
        if (strcmp(op, "MatMul") == 0) {
                if (nd->n_input != 2 || strcmp(nd->input[0], cur) != 0)
                        return fail(wk, nd, "%s", "only input x weights is supported");
                return add_layer(wk, nd, nd->input[1], 0, 1.0f);
        }
        if (strcmp(op, "Add") == 0) {
                const char *bias = other_input(nd, cur);
                if (!bias) return fail(wk, nd, "%s", "expected two inputs");
                return add_bias(wk, nd, bias, 1.0f);
        }
        if (strcmp(op, "Relu") == 0) return set_act(wk, nd, SF_ACT_RELU, 0);
        if (strcmp(op, "LeakyRelu") == 0)
                return set_act(wk, nd, SF_ACT_LEAKY_RELU, attr_f(nd, "alpha", 0.01f));
        if (strcmp(op, "Sigmoid") == 0) return set_act(wk, nd, SF_ACT_SIGMOID, 0);
        if (strcmp(op, "Tanh") == 0) return set_act(wk, nd, SF_ACT_TANH, 0);
        if (strcmp(op, "Identity") == 0) return 0;
        if (strcmp(op, "Flatten") == 0) {
                if (attr_i(nd, "axis", 1) != 1) return fail(wk, nd, "%s", "only axis=1 is supported");
                return 0;
        }
        if (strcmp(op, "Softmax") == 0) {
                int64_t axis = attr_i(nd, "axis", opset >= 13 ? -1 : 1);
                int l = wk->n_layers - 1;
                if (axis != 1 && axis != -1)
                        return fail(wk, nd, "%s", "only a softmax over the classes (axis 1)");
                if (l < 0 || wk->has_act[l]) return fail(wk, nd, "%s", "Softmax must follow the last layer");
                wk->softmax = 1;
                return 0;
        }
        return fail(wk, nd, "operator '%s' is not supported; supported: " SUPPORTED, op);
}

/* The index of the one node that reads tensor `name`, or -1; *many when
 * several do. */
static long consumer(const Onnx__GraphProto *g, const char *name, int *many) {
        long found = -1;
        *many = 0;
        for (size_t i = 0; i < g->n_node; i++)
                for (size_t j = 0; j < g->node[i]->n_input; j++)
                        if (strcmp(g->node[i]->input[j], name) == 0) {
                                if (found >= 0 && found != (long)i) *many = 1;
                                found = (long)i;
                        }
        return found;
}

static int is_output(const Onnx__GraphProto *g, const char *name) {
        for (size_t i = 0; i < g->n_output; i++)
                if (g->output[i]->name && strcmp(g->output[i]->name, name) == 0) return 1;
        return 0;
}

/* Follows the chain from tensor `start` until Softmax or a graph output. */
static int walk(walk_t *wk, const char *start, int opset) {
        char cur[512];
        snprintf(cur, sizeof(cur), "%s", start);
        for (size_t steps = 0; steps <= wk->g->n_node && !wk->softmax; steps++) {
                int many = 0;
                long at = consumer(wk->g, cur, &many);
                const Onnx__NodeProto *nd = at >= 0 ? wk->g->node[at] : NULL;
                if (!nd) {
                        if (is_output(wk->g, cur)) break;
                        return fail(wk, NULL, "tensor '%s' is read by no node and is not an output", cur);
                }
                if (many)
                        return fail(wk, nd, "tensor '%s' feeds several nodes: not a feed-forward chain", cur);
                if (nd->n_output != 1)
                        return fail(wk, nd, "%s", "a node with several outputs is not supported");
                if (do_node(wk, nd, cur, opset) != 0) return -1;
                wk->on_chain[at] = 1;
                snprintf(cur, sizeof(cur), "%s", nd->output[0]);
        }
        snprintf(wk->end, sizeof(wk->end), "%s", cur);
        if (wk->n_layers == 0) return fail(wk, NULL, "%s", "no Gemm or MatMul layer found");
        int l = wk->n_layers - 1;
        if (wk->has_act[l] && wk->act[l] != SF_ACT_IDENTITY)
                return fail(wk, NULL,
                            "the last layer ends in %s: StreamFlow serves classifiers whose last layer "
                            "gives one score per class (logits or Softmax)",
                            sf_act_name(wk->act[l]));
        return 0;
}

/* The declared width of graph input `name` ((N, width): its second
 * dimension), or -1 when not declared. */
static int64_t input_width(const Onnx__GraphProto *g, const char *name) {
        for (size_t i = 0; i < g->n_input; i++) {
                const Onnx__ValueInfoProto *v = g->input[i];
                if (!v->name || strcmp(v->name, name) != 0 || !v->type ||
                    v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !v->type->tensor_type ||
                    !v->type->tensor_type->shape || v->type->tensor_type->shape->n_dim != 2)
                        continue;
                const Onnx__TensorShapeProto__Dimension *d = v->type->tensor_type->shape->dim[1];
                if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
                        return d->dim_value;
        }
        return -1;
}

/* A graph of its own holds the chain and nothing else: every node is on
 * it (or a Constant holding a weight), the chain ends at the graph's one
 * output, and the input's declared width is the first layer's. */
static int check_whole_graph(walk_t *wk, const char *start) {
        const Onnx__GraphProto *g = wk->g;
        for (size_t i = 0; i < g->n_node; i++) {
                const Onnx__NodeProto *nd = g->node[i];
                if (wk->on_chain[i] || (nd->op_type && strcmp(nd->op_type, "Constant") == 0)) continue;
                return fail(wk, nd,
                            "is not on the chain of layers from the input to the output; StreamFlow reads "
                            "feed-forward networks of: %s",
                            SUPPORTED);
        }
        if (g->n_output != 1) {
                char msg[64];
                snprintf(msg, sizeof(msg), "%zu", g->n_output);
                return fail(wk, NULL,
                            "the graph has %s outputs; StreamFlow reads a network with one, the class scores",
                            msg);
        }
        if (!g->output[0]->name || strcmp(g->output[0]->name, wk->end) != 0)
                return fail(wk, NULL, "the chain of layers ends at '%s', which is not the graph's output",
                            wk->end);
        int64_t width = input_width(g, start);
        if (width >= 0 && width != wk->sizes[0]) {
                char msg[160];
                snprintf(msg, sizeof(msg),
                         "input '%.64s' is declared with %lld features but the first layer takes %d", start,
                         (long long)width, wk->sizes[0]);
                return fail(wk, NULL, "%s", msg);
        }
        return 0;
}

static int default_opset(const Onnx__ModelProto *m, const char *path, char *errstr, size_t errstr_size) {
        for (size_t i = 0; i < m->n_opset_import; i++) {
                const Onnx__OperatorSetIdProto *o = m->opset_import[i];
                if (o->domain && o->domain[0] && strcmp(o->domain, "ai.onnx") != 0) continue;
                if (o->version < SF_ONNX_MIN_OPSET || o->version > SF_ONNX_MAX_OPSET) {
                        snprintf(errstr, errstr_size, "%s: opset %lld; StreamFlow reads opsets %d to %d",
                                 path, (long long)o->version, SF_ONNX_MIN_OPSET, SF_ONNX_MAX_OPSET);
                        return -1;
                }
                return (int)o->version;
        }
        snprintf(errstr, errstr_size, "%s: no opset for the default ONNX domain", path);
        return -1;
}

/* The network's input: metadata's streamflow.encoded_input, or the one
 * graph input that is not an initializer (then wk->whole_graph is set). */
static const char *start_tensor(const Onnx__ModelProto *m, walk_t *wk) {
        for (size_t i = 0; i < m->n_metadata_props; i++)
                if (m->metadata_props[i]->key && m->metadata_props[i]->value &&
                    strcmp(m->metadata_props[i]->key, "streamflow.encoded_input") == 0)
                        return m->metadata_props[i]->value;
        wk->whole_graph = 1;
        const char *found = NULL;
        for (size_t i = 0; i < wk->g->n_input; i++) {
                const char *name = wk->g->input[i]->name;
                if (!name || find_init(wk, name)) continue;
                if (found) {
                        fail(wk, NULL, "%s",
                             "the graph has several inputs; StreamFlow reads a network with one "
                             "input, the encoded feature vector");
                        return NULL;
                }
                found = name;
        }
        if (!found) fail(wk, NULL, "%s", "the graph has no input");
        return found;
}

static int copy_meta(const Onnx__ModelProto *m, sf_onnx_import_t *out) {
        if (m->n_metadata_props == 0) return 0;
        out->meta = calloc(m->n_metadata_props, sizeof(*out->meta));
        if (!out->meta) return -1;
        for (size_t i = 0; i < m->n_metadata_props; i++) {
                const char *k = m->metadata_props[i]->key, *v = m->metadata_props[i]->value;
                out->meta[i].key = strdup(k ? k : "");
                out->meta[i].value = strdup(v ? v : "");
                out->n_meta++;
                if (!out->meta[i].key || !out->meta[i].value) return -1;
        }
        return 0;
}

static int build_nn(walk_t *wk, sf_onnx_import_t *out) {
        char why[256];
        sf_nn_t *nn = sf_nn_create(wk->sizes, wk->n_layers, why, sizeof(why));
        if (!nn) return fail(wk, NULL, "%s", why);
        for (int l = 0; l < wk->n_layers; l++) {
                memcpy(nn->w[l], wk->w[l], sizeof(float) * (size_t)wk->sizes[l] * wk->sizes[l + 1]);
                memcpy(nn->b[l], wk->b[l], sizeof(float) * (size_t)wk->sizes[l + 1]);
                nn->act[l] = wk->act[l], nn->act_alpha[l] = wk->alpha[l];
        }
        out->nn = nn;
        out->added_softmax = !wk->softmax;
        return 0;
}

int sf_onnx_read_mem(const char *path, const unsigned char *buf, size_t size, sf_onnx_import_t *out,
                     char *errstr, size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, buf);
        if (!m) {
                snprintf(errstr, errstr_size,
                         "%s: not a valid ONNX file (the protobuf does not decode: truncated "
                         "or not ONNX)",
                         path);
                return -1;
        }
        walk_t wk = {.path = path, .g = m->graph, .errstr = errstr, .errstr_size = errstr_size};
        int rc = -1, opset = default_opset(m, path, errstr, errstr_size);
        if (opset < 0) goto out;
        if (!m->graph) {
                fail(&wk, NULL, "%s", "the model has no graph");
                goto out;
        }
        if (!(wk.on_chain = calloc(m->graph->n_node + 1, 1))) {
                fail(&wk, NULL, "%s", "out of memory");
                goto out;
        }
        const char *start = start_tensor(m, &wk);
        if (!start || walk(&wk, start, opset) != 0) goto out;
        if (wk.whole_graph && check_whole_graph(&wk, start) != 0) goto out;
        if (build_nn(&wk, out) != 0) goto out;
        snprintf(out->input_name, sizeof(out->input_name), "%s", start);
        if (copy_meta(m, out) != 0) {
                fail(&wk, NULL, "%s", "out of memory");
                goto out;
        }
        rc = 0;
out:
        for (int l = 0; l < wk.n_layers; l++) free(wk.w[l]), free(wk.b[l]);
        free(wk.on_chain);
        onnx__model_proto__free_unpacked(m, NULL);
        if (rc != 0) sf_onnx_import_free(out);
        return rc;
}

int sf_onnx_read(const char *path, sf_onnx_import_t *out, char *errstr, size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        FILE *fp = fopen(path, "rb");
        if (!fp) {
                snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
                return -1;
        }
        unsigned char *buf = NULL;
        size_t size = 0, cap = 0;
        for (;;) {
                if (size == cap) {
                        cap = cap ? 2 * cap : 1 << 16;
                        unsigned char *nb = cap <= MAX_FILE ? realloc(buf, cap) : NULL;
                        if (!nb) {
                                snprintf(errstr, errstr_size, "%s: larger than %u MB or out of memory", path,
                                         MAX_FILE >> 20);
                                free(buf), fclose(fp);
                                return -1;
                        }
                        buf = nb;
                }
                size_t got = fread(buf + size, 1, cap - size, fp);
                size += got;
                if (got == 0) break;
        }
        int err = ferror(fp);
        fclose(fp);
        if (err) {
                snprintf(errstr, errstr_size, "%s: read error", path);
                free(buf);
                return -1;
        }
        int rc = sf_onnx_read_mem(path, buf, size, out, errstr, errstr_size);
        free(buf);
        return rc;
}

void sf_onnx_import_free(sf_onnx_import_t *imp) {
        if (!imp) return;
        sf_nn_destroy(imp->nn);
        for (int i = 0; i < imp->n_meta; i++)
                free((char *)imp->meta[i].key), free((char *)imp->meta[i].value);
        free(imp->meta);
        memset(imp, 0, sizeof(*imp));
}

const char *sf_onnx_meta_get(const sf_onnx_import_t *imp, const char *key) {
        for (int i = 0; i < imp->n_meta; i++)
                if (strcmp(imp->meta[i].key, key) == 0) return imp->meta[i].value;
        return NULL;
}
