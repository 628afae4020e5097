/* test_win32_sync.c - the Win32 layer's mutexes, events and semaphores:
 * created (0) versus existed (183) and missing (2), mutex ownership and
 * recursion (ReleaseMutex by a thread that does not own it: 288), WAIT_
 * ABANDONED when the owning process is killed or the owning thread exits
 * (also for a waiter already blocked), manual- and auto-reset events across
 * processes, semaphore counts and ERROR_TOO_MANY_POSTS (298), bad
 * parameters (87), and the results of WaitForSingleObject and
 * WaitForMultipleObjects: WAIT_OBJECT_0 + i, WAIT_TIMEOUT, WAIT_ABANDONED_0
 * + i, WAIT_FAILED.  Handles that are not one are in test_win32.c. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmap/win32.h"

#define assert_last_error(want) assert_int_equal(GetLastError(), (want))

/* Long enough never to expire in a passing run; short enough that a
 * broken wake-up fails the test instead of hanging it. */
#define PATIENCE 20000

static void close_ok(HANDLE h)
{
    assert_true(CloseHandle(h));
}

static HANDLE mutex_new(const char *name, BOOL owned)
{
    SetLastError(999);
    HANDLE h = CreateMutexA(NULL, owned, name);
    assert_non_null(h);
    assert_last_error(ERROR_SUCCESS);
    return h;
}

static HANDLE event_new(const char *name, BOOL manual, BOOL set)
{
    SetLastError(999);
    HANDLE h = CreateEventA(NULL, manual, set, name);
    assert_non_null(h);
    assert_last_error(ERROR_SUCCESS);
    return h;
}

static HANDLE sem_new(const char *name, LONG initial, LONG maximum)
{
    SetLastError(999);
    HANDLE h = CreateSemaphoreA(NULL, initial, maximum, name);
    assert_non_null(h);
    assert_last_error(ERROR_SUCCESS);
    return h;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- Created, existed, missing --------------------------------------------- */

static void test_create_open_codes(void **state)
{
    (void)state;
    HANDLE m = mutex_new("Local\\m", FALSE);
    HANDLE e = event_new("Local\\e", TRUE, FALSE);
    HANDLE s = sem_new("Local\\s", 1, 4);

    /* Existed: 183, same object. */
    SetLastError(0);
    HANDLE m2 = CreateMutexW(NULL, FALSE, u"Local\\m");
    assert_non_null(m2);
    assert_last_error(ERROR_ALREADY_EXISTS);
    SetLastError(0);
    HANDLE e2 = CreateEventA(NULL, FALSE, TRUE, "e"); /* flags of an existing event: ignored */
    assert_non_null(e2);
    assert_last_error(ERROR_ALREADY_EXISTS);
    SetLastError(0);
    HANDLE s2 = CreateSemaphoreW(NULL, 0, 1, u"Local\\s"); /* counts ignored too */
    assert_non_null(s2);
    assert_last_error(ERROR_ALREADY_EXISTS);
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_TIMEOUT); /* not set by e2's create */
    assert_true(SetEvent(e2));
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_OBJECT_0); /* manual-reset: stays set */
    LONG prev = -1;
    assert_true(ReleaseSemaphore(s2, 3, &prev)); /* up to the existing maximum, 4 */
    assert_int_equal(prev, 1);

    /* Open: 0, and never creates. */
    SetLastError(77);
    HANDLE mo = OpenMutexA(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, "Local\\m");
    assert_non_null(mo);
    assert_last_error(ERROR_SUCCESS);
    HANDLE eo = OpenEventW(EVENT_ALL_ACCESS, FALSE, u"Local\\e");
    HANDLE so = OpenSemaphoreA(SEMAPHORE_ALL_ACCESS, FALSE, "Local\\s");
    assert_non_null(eo);
    assert_non_null(so);
    assert_true(ResetEvent(eo));
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
    static const char *missing = "Local\\nothing";
    SetLastError(0);
    assert_null(OpenMutexA(SYNCHRONIZE, FALSE, missing));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    SetLastError(0);
    assert_null(OpenEventA(SYNCHRONIZE, FALSE, missing));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    SetLastError(0);
    assert_null(OpenSemaphoreW(SYNCHRONIZE, FALSE, u"Local\\nothing"));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    SetLastError(0);
    assert_null(OpenEventA(SYNCHRONIZE, FALSE, NULL));
    assert_last_error(ERROR_INVALID_PARAMETER);
    /* Type clashes among the sync objects. */
    SetLastError(0);
    assert_null(CreateEventA(NULL, TRUE, FALSE, "Local\\m"));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(OpenSemaphoreA(SYNCHRONIZE, FALSE, "Local\\e"));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(CreateMutexA(NULL, FALSE, "Local\\s"));
    assert_last_error(ERROR_INVALID_HANDLE);

    /* Unnamed objects are always new. */
    HANDLE anon[3] = {mutex_new(NULL, FALSE), event_new(NULL, FALSE, FALSE), sem_new(NULL, 0, 1)};
    HANDLE all[] = {m, e, s, m2, e2, s2, mo, eo, so, anon[0], anon[1], anon[2]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        close_ok(all[i]);
    /* The last handle closed: the names are gone. */
    SetLastError(0);
    assert_null(OpenMutexA(SYNCHRONIZE, FALSE, "Local\\m"));
    assert_last_error(ERROR_FILE_NOT_FOUND);
}

