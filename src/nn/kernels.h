/* The kernels every pass of the network runs on, training and inference
 * alike, picked at run time for this CPU (AVX-512, AVX2 + FMA, or a
 * portable loop): one matrix product with what comes before and after it
 * in a layer, the one-hot rows' gradient, and Adam's update.
 *
 * Every product output is start + a(i,0) b(0,j) + a(i,1) b(1,j) + ... in
 * reduction order with fused multiply-adds, and every other step is one
 * IEEE operation per element in a fixed order, so every kernel gives the
 * same bits, a row's result does not depend on its batch, and the same
 * inputs always give the same weights. */
#ifndef SF_NN_KERNELS_H
#define SF_NN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SF_KERNEL_AUTO, SF_KERNEL_AVX512, SF_KERNEL_AVX2, SF_KERNEL_PORTABLE } sf_kernel_t;

/* One product c (m, n) = start + a (m, k) · b (k, n), then the extras, in
 * this order for every element c[i][j]:
 *   start    bias[j] when bias is set, else c[i][j] when accumulate, else 0;
 *   the sum  acc = fma(a(i,p), b(p,j), acc) for p = 0, 1, ..., k-1;
 *   hot      acc += b(r, j) for each r = hot[i * n_hot + h], h = 0, 1, ...,
 *            n_hot-1, skipping negative r (one-hot inputs as row gathers);
 *   relu     acc = acc > 0 ? acc : 0;
 *   mask     acc = mask[i][j] > 0 ? acc : 0 (the ReLU's backward pass).
 * a(i, p) = a[i * a_row + p * a_col]: a_row = lda, a_col = 1 for A itself,
 * a_row = 1, a_col = lda for A^T (strides 0 repeat one value). b(p, j) =
 * b[p * ldb + j], or b[j * ldb + p] when b_trans (then hot must be NULL).
 * mask shares c's row stride ldc.
 *
 * With adam set, acc is not stored: it is the gradient of the parameter
 * c[i][j], updated in place with its moments m[i][j] and v[i][j] (row
 * stride ldc) exactly as sf_adam_update does. Then the sum starts at 0
 * (no bias, no accumulate) and b is not transposed. The gradient never
 * goes through memory, and the update runs beside the products. */
typedef struct sf_gemm_adam {
        float *m, *v;
        float alpha, b1, b2, eps;
} sf_gemm_adam_t;

typedef struct sf_gemm {
        int m, n, k;
        const float *a;
        size_t a_row, a_col;
        const float *b;
        size_t ldb;
        int b_trans;
        float *c;
        size_t ldc;
        const float *bias; /* (n) or NULL */
        int accumulate;
        const int32_t *hot; /* (m, n_hot) or NULL */
        int n_hot;
        int relu;
        const float *mask;          /* (m, n) or NULL */
        const sf_gemm_adam_t *adam; /* or NULL */
} sf_gemm_t;

void sf_gemm(const sf_gemm_t *g);

/* y (B, out) = x (B, in; row stride ldx) · w (in, out) + b (out), then
 * max(y, 0) when relu: sf_gemm for one inference layer. */
void sf_dense_infer(float *y, const float *x, int ldx, const float *w, const float *b, int batch, int in,
                    int out, int relu);

/* The one-hot rows' gradient: for i = 0..batch-1, h = 0..n_hot-1 in that
 * order, dw row hot[i * n_hot + h] (n floats, row stride ldw) += dy row i
 * (row stride ldy); negative indices add nothing. */
void sf_rows_scatter_add(float *dw, size_t ldw, const int32_t *hot, int n_hot, const float *dy, size_t ldy,
                         int batch, int n);

/* The softmax of each of z's rows (rows, classes) into p (the same shape,
 * not z): zmax (rows) = the row's largest (zmax = z[0], then z[c] > zmax ?
 * z[c] : zmax for c = 1, 2, ...), p = e^(z - zmax) / the row's sum, sums
 * (rows) = those sums, added up in column order from 0. e^x is computed
 * within 1 ulp from IEEE operations only (the same bits on every kernel);
 * it is FLT_MIN below -87.3, and NaN for NaN. */
void sf_softmax_rows(float *p, float *sums, float *zmax, const float *z, int rows, int classes);

/* Adam's update of n parameters, element by element exactly as
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g g;  p -= alpha m / (sqrt(v) + eps)
 * with each product and sum rounded on its own (no fused multiply-add). */
void sf_adam_update(float *p, float *m, float *v, const float *g, size_t n, float alpha, float b1, float b2,
                    float eps);

/* The kernel in use (never SF_KERNEL_AUTO). */
sf_kernel_t sf_kernel_active(void);

/* "avx512", "avx2", "portable", "auto". */
const char *sf_kernel_name(sf_kernel_t kernel);

/* Whether this CPU can run kernel. */
int sf_kernel_supported(sf_kernel_t kernel);

/* Makes every kernel above use kernel (SF_KERNEL_AUTO: the best one); for
 * tests and benchmarks. The kernel must be supported. */
void sf_kernel_force(sf_kernel_t kernel);

#endif
