package proxy

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// sockConn is a TCP connection whose reads and writes are raw system calls on its non-blocking socket, waited
// for on Go's netpoller through syscall.RawConn. A read or write on net.TCPConn tells the scheduler it is
// entering a system call, and one that takes long (a loopback write runs the receiver's TCP work inline) hands
// the thread's processor to another thread and takes it back after: on a proxy's hot path those hand-offs
// cost more than the calls. A raw call on a non-blocking socket never blocks, so it keeps its thread, as an
// event loop's would (bench/README.md has what it bought).
//
// A sockConn can also defer a write to its next read (deferNext): the bytes go out inside the read's
// netpoller preparation, and the read then waits for the peer instead of first trying a read that can only
// find nothing. The upstream client defers a request without a body this way, saving a system call per
// request; it is only right when nothing can be waiting unread (an idle keep-alive connection whose last
// answer was read to its end), because the preparation forgets a readiness the netpoller already saw.
type sockConn struct {
	*net.TCPConn
	rc syscall.RawConn

	// The read and write in progress, for readFn and writeFn: method values made once, so that no read or
	// write allocates.
	rp      []byte
	rn      int
	rerr    syscall.Errno
	readFn  func(uintptr) bool
	wp      []byte
	werr    syscall.Errno
	writeFn func(uintptr) bool

	polling bool         // inside poll: Read is one raw read on pollFD, and never waits
	state   atomic.Int32 // sockIdle, sockPolling or sockClosing, for Close on other goroutines
	pollFD  uintptr      //
	drained bool         // the last read inside poll took less than it asked for: the socket was empty then

	deferring bool   // the next writes are held for the next read, on the same goroutine
	held      []byte // what is held; sent before the next read waits
	holdStuck bool   // the socket took only part of held: the rest goes out by a waiting write
}

// maxRawIO bounds one raw call, so a call keeps its thread for a bounded time.
const maxRawIO = 256 << 10

// newSockConn returns c as a sockConn when it is a TCP connection, else c itself.
func newSockConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	s := &sockConn{TCPConn: tc, rc: rc}
	s.readFn, s.writeFn = s.doRead, s.doWrite
	return s
}

// deferNext holds what is written next until the next Read.
func (s *sockConn) deferNext() { s.deferring = true }

func (s *sockConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > maxRawIO {
		p = p[:maxRawIO]
	}
	if s.polling {
		return s.readInPoll(p)
	}
	if s.deferring {
		// Only a connection that defers writes it here: a client connection's Read and Write run
		// concurrently and share nothing.
		s.deferring = false
	}
	s.rp, s.rn, s.rerr = p, 0, 0
	err := s.rc.Read(s.readFn)
	if err == nil && s.holdStuck {
		// The socket's buffer filled while the held request went out: send the rest with a write that
		// waits, then read as usual.
		s.holdStuck = false
		rest := s.held
		s.held = s.held[:0]
		if _, err := s.Write(rest); err != nil {
			s.rp = nil
			return 0, err
		}
		err = s.rc.Read(s.readFn)
	}
	s.rp = nil
	if err != nil {
		s.held, s.holdStuck = s.held[:0], false
		return 0, err
	}
	if s.rerr != 0 {
		return 0, s.opError("read", s.rerr)
	}
	if s.rn == 0 {
		return 0, io.EOF
	}
	return s.rn, nil
}

// errWouldBlock is a Read inside poll that found nothing to read: the step returns false to wait. It is a
// temporary net.Error, so a TLS connection reading through the sockConn keeps its state and reads on after it.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "proxy: nothing to read yet" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

// poll runs step inside one wait on the netpoller's read side, until step returns true. Meanwhile Read is a
// single raw read that returns errWouldBlock instead of waiting, and step returning false waits until the
// socket is readable and then runs step again. That wait keeps whatever readiness the netpoller saw while
// step ran, which a Read's own wait cannot promise (each begins by forgetting it). So a Read after one
// that emptied the socket (took less than it asked for) returns errWouldBlock without a system call: what
// arrived since has woken the wait already or will. One thing can arrive unseen: a FIN that came with the
// data of that read (a client that sends a request and then shuts its side down) raises no new readiness,
// so it is seen at the idle timeout, not at once; the answer goes out at once either way. Writes inside step
// wait as usual; only the goroutine running poll may Read meanwhile. The error is the wait's: a deadline,
// or net.ErrClosed when Close ended it.
func (s *sockConn) poll(step func() bool) error {
	if !s.state.CompareAndSwap(sockIdle, sockPolling) {
		return net.ErrClosed
	}
	s.polling, s.drained = true, false
	closed := false
	err := s.rc.Read(func(fd uintptr) bool {
		if s.state.Load() == sockClosing {
			closed = true
			return true
		}
		s.pollFD = fd
		return step()
	})
	s.polling = false
	if !s.state.CompareAndSwap(sockPolling, sockIdle) {
		// Close came meanwhile and left the closing to this poll.
		s.TCPConn.Close()
		closed = true
	}
	if closed {
		return net.ErrClosed
	}
	return err
}

// The states of a sockConn for Close: polling while a poll runs, closing once Close has been called.
const (
	sockIdle int32 = iota
	sockPolling
	sockClosing
)

