/* The network's kernels, chosen at run time for the CPU in hand (AVX-512,
 * else AVX2 with FMA, else a portable loop). The layers are small (widths
 * 5 to a few hundred, batches of 64 in training) and their shapes fixed, so
 * a register-blocked loop that keeps a block of outputs in registers across
 * the whole reduction beats a general BLAS call, whose packing and dispatch
 * dominate at these sizes and which may not know this CPU.
 *
 * Every output is start + a(i,0) b(0,j) + a(i,1) b(1,j) + ... in reduction
 * order with fused multiply-adds, whatever the kernel, the batch size or
 * the row's place in the batch: a row's probabilities do not depend on what
 * it was batched with, and training gives the same weights on every CPU
 * these kernels run on. */
#include "nn/kernels.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_X86_KERNELS 1
#include <immintrin.h>
#endif

/* Clang contracts a * b + c into one rounding unless told not to; GCC does
 * not in ISO C mode (-std=c11). Adam's update must round each step. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* A block keeps R rows x NV vectors of outputs in registers; fewer vectors
 * get more rows, so that enough independent sums are in flight to keep the
 * multiply-add units busy (8 or more). */
#define MAX_ROWS 8

/* e^x as Cephes' expf computes it: x clamped to [EXP_LO, EXP_HI] (NaN
 * stays NaN), x = n ln 2 + r with n = round(x log2 e) (adding and taking away
 * EXP_MAGIC, 1.5 * 2^23, rounds to an integer) and ln 2 = EXP_C1 + EXP_C2,
 * e^r = 1 + r + r^2 (P0 r^5 + ... + P5), times 2^n built from its bits.
 * Within 1 ulp of e^x over [-87, 88]. */
#define EXP_LO    -87.33654f
#define EXP_HI    88.0f
#define EXP_MAGIC 12582912.0f
#define EXP_LOG2E 1.44269504f
#define EXP_C1    0.693359375f
#define EXP_C2    -2.12194440e-4f
#define EXP_P0    1.9875691500e-4f
#define EXP_P1    1.3981999507e-3f
#define EXP_P2    8.3334519073e-3f
#define EXP_P3    4.1665795894e-2f
#define EXP_P4    1.6666665459e-1f
#define EXP_P5    5.0000001201e-1f

#ifdef HAVE_X86_KERNELS

/* ---- AVX-512: 16 floats a vector, blocks of 6 or 8 rows x up to 64 columns ---- */

#define AVX512 __attribute__((target("avx512f")))

/* Adam's update of the 16 (or fewer: k) parameters at p with gradient g. */
static inline __attribute__((always_inline)) AVX512 void adam16(float *p, float *m, float *v, __m512 g,
                                                                __mmask16 k, const sf_gemm_adam_t *ad) {
        const __m512 vb1 = _mm512_set1_ps(ad->b1), vb1c = _mm512_set1_ps(1.0f - ad->b1),
                     vb2 = _mm512_set1_ps(ad->b2), vb2c = _mm512_set1_ps(1.0f - ad->b2),
                     va = _mm512_set1_ps(ad->alpha), ve = _mm512_set1_ps(ad->eps);
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_maskz_loadu_ps(k, m)), _mm512_mul_ps(vb1c, g));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_maskz_loadu_ps(k, v)),
                                  _mm512_mul_ps(_mm512_mul_ps(vb2c, g), g));
        __m512 step = _mm512_div_ps(_mm512_mul_ps(va, mi), _mm512_add_ps(_mm512_sqrt_ps(vi), ve));
        _mm512_mask_storeu_ps(m, k, mi);
        _mm512_mask_storeu_ps(v, k, vi);
        _mm512_mask_storeu_ps(p, k, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, p), step));
}

/* R rows from row i x NV vectors from column j; the last vector is masked
 * by `last` (columns past n). */
