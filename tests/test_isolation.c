/* test_isolation.c - users: Local\ is per user, Global\ obeys its mode. */
/* Needs root, to act as a second user (skips otherwise). */
#include "testutil.h"

#include <grp.h>
#include <string.h>
#include <sys/stat.h>

#define OTHER_UID 65534 /* nobody */

/* The store shared by two users: traversable top, sticky world-writable
 * root (the mode a system-wide store has). */
static void share_store(void)
{
    if (geteuid() != 0) {
        print_message("SKIP: needs root to act as a second user (uid %d)\n", (int)geteuid());
        skip();
    }
    assert_int_equal(chmod(tu_store_top(), 0755), 0);
    assert_int_equal(chmod(tu_store_root(), 01777), 0);
}

static void become_other_user(void)
{
    TU_CHILD_CHECK(setgroups(0, NULL) == 0);
    TU_CHILD_CHECK(setgid(OTHER_UID) == 0);
    TU_CHILD_CHECK(setuid(OTHER_UID) == 0);
    TU_CHILD_CHECK(geteuid() == OTHER_UID);
}

static shmap_mapping *create_mode(const char *name, uint32_t mode, const char *text)
{
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    cfg.mode = mode;
    shmap_mapping *m = tu_create_cfg(name, &cfg, 0);
    char *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    strcpy(v, text);
    assert_rc(shmap_view_unmap(v), 0);
    return m;
}

static void child_local(void *arg)
{
    (void)arg;
    become_other_user();
    shmap_mapping *m = NULL;
    /* Root's Local\secret is not in this user's namespace. */
    TU_CHILD_RC(shmap_mapping_open("Local\\secret", SHMAP_ACCESS_READ, &m), SHMAP_ENOENT);
    TU_CHILD_RC(shmap_mapping_open("secret", SHMAP_ACCESS_READ, &m), SHMAP_ENOENT);
    /* Creating the same name makes this user's own, fresh object. */
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    TU_CHILD_RC(shmap_mapping_create("Local\\secret", &cfg, &m), 0);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_CHECK(v[0] == 0);
    strcpy(v, "nobody's");
    shmap_mapping_info info;
    TU_CHILD_RC(shmap_mapping_query(m, &info), 0);
    TU_CHILD_CHECK(info.owner_uid == OTHER_UID);
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    /* Nor does this user's list show root's names. */
    char path[4096];
    TU_CHILD_RC(shmap_store_path(SHMAP_SCOPE_LOCAL, path, sizeof path), 0);
    TU_CHILD_CHECK(strstr(path, "65534") != NULL);
}

static void test_local_is_per_user(void **state)
{
    (void)state;
    share_store();
    shmap_mapping *m = create_mode("Local\\secret", 0666, "root's secret");
    tu_wait_ok(tu_fork(child_local, NULL));
    /* Root's object is unchanged. */
    char *v = tu_map(m, SHMAP_ACCESS_READ, 0, 0);
    assert_string_equal(v, "root's secret");
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

static void child_global(void *arg)
{
    (void)arg;
    become_other_user();
    shmap_mapping *m = NULL;
    int fds = tu_count_fds();
    /* 0600: nothing at all, not even by create. */
    TU_CHILD_RC(shmap_mapping_open("Global\\g600", SHMAP_ACCESS_READ, &m), SHMAP_EACCES);
    TU_CHILD_RC(shmap_mapping_open("Global\\g600", SHMAP_ACCESS_ALL, &m), SHMAP_EACCES);
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    TU_CHILD_RC(shmap_mapping_create("Global\\g600", &cfg, &m), SHMAP_EACCES);
    TU_CHILD_CHECK(m == NULL);
    /* But any user may end a Global\ name (so that whoever closes last
     * can): the name goes, root's handle and memory stay. */
    TU_CHILD_RC(shmap_unlink("Global\\g600"), 0);

    /* 0644: reading only. */
    TU_CHILD_RC(shmap_mapping_open("Global\\g644", SHMAP_ACCESS_WRITE, &m), SHMAP_EACCES);
    TU_CHILD_RC(shmap_mapping_open("Global\\g644", SHMAP_ACCESS_ALL, &m), 0);
    char *v = NULL;
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), SHMAP_EACCES);
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_CHECK(strcmp(v, "root's 644") == 0);
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);

    /* 0666: reading and writing, seen by root. */
    TU_CHILD_RC(shmap_mapping_open("Global\\g666", SHMAP_ACCESS_ALL, &m), 0);
    TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v), 0);
    TU_CHILD_CHECK(strcmp(v, "root's 666") == 0);
    strcpy(v + 100, "written by nobody");
    TU_CHILD_RC(shmap_view_unmap(v), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
    /* The refusals kept no descriptor (beyond the namespace directory). */
    TU_CHILD_CHECK(tu_count_fds() <= fds + 1);
}

static void test_global_obeys_mode(void **state)
{
    (void)state;
    share_store();
    shmap_mapping *g600 = create_mode("Global\\g600", 0600, "root's 600");
    shmap_mapping *g644 = create_mode("Global\\g644", 0644, "root's 644");
    shmap_mapping *g666 = create_mode("Global\\g666", 0666, "root's 666");
    tu_wait_ok(tu_fork(child_global, NULL));
    char *v = tu_map(g666, SHMAP_ACCESS_READ, 0, 0);
    assert_string_equal(v + 100, "written by nobody");
    assert_rc(shmap_view_unmap(v), 0);
    assert_int_equal(tu_name_exists("Global\\g600"), 0); /* removed by the other user */
    v = tu_map(g600, SHMAP_ACCESS_READ, 0, 0);
    assert_string_equal(v, "root's 600"); /* the object lives on */
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(g600), 0);
    assert_rc(shmap_mapping_close(g644), 0);
    assert_rc(shmap_mapping_close(g666), 0);
}

static void child_opens_global(void *arg)
{
    (void)arg;
    become_other_user();
    shmap_mapping *m = NULL;
    TU_CHILD_RC(shmap_mapping_open("Global\\shared", SHMAP_ACCESS_READ, &m), 0);
    TU_CHILD_RC(shmap_mapping_close(m), 0);
}

/* SHMAP_ROOT's parent may be searchable without being readable (a home
 * directory of mode 0711): the store must still work for other users. */
static void test_parent_searchable_only(void **state)
{
    (void)state;
    share_store();
    assert_int_equal(chmod(tu_store_top(), 0711), 0);
    shmap_mapping *m = create_mode("Global\\shared", 0644, "shared");
    tu_wait_ok(tu_fork(child_opens_global, NULL));
    assert_rc(shmap_mapping_close(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_local_is_per_user, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_global_obeys_mode, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_parent_searchable_only, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
