/* share.c - giving a mapping handle to another process: over a Unix
 * socket (SCM_RIGHTS, with the object's header as the message), or as a
 * descriptor that survives exec.  The receiver always takes a hold of its
 * own on a new open file description, because a received descriptor shares
 * the sender's, and with it the sender's lock. */
#include "mapping.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHARE_MAGIC 0x444e53504d414853ull /* "SHMAPSND" */

struct share_msg {
    uint64_t magic;
    uint32_t access; /* the sender's handle access: the receiver's bound */
    uint32_t nfds;
    struct object_header header;
};

/* Rebuilds the header that describes M. */
static void mapping_header(const struct shmap_mapping *m, struct object_header *h, int data_fd)
{
    header_init(h, SHMAP_TYPE_MAPPING);
    h->protection = m->protection;
    h->flags = m->flags | (m->file_backed ? HEADER_FILE_BACKED : 0);
    h->size = m->size;
    h->data_offset = m->data_offset;
    h->creator_uid = m->owner_uid;
    snprintf(h->name, sizeof h->name, "%s", m->name);
    struct stat st;
    if (m->file_backed && fstat(data_fd, &st) == 0) {
        h->file_dev = (uint64_t)st.st_dev;
        h->file_ino = (uint64_t)st.st_ino;
        char link[32];
        snprintf(link, sizeof link, "/proc/self/fd/%d", data_fd);
        ssize_t n = readlink(link, h->file_path, sizeof h->file_path - 1);
        h->file_path[n > 0 ? n : 0] = '\0';
    }
}

SHMAP_API int shmap_mapping_send(shmap_mapping *m, int sock)
{
    if (!m || sock < 0)
        return SHMAP_EINVAL;
    struct share_msg *msg = calloc(1, sizeof *msg);
    if (!msg)
        return SHMAP_ENOMEM;
    int fds[2] = {m->data_fd, m->hold.fd};
    msg->magic = SHARE_MAGIC;
    msg->access = m->access;
    msg->nfds = m->hold.fd >= 0 ? 2 : 1;
    mapping_header(m, &msg->header, m->data_fd);
    union {
        char buf[CMSG_SPACE(sizeof fds)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {msg, sizeof *msg};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = CMSG_SPACE(msg->nfds * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(msg->nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, msg->nfds * sizeof(int));
    ssize_t n = RETRY_EINTR(sendmsg(sock, &mh, MSG_NOSIGNAL));
    int rc = n == (ssize_t)sizeof *msg ? 0 : n < 0 ? error_from_errno(errno) : SHMAP_EIO;
    free(msg);
    return rc == SHMAP_EINVAL ? SHMAP_EIO : rc;
}

/* Receives the message and up to two descriptors; returns how many. */
static int share_receive(int sock, struct share_msg *msg, int fds[2])
{
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {msg, sizeof *msg};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf};
    ssize_t n = RETRY_EINTR(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL));
    int count = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (count < 2)
                fds[count++] = fd;
            else
                close(fd);
        }
    }
    if (n < 0)
        return error_from_errno(errno);
    bool ok = n == (ssize_t)sizeof *msg && msg->magic == SHARE_MAGIC &&
              !(mh.msg_flags & MSG_CTRUNC) && msg->nfds >= 1 && msg->nfds <= 2 &&
              (int)msg->nfds == count;
    return ok ? count : SHMAP_EIO;
}

/* Finishes a handle from a header and a data descriptor (taken over). */
static int adopt(const struct object_header *h, int data_fd, int lock_src, uint32_t access,
                 shmap_mapping **out)
{
    struct stat st;
    int rc = SHMAP_ECORRUPT;
    struct shmap_mapping *m = mapping_alloc();
    if (!m) {
        fd_close_quietly(data_fd);
        return SHMAP_ENOMEM;
    }
    if (fstat(data_fd, &st) != 0 || !S_ISREG(st.st_mode) || h->type != SHMAP_TYPE_MAPPING)
        goto fail;
    uint64_t fsize = (uint64_t)st.st_size;
    if (header_validate(h, fsize) < 0)
        goto fail;
    if ((h->flags & HEADER_FILE_BACKED) && fsize < h->size)
        goto fail;
    rc = mapping_fill(m, h, access);
    if (rc == 0 && lock_src >= 0 && h->name[0])
        rc = store_hold_fd(lock_src, h->name, &m->hold);
    if (rc < 0)
        goto fail;
    m->data_fd = data_fd;
    *out = m;
    return 0;
fail:
    fd_close_quietly(data_fd);
    free(m);
    return rc;
}

