/* cmd_info.c - `shmap info NAME`: everything known about one object, from
 * shmap_store_list (so that looking changes nothing: no hold taken, no
 * stale name removed), its raw header page (with a synchronization
 * object's state), its object file and /proc/locks. */
#include "cli.h"

/* The header's layout is private to the library; the tool is built with
 * the same sources, and checks the length it is handed. */
#include "../src/header.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

struct info_search {
    const char *full_name;
    uint32_t scope;
    bool found;
    bool header_valid;
    struct object_row row;
    struct object_header header;
};

static int info_match(const shmap_object_info *obj, void *arg)
{
    struct info_search *s = arg;
    if (strcmp(obj->name, s->full_name) != 0)
        return 0;
    int rc = object_row_fill(&s->row, obj, s->scope);
    if (rc < 0)
        return rc;
    s->found = true;
    if (obj->header && obj->header_len == sizeof s->header) {
        memcpy(&s->header, obj->header, sizeof s->header);
        s->header_valid = s->header.magic == HEADER_MAGIC;
    }
    return 1;
}

/* Finds the object file's name in its namespace directory by inode. */
static bool object_file_path(uint32_t scope, uint64_t ino, char *buf, size_t size)
{
    char dir_path[PATH_MAX];
    if (shmap_store_path(scope, dir_path, sizeof dir_path) < 0)
        return false;
    DIR *dir = opendir(dir_path);
    if (!dir)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(dir)))
        found = e->d_name[0] != '.' && (uint64_t)e->d_ino == ino;
    if (found)
        snprintf(buf, size, "%s/%s", dir_path, e->d_name);
    closedir(dir);
    return found;
}

/* Whether the backing file is still the one the header names. */
static const char *backing_file_status(const struct object_header *h)
{
    struct stat st;
    if (stat(h->file_path, &st) != 0)
        return errno == ENOENT ? "missing" : "unreadable";
    if ((uint64_t)st.st_dev != h->file_dev || (uint64_t)st.st_ino != h->file_ino)
        return "replaced by another file";
    return "present";
}

