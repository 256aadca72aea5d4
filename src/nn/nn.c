#include "nn/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels.h"
#include "util/rng.h"

/* The element-wise loops below run ~20 million times an epoch on rows of
 * 5 to 64 floats: vectorized and branch-free (half the ReLU inputs are
 * negative, unpredictably) they cost a third of what -O2 makes of them.
 * Adam's sqrtf also needs -fno-math-errno, which the Makefile sets: given
 * here as a pragma it did not reach sqrtf and the loop stayed scalar. */
#if !defined(__clang__)
#pragma GCC optimize("O3")
#endif

/* A few rows times a matrix, as row updates: c[i] += a[i][p] * b[p] for
 * each p, skipping the zeros (the one-hot inputs of a single encoded row).
 * At batch 1 this is ~3x faster than cblas_sgemm's call and packing cost. */
static void small_gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                       float beta, float *c, int ldc) {
        for (int i = 0; i < m; i++) {
                float *ci = c + (size_t)i * ldc;
                if (beta == 0.0f)
                        for (int j = 0; j < n; j++) ci[j] = 0.0f;
                else if (beta != 1.0f)
                        for (int j = 0; j < n; j++) ci[j] *= beta;
                for (int p = 0; p < k; p++) {
                        float av = alpha * a[(size_t)i * lda + p];
                        if (av == 0.0f) continue;
                        const float *bp = b + (size_t)p * ldb;
                        for (int j = 0; j < n; j++) ci[j] += av * bp[j];
                }
        }
}

void sf_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
        if (m <= SF_SGEMM_SMALL_M && !trans_a && !trans_b) {
                small_gemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                return;
        }
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sf_nn_set_threads(int n) {
        openblas_set_num_threads(n < 1 ? 1 : n);
}

void sf_dense_forward(float *y, const float *x, const float *w, const float *b, int batch, int in, int out) {
        for (int i = 0; i < batch; i++) memcpy(y + (size_t)i * out, b, (size_t)out * sizeof(float));
        /* y (B, out) = x (B, in) · w (in, out) + y */
        sf_sgemm(0, 0, batch, out, in, 1.0f, x, in, w, out, 1.0f, y, out);
}

void sf_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                       int batch, int in, int out) {
        /* dW (in, out) += x^T (in, B) · dy (B, out) */
        sf_sgemm(1, 0, in, out, batch, 1.0f, x, in, dy, out, 1.0f, dw, out);
        /* db (out) += sum over rows of dy */
        for (int i = 0; i < batch; i++) {
                const float *row = dy + (size_t)i * out;
                for (int j = 0; j < out; j++) db[j] += row[j];
        }
        /* dx (B, in) += dy (B, out) · w^T (out, in) */
        if (dx) sf_sgemm(0, 1, batch, in, out, 1.0f, dy, out, w, out, 1.0f, dx, in);
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
        for (int i = 0; i < batch; i++) {
                const float *dyi = dy + (size_t)i * out;
                for (int h = 0; h < n_hot; h++) {
                        int32_t r = hot[(size_t)i * n_hot + h];
                        if (r < 0) continue;
                        float *dwr = dw + (size_t)r * out;
                        for (int j = 0; j < out; j++) dwr[j] += dyi[j];
                }
        }
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

double sf_softmax_xent_forward_weighted(float *probs, const float *logits, const int *labels,
                                        const float *class_weight, int batch, int classes) {
        double loss = 0.0;
        for (int i = 0; i < batch; i++) {
                const float *z = logits + (size_t)i * classes;
                float *p = probs + (size_t)i * classes;
                float zmax = z[0];
                for (int c = 1; c < classes; c++)
                        if (z[c] > zmax) zmax = z[c];
                float sum = 0.0f;
                for (int c = 0; c < classes; c++) {
                        p[c] = expf(z[c] - zmax);
                        sum += p[c];
                }
                for (int c = 0; c < classes; c++) p[c] /= sum;
                if (!labels) continue;
                /* -log softmax(z)[y] = log sum exp(z - zmax) - (z[y] - zmax) */
                double li = (double)logf(sum) - (double)(z[labels[i]] - zmax);
                loss += class_weight ? (double)class_weight[labels[i]] * li : li;
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
        nn->params = calloc(off, sizeof(float));
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
        size_t per_row = 0;
        for (int l = 0; l < nn->n_layers; l++) per_row += (size_t)nn->sizes[l + 1];
        size_t total = per_row * (with_grads ? 2 : 1) + (size_t)nn->sizes[nn->n_layers];
        ws->block = malloc(total * (size_t)max_batch * sizeof(float));
        if (!ws->block) return -1;
        ws->max_batch = max_batch;
        float *p = ws->block;
        for (int l = 0; l < nn->n_layers; l++) {
                ws->act[l] = p;
                p += (size_t)max_batch * nn->sizes[l + 1];
        }
        if (with_grads) {
                for (int l = 0; l < nn->n_layers; l++) {
                        ws->dact[l] = p;
                        p += (size_t)max_batch * nn->sizes[l + 1];
                }
        }
        ws->probs = p;
        return 0;
}

void sf_nn_ws_free(sf_nn_ws_t *ws) {
        free(ws->block);
        memset(ws, 0, sizeof(*ws));
}

/* Inference (a workspace without gradients) runs on sf_dense_infer's
 * kernels with the ReLU fused in; training keeps the cblas products its
 * recorded weights were made with. */
static void layer_forward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, int l, int batch) {
        int out = nn->sizes[l + 1], last = l == nn->n_layers - 1;
        const float *x = l == 0 ? in->x : ws->act[l - 1];
        int n_in = l == 0 ? in->n_dense : nn->sizes[l];
        float *y = ws->act[l]; /* (B, out) */
        int hot = l == 0 && in->n_hot > 0, fuse = !last && !hot && nn->act[l] == SF_ACT_RELU;
        if (ws->dact[0])
                sf_dense_forward(y, x, nn->w[l], nn->b[l], batch, n_in, out);
        else
                sf_dense_infer(y, x, n_in, nn->w[l], nn->b[l], batch, n_in, out, fuse);
        if (hot) sf_hot_forward(y, in->hot, nn->w[0], batch, in->n_hot, out);
        if (!last && !(fuse && !ws->dact[0]))
                sf_act_forward(y, (size_t)batch * out, nn->act[l], nn->act_alpha[l]);
}

double sf_nn_forward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels,
                     int batch) {
        for (int l = 0; l < nn->n_layers; l++) layer_forward(nn, ws, in, l, batch);
        int last = nn->n_layers - 1;
        return sf_softmax_xent_forward_weighted(ws->probs, ws->act[last], labels, ws->class_weight, batch,
                                                nn->sizes[last + 1]);
}

