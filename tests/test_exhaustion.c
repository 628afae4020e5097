/* test_exhaustion.c - running out of resources: file descriptors
 * (RLIMIT_NOFILE, at every boundary a create or open can meet), address
 * space (RLIMIT_AS), room on the store's tmpfs (a 4 MiB tmpfs in a private
 * mount namespace, as root; also one out of inodes) and the number of
 * mappings (vm.max_map_count, reached by filling it with mappings of our
 * own: the sysctl is global and is never touched).  Each failure must be
 * the documented error (SHMAP_EMFILE, SHMAP_ENOMEM), leave nothing behind
 * (descriptors, mappings, files), and the library must work again once the
 * resource is back.  Each case runs in a child; a case the environment
 * cannot give (no root, a sanitizer runtime that cannot live under
 * RLIMIT_AS, a huge max_map_count) skips with the reason. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

#define SKIP_EXIT 77

/* Why a child skipped its case (shared with the parent). */
static char *skip_why;

static void run_child(void (*fn)(void *), void *arg)
{
    skip_why = tu_shared_alloc(256);
    skip_why[0] = '\0';
    int status = tu_wait_exit(tu_fork(fn, arg));
    if (status == SKIP_EXIT) {
        print_message("SKIP: %s\n", skip_why[0] ? skip_why : "(no reason given)");
        tu_shared_free(skip_why, 256);
        skip();
    }
    tu_shared_free(skip_why, 256);
    assert_int_equal(status, 0);
}

__attribute__((noreturn)) static void child_skip(const char *why)
{
    snprintf(skip_why, 256, "%s", why);
    _exit(SKIP_EXIT);
}

#define FD_SCAN 1024 /* descriptors looked at (the tests use far fewer) */

/* Open descriptors, counted without opening one. */
static int fds_open(void)
{
    int n = 0;
    for (int fd = 0; fd < FD_SCAN; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* The RLIMIT_NOFILE that leaves exactly FREE descriptor numbers free. */
static rlim_t limit_leaving(int free_fds)
{
    int holes = 0;
    for (int fd = 0; fd < FD_SCAN; fd++) {
        if (holes == free_fds && fcntl(fd, F_GETFD) >= 0)
            continue;
        if (holes == free_fds)
            return (rlim_t)fd;
        holes += fcntl(fd, F_GETFD) < 0;
    }
    return FD_SCAN;
}

/* Mappings of files, read through MAPS_FD (opened beforehand, so that it
 * works with no descriptor to spare).  -1 if unreadable. */
static int maps_fd = -1;

static int maps_count(void)
{
    static char buf[1 << 16];
    int n = 0, col = 0, field = 0;
    unsigned long inode = 0;
    off_t off = 0;
    ssize_t got;
    while ((got = pread(maps_fd, buf, sizeof buf, off)) > 0) {
        off += got;
        for (ssize_t i = 0; i < got; i++) {
            char c = buf[i];
            if (c == '\n') {
                n += inode != 0;
                inode = 0, col = 0, field = 0;
            } else if (c == ' ') {
                if (col)
                    field++;
                col = 0;
            } else {
                col++;
                if (field == 4 && c >= '0' && c <= '9')
                    inode = inode * 10 + (unsigned long)(c - '0');
            }
        }
    }
    return got < 0 ? -1 : n;
}

/* Every mapping (anonymous too), for max_map_count. */
static int vmas_count(void)
{
    static char buf[1 << 16];
    int n = 0;
    off_t off = 0;
    ssize_t got;
    while ((got = pread(maps_fd, buf, sizeof buf, off)) > 0) {
        off += got;
        for (ssize_t i = 0; i < got; i++)
            n += buf[i] == '\n';
    }
    return n;
}

static void open_maps_fd(void)
{
    maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    TU_CHILD_CHECK(maps_fd >= 0);
}

static rlim_t nofile_orig;

static void set_nofile(rlim_t soft)
{
    struct rlimit rl;
    TU_CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (!nofile_orig)
        nofile_orig = rl.rlim_cur;
    rl.rlim_cur = soft;
    TU_CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

static void restore_nofile(void)
{
    set_nofile(nofile_orig ? nofile_orig : FD_SCAN);
}

static shmap_mapping_config cfg_of(uint64_t size)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = size;
    return cfg;
}

/* ---- Out of file descriptors ------------------------------------------------ */

enum op {
    OP_CREATE_NEW,
    OP_CREATE_EXISTING,
    OP_OPEN,
    OP_MUTEX_NEW,
    OP_EVENT_OPEN,
    OP_SEM_NEW,
    OP_UNNAMED,
    OP_COUNT
};

static const char *op_names[OP_COUNT] = {
    "create (new)",           "create (existing)", "open", "mutex_create (new)", "event_open",
    "semaphore_create (new)", "create (unnamed)"};

/* Runs OP once; on success closes what it made.  Returns its code. */
static int run_op(enum op op, int i)
{
    char name[64];
    snprintf(name, sizeof name, "fresh-%d-%d", op, i);
    shmap_mapping_config cfg = cfg_of(GRAN);
    shmap_mapping *m = NULL;
    shmap_sync *s = NULL;
    int rc;
    switch (op) {
    case OP_CREATE_NEW:
        rc = shmap_mapping_create(name, &cfg, &m);
        break;
    case OP_CREATE_EXISTING:
        rc = shmap_mapping_create("kept", &cfg, &m);
        break;
    case OP_OPEN:
        rc = shmap_mapping_open("kept", SHMAP_ACCESS_ALL, &m);
        break;
    case OP_MUTEX_NEW:
        rc = shmap_mutex_create(name, 0, 0600, &s);
        break;
    case OP_EVENT_OPEN:
        rc = shmap_event_open("kept-event", &s);
        break;
    case OP_SEM_NEW:
        rc = shmap_semaphore_create(name, 0, 1, 0, 0600, &s);
        break;
    default:
        rc = shmap_mapping_create(NULL, &cfg, &m);
        break;
    }
    if (rc >= 0) {
        TU_CHILD_CHECK((m != NULL) != (s != NULL));
        if (m) {
            void *v = NULL;
            TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &v), 0);
            TU_CHILD_RC(shmap_view_unmap(v), 0);
            TU_CHILD_RC(shmap_mapping_close(m), 0);
        } else {
            TU_CHILD_RC(shmap_sync_close(s), 0);
        }
    } else {
        TU_CHILD_CHECK(m == NULL && s == NULL);
    }
    return rc;
}

