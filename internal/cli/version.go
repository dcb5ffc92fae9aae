package cli

import (
	"strconv"

	"github.com/ferry-cd/ferry/internal/api"
)

// versionValue is a flag that takes a release as users name it: its version within the project, 7 or v7.
type versionValue int64

func (v *versionValue) String() string {
	if *v == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*v), 10)
}

func (v *versionValue) Set(s string) error {
	n, err := api.ParseVersion(s)
	if err != nil {
		return err
	}
	*v = versionValue(n)
	return nil
}

func (v *versionValue) Type() string { return "VERSION" }

// releaseText names a release in a sentence: "release v7", or "-" for none.
func releaseText(version int64) string {
	if version == 0 {
		return "-"
	}
	return "release " + api.VersionText(version)
}
