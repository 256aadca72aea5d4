/* What producers and consumers share: building the librdkafka conf, the
 * error and log callbacks, and the first-contact check. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka/kafka_int.h"

static void default_log(void *ctx, int level, const char *msg) {
        fprintf(stderr, "streamflow: kafka: %s%s\n", level <= 3 ? "error: " : "", msg);
}

void sf_kafka_client_log(sf_kafka_client_t *cl, int level, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (cl->log)
                cl->log(cl->log_ctx, level, msg);
        else
                default_log(NULL, level, msg);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        sf_kafka_client_t *cl = opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char why[400];
                rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));
                snprintf(cl->fatal, sizeof(cl->fatal), "fatal Kafka error (%s): %s", rd_kafka_err2name(orig),
                         why);
                sf_kafka_client_log(cl, 3, "%s; stopping", cl->fatal);
                sf_kafka_stop();
                return;
        }
        if (cl->connecting) {
                if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                        cl->all_down = 1;
                else
                        snprintf(cl->last_error, sizeof(cl->last_error), "%s", reason);
                return;
        }
        /* The client retries these itself; they are worth a line, not a stop. */
        sf_kafka_client_log(cl, err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? 4 : 3, "%s (%s)", reason,
                            rd_kafka_err2name(err));
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        sf_kafka_client_t *cl = rd_kafka_opaque(rk);
        if (!cl) return;
        /* Connection failures also arrive through on_error: one line is enough. */
        if (strcmp(fac, "FAIL") == 0 || strcmp(fac, "ERROR") == 0) return;
        /* One -X list serves a producer and a consumer; a property meant for
         * the other role is expected, not worth a warning. */
        if (strcmp(fac, "CONFWARN") == 0 &&
            (strstr(buf, "is a producer property") || strstr(buf, "is a consumer property")))
                return;
        if (cl->connecting && level > 3) return;
        if (cl->on_offset_reset && strcmp(fac, "OFFSET") == 0 && strstr(buf, "offset reset (at offset ")) {
                cl->on_offset_reset(cl, buf);
                return;
        }
        sf_kafka_client_log(cl, level, "%s", buf);
}

static int set(rd_kafka_conf_t *c, const char *name, const char *value, char *errstr, size_t errstr_size) {
        char rkerr[256];
        if (rd_kafka_conf_set(c, name, value, rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "Kafka property '%s' rejected: %s", name, rkerr);
                return -1;
        }
        return 0;
}

rd_kafka_conf_t *sf_kafka_client_conf(const sf_kafka_conf_t *conf, sf_kafka_client_t *cl,
                                      const char *const *defaults, char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        cl->log = conf->log;
        cl->log_ctx = conf->log_ctx;
        snprintf(cl->brokers, sizeof(cl->brokers), "%s", conf->brokers);
        if (set(c, "bootstrap.servers", conf->brokers, errstr, errstr_size) < 0) goto fail;
        if (set(c, "client.id", "streamflow", errstr, errstr_size) < 0) goto fail;
        /* Logs are served by our poll calls, in the caller's thread. */
        if (set(c, "log.queue", "true", errstr, errstr_size) < 0) goto fail;
        /* Retry a lost broker every second at most, as the Java client
         * does, rather than backing off to librdkafka's 10 s. */
        if (!sf_kafka_conf_has(conf, "reconnect.backoff.max.ms") &&
            set(c, "reconnect.backoff.max.ms", "1000", errstr, errstr_size) < 0)
                goto fail;
        for (size_t i = 0; defaults && defaults[i]; i += 2)
                if (!sf_kafka_conf_has(conf, defaults[i]) &&
                    set(c, defaults[i], defaults[i + 1], errstr, errstr_size) < 0)
                        goto fail;
        for (size_t i = 0; i < conf->nprops; i++) {
                char rkerr[256];
                if (rd_kafka_conf_set(c, conf->props[i].name, conf->props[i].value, rkerr, sizeof(rkerr)) !=
                    RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "Kafka property '%s' rejected", conf->props[i].name);
                        goto fail;
                }
        }
        rd_kafka_conf_set_error_cb(c, on_error);
        rd_kafka_conf_set_log_cb(c, on_log);
        rd_kafka_conf_set_opaque(c, cl);
        return c;
fail:
        rd_kafka_conf_destroy(c);
        return NULL;
}

