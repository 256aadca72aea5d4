#include "nn/train.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/util.h"

#define EVAL_CHUNK 1024

/* "line L" (or "row R" when the line is unknown) for messages about row r. */
static void where(char *out, size_t size, const uint64_t *line, size_t r) {
        if (line && line[r])
                snprintf(out, size, "line %llu", (unsigned long long)line[r]);
        else
                snprintf(out, size, "row %zu", r + 1);
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
        float *grads; /* (n_params): the one-hot rows' gradient (sf_nn_backward_adam) */
        sf_rng_t rng;
        size_t *order; /* (capacity) the epoch's permutation */
        size_t capacity;
        float *bx;           /* (batch, n_dense) */
        int32_t *bhot;       /* (batch, n_hot) */
        int *by;             /* (batch) */
        float *class_weight; /* (classes) or NULL */
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
        tr->grads = sf_nn_floats(nn->n_params);
        tr->bx = sf_nn_floats((size_t)batch * tr->n_dense);
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
        free(tr->class_weight);
        free(tr);
}

size_t sf_trainer_steps(const sf_trainer_t *tr, size_t n) {
        return (n + (size_t)tr->batch - 1) / (size_t)tr->batch;
}

/* Asks the cache for part `part` (0, 1 or 2) of the rows of the batch that
 * starts at order[next]: they sit at random places in a data set larger
 * than the cache, and waiting for them when the batch was gathered took a
 * fifth of each step. The three parts are asked for at three points of the
 * step before, so that the loads overlap the arithmetic instead of queueing
 * behind each other. */
