#include "youtube/agg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

struct sf_yt_agg {
        sf_yt_agg_video_t *videos;
        size_t n, cap;
        uint64_t messages;
        int started;      /* sf_yt_agg_mark_start was called */
        double last_tick; /* the latest time given to mark_start or tick */
};

sf_yt_agg_t *sf_yt_agg_new(void) {
        return calloc(1, sizeof(sf_yt_agg_t));
}

void sf_yt_agg_destroy(sf_yt_agg_t *agg) {
        if (!agg) return;
        for (size_t i = 0; i < agg->n; i++) {
                sf_yt_agg_video_t *v = &agg->videos[i];
                for (size_t k = 0; k < v->cap; k++) free(v->keys[k]);
                free(v->keys);
                free(v->vals);
                free(v->title);
        }
        free(agg->videos);
        free(agg);
}

size_t sf_yt_agg_count(const sf_yt_agg_t *agg) {
        return agg->n;
}

const sf_yt_agg_video_t *sf_yt_agg_video(const sf_yt_agg_t *agg, size_t i) {
        return i < agg->n ? &agg->videos[i] : NULL;
}

uint64_t sf_yt_agg_messages(const sf_yt_agg_t *agg) {
        return agg->messages;
}

const char *sf_yt_agg_status_str(int status) {
        return status == SF_YT_AGG_FETCHING ? "fetching" : sf_yt_status_str((sf_yt_status_t)status);
}

static uint64_t hash(const char *s) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

/* Slot of key in v's table: where it is, or the empty slot it would take. */
static size_t slot(const sf_yt_agg_video_t *v, const char *key) {
        size_t mask = v->cap - 1, i = (size_t)hash(key) & mask;
        while (v->keys[i] && strcmp(v->keys[i], key) != 0) i = (i + 1) & mask;
        return i;
}

static int grow(sf_yt_agg_video_t *v) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        char **keys = calloc(cap, sizeof(char *));
        int64_t *vals = calloc(cap, sizeof(int64_t));
        if (!keys || !vals) {
                free(keys);
                free(vals);
                return -1;
        }
        sf_yt_agg_video_t nv = *v;
        nv.keys = keys;
        nv.vals = vals;
        nv.cap = cap;
        for (size_t i = 0; i < v->cap; i++) {
                if (!v->keys[i]) continue;
                size_t s = slot(&nv, v->keys[i]);
                keys[s] = v->keys[i];
                vals[s] = v->vals[i];
        }
        free(v->keys);
        free(v->vals);
        v->keys = keys;
        v->vals = vals;
        v->cap = cap;
        return 0;
}

static sf_yt_agg_video_t *find_or_add(sf_yt_agg_t *agg, const char *id) {
        for (size_t i = 0; i < agg->n; i++)
                if (strcmp(agg->videos[i].id, id) == 0) return &agg->videos[i];
        if (agg->n == agg->cap) {
                size_t cap = agg->cap ? agg->cap * 2 : 8;
                sf_yt_agg_video_t *p = realloc(agg->videos, cap * sizeof(*p));
                if (!p) return NULL;
                agg->videos = p;
                agg->cap = cap;
        }
        sf_yt_agg_video_t *v = &agg->videos[agg->n];
        memset(v, 0, sizeof(*v));
        memcpy(v->id, id, SF_YT_ID_LEN + 1);
        v->status = SF_YT_AGG_FETCHING;
        v->video_likes = -1;
        if (!(v->title = strdup(""))) return NULL;
        if (agg->started) {
                /* First seen after the start: it starts from nothing. */
                v->hist[0].t = agg->last_tick;
                v->nhist = 1;
        }
        agg->n++;
        return v;
}

static int set_title(sf_yt_agg_video_t *v, const char *title, int *changed) {
        if (!title || !*title || strcmp(v->title, title) == 0) return 0;
        char *t = strdup(title);
        if (!t) return -1;
        free(v->title);
        v->title = t;
        *changed = 1;
        return 0;
}

/* A record of topic_yt, checked whole before it touches the state. Its
 * strings point into the JSON it was read from. */
