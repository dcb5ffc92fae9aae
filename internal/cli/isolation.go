package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/sandbox"
)

// isolationFlags are how serve, dataplane and exec isolate steps and apps.
type isolationFlags struct {
	mode    string // bwrap or none
	hide    []string
	bind    []string
	shared  bool // steps share ferry's user's tool caches
	perStep bool // a sandbox per step, not one per run
}

func (f *isolationFlags) add(c *cobra.Command, def, what string) {
	c.Flags().StringVar(&f.mode, "isolation", def, "how "+what+" run: bwrap (in a sandbox that cannot reach ferry's data; needs bubblewrap) or none (as ferry's own user: only for code you trust)")
	c.Flags().StringArrayVar(&f.hide, "sandbox-hide", nil, "a folder or file the sandbox hides besides the data folder and the usual credentials (repeatable)")
	c.Flags().StringArrayVar(&f.bind, "sandbox-bind", nil, "a folder every step and app may write to, shared on purpose (repeatable; never inside the data folder)")
	c.Flags().BoolVar(&f.perStep, "sandbox-per-step", false, "start each step in a sandbox of its own rather than in one shared by its run's steps: a few ms more per step (ferry falls back to it by itself when a run's sandbox cannot start)")
}

func (f *isolationFlags) addShared(c *cobra.Command) {
	c.Flags().BoolVar(&f.shared, "shared-tool-caches", false, "steps of every project write to ferry's own user's tool caches (Go, npm, pip) instead of one cache per project: faster first builds, but one project's steps could poison another's builds; only when all projects trust each other")
}

// sharedCaches returns the tool cache folders of ferry's own user for --shared-tool-caches, made if missing;
// nil without the flag.
func (f *isolationFlags) sharedCaches() []string {
	if !f.shared {
		return nil
	}
	home, _ := os.UserHomeDir()
	userCache, _ := os.UserCacheDir()
	pick := func(env string, def ...string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		return filepath.Join(def...)
	}
	gopath := pick("GOPATH", home, "go")
	out := []string{}
	for _, d := range []string{
		pick("GOCACHE", userCache, "go-build"), pick("GOMODCACHE", gopath, "pkg", "mod"),
		pick("npm_config_cache", home, ".npm"), pick("PIP_CACHE_DIR", userCache, "pip"),
	} {
		if d != "" && filepath.IsAbs(d) && os.MkdirAll(d, 0o700) == nil {
			out = append(out, d)
		}
	}
	return out
}

// sandbox builds the sandbox for the data folder: nil for --isolation=none. With bwrap it checks once that
// isolation works here, so a server never runs steps unisolated by surprise.
func (f *isolationFlags) sandbox(dataDir string) (*sandbox.Sandbox, error) {
	switch f.mode {
	case "none":
		return nil, nil
	case "bwrap", "":
	default:
		return nil, usageError{msg: fmt.Sprintf("--isolation %q: use bwrap or none", f.mode)}
	}
	home, _ := os.UserHomeDir()
	sb := &sandbox.Sandbox{PerCommand: f.perStep}
	var hide []string
	if dataDir != "" {
		hide = append(hide, dataDir)
	}
	// The data plane gets the server's whole list back as --sandbox-hide: keep each path once, one mount each.
	seen := map[string]bool{}
	for _, h := range append(append(hide, sandbox.DefaultHidden(home)...), f.hide...) {
		if !seen[h] {
			seen[h] = true
			sb.Hide = append(sb.Hide, h)
		}
	}
	for _, b := range f.bind {
		abs, err := filepath.Abs(b)
		if err != nil {
			return nil, err
		}
		if dataDir != "" && (abs == dataDir || strings.HasPrefix(abs, dataDir+string(filepath.Separator)) ||
			strings.HasPrefix(dataDir, abs+string(filepath.Separator))) {
			return nil, usageError{msg: fmt.Sprintf("--sandbox-bind %s: it holds or is inside the data folder %s, which steps must never reach", b, dataDir)}
		}
		sb.Bind = append(sb.Bind, abs)
	}
	if err := sb.Check(); err != nil {
		return nil, fmt.Errorf("%w\n  steps and apps would run with ferry's data in reach; install bubblewrap (apt-get install bubblewrap),\n  or pass --isolation=none to run them unisolated (only for code you trust)", err)
	}
	return sb, nil
}

// args repeats the flags for a child process (the data plane).
func isolationArgs(sb *sandbox.Sandbox) []string {
	if sb == nil {
		return []string{"--isolation", "none"}
	}
	out := []string{"--isolation", "bwrap"}
	for _, h := range sb.Hide {
		out = append(out, "--sandbox-hide", h)
	}
	for _, b := range sb.Bind {
		out = append(out, "--sandbox-bind", b)
	}
	return out
}