/* ---- Mutex ownership ------------------------------------------------------ */

struct other {
    HANDLE h;
    BOOL create_owned; /* CreateMutex(NAME, TRUE) instead of using h */
    const char *name;
    DWORD wait, created_error, release_error;
    BOOL released;
};

/* In another thread: tries the mutex, then tries to release it.  No
 * cmocka asserts (not the main thread). */
static void *other_thread(void *p)
{
    struct other *o = p;
    HANDLE h = o->h;
    if (o->create_owned) {
        h = CreateMutexA(NULL, TRUE, o->name);
        o->created_error = GetLastError();
    }
    o->wait = WaitForSingleObject(h, 0);
    if (o->wait != WAIT_OBJECT_0) {
        SetLastError(0);
        o->released = ReleaseMutex(h);
        o->release_error = GetLastError();
    } else {
        o->released = ReleaseMutex(h);
    }
    if (o->create_owned)
        CloseHandle(h);
    return NULL;
}

static struct other run_other(HANDLE h, BOOL create_owned, const char *name)
{
    struct other o = {h, create_owned, name, 0, 0, 0, FALSE};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &o), 0);
    pthread_join(t, NULL);
    return o;
}

static void test_mutex_ownership_288(void **state)
{
    (void)state;
    HANDLE m = mutex_new("Local\\own", TRUE); /* owned by this thread */
    /* Another thread can neither take it nor release it. */
    struct other o = run_other(m, FALSE, NULL);
    assert_int_equal(o.wait, WAIT_TIMEOUT);
    assert_false(o.released);
    assert_int_equal(o.release_error, ERROR_NOT_OWNER);
    /* Nor does creating it again with bInitialOwner TRUE make it the owner. */
    o = run_other(NULL, TRUE, "Local\\own");
    assert_int_equal(o.created_error, ERROR_ALREADY_EXISTS);
    assert_int_equal(o.wait, WAIT_TIMEOUT);
    assert_int_equal(o.release_error, ERROR_NOT_OWNER);

    /* Recursive: the owner takes it again and releases as many times. */
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(m, INFINITE), WAIT_OBJECT_0);
    assert_true(ReleaseMutex(m));
    assert_true(ReleaseMutex(m));
    assert_int_equal(run_other(m, FALSE, NULL).wait, WAIT_TIMEOUT); /* still held once */
    SetLastError(0);
    assert_true(ReleaseMutex(m));
    /* Now free: one release too many is ERROR_NOT_OWNER. */
    SetLastError(0);
    assert_false(ReleaseMutex(m));
    assert_last_error(ERROR_NOT_OWNER);
    o = run_other(m, FALSE, NULL);
    assert_int_equal(o.wait, WAIT_OBJECT_0);
    assert_true(o.released);

    /* A new mutex that nobody owns. */
    HANDLE free_mutex = mutex_new(NULL, FALSE);
    SetLastError(0);
    assert_false(ReleaseMutex(free_mutex));
    assert_last_error(ERROR_NOT_OWNER);
    close_ok(free_mutex);
    close_ok(m);
}

