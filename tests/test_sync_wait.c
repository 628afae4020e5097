/* test_sync_wait.c - waits: timeouts (they expire, and not early), waits on
 * several objects (wait-any returns the lowest ready index; wait-all takes
 * nothing until it can take everything, then all at once), abandoned
 * mutexes in both, signals that interrupt a waiter (it keeps waiting), the
 * wake a wait-all consumes on a mutex it cannot take yet (passed on to a
 * glibc waiter), a stress run mixing every kind of wait, and wait-alls
 * racing single waits so that they often have to give their holds back. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/* ---- Helpers --------------------------------------------------------------- */

/* Reads one byte from FD, failing the test if none comes within 20 s. */
static int read_byte(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, 20000);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        fail_msg("nothing came through the pipe in 20 s");
    return tu_pipe_wait(fd);
}

static int64_t ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void close_all(shmap_sync **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_rc(shmap_sync_close(s[i]), 0);
}

/* A thread of this process that owns a mutex until told to let go. */
struct owner_thread {
    pthread_t t;
    shmap_sync *mx;
    int up[2], down[2];
};

static void *owner_main(void *arg)
{
    struct owner_thread *o = arg;
    int rc = shmap_wait(o->mx, SHMAP_INFINITE);
    tu_pipe_signal(o->up[1], rc == 0 ? 'L' : 'E');
    tu_pipe_wait(o->down[0]);
    shmap_mutex_release(o->mx);
    return NULL;
}

static void owner_start(struct owner_thread *o, shmap_sync *mx)
{
    o->mx = mx;
    tu_pipe(o->up);
    tu_pipe(o->down);
    assert_int_equal(pthread_create(&o->t, NULL, owner_main, o), 0);
    assert_int_equal(tu_pipe_wait(o->up[0]), 'L');
}

static void owner_stop(struct owner_thread *o)
{
    tu_pipe_signal(o->down[1], 'x');
    assert_int_equal(pthread_join(o->t, NULL), 0);
    for (int i = 0; i < 2; i++) {
        close(o->up[i]);
        close(o->down[i]);
    }
}

/* A process that takes a named mutex and holds it until killed. */
struct holder {
    const char *name;
    int up[2], down[2];
};

static void child_hold(void *arg)
{
    struct holder *h = arg;
    shmap_sync *mx = NULL;
    TU_CHILD_RC(shmap_mutex_open(h->name, &mx), 0);
    TU_CHILD_RC(shmap_wait(mx, SHMAP_INFINITE), 0);
    TU_CHILD_CHECK(tu_pipe_signal(h->up[1], 'L') == 0);
    tu_pipe_wait(h->down[0]);
}

static pid_t holder_start(struct holder *h, const char *name)
{
    h->name = name;
    tu_pipe(h->up);
    tu_pipe(h->down);
    pid_t pid = tu_fork(child_hold, h);
    assert_int_equal(tu_pipe_wait(h->up[0]), 'L');
    return pid;
}

static void holder_kill(struct holder *h, pid_t pid)
{
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(tu_wait_exit(pid), 128 + SIGKILL);
    for (int i = 0; i < 2; i++) {
        close(h->up[i]);
        close(h->down[i]);
    }
}

/* ---- Timeouts -------------------------------------------------------------- */

static void assert_times_out(int rc, const struct timespec *t0, int64_t ms)
{
    assert_rc(rc, SHMAP_ETIMEDOUT);
    int64_t took = ms_since(t0);
    if (took < ms)
        fail_msg("timed out after %lld ms, before the %lld ms asked", (long long)took,
                 (long long)ms);
}

