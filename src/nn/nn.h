/* The network's math: a stack of dense layers (ReLU between them, softmax
 * with sparse categorical cross-entropy at the end), Glorot-uniform
 * initialisation and Adam exactly as Keras defines them.
 *
 * Everything is plain functions over row-major float arrays. All parameters
 * live in one contiguous block (so do their gradients and Adam's m and v),
 * in layer order: W0 (in0, out0), b0 (out0), W1, b1, ... Gradients
 * accumulate (+=): the caller zeroes them. Every matrix product, in
 * training and inference alike, is one call of sf_gemm() (nn/kernels.h):
 * kernels picked for this CPU that give the same bits on every CPU, so a
 * seed trains the same weights wherever it runs. */
#ifndef SF_NN_NN_H
#define SF_NN_NN_H

#include <stddef.h>
#include <stdint.h>

#define SF_NN_MAX_LAYERS 8
#define SF_NN_MAX_HOT    4096 /* one-hot groups (categorical columns) the first layer can gather */

/* Keras' Adam defaults. */
#define SF_ADAM_BETA1 0.9f
#define SF_ADAM_BETA2 0.999f
#define SF_ADAM_EPS   1e-7f

/* n zeroed floats starting on a cache line (64 bytes), or NULL; free with
 * free(). The kernels' vector loads of a row then never straddle two lines:
 * the parameters, their gradients, Adam's moments and the activations are
 * allocated so. */
float *sf_nn_floats(size_t n);

/* n rounded up to a whole number of cache lines of floats (16). */
#define SF_NN_LINE_FLOATS(n) (((n) + 15) / 16 * 16)

/* Sets the number of threads OpenBLAS may use. The network's own products
 * run on the calling thread and do not depend on it. */
void sf_nn_set_threads(int n);

/* y (B, out) = x (B, in) · w (in, out) + b (out). w may have more rows than
 * `in` (the first `in` rows are used): the first layer's dense columns. */
void sf_dense_forward(float *y, const float *x, const float *w, const float *b, int batch, int in, int out);

/* Backward of sf_dense_forward given dy (B, out): dw (in, out) += x^T · dy,
 * db (out) += column sums of dy, dx (B, in) += dy · w^T. dx may be NULL
 * (the first layer needs no input gradient). */
void sf_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                       int batch, int in, int out);

/* The one-hot part of the first layer as a gather: y (B, out) += the rows
 * of w (rows, out) named by hot (B, n_hot); a negative index (a value
 * unseen in training) adds nothing. */
void sf_hot_forward(float *y, const int32_t *hot, const float *w, int batch, int n_hot, int out);

/* Backward of sf_hot_forward: dw rows named by hot += the matching dy rows. */
void sf_hot_backward(float *dw, const int32_t *hot, const float *dy, int batch, int n_hot, int out);

/* y (n) = max(x, 0); y may be x. */
void sf_relu_forward(float *y, const float *x, size_t n);

/* dx (n) += dy where the ReLU's output y was positive. */
void sf_relu_backward(float *dx, const float *dy, const float *y, size_t n);

/* probs (B, C) = softmax(logits (B, C)), computed stably. When labels
 * (B) is not NULL returns the mean over the batch of -log p[label]
 * (from the logits, as Keras does for a softmax output), else 0. */
double sf_softmax_xent_forward(float *probs, const float *logits, const int *labels, int batch, int classes);

/* dlogits (B, C) += (probs - onehot(labels)) / B: the gradient of the mean
 * cross-entropy with respect to the logits. */
void sf_softmax_xent_backward(float *dlogits, const float *probs, const int *labels, int batch, int classes);

/* The activation after a hidden layer. Trained networks use ReLU (the
 * zero value); the others come with networks imported from ONNX files.
 * Training (sf_nn_backward) supports ReLU only. */
typedef enum { SF_ACT_RELU = 0, SF_ACT_IDENTITY, SF_ACT_LEAKY_RELU, SF_ACT_SIGMOID, SF_ACT_TANH } sf_act_t;

/* "relu", "identity", "leaky_relu", "sigmoid", "tanh". */
const char *sf_act_name(sf_act_t act);

/* y (n) = act(y) in place; alpha is LeakyRelu's slope for x < 0. */
void sf_act_forward(float *y, size_t n, sf_act_t act, float alpha);

/* The same with per-class weights class_weight (C), or NULL for none (then
 * bit for bit the unweighted functions). As Keras' class_weight: each row's
 * loss is multiplied by the weight of its label and the batch loss is
 * sum(w_i * l_i) / B, divided by the batch size, not by the sum of the
 * weights (Keras' "sum_over_batch_size" reduction, the default of every
 * Keras loss: keras/src/losses/loss.py reduce_values in Keras 3,
 * keras/utils/losses_utils.py compute_weighted_loss in Keras 2). The
 * gradient is then dlogits += w_i * (probs - onehot) / B. */
double sf_softmax_xent_forward_weighted(float *probs, const float *logits, const int *labels,
                                        const float *class_weight, int batch, int classes);
