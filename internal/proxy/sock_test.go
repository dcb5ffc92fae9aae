package proxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// sockPair returns a connected pair on loopback: ours as a sockConn, and the peer as a plain net.Conn.
func sockPair(t *testing.T) (*sockConn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	s, ok := newSockConn(c).(*sockConn)
	if !ok {
		t.Fatal("a TCP connection did not become a sockConn")
	}
	t.Cleanup(func() { s.Close(); peer.Close() })
	return s, peer
}

// Bytes both ways, more than the sockets' buffers hold and more than one raw call moves, arrive whole and in
// order while the other side reads slowly; the end of the stream reads as io.EOF.
func TestSockConnMovesBytesBothWays(t *testing.T) {
	s, peer := sockPair(t)
	out, in := make([]byte, 6<<20), make([]byte, 5<<20)
	rand.Read(out)
	rand.Read(in)
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(50 * time.Millisecond) // the sockConn's writes fill the socket and wait first
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(out))))
		got <- b
	}()
	go func() {
		peer.Write(in)
		peer.(*net.TCPConn).CloseWrite()
	}()
	if n, err := s.Write(out); err != nil || n != len(out) {
		t.Fatalf("write: %d, %v", n, err)
	}
	read, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(read, in) {
		t.Errorf("read %d bytes, not the %d the peer wrote", len(read), len(in))
	}
	if !bytes.Equal(<-got, out) {
		t.Error("the peer did not get what was written")
	}
}

// Deadlines hold as on net.TCPConn: the read fails as a timeout, and the connection reads on after it.
func TestSockConnReadDeadline(t *testing.T) {
	s, peer := sockPair(t)
	s.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := s.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	s.SetReadDeadline(time.Time{})
	peer.Write([]byte("late"))
	b := make([]byte, 10)
	if n, err := s.Read(b); err != nil || string(b[:n]) != "late" {
		t.Fatalf("read after the deadline was cleared: %q, %v", b[:n], err)
	}
}

// A read waiting when the connection is closed returns at once with an error.
func TestSockConnCloseWakesRead(t *testing.T) {
	s, _ := sockPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read on a closed connection returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the connection did not end the read waiting on it")
	}
}

// A held request goes out with the first read, which then gets the answer.
func TestSockConnHeldRequest(t *testing.T) {
	s, peer := sockPair(t)
	for i := range 3 {
		s.deferNext()
		s.Write([]byte("GET / HTTP/1.1\r\n"))
		s.Write([]byte("\r\n"))
		go func() {
			b := make([]byte, 64)
			n, _ := io.ReadAtLeast(peer, b, 18)
			peer.Write(append([]byte("answer to "), b[:n]...))
		}()
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 64)
		n, err := io.ReadAtLeast(s, b, 28)
		if err != nil || string(b[:n]) != "answer to GET / HTTP/1.1\r\n\r\n" {
			t.Fatalf("round %d: %q, %v", i, b[:n], err)
		}
	}
}

// A held request larger than the socket takes at once (the peer reads only later) still goes out whole and
// in order before the answer is read.
func TestSockConnHeldRequestFillsTheSocket(t *testing.T) {
	s, peer := sockPair(t)
	s.SetWriteBuffer(4 << 10)
	big := make([]byte, 8<<20)
	rand.Read(big)
	s.deferNext()
	s.Write(big)
	go func() {
		time.Sleep(50 * time.Millisecond)
		got := make([]byte, len(big))
		if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, big) {
			peer.Write([]byte("bad"))
			return
		}
		peer.Write([]byte("ok"))
	}()
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 8)
	n, err := s.Read(b)
	if err != nil || string(b[:n]) != "ok" {
		t.Fatalf("answer: %q, %v", b[:n], err)
	}
	if len(s.held) != 0 || s.holdStuck {
		t.Error("the held request is still held after it was sent")
	}
}

// A request held for a connection the peer has closed fails fast, not at the deadline: the peer's reset wakes
// the read.
func TestSockConnHeldRequestToClosedPeer(t *testing.T) {
	s, peer := sockPair(t)
	peer.Close()
	time.Sleep(20 * time.Millisecond) // the close has reached us and its readiness has been seen
	s.deferNext()
	s.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err := s.Read(make([]byte, 10))
	if err == nil {
		t.Fatal("a read after a request to a closed peer returned no error")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the read waited for its deadline (%v): %v", time.Since(start), err)
	}
	if !isEarlyClose(err) {
		t.Errorf("%v is not seen as an early close, so the request would not be sent again", err)
	}
}

