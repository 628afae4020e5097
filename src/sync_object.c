/* sync_object.c - making and dropping handles of synchronization objects:
 * named ones (an object file in the store, whose header page, written
 * complete at creation, holds the state; the handle maps that page
 * MAP_SHARED), unnamed ones in anonymous shared memory (create with a NULL
 * name), and unnamed ones the caller placed in its own memory (init_at and
 * attach).
 *
 * A new named mutex asked with an initial owner is locked by the creating
 * thread on the prepared object file, before the store links it under its
 * name (store_create.prepared): no other process can take it first. */
#include "sync.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

/* What to make. */
struct sync_init {
    uint32_t type;
    uint32_t flags;
    uint32_t initial, maximum; /* semaphores */
};

/* ---- State ----------------------------------------------------------- */

static uint64_t sync_new_id(void)
{
    uint64_t id = 0;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) == (ssize_t)sizeof id && id != 0)
        return id;
    static uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    id = (uint64_t)getpid() << 40 ^ (uint64_t)ts.tv_nsec << 8 ^ (uint64_t)ts.tv_sec;
    return id ^ __atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
}

uint32_t *sync_waiters(struct sync_state *st, uint32_t type)
{
    switch (type) {
    case SHMAP_TYPE_EVENT:
        return &st->u.event.waiters;
    case SHMAP_TYPE_SEMAPHORE:
        return &st->u.sem.waiters;
    default:
        return NULL;
    }
}

/* Initializes a state in place; the magic goes last, so that a state is
 * complete once it is visible as one. */
static int state_init(struct sync_state *st, const struct sync_init *in)
{
    int rc = 0;
    memset(st, 0, sizeof *st);
    st->type = in->type;
    st->id = sync_new_id();
    if (in->type == SHMAP_TYPE_MUTEX)
        rc = mutex_state_init(st);
    else if (in->type == SHMAP_TYPE_EVENT)
        event_state_init(st, in->flags & SHMAP_EVENT_MANUAL_RESET,
                         in->flags & SHMAP_EVENT_INITIAL_SET);
    else
        sem_state_init(st, in->initial, in->maximum);
    if (rc == 0)
        __atomic_store_n(&st->magic, SYNC_MAGIC, __ATOMIC_RELEASE);
    return rc;
}

int sync_state_check(const struct sync_state *st, uint32_t type)
{
    if (__atomic_load_n(&st->magic, __ATOMIC_ACQUIRE) != SYNC_MAGIC)
        return SHMAP_ECORRUPT;
    if (type != 0 && st->type != type)
        return SHMAP_ETYPE;
    switch (st->type) {
    case SHMAP_TYPE_MUTEX:
        return mutex_state_check(st);
    case SHMAP_TYPE_EVENT:
        return event_state_check(st);
    case SHMAP_TYPE_SEMAPHORE:
        return sem_state_check(st);
    default:
        return SHMAP_ECORRUPT;
    }
}

static struct sync_state *header_state(void *page)
{
    return (struct sync_state *)((struct object_header *)page)->sync_state;
}

/* ---- Handles --------------------------------------------------------- */

static struct shmap_sync *sync_alloc(uint32_t type)
{
    struct shmap_sync *s = calloc(1, sizeof *s);
    if (s) {
        s->type = type;
        s->hold.fd = -1;
        s->mem_fd = -1;
        /* What its state must keep (checked against it at open, and at
         * every lock and release: see sync_mutex.c). */
        s->mx_kind = type == SHMAP_TYPE_MUTEX ? mutex_kind() : 0;
    }
    return s;
}

