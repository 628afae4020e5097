/* cmd_io.c - `shmap cat` (an object's bytes to stdout) and `shmap write`
 * (stdin into an object).  Both go through views of at most 64 MiB, each
 * starting at a multiple of SHMAP_GRANULARITY, so any offset works.  A
 * write that would not fit is refused before anything is written. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WINDOW_BYTES (64ull << 20) /* a multiple of SHMAP_GRANULARITY */
#define SLICE_BYTES (4u << 20)     /* progress is updated after each */

/* The object and the range of it being transferred. */
struct transfer {
    const char *name;
    shmap_mapping *mapping;
    uint32_t access;
    uint64_t offset, length;
    struct progress progress;
};

/* A view over part of the range: [START, END) of the object at DATA. */
struct window {
    void *view;
    char *data;
    uint64_t start, end;
};

/* Maps the window holding object position POS, up to END at most. */
static int window_map(const struct transfer *t, uint64_t pos, uint64_t end, struct window *w)
{
    uint64_t base = pos - pos % SHMAP_GRANULARITY;
    uint64_t limit = end - base > WINDOW_BYTES ? base + WINDOW_BYTES : end;
    int rc = shmap_view_map(t->mapping, t->access, base, (size_t)(limit - base), NULL, &w->view);
    if (rc < 0)
        return fail_code(t->name, rc);
    w->data = (char *)w->view + (pos - base);
    w->start = pos;
    w->end = limit;
    return EXIT_OK;
}

/* Lets go of the object; safe to call twice. */
static void transfer_close(struct transfer *t)
{
    progress_end(&t->progress);
    if (t->mapping)
        shmap_mapping_close(t->mapping);
    t->mapping = NULL;
}

/* Opens NAME with ACCESS and checks [OFFSET, OFFSET+LENGTH) lies inside it
 * (LENGTH_GIVEN false: to the end).  Never creates anything. */
static int transfer_open(struct transfer *t, const char *name, uint32_t access, uint64_t offset,
                         bool length_given, uint64_t length)
{
    char full[SHMAP_NAME_BUF];
    uint32_t scope;
    memset(t, 0, sizeof *t);
    t->name = name;
    t->access = access;
    int rc = name_parse(name, &scope, full, sizeof full);
    if (rc == 0)
        rc = namespace_exists(scope) ? shmap_mapping_open(name, access, &t->mapping) : SHMAP_ENOENT;
    if (rc < 0)
        return fail_code(name, rc);
    shmap_mapping_info info;
    shmap_mapping_query(t->mapping, &info);
    if (offset > info.size || (length_given && length > info.size - offset)) {
        transfer_close(t);
        return fail(exit_status_for(SHMAP_ERANGE), name, "%s (object size %llu)",
                    shmap_strerror(SHMAP_ERANGE), (unsigned long long)info.size);
    }
    t->offset = offset;
    t->length = length_given ? length : info.size - offset;
    return EXIT_OK;
}

/* ---- cat ----------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        buf += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Writes the window to stdout, a slice at a time. */
static int cat_window(struct transfer *t, const struct window *w)
{
    for (uint64_t pos = w->start; pos < w->end;) {
        size_t slice = w->end - pos > SLICE_BYTES ? SLICE_BYTES : (size_t)(w->end - pos);
        int err = write_all(STDOUT_FILENO, w->data + (pos - w->start), slice);
        if (err)
            return err;
        pos += slice;
        progress_update(&t->progress, pos - t->offset);
    }
    return 0;
}

static int cat_range(struct transfer *t)
{
    uint64_t end = t->offset + t->length;
    progress_begin(&t->progress, t->name, t->length);
    for (uint64_t pos = t->offset; pos < end;) {
        struct window w;
        int status = window_map(t, pos, end, &w);
        if (status != EXIT_OK)
            return status;
        int err = cat_window(t, &w);
        shmap_view_unmap(w.view);
        if (err) {
            transfer_close(t);
            return output_failed(err);
        }
        pos = w.end;
    }
    return EXIT_OK;
}

