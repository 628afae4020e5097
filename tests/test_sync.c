/* test_sync.c - mutexes, events and semaphores as objects: named create /
 * open / close and type clashes, a mutex under contention of 8 processes,
 * recursion and ownership, abandonment (SIGKILL of the owning process, exit
 * of the owning thread), manual- and auto-reset events with 4 waiting
 * processes, semaphore counts and maximum, unnamed objects in a view,
 * describe, and bad arguments.  Waits on several objects are tested in
 * test_sync_wait.c. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- Helpers --------------------------------------------------------------- */

static void pipes_close(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* ---- Named objects: create, open, close, types ------------------------------ */

static void test_create_open_close(void **state)
{
    (void)state;
    shmap_sync *a = tu_mutex_new("m", 0), *b = NULL, *c = NULL;
    assert_rc(shmap_mutex_create("m", SHMAP_MUTEX_INITIAL_OWNER, 0600, &b), SHMAP_EXISTED);
    assert_int_equal(tu_sync_info(b).owner_tid, 0); /* existed: initial owner ignored */
    assert_rc(shmap_mutex_open("m", &c), 0);
    assert_string_equal(tu_sync_info(c).name, "Local\\m");
    shmap_sync *d = (shmap_sync *)0x1;
    assert_rc(shmap_mutex_create("m", SHMAP_CREATE_NEW, 0600, &d), SHMAP_EEXIST);
    assert_ptr_equal(d, (shmap_sync *)0x1);
    assert_rc(shmap_event_open("nothing", &d), SHMAP_ENOENT);
    assert_rc(shmap_sync_close(a), 0);
    assert_rc(shmap_sync_close(b), 0);
    assert_rc(shmap_mutex_open("m", &d), 0);
    assert_rc(shmap_sync_close(d), 0);
    assert_rc(shmap_sync_close(c), 0);
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 0), 0); /* last close: name gone */
    assert_rc(shmap_mutex_open("m", &d), SHMAP_ENOENT);
}

static void test_type_clash(void **state)
{
    (void)state;
    shmap_mapping *map = tu_create("shared", GRAN);
    shmap_sync *s = NULL, *mx = tu_mutex_new("lock", 0), *ev = tu_event_new("ev", 0);
    struct tu_snap snap;
    tu_snap_take(&snap);
    assert_rc(shmap_mutex_create("shared", 0, 0600, &s), SHMAP_ETYPE);
    assert_rc(shmap_event_create("shared", 0, 0600, &s), SHMAP_ETYPE);
    assert_rc(shmap_semaphore_create("shared", 0, 1, 0, 0600, &s), SHMAP_ETYPE);
    assert_rc(shmap_mutex_open("shared", &s), SHMAP_ETYPE);
    shmap_mapping *m2 = NULL;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    assert_rc(shmap_mapping_create("lock", &cfg, &m2), SHMAP_ETYPE);
    assert_rc(shmap_mapping_open("lock", SHMAP_ACCESS_ALL, &m2), SHMAP_ETYPE);
    assert_rc(shmap_event_create("lock", 0, 0600, &s), SHMAP_ETYPE);
    assert_rc(shmap_semaphore_open("ev", &s), SHMAP_ETYPE);
    assert_rc(shmap_mutex_open("ev", &s), SHMAP_ETYPE);
    tu_snap_check(&snap);
    assert_null(s);
    assert_null(m2);
    assert_rc(shmap_sync_close(mx), 0);
    assert_rc(shmap_sync_close(ev), 0);
    assert_rc(shmap_mapping_close(map), 0);
}

/* ---- 8 processes x 20000 increments under one named mutex ---------------- */

#define COUNT_PROCS 8
#define COUNT_ITERS 20000

/* Odd children wait with a timeout (the library's own futex rounds), even
 * ones without (glibc's lock): both kinds of waiter contend. */