void sf_nn_backward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels, int batch,
                    float *grads) {
        int last = nn->n_layers - 1;
        for (int l = 0; l <= last; l++)
                memset(ws->dact[l], 0, (size_t)batch * nn->sizes[l + 1] * sizeof(float));
        sf_softmax_xent_backward_weighted(ws->dact[last], ws->probs, labels, ws->class_weight, batch,
                                          nn->sizes[last + 1]);
        for (int l = last; l >= 0; l--) {
                int out = nn->sizes[l + 1];
                float *dw = grads + nn->w_off[l], *db = grads + nn->b_off[l];
                if (l == 0) {
                        sf_dense_backward(NULL, dw, db, ws->dact[0], in->x, nn->w[0], batch, in->n_dense,
                                          out);
                        if (in->n_hot > 0) sf_hot_backward(dw, in->hot, ws->dact[0], batch, in->n_hot, out);
                } else {
                        /* dact[l-1] receives the gradient of layer l-1's ReLU output ... */
                        sf_dense_backward(ws->dact[l - 1], dw, db, ws->dact[l], ws->act[l - 1], nn->w[l],
                                          batch, nn->sizes[l], out);
                        /* ... and, through the ReLU, becomes the gradient of its input. */
                        size_t n = (size_t)batch * nn->sizes[l];
                        float *d = ws->dact[l - 1];
                        const float *y = ws->act[l - 1];
                        for (size_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
                }
        }
}

int sf_adam_init(sf_adam_t *adam, size_t n, float lr) {
        memset(adam, 0, sizeof(*adam));
        adam->m = calloc(2 * n, sizeof(float));
        if (!adam->m) return -1;
        adam->v = adam->m + n;
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

void sf_adam_step(sf_adam_t *adam, float *params, const float *grads) {
        adam->t++;
        double b1t = pow((double)adam->beta1, (double)adam->t);
        double b2t = pow((double)adam->beta2, (double)adam->t);
        float alpha = (float)((double)adam->lr * sqrt(1.0 - b2t) / (1.0 - b1t));
        const float b1 = adam->beta1, b2 = adam->beta2, eps = adam->eps;
        float *restrict m = adam->m, *restrict v = adam->v, *restrict p = params;
        const float *restrict g = grads;
        /* Packed multiplies, square roots and divisions (see the note at the
         * top): this runs over every parameter at every step. */
        for (size_t i = 0; i < adam->n; i++) {
                m[i] = b1 * m[i] + (1.0f - b1) * g[i];
                v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
                p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
        }
}

int sf_argmax(const float *v, int n) {
        int best = 0;
        for (int i = 1; i < n; i++)
                if (v[i] > v[best]) best = i;
        return best;
}
