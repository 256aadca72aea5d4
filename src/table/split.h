/* Seeded, stratified train / validation / test split of one table, like
 * sklearn's train_test_split(..., stratify=y): each class is split in the
 * same proportions (largest-remainder allocation of the rounded totals),
 * rows are drawn by a seeded shuffle (src/util/rng.c), and the same
 * (labels, fractions, seed) always give the same split. */
#ifndef SF_TABLE_SPLIT_H
#define SF_TABLE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sf_split {
        size_t *idx;                   /* n row indices: train, then validation, then test */
        size_t n_train, n_val, n_test; /* sizes of the three parts of idx */
} sf_split_t;

/* Splits rows 0..n-1 with labels label[i] in [0, n_classes): the test part
 * gets ceil(test_frac * n) rows and the validation part
 * ceil(val_frac * n), each allocated over the classes in proportion to
 * their sizes; each part is shuffled. Fractions are in [0, 1) and sum to
 * less than 1. Returns 0 (free out->idx) or -1 with errstr set. */
int sf_split_stratified(const int *label, size_t n, int n_classes, double val_frac, double test_frac,
                        uint64_t seed, sf_split_t *out, char *errstr, size_t errstr_size);

void sf_split_free(sf_split_t *split);

/* NSL-KDD's validation/test split of a test file of n rows: fills idx with
 * a seeded permutation of 0..n-1; the first n/2 are validation, the rest
 * test. The same (n, seed) always gives the same split (train and evaluate
 * share it). */
void sf_split_halves(size_t n, uint64_t seed, size_t *idx);

#endif
