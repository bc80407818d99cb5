/*
 * links.h - hard-link groups in a tree copy (see links.c).
 */
#ifndef COWCOPY_LINKS_H
#define COWCOPY_LINKS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct cowcopy__links cowcopy__links;

cowcopy__links *cowcopy__links_new(void);
void cowcopy__links_free(cowcopy__links *l);

/*
 * Claim the source inode (dev, ino), whose copy would be at relpath.
 * @return 1: the caller is first and must copy it, then call
 *            cowcopy__links_finish();
 *         0: an earlier copy exists; *first is its relative path (malloc'ed,
 *            the caller frees it) and the caller should hard-link to it;
 *         -ENOMEM.
 * Waits while another thread is copying the same inode.
 */
int cowcopy__links_claim(cowcopy__links *l, dev_t dev, ino_t ino, const char *relpath,
                         char **first);

/* The first copy of (dev, ino) is done (copied) or failed (the next claimer
 * copies it instead). Wakes the waiters. */
void cowcopy__links_finish(cowcopy__links *l, dev_t dev, ino_t ino, bool copied);

#endif
