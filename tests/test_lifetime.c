/* test_lifetime.c - a name lives exactly as long as its last handle. */
/* Across processes, after SIGKILL, through fork, under threads, with unlink. */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

struct duo {
    int to_child[2], to_parent[2];
    const char *name;
};

static void duo_open(struct duo *d, const char *name)
{
    d->name = name;
    tu_pipe(d->to_child);
    tu_pipe(d->to_parent);
}

static void duo_close(struct duo *d)
{
    for (int i = 0; i < 2; i++) {
        close(d->to_child[i]);
        close(d->to_parent[i]);
    }
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* The name goes with the last handle; the view stays; the name is free for a
 * fresh, zeroed object while the old view keeps the old memory. */
static void test_last_close_removes_name_view_stays(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("life", 2 * GRAN);
    char *old = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(old, "old data");
    assert_rc(shmap_mapping_close(m), 0);
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 1), 0);
    assert_int_equal(tu_name_exists("life"), 0);
    assert_string_equal(old, "old data");

    m = tu_create("life", 2 * GRAN); /* 0: created, not SHMAP_EXISTED */
    char *fresh = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    assert_true(all_zero(fresh, 2 * GRAN));
    strcpy(fresh, "new data");
    assert_string_equal(old, "old data");
    old[100] = 'o';
    assert_int_equal(fresh[100], 0);
    assert_rc(shmap_view_unmap(fresh), 0);
    assert_rc(shmap_mapping_close(m), 0);
    assert_string_equal(old, "old data");
    assert_rc(shmap_view_unmap(old), 0);
}

/* ---- across processes ------------------------------------------------------ */

static void child_holder(void *arg)
{
    struct duo *d = arg;
    shmap_mapping *m = NULL;
    TU_CHILD_CHECK(tu_pipe_wait(d->to_child[0]) == 'n');
    TU_CHILD_RC(shmap_mapping_open(d->name, SHMAP_ACCESS_ALL, &m), 0);
    TU_CHILD_CHECK(tu_pipe_signal(d->to_parent[1], 'o') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(d->to_child[0]) == 'c');
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_CHECK(tu_pipe_signal(d->to_parent[1], 'c') == 0);
}

static void test_other_process_keeps_name(void **state)
{
    (void)state;
    struct duo d;
    duo_open(&d, "held");
    /* Forked first, so that the child inherits no handle of ours. */
    pid_t pid = tu_fork(child_holder, &d);
    shmap_mapping *m = tu_create("held", GRAN);
    assert_int_equal(tu_pipe_signal(d.to_child[1], 'n'), 0);
    assert_int_equal(tu_pipe_wait(d.to_parent[0]), 'o');
    assert_rc(shmap_mapping_close(m), 0);
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 0), 1);
    assert_int_equal(tu_name_exists("held"), 1);
    assert_int_equal(tu_pipe_signal(d.to_child[1], 'c'), 0);
    assert_int_equal(tu_pipe_wait(d.to_parent[0]), 'c');
    /* Gone when the child closed, before it even exits. */
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 1), 0);
    assert_int_equal(tu_name_exists("held"), 0);
    tu_wait_ok(pid);
    duo_close(&d);
}

/* ---- SIGKILL -------------------------------------------------------------- */

struct holder {
    char name[64];
    int ready; /* write end: one byte once NAME is held */
};

/* Creates (or opens) NAME, writes a mark, says so, then waits to be killed. */
static void child_hold_until_killed(void *arg)
{
    struct holder *h = arg;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_create(h->name, &cfg, &m);
    TU_CHILD_CHECK(rc == 0 || rc == SHMAP_EXISTED);
    void *p = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &p), 0);
    strcpy(p, "written before the kill");
    TU_CHILD_CHECK(tu_pipe_signal(h->ready, 'h') == 0);
    for (;;)
        pause();
}

/* Starts a child holding NAME; returns once it holds it. */
static pid_t start_holder(const char *name, int ready[2])
{
    struct holder h;
    snprintf(h.name, sizeof h.name, "%s", name);
    h.ready = ready[1];
    pid_t pid = tu_fork(child_hold_until_killed, &h);
    assert_int_equal(tu_pipe_wait(ready[0]), 'h');
    return pid;
}

static void kill9(pid_t pid)
{
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(tu_wait_exit(pid), 128 + SIGKILL);
}

static void test_killed_holder_survivor_keeps_name(void **state)
{
    (void)state;
    int ready[2];
    tu_pipe(ready);
    struct duo d;
    duo_open(&d, "k");
    pid_t victim = start_holder("k", ready);
    pid_t survivor = tu_fork(child_holder, &d);
    assert_int_equal(tu_pipe_signal(d.to_child[1], 'n'), 0);
    assert_int_equal(tu_pipe_wait(d.to_parent[0]), 'o');
    kill9(victim);
    assert_int_equal(tu_name_exists("k"), 1);
    assert_int_equal(tu_pipe_signal(d.to_child[1], 'c'), 0);
    assert_int_equal(tu_pipe_wait(d.to_parent[0]), 'c');
    assert_int_equal(tu_name_exists("k"), 0);
    tu_wait_ok(survivor);
    duo_close(&d);
    close(ready[0]);
    close(ready[1]);
}