static void *page_map(int fd)
{
    void *p = mmap(NULL, HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The creator's initial ownership, taken on the prepared file. */
struct owner_claim {
    void *page;
};

static int claim_prepared(int fd, void *arg)
{
    struct owner_claim *c = arg;
    void *page = page_map(fd);
    if (!page)
        return error_from_errno(errno);
    if (pthread_mutex_lock(&header_state(page)->mx.m) != 0) {
        munmap(page, HEADER_SIZE);
        return SHMAP_EIO;
    }
    c->page = page;
    return 0;
}

static void claim_drop(struct owner_claim *c)
{
    if (!c->page)
        return;
    pthread_mutex_unlock(&header_state(c->page)->mx.m);
    munmap(c->page, HEADER_SIZE);
    c->page = NULL;
}

/* After store_hold_name returned STATUS: the claimed page, still locked,
 * if our prepared file became the object (STATUS 0); else NULL, the claim
 * undone. */
static void *claim_settle(struct owner_claim *c, int status)
{
    void *page = status == 0 ? c->page : NULL;
    if (page)
        c->page = NULL;
    claim_drop(c);
    return page;
}

/* Maps (unless PAGE is already mapped) and checks the state of a held
 * object; on failure releases the hold. */
static int named_finish(struct shmap_sync *s, int data_fd, void *page)
{
    int rc = 0;
    if (!page && !(page = page_map(data_fd)))
        rc = error_from_errno(errno);
    fd_close_quietly(data_fd);
    if (rc == 0) {
        rc = sync_state_check(header_state(page), 0);
        if (rc == 0 && header_state(page)->type != s->type)
            rc = SHMAP_ECORRUPT;
        if (rc < 0)
            munmap(page, HEADER_SIZE);
    }
    if (rc < 0) {
        store_release(&s->hold);
        return rc;
    }
    s->map = page;
    s->map_len = HEADER_SIZE;
    s->st = header_state(page);
    return 0;
}

static int named_create(struct shmap_sync *s, const struct name_ref *ref,
                        const struct sync_init *in, uint32_t mode)
{
    struct object_header h;
    struct sync_state tmpl; /* the state the new object starts with */
    header_init(&h, in->type);
    snprintf(h.name, sizeof h.name, "%s", ref->display);
    int rc = state_init(&tmpl, in);
    if (rc < 0)
        return rc;
    memcpy(h.sync_state, &tmpl, sizeof tmpl);
    struct owner_claim claim = {NULL};
    bool owner = in->type == SHMAP_TYPE_MUTEX && (in->flags & SHMAP_MUTEX_INITIAL_OWNER);
    struct store_create c = {
        .header = &h,
        .file_size = HEADER_SIZE,
        .commit = false,
        .exclusive = (in->flags & SHMAP_CREATE_NEW) != 0,
        .mode = mode,
        .prepared = owner ? claim_prepared : NULL,
        .prepared_arg = &claim,
    };
    struct object_header found;
    int data_fd = -1;
    int status = store_hold_name(ref, in->type, O_RDWR, &c, &s->hold, &found, &data_fd);
    if (in->type == SHMAP_TYPE_MUTEX)
        mutex_template_destroy(&tmpl);
    void *page = claim_settle(&claim, status);
    if (status < 0)
        return status;
    rc = named_finish(s, data_fd, page);
    return rc < 0 ? rc : status;
}

static int named_open(struct shmap_sync *s, const struct name_ref *ref)
{
    struct object_header found;
    int data_fd = -1;
    int rc = store_hold_name(ref, s->type, O_RDWR, NULL, &s->hold, &found, &data_fd);
    return rc < 0 ? rc : named_finish(s, data_fd, NULL);
}

/* Takes the initial ownership of a mutex just made in place. */
static int owner_take(struct sync_state *st, const struct sync_init *in)
{
    if (in->type != SHMAP_TYPE_MUTEX || !(in->flags & SHMAP_MUTEX_INITIAL_OWNER))
        return 0;
    return pthread_mutex_lock(&st->mx.m) == 0 ? 0 : SHMAP_EIO;
}

/* An unnamed object lives in a memfd laid out as a named object's file
 * (a header page with the state in it), so that a descriptor of it can
 * be handed to a child across exec (sync_object_fd, sync_adopt_fd). */
static int unnamed_create(struct shmap_sync *s, const struct sync_init *in)
{
    struct object_header h;
    header_init(&h, in->type);
    int rc = state_init(header_state(&h), in);
    if (rc < 0)
        return rc;
    void *page = NULL;
    int fd = memfd_create("shmap-sync", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, HEADER_SIZE) != 0 ||
        RETRY_EINTR(pwrite(fd, &h, sizeof h, 0)) != (long)sizeof h || !(page = page_map(fd)))
        rc = error_from_errno(errno);
    if (in->type == SHMAP_TYPE_MUTEX)
        mutex_template_destroy(header_state(&h));
    if (rc == 0)
        rc = owner_take(header_state(page), in);
    if (rc < 0) {
        if (page)
            munmap(page, HEADER_SIZE);
        fd_close_quietly(fd);
        return rc;
    }
    s->map = page;
    s->map_len = HEADER_SIZE;
    s->st = header_state(page);
    s->mem_fd = fd;
    return 0;
}

int sync_object_fd(const shmap_sync *s)
{
    if (s->hold.fd >= 0)
        return fd_reopen(s->hold.fd, O_RDWR);
    if (s->mem_fd < 0)
        return SHMAP_ENOTSUP;
    int fd = fcntl(s->mem_fd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? error_from_errno(errno) : fd;
}

int sync_adopt_fd(int fd, shmap_sync **out)
{
    struct object_header h;
    int rc = header_read(fd, &h);
    if (rc < 0)
        return rc;
    if (h.type < SHMAP_TYPE_MUTEX || h.type > SHMAP_TYPE_SEMAPHORE)
        return SHMAP_ECORRUPT;
    struct shmap_sync *s = sync_alloc(h.type);
    if (!s)
        return SHMAP_ENOMEM;
    int data_fd = fd_reopen(fd, O_RDWR); /* a file description of our own */
    rc = data_fd < 0 ? data_fd : 0;
    if (rc == 0 && h.name[0]) {
        snprintf(s->name, sizeof s->name, "%s", h.name);
        rc = store_hold_fd(fd, h.name, &s->hold);
    } else if (rc == 0) {
        s->mem_fd = fcntl(data_fd, F_DUPFD_CLOEXEC, 0);
        rc = s->mem_fd < 0 ? error_from_errno(errno) : 0;
    }
    if (rc == 0)
        rc = named_finish(s, data_fd, NULL); /* maps, checks, closes data_fd */
    else
        fd_close_quietly(data_fd);
    if (rc < 0) {
        fd_close_quietly(s->mem_fd);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int sync_create(const char *name, const struct sync_init *in, uint32_t mode,
                       shmap_sync **out)
{
    if (!out || mode > 0777)
        return SHMAP_EINVAL;
    struct name_ref ref;
    int rc = name ? name_resolve(name, &ref) : 0;
    if (rc < 0)
        return rc;
    struct shmap_sync *s = sync_alloc(in->type);
    if (!s)
        return SHMAP_ENOMEM;
    if (name) {
        snprintf(s->name, sizeof s->name, "%s", ref.display);
        rc = named_create(s, &ref, in, mode);
    } else {
        rc = unnamed_create(s, in);
    }
    if (rc < 0)
        free(s);
    else
        *out = s;
    return rc;
}

static int sync_open(const char *name, uint32_t type, shmap_sync **out)
{
    if (!name || !out)
        return SHMAP_EINVAL;
    struct name_ref ref;
    int rc = name_resolve(name, &ref);
    if (rc < 0)
        return rc;
    struct shmap_sync *s = sync_alloc(type);
    if (!s)
        return SHMAP_ENOMEM;
    snprintf(s->name, sizeof s->name, "%s", ref.display);
    rc = named_open(s, &ref);
    if (rc < 0)
        free(s);
    else
        *out = s;
    return rc;
}

static bool sem_counts_valid(uint32_t initial, uint32_t maximum)
{
    return maximum >= 1 && maximum <= INT32_MAX && initial <= maximum;
}

static bool place_valid(const void *addr)
{
    return addr && (uintptr_t)addr % SHMAP_SYNC_ALIGN == 0;
}

static int init_at(void *addr, const struct sync_init *in)
{
    if (!place_valid(addr))
        return SHMAP_EINVAL;
    int rc = state_init(addr, in);
    return rc < 0 ? rc : owner_take(addr, in);
}

/* ---- Public ---------------------------------------------------------- */

SHMAP_API int shmap_mutex_create(const char *name, uint32_t flags, uint32_t mode, shmap_sync **out)
{
    if (flags & ~(SHMAP_MUTEX_INITIAL_OWNER | SHMAP_CREATE_NEW))
        return SHMAP_EINVAL;
    struct sync_init in = {SHMAP_TYPE_MUTEX, flags, 0, 0};
    return sync_create(name, &in, mode, out);
}

SHMAP_API int shmap_event_create(const char *name, uint32_t flags, uint32_t mode, shmap_sync **out)
{
    if (flags & ~(SHMAP_EVENT_MANUAL_RESET | SHMAP_EVENT_INITIAL_SET | SHMAP_CREATE_NEW))
        return SHMAP_EINVAL;
    struct sync_init in = {SHMAP_TYPE_EVENT, flags, 0, 0};
    return sync_create(name, &in, mode, out);
}

SHMAP_API int shmap_semaphore_create(const char *name, uint32_t initial, uint32_t maximum,
                                     uint32_t flags, uint32_t mode, shmap_sync **out)
{
    if ((flags & ~SHMAP_CREATE_NEW) || !sem_counts_valid(initial, maximum))
        return SHMAP_EINVAL;
    struct sync_init in = {SHMAP_TYPE_SEMAPHORE, flags, initial, maximum};
    return sync_create(name, &in, mode, out);
}

SHMAP_API int shmap_mutex_open(const char *name, shmap_sync **out)
{
    return sync_open(name, SHMAP_TYPE_MUTEX, out);
}

SHMAP_API int shmap_event_open(const char *name, shmap_sync **out)
{
    return sync_open(name, SHMAP_TYPE_EVENT, out);
}

SHMAP_API int shmap_semaphore_open(const char *name, shmap_sync **out)
{
    return sync_open(name, SHMAP_TYPE_SEMAPHORE, out);
}

SHMAP_API int shmap_mutex_init_at(void *addr, uint32_t flags)
{
    if (flags & ~SHMAP_MUTEX_INITIAL_OWNER)
        return SHMAP_EINVAL;
    struct sync_init in = {SHMAP_TYPE_MUTEX, flags, 0, 0};
    return init_at(addr, &in);
}

SHMAP_API int shmap_event_init_at(void *addr, uint32_t flags)
{
    if (flags & ~(SHMAP_EVENT_MANUAL_RESET | SHMAP_EVENT_INITIAL_SET))
        return SHMAP_EINVAL;
    struct sync_init in = {SHMAP_TYPE_EVENT, flags, 0, 0};
    return init_at(addr, &in);
}

SHMAP_API int shmap_semaphore_init_at(void *addr, uint32_t initial, uint32_t maximum)
{
    if (!sem_counts_valid(initial, maximum))
        return SHMAP_EINVAL;
    struct sync_init in = {SHMAP_TYPE_SEMAPHORE, 0, initial, maximum};
    return init_at(addr, &in);
}

SHMAP_API int shmap_sync_attach(void *addr, uint32_t type, shmap_sync **out)
{
    if (!place_valid(addr) || !out || type > SHMAP_TYPE_SEMAPHORE || type == SHMAP_TYPE_MAPPING)
        return SHMAP_EINVAL;
    struct sync_state *st = addr;
    int rc = sync_state_check(st, type);
    if (rc < 0)
        return rc;
    struct shmap_sync *s = sync_alloc(st->type);
    if (!s)
        return SHMAP_ENOMEM;
    s->st = st;
    *out = s;
    return 0;
}

SHMAP_API int shmap_sync_close(shmap_sync *s)
{
    if (!s)
        return SHMAP_EINVAL;
    /* A mutex a thread of ours owns is on that thread's robust list, which
     * glibc and the kernel walk through its memory: keep it mapped. */
    if (s->map && !(s->type == SHMAP_TYPE_MUTEX && mutex_owned_here(s->st)))
        munmap(s->map, s->map_len);
    store_release(&s->hold);
    fd_close_quietly(s->mem_fd);
    free(s);
    return 0;
}
