package api

import (
	"fmt"
	"strconv"
	"strings"
)

// A release has one number users see: its version within its project, written v7. The API keeps the store's
// global ID beside it (id, release_id) for machines; everything a person reads or types uses the version.

// VersionText is how people read a release's version: "v7"; "-" for none.
func VersionText(version int64) string {
	if version <= 0 {
		return "-"
	}
	return "v" + strconv.FormatInt(version, 10)
}

// ParseVersion reads a release's version as people type it: "7" or "v7".
func ParseVersion(s string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "v"), "V")
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 || t == "" || t[0] == '+' || t[0] == '-' {
		return 0, fmt.Errorf("release %q: give the release's version within its project, as 7 or v7", s)
	}
	return v, nil
}