typedef struct record {
        const char *id;
        const char *title;      /* NULL when it has none */
        const char *comment_id; /* NULL for a video's summary */
        int64_t likes;          /* of the comment */
        int64_t video_likes;    /* of the video, -1 when hidden */
        int status;             /* of the video */
} record_t;

/* The fields of a comment record into r. Returns 0, or -1 with errstr set. */
static int parse_comment(json_t *root, record_t *r, char *errstr, size_t errstr_size) {
        char why[160];
        json_t *cid = json_object_get(root, "comment_id");
        if (!json_is_string(cid) || json_string_length(cid) == 0 || json_string_length(cid) > 200) {
                snprintf(errstr, errstr_size, "\"comment_id\" is missing or not a short non-empty string");
                return -1;
        }
        r->comment_id = json_string_value(cid);
        if (sf_yt_parse_count(json_object_get(root, "likes"), &r->likes, why, sizeof(why)) != 0) {
                snprintf(errstr, errstr_size, "\"likes\": %s", why);
                return -1;
        }
        return 0;
}

/* The fields of a video summary into r. Returns 0, or -1 with errstr set. */
static int parse_video(json_t *root, record_t *r, char *errstr, size_t errstr_size) {
        char why[160];
        const char *st = json_string_value(json_object_get(root, "status"));
        if (!st || (r->status = sf_yt_status_parse(st)) < 0) {
                snprintf(errstr, errstr_size, "\"status\" is missing or unknown");
                return -1;
        }
        json_t *vl = json_object_get(root, "video_likes");
        if (vl && !json_is_null(vl) && sf_yt_parse_count(vl, &r->video_likes, why, sizeof(why)) != 0) {
                snprintf(errstr, errstr_size, "\"video_likes\": %s", why);
                return -1;
        }
        return 0;
}

/* Reads and checks a record (key, when not NULL, must be its video ID).
 * Returns 0, or -1 with errstr set. */
static int parse_record(json_t *root, const void *key, size_t key_len, record_t *r, char *errstr,
                        size_t errstr_size) {
        *r = (record_t){.video_likes = -1};
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size, "value is not a JSON object");
                return -1;
        }
        const char *type = json_string_value(json_object_get(root, "type"));
        json_t *title = json_object_get(root, "title");
        r->id = json_string_value(json_object_get(root, "video_id"));
        if (!type || (strcmp(type, "comment") != 0 && strcmp(type, "video") != 0)) {
                snprintf(errstr, errstr_size, "\"type\" is %s, expected \"comment\" or \"video\"",
                         type ? "another string" : "missing or not a string");
                return -1;
        }
        if (!r->id || !sf_yt_valid_id(r->id)) {
                snprintf(errstr, errstr_size, "\"video_id\" is missing or not an 11-character video ID");
                return -1;
        }
        if (key && (key_len != SF_YT_ID_LEN || memcmp(key, r->id, SF_YT_ID_LEN) != 0)) {
                snprintf(errstr, errstr_size, "the key does not match \"video_id\" %s", r->id);
                return -1;
        }
        if (title && !json_is_string(title)) {
                snprintf(errstr, errstr_size, "\"title\" is not a string");
                return -1;
        }
        r->title = json_string_value(title);
        return strcmp(type, "comment") == 0 ? parse_comment(root, r, errstr, errstr_size)
                                            : parse_video(root, r, errstr, errstr_size);
}

/* Counts comment_id with its latest like count in v's totals. Returns 0,
 * or -1 when out of memory. */
static int count_comment(sf_yt_agg_video_t *v, const char *comment_id, int64_t likes, int *changed) {
        if ((v->used + 1) * 2 > v->cap && grow(v) != 0) return -1;
        size_t s = slot(v, comment_id);
        if (!v->keys[s]) {
                if (!(v->keys[s] = strdup(comment_id))) return -1;
                v->vals[s] = 0;
                v->used++;
                v->comments++;
                *changed = 1;
        }
        if (v->vals[s] != likes) {
                /* Both are <= 10^15, so even billions of them cannot overflow. */
                v->likes += likes - v->vals[s];
                v->vals[s] = likes;
                *changed = 1;
        }
        return 0;
}

