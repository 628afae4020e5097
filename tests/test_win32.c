/* test_win32.c - the Win32 compatibility layer's file mappings and handles:
 * the last-error code of every row of the error table (created, existed,
 * type clash, missing, access, alignment, not a view, bad parameter),
 * handles that are not one (garbage, closed, of the wrong type) failing
 * with ERROR_INVALID_HANDLE, GetLastError per thread, GetSystemInfo, the
 * lifetime rules through this API, DuplicateHandle, handles inherited by a
 * fork+exec'd program (tests/helper_win32_child.c), and the descriptor
 * bridge shmap_win32_handle_from_fd / shmap_win32_fd_from_handle.
 * Synchronization objects are tested in test_win32_sync.c, files and
 * file-backed mappings in test_win32_file.c. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "shmap/win32.h"

/* ---- Helpers ---------------------------------------------------------------- */

/* Asserts that the calling thread's last error is WANT. */
#define assert_last_error(want) assert_int_equal(GetLastError(), (want))

/* A new memory-backed read-write mapping of SIZE bytes (NAME may be NULL);
 * asserts it was created (last error 0). */
static HANDLE map_create(const char *name, DWORD size)
{
    SetLastError(12345);
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, size, name);
    assert_non_null(h);
    assert_last_error(ERROR_SUCCESS);
    return h;
}

static void *map_view(HANDLE h, DWORD access)
{
    void *v = MapViewOfFile(h, access, 0, 0, 0);
    assert_non_null(v);
    return v;
}

static void close_ok(HANDLE h)
{
    assert_true(CloseHandle(h));
}

static void unmap_ok(const void *v)
{
    assert_true(UnmapViewOfFile(v));
}

/* Writes a handle's value as Windows programs pass it to a child. */
static const char *handle_str(HANDLE h, char buf[32])
{
    snprintf(buf, 32, "%llu", (unsigned long long)(uintptr_t)h);
    return buf;
}

/* fork+execs tests/helper_win32_child with the NULL-terminated arguments
 * after ARG0; the descriptors of KEEP (NKEEP of them) stay open across
 * exec, as do the handles the caller made inheritable.  Returns the pid. */
static pid_t helper_start(const int *keep, size_t nkeep, const char *arg0, ...)
{
    char path[4096];
    if (!tu_helper_path("helper_win32_child", path, sizeof path))
        fail_msg("helper_win32_child not found (SHMAP_TEST_BIN_DIR?)");
    char *argv[64] = {path};
    size_t argc = 1;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
        if (argc == 63)
            fail_msg("helper_start: too many arguments");
        argv[argc++] = (char *)a;
    }
    va_end(ap);
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (size_t i = 0; i < nkeep; i++)
            fcntl(keep[i], F_SETFD, 0);
        execv(path, argv);
        _exit(127);
    }
    return pid;
}

/* ---- The error table --------------------------------------------------- */

/* Created: the last error is 0 (also after an earlier failure set it). */
static void test_created_sets_zero(void **state)
{
    (void)state;
    HANDLE named = map_create("Local\\created", 65536);
    HANDLE bare = map_create("created-bare", 100000);
    HANDLE unnamed = map_create(NULL, 4096);
    SetLastError(ERROR_FILE_NOT_FOUND);
    HANDLE wide = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, 4096,
                                     u"Local\\created-wide");
    assert_non_null(wide);
    assert_last_error(ERROR_SUCCESS);
    /* Handles are distinct, multiples of 4, never NULL or INVALID_HANDLE_VALUE. */
    HANDLE all[] = {named, bare, unnamed, wide};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal((uintptr_t)all[i] % 4, 0);
        assert_true(all[i] != INVALID_HANDLE_VALUE);
        for (size_t j = 0; j < i; j++)
            assert_true(all[i] != all[j]);
    }
    /* A new object is zero-filled. */
    const unsigned char *v = map_view(bare, FILE_MAP_READ);
    for (size_t i = 0; i < 100000; i++)
        if (v[i] != 0)
            fail_msg("byte %zu of a new mapping is %u", i, v[i]);
    unmap_ok(v);
    for (size_t i = 0; i < 4; i++)
        close_ok(all[i]);
}

/* Existed: 183, a new handle to the existing object with its own size. */
static void test_existed_183(void **state)
{
    (void)state;
    HANDLE a = map_create("Local\\existed", 65536);
    char *va = map_view(a, FILE_MAP_WRITE);
    strcpy(va + 65536 - 16, "first");

    SetLastError(0);
    HANDLE b = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4 * 65536,
                                  "Local\\existed");
    assert_non_null(b);
    assert_last_error(ERROR_ALREADY_EXISTS);
    assert_true(a != b);
    /* The existing size, not the one asked for: a view of 4 * 64 KiB is
     * beyond its end. */
    assert_null(MapViewOfFile(b, FILE_MAP_READ, 0, 0, 4 * 65536));
    assert_last_error(ERROR_ACCESS_DENIED);
    char *vb = map_view(b, FILE_MAP_WRITE);
    assert_string_equal(vb + 65536 - 16, "first");
    strcpy(vb, "second");
    assert_string_equal(va, "second"); /* the same pages */

    /* Through the wide name too, and with the bare name of Local\. */
    HANDLE c = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 1, u"existed");
    assert_non_null(c);
    assert_last_error(ERROR_ALREADY_EXISTS);
    /* Open never says "existed": it only opens. */
    SetLastError(77);
    HANDLE d = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\existed");
    assert_non_null(d);
    assert_last_error(ERROR_SUCCESS);
    unmap_ok(va);
    unmap_ok(vb);
    close_ok(a);
    close_ok(b);
    close_ok(c);
    close_ok(d);
}

/* Type clash: a name held by an object of another type is an invalid
 * handle, both ways, and leaves nothing behind. */
