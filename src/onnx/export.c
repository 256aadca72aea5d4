/* Writing a model as an ONNX graph (see onnx_io.h). The graph is built from
 * protobuf-c messages allocated in one arena, packed once and written to a
 * temporary file that is renamed over the target.
 *
 *   numeric inputs (N, 1) ─ Concat ─ Where(IsNaN, mean) ─ Sub(mean) ─ Div(std) ──┐
 *                                 └─ IsNaN ─ Gather(flagged) ─ Cast(float) ──────┤
 *   categorical inputs (N, 1) ─ OneHotEncoder(zeros=1) ─ Reshape(N, V) ─────────┤
 *                                                 Concat (layout order) ─ encoded
 *   encoded ─ Gemm ─ act ─ ... ─ Gemm ─ Softmax ─ probabilities
 *                                            └─ ArgMax ─ LabelEncoder ─ label */
#include "onnx/onnx_io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnx/onnx.pb-c.h"

#define ML_DOMAIN "ai.onnx.ml"

typedef struct {
        void **ptrs; /* every allocation, freed together */
        size_t n_ptrs, cap_ptrs;
        Onnx__NodeProto **nodes;
        size_t n_nodes, cap_nodes;
        Onnx__TensorProto **inits;
        size_t n_inits, cap_inits;
        int failed;
} builder_t;

static void *ar(builder_t *b, size_t size) {
        if (b->failed) return NULL;
        if (b->n_ptrs == b->cap_ptrs) {
                size_t cap = b->cap_ptrs ? 2 * b->cap_ptrs : 256;
                void **p = realloc(b->ptrs, cap * sizeof(*p));
                if (!p) return b->failed = 1, NULL;
                b->ptrs = p, b->cap_ptrs = cap;
        }
        void *p = calloc(1, size ? size : 1);
        if (!p) return b->failed = 1, NULL;
        return b->ptrs[b->n_ptrs++] = p;
}

static char *ar_str(builder_t *b, const char *s) {
        size_t n = strlen(s) + 1;
        char *p = ar(b, n);
        if (p) memcpy(p, s, n);
        return p;
}

