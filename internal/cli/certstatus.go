package cli

import (
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
)

// printCertificates lists, under `ferry status`'s table, the ACME certificate of each host of each
// environment, one line each: when it expires, who issued it and why the last attempt to obtain it failed (the
// certificate served so far is kept then) and when it is tried again.
func (a *app) printCertificates(all []*api.ProjectStatus, now time.Time) {
	for _, st := range all {
		for _, e := range st.Environments {
			if len(e.Certificates) == 0 {
				continue
			}
			fmt.Fprintf(a.stdout, "\n%s/%s certificates:\n", st.Project, e.Name)
			for _, c := range e.Certificates {
				fmt.Fprintf(a.stdout, "  %s  %s", stripEscapes(c.Host), expiresText(c.NotAfter, now))
				if c.Issuer != "" {
					fmt.Fprintf(a.stdout, "  issuer %s", stripEscapes(c.Issuer))
				}
				if c.LastError != "" {
					fmt.Fprintf(a.stdout, "  last error (%s): %s; retry at %s", c.LastErrorAt.Local().Format(time.DateTime),
						stripEscapes(c.LastError), c.NextAttempt.Local().Format(time.DateTime))
				}
				fmt.Fprintln(a.stdout)
			}
		}
	}
}

// expiresText says when a certificate expires, in days and hours from now: "expires in 89d 23h".
func expiresText(notAfter, now time.Time) string {
	if notAfter.IsZero() {
		return "no certificate yet"
	}
	d := notAfter.Sub(now)
	if d <= 0 {
		return "EXPIRED " + dayHours(-d) + " ago"
	}
	return "expires in " + dayHours(d)
}

func dayHours(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}
