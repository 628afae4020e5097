/* testutil.c - helpers shared by the shmap tests (see testutil.h). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* mkdtemp makes the top directory; SHMAP_ROOT is its subdirectory "store",
 * so that the test owns SHMAP_ROOT's parent and scratch files live beside
 * the store, not in it. */
static char store_top[256];
static char store_root[300];

void tu_store_setup(void)
{
    /* A SIGPIPE from a test's pipe must fail the call, not kill the run. */
    signal(SIGPIPE, SIG_IGN);
    snprintf(store_top, sizeof store_top, "/dev/shm/shmap-test-XXXXXX");
    if (!mkdtemp(store_top))
        fail_msg("mkdtemp(%s): %s", store_top, strerror(errno));
    snprintf(store_root, sizeof store_root, "%s/store", store_top);
    if (mkdir(store_root, 0700) != 0)
        fail_msg("mkdir(%s): %s", store_root, strerror(errno));
    if (setenv("SHMAP_ROOT", store_root, 1) != 0)
        fail_msg("setenv: %s", strerror(errno));
}

const char *tu_store_root(void)
{
    return store_root;
}

const char *tu_store_top(void)
{
    return store_top;
}

const char *tu_scratch_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", store_top, name);
    return buf;
}

const char *tu_ns_path(uint32_t scope, char *buf, size_t size)
{
    int rc = shmap_store_path(scope, buf, size);
    if (rc != 0)
        fail_msg("shmap_store_path(%u): %s", scope, tu_errname(rc));
    return buf;
}

int tu_ns_count(uint32_t scope, int all)
{
    char path[PATH_MAX];
    tu_ns_path(scope, path, sizeof path);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!all && e->d_name[0] == '.')
            continue;
        n++;
    }
    closedir(d);
    return n;
}

/* Counts (and prints) every non-directory entry below PATH. */
static int count_files(const char *path, int print)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            n += count_files(sub, print);
        } else {
            if (print)
                print_error("  left in the store: %s\n", sub);
            n++;
        }
    }
    closedir(d);
    return n;
}

