/* cmd_ls.c - `shmap ls` (the objects of a namespace, with their holders,
 * as aligned columns or JSON) and `shmap gc` (removing stale names). */
#include "cli.h"

#include <string.h>

/* Which namespaces --global and --all select. */
struct scope_choice {
    uint32_t scopes[2];
    size_t count;
};

static void scope_choose(struct scope_choice *c, int opt)
{
    c->count = 0;
    if (opt != 'g')
        c->scopes[c->count++] = SHMAP_SCOPE_LOCAL;
    if (opt != 'l')
        c->scopes[c->count++] = SHMAP_SCOPE_GLOBAL;
}

/* Reports a failure of the store-wide call for SCOPE, naming its directory. */
static int fail_scope(uint32_t scope, int code)
{
    char path[4096];
    if (shmap_store_path(scope, path, sizeof path) < 0)
        snprintf(path, sizeof path, "%s namespace", scope_word(scope));
    return fail_code(path, code);
}

/* ---- ls: text ------------------------------------------------------------ */

enum {
    COL_NAME,
    COL_TYPE,
    COL_SIZE,
    COL_PROT,
    COL_MODE,
    COL_OWNER,
    COL_STATE,
    COL_HOLDERS,
    COL_PIDS,
    COL_COUNT
};

static const char *const column_titles[COL_COUNT] = {
    "NAME", "TYPE", "SIZE", "PROT", "MODE", "OWNER", "STATE", "HOLDERS", "PIDS",
};

/* Right-aligned columns (numbers). */
static bool column_right(int col)
{
    return col == COL_SIZE || col == COL_HOLDERS;
}

#define PIDS_SHOWN 16

struct row_cells {
    char text[COL_COUNT][SHMAP_NAME_BUF];
};

static void row_cells_fill(const struct holder_table *holders, const struct object_row *row,
                           struct row_cells *c)
{
    const struct object_type *type = object_type_find(row->type);
    text_name(row->name, c->text[COL_NAME], sizeof c->text[COL_NAME]);
    snprintf(c->text[COL_TYPE], sizeof c->text[COL_TYPE], "%s", type ? type->word : "?");
    if (type && type->has_data) {
        format_size(row->size, c->text[COL_SIZE], sizeof c->text[COL_SIZE]);
        snprintf(c->text[COL_PROT], sizeof c->text[COL_PROT], "%s",
                 protection_word(row->protection));
    } else {
        strcpy(c->text[COL_SIZE], "-");
        strcpy(c->text[COL_PROT], "-");
    }
    snprintf(c->text[COL_MODE], sizeof c->text[COL_MODE], "%04o", row->mode);
    snprintf(c->text[COL_OWNER], sizeof c->text[COL_OWNER], "%s", user_name(row->owner_uid));
    text_name(row->state, c->text[COL_STATE], sizeof c->text[COL_STATE]);
    snprintf(c->text[COL_HOLDERS], sizeof c->text[COL_HOLDERS], "%zu", row->holder_count);
    if (row->stale)
        strcpy(c->text[COL_PIDS], "STALE");
    else
        holders_format(holders, row, PIDS_SHOWN, c->text[COL_PIDS], sizeof c->text[COL_PIDS]);
    if (!c->text[COL_PIDS][0])
        strcpy(c->text[COL_PIDS], "-");
}

static void cells_print(const struct row_cells *c, const size_t width[COL_COUNT])
{
    for (int col = 0; col < COL_COUNT; col++) {
        size_t pad = width[col] - text_width(c->text[col]);
        if (column_right(col))
            printf("%*s", (int)pad, "");
        fputs(c->text[col], stdout);
        if (col == COL_COUNT - 1)
            break;
        printf("%*s", (int)(column_right(col) ? 2 : pad + 2), "");
    }
    putchar('\n');
}

static void ls_print_text(const struct object_table *t, const struct holder_table *holders)
{
    struct row_cells cells;
    size_t width[COL_COUNT];
    if (t->count == 0)
        return;
    for (int col = 0; col < COL_COUNT; col++) {
        snprintf(cells.text[col], sizeof cells.text[col], "%s", column_titles[col]);
        width[col] = strlen(column_titles[col]);
    }
    for (size_t i = 0; i < t->count; i++) {
        struct row_cells row;
        row_cells_fill(holders, &t->rows[i], &row);
        for (int col = 0; col < COL_COUNT; col++) {
            size_t w = text_width(row.text[col]);
            width[col] = w > width[col] ? w : width[col];
        }
    }
    cells_print(&cells, width);
    for (size_t i = 0; i < t->count; i++) {
        row_cells_fill(holders, &t->rows[i], &cells);
        cells_print(&cells, width);
    }
}

/* ---- ls: JSON ------------------------------------------------------------ */

static void ls_print_json(const struct object_table *t, const struct holder_table *holders)
{
    putchar('[');
    for (size_t i = 0; i < t->count; i++) {
        fputs(i ? ",\n{" : "\n{", stdout);
        json_object_fields(stdout, holders, &t->rows[i]);
        putchar('}');
    }
    puts("\n]");
}

/* ---- ls ------------------------------------------------------------------ */