static void child_count(void *arg)
{
    uint32_t timeout = (uintptr_t)arg % 2 ? 600000 : SHMAP_INFINITE;
    shmap_mapping *m = NULL;
    shmap_sync *mx = NULL;
    void *p = NULL;
    TU_CHILD_RC(shmap_mapping_open("counter", SHMAP_ACCESS_ALL, &m), 0);
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), 0);
    TU_CHILD_RC(shmap_mutex_open("counter.lock", &mx), 0);
    volatile uint64_t *counter = p;
    for (int i = 0; i < COUNT_ITERS; i++) {
        TU_CHILD_RC(shmap_wait(mx, timeout), 0);
        *counter = *counter + 1;
        TU_CHILD_RC(shmap_mutex_release(mx), 0);
    }
    TU_CHILD_RC(shmap_sync_close(mx), 0);
    TU_CHILD_RC(shmap_view_unmap(p), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_mutex_counter_8_processes(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("counter", GRAN);
    volatile uint64_t *counter = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    shmap_sync *mx = tu_mutex_new("counter.lock", 0);
    pid_t pids[COUNT_PROCS];
    for (int i = 0; i < COUNT_PROCS; i++)
        pids[i] = tu_fork(child_count, (void *)(uintptr_t)i);
    for (int i = 0; i < COUNT_PROCS; i++)
        tu_wait_ok(pids[i]);
    assert_int_equal(*counter, (uint64_t)COUNT_PROCS * COUNT_ITERS);
    assert_int_equal(tu_sync_info(mx).owner_tid, 0);
    assert_rc(shmap_sync_close(mx), 0);
    assert_rc(shmap_view_unmap((void *)counter), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- Ownership and recursion ----------------------------------------------- */

struct other_thread {
    shmap_sync *mx;
    int release_rc, wait_rc;
};

static void *other_release(void *arg)
{
    struct other_thread *o = arg;
    o->release_rc = shmap_mutex_release(o->mx);
    o->wait_rc = shmap_wait(o->mx, 0);
    if (o->wait_rc == 0)
        shmap_mutex_release(o->mx);
    return NULL;
}

static void other_run(struct other_thread *o)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_release, o), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_mutex_recursion_and_owner(void **state)
{
    (void)state;
    shmap_sync *mx = tu_mutex_new("rec", 0);
    assert_rc(shmap_mutex_release(mx), SHMAP_ENOTOWNER);
    for (int i = 0; i < 3; i++)
        assert_rc(shmap_wait(mx, SHMAP_INFINITE), 0);
    shmap_sync_info info = tu_sync_info(mx);
    assert_int_equal(info.owner_tid, (uint32_t)gettid());
    assert_int_equal(info.recursion, 3);

    struct other_thread o = {mx, 0, 0};
    other_run(&o);
    assert_rc(o.release_rc, SHMAP_ENOTOWNER);
    assert_rc(o.wait_rc, SHMAP_ETIMEDOUT);
    info = tu_sync_info(mx);
    assert_int_equal(info.owner_tid, (uint32_t)gettid());
    assert_int_equal(info.recursion, 3);

    for (int i = 0; i < 3; i++)
        assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_mutex_release(mx), SHMAP_ENOTOWNER);
    assert_int_equal(tu_sync_info(mx).owner_tid, 0);
    other_run(&o);
    assert_rc(o.wait_rc, 0);
    assert_rc(shmap_sync_close(mx), 0);
}

/* The creator owns a new mutex before anyone can reach it. */
static void child_try_initial(void *arg)
{
    (void)arg;
    shmap_sync *mx = NULL;
    TU_CHILD_RC(shmap_mutex_open("owned", &mx), 0);
    TU_CHILD_RC(shmap_wait(mx, 0), SHMAP_ETIMEDOUT);
    TU_CHILD_RC(shmap_sync_close(mx), 0);
}

static void test_mutex_initial_owner(void **state)
{
    (void)state;
    shmap_sync *mx = tu_mutex_new("owned", SHMAP_MUTEX_INITIAL_OWNER);
    shmap_sync_info info = tu_sync_info(mx);
    assert_int_equal(info.owner_tid, (uint32_t)gettid());
    assert_int_equal(info.recursion, 1);
    tu_wait_ok(tu_fork(child_try_initial, NULL));
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_mutex_release(mx), SHMAP_ENOTOWNER);
    assert_rc(shmap_sync_close(mx), 0);

    shmap_sync *un = NULL;
    assert_rc(shmap_mutex_create(NULL, SHMAP_MUTEX_INITIAL_OWNER, 0, &un), 0);
    assert_int_equal(tu_sync_info(un).owner_tid, (uint32_t)gettid());
    assert_rc(shmap_mutex_release(un), 0);
    assert_rc(shmap_sync_close(un), 0);
}

/* ---- Abandonment ------------------------------------------------------------- */

struct abandon {
    int up[2];   /* children -> parent */
    int down[2]; /* parent -> children (never written: holders block on it) */
};

static void child_hold(void *arg)
{
    struct abandon *a = arg;
    shmap_sync *mx = NULL;
    TU_CHILD_RC(shmap_mutex_open("abandon", &mx), 0);
    TU_CHILD_RC(shmap_wait(mx, SHMAP_INFINITE), 0);
    TU_CHILD_RC(shmap_wait(mx, SHMAP_INFINITE), 0); /* held twice */
    TU_CHILD_CHECK(tu_pipe_signal(a->up[1], 'L') == 0);
    tu_pipe_wait(a->down[0]); /* until killed */
}