int tu_store_count(void)
{
    return count_files(store_root, 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void tu_store_teardown(void)
{
    if (!store_top[0])
        return;
    /* The namespace directories as the library resolves them must exist
     * only as directories, and every directory below the root must be free
     * of object files, whoever's namespace it is. */
    int left = count_files(store_root, 1);
    char top[PATH_MAX];
    snprintf(top, sizeof top, "%s", store_top);
    store_top[0] = '\0';
    /* Undo what tests do to the tree (mode 0, immutable modes) first. */
    chmod(top, 0700);
    nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (left != 0)
        fail_msg("the store held %d file(s) at the end of the test", left);
}

int tu_setup(void **state)
{
    (void)state;
    tu_store_setup();
    return 0;
}

int tu_teardown(void **state)
{
    (void)state;
    tu_store_teardown();
    return 0;
}

int tu_name_exists(const char *name)
{
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_open(name, SHMAP_ACCESS_READ, &m);
    if (rc == SHMAP_ENOENT)
        return 0;
    if (rc != 0)
        fail_msg("open(%s) for an existence check: %s", name, tu_errname(rc));
    assert_rc(shmap_mapping_close(m), 0);
    return 1;
}

/* ---- Codes ------------------------------------------------------------ */

const char *tu_errname(int code)
{
    const char *n = shmap_errname(code);
    return n ? n : "(no name)";
}

void tu_assert_rc(int got, int want, const char *expr, const char *file, int line)
{
    if (got == want)
        return;
    print_error("%s:%d: %s\n    returned %d %s, want %d %s\n", file, line, expr, got,
                tu_errname(got), want, tu_errname(want));
    _fail(file, line);
}

/* ---- Creating things quickly ----------------------------------------- */

shmap_mapping *tu_create_cfg(const char *name, const shmap_mapping_config *cfg, int want)
{
    shmap_mapping *m = NULL;
    assert_rc(shmap_mapping_create(name, cfg, &m), want);
    if (want >= 0)
        assert_non_null(m);
    return m;
}

shmap_mapping *tu_create(const char *name, uint64_t size)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = size;
    return tu_create_cfg(name, &cfg, 0);
}

shmap_mapping *tu_open(const char *name, uint32_t access)
{
    shmap_mapping *m = NULL;
    assert_rc(shmap_mapping_open(name, access, &m), 0);
    assert_non_null(m);
    return m;
}

void tu_info(const shmap_mapping *m, shmap_mapping_info *info)
{
    assert_rc(shmap_mapping_query(m, info), 0);
}

void *tu_map(shmap_mapping *m, uint32_t access, uint64_t offset, size_t length)
{
    void *p = NULL;
    assert_rc(shmap_view_map(m, access, offset, length, NULL, &p), 0);
    assert_non_null(p);
    return p;
}

/* ---- Processes ------------------------------------------------------- */

pid_t tu_fork(void (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        /* cmocka catches these to longjmp into its runner; a child must
         * die of them instead, so that its parent sees the signal. */
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        /* Not synchronization, a safety net: a child whose parent test
         * failed (and so never released it) must not linger. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(60);
        fn(arg);
        _exit(0);
    }
    return pid;
}

int tu_wait_exit(pid_t pid)
{
    int status;
    pid_t r;
    do
        r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r != pid)
        fail_msg("waitpid(%d): %s", (int)pid, strerror(errno));
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

void tu_child_fail(const char *file, int line, const char *what, int got, int want)
{
    if (got != want)
        fprintf(stderr, "[child %d] %s:%d: %s returned %d %s, want %d %s\n", (int)getpid(), file,
                line, what, got, tu_errname(got), want, tu_errname(want));
    else
        fprintf(stderr, "[child %d] %s:%d: check failed: %s\n", (int)getpid(), file, line, what);
    fflush(stderr);
    _exit(2);
}

void *tu_shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail_msg("mmap shared: %s", strerror(errno));
    return p;
}

void tu_shared_free(void *p, size_t size)
{
    munmap(p, size);
}

/* ---- Pipes as sync points ------------------------------------------- */

void tu_pipe(int fd[2])
{
    if (pipe2(fd, O_CLOEXEC) != 0)
        fail_msg("pipe2: %s", strerror(errno));
}

int tu_pipe_signal(int fd, char byte)
{
    ssize_t n;
    do
        n = write(fd, &byte, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

int tu_pipe_wait(int fd)
{
    unsigned char b;
    ssize_t n;
    do
        n = read(fd, &b, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? b : -1;
}

int tu_pipe_write(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tu_pipe_read(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void tu_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* ---- Leak counters --------------------------------------------------- */

int tu_count_fds(void)
{
    /* getdents64 on a stack buffer: no malloc, and only our own fd extra. */
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        fail_msg("open /proc/self/fd: %s", strerror(errno));
    char buf[8192];
    int n = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (got <= 0)
            break;
        for (long off = 0; off < got;) {
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *name = buf + off + 19;
            if (name[0] != '.')
                n++;
            off += reclen;
        }
    }
    close(dfd);
    return n - 1; /* not dfd itself */
}

int tu_count_maps(void)
{
    /* Only mappings of files (inode != 0), which every view is: anonymous
     * ones come and go with allocators (ASan's too) and would make noise. */
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("open /proc/self/maps: %s", strerror(errno));
    char buf[8192], line[1024];
    size_t len = 0;
    int n = 0;
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] != '\n') {
                if (len < sizeof line - 1)
                    line[len++] = buf[i];
                continue;
            }
            line[len] = '\0';
            len = 0;
            /* "start-end perms offset dev inode path" */
            unsigned long inode = 0;
            if (sscanf(line, "%*s %*s %*s %*s %lu", &inode) == 1 && inode != 0)
                n++;
        }
    }
    close(fd);
    return n;
}

static void store_warm(const char *name)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    shmap_mapping *m = NULL;
    void *p = NULL;
    if (shmap_mapping_create(name, &cfg, &m) < 0)
        return;
    if (shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p) == 0)
        shmap_view_unmap(p);
    shmap_mapping_close(m);
}

void tu_snap_take(struct tu_snap *s)
{
    store_warm("Local\\tu-warm-up");
    store_warm("Global\\tu-warm-up");
    s->fds = tu_count_fds();
    s->maps = tu_count_maps();
    s->store = tu_store_count();
}

void tu_snap_check_at(const struct tu_snap *s, const char *file, int line)
{
    struct tu_snap now;
    tu_snap_take(&now);
    if (now.fds == s->fds && now.maps == s->maps && now.store == s->store)
        return;
    print_error("%s:%d: leak after a failed call: fds %d -> %d, mappings %d -> %d, "
                "store files %d -> %d\n",
                file, line, s->fds, now.fds, s->maps, now.maps, s->store, now.store);
    if (now.store != s->store)
        count_files(store_root, 1);
    _fail(file, line);
}

int tu_is_mapped(const void *addr, size_t len)
{
    /* msync fails with ENOMEM exactly when part of the range is unmapped. */
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(page - 1);
    return msync((void *)a, len + ((uintptr_t)addr - a), MS_ASYNC) == 0;
}

int tu_is_file_mapped(const void *addr)
{
    /* Sanitizer runtimes map anonymous memory at any time, anywhere: only a
     * mapping of a file (a view) tells that the library left something. */
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        fail_msg("/proc/self/maps: %s", strerror(errno));
    char line[512];
    int found = 0;
    uintptr_t a = (uintptr_t)addr;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, inode;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &inode) == 3)
            found = inode != 0 && a >= lo && a < hi;
    }
    fclose(f);
    return found;
}