static void prefetch_rows(const sf_trainer_t *tr, const sf_dataset_t *train, size_t next, int part) {
        size_t start = next + (size_t)tr->batch * (size_t)part / 3;
        size_t end = next + (size_t)tr->batch * (size_t)(part + 1) / 3;
        if (end > train->n) end = train->n;
        size_t row_bytes = (size_t)tr->n_dense * sizeof(float);
        for (size_t i = start; i < end; i++) {
                size_t r = tr->order[i];
                const char *x = (const char *)(train->x + r * (size_t)tr->n_dense);
                for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(x + off);
                __builtin_prefetch(x + row_bytes - 1);
                if (tr->n_hot) __builtin_prefetch(train->hot + r * (size_t)tr->n_hot);
                __builtin_prefetch(train->y + r);
        }
        /* A function of nothing but prefetches is "pure" to GCC, which then
         * drops the call: the barrier is the side effect that keeps it. */
        __asm__ volatile("" ::: "memory");
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
                prefetch_rows(tr, train, start + (size_t)b, 0);
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
                prefetch_rows(tr, train, start + (size_t)b, 1);
                sf_nn_backward_adam(tr->nn, &tr->ws, &in, tr->by, b, &tr->adam, tr->grads);
                prefetch_rows(tr, train, start + (size_t)b, 2);
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

int sf_trainer_set_class_weight(sf_trainer_t *tr, const float *class_weight) {
        if (class_weight && !tr->class_weight &&
            !(tr->class_weight = malloc((size_t)tr->classes * sizeof(float))))
                return -1;
        if (class_weight) memcpy(tr->class_weight, class_weight, (size_t)tr->classes * sizeof(float));
        tr->ws.class_weight = class_weight ? tr->class_weight : NULL;
        return 0;
}

sf_adam_t *sf_trainer_adam(sf_trainer_t *tr) {
        return &tr->adam;
}

sf_rng_t *sf_trainer_rng(sf_trainer_t *tr) {
        return &tr->rng;
}

int sf_dataset_digest(const sf_dataset_t *ds, char hex[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
        ok = ok && EVP_DigestUpdate(ctx, ds->x, ds->n * (size_t)ds->n_dense * sizeof(float)) == 1;
        if (ds->hot)
                ok = ok && EVP_DigestUpdate(ctx, ds->hot, ds->n * (size_t)ds->n_hot * sizeof(int32_t)) == 1;
        ok = ok && EVP_DigestUpdate(ctx, ds->y, ds->n * sizeof(int)) == 1;
        ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 32;
        EVP_MD_CTX_free(ctx);
        if (!ok) return -1;
        for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return 0;
}

int sf_class_weight_balanced(const int *y, size_t n, int classes, float *out) {
        size_t count[SF_CLASS_WEIGHT_MAX] = {0};
        int present = 0;
        if (classes < 1 || classes > SF_CLASS_WEIGHT_MAX) return -1;
        for (size_t i = 0; i < n; i++)
                if (y[i] >= 0 && y[i] < classes) count[y[i]]++;
        for (int c = 0; c < classes; c++) present += count[c] > 0;
        for (int c = 0; c < classes; c++)
                out[c] = count[c] ? (float)((double)n / ((double)present * (double)count[c])) : 1.0f;
        return 0;
}

/* Sets out[class] from one "CLASS=W" item of length len. */
static int parse_weight_item(const char *item, size_t len, const char *const *names, int classes, float *out,
                             int *seen, char *errstr, size_t errstr_size) {
        const char *eq = memchr(item, '=', len);
        char name[64], num[64];
        if (!eq || eq == item || (size_t)(eq - item) >= sizeof(name) || len - (size_t)(eq - item) - 1 == 0 ||
            len - (size_t)(eq - item) - 1 >= sizeof(num)) {
                snprintf(errstr, errstr_size, "'%.*s' is not CLASS=WEIGHT", (int)len, item);
                return -1;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - item), item);
        snprintf(num, sizeof(num), "%.*s", (int)(len - (size_t)(eq - item) - 1), eq + 1);
        int c = 0;
        while (c < classes && strcmp(names[c], name) != 0) c++;
        if (c == classes) {
                const char *best = sf_suggest_icase(name, names, (size_t)classes);
                size_t at = (size_t)snprintf(errstr, errstr_size, "unknown class '%s'", name);
                if (best) {
                        snprintf(errstr + (at < errstr_size ? at : 0),
                                 at < errstr_size ? errstr_size - at : 0, " (did you mean '%s'?)", best);
                        return -1;
                }
                for (int k = 0; k < classes && at < errstr_size; k++)
                        at += (size_t)snprintf(errstr + at, errstr_size - at, "%s%s",
                                               k ? ", " : "; the classes are ", names[k]);
                return -1;
        }
        if (seen[c]) {
                snprintf(errstr, errstr_size, "class '%s' is given twice", name);
                return -1;
        }
        char *end;
        errno = 0;
        double w = strtod(num, &end);
        if (*end || errno || !isfinite(w) || w < 0 || w > 1e6) {
                snprintf(errstr, errstr_size, "the weight of '%s' is '%s'; expected a number from 0 to 1e6",
                         name, num);
                return -1;
        }
        seen[c] = 1;
        out[c] = (float)w;
        return 0;
}

int sf_class_weight_parse(const char *spec, const char *const *names, int classes, float *out, int *balanced,
                          int *none, char *errstr, size_t errstr_size) {
        *balanced = strcmp(spec, "balanced") == 0;
        *none = strcmp(spec, "none") == 0;
        if (*balanced || *none) return 0;
        int seen[SF_CLASS_WEIGHT_MAX] = {0};
        if (classes > SF_CLASS_WEIGHT_MAX) {
                snprintf(errstr, errstr_size, "at most %d classes can be weighted", SF_CLASS_WEIGHT_MAX);
                return -1;
        }
        float w[SF_CLASS_WEIGHT_MAX];
        for (int c = 0; c < classes; c++) w[c] = 1.0f;
        for (const char *p = spec;;) {
                size_t len = strcspn(p, ",");
                if (parse_weight_item(p, len, names, classes, w, seen, errstr, errstr_size) != 0) return -1;
                if (!p[len]) break;
                p += len + 1;
        }
        memcpy(out, w, (size_t)classes * sizeof(float));
        return 0;
}

void sf_early_stop_init(sf_early_stop_t *es, int maximize, double min_delta, int patience) {
        es->maximize = maximize;
        es->min_delta = fabs(min_delta);
        es->patience = patience;
        es->best = maximize ? -INFINITY : INFINITY;
        es->best_epoch = -1;
        es->wait = 0;
        es->stopped_epoch = -1;
}

int sf_early_stop_update(sf_early_stop_t *es, int epoch, double value) {
        int improved = es->maximize ? value - es->min_delta > es->best : value + es->min_delta < es->best;
        es->wait++;
        if (improved) {
                es->best = value;
                es->best_epoch = epoch;
                es->wait = 0;
                return SF_EARLY_STOP_IMPROVED;
        }
        if (es->wait >= es->patience && epoch > 0) {
                es->stopped_epoch = epoch;
                return SF_EARLY_STOP_STOP;
        }
        return 0;
}