static void test_killed_only_holder(void **state)
{
    (void)state;
    int ready[2];
    tu_pipe(ready);
    kill9(start_holder("solo", ready));
    shmap_mapping *m = NULL;
    assert_rc(shmap_mapping_open("solo", SHMAP_ACCESS_ALL, &m), SHMAP_ENOENT);
    m = tu_create("solo", GRAN); /* 0, not SHMAP_EXISTED */
    char *p = tu_map(m, SHMAP_ACCESS_READ, 0, 0);
    assert_true(all_zero(p, GRAN));
    assert_rc(shmap_view_unmap(p), 0);
    assert_rc(shmap_mapping_close(m), 0);
    /* Killed again, then created without an open first. */
    kill9(start_holder("solo", ready));
    m = tu_create("solo", GRAN);
    assert_rc(shmap_mapping_close(m), 0);
    close(ready[0]);
    close(ready[1]);
}

/* ---- crash loop ------------------------------------------------------------ */

#define CRASHES 50
#define LAST_BATCH 25

static void sweep_cb(const char *name, void *arg)
{
    if (strncmp(name, "Local\\crash-", 12) != 0)
        fail_msg("sweep reported %s", name);
    ++*(int *)arg;
}

static int stale_cb(const shmap_object_info *o, void *arg)
{
    *(int *)arg += o->stale == 1;
    return 0;
}

static void test_crash_loop(void **state)
{
    (void)state;
    int ready[2];
    tu_pipe(ready);
    int crashes = 0;
    /* One holder at a time first; then a batch alive together and killed
     * together, so that stale names pile up faster than creates sweep. */
    while (crashes < CRASHES) {
        int batch = crashes < CRASHES - LAST_BATCH ? 1 : LAST_BATCH;
        pid_t pids[LAST_BATCH];
        for (int i = 0; i < batch; i++) {
            char name[32];
            snprintf(name, sizeof name, "crash-%d", crashes + i);
            pids[i] = start_holder(name, ready);
        }
        for (int i = 0; i < batch; i++) {
            kill9(pids[i]);
            crashes++;
            /* At most one file per crash so far, plus the live holders. */
            int alive = batch - 1 - i;
            int n = tu_ns_count(SHMAP_SCOPE_LOCAL, 1);
            if (n > crashes + alive)
                fail_msg("%d files in the namespace after %d crashes (%d alive)", n, crashes,
                         alive);
        }
    }
    int before = tu_ns_count(SHMAP_SCOPE_LOCAL, 1);
    assert_true(before > 0); /* the last batch died holding its names */

    int stale = 0;
    assert_rc(shmap_store_list(SHMAP_SCOPE_LOCAL, stale_cb, &stale), 0);
    assert_int_equal(stale, before);
    int found = 0;
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_LOCAL, SHMAP_SWEEP_DRY_RUN, sweep_cb, &found), before);
    assert_int_equal(found, before);
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 1), before);

    /* Creates alone (no sweep call) bring the count down. */
    int n = before;
    for (int i = 0; i < 100 && n > 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "fresh-%d", i);
        assert_rc(shmap_mapping_close(tu_create(name, GRAN)), 0);
        n = tu_ns_count(SHMAP_SCOPE_LOCAL, 1);
    }
    if (n >= before)
        fail_msg("100 creates left %d stale files of %d", n, before);
    int removed = 0;
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, sweep_cb, &removed), n);
    assert_int_equal(removed, n);
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 1), 0);
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0, NULL, NULL), 0);
    close(ready[0]);
    close(ready[1]);
}

/* ---- fork ---------------------------------------------------------------- */

struct fork_case {
    struct duo d;
    shmap_mapping *m;
    int close_it; /* close the inherited handle, or just exit */
};

static void child_inherits(void *arg)
{
    struct fork_case *f = arg;
    TU_CHILD_CHECK(tu_pipe_signal(f->d.to_parent[1], 'f') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(f->d.to_child[0]) == 'p'); /* parent closed */
    /* The inherited handle works: a view of it sees the parent's data. */
    char *p = NULL;
    TU_CHILD_RC(shmap_view_map(f->m, SHMAP_ACCESS_READ, 0, 0, NULL, (void **)&p), 0);
    TU_CHILD_CHECK(strcmp(p, "parent") == 0);
    TU_CHILD_RC(shmap_view_unmap(p), 0);
    if (f->close_it) {
        TU_CHILD_RC(shmap_mapping_close(f->m), 0);
        TU_CHILD_CHECK(tu_pipe_signal(f->d.to_parent[1], 'c') == 0);
        TU_CHILD_CHECK(tu_pipe_wait(f->d.to_child[0]) == 'x');
    }
}

