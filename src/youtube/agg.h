/* The running totals behind `streamflow yt-consume`, built from topic_yt
 * messages. A video's like total is the sum over its distinct comment IDs
 * of each comment's latest like count, so a redelivered message or a second
 * producer run on the same video changes nothing; videos are told apart by
 * ID, never by title. Also the terminal-width helpers that keep UTF-8
 * titles (accents, emoji) aligned in columns. */
#ifndef SF_YOUTUBE_AGG_H
#define SF_YOUTUBE_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "youtube/youtube.h"

/* status of a video whose summary record has not arrived yet */
#define SF_YT_AGG_FETCHING (-1)
/* samples of a video's totals kept for its change over the last minute */
#define SF_YT_AGG_HIST 128

typedef struct sf_yt_agg_sample {
        double t; /* the caller's clock, seconds */
        int64_t likes, comments;
} sf_yt_agg_sample_t;

typedef struct sf_yt_agg_video {
        char id[SF_YT_ID_LEN + 1];
        char *title;         /* latest title seen ("" until one arrives) */
        int status;          /* sf_yt_status_t, or SF_YT_AGG_FETCHING */
        int64_t video_likes; /* the video's own like count, -1 unknown */
        int64_t likes;       /* sum of the latest like count of each distinct comment */
        int64_t comments;    /* distinct comments */
        /* comment ID -> latest like count (open addressing) */
        char **keys;
        int64_t *vals;
        size_t cap, used;
        /* totals at sf_yt_agg_mark_start (0 for a video first seen later),
         * and a ring of samples taken by sf_yt_agg_tick */
        int64_t start_likes, start_comments;
        sf_yt_agg_sample_t hist[SF_YT_AGG_HIST];
        int nhist, hhead; /* samples kept; index of the oldest */
} sf_yt_agg_video_t;

/* How a video's totals moved. */
typedef struct sf_yt_agg_change {
        int64_t likes_per_min, comments_per_min; /* over the last minute (or since start if shorter) */
        int64_t likes_since_start, comments_since_start; /* since sf_yt_agg_mark_start */
} sf_yt_agg_change_t;

typedef struct sf_yt_agg sf_yt_agg_t;

/* An empty aggregate; NULL when out of memory. Destroy with sf_yt_agg_destroy. */
sf_yt_agg_t *sf_yt_agg_new(void);
/* Frees agg; NULL is a no-op. */
void sf_yt_agg_destroy(sf_yt_agg_t *agg);

/* Applies one topic_yt message (key = video ID, value = a comment or video
 * record). Returns the index of the video it concerns (>= 0) and sets
 * *changed when a total, title or status changed; -1 with errstr naming the
 * field when the message is malformed (the state is then unchanged). */
int sf_yt_agg_apply(sf_yt_agg_t *agg, const void *key, size_t key_len, const void *value, size_t value_len,
                    int *changed, char *errstr, size_t errstr_size);

/* Number of videos, and video i (in order of first appearance). */
size_t sf_yt_agg_count(const sf_yt_agg_t *agg);
const sf_yt_agg_video_t *sf_yt_agg_video(const sf_yt_agg_t *agg, size_t i);
/* Messages applied so far. */
uint64_t sf_yt_agg_messages(const sf_yt_agg_t *agg);

/* Writes into idx (room for max) the indices of the videos with the
 * highest like total (all of them on a tie). Returns how many. */
size_t sf_yt_agg_most_liked(const sf_yt_agg_t *agg, size_t *idx, size_t max);

/* Marks now as the start that changes are counted from: the current totals
 * become each video's baseline, and a video first seen later starts at 0. */
void sf_yt_agg_mark_start(sf_yt_agg_t *agg, double now);
/* Samples every video's totals at now (at most one sample a second per
 * video); call it regularly, e.g. on every poll. No-op before mark_start. */
void sf_yt_agg_tick(sf_yt_agg_t *agg, double now);
/* Video i's change over the last minute (its totals now minus those of the
 * newest sample at least 60 s old, or of the oldest sample when there is
 * none yet) and since the start. All 0 before mark_start. */
void sf_yt_agg_change(const sf_yt_agg_t *agg, size_t i, double now, sf_yt_agg_change_t *out);

/* "ok", ..., or "fetching" for SF_YT_AGG_FETCHING. */
const char *sf_yt_agg_status_str(int status);

/* One JSON line for video v: {"video_id","title","likes","comments",
 * "video_likes","status"}. Caller frees; NULL when out of memory. */
char *sf_yt_agg_video_json(const sf_yt_agg_video_t *v);
/* The same with the keys "likes_per_min", "comments_per_min",
 * "likes_since_start" and "comments_since_start" of sf_yt_agg_change. */
char *sf_yt_agg_video_json_live(const sf_yt_agg_t *agg, size_t i, double now);

/* Terminal columns that the UTF-8 string s takes (wide characters count 2,
 * combining marks 0, anything unprintable 1 as it is shown as '?'). Needs
 * a UTF-8 LC_CTYPE for wcwidth to know non-ASCII characters. */
int sf_yt_display_width(const char *s);

/* Writes s into out so that it takes exactly `width` columns: control
 * characters become '?', a longer string is cut with "…", a shorter one is
 * padded with spaces. Always NUL-terminates. */
void sf_yt_fit(char *out, size_t size, const char *s, int width);

#endif
