/* report.c - statistics over the batches of a case, and the Markdown
 * report: the machine and run parameters at the top, one table per
 * scenario, each goal with its verdict, and a summary of the goals at the
 * end.  Everything goes to stdout and to the report file (G.out_md). */
#include "bench.h"

#include "shmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* ---- Statistics ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double quantile(const double *v, int n, double q)
{
    if (n <= 0)
        return NAN;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return NAN;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double pos = q * (n - 1);
    int i = (int)pos;
    double f = pos - i, r = i + 1 < n ? s[i] + f * (s[i + 1] - s[i]) : s[i];
    free(s);
    return r;
}

void stats_of(const double *v, int n, struct stats *st)
{
    st->n = n;
    st->median = quantile(v, n, 0.5);
    st->p10 = quantile(v, n, 0.10);
    st->p90 = quantile(v, n, 0.90);
    st->p99 = quantile(v, n, 0.99);
    st->min = quantile(v, n, 0.0);
    st->max = quantile(v, n, 1.0);
}

/* ---- Output ------------------------------------------------------------------ */

static FILE *md;

__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (md) {
        va_start(ap, fmt);
        vfprintf(md, fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
}

const char *fmt_time(double ns, char *buf, size_t n)
{
    if (isnan(ns))
        snprintf(buf, n, "-");
    else if (ns < 1e3)
        snprintf(buf, n, "%.1f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, n, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, n, "%.2f s", ns / 1e9);
    return buf;
}

/* Shows a time per op in the case's metric. */
static const char *fmt_value(const struct bench_case *bc, const struct series *s, double ns,
                             char *buf, size_t n)
{
    if (bc->metric == METRIC_TIME)
        return fmt_time(ns, buf, n);
    double rate = s->units_per_op * 1e9 / ns / bc->unit_scale;
    if (rate >= 100)
        snprintf(buf, n, "%.0f %s", rate, bc->unit);
    else
        snprintf(buf, n, "%.2f %s", rate, bc->unit);
    return buf;
}

static void read_line(const char *path, const char *key, char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, n, "%s", colon);
        break;
    }
    fclose(f);
}

void report_open(void)
{
    md = fopen(G.out_md, "w");
    if (!md)
        fprintf(stderr, "shmap-bench: cannot write %s; stdout only\n", G.out_md);
    char cpu[256], date[64];
    read_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    struct utsname u;
    uname(&u);
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    out("# shmap benchmarks%s\n\n", G.quick ? " (QUICK: short runs, indicative only)" : "");
    out("| | |\n|---|---|\n");
    out("| date | %s |\n", date);
    out("| CPU | %s |\n", cpu);
    out("| cores | %ld online, %d usable by the harness |\n", sysconf(_SC_NPROCESSORS_ONLN),
        G.ncpu);
    out("| kernel | %s %s %s |\n", u.sysname, u.release, u.machine);
    out("| compiler (harness) | %s, -O2 |\n", G.cc_version ? G.cc_version : "unknown");
    if (boost_running())
        out("| Boost | %s (BOOST_LIB_VERSION), peer built with %s -O2 |\n", boost_version(),
            G.cxx_version ? G.cxx_version : "g++");
    else
        out("| Boost | column skipped: %s |\n", G.boost_skip ? G.boost_skip : "not built");
    out("| shmap | %s, static library |\n", "v" SHMAP_VERSION_STRING);
    out("| sync API | %s |\n",
        BENCH_SYNC ? "found in include/shmap.h"
                   : "not in include/shmap.h + libshmap.a yet: shmap's sync figures skipped");
    out("| store | isolated: SHMAP_ROOT=%s (removed at the end) |\n", G.root);
    out("| rounds | %d measured + %d warm-up per case, contenders interleaved, order rotating "
        "each round; batches of about %.1f ms unless said |\n",
        G.rounds, G.warmup, G.batch_ms);
    out("| pinning | single-process cases: the process on CPU %d; two-process cases: one "
        "process on CPU %d, the other on CPU %d |\n",
        G.cpu_a, G.cpu_a, G.cpu_b);
    out("| plots | %s |\n", G.plot_dir ? G.plot_dir : G.plot_skip);
    char load[128] = "unknown";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(load, sizeof load, f))
            snprintf(load, sizeof load, "unknown");
        load[strcspn(load, "\n")] = '\0';
        fclose(f);
    }
    out("| load average at start | %s (other work on the machine shows up as spread) |\n", load);
    double load1 = atof(load);
    if (load1 > 0.8)
        out("\n**Warning:** the load average was %.2f at the start: other processes were "
            "competing for the %d CPUs, so figures (above all the two-process ones and the "
            "bandwidth) are noisier and slower than on an idle machine.\n",
            load1, G.ncpu);
    out("\nEach figure is per operation, over the batches of its case: **median**, **p99** "
        "(the slow tail), **best** (the fastest batch: least time, most rate), and **spread** = "
        "(p90 - p10) / median.  "
        "**shmap ÷ this** is shmap's median over this row's median, in the table's metric "
        "(time: lower is better for shmap; rate: higher is better), with the p10-p90 range "
        "of the same ratio taken round by round in brackets.\n");
}

