package proxy

import (
	"context"
	"io"
	"sync"
	"time"
)

// streamCtx is an HTTP/2 stream's context, cancelled when the stream is reset or its connection ends. It
// does for a stream what context.WithCancel and context.AfterFunc did, for less: those took a channel, a map
// of children, a goroutine on cancel and four allocations per request. Here the channel is made only when
// something asks for Done, and the upstream connection to close on cancel is kept in a field
// (closeOnCancel).
type streamCtx struct {
	mu     sync.Mutex
	done   chan struct{}
	err    error
	closer io.Closer
}

// canceller is a context that closes a connection when it is cancelled: streamCtx. The upstream client
// uses it instead of context.AfterFunc when the request's context is one.
type canceller interface {
	closeOnCancel(c io.Closer)
	releaser
}

func (c *streamCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *streamCtx) Value(any) any               { return nil }

func (c *streamCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *streamCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// cancel ends the context and closes the connection given to closeOnCancel, if any; later calls do nothing.
func (c *streamCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	cl := c.closer
	c.closer = nil
	c.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

// closeOnCancel has cl closed when the context is cancelled before release; at once if it already is.
func (c *streamCtx) closeOnCancel(cl io.Closer) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		cl.Close()
		return
	}
	c.closer = cl
	c.mu.Unlock()
}

// release undoes closeOnCancel. It reports false when the context was cancelled first, so the connection
// is closed, as the stop function of context.AfterFunc does.
func (c *streamCtx) release() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closer = nil
	return c.err == nil
}

// closeOnCancel closes cl when ctx ends before stop.release is called; release reports false when it
// did. A context that never ends costs nothing, and a stream's allocates nothing.
func closeOnCancel(ctx context.Context, cl io.Closer) (stop releaser) {
	if cc, ok := ctx.(canceller); ok {
		cc.closeOnCancel(cl)
		return cc
	}
	if ctx.Done() == nil {
		return neverCancelled{}
	}
	return afterFuncStop(context.AfterFunc(ctx, func() { cl.Close() }))
}

// releaser undoes closeOnCancel.
type releaser interface{ release() bool }

type neverCancelled struct{}

func (neverCancelled) release() bool { return true }

// afterFuncStop is the stop function of context.AfterFunc as a releaser.
type afterFuncStop func() bool

func (f afterFuncStop) release() bool { return f() }
