/* Inference kernels for dense layers, picked at run time for this CPU
 * (AVX-512, AVX2 + FMA, or a portable loop), all computing each output as
 * bias + x[0] w[0] + x[1] w[1] + ... in input order with fused
 * multiply-adds, so every kernel gives the same bits and a row's result
 * does not depend on its batch. Training keeps sf_dense_forward (cblas). */
#ifndef SF_NN_KERNELS_H
#define SF_NN_KERNELS_H

typedef enum { SF_KERNEL_AUTO, SF_KERNEL_AVX512, SF_KERNEL_AVX2, SF_KERNEL_PORTABLE } sf_kernel_t;

/* y (B, out) = x (B, in; row stride ldx) · w (in, out) + b (out), then
 * max(y, 0) when relu. */
void sf_dense_infer(float *y, const float *x, int ldx, const float *w, const float *b, int batch, int in,
                    int out, int relu);

/* The kernel sf_dense_infer uses (never SF_KERNEL_AUTO). */
sf_kernel_t sf_kernel_active(void);

/* "avx512", "avx2", "portable", "auto". */
const char *sf_kernel_name(sf_kernel_t kernel);

/* Whether this CPU can run kernel. */
int sf_kernel_supported(sf_kernel_t kernel);

/* Makes sf_dense_infer use kernel (SF_KERNEL_AUTO: the best one); for tests
 * and benchmarks. The kernel must be supported. */
void sf_kernel_force(sf_kernel_t kernel);

#endif
