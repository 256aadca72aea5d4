/* The network's layers, whole-network gradients, Glorot init and Adam. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "test.h"
#include "util/rng.h"

static void fill(sf_rng_t *rng, float *v, size_t n, float lo, float hi) {
        for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * (float)sf_rng_uniform(rng);
}

/* True when the analytic and numeric gradients agree to a float tolerance. */
static int grad_close(double analytic, double numeric) {
        return fabs(analytic - numeric) <= 2e-3 + 2e-2 * fabs(numeric);
}

/* L = sum(y * r) for the dense layer, in double. */
static double dense_loss(const float *x, const float *w, const float *b, const float *r, int B, int in,
                         int out) {
        float y[64];
        sf_dense_forward(y, x, w, b, B, in, out);
        double l = 0;
        for (int i = 0; i < B * out; i++) l += (double)y[i] * r[i];
        return l;
}

static void test_dense_gradients(void) {
        enum { B = 3, IN = 4, OUT = 5 };
        sf_rng_t rng;
        sf_rng_seed(&rng, 1);
        float x[B * IN], w[IN * OUT], b[OUT], r[B * OUT];
        fill(&rng, x, B * IN, -1, 1), fill(&rng, w, IN * OUT, -1, 1), fill(&rng, b, OUT, -1, 1);
        fill(&rng, r, B * OUT, -1, 1);

        /* Forward against a hand loop. */
        float y[B * OUT];
        sf_dense_forward(y, x, w, b, B, IN, OUT);
        for (int i = 0; i < B; i++)
                for (int j = 0; j < OUT; j++) {
                        double s = b[j];
                        for (int k = 0; k < IN; k++) s += (double)x[i * IN + k] * w[k * OUT + j];
                        CHECK_NEAR(y[i * OUT + j], s, 1e-5);
                }

        /* dy = r for L = sum(y * r); gradients accumulate onto a non-zero start. */
        float dx[B * IN], dw[IN * OUT], db[OUT];
        for (int i = 0; i < B * IN; i++) dx[i] = 1.0f;
        for (int i = 0; i < IN * OUT; i++) dw[i] = 1.0f;
        for (int i = 0; i < OUT; i++) db[i] = 1.0f;
        sf_dense_backward(dx, dw, db, r, x, w, B, IN, OUT);

        const float h = 1e-2f;
        int bad = 0;
        float *params[3] = {x, w, b};
        float *grads[3] = {dx, dw, db};
        int sizes[3] = {B * IN, IN * OUT, OUT};
        for (int t = 0; t < 3; t++) {
                for (int i = 0; i < sizes[t]; i++) {
                        float keep = params[t][i];
                        params[t][i] = keep + h;
                        double lp = dense_loss(x, w, b, r, B, IN, OUT);
                        params[t][i] = keep - h;
                        double lm = dense_loss(x, w, b, r, B, IN, OUT);
                        params[t][i] = keep;
                        double numeric = (lp - lm) / (2 * h) + 1.0; /* + the 1.0 we started from */
                        if (!grad_close(grads[t][i], numeric)) {
                                bad++;
                                printf("#   tensor %d [%d]: analytic %g numeric %g\n", t, i, grads[t][i],
                                       numeric);
                        }
                }
        }
        CHECK_INT(bad, 0);
}