int sf_kafka_client_connect(sf_kafka_client_t *cl, int timeout_ms, char *errstr, size_t errstr_size) {
        if (rd_kafka_set_log_queue(cl->rk, NULL) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                /* Not fatal: logs would then come from librdkafka's threads. */
        }
        if (timeout_ms <= 0) return 0;
        cl->connecting = 1;
        cl->all_down = 0;
        cl->last_error[0] = '\0';
        int64_t start = sf_now_ns();
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        for (;;) {
                int64_t elapsed_ms = (sf_now_ns() - start) / 1000000;
                if (elapsed_ms >= timeout_ms) break;
                int step = timeout_ms - (int)elapsed_ms;
                if (step > 500) step = 500;
                const struct rd_kafka_metadata *md = NULL;
                err = rd_kafka_metadata(cl->rk, 0, NULL, &md, step);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                        rd_kafka_metadata_destroy(md);
                        break;
                }
                rd_kafka_poll(cl->rk, 0); /* collects the connection errors */
                if (cl->fatal[0]) break;
                /* Every bootstrap broker refused, and not only once: it is
                 * not going to answer in the rest of the timeout either. */
                if (cl->all_down && (sf_now_ns() - start) / 1000000 >= 2000) break;
                if (!sf_kafka_running()) break;
        }
        cl->connecting = 0;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
        if (cl->fatal[0]) {
                snprintf(errstr, errstr_size, "%s", cl->fatal);
                return -1;
        }
        if (!sf_kafka_running()) {
                snprintf(errstr, errstr_size, "interrupted while connecting to Kafka at %s", cl->brokers);
                return -1;
        }
        snprintf(errstr, errstr_size,
                 "cannot reach Kafka at %s (%s): start a development broker with 'streamflow broker', "
                 "or point -b (or $" SF_KAFKA_BROKERS_ENV ") at your cluster",
                 cl->brokers, cl->last_error[0] ? cl->last_error : rd_kafka_err2str(err));
        return -1;
}

int sf_kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t *low, int64_t *high,
                        int timeout_ms, char *errstr, size_t errstr_size) {
        rd_kafka_resp_err_t err =
                rd_kafka_query_watermark_offsets(rk, topic, partition, low, high, timeout_ms);
        if (err) {
                snprintf(errstr, errstr_size, "cannot read the offsets of %s [%d]: %s", topic, (int)partition,
                         rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

int sf_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        int n = -1;
        if (!rkt) {
                snprintf(errstr, errstr_size, "topic '%s': %s", topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
                return -1;
        }
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        if (err) {
                snprintf(errstr, errstr_size, "no metadata for topic '%s': %s", topic, rd_kafka_err2str(err));
                goto out;
        }
        if (md->topic_cnt != 1 || md->topics[0].err) {
                snprintf(errstr, errstr_size, "topic '%s': %s", topic,
                         md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not in metadata");
                goto out;
        }
        n = md->topics[0].partition_cnt;
out:
        if (md) rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return n;
}

bool sf_kafka_topic_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > 249 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return false;
        for (size_t i = 0; i < n; i++) {
                char ch = name[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '.' || ch == '_' || ch == '-'))
                        return false;
        }
        return true;
}

/* A destroy in progress: shared by the caller, who waits, and the thread
 * that destroys; the last of them to let go frees it. */
typedef struct destroy_job {
        pthread_mutex_t lock;
        pthread_cond_t done_cond;
        rd_kafka_t *rk;
        int flags;
        int done;
        int refs;
} destroy_job_t;

static void destroy_job_release(destroy_job_t *job) {
        pthread_mutex_lock(&job->lock);
        int left = --job->refs;
        pthread_mutex_unlock(&job->lock);
        if (left > 0) return;
        pthread_cond_destroy(&job->done_cond);
        pthread_mutex_destroy(&job->lock);
        free(job);
}

static void *destroy_main(void *arg) {
        destroy_job_t *job = arg;
        rd_kafka_destroy_flags(job->rk, job->flags);
        pthread_mutex_lock(&job->lock);
        job->done = 1;
        pthread_cond_signal(&job->done_cond);
        pthread_mutex_unlock(&job->lock);
        destroy_job_release(job);
        return NULL;
}

int sf_kafka_destroy_bounded(rd_kafka_t *rk, int flags, int timeout_ms) {
        if (!rk) return 0;
        destroy_job_t *job = calloc(1, sizeof(*job));
        pthread_condattr_t ca;
        pthread_t thread;
        pthread_attr_t ta;
        if (!job) goto inline_destroy;
        if (pthread_condattr_init(&ca) != 0) goto no_thread;
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        int cond_ok = pthread_cond_init(&job->done_cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
        if (!cond_ok) goto no_thread;
        pthread_mutex_init(&job->lock, NULL);
        job->rk = rk;
        job->flags = flags;
        job->refs = 2;
        if (pthread_attr_init(&ta) != 0) goto no_attr;
        pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
        int started = pthread_create(&thread, &ta, destroy_main, job) == 0;
        pthread_attr_destroy(&ta);
        if (!started) goto no_attr;

        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&job->lock);
        while (!job->done)
                if (pthread_cond_timedwait(&job->done_cond, &job->lock, &deadline) == ETIMEDOUT) break;
        int done = job->done;
        pthread_mutex_unlock(&job->lock);
        destroy_job_release(job);
        return done ? 0 : -1;

no_attr:
        pthread_cond_destroy(&job->done_cond);
        pthread_mutex_destroy(&job->lock);
no_thread:
        free(job);
inline_destroy:
        /* No thread to spare: destroy here, unbounded, as before. */
        rd_kafka_destroy_flags(rk, flags);
        return 0;
}
