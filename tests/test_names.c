/* test_names.c - names: malformed, too long, opaque bytes, case, prefixes. */
#include "testutil.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *repeat(char *buf, const char *prefix, int c, size_t n)
{
    size_t p = strlen(prefix);
    memcpy(buf, prefix, p);
    memset(buf + p, c, n);
    buf[p + n] = '\0';
    return buf;
}

/* Each must fail, for create and open alike, and leave nothing. */
static void test_malformed_names(void **state)
{
    (void)state;
    static char a241[300], l241[300], g241[300], ff81[300], slash242[300];
    repeat(a241, "", 'a', SHMAP_NAME_MAX + 1);
    repeat(l241, "Local\\", 'a', SHMAP_NAME_MAX + 1);
    repeat(g241, "Global\\", 'a', SHMAP_NAME_MAX + 1);
    repeat(ff81, "", 0xff, SHMAP_NAME_MAX / 3 + 1); /* 3 bytes of budget each */
    strcat(repeat(slash242, "", 'a', SHMAP_NAME_MAX - 1), "/");
    const struct {
        const char *name;
        int want;
    } bad[] = {
        {"", SHMAP_EBADNAME},           {"Local\\", SHMAP_EBADNAME},
        {"Global\\", SHMAP_EBADNAME},   {"Local\\a\\b", SHMAP_EBADNAME},
        {"Global\\\\", SHMAP_EBADNAME}, {"Foo\\bar", SHMAP_EBADNAME}, /* unknown prefix */
        {"\\x", SHMAP_EBADNAME},        {"x\\", SHMAP_EBADNAME},
        {a241, SHMAP_ENAMETOOLONG},     {l241, SHMAP_ENAMETOOLONG},
        {g241, SHMAP_ENAMETOOLONG},     {ff81, SHMAP_ENAMETOOLONG},
        {slash242, SHMAP_ENAMETOOLONG},
    };
    shmap_mapping *m = NULL;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    struct tu_snap s;
    tu_snap_take(&s);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = shmap_mapping_create(bad[i].name, &cfg, &m);
        int rc2 = shmap_mapping_open(bad[i].name, SHMAP_ACCESS_ALL, &m);
        int rc3 = shmap_unlink(bad[i].name);
        if (rc != bad[i].want || rc2 != bad[i].want || rc3 != bad[i].want)
            fail_msg("name #%zu (%.20s...): create %s, open %s, unlink %s; want %s", i, bad[i].name,
                     tu_errname(rc), tu_errname(rc2), tu_errname(rc3), tu_errname(bad[i].want));
    }
    assert_null(m);
    tu_snap_check(&s);
}

/* Names that look like paths, escapes or junk: all valid, all distinct. */
static char long_a[SHMAP_NAME_MAX + 1], long_ff[SHMAP_NAME_MAX / 3 + 1];
static const char *opaque[] = {
    "..",         ".",           "/",
    "a/b",        "../../etc/x", "/etc/passwd",
    "a",          "b",           "a_b",
    "a%2Fb",      "%2F",         "%2f",
    "_2F",        "%252F",       "%2E",
    "%2E.",       "%2E%2E",      ".hidden",
    "-",          "--x",         "\x01\x02\x1f\x7f",
    "%01",        "\xff\xfe",    "\xc3\xa9t\xc3\xa9",
    "with space", "tab\there",   "nl\nnl",
    "*",          "?",           "x:y",
    "Name",       "name",        "NAME",
    long_a,       long_ff,
};
#define NOPAQUE (sizeof opaque / sizeof opaque[0])

static void child_reads_opaque(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < NOPAQUE; i++) {
        shmap_mapping *m = NULL;
        TU_CHILD_RC(shmap_mapping_open(opaque[i], SHMAP_ACCESS_READ, &m), 0);
        void *p = NULL;
        TU_CHILD_RC(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, &p), 0);
        TU_CHILD_CHECK(*(size_t *)p == i + 1);
        TU_CHILD_RC(shmap_view_unmap(p), 0);
        TU_CHILD_RC(shmap_mapping_close(m), 0);
    }
}

/* Every entry below DIR is a directory "local-UID" or "global" holding
 * only files: no name became a path of its own. */
static void assert_store_flat(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strncmp(e->d_name, "local-", 6) != 0 && strcmp(e->d_name, "global") != 0)
            fail_msg("unexpected entry %s in SHMAP_ROOT", e->d_name);
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *n = opendir(sub);
        assert_non_null(n);
        struct dirent *f;
        while ((f = readdir(n)) != NULL)
            if (f->d_type == DT_DIR && strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
                fail_msg("a name made the directory %s/%s", sub, f->d_name);
        closedir(n);
    }
    closedir(d);
}

/* Names in DIR, as one string ("/a/b/c/") for comparing. */
static char *list_dir(const char *dir)
{
    static char out[65536];
    strcpy(out, "/");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strlen(out) + strlen(e->d_name) + 2 < sizeof out) {
            strcat(out, e->d_name);
            strcat(out, "/");
        }
    }
    closedir(d);
    return strdup(out);
}

