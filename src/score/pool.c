#include "score/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "score/instance.h"
#include "util/util.h"

/* One scorer thread. The fields after mu's comment are under the pool's mu. */
typedef struct member {
        sf_score_pool_t *pool;
        pthread_t tid;
        int started;
        sf_kafka_conf_t *conf;
        sf_scorer_opts_t o;
        char instance[SF_SCORE_INSTANCE_MAX + 1];
        char label[32];
        sf_model_t *first_model; /* the model in service when it started */
        sf_scorer_totals_t t;    /* its totals, once done */
        int rc;
        char err[512];
        _Atomic int64_t beat_ms; /* its last beat (sf_svc_now_ms), 0: none yet */
        /* under mu */
        uint64_t gen;    /* the generation of the model it serves (it has let go of the one before) */
        uint64_t taken;  /* the generation it was last handed, switching to it */
        int done;        /* sf_scorer_run returned: it uses no model any more */
        int assigned;    /* partitions it holds */
        int assignments; /* assignments seen */
        int revoked;     /* between a revocation and the next assignment */
        int at_end;
} member_t;

struct sf_score_pool {
        const sf_score_pool_opts_t *o;
        member_t *m; /* (o->threads) */
        pthread_mutex_t mu;
        pthread_cond_t cond;        /* a thread is done */
        pthread_cond_t joined_cond; /* a thread has joined or is done */
        /* under mu */
        sf_model_t *model; /* in service */
        uint64_t gen;      /* bumped at each reload */
        int done;          /* threads done */
        int joined;        /* threads that have their clients */
        int all_at_end;    /* -e: latched once every thread was at its end */
        int settled;       /* latched once every thread had its first assignment */
        int failed;        /* the first thread that failed, or -1 */
};

sf_model_t *sf_score_pool_model(sf_score_pool_t *p, int thread) {
        member_t *m = &p->m[thread];
        sf_model_t *next = NULL;
        pthread_mutex_lock(&p->mu);
        if (m->gen != p->gen) {
                m->taken = p->gen;
                next = p->model;
        }
        pthread_mutex_unlock(&p->mu);
        return next;
}

void sf_score_pool_switched(sf_score_pool_t *p, int thread) {
        member_t *m = &p->m[thread];
        pthread_mutex_lock(&p->mu);
        m->gen = m->taken;
        pthread_mutex_unlock(&p->mu);
}

void sf_score_pool_joined(sf_score_pool_t *p, int thread) {
        pthread_mutex_lock(&p->mu);
        p->joined++;
        pthread_cond_broadcast(&p->joined_cond);
        while (p->joined + p->done < p->o->threads && sf_kafka_running()) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec++;
                pthread_cond_timedwait(&p->joined_cond, &p->mu, &until);
        }
        pthread_mutex_unlock(&p->mu);
}

bool sf_score_pool_settled(sf_score_pool_t *p, int thread) {
        if (p->o->threads == 1) return true; /* a lone scorer, as without a pool */
        pthread_mutex_lock(&p->mu);
        if (!p->settled) {
                int all = 1;
                for (int k = 0; k < p->o->threads; k++)
                        if (!p->m[k].done && (p->m[k].assignments == 0 || p->m[k].revoked)) all = 0;
                p->settled = all;
        }
        int settled = p->settled;
        pthread_mutex_unlock(&p->mu);
        return settled;
}

void sf_score_pool_beat(sf_score_pool_t *p, int thread) {
        atomic_store_explicit(&p->m[thread].beat_ms, sf_svc_now_ms(), memory_order_relaxed);
}

void sf_score_pool_rebalance(sf_score_pool_t *p, int thread, bool assign, int count) {
        member_t *m = &p->m[thread];
        pthread_mutex_lock(&p->mu);
        if (assign) {
                m->assigned += count;
                m->assignments++;
                m->revoked = 0;
                m->at_end = 0;
        } else {
                m->assigned -= count;
                if (m->assigned < 0) m->assigned = 0;
                m->revoked = 1;
                m->at_end = 0;
        }
        pthread_mutex_unlock(&p->mu);
}