/* Applies a checked record. Returns its video's index, or -1 when out of
 * memory. */
static int store(sf_yt_agg_t *agg, const record_t *r, int *changed) {
        sf_yt_agg_video_t *v = find_or_add(agg, r->id);
        if (!v || set_title(v, r->title, changed) != 0) return -1;
        if (r->comment_id) {
                if (count_comment(v, r->comment_id, r->likes, changed) != 0) return -1;
        } else {
                if (v->status != r->status || v->video_likes != r->video_likes) *changed = 1;
                v->status = r->status;
                v->video_likes = r->video_likes;
        }
        agg->messages++;
        return (int)(v - agg->videos);
}

int sf_yt_agg_apply(sf_yt_agg_t *agg, const void *key, size_t key_len, const void *value, size_t value_len,
                    int *changed, char *errstr, size_t errstr_size) {
        json_error_t jerr;
        record_t r;
        *changed = 0;
        json_t *root = value ? json_loadb(value, value_len, JSON_DECODE_INT_AS_REAL, &jerr) : NULL;
        if (!root) {
                if (value)
                        snprintf(errstr, errstr_size, "value is not JSON: %s", jerr.text);
                else
                        snprintf(errstr, errstr_size, "message has no value");
                return -1;
        }
        int rc = parse_record(root, key, key_len, &r, errstr, errstr_size);
        if (rc == 0 && (rc = store(agg, &r, changed)) < 0) snprintf(errstr, errstr_size, "out of memory");
        json_decref(root);
        return rc;
}

static void push_sample(sf_yt_agg_video_t *v, double now) {
        int at = (v->hhead + v->nhist) % SF_YT_AGG_HIST;
        if (v->nhist == SF_YT_AGG_HIST)
                v->hhead = (v->hhead + 1) % SF_YT_AGG_HIST;
        else
                v->nhist++;
        v->hist[at] = (sf_yt_agg_sample_t){now, v->likes, v->comments};
}

void sf_yt_agg_mark_start(sf_yt_agg_t *agg, double now) {
        agg->started = 1;
        agg->last_tick = now;
        for (size_t i = 0; i < agg->n; i++) {
                sf_yt_agg_video_t *v = &agg->videos[i];
                v->start_likes = v->likes;
                v->start_comments = v->comments;
                v->nhist = v->hhead = 0;
                push_sample(v, now);
        }
}

void sf_yt_agg_tick(sf_yt_agg_t *agg, double now) {
        if (!agg->started) return;
        agg->last_tick = now;
        for (size_t i = 0; i < agg->n; i++) {
                sf_yt_agg_video_t *v = &agg->videos[i];
                if (v->nhist == 0 || now - v->hist[(v->hhead + v->nhist - 1) % SF_YT_AGG_HIST].t >= 1.0)
                        push_sample(v, now);
        }
}

void sf_yt_agg_change(const sf_yt_agg_t *agg, size_t i, double now, sf_yt_agg_change_t *out) {
        memset(out, 0, sizeof(*out));
        if (!agg->started || i >= agg->n) return;
        const sf_yt_agg_video_t *v = &agg->videos[i];
        out->likes_since_start = v->likes - v->start_likes;
        out->comments_since_start = v->comments - v->start_comments;
        if (v->nhist == 0) return;
        const sf_yt_agg_sample_t *ref = &v->hist[v->hhead]; /* the oldest */
        for (int k = 0; k < v->nhist; k++) {
                const sf_yt_agg_sample_t *s = &v->hist[(v->hhead + k) % SF_YT_AGG_HIST];
                if (s->t > now - 60.0) break;
                ref = s;
        }
        out->likes_per_min = v->likes - ref->likes;
        out->comments_per_min = v->comments - ref->comments;
}

size_t sf_yt_agg_most_liked(const sf_yt_agg_t *agg, size_t *idx, size_t max) {
        int64_t best = -1;
        size_t n = 0;
        for (size_t i = 0; i < agg->n; i++)
                if (agg->videos[i].likes > best) best = agg->videos[i].likes;
        for (size_t i = 0; i < agg->n && n < max; i++)
                if (agg->videos[i].likes == best) idx[n++] = i;
        return n;
}

