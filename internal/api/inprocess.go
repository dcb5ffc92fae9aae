package api

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// handlerTransport answers requests with a handler in process. The handler runs in its own goroutine and
// writes into a pipe, so the answer streams; closing the answer's body cancels the handler's context and
// waits for it to return.
type handlerTransport struct {
	h http.Handler
}

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer pw.Close()
		defer w.WriteHeader(http.StatusOK) // an answer without a body is a 200, as over the network
		t.h.ServeHTTP(w, req.WithContext(ctx))
	}()
	<-w.ready
	return &http.Response{
		Status:        http.StatusText(w.code),
		StatusCode:    w.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          &pipeBody{pr: pr, cancel: cancel, done: done},
		ContentLength: -1,
		Request:       req,
	}, nil
}

// pipeWriter is the handler's ResponseWriter: the status and header are fixed at the first write (or flush),
// and the body goes through the pipe.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter

	once  sync.Once
	code  int
	sent  http.Header
	ready chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.code, w.sent = code, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

// Flush sends the header if it was not yet: every write already reached the reader.
func (w *pipeWriter) Flush() { w.WriteHeader(http.StatusOK) }

// pipeBody is the answer's body; Close stops the handler if it is still writing.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.cancel()
	b.pr.Close()
	<-b.done
	return nil
}