static void child_wait_abandoned(void *arg)
{
    struct abandon *a = arg;
    shmap_sync *mx = NULL;
    TU_CHILD_RC(shmap_mutex_open("abandon", &mx), 0);
    TU_CHILD_CHECK(tu_pipe_signal(a->up[1], 'r') == 0);
    int rc = shmap_wait(mx, SHMAP_INFINITE);
    TU_CHILD_CHECK(tu_pipe_write(a->up[1], &rc, sizeof rc) == 0);
    if (rc >= 0) {
        shmap_sync_info info;
        TU_CHILD_RC(shmap_sync_query(mx, &info), 0);
        TU_CHILD_CHECK(info.recursion == 1 && info.owner_tid == (uint32_t)gettid());
        TU_CHILD_CHECK(!info.abandoned);
        TU_CHILD_RC(shmap_mutex_release(mx), 0);
    }
    TU_CHILD_RC(shmap_sync_close(mx), 0);
}

static pid_t holder_start(struct abandon *a)
{
    pid_t pid = tu_fork(child_hold, a);
    assert_int_equal(tu_pipe_wait(a->up[0]), 'L');
    return pid;
}

static void holder_kill(pid_t pid)
{
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(tu_wait_exit(pid), 128 + SIGKILL);
}

/* Waiting then; the waiter wakes with SHMAP_ABANDONED; the next does not. */
static void test_abandoned_by_sigkill_blocked_waiter(void **state)
{
    (void)state;
    struct abandon a;
    tu_pipe(a.up);
    tu_pipe(a.down);
    shmap_sync *mx = tu_mutex_new("abandon", 0);
    pid_t holder = holder_start(&a);
    pid_t waiter = tu_fork(child_wait_abandoned, &a);
    assert_int_equal(tu_pipe_wait(a.up[0]), 'r');
    tu_wait_blocked(waiter);
    holder_kill(holder);
    int rc = 0;
    assert_int_equal(tu_pipe_read(a.up[0], &rc, sizeof rc), 0);
    assert_rc(rc, SHMAP_ABANDONED);
    tu_wait_ok(waiter);
    /* Later waiters: a normal mutex again. */
    assert_rc(shmap_wait(mx, 0), 0);
    assert_false(tu_sync_info(mx).abandoned);
    assert_rc(shmap_mutex_release(mx), 0);
    waiter = tu_fork(child_wait_abandoned, &a);
    assert_int_equal(tu_pipe_wait(a.up[0]), 'r');
    assert_int_equal(tu_pipe_read(a.up[0], &rc, sizeof rc), 0);
    assert_rc(rc, 0);
    tu_wait_ok(waiter);
    assert_rc(shmap_sync_close(mx), 0);
    pipes_close(a.up, 2);
    pipes_close(a.down, 2);
}

/* Nobody waiting when the owner dies: the first to come later sees it. */
static void test_abandoned_by_sigkill_later_waiter(void **state)
{
    (void)state;
    struct abandon a;
    tu_pipe(a.up);
    tu_pipe(a.down);
    shmap_sync *mx = tu_mutex_new("abandon", 0);
    holder_kill(holder_start(&a));
    assert_true(tu_sync_info(mx).abandoned);
    assert_rc(shmap_wait(mx, 0), SHMAP_ABANDONED);
    assert_int_equal(tu_sync_info(mx).recursion, 1);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_mutex_release(mx), SHMAP_ENOTOWNER);
    assert_rc(shmap_wait(mx, 0), 0);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_wait(mx, 1000), 0);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_sync_close(mx), 0);
    pipes_close(a.up, 2);
    pipes_close(a.down, 2);
}

struct thread_hold {
    shmap_sync *mx;
    int up[2], down[2];
    pid_t tid;
    int rc;
};

/* Takes the mutex, says so, waits for the word, and exits holding it. */
static void *thread_hold_exit(void *arg)
{
    struct thread_hold *t = arg;
    t->rc = shmap_wait(t->mx, SHMAP_INFINITE);
    tu_pipe_signal(t->up[1], 'L');
    tu_pipe_wait(t->down[0]);
    pthread_exit(NULL);
}

static void *thread_wait(void *arg)
{
    struct thread_hold *t = arg;
    t->tid = gettid();
    tu_pipe_signal(t->up[1], 'r');
    t->rc = shmap_wait(t->mx, SHMAP_INFINITE);
    if (t->rc >= 0)
        shmap_mutex_release(t->mx);
    return NULL;
}

