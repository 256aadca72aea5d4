/* The TensorBoard reader. The first byte picks the form of the rest: an
 * event file read by sf_tfevents_read_file (from an in-memory file), or one
 * Event protobuf, decoded by sf_tfevent_decode and also framed as a
 * one-record file with correct CRCs, which the file reader must read to
 * the same event. */
#include "harness.h"
#include "report/tfevents.h"
#include "report/tfevents_read.h"

static void check_event(const sf_tfevent_t *ev) {
        FUZZ_CHECK(ev->n_values >= 0 && ev->n_values <= SF_TFEVENT_MAX_VALUES, "%d values", ev->n_values);
        FUZZ_CHECK(memchr(ev->file_version, '\0', sizeof(ev->file_version)), "file_version not terminated");
        for (int i = 0; i < ev->n_values; i++)
                FUZZ_CHECK(memchr(ev->values[i].tag, '\0', sizeof(ev->values[i].tag)), "tag not terminated");
}

static int read_file(const uint8_t *data, size_t size, sf_tfevent_t **events, size_t *n, char *err,
                     size_t err_size) {
        char path[64];
        int fd = fuzz_memfile(data, size, path, sizeof(path));
        int rc = sf_tfevents_read_file(path, events, n, err, err_size);
        close(fd);
        return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1) return 0;
        const uint8_t *body = data + 1;
        size_t len = size - 1;
        char err[512] = "";
        sf_tfevent_t *events = NULL;
        size_t n = 0;
        if (data[0] & 1) {
                int rc = read_file(body, len, &events, &n, err, sizeof(err));
                if (rc == 0) {
                        for (size_t i = 0; i < n; i++) check_event(&events[i]);
                } else {
                        FUZZ_CHECK(events == NULL && n == 0 && err[0], "failed read: %p, %zu, '%s'",
                                   (void *)events, n, err);
                }
                free(events);
                return 0;
        }

        sf_tfevent_t *ev = malloc(sizeof(*ev));
        uint8_t *framed = malloc(len + 16);
        if (!ev || !framed) abort();
        int rc = sf_tfevent_decode(body, len, ev, err, sizeof(err));
        if (rc == 0) check_event(ev);
        FUZZ_CHECK(rc == 0 || err[0], "decode failed without a message");
        size_t flen = sf_tfrecord_frame(framed, body, len);
        FUZZ_CHECK(flen == len + 16, "framed %zu bytes into %zu", len, flen);
        int rc2 = read_file(framed, flen, &events, &n, err, sizeof(err));
        FUZZ_CHECK((rc == 0) == (rc2 == 0), "decode %d, file reader %d (%s)", rc, rc2, err);
        if (rc == 0) {
                FUZZ_CHECK(n == 1, "one record read as %zu events", n);
                FUZZ_CHECK(memcmp(ev, &events[0], sizeof(*ev)) == 0, "the file reader decoded another event");
        }
        free(events);
        free(framed);
        free(ev);
        return 0;
}
