/* header.h - the header page at the start of every object file: what the
 * object is, and (for synchronization objects) its state words.  Fields are
 * fixed-width, little-endian as the machine, with no pointers, so that 32-
 * and 64-bit processes can share an object. */
#ifndef SHMAP_HEADER_H
#define SHMAP_HEADER_H

#include "internal.h"

#define HEADER_MAGIC 0x4a424f50414d4853ull /* "SHMAPOBJ" */
#define HEADER_VERSION 1u
#define HEADER_SIZE 4096u

/* Header flag: the data lives in a backing file named by file_path. */
#define HEADER_FILE_BACKED 0x100u
#define HEADER_FLAGS_KNOWN (SHMAP_RESERVE | SHMAP_HUGE_PAGES | HEADER_FILE_BACKED)

struct object_header {
    uint64_t magic;
    uint32_t version;
    uint32_t type;        /* SHMAP_TYPE_* */
    uint32_t protection;  /* SHMAP_PROT_* (mappings) */
    uint32_t flags;       /* SHMAP_RESERVE | SHMAP_HUGE_PAGES | HEADER_FILE_BACKED */
    uint64_t size;        /* data size in bytes */
    uint64_t data_offset; /* where the data starts in the object file */
    uint32_t creator_uid;
    uint32_t creator_pid;
    uint64_t created_ns; /* CLOCK_REALTIME at creation */
    uint64_t file_dev;   /* identity of the backing file */
    uint64_t file_ino;
    uint32_t header_size; /* HEADER_SIZE */
    int32_t inherited_fd; /* record of an inheritable Win32 handle of a
                             file-backed mapping: its data descriptor */
    uint8_t reserved[48];
    uint8_t sync_state[128] __attribute__((aligned(64))); /* sync objects' words */
    char name[SHMAP_NAME_BUF];                            /* full name, "" if unnamed */
    char file_path[HEADER_SIZE - 512];                    /* backing file, if any */
};

_Static_assert(sizeof(struct object_header) == HEADER_SIZE, "header is one page");

/* Fills H for a new object of TYPE; the caller sets the rest. */
void header_init(struct object_header *h, uint32_t type);

/* Checks a header read from an object file of FILE_SIZE bytes.  Returns 0
 * or SHMAP_ECORRUPT. */
int header_validate(const struct object_header *h, uint64_t file_size);

/* Reads and validates the header of the object file FD.  Errors:
 * SHMAP_ECORRUPT (short, unreadable, or invalid), SHMAP_EIO. */
int header_read(int fd, struct object_header *h);

/* The same, for a file known to be FILE_SIZE bytes long. */
int header_read_sized(int fd, uint64_t file_size, struct object_header *h);

/* The access rights (SHMAP_ACCESS_*) a protection allows. */
uint32_t protection_access(uint32_t protection);

/* True if PROTECTION is one of SHMAP_PROT_*. */
bool protection_valid(uint32_t protection);

#endif
