/*
 * win32_reader.c - the reading half of the classic Win32 shared-memory pair:
 * while win32_writer waits, this program opens its named file mapping
 * read-only, prints the message it finds in a view, shows that a read-only
 * handle gives no write view, and tells the writer it is done through a
 * named event.  Only the Win32 API is used; it builds on Windows as it is.
 *
 * Exits 0 when it read a message, 1 otherwise (for example with no writer
 * running: OpenFileMapping fails with ERROR_FILE_NOT_FOUND).
 */
#include <windows.h> /* shmap's, from include/shmap/compat */

#include <stdio.h>
#include <string.h>

#define MAPPING_NAME TEXT("Local\\shmap-example-message")
#define READ_EVENT_NAME TEXT("Local\\shmap-example-message-read")

int main(void)
{
    HANDLE hMapping = OpenFileMapping(FILE_MAP_READ, FALSE, MAPPING_NAME);
    if (hMapping == NULL) {
        DWORD err = GetLastError();
        printf("reader: OpenFileMapping failed (error %lu)%s\n", (unsigned long)err,
               err == ERROR_FILE_NOT_FOUND ? ": no writer is running" : "");
        return 1;
    }

    /* Length 0: the whole object, whatever size the writer chose. */
    const char *view = MapViewOfFile(hMapping, FILE_MAP_READ, 0, 0, 0);
    if (view == NULL) {
        printf("reader: MapViewOfFile failed (error %lu)\n", (unsigned long)GetLastError());
        CloseHandle(hMapping);
        return 1;
    }
    printf("reader: the message is: %s\n", view);
    int rc = view[0] != '\0' ? 0 : 1;

    /* The handle was opened for reading only: a write view is refused. */
    void *writable = MapViewOfFile(hMapping, FILE_MAP_WRITE, 0, 0, 0);
    if (writable == NULL && GetLastError() == ERROR_ACCESS_DENIED) {
        printf("reader: a write view through the read-only handle is refused "
               "(ERROR_ACCESS_DENIED), as it should be\n");
    } else {
        printf("reader: a write view through a read-only handle was not refused\n");
        if (writable)
            UnmapViewOfFile(writable);
        rc = 1;
    }
    UnmapViewOfFile(view);
    CloseHandle(hMapping);

    HANDLE hRead = OpenEvent(EVENT_MODIFY_STATE, FALSE, READ_EVENT_NAME);
    if (hRead == NULL || !SetEvent(hRead)) {
        printf("reader: could not tell the writer (error %lu)\n", (unsigned long)GetLastError());
        rc = 1;
    } else {
        printf("reader: told the writer the message was read\n");
    }
    if (hRead)
        CloseHandle(hRead);
    return rc;
}
