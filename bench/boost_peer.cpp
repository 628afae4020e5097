// boost_peer.cpp - the Boost.Interprocess column of `make bench`: a small
// program that the C harness (bench/bench.c) starts once and drives through
// its stdin/stdout, one command a line, so that Boost's batches are
// interleaved with shmap's in the same run.  Each measuring command runs a
// batch of N operations, timed with CLOCK_MONOTONIC around the whole batch,
// and answers "OK <nanoseconds>"; failures answer "ERR <why>".
//
// Usage: boost_peer NAME-PREFIX CPU-A CPU-B  (names it makes start with the
// prefix; it removes them on teardown, quit or end of input).
//
// Commands:
//   version                 -> OK <BOOST_LIB_VERSION>
//   pin CPU                 pins this process
//   create SIZE N           N x (shared_memory_object create_only, truncate,
//                           mapped_region, touch a byte per 4 KiB, unmap,
//                           remove)
//   open_setup SIZE / open N / open_teardown
//                           N x (open_only, mapped_region, unmap, close)
//   lock_setup / lock_anon N / lock_named N / lock_teardown
//                           N x lock+unlock of an interprocess_mutex in
//                           shared memory / of a named_mutex
//   pp_setup SAMPLES-FILE / pp N / pp_teardown
//                           N round trips of an interprocess_condition
//                           ping-pong with a forked child on CPU-B (this
//                           process on CPU-A); each round trip's time is
//                           appended to SAMPLES-FILE (ns, one a line)
//   quit
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/interprocess_condition.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/named_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/version.hpp>

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace bip = boost::interprocess;

namespace {

std::string prefix;
int cpu_a = 0, cpu_b = 0;

uint64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

std::string name(const char *tag)
{
    return prefix + "-" + tag;
}

void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void answer(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    std::vprintf(fmt, ap);
    va_end(ap);
    std::putchar('\n');
    std::fflush(stdout);
}

// ---- create ----------------------------------------------------------------

uint64_t run_create(std::size_t size, long n)
{
    std::string nm = name("create");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        {
            bip::shared_memory_object shm(bip::create_only, nm.c_str(), bip::read_write);
            shm.truncate(bip::offset_t(size));
            bip::mapped_region region(shm, bip::read_write);
            volatile char *p = static_cast<char *>(region.get_address());
            for (std::size_t off = 0; off < size; off += 4096)
                p[off] = 1;
        }
        bip::shared_memory_object::remove(nm.c_str());
    }
    return now_ns() - t0;
}

// ---- open --------------------------------------------------------------------

std::unique_ptr<bip::shared_memory_object> open_held;

uint64_t run_open(long n)
{
    std::string nm = name("open");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        bip::shared_memory_object shm(bip::open_only, nm.c_str(), bip::read_write);
        bip::mapped_region region(shm, bip::read_write);
    }
    return now_ns() - t0;
}

// ---- lock --------------------------------------------------------------------

std::unique_ptr<bip::shared_memory_object> lock_shm;
std::unique_ptr<bip::mapped_region> lock_region;
bip::interprocess_mutex *lock_mutex;
std::unique_ptr<bip::named_mutex> named;

template <class M> uint64_t run_lock(M &m, long n)
{
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        m.lock();
        m.unlock();
    }
    return now_ns() - t0;
}

// ---- ping-pong -----------------------------------------------------------------

struct pingpong {
    bip::interprocess_mutex m;
    bip::interprocess_condition to_child, to_parent;
    int turn; // 1: the child's, 0: the parent's
    int quit;
};

std::unique_ptr<bip::shared_memory_object> pp_shm;
std::unique_ptr<bip::mapped_region> pp_region;
pingpong *pp;
pid_t pp_child = -1;
FILE *pp_samples;
std::vector<uint64_t> pp_times;

void pp_child_loop()
{
    pin(cpu_b);
    bip::scoped_lock<bip::interprocess_mutex> lock(pp->m);
    for (;;) {
        while (pp->turn != 1 && !pp->quit)
            pp->to_child.wait(lock);
        if (pp->quit)
            break;
        pp->turn = 0;
        pp->to_parent.notify_one();
    }
}

uint64_t run_pp(long n)
{
    if (pp_times.size() < std::size_t(n) + 1)
        pp_times.resize(std::size_t(n) + 1);
    pp_times[0] = now_ns();
    for (long i = 0; i < n; i++) {
        bip::scoped_lock<bip::interprocess_mutex> lock(pp->m);
        pp->turn = 1;
        pp->to_child.notify_one();
        while (pp->turn != 0)
            pp->to_parent.wait(lock);
        lock.unlock();
        pp_times[std::size_t(i) + 1] = now_ns();
    }
    if (pp_samples)
        for (long i = 0; i < n; i++)
            std::fprintf(pp_samples, "%llu\n",
                         (unsigned long long)(pp_times[std::size_t(i) + 1] - pp_times[std::size_t(i)]));
    return pp_times[std::size_t(n)] - pp_times[0];
}

