#include <locale.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "util/util.h"
#include "youtube/agg.h"
#include "youtube/auth.h"
#include "youtube/youtube.h"

static void test_video_refs(void) {
        static const struct {
                const char *in, *id; /* id NULL: rejected */
        } cases[] = {
                {"dQw4w9WgXcQ", "dQw4w9WgXcQ"},
                {"  dQw4w9WgXcQ", "dQw4w9WgXcQ"},
                {"https://www.youtube.com/watch?v=dQw4w9WgXcQ", "dQw4w9WgXcQ"},
                {"https://www.youtube.com/watch?feature=share&v=a-b_c1234XY&t=42", "a-b_c1234XY"},
                {"http://youtube.com/watch?v=dQw4w9WgXcQ#t=1", "dQw4w9WgXcQ"},
                {"https://m.youtube.com/watch?v=dQw4w9WgXcQ", "dQw4w9WgXcQ"},
                {"https://youtu.be/dQw4w9WgXcQ", "dQw4w9WgXcQ"},
                {"https://youtu.be/dQw4w9WgXcQ?si=abc", "dQw4w9WgXcQ"},
                {"youtu.be/dQw4w9WgXcQ", "dQw4w9WgXcQ"},
                {"https://www.youtube.com/shorts/abcdefghijk", "abcdefghijk"},
                {"https://YouTube.com/shorts/abcdefghijk?feature=share", "abcdefghijk"},
                {"https://www.youtube.com/embed/abcdefghijk", "abcdefghijk"},
                {"", NULL},
                {"dQw4w9WgXc", NULL},   /* 10 characters */
                {"dQw4w9WgXcQQ", NULL}, /* 12 */
                {"dQw4w9WgX!Q", NULL},
                {"https://www.youtube.com/watch?v=short", NULL},
                {"https://www.youtube.com/watch?v=dQw4w9WgXcQQ", NULL},
                {"https://www.youtube.com/watch?list=PL123", NULL},
                {"https://vimeo.com/12345678901", NULL},
                {"https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ", NULL},
                {"https://youtu.be/", NULL},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                char id[SF_YT_ID_LEN + 1] = "", err[256] = "";
                int rc = sf_yt_parse_video_ref(cases[i].in, id, err, sizeof(err));
                if (cases[i].id) {
                        CHECK_MSG(rc == 0, "'%s' rejected: %s", cases[i].in, err);
                        CHECK_STR(id, cases[i].id);
                } else {
                        CHECK_MSG(rc == -1, "'%s' accepted as %s", cases[i].in, id);
                        CHECK(err[0] != '\0');
                }
        }
        char id[12], err[256];
        sf_yt_parse_video_ref("dQw4w9WgXc", id, err, sizeof(err));
        CHECK(strstr(err, "11 characters") != NULL);
}

static void test_redact(void) {
        char out[256];
        sf_yt_redact_url("https://h/v3/videos?part=snippet&key=AIzaSECRET&id=x", out, sizeof(out));
        CHECK_STR(out, "https://h/v3/videos?part=snippet&key=REDACTED&id=x");
        sf_yt_redact_url("https://h/t?key=AIzaSECRET", out, sizeof(out));
        CHECK_STR(out, "https://h/t?key=REDACTED");
        sf_yt_redact_url("https://h/t?monkey=1&access_token=ya29.tok#f", out, sizeof(out));
        CHECK_STR(out, "https://h/t?monkey=1&access_token=REDACTED#f");
        char small[20];
        sf_yt_redact_url("https://h/t?key=AIzaSECRETSECRET", small, sizeof(small));
        CHECK(strstr(small, "SECRET") == NULL);
        CHECK(strlen(small) < sizeof(small));

        char msg[128] = "bad key AIzaSECRET in AIzaSECRET!";
        sf_yt_scrub(msg, "AIzaSECRET");
        CHECK_STR(msg, "bad key *** in ***!");
        sf_yt_scrub(msg, "");
        sf_yt_scrub(msg, NULL);
        CHECK_STR(msg, "bad key *** in ***!");
}

/* Secrets of every awkward shape: the message never grows, every byte of
 * every (even overlapping) occurrence goes, and the scrub always ends. */