static void format_time(uint64_t ns, bool utc, char *buf, size_t size)
{
    time_t seconds = (time_t)(ns / 1000000000u);
    struct tm tm;
    if (!(utc ? gmtime_r(&seconds, &tm) : localtime_r(&seconds, &tm)) ||
        !strftime(buf, size, utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S %z", &tm))
        snprintf(buf, size, "?");
}

static void flags_text(uint32_t flags, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", flags & SHMAP_RESERVE ? "reserve " : "",
             flags & SHMAP_HUGE_PAGES ? "huge " : "",
             flags & (SHMAP_RESERVE | SHMAP_HUGE_PAGES) ? "" : "none");
    size_t n = strlen(buf);
    if (n && buf[n - 1] == ' ')
        buf[n - 1] = '\0';
}

/* ---- Text ---------------------------------------------------------------- */

static void info_print_data(const struct object_row *row, const struct object_header *h)
{
    char size[16], flags[32];
    format_size(row->size, size, sizeof size);
    flags_text(row->flags, flags, sizeof flags);
    printf("size:         %llu (%s)\n", (unsigned long long)row->size, size);
    printf("protection:   %s\n", protection_word(row->protection));
    printf("flags:        %s\n", flags);
    if (!row->file_backed) {
        printf("backing:      memory\n");
        return;
    }
    char path[PATH_MAX];
    text_name(row->file_path, path, sizeof path);
    printf("backing:      file %s (%s)\n", path, h ? backing_file_status(h) : "?");
}

static const char *yes_no(int value)
{
    return value ? "yes" : "no";
}

/* The state fields of a mutex, event or semaphore that mean something. */
static void info_print_sync(const shmap_sync_info *s)
{
    if (s->type == SHMAP_TYPE_MUTEX) {
        printf("owner tid:    %u%s\n", s->owner_tid, s->owner_tid ? "" : " (none)");
        printf("recursion:    %u\n", s->recursion);
        printf("abandoned:    %s\n", yes_no(s->abandoned));
    } else if (s->type == SHMAP_TYPE_EVENT) {
        printf("signaled:     %s\n", yes_no(s->signaled));
        printf("manual reset: %s\n", yes_no(s->manual_reset));
    } else {
        printf("count:        %u\n", s->count);
        printf("maximum:      %u\n", s->maximum);
    }
}

static void info_print_header(const struct object_header *h)
{
    char when[64];
    format_time(h->created_ns, false, when, sizeof when);
    printf("creator:      uid %u (%s), pid %u\n", h->creator_uid, user_name(h->creator_uid),
           h->creator_pid);
    printf("created:      %s\n", when);
    printf("header:       version %u, flags 0x%x, data offset %llu\n", h->version, h->flags,
           (unsigned long long)h->data_offset);
}

static void info_print_holders(const struct holder_table *holders, const struct object_row *row)
{
    char pids[1024];
    holders_format(holders, row, SIZE_MAX, pids, sizeof pids);
    if (row->stale)
        printf("holders:      none: STALE (its holders died; 'shmap gc' removes it)\n");
    else
        printf("holders:      %zu (pid %s)\n", row->holder_count, pids[0] ? pids : "?");
}

static void info_print_text(const struct info_search *s, const struct holder_table *holders)
{
    const struct object_row *row = &s->row;
    const struct object_type *type = object_type_find(row->type);
    const struct object_header *h = s->header_valid ? &s->header : NULL;
    char name[SHMAP_NAME_BUF], file[PATH_MAX + SHMAP_NAME_BUF];
    text_name(row->name, name, sizeof name);
    printf("name:         %s\n", name);
    printf("type:         %s\n", type ? type->word : "unknown (header unreadable or invalid)");
    if (type && type->has_data)
        info_print_data(row, h);
    printf("state:        %s\n", row->state);
    if (row->sync_valid)
        info_print_sync(&row->sync);
    printf("mode:         %04o\n", row->mode);
    printf("owner:        %s (uid %u)\n", user_name(row->owner_uid), row->owner_uid);
    if (h)
        info_print_header(h);
    info_print_holders(holders, row);
    if (!object_file_path(row->scope, row->ino, file, sizeof file))
        snprintf(file, sizeof file, "?");
    text_name(file, file, sizeof file);
    printf("object file:  %s (dev %u:%u, inode %llu)\n", file, major(row->dev), minor(row->dev),
           (unsigned long long)row->ino);
}

/* ---- JSON ---------------------------------------------------------------- */

static void info_print_json_header(const struct object_header *h)
{
    char when[64];
    format_time(h->created_ns, true, when, sizeof when);
    printf(",\"header\":{\"version\":%u,\"type\":%u,\"protection\":%u,\"flags\":%u,"
           "\"size\":%llu,\"data_offset\":%llu,\"creator_uid\":%u,\"creator_pid\":%u,"
           "\"created_ns\":%llu,\"created\":\"%s\",\"file_dev\":%llu,\"file_ino\":%llu,"
           "\"file_path\":",
           h->version, h->type, h->protection, h->flags, (unsigned long long)h->size,
           (unsigned long long)h->data_offset, h->creator_uid, h->creator_pid,
           (unsigned long long)h->created_ns, when, (unsigned long long)h->file_dev,
           (unsigned long long)h->file_ino);
    json_string(stdout, h->file_path);
    putchar('}');
    if (h->flags & HEADER_FILE_BACKED) {
        fputs(",\"backing_file_status\":", stdout);
        json_string(stdout, backing_file_status(h));
    }
}

static void info_print_json(const struct info_search *s, const struct holder_table *holders)
{
    char file[PATH_MAX + SHMAP_NAME_BUF];
    putchar('{');
    json_object_fields(stdout, holders, &s->row);
    fputs(",\"object_file\":", stdout);
    if (object_file_path(s->row.scope, s->row.ino, file, sizeof file))
        json_string(stdout, file);
    else
        fputs("null", stdout);
    if (s->header_valid)
        info_print_json_header(&s->header);
    else
        fputs(",\"header\":null", stdout);
    puts("}");
}

/* ---- The command --------------------------------------------------------- */

static int info_find(const char *name, struct info_search *s, char *full, size_t size)
{
    int rc = name_parse(name, &s->scope, full, size);
    if (rc < 0)
        return fail_code(name, rc);
    s->full_name = full;
    if (namespace_exists(s->scope))
        rc = shmap_store_list(s->scope, info_match, s);
    if (rc < 0)
        return fail_code(name, rc);
    return s->found ? EXIT_OK : fail_code(name, SHMAP_ENOENT);
}

static int info_run(const struct command *self, int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int opt;
    while ((opt = option_next(self, argc, argv, options)) != -1) {
        if (opt == OPT_BAD)
            return EXIT_USAGE;
        if (opt == OPT_HELP)
            return command_help(self);
        json = true;
    }
    if (!operands_check(self, argc - optind, 1, 1, "NAME"))
        return EXIT_USAGE;
    static struct info_search search; /* a header page: not on the stack */
    char full[SHMAP_NAME_BUF];
    int status = info_find(argv[optind], &search, full, sizeof full);
    if (status != EXIT_OK)
        return status;
    struct holder_table holders;
    int err = holder_table_load(&holders);
    if (err) {
        object_row_clear(&search.row);
        return fail(EXIT_ERROR, "/proc/locks", "%s", strerror(err));
    }
    holder_table_attach_row(&holders, &search.row);
    if (json)
        info_print_json(&search, &holders);
    else
        info_print_text(&search, &holders);
    holder_table_free(&holders);
    object_row_clear(&search.row);
    return output_finish(EXIT_OK);
}

const struct command cmd_info = {
    "info",
    "show everything known about one object",
    "usage: shmap info NAME [--json]\n"
    "\n"
    "Shows one object: type, size, protection, flags, backing file (for a\n"
    "mapping), state (for a mutex: owner thread, recursion, abandoned; for an\n"
    "event: signaled, manual reset; for a semaphore: count, maximum), mode,\n"
    "owner, creator uid and pid, creation time, header fields, the processes\n"
    "holding it, and its object file in the store.  Looking changes nothing:\n"
    "no handle is opened, and a stale name is shown, not removed.\n"
    "\n"
    "  -j, --json     print one JSON object, for scripts\n"
    "  -h, --help     show this help\n",
    info_run,
};
