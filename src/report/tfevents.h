/* TensorBoard event files: TFRecord framing around Event protobufs, written
 * by hand (no TensorFlow, no protobuf library).
 *
 * A record is: uint64 length (LE), uint32 masked CRC32C of those 8 bytes,
 * the data, uint32 masked CRC32C of the data. The first Event carries
 * file_version "brain.Event:2"; each scalar is an Event {wall_time, step,
 * summary {value {tag, simple_value}}}. */
#ifndef SF_REPORT_TFEVENTS_H
#define SF_REPORT_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sf_tfevents sf_tfevents_t;

/* Creates a new run directory logdir/name (logdir made first, as mkdir
 * -p), or logdir/name-2, -3, ... when that one exists already (two runs
 * started in the same second stay two runs in TensorBoard), and writes its
 * path into out. Returns 0, or -1 with errstr. */
int sf_tfevents_run_dir(const char *logdir, const char *name, char *out, size_t out_size, char *errstr,
                        size_t errstr_size);

/* Creates dir (and its parents) if needed and a new event file in it named
 * events.out.tfevents.<unix time>.<hostname>.<pid>.<n>.v2 as TF2's writers
 * name them (n counts the files this process opened, so two writers never
 * share a file; TensorBoard reads any name containing "tfevents"), then writes the
 * file_version event. Returns a new writer (close with sf_tfevents_close) or
 * NULL with errstr naming the path. */
sf_tfevents_t *sf_tfevents_open(const char *dir, char *errstr, size_t errstr_size);

/* Appends a scalar event (wall time now). The data reaches the file at
 * sf_tfevents_flush / close. Returns 0 or -1. */
int sf_tfevents_scalar(sf_tfevents_t *w, const char *tag, int64_t step, float value, char *errstr,
                       size_t errstr_size);

/* Pushes everything written so far to the file (call after each epoch so
 * TensorBoard sees it live). Returns 0 or -1. */
int sf_tfevents_flush(sf_tfevents_t *w, char *errstr, size_t errstr_size);

/* Full path of the event file; owned by the writer. */
const char *sf_tfevents_path(const sf_tfevents_t *w);

/* Flushes, closes and frees. Returns 0, or -1 if the final write failed
 * (the writer is freed either way). NULL is a no-op returning 0. */
int sf_tfevents_close(sf_tfevents_t *w, char *errstr, size_t errstr_size);

/* CRC32C (Castagnoli) of data, as TFRecord uses it; crc32c("123456789")
 * is 0xE3069283. */
uint32_t sf_crc32c(const void *data, size_t len);

/* TFRecord's masking of a CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8. */
uint32_t sf_tfrecord_mask(uint32_t crc);

/* Appends one framed record holding data[0..len) to buf, which must have
 * room for len + 16 bytes. Returns the bytes written (len + 16). */
size_t sf_tfrecord_frame(uint8_t *buf, const void *data, size_t len);

#endif
