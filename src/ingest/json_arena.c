/* A per-thread bump allocator for jansson (see json_arena.h). */
#include "ingest/json_arena.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Under glibc's mmap threshold, so a block comes from the heap, not mmap. */
#define BLOCK_BYTES ((size_t)64 * 1024)
#define ALIGN 16

typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(ALIGN) unsigned char data[];
} block;

/* The thread's blocks, newest first, while a body is parsed. */
static _Thread_local block *blocks;
static _Thread_local bool active;

static void *arena_malloc(size_t n)
{
    if (!active)
        return malloc(n);
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    block *b = blocks;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
        block *nb = malloc(sizeof *nb + cap);
        if (nb == NULL)
            return NULL;
        *nb = (block){.next = b, .used = 0, .cap = cap};
        blocks = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static bool in_arena(const void *p)
{
    for (const block *b = blocks; b != NULL; b = b->next) {
        if ((uintptr_t)p >= (uintptr_t)b->data && (uintptr_t)p < (uintptr_t)(b->data + b->cap))
            return true;
    }
    return false;
}

/* Arena memory goes back at ingest_json_arena_end; the rest to malloc. */
static void arena_free(void *p)
{
    if (p != NULL && !in_arena(p))
        free(p);
}

void ingest_json_arena_init(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void ingest_json_arena_begin(void)
{
    active = true;
}

void ingest_json_arena_end(void)
{
    active = false;
    while (blocks != NULL) { /* none kept: a thread may end at any time */
        block *b = blocks;
        blocks = b->next;
        free(b);
    }
}
