package dataplane

import (
	"context"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, 32 << 20, 1000},
		{4 << 20, 32 << 20, 800},   // a small heap grows by the headroom
		{1 << 20, 32 << 20, 1000},  // but never past 10×
		{64 << 20, 32 << 20, 100},  // a large one as at GOGC=100
		{500 << 20, 32 << 20, 100}, // never below
	} {
		if got := gcPercent(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercent(%d MiB live, %d MiB headroom) = %d, want %d", c.live>>20, c.headroom>>20, got, c.want)
		}
	}
}

// TuneGC sets the collector's target from the live heap, and leaves it alone when the operator set GOGC.
func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	TuneGC(ctx, func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	}, 1<<40, time.Hour)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set, the GC percent became %d", got)
	}
	TuneGC(ctx, func(string) string { return "" }, 1<<40, time.Hour) // headroom far past any live heap
	if got := debug.SetGCPercent(100); got != 1000 {
		t.Fatalf("with no GOGC and a huge headroom, the GC percent is %d, want 1000", got)
	}
}
