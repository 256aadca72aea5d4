/* Video references and URL redaction: sf_yt_parse_video_ref must yield a
 * valid ID found in the reference; sf_yt_redact_url into a small buffer must
 * be a prefix of the whole result, in which no key=, access_token= or
 * assertion= parameter keeps its value. */
#include "harness.h"
#include "youtube/youtube.h"

static const char *const params[] = {"key=", "access_token=", "assertion="};

/* No secret parameter of out still holds anything but REDACTED. */
static int redacted(const char *out) {
        for (const char *p = out; *p; p++) {
                if (p != out && p[-1] != '?' && p[-1] != '&') continue;
                for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
                        size_t n = strlen(params[i]);
                        if (strncmp(p, params[i], n) != 0) continue;
                        const char *v = p + n;
                        if (strncmp(v, "REDACTED", 8) != 0) return 0;
                        if (v[8] != '\0' && v[8] != '&' && v[8] != '#') return 0;
                }
        }
        return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *ref = fuzz_cstr(data, size);
        char id[SF_YT_ID_LEN + 1];
        char err[512] = "";
        memset(id, 'x', sizeof(id));
        if (sf_yt_parse_video_ref(ref, id, err, sizeof(err)) == 0) {
                FUZZ_CHECK(sf_yt_valid_id(id), "the ID taken is not valid");
                FUZZ_CHECK(strstr(ref, id) != NULL, "the ID '%s' is not in the reference", id);
        } else {
                FUZZ_CHECK(err[0] != '\0', "an error without a message");
        }

        size_t len = strlen(ref);
        size_t whole_size = 8 * len + 16; /* each byte can at most grow into "REDACTED" */
        char *whole = malloc(whole_size);
        if (!whole) abort();
        sf_yt_redact_url(ref, whole, whole_size);
        FUZZ_CHECK(strlen(whole) < whole_size - 1, "the whole result was cut");
        FUZZ_CHECK(redacted(whole), "a secret parameter kept its value: %s", whole);
        size_t small_size = 1 + (size ? data[size - 1] % 64 : 0);
        char *small = malloc(small_size); /* exactly that size: ASan sees any overrun */
        if (!small) abort();
        sf_yt_redact_url(ref, small, small_size);
        size_t n = strlen(small);
        FUZZ_CHECK(n < small_size, "%zu bytes in a buffer of %zu", n, small_size);
        FUZZ_CHECK(strncmp(small, whole, n) == 0, "the cut result is not a prefix of the whole one");
        free(small);
        free(whole);
        free(ref);
        return 0;
}
