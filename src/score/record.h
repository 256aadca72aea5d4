/* One Kafka record in the scorer: checking and parsing an NSL-KDD row
 * taken from a message value, the reason a record goes to the dead-letter
 * topic, and the prediction's JSON. */
#ifndef SF_SCORE_RECORD_H
#define SF_SCORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "data/kdd.h"

/* Why a record cannot be scored. The names (sf_score_reject_str) are the
 * `reason` header of its DLQ copy. */
typedef enum {
        SF_REJECT_NONE = 0,    /* scorable */
        SF_REJECT_EMPTY,       /* "empty": no bytes, or only a line ending */
        SF_REJECT_TOO_LONG,    /* "too_long": more than SF_KDD_MAX_LINE bytes */
        SF_REJECT_BINARY,      /* "binary": control bytes (NUL, ...) or invalid UTF-8 */
        SF_REJECT_FIELD_COUNT, /* "field_count": not 41, 42 or 43 fields */
        SF_REJECT_NON_NUMERIC, /* "non_numeric": text in a numeric field */
        SF_REJECT_NON_FINITE,  /* "non_finite": nan, inf, out of float range, out of range once
                                * scaled, or a non-finite model output */
        SF_REJECT_INVALID,     /* "invalid_field": anything else the parser refuses */
} sf_score_reject_t;

/* The reason's name ("field_count", ...); "none" for SF_REJECT_NONE. */
const char *sf_score_reject_str(sf_score_reject_t reason);

/* Parses a message value as an NSL-KDD row, the way `predict` parses a CSV
 * line, except that a label missing from the attack table does not reject
 * the row: its features are scored, row->label is -1, row->label_name holds
 * the label and *unknown_label is set to 1. A single trailing "\n" or
 * "\r\n" is ignored. Returns SF_REJECT_NONE, or the reason with errstr
 * saying which field (number and name) is wrong and how. */
sf_score_reject_t sf_score_parse(const char *value, size_t len, sf_kdd_row_t *row, int *unknown_label,
                                 char *errstr, size_t errstr_size);

/* sf_score_parse without its one-pass fast path: the same result for every
 * value, slower. The tests compare the two. */
sf_score_reject_t sf_score_parse_full(const char *value, size_t len, sf_kdd_row_t *row, int *unknown_label,
                                      char *errstr, size_t errstr_size);

/* After a parsed row is encoded into num (sf_kdd_encode_sparse): SF_REJECT_NONE,
 * or SF_REJECT_NON_FINITE with errstr naming the column whose scaled value
 * is not finite (a number near FLT_MAX overflows once scaled). */
sf_score_reject_t sf_score_check_encoded(const sf_kdd_row_t *row, const float *num, char *errstr,
                                         size_t errstr_size);

/* After the forward pass, a row's 5 probabilities: SF_REJECT_NONE, or
 * SF_REJECT_NON_FINITE with errstr when one is NaN or infinite. */
sf_score_reject_t sf_score_check_probs(const float *probs, char *errstr, size_t errstr_size);

/* What a prediction carries besides the probabilities. */
typedef struct sf_score_source {
        const char *topic; /* source topic (Kafka topic names need no JSON escaping) */
        int32_t partition;
        int64_t offset;
} sf_score_source_t;

/* Writes the prediction JSON for one row into buf:
 *   {"class":"DoS","class_index":1,"confidence":0.981234,
 *    "probabilities":{"normal":..,"DoS":..,"Probe":..,"R2L":..,"U2R":..},
 *    "topic":"connections","partition":0,"offset":42,
 *    "label":"DoS","label_index":1,"attack":"neptune",
 *    "unknown_label":true,"unseen":["service"]}
 * probs holds the 5 class probabilities; label/label_index/attack appear when
 * the row had a known label, "attack" + "unknown_label" when its label is
 * not in the attack table (the row is still scored); "unseen" lists the categorical values (protocol_type,
 * service, flag) never seen in training (unseen is a SF_KDD_UNSEEN_* mask).
 * Returns the length written (NUL-terminated), or 0 when buf is too small
 * (512 bytes always suffice). */
size_t sf_score_format(char *buf, size_t size, const float *probs, const sf_kdd_row_t *row, int unseen,
                       int unknown_label, const sf_score_source_t *src);

#endif