static void test_scrub(void) {
        static const struct {
                const char *msg, *secret, *want;
        } cases[] = {
                {"bad key AIzaSECRET in AIzaSECRET!", "AIzaSECRET", "bad key *** in ***!"},
                {"banana", "a", "b*n*n*"},           /* length 1 */
                {"a", "a", "*"},                     /* the whole string, length 1 */
                {"aaaa", "a", "***"},                /* a run of matches: one marker */
                {"xaby ab", "ab", "x**y **"},        /* length 2 */
                {"abab", "ab", "***"},               /* adjacent occurrences */
                {"say xyz", "xyz", "say ***"},       /* length 3 */
                {"a***b", "***", "a***b"},           /* the secret is the marker */
                {"*****", "***", "***"},             /* ... overlapping itself */
                {"k=x***y.", "x***y", "k=***."},     /* a secret holding the marker */
                {"x***y x***y", "x***y", "*** ***"}, /* ... twice */
                {"the key is SECRET", "the key is SECRET", "***"},
                {"aaaaa!", "aa", "***!"},       /* overlapping occurrences */
                {"abcabcab-", "abcab", "***-"}, /* overlapping, longer */
                {"abcab abcab", "abcab", "*** ***"},
                {"no match here", "zzz", "no match here"},
                {"", "a", ""},
                {"ab", "abc", "ab"},    /* longer than the message */
                {"xab", "xabc", "xab"}, /* a prefix at the end */
        };
        alarm(10); /* a scrub that never ends fails rather than hangs */
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                char msg[128];
                snprintf(msg, sizeof(msg), "%s", cases[i].msg);
                sf_yt_scrub(msg, cases[i].secret);
                CHECK_MSG(strcmp(msg, cases[i].want) == 0, "scrub('%s', '%s') = '%s', expected '%s'",
                          cases[i].msg, cases[i].secret, msg, cases[i].want);
        }
        /* A buffer filled to its last byte, followed by a field that must
         * not change (the layout of a video's reason in the fetcher). */
        static const char *const secrets[] = {"a", "ab", "***", "b*", "aba"};
        for (size_t k = 0; k < SF_ARRAY_SIZE(secrets); k++) {
                struct {
                        char reason[256];
                        int canary;
                } job;
                for (size_t i = 0; i < sizeof(job.reason) - 1; i++) job.reason[i] = "ab*"[i % 3];
                job.reason[sizeof(job.reason) - 1] = '\0';
                job.canary = 0x5eed;
                sf_yt_scrub(job.reason, secrets[k]);
                CHECK_MSG(job.canary == 0x5eed, "secret '%s' wrote past the buffer", secrets[k]);
                CHECK(memchr(job.reason, '\0', sizeof(job.reason)) != NULL);
                CHECK(strstr(job.reason, secrets[k]) == NULL || strcmp(secrets[k], "***") == 0);
                /* exactly sized on the heap: ASan sees any byte past it */
                size_t n = strlen("xaxbxab***ab");
                char *heap = malloc(n + 1);
                if (!heap) continue;
                memcpy(heap, "xaxbxab***ab", n + 1);
                sf_yt_scrub(heap, secrets[k]);
                CHECK(strlen(heap) <= n);
                free(heap);
        }
        char msg[32] = "unchanged";
        sf_yt_scrub(msg, "");
        sf_yt_scrub(msg, NULL);
        sf_yt_scrub(NULL, "x");
        CHECK_STR(msg, "unchanged");
        alarm(0);
}

/* JWTs (header.claims.signature, base64url, the header a JSON object) go
 * wherever they appear, also cut short. */
static void test_scrub_jwt(void) {
        static const struct {
                const char *msg, *want;
        } cases[] = {
                {"bad: eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhQGIifQ.c2lnbmF0dXJlLXNpZw end", "bad: *** end"},
                {"assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhQGIifQ.c2ln&x=1", "assertion=***&x=1"},
                {"cut eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJh", "cut ***"},
                {"eyJhbGciOiJSUzI1NiJ9.", "***"},
                {"oauth2.googleapis.com said no", "oauth2.googleapis.com said no"},
                {"keyJhbGciOiJSUzI1NiJ9.eyJpc3Mi", "keyJhbGciOiJSUzI1NiJ9.eyJpc3Mi"},
                {"eyJ alone", "eyJ alone"},
                {"", ""},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                char msg[160];
                snprintf(msg, sizeof(msg), "%s", cases[i].msg);
                sf_yt_scrub_jwt(msg);
                CHECK_MSG(strcmp(msg, cases[i].want) == 0, "scrub_jwt('%s') = '%s', expected '%s'",
                          cases[i].msg, msg, cases[i].want);
        }
}

/* A rejected video argument is shown only when it cannot be a key. */
static void test_video_ref_not_echoed(void) {
        static const char *const secrets[] = {
                "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
                "ya29.a0AfH6SMBx-standin-token_0123456789abcdef",
                "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhQGIifQ.c2lnbmF0dXJl",
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(secrets); i++) {
                char id[SF_YT_ID_LEN + 1], err[512];
                CHECK(sf_yt_parse_video_ref(secrets[i], id, err, sizeof(err)) == -1);
                char head[12];
                snprintf(head, sizeof(head), "%s", secrets[i]);
                CHECK_MSG(strstr(err, head) == NULL, "'%s' echoed: %s", secrets[i], err);
                CHECK_MSG(strstr(err, "not shown") != NULL, "%s", err);
        }
        char id[SF_YT_ID_LEN + 1], err[512];
        /* short ones and URLs are shown, URLs without their secret parameters */
        CHECK(sf_yt_parse_video_ref("dQw4w9WgXc", id, err, sizeof(err)) == -1);
        CHECK(strstr(err, "'dQw4w9WgXc'") != NULL);
        CHECK(sf_yt_parse_video_ref("https://vimeo.com/123", id, err, sizeof(err)) == -1);
        CHECK(strstr(err, "vimeo.com/123") != NULL);
        CHECK(sf_yt_parse_video_ref("https://www.youtube.com/watch?v=short&key=AIzaSyDaGmWKa4JsXZ", id, err,
                                    sizeof(err)) == -1);
        CHECK_MSG(strstr(err, "watch?v=short") && !strstr(err, "AIzaSyDaGm"), "%s", err);
}

