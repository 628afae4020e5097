/* test_races.c - races on one name between processes, thousands of times:
 * create vs close-last, open vs close-last, create vs gc (shmap_store_sweep
 * of stale names) and open vs gc.  The invariant, checked by every holder
 * right after it gets its handle and again after a yield: while a process
 * holds a handle, the name in the namespace directory is the very file
 * behind the handle (same device and inode), so any other process finds
 * that object by name, and nobody can remove or replace it.  "Stale" names
 * for the gc to remove are made by short-lived processes that create the
 * name and exit without closing.  Each scenario ends with every process
 * gone and the namespace directory empty after one sweep.
 * SHMAP_RACE_ITERS sets the iterations per process (default 1500). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PROCS 4
#define NAME "race"
#define DEFAULT_ITERS 1500

enum role { CREATOR, OPENER, SWEEPER, STALER };

struct race {
    uint64_t violations;
    char msg[512];
    uint64_t created, existed, opened, absent, checks, swept, stale_made;
};

static struct race *R;
static char name_path[PATH_MAX];

static uint64_t iterations(void)
{
    const char *v = getenv("SHMAP_RACE_ITERS");
    uint64_t n = v && *v ? strtoull(v, NULL, 0) : 0;
    return n ? n : DEFAULT_ITERS;
}

__attribute__((format(printf, 1, 2), noreturn)) static void violation(const char *fmt, ...)
{
    char text[sizeof R->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(text, sizeof text, "pid %d: ", (int)getpid());
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    va_end(ap);
    if (__atomic_add_fetch(&R->violations, 1, __ATOMIC_SEQ_CST) == 1)
        memcpy(R->msg, text, sizeof text);
    fprintf(stderr, "VIOLATION %s\n", text);
    _exit(3);
}

static void count(uint64_t *field)
{
    __atomic_add_fetch(field, 1, __ATOMIC_RELAXED);
}

/* The name must be the file behind M, now. */
static void verify_held(shmap_mapping *m, const char *how)
{
    int fd = -1;
    int rc = shmap_mapping_export_fd(m, &fd);
    if (rc != 0)
        violation("export_fd: %s", tu_errname(rc));
    struct stat held, named;
    if (fstat(fd, &held) != 0)
        violation("fstat: %s", strerror(errno));
    close(fd);
    if (stat(name_path, &named) != 0)
        violation("%s: while held, the name is gone (%s)", how, strerror(errno));
    if (named.st_dev != held.st_dev || named.st_ino != held.st_ino)
        violation("%s: while held, the name is inode %lu, the handle inode %lu", how,
                  (unsigned long)named.st_ino, (unsigned long)held.st_ino);
    count(&R->checks);
}

/* Holds M a little, checking at both ends, then closes it. */
static void hold_and_close(shmap_mapping *m, const char *how, unsigned i)
{
    verify_held(m, how);
    for (unsigned y = i % 3; y > 0; y--)
        sched_yield();
    verify_held(m, how);
    int rc = shmap_mapping_close(m);
    if (rc != 0)
        violation("close: %s", tu_errname(rc));
}

static void do_create(unsigned i)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_create(NAME, &cfg, &m);
    if (rc != 0 && rc != SHMAP_EXISTED)
        violation("create: %s", tu_errname(rc));
    count(rc == 0 ? &R->created : &R->existed);
    hold_and_close(m, rc == 0 ? "created" : "create found it", i);
}

static void do_open(unsigned i)
{
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_open(NAME, SHMAP_ACCESS_ALL, &m);
    if (rc == SHMAP_ENOENT) {
        count(&R->absent);
        return;
    }
    if (rc != 0)
        violation("open: %s", tu_errname(rc));
    count(&R->opened);
    hold_and_close(m, "opened", i);
}

static void swept_cb(const char *name, void *arg)
{
    (void)arg;
    if (strcmp(name, "Local\\" NAME) != 0)
        violation("sweep removed %s", name);
    count(&R->swept);
}

static void do_sweep(void)
{
    int rc = shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, swept_cb, NULL);
    if (rc < 0)
        violation("sweep: %s", tu_errname(rc));
}

/* A process that creates (or opens) the name and exits holding it: if it
 * was the only holder, the name is left stale. */
