/* header.c - building, reading and validating object headers.  Whatever
 * another process left in a header is checked before use: a bad header is
 * an error, never a crash. */
#include "header.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void header_init(struct object_header *h, uint32_t type)
{
    struct timespec now;
    memset(h, 0, sizeof *h);
    clock_gettime(CLOCK_REALTIME, &now);
    h->magic = HEADER_MAGIC;
    h->version = HEADER_VERSION;
    h->type = type;
    h->header_size = HEADER_SIZE;
    h->creator_uid = (uint32_t)geteuid();
    h->creator_pid = (uint32_t)getpid();
    h->created_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

bool protection_valid(uint32_t protection)
{
    return protection >= SHMAP_PROT_READONLY && protection <= SHMAP_PROT_EXECUTE_WRITECOPY;
}

uint32_t protection_access(uint32_t protection)
{
    switch (protection) {
    case SHMAP_PROT_READONLY:
        return SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY;
    case SHMAP_PROT_READWRITE:
        return SHMAP_ACCESS_READ | SHMAP_ACCESS_WRITE | SHMAP_ACCESS_COPY;
    case SHMAP_PROT_WRITECOPY:
        return SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY;
    case SHMAP_PROT_EXECUTE_READ:
        return SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY | SHMAP_ACCESS_EXECUTE;
    case SHMAP_PROT_EXECUTE_READWRITE:
        return SHMAP_ACCESS_ALL;
    case SHMAP_PROT_EXECUTE_WRITECOPY:
        return SHMAP_ACCESS_READ | SHMAP_ACCESS_COPY | SHMAP_ACCESS_EXECUTE;
    default:
        return 0;
    }
}

static bool string_terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static int header_validate_mapping(const struct object_header *h, uint64_t file_size)
{
    if (!protection_valid(h->protection) || h->size == 0 || h->size > (1ull << 62))
        return SHMAP_ECORRUPT;
    if (h->flags & HEADER_FILE_BACKED)
        return h->data_offset == 0 && h->file_path[0] == '/' ? 0 : SHMAP_ECORRUPT;
    if (h->data_offset != SHMAP_HEADER_REGION && h->data_offset != SHMAP_HUGE_DATA_OFFSET)
        return SHMAP_ECORRUPT;
    if (file_size < h->data_offset || file_size - h->data_offset < h->size)
        return SHMAP_ECORRUPT;
    return 0;
}

int header_validate(const struct object_header *h, uint64_t file_size)
{
    if (h->magic != HEADER_MAGIC || h->version != HEADER_VERSION || h->header_size != HEADER_SIZE)
        return SHMAP_ECORRUPT;
    if (h->flags & ~HEADER_FLAGS_KNOWN)
        return SHMAP_ECORRUPT;
    if (!string_terminated(h->name, sizeof h->name) ||
        !string_terminated(h->file_path, sizeof h->file_path))
        return SHMAP_ECORRUPT;
    switch (h->type) {
    case SHMAP_TYPE_MAPPING:
        return header_validate_mapping(h, file_size);
    case SHMAP_TYPE_MUTEX:
    case SHMAP_TYPE_EVENT:
    case SHMAP_TYPE_SEMAPHORE:
        return file_size >= HEADER_SIZE ? 0 : SHMAP_ECORRUPT;
    default:
        return SHMAP_ECORRUPT;
    }
}

int header_read_sized(int fd, uint64_t file_size, struct object_header *h)
{
    ssize_t n = RETRY_EINTR(pread(fd, h, sizeof *h, 0));
    if (n != (ssize_t)sizeof *h)
        return SHMAP_ECORRUPT;
    return header_validate(h, file_size);
}

int header_read(int fd, struct object_header *h)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return error_from_errno(errno);
    return header_read_sized(fd, (uint64_t)st.st_size, h);
}
