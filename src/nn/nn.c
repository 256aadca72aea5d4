#include "nn/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels.h"
#include "util/rng.h"

/* The element-wise loops below (ReLU, softmax) run on rows of 5 to 64
 * floats: vectorized and branch-free (half the ReLU inputs are negative,
 * unpredictably) they cost a third of what -O2 makes of them. The products
 * and Adam's update are sf_gemm and sf_adam_update (nn/kernels.c). */
#if !defined(__clang__)
#pragma GCC optimize("O3")
#endif

float *sf_nn_floats(size_t n) {
        size_t bytes = SF_NN_LINE_FLOATS(n ? n : 1) * sizeof(float);
        if (bytes / sizeof(float) < n) return NULL;
        float *p = aligned_alloc(64, bytes);
        if (p) memset(p, 0, bytes);
        return p;
}

/* Nothing here runs on OpenBLAS any more; other code still may. */
void sf_nn_set_threads(int n) {
        openblas_set_num_threads(n < 1 ? 1 : n);
}

void sf_dense_forward(float *y, const float *x, const float *w, const float *b, int batch, int in, int out) {
        /* y (B, out) = b + x (B, in) · w (in, out) */
        sf_gemm_t g = {.m = batch,
                       .n = out,
                       .k = in,
                       .a = x,
                       .a_row = (size_t)in,
                       .a_col = 1,
                       .b = w,
                       .ldb = (size_t)out,
                       .c = y,
                       .ldc = (size_t)out,
                       .bias = b};
        sf_gemm(&g);
}

/* db (out) += column sums of dy (B, out): a product with a row of ones. */
static void bias_grad(float *db, const float *dy, int batch, int out) {
        static const float one = 1.0f;
        sf_gemm_t g = {.m = 1,
                       .n = out,
                       .k = batch,
                       .a = &one,
                       .b = dy,
                       .ldb = (size_t)out,
                       .c = db,
                       .ldc = (size_t)out,
                       .accumulate = 1};
        sf_gemm(&g);
}

/* dw (in, out) += x^T (in, B) · dy (B, out), x with row stride ldx. */
static void weight_grad(float *dw, const float *x, int ldx, const float *dy, int batch, int in, int out) {
        sf_gemm_t g = {.m = in,
                       .n = out,
                       .k = batch,
                       .a = x,
                       .a_row = 1,
                       .a_col = (size_t)ldx,
                       .b = dy,
                       .ldb = (size_t)out,
                       .c = dw,
                       .ldc = (size_t)out,
                       .accumulate = 1};
        sf_gemm(&g);
}

void sf_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                       int batch, int in, int out) {
        weight_grad(dw, x, in, dy, batch, in, out);
        bias_grad(db, dy, batch, out);
        /* dx (B, in) += dy (B, out) · w^T (out, in) */
        if (dx) {
                sf_gemm_t g = {.m = batch,
                               .n = in,
                               .k = out,
                               .a = dy,
                               .a_row = (size_t)out,
                               .a_col = 1,
                               .b = w,
                               .ldb = (size_t)out,
                               .b_trans = 1,
                               .c = dx,
                               .ldc = (size_t)in,
                               .accumulate = 1};
                sf_gemm(&g);
        }
}

void sf_hot_forward(float *y, const int32_t *hot, const float *w, int batch, int n_hot, int out) {
        for (int i = 0; i < batch; i++) {
                float *yi = y + (size_t)i * out;
                for (int h = 0; h < n_hot; h++) {
                        int32_t r = hot[(size_t)i * n_hot + h];
                        if (r < 0) continue;
                        const float *wr = w + (size_t)r * out;
                        for (int j = 0; j < out; j++) yi[j] += wr[j];
                }
        }
}

void sf_hot_backward(float *dw, const int32_t *hot, const float *dy, int batch, int n_hot, int out) {
        sf_rows_scatter_add(dw, (size_t)out, hot, n_hot, dy, (size_t)out, batch, out);
}