static void test_hot_matches_dense(void) {
        /* Inputs: 2 dense columns, then a one-hot group of 3 and one of 2. */
        enum { B = 4, IN = 7, OUT = 3, DENSE = 2, NHOT = 2 };
        sf_rng_t rng;
        sf_rng_seed(&rng, 2);
        float w[IN * OUT], b[OUT], xd[B * DENSE], dy[B * OUT];
        fill(&rng, w, IN * OUT, -1, 1), fill(&rng, b, OUT, -1, 1), fill(&rng, xd, B * DENSE, -1, 1);
        fill(&rng, dy, B * OUT, -1, 1);
        /* Row 3 has a value unseen in training in its first group: -1. */
        int32_t hot[B * NHOT] = {2, 5, 3, 6, 4, 5, -1, 6};
        float x[B * IN];
        memset(x, 0, sizeof(x));
        for (int i = 0; i < B; i++) {
                for (int k = 0; k < DENSE; k++) x[i * IN + k] = xd[i * DENSE + k];
                for (int h = 0; h < NHOT; h++)
                        if (hot[i * NHOT + h] >= 0) x[i * IN + hot[i * NHOT + h]] = 1.0f;
        }
        float y1[B * OUT], y2[B * OUT];
        sf_dense_forward(y1, x, w, b, B, IN, OUT);
        sf_dense_forward(y2, xd, w, b, B, DENSE, OUT);
        sf_hot_forward(y2, hot, w, B, NHOT, OUT);
        for (int i = 0; i < B * OUT; i++) CHECK_NEAR(y1[i], y2[i], 1e-6);

        float dw1[IN * OUT] = {0}, db1[OUT] = {0}, dw2[IN * OUT] = {0}, db2[OUT] = {0};
        sf_dense_backward(NULL, dw1, db1, dy, x, w, B, IN, OUT);
        sf_dense_backward(NULL, dw2, db2, dy, xd, w, B, DENSE, OUT);
        sf_hot_backward(dw2, hot, dy, B, NHOT, OUT);
        for (int i = 0; i < IN * OUT; i++) CHECK_NEAR(dw1[i], dw2[i], 1e-6);
        for (int i = 0; i < OUT; i++) CHECK_NEAR(db1[i], db2[i], 1e-6);
}

static void test_relu_gradients(void) {
        enum { N = 20 };
        sf_rng_t rng;
        sf_rng_seed(&rng, 3);
        float x[N], y[N], r[N], dx[N] = {0};
        fill(&rng, r, N, -1, 1);
        /* Keep inputs away from the kink, half of them negative. */
        for (int i = 0; i < N; i++) x[i] = (i % 2 ? -1.0f : 1.0f) * (0.1f + (float)sf_rng_uniform(&rng));
        sf_relu_forward(y, x, N);
        for (int i = 0; i < N; i++) CHECK(y[i] == (x[i] > 0 ? x[i] : 0.0f));
        sf_relu_backward(dx, r, y, N);
        const float h = 1e-2f;
        for (int i = 0; i < N; i++) {
                float keep = x[i];
                float yp = keep + h > 0 ? keep + h : 0, ym = keep - h > 0 ? keep - h : 0;
                double numeric = (double)r[i] * (yp - ym) / (2 * h);
                CHECK_NEAR(dx[i], numeric, 1e-4);
        }
}

static double xent_loss(const float *z, const int *labels, int B, int C) {
        float p[64];
        return sf_softmax_xent_forward(p, z, labels, B, C);
}

static void test_softmax_xent(void) {
        enum { B = 4, C = 5 };
        sf_rng_t rng;
        sf_rng_seed(&rng, 4);
        float z[B * C], p[B * C], dz[B * C] = {0};
        fill(&rng, z, B * C, -3, 3);
        int labels[B] = {0, 4, 2, 2};
        double loss = sf_softmax_xent_forward(p, z, labels, B, C);

        /* Against a direct double computation. */
        double want = 0;
        for (int i = 0; i < B; i++) {
                double s = 0;
                for (int c = 0; c < C; c++) s += exp((double)z[i * C + c]);
                double rowsum = 0;
                for (int c = 0; c < C; c++) {
                        CHECK_NEAR(p[i * C + c], exp((double)z[i * C + c]) / s, 1e-6);
                        rowsum += p[i * C + c];
                }
                CHECK_NEAR(rowsum, 1.0, 1e-6);
                want += -log(exp((double)z[i * C + labels[i]]) / s);
        }
        CHECK_NEAR(loss, want / B, 1e-6);

        sf_softmax_xent_backward(dz, p, labels, B, C);
        const float h = 1e-2f;
        int bad = 0;
        for (int i = 0; i < B * C; i++) {
                float keep = z[i];
                z[i] = keep + h;
                double lp = xent_loss(z, labels, B, C);
                z[i] = keep - h;
                double lm = xent_loss(z, labels, B, C);
                z[i] = keep;
                double numeric = (lp - lm) / (2 * h);
                if (!grad_close(dz[i], numeric)) bad++, printf("#   dz[%d] %g vs %g\n", i, dz[i], numeric);
        }
        CHECK_INT(bad, 0);

        /* Huge logits stay finite (no exp overflow). */
        float big[C] = {1000, -1000, 500, 0, 999};
        int l0 = 1;
        double lb = sf_softmax_xent_forward(p, big, &l0, 1, C);
        CHECK(isfinite(lb));
        CHECK_NEAR(lb, 2000.0 + log(1.0 + exp(-1.0)), 1e-3);
        CHECK(isfinite(p[0]) && isfinite(p[1]));
}