static inline __attribute__((always_inline)) AVX512 void block512(const sf_gemm_t *g, int i, int j, int R,
                                                                  int NV, __mmask16 last) {
        const size_t a_row = g->a_row, a_col = g->a_col, ldb = g->ldb, ldc = g->ldc;
        const float *a = g->a + (size_t)i * a_row, *b = g->b + j;
        float *c = g->c + (size_t)i * ldc + j;
        __m512 acc[MAX_ROWS][4], bv[4];
        __mmask16 mk[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) mk[v] = v == NV - 1 ? last : 0xffff;
        if (g->bias) {
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                        __m512 s = _mm512_maskz_loadu_ps(mk[v], g->bias + j + 16 * v);
#pragma GCC unroll 8
                        for (int r = 0; r < R; r++) acc[r][v] = s;
                }
        } else {
#pragma GCC unroll 8
                for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                        for (int v = 0; v < NV; v++)
                                acc[r][v] = g->accumulate ? _mm512_maskz_loadu_ps(mk[v], c + r * ldc + 16 * v)
                                                          : _mm512_setzero_ps();
        }
        for (int p = 0; p < g->k; p++) {
                const float *bp = b + (size_t)p * ldb, *ap = a + (size_t)p * a_col;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) bv[v] = _mm512_maskz_loadu_ps(mk[v], bp + 16 * v);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                        __m512 x = _mm512_set1_ps(ap[r * a_row]);
#pragma GCC unroll 4
                        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
                }
        }
        if (g->hot) {
#pragma GCC unroll 8
                for (int r = 0; r < R; r++)
                        for (int h = 0; h < g->n_hot; h++) {
                                int32_t row = g->hot[(size_t)(i + r) * g->n_hot + h];
                                if (row < 0) continue;
                                const float *br = b + (size_t)row * ldb;
#pragma GCC unroll 4
                                for (int v = 0; v < NV; v++)
                                        acc[r][v] = _mm512_add_ps(acc[r][v],
                                                                  _mm512_maskz_loadu_ps(mk[v], br + 16 * v));
                        }
        }
        const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                        /* max returns its second operand for NaN and for
                         * -0 against 0: acc > 0 ? acc : 0 exactly. */
                        if (g->relu) acc[r][v] = _mm512_max_ps(acc[r][v], zero);
                        if (g->mask) {
                                __m512 y = _mm512_maskz_loadu_ps(mk[v], g->mask + (size_t)(i + r) * ldc + j +
                                                                                16 * v);
                                acc[r][v] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, zero, _CMP_GT_OQ),
                                                                acc[r][v]);
                        }
                        if (g->adam) {
                                size_t at = (size_t)(i + r) * ldc + j + 16 * v;
                                adam16(c + r * ldc + 16 * v, g->adam->m + at, g->adam->v + at, acc[r][v],
                                       mk[v], g->adam);
                        } else
                                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mk[v], acc[r][v]);
                }
}

/* One column block (NV vectors) over every row: blocks of RMAX rows, then
 * the rest in blocks of 4, 2 and 1. */
#define COLS512(NV, RMAX)                                                                                    \
        static AVX512 void cols512_##NV(const sf_gemm_t *g, int j, __mmask16 last) {                         \
                int i = 0;                                                                                   \
                for (; i + RMAX <= g->m; i += RMAX) block512(g, i, j, RMAX, NV, last);                       \
                if (RMAX > 4 && g->m - i >= 4) block512(g, i, j, 4, NV, last), i += 4;                       \
                if (RMAX > 2 && g->m - i >= 2) block512(g, i, j, 2, NV, last), i += 2;                       \
                if (g->m - i >= 1) block512(g, i, j, 1, NV, last);                                           \
        }
COLS512(1, 8)
COLS512(2, 8)
COLS512(3, 6)
COLS512(4, 6)

static AVX512 void gemm512(const sf_gemm_t *g) {
        for (int j = 0; j < g->n; j += 64) {
                int width = g->n - j < 64 ? g->n - j : 64, nv = (width + 15) / 16;
                __mmask16 last = (__mmask16)(width % 16 ? (1u << (width % 16)) - 1 : 0xffff);
                switch (nv) {
                case 1:
                        cols512_1(g, j, last);
                        break;
                case 2:
                        cols512_2(g, j, last);
                        break;
                case 3:
                        cols512_3(g, j, last);
                        break;
                default:
                        cols512_4(g, j, last);
                        break;
                }
        }
}

static AVX512 void scatter512(float *dw, size_t ldw, const int32_t *hot, int n_hot, const float *dy,
                              size_t ldy, int batch, int n) {
        for (int i = 0; i < batch; i++)
                for (int h = 0; h < n_hot; h++) {
                        int32_t row = hot[(size_t)i * n_hot + h];
                        if (row < 0) continue;
                        float *d = dw + (size_t)row * ldw;
                        const float *s = dy + (size_t)i * ldy;
                        for (int j = 0; j < n; j += 16) {
                                __mmask16 m = n - j >= 16 ? 0xffff : (__mmask16)((1u << (n - j)) - 1);
                                __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + j),
                                                           _mm512_maskz_loadu_ps(m, s + j));
                                _mm512_mask_storeu_ps(d + j, m, sum);
                        }
                }
}

