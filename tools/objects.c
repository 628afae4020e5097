/* objects.c - the shmap tool's picture of the store: the objects of a
 * namespace as shmap_store_list reports them, the object types it knows
 * how to show with their states (a mapping's backing; a mutex's owner, an
 * event's signal, a semaphore's count, read from the raw header page with
 * shmap_sync_describe), and which processes hold each object, found in
 * /proc/locks (every handle holds a flock on the object file; see
 * src/store.c). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* ---- Object types -------------------------------------------------------- */

static void mapping_state(const shmap_object_info *obj, struct object_row *row)
{
    snprintf(row->state, sizeof row->state, "%s%s%s", obj->file_backed ? "file" : "memory",
             obj->flags & SHMAP_RESERVE ? ",reserve" : "",
             obj->flags & SHMAP_HUGE_PAGES ? ",huge" : "");
}

static void mutex_state(const shmap_sync_info *info, char *buf, size_t size)
{
    if (info->abandoned)
        snprintf(buf, size, "abandoned");
    else if (info->owner_tid)
        snprintf(buf, size, "owned by tid %u (x%u)", info->owner_tid, info->recursion);
    else
        snprintf(buf, size, "free");
}

void sync_state_format(const shmap_sync_info *info, char *buf, size_t size)
{
    if (info->type == SHMAP_TYPE_MUTEX)
        mutex_state(info, buf, size);
    else if (info->type == SHMAP_TYPE_EVENT)
        snprintf(buf, size, "%s, %s", info->signaled ? "set" : "not set",
                 info->manual_reset ? "manual" : "auto");
    else if (info->type == SHMAP_TYPE_SEMAPHORE)
        snprintf(buf, size, "count %u/max %u", info->count, info->maximum);
    else
        snprintf(buf, size, "?");
}

/* Mutexes, events and semaphores: their state words, from the header. */
static void sync_state(const shmap_object_info *obj, struct object_row *row)
{
    int rc = obj->header ? shmap_sync_describe(obj->header, obj->header_len, &row->sync)
                         : SHMAP_ECORRUPT;
    row->sync_valid = rc == 0;
    if (row->sync_valid)
        sync_state_format(&row->sync, row->state, sizeof row->state);
    else
        snprintf(row->state, sizeof row->state, "unreadable");
}

static const struct object_type object_types[] = {
    {SHMAP_TYPE_MAPPING, "mapping", true, mapping_state},
    {SHMAP_TYPE_MUTEX, "mutex", false, sync_state},
    {SHMAP_TYPE_EVENT, "event", false, sync_state},
    {SHMAP_TYPE_SEMAPHORE, "semaphore", false, sync_state},
};

const struct object_type *object_type_find(uint32_t type)
{
    for (size_t i = 0; i < sizeof object_types / sizeof object_types[0]; i++)
        if (object_types[i].type == type)
            return &object_types[i];
    return NULL;
}

/* ---- Rows and tables ----------------------------------------------------- */

int object_row_fill(struct object_row *row, const shmap_object_info *obj, uint32_t scope)
{
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", obj->name);
    row->scope = scope;
    row->type = obj->type;
    row->protection = obj->protection;
    row->flags = obj->flags;
    row->mode = obj->mode;
    row->owner_uid = obj->owner_uid;
    row->creator_pid = obj->creator_pid;
    row->size = obj->size;
    row->dev = obj->dev;
    row->ino = obj->ino;
    row->stale = obj->stale != 0;
    row->file_backed = obj->file_backed != 0;
    if (row->file_backed && !(row->file_path = strdup(obj->file_path)))
        return SHMAP_ENOMEM;
    const struct object_type *type = object_type_find(obj->type);
    if (type)
        type->read_state(obj, row);
    else
        snprintf(row->state, sizeof row->state, "unreadable");
    return 0;
}

void object_row_clear(struct object_row *row)
{
    free(row->file_path);
    row->file_path = NULL;
}

struct table_load {
    struct object_table *table;
    uint32_t scope;
};

static int table_add(const shmap_object_info *obj, void *arg)
{
    struct table_load *load = arg;
    struct object_table *t = load->table;
    if (t->count == t->capacity) {
        size_t capacity = t->capacity ? t->capacity * 2 : 256;
        struct object_row *rows = realloc(t->rows, capacity * sizeof *rows);
        if (!rows)
            return SHMAP_ENOMEM;
        t->rows = rows;
        t->capacity = capacity;
    }
    int rc = object_row_fill(&t->rows[t->count], obj, load->scope);
    if (rc < 0)
        return rc;
    t->count++;
    return 0;
}