void sf_relu_forward(float *y, const float *x, size_t n) {
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

const char *sf_act_name(sf_act_t act) {
        static const char *const names[] = {"relu", "identity", "leaky_relu", "sigmoid", "tanh"};
        return (unsigned)act < sizeof(names) / sizeof(names[0]) ? names[act] : "?";
}

void sf_act_forward(float *y, size_t n, sf_act_t act, float alpha) {
        switch (act) {
        case SF_ACT_RELU:
                sf_relu_forward(y, y, n);
                break;
        case SF_ACT_IDENTITY:
                break;
        case SF_ACT_LEAKY_RELU:
                for (size_t i = 0; i < n; i++) y[i] = y[i] < 0 ? alpha * y[i] : y[i];
                break;
        case SF_ACT_SIGMOID:
                for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-y[i]));
                break;
        case SF_ACT_TANH:
                for (size_t i = 0; i < n; i++) y[i] = tanhf(y[i]);
                break;
        }
}

void sf_relu_backward(float *dx, const float *dy, const float *y, size_t n) {
        for (size_t i = 0; i < n; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

double sf_softmax_xent_forward(float *probs, const float *logits, const int *labels, int batch, int classes) {
        return sf_softmax_xent_forward_weighted(probs, logits, labels, NULL, batch, classes);
}

/* Up to 256 rows at a time in one kernel call (sf_softmax_rows: its own
 * e^x, within 1 ulp of expf's, 16 rows a vector on AVX-512). */
double sf_softmax_xent_forward_weighted(float *probs, const float *logits, const int *labels,
                                        const float *class_weight, int batch, int classes) {
        float sums[256], zmax[256];
        double loss = 0.0;
        for (int i0 = 0; i0 < batch; i0 += 256) {
                int rows = batch - i0 < 256 ? batch - i0 : 256;
                sf_softmax_rows(probs + (size_t)i0 * classes, sums, zmax, logits + (size_t)i0 * classes, rows,
                                classes);
                for (int i = i0; labels && i < i0 + rows; i++) {
                        /* -log softmax(z)[y] = log sum exp(z - zmax) - (z[y] - zmax) */
                        float zy = logits[(size_t)i * classes + labels[i]];
                        double li = (double)logf(sums[i - i0]) - (double)(zy - zmax[i - i0]);
                        loss += class_weight ? (double)class_weight[labels[i]] * li : li;
                }
        }
        /* Keras' sum_over_batch_size: divided by B even when weighted. */
        return labels && batch > 0 ? loss / batch : 0.0;
}

void sf_softmax_xent_backward(float *dlogits, const float *probs, const int *labels, int batch, int classes) {
        sf_softmax_xent_backward_weighted(dlogits, probs, labels, NULL, batch, classes);
}

void sf_softmax_xent_backward_weighted(float *dlogits, const float *probs, const int *labels,
                                       const float *class_weight, int batch, int classes) {
        float scale = 1.0f / (float)batch;
        for (int i = 0; i < batch; i++) {
                const float *p = probs + (size_t)i * classes;
                float *d = dlogits + (size_t)i * classes;
                float s = class_weight ? class_weight[labels[i]] * scale : scale;
                for (int c = 0; c < classes; c++) d[c] += (p[c] - (c == labels[i] ? 1.0f : 0.0f)) * s;
        }
}

sf_nn_t *sf_nn_create(const int *sizes, int n_layers, char *errstr, size_t errstr_size) {
        if (n_layers < 1 || n_layers > SF_NN_MAX_LAYERS) {
                snprintf(errstr, errstr_size, "a network needs 1 to %d layers, not %d", SF_NN_MAX_LAYERS,
                         n_layers);
                return NULL;
        }
        for (int l = 0; l <= n_layers; l++) {
                if (sizes[l] < 1 || sizes[l] > 1 << 20) {
                        snprintf(errstr, errstr_size, "layer size %d is %d; it must be 1 to %d", l, sizes[l],
                                 1 << 20);
                        return NULL;
                }
        }
        sf_nn_t *nn = calloc(1, sizeof(*nn));
        if (!nn) goto oom;
        nn->n_layers = n_layers;
        size_t off = 0;
        for (int l = 0; l <= n_layers; l++) nn->sizes[l] = sizes[l];
        for (int l = 0; l < n_layers; l++) {
                nn->w_off[l] = off;
                off += (size_t)sizes[l] * sizes[l + 1];
                nn->b_off[l] = off;
                off += (size_t)sizes[l + 1];
        }
        nn->n_params = off;
        nn->params = sf_nn_floats(off);
        if (!nn->params) goto oom;
        for (int l = 0; l < n_layers; l++) {
                nn->w[l] = nn->params + nn->w_off[l];
                nn->b[l] = nn->params + nn->b_off[l];
        }
        return nn;
oom:
        sf_nn_destroy(nn);
        snprintf(errstr, errstr_size, "out of memory allocating the network");
        return NULL;
}

void sf_nn_destroy(sf_nn_t *nn) {
        if (!nn) return;
        free(nn->params);
        free(nn);
}

void sf_nn_init_glorot(sf_nn_t *nn, uint64_t seed) {
        sf_rng_t rng;
        sf_rng_seed(&rng, seed);
        for (int l = 0; l < nn->n_layers; l++) {
                int in = nn->sizes[l], out = nn->sizes[l + 1];
                double limit = sqrt(6.0 / (double)(in + out));
                size_t n = (size_t)in * out;
                for (size_t i = 0; i < n; i++)
                        nn->w[l][i] = (float)((2.0 * sf_rng_uniform(&rng) - 1.0) * limit);
                memset(nn->b[l], 0, (size_t)out * sizeof(float));
        }
}

int sf_nn_ws_init(sf_nn_ws_t *ws, const sf_nn_t *nn, int max_batch, int with_grads) {
        memset(ws, 0, sizeof(*ws));
        if (max_batch < 1) return -1;
        /* Each buffer starts on a cache line. */
        size_t per_set = 0;
        for (int l = 0; l < nn->n_layers; l++)
                per_set += SF_NN_LINE_FLOATS((size_t)max_batch * nn->sizes[l + 1]);
        size_t total = per_set * (with_grads ? 2 : 1) +
                       SF_NN_LINE_FLOATS((size_t)max_batch * nn->sizes[nn->n_layers]);
        ws->block = sf_nn_floats(total);
        if (!ws->block) return -1;
        ws->max_batch = max_batch;
        float *p = ws->block;
        for (int l = 0; l < nn->n_layers; l++) {
                ws->act[l] = p;
                p += SF_NN_LINE_FLOATS((size_t)max_batch * nn->sizes[l + 1]);
        }
        if (with_grads) {
                for (int l = 0; l < nn->n_layers; l++) {
                        ws->dact[l] = p;
                        p += SF_NN_LINE_FLOATS((size_t)max_batch * nn->sizes[l + 1]);
                }
        }
        ws->probs = p;
        return 0;
}

void sf_nn_ws_free(sf_nn_ws_t *ws) {
        free(ws->block);
        memset(ws, 0, sizeof(*ws));
}

/* One layer, training or inference alike: the product, the one-hot rows
 * (the first layer of compact input) and the ReLU in one kernel call. */
static void layer_forward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, int l, int batch) {
        int out = nn->sizes[l + 1], last = l == nn->n_layers - 1;
        int n_in = l == 0 ? in->n_dense : nn->sizes[l];
        int relu = !last && nn->act[l] == SF_ACT_RELU, hot = l == 0 && in->n_hot > 0;
        /* act[l] (B, out) = b + x (B, n_in) · w (n_in, out) [+ w's one-hot rows], ReLU'd */
        sf_gemm_t g = {.m = batch,
                       .n = out,
                       .k = n_in,
                       .a = l == 0 ? in->x : ws->act[l - 1],
                       .a_row = (size_t)n_in,
                       .a_col = 1,
                       .b = nn->w[l],
                       .ldb = (size_t)out,
                       .c = ws->act[l],
                       .ldc = (size_t)out,
                       .bias = nn->b[l],
                       .hot = hot ? in->hot : NULL,
                       .n_hot = hot ? in->n_hot : 0,
                       .relu = relu};
        sf_gemm(&g);
        if (!last && !relu) sf_act_forward(ws->act[l], (size_t)batch * out, nn->act[l], nn->act_alpha[l]);
}

double sf_nn_forward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels,
                     int batch) {
        for (int l = 0; l < nn->n_layers; l++) layer_forward(nn, ws, in, l, batch);
        int last = nn->n_layers - 1;
        return sf_softmax_xent_forward_weighted(ws->probs, ws->act[last], labels, ws->class_weight, batch,
                                                nn->sizes[last + 1]);
}

