/* test_errors.c - error texts and names; SHMAP_EINVAL for bad arguments. */
#include "testutil.h"

#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#define CODE(c)                                                                                    \
    {                                                                                              \
        c, #c                                                                                      \
    }
static const struct {
    int code;
    const char *name;
} codes[] = {
    CODE(SHMAP_EXISTED),    CODE(SHMAP_OK),           CODE(SHMAP_EINVAL),     CODE(SHMAP_ENOENT),
    CODE(SHMAP_ETYPE),      CODE(SHMAP_EACCES),       CODE(SHMAP_EALIGN),     CODE(SHMAP_ENOTVIEW),
    CODE(SHMAP_EBADNAME),   CODE(SHMAP_ENAMETOOLONG), CODE(SHMAP_ENOMEM),     CODE(SHMAP_ENOSPC),
    CODE(SHMAP_EFILEEMPTY), CODE(SHMAP_ERANGE),       CODE(SHMAP_EADDRINUSE), CODE(SHMAP_ESTORE),
    CODE(SHMAP_ECORRUPT),   CODE(SHMAP_ENOHUGE),      CODE(SHMAP_EEXIST),     CODE(SHMAP_EMFILE),
    CODE(SHMAP_EBUSY),      CODE(SHMAP_EIO),          CODE(SHMAP_ENOTSUP),
#ifdef SHMAP_ABANDONED /* codes of the synchronization objects */
    CODE(SHMAP_ABANDONED),
#endif
#ifdef SHMAP_ENOTOWNER
    CODE(SHMAP_ENOTOWNER),
#endif
#ifdef SHMAP_ETIMEDOUT
    CODE(SHMAP_ETIMEDOUT),
#endif
};
#define NCODES (sizeof codes / sizeof codes[0])

static const int unknown_codes[] = {99, -99, -1000, 1000, INT_MIN, INT_MAX};

/* Every known code has its own non-empty text, unlike the unknown ones. */
static void test_strerror_distinct(void **state)
{
    (void)state;
    const char *unknown = shmap_strerror(-1000);
    assert_non_null(unknown);
    assert_true(unknown[0] != '\0');
    for (size_t i = 0; i < NCODES; i++) {
        const char *t = shmap_strerror(codes[i].code);
        assert_non_null(t);
        if (t[0] == '\0' || strcmp(t, unknown) == 0)
            fail_msg("%s has no text of its own: \"%s\"", codes[i].name, t);
        for (size_t j = 0; j < i; j++)
            if (strcmp(t, shmap_strerror(codes[j].code)) == 0)
                fail_msg("%s and %s share the text \"%s\"", codes[i].name, codes[j].name, t);
    }
    for (size_t i = 0; i < sizeof unknown_codes / sizeof unknown_codes[0]; i++) {
        const char *t = shmap_strerror(unknown_codes[i]);
        assert_non_null(t);
        assert_true(t[0] != '\0');
    }
}

/* shmap_errname gives the macro's own spelling, and NULL for the rest. */
static void test_errname_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        const char *n = shmap_errname(codes[i].code);
        if (!n || strcmp(n, codes[i].name) != 0)
            fail_msg("shmap_errname(%d) = %s, want %s", codes[i].code, n ? n : "NULL",
                     codes[i].name);
    }
    for (size_t i = 0; i < sizeof unknown_codes / sizeof unknown_codes[0]; i++)
        if (shmap_errname(unknown_codes[i]) != NULL)
            fail_msg("shmap_errname(%d) = %s, want NULL", unknown_codes[i],
                     shmap_errname(unknown_codes[i]));
}

/* Bad configurations: each is SHMAP_EINVAL and leaves nothing behind. */
static void test_create_invalid(void **state)
{
    (void)state;
    shmap_mapping *m = NULL;
    shmap_mapping_config good = SHMAP_MAPPING_CONFIG_INIT;
    good.size = GRAN;
    struct tu_snap s;
    tu_snap_take(&s);

    assert_rc(shmap_mapping_create("x", NULL, &m), SHMAP_EINVAL);
    assert_rc(shmap_mapping_create("x", &good, NULL), SHMAP_EINVAL);
    assert_rc(shmap_mapping_create(NULL, &good, NULL), SHMAP_EINVAL);

    struct {
        const char *why;
        shmap_mapping_config cfg;
    } bad[] = {
        {"size 0 without a file", {0, -1, SHMAP_PROT_READWRITE, 0, 0600}},
        {"protection 0", {GRAN, -1, 0, 0, 0600}},
        {"protection 7", {GRAN, -1, 7, 0, 0600}},
        {"protection ~0", {GRAN, -1, ~0u, 0, 0600}},
        {"unknown flag 0x8", {GRAN, -1, SHMAP_PROT_READWRITE, 0x8, 0600}},
        {"unknown flag 0x80000000", {GRAN, -1, SHMAP_PROT_READWRITE, 0x80000000u, 0600}},
        {"mode 01000", {GRAN, -1, SHMAP_PROT_READWRITE, 0, 01000}},
        {"mode 04755", {GRAN, -1, SHMAP_PROT_READWRITE, 0, 04755}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int named = 0; named < 2; named++) {
            int rc = shmap_mapping_create(named ? "x" : NULL, &bad[i].cfg, &m);
            if (rc != SHMAP_EINVAL)
                fail_msg("%s (%s): got %s, want SHMAP_EINVAL", bad[i].why,
                         named ? "named" : "unnamed", tu_errname(rc));
        }
    }
    assert_null(m); /* *out untouched on failure */
    tu_snap_check(&s);
}

