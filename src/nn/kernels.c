/* Dense-layer kernels for inference, chosen at run time for the CPU in
 * hand (AVX-512, else AVX2 with FMA). The layers are small (widths 5 to a
 * few hundred) and their shapes fixed at load time, so a register-blocked
 * loop that keeps a block of outputs in registers across the whole input
 * beats a general BLAS call, whose packing and dispatch dominate at these
 * sizes and which may not know this CPU.
 *
 * Every output is bias + x[0] w[0] + x[1] w[1] + ... in input order with
 * fused multiply-adds, whatever the batch size or the row's place in the
 * batch: a row's probabilities do not depend on what it was batched with. */
#include "nn/kernels.h"

#include <immintrin.h>
#include <stddef.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_X86_KERNELS 1
#endif

#ifdef HAVE_X86_KERNELS

/* ---- AVX-512: 16 floats a vector, blocks of 4 rows x up to 64 columns ---- */

#define AVX512 __attribute__((target("avx512f")))

/* R rows x NV vectors of outputs, starting at column col; the last vector
 * is masked by `mask` (columns past `out`). */
static inline __attribute__((always_inline)) AVX512 void block512(float *y, int ldy, const float *x, int ldx,
                                                                  const float *w, int ldw, const float *b,
                                                                  int in, int R, int NV, __mmask16 mask,
                                                                  int relu) {
        __m512 acc[4][4], wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
                __mmask16 m = v == NV - 1 ? mask : 0xffff;
                __m512 bv = _mm512_maskz_loadu_ps(m, b + 16 * v);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++) acc[r][v] = bv;
        }
        for (int k = 0; k < in; k++) {
                const float *wk = w + (size_t)k * ldw;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                        wv[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? mask : 0xffff, wk + 16 * v);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++) {
                        __m512 xb = _mm512_set1_ps(x[(size_t)r * ldx + k]);
#pragma GCC unroll 4
                        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(xb, wv[v], acc[r][v]);
                }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                        __m512 o = relu ? _mm512_max_ps(acc[r][v], _mm512_setzero_ps()) : acc[r][v];
                        _mm512_mask_storeu_ps(y + (size_t)r * ldy + 16 * v, v == NV - 1 ? mask : 0xffff, o);
                }
}

/* One column block (NV vectors) over every row: blocks of 4 rows, then 1. */
#define COLS512(NV)                                                                                          \
        static AVX512 void cols512_##NV(float *y, int ldy, const float *x, int ldx, const float *w, int ldw, \
                                        const float *b, int batch, int in, __mmask16 mask, int relu) {       \
                int i = 0;                                                                                   \
                for (; i + 4 <= batch; i += 4)                                                               \
                        block512(y + (size_t)i * ldy, ldy, x + (size_t)i * ldx, ldx, w, ldw, b, in, 4, NV,   \
                                 mask, relu);                                                                \
                for (; i < batch; i++)                                                                       \
                        block512(y + (size_t)i * ldy, ldy, x + (size_t)i * ldx, ldx, w, ldw, b, in, 1, NV,   \
                                 mask, relu);                                                                \
        }
COLS512(1)
COLS512(2)
COLS512(3)
COLS512(4)

static AVX512 void dense512(float *y, const float *x, int ldx, const float *w, const float *b, int batch,
                            int in, int out, int relu) {
        for (int c = 0; c < out; c += 64) {
                int width = out - c < 64 ? out - c : 64, nv = (width + 15) / 16;
                __mmask16 mask = (__mmask16)(width % 16 ? (1u << (width % 16)) - 1 : 0xffff);
                float *yc = y + c;
                const float *wc = w + c, *bc = b + c;
                switch (nv) {
                case 1:
                        cols512_1(yc, out, x, ldx, wc, out, bc, batch, in, mask, relu);
                        break;
                case 2:
                        cols512_2(yc, out, x, ldx, wc, out, bc, batch, in, mask, relu);
                        break;
                case 3:
                        cols512_3(yc, out, x, ldx, wc, out, bc, batch, in, mask, relu);
                        break;
                default:
                        cols512_4(yc, out, x, ldx, wc, out, bc, batch, in, mask, relu);
                        break;
                }
        }
}

/* ---- AVX2 + FMA: 8 floats a vector, blocks of 2 rows x up to 32 columns ---- */

#define AVX2 __attribute__((target("avx2,fma")))

static inline __attribute__((always_inline)) AVX2 __m256 load8(const float *p, int n) {
        if (n >= 8) return _mm256_loadu_ps(p);
        static const int idx[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        __m256i m = _mm256_loadu_si256((const __m256i *)(idx + 8 - n));
        return _mm256_maskload_ps(p, m);
}

static inline __attribute__((always_inline)) AVX2 void store8(float *p, __m256 v, int n) {
        if (n >= 8) return _mm256_storeu_ps(p, v);
        static const int idx[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        __m256i m = _mm256_loadu_si256((const __m256i *)(idx + 8 - n));
        _mm256_maskstore_ps(p, m, v);
}

/* R rows x NV vectors from column 0 of the block; `tail` floats in the
 * last vector (8 when full). */
static inline __attribute__((always_inline)) AVX2 void block256(float *y, int ldy, const float *x, int ldx,
                                                                const float *w, int ldw, const float *b,
                                                                int in, int R, int NV, int tail, int relu) {
        __m256 acc[2][4], wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
                __m256 bv = load8(b + 8 * v, v == NV - 1 ? tail : 8);
#pragma GCC unroll 2
                for (int r = 0; r < R; r++) acc[r][v] = bv;
        }
        for (int k = 0; k < in; k++) {
                const float *wk = w + (size_t)k * ldw;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) wv[v] = load8(wk + 8 * v, v == NV - 1 ? tail : 8);
#pragma GCC unroll 2
                for (int r = 0; r < R; r++) {
                        __m256 xb = _mm256_broadcast_ss(x + (size_t)r * ldx + k);
#pragma GCC unroll 4
                        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(xb, wv[v], acc[r][v]);
                }
        }
#pragma GCC unroll 2
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                        __m256 o = relu ? _mm256_max_ps(acc[r][v], _mm256_setzero_ps()) : acc[r][v];
                        store8(y + (size_t)r * ldy + 8 * v, o, v == NV - 1 ? tail : 8);
                }
}

