/* Throughput of the YouTube path without the network: parsing a
 * 100-comment commentThreads page, building topic_yt records, and the
 * consumer's aggregation (distinct comments, latest like count), including
 * a second pass of the same messages as after a restart. One thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "youtube/agg.h"
#include "youtube/youtube.h"

static int count_item(void *opaque, const sf_yt_comment_t *c, int index, const char *err) {
        int64_t *sum = opaque;
        if (c) *sum += c->likes;
        return 0;
}

int main(void) {
        int ret = 1;
        char *page = NULL, **msgs = NULL;
        sf_yt_agg_t *agg = NULL;
        enum { NMSG = 200000, NVID = 5 };

        /* 1. one real-sized page: 100 items, like counts as numbers and strings */
        size_t cap = 1 << 20, len = 0;
        if (!(page = malloc(cap))) goto oom;
        len += (size_t)snprintf(page + len, cap - len,
                                "{\"kind\":\"youtube#commentThreadListResponse\","
                                "\"nextPageToken\":\"QURTSl9pM\",\"items\":[");
        for (int i = 0; i < 100; i++)
                len += (size_t)snprintf(
                        page + len, cap - len,
                        "%s{\"kind\":\"youtube#commentThread\",\"id\":\"Ugz%08dAaBbCcDd\",\"snippet\":{"
                        "\"videoId\":"
                        "\"dQw4w9WgXcQ\",\"topLevelComment\":{\"id\":\"Ugz%08d\",\"snippet\":{"
                        "\"textDisplay\":"
                        "\"Great video, I watched it %d times! \\u00e9\\ud83c\\udf89\",\"likeCount\":%s%d%s,"
                        "\"publishedAt\":\"2024-01-01T00:00:00Z\"}},\"totalReplyCount\":0}}",
                        i ? "," : "", i, i, i, i % 2 ? "\"" : "", i * 3, i % 2 ? "\"" : "");
        len += (size_t)snprintf(page + len, cap - len, "]}");
        char next[256], err[256];
        int64_t sum = 0;
        int pages = 2000;
        double t0 = sf_now_s();
        for (int p = 0; p < pages; p++)
                if (sf_yt_parse_comment_page(page, len, count_item, &sum, next, sizeof(next), err,
                                             sizeof(err)) != 0) {
                        fprintf(stderr, "bench_youtube: %s\n", err);
                        goto out;
                }
        double dt = sf_now_s() - t0;
        printf("parse commentThreads page (100 items, %zu bytes): %.0f pages/s, %.0f comments/s, %.1f MB/s\n",
               len, pages / dt, pages * 100 / dt, pages * (double)len / dt / 1e6);

        /* 2. building comment records */
        sf_yt_video_t v = {.id = "dQw4w9WgXcQ", .title = "Café ☕ déjà vu 🎉", .video_likes = -1};
        if (!(msgs = calloc(NMSG, sizeof(*msgs)))) goto oom;
        t0 = sf_now_s();
        for (int i = 0; i < NMSG; i++) {
                char cid[32];
                v.id[10] = (char)('A' + (i / 2) % NVID);
                snprintf(cid, sizeof(cid), "Ugz%08d", i / 2); /* every comment twice */
                if (!(msgs[i] = sf_yt_comment_record(&v, cid, i % 100, "2026-01-01T00:00:00.000Z"))) goto oom;
        }
        dt = sf_now_s() - t0;
        printf("build comment records: %.0f records/s\n", NMSG / dt);

        /* 3. aggregation, then the same messages again (a restart's replay) */
        if (!(agg = sf_yt_agg_new())) goto oom;
        for (int pass = 0; pass < 2; pass++) {
                t0 = sf_now_s();
                for (int i = 0; i < NMSG; i++) {
                        int changed;
                        char key[SF_YT_ID_LEN + 1] = "dQw4w9WgXcQ";
                        key[10] = (char)('A' + (i / 2) % NVID);
                        if (sf_yt_agg_apply(agg, key, SF_YT_ID_LEN, msgs[i], strlen(msgs[i]), &changed, err,
                                            sizeof(err)) < 0) {
                                fprintf(stderr, "bench_youtube: %s\n", err);
                                goto out;
                        }
                }
                dt = sf_now_s() - t0;
                int64_t comments = 0;
                for (size_t k = 0; k < sf_yt_agg_count(agg); k++)
                        comments += sf_yt_agg_video(agg, k)->comments;
                printf("aggregate %s: %.0f messages/s (%d videos, %lld distinct comments)\n",
                       pass ? "replay of the same messages" : "topic_yt messages", NMSG / dt, NVID,
                       (long long)comments);
        }
        ret = 0;
        goto out;
oom:
        fprintf(stderr, "bench_youtube: out of memory\n");
out:
        if (msgs)
                for (int i = 0; i < NMSG; i++) free(msgs[i]);
        free(msgs);
        free(page);
        sf_yt_agg_destroy(agg);
        return ret;
}