static void test_parse_count(void) {
        static const struct {
                const char *json;
                long long want; /* -1: rejected */
        } cases[] = {
                {"0", 0},
                {"42", 42},
                {"\"42\"", 42},
                {"\"0\"", 0},
                {"1000000000000000", 1000000000000000LL},
                {"1000000000000001", -1},
                {"\"1000000000000000\"", 1000000000000000LL},
                {"\"1000000000000001\"", -1},
                {"\"18446744073709551617\"", -1},
                {"123456789012345678901234567890.0", -1},
                {"\"123456789012345678901234567890\"", -1},
                {"1e30", -1},
                {"-5", -1},
                {"\"-5\"", -1},
                {"\"12abc\"", -1},
                {"\"\"", -1},
                {"\" 12\"", -1},
                {"1.5", -1},
                {"3.0", 3},
                {"null", -1},
                {"true", -1},
                {"[1]", -1},
                {"{}", -1},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
                CHECK_MSG(v != NULL, "test JSON %s", cases[i].json);
                int64_t got = -7;
                char err[160] = "";
                int rc = sf_yt_parse_count(v, &got, err, sizeof(err));
                if (cases[i].want >= 0) {
                        CHECK_MSG(rc == 0 && got == cases[i].want, "%s -> rc %d, %lld (%s)", cases[i].json,
                                  rc, (long long)got, err);
                } else {
                        CHECK_MSG(rc == -1 && err[0], "%s accepted as %lld", cases[i].json, (long long)got);
                }
                json_decref(v);
        }
        int64_t got;
        char err[160];
        CHECK(sf_yt_parse_count(NULL, &got, err, sizeof(err)) == -1);
        CHECK(strstr(err, "missing") != NULL);
}

static void test_classify(void) {
        static const struct {
                int code;
                const char *body;
                sf_yt_action_t act;
                sf_yt_status_t status;
        } cases[] = {
                {200, "{}", SF_YT_ACT_OK, SF_YT_STATUS_FAILED},
                {403,
                 "{\"error\":{\"code\":403,\"message\":\"The video identified by the videoId parameter has "
                 "disabled comments.\",\"errors\":[{\"reason\":\"commentsDisabled\"}]}}",
                 SF_YT_ACT_VIDEO, SF_YT_STATUS_COMMENTS_DISABLED},
                {403, "{\"error\":{\"code\":403,\"errors\":[{\"reason\":\"quotaExceeded\"}]}}",
                 SF_YT_ACT_FATAL, SF_YT_STATUS_FAILED},
                {403, "{\"error\":{\"code\":403,\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}",
                 SF_YT_ACT_RETRY, SF_YT_STATUS_FAILED},
                {403, "{\"error\":{\"code\":403,\"errors\":[{\"reason\":\"forbidden\"}]}}", SF_YT_ACT_VIDEO,
                 SF_YT_STATUS_FAILED},
                {404, "{\"error\":{\"code\":404,\"errors\":[{\"reason\":\"videoNotFound\"}]}}",
                 SF_YT_ACT_VIDEO, SF_YT_STATUS_NOT_FOUND},
                {400,
                 "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\","
                 "\"errors\":[{\"reason\":\"badRequest\"}]}}",
                 SF_YT_ACT_FATAL, SF_YT_STATUS_FAILED},
                {400,
                 "{\"error\":{\"code\":400,\"message\":\"x\",\"details\":[{\"reason\":\"API_KEY_INVALID\"}]}"
                 "}",
                 SF_YT_ACT_FATAL, SF_YT_STATUS_FAILED},
                {400, "{\"error\":{\"code\":400,\"errors\":[{\"reason\":\"invalidPageToken\"}]}}",
                 SF_YT_ACT_VIDEO, SF_YT_STATUS_FAILED},
                {401, "{\"error\":{\"code\":401,\"errors\":[{\"reason\":\"authError\"}]}}", SF_YT_ACT_FATAL,
                 SF_YT_STATUS_FAILED},
                {500, "oops", SF_YT_ACT_RETRY, SF_YT_STATUS_FAILED},
                {503, "", SF_YT_ACT_RETRY, SF_YT_STATUS_FAILED},
                {429, "{", SF_YT_ACT_RETRY, SF_YT_STATUS_FAILED},
                {418, "", SF_YT_ACT_VIDEO, SF_YT_STATUS_FAILED},
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                sf_yt_api_error_t e;
                sf_yt_status_t st;
                char why[300] = "";
                sf_yt_parse_api_error(cases[i].body, strlen(cases[i].body), cases[i].code, &e);
                sf_yt_action_t act =
                        sf_yt_classify("commentThreads.list", cases[i].code, &e, &st, why, sizeof(why));
                CHECK_MSG(act == cases[i].act, "case %zu (HTTP %d): action %d, expected %d (%s)", i,
                          cases[i].code, act, cases[i].act, why);
                if (act == SF_YT_ACT_VIDEO) CHECK_MSG(st == cases[i].status, "case %zu: status %d", i, st);
                if (act != SF_YT_ACT_OK) CHECK(why[0] != '\0');
        }
        sf_yt_api_error_t e;
        const char *b = "{\"error\":{\"code\":403,\"message\":\"line1\\nline2\",\"errors\":[{\"reason\":"
                        "\"forbidden\"}]}}";
        sf_yt_parse_api_error(b, strlen(b), 403, &e);
        CHECK_STR(e.reason, "forbidden");
        CHECK_STR(e.message, "line1 line2");
}

