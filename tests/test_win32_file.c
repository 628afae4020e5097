/* test_win32_file.c - the Win32 layer's file API and file-backed mappings:
 * CreateFile's dispositions and their last errors (0, 183, 80, 2, 3, 5,
 * 87), ReadFile / WriteFile / SetFilePointer / GetFileSize /
 * FlushFileBuffers / DeleteFile and their errors (131, 5), files past
 * 4 GiB, FILE_FLAG_DELETE_ON_CLOSE; file-backed mappings: size 0 is the
 * file's size, an empty file is ERROR_FILE_INVALID (1006), a larger size
 * grows a writable file, a full disk is ERROR_DISK_FULL (112, as root, in a
 * private mount namespace with a 16 MiB tmpfs), a view at an offset that is
 * not a multiple of the allocation granularity, flushes, copy-on-write
 * views, and a named file-backed mapping opened by another process. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "shmap/win32.h"

#define assert_last_error(want) assert_int_equal(GetLastError(), (want))

static void close_ok(HANDLE h)
{
    assert_true(CloseHandle(h));
}

static const char *scratch(const char *name)
{
    static char buf[8][4096];
    static int next;
    char *b = buf[next++ % 8];
    return tu_scratch_path(b, sizeof buf[0], name);
}

static HANDLE file_open(const char *path, DWORD access, DWORD disposition)
{
    return CreateFileA(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, disposition,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}

/* Creates PATH holding LEN bytes of pattern(i); returns a read-write handle. */
static unsigned char pattern(uint64_t i)
{
    return (unsigned char)((i * 131) ^ (i >> 13) ^ (i >> 21));
}

static HANDLE file_with_pattern(const char *path, uint64_t len)
{
    HANDLE f = file_open(path, GENERIC_READ | GENERIC_WRITE, CREATE_ALWAYS);
    assert_true(f != INVALID_HANDLE_VALUE);
    unsigned char buf[8192];
    for (uint64_t done = 0; done < len;) {
        DWORD n = (DWORD)(len - done < sizeof buf ? len - done : sizeof buf), wrote = 0;
        for (DWORD i = 0; i < n; i++)
            buf[i] = pattern(done + i);
        assert_true(WriteFile(f, buf, n, &wrote, NULL));
        assert_int_equal(wrote, n);
        done += n;
    }
    return f;
}

/* ---- CreateFile ------------------------------------------------------------ */

static void test_create_file_dispositions(void **state)
{
    (void)state;
    const char *p = scratch("disp");
    DWORD n = 0;

    SetLastError(0);
    HANDLE f = file_open(p, GENERIC_READ, OPEN_EXISTING);
    assert_ptr_equal(f, INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_FILE_NOT_FOUND);
    SetLastError(0);
    assert_ptr_equal(file_open(p, GENERIC_WRITE, TRUNCATE_EXISTING), INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_FILE_NOT_FOUND);

    SetLastError(77);
    f = file_open(p, GENERIC_WRITE, CREATE_NEW);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_SUCCESS);
    assert_true(WriteFile(f, "abcdef", 6, &n, NULL));
    close_ok(f);

    SetLastError(0);
    assert_ptr_equal(file_open(p, GENERIC_WRITE, CREATE_NEW), INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_FILE_EXISTS);

    /* OPEN_ALWAYS of an existing file: 183, contents kept. */
    SetLastError(0);
    f = file_open(p, GENERIC_READ, OPEN_ALWAYS);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_ALREADY_EXISTS);
    assert_int_equal(GetFileSize(f, NULL), 6);
    close_ok(f);
    /* CREATE_ALWAYS of an existing file: 183, truncated. */
    SetLastError(0);
    f = file_open(p, GENERIC_READ | GENERIC_WRITE, CREATE_ALWAYS);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_ALREADY_EXISTS);
    assert_int_equal(GetFileSize(f, NULL), 0);
    assert_true(WriteFile(f, "xyz", 3, &n, NULL));
    close_ok(f);
    /* OPEN_EXISTING: 0; TRUNCATE_EXISTING empties it. */
    SetLastError(77);
    f = file_open(p, GENERIC_READ, OPEN_EXISTING);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_SUCCESS);
    assert_int_equal(GetFileSize(f, NULL), 3);
    close_ok(f);
    f = file_open(p, GENERIC_WRITE, TRUNCATE_EXISTING);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_int_equal(GetFileSize(f, NULL), 0);
    close_ok(f);
    assert_true(DeleteFileA(p));

    /* New with OPEN_ALWAYS and CREATE_ALWAYS: 0. */
    SetLastError(77);
    f = file_open(p, GENERIC_WRITE, OPEN_ALWAYS);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_SUCCESS);
    close_ok(f);
    assert_true(DeleteFileA(p));
    SetLastError(77);
    f = file_open(p, GENERIC_WRITE, CREATE_ALWAYS);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_SUCCESS);
    close_ok(f);

    /* Not a disposition. */
    static const DWORD bad[] = {0, 6, 99};
    for (size_t i = 0; i < 3; i++) {
        SetLastError(0);
        assert_ptr_equal(file_open(p, GENERIC_READ, bad[i]), INVALID_HANDLE_VALUE);
        assert_last_error(ERROR_INVALID_PARAMETER);
    }
    /* The wide form, with the same file. */
    WCHAR wide[4096];
    size_t i = 0;
    for (; p[i]; i++)
        wide[i] = (unsigned char)p[i];
    wide[i] = 0;
    SetLastError(0);
    f = CreateFileW(wide, GENERIC_READ, 0, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_ALREADY_EXISTS);
    close_ok(f);
    assert_true(DeleteFileW(wide));
    SetLastError(0);
    assert_false(DeleteFileW(wide));
    assert_last_error(ERROR_FILE_NOT_FOUND);
    SetLastError(0);
    assert_false(DeleteFileA(p));
    assert_last_error(ERROR_FILE_NOT_FOUND);
}