void report_scenario(const char *num, const char *title, const char *goal, const char *how)
{
    out("\n## %s. %s\n\n", num, title);
    out("**Goal:** %s\n\n", goal);
    if (how && how[0])
        out("%s\n\n", how);
}

void report_note(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out("%s\n\n", buf);
}

void report_line(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out("%s\n", buf);
}

/* Subject SUBJ's ratio against contender REF, in the case's metric: the
 * ratio of the medians, and the p10/p90 of the round-by-round ratios. */
static double ratio_of(const struct bench_case *bc, int subj, int ref, double *lo, double *hi)
{
    const struct series *a = &bc->s[subj], *b = &bc->s[ref];
    *lo = *hi = NAN;
    if (a->n == 0 || b->n == 0)
        return NAN;
    double ma = quantile(a->ns, a->n, 0.5), mb = quantile(b->ns, b->n, 0.5);
    int n = a->n < b->n ? a->n : b->n;
    double per[MAX_ROUNDS];
    for (int i = 0; i < n; i++)
        per[i] = a->ns[i] / b->ns[i];
    if (bc->metric == METRIC_RATE) {
        /* rate ratio: (ua/ta) / (ub/tb) */
        double k = a->units_per_op / b->units_per_op;
        for (int i = 0; i < n; i++)
            per[i] = k / per[i];
        *lo = quantile(per, n, 0.10);
        *hi = quantile(per, n, 0.90);
        return k * mb / ma;
    }
    *lo = quantile(per, n, 0.10);
    *hi = quantile(per, n, 0.90);
    return ma / mb;
}

/* The indices of the case's subjects (shmap's contenders). */
static int subjects_of(const struct bench_case *bc, int *idx)
{
    int n = 0;
    for (int i = 0; i < bc->ncontenders; i++)
        if (bc->subject_mask ? (bc->subject_mask >> i) & 1u : i < bc->nsubjects)
            idx[n++] = i;
    return n;
}

