#include "youtube/auth.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"
#include "youtube/buf.h"
#include "youtube/youtube.h"

struct sf_yt_auth {
        char *key; /* API key mode */
        /* service-account mode */
        char *path, *client_email, *private_key, *private_key_id, *token_uri;
        char *token, *jwt;
        double token_expiry; /* sf_now_s() at which the token expires */
        double token_life;   /* seconds it was granted for */
        int tokens;
        long timeout_ms;
        int max_tries;
        long backoff_base_ms;
};

static void wipe_free(char *s) {
        if (!s) return;
        OPENSSL_cleanse(s, strlen(s));
        free(s);
}

void sf_yt_auth_destroy(sf_yt_auth_t *auth) {
        if (!auth) return;
        wipe_free(auth->key);
        wipe_free(auth->private_key);
        wipe_free(auth->token);
        wipe_free(auth->jwt);
        free(auth->path);
        free(auth->client_email);
        free(auth->private_key_id);
        free(auth->token_uri);
        free(auth);
}

static sf_yt_auth_t *auth_alloc(char *errstr, size_t errstr_size) {
        sf_yt_auth_t *auth = calloc(1, sizeof(*auth));
        if (!auth) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        auth->timeout_ms = 30000;
        auth->max_tries = 5;
        auth->backoff_base_ms = 500;
        return auth;
}

sf_yt_auth_t *sf_yt_auth_new_key(const char *key, char *errstr, size_t errstr_size) {
        if (!key || !*key) {
                snprintf(errstr, errstr_size, "the API key is empty");
                return NULL;
        }
        size_t len = strlen(key);
        if (len < SF_YT_SECRET_MIN_LEN || len > SF_YT_KEY_MAX_LEN) {
                snprintf(errstr, errstr_size,
                         "the API key is %s (%zu characters; a YouTube Data API key has 39, "
                         "from the Google Cloud console, APIs & Services > Credentials)",
                         len < SF_YT_SECRET_MIN_LEN ? "too short" : "too long", len);
                return NULL;
        }
        for (const char *p = key; *p; p++) {
                /* It goes on a URL unescaped; Google's keys are [A-Za-z0-9_-]. */
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '-')) {
                        snprintf(errstr, errstr_size,
                                 "the API key contains a character other than A-Z a-z 0-9 _ - "
                                 "(is it the right value?)");
                        return NULL;
                }
        }
        sf_yt_auth_t *auth = auth_alloc(errstr, errstr_size);
        if (!auth) return NULL;
        if (!(auth->key = strdup(key))) {
                snprintf(errstr, errstr_size, "out of memory");
                sf_yt_auth_destroy(auth);
                return NULL;
        }
        return auth;
}