static void test_timeouts_expire(void **state)
{
    (void)state;
    shmap_sync *sem = tu_sem_new("sem", 0, 1), *ev = tu_event_new("ev", 0),
               *mx = tu_mutex_new("mx", 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_times_out(shmap_wait(sem, 100), &t0, 100);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_times_out(shmap_wait(ev, 50), &t0, 50);

    struct owner_thread o;
    owner_start(&o, mx);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_times_out(shmap_wait(mx, 60), &t0, 60);
    assert_rc(shmap_wait(mx, 0), SHMAP_ETIMEDOUT);
    struct timespec past = t0;
    assert_rc(shmap_wait_until(mx, &past), SHMAP_ETIMEDOUT);
    assert_rc(shmap_wait_until(ev, &past), SHMAP_ETIMEDOUT);

    shmap_sync *set = tu_event_new("set", SHMAP_EVENT_INITIAL_SET);
    shmap_sync *any[] = {ev, sem, mx};
    int index = 77;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_times_out(shmap_wait_multiple(any, 3, false, 80, &index), &t0, 80);
    shmap_sync *all[] = {set, ev};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_times_out(shmap_wait_multiple(all, 2, true, 80, &index), &t0, 80);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    t0 = deadline;
    deadline.tv_nsec += 70 * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    assert_times_out(shmap_wait_multiple_until(all, 2, true, &deadline, &index), &t0, 70);
    assert_int_equal(index, 77); /* left alone */
    assert_true(tu_sync_info(set).signaled);
    owner_stop(&o);
    shmap_sync *objs[] = {sem, ev, mx, set};
    close_all(objs, 4);
}

/* ---- Wait-any ---------------------------------------------------------------- */

static void test_wait_any_lowest_ready(void **state)
{
    (void)state;
    shmap_sync *o[] = {tu_event_new("e0", 0), tu_sem_new("s1", 1, 5),
                       tu_event_new("e2", SHMAP_EVENT_INITIAL_SET), tu_mutex_new("m3", 0)};
    int index = -1;
    assert_rc(shmap_wait_multiple(o, 4, false, 0, &index), 0);
    assert_int_equal(index, 1);
    assert_int_equal(tu_sync_info(o[1]).count, 0);
    assert_true(tu_sync_info(o[2]).signaled); /* only the lowest is taken */
    assert_rc(shmap_wait_multiple(o, 4, false, 0, &index), 0);
    assert_int_equal(index, 2);
    assert_false(tu_sync_info(o[2]).signaled);
    assert_rc(shmap_wait_multiple(o, 4, false, SHMAP_INFINITE, &index), 0);
    assert_int_equal(index, 3);
    assert_rc(shmap_wait_multiple(o, 4, false, 0, &index), 0); /* ours: recursive */
    assert_int_equal(index, 3);
    assert_int_equal(tu_sync_info(o[3]).recursion, 2);
    assert_rc(shmap_event_set(o[0]), 0);
    assert_rc(shmap_semaphore_release(o[1], 2, NULL), 0);
    assert_rc(shmap_wait_multiple(o, 4, false, 0, NULL), 0);
    assert_false(tu_sync_info(o[0]).signaled);
    assert_int_equal(tu_sync_info(o[1]).count, 2);
    assert_rc(shmap_mutex_release(o[3]), 0);
    assert_rc(shmap_mutex_release(o[3]), 0);
    /* Duplicates are fine for wait-any. */
    shmap_sync *dup[] = {o[1], o[1]};
    assert_rc(shmap_wait_multiple(dup, 2, false, 0, &index), 0);
    assert_int_equal(index, 0);
    close_all(o, 4);
}

struct any_child {
    int up[2];
    int want_rc, want_index;
};

static void child_wait_any(void *arg)
{
    struct any_child *a = arg;
    shmap_sync *o[3] = {NULL, NULL, NULL};
    TU_CHILD_RC(shmap_event_open("a", &o[0]), 0);
    TU_CHILD_RC(shmap_event_open("b", &o[1]), 0);
    TU_CHILD_RC(shmap_mutex_open("m", &o[2]), 0);
    TU_CHILD_CHECK(tu_pipe_signal(a->up[1], 'r') == 0);
    int index = -1;
    TU_CHILD_RC(shmap_wait_multiple(o, 3, false, SHMAP_INFINITE, &index), a->want_rc);
    TU_CHILD_CHECK(index == a->want_index);
    if (index == 2)
        TU_CHILD_RC(shmap_mutex_release(o[2]), 0);
    TU_CHILD_CHECK(tu_pipe_signal(a->up[1], (char)('0' + index)) == 0);
    for (int i = 0; i < 3; i++)
        TU_CHILD_RC(shmap_sync_close(o[i]), 0);
}

/* A blocked wait-any wakes for the object set from another process, and
 * for a mutex whose owner is killed (SHMAP_ABANDONED, its index). */
static void test_wait_any_blocked(void **state)
{
    (void)state;
    shmap_sync *o[] = {tu_event_new("a", 0), tu_event_new("b", 0), tu_mutex_new("m", 0)};
    struct any_child a = {.want_rc = 0, .want_index = 1};
    tu_pipe(a.up);
    struct holder h;
    pid_t holder = holder_start(&h, "m");
    pid_t pid = tu_fork(child_wait_any, &a);
    assert_int_equal(read_byte(a.up[0]), 'r');
    tu_wait_blocked(pid);
    assert_rc(shmap_event_set(o[1]), 0);
    assert_int_equal(read_byte(a.up[0]), '1');
    tu_wait_ok(pid);
    assert_false(tu_sync_info(o[1]).signaled);

    a.want_rc = SHMAP_ABANDONED;
    a.want_index = 2;
    pid = tu_fork(child_wait_any, &a);
    assert_int_equal(read_byte(a.up[0]), 'r');
    tu_wait_blocked(pid);
    holder_kill(&h, holder);
    assert_int_equal(read_byte(a.up[0]), '2');
    tu_wait_ok(pid);
    assert_rc(shmap_wait(o[2], 0), 0); /* reported once */
    assert_rc(shmap_mutex_release(o[2]), 0);
    close_all(o, 3);
    close(a.up[0]);
    close(a.up[1]);
}

/* ---- Wait-all ---------------------------------------------------------------- */

struct all_child {
    int up[2], down[2];
};

static void child_wait_all(void *arg)
{
    struct all_child *c = arg;
    const char *names[] = {"auto", "sem", "mutex", "manual"};
    shmap_sync *o[4] = {NULL, NULL, NULL, NULL};
    TU_CHILD_RC(shmap_event_open(names[0], &o[0]), 0);
    TU_CHILD_RC(shmap_semaphore_open(names[1], &o[1]), 0);
    TU_CHILD_RC(shmap_mutex_open(names[2], &o[2]), 0);
    TU_CHILD_RC(shmap_event_open(names[3], &o[3]), 0);
    TU_CHILD_CHECK(tu_pipe_signal(c->up[1], 'r') == 0);
    int index = -1;
    TU_CHILD_RC(shmap_wait_multiple(o, 4, true, SHMAP_INFINITE, &index), 0);
    TU_CHILD_CHECK(index == 0);
    TU_CHILD_CHECK(tu_pipe_signal(c->up[1], 'T') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(c->down[0]) == 'g');
    TU_CHILD_RC(shmap_mutex_release(o[2]), 0);
    for (int i = 0; i < 4; i++)
        TU_CHILD_RC(shmap_sync_close(o[i]), 0);
}

/* Nothing changes while one object is missing; then all at once. */
static void assert_untouched(shmap_sync **o)
{
    assert_true(tu_sync_info(o[0]).signaled);
    assert_int_equal(tu_sync_info(o[1]).count, 1);
    assert_int_equal(tu_sync_info(o[2]).owner_tid, 0);
    assert_false(tu_sync_info(o[3]).signaled);
}

static void test_wait_all_takes_all_or_nothing(void **state)
{
    (void)state;
    shmap_sync *o[] = {tu_event_new("auto", SHMAP_EVENT_INITIAL_SET), tu_sem_new("sem", 1, 1),
                       tu_mutex_new("mutex", 0), tu_event_new("manual", SHMAP_EVENT_MANUAL_RESET)};
    int index = -1;
    assert_rc(shmap_wait_multiple(o, 4, true, 0, &index), SHMAP_ETIMEDOUT);
    assert_untouched(o);
    assert_rc(shmap_wait_multiple(o, 4, true, 30, &index), SHMAP_ETIMEDOUT);
    assert_untouched(o);

    struct all_child c;
    tu_pipe(c.up);
    tu_pipe(c.down);
    pid_t pid = tu_fork(child_wait_all, &c);
    assert_int_equal(read_byte(c.up[0]), 'r');
    tu_wait_blocked(pid);
    assert_untouched(o);
    assert_rc(shmap_event_set(o[3]), 0); /* the last one: from this process */
    assert_int_equal(read_byte(c.up[0]), 'T');
    assert_false(tu_sync_info(o[0]).signaled);
    assert_int_equal(tu_sync_info(o[1]).count, 0);
    assert_int_equal(tu_sync_info(o[2]).owner_tid, (uint32_t)pid);
    assert_true(tu_sync_info(o[3]).signaled); /* manual-reset: stays set */
    tu_pipe_signal(c.down[1], 'g');
    tu_wait_ok(pid);
    assert_int_equal(tu_sync_info(o[2]).owner_tid, 0);
    close_all(o, 4);
    for (int i = 0; i < 2; i++) {
        close(c.up[i]);
        close(c.down[i]);
    }
}

static void test_wait_all_abandoned_and_duplicates(void **state)
{
    (void)state;
    shmap_sync *o[] = {tu_event_new("ev", SHMAP_EVENT_INITIAL_SET), tu_mutex_new("m", 0)};
    struct holder h;
    holder_kill(&h, holder_start(&h, "m"));
    int index = -1;
    assert_rc(shmap_wait_multiple(o, 2, true, 0, &index), SHMAP_ABANDONED);
    assert_int_equal(index, 1);
    assert_false(tu_sync_info(o[0]).signaled);
    assert_rc(shmap_mutex_release(o[1]), 0);

    shmap_sync *again = NULL;
    assert_rc(shmap_event_open("ev", &again), 0);
    shmap_sync *dup[] = {o[0], o[1], again};
    assert_rc(shmap_wait_multiple(dup, 3, true, 0, &index), SHMAP_EINVAL);
    dup[2] = o[1];
    assert_rc(shmap_wait_multiple(dup, 3, true, 0, &index), SHMAP_EINVAL);
    assert_rc(shmap_sync_close(again), 0);

    shmap_sync *none[SHMAP_WAIT_MAX + 1];
    for (size_t i = 0; i <= SHMAP_WAIT_MAX; i++)
        none[i] = o[0];
    assert_rc(shmap_wait_multiple(none, 0, false, 0, &index), SHMAP_EINVAL);
    assert_rc(shmap_wait_multiple(none, SHMAP_WAIT_MAX + 1, false, 0, &index), SHMAP_EINVAL);
    assert_rc(shmap_wait_multiple(NULL, 1, false, 0, &index), SHMAP_EINVAL);
    none[1] = NULL;
    assert_rc(shmap_wait_multiple(none, 2, false, 0, &index), SHMAP_EINVAL);
    assert_rc(shmap_wait_multiple_until(o, 2, false, NULL, &index), SHMAP_EINVAL);
    /* 64 objects: fine. */
    shmap_sync *many[SHMAP_WAIT_MAX];
    for (size_t i = 0; i < SHMAP_WAIT_MAX; i++)
        assert_rc(shmap_event_create(NULL, i == 63 ? SHMAP_EVENT_INITIAL_SET : 0, 0, &many[i]), 0);
    assert_rc(shmap_wait_multiple(many, SHMAP_WAIT_MAX, false, 0, &index), 0);
    assert_int_equal(index, 63);
    assert_rc(shmap_wait_multiple(many, SHMAP_WAIT_MAX, true, 10, &index), SHMAP_ETIMEDOUT);
    close_all(many, SHMAP_WAIT_MAX);
    close_all(o, 2);
}

/* A wait-all that is woken by a mutex's unlock but still misses another
 * object must pass the wake on: the glibc waiter queued behind it gets the
 * mutex. */
static void child_all_mutex_event(void *arg)
{
    int *up = arg;
    shmap_sync *o[2] = {NULL, NULL};
    TU_CHILD_RC(shmap_mutex_open("fw.m", &o[0]), 0);
    TU_CHILD_RC(shmap_event_open("fw.e", &o[1]), 0);
    TU_CHILD_CHECK(tu_pipe_signal(up[1], 'r') == 0);
    TU_CHILD_RC(shmap_wait_multiple(o, 2, true, SHMAP_INFINITE, NULL), 0);
    TU_CHILD_RC(shmap_mutex_release(o[0]), 0);
    TU_CHILD_CHECK(tu_pipe_signal(up[1], 'A') == 0);
    TU_CHILD_RC(shmap_sync_close(o[0]), 0);
    TU_CHILD_RC(shmap_sync_close(o[1]), 0);
}

static void child_plain_wait(void *arg)
{
    int *up = arg;
    shmap_sync *m = NULL;
    TU_CHILD_RC(shmap_mutex_open("fw.m", &m), 0);
    TU_CHILD_CHECK(tu_pipe_signal(up[1], 'r') == 0);
    TU_CHILD_RC(shmap_wait(m, SHMAP_INFINITE), 0);
    TU_CHILD_CHECK(tu_pipe_signal(up[1], 'G') == 0);
    TU_CHILD_RC(shmap_mutex_release(m), 0);
    TU_CHILD_RC(shmap_sync_close(m), 0);
}

static void test_wait_all_passes_mutex_wake_on(void **state)
{
    (void)state;
    shmap_sync *m = tu_mutex_new("fw.m", 0), *e = tu_event_new("fw.e", 0);
    assert_rc(shmap_wait(m, 0), 0);
    int up[2];
    tu_pipe(up);
    pid_t all = tu_fork(child_all_mutex_event, up); /* queued first */
    assert_int_equal(read_byte(up[0]), 'r');
    tu_wait_blocked(all);
    pid_t plain = tu_fork(child_plain_wait, up);
    assert_int_equal(read_byte(up[0]), 'r');
    tu_wait_blocked(plain);
    assert_rc(shmap_mutex_release(m), 0); /* wakes one: the wait-all first */
    assert_int_equal(read_byte(up[0]), 'G');
    tu_wait_ok(plain);
    assert_rc(shmap_event_set(e), 0);
    assert_int_equal(read_byte(up[0]), 'A');
    tu_wait_ok(all);
    close(up[0]);
    close(up[1]);
    assert_rc(shmap_sync_close(m), 0);
    assert_rc(shmap_sync_close(e), 0);
}

/* ---- Signals ------------------------------------------------------------------ */

static int signals_seen; /* atomic: the handler runs in the waiting thread */

static void on_signal(int sig)
{
    int saved = errno;
    (void)sig;
    __atomic_add_fetch(&signals_seen, 1, __ATOMIC_SEQ_CST);
    errno = saved;
}

static int signals_count(void)
{
    return __atomic_load_n(&signals_seen, __ATOMIC_SEQ_CST);
}

struct sig_waiter {
    pthread_t t;
    pid_t tid;
    int kind; /* 0 event, 1 mutex, 2 wait-any, 3 timed event, 4 timed mutex */
    shmap_sync *o[2];
    int rc;
    int64_t took_ms;
    int up[2];
};

static void *sig_waiter_main(void *arg)
{
    struct sig_waiter *w = arg;
    struct timespec t0;
    w->tid = gettid();
    tu_pipe_signal(w->up[1], 'r');
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (w->kind == 0 || w->kind == 1)
        w->rc = shmap_wait(w->o[0], SHMAP_INFINITE);
    else if (w->kind == 2)
        w->rc = shmap_wait_multiple(w->o, 2, false, SHMAP_INFINITE, NULL);
    else if (w->kind == 3)
        w->rc = shmap_wait(w->o[0], 400);
    else
        w->rc = shmap_wait(w->o[0], 600000);
    w->took_ms = ms_since(&t0);
    if ((w->kind == 1 || w->kind == 4) && w->rc == 0)
        shmap_mutex_release(w->o[0]);
    return NULL;
}

/* True while SIGUSR1 is pending for thread TID (not yet delivered). */
static bool usr1_pending(pid_t tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("fopen(%s): %s", path, strerror(errno));
    unsigned long long mask = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "SigPnd: %llx", &mask) == 1)
            break;
    fclose(f);
    return (mask >> (SIGUSR1 - 1)) & 1;
}