static int ls_collect(const struct scope_choice *scopes, struct object_table *table,
                      struct holder_table *holders)
{
    for (size_t i = 0; i < scopes->count; i++) {
        int rc = object_table_load(table, scopes->scopes[i]);
        if (rc < 0)
            return fail_scope(scopes->scopes[i], rc);
    }
    int err = holder_table_load(holders);
    if (err)
        return fail(EXIT_ERROR, "/proc/locks", "%s", strerror(err));
    object_table_sort(table);
    holder_table_attach(holders, table);
    return EXIT_OK;
}

/* Parses the options of ls and gc: the scope (--global, --all) and one
 * switch, FLAG (--json or --dry-run), into *SCOPES and *FLAG_SET.  Returns
 * EXIT_OK, or the exit status to return at once (usage, help). */
static int scoped_options(const struct command *self, int argc, char **argv,
                          const struct option *options, int flag, struct scope_choice *scopes,
                          bool *flag_set)
{
    int opt;
    *flag_set = false;
    scope_choose(scopes, 'l');
    while ((opt = option_next(self, argc, argv, options)) != -1) {
        if (opt == OPT_BAD)
            return EXIT_USAGE;
        if (opt == OPT_HELP)
            return command_help(self);
        if (opt == flag)
            *flag_set = true;
        else
            scope_choose(scopes, opt);
    }
    return operands_check(self, argc - optind, 0, 0, "") ? EXIT_OK : EXIT_USAGE;
}

static int ls_run(const struct command *self, int argc, char **argv)
{
    static const struct option options[] = {
        {"global", no_argument, NULL, 'g'},
        {"all", no_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct scope_choice scopes;
    bool json;
    int parsed = scoped_options(self, argc, argv, options, 'j', &scopes, &json);
    if (parsed != EXIT_OK)
        return parsed;
    struct object_table table = {0};
    struct holder_table holders = {0};
    int status = ls_collect(&scopes, &table, &holders);
    if (status == EXIT_OK) {
        if (json)
            ls_print_json(&table, &holders);
        else
            ls_print_text(&table, &holders);
        status = output_finish(EXIT_OK);
    }
    object_table_free(&table);
    holder_table_free(&holders);
    return status;
}

const struct command cmd_ls = {
    "ls",
    "list objects, their holders' pids, and stale names",
    "usage: shmap ls [--global | --all] [--json]\n"
    "\n"
    "Lists the objects of your Local\\ namespace, sorted by name: type, size,\n"
    "protection, mode, owner, state (a mapping's backing; a mutex's owner\n"
    "thread, an event's set or not, a semaphore's count), how many processes\n"
    "hold each and their pids.  A name no process holds any more is shown as\n"
    "STALE.\n"
    "\n"
    "  -g, --global   list the Global\\ namespace instead\n"
    "  -a, --all      list both namespaces\n"
    "  -j, --json     print a JSON array of objects, for scripts\n"
    "  -h, --help     show this help\n",
    ls_run,
};

/* ---- gc ------------------------------------------------------------------ */

struct gc_report {
    const char *verb;
};

static void gc_report_name(const char *name, void *arg)
{
    const struct gc_report *report = arg;
    char shown[SHMAP_NAME_BUF];
    text_name(name, shown, sizeof shown);
    printf("%s %s\n", report->verb, shown);
}

/* Sweeps the chosen namespaces, printing each stale name, then the count. */
static int gc_sweep(const struct scope_choice *scopes, bool dry_run)
{
    struct gc_report report = {dry_run ? "stale" : "removed"};
    int total = 0;
    for (size_t i = 0; i < scopes->count; i++) {
        if (!namespace_exists(scopes->scopes[i]))
            continue;
        int rc = shmap_store_sweep(scopes->scopes[i], dry_run ? SHMAP_SWEEP_DRY_RUN : 0,
                                   gc_report_name, &report);
        if (rc < 0)
            return fail_scope(scopes->scopes[i], rc);
        total += rc;
    }
    printf("%d stale name%s %s\n", total, total == 1 ? "" : "s",
           dry_run ? "found (dry run: nothing removed)" : "removed");
    return output_finish(EXIT_OK);
}

static int gc_run(const struct command *self, int argc, char **argv)
{
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"global", no_argument, NULL, 'g'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct scope_choice scopes;
    bool dry_run;
    int parsed = scoped_options(self, argc, argv, options, 'n', &scopes, &dry_run);
    return parsed != EXIT_OK ? parsed : gc_sweep(&scopes, dry_run);
}

const struct command cmd_gc = {
    "gc",
    "remove stale names (whose holders all died)",
    "usage: shmap gc [--dry-run] [--global | --all]\n"
    "\n"
    "Removes every stale name of your Local\\ namespace: one whose holders all\n"
    "died without closing it.  Prints \"removed NAME\" for each, then a count.\n"
    "Names of other users that you may not remove are left alone.\n"
    "\n"
    "  -n, --dry-run  only list them (\"stale NAME\"); remove nothing\n"
    "  -g, --global   sweep the Global\\ namespace instead\n"
    "  -a, --all      sweep both namespaces\n"
    "  -h, --help     show this help\n",
    gc_run,
};
