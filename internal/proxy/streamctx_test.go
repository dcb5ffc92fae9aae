package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

type countCloser struct{ n atomic.Int32 }

func (c *countCloser) Close() error { c.n.Add(1); return nil }

// A stream's context behaves as a cancelled context.Context and closes the upstream connection it was given,
// once, only while it holds it.
func TestStreamCtxCancel(t *testing.T) {
	var ctx streamCtx
	if ctx.Err() != nil {
		t.Fatal("a new stream context is already cancelled")
	}
	done := ctx.Done()
	kept, released := &countCloser{}, &countCloser{}
	stop := closeOnCancel(&ctx, released)
	if !stop.release() {
		t.Fatal("release before any cancel reports a cancel")
	}
	closeOnCancel(&ctx, kept)
	ctx.cancel()
	ctx.cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Done is not closed after cancel")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err after cancel: %v", ctx.Err())
	}
	if kept.n.Load() != 1 || released.n.Load() != 0 {
		t.Errorf("closed %d times the held connection (want 1) and %d times the released one (want 0)", kept.n.Load(), released.n.Load())
	}
	if (&ctx).release() {
		t.Error("release after cancel reports no cancel")
	}
	late := &countCloser{}
	closeOnCancel(&ctx, late)
	if late.n.Load() != 1 {
		t.Error("a connection given after the cancel is not closed at once")
	}
	select {
	case <-ctx.Done(): // made after the cancel: closed already
	default:
		t.Error("Done asked for after the cancel is open")
	}
	// Contexts derived from it end with it, as from any context.
	var parent streamCtx
	child, cancel := context.WithTimeout(&parent, time.Minute)
	defer cancel()
	parent.cancel()
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatal("a derived context outlived the stream's")
	}
}

// Contexts other than a stream's still close the connection on cancel, through context.AfterFunc; one that
// never ends closes nothing.
func TestCloseOnCancelOtherContexts(t *testing.T) {
	c := &countCloser{}
	if !closeOnCancel(context.Background(), c).release() || c.n.Load() != 0 {
		t.Fatal("a context that never ends closed the connection")
	}
	ctx, cancel := context.WithCancel(context.Background())
	closeOnCancel(ctx, c)
	cancel()
	eventually(t, "the connection closed after the cancel", func() bool { return c.n.Load() == 1 })
}

// lateCancel is a stream context cancelled in the last moment of an exchange: after the answer was read and
// before the exchange let go of the connection, so the connection is closed by the time release reports it.
type lateCancel struct {
	context.Context
	closer io.Closer
}

func (c *lateCancel) closeOnCancel(cl io.Closer) { c.closer = cl }
func (c *lateCancel) release() bool              { c.closer.Close(); return false }
func (c *lateCancel) Err() error                 { return context.Canceled }

// TestExchangeCancelledAtTheEndIsNotPooled: a client that goes away just as its answer has been read (an
// HTTP/2 stream reset racing the answer) has had the instance's connection closed; the exchange reports it,
// so the closed connection is never put back in the pool for the next request to fail on.
func TestExchangeCancelledAtTheEndIsNotPooled(t *testing.T) {
	up := newUpstream(t, "v1")
	pl := newPool(up.addr)
	defer pl.close()
	req, _ := http.NewRequest("GET", "http://"+up.addr+"/cookie", nil)
	ctx := &lateCancel{Context: context.Background()}
	resp, c, err := pl.roundTrip(ctx, req, &fwd{peer: "127.0.0.1", timeout: time.Second})
	if err == nil {
		t.Fatalf("answer %d on a connection the cancel closed, want an error", resp.StatusCode)
	}
	if c != nil {
		t.Error("roundTrip handed back the closed connection")
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.idle) != 0 {
		t.Errorf("%d connections in the pool, want none", len(pl.idle))
	}
}