void pp_teardown()
{
    if (pp_child > 0) {
        {
            bip::scoped_lock<bip::interprocess_mutex> lock(pp->m);
            pp->quit = 1;
            pp->to_child.notify_one();
        }
        waitpid(pp_child, nullptr, 0);
        pp_child = -1;
    }
    if (pp) {
        pp->~pingpong();
        pp = nullptr;
    }
    pp_region.reset();
    pp_shm.reset();
    bip::shared_memory_object::remove(name("pp").c_str());
    if (pp_samples) {
        std::fclose(pp_samples);
        pp_samples = nullptr;
    }
}

void lock_teardown()
{
    named.reset();
    bip::named_mutex::remove(name("nmutex").c_str());
    if (lock_mutex) {
        lock_mutex->~interprocess_mutex();
        lock_mutex = nullptr;
    }
    lock_region.reset();
    lock_shm.reset();
    bip::shared_memory_object::remove(name("lock").c_str());
}

void open_teardown()
{
    open_held.reset();
    bip::shared_memory_object::remove(name("open").c_str());
}

void teardown_all()
{
    pp_teardown();
    lock_teardown();
    open_teardown();
    bip::shared_memory_object::remove(name("create").c_str());
}

void command(char *line)
{
    char cmd[64] = "";
    unsigned long long a = 0;
    char arg[4096] = "";
    std::sscanf(line, "%63s", cmd);
    std::string c = cmd;
    if (c == "version") {
        answer("OK %s", BOOST_LIB_VERSION);
    } else if (c == "pin" && std::sscanf(line, "%*s %llu", &a) == 1) {
        pin(int(a));
        answer("OK");
    } else if (c == "create") {
        unsigned long long size = 0, n = 0;
        if (std::sscanf(line, "%*s %llu %llu", &size, &n) != 2)
            return answer("ERR usage: create SIZE N");
        answer("OK %llu", (unsigned long long)run_create(std::size_t(size), long(n)));
    } else if (c == "open_setup" && std::sscanf(line, "%*s %llu", &a) == 1) {
        open_teardown();
        open_held.reset(new bip::shared_memory_object(bip::create_only, name("open").c_str(),
                                                      bip::read_write));
        open_held->truncate(bip::offset_t(a));
        answer("OK");
    } else if (c == "open" && std::sscanf(line, "%*s %llu", &a) == 1) {
        answer("OK %llu", (unsigned long long)run_open(long(a)));
    } else if (c == "open_teardown") {
        open_teardown();
        answer("OK");
    } else if (c == "lock_setup") {
        lock_teardown();
        lock_shm.reset(new bip::shared_memory_object(bip::create_only, name("lock").c_str(),
                                                     bip::read_write));
        lock_shm->truncate(4096);
        lock_region.reset(new bip::mapped_region(*lock_shm, bip::read_write));
        lock_mutex = new (lock_region->get_address()) bip::interprocess_mutex;
        named.reset(new bip::named_mutex(bip::create_only, name("nmutex").c_str()));
        answer("OK");
    } else if (c == "lock_anon" && std::sscanf(line, "%*s %llu", &a) == 1) {
        if (!lock_mutex)
            return answer("ERR no lock_setup");
        answer("OK %llu", (unsigned long long)run_lock(*lock_mutex, long(a)));
    } else if (c == "lock_named" && std::sscanf(line, "%*s %llu", &a) == 1) {
        if (!named)
            return answer("ERR no lock_setup");
        answer("OK %llu", (unsigned long long)run_lock(*named, long(a)));
    } else if (c == "lock_teardown") {
        lock_teardown();
        answer("OK");
    } else if (c == "pp_setup") {
        pp_teardown();
        if (std::sscanf(line, "%*s %4095s", arg) == 1)
            pp_samples = std::fopen(arg, "w");
        pp_shm.reset(new bip::shared_memory_object(bip::create_only, name("pp").c_str(),
                                                   bip::read_write));
        pp_shm->truncate(4096);
        pp_region.reset(new bip::mapped_region(*pp_shm, bip::read_write));
        pp = new (pp_region->get_address()) pingpong();
        pp->turn = 0;
        pp->quit = 0;
        std::fflush(nullptr);
        pp_child = fork();
        if (pp_child < 0)
            return answer("ERR fork failed");
        if (pp_child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            pp_child_loop();
            _exit(0);
        }
        pin(cpu_a);
        answer("OK");
    } else if (c == "pp" && std::sscanf(line, "%*s %llu", &a) == 1) {
        if (!pp)
            return answer("ERR no pp_setup");
        answer("OK %llu", (unsigned long long)run_pp(long(a)));
    } else if (c == "pp_teardown") {
        pp_teardown();
        answer("OK");
    } else {
        answer("ERR unknown command: %s", line);
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: boost_peer NAME-PREFIX CPU-A CPU-B\n");
        return 2;
    }
    prefix = argv[1];
    cpu_a = std::atoi(argv[2]);
    cpu_b = std::atoi(argv[3]);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGTERM, [](int) { _exit(1); });
    char line[8192];
    while (std::fgets(line, sizeof line, stdin)) {
        line[std::strcspn(line, "\n")] = '\0';
        if (std::strcmp(line, "quit") == 0)
            break;
        try {
            command(line);
        } catch (const std::exception &e) {
            answer("ERR %s", e.what());
        }
    }
    teardown_all();
    return 0;
}
