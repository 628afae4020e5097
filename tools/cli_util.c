/* cli_util.c - the shmap tool's plumbing: error lines and exit statuses,
 * option and argument parsing, sizes and names for text and JSON output,
 * stdout error handling, holding until a signal, and the progress bar. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- Errors -------------------------------------------------------------- */

int fail(int status, const char *subject, const char *fmt, ...)
{
    char shown[512], message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fflush(stdout);
    if (subject) {
        text_name(subject, shown, sizeof shown);
        fprintf(stderr, "shmap: %s: %s\n", shown, message);
    } else {
        fprintf(stderr, "shmap: %s\n", message);
    }
    return status;
}

int exit_status_for(int code)
{
    switch (code) {
    case SHMAP_ENOENT:
        return EXIT_NOT_FOUND;
    case SHMAP_EEXIST:
        return EXIT_EXISTS;
    case SHMAP_EACCES:
        return EXIT_DENIED;
    case SHMAP_ETYPE:
        return EXIT_WRONG_TYPE;
    case SHMAP_ESTORE:
    case SHMAP_ECORRUPT:
        return EXIT_STORE_BAD;
    case SHMAP_ETIMEDOUT:
        return EXIT_TIMEOUT;
    case SHMAP_EINVAL:
    case SHMAP_EBADNAME:
    case SHMAP_ENAMETOOLONG:
    case SHMAP_EALIGN:
    case SHMAP_ERANGE:
    case SHMAP_EFILEEMPTY:
        return EXIT_USAGE;
    default:
        return EXIT_ERROR;
    }
}

int exit_status_for_errno(int err)
{
    switch (err) {
    case ENOENT:
        return EXIT_NOT_FOUND;
    case EEXIST:
        return EXIT_EXISTS;
    case EACCES:
    case EPERM:
    case EROFS:
        return EXIT_DENIED;
    default:
        return EXIT_ERROR;
    }
}

int fail_code(const char *subject, int code)
{
    return fail(exit_status_for(code), subject, "%s", shmap_strerror(code));
}

/* ---- Options ------------------------------------------------------------- */

int fail_usage(const struct command *cmd, const char *subject, const char *message)
{
    return fail(EXIT_USAGE, subject, "%s; try 'shmap %s --help'", message, cmd->name);
}

int command_help(const struct command *cmd)
{
    fputs(cmd->help, stdout);
    return output_finish(EXIT_OK);
}

/* Builds getopt's short option string from LONGOPTS' single-letter values. */
static void short_options(const struct option *longopts, char *buf, size_t size)
{
    size_t n = 0;
    buf[n++] = ':'; /* report a missing argument as ':' */
    for (const struct option *o = longopts; o->name && n + 3 < size; o++) {
        if (o->flag || o->val <= 0 || o->val > 127 || !isalpha(o->val))
            continue;
        buf[n++] = (char)o->val;
        if (o->has_arg == required_argument)
            buf[n++] = ':';
    }
    buf[n] = '\0';
}

int option_next(const struct command *cmd, int argc, char **argv, const struct option *longopts)
{
    char shortopts[64];
    short_options(longopts, shortopts, sizeof shortopts);
    opterr = 0;
    int opt = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (opt != '?' && opt != ':')
        return opt;
    const char *arg = argv[optind - 1];
    char shown[8] = "-?";
    if (optopt && strncmp(arg, "--", 2) != 0) {
        shown[1] = (char)optopt;
        arg = shown;
    }
    fail_usage(cmd, arg, opt == ':' ? "option needs a value" : "unknown option");
    return OPT_BAD;
}

bool operands_check(const struct command *cmd, int count, int min, int max, const char *what)
{
    if (count < min) {
        char message[128];
        snprintf(message, sizeof message, "missing %s", what);
        fail_usage(cmd, cmd->name, message);
        return false;
    }
    if (count > max) {
        fail_usage(cmd, cmd->name, "too many arguments");
        return false;
    }
    return true;
}

int name_only_args(const struct command *cmd, int argc, char **argv, const char **name)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = option_next(cmd, argc, argv, options)) != -1)
        return opt == OPT_HELP ? command_help(cmd) : EXIT_USAGE;
    if (!operands_check(cmd, argc - optind, 1, 1, "NAME"))
        return EXIT_USAGE;
    *name = argv[optind];
    return EXIT_OK;
}

/* ---- Parsing ------------------------------------------------------------- */

bool parse_size(const char *text, uint64_t *out)
{
    static const char units[] = "KMGTPE";
    if (!text || !isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0)
        return false;
    unsigned shift = 0;
    if (*end) {
        const char *unit = strchr(units, toupper((unsigned char)*end));
        if (!unit)
            return false;
        shift = 10u * (unsigned)(unit - units + 1);
        end++;
        if (strcmp(end, "iB") == 0)
            end += 2;
    }
    if (*end || (uint64_t)value > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)value << shift;
    return true;
}