/* ---- Abandonment ------------------------------------------------------------ */

struct holder {
    HANDLE mutex;
    int ready[2], block[2];
};

/* A child (fork: the handle is the parent's) takes the mutex, says so and
 * blocks until it is killed. */
static void hold_until_killed(void *p)
{
    struct holder *h = p;
    TU_CHILD_CHECK(WaitForSingleObject(h->mutex, PATIENCE) == WAIT_OBJECT_0);
    TU_CHILD_CHECK(tu_pipe_signal(h->ready[1], 'r') == 0);
    tu_pipe_wait(h->block[0]);
    _exit(3);
}

/* A child that takes the mutex and exits without releasing it. */
static void hold_and_exit(void *p)
{
    struct holder *h = p;
    TU_CHILD_CHECK(WaitForSingleObject(h->mutex, PATIENCE) == WAIT_OBJECT_0);
    _exit(0);
}

static pid_t start_holder(struct holder *h, HANDLE mutex)
{
    h->mutex = mutex;
    tu_pipe(h->ready);
    tu_pipe(h->block);
    pid_t pid = tu_fork(hold_until_killed, h);
    assert_int_equal(tu_pipe_wait(h->ready[0]), 'r');
    return pid;
}

static void end_holder(struct holder *h, pid_t pid)
{
    kill(pid, SIGKILL);
    assert_int_equal(tu_wait_exit(pid), 128 + SIGKILL);
    tu_close(h->ready[0]);
    tu_close(h->ready[1]);
    tu_close(h->block[0]);
    tu_close(h->block[1]);
}

static void test_abandoned_by_killed_process(void **state)
{
    (void)state;
    HANDLE m = mutex_new("Local\\abandon", FALSE);
    struct holder h;
    pid_t pid = start_holder(&h, m);
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_TIMEOUT);
    end_holder(&h, pid);
    /* The next waiter gets it, told it was abandoned; then all is normal. */
    assert_int_equal(WaitForSingleObject(m, PATIENCE), WAIT_ABANDONED);
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_OBJECT_0); /* recursion, not abandoned */
    assert_true(ReleaseMutex(m));
    assert_true(ReleaseMutex(m));
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_OBJECT_0);
    assert_true(ReleaseMutex(m));

    /* A process that exits holding it abandons it too (opened by name). */
    HANDLE byname = OpenMutexA(SYNCHRONIZE, FALSE, "Local\\abandon");
    assert_non_null(byname);
    struct holder e = {byname, {-1, -1}, {-1, -1}};
    tu_wait_ok(tu_fork(hold_and_exit, &e));
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_ABANDONED);
    assert_true(ReleaseMutex(m));
    close_ok(byname);
    close_ok(m);
}

struct waiter {
    HANDLE handles[3];
    DWORD count;
    BOOL all;
    DWORD result;
    pid_t tid;
    int announce[2];
};

static void *waiter_thread(void *p)
{
    struct waiter *w = p;
    w->tid = (pid_t)GetCurrentThreadId();
    tu_pipe_signal(w->announce[1], 'w');
    w->result = w->count == 1 ? WaitForSingleObject(w->handles[0], PATIENCE)
                              : WaitForMultipleObjects(w->count, w->handles, w->all, PATIENCE);
    if (w->result == WAIT_OBJECT_0 || w->result == WAIT_ABANDONED)
        ReleaseMutex(w->handles[0]);
    return NULL;
}

