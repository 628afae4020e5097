/* store.c - the lifetime protocol: a name lives exactly as long as its last
 * handle, in any process, also when processes crash.
 *
 * Every handle holds a shared flock(2) on an open file description (OFD)
 * of its own of the object file.  The kernel drops that lock when the last
 * reference to the OFD goes, including when the process dies, so "is any
 * handle left?" is "can I get an exclusive lock?".  No namespace lock is
 * needed, because every transition is checked against the name:
 *
 *  - Create prepares a complete object (header written, memory committed)
 *    as an unnamed O_TMPFILE, takes its shared lock, and only then links it
 *    under its name with linkat(), which fails if the name exists.  So a
 *    linked object always has a holder and a valid header.
 *  - Open opens the file, tries an exclusive non-blocking lock: if granted,
 *    nobody holds the name (its holders crashed), so it is stale: unlink it
 *    and treat the name as absent.  Otherwise it waits for a shared lock,
 *    then checks that the name still refers to the file it locked (a closer
 *    may have removed it meanwhile); if not, it starts over.
 *  - Close-last converts its lock to exclusive without blocking; if that is
 *    granted no other handle exists, and, after checking that the name
 *    still refers to this file, it unlinks the name.  While it holds the
 *    exclusive lock nobody else can take the name over (that needs a lock
 *    on the same file), so check-then-unlink is safe.
 *
 * Locks are flock(), never fcntl() record locks, which any close() of the
 * file by the process would drop.  Because flock belongs to the OFD, the
 * locked descriptor is never mmap()ed (a view would keep the OFD, and its
 * lock, alive), and a forked child replaces each inherited locked
 * descriptor by a new OFD with a lock of its own, so that parent and child
 * are two holders, as two processes with handles should be. */
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bound on restarts when the name keeps changing under us. */
#define STORE_MAX_TRIES 1000

/* Internal status: the name changed under us; start over. */
#define TRY_AGAIN 2

static pthread_mutex_t holds_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_hold holds_head = {.prev = &holds_head, .next = &holds_head};
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    pthread_mutex_lock(&holds_lock);
    store_ns_lock_for_fork(true);
    view_lock_for_fork(true);
}

static void fork_parent(void)
{
    view_lock_for_fork(false);
    store_ns_lock_for_fork(false);
    pthread_mutex_unlock(&holds_lock);
}

/* Writes "/proc/self/fd/N" into BUF without stdio (fork child context). */
static void proc_fd_path(int fd, char *buf)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[16];
    int n = 0;
    do {
        digits[n++] = (char)('0' + fd % 10);
        fd /= 10;
    } while (fd > 0);
    memcpy(buf, prefix, sizeof prefix - 1);
    char *p = buf + sizeof prefix - 1;
    while (n > 0)
        *p++ = digits[--n];
    *p = '\0';
}

int fd_reopen(int fd, int open_mode)
{
    char path[32];
    proc_fd_path(fd, path);
    int nfd = open(path, open_mode | O_CLOEXEC | O_NOCTTY);
    if (nfd < 0)
        return error_from_errno(errno);
    return nfd;
}

/* The child gets a lock of its own for every inherited hold; only
 * async-signal-safe calls here. */
static void fork_child(void)
{
    for (struct store_hold *h = holds_head.next; h != &holds_head; h = h->next) {
        int nfd = fd_reopen(h->fd, O_RDONLY);
        if (nfd < 0)
            continue; /* keeps sharing the parent's lock: still held */
        while (flock(nfd, LOCK_SH) != 0 && errno == EINTR)
            ;
        dup3(nfd, h->fd, O_CLOEXEC);
        close(nfd);
    }
    view_lock_for_fork(false);
    store_ns_lock_for_fork(false);
    pthread_mutex_unlock(&holds_lock);
}