static int take_string(json_t *root, const char *path, const char *field, char **out, char *errstr,
                       size_t errstr_size) {
        json_t *v = json_object_get(root, field);
        if (!v) {
                snprintf(errstr, errstr_size, "%s: service-account key file has no \"%s\"", path, field);
                return -1;
        }
        if (!json_is_string(v) || json_string_length(v) == 0) {
                snprintf(errstr, errstr_size, "%s: \"%s\" must be a non-empty string", path, field);
                return -1;
        }
        if (!(*out = strdup(json_string_value(v)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

sf_yt_auth_t *sf_yt_auth_new_service_account(const char *path, char *errstr, size_t errstr_size) {
        sf_yt_auth_t *auth = NULL;
        json_t *root = NULL;
        json_error_t jerr;
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size, "%s: cannot open the service-account key file: %s", path,
                         strerror(errno));
                return NULL;
        }
        root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
        fclose(f);
        if (!root) {
                /* jansson's text names the position, never the content. */
                snprintf(errstr, errstr_size, "%s:%d: not a valid JSON key file: %s", path, jerr.line,
                         jerr.text);
                goto fail;
        }
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size, "%s: a service-account key file is a JSON object", path);
                goto fail;
        }
        json_t *type = json_object_get(root, "type");
        if (!json_is_string(type) || strcmp(json_string_value(type), "service_account") != 0) {
                snprintf(errstr, errstr_size,
                         "%s: \"type\" is not \"service_account\" (download a service-account key from "
                         "the Google Cloud console, IAM > Service accounts > Keys)",
                         path);
                goto fail;
        }
        if (!(auth = auth_alloc(errstr, errstr_size))) goto fail;
        if (!(auth->path = strdup(path))) goto oom;
        if (take_string(root, path, "client_email", &auth->client_email, errstr, errstr_size) ||
            take_string(root, path, "private_key", &auth->private_key, errstr, errstr_size) ||
            take_string(root, path, "token_uri", &auth->token_uri, errstr, errstr_size))
                goto fail;
        json_t *kid = json_object_get(root, "private_key_id");
        if (json_is_string(kid) && json_string_length(kid) > 0 &&
            !(auth->private_key_id = strdup(json_string_value(kid))))
                goto oom;
        if (strncmp(auth->token_uri, "https://", 8) != 0 && strncmp(auth->token_uri, "http://", 7) != 0) {
                snprintf(errstr, errstr_size, "%s: \"token_uri\" must be an http(s) URL", path);
                goto fail;
        }
        /* Load the key once now, so a broken key is reported before any
         * request; the signature itself is made per token. */
        char *probe = sf_yt_jwt_sign(auth->private_key, NULL, auth->client_email, SF_YT_SCOPE,
                                     auth->token_uri, 0, 1, errstr, errstr_size);
        if (!probe) {
                char why[256];
                snprintf(why, sizeof(why), "%s", errstr);
                snprintf(errstr, errstr_size, "%s: \"private_key\": %s", path, why);
                goto fail;
        }
        free(probe);
        /* The key material is in auth now; scrub jansson's copy. */
        json_t *pk = json_object_get(root, "private_key");
        if (json_is_string(pk)) OPENSSL_cleanse((char *)json_string_value(pk), json_string_length(pk));
        json_decref(root);
        return auth;
oom:
        snprintf(errstr, errstr_size, "out of memory");
fail:
        if (root) {
                json_t *p = json_object_get(root, "private_key");
                if (json_is_string(p)) OPENSSL_cleanse((char *)json_string_value(p), json_string_length(p));
                json_decref(root);
        }
        sf_yt_auth_destroy(auth);
        return NULL;
}

void sf_yt_auth_set_http(sf_yt_auth_t *auth, long timeout_ms, int max_tries, long backoff_base_ms) {
        if (timeout_ms > 0) auth->timeout_ms = timeout_ms;
        if (max_tries > 0) auth->max_tries = max_tries;
        if (backoff_base_ms >= 0) auth->backoff_base_ms = backoff_base_ms;
}

int sf_yt_auth_is_bearer(const sf_yt_auth_t *auth) {
        return auth->key == NULL;
}

int sf_yt_auth_token_count(const sf_yt_auth_t *auth) {
        return auth->tokens;
}

void sf_yt_auth_invalidate(sf_yt_auth_t *auth) {
        wipe_free(auth->token);
        auth->token = NULL;
}

char *sf_yt_base64url(const unsigned char *in, size_t len) {
        size_t cap = 4 * ((len + 2) / 3) + 1;
        char *out = malloc(cap);
        if (!out) return NULL;
        int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
        if (n < 0) {
                free(out);
                return NULL;
        }
        while (n > 0 && out[n - 1] == '=') n--;
        out[n] = '\0';
        for (int i = 0; i < n; i++) {
                if (out[i] == '+')
                        out[i] = '-';
                else if (out[i] == '/')
                        out[i] = '_';
        }
        return out;
}

static char *b64_json(json_t *obj) {
        char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s) return NULL;
        char *b = sf_yt_base64url((const unsigned char *)s, strlen(s));
        free(s);
        return b;
}