/* A waiter already blocked when the owner dies wakes with WAIT_ABANDONED. */
static void test_abandoned_wakes_blocked_waiter(void **state)
{
    (void)state;
    HANDLE m = mutex_new(NULL, FALSE);
    struct holder h;
    pid_t pid = start_holder(&h, m);
    struct waiter w = {{m}, 1, FALSE, 0, 0, {-1, -1}};
    tu_pipe(w.announce);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w), 0);
    assert_int_equal(tu_pipe_wait(w.announce[0]), 'w');
    tu_wait_blocked(w.tid);
    end_holder(&h, pid);
    pthread_join(t, NULL);
    assert_int_equal(w.result, WAIT_ABANDONED);
    /* The waiter released it before its thread ended. */
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_OBJECT_0);
    assert_true(ReleaseMutex(m));
    tu_close(w.announce[0]);
    tu_close(w.announce[1]);
    close_ok(m);
}

static void *take_and_return(void *p)
{
    HANDLE m = p;
    return (void *)(uintptr_t)WaitForSingleObject(m, 0);
}

/* A thread that ends owning a mutex abandons it. */
static void test_abandoned_by_exiting_thread(void **state)
{
    (void)state;
    HANDLE m = mutex_new("Local\\thread-abandon", FALSE);
    pthread_t t;
    void *rc;
    assert_int_equal(pthread_create(&t, NULL, take_and_return, m), 0);
    pthread_join(t, &rc);
    assert_int_equal((uintptr_t)rc, WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_ABANDONED);
    assert_true(ReleaseMutex(m));
    close_ok(m);
}

/* ---- Events ---------------------------------------------------------------- */

struct ev_child {
    const char *name;
    int ready[2];
};

static void wait_event_by_name(void *p)
{
    struct ev_child *c = p;
    HANDLE e = OpenEventA(SYNCHRONIZE, FALSE, c->name);
    TU_CHILD_CHECK(e != NULL);
    TU_CHILD_CHECK(tu_pipe_signal(c->ready[1], 'r') == 0);
    TU_CHILD_CHECK(WaitForSingleObject(e, PATIENCE) == WAIT_OBJECT_0);
    TU_CHILD_CHECK(CloseHandle(e));
}

