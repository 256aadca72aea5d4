/* The concurrent fetcher: one job per video, all driven by one curl multi
 * handle. A job is a small state machine (videos.list, then each
 * commentThreads.list page in order); a transient failure parks the job
 * until its backoff ends, the others keep going. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/util.h"
#include "youtube/buf.h"
#include "youtube/youtube.h"

#define BODY_LIMIT (16u << 20) /* a 100-comment page is ~100 KB */

/* With conf->batch_videos, one extra job makes the videos.list call for all
 * videos (PH_BATCH) while the others wait (PH_WAIT), then they go on to
 * their comments. */
typedef enum { PH_VIDEOS, PH_WAIT, PH_BATCH, PH_COMMENTS, PH_DONE } phase_t;

typedef struct job {
        sf_yt_video_t v;
        phase_t phase;
        CURL *easy;
        struct curl_slist *headers;
        sf_yt_buf_t body;
        char page_token[1024];
        int tries; /* of the current call */
        int in_flight;
        double next_at; /* sf_now_s() when the next request may start */
        int is_batch;
        int last_page; /* on_comment asked for no page after this one */
        char curlerr[CURL_ERROR_SIZE];
        char url[4096];
} job_t;

typedef struct fetch {
        const sf_yt_fetch_conf_t *conf;
        sf_yt_auth_t *auth;
        const sf_yt_events_t *ev;
        sf_yt_fetch_stats_t *stats;
        CURLM *multi;
        sf_rng_t rng;
        job_t *jobs;
        int njobs;
        int stop;        /* a callback asked to stop */
        char fatal[512]; /* why everything stopped */
} fetch_t;

static void note(fetch_t *f, job_t *j, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(fetch_t *f, job_t *j, const char *fmt, ...) {
        if (!f->ev->on_note) return;
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        sf_yt_auth_scrub(f->auth, msg);
        f->ev->on_note(f->ev->opaque, &j->v, msg);
}

static void finish(fetch_t *f, job_t *j, sf_yt_status_t status, const char *reason) {
        j->phase = PH_DONE;
        if (j->is_batch) {
                /* The videos.list call failed: so do the videos waiting for it. */
                for (int i = 0; i < f->njobs; i++)
                        if (f->jobs[i].phase == PH_WAIT) finish(f, &f->jobs[i], status, reason);
                return;
        }
        j->v.status = status;
        snprintf(j->v.reason, sizeof(j->v.reason), "%s", reason ? reason : "");
        sf_yt_auth_scrub(f->auth, j->v.reason);
        if (f->ev->on_video && f->ev->on_video(f->ev->opaque, &j->v)) f->stop = 1;
}

static void stop_all(fetch_t *f, const char *why) {
        for (int i = 0; i < f->njobs; i++) {
                job_t *j = &f->jobs[i];
                if (j->phase == PH_DONE) continue;
                if (j->in_flight) {
                        curl_multi_remove_handle(f->multi, j->easy);
                        j->in_flight = 0;
                }
                char reason[sizeof(j->v.reason)];
                snprintf(reason, sizeof(reason), "stopped: %.240s", why);
                j->v.stopped = 1;
                if (j->is_batch) {
                        for (int k = 0; k < f->njobs; k++)
                                f->jobs[k].v.stopped |= f->jobs[k].phase == PH_WAIT;
                }
                finish(f, j, SF_YT_STATUS_FAILED, reason);
        }
}

static int build_url(fetch_t *f, job_t *j) {
        const char *base =
                f->conf->api_base && *f->conf->api_base ? f->conf->api_base : SF_YT_DEFAULT_API_BASE;
        size_t blen = strlen(base);
        while (blen > 0 && base[blen - 1] == '/') blen--;
        int w;
        if (j->phase == PH_BATCH) {
                char ids[SF_YT_MAX_VIDEOS * 2 * (SF_YT_ID_LEN + 1) + 1] = "";
                size_t o = 0;
                for (int i = 0; i < f->njobs; i++) {
                        if (f->jobs[i].is_batch || o + SF_YT_ID_LEN + 2 > sizeof(ids)) continue;
                        o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%s", o ? "," : "",
                                              f->jobs[i].v.id);
                }
                w = snprintf(j->url, sizeof(j->url), "%.*s/videos?part=snippet,statistics&id=%s", (int)blen,
                             base, ids);
        } else if (j->phase == PH_VIDEOS) {
                w = snprintf(j->url, sizeof(j->url), "%.*s/videos?part=snippet,statistics&id=%s", (int)blen,
                             base, j->v.id);
        } else {
                char *tok = NULL;
                if (j->page_token[0] && !(tok = curl_easy_escape(j->easy, j->page_token, 0))) return -1;
                w = snprintf(
                        j->url, sizeof(j->url),
                        "%.*s/"
                        "commentThreads?part=snippet&videoId=%s&maxResults=100&textFormat=plainText%s%s%s",
                        (int)blen, base, j->v.id, f->conf->order_time ? "&order=time" : "",
                        tok ? "&pageToken=" : "", tok ? tok : "");
                curl_free(tok);
        }
        if (w < 0 || (size_t)w >= sizeof(j->url)) return -1;
        curl_slist_free_all(j->headers);
        j->headers = NULL;
        return sf_yt_auth_apply(f->auth, j->url, sizeof(j->url), &j->headers);
}