bool parse_seconds(const char *text, double *out)
{
    if (!text || !(isdigit((unsigned char)text[0]) || text[0] == '.'))
        return false;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || *end || !(value >= 0 && value <= 1e9))
        return false;
    *out = value;
    return true;
}

bool parse_number(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!text || !text[0] || strspn(text, "0123456789") != strlen(text))
        return false;
    errno = 0;
    unsigned long long value = strtoull(text, NULL, 10);
    if (errno != 0 || value < min || value > max)
        return false;
    *out = (uint32_t)value;
    return true;
}

bool parse_mode(const char *text, uint32_t *out)
{
    if (!text || !text[0] || strspn(text, "01234567") != strlen(text) || strlen(text) > 4)
        return false;
    unsigned long value = strtoul(text, NULL, 8);
    if (value > 0777)
        return false;
    *out = (uint32_t)value;
    return true;
}

static const char *const protection_words[] = {
    [SHMAP_PROT_READONLY] = "ro",           [SHMAP_PROT_READWRITE] = "rw",
    [SHMAP_PROT_WRITECOPY] = "cow",         [SHMAP_PROT_EXECUTE_READ] = "rx",
    [SHMAP_PROT_EXECUTE_READWRITE] = "rwx", [SHMAP_PROT_EXECUTE_WRITECOPY] = "cowx",
};

#define PROTECTION_COUNT (sizeof protection_words / sizeof protection_words[0])

bool parse_protection(const char *text, uint32_t *out)
{
    for (uint32_t p = 1; p < PROTECTION_COUNT; p++) {
        if (strcmp(text, protection_words[p]) == 0) {
            *out = p;
            return true;
        }
    }
    return false;
}

const char *protection_word(uint32_t protection)
{
    return protection >= 1 && protection < PROTECTION_COUNT ? protection_words[protection] : "?";
}

int name_parse(const char *name, uint32_t *scope, char *full, size_t size)
{
    static const char local[] = "Local\\", global[] = "Global\\";
    const char *rest = name;
    *scope = SHMAP_SCOPE_LOCAL;
    if (strncmp(name, local, sizeof local - 1) == 0) {
        rest += sizeof local - 1;
    } else if (strncmp(name, global, sizeof global - 1) == 0) {
        rest += sizeof global - 1;
        *scope = SHMAP_SCOPE_GLOBAL;
    }
    if (!rest[0] || strchr(rest, '\\'))
        return SHMAP_EBADNAME;
    if (strlen(rest) > SHMAP_NAME_MAX)
        return SHMAP_ENAMETOOLONG;
    snprintf(full, size, "%s%s", *scope == SHMAP_SCOPE_GLOBAL ? global : local, rest);
    return 0;
}

bool namespace_exists(uint32_t scope)
{
    char path[PATH_MAX];
    struct stat st;
    if (shmap_store_path(scope, path, sizeof path) < 0)
        return true; /* let the library report it */
    return lstat(path, &st) == 0 || errno != ENOENT;
}

const char *scope_word(uint32_t scope)
{
    return scope == SHMAP_SCOPE_GLOBAL ? "global" : "local";
}

/* ---- Formatting ---------------------------------------------------------- */

void format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "KMGTPE";
    if (bytes < 1024) {
        snprintf(buf, size, "%llu", (unsigned long long)bytes);
        return;
    }
    double value = (double)bytes;
    int unit = -1;
    while (value >= 1023.5 && unit < 5) { /* 1023.9K is shown as 1.0M */
        value /= 1024;
        unit++;
    }
    if (value < 9.95)
        snprintf(buf, size, "%.1f%c", value, units[unit]);
    else
        snprintf(buf, size, "%.0f%c", value, units[unit]);
}

void text_name(const char *name, char *buf, size_t size)
{
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++) {
        unsigned char c = (unsigned char)name[n];
        buf[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buf[n] = '\0';
}

size_t text_width(const char *s)
{
    size_t width = 0;
    for (; *s; s++)
        width += ((unsigned char)*s & 0xc0) != 0x80;
    return width;
}

/* Length of the valid UTF-8 sequence at S, or 0 if there is none. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    size_t length;
    uint32_t code;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        length = 2;
        code = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        length = 3;
        code = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        length = 4;
        code = s[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (s[i] & 0x3fu);
    }
    bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    bool surrogate = code >= 0xd800 && code <= 0xdfff;
    return overlong || surrogate || code > 0x10ffff ? 0 : length;
}

/* Writes the ASCII byte C as JSON string content. */
static void json_ascii(FILE *out, unsigned char c)
{
    if (c == '"' || c == '\\')
        fprintf(out, "\\%c", c);
    else if (c == '\n')
        fputs("\\n", out);
    else if (c == '\t')
        fputs("\\t", out);
    else if (c < 0x20 || c == 0x7f)
        fprintf(out, "\\u%04x", c);
    else
        putc(c, out);
}

void json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    putc('"', out);
    while (*p) {
        size_t length = utf8_sequence_length(p);
        if (length == 0)
            fprintf(out, "\\udc%02x", *p); /* not UTF-8: surrogateescape */
        else if (length == 1)
            json_ascii(out, *p);
        else
            fwrite(p, 1, length, out);
        p += length ? length : 1;
    }
    putc('"', out);
}