/* v's totals as a JSON object, or NULL when out of memory. */
static json_t *video_object(const sf_yt_agg_video_t *v) {
        return json_pack("{s:s, s:s, s:I, s:I, s:o, s:s}", "video_id", v->id, "title", v->title, "likes",
                         (json_int_t)v->likes, "comments", (json_int_t)v->comments, "video_likes",
                         v->video_likes >= 0 ? json_integer(v->video_likes) : json_null(), "status",
                         sf_yt_agg_status_str(v->status));
}

/* o as one line of compact JSON in its keys' order; takes o. */
static char *dump(json_t *o) {
        if (!o) return NULL;
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        return s;
}

char *sf_yt_agg_video_json(const sf_yt_agg_video_t *v) {
        return dump(video_object(v));
}

char *sf_yt_agg_video_json_live(const sf_yt_agg_t *agg, size_t i, double now) {
        const sf_yt_agg_video_t *v = sf_yt_agg_video(agg, i);
        if (!v) return NULL;
        sf_yt_agg_change_t c;
        sf_yt_agg_change(agg, i, now, &c);
        json_t *o = video_object(v);
        if (o &&
            (json_object_set_new(o, "likes_per_min", json_integer(c.likes_per_min)) != 0 ||
             json_object_set_new(o, "comments_per_min", json_integer(c.comments_per_min)) != 0 ||
             json_object_set_new(o, "likes_since_start", json_integer(c.likes_since_start)) != 0 ||
             json_object_set_new(o, "comments_since_start", json_integer(c.comments_since_start)) != 0)) {
                json_decref(o);
                return NULL;
        }
        return dump(o);
}

/* Decodes one UTF-8 sequence at s; returns its length (>= 1) and the code
 * point in *cp, or U+FFFD for a malformed byte (length 1). */
static int utf8_next(const unsigned char *s, unsigned *cp) {
        unsigned c = s[0];
        int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 1) {
                *cp = c;
                return 1;
        }
        if (n == 0) goto bad;
        unsigned v = c & (0x7F >> n);
        for (int i = 1; i < n; i++) {
                if ((s[i] & 0xC0) != 0x80) goto bad;
                v = (v << 6) | (s[i] & 0x3F);
        }
        if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF ||
            (v >= 0xD800 && v <= 0xDFFF))
                goto bad;
        *cp = v;
        return n;
bad:
        *cp = 0xFFFD;
        return 1;
}

static int cp_width(unsigned cp) {
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) return -1; /* shown as '?' */
        int w = wcwidth((wchar_t)cp);
        if (w < 0) return cp < 0x80 ? -1 : 1; /* unknown to this locale: assume narrow */
        return w;
}

int sf_yt_display_width(const char *s) {
        int width = 0;
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                unsigned cp;
                p += utf8_next(p, &cp);
                int w = cp_width(cp);
                width += w < 0 ? 1 : w;
        }
        return width;
}

void sf_yt_fit(char *out, size_t size, const char *s, int width) {
        size_t o = 0;
        int cols = 0;
        int total = sf_yt_display_width(s);
        int room = total > width ? width - 1 : width; /* keep a column for "…" */
        const unsigned char *p = (const unsigned char *)s;
        if (size == 0) return;
        while (*p) {
                unsigned cp;
                int n = utf8_next(p, &cp);
                int w = cp_width(cp);
                int cw = w < 0 ? 1 : w;
                if (cols + cw > room) break;
                if (w < 0 || cp == 0xFFFD) {
                        if (o + 2 > size) break;
                        out[o++] = '?';
                } else {
                        if (o + (size_t)n + 1 > size) break;
                        memcpy(out + o, p, (size_t)n);
                        o += (size_t)n;
                }
                cols += cw;
                p += n;
        }
        if (total > width && width > 0 && o + 4 <= size) {
                memcpy(out + o, "\xE2\x80\xA6", 3); /* … */
                o += 3;
                cols++;
        }
        while (cols < width && o + 2 <= size) {
                out[o++] = ' ';
                cols++;
        }
        out[o] = '\0';
}