static void test_backoff(void) {
        CHECK_INT(sf_yt_backoff_ms(1, 100, 10000, 0.0), 50);
        CHECK_INT(sf_yt_backoff_ms(1, 100, 10000, 0.999999), 99);
        CHECK_INT(sf_yt_backoff_ms(3, 100, 10000, 0.0), 200);
        CHECK_INT(sf_yt_backoff_ms(30, 100, 10000, 0.0), 5000);
        CHECK(sf_yt_backoff_ms(30, 100, 10000, 0.5) <= 10000);
        /* grows with the attempt for the same jitter */
        for (int a = 1; a < 8; a++)
                CHECK(sf_yt_backoff_ms(a + 1, 100, 100000, 0.3) > sf_yt_backoff_ms(a, 100, 100000, 0.3));
}

static void test_parse_videos(void) {
        sf_yt_video_t v = {.video_likes = -1};
        int found = -1;
        char err[256];
        const char *ok =
                "{\"items\":[{\"id\":\"abcdefghijk\",\"snippet\":{\"title\":\"Caf\\u00e9 \\ud83c\\udf89\"},"
                "\"statistics\":{\"likeCount\":\"1234\"}}]}";
        CHECK_INT(sf_yt_parse_videos(ok, strlen(ok), &v, &found, err, sizeof(err)), 0);
        CHECK_INT(found, 1);
        CHECK_STR(v.title, "Café 🎉");
        CHECK_INT(v.video_likes, 1234);
        const char *none = "{\"kind\":\"youtube#videoListResponse\",\"items\":[]}";
        CHECK_INT(sf_yt_parse_videos(none, strlen(none), &v, &found, err, sizeof(err)), 0);
        CHECK_INT(found, 0);
        const char *hidden = "{\"items\":[{\"snippet\":{\"title\":\"t\"},\"statistics\":{}}]}";
        CHECK_INT(sf_yt_parse_videos(hidden, strlen(hidden), &v, &found, err, sizeof(err)), 0);
        CHECK_INT(v.video_likes, -1);
        const char *badlikes =
                "{\"items\":[{\"snippet\":{\"title\":\"t\"},\"statistics\":{\"likeCount\":\"lots\"}}]}";
        CHECK_INT(sf_yt_parse_videos(badlikes, strlen(badlikes), &v, &found, err, sizeof(err)), 1);
        CHECK(strstr(err, "likeCount") != NULL);
        const char *bad[] = {"{\"items\":[{\"snippet\":{\"tit", "[]", "{\"items\":{}}",
                             "{\"items\":[{\"snippet\":{\"title\":5}}]}"};
        for (size_t i = 0; i < SF_ARRAY_SIZE(bad); i++)
                CHECK_MSG(sf_yt_parse_videos(bad[i], strlen(bad[i]), &v, &found, err, sizeof(err)) == -1,
                          "%s", bad[i]);
        free(v.title);
}

typedef struct {
        int ok, rejected;
        int64_t likes;
        char last_err[320];
} page_seen_t;

static int count_item(void *opaque, const sf_yt_comment_t *c, int index, const char *err) {
        page_seen_t *s = opaque;
        if (c) {
                s->ok++;
                s->likes += c->likes;
        } else {
                s->rejected++;
                snprintf(s->last_err, sizeof(s->last_err), "%s", err);
        }
        return 0;
}

#define ITEM(id, likes)                                                                                      \
        "{\"id\":\"" id "\",\"snippet\":{\"topLevelComment\":{\"snippet\":{\"likeCount\":" likes "}}}}"

static void test_parse_comment_page(void) {
        const char *page =
                "{\"nextPageToken\":\"P2\",\"items\":[" ITEM("c1", "3") "," ITEM("c2", "\"4\"") "," ITEM(
                        "c3",
                        "\"x\"") "," ITEM("c4",
                                          "-1") "," ITEM("c5",
                                                         "99999999999999999999999") ",5,"
                                                                                    "{\"snippet\":{}}," ITEM(
                                                                                            "c6", "0") "]}";
        page_seen_t s = {0};
        char next[64], err[256];
        CHECK_INT(sf_yt_parse_comment_page(page, strlen(page), count_item, &s, next, sizeof(next), err,
                                           sizeof(err)),
                  0);
        CHECK_STR(next, "P2");
        CHECK_INT(s.ok, 3);
        CHECK_INT(s.likes, 7);
        CHECK_INT(s.rejected, 5);
        const char *last = "{\"items\":[" ITEM("c1", "1") "]}";
        memset(&s, 0, sizeof(s));
        CHECK_INT(sf_yt_parse_comment_page(last, strlen(last), count_item, &s, next, sizeof(next), err,
                                           sizeof(err)),
                  0);
        CHECK_STR(next, "");
        CHECK_INT(s.ok, 1);
        /* A broken page reports no item at all, so a retry cannot double any. */
        const char *broken[] = {"{\"items\":[" ITEM("c1", "1") ",", "{\"items\":5}",
                                "{\"nextPageToken\":7,\"items\":[" ITEM("c1", "1") "]}", "\"x\""};
        for (size_t i = 0; i < SF_ARRAY_SIZE(broken); i++) {
                memset(&s, 0, sizeof(s));
                CHECK_MSG(sf_yt_parse_comment_page(broken[i], strlen(broken[i]), count_item, &s, next,
                                                   sizeof(next), err, sizeof(err)) == -1,
                          "%s", broken[i]);
                CHECK_INT(s.ok + s.rejected, 0);
        }
}