static void test_abandoned_by_thread_exit(void **state)
{
    (void)state;
    struct thread_hold h = {0}, w = {0};
    h.mx = w.mx = tu_mutex_new("thread", 0);
    tu_pipe(h.up);
    tu_pipe(h.down);
    w.up[1] = h.up[1];
    pthread_t th, tw;
    assert_int_equal(pthread_create(&th, NULL, thread_hold_exit, &h), 0);
    assert_int_equal(tu_pipe_wait(h.up[0]), 'L');
    assert_rc(h.rc, 0);
    assert_int_equal(pthread_create(&tw, NULL, thread_wait, &w), 0);
    assert_int_equal(tu_pipe_wait(h.up[0]), 'r');
    tu_wait_blocked(w.tid);
    assert_int_equal(tu_pipe_signal(h.down[1], 'x'), 0); /* holder: exit now */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pthread_join(tw, NULL), 0);
    assert_rc(w.rc, SHMAP_ABANDONED);
    assert_rc(shmap_wait(h.mx, 0), 0);
    assert_rc(shmap_mutex_release(h.mx), 0);

    /* And with nobody waiting: the next wait reports it, once. */
    assert_int_equal(pthread_create(&th, NULL, thread_hold_exit, &h), 0);
    assert_int_equal(tu_pipe_wait(h.up[0]), 'L');
    assert_int_equal(tu_pipe_signal(h.down[1], 'x'), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_rc(shmap_wait(h.mx, SHMAP_INFINITE), SHMAP_ABANDONED);
    assert_rc(shmap_mutex_release(h.mx), 0);
    assert_rc(shmap_wait(h.mx, SHMAP_INFINITE), 0);
    assert_rc(shmap_mutex_release(h.mx), 0);
    assert_rc(shmap_sync_close(h.mx), 0);
    pipes_close(h.up, 2);
    pipes_close(h.down, 2);
}

/* Closing the handle of a mutex a thread owns keeps it valid for glibc's
 * robust list (here: unlocking another mutex updates its list entry), and
 * it is abandoned when the owner's process ends. */
static void child_close_while_owning(void *arg)
{
    (void)arg;
    shmap_sync *a = NULL, *b = NULL;
    TU_CHILD_RC(shmap_mutex_open("owned.a", &a), 0);
    TU_CHILD_RC(shmap_mutex_create("owned.b", 0, 0600, &b), 0);
    TU_CHILD_RC(shmap_wait(a, 0), 0);
    TU_CHILD_RC(shmap_wait(b, 0), 0);
    TU_CHILD_RC(shmap_sync_close(a), 0);
    TU_CHILD_RC(shmap_mutex_release(b), 0);
    TU_CHILD_RC(shmap_sync_close(b), 0);
}

static void test_close_while_owning(void **state)
{
    (void)state;
    shmap_sync *a = tu_mutex_new("owned.a", 0);
    tu_wait_ok(tu_fork(child_close_while_owning, NULL));
    assert_rc(shmap_wait(a, 0), SHMAP_ABANDONED);
    assert_rc(shmap_mutex_release(a), 0);
    assert_rc(shmap_sync_close(a), 0);
}

/* ---- Events with 4 waiting processes ---------------------------------------- */

#define EV_PROCS 4

struct ev_test {
    int up[2];
    int index;
};

static void child_event_waiter(void *arg)
{
    struct ev_test *t = arg;
    shmap_sync *ev = NULL;
    TU_CHILD_RC(shmap_event_open("ev", &ev), 0);
    TU_CHILD_CHECK(tu_pipe_signal(t->up[1], 'r') == 0);
    TU_CHILD_RC(shmap_wait(ev, SHMAP_INFINITE), 0);
    TU_CHILD_CHECK(tu_pipe_signal(t->up[1], (char)('0' + t->index)) == 0);
    TU_CHILD_RC(shmap_sync_close(ev), 0);
}

static void ev_start(struct ev_test *t, pid_t *pids)
{
    tu_pipe(t->up);
    for (int i = 0; i < EV_PROCS; i++) {
        t->index = i;
        pids[i] = tu_fork(child_event_waiter, t);
        assert_int_equal(tu_pipe_wait(t->up[0]), 'r');
    }
    for (int i = 0; i < EV_PROCS; i++)
        tu_wait_blocked(pids[i]);
}