/* The whole network's loss at the current parameters. */
static double net_loss(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels, int B) {
        return sf_nn_forward(nn, ws, in, labels, B);
}

static int check_network_gradients(const sf_nn_input_t *in, const int *sizes, int n_layers, int B,
                                   const int *labels, uint64_t seed, const float *class_weight) {
        char err[128];
        sf_nn_t *nn = sf_nn_create(sizes, n_layers, err, sizeof(err));
        CHECK(nn != NULL);
        if (!nn) return 1;
        sf_nn_init_glorot(nn, seed);
        /* Non-zero biases so the ReLUs see varied inputs. */
        sf_rng_t rng;
        sf_rng_seed(&rng, seed + 100);
        for (int l = 0; l < n_layers; l++) fill(&rng, nn->b[l], (size_t)sizes[l + 1], -0.3f, 0.3f);
        sf_nn_ws_t ws;
        CHECK(sf_nn_ws_init(&ws, nn, B, 1) == 0);
        ws.class_weight = class_weight;
        float *grads = calloc(nn->n_params, sizeof(float));
        CHECK(grads != NULL);
        sf_nn_forward(nn, &ws, in, labels, B);
        sf_nn_backward(nn, &ws, in, labels, B, grads);

        const float h = 1e-3f;
        int bad = 0, checked = 0;
        for (size_t i = 0; i < nn->n_params; i++) {
                float keep = nn->params[i];
                nn->params[i] = keep + h;
                double lp = net_loss(nn, &ws, in, labels, B);
                nn->params[i] = keep - h;
                double lm = net_loss(nn, &ws, in, labels, B);
                nn->params[i] = keep;
                double numeric = (lp - lm) / (2 * h);
                checked++;
                if (!grad_close(grads[i], numeric)) {
                        bad++;
                        printf("#   param %zu: analytic %g numeric %g\n", i, grads[i], numeric);
                }
        }
        CHECK(checked == (int)nn->n_params);
        free(grads);
        sf_nn_ws_free(&ws);
        sf_nn_destroy(nn);
        return bad;
}

static void test_network_gradients_dense(void) {
        enum { B = 6, IN = 7 };
        int sizes[] = {IN, 6, 5, 4, 3};
        sf_rng_t rng;
        sf_rng_seed(&rng, 5);
        float x[B * IN];
        fill(&rng, x, B * IN, -2, 2);
        int labels[B] = {0, 1, 2, 2, 1, 0};
        sf_nn_input_t in = {x, NULL, IN, 0};
        CHECK_INT(check_network_gradients(&in, sizes, 4, B, labels, 11, NULL), 0);
}

static void test_network_gradients_compact(void) {
        /* 3 dense inputs, then one-hot groups [3, 6) and [6, 8). */
        enum { B = 5, DENSE = 3, NHOT = 2 };
        int sizes[] = {8, 6, 4, 3};
        sf_rng_t rng;
        sf_rng_seed(&rng, 6);
        float x[B * DENSE];
        fill(&rng, x, B * DENSE, -2, 2);
        int32_t hot[B * NHOT] = {3, 6, 4, 7, 5, 6, -1, 7, 3, -1};
        int labels[B] = {2, 1, 0, 2, 1};
        sf_nn_input_t in = {x, hot, DENSE, NHOT};
        CHECK_INT(check_network_gradients(&in, sizes, 3, B, labels, 12, NULL), 0);
}

/* The whole network's gradient of the class-weighted loss, dense and compact. */
static void test_network_gradients_weighted(void) {
        enum { B = 6, IN = 7 };
        int sizes[] = {IN, 6, 5, 4, 3};
        sf_rng_t rng;
        sf_rng_seed(&rng, 7);
        float x[B * IN];
        fill(&rng, x, B * IN, -2, 2);
        int labels[B] = {0, 1, 2, 2, 1, 0};
        const float weights[3] = {0.25f, 4.0f, 1.5f};
        sf_nn_input_t in = {x, NULL, IN, 0};
        CHECK_INT(check_network_gradients(&in, sizes, 4, B, labels, 15, weights), 0);
        int32_t hot[B * 2] = {3, 5, 4, 6, 3, -1, 4, 5, -1, 6, 3, 5};
        int csizes[] = {7, 6, 4, 3};
        sf_nn_input_t cin = {x, hot, 3, 2};
        CHECK_INT(check_network_gradients(&cin, csizes, 3, B, labels, 14, weights), 0);
}

