/* util.c - the harness's plumbing: CPU pinning, child processes and their
 * cleanup, worker processes that run batches on command, the client of the
 * Boost.Interprocess peer program, names and their removal, plot data. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- CPUs ----------------------------------------------------------------- */

int pin_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

void unpin(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* ---- Children ---------------------------------------------------------------- */

#define MAX_TRACKED 512
static pid_t tracked[MAX_TRACKED];

void child_track(pid_t pid)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == 0) {
            tracked[i] = pid;
            return;
        }
}

void child_forget(pid_t pid)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == pid)
            tracked[i] = 0;
}

/* Kills every tracked child (harness exit or signal). */
static void children_kill(void)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] > 0) {
            kill(tracked[i], SIGKILL);
            waitpid(tracked[i], NULL, 0);
            tracked[i] = 0;
        }
}

int child_reap(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    child_forget(pid);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "shmap-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  [bench] ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void touch_pages(void *p, size_t len)
{
    volatile char *c = p;
    for (size_t off = 0; off < len; off += 4096)
        c[off] = 1;
}

/* ---- Workers ------------------------------------------------------------------ */

struct worker_reply {
    int rc;
    uint64_t ns;
    char err[200];
};

int worker_start(struct worker *w, int cpu, int (*setup)(void *, char *, size_t), batch_fn batch,
                 void (*teardown)(void *), void *arg, char *err, size_t errlen)
{
    int cmd[2], reply[2];
    if (pipe2(cmd, O_CLOEXEC) != 0)
        return snprintf(err, errlen, "pipe: %s", strerror(errno)), -1;
    if (pipe2(reply, O_CLOEXEC) != 0) {
        close(cmd[0]);
        close(cmd[1]);
        return snprintf(err, errlen, "pipe: %s", strerror(errno)), -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(cmd[0]), close(cmd[1]), close(reply[0]), close(reply[1]);
        return -1;
    }
    if (pid == 0) {
        close(cmd[1]);
        close(reply[0]);
        if (cpu >= 0)
            pin_cpu(cpu);
        struct worker_reply r = {0, 0, ""};
        if (setup && setup(arg, r.err, sizeof r.err) != 0) {
            r.rc = -1;
            write_full(reply[1], &r, sizeof r);
            _exit(1);
        }
        write_full(reply[1], &r, sizeof r); /* ready */
        long nops;
        while (read_full(cmd[0], &nops, sizeof nops) == 0 && nops > 0) {
            memset(&r, 0, sizeof r);
            r.rc = batch(arg, nops, &r.ns, r.err, sizeof r.err);
            if (write_full(reply[1], &r, sizeof r) != 0)
                break;
        }
        if (teardown)
            teardown(arg);
        _exit(0);
    }
    child_track(pid);
    close(cmd[0]);
    close(reply[1]);
    w->pid = pid;
    w->cmd_fd = cmd[1];
    w->reply_fd = reply[0];
    struct worker_reply r;
    if (read_full(w->reply_fd, &r, sizeof r) != 0 || r.rc != 0) {
        snprintf(err, errlen, "%s", r.rc != 0 ? r.err : "worker died while setting up");
        worker_stop(w);
        return -1;
    }
    return 0;
}

int worker_batch(void *vw, long nops, uint64_t *ns, char *err, size_t errlen)
{
    struct worker *w = vw;
    struct worker_reply r;
    if (write_full(w->cmd_fd, &nops, sizeof nops) != 0 ||
        read_full(w->reply_fd, &r, sizeof r) != 0) {
        snprintf(err, errlen, "worker process died");
        return -1;
    }
    if (r.rc != 0) {
        snprintf(err, errlen, "%s", r.err);
        return -1;
    }
    *ns = r.ns;
    return 0;
}

void worker_stop(struct worker *w)
{
    if (w->pid <= 0)
        return;
    long stop = 0;
    write_full(w->cmd_fd, &stop, sizeof stop);
    close(w->cmd_fd);
    close(w->reply_fd);
    child_reap(w->pid);
    w->pid = 0;
}

/* ---- The Boost peer --------------------------------------------------------------- */

static pid_t boost_pid;
static FILE *boost_in, *boost_out;
static char boost_ver[32];

bool boost_running(void)
{
    return boost_pid > 0;
}

const char *boost_version(void)
{
    return boost_ver[0] ? boost_ver : "?";
}

int boost_start(void)
{
    if (!G.boost_path)
        return -1;
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    char prefix[64];
    snprintf(prefix, sizeof prefix, "shmapbench-%ld-boost", (long)G.pid);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", G.cpu_a);
        snprintf(b, sizeof b, "%d", G.cpu_b);
        execl(G.boost_path, G.boost_path, prefix, a, b, (char *)NULL);
        fprintf(stderr, "shmap-bench: cannot run %s: %s\n", G.boost_path, strerror(errno));
        _exit(127);
    }
    child_track(pid);
    close(to[0]);
    close(from[1]);
    boost_pid = pid;
    boost_in = fdopen(to[1], "w");
    boost_out = fdopen(from[0], "r");
    char reply[128];
    if (boost_cmd(reply, sizeof reply, "version") != 0 ||
        sscanf(reply, "OK %31s", boost_ver) != 1) {
        static char why[160];
        snprintf(why, sizeof why, "%s did not start (%s)", G.boost_path, reply);
        G.boost_skip = why;
        boost_stop();
        return -1;
    }
    return 0;
}

