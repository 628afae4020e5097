/*
 * win32_dll_child.c - the child of win32_dll_parent: it loads its own copy
 * of libsharedmem.so, whose constructor opens the named mapping the parent's
 * copy created, prints the string the parent stored there and stores a
 * reply.  Run on its own (no parent holding the memory) it finds the memory
 * new and empty, says so, and exits 1.
 */
#include <windows.h> /* shmap's, from include/shmap/compat */

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef BOOL (*SetSharedMemFn)(LPCSTR);
typedef BOOL (*GetSharedMemFn)(LPSTR, DWORD);
typedef BOOL (*CreatedHereFn)(void);

int main(void)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return 1;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0),
             "libsharedmem.so");
    void *lib = dlopen(path, RTLD_NOW);
    if (lib == NULL) {
        printf("child: cannot load the library: %s\n", dlerror());
        return 1;
    }
    SetSharedMemFn set = (SetSharedMemFn)dlsym(lib, "SetSharedMem");
    GetSharedMemFn get = (GetSharedMemFn)dlsym(lib, "GetSharedMem");
    CreatedHereFn created_here = (CreatedHereFn)dlsym(lib, "SharedMemCreatedHere");
    if (!set || !get || !created_here) {
        printf("child: the library lacks its exports\n");
        dlclose(lib);
        return 1;
    }
    int rc = 1;
    char text[128] = "";
    if (created_here()) {
        printf("child: the shared memory is new: no parent holds it\n");
    } else if (!get(text, sizeof text)) {
        printf("child: GetSharedMem failed (error %lu)\n", (unsigned long)GetLastError());
    } else {
        printf("child: my copy of the library opened the existing shared memory\n");
        printf("child: read \"%s\"\n", text);
        char reply[128];
        snprintf(reply, sizeof reply, "thanks from the child, process %lu",
                 (unsigned long)GetCurrentProcessId());
        if (set(reply)) {
            printf("child: stored \"%s\"\n", reply);
            rc = text[0] ? 0 : 1;
        }
    }
    dlclose(lib);
    return rc;
}
