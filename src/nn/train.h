/* Training the network the way Keras' fit() does: the training set
 * shuffled every epoch, mini-batches of `batch` rows (the last one
 * partial), one Adam step per batch, and the epoch's loss and accuracy as
 * the running mean over its batches weighted by their size.
 *
 * Encoded data sets live here too: the whole training set is encoded once,
 * in the compact form (the scaled numbers and "was missing" inputs, then
 * one one-hot index per categorical column) that lets the first layer
 * gather instead of multiply, or densely (every input) for comparison. */
#ifndef SF_NN_TRAIN_H
#define SF_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"
#include "util/rng.h"

/* n encoded rows with their classes. */
typedef struct sf_dataset {
        size_t n;
        int n_dense, n_hot; /* compact: numbers and flags, categorical columns; dense: n_inputs and 0 */
        float *x;           /* (n, n_dense) */
        int32_t *hot;       /* (n, n_hot), NULL when dense */
        int *y;             /* (n) class indices */
        size_t unseen;      /* rows with a categorical value unseen in training */
        uint64_t *line;     /* (n) the file line of each row (0: unknown), NULL when the rows had none */
} sf_dataset_t;

/* Frees what a dataset holds (src/model/dataset.h fills one). */
void sf_dataset_free(sf_dataset_t *ds);

/* Loss, accuracy and (optionally) predicted classes pred (n) and
 * probabilities probs (n, classes) of nn over ds, in chunks of 1024 rows.
 * The loss is the mean cross-entropy from the logits, as Keras'
 * evaluate() reports it. Returns 0, or -1 with errstr: out of memory, or a
 * row whose probabilities are not finite ("line L: ..."), which is never
 * counted as a prediction. */
int sf_nn_evaluate(const sf_nn_t *nn, const sf_dataset_t *ds, double *loss, double *accuracy, int *pred,
                   float *probs, char *errstr, size_t errstr_size);

/* Called after every step with the running loss and accuracy of the epoch. */
typedef void (*sf_train_progress_cb)(void *opaque, size_t step, size_t steps, double loss, double accuracy);

typedef struct sf_trainer sf_trainer_t;

/* A trainer for nn (not owned; it must outlive the trainer) with batches of
 * `batch` rows shaped like `like` (compact or dense), Adam at learning rate
 * lr, and shuffles drawn from seed. Returns a new trainer or NULL with
 * errstr. */
sf_trainer_t *sf_trainer_new(sf_nn_t *nn, const sf_dataset_t *like, int batch, float lr, uint64_t seed,
                             char *errstr, size_t errstr_size);
void sf_trainer_destroy(sf_trainer_t *tr);

/* One epoch over train: shuffle, ceil(n / batch) Adam steps. Writes the
 * epoch's loss and accuracy (running means, as Keras reports them).
 * progress may be NULL. Returns 0, or -1 with errstr when the loss stops
 * being finite (training diverged: lower the learning rate). */
int sf_trainer_epoch(sf_trainer_t *tr, const sf_dataset_t *train, sf_train_progress_cb progress, void *opaque,
                     double *loss, double *accuracy, char *errstr, size_t errstr_size);

/* Steps per epoch for n rows: ceil(n / batch). */
size_t sf_trainer_steps(const sf_trainer_t *tr, size_t n);

/* Weights the training loss by class: class_weight (classes) is copied;
 * NULL turns weighting off (the default). See
 * sf_softmax_xent_forward_weighted for the arithmetic. Returns 0, or -1
 * (out of memory; nothing changed). */
int sf_trainer_set_class_weight(sf_trainer_t *tr, const float *class_weight);

/* The trainer's Adam state and shuffle stream, owned by the trainer: what a
 * checkpoint saves and a resume restores. */
sf_adam_t *sf_trainer_adam(sf_trainer_t *tr);
sf_rng_t *sf_trainer_rng(sf_trainer_t *tr);

/* SHA-256 of a data set's encoded contents (x, hot and y) as 64 hex digits
 * and a NUL in hex: whether a resumed run trains on the same rows. Returns
 * 0 or -1 (hashing failed). */
int sf_dataset_digest(const sf_dataset_t *ds, char hex[65]);

/* Per-class weights "balanced" as sklearn's compute_class_weight computes
 * them for classes = np.unique(y): n / (n_present * count[c]) where
 * n_present is the number of classes that occur in y (n rows); a class
 * absent from y (it adds nothing to the loss) gets 1. out is (classes).
 * Returns 0, or -1 when classes is not 1..SF_CLASS_WEIGHT_MAX. */
#define SF_CLASS_WEIGHT_MAX 64
int sf_class_weight_balanced(const int *y, size_t n, int classes, float *out);

/* Parses "none", "balanced" (then *balanced = 1, out untouched) or
 * "CLASS=W,..." with CLASS one of names[0..classes) and W a finite number
 * >= 0 into out (classes); a class not listed keeps weight 1, as in
 * Keras 3. *none is set for "none". Returns 0, or -1 with errstr (an
 * unknown class name gets a "did you mean"). */
int sf_class_weight_parse(const char *spec, const char *const *names, int classes, float *out, int *balanced,
                          int *none, char *errstr, size_t errstr_size);

/* Keras' EarlyStopping (keras/src/callbacks/early_stopping.py, Keras 3) as
 * a pure state machine over the monitored value of each epoch. Improvement
 * means better than the best so far by more than min_delta (value +
 * min_delta < best when minimising, value - min_delta > best when
 * maximising; the best starts at +-infinity, so the first finite value
 * improves). Each epoch adds one to wait; an improvement sets it back to 0;
 * otherwise training stops once wait >= patience (never at epoch 0). */
typedef struct sf_early_stop {
        int maximize;     /* 1 for val_accuracy, 0 for val_loss */
        double min_delta; /* >= 0 */
        int patience;
        double best;
        int best_epoch;    /* 0-based; -1 before the first improvement */
        int wait;          /* epochs since the last improvement */
        int stopped_epoch; /* 0-based epoch that stopped training, -1 if none */
} sf_early_stop_t;

enum { SF_EARLY_STOP_IMPROVED = 1, SF_EARLY_STOP_STOP = 2 };

void sf_early_stop_init(sf_early_stop_t *es, int maximize, double min_delta, int patience);

/* Feeds the value of 0-based epoch `epoch`. Returns a mask of
 * SF_EARLY_STOP_IMPROVED (a new best: keep these weights) and
 * SF_EARLY_STOP_STOP (stop training after this epoch). A NaN never
 * improves. */
int sf_early_stop_update(sf_early_stop_t *es, int epoch, double value);

#endif