/* The gradient reaching layer l's input: dact[l-1] (B, n_in) = dact[l]
 * (B, out) · w^T (out, n_in), through the ReLU (zero where act[l-1] was not
 * positive), with the weights as they are now. */
static void input_grad(const sf_nn_t *nn, sf_nn_ws_t *ws, int l, int batch) {
        int out = nn->sizes[l + 1], n_in = nn->sizes[l];
        sf_gemm_t g = {.m = batch,
                       .n = n_in,
                       .k = out,
                       .a = ws->dact[l],
                       .a_row = (size_t)out,
                       .a_col = 1,
                       .b = nn->w[l],
                       .ldb = (size_t)out,
                       .b_trans = 1,
                       .c = ws->dact[l - 1],
                       .ldc = (size_t)n_in,
                       .mask = ws->act[l - 1]};
        sf_gemm(&g);
}

void sf_nn_backward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels, int batch,
                    float *grads) {
        int last = nn->n_layers - 1;
        memset(ws->dact[last], 0, (size_t)batch * nn->sizes[last + 1] * sizeof(float));
        sf_softmax_xent_backward_weighted(ws->dact[last], ws->probs, labels, ws->class_weight, batch,
                                          nn->sizes[last + 1]);
        for (int l = last; l >= 0; l--) {
                int out = nn->sizes[l + 1], n_in = l == 0 ? in->n_dense : nn->sizes[l];
                const float *x = l == 0 ? in->x : ws->act[l - 1];
                weight_grad(grads + nn->w_off[l], x, n_in, ws->dact[l], batch, n_in, out);
                bias_grad(grads + nn->b_off[l], ws->dact[l], batch, out);
                if (l == 0) {
                        if (in->n_hot > 0)
                                sf_hot_backward(grads + nn->w_off[0], in->hot, ws->dact[0], batch, in->n_hot,
                                                out);
                        break;
                }
                input_grad(nn, ws, l, batch);
        }
}

