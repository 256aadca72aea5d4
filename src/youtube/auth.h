/* How requests to the YouTube Data API are authorised: an API key (`key=`
 * on each URL), or a Google service account whose JSON key file signs an
 * RS256 JWT that Google's token endpoint exchanges for a short-lived access
 * token (OAuth 2.0 JWT bearer flow), refreshed before it expires. Nothing
 * here prints; no error string ever carries the key, the token, the JWT or
 * the private key. */
#ifndef SF_YOUTUBE_AUTH_H
#define SF_YOUTUBE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#define SF_YT_SCOPE      "https://www.googleapis.com/auth/youtube.readonly"
#define SF_YT_JWT_GRANT  "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define SF_YT_JWT_LIFE_S 3600

/* Google's API keys are 39 characters ("AIza" and 35 of [A-Za-z0-9_-]);
 * its access tokens are at most 2048 bytes. Anything shorter than this is
 * no key or token, and would make scrubbing it out of messages absurd. */
#define SF_YT_SECRET_MIN_LEN 20
#define SF_YT_KEY_MAX_LEN    256
#define SF_YT_TOKEN_MAX_LEN  4096

typedef struct sf_yt_auth sf_yt_auth_t;

/* Error codes of sf_yt_auth_prepare(). */
enum {
        SF_YT_AUTH_OK = 0,
        SF_YT_AUTH_FATAL = -1,     /* rejected credentials: stop everything */
        SF_YT_AUTH_TRANSIENT = -2, /* token endpoint unreachable or 5xx after retries */
};

/* Authorises with an API key (copied): SF_YT_SECRET_MIN_LEN to
 * SF_YT_KEY_MAX_LEN characters of [A-Za-z0-9_-]. NULL with errstr set
 * (never quoting the key) when it is not such a string or on failure. */
sf_yt_auth_t *sf_yt_auth_new_key(const char *key, char *errstr, size_t errstr_size);

/* Loads a service-account JSON key file (type "service_account", with
 * client_email, private_key, token_uri). NULL with errstr naming the file
 * and the field on failure. The token is fetched lazily by prepare. */
sf_yt_auth_t *sf_yt_auth_new_service_account(const char *path, char *errstr, size_t errstr_size);

/* Frees everything, wiping the secrets first. NULL is a no-op. */
void sf_yt_auth_destroy(sf_yt_auth_t *auth);

/* Settings for the token endpoint: per-request timeout, tries. */
void sf_yt_auth_set_http(sf_yt_auth_t *auth, long timeout_ms, int max_tries, long backoff_base_ms);

/* 1 for a service account, 0 for an API key. */
int sf_yt_auth_is_bearer(const sf_yt_auth_t *auth);

/* Makes sure a usable access token is held (service account): fetches one
 * when there is none or when less than a quarter of its life (at most 60 s)
 * remains. No-op for an API key. Blocks for the token exchange. Returns
 * SF_YT_AUTH_OK, _FATAL or _TRANSIENT with errstr set. */
int sf_yt_auth_prepare(sf_yt_auth_t *auth, char *errstr, size_t errstr_size);

/* Number of access tokens obtained so far. */
int sf_yt_auth_token_count(const sf_yt_auth_t *auth);

/* Forgets the current token so the next prepare fetches a new one. */
void sf_yt_auth_invalidate(sf_yt_auth_t *auth);

/* Appends the API key to url as "&key=..." (url has room for size bytes),
 * or for a bearer adds "Authorization: Bearer ..." to *headers. Returns 0,
 * -1 when out of room or memory. */
int sf_yt_auth_apply(const sf_yt_auth_t *auth, char *url, size_t size, struct curl_slist **headers);

/* Removes every secret the auth holds (key, token, JWT and its signature
 * alone) and any JWT-shaped string from msg, in place; msg never grows. */
void sf_yt_auth_scrub(const sf_yt_auth_t *auth, char *msg);

/* base64url without padding (RFC 7515) of in[0..len). Caller frees; NULL
 * on allocation failure. */
char *sf_yt_base64url(const unsigned char *in, size_t len);

/* Signs a JWT (RS256) for the JWT bearer flow: header {"alg":"RS256",
 * "typ":"JWT"[,"kid"]}, claims iss, scope, aud, iat, exp = iat + life_s.
 * pem is a PEM private key. Caller frees the result; NULL with errstr set
 * (never quoting the key) on failure. */
char *sf_yt_jwt_sign(const char *pem, const char *kid, const char *iss, const char *scope, const char *aud,
                     int64_t iat, int64_t life_s, char *errstr, size_t errstr_size);

#endif
