package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
)

func TestStatusShowsDriftOpenAndHealed(t *testing.T) {
	local := time.Local
	time.Local = time.UTC // the times are printed in the reader's zone
	t.Cleanup(func() { time.Local = local })
	var out bytes.Buffer
	a := &app{stdout: &out}
	seen := time.Date(2026, 12, 2, 4, 5, 6, 0, time.UTC)
	a.printDrift([]*api.ProjectStatus{{Project: "shop", Environments: []api.EnvStatus{
		{Name: "staging"},
		{Name: "production", Drift: []api.Drift{
			{Release: "3", What: "deployment shop-r3 was changed behind ferry's back by kubectl-edit (spec.template)", Since: seen, Healed: true},
			{What: "service shop was deleted behind ferry's back\x1b[2J", Since: seen.Add(time.Minute)},
		}},
	}}})
	want := "\nshop/production drift:\n" +
		"  healed 2026-12-02 04:05:06  deployment shop-r3 was changed behind ferry's back by kubectl-edit (spec.template)\n" +
		"  OPEN   2026-12-02 04:06:06  service shop was deleted behind ferry's back\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}
