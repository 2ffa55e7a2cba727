/* Scoring a page's histories ahead, on a second thread: a list page at a
 * custom horizon whose histories are not in the process's memo
 * (score_memo.h) costs about 6 us of CPU per customer (BG/NBD, 36 months);
 * while the request's thread scores the first half of such a page, a
 * helper puts the second half's numbers into the memo, where the request
 * then finds them. Both take the second half's customers from one shared
 * index, so the request's thread, arriving there, scores what the helper
 * has not reached instead of waiting for it (and can stop for its budget
 * between two). The values are the memo's own (cache_score_memo_row), so
 * the page is the same with or without the helper. */
#ifndef LTVD_CACHE_SCORE_AHEAD_H
#define LTVD_CACHE_SCORE_AHEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "cache/scores.h"

typedef struct cache_score_ahead cache_score_ahead;

/* Starts a thread that asks the memo for s[0..n) under sp, in order (the
 * summaries and sp are copied; m must stay referenced until the end).
 * NULL when n is 0, when the process may run on one CPU only, or when no
 * memory or thread could be had: the caller then scores them itself, as it
 * would anyway. */
cache_score_ahead *cache_score_ahead_start(const cache_model *m,
                                           const cache_scores_spec *sp,
                                           const cache_summary *const *s, size_t n);

/* Scores (into the memo) the next of a's customers that nobody has taken
 * yet, on the caller's thread: false when none was left (a NULL: none). */
bool cache_score_ahead_help(cache_score_ahead *a);

/* Stops the thread (it ends the customer it is scoring, at most one),
 * waits for it and frees a (NULL: nothing). */
void cache_score_ahead_end(cache_score_ahead *a);

#endif