int boost_cmd(char *reply, size_t n, const char *fmt, ...)
{
    snprintf(reply, n, "peer not running");
    if (boost_pid <= 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(boost_in, fmt, ap);
    va_end(ap);
    fputc('\n', boost_in);
    fflush(boost_in);
    if (!fgets(reply, (int)n, boost_out)) {
        snprintf(reply, n, "peer exited");
        return -1;
    }
    reply[strcspn(reply, "\n")] = '\0';
    return strncmp(reply, "OK", 2) == 0 ? 0 : -1;
}

int boost_batch(void *ctx, long nops, uint64_t *ns, char *err, size_t errlen)
{
    char reply[256];
    if (boost_cmd(reply, sizeof reply, "%s %ld", (const char *)ctx, nops) != 0) {
        snprintf(err, errlen, "boost_peer: %s", reply);
        return -1;
    }
    unsigned long long v;
    if (sscanf(reply, "OK %llu", &v) != 1) {
        snprintf(err, errlen, "boost_peer: bad answer '%s'", reply);
        return -1;
    }
    *ns = v;
    return 0;
}

void boost_stop(void)
{
    if (boost_pid <= 0)
        return;
    fprintf(boost_in, "quit\n");
    fclose(boost_in);
    fclose(boost_out);
    child_reap(boost_pid);
    boost_pid = 0;
}

/* ---- Names ----------------------------------------------------------------------------- */

const char *posix_name(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "%s-%s", G.posix_prefix, tag);
    return buf;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : 0;
    unlink(path);
    return 0;
}

void cleanup_names(void)
{
    children_kill();
    if (boost_pid > 0) {
        kill(boost_pid, SIGKILL);
        waitpid(boost_pid, NULL, 0);
        boost_pid = 0;
    }
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "shmapbench-%ld", (long)G.pid);
    DIR *d = opendir("/dev/shm");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            /* ours, and POSIX named semaphores ("sem.NAME") of the Boost peer */
            const char *n = e->d_name;
            if (strncmp(n, "sem.", 4) == 0)
                n += 4;
            if (strncmp(n, prefix, (size_t)plen) != 0 || (n[plen] != '-' && n[plen] != '\0'))
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
            struct stat st;
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
            else
                unlink(path);
        }
        closedir(d);
    }
}

/* ---- Plot data ------------------------------------------------------------------------------ */

const char *data_write(const char *name, const double *v, size_t n)
{
    static char path[8][PATH_MAX];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", G.data_dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return NULL;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.1f\n", v[i]);
    fclose(f);
    return p;
}

int plot_run(const char *script, const char *defs)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "gnuplot -e \"%s\" %s 2>&1", defs, script);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, p))
        fprintf(stderr, "  [gnuplot] %s", line);
    return pclose(p) == 0 ? 0 : -1;
}