void sf_softmax_xent_backward_weighted(float *dlogits, const float *probs, const int *labels,
                                       const float *class_weight, int batch, int classes);

/* A network: sizes[0] inputs, then each layer's width; the last layer is
 * the softmax over sizes[n_layers] classes. */
typedef struct sf_nn {
        int n_layers;
        int sizes[SF_NN_MAX_LAYERS + 1];
        sf_act_t act[SF_NN_MAX_LAYERS]; /* after each hidden layer; ReLU unless imported */
        float act_alpha[SF_NN_MAX_LAYERS];
        size_t n_params;
        float *params;                                    /* (n_params), owned */
        float *w[SF_NN_MAX_LAYERS], *b[SF_NN_MAX_LAYERS]; /* views into params */
        size_t w_off[SF_NN_MAX_LAYERS], b_off[SF_NN_MAX_LAYERS];
} sf_nn_t;

/* A new network with zeroed parameters, or NULL with errstr set (bad sizes
 * or out of memory). Destroy with sf_nn_destroy (NULL is a no-op). */
sf_nn_t *sf_nn_create(const int *sizes, int n_layers, char *errstr, size_t errstr_size);
void sf_nn_destroy(sf_nn_t *nn);

/* Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out))) drawn from
 * sf_rng seeded with seed, layer by layer, row-major; zero biases. */
void sf_nn_init_glorot(sf_nn_t *nn, uint64_t seed);

/* One batch of input. A dense batch: x is (B, sizes[0]), n_dense ==
 * sizes[0], n_hot == 0. A compact batch: x is (B, n_dense), the first
 * n_dense inputs, and hot (B, n_hot) holds the index of the one input set
 * to 1 in each one-hot group (-1 for none); every other input is 0. */
typedef struct sf_nn_input {
        const float *x;
        const int32_t *hot;
        int n_dense, n_hot;
} sf_nn_input_t;

/* Activations (and, for training, their gradients) for up to max_batch rows. */
typedef struct sf_nn_ws {
        int max_batch;
        float *act[SF_NN_MAX_LAYERS];  /* (B, sizes[l+1]): ReLU output, logits for the last */
        float *dact[SF_NN_MAX_LAYERS]; /* same shapes; NULL in an inference workspace */
        float *probs;                  /* (B, classes) */
        float *block;                  /* owns all of the above */
        /* (classes) per-class loss weights used by sf_nn_forward and
         * sf_nn_backward, or NULL (the default): not owned, set by the caller
         * after sf_nn_ws_init. */
        const float *class_weight;
} sf_nn_ws_t;

/* Allocates a workspace (class_weight NULL); with_grads adds the gradient
 * buffers. Returns 0 or -1 (out of memory). Free with sf_nn_ws_free. */
int sf_nn_ws_init(sf_nn_ws_t *ws, const sf_nn_t *nn, int max_batch, int with_grads);
void sf_nn_ws_free(sf_nn_ws_t *ws);

/* Forward pass of batch rows (batch <= ws->max_batch): fills ws->act and
 * ws->probs (B, classes). Returns the mean cross-entropy (weighted by
 * ws->class_weight when set) when labels is not NULL, else 0. */
double sf_nn_forward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels,
                     int batch);

/* Backward pass after sf_nn_forward on the same batch: grads (n_params) +=
 * d(mean loss)/d(params), of the loss sf_nn_forward returned (weighted by
 * ws->class_weight when set). Uses ws->dact as scratch. */
void sf_nn_backward(const sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels, int batch,
                    float *grads);

/* Adam's state over the flat parameter block. */
typedef struct sf_adam {
        size_t n;
        float *m, *v; /* (n) each, one allocation */
        long long t;  /* steps taken */
        float lr, beta1, beta2, eps;
} sf_adam_t;

/* The backward pass and one Adam step in one: the same parameters, bit
 * for bit, as grads = 0, sf_nn_backward, sf_adam_step(adam, nn->params,
 * grads), but each layer's weight and bias gradients go straight from the
 * kernel's registers into Adam's update (after the layer's input gradient,
 * which needs the old weights), and the first layer's input gradient is
 * not computed. scratch (n_params) holds the one-hot rows' gradient. */
void sf_nn_backward_adam(sf_nn_t *nn, sf_nn_ws_t *ws, const sf_nn_input_t *in, const int *labels, int batch,
                         sf_adam_t *adam, float *scratch);

/* Zeroed moments for n parameters with Keras' defaults. Returns 0 or -1. */
int sf_adam_init(sf_adam_t *adam, size_t n, float lr);
void sf_adam_free(sf_adam_t *adam);

/* One Adam step as Keras computes it: t += 1; m = b1 m + (1 - b1) g;
 * v = b2 v + (1 - b2) g^2; p -= alpha m / (sqrt(v) + eps) with
 * alpha = lr sqrt(1 - b2^t) / (1 - b1^t). */
void sf_adam_step(sf_adam_t *adam, float *params, const float *grads);

/* Index of the largest of n values (the first on ties). */
int sf_argmax(const float *v, int n);

#endif
