/*
 * win32_dll_parent.c - memory shared through a shared library (a "DLL"):
 * this program loads libsharedmem.so (whose load-time constructor creates
 * the library's named file mapping), stores a string through the library,
 * starts win32_dll_child, which loads its own copy of the library and reads
 * the string back, and then reads the child's reply.
 *
 * On Windows the loading would be LoadLibrary/GetProcAddress and the child
 * would be started with CreateProcess; here they are dlopen/dlsym and
 * fork+exec.  Everything about the memory is the Win32 API, inside the
 * library.  The library and the child are looked up beside this program.
 *
 * Exits 0 when the child read the string and replied.
 */
#include <windows.h> /* shmap's, from include/shmap/compat */

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef BOOL (*SetSharedMemFn)(LPCSTR);
typedef BOOL (*GetSharedMemFn)(LPSTR, DWORD);
typedef BOOL (*CreatedHereFn)(void);

/* Writes into BUF the path of NAME in this program's directory. */
static int beside_me(const char *name, char *buf, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    return snprintf(buf, size, "%s/%s", self, name) < (int)size ? 0 : -1;
}

/* Starts the child program and waits for it; returns its exit status. */
static int run_child(const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl(path, path, (char *)NULL);
        printf("parent: cannot start %s\n", path);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
    char lib_path[PATH_MAX], child_path[PATH_MAX];
    if (beside_me("libsharedmem.so", lib_path, sizeof lib_path) != 0 ||
        beside_me("win32_dll_child", child_path, sizeof child_path) != 0) {
        printf("parent: cannot find my own directory\n");
        return 1;
    }
    void *lib = dlopen(lib_path, RTLD_NOW); /* LoadLibrary */
    if (lib == NULL) {
        printf("parent: cannot load the library: %s\n", dlerror());
        return 1;
    }
    SetSharedMemFn set = (SetSharedMemFn)dlsym(lib, "SetSharedMem"); /* GetProcAddress */
    GetSharedMemFn get = (GetSharedMemFn)dlsym(lib, "GetSharedMem");
    CreatedHereFn created_here = (CreatedHereFn)dlsym(lib, "SharedMemCreatedHere");
    if (!set || !get || !created_here) {
        printf("parent: the library lacks its exports\n");
        dlclose(lib);
        return 1;
    }
    printf("parent: loaded libsharedmem.so; its shared memory was %s\n",
           created_here() ? "created by this load" : "already there");

    char message[128];
    snprintf(message, sizeof message, "greetings from the parent, process %lu",
             (unsigned long)GetCurrentProcessId());
    if (!set(message)) {
        printf("parent: SetSharedMem failed (error %lu)\n", (unsigned long)GetLastError());
        dlclose(lib);
        return 1;
    }
    printf("parent: stored \"%s\"\n", message);

    printf("parent: starting the child\n");
    int status = run_child(child_path);
    printf("parent: the child exited with status %d\n", status);

    char reply[128] = "";
    int rc = 1;
    if (!get(reply, sizeof reply))
        printf("parent: GetSharedMem failed (error %lu)\n", (unsigned long)GetLastError());
    else if (status == 0 && strstr(reply, "child") != NULL) {
        printf("parent: the child left \"%s\"\n", reply);
        rc = 0;
    } else {
        printf("parent: no reply from the child (the memory holds \"%s\")\n", reply);
    }

    dlclose(lib); /* FreeLibrary: the destructor unmaps and closes */
    printf("parent: unloaded the library: %s\n", rc == 0 ? "success" : "FAILED");
    return rc;
}
