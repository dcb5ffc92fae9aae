package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// promptfooVersion is the newest promptfoo that runs on Node 20, which Debian's packages give.
const promptfooVersion = "0.118.0"

var promptfoo struct {
	once sync.Once
	dir  string // holds node_modules; removed at the end of the package's run unless given
	own  bool   // the folder was made by this run
	bin  string
	err  error
}

// promptfooBin installs promptfoo from npm once per run of the package's tests, into one temporary folder the
// tests share (the install and the build of its SQLite module take minutes), and returns its command's path.
// FERRY_E2E_PROMPTFOO names a folder that already holds the install, to skip it while developing.
func promptfooBin(t *testing.T) string {
	t.Helper()
	promptfoo.once.Do(func() {
		if dir := os.Getenv("FERRY_E2E_PROMPTFOO"); dir != "" {
			promptfoo.dir, promptfoo.bin = dir, filepath.Join(dir, "node_modules", ".bin", "promptfoo")
			return
		}
		for _, tool := range []string{"node", "npm", "make", "g++", "python3"} {
			if _, err := exec.LookPath(tool); err != nil {
				promptfoo.err = fmt.Errorf("%s is missing: the evaluation tests install promptfoo from npm and build its SQLite module "+
					"(apt-get install nodejs npm make g++ python3; .ci/run installs them)", tool)
				return
			}
		}
		dir, err := os.MkdirTemp("", "ferry-e2e-promptfoo-")
		if err != nil {
			promptfoo.err = err
			return
		}
		promptfoo.dir, promptfoo.own = dir, true
		for _, args := range [][]string{
			// --ignore-scripts: its install scripts download browsers and prebuilt binaries, which this machine cannot.
			{"install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", "promptfoo@" + promptfooVersion},
			// The SQLite module promptfoo loads at start is built against the system's Node headers.
			{"rebuild", "better-sqlite3", "--nodedir=/usr", "--loglevel=error"},
		} {
			cmd := exec.Command("npm", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "JOBS=max", "npm_config_cache="+filepath.Join(dir, ".npm"))
			if out, err := cmd.CombinedOutput(); err != nil {
				promptfoo.err = fmt.Errorf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		promptfoo.bin = filepath.Join(dir, "node_modules", ".bin", "promptfoo")
	})
	if promptfoo.err != nil {
		t.Fatal(promptfoo.err)
	}
	return promptfoo.bin
}

// removePromptfoo removes the folder promptfooBin installed into; TestMain calls it after the tests.
func removePromptfoo() {
	if promptfoo.own {
		os.RemoveAll(promptfoo.dir)
	}
}