/* Interrupts thread W three times, each time once it is blocked, and
 * checks it goes back to its wait.  (The kernel has delivered a signal
 * when it is no longer pending: ThreadSanitizer may run the handler itself
 * later, so the handler's count is not what tells.) */
static void interrupt_thrice(struct sig_waiter *w)
{
    for (int i = 0; i < 3; i++) {
        tu_wait_blocked(w->tid);
        assert_int_equal(pthread_kill(w->t, SIGUSR1), 0);
        while (usr1_pending(w->tid))
            sched_yield();
    }
    tu_wait_blocked(w->tid);
}

static void sig_run(struct sig_waiter *w, int kind)
{
    w->kind = kind;
    tu_pipe(w->up);
    assert_int_equal(pthread_create(&w->t, NULL, sig_waiter_main, w), 0);
    assert_int_equal(read_byte(w->up[0]), 'r');
    interrupt_thrice(w);
}

static void sig_join(struct sig_waiter *w)
{
    assert_int_equal(pthread_join(w->t, NULL), 0);
    close(w->up[0]);
    close(w->up[1]);
}

static void test_signal_does_not_end_wait(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = 0; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    shmap_sync *ev = tu_event_new("ev", 0), *mx = tu_mutex_new("mx", 0),
               *other = tu_event_new("other", 0);

    struct sig_waiter w = {.o = {ev, NULL}};
    sig_run(&w, 0);
    assert_rc(shmap_event_set(ev), 0);
    sig_join(&w);
    assert_rc(w.rc, 0);

    assert_rc(shmap_wait(mx, 0), 0);
    w = (struct sig_waiter){.o = {mx, NULL}};
    sig_run(&w, 1);
    assert_rc(shmap_mutex_release(mx), 0);
    sig_join(&w);
    assert_rc(w.rc, 0);

    assert_rc(shmap_wait(mx, 0), 0);
    w = (struct sig_waiter){.o = {mx, NULL}};
    sig_run(&w, 4);
    assert_rc(shmap_mutex_release(mx), 0);
    sig_join(&w);
    assert_rc(w.rc, 0);

    w = (struct sig_waiter){.o = {other, ev}};
    sig_run(&w, 2);
    assert_rc(shmap_event_set(ev), 0);
    sig_join(&w);
    assert_rc(w.rc, 0);
    assert_false(tu_sync_info(ev).signaled);

    w = (struct sig_waiter){.o = {ev, NULL}};
    sig_run(&w, 3);
    sig_join(&w);
    assert_rc(w.rc, SHMAP_ETIMEDOUT);
    assert_true(w.took_ms >= 400);
    int handled = signals_count();
#ifndef UNDER_TSAN /* which may hold the handler back until the wait ends */
    assert_int_equal(handled, 15);
#else
    (void)handled;
#endif

    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    shmap_sync *objs[] = {ev, mx, other};
    close_all(objs, 3);
}