/* A directory of the path that does not exist: ERROR_PATH_NOT_FOUND, as
 * Windows says, not ERROR_FILE_NOT_FOUND. */
static void test_create_file_path_not_found_3(void **state)
{
    (void)state;
    const char *p = scratch("no-such-dir/file");
    SetLastError(0);
    assert_ptr_equal(file_open(p, GENERIC_READ, OPEN_EXISTING), INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_PATH_NOT_FOUND);
    SetLastError(0);
    assert_ptr_equal(file_open(p, GENERIC_READ | GENERIC_WRITE, CREATE_ALWAYS),
                     INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_PATH_NOT_FOUND);
}

/* A directory is not a file: without FILE_FLAG_BACKUP_SEMANTICS Windows
 * refuses it with ERROR_ACCESS_DENIED, for reading as for writing. */
static void test_create_file_on_directory_5(void **state)
{
    (void)state;
    const char *dir = tu_store_top();
    SetLastError(0);
    assert_ptr_equal(file_open(dir, GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING),
                     INVALID_HANDLE_VALUE);
    assert_last_error(ERROR_ACCESS_DENIED);
    SetLastError(0);
    HANDLE f = file_open(dir, GENERIC_READ, OPEN_EXISTING);
    DWORD err = GetLastError();
    if (f != INVALID_HANDLE_VALUE)
        close_ok(f);
    assert_ptr_equal(f, INVALID_HANDLE_VALUE);
    assert_int_equal(err, ERROR_ACCESS_DENIED);
}

/* ---- Reading, writing, the file pointer --------------------------------------- */

