package controlplane

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// secureDataDir makes the data folder and its first-level folders, owner-only, and takes group and other
// access away from whatever an older ferry left in it: it holds the database, the secret key and every
// project's checkouts, and nothing but ferry's own user may read it.
func secureDataDir(dir string) error {
	for _, d := range []string{"", "mirrors", "work", "tmp", "logs", "blobs", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("create data folder: %w", err)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile, or unreadable: nothing to tighten
		}
		if d.Type()&fs.ModeSymlink != 0 || d.Type()&fs.ModeSocket != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(path, perm&^0o077); err != nil {
				return fmt.Errorf("secure data folder: %w", err)
			}
		}
		return nil
	})
	return err
}
