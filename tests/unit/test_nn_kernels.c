/* The kernels against a float64 product and against each other: every
 * kernel this CPU runs gives the portable loop's bits exactly, on shapes
 * that cover full and partial vectors, row blocks and their tails, a row
 * stride larger than the input and the ReLU (inference), and on the
 * products of training: A transposed, B transposed (packed in blocks),
 * accumulation, one-hot rows, the ReLU's mask; then the one-hot gradient,
 * Adam's update, and products that end in Adam's update (the gradient
 * never stored) against the product stored and then the update; the
 * softmax. */
#include <stdlib.h>
#include <string.h>

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

/* One product of the training kinds: a (m, k) read through strides, b
 * (k, n) plain or transposed, what starts the sum and what follows it. */
typedef struct {
        int m, n, k;
        int a_trans, b_trans, start; /* start: 0 zero, 1 accumulate, 2 bias */
        int hot, relu, mask;
} gcase_t;

static const gcase_t gcases[] = {
        /* the default network's training products, batch 64 and a partial batch of 21 */
        {64, 64, 38, 0, 0, 2, 1, 1, 0},
        {64, 64, 64, 0, 0, 2, 0, 1, 0},
        {64, 32, 64, 0, 0, 2, 0, 1, 0},
        {64, 5, 32, 0, 0, 2, 0, 0, 0},
        {38, 64, 64, 1, 0, 1, 0, 0, 0},
        {64, 64, 64, 1, 0, 1, 0, 0, 0},
        {32, 5, 64, 1, 0, 1, 0, 0, 0},
        {64, 64, 64, 0, 1, 0, 0, 0, 1},
        {64, 32, 5, 0, 1, 0, 0, 0, 1},
        {21, 64, 38, 0, 0, 2, 1, 1, 0},
        {38, 64, 21, 1, 0, 1, 0, 0, 0},
        {21, 64, 32, 0, 1, 0, 0, 0, 1},
        /* odd shapes: vector and row-block tails, more than one packed block */
        {1, 1, 1, 0, 0, 0, 0, 0, 0},
        {7, 17, 3, 1, 1, 1, 0, 0, 1},
        {13, 130, 300, 0, 1, 2, 0, 1, 1},
        {9, 71, 200, 1, 0, 2, 1, 0, 0},
        {3, 48, 0, 0, 0, 2, 1, 1, 0},
        {11, 9, 129, 0, 1, 1, 0, 0, 0},
        {5, 200, 65, 1, 1, 0, 0, 1, 1},
};

#define N_HOT 3

/* Operands of case t from seed: a (m x k, or k x m transposed), b (k x n,
 * or n x k; 40 more rows for the one-hot ones), c, bias, mask and hot. */
typedef struct {
        float *a, *b, *c, *bias, *mask;
        int32_t hot[256 * N_HOT];
        size_t b_rows;
} operands_t;

static void operands(const gcase_t *t, uint64_t seed, operands_t *o) {
        sf_rng_t rng;
        sf_rng_seed(&rng, seed);
        size_t na = (size_t)t->m * t->k + 1, nc = (size_t)t->m * t->n;
        o->b_rows = (size_t)t->k + (t->hot ? 40 : 0);
        size_t nb = o->b_rows * t->n + 1;
        o->a = malloc(sizeof(float) * na), o->b = malloc(sizeof(float) * nb);
        o->c = malloc(sizeof(float) * (nc + 16)), o->bias = malloc(sizeof(float) * t->n);
        o->mask = malloc(sizeof(float) * nc);
        for (size_t i = 0; i < na; i++) o->a[i] = uniform(&rng);
        for (size_t i = 0; i < nb; i++) o->b[i] = uniform(&rng);
        for (size_t i = 0; i < nc; i++) o->c[i] = uniform(&rng), o->mask[i] = uniform(&rng);
        for (int j = 0; j < t->n; j++) o->bias[j] = uniform(&rng);
        for (int i = 0; i < t->m * N_HOT; i++) /* a tenth unseen (-1) */
                o->hot[i] =
                        sf_rng_uniform(&rng) < 0.1 ? -1 : (int32_t)(sf_rng_uniform(&rng) * (double)o->b_rows);
        for (int g = 0; g < 16; g++) o->c[nc + g] = 12345.0f; /* a store past c shows */
}