static void child_nofile(void *arg)
{
    (void)arg;
    /* Only 0-2 and what we open: the limit then says exactly how many
     * descriptors are free. */
    syscall(SYS_close_range, 3u, ~0u, 0u);
    open_maps_fd();
    shmap_mapping_config cfg = cfg_of(GRAN);
    shmap_mapping *kept = NULL;
    shmap_sync *kept_event = NULL;
    TU_CHILD_RC(shmap_mapping_create("kept", &cfg, &kept), 0);
    TU_CHILD_RC(shmap_event_create("kept-event", 0, 0600, &kept_event), 0);
    int base = fds_open(), maps = maps_count();
    int failures = 0, bad = 0;

    /* Every boundary: 0, 1, 2... descriptors free when the call starts. */
    for (int op = 0; op < OP_COUNT; op++) {
        for (int free_fds = 0; free_fds <= 6; free_fds++) {
            set_nofile(limit_leaving(free_fds));
            int rc = run_op((enum op)op, free_fds);
            restore_nofile();
            int fds = fds_open(), now_maps = maps_count();
            if (rc < 0)
                failures++;
            if ((rc < 0 && rc != SHMAP_EMFILE) || fds != base || now_maps != maps) {
                fprintf(stderr,
                        "%s with %d descriptors free: %s; descriptors %d -> %d, "
                        "mappings %d -> %d\n",
                        op_names[op], free_fds, tu_errname(rc), base, fds, maps, now_maps);
                bad++;
            }
        }
    }
    TU_CHILD_CHECK(failures > 0); /* the boundaries were met */

    /* Create until the descriptors run out: SHMAP_EMFILE, nothing left by
     * the failed call, and everything works again with the limit raised. */
    set_nofile(limit_leaving(40));
    shmap_mapping *held[64];
    int n = 0, rc = 0;
    while (n < 64) {
        char name[32];
        snprintf(name, sizeof name, "held-%d", n);
        int before = fds_open();
        rc = shmap_mapping_create(name, &cfg, &held[n]);
        if (rc < 0) {
            TU_CHILD_CHECK(fds_open() == before);
            break;
        }
        n++;
    }
    TU_CHILD_RC(rc, SHMAP_EMFILE);
    TU_CHILD_CHECK(n > 0);
    shmap_mapping *extra = NULL;
    TU_CHILD_RC(shmap_mapping_open("kept", SHMAP_ACCESS_ALL, &extra), SHMAP_EMFILE);
    restore_nofile();
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == n + 2); /* + kept, kept-event */
    TU_CHILD_RC(shmap_mapping_open("kept", SHMAP_ACCESS_ALL, &extra), 0);
    TU_CHILD_RC(shmap_mapping_close(extra), 0);
    for (int i = 0; i < n; i++)
        TU_CHILD_RC(shmap_mapping_close(held[i]), 0);
    TU_CHILD_RC(shmap_mapping_close(kept), 0);
    TU_CHILD_RC(shmap_sync_close(kept_event), 0);
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == 0);
    TU_CHILD_CHECK(bad == 0);
}