static void test_event_manual_releases_all(void **state)
{
    (void)state;
    shmap_sync *ev = tu_event_new("ev", SHMAP_EVENT_MANUAL_RESET);
    struct ev_test t;
    pid_t pids[EV_PROCS];
    ev_start(&t, pids);
    assert_rc(shmap_event_set(ev), 0);
    int seen = 0;
    for (int i = 0; i < EV_PROCS; i++) {
        int b = tu_pipe_wait(t.up[0]);
        assert_in_range(b, '0', '0' + EV_PROCS - 1);
        seen |= 1 << (b - '0');
    }
    assert_int_equal(seen, (1 << EV_PROCS) - 1);
    for (int i = 0; i < EV_PROCS; i++)
        tu_wait_ok(pids[i]);
    /* Still set: a wait passes and leaves it set, until reset. */
    assert_rc(shmap_wait(ev, 0), 0);
    assert_true(tu_sync_info(ev).signaled);
    assert_rc(shmap_event_reset(ev), 0);
    assert_rc(shmap_wait(ev, 0), SHMAP_ETIMEDOUT);
    assert_rc(shmap_sync_close(ev), 0);
    pipes_close(t.up, 2);
}

/* No byte is waiting in the pipe FD. */
static void assert_pipe_empty(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    char b;
    ssize_t n = read(fd, &b, 1);
    int err = errno;
    fcntl(fd, F_SETFL, fl);
    assert_int_equal(n, -1);
    assert_int_equal(err, EAGAIN);
}

static void test_event_auto_releases_one_per_set(void **state)
{
    (void)state;
    shmap_sync *ev = tu_event_new("ev", 0);
    struct ev_test t;
    pid_t pids[EV_PROCS];
    int released[EV_PROCS] = {0};
    ev_start(&t, pids);
    for (int round = 0; round < EV_PROCS; round++) {
        assert_rc(shmap_event_set(ev), 0);
        int b = tu_pipe_wait(t.up[0]) - '0';
        assert_in_range(b, 0, EV_PROCS - 1);
        assert_false(released[b]);
        released[b] = 1;
        tu_wait_ok(pids[b]);
        /* Exactly one: the event is reset, the others are all blocked
         * again, and none of them said it was released. */
        assert_false(tu_sync_info(ev).signaled);
        for (int i = 0; i < EV_PROCS; i++)
            if (!released[i])
                tu_wait_blocked(pids[i]);
        assert_pipe_empty(t.up[0]);
    }
    /* Two sets with nobody waiting release one wait, not two. */
    assert_rc(shmap_event_set(ev), 0);
    assert_rc(shmap_event_set(ev), 0);
    assert_rc(shmap_wait(ev, 0), 0);
    assert_rc(shmap_wait(ev, 0), SHMAP_ETIMEDOUT);
    assert_rc(shmap_sync_close(ev), 0);
    pipes_close(t.up, 2);
}

static void test_event_initial_state(void **state)
{
    (void)state;
    shmap_sync *a = tu_event_new("a", SHMAP_EVENT_INITIAL_SET);
    shmap_sync *b = tu_event_new("b", SHMAP_EVENT_INITIAL_SET | SHMAP_EVENT_MANUAL_RESET);
    shmap_sync_info ia = tu_sync_info(a), ib = tu_sync_info(b);
    assert_true(ia.signaled && !ia.manual_reset);
    assert_true(ib.signaled && ib.manual_reset);
    assert_rc(shmap_wait(a, 0), 0);
    assert_rc(shmap_wait(a, 0), SHMAP_ETIMEDOUT);
    assert_rc(shmap_wait(b, 0), 0);
    assert_rc(shmap_wait(b, 0), 0);
    shmap_sync *c = NULL;
    assert_rc(shmap_event_create("b", 0, 0600, &c), SHMAP_EXISTED); /* flags ignored */
    assert_true(tu_sync_info(c).manual_reset);
    assert_rc(shmap_sync_close(a), 0);
    assert_rc(shmap_sync_close(b), 0);
    assert_rc(shmap_sync_close(c), 0);
}

/* ---- Semaphores --------------------------------------------------------------- */