static void test_type_clash_6(void **state)
{
    (void)state;
    struct tu_snap s;
    tu_snap_take(&s);
    HANDLE map = map_create("Local\\clash-map", 4096);
    HANDLE mutex = CreateMutexA(NULL, FALSE, "Local\\clash-mutex");
    assert_non_null(mutex);

    SetLastError(0);
    assert_null(CreateMutexA(NULL, FALSE, "Local\\clash-map"));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(CreateEventA(NULL, TRUE, FALSE, "Local\\clash-map"));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(CreateSemaphoreA(NULL, 0, 1, "Local\\clash-map"));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(OpenMutexA(SYNCHRONIZE, FALSE, "Local\\clash-map"));
    assert_last_error(ERROR_INVALID_HANDLE);

    SetLastError(0);
    assert_null(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096,
                                   "Local\\clash-mutex"));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096,
                                   u"Local\\clash-mutex"));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\clash-mutex"));
    assert_last_error(ERROR_INVALID_HANDLE);

    close_ok(map);
    close_ok(mutex);
    tu_snap_check(&s);
}

/* Missing: open of an absent name is ERROR_FILE_NOT_FOUND and creates
 * nothing. */
static void test_missing_2(void **state)
{
    (void)state;
    struct tu_snap s;
    tu_snap_take(&s);
    static const char *names[] = {"Local\\absent", "absent", "Global\\absent"};
    for (size_t i = 0; i < 3; i++) {
        SetLastError(0);
        assert_null(OpenFileMappingA(FILE_MAP_READ, FALSE, names[i]));
        assert_last_error(ERROR_FILE_NOT_FOUND);
        SetLastError(0);
        assert_null(OpenFileMappingA(FILE_MAP_ALL_ACCESS, TRUE, names[i]));
        assert_last_error(ERROR_FILE_NOT_FOUND);
    }
    SetLastError(0);
    assert_null(OpenFileMappingW(FILE_MAP_READ, FALSE, u"Local\\absent"));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    tu_snap_check(&s);
    assert_int_equal(tu_store_count(), 0);
    /* Nobody created it: a create now creates. */
    close_ok(map_create("Local\\absent", 4096));
}

/* Access: a handle's access bounds its views, the object's protection
 * bounds its handles. */
static void test_access_denied_5(void **state)
{
    (void)state;
    HANDLE rw = map_create("Local\\acc", 65536);
    char *w = map_view(rw, FILE_MAP_WRITE);
    strcpy(w, "data");

    HANDLE ro = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\acc");
    assert_non_null(ro);
    SetLastError(0);
    assert_null(MapViewOfFile(ro, FILE_MAP_WRITE, 0, 0, 0));
    assert_last_error(ERROR_ACCESS_DENIED);
    SetLastError(0);
    assert_null(MapViewOfFile(ro, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0));
    assert_last_error(ERROR_ACCESS_DENIED);
    /* What it may: read, and copy-on-write (private) views. */
    const char *r = map_view(ro, FILE_MAP_READ);
    assert_string_equal(r, "data");
    char *cow = map_view(ro, FILE_MAP_COPY);
    strcpy(cow, "mine");
    assert_string_equal(r, "data");
    assert_string_equal(w, "data");
    unmap_ok(cow);
    unmap_ok(r);

    /* A view beyond the end of the object is refused as access denied. */
    SetLastError(0);
    assert_null(MapViewOfFile(rw, FILE_MAP_READ, 0, 0, 65536 + 1));
    assert_last_error(ERROR_ACCESS_DENIED);
    SetLastError(0);
    assert_null(MapViewOfFile(rw, FILE_MAP_READ, 0, 65536, 0));
    assert_last_error(ERROR_ACCESS_DENIED);

    /* A read-only object: no write view, not even through its creator's
     * handle, and no write handle. */
    HANDLE robj =
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, 4096, "Local\\acc-ro");
    assert_non_null(robj);
    SetLastError(0);
    assert_null(MapViewOfFile(robj, FILE_MAP_WRITE, 0, 0, 0));
    assert_last_error(ERROR_ACCESS_DENIED);
    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_WRITE, FALSE, "Local\\acc-ro"));
    assert_last_error(ERROR_ACCESS_DENIED);
    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, "Local\\acc-ro"));
    assert_last_error(ERROR_ACCESS_DENIED);
    SetLastError(0);
    assert_null(
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, "Local\\acc-ro"));
    assert_last_error(ERROR_ACCESS_DENIED);
    const char *rr = map_view(robj, FILE_MAP_READ);
    assert_int_equal(rr[0], 0);
    unmap_ok(rr);

    close_ok(robj);
    close_ok(ro);
    unmap_ok(w);
    close_ok(rw);
}

/* FILE_MAP_ALL_ACCESS asks for a shared read-write view (it holds the
 * bit of SECTION_QUERY, which is also FILE_MAP_COPY's value, but it is not
 * a copy-on-write request): writes through it reach the object, and a
 * read-only handle cannot give one. */
static void test_all_access_view_is_read_write(void **state)
{
    (void)state;
    HANDLE h = map_create("Local\all", 65536);
    char *all = map_view(h, FILE_MAP_ALL_ACCESS);
    const char *r = map_view(h, FILE_MAP_READ);
    strcpy(all, "written through FILE_MAP_ALL_ACCESS");
    int shared = strcmp(r, "written through FILE_MAP_ALL_ACCESS") == 0;
    HANDLE o = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, "Local\all");
    assert_non_null(o);
    char *oall = map_view(o, FILE_MAP_ALL_ACCESS);
    strcpy(oall + 100, "through the opened handle");
    int shared_open = strcmp(r + 100, "through the opened handle") == 0;
    HANDLE ro = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\all");
    assert_non_null(ro);
    SetLastError(0);
    void *denied = MapViewOfFile(ro, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    DWORD denied_error = GetLastError();
    if (denied)
        unmap_ok(denied);
    unmap_ok(all);
    unmap_ok(oall);
    unmap_ok(r);
    close_ok(ro);
    close_ok(o);
    close_ok(h);
    assert_true(shared);
    assert_true(shared_open);
    assert_null(denied);
    assert_int_equal(denied_error, ERROR_ACCESS_DENIED);
}

