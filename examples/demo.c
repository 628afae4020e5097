/*
 * demo.c - a guided tour of shmap: named shared memory between processes,
 * with the semantics of Win32 file mappings.
 *
 * It shows, in numbered steps:
 *  - three forked workers create-or-open the same name ("Local\demo-board"):
 *    the first creates the object, the others open it (SHMAP_EXISTED);
 *  - each maps a view (the same memory, at a different address in each
 *    process), writes a message into its own slot and reads the others';
 *  - a worker killed with SIGKILL while it holds the name leaves its data
 *    and the name in place for the survivors (shmap_store_list shows it);
 *  - when the survivors close, the name is gone (SHMAP_ENOENT) and the store
 *    holds nothing, although one process never got to clean up.
 *
 * The store is a fresh directory under /dev/shm unless SHMAP_ROOT is set.
 * Workers never print: the parent sends each a command through a pipe and
 * prints the report it sends back, so the output comes in a fixed order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <shmap.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "Local\\demo-board"
#define NWORKERS 3
#define VICTIM (NWORKERS - 1) /* index of the worker that gets killed: the last */
#define SLOT_SIZE 64

struct board { /* what the shared memory holds: one slot per worker */
    char slot[NWORKERS][SLOT_SIZE];
};

struct report { /* worker -> parent, one atomic write (< PIPE_BUF) */
    int ok;
    uintptr_t addr;
    char text[400];
};

static pid_t pids[NWORKERS];
static int cmd_fd[NWORKERS], report_fd[NWORKERS]; /* the parent's ends */

/* ---- The worker --------------------------------------------------------- */

static void say(struct report *r, int ok, const char *fmt, ...)
{
    va_list ap;
    size_t n = strlen(r->text);
    va_start(ap, fmt);
    vsnprintf(r->text + n, sizeof r->text - n, fmt, ap);
    va_end(ap);
    if (!ok)
        r->ok = 0;
}

static void say_failed(struct report *r, const char *call, int rc)
{
    say(r, 0, "%s failed: %s (%s)", call, shmap_errname(rc), shmap_strerror(rc));
}

static void read_others(int me, const struct board *b, struct report *r)
{
    const char *sep = "";
    for (int j = 0; j < NWORKERS; j++) {
        if (j != me) {
            say(r, 1, "%sslot %d: \"%.*s\"", sep, j + 1, SLOT_SIZE, b->slot[j]);
            sep = ", ";
        }
    }
}