/* Starts the job's next request. Returns 0, or -1 after a fatal stop. */
static int start(fetch_t *f, job_t *j) {
        char err[512];
        int arc = sf_yt_auth_prepare(f->auth, err, sizeof(err));
        if (arc != SF_YT_AUTH_OK) {
                snprintf(f->fatal, sizeof(f->fatal), "cannot get an access token: %.470s", err);
                sf_yt_auth_scrub(f->auth, f->fatal);
                return -1;
        }
        if (build_url(f, j) != 0) {
                finish(f, j, SF_YT_STATUS_FAILED, "cannot build the request URL (page token too long?)");
                return 0;
        }
        sf_yt_buf_reset(&j->body);
        j->curlerr[0] = '\0';
        curl_easy_setopt(j->easy, CURLOPT_URL, j->url);
        curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
        if (curl_multi_add_handle(f->multi, j->easy) != CURLM_OK) {
                finish(f, j, SF_YT_STATUS_FAILED, "cannot start an HTTP transfer");
                return 0;
        }
        j->in_flight = 1;
        j->tries++;
        /* The URL may hold the key: wipe it once curl has its own copy. */
        memset(j->url, 0, sizeof(j->url));
        return 0;
}

static const char *call_name(const job_t *j) {
        return j->phase == PH_VIDEOS || j->phase == PH_BATCH ? "videos.list" : "commentThreads.list";
}

/* A transient failure: park the job for a backoff, or fail it after the
 * last try. */
static void retry_or_fail(fetch_t *f, job_t *j, const char *why) {
        int max = f->conf->max_tries > 0 ? f->conf->max_tries : 5;
        if (j->tries >= max) {
                char reason[400];
                snprintf(reason, sizeof(reason), "gave up after %d tries of %s: %s", j->tries, call_name(j),
                         why);
                finish(f, j, SF_YT_STATUS_FAILED, reason);
                return;
        }
        long base = f->conf->backoff_base_ms > 0 ? f->conf->backoff_base_ms : 500;
        long cap = f->conf->backoff_max_ms > 0 ? f->conf->backoff_max_ms : 30000;
        long ms = sf_yt_backoff_ms(j->tries, base, cap, sf_rng_uniform(&f->rng));
        j->next_at = sf_now_s() + (double)ms / 1000.0;
        j->v.retries++;
        f->stats->retries++;
        note(f, j, "retry %d/%d of %s%s in %ld ms: %s", j->tries, max - 1, call_name(j),
             j->phase == PH_COMMENTS && j->v.pages ? " (next page)" : "", ms, why);
}

typedef struct page_ctx {
        fetch_t *f;
        job_t *j;
        int page;
} page_ctx_t;

static int on_item(void *opaque, const sf_yt_comment_t *c, int index, const char *err) {
        page_ctx_t *pc = opaque;
        job_t *j = pc->j;
        if (!c) {
                j->v.rejected++;
                note(pc->f, j, "page %d item %d rejected: %s", pc->page, index, err);
                return 0;
        }
        if (j->v.likes > SF_YT_MAX_COUNT - c->likes) {
                j->v.rejected++;
                note(pc->f, j, "page %d item %d rejected: the like total would overflow", pc->page, index);
                return 0;
        }
        j->v.comments++;
        j->v.likes += c->likes;
        int r = pc->f->ev->on_comment ? pc->f->ev->on_comment(pc->f->ev->opaque, &j->v, c->id, c->likes) : 0;
        if (r == SF_YT_LAST_PAGE) {
                j->last_page = 1;
        } else if (r) {
                pc->f->stop = 1;
                return 1;
        }
        return 0;
}

