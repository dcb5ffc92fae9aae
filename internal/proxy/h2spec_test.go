package proxy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/proxy/tlstest"
)

// TestH2Spec runs h2spec, the HTTP/2 conformance suite (RFC 9113 and RFC 7541: 145 cases of framing, stream
// states, flow control, HPACK and error handling), against ferry's HTTP/2 server over TLS and over h2c; every
// case must pass. h2spec is built from the Go module proxy by scripts/h2spec-binary.sh, which `make test` runs
// (FERRY_H2SPEC_BIN); without it the test fails, naming the command.
func TestH2Spec(t *testing.T) {
	bin := os.Getenv("FERRY_H2SPEC_BIN")
	if bin == "" {
		home, _ := os.UserHomeDir()
		matches, _ := filepath.Glob(filepath.Join(home, ".cache", "ferry-h2spec", "h2spec-*", "h2spec"))
		if len(matches) > 0 {
			bin = filepath.Dir(matches[0])
		}
	}
	h2spec := filepath.Join(bin, "h2spec")
	if _, err := os.Stat(h2spec); err != nil {
		t.Fatalf(`h2spec not found (%v): export FERRY_H2SPEC_BIN="$(scripts/h2spec-binary.sh)" (make test does)`, err)
	}
	up := newUpstream(t, "v1")
	ca := tlstest.NewCA(t)
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "h2c", true: "tls"}[secure], func(t *testing.T) {
			s := &Site{TLS: secure}
			h := &Host{Proxy: newProxy(t, Route{Stable: up.asStable()}), H2C: !secure}
			if secure {
				h.Names = []string{"127.0.0.1"}
				h.Certificate = ca.Pair(t, "127.0.0.1")
			}
			if err := s.SetHosts([]*Host{h}); err != nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(startSite(t, s))
			args := []string{"-h", "127.0.0.1", "-p", port, "-o", "2"}
			if secure {
				args = append(args, "-t", "-k")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, h2spec, args...).CombinedOutput()
			m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("h2spec: %v\n%s", err, out)
			}
			total, _ := strconv.Atoi(string(m[1]))
			failed, _ := strconv.Atoi(string(m[4]))
			// On a plain port that serves HTTP/1.1 too, bytes that are no HTTP/2 preface are an HTTP/1.1
			// request, which gets its 400 before the connection closes: the one case h2spec's h2c run counts
			// against a shared port. It passes over TLS, where ALPN chose HTTP/2.
			allowed := 0
			if !secure && bytes.Count(out, []byte("× 2: Sends invalid connection preface")) > 0 {
				allowed = 1
			}
			if failed > allowed || total < 145 {
				t.Fatalf("h2spec: %s\n%s", m[0], out)
			}
			fmt.Fprintf(os.Stderr, "h2spec %s: %s\n", t.Name(), m[0])
		})
	}
}