static void test_read_write_and_pointer(void **state)
{
    (void)state;
    const char *p = scratch("rw");
    HANDLE f = file_open(p, GENERIC_READ | GENERIC_WRITE, CREATE_NEW);
    assert_true(f != INVALID_HANDLE_VALUE);
    DWORD n = 99, high = 99;
    SetLastError(77);
    assert_true(WriteFile(f, "0123456789", 10, &n, NULL));
    assert_last_error(ERROR_SUCCESS);
    assert_int_equal(n, 10);
    assert_true(WriteFile(f, "", 0, &n, NULL));
    assert_int_equal(n, 0);
    assert_int_equal(GetFileSize(f, &high), 10);
    assert_int_equal(high, 0);
    assert_int_equal(SetFilePointer(f, 0, NULL, FILE_CURRENT), 10);

    char buf[32];
    assert_int_equal(SetFilePointer(f, 3, NULL, FILE_BEGIN), 3);
    assert_true(ReadFile(f, buf, 4, &n, NULL));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "3456", 4);
    assert_int_equal(SetFilePointer(f, -2, NULL, FILE_CURRENT), 5);
    assert_int_equal(SetFilePointer(f, -1, NULL, FILE_END), 9);
    /* A read that reaches the end returns what there is; at the end, 0
     * bytes and TRUE. */
    assert_true(ReadFile(f, buf, sizeof buf, &n, NULL));
    assert_int_equal(n, 1);
    assert_int_equal(buf[0], '9');
    n = 99;
    assert_true(ReadFile(f, buf, sizeof buf, &n, NULL));
    assert_int_equal(n, 0);

    /* Before the start: ERROR_NEGATIVE_SEEK, and the pointer stays. */
    assert_int_equal(SetFilePointer(f, 4, NULL, FILE_BEGIN), 4);
    SetLastError(0);
    assert_int_equal(SetFilePointer(f, -5, NULL, FILE_CURRENT), INVALID_SET_FILE_POINTER);
    assert_last_error(ERROR_NEGATIVE_SEEK);
    assert_int_equal(SetFilePointer(f, 0, NULL, FILE_CURRENT), 4);
    SetLastError(0);
    assert_int_equal(SetFilePointer(f, 0, NULL, 3), INVALID_SET_FILE_POINTER);
    assert_last_error(ERROR_INVALID_PARAMETER);

    /* Positional I/O through an OVERLAPPED's offset. */
    OVERLAPPED ov = {0};
    ov.Offset = 2;
    assert_true(ReadFile(f, buf, 3, &n, &ov));
    assert_memory_equal(buf, "234", 3);
    ov.Offset = 8;
    assert_true(WriteFile(f, "XYZ", 3, &n, &ov));
    assert_int_equal(GetFileSize(f, NULL), 11);

    /* Past 4 GiB (sparse): the high parts. */
    ov.Offset = 0;
    ov.OffsetHigh = 1;
    assert_true(WriteFile(f, "far", 3, &n, &ov));
    SetLastError(77);
    assert_int_equal(GetFileSize(f, &high), 3);
    assert_int_equal(high, 1);
    assert_last_error(ERROR_SUCCESS);
    LONG move_high = 1;
    SetLastError(77);
    assert_int_equal(SetFilePointer(f, 1, &move_high, FILE_BEGIN), 1);
    assert_int_equal(move_high, 1);
    assert_last_error(ERROR_SUCCESS);
    assert_true(ReadFile(f, buf, 8, &n, NULL));
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "ar", 2);
    /* A low part that looks like INVALID_SET_FILE_POINTER but is not. */
    move_high = 0;
    SetLastError(77);
    assert_int_equal(SetFilePointer(f, (LONG)0xFFFFFFFF, &move_high, FILE_BEGIN),
                     INVALID_SET_FILE_POINTER);
    assert_last_error(ERROR_SUCCESS);
    assert_int_equal(move_high, 0);
    move_high = -1; /* negative 64-bit distance */
    assert_int_equal(SetFilePointer(f, -1, &move_high, FILE_CURRENT), 0xFFFFFFFEu);
    assert_int_equal(move_high, 0);

    SetLastError(77);
    assert_true(FlushFileBuffers(f));
    assert_last_error(ERROR_SUCCESS);
    close_ok(f);
    assert_true(DeleteFileA(p));
}

/* A move from the end to before the start fails with ERROR_NEGATIVE_SEEK
 * and, as Windows documents, does not move the file pointer. */
static void test_negative_seek_from_end_leaves_pointer(void **state)
{
    (void)state;
    const char *p = scratch("negative");
    HANDLE f = file_open(p, GENERIC_READ | GENERIC_WRITE, CREATE_NEW);
    assert_true(f != INVALID_HANDLE_VALUE);
    DWORD n = 0;
    assert_true(WriteFile(f, "0123456789", 10, &n, NULL));
    assert_int_equal(SetFilePointer(f, 4, NULL, FILE_BEGIN), 4);
    SetLastError(0);
    DWORD r = SetFilePointer(f, -11, NULL, FILE_END);
    DWORD err = GetLastError();
    DWORD now = SetFilePointer(f, 0, NULL, FILE_CURRENT);
    close_ok(f);
    assert_true(DeleteFileA(p));
    assert_int_equal(r, INVALID_SET_FILE_POINTER);
    assert_int_equal(err, ERROR_NEGATIVE_SEEK);
    assert_int_equal(now, 4);
}