static void test_semaphore_counts(void **state)
{
    (void)state;
    shmap_sync *s = tu_sem_new("sem", 2, 3);
    assert_rc(shmap_wait(s, 0), 0);
    assert_rc(shmap_wait(s, 0), 0);
    assert_rc(shmap_wait(s, 0), SHMAP_ETIMEDOUT);
    uint32_t prev = 99;
    assert_rc(shmap_semaphore_release(s, 1, &prev), 0);
    assert_int_equal(prev, 0);
    assert_rc(shmap_semaphore_release(s, 2, &prev), 0);
    assert_int_equal(prev, 1);
    prev = 99;
    assert_rc(shmap_semaphore_release(s, 1, &prev), SHMAP_ERANGE);
    assert_int_equal(prev, 99);
    shmap_sync_info info = tu_sync_info(s);
    assert_int_equal(info.count, 3);
    assert_int_equal(info.maximum, 3);
    assert_rc(shmap_wait(s, 0), 0);
    assert_rc(shmap_semaphore_release(s, 2, NULL), SHMAP_ERANGE);
    assert_int_equal(tu_sync_info(s).count, 2);
    assert_rc(shmap_semaphore_release(s, 1, NULL), 0);
    assert_rc(shmap_semaphore_release(s, 0, NULL), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_release(s, UINT32_MAX, NULL), SHMAP_ERANGE);
    assert_int_equal(tu_sync_info(s).count, 3);
    shmap_sync *t = NULL;
    assert_rc(shmap_semaphore_create("sem", 0, 1, 0, 0600, &t), SHMAP_EXISTED);
    assert_int_equal(tu_sync_info(t).maximum, 3); /* the existing one's */
    assert_rc(shmap_sync_close(t), 0);
    assert_rc(shmap_sync_close(s), 0);
}

/* A semaphore handed between processes: each release lets one wait pass. */
static void child_sem_take(void *arg)
{
    int *up = arg;
    shmap_sync *s = NULL;
    TU_CHILD_RC(shmap_semaphore_open("sem", &s), 0);
    TU_CHILD_CHECK(tu_pipe_signal(up[1], 'r') == 0);
    TU_CHILD_RC(shmap_wait(s, SHMAP_INFINITE), 0);
    TU_CHILD_CHECK(tu_pipe_signal(up[1], 't') == 0);
    TU_CHILD_RC(shmap_sync_close(s), 0);
}

static void test_semaphore_across_processes(void **state)
{
    (void)state;
    shmap_sync *s = tu_sem_new("sem", 0, 10);
    int up[2];
    tu_pipe(up);
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        pids[i] = tu_fork(child_sem_take, up);
        assert_int_equal(tu_pipe_wait(up[0]), 'r');
    }
    for (int i = 0; i < 3; i++)
        tu_wait_blocked(pids[i]);
    uint32_t prev = 1;
    assert_rc(shmap_semaphore_release(s, 2, &prev), 0);
    assert_int_equal(prev, 0);
    assert_int_equal(tu_pipe_wait(up[0]), 't');
    assert_int_equal(tu_pipe_wait(up[0]), 't');
    assert_rc(shmap_semaphore_release(s, 1, NULL), 0);
    assert_int_equal(tu_pipe_wait(up[0]), 't');
    for (int i = 0; i < 3; i++)
        tu_wait_ok(pids[i]);
    assert_int_equal(tu_sync_info(s).count, 0);
    assert_rc(shmap_sync_close(s), 0);
    pipes_close(up, 2);
}

/* ---- Unnamed objects ----------------------------------------------------------- */

struct placed {
    int up[2], down[2];
};

/* Maps the view at another address, attaches, takes the mutex and dies. */
static void child_placed(void *arg)
{
    struct placed *p = arg;
    shmap_mapping *m = NULL;
    char *v = NULL;
    shmap_sync *mx = NULL, *ev = NULL, *sem = NULL;
    TU_CHILD_RC(shmap_mapping_open("placed", SHMAP_ACCESS_ALL, &m), 0);
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_RC(shmap_sync_attach(v, SHMAP_TYPE_MUTEX, &mx), 0);
    TU_CHILD_RC(shmap_sync_attach(v + SHMAP_SYNC_SIZE, 0, &ev), 0);
    TU_CHILD_RC(shmap_sync_attach(v + 2 * SHMAP_SYNC_SIZE, SHMAP_TYPE_SEMAPHORE, &sem), 0);
    TU_CHILD_RC(shmap_wait(ev, SHMAP_INFINITE), 0);
    TU_CHILD_RC(shmap_wait(sem, SHMAP_INFINITE), 0);
    TU_CHILD_RC(shmap_wait(mx, SHMAP_INFINITE), 0);
    TU_CHILD_CHECK(tu_pipe_signal(p->up[1], 'L') == 0);
    tu_pipe_wait(p->down[0]); /* until killed */
}

