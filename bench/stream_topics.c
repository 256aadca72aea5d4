/* Creates or deletes the streaming benchmark's topics on an external Kafka
 * cluster (the embedded broker creates them through its control socket):
 *
 *   stream_topics BROKERS create PARTITIONS REPLICATION TOPIC...
 *   stream_topics BROKERS delete TOPIC...
 *
 * `create` waits until every topic exists; a topic that already exists is
 * an error (the benchmark names its topics afresh for every run, so an old
 * one would hold someone else's records). Exit 0, or 1 with one line per
 * failure on stderr. Run by bench/bench_stream.sh -b, not by bench/run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"

#define ADMIN_TIMEOUT_MS 30000

/* Runs the request already sent on q and reports each topic's result. */
static int results(rd_kafka_queue_t *q, int creating) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
        if (!ev) {
                fprintf(stderr, "stream_topics: no answer from the cluster in %d ms\n", ADMIN_TIMEOUT_MS);
                return 1;
        }
        int rc = 0;
        if (rd_kafka_event_error(ev)) {
                fprintf(stderr, "stream_topics: %s\n", rd_kafka_event_error_string(ev));
                rc = 1;
        } else {
                const rd_kafka_topic_result_t **res;
                size_t n;
                if (creating)
                        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
                else
                        res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
                for (size_t i = 0; i < n; i++) {
                        if (!rd_kafka_topic_result_error(res[i])) continue;
                        fprintf(stderr, "stream_topics: %s %s: %s\n", creating ? "create" : "delete",
                                rd_kafka_topic_result_name(res[i]),
                                rd_kafka_topic_result_error_string(res[i]));
                        rc = 1;
                }
        }
        rd_kafka_event_destroy(ev);
        return rc;
}

int main(int argc, char **argv) {
        char err[512];
        int creating = argc >= 6 && strcmp(argv[2], "create") == 0;
        int deleting = argc >= 4 && strcmp(argv[2], "delete") == 0;
        if (!creating && !deleting) {
                fprintf(stderr, "usage: stream_topics BROKERS create PARTITIONS REPLICATION TOPIC...\n"
                                "       stream_topics BROKERS delete TOPIC...\n");
                return 2;
        }
        int first = creating ? 5 : 3, n = argc - first;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "stream_topics: %s\n", err);
                rd_kafka_conf_destroy(conf);
                return 2;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "stream_topics: %s\n", err);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_TIMEOUT_MS, err, sizeof(err));
        int rc = 0;
        if (creating) {
                int parts = atoi(argv[3]), rf = atoi(argv[4]);
                rd_kafka_NewTopic_t **topics = calloc((size_t)n, sizeof(*topics));
                for (int i = 0; topics && i < n; i++) {
                        topics[i] = rd_kafka_NewTopic_new(argv[first + i], parts, rf, err, sizeof(err));
                        if (!topics[i]) {
                                fprintf(stderr, "stream_topics: %s: %s\n", argv[first + i], err);
                                rc = 1;
                        }
                }
                if (!topics) rc = 1;
                if (rc == 0) {
                        rd_kafka_CreateTopics(rk, topics, (size_t)n, opts, q);
                        rc = results(q, 1);
                }
                for (int i = 0; topics && i < n; i++)
                        if (topics[i]) rd_kafka_NewTopic_destroy(topics[i]);
                free(topics);
        } else {
                rd_kafka_DeleteTopic_t **topics = calloc((size_t)n, sizeof(*topics));
                for (int i = 0; topics && i < n; i++) topics[i] = rd_kafka_DeleteTopic_new(argv[first + i]);
                if (topics) {
                        rd_kafka_DeleteTopics(rk, topics, (size_t)n, opts, q);
                        rc = results(q, 0);
                        rd_kafka_DeleteTopic_destroy_array(topics, (size_t)n);
                } else {
                        rc = 1;
                }
                free(topics);
        }
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_queue_destroy(q);
        sf_kafka_destroy_bounded(rk, 0, SF_KAFKA_DESTROY_TIMEOUT_MS);
        return rc;
}
