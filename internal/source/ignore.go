package source

import (
	"context"
	"strings"
)

// IgnoredBy returns the .gitignore rule ("FILE:LINE:PATTERN") that makes git ignore path in the repository
// around dir, or "" when git would not ignore it or dir is not in a repository. path is relative to dir.
func IgnoredBy(ctx context.Context, dir, path string) string {
	out, err := run(ctx, dir, "check-ignore", "--verbose", "--no-index", "--", path)
	if err != nil {
		return "" // exit 1: not ignored; 128: not a repository
	}
	rule, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
	return rule
}