static void do_stale(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        violation("fork: %s", strerror(errno));
    if (pid == 0) {
        shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
        cfg.size = GRAN;
        shmap_mapping *m = NULL;
        int rc = shmap_mapping_create(NAME, &cfg, &m);
        if (rc != 0 && rc != SHMAP_EXISTED)
            violation("stale maker's create: %s", tu_errname(rc));
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        violation("stale maker ended with status %#x", status);
    count(&R->stale_made);
}

struct proc_arg {
    enum role role;
    int go; /* read end: one byte starts the run */
    uint64_t iters;
};

/* A random pause outside any hold, so that holds do not overlap all the
 * time and the name really dies and is made again (not synchronization). */
static void gap(uint64_t *rng)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    for (unsigned y = (unsigned)(*rng >> 59); y > 0; y--)
        sched_yield();
}

static void racer(void *arg)
{
    struct proc_arg *a = arg;
    uint64_t rng = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
    alarm(120); /* a safety net against a hang, not synchronization */
    if (tu_pipe_wait(a->go) < 0)
        _exit(4);
    uint64_t n = a->role == STALER ? a->iters / 4 : a->iters;
    for (unsigned i = 0; i < n; i++) {
        switch (a->role) {
        case CREATOR:
            do_create(i);
            break;
        case OPENER:
            do_open(i);
            break;
        case SWEEPER:
            do_sweep();
            break;
        case STALER:
            do_stale();
            break;
        }
        gap(&rng);
    }
}

static int ns_entries(void)
{
    return tu_ns_count(SHMAP_SCOPE_LOCAL, 1);
}

static void run_race(const char *title, const enum role roles[PROCS])
{
    R = tu_shared_alloc(sizeof *R);
    memset(R, 0, sizeof *R);
    char ns[PATH_MAX];
    tu_ns_path(SHMAP_SCOPE_LOCAL, ns, sizeof ns);
    int n = snprintf(name_path, sizeof name_path, "%s/%s", ns, NAME);
    assert_true(n > 0 && (size_t)n < sizeof name_path);
    /* The namespace exists before the race: no process races to make it. */
    assert_rc(shmap_mapping_close(tu_create("warm-up", GRAN)), 0);

    int go[2];
    tu_pipe(go);
    struct proc_arg args[PROCS];
    pid_t pids[PROCS];
    uint64_t iters = iterations();
    for (int p = 0; p < PROCS; p++) {
        args[p] = (struct proc_arg){roles[p], go[0], iters};
        pids[p] = tu_fork(racer, &args[p]);
    }
    for (int p = 0; p < PROCS; p++)
        assert_int_equal(tu_pipe_signal(go[1], 'g'), 0);
    int failed = 0;
    for (int p = 0; p < PROCS; p++)
        failed |= tu_wait_exit(pids[p]) != 0;
    tu_close(go[0]);
    tu_close(go[1]);
    if (failed || R->violations)
        fail_msg("%s: %s", title, R->violations ? R->msg : "a process failed");

    int swept = shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL);
    assert_true(swept >= 0);
    print_message("%s: %llu iterations x %d processes: %llu created, %llu existed, %llu opened, "
                  "%llu absent, %llu stale made, %llu swept by the gc; %llu holder checks; "
                  "final sweep removed %d, %d entries left\n",
                  title, (unsigned long long)iters, PROCS, (unsigned long long)R->created,
                  (unsigned long long)R->existed, (unsigned long long)R->opened,
                  (unsigned long long)R->absent, (unsigned long long)R->stale_made,
                  (unsigned long long)R->swept, (unsigned long long)R->checks, swept, ns_entries());
    assert_int_equal(ns_entries(), 0);
    tu_shared_free(R, sizeof *R);
    R = NULL;
}

static void test_create_vs_close_last(void **state)
{
    (void)state;
    static const enum role roles[PROCS] = {CREATOR, CREATOR, CREATOR, CREATOR};
    run_race("create vs close-last", roles);
}

static void test_open_vs_close_last(void **state)
{
    (void)state;
    static const enum role roles[PROCS] = {CREATOR, CREATOR, OPENER, OPENER};
    run_race("open vs close-last", roles);
}

static void test_create_vs_gc(void **state)
{
    (void)state;
    static const enum role roles[PROCS] = {CREATOR, CREATOR, SWEEPER, STALER};
    run_race("create vs gc", roles);
}

static void test_open_vs_gc(void **state)
{
    (void)state;
    static const enum role roles[PROCS] = {CREATOR, OPENER, SWEEPER, STALER};
    run_race("open vs gc", roles);
}

int main(void)
{
    if (getenv("SHMAP_TEST_FILTER"))
        cmocka_set_test_filter(getenv("SHMAP_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_vs_close_last, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_open_vs_close_last, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_vs_gc, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_open_vs_gc, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
