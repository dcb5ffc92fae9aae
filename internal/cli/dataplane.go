package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/dataplane"
)

func (a *app) dataplaneCommand() *cobra.Command {
	var data string
	c := &cobra.Command{
		Use:   "dataplane",
		Short: "Run the data plane: environment proxies and release instances, steered over a Unix socket",
		Long: `Run the data plane for the data folder: every environment's proxy listener and the instances of every
release that runs. It keeps serving while ferry serve restarts; the server steers it through the socket
DATA/dataplane.sock (owner-only) and it restores the last desired state it was given when it starts.
Stopping it (SIGINT, SIGTERM) stops the instances.`,
		Args: maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			abs, err := filepath.Abs(data)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(abs, 0o755); err != nil {
				return err
			}
			l, err := dataplane.Listen(filepath.Join(abs, "dataplane.sock"))
			if err != nil {
				return err
			}
			plane := &dataplane.Plane{DataDir: abs, Logger: logger}
			if err := plane.Restore(); err != nil {
				logger.Error("restore desired state", "err", err)
			}
			ctx, stop := context.WithCancel(c.Context())
			defer stop()
			hs := &http.Server{Handler: plane.Handler(stop), ReadHeaderTimeout: 10 * time.Second}
			go hs.Serve(l)
			fmt.Fprintf(a.stdout, "ferry: data plane serving %s\n", l.Addr())
			<-ctx.Done()
			shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hs.Shutdown(shutCtx)
			plane.Close()
			return nil
		},
	}
	c.Flags().StringVar(&data, "data", ".ferry-data", "data folder (the same as ferry serve's)")
	return c
}
