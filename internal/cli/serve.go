package cli

import (
	"fmt"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/controlplane"
	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/retention"
	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/sandbox"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
	"github.com/ferry-cd/ferry/internal/ui"
)

func (a *app) serveCommand() *cobra.Command {
	var listen, data string
	var keep bool
	var healthTimeout, readTimeout, idleTimeout time.Duration
	runLogLimit := sizeFlag(runs.DefaultLogLimit)
	var logs logFlags
	var iso isolationFlags
	var hooks, slacks, checkHosts []string
	var notifySecret, kubeconfig, acmeCARoot string
	keepReleases := retention.DefaultKeep
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the ferry server: API, webhooks, pollers and the run scheduler",
		Long: `Run the ferry server with its embedded SQLite database in --data. On first start it creates an admin
API token and prints it once; only its hash is stored. Runs a previous server left running are ended as
"error: interrupted by server restart" and their processes killed; the commit of a run interrupted by a
restart or a shutdown is queued again once ("retry of run N after restart"). One server per data folder: a
second one refuses to start and names the first one's pid. Steps and release instances run in a bubblewrap
sandbox that cannot reach the data folder (--isolation).`,
		Args: maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if notifySecret == "" {
				notifySecret = os.Getenv("FERRY_NOTIFY_SECRET")
			}
			logger, err := logs.newLogger(a.stderr)
			if err != nil {
				return err
			}
			var sinks []notify.Sink
			for _, u := range hooks {
				sinks = append(sinks, notify.Sink{Kind: "webhook", URL: u})
			}
			for _, u := range slacks {
				sinks = append(sinks, notify.Sink{Kind: "slack", URL: u})
			}
			abs, err := filepath.Abs(data)
			if err != nil {
				return err
			}
			sb, err := iso.sandbox(abs)
			if err != nil {
				return err
			}
			if sb != nil && os.Getuid() == 0 {
				logger.Warn("ferry runs as root: steps and apps run as nobody in their sandbox but keep root's read access to files outside the hidden folders; run ferry as its own user")
			}
			acmeArgs, err := acmeCARootArgs(acmeCARoot)
			if err != nil {
				return err
			}
			srv, closeAll, err := openServer(data, logger, serverOptions{keep: keep, healthTimeout: healthTimeout, notify: sinks,
				notifySecret: notifySecret, sandbox: sb, sharedCaches: iso.sharedCaches(), dataPlaneArgs: acmeArgs,
				readTimeout: readTimeout, idleTimeout: idleTimeout, allowCheckHosts: checkHosts, runLogLimit: int64(runLogLimit),
				keepReleases: keepReleases, kubernetes: kubernetesConfig(kubeconfig, logger)})
			if err != nil {
				return err
			}
			defer closeAll()
			// Listen before creating the first admin token: a start that cannot serve must not leave behind a
			// token nobody will ever use, which would stop the next start from printing one.
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			defer l.Close()
			tok, err := srv.EnsureAdminToken(c.Context())
			if err != nil {
				return err
			}
			if tok != "" {
				fmt.Fprintf(a.stdout, "ferry: admin token (shown once; only its hash is stored):\n  export FERRY_TOKEN=%s\n", tok)
			}
			if err := srv.Start(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "ferry: serving on http://%s (dashboard on http://%s/ui/, data in %s)\n", l.Addr(), l.Addr(), data)
			if f, ok := a.stdout.(*os.File); ok {
				f.Sync()
			}
			h, err := ui.Mount(srv.Handler(), logger)
			if err != nil {
				return err
			}
			return srv.Serve(c.Context(), l, h)
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	c.Flags().StringVar(&data, "data", ".ferry-data", "folder for the database, logs, mirrors and artifacts")
	c.Flags().BoolVar(&keep, "keep-workspaces", false, "keep each run's checkout after it ends")
	c.Flags().StringArrayVar(&hooks, "notify-webhook", nil, "send events as signed JSON to this URL (repeatable)")
	c.Flags().StringArrayVar(&slacks, "notify-slack", nil, "send events to this Slack-compatible incoming webhook (repeatable)")
	c.Flags().StringVar(&notifySecret, "notify-secret", "", "HMAC-SHA256 key for X-Ferry-Signature-256 (default $FERRY_NOTIFY_SECRET; never printed)")
	c.Flags().StringArrayVar(&checkHosts, "allow-check-host", nil, "a host name, IP address or CIDR prefix that a pipeline's http and prometheus checks may reach besides loopback (repeatable)")
	iso.add(c, "bwrap", "steps and release instances")
	iso.addShared(c)
	c.Flags().StringVar(&logs.format, "log-format", "text", "log format: text or json")
	c.Flags().StringVar(&logs.level, "log-level", "info", "log level: debug, info, warn or error")
	c.Flags().DurationVar(&healthTimeout, "health-timeout", 2*time.Minute, "how long a new release may take to become healthy before its rollout fails")
	c.Flags().DurationVar(&readTimeout, "read-timeout", 30*time.Second, "how long a client may take to send a request with its body")
	c.Flags().DurationVar(&idleTimeout, "idle-timeout", 2*time.Minute, "how long a keep-alive connection may wait for its next request")
	c.Flags().IntVar(&keepReleases, "keep-releases", retention.DefaultKeep, "releases kept beyond each environment's live and previous one (the newest of each project and environment); older ones lose their files, blobs and app logs; 0 keeps everything")
	c.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the clusters kubernetes environments deploy to (default: in-cluster credentials when ferry runs in a pod; none otherwise)")
	c.Flags().StringVar(&acmeCARoot, "acme-ca-root", "", "PEM file of extra roots trusted for ACME directories (a test CA such as pebble), passed on to the data plane serve starts; the system's roots are always trusted")
	c.Flags().Var(&runLogLimit, "run-log-limit", "step output kept in one run's log (KiB, MiB, GiB); past it the log says it was cut")
	return c
}

