/* Reading TensorBoard event files back: every record's two CRCs are
 * verified and every Event field decoded. Used by the tests to check what
 * the writer (and `streamflow train`) produced. */
#ifndef SF_REPORT_TFEVENTS_READ_H
#define SF_REPORT_TFEVENTS_READ_H

#include <stddef.h>
#include <stdint.h>

#define SF_TFEVENT_MAX_VALUES 16

/* One decoded Event. Fields absent from the record keep has_* = 0. */
typedef struct sf_tfevent {
        int has_wall_time, has_step, has_file_version, has_summary;
        double wall_time;
        int64_t step;
        char file_version[64];
        int n_values; /* summary.value entries */
        struct {
                char tag[128];
                int has_simple_value;
                float simple_value;
        } values[SF_TFEVENT_MAX_VALUES];
} sf_tfevent_t;

/* Decodes an Event protobuf. Unknown fields are skipped (wire types 0, 1,
 * 2, 5); a truncated varint or length, a wrong wire type for a known field,
 * an over-long tag or too many values is an error. Returns 0 or -1. */
int sf_tfevent_decode(const uint8_t *data, size_t len, sf_tfevent_t *ev, char *errstr, size_t errstr_size);

/* Reads a whole event file: each record's length CRC and data CRC are
 * checked and each Event decoded into a new array *events of *n entries
 * (caller frees with free()). A bad CRC, a truncated record or an
 * undecodable Event is an error naming the path, record number and byte
 * offset. Returns 0 or -1 (*events NULL). */
int sf_tfevents_read_file(const char *path, sf_tfevent_t **events, size_t *n, char *errstr,
                          size_t errstr_size);

#endif
