/*
 * links.c - hard-link groups in a tree copy (cp's --preserve=links).
 *
 * A table from the source inode (dev, ino) to where its first copy went,
 * relative to the destination root. The first thread to meet an inode copies
 * it; a thread meeting another link to it waits until that copy is done and
 * then hard-links to it. If the first copy fails, the next claimer copies
 * instead. Only inodes with more than one link are entered, so the table
 * stays small for ordinary trees.
 */
#include "links.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum link_state { LINK_EMPTY = 0, LINK_COPYING, LINK_DONE, LINK_FAILED };

struct link_entry {
    dev_t dev;
    ino_t ino;
    int state;
    char *relpath; /* of the first copy, relative to the destination root */
};

struct cowcopy__links {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct link_entry *slots;
    size_t cap, used;
};

cowcopy__links *cowcopy__links_new(void)
{
    cowcopy__links *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->changed, NULL);
    return l;
}

void cowcopy__links_free(cowcopy__links *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->cap; i++)
        free(l->slots[i].relpath);
    free(l->slots);
    pthread_cond_destroy(&l->changed);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static size_t link_hash(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4FULL;
    return (size_t)(h ^ (h >> 29));
}

/* The slot for (dev, ino): its entry, or the empty slot where it belongs. */
static struct link_entry *link_find(cowcopy__links *l, dev_t dev, ino_t ino)
{
    size_t mask = l->cap - 1;
    for (size_t i = link_hash(dev, ino) & mask;; i = (i + 1) & mask) {
        struct link_entry *e = &l->slots[i];
        if (e->state == LINK_EMPTY || (e->dev == dev && e->ino == ino))
            return e;
    }
}

static int link_grow(cowcopy__links *l)
{
    size_t cap = l->cap ? l->cap * 2 : 64;
    struct link_entry *old = l->slots;
    size_t old_cap = l->cap;
    l->slots = calloc(cap, sizeof *l->slots);
    if (!l->slots) {
        l->slots = old;
        return -ENOMEM;
    }
    l->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].state != LINK_EMPTY)
            *link_find(l, old[i].dev, old[i].ino) = old[i];
    free(old);
    return 0;
}

int cowcopy__links_claim(cowcopy__links *l, dev_t dev, ino_t ino, const char *relpath,
                         char **first)
{
    int r;
    pthread_mutex_lock(&l->lock);
    if ((l->used + 1) * 10 > l->cap * 7 && (r = link_grow(l)) < 0)
        goto out;
    struct link_entry *e;
    for (;;) {
        e = link_find(l, dev, ino);
        if (e->state != LINK_COPYING)
            break;
        pthread_cond_wait(&l->changed, &l->lock); /* the table may grow meanwhile */
    }
    if (e->state == LINK_DONE) {
        *first = strdup(e->relpath);
        r = *first ? 0 : -ENOMEM;
        goto out;
    }
    char *copy = strdup(relpath);
    if (!copy) {
        r = -ENOMEM;
        goto out;
    }
    if (e->state == LINK_EMPTY)
        l->used++;
    free(e->relpath);
    *e = (struct link_entry){.dev = dev, .ino = ino, .state = LINK_COPYING, .relpath = copy};
    r = 1;
out:
    pthread_mutex_unlock(&l->lock);
    return r;
}

void cowcopy__links_finish(cowcopy__links *l, dev_t dev, ino_t ino, bool copied)
{
    pthread_mutex_lock(&l->lock);
    struct link_entry *e = link_find(l, dev, ino);
    if (e->state == LINK_COPYING)
        e->state = copied ? LINK_DONE : LINK_FAILED;
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->lock);
}
