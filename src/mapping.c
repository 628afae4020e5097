/* mapping.c - file-mapping objects: memory-backed (an object file in the
 * store, or a memfd when unnamed) and file-backed (a file of the caller's,
 * with a header-only object file for its name), with Win32's size,
 * protection and create-or-open rules. */

#include "mapping.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREATE_FLAGS (SHMAP_RESERVE | SHMAP_HUGE_PAGES | SHMAP_CREATE_NEW)

bool access_valid(uint32_t access)
{
    uint32_t kind = access & (SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE | SHMAP_ACCESS_COPY);
    return kind != 0 && !(access & ~SHMAP_ACCESS_ALL);
}

int access_open_mode(uint32_t access)
{
    return access & SHMAP_ACCESS_WRITE ? O_RDWR : O_RDONLY;
}

static bool protection_writable(uint32_t protection)
{
    return protection == SHMAP_PROT_READWRITE || protection == SHMAP_PROT_EXECUTE_READWRITE;
}

struct shmap_mapping *mapping_alloc(void)
{
    struct shmap_mapping *m = calloc(1, sizeof *m);
    if (m) {
        m->hold.fd = -1;
        m->data_fd = -1;
    }
    return m;
}

int mapping_fill(struct shmap_mapping *m, const struct object_header *h, uint32_t access)
{
    if (access & ~protection_access(h->protection))
        return SHMAP_EACCES;
    m->size = h->size;
    m->data_offset = h->data_offset;
    m->protection = h->protection;
    m->access = access;
    m->flags = h->flags & (SHMAP_RESERVE | SHMAP_HUGE_PAGES);
    m->owner_uid = h->creator_uid;
    m->file_backed = (h->flags & HEADER_FILE_BACKED) != 0;
    snprintf(m->name, sizeof m->name, "%s", h->name);
    return 0;
}

/* The header of a file-backed object names a file that openers open with
 * their own rights.  So that nobody can make another user's process map a
 * file of that user's, the object file must be writable by its owner
 * alone (only the owner chose the path), and the backing file must belong
 * to that same owner.  Returns the owner, or SHMAP_ESTORE. */