/* Parses --offset / --length values into *VALUE. */
static int range_option(const struct command *self, const char *what, uint64_t *value)
{
    if (parse_size(optarg, value))
        return EXIT_OK;
    char message[64];
    snprintf(message, sizeof message, "bad %s (bytes, e.g. 4096 or 64K)", what);
    return fail_usage(self, optarg, message);
}

static int cat_run(const struct command *self, int argc, char **argv)
{
    static const struct option options[] = {
        {"offset", required_argument, NULL, 'o'},
        {"length", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    uint64_t offset = 0, length = 0;
    bool length_given = false;
    int opt, status = EXIT_OK;
    while (status == EXIT_OK && (opt = option_next(self, argc, argv, options)) != -1) {
        if (opt == OPT_BAD)
            return EXIT_USAGE;
        if (opt == OPT_HELP)
            return command_help(self);
        length_given |= opt == 'l';
        status =
            range_option(self, opt == 'o' ? "offset" : "length", opt == 'o' ? &offset : &length);
    }
    if (status != EXIT_OK)
        return status;
    if (!operands_check(self, argc - optind, 1, 1, "NAME"))
        return EXIT_USAGE;
    struct transfer t;
    status = transfer_open(&t, argv[optind], SHMAP_ACCESS_READ, offset, length_given, length);
    if (status != EXIT_OK)
        return status;
    status = cat_range(&t);
    transfer_close(&t);
    return status;
}

const struct command cmd_cat = {
    "cat",
    "write an object's bytes to stdout",
    "usage: shmap cat NAME [--offset N] [--length N]\n"
    "\n"
    "Writes the bytes of the mapping NAME to stdout: all of them, or LENGTH\n"
    "bytes from OFFSET.  Any offset works (64K, 1M and so on are accepted);\n"
    "a range past the object's end is an error (exit status 2).  A progress\n"
    "bar is shown on stderr when it is a terminal and the range is 8 MiB or\n"
    "more.\n"
    "\n"
    "  -o, --offset N  start N bytes into the object (default 0)\n"
    "  -l, --length N  write N bytes (default: up to the end)\n"
    "  -h, --help      show this help\n",
    cat_run,
};

/* ---- write --------------------------------------------------------------- */

/* Reads up to SIZE bytes from FD; returns the count (short only at end of
 * input), or -1 with errno. */
static ssize_t read_full(int fd, char *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* The input, when it is not a regular file: read whole, up to ROOM + 1
 * bytes (one more than fits tells that it does not).  DATA stays NULL for
 * a regular file, which is read as it is copied. */
struct input_buffer {
    char *data;
    size_t length, capacity;
};

/* Makes room for more input; false when out of memory. */
static bool input_buffer_grow(struct input_buffer *in, uint64_t limit)
{
    uint64_t grown = in->capacity ? (uint64_t)in->capacity * 2 : (1u << 20);
    grown = grown > limit ? limit : grown;
    char *data = grown <= SIZE_MAX ? realloc(in->data, (size_t)grown) : NULL;
    if (!data)
        return false;
    in->data = data;
    in->capacity = (size_t)grown;
    return true;
}

static int input_buffer_fill(struct transfer *t, uint64_t room, struct input_buffer *in)
{
    uint64_t limit = room + 1;
    progress_begin(&t->progress, t->name, 0);
    for (;;) {
        if (in->length == in->capacity && !input_buffer_grow(in, limit))
            return fail(EXIT_ERROR, "stdin", "%s", strerror(ENOMEM));
        ssize_t n = read_full(STDIN_FILENO, in->data + in->length, in->capacity - in->length);
        if (n < 0)
            return fail(EXIT_ERROR, "stdin", "%s", strerror(errno));
        in->length += (size_t)n;
        progress_update(&t->progress, in->length);
        if (in->length < in->capacity || in->length == limit)
            break;
    }
    progress_end(&t->progress);
    return EXIT_OK;
}

/* How much input there is: known in advance for a regular file (from its
 * current position), else read into IN. */
static int input_measure(struct transfer *t, uint64_t room, struct input_buffer *in,
                         uint64_t *input_length)
{
    struct stat st;
    off_t pos;
    if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
        (pos = lseek(STDIN_FILENO, 0, SEEK_CUR)) >= 0) {
        *input_length = st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
        return EXIT_OK;
    }
    int status = input_buffer_fill(t, room, in);
    *input_length = in->length;
    return status;
}

/* Fills the window from the buffer, or from stdin when there is none. */
static int write_window(struct transfer *t, const struct window *w, const struct input_buffer *in)
{
    for (uint64_t pos = w->start; pos < w->end;) {
        size_t slice = w->end - pos > SLICE_BYTES ? SLICE_BYTES : (size_t)(w->end - pos);
        char *to = w->data + (pos - w->start);
        if (in->data) {
            memcpy(to, in->data + (pos - t->offset), slice);
        } else {
            ssize_t n = read_full(STDIN_FILENO, to, slice);
            if (n < 0)
                return fail(EXIT_ERROR, "stdin", "%s", strerror(errno));
            if ((size_t)n < slice) /* the file shrank meanwhile */
                return fail(EXIT_ERROR, "stdin", "input ended early");
        }
        pos += slice;
        progress_update(&t->progress, pos - t->offset);
    }
    return EXIT_OK;
}

static int write_range(struct transfer *t, const struct input_buffer *in)
{
    uint64_t end = t->offset + t->length;
    progress_begin(&t->progress, t->name, t->length);
    for (uint64_t pos = t->offset; pos < end;) {
        struct window w;
        int status = window_map(t, pos, end, &w);
        if (status != EXIT_OK)
            return status;
        status = write_window(t, &w, in);
        shmap_view_unmap(w.view);
        if (status != EXIT_OK)
            return status;
        pos = w.end;
    }
    return EXIT_OK;
}

/* Copies stdin into the open object from T's offset, if it all fits. */
static int write_input(struct transfer *t)
{
    struct input_buffer in = {NULL, 0, 0};
    uint64_t input_length, room = t->length;
    int status = input_measure(t, room, &in, &input_length);
    if (status == EXIT_OK && input_length > room)
        status = fail(exit_status_for(SHMAP_ERANGE), t->name,
                      "%s: input is longer than the %llu bytes from offset %llu to the end",
                      shmap_strerror(SHMAP_ERANGE), (unsigned long long)room,
                      (unsigned long long)t->offset);
    if (status == EXIT_OK) {
        t->length = input_length;
        status = write_range(t, &in);
    }
    free(in.data);
    return status;
}

static int write_run(const struct command *self, int argc, char **argv)
{
    static const struct option options[] = {
        {"offset", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    uint64_t offset = 0;
    int opt;
    while ((opt = option_next(self, argc, argv, options)) != -1) {
        if (opt == OPT_BAD)
            return EXIT_USAGE;
        if (opt == OPT_HELP)
            return command_help(self);
        if (range_option(self, "offset", &offset) != EXIT_OK)
            return EXIT_USAGE;
    }
    if (!operands_check(self, argc - optind, 1, 1, "NAME"))
        return EXIT_USAGE;
    struct transfer t;
    int status =
        transfer_open(&t, argv[optind], SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE, offset, false, 0);
    if (status != EXIT_OK)
        return status;
    status = write_input(&t);
    transfer_close(&t);
    return status;
}

const struct command cmd_write = {
    "write",
    "copy stdin into an object",
    "usage: shmap write NAME [--offset N] < INPUT\n"
    "\n"
    "Copies stdin into the mapping NAME from OFFSET (any offset; 64K, 1M and\n"
    "so on are accepted).  Input longer than the room left is refused before\n"
    "anything is written (exit status 2): a regular file is measured first,\n"
    "anything else (a pipe) is read whole into memory first.  A progress bar\n"
    "is shown on stderr when it is a terminal and the input is 8 MiB or more.\n"
    "\n"
    "  -o, --offset N  start N bytes into the object (default 0)\n"
    "  -h, --help      show this help\n",
    write_run,
};