/* exp_poly (below) on 16 floats: the same operations in the same order. */
static inline __attribute__((always_inline)) AVX512 __m512 exp16(__m512 x) {
        const __m512 magic = _mm512_set1_ps(EXP_MAGIC);
        x = _mm512_max_ps(_mm512_set1_ps(EXP_LO), x);
        x = _mm512_min_ps(_mm512_set1_ps(EXP_HI), x);
        __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_LOG2E)), magic), magic);
        __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(EXP_C1)));
        r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(EXP_C2)));
        __m512 y = _mm512_set1_ps(EXP_P0);
        y = _mm512_add_ps(_mm512_mul_ps(y, r), _mm512_set1_ps(EXP_P1));
        y = _mm512_add_ps(_mm512_mul_ps(y, r), _mm512_set1_ps(EXP_P2));
        y = _mm512_add_ps(_mm512_mul_ps(y, r), _mm512_set1_ps(EXP_P3));
        y = _mm512_add_ps(_mm512_mul_ps(y, r), _mm512_set1_ps(EXP_P4));
        y = _mm512_add_ps(_mm512_mul_ps(y, r), _mm512_set1_ps(EXP_P5));
        y = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(y, _mm512_mul_ps(r, r)), r), _mm512_set1_ps(1.0f));
        __m512i bits =
                _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
        return _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
}

/* One row of softmax512 for rows wider than a vector. */
static AVX512 void softmax_row512(float *p, float *sum_out, float *zmax_out, const float *z, int classes) {
        float zmax = z[0], sum = 0.0f;
        for (int c = 1; c < classes; c++) zmax = z[c] > zmax ? z[c] : zmax;
        __m512 mx = _mm512_set1_ps(zmax);
        for (int c = 0; c < classes; c += 16) {
                __mmask16 m = classes - c >= 16 ? 0xffff : (__mmask16)((1u << (classes - c)) - 1);
                _mm512_mask_storeu_ps(p + c, m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, z + c), mx)));
        }
        for (int c = 0; c < classes; c++) sum += p[c];
        __m512 s = _mm512_set1_ps(sum);
        for (int c = 0; c < classes; c += 16) {
                __mmask16 m = classes - c >= 16 ? 0xffff : (__mmask16)((1u << (classes - c)) - 1);
                _mm512_mask_storeu_ps(p + c, m, _mm512_div_ps(_mm512_maskz_loadu_ps(m, p + c), s));
        }
        *sum_out = sum, *zmax_out = zmax;
}

/* 16 rows a vector (their column c gathered into one), so that a row of 5
 * classes does not leave 11 lanes of 16 idle. */
static AVX512 void softmax512(float *p, float *sums, float *zmax, const float *z, int rows, int classes) {
        if (classes > 16) {
                for (int i = 0; i < rows; i++)
                        softmax_row512(p + (size_t)i * classes, sums + i, zmax + i, z + (size_t)i * classes,
                                       classes);
                return;
        }
        const __m512i lanes =
                _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                   _mm512_set1_epi32(classes));
        __m512 e[16];
        for (int i0 = 0; i0 < rows; i0 += 16) {
                __mmask16 m = rows - i0 >= 16 ? 0xffff : (__mmask16)((1u << (rows - i0)) - 1);
                const float *zb = z + (size_t)i0 * classes;
                float *pb = p + (size_t)i0 * classes;
                for (int c = 0; c < classes; c++)
                        e[c] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m,
                                                        _mm512_add_epi32(lanes, _mm512_set1_epi32(c)), zb, 4);
                /* as z[c] > zmax ? z[c] : zmax */
                __m512 mx = e[0], sum = _mm512_setzero_ps();
                for (int c = 1; c < classes; c++) mx = _mm512_max_ps(e[c], mx);
                for (int c = 0; c < classes; c++) {
                        e[c] = exp16(_mm512_sub_ps(e[c], mx));
                        sum = _mm512_add_ps(sum, e[c]);
                }
                for (int c = 0; c < classes; c++)
                        _mm512_mask_i32scatter_ps(pb, m, _mm512_add_epi32(lanes, _mm512_set1_epi32(c)),
                                                  _mm512_div_ps(e[c], sum), 4);
                _mm512_mask_storeu_ps(sums + i0, m, sum);
                _mm512_mask_storeu_ps(zmax + i0, m, mx);
        }
}