/* Runs commands from the parent: 'o' open and write, 'r' read, 'c' close. */
static int worker(int me, int cmd, int out)
{
    shmap_mapping *m = NULL;
    struct board *b = NULL;
    char c;
    while (read(cmd, &c, 1) == 1) {
        struct report r = {.ok = 1};
        say(&r, 1, "[worker %d, pid %d] ", me + 1, (int)getpid());
        if (c == 'o') {
            /* Forked workers start with identical address spaces; a real
             * process has other things mapped.  Reserve a different amount
             * of unrelated memory in each (1, 2, 3 times the view's size),
             * so the views land apart. */
            if (mmap(NULL, (size_t)(me + 1) * SHMAP_GRANULARITY, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
                say(&r, 0, "mmap of padding failed: %s", strerror(errno));
            shmap_mapping_config cfg = SHMAP_MAPPING_CONFIG_INIT;
            cfg.size = SHMAP_GRANULARITY; /* 64 KiB, plenty for the board */
            int rc = shmap_mapping_create(NAME, &cfg, &m);
            int created = rc == SHMAP_OK;
            void *v = NULL;
            if (rc < 0)
                say_failed(&r, "shmap_mapping_create", rc);
            else if ((rc = shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, &v)) < 0)
                say_failed(&r, "shmap_view_map", rc);
            if (r.ok) {
                b = v;
                r.addr = (uintptr_t)v;
                snprintf(b->slot[me], SLOT_SIZE, "hello from worker %d", me + 1);
                say(&r, 1, "%s, view at %p; wrote \"%s\" into slot %d",
                    created ? "created the mapping" : "opened the existing mapping", v, b->slot[me],
                    me + 1);
            }
        } else if (c == 'r' && b) {
            say(&r, 1, "reads ");
            read_others(me, b, &r);
        } else if (c == 'c' && b) {
            int rc = shmap_view_unmap(b);
            if (rc < 0)
                say_failed(&r, "shmap_view_unmap", rc);
            else if ((rc = shmap_mapping_close(m)) < 0)
                say_failed(&r, "shmap_mapping_close", rc);
            else
                say(&r, 1, "unmapped its view, closed its handle and exits");
        } else {
            say(&r, 0, "unexpected command '%c'", c);
        }
        if (write(out, &r, sizeof r) != (ssize_t)sizeof r || !r.ok || c == 'c')
            return r.ok && c == 'c' ? 0 : 1;
    }
    return 1; /* the parent went away */
}

/* ---- The parent ---------------------------------------------------------- */

/* Sends command C to worker I and prints its report. */
static int ask(int i, char c, struct report *r)
{
    size_t got = 0;
    if (write(cmd_fd[i], &c, 1) != 1) {
        printf("  worker %d does not take commands: %s\n", i + 1, strerror(errno));
        return -1;
    }
    while (got < sizeof *r) {
        ssize_t n = read(report_fd[i], (char *)r + got, sizeof *r - got);
        if (n <= 0) {
            printf("  worker %d died without reporting\n", i + 1);
            return -1;
        }
        got += (size_t)n;
    }
    printf("  %s\n", r->text);
    return r->ok ? 0 : -1;
}

static int start_workers(void)
{
    int cmd[NWORKERS][2], rep[NWORKERS][2];
    for (int i = 0; i < NWORKERS; i++) {
        if (pipe(cmd[i]) != 0 || pipe(rep[i]) != 0) {
            perror("pipe");
            return -1;
        }
        cmd_fd[i] = cmd[i][1];
        report_fd[i] = rep[i][0];
    }
    fflush(stdout); /* nothing buffered may be duplicated into children */
    for (int i = 0; i < NWORKERS; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            return -1;
        }
        if (pids[i] == 0) {
            for (int j = 0; j < NWORKERS; j++) { /* keep only our own ends */
                close(cmd[j][1]);
                close(rep[j][0]);
                if (j != i) {
                    close(cmd[j][0]);
                    close(rep[j][1]);
                }
            }
            _exit(worker(i, cmd[i][0], rep[i][1]));
        }
        printf("  worker %d started: pid %d\n", i + 1, (int)pids[i]);
    }
    for (int i = 0; i < NWORKERS; i++) {
        close(cmd[i][0]);
        close(rep[i][1]);
    }
    return 0;
}

