/* The HTTP endpoint of a long-running command (libmicrohttpd, one thread of
 * its own):
 *   /metrics  the Prometheus text page, from the owner's metrics callback;
 *   /healthz  200 while the owner's main loop beats (sf_svc_beat) at least
 *             every stale_ms, else 503;
 *   /readyz   200 when the owner's ready callback says so, else 503 with
 *             its one-line reason.
 * The callbacks run in the server's thread: they must only read what the
 * main loop publishes under a lock of their own, never its live state. */
#ifndef SF_SERVICE_HTTP_H
#define SF_SERVICE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "service/expo.h"

typedef struct sf_svc sf_svc_t;

typedef struct sf_svc_opts {
        /* Appends the metric families to e. */
        void (*metrics)(void *ctx, sf_expo_t *e);
        /* Returns 1 when ready; else 0 with a one-line reason. */
        int (*ready)(void *ctx, char *reason, size_t reason_size);
        void *ctx;
        int64_t stale_ms; /* /healthz fails when the last beat is older (0: 5000) */
} sf_svc_opts_t;

/* Serves on addr, "HOST:PORT" or "[IPV6]:PORT" (PORT 0: any free port).
 * Returns the running server, or NULL with errstr (bad address, address in
 * use, out of memory). The opts callbacks may run as soon as this returns. */
sf_svc_t *sf_svc_start(const char *addr, const sf_svc_opts_t *opts, char *errstr, size_t errstr_size);

/* The port it listens on. */
int sf_svc_port(const sf_svc_t *svc);

/* "HOST:PORT" as given, with the port it listens on (owned by svc). */
const char *sf_svc_where(const sf_svc_t *svc);

/* The main loop is alive: called once per loop turn (an atomic store). */
void sf_svc_beat(sf_svc_t *svc);

/* The same with the moment of the beat given (sf_svc_now_ms clock): a
 * process of several loops beats at the oldest of their last beats. */
void sf_svc_beat_at(sf_svc_t *svc, int64_t ms);

/* Stops the server thread and frees svc; NULL is a no-op. After it returns
 * no callback runs. */
void sf_svc_stop(sf_svc_t *svc);

/* The health rule, apart from the clock: 1 when a beat at last_ms is recent
 * enough at now_ms, else 0 with the reason ("no heartbeat yet", "main loop
 * stalled for N ms"). last_ms 0 means no beat yet. */
int sf_svc_healthy(int64_t last_ms, int64_t now_ms, int64_t stale_ms, char *reason, size_t reason_size);

/* Monotonic milliseconds, the clock of sf_svc_beat. */
int64_t sf_svc_now_ms(void);

#endif
