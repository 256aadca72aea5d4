#include "youtube/youtube.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const status_names[] = {"ok", "comments_disabled", "private_or_deleted", "not_found",
                                           "failed"};

const char *sf_yt_status_str(sf_yt_status_t status) {
        if ((int)status < 0 || (size_t)status >= sizeof(status_names) / sizeof(status_names[0]))
                return "failed";
        return status_names[status];
}

int sf_yt_status_parse(const char *s) {
        for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
                if (strcmp(s, status_names[i]) == 0) return (int)i;
        return -1;
}

static int id_char(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
}

int sf_yt_valid_id(const char *s) {
        for (int i = 0; i < SF_YT_ID_LEN; i++)
                if (!id_char((unsigned char)s[i])) return 0;
        return s[SF_YT_ID_LEN] == '\0';
}

/* Copies the ID at p, which must be exactly 11 ID characters followed by
 * the end of the string or a URL delimiter. */
static int take_id(const char *p, char id[SF_YT_ID_LEN + 1]) {
        for (int i = 0; i < SF_YT_ID_LEN; i++)
                if (!id_char((unsigned char)p[i])) return -1;
        char end = p[SF_YT_ID_LEN];
        if (end != '\0' && end != '&' && end != '?' && end != '#' && end != '/') return -1;
        memcpy(id, p, SF_YT_ID_LEN);
        id[SF_YT_ID_LEN] = '\0';
        return 0;
}

void sf_yt_ref_display(const char *ref, char *out, size_t size) {
        if (size == 0) return;
        while (*ref == ' ' || *ref == '\t') ref++;
        size_t len = strlen(ref);
        /* Keys and tokens have no '/', and none is this short. */
        if (len >= SF_YT_SECRET_MIN_LEN && !strchr(ref, '/')) {
                snprintf(out, size, "a value of %zu characters (not shown: it could be a key)", len);
                return;
        }
        char url[128];
        sf_yt_redact_url(ref, url, sizeof(url));
        if (strlen(url) > 60) memcpy(url + 57, "...", 4);
        for (char *p = url; *p; p++)
                if ((unsigned char)*p < ' ' || (unsigned char)*p >= 127) *p = '?';
        snprintf(out, size, "'%s'", url);
}

int sf_yt_parse_video_ref(const char *ref, char id[SF_YT_ID_LEN + 1], char *errstr, size_t errstr_size) {
        char shown[128];
        sf_yt_ref_display(ref, shown, sizeof(shown));
        while (*ref == ' ' || *ref == '\t') ref++;
        if (!strchr(ref, '/') && !strchr(ref, '.')) {
                if (sf_yt_valid_id(ref)) {
                        memcpy(id, ref, SF_YT_ID_LEN + 1);
                        return 0;
                }
                snprintf(errstr, errstr_size,
                         "%s is not a video ID: an ID is exactly 11 characters of A-Z a-z 0-9 _ - "
                         "(this one has %zu)",
                         shown, strlen(ref));
                return -1;
        }
        const char *p = ref;
        if (strncmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncmp(p, "http://", 7) == 0)
                p += 7;
        const char *slash = strchr(p, '/');
        size_t hlen = slash ? (size_t)(slash - p) : strlen(p);
        char host[64];
        if (hlen >= sizeof(host)) goto bad_host;
        memcpy(host, p, hlen);
        host[hlen] = '\0';
        for (char *h = host; *h; h++) *h = (char)tolower((unsigned char)*h);
        const char *path = slash ? slash : "";
        if (strcmp(host, "youtu.be") == 0 || strcmp(host, "www.youtu.be") == 0) {
                if (path[0] == '/' && take_id(path + 1, id) == 0) return 0;
                goto bad_url;
        }
        if (strcmp(host, "youtube.com") != 0 && strcmp(host, "www.youtube.com") != 0 &&
            strcmp(host, "m.youtube.com") != 0 && strcmp(host, "music.youtube.com") != 0 &&
            strcmp(host, "youtube-nocookie.com") != 0 && strcmp(host, "www.youtube-nocookie.com") != 0)
                goto bad_host;
        static const char *const prefixes[] = {"/shorts/", "/embed/", "/live/", "/v/", "/e/"};
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                size_t n = strlen(prefixes[i]);
                if (strncmp(path, prefixes[i], n) == 0) {
                        if (take_id(path + n, id) == 0) return 0;
                        goto bad_url;
                }
        }
        if (strncmp(path, "/watch", 6) == 0 && (path[6] == '?' || path[6] == '/')) {
                const char *q = strchr(path, '?');
                while (q) {
                        q++;
                        if (strncmp(q, "v=", 2) == 0) {
                                if (take_id(q + 2, id) == 0) return 0;
                                goto bad_url;
                        }
                        q = strchr(q, '&');
                }
        }
