package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/dataplane"
)

func (a *app) dataplaneCommand() *cobra.Command {
	var data string
	var logs logFlags
	var iso isolationFlags
	var acmeCARoot string
	c := &cobra.Command{
		Use:   "dataplane",
		Short: "Run the data plane: environment proxies and release instances, steered over a Unix socket",
		Long: `Run the data plane for the data folder: every environment's proxy listener and the instances of every
release that runs. It keeps serving while ferry serve restarts; the server steers it through the socket
DATA/dataplane.sock (owner-only) and it restores the last desired state it was given when it starts.
Stopping it (SIGINT, SIGTERM) stops the instances.`,
		Args: maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			logger, err := logs.newLogger(a.stderr)
			if err != nil {
				return err
			}
			abs, err := filepath.Abs(data)
			if err != nil {
				return err
			}
			syscall.Umask(0o077) // instance logs and saved state are the data plane's user's alone
			if err := os.MkdirAll(abs, 0o700); err != nil {
				return err
			}
			sb, err := iso.sandbox(abs)
			if err != nil {
				return err
			}
			l, err := dataplane.Listen(filepath.Join(abs, "dataplane.sock"))
			if err != nil {
				return err
			}
			certs, err := openCertificates(abs, acmeCARoot, logger)
			if err != nil {
				return err
			}
			defer certs.Close()
			plane := &dataplane.Plane{DataDir: abs, Logger: logger, Sandbox: sb, Certs: certs,
				Certificates: certs.GetCertificate, Challenge: certs.HandleHTTPChallenge}
			if err := plane.Restore(); err != nil {
				logger.Error("restore desired state", "err", err)
			}
			ctx, stop := context.WithCancel(c.Context())
			defer stop()
			dataplane.TuneGC(ctx, os.Getenv, dataplane.GCHeadroom, 10*time.Second)
			// IdleTimeout: a client that leaves keep-alive connections open (one per server that ever ran)
			// must not hold a goroutine and a file here for the data plane's lifetime.
			hs := &http.Server{Handler: plane.Handler(stop), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
			go hs.Serve(l)
			// Certificate files an operator replaces are served within a minute, or at once on SIGHUP.
			go plane.WatchCertificates(ctx, time.Minute)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						plane.ReloadCertificates()
					}
				}
			}()
			fmt.Fprintf(a.stdout, "ferry: data plane serving %s\n", l.Addr())
			<-ctx.Done()
			// Instances first, the socket last: a caller waiting for the socket to go away knows they are gone.
			plane.Close()
			shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hs.Shutdown(shutCtx)
			return nil
		},
	}
	iso.add(c, "bwrap", "release instances")
	c.Flags().StringVar(&acmeCARoot, "acme-ca-root", "", "PEM file of extra roots trusted for ACME directories (a test CA such as pebble); the system's roots are always trusted")
	c.Flags().StringVar(&logs.format, "log-format", "text", "log format: text or json")
	c.Flags().StringVar(&logs.level, "log-level", "info", "log level: debug, info, warn or error")
	c.PersistentFlags().StringVar(&data, "data", ".ferry-data", "data folder (the same as ferry serve's)")
	c.AddCommand(&cobra.Command{
		Use:   "stop",
		Short: "Stop the data plane of the data folder, and with it every instance it runs",
		Args:  maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			abs, err := filepath.Abs(data)
			if err != nil {
				return err
			}
			if err := stopDataPlane(c.Context(), filepath.Join(abs, "dataplane.sock")); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "ferry: data plane stopped")
			return nil
		},
	})
	return c
}

// stopDataPlane asks the data plane on sock to stop and waits until it is gone, so the caller can rely on its
// instances being stopped.
func stopDataPlane(ctx context.Context, sock string) error {
	c := dataplane.NewClient(sock)
	if err := c.Shutdown(ctx); err != nil {
		return err
	}
	for i := 0; i < 300; i++ {
		if _, err := c.State(ctx); err != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the data plane at %s did not stop within 30s", sock)
}