void report_case(struct bench_case *bc)
{
    char a[32], b[32], c[32];
    int subj[MAX_CONTENDERS];
    int ns = subjects_of(bc, subj);
    out("| case | implementation | median | p99 | best | spread | shmap ÷ this |\n");
    out("|---|---|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < bc->ncontenders; i++) {
        struct series *s = &bc->s[i];
        bool is_subject = false;
        for (int j = 0; j < ns; j++)
            is_subject |= subj[j] == i;
        if (s->n == 0) {
            out("| %s | %s | %s | | | | |\n", bc->title, s->label,
                s->skip[0] ? s->skip : "not measured");
            continue;
        }
        struct stats st;
        stats_of(s->ns, s->n, &st);
        /* For rates, the slow tail and the best are the other ends. */
        out("| %s | %s | %s | %s | %s | %.2f |", bc->title, s->label,
            fmt_value(bc, s, st.median, a, sizeof a), fmt_value(bc, s, st.p99, b, sizeof b),
            fmt_value(bc, s, st.min, c, sizeof c), (st.p90 - st.p10) / st.median);
        if (is_subject) {
            out(" (subject) |\n");
            continue;
        }
        for (int j = 0; j < ns; j++) {
            double lo, hi, r = ratio_of(bc, subj[j], i, &lo, &hi);
            if (isnan(r))
                out("%s -", j ? ";" : "");
            else if (ns > 1)
                out("%s %s: %.2fx (%.2f-%.2f)", j ? ";" : "", bc->s[subj[j]].label, r, lo, hi);
            else
                out(" %.2fx (%.2f-%.2f)", r, lo, hi);
        }
        out(" |\n");
    }
    out("\n*%d measured round(s) (+%d warm-up), batches of %ld operation(s).*\n\n", bc->rounds,
        bc->warmup, bc->nops);
    for (int g = 0; g < bc->ngoals; g++) {
        struct goal *goal = &bc->goals[g];
        for (int j = 0; j < ns; j++) {
            const struct series *sj = &bc->s[subj[j]];
            char text[256], measured[300];
            snprintf(text, sizeof text, "%s%s%s: %s", bc->title, ns > 1 ? ", " : "",
                     ns > 1 ? sj->label : "", goal->text);
            double lo, hi, r = ratio_of(bc, subj[j], goal->ref, &lo, &hi);
            int met = -1;
            if (isnan(r)) {
                snprintf(measured, sizeof measured, "%s",
                         sj->n == 0 ? sj->skip : bc->s[goal->ref].skip);
            } else {
                snprintf(measured, sizeof measured, "%.2fx (rounds: %.2f-%.2f)", r, lo, hi);
                met = goal->kind == GOAL_MAX ? r <= goal->bound : r >= goal->bound;
            }
            const char *v = report_verdict(bc->scenario, text, measured, met);
            out("- %s → **%s** (%s)\n", text, v, measured);
        }
    }
    if (bc->ngoals)
        out("\n");
}

/* ---- Goals ---------------------------------------------------------------------- */

#define MAX_VERDICTS 64

static struct verdict {
    char scenario[8];
    char goal[256];
    char measured[200];
    int met; /* 1 met, 0 missed, -1 not measured */
} verdicts[MAX_VERDICTS];
static int nverdicts;

const char *report_verdict(const char *scenario, const char *goal, const char *measured, int met)
{
    if (nverdicts < MAX_VERDICTS) {
        struct verdict *v = &verdicts[nverdicts++];
        snprintf(v->scenario, sizeof v->scenario, "%s", scenario);
        snprintf(v->goal, sizeof v->goal, "%s", goal);
        snprintf(v->measured, sizeof v->measured, "%s", measured);
        v->met = met;
    }
    return met > 0 ? "met" : met == 0 ? "MISSED" : "not measured";
}

void report_close(void)
{
    int met = 0, missed = 0, na = 0;
    out("\n## Summary of the goals\n\n");
    out("| scenario | goal | measured | verdict |\n|---|---|---|---|\n");
    for (int i = 0; i < nverdicts; i++) {
        struct verdict *v = &verdicts[i];
        out("| %s | %s | %s | %s |\n", v->scenario, v->goal, v->measured,
            v->met > 0    ? "met"
            : v->met == 0 ? "**MISSED**"
                          : "not measured");
        met += v->met > 0;
        missed += v->met == 0;
        na += v->met < 0;
    }
    out("\n%d met, %d missed, %d not measured.\n", met, missed, na);
    if (md) {
        fclose(md);
        md = NULL;
        fprintf(stderr, "shmap-bench: report written to %s\n", G.out_md);
    }
}