static char *ar_fmt(builder_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ar_fmt(builder_t *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        char *p = n >= 0 ? ar(b, (size_t)n + 1) : NULL;
        if (!p) return NULL;
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
        return p;
}

static void builder_free(builder_t *b) {
        for (size_t i = 0; i < b->n_ptrs; i++) free(b->ptrs[i]);
        free(b->ptrs), free(b->nodes), free(b->inits);
}

/* Appends p to a growable array of pointers. */
static void push(builder_t *b, void ***arr, size_t *n, size_t *cap, void *p) {
        if (b->failed || !p) return (void)(b->failed = 1);
        if (*n == *cap) {
                size_t c = *cap ? 2 * *cap : 64;
                void **a = realloc(*arr, c * sizeof(*a));
                if (!a) return (void)(b->failed = 1);
                *arr = a, *cap = c;
        }
        (*arr)[(*n)++] = p;
}

/* A node op(inputs) -> outputs in domain ("" for the default one). */
static Onnx__NodeProto *node(builder_t *b, const char *op, const char *domain, const char *const *in,
                             int n_in, const char *const *out, int n_out) {
        for (int i = 0; i < n_in; i++)
                if (!in[i]) return b->failed = 1, NULL;
        Onnx__NodeProto *nd = ar(b, sizeof(*nd));
        char **ins = ar(b, sizeof(char *) * (size_t)n_in), **outs = ar(b, sizeof(char *) * (size_t)n_out);
        if (!nd || !ins || !outs) return NULL;
        onnx__node_proto__init(nd);
        for (int i = 0; i < n_in; i++) ins[i] = ar_str(b, in[i]);
        for (int i = 0; i < n_out; i++) outs[i] = ar_str(b, out[i]);
        char name[160];
        snprintf(name, sizeof(name), "%s_%zu", op, b->n_nodes);
        nd->name = ar_str(b, name);
        nd->op_type = ar_str(b, op);
        if (domain[0]) nd->domain = ar_str(b, domain);
        nd->n_input = (size_t)n_in, nd->input = ins;
        nd->n_output = (size_t)n_out, nd->output = outs;
        push(b, (void ***)&b->nodes, &b->n_nodes, &b->cap_nodes, nd);
        return b->failed ? NULL : nd;
}

static Onnx__AttributeProto *attr(builder_t *b, Onnx__NodeProto *nd, const char *name,
                                  Onnx__AttributeProto__AttributeType type) {
        if (!nd) return NULL;
        Onnx__AttributeProto *a = ar(b, sizeof(*a));
        Onnx__AttributeProto **all = ar(b, sizeof(*all) * (nd->n_attribute + 1));
        if (!a || !all) return NULL;
        onnx__attribute_proto__init(a);
        a->name = ar_str(b, name);
        a->has_type = 1, a->type = type;
        if (nd->n_attribute) memcpy(all, nd->attribute, sizeof(*all) * nd->n_attribute);
        all[nd->n_attribute] = a;
        nd->attribute = all, nd->n_attribute++;
        return a;
}

static void attr_int(builder_t *b, Onnx__NodeProto *nd, const char *name, int64_t v) {
        Onnx__AttributeProto *a = attr(b, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
        if (a) a->has_i = 1, a->i = v;
}

static void attr_ints(builder_t *b, Onnx__NodeProto *nd, const char *name, const int64_t *v, size_t n) {
        Onnx__AttributeProto *a = attr(b, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
        int64_t *copy = ar(b, sizeof(*copy) * n);
        if (!a || !copy) return;
        memcpy(copy, v, sizeof(*copy) * n);
        a->ints = copy, a->n_ints = n;
}

static void attr_strings(builder_t *b, Onnx__NodeProto *nd, const char *name, const char *const *v,
                         size_t n) {
        Onnx__AttributeProto *a = attr(b, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
        ProtobufCBinaryData *s = ar(b, sizeof(*s) * n);
        if (!a || !s) return;
        for (size_t i = 0; i < n; i++) {
                s[i].len = strlen(v[i]);
                s[i].data = (uint8_t *)ar_str(b, v[i]);
        }
        a->strings = s, a->n_strings = n;
}

static void attr_string(builder_t *b, Onnx__NodeProto *nd, const char *name, const char *v) {
        Onnx__AttributeProto *a = attr(b, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
        if (!a) return;
        a->has_s = 1, a->s.len = strlen(v), a->s.data = (uint8_t *)ar_str(b, v);
}

/* An initializer: float (float_data) or int64 (int64_data) of the given shape. */
static void init_tensor(builder_t *b, const char *name, const int64_t *dims, size_t n_dims, const float *f,
                        const int64_t *i64, size_t n) {
        Onnx__TensorProto *t = ar(b, sizeof(*t));
        int64_t *d = ar(b, sizeof(*d) * n_dims);
        if (!t || !d) return;
        onnx__tensor_proto__init(t);
        t->name = ar_str(b, name);
        memcpy(d, dims, sizeof(*d) * n_dims);
        t->dims = d, t->n_dims = n_dims;
        t->has_data_type = 1;
        if (f) {
                float *copy = ar(b, sizeof(*copy) * n);
                if (!copy) return;
                memcpy(copy, f, sizeof(*copy) * n);
                t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
                t->float_data = copy, t->n_float_data = n;
        } else {
                int64_t *copy = ar(b, sizeof(*copy) * n);
                if (!copy) return;
                memcpy(copy, i64, sizeof(*copy) * n);
                t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
                t->int64_data = copy, t->n_int64_data = n;
        }
        push(b, (void ***)&b->inits, &b->n_inits, &b->cap_inits, t);
}

/* A graph input or output: elem_type, shape (N, width) with N symbolic, or
 * (N) when width is 0. */
static Onnx__ValueInfoProto *value_info(builder_t *b, const char *name, int elem_type, int64_t width) {
        Onnx__ValueInfoProto *vi = ar(b, sizeof(*vi));
        Onnx__TypeProto *tp = ar(b, sizeof(*tp));
        Onnx__TypeProto__Tensor *tt = ar(b, sizeof(*tt));
        Onnx__TensorShapeProto *shape = ar(b, sizeof(*shape));
        Onnx__TensorShapeProto__Dimension *dn = ar(b, sizeof(*dn)), *dw = ar(b, sizeof(*dw));
        Onnx__TensorShapeProto__Dimension **dims = ar(b, 2 * sizeof(*dims));
        if (!vi || !tp || !tt || !shape || !dn || !dw || !dims) return NULL;
        onnx__value_info_proto__init(vi), onnx__type_proto__init(tp), onnx__type_proto__tensor__init(tt);
        onnx__tensor_shape_proto__init(shape);
        onnx__tensor_shape_proto__dimension__init(dn), onnx__tensor_shape_proto__dimension__init(dw);
        dn->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM, dn->dim_param = ar_str(b, "N");
        dw->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, dw->dim_value = width;
        dims[0] = dn, dims[1] = dw;
        shape->dim = dims, shape->n_dim = width > 0 ? 2 : 1;
        tt->has_elem_type = 1, tt->elem_type = elem_type, tt->shape = shape;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tp->tensor_type = tt;
        vi->name = ar_str(b, name), vi->type = tp;
        return vi;
}

static int count_blocks(const sf_onnx_model_desc_t *d, sf_onnx_block_kind_t kind) {
        int n = 0;
        for (int i = 0; i < d->n_blocks; i++) n += d->blocks[i].kind == kind;
        return n;
}

/* The numeric columns concatenated, NaN replaced by the mean, scaled:
 * "scaled" (N, n_numeric) in the order of the SCALED blocks, and
 * "missing" (N, n_flags) for the MISSING blocks. */
static void build_numeric(builder_t *b, const sf_onnx_model_desc_t *d) {
        int n_num = count_blocks(d, SF_ONNX_BLOCK_SCALED), n_flag = count_blocks(d, SF_ONNX_BLOCK_MISSING);
        if (n_num == 0) return;
        const char **names = ar(b, sizeof(char *) * (size_t)n_num);
        float *mean = ar(b, sizeof(float) * (size_t)n_num), *std = ar(b, sizeof(float) * (size_t)n_num);
        int64_t *flagged = ar(b, sizeof(int64_t) * (size_t)(n_flag ? n_flag : 1));
        if (!names || !mean || !std || !flagged) return;
        int k = 0, f = 0;
        for (int i = 0; i < d->n_blocks; i++) {
                const sf_onnx_column_t *c = &d->columns[d->blocks[i].column];
                if (d->blocks[i].kind == SF_ONNX_BLOCK_SCALED)
                        names[k] = c->name, mean[k] = c->mean, std[k] = c->std, k++;
        }
        /* A missing flag points at its column's position among the scaled ones. */
        for (int i = 0; i < d->n_blocks; i++) {
                if (d->blocks[i].kind != SF_ONNX_BLOCK_MISSING) continue;
                for (int j = 0, s = 0; j < d->n_blocks; j++) {
                        if (d->blocks[j].kind != SF_ONNX_BLOCK_SCALED) continue;
                        if (d->blocks[j].column == d->blocks[i].column) flagged[f] = s;
                        s++;
                }
                f++;
        }
        int64_t dims[1] = {n_num};
        init_tensor(b, "numeric_mean", dims, 1, mean, NULL, (size_t)n_num);
        init_tensor(b, "numeric_std", dims, 1, std, NULL, (size_t)n_num);
        attr_int(b, node(b, "Concat", "", names, n_num, (const char *[]){"numeric_raw"}, 1), "axis", 1);
        node(b, "IsNaN", "", (const char *[]){"numeric_raw"}, 1, (const char *[]){"numeric_isnan"}, 1);
        node(b, "Where", "", (const char *[]){"numeric_isnan", "numeric_mean", "numeric_raw"}, 3,
             (const char *[]){"numeric_filled"}, 1);
        node(b, "Sub", "", (const char *[]){"numeric_filled", "numeric_mean"}, 2,
             (const char *[]){"numeric_centred"}, 1);
        node(b, "Div", "", (const char *[]){"numeric_centred", "numeric_std"}, 2, (const char *[]){"scaled"},
             1);
        if (n_flag == 0) return;
        int64_t fdims[1] = {n_flag};
        init_tensor(b, "missing_columns", fdims, 1, NULL, flagged, (size_t)n_flag);
        attr_int(b,
                 node(b, "Gather", "", (const char *[]){"numeric_isnan", "missing_columns"}, 2,
                      (const char *[]){"missing_bool"}, 1),
                 "axis", 1);
        attr_int(b, node(b, "Cast", "", (const char *[]){"missing_bool"}, 1, (const char *[]){"missing"}, 1),
                 "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
}

/* One-hot of categorical column c: returns the name of its (N, V) tensor. */
static const char *build_one_hot(builder_t *b, const sf_onnx_column_t *c) {
        const char *raw = ar_fmt(b, "%s_onehot3d", c->name), *shape = ar_fmt(b, "%s_onehot_shape", c->name);
        const char *out = ar_fmt(b, "%s_onehot", c->name);
        if (!raw || !shape || !out) return NULL;
        Onnx__NodeProto *nd =
                node(b, "OneHotEncoder", ML_DOMAIN, (const char *[]){c->name}, 1, (const char *[]){raw}, 1);
        attr_strings(b, nd, "cats_strings", c->vocab, (size_t)c->n_vocab);
        attr_int(b, nd, "zeros", 1);
        int64_t dims[1] = {2}, to[2] = {-1, c->n_vocab};
        init_tensor(b, shape, dims, 1, NULL, to, 2);
        node(b, "Reshape", "", (const char *[]){raw, shape}, 2, (const char *[]){out}, 1);
        return out;
}

/* "encoded" (N, width): the blocks in layout order. Consecutive scaled or
 * missing blocks come out of one tensor, sliced where the layout splits
 * them. */
static void build_encoded(builder_t *b, const sf_onnx_model_desc_t *d) {
        build_numeric(b, d);
        const char **parts = ar(b, sizeof(char *) * (size_t)(d->n_blocks + 1));
        if (!parts) return;
        int n_parts = 0, seen_scaled = 0, seen_missing = 0;
        int n_num = count_blocks(d, SF_ONNX_BLOCK_SCALED), n_flag = count_blocks(d, SF_ONNX_BLOCK_MISSING);
        for (int i = 0; i < d->n_blocks; i++) {
                const sf_onnx_block_t *bl = &d->blocks[i];
                if (bl->kind == SF_ONNX_BLOCK_ONE_HOT) {
                        parts[n_parts++] = build_one_hot(b, &d->columns[bl->column]);
                        continue;
                }
                /* A run of blocks of this kind, taken from its tensor with Slice. */
                int j = i;
                while (j + 1 < d->n_blocks && d->blocks[j + 1].kind == bl->kind) j++;
                int run = j - i + 1, total = bl->kind == SF_ONNX_BLOCK_SCALED ? n_num : n_flag;
                int *seen = bl->kind == SF_ONNX_BLOCK_SCALED ? &seen_scaled : &seen_missing;
                const char *src = bl->kind == SF_ONNX_BLOCK_SCALED ? "scaled" : "missing";
                if (run == total) {
                        parts[n_parts++] = src;
                } else {
                        const char *name = ar_fmt(b, "%s_%d", src, *seen);
                        const char *starts = ar_fmt(b, "%s_%d_start", src, *seen);
                        const char *ends = ar_fmt(b, "%s_%d_end", src, *seen);
                        const char *axes = ar_fmt(b, "%s_%d_axis", src, *seen);
                        if (!name || !starts || !ends || !axes) return;
                        int64_t one[1] = {1}, s[1] = {*seen}, e[1] = {*seen + run};
                        init_tensor(b, starts, one, 1, NULL, s, 1);
                        init_tensor(b, ends, one, 1, NULL, e, 1);
                        init_tensor(b, axes, one, 1, NULL, one, 1);
                        node(b, "Slice", "", (const char *[]){src, starts, ends, axes}, 4,
                             (const char *[]){name}, 1);
                        parts[n_parts++] = name;
                }
                *seen += run;
                i = j;
        }
        attr_int(b, node(b, "Concat", "", parts, n_parts, (const char *[]){"encoded"}, 1), "axis", 1);
}

static const char *act_op(sf_act_t act) {
        switch (act) {
        case SF_ACT_RELU:
                return "Relu";
        case SF_ACT_LEAKY_RELU:
                return "LeakyRelu";
        case SF_ACT_SIGMOID:
                return "Sigmoid";
        case SF_ACT_TANH:
                return "Tanh";
        case SF_ACT_IDENTITY:
                break;
        }
        return NULL;
}

/* encoded -> Gemm/activation ... -> probabilities -> label. */
static void build_network(builder_t *b, const sf_onnx_model_desc_t *d) {
        const sf_nn_t *nn = d->nn;
        char in[64] = "encoded";
        for (int l = 0; l < nn->n_layers; l++) {
                char w[64], bias[64], out[64];
                snprintf(w, sizeof(w), "dense_%d.kernel", l);
                snprintf(bias, sizeof(bias), "dense_%d.bias", l);
                snprintf(out, sizeof(out), l + 1 < nn->n_layers ? "dense_%d" : "logits", l);
                int64_t wd[2] = {nn->sizes[l], nn->sizes[l + 1]}, bd[1] = {nn->sizes[l + 1]};
                init_tensor(b, w, wd, 2, nn->w[l], NULL, (size_t)(wd[0] * wd[1]));
                init_tensor(b, bias, bd, 1, nn->b[l], NULL, (size_t)bd[0]);
                node(b, "Gemm", "", (const char *[]){in, w, bias}, 3, (const char *[]){out}, 1);
                snprintf(in, sizeof(in), "%s", out);
                const char *op = l + 1 < nn->n_layers ? act_op(nn->act[l]) : NULL;
                if (!op) continue;
                snprintf(out, sizeof(out), "dense_%d_act", l);
                Onnx__NodeProto *nd = node(b, op, "", (const char *[]){in}, 1, (const char *[]){out}, 1);
                if (nn->act[l] == SF_ACT_LEAKY_RELU) {
                        Onnx__AttributeProto *a =
                                attr(b, nd, "alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
                        if (a) a->has_f = 1, a->f = nn->act_alpha[l];
                }
                snprintf(in, sizeof(in), "%s", out);
        }
        attr_int(b, node(b, "Softmax", "", (const char *[]){in}, 1, (const char *[]){"probabilities"}, 1),
                 "axis", 1);
        Onnx__NodeProto *am = node(b, "ArgMax", "", (const char *[]){"probabilities"}, 1,
                                   (const char *[]){"label_index"}, 1);
        attr_int(b, am, "axis", 1);
        attr_int(b, am, "keepdims", 0);
        int n_classes = nn->sizes[nn->n_layers];
        int64_t *keys = ar(b, sizeof(int64_t) * (size_t)n_classes);
        if (!keys) return;
        for (int c = 0; c < n_classes; c++) keys[c] = c;
        Onnx__NodeProto *le = node(b, "LabelEncoder", ML_DOMAIN, (const char *[]){"label_index"}, 1,
                                   (const char *[]){"label"}, 1);
        attr_ints(b, le, "keys_int64s", keys, (size_t)n_classes);
        attr_strings(b, le, "values_strings", d->classes, (size_t)n_classes);
        attr_string(b, le, "default_string", "");
}

static Onnx__GraphProto *build_graph(builder_t *b, const sf_onnx_model_desc_t *d) {
        Onnx__GraphProto *g = ar(b, sizeof(*g));
        int n_inputs = d->n_columns ? d->n_columns : 1;
        Onnx__ValueInfoProto **inputs = ar(b, sizeof(*inputs) * (size_t)n_inputs);
        Onnx__ValueInfoProto **outputs = ar(b, 2 * sizeof(*outputs));
        if (!g || !inputs || !outputs) return NULL;
        onnx__graph_proto__init(g);
        g->name = ar_str(b, "streamflow");
        for (int i = 0; i < d->n_columns; i++)
                inputs[i] = value_info(b, d->columns[i].name,
                                       d->columns[i].kind == SF_ONNX_NUMERIC
                                               ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
                                               : ONNX__TENSOR_PROTO__DATA_TYPE__STRING,
                                       1);
        if (d->n_columns)
                build_encoded(b, d);
        else /* the network alone: its input is the encoded vector */
                inputs[0] = value_info(b, "encoded", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, d->nn->sizes[0]);
        build_network(b, d);
        outputs[0] = value_info(b, "probabilities", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                d->nn->sizes[d->nn->n_layers]);
        outputs[1] = value_info(b, "label", ONNX__TENSOR_PROTO__DATA_TYPE__STRING, 0);
        g->input = inputs, g->n_input = (size_t)n_inputs;
        g->output = outputs, g->n_output = 2;
        g->node = b->nodes, g->n_node = b->n_nodes;
        g->initializer = b->inits, g->n_initializer = b->n_inits;
        return g;
}

static Onnx__ModelProto *build_model(builder_t *b, const sf_onnx_model_desc_t *d) {
        Onnx__ModelProto *m = ar(b, sizeof(*m));
        Onnx__OperatorSetIdProto *ops = ar(b, 2 * sizeof(*ops)), **opsp = ar(b, 2 * sizeof(*opsp));
        Onnx__StringStringEntryProto *props = ar(b, sizeof(*props) * (size_t)(d->n_meta + 1));
        Onnx__StringStringEntryProto **propsp = ar(b, sizeof(*propsp) * (size_t)(d->n_meta + 1));
        if (!m || !ops || !opsp || !props || !propsp) return NULL;
        onnx__model_proto__init(m);
        m->has_ir_version = 1, m->ir_version = 8;
        m->producer_name = ar_str(b, "streamflow");
        m->producer_version = ar_str(b, d->producer_version ? d->producer_version : "");
        for (int i = 0; i < 2; i++) onnx__operator_set_id_proto__init(&ops[i]), opsp[i] = &ops[i];
        ops[0].domain = ar_str(b, ""), ops[0].has_version = 1, ops[0].version = SF_ONNX_OPSET;
        ops[1].domain = ar_str(b, ML_DOMAIN), ops[1].has_version = 1, ops[1].version = SF_ONNX_ML_OPSET;
        m->opset_import = opsp, m->n_opset_import = 2;
        for (int i = 0; i < d->n_meta; i++) {
                onnx__string_string_entry_proto__init(&props[i]);
                props[i].key = ar_str(b, d->meta[i].key), props[i].value = ar_str(b, d->meta[i].value);
                propsp[i] = &props[i];
        }
        onnx__string_string_entry_proto__init(&props[d->n_meta]);
        props[d->n_meta].key = ar_str(b, "streamflow.encoded_input");
        props[d->n_meta].value = ar_str(b, "encoded");
        propsp[d->n_meta] = &props[d->n_meta];
        m->metadata_props = propsp, m->n_metadata_props = (size_t)d->n_meta + 1;
        m->graph = build_graph(b, d);
        return b->failed ? NULL : m;
}

static int check_desc(const char *path, const sf_onnx_model_desc_t *d, char *errstr, size_t errstr_size) {
        int width = 0;
        for (int i = 0; i < d->n_blocks; i++) {
                if (d->blocks[i].column < 0 || d->blocks[i].column >= d->n_columns) {
                        snprintf(errstr, errstr_size, "%s: layout block %d names no column", path, i);
                        return -1;
                }
                const sf_onnx_column_t *c = &d->columns[d->blocks[i].column];
                int one_hot = d->blocks[i].kind == SF_ONNX_BLOCK_ONE_HOT;
                if (one_hot != (c->kind == SF_ONNX_CATEGORICAL) || (one_hot && c->n_vocab < 1)) {
                        snprintf(errstr, errstr_size, "%s: layout block %d does not fit column '%s'", path, i,
                                 c->name);
                        return -1;
                }
                width += one_hot ? c->n_vocab : 1;
        }
        if (d->n_columns > 0 && width != d->nn->sizes[0]) {
                snprintf(errstr, errstr_size, "%s: the encoded input has %d values but the network takes %d",
                         path, width, d->nn->sizes[0]);
                return -1;
        }
        return 0;
}

static int write_file(const char *path, const uint8_t *buf, size_t len, char *errstr, size_t errstr_size) {
        char tmp[4096];
        if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
                snprintf(errstr, errstr_size, "%s: path too long", path);
                return -1;
        }
        FILE *fp = fopen(tmp, "wb");
        if (!fp) {
                snprintf(errstr, errstr_size, "%s: cannot create: %s", tmp, strerror(errno));
                return -1;
        }
        int ok = fwrite(buf, 1, len, fp) == len;
        ok = (fflush(fp) == 0) && ok;
        ok = (fsync(fileno(fp)) == 0) && ok;
        ok = (fclose(fp) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
                snprintf(errstr, errstr_size, "%s: cannot write: %s", path, strerror(errno));
                unlink(tmp);
                return -1;
        }
        return 0;
}

int sf_onnx_export(const char *path, const sf_onnx_model_desc_t *desc, char *errstr, size_t errstr_size) {
        if (check_desc(path, desc, errstr, errstr_size) != 0) return -1;
        builder_t b = {0};
        int rc = -1;
        uint8_t *buf = NULL;
        Onnx__ModelProto *m = build_model(&b, desc);
        if (!m) {
                snprintf(errstr, errstr_size, "%s: out of memory building the ONNX graph", path);
                goto out;
        }
        size_t len = onnx__model_proto__get_packed_size(m);
        if (!(buf = malloc(len ? len : 1))) {
                snprintf(errstr, errstr_size, "%s: out of memory (%zu bytes)", path, len);
                goto out;
        }
        onnx__model_proto__pack(m, buf);
        rc = write_file(path, buf, len, errstr, errstr_size);
out:
        free(buf);
        builder_free(&b);
        return rc;
}
