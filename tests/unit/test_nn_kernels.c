/* The inference kernels against a float64 product and against each other:
 * every kernel this CPU runs gives the portable loop's bits exactly, on
 * shapes that cover full and partial vectors, row blocks and their tails,
 * a row stride larger than the input, and the ReLU. */
#include <stdlib.h>

#include "nn/kernels.h"
#include "nn/nn.h"
#include "test.h"
#include "util/rng.h"

typedef struct {
        int batch, in, out, ldx;
} shape_t;

static const shape_t shapes[] = {
        {1, 122, 64, 122}, {4096, 122, 64, 122}, {7, 64, 64, 64}, {9, 64, 32, 64},     {5, 32, 5, 32},
        {1, 1, 1, 1},      {3, 17, 15, 20},      {2, 38, 64, 38}, {13, 200, 130, 210}, {6, 5, 17, 5},
        {1, 300, 9, 300},  {8, 31, 33, 31},      {11, 3, 65, 4},  {4, 64, 16, 64},     {5, 7, 48, 7},
};

static float uniform(sf_rng_t *rng) {
        return (float)(sf_rng_uniform(rng) * 2.0 - 1.0);
}

/* x (batch, ldx), w (in, out), b (out) filled from seed. */
static void fill(const shape_t *s, float *x, float *w, float *b, uint64_t seed) {
        sf_rng_t rng;
        sf_rng_seed(&rng, seed);
        for (size_t i = 0; i < (size_t)s->batch * s->ldx; i++) x[i] = uniform(&rng);
        for (size_t i = 0; i < (size_t)s->in * s->out; i++) w[i] = uniform(&rng);
        for (int j = 0; j < s->out; j++) b[j] = uniform(&rng);
}

static void test_kernels_match_float64(void) {
        for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++) {
                const shape_t *s = &shapes[t];
                float *x = malloc(sizeof(float) * (size_t)s->batch * s->ldx);
                float *w = malloc(sizeof(float) * (size_t)s->in * s->out),
                      *b = malloc(sizeof(float) * s->out);
                float *y = malloc(sizeof(float) * (size_t)s->batch * s->out);
                fill(s, x, w, b, 100 + t);
                for (int relu = 0; relu <= 1; relu++) {
                        sf_dense_infer(y, x, s->ldx, w, b, s->batch, s->in, s->out, relu);
                        int bad = 0;
                        for (int i = 0; i < s->batch && !bad; i++)
                                for (int j = 0; j < s->out && !bad; j++) {
                                        double ref = b[j], mag = fabs(b[j]);
                                        for (int k = 0; k < s->in; k++) {
                                                double p = (double)x[(size_t)i * s->ldx + k] *
                                                           w[(size_t)k * s->out + j];
                                                ref += p, mag += fabs(p);
                                        }
                                        if (relu && ref < 0) ref = 0;
                                        double got = y[(size_t)i * s->out + j];
                                        if (fabs(got - ref) > 1e-6 * (mag + 1)) {
                                                bad = 1;
                                                CHECK_MSG(0,
                                                          "shape %zu relu %d y[%d][%d] = %.9g, float64 %.9g",
                                                          t, relu, i, j, got, ref);
                                        }
                                }
                }
                free(x), free(w), free(b), free(y);
        }
}

static void test_kernels_bit_identical(void) {
        const sf_kernel_t kinds[] = {SF_KERNEL_AVX512, SF_KERNEL_AVX2};
        int ran = 0;
        for (size_t k = 0; k < 2; k++) {
                if (!sf_kernel_supported(kinds[k])) {
                        printf("# %s: not supported on this CPU, not compared\n", sf_kernel_name(kinds[k]));
                        continue;
                }
                ran++;
                for (size_t t = 0; t < sizeof(shapes) / sizeof(shapes[0]); t++) {
                        const shape_t *s = &shapes[t];
                        size_t ny = (size_t)s->batch * s->out;
                        float *x = malloc(sizeof(float) * (size_t)s->batch * s->ldx);
                        float *w = malloc(sizeof(float) * (size_t)s->in * s->out),
                              *b = malloc(sizeof(float) * s->out);
                        float *ref = malloc(sizeof(float) * ny), *got = malloc(sizeof(float) * (ny + 16));
                        fill(s, x, w, b, 200 + t);
                        for (int relu = 0; relu <= 1; relu++) {
                                sf_kernel_force(SF_KERNEL_PORTABLE);
                                sf_dense_infer(ref, x, s->ldx, w, b, s->batch, s->in, s->out, relu);
                                for (int g = 0; g < 16; g++)
                                        got[ny + g] = 12345.0f; /* a store past y shows */
                                sf_kernel_force(kinds[k]);
                                sf_dense_infer(got, x, s->ldx, w, b, s->batch, s->in, s->out, relu);
                                CHECK_MSG(memcmp(ref, got, sizeof(float) * ny) == 0,
                                          "%s, shape %zu (%dx%d->%d), relu %d", sf_kernel_name(kinds[k]), t,
                                          s->batch, s->in, s->out, relu);
                                for (int g = 0; g < 16; g++) CHECK(got[ny + g] == 12345.0f);
                        }
                        free(x), free(w), free(b), free(ref), free(got);
                }
        }
        sf_kernel_force(SF_KERNEL_AUTO);
        printf("# kernel in use: %s\n", sf_kernel_name(sf_kernel_active()));
        if (!ran) SKIP("this CPU has neither AVX-512 nor AVX2 + FMA: only the portable loop runs");
}

/* A whole network: the inference forward pass (kernels, ReLU fused) equals
 * the training forward pass (cblas) within float rounding, and its argmax. */
static void test_forward_inference_matches_training(void) {
        int sizes[] = {122, 64, 64, 32, 5};
        char err[256];
        sf_nn_t *nn = sf_nn_create(sizes, 4, err, sizeof(err));
        CHECK(nn != NULL);
        if (!nn) return;
        sf_nn_init_glorot(nn, 7);
        for (int j = 0; j < 64; j++) nn->b[0][j] = 0.01f * (float)(j % 7) - 0.03f;
        enum { B = 300 };
        float *x = malloc(sizeof(float) * B * 122);
        sf_rng_t rng;
        sf_rng_seed(&rng, 5);
        for (int i = 0; i < B * 122; i++) x[i] = uniform(&rng) * 2;
        sf_nn_ws_t inf, tr;
        CHECK(sf_nn_ws_init(&inf, nn, B, 0) == 0);
        CHECK(sf_nn_ws_init(&tr, nn, B, 1) == 0);
        sf_nn_input_t in = {x, NULL, 122, 0};
        sf_nn_forward(nn, &inf, &in, NULL, B);
        sf_nn_forward(nn, &tr, &in, NULL, B);
        double worst = 0;
        int argmax_differs = 0;
        for (int i = 0; i < B; i++) {
                for (int c = 0; c < 5; c++)
                        worst = fmax(worst, fabs(inf.probs[i * 5 + c] - tr.probs[i * 5 + c]));
                argmax_differs += sf_argmax(inf.probs + i * 5, 5) != sf_argmax(tr.probs + i * 5, 5);
        }
        CHECK_MSG(worst < 1e-5, "largest probability difference %.3g", worst);
        CHECK_INT(argmax_differs, 0);
        sf_nn_ws_free(&inf), sf_nn_ws_free(&tr);
        free(x);
        sf_nn_destroy(nn);
}

int main(void) {
        RUN(test_kernels_match_float64);
        RUN(test_kernels_bit_identical);
        RUN(test_forward_inference_matches_training);
        return TEST_DONE();
}
