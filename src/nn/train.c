#include "nn/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"

#define EVAL_CHUNK 1024

/* "line L" (or "row R" when the line is unknown) for messages about row r. */
static void where(char *out, size_t size, const uint64_t *line, size_t r) {
        if (line && line[r])
                snprintf(out, size, "line %llu", (unsigned long long)line[r]);
        else
                snprintf(out, size, "row %zu", r + 1);
}

int sf_dataset_encode(sf_dataset_t *ds, const sf_kdd_encoder_t *enc, const sf_kdd_rows_t *rows,
                      const size_t *idx, size_t n, int compact, char *errstr, size_t errstr_size) {
        memset(ds, 0, sizeof(*ds));
        ds->n_dense = compact ? SF_KDD_NNUMERIC : enc->n_inputs;
        ds->n_hot = compact ? 3 : 0;
        ds->x = malloc((n ? n : 1) * (size_t)ds->n_dense * sizeof(float));
        ds->y = malloc((n ? n : 1) * sizeof(int));
        if (compact) ds->hot = malloc((n ? n : 1) * 3 * sizeof(int32_t));
        if (rows->line) ds->line = malloc((n ? n : 1) * sizeof(uint64_t));
        if (!ds->x || !ds->y || (compact && !ds->hot) || (rows->line && !ds->line)) {
                snprintf(errstr, errstr_size, "out of memory encoding %zu rows", n);
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
                size_t r = idx ? idx[i] : i;
                const sf_kdd_row_t *row = &rows->rows[r];
                char at[48], why[256];
                if (row->label < 0 || row->label >= SF_KDD_NCLASSES) {
                        where(at, sizeof(at), rows->line, r);
                        snprintf(errstr, errstr_size,
                                 "%s: the row has no label (training and evaluation rows need the label "
                                 "column)",
                                 at);
                        goto fail;
                }
                ds->y[i] = row->label;
                if (ds->line) ds->line[i] = rows->line[r];
                int unseen;
                float *x = ds->x + i * (size_t)ds->n_dense; /* the 38 scaled numbers first, either way */
                if (compact) {
                        unseen = sf_kdd_encode_sparse(enc, row, x, ds->hot + i * 3);
                } else {
                        unseen = sf_kdd_encode(enc, row, x);
                }
                if (sf_kdd_check_scaled(row, x, why, sizeof(why)) != 0) {
                        where(at, sizeof(at), rows->line, r);
                        snprintf(errstr, errstr_size, "%s: %s", at, why);
                        goto fail;
                }
                if (unseen) ds->unseen++;
        }
        ds->n = n;
        return 0;
fail:
        sf_dataset_free(ds);
        return -1;
}

void sf_dataset_free(sf_dataset_t *ds) {
        free(ds->x);
        free(ds->hot);
        free(ds->y);
        free(ds->line);
        memset(ds, 0, sizeof(*ds));
}

int sf_nn_evaluate(const sf_nn_t *nn, const sf_dataset_t *ds, double *loss, double *accuracy, int *pred,
                   float *probs, char *errstr, size_t errstr_size) {
        sf_nn_ws_t ws;
        int classes = nn->sizes[nn->n_layers];
        if (sf_nn_ws_init(&ws, nn, EVAL_CHUNK, 0) != 0) {
                snprintf(errstr, errstr_size, "out of memory evaluating %zu rows", ds->n);
                return -1;
        }
        double sum = 0;
        size_t correct = 0;
        for (size_t i = 0; i < ds->n; i += EVAL_CHUNK) {
                int b = ds->n - i < EVAL_CHUNK ? (int)(ds->n - i) : EVAL_CHUNK;
                sf_nn_input_t in = {ds->x + i * (size_t)ds->n_dense,
                                    ds->hot ? ds->hot + i * (size_t)ds->n_hot : NULL, ds->n_dense, ds->n_hot};
                sum += sf_nn_forward(nn, &ws, &in, ds->y + i, b) * b;
                for (int k = 0; k < b; k++) {
                        const float *p = ws.probs + (size_t)k * classes;
                        int finite = 1;
                        for (int c = 0; c < classes; c++) finite &= isfinite(p[c]) != 0;
                        if (!finite) {
                                char at[48];
                                where(at, sizeof(at), ds->line, i + k);
                                snprintf(errstr, errstr_size,
                                         "%s: the model's output is not finite (NaN or infinite "
                                         "probabilities): the row cannot be evaluated",
                                         at);
                                sf_nn_ws_free(&ws);
                                return -1;
                        }
                }
                for (int k = 0; k < b; k++) {
                        int p = sf_argmax(ws.probs + (size_t)k * classes, classes);
                        correct += p == ds->y[i + k];
                        if (pred) pred[i + k] = p;
                }
                if (probs) memcpy(probs + i * (size_t)classes, ws.probs, (size_t)b * classes * sizeof(float));
        }
        *loss = ds->n ? sum / (double)ds->n : 0.0;
        *accuracy = ds->n ? (double)correct / (double)ds->n : 0.0;
        sf_nn_ws_free(&ws);
        return 0;
}

struct sf_trainer {
        sf_nn_t *nn;
        int batch, n_dense, n_hot, classes;
        sf_nn_ws_t ws;
        sf_adam_t adam;
        float *grads; /* (n_params) */
        sf_rng_t rng;
        size_t *order; /* (capacity) the epoch's permutation */
        size_t capacity;
        float *bx;     /* (batch, n_dense) */
        int32_t *bhot; /* (batch, n_hot) */
        int *by;       /* (batch) */
};

