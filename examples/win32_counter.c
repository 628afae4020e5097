/*
 * win32_counter.c - two processes increment one counter in shared memory
 * under a named mutex; then one of them dies while it owns the mutex, in
 * the middle of an update, and the other's WaitForSingleObject returns
 * WAIT_ABANDONED: it repairs the half-done update from the undo record the
 * update keeps, checks the counter, and carries on.
 *
 * The program starts a second copy of itself ("win32_counter worker"),
 * which opens every object by name.  On Windows that would be
 * CreateProcess and TerminateProcess; here they are fork+exec and kill
 * (SIGKILL, which nothing can catch: the worker really dies).  The rest is
 * the Win32 API.  The two copies synchronize through named objects only, no
 * sleeping.
 *
 * Exits 0 when the final counter is exactly what the increments make.
 */
#include <windows.h> /* shmap's, from include/shmap/compat */

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 20000 /* increments by each process */
#define AFTER 5      /* more increments by the survivor */
#define PATIENCE 30000

#define MAPPING_NAME TEXT("Local\\shmap-example-counter")
#define MUTEX_NAME TEXT("Local\\shmap-example-counter-lock")
#define READY_NAME TEXT("Local\\shmap-example-counter-ready")
#define HOLDING_NAME TEXT("Local\\shmap-example-counter-holding")
#define DONE_NAME TEXT("Local\\shmap-example-counter-done")

/* The shared memory.  An update records what it is about to change, so
 * that whoever finds it half done can undo it. */
struct counter {
    LONG value;       /* the counter */
    LONG updates;     /* increments committed: value == updates when consistent */
    LONG in_update;   /* 1 while an update is in progress */
    LONG saved_value; /* the value before the update in progress */
    DWORD last_pid;   /* who made the last increment */
    LONG handovers;   /* increments made right after the other process's */
};

static void begin_update(struct counter *c)
{
    c->saved_value = c->value;
    c->in_update = 1;
}

static void end_update(struct counter *c)
{
    c->in_update = 0;
}

/* One increment, done the slow way on purpose (read, then write): only the
 * mutex keeps the two processes from losing increments. */
static BOOL increment(struct counter *c, HANDLE mutex)
{
    if (WaitForSingleObject(mutex, PATIENCE) != WAIT_OBJECT_0)
        return FALSE;
    begin_update(c);
    LONG v = c->value;
    c->value = v + 1;
    c->updates++;
    if (c->last_pid != 0 && c->last_pid != GetCurrentProcessId())
        c->handovers++;
    c->last_pid = GetCurrentProcessId();
    end_update(c);
    return ReleaseMutex(mutex);
}

static int worker(void)
{
    HANDLE mapping = OpenFileMapping(FILE_MAP_WRITE, FALSE, MAPPING_NAME);
    HANDLE mutex = OpenMutex(SYNCHRONIZE | MUTEX_MODIFY_STATE, FALSE, MUTEX_NAME);
    HANDLE ready = OpenEvent(EVENT_MODIFY_STATE, FALSE, READY_NAME);
    HANDLE holding = OpenEvent(EVENT_MODIFY_STATE, FALSE, HOLDING_NAME);
    HANDLE done = OpenEvent(SYNCHRONIZE, FALSE, DONE_NAME);
    struct counter *c = mapping ? MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    if (!mapping || !mutex || !ready || !holding || !done || !c) {
        printf("worker: cannot open the shared objects (error %lu)\n",
               (unsigned long)GetLastError());
        return 1;
    }
    printf("worker: started (process %lu), opened the objects by name\n",
           (unsigned long)GetCurrentProcessId());
    fflush(stdout);
    SetEvent(ready); /* both start counting now */
    for (int i = 0; i < ROUNDS; i++) {
        if (!increment(c, mutex)) {
            printf("worker: increment failed (error %lu)\n", (unsigned long)GetLastError());
            return 1;
        }
    }
    printf("worker: %d increments done\n", ROUNDS);

    /* Once the parent has done its increments too, take the mutex and
     * start an update that never ends. */
    if (WaitForSingleObject(done, PATIENCE) != WAIT_OBJECT_0 ||
        WaitForSingleObject(mutex, PATIENCE) != WAIT_OBJECT_0)
        return 1;
    begin_update(c);
    c->value += 1000; /* half done: value changed, updates not yet */
    printf("worker: owns the mutex, in the middle of an update (counter now %ld)\n",
           (long)c->value);
    fflush(stdout);
    SetEvent(holding);
    Sleep(PATIENCE); /* killed here; if nobody does, exit holding the mutex */
    return 0;
}