#define COLS256(NV)                                                                                          \
        static AVX2 void cols256_##NV(float *y, int ldy, const float *x, int ldx, const float *w, int ldw,   \
                                      const float *b, int batch, int in, int tail, int relu) {               \
                int i = 0;                                                                                   \
                for (; i + 2 <= batch; i += 2)                                                               \
                        block256(y + (size_t)i * ldy, ldy, x + (size_t)i * ldx, ldx, w, ldw, b, in, 2, NV,   \
                                 tail, relu);                                                                \
                for (; i < batch; i++)                                                                       \
                        block256(y + (size_t)i * ldy, ldy, x + (size_t)i * ldx, ldx, w, ldw, b, in, 1, NV,   \
                                 tail, relu);                                                                \
        }
COLS256(1)
COLS256(2)
COLS256(3)
COLS256(4)

static AVX2 void dense256(float *y, const float *x, int ldx, const float *w, const float *b, int batch,
                          int in, int out, int relu) {
        for (int c = 0; c < out; c += 32) {
                int width = out - c < 32 ? out - c : 32, nv = (width + 7) / 8, tail = width - 8 * (nv - 1);
                float *yc = y + c;
                const float *wc = w + c, *bc = b + c;
                switch (nv) {
                case 1:
                        cols256_1(yc, out, x, ldx, wc, out, bc, batch, in, tail, relu);
                        break;
                case 2:
                        cols256_2(yc, out, x, ldx, wc, out, bc, batch, in, tail, relu);
                        break;
                case 3:
                        cols256_3(yc, out, x, ldx, wc, out, bc, batch, in, tail, relu);
                        break;
                default:
                        cols256_4(yc, out, x, ldx, wc, out, bc, batch, in, tail, relu);
                        break;
                }
        }
}

#endif

/* The portable reference: the same order of operations, one at a time. */
static void dense_ref(float *y, const float *x, int ldx, const float *w, const float *b, int batch, int in,
                      int out, int relu) {
        for (int i = 0; i < batch; i++) {
                float *yi = y + (size_t)i * out;
                const float *xi = x + (size_t)i * ldx;
                for (int j = 0; j < out; j++) {
                        float acc = b[j];
                        for (int k = 0; k < in; k++) acc = __builtin_fmaf(xi[k], w[(size_t)k * out + j], acc);
                        yi[j] = relu && acc < 0 ? 0.0f : acc;
                }
        }
}

typedef void (*dense_fn)(float *, const float *, int, const float *, const float *, int, int, int, int);

static dense_fn pick(sf_kernel_t *which) {
#ifdef HAVE_X86_KERNELS
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) return *which = SF_KERNEL_AVX512, dense512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                return *which = SF_KERNEL_AVX2, dense256;
#endif
        return *which = SF_KERNEL_PORTABLE, dense_ref;
}

static sf_kernel_t forced = SF_KERNEL_AUTO;

void sf_kernel_force(sf_kernel_t kernel) {
        __atomic_store_n(&forced, kernel, __ATOMIC_RELAXED);
}

sf_kernel_t sf_kernel_active(void) {
        sf_kernel_t which, f = __atomic_load_n(&forced, __ATOMIC_RELAXED);
        if (f != SF_KERNEL_AUTO) return f;
        pick(&which);
        return which;
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

int sf_kernel_supported(sf_kernel_t kernel) {
        if (kernel == SF_KERNEL_PORTABLE || kernel == SF_KERNEL_AUTO) return 1;
#ifdef HAVE_X86_KERNELS
        __builtin_cpu_init();
        if (kernel == SF_KERNEL_AVX512) return __builtin_cpu_supports("avx512f");
        if (kernel == SF_KERNEL_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        return 0;
}

void sf_dense_infer(float *y, const float *x, int ldx, const float *w, const float *b, int batch, int in,
                    int out, int relu) {
        static dense_fn best; /* picked once; a second pick gives the same */
        sf_kernel_t best_kind;
        dense_fn fn;
        switch (__atomic_load_n(&forced, __ATOMIC_RELAXED)) {
#ifdef HAVE_X86_KERNELS
        case SF_KERNEL_AVX512:
                fn = dense512;
                break;
        case SF_KERNEL_AVX2:
                fn = dense256;
                break;
#endif
        case SF_KERNEL_PORTABLE:
                fn = dense_ref;
                break;
        default:
                fn = __atomic_load_n(&best, __ATOMIC_ACQUIRE);
                if (!fn) __atomic_store_n(&best, fn = pick(&best_kind), __ATOMIC_RELEASE);
        }
        fn(y, x, ldx, w, b, batch, in, out, relu);
}
