/* test_isolation_users.c - isolation between two ordinary users (65534 and
 * 65533, in forked children of a root test), adding to test_isolation.c
 * (root against one other user): Local\ objects of one user are invisible
 * to the other; Global\ objects get exactly the mode given at creation
 * whatever the umask (077 and 000); a user other than the one who made the
 * Global\ namespace can use it; and the last close of a shared Global\
 * object removes its name even when that last holder is not the user who
 * made it (the global directory is sticky, mode 01777: a user may not
 * unlink another user's file there).  Needs root (skips otherwise). */
#include "testutil.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define USER_A 65534
#define USER_B 65533

static void share_store(void)
{
    if (geteuid() != 0) {
        print_message("SKIP: needs root to act as two other users (uid %d)\n", (int)geteuid());
        skip();
    }
    assert_int_equal(chmod(tu_store_top(), 0755), 0);
    assert_int_equal(chmod(tu_store_root(), 01777), 0);
}

/* The system store's global namespace, made by root beforehand. */
static void root_makes_global(void)
{
    assert_rc(shmap_mapping_close(tu_create("Global\\root-was-here", GRAN)), 0);
}

static void become(uid_t uid)
{
    TU_CHILD_CHECK(setgroups(0, NULL) == 0);
    TU_CHILD_CHECK(setgid(uid) == 0);
    TU_CHILD_CHECK(setuid(uid) == 0);
    TU_CHILD_CHECK(geteuid() == uid);
}

/* A child that acts, says 'r', and waits for 'd' before it finishes. */
struct holder {
    int ready[2], done[2];
    void (*act)(struct holder *);
    void (*finish)(struct holder *);
    void *state[8];
};

static void holder_main(void *arg)
{
    struct holder *h = arg;
    become(USER_A);
    h->act(h);
    TU_CHILD_CHECK(tu_pipe_signal(h->ready[1], 'r') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(h->done[0]) == 'd');
    if (h->finish)
        h->finish(h);
}

static pid_t holder_start(struct holder *h)
{
    tu_pipe(h->ready);
    tu_pipe(h->done);
    pid_t pid = tu_fork(holder_main, h);
    tu_close(h->ready[1]);
    tu_close(h->done[0]);
    if (tu_pipe_wait(h->ready[0]) != 'r') {
        tu_wait_exit(pid);
        fail_msg("user %d failed to set up", USER_A);
    }
    return pid;
}

static void holder_end(struct holder *h, pid_t pid)
{
    assert_int_equal(tu_pipe_signal(h->done[1], 'd'), 0);
    tu_wait_ok(pid);
    tu_close(h->ready[0]);
    tu_close(h->done[1]);
}

static shmap_mapping *make(const char *name, uint32_t mode, const char *text)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    cfg.mode = mode;
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_create(name, &cfg, &m), 0);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    strcpy(v, text);
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    return m;
}

static void expect_text(shmap_mapping *m, const char *text)
{
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_CHECK(strcmp(v, text) == 0);
    TU_CHILD_RC(shmap_view_unmap(v), 0);
}

/* ---- Local\ is per user ------------------------------------------------------ */

static void a_makes_local(struct holder *h)
{
    h->state[0] = make("Local\\secret", 0666, "A's secret");
}

static void a_checks_local(struct holder *h)
{
    expect_text(h->state[0], "A's secret");
    TU_CHILD_RC(shmap_mapping_close(h->state[0]), 0);
}

static void b_looks_for_local(void *arg)
{
    (void)arg;
    become(USER_B);
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_open("Local\\secret", SHMAP_ACCESS_READ, &m), SHMAP_ENOENT);
    TU_CHILD_RC(shmap_mapping_open("secret", SHMAP_ACCESS_READ, &m), SHMAP_ENOENT);
    shmap_sync *s = NULL;
    TU_CHILD_RC(shmap_mutex_open("Local\\secret", &s), SHMAP_ENOENT);
    /* Its own object of the same name: new, zero-filled. */
    m = make("Local\\secret", 0666, "");
    expect_text(m, "");
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    strcpy(v, "B's own");
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_local_invisible_between_users(void **state)
{
    (void)state;
    share_store();
    struct holder h = {.act = a_makes_local, .finish = a_checks_local};
    pid_t a = holder_start(&h);
    int b = tu_wait_exit(tu_fork(b_looks_for_local, NULL));
    holder_end(&h, a);
    assert_int_equal(b, 0);
}

/* ---- Global\ modes, whatever the umask ------------------------------------------ */

static mode_t file_mode(const char *file)
{
    char ns[PATH_MAX], path[PATH_MAX + 64];
    TU_CHILD_RC(shmap_store_path(SHMAP_SCOPE_GLOBAL, ns, sizeof ns), 0);
    int n = snprintf(path, sizeof path, "%s/%s", ns, file);
    TU_CHILD_CHECK(n > 0 && (size_t)n < sizeof path);
    struct stat st;
    TU_CHILD_CHECK(stat(path, &st) == 0);
    return st.st_mode & 07777;
}

