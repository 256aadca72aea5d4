/* The consumer's changes per video: over the last minute and since the
 * start, on a clock given by the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "youtube/agg.h"

static int comment(sf_yt_agg_t *agg, const char *vid, const char *cid, long likes) {
        char rec[256], err[256];
        int changed;
        snprintf(rec, sizeof(rec),
                 "{\"type\":\"comment\",\"video_id\":\"%s\",\"title\":\"T\",\"comment_id\":\"%s\",\"likes\":%"
                 "ld}",
                 vid, cid, likes);
        return sf_yt_agg_apply(agg, vid, strlen(vid), rec, strlen(rec), &changed, err, sizeof(err));
}

static void test_changes(void) {
        sf_yt_agg_t *agg = sf_yt_agg_new();
        sf_yt_agg_change_t c;
        CHECK(comment(agg, "AAAAAAAAAAA", "a1", 10) == 0);
        CHECK(comment(agg, "AAAAAAAAAAA", "a2", 3) == 0);
        /* before the start: nothing moves */
        sf_yt_agg_change(agg, 0, 50, &c);
        CHECK(c.likes_per_min == 0 && c.likes_since_start == 0);
        sf_yt_agg_mark_start(agg, 100);
        sf_yt_agg_tick(agg, 100.5);
        CHECK(comment(agg, "AAAAAAAAAAA", "a1", 15) == 0); /* +5 */
        CHECK(comment(agg, "AAAAAAAAAAA", "a3", 2) == 0);  /* a new comment, +2 */
        sf_yt_agg_tick(agg, 101);
        sf_yt_agg_change(agg, 0, 101, &c);
        CHECK_INT(c.likes_per_min, 7);
        CHECK_INT(c.likes_since_start, 7);
        CHECK_INT(c.comments_per_min, 1);
        CHECK_INT(c.comments_since_start, 1);
        /* a re-published comment with the same count changes nothing */
        CHECK(comment(agg, "AAAAAAAAAAA", "a1", 15) == 0);
        for (int t = 102; t <= 170; t++) sf_yt_agg_tick(agg, t);
        CHECK(comment(agg, "AAAAAAAAAAA", "a2", 4) == 0); /* +1 at 170 */
        sf_yt_agg_change(agg, 0, 170, &c);
        CHECK_INT(c.likes_per_min, 1); /* the sample of 110 had 20 likes */
        CHECK_INT(c.likes_since_start, 8);
        CHECK_INT(c.comments_per_min, 0);
        CHECK_INT(c.comments_since_start, 1);
        /* a video first seen after the start starts from nothing */
        CHECK(comment(agg, "BBBBBBBBBBB", "b1", 40) == 1);
        sf_yt_agg_change(agg, 1, 171, &c);
        CHECK_INT(c.likes_per_min, 40);
        CHECK_INT(c.likes_since_start, 40);
        CHECK_INT(c.comments_since_start, 1);
        /* a long quiet time: the ring wraps, a minute later nothing moved */
        for (int t = 171; t <= 600; t++) sf_yt_agg_tick(agg, t);
        sf_yt_agg_change(agg, 0, 600, &c);
        CHECK_INT(c.likes_per_min, 0);
        CHECK_INT(c.likes_since_start, 8);
        char *j = sf_yt_agg_video_json_live(agg, 1, 600);
        CHECK(j && strstr(j, "\"likes\":40,") && strstr(j, "\"likes_per_min\":0,") &&
              strstr(j, "\"likes_since_start\":40,") && strstr(j, "\"comments_since_start\":1}"));
        free(j);
        sf_yt_agg_destroy(agg);
}

int main(void) {
        RUN(test_changes);
        return TEST_DONE();
}
