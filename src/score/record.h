/* One record to score, the same for `score` (a Kafka message value) and
 * `predict` (a row of a file): decoding it against the model's schema (CSV
 * or JSON), encoding it for the network, the reason a record cannot be
 * scored (a DLQ copy's `error` header), and the prediction's JSON. */
#ifndef SF_SCORE_RECORD_H
#define SF_SCORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "table/csv.h"
#include "table/encoder.h"
#include "table/row.h"
#include "table/schema.h"

/* Why a record cannot be scored. The names (sf_score_reject_str) are the
 * `error` header of its DLQ copy and the `reason` label of the metrics. */
typedef enum {
        SF_REJECT_NONE = 0,      /* scorable */
        SF_REJECT_EMPTY,         /* "empty": no bytes, or only blanks and a line ending */
        SF_REJECT_TOO_LONG,      /* "too_long": a record over 1 MiB or a CSV field over 64 KiB */
        SF_REJECT_BINARY,        /* "binary": a NUL or control byte, or invalid UTF-8, in a record
                                  * that does not decode (errstr gives the byte's 0-based position) */
        SF_REJECT_FIELD_COUNT,   /* "field_count": a CSV record with too few or too many fields */
        SF_REJECT_NOT_A_NUMBER,  /* "not_a_number": text in a numeric CSV column */
        SF_REJECT_NON_FINITE,    /* "non_finite": a number out of float range, out of range once
                                  * scaled, or a non-finite model output */
        SF_REJECT_NOT_JSON,      /* "not_json": not one JSON object */
        SF_REJECT_MISSING_FIELD, /* "missing_field": a feature column absent from a JSON record */
        SF_REJECT_WRONG_TYPE,    /* "wrong_type": a JSON value of the wrong type */
        SF_REJECT_BAD_UTF8,      /* "bad_utf8": a CSV string that is not valid UTF-8 */
        SF_REJECT_BAD_QUOTE,     /* "bad_quote": malformed CSV quoting */
        SF_REJECT_INVALID,       /* "invalid_field": anything else */
        SF_REJECT_TOO_MANY,      /* "too_many_records": a message of more than
                                  * SF_SCORE_MAX_RECORDS_PER_MESSAGE records (sent whole) */
} sf_score_reject_t;

#define SF_REJECT_COUNT (SF_REJECT_TOO_MANY + 1)

/* The reason's name ("field_count", ...); "none" for SF_REJECT_NONE. */
const char *sf_score_reject_str(sf_score_reject_t reason);

/* How message values are read: one CSV record, one JSON object, or by
 * content (the first non-blank byte '{' means JSON). */
typedef enum { SF_SCORE_AUTO = 0, SF_SCORE_CSV, SF_SCORE_JSON } sf_score_format_t;

/* "auto", "csv" or "json" into *out. Returns 0, or -1 for another name. */
int sf_score_format_parse(const char *name, sf_score_format_t *out);

/* The most records one message may carry (score --records-per-message
 * many, replay --records-per-message): a bigger message is not scored. */
#define SF_SCORE_MAX_RECORDS_PER_MESSAGE 10000

/* One record of a message of many: value[off..off+len), without its line end. */
typedef struct sf_score_span {
        size_t off, len;
} sf_score_span_t;

/* Splits a message value of many records, one after another on their own
 * lines: CSV records (sf_csv_record_end: a quoted field may span lines) or
 * JSON objects one per line; with SF_SCORE_AUTO, JSON when the value's
 * first non-blank byte is '{'. A blank line (nothing but spaces, tabs and
 * a CR) and a trailing line end are not records. Stores the first max
 * records in spans (max + 1 of them) and returns how many there are,
 * counting no further than max + 1 (more than max: too many). */
size_t sf_score_split(sf_score_format_t format, const char *value, size_t len, sf_score_span_t *spans,
                      size_t max);

/* The format sf_score_split reads value in: format, or for SF_SCORE_AUTO
 * JSON when value's first non-blank byte is '{', else CSV. */
sf_score_format_t sf_score_message_format(sf_score_format_t format, const char *value, size_t len);

/* What decoding and writing a record needs from the model, prepared once:
 * the schema, the encoder, a copy of the schema whose label column is a
 * plain string (a record whose label is neither a class nor in the map is
 * still scored) and the class and column names as JSON strings. */
typedef struct sf_score_decoder {
        const sf_schema_t *schema; /* borrowed */
        const sf_encoder_t *enc;   /* borrowed */
        sf_score_format_t format;
        sf_schema_t unlabeled; /* a shallow copy with its own cols */
        char **class_json;     /* [n_classes] "\"name\"" */
        size_t *class_json_len;
        char **col_json;  /* [n_cols] */
        size_t names_len; /* bytes of every class and column name as JSON */
        int n_dense;      /* enc->n_num + enc->n_flags */
} sf_score_decoder_t;