type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error { c.set = append(c.set, t); return nil }

// A lazy deadline is set when it moves by more than min(d/16, 300 ms) or comes earlier, kept otherwise, and never
// lands later than asked.
func TestLazyDeadline(t *testing.T) {
	c := &deadlineConn{}
	l := lazyDeadline{set: c.SetReadDeadline}
	t0 := time.Now()
	steps := []struct {
		now  time.Duration
		d    time.Duration
		sets bool
	}{
		{0, 10 * time.Second, true},                            // first
		{100 * time.Millisecond, 10 * time.Second, false},      // 100 ms later: within 300 ms
		{300 * time.Millisecond, 10 * time.Second, false},      // at the bound
		{301 * time.Millisecond, 10 * time.Second, true},       // past it
		{400 * time.Millisecond, time.Second, true},            // earlier than the one set
		{410 * time.Millisecond, time.Second, false},           // 10 ms: within 1 s / 16
		{500 * time.Millisecond, time.Second, true},            // 100 ms: past 1 s / 16
		{510 * time.Millisecond, 80 * time.Millisecond, true},  // a short timeout: earlier
		{512 * time.Millisecond, 80 * time.Millisecond, false}, // 2 ms: within 80 ms / 16
		{520 * time.Millisecond, 80 * time.Millisecond, true},  // 10 ms: past it
	}
	for i, s := range steps {
		before := len(c.set)
		l.in(t0.Add(s.now), s.d)
		if got := len(c.set) > before; got != s.sets {
			t.Fatalf("step %d (at +%v, %v): set %v, want %v", i, s.now, s.d, got, s.sets)
		}
		if want := t0.Add(s.now + s.d); l.at.After(want) {
			t.Fatalf("step %d: deadline %v past the one asked for", i, l.at.Sub(want))
		}
	}
	l.clear()
	if last := c.set[len(c.set)-1]; !last.IsZero() {
		t.Fatal("clear did not remove the deadline")
	}
	l.in(t0.Add(time.Second), 10*time.Second)
	if last := c.set[len(c.set)-1]; !last.Equal(t0.Add(11 * time.Second)) {
		t.Fatal("after clear, the next deadline was not set")
	}
	l.forget()
	l.in(t0.Add(time.Second), 10*time.Second)
	if n := len(c.set); !c.set[n-1].Equal(c.set[n-2]) || n < 2 {
		t.Fatal("after forget, the same deadline was not set again")
	}
}

// Close inside poll's step (a step that ends its connection on a write error) returns at once instead of
// waiting for the poll it runs in, and the socket is closed when the poll ends; Close from another goroutine
// ends a poll that waits.
func TestSockConnCloseDuringPoll(t *testing.T) {
	s, peer := sockPair(t)
	done := make(chan error, 1)
	go func() {
		done <- s.poll(func() bool {
			s.Close()
			return true
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close inside poll's step deadlocked")
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := peer.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the poll ended, the peer read %v, want EOF", err)
	}

	s2, peer2 := sockPair(t)
	go func() {
		done <- s2.poll(func() bool { return false }) // waits for the peer, which sends nothing
	}()
	time.Sleep(20 * time.Millisecond)
	s2.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a poll ended by Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the poll waiting")
	}
	peer2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := peer2.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the peer read %v, want EOF", err)
	}
}

// A step that sets a far deadline after Close was called (a keep-alive loop arming its idle timeout) does not
// put off the wake-up Close gave the poll.
func TestSockConnCloseBeatsLaterDeadlines(t *testing.T) {
	s, _ := sockPair(t)
	done := make(chan error, 1)
	go func() {
		done <- s.poll(func() bool {
			s.Close()
			s.SetReadDeadline(time.Now().Add(time.Hour))
			return false
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("poll ended by Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set after Close kept the poll waiting")
	}
	if err := s.poll(func() bool { return true }); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("poll after Close: %v, want net.ErrClosed", err)
	}
}
