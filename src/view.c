/* view.c - views: mmap()s of a mapping's data, and the process-wide
 * registry of live views that lets shmap_view_unmap and shmap_view_flush
 * take any address inside a view.  The registry is an array sorted by
 * address, searched by bisection, under one mutex. */
#include "mapping.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

struct view {
    uintptr_t base;
    size_t length;
    uint64_t offset;
    uint32_t access;
    bool flushable; /* shared view of a file-backed mapping */
};

static pthread_mutex_t views_lock = PTHREAD_MUTEX_INITIALIZER;
static struct view *views;
static size_t views_count, views_capacity;

void view_lock_for_fork(bool lock)
{
    if (lock)
        pthread_mutex_lock(&views_lock);
    else
        pthread_mutex_unlock(&views_lock);
}

/* Index of the first view whose end is above ADDR; call locked. */
static size_t views_search(uintptr_t addr)
{
    size_t lo = 0, hi = views_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (views[mid].base + views[mid].length <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The view containing ADDR, or NULL; call locked. */
static struct view *views_find(uintptr_t addr)
{
    size_t i = views_search(addr);
    return i < views_count && views[i].base <= addr ? &views[i] : NULL;
}

static int views_insert(const struct view *v)
{
    pthread_mutex_lock(&views_lock);
    int rc = 0;
    if (views_count == views_capacity) {
        size_t cap = views_capacity ? views_capacity * 2 : 16;
        struct view *grown = realloc(views, cap * sizeof *grown);
        if (!grown) {
            rc = SHMAP_ENOMEM;
            goto out;
        }
        views = grown;
        views_capacity = cap;
    }
    size_t i = views_search(v->base);
    memmove(&views[i + 1], &views[i], (views_count - i) * sizeof *views);
    views[i] = *v;
    views_count++;
out:
    pthread_mutex_unlock(&views_lock);
    return rc;
}

static int view_prot(uint32_t access)
{
    int prot = PROT_READ;
    if (access & (SHMAP_ACCESS_WRITE | SHMAP_ACCESS_COPY))
        prot |= PROT_WRITE;
    if (access & SHMAP_ACCESS_EXECUTE)
        prot |= PROT_EXEC;
    return prot;
}

static int view_check(const shmap_mapping *m, uint32_t access, uint64_t offset, size_t *length,
                      void *fixed_addr)
{
    if (!access_valid(access) || ((access & SHMAP_ACCESS_WRITE) && (access & SHMAP_ACCESS_COPY)))
        return SHMAP_EINVAL;
    /* A copy-on-write view needs only read access, as in Win32. */
    uint32_t needs =
        access & SHMAP_ACCESS_COPY ? (access & ~SHMAP_ACCESS_COPY) | SHMAP_ACCESS_READ : access;
    if (needs & ~m->access)
        return SHMAP_EACCES;
    if (offset % SHMAP_GRANULARITY || (uintptr_t)fixed_addr % SHMAP_GRANULARITY)
        return SHMAP_EALIGN;
    if (offset >= m->size)
        return SHMAP_ERANGE;
    if (*length == 0) {
        if (m->size - offset > SIZE_MAX)
            return SHMAP_ENOMEM;
        *length = (size_t)(m->size - offset);
    }
    return *length > m->size - offset ? SHMAP_ERANGE : 0;
}

static void *view_mmap(shmap_mapping *m, uint32_t access, uint64_t offset, size_t length,
                       void *fixed_addr, int *rc)
{
    int flags = access & SHMAP_ACCESS_COPY ? MAP_PRIVATE : MAP_SHARED;
    if (fixed_addr)
        flags |= MAP_FIXED_NOREPLACE;
    void *p = mmap(fixed_addr, length, view_prot(access), flags, m->data_fd,
                   (off_t)(m->data_offset + offset));
    if (p == MAP_FAILED) {
        *rc = errno == EEXIST ? SHMAP_EADDRINUSE : error_from_errno(errno);
        return NULL;
    }
    if (fixed_addr && p != fixed_addr) { /* a kernel that took the flag as a hint */
        munmap(p, length);
        *rc = SHMAP_EADDRINUSE;
        return NULL;
    }
    if (m->flags & SHMAP_HUGE_PAGES)
        madvise(p, length, MADV_HUGEPAGE);
    return p;
}

SHMAP_API int shmap_view_map(shmap_mapping *m, uint32_t access, uint64_t offset, size_t length,
                             void *fixed_addr, void **addr)
{
    if (!m || !addr)
        return SHMAP_EINVAL;
    int rc = view_check(m, access, offset, &length, fixed_addr);
    if (rc < 0)
        return rc;
    void *p = view_mmap(m, access, offset, length, fixed_addr, &rc);
    if (!p)
        return rc;
    struct view v = {(uintptr_t)p, length, offset, access,
                     m->file_backed && !(access & SHMAP_ACCESS_COPY)};
    rc = views_insert(&v);
    if (rc < 0) {
        munmap(p, length);
        return rc;
    }
    *addr = p;
    return 0;
}

SHMAP_API int shmap_view_unmap(void *addr)
{
    if (!addr)
        return SHMAP_EINVAL;
    pthread_mutex_lock(&views_lock);
    struct view *v = views_find((uintptr_t)addr);
    struct view gone = {0};
    if (v) {
        gone = *v;
        size_t i = (size_t)(v - views);
        memmove(&views[i], &views[i + 1], (views_count - i - 1) * sizeof *views);
        views_count--;
    }
    pthread_mutex_unlock(&views_lock);
    if (!gone.base)
        return SHMAP_ENOTVIEW;
    munmap((void *)gone.base, gone.length);
    return 0;
}

SHMAP_API int shmap_view_flush(void *addr, size_t length)
{
    if (!addr)
        return SHMAP_EINVAL;
    pthread_mutex_lock(&views_lock);
    struct view *found = views_find((uintptr_t)addr);
    struct view v = found ? *found : (struct view){0};
    pthread_mutex_unlock(&views_lock);
    if (!v.base)
        return SHMAP_ENOTVIEW;
    uintptr_t start = (uintptr_t)addr;
    size_t room = v.base + v.length - start;
    if (length == 0)
        length = room;
    if (length > room)
        return SHMAP_ERANGE;
    if (!v.flushable)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t aligned = start & ~(page - 1);
    if (msync((void *)aligned, length + (start - aligned), MS_SYNC) != 0)
        return errno == ENOMEM ? SHMAP_ENOTVIEW : error_from_errno(errno);
    return 0;
}

SHMAP_API int shmap_view_query(const void *addr, shmap_view_info *info)
{
    if (!addr || !info)
        return SHMAP_EINVAL;
    pthread_mutex_lock(&views_lock);
    struct view *v = views_find((uintptr_t)addr);
    if (v) {
        info->base = (void *)v->base;
        info->length = v->length;
        info->offset = v->offset;
        info->access = v->access;
    }
    pthread_mutex_unlock(&views_lock);
    return v ? 0 : SHMAP_ENOTVIEW;
}
