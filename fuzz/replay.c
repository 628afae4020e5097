/* replay.c - runs fuzz inputs through a fuzz target without libFuzzer: every
 * file named on the command line, and every file of every directory named
 * (not recursively).  Built with each fuzz/fuzz_*.c as fuzz_replay_<target>
 * and registered as a ctest that replays fuzz/corpus/<target>/, so that the
 * corpus (and any crash found and added to it) is checked by `make check`
 * with any compiler.  Exits 1 if it found no input at all. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failed;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (!grown)
                free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "replay: out of memory\n");
        exit(1);
    }
    /* An exact-size copy, so that a read past the input is caught by a
     * sanitizer (or valgrind) as it would be under libFuzzer. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact)
        exit(1);
    memcpy(exact, buf, len);
    free(buf);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        exit(0);
    }
    free(exact);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        fprintf(stderr, "replay: cannot run %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "replay: FAILED on %s (%s %d)\n", path,
                WIFSIGNALED(status) ? "signal" : "exit status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        failed++;
    }
    return 1;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
            count += run_file(sub);
    }
    closedir(d);
    return count;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++)
        count += run_path(argv[i]);
    if (count == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    if (failed) {
        fprintf(stderr, "replay: %d of %d inputs failed\n", failed, count);
        return 1;
    }
    printf("replay: %d inputs, no failure\n", count);
    return 0;
}
