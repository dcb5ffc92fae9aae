package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

func TestFailedStepReasonHasItsLastLines(t *testing.T) {
	for _, tc := range []struct {
		name, run string
		want      string
	}{
		{"command not found", "echo building; nonexistent-cmd --flag",
			"exit status 127: sh: 1: nonexistent-cmd: not found\nlast lines of output:\n  building\n  sh: 1: nonexistent-cmd: not found"},
		{"only the last five, cut, masked, no escapes", `for i in 1 2 3 4 5 6; do echo "line $i"; done; printf '\033[31m%0250d\033[0m\n' 7; echo "token hunter2-xyz rejected" >&2; exit 2`,
			"exit status 2: token *** rejected\nlast lines of output:\n  line 4\n  line 5\n  line 6\n  " + strings.Repeat("0", tailWidth) + "…\n  token *** rejected"},
		{"silent", "exit 4", "exit status 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, rec := testJob(t, stage("test", step("unit", tc.run)))
			job.Secrets = map[string]string{"DEPLOY_KEY": "hunter2-xyz"}
			res := testEngine().Run(context.Background(), job)
			if res.State != store.RunFailed {
				t.Fatalf("run %s, want failed", res.State)
			}
			got := rec.result(t, "test/unit").Reason
			if strings.Contains(got, "hunter2") || strings.ContainsRune(got, '\x1b') {
				t.Errorf("reason leaks a secret or an escape: %q", got)
			}
			if got != tc.want {
				t.Errorf("reason\n%q\nwant\n%q", got, tc.want)
			}
			if first, _, _ := strings.Cut(tc.want, "\n"); res.Reason != "test/unit: "+got || !strings.HasPrefix(res.Reason, "test/unit: "+first) {
				t.Errorf("run reason %q", res.Reason)
			}
		})
	}
}
