/* Several scorers in one process (`streamflow score --threads N`), each
 * what a process of its own would be: its own consumer-group member (its
 * own group.instance.id and transactional.id), consumer, producer,
 * micro-batches and offsets, in a thread of its own. They share the model
 * (read-only; each has its own scratch space), the reloader, the metrics
 * page and the run flag, through this pool.
 *
 * Model reload: the caller's thread polls the reloader; a new model is
 * handed to each thread between two of its batches, and the reloader is
 * asked again (which frees the model before) only once every thread
 * still running has taken the model in service: no thread ever scores
 * with a freed model.
 *
 * Instance ids: with one thread, the scorer's own (the user's
 * --instance-id, else "<host>-<slot>"); with N, "<id>-t<k>" for k in
 * 0..N-1, id being the user's --instance-id or the host's slot held by the
 * pool: distinct, and the same after a restart with the same N. */
#ifndef SF_SCORE_POOL_H
#define SF_SCORE_POOL_H

#include <stdbool.h>

#include "kafka/kafka.h"
#include "score/prom.h"
#include "score/reload.h"
#include "score/scorer.h"
#include "service/http.h"

#define SF_SCORE_POOL_MAX 64 /* threads, at most */

typedef struct sf_score_pool_opts {
        int threads;                    /* 1 to SF_SCORE_POOL_MAX */
        const sf_kafka_conf_t *conf;    /* copied for each thread */
        const sf_scorer_opts_t *scorer; /* for every thread; its pool, thread, label, prom and
                                           (with several threads) instance_id are set per thread */
        sf_score_reload_t *reload;      /* the model in service and its reloads */
        /* Or NULL: the process's collector; each thread counts into one of
         * its own under it (sf_score_prom_thread). */
        sf_score_prom_t *prom;
        /* Or NULL: beaten at the oldest of the threads' last beats, so
         * /healthz fails when any one thread's loop stalls. */
        sf_svc_t *svc;
} sf_score_pool_opts_t;

/* Runs opts->threads scorers (sf_scorer_run) until each has stopped: a
 * signal, -e once every thread is at its end, or a failure of any thread,
 * which stops them all. Meanwhile serves the reloads and the heartbeat in
 * the caller's thread. Fills *totals with the sums over the threads (the
 * seconds from the first record to the last acknowledgement of any
 * thread, the latency percentiles of all records). Returns 0, or -1 with
 * errstr: the first failure ("thread K: ..." with several threads). */
int sf_score_pool_run(const sf_score_pool_opts_t *opts, sf_scorer_totals_t *totals, char *errstr,
                      size_t errstr_size);

/* --- called by scorer thread `thread` of the pool --- */

/* Between two batches: the model to serve from the next batch on when it
 * changed since this thread last switched, else NULL. The thread still
 * holds the model before it (its decoder reads that model's schema) until
 * it calls sf_score_pool_switched: only then may the reloader free it. */
sf_model_t *sf_score_pool_model(sf_score_pool_t *pool, int thread);

/* The thread serves the model sf_score_pool_model last returned, and uses
 * nothing of the one before it any more. */
void sf_score_pool_switched(sf_score_pool_t *pool, int thread);

/* The thread has its clients (its consumer subscribed): waits until every
 * thread has, or has failed to. */
void sf_score_pool_joined(sf_score_pool_t *pool, int thread);

/* Whether every thread has had its first assignment, and none is in a
 * rebalance since: until then a thread takes part in rebalances but
 * scores nothing (the first assignment of the first thread to join would
 * be taken back as soon as the next one joins). Stays true once true. */
bool sf_score_pool_settled(sf_score_pool_t *pool, int thread);

/* The thread's loop is alive. */
void sf_score_pool_beat(sf_score_pool_t *pool, int thread);

/* Partitions of the input topic assigned to the thread (assign) or
 * revoked, count of them. */
void sf_score_pool_rebalance(sf_score_pool_t *pool, int thread, bool assign, int count);

/* -e: mine is whether every partition assigned to the thread is read to
 * its end. A thread is at its end when so, or when, after its first
 * assignment and outside a rebalance, it has no partition. Returns true
 * when every running thread is at its end (then stays true); when this
 * one is and another is not, waits 10 ms first (the caller keeps polling
 * its consumer, so that it takes part in a rebalance). */
bool sf_score_pool_at_end(sf_score_pool_t *pool, int thread, bool mine);

/* -e: the thread has records to score (a batch, or a message held for its
 * next one): it is not at its end, whatever it said before. */
void sf_score_pool_busy(sf_score_pool_t *pool, int thread);

#endif