bad_url:
        snprintf(errstr, errstr_size,
                 "%s has no valid video ID (expected youtube.com/watch?v=ID, youtu.be/ID or "
                 "youtube.com/shorts/ID, with an ID of 11 characters of A-Z a-z 0-9 _ -)",
                 shown);
        return -1;
bad_host:
        snprintf(errstr, errstr_size, "%s is neither a video ID nor a YouTube URL (youtube.com, youtu.be)",
                 shown);
        return -1;
}

void sf_yt_redact_url(const char *url, char *out, size_t size) {
        static const char *const secret_params[] = {"key=", "access_token=", "assertion="};
        size_t o = 0;
        if (size == 0) return;
        const char *p = url;
        while (*p && o + 1 < size) {
                int redacted = 0;
                if (p == url || p[-1] == '?' || p[-1] == '&') {
                        for (size_t i = 0; i < sizeof(secret_params) / sizeof(secret_params[0]); i++) {
                                size_t n = strlen(secret_params[i]);
                                if (strncmp(p, secret_params[i], n) != 0) continue;
                                int w = snprintf(out + o, size - o, "%sREDACTED", secret_params[i]);
                                o = (w < 0 || (size_t)w >= size - o) ? size - 1 : o + (size_t)w;
                                p += n;
                                while (*p && *p != '&' && *p != '#') p++;
                                redacted = 1;
                                break;
                        }
                }
                if (!redacted) out[o++] = *p++;
        }
        out[o] = '\0';
}

