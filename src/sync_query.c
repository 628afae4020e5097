/* sync_query.c - reading the state of a synchronization object for people:
 * through a handle (shmap_sync_query), or from a copy of a named object's
 * header page, without a handle (shmap_sync_describe, for the shmap tool). */
#include "sync.h"

#include <stdio.h>
#include <string.h>

static void mutex_info(const struct sync_state *st, shmap_sync_info *info)
{
    uint32_t v = __atomic_load_n((const uint32_t *)&st->mx.m.__data.__lock, __ATOMIC_RELAXED);
    info->owner_tid = v & SYNC_FUTEX_TID_MASK;
    if (info->owner_tid)
        info->recursion = __atomic_load_n(&st->mx.m.__data.__count, __ATOMIC_RELAXED);
    info->abandoned = (v & SYNC_FUTEX_OWNER_DIED) != 0 ||
                      __atomic_load_n(&st->u.mutex.abandoned, __ATOMIC_RELAXED) != 0;
}

static void state_info(const struct sync_state *st, shmap_sync_info *info)
{
    info->type = st->type;
    if (st->type == SHMAP_TYPE_MUTEX) {
        mutex_info(st, info);
    } else if (st->type == SHMAP_TYPE_EVENT) {
        info->manual_reset = st->u.event.manual != 0;
        info->signaled = __atomic_load_n(&st->u.event.word, __ATOMIC_RELAXED) == EV_SET;
    } else {
        uint64_t w = __atomic_load_n(&st->u.sem.word, __ATOMIC_RELAXED);
        info->count = SEM_COUNT(w);
        info->maximum = st->u.sem.maximum;
    }
}

/* ---- Public ---------------------------------------------------------- */

SHMAP_API int shmap_sync_query(const shmap_sync *s, shmap_sync_info *info)
{
    if (!s || !info)
        return SHMAP_EINVAL;
    memset(info, 0, sizeof *info);
    state_info(s->st, info);
    info->type = s->type;
    snprintf(info->name, sizeof info->name, "%s", s->name);
    return 0;
}

SHMAP_API int shmap_sync_describe(const void *header, size_t header_len, shmap_sync_info *info)
{
    if (!header || !info)
        return SHMAP_EINVAL;
    struct object_header local; /* aligned, and stable while we read it */
    struct object_header *hp = &local;
    if (header_len < sizeof *hp)
        return SHMAP_ECORRUPT;
    memcpy(hp, header, sizeof *hp);
    if (hp->magic != HEADER_MAGIC || hp->version != HEADER_VERSION)
        return SHMAP_ECORRUPT;
    if (hp->type == SHMAP_TYPE_MAPPING)
        return SHMAP_ETYPE;
    if (header_validate(hp, HEADER_SIZE) != 0)
        return SHMAP_ECORRUPT;
    const struct sync_state *st = (const struct sync_state *)hp->sync_state;
    if (st->magic != SYNC_MAGIC || st->type != hp->type)
        return SHMAP_ECORRUPT;
    memset(info, 0, sizeof *info);
    state_info(st, info);
    _Static_assert(sizeof info->name == sizeof hp->name, "names have one size");
    memcpy(info->name, hp->name, sizeof info->name); /* terminated: validated */
    return 0;
}
