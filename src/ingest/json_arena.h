/* A per-thread bump allocator for jansson while one request body is parsed
 * by the jansson reader (ingest_batch_parse_jansson: the bodies the one-pass
 * reader declines): a 1000-item batch is some 10,000 small objects, strings
 * and hash tables, freed all at once a moment later, and malloc and free
 * were a quarter of that parse. Outside ingest_json_arena_begin/end jansson
 * allocates and frees with malloc and free as usual. Between them a free is
 * a no-op, so memory grows with what jansson allocates in total, not with
 * what it holds at once: the caller bounds the body's JSON values before
 * parsing (ingest_body_scan). */
#ifndef LTVD_INGEST_JSON_ARENA_H
#define LTVD_INGEST_JSON_ARENA_H

/* Hands jansson the allocator. Call once, before any thread uses jansson
 * (main does); until then begin/end change nothing. */
void ingest_json_arena_init(void);

/* From begin to end, this thread's jansson allocations come from its arena;
 * at end they are all released at once: every json_t made in between must
 * have been freed (decref'd) by then, and none made before begin may be
 * freed in between on this thread (it would leak). Not nested. */
void ingest_json_arena_begin(void);
void ingest_json_arena_end(void);

#endif