static void a_makes_global_modes(struct holder *h)
{
    umask(077);
    h->state[0] = make("Global\\u644", 0644, "644");
    h->state[1] = make("Global\\u666", 0666, "666");
    shmap_sync *s = NULL;
    TU_CHILD_RC(shmap_mutex_create("Global\\mx666", 0, 0666, &s), 0);
    h->state[2] = s;
    umask(0);
    h->state[3] = make("Global\\u600", 0600, "600");
    h->state[4] = make("Global\\u640", 0640, "640");
    TU_CHILD_RC(shmap_event_create("Global\\ev600", 0, 0600, &s), 0);
    h->state[5] = s;
    static const struct {
        const char *file;
        mode_t mode;
    } want[] = {{"u644", 0644}, {"u666", 0666}, {"mx666", 0666},
                {"u600", 0600}, {"u640", 0640}, {"ev600", 0600}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        mode_t got = file_mode(want[i].file);
        if (got != want[i].mode)
            fprintf(stderr, "Global\\%s: mode %04o, asked %04o\n", want[i].file, (unsigned)got,
                    (unsigned)want[i].mode);
        TU_CHILD_CHECK(got == want[i].mode);
    }
}

static void a_closes_all(struct holder *h)
{
    expect_text(h->state[1], "666 and B");
    TU_CHILD_RC(shmap_mapping_close(h->state[0]), 0);
    TU_CHILD_RC(shmap_mapping_close(h->state[1]), 0);
    TU_CHILD_RC(shmap_sync_close(h->state[2]), 0);
    TU_CHILD_RC(shmap_mapping_close(h->state[3]), 0);
    TU_CHILD_RC(shmap_mapping_close(h->state[4]), 0);
    TU_CHILD_RC(shmap_sync_close(h->state[5]), 0);
}

static void b_uses_global_modes(void *arg)
{
    (void)arg;
    become(USER_B);
    umask(0);
    shmap_mapping *m = NULL;
    shmap_sync *s = NULL;
    /* 0644: read only. */
    TU_CHILD_RC(shmap_mapping_open("Global\\u644", SHMAP_ACCESS_WRITE, &m), SHMAP_EACCES);
    TU_CHILD_RC(shmap_mapping_open("Global\\u644", SHMAP_ACCESS_READ, &m), 0);
    expect_text(m, "644");
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    /* 0666: read and write. */
    TU_CHILD_RC(shmap_mapping_open("Global\\u666", SHMAP_ACCESS_WRITE | SHMAP_ACCESS_READ, &m), 0);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    strcat(v, " and B");
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    TU_CHILD_RC(shmap_mutex_open("Global\\mx666", &s), 0);
    TU_CHILD_RC(shmap_wait(s, 0), 0);
    TU_CHILD_RC(shmap_mutex_release(s), 0);
    TU_CHILD_RC(shmap_sync_close(s), 0);
    /* 0600 made under umask 0: still nothing for B. */
    TU_CHILD_RC(shmap_mapping_open("Global\\u600", SHMAP_ACCESS_READ, &m), SHMAP_EACCES);
    TU_CHILD_RC(shmap_mapping_open("Global\\u640", SHMAP_ACCESS_READ, &m), SHMAP_EACCES);
    TU_CHILD_RC(shmap_event_open("Global\\ev600", &s), SHMAP_EACCES);
}

static void test_global_mode_whatever_the_umask(void **state)
{
    (void)state;
    share_store();
    root_makes_global();
    struct holder h = {.act = a_makes_global_modes, .finish = a_closes_all};
    pid_t a = holder_start(&h);
    int b = tu_wait_exit(tu_fork(b_uses_global_modes, NULL));
    holder_end(&h, a);
    assert_int_equal(b, 0);
}

/* ---- The last close by another user --------------------------------------------- */

static void a_makes_shared(struct holder *h)
{
    h->state[0] = make("Global\\shared", 0666, "A's");
}

static void a_closes_first(struct holder *h)
{
    TU_CHILD_RC(shmap_mapping_close(h->state[0]), 0);
}

struct last_close {
    int opened[2], a_gone[2];
};