/* Prepares d for schema and enc (borrowed: they must outlive d). enc may be
 * NULL for sf_score_csv_to_json alone. Returns 0, or -1 when out of memory. */
int sf_score_decoder_init(sf_score_decoder_t *d, const sf_schema_t *schema, const sf_encoder_t *enc,
                          sf_score_format_t format);
void sf_score_decoder_free(sf_score_decoder_t *d);

/* What decoding found besides the values. */
typedef struct sf_score_info {
        int unknown_label; /* the label is neither a class nor in the map (row->label -1, its text
                            * in row->v[label_col]) */
        int col;           /* on a reject: the schema column at fault, or -1 */
        int odd;           /* after sf_score_encode: 0 when no value is missing or unseen (the
                            * prediction lists none, without looking); 1 otherwise or not known */
} sf_score_info_t;

/* Decodes a message value[0..len) of one record into row (initialised for
 * d->schema; its strings point into value or the row). As CSV: blank lines
 * around the record are ignored and a second record is refused
 * (too_many_records). Returns SF_REJECT_NONE, or the reason with errstr
 * saying what is wrong ("not a number: \"abc\"") and info->col the column
 * at fault (the caller says where). sf_score_decode_as decodes one record
 * that sf_score_split found, as format (the one its message was split in)
 * instead of d's, without looking for a second record. */
sf_score_reject_t sf_score_decode_as(const sf_score_decoder_t *d, sf_score_format_t format, const char *value,
                                     size_t len, sf_row_t *row, sf_score_info_t *info, char *errstr,
                                     size_t errstr_size);
sf_score_reject_t sf_score_decode(const sf_score_decoder_t *d, const char *value, size_t len, sf_row_t *row,
                                  sf_score_info_t *info, char *errstr, size_t errstr_size);

/* Encodes a decoded row: dense (d->n_dense) and hot (enc->n_cat) as
 * sf_encoder_encode_sparse, status (enc->n_cat) SF_ENC_* per categorical
 * column, info->odd. Returns SF_REJECT_NONE, or SF_REJECT_NON_FINITE with
 * errstr (what) and info->col (the column) when a scaled number is not
 * finite. */
sf_score_reject_t sf_score_encode(const sf_score_decoder_t *d, const sf_row_t *row, float *dense,
                                  int32_t *hot, uint8_t *status, sf_score_info_t *info, char *errstr,
                                  size_t errstr_size);

/* After the forward pass, a row's probabilities (classes of them):
 * SF_REJECT_NONE, or SF_REJECT_NON_FINITE with errstr when one is NaN or
 * infinite. */
sf_score_reject_t sf_score_check_probs(const float *probs, int classes, char *errstr, size_t errstr_size);

/* Where a prediction's record came from: a Kafka record (topic set) or a
 * line of a file (topic NULL; file NULL leaves the file out). */
typedef struct sf_score_source {
        const char *topic;
        int32_t partition;
        int64_t offset;
        const char *file;
        uint64_t line;
        int indexed;    /* 1: the record is one of a message of many; "index" follows "offset" */
        uint32_t index; /* its 0-based index in the message */
} sf_score_source_t;

/* Writes the prediction JSON of one row into buf:
 *   {"class":"DoS","class_index":1,"confidence":0.981234,
 *    "probabilities":{"normal":0.010000,"DoS":0.981234,...},
 *    "topic":"connections","partition":0,"offset":42,     (or "file":..,"line":..)
 *    "index":3,                                            (src->indexed only)
 *    "label":"DoS","label_index":1,"label_value":"neptune",
 *    "unknown_label":true,"unseen":["service"],"missing":["age"]}
 * probs holds the schema's classes' probabilities. "label"/"label_index"
 * appear when the row has a label; "label_value" (the raw value) when the
 * schema maps raw values to classes, or the label is unknown (then also
 * "unknown_label"); "unseen" lists the categorical columns whose value was
 * never seen in training, "missing" the feature columns without a value,
 * each in file order. info is what sf_score_decode and sf_score_encode said.
 * Returns the length of the JSON (without the NUL); when it is >= size
 * nothing usable was written: call again with a buffer of that size + 1. */
size_t sf_score_format(const sf_score_decoder_t *d, char *buf, size_t size, const float *probs,
                       const sf_row_t *row, const uint8_t *status, const sf_score_info_t *info,
                       const sf_score_source_t *src);

/* A CSV record of the schema (its fields, n_fields == the schema's columns)
 * as one JSON object named by the columns, into buf: an unquoted empty
 * field is null; a field of a numeric or ignore column that is a number is
 * a JSON number (as written when it is JSON's syntax, else the value);
 * anything else a string. Returns the length (without the NUL); when it is
 * >= size nothing usable was written: call again with that size + 1. */
size_t sf_score_csv_to_json(const sf_score_decoder_t *d, const sf_csv_field_t *fields, int n_fields,
                            char *buf, size_t size);

#endif
