/* The YouTube Data API v3 client behind `streamflow yt-produce`: video IDs
 * and URLs, secret redaction, response parsing, and a concurrent fetcher
 * (curl multi) that walks videos.list then every commentThreads.list page of
 * each video, retrying transient failures with exponential backoff and
 * jitter. The fetcher reports through callbacks and never prints. */
#ifndef SF_YOUTUBE_H
#define SF_YOUTUBE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "youtube/auth.h"

#define SF_YT_ID_LEN           11
#define SF_YT_MAX_VIDEOS       5
#define SF_YT_DEFAULT_API_BASE "https://www.googleapis.com/youtube/v3"
/* Like counts above this (10^15) are rejected as implausible. Responses are
 * parsed with integers as doubles, so that one huge number rejects its item
 * rather than the whole page; below 2^53 a double is exact, and sums of
 * many such counts stay far from int64 overflow. */
#define SF_YT_MAX_COUNT 1000000000000000LL

/* What became of one video; the strings are the `status` on topic_yt. */
typedef enum {
        SF_YT_STATUS_OK,
        SF_YT_STATUS_COMMENTS_DISABLED,
        SF_YT_STATUS_PRIVATE_OR_DELETED,
        SF_YT_STATUS_NOT_FOUND,
        SF_YT_STATUS_FAILED,
} sf_yt_status_t;

/* "ok", "comments_disabled", "private_or_deleted", "not_found", "failed". */
const char *sf_yt_status_str(sf_yt_status_t status);
/* The status named s, or -1. */
int sf_yt_status_parse(const char *s);

/* Extracts the 11-character video ID from an ID or a youtube.com/watch?v=,
 * youtu.be/, /shorts/, /embed/, /live/ URL into id (NUL-terminated). Returns
 * 0, or -1 with a message in errstr. */
int sf_yt_parse_video_ref(const char *ref, char id[SF_YT_ID_LEN + 1], char *errstr, size_t errstr_size);
/* How a video argument may be quoted in a message, into out: "'ref'" when
 * it cannot be a key (shorter than any key, or a URL: then with key=,
 * access_token= and assertion= values redacted, cut at 60 characters),
 * else only its length. */
void sf_yt_ref_display(const char *ref, char *out, size_t size);
/* 1 if s is exactly 11 characters of [A-Za-z0-9_-]. */
int sf_yt_valid_id(const char *s);

/* Copies url into out with the values of key=, access_token= and
 * assertion= parameters replaced by "REDACTED"; truncates to size. */
void sf_yt_redact_url(const char *url, char *out, size_t size);
/* Removes every occurrence of secret (if non-empty) from the NUL-terminated
 * msg, in place: each run of bytes covered by occurrences (overlapping ones
 * included) becomes "***", or one '*' per byte when the run is shorter.
 * msg never grows and the marker is never scanned again, so any secret,
 * even "*" or "***", is safe in a buffer filled to its last byte. */
void sf_yt_scrub(char *msg, const char *secret);
/* Replaces every JWT-shaped string in msg (base64url "eyJ..." of at least
 * 10 characters, a '.', then base64url and dots: also one cut short) by
 * "***", in place; msg never grows. */
void sf_yt_scrub_jwt(char *msg);

/* Parses a count that the API sends as a JSON integer or as a decimal
 * string ("123"). Rejects negatives, non-integers, non-numeric strings and
 * values above SF_YT_MAX_COUNT. Returns 0, or -1 with errstr set. */
int sf_yt_parse_count(const json_t *v, int64_t *out, char *errstr, size_t errstr_size);

/* An API error body: {"error":{"code":403,"message":"...","errors":[{"reason":"..."}]}}. */
typedef struct sf_yt_api_error {
        int code;
        char reason[64];   /* first errors[].reason, or details[].reason, or "" */
        char message[256]; /* error.message, or "" */
} sf_yt_api_error_t;

/* Fills e from an HTTP error body (any JSON or none). Never fails: missing
 * fields stay empty. */
void sf_yt_parse_api_error(const char *body, size_t len, int http_code, sf_yt_api_error_t *e);

/* What the fetcher does with a response or a transport error. */
typedef enum {
        SF_YT_ACT_OK,    /* 2xx: parse the body */
        SF_YT_ACT_RETRY, /* transient: try again after a backoff */
        SF_YT_ACT_VIDEO, /* this video ends with the status given */
        SF_YT_ACT_FATAL, /* stop every video: quota, bad key, bad token */
} sf_yt_action_t;

/* Decides what to do with an HTTP response of the given call ("videos" or
 * "commentThreads"). *status receives the video's status for SF_YT_ACT_VIDEO;
 * why receives a one-line explanation for anything but OK. */
sf_yt_action_t sf_yt_classify(const char *call, int http_code, const sf_yt_api_error_t *e,
                              sf_yt_status_t *status, char *why, size_t why_size);

/* Backoff before try number `attempt` (1 = the first retry): uniform in
 * [d/2, d] with d = base_ms * 2^(attempt-1) capped at max_ms. u in [0, 1). */
long sf_yt_backoff_ms(int attempt, long base_ms, long max_ms, double u);

/* One video as the fetcher sees it; passed to every callback. */
typedef struct sf_yt_video {
        char id[SF_YT_ID_LEN + 1];
        char *title; /* NULL until videos.list answered */
        sf_yt_status_t status;
        int64_t video_likes; /* statistics.likeCount, -1 if hidden or unknown */
        int64_t comments;    /* top-level comments accepted */
        int64_t likes;       /* sum of their like counts */
        int64_t rejected;    /* items rejected as malformed */
        int pages;           /* commentThreads pages read */
        int retries;         /* retries over all of this video's calls */
        char reason[256];    /* why it is not ok, "" when ok */
        int stopped;         /* 1 when the run was stopped before this video was done */
} sf_yt_video_t;

