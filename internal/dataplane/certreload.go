package dataplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"time"
)

// ReloadCertificates reads again the certificate files of every environment that names some, and serves the
// ones that changed: an operator (or certbot's deploy hook) replaces the files, and ferry serves them without
// a deploy. Files that no longer read, or no longer make a pair, leave the certificate served so far in
// place; the errors are logged and returned.
func (p *Plane) ReloadCertificates() error {
	// The files are read without the plane's lock, which every route change takes.
	p.mu.Lock()
	specs := map[string]Environment{}
	for name, run := range p.envs {
		if run.spec.TLS != nil && run.spec.TLS.Cert != "" {
			specs[name] = run.spec
		}
	}
	p.mu.Unlock()
	var errs []error
	loaded := map[string]*tls.Certificate{}
	for name, e := range specs {
		cert, err := p.loadCertificate(&e)
		if err != nil {
			p.log().Warn("certificate files not reloaded: the certificate served so far stays", "env", name, "err", err)
			errs = append(errs, err)
			continue
		}
		loaded[name] = cert
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	changed := false
	for name, cert := range loaded {
		run := p.envs[name]
		// An Apply in between read the files itself, for the spec it set.
		if run == nil || run.spec.TLS == nil || *run.spec.TLS != *specs[name].TLS || sameCertificate(run.cert, cert) {
			continue
		}
		run.cert, changed = cert, true
		p.log().Info("certificate files reloaded", "env", name)
	}
	if changed {
		p.serveSites(nil)
	}
	return errors.Join(errs...)
}

// WatchCertificates reloads the certificate files every interval until ctx ends.
func (p *Plane) WatchCertificates(ctx context.Context, every time.Duration) {
	repeat(ctx, every, func() { p.ReloadCertificates() })
}

// repeat calls fn every period until ctx ends.
func repeat(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func sameCertificate(a, b *tls.Certificate) bool {
	if a == nil || b == nil || len(a.Certificate) != len(b.Certificate) {
		return false
	}
	for i := range a.Certificate {
		if !bytes.Equal(a.Certificate[i], b.Certificate[i]) {
			return false
		}
	}
	return true
}
