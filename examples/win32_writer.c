/*
 * win32_writer.c - the writing half of the classic Win32 shared-memory pair
 * (run win32_reader while this one waits): it creates a named file mapping
 * backed by the paging file, writes a message into a view of it, and waits
 * until a reader says, through a named event, that it has read it.  Only
 * the Win32 API is used; it builds on Windows as it is.
 *
 *   win32_writer [SECONDS]     wait up to SECONDS (default 60) for a reader
 *
 * Exits 0 when a reader read the message, 1 otherwise.
 */
#include <windows.h> /* shmap's, from include/shmap/compat */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARED_SIZE 4096
#define MAPPING_NAME TEXT("Local\\shmap-example-message")
#define READ_EVENT_NAME TEXT("Local\\shmap-example-message-read")

static int fail(const char *what)
{
    printf("writer: %s failed (error %lu)\n", what, (unsigned long)GetLastError());
    return 1;
}

int main(int argc, char **argv)
{
    DWORD seconds = argc > 1 ? (DWORD)strtoul(argv[1], NULL, 10) : 60;

    HANDLE hMapping =
        CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SHARED_SIZE, MAPPING_NAME);
    if (hMapping == NULL)
        return fail("CreateFileMapping");
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        printf("writer: the mapping exists already: is another writer running?\n");
        CloseHandle(hMapping);
        return 1;
    }
    printf("writer: created the mapping Local\\shmap-example-message (%d bytes)\n", SHARED_SIZE);

    /* The reader tells us it is done through this manual-reset event. */
    HANDLE hRead = CreateEvent(NULL, TRUE, FALSE, READ_EVENT_NAME);
    if (hRead == NULL) {
        CloseHandle(hMapping);
        return fail("CreateEvent");
    }

    char *view = MapViewOfFile(hMapping, FILE_MAP_WRITE, 0, 0, SHARED_SIZE);
    if (view == NULL) {
        CloseHandle(hRead);
        CloseHandle(hMapping);
        return fail("MapViewOfFile");
    }
    snprintf(view, SHARED_SIZE, "Hello from the writer (process %lu), through shared memory!",
             (unsigned long)GetCurrentProcessId());
    printf("writer: wrote the message: %s\n", view);
    printf("writer: waiting for a reader (up to %lu s)\n", (unsigned long)seconds);
    fflush(stdout);

    int rc = 1;
    switch (WaitForSingleObject(hRead, seconds * 1000)) {
    case WAIT_OBJECT_0:
        printf("writer: the reader has read the message\n");
        rc = 0;
        break;
    case WAIT_TIMEOUT:
        printf("writer: no reader came within %lu s\n", (unsigned long)seconds);
        break;
    default:
        fail("WaitForSingleObject");
        break;
    }

    /* Closing the last handle removes the name; nothing stays behind. */
    UnmapViewOfFile(view);
    CloseHandle(hRead);
    CloseHandle(hMapping);
    printf("writer: done\n");
    return rc;
}
