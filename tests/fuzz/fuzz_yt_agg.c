/* The topic_yt aggregator over a stream of messages, one per input line:
 * "KEY<TAB>VALUE", or VALUE alone (no key). After each message the totals
 * must still add up, a refused message must leave the state as it was, and
 * every title must fit any column width exactly. */
#include <locale.h>

#include "harness.h"
#include "youtube/agg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        setlocale(LC_CTYPE, "C.UTF-8"); /* as yt-consume does, for wcwidth */
        return 0;
}

/* A fingerprint of the whole state, to see that a refused message changed nothing. */
static uint64_t fingerprint(const sf_yt_agg_t *agg) {
        uint64_t h = sf_yt_agg_count(agg) * 1000003u + sf_yt_agg_messages(agg);
        for (size_t i = 0; i < sf_yt_agg_count(agg); i++) {
                const sf_yt_agg_video_t *v = sf_yt_agg_video(agg, i);
                h = h * 31 + (uint64_t)v->likes;
                h = h * 31 + (uint64_t)v->comments;
                h = h * 31 + (uint64_t)v->video_likes;
                h = h * 31 + (uint64_t)(int64_t)v->status;
                for (const char *t = v->title; *t; t++) h = h * 31 + (unsigned char)*t;
        }
        return h;
}

static void check_video(const sf_yt_agg_video_t *v) {
        int64_t likes = 0;
        size_t used = 0;
        for (size_t k = 0; k < v->cap; k++) {
                if (!v->keys[k]) continue;
                used++;
                FUZZ_CHECK(v->vals[k] >= 0 && v->vals[k] <= SF_YT_MAX_COUNT, "like count %lld",
                           (long long)v->vals[k]);
                likes += v->vals[k];
        }
        FUZZ_CHECK(used == v->used && (int64_t)used == v->comments, "%zu keys, used %zu, comments %lld", used,
                   v->used, (long long)v->comments);
        FUZZ_CHECK(likes == v->likes, "likes %lld, the comments add up to %lld", (long long)v->likes,
                   (long long)likes);
        FUZZ_CHECK(sf_yt_valid_id(v->id), "a video with an invalid ID");
}

static void check_fit(const char *title) {
        static const int widths[] = {0, 1, 2, 5, 20};
        size_t len = strlen(title);
        for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
                int w = widths[i];
                size_t size = len + (size_t)w + 5;
                char *out = malloc(size);
                if (!out) abort();
                sf_yt_fit(out, size, title, w);
                FUZZ_CHECK(sf_yt_display_width(out) == w, "title fitted to %d columns takes %d", w,
                           sf_yt_display_width(out));
                free(out);
                /* Too small a buffer: cut short, never overrun. */
                size_t small = 1 + len % 7;
                out = malloc(small);
                if (!out) abort();
                sf_yt_fit(out, small, title, w);
                FUZZ_CHECK(strlen(out) < small, "overran a buffer of %zu", small);
                free(out);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        sf_yt_agg_t *agg = sf_yt_agg_new();
        if (!agg) abort();
        const char *p = (const char *)data, *end = p + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *stop = nl ? nl : end;
                const char *tab = memchr(p, '\t', (size_t)(stop - p));
                const char *key = tab ? p : NULL, *value = tab ? tab + 1 : p;
                size_t key_len = tab ? (size_t)(tab - p) : 0;
                uint64_t before = fingerprint(agg);
                int changed = -1;
                char err[256] = "";
                int rc = sf_yt_agg_apply(agg, key, key_len, value, (size_t)(stop - value), &changed, err,
                                         sizeof(err));
                if (rc < 0) {
                        FUZZ_CHECK(err[0], "refused without a message");
                        FUZZ_CHECK(fingerprint(agg) == before, "a refused message changed the state");
                } else {
                        FUZZ_CHECK((size_t)rc < sf_yt_agg_count(agg), "index %d of %zu", rc,
                                   sf_yt_agg_count(agg));
                        FUZZ_CHECK(changed == 0 || changed == 1, "changed %d", changed);
                        check_video(sf_yt_agg_video(agg, (size_t)rc));
                }
                p = stop + 1;
        }

        size_t n = sf_yt_agg_count(agg);
        size_t idx[8];
        size_t best = sf_yt_agg_most_liked(agg, idx, 8);
        FUZZ_CHECK(best <= n && (n == 0 || best > 0), "%zu most liked of %zu", best, n);
        for (size_t i = 0; i < n; i++) {
                const sf_yt_agg_video_t *v = sf_yt_agg_video(agg, i);
                check_video(v);
                if (best) FUZZ_CHECK(v->likes <= sf_yt_agg_video(agg, idx[0])->likes, "not the most liked");
                char *json = sf_yt_agg_video_json(v);
                FUZZ_CHECK(json != NULL, "no JSON for a video (its title is not UTF-8?)");
                free(json);
                check_fit(v->title);
        }
        sf_yt_agg_destroy(agg);
        return 0;
}