static void test_out_of_file_descriptors(void **state)
{
    (void)state;
    run_child(child_nofile, NULL);
}

/* ---- Out of address space -------------------------------------------------- */

static unsigned long vm_size(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    TU_CHILD_CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    TU_CHILD_CHECK(n > 0);
    buf[n] = '\0';
    const char *p = strstr(buf, "VmSize:");
    TU_CHILD_CHECK(p != NULL);
    return strtoul(p + 7, NULL, 10) * 1024ul;
}

static void child_as(void *arg)
{
    (void)arg;
    if (UNDER_SANITIZER)
        child_skip("a sanitizer runtime reserves terabytes and maps at will: no RLIMIT_AS");
    open_maps_fd();
    shmap_mapping_config cfg = cfg_of(256 * MiB);
    cfg.flags = SHMAP_RESERVE; /* address space, not memory */
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_create("big", &cfg, &m), 0);
    shmap_sync *warm = NULL;
    TU_CHILD_RC(shmap_mutex_create("warm", 0, 0600, &warm), 0);
    TU_CHILD_RC(shmap_sync_close(warm), 0);
    void *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 16 * MiB, NULL, &v), 0);
    TU_CHILD_RC(shmap_view_unmap(v), 0); /* the view registry has its room */

    struct rlimit rl = {vm_size() + 64 * MiB, RLIM_INFINITY};
    TU_CHILD_CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    int fds = fds_open(), maps = maps_count();
    v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &v), SHMAP_ENOMEM);
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 128 * MiB, 128 * MiB, NULL, &v), SHMAP_ENOMEM);
    TU_CHILD_CHECK(v == NULL && fds_open() == fds && maps_count() == maps);
    /* What fits still maps. */
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 16 * MiB, NULL, &v), 0);
    ((char *)v)[0] = 1;
    TU_CHILD_RC(shmap_view_unmap(v), 0);

    /* No address space at all: a new mutex cannot map its page. */
    size_t hole = 64 * MiB;
    void *fill = MAP_FAILED;
    while (hole >= 4096 &&
           (fill = mmap(NULL, hole, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                        0)) == MAP_FAILED)
        hole /= 2;
    TU_CHILD_CHECK(fill != MAP_FAILED);
    void *more;
    while ((more = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) != MAP_FAILED)
        ;
    shmap_sync *s = NULL;
    int rc = shmap_mutex_create("no-room", 0, 0600, &s);
    TU_CHILD_CHECK(rc == SHMAP_ENOMEM);
    TU_CHILD_CHECK(s == NULL && fds_open() == fds);
    rc = shmap_view_map(m, SHMAP_ACCESS_READ, 0, GRAN, NULL, &v);
    TU_CHILD_CHECK(rc == SHMAP_ENOMEM);
    munmap(fill, hole);
    rl.rlim_cur = RLIM_INFINITY;
    TU_CHILD_CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    TU_CHILD_RC(shmap_mutex_create("no-room", 0, 0600, &s), 0);
    TU_CHILD_RC(shmap_sync_close(s), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == 0);
}

static void test_out_of_address_space(void **state)
{
    (void)state;
    run_child(child_as, NULL);
}

/* ---- A full tmpfs --------------------------------------------------------- */

/* In the child: a private mount namespace with a tmpfs of OPTIONS on DIR,
 * and SHMAP_ROOT on it. */
static void private_tmpfs(const char *dir, const char *options)
{
    if (geteuid() != 0)
        child_skip("needs root to mount a private tmpfs");
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        child_skip("unshare(CLONE_NEWNS) is not permitted here");
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
        child_skip("mounting a tmpfs is not permitted here");
    TU_CHILD_CHECK(setenv("SHMAP_ROOT", dir, 1) == 0);
}