static void fork_register(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void hold_register(struct store_hold *h)
{
    pthread_once(&fork_once, fork_register);
    pthread_mutex_lock(&holds_lock);
    h->next = holds_head.next;
    h->prev = &holds_head;
    holds_head.next->prev = h;
    holds_head.next = h;
    pthread_mutex_unlock(&holds_lock);
}

/* Takes H out of the registry if it is in; its links belong to the
 * registry's lock, since neighbours' inserts and removals write them. */
static void hold_unregister(struct store_hold *h)
{
    pthread_mutex_lock(&holds_lock);
    if (h->prev) {
        h->prev->next = h->next;
        h->next->prev = h->prev;
        h->prev = h->next = NULL;
    }
    pthread_mutex_unlock(&holds_lock);
}

/* True if FILE in DIRFD is still the file whose identity ID holds. */
static bool name_refers_to(int dirfd, const char *file, const struct stat *id)
{
    struct stat by_name = {0};
    return fstatat(dirfd, file, &by_name, AT_SYMLINK_NOFOLLOW) == 0 &&
           by_name.st_dev == id->st_dev && by_name.st_ino == id->st_ino;
}

/* The rest of store_remove_if_stale, once the exclusive lock is held. */
static int remove_locked(int dirfd, const char *file, const struct stat *id)
{
    if (!name_refers_to(dirfd, file, id) || unlinkat(dirfd, file, 0) == 0 || errno == ENOENT)
        return 1;
    return error_from_errno(errno);
}

int store_remove_if_stale(int dirfd, const char *file, int fd)
{
    struct stat id;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? 0 : error_from_errno(errno);
    int rc = fstat(fd, &id) == 0 ? remove_locked(dirfd, file, &id) : error_from_errno(errno);
    flock(fd, LOCK_UN);
    return rc;
}

/* Lets go of HOLD's lock and closes it; if that was the last hold of the
 * name anywhere, removes the name. */
static void hold_drop(int dirfd, const struct store_hold *hold)
{
    struct stat id = {.st_dev = (dev_t)hold->dev, .st_ino = (ino_t)hold->ino};
    if (flock(hold->fd, LOCK_EX | LOCK_NB) == 0 && name_refers_to(dirfd, hold->file, &id))
        unlinkat(dirfd, hold->file, 0);
    flock(hold->fd, LOCK_UN);
    fd_close_quietly(hold->fd);
}

/* Opens FILE for a hold: the descriptor to map, and a separate one (its own
 * open file description) to lock, both of one file whose identity goes to
 * *ID.  O_NONBLOCK keeps a planted FIFO from hanging us; it changes
 * nothing for regular files. */
static int hold_open(int dirfd, const char *file, int open_mode, int *data_fd, int *lock_fd,
                     struct stat *id)
{
    const int flags = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    int fd = openat(dirfd, file, open_mode | flags);
    if (fd < 0)
        return errno == ELOOP ? SHMAP_ESTORE : error_from_errno(errno);
    struct stat lock_id;
    int lfd = -1;
    int rc = SHMAP_ESTORE;
    if (fstat(fd, id) != 0 || !S_ISREG(id->st_mode))
        goto fail;
    lfd = openat(dirfd, file, O_RDONLY | flags);
    if (lfd < 0) {
        rc = errno == ENOENT ? TRY_AGAIN : errno == ELOOP ? SHMAP_ESTORE : error_from_errno(errno);
        goto fail;
    }
    rc = TRY_AGAIN; /* the name changed between the two opens */
    if (fstat(lfd, &lock_id) != 0 || lock_id.st_ino != id->st_ino || lock_id.st_dev != id->st_dev)
        goto fail;
    *lock_fd = lfd;
    *data_fd = fd;
    return 0;
fail:
    fd_close_quietly(lfd);
    fd_close_quietly(fd);
    return rc;
}

/* Takes a hold of an existing file: 0 held, TRY_AGAIN if absent (stale,
 * removed, or replaced meanwhile), or an error. */
static int hold_existing(int dirfd, const char *file, int lock_fd, const struct stat *id)
{
    if (flock(lock_fd, LOCK_EX | LOCK_NB) == 0) { /* nobody holds it: stale */
        int rc = remove_locked(dirfd, file, id);
        flock(lock_fd, LOCK_UN);
        return rc == 1 ? TRY_AGAIN : rc;
    }
    if (errno != EWOULDBLOCK)
        return error_from_errno(errno);
    if (RETRY_EINTR(flock(lock_fd, LOCK_SH)) != 0)
        return error_from_errno(errno);
    return name_refers_to(dirfd, file, id) ? 0 : TRY_AGAIN;
}

/* Makes the complete new object as an unnamed file, with its hold taken. */
static int object_prepare(int dirfd, const struct store_create *c, int *out)
{
    int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) /* a store out of space or inodes is out of memory */
        return errno == ENOSPC ? SHMAP_ENOMEM : error_from_errno(errno);
    int rc = 0;
    const struct object_header *h = c->header;
    if (fchmod(fd, c->mode) != 0 || ftruncate(fd, (off_t)c->file_size) != 0)
        goto sys_fail;
    if (c->commit && fallocate(fd, 0, (off_t)h->data_offset, (off_t)h->size) != 0 &&
        errno != EOPNOTSUPP)
        goto sys_fail;
    if (RETRY_EINTR(pwrite(fd, h, sizeof *h, 0)) != (long)sizeof *h)
        goto sys_fail;
    if (c->prepared && (rc = c->prepared(fd, c->prepared_arg)) < 0) {
        fd_close_quietly(fd);
        return rc;
    }
    *out = fd;
    return 0;
sys_fail:
    rc = errno == ENOSPC || errno == EFBIG ? SHMAP_ENOMEM : error_from_errno(errno);
    fd_close_quietly(fd);
    return rc;
}

