/* The producer: idempotent, acks=all, every delivery report counted and
 * every failure reported. */
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka_int.h"

/* Delivery reports are served every this many sends (and by every
 * sf_producer_poll), not after each one: a poll per message is a queue lock
 * per message. */
#define SF_PRODUCER_POLL_EVERY 256

/* A topic handle kept for the producer's life: naming the topic in each
 * rd_kafka_producev() makes librdkafka look it up and reference it again for
 * every message (a lock and a list walk each time). */
typedef struct {
        char *name;
        rd_kafka_topic_t *rkt;
} topic_t;

struct sf_producer {
        sf_kafka_client_t cl; /* first: the rd_kafka opaque */
        sf_producer_dr_fn dr;
        void *dr_ctx;
        sf_producer_stats_t stats;
        topic_t *topics; /* (ntopics) */
        int ntopics;
};

/* The handle for topic, created on first use; NULL with errstr when
 * librdkafka refuses the name or memory runs out. */
static rd_kafka_topic_t *topic_handle(sf_producer_t *p, const char *topic, char *errstr, size_t errstr_size) {
        for (int i = 0; i < p->ntopics; i++)
                if (strcmp(p->topics[i].name, topic) == 0) return p->topics[i].rkt;
        topic_t *nt = realloc(p->topics, (size_t)(p->ntopics + 1) * sizeof(*nt));
        if (!nt) {
                snprintf(errstr, errstr_size, "not sent to %s: out of memory", topic);
                return NULL;
        }
        p->topics = nt;
        char *name = strdup(topic);
        rd_kafka_topic_t *rkt = name ? rd_kafka_topic_new(p->cl.rk, topic, NULL) : NULL;
        if (!rkt) {
                snprintf(errstr, errstr_size, "not sent to %s: %s", topic,
                         name ? rd_kafka_err2str(rd_kafka_last_error()) : "out of memory");
                free(name);
                return NULL;
        }
        nt[p->ntopics++] = (topic_t){name, rkt};
        return rkt;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
        sf_producer_t *p = opaque;
        if (msg->err) {
                p->stats.failed++;
                sf_kafka_client_log(&p->cl, 3, "delivery to %s [%d] failed: %s",
                                    msg->rkt ? rd_kafka_topic_name(msg->rkt) : "?", (int)msg->partition,
                                    rd_kafka_err2str(msg->err));
        } else {
                p->stats.delivered++;
        }
        if (p->dr) p->dr(p->dr_ctx, msg, msg->_private);
}

/* Idempotence gives exactly-once per partition across retries, and
 * requires acks=all; a few ms of linger batches without visible latency.
 * murmur2_random is the Java producer's partitioner: a key lands where Java
 * clients and Kafka Streams look for it (and it hashes faster than the CRC32
 * of librdkafka's default). */
static const char *const producer_defaults[] = {
        "enable.idempotence", "true",           "acks",      "all", "linger.ms", "5",
        "partitioner",        "murmur2_random", "log_level", "4",   NULL,
};

sf_producer_t *sf_producer_new(const sf_kafka_conf_t *conf, sf_producer_dr_fn dr, void *dr_ctx, char *errstr,
                               size_t errstr_size) {
        sf_producer_t *p = calloc(1, sizeof(*p));
        rd_kafka_conf_t *c = NULL;
        char rkerr[512];
        if (!p) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        p->dr = dr;
        p->dr_ctx = dr_ctx;
        c = sf_kafka_client_conf(conf, &p->cl, producer_defaults, errstr, errstr_size);
        if (!c) goto fail;
        rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
        p->cl.rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, rkerr, sizeof(rkerr));
        if (!p->cl.rk) {
                snprintf(errstr, errstr_size, "cannot create a Kafka producer: %s", rkerr);
                rd_kafka_conf_destroy(c);
                goto fail;
        }
        /* c now belongs to the rd_kafka_t */
        if (sf_kafka_client_connect(&p->cl, conf->connect_timeout_ms, errstr, errstr_size) < 0) goto fail;
        return p;
fail:
        if (p->cl.rk) rd_kafka_destroy(p->cl.rk);
        free(p);
        return NULL;
}

/* Before each try to queue: -1 with errstr when the producer hit a fatal
 * error. */
static int check_fatal(sf_producer_t *p, const char *topic, char *errstr, size_t errstr_size) {
        if (!p->cl.fatal[0]) return 0;
        snprintf(errstr, errstr_size, "not sent to %s: %s", topic, p->cl.fatal);
        return -1;
}

/* The queue is full: the cluster is slower than us (or away). Serves
 * delivery reports, which frees room, for up to 100 ms; -1 with errstr
 * when interrupted instead. */
static int wait_for_room(sf_producer_t *p, const char *topic, char *errstr, size_t errstr_size) {
        if (!sf_kafka_running()) {
                snprintf(errstr, errstr_size, "not sent to %s: interrupted while the send queue was full",
                         topic);
                return -1;
        }
        rd_kafka_poll(p->cl.rk, 100);
        return 0;
}

