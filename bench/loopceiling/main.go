// Command loopceiling is the ceiling of a Go proxy on this machine: the least a proxy can do per request (find
// the end of the head, add one header, forward; read the answer by its Content-Length, send it back), with one
// upstream connection per client, in four shapes: a goroutine per connection on Go's netpoller (-mode
// goroutine); the same with raw system calls waited for through syscall.RawConn (-mode goraw); that, with the
// request to the backend written inside the wait for its answer, so the wait needs no read that finds
// nothing first (-mode gofused, what ferry's data plane does); and one thread running its own epoll loop with
// raw system calls (-mode epoll). It is no proxy
// for use (no routing, no limits, no errors handled): it tells how far ferry's data plane is from what its
// runtime allows, and what an event loop would buy. bench/README.md has its figures against nginx.
//
//	go run ./bench/loopceiling -mode epoll -listen 127.0.0.1:19402 -up 127.0.0.1:BACKEND
//	wrk -t1 -c32 -d10s http://127.0.0.1:19402/
package main

import (
	"bytes"
	"flag"
	"log"
	"net"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

func main() {
	mode := flag.String("mode", "epoll", "goroutine, goraw, gofused or epoll")
	listen := flag.String("listen", "127.0.0.1:19402", "address to serve")
	up := flag.String("up", "", "the backend's host:port")
	flag.Parse()
	switch *mode {
	case "goroutine":
		serveGoroutines(*listen, *up)
	case "goraw":
		serveGoroutinesRaw(*listen, *up, false)
	case "gofused":
		serveGoroutinesRaw(*listen, *up, true)
	case "epoll":
		serveEpoll(*listen, *up)
	default:
		log.Fatalf("-mode %q: goroutine, goraw, gofused or epoll", *mode)
	}
}

var headEnd = []byte("\r\n\r\n")

const forwarded = "X-Forwarded-For: 127.0.0.1\r\n\r\n"

// answerLen is the length of a whole answer at the start of b (head and Content-Length body), or 0.
func answerLen(b []byte) int {
	j := bytes.Index(b, headEnd)
	if j < 0 {
		return 0
	}
	k := bytes.Index(b[:j], []byte("Content-Length: "))
	if k < 0 {
		return 0
	}
	e := bytes.IndexByte(b[k:j+2], '\r')
	cl, _ := strconv.Atoi(string(b[k+16 : k+e]))
	if len(b) < j+4+cl {
		return 0
	}
	return j + 4 + cl
}

func serveGoroutines(listen, up string) {
	eachClient(listen, up, func(c, u net.Conn) {
		buf, ubuf, out := make([]byte, 16<<10), make([]byte, 16<<10), make([]byte, 0, 16<<10)
		n := 0
		for {
			i := bytes.Index(buf[:n], headEnd)
			if i < 0 {
				m, err := c.Read(buf[n:])
				if err != nil {
					return
				}
				n += m
				continue
			}
			out = append(append(out[:0], buf[:i+2]...), forwarded...)
			if _, err := u.Write(out); err != nil {
				return
			}
			n = copy(buf, buf[i+4:n])
			un := 0
			for answerLen(ubuf[:un]) == 0 {
				m, err := u.Read(ubuf[un:])
				if err != nil {
					return
				}
				un += m
			}
			if _, err := c.Write(ubuf[:answerLen(ubuf[:un])]); err != nil {
				return
			}
		}
	})
}

type epConn struct {
	fd, peer int
	client   bool
	buf      []byte
	n        int
	busy     bool // a request is at the backend
}

func rawRead(fd int, p []byte) int {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e == syscall.EAGAIN {
		return -1
	} else if e != 0 {
		return 0
	}
	return int(r)
}

func rawWrite(fd int, p []byte) {
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
}

func sockaddr(hostport string) *syscall.SockaddrInet4 {
	a, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		log.Fatal(err)
	}
	sa := &syscall.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], a.IP.To4())
	return sa
}

