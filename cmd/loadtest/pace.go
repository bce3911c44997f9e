package main

import (
	"context"
	"time"
)

// pace hands out one permit per 1/rps on average until ctx ends. A ticker
// wakes it (at most once a millisecond, so high rates do not depend on the
// timer's resolution) and it then sends every permit due since the start: the
// long-run rate is exact even when ticks come late, and a server that falls
// behind gets the backlog as soon as a worker is free (open-loop arrivals, so
// a slow server cannot lower the offered load and hide its own latency).
func pace(ctx context.Context, rps float64, permits chan<- struct{}) {
	interval := max(time.Millisecond, time.Duration(float64(time.Second)/rps))
	t := time.NewTicker(interval)
	defer t.Stop()
	start := time.Now()
	var sent int64
	for {
		for due := permitsDue(time.Since(start), rps); sent < due; sent++ {
			select {
			case permits <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// permitsDue is how many permits a run paced at rps may have used after
// elapsed: the first at once, then one every 1/rps.
func permitsDue(elapsed time.Duration, rps float64) int64 {
	return int64(elapsed.Seconds()*rps) + 1
}

// takePermit waits for the pacer; false when the run ended first.
func takePermit(ctx context.Context, permits <-chan struct{}) bool {
	select {
	case <-permits:
		return true
	case <-ctx.Done():
		return false
	}
}
