package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
)

func TestStatusShowsCertificates(t *testing.T) {
	local := time.Local
	time.Local = time.UTC // the times are printed in the reader's zone
	t.Cleanup(func() { time.Local = local })
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	a := &app{stdout: &out}
	a.printCertificates([]*api.ProjectStatus{{Project: "shop", Environments: []api.EnvStatus{
		{Name: "staging"},
		{Name: "production", Certificates: []api.Certificate{
			{Host: "new.shop.example.com", LastError: "acme: connection refused\x1b[2J", LastErrorAt: now.Add(-time.Minute),
				NextAttempt: now.Add(time.Minute)},
			{Host: "shop.example.com", Issuer: "Pebble Intermediate-CA 1a2b", NotBefore: now.Add(-time.Hour),
				NotAfter: now.Add(89*24*time.Hour + 23*time.Hour + 30*time.Minute), NextAttempt: now.Add(59 * 24 * time.Hour)},
			{Host: "old.shop.example.com", Issuer: "R11", NotAfter: now.Add(-50 * time.Hour), LastError: "rate limited",
				LastErrorAt: now, NextAttempt: now.Add(6 * time.Hour)},
		}},
	}}}, now)
	want := "\nshop/production certificates:\n" +
		"  new.shop.example.com  no certificate yet  last error (2026-12-02 03:59:00): acme: connection refused; retry at 2026-12-02 04:01:00\n" +
		"  shop.example.com  expires in 89d 23h  issuer Pebble Intermediate-CA 1a2b\n" +
		"  old.shop.example.com  EXPIRED 2d 2h ago  issuer R11  last error (2026-12-02 04:00:00): rate limited; retry at 2026-12-02 10:00:00\n"
	if out.String() != want {
		t.Errorf("printed %q,\nwant    %q", out.String(), want)
	}
}
