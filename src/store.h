/* store.h - the object store: namespace directories under $SHMAP_ROOT, one
 * file per named object, and the protocol that makes a name live exactly as
 * long as its last handle (see store.c for how the locking works). */
#ifndef SHMAP_STORE_H
#define SHMAP_STORE_H

#include "header.h"
#include "names.h"

#include <pthread.h>

/* A namespace directory, opened and checked; shared and reference counted. */
struct store_ns;

/* A held name: an open file description of the object file that carries a
 * shared flock and is never mapped (a view keeps its file description
 * alive, and with it any lock on it).  Every hold is also in a
 * process-wide registry, so that a forked child can take holds of its own. */
struct store_hold {
    struct store_ns *ns; /* NULL for an unnamed object */
    int fd;              /* locked descriptor; -1 when nothing is held */
    uint64_t dev, ino;   /* identity of the object file */
    char file[SHMAP_NAME_MAX + 1];
    struct store_hold *prev, *next;
};

/* What to create when the name is absent. */
struct store_create {
    const struct object_header *header; /* written as the first page */
    uint64_t file_size;                 /* total size of the object file */
    bool commit;                        /* allocate the data range now */
    bool exclusive;                     /* fail with SHMAP_EEXIST if present */
    uint32_t mode;                      /* permission bits */
    /* If not NULL: called once with the new object file, complete but not
     * yet linked under its name (nobody else can reach it), e.g. to take a
     * new mutex's initial ownership.  A negative return fails the create.
     * The file may still be discarded (the name turned out to exist):
     * store_hold_name returning 0 says it became the object. */
    int (*prepared)(int fd, void *arg);
    void *prepared_arg;
};

/* Holds the object NAME of TYPE; creates it as CREATE says when absent
 * (CREATE NULL: open only).  Fills *hold, *header, and *data_fd with a
 * descriptor of the object file opened with OPEN_MODE (O_RDONLY or O_RDWR;
 * O_RDWR for a new object) for the caller to map.  Returns 0 (created), SHMAP_EXISTED, or an error
 * (SHMAP_ENOENT, SHMAP_ETYPE, SHMAP_EACCES, SHMAP_EEXIST, SHMAP_ENOMEM,
 * SHMAP_ESTORE, SHMAP_ECORRUPT, SHMAP_EMFILE, SHMAP_EBUSY, SHMAP_EIO). */
int store_hold_name(const struct name_ref *name, uint32_t type, int open_mode,
                    const struct store_create *create, struct store_hold *hold,
                    struct object_header *header, int *data_fd);

/* Holds the named object whose file FD is (received from another process,
 * or inherited), on an open file description of its own.  NAME is the full
 * name from its header. */
int store_hold_fd(int fd, const char *name, struct store_hold *hold);

/* Releases a hold.  If it was the last hold of the name in any process,
 * removes the name.  Safe on a hold whose fd is -1. */
void store_release(struct store_hold *hold);

/* Sweeps up to BUDGET entries of namespace NS for stale names. */
void store_sweep_some(struct store_ns *ns, unsigned budget);

/* If nobody holds the object file FD (named FILE in DIRFD), removes the
 * name.  Returns 1 if it was stale and removed, 0 if held, or an error
 * (SHMAP_EACCES: stale but not ours to remove). */
int store_remove_if_stale(int dirfd, const char *file, int fd);

/* Returns a new descriptor (close-on-exec) for the same file as FD with
 * its own open file description, opened with OPEN_MODE. */
int fd_reopen(int fd, int open_mode);

/* Takes (LOCK true) or drops the namespace cache lock, around fork. */
void store_ns_lock_for_fork(bool lock);

/* Locks and unlocks the view registry around fork (view.c). */
void view_lock_for_fork(bool lock);

/* Opens the namespace SCOPE, creating its directories if they are missing
 * and CREATE.  Errors: SHMAP_ENOENT (missing, not CREATE), SHMAP_ESTORE,
 * SHMAP_EACCES, SHMAP_EMFILE, SHMAP_EIO. */
int store_ns_get(uint32_t scope, bool create, struct store_ns **out);
void store_ns_put(struct store_ns *ns);
int store_ns_dirfd(const struct store_ns *ns);

/* Reads the next entry of the namespace's sweep cursor into NAME: 1, or 0
 * at the end of a pass (the cursor then starts over) or when another
 * thread is using the cursor. */
int store_ns_next_entry(struct store_ns *ns, char *name, size_t size);

/* True if huge pages can back objects of this namespace. */
bool store_ns_has_huge(struct store_ns *ns);

/* True if huge pages can back unnamed (memfd) objects. */
bool store_unnamed_has_huge(void);

#endif