/* Without lpDistanceToMoveHigh, a new position that does not fit in 32
 * bits fails (SetFilePointer's documentation): a caller that passed no
 * high part would otherwise take the truncated low part for the position. */
static void test_set_file_pointer_past_4gib_without_high_part(void **state)
{
    (void)state;
    const char *p = scratch("far");
    HANDLE f = file_open(p, GENERIC_READ | GENERIC_WRITE, CREATE_NEW);
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_int_equal(SetFilePointer(f, 0x7FFFFFFF, NULL, FILE_BEGIN), 0x7FFFFFFFu);
    assert_int_equal(SetFilePointer(f, 0x7FFFFFFF, NULL, FILE_CURRENT), 0xFFFFFFFEu);
    SetLastError(0);
    DWORD r = SetFilePointer(f, 2, NULL, FILE_CURRENT); /* 0x1'0000'0000 */
    DWORD err = GetLastError();
    close_ok(f);
    assert_true(DeleteFileA(p));
    assert_int_equal(r, INVALID_SET_FILE_POINTER);
    assert_true(err != ERROR_SUCCESS);
}

/* A handle's access bounds what it can do: WriteFile through a handle
 * opened GENERIC_READ is ERROR_ACCESS_DENIED on Windows. */
static void test_write_through_read_only_handle_5(void **state)
{
    (void)state;
    const char *p = scratch("ro");
    HANDLE w = file_open(p, GENERIC_WRITE, CREATE_NEW);
    assert_true(w != INVALID_HANDLE_VALUE);
    close_ok(w);
    HANDLE f = file_open(p, GENERIC_READ, OPEN_EXISTING);
    assert_true(f != INVALID_HANDLE_VALUE);
    DWORD n = 99;
    SetLastError(0);
    BOOL ok = WriteFile(f, "x", 1, &n, NULL);
    DWORD err = GetLastError();
    close_ok(f);
    assert_false(ok);
    assert_int_equal(err, ERROR_ACCESS_DENIED);
    assert_int_equal(n, 0);
}

/* ... and ReadFile through a handle opened GENERIC_WRITE only. */
static void test_read_through_write_only_handle_5(void **state)
{
    (void)state;
    const char *p = scratch("wo");
    HANDLE f = file_open(p, GENERIC_WRITE, CREATE_NEW);
    assert_true(f != INVALID_HANDLE_VALUE);
    DWORD n = 99;
    assert_true(WriteFile(f, "data", 4, &n, NULL));
    assert_int_equal(SetFilePointer(f, 0, NULL, FILE_BEGIN), 0);
    char buf[4];
    SetLastError(0);
    BOOL ok = ReadFile(f, buf, sizeof buf, &n, NULL);
    DWORD err = GetLastError();
    close_ok(f);
    assert_false(ok);
    assert_int_equal(err, ERROR_ACCESS_DENIED);
}

/* FlushFileBuffers needs a handle with GENERIC_WRITE. */
static void test_flush_read_only_handle_5(void **state)
{
    (void)state;
    const char *p = scratch("flush-ro");
    HANDLE w = file_open(p, GENERIC_WRITE, CREATE_NEW);
    assert_true(w != INVALID_HANDLE_VALUE);
    close_ok(w);
    HANDLE f = file_open(p, GENERIC_READ, OPEN_EXISTING);
    assert_true(f != INVALID_HANDLE_VALUE);
    SetLastError(0);
    BOOL ok = FlushFileBuffers(f);
    DWORD err = GetLastError();
    close_ok(f);
    assert_false(ok);
    assert_int_equal(err, ERROR_ACCESS_DENIED);
}

