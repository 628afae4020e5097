/* mapping.h - the mapping handle, shared by the files that implement
 * mappings, views and handle passing. */
#ifndef SHMAP_MAPPING_H
#define SHMAP_MAPPING_H

#include "store.h"

struct shmap_mapping {
    struct store_hold hold; /* the name held (hold.fd -1 when unnamed) */
    int data_fd;            /* what views map: object file, memfd, or backing file */
    uint64_t size;          /* data size */
    uint64_t data_offset;   /* where the data starts in data_fd */
    uint32_t protection;    /* SHMAP_PROT_* of the object */
    uint32_t access;        /* SHMAP_ACCESS_* of this handle */
    uint32_t flags;         /* SHMAP_RESERVE | SHMAP_HUGE_PAGES */
    uint32_t owner_uid;
    bool file_backed;
    char name[SHMAP_NAME_BUF]; /* "" when unnamed */
};

/* Access bits a view may ask for, given what a handle has. */
bool access_valid(uint32_t access);

/* The open(2) mode a handle with ACCESS needs on its file. */
int access_open_mode(uint32_t access);

/* A new, empty handle (no descriptors), or NULL. */
struct shmap_mapping *mapping_alloc(void);

/* Fills M's description from header H with handle access ACCESS; fails
 * with SHMAP_EACCES if the protection does not allow ACCESS. */
int mapping_fill(struct shmap_mapping *m, const struct object_header *h, uint32_t access);

/* A second handle to M's object with ACCESS (within M's access), holding
 * the name on its own.  Errors: SHMAP_EACCES, SHMAP_ENOMEM, SHMAP_EMFILE. */
int mapping_duplicate(const struct shmap_mapping *m, uint32_t access, struct shmap_mapping **out);

/* Opens the backing file a file-backed header names, checking it is the
 * same file.  Returns the descriptor or an error. */
int mapping_open_backing_file(const struct object_header *h, int object_fd, int open_mode);

#endif