bool sf_score_pool_at_end(sf_score_pool_t *p, int thread, bool mine) {
        member_t *m = &p->m[thread];
        pthread_mutex_lock(&p->mu);
        m->at_end = mine || (m->assignments > 0 && !m->revoked && m->assigned == 0);
        if (!p->all_at_end) {
                int all = 1;
                for (int k = 0; k < p->o->threads; k++)
                        if (!p->m[k].done && !p->m[k].at_end) all = 0;
                p->all_at_end = all;
        }
        int all = p->all_at_end, wait = m->at_end && !all;
        pthread_mutex_unlock(&p->mu);
        if (wait) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        return all;
}

void sf_score_pool_busy(sf_score_pool_t *p, int thread) {
        pthread_mutex_lock(&p->mu);
        p->m[thread].at_end = 0;
        pthread_mutex_unlock(&p->mu);
}

static void *run_member(void *arg) {
        member_t *m = arg;
        sf_score_pool_t *p = m->pool;
        m->rc = sf_scorer_run(m->conf, m->first_model, &m->o, &m->t, m->err, sizeof(m->err));
        /* Any thread's failure stops them all, as a fatal error stops a lone scorer. */
        if (m->rc != 0) sf_kafka_stop();
        pthread_mutex_lock(&p->mu);
        m->done = 1;
        p->done++;
        if (m->rc != 0 && p->failed < 0) p->failed = (int)(m - p->m);
        pthread_cond_signal(&p->cond);
        pthread_cond_broadcast(&p->joined_cond);
        pthread_mutex_unlock(&p->mu);
        return NULL;
}

/* The caller's side of a reload: asks the reloader again only once every
 * running thread serves the model in service (the reloader frees the one
 * before it then). */
static void serve_reload(sf_score_pool_t *p) {
        if (!p->o->reload) return;
        pthread_mutex_lock(&p->mu);
        int switched = 1;
        for (int k = 0; k < p->o->threads; k++)
                if (!p->m[k].done && p->m[k].gen != p->gen) switched = 0;
        pthread_mutex_unlock(&p->mu);
        if (!switched) return;
        sf_model_t *next = sf_score_reload_poll(p->o->reload);
        if (!next) return;
        pthread_mutex_lock(&p->mu);
        p->model = next;
        p->gen++;
        pthread_mutex_unlock(&p->mu);
}

/* /healthz: the oldest of the running threads' last beats; none until
 * each has beaten once. */
static void serve_beat(sf_score_pool_t *p) {
        int64_t oldest = INT64_MAX;
        for (int k = 0; k < p->o->threads; k++) {
                member_t *m = &p->m[k];
                pthread_mutex_lock(&p->mu);
                int done = m->done;
                pthread_mutex_unlock(&p->mu);
                if (done) continue;
                int64_t b = atomic_load_explicit(&m->beat_ms, memory_order_relaxed);
                if (b == 0) return;
                if (b < oldest) oldest = b;
        }
        if (oldest != INT64_MAX) sf_svc_beat_at(p->o->svc, oldest);
}

/* Sets thread k's options and its own conf, and (with several threads)
 * its instance id from base. Returns 0, or -1 (errstr). */
static int set_member(sf_score_pool_t *p, int k, const char *base, char *errstr, size_t errstr_size) {
        const sf_score_pool_opts_t *o = p->o;
        member_t *m = &p->m[k];
        m->pool = p;
        m->o = *o->scorer;
        m->o.pool = p;
        m->o.thread = k;
        m->first_model = p->model;
        if (o->threads > 1) {
                snprintf(m->label, sizeof(m->label), " (thread %d)", k);
                m->o.label = m->label;
                int n = snprintf(m->instance, sizeof(m->instance), "%s-t%d", base, k);
                if (n < 0 || (size_t)n >= sizeof(m->instance)) {
                        snprintf(errstr, errstr_size,
                                 "instance id '%s' is too long for --threads %d: each thread adds '-t%d'; "
                                 "give a shorter --instance-id",
                                 base, o->threads, k);
                        return -1;
                }
                m->o.instance_id = m->instance;
        }
        if (o->prom && !(m->o.prom = sf_score_prom_thread(o->prom))) goto oom;
        if (!(m->conf = sf_kafka_conf_dup(o->conf))) goto oom;
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory starting scorer thread %d", k);
        return -1;
}

