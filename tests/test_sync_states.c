/* test_sync_states.c - the state machines a wait-all relies on, driven step
 * by step through the library's internal calls (src/sync.h): an auto-reset
 * event reserved and then committed or given back, with sets and resets
 * arriving in between; semaphore units reserved, still counted against the
 * maximum, committed or given back; a mutex given back with its abandoned
 * status kept for the next acquirer. */
#include "testutil.h"

#include "sync.h"

#include <stdlib.h>

/* One object's memory, aligned as the API asks. */
struct slot {
    _Alignas(SHMAP_SYNC_ALIGN) unsigned char bytes[SHMAP_SYNC_SIZE];
};

static struct sync_state *state_of(struct slot *s)
{
    return (struct sync_state *)s->bytes;
}

static shmap_sync *attach(struct slot *s)
{
    shmap_sync *h = NULL;
    assert_rc(shmap_sync_attach(s->bytes, 0, &h), 0);
    return h;
}

static int signaled(shmap_sync *h)
{
    shmap_sync_info info;
    assert_rc(shmap_sync_query(h, &info), 0);
    return info.signaled;
}

/* Reserve, apply OPS ('s' set, 'r' reset), then commit (or undo); the
 * event must end set or not as WANT says. */
static void event_case(const char *ops, bool commit, int want)
{
    struct slot s;
    assert_rc(shmap_event_init_at(s.bytes, SHMAP_EVENT_INITIAL_SET), 0);
    shmap_sync *h = attach(&s);
    assert_int_equal(event_reserve(state_of(&s)), 0);
    assert_false(signaled(h)); /* not visible as set while held */
    uint32_t seen;
    assert_int_equal(event_try(state_of(&s), &seen), SYNC_BUSY);
    for (const char *p = ops; *p; p++)
        assert_rc(*p == 's' ? shmap_event_set(h) : shmap_event_reset(h), 0);
    assert_false(signaled(h));
    if (commit)
        event_commit(state_of(&s));
    else
        event_undo(state_of(&s));
    if (signaled(h) != want)
        fail_msg("ops \"%s\" then %s: signaled %d, want %d", ops, commit ? "commit" : "undo",
                 signaled(h), want);
    assert_rc(shmap_sync_close(h), 0);
}

static void test_event_reservation(void **state)
{
    (void)state;
    /* Committed: taken at the reservation; what came after stays. */
    event_case("", true, 0);
    event_case("s", true, 1);
    event_case("r", true, 0);
    event_case("rs", true, 1);
    event_case("sr", true, 0);
    /* Given back: as if never taken, with what came after applied. */
    event_case("", false, 1);
    event_case("s", false, 1);
    event_case("r", false, 0);
    event_case("rs", false, 1);
    event_case("sr", false, 0);

    struct slot s;
    assert_rc(shmap_event_init_at(s.bytes, 0), 0);
    assert_int_equal(event_reserve(state_of(&s)), SYNC_BUSY); /* not set */
}

static void test_semaphore_reservation(void **state)
{
    (void)state;
    struct slot s;
    assert_rc(shmap_semaphore_init_at(s.bytes, 1, 2), 0);
    shmap_sync *h = attach(&s);
    shmap_sync_info info;
    assert_int_equal(sem_reserve(state_of(&s)), 0);
    assert_rc(shmap_sync_query(h, &info), 0);
    assert_int_equal(info.count, 0);
    assert_int_equal(sem_reserve(state_of(&s)), SYNC_BUSY);
    /* The reserved unit still counts against the maximum. */
    assert_rc(shmap_semaphore_release(h, 2, NULL), SHMAP_ERANGE);
    uint32_t prev = 9;
    assert_rc(shmap_semaphore_release(h, 1, &prev), 0);
    assert_int_equal(prev, 0);
    sem_undo(state_of(&s)); /* back: 2, the maximum, never beyond */
    assert_rc(shmap_sync_query(h, &info), 0);
    assert_int_equal(info.count, 2);
    assert_rc(shmap_semaphore_release(h, 1, NULL), SHMAP_ERANGE);
    assert_int_equal(sem_reserve(state_of(&s)), 0);
    sem_commit(state_of(&s)); /* taken for good */
    assert_rc(shmap_sync_query(h, &info), 0);
    assert_int_equal(info.count, 1);
    assert_rc(shmap_semaphore_release(h, 1, NULL), 0);
    assert_rc(shmap_semaphore_release(h, 1, NULL), SHMAP_ERANGE);
    assert_rc(shmap_sync_close(h), 0);
}

static void test_mutex_undo_keeps_abandoned(void **state)
{
    (void)state;
    struct slot s;
    assert_rc(shmap_mutex_init_at(s.bytes, 0), 0);
    shmap_sync *h = attach(&s);
    uint32_t seen;
    assert_int_equal(mutex_try(state_of(&s), &seen), 0);
    mutex_undo(state_of(&s), SHMAP_ABANDONED); /* as a wait-all giving it back */
    shmap_sync_info info;
    assert_rc(shmap_sync_query(h, &info), 0);
    assert_int_equal(info.owner_tid, 0);
    assert_true(info.abandoned);
    assert_rc(shmap_wait(h, 0), SHMAP_ABANDONED);
    assert_rc(shmap_wait(h, 0), 0); /* recursive: not reported again */
    assert_rc(shmap_mutex_release(h), 0);
    assert_rc(shmap_mutex_release(h), 0);
    assert_rc(shmap_wait(h, 0), 0);
    assert_rc(shmap_mutex_release(h), 0);
    assert_rc(shmap_sync_close(h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_reservation),
        cmocka_unit_test(test_semaphore_reservation),
        cmocka_unit_test(test_mutex_undo_keeps_abandoned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
