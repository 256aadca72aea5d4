/* What `streamflow score --metrics` exposes: the scorer's counters, lag,
 * latency and batch histograms as Prometheus metrics, and its readiness.
 *
 * Two sides. The scorer's thread counts into the live side with no lock
 * (sf_score_prom_output per record, _delivered per delivery report, _batch
 * per batch) and calls sf_score_prom_publish once per loop turn, which
 * copies the counters into the published snapshot under a mutex. The HTTP
 * thread (src/service/http.c) only reads the published snapshot, through
 * sf_score_prom_metrics and sf_score_prom_ready. */
#ifndef SF_SCORE_PROM_H
#define SF_SCORE_PROM_H

#include <stdint.h>

#include "kafka/kafka.h"
#include "service/expo.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"

typedef struct sf_score_prom sf_score_prom_t;

/* A new collector for a model (its id, format and schema name go into
 * streamflow_model_info; its classes and columns label the counters)
 * scoring topic. schema and enc are copied (a reloaded model of the same
 * columns and classes may replace theirs). Returns NULL when out of memory. */
sf_score_prom_t *sf_score_prom_new(const char *model_id, const char *model_format, const char *topic,
                                   const sf_schema_t *schema, const sf_encoder_t *enc);
void sf_score_prom_destroy(sf_score_prom_t *p);

/* The collector of one scorer thread of a process that runs several
 * (score --threads): the thread counts into it and attaches its consumer
 * to it, as a lone scorer does to head. head serves the page: /metrics
 * sums every thread's counters and histograms (and lists every thread's
 * partitions' lag), /readyz needs each thread's consumer attached, none in
 * a rebalance, a partition assigned to one of them and the cluster
 * answering the first one. The model info and reload counters stay on
 * head. Owned by head (destroyed with it). Returns NULL when out of memory. */
sf_score_prom_t *sf_score_prom_thread(sf_score_prom_t *head);

/* --- the scorer's thread --- */

/* The consumer whose assignment, positions and watermarks give the lag, and
 * which /readyz asks whether the cluster answers; NULL before the consumer
 * is closed (waits for a probe under way). */
void sf_score_prom_attach(sf_score_prom_t *p, rd_kafka_t *consumer);

/* One output queued: reject is its sf_score_reject_t (0: a prediction of
 * class cls, row its decoded row and status what the encoder found per
 * categorical column, both only read for a prediction); key identifies it
 * in the delivery report, input_ts_ms is the input record's timestamp (<=
 * 0: none). Counted when the batch ends (sf_score_prom_batch). */
void sf_score_prom_output(sf_score_prom_t *p, int reject, int cls, const sf_row_t *row, const uint8_t *status,
                          uint64_t key, int64_t input_ts_ms);

/* The delivery report of output key: delivered (ok) or refused. A
 * delivered prediction adds (now - its input timestamp) to the end-to-end
 * latency histogram. */
void sf_score_prom_delivered(sf_score_prom_t *p, uint64_t key, int ok);

/* The same for a message of n outputs (n predictions in one message). */
void sf_score_prom_delivered_many(sf_score_prom_t *p, uint64_t key, int ok, uint64_t n);

/* The delivery report of an output that was not timed (a DLQ copy): counts
 * it, and takes no latency, even from an output that shares its key (with
 * many records a message, the records of one message share theirs). */
void sf_score_prom_delivered_untimed(sf_score_prom_t *p, int ok, uint64_t n);

/* A batch of n records took seconds; aborted: its outputs were thrown away
 * (an aborted transaction) and are not counted. */
void sf_score_prom_batch(sf_score_prom_t *p, int n, double seconds, int aborted);

/* The model in service changed (or is first known): its id, format and
 * schema name label streamflow_model_info from now on, and its training
 * rows per class (class_rows, the schema's classes; NULL when the model did
 * not record them) give streamflow_training_class_share and the drift gauge.
 * Published at once. */
void sf_score_prom_model(sf_score_prom_t *p, const char *model_id, const char *model_format,
                         const char *schema, const int64_t *class_rows);

/* A model reload was tried: ok 1 when its file loaded, passed the check and
 * serves (or was the model in service), 0 when it was refused. Published at
 * once. */
void sf_score_prom_reload(sf_score_prom_t *p, int ok);

/* Partitions assigned (assign 1) or revoked (assign 0). Published at once:
 * /readyz answers 503 from a revocation until the next assignment. */
void sf_score_prom_rebalance(sf_score_prom_t *p, int assign, int count);

/* Copies the live counters (and records, the consumed count) into the
 * snapshot, with the lag per partition (refreshed every 200 ms, or now
 * when final); also the heartbeat's moment. */
void sf_score_prom_publish(sf_score_prom_t *p, uint64_t records, int final);

/* --- the HTTP thread (sf_svc_opts_t callbacks, ctx is the collector) --- */

/* Appends every streamflow_* family to e. */
void sf_score_prom_metrics(void *ctx, sf_expo_t *e);

/* 1 when a model is loaded, partitions are assigned, no rebalance is under
 * way and the cluster answered a metadata request in the last second (asked
 * at most once a second); else 0 and why. */
int sf_score_prom_ready(void *ctx, char *reason, size_t reason_size);

#endif