static void operands_free(operands_t *o) {
        free(o->a), free(o->b), free(o->c), free(o->bias), free(o->mask);
}

static sf_gemm_t gemm_of(const gcase_t *t, operands_t *o) {
        sf_gemm_t g = {.m = t->m,
                       .n = t->n,
                       .k = t->k,
                       .a = o->a,
                       .b = o->b,
                       .b_trans = t->b_trans,
                       .c = o->c,
                       .ldc = (size_t)t->n,
                       .relu = t->relu};
        g.a_row = t->a_trans ? 1 : (size_t)t->k, g.a_col = t->a_trans ? (size_t)t->m : 1;
        g.ldb = t->b_trans ? (size_t)t->k : (size_t)t->n;
        g.accumulate = t->start == 1, g.bias = t->start == 2 ? o->bias : NULL;
        g.hot = t->hot ? o->hot : NULL, g.n_hot = t->hot ? N_HOT : 0;
        g.mask = t->mask ? o->mask : NULL;
        return g;
}

static void test_gemm_matches_float64(void) {
        for (size_t t = 0; t < sizeof(gcases) / sizeof(gcases[0]); t++) {
                const gcase_t *gc = &gcases[t];
                operands_t o;
                operands(gc, 300 + t, &o);
                size_t nc = (size_t)gc->m * gc->n;
                float *c0 = malloc(sizeof(float) * (nc + 1));
                memcpy(c0, o.c, sizeof(float) * nc);
                sf_gemm_t g = gemm_of(gc, &o);
                sf_gemm(&g);
                int bad = 0;
                for (int i = 0; i < gc->m && !bad; i++)
                        for (int j = 0; j < gc->n && !bad; j++) {
                                double ref = gc->start == 2   ? o.bias[j]
                                             : gc->start == 1 ? c0[i * gc->n + j]
                                                              : 0;
                                double mag = fabs(ref);
                                for (int p = 0; p < gc->k; p++) {
                                        double av = gc->a_trans ? o.a[(size_t)p * gc->m + i]
                                                                : o.a[(size_t)i * gc->k + p];
                                        double bv = gc->b_trans ? o.b[(size_t)j * gc->k + p]
                                                                : o.b[(size_t)p * gc->n + j];
                                        ref += av * bv, mag += fabs(av * bv);
                                }
                                for (int h = 0; gc->hot && h < N_HOT; h++) {
                                        int32_t r = o.hot[i * N_HOT + h];
                                        if (r >= 0)
                                                ref += o.b[(size_t)r * gc->n + j],
                                                        mag += fabs(o.b[(size_t)r * gc->n + j]);
                                }
                                if (gc->relu && ref < 0) ref = 0;
                                if (gc->mask && !(o.mask[i * gc->n + j] > 0)) ref = 0;
                                double got = o.c[(size_t)i * gc->n + j];
                                if (fabs(got - ref) > 1e-6 * (mag + 1)) {
                                        bad = 1;
                                        CHECK_MSG(0, "case %zu c[%d][%d] = %.9g, float64 %.9g", t, i, j, got,
                                                  ref);
                                }
                        }
                for (int k = 0; k < 16; k++) CHECK(o.c[nc + k] == 12345.0f);
                free(c0);
                operands_free(&o);
        }
}

static void test_gemm_bit_identical(void) {
        const sf_kernel_t kinds[] = {SF_KERNEL_AVX512, SF_KERNEL_AVX2};
        int ran = 0;
        for (size_t k = 0; k < 2; k++) {
                if (!sf_kernel_supported(kinds[k])) continue;
                ran++;
                for (size_t t = 0; t < sizeof(gcases) / sizeof(gcases[0]); t++) {
                        const gcase_t *gc = &gcases[t];
                        size_t nc = (size_t)gc->m * gc->n;
                        operands_t ref, got;
                        operands(gc, 400 + t, &ref);
                        operands(gc, 400 + t, &got);
                        sf_gemm_t gr = gemm_of(gc, &ref), gg = gemm_of(gc, &got);
                        sf_kernel_force(SF_KERNEL_PORTABLE);
                        sf_gemm(&gr);
                        sf_kernel_force(kinds[k]);
                        sf_gemm(&gg);
                        CHECK_MSG(memcmp(ref.c, got.c, sizeof(float) * (nc + 16)) == 0,
                                  "%s, case %zu (%dx%d, k %d)", sf_kernel_name(kinds[k]), t, gc->m, gc->n,
                                  gc->k);
                        operands_free(&ref), operands_free(&got);
                }
        }
        sf_kernel_force(SF_KERNEL_AUTO);
        if (!ran) SKIP("this CPU has neither AVX-512 nor AVX2 + FMA: only the portable loop runs");
}