static void fork_case(int close_it)
{
    struct fork_case f = {.close_it = close_it};
    duo_open(&f.d, "forked");
    f.m = tu_create("forked", GRAN);
    char *p = tu_map(f.m, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(p, "parent");
    assert_rc(shmap_view_unmap(p), 0);
    pid_t pid = tu_fork(child_inherits, &f);
    assert_int_equal(tu_pipe_wait(f.d.to_parent[0]), 'f');
    assert_rc(shmap_mapping_close(f.m), 0);
    assert_int_equal(tu_name_exists("forked"), 1); /* the child's copy holds it */
    assert_int_equal(tu_pipe_signal(f.d.to_child[1], 'p'), 0);
    if (close_it) {
        assert_int_equal(tu_pipe_wait(f.d.to_parent[0]), 'c');
        assert_int_equal(tu_name_exists("forked"), 0);
        assert_int_equal(tu_pipe_signal(f.d.to_child[1], 'x'), 0);
    }
    tu_wait_ok(pid);
    assert_int_equal(tu_name_exists("forked"), 0);
    duo_close(&f.d);
}

static void test_fork_child_closes(void **state)
{
    (void)state;
    fork_case(1);
}

static void test_fork_child_exits(void **state)
{
    (void)state;
    fork_case(0);
}

/* ---- threads --------------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 300

static atomic_int thread_errors;
static atomic_int thread_created;

static void *opener(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        shmap_mapping *m = NULL;
        int rc = shmap_mapping_open("th", SHMAP_ACCESS_ALL, &m);
        if (rc != 0) {
            fprintf(stderr, "open while held: %s\n", tu_errname(rc));
            atomic_fetch_add(&thread_errors, 1);
            continue;
        }
        if (shmap_mapping_close(m) != 0)
            atomic_fetch_add(&thread_errors, 1);
    }
    return NULL;
}

static void *creator(void *arg)
{
    (void)arg;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    for (int i = 0; i < ROUNDS; i++) {
        shmap_mapping *m = NULL;
        int rc = shmap_mapping_create("th2", &cfg, &m);
        if (rc != 0 && rc != SHMAP_EXISTED) {
            fprintf(stderr, "create/close race: %s\n", tu_errname(rc));
            atomic_fetch_add(&thread_errors, 1);
            continue;
        }
        atomic_fetch_add(&thread_created, rc == 0);
        if (shmap_mapping_close(m) != 0)
            atomic_fetch_add(&thread_errors, 1);
    }
    return NULL;
}

static void run_threads(void *(*fn)(void *))
{
    pthread_t t[THREADS];
    atomic_store(&thread_errors, 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(atomic_load(&thread_errors), 0);
}

static void test_threads_open_close_while_held(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("th", GRAN);
    run_threads(opener);
    assert_int_equal(tu_name_exists("th"), 1);
    assert_rc(shmap_mapping_close(m), 0);
    assert_int_equal(tu_name_exists("th"), 0);

    /* Nobody holds it between rounds: creates and last closes race, and
     * every create is either a creation or an open, never an error. */
    atomic_store(&thread_created, 0);
    run_threads(creator);
    assert_true(atomic_load(&thread_created) >= 1);
    assert_int_equal(tu_name_exists("th2"), 0);
}

/* ---- unlink ---------------------------------------------------------------- */

static void test_unlink(void **state)
{
    (void)state;
    shmap_mapping *old = tu_create("u", GRAN);
    char *v = tu_map(old, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(v, "old");
    assert_rc(shmap_unlink("u"), 0);
    assert_int_equal(tu_name_exists("u"), 0);
    assert_rc(shmap_unlink("u"), SHMAP_ENOENT);
    /* The name is free for a new object while the old one lives on. */
    shmap_mapping *fresh = tu_create("u", GRAN);
    char *w = tu_map(fresh, SHMAP_ACCESS_WRITE, 0, 0);
    assert_int_equal(w[0], 0);
    /* Closing the old object's last handle must not take the new name. */
    assert_rc(shmap_mapping_close(old), 0);
    assert_int_equal(tu_name_exists("u"), 1);
    assert_string_equal(v, "old");
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_view_unmap(w), 0);
    assert_rc(shmap_mapping_close(fresh), 0);
    assert_int_equal(tu_name_exists("u"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_close_removes_name_view_stays, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_other_process_keeps_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_killed_holder_survivor_keeps_name, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_killed_only_holder, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_crash_loop, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_closes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_exits, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_threads_open_close_while_held, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_unlink, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