/* Links the prepared file under its name: 0, TRY_AGAIN if the name exists. */
static int object_link(int fd, int dirfd, const char *file)
{
    char path[32];
    proc_fd_path(fd, path);
    if (linkat(AT_FDCWD, path, dirfd, file, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno == ENOENT && linkat(fd, "", dirfd, file, AT_EMPTY_PATH) == 0)
        return 0;
    return errno == EEXIST ? TRY_AGAIN : error_from_errno(errno);
}

/* Checks the header of a held object against the type asked for. */
static int hold_check_header(int data_fd, const struct stat *id, uint32_t type,
                             struct object_header *header)
{
    int rc = header_read_sized(data_fd, (uint64_t)id->st_size, header);
    if (rc < 0)
        return rc;
    return header->type == type ? 0 : SHMAP_ETYPE;
}

struct hold_attempt {
    const struct name_ref *name;
    uint32_t type;
    int open_mode;
    const struct store_create *create;
    int dirfd;
    int prepared; /* new object's fd, or -1 */
    uint64_t prepared_dev, prepared_ino;
};

/* One try at holding the name: 0 created, SHMAP_EXISTED, TRY_AGAIN, or an
 * error.  On success fills the hold's fd and *data_fd. */
static int hold_attempt(struct hold_attempt *a, struct store_hold *hold,
                        struct object_header *header, int *data_fd)
{
    int dfd = -1, lfd = -1;
    struct stat id = {0};
    int rc = hold_open(a->dirfd, a->name->file, a->open_mode, &dfd, &lfd, &id);
    if (rc == 0) {
        rc = hold_existing(a->dirfd, a->name->file, lfd, &id);
        if (rc != 0) { /* not held: absent, replaced, or refused */
            fd_close_quietly(lfd);
            fd_close_quietly(dfd);
            return rc == SHMAP_EACCES && !a->create ? SHMAP_ENOENT : rc;
        }
        if (a->create && a->create->exclusive)
            rc = SHMAP_EEXIST;
        else
            rc = hold_check_header(dfd, &id, a->type, header);
        hold->fd = lfd;
        hold->dev = (uint64_t)id.st_dev;
        hold->ino = (uint64_t)id.st_ino;
        if (rc == 0) {
            *data_fd = dfd;
            return SHMAP_EXISTED;
        }
        hold_drop(a->dirfd, hold);
        hold->fd = -1;
        fd_close_quietly(dfd);
        return rc;
    }
    if (rc != SHMAP_ENOENT || !a->create)
        return rc;
    if (a->prepared < 0) {
        struct stat prepared_id = {0};
        rc = object_prepare(a->dirfd, a->create, &a->prepared);
        if (rc == 0 && fstat(a->prepared, &prepared_id) != 0)
            rc = error_from_errno(errno);
        if (rc < 0)
            return rc;
        a->prepared_dev = (uint64_t)prepared_id.st_dev;
        a->prepared_ino = (uint64_t)prepared_id.st_ino;
    }
    lfd = fd_reopen(a->prepared, O_RDONLY);
    if (lfd < 0)
        return lfd;
    if (RETRY_EINTR(flock(lfd, LOCK_SH)) != 0 ||
        (rc = object_link(a->prepared, a->dirfd, a->name->file)) != 0) {
        rc = rc != 0 ? rc : error_from_errno(errno);
        fd_close_quietly(lfd);
        return rc;
    }
    memcpy(header, a->create->header, sizeof *header);
    hold->fd = lfd;
    hold->dev = a->prepared_dev;
    hold->ino = a->prepared_ino;
    *data_fd = a->prepared;
    a->prepared = -1;
    return 0;
}

int store_hold_name(const struct name_ref *name, uint32_t type, int open_mode,
                    const struct store_create *create, struct store_hold *hold,
                    struct object_header *header, int *data_fd)
{
    struct store_ns *ns;
    int rc = store_ns_get(name->scope, create != NULL, &ns);
    if (rc < 0)
        return rc;
    struct hold_attempt a = {name, type, open_mode, create, store_ns_dirfd(ns), -1, 0, 0};
    hold->ns = ns;
    hold->fd = -1;
    hold->prev = hold->next = NULL;
    snprintf(hold->file, sizeof hold->file, "%s", name->file);
    rc = TRY_AGAIN;
    for (int tries = 0; rc == TRY_AGAIN && tries < STORE_MAX_TRIES; tries++)
        rc = hold_attempt(&a, hold, header, data_fd);
    fd_close_quietly(a.prepared);
    if (rc == TRY_AGAIN)
        rc = SHMAP_EBUSY;
    if (rc < 0) {
        hold->ns = NULL;
        store_ns_put(ns);
        return rc;
    }
    hold_register(hold);
    if (rc == 0)
        store_sweep_some(ns, 2);
    return rc;
}

int store_hold_fd(int fd, const char *name, struct store_hold *hold)
{
    struct name_ref ref;
    int rc = name_resolve(name, &ref);
    if (rc < 0)
        return SHMAP_ECORRUPT;
    struct store_ns *ns;
    rc = store_ns_get(ref.scope, true, &ns);
    if (rc < 0)
        return rc;
    int lfd = fd_reopen(fd, O_RDONLY);
    if (lfd < 0) {
        store_ns_put(ns);
        return lfd;
    }
    struct stat id;
    if (fstat(lfd, &id) != 0 || RETRY_EINTR(flock(lfd, LOCK_SH)) != 0) {
        rc = error_from_errno(errno);
        fd_close_quietly(lfd);
        store_ns_put(ns);
        return rc;
    }
    hold->ns = ns;
    hold->fd = lfd;
    hold->dev = (uint64_t)id.st_dev;
    hold->ino = (uint64_t)id.st_ino;
    hold->prev = hold->next = NULL;
    snprintf(hold->file, sizeof hold->file, "%s", ref.file);
    hold_register(hold);
    return 0;
}

void store_release(struct store_hold *hold)
{
    if (hold->fd < 0)
        return;
    hold_unregister(hold);
    if (hold->ns)
        hold_drop(store_ns_dirfd(hold->ns), hold);
    else
        fd_close_quietly(hold->fd);
    hold->fd = -1;
    store_ns_put(hold->ns);
    hold->ns = NULL;
}
