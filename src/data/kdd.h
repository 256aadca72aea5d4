/* NSL-KDD rows for the scoring paths that have not moved to src/table yet:
 * parsing a row, mapping attack names to the five classes, and encoding a
 * row into the model's 122 inputs with an encoder taken from a model file.
 * Training reads, fits and encodes through src/table.
 *
 * Input layout (n_inputs = 38 + n_proto + n_service + n_flag, 122 for
 * KDDTrain+):
 *   [0, 38)                  the 38 numeric columns in file order, scaled as
 *                            (x - mean) / std (std 0 divides by 1)
 *   [38, 38+n_proto)         one-hot protocol_type
 *   [.., +n_service)         one-hot service
 *   [.., +n_flag)            one-hot flag
 * Each vocabulary is the sorted (strcmp) set of values in the training file;
 * a value never seen in training encodes as all zeros and is reported. */
#ifndef SF_DATA_KDD_H
#define SF_DATA_KDD_H

#include <stddef.h>
#include <stdint.h>

#define SF_KDD_NFEATURES 41 /* columns before the label */
#define SF_KDD_NNUMERIC  38
#define SF_KDD_NCLASSES  5
#define SF_KDD_MAX_LINE  (64 * 1024) /* longer lines are an error, not a crash */

typedef enum { SF_CLASS_NORMAL, SF_CLASS_DOS, SF_CLASS_PROBE, SF_CLASS_R2L, SF_CLASS_U2R } sf_kdd_class_t;

/* "normal", "DoS", "Probe", "R2L", "U2R"; NULL out of range. */
const char *sf_kdd_class_name(int cls);

/* The class of a label ("neptune" -> SF_CLASS_DOS, "normal" -> NORMAL), or
 * -1 for a name not in the mapping table. */
int sf_kdd_label_class(const char *label);

/* Column name of field i (0-based, 0..42): "duration", ..., "label", "difficulty". */
const char *sf_kdd_field_name(int i);

/* One parsed row, before encoding. */
typedef struct sf_kdd_row {
        float num[SF_KDD_NNUMERIC]; /* the numeric columns, file order */
        char proto[16], service[32], flag[16];
        int label;           /* class index, or -1 when the row has no label */
        char label_name[32]; /* the raw label ("neptune"), "" when absent */
        int difficulty;      /* -1 when absent */
} sf_kdd_row_t;

/* Parses one CSV line of 41 fields (features only), 42 (+ label) or 43
 * (+ difficulty); one trailing "\n", "\r\n" or "\r" is accepted (Kafka
 * payloads may carry one). Rejects a
 * wrong field count, a non-numeric or non-finite number, an over-long
 * categorical value, an unknown label, NUL bytes, invalid UTF-8. Returns 0, or -1 with
 * errstr naming the field number and name and what is wrong (the caller
 * prefixes file:line). */
int sf_kdd_parse_line(const char *line, size_t len, sf_kdd_row_t *row, char *errstr, size_t errstr_size);

/* The usual form of a row's 41 features, parsed in one pass: every number
 * a plain decimal of at most 15 digits ("0", "0.05", "491") and every word
 * printable ASCII. Fills row->num, proto, service and flag exactly as
 * sf_kdd_parse_line would and returns where the features end (the index of
 * the ',' after the 41st, or len). Returns -1 for anything else, valid or
 * not (an exponent, a wrong field count, a bad byte, ...): the caller then
 * takes the full parser, which decides and says what is wrong. */
long sf_kdd_parse_features_fast(const char *line, size_t len, sf_kdd_row_t *row);

/* After it, the label at line[pos] (pos == len: there is none) in its usual
 * form, 1 to 31 bytes of printable ASCII: copies it to row->label_name and
 * sets row->label to its class (-1 when not in the attack table) and
 * row->difficulty to -1. Returns the index of the ',' that follows it (a
 * difficulty comes next), len when the row ends there or has no label, or
 * -1 when the label is not in that form (the full parser decides). */
long sf_kdd_parse_label_fast(const char *line, size_t len, size_t pos, sf_kdd_row_t *row);

/* Vocabularies and scaler, from a model file. */
typedef struct sf_kdd_encoder {
        int n_proto, n_service, n_flag;
        char **proto, **service, **flag; /* sorted, owned */
        /* A hash index over each vocabulary (proto, service, flag): slot ->
         * entry + 1, 0 when empty; (mask + 1) slots, at most half used. */
        uint16_t *index[3];
        uint32_t index_mask[3];
        float mean[SF_KDD_NNUMERIC], std[SF_KDD_NNUMERIC];
        int n_inputs;
} sf_kdd_encoder_t;

/* Which categorical values of a row were unseen in training. */
enum { SF_KDD_UNSEEN_PROTO = 1, SF_KDD_UNSEEN_SERVICE = 2, SF_KDD_UNSEEN_FLAG = 4 };

/* NULL is a no-op. */
void sf_kdd_encoder_destroy(sf_kdd_encoder_t *enc);

/* An encoder from stored parts (a model file's metadata): copies the
 * vocabularies, which must each be sorted by strcmp with no duplicates, and
 * the 38 means and deviations (a deviation <= 0 or non-finite is an error;
 * store 1 for a zero-variance column). Returns a new encoder or NULL. */
sf_kdd_encoder_t *sf_kdd_encoder_new(int n_proto, const char *const *proto, int n_service,
                                     const char *const *service, int n_flag, const char *const *flag,
                                     const float *mean, const float *std, char *errstr, size_t errstr_size);

/* The encoder of an NSL-KDD model file (a table encoder of 38 numeric
 * columns without "was missing" inputs and 3 categorical ones), for the
 * scoring paths that still read rows with sf_kdd_parse_line. Returns a new
 * encoder, or NULL with errstr for a model of another table. */
struct sf_encoder;
sf_kdd_encoder_t *sf_kdd_encoder_from_table(const struct sf_encoder *enc, char *errstr, size_t errstr_size);

/* After sf_kdd_encode_sparse: 0 when the 38 scaled numeric values num are
 * finite, else -1 with errstr naming the
 * first column that is not ("field 1 (duration): 3.4e+38 ..."). A number
 * close to FLT_MAX parses but overflows once scaled; such a row must not be
 * scored (the network would turn the inf into NaN, and ReLU the NaN into 0). */
int sf_kdd_check_scaled(const sf_kdd_row_t *row, const float *num, char *errstr, size_t errstr_size);

/* Encodes a row for a first layer that gathers instead of multiplying (the
 * compact form of the layout above): num gets the 38 scaled numeric values and hot[0..3) the
 * input index (38 + ...) of the protocol, service and flag one-hot, or -1
 * for an unseen value. Returns the SF_KDD_UNSEEN_* mask. */
int sf_kdd_encode_sparse(const sf_kdd_encoder_t *enc, const sf_kdd_row_t *row, float *num, int32_t hot[3]);

#endif
