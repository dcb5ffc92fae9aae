package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveOnce runs `ferry serve` with args until it exits or timeout passes (then it is stopped) and returns its
// output and exit code. For starts that must fail.
func serveOnce(t *testing.T, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(ferryBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "FERRY_TOKEN=", "FERRY_SERVER=")
	var out, errOut lockedWriter
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("ferry serve %v still running after %s:\n%s%s", args, timeout, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

const slowPipeline = `version: 1
stages:
  - name: build
    steps:
      - name: slow
        run: |
          sleep 3
          echo slow done
`

// A second server on the same data folder would end the first one's runs as "interrupted by server restart"
// and kill their processes. It must refuse to start, name the holder, and change nothing.
func TestSecondServerOnSameDataFolderRefuses(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "slow", map[string]string{".ferry.yaml": slowPipeline})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	waitFor(t, 30*time.Second, "the step to start", func() bool { return f.getRun(id).step("build/slow").State == "running" })

	_, errOut, code := serveOnce(t, 30*time.Second, "--data", f.data, "--listen", "127.0.0.1:0")
	want := fmt.Sprintf("is in use by ferry serve (pid %d)", f.cmd.Process.Pid)
	if code == 0 || !strings.Contains(errOut, "data folder "+f.data) || !strings.Contains(errOut, want) {
		t.Fatalf("second serve on the same data folder: exit %d\n%s\nwant non-zero exit and %q", code, errOut, want)
	}
	if r := f.waitRun(id); r.State != "passed" {
		t.Fatalf("the first server's run ended %s: %s", r.State, r.Reason)
	}
}

// A first start that cannot listen must not create the admin token: nobody could use it (it was printed by a
// start that failed, if at all), and its existence would keep the next start from printing one.
func TestFailedFirstStartCreatesNoAdminToken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	data := filepath.Join(t.TempDir(), "data")
	out, errOut, code := serveOnce(t, 30*time.Second, "--data", data, "--listen", taken.Addr().String())
	if code == 0 || !strings.Contains(errOut, "address already in use") {
		t.Fatalf("serve on a taken port: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "FERRY_TOKEN=") {
		t.Errorf("a start that failed printed an admin token:\n%s", out)
	}
	// The next start on a free port prints the admin token (startFerry fails the test if it does not).
	f := &ferry{t: t, data: data}
	f.start()
	t.Cleanup(f.stop)
	f.mustCLI("project", "list")
}

type tokenView struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Project   string `json:"project"`
	Env       string `json:"env"`
	CreatedAt string `json:"created_at"`
}

// Tokens can be listed (never their value) and revoked, by admins only; names are unique; a revoked token
// authenticates nothing; the last admin token cannot be revoked; each change is in the audit log.
func TestTokensListRevokeAndUniqueNames(t *testing.T) {
	f := startFerry(t)
	var ci, reader struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(f.mustCLI("token", "create", "ci", "--json")), &ci); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(f.mustCLI("token", "create", "reader", "--read-only", "--json")), &reader); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := f.cli("", "token", "create", "ci")
	if code == 0 || !strings.Contains(errOut, "token ci already exists") || !strings.Contains(errOut, "HTTP 409") {
		t.Errorf("a second token named ci: exit %d %s, want 409 saying it exists", code, errOut)
	}

	out := f.mustCLI("token", "list", "--json")
	var list []tokenView
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("token list --json %q: %v", out, err)
	}
	var names []string
	for _, tv := range list {
		names = append(names, tv.Name+"/"+tv.Role)
		if tv.CreatedAt == "" {
			t.Errorf("token %s has no creation time", tv.Name)
		}
	}
	if got := strings.Join(names, " "); got != "admin/admin ci/admin reader/read" {
		t.Errorf("token list = %s", got)
	}
	text := f.mustCLI("token", "list")
	for _, secret := range []string{f.token, ci.Token, reader.Token} {
		if strings.Contains(out+text, secret) {
			t.Errorf("token list shows a token's value")
		}
	}

	// A read token sees everything else, but not the list of who can act, and revokes nothing.
	ro := *f
	ro.token = reader.Token
	if _, errOut, code := ro.cli("", "token", "list"); code == 0 || !strings.Contains(errOut, "HTTP 403") {
		t.Errorf("read token lists tokens: exit %d %s", code, errOut)
	}
	if _, errOut, code := ro.cli("", "token", "revoke", "ci"); code == 0 || !strings.Contains(errOut, "HTTP 403") {
		t.Errorf("read token revokes: exit %d %s", code, errOut)
	}

	f.mustCLI("token", "revoke", "ci")
	revoked := *f
	revoked.token = ci.Token
	if _, errOut, code := revoked.cli("", "project", "list"); code == 0 || !strings.Contains(errOut, "HTTP 401") {
		t.Errorf("revoked token still works: exit %d %s", code, errOut)
	}
	if _, errOut, code := f.cli("", "token", "revoke", "ci"); code == 0 || !strings.Contains(errOut, "HTTP 404") {
		t.Errorf("revoke twice: exit %d %s", code, errOut)
	}
	if _, errOut, code := f.cli("", "token", "revoke", "admin"); code == 0 || !strings.Contains(errOut, "last admin token") {
		t.Errorf("revoking the last admin token: exit %d %s", code, errOut)
	}
	f.mustCLI("project", "list") // the admin token still works
	if audit := f.mustCLI("audit"); !strings.Contains(audit, "token.revoke") {
		t.Errorf("audit does not show the revocation:\n%s", audit)
	}
}

// --help prints flag defaults; a credential taken from the environment must not be one of them.
func TestHelpNeverPrintsTheTokenFromTheEnvironment(t *testing.T) {
	const secret = "ferry_tok_5ecret-value-from-env"
	for _, args := range [][]string{{"--help"}, {"project", "list", "--help"}, {"token", "list", "--help"}, {"serve", "--help"}} {
		cmd := exec.Command(ferryBin, args...)
		cmd.Env = append(os.Environ(), "FERRY_TOKEN="+secret, "FERRY_NOTIFY_SECRET="+secret)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ferry %v: %v\n%s", args, err, out)
		}
		if strings.Contains(string(out), secret) {
			t.Errorf("ferry %s prints the secret from the environment:\n%s", strings.Join(args, " "), out)
		}
	}
	// The token from the environment still works as the default.
	f := startFerry(t)
	cmd := exec.Command(ferryBin, "project", "list", "--server", "http://"+f.addr)
	cmd.Env = append(os.Environ(), "FERRY_TOKEN="+f.token)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("project list with FERRY_TOKEN: %v\n%s", err, out)
	}
}
