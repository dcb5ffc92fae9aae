// Package pebbletest starts a real ACME server for tests: pebble, Let's Encrypt's test CA, with
// pebble-challtestsrv as its DNS, which resolves every name to 127.0.0.1. Both are built from the Go module
// proxy by scripts/pebble-binaries.sh and found through FERRY_PEBBLE_BIN; without them a test fails (never
// skips) with the command that builds them.
//
// It imports nothing of ferry's.
package pebbletest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Version is the pebble that scripts/pebble-binaries.sh builds; keep the two in step.
const Version = "v2.10.3"

// Options say where pebble validates and what it issues.
type Options struct {
	// HTTPPort and TLSPort are the ports on 127.0.0.1 where pebble's validation authority sends HTTP-01 and
	// TLS-ALPN-01 checks: the test's own listeners. Zero leaves that challenge with nowhere to go.
	HTTPPort, TLSPort int
	// Validity is the lifetime of the certificates issued; zero is pebble's 90 days.
	Validity time.Duration
	// AlwaysValid makes pebble accept every challenge without checking it (PEBBLE_VA_ALWAYS_VALID).
	AlwaysValid bool
}

// Server is a running pebble.
type Server struct {
	// Directory is the ACME directory URL.
	Directory string
	// DirectoryRoots trusts the certificate pebble serves its API with (made by Start).
	DirectoryRoots *x509.CertPool
	// DirectoryRootPEM is the same root as PEM, for a CA-root file flag.
	DirectoryRootPEM []byte
	// IssuerRoots trusts the certificates pebble issues: its root, fetched from its management port.
	IssuerRoots *x509.CertPool

	dir   string
	procs []*exec.Cmd
}

// Bin returns the folder holding pebble and pebble-challtestsrv: FERRY_PEBBLE_BIN, else the folder the
// script caches them in for this Go version.
func Bin() (string, error) {
	dir := os.Getenv("FERRY_PEBBLE_BIN")
	if dir == "" {
		home, _ := os.UserHomeDir()
		root := os.Getenv("FERRY_PEBBLE_CACHE")
		if root == "" {
			root = filepath.Join(home, ".cache", "ferry-pebble")
		}
		dir = filepath.Join(root, "pebble-"+Version+"_"+runtime.Version())
	}
	for _, b := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("pebble binaries: %s has no %s; build them from the Go module proxy with "+
				`export FERRY_PEBBLE_BIN="$(scripts/pebble-binaries.sh)" (or make test)`, dir, b)
		}
	}
	return dir, nil
}

// Start starts pebble and its DNS for the test; they stop when it ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin, err := Bin()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: t.TempDir()}
	t.Cleanup(s.Stop)
	certFile, keyFile, rootPEM, err := s.selfCert()
	if err != nil {
		t.Fatal(err)
	}
	s.DirectoryRootPEM = rootPEM
	s.DirectoryRoots = x509.NewCertPool()
	s.DirectoryRoots.AppendCertsFromPEM(rootPEM)

	dnsAddr, dnsMgmt, listen, mgmt := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	s.start(t, bin, "pebble-challtestsrv", nil, "-dnsserver", dnsAddr, "-management", dnsMgmt,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")

	profile := map[string]any{"description": "ferry's tests"}
	if o.Validity > 0 {
		profile["validityPeriod"] = int(o.Validity / time.Second)
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": certFile, "privateKey": keyFile,
		"httpPort": o.HTTPPort, "tlsPort": o.TLSPort,
		"keyAlgorithm": "ecdsa",
		"retryAfter":   map[string]int{"authz": 1, "order": 1},
		"profiles":     map[string]any{"default": profile},
	}}
	data, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(s.dir, "pebble.json")
	if err := os.WriteFile(cfgFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"}
	if o.AlwaysValid {
		env = append(env, "PEBBLE_VA_ALWAYS_VALID=1")
	}
	s.start(t, bin, "pebble", env, "-config", cfgFile, "-dnsserver", dnsAddr)

	s.Directory = "https://" + listen + "/dir"
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.DirectoryRoots}}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(s.Directory)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not answer %s within a minute: %v\n%s", s.Directory, err, s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := client.Get("https://" + mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble's root: %v", err)
	}
	root, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.IssuerRoots = x509.NewCertPool()
	if !s.IssuerRoots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble's root is not PEM: %q", root)
	}
	return s
}

// Stop ends pebble and its DNS: from then on the CA is unreachable. It may be called more than once.
func (s *Server) Stop() {
	for _, c := range s.procs {
		if c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	s.procs = nil
}

func (s *Server) start(t testing.TB, bin, name string, env []string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(s.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	c := exec.Command(filepath.Join(bin, name), args...)
	c.Env = append(os.Environ(), env...)
	c.Stdout, c.Stderr = log, log
	// The server dies with the test binary, even when that is killed.
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	s.procs = append(s.procs, c)
}

// logs returns the end of each server's log, for a failure message.
func (s *Server) logs() string {
	var b bytes.Buffer
	for _, name := range []string{"pebble-challtestsrv", "pebble"} {
		data, _ := os.ReadFile(filepath.Join(s.dir, name+".log"))
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s.log\n%s\n", name, data)
	}
	return b.String()
}

// Logs returns the end of pebble's logs, for a test that failed.
func (s *Server) Logs() string { return s.logs() }

// selfCert makes a root and a certificate for 127.0.0.1 signed by it, which pebble serves its API with.
func (s *Server) selfCert() (certFile, keyFile string, rootPEM []byte, err error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebbletest root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return "", "", nil, err
	}
	root, _ := x509.ParseCertificate(rootDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		return "", "", nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(s.dir, "api.pem"), filepath.Join(s.dir, "api.key")
	rootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", nil, err
	}
	return certFile, keyFile, rootPEM, nil
}

// freeAddr returns a free address on 127.0.0.1.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