static AVX512 void adam512(float *p, float *m, float *v, const float *g, size_t n, float alpha, float b1,
                           float b2, float eps) {
        const sf_gemm_adam_t ad = {.alpha = alpha, .b1 = b1, .b2 = b2, .eps = eps};
        for (size_t i = 0; i < n; i += 16) {
                __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
                adam16(p + i, m + i, v + i, _mm512_maskz_loadu_ps(k, g + i), k, &ad);
        }
}

/* ---- AVX2 + FMA: 8 floats a vector, blocks of 2 to 8 rows x up to 32 columns ---- */

#define AVX2 __attribute__((target("avx2,fma")))

static inline __attribute__((always_inline)) AVX2 __m256i tail_mask(int n) {
        static const int idx[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        return _mm256_loadu_si256((const __m256i *)(idx + 8 - n));
}

static inline __attribute__((always_inline)) AVX2 __m256 load8(const float *p, int n) {
        return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(n));
}

static inline __attribute__((always_inline)) AVX2 void store8(float *p, __m256 v, int n) {
        if (n >= 8) return _mm256_storeu_ps(p, v);
        _mm256_maskstore_ps(p, tail_mask(n), v);
}

/* Adam's update of the 8 (or fewer: w) parameters at p with gradient g. */
static inline __attribute__((always_inline)) AVX2 void adam8(float *p, float *m, float *v, __m256 g, int w,
                                                             const sf_gemm_adam_t *ad) {
        const __m256 vb1 = _mm256_set1_ps(ad->b1), vb1c = _mm256_set1_ps(1.0f - ad->b1),
                     vb2 = _mm256_set1_ps(ad->b2), vb2c = _mm256_set1_ps(1.0f - ad->b2),
                     va = _mm256_set1_ps(ad->alpha), ve = _mm256_set1_ps(ad->eps);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, load8(m, w)), _mm256_mul_ps(vb1c, g));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, load8(v, w)), _mm256_mul_ps(_mm256_mul_ps(vb2c, g), g));
        /* lanes past w: sqrt(0) + eps, a finite divisor */
        __m256 step = _mm256_div_ps(_mm256_mul_ps(va, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), ve));
        store8(m, mi, w);
        store8(v, vi, w);
        store8(p, _mm256_sub_ps(load8(p, w), step), w);
}

/* R rows from row i x NV vectors from column j; `tail` floats in the last
 * vector (8 when full). */
static inline __attribute__((always_inline)) AVX2 void block256(const sf_gemm_t *g, int i, int j, int R,
                                                                int NV, int tail) {
        const size_t a_row = g->a_row, a_col = g->a_col, ldb = g->ldb, ldc = g->ldc;
        const float *a = g->a + (size_t)i * a_row, *b = g->b + j;
        float *c = g->c + (size_t)i * ldc + j;
        __m256 acc[MAX_ROWS][4], bv[4];
        int w[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) w[v] = v == NV - 1 ? tail : 8;
        if (g->bias) {
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                        __m256 s = load8(g->bias + j + 8 * v, w[v]);
#pragma GCC unroll 8
                        for (int r = 0; r < R; r++) acc[r][v] = s;
                }
        } else {
#pragma GCC unroll 8
                for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                        for (int v = 0; v < NV; v++)
                                acc[r][v] = g->accumulate ? load8(c + r * ldc + 8 * v, w[v])
                                                          : _mm256_setzero_ps();
        }
        for (int p = 0; p < g->k; p++) {
                const float *bp = b + (size_t)p * ldb, *ap = a + (size_t)p * a_col;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) bv[v] = load8(bp + 8 * v, w[v]);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                        __m256 x = _mm256_set1_ps(ap[r * a_row]);