static unsigned long blocks_used(const char *dir)
{
    struct statvfs sv;
    TU_CHILD_CHECK(statvfs(dir, &sv) == 0);
    return (unsigned long)(sv.f_blocks - sv.f_bfree);
}

static void child_full_tmpfs(void *arg)
{
    const char *dir = arg;
    private_tmpfs(dir, "size=4m,mode=0700");
    shmap_mapping_config cfg = cfg_of(512 * KiB);
    shmap_mapping *m[16];
    int n = 0, rc = 0;
    shmap_mapping *warm = NULL;
    TU_CHILD_RC(shmap_mapping_create("warm", &cfg, &warm), 0);
    TU_CHILD_RC(shmap_mapping_close(warm), 0);
    int fds = tu_count_fds(), maps = tu_count_maps();
    while (n < 16) {
        char name[32];
        snprintf(name, sizeof name, "fill-%d", n);
        unsigned long used = blocks_used(dir);
        rc = shmap_mapping_create(name, &cfg, &m[n]);
        if (rc < 0) {
            TU_CHILD_CHECK(blocks_used(dir) == used); /* nothing half-made stays */
            break;
        }
        n++;
    }
    TU_CHILD_RC(rc, SHMAP_ENOMEM);
    TU_CHILD_CHECK(n >= 4 && n < 8);
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == n);
    TU_CHILD_CHECK(tu_count_fds() == fds + 2 * n && tu_count_maps() == maps);

    /* Fill the last pages with synchronization objects (a page each). */
    shmap_sync *s[256];
    int ns = 0;
    while (ns < 256) {
        char name[32];
        snprintf(name, sizeof name, "sync-%d", ns);
        rc = ns % 2 ? shmap_event_create(name, 0, 0600, &s[ns])
                    : shmap_mutex_create(name, 0, 0600, &s[ns]);
        if (rc < 0)
            break;
        ns++;
    }
    TU_CHILD_RC(rc, SHMAP_ENOMEM);
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == n + ns);
    shmap_mapping *one = NULL;
    cfg = cfg_of(GRAN);
    TU_CHILD_RC(shmap_mapping_create("small", &cfg, &one), SHMAP_ENOMEM);
    /* Free one: works again. */
    TU_CHILD_RC(shmap_mapping_close(m[--n]), 0);
    TU_CHILD_RC(shmap_mapping_create("small", &cfg, &one), 0);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(one, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    memset(v, 1, GRAN); /* committed: no SIGBUS */
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(one), 0);
    while (ns > 0)
        TU_CHILD_RC(shmap_sync_close(s[--ns]), 0);
    while (n > 0)
        TU_CHILD_RC(shmap_mapping_close(m[--n]), 0);
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == 0);
    TU_CHILD_CHECK(blocks_used(dir) == 0);
}

static void test_full_tmpfs(void **state)
{
    (void)state;
    static char dir[PATH_MAX];
    tu_scratch_path(dir, sizeof dir, "full");
    assert_int_equal(mkdir(dir, 0700), 0);
    run_child(child_full_tmpfs, dir);
}

/* Out of inodes rather than blocks: memory-backed objects still say
 * SHMAP_ENOMEM (the store is out of room), not the backing-file
 * SHMAP_ENOSPC. */
static void child_no_inodes(void *arg)
{
    const char *dir = arg;
    private_tmpfs(dir, "size=16m,nr_inodes=12,mode=0700");
    shmap_mapping_config cfg = cfg_of(GRAN);
    shmap_mapping *m[32];
    int n = 0, rc = 0;
    while (n < 32) {
        char name[32];
        snprintf(name, sizeof name, "obj-%d", n);
        rc = shmap_mapping_create(name, &cfg, &m[n]);
        if (rc < 0)
            break;
        n++;
    }
    TU_CHILD_CHECK(n > 0 && n < 32);
    if (rc != SHMAP_ENOMEM)
        fprintf(stderr, "create with the tmpfs out of inodes: %s, want SHMAP_ENOMEM\n",
                tu_errname(rc));
    shmap_sync *s = NULL;
    int rc_sync = shmap_mutex_create("mx", 0, 0600, &s);
    if (rc_sync != SHMAP_ENOMEM)
        fprintf(stderr, "mutex_create with the tmpfs out of inodes: %s, want SHMAP_ENOMEM\n",
                tu_errname(rc_sync));
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == n);
    TU_CHILD_RC(shmap_mapping_close(m[--n]), 0);
    TU_CHILD_RC(shmap_mutex_create("mx", 0, 0600, &s), 0);
    TU_CHILD_RC(shmap_sync_close(s), 0);
    while (n > 0)
        TU_CHILD_RC(shmap_mapping_close(m[--n]), 0);
    TU_CHILD_RC(rc, SHMAP_ENOMEM);
    TU_CHILD_RC(rc_sync, SHMAP_ENOMEM);
}

