package dataplane

import (
	"strings"
	"testing"
	"time"
)

// waitStatus waits until the first instance's status satisfies ok, and returns it.
func waitStatus(t *testing.T, s *Set, ok func(InstanceStatus) bool) InstanceStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := s.Statuses()[0]
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance never got there: %+v", st)
		}
		select {
		case <-s.Changed():
		case <-time.After(time.Second):
		}
	}
}

func TestInstanceKeepsWhatItsHealthCheckSaw(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func() InstanceSpec
		want string
	}{
		{"status code", func() InstanceSpec { return spec("sick") }, "GET /healthz answered 500"},
		{"no such path", func() InstanceSpec { return spec("nohealth") }, "GET /healthz answered 404"},
		{"nothing listening", func() InstanceSpec { sp := spec(""); sp.Run = "echo not serving; exec sleep 60"; return sp },
			"GET /healthz: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StartSet("r1", tc.spec(), 1, "")
			t.Cleanup(func() { s.Stop(time.Second) })
			// The first checks may find nothing listening yet; then the one the test is about.
			st := waitStatus(t, s, func(st InstanceStatus) bool { return st.LastProbe == tc.want })
			if st.State != InstanceStarting {
				t.Errorf("status %+v", st)
			}
		})
	}
}

func TestExitedInstanceKeepsItsLastLines(t *testing.T) {
	sp := spec("")
	sp.Run = `for i in 1 2 3 4 5 6 7; do echo "line $i"; done; printf '%0300d\n' 0 >&2; echo "boom: no config" >&2; exit 1`
	sp.MinBackoff = time.Minute
	s := StartSet("r1", sp, 1, "")
	t.Cleanup(func() { s.Stop(time.Second) })
	st := waitStatus(t, s, func(st InstanceStatus) bool { return st.State == InstanceExited })
	if st.LastExit != "exit status 1" {
		t.Errorf("last exit %q", st.LastExit)
	}
	want := []string{"line 5", "line 6", "line 7", strings.Repeat("0", tailWidth), "boom: no config"}
	if strings.Join(st.LastOutput, "\n") != strings.Join(want, "\n") {
		t.Errorf("last output %q, want %q", st.LastOutput, want)
	}
}

func TestTailKeepsLastLinesAcrossWrites(t *testing.T) {
	var tl tail
	for _, w := range []string{"a\nb", "c\n\n", "d\r\ne\nf\ng", "h\npartial é"} {
		tl.Write([]byte(w))
	}
	if got, want := strings.Join(tl.Lines(), "|"), "d|e|f|gh|partial é"; got != want {
		t.Errorf("lines %q, want %q", got, want)
	}
}