static void test_base64url(void) {
        static const struct {
                const char *in, *out;
        } cases[] = {{"", ""},        {"f", "Zg"},         {"fo", "Zm8"},
                     {"foo", "Zm9v"}, {"\xfb\xff", "-_8"}, {"\xff\xfe\xfd", "__79"}};
        for (size_t i = 0; i < SF_ARRAY_SIZE(cases); i++) {
                char *b = sf_yt_base64url((const unsigned char *)cases[i].in, strlen(cases[i].in));
                CHECK_STR(b, cases[i].out);
                free(b);
        }
}

/* base64url decode, for checking what was signed. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *out_len) {
        size_t n = len + 4;
        char *t = malloc(n + 1);
        unsigned char *out = malloc(n);
        if (!t || !out) {
                free(t);
                free(out);
                return NULL;
        }
        size_t k = 0;
        for (size_t i = 0; i < len; i++) t[k++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
        while (k % 4) t[k++] = '=';
        t[k] = '\0';
        int r = EVP_DecodeBlock(out, (unsigned char *)t, (int)k);
        free(t);
        if (r < 0) {
                free(out);
                return NULL;
        }
        size_t pad = len % 4 == 2 ? 2 : len % 4 == 3 ? 1 : 0;
        *out_len = (size_t)r - pad;
        return out;
}

static void test_jwt_sign_verify(void) {
        EVP_PKEY *key = EVP_RSA_gen(2048);
        CHECK(key != NULL);
        if (!key) return;
        BIO *bio = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
        char *pem = NULL;
        long pem_len = BIO_get_mem_data(bio, &pem);
        char *pem_z = strndup(pem, (size_t)pem_len);
        char err[256] = "";
        char *jwt = sf_yt_jwt_sign(pem_z, "kid1", "sa@p.iam.gserviceaccount.com", SF_YT_SCOPE,
                                   "https://oauth2.googleapis.com/token", 1700000000, 3600, err, sizeof(err));
        CHECK_MSG(jwt != NULL, "%s", err);
        if (jwt) {
                char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
                CHECK(dot1 && dot2);
                if (dot1 && dot2) {
                        size_t hl, cl, sl;
                        unsigned char *h = b64url_decode(jwt, (size_t)(dot1 - jwt), &hl);
                        unsigned char *c = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl);
                        unsigned char *sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sl);
                        json_t *hj = h ? json_loadb((char *)h, hl, 0, NULL) : NULL;
                        json_t *cj = c ? json_loadb((char *)c, cl, 0, NULL) : NULL;
                        CHECK_STR(json_string_value(json_object_get(hj, "alg")), "RS256");
                        CHECK_STR(json_string_value(json_object_get(hj, "kid")), "kid1");
                        CHECK_STR(json_string_value(json_object_get(cj, "iss")),
                                  "sa@p.iam.gserviceaccount.com");
                        CHECK_STR(json_string_value(json_object_get(cj, "scope")), SF_YT_SCOPE);
                        CHECK_STR(json_string_value(json_object_get(cj, "aud")),
                                  "https://oauth2.googleapis.com/token");
                        CHECK_INT(json_integer_value(json_object_get(cj, "iat")), 1700000000);
                        CHECK_INT(json_integer_value(json_object_get(cj, "exp")), 1700003600);
                        /* The signature verifies over "header.claims" with the public key... */
                        EVP_MD_CTX *md = EVP_MD_CTX_new();
                        size_t ilen = (size_t)(dot2 - jwt);
                        int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
                                 EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, ilen) == 1;
                        CHECK(ok);
                        /* ...and not over anything else. */
                        EVP_MD_CTX_reset(md);
                        jwt[3] ^= 1;
                        int bad = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
                                  EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, ilen) == 1;
                        CHECK(!bad);
                        EVP_MD_CTX_free(md);
                        json_decref(hj);
                        json_decref(cj);
                        free(h);
                        free(c);
                        free(sig);
                }
                free(jwt);
        }
        char *none = sf_yt_jwt_sign("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", NULL,
                                    "a", "s", "u", 0, 10, err, sizeof(err));
        CHECK(none == NULL);
        CHECK(strstr(err, "nope") == NULL);
        free(pem_z);
        BIO_free(bio);
        EVP_PKEY_free(key);
}