/* ---- Stress: every kind of wait on the same objects --------------------------- */

#define STRESS_ROUNDS 3000

struct stress {
    int kind;
};

struct stress_objs {
    shmap_mapping *map;
    volatile uint64_t *shared; /* [0] counter, [1] done flag, [2] tokens passed */
    shmap_sync *m, *s, *e1, *e2, *never;
};

static void stress_open(struct stress_objs *o)
{
    void *p = NULL;
    TU_CHILD_RC(shmap_mapping_open("st.map", SHMAP_ACCESS_ALL, &o->map), 0);
    TU_CHILD_RC(shmap_view_map(o->map, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), 0);
    o->shared = p;
    TU_CHILD_RC(shmap_mutex_open("st.m", &o->m), 0);
    TU_CHILD_RC(shmap_semaphore_open("st.s", &o->s), 0);
    TU_CHILD_RC(shmap_event_open("st.e1", &o->e1), 0);
    TU_CHILD_RC(shmap_event_open("st.e2", &o->e2), 0);
    TU_CHILD_RC(shmap_event_open("st.never", &o->never), 0);
}

static void stress_close(struct stress_objs *o)
{
    shmap_sync *all[] = {o->m, o->s, o->e1, o->e2, o->never};
    for (int i = 0; i < 5; i++)
        TU_CHILD_RC(shmap_sync_close(all[i]), 0);
    TU_CHILD_RC(shmap_view_unmap((void *)o->shared), 0);
    TU_CHILD_RC(shmap_mapping_close(o->map), 0);
}