static void test_events(void **state)
{
    (void)state;
    /* Auto-reset: one set lets one wait through. */
    HANDLE a = event_new("Local\\auto", FALSE, TRUE);
    assert_int_equal(WaitForSingleObject(a, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
    assert_true(SetEvent(a));
    assert_true(SetEvent(a)); /* setting a set event does nothing more */
    assert_int_equal(WaitForSingleObject(a, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
    assert_true(SetEvent(a));
    assert_true(ResetEvent(a));
    assert_int_equal(WaitForSingleObject(a, 0), WAIT_TIMEOUT);

    /* Manual-reset: stays set for every waiter until reset. */
    HANDLE m = event_new("Local\\manual", TRUE, FALSE);
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_TIMEOUT);
    assert_true(SetEvent(m));
    for (int i = 0; i < 3; i++)
        assert_int_equal(WaitForSingleObject(m, 0), WAIT_OBJECT_0);
    assert_true(ResetEvent(m));
    assert_int_equal(WaitForSingleObject(m, 0), WAIT_TIMEOUT);

    /* Across processes: three children wait on the manual-reset event
     * (opened by name); one SetEvent releases them all. */
    enum { N = 3 };
    struct ev_child c = {"Local\\manual", {-1, -1}};
    tu_pipe(c.ready);
    pid_t pids[N];
    for (int i = 0; i < N; i++)
        pids[i] = tu_fork(wait_event_by_name, &c);
    for (int i = 0; i < N; i++)
        assert_int_equal(tu_pipe_wait(c.ready[0]), 'r');
    assert_true(SetEvent(m));
    for (int i = 0; i < N; i++)
        tu_wait_ok(pids[i]);
    /* The auto-reset one: a child's wait consumes the set. */
    c.name = "Local\\auto";
    pid_t pid = tu_fork(wait_event_by_name, &c);
    assert_int_equal(tu_pipe_wait(c.ready[0]), 'r');
    assert_true(SetEvent(a));
    tu_wait_ok(pid);
    assert_int_equal(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
    tu_close(c.ready[0]);
    tu_close(c.ready[1]);
    close_ok(a);
    close_ok(m);
}

/* ---- Semaphores ------------------------------------------------------------- */

static void test_semaphore_298_and_87(void **state)
{
    (void)state;
    HANDLE s = sem_new("Local\\sem", 2, 3);
    LONG prev = -1;
    assert_true(ReleaseSemaphore(s, 1, &prev));
    assert_int_equal(prev, 2);
    /* Past the maximum: ERROR_TOO_MANY_POSTS, and the count is unchanged. */
    SetLastError(0);
    assert_false(ReleaseSemaphore(s, 1, NULL));
    assert_last_error(ERROR_TOO_MANY_POSTS);
    for (int i = 0; i < 3; i++)
        assert_int_equal(WaitForSingleObject(s, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(s, 0), WAIT_TIMEOUT);
    SetLastError(0);
    assert_false(ReleaseSemaphore(s, 4, &prev));
    assert_last_error(ERROR_TOO_MANY_POSTS);
    assert_true(ReleaseSemaphore(s, 3, &prev));
    assert_int_equal(prev, 0);
    /* A release count that is not positive. */
    SetLastError(0);
    assert_false(ReleaseSemaphore(s, 0, NULL));
    assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(0);
    assert_false(ReleaseSemaphore(s, -1, NULL));
    assert_last_error(ERROR_INVALID_PARAMETER);
    close_ok(s);

    /* Counts that make no semaphore. */
    static const LONG bad[][2] = {{2, 1}, {0, 0}, {-1, 5}, {0, -1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(0);
        assert_null(CreateSemaphoreA(NULL, bad[i][0], bad[i][1], "Local\\bad-sem"));
        assert_last_error(ERROR_INVALID_PARAMETER);
    }
    assert_int_equal(tu_store_count(), 0);
}

/* ---- The waits ---------------------------------------------------------- */

static void test_wait_timeouts(void **state)
{
    (void)state;
    HANDLE e = event_new(NULL, TRUE, FALSE);
    HANDLE s = sem_new(NULL, 0, 1);
    HANDLE both[2] = {e, s};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
    assert_int_equal(WaitForMultipleObjects(2, both, FALSE, 0), WAIT_TIMEOUT);
    assert_int_equal(WaitForMultipleObjects(2, both, TRUE, 0), WAIT_TIMEOUT);
    assert_true(ms_since(&t0) < 1000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(WaitForSingleObject(s, 30), WAIT_TIMEOUT);
    assert_true(ms_since(&t0) >= 29.0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(WaitForMultipleObjects(2, both, FALSE, 30), WAIT_TIMEOUT);
    assert_true(ms_since(&t0) >= 29.0);
    /* A wait-all that times out takes none: the semaphore keeps its count. */
    assert_true(ReleaseSemaphore(s, 1, NULL));
    assert_int_equal(WaitForMultipleObjects(2, both, TRUE, 10), WAIT_TIMEOUT);
    assert_int_equal(WaitForSingleObject(s, 0), WAIT_OBJECT_0);
    close_ok(e);
    close_ok(s);
}

static void test_wait_multiple_any_and_all(void **state)
{
    (void)state;
    HANDLE h[4] = {event_new(NULL, FALSE, FALSE), sem_new(NULL, 0, 5), event_new(NULL, TRUE, FALSE),
                   mutex_new(NULL, FALSE)};
    /* Any: the lowest index among those ready, and only that one taken. */
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_TIMEOUT);
    assert_true(SetEvent(h[2]));
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 2);
    assert_true(ReleaseSemaphore(h[1], 2, NULL));
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 1);
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 1);
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 2); /* sem empty */
    assert_true(SetEvent(h[0]));
    assert_int_equal(WaitForMultipleObjects(4, h, FALSE, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(h[0], 0), WAIT_TIMEOUT); /* auto-reset consumed */

    /* All: nothing until every one is ready, then all of them. */
    assert_int_equal(WaitForMultipleObjects(4, h, TRUE, 0), WAIT_TIMEOUT);
    assert_true(SetEvent(h[0]));
    assert_int_equal(WaitForMultipleObjects(4, h, TRUE, 0), WAIT_TIMEOUT); /* the sem is 0 */
    assert_true(ReleaseSemaphore(h[1], 1, NULL));
    assert_int_equal(WaitForMultipleObjects(4, h, TRUE, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(h[0], 0), WAIT_TIMEOUT);  /* consumed */
    assert_int_equal(WaitForSingleObject(h[1], 0), WAIT_TIMEOUT);  /* taken */
    assert_int_equal(WaitForSingleObject(h[2], 0), WAIT_OBJECT_0); /* manual: still set */
    assert_true(ReleaseMutex(h[3]));                               /* owned by the wait */
    SetLastError(0);
    assert_false(ReleaseMutex(h[3]));
    assert_last_error(ERROR_NOT_OWNER);
    for (int i = 0; i < 4; i++)
        close_ok(h[i]);
}

static void test_wait_multiple_abandoned_index(void **state)
{
    (void)state;
    HANDLE e = event_new(NULL, TRUE, FALSE);
    HANDLE s = sem_new(NULL, 0, 1);
    HANDLE m = mutex_new("Local\\wm", FALSE);
    struct holder hd;
    pid_t pid = start_holder(&hd, m);
    HANDLE h[3] = {e, s, m};
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_TIMEOUT);
    end_holder(&hd, pid);
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, PATIENCE), WAIT_ABANDONED_0 + 2);
    assert_true(ReleaseMutex(m));
    assert_int_equal(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 2);
    assert_true(ReleaseMutex(m));

    /* Wait-all with an abandoned mutex among the objects. */
    pid = start_holder(&hd, m);
    end_holder(&hd, pid);
    assert_true(SetEvent(e));
    assert_true(ReleaseSemaphore(s, 1, NULL));
    assert_int_equal(WaitForMultipleObjects(3, h, TRUE, PATIENCE), WAIT_ABANDONED_0 + 2);
    assert_int_equal(WaitForSingleObject(s, 0), WAIT_TIMEOUT); /* all were taken */
    assert_true(ReleaseMutex(m));

    /* A waiter blocked in WaitForMultipleObjects is woken by the death. */
    pid = start_holder(&hd, m);
    assert_true(ResetEvent(e));
    struct waiter w = {{m, e, s}, 3, FALSE, 0, 0, {-1, -1}};
    tu_pipe(w.announce);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w), 0);
    assert_int_equal(tu_pipe_wait(w.announce[0]), 'w');
    tu_wait_blocked(w.tid);
    end_holder(&hd, pid);
    pthread_join(t, NULL);
    assert_int_equal(w.result, WAIT_ABANDONED_0);
    tu_close(w.announce[0]);
    tu_close(w.announce[1]);
    close_ok(e);
    close_ok(s);
    close_ok(m);
}