const char *user_name(uint32_t uid)
{
    enum { CACHED = 16 };
    static struct {
        uint32_t uid;
        char name[64];
    } cache[CACHED];
    static size_t used;
    for (size_t i = 0; i < used; i++)
        if (cache[i].uid == uid)
            return cache[i].name;
    size_t slot = used < CACHED ? used++ : uid % CACHED;
    struct passwd *pw = getpwuid(uid);
    cache[slot].uid = uid;
    if (pw && pw->pw_name)
        snprintf(cache[slot].name, sizeof cache[slot].name, "%s", pw->pw_name);
    else
        snprintf(cache[slot].name, sizeof cache[slot].name, "%u", uid);
    return cache[slot].name;
}

/* ---- Standard output ----------------------------------------------------- */

int output_failed(int err)
{
    if (err == EPIPE) {
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    return fail(EXIT_ERROR, "stdout", "%s", strerror(err));
}

int output_finish(int status)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout))
        return output_failed(errno ? errno : EIO);
    return status;
}

/* ---- Holding ------------------------------------------------------------- */

#define NS_PER_SECOND 1000000000L

void hold_signals_block(sigset_t *signals)
{
    sigemptyset(signals);
    sigaddset(signals, SIGINT);
    sigaddset(signals, SIGTERM);
    sigaddset(signals, SIGHUP);
    sigprocmask(SIG_BLOCK, signals, NULL);
}

/* Waits for one of SIGNALS (blocked) for ever. */
static void wait_for_signal(const sigset_t *signals)
{
    while (sigwaitinfo(signals, NULL) < 0 && errno == EINTR)
        ; /* stopped and continued: keep waiting */
}

/* Waits for one of SIGNALS (blocked), or until SECONDS pass. */
static void wait_for_signal_or_time(const sigset_t *signals, double seconds)
{
    struct timespec deadline, now, left;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    time_t whole = (time_t)seconds;
    long nanoseconds = deadline.tv_nsec + (long)((seconds - (double)whole) * 1e9);
    deadline.tv_sec += whole + nanoseconds / NS_PER_SECOND;
    deadline.tv_nsec = nanoseconds % NS_PER_SECOND;
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = deadline.tv_sec - now.tv_sec;
        left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += NS_PER_SECOND;
        }
        if (left.tv_sec < 0)
            return;
    } while (sigtimedwait(signals, NULL, &left) < 0 && errno == EINTR);
}

void hold_until_signal(const sigset_t *signals, bool timed, double seconds)
{
    if (timed)
        wait_for_signal_or_time(signals, seconds);
    else
        wait_for_signal(signals);
}

/* ---- Progress ------------------------------------------------------------ */

#define PROGRESS_MIN_BYTES (8ull << 20)
#define PROGRESS_BAR_WIDTH 30
#define PROGRESS_UNKNOWN_STEP (4ull << 20)

void progress_begin(struct progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof *p);
    text_name(label, p->label, sizeof p->label);
    p->total = total;
    p->terminal = isatty(STDERR_FILENO) == 1;
    p->drawn_permille = -1;
}

static void progress_draw(struct progress *p)
{
    char done[16], total[16];
    format_size(p->done, done, sizeof done);
    if (p->total == 0) {
        fprintf(stderr, "\r%s  %s", p->label, done);
    } else {
        char bar[PROGRESS_BAR_WIDTH + 1];
        size_t filled = (size_t)(p->done * PROGRESS_BAR_WIDTH / p->total);
        memset(bar, '#', filled);
        memset(bar + filled, '.', PROGRESS_BAR_WIDTH - filled);
        bar[PROGRESS_BAR_WIDTH] = '\0';
        format_size(p->total, total, sizeof total);
        fprintf(stderr, "\r%s [%s] %3d%%  %s/%s", p->label, bar, p->drawn_permille / 10, done,
                total);
    }
    fflush(stderr);
    p->shown = true;
}

void progress_update(struct progress *p, uint64_t done)
{
    p->done = done;
    uint64_t size = p->total ? p->total : done;
    if (!p->terminal || size < PROGRESS_MIN_BYTES)
        return;
    if (p->total) {
        int permille = (int)(done * 1000 / p->total);
        if (permille == p->drawn_permille)
            return;
        p->drawn_permille = permille;
    } else if (p->shown && done - p->drawn_bytes < PROGRESS_UNKNOWN_STEP) {
        return;
    }
    p->drawn_bytes = done;
    progress_draw(p);
}

void progress_end(struct progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
    p->shown = false;
}