/* The one-hot gradient and Adam's update: every kernel against the scalar
 * formulas written out here, bit for bit. */
static void test_scatter_and_adam(void) {
        enum { B = 37, NH = 3, ROWS = 20, N = 67, P = 1000 };
        sf_rng_t rng;
        sf_rng_seed(&rng, 9);
        static float dy[B * N], dw0[ROWS * N], dw[ROWS * N], want[ROWS * N];
        static float p0[P], m0[P], v0[P], g[P], p[P], m[P], v[P], wp[P], wm[P], wv[P];
        int32_t hot[B * NH];
        for (int i = 0; i < B * N; i++) dy[i] = uniform(&rng);
        for (int i = 0; i < ROWS * N; i++) dw0[i] = uniform(&rng);
        for (int i = 0; i < B * NH; i++)
                hot[i] = (int32_t)(sf_rng_uniform(&rng) * (ROWS + 2)) - 2; /* some -1, -2 */
        for (int i = 0; i < P; i++) {
                p0[i] = uniform(&rng), m0[i] = uniform(&rng) * 0.1f,
                g[i] = uniform(&rng) * (i % 7 ? 1.0f : 0.0f);
                v0[i] = (float)sf_rng_uniform(&rng) * 0.01f;
        }
        memcpy(want, dw0, sizeof(want));
        for (int i = 0; i < B; i++)
                for (int h = 0; h < NH; h++)
                        for (int j = 0; hot[i * NH + h] >= 0 && j < N; j++)
                                want[hot[i * NH + h] * N + j] += dy[i * N + j];
        const float alpha = 0.00123f, b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
        for (int i = 0; i < P; i++) {
                volatile float t1 = b1 * m0[i], t2 = (1.0f - b1) * g[i];
                wm[i] = t1 + t2;
                volatile float t3 = b2 * v0[i], t4 = (1.0f - b2) * g[i], t5 = t4 * g[i];
                wv[i] = t3 + t5;
                volatile float t6 = alpha * wm[i], t7 = sqrtf(wv[i]) + eps;
                wp[i] = p0[i] - t6 / t7;
        }
        const sf_kernel_t kinds[] = {SF_KERNEL_PORTABLE, SF_KERNEL_AVX512, SF_KERNEL_AVX2};
        for (size_t k = 0; k < 3; k++) {
                if (!sf_kernel_supported(kinds[k])) continue;
                sf_kernel_force(kinds[k]);
                memcpy(dw, dw0, sizeof(dw));
                sf_rows_scatter_add(dw, N, hot, NH, dy, N, B, N);
                CHECK_MSG(memcmp(dw, want, sizeof(dw)) == 0, "scatter, %s", sf_kernel_name(kinds[k]));
                for (size_t n = P - 3; n <= P; n++) { /* every tail length */
                        memcpy(p, p0, sizeof(p)), memcpy(m, m0, sizeof(m)), memcpy(v, v0, sizeof(v));
                        sf_adam_update(p, m, v, g, n, alpha, b1, b2, eps);
                        CHECK_MSG(memcmp(p, wp, n * 4) == 0 && memcmp(m, wm, n * 4) == 0 &&
                                          memcmp(v, wv, n * 4) == 0,
                                  "adam, %s, n %zu", sf_kernel_name(kinds[k]), n);
                        CHECK_MSG(memcmp(p + n, p0 + n, (P - n) * 4) == 0, "adam wrote past n, %s",
                                  sf_kernel_name(kinds[k]));
                }
        }
        sf_kernel_force(SF_KERNEL_AUTO);
}

