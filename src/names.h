/* names.h - validation of object names, Local/Global resolution, and their
 * encoding into a file name that can never be read as a path. */
#ifndef SHMAP_NAMES_H
#define SHMAP_NAMES_H

#include "internal.h"

struct name_ref {
    uint32_t scope;                /* SHMAP_SCOPE_LOCAL or _GLOBAL */
    char file[SHMAP_NAME_MAX + 1]; /* encoded file name in the namespace dir */
    char display[SHMAP_NAME_BUF];  /* "Local\x" or "Global\x" */
};

/* Parses NAME into *out.  Errors: SHMAP_EINVAL (NULL), SHMAP_EBADNAME,
 * SHMAP_ENAMETOOLONG. */
int name_resolve(const char *name, struct name_ref *out);

/* Decodes an encoded file name of namespace SCOPE back into its display
 * form.  Returns 0, or SHMAP_EBADNAME if FILE is no encoded name (for
 * example a temporary file). */
int name_decode(uint32_t scope, const char *file, char *display, size_t size);

/* True if FILE, a directory entry, is the encoding of some name. */
bool name_is_encoded(const char *file);

#endif