#pragma GCC unroll 4
                        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(x, bv[v], acc[r][v]);
                }
        }
        if (g->hot) {
#pragma GCC unroll 8
                for (int r = 0; r < R; r++)
                        for (int h = 0; h < g->n_hot; h++) {
                                int32_t row = g->hot[(size_t)(i + r) * g->n_hot + h];
                                if (row < 0) continue;
                                const float *br = b + (size_t)row * ldb;
#pragma GCC unroll 4
                                for (int v = 0; v < NV; v++)
                                        acc[r][v] = _mm256_add_ps(acc[r][v], load8(br + 8 * v, w[v]));
                        }
        }
        const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                        if (g->relu) acc[r][v] = _mm256_max_ps(acc[r][v], zero);
                        if (g->mask) {
                                __m256 y = load8(g->mask + (size_t)(i + r) * ldc + j + 8 * v, w[v]);
                                acc[r][v] = _mm256_and_ps(_mm256_cmp_ps(y, zero, _CMP_GT_OQ), acc[r][v]);
                        }
                        if (g->adam) {
                                size_t at = (size_t)(i + r) * ldc + j + 8 * v;
                                adam8(c + r * ldc + 8 * v, g->adam->m + at, g->adam->v + at, acc[r][v], w[v],
                                      g->adam);
                        } else
                                store8(c + r * ldc + 8 * v, acc[r][v], w[v]);
                }
}

#define COLS256(NV, RMAX)                                                                                    \
        static AVX2 void cols256_##NV(const sf_gemm_t *g, int j, int tail) {                                 \
                int i = 0;                                                                                   \
                for (; i + RMAX <= g->m; i += RMAX) block256(g, i, j, RMAX, NV, tail);                       \
                if (RMAX > 4 && g->m - i >= 4) block256(g, i, j, 4, NV, tail), i += 4;                       \
                if (RMAX > 2 && g->m - i >= 2) block256(g, i, j, 2, NV, tail), i += 2;                       \
                if (g->m - i >= 1) block256(g, i, j, 1, NV, tail);                                           \
        }
COLS256(1, 8)
COLS256(2, 4)
COLS256(3, 2)
COLS256(4, 2)

static AVX2 void gemm256(const sf_gemm_t *g) {
        for (int j = 0; j < g->n; j += 32) {
                int width = g->n - j < 32 ? g->n - j : 32, nv = (width + 7) / 8, tail = width - 8 * (nv - 1);
                switch (nv) {
                case 1:
                        cols256_1(g, j, tail);
                        break;
                case 2:
                        cols256_2(g, j, tail);
                        break;
                case 3:
                        cols256_3(g, j, tail);
                        break;
                default:
                        cols256_4(g, j, tail);
                        break;
                }
        }
}

static AVX2 void scatter256(float *dw, size_t ldw, const int32_t *hot, int n_hot, const float *dy, size_t ldy,
                            int batch, int n) {
        for (int i = 0; i < batch; i++)
                for (int h = 0; h < n_hot; h++) {
                        int32_t row = hot[(size_t)i * n_hot + h];
                        if (row < 0) continue;
                        float *d = dw + (size_t)row * ldw;
                        const float *s = dy + (size_t)i * ldy;
                        for (int j = 0; j < n; j += 8) {
                                int w = n - j < 8 ? n - j : 8;
                                store8(d + j, _mm256_add_ps(load8(d + j, w), load8(s + j, w)), w);
                        }
                }
}