static void test_unnamed_in_view(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("placed", GRAN);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    shmap_sync *s = NULL;
    assert_rc(shmap_sync_attach(v, 0, &s), SHMAP_ECORRUPT); /* nothing there yet */
    assert_rc(shmap_mutex_init_at(v, 0), 0);
    assert_rc(shmap_event_init_at(v + SHMAP_SYNC_SIZE, SHMAP_EVENT_INITIAL_SET), 0);
    assert_rc(shmap_semaphore_init_at(v + 2 * SHMAP_SYNC_SIZE, 1, 1), 0);
    assert_rc(shmap_mutex_init_at(v + 8, 0), SHMAP_EINVAL);
    assert_rc(shmap_sync_attach(v + 8, 0, &s), SHMAP_EINVAL);
    assert_rc(shmap_sync_attach(v, SHMAP_TYPE_EVENT, &s), SHMAP_ETYPE);
    assert_null(s);
    shmap_sync *mx = NULL, *ev = NULL, *sem = NULL;
    assert_rc(shmap_sync_attach(v, 0, &mx), 0);
    assert_rc(shmap_sync_attach(v + SHMAP_SYNC_SIZE, SHMAP_TYPE_EVENT, &ev), 0);
    assert_rc(shmap_sync_attach(v + 2 * SHMAP_SYNC_SIZE, 0, &sem), 0);

    struct placed p;
    tu_pipe(p.up);
    tu_pipe(p.down);
    pid_t pid = tu_fork(child_placed, &p);
    assert_int_equal(tu_pipe_wait(p.up[0]), 'L');
    assert_false(tu_sync_info(ev).signaled); /* the child took the auto-reset event */
    assert_int_equal(tu_sync_info(sem).count, 0);
    assert_rc(shmap_wait(mx, 0), SHMAP_ETIMEDOUT);
    holder_kill(pid);
    assert_rc(shmap_wait(mx, 0), SHMAP_ABANDONED);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_wait(mx, 0), 0);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_sync_close(mx), 0);
    assert_rc(shmap_sync_close(ev), 0);
    assert_rc(shmap_sync_close(sem), 0);
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
    pipes_close(p.up, 2);
    pipes_close(p.down, 2);
}

/* An unnamed event (NULL name) is shared with the children forked after. */
static void child_anon_event(void *arg)
{
    shmap_sync *ev = arg;
    TU_CHILD_RC(shmap_wait(ev, SHMAP_INFINITE), 0);
}

static void test_unnamed_anonymous(void **state)
{
    (void)state;
    shmap_sync *ev = NULL;
    assert_rc(shmap_event_create(NULL, 0, 0, &ev), 0);
    assert_string_equal(tu_sync_info(ev).name, "");
    pid_t pid = tu_fork(child_anon_event, ev);
    tu_wait_blocked(pid);
    assert_rc(shmap_event_set(ev), 0);
    tu_wait_ok(pid);
    assert_false(tu_sync_info(ev).signaled);
    assert_rc(shmap_sync_close(ev), 0);
    assert_int_equal(tu_store_count(), 0);
}

/* ---- Describe ------------------------------------------------------------------ */

struct described {
    int mutexes, events, semaphores, mappings;
};

static int describe_one(const shmap_object_info *obj, void *arg)
{
    struct described *d = arg;
    shmap_sync_info info;
    int rc = shmap_sync_describe(obj->header, obj->header_len, &info);
    if (obj->type == SHMAP_TYPE_MAPPING) {
        assert_rc(rc, SHMAP_ETYPE);
        d->mappings++;
        return 0;
    }
    assert_rc(rc, 0);
    assert_int_equal(info.type, obj->type);
    assert_string_equal(info.name, obj->name);
    if (info.type == SHMAP_TYPE_MUTEX) {
        assert_int_equal(info.owner_tid, (uint32_t)gettid());
        assert_int_equal(info.recursion, 2);
        d->mutexes++;
    } else if (info.type == SHMAP_TYPE_EVENT) {
        assert_true(info.signaled && info.manual_reset);
        d->events++;
    } else {
        assert_int_equal(info.count, 4);
        assert_int_equal(info.maximum, 7);
        d->semaphores++;
    }
    return 0;
}