static void test_delete_on_close(void **state)
{
    (void)state;
    const char *p = scratch("temp");
    HANDLE f = CreateFileA(p, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    DWORD n;
    assert_true(WriteFile(f, "scratch", 7, &n, NULL));
    /* The data lives while the handle does, mappings included. */
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
    assert_non_null(m);
    const char *v = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    assert_non_null(v);
    assert_memory_equal(v, "scratch", 7);
    assert_true(UnmapViewOfFile(v));
    close_ok(m);
    close_ok(f);
    struct stat st;
    assert_int_equal(stat(p, &st), -1); /* gone */
}

/* ---- File-backed mappings -------------------------------------------------- */

static void test_empty_file_1006(void **state)
{
    (void)state;
    const char *p = scratch("empty");
    HANDLE f = file_open(p, GENERIC_READ | GENERIC_WRITE, CREATE_NEW);
    assert_true(f != INVALID_HANDLE_VALUE);
    struct tu_snap s;
    tu_snap_take(&s);
    SetLastError(0);
    assert_null(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL));
    assert_last_error(ERROR_FILE_INVALID);
    SetLastError(0);
    assert_null(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, "Local\\empty"));
    assert_last_error(ERROR_FILE_INVALID);
    tu_snap_check(&s);
    /* With a size, a writable mapping grows the empty file. */
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 10000, "Local\\empty");
    assert_non_null(m);
    assert_int_equal(GetFileSize(f, NULL), 10000);
    close_ok(m);
    close_ok(f);
    assert_true(DeleteFileA(p));
}

static void test_file_mapping_size_rules(void **state)
{
    (void)state;
    const char *p = scratch("sized");
    HANDLE f = file_with_pattern(p, 100000);
    /* Size 0: the file's size. */
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
    assert_non_null(m);
    const unsigned char *v = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    assert_non_null(v);
    for (uint64_t i = 0; i < 100000; i++)
        if (v[i] != pattern(i))
            fail_msg("byte %llu of the view", (unsigned long long)i);
    assert_true(UnmapViewOfFile(v));
    SetLastError(0);
    assert_null(MapViewOfFile(m, FILE_MAP_READ, 0, 0, 100001));
    assert_last_error(ERROR_ACCESS_DENIED);
    close_ok(m);

    /* Larger than the file: read-only cannot grow it (Windows:
     * ERROR_NOT_ENOUGH_MEMORY); read-write grows it. */
    SetLastError(0);
    assert_null(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 200000, NULL));
    assert_last_error(ERROR_NOT_ENOUGH_MEMORY);
    assert_int_equal(GetFileSize(f, NULL), 100000);
    m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 200000, NULL);
    assert_non_null(m);
    assert_int_equal(GetFileSize(f, NULL), 200000);
    close_ok(m);

    /* The file handle's access bounds the mapping's protection. */
    HANDLE ro = file_open(p, GENERIC_READ, OPEN_EXISTING);
    assert_true(ro != INVALID_HANDLE_VALUE);
    SetLastError(0);
    assert_null(CreateFileMappingA(ro, NULL, PAGE_READWRITE, 0, 0, NULL));
    assert_last_error(ERROR_ACCESS_DENIED);
    m = CreateFileMappingA(ro, NULL, PAGE_READONLY, 0, 0, NULL);
    assert_non_null(m);
    SetLastError(0);
    assert_null(MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0));
    assert_last_error(ERROR_ACCESS_DENIED);
    close_ok(m);
    /* Write-copy needs only read access to the file. */
    m = CreateFileMappingA(ro, NULL, PAGE_WRITECOPY, 0, 0, NULL);
    assert_non_null(m);
    unsigned char *cow = MapViewOfFile(m, FILE_MAP_COPY, 0, 0, 0);
    assert_non_null(cow);
    cow[0] = (unsigned char)~pattern(0);
    assert_true(UnmapViewOfFile(cow));
    close_ok(m);
    unsigned char first = 0;
    DWORD n = 0;
    assert_true(ReadFile(ro, &first, 1, &n, NULL));
    assert_int_equal(first, pattern(0)); /* the file never saw the private write */
    close_ok(ro);

    /* SEC_RESERVE is for memory-backed mappings only. */
    SetLastError(0);
    assert_null(CreateFileMappingA(f, NULL, PAGE_READWRITE | SEC_RESERVE, 0, 0, NULL));
    assert_last_error(ERROR_INVALID_PARAMETER);
    close_ok(f);
    assert_true(DeleteFileA(p));
}

/* A view at an offset that is not a multiple of the allocation
 * granularity: map from the offset rounded down, add the difference. */