/* dst (8 rows, stride ldd) = the transpose of src (8 rows, stride lds). */
static inline __attribute__((always_inline)) AVX2 void transpose8(float *dst, size_t ldd, const float *src,
                                                                  size_t lds) {
        __m256 r[8], t[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(src + k * lds);
#pragma GCC unroll 4
        for (int k = 0; k < 8; k += 2) {
                t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
                t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
        }
#pragma GCC unroll 2
        for (int k = 0; k < 8; k += 4) {
                r[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
                r[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xee);
                r[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
                r[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xee);
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
                _mm256_storeu_ps(dst + k * ldd, _mm256_permute2f128_ps(r[k], r[k + 4], 0x20));
                _mm256_storeu_ps(dst + (k + 4) * ldd, _mm256_permute2f128_ps(r[k], r[k + 4], 0x31));
        }
}

/* dst[p][j] = src[j][p] for p < kc, j < nc: 8 x 8 tiles, then the edges. */
static AVX2 void pack256(float *dst, size_t ldd, const float *src, size_t lds, int kc, int nc) {
        int j = 0;
        for (; j + 8 <= nc; j += 8) {
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                        transpose8(dst + (size_t)p * ldd + j, ldd, src + (size_t)j * lds + p, lds);
                for (; p < kc; p++)
                        for (int jj = j; jj < j + 8; jj++)
                                dst[(size_t)p * ldd + jj] = src[(size_t)jj * lds + p];
        }
        for (; j < nc; j++)
                for (int p = 0; p < kc; p++) dst[(size_t)p * ldd + j] = src[(size_t)j * lds + p];
}

static AVX2 void adam256(float *p, float *m, float *v, const float *g, size_t n, float alpha, float b1,
                         float b2, float eps) {
        const sf_gemm_adam_t ad = {.alpha = alpha, .b1 = b1, .b2 = b2, .eps = eps};
        size_t i = 0;
        for (; i + 8 <= n; i += 8) adam8(p + i, m + i, v + i, _mm256_loadu_ps(g + i), 8, &ad);
        if (i < n) adam8(p + i, m + i, v + i, load8(g + i, (int)(n - i)), (int)(n - i), &ad);
}

#endif

/* ---- The portable reference: the same order of operations, one at a time ---- */

/* -O3 vectorizes Adam's loop with the baseline instruction set (packed
 * operations round as the scalar ones do): otherwise it is ten times slower. */
#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3")
#endif

static void adam_ref(float *p, float *m, float *v, const float *g, size_t n, float alpha, float b1, float b2,
                     float eps);

/* gemm_ref with adam: each row's sums for 64 columns at a time, then their update. */
static void gemm_ref_adam(const sf_gemm_t *g) {
        const sf_gemm_adam_t *ad = g->adam;
        float acc[64];
        for (int i = 0; i < g->m; i++)
                for (int j0 = 0; j0 < g->n; j0 += 64) {
                        int nc = g->n - j0 < 64 ? g->n - j0 : 64;
                        const float *ai = g->a + (size_t)i * g->a_row;
                        for (int j = 0; j < nc; j++) acc[j] = 0.0f;
                        for (int p = 0; p < g->k; p++) {
                                float x = ai[(size_t)p * g->a_col];
                                const float *bp = g->b + (size_t)p * g->ldb + j0;
                                for (int j = 0; j < nc; j++) acc[j] = __builtin_fmaf(x, bp[j], acc[j]);
                        }
                        for (int h = 0; g->hot && h < g->n_hot; h++) {
                                int32_t row = g->hot[(size_t)i * g->n_hot + h];
                                if (row < 0) continue;
                                const float *br = g->b + (size_t)row * g->ldb + j0;
                                for (int j = 0; j < nc; j++) acc[j] += br[j];
                        }
                        if (g->relu)
                                for (int j = 0; j < nc; j++) acc[j] = acc[j] > 0.0f ? acc[j] : 0.0f;
                        if (g->mask) {
                                const float *mi = g->mask + (size_t)i * g->ldc + j0;
                                for (int j = 0; j < nc; j++) acc[j] = mi[j] > 0.0f ? acc[j] : 0.0f;
                        }
                        size_t at = (size_t)i * g->ldc + j0;
                        adam_ref(g->c + at, ad->m + at, ad->v + at, acc, (size_t)nc, ad->alpha, ad->b1,
                                 ad->b2, ad->eps);
                }
}

static void gemm_ref(const sf_gemm_t *g) {
        if (g->adam) return gemm_ref_adam(g);
        for (int i = 0; i < g->m; i++) {
                float *ci = g->c + (size_t)i * g->ldc;
                const float *ai = g->a + (size_t)i * g->a_row;
                for (int j = 0; j < g->n; j++) ci[j] = g->bias ? g->bias[j] : g->accumulate ? ci[j] : 0.0f;
                for (int p = 0; p < g->k; p++) {
                        float x = ai[(size_t)p * g->a_col];
                        const float *bp = g->b + (size_t)p * g->ldb;
                        for (int j = 0; j < g->n; j++) ci[j] = __builtin_fmaf(x, bp[j], ci[j]);
                }
                for (int h = 0; g->hot && h < g->n_hot; h++) {
                        int32_t row = g->hot[(size_t)i * g->n_hot + h];
                        if (row < 0) continue;
                        const float *br = g->b + (size_t)row * g->ldb;
                        for (int j = 0; j < g->n; j++) ci[j] += br[j];
                }
                if (g->relu)
                        for (int j = 0; j < g->n; j++) ci[j] = ci[j] > 0.0f ? ci[j] : 0.0f;
                if (g->mask) {
                        const float *mi = g->mask + (size_t)i * g->ldc;
                        for (int j = 0; j < g->n; j++) ci[j] = mi[j] > 0.0f ? ci[j] : 0.0f;
                }
        }
}

static void scatter_ref(float *dw, size_t ldw, const int32_t *hot, int n_hot, const float *dy, size_t ldy,
                        int batch, int n) {
        for (int i = 0; i < batch; i++)
                for (int h = 0; h < n_hot; h++) {
                        int32_t row = hot[(size_t)i * n_hot + h];
                        if (row < 0) continue;
                        float *d = dw + (size_t)row * ldw;
                        const float *s = dy + (size_t)i * ldy;
                        for (int j = 0; j < n; j++) d[j] += s[j];
                }
}

static float exp_poly(float x) {
        /* As _mm512_max_ps (EXP_LO, x) and _mm512_min_ps: NaN stays NaN. */
        x = EXP_LO > x ? EXP_LO : x;
        x = EXP_HI < x ? EXP_HI : x;
        float n = (x * EXP_LOG2E + EXP_MAGIC) - EXP_MAGIC;
        float r = x - n * EXP_C1;
        r = r - n * EXP_C2;
        float y = EXP_P0;
        y = y * r + EXP_P1;
        y = y * r + EXP_P2;
        y = y * r + EXP_P3;
        y = y * r + EXP_P4;
        y = y * r + EXP_P5;
        y = y * (r * r) + r + 1.0f;
        /* NaN's scale is of no matter (y is NaN): not converted, which C leaves undefined. */
        uint32_t bits = (uint32_t)((int32_t)(n == n ? n : 0.0f) + 127) << 23;
        float scale;
        memcpy(&scale, &bits, sizeof(scale));
        return y * scale;
}

static void softmax_ref(float *p, float *sums, float *zmax, const float *z, int rows, int classes) {
        for (int i = 0; i < rows; i++) {
                const float *zi = z + (size_t)i * classes;
                float *pi = p + (size_t)i * classes, mx = zi[0], sum = 0.0f;
                for (int c = 1; c < classes; c++) mx = zi[c] > mx ? zi[c] : mx;
                for (int c = 0; c < classes; c++) pi[c] = exp_poly(zi[c] - mx);
                for (int c = 0; c < classes; c++) sum += pi[c];
                for (int c = 0; c < classes; c++) pi[c] /= sum;
                sums[i] = sum, zmax[i] = mx;
        }
}

static void pack_ref(float *dst, size_t ldd, const float *src, size_t lds, int kc, int nc) {
        for (int j = 0; j < nc; j++)
                for (int p = 0; p < kc; p++) dst[(size_t)p * ldd + j] = src[(size_t)j * lds + p];
}

static void adam_ref(float *p, float *m, float *v, const float *g, size_t n, float alpha, float b1, float b2,
                     float eps) {
        for (size_t i = 0; i < n; i++) {
                m[i] = b1 * m[i] + (1.0f - b1) * g[i];
                v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
                p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
        }
}

#if !defined(__clang__)
#pragma GCC pop_options
#endif

/* ---- Choosing ---- */

typedef struct {
        sf_kernel_t kind;
        void (*gemm)(const sf_gemm_t *);
        void (*pack)(float *, size_t, const float *, size_t, int, int);
        void (*scatter)(float *, size_t, const int32_t *, int, const float *, size_t, int, int);
        void (*adam)(float *, float *, float *, const float *, size_t, float, float, float, float);
        void (*softmax)(float *, float *, float *, const float *, int, int);
} kernel_set_t;

static const kernel_set_t portable = {SF_KERNEL_PORTABLE, gemm_ref, pack_ref,
                                      scatter_ref,        adam_ref, softmax_ref};
#ifdef HAVE_X86_KERNELS
static const kernel_set_t x512 = {SF_KERNEL_AVX512, gemm512, pack256, scatter512, adam512, softmax512};
static const kernel_set_t x256 = {SF_KERNEL_AVX2, gemm256, pack256, scatter256, adam256, softmax_ref};
#endif

int sf_kernel_supported(sf_kernel_t kernel) {
        if (kernel == SF_KERNEL_PORTABLE || kernel == SF_KERNEL_AUTO) return 1;
#ifdef HAVE_X86_KERNELS
        __builtin_cpu_init();
        if (kernel == SF_KERNEL_AVX512) return __builtin_cpu_supports("avx512f");
        if (kernel == SF_KERNEL_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        return 0;
}

static const kernel_set_t *best_set(void) {
#ifdef HAVE_X86_KERNELS
        if (sf_kernel_supported(SF_KERNEL_AVX512)) return &x512;
        if (sf_kernel_supported(SF_KERNEL_AVX2)) return &x256;
#endif
        return &portable;
}

static sf_kernel_t forced = SF_KERNEL_AUTO;

void sf_kernel_force(sf_kernel_t kernel) {
        __atomic_store_n(&forced, kernel, __ATOMIC_RELAXED);
}

static const kernel_set_t *active(void) {
        static const kernel_set_t *best; /* picked once; a second pick gives the same */
        switch (__atomic_load_n(&forced, __ATOMIC_RELAXED)) {
#ifdef HAVE_X86_KERNELS
        case SF_KERNEL_AVX512:
                return &x512;
        case SF_KERNEL_AVX2:
                return &x256;
#endif
        case SF_KERNEL_PORTABLE:
                return &portable;
        default:
                break;
        }
        const kernel_set_t *set = __atomic_load_n(&best, __ATOMIC_ACQUIRE);
        if (!set) __atomic_store_n(&best, set = best_set(), __ATOMIC_RELEASE);
        return set;
}

sf_kernel_t sf_kernel_active(void) {
        return active()->kind;
}

const char *sf_kernel_name(sf_kernel_t kernel) {
        switch (kernel) {
        case SF_KERNEL_AVX512:
                return "avx512";
        case SF_KERNEL_AVX2:
                return "avx2";
        case SF_KERNEL_PORTABLE:
                return "portable";
        case SF_KERNEL_AUTO:
                break;
        }
        return "auto";
}

/* ---- Entry points ---- */

/* b (k, n) given transposed is copied in blocks of PACK_K x PACK_N into a
 * row-major buffer first; a block's partial sums go through c (exactly:
 * a float stored and loaded back is the same float), so the order of every
 * sum is the same as in one pass. */
#define PACK_K 128
#define PACK_N 64

static void gemm_packed(const kernel_set_t *set, const sf_gemm_t *g) {
        float buf[PACK_K * PACK_N]; /* (kc, nc) */
        for (int j0 = 0; j0 < g->n; j0 += PACK_N) {
                int nc = g->n - j0 < PACK_N ? g->n - j0 : PACK_N, p0 = 0;
                do {
                        int kc = g->k - p0 < PACK_K ? g->k - p0 : PACK_K, last = p0 + kc >= g->k;
                        set->pack(buf, (size_t)nc, g->b + (size_t)j0 * g->ldb + p0, g->ldb, kc, nc);
                        sf_gemm_t s = *g;
                        s.n = nc, s.k = kc, s.b = buf, s.ldb = (size_t)nc, s.b_trans = 0, s.hot = NULL;
                        s.a = g->a + (size_t)p0 * g->a_col;
                        s.c = g->c + j0;
                        s.bias = p0 == 0 && g->bias ? g->bias + j0 : NULL;
                        s.accumulate = p0 == 0 ? g->accumulate : 1;
                        s.relu = last && g->relu;
                        s.mask = last && g->mask ? g->mask + j0 : NULL;
                        set->gemm(&s);
                        p0 += kc;
                } while (p0 < g->k);
        }
}

void sf_gemm(const sf_gemm_t *g) {
        const kernel_set_t *set = active();
        if (g->b_trans)
                gemm_packed(set, g);
        else
                set->gemm(g);
}

void sf_dense_infer(float *y, const float *x, int ldx, const float *w, const float *b, int batch, int in,
                    int out, int relu) {
        sf_gemm_t g = {.m = batch,
                       .n = out,
                       .k = in,
                       .a = x,
                       .a_row = (size_t)ldx,
                       .a_col = 1,
                       .b = w,
                       .ldb = (size_t)out,
                       .c = y,
                       .ldc = (size_t)out,
                       .bias = b,
                       .relu = relu};
        sf_gemm(&g);
}

void sf_rows_scatter_add(float *dw, size_t ldw, const int32_t *hot, int n_hot, const float *dy, size_t ldy,
                         int batch, int n) {
        active()->scatter(dw, ldw, hot, n_hot, dy, ldy, batch, n);
}

void sf_adam_update(float *p, float *m, float *v, const float *g, size_t n, float alpha, float b1, float b2,
                    float eps) {
        active()->adam(p, m, v, g, n, alpha, b1, b2, eps);
}

void sf_softmax_rows(float *p, float *sums, float *zmax, const float *z, int rows, int classes) {
        active()->softmax(p, sums, zmax, z, rows, classes);
}
