#include "table/split.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/util.h"

void sf_split_free(sf_split_t *split) {
        if (!split) return;
        free(split->idx);
        memset(split, 0, sizeof(*split));
}

/* Shares `total` rows out over the classes in proportion to want[c] (a
 * class's exact share), at most room[c] each: the whole parts first, then
 * one more to the largest remainders (ties to the lower class). */
static void allocate(const double *want, const size_t *room, int k, size_t total, size_t *got) {
        size_t given = 0;
        for (int c = 0; c < k; c++) {
                got[c] = (size_t)floor(want[c]);
                if (got[c] > room[c]) got[c] = room[c];
                given += got[c];
        }
        while (given < total) {
                int best = -1;
                double best_rem = -1;
                for (int c = 0; c < k; c++) {
                        if (got[c] >= room[c]) continue;
                        double rem = want[c] - (double)got[c];
                        if (rem > best_rem) best = c, best_rem = rem;
                }
                if (best < 0) break;
                got[best]++;
                given++;
        }
}

int sf_split_stratified(const int *label, size_t n, int n_classes, double val_frac, double test_frac,
                        uint64_t seed, sf_split_t *out, char *errstr, size_t errstr_size) {
        memset(out, 0, sizeof(*out));
        if (!(val_frac >= 0 && val_frac < 1 && test_frac >= 0 && test_frac < 1 && val_frac + test_frac < 1)) {
                sf_seterr(errstr, errstr_size,
                          "validation (%g) and test (%g) fractions must be in [0, 1) and sum to less than 1",
                          val_frac, test_frac);
                return -1;
        }
        if (n_classes < 1) {
                sf_seterr(errstr, errstr_size, "no classes to stratify on");
                return -1;
        }
        size_t k = (size_t)n_classes;
        size_t *count = calloc(k, sizeof(size_t)), *start = calloc(k + 1, sizeof(size_t));
        size_t *n_test = calloc(k, sizeof(size_t)), *n_val = calloc(k, sizeof(size_t));
        size_t *room = calloc(k, sizeof(size_t)), *byclass = malloc((n + 1) * sizeof(size_t));
        double *want = calloc(k, sizeof(double));
        out->idx = malloc((n + 1) * sizeof(size_t));
        int ret = -1;
        if (!count || !start || !n_test || !n_val || !room || !byclass || !want || !out->idx) {
                sf_seterr(errstr, errstr_size, "out of memory splitting %zu rows", n);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                if (label[i] < 0 || label[i] >= n_classes) {
                        sf_seterr(errstr, errstr_size, "row %zu: class %d out of range [0, %d)", i, label[i],
                                  n_classes);
                        goto out;
                }
                count[label[i]]++;
        }
        /* The rows of each class, in order, then shuffled within the class. */
        for (size_t c = 0; c < k; c++) start[c + 1] = start[c] + count[c];
        memcpy(room, start, k * sizeof(size_t));
        for (size_t i = 0; i < n; i++) byclass[room[label[i]]++] = i;
        sf_rng_t rng;
        sf_rng_seed(&rng, seed ^ 0x7374726174ULL /* "strat" */);
        for (size_t c = 0; c < k; c++) sf_rng_shuffle(&rng, byclass + start[c], count[c]);
        /* Test first, then validation from what is left, as two successive
         * train_test_split calls would. */
        size_t total_test = (size_t)ceil(test_frac * (double)n),
               total_val = (size_t)ceil(val_frac * (double)n);
        for (size_t c = 0; c < k; c++) want[c] = test_frac * (double)count[c], room[c] = count[c];
        allocate(want, room, n_classes, total_test, n_test);
        for (size_t c = 0; c < k; c++) want[c] = val_frac * (double)count[c], room[c] = count[c] - n_test[c];
        allocate(want, room, n_classes, total_val, n_val);
        /* Lay out train | val | test, each part then shuffled. */
        size_t tr = 0, va = 0, te = 0;
        for (size_t c = 0; c < k; c++) te += n_test[c], va += n_val[c];
        tr = n - va - te;
        out->n_train = tr, out->n_val = va, out->n_test = te;
        size_t at_tr = 0, at_va = tr, at_te = tr + va;
        for (size_t c = 0; c < k; c++) {
                const size_t *rows = byclass + start[c];
                size_t i = 0;
                for (; i < n_test[c]; i++) out->idx[at_te++] = rows[i];
                for (; i < n_test[c] + n_val[c]; i++) out->idx[at_va++] = rows[i];
                for (; i < count[c]; i++) out->idx[at_tr++] = rows[i];
        }
        sf_rng_shuffle(&rng, out->idx, tr);
        sf_rng_shuffle(&rng, out->idx + tr, va);
        sf_rng_shuffle(&rng, out->idx + tr + va, te);
        ret = 0;
out:
        if (ret) sf_split_free(out);
        free(count), free(start), free(n_test), free(n_val), free(room), free(byclass), free(want);
        return ret;
}

void sf_split_halves(size_t n, uint64_t seed, size_t *idx) {
        sf_rng_t rng;
        /* A stream of its own, so the split does not repeat the sequence the
         * same seed gives the weights or the shuffles. */
        sf_rng_seed(&rng, seed ^ 0x73706c6974ULL /* "split" */);
        for (size_t i = 0; i < n; i++) idx[i] = i;
        sf_rng_shuffle(&rng, idx, n);
}