/* One batch by hand: logits 0 give p = 1/2, so each row's loss is ln 2;
 * weights 1 and 3 make the batch loss (1 + 3) ln 2 / 2 (Keras divides by
 * the batch size, 2, not by the sum of the weights, 4), and the gradient
 * w_i (p - onehot) / B. */
static void test_weighted_xent_hand_computed(void) {
        float z[4] = {0, 0, 0, 0}, p[4], dz[4] = {0};
        int labels[2] = {0, 1};
        const float w[2] = {1.0f, 3.0f};
        double loss = sf_softmax_xent_forward_weighted(p, z, labels, w, 2, 2);
        CHECK_NEAR(loss, 2.0 * log(2.0), 1e-7);
        sf_softmax_xent_backward_weighted(dz, p, labels, w, 2, 2);
        CHECK_NEAR(dz[0], -0.25, 1e-7);
        CHECK_NEAR(dz[1], 0.25, 1e-7);
        CHECK_NEAR(dz[2], 0.75, 1e-7);
        CHECK_NEAR(dz[3], -0.75, 1e-7);

        /* No weights: bit for bit the unweighted functions. */
        sf_rng_t rng;
        sf_rng_seed(&rng, 9);
        float zz[12], p1[12], p2[12], d1[12] = {0}, d2[12] = {0};
        fill(&rng, zz, 12, -3, 3);
        int l3[3] = {2, 0, 3};
        double a = sf_softmax_xent_forward(p1, zz, l3, 3, 4);
        double b = sf_softmax_xent_forward_weighted(p2, zz, l3, NULL, 3, 4);
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        sf_softmax_xent_backward(d1, p1, l3, 3, 4);
        sf_softmax_xent_backward_weighted(d2, p2, l3, NULL, 3, 4);
        CHECK(memcmp(d1, d2, sizeof(d1)) == 0);
}

/* A tiny network by hand: one dense layer with W = I, b = 0, so the logits
 * are the inputs. Row 1: logits (ln 3, 0), p = (3/4, 1/4), label 0, loss
 * ln(4/3). Row 2: logits (0, 0), label 1, loss ln 2. Class weights (2, 5):
 * the batch loss is (2 ln(4/3) + 5 ln 2) / 2. */
static void test_weighted_network_hand_computed(void) {
        char err[128];
        int sizes[] = {2, 2};
        sf_nn_t *nn = sf_nn_create(sizes, 1, err, sizeof(err));
        CHECK(nn != NULL);
        if (!nn) return;
        nn->w[0][0] = 1, nn->w[0][1] = 0, nn->w[0][2] = 0, nn->w[0][3] = 1;
        sf_nn_ws_t ws;
        CHECK(sf_nn_ws_init(&ws, nn, 2, 1) == 0);
        float x[4] = {(float)log(3.0), 0, 0, 0};
        int labels[2] = {0, 1};
        const float w[2] = {2.0f, 5.0f};
        sf_nn_input_t in = {x, NULL, 2, 0};
        CHECK_NEAR(sf_nn_forward(nn, &ws, &in, labels, 2), (log(4.0 / 3.0) + log(2.0)) / 2, 1e-6);
        ws.class_weight = w;
        CHECK_NEAR(sf_nn_forward(nn, &ws, &in, labels, 2), (2 * log(4.0 / 3.0) + 5 * log(2.0)) / 2, 1e-6);
        /* dL/db = sum_i w_i (p_i - onehot_i) / 2 = (2 (-1/4, 1/4) + 5 (1/2, -1/2)) / 2 = (1, -1). */
        float grads[6] = {0};
        sf_nn_backward(nn, &ws, &in, labels, 2, grads);
        CHECK_NEAR(grads[nn->b_off[0]], 1.0, 1e-6);
        CHECK_NEAR(grads[nn->b_off[0] + 1], -1.0, 1e-6);
        sf_nn_ws_free(&ws);
        sf_nn_destroy(nn);
}