static void test_view_at_unaligned_file_offset(void **state)
{
    (void)state;
    const uint64_t size = 3 * MiB + 12345;
    const char *p = scratch("big");
    HANDLE f = file_with_pattern(p, size);
    DWORD high = 99;
    assert_int_equal(GetFileSize(f, &high), size);
    assert_int_equal(high, 0);
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
    assert_non_null(m);
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    const uint64_t gran = si.dwAllocationGranularity;
    const uint64_t offsets[] = {1, 65535, 65537, MiB + 4097, 2 * MiB + 333333, size - 100};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        uint64_t offset = offsets[k];
        SetLastError(0);
        assert_null(MapViewOfFile(m, FILE_MAP_READ, (DWORD)(offset >> 32), (DWORD)offset, 100));
        assert_last_error(ERROR_MAPPED_ALIGNMENT);
        uint64_t base = offset / gran * gran, delta = offset - base;
        SIZE_T want = (SIZE_T)(size - offset < 100 ? size - offset : 100);
        const unsigned char *v =
            MapViewOfFile(m, FILE_MAP_READ, (DWORD)(base >> 32), (DWORD)base, delta + want);
        assert_non_null(v);
        for (SIZE_T i = 0; i < want; i++)
            if (v[delta + i] != pattern(offset + i))
                fail_msg("offset %llu + %zu", (unsigned long long)offset, (size_t)i);
        assert_true(UnmapViewOfFile(v));
    }
    /* Length 0 from an aligned offset: to the end of the file. */
    const unsigned char *tail = MapViewOfFile(m, FILE_MAP_READ, 0, (DWORD)(3 * MiB), 0);
    assert_non_null(tail);
    for (uint64_t i = 0; i < 12345; i++)
        assert_int_equal(tail[i], pattern(3 * MiB + i));
    assert_true(UnmapViewOfFile(tail));
    close_ok(m);
    close_ok(f);
    assert_true(DeleteFileA(p));
}

/* Writes through a view reach the file (FlushViewOfFile before reading it
 * back); the file's writes show in the view. */
static void test_file_view_flush_and_coherence(void **state)
{
    (void)state;
    const char *p = scratch("coherent");
    HANDLE f = file_with_pattern(p, 4 * 65536);
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    assert_non_null(m);
    char *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 65536, 65536);
    assert_non_null(v);
    memcpy(v + 10, "via the view", 12);
    SetLastError(77);
    assert_true(FlushViewOfFile(v + 10, 12));
    assert_last_error(ERROR_SUCCESS);
    assert_true(FlushViewOfFile(v, 0));
    char buf[16] = "";
    DWORD n = 0;
    assert_int_equal(SetFilePointer(f, 65536 + 10, NULL, FILE_BEGIN), 65536 + 10);
    assert_true(ReadFile(f, buf, 12, &n, NULL));
    assert_memory_equal(buf, "via the view", 12);
    OVERLAPPED ov = {0};
    ov.Offset = 65536 + 100;
    assert_true(WriteFile(f, "via WriteFile", 13, &n, &ov));
    assert_memory_equal(v + 100, "via WriteFile", 13);
    /* Flushing past the view's end is no flush of this view. */
    SetLastError(0);
    assert_false(FlushViewOfFile(v, 2 * 65536));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    assert_true(UnmapViewOfFile(v));
    close_ok(m);
    assert_true(FlushFileBuffers(f));
    close_ok(f);
    assert_true(DeleteFileA(p));
}

static void open_file_mapping_child(void *arg)
{
    (void)arg;
    HANDLE m = OpenFileMappingA(FILE_MAP_WRITE, FALSE, "Local\\filemap");
    TU_CHILD_CHECK(m != NULL);
    char *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    TU_CHILD_CHECK(v != NULL);
    TU_CHILD_CHECK(memcmp(v, "parent", 6) == 0);
    memcpy(v + 4096, "child", 5);
    TU_CHILD_CHECK(FlushViewOfFile(v, 0));
    TU_CHILD_CHECK(UnmapViewOfFile(v));
    /* Creating it again opens it: 183, the file's mapping. */
    HANDLE again =
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 1, "Local\\filemap");
    TU_CHILD_CHECK(again != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    TU_CHILD_CHECK(CloseHandle(again));
    TU_CHILD_CHECK(CloseHandle(m));
}