// Close closes the connection. net.TCPConn's Close waits for reads in progress to end, and poll's wait is
// one that can last, or be the caller's own (a step that closes its connection on a write error): during
// poll, Close puts every read and write past its deadline at once (and later deadlines are ignored), and
// poll closes the socket when it ends.
func (s *sockConn) Close() error {
	for {
		switch s.state.Load() {
		case sockPolling:
			if s.state.CompareAndSwap(sockPolling, sockClosing) {
				s.TCPConn.SetDeadline(aLongTimeAgo)
				return nil
			}
		case sockIdle:
			if s.state.CompareAndSwap(sockIdle, sockClosing) {
				return s.TCPConn.Close()
			}
		default:
			return s.TCPConn.Close()
		}
	}
}

// SetDeadline, SetReadDeadline and SetWriteDeadline do nothing once Close has been called: a step still
// running must not put off the wake-up Close gave the poll.
func (s *sockConn) SetDeadline(t time.Time) error {
	if s.state.Load() == sockClosing {
		return nil
	}
	return s.TCPConn.SetDeadline(t)
}

func (s *sockConn) SetReadDeadline(t time.Time) error {
	if s.state.Load() == sockClosing {
		return nil
	}
	return s.TCPConn.SetReadDeadline(t)
}

func (s *sockConn) SetWriteDeadline(t time.Time) error {
	if s.state.Load() == sockClosing {
		return nil
	}
	return s.TCPConn.SetWriteDeadline(t)
}

// aLongTimeAgo is a deadline already past: it ends every read and write waiting.
var aLongTimeAgo = time.Unix(1, 0)

func (s *sockConn) readInPoll(p []byte) (int, error) {
	if s.drained {
		s.drained = false
		return 0, errWouldBlock
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, s.pollFD, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			s.drained = int(n) < len(p)
			return int(n), nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, errWouldBlock
		}
		return 0, s.opError("read", e)
	}
}

// doRead is the read's step on the netpoller: true when done, false to wait until the socket is readable.
func (s *sockConn) doRead(fd uintptr) bool {
	if len(s.held) > 0 {
		n, e := rawWrite(fd, s.held)
		switch {
		case e == syscall.EAGAIN || e == 0 && n < len(s.held):
			s.held = s.held[:copy(s.held, s.held[n:])]
			s.holdStuck = true
			return true
		case e != 0:
			s.held = s.held[:0]
			s.rerr = e
			return true
		}
		s.held = s.held[:0]
		return false // nothing can be there before the peer has the request: wait for its answer
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rp[0])), uintptr(len(s.rp)))
		switch e {
		case 0:
			s.rn = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.rerr = e
		return true
	}
}

func (s *sockConn) Write(p []byte) (int, error) {
	if s.deferring {
		s.held = append(s.held, p...)
		return len(p), nil
	}
	done := 0
	for done < len(p) {
		chunk := p[done:]
		if len(chunk) > maxRawIO {
			chunk = chunk[:maxRawIO]
		}
		s.wp, s.werr = chunk, 0
		err := s.rc.Write(s.writeFn)
		written := len(chunk) - len(s.wp)
		s.wp = nil
		done += written
		if err != nil {
			return done, err
		}
		if s.werr != 0 {
			return done, s.opError("write", s.werr)
		}
	}
	return done, nil
}

// doWrite writes what is left of wp: true when it is all written or failed, false to wait until the socket
// is writable.
func (s *sockConn) doWrite(fd uintptr) bool {
	for len(s.wp) > 0 {
		n, e := rawWrite(fd, s.wp)
		s.wp = s.wp[n:]
		switch e {
		case 0:
		case syscall.EAGAIN:
			return false
		default:
			s.werr = e
			return true
		}
	}
	return true
}

// rawWrite is one write system call that keeps its thread; EINTR is retried.
func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), 0
	}
}

func (s *sockConn) opError(op string, e syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: os.NewSyscallError(op, e)}
}

// lazyDeadline sets a connection's read or write deadline the way nginx sets its timers lazily: a deadline
// asked for that is at most a sixteenth of its duration (and 300 ms) past the one already set keeps the one
// set. A keep-alive connection's requests, or an HTTP/2 connection's frames, then update a timer a few times a
// second, not each; a timeout can come that much early, never late.
type lazyDeadline struct {
	set func(time.Time) error // the connection's SetReadDeadline or SetWriteDeadline
	at  time.Time             // the deadline set; zero when none or unknown
}

// maxLazy bounds how early a lazily kept deadline can be, as nginx's NGX_TIMER_LAZY_DELAY does.
const maxLazy = 300 * time.Millisecond

// in sets the deadline to now+d, unless the one set is at most min(d/16, maxLazy) earlier.
func (l *lazyDeadline) in(now time.Time, d time.Duration) {
	t := now.Add(d)
	if !l.at.IsZero() && !t.Before(l.at) && t.Sub(l.at) <= min(d>>4, maxLazy) {
		return
	}
	l.at = t
	l.set(t)
}

// clear removes the deadline.
func (l *lazyDeadline) clear() {
	l.at = time.Time{}
	l.set(time.Time{})
}

// forget says the deadline was changed elsewhere: the next in sets it.
func (l *lazyDeadline) forget() { l.at = time.Time{} }
