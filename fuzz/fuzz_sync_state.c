/* fuzz_sync_state.c - fuzz target for the state of synchronization objects
 * found in shared memory (src/sync_*.c): the 128 bytes another process may
 * have written anywhere inside a view.
 *
 * Input: one byte choosing the type asked for (0: any), then the state.
 * sync_state_check and shmap_sync_attach must agree and return only their
 * documented codes.  An attached event or semaphore is then used with
 * waits that never sleep, sets, resets and releases: every call returns a
 * documented code, and a state the library accepted stays one it accepts.
 * (Mutexes are only checked and queried: taking one would put fuzz memory
 * on the thread's robust list, which glibc and the kernel walk later.) */
#include "fuzz.h"

#include <string.h>

#include "sync.h"

static void use_event(shmap_sync *s, uint8_t how)
{
    int rc = shmap_wait(s, 0);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ETIMEDOUT, "event wait = %d", rc);
    rc = how & 1 ? shmap_event_set(s) : shmap_event_reset(s);
    FUZZ_CHECK(rc == 0, "event set/reset = %d", rc);
    rc = shmap_wait(s, 0);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ETIMEDOUT, "event wait = %d", rc);
    rc = shmap_event_set(s);
    FUZZ_CHECK(rc == 0, "event set = %d", rc);
}

static void use_semaphore(shmap_sync *s, uint8_t how)
{
    uint32_t prev = 0;
    int rc = shmap_semaphore_release(s, 1u + (how & 7), &prev);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ERANGE, "semaphore release = %d", rc);
    rc = shmap_wait(s, 0);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ETIMEDOUT, "semaphore wait = %d", rc);
    rc = shmap_semaphore_release(s, 0x7fffffffu, &prev);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ERANGE, "semaphore release = %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sync_state st __attribute__((aligned(SHMAP_SYNC_ALIGN)));
    if (size < 1)
        return 0;
    uint32_t type = data[0] % 5;
    if (type == SHMAP_TYPE_MAPPING)
        type = 0;
    memset(&st, 0, sizeof st);
    memcpy(&st, data + 1, size - 1 < sizeof st ? size - 1 : sizeof st);
    uint8_t how = size > 1 + sizeof st ? data[1 + sizeof st] : 0;

    int rc = sync_state_check(&st, type);
    FUZZ_CHECK(rc == 0 || rc == SHMAP_ETYPE || rc == SHMAP_ECORRUPT || rc == SHMAP_ENOTSUP,
               "sync_state_check = %d", rc);
    shmap_sync *s = NULL;
    int arc = shmap_sync_attach(&st, type, &s);
    FUZZ_CHECK(arc == rc, "attach = %d, check = %d", arc, rc);
    FUZZ_CHECK((arc == 0) == (s != NULL), "attach %d gave handle %p", arc, (void *)s);
    if (!s)
        return 0;
    shmap_sync_info info;
    FUZZ_CHECK(shmap_sync_query(s, &info) == 0, "query failed");
    FUZZ_CHECK(info.type == st.type, "query type %u, state type %u", info.type, st.type);
    if (st.type == SHMAP_TYPE_EVENT)
        use_event(s, how);
    else if (st.type == SHMAP_TYPE_SEMAPHORE)
        use_semaphore(s, how);
    if (st.type != SHMAP_TYPE_MUTEX) {
        shmap_sync *one[1] = {s};
        rc = shmap_wait_multiple(one, 1, how & 2, 0, NULL);
        FUZZ_CHECK(rc == 0 || rc == SHMAP_ETIMEDOUT, "wait_multiple = %d", rc);
        rc = sync_state_check(&st, 0);
        FUZZ_CHECK(rc == 0, "using an accepted state made it one the library refuses (%d)", rc);
    }
    FUZZ_CHECK(shmap_sync_close(s) == 0, "close failed");
    return 0;
}