/* Increments the counter under M, taking M in the way KIND says. */
static void stress_counter(struct stress_objs *o, int kind)
{
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        int index = -1;
        if (kind == 0) {
            TU_CHILD_RC(shmap_wait(o->m, SHMAP_INFINITE), 0);
        } else if (kind == 1) {
            shmap_sync *any[] = {o->never, o->m};
            TU_CHILD_RC(shmap_wait_multiple(any, 2, false, SHMAP_INFINITE, &index), 0);
            TU_CHILD_CHECK(index == 1);
        } else {
            shmap_sync *all[] = {o->m, o->s};
            TU_CHILD_RC(shmap_wait_multiple(all, 2, true, SHMAP_INFINITE, &index), 0);
        }
        o->shared[0] = o->shared[0] + 1;
        if (kind == 2)
            TU_CHILD_RC(shmap_semaphore_release(o->s, 1, NULL), 0);
        TU_CHILD_RC(shmap_mutex_release(o->m), 0);
    }
}

/* Token passing: takes E1 together with a unit of S, passes back on E2. */
static void stress_consumer(struct stress_objs *o)
{
    for (;;) {
        shmap_sync *all[] = {o->e1, o->s};
        TU_CHILD_RC(shmap_wait_multiple(all, 2, true, SHMAP_INFINITE, NULL), 0);
        bool done = __atomic_load_n(&o->shared[1], __ATOMIC_SEQ_CST) != 0;
        if (!done)
            __atomic_add_fetch(&o->shared[2], 1, __ATOMIC_SEQ_CST);
        TU_CHILD_RC(shmap_semaphore_release(o->s, 1, NULL), 0);
        TU_CHILD_RC(shmap_event_set(o->e2), 0);
        if (done)
            return;
    }
}

