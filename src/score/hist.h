/* A log-bucketed latency histogram (HDR-style: 16 linear sub-buckets per
 * power of two, so any percentile is within 1/16 of the true value) over
 * non-negative integer microseconds. Fixed size, no allocation. */
#ifndef SF_SCORE_HIST_H
#define SF_SCORE_HIST_H

#include <stdint.h>

#define SF_HIST_SUB      16
#define SF_HIST_NBUCKETS (SF_HIST_SUB * 61)

typedef struct sf_score_hist {
        uint64_t counts[SF_HIST_NBUCKETS];
        uint64_t n;
        uint64_t max;
} sf_score_hist_t;

/* Empties h. */
void sf_score_hist_reset(sf_score_hist_t *h);

/* Counts one value (negative values count as 0). */
void sf_score_hist_add(sf_score_hist_t *h, int64_t value);

/* Adds every count of src into dst. */
void sf_score_hist_merge(sf_score_hist_t *dst, const sf_score_hist_t *src);

/* The value at percentile q (0..100): the upper edge of the bucket holding
 * the ceil(q/100 * n)-th smallest value, capped at the largest value seen.
 * 0 when the histogram is empty. */
int64_t sf_score_hist_percentile(const sf_score_hist_t *h, double q);

#endif