/* Sums the threads' totals into t. */
static void sum_totals(const sf_score_pool_t *p, sf_scorer_totals_t *t) {
        memset(t, 0, sizeof(*t));
        for (int k = 0; k < p->o->threads; k++) {
                const sf_scorer_totals_t *mt = &p->m[k].t;
                t->records += mt->records;
                t->messages += mt->messages;
                t->predictions += mt->predictions;
                t->dlq += mt->dlq;
                t->delivered += mt->delivered;
                t->failed += mt->failed;
                t->unseen += mt->unseen;
                t->unknown_label += mt->unknown_label;
                t->batches += mt->batches;
                t->aborted += mt->aborted;
                if (mt->started > 0 && (t->started == 0 || mt->started < t->started))
                        t->started = mt->started;
                if (mt->ended > t->ended) t->ended = mt->ended;
                sf_score_hist_merge(&t->latency, &mt->latency);
        }
        t->seconds = t->started > 0 && t->ended > t->started ? t->ended - t->started : 0;
        t->p50_us = sf_score_hist_percentile(&t->latency, 50);
        t->p99_us = sf_score_hist_percentile(&t->latency, 99);
}

/* Starts the threads and serves reloads and beats until all are done.
 * Returns 0, or -1 (errstr) when a thread could not be started. */
static int run_members(sf_score_pool_t *p, const char *base, char *errstr, size_t errstr_size) {
        int n = p->o->threads, rc = 0;
        for (int k = 0; k < n && rc == 0; k++) {
                if (set_member(p, k, base, errstr, errstr_size) != 0) {
                        rc = -1;
                } else if ((errno = pthread_create(&p->m[k].tid, NULL, run_member, &p->m[k])) != 0) {
                        snprintf(errstr, errstr_size, "cannot start scorer thread %d: %s", k,
                                 strerror(errno));
                        rc = -1;
                } else {
                        p->m[k].started = 1;
                }
        }
        if (rc != 0) sf_kafka_stop();
        for (;;) {
                pthread_mutex_lock(&p->mu);
                int started = 0;
                for (int k = 0; k < n; k++) started += p->m[k].started;
                if (p->done >= started) {
                        pthread_mutex_unlock(&p->mu);
                        break;
                }
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 50 * 1000 * 1000;
                if (until.tv_nsec >= 1000000000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&p->cond, &p->mu, &until);
                pthread_mutex_unlock(&p->mu);
                serve_reload(p);
                serve_beat(p);
        }
        for (int k = 0; k < n; k++)
                if (p->m[k].started) pthread_join(p->m[k].tid, NULL);
        return rc;
}

int sf_score_pool_run(const sf_score_pool_opts_t *o, sf_scorer_totals_t *totals, char *errstr,
                      size_t errstr_size) {
        memset(totals, 0, sizeof(*totals));
        if (o->threads < 1 || o->threads > SF_SCORE_POOL_MAX) {
                snprintf(errstr, errstr_size, "threads must be 1 to %d, not %d", SF_SCORE_POOL_MAX,
                         o->threads);
                return -1;
        }
        sf_score_pool_t p = {.o = o, .model = sf_score_reload_model(o->reload), .failed = -1};
        sf_score_instance_t slot = {.lock_fd = -1};
        const char *base = o->scorer->instance_id;
        if (o->threads > 1 && !base) {
                if (sf_score_instance_acquire(o->scorer->group, &slot, errstr, errstr_size) != 0) return -1;
                base = slot.id;
        }
        p.m = calloc((size_t)o->threads, sizeof(*p.m));
        if (!p.m) {
                sf_score_instance_release(&slot);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        pthread_mutex_init(&p.mu, NULL);
        pthread_cond_init(&p.cond, NULL);
        pthread_cond_init(&p.joined_cond, NULL);
        int rc = run_members(&p, base, errstr, errstr_size);
        sum_totals(&p, totals);
        if (rc == 0 && p.failed >= 0) {
                rc = -1;
                if (o->threads > 1)
                        snprintf(errstr, errstr_size, "thread %d: %s", p.failed, p.m[p.failed].err);
                else
                        snprintf(errstr, errstr_size, "%s", p.m[p.failed].err);
        }
        for (int k = 0; k < o->threads; k++) sf_kafka_conf_destroy(p.m[k].conf);
        pthread_cond_destroy(&p.cond);
        pthread_cond_destroy(&p.joined_cond);
        pthread_mutex_destroy(&p.mu);
        free(p.m);
        sf_score_instance_release(&slot);
        return rc;
}
