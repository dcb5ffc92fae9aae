package e2e

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