/* Churns the semaphore, racing the wait-alls between look and take. */
static void stress_churn(struct stress_objs *o)
{
    while (!__atomic_load_n(&o->shared[1], __ATOMIC_SEQ_CST)) {
        TU_CHILD_RC(shmap_wait(o->s, SHMAP_INFINITE), 0);
        TU_CHILD_RC(shmap_semaphore_release(o->s, 1, NULL), 0);
    }
}

static void child_stress(void *arg)
{
    const struct stress *st = arg;
    struct stress_objs o;
    stress_open(&o);
    if (st->kind <= 2)
        stress_counter(&o, st->kind);
    else if (st->kind == 3)
        stress_consumer(&o);
    else
        stress_churn(&o);
    stress_close(&o);
}

static void test_stress_mixed_waits(void **state)
{
    (void)state;
    shmap_mapping *map = tu_create("st.map", GRAN);
    volatile uint64_t *shared = tu_map(map, SHMAP_ACCESS_WRITE, 0, 0);
    shmap_sync *o[] = {tu_mutex_new("st.m", 0), tu_sem_new("st.s", 2, 2), tu_event_new("st.e1", 0),
                       tu_event_new("st.e2", 0), tu_event_new("st.never", 0)};
    static const int kinds[] = {0, 0, 1, 1, 2, 2, 3, 3, 4};
    enum { NKIDS = sizeof kinds / sizeof kinds[0] };
    struct stress st[NKIDS];
    pid_t pids[NKIDS];
    for (int i = 0; i < NKIDS; i++) {
        st[i].kind = kinds[i];
        pids[i] = tu_fork(child_stress, &st[i]);
    }
    /* Producer: STRESS_ROUNDS tokens, each taken by exactly one consumer. */
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        assert_rc(shmap_event_set(o[2]), 0);
        assert_rc(shmap_wait(o[3], SHMAP_INFINITE), 0);
    }
    for (int i = 0; i < NKIDS; i++)
        if (kinds[i] <= 2)
            tu_wait_ok(pids[i]);
    __atomic_store_n(&shared[1], 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2; i++) { /* one last token per consumer: "done" */
        assert_rc(shmap_event_set(o[2]), 0);
        assert_rc(shmap_wait(o[3], SHMAP_INFINITE), 0);
    }
    for (int i = 0; i < NKIDS; i++)
        if (kinds[i] > 2)
            tu_wait_ok(pids[i]);
    assert_int_equal(shared[0], 6 * STRESS_ROUNDS);
    assert_int_equal(shared[2], STRESS_ROUNDS);
    assert_int_equal(tu_sync_info(o[1]).count, 2);
    assert_int_equal(tu_sync_info(o[0]).owner_tid, 0);
    assert_false(tu_sync_info(o[2]).signaled);
    close_all(o, 5);
    assert_rc(shmap_view_unmap((void *)shared), 0);
    assert_rc(shmap_mapping_close(map), 0);
}