/* Alignment: offsets and fixed addresses are multiples of 64 KiB. */
static void test_alignment_1132(void **state)
{
    (void)state;
    HANDLE h = map_create("Local\\align", 4 * 65536);
    static const DWORD bad_offsets[] = {1, 4096, 65536 + 4096, 3 * 65536 - 1};
    for (size_t i = 0; i < sizeof bad_offsets / sizeof bad_offsets[0]; i++) {
        SetLastError(0);
        assert_null(MapViewOfFile(h, FILE_MAP_READ, 0, bad_offsets[i], 100));
        assert_last_error(ERROR_MAPPED_ALIGNMENT);
    }
    /* A good offset works, and sees what the object holds there. */
    char *all = map_view(h, FILE_MAP_WRITE);
    strcpy(all + 2 * 65536, "at 128K");
    const char *part = MapViewOfFile(h, FILE_MAP_READ, 0, 2 * 65536, 65536);
    assert_non_null(part);
    assert_string_equal(part, "at 128K");
    unmap_ok(part);

    /* MapViewOfFileEx: a base that is not a multiple of 64 KiB. */
    char *base = tu_free_aligned_addr(2 * 65536);
    SetLastError(0);
    assert_null(MapViewOfFileEx(h, FILE_MAP_READ, 0, 0, 65536, base + 4096));
    assert_last_error(ERROR_MAPPED_ALIGNMENT);
    assert_false(tu_is_mapped(base + 4096, 65536));
    /* An aligned one is honoured exactly. */
    const char *fixed = MapViewOfFileEx(h, FILE_MAP_READ, 0, 2 * 65536, 65536, base);
    assert_ptr_equal(fixed, base);
    assert_string_equal(fixed, "at 128K");
    /* An address in use is never replaced. */
    SetLastError(0);
    assert_null(MapViewOfFileEx(h, FILE_MAP_READ, 0, 0, 65536, base));
    assert_last_error(ERROR_INVALID_ADDRESS);
    assert_string_equal(fixed, "at 128K");
    unmap_ok(fixed);
    unmap_ok(all);
    close_ok(h);
}

/* Not a view: unmapping or flushing an address that is no view. */
static void test_not_a_view_487(void **state)
{
    (void)state;
    int local = 0;
    SetLastError(0);
    assert_false(UnmapViewOfFile(&local));
    assert_last_error(ERROR_INVALID_ADDRESS);
    char *heap = malloc(100);
    assert_non_null(heap);
    SetLastError(0);
    assert_false(UnmapViewOfFile(heap));
    assert_last_error(ERROR_INVALID_ADDRESS);
    free(heap);
    SetLastError(0);
    assert_false(FlushViewOfFile(&local, 0));
    assert_last_error(ERROR_INVALID_ADDRESS);

    HANDLE h = map_create("Local\\noview", 3 * 65536);
    char *v = map_view(h, FILE_MAP_WRITE);
    /* Any address inside a view unmaps it; then it is no view any more. */
    SetLastError(77);
    assert_true(FlushViewOfFile(v + 100, 10));
    assert_last_error(ERROR_SUCCESS);
    assert_true(UnmapViewOfFile(v + 65536 + 3));
    assert_false(tu_is_mapped(v, 4096));
    SetLastError(0);
    assert_false(UnmapViewOfFile(v));
    assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(0);
    assert_false(FlushViewOfFile(v, 0));
    assert_last_error(ERROR_INVALID_ADDRESS);
    close_ok(h);
}

/* Bad parameters: 87, and nothing left behind. */
static void test_bad_parameter_87(void **state)
{
    (void)state;
    struct tu_snap s;
    tu_snap_take(&s);
    static const struct {
        DWORD protect, high, low;
    } bad[] = {
        {PAGE_READWRITE, 0, 0},                    /* memory-backed of size 0 */
        {PAGE_NOACCESS, 0, 4096},                  /* not a mapping protection */
        {PAGE_EXECUTE, 0, 4096},                   /* nor this */
        {PAGE_READWRITE | PAGE_READONLY, 0, 4096}, /* two protections */
        {PAGE_READWRITE | PAGE_GUARD, 0, 4096},    /* guard pages */
        {PAGE_READWRITE | SEC_IMAGE, 0, 4096},     /* executable images */
        {PAGE_READWRITE | SEC_COMMIT | SEC_RESERVE, 0, 4096},
        {0, 0, 4096}, /* no protection at all */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(0);
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, bad[i].protect, bad[i].high,
                                      bad[i].low, "Local\\bad");
        if (h)
            fail_msg("protection %#x size %u accepted", (unsigned)bad[i].protect,
                     (unsigned)bad[i].low);
        assert_last_error(ERROR_INVALID_PARAMETER);
    }
    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_READ, FALSE, NULL));
    assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(0);
    assert_null(OpenFileMappingW(FILE_MAP_READ, FALSE, NULL));
    assert_last_error(ERROR_INVALID_PARAMETER);
    tu_snap_check(&s);
    assert_int_equal(tu_store_count(), 0);

    /* The section flags that are accepted. */
    static const DWORD good[] = {PAGE_READWRITE | SEC_COMMIT, PAGE_READWRITE | SEC_RESERVE,
                                 PAGE_READONLY | SEC_COMMIT, PAGE_EXECUTE_READWRITE,
                                 PAGE_WRITECOPY};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, good[i], 0, 65536, NULL);
        if (!h)
            fail_msg("protection %#x refused (%lu)", (unsigned)good[i],
                     (unsigned long)GetLastError());
        close_ok(h);
    }
}

