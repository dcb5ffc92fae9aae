package source

import (
	"errors"
	"io/fs"
	"os"
)

// ReadRepoFile reads the file at name (slash-separated, relative) inside the checkout dir, refusing any path,
// symlink included, that leads out of dir. A missing file is (nil, false, nil).
func ReadRepoFile(dir, name string) ([]byte, bool, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, false, err
	}
	defer root.Close()
	data, err := root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