sf_trainer_t *sf_trainer_new(sf_nn_t *nn, const sf_dataset_t *like, int batch, float lr, uint64_t seed,
                             char *errstr, size_t errstr_size) {
        if (batch < 1) {
                snprintf(errstr, errstr_size, "batch size must be at least 1");
                return NULL;
        }
        if (like->n_dense + (like->n_hot ? 1 : 0) > nn->sizes[0] || like->n_hot > SF_NN_MAX_HOT) {
                snprintf(errstr, errstr_size,
                         "data with %d dense columns does not fit a network of %d inputs", like->n_dense,
                         nn->sizes[0]);
                return NULL;
        }
        sf_trainer_t *tr = calloc(1, sizeof(*tr));
        if (!tr) goto oom;
        tr->nn = nn;
        tr->batch = batch;
        tr->n_dense = like->n_dense;
        tr->n_hot = like->n_hot;
        tr->classes = nn->sizes[nn->n_layers];
        /* Shuffles get a stream of their own, apart from the initial weights'. */
        sf_rng_seed(&tr->rng, seed ^ 0x73687566666c65ULL /* "shuffle" */);
        if (sf_nn_ws_init(&tr->ws, nn, batch, 1) != 0 || sf_adam_init(&tr->adam, nn->n_params, lr) != 0)
                goto oom;
        tr->grads = malloc(nn->n_params * sizeof(float));
        tr->bx = malloc((size_t)batch * tr->n_dense * sizeof(float));
        tr->bhot = malloc((size_t)batch * (tr->n_hot ? tr->n_hot : 1) * sizeof(int32_t));
        tr->by = malloc((size_t)batch * sizeof(int));
        if (!tr->grads || !tr->bx || !tr->bhot || !tr->by) goto oom;
        return tr;
oom:
        sf_trainer_destroy(tr);
        snprintf(errstr, errstr_size, "out of memory setting up training");
        return NULL;
}

void sf_trainer_destroy(sf_trainer_t *tr) {
        if (!tr) return;
        sf_nn_ws_free(&tr->ws);
        sf_adam_free(&tr->adam);
        free(tr->grads);
        free(tr->order);
        free(tr->bx);
        free(tr->bhot);
        free(tr->by);
        free(tr);
}

size_t sf_trainer_steps(const sf_trainer_t *tr, size_t n) {
        return (n + (size_t)tr->batch - 1) / (size_t)tr->batch;
}

int sf_trainer_epoch(sf_trainer_t *tr, const sf_dataset_t *train, sf_train_progress_cb progress, void *opaque,
                     double *loss, double *accuracy, char *errstr, size_t errstr_size) {
        if (train->n_dense != tr->n_dense || train->n_hot != tr->n_hot) {
                snprintf(errstr, errstr_size,
                         "training data is shaped unlike the data the trainer was made for");
                return -1;
        }
        if (tr->capacity < train->n) {
                size_t *order = realloc(tr->order, train->n * sizeof(size_t));
                if (!order) {
                        snprintf(errstr, errstr_size, "out of memory shuffling %zu rows", train->n);
                        return -1;
                }
                tr->order = order;
                tr->capacity = train->n;
        }
        for (size_t i = 0; i < train->n; i++) tr->order[i] = i;
        sf_rng_shuffle(&tr->rng, tr->order, train->n);

        const sf_nn_t *nn = tr->nn;
        size_t steps = sf_trainer_steps(tr, train->n), seen = 0, correct = 0;
        double loss_sum = 0;
        for (size_t s = 0; s < steps; s++) {
                size_t start = s * (size_t)tr->batch;
                int b = train->n - start < (size_t)tr->batch ? (int)(train->n - start) : tr->batch;
                /* Gather the batch: bx (b, n_dense), bhot (b, n_hot), by (b). */
                for (int i = 0; i < b; i++) {
                        size_t r = tr->order[start + (size_t)i];
                        memcpy(tr->bx + (size_t)i * tr->n_dense, train->x + r * (size_t)tr->n_dense,
                               (size_t)tr->n_dense * sizeof(float));
                        if (tr->n_hot)
                                memcpy(tr->bhot + (size_t)i * tr->n_hot, train->hot + r * (size_t)tr->n_hot,
                                       (size_t)tr->n_hot * sizeof(int32_t));
                        tr->by[i] = train->y[r];
                }
                sf_nn_input_t in = {tr->bx, tr->n_hot ? tr->bhot : NULL, tr->n_dense, tr->n_hot};
                double l = sf_nn_forward(nn, &tr->ws, &in, tr->by, b);
                if (!isfinite(l)) {
                        snprintf(errstr, errstr_size,
                                 "the loss became %g at step %zu: training diverged (try a lower --lr)", l,
                                 s + 1);
                        return -1;
                }
                for (int i = 0; i < b; i++)
                        correct +=
                                sf_argmax(tr->ws.probs + (size_t)i * tr->classes, tr->classes) == tr->by[i];
                memset(tr->grads, 0, nn->n_params * sizeof(float));
                sf_nn_backward(nn, &tr->ws, &in, tr->by, b, tr->grads);
                sf_adam_step(&tr->adam, tr->nn->params, tr->grads);
                loss_sum += l * b;
                seen += (size_t)b;
                if (progress)
                        progress(opaque, s + 1, steps, loss_sum / (double)seen,
                                 (double)correct / (double)seen);
        }
        *loss = seen ? loss_sum / (double)seen : 0.0;
        *accuracy = seen ? (double)correct / (double)seen : 0.0;
        return 0;
}
