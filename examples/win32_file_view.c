/*
 * win32_file_view.c - a view of a large file at an offset that is not a
 * multiple of the allocation granularity, done the Win32 way: create a file
 * of 3 MiB plus an odd number of bytes with CreateFile/WriteFile, map it
 * with CreateFileMapping, ask GetSystemInfo for dwAllocationGranularity,
 * map the view from the offset rounded down to it and add the difference.
 * It checks the bytes it reads, writes through a view and reads the change
 * back with ReadFile, then deletes the file.  Only the Win32 API is used.
 *
 *   win32_file_view [FILE]    default: win32_file_view.dat in the current directory
 *
 * Exits 0 when every check passed.
 */
#include <windows.h> /* shmap's, from include/shmap/compat */

#include <stdio.h>
#include <string.h>

#define FILE_SIZE (3u * 1024 * 1024 + 54321) /* 3 MiB and some */

/* The byte the file holds at POS: different for every nearby position. */
static BYTE byte_at(DWORD pos)
{
    return (BYTE)(pos * 7 + (pos >> 8) + (pos >> 16));
}

static int fail(const char *what)
{
    printf("%s failed (error %lu)\n", what, (unsigned long)GetLastError());
    return 1;
}

/* Maps LENGTH bytes at OFFSET (any offset) of MAPPING; returns a pointer to
 * the byte at OFFSET, and in *BASE the view to unmap later. */
static BYTE *map_at(HANDLE mapping, DWORD access, DWORD offset, DWORD length, DWORD granularity,
                    void **base)
{
    DWORD aligned = offset / granularity * granularity;
    DWORD delta = offset - aligned;
    *base = MapViewOfFile(mapping, access, 0, aligned, (SIZE_T)delta + length);
    if (*base == NULL)
        return NULL;
    printf("  view from offset %lu (= %lu rounded down to %lu), + %lu to reach %lu\n",
           (unsigned long)aligned, (unsigned long)offset, (unsigned long)granularity,
           (unsigned long)delta, (unsigned long)offset);
    return (BYTE *)*base + delta;
}

/* Counts the bytes of [P, P+LENGTH) that are not what OFFSET.. holds. */
static DWORD mismatches(const BYTE *p, DWORD offset, DWORD length)
{
    DWORD bad = 0;
    for (DWORD i = 0; i < length; i++)
        bad += p[i] != byte_at(offset + i);
    return bad;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "win32_file_view.dat";
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    printf("allocation granularity: %lu bytes (page size %lu)\n",
           (unsigned long)si.dwAllocationGranularity, (unsigned long)si.dwPageSize);

    /* 1. A file of FILE_SIZE bytes. */
    HANDLE hFile = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                               FILE_ATTRIBUTE_NORMAL, NULL);
    if (hFile == INVALID_HANDLE_VALUE)
        return fail("CreateFile");
    static BYTE chunk[65536];
    for (DWORD done = 0; done < FILE_SIZE;) {
        DWORD n = FILE_SIZE - done < sizeof chunk ? FILE_SIZE - done : (DWORD)sizeof chunk;
        DWORD written = 0;
        for (DWORD i = 0; i < n; i++)
            chunk[i] = byte_at(done + i);
        if (!WriteFile(hFile, chunk, n, &written, NULL) || written != n)
            return fail("WriteFile");
        done += n;
    }
    DWORD high = 0, size = GetFileSize(hFile, &high);
    printf("created %s: %lu bytes\n", path, (unsigned long)size);

    HANDLE hMapping = CreateFileMapping(hFile, NULL, PAGE_READWRITE, 0, 0, NULL);
    if (hMapping == NULL)
        return fail("CreateFileMapping");

    /* 2. The offset as it is: refused, it is not a multiple of 64 KiB. */
    const DWORD offset = 2000003, length = 100000;
    void *base = MapViewOfFile(hMapping, FILE_MAP_READ, 0, offset, length);
    if (base != NULL || GetLastError() != ERROR_MAPPED_ALIGNMENT) {
        printf("a view at offset %lu was not refused with ERROR_MAPPED_ALIGNMENT\n",
               (unsigned long)offset);
        return 1;
    }
    printf("MapViewOfFile at offset %lu: ERROR_MAPPED_ALIGNMENT, as on Windows\n",
           (unsigned long)offset);

    /* 3. Rounded down, plus the difference. */
    int rc = 0;
    printf("reading %lu bytes at offset %lu:\n", (unsigned long)length, (unsigned long)offset);
    const BYTE *p =
        map_at(hMapping, FILE_MAP_READ, offset, length, si.dwAllocationGranularity, &base);
    if (p == NULL)
        return fail("MapViewOfFile");
    DWORD bad = mismatches(p, offset, length);
    printf("  %lu bytes checked, %lu wrong\n", (unsigned long)length, (unsigned long)bad);
    rc |= bad != 0;
    UnmapViewOfFile(base);

    /* The last bytes of the file: length to the end. */
    const DWORD tail = FILE_SIZE - 1001;
    printf("reading the last %lu bytes, from offset %lu:\n", (unsigned long)(FILE_SIZE - tail),
           (unsigned long)tail);
    p = map_at(hMapping, FILE_MAP_READ, tail, FILE_SIZE - tail, si.dwAllocationGranularity, &base);
    if (p == NULL)
        return fail("MapViewOfFile");
    bad = mismatches(p, tail, FILE_SIZE - tail);
    printf("  %lu bytes checked, %lu wrong\n", (unsigned long)(FILE_SIZE - tail),
           (unsigned long)bad);
    rc |= bad != 0;
    UnmapViewOfFile(base);

    /* 4. Write through a view at an odd offset; the file sees it. */
    const DWORD where = 1234567;
    static const char note[] = "written through a view";
    printf("writing at offset %lu:\n", (unsigned long)where);
    BYTE *w =
        map_at(hMapping, FILE_MAP_WRITE, where, sizeof note, si.dwAllocationGranularity, &base);
    if (w == NULL)
        return fail("MapViewOfFile");
    memcpy(w, note, sizeof note);
    if (!FlushViewOfFile(w, sizeof note))
        return fail("FlushViewOfFile");
    UnmapViewOfFile(base);
    char back[sizeof note] = "";
    DWORD got = 0;
    if (SetFilePointer(hFile, (LONG)where, NULL, FILE_BEGIN) != where ||
        !ReadFile(hFile, back, sizeof back, &got, NULL))
        return fail("ReadFile");
    int same = got == sizeof note && memcmp(back, note, sizeof note) == 0;
    printf("  ReadFile at offset %lu finds \"%s\": %s\n", (unsigned long)where, back,
           same ? "the same" : "DIFFERENT");
    rc |= !same;

    CloseHandle(hMapping);
    CloseHandle(hFile);
    if (!DeleteFileA(path))
        return fail("DeleteFile");
    printf("%s\n", rc == 0 ? "all checks passed" : "SOME CHECKS FAILED");
    return rc;
}