struct multi_child {
    HANDLE h[2];
    int ready[2];
};

static void wait_any_child(void *p)
{
    struct multi_child *c = p;
    TU_CHILD_CHECK(tu_pipe_signal(c->ready[1], 'r') == 0);
    DWORD r = WaitForMultipleObjects(2, c->h, FALSE, PATIENCE);
    _exit(r == WAIT_OBJECT_0 + 1 ? 0 : 10);
}

/* A process blocked in WaitForMultipleObjects is woken by another
 * process's SetEvent, and told which. */
static void test_wait_multiple_across_processes(void **state)
{
    (void)state;
    struct multi_child c = {
        {event_new("Local\\wx0", FALSE, FALSE), event_new("Local\\wx1", FALSE, FALSE)}, {-1, -1}};
    tu_pipe(c.ready);
    pid_t pid = tu_fork(wait_any_child, &c);
    assert_int_equal(tu_pipe_wait(c.ready[0]), 'r');
    HANDLE e1 = OpenEventA(EVENT_MODIFY_STATE, FALSE, "Local\\wx1");
    assert_non_null(e1);
    assert_true(SetEvent(e1));
    tu_wait_ok(pid);
    assert_int_equal(WaitForSingleObject(c.h[1], 0), WAIT_TIMEOUT); /* the child took it */
    close_ok(e1);
    close_ok(c.h[0]);
    close_ok(c.h[1]);
    tu_close(c.ready[0]);
    tu_close(c.ready[1]);
}