static void test_compact_equals_dense_forward(void) {
        enum { B = 3, DENSE = 2, NHOT = 1, IN = 5 };
        int sizes[] = {IN, 4, 3};
        char err[128];
        sf_nn_t *nn = sf_nn_create(sizes, 2, err, sizeof(err));
        CHECK(nn != NULL);
        if (!nn) return;
        sf_nn_init_glorot(nn, 9);
        float xd[B * DENSE] = {0.5f, -1, 2, 0.25f, -0.5f, 1};
        int32_t hot[B * NHOT] = {2, 4, -1};
        float x[B * IN] = {0.5f, -1, 1, 0, 0, 2, 0.25f, 0, 0, 1, -0.5f, 1, 0, 0, 0};
        sf_nn_ws_t ws;
        CHECK(sf_nn_ws_init(&ws, nn, B, 0) == 0);
        sf_nn_input_t dense = {x, NULL, IN, 0}, compact = {xd, hot, DENSE, NHOT};
        float p1[B * 3];
        sf_nn_forward(nn, &ws, &dense, NULL, B);
        memcpy(p1, ws.probs, sizeof(p1));
        sf_nn_forward(nn, &ws, &compact, NULL, B);
        for (int i = 0; i < B * 3; i++) CHECK_NEAR(p1[i], ws.probs[i], 1e-6);
        sf_nn_ws_free(&ws);
        sf_nn_destroy(nn);
}

static void test_glorot(void) {
        int sizes[] = {122, 64, 64, 32, 5};
        char err[128];
        sf_nn_t *a = sf_nn_create(sizes, 4, err, sizeof(err)), *b = sf_nn_create(sizes, 4, err, sizeof(err));
        CHECK(a && b);
        if (!a || !b) goto out;
        CHECK_INT(a->n_params, 122 * 64 + 64 + 64 * 64 + 64 + 64 * 32 + 32 + 32 * 5 + 5);
        sf_nn_init_glorot(a, 42);
        sf_nn_init_glorot(b, 42);
        CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
        sf_nn_init_glorot(b, 43);
        CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) != 0);
        for (int l = 0; l < 4; l++) {
                double limit = sqrt(6.0 / (sizes[l] + sizes[l + 1]));
                size_t n = (size_t)sizes[l] * sizes[l + 1];
                double maxabs = 0, mean = 0;
                for (size_t i = 0; i < n; i++) {
                        maxabs = fmax(maxabs, fabs(a->w[l][i]));
                        mean += a->w[l][i];
                }
                mean /= (double)n;
                CHECK_MSG(maxabs <= limit && maxabs > 0.9 * limit, "layer %d max |w| %g limit %g", l, maxabs,
                          limit);
                CHECK_MSG(fabs(mean) < 0.1 * limit, "layer %d mean %g", l, mean);
                for (int j = 0; j < sizes[l + 1]; j++) CHECK(a->b[l][j] == 0.0f);
        }
out:
        sf_nn_destroy(a);
        sf_nn_destroy(b);
}

static void test_create_rejects_bad_sizes(void) {
        char err[128] = "";
        int zero[] = {4, 0, 2};
        CHECK(sf_nn_create(zero, 2, err, sizeof(err)) == NULL);
        CHECK(strstr(err, "layer size 1") != NULL);
        int ok[] = {4, 2};
        CHECK(sf_nn_create(ok, 0, err, sizeof(err)) == NULL);
        CHECK(sf_nn_create(ok, SF_NN_MAX_LAYERS + 1, err, sizeof(err)) == NULL);
        sf_nn_destroy(NULL);
}

