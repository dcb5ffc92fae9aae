package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

// Config configures a Manager.
type Config struct {
	// Dir is where certificates and account keys are kept: the data plane's <data>/certs.
	Dir string
	// Roots are the roots trusted for the CA's directory (HTTPS); nil trusts the system's. A test CA's root
	// comes from the server's flag (--acme-ca-root), never from a commit.
	Roots *x509.CertPool
	// RenewWindow is how long before its expiry a certificate is renewed; zero renews when a third of its
	// lifetime is left (30 days for Let's Encrypt's 90-day certificates).
	RenewWindow time.Duration
	// RetryMin and RetryMax bound the wait after a failed attempt, doubling from RetryMin (1 minute) up to
	// RetryMax (6 hours), so a failing host does not run into the CA's rate limits.
	RetryMin, RetryMax time.Duration
	// AttemptTimeout bounds one attempt (account, order, challenge, issuance); 3 minutes when zero.
	AttemptTimeout time.Duration
	Logger         *slog.Logger
}

// Manager obtains and renews the certificates of the hosts environments give it, and serves them.
type Manager struct {
	cfg   Config
	store *store
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup

	mu      sync.Mutex
	hosts   map[string]*hostState       // by host name; a host belongs to one environment
	clients map[string]*acme.Client     // by CA folder and email
	http01  map[string]httpChallenge    // by token
	alpn    map[string]*tls.Certificate // TLS-ALPN-01 answers, by host
}

type httpChallenge struct {
	host, keyAuth string
}

// hostState is one managed host: the certificate served and how obtaining it went. Fields are guarded by
// Manager.mu.
type hostState struct {
	env, host string
	settings  Settings
	cert      *tls.Certificate // served; nil until the first is obtained or loaded
	leaf      *x509.Certificate
	lastError string
	errorAt   time.Time
	failures  int
	next      time.Time // when the next attempt is due
	kick      chan struct{}
	cancel    context.CancelFunc
}

// New opens the certificates folder. Close stops every renewal.
func New(cfg Config) (*Manager, error) {
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Minute
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 6 * time.Hour
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 3 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(cfg.Dir)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, store: st, ctx: ctx, stop: stop, hosts: map[string]*hostState{},
		clients: map[string]*acme.Client{}, http01: map[string]httpChallenge{}, alpn: map[string]*tls.Certificate{}}, nil
}

// Close stops obtaining and renewing; the files stay.
func (m *Manager) Close() error {
	m.stop()
	m.wg.Wait()
	return m.store.close()
}

// Manage makes hosts the hosts env has certificates for, obtained from the CA of settings: from now on, not at
// the first handshake. A certificate already stored for a host is served at once and renewed when due. Hosts
// env named before and not now are no longer served. Invalid settings or hosts, or a host that another
// environment has, are refused and change nothing.
func (m *Manager) Manage(env string, settings Settings, hosts []string) error {
	if err := settings.Validate(); err != nil {
		return fmt.Errorf("environment %s: %w", env, err)
	}
	settings = settings.withDefaults()
	want := map[string]bool{}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if err := CheckHost(h); err != nil {
			return fmt.Errorf("environment %s: %w", env, err)
		}
		want[h] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for h := range want {
		if s, ok := m.hosts[h]; ok && s.env != env {
			return fmt.Errorf("environment %s: host %s has its certificate managed by environment %s", env, h, s.env)
		}
	}
	for h, s := range m.hosts {
		if s.env == env && (!want[h] || s.settings != settings) {
			s.cancel()
			delete(m.hosts, h)
		}
	}
	for _, h := range slices.Sorted(maps.Keys(want)) {
		if _, ok := m.hosts[h]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(m.ctx)
		s := &hostState{env: env, host: h, settings: settings, kick: make(chan struct{}, 1), cancel: cancel}
		if c, err := m.store.load(caFolder(settings.Directory), h); err != nil {
			m.cfg.Logger.Warn("stored certificate unusable; obtaining a new one", "env", env, "host", h, "err", err)
		} else if c != nil && c.Leaf != nil && c.Leaf.VerifyHostname(h) == nil {
			s.cert, s.leaf = c, c.Leaf
		}
		s.next = m.renewAt(s)
		m.hosts[h] = s
		m.wg.Add(1)
		go m.run(ctx, s)
	}
	return nil
}

// Unmanage forgets env's hosts: their certificates are no longer served or renewed (the files stay).
func (m *Manager) Unmanage(env string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, s := range m.hosts {
		if s.env == env {
			s.cancel()
			delete(m.hosts, h)
		}
	}
}