/* The videos.list answer for all videos: each goes on to its comments, or
 * ends as private or deleted. */
static void batch_done(fetch_t *f, job_t *j) {
        sf_yt_video_t *vs[SF_YT_MAX_VIDEOS];
        job_t *js[SF_YT_MAX_VIDEOS];
        int found[SF_YT_MAX_VIDEOS], n = 0;
        char warn[SF_YT_MAX_VIDEOS][SF_YT_WARN_LEN], perr[400], why[600];
        for (int i = 0; i < f->njobs && n < SF_YT_MAX_VIDEOS; i++) {
                if (f->jobs[i].phase != PH_WAIT) continue;
                js[n] = &f->jobs[i];
                vs[n++] = &f->jobs[i].v;
        }
        if (sf_yt_parse_videos_batch(j->body.data, j->body.len, vs, n, found, warn, perr, sizeof(perr)) !=
            0) {
                snprintf(why, sizeof(why), "videos.list: %s", perr);
                retry_or_fail(f, j, why);
                return;
        }
        j->phase = PH_DONE;
        for (int k = 0; k < n; k++) {
                if (warn[k][0])
                        note(f, js[k], "videos.list: %s; the video's own like count is left out", warn[k]);
                if (!found[k]) {
                        finish(f, js[k], SF_YT_STATUS_PRIVATE_OR_DELETED,
                               "videos.list returned no item: the video is private or deleted");
                        continue;
                }
                js[k]->phase = PH_COMMENTS;
                js[k]->tries = 0;
                js[k]->next_at = 0;
        }
}

/* A transfer that failed before an HTTP answer: a body over the limit
 * fails the video, anything else is retried. */
static void transfer_failed(fetch_t *f, job_t *j, CURLcode cc) {
        char why[600];
        if (j->body.truncated) {
                snprintf(why, sizeof(why), "the %s response is larger than %u MB", call_name(j),
                         BODY_LIMIT >> 20);
                finish(f, j, SF_YT_STATUS_FAILED, why);
                return;
        }
        snprintf(why, sizeof(why), "%s (%s)", j->curlerr[0] ? j->curlerr : curl_easy_strerror(cc),
                 cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "connection");
        sf_yt_auth_scrub(f->auth, why);
        retry_or_fail(f, j, why);
}

/* A video's own videos.list answer: on to its comments, or the video is
 * done when the API does not know it. */
static void videos_done(fetch_t *f, job_t *j) {
        char why[600], perr[400];
        int found = 0;
        int r = sf_yt_parse_videos(j->body.data, j->body.len, &j->v, &found, perr, sizeof(perr));
        if (r < 0) {
                snprintf(why, sizeof(why), "videos.list: %s", perr);
                retry_or_fail(f, j, why);
                return;
        }
        if (r == 1) note(f, j, "videos.list: %s; the video's own like count is left out", perr);
        if (!found) {
                finish(f, j, SF_YT_STATUS_PRIVATE_OR_DELETED,
                       "videos.list returned no item: the video is private or deleted");
                return;
        }
        j->phase = PH_COMMENTS;
        j->tries = 0;
        j->next_at = 0;
}

/* A commentThreads.list page: hands its comments over, then asks for the
 * next page or ends the video. */
