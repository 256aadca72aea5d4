#include "score/hist.h"

#include <math.h>
#include <string.h>

void sf_score_hist_reset(sf_score_hist_t *h) {
        memset(h, 0, sizeof(*h));
}

/* Values below SF_HIST_SUB have a bucket each; above, the power of two picks
 * a group of SF_HIST_SUB buckets and the next 4 bits the bucket in it. */
static int bucket_of(uint64_t v) {
        if (v < SF_HIST_SUB) return (int)v;
        int e = 63 - __builtin_clzll(v); /* >= 4 */
        int sub = (int)((v >> (e - 4)) & (SF_HIST_SUB - 1));
        int b = (e - 3) * SF_HIST_SUB + sub;
        return b < SF_HIST_NBUCKETS ? b : SF_HIST_NBUCKETS - 1;
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_top(int b) {
        if (b < SF_HIST_SUB) return (uint64_t)b;
        int e = b / SF_HIST_SUB + 3;
        uint64_t sub = (uint64_t)(b % SF_HIST_SUB);
        uint64_t lo = (1ull << e) | (sub << (e - 4));
        return lo + (1ull << (e - 4)) - 1;
}

void sf_score_hist_add(sf_score_hist_t *h, int64_t value) {
        uint64_t v = value < 0 ? 0 : (uint64_t)value;
        h->counts[bucket_of(v)]++;
        h->n++;
        if (v > h->max) h->max = v;
}

void sf_score_hist_merge(sf_score_hist_t *dst, const sf_score_hist_t *src) {
        for (int i = 0; i < SF_HIST_NBUCKETS; i++) dst->counts[i] += src->counts[i];
        dst->n += src->n;
        if (src->max > dst->max) dst->max = src->max;
}

int64_t sf_score_hist_percentile(const sf_score_hist_t *h, double q) {
        if (h->n == 0) return 0;
        if (q < 0) q = 0;
        if (q > 100) q = 100;
        uint64_t rank = (uint64_t)ceil(q / 100.0 * (double)h->n);
        if (rank < 1) rank = 1;
        uint64_t seen = 0;
        for (int b = 0; b < SF_HIST_NBUCKETS; b++) {
                seen += h->counts[b];
                if (seen >= rank) {
                        uint64_t top = bucket_top(b);
                        return (int64_t)(top < h->max ? top : h->max);
                }
        }
        return (int64_t)h->max;
}
