/* A line reader over a file (plain or gzip, detected from content; gzip
 * members may be concatenated) or stdin ("-"), for CSV input that may be
 * dirty. A line is returned as soon as it is complete, so a live pipe works.
 * Every line comes back with its
 * 1-based number; an over-long line or one holding NUL bytes is an error for
 * that line only and reading goes on with the next; an unreadable or
 * corrupt (truncated gzip) source is a fatal error. */
#ifndef SF_UTIL_LINES_H
#define SF_UTIL_LINES_H

#define SF_LINES_MAX (64 * 1024) /* the default longest line: longer ones are an error, not a crash */

#include <stddef.h>
#include <stdint.h>

typedef struct sf_lines sf_lines_t;

typedef enum {
        SF_LINES_OK = 0,    /* *line / *len hold the next line */
        SF_LINES_EOF = 1,   /* no more lines */
        SF_LINES_BAD = 2,   /* this line is too long or binary: errstr says
                             * "PATH:LINE: ..."; call again for the next line */
        SF_LINES_ERROR = 3, /* read error (I/O, corrupt gzip): errstr says
                             * "PATH:LINE: ..."; stop reading */
} sf_lines_status_t;

/* Opens path for reading, "-" meaning stdin (which may be gzip too). Lines
 * longer than max_len bytes (without the newline; 0 means SF_LINES_MAX)
 * are reported as SF_LINES_BAD. A missing or unreadable file is an error
 * "PATH: strerror". Returns a new reader (close with sf_lines_close) or
 * NULL. */
sf_lines_t *sf_lines_open(const char *path, size_t max_len, char *errstr, size_t errstr_size);

/* Reads the next line. On SF_LINES_OK *line points to the line without its
 * "\n" or "\r\n", NUL-terminated, valid until the next call; *len is its
 * length (never 0: empty lines, also a lone "\r", are skipped but counted).
 * *lineno is the line's 1-based number for every status but EOF. */
sf_lines_status_t sf_lines_next(sf_lines_t *lr, const char **line, size_t *len, uint64_t *lineno,
                                char *errstr, size_t errstr_size);

/* The first byte other than a blank (space, tab, CR, LF) still to be read,
 * without consuming anything: how a reader tells JSON lines ('{') from CSV.
 * Looks at most a line's length ahead. Returns the byte (0..255), 256 when there is
 * none (only blanks, or the end), or -1 on a read error (errstr). */
int sf_lines_peek(sf_lines_t *lr, char *errstr, size_t errstr_size);

/* The path given to sf_lines_open ("-" for stdin); owned by the reader. */
const char *sf_lines_path(const sf_lines_t *lr);

/* Closes the file (for "-": a private duplicate of stdin) and frees the
 * reader. NULL is a no-op. */
void sf_lines_close(sf_lines_t *lr);

#endif