static pid_t start_worker(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "worker", (char *)NULL);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "worker") == 0)
        return worker();

    HANDLE mapping = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                       sizeof(struct counter), MAPPING_NAME);
    if (mapping == NULL || GetLastError() == ERROR_ALREADY_EXISTS) {
        printf("parent: cannot create the counter (error %lu)\n", (unsigned long)GetLastError());
        return 1;
    }
    HANDLE mutex = CreateMutex(NULL, FALSE, MUTEX_NAME);
    HANDLE ready = CreateEvent(NULL, FALSE, FALSE, READY_NAME);
    HANDLE holding = CreateEvent(NULL, FALSE, FALSE, HOLDING_NAME);
    HANDLE done = CreateEvent(NULL, TRUE, FALSE, DONE_NAME);
    struct counter *c = MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, 0);
    if (!mutex || !ready || !holding || !done || !c) {
        printf("parent: cannot create the objects (error %lu)\n", (unsigned long)GetLastError());
        return 1;
    }
    printf("parent: created the counter, its mutex and two events; starting a worker\n");

    pid_t pid = start_worker();
    if (pid < 0) {
        printf("parent: cannot start the worker\n");
        return 1;
    }
    if (WaitForSingleObject(ready, PATIENCE) != WAIT_OBJECT_0) {
        printf("parent: the worker did not start\n");
        kill(pid, SIGKILL);
        return 1;
    }
    for (int i = 0; i < ROUNDS; i++) {
        if (!increment(c, mutex)) {
            printf("parent: increment failed (error %lu)\n", (unsigned long)GetLastError());
            kill(pid, SIGKILL);
            return 1;
        }
    }

    /* Let the worker go on; wait until it owns the mutex mid-update, then
     * kill it. */
    SetEvent(done);
    if (WaitForSingleObject(holding, PATIENCE) != WAIT_OBJECT_0) {
        printf("parent: the worker never got to hold the mutex\n");
        kill(pid, SIGKILL);
        return 1;
    }
    printf("parent: %d increments done (the mutex passed between the processes %ld times)\n",
           ROUNDS, (long)c->handovers);
    kill(pid, SIGKILL); /* TerminateProcess */
    int status = 0;
    waitpid(pid, &status, 0);
    printf("parent: killed the worker (%s %d) while it owned the mutex\n",
           WIFSIGNALED(status) ? "signal" : "exit status",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));

    int rc = 0;
    DWORD r = WaitForSingleObject(mutex, PATIENCE);
    if (r == WAIT_ABANDONED) {
        printf("parent: WaitForSingleObject returned WAIT_ABANDONED: the mutex is mine, "
               "its owner died holding it\n");
    } else {
        printf("parent: WaitForSingleObject returned %#lx, not WAIT_ABANDONED\n", (unsigned long)r);
        rc = 1;
        if (r != WAIT_OBJECT_0)
            return 1;
    }
    if (c->in_update) {
        printf("parent: an update was left half done: rolling the counter back from %ld to "
               "%ld\n",
               (long)c->value, (long)c->saved_value);
        c->value = c->saved_value;
        c->in_update = 0;
    }
    if (c->value == c->updates && c->value == 2 * ROUNDS) {
        printf("parent: counter = %ld, consistent: 2 x %d increments, none lost\n", (long)c->value,
               ROUNDS);
    } else {
        printf("parent: counter = %ld after %ld increments: INCONSISTENT\n", (long)c->value,
               (long)c->updates);
        rc = 1;
    }
    ReleaseMutex(mutex);

    /* The mutex works normally again. */
    for (int i = 0; i < AFTER; i++)
        if (!increment(c, mutex))
            rc = 1;
    LONG expected = 2 * ROUNDS + AFTER;
    printf("parent: %d more increments; final counter = %ld (expected %ld)\n", AFTER,
           (long)c->value, (long)expected);
    if (c->value != expected)
        rc = 1;

    UnmapViewOfFile(c);
    CloseHandle(holding);
    CloseHandle(done);
    CloseHandle(ready);
    CloseHandle(mutex);
    CloseHandle(mapping);
    printf("parent: %s\n", rc == 0 ? "success" : "FAILED");
    return rc;
}