/* B opens A's object, waits until A has closed, and closes last. */
static void b_closes_last(void *arg)
{
    struct last_close *lc = arg;
    become(USER_B);
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_open("Global\\shared", SHMAP_ACCESS_ALL, &m), 0);
    expect_text(m, "A's");
    TU_CHILD_CHECK(tu_pipe_signal(lc->opened[1], 'o') == 0);
    TU_CHILD_CHECK(tu_pipe_wait(lc->a_gone[0]) == 'g');
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_last_close_by_other_user_removes_name(void **state)
{
    (void)state;
    share_store();
    root_makes_global();
    struct holder h = {.act = a_makes_shared, .finish = a_closes_first};
    pid_t a = holder_start(&h);
    struct last_close lc;
    tu_pipe(lc.opened);
    tu_pipe(lc.a_gone);
    pid_t b = tu_fork(b_closes_last, &lc);
    assert_int_equal(tu_pipe_wait(lc.opened[0]), 'o');
    holder_end(&h, a); /* A closes: B holds the name alone now */
    assert_int_equal(tu_name_exists("Global\\shared"), 1);
    assert_int_equal(tu_pipe_signal(lc.a_gone[1], 'g'), 0);
    tu_wait_ok(b);
    for (int i = 0; i < 2; i++) {
        tu_close(lc.opened[i]);
        tu_close(lc.a_gone[i]);
    }
    /* B's close was the last: the name must be gone, not left behind. */
    char ns[PATH_MAX], path[PATH_MAX + 16];
    tu_ns_path(SHMAP_SCOPE_GLOBAL, ns, sizeof ns);
    snprintf(path, sizeof path, "%s/shared", ns);
    struct stat st;
    int left = lstat(path, &st) == 0;
    if (left)
        fail_msg("the last close (by uid %d) of a Global\\ object made by uid %d left its name "
                 "%s behind (owner %u, mode %04o)",
                 USER_B, USER_A, path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    /* And the name is free for anybody. */
    shmap_mapping *m = tu_create("Global\\shared", GRAN);
    assert_rc(shmap_mapping_close(m), 0);
}

/* A stale name left by another user must not block the name for others. */
static void a_makes_and_exits(void *arg)
{
    (void)arg;
    become(USER_A);
    make("Global\\orphan", 0666, "A's"); /* exits holding it: stale */
}

static void b_creates_orphaned_name(void *arg)
{
    (void)arg;
    become(USER_B);
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_create("Global\\orphan", &cfg, &m);
    if (rc != 0)
        fprintf(stderr, "create of a name another user's dead process left: %s\n", tu_errname(rc));
    TU_CHILD_RC(rc, 0);
    expect_text(m, "");
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void test_stale_name_of_other_user_does_not_block(void **state)
{
    (void)state;
    share_store();
    root_makes_global();
    tu_wait_ok(tu_fork(a_makes_and_exits, NULL));
    int status = tu_wait_exit(tu_fork(b_creates_orphaned_name, NULL));
    /* Clean up what A left either way (root may remove it). */
    assert_true(shmap_store_sweep(SHMAP_SCOPE_GLOBAL, 0, NULL, NULL) >= 0);
    assert_int_equal(status, 0);
}

/* ---- Who makes the global namespace ---------------------------------------------- */

static void a_first_global_user(void *arg)
{
    (void)arg;
    become(USER_A);
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    cfg.mode = 0666;
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_create("Global\\first", &cfg, &m);
    if (rc != 0)
        fprintf(stderr, "first Global\\ create by uid %d in root's store: %s\n", USER_A,
                tu_errname(rc));
    TU_CHILD_RC(rc, 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

static void b_second_global_user(void *arg)
{
    (void)arg;
    become(USER_B);
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_create("Global\\second", &cfg, &m);
    if (rc != 0)
        fprintf(stderr, "Global\\ create by uid %d after uid %d made the namespace: %s\n", USER_B,
                USER_A, tu_errname(rc));
    TU_CHILD_RC(rc, 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

/* The library made the store root as root (a system service used only
 * Local\ names first); the first user of Global\ is an ordinary user.
 * Global\ must work for that user and for everybody after. */
static void test_first_global_user_not_root(void **state)
{
    (void)state;
    share_store();
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s/system", tu_store_root());
    assert_int_equal(setenv("SHMAP_ROOT", root, 1), 0);
    assert_rc(shmap_mapping_close(tu_create("Local\\service", GRAN)), 0);
    struct stat st;
    assert_int_equal(stat(root, &st), 0);
    assert_int_equal(st.st_mode & 07777, 01777);
    int a = tu_wait_exit(tu_fork(a_first_global_user, NULL));
    int b = tu_wait_exit(tu_fork(b_second_global_user, NULL));
    assert_int_equal(setenv("SHMAP_ROOT", tu_store_root(), 1), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 0);
}

/* A user cannot plant the namespace of another: the victim refuses it
 * (a denial of service remains: see the report). */
static void b_finds_planted_namespace(void *arg)
{
    (void)arg;
    become(USER_B);
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_create("Local\\mine", &cfg, &m), SHMAP_ESTORE);
    TU_CHILD_CHECK(m == NULL);
}

static void a_plants_namespace(void *arg)
{
    (void)arg;
    become(USER_A);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/local-%d", tu_store_root(), USER_B);
    TU_CHILD_CHECK(mkdir(path, 0777) == 0);
    TU_CHILD_CHECK(chmod(path, 0777) == 0);
}

static void test_local_namespace_planted_by_other_user(void **state)
{
    (void)state;
    share_store();
    tu_wait_ok(tu_fork(a_plants_namespace, NULL));
    tu_wait_ok(tu_fork(b_finds_planted_namespace, NULL));
}

int main(void)
{
    if (getenv("SHMAP_TEST_FILTER"))
        cmocka_set_test_filter(getenv("SHMAP_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_local_invisible_between_users, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_global_mode_whatever_the_umask, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_last_close_by_other_user_removes_name, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_stale_name_of_other_user_does_not_block, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_first_global_user_not_root, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_local_namespace_planted_by_other_user, tu_setup,
                                        tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