// renewAt is when s's certificate is due: now when it has none, else RenewWindow (or a third of its
// lifetime) before it expires.
func (m *Manager) renewAt(s *hostState) time.Time {
	if s.leaf == nil {
		return time.Now()
	}
	window := m.cfg.RenewWindow
	if window <= 0 {
		window = s.leaf.NotAfter.Sub(s.leaf.NotBefore) / 3
	}
	return s.leaf.NotAfter.Add(-window)
}

// run obtains s's certificate whenever it is due, until ctx ends.
func (m *Manager) run(ctx context.Context, s *hostState) {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		wait := time.Until(s.next)
		m.mu.Unlock()
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.kick:
			t.Stop()
		}
		m.attempt(ctx, s)
	}
}

// attempt obtains a certificate for s once and records how it went. A failure keeps the certificate served.
func (m *Manager) attempt(ctx context.Context, s *hostState) {
	log := m.cfg.Logger.With("env", s.env, "host", s.host)
	ctx, cancel := context.WithTimeout(ctx, m.cfg.AttemptTimeout)
	defer cancel()
	start := time.Now()
	cert, err := m.obtain(ctx, s.host, s.settings)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // unmanaged or closed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		s.failures++
		s.lastError, s.errorAt = err.Error(), time.Now()
		backoff := m.cfg.RetryMin << min(s.failures-1, 20)
		s.next = time.Now().Add(min(backoff, m.cfg.RetryMax))
		log.Warn("certificate not obtained; the one served is kept", "err", err, "retry_at", s.next.Format(time.RFC3339))
		return
	}
	s.cert, s.leaf = cert, cert.Leaf
	s.failures, s.lastError, s.errorAt = 0, "", time.Time{}
	s.next = m.renewAt(s)
	// A renewal window longer than the certificate's life would renew without pause: wait at least RetryMin.
	if floor := time.Now().Add(m.cfg.RetryMin); s.next.Before(floor) {
		s.next = floor
	}
	log.Info("certificate obtained", "not_after", s.leaf.NotAfter.Format(time.RFC3339),
		"renew_at", s.next.Format(time.RFC3339), "took", time.Since(start).Round(time.Millisecond))
}

// Renew asks for host's certificate to be obtained again now, whatever its expiry.
func (m *Manager) Renew(host string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.hosts[host]
	if ok {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return ok
}

// GetCertificate serves the certificate of the hello's host (SNI), and the TLS-ALPN-01 answer to a CA's
// acme-tls/1 hello for a host being validated. A host no environment manages here gets no certificate.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.Equal(hello.SupportedProtos, []string{acme.ALPNProto}) {
		if c, ok := m.alpn[host]; ok {
			return c, nil
		}
		return nil, fmt.Errorf("acme: no TLS-ALPN-01 challenge pending for %q", host)
	}
	if s, ok := m.hosts[host]; ok && s.cert != nil {
		return s.cert, nil
	}
	return nil, fmt.Errorf("acme: no certificate for %q", host)
}

// HandleHTTPChallenge answers a CA's HTTP-01 request (/.well-known/acme-challenge/TOKEN) for a challenge
// pending for the request's host, and reports whether it did; every other request is left to the caller.
func (m *Manager) HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
	if !ok || token == "" {
		return false
	}
	host := strings.ToLower(r.Host)
	if h, _, found := strings.Cut(host, ":"); found && !strings.Contains(h, "]") {
		host = h
	}
	m.mu.Lock()
	c, ok := m.http01[token]
	m.mu.Unlock()
	if !ok || c.host != host {
		return false
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(c.keyAuth))
	return true
}

// HostStatus is what Status reports of one host.
type HostStatus struct {
	Env       string    `json:"env"`
	Host      string    `json:"host"`
	Issuer    string    `json:"issuer,omitempty"` // the certificate's issuer (common name); empty until one is served
	Serial    string    `json:"serial,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	// LastError is why the last attempt failed; empty once one succeeds. The certificate above, if any, is
	// still served.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// NextAttempt is when the certificate is next obtained: its renewal, or the retry after a failure.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// Status reports every managed host of env ("" for all), sorted by environment and host.
func (m *Manager) Status(env string) []HostStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []HostStatus
	for _, s := range m.hosts {
		if env != "" && s.env != env {
			continue
		}
		st := HostStatus{Env: s.env, Host: s.host, LastError: s.lastError, LastErrorAt: s.errorAt, NextAttempt: s.next}
		if s.leaf != nil {
			st.Issuer = s.leaf.Issuer.CommonName
			if st.Issuer == "" && len(s.leaf.Issuer.Organization) > 0 {
				st.Issuer = s.leaf.Issuer.Organization[0]
			}
			st.Serial = s.leaf.SerialNumber.Text(16)
			st.NotBefore, st.NotAfter = s.leaf.NotBefore, s.leaf.NotAfter
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Env != out[j].Env {
			return out[i].Env < out[j].Env
		}
		return out[i].Host < out[j].Host
	})
	return out
}
