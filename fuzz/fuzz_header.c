/* fuzz_header.c - fuzz target for object headers (src/header.c) and for
 * shmap_sync_describe, which reads a copy of a header page without a
 * handle (the shmap tool's view of other users' objects).
 *
 * The input's first 4096 bytes are a header page (zero-padded); bytes
 * 4096..4103, if present, are the object file's size (else several sizes
 * are tried, among them the one the header itself asks for).  Whatever
 * header_validate accepts must be safe to use as the library uses it:
 * known magic, version, size of header, flags and type; terminated
 * strings; for a memory-backed mapping a known data offset and data that
 * fits in the file without overflow; for a file-backed one an absolute
 * path.  header_read on a file with the same bytes agrees.  describe
 * returns only its documented codes, and a terminated name. */
#include "fuzz.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "header.h"

static void check_valid(const struct object_header *h, uint64_t file_size)
{
    FUZZ_CHECK(h->magic == HEADER_MAGIC && h->version == HEADER_VERSION &&
                   h->header_size == HEADER_SIZE,
               "accepted magic %llx version %u header size %u", (unsigned long long)h->magic,
               h->version, h->header_size);
    FUZZ_CHECK(!(h->flags & ~HEADER_FLAGS_KNOWN), "accepted flags %#x", h->flags);
    FUZZ_CHECK(memchr(h->name, '\0', sizeof h->name) != NULL, "accepted an unterminated name");
    FUZZ_CHECK(memchr(h->file_path, '\0', sizeof h->file_path) != NULL,
               "accepted an unterminated file path");
    switch (h->type) {
    case SHMAP_TYPE_MAPPING:
        FUZZ_CHECK(protection_valid(h->protection), "accepted protection %u", h->protection);
        FUZZ_CHECK(protection_access(h->protection) != 0, "no access for a valid protection");
        FUZZ_CHECK(h->size > 0 && h->size <= (1ull << 62), "accepted size %llu",
                   (unsigned long long)h->size);
        if (h->flags & HEADER_FILE_BACKED) {
            FUZZ_CHECK(h->data_offset == 0 && h->file_path[0] == '/',
                       "file-backed with offset %llu, path \"%.40s\"",
                       (unsigned long long)h->data_offset, h->file_path);
        } else {
            FUZZ_CHECK(h->data_offset == SHMAP_HEADER_REGION ||
                           h->data_offset == SHMAP_HUGE_DATA_OFFSET,
                       "accepted data offset %llu", (unsigned long long)h->data_offset);
            FUZZ_CHECK(h->data_offset <= file_size && h->size <= file_size - h->data_offset,
                       "data [%llu, +%llu) past a file of %llu", (unsigned long long)h->data_offset,
                       (unsigned long long)h->size, (unsigned long long)file_size);
        }
        break;
    case SHMAP_TYPE_MUTEX:
    case SHMAP_TYPE_EVENT:
    case SHMAP_TYPE_SEMAPHORE:
        FUZZ_CHECK(file_size >= HEADER_SIZE, "sync object in a file of %llu",
                   (unsigned long long)file_size);
        break;
    default:
        FUZZ_CHECK(0, "accepted type %u", h->type);
    }
}

static void validate_at(const struct object_header *h, uint64_t file_size)
{
    int rc = header_validate(h, file_size);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ECORRUPT, "header_validate = %d", rc);
    if (rc == 0)
        check_valid(h, file_size);
}

/* The same bytes as a file: header_read agrees with header_validate. */
static void read_back(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("fuzz-header", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 0) != 0)
        return;
    size_t len = size < 2 * HEADER_SIZE ? size : 2 * HEADER_SIZE;
    if (len && pwrite(fd, data, len, 0) != (ssize_t)len)
        return;
    struct object_header h;
    int rc = header_read(fd, &h);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ECORRUPT, "header_read = %d", rc);
    if (len < HEADER_SIZE) {
        FUZZ_CHECK(rc == SHMAP_ECORRUPT, "header_read accepted a file of %zu bytes", len);
        return;
    }
    struct object_header copy;
    memcpy(&copy, data, sizeof copy);
    FUZZ_CHECK(rc == header_validate(&copy, len), "header_read and header_validate disagree");
    if (rc == 0)
        check_valid(&h, len);
}

static void describe(const uint8_t *data, size_t size)
{
    shmap_sync_info info;
    memset(&info, 0xa5, sizeof info);
    int rc = shmap_sync_describe(data, size, &info);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ETYPE || rc == SHMAP_ECORRUPT, "describe = %d", rc);
    if (size < HEADER_SIZE)
        FUZZ_CHECK(rc == SHMAP_ECORRUPT, "describe accepted %zu bytes", size);
    if (rc != 0)
        return;
    FUZZ_CHECK(info.type == SHMAP_TYPE_MUTEX || info.type == SHMAP_TYPE_EVENT ||
                   info.type == SHMAP_TYPE_SEMAPHORE,
               "described type %u", info.type);
    FUZZ_CHECK(memchr(info.name, '\0', sizeof info.name) != NULL, "described name unterminated");
    FUZZ_CHECK(info.abandoned == 0 || info.abandoned == 1, "abandoned %d", info.abandoned);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct object_header h; /* aligned as the library's own */
    memset(&h, 0, sizeof h);
    memcpy(&h, data, size < sizeof h ? size : sizeof h);
    if (size >= HEADER_SIZE + 8) {
        uint64_t file_size;
        memcpy(&file_size, data + HEADER_SIZE, sizeof file_size);
        validate_at(&h, file_size);
    }
    static const uint64_t sizes[] = {
        0,         1, HEADER_SIZE - 1, HEADER_SIZE, SHMAP_HEADER_REGION, SHMAP_HUGE_DATA_OFFSET,
        UINT64_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        validate_at(&h, sizes[i]);
    validate_at(&h, h.data_offset + h.size); /* exactly what it asks for (may wrap) */
    validate_at(&h, h.data_offset + h.size - 1);
    read_back(data, size);
    describe(data, size);
    return 0;
}
