/* names.c - object names.  A name is "Local\rest", "Global\rest" or a bare
 * "rest" (Local).  REST may hold any byte but '\' and NUL; it is encoded
 * into a file name made only of [A-Za-z0-9_.-] and "%XX" escapes, never
 * starting with '.', so "..", "/" or control bytes are opaque bytes of a
 * name and never a path.  Entries starting with '.' are free for the
 * store's own use. */
#include "names.h"

#include <stdio.h>
#include <string.h>

static const char local_prefix[] = "Local\\";
static const char global_prefix[] = "Global\\";

static bool byte_is_plain(unsigned char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c == '_' || c == '-' || (c == '.' && !first);
}

static int name_encode(const char *rest, char *file)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; rest[i]; i++) {
        unsigned char c = (unsigned char)rest[i];
        size_t need = byte_is_plain(c, i == 0) ? 1 : 3;
        if (n + need > SHMAP_NAME_MAX)
            return SHMAP_ENAMETOOLONG;
        if (need == 1) {
            file[n++] = (char)c;
        } else {
            file[n++] = '%';
            file[n++] = hex[c >> 4];
            file[n++] = hex[c & 15];
        }
    }
    file[n] = '\0';
    return 0;
}

int name_resolve(const char *name, struct name_ref *out)
{
    if (!name || !out)
        return SHMAP_EINVAL;
    const char *rest = name;
    const char *prefix = local_prefix;
    out->scope = SHMAP_SCOPE_LOCAL;
    if (strncmp(name, local_prefix, sizeof local_prefix - 1) == 0) {
        rest = name + sizeof local_prefix - 1;
    } else if (strncmp(name, global_prefix, sizeof global_prefix - 1) == 0) {
        rest = name + sizeof global_prefix - 1;
        prefix = global_prefix;
        out->scope = SHMAP_SCOPE_GLOBAL;
    }
    size_t len = strnlen(rest, SHMAP_NAME_MAX + 1);
    if (len == 0 || strchr(rest, '\\'))
        return SHMAP_EBADNAME;
    if (len > SHMAP_NAME_MAX)
        return SHMAP_ENAMETOOLONG;
    int rc = name_encode(rest, out->file);
    if (rc < 0)
        return rc;
    snprintf(out->display, sizeof out->display, "%s%s", prefix, rest);
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes FILE into RAW (SIZE bytes); false if FILE is no encoding. */
static bool name_unescape(const char *file, char *raw, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; file[i]; i++) {
        char c = file[i];
        if (c == '%') {
            if (hex_value(file[i + 1]) < 0 || hex_value(file[i + 2]) < 0)
                return false;
            c = (char)(hex_value(file[i + 1]) * 16 + hex_value(file[i + 2]));
            i += 2;
        }
        if (n + 1 >= size)
            return false;
        raw[n++] = c;
    }
    raw[n] = '\0';
    return true;
}

/* Only the canonical encoding of a name counts (so "%41" is not "A"):
 * FILE must decode to a valid name that encodes back to FILE. */
bool name_is_encoded(const char *file)
{
    char raw[SHMAP_NAME_MAX + 1], again[SHMAP_NAME_MAX + 1];
    if (!file[0] || strlen(file) > SHMAP_NAME_MAX || !name_unescape(file, raw, sizeof raw))
        return false;
    if (!raw[0] || strchr(raw, '\\'))
        return false;
    return name_encode(raw, again) == 0 && strcmp(again, file) == 0;
}

int name_decode(uint32_t scope, const char *file, char *display, size_t size)
{
    if (!name_is_encoded(file))
        return SHMAP_EBADNAME;
    const char *prefix = scope == SHMAP_SCOPE_GLOBAL ? global_prefix : local_prefix;
    size_t n = strlen(prefix);
    if (n + 1 > size)
        return SHMAP_ERANGE;
    memcpy(display, prefix, n);
    return name_unescape(file, display + n, size - n) ? 0 : SHMAP_ERANGE;
}