/* ---- Races between wait-all's look and take --------------------------------- */

#define RACE_ROUNDS 40000

/* Wait-alls (trying, and blocking) race single tries on each object, so
 * that holds are often given back; nothing may be lost or made up: the
 * auto-reset event ends set, the semaphore at its one unit (a release past
 * the maximum fails the child), the mutex free. */
static void child_race(void *arg)
{
    int kind = (int)(uintptr_t)arg;
    shmap_sync *o[3] = {NULL, NULL, NULL};
    TU_CHILD_RC(shmap_event_open("r.e", &o[0]), 0);
    TU_CHILD_RC(shmap_semaphore_open("r.s", &o[1]), 0);
    TU_CHILD_RC(shmap_mutex_open("r.m", &o[2]), 0);
    for (int i = 0; i < RACE_ROUNDS; i++) {
        if (kind <= 1) {
            int rc = shmap_wait_multiple(o, 3, true, kind == 0 ? 0 : SHMAP_INFINITE, NULL);
            TU_CHILD_CHECK(rc == 0 || (kind == 0 && rc == SHMAP_ETIMEDOUT));
            if (rc != 0)
                continue;
            TU_CHILD_RC(shmap_mutex_release(o[2]), 0);
            TU_CHILD_RC(shmap_semaphore_release(o[1], 1, NULL), 0);
            TU_CHILD_RC(shmap_event_set(o[0]), 0);
        } else if (shmap_wait(o[kind - 2], 0) == 0) {
            if (kind == 2)
                TU_CHILD_RC(shmap_event_set(o[0]), 0);
            else if (kind == 3)
                TU_CHILD_RC(shmap_semaphore_release(o[1], 1, NULL), 0);
            else
                TU_CHILD_RC(shmap_mutex_release(o[2]), 0);
        }
    }
    for (int i = 0; i < 3; i++)
        TU_CHILD_RC(shmap_sync_close(o[i]), 0);
}

static void test_wait_all_races(void **state)
{
    (void)state;
    shmap_sync *o[] = {tu_event_new("r.e", SHMAP_EVENT_INITIAL_SET), tu_sem_new("r.s", 1, 1),
                       tu_mutex_new("r.m", 0)};
    pid_t pids[5];
    for (int kind = 0; kind < 5; kind++)
        pids[kind] = tu_fork(child_race, (void *)(uintptr_t)kind);
    for (int kind = 0; kind < 5; kind++)
        tu_wait_ok(pids[kind]);
    assert_true(tu_sync_info(o[0]).signaled);
    assert_int_equal(tu_sync_info(o[1]).count, 1);
    assert_int_equal(tu_sync_info(o[2]).owner_tid, 0);
    assert_rc(shmap_wait_multiple(o, 3, true, 0, NULL), 0); /* all there */
    assert_rc(shmap_mutex_release(o[2]), 0);
    close_all(o, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timeouts_expire, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_any_lowest_ready, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_any_blocked, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_all_takes_all_or_nothing, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_all_abandoned_and_duplicates, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_all_passes_mutex_wake_on, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_does_not_end_wait, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_stress_mixed_waits, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_all_races, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