int sf_producer_send(sf_producer_t *p, const char *topic, int32_t partition, const void *key, size_t key_len,
                     const void *value, size_t value_len, rd_kafka_headers_t *headers, void *msg_opaque,
                     char *errstr, size_t errstr_size) {
        rd_kafka_topic_t *rkt = topic_handle(p, topic, errstr, errstr_size);
        if (!rkt) return -1;
        for (;;) {
                if (check_fatal(p, topic, errstr, errstr_size)) return -1;
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        p->cl.rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY((void *)key, key_len),
                        RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_HEADERS(headers),
                        RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                        if (++p->stats.sent % SF_PRODUCER_POLL_EVERY == 0) rd_kafka_poll(p->cl.rk, 0);
                        return 0;
                }
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        snprintf(errstr, errstr_size, "cannot send to %s [%d]: %s", topic, (int)partition,
                                 rd_kafka_err2str(err));
                        return -1;
                }
                if (wait_for_room(p, topic, errstr, errstr_size)) return -1;
        }
}

int sf_producer_send_batch(sf_producer_t *p, const char *topic, rd_kafka_message_t *msgs, int n, int *nqueued,
                           char *errstr, size_t errstr_size) {
        *nqueued = 0;
        rd_kafka_topic_t *rkt = topic_handle(p, topic, errstr, errstr_size);
        if (!rkt) return -1;
        uint64_t sent0 = p->stats.sent;
        int done = 0, rc = 0; /* msgs[0..done) are queued */
        while (done < n) {
                if (check_fatal(p, topic, errstr, errstr_size)) {
                        rc = -1;
                        break;
                }
                int want = n - done;
                int ok = rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, msgs + done,
                                                want);
                if (ok == want) {
                        p->stats.sent += (uint64_t)want;
                        done = n;
                        break;
                }
                /* librdkafka tries every message of the batch and marks the
                 * refused ones. Once the queue is full the rest are refused
                 * too (only this thread frees room), so the queued part is a
                 * prefix and the rest is retried in order. */
                p->stats.sent += (uint64_t)ok;
                int first = done;
                while (first < n && !msgs[first].err) first++;
                int prefix = ok == first - done;
                done = first;
                rd_kafka_resp_err_t err = msgs[first].err;
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || !prefix) {
                        snprintf(errstr, errstr_size, "cannot send to %s: %s", topic, rd_kafka_err2str(err));
                        rc = -1;
                        break;
                }
                if (wait_for_room(p, topic, errstr, errstr_size)) {
                        rc = -1;
                        break;
                }
        }
        *nqueued = done;
        if (p->stats.sent / SF_PRODUCER_POLL_EVERY != sent0 / SF_PRODUCER_POLL_EVERY)
                rd_kafka_poll(p->cl.rk, 0);
        return rc;
}

int sf_producer_poll(sf_producer_t *p, int timeout_ms) {
        return rd_kafka_poll(p->cl.rk, timeout_ms);
}

uint64_t sf_producer_flush(sf_producer_t *p, int timeout_ms) {
        rd_kafka_resp_err_t err = rd_kafka_flush(p->cl.rk, timeout_ms);
        uint64_t queued = (uint64_t)rd_kafka_outq_len(p->cl.rk);
        if (err == RD_KAFKA_RESP_ERR__TIMED_OUT && queued > 0)
                sf_kafka_client_log(&p->cl, 3,
                                    "%llu message(s) still not acknowledged by Kafka at %s after %d ms",
                                    (unsigned long long)queued, p->cl.brokers, timeout_ms);
        /* outq_len also counts requests that are not messages; never
         * report more undelivered messages than were sent. */
        uint64_t pending = p->stats.sent - p->stats.delivered - p->stats.failed;
        if (queued > pending) queued = pending;
        return p->stats.failed + queued;
}

sf_producer_stats_t sf_producer_stats(const sf_producer_t *p) {
        return p->stats;
}

const char *sf_producer_fatal(const sf_producer_t *p) {
        return p->cl.fatal[0] ? p->cl.fatal : NULL;
}

rd_kafka_t *sf_producer_handle(sf_producer_t *p) {
        return p->cl.rk;
}

void sf_producer_destroy(sf_producer_t *p) {
        if (!p) return;
        for (int i = 0; i < p->ntopics; i++) {
                rd_kafka_topic_destroy(p->topics[i].rkt);
                free(p->topics[i].name);
        }
        free(p->topics);
        p->topics = NULL;
        p->ntopics = 0;
        if (sf_kafka_destroy_bounded(p->cl.rk, 0, SF_KAFKA_DESTROY_TIMEOUT_MS) != 0) {
                sf_kafka_client_log(&p->cl, 4,
                                    "the producer did not shut down within %d ms (a librdkafka 2.0 hang "
                                    "after a broker restart, fixed in 2.1); left behind",
                                    SF_KAFKA_DESTROY_TIMEOUT_MS);
                return; /* p stays allocated: it is the opaque of the handle still in use */
        }
        free(p);
}
