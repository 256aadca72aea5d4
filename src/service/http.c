#include "service/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sf_svc {
        struct MHD_Daemon *daemon;
        sf_svc_opts_t o;
        int port;
        char where[300];
        _Atomic int64_t beat_ms;
};

int64_t sf_svc_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        /* +1: 0 is "no beat yet", whatever the clock's origin */
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

int sf_svc_healthy(int64_t last_ms, int64_t now_ms, int64_t stale_ms, char *reason, size_t reason_size) {
        if (last_ms == 0) {
                snprintf(reason, reason_size, "the main loop has not started");
                return 0;
        }
        if (now_ms - last_ms > stale_ms) {
                snprintf(reason, reason_size, "the main loop has not run for %lld ms (limit %lld ms)",
                         (long long)(now_ms - last_ms), (long long)stale_ms);
                return 0;
        }
        snprintf(reason, reason_size, "ok");
        return 1;
}

void sf_svc_beat(sf_svc_t *svc) {
        if (svc) atomic_store_explicit(&svc->beat_ms, sf_svc_now_ms(), memory_order_relaxed);
}

void sf_svc_beat_at(sf_svc_t *svc, int64_t ms) {
        if (svc) atomic_store_explicit(&svc->beat_ms, ms, memory_order_relaxed);
}

int sf_svc_port(const sf_svc_t *svc) {
        return svc->port;
}

const char *sf_svc_where(const sf_svc_t *svc) {
        return svc->where;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                             const char *type) {
        struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        enum MHD_Result ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result reply_line(struct MHD_Connection *conn, unsigned status, const char *line) {
        size_t n = strlen(line);
        char *body = malloc(n + 2);
        if (!body) return MHD_NO;
        memcpy(body, line, n);
        body[n] = '\n';
        body[n + 1] = '\0';
        return reply(conn, status, body, n + 1, "text/plain; charset=utf-8");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        sf_svc_t *svc = cls;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return reply_line(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
        char reason[256];
        if (strcmp(url, "/metrics") == 0) {
                sf_expo_t e;
                sf_expo_init(&e);
                svc->o.metrics(svc->o.ctx, &e);
                if (e.oom || !e.buf) {
                        sf_expo_free(&e);
                        return reply_line(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
                }
                return reply(conn, MHD_HTTP_OK, e.buf, e.len, SF_EXPO_CONTENT_TYPE);
        }
        if (strcmp(url, "/healthz") == 0) {
                int64_t last = atomic_load_explicit(&svc->beat_ms, memory_order_relaxed);
                int ok = sf_svc_healthy(last, sf_svc_now_ms(), svc->o.stale_ms, reason, sizeof(reason));
                return reply_line(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, reason);
        }
        if (strcmp(url, "/readyz") == 0) {
                snprintf(reason, sizeof(reason), "ok");
                int ok = svc->o.ready(svc->o.ctx, reason, sizeof(reason));
                return reply_line(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, reason);
        }
        return reply_line(conn, MHD_HTTP_NOT_FOUND, "not found; try /metrics, /healthz or /readyz");
}

/* "HOST:PORT" or "[V6]:PORT" -> a socket address. Returns 0 or -1. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, char *errstr, size_t errstr_size) {
        char host[256];
        const char *colon = strrchr(addr, ':');
        if (!colon || colon == addr || !colon[1]) {
                snprintf(errstr, errstr_size, "'%s' is not HOST:PORT (e.g. 127.0.0.1:9464, 0.0.0.0:0)", addr);
                return -1;
        }
        const char *h = addr;
        size_t hl = (size_t)(colon - addr);
        if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') h++, hl -= 2;
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || port < 0 || port > 65535 || hl == 0 || hl >= sizeof(host)) {
                snprintf(errstr, errstr_size, "'%s' is not HOST:PORT with a port from 0 to 65535", addr);
                return -1;
        }
        memcpy(host, h, hl);
        host[hl] = '\0';
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        int gr = getaddrinfo(host, NULL, &hints, &res);
        if (gr != 0 || !res) {
                snprintf(errstr, errstr_size, "cannot resolve '%s': %s", host, gai_strerror(gr));
                return -1;
        }
        memset(ss, 0, sizeof(*ss));
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
        if (ss->ss_family == AF_INET6)
                ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
        else
                ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
        return 0;
}

sf_svc_t *sf_svc_start(const char *addr, const sf_svc_opts_t *opts, char *errstr, size_t errstr_size) {
        struct sockaddr_storage ss;
        if (parse_addr(addr, &ss, errstr, errstr_size) != 0) return NULL;
        sf_svc_t *svc = calloc(1, sizeof(*svc));
        if (!svc) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        svc->o = *opts;
        if (svc->o.stale_ms <= 0) svc->o.stale_ms = 5000;
        atomic_init(&svc->beat_ms, 0);
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
        if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
        /* A scrape is small: a few connections, each dropped after 10 s idle. */
        svc->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, svc, MHD_OPTION_SOCK_ADDR,
                                       (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16u,
                                       MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
        if (!svc->daemon) {
                snprintf(errstr, errstr_size,
                         "cannot serve HTTP on %s (address in use, or not an address of this machine?)",
                         addr);
                free(svc);
                return NULL;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(svc->daemon, MHD_DAEMON_INFO_BIND_PORT);
        svc->port = info ? info->port : 0;
        const char *colon = strrchr(addr, ':');
        snprintf(svc->where, sizeof(svc->where), "%.*s:%d", (int)(colon - addr), addr, svc->port);
        return svc;
}

void sf_svc_stop(sf_svc_t *svc) {
        if (!svc) return;
        MHD_stop_daemon(svc->daemon);
        free(svc);
}
