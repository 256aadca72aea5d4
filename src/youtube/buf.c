#include "youtube/buf.h"

#include <stdlib.h>
#include <string.h>

void sf_yt_buf_reset(sf_yt_buf_t *b) {
        b->len = 0;
        b->truncated = 0;
        b->oom = 0;
        if (b->data) b->data[0] = '\0';
}

void sf_yt_buf_free(sf_yt_buf_t *b) {
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

size_t sf_yt_buf_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        sf_yt_buf_t *b = userdata;
        size_t n = size * nmemb;
        if (b->len + n > b->limit) {
                b->truncated = 1;
                return 0;
        }
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 16384;
                while (cap < b->len + n + 1) cap *= 2;
                char *p = realloc(b->data, cap);
                if (!p) {
                        b->oom = 1;
                        return 0;
                }
                b->data = p;
                b->cap = cap;
        }
        memcpy(b->data + b->len, ptr, n);
        b->len += n;
        b->data[b->len] = '\0';
        return n;
}
