/* store_scan.c - whole-namespace work: the bounded sweep done while
 * creating names, the full sweep (shmap gc), listing, and forced removal.
 * A stale name is one whose file no process holds a lock on: its holders
 * all died.  Its memory stays allocated until the name is removed, so the
 * store removes stale names it comes across rather than waiting for that
 * exact name to be reused. */
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens an entry of the namespace for inspection, or returns -1. */
static int entry_open(int dirfd, const char *file, struct stat *st)
{
    int fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        fd_close_quietly(fd);
        return -1;
    }
    return fd;
}

void store_sweep_some(struct store_ns *ns, unsigned budget)
{
    char file[256];
    int dirfd = store_ns_dirfd(ns);
    for (unsigned i = 0; i < budget && store_ns_next_entry(ns, file, sizeof file) == 1; i++) {
        struct stat st;
        if (!name_is_encoded(file))
            continue;
        int fd = entry_open(dirfd, file, &st);
        if (fd < 0)
            continue;
        store_remove_if_stale(dirfd, file, fd);
        fd_close_quietly(fd);
    }
}

/* True if no process holds FD's file (probes, changes nothing). */
static bool entry_is_stale(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        return false;
    flock(fd, LOCK_UN);
    return true;
}

struct scan {
    struct store_ns *ns;
    int dirfd;
    DIR *dir;
};

static int scan_open(uint32_t scope, struct scan *s)
{
    int rc = store_ns_get(scope, false, &s->ns);
    if (rc < 0)
        return rc;
    s->dirfd = store_ns_dirfd(s->ns);
    int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->dir = fd < 0 ? NULL : fdopendir(fd);
    if (!s->dir) {
        rc = error_from_errno(errno);
        fd_close_quietly(fd);
        store_ns_put(s->ns);
        return rc;
    }
    return 0;
}

static void scan_close(struct scan *s)
{
    closedir(s->dir);
    store_ns_put(s->ns);
}

SHMAP_API int shmap_store_sweep(uint32_t scope, uint32_t flags, shmap_sweep_fn fn, void *arg)
{
    if (flags & ~SHMAP_SWEEP_DRY_RUN)
        return SHMAP_EINVAL;
    struct scan s;
    int rc = scan_open(scope, &s);
    if (rc < 0)
        return rc == SHMAP_ENOENT ? 0 : rc; /* no namespace yet: nothing stale */
    int count = 0;
    struct dirent *e;
    while ((e = readdir(s.dir))) {
        struct stat st;
        char display[SHMAP_NAME_BUF];
        if (name_decode(scope, e->d_name, display, sizeof display) < 0)
            continue;
        int fd = entry_open(s.dirfd, e->d_name, &st);
        if (fd < 0)
            continue;
        bool removed = flags & SHMAP_SWEEP_DRY_RUN
                           ? entry_is_stale(fd)
                           : store_remove_if_stale(s.dirfd, e->d_name, fd) == 1;
        fd_close_quietly(fd);
        if (!removed)
            continue;
        count++;
        if (fn)
            fn(display, arg);
    }
    scan_close(&s);
    return count;
}

static void object_describe(int dirfd, uint32_t scope, const char *file, struct object_header *h,
                            shmap_object_info *info)
{
    struct stat st;
    memset(info, 0, sizeof *info);
    name_decode(scope, file, info->name, sizeof info->name);
    int fd = entry_open(dirfd, file, &st);
    if (fd < 0) {
        if (fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return;
    } else if (header_read(fd, h) == 0) {
        info->type = h->type;
        info->protection = h->protection;
        info->flags = h->flags & (SHMAP_RESERVE | SHMAP_HUGE_PAGES);
        info->creator_pid = h->creator_pid;
        info->creator_uid = h->creator_uid;
        info->created_ns = h->created_ns;
        info->size = h->size;
        info->file_backed = (h->flags & HEADER_FILE_BACKED) != 0;
        snprintf(info->file_path, sizeof info->file_path, "%s", h->file_path);
        if (h->name[0])
            snprintf(info->name, sizeof info->name, "%s", h->name);
        info->header = h;
        info->header_len = sizeof *h;
    }
    info->mode = st.st_mode & 07777;
    info->owner_uid = st.st_uid;
    info->dev = st.st_dev;
    info->ino = st.st_ino;
    info->stale = fd >= 0 && entry_is_stale(fd);
    fd_close_quietly(fd);
}

SHMAP_API int shmap_store_list(uint32_t scope, shmap_list_fn fn, void *arg)
{
    if (!fn)
        return SHMAP_EINVAL;
    struct scan s;
    int rc = scan_open(scope, &s);
    if (rc < 0)
        return rc == SHMAP_ENOENT ? 0 : rc; /* no namespace yet: no objects */
    struct dirent *e;
    while (rc == 0 && (e = readdir(s.dir))) {
        struct object_header h;
        shmap_object_info info;
        if (!name_is_encoded(e->d_name))
            continue;
        object_describe(s.dirfd, scope, e->d_name, &h, &info);
        rc = fn(&info, arg);
    }
    scan_close(&s);
    return rc;
}

SHMAP_API int shmap_unlink(const char *name)
{
    struct name_ref ref;
    int rc = name_resolve(name, &ref);
    if (rc < 0)
        return rc;
    struct store_ns *ns;
    rc = store_ns_get(ref.scope, false, &ns);
    if (rc < 0)
        return rc;
    if (unlinkat(store_ns_dirfd(ns), ref.file, 0) != 0)
        rc = error_from_errno(errno);
    store_ns_put(ns);
    return rc;
}
