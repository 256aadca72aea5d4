/* sf_yt_scrub with short and odd secrets: the first byte gives the secret's
 * length (1 to 8), the next bytes are the secret (up to a NUL), the rest the
 * message (up to a NUL), scrubbed in a buffer of exactly its size. A secret
 * of 3 bytes or more without a '*' must leave no copy of itself. */
#include "harness.h"
#include "youtube/youtube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2) return 0;
        size_t want = 1 + data[0] % 8;
        if (want > size - 1) want = size - 1;
        char *secret = fuzz_cstr(data + 1, want);
        char *msg = fuzz_cstr(data + 1 + want, size - 1 - want);
        size_t before = strlen(msg);
        char *buf = fuzz_cstr((const uint8_t *)msg, before); /* exactly strlen + 1 bytes */

        sf_yt_scrub(buf, secret);

        size_t after = strlen(buf);
        FUZZ_CHECK(after <= before, "the message grew from %zu to %zu bytes", before, after);
        if (strlen(secret) >= 3 && !strchr(secret, '*'))
                FUZZ_CHECK(!strstr(buf, secret), "the secret is still in the message");
        free(buf);
        free(msg);
        free(secret);
        return 0;
}