/* Parses a videos.list body: *found = 0 if items is empty (private or
 * deleted), else video->title and video->video_likes are set. Returns 0;
 * 1 when the video is usable but its likeCount was rejected (video_likes
 * -1, errstr says why); -1 with errstr set when the body is not the
 * expected JSON. */
int sf_yt_parse_videos(const char *body, size_t len, sf_yt_video_t *video, int *found, char *errstr,
                       size_t errstr_size);

#define SF_YT_WARN_LEN 200
/* Parses a videos.list body asked for the n videos at once (id=A,B,C):
 * found[k] = 1 and videos[k]'s title and video_likes set for each video
 * the answer lists, 0 for the others (private or deleted); warn[k] says
 * why a video's likeCount was rejected, "" when it was not. Items not
 * asked for are ignored. Returns 0, or -1 with errstr set when the body
 * or one of its items is not the expected JSON. */
int sf_yt_parse_videos_batch(const char *body, size_t len, sf_yt_video_t *const *videos, int n, int *found,
                             char (*warn)[SF_YT_WARN_LEN], char *errstr, size_t errstr_size);

/* One top-level comment of a commentThreads.list page. */
typedef struct sf_yt_comment {
        const char *id; /* points into the parsed page */
        int64_t likes;
} sf_yt_comment_t;

/* Called for each item of a page: a valid comment (err == NULL) or a
 * rejected item (comment == NULL, err says why, index is its position). */
typedef int (*sf_yt_item_fn)(void *opaque, const sf_yt_comment_t *comment, int index, const char *err);

/* Parses a commentThreads.list body, calling fn for every item in order;
 * copies nextPageToken into next (empty when last page). Returns 0, -1 with
 * errstr set when the body itself is not the expected JSON (no item is then
 * reported), or the first non-zero value fn returned. */
int sf_yt_parse_comment_page(const char *body, size_t len, sf_yt_item_fn fn, void *opaque, char *next,
                             size_t next_size, char *errstr, size_t errstr_size);

/* The fetcher's settings. */
typedef struct sf_yt_fetch_conf {
        const char *api_base; /* without trailing slash; default SF_YT_DEFAULT_API_BASE */
        long timeout_ms;      /* per request, default 30000 */
        long connect_timeout_ms;
        int max_tries;        /* per call, including the first; default 5 */
        long backoff_base_ms; /* default 500 */
        long backoff_max_ms;  /* default 30000 */
        int max_pages;        /* safety cap per video, default 10000 */
        uint64_t seed;        /* jitter; 0 picks one from the clock */
        int batch_videos;     /* 1: one videos.list call for all videos (1 unit), then the comments */
        int order_time;       /* 1: comment threads newest first (order=time) */
} sf_yt_fetch_conf_t;

#define SF_YT_LAST_PAGE 2

/* The fetcher's callbacks. Any may be NULL. Strings passed have every
 * secret already removed. */
typedef struct sf_yt_events {
        void *opaque;
        /* A valid comment of video v. Return SF_YT_LAST_PAGE to read no page
         * of v after this one, another non-zero value to stop everything. */
        int (*on_comment)(void *opaque, const sf_yt_video_t *v, const char *comment_id, int64_t likes);
        /* v is finished (status final); called once per video. */
        int (*on_video)(void *opaque, const sf_yt_video_t *v);
        /* A progress or warning line about v (retries, rejected items). */
        void (*on_note)(void *opaque, const sf_yt_video_t *v, const char *msg);
        /* Polled about every 100 ms: non-zero stops everything (SIGINT). */
        int (*should_stop)(void *opaque);
} sf_yt_events_t;

/* Totals of one run. */
typedef struct sf_yt_fetch_stats {
        long quota_units; /* API calls answered by the server: 1 unit each */
        long videos_calls, comment_calls;
        long retries;
        int fatal;          /* 1 when a quota/key/token error stopped the run */
        int quota_exceeded; /* 1 when that error was the daily quota (quotaExceeded, dailyLimitExceeded) */
        int stopped;        /* 1 when should_stop or a callback stopped it */
} sf_yt_fetch_stats_t;

/* Fetches the n videos (ids, validated) concurrently; pages of one video in
 * order. Every video ends with exactly one on_video call, unless the run
 * is stopped first (then the unfinished ones end as "failed" with the reason).
 * auth is borrowed. Returns 0 when the run completed (whatever the videos'
 * statuses), -1 with errstr set when it was stopped by a fatal error or
 * should_stop, or could not start. */
int sf_yt_fetch(const char *const *ids, int n, const sf_yt_fetch_conf_t *conf, sf_yt_auth_t *auth,
                const sf_yt_events_t *ev, sf_yt_fetch_stats_t *stats, char *errstr, size_t errstr_size);

/* Builds the JSON value of a comment record / a video summary record on
 * topic_yt. fetched_at is an RFC 3339 UTC time. Caller frees the result;
 * NULL on allocation failure. */
char *sf_yt_comment_record(const sf_yt_video_t *v, const char *comment_id, int64_t likes,
                           const char *fetched_at);
char *sf_yt_video_record(const sf_yt_video_t *v, const char *fetched_at);
/* Writes the current UTC time as "2026-01-31T12:34:56.789Z" into buf (>= 32). */
void sf_yt_now_rfc3339(char *buf, size_t size);

#endif