static void test_auth_key(void) {
        char err[256];
        sf_yt_auth_t *a = sf_yt_auth_new_key("AIzaTESTKEY_1-2-3456789", err, sizeof(err));
        CHECK(a != NULL);
        if (!a) return;
        CHECK(!sf_yt_auth_is_bearer(a));
        CHECK_INT(sf_yt_auth_prepare(a, err, sizeof(err)), SF_YT_AUTH_OK);
        char url[128] = "https://h/v3/videos?id=x";
        struct curl_slist *h = NULL;
        CHECK_INT(sf_yt_auth_apply(a, url, sizeof(url), &h), 0);
        CHECK_STR(url, "https://h/v3/videos?id=x&key=AIzaTESTKEY_1-2-3456789");
        CHECK(h == NULL);
        char tiny[30] = "https://h/v3/videos?id=x";
        CHECK_INT(sf_yt_auth_apply(a, tiny, sizeof(tiny), &h), -1);
        char msg[128] = "error for key AIzaTESTKEY_1-2-3456789";
        sf_yt_auth_scrub(a, msg);
        CHECK_STR(msg, "error for key ***");
        sf_yt_auth_destroy(a);
        CHECK(sf_yt_auth_new_key("", err, sizeof(err)) == NULL);
        CHECK(sf_yt_auth_new_key("bad key&x=1", err, sizeof(err)) == NULL);
        CHECK(strstr(err, "bad key") == NULL);
        /* Keys no API hands out are refused, and never quoted. */
        char long_key[300];
        memset(long_key, 'K', sizeof(long_key) - 1);
        long_key[sizeof(long_key) - 1] = '\0';
        static const char *const absurd[] = {
                "q", "qz", "***", "Qz7", "AIzaSyShort-1234567", "key with spaces 123456"};
        for (size_t i = 0; i < SF_ARRAY_SIZE(absurd); i++) {
                err[0] = '\0';
                sf_yt_auth_t *b = sf_yt_auth_new_key(absurd[i], err, sizeof(err));
                CHECK_MSG(b == NULL, "key '%s' accepted", absurd[i]);
                sf_yt_auth_destroy(b);
                CHECK(err[0] != '\0');
                CHECK_MSG(strlen(absurd[i]) < 2 || strstr(err, absurd[i]) == NULL, "'%s' echoed: %s",
                          absurd[i], err);
        }
        a = sf_yt_auth_new_key(long_key, err, sizeof(err));
        CHECK(a == NULL);
        sf_yt_auth_destroy(a);
        a = sf_yt_auth_new_key("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", err, sizeof(err));
        CHECK_MSG(a != NULL, "a real-shaped key refused: %s", err);
        sf_yt_auth_destroy(a);
        a = sf_yt_auth_new_key("AIzaSyShort-12345678", err, sizeof(err)); /* 20: the shortest */
        CHECK_MSG(a != NULL, "%s", err);
        if (a) {
                /* JWT-shaped text goes too, whatever the auth holds */
                char jmsg[160] = "token endpoint: eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhQGIifQ.c2ln end";
                sf_yt_auth_scrub(a, jmsg);
                CHECK_STR(jmsg, "token endpoint: *** end");
        }
        sf_yt_auth_destroy(a);
        sf_yt_auth_destroy(NULL);
}

static void test_auth_file_errors(void) {
        char err[512];
        CHECK(sf_yt_auth_new_service_account("/nonexistent/sa.json", err, sizeof(err)) == NULL);
        CHECK(strstr(err, "/nonexistent/sa.json") != NULL);
        char path[] = "/tmp/sf-yt-sa-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd < 0) return;
        FILE *f = fdopen(fd, "w");
        fputs("{\"type\":\"service_account\",\"client_email\":\"a@b\",\"token_uri\":\"http://127.0.0.1:1/t\","
              "\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nTOPSECRETMATERIAL\\n-----END PRIVATE "
              "KEY-----\\n\"}",
              f);
        fclose(f);
        CHECK(sf_yt_auth_new_service_account(path, err, sizeof(err)) == NULL);
        CHECK(strstr(err, "private_key") != NULL);
        CHECK(strstr(err, "TOPSECRETMATERIAL") == NULL);
        f = fopen(path, "w");
        fputs("{\"type\":\"authorized_user\"}", f);
        fclose(f);
        CHECK(sf_yt_auth_new_service_account(path, err, sizeof(err)) == NULL);
        CHECK(strstr(err, "service_account") != NULL);
        f = fopen(path, "w");
        fputs("{\"type\":\"service_account\",\"private_key\":\"k\"", f);
        fclose(f);
        CHECK(sf_yt_auth_new_service_account(path, err, sizeof(err)) == NULL);
        CHECK(strstr(err, "JSON") != NULL);
        remove(path);
}

static char *comment_msg(const char *vid, const char *title, const char *cid, const char *likes) {
        char *s = malloc(512);
        snprintf(s, 512,
                 "{\"type\":\"comment\",\"video_id\":\"%s\",\"title\":\"%s\",\"comment_id\":\"%s\",\"likes\":"
                 "%s,"
                 "\"fetched_at\":\"2026-01-01T00:00:00.000Z\"}",
                 vid, title, cid, likes);
        return s;
}

