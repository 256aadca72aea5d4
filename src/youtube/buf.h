/* A growable byte buffer with a hard cap, for HTTP bodies: a response
 * larger than the cap is cut off and flagged, never grown without bound. */
#ifndef SF_YOUTUBE_BUF_H
#define SF_YOUTUBE_BUF_H

#include <stddef.h>

typedef struct sf_yt_buf {
        char *data; /* NUL-terminated */
        size_t len, cap;
        size_t limit;  /* hard cap on len */
        int truncated; /* 1 when data beyond limit was dropped */
        int oom;       /* 1 when an allocation failed */
} sf_yt_buf_t;

/* Empties b (keeps its memory). */
void sf_yt_buf_reset(sf_yt_buf_t *b);
/* Frees b's memory. */
void sf_yt_buf_free(sf_yt_buf_t *b);
/* curl CURLOPT_WRITEFUNCTION with a sf_yt_buf_t as userdata. Returns 0 (curl
 * then fails the transfer) when the cap is passed or memory runs out. */
size_t sf_yt_buf_write(char *ptr, size_t size, size_t nmemb, void *userdata);

#endif