void sf_yt_scrub(char *msg, const char *secret) {
        if (!msg || !secret || !*secret) return;
        size_t n = strlen(secret);
        /* One pass, reading at r and writing at w <= r: a match is tested
         * against bytes not yet rewritten, so the marker is never rescanned
         * and the string never grows. */
        char *r = msg, *w = msg, *covered = msg; /* [run start, covered) is secret */
        size_t stars = 0;
        for (; *r; r++) {
                if (strncmp(r, secret, n) == 0 && r + n > covered) {
                        if (r > covered) stars = 0; /* a new run; an adjacent one continues */
                        covered = r + n;
                }
                if (r < covered) {
                        if (stars < 3) {
                                *w++ = '*';
                                stars++;
                        }
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

void sf_yt_scrub_jwt(char *msg) {
        if (!msg) return;
        char *r = msg, *w = msg;
        while (*r) {
                /* A JWT starts with the base64url of '{"': "eyJ". The base64url
                 * alphabet is that of video IDs. */
                if (strncmp(r, "eyJ", 3) == 0 &&
                    (r == msg || !(id_char((unsigned char)r[-1]) || r[-1] == '.'))) {
                        const char *e = r;
                        while (id_char((unsigned char)*e)) e++;
                        if (*e == '.' && e - r >= 10) {
                                while (id_char((unsigned char)*e) || *e == '.') e++;
                                memcpy(w, "***", 3);
                                w += 3;
                                r = (char *)e;
                                continue;
                        }
                }
                *w++ = *r++;
        }
        *w = '\0';
}

int sf_yt_parse_count(const json_t *v, int64_t *out, char *errstr, size_t errstr_size) {
        if (json_is_integer(v)) {
                json_int_t x = json_integer_value(v);
                if (x < 0) {
                        snprintf(errstr, errstr_size, "negative count %" JSON_INTEGER_FORMAT, x);
                        return -1;
                }
                if (x > SF_YT_MAX_COUNT) {
                        snprintf(errstr, errstr_size, "count %" JSON_INTEGER_FORMAT " is implausibly large",
                                 x);
                        return -1;
                }
                *out = (int64_t)x;
                return 0;
        }
        if (json_is_real(v)) {
                double d = json_real_value(v);
                /* jansson turns integers beyond int64 into reals. */
                if (d > (double)SF_YT_MAX_COUNT) {
                        snprintf(errstr, errstr_size, "count %.6g is implausibly large", d);
                        return -1;
                }
                if (d < 0 || d != floor(d)) {
                        snprintf(errstr, errstr_size, "count %g is not a non-negative integer", d);
                        return -1;
                }
                *out = (int64_t)d;
                return 0;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t n = json_string_length(v);
                int digits = n > 0 && n <= 19;
                /* no "+", "-", spaces, hex or exponents: the API sends plain digits */
                for (size_t i = 0; digits && i < n; i++)
                        if (s[i] < '0' || s[i] > '9') digits = 0;
                if (!digits) {
                        if (n > 19 && strspn(s, "0123456789") == n)
                                snprintf(errstr, errstr_size, "count \"%.24s...\" is implausibly large", s);
                        else
                                snprintf(errstr, errstr_size, "count \"%.40s\" is not a non-negative integer",
                                         s);
                        return -1;
                }
                errno = 0;
                unsigned long long x = strtoull(s, NULL, 10); /* 19 digits fit */
                if (errno || x > (unsigned long long)SF_YT_MAX_COUNT) {
                        snprintf(errstr, errstr_size, "count \"%s\" is implausibly large", s);
                        return -1;
                }
                *out = (int64_t)x;
                return 0;
        }
        snprintf(errstr, errstr_size, "count is %s, not a number",
                 v == NULL            ? "missing"
                 : json_is_null(v)    ? "null"
                 : json_is_boolean(v) ? "a boolean"
                 : json_is_object(v)  ? "an object"
                 : json_is_array(v)   ? "an array"
                                      : "of an unknown type");
        return -1;
}

void sf_yt_parse_api_error(const char *body, size_t len, int http_code, sf_yt_api_error_t *e) {
        memset(e, 0, sizeof(*e));
        e->code = http_code;
        json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
        json_t *err = json_object_get(root, "error");
        if (json_is_object(err)) {
                json_t *code = json_object_get(err, "code");
                if (json_is_integer(code)) e->code = (int)json_integer_value(code);
                const char *msg = json_string_value(json_object_get(err, "message"));
                if (msg) snprintf(e->message, sizeof(e->message), "%s", msg);
                json_t *errors = json_object_get(err, "errors");
                const char *reason = json_string_value(json_object_get(json_array_get(errors, 0), "reason"));
                if (!reason) {
                        /* Newer error bodies carry google.rpc.ErrorInfo in details. */
                        json_t *details = json_object_get(err, "details");
                        size_t i;
                        json_t *d;
                        json_array_foreach(details, i, d) {
                                reason = json_string_value(json_object_get(d, "reason"));
                                if (reason) break;
                        }
                }
                if (reason) snprintf(e->reason, sizeof(e->reason), "%s", reason);
        }
        /* The message is printed; keep it to one printable line. */
        for (char *p = e->message; *p; p++)
                if ((unsigned char)*p < ' ') *p = ' ';
        for (char *p = e->reason; *p; p++)
                if ((unsigned char)*p < ' ') *p = ' ';
        json_decref(root);
}

static int is_key_error(const sf_yt_api_error_t *e) {
        return strcmp(e->reason, "keyInvalid") == 0 || strcmp(e->reason, "API_KEY_INVALID") == 0 ||
               strcmp(e->reason, "keyExpired") == 0 || strstr(e->message, "API key not valid") != NULL ||
               strstr(e->message, "API key expired") != NULL;
}

sf_yt_action_t sf_yt_classify(const char *call, int http_code, const sf_yt_api_error_t *e,
                              sf_yt_status_t *status, char *why, size_t why_size) {
        const char *msg = e->message[0] ? e->message : "no message";
        const char *reason = e->reason[0] ? e->reason : "no reason";
        *status = SF_YT_STATUS_FAILED;
        if (http_code >= 200 && http_code < 300) {
                if (why_size) why[0] = '\0';
                return SF_YT_ACT_OK;
        }
        if (http_code == 403 &&
            (strcmp(e->reason, "quotaExceeded") == 0 || strcmp(e->reason, "dailyLimitExceeded") == 0)) {
                snprintf(why, why_size,
                         "quota exhausted (HTTP 403 %s): %s; the daily quota resets at midnight Pacific time",
                         e->reason, msg);
                return SF_YT_ACT_FATAL;
        }
        if (http_code == 403 && (strcmp(e->reason, "rateLimitExceeded") == 0 ||
                                 strcmp(e->reason, "userRateLimitExceeded") == 0)) {
                snprintf(why, why_size, "rate limited (HTTP 403 %s)", e->reason);
                return SF_YT_ACT_RETRY;
        }
        if (http_code == 403 && strcmp(e->reason, "commentsDisabled") == 0) {
                *status = SF_YT_STATUS_COMMENTS_DISABLED;
                snprintf(why, why_size, "comments are disabled on this video");
                return SF_YT_ACT_VIDEO;
        }
        if (http_code == 400 && is_key_error(e)) {
                snprintf(why, why_size, "the API key was refused (HTTP 400 %s): %s", reason, msg);
                return SF_YT_ACT_FATAL;
        }
        if (http_code == 401) {
                snprintf(why, why_size, "the credentials were refused (HTTP 401 %s): %s", reason, msg);
                return SF_YT_ACT_FATAL;
        }
        if (http_code == 404) {
                *status = SF_YT_STATUS_NOT_FOUND;
                snprintf(why, why_size, "video not found (HTTP 404 %s from %s)", reason, call);
                return SF_YT_ACT_VIDEO;
        }
        if (http_code == 403) {
                snprintf(why, why_size, "forbidden (HTTP 403 %s from %s): %s", reason, call, msg);
                return SF_YT_ACT_VIDEO;
        }
        if (http_code == 429 || http_code == 408 || http_code >= 500) {
                snprintf(why, why_size, "HTTP %d%s%s from %s", http_code, e->reason[0] ? " " : "", e->reason,
                         call);
                return SF_YT_ACT_RETRY;
        }
        snprintf(why, why_size, "HTTP %d %s from %s: %s", http_code, reason, call, msg);
        return SF_YT_ACT_VIDEO;
}

long sf_yt_backoff_ms(int attempt, long base_ms, long max_ms, double u) {
        if (attempt < 1) attempt = 1;
        double d = (double)base_ms;
        for (int i = 1; i < attempt && d < (double)max_ms; i++) d *= 2;
        if (d > (double)max_ms) d = (double)max_ms;
        if (u < 0) u = 0;
        if (u >= 1) u = 0.999999;
        return (long)(d / 2 + u * d / 2);
}

static json_t *load_object(const char *body, size_t len, char *errstr, size_t errstr_size) {
        json_error_t jerr;
        json_t *root = json_loadb(body ? body : "", len, JSON_DECODE_INT_AS_REAL, &jerr);
        if (!root) {
                snprintf(errstr, errstr_size, "malformed JSON (%zu bytes) at line %d column %d: %s", len,
                         jerr.line, jerr.column, jerr.text);
                return NULL;
        }
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size, "the response is JSON but not an object");
                json_decref(root);
                return NULL;
        }
        return root;
}

/* Title and like count of one videos.list item: 0, 1 when the like count
 * was rejected (errstr says why), -1 when the item is unusable. */
static int parse_video_item(json_t *item, sf_yt_video_t *video, char *errstr, size_t errstr_size) {
        json_t *title = json_object_get(json_object_get(item, "snippet"), "title");
        if (!json_is_string(title)) {
                snprintf(errstr, errstr_size, "snippet.title is %s", title ? "not a string" : "missing");
                return -1;
        }
        char *t = strdup(json_string_value(title));
        if (!t) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        free(video->title);
        video->title = t;
        video->video_likes = -1;
        json_t *likes = json_object_get(json_object_get(item, "statistics"), "likeCount");
        /* Owners can hide the like count: then it is absent, not an error. */
        if (likes) {
                char why[128];
                if (sf_yt_parse_count(likes, &video->video_likes, why, sizeof(why)) != 0) {
                        snprintf(errstr, errstr_size, "statistics.likeCount: %s", why);
                        video->video_likes = -1;
                        return 1; /* usable, with a warning */
                }
        }
        return 0;
}

int sf_yt_parse_videos(const char *body, size_t len, sf_yt_video_t *video, int *found, char *errstr,
                       size_t errstr_size) {
        int rc = -1;
        json_t *root = load_object(body, len, errstr, errstr_size);
        if (!root) return -1;
        json_t *items = json_object_get(root, "items");
        if (!items) {
                *found = 0; /* the API omits an empty list */
                rc = 0;
                goto out;
        }
        if (!json_is_array(items)) {
                snprintf(errstr, errstr_size, "\"items\" is not an array");
                goto out;
        }
        if (json_array_size(items) == 0) {
                *found = 0;
                rc = 0;
                goto out;
        }
        char why[256];
        *found = 1;
        rc = parse_video_item(json_array_get(items, 0), video, why, sizeof(why));
        if (rc < 0) *found = 0;
        if (rc != 0) snprintf(errstr, errstr_size, "items[0].%s", why);
out:
        json_decref(root);
        return rc;
}

int sf_yt_parse_videos_batch(const char *body, size_t len, sf_yt_video_t *const *videos, int n, int *found,
                             char (*warn)[SF_YT_WARN_LEN], char *errstr, size_t errstr_size) {
        for (int k = 0; k < n; k++) {
                found[k] = 0;
                warn[k][0] = '\0';
        }
        json_t *root = load_object(body, len, errstr, errstr_size);
        if (!root) return -1;
        int rc = 0;
        json_t *items = json_object_get(root, "items");
        if (items && !json_is_array(items)) {
                snprintf(errstr, errstr_size, "\"items\" is not an array");
                rc = -1;
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
                const char *id = json_string_value(json_object_get(item, "id"));
                int k = 0;
                while (id && k < n && strcmp(videos[k]->id, id) != 0) k++;
                if (!id || k == n) continue; /* not asked for: ignored */
                char why[SF_YT_WARN_LEN];
                int r = parse_video_item(item, videos[k], why, sizeof(why));
                if (r < 0) {
                        snprintf(errstr, errstr_size, "items[%zu] (%s): %s", i, id, why);
                        rc = -1;
                        break;
                }
                found[k] = 1;
                if (r == 1) snprintf(warn[k], SF_YT_WARN_LEN, "%s", why);
        }
        json_decref(root);
        return rc;
}

int sf_yt_parse_comment_page(const char *body, size_t len, sf_yt_item_fn fn, void *opaque, char *next,
                             size_t next_size, char *errstr, size_t errstr_size) {
        int rc = -1;
        if (next_size) next[0] = '\0';
        json_t *root = load_object(body, len, errstr, errstr_size);
        if (!root) return -1;
        json_t *items = json_object_get(root, "items");
        if (items && !json_is_array(items)) {
                snprintf(errstr, errstr_size, "\"items\" is not an array");
                goto out;
        }
        json_t *tok = json_object_get(root, "nextPageToken");
        if (tok && !json_is_null(tok)) {
                if (!json_is_string(tok)) {
                        snprintf(errstr, errstr_size, "\"nextPageToken\" is not a string");
                        goto out;
                }
                if (json_string_length(tok) >= next_size) {
                        snprintf(errstr, errstr_size, "\"nextPageToken\" is longer than %zu bytes",
                                 next_size - 1);
                        goto out;
                }
                snprintf(next, next_size, "%s", json_string_value(tok));
        }
        size_t i;
        json_t *item;
        rc = 0;
        json_array_foreach(items, i, item) {
                char why[320];
                json_t *id = json_object_get(item, "id");
                json_t *likes = json_object_get(
                        json_object_get(json_object_get(json_object_get(item, "snippet"), "topLevelComment"),
                                        "snippet"),
                        "likeCount");
                sf_yt_comment_t c = {0};
                if (!json_is_object(item)) {
                        snprintf(why, sizeof(why), "item is not an object");
                } else if (!json_is_string(id) || json_string_length(id) == 0 ||
                           json_string_length(id) > 200) {
                        snprintf(why, sizeof(why), "\"id\" is %s",
                                 !id ? "missing" : "not a short non-empty string");
                } else {
                        char cwhy[160];
                        if (sf_yt_parse_count(likes, &c.likes, cwhy, sizeof(cwhy)) == 0) {
                                c.id = json_string_value(id);
                                rc = fn(opaque, &c, (int)i, NULL);
                                if (rc) break;
                                continue;
                        }
                        snprintf(why, sizeof(why),
                                 "comment %.60s: snippet.topLevelComment.snippet.likeCount: %s",
                                 json_string_value(id), cwhy);
                }
                rc = fn(opaque, NULL, (int)i, why);
                if (rc) break;
        }
out:
        json_decref(root);
        return rc;
}

void sf_yt_now_rfc3339(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        char base[32];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

/* A JSON string of s with any byte outside printable ASCII replaced by
 * '?': reasons may hold a message cut in the middle of a UTF-8 sequence. */
static json_t *ascii_string(const char *s) {
        char buf[512];
        size_t n = 0;
        for (; *s && n + 1 < sizeof(buf); s++) buf[n++] = (*s >= ' ' && *s < 127) ? *s : '?';
        buf[n] = '\0';
        return json_string(buf);
}

static char *dump(json_t *obj) {
        if (!obj) return NULL;
        char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(obj);
        return s;
}

char *sf_yt_comment_record(const sf_yt_video_t *v, const char *comment_id, int64_t likes,
                           const char *fetched_at) {
        return dump(json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "type", "comment", "video_id", v->id, "title",
                              v->title ? v->title : "", "comment_id", comment_id, "likes", (json_int_t)likes,
                              "fetched_at", fetched_at));
}

char *sf_yt_video_record(const sf_yt_video_t *v, const char *fetched_at) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:s}", "type", "video", "video_id", v->id,
                              "title", v->title ? v->title : "", "status", sf_yt_status_str(v->status),
                              "comments", (json_int_t)v->comments, "likes", (json_int_t)v->likes,
                              "video_likes", v->video_likes >= 0 ? json_integer(v->video_likes) : json_null(),
                              "fetched_at", fetched_at);
        if (!o) return NULL;
        if (v->rejected && json_object_set_new(o, "rejected", json_integer(v->rejected))) {
                json_decref(o);
                return NULL;
        }
        if (v->reason[0] && json_object_set_new(o, "reason", ascii_string(v->reason))) {
                json_decref(o);
                return NULL;
        }
        return dump(o);
}