/* Nothing new in /dev/shm but other tests' store directories. */
static void assert_dev_shm_clean(const char *before)
{
    DIR *d = opendir("/dev/shm");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char key[300];
        snprintf(key, sizeof key, "/%s/", e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strncmp(e->d_name, "shmap-test-", 11) == 0)
            continue;
        if (!strstr(before, key))
            fail_msg("/dev/shm/%s appeared during the test", e->d_name);
    }
    closedir(d);
}

static int list_cb(const shmap_object_info *o, void *arg)
{
    int *seen = arg;
    for (size_t i = 0; i < NOPAQUE; i++)
        if (strncmp(o->name, "Local\\", 6) == 0 && strcmp(o->name + 6, opaque[i]) == 0)
            seen[i]++;
    return 0;
}

static void test_opaque_names(void **state)
{
    (void)state;
    repeat(long_a, "", 'a', SHMAP_NAME_MAX);
    repeat(long_ff, "", 0xff, SHMAP_NAME_MAX / 3);
    char *shm_before = list_dir("/dev/shm");
    char *top_before = list_dir(tu_store_top());
    struct stat st;
    int etc_x = stat("/etc/x", &st) == 0;

    shmap_mapping *m[NOPAQUE];
    for (size_t i = 0; i < NOPAQUE; i++) {
        /* 0 every time: no two of these names are one object. */
        m[i] = tu_create(opaque[i], GRAN);
        size_t *p = tu_map(m[i], SHMAP_ACCESS_WRITE, 0, 0);
        *p = i + 1;
        assert_rc(shmap_view_unmap(p), 0);
        shmap_mapping_info info;
        tu_info(m[i], &info);
        char want[SHMAP_NAME_BUF];
        snprintf(want, sizeof want, "Local\\%s", opaque[i]);
        assert_string_equal(info.name, want);
    }
    tu_wait_ok(tu_fork(child_reads_opaque, NULL));
    assert_store_flat(tu_store_root());
    assert_int_equal(tu_ns_count(SHMAP_SCOPE_LOCAL, 1), NOPAQUE);

    /* Listing reports each name as given, once. */
    int seen[NOPAQUE] = {0};
    assert_rc(shmap_store_list(SHMAP_SCOPE_LOCAL, list_cb, seen), 0);
    for (size_t i = 0; i < NOPAQUE; i++)
        if (seen[i] != 1)
            fail_msg("shmap_store_list reported name #%zu %d times", i, seen[i]);
    for (size_t i = 0; i < NOPAQUE; i++)
        assert_rc(shmap_mapping_close(m[i]), 0);

    assert_int_equal(stat("/etc/x", &st) == 0, etc_x);
    char *top_after = list_dir(tu_store_top());
    assert_string_equal(top_after, top_before); /* SHMAP_ROOT's parent */
    assert_dev_shm_clean(shm_before);
    free(shm_before);
    free(top_before);
    free(top_after);
}

/* "x" is "Local\x"; "Global\x" is another object; case matters. */
static void test_prefixes_and_case(void **state)
{
    (void)state;
    shmap_mapping *bare = tu_create("x", GRAN);
    int *b = tu_map(bare, SHMAP_ACCESS_WRITE, 0, 0);
    *b = 1;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = GRAN;
    shmap_mapping *local = tu_create_cfg("Local\\x", &cfg, SHMAP_EXISTED);
    int *l = tu_map(local, SHMAP_ACCESS_READ, 0, 0);
    assert_int_equal(*l, 1);
    shmap_mapping_info info;
    tu_info(bare, &info);
    assert_string_equal(info.name, "Local\\x");

    shmap_mapping *global = NULL;
    assert_rc(shmap_mapping_open("Global\\x", SHMAP_ACCESS_ALL, &global), SHMAP_ENOENT);
    global = tu_create("Global\\x", GRAN);
    int *g = tu_map(global, SHMAP_ACCESS_READ, 0, 0);
    assert_int_equal(*g, 0);
    /* Prefixes are exact: these are bare names with a '\' in them. */
    assert_rc(shmap_mapping_open("local\\x", SHMAP_ACCESS_ALL, &global), SHMAP_EBADNAME);
    assert_rc(shmap_mapping_open("GLOBAL\\x", SHMAP_ACCESS_ALL, &global), SHMAP_EBADNAME);
    assert_rc(shmap_mapping_open("X", SHMAP_ACCESS_ALL, &global), SHMAP_ENOENT);
    assert_rc(shmap_mapping_open("Local\\X", SHMAP_ACCESS_ALL, &global), SHMAP_ENOENT);

    assert_rc(shmap_view_unmap(g), 0);
    assert_rc(shmap_view_unmap(l), 0);
    assert_rc(shmap_view_unmap(b), 0);
    assert_rc(shmap_mapping_close(global), 0);
    assert_rc(shmap_mapping_close(local), 0);
    assert_int_equal(tu_name_exists("x"), 1);
    assert_rc(shmap_mapping_close(bare), 0);
    assert_int_equal(tu_name_exists("Local\\x"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_malformed_names, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_opaque_names, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_prefixes_and_case, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
