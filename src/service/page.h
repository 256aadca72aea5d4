/* A published metrics page for a command whose metrics are cheap to render
 * in its own loop (yt-consume): the loop renders into an sf_expo_t and
 * publishes it (a buffer swap under a mutex) with its readiness; the HTTP
 * thread serves the last page published (sf_page_metrics, sf_page_ready as
 * sf_svc_opts_t callbacks). */
#ifndef SF_SERVICE_PAGE_H
#define SF_SERVICE_PAGE_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "service/expo.h"

typedef struct sf_page sf_page_t;

/* A new page: empty, not ready ("starting"). NULL when out of memory. */
sf_page_t *sf_page_new(void);
void sf_page_destroy(sf_page_t *page);

/* Takes the text of e (e is left empty) as the page, and the readiness:
 * ready 1, or 0 with a one-line reason. */
void sf_page_publish(sf_page_t *page, sf_expo_t *e, int ready, const char *reason);

/* sf_svc_opts_t callbacks; ctx is the page. */
void sf_page_metrics(void *ctx, sf_expo_t *e);
int sf_page_ready(void *ctx, char *reason, size_t reason_size);

/* Writes the gauge family `name` with one sample per assigned partition of
 * topic: high watermark - position, from the consumer's cached watermarks
 * (no request to the cluster). Partitions whose watermark is not known yet
 * are left out. */
void sf_page_lag(sf_expo_t *e, const char *name, const char *help, rd_kafka_t *consumer, const char *topic);

#endif
