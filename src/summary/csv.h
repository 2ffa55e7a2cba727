/* A small CSV reader (RFC 4180): one record at a time, quoted fields with ""
 * escapes and embedded commas and newlines, LF or CRLF line ends, a UTF-8
 * byte order mark, a last line without a newline. A file is read whole
 * (csv_open: the fastest, memory the file's size), a stream line by line
 * (csv_open_stream); both read the same records. Depends on libc only.
 *
 * Leniencies: blank lines are skipped; a quote inside an unquoted field is
 * kept as a literal character. Errors: an unterminated quoted field, text
 * after a closing quote, a NUL byte. Every error message reads
 * "FILE:LINE: reason", LINE being the physical line where the record starts
 * (for text after a closing quote and NUL bytes: the line where it is). */
#ifndef LTVD_SUMMARY_CSV_H
#define LTVD_SUMMARY_CSV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct csv_reader csv_reader;

/* Opens path and reads it whole (one read; the file's size in memory, its
 * records then cut in place). On failure (open, read, out of memory) returns
 * NULL and writes "FILE: reason" to err (err_size bytes). The reader is freed
 * by csv_close. */
csv_reader *csv_open(const char *path, char *err, size_t err_size);

/* Reads from fp (from its current position) instead, naming it `name` in
 * messages (e.g. "-" for stdin). fp stays the caller's: csv_close does not
 * close it. Returns NULL only when out of memory ("NAME: out of memory"). */
csv_reader *csv_open_stream(FILE *fp, const char *name, char *err, size_t err_size);

/* Closes the file (csv_open's) and frees the reader (and its fields). NULL is allowed. */
void csv_close(csv_reader *r);

/* For a reader of csv_open: hands the file's text, which every field read so
 * far points into, to the caller (free it with free()), so that fields stay
 * valid after csv_close. The reader then has no more records (csv_next
 * returns 0). Returns NULL for a reader of csv_open_stream. */
char *csv_take_text(csv_reader *r);

/* Reads the next record. Returns 1 with a record, 0 at the end of the file,
 * -1 on a read or syntax error ("FILE:LINE: reason" written to err). */
int csv_next(csv_reader *r, char *err, size_t err_size);

/* Fields of the current record; strings are owned by the reader and valid
 * until the next csv_next or csv_close (a file's: until csv_close, or as long
 * as csv_take_text's text). i must be < csv_count. */
size_t csv_count(const csv_reader *r);
const char *csv_field(const csv_reader *r, size_t i);

/* Physical line number (1-based) where the current record starts; after
 * csv_next returned 0, the line after the last one. */
long csv_line(const csv_reader *r);

/* Index of the field of the current record equal to name (surrounding
 * spaces ignored), or -1 if none. Meant for the header record. */
long csv_find(const csv_reader *r, const char *name);

/* Writes "FILE:LINE: " followed by the formatted message to err, LINE being
 * csv_line(r). For callers reporting errors about the current record. */
void csv_errorf(const csv_reader *r, char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