/* Open, close, info, sync with NULL or invalid arguments. */
static void test_handle_calls_invalid(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create("h", GRAN);
    shmap_mapping *o = NULL;
    shmap_mapping_info info;
    struct tu_snap s;
    tu_snap_take(&s);

    assert_rc(shmap_mapping_open(NULL, SHMAP_ACCESS_ALL, &o), SHMAP_EINVAL);
    assert_rc(shmap_mapping_open("h", SHMAP_ACCESS_ALL, NULL), SHMAP_EINVAL);
    assert_rc(shmap_mapping_open("h", 0, &o), SHMAP_EINVAL);
    assert_rc(shmap_mapping_open("h", 0x10, &o), SHMAP_EINVAL);
    assert_rc(shmap_mapping_open("h", SHMAP_ACCESS_READ | 0x100, &o), SHMAP_EINVAL);
    assert_null(o);
    assert_rc(shmap_mapping_close(NULL), SHMAP_EINVAL);
    assert_rc(shmap_mapping_query(NULL, &info), SHMAP_EINVAL);
    assert_rc(shmap_mapping_query(m, NULL), SHMAP_EINVAL);
    assert_rc(shmap_mapping_sync(NULL), SHMAP_EINVAL);
    tu_snap_check(&s);
    assert_rc(shmap_mapping_close(m), 0);
}

/* Send, receive, export, import with NULL or invalid arguments. */
static void test_sharing_calls_invalid(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, GRAN);
    shmap_mapping *o = NULL;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    int fd = -7;
    struct tu_snap s;
    tu_snap_take(&s);

    assert_rc(shmap_mapping_send(NULL, sv[0]), SHMAP_EINVAL);
    assert_rc(shmap_mapping_send(m, -1), SHMAP_EINVAL);
    assert_rc(shmap_mapping_recv(-1, SHMAP_ACCESS_ALL, &o), SHMAP_EINVAL);
    assert_rc(shmap_mapping_recv(sv[1], SHMAP_ACCESS_ALL, NULL), SHMAP_EINVAL);
    assert_rc(shmap_mapping_recv(sv[1], 0x100, &o), SHMAP_EINVAL);
    assert_rc(shmap_mapping_export_fd(NULL, &fd), SHMAP_EINVAL);
    assert_rc(shmap_mapping_export_fd(m, NULL), SHMAP_EINVAL);
    assert_int_equal(fd, -7);
    assert_rc(shmap_mapping_import_fd(-1, SHMAP_ACCESS_ALL, &o), SHMAP_EINVAL);
    assert_rc(shmap_mapping_import_fd(sv[0], SHMAP_ACCESS_ALL, NULL), SHMAP_EINVAL);
    assert_null(o);
    tu_snap_check(&s);
    close(sv[0]);
    close(sv[1]);
    assert_rc(shmap_mapping_close(m), 0);
}