/* Waits for worker I; returns 0 if it ended as EXPECT_SIGNAL (0: exit 0). */
static int reap(int i, int expect_signal)
{
    int status;
    if (waitpid(pids[i], &status, 0) != pids[i])
        return -1;
    pids[i] = 0;
    if (expect_signal)
        return WIFSIGNALED(status) && WTERMSIG(status) == expect_signal ? 0 : -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

struct listing {
    int count, ours;
};

static int print_object(const shmap_object_info *o, void *arg)
{
    struct listing *l = arg;
    l->count++;
    l->ours += strcmp(o->name, NAME) == 0;
    printf("    %-20s %8llu bytes  stale: %-3s  created by pid %u\n", o->name,
           (unsigned long long)o->size, o->stale ? "yes" : "no", o->creator_pid);
    return 0;
}

/* Lists the Local\ namespace as a tool would see it; -1 on error. */
static int list_store(struct listing *l)
{
    *l = (struct listing){0, 0};
    printf("  shmap_store_list(SHMAP_SCOPE_LOCAL):\n");
    int rc = shmap_store_list(SHMAP_SCOPE_LOCAL, print_object, l);
    if (rc == SHMAP_ENOENT) /* the namespace was never created */
        rc = 0;
    if (rc < 0)
        printf("  shmap_store_list failed: %s (%s)\n", shmap_errname(rc), shmap_strerror(rc));
    else if (l->count == 0)
        printf("    (no objects)\n");
    return rc < 0 ? -1 : 0;
}

/* Counts the files in directory PATH (0 if it does not exist); -1 on error. */
static int count_files(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

int main(void)
{
    char root[] = "/dev/shm/shmap-demo-XXXXXX", ns_path[4096];
    int own_store = !getenv("SHMAP_ROOT") || !getenv("SHMAP_ROOT")[0];
    int ok = 0, left, apart, rc;
    uintptr_t addr[NWORKERS];
    shmap_mapping *m = NULL;
    struct report r;
    struct listing l;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* a dead worker's pipe gives EPIPE instead */
    printf("shmap %s demo: named shared memory for Linux processes, with the\n"
           "semantics of Win32 file mappings (CreateFileMapping/MapViewOfFile).\n\n",
           SHMAP_VERSION_STRING);
    if (own_store && (!mkdtemp(root) || setenv("SHMAP_ROOT", root, 1) != 0)) {
        printf("cannot make a store under /dev/shm: %s\n", strerror(errno));
        return 1;
    }
    if ((rc = shmap_store_path(SHMAP_SCOPE_LOCAL, ns_path, sizeof ns_path)) < 0) {
        printf("shmap_store_path failed: %s\n", shmap_strerror(rc));
        goto out;
    }
    printf("Store: %s (%s)\n", getenv("SHMAP_ROOT"),
           own_store ? "a fresh directory for this run, SHMAP_ROOT set to it" : "from SHMAP_ROOT");
    printf("       Local\\ names of this user live in %s\n\n", ns_path);

    printf("1. Start %d worker processes (the parent is pid %d).\n", NWORKERS, (int)getpid());
    if (start_workers() < 0)
        goto out;

    printf("\n2. One by one, each worker calls shmap_mapping_create(\"%s\"):\n"
           "   the first creates it, the others open the existing object.\n",
           NAME);
    for (int i = 0; i < NWORKERS; i++) {
        if (ask(i, 'o', &r) < 0)
            goto out;
        addr[i] = r.addr;
    }
    apart = 1;
    for (int i = 0; i < NWORKERS; i++)
        for (int j = 0; j < i; j++)
            apart &= addr[i] != addr[j];
    if (apart)
        printf("   The same memory sits at a different address in each process (each\n"
               "   worker first mapped some unrelated memory, as real programs have):\n"
               "   store offsets in shared memory, never pointers.\n");
    else
        printf("   Here the views happen to share one address; in general they differ:\n"
               "   store offsets in shared memory, never pointers.\n");

    printf("\n3. Each worker reads the others' slots through its own view.\n");
    for (int i = 0; i < NWORKERS; i++)
        if (ask(i, 'r', &r) < 0)
            goto out;

    printf("\n4. Kill worker %d (pid %d) with SIGKILL while it holds the name:\n"
           "   it gets no chance to close or clean up.\n",
           VICTIM + 1, (int)pids[VICTIM]);
    if (kill(pids[VICTIM], SIGKILL) != 0 || reap(VICTIM, SIGKILL) < 0) {
        printf("  could not kill worker %d\n", VICTIM + 1);
        goto out;
    }
    printf("  worker %d is dead (killed by signal %d).\n", VICTIM + 1, SIGKILL);
    if (list_store(&l) < 0 || l.ours != 1)
        goto out;
    printf("  The name is still there, and not stale: the survivors hold it.\n");
    for (int i = 0; i < VICTIM; i++)
        if (ask(i, 'r', &r) < 0)
            goto out;
    printf("  The dead worker's message is still in the shared memory.\n");

    printf("\n5. The survivors close their handles one by one.\n");
    for (int i = 0; i < VICTIM; i++) {
        if (ask(i, 'c', &r) < 0 || reap(i, 0) < 0)
            goto out;
        if (i + 1 < VICTIM) { /* not the last survivor: the name must remain */
            if (list_store(&l) < 0 || l.ours != 1)
                goto out;
            printf("  The name is still there: worker %d still holds it.\n", i + 2);
        }
    }
    rc = shmap_mapping_open(NAME, SHMAP_ACCESS_READ, &m);
    printf("  shmap_mapping_open(\"%s\") now returns %s (%s).\n", NAME,
           shmap_errname(rc) ? shmap_errname(rc) : "?", shmap_strerror(rc));
    if (rc != SHMAP_ENOENT) {
        if (rc == 0)
            shmap_mapping_close(m);
        goto out;
    }
    printf("  The name is gone: it lived exactly as long as its last handle.\n");

    printf("\n6. What is left in the store, though worker %d never cleaned up?\n", VICTIM + 1);
    if (list_store(&l) < 0)
        goto out;
    left = count_files(ns_path);
    printf("  %d object(s) listed; the directory %s holds %d file(s).\n", l.count, ns_path, left);
    if (l.ours != 0 || left < 0 || (own_store && (l.count != 0 || left != 0)))
        goto out;
    printf("  Nothing: no object, no file, no leaked memory.\n");
    ok = 1;

out:
    for (int i = 0; i < NWORKERS; i++) {
        if (pids[i] > 0) { /* only after a failure */
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    }
    if (own_store) {
        if (nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
            printf("could not remove the store %s: %s\n", root, strerror(errno));
        else
            printf("\nRemoved the store %s.\n", root);
    }
    printf("%s\n", ok ? "Demo completed successfully." : "Demo FAILED: see above.");
    return ok ? 0 : 1;
}
