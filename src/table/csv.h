/* CSV records as RFC 4180 writes them: fields separated by commas; a field
 * in double quotes may hold commas, line breaks and doubled quotes ("" for
 * one "); CRLF or LF line ends; empty lines between records are skipped.
 * An unquoted empty field is a missing value, a quoted empty field ("") an
 * empty string: sf_csv_field_t.quoted tells them apart. One tokenizer for
 * every reader: a record without a quote takes a fast path (memchr over
 * the commas), anything else the full state machine. */
#ifndef SF_TABLE_CSV_H
#define SF_TABLE_CSV_H

#include <stddef.h>
#include <stdint.h>

#define SF_CSV_MAX_FIELD  (64 * 1024)   /* bytes of one field, after unquoting */
#define SF_CSV_MAX_RECORD (1024 * 1024) /* bytes of one record, all its lines */

typedef struct sf_csv_field {
        const char *s; /* not NUL-terminated */
        size_t len;
        int quoted; /* was in quotes: "" is an empty string, not a missing value */
} sf_csv_field_t;

typedef enum {
        SF_CSV_OK = 0,
        SF_CSV_OPEN_QUOTE = 1, /* the record ends inside a quoted field: it continues on the next line */
        SF_CSV_BAD = 2,        /* malformed: *bad_field and *why say where and what */
} sf_csv_status_t;

/* Splits one record rec[0..len) (no trailing newline) into fields. Up to
 * max_fields are stored in fields; *n_fields counts them all. Quoted fields
 * are unquoted into scratch (len bytes), so fields point into rec or
 * scratch. On SF_CSV_BAD or SF_CSV_OPEN_QUOTE, *bad_field is the 0-based
 * field at fault and *why (static text) says what is wrong. */
sf_csv_status_t sf_csv_split(const char *rec, size_t len, sf_csv_field_t *fields, int max_fields,
                             int *n_fields, char *scratch, int *bad_field, const char **why);

/* The first CSV record of text[0..len), which may hold more records, one
 * after another, each ending at a line end ("\n" or "\r\n") outside
 * quotes: a quoted field may span lines, and its line breaks are the
 * record's, as they are in text. Quoting is read by sf_csv_split's rules;
 * a record found malformed ends at the end of the line where it went
 * wrong, one whose quote never closes takes the rest of text (sf_csv_split
 * on the record says what is wrong). *rec_len is the record's length
 * without its line end; returns the bytes it takes with its line end (the
 * next record starts there), at most len. */
size_t sf_csv_record_end(const char *text, size_t len, size_t *rec_len);

typedef struct sf_csv_reader sf_csv_reader_t;

typedef enum {
        SF_CSV_READ_OK = 0,    /* a record */
        SF_CSV_READ_EOF = 1,   /* no more records */
        SF_CSV_READ_BAD = 2,   /* this record is malformed (errstr "PATH:LINE:COL (name): ...");
                                * call again for the next one */
        SF_CSV_READ_ERROR = 3, /* unreadable input (I/O, corrupt gzip): stop */
} sf_csv_read_status_t;

/* Opens a CSV file, plain or gzip, or stdin ("-"). Records of more than
 * max_fields fields are read but their extra fields not stored. Returns a
 * new reader (sf_csv_close) or NULL with errstr "PATH: why". */
sf_csv_reader_t *sf_csv_open(const char *path, int max_fields, char *errstr, size_t errstr_size);

/* Column names for error messages (borrowed, must outlive the reader);
 * without them errors say only the column number. */
void sf_csv_set_names(sf_csv_reader_t *r, const char *const *names, int n);

/* The next record: *fields (valid until the next call) and *n_fields (all
 * of them, even beyond max_fields); *lineno is the line where the record
 * starts (every status but EOF). A record spanning lines reads a quoted
 * line break as "\n". */
sf_csv_read_status_t sf_csv_next(sf_csv_reader_t *r, const sf_csv_field_t **fields, int *n_fields,
                                 uint64_t *lineno, char *errstr, size_t errstr_size);

/* The next record as text (valid until the next call), without splitting
 * it: one line, or the lines of a record whose quoted field spans them,
 * joined by "\n". A line without a quote is returned as it is (its fields
 * are not looked at); a record with quotes is checked (malformed quoting is
 * SF_CSV_READ_BAD here). Give it to sf_row_from_csv_text. */
sf_csv_read_status_t sf_csv_next_text(sf_csv_reader_t *r, const char **text, size_t *len, uint64_t *lineno,
                                      char *errstr, size_t errstr_size);

/* "PATH:LINE:COL (name): why" (or without the name) into errstr, for errors
 * found after tokenizing (a bad number). col is 0-based. */
void sf_csv_error(const sf_csv_reader_t *r, uint64_t lineno, int col, const char *why, char *errstr,
                  size_t errstr_size);

/* The line reader beneath (owned by r): to peek at the content
 * (sf_lines_peek) before the first record, or to read a file that turns
 * out to hold JSON lines with sf_lines_next instead. */
struct sf_lines;
struct sf_lines *sf_csv_lines(sf_csv_reader_t *r);

/* The path given to sf_csv_open. */
const char *sf_csv_path(const sf_csv_reader_t *r);

/* NULL is a no-op. */
void sf_csv_close(sf_csv_reader_t *r);

#endif