char *sf_yt_jwt_sign(const char *pem, const char *kid, const char *iss, const char *scope, const char *aud,
                     int64_t iat, int64_t life_s, char *errstr, size_t errstr_size) {
        BIO *bio = NULL;
        EVP_PKEY *pkey = NULL;
        EVP_MD_CTX *md = NULL;
        json_t *header = NULL, *claims = NULL;
        char *h64 = NULL, *c64 = NULL, *input = NULL, *s64 = NULL, *jwt = NULL;
        unsigned char *sig = NULL;
        size_t siglen = 0;

        if (!(bio = BIO_new_mem_buf(pem, -1))) goto oom;
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        if (!pkey) {
                snprintf(errstr, errstr_size,
                         "not a PEM private key (expected \"-----BEGIN PRIVATE KEY-----\")");
                goto out;
        }
        if (!EVP_PKEY_is_a(pkey, "RSA")) {
                snprintf(errstr, errstr_size, "not an RSA key (RS256 needs one)");
                goto out;
        }
        header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
        if (!header) goto oom;
        if (kid && json_object_set_new(header, "kid", json_string(kid))) goto oom;
        claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "scope", scope, "aud", aud, "iat",
                           (json_int_t)iat, "exp", (json_int_t)(iat + life_s));
        if (!claims) goto oom;
        if (!(h64 = b64_json(header)) || !(c64 = b64_json(claims))) goto oom;
        size_t ilen = strlen(h64) + 1 + strlen(c64);
        if (!(input = malloc(ilen + 1))) goto oom;
        snprintf(input, ilen + 1, "%s.%s", h64, c64);

        if (!(md = EVP_MD_CTX_new())) goto oom;
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
            EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, ilen) != 1 ||
            !(sig = malloc(siglen)) ||
            EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, ilen) != 1) {
                snprintf(errstr, errstr_size, "RS256 signing failed (OpenSSL)");
                goto out;
        }
        if (!(s64 = sf_yt_base64url(sig, siglen))) goto oom;
        size_t jlen = ilen + 1 + strlen(s64);
        if (!(jwt = malloc(jlen + 1))) goto oom;
        snprintf(jwt, jlen + 1, "%s.%s", input, s64);
        goto out;
oom:
        snprintf(errstr, errstr_size, "out of memory while signing the JWT");
out:
        BIO_free(bio);
        EVP_PKEY_free(pkey);
        EVP_MD_CTX_free(md);
        json_decref(header);
        json_decref(claims);
        free(h64);
        free(c64);
        free(input);
        free(sig);
        free(s64);
        return jwt;
}

/* Formats into errstr, removing the secrets from the whole message before
 * it is cut to errstr_size: a cut secret would no longer match. */
static void scrubbed_msg(const sf_yt_auth_t *auth, char *errstr, size_t errstr_size, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void scrubbed_msg(const sf_yt_auth_t *auth, char *errstr, size_t errstr_size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        char *full = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (!full) {
                snprintf(errstr, errstr_size, "out of memory formatting an error of the token endpoint");
                return;
        }
        va_start(ap, fmt);
        vsnprintf(full, (size_t)n + 1, fmt, ap);
        va_end(ap);
        sf_yt_auth_scrub(auth, full);
        snprintf(errstr, errstr_size, "%s", full);
        OPENSSL_cleanse(full, (size_t)n);
        free(full);
}

static void sleep_ms(long ms) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
}

/* The POST body "grant_type=...&assertion=JWT", or NULL when out of
 * memory. The caller cleanses and frees it. */
static char *assertion_form(CURL *easy, const char *jwt) {
        char *grant = curl_easy_escape(easy, SF_YT_JWT_GRANT, 0);
        if (!grant) return NULL;
        size_t flen = strlen("grant_type=&assertion=") + strlen(grant) + strlen(jwt) + 1;
        char *form = malloc(flen);
        if (form) snprintf(form, flen, "grant_type=%s&assertion=%s", grant, jwt);
        curl_free(grant);
        return form;
}

/* POSTs form to token_uri, the answer into body, curl's error into curlerr. */
static CURLcode post_form(const sf_yt_auth_t *auth, CURL *easy, const char *form, sf_yt_buf_t *body,
                          char *curlerr) {
        curl_easy_setopt(easy, CURLOPT_URL, auth->token_uri);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sf_yt_buf_write);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curlerr);
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, auth->timeout_ms);
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                         auth->timeout_ms < 10000 ? auth->timeout_ms : 10000);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "streamflow/" SF_VERSION);
        return curl_easy_perform(easy);
}

