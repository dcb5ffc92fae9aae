package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis/promtest"
)

// exampleAIApp is the example AI application's files, as a commit: its pipeline runs promptfoo through the
// binary promptfooBin installed instead of npx (the test machine reaches npm only to install), and its
// service listens on listen.
func exampleAIApp(t *testing.T, bin, listen string) map[string]string {
	t.Helper()
	root := filepath.Join("..", "examples", "ai-app")
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pl := files[".ferry.yaml"]
	for old, repl := range map[string]string{"npx --yes promptfoo@0.118.0": bin, "127.0.0.1:9300": listen} {
		if !strings.Contains(pl, old) {
			t.Fatalf("examples/ai-app/.ferry.yaml no longer has %q", old)
		}
		pl = strings.ReplaceAll(pl, old, repl)
	}
	files[".ferry.yaml"] = pl
	return files
}

// withFacts is the example's flags file with the prompt's facts changed: each id of wrong answers "Sorry, I am
// not sure.", and each of add is added with its answer.
func withFacts(t *testing.T, flagsFile string, wrong []string, add map[string]string) string {
	t.Helper()
	lines := strings.Split(flagsFile, "\n")
	var out []string
	for _, l := range lines {
		for _, id := range wrong {
			if prefix, _, ok := strings.Cut(l, "["+id+"] "); ok && strings.TrimSpace(prefix) == "" {
				l = prefix + "[" + id + "] Sorry, I am not sure."
			}
		}
		if strings.Contains(l, "Question [{{id}}]") {
			for _, id := range slices.Sorted(maps.Keys(add)) {
				out = append(out, "        ["+id+"] "+add[id])
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestExampleAIApp drives examples/ai-app as a team would: its golden set of 32 tagged cases, run by promptfoo
// over the prompt template its flags file serves; a prompt change that breaks three cases fails the gate with
// exactly those three, and one that fixes the two failing cases and breaks none passes.
func TestExampleAIApp(t *testing.T) {
	bin := promptfooBin(t)
	f := startFerry(t, "--sandbox-bind", filepath.Dir(filepath.Dir(filepath.Dir(bin))))
	repo := newRemote(t)
	files := exampleAIApp(t, bin, freeAddr(t))
	flagsFile := files[".ferry/flags.yaml"]
	repo.commit("main", "support assistant", files)
	f.addProject("assistant", repo.URL, "--poll", "0")

	base := f.waitRun(f.trigger("assistant"))
	if base.State != "passed" {
		t.Fatalf("baseline run %s: %s\nrun log:\n%s", base.State, base.Reason, f.mustCLI("logs", fmt.Sprint(base.ID)))
	}
	rc := f.cases(base.ID)
	if got := rc.Steps[0].Counts; got["new"] != 32 {
		t.Fatalf("baseline cases: %+v, want 32 new", rc.Steps[0])
	}

	repo.commit("main", "prompt: shorter shipping facts", map[string]string{
		".ferry/flags.yaml": withFacts(t, flagsFile, []string{"c09", "c17", "c24"}, nil)})
	bad := f.waitRun(f.trigger("assistant"))
	wantReason := "evals/golden: gate new_failures: 3 > max 0: c09, c17, c24"
	if bad.State != "failed" || bad.Reason != wantReason {
		t.Fatalf("breaking run: %s %q, want failed %q\nrun log:\n%s", bad.State, bad.Reason, wantReason, f.mustCLI("logs", fmt.Sprint(bad.ID)))
	}
	rc = f.cases(bad.ID)
	if got := withStatus(rc, "broken"); !slices.Equal(got, []string{"c09", "c17", "c24"}) {
		t.Errorf("broken cases %v, want [c09 c17 c24]", got)
	}
	show := f.mustCLI("run", "show", fmt.Sprint(bad.ID))
	if !strings.Contains(show, "FAIL (3 > max 0: c09, c17, c24)") {
		t.Errorf("ferry run show lacks the failed gate:\n%s", show)
	}

	repo.commit("main", "prompt: the socks and warranty facts", map[string]string{
		".ferry/flags.yaml": withFacts(t, flagsFile, nil, map[string]string{"c31": "Wool socks.", "c32": "Two years."})})
	good := f.waitRun(f.trigger("assistant"))
	if good.State != "passed" {
		t.Fatalf("fixing run: %s %q, want passed", good.State, good.Reason)
	}
	rc = f.cases(good.ID)
	if got := withStatus(rc, "fixed"); !slices.Equal(got, []string{"c31", "c32"}) || len(withStatus(rc, "broken")) != 0 || rc.Steps[0].BaselineRun != base.ID {
		t.Errorf("fixing run: fixed %v, broken %v against run %d; want [c31 c32], none, against run %d",
			got, withStatus(rc, "broken"), rc.Steps[0].BaselineRun, base.ID)
	}
}

// TestExampleAIAppRevertsAWorseVariant rolls out a second prompt variant of examples/ai-app whose golden set
// passes (the gate judges the default variant) but which knows fewer answers online: the app, served its
// prompt over OFREP, counts its answers per variant; a real Prometheus scrapes them, and the variant check
// of the example's production environment reverts the variant during its progressive rollout.
func TestExampleAIAppRevertsAWorseVariant(t *testing.T) {
	bin := promptfooBin(t)
	f := startFerry(t, "--sandbox-bind", filepath.Dir(filepath.Dir(filepath.Dir(bin))))
	listen := freeAddr(t)
	prom := promtest.Start(t, listen)
	repo := newRemote(t)
	f.addProject("assistant", repo.URL, "--poll", "0")
	var tc struct{ Token string }
	if err := json.Unmarshal([]byte(f.mustCLI("token", "create", "assistant-app", "--flags", "assistant/production", "--json")), &tc); err != nil {
		t.Fatal(err)
	}

	files := exampleAIApp(t, bin, listen)
	pl := files[".ferry.yaml"]
	for old, repl := range map[string]string{
		"http://127.0.0.1:9090":    prom,
		"health: {path: /healthz}": fmt.Sprintf("health: {path: /healthz}\n      env: {OFREP_URL: %q, OFREP_TOKEN: %q}", f.url(""), tc.Token),
		"interval: 5s":             "interval: 1s",
	} {
		if !strings.Contains(pl, old) {
			t.Fatalf("examples/ai-app/.ferry.yaml no longer has %q", old)
		}
		pl = strings.ReplaceAll(pl, old, repl)
	}
	files[".ferry.yaml"] = pl
	repo.commit("main", "support assistant", files)
	r1 := f.waitRun(f.trigger("assistant"))
	if r1.State != "passed" {
		t.Fatalf("run 1: %s %s", r1.State, r1.Reason)
	}
	if ro := f.waitRollout("assistant", "production", r1.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("release 1 rollout: %+v", ro)
	}

	// Users ask questions c07 to c30 all along; each request names its user, so the split is sticky.
	stop := make(chan struct{})
	done := make(chan struct{})
	var answered atomic.Int64
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			resp, err := client.Get(fmt.Sprintf("http://%s/answer?user=u%d&id=c%02d&q=question", listen, i%200, 7+i%24))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answered.Add(1)
			}
		}
	}()
	defer func() { close(stop); <-done }()

	// v2 drops the facts of c07 to c20 from the prompt: the golden set, run on the default v1, still passes.
	flagsFile := files[".ferry/flags.yaml"]
	start := strings.Index(flagsFile, "      v1: |\n")
	end := strings.Index(flagsFile, "    default: v1")
	var v2 []string
	for _, l := range strings.Split(flagsFile[start:end], "\n") {
		keep := true
		for n := 7; n <= 20; n++ {
			keep = keep && !strings.Contains(l, fmt.Sprintf("[c%02d] ", n))
		}
		if keep {
			v2 = append(v2, strings.Replace(l, "      v1: |", "      v2: |", 1))
		}
	}
	flagsFile = flagsFile[:end] + strings.Join(v2, "\n") + "    default: v1\n    progressive: {variant: v2, steps: [30%, 60%, 100%], interval: 1m}\n"
	repo.commit("main", "prompt v2: fewer facts, shorter prompt", map[string]string{".ferry/flags.yaml": flagsFile})
	r2 := f.waitRun(f.trigger("assistant"))
	if r2.State != "passed" {
		t.Fatalf("run 2: %s %s\n%s", r2.State, r2.Reason, f.mustCLI("logs", fmt.Sprint(r2.ID)))
	}
	if ro := f.waitRollout("assistant", "production", r2.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("release 2 rollout: %+v", ro)
	}
	waitFor(t, 2*time.Minute, "support-prompt's rollout of v2 to end", func() bool {
		r := f.flags("assistant", "production")["support-prompt"].Rollout
		return r != nil && r.State != "progressing"
	})
	sp := f.flags("assistant", "production")["support-prompt"]
	t.Logf("after %d answers: %+v", answered.Load(), sp.Rollout)
	if sp.Rollout.State != "reverted" || sp.Rollout.Share != 0 ||
		!strings.Contains(sp.Rollout.Reason, "support-prompt v2 ") || !strings.Contains(sp.Rollout.Reason, "under control > max_under_control 0.05") {
		t.Errorf("support-prompt's rollout %+v, want reverted by the variant check", sp.Rollout)
	}
}
