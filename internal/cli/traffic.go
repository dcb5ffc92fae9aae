package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
)

// trafficCommand is `ferry traffic pause|stop|resume`: maintenance and draining of an environment's proxy.
func (a *app) trafficCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "traffic",
		Short: "Pause, stop (maintenance page) or resume an environment's traffic at ferry's proxy",
		Long: `Pause, stop or resume the traffic of an environment of the local target. Requests in flight always
finish. Paused, new requests wait until resumed (up to --timeout, then 503). Stopped, new requests get a 503
with --message and Retry-After. The mode is kept by the data plane across restarts and deploys, is audited,
and shows in ferry status.`,
	}
	for _, action := range []struct{ name, short string }{
		{"pause", "Hold new requests until resume (up to --timeout, then 503); requests in flight finish"},
		{"stop", "Answer new requests with a 503 maintenance page (--message) and Retry-After"},
		{"resume", "Serve again: waiting requests proceed"},
	} {
		var message string
		var timeout time.Duration
		sc := &cobra.Command{
			Use:   action.name + " PROJECT/ENV",
			Short: action.short,
			Args:  rangeArgs(1, 2, "PROJECT/ENV (or PROJECT ENV)"),
			RunE: func(c *cobra.Command, args []string) error {
				project, env, err := projectEnv(args)
				if err != nil {
					return err
				}
				if timeout%time.Millisecond != 0 {
					return usageError{msg: fmt.Sprintf("--timeout %v: give whole milliseconds", timeout)}
				}
				cl, err := a.client()
				if err != nil {
					return err
				}
				tr, err := cl.SetTraffic(c.Context(), project, env, api.TrafficRequest{Action: action.name, Message: message, TimeoutMS: timeout.Milliseconds()})
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(tr)
				}
				fmt.Fprintf(a.stdout, "%s/%s: traffic %s\n", project, env, trafficText(tr))
				return nil
			},
		}
		switch action.name {
		case "pause":
			sc.Flags().DurationVar(&timeout, "timeout", 0, "how long a request waits before it gets 503 (default 30s, at most 10m)")
			sc.Flags().StringVar(&message, "message", "", "body of the 503 after the timeout")
		case "stop":
			sc.Flags().StringVar(&message, "message", "", "maintenance page: plain text, or HTML when it starts with <")
		}
		a.addJSON(sc)
		c.AddCommand(sc)
	}
	return c
}

// projectEnv reads PROJECT/ENV, or PROJECT ENV.
func projectEnv(args []string) (string, string, error) {
	if len(args) == 2 {
		return args[0], args[1], nil
	}
	p, e, ok := strings.Cut(args[0], "/")
	if !ok || p == "" || e == "" {
		return "", "", usageError{msg: fmt.Sprintf("%q: name the environment as PROJECT/ENV, like shop/production", args[0])}
	}
	return p, e, nil
}

func rangeArgs(lo, hi int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError{msg: fmt.Sprintf("%s needs %s (see %s --help)", c.CommandPath(), names, c.CommandPath())}
		}
		return nil
	}
}

func trafficText(t *api.Traffic) string {
	s := t.Mode
	if t.Mode == "paused" {
		ms := t.TimeoutMS
		if ms == 0 {
			ms = 30000 // the proxy's default
		}
		s += fmt.Sprintf(" (requests wait up to %v)", time.Duration(ms)*time.Millisecond)
	}
	if t.Message != "" {
		first, _, _ := strings.Cut(t.Message, "\n")
		if len(first) > 60 {
			first = first[:60] + "…"
		}
		s += fmt.Sprintf(": %q", first)
	}
	return s
}

// printTraffic says, under `ferry status`'s table, which environments are paused or stopped.
func (a *app) printTraffic(all []*api.ProjectStatus) {
	for _, st := range all {
		for _, e := range st.Environments {
			if e.Traffic != nil && e.Traffic.Mode != "" && e.Traffic.Mode != "serving" {
				fmt.Fprintf(a.stdout, "\n%s/%s traffic %s (ferry traffic resume %s/%s)\n", st.Project, e.Name, stripEscapes(trafficText(e.Traffic)), st.Project, e.Name)
			}
		}
	}
}
