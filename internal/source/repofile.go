package source

import (
	"errors"
	"io/fs"

	"github.com/ferry-cd/ferry/internal/untrusted"
)

// MaxRepoFileBytes bounds a file ferry itself reads from a checkout (.ferry.yaml, .ferry/flags.yaml): far more
// than any real pipeline needs, far less than what would hurt the server.
const MaxRepoFileBytes = 1 << 20

// ReadRepoFile reads the file at name (slash-separated, relative) inside the checkout dir. It refuses a path,
// symlink included, that leads out of dir, anything but a regular file (a FIFO, /dev/zero), and a file larger
// than MaxRepoFileBytes, without ever reading past that. A missing file is (nil, false, nil).
func ReadRepoFile(dir, name string) ([]byte, bool, error) {
	data, err := untrusted.ReadFile(dir, name, MaxRepoFileBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
