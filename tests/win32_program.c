/* win32_program.c - a small Win32 program that tests/win32_unicode.sh
 * compiles twice, with and without UNICODE, against shmap's <windows.h>:
 * it uses TEXT("...") names (some of them not ASCII) and the unsuffixed
 * CreateFileMapping / OpenFileMapping / CreateMutex / CreateEvent ...
 * macros, so that one build calls the W functions and the other the A
 * functions.  Run as "serve" by one build and "visit" by the other, the two
 * exchange data through the same named objects, which shows that the W and
 * A paths resolve a name to the same object.
 *
 *   win32_program serve    create the objects, write a greeting, print
 *                          "ready", wait for the visitor's reply
 *   win32_program visit    open the objects, read the greeting, reply
 *   win32_program info     print which build this is
 *
 * Exits 0 when every check passed; prints "FAIL ..." lines otherwise. */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#ifdef UNICODE
#define BUILD "UNICODE"
_Static_assert(sizeof(TCHAR) == 2, "TCHAR is WCHAR with UNICODE");
_Static_assert(sizeof(TEXT("x")[0]) == 2, "TEXT() makes UTF-16 literals with UNICODE");
#else
#define BUILD "ANSI"
_Static_assert(sizeof(TCHAR) == 1, "TCHAR is char without UNICODE");
#endif

/* Names with characters outside ASCII, one outside the BMP (a surrogate
 * pair in UTF-16): both builds must reach the same UTF-8 name. */
#define MAP_NAME TEXT("Local\\shmap-w32-\u00e9t\u00e9-\u65e5\u672c-\U0001F600-map")
#define MUTEX_NAME TEXT("Local\\shmap-w32-\u00e9t\u00e9-mutex")
#define EVENT_NAME TEXT("Local\\shmap-w32-\u00e9t\u00e9-done")
#define SEM_NAME TEXT("Local\\shmap-w32-sem")
#define SEM_BARE_NAME TEXT("shmap-w32-sem") /* Local\ is the default */

struct shared {
    char greeting[128];
    char reply[128];
};

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s: %s (GetLastError %lu)\n", BUILD, what, (unsigned long)GetLastError());
        failures++;
    }
}

static int serve(void)
{
    SetLastError(ERROR_GEN_FAILURE);
    HANDLE map = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                   sizeof(struct shared), MAP_NAME);
    check(map != NULL && GetLastError() == ERROR_SUCCESS, "CreateFileMapping creates");
    HANDLE mutex = CreateMutex(NULL, TRUE, MUTEX_NAME);
    check(mutex != NULL && GetLastError() == ERROR_SUCCESS, "CreateMutex creates");
    HANDLE done = CreateEvent(NULL, FALSE, FALSE, EVENT_NAME);
    check(done != NULL && GetLastError() == ERROR_SUCCESS, "CreateEvent creates");
    HANDLE sem = CreateSemaphore(NULL, 0, 10, SEM_NAME);
    check(sem != NULL && GetLastError() == ERROR_SUCCESS, "CreateSemaphore creates");
    if (failures)
        return 1;
    struct shared *s = MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
    check(s != NULL, "MapViewOfFile");
    if (!s)
        return 1;
    snprintf(s->greeting, sizeof s->greeting, "hello from the %s build", BUILD);
    check(ReleaseMutex(mutex), "ReleaseMutex");
    printf("serve %s: ready\n", BUILD);
    fflush(stdout);

    check(WaitForSingleObject(done, 20000) == WAIT_OBJECT_0, "the visitor's event");
    check(WaitForSingleObject(mutex, 0) == WAIT_OBJECT_0, "the mutex is free again");
    printf("serve %s: got \"%s\"\n", BUILD, s->reply);
    check(ReleaseMutex(mutex), "ReleaseMutex");
    LONG count = -1;
    check(ReleaseSemaphore(sem, 1, &count) && count == 3, "the visitor released the semaphore 3");

    UnmapViewOfFile(s);
    CloseHandle(sem);
    CloseHandle(done);
    CloseHandle(mutex);
    CloseHandle(map);
    return failures ? 1 : 0;
}

static int visit(void)
{
    HANDLE map = OpenFileMapping(FILE_MAP_WRITE, FALSE, MAP_NAME);
    check(map != NULL, "OpenFileMapping");
    HANDLE again = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 1, MAP_NAME);
    check(again != NULL && GetLastError() == ERROR_ALREADY_EXISTS,
          "CreateFileMapping of the name says ERROR_ALREADY_EXISTS");
    HANDLE mutex = OpenMutex(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, MUTEX_NAME);
    check(mutex != NULL, "OpenMutex");
    HANDLE mutex2 = CreateMutex(NULL, FALSE, MUTEX_NAME);
    check(mutex2 != NULL && GetLastError() == ERROR_ALREADY_EXISTS,
          "CreateMutex of the name says ERROR_ALREADY_EXISTS");
    HANDLE clash = CreateEvent(NULL, FALSE, FALSE, MAP_NAME);
    check(clash == NULL && GetLastError() == ERROR_INVALID_HANDLE,
          "CreateEvent with the mapping's name says ERROR_INVALID_HANDLE");
    HANDLE done = OpenEvent(EVENT_MODIFY_STATE, FALSE, EVENT_NAME);
    check(done != NULL, "OpenEvent");
    HANDLE sem = OpenSemaphore(SEMAPHORE_MODIFY_STATE, FALSE, SEM_BARE_NAME);
    check(sem != NULL, "OpenSemaphore of the bare name");
    if (failures)
        return 1;

    struct shared *s = MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
    check(s != NULL, "MapViewOfFile");
    if (!s)
        return 1;
    check(WaitForSingleObject(mutex, 20000) == WAIT_OBJECT_0, "WaitForSingleObject(mutex)");
    printf("visit %s: read \"%s\"\n", BUILD, s->greeting);
    check(strncmp(s->greeting, "hello from the ", 15) == 0, "the greeting is there");
    snprintf(s->reply, sizeof s->reply, "reply from the %s build", BUILD);
    check(ReleaseMutex(mutex), "ReleaseMutex");
    check(ReleaseSemaphore(sem, 3, NULL), "ReleaseSemaphore");
    check(SetEvent(done), "SetEvent");

    UnmapViewOfFile(s);
    CloseHandle(sem);
    CloseHandle(done);
    CloseHandle(mutex2);
    CloseHandle(mutex);
    CloseHandle(again);
    CloseHandle(map);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "serve") == 0)
        return serve();
    if (argc == 2 && strcmp(argv[1], "visit") == 0)
        return visit();
    if (argc == 2 && strcmp(argv[1], "info") == 0) {
        printf("%s build: TCHAR is %u byte(s)\n", BUILD, (unsigned)sizeof(TCHAR));
        return 0;
    }
    fprintf(stderr, "usage: win32_program serve|visit|info\n");
    return 64;
}
