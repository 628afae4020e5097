# scaling.gp - gnuplot script of `make bench` (run by bench/bench.c): time
# per create+close against the number of other names in the store
# (scenario 7).  Expects, from -e: data (lines "names median p10 p90", in
# microseconds) and out (PNG path).
set terminal pngcairo size 960,600 noenhanced font ",10"
set output out
set title "Scenario 7: create+close with N other live names in the store"
set xlabel "other names in the store (log scale)"
set ylabel "time per create+close (microseconds)"
set logscale x
set xrange [3:300000]
set yrange [0:*]
set grid
set key top left
plot data using 1:2:3:4 with yerrorlines lw 2 pt 7 title "shmap, median (bars: p10-p90)"
