package cli

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/server"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
	"github.com/ferry-cd/ferry/internal/ui"
)

func (a *app) serveCommand() *cobra.Command {
	var listen, data string
	var keep bool
	var healthTimeout time.Duration
	runLogLimit := sizeFlag(server.DefaultRunLogLimit)
	var logs logFlags
	var hooks, slacks []string
	notifySecret := os.Getenv("FERRY_NOTIFY_SECRET")
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the ferry server: API, webhooks, pollers and the run scheduler",
		Long: `Run the ferry server with its embedded SQLite database in --data. On first start it creates an admin
API token and prints it once; only its hash is stored. Runs a previous server left running are ended as
"error: interrupted by server restart" and their processes killed; the commit of a run interrupted by a
restart or a shutdown is queued again once ("retry of run N after restart").`,
		Args: maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
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
			srv, closeAll, err := openServer(data, logger, serverOptions{keep: keep, healthTimeout: healthTimeout, notify: sinks, notifySecret: notifySecret,
				runLogLimit: int64(runLogLimit)})
			if err != nil {
				return err
			}
			defer closeAll()
			tok, err := srv.EnsureAdminToken(c.Context())
			if err != nil {
				return err
			}
			if tok != "" {
				fmt.Fprintf(a.stdout, "ferry: admin token (shown once; only its hash is stored):\n  export FERRY_TOKEN=%s\n", tok)
			}
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return err
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
	c.Flags().StringVar(&notifySecret, "notify-secret", notifySecret, "HMAC-SHA256 key for X-Ferry-Signature-256 (env FERRY_NOTIFY_SECRET)")
	c.Flags().StringVar(&logs.format, "log-format", "text", "log format: text or json")
	c.Flags().StringVar(&logs.level, "log-level", "info", "log level: debug, info, warn or error")
	c.Flags().DurationVar(&healthTimeout, "health-timeout", 2*time.Minute, "how long a new release may take to become healthy before its rollout fails")
	c.Flags().Var(&runLogLimit, "run-log-limit", "step output kept in one run's log (KiB, MiB, GiB); past it the log says it was cut")
	return c
}

// openServer opens the store in dataDir and builds a server on it; closeAll stops the server and the store.
// serverOptions are the settings of openServer beyond the data folder.
type serverOptions struct {
	keep          bool
	healthTimeout time.Duration
	notify        []notify.Sink
	notifySecret  string
	runLogLimit   int64
}

func openServer(dataDir string, logger *slog.Logger, o serverOptions) (*server.Server, func(), error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create data folder: %w", err)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlite.Open(filepath.Join(abs, "ferry.db"))
	if err != nil {
		return nil, nil, err
	}
	srv, err := server.New(server.Config{DataDir: abs, Store: db, Logger: logger, KeepWorkspaces: o.keep,
		HealthTimeout: o.healthTimeout, Notify: o.notify, NotifySecret: o.notifySecret, RunLogLimit: o.runLogLimit})
	if err != nil {
		db.Close()
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
	}, nil
}
