/* The real-time scoring pipeline behind `streamflow score`: consume
 * records (CSV or JSON rows of the model's schema), group them into micro-batches, parse and encode them
 * straight into one batch matrix, run the model once per batch, and produce
 * one prediction per record (or, for a record that cannot be scored, a copy
 * of it to the dead-letter topic), one message each or (predictions_batch)
 * one message per batch and source partition.
 *
 * Delivery: at-least-once by default, an input offset is stored for commit
 * only once its prediction (or DLQ copy) and those of every earlier offset
 * of its partition are acknowledged by the cluster. With exactly_once each
 * batch is one Kafka transaction that carries the input offsets
 * (send_offsets_to_transaction).
 *
 * One scorer runs in one thread: its consumer, its producer and every
 * callback run in the caller's thread. Several scorers of one process
 * (score --threads, score/pool.h) share only the model (read-only) and
 * what their pool hands over. */
#ifndef SF_SCORE_SCORER_H
#define SF_SCORE_SCORER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kafka/kafka.h"
#include "model/model.h"
#include "score/hist.h"
#include "score/prom.h"
#include "score/record.h"
#include "service/http.h"

typedef struct sf_score_pool sf_score_pool_t;

/* A DLQ copy keeps the record unchanged up to this size; a bigger record
 * is cut to it and its header original_size gives the full size. */
#define SF_SCORE_DLQ_MAX (512 * 1024)

typedef struct sf_scorer_opts {
        const char *topic;        /* input topic */
        const char *output;       /* predictions topic */
        const char *dlq;          /* dead-letter topic */
        const char *group;        /* consumer group */
        sf_score_format_t format; /* how message values are read (score/record.h) */
        /* --records-per-message many: a message value holds records, one
         * after another on their own lines (sf_score_split), each scored,
         * traced ("index") and dead-lettered alone; at most
         * SF_SCORE_MAX_RECORDS_PER_MESSAGE of them */
        bool many;
        /* records per micro-batch, at most; a message's records are never
         * split across two batches: a batch ends before a message that does
         * not fit, and a message of more records is a batch of its own */
        int batch;
        int linger_ms;       /* wait at most this long to fill a batch */
        bool exactly_once;   /* Kafka transactions; needs a real cluster */
        bool exit_at_end;    /* stop once every assigned partition is read to its end */
        int64_t max_records; /* stop after the message that brings the input records to this
                              * many (0: no limit) */
        double stats_s;      /* status every stats_s seconds (0: never) */
        FILE *stats_text;    /* status lines go here (stderr), or NULL */
        FILE *stats_json;    /* the same as JSON lines, or NULL */
        FILE *events;        /* "assigned"/"revoked" partition lines go here (stderr), or NULL */
        /* One message per micro-batch and source partition holding its
         * predictions, one JSON line each ("\n" after each), key = the
         * source partition's number in decimal; split to stay under the
         * producer's message.max.bytes. false: one message per prediction. */
        bool predictions_batch;
        /* This scorer's identity across restarts: its group.instance.id and
         * the tail of its transactional.id. NULL: "<host>-<slot>", the
         * lowest slot free on this host (score/instance.h). */
        const char *instance_id;

        /* --metrics, or both NULL: counted and published, and the heartbeat
         * beaten, once per loop turn */
        sf_score_prom_t *prom;
        sf_svc_t *svc;

        /* Or NULL: the pool (score/pool.h) this scorer is thread `thread`
         * of. Asked between two batches (two transactions with
         * exactly_once) whether another model serves from the next batch
         * on (a reload), given the heartbeat instead of svc, and with
         * exit_at_end asked whether every thread is at its end. */
        sf_score_pool_t *pool;
        int thread;
        const char *label; /* ends the events and status lines (" (thread 1)"), or NULL */
} sf_scorer_opts_t;

/* What a run did. */
typedef struct sf_scorer_totals {
        uint64_t records;       /* consumed */
        uint64_t messages;      /* consumed (with many: messages of records) */
        uint64_t predictions;   /* predictions produced */
        uint64_t dlq;           /* records sent to the dead-letter topic */
        uint64_t delivered;     /* outputs acknowledged by the cluster */
        uint64_t failed;        /* outputs the cluster refused (their offsets were not committed) */
        uint64_t unseen;        /* rows with a categorical value unseen in training */
        uint64_t unknown_label; /* rows scored whose label is neither a class nor in the schema's map */
        uint64_t batches;
        uint64_t aborted;        /* transactions aborted (exactly-once) */
        double seconds;          /* from the first record to the last output acknowledged */
        double started, ended;   /* those two moments (sf_now_s), 0 when none */
        int64_t p50_us, p99_us;  /* record timestamp -> prediction, whole run */
        sf_score_hist_t latency; /* the same, all of it */
} sf_scorer_totals_t;

/* Sets on conf the client settings the scorer is tuned with (prefetch,
 * batching, metadata refresh, session timeout; with many records a message
 * more prefetch and a shorter refresh), each one the options left unset.
 * Returns 0, or -1 with errstr. */
int sf_scorer_conf_defaults(sf_kafka_conf_t *conf, bool many, char *errstr, size_t errstr_size);

/* Runs the pipeline until sf_kafka_running() turns false (SIGINT/SIGTERM),
 * the end of the input with exit_at_end, or max_records. conf builds both
 * clients (it is not consumed; with exactly_once a transactional.id is set
 * on it). model must stay alive during the run (with opts->pool, until
 * the pool hands over another one between two batches). On the way out: the
 * current batch is finished, the producer flushed, acknowledged offsets
 * committed and the consumer closed. Fills *totals. Returns 0, or -1 with
 * errstr (cannot reach the cluster, a fatal client error, outputs the
 * cluster refused, a transaction that could not be committed). */
int sf_scorer_run(sf_kafka_conf_t *conf, sf_model_t *model, const sf_scorer_opts_t *opts,
                  sf_scorer_totals_t *totals, char *errstr, size_t errstr_size);

#endif
