/* helper_import.c - the program test_sharing execs, to check what survives exec. */
/* Commands, run in order (exit 0 when all pass):
 *   import FD OFFSET TEXT   import FD, map it, write TEXT at OFFSET
 *   clean KEEP              no fd but 0-2 and KEEP (-1: none) leads into
 *                           the store or to a memfd (nothing leaked)
 *   absent NAME             opening NAME says SHMAP_ENOENT
 * It uses only shmap, not the test utilities. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shmap.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failed(const char *what, int rc)
{
    const char *name = shmap_errname(rc);
    fprintf(stderr, "helper_import: %s: %d %s\n", what, rc, name ? name : "");
    return 1;
}

static int do_import(int fd, long offset, const char *text)
{
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_import_fd(fd, SHMAP_ACCESS_ALL, &m);
    if (rc != 0)
        return failed("import_fd", rc);
    shmap_mapping_info info;
    rc = shmap_mapping_query(m, &info);
    if (rc != 0)
        return failed("query", rc);
    if (info.named || (size_t)offset + strlen(text) + 1 > info.size)
        return failed("imported object is not the unnamed one exported", 0);
    char *v = NULL;
    rc = shmap_view_map(m, SHMAP_ACCESS_WRITE, 0, 0, NULL, (void **)&v);
    if (rc != 0)
        return failed("view_map", rc);
    if (strcmp(v, "before exec") != 0)
        return failed("the exporter's data is not there", 0);
    strcpy(v + offset, text);
    if ((rc = shmap_view_unmap(v)) != 0 || (rc = shmap_mapping_close(m)) != 0)
        return failed("unmap/close", rc);
    return 0;
}

static int do_clean(int keep)
{
    const char *root = getenv("SHMAP_ROOT");
    DIR *d = opendir("/proc/self/fd");
    if (!d || !root)
        return failed("no /proc/self/fd or SHMAP_ROOT", 0);
    int bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2 || fd == keep || fd == dirfd(d))
            continue;
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, root, strlen(root)) == 0 || strncmp(target, "/memfd:", 7) == 0) {
            fprintf(stderr, "helper_import: fd %d (%s) survived exec\n", fd, target);
            bad = 1;
        }
    }
    closedir(d);
    return bad;
}

static int do_absent(const char *name)
{
    shmap_mapping *m = NULL;
    int rc = shmap_mapping_open(name, SHMAP_ACCESS_READ, &m);
    if (rc == 0)
        shmap_mapping_close(m);
    return rc == SHMAP_ENOENT ? 0 : failed("open of a name no process holds", rc);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc;) {
        int rc;
        if (strcmp(argv[i], "import") == 0 && i + 3 < argc) {
            rc = do_import(atoi(argv[i + 1]), atol(argv[i + 2]), argv[i + 3]);
            i += 4;
        } else if (strcmp(argv[i], "clean") == 0 && i + 1 < argc) {
            rc = do_clean(atoi(argv[i + 1]));
            i += 2;
        } else if (strcmp(argv[i], "absent") == 0 && i + 1 < argc) {
            rc = do_absent(argv[i + 1]);
            i += 2;
        } else {
            fprintf(stderr, "helper_import: bad command %s\n", argv[i]);
            return 64;
        }
        if (rc != 0)
            return 10 + i;
    }
    return 0;
}