static void page_done(fetch_t *f, job_t *j) {
        char why[600], perr[400];
        char next[sizeof(j->page_token)];
        page_ctx_t pc = {f, j, j->v.pages + 1};
        int r = sf_yt_parse_comment_page(j->body.data, j->body.len, on_item, &pc, next, sizeof(next), perr,
                                         sizeof(perr));
        if (r < 0) {
                snprintf(why, sizeof(why), "commentThreads.list page %d: %s", j->v.pages + 1, perr);
                retry_or_fail(f, j, why);
                return;
        }
        if (r > 0) return; /* a callback stopped the run */
        j->v.pages++;
        j->tries = 0;
        if (!next[0] || j->last_page) {
                finish(f, j, SF_YT_STATUS_OK, NULL);
                return;
        }
        int max_pages = f->conf->max_pages > 0 ? f->conf->max_pages : 10000;
        if (strcmp(next, j->page_token) == 0 || j->v.pages >= max_pages) {
                snprintf(why, sizeof(why), "%s after page %d; stopping this video",
                         j->v.pages >= max_pages ? "too many pages" : "the same nextPageToken came back",
                         j->v.pages);
                finish(f, j, SF_YT_STATUS_FAILED, why);
                return;
        }
        memcpy(j->page_token, next, sizeof(next));
}

static void handle_done(fetch_t *f, job_t *j, CURLcode cc) {
        char why[600];
        j->in_flight = 0;
        curl_multi_remove_handle(f->multi, j->easy);
        if (cc != CURLE_OK) {
                transfer_failed(f, j, cc);
                return;
        }
        long code = 0;
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
        f->stats->quota_units++;
        if (j->phase == PH_VIDEOS || j->phase == PH_BATCH)
                f->stats->videos_calls++;
        else
                f->stats->comment_calls++;

        sf_yt_api_error_t e;
        sf_yt_status_t status;
        if (code < 200 || code >= 300)
                sf_yt_parse_api_error(j->body.data, j->body.len, (int)code, &e);
        else
                memset(&e, 0, sizeof(e));
        sf_yt_action_t act = sf_yt_classify(call_name(j), (int)code, &e, &status, why, sizeof(why));
        sf_yt_auth_scrub(f->auth, why);
        switch (act) {
        case SF_YT_ACT_FATAL:
                snprintf(f->fatal, sizeof(f->fatal), "%.500s", why);
                if (strcmp(e.reason, "quotaExceeded") == 0 || strcmp(e.reason, "dailyLimitExceeded") == 0)
                        f->stats->quota_exceeded = 1;
                return;
        case SF_YT_ACT_RETRY:
                retry_or_fail(f, j, why);
                return;
        case SF_YT_ACT_VIDEO:
                finish(f, j, status, why);
                return;
        case SF_YT_ACT_OK:
                break;
        }
        if (j->phase == PH_BATCH)
                batch_done(f, j);
        else if (j->phase == PH_VIDEOS)
                videos_done(f, j);
        else
                page_done(f, j);
}

/* Creates the multi handle and each job with its HTTP handle: one job per
 * video in ids[0..n), and with batch one more for videos.list. Returns 0,
 * or -1 with errstr set. */
static int init_jobs(fetch_t *f, const char *const *ids, int n, int batch, char *errstr, size_t errstr_size) {
        const sf_yt_fetch_conf_t *conf = f->conf;
        if (!(f->multi = curl_multi_init())) {
                snprintf(errstr, errstr_size, "cannot create the HTTP multi handle");
                return -1;
        }
        for (int i = 0; i < f->njobs; i++) {
                job_t *j = &f->jobs[i];
                j->is_batch = i == n;
                /* The batch job's name in notes is that of its call. */
                snprintf(j->v.id, sizeof(j->v.id), "%s", j->is_batch ? "videos.list" : ids[i]);
                j->phase = j->is_batch ? PH_BATCH : batch ? PH_WAIT : PH_VIDEOS;
                j->v.video_likes = -1;
                j->body.limit = BODY_LIMIT;
                if (!(j->easy = curl_easy_init())) {
                        snprintf(errstr, errstr_size, "cannot create an HTTP handle");
                        return -1;
                }
                curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, sf_yt_buf_write);
                curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, &j->body);
                curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->curlerr);
                curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS,
                                 conf->timeout_ms > 0 ? conf->timeout_ms : 30000L);
                curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS,
                                 conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : 10000L);
                curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(j->easy, CURLOPT_ACCEPT_ENCODING, "");
                curl_easy_setopt(j->easy, CURLOPT_USERAGENT, "streamflow/" SF_VERSION " (gzip)");
                curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
        }
        return 0;
}

/* Starts each job whose backoff has ended by now. Returns how many jobs
 * are not done; lowers *wait to the seconds until the next one may start. */
