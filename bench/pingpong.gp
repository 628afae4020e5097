# pingpong.gp - gnuplot script of `make bench` (run by bench/bench.c): the
# latency distribution (CDF) of single ping-pong round trips of scenario 5.
# Expects, from -e: out (PNG path), and f0..f5 / t0..t5 (data file, title)
# for the implementations that were measured; a data file has lines
# "round-trip-microseconds cumulative-fraction".
set terminal pngcairo size 960,600 noenhanced font ",10"
set output out
set title "Scenario 5: wake-up round trip between two processes (pinned to two CPUs)"
set xlabel "round trip (microseconds, log scale)"
set ylabel "fraction of round trips at most x"
set logscale x
set grid xtics mxtics ytics
set key bottom right
set yrange [0:1]
cmd = ""
do for [k=0:5] {
    f = sprintf("f%d", k)
    if (exists(f)) {
        cmd = cmd . (strlen(cmd) > 0 ? ", " : "") . sprintf("'%s' using 1:2 with lines lw 2 title '%s'", value(f), value(sprintf("t%d", k)))
    }
}
eval("plot " . cmd)