/* ---- Handles that are not one ------------------------------------------ */

/* Every call that takes a handle fails on H with ERROR_INVALID_HANDLE and
 * its own failure value. */
static void check_invalid_everywhere(HANDLE h, const char *what)
{
    char buf[16];
    DWORD n = 99;
    LONG prev = 99;
    HANDLE out = NULL;
    struct {
        const char *call;
        int failed;
    } r[16];
    size_t k = 0;
#define CHECK_CALL(expr, failure)                                                                  \
    do {                                                                                           \
        SetLastError(0);                                                                           \
        r[k].call = #expr;                                                                         \
        r[k].failed = (expr) == (failure) && GetLastError() == ERROR_INVALID_HANDLE;               \
        k++;                                                                                       \
    } while (0)
    CHECK_CALL(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0), NULL);
    CHECK_CALL(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, NULL), NULL);
    CHECK_CALL(SetEvent(h), FALSE);
    CHECK_CALL(ResetEvent(h), FALSE);
    CHECK_CALL(ReleaseMutex(h), FALSE);
    CHECK_CALL(ReleaseSemaphore(h, 1, &prev), FALSE);
    CHECK_CALL(WaitForSingleObject(h, 0), WAIT_FAILED);
    CHECK_CALL(WaitForMultipleObjects(1, &h, FALSE, 0), WAIT_FAILED);
    CHECK_CALL(GetFileSize(h, NULL), INVALID_FILE_SIZE);
    CHECK_CALL(ReadFile(h, buf, sizeof buf, &n, NULL), FALSE);
    CHECK_CALL(WriteFile(h, "x", 1, &n, NULL), FALSE);
    CHECK_CALL(SetFilePointer(h, 0, NULL, FILE_BEGIN), INVALID_SET_FILE_POINTER);
    CHECK_CALL(FlushFileBuffers(h), FALSE);
    CHECK_CALL(CreateFileMappingA(h, NULL, PAGE_READONLY, 0, 0, NULL), NULL);
    CHECK_CALL(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &out, 0, FALSE,
                               DUPLICATE_SAME_ACCESS),
               FALSE);
    CHECK_CALL(CloseHandle(h), FALSE);
#undef CHECK_CALL
    for (size_t i = 0; i < k; i++)
        if (!r[i].failed)
            fail_msg("%s: %s did not fail with ERROR_INVALID_HANDLE", what, r[i].call);
    assert_null(out);
    assert_int_equal(prev, 99);
}

static void test_garbage_handles_6(void **state)
{
    (void)state;
    check_invalid_everywhere((HANDLE)0x12345678, "(HANDLE)0x12345678");
    check_invalid_everywhere((HANDLE)5, "(HANDLE)5");
    check_invalid_everywhere((HANDLE)2, "(HANDLE)2");
    check_invalid_everywhere(NULL, "NULL");
    check_invalid_everywhere((HANDLE)(uintptr_t)0x7ffffffcu, "(HANDLE)0x7ffffffc");
    check_invalid_everywhere((HANDLE)(uintptr_t)UINTPTR_MAX - 3, "(HANDLE)-4");
    /* The value of a descriptor that is open but no handle (close-on-exec,
     * so not one inherited either): a pipe. */
    int p[2];
    tu_pipe(p);
    check_invalid_everywhere((HANDLE)(((uintptr_t)p[0] + 1) * 4), "a pipe's descriptor");
    tu_close(p[0]);
    tu_close(p[1]);
}

static void test_closed_handles_6(void **state)
{
    (void)state;
    HANDLE m = map_create("Local\\closed", 4096);
    close_ok(m);
    check_invalid_everywhere(m, "a closed mapping handle");
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    assert_non_null(e);
    close_ok(e);
    check_invalid_everywhere(e, "a closed event handle");
    HANDLE x = CreateMutexA(NULL, FALSE, "Local\\closed-mutex");
    assert_non_null(x);
    close_ok(x);
    check_invalid_everywhere(x, "a closed mutex handle");
}