/* View calls with NULL or invalid arguments. */
static void test_view_calls_invalid(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 2 * GRAN);
    void *p = NULL;
    shmap_view_info vi;
    struct tu_snap s;
    tu_snap_take(&s);

    assert_rc(shmap_view_map(NULL, SHMAP_ACCESS_READ, 0, 0, NULL, &p), SHMAP_EINVAL);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, 0, NULL, NULL), SHMAP_EINVAL);
    assert_rc(shmap_view_map(m, 0, 0, 0, NULL, &p), SHMAP_EINVAL);
    assert_rc(shmap_view_map(m, 0x10, 0, 0, NULL, &p), SHMAP_EINVAL);
    /* EXECUTE alone names no view kind (and this object is not executable). */
    int rc = shmap_view_map(m, SHMAP_ACCESS_EXECUTE, 0, 0, NULL, &p);
    if (rc != SHMAP_EINVAL && rc != SHMAP_EACCES)
        fail_msg("view of access EXECUTE alone: %s", tu_errname(rc));
    assert_null(p);
    tu_snap_check(&s);

    void *v = tu_map(m, SHMAP_ACCESS_WRITE, 0, 0);
    assert_rc(shmap_view_query(v, NULL), SHMAP_EINVAL);
    /* NULL is an address inside no view: SHMAP_ENOTVIEW (the header's only
     * error for unmap and flush) or SHMAP_EINVAL; either is an answer, a
     * crash is not. */
    rc = shmap_view_query(NULL, &vi);
    if (rc != SHMAP_EINVAL && rc != SHMAP_ENOTVIEW)
        fail_msg("shmap_view_query(NULL): %s", tu_errname(rc));
    rc = shmap_view_unmap(NULL);
    if (rc != SHMAP_EINVAL && rc != SHMAP_ENOTVIEW)
        fail_msg("shmap_view_unmap(NULL): %s", tu_errname(rc));
    rc = shmap_view_flush(NULL, 0);
    if (rc != SHMAP_EINVAL && rc != SHMAP_ENOTVIEW)
        fail_msg("shmap_view_flush(NULL, 0): %s", tu_errname(rc));
    assert_rc(shmap_view_unmap(v), 0);
    assert_rc(shmap_mapping_close(m), 0);
}

static int count_cb(const shmap_object_info *o, void *arg)
{
    (void)o;
    ++*(int *)arg;
    return 0;
}

/* Store calls with invalid scopes, flags, buffers. */
static void test_store_calls_invalid(void **state)
{
    (void)state;
    char buf[4096];
    struct tu_snap s;
    tu_snap_take(&s);

    assert_rc(shmap_unlink(NULL), SHMAP_EINVAL);
    assert_rc(shmap_store_sweep(0, 0, NULL, NULL), SHMAP_EINVAL);
    assert_rc(shmap_store_sweep(3, 0, NULL, NULL), SHMAP_EINVAL);
    assert_rc(shmap_store_sweep(SHMAP_SCOPE_LOCAL, 0x80, NULL, NULL), SHMAP_EINVAL);
    int n = 0;
    assert_rc(shmap_store_list(0, count_cb, &n), SHMAP_EINVAL);
    assert_rc(shmap_store_list(7, count_cb, &n), SHMAP_EINVAL);
    assert_rc(shmap_store_list(SHMAP_SCOPE_LOCAL, NULL, NULL), SHMAP_EINVAL);
    assert_int_equal(n, 0);
    assert_rc(shmap_store_path(0, buf, sizeof buf), SHMAP_EINVAL);
    assert_rc(shmap_store_path(SHMAP_SCOPE_LOCAL, NULL, sizeof buf), SHMAP_EINVAL);
    assert_rc(shmap_store_path(SHMAP_SCOPE_LOCAL, buf, 1), SHMAP_ERANGE);
    tu_snap_check(&s);

    /* The path is inside SHMAP_ROOT. */
    assert_rc(shmap_store_path(SHMAP_SCOPE_GLOBAL, buf, sizeof buf), 0);
    assert_memory_equal(buf, tu_store_root(), strlen(tu_store_root()));
    assert_int_equal(buf[strlen(tu_store_root())], '/');
}

/* Calls that look valid but point past the object or the address space. */
static void test_out_of_range_values(void **state)
{
    (void)state;
    shmap_mapping *m = tu_create(NULL, 2 * GRAN);
    void *p = NULL;
    struct tu_snap s;
    tu_snap_take(&s);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, 0, SIZE_MAX, NULL, &p), SHMAP_ERANGE);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, UINT64_MAX - GRAN + 1, GRAN, NULL, &p),
              SHMAP_ERANGE);
    assert_rc(shmap_view_map(m, SHMAP_ACCESS_READ, GRAN, SIZE_MAX - GRAN + 2, NULL, &p),
              SHMAP_ERANGE);
    assert_null(p);
    /* An absurd committed size cannot be had: it fails and leaves nothing. */
    shmap_mapping *big = NULL;
    shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
    cfg.size = UINT64_MAX;
    int rc = shmap_mapping_create("huge", &cfg, &big);
    if (rc >= 0)
        fail_msg("a mapping of UINT64_MAX bytes was created (%s)", tu_errname(rc));
    assert_null(big);
    tu_snap_check(&s);
    assert_rc(shmap_mapping_close(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_distinct),
        cmocka_unit_test(test_errname_exact),
        cmocka_unit_test_setup_teardown(test_create_invalid, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_handle_calls_invalid, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sharing_calls_invalid, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_view_calls_invalid, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_store_calls_invalid, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_values, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