/* A product with adam (c the parameters) equals the product stored into
 * a zeroed gradient and then sf_adam_update, bit for bit, on every kernel,
 * and every kernel gives the portable loop's bits; nothing past the
 * parameters or moments is written. */
typedef struct {
        int m, n, k, a_trans, hot, relu, mask;
} acase_t;

static const acase_t acases[] = {
        /* the default network's weight and bias gradients, batch 64 and 21 */
        {38, 64, 64, 1, 0, 0, 0},
        {64, 64, 64, 1, 0, 0, 0},
        {64, 32, 64, 1, 0, 0, 0},
        {32, 5, 64, 1, 0, 0, 0},
        {1, 64, 64, 0, 0, 0, 0},
        {1, 5, 21, 0, 0, 0, 0},
        {38, 64, 21, 1, 0, 0, 0},
        /* odd shapes: vector and row-block tails, k of 0 and 1, the extras */
        {1, 1, 1, 0, 0, 0, 0},
        {3, 48, 0, 0, 0, 0, 0},
        {7, 17, 3, 1, 0, 0, 0},
        {13, 130, 21, 1, 0, 0, 0},
        {9, 71, 200, 0, 1, 0, 0},
        {5, 33, 65, 0, 0, 0, 1},
        {11, 9, 7, 1, 0, 1, 0},
        {6, 200, 1, 0, 1, 1, 1},
};

enum { PAD = 16 };

/* Runs case t on kernel kind, fused or not, from the operands of seed:
 * returns p, m, v ((m n + PAD) each, PAD sentinels) in one allocation. */
static float *adam_case(const acase_t *t, sf_kernel_t kind, int fused, uint64_t seed) {
        gcase_t gc = {t->m, t->n, t->k, t->a_trans, 0, 0, t->hot, t->relu, t->mask};
        operands_t o;
        operands(&gc, seed, &o);
        size_t nc = (size_t)t->m * t->n, np = nc + PAD;
        float *out = malloc(sizeof(float) * 3 * np), *grad = calloc(nc + 1, sizeof(float));
        float *p = out, *m = out + np, *v = out + 2 * np;
        sf_rng_t rng;
        sf_rng_seed(&rng, seed ^ 77);
        for (size_t i = 0; i < np; i++)
                p[i] = uniform(&rng), m[i] = uniform(&rng) * 0.1f, v[i] = (float)sf_rng_uniform(&rng) * 0.01f;
        for (int g = 0; g < PAD; g++) p[nc + g] = m[nc + g] = v[nc + g] = 12345.0f;
        sf_gemm_adam_t ad = {m, v, 0.00123f, 0.9f, 0.999f, 1e-7f};
        sf_gemm_t g = gemm_of(&gc, &o);
        sf_kernel_force(kind);
        if (fused) {
                g.c = p, g.adam = &ad;
                sf_gemm(&g);
        } else {
                g.c = grad;
                sf_gemm(&g);
                sf_adam_update(p, m, v, grad, nc, ad.alpha, ad.b1, ad.b2, ad.eps);
        }
        sf_kernel_force(SF_KERNEL_AUTO);
        free(grad);
        operands_free(&o);
        return out;
}

static void test_gemm_adam(void) {
        const sf_kernel_t kinds[] = {SF_KERNEL_PORTABLE, SF_KERNEL_AVX512, SF_KERNEL_AVX2};
        for (size_t t = 0; t < sizeof(acases) / sizeof(acases[0]); t++) {
                const acase_t *ac = &acases[t];
                size_t bytes = sizeof(float) * 3 * ((size_t)ac->m * ac->n + PAD);
                float *ref = adam_case(ac, SF_KERNEL_PORTABLE, 0, 500 + t);
                for (size_t k = 0; k < 3; k++) {
                        if (!sf_kernel_supported(kinds[k])) continue;
                        float *sep = adam_case(ac, kinds[k], 0, 500 + t),
                              *fus = adam_case(ac, kinds[k], 1, 500 + t);
                        CHECK_MSG(memcmp(sep, ref, bytes) == 0 && memcmp(fus, ref, bytes) == 0,
                                  "%s, case %zu (%dx%d, k %d): %s", sf_kernel_name(kinds[k]), t, ac->m, ac->n,
                                  ac->k,
                                  memcmp(fus, sep, bytes)
                                          ? "the fused update differs from product then update"
                                          : "other bits than the portable loop's");
                        free(sep), free(fus);
                }
                free(ref);
        }
}