/* An answer other than HTTP 200 (root its JSON body, or NULL): the message
 * with Google's error and description. Returns TRANSIENT for a status
 * worth retrying, else FATAL. */
static int refusal(const sf_yt_auth_t *auth, json_t *root, long code, char *errstr, size_t errstr_size) {
        const char *e = NULL, *d = NULL;
        if (json_is_object(root)) {
                e = json_string_value(json_object_get(root, "error"));
                d = json_string_value(json_object_get(root, "error_description"));
        }
        scrubbed_msg(auth, errstr, errstr_size, "token endpoint %s answered HTTP %ld%s%s%s%s",
                     auth->token_uri, code, e ? ": " : "", e ? e : "", d ? ": " : "", d ? d : "");
        return (code >= 500 || code == 429 || code == 408) ? SF_YT_AUTH_TRANSIENT : SF_YT_AUTH_FATAL;
}

/* The token out of an HTTP 200 answer (root its JSON body, or NULL):
 * checks it and stores it in auth. Returns OK, FATAL for a token that
 * asking again would not mend, TRANSIENT otherwise. */
static int take_token(sf_yt_auth_t *auth, json_t *root, char *errstr, size_t errstr_size) {
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size, "token endpoint %s: response is not a JSON object",
                         auth->token_uri);
                return SF_YT_AUTH_TRANSIENT;
        }
        json_t *tok = json_object_get(root, "access_token"), *exp = json_object_get(root, "expires_in");
        if (!json_is_string(tok) || json_string_length(tok) == 0) {
                snprintf(errstr, errstr_size, "token endpoint %s: response has no \"access_token\" string",
                         auth->token_uri);
                return SF_YT_AUTH_TRANSIENT;
        }
        double life = 3600;
        if (exp) {
                if (!json_is_number(exp) || json_number_value(exp) <= 0 ||
                    json_number_value(exp) > 86400 * 7) {
                        snprintf(errstr, errstr_size,
                                 "token endpoint %s: \"expires_in\" is not a positive number",
                                 auth->token_uri);
                        return SF_YT_AUTH_TRANSIENT;
                }
                life = json_number_value(exp);
        }
        size_t len = json_string_length(tok);
        if (len < SF_YT_SECRET_MIN_LEN || len > SF_YT_TOKEN_MAX_LEN) {
                snprintf(errstr, errstr_size,
                         "token endpoint %s: \"access_token\" is %s to be one (%zu characters)",
                         auth->token_uri, len < SF_YT_SECRET_MIN_LEN ? "too short" : "too long", len);
                return SF_YT_AUTH_FATAL; /* asking again would not make it one */
        }
        for (const char *p = json_string_value(tok); *p; p++) {
                if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127) {
                        snprintf(errstr, errstr_size,
                                 "token endpoint %s: \"access_token\" has characters "
                                 "that cannot go in a header",
                                 auth->token_uri);
                        return SF_YT_AUTH_TRANSIENT;
                }
        }
        wipe_free(auth->token);
        if (!(auth->token = strdup(json_string_value(tok)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return SF_YT_AUTH_FATAL;
        }
        OPENSSL_cleanse((char *)json_string_value(tok), len);
        auth->token_life = life;
        auth->token_expiry = sf_now_s() + life;
        auth->tokens++;
        return SF_YT_AUTH_OK;
}

/* One POST of the assertion to token_uri. Returns OK with the token
 * stored, FATAL for a refusal, TRANSIENT for anything worth retrying. */
static int exchange_once(sf_yt_auth_t *auth, char *errstr, size_t errstr_size) {
        CURL *easy = NULL;
        char *form = NULL;
        json_t *root = NULL;
        sf_yt_buf_t body = {.limit = 1 << 20};
        char curlerr[CURL_ERROR_SIZE] = "";
        int rc = SF_YT_AUTH_TRANSIENT;

        if (!(easy = curl_easy_init())) {
                snprintf(errstr, errstr_size, "cannot create an HTTP handle");
                goto out;
        }
        if (!(form = assertion_form(easy, auth->jwt))) {
                snprintf(errstr, errstr_size, "out of memory");
                rc = SF_YT_AUTH_FATAL;
                goto out;
        }
        CURLcode cc = post_form(auth, easy, form, &body, curlerr);
        if (cc != CURLE_OK) {
                snprintf(errstr, errstr_size, "token endpoint %s: %s", auth->token_uri,
                         curlerr[0] ? curlerr : curl_easy_strerror(cc));
                goto out;
        }
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        json_error_t jerr;
        root = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
        rc = code != 200 ? refusal(auth, root, code, errstr, errstr_size)
                         : take_token(auth, root, errstr, errstr_size);
out:
        if (rc != SF_YT_AUTH_OK) sf_yt_auth_scrub(auth, errstr);
        if (root) {
                json_t *tok = json_object_get(root, "access_token");
                if (json_is_string(tok))
                        OPENSSL_cleanse((char *)json_string_value(tok), json_string_length(tok));
        }
        json_decref(root);
        if (body.data) OPENSSL_cleanse(body.data, body.len);
        sf_yt_buf_free(&body);
        if (form) OPENSSL_cleanse(form, strlen(form));
        free(form);
        curl_easy_cleanup(easy);
        return rc;
}

int sf_yt_auth_prepare(sf_yt_auth_t *auth, char *errstr, size_t errstr_size) {
        if (auth->key) return SF_YT_AUTH_OK;
        if (auth->token) {
                double margin = auth->token_life / 4;
                if (margin > 60) margin = 60;
                if (sf_now_s() < auth->token_expiry - margin) return SF_YT_AUTH_OK;
        }
        int rc = SF_YT_AUTH_TRANSIENT;
        for (int attempt = 1; attempt <= auth->max_tries; attempt++) {
                if (attempt > 1) {
                        double u = (double)(sf_now_ns() % 1000) / 1000.0;
                        sleep_ms(sf_yt_backoff_ms(attempt - 1, auth->backoff_base_ms, 30000, u));
                }
                wipe_free(auth->jwt);
                auth->jwt = sf_yt_jwt_sign(auth->private_key, auth->private_key_id, auth->client_email,
                                           SF_YT_SCOPE, auth->token_uri, (int64_t)time(NULL),
                                           SF_YT_JWT_LIFE_S, errstr, errstr_size);
                if (!auth->jwt) return SF_YT_AUTH_FATAL;
                rc = exchange_once(auth, errstr, errstr_size);
                if (rc != SF_YT_AUTH_TRANSIENT) break;
        }
        if (rc == SF_YT_AUTH_TRANSIENT) {
                size_t n = strlen(errstr);
                snprintf(errstr + n, errstr_size - n, " (gave up after %d tries)", auth->max_tries);
        }
        return rc;
}

int sf_yt_auth_apply(const sf_yt_auth_t *auth, char *url, size_t size, struct curl_slist **headers) {
        if (auth->key) {
                size_t n = strlen(url);
                int w = snprintf(url + n, size - n, "%skey=%s", strchr(url, '?') ? "&" : "?", auth->key);
                return (w < 0 || (size_t)w >= size - n) ? -1 : 0;
        }
        if (!auth->token) return -1;
        size_t hlen = strlen("Authorization: Bearer ") + strlen(auth->token) + 1;
        char *h = malloc(hlen);
        if (!h) return -1;
        snprintf(h, hlen, "Authorization: Bearer %s", auth->token);
        struct curl_slist *l = curl_slist_append(*headers, h);
        OPENSSL_cleanse(h, hlen - 1);
        free(h);
        if (!l) return -1;
        *headers = l;
        return 0;
}

void sf_yt_auth_scrub(const sf_yt_auth_t *auth, char *msg) {
        if (!auth || !msg) return;
        sf_yt_scrub(msg, auth->key);
        sf_yt_scrub(msg, auth->token);
        sf_yt_scrub(msg, auth->jwt);
        /* Header and claims are no secret: with them, the signature alone
         * rebuilds the assertion. */
        const char *sig = auth->jwt ? strrchr(auth->jwt, '.') : NULL;
        if (sig && strlen(sig + 1) >= SF_YT_SECRET_MIN_LEN) sf_yt_scrub(msg, sig + 1);
        sf_yt_scrub_jwt(msg);
}
