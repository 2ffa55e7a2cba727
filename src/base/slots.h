/* A counting semaphore that never waits: a number of slots in use, taken
 * only while fewer than a limit are. The bound on requests that wait on
 * PostgreSQL (app/db_wait.c) and on lists running at once
 * (app/list_table.c): over it, the request is refused at once. A leaf. */
#ifndef LTVD_BASE_SLOTS_H
#define LTVD_BASE_SLOTS_H

#include <stdatomic.h>
#include <stdbool.h>

/* Takes a slot of *used when fewer than limit are in use; false (nothing
 * taken) otherwise. Lock-free; safe from any thread. */
bool base_slot_take(atomic_long *used, long limit);

/* Gives back a slot taken by base_slot_take. */
void base_slot_give(atomic_long *used);

#endif
