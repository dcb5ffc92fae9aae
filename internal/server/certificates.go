package server

import (
	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/deploy"
)

func viewCertificate(c deploy.Certificate) api.Certificate {
	return api.Certificate{Host: c.Host, Issuer: c.Issuer, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		LastError: c.LastError, LastErrorAt: c.LastErrorAt, NextAttempt: c.NextAttempt}
}
