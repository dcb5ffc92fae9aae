package analysis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// maxProbeBody bounds how much of an answer an http check reads to look for its expect_body.
const maxProbeBody = 1 << 20

// Prober sends the synthetic transactions of http checks through the environment's proxy, which routes each
// to the version its X-Ferry-Version header names.
type Prober struct {
	// Addr is the environment's listen address (host:port). An unspecified host (0.0.0.0, [::]) is reached
	// on the loopback address.
	Addr string
	// Client sends the requests. Nil means one that reaches the loopback addresses only (HostGuard), never
	// goes through an HTTP proxy and does not follow redirects, so that a check judges the release's own
	// answer (expect_status: 302 is possible).
	Client *http.Client
	// Host is sent as the Host header (and the TLS server name), for an address shared by host names.
	Host string
	// TLS probes over HTTPS. The certificate is not verified: the probe goes to ferry's own proxy on a
	// loopback address, and judges the release, not the certificate.
	TLS bool

	// CanaryHeader and CanaryValue are sent by the checks that name a url (a kubernetes environment's,
	// through its Gateway) when they probe the canary: the route's rule that sends a request to the canary
	// alone matches that header. Checks of the stable release send nothing of ferry's, as users do.
	CanaryHeader, CanaryValue string

	tlsOnce   sync.Once
	tlsClient *http.Client
}

// client is the client for the probes: Client, or for TLS a copy of its transport that names Host.
func (p *Prober) client() *http.Client {
	client := p.Client
	if client == nil {
		client = probeClient
	}
	if !p.TLS {
		return client
	}
	p.tlsOnce.Do(func() {
		c := *client
		if tr, ok := client.Transport.(*http.Transport); ok {
			tr = tr.Clone()
			tr.TLSClientConfig = &tls.Config{ServerName: p.Host, InsecureSkipVerify: true}
			c.Transport = tr
		}
		p.tlsClient = &c
	})
	return p.tlsClient
}

// probeClient reaches the loopback addresses only, like the zero HostGuard.
var probeClient = defaultGuardClient

// Probe sends c to the version that has the role version and judges the answer: it passes when the status
// is c.ExpectStatus and, if c.ExpectBody is set, the first MiB of the body contains it. A network error or
// no answer within c.Timeout fails; ctx ending first (the analysis stopped) is inconclusive.
func (p *Prober) Probe(ctx context.Context, c pipeline.HTTPCheck, version proxy.Role) Result {
	r := Result{Check: httpLabel(c), Bound: httpBound(c)}
	scheme := "http://"
	if p.TLS {
		scheme = "https://"
	}
	target := scheme + loopback(p.Addr) + c.Path
	if c.URL != "" {
		target = c.URL + c.Path
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	reqCtx, cancel := ctx, context.CancelFunc(func() {})
	if c.Timeout > 0 {
		reqCtx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, c.Method, target, body)
	if err != nil {
		r.Verdict, r.Reason = Fail, err.Error()
		return r
	}
	req.Header.Set("User-Agent", "ferry-analysis")
	client := p.client()
	switch {
	case c.URL == "":
		req.Header.Set(proxy.VersionHeader, string(version))
		if p.Host != "" {
			req.Host = p.Host
		}
	case version == proxy.Canary && p.CanaryHeader != "":
		req.Header.Set(p.CanaryHeader, p.CanaryValue)
		fallthrough
	default:
		// Through a Gateway, as users come: its own host name, its certificate verified.
		client = p.Client
		if client == nil {
			client = probeClient
		}
	}
	start := time.Now()
	resp, err := client.Do(req)
	var text []byte
	if err == nil {
		if c.ExpectBody != "" {
			text, err = io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
		} else {
			// Read a little so that the connection can be reused; a long body is not worth the wait.
			_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		}
		resp.Body.Close()
	}
	took := time.Since(start)
	switch {
	case err != nil && ctx.Err() != nil:
		r.Verdict, r.Reason = Inconclusive, "analysis stopped: "+context.Cause(ctx).Error()
		return r
	case err != nil && timedOut(err):
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%s %s: no answer within %s", c.Method, target, c.Timeout)
		return r
	case err != nil:
		r.Verdict, r.Reason = Fail, err.Error()
		return r
	}
	r.Value = strconv.Itoa(resp.StatusCode) + " in " + seconds.format(took.Seconds(), valueDigits)
	switch {
	case resp.StatusCode != c.ExpectStatus:
		r.Verdict, r.Reason = Fail, fmt.Sprintf("status %d, want %d", resp.StatusCode, c.ExpectStatus)
	case c.ExpectBody != "" && !strings.Contains(string(text), c.ExpectBody):
		// The length only: the body may hold what no token reading the reason should see.
		r.Verdict, r.Reason = Fail, fmt.Sprintf("body (%d bytes) does not contain %q", len(text), c.ExpectBody)
	default:
		r.Verdict = Pass
	}
	return r
}

func timedOut(err error) bool {
	var ue *url.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ue) && ue.Timeout()
}

// loopback turns an address on every interface into one ferry can dial: 0.0.0.0:9000 into 127.0.0.1:9000.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil || !ip.IsUnspecified():
		return addr
	case ip.Is4():
		return net.JoinHostPort("127.0.0.1", port)
	}
	return net.JoinHostPort("::1", port)
}

// httpLabel names an http check: `http GET /checkout expect 200`, `http POST /orders expect 201 containing "id"`.
func httpLabel(c pipeline.HTTPCheck) string {
	return "http " + c.Method + " " + c.Path + " expect " + httpBound(c)
}

func httpBound(c pipeline.HTTPCheck) string {
	b := strconv.Itoa(c.ExpectStatus)
	if c.ExpectBody != "" {
		b += " containing " + strconv.Quote(clip(c.ExpectBody, 40))
	}
	return b
}
