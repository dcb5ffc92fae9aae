package local

import (
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/edge/acme"
)

// certificates is the status of an environment's ACME certificates as the data plane reports them.
func certificates(hs []acme.HostStatus) []deploy.Certificate {
	var out []deploy.Certificate
	for _, h := range hs {
		out = append(out, deploy.Certificate{Host: h.Host, Issuer: h.Issuer, NotBefore: h.NotBefore, NotAfter: h.NotAfter,
			LastError: h.LastError, LastErrorAt: h.LastErrorAt, NextAttempt: h.NextAttempt})
	}
	return out
}