int sf_adam_init(sf_adam_t *adam, size_t n, float lr) {
        memset(adam, 0, sizeof(*adam));
        adam->m = sf_nn_floats(2 * SF_NN_LINE_FLOATS(n));
        if (!adam->m) return -1;
        adam->v = adam->m + SF_NN_LINE_FLOATS(n);
        adam->n = n;
        adam->lr = lr;
        adam->beta1 = SF_ADAM_BETA1;
        adam->beta2 = SF_ADAM_BETA2;
        adam->eps = SF_ADAM_EPS;
        return 0;
}

void sf_adam_free(sf_adam_t *adam) {
        free(adam->m);
        memset(adam, 0, sizeof(*adam));
}

/* t += 1; the step size alpha = lr sqrt(1 - b2^t) / (1 - b1^t) of step t. */
static float adam_next(sf_adam_t *adam) {
        adam->t++;
        double b1t = pow((double)adam->beta1, (double)adam->t);
        double b2t = pow((double)adam->beta2, (double)adam->t);
        return (float)((double)adam->lr * sqrt(1.0 - b2t) / (1.0 - b1t));
}

void sf_adam_step(sf_adam_t *adam, float *params, const float *grads) {
        float alpha = adam_next(adam);
        sf_adam_update(params, adam->m, adam->v, grads, adam->n, alpha, adam->beta1, adam->beta2, adam->eps);
}

/* Layers narrower than a vector (the softmax's, 5 classes for NSL-KDD) and
 * at most this many weights take their weight gradient transposed. */
#define NARROW_WEIGHTS 2048

/* Layer l's weights (n_in, out), out < 16, updated by Adam with their
 * gradient x^T · dy, x (B, n_in), dy (B, out): computed as dW^T (out, n_in)
 * = dy^T · x, whose rows are n_in wide where dW's are out wide (fused with
 * Adam, each of dW's rows took a vector of its own for `out` parameters),
 * then transposed for Adam's update. fma(x, dy, s) == fma(dy, x, s): the
 * same sums in the same order, the same bits. */
