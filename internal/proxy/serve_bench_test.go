package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// rawUpstream answers every request on a keep-alive connection with the same 64-byte body, with no parsing
// beyond finding the end of the head: the benchmark's allocations and time are then the proxy's.
func rawUpstream(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	body := bytes.Repeat([]byte("a"), 64)
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16<<10)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						n = copy(buf, buf[i+4:n])
						if _, err := c.Write(answer); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// BenchmarkServeKeepAlive proxies GET requests over keep-alive connections through Serve, as wrk does: the
// time and allocations per request of ferry's HTTP/1.1 loop, its upstream client and its figures.
//
//	go test -run '^$' -bench ServeKeepAlive -benchmem ./internal/proxy/
func BenchmarkServeKeepAlive(b *testing.B) {
	p := &Proxy{Name: "bench"}
	p.SetRoute(Route{Stable: Version{Role: Stable, Release: "1", Upstreams: []string{rawUpstream(b)}}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go p.Serve(l)
	b.Cleanup(func() { l.Close() })
	req := []byte("GET /api/items?id=7 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n\r\n")
	const clients = 8
	var mu sync.Mutex
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range clients {
		n := b.N / clients
		if i == 0 {
			n += b.N % clients
		}
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			br := bufio.NewReader(c)
			for range n {
				if _, err := c.Write(req); err != nil {
					mu.Lock()
					b.Error(err)
					mu.Unlock()
					return
				}
				if err := readRawAnswer(br); err != nil {
					mu.Lock()
					b.Error(err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
}

// readRawAnswer reads one answer with a Content-Length body without allocating.
func readRawAnswer(br *bufio.Reader) error {
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := br.Discard(length)
	return err
}

// BenchmarkH2 proxies GET requests over one h2c connection from 8 goroutines (Go's HTTP/2 client): with
// -memprofile, what ferry's HTTP/2 server allocates per request.
//
//	go test -run '^$' -bench H2 -benchmem ./internal/proxy/
func BenchmarkH2(b *testing.B) {
	p := &Proxy{Name: "bench"}
	p.SetRoute(Route{Stable: Version{Role: Stable, Release: "1", Upstreams: []string{rawUpstream(b)}}})
	s := &Site{}
	s.SetHosts([]*Host{{Proxy: p, H2C: true}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(l)
	b.Cleanup(func() { l.Close() })
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: &protos}}
	url := "http://" + l.Addr().String() + "/api/items?id=7"
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
