#include "score/offsets.h"

#include <stdlib.h>
#include <string.h>

/* In-flight offsets first..last, covered by `pending` outputs not yet
 * acknowledged (0: all acknowledged). */
typedef struct entry {
        int64_t first, last;
        uint32_t pending;
} entry_t;

/* A partition: a ring of in-flight entries in increasing offset order, and
 * the entries a reset or a rewind forgot while outputs of theirs were still
 * in flight: those outputs' late acknowledgements are theirs, not those of
 * a newer entry over the same offsets. */
typedef struct part {
        entry_t *ring;
        size_t head, count, cap; /* cap is 0 or a power of two */
        size_t outputs;          /* the sum of the entries' pending */
        entry_t *stale;          /* (nstale, room for stale_cap) in no order */
        size_t nstale, stale_cap;
        int blind;          /* out of memory keeping stale entries: acknowledgements are ignored for the
                             * rest of the run, so nothing is committed on a guess */
        int64_t last_added; /* -1: nothing added since the last reset */
        int64_t done;       /* one past the last contiguously acked offset, -1: none */
        int64_t committed;  /* last position committed, -1: none */
} part_t;

struct sf_score_offsets {
        part_t *parts;
        int32_t nparts;
};

static entry_t *at(const part_t *p, size_t i);

/* Forgets the in-flight entries of p, keeping those with outputs still
 * unacknowledged as stale. */
static void forget(part_t *p) {
        size_t keep = 0;
        for (size_t i = 0; i < p->count; i++) keep += at(p, i)->pending > 0;
        if (p->nstale + keep > p->stale_cap) {
                size_t cap = (p->nstale + keep) * 2;
                entry_t *st = realloc(p->stale, cap * sizeof(*st));
                if (!st) {
                        p->blind = 1;
                        keep = 0;
                } else {
                        p->stale = st;
                        p->stale_cap = cap;
                }
        }
        for (size_t i = 0; keep > 0 && i < p->count; i++)
                if (at(p, i)->pending > 0) p->stale[p->nstale++] = *at(p, i);
        p->head = p->count = p->outputs = 0;
        p->done = -1;
}

static void part_clear(part_t *p) {
        forget(p);
        p->last_added = -1;
        p->committed = -1;
}

/* An acknowledgement of a stale entry's output: counted there. Returns 1
 * when it was one. */
static int ack_stale(part_t *p, int64_t offset) {
        for (size_t i = 0; i < p->nstale; i++) {
                entry_t *e = &p->stale[i];
                if (offset < e->first || offset > e->last) continue;
                if (--e->pending == 0) *e = p->stale[--p->nstale];
                return 1;
        }
        return 0;
}

sf_score_offsets_t *sf_score_offsets_new(void) {
        return calloc(1, sizeof(sf_score_offsets_t));
}

void sf_score_offsets_destroy(sf_score_offsets_t *t) {
        if (!t) return;
        for (int32_t i = 0; i < t->nparts; i++) {
                free(t->parts[i].ring);
                free(t->parts[i].stale);
        }
        free(t->parts);
        free(t);
}

static part_t *get_part(sf_score_offsets_t *t, int32_t partition, int create) {
        if (partition < 0) return NULL;
        if (partition >= t->nparts) {
                if (!create) return NULL;
                int32_t n = partition + 1;
                part_t *parts = realloc(t->parts, (size_t)n * sizeof(*parts));
                if (!parts) return NULL;
                for (int32_t i = t->nparts; i < n; i++) {
                        memset(&parts[i], 0, sizeof(parts[i]));
                        part_clear(&parts[i]);
                }
                t->parts = parts;
                t->nparts = n;
        }
        return &t->parts[partition];
}

static entry_t *at(const part_t *p, size_t i) {
        return &p->ring[(p->head + i) & (p->cap - 1)];
}

static int grow(part_t *p) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        entry_t *ring = malloc(cap * sizeof(*ring));
        if (!ring) return -1;
        for (size_t i = 0; i < p->count; i++) ring[i] = *at(p, i);
        free(p->ring);
        p->ring = ring;
        p->cap = cap;
        p->head = 0;
        return 0;
}

int sf_score_offsets_add(sf_score_offsets_t *t, int32_t partition, int64_t offset) {
        return sf_score_offsets_add_range(t, partition, offset, offset, 1);
}

int sf_score_offsets_add_n(sf_score_offsets_t *t, int32_t partition, int64_t offset, uint32_t outputs) {
        return sf_score_offsets_add_range(t, partition, offset, offset, outputs);
}

int sf_score_offsets_add_range(sf_score_offsets_t *t, int32_t partition, int64_t first, int64_t last,
                               uint32_t outputs) {
        if (first > last || outputs == 0) return -1;
        part_t *p = get_part(t, partition, 1);
        if (!p) return -1;
        if (p->last_added >= 0 && first <= p->last_added) forget(p); /* rewound */
        if (p->count == p->cap && grow(p) != 0) return -1;
        entry_t *e = at(p, p->count);
        e->first = first;
        e->last = last;
        e->pending = outputs;
        p->count++;
        p->outputs += outputs;
        p->last_added = last;
        return 0;
}

int sf_score_offsets_ack(sf_score_offsets_t *t, int32_t partition, int64_t offset) {
        part_t *p = get_part(t, partition, 0);
        if (!p || p->blind) return 0;
        /* An output sent before a reset or a rewind is acknowledged before
         * the output sent again for the same offset (the same key, so the
         * same partition of the same topic, in order). */
        if (p->nstale > 0 && ack_stale(p, offset)) return 0;
        if (p->count == 0) return 0;
        /* Binary search for the first entry ending at or after offset: the
         * ring is sorted and its ranges do not overlap. */
        size_t lo = 0, hi = p->count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (at(p, mid)->last < offset)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == p->count) return 0;
        entry_t *e = at(p, lo);
        if (e->first > offset || e->pending == 0) return 0;
        e->pending--;
        p->outputs--;
        while (p->count > 0 && at(p, 0)->pending == 0) {
                p->done = at(p, 0)->last + 1;
                p->head = (p->head + 1) & (p->cap - 1);
                p->count--;
        }
        return 1;
}

int64_t sf_score_offsets_commit_pos(const sf_score_offsets_t *t, int32_t partition) {
        if (partition < 0 || partition >= t->nparts) return -1;
        const part_t *p = &t->parts[partition];
        if (p->done < 0 || p->done == p->committed) return -1;
        return p->done;
}

void sf_score_offsets_committed(sf_score_offsets_t *t, int32_t partition, int64_t pos) {
        if (partition < 0 || partition >= t->nparts) return;
        t->parts[partition].committed = pos;
}

void sf_score_offsets_reset(sf_score_offsets_t *t, int32_t partition) {
        if (partition < 0 || partition >= t->nparts) return;
        part_t *p = &t->parts[partition];
        part_clear(p);
}

size_t sf_score_offsets_inflight(const sf_score_offsets_t *t, int32_t partition) {
        if (partition >= 0) return partition < t->nparts ? t->parts[partition].outputs : 0;
        size_t n = 0;
        for (int32_t i = 0; i < t->nparts; i++) n += t->parts[i].outputs;
        return n;
}

int32_t sf_score_offsets_npartitions(const sf_score_offsets_t *t) {
        return t->nparts;
}
