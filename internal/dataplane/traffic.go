package dataplane

import (
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/proxy"
)

// Bounds of an environment's traffic mode: the maintenance page is kept in memory and sent on every request.
const (
	MaxTrafficMessage = 64 << 10
	MaxPauseTimeout   = 10 * time.Minute
)

func validTraffic(t proxy.Traffic) error {
	switch t.Mode {
	case "", proxy.TrafficServing, proxy.TrafficPaused, proxy.TrafficStopped:
	default:
		return fmt.Errorf("traffic mode %q is not serving, paused or stopped", t.Mode)
	}
	if len(t.Message) > MaxTrafficMessage {
		return fmt.Errorf("maintenance message of %d bytes is over %d", len(t.Message), MaxTrafficMessage)
	}
	if t.Timeout < 0 || t.Timeout > MaxPauseTimeout {
		return fmt.Errorf("pause timeout %v is not 0..%v", t.Timeout, MaxPauseTimeout)
	}
	return nil
}
