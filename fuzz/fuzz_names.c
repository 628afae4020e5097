/* fuzz_names.c - fuzz target for object names (src/names.c).
 *
 * The input, cut at its first NUL, is used twice:
 *  - as a name for name_resolve, whose result is compared with an
 *    independent model of the rules (prefixes, empty rest, '\', length
 *    counted after encoding); a resolved name must encode into a file name
 *    that is never a path (no '/', no leading '.', only [A-Za-z0-9_.-] and
 *    "%XX"), that name_is_encoded accepts, and that name_decode turns back
 *    into exactly the display name (the round trip);
 *  - as a directory entry for name_decode (into buffers of every size,
 *    with guard bytes around them): what it accepts must be the canonical
 *    encoding of a valid name, so that listing and sweeping a namespace
 *    never report a name that does not resolve back to that very file. */
#include "fuzz.h"

#include <string.h>

#include "names.h"

static const char local_prefix[] = "Local\\";
static const char global_prefix[] = "Global\\";

static int plain(unsigned char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c == '_' || c == '-' || (c == '.' && !first);
}

static int upper_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* The rules, written again from the header's words. */
static int model_resolve(const char *name, uint32_t *scope, const char **rest)
{
    *scope = SHMAP_SCOPE_LOCAL;
    *rest = name;
    if (strncmp(name, local_prefix, strlen(local_prefix)) == 0) {
        *rest = name + strlen(local_prefix);
    } else if (strncmp(name, global_prefix, strlen(global_prefix)) == 0) {
        *rest = name + strlen(global_prefix);
        *scope = SHMAP_SCOPE_GLOBAL;
    }
    if (**rest == '\0' || strchr(*rest, '\\'))
        return SHMAP_EBADNAME;
    size_t encoded = 0;
    for (size_t i = 0; (*rest)[i]; i++)
        encoded += plain((unsigned char)(*rest)[i], i == 0) ? 1 : 3;
    return encoded > SHMAP_NAME_MAX ? SHMAP_ENAMETOOLONG : 0;
}

static void check_file_name(const char *file, const char *name)
{
    size_t len = strlen(file);
    FUZZ_CHECK(len > 0 && len <= SHMAP_NAME_MAX, "encoding of \"%s\" is %zu bytes", name, len);
    FUZZ_CHECK(file[0] != '.', "encoding \"%s\" starts with a dot", file);
    for (size_t i = 0; i < len; i++) {
        char c = file[i];
        FUZZ_CHECK(c != '/', "encoding \"%s\" has a path separator", file);
        if (c == '%') {
            FUZZ_CHECK(i + 2 < len, "encoding \"%s\": escape cut short", file);
            FUZZ_CHECK(upper_hex(file[i + 1]) && upper_hex(file[i + 2]),
                       "encoding \"%s\": bad escape at %zu", file, i);
            i += 2;
        } else {
            FUZZ_CHECK(plain((unsigned char)c, i == 0), "encoding \"%s\": byte %zu is 0x%02x", file,
                       i, (unsigned char)c);
        }
    }
    FUZZ_CHECK(name_is_encoded(file), "name_is_encoded refuses its own encoding \"%s\"", file);
}

static void fuzz_resolve(const char *name)
{
    struct name_ref ref;
    memset(&ref, 0xa5, sizeof ref);
    int rc = name_resolve(name, &ref);
    uint32_t scope;
    const char *rest;
    int want = model_resolve(name, &scope, &rest);
    FUZZ_CHECK(rc == want, "name_resolve(\"%s\") = %d, the rules say %d", name, rc, want);
    if (rc != 0)
        return;
    FUZZ_CHECK(ref.scope == scope, "scope of \"%s\"", name);
    char display[SHMAP_NAME_BUF];
    int len = snprintf(display, sizeof display, "%s%s",
                       scope == SHMAP_SCOPE_GLOBAL ? global_prefix : local_prefix, rest);
    FUZZ_CHECK(len > 0 && (size_t)len < sizeof display, "display of \"%s\" too long", name);
    FUZZ_CHECK(memchr(ref.display, '\0', sizeof ref.display) != NULL, "display not terminated");
    FUZZ_CHECK(strcmp(ref.display, display) == 0, "display of \"%s\" is \"%s\"", name, ref.display);
    FUZZ_CHECK(memchr(ref.file, '\0', sizeof ref.file) != NULL, "file name not terminated");
    check_file_name(ref.file, name);

    char back[SHMAP_NAME_BUF];
    int drc = name_decode(scope, ref.file, back, sizeof back);
    FUZZ_CHECK(drc == 0, "name_decode of \"%s\" (from \"%s\") = %d", ref.file, name, drc);
    FUZZ_CHECK(strcmp(back, ref.display) == 0, "round trip of \"%s\" gives \"%s\"", ref.display,
               back);
    /* Resolving the display form again is the identity. */
    struct name_ref again;
    FUZZ_CHECK(name_resolve(ref.display, &again) == 0, "display \"%s\" does not resolve",
               ref.display);
    FUZZ_CHECK(again.scope == ref.scope && strcmp(again.file, ref.file) == 0,
               "\"%s\" resolves differently from its display form", name);
}

static void fuzz_decode(const char *file, unsigned small)
{
    for (uint32_t scope = SHMAP_SCOPE_LOCAL; scope <= SHMAP_SCOPE_GLOBAL; scope++) {
        char display[SHMAP_NAME_BUF];
        int rc = name_decode(scope, file, display, sizeof display);
        FUZZ_CHECK(rc == 0 || rc == SHMAP_EBADNAME || rc == SHMAP_ERANGE,
                   "name_decode(\"%s\") = %d", file, rc);
        FUZZ_CHECK(rc != 0 || name_is_encoded(file), "decoded \"%s\", not an encoding", file);
        if (rc == 0) {
            /* Only the canonical encoding of a valid name is a name. */
            struct name_ref ref;
            int rrc = name_resolve(display, &ref);
            FUZZ_CHECK(rrc == 0, "entry \"%s\" decodes to \"%s\", which is no valid name (%d)",
                       file, display, rrc);
            FUZZ_CHECK(ref.scope == scope && strcmp(ref.file, file) == 0,
                       "entry \"%s\" decodes to \"%s\", whose file is \"%s\"", file, display,
                       ref.file);
        }
        /* Any buffer size: no write outside it. */
        char guarded[SHMAP_NAME_BUF + 32];
        memset(guarded, 0x5a, sizeof guarded);
        size_t size = small % (SHMAP_NAME_BUF + 1);
        if (size > 0)
            name_decode(scope, file, guarded + 16, size);
        for (size_t i = 0; i < sizeof guarded; i++)
            if (i < 16 || i >= 16 + size)
                FUZZ_CHECK(guarded[i] == 0x5a, "name_decode(\"%s\", size %zu) wrote byte %zu", file,
                           size, i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[1024];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    fuzz_resolve(text);
    fuzz_decode(text, size ? data[size - 1] : 0);
    return 0;
}