static void test_describe(void **state)
{
    (void)state;
    shmap_sync *mx = tu_mutex_new("d.mutex", SHMAP_MUTEX_INITIAL_OWNER);
    assert_rc(shmap_wait(mx, 0), 0);
    shmap_sync *ev = tu_event_new("d.event", SHMAP_EVENT_MANUAL_RESET | SHMAP_EVENT_INITIAL_SET);
    shmap_sync *sem = tu_sem_new("d.sem", 4, 7);
    shmap_mapping *m = tu_create("d.map", GRAN);
    struct described d = {0};
    assert_rc(shmap_store_list(SHMAP_SCOPE_LOCAL, describe_one, &d), 0);
    assert_int_equal(d.mutexes, 1);
    assert_int_equal(d.events, 1);
    assert_int_equal(d.semaphores, 1);
    assert_int_equal(d.mappings, 1);

    char page[4096] = {0};
    shmap_sync_info info;
    assert_rc(shmap_sync_describe(NULL, sizeof page, &info), SHMAP_EINVAL);
    assert_rc(shmap_sync_describe(page, sizeof page, NULL), SHMAP_EINVAL);
    assert_rc(shmap_sync_describe(page, sizeof page, &info), SHMAP_ECORRUPT);
    assert_rc(shmap_sync_describe(page, 100, &info), SHMAP_ECORRUPT);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_mutex_release(mx), 0);
    assert_rc(shmap_sync_close(mx), 0);
    assert_rc(shmap_sync_close(ev), 0);
    assert_rc(shmap_sync_close(sem), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

/* ---- Bad arguments -------------------------------------------------------------- */

static void test_invalid_arguments(void **state)
{
    (void)state;
    shmap_sync *s = NULL;
    struct tu_snap snap;
    tu_snap_take(&snap);
    assert_rc(shmap_mutex_create("x", 0, 0600, NULL), SHMAP_EINVAL);
    assert_rc(shmap_mutex_create("x", 0x100, 0600, &s), SHMAP_EINVAL);
    assert_rc(shmap_mutex_create("x", 0, 01000, &s), SHMAP_EINVAL);
    assert_rc(shmap_mutex_create("a\\b", 0, 0600, &s), SHMAP_EBADNAME);
    assert_rc(shmap_event_create("x", 0x8, 0600, &s), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_create("x", 2, 1, 0, 0600, &s), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_create("x", 0, 0, 0, 0600, &s), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_create("x", 0, 0x80000000u, 0, 0600, &s), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_create("x", 0, 1, SHMAP_RESERVE, 0600, &s), SHMAP_EINVAL);
    assert_rc(shmap_mutex_open(NULL, &s), SHMAP_EINVAL);
    assert_rc(shmap_event_open("x", NULL), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_open("", &s), SHMAP_EBADNAME);
    assert_rc(shmap_mutex_init_at(NULL, 0), SHMAP_EINVAL);
    assert_rc(shmap_event_init_at(NULL, 0), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_init_at(NULL, 0, 1), SHMAP_EINVAL);
    assert_rc(shmap_sync_attach(NULL, 0, &s), SHMAP_EINVAL);
    assert_rc(shmap_sync_close(NULL), SHMAP_EINVAL);
    assert_rc(shmap_mutex_release(NULL), SHMAP_EINVAL);
    assert_rc(shmap_event_set(NULL), SHMAP_EINVAL);
    assert_rc(shmap_event_reset(NULL), SHMAP_EINVAL);
    assert_rc(shmap_semaphore_release(NULL, 1, NULL), SHMAP_EINVAL);
    assert_rc(shmap_wait(NULL, 0), SHMAP_EINVAL);
    assert_rc(shmap_wait_until(NULL, NULL), SHMAP_EINVAL);
    assert_rc(shmap_sync_query(NULL, NULL), SHMAP_EINVAL);
    assert_null(s);
    tu_snap_check(&snap);

    shmap_sync *mx = tu_mutex_new("mx", 0), *ev = tu_event_new("ev", 0),
               *sem = tu_sem_new("sem", 0, 1);
    assert_rc(shmap_mutex_release(ev), SHMAP_ETYPE);
    assert_rc(shmap_event_set(mx), SHMAP_ETYPE);
    assert_rc(shmap_event_reset(sem), SHMAP_ETYPE);
    assert_rc(shmap_semaphore_release(mx, 1, NULL), SHMAP_ETYPE);
    assert_rc(shmap_wait_until(ev, NULL), SHMAP_EINVAL);
    struct timespec bad = {0, 1000000000L};
    assert_rc(shmap_wait_until(ev, &bad), SHMAP_EINVAL);
    assert_rc(shmap_sync_query(ev, NULL), SHMAP_EINVAL);
    assert_rc(shmap_sync_close(mx), 0);
    assert_rc(shmap_sync_close(ev), 0);
    assert_rc(shmap_sync_close(sem), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_open_close, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_type_clash, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_mutex_counter_8_processes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_mutex_recursion_and_owner, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_mutex_initial_owner, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_by_sigkill_blocked_waiter, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_by_sigkill_later_waiter, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_by_thread_exit, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_close_while_owning, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_manual_releases_all, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_auto_releases_one_per_set, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_initial_state, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_semaphore_counts, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_semaphore_across_processes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_unnamed_in_view, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_unnamed_anonymous, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_describe, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_arguments, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