static int backing_owner(int object_fd, uid_t *owner)
{
    struct stat st;
    if (fstat(object_fd, &st) != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return SHMAP_ESTORE;
    *owner = st.st_uid;
    return 0;
}

int mapping_open_backing_file(const struct object_header *h, int object_fd, int open_mode)
{
    uid_t owner;
    int rc = backing_owner(object_fd, &owner);
    if (rc < 0)
        return rc;
    int fd = open(h->file_path, open_mode | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return error_from_errno(errno);
    struct stat st;
    rc = SHMAP_ENOENT; /* not the file the object was made of */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != h->file_dev ||
        (uint64_t)st.st_ino != h->file_ino || (uint64_t)st.st_size < h->size)
        goto fail;
    rc = SHMAP_ESTORE;
    if (st.st_uid != owner)
        goto fail;
    return fd;
fail:
    fd_close_quietly(fd);
    return rc;
}

/* A named object's owner is its file's owner: what its header claims
 * could have been written by anyone allowed to write the object. */
static void mapping_set_owner(struct shmap_mapping *m)
{
    struct stat st;
    if (m->hold.fd >= 0 && fstat(m->hold.fd, &st) == 0)
        m->owner_uid = st.st_uid;
}

static int config_check(const shmap_mapping_config *cfg)
{
    if (!protection_valid(cfg->protection) || (cfg->flags & ~CREATE_FLAGS) || cfg->mode > 0777)
        return SHMAP_EINVAL;
    if (cfg->file_fd < -1 || (cfg->file_fd == -1 && cfg->size == 0))
        return SHMAP_EINVAL;
    if (cfg->file_fd >= 0 && (cfg->flags & (SHMAP_HUGE_PAGES | SHMAP_RESERVE)))
        return SHMAP_EINVAL;
    if (cfg->size > (1ull << 62))
        return SHMAP_ERANGE;
    return 0;
}

/* A backing file being prepared: its descriptor, and its size before we
 * grew it (to undo the growth if creation fails). */
struct backing {
    int fd;
    off_t old_size;
    bool grown;
};

static int backing_grow(struct backing *b, uint64_t size)
{
    int rc = fallocate(b->fd, 0, 0, (off_t)size);
    if (rc != 0 && errno == EOPNOTSUPP)
        rc = ftruncate(b->fd, (off_t)size);
    if (rc != 0) {
        rc = errno == ENOSPC || errno == EDQUOT ? SHMAP_ENOSPC : error_from_errno(errno);
        if (ftruncate(b->fd, b->old_size) != 0)
            rc = SHMAP_EIO;
        return rc;
    }
    b->grown = true;
    return 0;
}

/* Applies the size rules to the caller's file and records it in H. */
static int backing_prepare(const shmap_mapping_config *cfg, struct object_header *h,
                           struct backing *b)
{
    struct stat st;
    int fl = fcntl(cfg->file_fd, F_GETFL);
    if (fl < 0 || fstat(cfg->file_fd, &st) != 0 || !S_ISREG(st.st_mode))
        return SHMAP_EINVAL;
    bool writable = protection_writable(cfg->protection);
    if ((fl & O_ACCMODE) == O_WRONLY || (writable && (fl & O_ACCMODE) != O_RDWR))
        return SHMAP_EACCES;
    uint64_t size = cfg->size ? cfg->size : (uint64_t)st.st_size;
    if (size == 0)
        return SHMAP_EFILEEMPTY;
    if (size > (uint64_t)st.st_size && !writable)
        return SHMAP_ERANGE;
    b->fd = fcntl(cfg->file_fd, F_DUPFD_CLOEXEC, 0);
    if (b->fd < 0)
        return error_from_errno(errno);
    b->old_size = st.st_size;
    char link[32];
    snprintf(link, sizeof link, "/proc/self/fd/%d", b->fd);
    ssize_t n = readlink(link, h->file_path, sizeof h->file_path - 1);
    h->file_path[n > 0 ? n : 0] = '\0';
    h->flags |= HEADER_FILE_BACKED;
    h->size = size;
    h->data_offset = 0;
    h->file_dev = (uint64_t)st.st_dev;
    h->file_ino = (uint64_t)st.st_ino;
    return size > (uint64_t)st.st_size ? backing_grow(b, size) : 0;
}

static void backing_abandon(struct backing *b)
{
    if (b->grown && ftruncate(b->fd, b->old_size) != 0)
        b->grown = false; /* nothing better to do: the file keeps its size */
    fd_close_quietly(b->fd);
    b->fd = -1;
}

/* Creates an unnamed memory-backed object: a memfd with a header. */
static int unnamed_memory_create(const struct object_header *h, bool commit, int *out)
{
    int fd = memfd_create("shmap", MFD_CLOEXEC);
    if (fd < 0)
        return error_from_errno(errno);
    int rc = 0;
    if (ftruncate(fd, (off_t)(h->data_offset + h->size)) != 0 ||
        (commit && fallocate(fd, 0, (off_t)h->data_offset, (off_t)h->size) != 0) ||
        RETRY_EINTR(pwrite(fd, h, sizeof *h, 0)) != (long)sizeof *h) {
        rc = errno == ENOSPC || errno == EFBIG ? SHMAP_ENOMEM : error_from_errno(errno);
        fd_close_quietly(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

static int huge_check(const struct name_ref *ref)
{
    if (!ref)
        return store_unnamed_has_huge() ? 0 : SHMAP_ENOHUGE;
    struct store_ns *ns;
    int rc = store_ns_get(ref->scope, true, &ns);
    if (rc < 0)
        return rc;
    rc = store_ns_has_huge(ns) ? 0 : SHMAP_ENOHUGE;
    store_ns_put(ns);
    return rc;
}

struct create_plan {
    struct object_header h; /* first: it is 64-byte aligned */
    struct name_ref ref;
    struct backing b;
    const shmap_mapping_config *cfg;
    bool named;
};

/* Data descriptor of a named object just held: the object file itself
 * (memory-backed), or the backing file. */
static int named_data(struct create_plan *p, int status, const struct object_header *found,
                      struct shmap_mapping *m, int *data_fd)
{
    if (!m->file_backed)
        return 0;
    if (status == 0) {
        fd_close_quietly(*data_fd);
        *data_fd = p->b.fd;
        p->b.fd = -1;
        return 0;
    }
    int fd = mapping_open_backing_file(found, *data_fd, access_open_mode(m->access));
    fd_close_quietly(*data_fd);
    *data_fd = fd;
    return fd < 0 ? fd : 0;
}

static int named_create(struct create_plan *p, struct shmap_mapping *m)
{
    const shmap_mapping_config *cfg = p->cfg;
    bool file = cfg->file_fd >= 0;
    struct store_create c = {
        .header = &p->h,
        .file_size = file ? HEADER_SIZE : p->h.data_offset + p->h.size,
        .commit = !file && !(cfg->flags & SHMAP_RESERVE),
        .exclusive = (cfg->flags & SHMAP_CREATE_NEW) != 0,
        /* A file-backed object's file is writable by its owner alone:
         * its header names the file to map (see backing_owner). */
        .mode = file ? cfg->mode & ~(uint32_t)(S_IWGRP | S_IWOTH) : cfg->mode,
    };
    struct object_header found;
    int data_fd = -1;
    uint32_t want = protection_access(cfg->protection);
    int status = store_hold_name(&p->ref, SHMAP_TYPE_MAPPING, access_open_mode(want), &c, &m->hold,
                                 &found, &data_fd);
    if (status < 0)
        return status;
    /* An existing object must allow what the creator asked for. */
    int rc = mapping_fill(m, &found, want);
    if (rc == 0)
        rc = named_data(p, status, &found, m, &data_fd);
    if (rc < 0) {
        fd_close_quietly(data_fd);
        store_release(&m->hold);
        return rc;
    }
    m->data_fd = data_fd;
    mapping_set_owner(m);
    return status;
}

static int unnamed_create(struct create_plan *p, struct shmap_mapping *m)
{
    const shmap_mapping_config *cfg = p->cfg;
    int rc = mapping_fill(m, &p->h, protection_access(p->h.protection));
    if (rc < 0)
        return rc;
    if (cfg->file_fd >= 0) {
        m->data_fd = p->b.fd;
        p->b.fd = -1;
        return 0;
    }
    return unnamed_memory_create(&p->h, !(cfg->flags & SHMAP_RESERVE), &m->data_fd);
}

SHMAP_API int shmap_mapping_create(const char *name, const shmap_mapping_config *cfg,
                                   shmap_mapping **out)
{
    if (!cfg || !out)
        return SHMAP_EINVAL;
    int rc = config_check(cfg);
    if (rc < 0)
        return rc;
    struct create_plan p = {.cfg = cfg, .named = name != NULL, .b = {.fd = -1}};
    if (name && (rc = name_resolve(name, &p.ref)) < 0)
        return rc;
    if ((cfg->flags & SHMAP_HUGE_PAGES) && (rc = huge_check(name ? &p.ref : NULL)) < 0)
        return rc;
    header_init(&p.h, SHMAP_TYPE_MAPPING);
    p.h.protection = cfg->protection;
    p.h.flags = cfg->flags & (SHMAP_RESERVE | SHMAP_HUGE_PAGES);
    if (name)
        snprintf(p.h.name, sizeof p.h.name, "%s", p.ref.display);
    if (cfg->file_fd >= 0) {
        rc = backing_prepare(cfg, &p.h, &p.b);
        if (rc < 0) {
            backing_abandon(&p.b);
            return rc;
        }
    } else {
        p.h.size = cfg->size;
        p.h.data_offset =
            cfg->flags & SHMAP_HUGE_PAGES ? SHMAP_HUGE_DATA_OFFSET : SHMAP_HEADER_REGION;
    }
    struct shmap_mapping *m = mapping_alloc();
    rc = !m ? SHMAP_ENOMEM : p.named ? named_create(&p, m) : unnamed_create(&p, m);
    if (rc >= 0)
        *out = m;
    else
        free(m);
    if (p.b.fd >= 0)
        backing_abandon(&p.b);
    return rc;
}

/* Makes *DATA_FD (the object file, opened with OPENED_MODE) fit for
 * ACCESS: the backing file of a file-backed object, or the object file
 * reopened read-write when writing is asked of a read-only descriptor. */
static int open_data(struct shmap_mapping *m, const struct object_header *h, int *data_fd,
                     int opened_mode, uint32_t access)
{
    if (m->file_backed) {
        int fd = mapping_open_backing_file(h, *data_fd, access_open_mode(access));
        if (fd < 0)
            return fd;
        fd_close_quietly(*data_fd);
        *data_fd = fd;
    } else if ((access & SHMAP_ACCESS_WRITE) && opened_mode != O_RDWR) {
        int fd = fd_reopen(*data_fd, O_RDWR);
        if (fd < 0)
            return fd;
        fd_close_quietly(*data_fd);
        *data_fd = fd;
    }
    return 0;
}

SHMAP_API int shmap_mapping_open(const char *name, uint32_t access, shmap_mapping **out)
{
    if (!out || (access != SHMAP_ACCESS_ALL && !access_valid(access)))
        return SHMAP_EINVAL;
    struct name_ref ref;
    int rc = name_resolve(name, &ref);
    if (rc < 0)
        return rc;
    struct shmap_mapping *m = mapping_alloc();
    if (!m)
        return SHMAP_ENOMEM;
    struct object_header h;
    int data_fd = -1;
    int mode = access == SHMAP_ACCESS_ALL ? O_RDONLY : access_open_mode(access);
    rc = store_hold_name(&ref, SHMAP_TYPE_MAPPING, mode, NULL, &m->hold, &h, &data_fd);
    if (rc < 0) {
        free(m);
        return rc;
    }
    rc = mapping_fill(m, &h, access == SHMAP_ACCESS_ALL ? protection_access(h.protection) : access);
    if (rc == 0) {
        rc = open_data(m, &h, &data_fd, mode, m->access);
        if (rc == SHMAP_EACCES && access == SHMAP_ACCESS_ALL && (m->access & SHMAP_ACCESS_WRITE)) {
            m->access &= ~SHMAP_ACCESS_WRITE; /* the file mode allows reading only */
            rc = open_data(m, &h, &data_fd, mode, m->access);
        }
    }
    if (rc < 0) {
        fd_close_quietly(data_fd);
        store_release(&m->hold);
        free(m);
        return rc;
    }
    m->data_fd = data_fd;
    mapping_set_owner(m);
    *out = m;
    return 0;
}

SHMAP_API int shmap_mapping_close(shmap_mapping *m)
{
    if (!m)
        return SHMAP_EINVAL;
    store_release(&m->hold);
    fd_close_quietly(m->data_fd);
    free(m);
    return 0;
}

SHMAP_API int shmap_mapping_query(const shmap_mapping *m, shmap_mapping_info *info)
{
    if (!m || !info)
        return SHMAP_EINVAL;
    memset(info, 0, sizeof *info);
    info->size = m->size;
    info->type = SHMAP_TYPE_MAPPING;
    info->protection = m->protection;
    info->access = m->access;
    info->flags = m->flags;
    info->owner_uid = m->owner_uid;
    info->file_backed = m->file_backed;
    info->named = m->name[0] != '\0';
    snprintf(info->name, sizeof info->name, "%s", m->name);
    struct stat st;
    if (info->named && fstat(m->hold.fd, &st) == 0)
        info->mode = st.st_mode & 0777;
    return 0;
}

SHMAP_API int shmap_mapping_sync(shmap_mapping *m)
{
    if (!m)
        return SHMAP_EINVAL;
    if (!m->file_backed)
        return 0;
    return fsync(m->data_fd) == 0 ? 0 : error_from_errno(errno);
}