void *tu_free_aligned_addr(size_t len)
{
    size_t span = len + 2 * GRAN;
    char *p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        fail_msg("mmap: %s", strerror(errno));
    uintptr_t a = ((uintptr_t)p + GRAN - 1) & ~(uintptr_t)(GRAN - 1);
    /* Unmapping it all leaves a hole that nothing else in this
     * single-threaded test takes before the caller uses it. */
    munmap(p, span);
    return (void *)a;
}

/* Tries DIR/NAME, DIR/tests/NAME for each candidate directory. */
const char *tu_helper_path(const char *name, char *buf, size_t size)
{
    char self[PATH_MAX];
    const char *dirs[2] = {getenv("SHMAP_TEST_BIN_DIR"), NULL};
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        dirs[1] = self;
    }
    static const char *subs[] = {"", "/tests"};
    for (int d = 0; d < 2; d++) {
        if (!dirs[d] || !dirs[d][0])
            continue;
        for (int s = 0; s < 2; s++) {
            snprintf(buf, size, "%s%s/%s", dirs[d], subs[s], name);
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return NULL;
}

char tu_task_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

void tu_wait_blocked(pid_t tid)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (tu_task_state(tid) != 'S') {
        sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 20)
            fail_msg("thread %d never blocked (state %c)", (int)tid, tu_task_state(tid));
    }
}

shmap_sync *tu_mutex_new(const char *name, uint32_t flags)
{
    shmap_sync *s = NULL;
    assert_rc(shmap_mutex_create(name, flags, 0600, &s), 0);
    assert_non_null(s);
    return s;
}

shmap_sync *tu_event_new(const char *name, uint32_t flags)
{
    shmap_sync *s = NULL;
    assert_rc(shmap_event_create(name, flags, 0600, &s), 0);
    return s;
}

shmap_sync *tu_sem_new(const char *name, uint32_t initial, uint32_t maximum)
{
    shmap_sync *s = NULL;
    assert_rc(shmap_semaphore_create(name, initial, maximum, 0, 0600, &s), 0);
    return s;
}

shmap_sync_info tu_sync_info(const shmap_sync *s)
{
    shmap_sync_info info;
    assert_rc(shmap_sync_query(s, &info), 0);
    return info;
}