SHMAP_API int shmap_mapping_recv(int sock, uint32_t access, shmap_mapping **out)
{
    if (sock < 0 || !out || (access != SHMAP_ACCESS_ALL && !access_valid(access)))
        return SHMAP_EINVAL;
    struct share_msg *msg = malloc(sizeof *msg);
    if (!msg)
        return SHMAP_ENOMEM;
    int fds[2] = {-1, -1};
    int rc = share_receive(sock, msg, fds);
    if (rc >= 0) {
        if (access == SHMAP_ACCESS_ALL)
            access = msg->access;
        if (access & ~msg->access)
            rc = SHMAP_EACCES;
    }
    if (rc >= 0) {
        msg->header.name[sizeof msg->header.name - 1] = '\0';
        rc = adopt(&msg->header, fds[0], fds[1], access, out);
        fds[0] = -1;
    }
    fd_close_quietly(fds[0]);
    fd_close_quietly(fds[1]);
    free(msg);
    return rc;
}

SHMAP_API int shmap_mapping_export_fd(shmap_mapping *m, int *fd)
{
    if (!m || !fd)
        return SHMAP_EINVAL;
    if (m->file_backed)
        return SHMAP_ENOTSUP;
    int nfd = fcntl(m->data_fd, F_DUPFD, 0);
    if (nfd < 0)
        return error_from_errno(errno);
    *fd = nfd;
    return 0;
}

SHMAP_API int shmap_mapping_import_fd(int fd, uint32_t access, shmap_mapping **out)
{
    if (fd < 0 || !out || (access != SHMAP_ACCESS_ALL && !access_valid(access)))
        return SHMAP_EINVAL;
    struct object_header *h = malloc(sizeof *h);
    if (!h)
        return SHMAP_ENOMEM;
    int rc = header_read(fd, h);
    if (rc == 0 && (h->type != SHMAP_TYPE_MAPPING || (h->flags & HEADER_FILE_BACKED)))
        rc = SHMAP_ECORRUPT;
    if (rc == 0) {
        uint32_t all = protection_access(h->protection);
        uint32_t want = access == SHMAP_ACCESS_ALL ? all : access;
        int data_fd = fd_reopen(fd, access_open_mode(want));
        if (data_fd == SHMAP_EACCES && access == SHMAP_ACCESS_ALL) {
            want &= ~SHMAP_ACCESS_WRITE;
            data_fd = fd_reopen(fd, O_RDONLY);
        }
        rc = data_fd < 0 ? data_fd : adopt(h, data_fd, fd, want, out);
    }
    free(h);
    return rc == SHMAP_EIO ? SHMAP_ECORRUPT : rc;
}

int mapping_duplicate(const struct shmap_mapping *m, uint32_t access, struct shmap_mapping **out)
{
    if (!access_valid(access) || (access & ~m->access))
        return SHMAP_EACCES;
    struct shmap_mapping *d = mapping_alloc();
    if (!d)
        return SHMAP_ENOMEM;
    *d = *m;
    d->hold = (struct store_hold){.fd = -1};
    d->access = access;
    d->data_fd = fd_reopen(m->data_fd, access_open_mode(access));
    int rc = d->data_fd < 0 ? d->data_fd : 0;
    if (rc == 0 && m->hold.fd >= 0)
        rc = store_hold_fd(m->hold.fd, m->name, &d->hold);
    if (rc < 0) {
        fd_close_quietly(d->data_fd);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}