static void test_wait_multiple_bad_parameters(void **state)
{
    (void)state;
    HANDLE h[MAXIMUM_WAIT_OBJECTS + 1];
    for (int i = 0; i <= MAXIMUM_WAIT_OBJECTS; i++)
        h[i] = sem_new(NULL, 1, 1);
    static const DWORD bad_counts[] = {0, MAXIMUM_WAIT_OBJECTS + 1};
    for (size_t i = 0; i < 2; i++) {
        SetLastError(0);
        assert_int_equal(WaitForMultipleObjects(bad_counts[i], h, FALSE, 0), WAIT_FAILED);
        assert_last_error(ERROR_INVALID_PARAMETER);
    }
    SetLastError(0);
    assert_int_equal(WaitForMultipleObjects(1, NULL, FALSE, 0), WAIT_FAILED);
    assert_last_error(ERROR_INVALID_PARAMETER);
    /* The most objects a wait takes: all 64, and the last one found. */
    assert_int_equal(WaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, h, TRUE, 0), WAIT_OBJECT_0);
    assert_true(ReleaseSemaphore(h[63], 1, NULL));
    assert_int_equal(WaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, h, FALSE, 0), WAIT_OBJECT_0 + 63);
    /* Wait-all on one object twice, by the same or by a duplicated handle. */
    HANDLE dup = NULL;
    assert_true(DuplicateHandle(GetCurrentProcess(), h[64], GetCurrentProcess(), &dup, 0, FALSE,
                                DUPLICATE_SAME_ACCESS));
    HANDLE twice[2] = {h[64], h[64]}, twice_dup[2] = {h[64], dup};
    SetLastError(0);
    assert_int_equal(WaitForMultipleObjects(2, twice, TRUE, 0), WAIT_FAILED);
    assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(0);
    assert_int_equal(WaitForMultipleObjects(2, twice_dup, TRUE, 0), WAIT_FAILED);
    assert_last_error(ERROR_INVALID_PARAMETER);
    assert_int_equal(WaitForSingleObject(h[64], 0), WAIT_OBJECT_0); /* untouched */
    close_ok(dup);
    for (int i = 0; i <= MAXIMUM_WAIT_OBJECTS; i++)
        close_ok(h[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_open_codes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_mutex_ownership_288, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_by_killed_process, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_wakes_blocked_waiter, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_by_exiting_thread, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_events, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_semaphore_298_and_87, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_timeouts, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_multiple_any_and_all, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_multiple_abandoned_index, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_multiple_across_processes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wait_multiple_bad_parameters, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
