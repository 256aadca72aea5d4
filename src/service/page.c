#include "service/page.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sf_page {
        pthread_mutex_t mu;
        sf_expo_t text;
        int ready;
        char reason[200];
};

sf_page_t *sf_page_new(void) {
        sf_page_t *page = calloc(1, sizeof(*page));
        if (!page) return NULL;
        pthread_mutex_init(&page->mu, NULL);
        sf_expo_init(&page->text);
        snprintf(page->reason, sizeof(page->reason), "starting");
        return page;
}

void sf_page_destroy(sf_page_t *page) {
        if (!page) return;
        pthread_mutex_destroy(&page->mu);
        sf_expo_free(&page->text);
        free(page);
}

void sf_page_publish(sf_page_t *page, sf_expo_t *e, int ready, const char *reason) {
        sf_expo_t old;
        pthread_mutex_lock(&page->mu);
        old = page->text;
        page->text = *e;
        page->ready = ready;
        snprintf(page->reason, sizeof(page->reason), "%s", reason ? reason : "");
        pthread_mutex_unlock(&page->mu);
        sf_expo_free(&old);
        sf_expo_init(e);
}

void sf_page_metrics(void *ctx, sf_expo_t *e) {
        sf_page_t *page = ctx;
        pthread_mutex_lock(&page->mu);
        if (page->text.oom)
                e->oom = 1;
        else if (page->text.buf)
                sf_expo_printf(e, "%s", page->text.buf);
        pthread_mutex_unlock(&page->mu);
}

int sf_page_ready(void *ctx, char *reason, size_t reason_size) {
        sf_page_t *page = ctx;
        pthread_mutex_lock(&page->mu);
        int ready = page->ready;
        if (!ready) snprintf(reason, reason_size, "%s", page->reason);
        pthread_mutex_unlock(&page->mu);
        return ready;
}

void sf_page_lag(sf_expo_t *e, const char *name, const char *help, rd_kafka_t *consumer, const char *topic) {
        sf_expo_family(e, name, "gauge", help);
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (!consumer || rd_kafka_assignment(consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
                return;
        rd_kafka_position(consumer, parts);
        for (int i = 0; i < parts->cnt; i++) {
                int64_t lo, hi;
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                if (strcmp(tp->topic, topic) != 0 ||
                    rd_kafka_get_watermark_offsets(consumer, tp->topic, tp->partition, &lo, &hi) != 0 ||
                    hi < 0)
                        continue;
                int64_t pos = tp->offset >= 0 ? tp->offset : lo;
                char part[16];
                snprintf(part, sizeof(part), "%d", (int)tp->partition);
                const char *labels[] = {"topic", topic, "partition", part, NULL};
                sf_expo_u64(e, name, labels, (uint64_t)(hi > pos ? hi - pos : 0));
        }
        rd_kafka_topic_partition_list_destroy(parts);
}
