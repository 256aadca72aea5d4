/* YouTube Data API responses: one body goes to the videos.list parser, the
 * commentThreads.list parser and the error-body parser, and the error is
 * classified for every HTTP status the fetcher acts on. */
#include "harness.h"
#include "youtube/youtube.h"

typedef struct {
        int items, last_index;
} page_t;

static int on_item(void *opaque, const sf_yt_comment_t *comment, int index, const char *err) {
        page_t *page = opaque;
        FUZZ_CHECK(index > page->last_index, "item %d after item %d", index, page->last_index);
        page->last_index = index;
        page->items++;
        if (comment) {
                FUZZ_CHECK(!err, "a comment with an error");
                FUZZ_CHECK(comment->id && comment->id[0], "a comment without an ID");
                FUZZ_CHECK(comment->likes >= 0 && comment->likes <= SF_YT_MAX_COUNT, "likes %lld",
                           (long long)comment->likes);
        } else {
                FUZZ_CHECK(err && err[0], "a rejected item without a reason");
        }
        return 0;
}

static void check_line(const char *s, const char *what) {
        for (; *s; s++) FUZZ_CHECK((unsigned char)*s >= ' ', "a control byte in %s", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *body = (const char *)data;
        char err[512] = "";

        sf_yt_video_t video;
        memset(&video, 0, sizeof(video));
        video.video_likes = -2;
        int found = -1;
        int rc = sf_yt_parse_videos(body, size, &video, &found, err, sizeof(err));
        FUZZ_CHECK(rc >= -1 && rc <= 1, "parse_videos returned %d", rc);
        if (rc < 0) FUZZ_CHECK(err[0], "parse_videos failed without a message");
        if (rc >= 0 && found) {
                FUZZ_CHECK(video.title != NULL, "found a video without a title");
                FUZZ_CHECK(video.video_likes >= -1 && video.video_likes <= SF_YT_MAX_COUNT,
                           "video likes %lld", (long long)video.video_likes);
        }
        free(video.title);

        /* Page tokens up to 63 bytes here, to reach the over-long case. */
        char next[64];
        page_t page = {0, -1};
        err[0] = '\0';
        rc = sf_yt_parse_comment_page(body, size, on_item, &page, next, sizeof(next), err, sizeof(err));
        FUZZ_CHECK(rc == 0 || rc == -1, "parse_comment_page returned %d", rc);
        FUZZ_CHECK(memchr(next, '\0', sizeof(next)) != NULL, "next page token not terminated");
        if (rc < 0) FUZZ_CHECK(err[0] && page.items == 0, "failed page: '%s', %d items", err, page.items);

        static const int codes[] = {200, 400, 401, 403, 404, 408, 418, 429, 500, 503};
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                sf_yt_api_error_t e;
                sf_yt_parse_api_error(body, size, codes[i], &e);
                check_line(e.message, "error.message");
                check_line(e.reason, "error.reason");
                static const char *const calls[] = {"videos", "commentThreads"};
                for (int c = 0; c < 2; c++) {
                        sf_yt_status_t status;
                        char why[512];
                        sf_yt_action_t act =
                                sf_yt_classify(calls[c], codes[i], &e, &status, why, sizeof(why));
                        FUZZ_CHECK(act >= SF_YT_ACT_OK && act <= SF_YT_ACT_FATAL, "action %d", (int)act);
                        if (act != SF_YT_ACT_OK) check_line(why, "the explanation");
                }
        }
        return 0;
}