static void test_adam_hand_computed(void) {
        /* Expected values worked out from Keras' formulas:
         * alpha_t = lr sqrt(1 - 0.999^t) / (1 - 0.9^t), p -= alpha_t m / (sqrt(v) + 1e-7). */
        sf_adam_t adam;
        CHECK(sf_adam_init(&adam, 3, 0.01f) == 0);
        float p[3] = {1.0f, -2.0f, 0.25f};
        float g[3][3] = {{0.5f, -0.1f, 0.0f}, {-0.2f, 0.3f, 1e-3f}, {0.05f, 0.3f, -2.0f}};
        double want[3][3] = {{0.990000063, -1.990000316, 0.250000000},
                             {0.986544025, -1.994942165, 0.242582089},
                             {0.983292834, -2.002110674, 0.248967340}};
        for (int t = 0; t < 3; t++) {
                sf_adam_step(&adam, p, g[t]);
                for (int i = 0; i < 3; i++) CHECK_NEAR(p[i], want[t][i], 2e-6);
        }
        CHECK_INT(adam.t, 3);
        /* m after three steps: 0.9 (0.9 * 0.1 g1 + 0.1 g2) + 0.1 g3 for the first parameter. */
        CHECK_NEAR(adam.m[0], 0.9 * (0.9 * 0.05 + 0.1 * -0.2) + 0.1 * 0.05, 1e-7);
        CHECK_NEAR(adam.v[2], 0.999 * (0.001 * 1e-6) + 0.001 * 4.0, 1e-7);
        sf_adam_free(&adam);
}

static void test_learns_separable_problem(void) {
        /* Three Gaussian blobs: a few hundred Adam steps must separate them. */
        enum { N = 96, IN = 2 };
        int sizes[] = {IN, 16, 3};
        char err[128];
        sf_nn_t *nn = sf_nn_create(sizes, 2, err, sizeof(err));
        CHECK(nn != NULL);
        if (!nn) return;
        sf_nn_init_glorot(nn, 1);
        sf_rng_t rng;
        sf_rng_seed(&rng, 7);
        float x[N * IN];
        int labels[N];
        for (int i = 0; i < N; i++) {
                labels[i] = i % 3;
                x[i * IN] = (float)(labels[i] == 1 ? 3 : 0) + (float)sf_rng_uniform(&rng) - 0.5f;
                x[i * IN + 1] = (float)(labels[i] == 2 ? 3 : 0) + (float)sf_rng_uniform(&rng) - 0.5f;
        }
        sf_nn_ws_t ws;
        sf_adam_t adam;
        float *grads = calloc(nn->n_params, sizeof(float));
        CHECK(sf_nn_ws_init(&ws, nn, N, 1) == 0 && sf_adam_init(&adam, nn->n_params, 0.05f) == 0 && grads);
        sf_nn_input_t in = {x, NULL, IN, 0};
        double first = sf_nn_forward(nn, &ws, &in, labels, N), last = first;
        for (int step = 0; step < 200; step++) {
                memset(grads, 0, nn->n_params * sizeof(float));
                last = sf_nn_forward(nn, &ws, &in, labels, N);
                sf_nn_backward(nn, &ws, &in, labels, N, grads);
                sf_adam_step(&adam, nn->params, grads);
        }
        last = sf_nn_forward(nn, &ws, &in, labels, N);
        int correct = 0;
        for (int i = 0; i < N; i++) correct += sf_argmax(ws.probs + i * 3, 3) == labels[i];
        CHECK_MSG(last < 0.1 * first, "loss %g -> %g", first, last);
        CHECK_INT(correct, N);
        free(grads);
        sf_adam_free(&adam);
        sf_nn_ws_free(&ws);
        sf_nn_destroy(nn);
}

static void test_argmax(void) {
        float v[] = {0.1f, 0.7f, 0.7f, 0.2f};
        CHECK_INT(sf_argmax(v, 4), 1);
        CHECK_INT(sf_argmax(v, 1), 0);
        float w[] = {-3, -1, -2};
        CHECK_INT(sf_argmax(w, 3), 1);
}

int main(void) {
        sf_nn_set_threads(1);
        RUN(test_dense_gradients);
        RUN(test_hot_matches_dense);
        RUN(test_relu_gradients);
        RUN(test_softmax_xent);
        RUN(test_network_gradients_dense);
        RUN(test_network_gradients_compact);
        RUN(test_network_gradients_weighted);
        RUN(test_weighted_xent_hand_computed);
        RUN(test_weighted_network_hand_computed);
        RUN(test_compact_equals_dense_forward);
        RUN(test_glorot);
        RUN(test_create_rejects_bad_sizes);
        RUN(test_adam_hand_computed);
        RUN(test_learns_separable_problem);
        RUN(test_argmax);
        return TEST_DONE();
}