static int apply(sf_yt_agg_t *agg, const char *key, const char *value, int *changed) {
        char err[256];
        return sf_yt_agg_apply(agg, key, key ? strlen(key) : 0, value, strlen(value), changed, err,
                               sizeof(err));
}

static void test_agg_dedup(void) {
        sf_yt_agg_t *agg = sf_yt_agg_new();
        int changed;
        const char *A = "aaaaaaaaaaa", *B = "bbbbbbbbbbb";
        char *m1 = comment_msg(A, "Same", "c1", "5");
        char *m2 = comment_msg(A, "Same", "c2", "\"7\"");
        char *m1b = comment_msg(A, "Same", "c1", "9");
        char *m3 = comment_msg(B, "Same", "c1", "12");
        CHECK_INT(apply(agg, A, m1, &changed), 0);
        CHECK_INT(changed, 1);
        CHECK_INT(apply(agg, A, m2, &changed), 0);
        CHECK_INT(apply(agg, A, m1, &changed), 0); /* redelivered: no change */
        CHECK_INT(changed, 0);
        CHECK_INT(apply(agg, A, m2, &changed), 0);
        const sf_yt_agg_video_t *v = sf_yt_agg_video(agg, 0);
        CHECK_INT(v->likes, 12);
        CHECK_INT(v->comments, 2);
        CHECK_INT(v->status, SF_YT_AGG_FETCHING);
        CHECK_INT(apply(agg, A, m1b, &changed), 0); /* a later run: latest count wins */
        CHECK_INT(changed, 1);
        CHECK_INT(v->likes, 16);
        CHECK_INT(v->comments, 2);
        /* Same title, other video: kept apart, same comment ID too. */
        CHECK_INT(apply(agg, B, m3, &changed), 1);
        CHECK_INT(sf_yt_agg_count(agg), 2);
        CHECK_INT(sf_yt_agg_video(agg, 1)->likes, 12);
        CHECK_INT(sf_yt_agg_video(agg, 0)->likes, 16);
        size_t idx[4];
        CHECK_INT(sf_yt_agg_most_liked(agg, idx, 4), 1);
        CHECK_INT(idx[0], 0);
        char *m4 = comment_msg(B, "Same", "c9", "4");
        apply(agg, B, m4, &changed);
        CHECK_INT(sf_yt_agg_most_liked(agg, idx, 4), 2); /* 16 and 16: a tie lists both */
        const char *sum =
                "{\"type\":\"video\",\"video_id\":\"aaaaaaaaaaa\",\"title\":\"Same\",\"status\":\"ok\","
                "\"comments\":2,\"likes\":16,\"video_likes\":\"300\",\"fetched_at\":\"x\"}";
        CHECK_INT(apply(agg, A, sum, &changed), 0);
        CHECK_INT(changed, 1);
        CHECK_STR(sf_yt_agg_status_str(v->status), "ok");
        CHECK_INT(v->video_likes, 300);
        CHECK_INT(v->likes, 16);
        CHECK_INT(sf_yt_agg_messages(agg), 8);

        /* Many comments: the table grows and the sum stays exact. */
        int64_t want = 0;
        for (int i = 0; i < 3000; i++) {
                char cid[32], likes[32];
                snprintf(cid, sizeof(cid), "bulk%d", i);
                snprintf(likes, sizeof(likes), "%d", i % 13);
                want += i % 13;
                char *m = comment_msg("ccccccccccc", "Bulk", cid, likes);
                apply(agg, "ccccccccccc", m, &changed);
                apply(agg, "ccccccccccc", m, &changed);
                free(m);
        }
        CHECK_INT(sf_yt_agg_video(agg, 2)->likes, want);
        CHECK_INT(sf_yt_agg_video(agg, 2)->comments, 3000);
        free(m1), free(m2), free(m1b), free(m3), free(m4);
        sf_yt_agg_destroy(agg);
}

static void test_agg_rejects(void) {
        sf_yt_agg_t *agg = sf_yt_agg_new();
        int changed;
        const char *bad[] = {
                "not json",
                "[1,2]",
                "{\"type\":\"like\",\"video_id\":\"aaaaaaaaaaa\"}",
                "{\"type\":\"comment\",\"video_id\":\"short\",\"comment_id\":\"c\",\"likes\":1}",
                "{\"type\":\"comment\",\"video_id\":\"aaaaaaaaaaa\",\"likes\":1}",
                "{\"type\":\"comment\",\"video_id\":\"aaaaaaaaaaa\",\"comment_id\":\"c\",\"likes\":\"many\"}",
                "{\"type\":\"comment\",\"video_id\":\"aaaaaaaaaaa\",\"comment_id\":\"c\",\"likes\":-1}",
                "{\"type\":\"comment\",\"video_id\":\"aaaaaaaaaaa\",\"comment_id\":\"c\",\"likes\":1e300}",
                "{\"type\":\"comment\",\"video_id\":\"aaaaaaaaaaa\",\"title\":7,\"comment_id\":\"c\","
                "\"likes\":1}",
                "{\"type\":\"video\",\"video_id\":\"aaaaaaaaaaa\",\"status\":\"great\"}",
        };
        for (size_t i = 0; i < SF_ARRAY_SIZE(bad); i++) {
                char err[256] = "";
                int r = sf_yt_agg_apply(agg, "aaaaaaaaaaa", 11, bad[i], strlen(bad[i]), &changed, err,
                                        sizeof(err));
                CHECK_MSG(r == -1 && err[0], "accepted: %s", bad[i]);
        }
        CHECK_INT(sf_yt_agg_count(agg), 0);
        CHECK_INT(sf_yt_agg_messages(agg), 0);
        /* key and video_id disagree */
        char *m = comment_msg("aaaaaaaaaaa", "t", "c", "1");
        CHECK_INT(apply(agg, "bbbbbbbbbbb", m, &changed), -1);
        free(m);
        sf_yt_agg_destroy(agg);
}

