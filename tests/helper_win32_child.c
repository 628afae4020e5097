/* helper_win32_child.c - the program test_win32 fork+execs to check what a
 * Win32 program can do with handles it inherited: the parent passes handle
 * values (and pipe descriptors) on the command line, as Windows programs
 * do, and this program uses them directly.
 *
 * Commands, run in order (exit 0 when all pass, 10 + the index of the
 * first failing command's word otherwise):
 *   map H OFFSET TEXT    MapViewOfFile(H, FILE_MAP_WRITE), write TEXT at OFFSET
 *   read H OFFSET TEXT   MapViewOfFile(H, FILE_MAP_READ), TEXT is at OFFSET
 *   readonly H           a write view of H fails with ERROR_ACCESS_DENIED,
 *                        a read view works
 *   invalid H            MapViewOfFile(H) fails with ERROR_INVALID_HANDLE
 *   write H TEXT         WriteFile(H, TEXT) (an inherited file handle)
 *   close H              CloseHandle(H) succeeds
 *   absent NAME          OpenFileMapping(NAME) fails with ERROR_FILE_NOT_FOUND
 *   setevent NAME        OpenEvent(NAME) and SetEvent it
 *   set H                SetEvent(H) on an inherited event handle
 *   lock H               WaitForSingleObject(H) takes an inherited mutex
 *                        handle, then ReleaseMutex(H)
 *   signal FD            write one byte to the (inherited) descriptor FD
 *   wait FD              read one byte (or end of file) from FD
 * Handle values are decimal numbers.  It uses only the Win32 layer, not the
 * test utilities. */
#include "shmap/win32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static HANDLE handle_arg(const char *s)
{
    return (HANDLE)(uintptr_t)strtoull(s, NULL, 10);
}

static int failed(const char *what)
{
    fprintf(stderr, "helper_win32_child: %s (GetLastError %lu)\n", what,
            (unsigned long)GetLastError());
    return 1;
}

static int do_map(HANDLE h, long offset, const char *text, BOOL writing)
{
    char *v = MapViewOfFile(h, writing ? FILE_MAP_WRITE : FILE_MAP_READ, 0, 0, 0);
    if (!v)
        return failed("MapViewOfFile of the inherited handle");
    int rc = 0;
    if (writing)
        strcpy(v + offset, text);
    else if (strcmp(v + offset, text) != 0)
        rc = failed("the parent's data is not in the view");
    if (!UnmapViewOfFile(v))
        return failed("UnmapViewOfFile");
    return rc;
}

static int do_readonly(HANDLE h)
{
    void *v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (v) {
        UnmapViewOfFile(v);
        return failed("a write view of an inherited read-only handle was mapped");
    }
    if (GetLastError() != ERROR_ACCESS_DENIED)
        return failed("a write view of a read-only handle: not ERROR_ACCESS_DENIED");
    v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    if (!v)
        return failed("a read view of an inherited read-only handle");
    UnmapViewOfFile(v);
    return 0;
}

static int do_invalid(HANDLE h)
{
    void *v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    if (v) {
        UnmapViewOfFile(v);
        return failed("a handle that was not inherited could be mapped");
    }
    return GetLastError() == ERROR_INVALID_HANDLE ? 0 : failed("not ERROR_INVALID_HANDLE");
}

static int do_write(HANDLE h, const char *text)
{
    DWORD n = 0;
    if (!WriteFile(h, text, (DWORD)strlen(text), &n, NULL) || n != strlen(text))
        return failed("WriteFile on the inherited file handle");
    return 0;
}

static int do_absent(const char *name)
{
    HANDLE h = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    if (h) {
        CloseHandle(h);
        return failed("OpenFileMapping of a name that should be gone succeeded");
    }
    return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : failed("not ERROR_FILE_NOT_FOUND");
}

static int do_setevent(const char *name)
{
    HANDLE e = OpenEventA(EVENT_MODIFY_STATE, FALSE, name);
    if (!e)
        return failed("OpenEvent");
    int rc = SetEvent(e) ? 0 : failed("SetEvent");
    CloseHandle(e);
    return rc;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc;) {
        const char *cmd = argv[i];
        int rc, args;
        if (strcmp(cmd, "map") == 0 || strcmp(cmd, "read") == 0) {
            args = 3;
            rc = i + args < argc ? do_map(handle_arg(argv[i + 1]), atol(argv[i + 2]), argv[i + 3],
                                          cmd[0] == 'm')
                                 : -1;
        } else if (strcmp(cmd, "readonly") == 0) {
            args = 1;
            rc = i + args < argc ? do_readonly(handle_arg(argv[i + 1])) : -1;
        } else if (strcmp(cmd, "invalid") == 0) {
            args = 1;
            rc = i + args < argc ? do_invalid(handle_arg(argv[i + 1])) : -1;
        } else if (strcmp(cmd, "write") == 0) {
            args = 2;
            rc = i + args < argc ? do_write(handle_arg(argv[i + 1]), argv[i + 2]) : -1;
        } else if (strcmp(cmd, "close") == 0) {
            args = 1;
            rc = i + args < argc
                     ? (CloseHandle(handle_arg(argv[i + 1])) ? 0 : failed("CloseHandle"))
                     : -1;
        } else if (strcmp(cmd, "absent") == 0) {
            args = 1;
            rc = i + args < argc ? do_absent(argv[i + 1]) : -1;
        } else if (strcmp(cmd, "setevent") == 0) {
            args = 1;
            rc = i + args < argc ? do_setevent(argv[i + 1]) : -1;
        } else if (strcmp(cmd, "set") == 0) {
            args = 1;
            rc =
                i + args < argc ? (SetEvent(handle_arg(argv[i + 1])) ? 0 : failed("SetEvent")) : -1;
        } else if (strcmp(cmd, "lock") == 0) {
            args = 1;
            HANDLE m = i + args < argc ? handle_arg(argv[i + 1]) : NULL;
            rc = m && WaitForSingleObject(m, INFINITE) == WAIT_OBJECT_0 && ReleaseMutex(m)
                     ? 0
                     : failed("lock");
        } else if (strcmp(cmd, "signal") == 0) {
            args = 1;
            rc = i + args < argc && write(atoi(argv[i + 1]), "s", 1) == 1 ? 0 : failed("signal");
        } else if (strcmp(cmd, "wait") == 0) {
            args = 1;
            char c;
            rc = i + args < argc && read(atoi(argv[i + 1]), &c, 1) >= 0 ? 0 : failed("wait");
        } else {
            fprintf(stderr, "helper_win32_child: bad command %s\n", cmd);
            return 64;
        }
        if (rc < 0) {
            fprintf(stderr, "helper_win32_child: %s: missing arguments\n", cmd);
            return 64;
        }
        if (rc != 0)
            return 10 + i;
        i += 1 + args;
    }
    return 0;
}