static int start_due(fetch_t *f, double now, double *wait) {
        int active = 0;
        for (int i = 0; i < f->njobs && !f->fatal[0] && !f->stop; i++) {
                job_t *j = &f->jobs[i];
                if (j->phase == PH_DONE) continue;
                active++;
                if (j->in_flight || j->phase == PH_WAIT) continue;
                if (now >= j->next_at) {
                        if (start(f, j) != 0) break;
                } else if (j->next_at - now < *wait) {
                        *wait = j->next_at - now;
                }
        }
        return active;
}

/* Hands each finished transfer to its job. */
static void collect_done(fetch_t *f) {
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
                if (msg->msg != CURLMSG_DONE) continue;
                job_t *j = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
                if (j) handle_done(f, j, msg->data.result);
                if (f->fatal[0] || f->stop) break;
        }
}

/* A run that ends early: "interrupted" unless a fatal error says why.
 * Returns 0 (the loop ends). */
static int interrupted(fetch_t *f) {
        if (!f->fatal[0]) snprintf(f->fatal, sizeof(f->fatal), "interrupted");
        return 0;
}

/* One turn of the event loop: start what is due, move the transfers on,
 * hand over what finished, wait for the next event. Returns 1 to go on, 0
 * when every job is done or f->fatal says why the run ends. */
static int run_once(fetch_t *f) {
        const sf_yt_events_t *ev = f->ev;
        double now = sf_now_s(), wait = 0.1;
        if (!f->stop && ev->should_stop && ev->should_stop(ev->opaque)) f->stop = 1;
        if (f->stop) return interrupted(f);
        int active = start_due(f, now, &wait);
        if (f->fatal[0] || f->stop) return interrupted(f);
        if (!active) return 0;
        int running = 0;
        if (curl_multi_perform(f->multi, &running) != CURLM_OK) {
                snprintf(f->fatal, sizeof(f->fatal), "the HTTP engine failed");
                return 0;
        }
        collect_done(f);
        if (f->fatal[0] || f->stop) return interrupted(f);
        int ms = (int)(wait * 1000);
        curl_multi_poll(f->multi, NULL, 0, ms < 1 ? 1 : ms, NULL);
        return 1;
}

static void free_jobs(fetch_t *f) {
        for (int i = 0; i < f->njobs; i++) {
                job_t *j = &f->jobs[i];
                if (j->easy) {
                        if (j->in_flight) curl_multi_remove_handle(f->multi, j->easy);
                        curl_easy_cleanup(j->easy);
                }
                curl_slist_free_all(j->headers);
                sf_yt_buf_free(&j->body);
                free(j->v.title);
        }
        free(f->jobs);
        if (f->multi) curl_multi_cleanup(f->multi);
}

int sf_yt_fetch(const char *const *ids, int n, const sf_yt_fetch_conf_t *conf, sf_yt_auth_t *auth,
                const sf_yt_events_t *ev, sf_yt_fetch_stats_t *stats, char *errstr, size_t errstr_size) {
        fetch_t f = {.conf = conf, .auth = auth, .ev = ev, .stats = stats};
        memset(stats, 0, sizeof(*stats));
        sf_rng_seed(&f.rng, conf->seed ? conf->seed : (uint64_t)sf_now_ns());
        if (n < 0 || n > 64) {
                snprintf(errstr, errstr_size, "too many videos (%d)", n);
                return -1;
        }
        int batch = conf->batch_videos && n > 0;
        if (batch && n > SF_YT_MAX_VIDEOS) {
                snprintf(errstr, errstr_size, "at most %d videos in one videos.list call (%d)",
                         SF_YT_MAX_VIDEOS, n);
                return -1;
        }
        if (!(f.jobs = calloc((size_t)(n + 1), sizeof(job_t)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        f.njobs = n + batch;
        if (init_jobs(&f, ids, n, batch, errstr, errstr_size) != 0) {
                free_jobs(&f);
                return -1;
        }
        while (run_once(&f)) {
        }
        if (f.fatal[0]) {
                sf_yt_auth_scrub(auth, f.fatal);
                if (f.stop)
                        stats->stopped = 1;
                else
                        stats->fatal = 1;
                stop_all(&f, f.fatal);
                snprintf(errstr, errstr_size, "%s", f.fatal);
        }
        free_jobs(&f);
        return f.fatal[0] ? -1 : 0;
}