static void test_records_roundtrip(void) {
        sf_yt_video_t v = {.id = "abcdefghijk",
                           .title = "Émoji 🎉 \"quoted\"",
                           .status = SF_YT_STATUS_OK,
                           .video_likes = 5,
                           .comments = 1,
                           .likes = 3};
        char *c = sf_yt_comment_record(&v, "Ugx1", 3, "2026-01-01T00:00:00.000Z");
        char *s = sf_yt_video_record(&v, "2026-01-01T00:00:00.000Z");
        CHECK(c && s);
        sf_yt_agg_t *agg = sf_yt_agg_new();
        int changed;
        char err[256] = "";
        CHECK_INT(sf_yt_agg_apply(agg, "abcdefghijk", 11, c, strlen(c), &changed, err, sizeof(err)), 0);
        CHECK_INT(sf_yt_agg_apply(agg, "abcdefghijk", 11, s, strlen(s), &changed, err, sizeof(err)), 0);
        const sf_yt_agg_video_t *a = sf_yt_agg_video(agg, 0);
        CHECK_STR(a->title, "Émoji 🎉 \"quoted\"");
        CHECK_INT(a->likes, 3);
        CHECK_INT(a->video_likes, 5);
        CHECK_STR(sf_yt_agg_status_str(a->status), "ok");
        json_t *j = json_loads(s, 0, NULL);
        CHECK_STR(json_string_value(json_object_get(j, "type")), "video");
        CHECK_INT(json_integer_value(json_object_get(j, "likes")), 3);
        json_decref(j);
        char *line = sf_yt_agg_video_json(a);
        CHECK(line && strstr(line, "\"likes\":3") != NULL);
        free(line);
        free(c);
        free(s);
        sf_yt_agg_destroy(agg);
}

static void test_display_width(void) {
        if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "C.utf8")) SKIP("no C.UTF-8 locale");
        CHECK_INT(sf_yt_display_width("abc"), 3);
        CHECK_INT(sf_yt_display_width("Café"), 4);
        CHECK_INT(sf_yt_display_width("e\xCC\x81"), 1); /* e + combining acute */
        CHECK_INT(sf_yt_display_width("日本"), 4);
        CHECK_INT(sf_yt_display_width("🎉"), 2);
        CHECK_INT(sf_yt_display_width("a\tb"), 3);
        CHECK_INT(sf_yt_display_width("\xff"), 1);
        static const char *titles[] = {"abc",          "Café ☕ déjà vu",  "日本語のタイトル", "🎉🎉🎉 party 🎉",
                                       "a\x1b[31mred", "\xff\xfe broken", "exactly-ten"};
        for (size_t i = 0; i < SF_ARRAY_SIZE(titles); i++) {
                for (int w = 1; w <= 16; w++) {
                        char out[256];
                        sf_yt_fit(out, sizeof(out), titles[i], w);
                        CHECK_MSG(sf_yt_display_width(out) == w, "fit('%s', %d) = '%s' (%d columns)",
                                  titles[i], w, out, sf_yt_display_width(out));
                        CHECK(strchr(out, '\x1b') == NULL);
                }
        }
        char out[64];
        sf_yt_fit(out, sizeof(out), "日本語のタイトル", 7);
        CHECK_STR(out, "日本語…");
        sf_yt_fit(out, sizeof(out), "ab", 4);
        CHECK_STR(out, "ab  ");
        setlocale(LC_CTYPE, "C");
}

int main(void) {
        RUN(test_video_refs);
        RUN(test_redact);
        RUN(test_scrub);
        RUN(test_scrub_jwt);
        RUN(test_video_ref_not_echoed);
        RUN(test_parse_count);
        RUN(test_classify);
        RUN(test_backoff);
        RUN(test_parse_videos);
        RUN(test_parse_comment_page);
        RUN(test_base64url);
        RUN(test_jwt_sign_verify);
        RUN(test_auth_key);
        RUN(test_auth_file_errors);
        RUN(test_agg_dedup);
        RUN(test_agg_rejects);
        RUN(test_records_roundtrip);
        RUN(test_display_width);
        return TEST_DONE();
}