func serveEpoll(listen, up string) {
	runtime.LockOSThread()
	upAddr := sockaddr(up)
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		log.Fatal(err)
	}
	syscall.SetsockoptInt(lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(lfd, sockaddr(listen)); err != nil {
		log.Fatal(err)
	}
	syscall.Listen(lfd, 1024)
	epfd, _ := syscall.EpollCreate1(0)
	watch := func(fd int) {
		syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)})
	}
	watch(lfd)
	conns := map[int]*epConn{}
	out := make([]byte, 0, 16<<10)
	send := func(c *epConn) { // forwards the client's next buffered request, if the backend is free
		for !c.busy {
			j := bytes.Index(c.buf[:c.n], headEnd)
			if j < 0 {
				return
			}
			out = append(append(out[:0], c.buf[:j+2]...), forwarded...)
			rawWrite(c.peer, out)
			c.n = copy(c.buf, c.buf[j+4:c.n])
			c.busy = true
		}
	}
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(epfd, events, -1)
		if err != nil {
			continue
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				for {
					cfd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK)
					if err != nil {
						break
					}
					ufd, _ := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
					if err := syscall.Connect(ufd, upAddr); err != nil {
						log.Fatal(err)
					}
					syscall.SetNonblock(ufd, true)
					syscall.SetsockoptInt(cfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					syscall.SetsockoptInt(ufd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					conns[cfd] = &epConn{fd: cfd, peer: ufd, client: true, buf: make([]byte, 16<<10)}
					conns[ufd] = &epConn{fd: ufd, peer: cfd, buf: make([]byte, 16<<10)}
					watch(cfd)
					watch(ufd)
				}
				continue
			}
			c := conns[fd]
			if c == nil {
				continue
			}
			m := rawRead(fd, c.buf[c.n:])
			if m < 0 {
				continue
			}
			if m == 0 {
				syscall.Close(fd)
				syscall.Close(c.peer)
				delete(conns, fd)
				delete(conns, c.peer)
				continue
			}
			c.n += m
			if c.client {
				send(c)
				continue
			}
			if l := answerLen(c.buf[:c.n]); l > 0 {
				rawWrite(c.peer, c.buf[:l])
				c.n = 0
				cl := conns[c.peer]
				cl.busy = false
				send(cl)
			}
		}
	}
}

// serveGoroutinesRaw is serveGoroutines with raw system calls on the sockets, waited for through
// syscall.RawConn: no entering and leaving a system call in the scheduler. With fused, the request goes to
// the backend inside the RawConn read that waits for the answer: after the netpoller is prepared, so the
// answer's readiness cannot be missed, and with no read that finds nothing before the wait.
func serveGoroutinesRaw(listen, up string, fused bool) {
	eachClient(listen, up, func(c, u net.Conn) {
		csc, _ := c.(*net.TCPConn).SyscallConn()
		usc, _ := u.(*net.TCPConn).SyscallConn()
		read := func(sc syscall.RawConn, p []byte, send []byte) int {
			n := 0
			sc.Read(func(fd uintptr) bool {
				if len(send) > 0 {
					rawWrite(int(fd), send)
					send = nil
					return false
				}
				n = rawRead(int(fd), p)
				return n >= 0
			})
			return n
		}
		write := func(sc syscall.RawConn, p []byte) {
			sc.Write(func(fd uintptr) bool {
				rawWrite(int(fd), p)
				return true
			})
		}
		buf, ubuf, out := make([]byte, 16<<10), make([]byte, 16<<10), make([]byte, 0, 16<<10)
		n := 0
		for {
			i := bytes.Index(buf[:n], headEnd)
			if i < 0 {
				m := read(csc, buf[n:], nil)
				if m <= 0 {
					return
				}
				n += m
				continue
			}
			out = append(append(out[:0], buf[:i+2]...), forwarded...)
			n = copy(buf, buf[i+4:n])
			var send []byte
			if fused {
				send = out
			} else {
				write(usc, out)
			}
			un := 0
			for answerLen(ubuf[:un]) == 0 {
				m := read(usc, ubuf[un:], send)
				send = nil
				if m <= 0 {
					return
				}
				un += m
			}
			write(csc, ubuf[:answerLen(ubuf[:un])])
		}
	})
}

// eachClient accepts clients on listen and runs serve for each on its own goroutine, with a connection of its
// own to the backend; both are closed when serve returns.
func eachClient(listen, up string, serve func(c, u net.Conn)) {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", up)
			if err != nil {
				return
			}
			defer u.Close()
			serve(c, u)
		}()
	}
}