// keepReleases turns --keep-releases into controlplane.Config.KeepReleases, where 0 is the default and a
// negative number keeps everything.
func keepReleases(flag int) int {
	if flag <= 0 {
		return -1
	}
	return flag
}

// serverOptions are the settings of openServer beyond the data folder.
type serverOptions struct {
	keep          bool
	healthTimeout time.Duration
	notify        []notify.Sink
	notifySecret  string
	sandbox       *sandbox.Sandbox
	sharedCaches  []string
	readTimeout   time.Duration
	idleTimeout   time.Duration
	runLogLimit   int64
	// keepReleases is --keep-releases: 0 keeps every release.
	keepReleases int
	// allowCheckHosts are what --allow-check-host gave: hosts checks may reach besides loopback.
	allowCheckHosts []string
	// kubernetes is the Kubernetes target's configuration; nil without a cluster.
	kubernetes *kubernetes.Config
	// dataPlaneArgs are more arguments of the data plane the server starts (--acme-ca-root).
	dataPlaneArgs []string
}

// kubernetesConfig is the Kubernetes target's configuration: the kubeconfig given, else the pod's
// service account when ferry runs in a cluster, else none (kubernetes environments are then refused with
// the way to give one). The kubeconfig's contents are never logged.
func kubernetesConfig(kubeconfig string, logger *slog.Logger) *kubernetes.Config {
	if kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil
	}
	return &kubernetes.Config{Kubeconfig: kubeconfig, Logger: logger}
}

// openServer opens the store in dataDir and builds the control plane on it; closeAll stops it and the store.
func openServer(dataDir string, logger *slog.Logger, o serverOptions) (*controlplane.ControlPlane, func(), error) {
	// Everything the server writes (database, logs, checkouts, blobs) is its own user's alone.
	syscall.Umask(0o077)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data folder: %w", err)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, nil, err
	}
	// Held until closeAll: before anything in the folder is opened, so a second server changes nothing.
	unlock, err := controlplane.LockDataDir(abs)
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlite.Open(filepath.Join(abs, "ferry.db"))
	if err != nil {
		unlock()
		return nil, nil, err
	}
	srv, err := controlplane.Open(controlplane.Config{DataDir: abs, Store: db, Logger: logger, KeepWorkspaces: o.keep,
		HealthTimeout: o.healthTimeout, Notify: o.notify, NotifySecret: o.notifySecret,
		Sandbox: o.sandbox, SharedCaches: o.sharedCaches, DataPlaneArgs: append(isolationArgs(o.sandbox), o.dataPlaneArgs...),
		ReadTimeout: o.readTimeout, IdleTimeout: o.idleTimeout, AllowCheckHosts: o.allowCheckHosts, RunLogLimit: o.runLogLimit,
		KeepReleases: keepReleases(o.keepReleases), Kubernetes: o.kubernetes})
	if err != nil {
		db.Close()
		unlock()
		return nil, nil, err
	}
	return srv, func() {
		done := make(chan struct{})
		go func() { srv.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			logger.Warn("runs did not stop in time")
		}
		db.Close()
		unlock()
	}, nil
}
