package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/untrusted"
)

// MaxMetricsBytes bounds the file a step writes to $FERRY_METRICS: thousands of metrics fit, and a step that
// points it at /dev/zero or writes without end costs the server nothing.
const MaxMetricsBytes = 1 << 20

// resetMetricsFile leaves an empty regular file at path. The step may have replaced the last attempt's file by
// a symlink (to ferry.db, say): that link is removed, never followed, so nothing outside is truncated.
func resetMetricsFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// readMetrics reads and parses the step's metrics file, which must still be the regular file ferry created.
// Metrics that hold the value of a secret are refused, and no secret appears in the error.
func readMetrics(path string, secrets []string) ([]gate.Metric, error) {
	data, err := untrusted.ReadFileNoSymlink(filepath.Dir(path), filepath.Base(path), MaxMetricsBytes)
	var tooLarge *untrusted.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("the step removed the file; write the metrics into it")
	case errors.Is(err, untrusted.ErrSymlink):
		return nil, errors.New("the step replaced the file with a symlink; write the metrics into the file itself")
	case errors.Is(err, untrusted.ErrNotRegular):
		return nil, errors.New("the step replaced the file with something that is not a regular file")
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("the file is %s", tooLarge)
	case err != nil:
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	metrics, err := gate.ParseMetrics(data)
	if err != nil {
		return nil, errors.New(maskSecrets(err.Error(), secrets))
	}
	for i, m := range metrics {
		if holdsSecret(m.Name, secrets) || holdsSecret(m.Unit, secrets) {
			return nil, fmt.Errorf("metric %d holds the value of a secret; metrics are shown to every reader of the project", i+1)
		}
	}
	return metrics, nil
}

func holdsSecret(s string, secrets []string) bool {
	for _, v := range secrets {
		if len(v) >= minSecretLen && strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// maskSecrets replaces each secret value in s by "***", longest first, as the log masks them.
func maskSecrets(s string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, v := range sorted {
		if len(v) >= minSecretLen {
			s = strings.ReplaceAll(s, v, string(mask))
		}
	}
	return s
}