/* sf_softmax_rows: within 2 ulp of the softmax through float64 exp on
 * rows of 1 to 37 classes (one vector of 16 rows, partial ones, and rows
 * wider than a vector) over the whole range of e^x, its zmax, the same bits
 * on every kernel, and NaN for a NaN input (a non-finite logit never
 * becomes a finite probability). */
static void test_softmax_rows(void) {
        static const int widths[] = {1, 2, 5, 16, 17, 37};
        const sf_kernel_t kinds[] = {SF_KERNEL_PORTABLE, SF_KERNEL_AVX512, SF_KERNEL_AVX2};
        sf_rng_t rng;
        sf_rng_seed(&rng, 11);
        for (size_t t = 0; t < sizeof(widths) / sizeof(widths[0]); t++) {
                int rows = 37, classes = widths[t], n = rows * classes;
                float *z = malloc(sizeof(float) * n), *p = malloc(sizeof(float) * n),
                      *ref = malloc(sizeof(float) * n), *sums = malloc(sizeof(float) * rows),
                      *zmax = malloc(sizeof(float) * rows);
                for (int i = 0; i < rows; i++)
                        for (int c = 0; c < classes; c++)
                                /* the largest is (i % 7) - 3, the rest down to 90 below it */
                                z[i * classes + c] =
                                        (float)(i % 7 - 3) +
                                        (c == i % classes ? 0.0f : uniform(&rng) * 45.0f - 45.0f);
                for (size_t k = 0; k < 3; k++) {
                        if (!sf_kernel_supported(kinds[k])) continue;
                        sf_kernel_force(kinds[k]);
                        sf_softmax_rows(p, sums, zmax, z, rows, classes);
                        if (k == 0) {
                                memcpy(ref, p, sizeof(float) * n);
                                double worst = 0;
                                for (int i = 0; i < rows; i++) {
                                        double sum = 0, top = (double)(i % 7 - 3);
                                        CHECK(zmax[i] == (float)top);
                                        for (int c = 0; c < classes; c++)
                                                sum += exp((double)z[i * classes + c] - top);
                                        CHECK_NEAR(sums[i], sum, 3e-7 * sum);
                                        for (int c = 0; c < classes; c++) {
                                                double e = exp((double)z[i * classes + c] - top) / sum;
                                                if (e < 1e-37) continue; /* below FLT_MIN: FLT_MIN / sum */
                                                worst = fmax(worst, fabs(p[i * classes + c] - e) / e);
                                        }
                                }
                                CHECK_MSG(worst < 3.6e-7, "%d classes: relative error %.3g", classes, worst);
                        } else {
                                CHECK_MSG(memcmp(p, ref, sizeof(float) * n) == 0,
                                          "%d classes: %s differs from the portable loop", classes,
                                          sf_kernel_name(kinds[k]));
                        }
                        float z0 = z[0];
                        z[0] = NAN;
                        sf_softmax_rows(p, sums, zmax, z, 1, classes);
                        CHECK(isnan(p[0]) && isnan(sums[0]));
                        z[0] = z0;
                }
                sf_kernel_force(SF_KERNEL_AUTO);
                free(z), free(p), free(ref), free(sums), free(zmax);
        }
}

/* A whole network: the inference forward pass equals the training forward
 * pass bit for bit (the same kernel), and the argmax with it. */
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
        CHECK_MSG(memcmp(inf.probs, tr.probs, sizeof(float) * B * 5) == 0,
                  "largest probability difference %.3g", worst);
        CHECK_INT(argmax_differs, 0);
        sf_nn_ws_free(&inf), sf_nn_ws_free(&tr);
        free(x);
        sf_nn_destroy(nn);
}

int main(void) {
        RUN(test_kernels_match_float64);
        RUN(test_kernels_bit_identical);
        RUN(test_gemm_matches_float64);
        RUN(test_gemm_bit_identical);
        RUN(test_scatter_and_adam);
        RUN(test_gemm_adam);
        RUN(test_softmax_rows);
        RUN(test_forward_inference_matches_training);
        return TEST_DONE();
}