int object_table_load(struct object_table *t, uint32_t scope)
{
    if (!namespace_exists(scope))
        return 0;
    struct table_load load = {t, scope};
    return shmap_store_list(scope, table_add, &load);
}

static int row_compare(const void *a, const void *b)
{
    const struct object_row *x = a, *y = b;
    return strcmp(x->name, y->name);
}

void object_table_sort(struct object_table *t)
{
    if (t->count > 1)
        qsort(t->rows, t->count, sizeof *t->rows, row_compare);
}

void object_table_free(struct object_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        object_row_clear(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* ---- Holders, from /proc/locks ------------------------------------------- */

/* Parses one line of /proc/locks ("3: FLOCK  ADVISORY  READ 123 00:1b:456 0
 * EOF") into H.  False for other lock kinds, waiters ("3: -> FLOCK ...")
 * and anything unexpected. */
static bool lock_line_parse(const char *line, struct holder *h)
{
    char kind[16];
    long pid;
    unsigned major_dev, minor_dev;
    unsigned long long ino;
    if (sscanf(line, "%*s %15s %*s %*s %ld %x:%x:%llu", kind, &pid, &major_dev, &minor_dev, &ino) !=
        5)
        return false;
    if (strcmp(kind, "FLOCK") != 0)
        return false;
    h->dev = (uint64_t)makedev(major_dev, minor_dev);
    h->ino = ino;
    h->pid = pid > 0 ? (pid_t)pid : 0;
    return true;
}

static int holder_compare(const void *a, const void *b)
{
    const struct holder *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Sorts and drops repeated (file, pid) entries: one process may hold a
 * name through several handles. */
static void holder_table_normalize(struct holder_table *t)
{
    if (t->count < 2)
        return;
    qsort(t->holders, t->count, sizeof *t->holders, holder_compare);
    size_t kept = 1;
    for (size_t i = 1; i < t->count; i++)
        if (holder_compare(&t->holders[i], &t->holders[kept - 1]) != 0)
            t->holders[kept++] = t->holders[i];
    t->count = kept;
}

static int holder_table_add(struct holder_table *t, size_t *capacity, const struct holder *h)
{
    if (t->count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 256;
        struct holder *holders = realloc(t->holders, grown * sizeof *holders);
        if (!holders)
            return ENOMEM;
        t->holders = holders;
        *capacity = grown;
    }
    t->holders[t->count++] = *h;
    return 0;
}

/* Appends the flocks of one reading of /proc/locks. */
static int holder_table_read(struct holder_table *t, size_t *capacity)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return errno;
    char line[256];
    int err = 0;
    while (!err && fgets(line, sizeof line, f)) {
        struct holder h;
        if (lock_line_parse(line, &h))
            err = holder_table_add(t, capacity, &h);
    }
    if (!err && ferror(f))
        err = EIO;
    fclose(f);
    return err;
}

/* The kernel writes /proc/locks a page per read(2), finding its place again
 * by line number: when a lock listed before that place goes between two
 * reads, the next line is skipped.  Processes of other users take and drop
 * locks all the time, so a single reading can miss a holder.  A lock held
 * throughout is missed by several readings only if each is hit, so the
 * table is the union of a few (a lock dropped meanwhile may still appear:
 * the picture is a snapshot anyway). */
#define LOCKS_READINGS 3

int holder_table_load(struct holder_table *t)
{
    memset(t, 0, sizeof *t);
    size_t capacity = 0;
    int err = 0;
    for (int i = 0; i < LOCKS_READINGS && !err; i++)
        err = holder_table_read(t, &capacity);
    if (err) {
        holder_table_free(t);
        return err;
    }
    holder_table_normalize(t);
    return 0;
}

void holder_table_free(struct holder_table *t)
{
    free(t->holders);
    memset(t, 0, sizeof *t);
}

/* Index of the first holder of (DEV, INO) or of a later file. */
static size_t holder_lower_bound(const struct holder_table *t, uint64_t dev, uint64_t ino)
{
    struct holder key = {dev, ino, -1};
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (holder_compare(&t->holders[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void holder_table_attach_row(const struct holder_table *t, struct object_row *row)
{
    size_t first = holder_lower_bound(t, row->dev, row->ino);
    size_t end = first;
    while (end < t->count && t->holders[end].dev == row->dev && t->holders[end].ino == row->ino)
        end++;
    row->holder_first = first;
    row->holder_count = end - first;
}

void holder_table_attach(const struct holder_table *t, struct object_table *objects)
{
    for (size_t i = 0; i < objects->count; i++)
        holder_table_attach_row(t, &objects->rows[i]);
}

void holders_format(const struct holder_table *t, const struct object_row *row, size_t limit,
                    char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < row->holder_count && used < size; i++) {
        const char *sep = i ? "," : "";
        pid_t pid = t->holders[row->holder_first + i].pid;
        int n;
        if (i == limit)
            n = snprintf(buf + used, size - used, ",+%zu", row->holder_count - i);
        else if (pid > 0)
            n = snprintf(buf + used, size - used, "%s%ld", sep, (long)pid);
        else
            n = snprintf(buf + used, size - used, "%s?", sep);
        if (n < 0 || i == limit)
            break;
        used += (size_t)n;
    }
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_flags(FILE *out, uint32_t flags)
{
    fputs("[", out);
    const char *sep = "";
    if (flags & SHMAP_RESERVE) {
        fputs("\"reserve\"", out);
        sep = ",";
    }
    if (flags & SHMAP_HUGE_PAGES)
        fprintf(out, "%s\"huge\"", sep);
    fputs("]", out);
}

static void json_pids(FILE *out, const struct holder_table *t, const struct object_row *row)
{
    fputs("[", out);
    const char *sep = "";
    for (size_t i = 0; i < row->holder_count; i++) {
        pid_t pid = t->holders[row->holder_first + i].pid;
        if (pid <= 0)
            continue;
        fprintf(out, "%s%ld", sep, (long)pid);
        sep = ",";
    }
    fputs("]", out);
}

/* The state of a synchronization object, every field of shmap_sync_info
 * but the type and name (the object's own "type" and "name"). */
static void json_sync(FILE *out, const struct object_row *row)
{
    const shmap_sync_info *s = &row->sync;
    if (!row->sync_valid) {
        fputs("null", out);
        return;
    }
    fprintf(out,
            "{\"owner_tid\":%u,\"recursion\":%u,\"abandoned\":%s,\"manual_reset\":%s,"
            "\"signaled\":%s,\"count\":%u,\"maximum\":%u}",
            s->owner_tid, s->recursion, s->abandoned ? "true" : "false",
            s->manual_reset ? "true" : "false", s->signaled ? "true" : "false", s->count,
            s->maximum);
}

void json_object_fields(FILE *out, const struct holder_table *t, const struct object_row *row)
{
    const struct object_type *type = object_type_find(row->type);
    fputs("\"name\":", out);
    json_string(out, row->name);
    fprintf(out, ",\"namespace\":\"%s\",\"type\":\"%s\"", scope_word(row->scope),
            type ? type->word : "unknown");
    if (type && type->has_data)
        fprintf(out, ",\"size\":%llu,\"protection\":\"%s\"", (unsigned long long)row->size,
                protection_word(row->protection));
    else
        fputs(",\"size\":null,\"protection\":null", out);
    fputs(",\"flags\":", out);
    json_flags(out, row->flags);
    fprintf(out, ",\"backing\":\"%s\",\"file_path\":", row->file_backed ? "file" : "memory");
    if (row->file_path)
        json_string(out, row->file_path);
    else
        fputs("null", out);
    fprintf(out, ",\"mode\":\"%04o\",\"owner_uid\":%u,\"owner\":", row->mode, row->owner_uid);
    json_string(out, user_name(row->owner_uid));
    fprintf(out, ",\"creator_pid\":%u,\"state\":", row->creator_pid);
    json_string(out, row->state);
    fputs(",\"sync\":", out);
    json_sync(out, row);
    fprintf(out, ",\"stale\":%s,\"holders\":%zu,\"pids\":", row->stale ? "true" : "false",
            row->holder_count);
    json_pids(out, t, row);
    fprintf(out, ",\"dev\":\"%u:%u\",\"inode\":%llu", major(row->dev), minor(row->dev),
            (unsigned long long)row->ino);
}