static void narrow_weight_adam(sf_nn_t *nn, const sf_adam_t *adam, float alpha, int l, const float *x,
                               int n_in, const float *dy, int batch) {
        float gt[NARROW_WEIGHTS], g[NARROW_WEIGHTS];
        int out = nn->sizes[l + 1];
        /* gt (out, n_in) = dy^T (out, B) · x (B, n_in) */
        sf_gemm_t w = {.m = out,
                       .n = n_in,
                       .k = batch,
                       .a = dy,
                       .a_row = 1,
                       .a_col = (size_t)out,
                       .b = x,
                       .ldb = (size_t)n_in,
                       .c = gt,
                       .ldc = (size_t)n_in};
        sf_gemm(&w);
        for (int i = 0; i < n_in; i++)
                for (int j = 0; j < out; j++) g[i * out + j] = gt[j * n_in + i];
        sf_adam_update(nn->w[l], adam->m + nn->w_off[l], adam->v + nn->w_off[l], g, (size_t)n_in * out, alpha,
                       adam->beta1, adam->beta2, adam->eps);
}

/* Layer l's weights (n_in, out) and biases (out) updated by Adam with
 * their gradients x^T · dy and dy's column sums, x (B, n_in), dy (B, out). */
static void layer_adam(sf_nn_t *nn, const sf_adam_t *adam, float alpha, int l, const float *x, int n_in,
                       const float *dy, int batch) {
        static const float one = 1.0f;
        int out = nn->sizes[l + 1];
        sf_gemm_adam_t wa = {
                adam->m + nn->w_off[l], adam->v + nn->w_off[l], alpha, adam->beta1, adam->beta2, adam->eps};
        sf_gemm_adam_t ba = {
                adam->m + nn->b_off[l], adam->v + nn->b_off[l], alpha, adam->beta1, adam->beta2, adam->eps};
        /* W (n_in, out) -= Adam(dW = x^T (n_in, B) · dy (B, out)) */
        int narrow = out < 16 && (size_t)n_in * out <= NARROW_WEIGHTS;
        sf_gemm_t w = {.m = n_in,
                       .n = out,
                       .k = batch,
                       .a = x,
                       .a_row = 1,
                       .a_col = (size_t)n_in,
                       .b = dy,
                       .ldb = (size_t)out,
                       .c = nn->w[l],
                       .ldc = (size_t)out,
                       .adam = &wa};
        if (narrow)
                narrow_weight_adam(nn, adam, alpha, l, x, n_in, dy, batch);
        else
                sf_gemm(&w);
        /* b (out) -= Adam(db = 1 (1, B) · dy (B, out)) */
        sf_gemm_t b = {.m = 1,
                       .n = out,
                       .k = batch,
                       .a = &one,
                       .b = dy,
                       .ldb = (size_t)out,
                       .c = nn->b[l],
                       .ldc = (size_t)out,
                       .adam = &ba};
        sf_gemm(&b);
}

void sf_nn_backward_adam(sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels, int batch,
                         sf_adam_t *adam, float *scratch) {
        float alpha = adam_next(adam);
        int last = nn->n_layers - 1;
        memset(ws->dact[last], 0, (size_t)batch * nn->sizes[last + 1] * sizeof(float));
        sf_softmax_xent_backward_weighted(ws->dact[last], ws->probs, labels, ws->class_weight, batch,
                                          nn->sizes[last + 1]);
        for (int l = last; l > 0; l--) {
                /* With the weights before this step. */
                input_grad(nn, ws, l, batch);
                layer_adam(nn, adam, alpha, l, ws->act[l - 1], nn->sizes[l], ws->dact[l], batch);
        }
        /* The first layer: its dense rows as the others, its one-hot rows
         * (those past in->n_dense) from their gradient gathered in scratch. */
        layer_adam(nn, adam, alpha, 0, in->x, in->n_dense, ws->dact[0], batch);
        int out = nn->sizes[1];
        size_t hot_off = nn->w_off[0] + (size_t)in->n_dense * out,
               n_hot_params = (size_t)(nn->sizes[0] - in->n_dense) * out;
        if (n_hot_params == 0) return;
        memset(scratch + hot_off, 0, n_hot_params * sizeof(float));
        if (in->n_hot > 0)
                sf_hot_backward(scratch + nn->w_off[0], in->hot, ws->dact[0], batch, in->n_hot, out);
        sf_adam_update(nn->params + hot_off, adam->m + hot_off, adam->v + hot_off, scratch + hot_off,
                       n_hot_params, alpha, adam->beta1, adam->beta2, adam->eps);
}

int sf_argmax(const float *v, int n) {
        int best = 0;
        for (int i = 1; i < n; i++)
                if (v[i] > v[best]) best = i;
        return best;
}
