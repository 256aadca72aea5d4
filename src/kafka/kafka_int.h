/* Internals shared by the files of src/kafka/ (not for other areas). */
#ifndef SF_KAFKA_INT_H
#define SF_KAFKA_INT_H

#include "kafka/kafka.h"
#include "util/util.h"

typedef struct sf_kafka_prop {
        char *name;
        char *value;
} sf_kafka_prop_t;

struct sf_kafka_conf {
        char *brokers;
        sf_kafka_prop_t *props; /* -X / -F settings, in order, validated */
        size_t nprops;
        sf_kafka_log_fn log;
        void *log_ctx;
        int connect_timeout_ms;
};

/* State every client (producer or consumer) carries; the first member of
 * sf_producer and sf_consumer, and the rd_kafka opaque. */
typedef struct sf_kafka_client sf_kafka_client_t;
struct sf_kafka_client {
        rd_kafka_t *rk;
        sf_kafka_log_fn log;
        void *log_ctx;
        char brokers[512];
        char fatal[512]; /* non-empty after a fatal error */
        int connecting;  /* during the first contact: keep errors, do not log */
        int all_down;    /* ALL_BROKERS_DOWN seen while connecting */
        char last_error[512];
        /* Consumers: called with librdkafka's "offset reset" warning. */
        void (*on_offset_reset)(sf_kafka_client_t *cl, const char *line);
};

/* True when property `name` was set on conf (-X, -F, sf_kafka_conf_set or
 * a default). */
bool sf_kafka_conf_has(const sf_kafka_conf_t *conf, const char *name);

/* Builds the librdkafka conf for a client: role defaults (name/value pairs,
 * NULL-terminated, skipped where the user set the property), the brokers,
 * then the user's properties; wires error/log callbacks to cl. Returns
 * NULL with errstr. */
rd_kafka_conf_t *sf_kafka_client_conf(const sf_kafka_conf_t *conf, sf_kafka_client_t *cl,
                                      const char *const *defaults, char *errstr, size_t errstr_size);

/* Waits (at most conf's connect timeout) until the cluster answers a
 * metadata request. Returns 0 or -1 with errstr saying what to try. */
int sf_kafka_client_connect(sf_kafka_client_t *cl, int timeout_ms, char *errstr, size_t errstr_size);

/* Reports one line through the client's log hook. */
void sf_kafka_client_log(sf_kafka_client_t *cl, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