/* A handle of the wrong type for the call. */
static void test_wrong_type_handles_6(void **state)
{
    (void)state;
    HANDLE map = map_create("Local\\wrong-map", 4096);
    HANDLE mutex = CreateMutexA(NULL, FALSE, "Local\\wrong-mutex");
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE sem = CreateSemaphoreA(NULL, 1, 5, NULL);
    assert_non_null(mutex);
    assert_non_null(event);
    assert_non_null(sem);
    LONG prev = 99;

    SetLastError(0);
    assert_null(MapViewOfFile(mutex, FILE_MAP_READ, 0, 0, 0));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(MapViewOfFile(event, FILE_MAP_READ, 0, 0, 0));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_false(SetEvent(map));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_false(SetEvent(mutex));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_false(ResetEvent(sem));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_false(ReleaseMutex(event));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_false(ReleaseMutex(map));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_false(ReleaseSemaphore(mutex, 1, &prev));
    assert_last_error(ERROR_INVALID_HANDLE);
    assert_int_equal(prev, 99);
    SetLastError(0);
    assert_int_equal(WaitForSingleObject(map, 0), WAIT_FAILED);
    assert_last_error(ERROR_INVALID_HANDLE);
    HANDLE mixed[2] = {event, map};
    SetLastError(0);
    assert_int_equal(WaitForMultipleObjects(2, mixed, FALSE, 0), WAIT_FAILED);
    assert_last_error(ERROR_INVALID_HANDLE);
    /* A mapping or a mutex is no file. */
    SetLastError(0);
    assert_null(CreateFileMappingA(map, NULL, PAGE_READONLY, 0, 0, NULL));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(CreateFileMappingA(mutex, NULL, PAGE_READONLY, 0, 0, NULL));
    assert_last_error(ERROR_INVALID_HANDLE);
    char buf[4];
    DWORD n;
    SetLastError(0);
    assert_false(ReadFile(map, buf, sizeof buf, &n, NULL));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_int_equal(GetFileSize(event, NULL), INVALID_FILE_SIZE);
    assert_last_error(ERROR_INVALID_HANDLE);

    /* None of it changed the objects. */
    assert_int_equal(WaitForSingleObject(sem, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(sem, 0), WAIT_TIMEOUT);
    assert_int_equal(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    close_ok(map);
    close_ok(mutex);
    close_ok(event);
    close_ok(sem);
}

/* ---- The last error is per thread ------------------------------------------ */

struct tls_arg {
    pthread_barrier_t *barrier;
    DWORD set, seen_after;
    DWORD failure; /* the last error after this thread's own call */
    int fail_open, call_ok;
};

/* No cmocka asserts here (not in the main thread): results go to *A. */
static void *tls_thread(void *p)
{
    struct tls_arg *a = p;
    SetLastError(a->set);
    pthread_barrier_wait(a->barrier); /* both have set theirs */
    a->seen_after = GetLastError();
    pthread_barrier_wait(a->barrier);
    /* A failing call in one thread, then a succeeding one in the other. */
    if (a->fail_open) {
        HANDLE h = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\tls-missing");
        a->call_ok = h == NULL;
        pthread_barrier_wait(a->barrier);
        pthread_barrier_wait(a->barrier);
    } else {
        pthread_barrier_wait(a->barrier);
        SetLastError(4444);
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, NULL);
        a->call_ok = h != NULL && CloseHandle(h);
        pthread_barrier_wait(a->barrier);
    }
    a->failure = GetLastError();
    return NULL;
}

static void test_last_error_per_thread(void **state)
{
    (void)state;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    struct tls_arg a = {&barrier, 1111, 0, 0, 1, 0}, b = {&barrier, 2222, 0, 0, 0, 0};
    pthread_t ta, tb;
    SetLastError(3333);
    assert_int_equal(pthread_create(&ta, NULL, tls_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, tls_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a.seen_after, 1111);
    assert_int_equal(b.seen_after, 2222);
    assert_int_equal(a.failure, ERROR_FILE_NOT_FOUND);
    assert_int_equal(b.failure, ERROR_SUCCESS);
    assert_true(a.call_ok);
    assert_true(b.call_ok);
    assert_last_error(3333);
    assert_true(GetCurrentThreadId() != 0);
    assert_int_equal(GetCurrentProcessId(), (DWORD)getpid());
}

/* ---- The system ---------------------------------------------------------- */

static void test_system_info(void **state)
{
    (void)state;
    SYSTEM_INFO si;
    memset(&si, 0xAB, sizeof si);
    GetSystemInfo(&si);
    assert_int_equal(si.dwAllocationGranularity, 65536);
    assert_int_equal(si.dwAllocationGranularity, SHMAP_GRANULARITY);
    assert_int_equal(si.dwPageSize, (DWORD)sysconf(_SC_PAGESIZE));
    assert_true(si.dwNumberOfProcessors >= 1);
    assert_true(si.dwActiveProcessorMask != 0);
    assert_true((uintptr_t)si.lpMinimumApplicationAddress <
                (uintptr_t)si.lpMaximumApplicationAddress);
#if defined(__x86_64__)
    assert_int_equal(si.u.s.wProcessorArchitecture, PROCESSOR_ARCHITECTURE_AMD64);
#elif defined(__aarch64__)
    assert_int_equal(si.u.s.wProcessorArchitecture, PROCESSOR_ARCHITECTURE_ARM64);
#endif
    GetSystemInfo(NULL); /* no crash */
}

/* ---- Lifetime through this API -------------------------------------------- */

/* Closing the last handle removes the name at once; a view stays valid;
 * the same name then makes a different, new object. */
static void test_close_last_handle_view_lives(void **state)
{
    (void)state;
    HANDLE h = map_create("Local\\life", 65536);
    char *v = map_view(h, FILE_MAP_WRITE);
    strcpy(v, "still here");
    close_ok(h);
    assert_string_equal(v, "still here");
    v[100] = 'w'; /* and writable */

    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\life"));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    assert_int_equal(tu_store_count(), 0);

    HANDLE again = map_create("Local\\life", 65536); /* created, not existed */
    char *v2 = map_view(again, FILE_MAP_WRITE);
    assert_int_equal(v2[0], 0);
    strcpy(v2, "new object");
    assert_string_equal(v, "still here");
    unmap_ok(v);
    unmap_ok(v2);
    close_ok(again);
    assert_int_equal(tu_store_count(), 0);
}

struct holder {
    int ready[2], done[2];
};

static void hold_by_name(void *p)
{
    struct holder *hd = p;
    HANDLE h = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\held");
    TU_CHILD_CHECK(h != NULL);
    const char *v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    TU_CHILD_CHECK(v && strcmp(v, "parent") == 0);
    TU_CHILD_CHECK(tu_pipe_signal(hd->ready[1], 'r') == 0);
    tu_pipe_wait(hd->done[0]); /* killed here */
    _exit(3);
}

/* The name lives while any process holds a handle, and a process killed
 * with SIGKILL releases its handle as if it had closed it. */
static void test_name_lives_while_a_process_holds_it(void **state)
{
    (void)state;
    struct holder hd;
    tu_pipe(hd.ready);
    tu_pipe(hd.done);
    HANDLE h = map_create("Local\\held", 65536);
    char *v = map_view(h, FILE_MAP_WRITE);
    strcpy(v, "parent");
    pid_t pid = tu_fork(hold_by_name, &hd);
    assert_int_equal(tu_pipe_wait(hd.ready[0]), 'r');
    unmap_ok(v);
    close_ok(h);
    /* The child's handle holds the name and the memory. */
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\held");
    assert_non_null(o);
    const char *r = map_view(o, FILE_MAP_READ);
    assert_string_equal(r, "parent");
    unmap_ok(r);
    close_ok(o);
    kill(pid, SIGKILL);
    assert_int_equal(tu_wait_exit(pid), 128 + SIGKILL);
    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\held"));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    tu_close(hd.ready[0]);
    tu_close(hd.ready[1]);
    tu_close(hd.done[0]);
    tu_close(hd.done[1]);
}

/* ---- DuplicateHandle --------------------------------------------------- */

static void test_duplicate_mapping(void **state)
{
    (void)state;
    HANDLE self = GetCurrentProcess();
    HANDLE h = map_create("Local\\dup", 65536);
    HANDLE d = NULL;
    SetLastError(77);
    assert_true(DuplicateHandle(self, h, self, &d, 0, FALSE, DUPLICATE_SAME_ACCESS));
    assert_last_error(ERROR_SUCCESS);
    assert_non_null(d);
    assert_true(d != h);
    /* Both work, on the same object. */
    char *a = map_view(h, FILE_MAP_WRITE);
    char *b = map_view(d, FILE_MAP_WRITE);
    strcpy(a, "through h");
    assert_string_equal(b, "through h");
    unmap_ok(b);
    /* Closing one keeps the other, and the name, working. */
    close_ok(h);
    b = map_view(d, FILE_MAP_WRITE);
    assert_string_equal(b, "through h");
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\dup");
    assert_non_null(o);
    close_ok(o);

    /* A duplicate with less access. */
    HANDLE r = NULL;
    assert_true(DuplicateHandle(self, d, self, &r, FILE_MAP_READ, FALSE, 0));
    SetLastError(0);
    assert_null(MapViewOfFile(r, FILE_MAP_WRITE, 0, 0, 0));
    assert_last_error(ERROR_ACCESS_DENIED);
    const char *rv = map_view(r, FILE_MAP_READ);
    assert_string_equal(rv, "through h");
    unmap_ok(rv);

    /* DUPLICATE_CLOSE_SOURCE: the source is closed, the new one works. */
    HANDLE moved = NULL;
    assert_true(DuplicateHandle(self, d, self, &moved, 0, FALSE,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    SetLastError(0);
    assert_null(MapViewOfFile(d, FILE_MAP_READ, 0, 0, 0));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_false(CloseHandle(d));
    assert_last_error(ERROR_INVALID_HANDLE);
    const char *mv = map_view(moved, FILE_MAP_READ);
    assert_string_equal(mv, "through h");
    unmap_ok(mv);

    close_ok(r);
    close_ok(moved);
    /* The last handle is gone: so is the name; the views live on. */
    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\dup"));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    assert_string_equal(a, "through h");
    unmap_ok(a);
    unmap_ok(b);

    /* Unnamed mappings duplicate too. */
    HANDLE u = map_create(NULL, 4096);
    HANDLE ud = NULL;
    assert_true(DuplicateHandle(self, u, self, &ud, 0, FALSE,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    char *uv = map_view(ud, FILE_MAP_WRITE);
    uv[0] = 1;
    unmap_ok(uv);
    close_ok(ud);
}

static void test_duplicate_sync_and_file(void **state)
{
    (void)state;
    HANDLE self = GetCurrentProcess();
    /* An event: set through one, seen through the other. */
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, "Local\\dup-event");
    HANDLE ed = NULL;
    assert_non_null(e);
    assert_true(DuplicateHandle(self, e, self, &ed, 0, FALSE, DUPLICATE_SAME_ACCESS));
    assert_true(SetEvent(ed));
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    close_ok(e);
    assert_int_equal(WaitForSingleObject(ed, 0), WAIT_OBJECT_0);
    HANDLE eo = OpenEventA(SYNCHRONIZE, FALSE, "Local\\dup-event"); /* still named */
    assert_non_null(eo);
    close_ok(eo);
    close_ok(ed);

    /* An unnamed mutex: owned through one, released through the other. */
    HANDLE m = CreateMutexA(NULL, FALSE, NULL);
    HANDLE md = NULL;
    assert_non_null(m);
    assert_true(DuplicateHandle(self, m, self, &md, 0, FALSE,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    SetLastError(0);
    assert_false(ReleaseMutex(m));
    assert_last_error(ERROR_INVALID_HANDLE);
    assert_int_equal(WaitForSingleObject(md, 0), WAIT_OBJECT_0);
    assert_true(ReleaseMutex(md));
    close_ok(md);

    /* A file: both handles share the file pointer, as on Windows. */
    char path[4096];
    tu_scratch_path(path, sizeof path, "dup-file");
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    HANDLE fd = NULL;
    assert_true(DuplicateHandle(self, f, self, &fd, 0, FALSE, DUPLICATE_SAME_ACCESS));
    DWORD n = 0;
    assert_true(WriteFile(f, "12345", 5, &n, NULL));
    assert_int_equal(SetFilePointer(fd, 0, NULL, FILE_CURRENT), 5);
    close_ok(f);
    assert_true(WriteFile(fd, "678", 3, &n, NULL));
    assert_int_equal(GetFileSize(fd, NULL), 8);
    close_ok(fd);
    assert_true(DeleteFileA(path));

    /* Only within this process; bad options and no target are refused. */
    HANDLE x = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE out = NULL;
    SetLastError(0);
    assert_false(DuplicateHandle(self, x, self, NULL, 0, FALSE, DUPLICATE_SAME_ACCESS));
    assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(0);
    assert_false(DuplicateHandle(self, x, self, &out, 0, FALSE, 0x100));
    assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(0);
    assert_false(
        DuplicateHandle((HANDLE)(uintptr_t)0x1234, x, self, &out, 0, FALSE, DUPLICATE_SAME_ACCESS));
    assert_true(GetLastError() != ERROR_SUCCESS);
    assert_null(out);
    close_ok(x); /* none of the failures closed it */
}

/* ---- Inheritance across exec ------------------------------------------ */

static void test_inherit_mapping_handle(void **state)
{
    (void)state;
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE named =
        CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 65536, "Local\\inherit");
    HANDLE unnamed = CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 65536, NULL);
    HANDLE opened = OpenFileMappingA(FILE_MAP_ALL_ACCESS, TRUE, "Local\\inherit");
    HANDLE private = map_create("Local\\not-inherited", 4096);
    assert_non_null(named);
    assert_non_null(unnamed);
    assert_non_null(opened);
    char *vn = map_view(named, FILE_MAP_WRITE);
    char *vu = map_view(unnamed, FILE_MAP_WRITE);
    strcpy(vn, "from the parent");
    strcpy(vu, "unnamed, from the parent");

    char hn[32], hu[32], ho[32], hp[32];
    pid_t pid = helper_start(NULL, 0, "read", handle_str(named, hn), "0", "from the parent", "map",
                             hn, "100", "named marker", "read", handle_str(unnamed, hu), "0",
                             "unnamed, from the parent", "map", hu, "200", "unnamed marker", "map",
                             handle_str(opened, ho), "300", "opened marker", "invalid",
                             handle_str(private, hp), NULL);
    tu_wait_ok(pid);
    assert_string_equal(vn + 100, "named marker");
    assert_string_equal(vn + 300, "opened marker");
    assert_string_equal(vu + 200, "unnamed marker");
    unmap_ok(vn);
    unmap_ok(vu);
    close_ok(named);
    close_ok(unnamed);
    close_ok(opened);
    close_ok(private);
}

/* DuplicateHandle makes an inheritable handle of one that is not. */
static void test_inherit_duplicated_handle(void **state)
{
    (void)state;
    HANDLE h = map_create(NULL, 65536);
    HANDLE inheritable = NULL;
    assert_true(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &inheritable, 0, TRUE,
                                DUPLICATE_SAME_ACCESS));
    char *v = map_view(h, FILE_MAP_WRITE);
    char hi[32], hh[32];
    tu_wait_ok(helper_start(NULL, 0, "invalid", handle_str(h, hh), "map",
                            handle_str(inheritable, hi), "8", "via the duplicate", NULL));
    assert_string_equal(v + 8, "via the duplicate");
    unmap_ok(v);
    close_ok(h);
    close_ok(inheritable);
}

/* The inherited handle holds the name, as any handle does: the parent's
 * close does not remove it while the child runs; the child's exit does. */
static void test_inherited_handle_holds_the_name(void **state)
{
    (void)state;
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 65536,
                                  "Local\\inherit-hold");
    assert_non_null(h);
    int ready[2], go[2];
    tu_pipe(ready);
    tu_pipe(go);
    char hs[32], rfd[16], gfd[16];
    snprintf(rfd, sizeof rfd, "%d", ready[1]);
    snprintf(gfd, sizeof gfd, "%d", go[0]);
    int keep[2] = {ready[1], go[0]};
    pid_t pid = helper_start(keep, 2, "map", handle_str(h, hs), "0", "child", "signal", rfd, "wait",
                             gfd, "read", hs, "0", "child", NULL);
    tu_close(ready[1]);
    tu_close(go[0]);
    assert_int_equal(tu_pipe_wait(ready[0]), 's');
    close_ok(h);
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\inherit-hold");
    assert_non_null(o);
    const char *v = map_view(o, FILE_MAP_READ);
    assert_string_equal(v, "child");
    unmap_ok(v);
    close_ok(o);
    tu_close(go[1]); /* the child goes on, and exits */
    tu_wait_ok(pid);
    tu_close(ready[0]);
    SetLastError(0);
    assert_null(OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\inherit-hold"));
    assert_last_error(ERROR_FILE_NOT_FOUND);
}

/* An inherited handle has the access of the parent's handle, no more: a
 * handle opened FILE_MAP_READ stays read-only in the child. */
static void test_inherit_read_only_handle_stays_read_only(void **state)
{
    (void)state;
    HANDLE h = map_create("Local\\inherit-ro", 65536);
    HANDLE ro = OpenFileMappingA(FILE_MAP_READ, TRUE, "Local\\inherit-ro");
    assert_non_null(ro);
    char hs[32];
    int status = tu_wait_exit(helper_start(NULL, 0, "readonly", handle_str(ro, hs), NULL));
    close_ok(ro);
    close_ok(h);
    assert_int_equal(status, 0);
}

/* A file-backed mapping's handle is inherited like any other. */
static void test_inherit_file_backed_mapping(void **state)
{
    (void)state;
    char path[4096];
    tu_scratch_path(path, sizeof path, "inherit-file");
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE m = CreateFileMappingA(f, &sa, PAGE_READWRITE, 0, 65536, NULL);
    assert_non_null(m);
    char hs[32];
    pid_t pid = helper_start(NULL, 0, "map", handle_str(m, hs), "10", "file marker", NULL);
    int status = tu_wait_exit(pid);
    char buf[32] = "";
    DWORD n = 0;
    assert_int_equal(SetFilePointer(f, 10, NULL, FILE_BEGIN), 10);
    assert_true(ReadFile(f, buf, 12, &n, NULL));
    close_ok(m);
    close_ok(f);
    assert_true(DeleteFileA(path));
    assert_int_equal(status, 0);
    assert_string_equal(buf, "file marker");
}

/* A file handle made inheritable by its SECURITY_ATTRIBUTES. */
static void test_inherit_file_handle(void **state)
{
    (void)state;
    char path[4096];
    tu_scratch_path(path, sizeof path, "inherit-plain");
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, &sa, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    DWORD n = 0;
    assert_true(WriteFile(f, "parent;", 7, &n, NULL));
    char hs[32];
    tu_wait_ok(helper_start(NULL, 0, "write", handle_str(f, hs), "child", NULL));
    /* The child wrote at the shared file pointer. */
    assert_int_equal(SetFilePointer(f, 0, NULL, FILE_CURRENT), 12);
    char buf[16] = "";
    assert_int_equal(SetFilePointer(f, 0, NULL, FILE_BEGIN), 0);
    assert_true(ReadFile(f, buf, sizeof buf - 1, &n, NULL));
    assert_int_equal(n, 12);
    assert_string_equal(buf, "parent;child");
    close_ok(f);
    assert_true(DeleteFileA(path));
}

/* Synchronization objects are not inherited across exec: the child opens
 * them by name, and they work between the two programs. */
static void test_exec_child_opens_sync_by_name(void **state)
{
    (void)state;
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, "Local\\exec-event");
    assert_non_null(e);
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
    tu_wait_ok(helper_start(NULL, 0, "setevent", "Local\\exec-event", "absent",
                            "Local\\exec-never-made", NULL));
    assert_int_equal(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    close_ok(e);
}

/* Inheritable handles of events and mutexes, named and unnamed, are used
 * by an exec'd child through the values its parent gives it. */
static void test_inherit_sync_handles(void **state)
{
    (void)state;
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE unnamed = CreateEventA(&sa, TRUE, FALSE, NULL);
    HANDLE named = CreateEventA(&sa, TRUE, FALSE, "Local\\inherit-event");
    HANDLE mutex = CreateMutexA(&sa, FALSE, "Local\\inherit-mutex");
    assert_non_null(unnamed);
    assert_non_null(named);
    assert_non_null(mutex);
    char hu[32], hn[32], hm[32];
    pid_t pid = helper_start(NULL, 0, "set", handle_str(unnamed, hu), "set", handle_str(named, hn),
                             "lock", handle_str(mutex, hm), NULL);
    tu_wait_ok(pid);
    assert_int_equal(WaitForSingleObject(unnamed, 0), WAIT_OBJECT_0);
    assert_int_equal(WaitForSingleObject(named, 0), WAIT_OBJECT_0);
    /* The child released the mutex before it ended: not abandoned. */
    assert_int_equal(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0);
    assert_true(ReleaseMutex(mutex));
    close_ok(unnamed);
    close_ok(named);
    close_ok(mutex);
}

/* ---- Descriptors and handles ---------------------------------------------- */

static void test_handle_from_fd(void **state)
{
    (void)state;
    char path[4096];
    tu_scratch_path(path, sizeof path, "from-fd");
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    SetLastError(77);
    HANDLE h = shmap_win32_handle_from_fd(fd);
    assert_non_null(h);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_ptr_equal(h, (HANDLE)(((uintptr_t)fd + 1) * 4));
    assert_int_equal(shmap_win32_fd_from_handle(h), fd);
    /* A file handle like any other. */
    assert_int_equal(GetFileSize(h, NULL), 10);
    assert_int_equal(SetFilePointer(h, 2, NULL, FILE_BEGIN), 2);
    char buf[4] = "";
    DWORD n = 0;
    assert_true(ReadFile(h, buf, 3, &n, NULL));
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "234", 3);
    HANDLE m = CreateFileMappingA(h, NULL, PAGE_READONLY, 0, 0, NULL);
    assert_non_null(m);
    const char *v = map_view(m, FILE_MAP_READ);
    assert_memory_equal(v, "0123456789", 10);
    unmap_ok(v);
    /* A mapping handle gives the descriptor of its data. */
    int mfd = shmap_win32_fd_from_handle(m);
    assert_true(mfd >= 0);
    assert_true(fcntl(mfd, F_GETFD) >= 0);
    close_ok(m);
    /* CloseHandle closes the descriptor it owns. */
    close_ok(h);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    assert_true(DeleteFileA(path));

    /* Not a descriptor: NULL or -1, ERROR_INVALID_HANDLE. */
    SetLastError(0);
    assert_null(shmap_win32_handle_from_fd(-1));
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_null(shmap_win32_handle_from_fd(fd)); /* closed above */
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_int_equal(shmap_win32_fd_from_handle((HANDLE)0x12345678), -1);
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_int_equal(shmap_win32_fd_from_handle(h), -1); /* closed */
    assert_last_error(ERROR_INVALID_HANDLE);
    SetLastError(0);
    assert_int_equal(shmap_win32_fd_from_handle(NULL), -1);
    assert_last_error(ERROR_INVALID_HANDLE);
}

/* A synchronization object has no descriptor of a file or a mapping's
 * data: shmap_win32_fd_from_handle says it is none of those. */
static void test_fd_from_sync_handle(void **state)
{
    (void)state;
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    assert_non_null(e);
    SetLastError(0);
    int fd = shmap_win32_fd_from_handle(e);
    close_ok(e);
    assert_int_equal(fd, -1);
    assert_last_error(ERROR_INVALID_HANDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_created_sets_zero, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_existed_183, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_type_clash_6, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_missing_2, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_access_denied_5, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_all_access_view_is_read_write, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_alignment_1132, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_view_487, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_parameter_87, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_handles_6, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_closed_handles_6, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_type_handles_6, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_last_error_per_thread, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_system_info, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_close_last_handle_view_lives, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_name_lives_while_a_process_holds_it, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_mapping, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_sync_and_file, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_inherit_mapping_handle, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_inherit_duplicated_handle, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_inherited_handle_holds_the_name, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_inherit_read_only_handle_stays_read_only, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_inherit_file_backed_mapping, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_inherit_file_handle, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_exec_child_opens_sync_by_name, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_inherit_sync_handles, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_handle_from_fd, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_fd_from_sync_handle, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
