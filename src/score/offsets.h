/* At-least-once offset tracking for a consume -> transform -> produce loop.
 *
 * Every consumed offset (or range of offsets) is added with the number of
 * outputs it makes: a prediction or a DLQ record per record of a message,
 * or a few messages of predictions for a whole range. Each output is
 * acknowledged when the broker confirms it, and an offset is done when all
 * the outputs covering it are. Delivery reports can arrive out of order
 * across partitions (and, after retries, within one), so the offset that
 * may be committed for a partition is one past the highest offset that is
 * done together with every earlier offset of that partition. */
#ifndef SF_SCORE_OFFSETS_H
#define SF_SCORE_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sf_score_offsets sf_score_offsets_t;

/* A new, empty tracker (destroy with sf_score_offsets_destroy) or NULL when
 * out of memory. */
sf_score_offsets_t *sf_score_offsets_new(void);
void sf_score_offsets_destroy(sf_score_offsets_t *t);

/* Records that `offset` of `partition` is in flight. Offsets of one
 * partition come in increasing order; an offset at or below the last one
 * added means the consumer was rewound, and the partition's in-flight
 * entries are forgotten first. Returns 0, or -1 when out of memory or the
 * partition is negative. */
int sf_score_offsets_add(sf_score_offsets_t *t, int32_t partition, int64_t offset);

/* The same for an offset whose message makes `outputs` outputs (at least
 * 1): it is done once each of them is acknowledged. It is
 * sf_score_offsets_add_range(t, partition, offset, offset, outputs). */
int sf_score_offsets_add_n(sf_score_offsets_t *t, int32_t partition, int64_t offset, uint32_t outputs);

/* Records that offsets first..last of partition are in flight, covered
 * together by `outputs` outputs, each acknowledged by
 * sf_score_offsets_ack with any offset of the range: none of them counts
 * as done before all are. Ranges of one partition come in increasing
 * order (first above the last one added, else rewound as for _add).
 * Returns 0, or -1 when out of memory, the partition is negative, first >
 * last or outputs is 0. sf_score_offsets_add(t, p, o) is
 * sf_score_offsets_add_range(t, p, o, o, 1). */
int sf_score_offsets_add_range(sf_score_offsets_t *t, int32_t partition, int64_t first, int64_t last,
                               uint32_t outputs);

/* Marks one output of the range holding (partition, offset) acknowledged.
 * Returns 1 when the offset was in flight, 0 when it is unknown or every
 * output of its range is already acknowledged (the acknowledgement is
 * ignored). An output sent before a reset or a rewind and acknowledged
 * after it counts for the forgotten range it was sent for, never for a
 * newer range over the same offsets: the newer range is done only with its
 * own outputs. (An output's key, hence its topic partition, is the same
 * each time its offset is scored, so the earlier output is acknowledged
 * first.) Returns 0 for it. */
int sf_score_offsets_ack(sf_score_offsets_t *t, int32_t partition, int64_t offset);

/* The offset to commit for partition: one past the last offset that is
 * acknowledged together with every earlier one, or -1 when there is
 * nothing (new) to commit, i.e. it equals the last value passed to
 * sf_score_offsets_committed. */
int64_t sf_score_offsets_commit_pos(const sf_score_offsets_t *t, int32_t partition);

/* Remembers that pos was committed for partition. */
void sf_score_offsets_committed(sf_score_offsets_t *t, int32_t partition, int64_t pos);

/* Forgets everything about partition (it was revoked or rewound): its
 * in-flight entries (their outputs' late acknowledgements still count for
 * them, see sf_score_offsets_ack), its commit position. */
void sf_score_offsets_reset(sf_score_offsets_t *t, int32_t partition);

/* Outputs in flight (added, not yet acknowledged) for partition, or over
 * all partitions when partition is -1. */
size_t sf_score_offsets_inflight(const sf_score_offsets_t *t, int32_t partition);

/* One more than the highest partition number ever added (to iterate). */
int32_t sf_score_offsets_npartitions(const sf_score_offsets_t *t);

#endif