static void test_tmpfs_out_of_inodes(void **state)
{
    (void)state;
    static char dir[PATH_MAX];
    tu_scratch_path(dir, sizeof dir, "inodes");
    assert_int_equal(mkdir(dir, 0700), 0);
    run_child(child_no_inodes, dir);
}

/* ---- The maximum number of mappings ----------------------------------------- */

static long read_long(const char *path)
{
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

static void child_map_count(void *arg)
{
    (void)arg;
    long max = read_long("/proc/sys/vm/max_map_count");
    if (max <= 0 || max > 1000000)
        child_skip("vm.max_map_count unreadable or too large to reach cheaply");
    if (UNDER_SANITIZER)
        child_skip("a sanitizer runtime needs mappings of its own at any time");
    open_maps_fd();
    shmap_mapping_config cfg = cfg_of(GRAN);
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_create("views", &cfg, &m), 0);
    enum { SPARE = 48 };
    void *views[SPARE + 16];
    /* Room in the view registry first (it grows by realloc). */
    for (int i = 0; i < SPARE + 16; i++)
        TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, &views[i]), 0);
    for (int i = 0; i < SPARE + 16; i++)
        TU_CHILD_RC(shmap_view_unmap(views[i]), 0);

    /* Fill the map count but SPARE with single pages of alternating
     * protection (they cannot merge). */
    long page = sysconf(_SC_PAGESIZE);
    long want = max - vmas_count() - SPARE;
    TU_CHILD_CHECK(want > 0);
    char *fill = mmap(NULL, (size_t)(want * page), PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    TU_CHILD_CHECK(fill != MAP_FAILED);
    for (long i = 1; i < want; i += 2)
        TU_CHILD_CHECK(mprotect(fill + i * page, (size_t)page, PROT_READ) == 0);

    int fds = fds_open(), maps = maps_count(), n = 0, rc = 0;
    while (n < SPARE + 16) {
        rc = shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, &views[n]);
        if (rc < 0)
            break;
        maps++;
        n++;
    }
    if (rc != SHMAP_ENOMEM && rc != SHMAP_EMFILE)
        fprintf(stderr, "view_map at vm.max_map_count: %s\n", tu_errname(rc));
    TU_CHILD_CHECK(rc == SHMAP_ENOMEM || rc == SHMAP_EMFILE);
    /* (The count in /proc has [vsyscall], which is no VMA; the kernel
     * fails the mapping past max_map_count.) */
    TU_CHILD_CHECK(n > 0 && n <= SPARE + 4);
    TU_CHILD_CHECK(fds_open() == fds && maps_count() == maps);
    /* A new mutex needs a mapping too. */
    shmap_sync *s = NULL;
    rc = shmap_mutex_create("mx", 0, 0600, &s);
    TU_CHILD_CHECK(rc == SHMAP_ENOMEM || rc == SHMAP_EMFILE);
    TU_CHILD_CHECK(s == NULL && fds_open() == fds && maps_count() == maps);
    /* Give two back: works again. */
    TU_CHILD_RC(shmap_view_unmap(views[--n]), 0);
    TU_CHILD_RC(shmap_view_unmap(views[--n]), 0);
    TU_CHILD_RC(shmap_mutex_create("mx", 0, 0600, &s), 0);
    TU_CHILD_RC(shmap_sync_close(s), 0);
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, &views[n++]), 0);
    while (n > 0)
        TU_CHILD_RC(shmap_view_unmap(views[--n]), 0);
    munmap(fill, (size_t)(want * page));
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_CHECK(tu_ns_count(SHMAP_SCOPE_LOCAL, 1) == 0);
}

static void test_out_of_mappings(void **state)
{
    (void)state;
    run_child(child_map_count, NULL);
}

int main(void)
{
    if (getenv("SHMAP_TEST_FILTER"))
        cmocka_set_test_filter(getenv("SHMAP_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_out_of_file_descriptors, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_address_space, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_full_tmpfs, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_tmpfs_out_of_inodes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_mappings, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
