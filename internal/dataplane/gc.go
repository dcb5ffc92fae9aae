package dataplane

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// GCHeadroom is how much the data plane's heap may grow past what is live before the collector runs, when
// that is more than GOGC=100 would allow. The data plane's live heap is small (figures windows, connection
// buffers: a few MB), and at GOGC=100 the collector then runs so often that it takes a measurable share of
// every proxied request's CPU; 32 MiB of headroom collects several times less often for a bounded cost in
// memory (bench/README.md). A large live heap (many connections) is collected as at GOGC=100.
const GCHeadroom = 32 << 20

// TuneGC keeps the collector's target at least headroom past the live heap, looking again every period,
// until ctx ends. It does nothing when the operator chose GOGC (getenv("GOGC") is set).
func TuneGC(ctx context.Context, getenv func(string) string, headroom uint64, every time.Duration) {
	if getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tune := func() {
		metrics.Read(sample)
		debug.SetGCPercent(gcPercent(sample[0].Value.Uint64(), headroom))
	}
	tune()
	go repeat(ctx, every, tune)
}

// gcPercent is the GOGC that lets a heap of live bytes grow by headroom, between 100 and 1000.
func gcPercent(live, headroom uint64) int {
	if live == 0 {
		return 1000
	}
	return int(min(max(headroom*100/live, 100), 1000))
}