/* A named file-backed mapping: another process opens it by name. */
static void test_named_file_mapping_across_processes(void **state)
{
    (void)state;
    const char *p = scratch("named-file");
    HANDLE f = file_open(p, GENERIC_READ | GENERIC_WRITE, CREATE_NEW);
    assert_true(f != INVALID_HANDLE_VALUE);
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 8192, "Local\\filemap");
    assert_non_null(m);
    assert_last_error(ERROR_SUCCESS);
    close_ok(f); /* the mapping keeps the file */
    char *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    assert_non_null(v);
    memcpy(v, "parent", 6);
    tu_wait_ok(tu_fork(open_file_mapping_child, NULL));
    assert_memory_equal(v + 4096, "child", 5);
    assert_true(UnmapViewOfFile(v));
    close_ok(m);
    /* The data is in the file. */
    f = file_open(p, GENERIC_READ, OPEN_EXISTING);
    assert_true(f != INVALID_HANDLE_VALUE);
    char buf[8] = "";
    DWORD n;
    assert_int_equal(SetFilePointer(f, 4096, NULL, FILE_BEGIN), 4096);
    assert_true(ReadFile(f, buf, 5, &n, NULL));
    assert_memory_equal(buf, "child", 5);
    close_ok(f);
    assert_true(DeleteFileA(p));
}

/* ---- A full disk ------------------------------------------------------------ */

enum { DISK_OK = 0, DISK_SKIP = 77 };

static void disk_full_child(void *arg)
{
    const char *dir = arg;
    if (unshare(CLONE_NEWNS) != 0) {
        fprintf(stderr, "disk full: unshare(CLONE_NEWNS): %s\n", strerror(errno));
        _exit(DISK_SKIP);
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=16m,mode=0700") != 0) {
        fprintf(stderr, "disk full: mount: %s\n", strerror(errno));
        _exit(DISK_SKIP);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/backing", dir);
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    TU_CHILD_CHECK(f != INVALID_HANDLE_VALUE);
    DWORD n = 0;
    TU_CHILD_CHECK(WriteFile(f, "x", 1, &n, NULL) && n == 1);
    /* 64 MiB on a 16 MiB file system: ERROR_DISK_FULL, nothing left. */
    SetLastError(0);
    TU_CHILD_CHECK(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 64 << 20, NULL) == NULL);
    TU_CHILD_CHECK(GetLastError() == ERROR_DISK_FULL);
    SetLastError(0);
    TU_CHILD_CHECK(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 64 << 20, "Local\\full") == NULL);
    TU_CHILD_CHECK(GetLastError() == ERROR_DISK_FULL);
    TU_CHILD_CHECK(GetFileSize(f, NULL) == 1);
    /* What fits is committed, so writes through the view never fault. */
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 8 << 20, "Local\\full");
    TU_CHILD_CHECK(m != NULL);
    char *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    TU_CHILD_CHECK(v != NULL);
    memset(v, 'z', 8 << 20);
    TU_CHILD_CHECK(UnmapViewOfFile(v));
    TU_CHILD_CHECK(CloseHandle(m));
    TU_CHILD_CHECK(CloseHandle(f));
    TU_CHILD_CHECK(DeleteFileA(path));
    _exit(DISK_OK);
}

static void test_disk_full_112(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("disk full test skipped: needs root (a private mount namespace)\n");
        skip();
    }
    char dir[4096];
    tu_scratch_path(dir, sizeof dir, "small-fs");
    assert_int_equal(mkdir(dir, 0700), 0);
    int rc = tu_wait_exit(tu_fork(disk_full_child, dir));
    rmdir(dir);
    if (rc == DISK_SKIP) {
        print_message("disk full test skipped: no private mount namespace here\n");
        skip();
    }
    assert_int_equal(rc, DISK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_file_dispositions, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_file_path_not_found_3, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_create_file_on_directory_5, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_write_and_pointer, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_negative_seek_from_end_leaves_pointer, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_set_file_pointer_past_4gib_without_high_part, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_through_read_only_handle_5, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_through_write_only_handle_5, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_flush_read_only_handle_5, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_delete_on_close, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_1006, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_file_mapping_size_rules, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_view_at_unaligned_file_offset, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_file_view_flush_and_coherence, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_named_file_mapping_across_processes, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_112, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
