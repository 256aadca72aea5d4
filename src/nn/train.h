/* Training the network the way Keras' fit() does: the training set
 * shuffled every epoch, mini-batches of `batch` rows (the last one
 * partial), one Adam step per batch, and the epoch's loss and accuracy as
 * the running mean over its batches weighted by their size.
 *
 * Encoded data sets live here too: the whole training set is encoded once,
 * in the compact form (38 scaled numbers + 3 one-hot indices per row) that
 * lets the first layer gather instead of multiply, or densely (122 floats)
 * for comparison. */
#ifndef SF_NN_TRAIN_H
#define SF_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "data/kdd.h"
#include "nn/nn.h"

/* n encoded rows with their classes. */
typedef struct sf_dataset {
        size_t n;
        int n_dense, n_hot; /* compact: 38 and 3; dense: n_inputs and 0 */
        float *x;           /* (n, n_dense) */
        int32_t *hot;       /* (n, n_hot), NULL when dense */
        int *y;             /* (n) class indices */
        size_t unseen;      /* rows with a categorical value unseen in training */
        uint64_t *line;     /* (n) the file line of each row (0: unknown), NULL when the rows had none */
} sf_dataset_t;

/* Encodes rows->rows[idx[i]] (all rows in order when idx is NULL) for i in
 * 0..n with enc, compact or dense. Every row must carry a label and scale
 * to finite values (sf_kdd_check_scaled). Returns 0, or -1 with errstr (out
 * of memory, or "line L: field N (name): ..." for a bad row, "row R" when
 * rows has no line numbers). Free with sf_dataset_free. */
int sf_dataset_encode(sf_dataset_t *ds, const sf_kdd_encoder_t *enc, const sf_kdd_rows_t *rows,
                      const size_t *idx, size_t n, int compact, char *errstr, size_t errstr_size);
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

#endif
